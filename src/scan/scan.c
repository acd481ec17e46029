/* scan.c: the scan from start to end (see scan.h): resolve the names on the
 * command line, open the raw sockets and captures, drop root, then walk the
 * targets group by group — discovery, port scans, output — all in one
 * libtrawl loop, and stop cleanly on Ctrl-C. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "scan/ethsend.h"
#include "scan/permute.h"
#include "scan/scan.h"
#include "scan/verbose.h"
#include "scan/stage.h"
#include "scan/privilege.h"
#include "core/datadir.h"
#include "core/errmsg.h"
#include "db/mac-prefixes.h"
#include "db/payloads.h"
#include "db/service-probes.h"
#include "db/os-db.h"
#include "cli/resume.h"
#include "script/script.h"
#include "cli/status.h"
#include "cli/trace.h"

#define STORE_CAP 25          /* ports kept one by one per (proto, state) */
#define GROUP_PROBES (1u << 22) /* probes per host group, about */
#define GROUP_HOSTS 4096        /* and hosts: what a group holds is per host */

/* ---- results ---------------------------------------------------------------- */

void scan_host_rtt(struct scan *s, uint32_t h, unsigned n, uint32_t srtt_us, uint32_t rttvar_us,
                   uint64_t min_ns, uint64_t max_ns) {
  struct ghost *g = &s->hosts[h];
  if (n <= g->nrtt) return;
  struct host_result *r = scan_host(s, h);
  if (!r) return;
  g->nrtt = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
  r->srtt_us = srtt_us;
  r->rttvar_us = rttvar_us;
  uint64_t to = ((uint64_t)srtt_us + 4 * (uint64_t)rttvar_us) * 1000;
  if (to < min_ns) to = min_ns;
  if (max_ns && to > max_ns) to = max_ns;
  r->timeout_us = (int64_t)(to / 1000);
}

struct host_result *scan_host(struct scan *s, uint32_t h) {
  struct ghost *g = &s->hosts[h];
  if (!g->res) {
    g->res = calloc(1, sizeof *g->res);
    if (!g->res) return NULL;
    host_result_init(g->res);
    g->res->addr.family = g->addr.family;
    memcpy(&g->res->addr.u, g->addr.b, g->addr.family == AF_INET6 ? 16 : 4);
  }
  return g->res;
}

static const char *service_of(const struct scan *s, enum scan_proto proto, uint16_t port) {
  const char *n = services_name(s->o->services, proto, port);
  return n;
}

/* The index of reason in the scan's reason table (scan.h), added on first
 * use; -1 when the table is full. trawl has a few dozen reasons, so a full
 * table is a bug, and it is reported as one (scan_fail) rather than
 * folded into another reason. */
static int reason_index(struct scan *s, const char *reason) {
  for (unsigned i = 0; i < s->nreasons; i++)
    if (s->reasons[i] == reason || strcmp(s->reasons[i], reason) == 0) return (int)i;
  if (s->nreasons == sizeof s->reasons / sizeof s->reasons[0]) return -1;
  s->reasons[s->nreasons] = reason;
  return (int)s->nreasons++;
}

