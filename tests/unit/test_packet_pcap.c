/* test_packet_pcap.c: the dissector on real traffic. tests/fixtures/NAME.pcap
 * were captured by tests/fixtures/make-fixtures.sh in three namespaces
 *
 *   a: a0 198.18.1.2 2001:db8:1::2 02:74:70:01:00:02
 *   r: r0 198.18.1.1 2001:db8:1::1 02:74:70:01:00:01 (router)
 *      r1 198.18.2.1 2001:db8:2::1 02:74:70:02:00:01
 *   b: b0 198.18.2.2 2001:db8:2::2 02:74:70:02:00:02
 *
 * and each test asserts what follows from how its file was made: the
 * addresses, MACs, ports and hops of that topology, the options ping and
 * Linux put in, and checksums recomputed with the reference (including
 * over reassembled fragments). Every packet is also dissected at every
 * truncation of its length. */
#include <errno.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <trawl/packet.h>

#include "test_packet.h"

#define MAXPK 16

typedef struct {
  int link;
  size_t n;
  uint8_t *data[MAXPK]; /* heap copies of exactly caplen bytes */
  size_t len[MAXPK];
  uint32_t wirelen[MAXPK];
  struct timeval ts[MAXPK];
  tw_pkt p[MAXPK];
} capture;

static const uint8_t MAC_A0[6] = {0x02, 0x74, 0x70, 0x01, 0x00, 0x02};
static const uint8_t MAC_R0[6] = {0x02, 0x74, 0x70, 0x01, 0x00, 0x01};

/* Read a fixture and dissect every packet; every one must parse cleanly. */
static capture *load(const char *name) {
  char path[512], err[PCAP_ERRBUF_SIZE];
  snprintf(path, sizeof path, "%s/tests/fixtures/%s", TW_SRCDIR, name);
  pcap_t *pc = pcap_open_offline(path, err);
  if (!pc) fail_msg("%s: %s", path, err);
  capture *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->link = tw_pkt_link_from_dlt(pcap_datalink(pc));
  assert_int_equal(c->link, TW_LINK_ETH);
  struct pcap_pkthdr *h;
  const u_char *d;
  int r;
  while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
    assert_true(c->n < MAXPK);
    assert_int_equal(h->caplen, h->len); /* captured whole (snaplen 0) */
    c->data[c->n] = malloc(h->caplen);
    memcpy(c->data[c->n], d, h->caplen);
    c->len[c->n] = h->caplen;
    c->wirelen[c->n] = h->len;
    c->ts[c->n] = h->ts;
    int pr = tw_pkt_parse(c->data[c->n], h->caplen, c->link, &c->p[c->n]);
    if (pr != 0) fail_msg("%s #%zu: %s", name, c->n, c->p[c->n].why);
    c->n++;
  }
  assert_int_equal(r, PCAP_ERROR_BREAK);
  pcap_close(pc);
  return c;
}

static void release(capture *c) {
  for (size_t i = 0; i < c->n; i++) free(c->data[i]);
  free(c);
}

static void assert_v4(const tw_pkt_addr *a, const char *s) {
  assert_int_equal(a->family, AF_INET);
  assert_int_equal(a->v4.s_addr, ip4(s).s_addr);
}

static void assert_v6(const tw_pkt_addr *a, const char *s) {
  struct in6_addr x = ip6(s);
  assert_int_equal(a->family, AF_INET6);
  assert_memory_equal(&a->v6, &x, 16);
}

/* The link-local address Linux forms from a MAC (modified EUI-64, RFC 4291
 * appendix A): fe80:: + mac[0..2] ^ 0x02 in the first byte, ff fe, mac[3..5]. */
static struct in6_addr link_local(const uint8_t *mac) {
  struct in6_addr a;
  memset(&a, 0, sizeof a);
  a.s6_addr[0] = 0xfe;
  a.s6_addr[1] = 0x80;
  a.s6_addr[8] = mac[0] ^ 0x02;
  a.s6_addr[9] = mac[1];
  a.s6_addr[10] = mac[2];
  a.s6_addr[11] = 0xff;
  a.s6_addr[12] = 0xfe;
  a.s6_addr[13] = mac[3];
  a.s6_addr[14] = mac[4];
  a.s6_addr[15] = mac[5];
  return a;
}

