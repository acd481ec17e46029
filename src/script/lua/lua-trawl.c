/* lua-trawl.c: the `trawl` Lua module scripts use (docs/scripting.md):
 * TCP/UDP/SSL sockets with Nmap NSE's semantics (each call returns true
 * [and data], or nil and an error message: "TIMEOUT", "EOF", "CANCELLED",
 * "Connection refused", ...; never an exception for a network error),
 * DNS, sleep, clocks, the shared registry, script arguments, mutexes,
 * condition variables and spawned helper threads.
 *
 * Every call that waits suspends its script thread (st_suspend) and the
 * libtrawl callback resumes it. A socket is read through a buffer of its
 * own (rb): receive() returns what is buffered or the next bytes to
 * arrive, receive_bytes/lines/buf wait until the buffer holds enough; SSL
 * sockets decrypt into the same buffer (lua-tls.c), so every receive mode
 * works on both. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <trawl/tcp.h>
#include <trawl/udp.h>

#include "script/script-int.h"

#define LT_SOCKET "trawl.socket"
#define LT_MUTEX "trawl.mutex"
#define LT_CONDVAR "trawl.condvar"
#define LT_THREAD "trawl.thread"
#define LT_DEFAULT_TIMEOUT_NS 30000000000ull /* NSE's 30 s */
#define LT_READ_CHUNK 65536
#define LT_UDP_QUEUE 256

/* ---- sockets ------------------------------------------------------------------ */

enum { LS_NEW, LS_RESOLVING, LS_CONNECTING, LS_OPEN, LS_CLOSED };
enum { OP_NONE, OP_CONNECT, OP_SEND, OP_RECV, OP_HANDSHAKE };
enum { RM_ANY, RM_BYTES, RM_LINES, RM_BUF };

struct lt_dgram {
  struct lt_dgram *next;
  size_t len;
  char data[];
};

struct lsock {
  struct sres res;
  struct script_engine *e;
  int refs;             /* the userdata, the live handle */
  int kind;             /* 0 unset, 1 tcp, 2 udp */
  bool ssl;             /* connect(..., "ssl") or reconnect_ssl() */
  int state;
  uint64_t timeout_ns;  /* 0: none */
  struct sthread *waiter;
  int op;
  int self_ref;         /* the userdata, while an operation runs */
  uint64_t deadline;    /* tw_hrtime() */
  tw_tcp *tcp;
  tw_udp *udp;
  tw_timer *tm;         /* UDP receive timeout */
  tw_req *dns;
  /* receiving */
  int rmode;
  size_t rn;
  int pat_ref;
  bool keep;
  char *rb;
  size_t rlen, rcap;
  int rerr;             /* sticky: TW_EOF, -ECONNRESET, ... */
  bool reading;         /* a tw_tcp read is pending */
  struct lt_dgram *dq, *dq_tail;
  size_t ndq;
  int uerr;             /* a UDP error not yet reported */
  /* connect */
  struct sockaddr_storage peer;
  uint16_t port;
  char *sni;
  /* tls */
  struct ltls *tls;
  struct sdefer hs_defer; /* a handshake step waiting for the hook */
  char tag[96];         /* "TCP 127.0.0.1:80" for --script-trace */
};

static struct lsock *lt_sock(lua_State *L) {
  struct lsock **u = luaL_checkudata(L, 1, LT_SOCKET);
  return *u;
}

static void lt_sock_unref(struct lsock *ls) {
  if (--ls->refs > 0) return;
  free(ls->rb);
  while (ls->dq) {
    struct lt_dgram *d = ls->dq;
    ls->dq = d->next;
    free(d);
  }
  if (ls->tls) ltls_free(ls->tls);
  free(ls->sni);
  free(ls);
}

static void lt_handle_closed(void *h) { lt_sock_unref(tw_data(h)); }

static void lt_trace(struct lsock *ls, const char *what, const void *data, size_t len) {
  if (!ls->e->cfg.trace) return;
  char buf[160];
  snprintf(buf, sizeof buf, "%s %s", ls->tag, what);
  script_trace(ls->e, ls->waiter ? ls->waiter : ls->res.owner, buf, data, len);
}

/* End the socket's operation: resume the waiter with the nres values
 * pushed on its stack. */
static void lt_finish(struct lsock *ls, int nres) {
  struct sthread *t = ls->waiter;
  ls->waiter = NULL;
  ls->op = OP_NONE;
  if (ls->pat_ref != LUA_NOREF) {
    luaL_unref(ls->e->L, LUA_REGISTRYINDEX, ls->pat_ref);
    ls->pat_ref = LUA_NOREF;
  }
  if (ls->self_ref != LUA_NOREF) {
    luaL_unref(ls->e->L, LUA_REGISTRYINDEX, ls->self_ref);
    ls->self_ref = LUA_NOREF;
  }
  if (t) st_resume(t, nres);
}

static void lt_fail(struct lsock *ls, const char *msg) {
  if (!ls->waiter) return;
  lua_State *L = ls->waiter->L;
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lt_finish(ls, 2);
}

static void lt_ok(struct lsock *ls) {
  if (!ls->waiter) return;
  lua_pushboolean(ls->waiter->L, 1);
  lt_finish(ls, 1);
}

/* The thread is killed while it waits on this socket. */
static void lt_cancel(struct sthread *t, void *obj) {
  struct lsock *ls = obj;
  ls->waiter = NULL;
  lt_finish(ls, 0);
}

static void lt_close(struct lsock *ls) {
  if (ls->state == LS_CLOSED) return;
  ls->state = LS_CLOSED;
  if (ls->rerr == 0) ls->rerr = -ECANCELED;
  if (ls->dns) {
    tw_cancel(ls->dns);
    ls->dns = NULL;
  }
  if (ls->tcp) {
    lt_trace(ls, "CLOSE", NULL, 0);
    tw_close(ls->tcp, lt_handle_closed);
    ls->tcp = NULL;
  }
  if (ls->udp) {
    lt_trace(ls, "CLOSE", NULL, 0);
    tw_close(ls->udp, lt_handle_closed);
    ls->udp = NULL;
  }
  if (ls->tm) {
    tw_close(ls->tm, lt_handle_closed);
    ls->tm = NULL;
  }
  sres_unlink(&ls->res);
  if (ls->waiter) lt_fail(ls, "CANCELLED");
}

static void lt_res_close(struct sres *r) { lt_close((struct lsock *)r); }

static int lt_gc(lua_State *L) {
  struct lsock **u = luaL_checkudata(L, 1, LT_SOCKET);
  struct lsock *ls = *u;
  if (!ls) return 0;
  *u = NULL;
  ls->waiter = NULL;
  lt_close(ls);
  lt_sock_unref(ls);
  return 0;
}

static int lt_new_socket(lua_State *L, int kind) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  struct lsock **u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = NULL;
  struct lsock *ls = calloc(1, sizeof *ls);
  if (!ls) return luaL_error(L, "out of memory");
  ls->e = e;
  ls->refs = 1;
  ls->kind = kind;
  ls->timeout_ns = LT_DEFAULT_TIMEOUT_NS;
  ls->self_ref = ls->pat_ref = LUA_NOREF;
  ls->res.close = lt_res_close;
  *u = ls;
  luaL_setmetatable(L, LT_SOCKET);
  struct sthread *t = st_current(L);
  if (t) sres_own(t, &ls->res);
  return 1;
}

