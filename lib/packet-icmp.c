/* packet-icmp.c: ICMP (RFC 792, 1191) and ICMPv6 (RFC 4443) messages,
 * neighbour discovery (RFC 4861) with its link-layer address options, and
 * the quoted packet inside an error: the offending IP header and the start
 * of its upper layer, decoded to a 5-tuple so that a scanner can match an
 * error to the probe that caused it. */
#include <sys/socket.h>

#include "packet-int.h"

int tw_pkt_icmp_is_error(uint8_t type) {
  return type == TW_ICMP_UNREACH || type == TW_ICMP_SOURCEQUENCH ||
         type == TW_ICMP_REDIRECT || type == TW_ICMP_TIMXCEED || type == TW_ICMP_PARAMPROB;
}

int tw_pkt_icmp6_is_error(uint8_t type) {
  return type >= TW_ICMP6_UNREACH && type <= TW_ICMP6_PARAMPROB;
}

static int icmp_has_idseq(uint8_t type) {
  return type == TW_ICMP_ECHO || type == TW_ICMP_ECHOREPLY ||
         (type >= TW_ICMP_TSTAMP && type <= TW_ICMP_MASKREPLY);
}

int tw_pkt_icmp_parse(const uint8_t *buf, size_t len, tw_pkt_icmp *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 8) return tw_pkt_fail(reason, TW_PKT_R_ICMP_TRUNC);
  out->type = buf[0];
  out->code = buf[1];
  out->csum = tw_rd16(buf + 2);
  out->rest = tw_rd32(buf + 4);
  size_t hl = 8;
  if (icmp_has_idseq(out->type)) {
    out->id = tw_rd16(buf + 4);
    out->seq = tw_rd16(buf + 6);
  }
  switch (out->type) {
  case TW_ICMP_TSTAMP:
  case TW_ICMP_TSTAMPREPLY:
    if (len < 20) return tw_pkt_fail(reason, TW_PKT_R_ICMP_TS_TRUNC);
    out->ts_orig = tw_rd32(buf + 8);
    out->ts_recv = tw_rd32(buf + 12);
    out->ts_xmit = tw_rd32(buf + 16);
    hl = 20;
    break;
  case TW_ICMP_REDIRECT:
    memcpy(&out->gw, buf + 4, 4);
    break;
  case TW_ICMP_PARAMPROB:
    out->pointer = buf[4];
    break;
  case TW_ICMP_UNREACH:
    if (out->code == 4) out->mtu = tw_rd16(buf + 6);
    break;
  default:
    break;
  }
  out->csum_ok = tw_pkt_csum(buf, len) == 0;
  out->data = buf + hl;
  out->datalen = len - hl;
  return (int)hl;
}

/* Neighbour discovery options: type, length in units of 8 bytes (not 0). */
static int parse_ndopts(const uint8_t *p, size_t len, tw_pkt_icmp6 *out) {
  size_t i = 0;
  while (i < len) {
    if (len - i < 2) return TW_PKT_R_ICMP6_ND_OVERRUN;
    size_t olen = (size_t)p[i + 1] * 8;
    if (olen == 0) return TW_PKT_R_ICMP6_ND_LEN;
    if (olen > len - i) return TW_PKT_R_ICMP6_ND_OVERRUN;
    uint8_t type = p[i];
    if (type < 32) out->ndopts |= (uint32_t)1 << type;
    if (olen == 8 && type == TW_ND_OPT_SLL) {
      out->has_sll = 1;
      memcpy(out->sll, p + i + 2, 6);
    } else if (olen == 8 && type == TW_ND_OPT_TLL) {
      out->has_tll = 1;
      memcpy(out->tll, p + i + 2, 6);
    }
    i += olen;
  }
  return TW_PKT_R_NONE;
}

