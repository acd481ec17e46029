/* test_packet_l4.c: TCP (with every common option), UDP, ICMP and ICMPv6
 * (echo, timestamps, errors with their quoted packet, neighbour discovery)
 * against bytes laid out by hand from RFC 9293, 7323, 2018, 768, 792, 4443
 * and 4861: parse, build, and each malformation with its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <trawl/packet.h>

#include "test_packet.h"

static const uint8_t mac_a[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};

/* ---- TCP ------------------------------------------------------------------ */

/* A Linux-style SYN: 40000 -> 80, seq 0x11223344, data offset 10, SYN,
 * window 64240; options MSS 1460, SACK-permitted, timestamps (0x01020304,
 * 0), NOP, window scale 7. */
static const uint8_t syn[40] = {
    0x9c, 0x40, 0x00, 0x50, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0xa0, 0x02,
    0xfa, 0xf0, 0, 0, 0, 0,
    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7};

static void test_tcp_syn(void **state) {
  tw_pkt_tcp t;
  int why = -1;
  assert_int_equal(tw_pkt_tcp_parse(syn, sizeof syn, &t, &why), 40);
  assert_int_equal(t.sport, 40000);
  assert_int_equal(t.dport, 80);
  assert_int_equal(t.seq, 0x11223344);
  assert_int_equal(t.ack, 0);
  assert_int_equal(t.hl, 40);
  assert_int_equal(t.flags, TW_TCP_SYN);
  assert_int_equal(t.win, 64240);
  assert_int_equal(t.optlen, 20);
  assert_ptr_equal(t.opt, syn + 20);
  const tw_pkt_tcp_opts *o = &t.opts;
  assert_int_equal(o->present, TW_TCPOPT_F_MSS | TW_TCPOPT_F_SACKOK | TW_TCPOPT_F_TS |
                                   TW_TCPOPT_F_NOP | TW_TCPOPT_F_WS);
  assert_int_equal(o->mss, 1460);
  assert_int_equal(o->wscale, 7);
  assert_int_equal(o->tsval, 0x01020304);
  assert_int_equal(o->tsecr, 0);
  assert_int_equal(o->nsack, 0);
  const uint8_t kinds[5] = {2, 4, 8, 1, 3};
  assert_int_equal(o->nkinds, 5);
  assert_memory_equal(o->kinds, kinds, 5);

  /* The options from the decoded fields in Linux order, then the header. */
  tw_pkt_tcp_opts bo;
  memset(&bo, 0, sizeof bo);
  bo.present = TW_TCPOPT_F_MSS | TW_TCPOPT_F_SACKOK | TW_TCPOPT_F_TS | TW_TCPOPT_F_WS;
  bo.mss = 1460;
  bo.wscale = 7;
  bo.tsval = 0x01020304;
  uint8_t ob[40];
  assert_int_equal(tw_pkt_tcp_opts_build(ob, sizeof ob, &bo), 20);
  assert_memory_equal(ob, syn + 20, 20);
  assert_int_equal(tw_pkt_tcp_opts_build(ob, 19, &bo), -ENOBUFS);
  tw_pkt_tcp h;
  memset(&h, 0, sizeof h);
  h.sport = 40000;
  h.dport = 80;
  h.seq = 0x11223344;
  h.flags = TW_TCP_SYN;
  h.win = 64240;
  h.opt = ob;
  h.optlen = 20;
  uint8_t out[60];
  assert_int_equal(tw_pkt_tcp_build(out, sizeof out, &h), 40);
  assert_memory_equal(out, syn, 40);
  assert_int_equal(tw_pkt_tcp_build(out, 39, &h), -ENOBUFS);
  /* Parsed struct builds the same bytes back. */
  assert_int_equal(tw_pkt_tcp_build(out, sizeof out, &t), 40);
  assert_memory_equal(out, syn, 40);
}

