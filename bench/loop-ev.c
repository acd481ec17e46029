/* loop-ev.c: the event-loop workloads of bench/loop.sh on libev, written
 * the way libev is meant to be used: readiness watchers (ev_io) with the
 * program doing its own non-blocking read()/write() on the sockets, timers
 * embedded in one array, the epoll backend (as libuv and libtrawl use).
 *
 * libev has no thread pool, so `files` gets the same simple one libuv has:
 * FS_POOL worker threads (4, libuv's and libtrawl's default) taking one
 * system call at a time from a mutex-protected queue and handing results
 * back through an ev_async. Same parameters as loop-trawl.c
 * (loop-common.h). */
#include "loop-common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#include <ev.h>

static struct ev_loop *loop;
static char msg[PP_MSG];

static void check(int err, const char *what) {
  if (err < 0) bench_die(what, errno ? -errno : err);
}

/* ---- ping-pong -------------------------------------------------------------- */

typedef struct conn {
  ev_io io;
  int client;
  size_t have;
  char rbuf[4096];
} conn;

static int nconn, connected, accepted, measuring;
static uint64_t rounds, rounds0;
static double t0, cpu0;
static ev_timer clock_timer;
static ev_io accept_io;
static conn *conns; /* 2 * nconn: clients first, then accepted */

static void send_msg(conn *c) {
  /* One 64-byte message on an otherwise idle loopback socket: the kernel
   * takes it whole (anything else is reported, not hidden). */
  ssize_t n = write(c->io.fd, msg, PP_MSG);
  if (n != PP_MSG) bench_die("write", n < 0 ? -errno : n);
}

static void on_data(struct ev_loop *l, ev_io *w, int revents) {
  conn *c = (conn *)w;
  ssize_t n = read(w->fd, c->rbuf, sizeof c->rbuf);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) bench_die("read", n < 0 ? -errno : 0);
  c->have += (size_t)n;
  while (c->have >= PP_MSG) {
    c->have -= PP_MSG;
    if (c->client) rounds++;
    send_msg(c);
  }
}

static void on_clock(struct ev_loop *l, ev_timer *tm, int revents) {
  if (!measuring) {
    measuring = 1;
    t0 = bench_now_ms();
    cpu0 = bench_cpu_ms();
    rounds0 = rounds;
    ev_timer_set(tm, PP_MEASURE_MS / 1000.0, 0.);
    ev_timer_start(l, tm);
    return;
  }
  bench_print_rate(rounds - rounds0, bench_now_ms() - t0, bench_cpu_ms() - cpu0);
  ev_break(l, EVBREAK_ALL);
}

static void maybe_go(void) {
  if (connected < nconn || accepted < nconn) return;
  ev_timer_init(&clock_timer, on_clock, PP_WARMUP_MS / 1000.0, 0.);
  ev_timer_start(loop, &clock_timer);
  for (int i = 0; i < nconn; i++) send_msg(&conns[i]);
}

static void nodelay(int fd) {
  int one = 1;
  check(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), "nodelay");
}

static void on_connected(struct ev_loop *l, ev_io *w, int revents) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) bench_die("connect", -err);
  ev_io_stop(l, w);
  ev_io_init(w, on_data, w->fd, EV_READ);
  ev_io_start(l, w);
  connected++;
  maybe_go();
}

static void on_accept(struct ev_loop *l, ev_io *w, int revents) {
  int fd;
  while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
    if (accepted == nconn) bench_die("unexpected connection", 0);
    conn *c = &conns[nconn + accepted++];
    nodelay(fd);
    ev_io_init(&c->io, on_data, fd, EV_READ);
    ev_io_start(l, &c->io);
  }
  if (errno != EAGAIN) bench_die("accept", -errno);
  maybe_go();
}

static int pingpong(int n) {
  nconn = n;
  conns = calloc(2 * (size_t)n, sizeof *conns);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  check(lfd, "socket");
  check(bind(lfd, (struct sockaddr *)&sin, sizeof sin), "bind");
  check(listen(lfd, 1024), "listen");
  socklen_t slen = sizeof sin;
  check(getsockname(lfd, (struct sockaddr *)&sin, &slen), "getsockname");
  ev_io_init(&accept_io, on_accept, lfd, EV_READ);
  ev_io_start(loop, &accept_io);
  for (int i = 0; i < n; i++) {
    conn *c = &conns[i];
    c->client = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    check(fd, "socket");
    nodelay(fd);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0 && errno != EINPROGRESS)
      bench_die("connect", -errno);
    ev_io_init(&c->io, on_connected, fd, EV_WRITE);
    ev_io_start(loop, &c->io);
  }
  ev_run(loop, 0);
  return measuring ? 0 : 2;
}

/* ---- timers ------------------------------------------------------------------ */

static size_t fired;

static void on_timer(struct ev_loop *l, ev_timer *t, int revents) { fired++; }