int tw_pkt_icmp6_parse(const uint8_t *buf, size_t len, tw_pkt_icmp6 *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 4) return tw_pkt_fail(reason, TW_PKT_R_ICMP6_TRUNC);
  out->type = buf[0];
  out->code = buf[1];
  out->csum = tw_rd16(buf + 2);
  size_t hl;
  int nd = 0;
  switch (out->type) {
  case TW_ICMP6_UNREACH:
  case TW_ICMP6_TOOBIG:
  case TW_ICMP6_TIMXCEED:
  case TW_ICMP6_PARAMPROB:
  case TW_ICMP6_ECHO:
  case TW_ICMP6_ECHOREPLY:
  case TW_ICMP6_RS:
    hl = 8;
    break;
  case TW_ICMP6_RA:
    hl = 16;
    break;
  case TW_ICMP6_NS:
  case TW_ICMP6_NA:
    hl = 24;
    break;
  case TW_ICMP6_REDIRECT:
    hl = 40;
    break;
  default:
    hl = 4;
    break;
  }
  if (len < hl) return tw_pkt_fail(reason, TW_PKT_R_ICMP6_TRUNC);
  switch (out->type) {
  case TW_ICMP6_TOOBIG:
    out->mtu = tw_rd32(buf + 4);
    break;
  case TW_ICMP6_PARAMPROB:
    out->pointer = tw_rd32(buf + 4);
    break;
  case TW_ICMP6_ECHO:
  case TW_ICMP6_ECHOREPLY:
    out->id = tw_rd16(buf + 4);
    out->seq = tw_rd16(buf + 6);
    break;
  case TW_ICMP6_RS:
    nd = 1;
    break;
  case TW_ICMP6_RA:
    out->ra_hlim = buf[4];
    out->ra_flags = buf[5];
    out->ra_lifetime = tw_rd16(buf + 6);
    out->ra_reachable = tw_rd32(buf + 8);
    out->ra_retrans = tw_rd32(buf + 12);
    nd = 1;
    break;
  case TW_ICMP6_NA:
    out->na_flags = buf[4] & 0xe0;
    /* fall through */
  case TW_ICMP6_NS:
    memcpy(&out->target, buf + 8, 16);
    nd = 1;
    break;
  case TW_ICMP6_REDIRECT:
    memcpy(&out->target, buf + 8, 16);
    memcpy(&out->rdst, buf + 24, 16);
    nd = 1;
    break;
  default:
    break;
  }
  out->data = buf + hl;
  out->datalen = len - hl;
  if (nd) {
    int r = parse_ndopts(buf + hl, len - hl, out);
    if (r != TW_PKT_R_NONE) return tw_pkt_fail(reason, r);
  }
  return (int)hl;
}

static int ports_first(uint8_t proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == 33 /* DCCP */ ||
         proto == 132 /* SCTP */ || proto == 136 /* UDP-Lite */;
}

/* Quotes hold at least 8 upper-layer bytes (RFC 792, 4443), which is where
 * these protocols keep the fields a quote is matched on; a probe of another
 * protocol may be shorter (a bare IP header: Nmap's -PO and -sO), and then
 * its whole quote is shorter too. */
static int quote_needs8(uint8_t proto) {
  return ports_first(proto) || proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

int tw_pkt_quote_parse(const uint8_t *buf, size_t len, size_t base_off, tw_pkt_quote *out,
                       int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 1) return tw_pkt_fail(reason, TW_PKT_R_ICMP_QUOTE_TRUNC);
  int r, why = TW_PKT_R_NONE;
  size_t hl;
  int l4 = 1; /* the quote starts at an upper-layer header */
  uint8_t version = buf[0] >> 4;
  if (version == 4) {
    tw_pkt_ip4 ip;
    r = tw_pkt_ip4_parse(buf, len, &ip, &why);
    if (r < 0)
      return tw_pkt_fail(reason, why == TW_PKT_R_IP4_TRUNC || why == TW_PKT_R_IP4_IHL_TRUNC
                                     ? TW_PKT_R_ICMP_QUOTE_TRUNC
                                     : TW_PKT_R_ICMP_QUOTE_BAD);
    hl = (size_t)r;
    if (len - hl < 8 && quote_needs8(ip.proto)) return tw_pkt_fail(reason, TW_PKT_R_ICMP_QUOTE_TRUNC);
    out->proto = ip.proto;
    out->ttl = ip.ttl;
    out->ip_id = ip.id;
    out->ip_len = ip.tot_len;
    tw_pkt_addr_set4(&out->src, ip.src);
    tw_pkt_addr_set4(&out->dst, ip.dst);
    l4 = ip.frag_off == 0;
  } else if (version == 6) {
    tw_pkt_ip6 ip;
    r = tw_pkt_ip6_parse(buf, len, &ip, &why);
    if (r < 0)
      return tw_pkt_fail(reason, why == TW_PKT_R_IP6_TRUNC || why == TW_PKT_R_IP6_EXT_TRUNC
                                     ? TW_PKT_R_ICMP6_QUOTE_TRUNC
                                     : TW_PKT_R_ICMP6_QUOTE_BAD);
    hl = (size_t)r;
    if (len - hl < 8 && quote_needs8(ip.proto)) return tw_pkt_fail(reason, TW_PKT_R_ICMP6_QUOTE_TRUNC);
    out->proto = ip.proto;
    out->ttl = ip.hlim;
    out->ip_len = 40u + ip.plen;
    tw_pkt_addr_set6(&out->src, &ip.src);
    tw_pkt_addr_set6(&out->dst, &ip.dst);
    l4 = !(ip.has_frag && ip.frag_off) && ip.proto != TW_IP6_ESP && ip.proto != TW_IP6_NONE;
  } else {
    return tw_pkt_fail(reason, TW_PKT_R_ICMP_QUOTE_BAD);
  }
  out->version = version;
  out->off = (uint32_t)base_off;
  out->l4_off = (uint32_t)(base_off + hl);
  out->l4_len = (uint32_t)(len - hl);
  const uint8_t *p = buf + hl;
  if (!l4 || len - hl < 8) return 0;
  if (ports_first(out->proto)) {
    out->sport = tw_rd16(p);
    out->dport = tw_rd16(p + 2);
  }
  if (out->proto == IPPROTO_TCP) out->tcp_seq = tw_rd32(p + 4);
  if (out->proto == IPPROTO_UDP) out->udp_len = tw_rd16(p + 4);
  if (out->proto == IPPROTO_ICMP || out->proto == IPPROTO_ICMPV6) {
    out->icmp_type = p[0];
    out->icmp_code = p[1];
    if (out->proto == IPPROTO_ICMP ? icmp_has_idseq(p[0])
                                   : (p[0] == TW_ICMP6_ECHO || p[0] == TW_ICMP6_ECHOREPLY)) {
      out->icmp_id = tw_rd16(p + 4);
      out->icmp_seq = tw_rd16(p + 6);
    }
  }
  return 0;
}

