/* uring-int.h: the loop's io_uring, for modules that submit operations to
 * the kernel instead of running them on worker threads (file operations).
 *
 * A module embeds a tw__uop in its request, sets prep (fill in the SQE;
 * called when there is room in the ring, possibly later than submit) and
 * done, and submits it. done runs on the loop exactly once, with the CQE's
 * result, or -ECANCELED if the operation was cancelled before it reached
 * the kernel. After a cancel that reached the kernel, done still gets the
 * CQE's result, which may be a success: the owner knows it cancelled and
 * decides what to report (and what to undo, e.g. close an opened fd). */
#ifndef TW_URING_INT_H
#define TW_URING_INT_H

#include "loop-int.h"

struct io_uring_sqe;

typedef struct tw__uop tw__uop;
struct tw__uop {
  void (*prep)(tw__uop *op, struct io_uring_sqe *sqe);
  void (*done)(tw__uop *op, int res);
  /* the ring's bookkeeping */
  tw_loop *loop;
  tw_queue q;   /* backlog while the ring is full */
  tw_pending p; /* the -ECANCELED completion of a backlogged op */
  int state;
};

/* 1 if the loop's file operations go through io_uring (decided, and the
 * ring set up, on the first call for a loop), else 0. */
int tw__uring_usable(tw_loop *loop);

/* Queue op; only valid when tw__uring_usable(). Returns 0: the ring takes
 * it now or as soon as earlier operations make room. */
int tw__uring_submit(tw_loop *loop, tw__uop *op);

/* Cancel op: 0 if done will still run (always, once), -EALREADY if it
 * already has. */
int tw__uring_cancel(tw__uop *op);

#endif
