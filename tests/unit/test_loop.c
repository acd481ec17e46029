/* test_loop.c: the loop core — timers, io watchers, hooks, signals, async
 * wake-ups, handle lifetime (close from own callback, double close) and
 * loop teardown with work pending. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <trawl/trawl.h>

#define MS 1000000ull

static tw_loop *new_loop(void) {
  tw_loop *loop = NULL;
  assert_int_equal(tw_loop_new(&loop), 0);
  assert_non_null(loop);
  return loop;
}

/* ---- timers ---------------------------------------------------------------- */

static int order[16], norder;
static void record_cb(tw_timer *t, int status) {
  assert_int_equal(status, 0);
  order[norder++] = (int)(intptr_t)tw_data(t);
}

static void test_timer_order(void **state) {
  tw_loop *loop = new_loop();
  norder = 0;
  /* Started out of order; two share a deadline and must keep start order. */
  const uint64_t when[] = {30, 10, 20, 10, 0};
  const int expect[] = {4, 1, 3, 2, 0};
  tw_timer *t[5];
  for (int i = 0; i < 5; i++) {
    assert_int_equal(tw_timer_new(loop, &t[i], (void *)(intptr_t)i), 0);
    assert_int_equal(tw_timer_start(t[i], record_cb, when[i] * MS, 0), 0);
  }
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(norder, 5);
  for (int i = 0; i < 5; i++) assert_int_equal(order[i], expect[i]);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void test_timer_not_early(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *t;
  norder = 0;
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  uint64_t start = tw_hrtime();
  assert_int_equal(tw_timer_start(t, record_cb, 20 * MS, 0), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(norder, 1);
  assert_true(tw_hrtime() - start >= 20 * MS);
  assert_int_equal(tw_loop_close(loop), 0);
}

static int repeats;
static void repeat_cb(tw_timer *t, int status) {
  assert_int_equal(status, 0);
  if (++repeats == 5) assert_int_equal(tw_timer_stop(t), 0);
}

static void test_timer_repeat_and_stop(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *t;
  repeats = 0;
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  assert_int_equal(tw_timer_start(t, repeat_cb, 1 * MS, 1 * MS), 0);
  assert_int_not_equal(tw_timer_due(t), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(repeats, 5);
  assert_int_equal(tw_timer_due(t), 0);
  assert_false(tw_is_active(t));
  assert_int_equal(tw_timer_stop(t), 0); /* stopping a stopped timer */
  assert_int_equal(tw_loop_close(loop), 0);
}

/* A timer re-armed with timeout 0 from its own callback runs once per pass:
 * it cannot keep the loop from reaching its I/O phase. */
static int zero_runs;
static uint64_t zero_first_iter;
static void zero_cb(tw_timer *t, int status) {
  tw_loop *loop = tw_handle_loop(t);
  if (zero_runs == 0) zero_first_iter = tw_loop_iterations(loop);
  /* Every run happens in a later iteration than the previous one. */
  assert_int_equal(tw_loop_iterations(loop), zero_first_iter + (uint64_t)zero_runs);
  if (++zero_runs < 10) assert_int_equal(tw_timer_start(t, zero_cb, 0, 0), 0);
}

static void test_timer_zero_rearm(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *t;
  zero_runs = 0;
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  assert_int_equal(tw_timer_start(t, zero_cb, 0, 0), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(zero_runs, 10);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* Many timers with random deadlines, half of them stopped: exactly the
 * other half fire, each once, in deadline order. */
#define NT 20000
static int fired[NT];
static uint64_t deadline[NT], last_deadline;
static void many_cb(tw_timer *t, int status) {
  intptr_t i = (intptr_t)tw_data(t);
  fired[i]++;
  /* never before its deadline, and deadlines come in order */
  assert_true(tw_now(tw_handle_loop(t)) >= deadline[i]);
  assert_true(deadline[i] >= last_deadline);
  last_deadline = deadline[i];
}

static void test_timer_many(void **state) {
  tw_loop *loop = new_loop();
  static tw_timer *t[NT];
  srand(42);
  memset(fired, 0, sizeof fired);
  for (intptr_t i = 0; i < NT; i++) {
    assert_int_equal(tw_timer_new(loop, &t[i], (void *)i), 0);
    assert_int_equal(tw_timer_start(t[i], many_cb, (uint64_t)(rand() % 5000) * 1000, 0), 0);
    deadline[i] = tw_timer_due(t[i]);
  }
  for (int i = 0; i < NT; i += 2) assert_int_equal(tw_timer_stop(t[i]), 0);
  /* Restart a quarter with a new deadline: re-arming replaces the old one. */
  for (int i = 1; i < NT; i += 4) {
    assert_int_equal(tw_timer_start(t[i], many_cb, 100, 0), 0);
    deadline[i] = tw_timer_due(t[i]);
  }
  last_deadline = 0;
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  for (int i = 0; i < NT; i++) assert_int_equal(fired[i], i % 2 ? 1 : 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* Embedded timers (tw_timer_init, memory of the test's own), with heavy
 * ties: 3,000 timers over four due times, a third stopped, a third
 * re-armed (re-arming makes a timer the latest started). They fire in
 * (due, start order), each live one once: the heap's 128-bit key and its
 * root removal (pop_root) must keep ties first-in, first-out. */
#define NE 3000
static int closed_count;
static void count_close(void *h);
static int ecancelled;
static void ecancel_cb(tw_timer *t, int status) {
  assert_int_equal(status, -ECANCELED);
  ecancelled++;
}
struct etimer {
  int id;
  tw_timer t; /* embedded, not at the start of the struct */
  uint64_t due, order;
};
static struct etimer et[NE];
static int efired[NE], efire_count;
static uint64_t elast_due, elast_order;
static void embedded_cb(tw_timer *t, int status) {
  assert_int_equal(status, 0);
  struct etimer *e = (struct etimer *)((char *)t - offsetof(struct etimer, t));
  assert_ptr_equal(tw_data(t), e);
  efired[e->id]++;
  efire_count++;
  assert_true(e->due > elast_due || (e->due == elast_due && e->order > elast_order));
  elast_due = e->due;
  elast_order = e->order;
}

static void test_timer_embedded_ties(void **state) {
  tw_loop *loop = new_loop();
  uint64_t order = 0;
  srand(7);
  memset(efired, 0, sizeof efired);
  efire_count = 0;
  tw_loop_update_time(loop);
  for (int i = 0; i < NE; i++) {
    et[i].id = i;
    assert_int_equal(tw_timer_init(loop, &et[i].t, &et[i]), 0);
    assert_int_equal(tw_timer_start(&et[i].t, embedded_cb, (uint64_t)(rand() % 4) * MS, 0), 0);
    et[i].due = tw_timer_due(&et[i].t);
    et[i].order = order++;
  }
  for (int i = 0; i < NE; i += 3) assert_int_equal(tw_timer_stop(&et[i].t), 0);
  for (int i = 1; i < NE; i += 3) {
    assert_int_equal(tw_timer_start(&et[i].t, embedded_cb, (uint64_t)(rand() % 4) * MS, 0), 0);
    et[i].due = tw_timer_due(&et[i].t);
    et[i].order = order++;
  }
  elast_due = elast_order = 0;
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  for (int i = 0; i < NE; i++) assert_int_equal(efired[i], i % 3 ? 1 : 0);
  assert_int_equal(efire_count, NE - (NE + 2) / 3);
  /* Closing an embedded timer runs its close callback and frees nothing
   * (ASan would report a free of memory malloc never gave). */
  closed_count = 0;
  for (int i = 0; i < 10; i++) assert_int_equal(tw_close(&et[i].t, count_close), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(closed_count, 10);
  assert_int_equal(et[9].id, 9); /* the owner's memory around it is intact */
  /* A started embedded timer at loop close hears -ECANCELED; the rest are
   * closed without being freed. */
  ecancelled = 0;
  assert_int_equal(tw_timer_start(&et[20].t, ecancel_cb, 60 * 1000 * MS, 0), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(ecancelled, 1);
}

static void test_timer_init_bad(void **state) {
  tw_loop *loop = new_loop();
  struct etimer e;
  assert_int_equal(tw_timer_init(NULL, &e.t, NULL), -EINVAL);
  assert_int_equal(tw_timer_init(loop, NULL, NULL), -EINVAL);
  memset(&e.t, 0, sizeof e.t); /* never initialised */
  assert_int_equal(tw_timer_start(&e.t, embedded_cb, 0, 0), -EINVAL);
  assert_int_equal(tw_timer_stop(&e.t), -EINVAL);
  assert_int_equal(tw_timer_due(&e.t), 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- handle lifetime ------------------------------------------------------ */

static int closed_count;
static void count_close(void *h) { closed_count++; }

static void self_close_cb(tw_timer *t, int status) {
  assert_int_equal(tw_close(t, count_close), 0);
  /* Still valid until the close callback ran: a second close is refused. */
  assert_int_equal(tw_close(t, count_close), -EALREADY);
  assert_true(tw_is_closing(t));
  assert_int_equal(tw_timer_start(t, self_close_cb, 0, 0), -ECANCELED);
}

static void test_close_in_own_callback(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *t;
  closed_count = 0;
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  assert_int_equal(tw_timer_start(t, self_close_cb, 0, 1 * MS), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(closed_count, 1);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void test_bad_arguments(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *t;
  tw_io *io;
  tw_hook *h;
  tw_signal *s;
  assert_int_equal(tw_loop_new(NULL), -EINVAL);
  assert_int_equal(tw_loop_run(NULL, TW_RUN_DEFAULT), -EINVAL);
  assert_int_equal(tw_loop_run(loop, (tw_run_mode)77), -EINVAL);
  assert_int_equal(tw_loop_close(NULL), -EINVAL);
  assert_int_equal(tw_timer_new(NULL, &t, NULL), -EINVAL);
  assert_int_equal(tw_timer_new(loop, NULL, NULL), -EINVAL);
  assert_int_equal(tw_timer_start(NULL, record_cb, 0, 0), -EINVAL);
  assert_int_equal(tw_timer_stop(NULL), -EINVAL);
  assert_int_equal(tw_close(NULL, NULL), -EINVAL);
  int not_a_handle[16] = {0};
  assert_int_equal(tw_close(not_a_handle, NULL), -EINVAL);
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  assert_int_equal(tw_timer_start(t, NULL, 0, 0), -EINVAL);
  /* a timer is not an io watcher */
  assert_int_equal(tw_io_start((tw_io *)t, TW_READABLE), -EINVAL);
  assert_int_equal(tw_io_new(loop, &io, -1, NULL, NULL), -EINVAL);
  assert_int_equal(tw_hook_new(loop, &h, (tw_hook_kind)9, NULL), -EINVAL);
  assert_int_equal(tw_signal_new(loop, &s, NULL), 0);
  assert_int_equal(tw_signal_start(s, NULL, SIGUSR1), -EINVAL);
  assert_int_equal(tw_cancel(NULL), -EINVAL);
  assert_null(tw_data(NULL));
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- io watchers ----------------------------------------------------------- */

static int io_events, io_calls;
static void pipe_cb(tw_io *io, int status, int events) {
  assert_int_equal(status, 0);
  io_calls++;
  io_events |= events;
  char buf[8];
  assert_int_equal(read(tw_io_fd(io), buf, sizeof buf), 3);
  assert_int_equal(tw_io_stop(io), 0);
}

static void test_io_pipe(void **state) {
  tw_loop *loop = new_loop();
  int p[2];
  assert_int_equal(pipe2(p, O_NONBLOCK), 0);
  tw_io *io;
  io_events = io_calls = 0;
  assert_int_equal(tw_io_new(loop, &io, p[0], pipe_cb, NULL), 0);
  assert_int_equal(tw_io_start(io, TW_READABLE), 0);
  assert_int_equal(write(p[1], "abc", 3), 3);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(io_calls, 1);
  assert_true(io_events & TW_READABLE);
  assert_int_equal(tw_close(io, NULL), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  /* the watcher does not own the fd */
  assert_int_equal(fcntl(p[0], F_GETFD), FD_CLOEXEC & 0);
  close(p[0]);
  close(p[1]);
}

static void never_io(tw_io *io, int status, int events) { fail(); }

static void test_io_bad_fds(void **state) {
  tw_loop *loop = new_loop();
  tw_io *io;
  assert_int_equal(tw_io_new(loop, &io, -1, never_io, NULL), -EBADF);
  assert_int_equal(tw_io_new(loop, &io, 100000, never_io, NULL), -EBADF);
  int fd = open("/proc/self/status", O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(tw_io_new(loop, &io, fd, never_io, NULL), -EPERM);
  close(fd);
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(tw_io_new(loop, &io, p[0], never_io, NULL), 0);
  assert_int_equal(tw_io_start(io, 0x400), -EINVAL);
  assert_int_equal(tw_close(io, NULL), 0);
  assert_int_equal(tw_close(io, NULL), -EALREADY);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  close(p[0]);
  close(p[1]);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* The fd is closed behind the watcher's back before the loop registers it:
 * the watcher hears -EBADF once instead of the loop failing. */
static int badfd_status;
static void badfd_cb(tw_io *io, int status, int events) { badfd_status = status; }

static void test_io_fd_closed_under_watcher(void **state) {
  tw_loop *loop = new_loop();
  int p[2];
  assert_int_equal(pipe(p), 0);
  tw_io *io;
  badfd_status = 1;
  assert_int_equal(tw_io_new(loop, &io, p[0], badfd_cb, NULL), 0);
  assert_int_equal(tw_io_start(io, TW_READABLE), 0);
  close(p[0]);
  close(p[1]);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(badfd_status, -EBADF);
  assert_false(tw_is_active(io));
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- hooks ----------------------------------------------------------------- */

static char trace[64];
static int ntrace;
static void prep_cb(tw_hook *h, int status) { trace[ntrace++] = 'p'; }
static void check_cb(tw_hook *h, int status) {
  trace[ntrace++] = 'c';
  if (ntrace >= 6) {
    tw_hook_stop(h);
    tw_hook_stop(tw_data(h));
  }
}
static void idle_cb(tw_hook *h, int status) {
  trace[ntrace++] = 'i';
  if (ntrace >= 6) tw_close(h, NULL);
}

static void test_hooks(void **state) {
  tw_loop *loop = new_loop();
  tw_hook *p, *c, *i;
  ntrace = 0;
  memset(trace, 0, sizeof trace);
  assert_int_equal(tw_hook_new(loop, &p, TW_HOOK_PREPARE, NULL), 0);
  assert_int_equal(tw_hook_new(loop, &c, TW_HOOK_CHECK, p), 0);
  assert_int_equal(tw_hook_new(loop, &i, TW_HOOK_IDLE, NULL), 0);
  assert_int_equal(tw_hook_start(p, prep_cb), 0);
  assert_int_equal(tw_hook_start(c, check_cb), 0);
  assert_int_equal(tw_hook_start(i, idle_cb), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  /* idle before prepare, check after the wait; the idle hook keeps the
   * wait from blocking until it closes itself */
  assert_string_equal(trace, "ipcipci");
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- signals ----------------------------------------------------------------- */

static int got_signal;
static void sig_cb(tw_signal *s, int status, int signum) {
  assert_int_equal(status, 0);
  got_signal = signum;
  tw_signal_stop(s);
}

static void test_signal(void **state) {
  tw_loop *loop = new_loop();
  tw_signal *s;
  got_signal = 0;
  assert_int_equal(tw_signal_new(loop, &s, NULL), 0);
  assert_int_equal(tw_signal_start(s, sig_cb, SIGKILL), -EINVAL);
  assert_int_equal(tw_signal_start(s, sig_cb, 0), -EINVAL);
  assert_int_equal(tw_signal_start(s, sig_cb, SIGUSR1), 0);
  assert_int_equal(kill(getpid(), SIGUSR1), 0); /* blocked: waits in the signalfd */
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(got_signal, SIGUSR1);
  assert_int_equal(tw_loop_close(loop), 0);
  /* the loop restored the mask: SIGUSR1 is no longer blocked */
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  assert_false(sigismember(&cur, SIGUSR1));
}

/* ---- async ------------------------------------------------------------------- */

static int async_calls;
static void async_cb(tw_async *a, int status) {
  assert_int_equal(status, 0);
  async_calls++;
  tw_close(a, NULL);
}

static void *sender(void *arg) {
  for (int i = 0; i < 1000; i++) tw_async_send(arg);
  return NULL;
}

static void test_async_from_thread(void **state) {
  tw_loop *loop = new_loop();
  tw_async *a;
  async_calls = 0;
  assert_int_equal(tw_async_new(loop, &a, async_cb, NULL), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, sender, a), 0);
  pthread_join(th, NULL);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(async_calls, 1); /* 1000 sends coalesced, then closed */
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- teardown --------------------------------------------------------------- */

static int cancel_timer_status, cancel_timer_calls, cancel_io_calls, cancel_sig_calls;
static void cancel_timer_cb(tw_timer *t, int status) {
  cancel_timer_calls++;
  cancel_timer_status = status;
  /* no new work while the loop is closing */
  tw_timer *t2;
  assert_int_equal(tw_timer_new(tw_handle_loop(t), &t2, NULL), -ECANCELED);
}
static void cancel_io_cb(tw_io *io, int status, int events) {
  assert_int_equal(status, -ECANCELED);
  cancel_io_calls++;
}
static void cancel_sig_cb(tw_signal *s, int status, int signum) {
  assert_int_equal(status, -ECANCELED);
  assert_int_equal(signum, SIGUSR2);
  cancel_sig_calls++;
}

static void test_loop_close_cancels(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *t, *idle_t;
  tw_io *io;
  tw_signal *s;
  int p[2];
  assert_int_equal(pipe(p), 0);
  cancel_timer_calls = cancel_io_calls = cancel_sig_calls = 0;
  closed_count = 0;
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  assert_int_equal(tw_timer_start(t, cancel_timer_cb, 3600 * 1000 * MS, 0), 0);
  assert_int_equal(tw_timer_new(loop, &idle_t, NULL), 0); /* never started */
  assert_int_equal(tw_io_new(loop, &io, p[0], cancel_io_cb, NULL), 0);
  assert_int_equal(tw_io_start(io, TW_READABLE), 0);
  assert_int_equal(tw_signal_new(loop, &s, NULL), 0);
  assert_int_equal(tw_signal_start(s, cancel_sig_cb, SIGUSR2), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_NOWAIT), 1);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(cancel_timer_calls, 1);
  assert_int_equal(cancel_timer_status, -ECANCELED);
  assert_int_equal(cancel_io_calls, 1);
  assert_int_equal(cancel_sig_calls, 1);
  close(p[0]);
  close(p[1]);
}

static int nested_rc;
static void nested_cb(tw_timer *t, int status) {
  nested_rc = tw_loop_run(tw_handle_loop(t), TW_RUN_DEFAULT);
  assert_int_equal(tw_loop_close(tw_handle_loop(t)), -EBUSY);
}

static void test_no_reentry(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *t;
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  assert_int_equal(tw_timer_start(t, nested_cb, 0, 0), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(nested_rc, -EBUSY);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void stop_cb(tw_timer *t, int status) { tw_loop_stop(tw_handle_loop(t)); }
static int bg_status = 1;
static void bg_cb(tw_timer *t, int status) { bg_status = status; }

static void test_stop_and_unref(void **state) {
  tw_loop *loop = new_loop();
  tw_timer *rep, *bg;
  assert_int_equal(tw_timer_new(loop, &rep, NULL), 0);
  assert_int_equal(tw_timer_start(rep, stop_cb, 1 * MS, 1 * MS), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 1); /* stopped, work left */
  tw_timer_stop(rep);
  /* an unreferenced timer does not keep the loop alive */
  assert_int_equal(tw_timer_new(loop, &bg, NULL), 0);
  assert_int_equal(tw_timer_start(bg, bg_cb, 3600 * 1000 * MS, 0), 0);
  tw_unref(bg);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  tw_ref(bg);
  assert_int_equal(tw_loop_run(loop, TW_RUN_NOWAIT), 1);
  assert_int_equal(bg_status, 1); /* never fired */
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(bg_status, -ECANCELED);
}

static void test_errors(void **state) {
  assert_string_equal(tw_errname(-ECONNREFUSED), "ECONNREFUSED");
  assert_string_equal(tw_errname(TW_EOF), "TW_EOF");
  assert_string_equal(tw_strerror(TW_ENOTFOUND), "name or address not found");
  assert_non_null(tw_strerror(-123456));
  assert_string_equal(tw_errname(12345), "UNKNOWN");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_timer_order),
    cmocka_unit_test(test_timer_not_early),
    cmocka_unit_test(test_timer_repeat_and_stop),
    cmocka_unit_test(test_timer_zero_rearm),
    cmocka_unit_test(test_timer_many),
    cmocka_unit_test(test_close_in_own_callback),
    cmocka_unit_test(test_timer_embedded_ties),
    cmocka_unit_test(test_timer_init_bad),
    cmocka_unit_test(test_bad_arguments),
    cmocka_unit_test(test_io_pipe),
    cmocka_unit_test(test_io_bad_fds),
    cmocka_unit_test(test_io_fd_closed_under_watcher),
    cmocka_unit_test(test_hooks),
    cmocka_unit_test(test_signal),
    cmocka_unit_test(test_async_from_thread),
    cmocka_unit_test(test_loop_close_cancels),
    cmocka_unit_test(test_no_reentry),
    cmocka_unit_test(test_stop_and_unref),
    cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
