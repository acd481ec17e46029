/* probe-tcp.c: the SYN (-sS) and ACK (-sA) scan probes. Stateless: the
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
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"

struct tcp_probe {
  bool ack;
  const uint16_t *ports;
  uint32_t nports;
  int32_t *port_index; /* port -> index in ports, -1 */
  tw_pkt_tmpl tm[PROBE_MAX_SRCS]; /* one per source address */
  tw_req *waiters[PROBE_MAX_SRCS];
};

static int tcp_build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf,
                     size_t cap) {
  struct probe_env *env = e->ctx;
  struct tcp_probe *tp = env->probe;
  const tw_pkt_addr *dst = &e->hosts[h];
  int si = env->source(env, probe_group(env, h));
  const tw_pkt_addr *src = &env->srcs[si];
  uint16_t dport = tp->ports[p];
  uint16_t sport = probe_sport(env, src, dst, IPPROTO_TCP, dport);
  struct cookie_flow f;
  probe_flow(&f, src, dst, IPPROTO_TCP, sport, dport);
  uint32_t cookie = cookie_tcp_seq(env->key, &f);
  const tw_pkt_tmpl *tm = &tp->tm[si];
  if (tm->family != dst->family) return 0;
  /* SYN: the cookie is our sequence number (the answer acknowledges it +1).
   * ACK: the cookie is our acknowledgement number (a RST answers with it
   * as its sequence number); the template's own seq goes unused. */
  if (tp->ack) {
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
  struct probe_env *env = e->ctx;
  struct tcp_probe *tp = env->probe;
  probe_report_timeout(env, h, PROTO_TCP, tp->ports[p], PORT_FILTERED);
}

const struct probe_ops probe_tcp_ops = {tcp_build, tcp_timeout, NULL, NULL, NULL, NULL};

static void tcp_reply(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status < 0) return; /* cancelled: the module may be gone already */
  struct probe_env *env = data;
  struct tcp_probe *tp = env->probe;
  struct probe_reply r;
  if (!probe_reply_begin(env, rx, IPPROTO_TCP, tp->port_index, IPPROTO_TCP, &r)) return;
  struct cookie_flow f;
  probe_flow(&f, r.us, r.target, IPPROTO_TCP, r.uport, r.tport);
  uint32_t cookie = cookie_tcp_seq(env->key, &f);
  enum port_state st;
  const char *reason;
  if (rx->quoted) {
    /* The quote holds our probe: its port pair was checked above. */
    st = PORT_FILTERED;
    reason = probe_icmp_reason(rx);
  } else if (!tp->ack) {
    if (rx->tcp_ack != cookie + 1) {
      (*env->bad_cookies)++;
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
      (*env->bad_cookies)++;
      return;
    }
    st = PORT_UNFILTERED;
    reason = "reset";
  }
  probe_report_port(env, &r, PROTO_TCP, st, reason, rx->ttl);
}

static int tmpl_for(bool ack, const tw_pkt_addr *src, tw_pkt_tmpl *tm) {
  tw_pkt_ipspec ip = {0};
  ip.src = *src;
  ip.dst.family = src->family;
  ip.ttl = 64;
  tw_pkt_tcp t = {0};
  if (!ack) {
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

int probe_tcp_open(struct probe_env *env, bool ack, const uint16_t *ports, uint32_t nports) {
  if (env->nsrcs > PROBE_MAX_SRCS) return -EINVAL;
  struct tcp_probe *tp = calloc(1, sizeof *tp);
  if (!tp) return -ENOMEM;
  tp->ack = ack;
  tp->ports = ports;
  tp->nports = nports;
  env->probe = tp;
  int err = -ENOMEM;
  if (!(tp->port_index = probe_port_index(ports, nports))) goto fail;
  for (int i = 0; i < env->nsrcs; i++)
    if ((err = tmpl_for(ack, &env->srcs[i], &tp->tm[i])) < 0) goto fail;
  if ((err = probe_wait_sources(env, IPPROTO_TCP, tp->waiters, tcp_reply)) < 0) goto fail;
  return 0;
fail:
  probe_tcp_close(env);
  return err;
}

void probe_tcp_close(struct probe_env *env) {
  struct tcp_probe *tp = env->probe;
  if (!tp) return;
  probe_cancel_waiters(tp->waiters, PROBE_MAX_SRCS);
  free(tp->port_index);
  free(tp);
  env->probe = NULL;
}
