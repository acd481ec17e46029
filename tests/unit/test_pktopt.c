/* test_pktopt.c: the packet options on finished probes (src/probe/pktopt.c):
 * --ttl, the three payload options and --badsum on TCP, UDP, ICMP and
 * ICMPv6 probes, each checked by parsing the result again: lengths, the
 * payload's bytes, and checksums right (or, with --badsum, wrong); then
 * --ip-options' bytes, -f's fragments put back together, -D's copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <trawl/packet.h>

#include "probe/pktopt.h"

static uint8_t buf[PKTOPT_PKT_MAX];

static tw_pkt_ipspec ip4(void) {
  tw_pkt_ipspec ip = {0};
  ip.src.family = ip.dst.family = AF_INET;
  inet_pton(AF_INET, "198.18.10.2", &ip.src.v4);
  inet_pton(AF_INET, "198.18.30.10", &ip.dst.v4);
  ip.ttl = 64;
  return ip;
}

static int syn(tw_pkt_ipspec *ip) {
  static const uint8_t mss[4] = {2, 4, 0x05, 0xb4};
  tw_pkt_tcp t = {0};
  t.sport = 40000;
  t.dport = 22;
  t.flags = TW_TCP_SYN;
  t.seq = 12345;
  t.win = 1024;
  t.opt = mss;
  t.optlen = 4;
  return tw_pkt_build_tcp(buf, sizeof buf, ip, &t, NULL, 0);
}

static void parse(int len, tw_pkt *p) {
  assert_true(len > 0);
  assert_int_equal(tw_pkt_parse(buf, (size_t)len, TW_LINK_RAW, p), 0);
}

static void test_nothing(void **state) {
  (void)state;
  struct pktopt po = {.ttl = -1, .data = NULL, .dlen = 0, .data_set = false, .badsum = false};
  assert_false(pktopt_active(&po));
  tw_pkt_ipspec ip = ip4();
  int n = syn(&ip);
  uint8_t before[64];
  memcpy(before, buf, (size_t)n);
  assert_int_equal(pktopt_apply(&po, buf, n, sizeof buf), n);
  assert_memory_equal(before, buf, (size_t)n);
}

static void test_ttl(void **state) {
  (void)state;
  struct pktopt po = {.ttl = 30, .data = NULL, .dlen = 0, .data_set = false, .badsum = false};
  assert_true(pktopt_active(&po));
  tw_pkt_ipspec ip = ip4();
  int n = pktopt_apply(&po, buf, syn(&ip), sizeof buf);
  assert_int_equal(n, 44);
  tw_pkt p;
  parse(n, &p);
  assert_int_equal(p.ip4.ttl, 30);
  assert_true(p.ip4.csum_ok);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
  po.ttl = 0; /* 0 is a TTL too */
  n = pktopt_apply(&po, buf, syn(&ip), sizeof buf);
  parse(n, &p);
  assert_int_equal(p.ip4.ttl, 0);
  /* IPv6: the hop limit */
  tw_pkt_ipspec ip6 = {0};
  ip6.src.family = ip6.dst.family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8:10::2", &ip6.src.v6);
  inet_pton(AF_INET6, "2001:db8:30::10", &ip6.dst.v6);
  po.ttl = 7;
  n = pktopt_apply(&po, buf, syn(&ip6), sizeof buf);
  parse(n, &p);
  assert_int_equal(p.ip6.hlim, 7);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
}

static void test_data_tcp_icmp(void **state) {
  (void)state;
  static const uint8_t data[4] = {0xde, 0xad, 0xbe, 0xef};
  struct pktopt po = {.ttl = -1, .data = data, .dlen = 4, .data_set = true, .badsum = false};
  tw_pkt_ipspec ip = ip4();
  int n = pktopt_apply(&po, buf, syn(&ip), sizeof buf);
  assert_int_equal(n, 48); /* Nmap's iplen for --data 0xdeadbeef */
  tw_pkt p;
  parse(n, &p);
  assert_int_equal(p.ip4.tot_len, 48);
  assert_int_equal(p.payload_len, 4);
  assert_memory_equal(buf + p.payload_off, data, 4);
  assert_true(p.ip4.csum_ok);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
  /* an ICMP timestamp request keeps its fields and grows: 40 -> 44 */
  tw_pkt_icmp ic = {0};
  ic.type = 13;
  ic.id = 7;
  n = tw_pkt_build_icmp(buf, sizeof buf, &ip, &ic, NULL, NULL, 0);
  int before = n;
  n = pktopt_apply(&po, buf, n, sizeof buf);
  assert_int_equal(n, before + 4);
  parse(n, &p);
  assert_int_equal(p.icmp.type, 13);
  assert_memory_equal(buf + n - 4, data, 4);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
  /* it must fit */
  n = syn(&ip);
  assert_int_equal(pktopt_apply(&po, buf, n, (size_t)n + 3), -ENOBUFS);
}

