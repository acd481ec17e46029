/* rxdecode.c: tw_rx_decode(), the dispatcher's look at a received frame.
 *
 * Every captured packet passes through here before the dispatcher knows
 * whether anybody wants it, so this reads only the fields waiters match on
 * (link type, addresses, protocol, ports, ICMP header, the header quoted
 * by an ICMP error, ARP addresses) and skips what it does not need: IP and
 * TCP options, checksums, payloads. Whoever wants the whole packet calls
 * tw_pkt_parse() (packet.h) on rx->frame in its callback.
 *
 * Hostile input: every read is bounds-checked against caplen; a header that
 * is cut short or contradicts itself gives TW_EMALFORMED and one of
 * packet.h's TW_PKT_R_* reasons. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <trawl/dispatch.h>

#include "dispatch-int.h"

#define MALFORMED(r) (*reason = TW_PKT_R_##r, TW_EMALFORMED)

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void addr4(tw_pkt_addr *a, const uint8_t *p) {
  memset(a, 0, sizeof *a);
  a->family = AF_INET;
  memcpy(a->b, p, 4);
}

static void addr6(tw_pkt_addr *a, const uint8_t *p) {
  a->family = AF_INET6;
  memcpy(a->b, p, 16);
}

/* What one IP header (outer or quoted) says. */
typedef struct ipview {
  uint8_t proto, ttl;
  tw_pkt_addr src, dst;
  const uint8_t *l4; /* NULL: a later fragment, or no upper layer */
  size_t l4len;
} ipview;

/* Decode an IPv4 or IPv6 header at p[len]. `quoted`: inside an ICMP error,
 * where the quote may stop anywhere after the first 8 upper-layer bytes,
 * so lengths past the buffer are normal; so they are in a frame the
 * capture cut short (`snapped`). */
static int ip_view(const uint8_t *p, size_t len, int quoted, int snapped, ipview *v,
                   int *reason) {
  memset(v, 0, sizeof *v);
  if (len < 1) return quoted ? MALFORMED(ICMP_QUOTE_TRUNC) : MALFORMED(IP4_TRUNC);
  if (p[0] >> 4 == 4) {
    if (len < 20) return quoted ? MALFORMED(ICMP_QUOTE_TRUNC) : MALFORMED(IP4_TRUNC);
    size_t hl = (size_t)(p[0] & 15) * 4;
    if (hl < 20) return quoted ? MALFORMED(ICMP_QUOTE_BAD) : MALFORMED(IP4_IHL);
    if (hl > len) return quoted ? MALFORMED(ICMP_QUOTE_TRUNC) : MALFORMED(IP4_IHL_TRUNC);
    size_t tot = rd16(p + 2);
    if (tot < hl) return quoted ? MALFORMED(ICMP_QUOTE_BAD) : MALFORMED(IP4_TOTLEN_SHORT);
    size_t end = len;
    if (tot <= len) end = tot; /* Ethernet padding after the packet */
    else if (!quoted && !snapped) return MALFORMED(IP4_TOTLEN_TRUNC);
    v->proto = p[9];
    v->ttl = p[8];
    addr4(&v->src, p + 12);
    addr4(&v->dst, p + 16);
    if ((rd16(p + 6) & 0x1fff) == 0) { /* first (or only) fragment */
      v->l4 = p + hl;
      v->l4len = end - hl;
    }
    return 0;
  }
  if (p[0] >> 4 == 6) {
    if (len < 40) return quoted ? MALFORMED(ICMP6_QUOTE_TRUNC) : MALFORMED(IP6_TRUNC);
    size_t end = 40 + (size_t)rd16(p + 4);
    if (end > len) {
      if (!quoted && !snapped) return MALFORMED(IP6_PLEN_TRUNC);
      end = len;
    }
    v->ttl = p[7];
    addr6(&v->src, p + 8);
    addr6(&v->dst, p + 24);
    uint8_t next = p[6];
    size_t off = 40;
    for (int n = 0;; n++) {
      if (next != TW_IP6_HBH && next != TW_IP6_RH && next != TW_IP6_FRAG &&
          next != TW_IP6_DST && next != TW_IP6_AH)
        break;
      if (n == TW_PKT_IP6_MAXEXT)
        return quoted ? MALFORMED(ICMP6_QUOTE_BAD) : MALFORMED(IP6_EXT_MANY);
      if (off + 8 > end)
        return quoted ? MALFORMED(ICMP6_QUOTE_TRUNC) : MALFORMED(IP6_EXT_TRUNC);
      const uint8_t *e = p + off;
      size_t elen;
      if (next == TW_IP6_FRAG) {
        elen = 8;
        if ((rd16(e + 2) & 0xfff8) != 0) { /* not the first fragment */
          v->proto = e[0];
          return 0;
        }
      } else if (next == TW_IP6_AH) {
        elen = ((size_t)e[1] + 2) * 4;
      } else {
        elen = ((size_t)e[1] + 1) * 8;
      }
      if (off + elen > end)
        return quoted ? MALFORMED(ICMP6_QUOTE_TRUNC) : MALFORMED(IP6_EXT_TRUNC);
      next = e[0];
      off += elen;
    }
    v->proto = next;
    v->l4 = p + off;
    v->l4len = end - off;
    return 0;
  }
  if (quoted) return p[0] >> 4 == 6 ? MALFORMED(ICMP6_QUOTE_BAD) : MALFORMED(ICMP_QUOTE_BAD);
  return MALFORMED(RAW_VERSION);
}

