/* traceroute.c: the --traceroute stage of a host group (a row of
 * scan/stage.c, after version detection): picks each live host's probe
 * from its port verdicts as Nmap does, runs hoptrace.c over the whole
 * group in the loop, then names the hops (PTR, unless -n) and keeps them
 * in the host's result for the writers.
 *
 *   1. choose   an open TCP port, else a closed one, else a closed UDP
 *               port, else ICMP echo; the distance from the TTL of the
 *               answer that chose it (a host on our link: distance 1)
 *   2. probe    hoptrace_start(); Ctrl-C and --host-timeout stop it
 *   3. keep     the hops go into host_result.trace
 *   4. names    reverse lookups of every hop address, 256 at a time
 *   5. end      the resolver closes, the stage frees itself, scan_next() */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/dns.h>

#include "scan/hoptrace.h"
#include "scan/scan.h"
#include "scan/traceroute.h"

#define TR_PARALLEL_PTR 256

struct trhow {
  uint32_t g;      /* group index */
  bool direct;     /* on our link */
};

struct trname {
  tw_pkt_addr a;
  char *name;
};

struct trstage {
  struct scan *s;
  struct hoptrace *ht;
  struct hoptrace_target *tg;
  struct trhow *how;
  uint32_t n;
  tw_timer *end;
  tw_resolver *r;
  struct trname *names;
  size_t nnames, next, inflight;
  uint64_t start_ns;
};

/* ---- 1. choose -------------------------------------------------------------- */

int traceroute_distance(int ttl) {
  if (ttl <= 0 || ttl > 255) return 0;
  int init = ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
  return init - ttl + 1;
}

static const struct port_result *pick_port(const struct host_result *r, enum scan_proto proto,
                                           enum port_state state) {
  for (size_t k = 0; k < r->nports; k++)
    if (r->ports[k].proto == proto && r->ports[k].state == state) return &r->ports[k];
  return NULL;
}

void traceroute_choose(const struct host_result *r, uint16_t ps, uint16_t pa, uint16_t pu,
                       struct hoptrace_target *t) {
  t->ack = false;
  if (r->nports == 0 && r->nbulk == 0 && r->reason) {
    /* no port scan: the discovery probe that found the host, as Nmap */
    const char *why = r->reason;
    t->dist = traceroute_distance(r->reason_ttl);
    if (!strcmp(why, "syn-ack") && ps) {
      t->proto = IPPROTO_TCP;
      t->dport = ps;
      return;
    }
    if (!strcmp(why, "reset") && pa) {
      t->proto = IPPROTO_TCP;
      t->ack = true;
      t->dport = pa;
      return;
    }
    if (!strcmp(why, "port-unreach") && pu) {
      t->proto = IPPROTO_UDP;
      t->dport = pu;
      return;
    }
  }
  const struct port_result *p = pick_port(r, PROTO_TCP, PORT_OPEN);
  if (!p) p = pick_port(r, PROTO_TCP, PORT_CLOSED);
  if (p) {
    t->proto = IPPROTO_TCP;
  } else if ((p = pick_port(r, PROTO_UDP, PORT_CLOSED)) != NULL) {
    t->proto = IPPROTO_UDP;
  } else {
    t->proto = IPPROTO_ICMP;
  }
  t->dport = p ? p->portid : 0;
  t->dist = traceroute_distance(p ? p->reason_ttl : r->reason_ttl);
}

/* ---- 3. keep ---------------------------------------------------------------- */

static int keep(struct trstage *st, uint32_t i) {
  struct scan *s = st->s;
  struct host_result *r = scan_host(s, st->how[i].g);
  if (!r) return -ENOMEM;
  struct hoptrace_hop hops[HOPTRACE_MAX_TTL];
  int same_as, upto;
  int n = hoptrace_hops(st->ht, i, hops, HOPTRACE_MAX_TTL, &same_as, &upto);
  if (n <= 0) return 0;
  struct host_trace *t = calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  t->hops = calloc((size_t)n, sizeof *t->hops);
  if (!t->hops) {
    free(t);
    return -ENOMEM;
  }
  const struct hoptrace_target *tg = &st->tg[i];
  if (tg->proto == IPPROTO_ICMP) t->icmp = tg->dst.family == AF_INET6 ? 58 : 1;
  t->proto = tg->proto == IPPROTO_UDP ? PROTO_UDP : PROTO_TCP;
  t->port = tg->dport;
  t->direct = st->how[i].direct;
  t->nhops = (size_t)n;
  for (int k = 0; k < n; k++) {
    t->hops[k].ttl = k + 1;
    t->hops[k].rtt_ms = -1;
    if (hops[k].state == HOP_GOT) {
      tw_pkt_addr_str(&hops[k].addr, t->hops[k].addr, sizeof t->hops[k].addr);
      t->hops[k].rtt_ms = (double)hops[k].rtt_ns / 1e6;
    }
  }
  if (same_as >= 0 && upto > 0) {
    tw_pkt_addr_str(&st->tg[same_as].dst, t->same_as, sizeof t->same_as);
    t->same_upto = upto;
  }
  host_trace_free(r->trace);
  r->trace = t;
  return 0;
}