static void test_data_udp_replaces(void **state) {
  (void)state;
  static const uint8_t dns[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  static const uint8_t x[1] = {'x'};
  struct pktopt po = {.ttl = -1, .data = x, .dlen = 1, .data_set = true, .badsum = false};
  tw_pkt_ipspec ip = ip4();
  int n = tw_pkt_build_udp(buf, sizeof buf, &ip, 40000, 53, dns, sizeof dns);
  n = pktopt_apply(&po, buf, n, sizeof buf);
  assert_int_equal(n, 20 + 8 + 1);
  tw_pkt p;
  parse(n, &p);
  assert_int_equal(p.payload_len, 1);
  assert_int_equal(buf[p.payload_off], 'x');
  assert_int_equal(p.udp.len, 9);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
  /* --data-length 0: no payload at all */
  po.dlen = 0;
  n = tw_pkt_build_udp(buf, sizeof buf, &ip, 40000, 53, dns, sizeof dns);
  n = pktopt_apply(&po, buf, n, sizeof buf);
  assert_int_equal(n, 28);
  parse(n, &p);
  assert_int_equal(p.payload_len, 0);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
}

static void test_badsum(void **state) {
  (void)state;
  struct pktopt po = {.ttl = -1, .data = NULL, .dlen = 0, .data_set = false, .badsum = true};
  tw_pkt_ipspec ip = ip4();
  tw_pkt p;
  int n = pktopt_apply(&po, buf, syn(&ip), sizeof buf);
  parse(n, &p);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 0);
  assert_true(p.ip4.csum_ok); /* the IP header stays right */
  n = pktopt_apply(&po, buf, tw_pkt_build_udp(buf, sizeof buf, &ip, 1, 53, NULL, 0), sizeof buf);
  parse(n, &p);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 0);
  assert_int_not_equal(p.udp.csum, 0); /* 0 would mean "no checksum": accepted */
  tw_pkt_icmp ic = {0};
  ic.type = 8;
  n = pktopt_apply(&po, buf, tw_pkt_build_icmp(buf, sizeof buf, &ip, &ic, NULL, NULL, 0), sizeof buf);
  parse(n, &p);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 0);
  /* with the other options: the checksum is spoiled last */
  static const uint8_t d[3] = {1, 2, 3};
  struct pktopt all = {.ttl = 5, .data = d, .dlen = 3, .data_set = true, .badsum = true};
  n = pktopt_apply(&all, buf, syn(&ip), sizeof buf);
  parse(n, &p);
  assert_int_equal(p.ip4.ttl, 5);
  assert_int_equal(p.payload_len, 3);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 0);
  /* every source port: never a checksum equal to the right one */
  for (uint32_t sp = 0; sp < 65536; sp += 7) {
    n = tw_pkt_build_udp(buf, sizeof buf, &ip, (uint16_t)sp, 53, NULL, 0);
    n = pktopt_apply(&po, buf, n, sizeof buf);
    parse(n, &p);
    if (tw_pkt_l4_csum_ok(&p) != 0) fail_msg("source port %u: checksum still good", sp);
  }
}

static void test_not_ip(void **state) {
  (void)state;
  struct pktopt po = {.ttl = 9, .data = NULL, .dlen = 0, .data_set = true, .badsum = true};
  uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
  struct in_addr a = {htonl(0xc6120101)}, b = {htonl(0xc612010b)};
  int n = tw_pkt_arp_request(buf, sizeof buf, mac, a, b);
  uint8_t before[64];
  memcpy(before, buf, (size_t)n);
  /* an Ethernet frame read as raw IP is not an IP probe: left alone */
  assert_int_equal(pktopt_apply(&po, buf, n, sizeof buf), n);
  assert_memory_equal(before, buf, (size_t)n);
}

/* --ip-options R: the record-route option after the 20-byte header, the
 * header length and total length grown by 40, every checksum right. */
