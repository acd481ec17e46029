/* uring.c: one io_uring per loop for file operations, set up on first use.
 *
 * Why not the thread pool for everything: a stat or an open through the
 * ring costs no thread hand-off and no context switch per operation, and
 * the kernel runs what would block on its own workers. The pool stays the
 * fallback: the ring is used only when it can be created, registers an
 * eventfd, and supports every opcode we issue (probe), and not when the
 * environment says TRAWL_NO_IOURING=1.
 *
 * Flow: tw__uring_submit() fills an SQE (or parks the op on a backlog
 * while the ring is full) and schedules one submit for the next loop pass,
 * so a burst of requests costs one system call. Completions signal the
 * ring's eventfd, which the loop watches; its callback drains the CQ.
 *
 * user_data is the op's address; cancel SQEs use 0, and their CQEs are
 * ignored: the op's own CQE says how it ended. The number of ops in the
 * ring is capped at half the CQ size, so that even if every op is
 * cancelled, op and cancel CQEs together never overflow the CQ. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "uring-int.h"

#define TW_URING_SQ 256
#define TW_URING_CQ 4096

enum { U_BACKLOG = 1, U_RING, U_DONE };

struct tw_uring {
  tw_loop *loop;
  int usable;
  struct io_uring ring;
  int efd;
  tw_watch w;
  unsigned inflight; /* ops holding an SQE or awaiting their CQE */
  unsigned cap;      /* most ops in flight: half the CQ */
  tw_queue backlog;  /* ops waiting for room */
  tw_queue cancels;  /* ops in the ring whose cancel found no SQE yet */
  tw_pending flush;  /* submit the prepared SQEs */
  tw_atclose at;
};

static const int needed_ops[] = {IORING_OP_OPENAT, IORING_OP_STATX, IORING_OP_READ,
                                 IORING_OP_WRITE, IORING_OP_CLOSE, IORING_OP_ASYNC_CANCEL};

static int prep_cancel(struct tw_uring *u, tw__uop *op);

static void uring_flush(tw_pending *p) {
  struct tw_uring *u = (struct tw_uring *)((char *)p - offsetof(struct tw_uring, flush));
  while (!tw_queue_empty(&u->cancels)) {
    tw__uop *op = tw_queue_entry(u->cancels.next, tw__uop, q);
    if (prep_cancel(u, op)) break;
    tw_queue_remove(&op->q);
  }
  int n = io_uring_submit(&u->ring);
  /* A transient failure (-EAGAIN, -EINTR) or a partial submit leaves SQEs
   * in the ring: try again on the next pass. */
  if ((n < 0 || io_uring_sq_ready(&u->ring) > 0 || !tw_queue_empty(&u->cancels)) &&
      n != -EBADF && n != -EINVAL)
    tw__pending_push(u->loop, p);
}

static void schedule_flush(tw_loop *loop, struct tw_uring *u) {
  tw__pending_push(loop, &u->flush);
}

/* Give op an SQE. 0, or -EBUSY if there is no room right now. */
static int place(tw_loop *loop, struct tw_uring *u, tw__uop *op) {
  if (u->inflight >= u->cap) return -EBUSY;
  struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
  if (!sqe) {
    /* The SQ holds TW_URING_SQ unsubmitted entries: hand them over now. */
    io_uring_submit(&u->ring);
    sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) return -EBUSY;
  }
  op->prep(op, sqe);
  io_uring_sqe_set_data(sqe, op);
  op->state = U_RING;
  u->inflight++;
  schedule_flush(loop, u);
  return 0;
}

static void refill(tw_loop *loop, struct tw_uring *u) {
  while (!tw_queue_empty(&u->backlog)) {
    tw__uop *op = tw_queue_entry(u->backlog.next, tw__uop, q);
    if (place(loop, u, op)) break;
    tw_queue_remove(&op->q);
  }
}

static void uring_ready(tw_watch *w, int events) {
  struct tw_uring *u = (struct tw_uring *)((char *)w - offsetof(struct tw_uring, w));
  uint64_t v;
  while (read(u->efd, &v, sizeof v) == (ssize_t)sizeof v) {
  }
  struct io_uring_cqe *cqe;
  while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
    tw__uop *op = io_uring_cqe_get_data(cqe);
    int res = cqe->res;
    io_uring_cqe_seen(&u->ring, cqe); /* before done, which may submit */
    if (!op) continue;                /* a cancel's own CQE */
    if (tw_queue_linked(&op->q)) tw_queue_remove(&op->q); /* cancel not sent */
    u->inflight--;
    op->state = U_DONE;
    op->done(op, res);
  }
  refill(u->loop, u);
}

static void uring_free(tw_loop *loop, tw_atclose *a) {
  struct tw_uring *u = loop->uring;
  if (u->usable) {
    tw__watch_remove(loop, &u->w);
    tw__pending_cancel(&u->flush);
    io_uring_queue_exit(&u->ring);
    close(u->efd);
  }
  free(u);
  loop->uring = NULL;
}

