/* test_dispatch.c: the packet dispatcher fed with hand-built frames (no
 * network): the right waiter among 100,000 is woken, shapes combine,
 * identical keys all hear, once / timeout / cancel / loop-close semantics,
 * ICMP errors reach the waiter of the probe they quote, and malformed
 * frames are counted and dropped. The batch entry point the capture uses
 * (tw__dispatch_batch) does exactly what one tw_dispatch_input per frame
 * does, also when callbacks add and end waiters in the middle of a batch. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <trawl/dispatch.h>
#include <trawl/trawl.h>

#include "dispatch-int.h"

#define MS 1000000ull

/* ---- frame building (just enough for the dispatcher's fields) ------------ */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

static tw_pkt_addr A(const char *s) {
  tw_pkt_addr a;
  memset(&a, 0, sizeof a);
  if (strchr(s, ':')) {
    a.family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
  } else {
    a.family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, s, a.b), 1);
  }
  return a;
}

static size_t eth(uint8_t *p, uint16_t type) {
  static const uint8_t dst[6] = {2, 0, 0, 0, 0, 1}, src[6] = {2, 0, 0, 0, 0, 2};
  memcpy(p, dst, 6);
  memcpy(p + 6, src, 6);
  put16(p + 12, type);
  return 14;
}

/* An IP header (v4 or v6 by the address family) for `plen` payload bytes. */
static size_t iphdr(uint8_t *p, const char *src, const char *dst, uint8_t proto,
                    size_t plen, uint8_t ttl) {
  tw_pkt_addr s = A(src), d = A(dst);
  if (s.family == AF_INET) {
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (uint16_t)(20 + plen));
    p[8] = ttl;
    p[9] = proto;
    memcpy(p + 12, s.b, 4);
    memcpy(p + 16, d.b, 4);
    return 20;
  }
  memset(p, 0, 40);
  p[0] = 0x60;
  put16(p + 4, (uint16_t)plen);
  p[6] = proto;
  p[7] = ttl;
  memcpy(p + 8, s.b, 16);
  memcpy(p + 24, d.b, 16);
  return 40;
}

static size_t tcphdr(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags) {
  memset(p, 0, 20);
  put16(p, sport);
  put16(p + 2, dport);
  put32(p + 4, 1000);
  p[12] = 5 << 4;
  p[13] = flags;
  return 20;
}

static size_t udphdr(uint8_t *p, uint16_t sport, uint16_t dport) {
  memset(p, 0, 8);
  put16(p, sport);
  put16(p + 2, dport);
  put16(p + 4, 8);
  return 8;
}

static size_t icmphdr(uint8_t *p, uint8_t type, uint8_t code, uint16_t id, uint16_t seq) {
  memset(p, 0, 8);
  p[0] = type;
  p[1] = code;
  put16(p + 4, id);
  put16(p + 6, seq);
  return 8;
}

typedef struct fr {
  uint8_t b[512];
  tw_frame f;
} fr;

static const tw_frame *done(fr *x, size_t len, int ifindex) {
  memset(&x->f, 0, sizeof x->f);
  x->f.data = x->b;
  x->f.caplen = x->f.len = (uint32_t)len;
  x->f.ifindex = ifindex;
  x->f.linktype = TW_LINK_ETH;
  return &x->f;
}

static const tw_frame *tcp_frame(fr *x, const char *src, const char *dst, uint16_t sport,
                                 uint16_t dport, int ifindex) {
  int v6 = strchr(src, ':') != NULL;
  size_t n = eth(x->b, v6 ? 0x86dd : 0x0800);
  n += iphdr(x->b + n, src, dst, IPPROTO_TCP, 20, 64);
  n += tcphdr(x->b + n, sport, dport, 0x12);
  return done(x, n, ifindex);
}

static const tw_frame *udp_frame(fr *x, const char *src, const char *dst, uint16_t sport,
                                 uint16_t dport) {
  int v6 = strchr(src, ':') != NULL;
  size_t n = eth(x->b, v6 ? 0x86dd : 0x0800);
  n += iphdr(x->b + n, src, dst, IPPROTO_UDP, 8, 64);
  n += udphdr(x->b + n, sport, dport);
  return done(x, n, 1);
}

/* An ICMP (v4) or ICMPv6 error from `router` to `to`, quoting a probe
 * qsrc:qsport -> qdst:qdport of protocol qproto (for ICMP probes the ports
 * are the echo id and sequence). */
static const tw_frame *icmp_error(fr *x, const char *router, const char *to, uint8_t type,
                                  uint8_t code, uint8_t qproto, const char *qsrc,
                                  const char *qdst, uint16_t qsport, uint16_t qdport) {
  int v6 = strchr(router, ':') != NULL;
  uint8_t q[80];
  size_t qn = iphdr(q, qsrc, qdst, qproto, 20, 1);
  if (qproto == IPPROTO_TCP) qn += tcphdr(q + qn, qsport, qdport, 0x02);
  else if (qproto == IPPROTO_UDP) qn += udphdr(q + qn, qsport, qdport);
  else qn += icmphdr(q + qn, v6 ? 128 : 8, 0, qsport, qdport);
  size_t n = eth(x->b, v6 ? 0x86dd : 0x0800);
  n += iphdr(x->b + n, router, to, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 8 + qn, 64);
  n += icmphdr(x->b + n, type, code, 0, 0);
  memcpy(x->b + n, q, qn);
  return done(x, n + qn, 1);
}

static const tw_frame *echo_reply(fr *x, const char *src, const char *dst, uint16_t id,
                                  uint16_t seq) {
  size_t n = eth(x->b, 0x0800);
  n += iphdr(x->b + n, src, dst, IPPROTO_ICMP, 8, 64);
  n += icmphdr(x->b + n, 0, 0, id, seq);
  return done(x, n, 1);
}

static const tw_frame *arp_frame(fr *x, uint16_t op, const char *spa, const char *tpa) {
  size_t n = eth(x->b, 0x0806);
  uint8_t *p = x->b + n;
  put16(p, 1);
  put16(p + 2, 0x0800);
  p[4] = 6;
  p[5] = 4;
  put16(p + 6, op);
  static const uint8_t sha[6] = {2, 0x74, 0x77, 1, 0, 0x0b};
  memcpy(p + 8, sha, 6);
  tw_pkt_addr s = A(spa), t = A(tpa);
  memcpy(p + 14, s.b, 4);
  memset(p + 18, 0, 6);
  memcpy(p + 24, t.b, 4);
  return done(x, n + 28, 1);
}

