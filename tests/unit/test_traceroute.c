/* test_traceroute.c: --traceroute's probe and reply logic (scan/hoptrace.c)
 * and the stage's choices (scan/traceroute.c), without a network. The
 * probes hoptrace sends are handed to the test (hoptrace_cfg.send); the
 * test answers them with frames it builds from those probes (routers'
 * time exceeded quoting them, the target's SYN+ACK or RST), decodes them
 * as the dispatcher does (tw_rx_decode) and gives them to
 * hoptrace_input(); time is passed explicitly to hoptrace_tick().
 *
 *   quote      the quoted probe of an ICMP error: TCP, UDP, ICMP, IP
 *              options, IPv6 (flow label; an extension header refused); cut short, not IPv4, a bad header length, a later
 *              fragment -> refused; every prefix of random bytes is safe
 *   hop table  two targets of one /24: the first walks TTL 3, 2, 1 at
 *              once, the second one TTL at a time and follows the first on
 *              the shared router (its TTL 1 is never probed)
 *   router     a target met as a router by another target at the TTL it
 *              answered at: the other takes its hops
 *   hostile    a quote cut short (malformed), a quote of another target,
 *              of a wrong sequence number, of a TTL never sent, a SYN+ACK
 *              with a wrong ack (unsolicited), a second answer for a hop
 *              (duplicate): counted, dropped, the hop table unchanged
 *   timeouts   a silent path with an unknown distance: each TTL is tried
 *              twice, then three silent TTLs in a row end the upward walk
 *   choose     open TCP before closed TCP before closed UDP before ICMP;
 *              the distance from the reply TTL */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <trawl/dispatch.h>
#include <trawl/trawl.h>

#include "core/result.h"
#include "scan/hoptrace.h"
#include "scan/traceroute.h"

#define MAXPKT 64
#define MS 1000000ull

struct sent {
  uint8_t b[128];
  size_t len;
};

struct fx {
  tw_loop *loop;
  struct cookie_key key;
  struct hoptrace *ht;
  struct sent sent[MAXPKT];
  int nsent;
};

static tw_pkt_addr addr(const char *s) {
  tw_pkt_addr a;
  assert_int_equal(tw_pkt_addr_parse(&a, s), 0);
  return a;
}

static void fx_send(void *arg, const uint8_t *buf, size_t len) {
  struct fx *f = arg;
  assert_true(f->nsent < MAXPKT && len <= sizeof f->sent[0].b);
  memcpy(f->sent[f->nsent].b, buf, len);
  f->sent[f->nsent++].len = len;
}

static void fx_init(struct fx *f, const struct hoptrace_target *t, uint32_t n) {
  memset(f, 0, sizeof *f);
  assert_int_equal(tw_loop_new(&f->loop), 0);
  cookie_key_from_seed(&f->key, 42);
  struct hoptrace_cfg c = {0};
  c.loop = f->loop;
  c.key = &f->key;
  c.sport_lo = 40000;
  c.sport_hi = 50000;
  c.timeout_ns = 1000 * MS;
  c.min_timeout_ns = 100 * MS;
  c.tries = 2;
  c.window = 3;
  c.send = fx_send;
  c.send_arg = f;
  assert_int_equal(hoptrace_new(&f->ht, &c, t, n), 0);
  assert_int_equal(hoptrace_start(f->ht), 0);
}

static void fx_free(struct fx *f) {
  hoptrace_free(f->ht);
  tw_loop_close(f->loop);
}

/* The probe sent to dst with this TTL (the last one), or NULL. */
static const struct sent *probe(struct fx *f, const char *dst, int ttl) {
  tw_pkt_addr d = addr(dst);
  for (int i = f->nsent - 1; i >= 0; i--) {
    const uint8_t *b = f->sent[i].b;
    if (memcmp(b + 16, &d.v4, 4) == 0 && b[8] == ttl) return &f->sent[i];
  }
  return NULL;
}

static int nprobes(struct fx *f, const char *dst, int ttl) {
  tw_pkt_addr d = addr(dst);
  int n = 0;
  for (int i = 0; i < f->nsent; i++)
    n += memcmp(f->sent[i].b + 16, &d.v4, 4) == 0 && f->sent[i].b[8] == ttl;
  return n;
}