void scan_fail(struct scan *s, const char *fmt, ...) {
  if (!s->errmsg[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
  }
  s->exit_code = 1;
  s->interrupted = true;
  if (s->eng_live) engine_stop(&s->eng);
}

void scan_port(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port,
               enum port_state state, const char *reason, int ttl) {
  struct ghost *g = &s->hosts[h];
  int ri = reason_index(s, reason);
  if (ri < 0) {
    scan_fail(s, "more than %zu distinct port reasons (at '%s')",
              sizeof s->reasons / sizeof s->reasons[0], reason);
    return;
  }
  if (state == PORT_OPEN) {
    s->open_ports++;
    verbose_open_port(s, h, proto, port);
  }
  g->nsettled++;
  if (state != PORT_OPEN && g->nstate[proto][state] >= STORE_CAP) {
    g->nstate[proto][state]++;
    g->bulk_reason[proto][state] = (uint8_t)ri;
    return;
  }
  if (g->ncports == g->capcports) {
    uint32_t cap = g->capcports ? g->capcports * 2 : 4;
    struct cport *v = realloc(g->cports, cap * sizeof *v);
    if (!v) return;
    g->cports = v;
    g->capcports = cap;
  }
  g->nstate[proto][state]++;
  g->cports[g->ncports++] = (struct cport){port, (uint8_t)proto, (uint8_t)state,
                                           (uint8_t)(ttl > 255 ? 255 : ttl < 0 ? 0 : ttl),
                                           (uint8_t)ri};
}

void scan_synack(struct scan *s, uint32_t h, uint16_t port, const tw_frame *f) {
  if (!s->keep_synack) return;
  struct ghost *g = &s->hosts[h];
  for (uint32_t i = 0; i < g->nsynacks; i++)
    if (g->synacks[i].port == port) return; /* a SYN+ACK sent again */
  if (g->nsynacks >= SYNACK_KEEP_PER_HOST) {
    s->synack_dropped++;
    return;
  }
  struct p0f_obs o;
  int r = synack_obs(f, &o);
  if (r < 0) {
    if (r == TW_EMALFORMED) s->synack_malformed++;
    return;
  }
  if ((g->nsynacks & (g->nsynacks - 1)) == 0) { /* 0, 1, 2, 4...: grow by doubling */
    uint32_t cap = g->nsynacks ? g->nsynacks * 2 : 1;
    struct synack_kept *v = realloc(g->synacks, cap * sizeof *v);
    if (!v) return;
    g->synacks = v;
  }
  g->synacks[g->nsynacks++] = (struct synack_kept){port, o};
  s->synack_kept++;
}

#define TPORTS_CAP (STORE_CAP * PROTO_COUNT)

void scan_port_timeout(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port,
                       enum port_state state) {
  struct ghost *g = &s->hosts[h];
  g->nsettled++;
  g->timeouts[proto]++;
  g->timeout_state[proto] = (uint8_t)state;
  if (g->timeouts[proto] > STORE_CAP) return; /* folded into a count anyway */
  if (!g->tports && !(g->tports = malloc(TPORTS_CAP * sizeof *g->tports))) return;
  if (g->ntports < TPORTS_CAP) g->tports[g->ntports++] = (uint32_t)proto << 16 | port;
}

void scan_port_late(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port,
                    enum port_state state, const char *reason, int ttl) {
  struct ghost *g = &s->hosts[h];
  /* Only a port given up as unanswered takes a late answer; any other is
   * a duplicate (a SYN+ACK sent again, say). */
  uint32_t key = (uint32_t)proto << 16 | port;
  for (uint32_t i = 0; i < g->ntports; i++) {
    if (g->tports[i] != key) continue;
    g->tports[i] = g->tports[--g->ntports];
    g->timeouts[proto]--;
    g->nsettled--; /* scan_port counts the verdict again */
    scan_port(s, h, proto, port, state, reason, ttl);
    return;
  }
}

/* Give the result its counted ports: states past the first few as bulk
 * counts, and the unanswered ports, listed when few, else counted. */
static void settle_ports(struct scan *s, uint32_t h, struct host_result *r) {
  struct ghost *g = &s->hosts[h];
  if (g->settled) return; /* once: the counts would be added twice */
  g->settled = true;
  for (uint32_t i = 0; i < g->ncports; i++) {
    const struct cport *c = &g->cports[i];
    host_add_port(r, (enum scan_proto)c->proto, c->port, (enum port_state)c->state,
                  s->reasons[c->reason], c->ttl, service_of(s, (enum scan_proto)c->proto, c->port));
  }
  free(g->cports);
  g->cports = NULL;
  g->ncports = g->capcports = 0;
  /* each kept SYN+ACK goes to its open port's result */
  for (uint32_t i = 0; i < g->nsynacks; i++) {
    for (size_t k = 0; k < r->nports; k++) {
      struct port_result *p = &r->ports[k];
      if (p->proto != PROTO_TCP || p->portid != g->synacks[i].port || p->state != PORT_OPEN ||
          p->synack)
        continue;
      if ((p->synack = malloc(sizeof *p->synack))) *p->synack = g->synacks[i].obs;
      break;
    }
  }
  free(g->synacks);
  g->synacks = NULL;
  g->nsynacks = 0;
  for (int p = 0; p < PROTO_COUNT; p++) {
    for (int st = 0; st < PORT_NSTATES; st++)
      if (g->nstate[p][st] > STORE_CAP)
        host_add_bulk(r, (enum scan_proto)p, (enum port_state)st, s->reasons[g->bulk_reason[p][st]],
                      g->nstate[p][st] - STORE_CAP);
    uint32_t n = g->timeouts[p];
    if (n == 0) continue;
    enum port_state st = (enum port_state)g->timeout_state[p];
    if (n > STORE_CAP) {
      host_add_bulk(r, (enum scan_proto)p, st, "no-response", n);
      continue;
    }
    for (uint32_t i = 0; i < g->ntports; i++) {
      if ((g->tports[i] >> 16) != (uint32_t)p) continue;
      uint16_t port = (uint16_t)g->tports[i];
      host_add_port(r, (enum scan_proto)p, port, st, "no-response", 0,
                    service_of(s, (enum scan_proto)p, port));
    }
  }
  free(g->tports);
  g->tports = NULL;
  g->ntports = 0;
}

struct host_result *scan_settled_host(struct scan *s, uint32_t h) {
  struct host_result *r = scan_host(s, h);
  if (r) settle_ports(s, h, r);
  return r;
}

/* ---- outputs ---------------------------------------------------------------- */

/* The result of a call on output k: its first error is reported, once,
 * with the output's name and file, and makes the scan exit 1. The output
 * itself then writes nothing more (output.h); the others go on, so they
 * still get every host. */
static void out_check(struct scan *s, int k, int r) {
  if (r >= 0 || s->out_failed[k]) return;
  s->out_failed[k] = true;
  fprintf(stderr, "trawl: cannot write the %s output to %s: %s\n", s->outs[k].ops->name,
          s->out_names[k], strerror(-r));
  if (!s->exit_code) s->exit_code = 1;
}

/* ---- what the stages share ------------------------------------------------ */

uint32_t scan_group_size(const struct options *o) {
  size_t nports = portlist_count(&o->ports);
  if (nports == 0) nports = 1;
  uint64_t g = GROUP_PROBES / nports;
  if (g < 256) g = 256;
  if (g > GROUP_HOSTS) g = GROUP_HOSTS;
  if (o->min_hostgroup > g) g = o->min_hostgroup; /* --min-hostgroup: a floor (<= the maximum) */
  if (o->max_hostgroup > 0 && g > (uint64_t)o->max_hostgroup) g = (uint64_t)o->max_hostgroup;
  return (uint32_t)g;
}

/* engine_config.finish: the packet options on a raw probe */
static int scan_pktopt_finish(const void *arg, uint8_t *buf, int len, size_t cap) {
  return pktopt_apply(arg, buf, len, cap);
}

/* engine_config.expand and .fragment: -D's sources, -f's fragments */
static int scan_pktopt_expand(const void *arg, const uint8_t *pkt, int len, int k, uint8_t *out,
                              size_t cap) {
  return pktopt_source(arg, pkt, len, k, out, cap);
}

static int scan_pktopt_fragment(const void *arg, const uint8_t *pkt, int len, int j, uint8_t *out,
                                size_t cap) {
  return pktopt_frag(arg, pkt, len, j, out, cap);
}

int scan_start_pass(struct scan *s, const struct engine_config *c, const struct probe_ops *ops,
                    void *ctx, const tw_pkt_addr *hosts, uint32_t nhosts, uint32_t nports,
                    void (*done)(struct engine *e)) {
  if (s->o->debug)
    fprintf(stderr, "trawl: pass of %u hosts x %u starts %.3fs after scan start\n", nhosts, nports,
            (double)(tw_hrtime() - s->start_ns) / 1e9);
  s->stage_ctx = ctx;
  s->eng_live = true;
  struct engine_config cc = *c;
  if (pktopt_active(&s->pktopt)) {
    cc.finish = scan_pktopt_finish;
    cc.finish_arg = &s->pktopt;
  }
  if (pktopt_expands(&s->pktopt)) {
    cc.expand = scan_pktopt_expand;
    cc.fragment = scan_pktopt_fragment;
    cc.finish_arg = &s->pktopt;
  }
  int err = engine_start(&s->eng, s->loop, &cc, ops, ctx, hosts, nhosts, nports, s->rs4, s->rs6, done);
  if (err < 0) {
    s->eng_live = false;
    s->stage_ctx = NULL;
    engine_free(&s->eng);
    return err;
  }
  return 1;
}

void scan_end_pass(struct scan *s, const char *name) {
  struct engine *e = &s->eng;
  s->probes_sent += e->st.sent;
  if (s->o->debug) {
    fprintf(stderr,
            "trawl: %s pass: sent %llu (re-sent %llu), answered %llu, late %llu, timed out %llu "
            "(held %llu), send errors %llu, unsolicited %llu, ended %.3fs after scan start\n",
            name, (unsigned long long)e->st.sent, (unsigned long long)e->st.resent,
            (unsigned long long)e->st.answered, (unsigned long long)e->st.late,
            (unsigned long long)e->st.timeouts, (unsigned long long)e->st.held,
            (unsigned long long)e->st.send_errors,
            (unsigned long long)e->st.unsolicited, (double)(tw_hrtime() - s->start_ns) / 1e9);
    fprintf(stderr, "trawl: %s pass: rate %.0f pkt/s at the end (%u increases, %u decreases)\n",
            name, e->rc.rate, e->rc.increases, e->rc.decreases);
    if (s->keep_synack)
      fprintf(stderr, "trawl: SYN+ACKs kept for port.synack %llu, over the cap %llu, malformed %llu\n",
              (unsigned long long)s->synack_kept, (unsigned long long)s->synack_dropped,
              (unsigned long long)s->synack_malformed);
  }
  s->stage_ctx = NULL;
  s->eng_live = false;
  engine_free(e);
}

/* --packet-trace: every packet the captures hand to the dispatcher. */
static void trace_rx(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct scan *s = data;
  if (status < 0 || !s->o->packet_trace) return;
  trace_packet(stdout, "RCVD", (double)(tw_hrtime() - s->start_ns) / 1e9, rx->frame->data,
               rx->frame->caplen, rx->frame->linktype);
}

void scan_packet_trace(struct scan *s, bool on) {
  s->o->packet_trace = on;
  if (s->eng_live) s->eng.cfg.trace_t0 = on ? s->start_ns : 0;
  /* received packets: one waiter for everything, made on first use (it
   * widens the capture filter, so not before) and left idle when off */
  if (on && s->raw && !s->trace_req) {
    tw_match all = {0};
    tw_wait(s->loop, &s->trace_req, &all, 0, 0, trace_rx, s);
  }
}

/* ---- groups ------------------------------------------------------------------ */

static void free_group(struct scan *s) {
  if (s->host_timer) tw_timer_stop(s->host_timer);
  for (uint32_t i = 0; i < s->nhosts; i++) {
    free(s->hosts[i].tports);
    free(s->hosts[i].cports);
    free(s->hosts[i].synacks);
    if (s->hosts[i].res) {
      host_result_free(s->hosts[i].res);
      free(s->hosts[i].res);
    }
  }
  free(s->hosts);
  free(s->addrs);
  free(s->live);
  free(s->live_idx);
  s->hosts = NULL;
  s->addrs = s->live = NULL;
  s->live_idx = NULL;
  s->nhosts = s->nlive = 0;
}

/* The resume marker (resume.h) in every output file: XML gets it as a
 * comment. Each complete host group is followed by one while targets are
 * left, so that a scan killed outright (SIGKILL, a crash, power) can still
 * be resumed from its last complete group; an interrupted scan ends with
 * one. Not in JSON Lines, whose every line is a record. */
static void write_resume_mark(struct scan *s, int k, uint64_t next) {
  char mark[160];
  bool xml = s->outs[k].ops == &output_xml_ops;
  if (s->outs[k].ops == &output_json_ops) return; /* JSON Lines: records only */
  snprintf(mark, sizeof mark, xml ? "<!-- %s next-target=%llu seed=%llu -->\n" : "# %s next-target=%llu seed=%llu\n",
           RESUME_TAG, (unsigned long long)next, (unsigned long long)s->o->seed);
  out_check(s, k, output_raw(&s->outs[k], mark));
}

/* -v: a host discovery found down is written too ("[host down]", Nmap's
 * <status state="down" reason="no-response"/>, "Status: Down"). */
static void write_down_host(struct scan *s, uint32_t i) {
  struct ghost *g = &s->hosts[i];
  struct host_result *r = scan_host(s, i);
  if (!r) return;
  host_set_reason(r, HOST_DOWN, "no-response", 0);
  const char *n = scan_name_of(s, &g->addr);
  if (n && r->nnames == 0) host_add_hostname(r, n, HOSTNAME_USER);
  if (!r->end_time) r->end_time = time(NULL);
  if (!r->start_time) r->start_time = s->info.start_time;
  status_clear(s);
  for (int k = 0; k < s->nouts; k++) out_check(s, k, output_host(&s->outs[k], r));
  host_result_free(r);
  free(r);
  g->res = NULL;
}

/* --open shows only the hosts with a port that is open, open|filtered or
 * unfiltered, as Nmap does; with no port scan (-sn), every host up. */
static bool shown_with_open(const struct scan *s, const struct host_result *r) {
  if (!s->o->open_only || s->o->no_portscan) return true;
  for (size_t i = 0; i < r->nports; i++)
    if (r->ports[i].state == PORT_OPEN || r->ports[i].state == PORT_OPEN_FILTERED ||
        r->ports[i].state == PORT_UNFILTERED)
      return true;
  for (size_t i = 0; i < r->nbulk; i++)
    if (r->bulk[i].state == PORT_OPEN || r->bulk[i].state == PORT_OPEN_FILTERED ||
        r->bulk[i].state == PORT_UNFILTERED)
      return true;
  return false;
}

/* Discovery has finished for the group: a host not up by now is down. */
static bool discovery_over(const struct scan *s) {
  for (uint32_t k = 0; k + 1 < s->stage && k < scan_nstages; k++)
    if (strcmp(scan_stages[k].name, "discovery") == 0) return true;
  return false;
}

/* Every stage is done with host i of an interrupted group. */
static bool host_complete(const struct scan *s, uint32_t i) {
  const struct ghost *g = &s->hosts[i];
  if (g->noroute) return true;
  if (!g->up) return discovery_over(s);
  return !g->timedout && g->nsettled >= s->verdicts_per_host;
}

/* Write the group's hosts, in target order; returns how many of its first
 * hosts are written (or counted down). complete_only (an interrupted
 * group): only its leading run of hosts every stage has finished with, so
 * that the resume marker can point just past them and --resume writes no
 * host twice. */
static uint32_t write_group(struct scan *s, bool complete_only) {
  uint32_t i;
  for (i = 0; i < s->nhosts; i++) {
    struct ghost *g = &s->hosts[i];
    if (complete_only && !host_complete(s, i)) break;
    if (g->noroute) continue; /* warned about and skipped, as Nmap does */
    if (!g->up) {
      s->hosts_down++;
      if (s->o->verbose >= 1) write_down_host(s, i);
      continue;
    }
    struct host_result *r = scan_host(s, i);
    if (!r) continue;
    r->timedout = g->timedout;
    settle_ports(s, i, r);
    if (s->o->list_scan) {
      /* -sL: listed, not known up or down (Nmap's "unknown", user-set) */
      host_set_reason(r, HOST_UNKNOWN, "user-set", 0);
      s->hosts_down++; /* Nmap counts them down: "(0 hosts up)" */
    } else {
      s->hosts_up++;
      if (r->status != HOST_UP) host_set_reason(r, HOST_UP, "user-set", 0);
    }
    const char *n = scan_name_of(s, &g->addr);
    if (n && r->nnames == 0) host_add_hostname(r, n, HOSTNAME_USER);
    if (!r->end_time && !s->o->list_scan) r->end_time = time(NULL);
    if (!r->start_time && !s->o->list_scan) r->start_time = s->info.start_time;
    if (shown_with_open(s, r)) {
      status_clear(s);
      for (int k = 0; k < s->nouts; k++) out_check(s, k, output_host(&s->outs[k], r));
    }
    /* written: free it now, so a group's results never pile up */
    host_result_free(r);
    free(r);
    g->res = NULL;
  }
  s->hosts_done += i;
  return i;
}

/* Route host h of the group: our source address toward it, whether it is
 * on a link we are attached to (then ARP finds it), and the interface the
 * route leaves by (the scripts' host.interface). The scan's one route
 * cache: consecutive targets share a /24 (IPv4) or /64 (IPv6), so the
 * kernel is asked once per such block. Only an ordinary unicast route is
 * kept for the block: a local address (::1, 127.0.0.1), or an address the
 * kernel has no route to (::), says nothing about its neighbours — ::
 * and ::1 share a /64, and ::1 must not inherit ::'s missing route. */
struct route_cache {
  tw_pkt_addr net;
  bool valid;
  bool noroute;
  uint8_t src, link, iface;
};

static void route_host(struct scan *s, struct ghost *g, struct route_cache *rc) {
  tw_pkt_addr net = g->addr;
  if (net.family == AF_INET) net.v4.s_addr &= htonl(0xffffff00u);
  else memset(net.b + 8, 0, 8);
  if (!rc->valid || !tw_pkt_addr_eq(&rc->net, &net)) {
    rc->valid = true;
    rc->net = net;
    rc->src = rc->link = rc->iface = 0;
    rc->noroute = true;
    tw_route r;
    if (tw_route_get_sync(&g->addr, &r) == 0) {
      rc->noroute = false;
      if (r.type != 1 /* RTN_UNICAST */) rc->valid = false; /* this address only */
      /* -S: the given source instead of the route's (same family) */
      if (s->o->spoof.family == r.src.family) r.src = s->o->spoof;
      int k;
      for (k = 0; k < s->nsrcs; k++)
        if (tw_pkt_addr_eq(&s->srcs[k], &r.src)) break;
      if (k == s->nsrcs && s->nsrcs < SCAN_MAX_SRCS) s->srcs[s->nsrcs++] = r.src;
      if (k < s->nsrcs) rc->src = (uint8_t)k;
      for (int i = 0; i < s->nifs; i++) {
        if (strcmp(s->ifs[i].name, r.ifname) == 0) rc->iface = (uint8_t)(i + 1);
        if (r.gateway.family == 0 && r.type == 1 /* RTN_UNICAST */ && s->ifs[i].cap &&
            tw_capture_ifindex(s->ifs[i].cap) == r.ifindex && s->ifs[i].eth)
          rc->link = (uint8_t)(i + 1);
      }
    }
  }
  if (rc->noroute) rc->valid = false;
  g->noroute = rc->noroute;
  g->src = rc->src;
  g->link = rc->link;
  g->iface = rc->iface;
}

/* --host-timeout: the group's hosts all started together, so they all
 * time out together: the running stage stops, the hosts not done are
 * reported as skipped, and the next group starts. */
static void on_host_timeout(tw_timer *t, int status) {
  struct scan *s = tw_data(t);
  if (status < 0 || !s->hosts) return;
  s->group_timed_out = true;
  for (uint32_t i = 0; i < s->nhosts; i++)
    if (s->hosts[i].up) s->hosts[i].timedout = true;
  if (s->eng_live) engine_stop(&s->eng);
  if (s->stage_stop) s->stage_stop(s->stage_ctx);
}

static int load_group(struct scan *s) {
  uint64_t left = s->ntargets - s->next_target;
  uint32_t n = left < s->group_size ? (uint32_t)left : s->group_size;
  s->hosts = calloc(n, sizeof *s->hosts);
  s->addrs = calloc(n, sizeof *s->addrs);
  s->live = calloc(n, sizeof *s->live);
  s->live_idx = calloc(n, sizeof *s->live_idx);
  struct route_cache rc = {0};
  if (!s->hosts || !s->addrs || !s->live || !s->live_idx) return -ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    struct tgt_addr ta;
    targets_get(s->o->targets, s->next_target + i, &ta);
    tw_pkt_addr *a = &s->hosts[i].addr;
    a->family = ta.family;
    if (ta.family == AF_INET6) a->v6 = ta.u.v6;
    else a->v4 = ta.u.v4;
    s->addrs[i] = *a;
    if (s->raw && !s->o->list_scan) route_host(s, &s->hosts[i], &rc); /* -sL sends nothing */
    if (s->hosts[i].noroute) {
      char as[INET6_ADDRSTRLEN];
      fprintf(stderr, "trawl: warning: no route to %s: skipped\n",
              tgt_addr_str(&ta, as, sizeof as));
    }
  }
  s->nhosts = n;
  s->next_target += n;
  s->stage = 0;
  s->group_timed_out = false;
  s->host_clock = false;
  return 0;
}

