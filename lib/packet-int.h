/* packet-int.h: helpers shared by the packet-*.c files: big-endian loads
 * and stores that need no alignment, and the way parsers report a reason. */
#ifndef TRAWL_PACKET_INT_H
#define TRAWL_PACKET_INT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <trawl/packet.h>

static inline uint16_t tw_rd16(const uint8_t *p) {
  return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t tw_rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void tw_wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void tw_wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Report a malformation: store the reason if asked for, return the error. */
static inline int tw_pkt_fail(int *reason, int r) {
  if (reason) *reason = r;
  return TW_EMALFORMED;
}

/* Kind/length option step shared by IPv4 and TCP (packet-opt.c): 1 option,
 * 0 end, -1 length < 2, -2 overrun. */
int tw_pkt_opt_step(const uint8_t *opts, size_t len, size_t *off, tw_pkt_opt *o);

/* The destination that an IPv6 upper-layer checksum covers: the last
 * address of a routing header with segments left, else the header's dst
 * (RFC 8200 §8.1). ip is the parsed IPv6 header (packet-ip6.c). */
void tw_pkt_ip6_final_dst(const uint8_t *ip, const tw_pkt_ip6 *h, struct in6_addr *out);

/* Where the upper-layer checksum of a parsed packet lies: the bytes it
 * covers (from p->l4_off), the offset of its field in p->buf, and the
 * pseudo-header sum (0 for ICMP). 0, or -EINVAL if it cannot be computed
 * (no such layer, fragment, bytes missing). (packet-parse.c) */
int tw_pkt_l4_span(const tw_pkt *p, size_t *n, size_t *csum_at, uint32_t *pseudo);

#endif