/* Decode an IP packet as the dispatcher does and hand it to hoptrace. */
static int feed(struct fx *f, const uint8_t *ip, size_t len, uint64_t now) {
  tw_frame fr;
  memset(&fr, 0, sizeof fr);
  fr.data = ip;
  fr.caplen = fr.len = (uint32_t)len;
  fr.linktype = TW_LINK_RAW;
  tw_rx rx;
  int reason = 0;
  memset(&rx, 0, sizeof rx);
  int rc = tw_rx_decode(&fr, &rx, &reason);
  if (rc == 0) hoptrace_input(f->ht, &rx, now);
  return rc;
}

/* Router `from` says time exceeded, quoting qlen bytes of the probe. */
static int time_exceeded(struct fx *f, const char *from, const struct sent *p, size_t qlen,
                         uint64_t now) {
  assert_non_null(p);
  uint8_t out[256];
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src = addr(from);
  memcpy(&ip.dst.v4, p->b + 12, 4);
  ip.dst.family = AF_INET;
  ip.ttl = 60;
  tw_pkt_icmp ic;
  memset(&ic, 0, sizeof ic);
  ic.type = 11;
  int n = tw_pkt_build_icmp(out, sizeof out, &ip, &ic, NULL, p->b, qlen < p->len ? qlen : p->len);
  assert_true(n > 0);
  return feed(f, out, (size_t)n, now);
}

/* The target answers a TCP probe (SYN+ACK or RST), ack = seq + 1 + bad. */
static void tcp_answer(struct fx *f, const struct sent *p, uint16_t flags, uint32_t bad,
                       uint64_t now) {
  assert_non_null(p);
  tw_pkt pk;
  assert_int_equal(tw_pkt_parse(p->b, p->len, TW_LINK_RAW, &pk), 0);
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src = pk.dst;
  ip.dst = pk.src;
  ip.ttl = 62;
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.sport = pk.dport;
  t.dport = pk.sport;
  t.seq = 777;
  t.ack = pk.tcp.seq + 1 + bad;
  t.flags = flags;
  uint8_t out[128];
  int n = tw_pkt_build_tcp(out, sizeof out, &ip, &t, NULL, 0);
  assert_true(n > 0);
  assert_int_equal(feed(f, out, (size_t)n, now), 0);
}

/* ---- quote ---------------------------------------------------------------- */