static int lt_tcp(lua_State *L) { return lt_new_socket(L, 1); }
static int lt_udp(lua_State *L) { return lt_new_socket(L, 2); }
static int lt_newsock(lua_State *L) {
  const char *k = luaL_optstring(L, 1, "tcp");
  return lt_new_socket(L, strcmp(k, "udp") == 0 ? 2 : 1);
}

static void lt_settag(struct lsock *ls) {
  char a[INET6_ADDRSTRLEN] = "?";
  const struct sockaddr_storage *ss = &ls->peer;
  if (ss->ss_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof a);
  else if (ss->ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof a);
  snprintf(ls->tag, sizeof ls->tag, ss->ss_family == AF_INET6 ? "%s%s [%s]:%u" : "%s%s %s:%u",
           ls->kind == 2 ? "UDP" : "TCP", ls->ssl ? "/SSL" : "", a, ls->port);
}

/* ---- TLS plumbing ------------------------------------------------------------ */

static int lt_raw_read(struct lsock *ls);

/* Send what the TLS engine wants sent, in one write; cb (may be NULL) goes
 * with it. Returns 1 if something was written, 0 if nothing was pending,
 * or a negative error. */
static int lt_tls_flush(struct lsock *ls, tw_tcp_write_cb cb) {
  size_t n = ltls_out_pending(ls->tls);
  if (n == 0 || !ls->tcp) return 0;
  char *buf = malloc(n);
  if (!buf) return -ENOMEM;
  int got = ltls_take(ls->tls, buf, n);
  int r = got > 0 ? tw_tcp_write(ls->tcp, buf, (size_t)got, cb) : 0;
  free(buf);
  if (r < 0) return r;
  return got > 0;
}

static void lt_hs_step(struct lsock *ls);
static void lt_recv_step(struct lsock *ls);

static void lt_on_raw(tw_tcp *tcp, int status, const char *buf, size_t len) {
  struct lsock *ls = tw_data(tcp);
  ls->reading = false;
  if (ls->state == LS_CLOSED) return;
  if (len > 0) {
    if (ls->tls) {
      ltls_feed(ls->tls, buf, len);
    } else {
      if (ls->rlen + len > ls->rcap) {
        size_t nc = ls->rcap ? ls->rcap : 4096;
        while (nc < ls->rlen + len) nc *= 2;
        char *nb = realloc(ls->rb, nc);
        if (!nb) {
          ls->rerr = -ENOMEM;
          len = 0;
        } else {
          ls->rb = nb;
          ls->rcap = nc;
        }
      }
      if (len) {
        memcpy(ls->rb + ls->rlen, buf, len);
        ls->rlen += len;
      }
      lt_trace(ls, "RECV", buf, len);
    }
  }
  if (status < 0 && status != -ETIMEDOUT && !ls->rerr) ls->rerr = status;
  if (!ls->waiter) return;
  if (status == -ETIMEDOUT) {
    lt_fail(ls, "TIMEOUT");
    return;
  }
  if (ls->op == OP_CONNECT || ls->op == OP_HANDSHAKE) lt_hs_step(ls);
  else if (ls->op == OP_RECV) lt_recv_step(ls);
}

static uint64_t lt_left(struct lsock *ls) {
  if (!ls->deadline) return 0;
  uint64_t now = tw_hrtime();
  return ls->deadline > now + 1000000 ? ls->deadline - now : 1000000;
}

static int lt_raw_read(struct lsock *ls) {
  if (ls->reading) return 0;
  if (!ls->tcp) return -ECANCELED;
  int r = tw_tcp_read_some(ls->tcp, LT_READ_CHUNK, lt_left(ls), lt_on_raw);
  if (r < 0) {
    if (!ls->rerr) ls->rerr = r;
    return r;
  }
  ls->reading = true;
  return 0;
}

/* One handshake step: 1 done, 0 waiting for the peer, -1 failed with the
 * message in msg. */
static int lt_hs_try(struct lsock *ls, char *msg, size_t len) {
  int r = ltls_handshake(ls->tls);
  lt_tls_flush(ls, NULL);
  if (r == 1) {
    lt_trace(ls, "SSL handshake done:", ltls_version(ls->tls), strlen(ltls_version(ls->tls)));
    return 1;
  }
  if (r == 0 && !ls->rerr) {
    int e = lt_raw_read(ls);
    if (e == 0) return 0;
  }
  snprintf(msg, len, "SSL handshake failed: %s",
           r < 0 ? ltls_error(ls->tls) : ls->rerr == TW_EOF ? "connection closed by peer" : st_errstr(ls->rerr));
  lt_trace(ls, msg, NULL, 0);
  return -1;
}

static void lt_hs_now(struct lsock *ls) {
  uint64_t t0 = tw_hrtime();
  char msg[300];
  int r = 1;
  if (!ls->tls && !(ls->tls = ltls_new(ls->sni, msg, sizeof msg))) r = -1;
  else r = lt_hs_try(ls, msg, sizeof msg);
  st_budget_charge(ls->e, t0);
  if (r == 1) lt_ok(ls);
  else if (r < 0) lt_fail(ls, msg);
}

static void lt_hs_deferred(struct sdefer *d) {
  struct lsock *ls = (struct lsock *)((char *)d - offsetof(struct lsock, hs_defer));
  if (ls->state != LS_CLOSED && ls->waiter) lt_hs_now(ls);
  lt_sock_unref(ls);
}

/* A handshake step (the first makes the TLS object and the ClientHello):
 * a tenth of a millisecond of CPU or so, so it counts against the loop
 * iteration's script budget, and waits for the engine's hook when that
 * is spent (thousands of handshakes at once must not stall timers). */
static void lt_hs_step(struct lsock *ls) {
  if (st_budget_left(ls->e)) {
    lt_hs_now(ls);
    return;
  }
  if (ls->hs_defer.queued) return;
  ls->refs++;
  st_defer(ls->e, &ls->hs_defer, lt_hs_deferred);
}

static void lt_on_connect(tw_tcp *tcp, int status) {
  struct lsock *ls = tw_data(tcp);
  if (ls->state == LS_CLOSED) return;
  if (status < 0) {
    lt_trace(ls, "CONNECT failed:", st_errstr(status), strlen(st_errstr(status)));
    ls->state = LS_NEW;
    lt_fail(ls, st_errstr(status));
    return;
  }
  ls->state = LS_OPEN;
  lt_trace(ls, "CONNECT ok", NULL, 0);
  if (ls->ssl) {
    lt_hs_step(ls);
    return;
  }
  lt_ok(ls);
}

/* ---- UDP ------------------------------------------------------------------------ */

