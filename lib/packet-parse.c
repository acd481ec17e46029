/* packet-parse.c: the whole-packet dissector. It runs the layer parsers in
 * order (link, ARP or IP, upper layer, the quote of an ICMP error), keeps
 * every layer it could decode, and stops at the first malformation with a
 * reason code and text. Also the reason table and checksum verification. */
#include <sys/socket.h>

#include "packet-int.h"

static const struct {
  const char *name;
  uint8_t truncated;
  const char *text;
} reasons[] = {
#define TW_PKT_R_ROW_(name, trunc, text) {#name, trunc, text},
    TW_PKT_REASONS(TW_PKT_R_ROW_)
#undef TW_PKT_R_ROW_
};

const char *tw_pkt_reason_str(int reason) {
  if (reason < 0 || reason >= TW_PKT_R_COUNT) return "?";
  return reasons[reason].text;
}

const char *tw_pkt_reason_name(int reason) {
  if (reason < 0 || reason >= TW_PKT_R_COUNT) return "?";
  return reasons[reason].name;
}

int tw_pkt_reason_truncated(int reason) {
  if (reason < 0 || reason >= TW_PKT_R_COUNT) return 0;
  return reasons[reason].truncated;
}

int tw_pkt_link_from_dlt(int dlt) {
  switch (dlt) {
  case 1: /* DLT_EN10MB */
    return TW_LINK_ETH;
  case 12:  /* DLT_RAW (Linux, most BSDs) */
  case 14:  /* DLT_RAW (OpenBSD) */
  case 101: /* LINKTYPE_RAW as stored in files */
  case 228: /* DLT_IPV4 */
  case 229: /* DLT_IPV6 */
    return TW_LINK_RAW;
  default:
    return -EINVAL;
  }
}

static int fail(tw_pkt *p, uint32_t layer, int reason) {
  p->err = TW_EMALFORMED;
  p->reason = reason;
  p->why = tw_pkt_reason_str(reason);
  p->err_layer = layer;
  p->truncated = (uint8_t)tw_pkt_reason_truncated(reason);
  return TW_EMALFORMED;
}

static void set_payload(tw_pkt *p, size_t off, size_t len) {
  p->payload_off = (uint32_t)off;
  p->payload_len = (uint32_t)len;
}

static int parse_l4(tw_pkt *p, int relaxed) {
  const uint8_t *l4 = p->buf + p->l4_off;
  size_t n = p->l4_len;
  int why = TW_PKT_R_NONE, r;
  switch (p->proto) {
  case IPPROTO_TCP:
    r = tw_pkt_tcp_parse(l4, n, &p->tcp, &why);
    if (r < 0 && !(why >= TW_PKT_R_TCP_OPT_LEN && why <= TW_PKT_R_TCP_OPT_TS))
      return fail(p, TW_PKT_L_TCP, why);
    p->layers |= TW_PKT_L_TCP;
    p->sport = p->tcp.sport;
    p->dport = p->tcp.dport;
    set_payload(p, p->l4_off + p->tcp.hl, n - p->tcp.hl);
    return r < 0 ? fail(p, TW_PKT_L_TCP, why) : 0;
  case IPPROTO_UDP:
    r = tw_pkt_udp_parse(l4, n, &p->udp, &why);
    if (r < 0) return fail(p, TW_PKT_L_UDP, why);
    p->layers |= TW_PKT_L_UDP;
    p->sport = p->udp.sport;
    p->dport = p->udp.dport;
    if (p->udp.len > n) {
      set_payload(p, p->l4_off + 8, n - 8);
      if (!relaxed) return fail(p, TW_PKT_L_UDP, TW_PKT_R_UDP_LEN_TRUNC);
      if (!(p->layers & TW_PKT_L_FRAG)) p->snapped = 1;
    } else {
      set_payload(p, p->l4_off + 8, p->udp.len - 8u);
    }
    return 0;
  case IPPROTO_ICMP:
    r = tw_pkt_icmp_parse(l4, n, &p->icmp, &why);
    if (r < 0) return fail(p, TW_PKT_L_ICMP, why);
    p->layers |= TW_PKT_L_ICMP;
    set_payload(p, p->l4_off + (size_t)r, p->icmp.datalen);
    if (tw_pkt_icmp_is_error(p->icmp.type)) {
      if (tw_pkt_quote_parse(p->icmp.data, p->icmp.datalen, p->payload_off, &p->quote, &why))
        return fail(p, TW_PKT_L_ICMP, why);
      p->layers |= TW_PKT_L_QUOTE;
    }
    return 0;
  case IPPROTO_ICMPV6:
    r = tw_pkt_icmp6_parse(l4, n, &p->icmp6, &why);
    if (r < 0 && why != TW_PKT_R_ICMP6_ND_LEN && why != TW_PKT_R_ICMP6_ND_OVERRUN)
      return fail(p, TW_PKT_L_ICMP6, why);
    p->layers |= TW_PKT_L_ICMP6;
    set_payload(p, p->l4_off + (size_t)(p->icmp6.data - l4), p->icmp6.datalen);
    if (r < 0) {
      fail(p, TW_PKT_L_ICMP6, why);
      /* In a capture cut short, an option running off the end is the cut. */
      if (p->snapped && why == TW_PKT_R_ICMP6_ND_OVERRUN) p->truncated = 1;
      return TW_EMALFORMED;
    }
    if (tw_pkt_icmp6_is_error(p->icmp6.type)) {
      if (tw_pkt_quote_parse(p->icmp6.data, p->icmp6.datalen, p->payload_off, &p->quote,
                             &why))
        return fail(p, TW_PKT_L_ICMP6, why);
      p->layers |= TW_PKT_L_QUOTE;
    }
    return 0;
  default:
    set_payload(p, p->l4_off, n);
    return 0;
  }
}

