/* loop.h: the libtrawl event loop and its basic handles.
 *
 * Vocabulary (the same in every libtrawl header):
 *   - A *handle* is long-lived: a loop, an io watcher, a timer, a signal
 *     watcher, a TCP or UDP socket, a packet capture, a DNS resolver. It is
 *     created with tw_X_new(loop, &out, ...), started and stopped as often as
 *     needed, and ended with tw_close(). Its memory stays valid until its
 *     close callback has run (at the end of the current loop iteration), so a
 *     callback may close its own handle.
 *   - A *request* (tw_req) is one-shot: a file operation, a DNS lookup, a
 *     work item for the thread pool. Its callback runs exactly once, with a
 *     status: 0 or a positive result on success, a negative error (see
 *     error.h) on failure, -ECANCELED when it was
 *     cancelled with tw_cancel() or by tw_loop_close().
 *   - Every callback gets a status. Errors are never raised any other way:
 *     the library never exits, aborts or prints on a network error or a bad
 *     argument; functions check their arguments and return -EINVAL.
 *
 * A loop belongs to one thread. The only functions that may be called from
 * other threads are tw_async_send() and tw_hrtime(). */
#ifndef TRAWL_LOOP_H
#define TRAWL_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <trawl/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_loop tw_loop;
typedef struct tw_req tw_req;
typedef struct tw_io tw_io;
typedef struct tw_timer tw_timer;
typedef struct tw_signal tw_signal;
typedef struct tw_async tw_async;
typedef struct tw_hook tw_hook;

/* ---- the loop ------------------------------------------------------------ */

typedef enum {
  TW_RUN_DEFAULT = 0, /* run until no active, referenced handle or request */
  TW_RUN_ONCE = 1,    /* one iteration; block for events if there is work */
  TW_RUN_NOWAIT = 2   /* one iteration; never block */
} tw_run_mode;

/* Create a loop. Returns 0 and sets *out, or a negative error. */
TW_API int tw_loop_new(tw_loop **out);

/* Run the loop. Returns 1 if there is still work left (after
 * tw_loop_stop() or in ONCE/NOWAIT mode), 0 if none, or a negative error
 * (-EINVAL for a bad argument, -EBUSY if called from a callback of the same
 * loop). */
TW_API int tw_loop_run(tw_loop *loop, tw_run_mode mode);

/* Make tw_loop_run() return after the current iteration. */
TW_API void tw_loop_stop(tw_loop *loop);

/* Cancel every pending request and close every handle: each outstanding
 * callback runs exactly once, with -ECANCELED, then every close callback
 * runs, then the loop is freed. Must not be called from inside the loop's
 * own callbacks (returns -EBUSY). */
TW_API int tw_loop_close(tw_loop *loop);

/* The loop's cached monotonic time in nanoseconds, updated at the start of
 * every iteration; tw_loop_update_time() refreshes it now. */
TW_API uint64_t tw_now(const tw_loop *loop);
TW_API void tw_loop_update_time(tw_loop *loop);

/* CLOCK_MONOTONIC in nanoseconds, uncached. Thread-safe. */
TW_API uint64_t tw_hrtime(void);

/* Number of iterations run so far (for tests and statistics). */
TW_API uint64_t tw_loop_iterations(const tw_loop *loop);

/* ---- every handle ---------------------------------------------------------
 * These take any libtrawl handle pointer (tw_timer *, tw_tcp *, ...). */

typedef void (*tw_close_cb)(void *handle);

/* Stop the handle, cancel its operations (their callbacks get -ECANCELED),
 * and free it after `cb` (may be NULL) has run at the end of the current
 * iteration. Returns -EALREADY if the handle is already closing, -EINVAL
 * for NULL or a pointer that is not a live handle. */
TW_API int tw_close(void *handle, tw_close_cb cb);
TW_API int tw_is_closing(const void *handle);
TW_API int tw_is_active(const void *handle);
TW_API void *tw_data(const void *handle);
TW_API void tw_set_data(void *handle, void *data);
TW_API tw_loop *tw_handle_loop(const void *handle);
/* An unreferenced active handle does not keep tw_loop_run() running. */
TW_API void tw_ref(void *handle);
TW_API void tw_unref(void *handle);

/* ---- every request -------------------------------------------------------- */

/* Cancel a pending request. Its callback still runs exactly once, with
 * -ECANCELED (or with its real result if it had already completed). If the
 * operation is already running in the kernel or on a worker thread, the
 * callback runs once that work has let go of any buffer it was given.
 * Returns 0, -EALREADY if already cancelled or completed, -EINVAL for NULL. */
TW_API int tw_cancel(tw_req *req);
TW_API void *tw_req_data(const tw_req *req);