/* ---- recording callbacks ---------------------------------------------------- */

typedef struct rec {
  int packets, timeouts, cancels, others;
  int quoted;
  tw_pkt_addr src;
  uint8_t sha[6];
  uint64_t ended_at;
  tw_loop *loop;
} rec;

static void rec_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  rec *r = data;
  if (status == 0) {
    assert_non_null(rx);
    r->packets++;
    r->quoted = rx->quoted;
    r->src = rx->src;
    memcpy(r->sha, rx->arp_sha, 6);
  } else {
    assert_null(rx);
    if (status == -ETIMEDOUT) r->timeouts++;
    else if (status == -ECANCELED) r->cancels++;
    else r->others++;
    if (r->loop) r->ended_at = tw_hrtime();
  }
}

static tw_loop *new_loop(void) {
  tw_loop *loop = NULL;
  assert_int_equal(tw_loop_new(&loop), 0);
  return loop;
}

static tw_match tcp_answer(const char *from, const char *to, uint16_t sport, uint16_t dport) {
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST | TW_M_SPORT | TW_M_DPORT;
  m.proto = IPPROTO_TCP;
  m.src = A(from);
  m.dst = A(to);
  m.sport = sport;
  m.dport = dport;
  return m;
}

/* ---- tests ---------------------------------------------------------------- */

/* 100,000 waiters, each for a different (source, destination port); a packet
 * wakes exactly its own, whichever it is. */
#define NW 100000
static void test_right_one_of_100k(void **state) {
  tw_loop *loop = new_loop();
  rec *r = calloc(NW, sizeof *r);
  assert_non_null(r);
  char ip[32];
  for (int i = 0; i < NW; i++) {
    snprintf(ip, sizeof ip, "198.18.%d.%d", (i % 65536) >> 8, i % 256);
    tw_match m = tcp_answer(ip, "198.19.0.1", 80, (uint16_t)(40000 + i / 65536));
    assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, rec_cb, &r[i]), 0);
  }
  tw_dispatch_stats st;
  assert_int_equal(tw_dispatch_stats_get(loop, &st), 0);
  assert_int_equal(st.waiters, NW);
  assert_int_equal(st.shapes, 1);
  const int probe[] = {0, 1, 255, 256, 65535, 65536, 77777, NW - 1};
  fr x;
  for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
    int i = probe[k];
    snprintf(ip, sizeof ip, "198.18.%d.%d", (i % 65536) >> 8, i % 256);
    assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, ip, "198.19.0.1", 80,
                                                       (uint16_t)(40000 + i / 65536), 1)), 1);
  }
  /* Near misses wake nobody: wrong port, wrong destination, wrong source port. */
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.1.1", "198.19.0.1", 80, 40002, 1)), 0);
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.1.1", "198.19.0.2", 80, 40000, 1)), 0);
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.1.1", "198.19.0.1", 81, 40000, 1)), 0);
  assert_int_equal(tw_dispatch_input(loop, udp_frame(&x, "198.18.1.1", "198.19.0.1", 80, 40000)), 0);
  int total = 0;
  for (int i = 0; i < NW; i++) {
    int want = 0;
    for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++)
      if (probe[k] == i) want = 1;
    if (r[i].packets != want) fail_msg("waiter %d woken %d times, want %d", i, r[i].packets, want);
    total += r[i].packets;
  }
  assert_int_equal(total, (int)(sizeof probe / sizeof probe[0]));
  assert_int_equal(tw_dispatch_stats_get(loop, &st), 0);
  assert_int_equal(st.matched, sizeof probe / sizeof probe[0]);
  assert_int_equal(st.unmatched, 4);
  assert_int_equal(tw_loop_close(loop), 0);
  for (int i = 0; i < NW; i++) assert_int_equal(r[i].cancels, 1);
  free(r);
}

/* Waiters of different shapes all hear a packet that fits each of them;
 * identical keys all hear; a field the packet lacks never matches. */
static void test_shapes_combine(void **state) {
  tw_loop *loop = new_loop();
  rec r[8];
  memset(r, 0, sizeof r);
  tw_match any_tcp = {.fields = TW_M_PROTO, .proto = IPPROTO_TCP};
  tw_match from = {.fields = TW_M_SRC | TW_M_DPORT, .src = A("198.18.30.10"), .dport = 40000};
  tw_match on_if = {.fields = TW_M_IFINDEX, .ifindex = 7};
  tw_match exact = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
  tw_match all = {.fields = 0};
  tw_match icmp_t = {.fields = TW_M_ICMP_TYPE, .icmp_type = 0};
  assert_int_equal(tw_wait(loop, NULL, &any_tcp, 0, 0, rec_cb, &r[0]), 0);
  assert_int_equal(tw_wait(loop, NULL, &from, 0, 0, rec_cb, &r[1]), 0);
  assert_int_equal(tw_wait(loop, NULL, &on_if, 0, 0, rec_cb, &r[2]), 0);
  assert_int_equal(tw_wait(loop, NULL, &exact, 0, 0, rec_cb, &r[3]), 0);
  assert_int_equal(tw_wait(loop, NULL, &exact, 0, 0, rec_cb, &r[4]), 0);
  assert_int_equal(tw_wait(loop, NULL, &all, 0, 0, rec_cb, &r[5]), 0);
  assert_int_equal(tw_wait(loop, NULL, &icmp_t, 0, 0, rec_cb, &r[6]), 0);
  tw_dispatch_stats st;
  tw_dispatch_stats_get(loop, &st);
  assert_int_equal(st.shapes, 6);
  fr x;
  /* fits any_tcp, from, on_if, exact x2, all */
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 7)), 6);
  /* fits any_tcp, from, all (other interface, other source port) */
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 81, 40000, 1)), 3);
  /* UDP with the same ports: from, all */
  assert_int_equal(tw_dispatch_input(loop, udp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000)), 2);
  /* echo reply: icmp_t (type 0), all; a TCP packet has no ICMP type 0 */
  assert_int_equal(tw_dispatch_input(loop, echo_reply(&x, "198.18.30.10", "198.18.10.2", 1, 2)), 2);
  int want[7] = {2, 3, 1, 1, 1, 4, 1};
  for (int i = 0; i < 7; i++)
    if (r[i].packets != want[i]) fail_msg("waiter %d: %d packets, want %d", i, r[i].packets, want[i]);
  /* v6 addresses never match v4 ones, even with the same leading bytes. */
  tw_match v6 = {.fields = TW_M_SRC, .src = A("c612:1e0a::")}; /* 198.18.30.10 as bytes */
  rec r6 = {0};
  assert_int_equal(tw_wait(loop, NULL, &v6, 0, 0, rec_cb, &r6), 0);
  tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 7));
  assert_int_equal(r6.packets, 0);
  tw_dispatch_input(loop, tcp_frame(&x, "c612:1e0a::", "2001:db8::1", 80, 40000, 7));
  assert_int_equal(r6.packets, 1);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void test_bad_args(void **state) {
  tw_loop *loop = new_loop();
  rec r = {0};
  tw_match m = {.fields = TW_M_SRC}; /* no family */
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, rec_cb, &r), -EINVAL);
  m.fields = 1u << 20;
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, rec_cb, &r), -EINVAL);
  m.fields = TW_M_SRC | TW_M_DST;
  m.src = A("198.18.0.1");
  m.dst = A("2001:db8::1");
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, rec_cb, &r), -EINVAL);
  m.fields = 0;
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, NULL, &r), -EINVAL);
  assert_int_equal(tw_wait(loop, NULL, &m, 99, 0, rec_cb, &r), -EINVAL);
  assert_int_equal(tw_dispatch_input(NULL, NULL), -EINVAL);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(r.packets + r.timeouts + r.cancels, 0);
}

