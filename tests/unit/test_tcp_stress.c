/* test_tcp_stress.c: 10,000 concurrent TCP connections over loopback
 * (127.0.0.1 only), all opened at once; each client sends its own line, the
 * server echoes it, the client checks it byte for byte.
 *
 * 20,000 sockets in one process need RLIMIT_NOFILE above 20,100: the test
 * raises the soft limit to the hard one, and the hard one too if it is
 * lower and that is allowed (CAP_SYS_RESOURCE). If one process cannot hold
 * both ends, the echo server runs in a forked child with its own loop, so
 * each side needs about 10,020 descriptors; below that the test skips and
 * says why. Connections are spread over several listening ports so no
 * accept queue overflows (backlog = net.core.somaxconn) and ephemeral ports
 * are not reused against one destination. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <trawl/trawl.h>

#define NCONN 10000
#define NLISTEN 8
#define NEED_FDS 20100   /* both ends in one process */
#define NEED_HALF 10100  /* one end per process */
#define S 1000000000ull

struct conn {
  tw_tcp *t;
  char msg[48];
  size_t len;
  int echoed;
};

static struct conn *conns;
static tw_tcp *listeners[NLISTEN];
static struct sockaddr_in addrs[NLISTEN];
static int nconnected, naccepted, nechoed, nserver_closed, nclient_closed, nopen_listeners;
static size_t nbytes;

/* In the forked server a failed check must end that process, not run
 * cmocka's handler in a copy of the test runner. */
static int in_child;
#define CHECK(c)                                                                \
  do {                                                                          \
    if (!(c)) {                                                                 \
      if (!in_child) fail_msg("%s:%d: %s", __FILE__, __LINE__, #c);             \
      fprintf(stderr, "server: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      _exit(1);                                                                 \
    }                                                                           \
  } while (0)

static void guard_cb(tw_timer *t, int status) {
  if (status != 0) return;
  fprintf(stderr, "%s did not finish in time: %d connected, %d accepted, %d echoed\n",
          in_child ? "server" : "test", nconnected, naccepted, nechoed);
  CHECK(!"timeout");
}

static tw_loop *new_loop(void) {
  tw_loop *loop;
  CHECK(tw_loop_new(&loop) == 0);
  tw_timer *g;
  CHECK(tw_timer_new(loop, &g, NULL) == 0);
  CHECK(tw_timer_start(g, guard_cb, 240 * S, 0) == 0);
  tw_unref(g);
  return loop;
}

/* Returns the soft limit reached. */
static rlim_t raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return 0;
  if (rl.rlim_max < NEED_FDS) {
    struct rlimit want = {NEED_FDS + 1000, NEED_FDS + 1000};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) return want.rlim_cur;
  }
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0) return 0;
  return rl.rlim_cur;
}

static void server_closed(void *h) { nserver_closed++; }
static void client_closed(void *h) { nclient_closed++; }
static void listener_closed(void *h) { nopen_listeners--; }

/* ---- the echo server -------------------------------------------------------------- */

static void server_read(tw_tcp *c, int status, const char *buf, size_t len) {
  if (status == 0) {
    CHECK(tw_tcp_write(c, buf, len, NULL) == 0);
    return;
  }
  CHECK(status == TW_EOF);
  CHECK(tw_close(c, server_closed) == 0);
}

static void on_accept(tw_tcp *l, int status) {
  CHECK(status == 0);
  tw_tcp *c;
  int rc;
  while ((rc = tw_tcp_accept(l, &c)) == 0) {
    naccepted++;
    CHECK(tw_tcp_read_start(c, server_read) == 0);
  }
  CHECK(rc == -EAGAIN);
  if (naccepted == NCONN)
    for (int i = 0; i < NLISTEN; i++) CHECK(tw_close(listeners[i], listener_closed) == 0);
}

static void start_server(tw_loop *loop) {
  for (int i = 0; i < NLISTEN; i++) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(tw_tcp_new(loop, &listeners[i], NULL) == 0);
    CHECK(tw_tcp_listen(listeners[i], (struct sockaddr *)&a, 0, on_accept) == 0);
    struct sockaddr_storage ss;
    CHECK(tw_tcp_sockname(listeners[i], &ss) == 0);
    memcpy(&addrs[i], &ss, sizeof addrs[i]);
    nopen_listeners++;
  }
}

