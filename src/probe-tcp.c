/* probe-tcp.c: the SYN (-sS) and ACK (-sA) scan stages. Stateless: the
 * probe's source port and sequence (SYN) or acknowledgement (ACK) number are
 * keyed hashes of its addresses and ports (cookie.h), so a reply proves
 * which probe it answers without any table; only unanswered probes are
 * remembered, by the engine.
 *
 *   SYN scan: SYN+ACK -> open (syn-ack), RST -> closed (reset),
 *             ICMP unreachable -> filtered, nothing -> filtered.
 *   ACK scan: RST -> unfiltered (reset), ICMP unreachable or nothing ->
 *             filtered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

struct tcp_stage {
  struct scan *s;
  enum scan_type type;
  const uint16_t *ports;
  uint32_t nports;
  int32_t *port_index; /* port -> index in ports, -1 */
  tw_pkt_tmpl tm[SCAN_MAX_SRCS]; /* one per source address */
  tw_req *waiters[SCAN_MAX_SRCS];
};

static void flow_of(const tw_pkt_addr *src, const tw_pkt_addr *dst, uint16_t dport,
                    uint16_t sport, struct cookie_flow *f) {
  f->family = dst->family;
  f->src = src->b;
  f->dst = dst->b;
  f->sport = sport;
  f->dport = dport;
  f->proto = IPPROTO_TCP;
}

static uint16_t probe_sport(const struct tcp_stage *ts, const tw_pkt_addr *src,
                            const tw_pkt_addr *dst, uint16_t dport) {
  struct cookie_flow f;
  flow_of(src, dst, dport, 0, &f);
  return cookie_src_port(&ts->s->key, &f, ts->s->sport_lo, ts->s->sport_hi);
}

static int tcp_build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf,
                     size_t cap) {
  struct tcp_stage *ts = e->ctx;
  const tw_pkt_addr *dst = &e->hosts[h];
  uint32_t gh = ts->s->live_idx[h];
  const tw_pkt_addr *src = scan_src(ts->s, gh);
  uint16_t dport = ts->ports[p];
  uint16_t sport = probe_sport(ts, src, dst, dport);
  struct cookie_flow f;
  flow_of(src, dst, dport, sport, &f);
  uint32_t cookie = cookie_tcp_seq(&ts->s->key, &f);
  const tw_pkt_tmpl *tm = &ts->tm[ts->s->hosts[gh].src];
  if (tm->family != dst->family) return 0;
  /* SYN: the cookie is our sequence number (the answer acknowledges it +1).
   * ACK: the cookie is our acknowledgement number (a RST answers with it
   * as its sequence number); the template's own seq goes unused. */
  if (ts->type == SCAN_ACK) {
    int n = tw_pkt_tmpl_build(tm, buf, cap, dst, sport, dport, cookie ^ 0x5a5a5a5au,
                              (uint16_t)(cookie >> 16));
    if (n > 0) {
      /* put the cookie in the ack field and fix the checksum */
      uint8_t *tcp = buf + tm->l4_off;
      uint32_t old;
      memcpy(&old, tcp + 8, 4);
      uint32_t ack = htonl(cookie);
      memcpy(tcp + 8, &ack, 4);
      uint16_t csum;
      memcpy(&csum, tcp + 16, 2);
      csum = htons(tw_pkt_csum_update32(ntohs(csum), ntohl(old), cookie));
      memcpy(tcp + 16, &csum, 2);
    }
    return n;
  }
  return tw_pkt_tmpl_build(tm, buf, cap, dst, sport, dport, cookie, (uint16_t)(cookie >> 16));
}

static void tcp_timeout(struct engine *e, uint32_t h, uint32_t p) {
  struct tcp_stage *ts = e->ctx;
  scan_port_timeout(ts->s, ts->s->live_idx[h], PROTO_TCP, ts->ports[p], PORT_FILTERED);
}

static const struct probe_ops tcp_ops = {tcp_build, tcp_timeout, NULL, NULL, NULL};

static void tcp_reply(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct tcp_stage *ts = data;
  struct scan *s = ts->s;
  if (status < 0 || !s->eng_live || s->stage_ctx != ts) return;
  const tw_pkt_addr *target = rx->quoted ? &rx->q_dst : &rx->src;
  const tw_pkt_addr *us = rx->quoted ? &rx->q_src : &rx->dst;
  uint16_t dport = rx->quoted ? rx->q_dport : rx->sport;
  uint16_t sport = rx->quoted ? rx->q_sport : rx->dport;
  if (rx->quoted && !(rx->q_fields & TW_M_DPORT)) return;
  int64_t h = engine_host(&s->eng, target);
  int32_t p = ts->port_index[dport];
  if (h < 0 || p < 0) {
    s->eng.st.unsolicited++;
    return;
  }
  struct cookie_flow f;
  flow_of(us, target, dport, sport, &f);
  if (sport != probe_sport(ts, us, target, dport)) {
    s->bad_cookies++;
    return;
  }
  uint32_t cookie = cookie_tcp_seq(&s->key, &f);
  enum port_state st;
  const char *reason;
  int ttl = rx->ttl;
  if (rx->quoted) {
    /* The quote holds our probe: its port pair was checked above. */
    st = PORT_FILTERED;
    reason = scan_icmp_reason(rx);
  } else if (ts->type == SCAN_SYN) {
    if (rx->tcp_ack != cookie + 1) {
      s->bad_cookies++;
      return;
    }
    if ((rx->tcp_flags & (TW_TCP_SYN | TW_TCP_ACK)) == (TW_TCP_SYN | TW_TCP_ACK)) {
      st = PORT_OPEN;
      reason = "syn-ack";
    } else if (rx->tcp_flags & TW_TCP_RST) {
      st = PORT_CLOSED;
      reason = "reset";
    } else {
      return;
    }
  } else { /* ACK scan */
    if (!(rx->tcp_flags & TW_TCP_RST) || rx->tcp_seq != cookie) {
      s->bad_cookies++;
      return;
    }
    st = PORT_UNFILTERED;
    reason = "reset";
  }
  if (engine_answered(&s->eng, (uint32_t)h, (uint32_t)p))
    scan_port(s, s->live_idx[h], PROTO_TCP, dport, st, reason, ttl);
  else
    scan_port_late(s, s->live_idx[h], PROTO_TCP, dport, st, reason, ttl);
}

