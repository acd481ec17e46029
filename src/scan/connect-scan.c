/* connect-scan.c: the connect() scan stage (-sT), for when raw packets are
 * not allowed. The kernel does the handshake through libtrawl's TCP
 * handles, many at once in the same loop:
 *
 *   connected            -> open (syn-ack)
 *   connection refused   -> closed (conn-refused)
 *   no answer            -> filtered (no-response), after the retries
 *   unreachable          -> filtered (host-unreach / net-unreach)
 *
 * Pairs are taken in the same pseudo-random order as raw scans; how many
 * connections are open at once follows the timing template, bounded by
 * the file descriptors the process may have.
 *
 * With root, the scan also has packet captures open, and each connection
 * gets a dispatcher waiter for ICMP errors quoting its SYN: sockets and
 * captures in the same loop. The kernel itself ignores an ICMP error that
 * arrives while connect() still holds the socket (on a fast path the
 * first one does), and reports only the next, a retransmission later. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "probe/probe.h"
#include "scan/scan.h"
#include "scan/verbose.h"

struct retry {
  uint32_t h;
  uint16_t p;
  uint8_t tries;
};

struct cstage {
  struct scan *s;
  const uint16_t *ports;
  uint32_t nports;
  uint32_t nhosts;
  struct permute perm;
  int perm_done;
  unsigned inflight, max_inflight;
  struct retry *retries;
  size_t nretries, capretries;
  int max_retries;
  uint64_t timeout_ns, min_ns, max_ns, srtt_ns;
  struct ratectl rc;
  tw_timer *tick;
  uint64_t sent, answered;
  bool finished;
  bool discovery; /* host discovery: any answer means up, then stop */
};

struct conn {
  struct cstage *cs;
  uint32_t h;
  uint16_t p;
  uint8_t tries;
  uint64_t start_ns;
  tw_tcp *t;
  tw_req *icmp;  /* waiter for ICMP errors about this connection */
  int refs;      /* the connection and the waiter */
  bool decided;  /* an ICMP error gave the port's state */
};

static void release(struct conn *c) {
  if (--c->refs == 0) free(c);
}

static void pump(struct cstage *cs);

static void finish(struct cstage *cs) {
  struct scan *s = cs->s;
  if (cs->finished) return;
  cs->finished = true;
  s->probes_sent += cs->sent;
  verbose_pass_end(s, cs->discovery ? "discovery" : "connect", cs->nhosts, cs->nports);
  if (s->o->debug)
    fprintf(stderr, "trawl: connect pass: %llu connects, %llu answered\n",
            (unsigned long long)cs->sent, (unsigned long long)cs->answered);
  tw_close(cs->tick, NULL);
  free(cs->retries);
  s->stage_ctx = NULL;
  free(cs);
  scan_next(s);
}

static void record(struct cstage *cs, const struct conn *c, enum port_state st, const char *why) {
  struct scan *s = cs->s;
  if (cs->discovery) {
    /* Connected or refused: something answered, the host is up. */
    if ((st == PORT_OPEN || st == PORT_CLOSED) && !s->hosts[c->h].up) {
      s->hosts[c->h].up = true;
      struct host_result *r = scan_host(s, c->h);
      if (r) host_set_reason(r, HOST_UP, why, 0);
    }
    return;
  }
  if (strcmp(why, "no-response") == 0) scan_port_timeout(s, s->live_idx[c->h], PROTO_TCP, cs->ports[c->p], st);
  else scan_port(s, s->live_idx[c->h], PROTO_TCP, cs->ports[c->p], st, why, 0);
}

static const tw_pkt_addr *target(const struct cstage *cs, uint32_t h) {
  return cs->discovery ? &cs->s->hosts[h].addr : &cs->s->live[h];
}

