/* probe-disc.c: host discovery probes (the -P options). Each host of the
 * group is asked in several ways at once, and the first answer ends the
 * asking:
 *
 *   on a directly attached IPv4 network: ARP request   -> arp-response
 *   on a directly attached IPv6 network: neighbour solicitation -> nd-response
 *   elsewhere (and for IPv6): the -PE/-PP/-PM/-PS/-PA/-PU probes, by
 *   default ICMP echo, TCP SYN to 443, TCP ACK to 80, ICMP timestamp, as
 *   Nmap: echo-reply, timestamp-reply, addressmask-reply, syn-ack, reset,
 *   port-unreach, udp-response (-PP and -PM are IPv4 only)
 *   -PO (IPv4): one packet per protocol, as Nmap sends them: ICMP echo
 *   (1), TCP ACK to 80 (6), UDP to 40125 (17), an IGMP query (2), the bare
 *   IP header for any other; an answer in the same protocol is
 *   proto-response, an ICMP protocol unreachable quoting the probe (its IP
 *   id is a cookie) proto-unreach, a UDP port unreachable port-unreach
 *   our own address (one of the scan's source addresses): localhost-response,
 *   without a probe
 *
 * The probes are the "ports" of an engine pass (kind index), so discovery
 * gets the same pacing, re-sending and statelessness as port scans: ICMP id
 * and sequence, TCP sequence and source ports are cookies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe/probe.h"

/* -PO's protocols beyond ICMP, TCP and UDP, each with a waiter per source */
#define DISC_MAX_OTHER_PROTOS 32

struct disc_probe {
  struct probe_disc_kind kinds[PROBE_DISC_MAX_KINDS];
  uint32_t nkinds;
  /* ARP; ICMP, TCP, UDP and -PO's other protocols per source */
  tw_req *waiters[(3 + DISC_MAX_OTHER_PROTOS) * PROBE_MAX_SRCS + 1];
  int nwaiters;
  bool proto[256];     /* -PO's protocols */
  bool echo_is_proto;  /* ICMP echo sent only by -PO1: its reply is a proto-response */
  bool tcp_is_proto;   /* TCP sent only by -PO6: the same */
};

/* -PO's IP id for an IPv4 probe of protocol proto: a cookie, checked in the
 * protocol unreachable's quote */
static uint16_t proto_ipid(struct probe_env *env, const tw_pkt_addr *src, const tw_pkt_addr *dst,
                           uint8_t proto) {
  struct cookie_flow f;
  uint16_t id, seq;
  probe_flow(&f, src, dst, proto, 0, 0);
  cookie_icmp_echo(env->key, &f, &id, &seq);
  return id;
}

static int wanted(struct engine *e, uint32_t h, uint32_t p) {
  struct probe_env *env = e->ctx;
  struct disc_probe *d = env->probe;
  uint32_t g = probe_group(env, h);
  if (env->is_up(env, g) || env->source(env, g) < 0) return 0;
  enum probe_disc_type t = d->kinds[p].type;
  if (!env->link(env, g)) return t != PROBE_D_ARP && t != PROBE_D_ND;
  return e->hosts[h].family == AF_INET6 ? t == PROBE_D_ND : t == PROBE_D_ARP;
}

static tw_rawsock *sock_for(struct engine *e, uint32_t h, uint32_t p) {
  struct probe_env *env = e->ctx;
  struct disc_probe *d = env->probe;
  int link = env->link(env, probe_group(env, h));
  if (d->kinds[p].type == PROBE_D_ARP || d->kinds[p].type == PROBE_D_ND)
    return link ? env->links[link - 1].eth : NULL;
  return e->hosts[h].family == AF_INET6 ? e->rs6 : e->rs4;
}

/* -PO's probe of protocol proto, as Nmap's: the protocols it has headers
 * for get them (the same probes and cookies as -PE, -PA80 and -PU40125),
 * the others the bare IP header. */