/* ---- io watchers: readiness of any file descriptor ----------------------- */

enum { TW_READABLE = 1, TW_WRITABLE = 2, TW_PRIORITY = 4, TW_HANGUP = 8,
       TW_ERROR = 16 };
/* status is 0, or -ECANCELED when the loop is closed under an active watcher;
 * events is a mask of TW_READABLE ... TW_ERROR. */
typedef void (*tw_io_cb)(tw_io *io, int status, int events);

/* Watch `fd` (not owned: tw_close() does not close it). Returns -EBADF for
 * an invalid fd, -EPERM for an fd epoll cannot watch (regular files). */
TW_API int tw_io_new(tw_loop *loop, tw_io **out, int fd, tw_io_cb cb, void *data);
/* Set the events to wait for (TW_READABLE | TW_WRITABLE | TW_PRIORITY);
 * 0 stops watching. Level-triggered. */
TW_API int tw_io_start(tw_io *io, int events);
TW_API int tw_io_stop(tw_io *io);
TW_API int tw_io_fd(const tw_io *io);

/* ---- timers ---------------------------------------------------------------- */

/* status is 0 when the timer expired, -ECANCELED when the loop was closed
 * while it was pending. */
typedef void (*tw_timer_cb)(tw_timer *t, int status);

/* A timer's memory is a complete type, so a program with many timers can
 * embed one in each of its own objects and start them with no allocation
 * (tw_timer_init); tw_timer_new allocates one. The bytes are private to
 * libtrawl (the same idiom as pthread_mutex_t); their size is checked
 * against the implementation when libtrawl is built. */
#define TW_TIMER_SIZE 80
struct tw_timer {
  union {
    uint64_t align_;
    void *ptr_;
    unsigned char bytes_[TW_TIMER_SIZE];
  } tw_private_;
};

TW_API int tw_timer_new(tw_loop *loop, tw_timer **out, void *data);
/* Make *t, memory the caller owns, a timer of loop: a handle like any
 * other (tw_close ends it), except that libtrawl never frees it. The
 * memory must stay valid and unmoved until the close callback has run, or
 * the loop is closed. Returns 0, -EINVAL, or -ECANCELED if the loop is
 * closing. */
TW_API int tw_timer_init(tw_loop *loop, tw_timer *t, void *data);
/* Fire after timeout_ns, then every repeat_ns if that is non-zero. Starting
 * a started timer re-arms it. May be called from the timer's own callback.
 * The timeout counts from tw_now(), the time cached at the start of the
 * loop's current pass: after long work in a callback, call
 * tw_loop_update_time() first. */
TW_API int tw_timer_start(tw_timer *t, tw_timer_cb cb, uint64_t timeout_ns,
                          uint64_t repeat_ns);
/* Stop a timer; stopping a stopped timer is a no-op returning 0. */
TW_API int tw_timer_stop(tw_timer *t);
/* Absolute loop time (tw_now() clock) of the next expiry, 0 if stopped. */
TW_API uint64_t tw_timer_due(const tw_timer *t);

/* ---- signals (signalfd: the callback runs on the loop, not in a handler) */

typedef void (*tw_signal_cb)(tw_signal *s, int status, int signum);
TW_API int tw_signal_new(tw_loop *loop, tw_signal **out, void *data);
/* Block `signum` in the calling thread and deliver it to cb. Several
 * watchers may watch the same signal. -EINVAL for SIGKILL, SIGSTOP or an
 * invalid number. */
TW_API int tw_signal_start(tw_signal *s, tw_signal_cb cb, int signum);
TW_API int tw_signal_stop(tw_signal *s);

/* ---- wake-ups from other threads ----------------------------------------- */

/* Runs on the loop after one or more tw_async_send() calls (coalesced). */
typedef void (*tw_async_cb)(tw_async *a, int status);
TW_API int tw_async_new(tw_loop *loop, tw_async **out, tw_async_cb cb, void *data);
/* Thread-safe and async-signal-safe. */
TW_API int tw_async_send(tw_async *a);

/* ---- hooks: run a callback at a fixed point of every iteration ----------- */

typedef enum {
  TW_HOOK_PREPARE = 1, /* just before the loop waits for events */
  TW_HOOK_CHECK = 2,   /* just after events were dispatched */
  TW_HOOK_IDLE = 3     /* like PREPARE, but keeps the wait from blocking */
} tw_hook_kind;
typedef void (*tw_hook_cb)(tw_hook *h, int status);
TW_API int tw_hook_new(tw_loop *loop, tw_hook **out, tw_hook_kind kind, void *data);
TW_API int tw_hook_start(tw_hook *h, tw_hook_cb cb);
TW_API int tw_hook_stop(tw_hook *h);

#ifdef __cplusplus
}
#endif
#endif
