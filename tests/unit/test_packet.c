/* test_packet.c: the packet library's lower layers against bytes laid out by
 * hand from the RFCs: the Internet checksum and its incremental forms,
 * kind/length options, Ethernet with VLAN tags, ARP, IPv4 with options and
 * IPv6 with extension headers, each parsed and built, and each malformation
 * reported with its reason. (TCP/UDP/ICMP are in test_packet_l4.c, the
 * dissector in test_packet_parse.c, real captures in test_packet_pcap.c.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <trawl/packet.h>

#include "test_packet.h"

/* ---- checksums ----------------------------------------------------------- */

static void test_csum_rfc1071_example(void **state) {
  /* RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  assert_int_equal(tw_pkt_csum(b, sizeof b), 0x220d);
  assert_int_equal(tw_pkt_csum_fold(tw_pkt_csum_add(0, b, sizeof b)), 0x220d);
  /* Odd length: the last byte is the high half of a zero-padded word. */
  const uint8_t odd[] = {0x01, 0x02, 0x03};
  assert_int_equal(tw_pkt_csum(odd, 3), (uint16_t)~0x0402);
  /* A buffer holding its own checksum sums to 0xffff, i.e. checks to 0. */
  uint8_t c[10];
  memcpy(c, b, 8);
  put16(c + 8, 0x220d);
  assert_int_equal(tw_pkt_csum(c, 10), 0);
  /* All ones: carries must fold back in. */
  uint8_t ones[64];
  memset(ones, 0xff, sizeof ones);
  assert_int_equal(tw_pkt_csum(ones, sizeof ones), 0);
  assert_int_equal(tw_pkt_csum(NULL, 0), 0xffff);
}

static void test_csum_matches_reference(void **state) {
  uint8_t buf[600];
  srand(1);
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rand();
  /* Every length and several alignments against the naive reference. */
  for (size_t off = 0; off < 4; off++)
    for (size_t n = 0; n + off <= sizeof buf; n += (n < 80 ? 1 : 37))
      assert_int_equal(tw_pkt_csum(buf + off, n), ref_csum(buf + off, n));
  /* Chained even-length pieces equal the whole. */
  uint32_t s = tw_pkt_csum_add(0, buf, 10);
  s = tw_pkt_csum_add(s, buf + 10, 256);
  s = tw_pkt_csum_add(s, buf + 266, 333);
  assert_int_equal(tw_pkt_csum_fold(s), ref_csum(buf, 599));
}

static void test_csum_pseudo(void **state) {
  uint8_t seg[27];
  for (size_t i = 0; i < sizeof seg; i++) seg[i] = (uint8_t)(i * 37 + 5);
  struct in_addr s4 = ip4("198.18.0.1"), d4 = ip4("198.19.255.254");
  uint32_t ps = tw_pkt_csum_pseudo4(s4, d4, 6, sizeof seg);
  assert_int_equal(tw_pkt_csum_fold(tw_pkt_csum_add(ps, seg, sizeof seg)),
                   ref_l4_csum(AF_INET, &s4, &d4, 6, seg, sizeof seg));
  struct in6_addr s6 = ip6("2001:db8::1"), d6 = ip6("2001:db8:ffff::fffe");
  ps = tw_pkt_csum_pseudo6(&s6, &d6, 58, sizeof seg);
  assert_int_equal(tw_pkt_csum_fold(tw_pkt_csum_add(ps, seg, sizeof seg)),
                   ref_l4_csum(AF_INET6, &s6, &d6, 58, seg, sizeof seg));
}

static void test_csum_incremental(void **state) {
  uint8_t buf[40];
  srand(7);
  for (int round = 0; round < 2000; round++) {
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)rand();
    if (round % 5 == 0) memset(buf, 0, 20); /* sums near 0 and 0xffff */
    put16(buf + 10, 0);
    put16(buf + 10, ref_csum(buf, sizeof buf));
    uint16_t old16 = get16(buf + 4), new16 = (uint16_t)rand();
    uint16_t c = tw_pkt_csum_update16(get16(buf + 10), old16, new16);
    put16(buf + 4, new16);
    put16(buf + 10, c);
    /* Incremental updates may yield 0xffff where recomputation gives 0 or
     * the reverse (RFC 1624 §3): both verify. */
    assert_int_equal(ref_csum(buf, sizeof buf), 0);
    uint32_t old32 = (uint32_t)get16(buf + 16) << 16 | get16(buf + 18);
    uint32_t new32 = (uint32_t)rand() << 1 ^ (uint32_t)rand();
    c = tw_pkt_csum_update32(get16(buf + 10), old32, new32);
    put16(buf + 16, (uint16_t)(new32 >> 16));
    put16(buf + 18, (uint16_t)new32);
    put16(buf + 10, c);
    assert_int_equal(ref_csum(buf, sizeof buf), 0);
  }
}

/* ---- kind/length options -------------------------------------------------- */

