/* test_os_fp.c: the fingerprint computations of src/os/fp-seq.c,
 * src/os/fp-tcp.c and src/os/fp-icmp.c on replies built with libtrawl's
 * packet builders (trawl/packet.h) and parsed back. Expected values are
 * worked out by hand from the formulas in the headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <trawl/packet.h>

#include "db/os-db.h"
#include "os/fp-icmp.h"
#include "os/match.h"
#include "os/fp-seq.h"
#include "os/fp-tcp.h"

static void warns_count(void *ctx, const char *msg) {
  (void)msg;
  (*(unsigned *)ctx)++;
}

/* ---- SEQ ----------------------------------------------------------------- */

static void test_ipid_class(void **state) {
  char c[8];
  const uint16_t zero[] = {0, 0, 0};
  const uint16_t rd[] = {100, 30100, 30101};
  const uint16_t same[] = {0x1234, 0x1234, 0x1234};
  const uint16_t ri[] = {100, 1200, 2400};
  const uint16_t ri256[] = {0, 256 * 1000 % 65536, 0}; /* steps of 256000 wrap: see below */
  const uint16_t bi[] = {0x0100, 0x0300, 0x0400};
  const uint16_t inc[] = {65534, 65535, 3}; /* wraps: steps 1 and 4 */
  const uint16_t none[] = {100, 150, 200};
  assert_int_equal(os_seq_ipid_class(zero, 3, 3, 1, c), 1);
  assert_string_equal(c, "Z");
  assert_int_equal(os_seq_ipid_class(rd, 3, 3, 1, c), 1);
  assert_string_equal(c, "RD");
  assert_int_equal(os_seq_ipid_class(rd, 3, 2, 0, c), 1); /* II: no RD, step 30000 -> RI */
  assert_string_equal(c, "RI");
  assert_int_equal(os_seq_ipid_class(same, 3, 3, 1, c), 1);
  assert_string_equal(c, "1234");
  assert_int_equal(os_seq_ipid_class(ri, 3, 3, 1, c), 1);
  assert_string_equal(c, "RI");
  (void)ri256; /* a 16-bit step can never reach 256000: that rule needs no test */
  assert_int_equal(os_seq_ipid_class(bi, 3, 3, 1, c), 1);
  assert_string_equal(c, "BI");
  assert_int_equal(os_seq_ipid_class(inc, 3, 3, 1, c), 1);
  assert_string_equal(c, "I");
  assert_int_equal(os_seq_ipid_class(none, 3, 3, 1, c), 0);
  assert_int_equal(os_seq_ipid_class(inc, 2, 3, 1, c), 0); /* too few */
}

static void seq_input(struct os_seq_in *in, uint32_t isn_step, uint32_t ts_step) {
  memset(in, 0, sizeof *in);
  for (int i = 0; i < OS_SEQ_PROBES; i++) {
    in->syn[i].got = 1;
    in->syn[i].has_ts = 1;
    in->syn[i].isn = 0xfffff000u + (uint32_t)i * isn_step; /* wraps past 2^32 */
    in->syn[i].tsval = 5000 + (uint32_t)i * ts_step;
    in->syn[i].ipid = (uint16_t)(1000 + i);
    in->syn[i].sent_us = 1000000 + (uint64_t)i * 100000; /* 100 ms apart */
  }
  in->nclosed = 3;
  in->closed_ipid[0] = 1006;
  in->closed_ipid[1] = 1007;
  in->closed_ipid[2] = 1009;
  in->nicmp = 2;
  in->icmp_ipid[0] = 1010;
  in->icmp_ipid[1] = 1011;
}