/* ICMP query types and the type of their reply (0: not a query). */
static uint8_t icmp4_reply_of(uint8_t t) {
  switch (t) {
  case 8: return 0;   /* echo */
  case 13: return 14; /* timestamp */
  case 15: return 16; /* information */
  case 17: return 18; /* address mask */
  default: return 255;
  }
}
static int icmp4_has_id(uint8_t t) {
  return t == 0 || t == 8 || (t >= 13 && t <= 18);
}
static int icmp4_is_error(uint8_t t) {
  return t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
}

/* The quoted packet of an ICMP error: the probe as we sent it. */
static int quote_view(const uint8_t *q, size_t qlen, int v6, tw_rx *rx, const uint8_t *base,
                      int *reason) {
  ipview v;
  int err = ip_view(q, qlen, 1, 1, &v, reason);
  if (err) return err;
  if ((q[0] >> 4 == 6) != v6) return v6 ? MALFORMED(ICMP6_QUOTE_BAD) : MALFORMED(ICMP_QUOTE_BAD);
  if (v.l4 && v.l4len < 8) {
    /* the ports or the id and sequence of these are in the first 8 bytes,
     * which RFC 792 and 4443 quotes always hold; another protocol's probe
     * may be shorter than that (Nmap's -PO and -sO send bare IP headers):
     * its quote is whole, with no upper-layer fields */
    if (v.proto == IPPROTO_TCP || v.proto == IPPROTO_UDP || v.proto == IPPROTO_SCTP ||
        v.proto == IPPROTO_UDPLITE || v.proto == 33 /* DCCP */ || v.proto == IPPROTO_ICMP ||
        v.proto == IPPROTO_ICMPV6)
      return v6 ? MALFORMED(ICMP6_QUOTE_TRUNC) : MALFORMED(ICMP_QUOTE_TRUNC);
    v.l4 = NULL;
  }
  rx->is_error = 1;
  rx->q_off = (uint16_t)(q - base);
  rx->q_proto = v.proto;
  rx->q_src = v.src;
  rx->q_dst = v.dst;
  rx->q_ttl = v.ttl;
  rx->q_fields = TW_M_PROTO | TW_M_SRC | TW_M_DST;
  if (!v.l4) return 0;
  switch (v.proto) {
  case IPPROTO_TCP:
  case IPPROTO_UDP:
  case IPPROTO_SCTP:
  case IPPROTO_UDPLITE:
    rx->q_sport = rd16(v.l4);
    rx->q_dport = rd16(v.l4 + 2);
    rx->q_fields |= TW_M_SPORT | TW_M_DPORT;
    break;
  case IPPROTO_ICMP:
  case IPPROTO_ICMPV6:
    rx->q_icmp_type = v.l4[0];
    rx->q_icmp_id = rd16(v.l4 + 4);
    rx->q_icmp_seq = rd16(v.l4 + 6);
    rx->q_fields |= TW_M_ICMP_TYPE | TW_M_ICMP_ID | TW_M_ICMP_SEQ;
    break;
  }
  return 0;
}

static int l4_view(const ipview *v, int v6, tw_rx *rx, const uint8_t *base, int *reason) {
  const uint8_t *p = v->l4;
  size_t len = v->l4len;
  rx->l4_off = (uint16_t)(p - base);
  switch (v->proto) {
  case IPPROTO_TCP: {
    if (len < 20) return MALFORMED(TCP_TRUNC);
    size_t doff = (size_t)(p[12] >> 4) * 4;
    if (doff < 20) return MALFORMED(TCP_DOFF);
    if (doff > len) return MALFORMED(TCP_DOFF_TRUNC);
    rx->sport = rd16(p);
    rx->dport = rd16(p + 2);
    rx->tcp_seq = rd32(p + 4);
    rx->tcp_ack = rd32(p + 8);
    rx->tcp_flags = (uint16_t)(((p[12] & 1) << 8) | p[13]);
    rx->payload_off = (uint16_t)(rx->l4_off + doff);
    rx->fields |= TW_M_SPORT | TW_M_DPORT;
    return 0;
  }
  case IPPROTO_UDP:
  case IPPROTO_UDPLITE:
    if (len < 8) return MALFORMED(UDP_TRUNC);
    rx->sport = rd16(p);
    rx->dport = rd16(p + 2);
    rx->payload_off = (uint16_t)(rx->l4_off + 8);
    rx->fields |= TW_M_SPORT | TW_M_DPORT;
    return 0;
  case IPPROTO_SCTP:
    if (len >= 12) { /* common header; no reason code of its own: skip */
      rx->sport = rd16(p);
      rx->dport = rd16(p + 2);
      rx->payload_off = (uint16_t)(rx->l4_off + 12);
      rx->fields |= TW_M_SPORT | TW_M_DPORT;
    }
    return 0;
  case IPPROTO_ICMP:
    if (v6) return 0; /* ICMPv4 inside IPv6 is nonsense: leave it opaque */
    if (len < 8) return MALFORMED(ICMP_TRUNC);
    rx->icmp_type = p[0];
    rx->icmp_code = p[1];
    rx->fields |= TW_M_ICMP_TYPE | TW_M_ICMP_CODE;
    rx->payload_off = (uint16_t)(rx->l4_off + 8);
    if (icmp4_has_id(p[0])) {
      rx->icmp_id = rd16(p + 4);
      rx->icmp_seq = rd16(p + 6);
      rx->fields |= TW_M_ICMP_ID | TW_M_ICMP_SEQ;
    } else if (icmp4_is_error(p[0])) {
      return quote_view(p + 8, len - 8, 0, rx, base, reason);
    }
    return 0;
  case IPPROTO_ICMPV6:
    if (!v6) return 0;
    if (len < 8) return MALFORMED(ICMP6_TRUNC);
    rx->icmp_type = p[0];
    rx->icmp_code = p[1];
    rx->fields |= TW_M_ICMP_TYPE | TW_M_ICMP_CODE;
    rx->payload_off = (uint16_t)(rx->l4_off + 8);
    if (p[0] == 128 || p[0] == 129) {
      rx->icmp_id = rd16(p + 4);
      rx->icmp_seq = rd16(p + 6);
      rx->fields |= TW_M_ICMP_ID | TW_M_ICMP_SEQ;
    } else if (p[0] >= 1 && p[0] <= 4) {
      return quote_view(p + 8, len - 8, 1, rx, base, reason);
    }
    return 0;
  default:
    return 0;
  }
}