/* --host-timeout: the clock starts when discovery is over and the first
 * stage of the live hosts begins, as Nmap's does, so that a timeout
 * shorter than discovery cannot make the group's hosts vanish: every host
 * discovery found up is reported, timed out or not. */
static int start_host_clock(struct scan *s) {
  uint64_t ht = s->o->host_timeout_ms;
  if (s->host_clock || !ht || ht == OPT_UNSET_MS) return 0;
  s->host_clock = true;
  if (!s->host_timer && tw_timer_new(s->loop, &s->host_timer, s) < 0) return -ENOMEM;
  tw_timer_start(s->host_timer, on_host_timeout, ht * 1000000ull, 0);
  return 0;
}

/* The group's live hosts become the port scans' targets. */
static void collect_live(struct scan *s) {
  s->nlive = 0;
  for (uint32_t i = 0; i < s->nhosts; i++) {
    if (!s->hosts[i].up || s->hosts[i].timedout) continue;
    s->live[s->nlive] = s->hosts[i].addr;
    s->live_idx[s->nlive] = i;
    s->nlive++;
  }
}

static void finish_scan(struct scan *s);

static void scripts_done(void *arg) { scan_next(arg); }

/* Pre- and postrule script results go out as soon as those scripts end:
 * <prescript> / "Pre-scan script results:" before the first host,
 * <postscript> / "Post-scan script results:" after the last, as Nmap
 * writes them (output_prescript/output_postscript, output.h). */
