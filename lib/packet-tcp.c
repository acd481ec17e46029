/* packet-tcp.c: the TCP header (RFC 9293) and its options: MSS, window
 * scale (RFC 7323), SACK-permitted and SACK blocks (RFC 2018), timestamps
 * (RFC 7323), NOP and EOL; other kinds are skipped by their length. */
#include "packet-int.h"

int tw_pkt_tcp_parse(const uint8_t *buf, size_t len, tw_pkt_tcp *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 20) return tw_pkt_fail(reason, TW_PKT_R_TCP_TRUNC);
  out->sport = tw_rd16(buf);
  out->dport = tw_rd16(buf + 2);
  out->seq = tw_rd32(buf + 4);
  out->ack = tw_rd32(buf + 8);
  size_t hl = (size_t)(buf[12] >> 4) * 4;
  out->flags = (uint16_t)((buf[12] & 1) << 8 | buf[13]);
  out->win = tw_rd16(buf + 14);
  out->csum = tw_rd16(buf + 16);
  out->urg = tw_rd16(buf + 18);
  if (hl < 20) return tw_pkt_fail(reason, TW_PKT_R_TCP_DOFF);
  if (hl > len) return tw_pkt_fail(reason, TW_PKT_R_TCP_DOFF_TRUNC);
  out->hl = (uint8_t)hl;
  out->opt = hl > 20 ? buf + 20 : NULL;
  out->optlen = (uint8_t)(hl - 20);

  tw_pkt_tcp_opts *op = &out->opts;
  size_t off = 0;
  tw_pkt_opt o;
  int r;
  while ((r = tw_pkt_opt_step(out->opt, out->optlen, &off, &o)) == 1) {
    if (op->nkinds < sizeof op->kinds) op->kinds[op->nkinds++] = o.kind;
    switch (o.kind) {
    case TW_TCPOPT_EOL:
      op->present |= TW_TCPOPT_F_EOL;
      break;
    case TW_TCPOPT_NOP:
      op->present |= TW_TCPOPT_F_NOP;
      break;
    case TW_TCPOPT_MSS:
      if (o.len != 4) return tw_pkt_fail(reason, TW_PKT_R_TCP_OPT_MSS);
      op->mss = tw_rd16(o.data);
      op->present |= TW_TCPOPT_F_MSS;
      break;
    case TW_TCPOPT_WS:
      if (o.len != 3) return tw_pkt_fail(reason, TW_PKT_R_TCP_OPT_WS);
      op->wscale = o.data[0];
      op->present |= TW_TCPOPT_F_WS;
      break;
    case TW_TCPOPT_SACKOK:
      if (o.len != 2) return tw_pkt_fail(reason, TW_PKT_R_TCP_OPT_SACKOK);
      op->present |= TW_TCPOPT_F_SACKOK;
      break;
    case TW_TCPOPT_SACK:
      if (o.len < 10 || (o.len - 2) % 8) return tw_pkt_fail(reason, TW_PKT_R_TCP_OPT_SACK);
      op->nsack = (uint8_t)((o.len - 2) / 8); /* <= 4: options are <= 40 bytes */
      for (unsigned i = 0; i < op->nsack; i++) {
        op->sack[i].left = tw_rd32(o.data + 8 * i);
        op->sack[i].right = tw_rd32(o.data + 8 * i + 4);
      }
      op->present |= TW_TCPOPT_F_SACK;
      break;
    case TW_TCPOPT_TS:
      if (o.len != 10) return tw_pkt_fail(reason, TW_PKT_R_TCP_OPT_TS);
      op->tsval = tw_rd32(o.data);
      op->tsecr = tw_rd32(o.data + 4);
      op->present |= TW_TCPOPT_F_TS;
      break;
    default:
      op->present |= TW_TCPOPT_F_OTHER;
      break;
    }
  }
  if (r == -1) return tw_pkt_fail(reason, TW_PKT_R_TCP_OPT_LEN);
  if (r == -2) return tw_pkt_fail(reason, TW_PKT_R_TCP_OPT_OVERRUN);
  return (int)hl;
}