/* ONCE: the first packet ends the waiter; later ones find nobody. */
static void test_once(void **state) {
  tw_loop *loop = new_loop();
  rec r = {0}, multi = {0};
  tw_match m = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
  tw_req *req;
  assert_int_equal(tw_wait(loop, &req, &m, TW_WAIT_ONCE, 0, rec_cb, &r), 0);
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, rec_cb, &multi), 0);
  fr x;
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1)), 2);
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1)), 1);
  assert_int_equal(r.packets, 1);
  assert_int_equal(multi.packets, 2);
  tw_dispatch_stats st;
  tw_dispatch_stats_get(loop, &st);
  assert_int_equal(st.waiters, 1);
  assert_int_equal(tw_loop_close(loop), 0);
  /* The once waiter had ended: loop close does not call it again. */
  assert_int_equal(r.cancels, 0);
  assert_int_equal(multi.cancels, 1);
}

/* Timeouts: -ETIMEDOUT once, not before the deadline; packets before it
 * are delivered; a once waiter that got its packet never times out. */
static void test_timeout(void **state) {
  tw_loop *loop = new_loop();
  rec a = {.loop = loop}, b = {.loop = loop}, c = {.loop = loop}, d = {.loop = loop};
  tw_match m = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
  uint64_t t0 = tw_hrtime();
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 30 * MS, rec_cb, &a), 0);
  assert_int_equal(tw_wait(loop, NULL, &m, TW_WAIT_ONCE, 10 * MS, rec_cb, &b), 0);
  tw_match other = tcp_answer("198.18.30.11", "198.18.10.2", 80, 40000);
  assert_int_equal(tw_wait(loop, NULL, &other, TW_WAIT_ONCE, 10 * MS, rec_cb, &c), 0);
  assert_int_equal(tw_wait(loop, NULL, &other, 0, 20 * MS, rec_cb, &d), 0);
  fr x;
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1)), 2);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(a.packets, 1);
  assert_int_equal(a.timeouts, 1);
  assert_int_equal(b.packets, 1);
  assert_int_equal(b.timeouts, 0);
  assert_int_equal(c.timeouts, 1);
  assert_int_equal(d.timeouts, 1);
  assert_true(a.ended_at - t0 >= 30 * MS);
  assert_true(c.ended_at - t0 >= 10 * MS);
  assert_true(d.ended_at - t0 >= 20 * MS);
  /* ordered by deadline */
  assert_true(c.ended_at <= d.ended_at && d.ended_at <= a.ended_at);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(a.cancels + b.cancels + c.cancels + d.cancels, 0);
}

/* Many timeouts in random order all fire, in deadline order. */
static uint64_t last_end;
static int out_of_order;
static void order_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  uint64_t due = (uint64_t)(uintptr_t)data;
  assert_int_equal(status, -ETIMEDOUT);
  if (due < last_end) out_of_order++;
  last_end = due;
}
static void test_timeout_order(void **state) {
  tw_loop *loop = new_loop();
  tw_match m = {.fields = TW_M_PROTO, .proto = 99};
  srand(7);
  last_end = 0;
  out_of_order = 0;
  for (int i = 0; i < 2000; i++) {
    uint64_t t = (uint64_t)(rand() % 20 + 1) * MS;
    assert_int_equal(tw_wait(loop, NULL, &m, 0, t, order_cb, (void *)(uintptr_t)t), 0);
  }
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(out_of_order, 0);
  tw_dispatch_stats st;
  tw_dispatch_stats_get(loop, &st);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* 100,000 timeouts (a heap of several MiB), a third cancelled from random
 * places in it: the others all fire, in deadline order; the cancelled
 * ones hear -ECANCELED and nothing else. */
static int big_timeouts, big_cancels;
static void big_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  uint64_t due = (uint64_t)(uintptr_t)data;
  if (status == -ECANCELED) {
    big_cancels++;
    return;
  }
  assert_int_equal(status, -ETIMEDOUT);
  if (due < last_end) out_of_order++;
  last_end = due;
  big_timeouts++;
}
static void test_timeout_many(void **state) {
  enum { N = 100000 };
  tw_loop *loop = new_loop();
  tw_req **reqs = calloc(N, sizeof *reqs);
  assert_non_null(reqs);
  /* distinct keys: a run of N identical keys costs O(N) per insertion */
  tw_match m = {.fields = TW_M_SRC, .src = A("198.18.0.0")};
  srand(8);
  last_end = 0;
  out_of_order = big_timeouts = big_cancels = 0;
  for (int i = 0; i < N; i++) {
    uint64_t t = (uint64_t)(rand() % 30 + 1) * MS;
    m.src.b[2] = (uint8_t)(i >> 8);
    m.src.b[3] = (uint8_t)i;
    m.src.b[1] = (uint8_t)(18 + (i >> 16));
    assert_int_equal(tw_wait(loop, &reqs[i], &m, 0, t, big_cb, (void *)(uintptr_t)t), 0);
  }
  for (int i = 0; i < N; i += 3) assert_int_equal(tw_cancel(reqs[i]), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(out_of_order, 0);
  assert_int_equal(big_cancels, (N + 2) / 3);
  assert_int_equal(big_timeouts, N - (N + 2) / 3);
  tw_dispatch_stats st;
  tw_dispatch_stats_get(loop, &st);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(tw_loop_close(loop), 0);
  free(reqs);
}

/* Cancel: -ECANCELED once, on the next loop pass, never inside tw_cancel. */
static void test_cancel(void **state) {
  tw_loop *loop = new_loop();
  rec r = {0}, t = {0};
  tw_match m = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
  tw_req *req, *treq;
  assert_int_equal(tw_wait(loop, &req, &m, 0, 0, rec_cb, &r), 0);
  assert_int_equal(tw_wait(loop, &treq, &m, 0, 50 * MS, rec_cb, &t), 0);
  assert_int_equal(tw_cancel(req), 0);
  assert_int_equal(tw_cancel(req), -EALREADY);
  assert_int_equal(tw_cancel(treq), 0);
  assert_int_equal(r.cancels, 0);
  fr x;
  /* Cancelled waiters hear no more packets. */
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1)), 0);
  uint64_t t0 = tw_hrtime();
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_true(tw_hrtime() - t0 < 40 * MS); /* the cancelled timeout does not hold the loop */
  assert_int_equal(r.cancels, 1);
  assert_int_equal(t.cancels, 1);
  assert_int_equal(r.packets + t.packets + t.timeouts, 0);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(r.cancels, 1);
}

