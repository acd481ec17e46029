/* pool.c: the worker thread pool (one per loop, started on first use) and
 * tw_work(), the public way to run a blocking function off the loop.
 *
 * Items go from the loop to the workers through a locked todo list and
 * come back through a locked done list plus an eventfd the loop watches.
 * The loop thread owns everything else; workers touch an item only between
 * taking it from todo and putting it on done.
 *
 * Signals: workers block every signal, so a process-directed signal is
 * delivered to the loop thread (whose signalfd watches it) and never
 * interrupts, or is lost in, a worker. The one exception is the pool's own
 * interrupt signal: cancelling a running item sends it to that worker with
 * pthread_kill(), and since its handler is installed without SA_RESTART,
 * the blocking system call the work is in fails with EINTR. A signal sent
 * just before the worker enters the call is wasted, so the loop repeats it
 * from a timerfd until the item has finished. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <trawl/fs.h>
#include <unistd.h>

#include "pool-int.h"

#define TW_POOL_DEFAULT 4
#define TW_POOL_MAX 128
/* First repeat of an interrupt, then the period of the following ones. */
#define TW_KICK_FIRST_NS (1 * TW_NS_PER_MS)
#define TW_KICK_EVERY_NS (5 * TW_NS_PER_MS)

enum { W_QUEUED = 1, W_RUNNING, W_FINISHED, W_DELIVERED };

typedef struct tw__worker {
  pthread_t tid;
  struct tw_pool *pool;
  tw__work *cur; /* under the lock */
} tw__worker;

struct tw_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  tw_queue todo; /* under mu */
  tw_queue done; /* under mu */
  int stop;      /* under mu */
  unsigned nworkers;
  tw__worker *workers;
  int efd;       /* workers -> loop: "done is not empty" */
  tw_watch ew;
  int tfd;       /* repeats interrupts while a cancelled item runs */
  tw_watch tw;
  int kicking;   /* tfd is armed (loop thread only) */
  tw_atclose at;
};

/* ---- the interrupt signal ------------------------------------------------ */

static pthread_once_t sig_once = PTHREAD_ONCE_INIT;
static int sig_num;
static int sig_err;

static void sig_noop(int signum) { (void)signum; }

static void sig_install(void) {
  sig_num = SIGRTMIN + 3;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sig_noop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: the point is to break blocking calls */
  if (sigaction(sig_num, &sa, NULL) < 0) sig_err = -errno;
}

int tw__pool_signal(void) {
  pthread_once(&sig_once, sig_install);
  return sig_num;
}

/* ---- workers -------------------------------------------------------------- */