static void test_seq(void **state) {
  struct os_seq_in in;
  struct os_fp fp;
  /* ISN +25000 per 100 ms: GCD 25000 = 61A8; rate 250000/s, 8*log2 =
   * 143.4 -> 8F; equal rates: SP 0. Timestamps +100 per 100 ms: 1000/s,
   * log2 = 9.97 -> A. IDs +1: I everywhere; the echo's 1010 < 1005 + 3 -> no,
   * 1010 >= 1008: O. */
  seq_input(&in, 25000, 100);
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "GCD"), "61A8");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "ISR"), "8F");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "SP"), "0");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TS"), "A");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TI"), "I");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "CI"), "I");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "II"), "I");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "SS"), "O");
  assert_null(os_fp_get(&fp, OSDB_SEQ, "R"));
  in.icmp_ipid[0] = 1007; /* 1007 < 1005 + 3 * 1: shared counter */
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "SS"), "S");

  /* uneven ISN steps 1000, 3000, 1000, 3000, 1000 (GCD 1000 > 9: rates /
   * 1000 = 10, 30, 10, 30, 10 per s, mean 18, population sd = sqrt(96) =
   * 9.80, 8*log2 = 26.3 -> 1A); mean rate 18000/s -> 8*log2 = 113.1 -> 71 */
  static const uint32_t steps[] = {1000, 3000, 1000, 3000, 1000};
  seq_input(&in, 0, 10);
  for (int i = 1; i < OS_SEQ_PROBES; i++) in.syn[i].isn = in.syn[i - 1].isn + steps[i - 1];
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "GCD"), "3E8");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "SP"), "1A");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "ISR"), "71");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TS"), "7"); /* 100/s */
  /* a decreasing ISN counts the short way: -500 is a step of 500 */
  seq_input(&in, 0, 0);
  for (int i = 1; i < OS_SEQ_PROBES; i++) in.syn[i].isn = in.syn[i - 1].isn - 500;
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "GCD"), "1F4");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TS"), "1"); /* a stopped clock: 0/s */
  /* timestamps: one missing -> U, one zero -> 0 */
  seq_input(&in, 1, 100);
  in.syn[3].has_ts = 0;
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TS"), "U");
  seq_input(&in, 1, 100);
  in.syn[2].tsval = 0;
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TS"), "0");
  /* three replies: no SP; TI still computed; nothing at all: R=N */
  seq_input(&in, 25000, 100);
  in.syn[1].got = in.syn[3].got = in.syn[5].got = 0;
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_null(os_fp_get(&fp, OSDB_SEQ, "SP"));
  assert_non_null(os_fp_get(&fp, OSDB_SEQ, "ISR"));
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "GCD"), "C350"); /* steps of 50000 */
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TI"), "I");
  memset(&in, 0, sizeof in);
  os_fp_init(&fp);
  os_fp_seq(&fp, &in);
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "R"), "N");
}

/* ---- TCP ------------------------------------------------------------------ */

struct built {
  uint8_t buf[600];
  tw_pkt p;
};

/* Builds and parses an IPv4 TCP reply from the target. */
static void tcp_reply(struct built *b, uint8_t ttl, int df, const tw_pkt_tcp *t,
                      const tw_pkt_tcp_opts *o, const char *data) {
  tw_pkt_ipspec ip;
  uint8_t opts[40];
  memset(&ip, 0, sizeof ip);
  assert_int_equal(tw_pkt_addr_parse(&ip.src, "198.18.1.2"), 0);
  assert_int_equal(tw_pkt_addr_parse(&ip.dst, "198.18.0.1"), 0);
  ip.ttl = ttl;
  ip.df = (uint8_t)df;
  ip.id = 77;
  tw_pkt_tcp tt = *t;
  if (o) {
    int n = tw_pkt_tcp_opts_build(opts, sizeof opts, o);
    assert_true(n >= 0);
    tt.opt = opts;
    tt.optlen = (uint8_t)n;
  }
  size_t dl = data ? strlen(data) : 0;
  int len = tw_pkt_build_tcp(b->buf, sizeof b->buf, &ip, &tt, data, dl);
  assert_true(len > 0);
  assert_int_equal(tw_pkt_parse(b->buf, (size_t)len, TW_LINK_RAW, &b->p), 0);
}