static void rules_done(struct scan *s, enum script_phase ph) {
  size_t n = 0;
  const struct script_result *r = script_engine_results(s->scripts, ph, &n);
  if (n) status_clear(s);
  for (int k = 0; k < s->nouts; k++)
    out_check(s, k, ph == SCRIPT_PRE ? output_prescript(&s->outs[k], r, n)
                                     : output_postscript(&s->outs[k], r, n));
  scan_next(s);
}
static void prerules_done(void *arg) { rules_done(arg, SCRIPT_PRE); }
static void postrules_done(void *arg) { rules_done(arg, SCRIPT_POST); }

/* Scripts see the group's hosts with their final port lists. */
int stage_scripts(struct scan *s) {
  if (!s->scripts || s->nhosts == 0) return 0;
  struct host_result **hosts = malloc(s->nhosts * sizeof *hosts);
  tw_pkt_addr *srcs = malloc(s->nhosts * sizeof *srcs);
  const char **ifnames = malloc(s->nhosts * sizeof *ifnames);
  if (!hosts || !srcs || !ifnames) {
    free(hosts);
    free(srcs);
    free(ifnames);
    return -ENOMEM;
  }
  size_t n = 0;
  for (uint32_t i = 0; i < s->nhosts; i++) {
    struct ghost *g = &s->hosts[i];
    if (!g->up || g->timedout) continue;
    struct host_result *r = scan_host(s, i);
    if (!r) continue;
    settle_ports(s, i, r);
    hosts[n] = r;
    srcs[n] = *scan_src(s, i);
    /* a routed host's interface is its route's, not the first interface's */
    ifnames[n] = g->link ? s->ifs[g->link - 1].name : g->iface ? s->ifs[g->iface - 1].name : NULL;
    n++;
  }
  struct script_group_ctx ctx = {srcs, ifnames};
  int err = n ? script_run_group(s->scripts, hosts, n, &ctx, scripts_done, s) : 1;
  /* the engine copies what it needs from ctx and the array */
  free(hosts);
  free(srcs);
  free(ifnames);
  if (err == 1) return 0;
  return err < 0 ? err : 1;
}