static void check_server(void) {
  CHECK(naccepted == NCONN);
  CHECK(nserver_closed == NCONN);
  CHECK(nopen_listeners == 0);
}

/* ---- the clients ------------------------------------------------------------------ */

static void client_read(tw_tcp *t, int status, const char *buf, size_t len) {
  struct conn *c = tw_data(t);
  assert_int_equal(status, 0);
  assert_int_equal(len, c->len);
  assert_memory_equal(buf, c->msg, len);
  assert_int_equal(c->echoed, 0);
  c->echoed = 1;
  nechoed++;
  nbytes += len;
  assert_int_equal(tw_close(t, client_closed), 0);
}

static void client_connect(tw_tcp *t, int status) {
  struct conn *c = tw_data(t);
  assert_int_equal(status, 0);
  nconnected++;
  assert_int_equal(tw_tcp_write(t, c->msg, c->len, NULL), 0);
  assert_int_equal(tw_tcp_read_exact(t, c->len, 60 * S, client_read), 0);
}

static void start_clients(tw_loop *loop) {
  for (int i = 0; i < NCONN; i++) {
    struct conn *c = &conns[i];
    c->len = (size_t)snprintf(c->msg, sizeof c->msg, "client %05d via port %u\n", i,
                              ntohs(addrs[i % NLISTEN].sin_port));
    assert_int_equal(tw_tcp_new(loop, &c->t, c), 0);
    assert_int_equal(tw_tcp_connect(c->t, (struct sockaddr *)&addrs[i % NLISTEN], 60 * S,
                                    client_connect),
                     0);
  }
}

static void check_clients(void) {
  assert_int_equal(nconnected, NCONN);
  assert_int_equal(nechoed, NCONN);
  size_t expect = 0;
  for (int i = 0; i < NCONN; i++) {
    assert_int_equal(conns[i].echoed, 1);
    expect += conns[i].len;
  }
  assert_int_equal(nbytes, expect);
  assert_int_equal(nclient_closed, NCONN);
}

/* The server in a child process: it sends its listening addresses down the
 * pipe, serves NCONN connections, and exits 0 if all went as expected. */
static pid_t fork_server(struct sockaddr_in *out) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    in_child = 1;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
    close(p[0]);
    tw_loop *loop = new_loop();
    start_server(loop);
    CHECK(write(p[1], addrs, sizeof addrs) == (ssize_t)sizeof addrs);
    close(p[1]);
    CHECK(tw_loop_run(loop, TW_RUN_DEFAULT) == 0);
    check_server();
    CHECK(tw_loop_close(loop) == 0);
    _exit(0);
  }
  close(p[1]);
  size_t got = 0;
  while (got < sizeof addrs) {
    ssize_t n = read(p[0], (char *)out + got, sizeof addrs - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(p[0]);
  assert_int_equal(got, sizeof addrs);
  return pid;
}

static void test_10k_echo(void **state) {
  rlim_t fds = raise_fd_limit();
  int split = fds < NEED_FDS;
  if (fds < NEED_HALF) {
    fprintf(stderr, "skipped: RLIMIT_NOFILE is %llu, needs %d (or %d with the server in "
                    "a child) and cannot be raised\n",
            (unsigned long long)fds, NEED_FDS, NEED_HALF);
    skip();
  }
  conns = calloc(NCONN, sizeof *conns);
  assert_non_null(conns);
  pid_t server = split ? fork_server(addrs) : 0;
  tw_loop *loop = new_loop();
  if (!split) start_server(loop);
  uint64_t t0 = tw_hrtime();
  start_clients(loop);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  uint64_t took = tw_hrtime() - t0;
  fprintf(stderr, "%d connections echoed in %.3f s, %s (%llu loop iterations)\n", nechoed,
          (double)took / 1e9, split ? "server in a child process" : "one process, one loop",
          (unsigned long long)tw_loop_iterations(loop));
  check_clients();
  if (split) {
    int ws;
    assert_int_equal(waitpid(server, &ws, 0), server);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
  } else {
    check_server();
  }
  assert_int_equal(tw_loop_close(loop), 0);
  free(conns);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_10k_echo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