static void lt_udp_recv(tw_udp *u, int status, const char *buf, size_t len,
                        const struct sockaddr *from) {
  struct lsock *ls = tw_data(u);
  if (ls->state == LS_CLOSED) return;
  if (status < 0) {
    if (status == -ECANCELED) return;
    ls->uerr = status;
  } else {
    lt_trace(ls, "RECV", buf, len);
    struct lt_dgram *d = malloc(sizeof *d + len);
    if (!d) return;
    d->next = NULL;
    d->len = len;
    memcpy(d->data, buf, len);
    if (ls->dq_tail) ls->dq_tail->next = d;
    else ls->dq = d;
    ls->dq_tail = d;
    if (++ls->ndq > LT_UDP_QUEUE) {
      struct lt_dgram *old = ls->dq;
      ls->dq = old->next;
      if (!ls->dq) ls->dq_tail = NULL;
      free(old);
      ls->ndq--;
    }
  }
  if (ls->waiter && ls->op == OP_RECV) lt_recv_step(ls);
}

static void lt_udp_timeout(tw_timer *tm, int status) {
  struct lsock *ls = tw_data(tm);
  if (status < 0 || ls->state == LS_CLOSED || !ls->waiter || ls->op != OP_RECV) return;
  lt_fail(ls, "TIMEOUT");
}

/* ---- receiving ------------------------------------------------------------------ */

static int lt_append(struct lsock *ls, const char *p, size_t n) {
  if (ls->rlen + n > ls->rcap) {
    size_t nc = ls->rcap ? ls->rcap : 4096;
    while (nc < ls->rlen + n) nc *= 2;
    char *nb = realloc(ls->rb, nc);
    if (!nb) return -ENOMEM;
    ls->rb = nb;
    ls->rcap = nc;
  }
  memcpy(ls->rb + ls->rlen, p, n);
  ls->rlen += n;
  return 0;
}

static void lt_consume(struct lsock *ls, size_t n) {
  memmove(ls->rb, ls->rb + n, ls->rlen - n);
  ls->rlen -= n;
}

/* Move whatever can be had without waiting into rb: decrypted TLS data, one
 * queued datagram. */
static void lt_drain(struct lsock *ls) {
  if (ls->tls) {
    char buf[16384];
    for (;;) {
      int n = ltls_read(ls->tls, buf, sizeof buf);
      if (n > 0) {
        lt_trace(ls, "RECV", buf, (size_t)n);
        if (lt_append(ls, buf, (size_t)n) < 0) {
          ls->rerr = -ENOMEM;
          break;
        }
        continue;
      }
      if (n == TW_EOF) {
        if (!ls->rerr) ls->rerr = TW_EOF;
      } else if (n < 0 && !ls->rerr) {
        ls->rerr = -EPROTO;
      }
      break;
    }
    lt_tls_flush(ls, NULL);
  }
  while (ls->kind == 2 && ls->dq && (ls->rlen == 0 || ls->rmode != RM_ANY)) {
    struct lt_dgram *d = ls->dq;
    ls->dq = d->next;
    if (!ls->dq) ls->dq_tail = NULL;
    ls->ndq--;
    lt_append(ls, d->data, d->len);
    free(d);
  }
}

/* If the pending receive can complete, push its results on L and return
 * how many; 0 when it must wait. Uses the engine's main thread for
 * pattern matching (L may be a suspended coroutine). */
static int lt_recv_try(struct lsock *ls, lua_State *L) {
  lt_drain(ls);
  size_t give = 0, eat = 0;
  bool done = false;
  switch (ls->rmode) {
  case RM_ANY:
    if (ls->rlen) give = eat = ls->rlen, done = true;
    break;
  case RM_BYTES:
    if (ls->rlen >= ls->rn) give = eat = ls->rlen, done = true;
    break;
  case RM_LINES: {
    size_t lines = 0;
    for (size_t i = 0; i < ls->rlen; i++) lines += ls->rb[i] == '\n';
    if (lines >= ls->rn) give = eat = ls->rlen, done = true;
    break;
  }
  case RM_BUF: {
    if (!ls->rlen) break;
    lua_State *M = ls->e->L;
    int top = lua_gettop(M);
    lua_rawgeti(M, LUA_REGISTRYINDEX, ls->pat_ref);
    if (lua_type(M, -1) == LUA_TFUNCTION) {
      lua_pushlstring(M, ls->rb, ls->rlen);
      if (lua_pcall(M, 1, 2, 0) != LUA_OK) {
        lua_settop(M, top);
        break;
      }
    } else {
      lua_getglobal(M, "string");
      lua_getfield(M, -1, "find");
      lua_remove(M, -2);
      lua_pushlstring(M, ls->rb, ls->rlen);
      lua_pushvalue(M, -3);
      lua_remove(M, -4);
      if (lua_pcall(M, 2, 2, 0) != LUA_OK) {
        lua_settop(M, top);
        break;
      }
    }
    if (lua_isinteger(M, -2) && lua_isinteger(M, -1)) {
      lua_Integer s = lua_tointeger(M, -2), en = lua_tointeger(M, -1);
      if (s >= 1 && en >= s - 1 && (size_t)en <= ls->rlen) {
        give = ls->keep ? (size_t)en : (size_t)(s - 1);
        eat = (size_t)en;
        done = true;
      }
    }
    lua_settop(M, top);
    break;
  }
  }
  if (done) {
    lua_pushboolean(L, 1);
    lua_pushlstring(L, ls->rb, give);
    lt_consume(ls, eat);
    return 2;
  }
  int err = ls->rerr;
  if (ls->kind == 2 && ls->uerr) {
    err = ls->uerr;
    ls->uerr = 0;
  }
  if (err) {
    if (ls->rlen && ls->rmode != RM_BUF && err == TW_EOF) {
      lua_pushboolean(L, 1);
      lua_pushlstring(L, ls->rb, ls->rlen);
      ls->rlen = 0;
      return 2;
    }
    lua_pushnil(L);
    lua_pushstring(L, ls->state == LS_CLOSED && err == -ECANCELED ? "CANCELLED" : st_errstr(err));
    return 2;
  }
  return 0;
}

/* Wait for more input for the pending receive: 0, or an error. */
static int lt_wait_more(struct lsock *ls) {
  if (ls->kind == 2) {
    if (!ls->deadline) return 0;
    if (!ls->tm) {
      int r = tw_timer_new(ls->e->loop, &ls->tm, ls);
      if (r < 0) return r;
      ls->refs++;
    }
    return tw_timer_start(ls->tm, lt_udp_timeout, lt_left(ls), 0);
  }
  if (ls->deadline && tw_hrtime() >= ls->deadline) return -ETIMEDOUT;
  return lt_raw_read(ls);
}

static void lt_recv_step(struct lsock *ls) {
  int n = lt_recv_try(ls, ls->waiter->L);
  if (n > 0) {
    if (ls->tm) tw_timer_stop(ls->tm);
    lt_finish(ls, n);
    return;
  }
  int r = lt_wait_more(ls);
  if (r < 0) lt_fail(ls, st_errstr(r));
}

static int lt_busy(lua_State *L, struct lsock *ls) {
  if (!ls) return st_pusherr(L, "socket is closed");
  if (ls->waiter) return st_pusherr(L, "socket busy: another thread is using it");
  return 0;
}