/* The driver: runs the rows of scan_stages[] (stage.h) for the current
 * group in order, then writes the group and loads the next. Prerule
 * scripts run before the first group, postrule scripts after the last.
 * A row that is not wanted, or whose start has nothing to wait for,
 * passes straight to the next; one that starts work returns here through
 * scan_next() when that work is done. */
void scan_next(struct scan *s) {
  for (;;) {
    if (s->interrupted) {
      finish_scan(s);
      return;
    }
    if (s->scripts && !s->prerules_done) {
      s->prerules_done = true;
      if (script_run_prerules(s->scripts, prerules_done, s) == 0) return;
    }
    if (!s->hosts) {
      if (s->next_target >= s->ntargets) {
        if (s->scripts && !s->postrules_done) {
          s->postrules_done = true;
          if (script_run_postrules(s->scripts, postrules_done, s) == 0) return;
        }
        finish_scan(s);
        return;
      }
      if (load_group(s) < 0) {
        scan_fail(s, "out of memory loading targets");
        continue;
      }
    }
    if (s->stage >= scan_nstages) {
      write_group(s, false);
      free_group(s);
      if (s->next_target < s->ntargets)
        for (int k = 0; k < s->nouts; k++)
          if (s->files[k]) write_resume_mark(s, k, s->next_target);
      continue;
    }
    const struct stage *st = &scan_stages[s->stage++];
    if (!st->wanted(s)) continue;
    if (st->live) collect_live(s);
    if (st->live && start_host_clock(s) < 0) {
      scan_fail(s, "out of memory starting the host timeout");
      continue;
    }
    int r = st->start(s);
    if (r > 0) return; /* the stage runs; it calls scan_next when done */
    if (r < 0) scan_fail(s, "%s stage failed: %s", st->name, tw_strerror(r));
  }
}

/* ---- start and end --------------------------------------------------------- */

static void finish_scan(struct scan *s) {
  if (s->finished) return;
  s->finished = true;
  /* Of the group in progress only the leading hosts already done are
   * written; --resume starts just after them. */
  uint64_t next = s->next_target - (s->hosts ? s->nhosts : 0);
  if (s->hosts) {
    next += write_group(s, true);
    free_group(s);
  }
  bool resumable = s->interrupted && next < s->ntargets;
  struct scan_end e = {0};
  e.end_time = time(NULL);
  e.elapsed = (double)(tw_hrtime() - s->start_ns) / 1e9;
  e.hosts_up = s->hosts_up;
  e.hosts_down = s->hosts_down;
  e.hosts_total = s->hosts_up + s->hosts_down;
  e.interrupted = s->interrupted;
  e.seems_down = !s->interrupted && e.hosts_total == 1 && e.hosts_up == 0 &&
                 !s->o->skip_discovery;
  e.errormsg = s->errmsg[0] ? s->errmsg : (s->interrupted ? "interrupted" : NULL);
  status_clear(s);
  for (int k = 0; k < s->nouts; k++) {
    bool xml = s->outs[k].ops == &output_xml_ops;
    if (resumable && s->files[k] && !xml) write_resume_mark(s, k, next);
    out_check(s, k, output_end(&s->outs[k], &e));
    if (resumable && s->files[k] && xml) write_resume_mark(s, k, next);
  }
  status_stop(s);
  if (s->host_timer) tw_close(s->host_timer, NULL);
  s->host_timer = NULL;
  if (s->trace_req) tw_cancel(s->trace_req);
  s->trace_req = NULL;
  if (s->sigint) tw_close(s->sigint, NULL);
  if (s->sigterm) tw_close(s->sigterm, NULL);
  s->sigint = s->sigterm = NULL;
  for (int i = 0; i < s->nifs; i++) {
    if (s->ifs[i].cap) tw_capture_release(s->ifs[i].cap);
    s->ifs[i].cap = NULL;
  }
  if (s->rs4) tw_close(s->rs4, NULL);
  if (s->rs6) tw_close(s->rs6, NULL);
  s->rs4 = s->rs6 = NULL;
}