/* The upper-layer checksum, recomputed with the reference, must verify. */
static void assert_l4_sum(const tw_pkt *p) {
  const uint8_t *l4 = p->buf + p->l4_off;
  if (p->layers & TW_PKT_L_ICMP)
    assert_int_equal(ref_csum(l4, p->l4_len), 0);
  else if (p->layers & TW_PKT_L_IP4)
    assert_int_equal(ref_l4_csum(AF_INET, &p->ip4.src, &p->ip4.dst, p->proto, l4, p->l4_len), 0);
  else
    assert_int_equal(ref_l4_csum(AF_INET6, &p->ip6.src, &p->ip6.dst, p->proto, l4, p->l4_len), 0);
  assert_int_equal(tw_pkt_l4_csum_ok(p), 1);
  if (p->layers & TW_PKT_L_IP4) {
    assert_int_equal(ref_csum(p->buf + p->l3_off, p->ip4.hl), 0);
    assert_int_equal(p->ip4.csum_ok, 1);
  }
}

static void test_rs_mld(void **state) {
  capture *c = load("rs.pcap");
  assert_int_equal(c->n, 1);
  tw_pkt *p = &c->p[0];
  struct in6_addr ll = link_local(MAC_A0);
  const uint8_t all_routers_mac[6] = {0x33, 0x33, 0, 0, 0, 2}; /* RFC 2464 §7 */
  assert_int_equal(p->layers, TW_PKT_L_ETH | TW_PKT_L_IP6 | TW_PKT_L_ICMP6);
  assert_memory_equal(p->eth.src, MAC_A0, 6);
  assert_memory_equal(p->eth.dst, all_routers_mac, 6);
  assert_memory_equal(&p->ip6.src, &ll, 16);
  assert_v6(&p->dst, "ff02::2");
  assert_int_equal(p->ip6.hlim, 255);
  assert_int_equal(p->icmp6.type, TW_ICMP6_RS);
  assert_int_equal(p->icmp6.has_sll, 1);
  assert_memory_equal(p->icmp6.sll, MAC_A0, 6);
  assert_l4_sum(p);
  release(c);

  /* An MLDv2 report: hop-by-hop header with a router alert (RFC 3810 §5). */
  c = load("mld.pcap");
  assert_int_equal(c->n, 1);
  p = &c->p[0];
  assert_int_equal(p->layers, TW_PKT_L_ETH | TW_PKT_L_IP6 | TW_PKT_L_ICMP6);
  assert_memory_equal(p->eth.src, MAC_A0, 6);
  assert_memory_equal(&p->ip6.src, &ll, 16);
  assert_v6(&p->dst, "ff02::16");
  assert_int_equal(p->ip6.next, TW_IP6_HBH);
  assert_int_equal(p->ip6.next_ext, 1);
  assert_int_equal(p->ip6.ext[0].type, TW_IP6_HBH);
  assert_int_equal(p->ip6.has_ra, 1);
  assert_int_equal(p->ip6.ra, 0); /* 0 = MLD */
  assert_int_equal(p->proto, 58);
  assert_int_equal(p->l4_off, 14 + 40 + p->ip6.ext[0].len);
  assert_int_equal(p->icmp6.type, 143);
  assert_int_equal(p->ip6.hlim, 1);
  assert_l4_sum(p);
  release(c);
}

static void test_arp_capture(void **state) {
  capture *c = load("arp.pcap");
  assert_int_equal(c->n, 2);
  tw_pkt *q = &c->p[0], *r = &c->p[1];
  const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_int_equal(q->layers, TW_PKT_L_ETH | TW_PKT_L_ARP);
  assert_memory_equal(q->eth.dst, bcast, 6);
  assert_int_equal(q->arp.op, TW_ARP_REQUEST);
  assert_memory_equal(q->arp.sha, MAC_A0, 6);
  assert_int_equal(q->arp.spa.s_addr, ip4("198.18.1.2").s_addr);
  assert_int_equal(q->arp.tpa.s_addr, ip4("198.18.1.1").s_addr);
  assert_int_equal(r->arp.op, TW_ARP_REPLY);
  assert_memory_equal(r->eth.dst, MAC_A0, 6);
  assert_memory_equal(r->arp.sha, MAC_R0, 6);
  assert_int_equal(r->arp.spa.s_addr, ip4("198.18.1.1").s_addr);
  assert_memory_equal(r->arp.tha, MAC_A0, 6);
  assert_int_equal(r->arp.tpa.s_addr, ip4("198.18.1.2").s_addr);
  release(c);
}

