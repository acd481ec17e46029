/* os-stage.c: the -O stage of a host group (a row of scan/stage.c, after
 * version detection). Every live host is fingerprinted in parallel (up to
 * OSS_PARALLEL at once), each on its own timer in the one loop:
 *
 *   1. ports    an open and a closed TCP port and a closed UDP port from
 *               the port scan's verdicts; a random high port stands in for
 *               a closed one that is not known. Without an open port the
 *               probes to it (SEQ, ECN, T2-T4) are not sent, as in Nmap.
 *               Either TCP port missing makes the fingerprint unfit for
 *               submission. --osscan-limit skips hosts without both.
 *   2. try      SEQ1-SEQ6 100 ms apart, then ECN, T2-T7, U1, IE1 and IE2;
 *               the host's waiters (TCP, UDP errors, ICMP from it to us)
 *               feed os_try_input(); after a wait of a few round trips
 *               (bounded by the timing template's RTT timeouts) unanswered
 *               probes other than SEQ are sent again, OSS_RESENDS times.
 *   3. judge    the try's fingerprint is matched (os/match.h); the best try
 *               so far is kept. An exact match ends the host; else another
 *               try, up to --max-os-tries (5) when the fingerprint is unfit
 *               for submission, 2 when it is fit, as Nmap does. Unfit: an
 *               open or closed TCP port missing, -T5, more than five hops,
 *               or no answer to U1.
 *   4. report   the best try becomes the host's struct os_result
 *               (os-report.h) and, when the U1 quote told it, its distance.
 *   4b. ports   --osscan-per-port: then one try to each other open TCP port
 *               (up to OS_PERPORT_MAX), and the ports grouped by the stack
 *               that answers them (os-perport.h): a host script result.
 *   5. end      when no host is left the stage frees itself on the next
 *               loop pass and the scan goes on (scan_next).
 * A host's state is freed only when its waiters' last callbacks have run. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>

#include "core/os-result.h"
#include "os/match.h"
#include "os/os-perport.h"
#include "os/os-report.h"
#include "os/fp-seq.h"
#include "os/os-try.h"
#include "scan/scan.h"

#define OSS_PARALLEL 256
#define OSS_RESENDS 2
#define OSS_SEQ_GAP_NS 100000000ull /* 100 ms between SEQ probes */
#define OSS_NWAIT 3
#define OSS_TTL 64
#define OSS_FIT_TRIES 2
#define MS 1000000ull

struct os_stage;

/* The heavy part of a running host: its try and its best try so far. */
struct os_work {
  struct os_try t;
  struct os_fp fp, best;
  struct os_seq_in seq, best_seq;
  struct os_match_result best_res;
  uint32_t best_score;
  int best_hops, best_synack_ttl, best_closed_ttl;
  bool have_best, best_unfit;
  struct os_port_obs obs[OS_PERPORT_MAX]; /* --osscan-per-port */
};

struct os_host {
  struct os_stage *st;
  uint32_t h;                  /* index in s->hosts */
  struct os_probe_params base; /* addresses and ports */
  struct os_portused ot, ct, cu;
  struct os_work *w;
  tw_timer *timer;
  tw_req *wait[OSS_NWAIT];
  int nwait;                   /* waiters whose last callback has not run */
  int tries, next_seq, rounds;
  uint16_t pports[OS_PERPORT_MAX]; /* --osscan-per-port: open TCP ports, ascending */
  int npports, pport;              /* pport: the port's try running, 0: the main tries */
  int hops;                    /* known before any try: 0 on our link, else -1 */
  bool unfit, running, finished;
};

struct os_stage {
  struct scan *s;
  struct os_host *hosts;
  uint32_t n, next, running, done;
  tw_timer *end;
  uint64_t start_ns, rng;
  bool stopping, starting;
  char platform[96];
};

