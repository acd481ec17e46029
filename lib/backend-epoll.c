/* backend-epoll.c: the Linux readiness backend. One epoll instance per
 * loop, level-triggered, with nanosecond timeouts through epoll_pwait2()
 * where milliseconds would be too coarse.
 *
 * The one subtle part: a callback may stop or free a watch whose event is
 * still later in the same batch. tw__backend_remove() clears such events so
 * the dispatcher never touches freed memory. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "backend-int.h"

#define TW_EPOLL_BATCH 1024

struct tw_backend {
  int epfd;
  int have_pwait2;
  struct epoll_event events[TW_EPOLL_BATCH];
  int nevents; /* events of the batch being dispatched */
  int cur;     /* index of the event being dispatched */
};

int tw__backend_init(tw_loop *loop) {
  struct tw_backend *b = calloc(1, sizeof *b);
  if (!b) return -ENOMEM;
  b->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (b->epfd < 0) {
    int e = errno;
    free(b);
    return -e;
  }
  b->have_pwait2 = 1;
  loop->backend = b;
  return 0;
}

void tw__backend_done(tw_loop *loop) {
  if (!loop->backend) return;
  close(loop->backend->epfd);
  free(loop->backend);
  loop->backend = NULL;
}

static uint32_t to_epoll(int ev) {
  uint32_t e = 0;
  if (ev & TW_READABLE) e |= EPOLLIN;
  if (ev & TW_WRITABLE) e |= EPOLLOUT;
  if (ev & TW_PRIORITY) e |= EPOLLPRI;
  return e;
}

static int from_epoll(uint32_t e) {
  int ev = 0;
  if (e & EPOLLIN) ev |= TW_READABLE;
  if (e & EPOLLOUT) ev |= TW_WRITABLE;
  if (e & EPOLLPRI) ev |= TW_PRIORITY;
  if (e & (EPOLLHUP | EPOLLRDHUP)) ev |= TW_HANGUP;
  if (e & EPOLLERR) ev |= TW_ERROR;
  return ev;
}

int tw__backend_update(tw_loop *loop, tw_watch *w) {
  struct tw_backend *b = loop->backend;
  if (w->want == w->have) return 0;
  if (w->want == 0) {
    /* The fd may already be closed: epoll forgot it then, fine. */
    epoll_ctl(b->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->have = 0;
    return 0;
  }
  struct epoll_event ev = {.events = to_epoll(w->want), .data.ptr = w};
  int op = w->have ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(b->epfd, op, w->fd, &ev) < 0) {
    /* The fd was closed and reused behind our back, or re-registered. */
    if (errno == ENOENT && op == EPOLL_CTL_MOD) op = EPOLL_CTL_ADD;
    else if (errno == EEXIST && op == EPOLL_CTL_ADD) op = EPOLL_CTL_MOD;
    else return -errno;
    if (epoll_ctl(b->epfd, op, w->fd, &ev) < 0) return -errno;
  }
  w->have = w->want;
  return 0;
}

void tw__backend_remove(tw_loop *loop, tw_watch *w) {
  struct tw_backend *b = loop->backend;
  if (w->have) {
    epoll_ctl(b->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->have = 0;
  }
  for (int i = b->cur + 1; i < b->nevents; i++)
    if (b->events[i].data.ptr == w) b->events[i].data.ptr = NULL;
}

int tw__backend_poll(tw_loop *loop, uint64_t timeout_ns) {
  struct tw_backend *b = loop->backend;
  int n;
  /* epoll_wait's millisecond timeout is enough when not waiting, waiting
   * forever, or when the deadline is whole milliseconds away (it rounds
   * up, so never early); epoll_pwait2's nanoseconds are for sub-ms waits,
   * where a millisecond of rounding would be a large error. */
  int fine = timeout_ns != 0 && timeout_ns != UINT64_MAX && timeout_ns % 1000000ull != 0 &&
             timeout_ns < 50000000ull;
  if (fine && b->have_pwait2) {
    struct timespec ts;
    ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
    ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
    n = epoll_pwait2(b->epfd, b->events, TW_EPOLL_BATCH, &ts, NULL);
    if (n < 0 && errno == ENOSYS) b->have_pwait2 = 0;
  }
  if (!fine || !b->have_pwait2) {
    int ms = -1;
    if (timeout_ns != UINT64_MAX) {
      uint64_t m = (timeout_ns + 999999) / 1000000; /* round up: never early */
      ms = m > 0x7fffffff ? 0x7fffffff : (int)m;
    }
    n = epoll_wait(b->epfd, b->events, TW_EPOLL_BATCH, ms);
  }
  if (n < 0) return errno == EINTR ? 0 : -errno;

  tw_loop_update_time(loop);
  b->nevents = n;
  for (b->cur = 0; b->cur < n; b->cur++) {
    tw_watch *w = b->events[b->cur].data.ptr;
    if (!w) continue; /* removed by an earlier callback of this batch */
    int ev = from_epoll(b->events[b->cur].events);
    /* Report only what was asked for, plus errors and hang-ups. */
    ev &= w->want | TW_HANGUP | TW_ERROR;
    if (ev) w->cb(w, ev);
  }
  b->nevents = 0;
  b->cur = 0;
  return n;
}
