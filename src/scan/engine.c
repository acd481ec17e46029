/* engine.c: the stateless transmit engine (see engine.h): a 1 ms pacing
 * tick that first re-sends overdue probes, then takes new ones from the
 * permutation, as far as the rate controller's budget and the outstanding
 * window allow.
 *
 * Tries, as Nmap counts them. A probe is not sent max_retries + 1 times
 * by default: each host may have as many re-sends as its highest answered
 * try + 1 (at least one, at most --max-retries). A host that answered
 * everything at the first try gets one re-send per silent port (two
 * probes, as Nmap sends to a filtered port); once it answers a re-send,
 * its limit grows, since its path loses packets. A probe at its host's
 * limit is not given up while the limit may still grow (the host has
 * pairs not yet sent, or probes not at the limit): it waits, timeout
 * after timeout, without a transmission ("held"), and is sent again if
 * the limit grows. It is given up when the limit can no longer grow, or
 * after as many timeouts as max_retries + 1 tries would take, so no port
 * waits longer than before. Per host: struct engine_host, 16 bytes, for
 * the pass's hosts only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/engine.h"
#include "cli/trace.h"

#define TICK_NS 1000000ull
#define NO_STASH UINT64_MAX

static size_t addr_hash(const tw_pkt_addr *a) {
  const uint8_t *b = a->b;
  size_t n = a->family == AF_INET6 ? 16 : 4;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return (size_t)(h ^ (h >> 29));
}

static int build_host_index(struct engine *e) {
  size_t cap = 16;
  while (cap < (size_t)e->nhosts * 2) cap <<= 1;
  e->hidx = malloc(cap * sizeof *e->hidx);
  if (!e->hidx) return -ENOMEM;
  memset(e->hidx, 0xff, cap * sizeof *e->hidx);
  e->hmask = cap - 1;
  for (uint32_t i = 0; i < e->nhosts; i++) {
    size_t s = addr_hash(&e->hosts[i]) & e->hmask;
    while (e->hidx[s] != UINT32_MAX) {
      if (tw_pkt_addr_eq(&e->hosts[e->hidx[s]], &e->hosts[i])) break; /* duplicate */
      s = (s + 1) & e->hmask;
    }
    if (e->hidx[s] == UINT32_MAX) e->hidx[s] = i;
  }
  return 0;
}

int64_t engine_host(const struct engine *e, const tw_pkt_addr *a) {
  if (!e->hidx) return -1;
  for (size_t s = addr_hash(a) & e->hmask; e->hidx[s] != UINT32_MAX; s = (s + 1) & e->hmask)
    if (tw_pkt_addr_eq(&e->hosts[e->hidx[s]], a)) return e->hidx[s];
  return -1;
}

static void update_rto(struct engine *e, uint64_t rtt) {
  if (e->srtt_ns == 0) {
    e->srtt_ns = rtt;
    e->rttvar_ns = rtt / 2;
  } else {
    uint64_t d = rtt > e->srtt_ns ? rtt - e->srtt_ns : e->srtt_ns - rtt;
    e->rttvar_ns = (3 * e->rttvar_ns + d) / 4;
    e->srtt_ns = (7 * e->srtt_ns + rtt) / 8;
  }
  uint64_t rto = e->srtt_ns + 4 * e->rttvar_ns;
  if (rto < e->cfg.rtt_min_ns) rto = e->cfg.rtt_min_ns;
  if (rto > e->cfg.rtt_max_ns) rto = e->cfg.rtt_max_ns;
  e->rto_ns = rto;
}

/* The same smoothing per host (RFC 6298's gains), for its reported latency. */
static void host_rtt(struct engine *e, uint32_t h, uint64_t rtt_ns) {
  struct engine_host *hs = &e->hs[h];
  uint64_t r = rtt_ns / 1000;
  if (r > UINT32_MAX) r = UINT32_MAX;
  if (hs->nrtt == 0) {
    hs->srtt_us = (uint32_t)r;
    hs->rttvar_us = (uint32_t)(r / 2);
  } else {
    uint64_t d = r > hs->srtt_us ? r - hs->srtt_us : hs->srtt_us - r;
    hs->rttvar_us = (uint32_t)((3 * (uint64_t)hs->rttvar_us + d) / 4);
    hs->srtt_us = (uint32_t)((7 * (uint64_t)hs->srtt_us + r) / 8);
  }
  if (hs->nrtt < UINT16_MAX) hs->nrtt++;
}

unsigned engine_host_rtt(const struct engine *e, uint32_t h, uint32_t *srtt_us,
                         uint32_t *rttvar_us) {
  if (!e->hs || h >= e->nhosts || e->hs[h].nrtt == 0) return 0;
  *srtt_us = e->hs[h].srtt_us;
  *rttvar_us = e->hs[h].rttvar_us;
  return e->hs[h].nrtt;
}

