/* test_packet_neigh.c: the ARP request and neighbour solicitation builders
 * (tw_pkt_arp_request, tw_pkt_ns_request): every field of the frames they
 * write, as libtrawl's own dissector (tw_pkt_parse) decodes it, and their
 * errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <trawl/packet.h>

static const uint8_t MAC[6] = {0x02, 0x74, 0x77, 0x01, 0x00, 0x0b};

static void test_arp_request(void **state) {
  struct in_addr spa, tpa;
  assert_int_equal(inet_pton(AF_INET, "198.18.0.1", &spa), 1);
  assert_int_equal(inet_pton(AF_INET, "198.18.0.77", &tpa), 1);
  uint8_t b[128];
  memset(b, 0xaa, sizeof b);
  int n = tw_pkt_arp_request(b, sizeof b, MAC, spa, tpa);
  assert_int_equal(n, 42);
  tw_pkt p;
  assert_int_equal(tw_pkt_parse(b, (size_t)n, TW_LINK_ETH, &p), 0);
  assert_true(p.layers & TW_PKT_L_ETH);
  assert_true(p.layers & TW_PKT_L_ARP);
  static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6] = {0};
  assert_memory_equal(p.eth.dst, bcast, 6);
  assert_memory_equal(p.eth.src, MAC, 6);
  assert_int_equal(p.eth.type, TW_ETH_ARP);
  assert_int_equal(p.eth.nvlan, 0);
  assert_int_equal(p.arp.htype, 1);
  assert_int_equal(p.arp.ptype, 0x0800);
  assert_int_equal(p.arp.hlen, 6);
  assert_int_equal(p.arp.plen, 4);
  assert_int_equal(p.arp.op, TW_ARP_REQUEST);
  assert_int_equal(p.arp.eth_ip4, 1);
  assert_memory_equal(p.arp.sha, MAC, 6);
  assert_int_equal(p.arp.spa.s_addr, spa.s_addr);
  assert_memory_equal(p.arp.tha, zero, 6);
  assert_int_equal(p.arp.tpa.s_addr, tpa.s_addr);
  /* too small a buffer, missing arguments */
  assert_int_equal(tw_pkt_arp_request(b, 41, MAC, spa, tpa), -ENOBUFS);
  assert_int_equal(tw_pkt_arp_request(b, 13, MAC, spa, tpa), -ENOBUFS);
  assert_int_equal(tw_pkt_arp_request(NULL, sizeof b, MAC, spa, tpa), -EINVAL);
  assert_int_equal(tw_pkt_arp_request(b, sizeof b, NULL, spa, tpa), -EINVAL);
}

static void test_ns_request(void **state) {
  struct in6_addr src, target, group;
  assert_int_equal(inet_pton(AF_INET6, "2001:db8:30::1", &src), 1);
  assert_int_equal(inet_pton(AF_INET6, "2001:db8:30::12:3456", &target), 1);
  assert_int_equal(inet_pton(AF_INET6, "ff02::1:ff12:3456", &group), 1);
  uint8_t b[128];
  memset(b, 0xaa, sizeof b);
  int n = tw_pkt_ns_request(b, sizeof b, MAC, &src, &target);
  assert_int_equal(n, 14 + 40 + 24 + 8);
  tw_pkt p;
  assert_int_equal(tw_pkt_parse(b, (size_t)n, TW_LINK_ETH, &p), 0);
  assert_true(p.layers & TW_PKT_L_IP6);
  assert_true(p.layers & TW_PKT_L_ICMP6);
  static const uint8_t gmac[6] = {0x33, 0x33, 0xff, 0x12, 0x34, 0x56};
  assert_memory_equal(p.eth.dst, gmac, 6);
  assert_memory_equal(p.eth.src, MAC, 6);
  assert_int_equal(p.eth.type, TW_ETH_IP6);
  assert_int_equal(p.ip6.hlim, 255);
  assert_int_equal(p.ip6.next, IPPROTO_ICMPV6);
  assert_int_equal(p.ip6.plen, 32);
  assert_int_equal(p.ip6.tclass, 0);
  assert_int_equal(p.ip6.flow, 0);
  assert_memory_equal(&p.ip6.src, &src, 16);
  assert_memory_equal(&p.ip6.dst, &group, 16);
  assert_int_equal(p.proto, IPPROTO_ICMPV6);
  assert_int_equal(p.icmp6.type, TW_ICMP6_NS);
  assert_int_equal(p.icmp6.code, 0);
  assert_memory_equal(&p.icmp6.target, &target, 16);
  assert_int_equal(p.icmp6.has_sll, 1);
  assert_memory_equal(p.icmp6.sll, MAC, 6);
  assert_int_equal(p.icmp6.has_tll, 0);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 1);
  /* a changed byte breaks the checksum the builder wrote */
  b[n - 1] ^= 1;
  assert_int_equal(tw_pkt_parse(b, (size_t)n, TW_LINK_ETH, &p), 0);
  assert_int_equal(tw_pkt_l4_csum_ok(&p), 0);
  /* too small a buffer, missing arguments */
  assert_int_equal(tw_pkt_ns_request(b, (size_t)n - 1, MAC, &src, &target), -ENOBUFS);
  assert_int_equal(tw_pkt_ns_request(b, 20, MAC, &src, &target), -ENOBUFS);
  assert_int_equal(tw_pkt_ns_request(b, sizeof b, MAC, NULL, &target), -EINVAL);
  assert_int_equal(tw_pkt_ns_request(b, sizeof b, MAC, &src, NULL), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arp_request),
      cmocka_unit_test(test_ns_request),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