/* A callback cancels a waiter that was going to get the same packet, and
 * registers a new one with the same key (which must not get this packet). */
static tw_req *victim;
static rec newcomer;
static void killer_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  rec_cb(req, status, rx, data);
  if (status != 0) return;
  if (victim) {
    assert_int_equal(tw_cancel(victim), 0);
    victim = NULL;
    tw_match m = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
    assert_int_equal(tw_wait(((rec *)data)->loop, NULL, &m, 0, 0, rec_cb, &newcomer), 0);
  }
}
static void test_cancel_from_callback(void **state) {
  tw_loop *loop = new_loop();
  rec k = {.loop = loop}, v = {0};
  memset(&newcomer, 0, sizeof newcomer);
  tw_match m = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
  tw_match any = {.fields = TW_M_PROTO, .proto = IPPROTO_TCP};
  assert_int_equal(tw_wait(loop, NULL, &any, 0, 0, killer_cb, &k), 0);
  assert_int_equal(tw_wait(loop, &victim, &m, 0, 0, rec_cb, &v), 0);
  fr x;
  tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1));
  assert_int_equal(k.packets, 1);
  assert_int_equal(v.packets, 0); /* collected, but cancelled before its turn */
  assert_int_equal(newcomer.packets, 0);
  tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1));
  assert_int_equal(newcomer.packets, 1);
  assert_int_equal(k.packets, 2);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(v.cancels, 1);
  assert_int_equal(k.cancels, 1);
  assert_int_equal(newcomer.cancels, 1);
}

/* Loop close: every waiter, with or without timeout, hears -ECANCELED once. */
static void test_loop_close(void **state) {
  tw_loop *loop = new_loop();
  rec r[4];
  memset(r, 0, sizeof r);
  tw_match m = {.fields = TW_M_PROTO, .proto = IPPROTO_UDP};
  for (int i = 0; i < 4; i++)
    assert_int_equal(tw_wait(loop, NULL, &m, i & 1 ? TW_WAIT_ONCE : 0, i & 2 ? 10000 * MS : 0,
                             rec_cb, &r[i]), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(r[i].cancels, 1);
    assert_int_equal(r[i].packets + r[i].timeouts + r[i].others, 0);
  }
}

/* ICMP errors reach the waiter of the probe they quote, turned around:
 * TCP, UDP, ICMP echo, IPv4 and IPv6; only with TW_WAIT_ERRORS. */
