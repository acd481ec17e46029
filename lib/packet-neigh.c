/* packet-neigh.c: the two frames that ask a link for a neighbour's MAC
 * address, an ARP request (IPv4) and an ICMPv6 neighbour solicitation
 * (IPv6), whole Ethernet frames ready for a TW_RAW_ETH socket. One builder
 * each, used by the neighbour resolver (neigh.c) and by the scanner's host
 * discovery. */
#include <string.h>
#include <sys/socket.h>

#include "packet-int.h"

int tw_pkt_arp_request(uint8_t *buf, size_t cap, const uint8_t mac[6], struct in_addr spa,
                       struct in_addr tpa) {
  if (!buf || !mac) return -EINVAL;
  tw_pkt_eth e;
  memset(&e, 0, sizeof e);
  memset(e.dst, 0xff, 6);
  memcpy(e.src, mac, 6);
  e.type = TW_ETH_ARP;
  int n = tw_pkt_eth_build(buf, cap, &e);
  if (n < 0) return n;
  tw_pkt_arp a;
  memset(&a, 0, sizeof a);
  a.op = TW_ARP_REQUEST;
  memcpy(a.sha, mac, 6);
  a.spa = spa;
  a.tpa = tpa;
  int m = tw_pkt_arp_build(buf + n, cap - (size_t)n, &a);
  return m < 0 ? m : n + m;
}

int tw_pkt_ns_request(uint8_t *buf, size_t cap, const uint8_t mac[6], const struct in6_addr *src,
                      const struct in6_addr *target) {
  if (!buf || !mac || !src || !target) return -EINVAL;
  /* To the solicited-node group of the target, ff02::1:ffXX:XXXX, whose
   * MAC is 33:33:ff:XX:XX:XX (RFC 4861, RFC 2464). */
  const uint8_t *t = target->s6_addr;
  tw_pkt_eth e;
  memset(&e, 0, sizeof e);
  const uint8_t group_mac[6] = {0x33, 0x33, 0xff, t[13], t[14], t[15]};
  memcpy(e.dst, group_mac, 6);
  memcpy(e.src, mac, 6);
  e.type = TW_ETH_IP6;
  int n = tw_pkt_eth_build(buf, cap, &e);
  if (n < 0) return n;
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src.family = ip.dst.family = AF_INET6;
  ip.src.v6 = *src;
  static const uint8_t group[13] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  memcpy(ip.dst.b, group, 13);
  memcpy(ip.dst.b + 13, t + 13, 3);
  ip.ttl = 255; /* ND messages from anything but a neighbour are dropped */
  tw_pkt_icmp6 ns;
  memset(&ns, 0, sizeof ns);
  ns.type = TW_ICMP6_NS;
  ns.target = *target;
  ns.has_sll = 1;
  memcpy(ns.sll, mac, 6);
  int m = tw_pkt_build_icmp(buf + n, cap - (size_t)n, &ip, NULL, &ns, NULL, 0);
  return m < 0 ? m : n + m;
}