static void lt_hold(lua_State *L, struct lsock *ls, struct sthread *t) {
  ls->waiter = t;
  lua_pushvalue(L, 1);
  ls->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  ls->deadline = ls->timeout_ns ? tw_hrtime() + ls->timeout_ns : 0;
}

static int lt_recv_begin(lua_State *L, struct lsock *ls, int mode, size_t n, int patidx,
                         bool keep) {
  int b = lt_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_OPEN) return st_pusherr(L, ls->state == LS_CLOSED ? "socket is closed" : "not connected");
  ls->rmode = mode;
  ls->rn = n;
  ls->keep = keep;
  if (patidx) {
    lua_pushvalue(L, patidx);
    ls->pat_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  int r = lt_recv_try(ls, L);
  if (r > 0) {
    if (ls->pat_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, ls->pat_ref);
    ls->pat_ref = LUA_NOREF;
    return r;
  }
  struct sthread *t = st_current(L);
  if (!t || !lua_isyieldable(L)) {
    if (ls->pat_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, ls->pat_ref);
    ls->pat_ref = LUA_NOREF;
    st_check_block(L, "socket receive"); /* raises */
  }
  lt_hold(L, ls, t);
  ls->op = OP_RECV;
  int w = lt_wait_more(ls);
  if (w < 0) {
    ls->waiter = NULL;
    lt_finish(ls, 0); /* no waiter resumed: we are running */
    return st_pusherr(L, st_errstr(w));
  }
  return st_suspend(L, t, lt_cancel, ls);
}

static int lt_receive(lua_State *L) { return lt_recv_begin(L, lt_sock(L), RM_ANY, 0, 0, false); }

static int lt_receive_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 2);
  return lt_recv_begin(L, lt_sock(L), RM_BYTES, n < 1 ? 1 : (size_t)n, 0, false);
}

static int lt_receive_lines(lua_State *L) {
  lua_Integer n = luaL_optinteger(L, 2, 1);
  return lt_recv_begin(L, lt_sock(L), RM_LINES, n < 1 ? 1 : (size_t)n, 0, false);
}

static int lt_receive_buf(lua_State *L) {
  if (lua_type(L, 2) != LUA_TFUNCTION) luaL_checkstring(L, 2);
  bool keep = lua_isnone(L, 3) ? true : lua_toboolean(L, 3);
  return lt_recv_begin(L, lt_sock(L), RM_BUF, 0, 2, keep);
}

static int lt_receive_until(lua_State *L) {
  luaL_checkstring(L, 2);
  return lt_recv_begin(L, lt_sock(L), RM_BUF, 0, 2, true);
}

/* ---- connect --------------------------------------------------------------------- */

static int lt_connect_addr(lua_State *L, struct lsock *ls) {
  struct script_engine *e = ls->e;
  lt_settag(ls);
  if (ls->kind == 2) {
    int r = tw_udp_new(e->loop, &ls->udp, ls->peer.ss_family, ls);
    if (r < 0) return -r > 0 ? r : r;
    ls->refs++;
    r = tw_udp_connect(ls->udp, (struct sockaddr *)&ls->peer);
    if (r == 0) r = tw_udp_recv_start(ls->udp, lt_udp_recv);
    if (r < 0) return r;
    ls->state = LS_OPEN;
    lt_trace(ls, "CONNECT ok", NULL, 0);
    return 0;
  }
  int r = tw_tcp_new(e->loop, &ls->tcp, ls);
  if (r < 0) return r;
  ls->refs++;
  r = tw_tcp_connect(ls->tcp, (struct sockaddr *)&ls->peer, lt_left(ls), lt_on_connect);
  if (r < 0) return r;
  ls->state = LS_CONNECTING;
  return 1; /* wait */
}

static void lt_on_resolved(tw_req *req, int status, const struct sockaddr_storage *addrs,
                           size_t n, void *data) {
  struct lsock *ls = data;
  ls->dns = NULL;
  if (status == -ECANCELED || ls->state == LS_CLOSED) {
    lt_sock_unref(ls);
    return;
  }
  lt_sock_unref(ls); /* the request's reference; the userdata still holds one */
  if (status < 0 || n == 0) {
    ls->state = LS_NEW;
    char msg[200];
    snprintf(msg, sizeof msg, "Failed to resolve: %s",
             status == TW_ENOTFOUND ? "NXDOMAIN" : status == TW_ENODATA ? "NODATA"
             : status == -ETIMEDOUT ? "TIMEOUT" : tw_strerror(status));
    lt_fail(ls, msg);
    return;
  }
  uint16_t port = ls->port;
  ls->peer = addrs[0];
  if (ls->peer.ss_family == AF_INET) ((struct sockaddr_in *)&ls->peer)->sin_port = htons(port);
  else ((struct sockaddr_in6 *)&ls->peer)->sin6_port = htons(port);
  int r = lt_connect_addr(NULL, ls);
  if (r < 0) {
    ls->state = LS_NEW;
    lt_fail(ls, st_errstr(r));
  } else if (r == 0) {
    lt_ok(ls);
  }
}

static tw_resolver *lt_resolver(struct script_engine *e) {
  if (!e->resolver) {
    tw_resolver_opts o = {0};
    o.servers = e->cfg.dns_servers;
    if (tw_resolver_new(e->loop, &e->resolver, &o, e) < 0) e->resolver = NULL;
  }
  return e->resolver;
}

/* Parse a host argument: a host table (its ip), an address or a name. */
static const char *lt_hostarg(lua_State *L, int idx) {
  if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "ip");
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays referenced by the table */
    if (!s) luaL_argerror(L, idx, "host table without 'ip'");
    return s;
  }
  return luaL_checkstring(L, idx);
}

static int lt_portarg(lua_State *L, int idx, const char **proto) {
  if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "number");
    lua_Integer p = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, idx, "protocol");
    if (proto && lua_type(L, -1) == LUA_TSTRING) *proto = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (p < 0 || p > 65535) luaL_argerror(L, idx, "port out of range");
    return (int)p;
  }
  lua_Integer p = luaL_checkinteger(L, idx);
  if (p < 0 || p > 65535) luaL_argerror(L, idx, "port out of range");
  return (int)p;
}