static void on_signal(tw_signal *sg, int status, int signum) {
  struct scan *s = tw_data(sg);
  if (status < 0 || s->interrupted) return;
  s->interrupted = true;
  fprintf(stderr, "trawl: interrupted by signal %d: writing what was found\n", signum);
  /* Every stage notices: the engine and the scripts are told to stop (their
   * done callbacks then end the scan), the connect and DNS stages check
   * the flag as their work completes. */
  if (s->eng_live) engine_stop(&s->eng);
  if (s->stage_stop) s->stage_stop(s->stage_ctx);
  if (s->scripts) script_engine_stop(s->scripts);
}

/* Opens an output file as root would, but changes nothing in it yet: an
 * existing file is not truncated until outputs_commit(), and one this run
 * created is removed if the scan ends before that — so a command line
 * that fails after this point (a bad script, a name that does not resolve
 * to anything) loses and leaves nothing. */
static FILE *out_open(struct scan *s, const char *path, bool append) {
  int k = s->nouts;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (append ? O_APPEND : 0), 0644);
  bool created = fd >= 0;
  if (fd < 0 && errno == EEXIST)
    fd = open(path, O_WRONLY | O_CLOEXEC | (append ? O_APPEND : 0));
  if (fd < 0) return NULL;
  FILE *fp = fdopen(fd, append ? "a" : "w");
  if (!fp) {
    int e = errno;
    close(fd);
    if (created) unlink(path);
    errno = e;
    return NULL;
  }
  struct stat st;
  s->files[k] = fp;
  s->out_created[k] = created;
  /* only a regular file has contents to replace (/dev/null, a pipe: none) */
  s->out_truncate[k] = !append && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  return fp;
}

/* The scan really starts: the outputs may now be overwritten. */
static void outputs_commit(struct scan *s) {
  for (int k = 0; k < s->nouts; k++)
    if (s->files[k] && s->out_truncate[k] && ftruncate(fileno(s->files[k]), 0) != 0)
      out_check(s, k, -errno);
  s->outputs_committed = true;
}

static int open_outputs(struct scan *s) {
  struct options *o = s->o;
  struct {
    const char *path;
    const struct output_ops *ops;
  } want[4] = {{o->out_normal, &output_normal_ops},
               {o->out_xml, &output_xml_ops},
               {o->out_grep, &output_grep_ops},
               {o->out_json, &output_json_ops}};
  struct output_opts oo = {0};
  oo.verbose = o->verbose;
  oo.debug = o->debug;
  oo.reason = o->reason;
  oo.open_only = o->open_only;
  /* Nmap's <?xml-stylesheet?>: --stylesheet, --webxml, else its nmap.xsl
   * when installed (--no-stylesheet: none) */
  if (o->stylesheet) {
    oo.stylesheet = o->stylesheet;
  } else if (!o->no_stylesheet) {
    char path[4096];
    if (datadir_find(DATADIR_NMAP, o->datadir, "nmap.xsl", DATADIR_FILE, path, sizeof path) == 0) {
      snprintf(s->xsl_href, sizeof s->xsl_href, "file://%s", path);
      oo.stylesheet = s->xsl_href;
    }
  }
  bool stdout_used = false;
  for (int i = 0; i < 4; i++) {
    if (!want[i].path) continue;
    FILE *fp;
    /* Resuming: normal and grepable outputs go on where they stopped; an
     * XML document cannot be continued, so the resumed part gets its own. */
    char xmlpath[4096];
    const char *path = want[i].path;
    const char *mode = o->resuming || o->append_output ? "a" : "w";
    if (o->resuming && want[i].ops == &output_xml_ops && strcmp(path, "-") != 0) {
      snprintf(xmlpath, sizeof xmlpath, "%s.resumed", path);
      path = xmlpath;
      mode = "w";
      fprintf(stderr, "trawl: resuming: the XML of the resumed part goes to '%s'\n", path);
    }
    if (strcmp(path, "-") == 0) {
      fp = stdout;
      stdout_used = true;
      s->chatty = want[i].ops == &output_normal_ops;
    } else if (!(fp = out_open(s, path, mode[0] == 'a'))) {
      fprintf(stderr, "trawl: cannot open output file '%s': %s\n", path, strerror(errno));
      return -1;
    }
    oo.to_file = fp != stdout;
    snprintf(s->out_names[s->nouts], sizeof s->out_names[0], "%s",
             fp == stdout ? "standard output" : path);
    output_init(&s->outs[s->nouts++], want[i].ops, fp, &oo);
  }
  if (!stdout_used) { /* the terminal always gets the normal report */
    s->chatty = true;
    oo.to_file = false;
    snprintf(s->out_names[s->nouts], sizeof s->out_names[0], "standard output");
    output_init(&s->outs[s->nouts++], &output_normal_ops, stdout, &oo);
  }
  return 0;
}

/* --send-eth / --spoof-mac: the frame buffer, and the MAC to spoof (its
 * random part from --seed when given, so that runs repeat). */
static int setup_send_eth(struct scan *s, char *err, size_t errlen) {
  s->send_eth = true;
  s->eth_frame = malloc(ETHSEND_FRAME_MAX);
  if (!s->eth_frame) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  if (!s->o->spoof_mac) return 0;
  uint8_t rnd[6];
  if (s->o->seed_set) {
    uint64_t x = s->o->seed ^ 0x5350304f464d4143ull; /* "SP0OFMAC": not -iR's draws */
    uint64_t v = permute_splitmix(&x);
    memcpy(rnd, &v, 6);
  } else if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
    return errmsg_set(err, errlen, -EIO, "--spoof-mac: getrandom failed");
  }
  int r = ethsend_spoof_parse(s->o->spoof_mac, s->macdb, rnd, s->spoof_mac, err, errlen);
  if (r == 0) s->spoof_mac_set = true;
  return r;
}

/* Interfaces, source addresses and raw sockets for the targets: route a
 * sample of target addresses and open one capture per interface met. */
