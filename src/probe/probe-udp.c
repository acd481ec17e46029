/* probe-udp.c: the UDP scan probes (-sU). Each probe carries a request of
 * the port's protocol: every payload Nmap's nmap-payloads has for the
 * port, one packet each and all in each try, as Nmap sends them (when the
 * file is loaded, db/payloads.h), else trawl's own (udp-payloads.h); the
 * source port is a cookie.
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

#include "probe/probe.h"
#include "probe/udp-payloads.h"
#include "db/payloads.h"

#define RATELIMIT_QUIET_NS 2500000000ull
#define RATELIMIT_RESEND_NS 1000000000ull

struct udp_probe {
  const uint16_t *ports;
  uint32_t nports;
  int32_t *port_index;
  uint64_t *last_icmp_ns; /* per pass host: last port-unreach seen (0 none) */
  tw_req *waiters[PROBE_MAX_SRCS];
};

/* Packet k of the probe to (h, p): the k-th payload of the port. */
static int udp_packet(struct engine *e, uint32_t h, uint32_t p, int k, uint8_t *buf, size_t cap) {
  struct probe_env *env = e->ctx;
  struct udp_probe *up = env->probe;
  const tw_pkt_addr *dst = &e->hosts[h];
  const tw_pkt_addr *src = probe_src(env, h);
  if (src->family != dst->family) return 0;
  uint16_t dport = up->ports[p];
  size_t plen;
  const uint8_t *payload = NULL;
  if (env->udp_payloads) {
    payload = payloads_get(env->udp_payloads, dport, (size_t)k, &plen);
    if (!payload && k > 0) return 0;
    if (!payload) plen = 0; /* Nmap's file knows the port not: empty */
  } else {
    if (k > 0) return 0;
    payload = udp_payload(dport, &plen);
  }
  tw_pkt_ipspec ip = {0};
  ip.src = *src;
  ip.dst = *dst;
  ip.ttl = 64;
  return tw_pkt_build_udp(buf, cap, &ip, probe_sport(env, src, dst, IPPROTO_UDP, dport), dport,
                          payload, plen);
}

static int udp_build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf, size_t cap) {
  return udp_packet(e, h, p, 0, buf, cap);
}

static int udp_more(struct engine *e, uint32_t h, uint32_t p, int try, int k, uint8_t *buf,
                    size_t cap) {
  return udp_packet(e, h, p, k, buf, cap);
}

static void udp_timeout(struct engine *e, uint32_t h, uint32_t p) {
  struct probe_env *env = e->ctx;
  struct udp_probe *up = env->probe;
  probe_report_timeout(env, h, PROTO_UDP, up->ports[p], PORT_OPEN_FILTERED);
}

/* Keep re-sending while the host recently answered with a port-unreach:
 * it is rate-limiting, and the silence may be a suppressed error. */
static uint64_t udp_extend(struct engine *e, uint32_t h, uint32_t p) {
  struct probe_env *env = e->ctx;
  struct udp_probe *up = env->probe;
  uint64_t last = up->last_icmp_ns[h];
  if (!last || tw_hrtime() - last >= RATELIMIT_QUIET_NS) return 0;
  /* One error per second gets through: asking more often only adds
   * packets, not answers. */
  return e->rto_ns > RATELIMIT_RESEND_NS ? e->rto_ns : RATELIMIT_RESEND_NS;
}

const struct probe_ops probe_udp_ops = {udp_build, udp_timeout, NULL, udp_extend, NULL, udp_more};

static void udp_reply(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status < 0) return; /* cancelled: the module may be gone already */
  struct probe_env *env = data;
  struct udp_probe *up = env->probe;
  struct probe_reply r;
  if (!probe_reply_begin(env, rx, IPPROTO_UDP, up->port_index, IPPROTO_UDP, &r)) return;
  enum port_state st;
  const char *reason = probe_icmp_reason(rx);
  if (!rx->quoted) {
    st = PORT_OPEN;
    reason = "udp-response";
  } else if (strcmp(reason, "port-unreach") == 0) {
    /* Only the target itself saying so means closed. */
    if (!tw_pkt_addr_eq(&rx->src, r.target)) return;
    st = PORT_CLOSED;
    up->last_icmp_ns[r.h] = tw_hrtime();
  } else {
    st = PORT_FILTERED;
  }
  probe_report_port(env, &r, PROTO_UDP, st, reason, rx->ttl);
}

int probe_udp_open(struct probe_env *env, const uint16_t *ports, uint32_t nports, uint32_t nhosts) {
  if (env->nsrcs > PROBE_MAX_SRCS) return -EINVAL;
  struct udp_probe *up = calloc(1, sizeof *up);
  if (!up) return -ENOMEM;
  up->ports = ports;
  up->nports = nports;
  env->probe = up;
  up->port_index = probe_port_index(ports, nports);
  up->last_icmp_ns = calloc(nhosts ? nhosts : 1, sizeof *up->last_icmp_ns);
  int err = -ENOMEM;
  if (!up->port_index || !up->last_icmp_ns) goto fail;
  if ((err = probe_wait_sources(env, IPPROTO_UDP, up->waiters, udp_reply)) < 0) goto fail;
  return 0;
fail:
  probe_udp_close(env);
  return err;
}

void probe_udp_close(struct probe_env *env) {
  struct udp_probe *up = env->probe;
  if (!up) return;
  probe_cancel_waiters(up->waiters, PROBE_MAX_SRCS);
  free(up->port_index);
  free(up->last_icmp_ns);
  free(up);
  env->probe = NULL;
}