static int lt_connect(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  int b = lt_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_NEW) return st_pusherr(L, "socket already connected: use a new one");
  const char *host = lt_hostarg(L, 2);
  const char *pproto = NULL;
  int port = lt_portarg(L, 3, &pproto);
  const char *proto = luaL_optstring(L, 4, pproto);
  if (proto) {
    if (!strcmp(proto, "udp")) ls->kind = 2;
    else if (!strcmp(proto, "tcp")) ls->kind = 1;
    else if (!strcmp(proto, "ssl")) ls->kind = 1, ls->ssl = true;
    else return luaL_argerror(L, 4, "expected \"tcp\", \"udp\" or \"ssl\"");
  }
  if (!ls->kind) ls->kind = 1;
  ls->port = (uint16_t)port;
  memset(&ls->peer, 0, sizeof ls->peer);
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ls->peer;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ls->peer;
  bool numeric = false;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    numeric = true;
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    numeric = true;
  }
  free(ls->sni);
  ls->sni = NULL;
  if (!numeric) ls->sni = strdup(host);
  else if (lua_istable(L, 2)) { /* SNI from the host table's name */
    lua_getfield(L, 2, "targetname");
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      lua_getfield(L, 2, "name");
    }
    const char *nm = lua_tostring(L, -1);
    if (nm && *nm) ls->sni = strdup(nm);
    lua_pop(L, 1);
  }
  ls->deadline = ls->timeout_ns ? tw_hrtime() + ls->timeout_ns : 0;
  if (!numeric) {
    struct sthread *t = st_check_block(L, "socket connect");
    tw_resolver *r = lt_resolver(ls->e);
    if (!r) return st_pusherr(L, "no DNS resolver");
    snprintf(ls->tag, sizeof ls->tag, "%s %s:%d", ls->kind == 2 ? "UDP" : "TCP", host, port);
    lt_hold(L, ls, t);
    ls->op = OP_CONNECT;
    ls->state = LS_RESOLVING;
    ls->refs++;
    int err = tw_resolve(r, &ls->dns, host, AF_UNSPEC, lt_on_resolved, ls);
    if (err < 0) {
      ls->refs--;
      ls->state = LS_NEW;
      ls->waiter = NULL;
      luaL_unref(L, LUA_REGISTRYINDEX, ls->self_ref);
      ls->self_ref = LUA_NOREF;
      return st_pusherr(L, st_errstr(err));
    }
    return st_suspend(L, t, lt_cancel, ls);
  }
  if (ls->kind == 2) {
    int r = lt_connect_addr(L, ls);
    if (r < 0) return st_pusherr(L, st_errstr(r));
    lua_pushboolean(L, 1);
    return 1;
  }
  struct sthread *t = st_check_block(L, "socket connect");
  int r = lt_connect_addr(L, ls);
  if (r < 0) {
    lt_trace(ls, "CONNECT failed:", st_errstr(r), strlen(st_errstr(r)));
    return st_pusherr(L, st_errstr(r));
  }
  lt_hold(L, ls, t);
  ls->op = OP_CONNECT;
  return st_suspend(L, t, lt_cancel, ls);
}

static int lt_reconnect_ssl(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  int b = lt_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_OPEN || ls->kind != 1) return st_pusherr(L, "not a connected TCP socket");
  if (ls->tls) return st_pusherr(L, "already an SSL connection");
  struct sthread *t = st_check_block(L, "reconnect_ssl");
  char err[200];
  ls->tls = ltls_new(ls->sni, err, sizeof err);
  if (!ls->tls) return st_pusherr(L, err);
  ls->ssl = true;
  /* bytes already received belong to the plain-text protocol */
  ls->rlen = 0;
  lt_settag(ls);
  char msg[300];
  int r = lt_hs_try(ls, msg, sizeof msg);
  if (r < 0) return st_pusherr(L, msg);
  if (r == 1) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lt_hold(L, ls, t);
  ls->op = OP_HANDSHAKE;
  return st_suspend(L, t, lt_cancel, ls);
}

/* ---- send ------------------------------------------------------------------------ */

static void lt_on_write(tw_tcp *tcp, int status) {
  struct lsock *ls = tw_data(tcp);
  if (ls->state == LS_CLOSED || !ls->waiter || ls->op != OP_SEND) return;
  if (status < 0) lt_fail(ls, st_errstr(status));
  else lt_ok(ls);
}

static void lt_on_usend(tw_udp *u, int status) {
  struct lsock *ls = tw_data(u);
  if (ls->state == LS_CLOSED || !ls->waiter || ls->op != OP_SEND) return;
  if (status < 0) lt_fail(ls, st_errstr(status));
  else lt_ok(ls);
}

static int lt_send(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int b = lt_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_OPEN) return st_pusherr(L, ls->state == LS_CLOSED ? "socket is closed" : "not connected");
  struct sthread *t = st_check_block(L, "socket send");
  lt_trace(ls, "SEND", data, len);
  int r;
  if (ls->kind == 2) {
    r = tw_udp_send(ls->udp, data, len, NULL, lt_on_usend);
  } else if (ls->tls) {
    if (ltls_write(ls->tls, data, len) < 0) return st_pusherr(L, ltls_error(ls->tls));
    lt_hold(L, ls, t);
    ls->op = OP_SEND;
    r = lt_tls_flush(ls, lt_on_write);
    if (r <= 0) {
      ls->waiter = NULL;
      luaL_unref(L, LUA_REGISTRYINDEX, ls->self_ref);
      ls->self_ref = LUA_NOREF;
      ls->op = OP_NONE;
      if (r < 0) return st_pusherr(L, "ERROR");
      lua_pushboolean(L, 1);
      return 1;
    }
    return st_suspend(L, t, lt_cancel, ls);
  } else {
    r = tw_tcp_write(ls->tcp, data, len, lt_on_write);
  }
  if (r < 0) return st_pusherr(L, st_errstr(r));
  lt_hold(L, ls, t);
  ls->op = OP_SEND;
  return st_suspend(L, t, lt_cancel, ls);
}

/* ---- the rest of the socket methods ------------------------------------------------ */

static int lt_close_m(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  if (!ls || ls->state == LS_CLOSED) return st_pusherr(L, "socket is closed");
  lt_close(ls);
  lua_pushboolean(L, 1);
  return 1;
}

static int lt_set_timeout(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  lua_Integer ms = luaL_checkinteger(L, 2);
  if (ls) ls->timeout_ns = ms > 0 ? (uint64_t)ms * 1000000ull : 0;
  return 0;
}

static void lt_pushaddr(lua_State *L, const struct sockaddr_storage *ss) {
  char a[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (ss->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof a);
    port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof a);
    port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  }
  lua_pushstring(L, a);
  lua_pushinteger(L, port);
}

static int lt_get_info(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  if (!ls || ls->state != LS_OPEN) return st_pusherr(L, "not connected");
  struct sockaddr_storage local = {0}, peer = ls->peer;
  int r = ls->tcp ? tw_tcp_sockname(ls->tcp, &local) : tw_udp_sockname(ls->udp, &local);
  if (r < 0) return st_pusherr(L, st_errstr(r));
  if (ls->tcp) tw_tcp_peername(ls->tcp, &peer);
  lua_pushboolean(L, 1);
  lt_pushaddr(L, &local);
  lt_pushaddr(L, &peer);
  return 5;
}

static int lt_get_ssl_certificate(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  if (!ls || !ls->tls || ls->state != LS_OPEN) return st_pusherr(L, "not an SSL connection");
  return ltls_push_cert(L, ls->tls);
}

static int lt_get_ssl_info(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  if (!ls || !ls->tls || ls->state != LS_OPEN) return st_pusherr(L, "not an SSL connection");
  lua_createtable(L, 0, 2);
  lua_pushstring(L, ltls_version(ls->tls));
  lua_setfield(L, -2, "version");
  lua_pushstring(L, ltls_cipher(ls->tls));
  lua_setfield(L, -2, "cipher");
  return 1;
}

