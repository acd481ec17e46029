/* pool-int.h: the worker thread pool, for libtrawl modules that need to run
 * a blocking call off the loop thread (file operations, getaddrinfo, the
 * public tw_work()).
 *
 * A module embeds a tw__work in its own request, sets work and done, and
 * submits it. work runs on a worker thread; done runs later on the loop
 * thread, exactly once: with 0 after work has returned, or with -ECANCELED
 * if the item was cancelled while still queued (work never ran). An item
 * cancelled while running is interrupted (its worker gets a signal, so a
 * blocking system call fails with EINTR) and then completes with 0: the
 * owner knows it cancelled and decides what to report. */
#ifndef TW_POOL_INT_H
#define TW_POOL_INT_H

#include <stdatomic.h>

#include "loop-int.h"

struct tw__worker;

typedef struct tw__work tw__work;
struct tw__work {
  void (*work)(tw__work *w);           /* on a worker thread */
  void (*done)(tw__work *w, int status); /* on the loop: 0 or -ECANCELED */
  /* the pool's bookkeeping */
  tw_loop *loop;
  tw_queue q;                 /* pool's todo or done list (under its lock) */
  tw_pending p;               /* the -ECANCELED completion of a queued item */
  struct tw__worker *worker;  /* the thread running it (under the lock) */
  int state;                  /* under the lock */
  int interrupt;              /* signal the worker until work returns */
  atomic_int cancelled;
};

/* Queue w on the loop's pool (created on first use). 0 or a negative
 * error (the pool could not start; done will not run). */
int tw__work_submit(tw_loop *loop, tw__work *w);

/* Cancel w: 0 if done will report the cancellation (queued: -ECANCELED on
 * the next pass; running: interrupted, done(0) once work returns;
 * finished: done(0) as planned), -EALREADY if done has already run. */
int tw__work_cancel(tw__work *w);

/* For a work function: has this item been cancelled? A function that
 * retries on EINTR should stop retrying when this is true. */
static inline int tw__work_cancelled(tw__work *w) {
  return atomic_load_explicit(&w->cancelled, memory_order_relaxed);
}

/* The signal that interrupts a running, cancelled item (a real-time signal
 * with a do-nothing handler installed without SA_RESTART). */
int tw__pool_signal(void);

#endif