/* The transmissions a probe to host h may have (Tries, above). */
static unsigned tries_allowed(const struct engine *e, uint32_t h) {
  unsigned retx = (unsigned)e->hs[h].succ + 1, max = (unsigned)e->cfg.max_retries;
  return 1 + (retx < max ? retx : max);
}

/* May host h's limit still grow? Its pairs not yet sent, or a probe of
 * it other than `self` (the one being decided) not yet at the limit. */
static bool tries_may_grow(const struct engine *e, uint32_t h, const struct ost_entry *self) {
  const struct engine_host *x = &e->hs[h];
  if (!e->perm_done && x->unsent > 0) return true;
  int64_t active = (int64_t)x->inost - x->held - (self->held ? 0 : 1);
  return active > 0;
}

/* Host bookkeeping when a probe leaves the table (answered, given up). */
static void host_forget(struct engine *e, uint32_t h, const struct ost_entry *ent) {
  e->hs[h].inost--;
  if (ent->held) e->hs[h].held--;
}

int engine_answered(struct engine *e, uint32_t h, uint32_t p) {
  uint64_t key = ost_key(h, (uint16_t)p);
  struct ost_entry *ent = ost_find(&e->ost, key);
  if (!ent) {
    e->st.late++;
    return 0;
  }
  uint64_t now = tw_hrtime();
  int resent = ent->tries > 1;
  /* the try that was answered: the last one sent, as far as we can tell
   * (an answer to an earlier try that came late counts the same) */
  if (ent->tries - 1 > e->hs[h].succ) e->hs[h].succ = (uint8_t)(ent->tries - 1);
  host_forget(e, h, ent);
  /* Karn: only an answer to a probe sent once says how long answers take. */
  if (!resent) {
    update_rto(e, now - ent->sent_ns);
    host_rtt(e, h, now - ent->sent_ns);
  }
  ratectl_answer(&e->rc, now - ent->sent_ns, resent, ent->gen);
  ost_remove(&e->ost, key);
  e->st.answered++;
  return 1;
}

/* Build packet k (0: the probe itself, then build_more's) of try `try`
 * for (h, p) into e->pkt, with the packet options applied to raw IP ones. */
static int build_packet(struct engine *e, uint32_t h, uint32_t p, int try, int k, bool raw) {
  int len = k == 0 ? e->ops->build(e, h, p, try, e->pkt, ENGINE_PKT_MAX)
                   : e->ops->build_more(e, h, p, try, k, e->pkt, ENGINE_PKT_MAX);
  if (len > 0 && raw && e->cfg.finish) len = e->cfg.finish(e->cfg.finish_arg, e->pkt, len, ENGINE_PKT_MAX);
  return len;
}

static int send_raw(struct engine *e, tw_rawsock *rs, const uint8_t *pkt, int len, bool raw) {
  if (e->cfg.send) return e->cfg.send(e->cfg.send_arg, pkt, (size_t)len);
  if (raw && e->cfg.link) return e->cfg.link(e->cfg.link_arg, e->cur_h, pkt, (size_t)len);
  return tw_rawsend(rs, pkt, (size_t)len, NULL, NULL);
}

/* Trace and send one packet: whole, or as its fragments (cfg.fragment). */
static int send_one(struct engine *e, tw_rawsock *rs, const uint8_t *pkt, int len, bool raw) {
  if (e->cfg.trace_t0)
    trace_packet(stdout, "SENT", (double)(tw_hrtime() - e->cfg.trace_t0) / 1e9, pkt, (size_t)len,
                 raw ? TW_LINK_RAW : TW_LINK_ETH);
  uint8_t *frag = e->wire ? e->wire + ENGINE_PKT_MAX : NULL;
  int n = raw && frag && e->cfg.fragment
              ? e->cfg.fragment(e->cfg.finish_arg, pkt, len, 0, frag, ENGINE_PKT_MAX) : -1;
  if (n < 0) return send_raw(e, rs, pkt, len, raw);
  int first = send_raw(e, rs, frag, n, raw);
  if (first < 0) return first;
  for (int j = 1; (n = e->cfg.fragment(e->cfg.finish_arg, pkt, len, j, frag, ENGINE_PKT_MAX)) > 0; j++)
    if (send_raw(e, rs, frag, n, raw) < 0) e->st.send_errors++;
  return first;
}

/* Send the probe packet in e->pkt: itself, or the copies cfg.expand makes
 * of it (the first one's result counts; the rest are best effort). */