static tw_pkt_tcp_opts linux_opts(uint32_t tsecr) {
  tw_pkt_tcp_opts o;
  memset(&o, 0, sizeof o);
  o.present = TW_TCPOPT_F_MSS | TW_TCPOPT_F_SACKOK | TW_TCPOPT_F_TS | TW_TCPOPT_F_WS;
  o.mss = 1460;
  o.wscale = 7;
  o.tsval = 12345;
  o.tsecr = tsecr;
  return o;
}

static void test_tcp_opts(void **state) {
  struct built b;
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_SYN | TW_TCP_ACK;
  tw_pkt_tcp_opts o = linux_opts(0);
  tcp_reply(&b, 64, 1, &t, &o, NULL);
  char s[64];
  assert_int_equal(os_fp_tcp_opts(&b.p.tcp, s, sizeof s), strlen("M5B4ST10NW7"));
  assert_string_equal(s, "M5B4ST10NW7");
  o = linux_opts(99);
  tcp_reply(&b, 64, 1, &t, &o, NULL);
  os_fp_tcp_opts(&b.p.tcp, s, sizeof s);
  assert_string_equal(s, "M5B4ST11NW7");
  /* explicit order with an EOL: MSS 536, NOP, WS 0, EOL */
  static const uint8_t kinds[] = {2, 1, 3, 0};
  memset(&o, 0, sizeof o);
  o.present = TW_TCPOPT_F_MSS | TW_TCPOPT_F_WS;
  o.mss = 536;
  o.nkinds = sizeof kinds;
  memcpy(o.kinds, kinds, sizeof kinds);
  tcp_reply(&b, 64, 1, &t, &o, NULL);
  os_fp_tcp_opts(&b.p.tcp, s, sizeof s);
  assert_string_equal(s, "M218NW0L");
  os_fp_tcp_opts(&b.p.tcp, s, 4); /* cut at whole pieces */
  assert_string_equal(s, "");
  os_fp_tcp_opts(&b.p.tcp, s, 6);
  assert_string_equal(s, "M218N");
  /* no options */
  tcp_reply(&b, 64, 1, &t, NULL, NULL);
  os_fp_tcp_opts(&b.p.tcp, s, sizeof s);
  assert_string_equal(s, "");
}