static void on_connect(tw_tcp *t, int status) {
  struct conn *c = tw_data(t);
  struct cstage *cs = c->cs;
  tw_close(t, NULL);
  c->t = NULL;
  cs->inflight--;
  if (c->icmp) tw_cancel(c->icmp);
  if (c->decided) {
    release(c);
    pump(cs);
    return;
  }
  if (status == -ECANCELED || cs->finished) {
    release(c);
    return;
  }
  uint64_t rtt = tw_hrtime() - c->start_ns;
  switch (status) {
  case 0:
  case -ECONNREFUSED:
    cs->answered++;
    /* Answers say how long to wait for the others: a few times the
     * smoothed round trip, within the template's bounds. */
    cs->srtt_ns = cs->srtt_ns ? (7 * cs->srtt_ns + rtt) / 8 : rtt;
    cs->timeout_ns = cs->srtt_ns * 4 > cs->min_ns ? cs->srtt_ns * 4 : cs->min_ns;
    if (cs->timeout_ns > cs->max_ns) cs->timeout_ns = cs->max_ns;
    if (status == 0) record(cs, c, PORT_OPEN, "syn-ack");
    else record(cs, c, PORT_CLOSED, "conn-refused");
    break;
  case -EHOSTUNREACH:
    record(cs, c, PORT_FILTERED, "host-unreach");
    break;
  case -EACCES: /* ICMPv6 administratively prohibited */
  case -EPERM:
    record(cs, c, PORT_FILTERED, "admin-prohibited");
    break;
  case -ENETUNREACH:
    record(cs, c, PORT_FILTERED, "net-unreach");
    break;
  case -ETIMEDOUT:
  default:
    /* Out of local ports or descriptors is our problem, not the port's:
     * try again without counting it. */
    if (status != -ETIMEDOUT || c->tries <= cs->max_retries) {
      if (cs->nretries == cs->capretries) {
        size_t cap = cs->capretries ? cs->capretries * 2 : 256;
        struct retry *r = realloc(cs->retries, cap * sizeof *r);
        if (!r) {
          record(cs, c, PORT_FILTERED, "no-response");
          break;
        }
        cs->retries = r;
        cs->capretries = cap;
      }
      uint8_t tries = status == -ETIMEDOUT ? (uint8_t)(c->tries + 1) : c->tries;
      cs->retries[cs->nretries++] = (struct retry){c->h, c->p, tries};
    } else {
      record(cs, c, PORT_FILTERED, "no-response");
    }
    break;
  }
  release(c);
  pump(cs);
}

/* An ICMP error quoting the connection's SYN: the port is filtered, with
 * the error's reason (and TTL), at once. */
static void on_icmp(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct conn *c = data;
  if (status < 0) {
    c->icmp = NULL;
    release(c);
    return;
  }
  if (!rx->quoted || c->decided || !c->t) return;
  c->decided = true;
  struct cstage *cs = c->cs;
  if (cs->discovery) {
    /* an error from the host itself still says it is there */
    if (tw_pkt_addr_eq(&rx->src, &rx->q_dst)) record(cs, c, PORT_CLOSED, probe_icmp_reason(rx));
  } else {
    scan_port(cs->s, cs->s->live_idx[c->h], PROTO_TCP, cs->ports[c->p], PORT_FILTERED,
              probe_icmp_reason(rx), rx->ttl);
  }
  tw_close(c->t, NULL); /* on_connect runs with -ECANCELED */
}

static void watch_errors(struct cstage *cs, struct conn *c, const tw_pkt_addr *a, uint16_t port) {
  struct sockaddr_storage me;
  if (tw_tcp_sockname(c->t, &me) < 0) return;
  tw_match m = {0};
  m.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST | TW_M_SPORT | TW_M_DPORT;
  m.proto = IPPROTO_TCP;
  m.src = *a;
  m.sport = port;
  if (me.ss_family == AF_INET6) {
    tw_pkt_addr_set6(&m.dst, &((struct sockaddr_in6 *)&me)->sin6_addr);
    m.dport = ntohs(((struct sockaddr_in6 *)&me)->sin6_port);
  } else {
    tw_pkt_addr_set4(&m.dst, ((struct sockaddr_in *)&me)->sin_addr);
    m.dport = ntohs(((struct sockaddr_in *)&me)->sin_port);
  }
  if (tw_wait(cs->s->loop, &c->icmp, &m, TW_WAIT_ERRORS, 0, on_icmp, c) == 0) c->refs++;
  else c->icmp = NULL;
}

static int start_one(struct cstage *cs, uint32_t h, uint16_t p, uint8_t tries) {
  struct scan *s = cs->s;
  struct conn *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  *c = (struct conn){cs, h, p, tries, tw_hrtime(), NULL, NULL, 1, false};
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  const tw_pkt_addr *a = target(cs, h);
  if (a->family == AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = a->v6;
    sin6->sin6_port = htons(cs->ports[p]);
  } else {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_addr = a->v4;
    sin->sin_port = htons(cs->ports[p]);
  }
  tw_tcp *t;
  int err = tw_tcp_new(s->loop, &t, c);
  if (err < 0) {
    free(c);
    return err;
  }
  err = tw_tcp_connect(t, (struct sockaddr *)&ss, cs->timeout_ns, on_connect);
  if (err < 0) {
    tw_close(t, NULL);
    free(c);
    return err;
  }
  c->t = t;
  if (s->raw && s->nifs > 0) watch_errors(cs, c, a, cs->ports[p]);
  cs->inflight++;
  cs->sent++;
  return 0;
}

