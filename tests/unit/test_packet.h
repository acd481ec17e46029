/* test_packet.h: helpers for the test_packet*.c suites, independent of the
 * library under test: a naive reference Internet checksum written straight
 * from RFC 1071 (sum 16-bit big-endian words, fold the carries, complement),
 * pseudo-header checksums assembled byte by byte, address literals. */
#ifndef TEST_PACKET_H
#define TEST_PACKET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

/* RFC 1071, the slow and obvious way. */
static inline uint16_t ref_csum(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  size_t i;
  for (i = 0; i + 1 < n; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1) s += (uint32_t)p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* Checksum of an upper layer over its pseudo-header, laid out in a buffer
 * exactly as RFC 793 (IPv4: src, dst, zero, proto, length) and RFC 8200
 * §8.1 (IPv6: src, dst, 32-bit length, 3 zero bytes, next header) draw it.
 * A correct packet gives 0. */
static inline uint16_t ref_l4_csum(int family, const void *src, const void *dst,
                                   uint8_t proto, const uint8_t *l4, size_t n) {
  static uint8_t tmp[70000];
  size_t h;
  if (family == AF_INET) {
    memcpy(tmp, src, 4);
    memcpy(tmp + 4, dst, 4);
    tmp[8] = 0;
    tmp[9] = proto;
    tmp[10] = (uint8_t)(n >> 8);
    tmp[11] = (uint8_t)n;
    h = 12;
  } else {
    memcpy(tmp, src, 16);
    memcpy(tmp + 16, dst, 16);
    tmp[32] = (uint8_t)(n >> 24);
    tmp[33] = (uint8_t)(n >> 16);
    tmp[34] = (uint8_t)(n >> 8);
    tmp[35] = (uint8_t)n;
    tmp[36] = tmp[37] = tmp[38] = 0;
    tmp[39] = proto;
    h = 40;
  }
  memcpy(tmp + h, l4, n);
  return ref_csum(tmp, h + n);
}

static inline struct in_addr ip4(const char *s) {
  struct in_addr a;
  assert_int_equal(inet_pton(AF_INET, s, &a), 1);
  return a;
}

static inline struct in6_addr ip6(const char *s) {
  struct in6_addr a;
  assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
  return a;
}

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* Fill an IPv4 header's checksum field (bytes 10-11) with the reference. */
static inline void ref_fix_ip4(uint8_t *ip) {
  size_t hl = (size_t)(ip[0] & 15) * 4;
  put16(ip + 10, 0);
  put16(ip + 10, ref_csum(ip, hl));
}

#endif
