/* nse-pcap.c: the capture side of NSE's sockets, socket:pcap_open(device,
 * snaplen, promisc, bpf) / pcap_receive() / pcap_close(), on trawl's
 * shared capture of the interface and the loop's dispatcher (no pcap
 * handle of its own: a dropped process could not open one). A pcap
 * object registers one lasting waiter for every frame of its interface
 * (both directions, as libpcap sees them), runs the script's BPF filter
 * on each in user space (compiled with libpcap for the frame's link
 * type), and keeps what passes in a bounded queue (NP_QUEUE_MAX frames
 * and NP_QUEUE_BYTES bytes, each frame cut to snaplen; the oldest go
 * first) until pcap_receive takes it.
 * pcap_receive waits the socket's timeout for a frame: true, length, l2,
 * l3, time (seconds since the epoch), or false, "TIMEOUT".
 *
 * The C part lives on the heap: the dispatcher's callback may come after
 * the userdata is collected. A pcap object belongs to the thread that
 * opened it and is closed when that thread ends. Called from
 * nse-nmap.lua as C.pcap_open (registered by nse_pcap_register). */
#define _GNU_SOURCE
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>

#include "script/lua/lua-int.h"
#include "script/nse/nse.h"

#define NP_MT "trawl.nse_pcap"
#define NP_QUEUE_MAX 4096   /* frames kept for pcap_receive ... */
#define NP_QUEUE_BYTES (8u << 20) /* ... and their bytes at most */
#define NP_SNAP_MAX 65535

struct np_frame {
  struct np_frame *next;
  uint32_t caplen, l3off, wirelen;
  uint64_t ts_ns;
  uint8_t data[];
};

struct np {
  struct sres res;          /* owned by the opening thread */
  struct script_engine *e;
  tw_capture *cap;
  tw_req *req;              /* the lasting waiter, NULL once it ended */
  struct bpf_program prog[2]; /* [0] Ethernet, [1] raw IP */
  uint8_t compiled[2];      /* 1 compiled, 2 cannot compile for that link */
  char *filter;             /* NULL: every frame */
  uint32_t snaplen;
  struct np_frame *head, *tail;
  unsigned n;
  size_t bytes;             /* caplen of the queued frames */
  struct sthread *t;        /* blocked in pcap_receive */
  tw_timer *tm;             /* its timeout */
  bool gone;                /* the userdata was collected */
};

/* ---- filtering and queueing -------------------------------------------------- */

static bool np_pass(struct np *p, const tw_frame *f) {
  if (!p->filter) return true;
  int k = f->linktype == TW_LINK_ETH ? 0 : 1;
  if (!p->compiled[k]) {
    pcap_t *dead = pcap_open_dead(k == 0 ? DLT_EN10MB : DLT_RAW, (int)p->snaplen);
    p->compiled[k] = 2;
    if (dead) {
      if (pcap_compile(dead, &p->prog[k], p->filter, 1, PCAP_NETMASK_UNKNOWN) == 0)
        p->compiled[k] = 1;
      pcap_close(dead);
    }
  }
  if (p->compiled[k] != 1) return false;
  struct pcap_pkthdr h;
  memset(&h, 0, sizeof h);
  h.caplen = f->caplen;
  h.len = f->len ? f->len : f->caplen;
  return pcap_offline_filter(&p->prog[k], &h, f->data) != 0;
}

static void np_push_frame(lua_State *L, const struct np_frame *fr) {
  lua_pushboolean(L, 1);
  lua_pushinteger(L, (lua_Integer)(fr->caplen - fr->l3off));
  lua_pushlstring(L, (const char *)fr->data, fr->l3off);
  lua_pushlstring(L, (const char *)fr->data + fr->l3off, fr->caplen - fr->l3off);
  lua_pushnumber(L, (lua_Number)fr->ts_ns / 1e9);
}

static void np_timer_stop(struct np *p) {
  if (p->tm) tw_timer_stop(p->tm);
}