static int lt_sock_tostring(lua_State *L) {
  struct lsock *ls = lt_sock(L);
  lua_pushfstring(L, "trawl.socket (%s)", ls ? (ls->tag[0] ? ls->tag : "unconnected") : "closed");
  return 1;
}

/* ---- DNS ------------------------------------------------------------------------- */

struct lt_dns {
  struct sthread *t;
  tw_req *req;
  bool reverse;
};

static void lt_dns_cancel(struct sthread *t, void *obj) {
  struct lt_dns *d = obj;
  d->t = NULL;
  if (d->req) tw_cancel(d->req);
}

static const char *lt_dnserr(int status) {
  switch (status) {
  case TW_ENOTFOUND: return "NXDOMAIN";
  case TW_ENODATA: return "NODATA";
  case -ETIMEDOUT: return "TIMEOUT";
  default: return tw_strerror(status);
  }
}

static void lt_on_resolve(tw_req *req, int status, const struct sockaddr_storage *addrs, size_t n,
                          void *data) {
  struct lt_dns *d = data;
  struct sthread *t = d->t;
  free(d);
  if (!t) return;
  lua_State *L = t->L;
  if (status < 0) {
    lua_pushnil(L);
    lua_pushstring(L, lt_dnserr(status));
    st_resume(t, 2);
    return;
  }
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    char a[INET6_ADDRSTRLEN];
    if (addrs[i].ss_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)&addrs[i])->sin_addr, a, sizeof a);
    else
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&addrs[i])->sin6_addr, a, sizeof a);
    lua_pushstring(L, a);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  st_resume(t, 1);
}

static int lt_family(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return AF_UNSPEC;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Integer v = lua_tointeger(L, idx);
    if (v == 4) return AF_INET;
    if (v == 6) return AF_INET6;
  } else {
    const char *f = lua_tostring(L, idx);
    if (!strcmp(f, "inet") || !strcmp(f, "ipv4") || !strcmp(f, "4")) return AF_INET;
    if (!strcmp(f, "inet6") || !strcmp(f, "ipv6") || !strcmp(f, "6")) return AF_INET6;
    if (!strcmp(f, "any") || !strcmp(f, "unspec")) return AF_UNSPEC;
  }
  return luaL_argerror(L, idx, "expected \"inet\", \"inet6\", 4 or 6");
}

static int lt_resolve(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  const char *name = luaL_checkstring(L, 1);
  int fam = lt_family(L, 2);
  struct in6_addr tmp;
  int nf = inet_pton(AF_INET, name, &tmp) == 1 ? AF_INET : inet_pton(AF_INET6, name, &tmp) == 1 ? AF_INET6 : 0;
  if (nf) {
    if (fam != AF_UNSPEC && fam != nf) return st_pusherr(L, "NODATA");
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    return 1;
  }
  struct sthread *t = st_check_block(L, "trawl.resolve");
  tw_resolver *r = lt_resolver(e);
  if (!r) return st_pusherr(L, "no DNS resolver");
  struct lt_dns *d = calloc(1, sizeof *d);
  if (!d) return luaL_error(L, "out of memory");
  d->t = t;
  int err = tw_resolve(r, &d->req, name, fam, lt_on_resolve, d);
  if (err < 0) {
    free(d);
    return st_pusherr(L, lt_dnserr(err));
  }
  return st_suspend(L, t, lt_dns_cancel, d);
}

static void lt_on_reverse(tw_req *req, int status, const char *name, void *data) {
  struct lt_dns *d = data;
  struct sthread *t = d->t;
  free(d);
  if (!t) return;
  if (status < 0) {
    lua_pushnil(t->L);
    lua_pushstring(t->L, lt_dnserr(status));
    st_resume(t, 2);
    return;
  }
  lua_pushstring(t->L, name);
  st_resume(t, 1);
}

static int lt_reverse(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  const char *addr = lt_hostarg(L, 1);
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) s4->sin_family = AF_INET;
  else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) s6->sin6_family = AF_INET6;
  else return st_pusherr(L, "not an IP address");
  struct sthread *t = st_check_block(L, "trawl.reverse");
  tw_resolver *r = lt_resolver(e);
  if (!r) return st_pusherr(L, "no DNS resolver");
  struct lt_dns *d = calloc(1, sizeof *d);
  if (!d) return luaL_error(L, "out of memory");
  d->t = t;
  d->reverse = true;
  int err = tw_reverse(r, &d->req, (struct sockaddr *)&ss, lt_on_reverse, d);
  if (err < 0) {
    free(d);
    return st_pusherr(L, lt_dnserr(err));
  }
  return st_suspend(L, t, lt_dns_cancel, d);
}

/* ---- sleep and clocks --------------------------------------------------------------- */

struct lt_sleep {
  struct sthread *t;
  tw_timer *tm;
};

static void lt_sleep_closed(void *h) { free(tw_data(h)); }

static void lt_on_sleep(tw_timer *tm, int status) {
  struct lt_sleep *s = tw_data(tm);
  struct sthread *t = s->t;
  s->t = NULL;
  tw_close(tm, lt_sleep_closed);
  if (t && status == 0) st_resume(t, 0);
}

static void lt_sleep_cancel(struct sthread *t, void *obj) {
  struct lt_sleep *s = obj;
  s->t = NULL;
  tw_timer_stop(s->tm);
  tw_close(s->tm, lt_sleep_closed);
}

static int lt_sleep(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_Number sec = luaL_checknumber(L, 1);
  struct sthread *t = st_check_block(L, "trawl.sleep");
  struct lt_sleep *s = calloc(1, sizeof *s);
  if (!s) return luaL_error(L, "out of memory");
  if (tw_timer_new(e->loop, &s->tm, s) < 0) {
    free(s);
    return luaL_error(L, "cannot create a timer");
  }
  s->t = t;
  uint64_t ns = sec > 0 ? (uint64_t)(sec * 1e9) : 0;
  tw_timer_start(s->tm, lt_on_sleep, ns, 0);
  return st_suspend(L, t, lt_sleep_cancel, s);
}

static int lt_clock(lua_State *L) {
  lua_pushnumber(L, (lua_Number)tw_hrtime() / 1e9);
  return 1;
}

static int lt_clock_ms(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)(tw_hrtime() / 1000000ull));
  return 1;
}

/* ---- mutexes and condition variables ------------------------------------------------ */

struct lt_waiter {
  struct lt_waiter *next, **pprev;
  struct sthread *t;
};

struct lt_mutex {
  struct sres res;     /* owned by the thread holding it */
  struct lt_waiter *q; /* waiting to lock */
  struct lt_waiter **qtail;
};

static void lt_wq_push(struct lt_waiter **head, struct lt_waiter *w) {
  struct lt_waiter **pp = head;
  while (*pp) pp = &(*pp)->next;
  w->next = NULL;
  w->pprev = pp;
  *pp = w;
}

static struct lt_waiter *lt_wq_pop(struct lt_waiter **head) {
  struct lt_waiter *w = *head;
  if (!w) return NULL;
  *head = w->next;
  if (w->next) w->next->pprev = head;
  return w;
}

static void lt_wq_unlink(struct lt_waiter *w) {
  *w->pprev = w->next;
  if (w->next) w->next->pprev = w->pprev;
}