static void test_crc32(void **state) {
  /* the CRC-32 check value of "123456789" */
  assert_int_equal(os_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
  assert_int_equal(os_crc32(NULL, 0), 0);
}

static void test_tcp_tests(void **state) {
  struct built b;
  struct os_fp fp;
  struct os_tcp_sent sent = {.seq = 1000, .ack = 5000};
  tw_pkt_tcp t;
  tw_pkt_tcp_opts o = linux_opts(0);
  os_fp_init(&fp);
  /* T1: SYN+ACK, own ISN, ACK = our seq + 1; distance 2 routers */
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_SYN | TW_TCP_ACK;
  t.seq = 0xdeadbeef;
  t.ack = 1001;
  t.win = 65160;
  tcp_reply(&b, 62, 1, &t, &o, NULL);
  os_fp_tcp_test(&fp, OSDB_T1, &b.p, &sent, 2);
  /* T5: RST+ACK, seq 0, ACK = our seq + 1, window 0, no options */
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_RST | TW_TCP_ACK;
  t.ack = 1001;
  tcp_reply(&b, 62, 0, &t, NULL, NULL);
  os_fp_tcp_test(&fp, OSDB_T5, &b.p, &sent, -1); /* distance unknown: TG */
  /* T6: RST with seq = our ACK, data, urgent pointer without URG */
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_RST;
  t.seq = 5000;
  t.urg = 7;
  tcp_reply(&b, 250, 0, &t, NULL, "123456789");
  os_fp_tcp_test(&fp, OSDB_T6, &b.p, &sent, -1);
  /* T7: no reply */
  os_fp_tcp_test(&fp, OSDB_T7, NULL, &sent, 2);
  /* ECN: SYN+ACK with ECE */
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_SYN | TW_TCP_ACK | TW_TCP_ECE;
  t.seq = 1;
  t.ack = 1001;
  t.win = 65160;
  tcp_reply(&b, 62, 1, &t, &o, NULL);
  os_fp_tcp_test(&fp, OSDB_ECN, &b.p, &sent, 2);
  char buf[1024];
  os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf,
                      "ECN(R=Y%DF=Y%T=40%W=FE88%O=M5B4ST10NW7%CC=Y%Q=)\n"
                      "T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)\n"
                      "T5(R=Y%DF=N%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
                      "T6(R=Y%DF=N%TG=FF%W=0%S=A%A=Z%F=R%O=%RD=CBF43926%Q=U)\n"
                      "T7(R=N)\n");
  /* a reserved bit (not AE) set in the raw header: Q=R; A = our seq; S = our ACK + 1 */
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_RST | TW_TCP_ACK;
  t.seq = 5001;
  t.ack = 1000;
  tcp_reply(&b, 64, 0, &t, NULL, NULL);
  b.buf[20 + 12] |= 0x02;
  assert_int_equal(tw_pkt_parse(b.buf, b.p.len, TW_LINK_RAW, &b.p), 0);
  os_fp_init(&fp);
  os_fp_tcp_test(&fp, OSDB_T3, &b.p, &sent, 0);
  assert_string_equal(os_fp_get(&fp, OSDB_T3, "Q"), "R");
  assert_string_equal(os_fp_get(&fp, OSDB_T3, "S"), "A+");
  assert_string_equal(os_fp_get(&fp, OSDB_T3, "A"), "S");
  assert_string_equal(os_fp_get(&fp, OSDB_T3, "T"), "40");
}

static void test_ops_win(void **state) {
  struct built b[6];
  const tw_pkt *r[6];
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_SYN | TW_TCP_ACK;
  for (int i = 0; i < 6; i++) {
    tw_pkt_tcp_opts o = linux_opts(i == 5 ? 0 : 1);
    o.mss = (uint16_t)(1400 + i);
    t.win = (uint16_t)(1000 * (i + 1));
    tcp_reply(&b[i], 64, 1, &t, &o, NULL);
    r[i] = &b[i].p;
  }
  r[2] = NULL; /* lost */
  struct os_fp fp;
  os_fp_init(&fp);
  os_fp_ops_win(&fp, r);
  char buf[512];
  os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf,
                      "OPS(O1=M578ST11NW7%O2=M579ST11NW7%O4=M57BST11NW7%O5=M57CST11NW7%"
                      "O6=M57DST10NW7)\n"
                      "WIN(W1=3E8%W2=7D0%W4=FA0%W5=1388%W6=1770)\n");
  const tw_pkt *none[6] = {0};
  os_fp_init(&fp);
  os_fp_ops_win(&fp, none);
  os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf, "OPS(R=N)\nWIN(R=N)\n");
}

/* ---- ICMP ----------------------------------------------------------------- */

static void echo_reply(struct built *b, uint8_t ttl, int df, uint8_t code) {
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  assert_int_equal(tw_pkt_addr_parse(&ip.src, "198.18.1.2"), 0);
  assert_int_equal(tw_pkt_addr_parse(&ip.dst, "198.18.0.1"), 0);
  ip.ttl = ttl;
  ip.df = (uint8_t)df;
  tw_pkt_icmp ic;
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP_ECHOREPLY;
  ic.code = code;
  ic.id = 1;
  ic.seq = 2;
  uint8_t data[120] = {0};
  int len = tw_pkt_build_icmp(b->buf, sizeof b->buf, &ip, &ic, NULL, data, sizeof data);
  assert_true(len > 0);
  assert_int_equal(tw_pkt_parse(b->buf, (size_t)len, TW_LINK_RAW, &b->p), 0);
}