static void np_rx_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct np *p = data;
  if (status < 0 || !rx) {
    p->req = NULL;
    if (p->gone) free(p);
    return;
  }
  if (p->gone || !np_pass(p, rx->frame)) return;
  const tw_frame *f = rx->frame;
  uint32_t cl = f->caplen < p->snaplen ? f->caplen : p->snaplen;
  uint32_t l3 = f->linktype == TW_LINK_ETH ? (rx->l3_off ? rx->l3_off : 14) : 0;
  if (l3 > cl) l3 = cl;
  struct np_frame *fr = malloc(sizeof *fr + cl);
  if (!fr) return;
  fr->next = NULL;
  fr->caplen = cl;
  fr->l3off = l3;
  fr->wirelen = f->len;
  fr->ts_ns = f->ts_ns;
  memcpy(fr->data, f->data, cl);
  struct sthread *t = p->t;
  if (t) { /* a receive waits: hand it over */
    p->t = NULL;
    np_timer_stop(p);
    np_push_frame(t->L, fr);
    free(fr);
    st_resume(t, 5);
    return;
  }
  while (p->head && (p->n >= NP_QUEUE_MAX || p->bytes + cl > NP_QUEUE_BYTES)) {
    struct np_frame *old = p->head;
    p->head = old->next;
    if (!p->head) p->tail = NULL;
    p->bytes -= old->caplen;
    free(old);
    p->n--;
  }
  if (p->tail) p->tail->next = fr;
  else p->head = fr;
  p->tail = fr;
  p->n++;
  p->bytes += cl;
}

/* ---- closing ---------------------------------------------------------------------- */

static void np_timer_closed(void *h) { (void)h; }

/* Everything but the struct itself (freed by the userdata's __gc, or by
 * the waiter's last callback when the userdata is gone). */
static void np_release(struct np *p) {
  sres_unlink(&p->res);
  if (p->t) {
    struct sthread *t = p->t;
    p->t = NULL;
    lua_pushboolean(t->L, 0);
    lua_pushliteral(t->L, "CANCELLED");
    st_wake(t, 2);
  }
  if (p->tm) {
    tw_close(p->tm, np_timer_closed);
    p->tm = NULL;
  }
  if (p->req) tw_cancel(p->req);
  if (p->cap) tw_capture_release(p->cap);
  p->cap = NULL;
  for (int k = 0; k < 2; k++)
    if (p->compiled[k] == 1) pcap_freecode(&p->prog[k]);
  p->compiled[0] = p->compiled[1] = 2;
  while (p->head) {
    struct np_frame *fr = p->head;
    p->head = fr->next;
    free(fr);
  }
  p->tail = NULL;
  p->n = 0;
  p->bytes = 0;
  free(p->filter);
  p->filter = NULL;
}

static void np_res_close(struct sres *r) { np_release((struct np *)r); }

static struct np *np_check(lua_State *L) {
  struct np **u = luaL_checkudata(L, 1, NP_MT);
  return *u;
}

static int np_gc(lua_State *L) {
  struct np **u = luaL_checkudata(L, 1, NP_MT);
  struct np *p = *u;
  *u = NULL;
  if (!p) return 0;
  np_release(p);
  if (p->req) p->gone = true; /* the waiter's last callback frees it */
  else free(p);
  return 0;
}

