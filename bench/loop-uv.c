/* loop-uv.c: the event-loop workloads of bench/loop.sh on libuv, written
 * the way libuv is meant to be used: uv_read_start with a per-connection
 * buffer, uv_try_write falling back to uv_write with a per-connection
 * request (one message is in flight per connection, so one suffices), timers embedded in one array, and the
 * uv_fs_* calls on libuv's thread pool (UV_THREADPOOL_SIZE, default 4 like
 * libtrawl's). Same parameters as loop-trawl.c (loop-common.h). */
#include "loop-common.h"

#include <uv.h>

static uv_loop_t *loop;
static char msg[PP_MSG];

static void check(int err, const char *what) {
  if (err < 0) bench_die(what, err);
}

/* ---- ping-pong -------------------------------------------------------------- */

typedef struct conn {
  uv_tcp_t t;
  uv_connect_t creq;
  uv_write_t wreq;
  size_t have;
  char rbuf[4096];
} conn;

static int nconn, connected, accepted, measuring;
static uint64_t rounds, rounds0;
static double t0, cpu0;
static uv_timer_t clock_timer;
static uv_tcp_t server;
static conn *conns; /* 2 * nconn: clients first, then accepted */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn *c = h->data;
  *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_write(uv_write_t *w, int status) { check(status, "write"); }

/* What a libuv user after speed writes: uv_try_write() (no request, no
 * callback, no epoll_ctl), and uv_write() only for what the kernel did not
 * take. Plain uv_write() costs libuv an epoll_ctl per message here. */
static void send_msg(conn *c) {
  uv_buf_t b = uv_buf_init(msg, PP_MSG);
  int n = uv_try_write((uv_stream_t *)&c->t, &b, 1);
  if (n == PP_MSG) return;
  if (n < 0 && n != UV_EAGAIN) bench_die("try_write", n);
  if (n > 0) b = uv_buf_init(msg + n, PP_MSG - (unsigned)n);
  check(uv_write(&c->wreq, (uv_stream_t *)&c->t, &b, 1, on_write), "write");
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;
  if (n < 0) bench_die("client read", (long)n);
  c->have += (size_t)n;
  while (c->have >= PP_MSG) {
    c->have -= PP_MSG;
    rounds++;
    send_msg(c);
  }
}

static void server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn *c = s->data;
  if (n < 0) bench_die("server read", (long)n);
  c->have += (size_t)n;
  while (c->have >= PP_MSG) {
    c->have -= PP_MSG;
    send_msg(c);
  }
}

static void on_clock(uv_timer_t *tm) {
  if (!measuring) {
    measuring = 1;
    t0 = bench_now_ms();
    cpu0 = bench_cpu_ms();
    rounds0 = rounds;
    check(uv_timer_start(tm, on_clock, PP_MEASURE_MS, 0), "timer");
    return;
  }
  bench_print_rate(rounds - rounds0, bench_now_ms() - t0, bench_cpu_ms() - cpu0);
  uv_stop(loop);
}

static void maybe_go(void) {
  if (connected < nconn || accepted < nconn) return;
  check(uv_timer_init(loop, &clock_timer), "timer");
  check(uv_timer_start(&clock_timer, on_clock, PP_WARMUP_MS, 0), "timer");
  for (int i = 0; i < nconn; i++) send_msg(&conns[i]);
}

static void on_connect(uv_connect_t *r, int status) {
  check(status, "connect");
  check(uv_read_start(r->handle, on_alloc, client_read), "read_start");
  connected++;
  maybe_go();
}

static void on_accept(uv_stream_t *srv, int status) {
  check(status, "accept");
  if (accepted == nconn) bench_die("unexpected connection", 0);
  conn *c = &conns[nconn + accepted++];
  check(uv_tcp_init(loop, &c->t), "tcp_init");
  c->t.data = c;
  check(uv_accept(srv, (uv_stream_t *)&c->t), "accept");
  check(uv_tcp_nodelay(&c->t, 1), "nodelay");
  check(uv_read_start((uv_stream_t *)&c->t, on_alloc, server_read), "read_start");
  maybe_go();
}