static void test_ping_record_route(void **state) {
  capture *c = load("ping-rr.pcap");
  assert_int_equal(c->n, 2);
  tw_pkt *q = &c->p[0], *r = &c->p[1];
  /* ping -R: NOP + RR with 9 slots; Linux fills the first with the
   * sender's own address. */
  assert_int_equal(q->layers, TW_PKT_L_ETH | TW_PKT_L_IP4 | TW_PKT_L_ICMP);
  assert_int_equal(q->ip4.hl, 60);
  assert_int_equal(q->ip4.opts, TW_IP4OPT_F_NOP | TW_IP4OPT_F_RR);
  assert_int_equal(q->ip4.opt[0], TW_IP4OPT_NOP);
  assert_int_equal(q->ip4.rr.slots, 9);
  assert_int_equal(q->ip4.rr.filled, 1);
  assert_int_equal(q->ip4.rr.addr[0].s_addr, ip4("198.18.1.2").s_addr);
  assert_int_equal(q->ip4.rr.addr[1].s_addr, 0);
  assert_int_equal(q->icmp.type, TW_ICMP_ECHO);
  assert_v4(&q->dst, "198.18.2.2");
  assert_l4_sum(q);
  /* The reply went a -> r -> b -> r -> a: the router recorded its outgoing
   * address each way (198.18.2.1 towards b, 198.18.1.1 back towards a)
   * around b's own entries. */
  assert_int_equal(r->icmp.type, TW_ICMP_ECHOREPLY);
  assert_int_equal(r->icmp.id, q->icmp.id);
  assert_int_equal(r->icmp.seq, q->icmp.seq);
  assert_int_equal(r->ip4.ttl, 63); /* one router on the way back */
  assert_int_equal(r->ip4.opts & TW_IP4OPT_F_RR, TW_IP4OPT_F_RR);
  const char *route[5] = {"198.18.1.2", "198.18.2.1", "198.18.2.2", "198.18.2.2", "198.18.1.1"};
  assert_int_equal(r->ip4.rr.filled, 5);
  assert_int_equal(r->ip4.rr.pointer, 4 + 4 * 5);
  for (int i = 0; i < 5; i++) assert_int_equal(r->ip4.rr.addr[i].s_addr, ip4(route[i]).s_addr);
  assert_int_equal(r->ip4.rr.addr[5].s_addr, 0);
  assert_l4_sum(r);
  release(c);
}

/* An IPv4 timestamp is milliseconds since midnight UT (RFC 791): it must
 * agree with the capture's own clock (the namespaces share the host's). */
static void assert_ts_near(uint32_t ts, struct timeval tv) {
  int64_t ms = (int64_t)(tv.tv_sec % 86400) * 1000 + tv.tv_usec / 1000;
  int64_t d = ms - (int64_t)ts;
  if (d > 43200000) d -= 86400000; /* across midnight */
  if (d < -43200000) d += 86400000;
  assert_true(d > -2000 && d < 2000);
}

