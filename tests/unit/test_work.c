/* test_work.c: tw_work() and the worker thread pool — results and threads,
 * pool size, cancelling queued and running work (a worker blocked in
 * read(2) is interrupted), signal masks of workers, loop close with work
 * pending, and no fd or memory left behind. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <trawl/trawl.h>

#define MS 1000000ull

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static tw_loop *new_loop(const char *pool_size) {
  if (pool_size) setenv("TRAWL_THREADPOOL_SIZE", pool_size, 1);
  else unsetenv("TRAWL_THREADPOOL_SIZE");
  tw_loop *loop = NULL;
  assert_int_equal(tw_loop_new(&loop), 0);
  return loop;
}

/* One record per work item: what the worker saw, what the loop got. */
typedef struct item {
  pthread_t worker;
  int ran;              /* work started */
  atomic_int returned;  /* work returned */
  int work_err;         /* errno seen by a blocking work function */
  int afters;           /* times after ran */
  int status;           /* status given to after */
  int value;            /* what work returns */
  tw_req *req;
  pthread_barrier_t *barrier;
  int started_fd;       /* blocking work: write a byte here when started */
  int block_fd;         /* blocking work: read a byte from here */
} item;

static pthread_t loop_thread;

static void after_cb(tw_req *req, int status, void *data) {
  item *it = data;
  assert_true(pthread_equal(pthread_self(), loop_thread));
  assert_ptr_equal(tw_req_data(req), data);
  /* A request is complete once after runs: cancelling it is too late. */
  assert_int_equal(tw_cancel(req), -EALREADY);
  it->afters++;
  it->status = status;
}

static int simple_work(void *data) {
  item *it = data;
  it->worker = pthread_self();
  it->ran = 1;
  atomic_store(&it->returned, 1);
  return it->value;
}

static void test_work_result_and_thread(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop(NULL);
  loop_thread = pthread_self();
  item a = {.value = 42}, b = {.value = -ENOENT};
  assert_int_equal(tw_work(loop, &a.req, simple_work, after_cb, &a), 0);
  assert_non_null(a.req);
  assert_int_equal(tw_work(loop, NULL, simple_work, after_cb, &b), 0); /* req optional */
  assert_int_equal(a.afters, 0); /* never synchronous */
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(a.afters, 1);
  assert_int_equal(a.status, 42);
  assert_int_equal(b.afters, 1);
  assert_int_equal(b.status, -ENOENT);
  assert_false(pthread_equal(a.worker, loop_thread));
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(count_fds(), fds);
}

