/* scan-probe.c: the raw-packet stages (discovery, SYN/ACK, UDP) as the
 * scan runs them: a probe module (probe/probe.h) on an engine pass. This
 * is the one place that fills a probe_env from struct scan — sources,
 * links and counters of the current group — and turns the module's
 * verdicts into the group's results. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db/mac-prefixes.h"
#include "probe/probe.h"
#include "scan/ethsend.h"
#include "scan/scan.h"
#include "scan/verbose.h"

_Static_assert(SCAN_MAX_SRCS <= PROBE_MAX_SRCS, "a waiter per source address");
_Static_assert(SCAN_MAX_IFACES <= PROBE_MAX_LINKS, "every link of the scan");

struct probe_stage {
  struct scan *s;
  struct probe_env env;
  const char *name;
  uint32_t nprobes; /* per host, as -v's lines count them */
  void (*close)(struct probe_env *env);
};

static struct scan *scan_of(const struct probe_env *env) {
  return ((const struct probe_stage *)env->owner)->s;
}

static int env_source(const struct probe_env *env, uint32_t g) {
  const struct ghost *h = &scan_of(env)->hosts[g];
  return h->noroute ? -1 : h->src;
}

/* --send-ip: no host is on a link of ours to the probe modules, so none
 * gets Ethernet frames (ARP, neighbour solicitations), as in Nmap */
static int env_link(const struct probe_env *env, uint32_t g) {
  const struct scan *s = scan_of(env);
  return s->o->send_ip ? 0 : s->hosts[g].link;
}

static bool env_is_up(const struct probe_env *env, uint32_t g) {
  return scan_of(env)->hosts[g].up;
}

static void env_report(const struct probe_env *env, const struct probe_verdict *v) {
  struct scan *s = scan_of(env);
  switch (v->ev) {
  case PROBE_PORT:
  case PROBE_PORT_LATE:
    if (v->ev == PROBE_PORT) scan_port(s, v->host, v->proto, v->port, v->state, v->reason, v->ttl);
    else scan_port_late(s, v->host, v->proto, v->port, v->state, v->reason, v->ttl);
    if (v->state == PORT_OPEN && v->proto == PROTO_TCP && v->frame)
      scan_synack(s, v->host, v->port, v->frame);
    break;
  case PROBE_PORT_TIMEOUT:
    scan_port_timeout(s, v->host, v->proto, v->port, v->state);
    break;
  case PROBE_HOST_UP: {
    struct ghost *g = &s->hosts[v->host];
    if (!g->up) {
      g->up = true;
      struct host_result *r = scan_host(s, v->host);
      if (r) host_set_reason(r, HOST_UP, v->reason, v->ttl);
    }
    if (v->mac) {
      struct host_result *r = scan_host(s, v->host);
      if (r && !r->has_mac) host_set_mac(r, v->mac, mac_prefixes_vendor(s->macdb, v->mac));
    }
    break;
  }
  }
}

void scan_probe_env(struct scan *s, struct probe_env *env, const uint32_t *group, void *owner) {
  memset(env, 0, sizeof *env);
  env->loop = s->loop;
  env->eng = &s->eng;
  env->key = &s->key;
  env->sport_lo = s->sport_lo;
  env->sport_hi = s->sport_hi;
  env->srcs = s->srcs;
  env->nsrcs = s->nsrcs;
  for (int i = 0; i < s->nifs; i++) /* ARP and ND from the spoofed MAC too */
    env->links[i] = (struct probe_link){s->ifs[i].eth, s->spoof_mac_set ? s->spoof_mac : s->ifs[i].info.mac};
  env->group = group;
  env->source = env_source;
  env->link = env_link;
  env->is_up = env_is_up;
  env->report = env_report;
  env->bad_cookies = &s->bad_cookies;
  env->malformed = &s->malformed;
  env->owner = owner;
  env->udp_payloads = s->payloads;
}

static struct probe_stage *stage_new(struct scan *s, const char *name, const uint32_t *group,
                                     void (*close)(struct probe_env *env)) {
  struct probe_stage *ps = calloc(1, sizeof *ps);
  if (!ps) return NULL;
  ps->s = s;
  ps->name = name;
  ps->close = close;
  scan_probe_env(s, &ps->env, group, ps);
  return ps;
}

static void stage_done(struct engine *e) {
  struct probe_env *env = e->ctx;
  struct probe_stage *ps = env->owner;
  struct scan *s = ps->s;
  env->active = false;
  verbose_pass_end(s, ps->name, e->nhosts, ps->nprobes);
  for (uint32_t h = 0; h < e->nhosts; h++) { /* each host's latency */
    uint32_t srtt, var;
    unsigned n = engine_host_rtt(e, h, &srtt, &var);
    if (n) scan_host_rtt(s, probe_group(env, h), n, srtt, var, e->cfg.rtt_min_ns, e->cfg.rtt_max_ns);
  }
  scan_end_pass(s, ps->name);
  ps->close(env);
  free(ps);
  scan_next(s);
}

/* --send-eth: the engine's raw IP packet for pass host h, framed */
static int stage_link(void *arg, uint32_t h, const uint8_t *pkt, size_t len) {
  struct probe_env *env = arg;
  return ethsend_send(scan_of(env), probe_group(env, h), pkt, len);
}