static void *worker_main(void *arg) {
  tw__worker *self = arg;
  struct tw_pool *pool = self->pool;
  sigset_t intr;
  sigemptyset(&intr);
  sigaddset(&intr, sig_num);
  /* Created with every signal blocked; let only the interrupt through. */
  pthread_sigmask(SIG_UNBLOCK, &intr, NULL);

  pthread_mutex_lock(&pool->mu);
  for (;;) {
    while (!pool->stop && tw_queue_empty(&pool->todo)) pthread_cond_wait(&pool->cv, &pool->mu);
    if (pool->stop) break;
    tw__work *w = tw_queue_entry(tw_queue_pop(&pool->todo), tw__work, q);
    w->state = W_RUNNING;
    w->worker = self;
    self->cur = w;
    pthread_mutex_unlock(&pool->mu);

    w->work(w);

    pthread_mutex_lock(&pool->mu);
    self->cur = NULL;
    w->worker = NULL;
    /* Once cur is NULL nobody signals us again (kills happen under the
     * lock). If we were signalled, block the signal now and swallow any
     * instance still pending, so it cannot break the next item's call. */
    int interrupted = w->interrupt;
    if (interrupted) pthread_sigmask(SIG_BLOCK, &intr, NULL);
    w->state = W_FINISHED;
    int was_empty = tw_queue_empty(&pool->done);
    tw_queue_push(&pool->done, &w->q);
    pthread_mutex_unlock(&pool->mu);
    /* w may be freed by the loop from here on. */
    if (was_empty) {
      uint64_t one = 1;
      ssize_t n;
      do n = write(pool->efd, &one, sizeof one);
      while (n < 0 && errno == EINTR);
    }
    if (interrupted) {
      const struct timespec zero = {0, 0};
      while (sigtimedwait(&intr, NULL, &zero) > 0) {
      }
      pthread_sigmask(SIG_UNBLOCK, &intr, NULL);
    }
    pthread_mutex_lock(&pool->mu);
  }
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

/* ---- the loop side --------------------------------------------------------- */

static void pool_done_ready(tw_watch *wa, int events) {
  struct tw_pool *pool = (struct tw_pool *)((char *)wa - offsetof(struct tw_pool, ew));
  uint64_t v;
  while (read(pool->efd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
  tw_queue batch;
  tw_queue_init(&batch);
  pthread_mutex_lock(&pool->mu);
  tw_queue_move(&pool->done, &batch);
  pthread_mutex_unlock(&pool->mu);
  tw_queue *e;
  while ((e = tw_queue_pop(&batch))) {
    tw__work *w = tw_queue_entry(e, tw__work, q);
    w->state = W_DELIVERED;
    w->done(w, 0);
  }
}

static void kick_arm(struct tw_pool *pool, int on) {
  if (pool->kicking == on) return;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (on) {
    its.it_value.tv_nsec = (long)TW_KICK_FIRST_NS;
    its.it_interval.tv_nsec = (long)TW_KICK_EVERY_NS;
  }
  if (timerfd_settime(pool->tfd, 0, &its, NULL) == 0) pool->kicking = on;
}

/* Signal again every worker still running a cancelled item; stop the
 * timer once there is none. */
static void pool_kick(tw_watch *wa, int events) {
  struct tw_pool *pool = (struct tw_pool *)((char *)wa - offsetof(struct tw_pool, tw));
  uint64_t v;
  while (read(pool->tfd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
  int any = 0;
  pthread_mutex_lock(&pool->mu);
  for (unsigned i = 0; i < pool->nworkers; i++) {
    tw__work *w = pool->workers[i].cur;
    if (w && w->interrupt) {
      pthread_kill(pool->workers[i].tid, sig_num);
      any = 1;
    }
  }
  pthread_mutex_unlock(&pool->mu);
  if (!any) kick_arm(pool, 0);
}

static void pool_free(tw_loop *loop, tw_atclose *a) {
  struct tw_pool *pool = loop->pool;
  /* tw_loop_close() has completed every request, so workers are idle. */
  pthread_mutex_lock(&pool->mu);
  pool->stop = 1;
  pthread_cond_broadcast(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
  for (unsigned i = 0; i < pool->nworkers; i++) pthread_join(pool->workers[i].tid, NULL);
  tw__watch_remove(loop, &pool->ew);
  tw__watch_remove(loop, &pool->tw);
  close(pool->efd);
  close(pool->tfd);
  pthread_cond_destroy(&pool->cv);
  pthread_mutex_destroy(&pool->mu);
  free(pool->workers);
  free(pool);
  loop->pool = NULL;
}

static unsigned pool_size(void) {
  const char *s = getenv("TRAWL_THREADPOOL_SIZE");
  if (!s || !*s) return TW_POOL_DEFAULT;
  char *end;
  long n = strtol(s, &end, 10);
  if (*end || n < 1) return TW_POOL_DEFAULT;
  return n > TW_POOL_MAX ? TW_POOL_MAX : (unsigned)n;
}

static int pool_new(tw_loop *loop) {
  tw__pool_signal(); /* install the interrupt handler, once per process */
  if (sig_err) return sig_err;
  struct tw_pool *pool = calloc(1, sizeof *pool);
  if (!pool) return -ENOMEM;
  unsigned want = pool_size();
  pool->workers = calloc(want, sizeof *pool->workers);
  pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int efd_err = pool->efd < 0 ? -errno : 0;
  pool->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int tfd_err = pool->tfd < 0 ? -errno : 0;
  if (!pool->workers || efd_err || tfd_err) {
    int err = !pool->workers ? -ENOMEM : efd_err ? efd_err : tfd_err;
    if (pool->efd >= 0) close(pool->efd);
    if (pool->tfd >= 0) close(pool->tfd);
    free(pool->workers);
    free(pool);
    return err;
  }
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->cv, NULL);
  tw_queue_init(&pool->todo);
  tw_queue_init(&pool->done);

  /* Threads inherit the creator's mask: block everything around creation. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = 0;
  for (unsigned i = 0; i < want; i++) {
    pool->workers[i].pool = pool;
    err = pthread_create(&pool->workers[i].tid, NULL, worker_main, &pool->workers[i]);
    if (err) break;
    pool->nworkers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pool->nworkers == 0) {
    close(pool->efd);
    close(pool->tfd);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool->workers);
    free(pool);
    return -err;
  }
  /* Fewer threads than asked for (err != 0) still make a working pool. */
  tw__watch_init(&pool->ew, pool->efd, pool_done_ready);
  tw__watch_set(loop, &pool->ew, TW_READABLE);
  tw__watch_init(&pool->tw, pool->tfd, pool_kick);
  tw__watch_set(loop, &pool->tw, TW_READABLE);
  tw__atclose(loop, &pool->at, pool_free);
  loop->pool = pool;
  return 0;
}

int tw__work_submit(tw_loop *loop, tw__work *w) {
  if (!loop->pool) {
    int err = pool_new(loop);
    if (err) return err;
  }
  struct tw_pool *pool = loop->pool;
  w->loop = loop;
  w->worker = NULL;
  w->interrupt = 0;
  atomic_init(&w->cancelled, 0);
  tw_queue_init(&w->p.q);
  pthread_mutex_lock(&pool->mu);
  w->state = W_QUEUED;
  tw_queue_push(&pool->todo, &w->q);
  pthread_cond_signal(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
  return 0;
}

static void cancelled_in_queue(tw_pending *p) {
  tw__work *w = (tw__work *)((char *)p - offsetof(tw__work, p));
  w->state = W_DELIVERED;
  w->done(w, -ECANCELED);
}

int tw__work_cancel(tw__work *w) {
  struct tw_pool *pool = w->loop->pool;
  int rc = 0, kick = 0;
  pthread_mutex_lock(&pool->mu);
  atomic_store(&w->cancelled, 1);
  switch (w->state) {
  case W_QUEUED:
    /* Never reached a worker: complete it on the next pass, not here. */
    tw_queue_remove(&w->q);
    w->state = W_FINISHED;
    w->p.cb = cancelled_in_queue;
    tw__pending_push(w->loop, &w->p);
    break;
  case W_RUNNING:
    w->interrupt = 1;
    pthread_kill(w->worker->tid, sig_num);
    kick = 1;
    break;
  case W_FINISHED:
    break; /* on its way back: done runs as planned */
  default:
    rc = -EALREADY;
  }
  pthread_mutex_unlock(&pool->mu);
  if (kick) kick_arm(pool, 1);
  return rc;
}

/* ---- tw_work ----------------------------------------------------------------- */

typedef struct work_req {
  tw_req req; /* first: freed through tw__req_free */
  tw__work w;
  tw_work_fn fn;
  tw_work_cb after;
  void *arg; /* a copy of req.data the worker may read */
  int status;
} work_req;

static void work_run(tw__work *w) {
  work_req *r = (work_req *)((char *)w - offsetof(work_req, w));
  r->status = r->fn(r->arg);
}

static void work_done(tw__work *w, int status) {
  work_req *r = (work_req *)((char *)w - offsetof(work_req, w));
  /* Cancelled while running or on its way back: still -ECANCELED, so the
   * caller sees one answer for "I cancelled it". */
  if (status == 0 && !(r->req.flags & TW_RF_CANCELED)) status = r->status;
  else status = -ECANCELED;
  tw__req_done(&r->req);
  r->after(&r->req, status, r->req.data);
  tw__req_free(&r->req);
}

static int work_cancel(tw_req *req) {
  work_req *r = (work_req *)req;
  return tw__work_cancel(&r->w);
}

int tw_work(tw_loop *loop, tw_req **req, tw_work_fn work, tw_work_cb after, void *data) {
  if (req) *req = NULL;
  if (!loop || !work || !after) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  work_req *r = malloc(sizeof *r);
  if (!r) return -ENOMEM;
  r->fn = work;
  r->after = after;
  r->arg = data;
  r->status = 0;
  r->w.work = work_run;
  r->w.done = work_done;
  tw__req_init(loop, &r->req, 0, work_cancel, data);
  int err = tw__work_submit(loop, &r->w);
  if (err) {
    tw__req_free(&r->req);
    return err;
  }
  if (req) *req = &r->req;
  return 0;
}
