/* packet-ip4.c: the IPv4 header (RFC 791) and its options: every option is
 * length-checked, record route, source routes, timestamps and router alert
 * are decoded; record route and timestamp options can be built. */
#include "packet-int.h"

static int parse_route(const tw_pkt_opt *o, tw_pkt_ip4_route *rt) {
  /* type, len = 3 + 4n, pointer (4, 8, ... len + 1), n addresses */
  if (o->len < 3 || (o->len - 3) % 4) return -1;
  uint8_t ptr = o->data[0];
  if (ptr < 4 || ptr > o->len + 1 || (ptr - 4) % 4) return -1;
  memset(rt, 0, sizeof *rt);
  rt->pointer = ptr;
  rt->slots = (uint8_t)((o->len - 3) / 4);
  rt->filled = (uint8_t)((ptr - 4) / 4);
  for (unsigned i = 0; i < rt->slots; i++) memcpy(&rt->addr[i], o->data + 1 + 4 * i, 4);
  return 0;
}

static int parse_ts(const tw_pkt_opt *o, tw_pkt_ip4_ts *ts) {
  /* type, len, pointer (5, 5 + entry, ...), overflow << 4 | flag, entries */
  if (o->len < 4) return -1;
  uint8_t ptr = o->data[0], flag = o->data[1] & 0x0f;
  unsigned entry;
  if (flag == TW_IP4TS_ONLY)
    entry = 4;
  else if (flag == TW_IP4TS_ADDR || flag == TW_IP4TS_PRESPEC)
    entry = 8;
  else
    return -1;
  if ((o->len - 4u) % entry) return -1;
  if (ptr < 5 || ptr > o->len + 1 || (ptr - 5u) % entry) return -1;
  memset(ts, 0, sizeof *ts);
  ts->pointer = ptr;
  ts->overflow = o->data[1] >> 4;
  ts->flag = flag;
  ts->slots = (uint8_t)((o->len - 4u) / entry); /* <= 9 or <= 4: len <= 40 */
  ts->filled = (uint8_t)((ptr - 5u) / entry);
  const uint8_t *e = o->data + 2;
  for (unsigned i = 0; i < ts->slots; i++, e += entry) {
    if (entry == 4) {
      ts->ts[i] = tw_rd32(e);
    } else {
      memcpy(&ts->addr[i], e, 4);
      ts->ts[i] = tw_rd32(e + 4);
    }
  }
  return 0;
}

int tw_pkt_ip4_parse(const uint8_t *buf, size_t len, tw_pkt_ip4 *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 20) return tw_pkt_fail(reason, TW_PKT_R_IP4_TRUNC);
  if (buf[0] >> 4 != 4) return tw_pkt_fail(reason, TW_PKT_R_IP4_VERSION);
  size_t hl = (size_t)(buf[0] & 0x0f) * 4;
  out->hl = (uint8_t)hl;
  out->tos = buf[1];
  out->tot_len = tw_rd16(buf + 2);
  out->id = tw_rd16(buf + 4);
  uint16_t ff = tw_rd16(buf + 6);
  out->rf = (ff >> 15) & 1;
  out->df = (ff >> 14) & 1;
  out->mf = (ff >> 13) & 1;
  out->frag_off = (uint16_t)((ff & 0x1fff) * 8);
  out->ttl = buf[8];
  out->proto = buf[9];
  out->csum = tw_rd16(buf + 10);
  memcpy(&out->src, buf + 12, 4);
  memcpy(&out->dst, buf + 16, 4);
  if (hl < 20) return tw_pkt_fail(reason, TW_PKT_R_IP4_IHL);
  if (hl > len) return tw_pkt_fail(reason, TW_PKT_R_IP4_IHL_TRUNC);
  if (out->tot_len < hl) return tw_pkt_fail(reason, TW_PKT_R_IP4_TOTLEN_SHORT);
  out->csum_ok = tw_pkt_csum(buf, hl) == 0;
  out->opt = hl > 20 ? buf + 20 : NULL;
  out->optlen = (uint8_t)(hl - 20);

  size_t off = 0;
  tw_pkt_opt o;
  int r;
  while ((r = tw_pkt_opt_step(out->opt, out->optlen, &off, &o)) == 1) {
    switch (o.kind) {
    case TW_IP4OPT_EOL:
      out->opts |= TW_IP4OPT_F_EOL;
      break;
    case TW_IP4OPT_NOP:
      out->opts |= TW_IP4OPT_F_NOP;
      break;
    case TW_IP4OPT_RR:
      if (parse_route(&o, &out->rr)) return tw_pkt_fail(reason, TW_PKT_R_IP4_OPT_ROUTE);
      out->opts |= TW_IP4OPT_F_RR;
      break;
    case TW_IP4OPT_LSRR:
      if (parse_route(&o, &out->lsrr)) return tw_pkt_fail(reason, TW_PKT_R_IP4_OPT_ROUTE);
      out->opts |= TW_IP4OPT_F_LSRR;
      break;
    case TW_IP4OPT_SSRR:
      if (parse_route(&o, &out->ssrr)) return tw_pkt_fail(reason, TW_PKT_R_IP4_OPT_ROUTE);
      out->opts |= TW_IP4OPT_F_SSRR;
      break;
    case TW_IP4OPT_TS:
      if (parse_ts(&o, &out->ts)) return tw_pkt_fail(reason, TW_PKT_R_IP4_OPT_TS);
      out->opts |= TW_IP4OPT_F_TS;
      break;
    case TW_IP4OPT_RA:
      if (o.len == 4) {
        out->ra = tw_rd16(o.data);
        out->opts |= TW_IP4OPT_F_RA;
      } else {
        out->opts |= TW_IP4OPT_F_OTHER;
      }
      break;
    default:
      out->opts |= TW_IP4OPT_F_OTHER;
      break;
    }
  }
  if (r == -1) return tw_pkt_fail(reason, TW_PKT_R_IP4_OPT_LEN);
  if (r == -2) return tw_pkt_fail(reason, TW_PKT_R_IP4_OPT_OVERRUN);
  return (int)hl;
}