static void test_ping_timestamp(void **state) {
  capture *c = load("ping-ts.pcap");
  assert_int_equal(c->n, 4);
  /* -T tsonly: 9 timestamp slots; request stamped once by the sender, the
   * reply by a, r, b, b, r. */
  tw_pkt *q = &c->p[0], *r = &c->p[1];
  assert_int_equal(q->ip4.opts, TW_IP4OPT_F_TS);
  assert_int_equal(q->ip4.ts.flag, TW_IP4TS_ONLY);
  assert_int_equal(q->ip4.ts.slots, 9);
  assert_int_equal(q->ip4.ts.filled, 1);
  assert_ts_near(q->ip4.ts.ts[0], c->ts[0]);
  assert_int_equal(r->ip4.ts.filled, 5);
  assert_int_equal(r->ip4.ts.overflow, 0);
  for (int i = 0; i < 5; i++) {
    assert_ts_near(r->ip4.ts.ts[i], c->ts[1]);
    if (i) assert_true(r->ip4.ts.ts[i] >= r->ip4.ts.ts[i - 1]);
  }
  assert_int_equal(r->ip4.ts.ts[5], 0);
  assert_l4_sum(q);
  assert_l4_sum(r);
  /* -T tsandaddr: 4 address+timestamp pairs; the reply fills all four
   * (a, r's interface towards a, b, b) and counts one hop in overflow. */
  q = &c->p[2];
  r = &c->p[3];
  assert_int_equal(q->ip4.ts.flag, TW_IP4TS_ADDR);
  assert_int_equal(q->ip4.ts.slots, 4);
  assert_int_equal(q->ip4.ts.filled, 1);
  assert_int_equal(q->ip4.ts.addr[0].s_addr, ip4("198.18.1.2").s_addr);
  assert_ts_near(q->ip4.ts.ts[0], c->ts[2]);
  assert_int_equal(r->ip4.ts.filled, 4);
  assert_int_equal(r->ip4.ts.overflow, 1);
  const char *who[4] = {"198.18.1.2", "198.18.1.1", "198.18.2.2", "198.18.2.2"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(r->ip4.ts.addr[i].s_addr, ip4(who[i]).s_addr);
    assert_ts_near(r->ip4.ts.ts[i], c->ts[3]);
  }
  assert_l4_sum(r);
  release(c);
}

static void check_handshake(capture *c, size_t i, int v6) {
  tw_pkt *syn = &c->p[i], *sa = &c->p[i + 1], *data = &c->p[i + 2];
  uint32_t l3 = v6 ? TW_PKT_L_IP6 : TW_PKT_L_IP4;
  for (int k = 0; k < 3; k++) {
    assert_int_equal(c->p[i + k].layers, TW_PKT_L_ETH | l3 | TW_PKT_L_TCP);
    assert_l4_sum(&c->p[i + k]);
  }
  if (v6) {
    assert_v6(&syn->src, "2001:db8:1::2");
    assert_v6(&syn->dst, "2001:db8:2::2");
    assert_int_equal(sa->ip6.hlim, 63);
  } else {
    assert_v4(&syn->src, "198.18.1.2");
    assert_v4(&syn->dst, "198.18.2.2");
    assert_int_equal(sa->ip4.ttl, 63);
    assert_int_equal(syn->ip4.df, 1);
  }
  assert_int_equal(syn->sport, v6 ? 40006 : 40000);
  assert_int_equal(syn->dport, 8080);
  assert_int_equal(syn->tcp.flags, TW_TCP_SYN);
  /* Linux SYN options: MSS, SACK-permitted, timestamps, NOP, window scale;
   * MSS = 1500 - IP header - 20. */
  const tw_pkt_tcp_opts *o = &syn->tcp.opts;
  const uint8_t kinds[5] = {2, 4, 8, 1, 3};
  assert_int_equal(o->nkinds, 5);
  assert_memory_equal(o->kinds, kinds, 5);
  assert_int_equal(o->mss, v6 ? 1440 : 1460);
  assert_int_equal(o->tsecr, 0);
  assert_true(o->wscale <= 14);
  assert_int_equal(syn->tcp.hl, 40);
  /* SYN-ACK answers it. */
  assert_int_equal(sa->sport, 8080);
  assert_int_equal(sa->dport, syn->sport);
  assert_int_equal(sa->tcp.flags, TW_TCP_SYN | TW_TCP_ACK);
  assert_int_equal(sa->tcp.ack, syn->tcp.seq + 1);
  assert_int_equal(sa->tcp.opts.mss, v6 ? 1440 : 1460);
  assert_int_equal(sa->tcp.opts.tsecr, o->tsval);
  assert_int_equal(sa->tcp.opts.present & TW_TCPOPT_F_SACKOK, TW_TCPOPT_F_SACKOK);
  /* Then "hello\n". */
  assert_int_equal(data->tcp.flags, TW_TCP_PSH | TW_TCP_ACK);
  assert_int_equal(data->tcp.seq, syn->tcp.seq + 1);
  assert_int_equal(data->tcp.ack, sa->tcp.seq + 1);
  assert_int_equal(data->tcp.opts.present, TW_TCPOPT_F_NOP | TW_TCPOPT_F_TS);
  assert_int_equal(data->tcp.opts.tsecr, sa->tcp.opts.tsval);
  assert_int_equal(data->payload_len, 6);
  assert_memory_equal(data->buf + data->payload_off, "hello\n", 6);
}