static void test_icmp_quote(void **state) {
  tw_loop *loop = new_loop();
  rec syn = {0}, syn_noerr = {0}, udp6 = {0}, echo = {0}, other = {0};
  /* TCP SYN 198.18.10.2:40000 -> 198.18.30.10:80; answers come back reversed. */
  tw_match m = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
  assert_int_equal(tw_wait(loop, NULL, &m, TW_WAIT_ERRORS, 0, rec_cb, &syn), 0);
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, rec_cb, &syn_noerr), 0);
  tw_match o = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40001);
  assert_int_equal(tw_wait(loop, NULL, &o, TW_WAIT_ERRORS, 0, rec_cb, &other), 0);
  /* UDP over IPv6, port 33434 traceroute style */
  tw_match u = {.fields = TW_M_PROTO | TW_M_SRC | TW_M_SPORT | TW_M_DPORT,
                .proto = IPPROTO_UDP, .src = A("2001:db8:30::10"), .sport = 33434,
                .dport = 50000};
  assert_int_equal(tw_wait(loop, NULL, &u, TW_WAIT_ERRORS, 0, rec_cb, &udp6), 0);
  /* ping: waits for echo replies id 7 seq 3 */
  tw_match e = {.fields = TW_M_PROTO | TW_M_SRC | TW_M_ICMP_TYPE | TW_M_ICMP_ID | TW_M_ICMP_SEQ,
                .proto = IPPROTO_ICMP, .src = A("198.18.30.10"), .icmp_type = 0,
                .icmp_id = 7, .icmp_seq = 3};
  assert_int_equal(tw_wait(loop, NULL, &e, TW_WAIT_ERRORS, 0, rec_cb, &echo), 0);

  fr x;
  /* time exceeded from router 198.18.10.1 quoting the SYN */
  assert_int_equal(tw_dispatch_input(loop, icmp_error(&x, "198.18.10.1", "198.18.10.2", 11, 0,
                                                      IPPROTO_TCP, "198.18.10.2", "198.18.30.10",
                                                      40000, 80)), 1);
  assert_int_equal(syn.packets, 1);
  assert_int_equal(syn.quoted, 1);
  char buf[64];
  assert_string_equal(tw_pkt_addr_str(&syn.src, buf, sizeof buf), "198.18.10.1");
  assert_int_equal(syn_noerr.packets, 0);
  assert_int_equal(other.packets, 0);
  /* the same error quoting the probe in the other direction matches nobody */
  assert_int_equal(tw_dispatch_input(loop, icmp_error(&x, "198.18.10.1", "198.18.10.2", 11, 0,
                                                      IPPROTO_TCP, "198.18.30.10", "198.18.10.2",
                                                      80, 40000)), 0);
  /* the real answer reaches both, not quoted */
  assert_int_equal(tw_dispatch_input(loop, tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1)), 2);
  assert_int_equal(syn.quoted, 0);
  /* ICMPv6 port unreachable from the target itself, quoting the UDP probe */
  assert_int_equal(tw_dispatch_input(loop, icmp_error(&x, "2001:db8:30::10", "2001:db8:10::2", 1, 4,
                                                      IPPROTO_UDP, "2001:db8:10::2", "2001:db8:30::10",
                                                      50000, 33434)), 1);
  assert_int_equal(udp6.packets, 1);
  assert_int_equal(udp6.quoted, 1);
  /* ICMP unreachable quoting echo request id 7 seq 3 -> the echo reply waiter */
  assert_int_equal(tw_dispatch_input(loop, icmp_error(&x, "198.18.11.2", "198.18.10.2", 3, 1,
                                                      IPPROTO_ICMP, "198.18.10.2", "198.18.30.10",
                                                      7, 3)), 1);
  assert_int_equal(echo.packets, 1);
  assert_int_equal(echo.quoted, 1);
  assert_int_equal(tw_dispatch_input(loop, icmp_error(&x, "198.18.11.2", "198.18.10.2", 3, 1,
                                                      IPPROTO_ICMP, "198.18.10.2", "198.18.30.10",
                                                      7, 4)), 0);
  assert_int_equal(tw_dispatch_input(loop, echo_reply(&x, "198.18.30.10", "198.18.10.2", 7, 3)), 1);
  assert_int_equal(echo.packets, 2);
  assert_int_equal(echo.quoted, 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* A probe that is a bare IPv4 header (Nmap's -PO/-sO for protocols it has
 * no header for) is quoted whole in 20 bytes: the protocol unreachable
 * decodes, reaches the "ICMP to us" waiter and the quote's waiter (proto
 * 47 answers from the target); the same 20-byte quote of a UDP probe is
 * cut short (its ports are missing) and is counted malformed. */
static void test_icmp_quote_bare(void **state) {
  tw_loop *loop = new_loop();
  rec icmp = {0}, gre = {0};
  tw_match mi = {.fields = TW_M_PROTO | TW_M_DST, .proto = IPPROTO_ICMP, .dst = A("198.18.10.2")};
  assert_int_equal(tw_wait(loop, NULL, &mi, TW_WAIT_ERRORS, 0, rec_cb, &icmp), 0);
  tw_match mg = {.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST, .proto = 47,
                 .src = A("198.18.30.10"), .dst = A("198.18.10.2")};
  assert_int_equal(tw_wait(loop, NULL, &mg, TW_WAIT_ERRORS, 0, rec_cb, &gre), 0);
  for (int udp = 0; udp < 2; udp++) {
    fr x;
    uint8_t q[20];
    iphdr(q, "198.18.10.2", "198.18.30.10", udp ? IPPROTO_UDP : 47, 0, 64);
    size_t n = eth(x.b, 0x0800);
    n += iphdr(x.b + n, "198.18.30.10", "198.18.10.2", IPPROTO_ICMP, 8 + sizeof q, 62);
    n += icmphdr(x.b + n, 3, 2, 0, 0);
    memcpy(x.b + n, q, sizeof q);
    const tw_frame *f = done(&x, n + sizeof q, 1);
    tw_rx rx;
    int reason = 0;
    if (udp) {
      assert_int_equal(tw_rx_decode(f, &rx, &reason), TW_EMALFORMED);
      assert_int_equal(reason, TW_PKT_R_ICMP_QUOTE_TRUNC);
      assert_int_equal(tw_dispatch_input(loop, f), TW_EMALFORMED);
      continue;
    }
    assert_int_equal(tw_rx_decode(f, &rx, &reason), 0);
    assert_true(rx.is_error);
    assert_int_equal(rx.q_proto, 47);
    assert_int_equal(rx.q_fields & (TW_M_SPORT | TW_M_DPORT), 0);
    assert_int_equal(tw_dispatch_input(loop, f), 2);
    assert_int_equal(icmp.packets, 1);
    assert_int_equal(gre.packets, 1);
    assert_int_equal(gre.quoted, 1);
    /* the packet parser agrees: a whole quote, no upper-layer fields */
    tw_pkt_quote qt;
    assert_int_equal(tw_pkt_quote_parse(q, sizeof q, 0, &qt, &reason), 0);
    assert_int_equal(qt.proto, 47);
    assert_int_equal(qt.l4_len, 0);
    assert_int_equal(qt.sport, 0);
  }
  assert_int_equal(tw_loop_close(loop), 0);
}

