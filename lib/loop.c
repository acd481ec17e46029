/* loop.c: the event loop itself — one pass of tw_loop_run() is:
 *
 *   1. update the cached time, run due timers
 *   2. run deferred callbacks (tw_pending)
 *   3. run idle and prepare hooks
 *   4. apply queued fd-watch changes, then wait in the backend until an fd
 *      is ready or the next timer is due (not at all if work is queued)
 *   5. run check hooks and the deferred callbacks the I/O produced
 *   6. run close callbacks and free closed handles
 *
 * It also holds what every handle and request shares: the handle header,
 * the request header, deferred callbacks, fd watches and loop teardown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend-int.h"
#include "loop-int.h"

uint64_t tw_hrtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * TW_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t tw_now(const tw_loop *loop) { return loop ? loop->now : 0; }
void tw_loop_update_time(tw_loop *loop) {
  if (loop) loop->now = tw_hrtime();
}
uint64_t tw_loop_iterations(const tw_loop *loop) { return loop ? loop->iterations : 0; }

int tw_loop_new(tw_loop **out) {
  if (!out) return -EINVAL;
  *out = NULL;
  tw_loop *loop = calloc(1, sizeof *loop);
  if (!loop) return -ENOMEM;
  tw_queue_init(&loop->handles);
  tw_queue_init(&loop->reqs);
  tw_queue_init(&loop->pending);
  tw_queue_init(&loop->closing_q);
  tw_queue_init(&loop->dirty);
  tw_queue_init(&loop->atclose);
  for (int i = 0; i < 4; i++) tw_queue_init(&loop->hooks[i]);
  int err = tw__backend_init(loop);
  if (err) {
    free(loop);
    return err;
  }
  loop->now = tw_hrtime();
  *out = loop;
  return 0;
}

/* ---- handles ------------------------------------------------------------ */

void tw__handle_init(tw_loop *loop, tw_handle *h, const tw_handle_ops *ops, void *data) {
  h->magic = TW_HANDLE_MAGIC;
  h->flags = TW_HF_REF;
  h->loop = loop;
  h->data = data;
  h->ops = ops;
  h->close_cb = NULL;
  tw_queue_push(&loop->handles, &h->all);
}

int tw__handle_usable(const void *p, const tw_handle_ops *ops) {
  int err = tw__handle_check(p, ops);
  if (err) return err;
  const tw_handle *h = p;
  if (h->flags & TW_HF_CLOSING) return -ECANCELED;
  return 0;
}

int tw_close(void *p, tw_close_cb cb) {
  tw_handle *h = p;
  int err = tw__handle_check(h, NULL);
  if (err) return err;
  if (h->flags & TW_HF_CLOSING) return -EALREADY;
  h->flags |= TW_HF_CLOSING;
  h->close_cb = cb;
  h->ops->close(h);
  tw__handle_stop(h);
  tw_queue_remove(&h->all);
  tw_queue_push(&h->loop->closing_q, &h->all);
  return 0;
}

int tw_is_closing(const void *p) {
  const tw_handle *h = p;
  return tw__handle_check(h, NULL) == 0 && (h->flags & TW_HF_CLOSING) != 0;
}

int tw_is_active(const void *p) {
  const tw_handle *h = p;
  return tw__handle_check(h, NULL) == 0 && (h->flags & TW_HF_ACTIVE) != 0;
}

void *tw_data(const void *p) {
  const tw_handle *h = p;
  return tw__handle_check(h, NULL) == 0 ? h->data : NULL;
}

void tw_set_data(void *p, void *data) {
  tw_handle *h = p;
  if (tw__handle_check(h, NULL) == 0) h->data = data;
}

tw_loop *tw_handle_loop(const void *p) {
  const tw_handle *h = p;
  return tw__handle_check(h, NULL) == 0 ? h->loop : NULL;
}

void tw_ref(void *p) {
  tw_handle *h = p;
  if (tw__handle_check(h, NULL) || (h->flags & TW_HF_REF)) return;
  h->flags |= TW_HF_REF;
  if (tw__handle_counts(h)) h->loop->active_handles++;
}

void tw_unref(void *p) {
  tw_handle *h = p;
  if (tw__handle_check(h, NULL) || !(h->flags & TW_HF_REF)) return;
  if (tw__handle_counts(h)) h->loop->active_handles--;
  h->flags &= ~TW_HF_REF;
}

static void run_pending(tw_loop *loop);

static void run_closing(tw_loop *loop) {
  tw_queue *e;
  while (!tw_queue_empty(&loop->closing_q)) {
    /* ops->close queued -ECANCELED callbacks; a handle closed from a
     * deferred callback of this pass or from a close callback would
     * otherwise be freed before they run. */
    if (!tw_queue_empty(&loop->pending)) run_pending(loop);
    e = tw_queue_pop(&loop->closing_q);
    tw_handle *h = tw_queue_entry(e, tw_handle, all);
    if (h->close_cb) h->close_cb(h);
    h->magic = TW_DEAD_MAGIC;
    h->ops->free(h);
  }
}