static void test_work_bad_args(void **state) {
  tw_loop *loop = new_loop(NULL);
  tw_req *req = (tw_req *)&req;
  item a = {0};
  assert_int_equal(tw_work(NULL, &req, simple_work, after_cb, &a), -EINVAL);
  assert_null(req);
  assert_int_equal(tw_work(loop, &req, NULL, after_cb, &a), -EINVAL);
  assert_int_equal(tw_work(loop, &req, simple_work, NULL, &a), -EINVAL);
  assert_int_equal(tw_cancel(NULL), -EINVAL);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0); /* nothing pending */
  assert_int_equal(a.ran, 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* Many items, each completed exactly once with its own value. */
#define NMANY 2000
static item many[NMANY];

static void test_work_many(void **state) {
  tw_loop *loop = new_loop(NULL);
  loop_thread = pthread_self();
  memset(many, 0, sizeof many);
  for (int i = 0; i < NMANY; i++) {
    many[i].value = i;
    assert_int_equal(tw_work(loop, NULL, simple_work, after_cb, &many[i]), 0);
  }
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  for (int i = 0; i < NMANY; i++) {
    assert_int_equal(many[i].afters, 1);
    assert_int_equal(many[i].status, i);
  }
  assert_int_equal(tw_loop_close(loop), 0);
}

/* Chained: each after queues the next item. */
static int chain_left;
static tw_loop *chain_loop;
static void chain_after(tw_req *req, int status, void *data) {
  item *it = data;
  it->afters++;
  assert_int_equal(status, it->value);
  if (--chain_left > 0) {
    it->value++;
    assert_int_equal(tw_work(chain_loop, NULL, simple_work, chain_after, it), 0);
  }
}

static void test_work_chain(void **state) {
  tw_loop *loop = new_loop(NULL);
  item it = {.value = 0};
  chain_loop = loop;
  chain_left = 50;
  assert_int_equal(tw_work(loop, NULL, simple_work, chain_after, &it), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(it.afters, 50);
  assert_int_equal(chain_left, 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- concurrency and pool size ------------------------------------------- */

static int barrier_work(void *data) {
  item *it = data;
  it->ran = 1;
  pthread_barrier_wait(it->barrier); /* only returns once N wait at once */
  return 7;
}

/* N items meeting at a barrier of N complete only if N run at once. */
static void run_barrier(const char *size, unsigned n) {
  tw_loop *loop = new_loop(size);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, n);
  item it[16];
  memset(it, 0, sizeof it);
  loop_thread = pthread_self();
  for (unsigned i = 0; i < n; i++) {
    it[i].barrier = &bar;
    assert_int_equal(tw_work(loop, NULL, barrier_work, after_cb, &it[i]), 0);
  }
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  for (unsigned i = 0; i < n; i++) {
    assert_int_equal(it[i].afters, 1);
    assert_int_equal(it[i].status, 7);
  }
  pthread_barrier_destroy(&bar);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void test_work_pool_size(void **state) {
  run_barrier(NULL, 4);   /* default: 4 workers */
  run_barrier("6", 6);    /* TRAWL_THREADPOOL_SIZE */
  run_barrier("bogus", 4);
}

/* ---- blocking work: started signal, then read(2) on a pipe ---------------- */

static int blocking_work(void *data) {
  item *it = data;
  it->worker = pthread_self();
  it->ran = 1;
  char c = 's';
  /* No cmocka asserts on a worker thread: they longjmp. A failed write
   * shows up as a test that never sees the item start. */
  if (write(it->started_fd, &c, 1) != 1) return -1000;
  ssize_t n = read(it->block_fd, &c, 1);
  it->work_err = n < 0 ? errno : 0;
  atomic_store(&it->returned, 1);
  return n < 0 ? -errno : (int)n;
}

/* Counts "started" bytes on the loop; stops the loop at `want`. */
typedef struct watcher {
  int got, want;
  tw_loop *loop;
} watcher;

static void started_cb(tw_io *io, int status, int events) {
  watcher *w = tw_data(io);
  if (status) return;
  char buf[64];
  ssize_t n = read(tw_io_fd(io), buf, sizeof buf);
  if (n > 0) w->got += (int)n;
  if (w->got >= w->want) tw_loop_stop(w->loop);
}

typedef struct rig {
  int started[2], block[2];
  tw_io *io;
  watcher w;
} rig;

static void rig_open(tw_loop *loop, rig *r) {
  assert_int_equal(pipe2(r->started, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(pipe2(r->block, O_CLOEXEC), 0);
  r->w.loop = loop;
  r->w.got = 0;
  assert_int_equal(tw_io_new(loop, &r->io, r->started[0], started_cb, &r->w), 0);
  assert_int_equal(tw_io_start(r->io, TW_READABLE), 0);
}

/* Run until `want` items have announced they started. */
static void rig_wait(tw_loop *loop, rig *r, int want) {
  r->w.want = want;
  while (r->w.got < want) assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 1);
}

static void rig_close_fds(rig *r) {
  close(r->started[0]);
  close(r->started[1]);
  close(r->block[0]);
  close(r->block[1]);
}

static void blocker_init(item *it, rig *r) {
  memset(it, 0, sizeof *it);
  it->started_fd = r->started[1];
  it->block_fd = r->block[0];
}

/* With every worker busy, one more item stays queued: cancelling it
 * completes it with -ECANCELED on a later pass, and it never runs. */
static void test_work_cancel_queued(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop("2");
  loop_thread = pthread_self();
  rig r;
  rig_open(loop, &r);
  item b[2], q = {0};
  for (int i = 0; i < 2; i++) {
    blocker_init(&b[i], &r);
    assert_int_equal(tw_work(loop, &b[i].req, blocking_work, after_cb, &b[i]), 0);
  }
  rig_wait(loop, &r, 2);
  assert_int_equal(tw_work(loop, &q.req, simple_work, after_cb, &q), 0);
  assert_int_equal(tw_cancel(q.req), 0);
  assert_int_equal(q.afters, 0); /* not from inside tw_cancel */
  assert_int_equal(tw_cancel(q.req), -EALREADY);
  assert_int_equal(tw_loop_run(loop, TW_RUN_NOWAIT), 1);
  assert_int_equal(q.afters, 1);
  assert_int_equal(q.status, -ECANCELED);
  assert_int_equal(q.ran, 0);
  /* Release the two blockers: they finish normally. */
  assert_int_equal(write(r.block[1], "xx", 2), 2);
  tw_close(r.io, NULL);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(b[i].afters, 1);
    assert_int_equal(b[i].status, 1);
  }
  assert_int_equal(q.ran, 0);
  assert_int_equal(tw_loop_close(loop), 0);
  rig_close_fds(&r);
  assert_int_equal(count_fds(), fds);
}

/* A running item blocked in read(2): cancel interrupts the read, and after
 * runs with -ECANCELED only once the work function has returned. Repeated,
 * since the cancel races with the worker entering read(). */
static void cancel_running_after(tw_req *req, int status, void *data) {
  item *it = data;
  assert_int_equal(atomic_load(&it->returned), 1); /* buffers released */
  after_cb(req, status, data);
}

static void test_work_cancel_running(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop("2");
  loop_thread = pthread_self();
  rig r;
  rig_open(loop, &r);
  for (int round = 0; round < 30; round++) {
    item it;
    blocker_init(&it, &r);
    int base = r.w.got;
    assert_int_equal(tw_work(loop, &it.req, blocking_work, cancel_running_after, &it), 0);
    rig_wait(loop, &r, base + 1);
    assert_int_equal(tw_cancel(it.req), 0);
    assert_int_equal(tw_cancel(it.req), -EALREADY);
    while (it.afters == 0) assert_true(tw_loop_run(loop, TW_RUN_ONCE) >= 0);
    assert_int_equal(it.afters, 1);
    assert_int_equal(it.status, -ECANCELED);
    assert_int_equal(it.work_err, EINTR);
  }
  /* The pipe still holds nothing: no interrupted read consumed data, and
   * the workers are fine afterwards. */
  item ok = {.value = 5};
  assert_int_equal(tw_work(loop, NULL, simple_work, after_cb, &ok), 0);
  tw_close(r.io, NULL);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(ok.status, 5);
  assert_int_equal(tw_loop_close(loop), 0);
  rig_close_fds(&r);
  assert_int_equal(count_fds(), fds);
}

/* Cancel straight after submitting: queued or just started, the result
 * is -ECANCELED either way, and nothing hangs. */
static void test_work_cancel_at_once(void **state) {
  tw_loop *loop = new_loop("3");
  loop_thread = pthread_self();
  rig r;
  rig_open(loop, &r);
  tw_close(r.io, NULL);
  item it[40];
  for (int i = 0; i < 40; i++) {
    blocker_init(&it[i], &r);
    assert_int_equal(tw_work(loop, &it[i].req, blocking_work, after_cb, &it[i]), 0);
    if (i % 3 == 0) tw_loop_run(loop, TW_RUN_NOWAIT);
    assert_int_equal(tw_cancel(it[i].req), 0);
  }
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  for (int i = 0; i < 40; i++) {
    assert_int_equal(it[i].afters, 1);
    assert_int_equal(it[i].status, -ECANCELED);
    if (it[i].ran) assert_int_equal(it[i].work_err, EINTR);
  }
  assert_int_equal(tw_loop_close(loop), 0);
  rig_close_fds(&r);
}

/* ---- signals ------------------------------------------------------------------- */

static int mask_work(void *data) {
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  const int must_block[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD, SIGPIPE,
                            SIGALRM, SIGRTMIN};
  for (size_t i = 0; i < sizeof must_block / sizeof must_block[0]; i++)
    if (!sigismember(&cur, must_block[i])) return -must_block[i];
  if (sigismember(&cur, SIGRTMIN + 3)) return -1000; /* the interrupt */
  /* A process-directed signal: only the loop thread may take it. */
  kill(getpid(), SIGUSR1);
  return 0;
}

static int got_usr1;
static void usr1_cb(tw_signal *s, int status, int signum) {
  if (status) return;
  assert_int_equal(signum, SIGUSR1);
  assert_true(pthread_equal(pthread_self(), loop_thread));
  got_usr1++;
  tw_close(s, NULL);
}

static void test_work_signal_masks(void **state) {
  tw_loop *loop = new_loop(NULL);
  loop_thread = pthread_self();
  tw_signal *s;
  got_usr1 = 0;
  assert_int_equal(tw_signal_new(loop, &s, NULL), 0);
  assert_int_equal(tw_signal_start(s, usr1_cb, SIGUSR1), 0);
  item it = {0};
  assert_int_equal(tw_work(loop, NULL, mask_work, after_cb, &it), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(it.afters, 1);
  assert_int_equal(it.status, 0);
  assert_int_equal(got_usr1, 1);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- loop close ----------------------------------------------------------------- */

static void test_work_loop_close(void **state) {
  int fds = count_fds();
  tw_loop *loop = new_loop("2");
  loop_thread = pthread_self();
  rig r;
  rig_open(loop, &r);
  item b[2], q[5], s[3];
  for (int i = 0; i < 2; i++) {
    blocker_init(&b[i], &r);
    assert_int_equal(tw_work(loop, NULL, blocking_work, after_cb, &b[i]), 0);
  }
  rig_wait(loop, &r, 2); /* both workers now blocked in read() */
  for (int i = 0; i < 5; i++) {
    blocker_init(&q[i], &r);
    assert_int_equal(tw_work(loop, NULL, blocking_work, after_cb, &q[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    memset(&s[i], 0, sizeof s[i]);
    assert_int_equal(tw_work(loop, NULL, simple_work, after_cb, &s[i]), 0);
  }
  assert_int_equal(tw_loop_close(loop), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(b[i].afters, 1);
    assert_int_equal(b[i].status, -ECANCELED);
    assert_int_equal(b[i].work_err, EINTR);
  }
  for (int i = 0; i < 5; i++) {
    assert_int_equal(q[i].afters, 1);
    assert_int_equal(q[i].status, -ECANCELED);
    /* A worker freed by an interrupt may pick up the next item before
     * tw_loop_close() reaches it: then that one is interrupted too. */
    if (q[i].ran) assert_int_equal(q[i].work_err, EINTR);
  }
  for (int i = 0; i < 3; i++) {
    assert_int_equal(s[i].afters, 1);
    assert_int_equal(s[i].status, -ECANCELED);
  }
  rig_close_fds(&r);
  assert_int_equal(count_fds(), fds);
}

/* tw_work refuses new work on a closing loop (from a callback run by
 * tw_loop_close). */
static int refused;
static void refuse_after(tw_req *req, int status, void *data) {
  tw_loop *loop = data;
  assert_int_equal(status, -ECANCELED);
  tw_req *r2 = (tw_req *)&r2;
  refused = tw_work(loop, &r2, simple_work, after_cb, NULL);
  assert_null(r2);
}

static void test_work_closing_refuses(void **state) {
  tw_loop *loop = new_loop(NULL);
  refused = 0;
  assert_int_equal(tw_work(loop, NULL, simple_work, refuse_after, loop), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(refused, -ECANCELED);
}

int main(void) {
  alarm(240); /* a hang is a failure, not a stuck CI job */
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_work_result_and_thread),
    cmocka_unit_test(test_work_bad_args),
    cmocka_unit_test(test_work_many),
    cmocka_unit_test(test_work_chain),
    cmocka_unit_test(test_work_pool_size),
    cmocka_unit_test(test_work_cancel_queued),
    cmocka_unit_test(test_work_cancel_running),
    cmocka_unit_test(test_work_cancel_at_once),
    cmocka_unit_test(test_work_signal_masks),
    cmocka_unit_test(test_work_loop_close),
    cmocka_unit_test(test_work_closing_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