static int send_built(struct engine *e, tw_rawsock *rs, int len, bool raw) {
  if (!raw || !e->cfg.expand) return send_one(e, rs, e->pkt, len, raw);
  int first = 0;
  for (int k = 0;; k++) {
    int n = e->cfg.expand(e->cfg.finish_arg, e->pkt, len, k, e->wire, ENGINE_PKT_MAX);
    if (n <= 0) break;
    int err = send_one(e, rs, e->wire, n, raw);
    if (k == 0) {
      first = err;
      if (err < 0) return err;
    } else if (err < 0) {
      e->st.send_errors++;
    }
  }
  return first;
}

static int send_probe(struct engine *e, uint32_t h, uint32_t p, int try) {
  tw_rawsock *rs = e->ops->sock ? e->ops->sock(e, h, p)
                                : e->hosts[h].family == AF_INET6 ? e->rs6 : e->rs4;
  bool raw = !e->ops->sock || rs == e->rs4 || rs == e->rs6;
  e->cur_h = h;
  int len = build_packet(e, h, p, try, 0, raw);
  if (len <= 0) return 1; /* nothing to send for this pair */
  if (!rs && !e->cfg.send) return 1;
  int err = send_built(e, rs, len, raw);
  if (err == -EAGAIN) return -EAGAIN;
  if (err < 0) {
    e->st.send_errors++;
    return 1;
  }
  /* the probe's further packets: best effort, the first one counts */
  for (int k = 1; e->ops->build_more && k < 64; k++) {
    len = build_packet(e, h, p, try, k, raw);
    if (len <= 0) break;
    if (send_built(e, rs, len, raw) < 0) e->st.send_errors++;
  }
  return 0;
}

static void finish(struct engine *e) {
  if (!e->running) return;
  e->running = 0;
  tw_timer_stop(e->tick);
  if (e->done) e->done(e);
}


static void tick_cb(tw_timer *t, int status) {
  struct engine *e = tw_data(t);
  if (status < 0) return;
  uint64_t now = tw_hrtime();
  ratectl_tick(&e->rc, now);
  uint64_t budget = ratectl_budget(&e->rc, now), used = 0;
  if (e->cfg.min_parallelism && e->ost.count + budget < e->cfg.min_parallelism) {
    /* --min-parallelism: at least this many outstanding, faster than the
     * controller's pace if need be, but never above the --max-rate ceiling
     * (counted from the last send) */
    uint64_t floor = e->cfg.min_parallelism - e->ost.count;
    uint64_t since = e->last_send_ns ? now - e->last_send_ns : TICK_NS;
    double room = e->cfg.max_rate * (double)since / 1e9;
    if (room < (double)floor) floor = (uint64_t)room;
    if (floor > budget) budget = floor;
  }
  if (e->cfg.scan_delay_ns) {
    if (now - e->last_send_ns < e->cfg.scan_delay_ns) budget = 0;
    else if (budget > 1) budget = 1;
  }
  /* 1. Overdue probes: re-send, hold at the host's try limit, or give
   * up (Tries, above). Expiry is checked even without budget so that
   * give-ups are never delayed. */
  uint64_t deadline = now > e->rto_ns ? now - e->rto_ns : 0;
  struct ost_entry ent;
  while (ost_expired(&e->ost, deadline, &ent)) {
    uint32_t h = ost_host(ent.key), p = ost_port(ent.key);
    int wanted = !e->ops->wanted || e->ops->wanted(e, h, p);
    uint64_t wait = e->rto_ns;
    bool hold = false;
    if (wanted && ent.tries >= tries_allowed(e, h)) {
      wait = e->ops->extend ? e->ops->extend(e, h, p) : 0;
      hold = wait == 0 && ent.tries + ent.held <= e->cfg.max_retries && tries_may_grow(e, h, &ent);
    }
    if (hold) { /* one more timeout without a transmission */
      ost_sent(&e->ost, ent.key, now, ent.tries);
      struct ost_entry *live = ost_find(&e->ost, ent.key);
      if (live && live->held == 0) e->hs[h].held++;
      if (live && live->held < 255) live->held++;
      e->st.held++;
      continue;
    }
    if (!wanted || wait == 0) {
      host_forget(e, h, &ent);
      ost_remove(&e->ost, ent.key);
      if (wanted) {
        e->st.timeouts++;
        e->ops->timeout(e, h, p);
      }
      continue;
    }
    if (used >= budget || send_probe(e, h, p, ent.tries) == -EAGAIN) {
      /* No budget now: it stays due; re-queue it at the back as if sent
       * now minus the timeout, i.e. due again at once. */
      ost_sent(&e->ost, ent.key, deadline, ent.tries);
      break;
    }
    /* An extended wait is recorded as a later send time. */
    uint64_t stamp = wait > e->rto_ns ? now + (wait - e->rto_ns) : now;
    ost_sent(&e->ost, ent.key, stamp, (uint8_t)(ent.tries < 255 ? ent.tries + 1 : 255));
    if (ent.held) { /* the host's limit grew: sent again, no longer held */
      struct ost_entry *live = ost_find(&e->ost, ent.key);
      if (live) live->held = 0;
      e->hs[h].held--;
    }
    e->st.resent++;
    e->st.sent++;
    used++;
  }
  /* 2. New probes from the permutation, stamped with the rate they are
   * sent at (see ratectl_answer). */
  e->ost.gen = ratectl_gen(&e->rc);
  while (used < budget && !e->perm_done && ost_has_room(&e->ost)) {
    uint64_t idx = e->stash;
    if (idx == NO_STASH) {
      if (permute_next(&e->perm, &idx) != 1) {
        e->perm_done = 1;
        break;
      }
      e->hs[idx / e->nports].unsent--;
    }
    e->stash = NO_STASH;
    uint32_t h = (uint32_t)(idx / e->nports), p = (uint32_t)(idx % e->nports);
    if (e->ops->wanted && !e->ops->wanted(e, h, p)) continue;
    int r = send_probe(e, h, p, 0);
    if (r == -EAGAIN) {
      e->stash = idx;
      break;
    }
    if (r == 0) {
      if (ost_sent(&e->ost, ost_key(h, (uint16_t)p), now, 1) == 0) e->hs[h].inost++;
      e->st.sent++;
      used++;
    }
  }
  if (used) {
    ratectl_spend(&e->rc, used);
    e->last_send_ns = now;
  }
  if (e->perm_done && e->ost.count == 0) finish(e);
}

