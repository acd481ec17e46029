/* packet-template.c: fast TCP probes. A template holds a complete segment
 * (link, IP and TCP headers) with the per-probe fields zeroed, and the
 * partial checksums of everything else, so that a probe costs one copy,
 * a few stores and a handful of additions: no parsing, no full checksum. */
#include <sys/socket.h>

#include "packet-int.h"

int tw_pkt_tmpl_init(tw_pkt_tmpl *tm, const tw_pkt_eth *eth, const tw_pkt_ipspec *ip,
                     const tw_pkt_tcp *t) {
  if (!tm || !ip || !t) return -EINVAL;
  uint16_t family = ip->src.family;
  if (family != AF_INET && family != AF_INET6) return -EINVAL;
  memset(tm, 0, sizeof *tm);
  size_t off = 0;
  if (eth) {
    tw_pkt_eth e = *eth;
    e.type = family == AF_INET ? TW_ETH_IP4 : TW_ETH_IP6;
    int r = tw_pkt_eth_build(tm->bytes, sizeof tm->bytes, &e);
    if (r < 0) return r;
    off = (size_t)r;
  }
  tw_pkt_ipspec spec = *ip;
  memset(&spec.dst, 0, sizeof spec.dst);
  spec.dst.family = family;
  spec.id = 0;
  tw_pkt_tcp tcp = *t;
  tcp.sport = tcp.dport = 0;
  tcp.seq = 0;
  int n = tw_pkt_build_tcp(tm->bytes + off, sizeof tm->bytes - off, &spec, &tcp, NULL, 0);
  if (n < 0) return n;
  uint8_t *l3 = tm->bytes + off;
  size_t iphl = family == AF_INET ? (size_t)(l3[0] & 0x0f) * 4 : 40;
  size_t tcplen = (size_t)n - iphl;
  uint8_t *l4 = l3 + iphl;
  tm->len = (uint16_t)(off + (size_t)n);
  tm->l3_off = (uint16_t)off;
  tm->l4_off = (uint16_t)(off + iphl);
  tm->family = family;
  /* Sums of the fixed parts, with checksum fields (and the zeroed
   * per-probe fields) counting as 0. */
  tw_wr16(l4 + 16, 0);
  if (family == AF_INET) {
    tw_wr16(l3 + 10, 0);
    tm->ip_sum = tw_pkt_csum_add(0, l3, iphl);
    tm->tcp_sum = tw_pkt_csum_pseudo4(spec.src.v4, spec.dst.v4, IPPROTO_TCP, (uint16_t)tcplen);
  } else {
    tm->tcp_sum = tw_pkt_csum_pseudo6(&spec.src.v6, &spec.dst.v6, IPPROTO_TCP,
                                      (uint32_t)tcplen);
  }
  tm->tcp_sum = tw_pkt_csum_add(tm->tcp_sum, l4, tcplen);
  return 0;
}

int tw_pkt_tmpl_build(const tw_pkt_tmpl *tm, uint8_t *buf, size_t cap,
                      const tw_pkt_addr *dst, uint16_t sport, uint16_t dport, uint32_t seq,
                      uint16_t ip_id) {
  if (!tm || !buf || !dst || dst->family != tm->family || !tm->len) return -EINVAL;
  if (cap < tm->len) return -ENOBUFS;
  memcpy(buf, tm->bytes, tm->len);
  uint8_t *l3 = buf + tm->l3_off, *l4 = buf + tm->l4_off;
  uint32_t s = tm->tcp_sum + sport + dport + (seq >> 16) + (seq & 0xffff);
  tw_wr16(l4, sport);
  tw_wr16(l4 + 2, dport);
  tw_wr32(l4 + 4, seq);
  if (tm->family == AF_INET) {
    memcpy(l3 + 16, &dst->v4, 4);
    uint32_t d = (uint32_t)tw_rd16(l3 + 16) + tw_rd16(l3 + 18);
    tw_wr16(l3 + 4, ip_id);
    tw_wr16(l3 + 10, tw_pkt_csum_fold(tm->ip_sum + ip_id + d));
    s += d;
  } else {
    memcpy(l3 + 24, &dst->v6, 16);
    for (unsigned i = 0; i < 16; i += 2) s += tw_rd16(l3 + 24 + i);
  }
  tw_wr16(l4 + 16, tw_pkt_csum_fold(s));
  return tm->len;
}