static int parse_ip4(tw_pkt *p, size_t off, unsigned flags) {
  const uint8_t *ip = p->buf + off;
  size_t avail = p->len - off;
  int why = TW_PKT_R_NONE;
  int r = tw_pkt_ip4_parse(ip, avail, &p->ip4, &why);
  int opt_err = why >= TW_PKT_R_IP4_OPT_LEN && why <= TW_PKT_R_IP4_OPT_TS;
  if (r < 0 && !opt_err) return fail(p, TW_PKT_L_IP4, why);
  p->layers |= TW_PKT_L_IP4;
  p->proto = p->ip4.proto;
  tw_pkt_addr_set4(&p->src, p->ip4.src);
  tw_pkt_addr_set4(&p->dst, p->ip4.dst);
  size_t hl = p->ip4.hl, iplen = p->ip4.tot_len;
  if (iplen > avail) {
    if (!(flags & TW_PKT_F_SNAP)) return fail(p, TW_PKT_L_IP4, TW_PKT_R_IP4_TOTLEN_TRUNC);
    p->snapped = 1;
    iplen = avail;
  }
  p->l3_len = (uint32_t)iplen;
  p->l4_off = (uint32_t)(off + hl);
  p->l4_len = (uint32_t)(iplen - hl);
  if (r < 0) return fail(p, TW_PKT_L_IP4, why);
  if (p->ip4.mf || p->ip4.frag_off) {
    p->layers |= TW_PKT_L_FRAG;
    if (p->ip4.frag_off) {
      set_payload(p, p->l4_off, p->l4_len);
      return 0;
    }
  }
  return parse_l4(p, p->snapped || p->ip4.mf);
}

static int parse_ip6(tw_pkt *p, size_t off, unsigned flags) {
  const uint8_t *ip = p->buf + off;
  size_t avail = p->len - off;
  int why = TW_PKT_R_NONE;
  int r = tw_pkt_ip6_parse(ip, avail, &p->ip6, &why);
  if (r < 0 && (why == TW_PKT_R_IP6_TRUNC || why == TW_PKT_R_IP6_VERSION))
    return fail(p, TW_PKT_L_IP6, why);
  p->layers |= TW_PKT_L_IP6;
  tw_pkt_addr_set6(&p->src, &p->ip6.src);
  tw_pkt_addr_set6(&p->dst, &p->ip6.dst);
  size_t iplen = 40 + (size_t)p->ip6.plen;
  if (iplen > avail) {
    if (!(flags & TW_PKT_F_SNAP)) return fail(p, TW_PKT_L_IP6, TW_PKT_R_IP6_PLEN_TRUNC);
    p->snapped = 1;
    iplen = avail;
  }
  p->l3_len = (uint32_t)iplen;
  if (r < 0) return fail(p, TW_PKT_L_IP6, why);
  p->proto = p->ip6.proto;
  p->l4_off = (uint32_t)(off + p->ip6.hl);
  p->l4_len = (uint32_t)(iplen - p->ip6.hl);
  if (p->ip6.has_frag) {
    p->layers |= TW_PKT_L_FRAG;
    if (p->ip6.frag_off) {
      set_payload(p, p->l4_off, p->l4_len);
      return 0;
    }
  }
  if (p->proto == TW_IP6_NONE || p->proto == TW_IP6_ESP) {
    set_payload(p, p->l4_off, p->l4_len);
    return 0;
  }
  return parse_l4(p, p->snapped || p->ip6.frag_mf);
}

