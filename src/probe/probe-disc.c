/* probe-disc.c: host discovery (the -P options). Each host of the group is
 * asked in several ways at once, and the first answer ends the asking:
 *
 *   on a directly attached IPv4 network: ARP request   -> arp-response
 *   on a directly attached IPv6 network: neighbour solicitation -> nd-response
 *   elsewhere (and for IPv6): the -PE/-PP/-PS/-PA/-PU probes, by default
 *   ICMP echo, TCP SYN to 443, TCP ACK to 80, ICMP timestamp, as Nmap:
 *     echo-reply, timestamp-reply, syn-ack, reset, port-unreach, udp-response
 *   our own address (one of the scan's source addresses): localhost-response,
 *   without a probe
 *
 * The probes are the "ports" of an engine pass (kind index), so discovery
 * gets the same pacing, re-sending and statelessness as port scans: ICMP id
 * and sequence, TCP sequence and source ports are cookies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan.h"

enum kind_type { K_ARP, K_ND, K_ECHO, K_TS, K_SYN, K_ACK, K_UDP };
struct kind {
  enum kind_type type;
  uint16_t port;
};

#define MAX_KINDS 64

struct disc_stage {
  struct scan *s;
  struct kind kinds[MAX_KINDS];
  uint32_t nkinds;
  tw_req *waiters[3 * SCAN_MAX_SRCS + 1]; /* ARP; ICMP, TCP, UDP per source */
  int nwaiters;
};

static int wanted(struct engine *e, uint32_t h, uint32_t p) {
  struct disc_stage *d = e->ctx;
  if (d->s->hosts[h].up) return 0;
  enum kind_type t = d->kinds[p].type;
  const struct ghost *g = &d->s->hosts[h];
  if (!g->link) return t != K_ARP && t != K_ND;
  return g->addr.family == AF_INET6 ? t == K_ND : t == K_ARP;
}

static tw_rawsock *sock_for(struct engine *e, uint32_t h, uint32_t p) {
  struct disc_stage *d = e->ctx;
  uint8_t link = d->s->hosts[h].link;
  if (d->kinds[p].type == K_ARP || d->kinds[p].type == K_ND)
    return link ? d->s->ifs[link - 1].eth : NULL;
  return e->hosts[h].family == AF_INET6 ? e->rs6 : e->rs4;
}