static void test_quote(void **state) {
  (void)state;
  uint8_t b[128];
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src = addr("198.18.10.2");
  ip.dst = addr("198.18.30.10");
  ip.ttl = 1;
  ip.id = 0xab07;
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.sport = 41234;
  t.dport = 80;
  t.seq = 0x11223344;
  t.flags = TW_TCP_SYN;
  int n = tw_pkt_build_tcp(b, sizeof b, &ip, &t, NULL, 0);
  assert_true(n > 28);
  struct hoptrace_quote q;
  assert_int_equal(hoptrace_quote_parse(b, 28, &q), 0); /* IP + 8 bytes: enough */
  assert_int_equal(q.proto, IPPROTO_TCP);
  assert_int_equal(q.ipid, 0xab07);
  assert_int_equal(q.ttl, 1);
  assert_int_equal(q.sport, 41234);
  assert_int_equal(q.dport, 80);
  assert_int_equal(q.seq, 0x11223344);
  assert_memory_equal(&q.dst.v4, &ip.dst.v4, 4);
  assert_int_equal(hoptrace_quote_parse(b, 27, &q), -1); /* cut in the TCP bytes */
  assert_int_equal(hoptrace_quote_parse(b, 19, &q), -1);
  assert_int_equal(hoptrace_quote_parse(NULL, 0, &q), -1);
  uint8_t c[128];
  memcpy(c, b, (size_t)n);
  c[0] = 0x65; /* IPv6 version nibble */
  assert_int_equal(hoptrace_quote_parse(c, (size_t)n, &q), -1);
  c[0] = 0x44; /* header length 16 */
  assert_int_equal(hoptrace_quote_parse(c, (size_t)n, &q), -1);
  c[0] = 0x4f; /* header length 60 > what is there */
  assert_int_equal(hoptrace_quote_parse(c, (size_t)n, &q), -1);
  memcpy(c, b, (size_t)n);
  c[6] = 0x00, c[7] = 0x10; /* fragment offset 16: no L4 header here */
  assert_int_equal(hoptrace_quote_parse(c, (size_t)n, &q), -1);
  /* IP options: the L4 bytes come after them */
  uint8_t rr[40];
  int ol = tw_pkt_ip4_opt_rr(rr, sizeof rr, 1);
  assert_true(ol > 0);
  ip.opt = rr;
  ip.optlen = (uint8_t)ol;
  n = tw_pkt_build_udp(b, sizeof b, &ip, 33434, 53, NULL, 0);
  assert_true(n > 0);
  assert_int_equal(hoptrace_quote_parse(b, (size_t)n, &q), 0);
  assert_int_equal(q.proto, IPPROTO_UDP);
  assert_int_equal(q.sport, 33434);
  assert_int_equal(q.dport, 53);
  /* ICMP echo */
  ip.opt = NULL;
  ip.optlen = 0;
  tw_pkt_icmp ic;
  memset(&ic, 0, sizeof ic);
  ic.type = 8;
  ic.id = 0x5151;
  ic.seq = 13;
  n = tw_pkt_build_icmp(b, sizeof b, &ip, &ic, NULL, NULL, 0);
  assert_int_equal(hoptrace_quote_parse(b, (size_t)n, &q), 0);
  assert_int_equal(q.icmp_type, 8);
  assert_int_equal(q.icmp_id, 0x5151);
  assert_int_equal(q.icmp_seq, 13);
  /* IPv6: the flow label, the upper layer right after the header */
  tw_pkt_ipspec ip6;
  memset(&ip6, 0, sizeof ip6);
  ip6.src = addr("2001:db8:10::2");
  ip6.dst = addr("2001:db8:30::10");
  ip6.ttl = 2;
  ip6.flow = 0xab09;
  t.seq = 0x55667788;
  n = tw_pkt_build_tcp(b, sizeof b, &ip6, &t, NULL, 0);
  assert_true(n >= 48);
  assert_int_equal(hoptrace_quote_parse(b, 48, &q), 0);
  assert_int_equal(q.dst.family, AF_INET6);
  assert_true(tw_pkt_addr_eq(&q.dst, &ip6.dst) && tw_pkt_addr_eq(&q.src, &ip6.src));
  assert_int_equal(q.flow, 0xab09);
  assert_int_equal(q.ttl, 2);
  assert_int_equal(q.seq, 0x55667788);
  assert_int_equal(hoptrace_quote_parse(b, 47, &q), -1);
  memcpy(c, b, 48);
  c[6] = 0; /* hop-by-hop options first: not ours */
  assert_int_equal(hoptrace_quote_parse(c, 48, &q), -1);
  /* random bytes, every length: never past the buffer (ASan), 0 or -1 */
  srand(7);
  uint8_t *r = malloc(64);
  for (int round = 0; round < 2000; round++) {
    size_t len = (size_t)(rand() % 65);
    uint8_t *x = malloc(len ? len : 1);
    for (size_t k = 0; k < len; k++) x[k] = (uint8_t)rand();
    if (len && round % 2) x[0] = (uint8_t)((round % 4 == 1 ? 0x40 : 0x60) | (x[0] & 15));
    int rc = hoptrace_quote_parse(x, len, &q);
    assert_true(rc == 0 || rc == -1);
    if (rc == 0 && (x[0] >> 4) == 4) assert_true(len >= (size_t)(x[0] & 15) * 4 + 8);
    if (rc == 0 && (x[0] >> 4) == 6) assert_true(len >= 48);
    free(x);
  }
  free(r);
}

/* ---- hop table and sharing -------------------------------------------------- */

static void two_targets(struct fx *f) {
  struct hoptrace_target t[2];
  memset(t, 0, sizeof t);
  t[0].dst = addr("198.18.30.10");
  t[1].dst = addr("198.18.30.11");
  for (int i = 0; i < 2; i++) {
    t[i].src = addr("198.18.10.2");
    t[i].proto = IPPROTO_TCP;
    t[i].dport = 80;
    t[i].dist = 3;
  }
  fx_init(f, t, 2);
}

