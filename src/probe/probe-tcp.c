/* probe-tcp.c: the raw TCP scan probes: SYN (-sS), ACK (-sA) and the flag
 * scans (-sN -sF -sX -sM -sW, any of them with --scanflags). Stateless: the
 * probe's source port and sequence number (or, when the probe carries ACK,
 * its acknowledgement number) are keyed hashes of its addresses and ports
 * (cookie.h), so a reply proves which probe it answers without any table;
 * only unanswered probes are remembered, by the engine.
 *
 *   SYN scan: SYN+ACK -> open (syn-ack), RST -> closed (reset),
 *             ICMP unreachable -> filtered, nothing -> filtered.
 *   ACK scan: RST -> unfiltered (reset), ICMP unreachable or nothing ->
 *             filtered.
 *   NULL/FIN/Xmas/Maimon: RST -> closed (reset), ICMP unreachable ->
 *             filtered, nothing -> open|filtered (no-response).
 *   Window:   ACK probes; RST with a non-zero window -> open, with a zero
 *             window -> closed (reset both), otherwise as the ACK scan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"

enum tcp_rule { RULE_SYN, RULE_ACK, RULE_STEALTH, RULE_WINDOW };

struct tcp_probe {
  enum tcp_rule rule; /* how answers read */
  uint8_t flags;      /* the probe's TCP flags */
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
  /* Without ACK: the cookie is our sequence number (the answer acknowledges
   * it, +1 for SYN and for FIN). With ACK: the cookie is our acknowledgement
   * number (a RST answers with it as its sequence number). */
  if (tp->flags & TW_TCP_ACK) {
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
  probe_report_timeout(env, h, PROTO_TCP, tp->ports[p],
                       tp->rule == RULE_STEALTH ? PORT_OPEN_FILTERED : PORT_FILTERED);
}

/* The answer's TCP window (0 when the frame is too short to hold it). */
static uint16_t tcp_window(const tw_rx *rx) {
  if (!rx->frame || !rx->l4_off || (size_t)rx->l4_off + 16 > rx->frame->caplen) return 0;
  const uint8_t *w = rx->frame->data + rx->l4_off + 14;
  return (uint16_t)(w[0] << 8 | w[1]);
}

/* Does a TCP answer carry this probe's cookie? */
static bool tcp_cookie_ok(const struct tcp_probe *tp, const tw_rx *rx, uint32_t cookie) {
  if (tp->flags & TW_TCP_ACK) return rx->tcp_seq == cookie;
  uint32_t want = cookie + !!(tp->flags & TW_TCP_SYN);
  /* a FIN takes a sequence number too: a RST may acknowledge it */
  return rx->tcp_ack == want || ((tp->flags & TW_TCP_FIN) && rx->tcp_ack == want + 1);
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
  } else {
    bool rst = rx->tcp_flags & TW_TCP_RST;
    bool synack = (rx->tcp_flags & (TW_TCP_SYN | TW_TCP_ACK)) == (TW_TCP_SYN | TW_TCP_ACK);
    if ((!rst && !(tp->rule == RULE_SYN && synack)) || !tcp_cookie_ok(tp, rx, cookie)) {
      if (rst || synack) (*env->bad_cookies)++;
      return;
    }
    reason = "reset";
    switch (tp->rule) {
      case RULE_SYN:
        st = synack ? PORT_OPEN : PORT_CLOSED;
        if (synack) reason = "syn-ack";
        break;
      case RULE_ACK: st = PORT_UNFILTERED; break;
      case RULE_STEALTH: st = PORT_CLOSED; break;
      case RULE_WINDOW: st = tcp_window(rx) ? PORT_OPEN : PORT_CLOSED; break;
      default: return;
    }
  }
  probe_report_port(env, &r, PROTO_TCP, st, reason, rx->ttl);
}

static int tmpl_for(uint8_t flags, const tw_pkt_addr *src, tw_pkt_tmpl *tm) {
  tw_pkt_ipspec ip = {0};
  ip.src = *src;
  ip.dst.family = src->family;
  ip.ttl = 64;
  tw_pkt_tcp t = {0};
  t.flags = flags;
  t.win = 1024;
  if (flags & TW_TCP_SYN) {
    /* MSS 1460 only, like a minimal stack: small and unremarkable. */
    static const uint8_t mss[4] = {2, 4, 0x05, 0xb4};
    t.opt = mss;
    t.optlen = sizeof mss;
  }
  return tw_pkt_tmpl_init(tm, NULL, &ip, &t);
}

int probe_tcp_open(struct probe_env *env, enum scan_type type, int flags, const uint16_t *ports,
                   uint32_t nports) {
  static const struct { enum scan_type type; enum tcp_rule rule; uint8_t flags; } kinds[] = {
      {SCAN_SYN, RULE_SYN, TW_TCP_SYN},
      {SCAN_ACK, RULE_ACK, TW_TCP_ACK},
      {SCAN_NULL, RULE_STEALTH, 0},
      {SCAN_FIN, RULE_STEALTH, TW_TCP_FIN},
      {SCAN_XMAS, RULE_STEALTH, TW_TCP_FIN | TW_TCP_PSH | TW_TCP_URG},
      {SCAN_MAIMON, RULE_STEALTH, TW_TCP_FIN | TW_TCP_ACK},
      {SCAN_WINDOW, RULE_WINDOW, TW_TCP_ACK},
  };
  size_t k = 0;
  while (k < sizeof kinds / sizeof kinds[0] && kinds[k].type != type) k++;
  if (k == sizeof kinds / sizeof kinds[0] || flags > 0xff) return -EINVAL;
  if (env->nsrcs > PROBE_MAX_SRCS) return -EINVAL;
  struct tcp_probe *tp = calloc(1, sizeof *tp);
  if (!tp) return -ENOMEM;
  tp->rule = kinds[k].rule;
  tp->flags = flags >= 0 ? (uint8_t)flags : kinds[k].flags;
  tp->ports = ports;
  tp->nports = nports;
  env->probe = tp;
  int err = -ENOMEM;
  if (!(tp->port_index = probe_port_index(ports, nports))) goto fail;
  for (int i = 0; i < env->nsrcs; i++)
    if ((err = tmpl_for(tp->flags, &env->srcs[i], &tp->tm[i])) < 0) goto fail;
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