static int build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf, size_t cap) {
  struct disc_stage *d = e->ctx;
  struct scan *s = d->s;
  const tw_pkt_addr *dst = &e->hosts[h];
  const struct kind *k = &d->kinds[p];
  const tw_pkt_addr *src = scan_src(s, h);
  int v6 = dst->family == AF_INET6;
  if (src->family != dst->family) return 0;
  tw_pkt_ipspec ip = {0};
  ip.src = *src;
  ip.dst = *dst;
  ip.ttl = 64;
  struct cookie_flow f;
  switch (k->type) {
  case K_ARP: {
    const tw_iface *ifi = &s->ifs[s->hosts[h].link - 1].info;
    tw_pkt_eth eth = {0};
    memset(eth.dst, 0xff, 6);
    memcpy(eth.src, ifi->mac, 6);
    eth.type = TW_ETH_ARP;
    int n = tw_pkt_eth_build(buf, cap, &eth);
    if (n < 0) return n;
    tw_pkt_arp a = {0};
    a.op = TW_ARP_REQUEST;
    memcpy(a.sha, ifi->mac, 6);
    a.spa = src->v4;
    a.tpa = dst->v4;
    int m = tw_pkt_arp_build(buf + n, cap - (size_t)n, &a);
    return m < 0 ? m : n + m;
  }
  case K_ND: {
    /* Neighbour solicitation to the target's solicited-node multicast
     * group (RFC 4861), from our link address, with our MAC. */
    const tw_iface *ifi = &s->ifs[s->hosts[h].link - 1].info;
    tw_pkt_eth eth = {0};
    static const uint8_t mc[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
    eth.dst[0] = 0x33;
    eth.dst[1] = 0x33;
    eth.dst[2] = 0xff;
    memcpy(eth.dst + 3, dst->b + 13, 3);
    memcpy(eth.src, ifi->mac, 6);
    eth.type = TW_ETH_IP6;
    int n = tw_pkt_eth_build(buf, cap, &eth);
    if (n < 0) return n;
    ip.ttl = 255;
    ip.dst.family = AF_INET6;
    memcpy(ip.dst.b, mc, 13);
    memcpy(ip.dst.b + 13, dst->b + 13, 3);
    tw_pkt_icmp6 ns = {0};
    ns.type = TW_ICMP6_NS;
    ns.target = dst->v6;
    ns.has_sll = 1;
    memcpy(ns.sll, ifi->mac, 6);
    int m = tw_pkt_build_icmp(buf + n, cap - (size_t)n, &ip, NULL, &ns, NULL, 0);
    return m < 0 ? m : n + m;
  }
  case K_ECHO:
  case K_TS: {
    if (v6 && k->type == K_TS) return 0; /* no ICMPv6 timestamp */
    uint16_t id, seq;
    scan_flow(&f, src, dst, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 0, 0);
    cookie_icmp_echo(&s->key, &f, &id, &seq);
    if (v6) {
      tw_pkt_icmp6 ic = {0};
      ic.type = 128;
      ic.id = id;
      ic.seq = seq;
      return tw_pkt_build_icmp(buf, cap, &ip, NULL, &ic, NULL, 0);
    }
    tw_pkt_icmp ic = {0};
    ic.type = k->type == K_ECHO ? 8 : 13;
    ic.id = id;
    ic.seq = seq;
    return tw_pkt_build_icmp(buf, cap, &ip, &ic, NULL, NULL, 0);
  }
  case K_SYN:
  case K_ACK: {
    uint16_t sport = scan_sport(s, src, dst, IPPROTO_TCP, k->port);
    scan_flow(&f, src, dst, IPPROTO_TCP, sport, k->port);
    uint32_t c = cookie_tcp_seq(&s->key, &f);
    tw_pkt_tcp t = {0};
    t.sport = sport;
    t.dport = k->port;
    t.flags = k->type == K_SYN ? TW_TCP_SYN : TW_TCP_ACK;
    t.seq = k->type == K_SYN ? c : 0;
    t.ack = k->type == K_ACK ? c : 0;
    t.win = 1024;
    return tw_pkt_build_tcp(buf, cap, &ip, &t, NULL, 0);
  }
  case K_UDP: {
    uint16_t sport = scan_sport(s, src, dst, IPPROTO_TCP, k->port);
    return tw_pkt_build_udp(buf, cap, &ip, sport, k->port, NULL, 0);
  }
  }
  return 0;
}

static void timeout(struct engine *e, uint32_t h, uint32_t p) {
  (void)e;
  (void)h;
  (void)p; /* a host none of whose probes was answered stays down */
}

static const struct probe_ops disc_ops = {build, timeout, wanted, NULL, sock_for};

static void host_up(struct disc_stage *d, uint32_t h, const char *reason, int ttl) {
  struct scan *s = d->s;
  if (s->hosts[h].up) return;
  s->hosts[h].up = true;
  struct host_result *r = scan_host(s, h);
  if (r) host_set_reason(r, HOST_UP, reason, ttl);
  /* The host's other probes are no longer wanted: the engine drops them. */
  for (uint32_t k = 0; k < d->nkinds; k++) engine_answered(&s->eng, h, k);
}

static void on_reply(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status < 0) return; /* cancelled: the stage may be gone already */
  struct disc_stage *d = data;
  struct scan *s = d->s;
  if (!s->eng_live || s->stage_ctx != d) return;
  struct cookie_flow f;
  if (rx->ethertype == TW_ETH_ARP) {
    if (rx->arp_op != TW_ARP_REPLY) return;
    int64_t h = engine_host(&s->eng, &rx->src);
    if (h < 0 || !s->hosts[h].link) return;
    host_up(d, (uint32_t)h, "arp-response", 0);
    struct host_result *r = scan_host(s, (uint32_t)h);
    if (r && !r->has_mac) host_set_mac(r, rx->arp_sha, NULL);
    return;
  }
  if (rx->quoted || rx->is_error) {
    /* An ICMP error quoting one of our probes (it also matches the plain
     * "to us" waiter, so is_error too): the UDP probe's port unreachable
     * says the host is up; errors from routers say nothing about it. */
    int64_t h = engine_host(&s->eng, &rx->q_dst);
    if (h < 0 || !tw_pkt_addr_eq(&rx->src, &rx->q_dst)) return;
    if (rx->q_proto == IPPROTO_UDP && (rx->q_fields & TW_M_SPORT) &&
        rx->q_sport == scan_sport(s, &rx->q_src, &rx->q_dst, IPPROTO_TCP, rx->q_dport))
      host_up(d, (uint32_t)h, "port-unreach", rx->ttl);
    return;
  }
  int64_t h = engine_host(&s->eng, &rx->src);
  if (h < 0) {
    s->eng.st.unsolicited++;
    return;
  }
  const tw_pkt_addr *src = &rx->src, *us = &rx->dst;
  int v6 = src->family == AF_INET6;
  if (rx->proto == IPPROTO_ICMPV6 && rx->icmp_type == TW_ICMP6_NA) {
    if (!s->hosts[h].link) return;
    host_up(d, (uint32_t)h, "nd-response", 0);
    const tw_frame *fr = rx->frame;
    struct host_result *r = scan_host(s, (uint32_t)h);
    if (r && !r->has_mac && fr->linktype == TW_LINK_ETH && fr->caplen >= 14)
      host_set_mac(r, fr->data + 6, NULL);
    return;
  }
  if (rx->proto == IPPROTO_ICMP || rx->proto == IPPROTO_ICMPV6) {
    uint16_t id, seq;
    scan_flow(&f, us, src, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 0, 0);
    cookie_icmp_echo(&s->key, &f, &id, &seq);
    if (rx->icmp_id != id || rx->icmp_seq != seq) {
      s->bad_cookies++;
      return;
    }
    if ((!v6 && rx->icmp_type == 0) || (v6 && rx->icmp_type == 129))
      host_up(d, (uint32_t)h, "echo-reply", rx->ttl);
    else if (!v6 && rx->icmp_type == 14)
      host_up(d, (uint32_t)h, "timestamp-reply", rx->ttl);
    return;
  }
  if (rx->proto == IPPROTO_TCP) {
    if (rx->dport != scan_sport(s, us, src, IPPROTO_TCP, rx->sport)) {
      s->bad_cookies++;
      return;
    }
    scan_flow(&f, us, src, IPPROTO_TCP, rx->dport, rx->sport);
    uint32_t c = cookie_tcp_seq(&s->key, &f);
    if (rx->tcp_ack == c + 1 && (rx->tcp_flags & TW_TCP_SYN))
      host_up(d, (uint32_t)h, "syn-ack", rx->ttl);
    else if ((rx->tcp_flags & TW_TCP_RST) && (rx->tcp_ack == c + 1 || rx->tcp_seq == c))
      host_up(d, (uint32_t)h, "reset", rx->ttl);
    else
      s->bad_cookies++;
    return;
  }
  if (rx->proto == IPPROTO_UDP) {
    if (rx->dport != scan_sport(s, us, src, IPPROTO_TCP, rx->sport)) {
      s->bad_cookies++;
      return;
    }
    host_up(d, (uint32_t)h, "udp-response", rx->ttl);
  }
}

