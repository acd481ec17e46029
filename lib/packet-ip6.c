/* packet-ip6.c: the IPv6 header (RFC 8200) and its extension header chain,
 * walked with every length checked and the number of headers bounded:
 * hop-by-hop, routing, fragment, destination options and AH. Builders for
 * the fixed header and each extension header. */
#include "packet-int.h"

/* Walk the TLV options of a hop-by-hop or destination options header. */
static int walk_tlv(const uint8_t *p, size_t len, tw_pkt_ip6 *out, int hbh) {
  size_t i = 0;
  while (i < len) {
    uint8_t type = p[i];
    if (type == 0) { /* Pad1 */
      i++;
      continue;
    }
    if (len - i < 2 || p[i + 1] > len - i - 2) return -1;
    uint8_t olen = p[i + 1];
    if (hbh && type == 5 && olen == 2) { /* router alert (RFC 2711) */
      out->has_ra = 1;
      out->ra = tw_rd16(p + i + 2);
    }
    i += 2 + (size_t)olen;
  }
  return 0;
}

int tw_pkt_ip6_parse(const uint8_t *buf, size_t len, tw_pkt_ip6 *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 40) return tw_pkt_fail(reason, TW_PKT_R_IP6_TRUNC);
  if (buf[0] >> 4 != 6) return tw_pkt_fail(reason, TW_PKT_R_IP6_VERSION);
  out->tclass = (uint8_t)((buf[0] & 0x0f) << 4 | buf[1] >> 4);
  out->flow = (uint32_t)(buf[1] & 0x0f) << 16 | (uint32_t)buf[2] << 8 | buf[3];
  out->plen = tw_rd16(buf + 4);
  out->next = buf[6];
  out->hlim = buf[7];
  memcpy(&out->src, buf + 8, 16);
  memcpy(&out->dst, buf + 24, 16);
  out->hl = 40;
  out->proto = out->next;

  size_t end = 40 + (size_t)out->plen;
  if (end > len) end = len;
  size_t off = 40;
  uint8_t nh = out->next;
  for (;;) {
    size_t hlen;
    if (nh != TW_IP6_HBH && nh != TW_IP6_RH && nh != TW_IP6_FRAG && nh != TW_IP6_DST &&
        nh != TW_IP6_AH)
      break;
    if (nh == TW_IP6_HBH && off != 40) return tw_pkt_fail(reason, TW_PKT_R_IP6_HBH_ORDER);
    if (out->next_ext == TW_PKT_IP6_MAXEXT) return tw_pkt_fail(reason, TW_PKT_R_IP6_EXT_MANY);
    if (end - off < 8) return tw_pkt_fail(reason, TW_PKT_R_IP6_EXT_TRUNC);
    const uint8_t *h = buf + off;
    if (nh == TW_IP6_FRAG)
      hlen = 8;
    else if (nh == TW_IP6_AH)
      hlen = ((size_t)h[1] + 2) * 4;
    else
      hlen = ((size_t)h[1] + 1) * 8;
    if (hlen > end - off) return tw_pkt_fail(reason, TW_PKT_R_IP6_EXT_TRUNC);
    tw_pkt_ip6_ext *x = &out->ext[out->next_ext++];
    x->type = nh;
    x->next = h[0];
    x->off = (uint16_t)off;
    x->len = (uint16_t)hlen;
    int stop = 0;
    switch (nh) {
    case TW_IP6_HBH:
    case TW_IP6_DST:
      if (walk_tlv(h + 2, hlen - 2, out, nh == TW_IP6_HBH))
        return tw_pkt_fail(reason, TW_PKT_R_IP6_OPT_OVERRUN);
      break;
    case TW_IP6_RH:
      out->has_rh = 1;
      out->rh_type = h[2];
      out->rh_segleft = h[3];
      /* types 0 and 2: 16-byte addresses after 4 reserved bytes */
      if ((h[2] == 0 || h[2] == 2) && (h[1] % 2 || h[3] > h[1] / 2))
        return tw_pkt_fail(reason, TW_PKT_R_IP6_RH);
      break;
    case TW_IP6_FRAG:
      out->has_frag = 1;
      out->frag_off = tw_rd16(h + 2) & 0xfff8;
      out->frag_mf = h[3] & 1;
      out->frag_id = tw_rd32(h + 4);
      stop = out->frag_off != 0; /* the rest is the middle of a datagram */
      break;
    default: /* AH */
      break;
    }
    nh = h[0];
    off += hlen;
    if (stop) break;
  }
  out->proto = nh;
  out->hl = (uint16_t)off;
  return (int)off;
}