static int build_proto(struct probe_env *env, tw_pkt_ipspec *ip, uint8_t proto, uint8_t *buf,
                       size_t cap) {
  struct cookie_flow f;
  switch (proto) {
  case IPPROTO_ICMP: {
    tw_pkt_icmp ic = {0};
    uint16_t id, seq;
    probe_flow(&f, &ip->src, &ip->dst, IPPROTO_ICMP, 0, 0);
    cookie_icmp_echo(env->key, &f, &id, &seq);
    ic.type = 8;
    ic.id = id;
    ic.seq = seq;
    return tw_pkt_build_icmp(buf, cap, ip, &ic, NULL, NULL, 0);
  }
  case IPPROTO_TCP: {
    uint16_t sport = probe_sport(env, &ip->src, &ip->dst, IPPROTO_TCP, 80);
    probe_flow(&f, &ip->src, &ip->dst, IPPROTO_TCP, sport, 80);
    tw_pkt_tcp t = {0};
    t.sport = sport;
    t.dport = 80;
    t.flags = TW_TCP_ACK;
    t.ack = cookie_tcp_seq(env->key, &f);
    t.win = 1024;
    return tw_pkt_build_tcp(buf, cap, ip, &t, NULL, 0);
  }
  case IPPROTO_UDP:
    return tw_pkt_build_udp(buf, cap, ip, probe_sport(env, &ip->src, &ip->dst, IPPROTO_TCP, 40125),
                            40125, NULL, 0);
  default:
    ip->id = proto_ipid(env, &ip->src, &ip->dst, proto);
    if (proto == IPPROTO_IGMP) {
      /* a membership query (type 0x11) for no group, checksum over it */
      uint8_t q[8] = {0x11, 0, 0, 0, 0, 0, 0, 0};
      uint16_t c = tw_pkt_csum(q, sizeof q);
      q[2] = (uint8_t)(c >> 8);
      q[3] = (uint8_t)c;
      return tw_pkt_build_ip(buf, cap, ip, proto, q, sizeof q);
    }
    return tw_pkt_build_ip(buf, cap, ip, proto, NULL, 0);
  }
}

static int build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf, size_t cap) {
  struct probe_env *env = e->ctx;
  struct disc_probe *d = env->probe;
  const tw_pkt_addr *dst = &e->hosts[h];
  const struct probe_disc_kind *k = &d->kinds[p];
  const tw_pkt_addr *src = probe_src(env, h);
  int v6 = dst->family == AF_INET6;
  if (src->family != dst->family) return 0;
  tw_pkt_ipspec ip = {0};
  ip.src = *src;
  ip.dst = *dst;
  ip.ttl = 64;
  struct cookie_flow f;
  switch (k->type) {
  case PROBE_D_ARP:
  case PROBE_D_ND: {
    int link = env->link(env, probe_group(env, h));
    if (!link) return 0;
    const uint8_t *mac = env->links[link - 1].mac;
    return k->type == PROBE_D_ARP ? tw_pkt_arp_request(buf, cap, mac, src->v4, dst->v4)
                                  : tw_pkt_ns_request(buf, cap, mac, &src->v6, &dst->v6);
  }
  case PROBE_D_ECHO:
  case PROBE_D_TS:
  case PROBE_D_MASK: {
    if (v6 && k->type != PROBE_D_ECHO) return 0; /* no ICMPv6 timestamp or mask */
    uint16_t id, seq;
    probe_flow(&f, src, dst, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 0, 0);
    cookie_icmp_echo(env->key, &f, &id, &seq);
    if (v6) {
      tw_pkt_icmp6 ic = {0};
      ic.type = 128;
      ic.id = id;
      ic.seq = seq;
      return tw_pkt_build_icmp(buf, cap, &ip, NULL, &ic, NULL, 0);
    }
    tw_pkt_icmp ic = {0};
    ic.type = k->type == PROBE_D_ECHO ? 8 : k->type == PROBE_D_TS ? 13 : 17;
    ic.id = id;
    ic.seq = seq;
    if (k->type == PROBE_D_MASK) {
      /* RFC 950: the 4-byte address mask follows, zero in a request */
      static const uint8_t mask[4] = {0, 0, 0, 0};
      return tw_pkt_build_icmp(buf, cap, &ip, &ic, NULL, mask, sizeof mask);
    }
    return tw_pkt_build_icmp(buf, cap, &ip, &ic, NULL, NULL, 0);
  }
  case PROBE_D_SYN:
  case PROBE_D_ACK: {
    uint16_t sport = probe_sport(env, src, dst, IPPROTO_TCP, k->port);
    probe_flow(&f, src, dst, IPPROTO_TCP, sport, k->port);
    uint32_t c = cookie_tcp_seq(env->key, &f);
    tw_pkt_tcp t = {0};
    t.sport = sport;
    t.dport = k->port;
    t.flags = k->type == PROBE_D_SYN ? TW_TCP_SYN : TW_TCP_ACK;
    t.seq = k->type == PROBE_D_SYN ? c : 0;
    t.ack = k->type == PROBE_D_ACK ? c : 0;
    t.win = 1024;
    if (t.flags == TW_TCP_SYN) {
      /* MSS 1460, as Nmap's SYN ping carries and the SYN scan's probes do */
      static const uint8_t mss[4] = {2, 4, 0x05, 0xb4};
      t.opt = mss;
      t.optlen = sizeof mss;
    }
    return tw_pkt_build_tcp(buf, cap, &ip, &t, NULL, 0);
  }
  case PROBE_D_UDP: {
    /* The source-port cookie is the TCP one, as the replies check it. */
    uint16_t sport = probe_sport(env, src, dst, IPPROTO_TCP, k->port);
    return tw_pkt_build_udp(buf, cap, &ip, sport, k->port, NULL, 0);
  }
  case PROBE_D_PROTO:
    return v6 ? 0 : build_proto(env, &ip, (uint8_t)k->port, buf, cap);
  }
  return 0;
}

