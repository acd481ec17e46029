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

#include "scan/scan.h"

struct tcp_stage {
  struct scan *s;
  enum scan_type type;
  const uint16_t *ports;
  uint32_t nports;
  int32_t *port_index; /* port -> index in ports, -1 */
  tw_pkt_tmpl tm[SCAN_MAX_SRCS]; /* one per source address */
  tw_req *waiters[SCAN_MAX_SRCS];
};

static int tcp_build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf,
                     size_t cap) {
  struct tcp_stage *ts = e->ctx;
  const tw_pkt_addr *dst = &e->hosts[h];
  uint32_t gh = ts->s->live_idx[h];
  const tw_pkt_addr *src = scan_src(ts->s, gh);
  uint16_t dport = ts->ports[p];
  uint16_t sport = scan_sport(ts->s, src, dst, IPPROTO_TCP, dport);
  struct cookie_flow f;
  scan_flow(&f, src, dst, IPPROTO_TCP, sport, dport);
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
  if (status < 0) return; /* cancelled: the stage may be gone already */
  struct tcp_stage *ts = data;
  struct scan *s = ts->s;
  if (!s->eng_live || s->stage_ctx != ts) return;
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
  scan_flow(&f, us, target, IPPROTO_TCP, sport, dport);
  if (sport != scan_sport(s, us, target, IPPROTO_TCP, dport)) {
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
  scan_end_pass(s, ts->type == SCAN_SYN ? "SYN" : "ACK");
  scan_cancel_waiters(ts->waiters, SCAN_MAX_SRCS);
  free(ts->port_index);
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
  if (!(ts->port_index = scan_port_index(ts->ports, ts->nports))) {
    free(ts);
    return -ENOMEM;
  }
  int err = 0;
  for (int i = 0; i < s->nsrcs; i++) {
    if ((err = tmpl_for(ts, &s->srcs[i], &ts->tm[i])) < 0) goto fail;
    if ((err = add_waiter(ts, &s->srcs[i], &ts->waiters[i])) < 0) goto fail;
  }
  struct engine_config c;
  timing_engine_config(s->o, s->o->packet_trace ? s->start_ns : 0, &c);
  err = scan_start_pass(s, &c, &tcp_ops, ts, s->live, s->nlive, ts->nports, tcp_done);
  if (err > 0) return err;
fail:
  scan_cancel_waiters(ts->waiters, SCAN_MAX_SRCS);
  free(ts->port_index);
  free(ts);
  return err;
}