static void test_opt_iterate(void **state) {
  /* NOP, MSS 1460, unknown kind 99 (4 bytes), EOL, then junk ignored */
  const uint8_t o[] = {1, 2, 4, 0x05, 0xb4, 99, 4, 0xaa, 0xbb, 0, 0x42, 0x42};
  size_t off = 0;
  tw_pkt_opt x;
  assert_int_equal(tw_pkt_opt_next(o, sizeof o, &off, &x), 1);
  assert_int_equal(x.kind, 1);
  assert_int_equal(x.len, 1);
  assert_null(x.data);
  assert_int_equal(tw_pkt_opt_next(o, sizeof o, &off, &x), 1);
  assert_int_equal(x.kind, 2);
  assert_int_equal(x.len, 4);
  assert_ptr_equal(x.data, o + 3);
  assert_int_equal(tw_pkt_opt_next(o, sizeof o, &off, &x), 1);
  assert_int_equal(x.kind, 99);
  assert_int_equal(x.data[1], 0xbb);
  assert_int_equal(tw_pkt_opt_next(o, sizeof o, &off, &x), 1);
  assert_int_equal(x.kind, 0);
  assert_int_equal(tw_pkt_opt_next(o, sizeof o, &off, &x), 0);
  assert_int_equal(tw_pkt_opt_next(o, sizeof o, &off, &x), 0);

  const uint8_t len0[] = {1, 2, 0}, len1[] = {2, 1, 0, 0}, over[] = {2, 5, 0, 0},
                nolen[] = {1, 1, 2};
  off = 0;
  assert_int_equal(tw_pkt_opt_next(len0, 3, &off, &x), 1);
  assert_int_equal(tw_pkt_opt_next(len0, 3, &off, &x), TW_EMALFORMED);
  off = 0;
  assert_int_equal(tw_pkt_opt_next(len1, 4, &off, &x), TW_EMALFORMED);
  off = 0;
  assert_int_equal(tw_pkt_opt_next(over, 4, &off, &x), TW_EMALFORMED);
  off = 0;
  assert_int_equal(tw_pkt_opt_next(nolen, 3, &off, &x), 1);
  assert_int_equal(tw_pkt_opt_next(nolen, 3, &off, &x), 1);
  assert_int_equal(tw_pkt_opt_next(nolen, 3, &off, &x), TW_EMALFORMED);

  uint8_t b[8];
  assert_int_equal(tw_pkt_opt_put(b, 8, 1, NULL, 0), 1);
  assert_int_equal(b[0], 1);
  assert_int_equal(tw_pkt_opt_put(b, 8, 148, "\0\0", 2), 4);
  const uint8_t ra[] = {148, 4, 0, 0};
  assert_memory_equal(b, ra, 4);
  assert_int_equal(tw_pkt_opt_put(b, 3, 148, "\0\0", 2), -ENOBUFS);
}

/* ---- Ethernet and ARP ---------------------------------------------------- */

static const uint8_t mac_a[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02};

static void test_eth(void **state) {
  /* dst, src, 802.1Q (PCP 5, VID 100 = 0xa064), 802.1Q inner... */
  const uint8_t plain[] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x02, 0x00, 0x5e,
                           0x10, 0x00, 0x01, 0x08, 0x00};
  const uint8_t qinq[] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x02, 0x00, 0x5e,
                          0x10, 0x00, 0x01, 0x88, 0xa8, 0x20, 0x07, 0x81, 0x00,
                          0xa0, 0x64, 0x86, 0xdd};
  tw_pkt_eth e;
  int why = -1;
  assert_int_equal(tw_pkt_eth_parse(plain, sizeof plain, &e, &why), 14);
  assert_memory_equal(e.dst, mac_b, 6);
  assert_memory_equal(e.src, mac_a, 6);
  assert_int_equal(e.type, 0x0800);
  assert_int_equal(e.nvlan, 0);
  assert_int_equal(tw_pkt_eth_parse(qinq, sizeof qinq, &e, &why), 22);
  assert_int_equal(e.nvlan, 2);
  assert_int_equal(e.vlan_tpid[0], 0x88a8);
  assert_int_equal(TW_PKT_VLAN_ID(e.vlan_tci[0]), 7);
  assert_int_equal(TW_PKT_VLAN_PCP(e.vlan_tci[0]), 1);
  assert_int_equal(e.vlan_tpid[1], 0x8100);
  assert_int_equal(TW_PKT_VLAN_ID(e.vlan_tci[1]), 100);
  assert_int_equal(TW_PKT_VLAN_PCP(e.vlan_tci[1]), 5);
  assert_int_equal(TW_PKT_VLAN_DEI(e.vlan_tci[1]), 0);
  assert_int_equal(e.type, 0x86dd);
  assert_int_equal(e.hl, 22);

  uint8_t out[32];
  assert_int_equal(tw_pkt_eth_build(out, sizeof out, &e), 22);
  assert_memory_equal(out, qinq, 22);
  e.nvlan = 0;
  e.type = 0x0800;
  assert_int_equal(tw_pkt_eth_build(out, sizeof out, &e), 14);
  assert_memory_equal(out, plain, 14);
  assert_int_equal(tw_pkt_eth_build(out, 13, &e), -ENOBUFS);
  e.nvlan = 3;
  assert_int_equal(tw_pkt_eth_build(out, sizeof out, &e), -EINVAL);

  /* Every truncation; a third tag. */
  for (size_t n = 0; n < sizeof qinq; n++) {
    why = -1;
    assert_int_equal(tw_pkt_eth_parse(qinq, n, &e, &why), TW_EMALFORMED);
    assert_int_equal(why, n < 14 ? TW_PKT_R_ETH_TRUNC : TW_PKT_R_VLAN_TRUNC);
    assert_int_equal(tw_pkt_reason_truncated(why), 1);
  }
  uint8_t three[26];
  memcpy(three, qinq, 20);
  memcpy(three + 20, "\x81\x00\x00\x05\x08\x00", 6);
  assert_int_equal(tw_pkt_eth_parse(three, sizeof three, &e, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_VLAN_DEPTH);
  assert_string_equal(tw_pkt_reason_str(why), "eth: more than 2 VLAN tags");
}

