/* ratectl.c: token-bucket pacing plus the delay/loss controller described
 * in ratectl.h. */
#include <stdlib.h>
#include <string.h>

#include "scan/ratectl.h"

#define BURST_NS 2000000ull /* at most 2 ms worth of packets at once */

void ratectl_init(struct ratectl *rc, double start, double min_rate, double max_rate,
                  uint64_t now_ns) {
  memset(rc, 0, sizeof *rc);
  rc->min_rate = min_rate > 0 ? min_rate : 1;
  rc->max_rate = max_rate > 0 ? max_rate : 1e9;
  if (rc->max_rate < rc->min_rate) rc->max_rate = rc->min_rate;
  if (start < rc->min_rate) start = rc->min_rate;
  if (start > rc->max_rate) start = rc->max_rate;
  rc->rate = start;
  rc->tokens = 1;
  rc->last_ns = rc->epoch_start_ns = now_ns;
  rc->epoch_ns = 50000000ull; /* 50 ms until RTTs say better */
  rc->slow_start = 1;
}

uint64_t ratectl_budget(struct ratectl *rc, uint64_t now_ns) {
  if (now_ns > rc->last_ns) {
    double add = rc->rate * (double)(now_ns - rc->last_ns) / 1e9;
    double cap = rc->rate * (double)BURST_NS / 1e9;
    if (cap < 1) cap = 1;
    rc->tokens += add;
    if (rc->tokens > cap) rc->tokens = cap;
    rc->last_ns = now_ns;
  }
  return rc->tokens >= 1 ? (uint64_t)rc->tokens : 0;
}

void ratectl_spend(struct ratectl *rc, uint64_t n) {
  rc->tokens -= (double)n;
  if (rc->tokens < -1) rc->tokens = -1;
}

void ratectl_answer(struct ratectl *rc, uint64_t rtt_ns, int late, uint32_t first_gen) {
  if (late && first_gen != ratectl_gen(rc)) {
    rc->stale++;
    return;
  }
  rc->answered++;
  if (late) {
    rc->answered_late++;
    return; /* which try it answered is unknown: no RTT sample */
  }
  uint64_t us = rtt_ns / 1000;
  if (us > UINT32_MAX) us = UINT32_MAX;
  if (rc->rtt_min_us == 0 || us < rc->rtt_min_us) rc->rtt_min_us = us ? us : 1;
  if (rc->nrtt < RATECTL_SAMPLES) rc->rtt_us[rc->nrtt++] = (uint32_t)us;
  else rc->rtt_us[(rc->answered * 2654435761u) % RATECTL_SAMPLES] = (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void set_rate(struct ratectl *rc, double r) {
  if (r < rc->min_rate) r = rc->min_rate;
  if (r > rc->max_rate) r = rc->max_rate;
  rc->rate = r;
}

void ratectl_tick(struct ratectl *rc, uint64_t now_ns) {
  if (now_ns - rc->epoch_start_ns < rc->epoch_ns) return;
  rc->epoch_start_ns = now_ns;
  if (rc->answered < 20) { /* too little to judge: keep the rate */
    if (rc->slow_start && rc->answered == 0) set_rate(rc, rc->rate * 2);
    return;
  }
  uint32_t median = 0;
  if (rc->nrtt) {
    qsort(rc->rtt_us, rc->nrtt, sizeof rc->rtt_us[0], cmp_u32);
    median = rc->rtt_us[rc->nrtt / 2];
  }
  double loss = (double)rc->answered_late / (double)rc->answered;
  /* Queueing delay: the median RTT far above the best seen (a 5 ms floor so
   * that busy CPUs on a fast LAN are not mistaken for a queue). */
  uint64_t base = rc->rtt_min_us;
  int delayed = rc->nrtt >= 10 && median > 2 * base + 5000;
  /* Loss alone is a weak signal: answers to re-sent probes arrive a
   * timeout late, so an epoch's loss lags the rate that caused it, and a
   * lossy link loses at any rate. Only heavy loss (a policer, a queue too
   * short to show delay) well above the path's usual loss counts. */
  int lossier = loss > 0.25 && (!rc->have_loss_base || loss > rc->loss_base * 2);
  if (delayed || lossier) {
    set_rate(rc, rc->rate * 0.7);
    rc->slow_start = 0;
    rc->decreases++;
  } else {
    /* Loss seen without delay is the path's own (random) loss. */
    rc->loss_base = rc->have_loss_base ? 0.8 * rc->loss_base + 0.2 * loss : loss;
    rc->have_loss_base = 1;
    set_rate(rc, rc->rate * (rc->slow_start ? 2.0 : 1.25));
    rc->increases++;
  }
  /* An epoch is a few round trips, between 10 ms and 200 ms. */
  uint64_t ep = (uint64_t)median * 4000ull;
  if (ep < 10000000ull) ep = 10000000ull;
  if (ep > 200000000ull) ep = 200000000ull;
  rc->epoch_ns = ep;
  rc->last_loss = loss;
  rc->last_rtt_us = median;
  rc->nrtt = 0;
  rc->answered = rc->answered_late = 0;
}