static void test_arp(void **state) {
  tw_loop *loop = new_loop();
  rec r = {0}, req_only = {0};
  tw_match m = {.fields = TW_M_ETHERTYPE | TW_M_SRC, .ethertype = TW_ETH_ARP,
                .src = A("198.18.1.11")};
  assert_int_equal(tw_wait(loop, NULL, &m, TW_WAIT_ONCE, 0, rec_cb, &r), 0);
  tw_match q = {.fields = TW_M_ETHERTYPE | TW_M_ARP_OP, .ethertype = TW_ETH_ARP,
                .arp_op = TW_ARP_REQUEST};
  assert_int_equal(tw_wait(loop, NULL, &q, 0, 0, rec_cb, &req_only), 0);
  fr x;
  assert_int_equal(tw_dispatch_input(loop, arp_frame(&x, 2, "198.18.1.12", "198.18.1.1")), 0);
  assert_int_equal(tw_dispatch_input(loop, arp_frame(&x, 2, "198.18.1.11", "198.18.1.1")), 1);
  assert_int_equal(r.packets, 1);
  const uint8_t sha[6] = {2, 0x74, 0x77, 1, 0, 0x0b};
  assert_memory_equal(r.sha, sha, 6);
  assert_int_equal(tw_dispatch_input(loop, arp_frame(&x, 1, "198.18.1.11", "198.18.1.1")), 1);
  assert_int_equal(req_only.packets, 1);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* Malformed frames: TW_EMALFORMED, counted with a reason, never delivered
 * (not even to a catch-all waiter). */
static void test_malformed(void **state) {
  tw_loop *loop = new_loop();
  rec all = {0};
  tw_match m = {.fields = 0};
  assert_int_equal(tw_wait(loop, NULL, &m, 0, 0, rec_cb, &all), 0);
  fr x;
  const tw_frame *f;
  int reason;
  tw_rx rx;
  struct {
    const char *what;
    int reason;
  } cases[] = {{"short eth", TW_PKT_R_ETH_TRUNC}, {"ihl 4", TW_PKT_R_IP4_IHL},
               {"ihl beyond", TW_PKT_R_IP4_IHL_TRUNC}, {"totlen short", TW_PKT_R_IP4_TOTLEN_SHORT},
               {"totlen beyond", TW_PKT_R_IP4_TOTLEN_TRUNC}, {"tcp doff 4", TW_PKT_R_TCP_DOFF},
               {"tcp cut", TW_PKT_R_TCP_TRUNC}, {"quote cut", TW_PKT_R_ICMP_QUOTE_TRUNC},
               {"ip6 plen", TW_PKT_R_IP6_PLEN_TRUNC}, {"ip6 ext", TW_PKT_R_IP6_EXT_TRUNC},
               {"version", TW_PKT_R_IP4_VERSION}, {"arp cut", TW_PKT_R_ARP_TRUNC},
               {"three vlans", TW_PKT_R_VLAN_DEPTH}};
  size_t ncases = sizeof cases / sizeof cases[0];
  for (size_t i = 0; i < ncases; i++) {
    f = tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1);
    tw_frame g = *f;
    uint8_t *ip = x.b + 14;
    switch (i) {
    case 0: g.caplen = 10; break;
    case 1: ip[0] = 0x44; break;
    case 2: ip[0] = 0x4f; break;
    case 3: put16(ip + 2, 10); break;
    case 4: put16(ip + 2, 200); break;
    case 5: ip[20 + 12] = 4 << 4; break;
    case 6: put16(ip + 2, 30); g.caplen = 14 + 30; break;
    case 7:
      f = icmp_error(&x, "198.18.10.1", "198.18.10.2", 11, 0, IPPROTO_TCP, "198.18.10.2",
                     "198.18.30.10", 40000, 80);
      g = *f;
      g.caplen -= 16; /* quote: IP header + 4 bytes */
      put16(x.b + 14 + 2, (uint16_t)(g.caplen - 14));
      break;
    case 8:
      f = tcp_frame(&x, "2001:db8::1", "2001:db8::2", 80, 40000, 1);
      g = *f;
      put16(x.b + 14 + 4, 100);
      break;
    case 9:
      f = tcp_frame(&x, "2001:db8::1", "2001:db8::2", 80, 40000, 1);
      g = *f;
      x.b[14 + 6] = 60; /* destination options header, 8 * (1 + 200) bytes */
      x.b[14 + 40 + 1] = 200;
      break;
    case 10: ip[0] = 0x65; break;
    case 11:
      f = arp_frame(&x, 1, "198.18.1.1", "198.18.1.2");
      g = *f;
      g.caplen = 14 + 20;
      break;
    case 12:
      memmove(x.b + 24, x.b + 12, 42); /* room for three tags */
      put16(x.b + 12, 0x8100);
      put16(x.b + 16, 0x88a8);
      put16(x.b + 20, 0x8100);
      g.caplen += 12;
      break;
    }
    assert_int_equal(tw_rx_decode(&g, &rx, &reason), TW_EMALFORMED);
    if (reason != cases[i].reason)
      fail_msg("%s: reason %s, want %s", cases[i].what, tw_pkt_reason_name(reason),
               tw_pkt_reason_name(cases[i].reason));
    assert_int_equal(tw_dispatch_input(loop, &g), TW_EMALFORMED);
  }
  assert_int_equal(all.packets, 0);
  tw_dispatch_stats st;
  tw_dispatch_stats_get(loop, &st);
  assert_int_equal(st.malformed, ncases);
  assert_int_equal(st.last_reason, TW_PKT_R_VLAN_DEPTH);
  /* Ethernet padding after a short packet is fine, and so is an unknown
   * EtherType. */
  f = tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1);
  tw_frame g = *f;
  g.caplen = 80;
  assert_int_equal(tw_dispatch_input(loop, &g), 1);
  put16(x.b + 12, 0x88cc);
  assert_int_equal(tw_dispatch_input(loop, &g), 1);
  assert_int_equal(all.packets, 2);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* Random bytes never crash the decoder or the dispatcher (ASan build). */