/* ---- 4. names --------------------------------------------------------------- */

static int name_add(struct trstage *st, const char *text) {
  tw_pkt_addr a;
  if (!*text || tw_pkt_addr_parse(&a, text) < 0) return 0;
  for (size_t k = 0; k < st->nnames; k++)
    if (tw_pkt_addr_eq(&st->names[k].a, &a)) return 0;
  struct trname *v = realloc(st->names, (st->nnames + 1) * sizeof *v);
  if (!v) return -ENOMEM;
  st->names = v;
  v[st->nnames++] = (struct trname){a, NULL};
  return 0;
}

static void attach_names(struct trstage *st) {
  for (uint32_t i = 0; i < st->n; i++) {
    struct host_result *r = scan_host(st->s, st->how[i].g);
    if (!r || !r->trace) continue;
    for (size_t k = 0; k < r->trace->nhops; k++) {
      struct trace_hop *h = &r->trace->hops[k];
      tw_pkt_addr a;
      if (!h->addr[0] || tw_pkt_addr_parse(&a, h->addr) < 0) continue;
      for (size_t j = 0; j < st->nnames; j++)
        if (st->names[j].name && tw_pkt_addr_eq(&st->names[j].a, &a)) {
          free(h->name);
          h->name = strdup(st->names[j].name);
          break;
        }
    }
  }
}

static void tr_free(struct trstage *st) {
  struct scan *s = st->s;
  if (st->ht) hoptrace_free(st->ht);
  if (st->end) tw_close(st->end, NULL);
  for (size_t k = 0; k < st->nnames; k++) free(st->names[k].name);
  free(st->names);
  free(st->tg);
  free(st->how);
  s->stage_ctx = NULL;
  s->stage_stop = NULL;
  s->stage_progress = NULL;
  free(st);
}

static void resolver_closed(void *handle) {
  struct trstage *st = tw_data(handle);
  struct scan *s = st->s;
  attach_names(st);
  tr_free(st);
  scan_next(s);
}

static void ptr_pump(struct trstage *st);

struct ptrq {
  struct trstage *st;
  size_t k;
};

static void on_ptr_q(tw_req *req, int status, const char *name, void *data) {
  (void)req;
  struct ptrq *q = data;
  struct trstage *st = q->st;
  st->inflight--;
  if (status == 0 && name && *name && !st->names[q->k].name)
    st->names[q->k].name = strdup(name);
  free(q);
  ptr_pump(st);
}

static void ptr_pump(struct trstage *st) {
  while (st->inflight < TR_PARALLEL_PTR && st->next < st->nnames && !st->s->interrupted) {
    size_t k = st->next++;
    struct ptrq *q = malloc(sizeof *q);
    if (!q) break;
    *q = (struct ptrq){st, k};
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (st->names[k].a.family == AF_INET6) {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = st->names[k].a.v6;
    } else {
      struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
      sin->sin_family = AF_INET;
      sin->sin_addr = st->names[k].a.v4;
    }
    if (resolve_reverse(st->s, st->r, (struct sockaddr *)&ss, on_ptr_q, q) < 0) {
      free(q);
      continue;
    }
    st->inflight++;
  }
  if (st->inflight == 0 && !tw_is_closing(st->r)) tw_close(st->r, resolver_closed);
}

/* ---- 5. end ----------------------------------------------------------------- */