/* Run the opened module on a pass; on failure close it. */
static int stage_run(struct probe_stage *ps, int err, const struct engine_config *c,
                     const struct probe_ops *ops, const tw_pkt_addr *hosts, uint32_t nhosts,
                     uint32_t nports) {
  if (err >= 0) {
    ps->env.active = true;
    /* discovery's ARP and ND kinds are not probes in Nmap's count */
    ps->nprobes = strcmp(ps->name, "discovery") == 0 && nports >= 2 ? nports - 2 : nports;
    verbose_pass_begin(ps->s, ps->name, nhosts, ps->nprobes, ps->env.group ? ps->env.group[0] : 0);
    struct engine_config cc = *c;
    if (ps->s->send_eth) {
      cc.link = stage_link;
      cc.link_arg = &ps->env;
    }
    err = scan_start_pass(ps->s, &cc, ops, &ps->env, hosts, nhosts, nports, stage_done);
    if (err > 0) return err;
    ps->env.active = false;
  }
  ps->close(&ps->env);
  free(ps);
  return err;
}

int stage_tcp(struct scan *s, enum scan_type type) {
  struct options *o = s->o;
  if (o->ports.n[PROTO_TCP] == 0 || s->nlive == 0) return 0;
  struct probe_stage *ps =
      stage_new(s, type == SCAN_SYN ? "SYN" : type == SCAN_ACK ? "ACK" : scan_type_name(type), s->live_idx,
                probe_tcp_close);
  if (!ps) return -ENOMEM;
  uint32_t nports = (uint32_t)o->ports.n[PROTO_TCP];
  int err = probe_tcp_open(&ps->env, type, o->scanflags, o->ports.ports[PROTO_TCP], nports);
  struct engine_config c;
  timing_engine_config(s->o, s->o->packet_trace ? s->start_ns : 0, &c);
  return stage_run(ps, err, &c, &probe_tcp_ops, s->live, s->nlive, nports);
}

int stage_udp(struct scan *s) {
  struct options *o = s->o;
  if (o->ports.n[PROTO_UDP] == 0 || s->nlive == 0) return 0;
  struct probe_stage *ps = stage_new(s, "UDP", s->live_idx, probe_udp_close);
  if (!ps) return -ENOMEM;
  uint32_t nports = (uint32_t)o->ports.n[PROTO_UDP];
  int err = probe_udp_open(&ps->env, o->ports.ports[PROTO_UDP], nports, s->nlive);
  struct engine_config c;
  timing_engine_config(s->o, s->o->packet_trace ? s->start_ns : 0, &c);
  return stage_run(ps, err, &c, &probe_udp_ops, s->live, s->nlive, nports);
}

static void add_kind(struct probe_disc_kind *k, uint32_t *n, enum probe_disc_type t,
                     uint16_t port) {
  if (*n < PROBE_DISC_MAX_KINDS) k[(*n)++] = (struct probe_disc_kind){t, port};
}

int stage_discovery(struct scan *s) {
  struct options *o = s->o;
  if (s->nhosts == 0) return 0;
  struct probe_disc_kind kinds[PROBE_DISC_MAX_KINDS];
  uint32_t n = 0;
  add_kind(kinds, &n, PROBE_D_ARP, 0);
  add_kind(kinds, &n, PROBE_D_ND, 0);
  unsigned probes = o->probes;
  if (probes & PROBE_ECHO) add_kind(kinds, &n, PROBE_D_ECHO, 0);
  if (probes & PROBE_TIMESTAMP) add_kind(kinds, &n, PROBE_D_TS, 0);
  if (probes & PROBE_MASK) add_kind(kinds, &n, PROBE_D_MASK, 0);
  if (probes & PROBE_SYN)
    for (size_t i = 0; i < o->ps.n; i++) add_kind(kinds, &n, PROBE_D_SYN, o->ps.v[i]);
  if (probes & PROBE_ACK)
    for (size_t i = 0; i < o->pa.n; i++) add_kind(kinds, &n, PROBE_D_ACK, o->pa.v[i]);
  if (probes & PROBE_UDP)
    for (size_t i = 0; i < o->pu.n; i++) add_kind(kinds, &n, PROBE_D_UDP, o->pu.v[i]);
  if (probes & PROBE_PROTO)
    for (size_t i = 0; i < o->po.n; i++) add_kind(kinds, &n, PROBE_D_PROTO, o->po.v[i]);
  struct probe_stage *ps = stage_new(s, "discovery", NULL, probe_disc_close);
  if (!ps) return -ENOMEM;
  int err = probe_disc_open(&ps->env, kinds, n, s->addrs, s->nhosts);
  struct engine_config c;
  timing_engine_config(s->o, s->o->packet_trace ? s->start_ns : 0, &c);
  if (c.max_retries > 2) c.max_retries = 1; /* Nmap's discovery retries once */
  /* --shards splits the port scans, not discovery: every shard must know
   * every live host to scan its share of that host's ports (a host found
   * by one shard's probes only would lose the other shards' ports), and
   * each shard reports every live host, which `trawl merge` folds. */
  c.shards = 1;
  c.shard = 0;
  return stage_run(ps, err, &c, &probe_disc_ops, s->addrs, s->nhosts, n);
}
