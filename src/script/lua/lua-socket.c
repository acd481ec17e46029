/* lua-socket.c: script sockets, the trawl.tcp/udp/new_socket objects
 * (docs/scripting.md), with Nmap NSE's semantics: each call returns true
 * [and data], or nil and an error message ("TIMEOUT", "EOF", "CANCELLED",
 * "Connection refused", ...), never an exception for a network error.
 * connect (numeric or by name, "tcp", "udp" or "ssl"), reconnect_ssl
 * (STARTTLS), send, receive and receive_bytes/lines/buf/until, close,
 * set_timeout, get_info, the SSL certificate and info; bind and sendto
 * (NSE's unconnected UDP) live in lua-socket-udp.c.
 *
 * Every call that waits suspends its script thread (st_suspend) and the
 * libtrawl callback resumes it. A socket is read through a buffer of its
 * own (rb): receive() returns what is buffered or the next bytes to
 * arrive, receive_bytes/lines/buf wait until the buffer holds enough; SSL
 * sockets decrypt into the same buffer (lua-tls.c), so every receive mode
 * works on both. The buffer holds at most LSOCK_RBUF_MAX bytes (lua-int.h:
 * a receive that cannot complete within it ends with "receive buffer
 * full"), and a pending receive_lines or receive_buf with a pattern of
 * bounded length looks only at the bytes that came since its last look,
 * so a peer streaming an endless line costs bounded memory and linear
 * time. A socket is a resource of the thread that made it: it
 * is closed when that thread ends. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/tcp.h>
#include <trawl/udp.h>

#include "core/tls.h"
#include "script/lua/lua-int.h"
#include "script/lua/lua-socket-int.h"

#define LSOCK_DEFAULT_TIMEOUT_NS 30000000000ull /* NSE's 30 s */
#define LSOCK_READ_CHUNK 65536
#define LSOCK_UDP_QUEUE 256

/* ---- sockets ------------------------------------------------------------------ */

struct lsock *lsock_check(lua_State *L) {
  struct lsock **u = luaL_checkudata(L, 1, LSOCK_MT);
  return *u;
}

static void lsock_unref(struct lsock *ls) {
  if (--ls->refs > 0) return;
  free(ls->rb);
  while (ls->dq) {
    struct lsock_dgram *d = ls->dq;
    ls->dq = d->next;
    free(d);
  }
  if (ls->tls) tls_conn_free(ls->tls);
  free(ls->sni);
  free(ls);
}

void lsock_handle_closed(void *h) { lsock_unref(tw_data(h)); }

void lsock_trace(struct lsock *ls, const char *what, const void *data, size_t len) {
  if (!ls->e->cfg.trace) return;
  char buf[160];
  snprintf(buf, sizeof buf, "%s %s", ls->tag, what);
  script_trace(ls->e, ls->waiter ? ls->waiter : ls->res.owner, buf, data, len);
}

/* End the socket's operation: resume the waiter with the nres values
 * pushed on its stack. */
static void lsock_finish(struct lsock *ls, int nres) {
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

static void lsock_fail(struct lsock *ls, const char *msg) {
  if (!ls->waiter) return;
  lua_State *L = ls->waiter->L;
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lsock_finish(ls, 2);
}

static void lsock_ok(struct lsock *ls) {
  if (!ls->waiter) return;
  lua_pushboolean(ls->waiter->L, 1);
  lsock_finish(ls, 1);
}

/* The thread is killed while it waits on this socket. */
void lsock_cancel(struct sthread *t, void *obj) {
  struct lsock *ls = obj;
  ls->waiter = NULL;
  lsock_finish(ls, 0);
}

static void lsock_close(struct lsock *ls) {
  if (ls->state == LS_CLOSED) return;
  ls->state = LS_CLOSED;
  if (ls->rerr == 0) ls->rerr = -ECANCELED;
  if (ls->dns) {
    tw_cancel(ls->dns);
    ls->dns = NULL;
  }
  if (ls->tcp) {
    lsock_trace(ls, "CLOSE", NULL, 0);
    tw_close(ls->tcp, lsock_handle_closed);
    ls->tcp = NULL;
  }
  if (ls->udp) {
    lsock_trace(ls, "CLOSE", NULL, 0);
    tw_close(ls->udp, lsock_handle_closed);
    ls->udp = NULL;
  }
  if (ls->tm) {
    tw_close(ls->tm, lsock_handle_closed);
    ls->tm = NULL;
  }
  sres_unlink(&ls->res);
  if (ls->waiter) lsock_fail(ls, "CANCELLED");
}

static void lsock_res_close(struct sres *r) { lsock_close((struct lsock *)r); }

static int lsock_gc(lua_State *L) {
  struct lsock **u = luaL_checkudata(L, 1, LSOCK_MT);
  struct lsock *ls = *u;
  if (!ls) return 0;
  *u = NULL;
  ls->waiter = NULL;
  lsock_close(ls);
  lsock_unref(ls);
  return 0;
}

static int lsock_new_socket(lua_State *L, int kind) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  struct lsock **u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = NULL;
  struct lsock *ls = calloc(1, sizeof *ls);
  if (!ls) return luaL_error(L, "out of memory");
  ls->e = e;
  ls->refs = 1;
  ls->kind = kind;
  ls->timeout_ns = LSOCK_DEFAULT_TIMEOUT_NS;
  ls->self_ref = ls->pat_ref = LUA_NOREF;
  ls->res.close = lsock_res_close;
  *u = ls;
  luaL_setmetatable(L, LSOCK_MT);
  struct sthread *t = st_current(L);
  if (t) sres_own(t, &ls->res);
  return 1;
}

