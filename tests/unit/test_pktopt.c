/* test_pktopt.c: the packet options on finished probes (src/probe/pktopt.c):
 * --ttl, the three payload options and --badsum on TCP, UDP, ICMP and
 * ICMPv6 probes, each checked by parsing the result again: lengths, the
 * payload's bytes, and checksums right (or, with --badsum, wrong). */
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
  struct pktopt po = {-1, NULL, 0, false, false};
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
  struct pktopt po = {30, NULL, 0, false, false};
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
  struct pktopt po = {-1, data, 4, true, false};
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
  struct pktopt po = {-1, x, 1, true, false};
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
  struct pktopt po = {-1, NULL, 0, false, true};
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
  struct pktopt all = {5, d, 3, true, true};
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
  struct pktopt po = {9, NULL, 0, true, true};
  uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
  struct in_addr a = {htonl(0xc6120101)}, b = {htonl(0xc612010b)};
  int n = tw_pkt_arp_request(buf, sizeof buf, mac, a, b);
  uint8_t before[64];
  memcpy(before, buf, (size_t)n);
  /* an Ethernet frame read as raw IP is not an IP probe: left alone */
  assert_int_equal(pktopt_apply(&po, buf, n, sizeof buf), n);
  assert_memory_equal(before, buf, (size_t)n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nothing),           cmocka_unit_test(test_ttl),
      cmocka_unit_test(test_data_tcp_icmp),     cmocka_unit_test(test_data_udp_replaces),
      cmocka_unit_test(test_badsum),            cmocka_unit_test(test_not_ip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