int tw_pkt_parse_ex(const uint8_t *buf, size_t len, int linktype, unsigned flags,
                    tw_pkt *out) {
  if (!out || (!buf && len)) return -EINVAL;
  if (linktype != TW_LINK_ETH && linktype != TW_LINK_RAW) return -EINVAL;
  memset(out, 0, sizeof *out);
  out->buf = buf;
  out->len = len;
  out->linktype = linktype;
  out->why = tw_pkt_reason_str(TW_PKT_R_NONE);
  size_t off = 0;
  int version;
  int why = TW_PKT_R_NONE;
  if (linktype == TW_LINK_ETH) {
    int r = tw_pkt_eth_parse(buf, len, &out->eth, &why);
    if (r < 0) return fail(out, TW_PKT_L_ETH, why);
    out->layers |= TW_PKT_L_ETH | (out->eth.nvlan ? TW_PKT_L_VLAN : 0);
    off = (size_t)r;
    out->l3_off = (uint32_t)off;
    switch (out->eth.type) {
    case TW_ETH_ARP:
      r = tw_pkt_arp_parse(buf + off, len - off, &out->arp, &why);
      if (r < 0) return fail(out, TW_PKT_L_ARP, why);
      out->layers |= TW_PKT_L_ARP;
      out->l3_len = (uint32_t)r;
      set_payload(out, off + (size_t)r, len - off - (size_t)r);
      return 0;
    case TW_ETH_IP4:
      version = 4;
      break;
    case TW_ETH_IP6:
      version = 6;
      break;
    default:
      set_payload(out, off, len - off);
      return 0;
    }
  } else {
    if (len < 1) return fail(out, 0, TW_PKT_R_RAW_TRUNC);
    version = buf[0] >> 4;
    if (version != 4 && version != 6) return fail(out, 0, TW_PKT_R_RAW_VERSION);
  }
  out->l3_off = (uint32_t)off;
  return version == 4 ? parse_ip4(out, off, flags) : parse_ip6(out, off, flags);
}

int tw_pkt_parse(const uint8_t *buf, size_t len, int linktype, tw_pkt *out) {
  return tw_pkt_parse_ex(buf, len, linktype, 0, out);
}

int tw_pkt_l4_span(const tw_pkt *p, size_t *n, size_t *csum_at, uint32_t *pseudo) {
  uint32_t l = p->layers;
  if (!(l & (TW_PKT_L_TCP | TW_PKT_L_UDP | TW_PKT_L_ICMP | TW_PKT_L_ICMP6))) return -EINVAL;
  if ((l & TW_PKT_L_FRAG) || p->snapped) return -EINVAL;
  size_t len = p->l4_len, field;
  if (l & TW_PKT_L_TCP) {
    field = 16;
  } else if (l & TW_PKT_L_UDP) {
    if (p->udp.len > len) return -EINVAL;
    len = p->udp.len;
    field = 6;
  } else {
    field = 2;
  }
  *n = len;
  *csum_at = p->l4_off + field;
  if (l & TW_PKT_L_ICMP) {
    *pseudo = 0;
  } else if (l & TW_PKT_L_IP4) {
    *pseudo = tw_pkt_csum_pseudo4(p->ip4.src, p->ip4.dst, p->proto, (uint16_t)len);
  } else {
    struct in6_addr dst;
    tw_pkt_ip6_final_dst(p->buf + p->l3_off, &p->ip6, &dst);
    *pseudo = tw_pkt_csum_pseudo6(&p->ip6.src, &dst, p->proto, (uint32_t)len);
  }
  return 0;
}

int tw_pkt_l4_csum_ok(const tw_pkt *p) {
  if (!p || !p->buf) return -EINVAL;
  size_t n, at;
  uint32_t pseudo;
  int r = tw_pkt_l4_span(p, &n, &at, &pseudo);
  if (r < 0) return r;
  if ((p->layers & TW_PKT_L_UDP) && (p->layers & TW_PKT_L_IP4) && p->udp.csum == 0)
    return 1; /* no checksum (allowed over IPv4 only) */
  return tw_pkt_csum_fold(tw_pkt_csum_add(pseudo, p->buf + p->l4_off, n)) == 0;
}