static void test_tcp_handshake(void **state) {
  capture *c = load("tcp.pcap");
  assert_int_equal(c->n, 6);
  check_handshake(c, 0, 0);
  check_handshake(c, 3, 1);
  release(c);
}

static void test_udp_icmp_errors(void **state) {
  capture *c = load("udp-icmp.pcap");
  assert_int_equal(c->n, 8);
  for (size_t i = 0; i < 8; i++) assert_l4_sum(&c->p[i]);
  /* IPv4: closed port on b -> port unreachable from b. */
  tw_pkt *u = &c->p[0], *e = &c->p[1];
  assert_int_equal(u->layers, TW_PKT_L_ETH | TW_PKT_L_IP4 | TW_PKT_L_UDP);
  assert_int_equal(u->sport, 40001);
  assert_int_equal(u->dport, 9);
  assert_int_equal(u->payload_len, 6);
  assert_memory_equal(u->buf + u->payload_off, "probe\n", 6);
  assert_int_equal(e->layers, TW_PKT_L_ETH | TW_PKT_L_IP4 | TW_PKT_L_ICMP | TW_PKT_L_QUOTE);
  assert_int_equal(e->icmp.type, TW_ICMP_UNREACH);
  assert_int_equal(e->icmp.code, 3);
  assert_v4(&e->src, "198.18.2.2");
  assert_int_equal(e->quote.proto, 17);
  assert_v4(&e->quote.src, "198.18.1.2");
  assert_v4(&e->quote.dst, "198.18.2.2");
  assert_int_equal(e->quote.sport, 40001);
  assert_int_equal(e->quote.dport, 9);
  assert_int_equal(e->quote.udp_len, 14);
  assert_int_equal(e->quote.ip_id, u->ip4.id);
  assert_int_equal(e->quote.ttl, 63); /* as it arrived at b */
  /* The quote is the probe as b saw it: the same UDP header bytes. */
  assert_memory_equal(e->buf + e->quote.l4_off, u->buf + u->l4_off, 8);
  /* IPv4 TTL 1 -> time exceeded from the router. */
  u = &c->p[2];
  e = &c->p[3];
  assert_int_equal(u->ip4.ttl, 1);
  assert_int_equal(u->sport, 40002);
  assert_int_equal(u->dport, 33434);
  assert_int_equal(e->icmp.type, TW_ICMP_TIMXCEED);
  assert_int_equal(e->icmp.code, 0);
  assert_v4(&e->src, "198.18.1.1");
  assert_int_equal(e->quote.ttl, 1);
  assert_int_equal(e->quote.sport, 40002);
  assert_int_equal(e->quote.dport, 33434);
  assert_v4(&e->quote.dst, "198.18.2.2");
  /* IPv6: port unreachable (code 4) from b, time exceeded from r. */
  u = &c->p[4];
  e = &c->p[5];
  assert_int_equal(u->layers, TW_PKT_L_ETH | TW_PKT_L_IP6 | TW_PKT_L_UDP);
  assert_int_equal(u->sport, 40003);
  assert_int_equal(e->layers, TW_PKT_L_ETH | TW_PKT_L_IP6 | TW_PKT_L_ICMP6 | TW_PKT_L_QUOTE);
  assert_int_equal(e->icmp6.type, TW_ICMP6_UNREACH);
  assert_int_equal(e->icmp6.code, 4);
  assert_v6(&e->src, "2001:db8:2::2");
  assert_int_equal(e->quote.version, 6);
  assert_int_equal(e->quote.proto, 17);
  assert_v6(&e->quote.src, "2001:db8:1::2");
  assert_v6(&e->quote.dst, "2001:db8:2::2");
  assert_int_equal(e->quote.sport, 40003);
  assert_int_equal(e->quote.dport, 9);
  u = &c->p[6];
  e = &c->p[7];
  assert_int_equal(u->ip6.hlim, 1);
  assert_int_equal(e->icmp6.type, TW_ICMP6_TIMXCEED);
  assert_v6(&e->src, "2001:db8:1::1");
  assert_int_equal(e->quote.ttl, 1);
  assert_int_equal(e->quote.sport, 40004);
  assert_int_equal(e->quote.dport, 33434);
  release(c);
}