static void done(struct engine *e) {
  struct disc_stage *d = e->ctx;
  struct scan *s = d->s;
  scan_end_pass(s, "discovery");
  scan_cancel_waiters(d->waiters, d->nwaiters);
  free(d);
  scan_next(s);
}

static void add_kind(struct disc_stage *d, enum kind_type t, uint16_t port) {
  if (d->nkinds < MAX_KINDS) d->kinds[d->nkinds++] = (struct kind){t, port};
}

static int wait_for(struct disc_stage *d, const tw_match *m, unsigned flags) {
  if (d->nwaiters == 3 * SCAN_MAX_SRCS + 1) return -ENOSPC;
  return tw_wait(d->s->loop, &d->waiters[d->nwaiters++], m, flags, 0, on_reply, d);
}

int stage_discovery(struct scan *s) {
  struct options *o = s->o;
  if (s->nhosts == 0) return 0;
  struct disc_stage *d = calloc(1, sizeof *d);
  if (!d) return -ENOMEM;
  d->s = s;
  add_kind(d, K_ARP, 0);
  add_kind(d, K_ND, 0);
  unsigned probes = o->probes;
  if (probes & PROBE_ECHO) add_kind(d, K_ECHO, 0);
  if (probes & PROBE_TIMESTAMP) add_kind(d, K_TS, 0);
  if (probes & PROBE_SYN)
    for (size_t i = 0; i < o->ps.n; i++) add_kind(d, K_SYN, o->ps.v[i]);
  if (probes & PROBE_ACK)
    for (size_t i = 0; i < o->pa.n; i++) add_kind(d, K_ACK, o->pa.v[i]);
  if (probes & PROBE_UDP)
    for (size_t i = 0; i < o->pu.n; i++) add_kind(d, K_UDP, o->pu.v[i]);
  int err = 0;
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_ETHERTYPE | TW_M_ARP_OP;
  m.ethertype = TW_ETH_ARP;
  m.arp_op = TW_ARP_REPLY;
  if ((err = wait_for(d, &m, 0)) < 0) goto fail;
  /* Per protocol rather than everything to us: the captures' kernel
   * filter then passes only what discovery can use (lib/capfilter.c). An
   * ICMP error quoting a probe reaches two of these; host_up() is
   * idempotent. */
  for (int i = 0; i < s->nsrcs; i++) {
    uint8_t protos[3] = {s->srcs[i].family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
                         IPPROTO_TCP, IPPROTO_UDP};
    for (int k = 0; k < 3; k++) {
      memset(&m, 0, sizeof m);
      m.fields = TW_M_PROTO | TW_M_DST;
      m.proto = protos[k];
      m.dst = s->srcs[i];
      if ((err = wait_for(d, &m, TW_WAIT_ERRORS)) < 0) goto fail;
    }
  }
  /* Our own addresses answer no ARP or ND request of ours: up without a
   * probe, as Nmap reports them (localhost-response). wanted() skips them. */
  for (uint32_t h = 0; h < s->nhosts; h++)
    for (int i = 0; i < s->nsrcs; i++)
      if (tw_pkt_addr_eq(&s->hosts[h].addr, &s->srcs[i])) {
        s->hosts[h].up = true;
        struct host_result *r = scan_host(s, h);
        if (r) host_set_reason(r, HOST_UP, "localhost-response", 0);
        break;
      }
  struct engine_config c;
  timing_engine_config(s->o, s->o->packet_trace ? s->start_ns : 0, &c);
  if (c.max_retries > 2) c.max_retries = 1; /* Nmap's discovery retries once */
  err = scan_start_pass(s, &c, &disc_ops, d, s->addrs, s->nhosts, d->nkinds, done);
  if (err > 0) return err;
fail:
  scan_cancel_waiters(d->waiters, d->nwaiters);
  free(d);
  return err;
}