static void timeout(struct engine *e, uint32_t h, uint32_t p) {
  (void)e;
  (void)h;
  (void)p; /* a host none of whose probes was answered stays down */
}

const struct probe_ops probe_disc_ops = {build, timeout, wanted, NULL, sock_for, NULL};

/* Pass host h answered: report it (once) and drop its other probes. */
static void host_up(struct probe_env *env, uint32_t h, const char *reason, int ttl,
                    const uint8_t *mac) {
  struct disc_probe *d = env->probe;
  uint32_t g = probe_group(env, h);
  bool was_up = env->is_up(env, g);
  struct probe_verdict v = {0};
  v.ev = PROBE_HOST_UP;
  v.host = g;
  v.reason = reason;
  v.ttl = ttl;
  v.mac = mac;
  if (was_up && !mac) return;
  env->report(env, &v); /* report() keeps the first reason, and a MAC once */
  if (was_up) return;
  /* The host's other probes are no longer wanted: the engine drops them. */
  for (uint32_t k = 0; k < d->nkinds; k++) engine_answered(env->eng, h, k);
}

static void on_reply(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status < 0) return; /* cancelled: the module may be gone already */
  struct probe_env *env = data;
  if (!env->active) return;
  struct cookie_flow f;
  if (rx->ethertype == TW_ETH_ARP) {
    if (rx->arp_op != TW_ARP_REPLY) return;
    int64_t h = engine_host(env->eng, &rx->src);
    if (h < 0 || !env->link(env, probe_group(env, (uint32_t)h))) return;
    host_up(env, (uint32_t)h, "arp-response", 0, rx->arp_sha);
    return;
  }
  struct disc_probe *d = env->probe;
  if (rx->quoted || rx->is_error) {
    /* An ICMP error quoting one of our probes (it also matches the plain
     * "to us" waiter, so is_error too): the UDP probe's port unreachable
     * says the host is up; errors from routers say nothing about it. */
    int64_t h = engine_host(env->eng, &rx->q_dst);
    if (h < 0 || !tw_pkt_addr_eq(&rx->src, &rx->q_dst)) return;
    if (rx->proto == IPPROTO_ICMP && rx->icmp_type == 3 && rx->icmp_code == 2 && d->proto[rx->q_proto]) {
      /* -PO: protocol unreachable; the quoted IP id must be our cookie */
      const tw_frame *fr = rx->frame;
      if (rx->q_off == 0 || (size_t)rx->q_off + 6 > fr->caplen) {
        (*env->malformed)++;
        return;
      }
      const uint8_t *q = fr->data + rx->q_off;
      uint16_t id = (uint16_t)(q[4] << 8 | q[5]);
      if (id == proto_ipid(env, &rx->q_src, &rx->q_dst, rx->q_proto))
        host_up(env, (uint32_t)h, "proto-unreach", rx->ttl, NULL);
      else
        (*env->bad_cookies)++;
      return;
    }
    if (rx->q_proto == IPPROTO_UDP && (rx->q_fields & TW_M_SPORT) &&
        rx->q_sport == probe_sport(env, &rx->q_src, &rx->q_dst, IPPROTO_TCP, rx->q_dport))
      host_up(env, (uint32_t)h, "port-unreach", rx->ttl, NULL);
    return;
  }
  /* TCP and UDP answers carry the source-port cookie (the TCP one for
   * both, see build()); ICMP answers their id and sequence. */
  uint8_t sport_proto =
      rx->proto == IPPROTO_TCP || rx->proto == IPPROTO_UDP ? IPPROTO_TCP : 0;
  struct probe_reply r;
  if (!probe_reply_begin(env, rx, 0, NULL, sport_proto, &r)) return;
  const tw_pkt_addr *src = &rx->src, *us = &rx->dst;
  int v6 = src->family == AF_INET6;
  if (rx->proto == IPPROTO_ICMPV6 && rx->icmp_type == TW_ICMP6_NA) {
    if (!env->link(env, r.g)) return;
    const tw_frame *fr = rx->frame;
    bool mac = fr->linktype == TW_LINK_ETH && fr->caplen >= 14;
    host_up(env, r.h, "nd-response", 0, mac ? fr->data + 6 : NULL);
    return;
  }
  if (rx->proto == IPPROTO_ICMP || rx->proto == IPPROTO_ICMPV6) {
    uint16_t id, seq;
    probe_flow(&f, us, src, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 0, 0);
    cookie_icmp_echo(env->key, &f, &id, &seq);
    if (rx->icmp_id != id || rx->icmp_seq != seq) {
      (*env->bad_cookies)++;
      return;
    }
    if ((!v6 && rx->icmp_type == 0) || (v6 && rx->icmp_type == 129))
      host_up(env, r.h, !v6 && d->echo_is_proto ? "proto-response" : "echo-reply", rx->ttl, NULL);
    else if (!v6 && rx->icmp_type == 14)
      host_up(env, r.h, "timestamp-reply", rx->ttl, NULL);
    else if (!v6 && rx->icmp_type == 18) /* the mask itself is not needed */
      host_up(env, r.h, "addressmask-reply", rx->ttl, NULL);
    return;
  }
  if (rx->proto == IPPROTO_TCP) {
    probe_flow(&f, us, src, IPPROTO_TCP, rx->dport, rx->sport);
    uint32_t c = cookie_tcp_seq(env->key, &f);
    const char *why = !v6 && d->tcp_is_proto ? "proto-response" : NULL;
    if (rx->tcp_ack == c + 1 && (rx->tcp_flags & TW_TCP_SYN))
      host_up(env, r.h, why ? why : "syn-ack", rx->ttl, NULL);
    else if ((rx->tcp_flags & TW_TCP_RST) && (rx->tcp_ack == c + 1 || rx->tcp_seq == c))
      host_up(env, r.h, why ? why : "reset", rx->ttl, NULL);
    else
      (*env->bad_cookies)++;
    return;
  }
  if (rx->proto == IPPROTO_UDP) host_up(env, r.h, "udp-response", rx->ttl, NULL);
  else if (!v6 && d->proto[rx->proto]) host_up(env, r.h, "proto-response", rx->ttl, NULL);
}