static void test_ipopt_rr(void **state) {
  (void)state;
  struct pktopt po = {.ttl = -1};
  const char *why = NULL;
  int olen = pktopt_ipopt_parse("R", po.ipopt, &why);
  assert_int_equal(olen, 40);
  po.ipopt_len = (size_t)olen;
  assert_true(pktopt_active(&po));
  tw_pkt_ipspec ip = ip4();
  int n0 = syn(&ip);
  uint8_t tcp[64];
  memcpy(tcp, buf + 20, (size_t)n0 - 20);
  int n = pktopt_apply(&po, buf, n0, sizeof buf);
  assert_int_equal(n, n0 + 40);
  assert_int_equal(buf[0], 0x4f);
  assert_int_equal(buf[2] << 8 | buf[3], n);
  static const uint8_t rr[40] = {7, 39, 4}; /* 9 empty slots, then end of options */
  assert_memory_equal(buf + 20, rr, 40);
  tw_pkt p;
  parse(n, &p);
  assert_int_equal(tw_pkt_csum(buf, 60), 0);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
  assert_int_equal(p.l4_off, 60);
  /* the TCP header is the same, checksum aside */
  assert_memory_equal(buf + 60, tcp, 16);
  /* T, U, L: Nmap's sizes */
  uint8_t o[PKTOPT_IPOPT_MAX];
  assert_int_equal(pktopt_ipopt_parse("T", o, &why), 40);
  assert_int_equal(o[0], 68);
  assert_int_equal(o[1], 40);
  assert_int_equal(o[3], 0);
  assert_int_equal(pktopt_ipopt_parse("U", o, &why), 36);
  assert_int_equal(o[1], 36);
  assert_int_equal(o[3], 1);
  assert_int_equal(pktopt_ipopt_parse("L 198.18.0.1 198.18.0.2", o, &why), 12);
  static const uint8_t lsrr[12] = {131, 11, 4, 198, 18, 0, 1, 198, 18, 0, 2, 0};
  assert_memory_equal(o, lsrr, 12);
  assert_int_equal(pktopt_ipopt_parse("S 198.18.0.1", o, &why), 8);
  assert_int_equal(o[0], 137);
  assert_int_equal(pktopt_ipopt_parse("L", o, &why), -1);
  assert_int_equal(pktopt_ipopt_parse("L 1.2.3.4 1.2.3.4 1.2.3.4 1.2.3.4 1.2.3.4 1.2.3.4 1.2.3.4 1.2.3.4 1.2.3.4 1.2.3.4",
                                      o, &why), -1);
  assert_int_equal(pktopt_ipopt_parse("\\x07\\x03", o, &why), 4);
}

/* Reassemble fragments[nf] (RFC 791) into out; returns the total length. */
static size_t reassemble(uint8_t frags[][128], const int *lens, int nf, uint8_t *out) {
  size_t hl0 = (size_t)(frags[0][0] & 15) * 4, end = 0;
  memcpy(out, frags[0], hl0);
  for (int i = 0; i < nf; i++) {
    size_t hl = (size_t)(frags[i][0] & 15) * 4;
    size_t off = (size_t)((frags[i][6] & 0x1f) << 8 | frags[i][7]) * 8;
    memcpy(out + hl0 + off, frags[i] + hl, (size_t)lens[i] - hl);
    if (off + (size_t)lens[i] - hl > end) end = off + (size_t)lens[i] - hl;
    assert_int_equal(tw_pkt_csum(frags[i], hl), 0); /* each header's checksum */
    assert_int_equal(frags[i][4] << 8 | frags[i][5], frags[0][4] << 8 | frags[0][5]);
    assert_int_equal((frags[i][6] & 0x20) != 0, i < nf - 1); /* more fragments */
  }
  out[2] = (uint8_t)((hl0 + end) >> 8);
  out[3] = (uint8_t)(hl0 + end);
  out[6] = out[7] = 0;
  out[10] = out[11] = 0;
  uint16_t c = tw_pkt_csum(out, hl0);
  out[10] = (uint8_t)(c >> 8);
  out[11] = (uint8_t)c;
  return hl0 + end;
}

/* -f: a SYN with record route and data into 8-byte fragments, which put
 * back together are the probe again; the record route stays in the first
 * fragment (not copied), a loose source route is in each (copied); an id
 * of 0 becomes one id shared by every fragment. */