static int open_network(struct scan *s) {
  struct options *o = s->o;
  uint64_t n = s->ntargets;
  uint64_t step = n > 256 ? n / 256 : 1;
  int need4 = 0, need6 = 0;
  for (uint64_t i = 0; i < n; i += step) {
    struct tgt_addr ta;
    if (targets_get(o->targets, i, &ta) < 0) break;
    tw_pkt_addr a;
    memset(&a, 0, sizeof a);
    a.family = ta.family;
    if (ta.family == AF_INET6) a.v6 = ta.u.v6;
    else a.v4 = ta.u.v4;
    tw_route r;
    int err = tw_route_get_sync(&a, &r);
    if (err < 0) continue;
    const char *ifname = o->iface ? o->iface : r.ifname;
    int k;
    for (k = 0; k < s->nifs; k++)
      if (strcmp(s->ifs[k].name, ifname) == 0) break;
    if (k == s->nifs) {
      if (s->nifs == SCAN_MAX_IFACES) continue;
      struct scan_iface *f = &s->ifs[s->nifs];
      memset(f, 0, sizeof *f);
      snprintf(f->name, sizeof f->name, "%s", ifname);
      /* a spoofed MAC: the answers may be sent to it */
      err = tw_capture_open(s->loop, &f->cap, f->name, o->spoof_mac ? TW_CAPTURE_PROMISC : 0);
      if (err < 0) {
        fprintf(stderr, "trawl: cannot capture on %s: %s\n", f->name, tw_strerror(err));
        return err;
      }
      f->ifindex = tw_capture_ifindex(f->cap);
      s->nifs++;
    }
    if (a.family == AF_INET6) need6 = 1;
    else need4 = 1;
  }
  if (s->nifs == 0) {
    fprintf(stderr, "trawl: no route to any target\n");
    return -ENETUNREACH;
  }
  int err;
  if (need4 && (err = tw_rawsock_new(s->loop, &s->rs4, TW_RAW_IP4, NULL, 0, s)) < 0) return err;
  if (need6 && (err = tw_rawsock_new(s->loop, &s->rs6, TW_RAW_IP6, NULL, 0, s)) < 0) return err;
  for (int k = 0; k < s->nifs; k++) {
    tw_iface_get(s->ifs[k].name, 0, &s->ifs[k].info);
    if (s->ifs[k].info.has_mac)
      tw_rawsock_new(s->loop, &s->ifs[k].eth, TW_RAW_ETH, s->ifs[k].name, 0, s);
  }
  return 0;
}


static void fill_info(struct scan *s) {
  struct options *o = s->o;
  static const enum scan_type order[] = {SCAN_SYN,  SCAN_ACK,  SCAN_NULL,   SCAN_FIN,    SCAN_XMAS,
                                         SCAN_MAIMON, SCAN_WINDOW, SCAN_CONNECT, SCAN_UDP};
  for (size_t i = 0; i < sizeof order / sizeof order[0] && !o->no_portscan; i++) {
    if (!(o->scans & SCANF(order[i]))) continue;
    enum scan_proto p = order[i] == SCAN_UDP ? PROTO_UDP : PROTO_TCP;
    s->types[s->ntypes].type = order[i];
    s->types[s->ntypes].proto = p;
    s->types[s->ntypes].ports = o->ports.ports[p];
    s->types[s->ntypes].nports = o->ports.n[p];
    s->types[s->ntypes].scanflags = (SCANF(order[i]) & SCANS_TCP_RAW) ? o->scanflags : -1;
    s->ntypes++;
  }
  s->info.args = o->args;
  s->info.start_time = time(NULL);
  s->info.verbose = o->verbose;
  s->info.version_scan = s->vdb != NULL;
  s->info.debug = o->debug;
  s->info.types = s->types;
  s->info.ntypes = (size_t)s->ntypes;
}

/* -sV: Nmap's nmap-service-probes (or --versiondb), parsed as the
 * unprivileged user before any packet is sent; a line the parser cannot
 * take is a warning with its file and line, and is skipped. */
static void versiondb_warn(void *ud, const char *line) {
  (void)ud;
  fprintf(stderr, "trawl: warning: %s\n", line);
}

static int load_versiondb(struct scan *s) {
  char err[512];
  struct sp_load_opts lo = {versiondb_warn, s, SP_JIT_EAGER};
  uint64_t t0 = tw_hrtime();
  int r = sp_load_default(&s->vdb, s->o->datadir, s->o->versiondb, &lo, err, sizeof err);
  if (r < 0) {
    fprintf(stderr, "trawl: %s\n", err);
    return r;
  }
  if (s->o->debug)
    fprintf(stderr, "trawl: service probes loaded and compiled in %.3fs\n",
            (double)(tw_hrtime() - t0) / 1e9);
  return 0;
}

