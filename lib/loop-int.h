/* loop-int.h: the inside of the event loop, shared by every lib/ file.
 *
 * What a reader needs to know:
 *   - struct tw_handle heads every handle; struct tw_req heads every request.
 *   - tw_watch is the internal "wait on this fd" record. Handles embed one;
 *     changes are lazy (queued on loop->dirty) and applied in one pass just
 *     before the backend waits, so a callback that stops and restarts
 *     reading costs no system call.
 *   - tw_pending is a deferred callback: errors found inside an API call,
 *     cancellations and completions are queued and run on the next pass of
 *     the loop, never inside the call that caused them.
 *   - Modules that keep per-loop state (signals, async, thread pool,
 *     io_uring, DNS, captures) hang it off the loop and register an
 *     tw_atclose to free it when the loop is closed. */
#ifndef TW_LOOP_INT_H
#define TW_LOOP_INT_H

#include <stdint.h>
#include <trawl/loop.h>
#include "queue-int.h"

#define TW_HANDLE_MAGIC 0x74774831u /* live handle */
#define TW_REQ_MAGIC 0x74775231u    /* live request */
#define TW_DEAD_MAGIC 0xdeadbeefu   /* freed */

#define TW_NS_PER_MS 1000000ull
#define TW_NS_PER_S 1000000000ull

enum {
  TW_HF_ACTIVE = 1,   /* started: counts toward keeping the loop alive */
  TW_HF_REF = 2,      /* referenced (the default) */
  TW_HF_CLOSING = 4,  /* tw_close() was called */
  TW_HF_INTERNAL = 8  /* owned by another handle: loop close leaves it alone */
};

typedef struct tw_handle tw_handle;

typedef struct tw_handle_ops {
  const char *name;
  /* Stop the handle and cancel its operations: their callbacks are queued
   * with -ECANCELED. Called once, from tw_close(). */
  void (*close)(tw_handle *h);
  /* tw_loop_close() only, before close: deliver -ECANCELED to the
   * callback of an active watcher (timer, io, signal, ...). May be NULL. */
  void (*cancel)(tw_handle *h);
  /* Release everything; runs after the close callback. */
  void (*free)(tw_handle *h);
} tw_handle_ops;

struct tw_handle {
  uint32_t magic;
  uint32_t flags;
  tw_loop *loop;
  void *data;
  const tw_handle_ops *ops;
  tw_close_cb close_cb;
  /* In loop->handles while open; moved to loop->closing_q by tw_close()
   * (one link, not two: every handle, and so every timer, is 16 bytes
   * smaller for it). */
  tw_queue all;
};

struct tw_req {
  uint32_t magic;
  uint16_t flags;
  uint16_t type;
  tw_loop *loop;
  void *data;
  /* Ask the owner to cancel; it must eventually complete the request. */
  int (*cancel)(tw_req *req);
  tw_queue all; /* loop->reqs */
};
enum { TW_RF_CANCELED = 1, TW_RF_DONE = 2 };

typedef struct tw_pending {
  tw_queue q;
  void (*cb)(struct tw_pending *p);
} tw_pending;

typedef struct tw_watch tw_watch;
/* events: TW_READABLE | TW_WRITABLE | TW_PRIORITY | TW_HANGUP | TW_ERROR */
typedef void (*tw_watch_cb)(tw_watch *w, int events);
struct tw_watch {
  int fd;
  int want;   /* events wanted */
  int have;   /* events registered with the backend (0: not registered) */
  tw_watch_cb cb;
  tw_queue dirty;
};

typedef struct tw_atclose {
  tw_queue q;
  void (*fn)(tw_loop *loop, struct tw_atclose *a);
} tw_atclose;

struct tw_timer;
struct tw_timer_slot;
struct tw_backend;