static void tr_end(tw_timer *t, int status) {
  struct trstage *st = tw_data(t);
  if (status < 0) return;
  struct scan *s = st->s;
  int err = 0;
  for (uint32_t i = 0; i < st->n && err == 0; i++) err = keep(st, i);
  if (s->o->debug) {
    const struct hoptrace_stats *hs = hoptrace_stats(st->ht);
    fprintf(stderr,
            "trawl: traceroute: %u hosts in %.3fs: %llu probes, %llu replies, %llu shared, "
            "%llu malformed, %llu unsolicited, %llu duplicates\n",
            st->n, (double)(tw_hrtime() - st->start_ns) / 1e9, (unsigned long long)hs->sent,
            (unsigned long long)hs->replies, (unsigned long long)hs->shared,
            (unsigned long long)hs->malformed, (unsigned long long)hs->unsolicited,
            (unsigned long long)hs->duplicates);
  }
  s->malformed += hoptrace_stats(st->ht)->malformed;
  s->probes_sent += hoptrace_stats(st->ht)->sent;
  if (err < 0) scan_fail(s, "out of memory keeping traceroute results");
  /* 4. names: every hop of every host, once */
  if (err == 0 && s->o->dns != DNS_NEVER && !s->interrupted) {
    for (uint32_t i = 0; i < st->n && err == 0; i++) {
      struct host_result *r = scan_host(s, st->how[i].g);
      for (size_t k = 0; r && r->trace && k < r->trace->nhops && err == 0; k++)
        err = name_add(st, r->trace->hops[k].addr);
    }
    if (err == 0 && st->nnames > 0 && resolve_resolver_new(s, &st->r, 2, 1000000000ull, st) == 0) {
      ptr_pump(st);
      return;
    }
  }
  tr_free(st);
  scan_next(s);
}

static void tr_done(void *ud) {
  struct trstage *st = ud;
  tw_timer_start(st->end, tr_end, 0, 0);
}

static void tr_stop(void *ctx) {
  struct trstage *st = ctx;
  if (st->ht) hoptrace_stop(st->ht);
}

static double tr_progress(const void *ctx) {
  const struct trstage *st = ctx;
  return st->ht ? hoptrace_progress(st->ht) : 1.0;
}

/* ---- 2. probe --------------------------------------------------------------- */

int traceroute_start(struct scan *s) {
  if (!s->raw || (!s->rs4 && !s->rs6) || s->nhosts == 0) return 0;
  struct trstage *st = calloc(1, sizeof *st);
  if (!st) return -ENOMEM;
  st->s = s;
  st->start_ns = tw_hrtime();
  st->tg = calloc(s->nhosts, sizeof *st->tg);
  st->how = calloc(s->nhosts, sizeof *st->how);
  int err = st->tg && st->how ? tw_timer_new(s->loop, &st->end, st) : -ENOMEM;
  for (uint32_t i = 0; i < s->nhosts && err == 0; i++) {
    struct ghost *g = &s->hosts[i];
    if (!g->up || g->timedout) continue;
    if (g->addr.family == AF_INET6 ? !s->rs6 : !s->rs4) continue;
    if (tw_pkt_addr_eq(&g->addr, scan_src(s, i))) continue; /* ourselves */
    struct host_result *r = scan_settled_host(s, i);
    if (!r) {
      err = -ENOMEM;
      break;
    }
    struct hoptrace_target *t = &st->tg[st->n];
    t->dst = g->addr;
    t->src = *scan_src(s, i);
    const struct options *o = s->o;
    traceroute_choose(r, o->ps.n ? o->ps.v[0] : 0, o->pa.n ? o->pa.v[0] : 0,
                      o->pu.n ? o->pu.v[0] : 0, t);
    st->how[st->n].g = i;
    if (g->link) {
      t->dist = 1;
      st->how[st->n].direct = true;
    }
    st->n++;
  }
  struct engine_config c;
  timing_engine_config(s->o, 0, &c);
  struct hoptrace_cfg hc = {0};
  hc.loop = s->loop;
  hc.rs4 = s->rs4;
  hc.rs6 = s->rs6;
  hc.key = &s->key;
  hc.sport_lo = s->sport_lo;
  hc.sport_hi = s->sport_hi;
  hc.srcs = s->srcs;
  hc.nsrcs = s->nsrcs;
  hc.timeout_ns = c.rtt_init_ns;
  hc.min_timeout_ns = c.rtt_min_ns;
  hc.tries = 2;
  hc.window = 3;
  hc.done = tr_done;
  hc.ud = st;
  if (err == 0 && st->n > 0 && (err = hoptrace_new(&st->ht, &hc, st->tg, st->n)) == 0)
    err = hoptrace_start(st->ht);
  if (err < 0 || st->n == 0) {
    tr_free(st);
    return err;
  }
  s->stage_ctx = st;
  s->stage_stop = tr_stop;
  s->stage_progress = tr_progress;
  return 1;
}