static void test_garbage(void **state) {
  tw_loop *loop = new_loop();
  rec all = {0};
  tw_match m = {.fields = 0};
  assert_int_equal(tw_wait(loop, NULL, &m, TW_WAIT_ERRORS, 0, rec_cb, &all), 0);
  srand(11);
  fr x;
  int ok = 0, bad = 0;
  for (int i = 0; i < 200000; i++) {
    /* start from a valid frame of some kind and damage a few bytes */
    const tw_frame *f;
    switch (i % 4) {
    case 0: f = tcp_frame(&x, "198.18.30.10", "198.18.10.2", 80, 40000, 1); break;
    case 1: f = icmp_error(&x, "2001:db8::1", "2001:db8::2", 1, 4, IPPROTO_UDP, "2001:db8::2",
                           "2001:db8::3", 5, 6); break;
    case 2: f = icmp_error(&x, "198.18.0.1", "198.18.0.2", 3, 3, IPPROTO_TCP, "198.18.0.2",
                           "198.18.0.3", 5, 6); break;
    default: f = arp_frame(&x, 2, "198.18.1.11", "198.18.1.1"); break;
    }
    /* heap copy of exactly caplen bytes, so ASan sees any over-read */
    tw_frame g = *f;
    g.caplen = (uint32_t)(rand() % (f->caplen + 1));
    uint8_t *copy = malloc(g.caplen ? g.caplen : 1);
    memcpy(copy, f->data, g.caplen);
    for (int k = 0; k < 3 && g.caplen; k++) copy[rand() % g.caplen] = (uint8_t)rand();
    g.data = copy;
    g.linktype = (i % 7 == 0) ? TW_LINK_RAW : TW_LINK_ETH;
    int rc = tw_dispatch_input(loop, &g);
    if (rc >= 0) ok++;
    else if (rc == TW_EMALFORMED) bad++;
    else fail_msg("unexpected %d", rc);
    free(copy);
  }
  assert_true(ok > 1000 && bad > 1000);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- batches ----------------------------------------------------------------- */

/* What every callback saw, in order, for comparing two loops. */
typedef struct logent {
  int waiter, frame, status, quoted;
} logent;
typedef struct blog {
  logent *e;
  int n, cap;
  const tw_frame *frames; /* frame index = rx->frame - frames */
} blog;
typedef struct bw {
  blog *log;
  int id;
} bw;

static void log_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  bw *w = data;
  blog *l = w->log;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 1024;
    l->e = realloc(l->e, (size_t)l->cap * sizeof *l->e);
    assert_non_null(l->e);
  }
  l->e[l->n++] = (logent){w->id, rx ? (int)(rx->frame - l->frames) : -1, status,
                          rx ? rx->quoted : 0};
}

#define BKEYS 300
#define BFRAMES 500
static char bsrc[BKEYS][20];

/* Waiters of `extra` + 3 shapes (some once, some for ICMP errors, some
 * sharing a key) on a loop, all logging to l. */
static void batch_keys(void) {
  for (int i = 0; i < BKEYS; i++)
    snprintf(bsrc[i], sizeof bsrc[i], "198.18.%d.%d", 40 + i / 200, i % 200 + 1);
}

static bw *batch_waiters(tw_loop *loop, blog *l, int extra) {
  bw *w = calloc(BKEYS + 16, sizeof *w);
  assert_non_null(w);
  int id = 0;
  for (int i = 0; i < BKEYS; i++) {
    tw_match m = tcp_answer(bsrc[i], "198.18.10.2", 80, (uint16_t)(40000 + i % 7));
    w[id] = (bw){l, id};
    unsigned flags = (i % 5 == 0 ? TW_WAIT_ONCE : 0) | (i % 3 == 0 ? TW_WAIT_ERRORS : 0);
    assert_int_equal(tw_wait(loop, NULL, &m, flags, 0, log_cb, &w[id]), 0);
    id++;
  }
  for (int k = 0; k < 4; k++) { /* four more for one key */
    tw_match m = tcp_answer(bsrc[7], "198.18.10.2", 80, 40000);
    w[id] = (bw){l, id};
    assert_int_equal(tw_wait(loop, NULL, &m, k & 1 ? TW_WAIT_ONCE : 0, 0, log_cb, &w[id]), 0);
    id++;
  }
  tw_match udp = {.fields = TW_M_PROTO, .proto = IPPROTO_UDP};
  tw_match echo = {.fields = TW_M_ICMP_TYPE | TW_M_ICMP_ID, .icmp_type = 0, .icmp_id = 3};
  tw_match more[5] = {
      {.fields = TW_M_IFINDEX, .ifindex = 1},
      {.fields = TW_M_SRC | TW_M_DPORT, .src = A("198.18.40.9"), .dport = 40001},
      {.fields = 0},
      {.fields = TW_M_DPORT, .dport = 40003},
      {.fields = TW_M_ETHERTYPE, .ethertype = 0x86dd},
  };
  w[id] = (bw){l, id};
  assert_int_equal(tw_wait(loop, NULL, &udp, 0, 0, log_cb, &w[id]), 0);
  id++;
  w[id] = (bw){l, id};
  assert_int_equal(tw_wait(loop, NULL, &echo, 0, 0, log_cb, &w[id]), 0);
  id++;
  for (int k = 0; k < extra; k++) {
    w[id] = (bw){l, id};
    assert_int_equal(tw_wait(loop, NULL, &more[k], 0, 0, log_cb, &w[id]), 0);
    id++;
  }
  return w;
}

/* A mix of frames: answers to waiters and to nobody, UDP, echo replies,
 * ICMP errors quoting probes, IPv6, malformed frames. */
static tw_frame *batch_frames(fr *x) {
  tw_frame *f = calloc(BFRAMES, sizeof *f);
  assert_non_null(f);
  srand(5);
  for (int i = 0; i < BFRAMES; i++) {
    int k = rand() % BKEYS;
    const tw_frame *g;
    switch (rand() % 8) {
    case 0: g = udp_frame(&x[i], bsrc[k], "198.18.10.2", 53, 40000); break;
    case 1: g = echo_reply(&x[i], bsrc[k], "198.18.10.2", (uint16_t)(rand() % 5), 1); break;
    case 2:
      g = icmp_error(&x[i], "198.18.0.1", "198.18.10.2", 3, 3, IPPROTO_TCP, "198.18.10.2",
                     bsrc[k], (uint16_t)(40000 + k % 7), 80);
      break;
    case 3: g = tcp_frame(&x[i], "2001:db8::1", "2001:db8::2", 80, 40003, 1); break;
    case 4:
      g = tcp_frame(&x[i], bsrc[k], "198.18.10.2", 80, 40000, 1);
      x[i].f.caplen = 20; /* cut short: malformed */
      break;
    default:
      g = tcp_frame(&x[i], bsrc[k], "198.18.10.2", 80, (uint16_t)(40000 + (rand() % 8 ? k % 7 : 9)),
                    1 + rand() % 2);
      break;
    }
    f[i] = *g;
  }
  return f;
}