static void test_ie(void **state) {
  struct built a, b;
  struct os_ie_sent s = {.df = {1, 0}, .code = {9, 0}};
  struct os_fp fp;
  char buf[256];
  echo_reply(&a, 60, 1, 9);
  echo_reply(&b, 60, 0, 0);
  os_fp_init(&fp);
  os_fp_ie(&fp, &a.p, &b.p, &s, 4);
  os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf, "IE(R=Y%DFI=S%T=40%CD=S)\n");
  echo_reply(&a, 60, 0, 0);
  os_fp_init(&fp);
  os_fp_ie(&fp, &a.p, &b.p, &s, -1);
  os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf, "IE(R=Y%DFI=N%TG=40%CD=Z)\n");
  echo_reply(&a, 120, 1, 5);
  echo_reply(&b, 120, 1, 5);
  os_fp_init(&fp);
  os_fp_ie(&fp, &a.p, &b.p, &s, -1);
  os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf, "IE(R=Y%DFI=Y%TG=80%CD=5)\n");
  echo_reply(&b, 120, 0, 3);
  os_fp_init(&fp);
  os_fp_ie(&fp, &a.p, &b.p, &s, -1);
  assert_string_equal(os_fp_get(&fp, OSDB_IE, "CD"), "O");
  assert_string_equal(os_fp_get(&fp, OSDB_IE, "DFI"), "S");
  os_fp_init(&fp);
  os_fp_ie(&fp, &a.p, NULL, &s, -1);
  os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf, "IE(R=N)\n");
}

/* The target's port unreachable for our U1 probe (300 bytes of 'C', IP ID
 * 0x1042, TTL 64 when sent and quoted_ttl on arrival), quoting qlen bytes
 * of it; corrupt alters its length, UDP checksum and data first. */
static void port_unreach(struct built *b, uint8_t quoted_ttl, size_t qlen, int corrupt) {
  uint8_t probe[400], data[300];
  memset(data, 'C', sizeof data);
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  assert_int_equal(tw_pkt_addr_parse(&ip.src, "198.18.0.1"), 0);
  assert_int_equal(tw_pkt_addr_parse(&ip.dst, "198.18.1.2"), 0);
  ip.ttl = quoted_ttl;
  ip.id = 0x1042;
  int plen = tw_pkt_build_udp(probe, sizeof probe, &ip, 40000, 33333, data, sizeof data);
  assert_int_equal(plen, 328);
  if (corrupt) {
    probe[3] ^= 1;          /* total length changed, checksum not fixed */
    probe[26] ^= 0xff;      /* UDP checksum */
    probe[100] = 'D';       /* UDP data */
  }
  tw_pkt_ipspec rip;
  memset(&rip, 0, sizeof rip);
  rip.src = ip.dst;
  rip.dst = ip.src;
  rip.ttl = 63;
  tw_pkt_icmp ic;
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP_UNREACH;
  ic.code = 3;
  int len = tw_pkt_build_icmp(b->buf, sizeof b->buf, &rip, &ic, NULL, probe, qlen);
  assert_true(len > 0);
  assert_int_equal(tw_pkt_parse(b->buf, (size_t)len, TW_LINK_RAW, &b->p), 0);
}