/* Start connections while the window, the rate and the work allow. */
static void pump(struct cstage *cs) {
  struct scan *s = cs->s;
  if (cs->finished) return;
  if (s->interrupted || s->group_timed_out) {
    if (cs->inflight == 0) finish(cs);
    return;
  }
  uint64_t budget = ratectl_budget(&cs->rc, tw_hrtime()), used = 0;
  while (cs->inflight < cs->max_inflight && used < budget) {
    uint32_t h;
    uint16_t p;
    uint8_t tries;
    if (cs->nretries) {
      struct retry r = cs->retries[--cs->nretries];
      h = r.h;
      p = r.p;
      tries = r.tries;
    } else if (!cs->perm_done) {
      uint64_t idx;
      if (permute_next(&cs->perm, &idx) != 1) {
        cs->perm_done = 1;
        continue;
      }
      h = (uint32_t)(idx / cs->nports);
      p = (uint16_t)(idx % cs->nports);
      tries = 1;
    } else {
      break;
    }
    if (cs->discovery && s->hosts[h].up) continue;
    if (start_one(cs, h, p, tries) < 0) {
      /* cannot even create a socket now: put it back, try on the tick */
      if (cs->nretries < cs->capretries) cs->retries[cs->nretries++] = (struct retry){h, p, tries};
      else record(cs, &(struct conn){cs, h, p, tries, 0, NULL, NULL, 0, false}, PORT_FILTERED, "no-response");
      break;
    }
    used++;
  }
  ratectl_spend(&cs->rc, used);
  if (cs->perm_done && cs->nretries == 0 && cs->inflight == 0) finish(cs);
}

static void tick(tw_timer *t, int status) {
  if (status == 0) pump(tw_data(t));
}

static int start_stage(struct scan *s, bool discovery) {
  struct options *o = s->o;
  static const uint16_t disc_ports[2] = {80, 443};
  uint32_t nhosts = discovery ? s->nhosts : s->nlive;
  struct cstage *cs = calloc(1, sizeof *cs);
  if (!cs) return -ENOMEM;
  cs->s = s;
  cs->discovery = discovery;
  cs->ports = discovery ? disc_ports : o->ports.ports[PROTO_TCP];
  cs->nports = discovery ? 2 : (uint32_t)o->ports.n[PROTO_TCP];
  struct engine_config c;
  timing_engine_config(s->o, s->o->packet_trace ? s->start_ns : 0, &c);
  cs->max_retries = c.max_retries > 2 ? 2 : c.max_retries;
  cs->min_ns = c.rtt_min_ns;
  cs->max_ns = c.rtt_max_ns;
  cs->timeout_ns = c.rtt_init_ns;
  /* Parallel connections: by template (timing.c), and never more than
   * the descriptors we may open (raised to the hard limit first). */
  cs->max_inflight = timing_fd_cap(timing_connect_parallelism(o));
  double rate = o->max_rate > 0 ? o->max_rate : 1e9;
  if (c.scan_delay_ns) rate = 1e9 / (double)c.scan_delay_ns;
  ratectl_init(&cs->rc, rate, rate, rate, tw_hrtime());
  int err = o->ports_in_order
                ? permute_init_ordered(&cs->perm, nhosts, cs->nports, o->shards ? o->shards : 1,
                                       o->shards ? o->shard : 0)
                : permute_init(&cs->perm, (uint64_t)nhosts * cs->nports, o->seed,
                               o->shards ? o->shards : 1, o->shards ? o->shard : 0);
  if (err < 0 || (err = tw_timer_new(s->loop, &cs->tick, cs)) < 0) {
    free(cs);
    return err;
  }
  tw_timer_start(cs->tick, tick, 1000000ull, 1000000ull);
  s->stage_ctx = cs;
  cs->nhosts = nhosts;
  verbose_pass_begin(s, discovery ? "discovery" : "connect", nhosts, cs->nports,
                     discovery || nhosts == 0 ? 0 : s->live_idx[0]);
  pump(cs);
  return 1;
}

int stage_connect(struct scan *s) {
  if (s->o->ports.n[PROTO_TCP] == 0 || s->nlive == 0) return 0;
  return start_stage(s, false);
}

/* Without raw packets, discovery is what Nmap does unprivileged: a
 * connect() to ports 80 and 443; an accept or a refusal means up. */
int stage_connect_discovery(struct scan *s) {
  if (s->nhosts == 0) return 0;
  return start_stage(s, true);
}