static void test_arp(void **state) {
  /* RFC 826: request from 198.18.0.1 for 198.18.0.2 */
  const uint8_t req[] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
                         0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 198, 18, 0, 1,
                         0, 0, 0, 0, 0, 0, 198, 18, 0, 2};
  tw_pkt_arp a;
  int why = -1;
  assert_int_equal(tw_pkt_arp_parse(req, sizeof req, &a, &why), 28);
  assert_int_equal(a.htype, 1);
  assert_int_equal(a.ptype, 0x0800);
  assert_int_equal(a.op, TW_ARP_REQUEST);
  assert_int_equal(a.eth_ip4, 1);
  assert_memory_equal(a.sha, mac_a, 6);
  assert_int_equal(a.spa.s_addr, ip4("198.18.0.1").s_addr);
  assert_int_equal(a.tpa.s_addr, ip4("198.18.0.2").s_addr);
  uint8_t out[28];
  tw_pkt_arp b;
  memset(&b, 0, sizeof b);
  b.op = TW_ARP_REQUEST;
  memcpy(b.sha, mac_a, 6);
  b.spa = ip4("198.18.0.1");
  b.tpa = ip4("198.18.0.2");
  assert_int_equal(tw_pkt_arp_build(out, sizeof out, &b), 28);
  assert_memory_equal(out, req, 28);
  assert_int_equal(tw_pkt_arp_build(out, 27, &b), -ENOBUFS);
  for (size_t n = 0; n < sizeof req; n++) {
    why = -1;
    assert_int_equal(tw_pkt_arp_parse(req, n, &a, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_ARP_TRUNC);
  }
  /* Another hardware type: the fixed part only, not an error. */
  uint8_t other[8];
  memcpy(other, req, 8);
  other[1] = 6; /* IEEE 802 */
  assert_int_equal(tw_pkt_arp_parse(other, 8, &a, &why), 8);
  assert_int_equal(a.htype, 6);
  assert_int_equal(a.eth_ip4, 0);
}

/* ---- IPv4 ---------------------------------------------------------------- */

static void test_ip4_basic(void **state) {
  /* RFC 791: v4, IHL 5, TOS 0x10, total 84, id 0x1234, DF, TTL 64, ICMP,
   * 198.18.0.1 -> 198.19.0.2; checksum from the reference. */
  uint8_t want[20] = {0x45, 0x10, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 64, 1,
                      0, 0, 198, 18, 0, 1, 198, 19, 0, 2};
  ref_fix_ip4(want);
  tw_pkt_ip4 h;
  memset(&h, 0, sizeof h);
  h.tos = 0x10;
  h.id = 0x1234;
  h.df = 1;
  h.ttl = 64;
  h.proto = 1;
  h.src = ip4("198.18.0.1");
  h.dst = ip4("198.19.0.2");
  uint8_t out[64];
  assert_int_equal(tw_pkt_ip4_build(out, sizeof out, &h, 64), 20);
  assert_memory_equal(out, want, 20);
  assert_int_equal(ref_csum(out, 20), 0);
  assert_int_equal(tw_pkt_ip4_build(out, 19, &h, 64), -ENOBUFS);
  assert_int_equal(tw_pkt_ip4_build(out, 64, &h, 65516), -EMSGSIZE);

  tw_pkt_ip4 p;
  int why = -1;
  assert_int_equal(tw_pkt_ip4_parse(want, 20, &p, &why), 20);
  assert_int_equal(p.hl, 20);
  assert_int_equal(p.tos, 0x10);
  assert_int_equal(p.tot_len, 84);
  assert_int_equal(p.id, 0x1234);
  assert_int_equal(p.df, 1);
  assert_int_equal(p.mf, 0);
  assert_int_equal(p.rf, 0);
  assert_int_equal(p.frag_off, 0);
  assert_int_equal(p.ttl, 64);
  assert_int_equal(p.proto, 1);
  assert_int_equal(p.csum, get16(want + 10));
  assert_int_equal(p.csum_ok, 1);
  assert_int_equal(p.src.s_addr, ip4("198.18.0.1").s_addr);
  assert_int_equal(p.dst.s_addr, ip4("198.19.0.2").s_addr);
  assert_int_equal(p.optlen, 0);
  assert_null(p.opt);
  want[8] = 63; /* TTL changed, checksum not: detected */
  assert_int_equal(tw_pkt_ip4_parse(want, 20, &p, &why), 20);
  assert_int_equal(p.csum_ok, 0);

  /* Fragment: MF, offset 1480 bytes = 185 units -> 0x20b9. */
  uint8_t frag[20] = {0x45, 0, 0x05, 0xdc, 0xbe, 0xef, 0x20, 0xb9, 64, 17,
                      0, 0, 198, 18, 0, 1, 198, 19, 0, 2};
  ref_fix_ip4(frag);
  assert_int_equal(tw_pkt_ip4_parse(frag, 20, &p, &why), 20);
  assert_int_equal(p.mf, 1);
  assert_int_equal(p.df, 0);
  assert_int_equal(p.frag_off, 1480);
  h = p;
  assert_int_equal(tw_pkt_ip4_build(out, sizeof out, &h, 1480), 20);
  assert_memory_equal(out, frag, 20);
  h.frag_off = 1481;
  assert_int_equal(tw_pkt_ip4_build(out, sizeof out, &h, 0), -EINVAL);
}