int scan_run(struct options *o) {
  struct scan *s = calloc(1, sizeof *s);
  if (!s) return 1;
  s->o = o;
  s->start_ns = tw_hrtime();
  int err = tw_loop_new(&s->loop);
  if (err < 0) {
    fprintf(stderr, "trawl: cannot create the event loop: %s\n", tw_strerror(err));
    free(s);
    return 1;
  }
  if (o->seed_set) cookie_key_from_seed(&s->key, o->seed);
  else cookie_key_random(&s->key);
  if (!o->seed_set) {
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) == (ssize_t)sizeof seed) o->seed = seed;
  }
  s->pktopt = (struct pktopt){o->ttl, o->data, o->data_len, o->data_set, o->badsum, {0}, 0, 0, NULL, 0};
  memcpy(s->pktopt.ipopt, o->ipopt, sizeof s->pktopt.ipopt);
  s->pktopt.ipopt_len = o->ipopt_len;
  s->pktopt.frag = o->frag;
  s->pktopt.decoys = o->decoys;
  s->pktopt.ndecoys = o->ndecoys;
  if (o->spoof.family && !o->skip_discovery) /* as Nmap warns */
    fprintf(stderr, "trawl: warning: if -S fakes your source address, you may also need -e <interface> "
                    "and -Pn; if it is your real address, ignore this\n");
  if (o->data_len > 1400) /* as Nmap warns: the kernel refuses what exceeds the MTU */
    fprintf(stderr, "trawl: warning: payloads bigger than 1400 bytes may not be sent successfully\n");
  if (o->source_port >= 0 && o->source_port <= 65535) {
    s->sport_lo = s->sport_hi = (uint16_t)o->source_port;
  } else {
    s->sport_lo = 40000;
    s->sport_hi = 60999;
  }
  /* Raw packets when privileged (root, or --privileged), else connect(). */
  s->raw = o->privileged == OPT_UNSET ? privilege_can_raw() : o->privileged == 1;
  if (!s->raw && !o->dry_run)
    fprintf(stderr, "trawl: no raw packet privileges: connect scan (-sT) and connect-based "
                    "host discovery\n");
  s->ntargets = targets_count(o->targets);
  if (o->resuming) s->next_target = o->resume_next < s->ntargets ? o->resume_next : s->ntargets;
  s->group_size = scan_group_size(o);
  if (!o->no_portscan) {
    unsigned tcp_types = (unsigned)__builtin_popcount(o->scans & SCANS_TCP);
    s->verdicts_per_host = (uint32_t)(tcp_types * o->ports.n[PROTO_TCP] +
                                      ((o->scans & SCANF(SCAN_UDP)) ? o->ports.n[PROTO_UDP] : 0));
  }
  int rc = 1;
  char why[512];
  /* As root: the output files, which may be where only root writes. */
  if (open_outputs(s) < 0) goto out;
  /* Step 1 (privilege.h): from here on nothing runs as root. */
  if ((err = privilege_drop_keep_net(o->privileged_user, why, sizeof why)) < 0) {
    fprintf(stderr, "trawl: %s\n", why);
    if (err == -EINVAL || err == -ENOENT) rc = 2; /* a bad --privileged-user */
    goto out;
  }
  s->keep_synack = o->scripts != NULL; /* port.synack (os/synack.h) */
  /* --script/-sC, and -sV's scripts of category "version" (their output
   * hidden unless the expression selects them too) */
  if ((o->scripts || (o->version_scan && !o->no_portscan)) &&
      script_engine_new(s->loop, o, &s->scripts, why, sizeof why) < 0) {
    fprintf(stderr, "trawl: %s\n", why);
    rc = 2;
    goto out;
  }
  if (s->scripts && script_engine_count(s->scripts) == 0) { /* -sV, no version scripts */
    script_engine_free(s->scripts);
    s->scripts = NULL;
  }
  /* the port-os script shows --osscan-per-port's groups: named in
   * --script (not only through a category), it turns that on (with -O)
   * when raw packets can be sent */
  if (script_engine_has_script(s->scripts, "port-os") && s->raw && !o->no_portscan)
    o->osscan_per_port = o->os_scan = true;
  if (o->version_scan && !o->no_portscan && load_versiondb(s) < 0) goto out;
  if (o->os_scan && os_stage_load(s) < 0) goto out;
  if (s->raw) { /* MAC vendors of the hosts on our links */
    if (mac_prefixes_load_default(&s->macdb, o->datadir, why, sizeof why) < 0) {
      fprintf(stderr, "trawl: %s\n", why);
      goto out;
    }
    if (o->debug)
      fprintf(stderr, "trawl: MAC vendors: %s\n",
              s->macdb ? mac_prefixes_path(s->macdb) : "none (no nmap-mac-prefixes found)");
  }
  if (o->send_eth && s->raw && (err = setup_send_eth(s, why, sizeof why)) < 0) {
    fprintf(stderr, "trawl: %s\n", why);
    if (err == -EINVAL) rc = 2; /* a bad --spoof-mac */
    goto out;
  }
  if ((o->scans & SCANF(SCAN_UDP)) && !o->no_portscan) {
    if (payloads_load_default(&s->payloads, o->datadir, why, sizeof why) < 0) {
      fprintf(stderr, "trawl: %s\n", why);
      goto out;
    }
    if (o->debug)
      fprintf(stderr, "trawl: UDP payloads: %s\n",
              s->payloads ? payloads_path(s->payloads) : "trawl's own (no nmap-payloads found)");
  }
  if (scan_resolve_targets(s) < 0) goto out;
  if (s->ntargets == 0) fprintf(stderr, "trawl: warning: no targets left to scan\n");
  if (s->raw && !o->list_scan && s->ntargets > 0 && (err = open_network(s)) < 0) {
    if (err == -EPERM)
      fprintf(stderr, "trawl: raw packets need root (CAP_NET_RAW); use -sT for a connect scan\n");
    goto out;
  }
  if (s->scripts && s->raw) {
    const char *names[SCAN_MAX_IFACES];
    for (int k = 0; k < s->nifs; k++) names[k] = s->ifs[k].name;
    script_engine_open_raw(s->scripts, names, (size_t)s->nifs);
  }
  /* Step 2: raw sockets and captures are open; no capability is left
   * when the first packet is parsed. */
  if (privilege_drop_all(why, sizeof why) < 0) {
    fprintf(stderr, "trawl: %s\n", why);
    goto out;
  }
  outputs_commit(s);
  fill_info(s);
  for (int k = 0; k < s->nouts; k++) out_check(s, k, output_begin(&s->outs[k], &s->info));
  if (s->spoof_mac_set && s->chatty) { /* Nmap's line, after its starting line */
    char mac[32];
    const char *v = mac_prefixes_vendor(s->macdb, s->spoof_mac);
    status_clear(s);
    printf("Spoofing MAC address %s (%s)\n", output_mac(s->spoof_mac, mac, sizeof mac),
           v ? v : "No registered vendor");
  }
  if (tw_signal_new(s->loop, &s->sigint, s) == 0) tw_signal_start(s->sigint, on_signal, SIGINT);
  if (tw_signal_new(s->loop, &s->sigterm, s) == 0) tw_signal_start(s->sigterm, on_signal, SIGTERM);
  status_start(s);
  if (o->packet_trace) scan_packet_trace(s, true);
  scan_next(s);
  err = tw_loop_run(s->loop, TW_RUN_DEFAULT);
  rc = s->exit_code ? s->exit_code : (s->interrupted ? 130 : 0);
out:
  if (!s->outputs_committed) { /* failed before the scan began: leave no trace */
    for (int k = 0; k < s->nouts; k++) {
      if (!s->files[k]) continue;
      fclose(s->files[k]);
      s->files[k] = NULL;
      if (s->out_created[k]) unlink(s->out_names[k]);
    }
    s->nouts = 0;
  }
  finish_scan(s);
  if (s->scripts) script_engine_free(s->scripts);
  tw_loop_close(s->loop);
  if (s->vdb) sp_free(s->vdb);
  if (s->osdb) osdb_free(s->osdb);
  payloads_free(s->payloads);
  mac_prefixes_free(s->macdb);
  free(s->eth_frame);
  for (int k = 0; k < s->nouts; k++) /* a file's last bytes may fail only here */
    if (s->files[k] && fclose(s->files[k]) != 0) out_check(s, k, -errno);
  if (fflush(stdout) != 0 && !s->exit_code) s->exit_code = 1;
  if (s->errmsg[0]) fprintf(stderr, "trawl: %s\n", s->errmsg);
  if (s->exit_code && rc == 0) rc = s->exit_code;
  scan_names_free(s);
  free(s);
  return rc;
}