static void batch_equals_frames(int extra) {
  fr *x = calloc(BFRAMES, sizeof *x);
  assert_non_null(x);
  batch_keys();
  tw_frame *f = batch_frames(x);
  blog la = {.frames = f}, lb = {.frames = f};
  tw_loop *a = new_loop(), *b = new_loop();
  bw *wa = batch_waiters(a, &la, extra), *wb = batch_waiters(b, &lb, extra);
  int da = 0, db = 0;
  for (int i = 0; i < BFRAMES; i++) {
    int rc = tw_dispatch_input(a, &f[i]);
    if (rc > 0) da += rc;
  }
  /* uneven pieces: 1, 31, 32, 33, ... frames at a time */
  static const int piece[] = {1, 31, 32, 33, 64, 3, 100};
  for (int i = 0, p = 0; i < BFRAMES; p++) {
    int n = piece[p % 7] < BFRAMES - i ? piece[p % 7] : BFRAMES - i;
    db += tw__dispatch_batch(b, f + i, (size_t)n);
    i += n;
  }
  assert_int_equal(da, db);
  assert_true(la.n > BFRAMES / 4);
  assert_int_equal(la.n, lb.n);
  for (int i = 0; i < la.n; i++)
    if (memcmp(&la.e[i], &lb.e[i], sizeof la.e[i]))
      fail_msg("delivery %d: waiter %d frame %d quoted %d, batch: waiter %d frame %d quoted %d", i,
               la.e[i].waiter, la.e[i].frame, la.e[i].quoted, lb.e[i].waiter, lb.e[i].frame,
               lb.e[i].quoted);
  tw_dispatch_stats sa, sb;
  tw_dispatch_stats_get(a, &sa);
  tw_dispatch_stats_get(b, &sb);
  assert_int_equal(sa.packets, BFRAMES);
  assert_true(sa.malformed > 0 && sa.matched > 0);
  assert_true(extra > 2 ? sa.unmatched == 0 : sa.unmatched > 0); /* more[2] hears all */
  assert_memory_equal(&sa, &sb, sizeof sa);
  assert_int_equal(tw_loop_close(a), 0);
  assert_int_equal(tw_loop_close(b), 0);
  free(la.e);
  free(lb.e);
  free(wa);
  free(wb);
  free(f);
  free(x);
}

/* Few shapes (looked up with prefetching) and more than the dispatcher
 * prefetches for (looked up frame by frame). */
static void test_batch_equals_frames(void **state) {
  batch_equals_frames(0);
  batch_equals_frames(5);
}

/* Callbacks change the waiters in the middle of a batch: a waiter added
 * by the first frame's callback hears the later frames of the same batch,
 * one cancelled does not, a once waiter hears one frame. */
static tw_req *b_victim;
static rec b_newcomer;
static void b_killer_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  rec_cb(req, status, rx, data);
  if (status != 0 || !b_victim) return;
  assert_int_equal(tw_cancel(b_victim), 0);
  b_victim = NULL;
  tw_match m = tcp_answer("198.18.30.11", "198.18.10.2", 80, 40000);
  assert_int_equal(tw_wait(((rec *)data)->loop, NULL, &m, 0, 0, rec_cb, &b_newcomer), 0);
}
static void test_batch_changes(void **state) {
  tw_loop *loop = new_loop();
  rec k = {.loop = loop}, v = {0}, once = {0}, many[200];
  memset(&b_newcomer, 0, sizeof b_newcomer);
  memset(many, 0, sizeof many);
  tw_match first = tcp_answer("198.18.30.10", "198.18.10.2", 80, 40000);
  tw_match later = tcp_answer("198.18.30.12", "198.18.10.2", 80, 40000);
  assert_int_equal(tw_wait(loop, NULL, &first, TW_WAIT_ONCE, 0, b_killer_cb, &k), 0);
  assert_int_equal(tw_wait(loop, &b_victim, &later, 0, 0, rec_cb, &v), 0);
  assert_int_equal(tw_wait(loop, NULL, &later, TW_WAIT_ONCE, 0, rec_cb, &once), 0);
  /* More waiters with one key than a batch keeps candidates for. */
  tw_match crowd = tcp_answer("198.18.30.13", "198.18.10.2", 80, 40000);
  for (int i = 0; i < 200; i++)
    assert_int_equal(tw_wait(loop, NULL, &crowd, 0, 0, rec_cb, &many[i]), 0);
  fr x[40];
  tw_frame f[40];
  f[0] = *tcp_frame(&x[0], "198.18.30.10", "198.18.10.2", 80, 40000, 1);
  for (int i = 1; i < 40; i++)
    f[i] = *tcp_frame(&x[i], i % 2 ? "198.18.30.11" : i % 4 ? "198.18.30.12" : "198.18.30.13",
                      "198.18.10.2", 80, 40000, 1);
  /* frames 1, 3, ... 39 for the newcomer (20), 2, 6, ... 38 for `later`
   * (10: only the first is heard, by `once`), 4, 8, ... 36 for the crowd
   * (9); the killer hears frame 0 */
  assert_int_equal(tw__dispatch_batch(loop, f, 40), 1 + 20 + 1 + 9 * 200);
  assert_int_equal(k.packets, 1);
  assert_int_equal(v.packets, 0);
  assert_int_equal(b_newcomer.packets, 20);
  assert_int_equal(once.packets, 1);
  for (int i = 0; i < 200; i++) assert_int_equal(many[i].packets, 9);
  tw_dispatch_stats st;
  tw_dispatch_stats_get(loop, &st);
  assert_int_equal(st.packets, 40);
  assert_int_equal(st.matched, 1 + 20 + 1 + 9);
  assert_int_equal(st.unmatched, 9);
  assert_int_equal(st.waiters, 201);
  assert_int_equal(tw__dispatch_batch(loop, NULL, 0), 0);
  assert_int_equal(tw__dispatch_batch(NULL, f, 1), -EINVAL);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(v.cancels, 1);
  assert_int_equal(b_newcomer.cancels, 1);
  assert_int_equal(k.cancels + once.cancels, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_right_one_of_100k),
    cmocka_unit_test(test_shapes_combine),
    cmocka_unit_test(test_bad_args),
    cmocka_unit_test(test_once),
    cmocka_unit_test(test_timeout),
    cmocka_unit_test(test_timeout_order),
    cmocka_unit_test(test_timeout_many),
    cmocka_unit_test(test_cancel),
    cmocka_unit_test(test_cancel_from_callback),
    cmocka_unit_test(test_loop_close),
    cmocka_unit_test(test_icmp_quote),
    cmocka_unit_test(test_icmp_quote_bare),
    cmocka_unit_test(test_arp),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_garbage),
    cmocka_unit_test(test_batch_equals_frames),
    cmocka_unit_test(test_batch_changes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
