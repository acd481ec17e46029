/* loop-trawl.c: the event-loop workloads of bench/loop.sh on libtrawl.
 * loop-uv.c and loop-ev.c are the same workloads on libuv and libev; the
 * shared parameters live in loop-common.h, the method in
 * docs/benchmarks.md. Each run prints one VALUE line.
 *
 * libtrawl idioms used: streaming reads (tw_tcp_read_start, the same shape
 * as uv_read_start) and callback-less writes, heap-allocated timers
 * (tw_timer_new), and tw_fs_* with NULL request pointers. Set
 * TRAWL_NO_IOURING=1 to run `files` on the thread pool. */
#include "loop-common.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <trawl/trawl.h>

static tw_loop *loop;
static const char msg[PP_MSG];

/* ---- ping-pong -------------------------------------------------------------- */

typedef struct conn {
  tw_tcp *t;
  size_t have; /* bytes of the current message received so far */
} conn;

static int nconn, connected, accepted, measuring;
static uint64_t rounds, rounds0;
static double t0, cpu0;
static tw_timer *clock_timer;
static conn *conns; /* 2 * nconn: clients first, then accepted */

static void check(int err, const char *what) {
  if (err < 0) bench_die(what, err);
}

static void client_read(tw_tcp *t, int status, const char *buf, size_t len) {
  conn *c = tw_data(t);
  check(status, "client read");
  c->have += len;
  while (c->have >= PP_MSG) {
    c->have -= PP_MSG;
    rounds++;
    check(tw_tcp_write(t, msg, PP_MSG, NULL), "client write");
  }
}

static void server_read(tw_tcp *t, int status, const char *buf, size_t len) {
  conn *c = tw_data(t);
  check(status, "server read");
  c->have += len;
  while (c->have >= PP_MSG) {
    c->have -= PP_MSG;
    check(tw_tcp_write(t, msg, PP_MSG, NULL), "server write");
  }
}

static void on_clock(tw_timer *tm, int status) {
  if (!measuring) { /* warm-up over: start counting */
    measuring = 1;
    t0 = bench_now_ms();
    cpu0 = bench_cpu_ms();
    rounds0 = rounds;
    check(tw_timer_start(tm, on_clock, PP_MEASURE_MS * 1000000ull, 0), "timer");
    return;
  }
  bench_print_rate(rounds - rounds0, bench_now_ms() - t0, bench_cpu_ms() - cpu0);
  tw_loop_stop(loop);
}

static void maybe_go(void) {
  if (connected < nconn || accepted < nconn) return;
  check(tw_timer_new(loop, &clock_timer, NULL), "timer");
  check(tw_timer_start(clock_timer, on_clock, PP_WARMUP_MS * 1000000ull, 0), "timer");
  for (int i = 0; i < nconn; i++) check(tw_tcp_write(conns[i].t, msg, PP_MSG, NULL), "write");
}

static void on_connect(tw_tcp *t, int status) {
  check(status, "connect");
  check(tw_tcp_read_start(t, client_read), "read_start");
  connected++;
  maybe_go();
}

static void on_accept(tw_tcp *server, int status) {
  check(status, "accept");
  tw_tcp *c;
  while (tw_tcp_accept(server, &c) == 0) {
    if (accepted == nconn) bench_die("unexpected connection", 0);
    conn *sc = &conns[nconn + accepted++];
    sc->t = c;
    tw_set_data(c, sc);
    check(tw_tcp_nodelay(c, 1), "nodelay");
    check(tw_tcp_read_start(c, server_read), "read_start");
  }
  maybe_go();
}

static int pingpong(int n) {
  nconn = n;
  conns = calloc(2 * (size_t)n, sizeof *conns);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  tw_tcp *server;
  check(tw_tcp_new(loop, &server, NULL), "tcp_new");
  check(tw_tcp_listen(server, (struct sockaddr *)&sin, 1024, on_accept), "listen");
  struct sockaddr_storage ss;
  check(tw_tcp_sockname(server, &ss), "sockname");
  for (int i = 0; i < n; i++) {
    check(tw_tcp_new(loop, &conns[i].t, &conns[i]), "tcp_new");
    check(tw_tcp_nodelay(conns[i].t, 1), "nodelay");
    check(tw_tcp_connect(conns[i].t, (struct sockaddr *)&ss, 0, on_connect), "connect");
  }
  check(tw_loop_run(loop, TW_RUN_DEFAULT), "run");
  return measuring ? 0 : 2;
}

/* ---- timers ------------------------------------------------------------------ */

static size_t fired;

static void on_timer(tw_timer *t, int status) {
  if (status == 0) fired++;
}

