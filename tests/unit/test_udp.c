/* test_udp.c: UDP sockets (lib/udp.c) over loopback only (127.0.0.1, ::1):
 * datagrams with addresses v4/v6, ICMP port unreachable on a connected
 * socket, recv_stop, closing with sends pending, loop teardown, a receive
 * callback closing its own handle, bad arguments. Driven by the loop; an
 * unreferenced guard timer fails a test that would hang.
 *
 * Loopback never makes a UDP send wait (the skb is released as soon as it
 * is looped back), so the send queue is tested in a network namespace the
 * test creates (root only), whose lo has a slow tbf qdisc: packets wait
 * there holding send-buffer memory and a small SO_SNDBUF fills up. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <trawl/trawl.h>

#define S 1000000000ull

static void guard_cb(tw_timer *t, int status) {
  if (status == 0) fail_msg("test did not finish in time");
}

static tw_loop *new_loop(void) {
  tw_loop *loop = NULL;
  assert_int_equal(tw_loop_new(&loop), 0);
  tw_timer *t;
  assert_int_equal(tw_timer_new(loop, &t, NULL), 0);
  assert_int_equal(tw_timer_start(t, guard_cb, 10 * S, 0), 0);
  tw_unref(t);
  return loop;
}

static struct sockaddr *loopback(struct sockaddr_storage *ss, int family, uint16_t port) {
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
  }
  return (struct sockaddr *)ss;
}

static int same_addr(const struct sockaddr *a, const struct sockaddr_storage *b) {
  if (a->sa_family != b->ss_family) return 0;
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

/* A socket bound to loopback port 0; *addr gets its address. */
static tw_udp *bound(tw_loop *loop, int family, struct sockaddr_storage *addr) {
  tw_udp *u;
  struct sockaddr_storage ss;
  assert_int_equal(tw_udp_new(loop, &u, family, NULL), 0);
  assert_int_equal(tw_udp_bind(u, loopback(&ss, family, 0)), 0);
  assert_int_equal(tw_udp_sockname(u, addr), 0);
  return u;
}

static int depth;
#define ENTER() assert_int_equal(depth++, 0)
#define LEAVE() depth--

static struct {
  tw_udp *a, *b;
  struct sockaddr_storage aaddr, baddr;
  int sent, received, closed, step, status;
  int order[16], norder;
} st;

static void reset(void) {
  memset(&st, 0, sizeof st);
  depth = 0;
}

static void count_close(void *h) { st.closed++; }

/* ---- datagrams with addresses ---------------------------------------------------- */

static void a_recv(tw_udp *u, int status, const char *buf, size_t len,
                   const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, 0);
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "pong", 4);
  assert_true(same_addr(from, &st.baddr));
  st.received++;
  assert_int_equal(tw_close(st.a, count_close), 0);
  assert_int_equal(tw_close(st.b, count_close), 0);
  LEAVE();
}

static void b_recv(tw_udp *u, int status, const char *buf, size_t len,
                   const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, 0);
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "ping", 4);
  assert_true(same_addr(from, &st.aaddr));
  st.received++;
  assert_int_equal(tw_udp_send(u, "pong", 4, from, NULL), 0);
  LEAVE();
}

static void ping_sent(tw_udp *u, int status) {
  ENTER();
  assert_int_equal(status, 0);
  st.sent++;
  LEAVE();
}

static void sendrecv_test(int family) {
  reset();
  tw_loop *loop = new_loop();
  st.a = bound(loop, family, &st.aaddr);
  st.b = bound(loop, family, &st.baddr);
  assert_int_equal(tw_udp_recv_start(st.a, a_recv), 0);
  assert_int_equal(tw_udp_recv_start(st.b, b_recv), 0);
  assert_int_equal(tw_udp_send(st.a, "ping", 4, (struct sockaddr *)&st.baddr, ping_sent), 0);
  assert_int_equal(st.sent, 0); /* never inside the call */
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.sent, 1);
  assert_int_equal(st.received, 2);
  assert_int_equal(st.closed, 2);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void test_sendrecv_v4(void **state) { sendrecv_test(AF_INET); }
static void test_sendrecv_v6(void **state) { sendrecv_test(AF_INET6); }

/* ---- connected socket: ICMP port unreachable ------------------------------------- */