static void test_ip4_options(void **state) {
  /* NOP + record route with 9 slots, 2 filled (pointer 12), as ping -R
   * gets it back: 20 + 40 bytes, IHL 15. */
  uint8_t pk[60] = {0x4f, 0, 0, 60, 0, 1, 0, 0, 64, 1, 0, 0,
                    198, 18, 0, 1, 198, 19, 0, 2,
                    1, 7, 39, 12, 198, 18, 1, 1, 198, 19, 0, 2};
  ref_fix_ip4(pk);
  tw_pkt_ip4 p;
  int why = -1;
  assert_int_equal(tw_pkt_ip4_parse(pk, 60, &p, &why), 60);
  assert_int_equal(p.optlen, 40);
  assert_ptr_equal(p.opt, pk + 20);
  assert_int_equal(p.opts, TW_IP4OPT_F_NOP | TW_IP4OPT_F_RR);
  assert_int_equal(p.rr.pointer, 12);
  assert_int_equal(p.rr.slots, 9);
  assert_int_equal(p.rr.filled, 2);
  assert_int_equal(p.rr.addr[0].s_addr, ip4("198.18.1.1").s_addr);
  assert_int_equal(p.rr.addr[1].s_addr, ip4("198.19.0.2").s_addr);
  assert_int_equal(p.rr.addr[2].s_addr, 0);

  /* Build the same option area: NOP + RR(9) from the builders. */
  uint8_t opt[40];
  assert_int_equal(tw_pkt_opt_put(opt, 40, TW_IP4OPT_NOP, NULL, 0), 1);
  assert_int_equal(tw_pkt_ip4_opt_rr(opt + 1, 39, 9), 39);
  const uint8_t rr_empty[5] = {1, 7, 39, 4, 0};
  assert_memory_equal(opt, rr_empty, 5);
  for (int i = 5; i < 40; i++) assert_int_equal(opt[i], 0);
  assert_int_equal(tw_pkt_ip4_opt_rr(opt, 38, 9), -ENOBUFS);
  assert_int_equal(tw_pkt_ip4_opt_rr(opt, 40, 10), -EINVAL);
  assert_int_equal(tw_pkt_ip4_opt_rr(opt, 40, 0), -EINVAL);

  /* Timestamps only (flag 0), 2 slots, one filled (pointer 9), with an
   * overflow count of 3; then router alert; then EOL padding. */
  uint8_t ts[36] = {0x48, 0, 0, 36, 0, 2, 0, 0, 1, 2, 0, 0,
                    198, 18, 0, 1, 198, 19, 0, 2,
                    68, 12, 9, 0x30, 0, 0x12, 0x34, 0x56, 0, 0, 0, 0,
                    148, 4, 0, 0};
  ref_fix_ip4(ts);
  assert_int_equal(tw_pkt_ip4_parse(ts, 36, &p, &why), 32);
  ts[0] = 0x49; /* IHL 9 = 36 bytes */
  ref_fix_ip4(ts);
  assert_int_equal(tw_pkt_ip4_parse(ts, 36, &p, &why), 36);
  assert_int_equal(p.opts, TW_IP4OPT_F_TS | TW_IP4OPT_F_RA);
  assert_int_equal(p.ts.flag, TW_IP4TS_ONLY);
  assert_int_equal(p.ts.overflow, 3);
  assert_int_equal(p.ts.slots, 2);
  assert_int_equal(p.ts.filled, 1);
  assert_int_equal(p.ts.ts[0], 0x123456);
  assert_int_equal(p.ra, 0);

  /* Address + timestamp pairs (flag 1): 2 entries of 8 bytes. */
  const uint8_t tsa[20] = {68, 20, 13, 0x01, 198, 18, 1, 1, 0, 0, 0, 42,
                           0, 0, 0, 0, 0, 0, 0, 0};
  uint8_t pk2[40] = {0x4a, 0, 0, 40, 0, 3, 0, 0, 64, 1, 0, 0,
                     198, 18, 0, 1, 198, 19, 0, 2};
  memcpy(pk2 + 20, tsa, 20);
  ref_fix_ip4(pk2);
  assert_int_equal(tw_pkt_ip4_parse(pk2, 40, &p, &why), 40);
  assert_int_equal(p.ts.flag, TW_IP4TS_ADDR);
  assert_int_equal(p.ts.slots, 2);
  assert_int_equal(p.ts.filled, 1);
  assert_int_equal(p.ts.addr[0].s_addr, ip4("198.18.1.1").s_addr);
  assert_int_equal(p.ts.ts[0], 42);

  /* Timestamp builders. */
  uint8_t b[40];
  const uint8_t ts0[12] = {68, 12, 5, 0};
  assert_int_equal(tw_pkt_ip4_opt_ts(b, 40, TW_IP4TS_ONLY, 2, NULL), 12);
  assert_memory_equal(b, ts0, 12);
  struct in_addr pre[2] = {ip4("198.18.1.1"), ip4("198.19.0.2")};
  const uint8_t ts3[20] = {68, 20, 5, 3, 198, 18, 1, 1, 0, 0, 0, 0,
                           198, 19, 0, 2, 0, 0, 0, 0};
  assert_int_equal(tw_pkt_ip4_opt_ts(b, 40, TW_IP4TS_PRESPEC, 2, pre), 20);
  assert_memory_equal(b, ts3, 20);
  assert_int_equal(tw_pkt_ip4_opt_ts(b, 40, TW_IP4TS_ADDR, 5, NULL), -EINVAL);
  assert_int_equal(tw_pkt_ip4_opt_ts(b, 40, 2, 1, NULL), -EINVAL);
  assert_int_equal(tw_pkt_ip4_opt_ts(b, 40, TW_IP4TS_PRESPEC, 1, NULL), -EINVAL);
  assert_int_equal(tw_pkt_ip4_opt_ts(b, 40, TW_IP4TS_ONLY, 9, NULL), 40);

  /* Build with options: a 3-byte option area is padded with EOL to 4. */
  tw_pkt_ip4 h;
  memset(&h, 0, sizeof h);
  h.ttl = 1;
  h.proto = 17;
  h.src = ip4("198.18.0.1");
  h.dst = ip4("198.19.0.2");
  const uint8_t three[3] = {1, 1, 1};
  h.opt = three;
  h.optlen = 3;
  uint8_t out[64];
  const uint8_t want[24] = {0x46, 0, 0, 32, 0, 0, 0, 0, 1, 17, 0, 0,
                            198, 18, 0, 1, 198, 19, 0, 2, 1, 1, 1, 0};
  assert_int_equal(tw_pkt_ip4_build(out, sizeof out, &h, 8), 24);
  assert_memory_equal(out, want, 10);
  assert_memory_equal(out + 12, want + 12, 12);
  assert_int_equal(ref_csum(out, 24), 0);
  h.optlen = 41;
  assert_int_equal(tw_pkt_ip4_build(out, sizeof out, &h, 8), -EINVAL);
}