static uint32_t oss_rand(struct os_stage *st) {
  /* xorshift64*: enough to vary ports, sequence numbers and IDs */
  st->rng ^= st->rng >> 12;
  st->rng ^= st->rng << 25;
  st->rng ^= st->rng >> 27;
  return (uint32_t)((st->rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static void oss_start_next(struct os_stage *st);
static void oss_timer(tw_timer *t, int status);
static void oss_end(tw_timer *t, int status);
static uint64_t oss_wait_ns(const struct os_host *oh);

static void oss_send(struct os_host *oh, enum os_probe_id id) {
  struct scan *s = oh->st->s;
  uint8_t buf[OS_PROBE_MAX];
  int n = os_try_send(&oh->w->t, id, tw_hrtime(), buf, sizeof buf);
  if (n < 0 || !s->rs4) return;
  if (tw_rawsend(s->rs4, buf, (size_t)n, NULL, NULL) == 0) s->probes_sent++;
}

/* 2. a new try: fresh source ports, sequence numbers and IDs */
static void oss_start_try(struct os_host *oh) {
  struct os_stage *st = oh->st;
  struct os_probe_params pp = oh->base;
  pp.sport_base = (uint16_t)(32768 + oss_rand(st) % (65535 - 32768 - OS_NPROBES));
  pp.seq_base = oss_rand(st);
  pp.ack = oss_rand(st);
  pp.ipid_base = (uint16_t)oss_rand(st);
  pp.icmp_id = (uint16_t)oss_rand(st);
  pp.ttl = OSS_TTL;
  os_try_init(&oh->w->t, &pp);
  oh->rounds = 0;
  if (!oh->ot.set) { /* no open port: only the closed-port, UDP and ICMP probes, as Nmap */
    for (int id = OS_P_T5; id < OS_NPROBES; id++) oss_send(oh, (enum os_probe_id)id);
    oh->next_seq = OS_SEQ_PROBES + 1;
    tw_timer_start(oh->timer, oss_timer, oss_wait_ns(oh), 0);
    return;
  }
  oss_send(oh, OS_P_SEQ1);
  oh->next_seq = 1;
  tw_timer_start(oh->timer, oss_timer, OSS_SEQ_GAP_NS, 0);
}

/* How long to wait for the answers of a round. */
static uint64_t oss_wait_ns(const struct os_host *oh) {
  const struct options *o = oh->st->s->o;
  uint64_t rtt = os_try_max_rtt(&oh->w->t);
  uint64_t w = rtt ? 4 * rtt : o->initial_rtt_ms * MS;
  if (w < o->min_rtt_ms * MS) w = o->min_rtt_ms * MS;
  if (w > o->max_rtt_ms * MS) w = o->max_rtt_ms * MS;
  return w;
}

static void oss_release(struct os_host *oh) {
  if (oh->nwait > 0 || !oh->finished) return;
  free(oh->w);
  oh->w = NULL;
  if (oh->timer) tw_close(oh->timer, NULL);
  oh->timer = NULL;
}

/* RFC 1918 space */
static int oss_private(const tw_pkt_addr *a) {
  const uint8_t *b = a->b;
  return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168);
}

/* 4. the best try becomes the host's result */
static void oss_report(struct os_host *oh) {
  struct os_stage *st = oh->st;
  struct scan *s = st->s;
  struct os_work *w = oh->w;
  struct host_result *r = scan_host(s, oh->h);
  if (!r || !w->have_best || st->stopping) return;
  struct os_result *res = os_result_new();
  if (!res) {
    scan_fail(s, "out of memory keeping an OS detection result");
    return;
  }
  struct os_report_ctx c = {s->osdb, s->o->osscan_guess, w->best_unfit, w->best_hops,
                            oh->hops == 0 ? 'D' : 'I', oh->ot, oh->ct, oh->cu,
                            (int64_t)time(NULL), st->platform, &w->best_seq,
                            oss_private(&oh->base.dst), 0, {0}};
  if (r->has_mac) {
    c.has_mac = 1;
    memcpy(c.mac, r->mac, sizeof c.mac);
  }
  res->unreliable = !oh->ot.set || !oh->ct.set;
  res->tries = oh->tries;
  if (os_report_fill(res, &c, &w->best, &w->best_res) < 0) {
    os_result_free(res);
    scan_fail(s, "out of memory keeping an OS detection result");
    return;
  }
  os_result_free(r->os);
  r->os = res;
  if (oh->pport > 0) {
    unsigned ng = os_perport_group(w->obs, (size_t)oh->pport);
    if (os_perport_report(r, w->obs, (size_t)oh->pport, ng) < 0)
      scan_fail(s, "out of memory keeping an OS detection result");
  }
  if (r->distance < 0 && w->best_hops >= 0) r->distance = w->best_hops + 1;
}

static void oss_finish_host(struct os_host *oh) {
  struct os_stage *st = oh->st;
  if (oh->finished) return;
  oh->finished = true;
  if (oh->running) {
    oh->running = false;
    st->running--;
    if (oh->w) {
      oss_report(oh);
      os_match_result_free(&oh->w->best_res);
    }
  }
  tw_timer_stop(oh->timer);
  for (int k = 0; k < OSS_NWAIT; k++)
    if (oh->wait[k]) tw_cancel(oh->wait[k]);
  st->done++;
  oss_release(oh);
  if (!st->stopping) oss_start_next(st);
  if (st->done == st->n) tw_timer_start(st->end, oss_end, 0, 0);
}

/* The best match of a per-port try. */
static void oss_perport_best(struct os_port_obs *o, const struct osdb *db,
                             const struct os_match_result *res) {
  if (res->n == 0) return;
  snprintf(o->best, sizeof o->best, "%s", osdb_str(db, osdb_entry(db, res->m[0].entry)->name));
  o->accuracy = (int)(os_match_accuracy(&res->m[0]) * 100.0 + 1e-9);
}

static void oss_perport_next(struct os_host *oh) {
  oh->base.open_port = oh->pports[oh->pport];
  oss_start_try(oh);
}

/* 3. the try is over: keep it if it is the best, then decide */
static void oss_judge(struct os_host *oh) {
  struct scan *s = oh->st->s;
  struct os_work *w = oh->w;
  int hops;
  os_try_fingerprint(&w->t, oh->hops, &w->fp, &hops, &w->seq);
  struct os_match_result res;
  if (os_match_all(s->osdb, &w->fp, &res) < 0) {
    scan_fail(s, "out of memory matching an OS fingerprint");
    oss_finish_host(oh);
    return;
  }
  if (oh->pport > 0) { /* --osscan-per-port: one try for each other open port */
    os_perport_observe(&w->obs[oh->pport], oh->pports[oh->pport], &w->fp,
                       os_try_reply_ttl(&w->t, OS_P_SEQ1));
    os_perport_observe_seq(&w->obs[oh->pport], &w->fp, &w->seq, os_try_reply_ttl(&w->t, OS_P_T5));
    oss_perport_best(&w->obs[oh->pport], s->osdb, &res);
    os_match_result_free(&res);
    if (++oh->pport < oh->npports) oss_perport_next(oh);
    else oss_finish_host(oh);
    return;
  }
  oh->tries++;
  /* Nmap's other reasons a fingerprint is not fit for submission: the
   * insane timing, more than five hops, no answer to U1 */
  bool unfit = oh->unfit || s->o->timing >= 5 || hops + 1 > 5 || !w->t.reply[OS_P_U1].got;
  uint32_t score = os_report_score(&res);
  if (!w->have_best || score > w->best_score) {
    os_match_result_free(&w->best_res);
    w->best_res = res;
    w->best = w->fp;
    w->best_seq = w->seq;
    w->best_score = score;
    w->best_hops = hops;
    w->best_unfit = unfit;
    w->best_synack_ttl = os_try_reply_ttl(&w->t, OS_P_SEQ1);
    w->best_closed_ttl = os_try_reply_ttl(&w->t, OS_P_T5);
    w->have_best = true;
  } else {
    os_match_result_free(&res);
  }
  if (s->o->debug)
    fprintf(stderr, "trawl: OS try %d of host %u: %u replies, best %.1f%%\n", oh->tries, oh->h,
            w->t.nreplies, score / 1e4);
  int max = (int)s->o->max_os_tries;
  if (!w->best_unfit && max > OSS_FIT_TRIES) max = OSS_FIT_TRIES;
  if (w->best_res.nexact == 0 && oh->tries < max) {
    oss_start_try(oh);
  } else if (oh->npports > 1) { /* the main answer is in: now port by port */
    os_perport_observe(&w->obs[0], oh->pports[0], &w->best, w->best_synack_ttl);
    os_perport_observe_seq(&w->obs[0], &w->best, &w->best_seq, w->best_closed_ttl);
    oss_perport_best(&w->obs[0], s->osdb, &w->best_res);
    oh->pport = 1;
    oss_perport_next(oh);
  } else {
    oss_finish_host(oh);
  }
}

static void oss_timer(tw_timer *t, int status) {
  struct os_host *oh = tw_data(t);
  if (status < 0 || oh->finished) return;
  if (oh->next_seq < OS_SEQ_PROBES) {
    oss_send(oh, (enum os_probe_id)(OS_P_SEQ1 + oh->next_seq));
    oh->next_seq++;
    tw_timer_start(oh->timer, oss_timer, OSS_SEQ_GAP_NS, 0);
    return;
  }
  if (oh->next_seq == OS_SEQ_PROBES) {
    for (int id = OS_P_ECN; id < OS_NPROBES; id++) oss_send(oh, (enum os_probe_id)id);
    oh->next_seq++;
    tw_timer_start(oh->timer, oss_timer, oss_wait_ns(oh), 0);
    return;
  }
  uint32_t again = os_try_unanswered(&oh->w->t) & ~((1u << OS_SEQ_PROBES) - 1);
  if (again && oh->rounds < OSS_RESENDS) {
    oh->rounds++;
    for (int id = OS_P_ECN; id < OS_NPROBES; id++)
      if (again & (1u << id)) oss_send(oh, (enum os_probe_id)id);
    tw_timer_start(oh->timer, oss_timer, oss_wait_ns(oh), 0);
    return;
  }
  oss_judge(oh);
}

static void oss_rx(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct os_host *oh = data;
  if (status < 0) { /* the waiter's last callback */
    oh->nwait--;
    for (int k = 0; k < OSS_NWAIT; k++)
      if (oh->wait[k] == req) oh->wait[k] = NULL;
    oss_release(oh);
    return;
  }
  if (oh->finished || !oh->w) return;
  const tw_frame *f = rx->frame;
  os_try_input(&oh->w->t, f->data, f->caplen, f->linktype, tw_hrtime());
}

/* 1. the ports and the waiters of one host; then its first try */
static int oss_start_host(struct os_host *oh) {
  struct os_stage *st = oh->st;
  struct scan *s = st->s;
  struct ghost *g = &s->hosts[oh->h];
  struct host_result *r = scan_settled_host(s, oh->h);
  if (r) {
    for (size_t k = 0; k < r->nports; k++) {
      const struct port_result *p = &r->ports[k];
      struct os_portused *u = NULL;
      if (p->proto == PROTO_TCP && p->state == PORT_OPEN) u = &oh->ot;
      else if (p->proto == PROTO_TCP && p->state == PORT_CLOSED) u = &oh->ct;
      else if (p->proto == PROTO_UDP && p->state == PORT_CLOSED) u = &oh->cu;
      if (u && (!u->set || p->portid < u->port)) { /* the lowest, as Nmap picks */
        u->set = true;
        u->port = p->portid;
      }
    }
  }
  if (r && s->o->osscan_per_port) /* the open TCP ports, lowest first */
    for (size_t k = 0; k < r->nports; k++) {
      const struct port_result *p = &r->ports[k];
      if (p->proto != PROTO_TCP || p->state != PORT_OPEN || oh->npports == OS_PERPORT_MAX) continue;
      int j = oh->npports++;
      while (j > 0 && oh->pports[j - 1] > p->portid) {
        oh->pports[j] = oh->pports[j - 1];
        j--;
      }
      oh->pports[j] = p->portid;
    }
  if (s->o->osscan_limit && (!oh->ot.set || !oh->ct.set)) return 0;
  oh->unfit = !oh->ot.set || !oh->ct.set;
  oh->hops = g->link ? 0 : -1;
  oh->base.src = *scan_src(s, oh->h);
  oh->base.dst = g->addr;
  oh->base.open_port = oh->ot.set ? oh->ot.port : (uint16_t)(1024 + oss_rand(st) % 30000);
  oh->base.closed_port = oh->ct.set ? oh->ct.port : (uint16_t)(31000 + oss_rand(st) % 30000);
  oh->base.closed_uport = oh->cu.set ? oh->cu.port : (uint16_t)(31000 + oss_rand(st) % 30000);
  /* the stand-ins are reported as the ports used, as Nmap does */
  if (!oh->ct.set) oh->ct = (struct os_portused){true, oh->base.closed_port};
  if (!oh->cu.set) oh->cu = (struct os_portused){true, oh->base.closed_uport};
  if (!(oh->w = calloc(1, sizeof *oh->w))) return -ENOMEM;
  int err = tw_timer_new(s->loop, &oh->timer, oh);
  if (err < 0) return err;
  static const uint8_t protos[OSS_NWAIT] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
  for (int k = 0; k < OSS_NWAIT; k++) {
    tw_match m;
    memset(&m, 0, sizeof m);
    m.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST;
    m.proto = protos[k];
    m.src = oh->base.dst;
    m.dst = oh->base.src;
    /* the port unreachable quoting U1 comes through the UDP waiter */
    unsigned flags = protos[k] == IPPROTO_UDP ? TW_WAIT_ERRORS : 0;
    if ((err = tw_wait(s->loop, &oh->wait[k], &m, flags, 0, oss_rx, oh)) < 0) return err;
    oh->nwait++;
  }
  oh->running = true;
  st->running++;
  oss_start_try(oh);
  return 1;
}

static void oss_start_next(struct os_stage *st) {
  if (st->starting) return; /* a host that could not start finishes in here */
  st->starting = true;
  while (st->running < OSS_PARALLEL && st->next < st->n) {
    struct os_host *oh = &st->hosts[st->next++];
    int r = oss_start_host(oh);
    if (r <= 0) {
      if (r < 0) scan_fail(st->s, "cannot start OS detection: %s", tw_strerror(r));
      oss_finish_host(oh);
    }
  }
  st->starting = false;
}

/* 5. every host is done */
static void oss_end(tw_timer *t, int status) {
  struct os_stage *st = tw_data(t);
  if (status < 0) return;
  for (uint32_t i = 0; i < st->n; i++)
    if (st->hosts[i].w || st->hosts[i].nwait > 0) { /* a waiter's last callback is due */
      tw_timer_start(st->end, oss_end, MS, 0);
      return;
    }
  struct scan *s = st->s;
  if (s->o->debug)
    fprintf(stderr, "trawl: OS detection: %u hosts in %.3fs\n", st->n,
            (double)(tw_hrtime() - st->start_ns) / 1e9);
  tw_close(st->end, NULL);
  free(st->hosts);
  s->stage_ctx = NULL;
  s->stage_stop = NULL;
  s->stage_progress = NULL;
  free(st);
  scan_next(s);
}

static void oss_stop(void *ctx) {
  struct os_stage *st = ctx;
  st->stopping = true;
  for (uint32_t i = 0; i < st->n; i++)
    if (!st->hosts[i].finished) oss_finish_host(&st->hosts[i]);
  tw_timer_start(st->end, oss_end, 0, 0);
}

static double oss_progress(const void *ctx) {
  const struct os_stage *st = ctx;
  return st->n ? (double)st->done / (double)st->n : 1.0;
}

int stage_os(struct scan *s) {
  if (!s->osdb || !s->raw || !s->rs4 || s->nhosts == 0) return 0;
  struct os_stage *st = calloc(1, sizeof *st);
  if (!st) return -ENOMEM;
  st->s = s;
  st->start_ns = tw_hrtime();
  if (getrandom(&st->rng, sizeof st->rng, 0) != (ssize_t)sizeof st->rng || st->rng == 0)
    st->rng = st->start_ns | 1;
  struct utsname u;
  snprintf(st->platform, sizeof st->platform, "%s-pc-linux-gnu",
           uname(&u) == 0 ? u.machine : "unknown");
  st->hosts = calloc(s->nhosts, sizeof *st->hosts);
  int err = st->hosts ? tw_timer_new(s->loop, &st->end, st) : -ENOMEM;
  if (err < 0) {
    free(st->hosts);
    free(st);
    return err;
  }
  for (uint32_t i = 0; i < s->nhosts; i++) {
    struct ghost *g = &s->hosts[i];
    if (!g->up || g->timedout || g->addr.family != AF_INET) continue;
    struct os_host *oh = &st->hosts[st->n++];
    oh->st = st;
    oh->h = i;
  }
  if (st->n == 0) {
    tw_close(st->end, NULL);
    free(st->hosts);
    free(st);
    return 0;
  }
  s->stage_ctx = st;
  s->stage_stop = oss_stop;
  s->stage_progress = oss_progress;
  oss_start_next(st);
  return 1;
}

int os_stage_load(struct scan *s) {
  char err[512];
  int r = osdb_load_default(&s->osdb, s->o->datadir, NULL, NULL, err, sizeof err);
  if (r < 0) fprintf(stderr, "trawl: %s\n", err);
  return r;
}
