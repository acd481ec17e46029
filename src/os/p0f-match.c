/* p0f-match.c: taking a p0f observation from a TCP/IP packet and matching
 * it against p0f.fp's TCP signatures (see p0f-match.h). */
#include "os/p0f-match.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

uint8_t p0f_guess_ittl(uint8_t ttl) {
  return ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

/* Walks the raw TCP options: layout, EOL padding, opt+ and bad. */
static void p0f_obs_layout(const tw_pkt_tcp *t, struct p0f_obs *o) {
  size_t off = 0;
  tw_pkt_opt opt;
  for (;;) {
    size_t at = off;
    int r = tw_pkt_opt_next(t->opt, t->optlen, &off, &opt);
    if (r < 0) {
      o->quirks |= P0F_QBIT(BAD);
      return;
    }
    if (r == 0) return;
    if (o->nopt == P0F_OPT_MAX) return;
    o->opt[o->nopt++] = opt.kind;
    if (opt.kind == TW_TCPOPT_EOL) {
      o->eol_pad = (uint8_t)(t->optlen - at - 1);
      for (size_t i = at + 1; i < t->optlen; i++)
        if (t->opt[i] != 0) o->quirks |= P0F_QBIT(OPT_NZ);
      return;
    }
  }
}

int p0f_obs_from_pkt(const tw_pkt *p, struct p0f_obs *o) {
  memset(o, 0, sizeof *o);
  if (p == NULL || !(p->layers & TW_PKT_L_TCP) || !(p->layers & (TW_PKT_L_IP4 | TW_PKT_L_IP6)))
    return -EINVAL;
  const tw_pkt_tcp *t = &p->tcp;
  if (p->layers & TW_PKT_L_IP4) {
    const tw_pkt_ip4 *ip = &p->ip4;
    o->ver = 4;
    o->ttl = ip->ttl;
    o->olen = (uint8_t)(ip->hl - 20);
    if (ip->df) o->quirks |= P0F_QBIT(DF);
    if (ip->df && ip->id != 0) o->quirks |= P0F_QBIT(ID_NZ);
    if (!ip->df && ip->id == 0) o->quirks |= P0F_QBIT(ID_ZERO);
    if (ip->rf) o->quirks |= P0F_QBIT(MBZ);
    if (ip->tos & 3) o->quirks |= P0F_QBIT(ECN);
  } else {
    const tw_pkt_ip6 *ip = &p->ip6;
    o->ver = 6;
    o->ttl = ip->hlim;
    o->olen = (uint8_t)(ip->hl > 40 + 255 ? 255 : ip->hl - 40);
    if (ip->flow) o->quirks |= P0F_QBIT(FLOW);
    if (ip->tclass & 3) o->quirks |= P0F_QBIT(ECN);
  }
  unsigned f = t->flags;
  o->syn_ack = (f & (TW_TCP_SYN | TW_TCP_ACK)) == (TW_TCP_SYN | TW_TCP_ACK);
  if (f & (TW_TCP_ECE | TW_TCP_CWR)) o->quirks |= P0F_QBIT(ECN);
  if (t->seq == 0) o->quirks |= P0F_QBIT(SEQ_ZERO);
  if (!(f & TW_TCP_ACK) && t->ack != 0) o->quirks |= P0F_QBIT(ACK_NZ);
  if ((f & TW_TCP_ACK) && t->ack == 0) o->quirks |= P0F_QBIT(ACK_ZERO);
  if (!(f & TW_TCP_URG) && t->urg != 0) o->quirks |= P0F_QBIT(UPTR_NZ);
  if (f & TW_TCP_URG) o->quirks |= P0F_QBIT(URG);
  if (f & TW_TCP_PSH) o->quirks |= P0F_QBIT(PUSH);
  o->win = t->win;
  const tw_pkt_tcp_opts *op = &t->opts;
  o->mss = (op->present & TW_TCPOPT_F_MSS) ? op->mss : -1;
  o->wscale = (op->present & TW_TCPOPT_F_WS) ? op->wscale : -1;
  if (o->wscale > 14) o->quirks |= P0F_QBIT(EXWS);
  if (op->present & TW_TCPOPT_F_TS) {
    o->has_ts = 1;
    if (op->tsval == 0) o->quirks |= P0F_QBIT(TS1_ZERO);
    /* a SYN+ACK echoes the peer's clock: ts2+ says something on a SYN only */
    if (!(f & TW_TCP_ACK) && op->tsecr != 0) o->quirks |= P0F_QBIT(TS2_NZ);
  }
  p0f_obs_layout(t, o);
  o->paylen = p->payload_len;
  return 0;
}

static int p0f_win_ok(const struct p0f_sig *s, const struct p0f_obs *o) {
  uint32_t w = o->win;
  switch (s->wtype) {
  case P0F_W_ANY: return 1;
  case P0F_W_EXACT: return w == s->wval;
  case P0F_W_MOD: return s->wval && w % s->wval == 0;
  case P0F_W_MSS:
    if (o->mss <= 0) return 0;
    if (w == (uint32_t)o->mss * s->wval) return 1;
    return o->has_ts && o->mss > 12 && w == (uint32_t)(o->mss - 12) * s->wval;
  default: /* P0F_W_MTU */
    if (o->mss <= 0) return 0;
    return w == (uint32_t)(o->mss + (o->ver == 6 ? 60 : 40)) * s->wval;
  }
}

/* 0: no match, 1: fuzzy, 2: exact. */
static int p0f_sig_match(const struct p0f_sig *s, const struct p0f_obs *o) {
  if (s->ver && s->ver != o->ver) return 0;
  if (s->nopt != o->nopt || memcmp(s->opt, o->opt, s->nopt) != 0) return 0;
  if (s->nopt && s->opt[s->nopt - 1] == 0 && s->eol_pad != o->eol_pad) return 0;
  if (s->olen != o->olen) return 0;
  if (s->mss >= 0 && s->mss != o->mss) return 0;
  if (s->wscale >= 0 && s->wscale != (o->wscale < 0 ? 0 : o->wscale)) return 0;
  if (!p0f_win_ok(s, o)) return 0;
  if (s->pclass >= 0 && s->pclass != (o->paylen > 0)) return 0;
  uint32_t other = o->ver == 6 ? P0F_Q_V4ONLY : P0F_Q_V6ONLY;
  uint32_t sq = s->quirks & ~other, oq = o->quirks & ~other;
  int exact = 1;
  if (sq != oq) {
    uint32_t gone = sq & ~oq, added = oq & ~sq;
    if (gone & ~(P0F_QBIT(DF) | P0F_QBIT(ID_NZ))) return 0;
    if (added & ~(P0F_QBIT(ID_ZERO) | P0F_QBIT(ECN))) return 0;
    exact = 0;
  }
  if (o->ttl > s->ittl || (!s->bad_ttl && s->ittl - o->ttl > P0F_MAX_DIST)) exact = 0;
  return exact ? 2 : 1;
}

void p0f_match(const struct p0f_db *db, const struct p0f_obs *o, int response,
               struct p0f_result *r) {
  long generic = -1, fuzzy = -1, best = -1;
  for (size_t i = 0; i < p0f_sig_count(db) && best < 0; i++) {
    const struct p0f_sig *s = p0f_sig(db, i);
    if (s->response != (response != 0)) continue;
    int m = p0f_sig_match(s, o);
    if (m == 2 && !p0f_label(db, s->label)->generic)
      best = (long)i;
    else if (m == 2 && generic < 0)
      generic = (long)i;
    else if (m == 1 && fuzzy < 0)
      fuzzy = (long)i;
  }
  memset(r, 0, sizeof *r);
  r->sig = best >= 0 ? best : generic >= 0 ? generic : fuzzy;
  r->fuzzy = best < 0 && generic < 0 && fuzzy >= 0;
  const struct p0f_sig *s = r->sig >= 0 ? p0f_sig(db, (size_t)r->sig) : NULL;
  if (s) r->generic = p0f_label(db, s->label)->generic;
  r->ittl = s && !s->bad_ttl && s->ittl >= o->ttl ? s->ittl : p0f_guess_ittl(o->ttl);
  r->dist = (uint8_t)(r->ittl - o->ttl);
}

size_t p0f_obs_format(const struct p0f_obs *o, char *buf, size_t cap) {
  struct p0f_sig s;
  memset(&s, 0, sizeof s);
  s.ver = o->ver;
  s.ittl = p0f_guess_ittl(o->ttl);
  s.olen = o->olen;
  s.mss = o->mss < 0 ? 0 : o->mss;
  if (o->mss > 0 && o->win && o->win % o->mss == 0) {
    s.wtype = P0F_W_MSS;
    s.wval = o->win / (uint32_t)o->mss;
  } else {
    s.wtype = P0F_W_EXACT;
    s.wval = o->win;
  }
  s.wscale = o->wscale < 0 ? 0 : o->wscale;
  s.nopt = o->nopt;
  memcpy(s.opt, o->opt, o->nopt);
  s.eol_pad = o->eol_pad;
  s.quirks = o->quirks;
  s.pclass = o->paylen > 0;
  return p0f_sig_format(&s, buf, cap);
}

size_t p0f_result_format(const struct p0f_db *db, const struct p0f_result *r, char *buf,
                         size_t cap) {
  int n;
  const struct p0f_sig *s = r->sig >= 0 ? p0f_sig(db, (size_t)r->sig) : NULL;
  if (s == NULL) {
    n = snprintf(buf, cap, "unknown");
  } else {
    const struct p0f_label *l = p0f_label(db, s->label);
    n = snprintf(buf, cap, "%s%s%s%s%s", r->generic ? "generic " : "", l->name,
                 l->flavor[0] ? " " : "", l->flavor, r->fuzzy ? " (fuzzy)" : "");
  }
  return n < 0 ? 0 : (size_t)n;
}