static void test_tcp_opts_build(void **state) {
  tw_pkt_tcp_opts o;
  uint8_t b[48];
  memset(&o, 0, sizeof o);
  /* Timestamps alone: NOP NOP TS; SACK-permitted alone: NOP NOP SACKOK. */
  o.present = TW_TCPOPT_F_TS;
  o.tsval = 7;
  o.tsecr = 9;
  const uint8_t ts[12] = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), 12);
  assert_memory_equal(b, ts, 12);
  o.present = TW_TCPOPT_F_SACKOK;
  const uint8_t sok[4] = {1, 1, 4, 2};
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), 4);
  assert_memory_equal(b, sok, 4);
  /* An ACK with timestamps and two SACK blocks (RFC 2018 §3). */
  o.present = TW_TCPOPT_F_TS | TW_TCPOPT_F_SACK;
  o.nsack = 2;
  o.sack[0].left = 0x1000;
  o.sack[0].right = 0x2000;
  o.sack[1].left = 0xfffffff0;
  o.sack[1].right = 0x10;
  const uint8_t sack[32] = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 1, 5, 18,
                            0, 0, 0x10, 0, 0, 0, 0x20, 0, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10};
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), 32);
  assert_memory_equal(b, sack, 32);
  /* ...which parses back. */
  uint8_t seg[52] = {0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xd0, 0x10, 0, 1};
  memcpy(seg + 20, sack, 32);
  tw_pkt_tcp t;
  int why = -1;
  assert_int_equal(tw_pkt_tcp_parse(seg, sizeof seg, &t, &why), 52);
  assert_int_equal(t.opts.nsack, 2);
  assert_int_equal(t.opts.sack[1].left, 0xfffffff0);
  assert_int_equal(t.opts.sack[1].right, 0x10);
  assert_int_equal(t.opts.sack[0].right, 0x2000);
  assert_int_equal(t.opts.present, TW_TCPOPT_F_NOP | TW_TCPOPT_F_TS | TW_TCPOPT_F_SACK);
  assert_int_equal(t.flags, TW_TCP_ACK);
  /* Four SACK blocks fill 34 bytes: with TS that is too many. */
  o.nsack = 4;
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), -EMSGSIZE);
  o.present = TW_TCPOPT_F_SACK;
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), 36);
  assert_int_equal(b[3], 34);
  o.nsack = 5;
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), -EINVAL);

  /* An explicit order, as fingerprinting probes need: WS NOP MSS TS
   * SACKOK EOL, padded to 24. */
  memset(&o, 0, sizeof o);
  o.mss = 265;
  o.wscale = 10;
  o.tsval = 0xffffffff;
  const uint8_t order[] = {3, 1, 2, 8, 4, 0};
  o.nkinds = sizeof order;
  memcpy(o.kinds, order, sizeof order);
  const uint8_t want[24] = {3, 3, 10, 1, 2, 4, 0x01, 0x09, 8, 10, 0xff, 0xff,
                            0xff, 0xff, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0};
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), 24);
  assert_memory_equal(b, want, 24);
  o.kinds[2] = 99; /* a kind without a field */
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), -EINVAL);
  const uint8_t many[5] = {8, 8, 8, 8, 8};
  o.nkinds = 5;
  memcpy(o.kinds, many, 5);
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), -EMSGSIZE);
  memset(o.kinds, 1, 40); /* 40 NOPs fit exactly, 41 do not */
  o.nkinds = 40;
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), 40);
  o.nkinds = 41;
  assert_int_equal(tw_pkt_tcp_opts_build(b, sizeof b, &o), -EINVAL);
}

/* Parse a TCP header with `opt` (n bytes, padded with EOL to 4). */
static int tcp_with_opts(const uint8_t *opt, size_t n, tw_pkt_tcp *t, int *why) {
  uint8_t seg[60] = {0x30, 0x39, 0x00, 0x16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x12, 0x01, 0};
  size_t hl = 20 + ((n + 3) & ~(size_t)3);
  seg[12] = (uint8_t)(hl / 4 << 4);
  memcpy(seg + 20, opt, n);
  *why = -1;
  return tw_pkt_tcp_parse(seg, hl, t, why);
}