static void test_icmp6_nd_echo(void **state) {
  capture *c = load("icmp6.pcap");
  assert_int_equal(c->n, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(c->p[i].layers, TW_PKT_L_ETH | TW_PKT_L_IP6 | TW_PKT_L_ICMP6);
    assert_l4_sum(&c->p[i]);
  }
  /* NS for the router's address, to its solicited-node group ff02::1:ff
   * + the low 24 bits (RFC 4291 §2.7.1), mapped to 33:33 + low 32 bits. */
  tw_pkt *ns = &c->p[0], *na = &c->p[1];
  struct in6_addr tgt = ip6("2001:db8:1::1"), sn = ip6("ff02::1:ff00:0");
  memcpy(sn.s6_addr + 13, tgt.s6_addr + 13, 3);
  const uint8_t snmac[6] = {0x33, 0x33, sn.s6_addr[12], sn.s6_addr[13], sn.s6_addr[14],
                            sn.s6_addr[15]};
  assert_int_equal(ns->icmp6.type, TW_ICMP6_NS);
  assert_memory_equal(&ns->icmp6.target, &tgt, 16);
  assert_memory_equal(&ns->ip6.dst, &sn, 16);
  assert_memory_equal(ns->eth.dst, snmac, 6);
  assert_int_equal(ns->ip6.hlim, 255);
  assert_int_equal(ns->icmp6.has_sll, 1);
  assert_memory_equal(ns->icmp6.sll, MAC_A0, 6);
  /* NA from the router: R (it forwards), S, O; its MAC as target LL. */
  assert_int_equal(na->icmp6.type, TW_ICMP6_NA);
  assert_memory_equal(&na->icmp6.target, &tgt, 16);
  assert_int_equal(na->icmp6.na_flags, TW_ND_NA_ROUTER | TW_ND_NA_SOLICITED | TW_ND_NA_OVERRIDE);
  assert_int_equal(na->icmp6.has_tll, 1);
  assert_memory_equal(na->icmp6.tll, MAC_R0, 6);
  assert_memory_equal(na->eth.src, MAC_R0, 6);
  /* Echo to b through r. */
  tw_pkt *q = &c->p[2], *r = &c->p[3];
  assert_int_equal(q->icmp6.type, TW_ICMP6_ECHO);
  assert_int_equal(r->icmp6.type, TW_ICMP6_ECHOREPLY);
  assert_int_equal(r->icmp6.id, q->icmp6.id);
  assert_int_equal(r->icmp6.seq, 1);
  assert_v6(&q->dst, "2001:db8:2::2");
  assert_v6(&r->src, "2001:db8:2::2");
  assert_int_equal(r->ip6.hlim, 63);
  assert_int_equal(q->payload_len, 56); /* ping's default data size */
  release(c);
}

