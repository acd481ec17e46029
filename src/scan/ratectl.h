/* ratectl.h: how fast to send. The controller tells random loss from
 * congestion (docs/rate-control.md):
 *
 *   - Congestion shows first as queueing delay: round-trip times rise above
 *     the smallest seen. Random loss does not delay anything.
 *   - Congestion loss grows with the rate; random loss does not. Loss is
 *     measured only on probes that were answered (answered on a re-send =
 *     the first was lost), so silent filtered ports do not count as loss.
 *
 * Each epoch (a few round trips) the controller compares the epoch's median
 * RTT with the smallest seen, and the epoch's loss with the path's usual
 * loss: queueing delay, or heavy loss (over 25% and twice the usual) ->
 * multiplicative decrease; neither -> increase (doubling until the first
 * congestion, then +25%). Random loss is repaired by re-sending, at full
 * speed. Loss is charged to the rate that caused it: answers to re-sends
 * of probes first sent before the last decrease are not counted.
 * --min-rate and --max-rate bound it. */
#ifndef TRAWL_RATECTL_H
#define TRAWL_RATECTL_H

#include <stdint.h>

#define RATECTL_SAMPLES 256

struct ratectl {
  double rate;             /* packets per second now */
  double min_rate, max_rate;
  double tokens;           /* send budget carried over */
  uint64_t last_ns;        /* last refill */
  uint64_t epoch_start_ns;
  uint64_t epoch_ns;       /* epoch length */
  int slow_start;          /* doubling until the first congestion */
  /* this epoch's measurements */
  uint32_t rtt_us[RATECTL_SAMPLES];
  unsigned nrtt;
  uint64_t answered, answered_late;
  uint64_t stale;          /* late answers ignored (first try before a decrease) */
  /* baselines */
  uint64_t rtt_min_us;     /* smallest RTT seen (0: none yet) */
  double loss_base;        /* loss at rates that caused no delay */
  int have_loss_base;
  /* statistics */
  unsigned decreases, increases;
  double last_loss;
  uint32_t last_rtt_us;
};

void ratectl_init(struct ratectl *rc, double start, double min_rate, double max_rate,
                  uint64_t now_ns);
/* How many packets may be sent now (and takes them from the budget when
 * ratectl_spend() is called). */
uint64_t ratectl_budget(struct ratectl *rc, uint64_t now_ns);
void ratectl_spend(struct ratectl *rc, uint64_t n);
/* The rate's generation: it changes with every decrease. The engine
 * stamps each probe with it when the probe is first sent. */
static inline uint32_t ratectl_gen(const struct ratectl *rc) { return rc->decreases; }
/* An answer came: its RTT, whether it answered a re-sent probe (late), and
 * the generation its first try was sent in. A late answer whose first try
 * went out before the last decrease is ignored: that loss happened at a
 * rate already given up, and counting it again would cut the rate once
 * per epoch for as long as re-sends of old probes arrive (TCP's rule: one
 * reduction per loss event, none for packets sent before it). */
void ratectl_answer(struct ratectl *rc, uint64_t rtt_ns, int late, uint32_t first_gen);
/* Run the epoch logic if an epoch has passed. */
void ratectl_tick(struct ratectl *rc, uint64_t now_ns);

#endif
