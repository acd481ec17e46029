/* probe-udp.c: the UDP scan stage (-sU). Each probe carries a request of
 * the port's protocol (udp-payloads.h); its source port is a cookie.
 *
 *   a UDP answer                       -> open (udp-response)
 *   ICMP port unreachable              -> closed (port-unreach)
 *   other ICMP unreachable             -> filtered (host-unreach, ...)
 *   nothing                            -> open|filtered (no-response)
 *
 * Hosts limit how fast they send ICMP errors (Linux: about one per second
 * per peer after a small burst), so silence is not proof: while a host is
 * still producing port-unreachables, its unanswered probes keep being
 * re-sent instead of being declared open|filtered. A host is judged
 * finished when it has not produced a new answer for RATELIMIT_QUIET_NS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan.h"
#include "probe/udp-payloads.h"

#define RATELIMIT_QUIET_NS 2500000000ull
#define RATELIMIT_RESEND_NS 1000000000ull

struct udp_stage {
  struct scan *s;
  const uint16_t *ports;
  uint32_t nports;
  int32_t *port_index;
  uint64_t *last_icmp_ns; /* per live host: last port-unreach seen (0 none) */
  tw_req *waiters[SCAN_MAX_SRCS];
};

static int udp_build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf, size_t cap) {
  struct udp_stage *us = e->ctx;
  const tw_pkt_addr *dst = &e->hosts[h];
  const tw_pkt_addr *src = scan_src(us->s, us->s->live_idx[h]);
  if (src->family != dst->family) return 0;
  uint16_t dport = us->ports[p];
  size_t plen;
  const uint8_t *payload = udp_payload(dport, &plen);
  tw_pkt_ipspec ip = {0};
  ip.src = *src;
  ip.dst = *dst;
  ip.ttl = 64;
  return tw_pkt_build_udp(buf, cap, &ip, scan_sport(us->s, src, dst, IPPROTO_UDP, dport), dport, payload, plen);
}

static void udp_timeout(struct engine *e, uint32_t h, uint32_t p) {
  struct udp_stage *us = e->ctx;
  scan_port_timeout(us->s, us->s->live_idx[h], PROTO_UDP, us->ports[p], PORT_OPEN_FILTERED);
}

/* Keep re-sending while the host recently answered with a port-unreach:
 * it is rate-limiting, and the silence may be a suppressed error. */
static uint64_t udp_extend(struct engine *e, uint32_t h, uint32_t p) {
  struct udp_stage *us = e->ctx;
  uint64_t last = us->last_icmp_ns[h];
  if (!last || tw_hrtime() - last >= RATELIMIT_QUIET_NS) return 0;
  /* One error per second gets through: asking more often only adds
   * packets, not answers. */
  return e->rto_ns > RATELIMIT_RESEND_NS ? e->rto_ns : RATELIMIT_RESEND_NS;
}

static const struct probe_ops udp_ops = {udp_build, udp_timeout, NULL, udp_extend, NULL};

static void udp_reply(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status < 0) return; /* cancelled: the stage may be gone already */
  struct udp_stage *us = data;
  struct scan *s = us->s;
  if (!s->eng_live || s->stage_ctx != us) return;
  const tw_pkt_addr *target = rx->quoted ? &rx->q_dst : &rx->src;
  const tw_pkt_addr *self = rx->quoted ? &rx->q_src : &rx->dst;
  uint16_t dport = rx->quoted ? rx->q_dport : rx->sport;
  uint16_t sport = rx->quoted ? rx->q_sport : rx->dport;
  if (rx->quoted && !(rx->q_fields & TW_M_DPORT)) return;
  if (rx->quoted ? rx->q_proto != IPPROTO_UDP : rx->proto != IPPROTO_UDP) return;
  int64_t h = engine_host(&s->eng, target);
  int32_t p = us->port_index[dport];
  if (h < 0 || p < 0) {
    s->eng.st.unsolicited++;
    return;
  }
  if (sport != scan_sport(s, self, target, IPPROTO_UDP, dport)) {
    s->bad_cookies++;
    return;
  }
  enum port_state st;
  const char *reason = scan_icmp_reason(rx);
  if (!rx->quoted) {
    st = PORT_OPEN;
    reason = "udp-response";
  } else if (strcmp(reason, "port-unreach") == 0) {
    /* Only the target itself saying so means closed. */
    if (!tw_pkt_addr_eq(&rx->src, target)) return;
    st = PORT_CLOSED;
    us->last_icmp_ns[h] = tw_hrtime();
  } else {
    st = PORT_FILTERED;
  }
  if (engine_answered(&s->eng, (uint32_t)h, (uint32_t)p))
    scan_port(s, s->live_idx[h], PROTO_UDP, dport, st, reason, rx->ttl);
  else
    scan_port_late(s, s->live_idx[h], PROTO_UDP, dport, st, reason, rx->ttl);
}

static void udp_done(struct engine *e) {
  struct udp_stage *us = e->ctx;
  struct scan *s = us->s;
  scan_end_pass(s, "UDP");
  scan_cancel_waiters(us->waiters, SCAN_MAX_SRCS);
  free(us->port_index);
  free(us->last_icmp_ns);
  free(us);
  scan_next(s);
}

int stage_udp(struct scan *s) {
  struct options *o = s->o;
  if (o->ports.n[PROTO_UDP] == 0 || s->nlive == 0) return 0;
  struct udp_stage *us = calloc(1, sizeof *us);
  if (!us) return -ENOMEM;
  us->s = s;
  us->ports = o->ports.ports[PROTO_UDP];
  us->nports = (uint32_t)o->ports.n[PROTO_UDP];
  us->port_index = scan_port_index(us->ports, us->nports);
  us->last_icmp_ns = calloc(s->nlive, sizeof *us->last_icmp_ns);
  int err = -ENOMEM;
  if (!us->port_index || !us->last_icmp_ns) goto fail;
  for (int i = 0; i < s->nsrcs; i++) {
    tw_match m = {0};
    m.fields = TW_M_PROTO | TW_M_DST;
    m.proto = IPPROTO_UDP;
    m.dst = s->srcs[i];
    if ((err = tw_wait(s->loop, &us->waiters[i], &m, TW_WAIT_ERRORS, 0, udp_reply, us)) < 0)
      goto fail;
  }
  struct engine_config c;
  timing_engine_config(s->o, s->o->packet_trace ? s->start_ns : 0, &c);
  err = scan_start_pass(s, &c, &udp_ops, us, s->live, s->nlive, us->nports, udp_done);
  if (err > 0) return err;
fail:
  scan_cancel_waiters(us->waiters, SCAN_MAX_SRCS);
  free(us->port_index);
  free(us->last_icmp_ns);
  free(us);
  return err;
}