int tw_pkt_ip6_build(uint8_t *buf, size_t cap, const tw_pkt_ip6 *ip, size_t payload_len) {
  if (!buf || !ip) return -EINVAL;
  if (payload_len > 65535) return -EMSGSIZE;
  if (cap < 40) return -ENOBUFS;
  buf[0] = (uint8_t)(0x60 | ip->tclass >> 4);
  buf[1] = (uint8_t)((ip->tclass & 0x0f) << 4 | ((ip->flow >> 16) & 0x0f));
  buf[2] = (uint8_t)(ip->flow >> 8);
  buf[3] = (uint8_t)ip->flow;
  tw_wr16(buf + 4, (uint16_t)payload_len);
  buf[6] = ip->next;
  buf[7] = ip->hlim;
  memcpy(buf + 8, &ip->src, 16);
  memcpy(buf + 24, &ip->dst, 16);
  return 40;
}

int tw_pkt_ip6_opts_build(uint8_t *buf, size_t cap, uint8_t next, const uint8_t *tlv,
                          size_t tlvlen) {
  if (!buf || (tlvlen && !tlv)) return -EINVAL;
  size_t total = (2 + tlvlen + 7) & ~(size_t)7;
  if (total > 2048) return -EMSGSIZE;
  if (cap < total) return -ENOBUFS;
  buf[0] = next;
  buf[1] = (uint8_t)(total / 8 - 1);
  if (tlvlen) memcpy(buf + 2, tlv, tlvlen);
  size_t pad = total - 2 - tlvlen;
  uint8_t *p = buf + 2 + tlvlen;
  if (pad == 1) {
    p[0] = 0; /* Pad1 */
  } else if (pad >= 2) {
    p[0] = 1; /* PadN */
    p[1] = (uint8_t)(pad - 2);
    memset(p + 2, 0, pad - 2);
  }
  return (int)total;
}

int tw_pkt_ip6_frag_build(uint8_t *buf, size_t cap, uint8_t next, uint16_t off, int mf,
                          uint32_t id) {
  if (!buf || off % 8) return -EINVAL;
  if (cap < 8) return -ENOBUFS;
  buf[0] = next;
  buf[1] = 0;
  tw_wr16(buf + 2, (uint16_t)(off | (mf ? 1 : 0)));
  tw_wr32(buf + 4, id);
  return 8;
}

int tw_pkt_ip6_rh_build(uint8_t *buf, size_t cap, uint8_t next, uint8_t type,
                        uint8_t segleft, const struct in6_addr *addrs, size_t n) {
  if (!buf || n > 127 || (n && !addrs)) return -EINVAL;
  size_t len = 8 + 16 * n;
  if (cap < len) return -ENOBUFS;
  buf[0] = next;
  buf[1] = (uint8_t)(2 * n);
  buf[2] = type;
  buf[3] = segleft;
  memset(buf + 4, 0, 4);
  for (size_t i = 0; i < n; i++) memcpy(buf + 8 + 16 * i, &addrs[i], 16);
  return (int)len;
}

void tw_pkt_ip6_final_dst(const uint8_t *ip, const tw_pkt_ip6 *h, struct in6_addr *out) {
  *out = h->dst;
  if (!h->has_rh || h->rh_segleft == 0) return;
  for (unsigned i = 0; i < h->next_ext; i++) {
    const tw_pkt_ip6_ext *x = &h->ext[i];
    if (x->type != TW_IP6_RH) continue;
    const uint8_t *rh = ip + x->off;
    size_t naddr = (x->len - 8) / 16;
    if (naddr == 0) return;
    if (rh[2] == 4) /* segment routing: segment list[0] is the last */
      memcpy(out, rh + 8, 16);
    else if (rh[2] == 0 || rh[2] == 2)
      memcpy(out, rh + 8 + 16 * (naddr - 1), 16);
    return;
  }
}