/* ---- requests ------------------------------------------------------------ */

void tw__req_init(tw_loop *loop, tw_req *req, int type, int (*cancel)(tw_req *), void *data) {
  req->magic = TW_REQ_MAGIC;
  req->flags = 0;
  req->type = (uint16_t)type;
  req->loop = loop;
  req->data = data;
  req->cancel = cancel;
  tw_queue_push(&loop->reqs, &req->all);
  loop->active_reqs++;
}

void tw__req_done(tw_req *req) {
  if (req->flags & TW_RF_DONE) return;
  req->flags |= TW_RF_DONE;
  tw_queue_remove(&req->all);
  req->loop->active_reqs--;
}

void tw__req_free(tw_req *req) {
  tw__req_done(req);
  req->magic = TW_DEAD_MAGIC;
  free(req);
}

int tw_cancel(tw_req *req) {
  if (!req || req->magic != TW_REQ_MAGIC) return -EINVAL;
  if (req->flags & (TW_RF_CANCELED | TW_RF_DONE)) return -EALREADY;
  req->flags |= TW_RF_CANCELED;
  return req->cancel ? req->cancel(req) : -ENOTSUP;
}

void *tw_req_data(const tw_req *req) {
  return req && req->magic == TW_REQ_MAGIC ? req->data : NULL;
}

/* ---- deferred callbacks -------------------------------------------------- */

void tw__pending_push(tw_loop *loop, tw_pending *p) {
  /* Zeroed or unlinked: queue it; already queued: nothing to do. */
  if (p->q.next == NULL || p->q.next == &p->q) tw_queue_push(&loop->pending, &p->q);
}

void tw__pending_cancel(tw_pending *p) {
  if (p->q.next != NULL && p->q.next != &p->q) tw_queue_remove(&p->q);
}

/* Run what is queued now; what those callbacks queue waits for the next
 * pass, so a callback that re-queues itself cannot starve I/O. */
static void run_pending(tw_loop *loop) {
  tw_queue batch;
  tw_queue_init(&batch);
  tw_queue_move(&loop->pending, &batch);
  tw_queue *e;
  while ((e = tw_queue_pop(&batch))) {
    tw_pending *p = tw_queue_entry(e, tw_pending, q);
    p->cb(p);
  }
}

/* ---- fd watches ---------------------------------------------------------- */

void tw__watch_init(tw_watch *w, int fd, tw_watch_cb cb) {
  w->fd = fd;
  w->want = 0;
  w->have = 0;
  w->cb = cb;
  tw_queue_init(&w->dirty);
}

void tw__watch_set(tw_loop *loop, tw_watch *w, int events) {
  w->want = events & (TW_READABLE | TW_WRITABLE | TW_PRIORITY);
  if (w->want != w->have) {
    if (!tw_queue_linked(&w->dirty)) tw_queue_push(&loop->dirty, &w->dirty);
  } else if (tw_queue_linked(&w->dirty)) {
    tw_queue_remove(&w->dirty);
  }
}

void tw__watch_remove(tw_loop *loop, tw_watch *w) {
  if (tw_queue_linked(&w->dirty)) tw_queue_remove(&w->dirty);
  w->want = 0;
  tw__backend_remove(loop, w);
}

static void flush_dirty(tw_loop *loop) {
  tw_queue *e;
  while ((e = tw_queue_pop(&loop->dirty))) {
    tw_watch *w = tw_queue_entry(e, tw_watch, dirty);
    if (tw__backend_update(loop, w) < 0) {
      /* The fd cannot be watched (closed under us): tell its owner once. */
      w->want = 0;
      w->have = 0;
      w->cb(w, TW_ERROR);
    }
  }
}

void tw__atclose(tw_loop *loop, tw_atclose *a, void (*fn)(tw_loop *, tw_atclose *)) {
  a->fn = fn;
  tw_queue_push(&loop->atclose, &a->q);
}

/* ---- running ------------------------------------------------------------- */

static int loop_alive(const tw_loop *loop) {
  return loop->active_handles > 0 || loop->active_reqs > 0 ||
         !tw_queue_empty(&loop->pending) || !tw_queue_empty(&loop->closing_q);
}

static uint64_t poll_timeout(const tw_loop *loop, tw_run_mode mode) {
  if (mode == TW_RUN_NOWAIT || loop->stop || loop->idle_hooks ||
      !tw_queue_empty(&loop->pending) || !tw_queue_empty(&loop->closing_q))
    return 0;
  if (loop->active_handles == 0 && loop->active_reqs == 0) return 0;
  uint64_t due = tw__timers_next(loop);
  if (due == UINT64_MAX) return UINT64_MAX;
  return due > loop->now ? due - loop->now : 0;
}