static void test_u1(void **state) {
  struct built b;
  struct os_fp fp;
  char buf[256];
  uint8_t probe[400], data[300];
  memset(data, 'C', sizeof data);
  /* the UDP checksum of the probe as sent (TTL is not in it) */
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  tw_pkt_addr_parse(&ip.src, "198.18.0.1");
  tw_pkt_addr_parse(&ip.dst, "198.18.1.2");
  ip.ttl = 64;
  ip.id = 0x1042;
  tw_pkt_build_udp(probe, sizeof probe, &ip, 40000, 33333, data, sizeof data);
  struct os_u1_sent s = {.ttl = 64, .ip_id = 0x1042, .ip_len = 328,
                         .udp_csum = (uint16_t)(probe[26] << 8 | probe[27]), .fill = 'C'};
  port_unreach(&b, 61, 328, 0);
  int hops = os_fp_u1_hops(&b.p, 64);
  assert_int_equal(hops, 3);
  os_fp_init(&fp);
  os_fp_u1(&fp, &b.p, &s, hops);
  os_fp_format(&fp, buf, sizeof buf);
  /* IPL = 20 + 8 + 328 = 356 = 164; T = 63 + 3 = 66 = 42 */
  assert_string_equal(buf, "U1(R=Y%DF=N%T=42%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n");
  /* a short quote: the data that came back is all 'C' */
  port_unreach(&b, 61, 40, 0);
  os_fp_init(&fp);
  os_fp_u1(&fp, &b.p, &s, -1);
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "IPL"), "44");
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "RUD"), "G");
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "TG"), "40");
  /* a mangled quote */
  port_unreach(&b, 61, 328, 1);
  os_fp_init(&fp);
  os_fp_u1(&fp, &b.p, &s, hops);
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "RIPL"), "149");
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "RIPCK"), "I");
  assert_string_not_equal(os_fp_get(&fp, OSDB_U1, "RUCK"), "G");
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "RUD"), "I");
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "RID"), "G");
  /* no reply */
  os_fp_init(&fp);
  os_fp_u1(&fp, NULL, &s, -1);
  assert_string_equal(os_fp_get(&fp, OSDB_U1, "R"), "N");
  assert_int_equal(os_fp_u1_hops(NULL, 64), -1);
}

/* The computations feed the matcher: a computed T1 scores against the
 * fixture database of test_os_db (tests/fixtures/os-db-test). */
static void test_computed_matches(void **state) {
  struct osdb *db;
  char err[256];
  unsigned nwarn = 0;
  if (osdb_load(&db, TW_SRCDIR "/tests/fixtures/os-db-test", warns_count, &nwarn, err,
                sizeof err) != 0)
    fail_msg("%s", err);
  struct built b;
  struct os_fp fp;
  struct os_tcp_sent sent = {.seq = 1000, .ack = 5000};
  tw_pkt_tcp t;
  tw_pkt_tcp_opts o = linux_opts(0);
  memset(&t, 0, sizeof t);
  t.flags = TW_TCP_SYN | TW_TCP_ACK;
  t.seq = 77;
  t.ack = 1001;
  tcp_reply(&b, 60, 1, &t, &o, NULL);
  os_fp_init(&fp);
  os_fp_tcp_test(&fp, OSDB_T1, &b.p, &sent, 4); /* T = 64 */
  struct os_match_result res;
  assert_int_equal(os_match_all(db, &fp, &res), 0);
  assert_int_equal(res.nexact, 1); /* "Test Stack A 1.0": T1 with DF=Y, T=3B-45 */
  assert_string_equal(osdb_str(db, osdb_entry(db, res.m[0].entry)->name), "Test Stack A 1.0");
  assert_int_equal(res.m[0].possible, 130); /* 140 less TG, which a computed T1 with T lacks */
  os_match_result_free(&res);
  os_fp_init(&fp);
  os_fp_tcp_test(&fp, OSDB_T1, &b.p, &sent, 40); /* T = 100: out of A's range */
  assert_int_equal(os_match_all(db, &fp, &res), 0);
  assert_int_equal(res.nexact, 0);
  os_match_result_free(&res);
  osdb_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipid_class), cmocka_unit_test(test_seq),
      cmocka_unit_test(test_tcp_opts),   cmocka_unit_test(test_crc32),
      cmocka_unit_test(test_tcp_tests),  cmocka_unit_test(test_ops_win),
      cmocka_unit_test(test_ie),         cmocka_unit_test(test_u1),
      cmocka_unit_test(test_computed_matches),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