static void test_tcp_malformed(void **state) {
  tw_pkt_tcp t;
  int why = -1;
  for (size_t n = 0; n < sizeof syn; n++) {
    why = -1;
    assert_int_equal(tw_pkt_tcp_parse(syn, n, &t, &why), TW_EMALFORMED);
    assert_int_equal(why, n < 20 ? TW_PKT_R_TCP_TRUNC : TW_PKT_R_TCP_DOFF_TRUNC);
    assert_int_equal(tw_pkt_reason_truncated(why), 1);
  }
  uint8_t bad[40];
  memcpy(bad, syn, 40);
  bad[12] = 0x40; /* data offset 4 */
  assert_int_equal(tw_pkt_tcp_parse(bad, 40, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_DOFF);
  bad[12] = 0x01; /* data offset 0, AE bit */
  assert_int_equal(tw_pkt_tcp_parse(bad, 40, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_DOFF);
  bad[12] = 0x51;
  assert_int_equal(tw_pkt_tcp_parse(bad, 40, &t, &why), 20);
  assert_int_equal(t.flags, TW_TCP_AE | TW_TCP_SYN);

  const uint8_t l0[] = {1, 30, 0, 0}, l1[] = {30, 1, 0, 0}, ov[] = {2, 4, 5, 0xb4, 30, 8, 0, 0},
                nolen[] = {1, 1, 1, 2}, mss3[] = {2, 3, 5, 0}, ws4[] = {3, 4, 7, 0},
                sok3[] = {4, 3, 0, 0}, sack9[] = {5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                sack2[] = {5, 2, 0, 0}, ts8[] = {8, 8, 0, 0, 0, 0, 0, 0},
                unknown[] = {30, 6, 1, 2, 3, 4, 2, 4, 0x02, 0x18};
  assert_int_equal(tcp_with_opts(l0, 4, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_LEN);
  assert_string_equal(tw_pkt_reason_str(why), "tcp: option length < 2");
  /* The fixed header and the options before the bad one stay decoded. */
  assert_int_equal(t.sport, 12345);
  assert_int_equal(t.flags, TW_TCP_SYN | TW_TCP_ACK);
  assert_int_equal(t.opts.present, TW_TCPOPT_F_NOP);
  assert_int_equal(tcp_with_opts(l1, 4, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_LEN);
  assert_int_equal(tcp_with_opts(ov, 8, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_OVERRUN);
  assert_string_equal(tw_pkt_reason_str(why), "tcp: option length overruns header");
  assert_int_equal(t.opts.mss, 1460);
  assert_int_equal(tcp_with_opts(nolen, 4, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_OVERRUN);
  assert_int_equal(tcp_with_opts(mss3, 4, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_MSS);
  assert_int_equal(tcp_with_opts(ws4, 4, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_WS);
  assert_int_equal(tcp_with_opts(sok3, 4, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_SACKOK);
  assert_int_equal(tcp_with_opts(sack9, 12, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_SACK);
  assert_int_equal(tcp_with_opts(sack2, 4, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_SACK);
  assert_int_equal(tcp_with_opts(ts8, 8, &t, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_TCP_OPT_TS);
  /* An unknown kind is skipped by its length and remembered. */
  assert_int_equal(tcp_with_opts(unknown, 10, &t, &why), 32);
  assert_int_equal(t.opts.present, TW_TCPOPT_F_OTHER | TW_TCPOPT_F_MSS | TW_TCPOPT_F_EOL);
  assert_int_equal(t.opts.mss, 536);
  assert_int_equal(t.opts.kinds[0], 30);
  assert_int_equal(t.opts.nkinds, 3);
}

/* ---- UDP ------------------------------------------------------------------- */

static void test_udp(void **state) {
  const uint8_t d[12] = {0x04, 0xd2, 0x00, 0x35, 0x00, 0x0c, 0x12, 0x34, 'a', 'b', 'c', 'd'};
  tw_pkt_udp u;
  int why = -1;
  assert_int_equal(tw_pkt_udp_parse(d, sizeof d, &u, &why), 8);
  assert_int_equal(u.sport, 1234);
  assert_int_equal(u.dport, 53);
  assert_int_equal(u.len, 12);
  assert_int_equal(u.csum, 0x1234);
  uint8_t out[8];
  assert_int_equal(tw_pkt_udp_build(out, 8, &u, 4), 8);
  assert_memory_equal(out, d, 6);
  assert_int_equal(get16(out + 6), 0);
  assert_int_equal(tw_pkt_udp_build(out, 7, &u, 4), -ENOBUFS);
  assert_int_equal(tw_pkt_udp_build(out, 8, &u, 65528), -EMSGSIZE);
  for (size_t n = 0; n < 8; n++) {
    assert_int_equal(tw_pkt_udp_parse(d, n, &u, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_UDP_TRUNC);
  }
  uint8_t bad[8] = {0, 1, 0, 2, 0, 7, 0, 0};
  assert_int_equal(tw_pkt_udp_parse(bad, 8, &u, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_UDP_LEN_SHORT);
}

/* ---- ICMP ------------------------------------------------------------------ */

/* An IPv4 header + 8 bytes of UDP as a router quotes it: TTL 1, UDP,
 * 198.18.0.1:40001 -> 198.19.0.2:33434, UDP length 20. */
static void quote4_udp(uint8_t *q) {
  const uint8_t h[28] = {0x45, 0, 0, 40, 0xab, 0xcd, 0, 0, 1, 17, 0, 0,
                         198, 18, 0, 1, 198, 19, 0, 2,
                         0x9c, 0x41, 0x82, 0x9a, 0x00, 0x14, 0x55, 0x66};
  memcpy(q, h, 28);
  ref_fix_ip4(q);
}

static void test_icmp_echo_ts(void **state) {
  /* Echo request id 0x1234 seq 1, data "abcd" */
  uint8_t want[12] = {8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd'};
  put16(want + 2, ref_csum(want, 12));
  tw_pkt_icmp ic;
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP_ECHO;
  ic.id = 0x1234;
  ic.seq = 1;
  uint8_t out[64];
  assert_int_equal(tw_pkt_icmp_build(out, sizeof out, &ic, "abcd", 4), 12);
  assert_memory_equal(out, want, 12);
  assert_int_equal(ref_csum(out, 12), 0);
  assert_int_equal(tw_pkt_icmp_build(out, 11, &ic, "abcd", 4), -ENOBUFS);
  tw_pkt_icmp p;
  int why = -1;
  assert_int_equal(tw_pkt_icmp_parse(want, 12, &p, &why), 8);
  assert_int_equal(p.type, 8);
  assert_int_equal(p.id, 0x1234);
  assert_int_equal(p.seq, 1);
  assert_int_equal(p.csum_ok, 1);
  assert_int_equal(p.datalen, 4);
  assert_memory_equal(p.data, "abcd", 4);
  want[9] ^= 1;
  assert_int_equal(tw_pkt_icmp_parse(want, 12, &p, &why), 8);
  assert_int_equal(p.csum_ok, 0);
  for (size_t n = 0; n < 8; n++) {
    assert_int_equal(tw_pkt_icmp_parse(want, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ICMP_TRUNC);
  }

  /* Timestamp request (RFC 792): id 7, seq 8, originate 0x00112233. */
  uint8_t ts[20] = {13, 0, 0, 0, 0, 7, 0, 8, 0x00, 0x11, 0x22, 0x33, 0, 0, 0, 0, 0, 0, 0, 0};
  put16(ts + 2, ref_csum(ts, 20));
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP_TSTAMP;
  ic.id = 7;
  ic.seq = 8;
  ic.ts_orig = 0x112233;
  assert_int_equal(tw_pkt_icmp_build(out, sizeof out, &ic, NULL, 0), 20);
  assert_memory_equal(out, ts, 20);
  /* A reply with receive and transmit times. */
  ts[0] = 14;
  ts[15] = 5;
  ts[19] = 6;
  put16(ts + 2, 0);
  put16(ts + 2, ref_csum(ts, 20));
  assert_int_equal(tw_pkt_icmp_parse(ts, 20, &p, &why), 20);
  assert_int_equal(p.type, TW_ICMP_TSTAMPREPLY);
  assert_int_equal(p.ts_orig, 0x112233);
  assert_int_equal(p.ts_recv, 5);
  assert_int_equal(p.ts_xmit, 6);
  assert_int_equal(p.csum_ok, 1);
  assert_int_equal(p.datalen, 0);
  for (size_t n = 8; n < 20; n++) {
    assert_int_equal(tw_pkt_icmp_parse(ts, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ICMP_TS_TRUNC);
  }
}

static void test_icmp_errors(void **state) {
  uint8_t q[28];
  quote4_udp(q);
  uint8_t out[64], want[36];
  tw_pkt_icmp ic, p;
  int why = -1;
  struct {
    uint8_t type, code;
    uint8_t rest[4];
  } cases[] = {
      {TW_ICMP_UNREACH, 3, {0, 0, 0, 0}},         /* port unreachable */
      {TW_ICMP_UNREACH, 4, {0, 0, 0x05, 0xdc}},   /* fragmentation needed, MTU 1500 */
      {TW_ICMP_TIMXCEED, 0, {0, 0, 0, 0}},        /* TTL exceeded in transit */
      {TW_ICMP_REDIRECT, 1, {198, 18, 0, 254}},   /* redirect for host via gateway */
      {TW_ICMP_PARAMPROB, 0, {20, 0, 0, 0}},      /* pointer 20 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memset(want, 0, sizeof want);
    want[0] = cases[i].type;
    want[1] = cases[i].code;
    memcpy(want + 4, cases[i].rest, 4);
    memcpy(want + 8, q, 28);
    put16(want + 2, ref_csum(want, 36));

    memset(&ic, 0, sizeof ic);
    ic.type = cases[i].type;
    ic.code = cases[i].code;
    ic.mtu = 1500;
    ic.gw = ip4("198.18.0.254");
    ic.pointer = 20;
    assert_int_equal(tw_pkt_icmp_build(out, sizeof out, &ic, q, 28), 36);
    assert_memory_equal(out, want, 36);

    assert_int_equal(tw_pkt_icmp_parse(want, 36, &p, &why), 8);
    assert_int_equal(tw_pkt_icmp_is_error(p.type), 1);
    assert_int_equal(p.csum_ok, 1);
    assert_int_equal(p.datalen, 28);
    if (p.type == TW_ICMP_UNREACH) assert_int_equal(p.mtu, p.code == 4 ? 1500 : 0);
    if (p.type == TW_ICMP_REDIRECT) assert_int_equal(p.gw.s_addr, ip4("198.18.0.254").s_addr);
    if (p.type == TW_ICMP_PARAMPROB) assert_int_equal(p.pointer, 20);

    tw_pkt_quote qt;
    assert_int_equal(tw_pkt_quote_parse(p.data, p.datalen, 100, &qt, &why), 0);
    assert_int_equal(qt.version, 4);
    assert_int_equal(qt.proto, 17);
    assert_int_equal(qt.ttl, 1);
    assert_int_equal(qt.ip_id, 0xabcd);
    assert_int_equal(qt.ip_len, 40);
    assert_int_equal(qt.src.family, AF_INET);
    assert_int_equal(qt.src.v4.s_addr, ip4("198.18.0.1").s_addr);
    assert_int_equal(qt.dst.v4.s_addr, ip4("198.19.0.2").s_addr);
    assert_int_equal(qt.sport, 40001);
    assert_int_equal(qt.dport, 33434);
    assert_int_equal(qt.udp_len, 20);
    assert_int_equal(qt.off, 100);
    assert_int_equal(qt.l4_off, 120);
    assert_int_equal(qt.l4_len, 8);
  }
  assert_int_equal(tw_pkt_icmp_is_error(TW_ICMP_ECHO), 0);
  assert_int_equal(tw_pkt_icmp_is_error(TW_ICMP_SOURCEQUENCH), 1);
}

static void test_icmp_quote(void **state) {
  uint8_t q[64];
  tw_pkt_quote qt;
  int why;
  quote4_udp(q);
  /* Each truncation of IP header + 8 bytes. */
  for (size_t n = 0; n < 28; n++) {
    why = -1;
    assert_int_equal(tw_pkt_quote_parse(q, n, 0, &qt, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ICMP_QUOTE_TRUNC);
  }
  /* A quoted header that is nonsense. */
  q[0] = 0x43;
  assert_int_equal(tw_pkt_quote_parse(q, 28, 0, &qt, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_ICMP_QUOTE_BAD);
  q[0] = 0x25;
  assert_int_equal(tw_pkt_quote_parse(q, 28, 0, &qt, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_ICMP_QUOTE_BAD);

  /* TCP quote with IPv4 options (IHL 6): the seq is the probe's. */
  const uint8_t tq[32] = {0x46, 0, 0, 44, 0, 1, 0x40, 0, 3, 6, 0, 0,
                          198, 18, 0, 1, 198, 19, 0, 2, 1, 1, 1, 1,
                          0xc0, 0x01, 0x01, 0xbb, 0xde, 0xad, 0xbe, 0xef};
  assert_int_equal(tw_pkt_quote_parse(tq, 32, 0, &qt, &why), 0);
  assert_int_equal(qt.proto, 6);
  assert_int_equal(qt.sport, 0xc001);
  assert_int_equal(qt.dport, 443);
  assert_int_equal(qt.tcp_seq, 0xdeadbeef);
  assert_int_equal(qt.l4_off, 24);
  /* A quote longer than 8 bytes: RFC 1812 routers send more. */
  uint8_t longq[64];
  memcpy(longq, tq, 32);
  memset(longq + 32, 0x77, 32);
  assert_int_equal(tw_pkt_quote_parse(longq, 64, 0, &qt, &why), 0);
  assert_int_equal(qt.l4_len, 40);

  /* ICMP echo quote: id and seq. */
  const uint8_t eq[28] = {0x45, 0, 0, 84, 0, 1, 0x40, 0, 1, 1, 0, 0,
                          198, 18, 0, 1, 198, 19, 0, 2, 8, 0, 0x12, 0x34, 0x56, 0x78, 0, 9};
  assert_int_equal(tw_pkt_quote_parse(eq, 28, 0, &qt, &why), 0);
  assert_int_equal(qt.proto, 1);
  assert_int_equal(qt.icmp_type, 8);
  assert_int_equal(qt.icmp_id, 0x5678);
  assert_int_equal(qt.icmp_seq, 9);
  assert_int_equal(qt.sport, 0);

  /* A later fragment: no upper-layer header to read ports from. */
  uint8_t fq[28];
  memcpy(fq, eq, 28);
  fq[9] = 17;
  fq[6] = 0x00;
  fq[7] = 0xb9;
  assert_int_equal(tw_pkt_quote_parse(fq, 28, 0, &qt, &why), 0);
  assert_int_equal(qt.proto, 17);
  assert_int_equal(qt.sport, 0);
  assert_int_equal(qt.dport, 0);
}

/* ---- ICMPv6 ---------------------------------------------------------------- */

static void test_icmp6_echo_errors(void **state) {
  const uint8_t echo[10] = {128, 0, 0, 0, 0xbe, 0xef, 0x00, 0x02, 'h', 'i'};
  tw_pkt_icmp6 ic, p;
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_ECHO;
  ic.id = 0xbeef;
  ic.seq = 2;
  uint8_t out[128];
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, "hi", 2), 10);
  assert_memory_equal(out, echo, 10);
  int why = -1;
  assert_int_equal(tw_pkt_icmp6_parse(echo, 10, &p, &why), 8);
  assert_int_equal(p.id, 0xbeef);
  assert_int_equal(p.seq, 2);
  assert_int_equal(p.datalen, 2);
  for (size_t n = 0; n < 8; n++) {
    assert_int_equal(tw_pkt_icmp6_parse(echo, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ICMP6_TRUNC);
  }

  /* Packet too big, MTU 1280, quoting 2001:db8::1 -> 2001:db8::2 TCP
   * through a fragment header: 33000 -> 22, seq 1. */
  uint8_t tb[8 + 40 + 8 + 8] = {2, 0, 0, 0, 0, 0, 0x05, 0x00,
                                0x60, 0, 0, 0, 0x05, 0x00, 44, 63,
                                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
                                6, 0, 0, 1, 0, 0, 0, 5,
                                0x80, 0xe8, 0x00, 0x16, 0, 0, 0, 1};
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_TOOBIG;
  ic.mtu = 1280;
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, tb + 8, sizeof tb - 8),
                   (int)sizeof tb);
  assert_memory_equal(out, tb, sizeof tb);
  assert_int_equal(tw_pkt_icmp6_parse(tb, sizeof tb, &p, &why), 8);
  assert_int_equal(tw_pkt_icmp6_is_error(p.type), 1);
  assert_int_equal(p.mtu, 1280);
  tw_pkt_quote qt;
  assert_int_equal(tw_pkt_quote_parse(p.data, p.datalen, 0, &qt, &why), 0);
  assert_int_equal(qt.version, 6);
  assert_int_equal(qt.proto, 6);
  assert_int_equal(qt.ttl, 63);
  assert_int_equal(qt.ip_len, 40 + 1280);
  struct in6_addr s = ip6("2001:db8::1"), d = ip6("2001:db8::2");
  assert_int_equal(qt.src.family, AF_INET6);
  assert_memory_equal(&qt.src.v6, &s, 16);
  assert_memory_equal(&qt.dst.v6, &d, 16);
  assert_int_equal(qt.sport, 33000);
  assert_int_equal(qt.dport, 22);
  assert_int_equal(qt.tcp_seq, 1);
  assert_int_equal(qt.l4_off, 48);
  /* (An empty quote has no version: that is ICMP_QUOTE_TRUNC.) */
  for (size_t n = 1; n < sizeof tb - 8; n++) {
    why = -1;
    assert_int_equal(tw_pkt_quote_parse(tb + 8, n, 0, &qt, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ICMP6_QUOTE_TRUNC);
  }
  /* Parameter problem: a 32-bit pointer. */
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_PARAMPROB;
  ic.code = 1;
  ic.pointer = 40;
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, tb + 8, 48), 56);
  const uint8_t pp[8] = {4, 1, 0, 0, 0, 0, 0, 40};
  assert_memory_equal(out, pp, 8);
  assert_int_equal(tw_pkt_icmp6_parse(out, 56, &p, &why), 8);
  assert_int_equal(p.pointer, 40);
}

static void test_icmp6_nd(void **state) {
  /* Neighbour solicitation for 2001:db8::2 with a source link-layer option. */
  const uint8_t ns[32] = {135, 0, 0, 0, 0, 0, 0, 0,
                          0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
                          1, 1, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  tw_pkt_icmp6 ic, p;
  uint8_t out[128];
  int why = -1;
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_NS;
  ic.target = ip6("2001:db8::2");
  ic.has_sll = 1;
  memcpy(ic.sll, mac_a, 6);
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, NULL, 0), 32);
  assert_memory_equal(out, ns, 32);
  assert_int_equal(tw_pkt_icmp6_parse(ns, 32, &p, &why), 24);
  struct in6_addr t = ip6("2001:db8::2");
  assert_memory_equal(&p.target, &t, 16);
  assert_int_equal(p.has_sll, 1);
  assert_int_equal(p.has_tll, 0);
  assert_memory_equal(p.sll, mac_a, 6);
  assert_int_equal(p.ndopts, 1u << TW_ND_OPT_SLL);
  for (size_t n = 0; n < 24; n++) {
    assert_int_equal(tw_pkt_icmp6_parse(ns, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ICMP6_TRUNC);
  }
  /* Cut inside the option: it overruns the message. */
  for (size_t n = 25; n < 32; n++) {
    assert_int_equal(tw_pkt_icmp6_parse(ns, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ICMP6_ND_OVERRUN);
  }

  /* Neighbour advertisement, solicited + override, target link-layer. */
  const uint8_t na[32] = {136, 0, 0, 0, 0x60, 0, 0, 0,
                          0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
                          2, 1, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_NA;
  ic.na_flags = TW_ND_NA_SOLICITED | TW_ND_NA_OVERRIDE;
  ic.target = ip6("2001:db8::2");
  ic.has_tll = 1;
  memcpy(ic.tll, mac_a, 6);
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, NULL, 0), 32);
  assert_memory_equal(out, na, 32);
  assert_int_equal(tw_pkt_icmp6_parse(na, 32, &p, &why), 24);
  assert_int_equal(p.na_flags, TW_ND_NA_SOLICITED | TW_ND_NA_OVERRIDE);
  assert_int_equal(p.has_tll, 1);
  assert_memory_equal(p.tll, mac_a, 6);

  /* Router solicitation with a source link-layer option. */
  const uint8_t rs[16] = {133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_RS;
  ic.has_sll = 1;
  memcpy(ic.sll, mac_a, 6);
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, NULL, 0), 16);
  assert_memory_equal(out, rs, 16);
  assert_int_equal(tw_pkt_icmp6_parse(rs, 16, &p, &why), 8);
  assert_int_equal(p.has_sll, 1);

  /* Router advertisement: hop limit 64, M|O, lifetime 1800, reachable
   * 30000, retrans 1000; then an MTU option and the SLL option. */
  const uint8_t ra[16] = {134, 0, 0, 0, 64, 0xc0, 0x07, 0x08, 0, 0, 0x75, 0x30, 0, 0, 0x03, 0xe8};
  const uint8_t mtuopt[8] = {5, 1, 0, 0, 0, 0, 0x05, 0xdc};
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_RA;
  ic.ra_hlim = 64;
  ic.ra_flags = 0xc0;
  ic.ra_lifetime = 1800;
  ic.ra_reachable = 30000;
  ic.ra_retrans = 1000;
  ic.has_sll = 1;
  memcpy(ic.sll, mac_a, 6);
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, mtuopt, 8), 32);
  assert_memory_equal(out, ra, 16);
  assert_memory_equal(out + 16, rs + 8, 8);
  assert_memory_equal(out + 24, mtuopt, 8);
  assert_int_equal(tw_pkt_icmp6_parse(out, 32, &p, &why), 16);
  assert_int_equal(p.ra_hlim, 64);
  assert_int_equal(p.ra_flags, 0xc0);
  assert_int_equal(p.ra_lifetime, 1800);
  assert_int_equal(p.ra_reachable, 30000);
  assert_int_equal(p.ra_retrans, 1000);
  assert_int_equal(p.ndopts, (1u << TW_ND_OPT_SLL) | (1u << TW_ND_OPT_MTU));

  /* Redirect: target, destination, target link-layer option. */
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP6_REDIRECT;
  ic.target = ip6("fe80::1");
  ic.rdst = ip6("2001:db8::77");
  ic.has_tll = 1;
  memcpy(ic.tll, mac_a, 6);
  assert_int_equal(tw_pkt_icmp6_build(out, sizeof out, &ic, NULL, 0), 48);
  assert_int_equal(out[0], 137);
  assert_int_equal(out[40], TW_ND_OPT_TLL);
  assert_int_equal(tw_pkt_icmp6_parse(out, 48, &p, &why), 40);
  struct in6_addr rd = ip6("2001:db8::77"), tg = ip6("fe80::1");
  assert_memory_equal(&p.rdst, &rd, 16);
  assert_memory_equal(&p.target, &tg, 16);
  assert_int_equal(p.has_tll, 1);

  /* ND option length 0, and an option running past the end. */
  uint8_t bad[40];
  memcpy(bad, ns, 32);
  bad[25] = 0;
  assert_int_equal(tw_pkt_icmp6_parse(bad, 32, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_ICMP6_ND_LEN);
  assert_string_equal(tw_pkt_reason_str(why), "icmp6: ND option length 0");
  bad[25] = 2;
  assert_int_equal(tw_pkt_icmp6_parse(bad, 32, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_ICMP6_ND_OVERRUN);
  bad[25] = 1;
  bad[32] = 1; /* a lone option type byte after a good option */
  assert_int_equal(tw_pkt_icmp6_parse(bad, 33, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_ICMP6_ND_OVERRUN);
  /* SLL with a non-Ethernet length (16 bytes) is kept as seen, not decoded. */
  memset(bad + 32, 0, 8);
  bad[25] = 2;
  assert_int_equal(tw_pkt_icmp6_parse(bad, 40, &p, &why), 24);
  assert_int_equal(p.has_sll, 0);
  assert_int_equal(p.ndopts, 1u << TW_ND_OPT_SLL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_syn),
      cmocka_unit_test(test_tcp_opts_build),
      cmocka_unit_test(test_tcp_malformed),
      cmocka_unit_test(test_udp),
      cmocka_unit_test(test_icmp_echo_ts),
      cmocka_unit_test(test_icmp_errors),
      cmocka_unit_test(test_icmp_quote),
      cmocka_unit_test(test_icmp6_echo_errors),
      cmocka_unit_test(test_icmp6_nd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