int tw_pkt_tcp_build(uint8_t *buf, size_t cap, const tw_pkt_tcp *t) {
  if (!buf || !t || t->optlen > 40 || (t->optlen && !t->opt)) return -EINVAL;
  size_t hl = 20 + (((size_t)t->optlen + 3) & ~(size_t)3);
  if (cap < hl) return -ENOBUFS;
  tw_wr16(buf, t->sport);
  tw_wr16(buf + 2, t->dport);
  tw_wr32(buf + 4, t->seq);
  tw_wr32(buf + 8, t->ack);
  buf[12] = (uint8_t)((hl / 4) << 4 | ((t->flags >> 8) & 1));
  buf[13] = (uint8_t)t->flags;
  tw_wr16(buf + 14, t->win);
  tw_wr16(buf + 16, 0);
  tw_wr16(buf + 18, t->urg);
  if (t->optlen) memcpy(buf + 20, t->opt, t->optlen);
  memset(buf + 20 + t->optlen, 0, hl - 20 - t->optlen);
  return (int)hl;
}

/* Append one option kind taking its value from o; -EINVAL for a kind that
 * has no field here. p has room for 44 bytes; returns the new length. */
static int put_kind(uint8_t *p, size_t n, uint8_t kind, const tw_pkt_tcp_opts *o) {
  if (n > 40) return -EMSGSIZE;
  switch (kind) {
  case TW_TCPOPT_EOL:
  case TW_TCPOPT_NOP:
    p[n] = kind;
    return (int)n + 1;
  case TW_TCPOPT_MSS:
    if (n + 4 > 40) return -EMSGSIZE;
    p[n] = kind;
    p[n + 1] = 4;
    tw_wr16(p + n + 2, o->mss);
    return (int)n + 4;
  case TW_TCPOPT_WS:
    if (n + 3 > 40) return -EMSGSIZE;
    p[n] = kind;
    p[n + 1] = 3;
    p[n + 2] = o->wscale;
    return (int)n + 3;
  case TW_TCPOPT_SACKOK:
    if (n + 2 > 40) return -EMSGSIZE;
    p[n] = kind;
    p[n + 1] = 2;
    return (int)n + 2;
  case TW_TCPOPT_TS:
    if (n + 10 > 40) return -EMSGSIZE;
    p[n] = kind;
    p[n + 1] = 10;
    tw_wr32(p + n + 2, o->tsval);
    tw_wr32(p + n + 6, o->tsecr);
    return (int)n + 10;
  case TW_TCPOPT_SACK: {
    if (o->nsack < 1 || o->nsack > 4) return -EINVAL;
    size_t l = 2 + 8 * (size_t)o->nsack;
    if (n + l > 40) return -EMSGSIZE;
    p[n] = kind;
    p[n + 1] = (uint8_t)l;
    for (unsigned i = 0; i < o->nsack; i++) {
      tw_wr32(p + n + 2 + 8 * i, o->sack[i].left);
      tw_wr32(p + n + 6 + 8 * i, o->sack[i].right);
    }
    return (int)(n + l);
  }
  default:
    return -EINVAL;
  }
}

int tw_pkt_tcp_opts_build(uint8_t *buf, size_t cap, const tw_pkt_tcp_opts *o) {
  if (!buf || !o || o->nkinds > sizeof o->kinds) return -EINVAL;
  uint8_t tmp[44];
  int n = 0;
#define PUT(k)                                   \
  do {                                           \
    n = put_kind(tmp, (size_t)n, (k), o);        \
    if (n < 0) return n;                         \
  } while (0)
  if (o->nkinds) {
    for (unsigned i = 0; i < o->nkinds; i++) PUT(o->kinds[i]);
  } else {
    if (o->present & TW_TCPOPT_F_MSS) PUT(TW_TCPOPT_MSS);
    int sok = (o->present & TW_TCPOPT_F_SACKOK) != 0, ts = (o->present & TW_TCPOPT_F_TS) != 0;
    if (sok && ts) {
      PUT(TW_TCPOPT_SACKOK);
      PUT(TW_TCPOPT_TS);
    } else if (ts) {
      PUT(TW_TCPOPT_NOP);
      PUT(TW_TCPOPT_NOP);
      PUT(TW_TCPOPT_TS);
    } else if (sok) {
      PUT(TW_TCPOPT_NOP);
      PUT(TW_TCPOPT_NOP);
      PUT(TW_TCPOPT_SACKOK);
    }
    if (o->present & TW_TCPOPT_F_WS) {
      PUT(TW_TCPOPT_NOP);
      PUT(TW_TCPOPT_WS);
    }
    if (o->present & TW_TCPOPT_F_SACK) {
      PUT(TW_TCPOPT_NOP);
      PUT(TW_TCPOPT_NOP);
      PUT(TW_TCPOPT_SACK);
    }
  }
#undef PUT
  while (n % 4) tmp[n++] = TW_TCPOPT_EOL;
  if (n > 40) return -EMSGSIZE;
  if (cap < (size_t)n) return -ENOBUFS;
  memcpy(buf, tmp, (size_t)n);
  return n;
}