int tw_loop_run(tw_loop *loop, tw_run_mode mode) {
  if (!loop || (mode != TW_RUN_DEFAULT && mode != TW_RUN_ONCE && mode != TW_RUN_NOWAIT))
    return -EINVAL;
  if (loop->running) return -EBUSY;
  loop->running = 1;
  loop->stop = 0;
  int alive = loop_alive(loop);
  int err = 0;
  /* Each phase is skipped inline when it has nothing to do: a busy loop
   * runs these checks millions of times. The clock is read at the top of
   * every pass (callbacks since the last wait may have taken long, and the
   * next wait's timeout must count that) and by the backend after a wait. */
  while (alive && !loop->stop) {
    loop->iterations++;
    tw_loop_update_time(loop);
    if (loop->timer_count) tw__timers_run(loop);
    if (!tw_queue_empty(&loop->pending)) run_pending(loop);
    if (!tw_queue_empty(&loop->hooks[TW_HOOK_IDLE])) tw__hooks_run(loop, TW_HOOK_IDLE);
    if (!tw_queue_empty(&loop->hooks[TW_HOOK_PREPARE])) tw__hooks_run(loop, TW_HOOK_PREPARE);
    if (!tw_queue_empty(&loop->dirty)) flush_dirty(loop);
    uint64_t timeout = poll_timeout(loop, mode);
    err = tw__backend_poll(loop, timeout);
    if (err < 0) break;
    err = 0;
    if (!tw_queue_empty(&loop->hooks[TW_HOOK_CHECK])) tw__hooks_run(loop, TW_HOOK_CHECK);
    if (mode == TW_RUN_ONCE && loop->timer_count) tw__timers_run(loop);
    if (!tw_queue_empty(&loop->pending)) run_pending(loop);
    if (!tw_queue_empty(&loop->closing_q)) run_closing(loop);
    if (mode != TW_RUN_DEFAULT) break;
    alive = loop_alive(loop);
  }
  loop->running = 0;
  loop->stop = 0;
  if (err < 0) return err;
  return loop_alive(loop) ? 1 : 0;
}

void tw_loop_stop(tw_loop *loop) {
  if (loop) loop->stop = 1;
}

/* Apply fn to every handle once, tolerating callbacks that close or create
 * handles meanwhile: the list is walked from a snapshot. */
static void each_handle(tw_loop *loop, void (*fn)(tw_handle *)) {
  tw_queue todo;
  tw_queue_init(&todo);
  tw_queue_move(&loop->handles, &todo);
  tw_queue *e;
  while ((e = tw_queue_pop(&todo))) {
    tw_handle *h = tw_queue_entry(e, tw_handle, all);
    tw_queue_push(&loop->handles, &h->all);
    fn(h);
  }
}

static void cancel_handle(tw_handle *h) {
  if (!(h->flags & (TW_HF_CLOSING | TW_HF_INTERNAL)) && h->ops->cancel) h->ops->cancel(h);
}

static void close_handle(tw_handle *h) {
  if (!(h->flags & (TW_HF_CLOSING | TW_HF_INTERNAL))) tw_close(h, NULL);
}

int tw_loop_close(tw_loop *loop) {
  if (!loop) return -EINVAL;
  if (loop->running) return -EBUSY;
  loop->closing = 1;
  /* Active watchers hear -ECANCELED, then every handle is closed (which
   * cancels its operations), then every request is cancelled. */
  each_handle(loop, cancel_handle);
  each_handle(loop, close_handle);
  tw_queue *e;
  tw_queue todo;
  tw_queue_init(&todo);
  tw_queue_move(&loop->reqs, &todo);
  while ((e = tw_queue_pop(&todo))) {
    tw_req *req = tw_queue_entry(e, tw_req, all);
    tw_queue_push(&loop->reqs, &req->all);
    tw_cancel(req);
  }
  /* Let cancellations complete (work already in the kernel or on a worker
   * finishes first), and the close callbacks run. */
  int rc;
  do {
    each_handle(loop, close_handle); /* handles made by callbacks meanwhile */
    rc = tw_loop_run(loop, TW_RUN_DEFAULT);
  } while (rc > 0);
  /* Internal handles are closed by their owners; anything left is a bug in
   * an owner, but free it rather than leak it. */
  while (!tw_queue_empty(&loop->handles)) {
    tw_handle *h = tw_queue_entry(loop->handles.next, tw_handle, all);
    if (!(h->flags & TW_HF_CLOSING)) tw_close(h, NULL);
    run_closing(loop);
  }
  while ((e = tw_queue_pop(&loop->atclose))) {
    tw_atclose *a = tw_queue_entry(e, tw_atclose, q);
    a->fn(loop, a);
  }
  free(loop->timer_heap);
  tw__backend_done(loop);
  free(loop);
  return 0;
}