int tw_pkt_ip4_build(uint8_t *buf, size_t cap, const tw_pkt_ip4 *ip, size_t payload_len) {
  if (!buf || !ip || ip->optlen > 40 || (ip->optlen && !ip->opt)) return -EINVAL;
  if (ip->frag_off % 8) return -EINVAL;
  size_t hl = 20 + (((size_t)ip->optlen + 3) & ~(size_t)3);
  if (payload_len > 65535 - hl) return -EMSGSIZE;
  if (cap < hl) return -ENOBUFS;
  buf[0] = (uint8_t)(0x40 | hl / 4);
  buf[1] = ip->tos;
  tw_wr16(buf + 2, (uint16_t)(hl + payload_len));
  tw_wr16(buf + 4, ip->id);
  tw_wr16(buf + 6, (uint16_t)((ip->rf ? 0x8000 : 0) | (ip->df ? 0x4000 : 0) |
                              (ip->mf ? 0x2000 : 0) | ip->frag_off / 8));
  buf[8] = ip->ttl;
  buf[9] = ip->proto;
  tw_wr16(buf + 10, 0);
  memcpy(buf + 12, &ip->src, 4);
  memcpy(buf + 16, &ip->dst, 4);
  if (ip->optlen) memcpy(buf + 20, ip->opt, ip->optlen);
  memset(buf + 20 + ip->optlen, 0, hl - 20 - ip->optlen); /* EOL padding */
  tw_wr16(buf + 10, tw_pkt_csum(buf, hl));
  return (int)hl;
}

int tw_pkt_ip4_opt_rr(uint8_t *buf, size_t cap, unsigned slots) {
  if (!buf || slots < 1 || slots > 9) return -EINVAL;
  size_t len = 3 + 4 * (size_t)slots;
  if (cap < len) return -ENOBUFS;
  buf[0] = TW_IP4OPT_RR;
  buf[1] = (uint8_t)len;
  buf[2] = 4;
  memset(buf + 3, 0, len - 3);
  return (int)len;
}

int tw_pkt_ip4_opt_ts(uint8_t *buf, size_t cap, unsigned flag, unsigned slots,
                      const struct in_addr *pre) {
  if (!buf) return -EINVAL;
  size_t entry;
  if (flag == TW_IP4TS_ONLY) {
    if (slots < 1 || slots > 9) return -EINVAL;
    entry = 4;
  } else if (flag == TW_IP4TS_ADDR || flag == TW_IP4TS_PRESPEC) {
    if (slots < 1 || slots > 4 || (flag == TW_IP4TS_PRESPEC && !pre)) return -EINVAL;
    entry = 8;
  } else {
    return -EINVAL;
  }
  size_t len = 4 + entry * slots;
  if (cap < len) return -ENOBUFS;
  buf[0] = TW_IP4OPT_TS;
  buf[1] = (uint8_t)len;
  buf[2] = 5;
  buf[3] = (uint8_t)flag;
  memset(buf + 4, 0, len - 4);
  if (flag == TW_IP4TS_PRESPEC)
    for (unsigned i = 0; i < slots; i++) memcpy(buf + 4 + 8 * i, &pre[i], 4);
  return (int)len;
}