static int np_close(lua_State *L) {
  struct np *p = np_check(L);
  if (p) np_release(p);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- receiving -------------------------------------------------------------------- */

static void np_timeout_cb(tw_timer *tm, int status) {
  struct np *p = tw_data(tm);
  if (status < 0 || !p->t) return;
  struct sthread *t = p->t;
  p->t = NULL;
  lua_pushboolean(t->L, 0);
  lua_pushliteral(t->L, "TIMEOUT");
  st_resume(t, 2);
}

static void np_recv_cancel(struct sthread *t, void *obj) {
  struct np *p = obj;
  (void)t;
  p->t = NULL;
  np_timer_stop(p);
}

/* p:receive(timeout_ms) */
static int np_receive(lua_State *L) {
  struct np *p = np_check(L);
  lua_Integer ms = luaL_optinteger(L, 2, 30000);
  if (!p || !p->cap) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "pcap is not open");
    return 2;
  }
  if (p->head) {
    struct np_frame *fr = p->head;
    p->head = fr->next;
    if (!p->head) p->tail = NULL;
    p->n--;
    p->bytes -= fr->caplen;
    np_push_frame(L, fr);
    free(fr);
    return 5;
  }
  if (p->t) return luaL_error(L, "pcap_receive: another thread is receiving on this socket");
  if (!p->req) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "CANCELLED");
    return 2;
  }
  struct sthread *t = st_check_block(L, "pcap_receive");
  if (!p->tm && tw_timer_new(p->e->loop, &p->tm, p) < 0) {
    p->tm = NULL;
    return luaL_error(L, "cannot create a timer");
  }
  p->t = t;
  if (ms > 0) tw_timer_start(p->tm, np_timeout_cb, (uint64_t)ms * 1000000ull, 0);
  return st_suspend(L, t, np_recv_cancel, p);
}

/* ---- opening ---------------------------------------------------------------------- */

/* C.pcap_open(device, snaplen, promisc, bpf): the pcap object, or nil, err */
static int np_open(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  const char *dev = luaL_checkstring(L, 1);
  lua_Integer snap = luaL_optinteger(L, 2, NP_SNAP_MAX);
  bool promisc = lua_toboolean(L, 3);
  const char *bpf = luaL_optstring(L, 4, "");
  if (snap <= 0 || snap > NP_SNAP_MAX) snap = NP_SNAP_MAX;
  /* the filter must compile (for Ethernet) before anything is opened */
  struct bpf_program test;
  char cerr[PCAP_ERRBUF_SIZE] = "";
  if (*bpf) {
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, (int)snap);
    if (!dead) return st_pusherr(L, "out of memory");
    if (pcap_compile(dead, &test, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      snprintf(cerr, sizeof cerr, "%s", pcap_geterr(dead));
      pcap_close(dead);
      return luaL_error(L, "pcap_open: bad filter '%s': %s", bpf, cerr);
    }
    pcap_close(dead);
  }
  struct np **u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = NULL;
  luaL_setmetatable(L, NP_MT);
  struct np *p = calloc(1, sizeof *p);
  if (!p) {
    if (*bpf) pcap_freecode(&test);
    return luaL_error(L, "out of memory");
  }
  p->e = e;
  p->res.close = np_res_close;
  p->snaplen = (uint32_t)snap;
  if (*bpf) {
    p->prog[0] = test;
    p->compiled[0] = 1;
    p->filter = strdup(bpf);
    if (!p->filter) {
      pcap_freecode(&test);
      free(p);
      return luaL_error(L, "out of memory");
    }
  }
  *u = p;
  unsigned flags = TW_CAPTURE_OUTGOING | (promisc ? TW_CAPTURE_PROMISC : 0);
  int r = tw_capture_open(e->loop, &p->cap, dev, flags);
  if (r < 0 && promisc) r = tw_capture_open(e->loop, &p->cap, dev, TW_CAPTURE_OUTGOING);
  if (r < 0) {
    p->cap = NULL;
    np_release(p);
    return st_pusherr(L, st_errstr(r));
  }
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_IFINDEX;
  m.ifindex = tw_capture_ifindex(p->cap);
  r = tw_wait(e->loop, &p->req, &m, 0, 0, np_rx_cb, p);
  if (r < 0) {
    p->req = NULL;
    np_release(p);
    return st_pusherr(L, st_errstr(r));
  }
  struct sthread *t = st_current(L);
  if (t) sres_own(t, &p->res);
  return 1;
}

void nse_pcap_register(struct script_engine *e, lua_State *L) {
  if (luaL_newmetatable(L, NP_MT)) {
    lua_newtable(L);
    lua_pushcfunction(L, np_receive);
    lua_setfield(L, -2, "receive");
    lua_pushcfunction(L, np_close);
    lua_setfield(L, -2, "close");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, np_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, np_open, 1);
  lua_setfield(L, -2, "pcap_open");
}