static void test_hop_table(void **state) {
  (void)state;
  struct fx f;
  two_targets(&f);
  /* the leader: TTL 3, 2, 1 at once; the other: TTL 3 alone */
  assert_int_equal(f.nsent, 4);
  assert_int_equal(nprobes(&f, "198.18.30.10", 3), 1);
  assert_int_equal(nprobes(&f, "198.18.30.10", 2), 1);
  assert_int_equal(nprobes(&f, "198.18.30.10", 1), 1);
  assert_int_equal(nprobes(&f, "198.18.30.11", 3), 1);
  uint64_t now = 5 * MS;
  tcp_answer(&f, probe(&f, "198.18.30.10", 3), TW_TCP_SYN | TW_TCP_ACK, 0, now);
  time_exceeded(&f, "198.18.11.2", probe(&f, "198.18.30.10", 2), 28, now);
  time_exceeded(&f, "198.18.10.1", probe(&f, "198.18.30.10", 1), 28, now);
  tcp_answer(&f, probe(&f, "198.18.30.11", 3), TW_TCP_RST | TW_TCP_ACK, 0, now);
  /* the other goes one TTL down, meets the leader's router, follows */
  assert_int_equal(nprobes(&f, "198.18.30.11", 2), 1);
  time_exceeded(&f, "198.18.11.2", probe(&f, "198.18.30.11", 2), 28, now);
  assert_int_equal(nprobes(&f, "198.18.30.11", 1), 0);
  assert_true(hoptrace_finished(f.ht));
  const struct hoptrace_stats *st = hoptrace_stats(f.ht);
  assert_int_equal(st->sent, 5);
  assert_int_equal(st->replies, 5);
  assert_int_equal(st->shared, 1);
  assert_int_equal(st->malformed + st->unsolicited + st->duplicates, 0);
  struct hoptrace_hop h[HOPTRACE_MAX_TTL];
  int same, upto;
  assert_int_equal(hoptrace_hops(f.ht, 0, h, HOPTRACE_MAX_TTL, &same, &upto), 3);
  assert_int_equal(same, -1);
  char a[64];
  assert_string_equal(tw_pkt_addr_str(&h[0].addr, a, sizeof a), "198.18.10.1");
  assert_string_equal(tw_pkt_addr_str(&h[1].addr, a, sizeof a), "198.18.11.2");
  assert_string_equal(tw_pkt_addr_str(&h[2].addr, a, sizeof a), "198.18.30.10");
  assert_int_equal(h[2].dest, 1);
  assert_int_equal(hoptrace_hops(f.ht, 1, h, HOPTRACE_MAX_TTL, &same, &upto), 3);
  assert_int_equal(same, 0);
  assert_int_equal(upto, 2);
  assert_string_equal(tw_pkt_addr_str(&h[0].addr, a, sizeof a), "198.18.10.1");
  assert_string_equal(tw_pkt_addr_str(&h[1].addr, a, sizeof a), "198.18.11.2");
  assert_string_equal(tw_pkt_addr_str(&h[2].addr, a, sizeof a), "198.18.30.11");
  fx_free(&f);
}

/* A router that is itself a target: a target meeting it at the TTL where
 * it answered takes its hops (both lead their own /24). */
static void test_router_target(void **state) {
  (void)state;
  struct hoptrace_target t[2];
  memset(t, 0, sizeof t);
  t[0].dst = addr("198.18.11.2");
  t[0].dist = 2;
  t[1].dst = addr("198.18.30.10");
  t[1].dist = 3;
  for (int i = 0; i < 2; i++) {
    t[i].src = addr("198.18.10.2");
    t[i].proto = IPPROTO_TCP;
    t[i].dport = 22;
  }
  struct fx f;
  fx_init(&f, t, 2);
  assert_int_equal(f.nsent, 5);
  uint64_t now = 5 * MS;
  tcp_answer(&f, probe(&f, "198.18.11.2", 2), TW_TCP_SYN | TW_TCP_ACK, 0, now);
  time_exceeded(&f, "198.18.10.1", probe(&f, "198.18.11.2", 1), 28, now);
  tcp_answer(&f, probe(&f, "198.18.30.10", 3), TW_TCP_RST | TW_TCP_ACK, 0, now);
  time_exceeded(&f, "198.18.11.2", probe(&f, "198.18.30.10", 2), 28, now);
  time_exceeded(&f, "198.18.10.1", probe(&f, "198.18.30.10", 1), 28, now);
  assert_true(hoptrace_finished(f.ht));
  const struct hoptrace_stats *st = hoptrace_stats(f.ht);
  assert_int_equal(st->shared, 1);
  assert_int_equal(st->duplicates, 1); /* TTL 1 of the second: already known */
  struct hoptrace_hop h[HOPTRACE_MAX_TTL];
  int same, upto;
  assert_int_equal(hoptrace_hops(f.ht, 1, h, HOPTRACE_MAX_TTL, &same, &upto), 3);
  assert_int_equal(same, 0);
  assert_int_equal(upto, 2);
  char a[64];
  assert_string_equal(tw_pkt_addr_str(&h[0].addr, a, sizeof a), "198.18.10.1");
  assert_string_equal(tw_pkt_addr_str(&h[1].addr, a, sizeof a), "198.18.11.2");
  assert_string_equal(tw_pkt_addr_str(&h[2].addr, a, sizeof a), "198.18.30.10");
  fx_free(&f);
}