static void test_fragments(void **state) {
  (void)state;
  static const uint8_t d[5] = {1, 2, 3, 4, 5};
  struct pktopt po = {.ttl = -1, .data = d, .dlen = 5, .data_set = true, .frag = 8};
  const char *why;
  po.ipopt_len = (size_t)pktopt_ipopt_parse("R", po.ipopt, &why);
  tw_pkt_ipspec ip = ip4();
  int n = pktopt_apply(&po, buf, syn(&ip), sizeof buf);
  assert_int_equal(n, 60 + 24 + 5);
  uint8_t whole[128], frags[8][128], back[128];
  memcpy(whole, buf, (size_t)n);
  int lens[8], nf = 0;
  for (int j = 0; j < 8; j++) {
    lens[j] = pktopt_frag(&po, whole, n, j, frags[j], sizeof frags[j]);
    if (lens[j] <= 0) break;
    nf++;
  }
  assert_int_equal(nf, 4); /* 29 bytes of TCP: 8 + 8 + 8 + 5 */
  assert_int_equal(lens[0], 68);
  assert_int_equal(lens[1], 28); /* no options after the first */
  assert_int_equal(lens[3], 25);
  assert_int_equal(reassemble(frags, lens, nf, back), (size_t)n);
  assert_memory_equal(back + 12, whole + 12, (size_t)n - 12); /* addresses, options, TCP, data */
  assert_memory_equal(back, whole, 4); /* the id: one of the fragments' own (it was 0) */
  tw_pkt p;
  assert_int_equal(tw_pkt_parse(back, (size_t)n, TW_LINK_RAW, &p), 0);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
  /* a loose source route is copied into every fragment */
  po.ipopt_len = (size_t)pktopt_ipopt_parse("L 198.18.0.1", po.ipopt, &why);
  po.data_set = false;
  n = pktopt_apply(&po, buf, syn(&ip), sizeof buf);
  memcpy(whole, buf, (size_t)n);
  whole[4] = whole[5] = 0; /* id 0 */
  nf = 0;
  for (int j = 0; j < 8 && (lens[j] = pktopt_frag(&po, whole, n, j, frags[j], sizeof frags[j])) > 0; j++) nf++;
  assert_int_equal(nf, 3);
  for (int j = 0; j < nf; j++) {
    assert_int_equal(frags[j][0], 0x47);
    assert_int_equal(frags[j][20], 131);
  }
  assert_int_not_equal(frags[0][4] << 8 | frags[0][5], 0);
  reassemble(frags, lens, nf, back);
  assert_memory_equal(back + 20, whole + 20, (size_t)n - 20);
  /* --mtu 24: a packet whose payload fits is sent whole */
  po.frag = 24;
  po.ipopt_len = 0;
  n = syn(&ip);
  assert_int_equal(pktopt_frag(&po, buf, n, 0, frags[0], sizeof frags[0]), -1);
  po.frag = 0;
  assert_int_equal(pktopt_frag(&po, buf, n, 0, frags[0], sizeof frags[0]), -1);
}

/* -D: one copy per source, ME's the probe itself, checksums adjusted to
 * be right for each source, or still wrong with --badsum. */
static void test_decoys(void **state) {
  (void)state;
  tw_pkt_addr dec[3] = {{0}};
  dec[0].family = AF_INET;
  inet_pton(AF_INET, "198.18.10.78", &dec[0].v4);
  dec[2].family = AF_INET;
  inet_pton(AF_INET, "198.18.10.79", &dec[2].v4);
  struct pktopt po = {.ttl = -1, .decoys = dec, .ndecoys = 3};
  assert_true(pktopt_expands(&po));
  tw_pkt_ipspec ip = ip4();
  uint8_t out[128];
  for (int kind = 0; kind < 2; kind++) {
    int n = kind == 0 ? syn(&ip) : tw_pkt_build_udp(buf, sizeof buf, &ip, 40000, 53, (const uint8_t *)"abc", 3);
    for (int bad = 0; bad < 2; bad++) {
      struct pktopt bs = {.ttl = -1, .badsum = bad != 0};
      int m = pktopt_apply(&bs, buf, n, sizeof buf);
      int k;
      for (k = 0; k < 4; k++) {
        int len = pktopt_source(&po, buf, m, k, out, sizeof out);
        if (len == 0) break;
        assert_int_equal(len, m);
        tw_pkt p;
        assert_int_equal(tw_pkt_parse(out, (size_t)len, TW_LINK_RAW, &p), 0);
        assert_int_equal(tw_pkt_csum(out, 20), 0);
        const uint8_t *want = k == 1 ? buf + 12 : dec[k].b;
        assert_memory_equal(out + 12, want, 4);
        assert_int_equal(tw_pkt_l4_csum_ok(&p), bad ? 0 : 1);
      }
      assert_int_equal(k, 3);
    }
  }
  /* without -D: the probe itself, once */
  struct pktopt none = {.ttl = -1};
  int n = syn(&ip);
  assert_int_equal(pktopt_source(&none, buf, n, 0, out, sizeof out), n);
  assert_int_equal(pktopt_source(&none, buf, n, 1, out, sizeof out), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nothing),           cmocka_unit_test(test_ttl),
      cmocka_unit_test(test_data_tcp_icmp),     cmocka_unit_test(test_data_udp_replaces),
      cmocka_unit_test(test_badsum),            cmocka_unit_test(test_not_ip),
      cmocka_unit_test(test_ipopt_rr),          cmocka_unit_test(test_fragments),
      cmocka_unit_test(test_decoys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
