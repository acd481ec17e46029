/* probe.c: what every probe module shares (see probe.h): the cookie flow
 * and source port of a probe, the names of ICMP errors, and the reply
 * prologue — orient the reply, find its host and port, check the
 * source-port cookie, count what is dropped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"

void probe_flow(struct cookie_flow *f, const tw_pkt_addr *src, const tw_pkt_addr *dst,
                uint8_t proto, uint16_t sport, uint16_t dport) {
  f->family = dst->family;
  f->src = src->b;
  f->dst = dst->b;
  f->sport = sport;
  f->dport = dport;
  f->proto = proto;
}

uint16_t probe_sport(const struct probe_env *env, const tw_pkt_addr *src, const tw_pkt_addr *dst,
                     uint8_t proto, uint16_t dport) {
  struct cookie_flow f;
  probe_flow(&f, src, dst, proto, 0, dport);
  return cookie_src_port(env->key, &f, env->sport_lo, env->sport_hi);
}

const char *probe_icmp_reason(const tw_rx *rx) {
  int v6 = rx->proto == IPPROTO_ICMPV6;
  uint8_t t = rx->icmp_type, c = rx->icmp_code;
  if (!v6) {
    if (t == 3) {
      switch (c) {
      case 0: return "net-unreach";
      case 1: return "host-unreach";
      case 2: return "proto-unreach";
      case 3: return "port-unreach";
      case 9: return "net-prohibited";
      case 10: return "host-prohibited";
      case 13: return "admin-prohibited";
      default: return "unreach";
      }
    }
    if (t == 11) return "time-exceeded";
    return "icmp-error";
  }
  if (t == 1) {
    switch (c) {
    case 0: return "net-unreach";
    case 1: return "admin-prohibited";
    case 3: return "host-unreach";
    case 4: return "port-unreach";
    default: return "unreach";
    }
  }
  if (t == 3) return "time-exceeded";
  return "icmp-error";
}

int probe_reply_begin(struct probe_env *env, const tw_rx *rx, uint8_t proto,
                      const int32_t *port_index, uint8_t sport_proto, struct probe_reply *r) {
  if (!env->active) return 0;
  if (proto && (rx->quoted ? rx->q_proto : rx->proto) != proto) return 0;
  bool ports = port_index || sport_proto;
  if (rx->quoted && ports && !(rx->q_fields & TW_M_DPORT)) {
    (*env->malformed)++; /* the quote stops before the ports: cannot be checked */
    return 0;
  }
  r->target = rx->quoted ? &rx->q_dst : &rx->src;
  r->us = rx->quoted ? &rx->q_src : &rx->dst;
  r->tport = rx->quoted ? rx->q_dport : rx->sport;
  r->uport = rx->quoted ? rx->q_sport : rx->dport;
  r->p = -1;
  r->rx = rx;
  int64_t h = engine_host(env->eng, r->target);
  if (h >= 0 && port_index) r->p = port_index[r->tport];
  if (h < 0 || (port_index && r->p < 0)) {
    env->eng->st.unsolicited++;
    return 0;
  }
  r->h = (uint32_t)h;
  r->g = probe_group(env, r->h);
  if (sport_proto && r->uport != probe_sport(env, r->us, r->target, sport_proto, r->tport)) {
    (*env->bad_cookies)++;
    return 0;
  }
  return 1;
}

void probe_report_port(struct probe_env *env, const struct probe_reply *r, enum scan_proto proto,
                       enum port_state state, const char *reason, int ttl) {
  struct probe_verdict v = {0};
  v.ev = engine_answered(env->eng, r->h, (uint32_t)r->p) ? PROBE_PORT : PROBE_PORT_LATE;
  v.host = r->g;
  v.proto = proto;
  v.port = r->tport;
  v.state = state;
  v.reason = reason;
  v.ttl = ttl;
  v.frame = r->rx ? r->rx->frame : NULL;
  env->report(env, &v);
}

void probe_report_timeout(struct probe_env *env, uint32_t h, enum scan_proto proto, uint16_t port,
                          enum port_state state) {
  struct probe_verdict v = {0};
  v.ev = PROBE_PORT_TIMEOUT;
  v.host = probe_group(env, h);
  v.proto = proto;
  v.port = port;
  v.state = state;
  v.reason = "no-response";
  env->report(env, &v);
}

int probe_wait_sources(struct probe_env *env, uint8_t proto, tw_req **w, tw_wait_cb cb) {
  for (int i = 0; i < env->nsrcs; i++) {
    tw_match m;
    memset(&m, 0, sizeof m);
    m.fields = TW_M_PROTO | TW_M_DST;
    m.proto = proto;
    m.dst = env->srcs[i];
    int err = tw_wait(env->loop, &w[i], &m, TW_WAIT_ERRORS, 0, cb, env);
    if (err < 0) return err;
  }
  return 0;
}

void probe_cancel_waiters(tw_req **w, int n) {
  for (int i = 0; i < n; i++)
    if (w[i]) tw_cancel(w[i]);
}

int32_t *probe_port_index(const uint16_t *ports, uint32_t n) {
  int32_t *ix = malloc(65536 * sizeof *ix);
  if (!ix) return NULL;
  memset(ix, 0xff, 65536 * sizeof *ix);
  for (uint32_t i = 0; i < n; i++) ix[ports[i]] = (int32_t)i;
  return ix;
}