static int wait_for(struct probe_env *env, const tw_match *m, unsigned flags) {
  struct disc_probe *d = env->probe;
  if (d->nwaiters == (int)(sizeof d->waiters / sizeof d->waiters[0])) return -ENOSPC;
  return tw_wait(env->loop, &d->waiters[d->nwaiters++], m, flags, 0, on_reply, env);
}

int probe_disc_open(struct probe_env *env, const struct probe_disc_kind *kinds, uint32_t nkinds,
                    const tw_pkt_addr *hosts, uint32_t nhosts) {
  if (env->nsrcs > PROBE_MAX_SRCS || nkinds > PROBE_DISC_MAX_KINDS) return -EINVAL;
  struct disc_probe *d = calloc(1, sizeof *d);
  if (!d) return -ENOMEM;
  memcpy(d->kinds, kinds, nkinds * sizeof *kinds);
  d->nkinds = nkinds;
  bool echo = false, tcp = false;
  uint8_t others[DISC_MAX_OTHER_PROTOS];
  int nothers = 0;
  for (uint32_t k = 0; k < nkinds; k++) {
    enum probe_disc_type t = kinds[k].type;
    echo |= t == PROBE_D_ECHO;
    tcp |= t == PROBE_D_SYN || t == PROBE_D_ACK;
    if (t != PROBE_D_PROTO || kinds[k].port > 255 || d->proto[kinds[k].port]) continue;
    uint8_t pr = (uint8_t)kinds[k].port;
    d->proto[pr] = true;
    if (pr != IPPROTO_ICMP && pr != IPPROTO_TCP && pr != IPPROTO_UDP) {
      if (nothers == DISC_MAX_OTHER_PROTOS) {
        free(d);
        env->probe = NULL;
        return -E2BIG;
      }
      others[nothers++] = pr;
    }
  }
  d->echo_is_proto = d->proto[IPPROTO_ICMP] && !echo;
  d->tcp_is_proto = d->proto[IPPROTO_TCP] && !tcp;
  env->probe = d;
  int err = 0;
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_ETHERTYPE | TW_M_ARP_OP;
  m.ethertype = TW_ETH_ARP;
  m.arp_op = TW_ARP_REPLY;
  if ((err = wait_for(env, &m, 0)) < 0) goto fail;
  /* Per protocol rather than everything to us: the captures' kernel
   * filter then passes only what discovery can use (lib/capfilter.c). An
   * ICMP error quoting a probe reaches two of these; host_up() is
   * idempotent. */
  for (int i = 0; i < env->nsrcs; i++) {
    uint8_t protos[3] = {env->srcs[i].family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
                         IPPROTO_TCP, IPPROTO_UDP};
    for (int k = 0; k < 3; k++) {
      memset(&m, 0, sizeof m);
      m.fields = TW_M_PROTO | TW_M_DST;
      m.proto = protos[k];
      m.dst = env->srcs[i];
      if ((err = wait_for(env, &m, TW_WAIT_ERRORS)) < 0) goto fail;
    }
    for (int k = 0; k < nothers && env->srcs[i].family == AF_INET; k++) {
      memset(&m, 0, sizeof m);
      m.fields = TW_M_PROTO | TW_M_DST;
      m.proto = others[k];
      m.dst = env->srcs[i];
      if ((err = wait_for(env, &m, 0)) < 0) goto fail;
    }
  }
  /* Our own addresses answer no ARP or ND request of ours: up without a
   * probe, as Nmap reports them (localhost-response). wanted() skips them. */
  for (uint32_t h = 0; h < nhosts; h++)
    for (int i = 0; i < env->nsrcs; i++)
      if (tw_pkt_addr_eq(&hosts[h], &env->srcs[i])) {
        struct probe_verdict v = {0};
        v.ev = PROBE_HOST_UP;
        v.host = probe_group(env, h);
        v.reason = "localhost-response";
        env->report(env, &v);
        break;
      }
  return 0;
fail:
  probe_disc_close(env);
  return err;
}

void probe_disc_close(struct probe_env *env) {
  struct disc_probe *d = env->probe;
  if (!d) return;
  probe_cancel_waiters(d->waiters, d->nwaiters);
  free(d);
  env->probe = NULL;
}