static int timers(void) {
  uint64_t *ms = bench_timer_timeouts();
  ev_timer *t = malloc(TM_COUNT * sizeof *t);
  double start = bench_now_ms();
  ev_now_update(loop);
  for (size_t i = 0; i < TM_COUNT; i++) {
    ev_timer_init(&t[i], on_timer, (double)ms[i] / 1000.0, 0.);
    ev_timer_start(loop, &t[i]);
  }
  for (size_t i = 1; i < TM_COUNT; i += 2) ev_timer_stop(loop, &t[i]);
  ev_run(loop, 0);
  double end = bench_now_ms();
  if (fired != bench_timers_expected()) bench_die("timer count", (long)fired);
  bench_print(end - start, "ms");
  return 0;
}

/* ---- files: a minimal thread pool -------------------------------------------- */

#define FS_POOL 4

enum { OP_STAT, OP_OPEN, OP_READ, OP_CLOSE };

typedef struct job {
  struct job *next; /* in the todo or done list */
  int op, idx, fd;
  long result;
  struct stat st;
  char buf[FS_SIZE];
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static job *todo_head, **todo_tail = &todo_head; /* FIFO */
static job *done_head, **done_tail = &done_head;
static ev_async wake;
static char **paths;
static int next_file, files_done;

static void *worker(void *arg) {
  for (;;) {
    pthread_mutex_lock(&mu);
    while (!todo_head) pthread_cond_wait(&cv, &mu);
    job *j = todo_head;
    if (!(todo_head = j->next)) todo_tail = &todo_head;
    pthread_mutex_unlock(&mu);

    long r;
    switch (j->op) {
    case OP_STAT: r = stat(paths[j->idx], &j->st); break;
    case OP_OPEN: r = open(paths[j->idx], O_RDONLY | O_CLOEXEC); break;
    case OP_READ: r = pread(j->fd, j->buf, FS_SIZE, 0); break;
    default: r = close(j->fd); break;
    }
    j->result = r < 0 ? -errno : r;

    pthread_mutex_lock(&mu);
    j->next = NULL;
    *done_tail = j;
    done_tail = &j->next;
    pthread_mutex_unlock(&mu);
    ev_async_send(loop, &wake);
  }
  return NULL;
}

static void submit(job *j, int op) {
  j->op = op;
  j->next = NULL;
  pthread_mutex_lock(&mu);
  *todo_tail = j;
  todo_tail = &j->next;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

static void file_next(job *j) {
  if (next_file == FS_FILES) return;
  j->idx = next_file++;
  submit(j, OP_STAT);
}

static void completed(job *j) {
  switch (j->op) {
  case OP_STAT:
    if (j->result < 0 || j->st.st_size != FS_SIZE) bench_die("stat", j->result);
    submit(j, OP_OPEN);
    break;
  case OP_OPEN:
    check((int)j->result, "open");
    j->fd = (int)j->result;
    submit(j, OP_READ);
    break;
  case OP_READ:
    if (!bench_check_file(j->idx, j->buf, j->result)) bench_die("read", j->result);
    submit(j, OP_CLOSE);
    break;
  default:
    check((int)j->result, "close");
    if (++files_done == FS_FILES) ev_async_stop(loop, &wake);
    file_next(j);
  }
}

static void on_wake(struct ev_loop *l, ev_async *a, int revents) {
  pthread_mutex_lock(&mu);
  job *j = done_head;
  done_head = NULL;
  done_tail = &done_head;
  pthread_mutex_unlock(&mu);
  while (j) {
    job *next = j->next;
    completed(j);
    j = next;
  }
}

static int files(const char *dir) {
  paths = bench_paths(dir);
  job *jobs = calloc(FS_INFLIGHT, sizeof *jobs);
  ev_async_init(&wake, on_wake);
  ev_async_start(loop, &wake);
  double start = bench_now_ms();
  pthread_t th[FS_POOL];
  for (int i = 0; i < FS_POOL; i++) /* started lazily, as libuv's pool is */
    if (pthread_create(&th[i], NULL, worker, NULL)) bench_die("pthread_create", 0);
  for (int i = 0; i < FS_INFLIGHT; i++) file_next(&jobs[i]);
  ev_run(loop, 0);
  double end = bench_now_ms();
  if (files_done != FS_FILES) bench_die("file count", files_done);
  bench_print(end - start, "ms");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return bench_usage(argv[0]);
  const char *w = argv[1];
  if (!strcmp(w, "mkfiles") && argc == 3) return bench_mkfiles(argv[2]);
  loop = ev_loop_new(EVBACKEND_EPOLL);
  if (!loop) bench_die("ev_loop_new", 0);
  int rc;
  if (!strcmp(w, "pingpong1")) rc = pingpong(1);
  else if (!strcmp(w, "pingpong100")) rc = pingpong(100);
  else if (!strcmp(w, "timers")) rc = timers();
  else if (!strcmp(w, "files") && argc == 3) rc = files(argv[2]);
  else return bench_usage(argv[0]);
  return rc;
}
