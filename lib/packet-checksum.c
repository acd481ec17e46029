/* packet-checksum.c: the Internet checksum (RFC 1071), IPv4/IPv6
 * pseudo-header sums and incremental updates (RFC 1624). Every layer that
 * carries a checksum, and the fast probe template, builds on these. */
#include <arpa/inet.h>
#include <string.h>

#include "packet-int.h"

/* Ones' complement addition is byte-order independent (RFC 1071 §2(B)):
 * sum native-order 32-bit words into a 64-bit accumulator, fold, and swap
 * once at the end. */
uint32_t tw_pkt_csum_add(uint32_t sum, const void *buf, size_t len) {
  const uint8_t *p = buf;
  uint64_t acc = 0;
  while (len >= 16) {
    uint32_t w[4];
    memcpy(w, p, 16);
    acc += (uint64_t)w[0] + w[1] + w[2] + w[3];
    p += 16;
    len -= 16;
  }
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    acc += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    acc += h;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint8_t last[2] = {p[0], 0};
    uint16_t h;
    memcpy(&h, last, 2);
    acc += h;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint32_t be = ntohs((uint16_t)acc);
  uint64_t s = (uint64_t)sum + be;
  while (s >> 32) s = (s & 0xffffffffu) + (s >> 32);
  return (uint32_t)s;
}

uint16_t tw_pkt_csum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

uint16_t tw_pkt_csum(const void *buf, size_t len) {
  return tw_pkt_csum_fold(tw_pkt_csum_add(0, buf, len));
}

uint32_t tw_pkt_csum_pseudo4(struct in_addr src, struct in_addr dst, uint8_t proto,
                             uint16_t len) {
  uint32_t sum = tw_pkt_csum_add(0, &src, 4);
  sum = tw_pkt_csum_add(sum, &dst, 4);
  return sum + proto + len;
}

uint32_t tw_pkt_csum_pseudo6(const struct in6_addr *src, const struct in6_addr *dst,
                             uint8_t proto, uint32_t len) {
  uint32_t sum = tw_pkt_csum_add(0, src, 16);
  sum = tw_pkt_csum_add(sum, dst, 16);
  return sum + (len >> 16) + (len & 0xffff) + proto;
}

uint16_t tw_pkt_csum_update16(uint16_t csum, uint16_t old, uint16_t new_) {
  /* HC' = ~(~HC + ~m + m') */
  uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old + new_;
  return tw_pkt_csum_fold(s);
}

uint16_t tw_pkt_csum_update32(uint16_t csum, uint32_t old, uint32_t new_) {
  uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~(old >> 16) +
               (uint16_t)~(old & 0xffff) + (new_ >> 16) + (new_ & 0xffff);
  return tw_pkt_csum_fold(s);
}
