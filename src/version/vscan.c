/* vscan.c: the version-scan engine (see vscan.h): ports, the runs of their
 * probes on the loop, committing outcomes in Nmap's order, and the caps. */
#define _GNU_SOURCE
#include "version/vscan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/tcp.h>
#include <trawl/udp.h>

#include "core/tls.h"
#include "version/probe-order.h"

#define VS_DEFAULT_CONNECT_NS 5000000000ull
#define MS 1000000ull
#define VS_WINDOW_MAX 64 /* probes of the sequence looked ahead at most */
#define VS_UDP_PER_PORT 24 /* UDP probes of a port in flight at once (see vs_advance) */
#define VS_QUIET_RTTS 10          /* adaptive: quiet for this many RTTs ends a reply */
#define VS_QUIET_MIN (50 * MS)    /* ... but never less than this */
/* Adaptive waits, the NULL probe: once a later probe of the same port has
 * had a reply on its own connection while the NULL probe's is still
 * silent, the service answers requests without greeting first, and the
 * NULL probe's wait ends after a silence (from its connect) of
 *   max(VS_NULL_RTTS x the port's quickest connect, the time that probe
 *       took from its connect to its reply) + VS_NULL_MARGIN.
 * Why that is safe: a service that greets, even late, greets on every
 * connection before it answers anything, so the later probe's reply came
 * no sooner after its connect than the greeting would after the NULL
 * probe's connect (which was made first); the margin absorbs scheduling
 * and delivery jitter between the two connections. A server that greets
 * some connections and not others, or later on the first one, can still
 * be cut short: that is the price of the option, which is why it is one. */
#define VS_NULL_RTTS 4
#define VS_NULL_MARGIN (200 * MS)
#define VS_MATCH_SLICE 64 /* match lines tried between two looks at the clock */
#define VS_MATCH_BUDGET_NS 500000ull /* matching per loop pass, at most about */

enum vs_end { R_OK, R_WRAPPED, R_FAILED };

struct vs_port;

/* One probe on its own connection. */
struct vs_run {
  struct vs_port *pt; /* NULL once orphaned: only its handles' closing remains */
  int32_t probe;
  tw_tcp *tcp;
  tw_udp *udp;
  tw_timer *timer;     /* UDP: the wait; TCP NULL probe (adaptive): the cut */
  struct tls_conn *tls; /* inside the TLS tunnel: the connection's TLS */
  int hs_done;          /* its handshake is over */
  int handles; /* open libtrawl handles */
  int running;
  enum vs_end end;
  int timed_out;
  uint64_t launched, start, deadline;
  size_t len, total;
  uint8_t buf[VS_RESP_MAX];
  int got_soft, got_hard;
  struct vm_result soft, hard;
  /* matching, a slice at a time (the response's first mlen bytes) */
  int queued, end_wanted;
  enum vs_end end_kind;
  size_t mlen;
  struct vm_walk walk;
  struct vs_run *mprev, *mnext;
};

struct vs_port {
  struct vs *v;
  struct vs_port *prev, *next;   /* all ports of the engine */
  struct vs_port *wait_next;     /* ports waiting for a connection slot */
  int waiting, started;
  struct sockaddr_storage addr;
  enum scan_proto proto;
  uint16_t port;
  void *item;
  struct vp_cursor commit, pre; /* Nmap's order; its state before `want` */
  int32_t want;
  struct vs_run **runs; /* by probe index */
  unsigned inflight;
  int wrap_possible;
  uint64_t rtt; /* the quickest connect seen to this port, 0 if none yet */
  uint64_t reply; /* a non-NULL probe's connect-to-reply time, 0 if none yet */
  int ssl;        /* probing inside the TLS tunnel */
  int tls_ok;     /* ... and a handshake has completed */
  struct vm_port ssl_match; /* the hard "ssl" match that opened the tunnel */
  struct vs_result res;
};

struct vs {
  tw_loop *loop;
  const struct sp_db *db;
  struct vs_opts o;
  vs_done_cb cb;
  void *ud;
  struct vm_matcher *m;
  tw_timer *kick, *mtick;
  int handles;
  struct vs_port *ports, *wait_head, *wait_tail;
  struct vs_run *mq_head, *mq_tail; /* runs with a response to match */
  struct ssl_ctx_st *tls_ctx;       /* the engine's TLS client context, made on first use */
  unsigned inflight;
  size_t pending;
  int closing;
};

static void vs_advance(struct vs_port *pt);
static void vs_kick(tw_timer *t, int status);
static void vs_match_tick(tw_timer *t, int status);
static void vs_udp_timeout(tw_timer *t, int status);
static void vs_null_cut(tw_timer *t, int status);

