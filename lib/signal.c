/* signal.c: signal watchers through one signalfd per loop.
 *
 * Watching a signal blocks it in the loop's thread and reads it from the
 * signalfd, so callbacks run on the loop like any I/O, never inside an
 * asynchronous handler. libtrawl's worker threads block every signal, so
 * a process-directed signal reaches the loop's thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "loop-int.h"

#define TW_NSIG 65

struct tw_sigstate {
  int fd;
  tw_watch w;
  sigset_t mask;          /* signals routed to the signalfd */
  sigset_t blocked_by_us; /* signals we blocked (to unblock when unwatched) */
  unsigned watchers[TW_NSIG];
  tw_queue list;          /* started tw_signal handles */
  tw_atclose at;
};

struct tw_signal {
  tw_handle h;
  int signum;
  tw_signal_cb cb;
  tw_queue q;
};

static void sig_ready(tw_watch *w, int events);

static void sigstate_free(tw_loop *loop, tw_atclose *a) {
  struct tw_sigstate *s = loop->sig;
  tw__watch_remove(loop, &s->w);
  close(s->fd);
  pthread_sigmask(SIG_UNBLOCK, &s->blocked_by_us, NULL);
  free(s);
  loop->sig = NULL;
}

static int sigstate_get(tw_loop *loop, struct tw_sigstate **out) {
  if (loop->sig) {
    *out = loop->sig;
    return 0;
  }
  struct tw_sigstate *s = calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  sigemptyset(&s->mask);
  sigemptyset(&s->blocked_by_us);
  s->fd = signalfd(-1, &s->mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (s->fd < 0) {
    int e = errno;
    free(s);
    return -e;
  }
  tw_queue_init(&s->list);
  tw__watch_init(&s->w, s->fd, sig_ready);
  tw__watch_set(loop, &s->w, TW_READABLE);
  tw__atclose(loop, &s->at, sigstate_free);
  loop->sig = s;
  *out = s;
  return 0;
}

static void sig_ready(tw_watch *w, int events) {
  struct tw_sigstate *s = (struct tw_sigstate *)((char *)w - offsetof(struct tw_sigstate, w));
  struct signalfd_siginfo si[16];
  for (;;) {
    ssize_t n = read(s->fd, si, sizeof si);
    if (n <= 0) break;
    for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
      int signum = (int)si[i].ssi_signo;
      /* Snapshot: callbacks may stop or close watchers. */
      tw_queue todo;
      tw_queue_init(&todo);
      tw_queue_move(&s->list, &todo);
      tw_queue *e;
      while ((e = tw_queue_pop(&todo))) {
        struct tw_signal *sg = tw_queue_entry(e, struct tw_signal, q);
        tw_queue_push(&s->list, &sg->q);
        if (sg->signum == signum) sg->cb(sg, 0, signum);
      }
    }
  }
}

static int mask_update(struct tw_sigstate *s, int signum, int add) {
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signum);
  if (add) {
    if (s->watchers[signum]++ > 0) return 0;
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &one, &old);
    if (!sigismember(&old, signum)) sigaddset(&s->blocked_by_us, signum);
    sigaddset(&s->mask, signum);
  } else {
    if (--s->watchers[signum] > 0) return 0;
    sigdelset(&s->mask, signum);
    if (sigismember(&s->blocked_by_us, signum)) {
      sigdelset(&s->blocked_by_us, signum);
      pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    }
  }
  return signalfd(s->fd, &s->mask, SFD_NONBLOCK | SFD_CLOEXEC) < 0 ? -errno : 0;
}

static void signal_stop(struct tw_signal *sg) {
  if (!(sg->h.flags & TW_HF_ACTIVE)) return;
  tw_queue_remove(&sg->q);
  mask_update(sg->h.loop->sig, sg->signum, 0);
  tw__handle_stop(&sg->h);
}

static void signal_close(tw_handle *h) { signal_stop((struct tw_signal *)h); }

static void signal_cancel(tw_handle *h) {
  struct tw_signal *sg = (struct tw_signal *)h;
  if (!(h->flags & TW_HF_ACTIVE)) return;
  int signum = sg->signum;
  signal_stop(sg);
  sg->cb(sg, -ECANCELED, signum);
}

static void signal_free(tw_handle *h) { free(h); }

static const tw_handle_ops signal_ops = {"signal", signal_close, signal_cancel, signal_free};

int tw_signal_new(tw_loop *loop, tw_signal **out, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  struct tw_signal *sg = malloc(sizeof *sg);
  if (!sg) return -ENOMEM;
  tw__handle_init(loop, &sg->h, &signal_ops, data);
  sg->signum = 0;
  sg->cb = NULL;
  tw_queue_init(&sg->q);
  *out = sg;
  return 0;
}

int tw_signal_start(tw_signal *sg, tw_signal_cb cb, int signum) {
  int err = tw__handle_usable(sg, &signal_ops);
  if (err) return err;
  if (!cb || signum <= 0 || signum >= TW_NSIG || signum == SIGKILL || signum == SIGSTOP)
    return -EINVAL;
  struct tw_sigstate *s = NULL;
  if ((err = sigstate_get(sg->h.loop, &s))) return err;
  if (sg->h.flags & TW_HF_ACTIVE) signal_stop(sg);
  sg->signum = signum;
  sg->cb = cb;
  if ((err = mask_update(s, signum, 1))) {
    mask_update(s, signum, 0);
    return err;
  }
  tw_queue_push(&s->list, &sg->q);
  tw__handle_start(&sg->h);
  return 0;
}

int tw_signal_stop(tw_signal *sg) {
  int err = tw__handle_check(sg, &signal_ops);
  if (err) return err;
  signal_stop(sg);
  return 0;
}