/* Parse a 20-byte header followed by `opt` (padded to 4 with EOL). */
static int parse_with_opts(const uint8_t *opt, size_t n, int *why) {
  uint8_t pk[60] = {0, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 198, 18, 0, 1, 198, 19, 0, 2};
  size_t hl = 20 + ((n + 3) & ~(size_t)3);
  pk[0] = (uint8_t)(0x40 | hl / 4);
  pk[3] = (uint8_t)hl;
  memcpy(pk + 20, opt, n);
  ref_fix_ip4(pk);
  tw_pkt_ip4 p;
  *why = -1;
  return tw_pkt_ip4_parse(pk, hl, &p, why);
}

static void test_ip4_malformed(void **state) {
  uint8_t pk[24] = {0x45, 0, 0, 24, 0, 0, 0, 0, 64, 1, 0, 0, 198, 18, 0, 1, 198, 19, 0, 2};
  tw_pkt_ip4 p;
  int why = -1;
  for (size_t n = 0; n < 20; n++) {
    assert_int_equal(tw_pkt_ip4_parse(pk, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_IP4_TRUNC);
  }
  pk[0] = 0x44; /* IHL 4 */
  assert_int_equal(tw_pkt_ip4_parse(pk, 24, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_IHL);
  assert_string_equal(tw_pkt_reason_str(why), "ipv4: header length (IHL) < 5");
  assert_int_equal(tw_pkt_reason_truncated(why), 0);
  pk[0] = 0x40;
  assert_int_equal(tw_pkt_ip4_parse(pk, 24, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_IHL);
  pk[0] = 0x46; /* IHL 6 = 24 bytes: needs 24 */
  assert_int_equal(tw_pkt_ip4_parse(pk, 23, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_IHL_TRUNC);
  pk[0] = 0x4f;
  assert_int_equal(tw_pkt_ip4_parse(pk, 24, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_IHL_TRUNC);
  pk[0] = 0x65;
  assert_int_equal(tw_pkt_ip4_parse(pk, 24, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_VERSION);
  pk[0] = 0x45;
  pk[3] = 19; /* total length < header */
  assert_int_equal(tw_pkt_ip4_parse(pk, 24, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_TOTLEN_SHORT);

  /* Option lengths 0 and 1, overrun, a missing length byte. */
  const uint8_t l0[] = {1, 99, 0, 0}, l1[] = {99, 1, 0, 0}, ov[] = {1, 99, 7, 0},
                nolen[] = {1, 1, 1, 99}, rrlen[] = {7, 6, 4, 0, 0, 0},
                rrptr[] = {7, 7, 3, 0, 0, 0, 0}, rrptr2[] = {7, 7, 9, 0, 0, 0, 0},
                rrptr3[] = {7, 7, 6, 0, 0, 0, 0}, rrshort[] = {1, 7, 2, 0},
                tsflag[] = {68, 8, 5, 0x02, 0, 0, 0, 0}, tslen[] = {68, 10, 5, 0x01, 0, 0, 0, 0, 0, 0},
                tsptr[] = {68, 8, 6, 0x00, 0, 0, 0, 0}, tsshort[] = {1, 68, 3, 5},
                lsrr[] = {131, 11, 4, 198, 18, 1, 1, 198, 19, 0, 2},
                ssrrbad[] = {137, 3, 8};
  assert_int_equal(parse_with_opts(l0, 4, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_LEN);
  assert_int_equal(parse_with_opts(l1, 4, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_LEN);
  assert_int_equal(parse_with_opts(ov, 4, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_OVERRUN);
  assert_string_equal(tw_pkt_reason_str(why), "ipv4: option length overruns header");
  assert_int_equal(parse_with_opts(nolen, 4, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_OVERRUN);
  assert_int_equal(parse_with_opts(rrlen, 6, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_ROUTE);
  assert_int_equal(parse_with_opts(rrptr, 7, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_ROUTE);
  assert_int_equal(parse_with_opts(rrptr2, 7, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_ROUTE);
  assert_int_equal(parse_with_opts(rrptr3, 7, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_ROUTE);
  assert_int_equal(parse_with_opts(rrshort, 4, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_ROUTE);
  assert_int_equal(parse_with_opts(ssrrbad, 3, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_ROUTE);
  assert_int_equal(parse_with_opts(tsflag, 8, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_TS);
  assert_int_equal(parse_with_opts(tslen, 10, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_TS);
  assert_int_equal(parse_with_opts(tsptr, 8, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_TS);
  assert_int_equal(parse_with_opts(tsshort, 4, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP4_OPT_TS);
  /* A full RR (pointer = len + 1) is fine; so is LSRR with two hops. */
  const uint8_t rrfull[] = {7, 7, 8, 198, 18, 1, 1};
  assert_int_equal(parse_with_opts(rrfull, 7, &why), 28);
  assert_int_equal(parse_with_opts(lsrr, 11, &why), 32);
  /* Unknown options are skipped by their length. */
  const uint8_t unk[] = {0x99, 4, 1, 2, 130, 3, 0, 0};
  assert_int_equal(parse_with_opts(unk, 8, &why), 28);
}

/* ---- IPv6 ---------------------------------------------------------------- */

/* 2001:db8::1 -> 2001:db8::2, hop limit 64. */
static void ip6_fixed(uint8_t *p, uint8_t next, uint16_t plen) {
  const uint8_t h[40] = {0x60, 0, 0, 0, 0, 0, 0, 64,
                         0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                         0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  memcpy(p, h, 40);
  p[4] = (uint8_t)(plen >> 8);
  p[5] = (uint8_t)plen;
  p[6] = next;
}

static void test_ip6_basic(void **state) {
  /* traffic class 0xab, flow label 0x1abcd, plen 16, UDP, hop limit 64 */
  const uint8_t want[40] = {0x6a, 0xb1, 0xab, 0xcd, 0x00, 0x10, 17, 64,
                            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  tw_pkt_ip6 p;
  int why = -1;
  assert_int_equal(tw_pkt_ip6_parse(want, 40, &p, &why), 40);
  assert_int_equal(p.tclass, 0xab);
  assert_int_equal(p.flow, 0x1abcd);
  assert_int_equal(p.plen, 16);
  assert_int_equal(p.next, 17);
  assert_int_equal(p.proto, 17);
  assert_int_equal(p.hlim, 64);
  assert_int_equal(p.hl, 40);
  assert_int_equal(p.next_ext, 0);
  struct in6_addr s = ip6("2001:db8::1"), d = ip6("2001:db8::2");
  assert_memory_equal(&p.src, &s, 16);
  assert_memory_equal(&p.dst, &d, 16);
  uint8_t out[40];
  assert_int_equal(tw_pkt_ip6_build(out, 40, &p, 16), 40);
  assert_memory_equal(out, want, 40);
  assert_int_equal(tw_pkt_ip6_build(out, 39, &p, 16), -ENOBUFS);
  assert_int_equal(tw_pkt_ip6_build(out, 40, &p, 65536), -EMSGSIZE);
  for (size_t n = 0; n < 40; n++) {
    assert_int_equal(tw_pkt_ip6_parse(want, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_IP6_TRUNC);
  }
  uint8_t v4[40];
  memcpy(v4, want, 40);
  v4[0] = 0x4a;
  assert_int_equal(tw_pkt_ip6_parse(v4, 40, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_VERSION);
}

/* The chain hop-by-hop (router alert) -> destination options (PadN only)
 * -> routing type 0 (1 address, 1 segment left) -> fragment (offset 0,
 * M=1, id 0x12345678) -> UDP, laid out by hand from RFC 8200 §4. */
static const uint8_t chain[] = {
    /* hop-by-hop: next 60, len 0 (8 bytes): router alert (5, 2, 0x0000), PadN(0) */
    60, 0, 5, 2, 0, 0, 1, 0,
    /* destination options: next 43, len 0: PadN(4) */
    43, 0, 1, 4, 0, 0, 0, 0,
    /* routing: next 44, len 2, type 0, segleft 1, reserved, 2001:db8::99 */
    44, 2, 0, 1, 0, 0, 0, 0,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99,
    /* fragment: next 17, reserved, offset 0 | M, id */
    17, 0, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
    /* UDP 1234 -> 53, length 8 */
    0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0, 0};

static void test_ip6_ext_chain(void **state) {
  uint8_t pk[40 + sizeof chain];
  ip6_fixed(pk, 0, sizeof chain);
  memcpy(pk + 40, chain, sizeof chain);
  tw_pkt_ip6 p;
  int why = -1;
  assert_int_equal(tw_pkt_ip6_parse(pk, sizeof pk, &p, &why), 40 + 48);
  assert_int_equal(p.next, 0);
  assert_int_equal(p.proto, 17);
  assert_int_equal(p.hl, 88);
  assert_int_equal(p.next_ext, 4);
  const uint8_t types[4] = {0, 60, 43, 44}, offs[4] = {40, 48, 56, 80}, lens[4] = {8, 8, 24, 8};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(p.ext[i].type, types[i]);
    assert_int_equal(p.ext[i].off, offs[i]);
    assert_int_equal(p.ext[i].len, lens[i]);
  }
  assert_int_equal(p.ext[3].next, 17);
  assert_int_equal(p.has_ra, 1);
  assert_int_equal(p.ra, 0);
  assert_int_equal(p.has_rh, 1);
  assert_int_equal(p.rh_type, 0);
  assert_int_equal(p.rh_segleft, 1);
  assert_int_equal(p.has_frag, 1);
  assert_int_equal(p.frag_mf, 1);
  assert_int_equal(p.frag_off, 0);
  assert_int_equal(p.frag_id, 0x12345678);

  /* The same chain from the builders. */
  uint8_t b[sizeof chain];
  size_t o = 0;
  const uint8_t ra[4] = {5, 2, 0, 0};
  int r = tw_pkt_ip6_opts_build(b + o, sizeof b - o, 60, ra, 4);
  assert_int_equal(r, 8);
  o += 8;
  r = tw_pkt_ip6_opts_build(b + o, sizeof b - o, 43, NULL, 0);
  assert_int_equal(r, 8);
  o += 8;
  struct in6_addr via = ip6("2001:db8::99");
  r = tw_pkt_ip6_rh_build(b + o, sizeof b - o, 44, 0, 1, &via, 1);
  assert_int_equal(r, 24);
  o += 24;
  r = tw_pkt_ip6_frag_build(b + o, sizeof b - o, 17, 0, 1, 0x12345678);
  assert_int_equal(r, 8);
  o += 8;
  assert_memory_equal(b, chain, o);
  /* Pad1 when one byte is left: 5 bytes of TLV + Pad1 = 8. */
  const uint8_t tlv5[5] = {0x1e, 3, 1, 2, 3};
  const uint8_t want5[8] = {59, 0, 0x1e, 3, 1, 2, 3, 0};
  assert_int_equal(tw_pkt_ip6_opts_build(b, 8, 59, tlv5, 5), 8);
  assert_memory_equal(b, want5, 8);
  assert_int_equal(tw_pkt_ip6_opts_build(b, 7, 59, tlv5, 5), -ENOBUFS);
  const uint8_t tlv7[7] = {0x1e, 5, 1, 2, 3, 4, 5};
  assert_int_equal(tw_pkt_ip6_opts_build(b, 16, 59, tlv7, 7), 16);
  assert_int_equal(b[1], 1);
  assert_int_equal(tw_pkt_ip6_frag_build(b, 8, 17, 12, 0, 1), -EINVAL);
  const uint8_t frag2[8] = {6, 0, 0x05, 0xa8, 0, 0, 0, 9};
  assert_int_equal(tw_pkt_ip6_frag_build(b, 8, 6, 1448, 0, 9), 8);
  assert_memory_equal(b, frag2, 8);

  /* Every truncation of the chain: the plen is larger than what is left. */
  for (size_t n = 40; n < 88; n++) {
    why = -1;
    assert_int_equal(tw_pkt_ip6_parse(pk, n, &p, &why), TW_EMALFORMED);
    assert_int_equal(why, TW_PKT_R_IP6_EXT_TRUNC);
  }
}

static void test_ip6_ext_malformed(void **state) {
  uint8_t pk[200];
  tw_pkt_ip6 p;
  int why;

  /* Hop-by-hop after a destination options header. */
  ip6_fixed(pk, 60, 16);
  memcpy(pk + 40, "\x00\x00\x01\x04\x00\x00\x00\x00", 8);
  memcpy(pk + 48, "\x3b\x00\x01\x04\x00\x00\x00\x00", 8);
  why = -1;
  assert_int_equal(tw_pkt_ip6_parse(pk, 56, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_HBH_ORDER);

  /* Nine destination options headers in a row (a "loop"): bounded. */
  ip6_fixed(pk, 60, 9 * 8);
  for (int i = 0; i < 9; i++) memcpy(pk + 40 + 8 * i, "\x3c\x00\x01\x04\x00\x00\x00\x00", 8);
  pk[40 + 8 * 8] = 59;
  assert_int_equal(tw_pkt_ip6_parse(pk, 40 + 72, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_EXT_MANY);
  assert_int_equal(p.next_ext, TW_PKT_IP6_MAXEXT);
  /* Eight is the limit and fine. */
  ip6_fixed(pk, 60, 8 * 8);
  pk[40 + 8 * 7] = 59;
  assert_int_equal(tw_pkt_ip6_parse(pk, 40 + 64, &p, &why), 40 + 64);
  assert_int_equal(p.proto, 59);

  /* Header length overrunning the payload length, with bytes to spare. */
  ip6_fixed(pk, 60, 8);
  memcpy(pk + 40, "\x3b\x01\x01\x04\x00\x00\x00\x00", 8); /* says 16 bytes */
  memset(pk + 48, 0, 8);
  assert_int_equal(tw_pkt_ip6_parse(pk, 56, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_EXT_TRUNC);
  assert_string_equal(tw_pkt_reason_str(why), "ipv6: extension header overruns packet");

  /* An option overrunning its header: PadN claiming 10 bytes in 6. */
  ip6_fixed(pk, 0, 8);
  memcpy(pk + 40, "\x3b\x00\x01\x0a\x00\x00\x00\x00", 8);
  assert_int_equal(tw_pkt_ip6_parse(pk, 48, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_OPT_OVERRUN);
  /* ...and an option whose length byte is missing (type at the last byte). */
  memcpy(pk + 40, "\x3b\x00\x00\x00\x00\x00\x00\xc2", 8);
  assert_int_equal(tw_pkt_ip6_parse(pk, 48, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_OPT_OVERRUN);

  /* Routing type 0 with an odd length, and with segleft > addresses. */
  ip6_fixed(pk, 43, 16);
  memcpy(pk + 40, "\x3b\x01\x00\x00\x00\x00\x00\x00", 8);
  memset(pk + 48, 0, 8);
  assert_int_equal(tw_pkt_ip6_parse(pk, 56, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_RH);
  ip6_fixed(pk, 43, 24);
  memcpy(pk + 40, "\x3b\x02\x00\x02\x00\x00\x00\x00", 8);
  memset(pk + 48, 0, 16);
  assert_int_equal(tw_pkt_ip6_parse(pk, 64, &p, &why), TW_EMALFORMED);
  assert_int_equal(why, TW_PKT_R_IP6_RH);

  /* A fragment with a non-zero offset ends the walk: what follows is the
   * middle of a datagram, whatever its bytes look like. */
  ip6_fixed(pk, 44, 16);
  memcpy(pk + 40, "\x3c\x00\x00\xb8\x00\x00\x00\x01", 8); /* next DST, off 184 */
  memcpy(pk + 48, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
  assert_int_equal(tw_pkt_ip6_parse(pk, 56, &p, &why), 48);
  assert_int_equal(p.proto, 60);
  assert_int_equal(p.frag_off, 184);
  assert_int_equal(p.frag_mf, 0);

  /* AH is walked by its own length unit (32-bit words, + 2). */
  ip6_fixed(pk, 51, 24);
  memcpy(pk + 40, "\x06\x04\x00\x00", 4); /* (4 + 2) * 4 = 24 bytes */
  memset(pk + 44, 0, 20);
  assert_int_equal(tw_pkt_ip6_parse(pk, 64, &p, &why), 64);
  assert_int_equal(p.proto, 6);
  assert_int_equal(p.ext[0].len, 24);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csum_rfc1071_example),
      cmocka_unit_test(test_csum_matches_reference),
      cmocka_unit_test(test_csum_pseudo),
      cmocka_unit_test(test_csum_incremental),
      cmocka_unit_test(test_opt_iterate),
      cmocka_unit_test(test_eth),
      cmocka_unit_test(test_arp),
      cmocka_unit_test(test_ip4_basic),
      cmocka_unit_test(test_ip4_options),
      cmocka_unit_test(test_ip4_malformed),
      cmocka_unit_test(test_ip6_basic),
      cmocka_unit_test(test_ip6_ext_chain),
      cmocka_unit_test(test_ip6_ext_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