static int lsock_tcp(lua_State *L) { return lsock_new_socket(L, 1); }
static int lsock_udp(lua_State *L) { return lsock_new_socket(L, 2); }
static int lsock_newsock(lua_State *L) {
  const char *k = luaL_optstring(L, 1, "tcp");
  return lsock_new_socket(L, strcmp(k, "udp") == 0 ? 2 : 1);
}

void lsock_settag(struct lsock *ls) {
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

static int lsock_raw_read(struct lsock *ls);

/* Send what the TLS engine wants sent, in one write; cb (may be NULL) goes
 * with it. Returns 1 if something was written, 0 if nothing was pending,
 * or a negative error. */
static int lsock_tls_flush(struct lsock *ls, tw_tcp_write_cb cb) {
  size_t n = tls_conn_out_pending(ls->tls);
  if (n == 0 || !ls->tcp) return 0;
  char *buf = malloc(n);
  if (!buf) return -ENOMEM;
  int got = tls_conn_take(ls->tls, buf, n);
  int r = got > 0 ? tw_tcp_write(ls->tcp, buf, (size_t)got, cb) : 0;
  free(buf);
  if (r < 0) return r;
  return got > 0;
}

static void lsock_hs_step(struct lsock *ls);
static void lsock_recv_step(struct lsock *ls);

/* Append to the receive buffer: 0, -ENOBUFS past LSOCK_RBUF_MAX (reads
 * are sized so that it does not happen), -ENOMEM. */
static int lsock_append(struct lsock *ls, const char *p, size_t n) {
  if (n > LSOCK_RBUF_MAX - ls->rlen) return -ENOBUFS;
  if (ls->rlen + n > ls->rcap) {
    size_t nc = ls->rcap ? ls->rcap : 4096;
    while (nc < ls->rlen + n) nc *= 2;
    if (nc > LSOCK_RBUF_MAX) nc = LSOCK_RBUF_MAX;
    char *nb = realloc(ls->rb, nc);
    if (!nb) return -ENOMEM;
    ls->rb = nb;
    ls->rcap = nc;
  }
  memcpy(ls->rb + ls->rlen, p, n);
  ls->rlen += n;
  return 0;
}

static void lsock_on_raw(tw_tcp *tcp, int status, const char *buf, size_t len) {
  struct lsock *ls = tw_data(tcp);
  ls->reading = false;
  if (ls->state == LS_CLOSED) return;
  if (len > 0) {
    if (ls->tls) {
      tls_conn_feed(ls->tls, buf, len);
    } else {
      int r = lsock_append(ls, buf, len);
      if (r < 0 && !ls->rerr) ls->rerr = r;
      lsock_trace(ls, "RECV", buf, r < 0 ? 0 : len);
    }
  }
  if (status < 0 && status != -ETIMEDOUT && !ls->rerr) ls->rerr = status;
  if (!ls->waiter) return;
  if (status == -ETIMEDOUT) {
    lsock_fail(ls, "TIMEOUT");
    return;
  }
  if (ls->op == OP_CONNECT || ls->op == OP_HANDSHAKE) lsock_hs_step(ls);
  else if (ls->op == OP_RECV) lsock_recv_step(ls);
}

static uint64_t lsock_left(struct lsock *ls) {
  if (!ls->deadline) return 0;
  uint64_t now = tw_hrtime();
  return ls->deadline > now + 1000000 ? ls->deadline - now : 1000000;
}

static int lsock_raw_read(struct lsock *ls) {
  if (ls->reading) return 0;
  if (!ls->tcp) return -ECANCELED;
  /* plain bytes go to rb: never more than it has room for (TLS records
   * go to the TLS engine, which lsock_drain empties only as rb allows) */
  size_t max = LSOCK_READ_CHUNK;
  if (!ls->tls && LSOCK_RBUF_MAX - ls->rlen < max) max = LSOCK_RBUF_MAX - ls->rlen;
  if (max == 0) return -ENOBUFS;
  int r = tw_tcp_read_some(ls->tcp, max, lsock_left(ls), lsock_on_raw);
  if (r < 0) {
    if (!ls->rerr) ls->rerr = r;
    return r;
  }
  ls->reading = true;
  return 0;
}

/* One handshake step: 1 done, 0 waiting for the peer, -1 failed with the
 * message in msg. */
static int lsock_hs_try(struct lsock *ls, char *msg, size_t len) {
  int r = tls_conn_handshake(ls->tls);
  lsock_tls_flush(ls, NULL);
  if (r == 1) {
    lsock_trace(ls, "SSL handshake done:", tls_conn_version(ls->tls), strlen(tls_conn_version(ls->tls)));
    return 1;
  }
  if (r == 0 && !ls->rerr) {
    int e = lsock_raw_read(ls);
    if (e == 0) return 0;
  }
  snprintf(msg, len, "SSL handshake failed: %s",
           r < 0 ? tls_conn_error(ls->tls) : ls->rerr == TW_EOF ? "connection closed by peer" : st_errstr(ls->rerr));
  lsock_trace(ls, msg, NULL, 0);
  return -1;
}

static void lsock_hs_now(struct lsock *ls) {
  uint64_t t0 = tw_hrtime();
  char msg[300];
  int r = 1;
  if (!ls->tls && !(ls->tls = ltls_new(ls->e, ls->sni, msg, sizeof msg))) r = -1;
  else r = lsock_hs_try(ls, msg, sizeof msg);
  sched_budget_charge(ls->e, t0);
  if (r == 1) lsock_ok(ls);
  else if (r < 0) lsock_fail(ls, msg);
}

static void lsock_hs_deferred(struct sdefer *d) {
  struct lsock *ls = (struct lsock *)((char *)d - offsetof(struct lsock, hs_defer));
  if (ls->state != LS_CLOSED && ls->waiter) lsock_hs_now(ls);
  lsock_unref(ls);
}

/* A handshake step (the first makes the TLS object and the ClientHello):
 * a tenth of a millisecond of CPU or so, so it counts against the loop
 * iteration's script budget, and waits for the engine's hook when that
 * is spent (thousands of handshakes at once must not stall timers). */
static void lsock_hs_step(struct lsock *ls) {
  if (sched_budget_left(ls->e)) {
    lsock_hs_now(ls);
    return;
  }
  if (ls->hs_defer.queued) return;
  ls->refs++;
  sched_defer(ls->e, &ls->hs_defer, lsock_hs_deferred);
}

static void lsock_on_connect(tw_tcp *tcp, int status) {
  struct lsock *ls = tw_data(tcp);
  if (ls->state == LS_CLOSED) return;
  if (status < 0) {
    lsock_trace(ls, "CONNECT failed:", st_errstr(status), strlen(st_errstr(status)));
    ls->state = LS_NEW;
    lsock_fail(ls, st_errstr(status));
    return;
  }
  ls->state = LS_OPEN;
  lsock_trace(ls, "CONNECT ok", NULL, 0);
  if (ls->ssl) {
    lsock_hs_step(ls);
    return;
  }
  lsock_ok(ls);
}

/* ---- UDP ------------------------------------------------------------------------ */

void lsock_udp_recv(tw_udp *u, int status, const char *buf, size_t len,
                        const struct sockaddr *from) {
  struct lsock *ls = tw_data(u);
  if (ls->state == LS_CLOSED) return;
  if (status < 0) {
    if (status == -ECANCELED) return;
    ls->uerr = status;
  } else {
    lsock_trace(ls, "RECV", buf, len);
    if (ls->unconn && from) { /* get_info names the last sender, as nsock */
      size_t fl = from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
      memcpy(&ls->peer, from, fl);
    }
    struct lsock_dgram *d = malloc(sizeof *d + len);
    if (!d) return;
    d->next = NULL;
    d->len = len;
    memcpy(d->data, buf, len);
    if (ls->dq_tail) ls->dq_tail->next = d;
    else ls->dq = d;
    ls->dq_tail = d;
    if (++ls->ndq > LSOCK_UDP_QUEUE) {
      struct lsock_dgram *old = ls->dq;
      ls->dq = old->next;
      if (!ls->dq) ls->dq_tail = NULL;
      free(old);
      ls->ndq--;
    }
  }
  if (ls->waiter && ls->op == OP_RECV) lsock_recv_step(ls);
}

static void lsock_udp_timeout(tw_timer *tm, int status) {
  struct lsock *ls = tw_data(tm);
  if (status < 0 || ls->state == LS_CLOSED || !ls->waiter || ls->op != OP_RECV) return;
  lsock_fail(ls, "TIMEOUT");
}

/* ---- receiving ------------------------------------------------------------------ */

static void lsock_consume(struct lsock *ls, size_t n) {
  memmove(ls->rb, ls->rb + n, ls->rlen - n);
  ls->rlen -= n;
}

/* Move whatever can be had without waiting into rb: decrypted TLS data, one
 * queued datagram. */
static void lsock_drain(struct lsock *ls) {
  if (ls->tls) {
    char buf[16384];
    for (;;) {
      size_t room = LSOCK_RBUF_MAX - ls->rlen;
      if (room == 0) break; /* the rest stays in the TLS engine */
      int n = tls_conn_read(ls->tls, buf, room < sizeof buf ? room : sizeof buf);
      if (n > 0) {
        lsock_trace(ls, "RECV", buf, (size_t)n);
        if (lsock_append(ls, buf, (size_t)n) < 0) {
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
    lsock_tls_flush(ls, NULL);
  }
  while (ls->kind == 2 && ls->dq && (ls->rlen == 0 || ls->rmode != RM_ANY) &&
         ls->dq->len <= LSOCK_RBUF_MAX - ls->rlen) {
    struct lsock_dgram *d = ls->dq;
    ls->dq = d->next;
    if (!ls->dq) ls->dq_tail = NULL;
    ls->ndq--;
    lsock_append(ls, d->data, d->len);
    free(d);
  }
}

/* If the pending receive can complete, push its results on L and return
 * how many; 0 when it must wait. Uses the engine's main thread for
 * pattern matching (L may be a suspended coroutine). */
static int lsock_recv_try(struct lsock *ls, lua_State *L) {
  lsock_drain(ls);
  size_t give = 0, eat = 0;
  bool done = false;
  switch (ls->rmode) {
  case RM_ANY:
    if (ls->rlen) give = eat = ls->rlen, done = true;
    break;
  case RM_BYTES: /* (or a datagram that would not fit: what is there) */
    if (ls->rlen >= ls->rn ||
        (ls->kind == 2 && ls->dq && ls->dq->len > LSOCK_RBUF_MAX - ls->rlen))
      give = eat = ls->rlen, done = true;
    break;
  case RM_LINES:
    /* count the newlines of the new bytes only */
    while (ls->lines < ls->rn && ls->scanned < ls->rlen) {
      const char *nl = memchr(ls->rb + ls->scanned, '\n', ls->rlen - ls->scanned);
      if (!nl) {
        ls->scanned = ls->rlen;
        break;
      }
      ls->lines++;
      ls->scanned = (size_t)(nl - ls->rb) + 1;
    }
    if (ls->lines >= ls->rn) give = eat = ls->rlen, done = true;
    break;
  case RM_BUF: {
    if (!ls->rlen || ls->scanned == ls->rlen) break; /* nothing new to look at */
    /* A pattern whose matches are at most pat_max bytes long can only
     * match now where it takes in a new byte: search from there. A
     * function (or an unbounded pattern) sees the whole buffer, as in
     * NSE; the buffer's bound bounds its cost. */
    size_t off = 0;
    if (ls->pat_max >= 0 && ls->scanned > 0 && ls->scanned + 1 > (size_t)ls->pat_max)
      off = ls->scanned + 1 - (size_t)ls->pat_max;
    if (off > ls->rlen) off = ls->rlen;
    ls->scanned = ls->rlen;
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
      lua_pushlstring(M, ls->rb + off, ls->rlen - off);
      lua_pushvalue(M, -3);
      lua_remove(M, -4);
      if (lua_pcall(M, 2, 2, 0) != LUA_OK) {
        lua_settop(M, top);
        break;
      }
    }
    if (lua_isinteger(M, -2) && lua_isinteger(M, -1)) {
      lua_Integer s = lua_tointeger(M, -2), en = lua_tointeger(M, -1);
      if (s >= 1 && en >= s - 1 && (size_t)en <= ls->rlen - off) {
        give = off + (ls->keep ? (size_t)en : (size_t)(s - 1));
        eat = off + (size_t)en;
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
    lsock_consume(ls, eat);
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
  if (ls->rlen == LSOCK_RBUF_MAX ||
      (ls->kind == 2 && ls->dq && ls->dq->len > LSOCK_RBUF_MAX - ls->rlen)) {
    /* cannot complete within the bound: the bytes stay buffered */
    lua_pushnil(L);
    lua_pushliteral(L, "receive buffer full");
    return 2;
  }
  return 0;
}

/* The longest match of Lua pattern p (n bytes), or -1 when it is not
 * bounded or searching from an offset could change its matches: '*',
 * '+', '-', %b, %f, back-references, a leading '^'. */
static long lsock_pattern_max(const char *p, size_t n) {
  long len = 0;
  size_t i = 0;
  if (n > 0 && p[0] == '^') return -1;
  while (i < n) {
    char c = p[i];
    if (c == '(' || c == ')') { /* captures are zero-width */
      i++;
      continue;
    }
    if (c == '$' && i == n - 1) break; /* the end anchor */
    if (c == '%') {
      if (i + 1 >= n) return -1;
      char d = p[i + 1];
      if (d == 'b' || d == 'f' || (d >= '0' && d <= '9')) return -1;
      i += 2;
    } else if (c == '[') { /* a set: as Lua's classEnd */
      size_t j = i + 1;
      if (j < n && p[j] == '^') j++;
      do {
        if (j >= n) return -1;
        if (p[j++] == '%' && j < n) j++;
      } while (j < n && p[j] != ']');
      if (j >= n) return -1;
      i = j + 1;
    } else {
      i++;
    }
    if (i < n && (p[i] == '*' || p[i] == '+' || p[i] == '-')) return -1;
    if (i < n && p[i] == '?') i++;
    len++;
  }
  return len;
}

/* Wait for more input for the pending receive: 0, or an error. */
static int lsock_wait_more(struct lsock *ls) {
  if (ls->kind == 2) {
    if (!ls->deadline) return 0;
    if (!ls->tm) {
      int r = tw_timer_new(ls->e->loop, &ls->tm, ls);
      if (r < 0) return r;
      ls->refs++;
    }
    return tw_timer_start(ls->tm, lsock_udp_timeout, lsock_left(ls), 0);
  }
  if (ls->deadline && tw_hrtime() >= ls->deadline) return -ETIMEDOUT;
  return lsock_raw_read(ls);
}

static void lsock_recv_step(struct lsock *ls) {
  int n = lsock_recv_try(ls, ls->waiter->L);
  if (n > 0) {
    if (ls->tm) tw_timer_stop(ls->tm);
    lsock_finish(ls, n);
    return;
  }
  int r = lsock_wait_more(ls);
  if (r < 0) lsock_fail(ls, st_errstr(r));
}

int lsock_busy(lua_State *L, struct lsock *ls) {
  if (!ls) return st_pusherr(L, "socket is closed");
  if (ls->waiter) return st_pusherr(L, "socket busy: another thread is using it");
  return 0;
}

void lsock_hold(lua_State *L, struct lsock *ls, struct sthread *t) {
  ls->waiter = t;
  lua_pushvalue(L, 1);
  ls->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  ls->deadline = ls->timeout_ns ? tw_hrtime() + ls->timeout_ns : 0;
}

static int lsock_recv_begin(lua_State *L, struct lsock *ls, int mode, size_t n, int patidx,
                         bool keep) {
  int b = lsock_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_OPEN) return st_pusherr(L, ls->state == LS_CLOSED ? "socket is closed" : "not connected");
  ls->rmode = mode;
  ls->rn = n;
  ls->keep = keep;
  ls->scanned = ls->lines = 0;
  ls->pat_max = -1;
  if (patidx) {
    if (lua_type(L, patidx) != LUA_TFUNCTION) {
      size_t pl;
      const char *pat = lua_tolstring(L, patidx, &pl);
      if (pat) ls->pat_max = lsock_pattern_max(pat, pl);
    }
    lua_pushvalue(L, patidx);
    ls->pat_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  int r = lsock_recv_try(ls, L);
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
  lsock_hold(L, ls, t);
  ls->op = OP_RECV;
  int w = lsock_wait_more(ls);
  if (w < 0) {
    ls->waiter = NULL;
    lsock_finish(ls, 0); /* no waiter resumed: we are running */
    return st_pusherr(L, st_errstr(w));
  }
  return st_suspend(L, t, lsock_cancel, ls);
}

static int lsock_receive(lua_State *L) { return lsock_recv_begin(L, lsock_check(L), RM_ANY, 0, 0, false); }

static int lsock_receive_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 2);
  /* more than the buffer holds: the bound's worth */
  if (n > (lua_Integer)LSOCK_RBUF_MAX) n = LSOCK_RBUF_MAX;
  return lsock_recv_begin(L, lsock_check(L), RM_BYTES, n < 1 ? 1 : (size_t)n, 0, false);
}

static int lsock_receive_lines(lua_State *L) {
  lua_Integer n = luaL_optinteger(L, 2, 1);
  return lsock_recv_begin(L, lsock_check(L), RM_LINES, n < 1 ? 1 : (size_t)n, 0, false);
}

static int lsock_receive_buf(lua_State *L) {
  if (lua_type(L, 2) != LUA_TFUNCTION) luaL_checkstring(L, 2);
  bool keep = lua_isnone(L, 3) ? true : lua_toboolean(L, 3);
  return lsock_recv_begin(L, lsock_check(L), RM_BUF, 0, 2, keep);
}

static int lsock_receive_until(lua_State *L) {
  luaL_checkstring(L, 2);
  return lsock_recv_begin(L, lsock_check(L), RM_BUF, 0, 2, true);
}

/* ---- connect --------------------------------------------------------------------- */

static int lsock_connect_addr(lua_State *L, struct lsock *ls) {
  struct script_engine *e = ls->e;
  lsock_settag(ls);
  if (ls->kind == 2) {
    int r = tw_udp_new(e->loop, &ls->udp, ls->peer.ss_family, ls);
    if (r < 0) return -r > 0 ? r : r;
    ls->refs++;
    lsock_udp_opts(ls);
    r = tw_udp_connect(ls->udp, (struct sockaddr *)&ls->peer);
    if (r == 0) r = tw_udp_recv_start(ls->udp, lsock_udp_recv);
    if (r < 0) return r;
    ls->state = LS_OPEN;
    lsock_trace(ls, "CONNECT ok", NULL, 0);
    return 0;
  }
  int r = tw_tcp_new(e->loop, &ls->tcp, ls);
  if (r < 0) return r;
  ls->refs++;
  r = tw_tcp_connect(ls->tcp, (struct sockaddr *)&ls->peer, lsock_left(ls), lsock_on_connect);
  if (r < 0) return r;
  ls->state = LS_CONNECTING;
  return 1; /* wait */
}

static void lsock_on_resolved(tw_req *req, int status, const struct sockaddr_storage *addrs,
                           size_t n, void *data) {
  struct lsock *ls = data;
  ls->dns = NULL;
  if (status == -ECANCELED || ls->state == LS_CLOSED) {
    lsock_unref(ls);
    return;
  }
  lsock_unref(ls); /* the request's reference; the userdata still holds one */
  if (status < 0 || n == 0) {
    ls->state = LS_NEW;
    char msg[200];
    snprintf(msg, sizeof msg, "Failed to resolve: %s",
             status == TW_ENOTFOUND ? "NXDOMAIN" : status == TW_ENODATA ? "NODATA"
             : status == -ETIMEDOUT ? "TIMEOUT" : tw_strerror(status));
    lsock_fail(ls, msg);
    return;
  }
  uint16_t port = ls->port;
  ls->peer = addrs[0];
  if (ls->peer.ss_family == AF_INET) ((struct sockaddr_in *)&ls->peer)->sin_port = htons(port);
  else ((struct sockaddr_in6 *)&ls->peer)->sin6_port = htons(port);
  int r = lsock_connect_addr(NULL, ls);
  if (r < 0) {
    ls->state = LS_NEW;
    lsock_fail(ls, st_errstr(r));
  } else if (r == 0) {
    lsock_ok(ls);
  }
}

static int lsock_portarg(lua_State *L, int idx, const char **proto) {
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

static int lsock_connect(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  /* only in a script thread, even for UDP (which does not wait): a socket
   * connected in a rule would be owned by no run, and its handle would
   * keep the loop alive after the scan (an NSE rule that probes) */
  st_check_block(L, "socket connect");
  int b = lsock_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_NEW) return st_pusherr(L, "socket already connected: use a new one");
  const char *host = lt_hostarg(L, 2);
  const char *pproto = NULL;
  int port = lsock_portarg(L, 3, &pproto);
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
    tw_resolver *r = ldns_resolver(ls->e);
    if (!r) return st_pusherr(L, "no DNS resolver");
    snprintf(ls->tag, sizeof ls->tag, "%s %s:%d", ls->kind == 2 ? "UDP" : "TCP", host, port);
    lsock_hold(L, ls, t);
    ls->op = OP_CONNECT;
    ls->state = LS_RESOLVING;
    ls->refs++;
    int err = tw_resolve(r, &ls->dns, host, AF_UNSPEC, lsock_on_resolved, ls);
    if (err < 0) {
      ls->refs--;
      ls->state = LS_NEW;
      ls->waiter = NULL;
      luaL_unref(L, LUA_REGISTRYINDEX, ls->self_ref);
      ls->self_ref = LUA_NOREF;
      return st_pusherr(L, st_errstr(err));
    }
    return st_suspend(L, t, lsock_cancel, ls);
  }
  if (ls->kind == 2) {
    int r = lsock_connect_addr(L, ls);
    if (r < 0) return st_pusherr(L, st_errstr(r));
    lua_pushboolean(L, 1);
    return 1;
  }
  struct sthread *t = st_check_block(L, "socket connect");
  int r = lsock_connect_addr(L, ls);
  if (r < 0) {
    lsock_trace(ls, "CONNECT failed:", st_errstr(r), strlen(st_errstr(r)));
    return st_pusherr(L, st_errstr(r));
  }
  lsock_hold(L, ls, t);
  ls->op = OP_CONNECT;
  return st_suspend(L, t, lsock_cancel, ls);
}

static int lsock_reconnect_ssl(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  int b = lsock_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_OPEN || ls->kind != 1) return st_pusherr(L, "not a connected TCP socket");
  if (ls->tls) return st_pusherr(L, "already an SSL connection");
  struct sthread *t = st_check_block(L, "reconnect_ssl");
  char err[200];
  ls->tls = ltls_new(ls->e, ls->sni, err, sizeof err);
  if (!ls->tls) return st_pusherr(L, err);
  ls->ssl = true;
  /* bytes already received belong to the plain-text protocol */
  ls->rlen = 0;
  lsock_settag(ls);
  char msg[300];
  int r = lsock_hs_try(ls, msg, sizeof msg);
  if (r < 0) return st_pusherr(L, msg);
  if (r == 1) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lsock_hold(L, ls, t);
  ls->op = OP_HANDSHAKE;
  return st_suspend(L, t, lsock_cancel, ls);
}

/* ---- send ------------------------------------------------------------------------ */

static void lsock_on_write(tw_tcp *tcp, int status) {
  struct lsock *ls = tw_data(tcp);
  if (ls->state == LS_CLOSED || !ls->waiter || ls->op != OP_SEND) return;
  if (status < 0) lsock_fail(ls, st_errstr(status));
  else lsock_ok(ls);
}

void lsock_on_usend(tw_udp *u, int status) {
  struct lsock *ls = tw_data(u);
  if (ls->state == LS_CLOSED || !ls->waiter || ls->op != OP_SEND) return;
  if (status < 0) lsock_fail(ls, st_errstr(status));
  else lsock_ok(ls);
}

static int lsock_send(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int b = lsock_busy(L, ls);
  if (b) return b;
  if (ls->state != LS_OPEN) return st_pusherr(L, ls->state == LS_CLOSED ? "socket is closed" : "not connected");
  struct sthread *t = st_check_block(L, "socket send");
  lsock_trace(ls, "SEND", data, len);
  int r;
  if (ls->kind == 2) {
    r = tw_udp_send(ls->udp, data, len, NULL, lsock_on_usend);
  } else if (ls->tls) {
    if (tls_conn_write(ls->tls, data, len) < 0) return st_pusherr(L, tls_conn_error(ls->tls));
    lsock_hold(L, ls, t);
    ls->op = OP_SEND;
    r = lsock_tls_flush(ls, lsock_on_write);
    if (r <= 0) {
      ls->waiter = NULL;
      luaL_unref(L, LUA_REGISTRYINDEX, ls->self_ref);
      ls->self_ref = LUA_NOREF;
      ls->op = OP_NONE;
      if (r < 0) return st_pusherr(L, "ERROR");
      lua_pushboolean(L, 1);
      return 1;
    }
    return st_suspend(L, t, lsock_cancel, ls);
  } else {
    r = tw_tcp_write(ls->tcp, data, len, lsock_on_write);
  }
  if (r < 0) return st_pusherr(L, st_errstr(r));
  lsock_hold(L, ls, t);
  ls->op = OP_SEND;
  return st_suspend(L, t, lsock_cancel, ls);
}

/* ---- the rest of the socket methods ------------------------------------------------ */

static int lsock_close_m(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  if (!ls || ls->state == LS_CLOSED) return st_pusherr(L, "socket is closed");
  lsock_close(ls);
  lua_pushboolean(L, 1);
  return 1;
}

static int lsock_set_timeout(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  lua_Integer ms = luaL_checkinteger(L, 2);
  if (ls) ls->timeout_ns = ms > 0 ? (uint64_t)ms * 1000000ull : 0;
  return 0;
}

static void lsock_pushaddr(lua_State *L, const struct sockaddr_storage *ss) {
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

static int lsock_get_info(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  if (!ls || ls->state != LS_OPEN) return st_pusherr(L, "not connected");
  struct sockaddr_storage local = {0}, peer = ls->peer;
  int r = ls->tcp ? tw_tcp_sockname(ls->tcp, &local) : tw_udp_sockname(ls->udp, &local);
  if (r < 0) return st_pusherr(L, st_errstr(r));
  if (ls->tcp) tw_tcp_peername(ls->tcp, &peer);
  lua_pushboolean(L, 1);
  lsock_pushaddr(L, &local);
  lsock_pushaddr(L, &peer);
  return 5;
}

static int lsock_get_ssl_certificate(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  if (!ls || !ls->tls || ls->state != LS_OPEN) return st_pusherr(L, "not an SSL connection");
  return ltls_push_cert(L, ls->tls);
}

static int lsock_get_ssl_info(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  if (!ls || !ls->tls || ls->state != LS_OPEN) return st_pusherr(L, "not an SSL connection");
  lua_createtable(L, 0, 2);
  lua_pushstring(L, tls_conn_version(ls->tls));
  lua_setfield(L, -2, "version");
  lua_pushstring(L, tls_conn_cipher(ls->tls));
  lua_setfield(L, -2, "cipher");
  return 1;
}

static int lsock_tostring(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  lua_pushfstring(L, "trawl.socket (%s)", ls ? (ls->tag[0] ? ls->tag : "unconnected") : "closed");
  return 1;
}

/* ---- registration ------------------------------------------------------------------- */

void lua_socket_open(struct script_engine *e, lua_State *L) {
  static const luaL_Reg sock_m[] = {
      {"connect", lsock_connect},
      {"send", lsock_send},
      {"sendto", lsock_sendto},
      {"bind", lsock_bind},
      {"receive", lsock_receive},
      {"receive_bytes", lsock_receive_bytes},
      {"receive_lines", lsock_receive_lines},
      {"receive_buf", lsock_receive_buf},
      {"receive_until", lsock_receive_until},
      {"close", lsock_close_m},
      {"set_timeout", lsock_set_timeout},
      {"get_info", lsock_get_info},
      {"reconnect_ssl", lsock_reconnect_ssl},
      {"get_ssl_certificate", lsock_get_ssl_certificate},
      {"get_ssl_info", lsock_get_ssl_info},
      {NULL, NULL}};
  lt_meta(L, LSOCK_MT, sock_m, lsock_gc, NULL, lsock_tostring);
  static const luaL_Reg fns[] = {
      {"tcp", lsock_tcp}, {"udp", lsock_udp}, {"new_socket", lsock_newsock}, {NULL, NULL}};
  lua_pushlightuserdata(L, e);
  luaL_setfuncs(L, fns, 1);
}