static void tcp_done(struct engine *e) {
  struct tcp_stage *ts = e->ctx;
  struct scan *s = ts->s;
  s->probes_sent += e->st.sent;
  if (s->o->debug)
    fprintf(stderr,
            "trawl: %s pass: sent %llu (re-sent %llu), answered %llu, late %llu, "
            "timed out %llu, send errors %llu, unsolicited %llu\n",
            ts->type == SCAN_SYN ? "SYN" : "ACK", (unsigned long long)e->st.sent,
            (unsigned long long)e->st.resent, (unsigned long long)e->st.answered,
            (unsigned long long)e->st.late, (unsigned long long)e->st.timeouts,
            (unsigned long long)e->st.send_errors, (unsigned long long)e->st.unsolicited);
  for (int i = 0; i < SCAN_MAX_SRCS; i++)
    if (ts->waiters[i]) tw_cancel(ts->waiters[i]);
  free(ts->port_index);
  s->stage_ctx = NULL;
  s->eng_live = false;
  engine_free(e);
  free(ts);
  scan_next(s);
}

static int tmpl_for(struct tcp_stage *ts, const tw_pkt_addr *src, tw_pkt_tmpl *tm) {
  tw_pkt_ipspec ip = {0};
  ip.src = *src;
  ip.dst.family = src->family;
  ip.ttl = 64;
  tw_pkt_tcp t = {0};
  if (ts->type == SCAN_SYN) {
    t.flags = TW_TCP_SYN;
    /* MSS 1460 only, like a minimal stack: small and unremarkable. */
    static const uint8_t mss[4] = {2, 4, 0x05, 0xb4};
    t.opt = mss;
    t.optlen = sizeof mss;
    t.win = 1024;
  } else {
    t.flags = TW_TCP_ACK;
    t.win = 1024;
  }
  return tw_pkt_tmpl_init(tm, NULL, &ip, &t);
}

static int add_waiter(struct tcp_stage *ts, const tw_pkt_addr *src, tw_req **req) {
  tw_match m = {0};
  m.fields = TW_M_PROTO | TW_M_DST;
  m.proto = IPPROTO_TCP;
  m.dst = *src;
  return tw_wait(ts->s->loop, req, &m, TW_WAIT_ERRORS, 0, tcp_reply, ts);
}

int stage_tcp(struct scan *s, enum scan_type type) {
  struct options *o = s->o;
  if (o->ports.n[PROTO_TCP] == 0 || s->nlive == 0) return 0;
  struct tcp_stage *ts = calloc(1, sizeof *ts);
  if (!ts) return -ENOMEM;
  ts->s = s;
  ts->type = type;
  ts->ports = o->ports.ports[PROTO_TCP];
  ts->nports = (uint32_t)o->ports.n[PROTO_TCP];
  ts->port_index = malloc(65536 * sizeof *ts->port_index);
  if (!ts->port_index) {
    free(ts);
    return -ENOMEM;
  }
  memset(ts->port_index, 0xff, 65536 * sizeof *ts->port_index);
  for (uint32_t i = 0; i < ts->nports; i++) ts->port_index[ts->ports[i]] = (int32_t)i;
  int err = 0;
  for (int i = 0; i < s->nsrcs; i++) {
    if ((err = tmpl_for(ts, &s->srcs[i], &ts->tm[i])) < 0) goto fail;
    if ((err = add_waiter(ts, &s->srcs[i], &ts->waiters[i])) < 0) goto fail;
  }
  struct engine_config c;
  scan_engine_config(s, &c);
  s->stage_ctx = ts;
  s->eng_live = true;
  err = engine_start(&s->eng, s->loop, &c, &tcp_ops, ts, s->live, s->nlive, ts->nports,
                     s->rs4, s->rs6, tcp_done);
  if (err < 0) {
    s->eng_live = false;
    s->stage_ctx = NULL;
    goto fail;
  }
  return 1;
fail:
  for (int i = 0; i < SCAN_MAX_SRCS; i++)
    if (ts->waiters[i]) tw_cancel(ts->waiters[i]);
  free(ts->port_index);
  free(ts);
  return err;
}