static void closed_udp_port(int family, struct sockaddr_storage *addr) {
  int fd = socket(family, SOCK_DGRAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, loopback(addr, family, 0), sizeof *addr), 0);
  socklen_t len = sizeof *addr;
  assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
  close(fd);
}

static void refused_recv(tw_udp *u, int status, const char *buf, size_t len,
                         const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, -ECONNREFUSED);
  assert_null(buf);
  st.received++;
  assert_int_equal(tw_close(u, count_close), 0);
  LEAVE();
}

static void refused_test(int family) {
  reset();
  tw_loop *loop = new_loop();
  struct sockaddr_storage dead;
  closed_udp_port(family, &dead);
  tw_udp *u;
  assert_int_equal(tw_udp_new(loop, &u, family, NULL), 0);
  assert_int_equal(tw_udp_connect(u, (struct sockaddr *)&dead), 0);
  assert_int_equal(tw_udp_recv_start(u, refused_recv), 0);
  assert_int_equal(tw_udp_send(u, "x", 1, NULL, ping_sent), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.received, 1);
  assert_int_equal(st.sent, 1);
  assert_int_equal(st.closed, 1);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void test_connected_refused_v4(void **state) { refused_test(AF_INET); }
static void test_connected_refused_v6(void **state) { refused_test(AF_INET6); }

/* Nobody receives: the error reaches a later send's callback instead. */
static void resend_cb(tw_udp *u, int status) {
  ENTER();
  if (status == 0 && ++st.sent < 100) {
    assert_int_equal(tw_udp_send(u, "x", 1, NULL, resend_cb), 0);
  } else {
    assert_int_equal(status, -ECONNREFUSED);
    st.status = status;
    assert_int_equal(tw_close(u, count_close), 0);
  }
  LEAVE();
}

static void test_connected_refused_on_send(void **state) {
  reset();
  tw_loop *loop = new_loop();
  struct sockaddr_storage dead;
  closed_udp_port(AF_INET, &dead);
  tw_udp *u;
  assert_int_equal(tw_udp_new(loop, &u, AF_INET, NULL), 0);
  assert_int_equal(tw_udp_connect(u, (struct sockaddr *)&dead), 0);
  assert_int_equal(tw_udp_send(u, "x", 1, NULL, resend_cb), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.status, -ECONNREFUSED);
  assert_true(st.sent >= 1);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- recv_stop ------------------------------------------------------------------------ */

static void stop_recv(tw_udp *u, int status, const char *buf, size_t len,
                      const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, 0);
  st.received++;
  assert_int_equal(len, 1);
  assert_int_equal(buf[0], '0' + st.received);
  if (st.received == 1) assert_int_equal(tw_udp_recv_stop(u), 0);
  else assert_int_equal(tw_close(u, count_close), 0);
  LEAVE();
}

static void second_sent(tw_udp *u, int status) {
  ENTER();
  assert_int_equal(status, 0);
  st.sent++;
  LEAVE();
}

static void first_sent(tw_udp *u, int status) {
  ENTER();
  assert_int_equal(status, 0);
  st.sent++;
  assert_int_equal(tw_udp_send(u, "2", 1, (struct sockaddr *)&st.baddr, second_sent), 0);
  LEAVE();
}

static void test_recv_stop(void **state) {
  reset();
  tw_loop *loop = new_loop();
  st.a = bound(loop, AF_INET, &st.aaddr);
  st.b = bound(loop, AF_INET, &st.baddr);
  assert_int_equal(tw_udp_recv_start(st.b, stop_recv), 0);
  assert_int_equal(tw_udp_send(st.a, "1", 1, (struct sockaddr *)&st.baddr, first_sent), 0);
  /* Ends once both sends are done: b, stopped, keeps nothing alive. */
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.sent, 2);
  assert_int_equal(st.received, 1);
  assert_false(tw_is_active(st.b));
  /* The second datagram waited in the kernel. */
  assert_int_equal(tw_udp_recv_start(st.b, stop_recv), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.received, 2);
  assert_int_equal(tw_close(st.a, NULL), 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- closing with sends pending --------------------------------------------------------- */

static void pending_sent(tw_udp *u, int status) {
  ENTER();
  assert_int_equal(status, 0); /* handed to the kernel before the close */
  assert_int_equal(st.closed, 0);
  st.order[st.norder++] = (int)st.sent++;
  assert_int_equal(tw_udp_send(u, "x", 1, (struct sockaddr *)&st.baddr, NULL), -ECANCELED);
  LEAVE();
}

static void count_recv(tw_udp *u, int status, const char *buf, size_t len,
                       const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, 0);
  assert_int_equal(len, 1);
  assert_int_equal(buf[0], 'a' + st.received);
  if (++st.received == 3) assert_int_equal(tw_close(u, NULL), 0);
  LEAVE();
}

static void test_close_with_pending_sends(void **state) {
  reset();
  tw_loop *loop = new_loop();
  st.a = bound(loop, AF_INET6, &st.aaddr);
  st.b = bound(loop, AF_INET6, &st.baddr);
  assert_int_equal(tw_udp_recv_start(st.b, count_recv), 0);
  assert_int_equal(tw_udp_send(st.a, "a", 1, (struct sockaddr *)&st.baddr, pending_sent), 0);
  assert_int_equal(tw_udp_send(st.a, "b", 1, (struct sockaddr *)&st.baddr, pending_sent), 0);
  assert_int_equal(tw_udp_send(st.a, "c", 1, (struct sockaddr *)&st.baddr, pending_sent), 0);
  assert_int_equal(tw_close(st.a, count_close), 0);
  assert_int_equal(tw_close(st.a, count_close), -EALREADY);
  assert_int_equal(st.sent, 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.sent, 3); /* each exactly once, in order, before close */
  for (int i = 0; i < 3; i++) assert_int_equal(st.order[i], i);
  assert_int_equal(st.closed, 1);
  assert_int_equal(st.received, 3);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- loop teardown ------------------------------------------------------------------------ */

static void cancelled_recv(tw_udp *u, int status, const char *buf, size_t len,
                           const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, -ECANCELED);
  st.received++;
  LEAVE();
}

static void test_loop_close(void **state) {
  reset();
  tw_loop *loop = new_loop();
  st.a = bound(loop, AF_INET, &st.aaddr);
  st.b = bound(loop, AF_INET, &st.baddr);
  assert_int_equal(tw_udp_recv_start(st.b, cancelled_recv), 0);
  assert_int_equal(tw_udp_send(st.a, "a", 1, (struct sockaddr *)&st.baddr, ping_sent), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(st.received, 1);
  assert_int_equal(st.sent, 1);
}

/* ---- a receive callback closing its own handle ---------------------------------------------- */

static void close_on_first(tw_udp *u, int status, const char *buf, size_t len,
                           const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, 0);
  st.received++;
  assert_int_equal(tw_close(u, count_close), 0);
  assert_int_equal(tw_udp_recv_stop(u), 0);
  LEAVE();
}

static void test_recv_closes_own_handle(void **state) {
  reset();
  tw_loop *loop = new_loop();
  st.a = bound(loop, AF_INET, &st.aaddr);
  st.b = bound(loop, AF_INET, &st.baddr);
  for (int i = 0; i < 5; i++)
    assert_int_equal(tw_udp_send(st.a, "x", 1, (struct sockaddr *)&st.baddr, NULL), 0);
  assert_int_equal(tw_udp_recv_start(st.b, close_on_first), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.received, 1);
  assert_int_equal(st.closed, 1);
  assert_int_equal(tw_close(st.a, NULL), 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- a send callback that sends again does not hold the loop -------------------------------- */

static int passes;
static void count_pass(tw_hook *h, int status) { passes++; }

static void chain_sent(tw_udp *u, int status) {
  ENTER();
  assert_int_equal(status, 0);
  if (++st.sent < 200)
    assert_int_equal(tw_udp_send(u, "x", 1, (struct sockaddr *)&st.baddr, chain_sent), 0);
  else
    assert_int_equal(tw_close(u, count_close), 0);
  LEAVE();
}

static void test_send_chain_yields(void **state) {
  reset();
  passes = 0;
  tw_loop *loop = new_loop();
  st.a = bound(loop, AF_INET, &st.aaddr);
  st.b = bound(loop, AF_INET, &st.baddr);
  tw_hook *h;
  assert_int_equal(tw_hook_new(loop, &h, TW_HOOK_PREPARE, NULL), 0);
  assert_int_equal(tw_hook_start(h, count_pass), 0);
  tw_unref(h);
  assert_int_equal(tw_udp_send(st.a, "x", 1, (struct sockaddr *)&st.baddr, chain_sent), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(st.sent, 200);
  /* The loop polled between every two links (a pass has two pending
   * runs, one each side of the poll); run at once they would take one. */
  assert_true(passes >= 100);
  assert_int_equal(tw_close(st.b, NULL), 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- the send queue, behind a slow qdisc ------------------------------------------------ */

static int orig_netns = -1;

/* Enter a new network namespace with lo up behind a tbf at `rate`. */
static int slow_lo_setup(const char *rate) {
  if (geteuid() != 0) {
    fprintf(stderr, "skipped: needs root for a private network namespace\n");
    return -1;
  }
  orig_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig_netns < 0 || unshare(CLONE_NEWNET) < 0) {
    fprintf(stderr, "skipped: cannot create a network namespace\n");
    return -1;
  }
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "ip link set lo up && tc qdisc add dev lo root tbf rate %s burst 1600 latency 10s",
           rate);
  if (system(cmd) != 0) {
    fprintf(stderr, "skipped: cannot set up lo with a tbf qdisc (ip/tc)\n");
    return -1;
  }
  return 0;
}

static int slow_lo_teardown(void **state) {
  if (orig_netns >= 0) {
    if (setns(orig_netns, CLONE_NEWNET) < 0) fail_msg("cannot return to the original netns");
    close(orig_netns);
    orig_netns = -1;
  }
  return 0;
}

static uint64_t first_iter, last_iter;
static int nq_sent, nq_cancelled;

static void q_sent(tw_udp *u, int status) {
  ENTER();
  assert_int_equal(status, 0);
  assert_int_equal((intptr_t)tw_data(u), 0);
  uint64_t it = tw_loop_iterations(tw_handle_loop(u));
  if (nq_sent++ == 0) first_iter = it;
  last_iter = it;
  LEAVE();
}

static void q_recv(tw_udp *u, int status, const char *buf, size_t len,
                   const struct sockaddr *from) {
  ENTER();
  assert_int_equal(status, 0);
  assert_int_equal(len, 1000);
  assert_int_equal((unsigned char)buf[0], st.received); /* in order */
  if (++st.received == 20) {
    assert_int_equal(tw_close(u, NULL), 0);
    assert_int_equal(tw_close(st.a, NULL), 0);
  }
  LEAVE();
}

static tw_udp *small_sender(tw_loop *loop) {
  tw_udp *u;
  assert_int_equal(tw_udp_new(loop, &u, AF_INET, NULL), 0);
  int one = 1;
  assert_int_equal(setsockopt(tw_udp_fd(u), SOL_SOCKET, SO_SNDBUF, &one, sizeof one), 0);
  return u;
}

static void test_send_queue_drains(void **state) {
  if (slow_lo_setup("1mbit")) skip();
  reset();
  nq_sent = 0;
  tw_loop *loop = new_loop();
  st.a = small_sender(loop);
  st.b = bound(loop, AF_INET, &st.baddr);
  assert_int_equal(tw_udp_recv_start(st.b, q_recv), 0);
  char dgram[1000];
  for (int i = 0; i < 20; i++) {
    memset(dgram, i, sizeof dgram);
    assert_int_equal(tw_udp_send(st.a, dgram, sizeof dgram, (struct sockaddr *)&st.baddr, q_sent), 0);
  }
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(nq_sent, 20);
  assert_int_equal(st.received, 20);
  /* Some sends had to wait for the socket to turn writable. */
  assert_true(last_iter > first_iter);
  assert_int_equal(tw_loop_close(loop), 0);
}

static void qc_sent(tw_udp *u, int status) {
  ENTER();
  if (status == 0) {
    assert_int_equal(nq_cancelled, 0); /* in order: sent ones first */
    nq_sent++;
  } else {
    assert_int_equal(status, -ECANCELED);
    nq_cancelled++;
  }
  assert_int_equal(st.closed, 0);
  LEAVE();
}

static void test_close_cancels_queued_sends(void **state) {
  if (slow_lo_setup("8kbit")) skip();
  reset();
  nq_sent = nq_cancelled = 0;
  tw_loop *loop = new_loop();
  st.a = small_sender(loop);
  st.b = bound(loop, AF_INET, &st.baddr);
  char dgram[1000] = {0};
  for (int i = 0; i < 10; i++)
    assert_int_equal(tw_udp_send(st.a, dgram, sizeof dgram, (struct sockaddr *)&st.baddr, qc_sent), 0);
  assert_int_equal(tw_close(st.a, count_close), 0);
  assert_int_equal(tw_close(st.b, NULL), 0);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(nq_sent + nq_cancelled, 10);
  assert_true(nq_sent >= 1);
  assert_true(nq_cancelled >= 1);
  assert_int_equal(st.closed, 1);
  assert_int_equal(tw_loop_close(loop), 0);
}

/* ---- bad arguments ------------------------------------------------------------------------------ */

static void test_bad_arguments(void **state) {
  reset();
  tw_loop *loop = new_loop();
  tw_udp *u, *u2;
  struct sockaddr_storage v4, v6, addr;
  loopback(&v4, AF_INET, 0);
  loopback(&v6, AF_INET6, 9);
  assert_int_equal(tw_udp_new(NULL, &u, AF_INET, NULL), -EINVAL);
  assert_int_equal(tw_udp_new(loop, NULL, AF_INET, NULL), -EINVAL);
  assert_int_equal(tw_udp_new(loop, &u, AF_UNIX, NULL), -EINVAL);
  assert_null(u);
  assert_int_equal(tw_udp_new(loop, &u, AF_INET, NULL), 0);
  assert_true(tw_udp_fd(u) >= 0);
  assert_int_equal(tw_udp_bind(u, NULL), -EINVAL);
  assert_int_equal(tw_udp_bind(u, (struct sockaddr *)&v6), -EINVAL); /* wrong family */
  assert_int_equal(tw_udp_connect(u, (struct sockaddr *)&v6), -EINVAL);
  assert_int_equal(tw_udp_send(u, "x", 1, NULL, NULL), -EDESTADDRREQ);
  assert_int_equal(tw_udp_send(u, NULL, 1, (struct sockaddr *)&v4, NULL), -EINVAL);
  assert_int_equal(tw_udp_send(u, "x", 1, (struct sockaddr *)&v6, NULL), -EINVAL);
  assert_int_equal(tw_udp_recv_start(u, NULL), -EINVAL);
  assert_int_equal(tw_udp_sockname(u, NULL), -EINVAL);
  assert_int_equal(tw_udp_bind(u, (struct sockaddr *)&v4), 0);
  assert_int_equal(tw_udp_sockname(u, &addr), 0);
  /* The port is taken: bind says so at once. */
  assert_int_equal(tw_udp_new(loop, &u2, AF_INET, NULL), 0);
  assert_int_equal(tw_udp_bind(u2, (struct sockaddr *)&addr), -EADDRINUSE);
  /* Not a tw_udp. */
  tw_timer *tm;
  assert_int_equal(tw_timer_new(loop, &tm, NULL), 0);
  assert_int_equal(tw_udp_recv_start((tw_udp *)tm, cancelled_recv), -EINVAL);
  assert_int_equal(tw_udp_fd((tw_udp *)tm), -EINVAL);
  assert_int_equal(tw_close(tm, NULL), 0);
  assert_int_equal(tw_close(u2, NULL), 0);
  assert_int_equal(tw_close(u, NULL), 0);
  assert_int_equal(tw_close(u, NULL), -EALREADY);
  assert_int_equal(tw_udp_send(u, "x", 1, (struct sockaddr *)&v4, NULL), -ECANCELED);
  assert_int_equal(tw_loop_run(loop, TW_RUN_DEFAULT), 0);
  assert_int_equal(tw_loop_close(loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sendrecv_v4),
    cmocka_unit_test(test_sendrecv_v6),
    cmocka_unit_test(test_connected_refused_v4),
    cmocka_unit_test(test_connected_refused_v6),
    cmocka_unit_test(test_connected_refused_on_send),
    cmocka_unit_test(test_recv_stop),
    cmocka_unit_test(test_close_with_pending_sends),
    cmocka_unit_test(test_loop_close),
    cmocka_unit_test(test_recv_closes_own_handle),
    cmocka_unit_test(test_send_chain_yields),
    cmocka_unit_test(test_bad_arguments),
    cmocka_unit_test_teardown(test_send_queue_drains, slow_lo_teardown),
    cmocka_unit_test_teardown(test_close_cancels_queued_sends, slow_lo_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