static int pingpong(int n) {
  nconn = n;
  conns = calloc(2 * (size_t)n, sizeof *conns);
  struct sockaddr_in sin;
  check(uv_ip4_addr("127.0.0.1", 0, &sin), "addr");
  check(uv_tcp_init(loop, &server), "tcp_init");
  check(uv_tcp_bind(&server, (struct sockaddr *)&sin, 0), "bind");
  check(uv_listen((uv_stream_t *)&server, 1024, on_accept), "listen");
  struct sockaddr_storage ss;
  int len = sizeof ss;
  check(uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &len), "sockname");
  for (int i = 0; i < n; i++) {
    conn *c = &conns[i];
    check(uv_tcp_init(loop, &c->t), "tcp_init");
    c->t.data = c;
    check(uv_tcp_nodelay(&c->t, 1), "nodelay");
    check(uv_tcp_connect(&c->creq, &c->t, (struct sockaddr *)&ss, on_connect), "connect");
  }
  uv_run(loop, UV_RUN_DEFAULT);
  return measuring ? 0 : 2;
}

/* ---- timers ------------------------------------------------------------------ */

static size_t fired;

static void on_timer(uv_timer_t *t) { fired++; }

static int timers(void) {
  uint64_t *ms = bench_timer_timeouts();
  uv_timer_t *t = malloc(TM_COUNT * sizeof *t);
  double start = bench_now_ms();
  uv_update_time(loop);
  for (size_t i = 0; i < TM_COUNT; i++) {
    check(uv_timer_init(loop, &t[i]), "timer_init");
    check(uv_timer_start(&t[i], on_timer, ms[i], 0), "timer_start");
  }
  for (size_t i = 1; i < TM_COUNT; i += 2) check(uv_timer_stop(&t[i]), "timer_stop");
  uv_run(loop, UV_RUN_DEFAULT);
  double end = bench_now_ms();
  if (fired != bench_timers_expected()) bench_die("timer count", (long)fired);
  bench_print(end - start, "ms");
  return 0;
}

/* ---- files ------------------------------------------------------------------- */

typedef struct job {
  uv_fs_t req;
  int idx;
  uv_file fd;
  char buf[FS_SIZE];
} job;

static char **paths;
static int next_file, files_done;

static void file_next(job *j);

static void on_close(uv_fs_t *r) {
  job *j = r->data;
  check((int)r->result, "close");
  uv_fs_req_cleanup(r);
  files_done++;
  file_next(j);
}

static void on_read(uv_fs_t *r) {
  job *j = r->data;
  if (!bench_check_file(j->idx, j->buf, (long)r->result)) bench_die("read", (long)r->result);
  uv_fs_req_cleanup(r);
  check(uv_fs_close(loop, &j->req, j->fd, on_close), "fs_close");
}

static void on_open(uv_fs_t *r) {
  job *j = r->data;
  check((int)r->result, "open");
  j->fd = (uv_file)r->result;
  uv_fs_req_cleanup(r);
  uv_buf_t b = uv_buf_init(j->buf, FS_SIZE);
  check(uv_fs_read(loop, &j->req, j->fd, &b, 1, 0, on_read), "fs_read");
}

static void on_stat(uv_fs_t *r) {
  job *j = r->data;
  if (r->result < 0 || r->statbuf.st_size != FS_SIZE) bench_die("stat", (long)r->result);
  uv_fs_req_cleanup(r);
  check(uv_fs_open(loop, &j->req, paths[j->idx], O_RDONLY | O_CLOEXEC, 0, on_open), "fs_open");
}

static void file_next(job *j) {
  if (next_file == FS_FILES) return;
  j->idx = next_file++;
  j->req.data = j;
  check(uv_fs_stat(loop, &j->req, paths[j->idx], on_stat), "fs_stat");
}

static int files(const char *dir) {
  paths = bench_paths(dir);
  job *jobs = calloc(FS_INFLIGHT, sizeof *jobs);
  double start = bench_now_ms();
  for (int i = 0; i < FS_INFLIGHT; i++) {
    jobs[i].req.data = &jobs[i];
    file_next(&jobs[i]);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  double end = bench_now_ms();
  if (files_done != FS_FILES) bench_die("file count", files_done);
  bench_print(end - start, "ms");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return bench_usage(argv[0]);
  const char *w = argv[1];
  if (!strcmp(w, "mkfiles") && argc == 3) return bench_mkfiles(argv[2]);
  loop = malloc(sizeof *loop);
  check(uv_loop_init(loop), "loop_init");
  int rc;
  if (!strcmp(w, "pingpong1")) rc = pingpong(1);
  else if (!strcmp(w, "pingpong100")) rc = pingpong(100);
  else if (!strcmp(w, "timers")) rc = timers();
  else if (!strcmp(w, "files") && argc == 3) rc = files(argv[2]);
  else return bench_usage(argv[0]);
  return rc;
}