/* ---- hostile replies -------------------------------------------------------- */

static void test_hostile(void **state) {
  (void)state;
  struct fx f;
  two_targets(&f);
  uint64_t now = 5 * MS;
  const struct sent *p3 = probe(&f, "198.18.30.10", 3);
  const struct sent *p2 = probe(&f, "198.18.30.10", 2);
  const struct hoptrace_stats *st = hoptrace_stats(f.ht);
  /* quotes cut short: the decoder refuses them already (the dispatcher
   * counts them); a quote of a later fragment passes the decoder and the
   * parser refuses it */
  assert_true(time_exceeded(&f, "198.18.11.2", p2, 20, now) < 0);
  assert_true(time_exceeded(&f, "198.18.11.2", p2, 24, now) < 0);
  assert_int_equal(st->malformed, 0);
  struct sent x = *p2;
  x.b[6] = 0x00, x.b[7] = 0x10;
  assert_int_equal(time_exceeded(&f, "198.18.11.2", &x, 28, now), 0);
  assert_int_equal(st->malformed, 1);
  /* a quote naming another address */
  x = *p2;
  x.b[19] ^= 1;
  time_exceeded(&f, "198.18.11.2", &x, 28, now);
  /* a wrong sequence number in the quote */
  x = *p2;
  x.b[20 + 7] ^= 0x80;
  time_exceeded(&f, "198.18.11.2", &x, 28, now);
  /* a TTL never sent: token for TTL 9 in the IP ID and sequence */
  x = *p2;
  x.b[5] = (uint8_t)(9 << 2);
  x.b[20 + 7] = (uint8_t)(9 << 2);
  time_exceeded(&f, "198.18.11.2", &x, 28, now);
  /* a SYN+ACK whose ack is not our sequence + 1 */
  tcp_answer(&f, p3, TW_TCP_SYN | TW_TCP_ACK, 0x100, now);
  assert_int_equal(st->unsolicited, 4);
  assert_int_equal(st->replies, 0);
  /* the real answer, then the same again */
  time_exceeded(&f, "198.18.11.2", p2, 28, now);
  time_exceeded(&f, "198.18.99.99", p2, 28, now);
  assert_int_equal(st->replies, 1);
  assert_int_equal(st->duplicates, 1);
  struct hoptrace_hop h[HOPTRACE_MAX_TTL];
  int same, upto;
  /* TTL 1 and 3 still pending: nothing answered above TTL 2 */
  assert_int_equal(hoptrace_hops(f.ht, 0, h, HOPTRACE_MAX_TTL, &same, &upto), 2);
  char a[64];
  assert_string_equal(tw_pkt_addr_str(&h[1].addr, a, sizeof a), "198.18.11.2");
  assert_int_equal(h[0].state, HOP_PENDING);
  assert_int_equal(st->malformed, 1);
  fx_free(&f);
}

/* ---- timeouts --------------------------------------------------------------- */