int tw_pkt_icmp_build(uint8_t *buf, size_t cap, const tw_pkt_icmp *ic, const void *data,
                      size_t dlen) {
  if (!buf || !ic || (dlen && !data)) return -EINVAL;
  size_t hl = ic->type == TW_ICMP_TSTAMP || ic->type == TW_ICMP_TSTAMPREPLY ? 20 : 8;
  if (dlen > 65535 - hl) return -EMSGSIZE;
  if (cap < hl + dlen) return -ENOBUFS;
  buf[0] = ic->type;
  buf[1] = ic->code;
  tw_wr16(buf + 2, 0);
  if (icmp_has_idseq(ic->type)) {
    tw_wr16(buf + 4, ic->id);
    tw_wr16(buf + 6, ic->seq);
  } else if (ic->type == TW_ICMP_REDIRECT) {
    memcpy(buf + 4, &ic->gw, 4);
  } else if (ic->type == TW_ICMP_PARAMPROB) {
    tw_wr32(buf + 4, (uint32_t)ic->pointer << 24);
  } else if (ic->type == TW_ICMP_UNREACH && ic->code == 4) {
    tw_wr32(buf + 4, ic->mtu);
  } else {
    tw_wr32(buf + 4, ic->rest);
  }
  if (hl == 20) {
    tw_wr32(buf + 8, ic->ts_orig);
    tw_wr32(buf + 12, ic->ts_recv);
    tw_wr32(buf + 16, ic->ts_xmit);
  }
  if (dlen) memcpy(buf + hl, data, dlen);
  tw_wr16(buf + 2, tw_pkt_csum(buf, hl + dlen));
  return (int)(hl + dlen);
}

int tw_pkt_icmp6_build(uint8_t *buf, size_t cap, const tw_pkt_icmp6 *ic, const void *data,
                       size_t dlen) {
  if (!buf || !ic || (dlen && !data)) return -EINVAL;
  uint8_t hdr[40];
  size_t hl = 8;
  memset(hdr, 0, sizeof hdr);
  hdr[0] = ic->type;
  hdr[1] = ic->code;
  switch (ic->type) {
  case TW_ICMP6_TOOBIG:
    tw_wr32(hdr + 4, ic->mtu);
    break;
  case TW_ICMP6_PARAMPROB:
    tw_wr32(hdr + 4, ic->pointer);
    break;
  case TW_ICMP6_ECHO:
  case TW_ICMP6_ECHOREPLY:
    tw_wr16(hdr + 4, ic->id);
    tw_wr16(hdr + 6, ic->seq);
    break;
  case TW_ICMP6_RA:
    hdr[4] = ic->ra_hlim;
    hdr[5] = ic->ra_flags;
    tw_wr16(hdr + 6, ic->ra_lifetime);
    tw_wr32(hdr + 8, ic->ra_reachable);
    tw_wr32(hdr + 12, ic->ra_retrans);
    hl = 16;
    break;
  case TW_ICMP6_NA:
    hdr[4] = ic->na_flags & 0xe0;
    /* fall through */
  case TW_ICMP6_NS:
    memcpy(hdr + 8, &ic->target, 16);
    hl = 24;
    break;
  case TW_ICMP6_REDIRECT:
    memcpy(hdr + 8, &ic->target, 16);
    memcpy(hdr + 24, &ic->rdst, 16);
    hl = 40;
    break;
  default:
    break;
  }
  int nd = ic->type >= TW_ICMP6_RS && ic->type <= TW_ICMP6_REDIRECT;
  size_t olen = nd ? 8u * ((ic->has_sll ? 1u : 0u) + (ic->has_tll ? 1u : 0u)) : 0;
  if (dlen > 65535 - hl - olen) return -EMSGSIZE;
  if (cap < hl + olen + dlen) return -ENOBUFS;
  memcpy(buf, hdr, hl);
  uint8_t *p = buf + hl;
  if (nd && ic->has_sll) {
    p[0] = TW_ND_OPT_SLL;
    p[1] = 1;
    memcpy(p + 2, ic->sll, 6);
    p += 8;
  }
  if (nd && ic->has_tll) {
    p[0] = TW_ND_OPT_TLL;
    p[1] = 1;
    memcpy(p + 2, ic->tll, 6);
    p += 8;
  }
  if (dlen) memcpy(p, data, dlen);
  return (int)(hl + olen + dlen);
}