int engine_start(struct engine *e, tw_loop *loop, const struct engine_config *cfg,
                 const struct probe_ops *ops, void *ctx, const tw_pkt_addr *hosts,
                 uint32_t nhosts, uint32_t nports, tw_rawsock *rs4, tw_rawsock *rs6,
                 void (*done)(struct engine *e)) {
  memset(e, 0, sizeof *e);
  if (nports > 65536) return -EINVAL;
  e->loop = loop;
  e->cfg = *cfg;
  e->ops = ops;
  e->ctx = ctx;
  e->hosts = hosts;
  e->nhosts = nhosts;
  e->nports = nports;
  e->rs4 = rs4;
  e->rs6 = rs6;
  e->done = done;
  e->stash = NO_STASH;
  e->rto_ns = cfg->rtt_init_ns;
  if (!cfg->window) e->cfg.window = 1 << 18;
  int err;
  uint64_t n = (uint64_t)nhosts * nports;
  if (n == 0) {
    e->perm_done = 1;
  } else if ((err = cfg->ordered
                         ? permute_init_ordered(&e->perm, nhosts, nports, cfg->shards ? cfg->shards : 1,
                                                cfg->shards ? cfg->shard : 0)
                         : permute_init(&e->perm, n, cfg->seed, cfg->shards ? cfg->shards : 1,
                                        cfg->shards ? cfg->shard : 0)) < 0) {
    return err;
  }
  if (!(e->pkt = malloc(ENGINE_PKT_MAX))) return -ENOMEM;
  if (cfg->expand && !(e->wire = malloc(2 * ENGINE_PKT_MAX))) return -ENOMEM;
  if ((err = build_host_index(e)) < 0) return err;
  if (!(e->hs = calloc(nhosts ? nhosts : 1, sizeof *e->hs))) return -ENOMEM;
  for (uint32_t i = 0; i < nhosts; i++) e->hs[i].unsent = nports;
  if ((err = ost_init(&e->ost, e->cfg.window)) < 0) return err;
  ratectl_init(&e->rc, cfg->start_rate, cfg->min_rate, cfg->max_rate, tw_hrtime());
  if ((err = tw_timer_new(loop, &e->tick, e)) < 0) return err;
  e->running = 1;
  return tw_timer_start(e->tick, tick_cb, 0, TICK_NS);
}

void engine_stop(struct engine *e) {
  e->perm_done = 1;
  finish(e);
}

void engine_free(struct engine *e) {
  if (e->tick) tw_close(e->tick, NULL);
  e->tick = NULL;
  ost_free(&e->ost);
  free(e->hidx);
  e->hidx = NULL;
  free(e->hs);
  e->hs = NULL;
  free(e->pkt);
  e->pkt = NULL;
  free(e->wire);
  e->wire = NULL;
}

double engine_progress(const struct engine *e) {
  uint64_t total = permute_total(&e->perm);
  if (e->perm_done || total == 0) return 1.0;
  double sent = (double)permute_pos(&e->perm) - (double)e->ost.count;
  if (sent < 0) sent = 0;
  return sent / (double)total;
}