static void lt_wait_cancel(struct sthread *t, void *obj) {
  struct lt_waiter *w = obj;
  lt_wq_unlink(w);
  free(w);
}

static void lt_mutex_handoff(struct lt_mutex *m) {
  sres_unlink(&m->res);
  struct lt_waiter *w = lt_wq_pop(&m->q);
  if (!w) return;
  struct sthread *t = w->t;
  free(w);
  sres_own(t, &m->res);
  lua_pushboolean(t->L, 1);
  st_wake(t, 1);
}

/* The holder ended without unlocking: pass the lock on. */
static void lt_mutex_res_close(struct sres *r) { lt_mutex_handoff((struct lt_mutex *)r); }

static int lt_mutex_new(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  luaL_checkany(L, 1);
  if (lua_isnil(L, 1)) return luaL_argerror(L, 1, "a mutex needs a key (any value but nil)");
  lua_rawgeti(L, LUA_REGISTRYINDEX, e->mutexes_ref);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  struct lt_mutex *m = lua_newuserdatauv(L, sizeof *m, 0);
  memset(m, 0, sizeof *m);
  m->res.close = lt_mutex_res_close;
  luaL_setmetatable(L, LT_MUTEX);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4);
  return 1;
}

static int lt_mutex_lock(lua_State *L) {
  struct lt_mutex *m = luaL_checkudata(L, 1, LT_MUTEX);
  struct sthread *t = st_check_block(L, "mutex:lock");
  if (!m->res.owner) {
    sres_own(t, &m->res);
    lua_pushboolean(L, 1);
    return 1;
  }
  if (m->res.owner == t) return luaL_error(L, "mutex:lock: this thread already holds the mutex (deadlock)");
  struct lt_waiter *w = calloc(1, sizeof *w);
  if (!w) return luaL_error(L, "out of memory");
  w->t = t;
  lt_wq_push(&m->q, w);
  return st_suspend(L, t, lt_wait_cancel, w);
}

static int lt_mutex_trylock(lua_State *L) {
  struct lt_mutex *m = luaL_checkudata(L, 1, LT_MUTEX);
  struct sthread *t = st_current(L);
  if (!t) return luaL_error(L, "mutex:trylock outside a script thread");
  if (m->res.owner) {
    lua_pushboolean(L, 0);
    return 1;
  }
  sres_own(t, &m->res);
  lua_pushboolean(L, 1);
  return 1;
}

static int lt_mutex_unlock(lua_State *L) {
  struct lt_mutex *m = luaL_checkudata(L, 1, LT_MUTEX);
  struct sthread *t = st_current(L);
  if (!t || m->res.owner != t) return luaL_error(L, "mutex:unlock: this thread does not hold the mutex");
  lt_mutex_handoff(m);
  lua_pushboolean(L, 1);
  return 1;
}

static int lt_mutex_locked(lua_State *L) {
  struct lt_mutex *m = luaL_checkudata(L, 1, LT_MUTEX);
  lua_pushboolean(L, m->res.owner != NULL);
  return 1;
}

/* NSE style: m("lock"), m("unlock"), m("trylock"), m("running") */
static int lt_mutex_call(lua_State *L) {
  const char *op = luaL_checkstring(L, 2);
  lua_remove(L, 2);
  if (!strcmp(op, "lock")) return lt_mutex_lock(L);
  if (!strcmp(op, "unlock")) return lt_mutex_unlock(L);
  if (!strcmp(op, "trylock")) return lt_mutex_trylock(L);
  if (!strcmp(op, "running")) return lt_mutex_locked(L);
  return luaL_argerror(L, 2, "expected \"lock\", \"unlock\", \"trylock\" or \"running\"");
}

struct lt_condvar {
  struct lt_waiter *q;
};

static int lt_condvar_new(lua_State *L) {
  luaL_checkany(L, 1);
  if (lua_isnil(L, 1)) return luaL_argerror(L, 1, "a condition variable needs a key");
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.condvars");
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  struct lt_condvar *c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, LT_CONDVAR);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4);
  return 1;
}

static int lt_cv_wait(lua_State *L) {
  struct lt_condvar *c = luaL_checkudata(L, 1, LT_CONDVAR);
  struct sthread *t = st_check_block(L, "condvar:wait");
  struct lt_waiter *w = calloc(1, sizeof *w);
  if (!w) return luaL_error(L, "out of memory");
  w->t = t;
  lt_wq_push(&c->q, w);
  return st_suspend(L, t, lt_wait_cancel, w);
}

static int lt_cv_wake(lua_State *L, bool all) {
  struct lt_condvar *c = luaL_checkudata(L, 1, LT_CONDVAR);
  int n = 0;
  struct lt_waiter *w;
  while ((w = lt_wq_pop(&c->q))) {
    struct sthread *t = w->t;
    free(w);
    st_wake(t, 0);
    n++;
    if (!all) break;
  }
  lua_pushinteger(L, n);
  return 1;
}

static int lt_cv_signal(lua_State *L) { return lt_cv_wake(L, false); }
static int lt_cv_broadcast(lua_State *L) { return lt_cv_wake(L, true); }
static int lt_cv_call(lua_State *L) {
  const char *op = luaL_checkstring(L, 2);
  lua_remove(L, 2);
  if (!strcmp(op, "wait")) return lt_cv_wait(L);
  if (!strcmp(op, "signal")) return lt_cv_signal(L);
  if (!strcmp(op, "broadcast")) return lt_cv_broadcast(L);
  return luaL_argerror(L, 2, "expected \"wait\", \"signal\" or \"broadcast\"");
}

/* ---- spawn / join ------------------------------------------------------------------- */

static int lt_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  struct sthread *t = st_current(L);
  if (!t) return luaL_error(L, "trawl.spawn outside a script thread");
  return st_spawn(L, t, 1, lua_gettop(L) - 1);
}

static void lt_join_cancel(struct sthread *j, void *obj) {
  struct sthread *t = obj;
  for (struct sthread **pp = &t->joiners; *pp; pp = &(*pp)->join_next) {
    if (*pp == j) {
      *pp = j->join_next;
      break;
    }
  }
}

static int lt_join(lua_State *L) {
  struct sthread **hp = luaL_checkudata(L, 1, LT_THREAD);
  if (*hp) {
    struct sthread *self = st_check_block(L, "thread:join");
    struct sthread *t = *hp;
    if (t == self) return luaL_error(L, "a thread cannot join itself");
    self->join_next = t->joiners;
    t->joiners = self;
    return st_suspend(L, self, lt_join_cancel, t);
  }
  lua_getiuservalue(L, 1, 1);
  lua_getfield(L, -1, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n, "join");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  return n;
}

static int lt_thread_done(lua_State *L) {
  struct sthread **hp = luaL_checkudata(L, 1, LT_THREAD);
  lua_pushboolean(L, *hp == NULL);
  return 1;
}

/* ---- script arguments and small helpers ---------------------------------------------- */

/* trawl.get_script_args(name, ...): the first that is set; a name alone
 * in --script-args (array part) gives "1"; "SCRIPT.name" is looked up
 * for a plain name too. */