/* The timers live in one array of the program's (tw_timer_init), as
 * libuv's and libev's programs keep theirs; with TRAWL_BENCH_TIMER_ALLOC=1
 * each is allocated by tw_timer_new instead (loop.sh: timers_alloc). */
static int timers(void) {
  uint64_t *ms = bench_timer_timeouts();
  const char *alloc = getenv("TRAWL_BENCH_TIMER_ALLOC");
  bool each = alloc && *alloc == '1';
  /* Embedded: one array of timers, like the peers' programs. Allocated:
   * an array of pointers to timers that tw_timer_new allocates. */
  tw_timer *mem = each ? NULL : malloc(TM_COUNT * sizeof *mem);
  tw_timer **ptr = each ? malloc(TM_COUNT * sizeof *ptr) : NULL;
  if (!mem && !ptr) bench_die("malloc", 0);
#define TIMER(i) (each ? ptr[i] : &mem[i])
  double start = bench_now_ms();
  tw_loop_update_time(loop);
  for (size_t i = 0; i < TM_COUNT; i++) {
    if (each) check(tw_timer_new(loop, &ptr[i], NULL), "timer_new");
    else check(tw_timer_init(loop, &mem[i], NULL), "timer_init");
    check(tw_timer_start(TIMER(i), on_timer, ms[i] * 1000000ull, 0), "timer_start");
  }
  for (size_t i = 1; i < TM_COUNT; i += 2) check(tw_timer_stop(TIMER(i)), "timer_stop");
#undef TIMER
  check(tw_loop_run(loop, TW_RUN_DEFAULT), "run");
  double end = bench_now_ms();
  if (fired != bench_timers_expected()) bench_die("timer count", (long)fired);
  bench_print(end - start, "ms");
  printf("INFO timers=%s\n", each ? "allocated" : "embedded");
  return 0;
}

/* ---- files ------------------------------------------------------------------- */

typedef struct job {
  int idx, fd;
  struct stat st;
  char buf[FS_SIZE];
} job;

static char **paths;
static int next_file, files_done;

static void file_next(job *j);

static void on_close(tw_req *r, int res, void *d) {
  check(res, "close");
  files_done++;
  file_next(d);
}

static void on_read(tw_req *r, int res, void *d) {
  job *j = d;
  if (!bench_check_file(j->idx, j->buf, res)) bench_die("read", res);
  check(tw_fs_close(loop, NULL, j->fd, on_close, j), "fs_close");
}

static void on_open(tw_req *r, int res, void *d) {
  job *j = d;
  check(res, "open");
  j->fd = res;
  check(tw_fs_read(loop, NULL, j->fd, j->buf, FS_SIZE, 0, on_read, j), "fs_read");
}

static void on_stat(tw_req *r, int res, void *d) {
  job *j = d;
  if (res < 0 || j->st.st_size != FS_SIZE) bench_die("stat", res);
  check(tw_fs_open(loop, NULL, paths[j->idx], O_RDONLY | O_CLOEXEC, 0, on_open, j), "fs_open");
}

static void file_next(job *j) {
  if (next_file == FS_FILES) return;
  j->idx = next_file++;
  check(tw_fs_stat(loop, NULL, paths[j->idx], &j->st, on_stat, j), "fs_stat");
}

static int files(const char *dir) {
  paths = bench_paths(dir);
  job *jobs = calloc(FS_INFLIGHT, sizeof *jobs);
  /* Asking for the backend sets up the ring (tens of microseconds);
   * worker threads, here as in libuv and loop-ev.c, start inside the
   * timed part, on the first operation. */
  printf("INFO backend=%s\n", tw_fs_backend(loop));
  double start = bench_now_ms();
  for (int i = 0; i < FS_INFLIGHT; i++) file_next(&jobs[i]);
  check(tw_loop_run(loop, TW_RUN_DEFAULT), "run");
  double end = bench_now_ms();
  if (files_done != FS_FILES) bench_die("file count", files_done);
  bench_print(end - start, "ms");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return bench_usage(argv[0]);
  const char *w = argv[1];
  if (!strcmp(w, "mkfiles") && argc == 3) return bench_mkfiles(argv[2]);
  check(tw_loop_new(&loop), "loop_new");
  int rc;
  if (!strcmp(w, "pingpong1")) rc = pingpong(1);
  else if (!strcmp(w, "pingpong100")) rc = pingpong(100);
  else if (!strcmp(w, "timers")) rc = timers();
  else if (!strcmp(w, "files") && argc == 3) rc = files(argv[2]);
  else return bench_usage(argv[0]);
  return rc;
}
