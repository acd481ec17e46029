/* packet-build.c: whole IP packets in one call (IP + TCP, UDP, ICMP or
 * ICMPv6, with every checksum; IP + any payload), and tw_pkt_ip_finish(), which fills in the
 * checksums of a packet assembled header by header. */
#include <sys/socket.h>

#include "packet-int.h"

int tw_pkt_ip_finish(uint8_t *ip, size_t len) {
  if (!ip) return -EINVAL;
  tw_pkt p;
  int r = tw_pkt_parse(ip, len, TW_LINK_RAW, &p);
  if (p.layers & TW_PKT_L_IP4) {
    tw_wr16(ip + 10, 0);
    tw_wr16(ip + 10, tw_pkt_csum(ip, p.ip4.hl));
  }
  uint32_t l4 = TW_PKT_L_TCP | TW_PKT_L_UDP | TW_PKT_L_ICMP | TW_PKT_L_ICMP6;
  /* An error in options or a quote leaves the upper layer decoded. */
  if (r < 0 && !(p.layers & l4)) return TW_EMALFORMED;
  if (p.layers & TW_PKT_L_FRAG) return -EINVAL;
  if (!(p.layers & l4)) return 0;
  size_t n, at;
  uint32_t pseudo;
  if (tw_pkt_l4_span(&p, &n, &at, &pseudo) < 0) return -EINVAL;
  tw_wr16(ip + at, 0);
  uint16_t c = tw_pkt_csum_fold(tw_pkt_csum_add(pseudo, ip + p.l4_off, n));
  if ((p.layers & TW_PKT_L_UDP) && c == 0) c = 0xffff; /* 0 means "none" */
  tw_wr16(ip + at, c);
  return 0;
}

/* The IP header length that spec will produce, or -EINVAL. */
static int ip_hl(const tw_pkt_ipspec *ip) {
  if (!ip || ip->src.family != ip->dst.family) return -EINVAL;
  if (ip->src.family == AF_INET) {
    if (ip->optlen > 40 || (ip->optlen && !ip->opt)) return -EINVAL;
    return 20 + ((ip->optlen + 3) & ~3);
  }
  if (ip->src.family == AF_INET6) return ip->optlen ? -EINVAL : 40;
  return -EINVAL;
}

/* Write the IP header in front of an upper layer of l4len bytes, then fill
 * in the checksums. Returns the packet length. */
static int finish_ip(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip, uint8_t proto,
                     size_t l4len) {
  int hl;
  if (ip->src.family == AF_INET) {
    tw_pkt_ip4 h;
    memset(&h, 0, sizeof h);
    h.tos = ip->tos;
    h.id = ip->id;
    h.df = ip->df;
    h.ttl = ip->ttl ? ip->ttl : 64;
    h.proto = proto;
    h.src = ip->src.v4;
    h.dst = ip->dst.v4;
    h.opt = ip->opt;
    h.optlen = ip->optlen;
    hl = tw_pkt_ip4_build(buf, cap, &h, l4len);
  } else {
    tw_pkt_ip6 h;
    memset(&h, 0, sizeof h);
    h.tclass = ip->tos;
    h.flow = ip->flow & 0xfffff;
    h.next = proto;
    h.hlim = ip->ttl ? ip->ttl : 64;
    h.src = ip->src.v6;
    h.dst = ip->dst.v6;
    hl = tw_pkt_ip6_build(buf, cap, &h, l4len);
  }
  if (hl < 0) return hl;
  size_t total = (size_t)hl + l4len;
  int r = tw_pkt_ip_finish(buf, total);
  return r < 0 ? r : (int)total;
}

int tw_pkt_build_tcp(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip, const tw_pkt_tcp *t,
                     const void *payload, size_t plen) {
  int hl = ip_hl(ip);
  if (hl < 0 || !buf || !t || (plen && !payload)) return -EINVAL;
  if (cap < (size_t)hl) return -ENOBUFS;
  int th = tw_pkt_tcp_build(buf + hl, cap - (size_t)hl, t);
  if (th < 0) return th;
  if (plen > 65535 || cap - (size_t)hl - (size_t)th < plen) return plen > 65535 ? -EMSGSIZE : -ENOBUFS;
  if (plen) memcpy(buf + hl + th, payload, plen);
  return finish_ip(buf, cap, ip, IPPROTO_TCP, (size_t)th + plen);
}

int tw_pkt_build_udp(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip, uint16_t sport,
                     uint16_t dport, const void *payload, size_t plen) {
  int hl = ip_hl(ip);
  if (hl < 0 || !buf || (plen && !payload)) return -EINVAL;
  if (cap < (size_t)hl) return -ENOBUFS;
  tw_pkt_udp u = {.sport = sport, .dport = dport};
  int uh = tw_pkt_udp_build(buf + hl, cap - (size_t)hl, &u, plen);
  if (uh < 0) return uh;
  if (cap - (size_t)hl - (size_t)uh < plen) return -ENOBUFS;
  if (plen) memcpy(buf + hl + uh, payload, plen);
  return finish_ip(buf, cap, ip, IPPROTO_UDP, (size_t)uh + plen);
}

int tw_pkt_build_icmp(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip,
                      const tw_pkt_icmp *ic4, const tw_pkt_icmp6 *ic6, const void *data,
                      size_t dlen) {
  int hl = ip_hl(ip);
  if (hl < 0 || !buf) return -EINVAL;
  int v4 = ip->src.family == AF_INET;
  if (v4 ? !ic4 : !ic6) return -EINVAL;
  if (cap < (size_t)hl) return -ENOBUFS;
  int m = v4 ? tw_pkt_icmp_build(buf + hl, cap - (size_t)hl, ic4, data, dlen)
             : tw_pkt_icmp6_build(buf + hl, cap - (size_t)hl, ic6, data, dlen);
  if (m < 0) return m;
  return finish_ip(buf, cap, ip, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, (size_t)m);
}

int tw_pkt_build_ip(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip, uint8_t proto,
                    const void *payload, size_t plen) {
  int hl = ip_hl(ip);
  if (hl < 0 || !buf || (plen && !payload)) return -EINVAL;
  if (plen > 65535 - (size_t)hl) return -EMSGSIZE;
  if (cap < (size_t)hl + plen) return -ENOBUFS;
  if (plen) memcpy(buf + hl, payload, plen);
  return finish_ip(buf, cap, ip, proto, plen);
}