static int arp_view(const uint8_t *p, size_t len, tw_rx *rx, int *reason) {
  if (len < 8) return MALFORMED(ARP_TRUNC);
  rx->arp_op = rd16(p + 6);
  rx->fields |= TW_M_ARP_OP;
  /* Only IPv4 over Ethernet has addresses we know how to key on. */
  if (rd16(p) != 1 || rd16(p + 2) != TW_ETH_IP4 || p[4] != 6 || p[5] != 4) return 0;
  if (len < 28) return MALFORMED(ARP_TRUNC);
  memcpy(rx->arp_sha, p + 8, 6);
  addr4(&rx->src, p + 14);
  addr4(&rx->dst, p + 24);
  rx->fields |= TW_M_SRC | TW_M_DST;
  return 0;
}

int tw_rx_decode(const tw_frame *f, tw_rx *rx, int *reason) {
  int dummy;
  if (!reason) reason = &dummy;
  *reason = TW_PKT_R_NONE;
  if (!f || !rx || (!f->data && f->caplen)) return -EINVAL;
  memset(rx, 0, sizeof *rx);
  rx->frame = f;
  if (f->ifindex > 0) rx->fields |= TW_M_IFINDEX;
  const uint8_t *base = f->data, *p = base;
  size_t len = f->caplen;
  uint16_t type;
  if (f->linktype == TW_LINK_ETH) {
    if (len < 14) return MALFORMED(ETH_TRUNC);
    type = rd16(p + 12);
    size_t off = 14;
    for (int tags = 0; type == TW_ETH_VLAN || type == TW_ETH_QINQ; tags++) {
      if (tags == 2) return MALFORMED(VLAN_DEPTH);
      if (len < off + 4) return MALFORMED(VLAN_TRUNC);
      type = rd16(p + off + 2);
      off += 4;
    }
    p += off;
    len -= off;
  } else if (f->linktype == TW_LINK_RAW) {
    if (len < 1) return MALFORMED(IP4_TRUNC);
    if (p[0] >> 4 == 4) type = TW_ETH_IP4;
    else if (p[0] >> 4 == 6) type = TW_ETH_IP6;
    else return MALFORMED(RAW_VERSION);
  } else {
    return -EINVAL;
  }
  rx->ethertype = type;
  rx->fields |= TW_M_ETHERTYPE;
  rx->l3_off = (uint16_t)(p - base);
  if (type == TW_ETH_ARP) return arp_view(p, len, rx, reason);
  if (type != TW_ETH_IP4 && type != TW_ETH_IP6) return 0;
  int v6 = type == TW_ETH_IP6;
  if (len < 1 || (p[0] >> 4) != (v6 ? 6 : 4)) return v6 ? MALFORMED(IP6_VERSION) : MALFORMED(IP4_VERSION);
  ipview v;
  int err = ip_view(p, len, 0, f->caplen < f->len, &v, reason);
  if (err) return err;
  rx->proto = v.proto;
  rx->ttl = v.ttl;
  rx->src = v.src;
  rx->dst = v.dst;
  rx->fields |= TW_M_PROTO | TW_M_SRC | TW_M_DST;
  if (!v.l4) return 0;
  return l4_view(&v, v6, rx, base, reason);
}

uint8_t tw__icmp_reply_type(uint8_t type, int v6) {
  if (v6) return type == 128 ? 129 : type;
  uint8_t r = icmp4_reply_of(type);
  return r == 255 ? type : r;
}
