/* async.c: wake the loop from another thread. One eventfd per loop; each
 * tw_async has an atomic "sent" flag, so many sends before the loop runs
 * collapse into one callback. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop-int.h"

struct tw_asyncstate {
  int fd;
  tw_watch w;
  tw_queue list; /* every open tw_async of the loop */
  tw_atclose at;
};

struct tw_async {
  tw_handle h;
  tw_async_cb cb;
  atomic_int sent;
  int fd; /* copy of the loop's eventfd: senders never touch the loop */
  tw_queue q;
};

static void async_ready(tw_watch *w, int events) {
  struct tw_asyncstate *s = (struct tw_asyncstate *)((char *)w - offsetof(struct tw_asyncstate, w));
  uint64_t v;
  while (read(s->fd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
  tw_queue todo;
  tw_queue_init(&todo);
  tw_queue_move(&s->list, &todo);
  tw_queue *e;
  while ((e = tw_queue_pop(&todo))) {
    struct tw_async *a = tw_queue_entry(e, struct tw_async, q);
    tw_queue_push(&s->list, &a->q);
    if (atomic_exchange(&a->sent, 0) && !(a->h.flags & TW_HF_CLOSING)) a->cb(a, 0);
  }
}

static void asyncstate_free(tw_loop *loop, tw_atclose *at) {
  struct tw_asyncstate *s = loop->async;
  tw__watch_remove(loop, &s->w);
  close(s->fd);
  free(s);
  loop->async = NULL;
}

static int asyncstate_get(tw_loop *loop, struct tw_asyncstate **out) {
  if (!loop->async) {
    struct tw_asyncstate *s = calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    s->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->fd < 0) {
      int e = errno;
      free(s);
      return -e;
    }
    tw_queue_init(&s->list);
    tw__watch_init(&s->w, s->fd, async_ready);
    tw__watch_set(loop, &s->w, TW_READABLE);
    tw__atclose(loop, &s->at, asyncstate_free);
    loop->async = s;
  }
  *out = loop->async;
  return 0;
}

static void async_close(tw_handle *h) {
  struct tw_async *a = (struct tw_async *)h;
  tw_queue_remove(&a->q);
}

static void async_cancel(tw_handle *h) {
  struct tw_async *a = (struct tw_async *)h;
  a->cb(a, -ECANCELED);
}

static void async_free(tw_handle *h) { free(h); }

static const tw_handle_ops async_ops = {"async", async_close, async_cancel, async_free};

int tw_async_new(tw_loop *loop, tw_async **out, tw_async_cb cb, void *data) {
  if (!loop || !out || !cb) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  struct tw_asyncstate *s = NULL;
  int err = asyncstate_get(loop, &s);
  if (err) return err;
  struct tw_async *a = malloc(sizeof *a);
  if (!a) return -ENOMEM;
  tw__handle_init(loop, &a->h, &async_ops, data);
  a->cb = cb;
  atomic_init(&a->sent, 0);
  a->fd = s->fd;
  tw_queue_push(&s->list, &a->q);
  tw__handle_start(&a->h); /* an async keeps the loop alive until closed */
  *out = a;
  return 0;
}

int tw_async_send(tw_async *a) {
  if (!a || a->h.magic != TW_HANDLE_MAGIC) return -EINVAL;
  if (atomic_exchange(&a->sent, 1)) return 0; /* already pending */
  uint64_t one = 1;
  ssize_t n;
  do n = write(a->fd, &one, sizeof one);
  while (n < 0 && errno == EINTR);
  return 0;
}