struct tw_loop {
  uint64_t now;           /* cached CLOCK_MONOTONIC, ns */
  uint64_t iterations;
  int running;            /* inside tw_loop_run() */
  int stop;               /* tw_loop_stop() was called */
  int closing;            /* inside tw_loop_close(): no new work */
  unsigned active_handles;
  unsigned active_reqs;
  unsigned idle_hooks;    /* active TW_HOOK_IDLE hooks */
  tw_queue handles;       /* every live handle */
  tw_queue reqs;          /* every pending request */
  tw_queue pending;       /* deferred callbacks */
  tw_queue closing_q;     /* handles whose close callback is due */
  tw_queue dirty;         /* watches whose registration must change */
  tw_queue hooks[4];      /* active hooks by tw_hook_kind */
  tw_queue atclose;       /* module teardown, run by tw_loop_close */

  /* timers: a 4-ary min-heap ordered by (due, seq) */
  struct tw_timer_slot *timer_heap; /* timer.c: {due, seq, timer} entries */
  size_t timer_count, timer_cap;
  uint64_t timer_seq;

  struct tw_backend *backend;

  /* per-loop state of modules, created on first use */
  struct tw_sigstate *sig;
  struct tw_asyncstate *async;
  struct tw_pool *pool;
  struct tw_uring *uring;
  struct tw_dispatch *dispatch;  /* packet waiters (dispatch.c) */
  struct tw_capstate *capture;   /* shared captures (capture.c) */
  struct tw_capfilter *capfilter; /* their kernel filter (capfilter.c) */
  struct tw_routestate *route;   /* rtnetlink socket (route.c) */
  struct tw_neighstate *neigh;   /* neighbour resolutions (neigh.c) */
};

/* handles */
void tw__handle_init(tw_loop *loop, tw_handle *h, const tw_handle_ops *ops, void *data);
/* Start and stop keep loop->active_handles; inline, because timers call
 * them for every start and every expiry. */
static inline int tw__handle_counts(const tw_handle *h) {
  return (h->flags & (TW_HF_ACTIVE | TW_HF_REF)) == (TW_HF_ACTIVE | TW_HF_REF);
}
static inline void tw__handle_start(tw_handle *h) {
  if (h->flags & TW_HF_ACTIVE) return;
  h->flags |= TW_HF_ACTIVE;
  if (tw__handle_counts(h)) h->loop->active_handles++;
}
static inline void tw__handle_stop(tw_handle *h) {
  if (!(h->flags & TW_HF_ACTIVE)) return;
  if (tw__handle_counts(h)) h->loop->active_handles--;
  h->flags &= ~TW_HF_ACTIVE;
}
/* 0 if h is a live handle with these ops (any ops if NULL), else -EINVAL. */
static inline int tw__handle_check(const void *p, const tw_handle_ops *ops) {
  const tw_handle *h = p;
  if (!h || h->magic != TW_HANDLE_MAGIC) return -EINVAL;
  if (ops && h->ops != ops) return -EINVAL;
  return 0;
}
/* Like check, and -ECANCELED if it (or its loop) is closing. */
int tw__handle_usable(const void *h, const tw_handle_ops *ops);

/* requests */
void tw__req_init(tw_loop *loop, tw_req *req, int type, int (*cancel)(tw_req *), void *data);
/* The request's callback is about to run: it stops counting as pending. */
void tw__req_done(tw_req *req);
/* Poison and free a request allocated with malloc. */
void tw__req_free(tw_req *req);

/* deferred callbacks */
void tw__pending_push(tw_loop *loop, tw_pending *p);
void tw__pending_cancel(tw_pending *p);

/* fd watches */
void tw__watch_init(tw_watch *w, int fd, tw_watch_cb cb);
void tw__watch_set(tw_loop *loop, tw_watch *w, int events);
/* Forget the fd now (before it is closed). */
void tw__watch_remove(tw_loop *loop, tw_watch *w);

void tw__atclose(tw_loop *loop, tw_atclose *a, void (*fn)(tw_loop *, tw_atclose *));

/* timers (timer.c) */
uint64_t tw__timers_next(const tw_loop *loop); /* UINT64_MAX if none */
void tw__timers_run(tw_loop *loop);

/* hooks (hook.c) */
void tw__hooks_run(tw_loop *loop, int kind);

/* errno as a libtrawl status */
#define TW_ERR(e) (-(e))

#endif