static void test_timeouts(void **state) {
  (void)state;
  struct hoptrace_target t;
  memset(&t, 0, sizeof t);
  t.dst = addr("198.18.70.12");
  t.src = addr("198.18.10.2");
  t.proto = IPPROTO_ICMP;
  struct fx f;
  fx_init(&f, &t, 1);
  assert_int_equal(f.nsent, 1); /* unknown distance: TTL 1 first */
  uint64_t base = tw_hrtime();
  /* answer TTL 1 and walk up through silence */
  time_exceeded(&f, "198.18.10.1", probe(&f, "198.18.70.12", 1), 28, base + 1 * MS);
  assert_int_equal(nprobes(&f, "198.18.70.12", 2), 1);
  uint64_t now = base;
  for (int k = 0; k < 20 && !hoptrace_finished(f.ht); k++) {
    now += 2000 * MS;
    hoptrace_tick(f.ht, now);
  }
  assert_true(hoptrace_finished(f.ht));
  for (int ttl = 2; ttl <= 4; ttl++) assert_int_equal(nprobes(&f, "198.18.70.12", ttl), 2);
  assert_int_equal(nprobes(&f, "198.18.70.12", 5), 0);
  struct hoptrace_hop h[HOPTRACE_MAX_TTL];
  int same, upto;
  assert_int_equal(hoptrace_hops(f.ht, 0, h, HOPTRACE_MAX_TTL, &same, &upto), 4);
  assert_int_equal(h[0].state, HOP_GOT);
  for (int k = 1; k < 4; k++) assert_int_equal(h[k].state, HOP_TIMEOUT);
  /* a late answer for a given-up TTL is still taken */
  time_exceeded(&f, "198.18.11.2", probe(&f, "198.18.70.12", 2), 28, now);
  assert_int_equal(hoptrace_hops(f.ht, 0, h, HOPTRACE_MAX_TTL, &same, &upto), 4);
  assert_int_equal(h[1].state, HOP_GOT);
  fx_free(&f);
}

/* ---- choose ----------------------------------------------------------------- */

static void test_choose(void **state) {
  (void)state;
  assert_int_equal(traceroute_distance(62), 3);
  assert_int_equal(traceroute_distance(64), 1);
  assert_int_equal(traceroute_distance(125), 4);
  assert_int_equal(traceroute_distance(250), 6);
  assert_int_equal(traceroute_distance(0), 0);
  struct host_result r;
  host_result_init(&r);
  host_set_reason(&r, HOST_UP, "echo-reply", 61);
  struct hoptrace_target t;
  memset(&t, 0, sizeof t);
  traceroute_choose(&r, 443, 80, 40125, &t);
  assert_int_equal(t.proto, IPPROTO_ICMP);
  assert_int_equal(t.dist, 4);
  /* no port scan: the discovery probe the reason names */
  host_set_reason(&r, HOST_UP, "reset", 62);
  traceroute_choose(&r, 443, 80, 40125, &t);
  assert_true(t.proto == IPPROTO_TCP && t.ack && t.dport == 80 && t.dist == 3);
  host_set_reason(&r, HOST_UP, "syn-ack", 62);
  traceroute_choose(&r, 443, 80, 40125, &t);
  assert_true(t.proto == IPPROTO_TCP && !t.ack && t.dport == 443);
  host_set_reason(&r, HOST_UP, "port-unreach", 62);
  traceroute_choose(&r, 443, 80, 40125, &t);
  assert_true(t.proto == IPPROTO_UDP && t.dport == 40125);
  host_set_reason(&r, HOST_UP, "reset", 62);
  traceroute_choose(&r, 443, 0, 0, &t); /* no ACK probe was sent */
  assert_int_equal(t.proto, IPPROTO_ICMP);
  host_add_port(&r, PROTO_UDP, 9, PORT_CLOSED, "port-unreach", 62, NULL);
  traceroute_choose(&r, 443, 80, 40125, &t);
  assert_int_equal(t.proto, IPPROTO_UDP);
  assert_int_equal(t.dport, 9);
  host_add_port(&r, PROTO_TCP, 22, PORT_CLOSED, "reset", 63, NULL);
  traceroute_choose(&r, 443, 80, 40125, &t);
  assert_int_equal(t.proto, IPPROTO_TCP);
  assert_int_equal(t.dport, 22);
  assert_int_equal(t.dist, 2);
  host_add_port(&r, PROTO_TCP, 80, PORT_OPEN, "syn-ack", 62, NULL);
  host_add_port(&r, PROTO_TCP, 443, PORT_FILTERED, "no-response", 0, NULL);
  traceroute_choose(&r, 443, 80, 40125, &t);
  assert_int_equal(t.dport, 80);
  assert_false(t.ack);
  assert_int_equal(t.dist, 3);
  host_result_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quote),
      cmocka_unit_test(test_hop_table),
      cmocka_unit_test(test_router_target),
      cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_choose),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