static void test_fragments(void **state) {
  capture *c = load("frag.pcap");
  assert_int_equal(c->n, 8);
  static uint8_t whole[4096];
  /* IPv4: ping -s 2000 = 2008 bytes of ICMP in 1480 + 528. */
  for (size_t i = 0; i < 4; i += 2) {
    tw_pkt *a = &c->p[i], *b = &c->p[i + 1];
    assert_int_equal(a->layers, TW_PKT_L_ETH | TW_PKT_L_IP4 | TW_PKT_L_FRAG | TW_PKT_L_ICMP);
    assert_int_equal(b->layers, TW_PKT_L_ETH | TW_PKT_L_IP4 | TW_PKT_L_FRAG);
    assert_int_equal(a->ip4.mf, 1);
    assert_int_equal(a->ip4.frag_off, 0);
    assert_int_equal(b->ip4.mf, 0);
    assert_int_equal(b->ip4.frag_off, 1480);
    assert_int_equal(a->ip4.id, b->ip4.id);
    assert_int_equal(a->icmp.type, i ? TW_ICMP_ECHOREPLY : TW_ICMP_ECHO);
    assert_int_equal(tw_pkt_l4_csum_ok(a), -EINVAL);
    assert_int_equal(a->l4_len + b->l4_len, 2008);
    /* Reassembled, the ICMP checksum verifies. */
    memcpy(whole, a->buf + a->l4_off, a->l4_len);
    memcpy(whole + b->ip4.frag_off, b->buf + b->l4_off, b->l4_len);
    assert_int_equal(ref_csum(whole, 2008), 0);
    assert_int_equal(ref_csum(a->buf + a->l3_off, 20), 0);
  }
  /* IPv6: fragments of 1448 and 560 bytes after the 8-byte fragment header. */
  for (size_t i = 4; i < 8; i += 2) {
    tw_pkt *a = &c->p[i], *b = &c->p[i + 1];
    assert_int_equal(a->layers, TW_PKT_L_ETH | TW_PKT_L_IP6 | TW_PKT_L_FRAG | TW_PKT_L_ICMP6);
    assert_int_equal(b->layers, TW_PKT_L_ETH | TW_PKT_L_IP6 | TW_PKT_L_FRAG);
    assert_int_equal(a->ip6.next, TW_IP6_FRAG);
    assert_int_equal(a->ip6.frag_mf, 1);
    assert_int_equal(a->ip6.frag_off, 0);
    assert_int_equal(b->ip6.frag_mf, 0);
    assert_int_equal(b->ip6.frag_off, 1448);
    assert_int_equal(a->ip6.frag_id, b->ip6.frag_id);
    assert_int_equal(b->proto, 58);
    assert_int_equal(a->icmp6.type, i == 4 ? TW_ICMP6_ECHO : TW_ICMP6_ECHOREPLY);
    assert_int_equal(a->l4_len + b->l4_len, 2008);
    memcpy(whole, a->buf + a->l4_off, a->l4_len);
    memcpy(whole + b->ip6.frag_off, b->buf + b->l4_off, b->l4_len);
    assert_int_equal(ref_l4_csum(AF_INET6, &a->ip6.src, &a->ip6.dst, 58, whole, 2008), 0);
  }
  release(c);
}

/* Every real packet at every shorter length: an error below the end of
 * its last header or IP packet, never a crash or an overread (ASan). */
static void test_all_truncations(void **state) {
  const char *files[] = {"rs.pcap", "mld.pcap", "arp.pcap", "ping-rr.pcap", "ping-ts.pcap",
                         "tcp.pcap", "udp-icmp.pcap", "icmp6.pcap", "frag.pcap"};
  size_t checked = 0;
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    capture *c = load(files[f]);
    for (size_t i = 0; i < c->n; i++) {
      const tw_pkt *w = &c->p[i];
      size_t end = w->l3_off + w->l3_len;
      assert_true(end <= c->len[i]);
      for (size_t len = 0; len < c->len[i]; len++) {
        uint8_t *b = malloc(len ? len : 1);
        memcpy(b, c->data[i], len);
        tw_pkt p;
        int r = tw_pkt_parse(b, len, c->link, &p);
        if (len < end) {
          assert_int_equal(r, TW_EMALFORMED);
          assert_int_equal(p.truncated, 1);
          assert_int_equal(p.layers & ~w->layers, 0);
        } else {
          assert_int_equal(r, 0);
        }
        r = tw_pkt_parse_ex(b, len, c->link, TW_PKT_F_SNAP, &p);
        assert_int_equal(p.layers & ~w->layers, 0);
        if (r) assert_int_equal(p.truncated, 1);
        free(b);
        checked++;
      }
    }
    release(c);
  }
  assert_true(checked > 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rs_mld),
      cmocka_unit_test(test_arp_capture),
      cmocka_unit_test(test_ping_record_route),
      cmocka_unit_test(test_ping_timestamp),
      cmocka_unit_test(test_tcp_handshake),
      cmocka_unit_test(test_udp_icmp_errors),
      cmocka_unit_test(test_icmp6_nd_echo),
      cmocka_unit_test(test_fragments),
      cmocka_unit_test(test_all_truncations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