static int lt_get_script_args(lua_State *L) {
  int n = lua_gettop(L);
  lua_getglobal(L, "trawl");
  lua_getfield(L, -1, "args");
  int args = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    const char *name = luaL_checkstring(L, i);
    lua_getfield(L, args, name);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
    size_t len = lua_rawlen(L, args);
    for (size_t k = 1; k <= len; k++) {
      lua_rawgeti(L, args, (lua_Integer)k);
      const char *v = lua_tostring(L, -1);
      bool hit = v && !strcmp(v, name);
      lua_pop(L, 1);
      if (hit) {
        lua_pushliteral(L, "1");
        return 1;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}

/* -v's level, plus one for a script selected by name or file (as NSE
 * tells such scripts: they were asked for, so they may say more). */
static int lt_verbosity(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  struct sthread *t = st_current(L);
  const struct script *sc = t ? t->sc : e->rule_sc;
  lua_pushinteger(L, e->cfg.verbose + (sc && sc->by_name ? 1 : 0));
  return 1;
}

static int lt_debugging(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushinteger(L, e->cfg.debug);
  return 1;
}

/* trawl.debug(level, fmt, ...): printed to stderr with -d >= level. */
static int lt_debug(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_Integer lv = luaL_checkinteger(L, 1);
  if (e->cfg.debug < lv) return 0;
  lua_getglobal(L, "string");
  lua_getfield(L, -1, "format");
  lua_remove(L, -2);
  lua_insert(L, 2);
  lua_call(L, lua_gettop(L) - 2, 1);
  struct sthread *t = st_current(L);
  fprintf(e->errfp, "trawl: %s: %s\n", t && t->sc ? t->sc->id : "script", lua_tostring(L, -1));
  return 0;
}

/* Root when the engine was made (the scan drops root once its raw
 * sockets are open: those opened for scripts are what counts then). */
static int lt_is_privileged(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushboolean(L, e->privileged || geteuid() == 0);
  return 1;
}

static int lt_tohex(lua_State *L) {
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  const char *sep = luaL_optstring(L, 2, "");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    char h[3];
    snprintf(h, sizeof h, "%02x", s[i]);
    if (i && *sep) luaL_addstring(&b, sep);
    luaL_addlstring(&b, h, 2);
  }
  luaL_pushresult(&b);
  return 1;
}

static int lt_fromhex(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int hi = -1;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ' ' || c == ':' || c == '\n' || c == '\t') continue;
    else return st_pusherr(L, "not a hex string");
    if (hi < 0) hi = v;
    else {
      luaL_addchar(&b, (char)(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) return st_pusherr(L, "odd number of hex digits");
  luaL_pushresult(&b);
  return 1;
}

static const char lt_lua[] =
    "local trawl = ...\n"
    "function trawl.output_table()\n"
    "  local keys, vals = {}, {}\n"
    "  return setmetatable({}, {\n"
    "    __newindex = function(_, k, v)\n"
    "      if vals[k] == nil and v ~= nil then keys[#keys + 1] = k\n"
    "      elseif v == nil and vals[k] ~= nil then\n"
    "        for i = 1, #keys do if keys[i] == k then table.remove(keys, i) break end end\n"
    "      end\n"
    "      vals[k] = v\n"
    "    end,\n"
    "    __index = vals,\n"
    "    __len = function() return #vals end,\n"
    "    __pairs = function(t)\n"
    "      local i = 0\n"
    "      return function() i = i + 1; local k = keys[i]; if k ~= nil then return k, vals[k] end end, t, nil\n"
    "    end,\n"
    "  })\n"
    "end\n"
    "function trawl.format_output(ok, out) if ok then return out end return nil end\n";

/* ---- registration ------------------------------------------------------------------- */

static void lt_meta(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
                    lua_CFunction call, lua_CFunction tostr) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  if (gc) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
  }
  if (call) {
    lua_pushcfunction(L, call);
    lua_setfield(L, -2, "__call");
  }
  if (tostr) {
    lua_pushcfunction(L, tostr);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

void lua_trawl_open(struct script_engine *e, lua_State *L) {
  static const luaL_Reg sock_m[] = {
      {"connect", lt_connect},
      {"send", lt_send},
      {"receive", lt_receive},
      {"receive_bytes", lt_receive_bytes},
      {"receive_lines", lt_receive_lines},
      {"receive_buf", lt_receive_buf},
      {"receive_until", lt_receive_until},
      {"close", lt_close_m},
      {"set_timeout", lt_set_timeout},
      {"get_info", lt_get_info},
      {"reconnect_ssl", lt_reconnect_ssl},
      {"get_ssl_certificate", lt_get_ssl_certificate},
      {"get_ssl_info", lt_get_ssl_info},
      {NULL, NULL}};
  static const luaL_Reg mutex_m[] = {{"lock", lt_mutex_lock},
                                     {"unlock", lt_mutex_unlock},
                                     {"trylock", lt_mutex_trylock},
                                     {"locked", lt_mutex_locked},
                                     {NULL, NULL}};
  static const luaL_Reg cv_m[] = {{"wait", lt_cv_wait},
                                  {"signal", lt_cv_signal},
                                  {"broadcast", lt_cv_broadcast},
                                  {NULL, NULL}};
  static const luaL_Reg thread_m[] = {{"join", lt_join}, {"done", lt_thread_done}, {NULL, NULL}};
  lt_meta(L, LT_SOCKET, sock_m, lt_gc, NULL, lt_sock_tostring);
  lt_meta(L, LT_MUTEX, mutex_m, NULL, lt_mutex_call, NULL);
  lt_meta(L, LT_CONDVAR, cv_m, NULL, lt_cv_call, NULL);
  lt_meta(L, LT_THREAD, thread_m, NULL, NULL, NULL);

  static const luaL_Reg fns[] = {
      {"tcp", lt_tcp},
      {"udp", lt_udp},
      {"new_socket", lt_newsock},
      {"resolve", lt_resolve},
      {"reverse", lt_reverse},
      {"sleep", lt_sleep},
      {"clock", lt_clock},
      {"clock_ms", lt_clock_ms},
      {"mutex", lt_mutex_new},
      {"condvar", lt_condvar_new},
      {"spawn", lt_spawn},
      {"get_script_args", lt_get_script_args},
      {"verbosity", lt_verbosity},
      {"debugging", lt_debugging},
      {"debug", lt_debug},
      {"is_privileged", lt_is_privileged},
      {"tohex", lt_tohex},
      {"fromhex", lt_fromhex},
      {NULL, NULL}};
  lua_newtable(L);
  lua_pushlightuserdata(L, e);
  luaL_setfuncs(L, fns, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  e->registry_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_setfield(L, -2, "registry");
  lua_newtable(L);
  e->mutexes_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.condvars");
  lua_pushliteral(L, "trawl 0.1");
  lua_setfield(L, -2, "version");
  if (luaL_loadbufferx(L, lt_lua, sizeof lt_lua - 1, "=trawl", "t") == LUA_OK) {
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
  } else {
    lua_pop(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setglobal(L, "trawl");
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "trawl");
  lua_pop(L, 3);
}