/* ---- trace -------------------------------------------------------------------- */

static const char *vs_addr(const struct vs_port *pt, char *buf, size_t len) {
  const void *a = pt->addr.ss_family == AF_INET
                      ? (const void *)&((const struct sockaddr_in *)&pt->addr)->sin_addr
                      : (const void *)&((const struct sockaddr_in6 *)&pt->addr)->sin6_addr;
  if (inet_ntop(pt->addr.ss_family, a, buf, (socklen_t)len) == NULL) snprintf(buf, len, "?");
  return buf;
}

__attribute__((format(printf, 2, 3))) static void vs_trace(struct vs_port *pt, const char *fmt,
                                                           ...) {
  struct vs *v = pt->v;
  if (v->o.trace == NULL) return;
  char msg[400], line[512], a[INET6_ADDRSTRLEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(line, sizeof line, "Service scan %s:%u/%s: %s", vs_addr(pt, a, sizeof a), pt->port,
           proto_name(pt->proto), msg);
  v->o.trace(v->o.trace_ud, line);
}

/* ---- runs ----------------------------------------------------------------------- */

static void vs_run_free(struct vs_run *r) {
  tls_conn_free(r->tls);
  free(r);
}

static void vs_run_handle_closed(void *handle) {
  struct vs_run *r = tw_data(handle);
  if (--r->handles == 0 && r->pt == NULL) vs_run_free(r);
}

static void vs_run_close(struct vs_run *r) {
  if (r->tcp && !tw_is_closing(r->tcp)) tw_close(r->tcp, vs_run_handle_closed);
  if (r->udp && !tw_is_closing(r->udp)) tw_close(r->udp, vs_run_handle_closed);
  if (r->timer && !tw_is_closing(r->timer)) tw_close(r->timer, vs_run_handle_closed);
}

/* The run is over: release its connection and let the port move on. */
static void vs_run_over(struct vs_run *r, enum vs_end end) {
  struct vs_port *pt = r->pt;
  if (!r->running) return;
  r->running = 0;
  r->end = end;
  vs_run_close(r);
  pt->inflight--;
  pt->v->inflight--;
  const struct sp_probe *p = &pt->v->db->probes[r->probe];
  vs_trace(pt, "probe %s ended (%s, %zu bytes%s)", p->name,
           end == R_FAILED ? "failed" : end == R_WRAPPED ? "closed at once" : "done", r->total,
           r->timed_out ? ", waited totalwaitms" : "");
  struct vs *v = pt->v;
  vs_advance(pt); /* may finish and free the port: pt and r are not used after */
  if (!v->closing && v->wait_head && !tw_is_active(v->kick)) tw_timer_start(v->kick, vs_kick, 0, 0);
}

/* ---- matching, in slices ---------------------------------------------------------
 * A response is matched off the read path, VS_MATCH_SLICE lines at a time,
 * about VS_MATCH_BUDGET_NS per loop pass over all runs in turn, so that a
 * long fallback chain on a long response never holds the loop (one chain
 * on 4 KiB costs ~1-3 ms, see match.h). A run that ends (wait over, peer
 * closed, buffer full) while its response is still being matched ends once
 * that is done. */

static void vs_mq_unlink(struct vs *v, struct vs_run *r) {
  if (!r->queued) return;
  if (r->mprev)
    r->mprev->mnext = r->mnext;
  else
    v->mq_head = r->mnext;
  if (r->mnext)
    r->mnext->mprev = r->mprev;
  else
    v->mq_tail = r->mprev;
  r->mprev = r->mnext = NULL;
  r->queued = 0;
}

static void vs_mq_push(struct vs *v, struct vs_run *r) {
  r->mlen = r->len;
  r->walk = (struct vm_walk){0, 0};
  r->queued = 1;
  r->mnext = NULL;
  r->mprev = v->mq_tail;
  if (v->mq_tail)
    v->mq_tail->mnext = r;
  else
    v->mq_head = r;
  v->mq_tail = r;
  if (!tw_is_active(v->mtick)) tw_timer_start(v->mtick, vs_match_tick, 0, 0);
}

/* Ends the run now, or once its response has been matched. */
static void vs_run_end(struct vs_run *r, enum vs_end end) {
  if (!r->running || r->end_wanted) return;
  if (r->queued) {
    r->end_wanted = 1;
    r->end_kind = end;
    return;
  }
  vs_run_over(r, end);
}

/* The matching of r's first mlen bytes came to k/res. */
static void vs_matched(struct vs *v, struct vs_run *r, enum vm_kind k,
                       const struct vm_result *res) {
  vs_mq_unlink(v, r);
  if (k == VM_SOFT && !r->got_soft) {
    r->got_soft = 1;
    r->soft = *res;
  } else if (k == VM_HARD) {
    r->got_hard = 1;
    r->hard = *res;
    vs_run_over(r, R_OK);
    return;
  }
  if (r->len > r->mlen)
    vs_mq_push(v, r); /* more came meanwhile */
  else if (r->end_wanted)
    vs_run_over(r, r->end_kind);
}

static void vs_match_tick(tw_timer *t, int status) {
  struct vs *v = tw_data(t);
  if (status != 0 || v->closing) return;
  uint64_t t0 = tw_hrtime();
  while (v->mq_head && tw_hrtime() - t0 < VS_MATCH_BUDGET_NS) {
    struct vs_run *r = v->mq_head;
    struct vm_result res;
    enum vm_kind k =
        vm_match_step(v->m, v->db, r->probe, r->buf, r->mlen, &r->walk, VS_MATCH_SLICE, &res);
    if (k != VM_PENDING) {
      vs_matched(v, r, k, &res); /* may end the run, the port, others */
    } else if (r->mnext) {    /* its turn is over: to the back */
      vs_mq_unlink(v, r);
      r->queued = 1;
      r->mprev = v->mq_tail;
      v->mq_tail->mnext = r;
      v->mq_tail = r;
    }
  }
  if (v->mq_head && !v->closing && !tw_is_active(v->mtick))
    tw_timer_start(v->mtick, vs_match_tick, 0, 0);
}

/* Adaptive waits: the NULL probe's cut (see VS_NULL_RTTS), started once
 * both its connect time and a later probe's reply time are known. */
static void vs_null_arm(struct vs_port *pt) {
  struct vs *v = pt->v;
  if (!v->o.adaptive_waits || pt->reply == 0 || pt->proto != PROTO_TCP) return;
  struct vs_run *n = v->db->null_probe >= 0 ? pt->runs[v->db->null_probe] : NULL;
  if (n == NULL || !n->running || n->end_wanted || n->total > 0 || n->start == 0 ||
      n->timer == NULL || tw_is_active(n->timer))
    return;
  uint64_t quiet = pt->rtt * VS_NULL_RTTS;
  if (pt->reply > quiet) quiet = pt->reply;
  quiet += VS_NULL_MARGIN;
  uint64_t now = tw_now(v->loop), at = n->start + quiet;
  if (at >= n->deadline) return; /* no sooner than the wait itself */
  tw_timer_start(n->timer, vs_null_cut, at > now ? at - now : 0, 0);
}

static void vs_null_cut(tw_timer *t, int status) {
  struct vs_run *r = tw_data(t);
  if (r->pt == NULL || !r->running || r->end_wanted || status != 0 || r->total > 0) return;
  vs_trace(r->pt, "probe NULL: silent while a later probe was answered; wait ended");
  r->timed_out = 1;
  vs_run_end(r, R_OK);
}

/* A probe's first reply bytes: on a later probe than NULL, the time they
 * took (from its connect) may end the NULL probe's wait. */
static void vs_replied(struct vs_run *r) {
  struct vs_port *pt = r->pt;
  if (r->probe == pt->v->db->null_probe || r->start == 0 || pt->reply != 0) return;
  uint64_t t = tw_now(pt->v->loop) - r->start;
  pt->reply = t ? t : 1;
  vs_null_arm(pt);
}

/* New bytes: keep them (bounded) and have them matched. Returns 1 when the
 * buffer is full (the run should end). */
static int vs_run_data(struct vs_run *r, const char *buf, size_t n) {
  struct vs *v = r->pt->v;
  if (r->total == 0 && n > 0) vs_replied(r);
  r->total += n;
  size_t room = VS_RESP_MAX - r->len, take = n < room ? n : room;
  memcpy(r->buf + r->len, buf, take);
  r->len += take;
  if (take > 0 && !r->queued) vs_mq_push(v, r);
  return r->len >= VS_RESP_MAX;
}

static uint64_t vs_left(const struct vs_run *r) {
  uint64_t now = tw_now(tw_handle_loop(r->tcp ? (void *)r->tcp : (void *)r->udp));
  return r->deadline > now ? r->deadline - now : 0;
}

static void vs_tcp_read(tw_tcp *t, int status, const char *buf, size_t len);

/* How long to wait for more of a reply that has begun: with adaptive
 * waits, VS_QUIET_RTTS round trips (at least VS_QUIET_MIN) of silence end
 * it; otherwise, as Nmap, the probe's whole totalwaitms. */
static uint64_t vs_wait_more(const struct vs_run *r, uint64_t left) {
  const struct vs_port *pt = r->pt;
  if (!pt->v->o.adaptive_waits || r->total == 0) return left;
  uint64_t q = pt->rtt * VS_QUIET_RTTS;
  if (q < VS_QUIET_MIN) q = VS_QUIET_MIN;
  return q < left ? q : left;
}

static void vs_tcp_next_read(struct vs_run *r) {
  uint64_t left = vs_left(r);
  if (left == 0) {
    r->timed_out = 1;
    vs_run_end(r, R_OK);
    return;
  }
  if (tw_tcp_read_some(r->tcp, VS_RESP_MAX, vs_wait_more(r, left), vs_tcp_read) != 0)
    vs_run_end(r, R_FAILED);
}

/* Sends the ciphertext the TLS connection has produced. 0 or < 0. */
static int vs_tls_flush(struct vs_run *r) {
  char buf[4096];
  while (tls_conn_out_pending(r->tls) > 0) {
    int n = tls_conn_take(r->tls, buf, sizeof buf);
    if (n <= 0) return -EPROTO;
    int rc = tw_tcp_write(r->tcp, buf, (size_t)n, NULL);
    if (rc != 0) return rc;
  }
  return 0;
}

/* Inside the tunnel: ciphertext in, handshake on, then the probe's
 * payload out and the plaintext reply into the run. Returns 0 to go on,
 * 1 when the run has ended, or TW_EOF / < 0 for what the TLS layer says
 * of the connection (the peer's close_notify, a broken record). */
static int vs_tls_in(struct vs_run *r, const char *buf, size_t len) {
  struct vs_port *pt = r->pt;
  const struct sp_probe *p = &pt->v->db->probes[r->probe];
  if (len > 0 && tls_conn_feed(r->tls, buf, len) != 0) return -ENOMEM;
  if (!r->hs_done) {
    int h = tls_conn_handshake(r->tls);
    if (vs_tls_flush(r) != 0 || h < 0) {
      if (h < 0) vs_trace(pt, "probe %s: %s", p->name, tls_conn_error(r->tls));
      vs_run_end(r, R_FAILED);
      return 1;
    }
    if (h == 0) return 0;
    r->hs_done = 1;
    pt->tls_ok = 1;
    vs_trace(pt, "probe %s: TLS handshake done (%s)", p->name, tls_conn_version(r->tls));
    if (p->payload_len && (tls_conn_write(r->tls, p->payload, p->payload_len) != 0 ||
                           vs_tls_flush(r) != 0)) {
      vs_run_end(r, R_OK);
      return 1;
    }
  }
  char plain[4096];
  for (;;) {
    int n = tls_conn_read(r->tls, plain, sizeof plain);
    if (n == 0) break;
    if (n < 0) return n;
    if (vs_run_data(r, plain, (size_t)n)) {
      vs_run_end(r, R_OK);
      return 1;
    }
  }
  if (vs_tls_flush(r) != 0) return -EPIPE;
  return 0;
}

static void vs_tcp_read(tw_tcp *t, int status, const char *buf, size_t len) {
  struct vs_run *r = tw_data(t);
  if (r->pt == NULL || !r->running || r->end_wanted || status == -ECANCELED) return;
  const struct sp_probe *p = &r->pt->v->db->probes[r->probe];
  if (r->tls) {
    int rc = vs_tls_in(r, buf, len);
    if (rc == 1) return;
    if (rc < 0 && status == 0) status = rc; /* the TLS layer ended it */
    if (!r->hs_done && status != 0) {
      /* a handshake that failed or stalled for the whole wait: the
       * tunnel cannot be had */
      vs_trace(r->pt, "probe %s: TLS handshake %s", p->name,
               status == -ETIMEDOUT ? "stalled" : "failed");
      vs_run_end(r, R_FAILED);
      return;
    }
  } else if (len > 0 && vs_run_data(r, buf, len)) {
    vs_run_end(r, R_OK);
    return;
  }
  if (status == 0) {
    vs_tcp_next_read(r);
  } else if (status == -ETIMEDOUT) {
    r->timed_out = 1;
    vs_run_end(r, R_OK);
  } else if (status == TW_EOF || status == -ECONNRESET || status == -ECONNREFUSED ||
             status == -ECONNABORTED || status == -EPIPE || (r->tls && status == -EPROTO)) {
    /* closed on us: on the NULL probe, at once and silently, it is
     * tcpwrapped (Nmap); otherwise the service did not like the probe */
    uint64_t used = tw_now(tw_handle_loop(t)) - r->start;
    int wrapped = r->probe == r->pt->v->db->null_probe && r->total == 0 &&
                  used < (uint64_t)p->tcpwrappedms * MS;
    vs_run_end(r, wrapped ? R_WRAPPED : R_OK);
  } else {
    vs_run_end(r, R_FAILED);
  }
}

static void vs_tcp_connected(tw_tcp *t, int status) {
  struct vs_run *r = tw_data(t);
  if (r->pt == NULL || !r->running || status == -ECANCELED) return;
  if (status != 0) {
    vs_run_end(r, R_FAILED);
    return;
  }
  struct vs_port *pt = r->pt;
  const struct sp_probe *p = &pt->v->db->probes[r->probe];
  r->start = tw_now(tw_handle_loop(t));
  uint64_t rtt = r->start - r->launched;
  if (pt->rtt == 0 || rtt < pt->rtt) pt->rtt = rtt ? rtt : 1;
  r->deadline = r->start + (uint64_t)p->totalwaitms * MS;
  if (pt->ssl) {
    /* the handshake first, bounded by the probe's wait; the payload
     * follows it (vs_tls_in) */
    char err[128];
    r->tls = tls_conn_new(pt->v->tls_ctx, NULL, err, sizeof err);
    if (r->tls == NULL) {
      vs_trace(pt, "probe %s: %s", p->name, err);
      vs_run_end(r, R_FAILED);
      return;
    }
    if (vs_tls_in(r, NULL, 0) != 0) {
      if (r->running && !r->end_wanted) vs_run_end(r, R_FAILED);
      return;
    }
  } else if (p->payload_len && tw_tcp_write(t, p->payload, p->payload_len, NULL) != 0) {
    vs_run_end(r, R_OK);
    return;
  }
  vs_null_arm(pt);
  vs_tcp_next_read(r);
}

static void vs_udp_recv(tw_udp *u, int status, const char *buf, size_t len,
                        const struct sockaddr *from) {
  struct vs_run *r = tw_data(u);
  if (r->pt == NULL || !r->running || r->end_wanted || status == -ECANCELED) return;
  if (status < 0) { /* an ICMP error: the probe is over */
    vs_run_end(r, R_OK);
    return;
  }
  if (vs_run_data(r, buf, len)) {
    vs_run_end(r, R_OK);
    return;
  }
  /* adaptive: a reply has begun; a quiet spell now ends it */
  uint64_t left = vs_left(r);
  if (r->pt->v->o.adaptive_waits && left > 0)
    tw_timer_start(r->timer, vs_udp_timeout, vs_wait_more(r, left), 0);
}

static void vs_udp_timeout(tw_timer *t, int status) {
  struct vs_run *r = tw_data(t);
  if (r->pt == NULL || !r->running || r->end_wanted || status != 0) return;
  r->timed_out = 1;
  vs_run_end(r, R_OK);
}

/* Starts probe i on a new connection. 0 or a negative errno. */
static int vs_launch(struct vs_port *pt, int32_t i) {
  struct vs *v = pt->v;
  const struct sp_probe *p = &v->db->probes[i];
  struct vs_run *r = calloc(1, sizeof *r);
  if (r == NULL) return -ENOMEM;
  r->pt = pt;
  r->probe = i;
  r->running = 1;
  r->launched = tw_now(v->loop);
  int rc;
  if (pt->proto == PROTO_TCP) {
    if ((rc = tw_tcp_new(v->loop, &r->tcp, r)) != 0) goto fail;
    r->handles++;
    if (v->o.adaptive_waits && i == v->db->null_probe) { /* for its cut */
      if ((rc = tw_timer_new(v->loop, &r->timer, r)) != 0) goto fail;
      r->handles++;
    }
    rc = tw_tcp_connect(r->tcp, (const struct sockaddr *)&pt->addr, v->o.connect_timeout_ns,
                        vs_tcp_connected);
  } else {
    if ((rc = tw_udp_new(v->loop, &r->udp, pt->addr.ss_family, r)) != 0) goto fail;
    r->handles++;
    if ((rc = tw_timer_new(v->loop, &r->timer, r)) != 0) goto fail;
    r->handles++;
    r->start = tw_now(v->loop);
    r->deadline = r->start + (uint64_t)p->totalwaitms * MS;
    if ((rc = tw_udp_connect(r->udp, (const struct sockaddr *)&pt->addr)) == 0 &&
        (rc = tw_udp_recv_start(r->udp, vs_udp_recv)) == 0 &&
        (rc = tw_udp_send(r->udp, p->payload, p->payload_len, NULL, NULL)) == 0)
      rc = tw_timer_start(r->timer, vs_udp_timeout, (uint64_t)p->totalwaitms * MS, 0);
  }
  if (rc != 0) goto fail;
  pt->runs[i] = r;
  pt->inflight++;
  pt->res.probes_sent++;
  v->inflight++;
  vs_trace(pt, "sending probe %s", p->name);
  return 0;
fail:
  r->pt = NULL;
  if (r->handles)
    vs_run_close(r);
  else
    vs_run_free(r);
  return rc;
}

/* ---- ports ---------------------------------------------------------------------- */

static void vs_wait(struct vs_port *pt) {
  struct vs *v = pt->v;
  if (pt->waiting) return;
  pt->waiting = 1;
  pt->wait_next = NULL;
  if (v->wait_tail)
    v->wait_tail->wait_next = pt;
  else
    v->wait_head = pt;
  v->wait_tail = pt;
}

static void vs_unwait(struct vs_port *pt) {
  struct vs *v = pt->v;
  if (!pt->waiting) return;
  struct vs_port **pp = &v->wait_head, *prev = NULL;
  while (*pp && *pp != pt) {
    prev = *pp;
    pp = &(*pp)->wait_next;
  }
  if (*pp) *pp = pt->wait_next;
  if (v->wait_tail == pt) v->wait_tail = prev;
  pt->waiting = 0;
}

/* Forgets a run: committed, or no longer in the sequence. A connection
 * still open is closed; the run's memory goes with its last handle. */
static void vs_drop(struct vs_port *pt, int32_t i) {
  struct vs *v = pt->v;
  struct vs_run *r = pt->runs[i];
  pt->runs[i] = NULL;
  vs_mq_unlink(v, r);
  if (r->running) {
    r->running = 0;
    pt->inflight--;
    v->inflight--;
    if (!v->closing) vs_trace(pt, "probe %s dropped (not needed)", v->db->probes[i].name);
  }
  r->pt = NULL;
  if (r->handles == 0)
    vs_run_free(r);
  else
    vs_run_close(r);
}

/* Orphans the port's runs (their connections close on their own) and
 * frees it. */
static void vs_port_free(struct vs_port *pt) {
  struct vs *v = pt->v;
  vs_unwait(pt);
  for (size_t i = 0; i < v->db->nprobes; i++)
    if (pt->runs[i]) vs_drop(pt, (int32_t)i);
  free(pt->runs);
  if (pt->prev)
    pt->prev->next = pt->next;
  else
    v->ports = pt->next;
  if (pt->next) pt->next->prev = pt->prev;
  free(pt);
}

/* A hard "ssl": Nmap's tunnel. The port's probes start over, each on a
 * connection that shakes hands first, in the sslports order, NULL first. */
static int vs_tls_restart(struct vs_port *pt) {
  struct vs *v = pt->v;
  if (v->tls_ctx == NULL && (v->tls_ctx = tls_client_ctx_new()) == NULL) return -ENOMEM;
  for (size_t i = 0; i < v->db->nprobes; i++)
    if (pt->runs[i]) vs_drop(pt, (int32_t)i);
  pt->ssl = 1;
  pt->ssl_match = pt->res.match;
  memset(&pt->res.match, 0, sizeof pt->res.match);
  pt->res.nfp = 0;
  pt->want = -1;
  pt->wrap_possible = 1;
  pt->reply = 0;
  vp_cursor_init(&pt->commit, v->db, pt->proto, pt->port, 1, v->o.intensity, 1);
  pt->pre = pt->commit;
  vs_trace(pt, "hard match: ssl; probing again inside TLS");
  vs_advance(pt);
  return 0;
}

static void vs_finish(struct vs_port *pt, enum vs_state state) {
  struct vs *v = pt->v;
  if (state == VS_HARD && !pt->ssl && pt->proto == PROTO_TCP &&
      strcmp(pt->res.match.service, "ssl") == 0 && vs_tls_restart(pt) == 0)
    return;
  if (pt->ssl && !(state == VS_HARD || state == VS_SOFT || (state == VS_NOMATCH && pt->tls_ok))) {
    /* the tunnel gave nothing (no handshake, or the connections failed):
     * the port stays the "ssl" it was */
    vs_trace(pt, "inside TLS: %s; staying ssl", pt->tls_ok ? "no answer" : "no handshake");
    pt->ssl = 0;
    pt->res.match = pt->ssl_match;
    pt->res.nfp = 0;
    state = VS_HARD;
  }
  /* Nmap: a TCP port that never sent a byte nor let a wait run out is
   * tcpwrapped, whatever else ended it */
  if (pt->proto == PROTO_TCP && pt->wrap_possible && state != VS_EXCLUDED && state != VS_HARD &&
      state != VS_SOFT && !pt->ssl)
    state = VS_TCPWRAPPED;
  pt->res.state = state;
  pt->res.tls_needed = state == VS_HARD && strcmp(pt->res.match.service, "ssl") == 0;
  pt->res.ssl = pt->ssl;
  if (state == VS_HARD || state == VS_SOFT)
    vs_trace(pt, "%s match: %s", state == VS_HARD ? "hard" : "soft", pt->res.match.service);
  else
    vs_trace(pt, "finished: %s",
             state == VS_NOMATCH ? "no match" : state == VS_TCPWRAPPED ? "tcpwrapped"
                                            : state == VS_EXCLUDED     ? "excluded"
                                                                       : "incomplete");
  v->pending--;
  v->cb(v->ud, pt->item, &pt->res);
  vs_port_free(pt);
}

static void vs_keep_fp(struct vs_port *pt, const struct vs_run *r) {
  if (r->len == 0 || pt->res.nfp == VS_FP_MAX) return;
  struct vs_fp_piece *f = &pt->res.fp[pt->res.nfp++];
  f->probe = pt->v->db->probes[r->probe].name;
  f->total = r->total;
  f->len = r->len < VS_FP_BYTES ? r->len : VS_FP_BYTES;
  memcpy(f->data, r->buf, f->len);
}

/* Commits what can be committed in Nmap's order, then starts the probes
 * the order will want next. */
static void vs_advance(struct vs_port *pt) {
  struct vs *v = pt->v;
  if (v->closing) return;
  for (;;) {
    const char *soft = pt->res.match.kind == VM_SOFT ? pt->res.match.service : NULL;
    if (pt->want < 0) {
      pt->pre = pt->commit;
      pt->want = vp_cursor_next(&pt->commit, soft);
      if (pt->want < 0) {
        vs_finish(pt, soft ? VS_SOFT : VS_NOMATCH);
        return;
      }
    }
    struct vs_run *r = pt->runs[pt->want];
    if (r == NULL || r->running) break;
    if (r->end == R_FAILED) {
      vs_finish(pt, VS_INCOMPLETE);
      return;
    }
    if (r->end == R_WRAPPED) {
      vs_finish(pt, VS_TCPWRAPPED);
      return;
    }
    if (r->total > 0 || r->timed_out) pt->wrap_possible = 0;
    if (r->got_soft) vm_port_take(&pt->res.match, VM_SOFT, &r->soft);
    if (r->got_hard && vm_port_take(&pt->res.match, VM_HARD, &r->hard)) {
      vs_finish(pt, VS_HARD);
      return;
    }
    vs_keep_fp(pt, r);
    vs_drop(pt, pt->want);
    pt->want = -1;
  }
  /* Speculation: a window of the sequence as it now stands, from `want`
   * on. Runs outside it will never be committed (a softmatch dropped them)
   * or are far ahead: they go. Its probes not yet run are started, within
   * the caps; what waits uncommitted is bounded by the window. */
  const char *soft = pt->res.match.kind == VM_SOFT ? pt->res.match.service : NULL;
  struct vp_cursor la = pt->pre;
  int32_t win[VS_WINDOW_MAX];
  /* UDP probes are datagrams of their own, and a UDP service ignores what
   * it does not speak: most of a UDP port's probes are waited out in
   * silence, so it runs more of them at once than a TCP port (which
   * would hold that many connections to the service). */
  unsigned per = pt->proto == PROTO_UDP ? VS_UDP_PER_PORT : v->o.per_port;
  unsigned nw = 0, wmax = 2 * per < VS_WINDOW_MAX ? 2 * per : VS_WINDOW_MAX;
  while (nw < wmax) {
    int32_t i = vp_cursor_next(&la, soft);
    if (i < 0) break;
    win[nw++] = i;
  }
  for (size_t i = 0; i < v->db->nprobes; i++) {
    if (pt->runs[i] == NULL) continue;
    unsigned k = 0;
    while (k < nw && win[k] != (int32_t)i) k++;
    if (k == nw) vs_drop(pt, (int32_t)i);
  }
  /* Fair share: while more ports are pending than the connections allow
   * at per_port each, a port runs ahead on fewer (at least 2: its next
   * probe and one more), so that the slots go to ports not yet started
   * rather than to far-ahead probes of a few (the NULL probe's wait is
   * what a port mostly costs; many ports waiting it out together is what
   * makes a wide scan fast). */
  unsigned cap = per;
  if (v->pending > 0 && (size_t)cap * v->pending > v->o.max_conns) {
    size_t share = v->o.max_conns / v->pending;
    cap = share < 2 ? 2 : (unsigned)share;
    if (cap > per) cap = per;
  }
  for (unsigned k = 0; k < nw && pt->inflight < cap; k++) {
    int32_t i = win[k];
    if (pt->runs[i]) continue;
    if (v->inflight >= v->o.max_conns) {
      vs_wait(pt);
      break;
    }
    if (vs_launch(pt, i) != 0) {
      if (pt->want == i) {
        vs_finish(pt, VS_INCOMPLETE);
        return;
      }
      break;
    }
  }
}

/* Starts new ports and those waiting for a slot (runs from the loop). */
static void vs_kick(tw_timer *t, int status) {
  struct vs *v = tw_data(t);
  if (status != 0 || v->closing) return;
  for (struct vs_port *pt = v->ports, *next; pt; pt = next) {
    next = pt->next;
    if (pt->started) continue;
    pt->started = 1;
    if (!v->o.allports && sp_excluded(v->db, pt->proto, pt->port)) {
      vs_finish(pt, VS_EXCLUDED);
      continue;
    }
    vs_advance(pt);
  }
  while (v->wait_head && v->inflight < v->o.max_conns) {
    struct vs_port *pt = v->wait_head;
    vs_unwait(pt);
    vs_advance(pt);
  }
}

/* ---- the engine ----------------------------------------------------------------------- */

int vs_new(struct vs **out, tw_loop *loop, const struct sp_db *db, const struct vs_opts *o,
           vs_done_cb cb, void *ud) {
  *out = NULL;
  if (loop == NULL || db == NULL || cb == NULL) return -EINVAL;
  struct vs *v = calloc(1, sizeof *v);
  if (v == NULL) return -ENOMEM;
  v->loop = loop;
  v->db = db;
  v->cb = cb;
  v->ud = ud;
  if (o) v->o = *o;
  if (o == NULL) v->o.intensity = VP_INTENSITY_DEFAULT;
  if (v->o.max_conns == 0) v->o.max_conns = 64;
  if (v->o.per_port == 0) v->o.per_port = 4;
  if (v->o.connect_timeout_ns == 0) v->o.connect_timeout_ns = VS_DEFAULT_CONNECT_NS;
  int rc = vm_matcher_new(&v->m, db);
  if (rc == 0 && (rc = tw_timer_new(loop, &v->kick, v)) == 0) v->handles++;
  if (rc == 0 && (rc = tw_timer_new(loop, &v->mtick, v)) == 0) v->handles++;
  if (rc != 0) {
    vs_free(v);
    return rc;
  }
  *out = v;
  return 0;
}

int vs_add(struct vs *v, const struct sockaddr *addr, enum scan_proto proto, void *item) {
  if (v == NULL || addr == NULL || v->closing ||
      (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
      (proto != PROTO_TCP && proto != PROTO_UDP))
    return -EINVAL;
  struct vs_port *pt = calloc(1, sizeof *pt);
  if (pt == NULL || (pt->runs = calloc(v->db->nprobes ? v->db->nprobes : 1, sizeof *pt->runs)) == NULL) {
    free(pt);
    return -ENOMEM;
  }
  pt->v = v;
  memcpy(&pt->addr, addr, addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                     : sizeof(struct sockaddr_in6));
  pt->port = ntohs(addr->sa_family == AF_INET ? ((const struct sockaddr_in *)addr)->sin_port
                                              : ((const struct sockaddr_in6 *)addr)->sin6_port);
  pt->proto = proto;
  pt->item = item;
  pt->want = -1;
  pt->wrap_possible = 1;
  vp_cursor_init(&pt->commit, v->db, proto, pt->port, 0, v->o.intensity, 1);
  pt->pre = pt->commit;
  pt->next = v->ports;
  if (v->ports) v->ports->prev = pt;
  v->ports = pt;
  v->pending++;
  if (!tw_is_active(v->kick)) tw_timer_start(v->kick, vs_kick, 0, 0);
  return 0;
}

size_t vs_pending(const struct vs *v) { return v ? v->pending : 0; }

static void vs_free_engine(void *handle) {
  struct vs *v = tw_data(handle);
  if (--v->handles > 0) return;
  vm_matcher_free(v->m);
  tls_client_ctx_free(v->tls_ctx);
  free(v);
}

void vs_free(struct vs *v) {
  if (v == NULL) return;
  v->closing = 1;
  while (v->ports) vs_port_free(v->ports);
  if (v->handles == 0) {
    vm_matcher_free(v->m);
    tls_client_ctx_free(v->tls_ctx);
    free(v);
    return;
  }
  if (v->kick) tw_close(v->kick, vs_free_engine);
  if (v->mtick) tw_close(v->mtick, vs_free_engine);
}