static int env_says_no(void) {
  const char *s = getenv("TRAWL_NO_IOURING");
  return s && *s && strcmp(s, "0") != 0;
}

static int probe_ok(struct io_uring *ring) {
  struct io_uring_probe *pr = io_uring_get_probe_ring(ring);
  if (!pr) return 0;
  int ok = 1;
  for (size_t i = 0; i < sizeof needed_ops / sizeof needed_ops[0]; i++)
    if (!io_uring_opcode_supported(pr, needed_ops[i])) ok = 0;
  io_uring_free_probe(pr);
  return ok;
}

/* Set up the ring, or return an error and leave nothing behind. */
static int ring_setup(struct tw_uring *u) {
  struct io_uring_params par;
  memset(&par, 0, sizeof par);
  par.flags = IORING_SETUP_CQSIZE;
  par.cq_entries = TW_URING_CQ;
  int err = io_uring_queue_init_params(TW_URING_SQ, &u->ring, &par);
  if (err) return err;
  /* NODROP: completions are never lost; RW_CUR_POS: offset -1 means the
   * file position, which tw_fs_read/write promise for offset < 0. */
  if ((par.features & (IORING_FEAT_NODROP | IORING_FEAT_RW_CUR_POS)) !=
          (IORING_FEAT_NODROP | IORING_FEAT_RW_CUR_POS) ||
      !probe_ok(&u->ring)) {
    io_uring_queue_exit(&u->ring);
    return -ENOTSUP;
  }
  u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (u->efd < 0) {
    err = -errno;
    io_uring_queue_exit(&u->ring);
    return err;
  }
  if ((err = io_uring_register_eventfd(&u->ring, u->efd)) < 0) {
    close(u->efd);
    io_uring_queue_exit(&u->ring);
    return err;
  }
  u->cap = par.cq_entries / 2;
  return 0;
}

int tw__uring_usable(tw_loop *loop) {
  if (loop->uring) return loop->uring->usable;
  struct tw_uring *u = calloc(1, sizeof *u);
  if (!u) return 0; /* try again next time; the pool will do meanwhile */
  u->loop = loop;
  tw_queue_init(&u->backlog);
  tw_queue_init(&u->cancels);
  tw_queue_init(&u->flush.q);
  u->flush.cb = uring_flush;
  u->efd = -1;
  if (!env_says_no() && ring_setup(u) == 0) {
    u->usable = 1;
    tw__watch_init(&u->w, u->efd, uring_ready);
    tw__watch_set(loop, &u->w, TW_READABLE);
  }
  /* Remember a "no" too, so a loop never mixes the two paths. */
  tw__atclose(loop, &u->at, uring_free);
  loop->uring = u;
  return u->usable;
}

int tw__uring_submit(tw_loop *loop, tw__uop *op) {
  struct tw_uring *u = loop->uring;
  op->loop = loop;
  tw_queue_init(&op->q);
  tw_queue_init(&op->p.q);
  /* Keep submission order: nobody overtakes the backlog. */
  if (!tw_queue_empty(&u->backlog) || place(loop, u, op)) {
    op->state = U_BACKLOG;
    tw_queue_push(&u->backlog, &op->q);
  }
  /* In the ring, op->q is linked only while a cancel waits for an SQE. */
  return 0;
}

/* Ask the kernel to cancel op, and submit at once rather than on the next
 * pass: until op's CQE has been reaped its address is a unique user_data,
 * so the cancel cannot hit a later op that reuses the memory. */
static int prep_cancel(struct tw_uring *u, tw__uop *op) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
  if (!sqe) {
    io_uring_submit(&u->ring);
    sqe = io_uring_get_sqe(&u->ring);
  }
  if (!sqe) return -EBUSY;
  io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
  io_uring_sqe_set_data64(sqe, 0);
  io_uring_submit(&u->ring);
  return 0;
}

static void cancelled_in_backlog(tw_pending *p) {
  tw__uop *op = (tw__uop *)((char *)p - offsetof(tw__uop, p));
  op->state = U_DONE;
  op->done(op, -ECANCELED);
}

int tw__uring_cancel(tw__uop *op) {
  tw_loop *loop = op->loop;
  struct tw_uring *u = loop->uring;
  switch (op->state) {
  case U_BACKLOG:
    tw_queue_remove(&op->q);
    op->p.cb = cancelled_in_backlog;
    tw__pending_push(loop, &op->p);
    op->state = U_DONE; /* its CQE will never come */
    return 0;
  case U_RING:
    if (prep_cancel(u, op)) {
      /* No SQE now: retry from the flush, which only sees ops still in
       * the ring (reaping one takes it off this list). */
      tw_queue_push(&u->cancels, &op->q);
      schedule_flush(loop, u);
    }
    return 0;
  default:
    return -EALREADY;
  }
}
