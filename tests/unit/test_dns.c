/* test_dns.c: tw_resolver against the tests' own DNS server (helper_dns.c,
 * on 127.0.0.77, never the system's resolver), and tw_getaddrinfo on
 * inputs that need no network (numeric addresses, "localhost"). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <trawl/dns.h>

#include "helper_dns.h"

#define MS 1000000ull
#define SERVER_IP "127.0.0.77"

typedef struct {
  int calls;
  int status;
  size_t n;
  struct sockaddr_storage addrs[8];
  char name[256];
  tw_req *req;   /* as returned by tw_resolve */
  tw_req *seen;  /* as passed to the callback */
  void *data_seen;
} result;

typedef struct {
  tw_loop *loop;
  tw_resolver *r;
  test_dns *srv;
  int watchdog_fired;
  int closed;
} fixture;

/* ---- helpers --------------------------------------------------------------- */

static void on_resolve(tw_req *req, int status, const struct sockaddr_storage *addrs, size_t n,
                       void *data) {
  result *res = data;
  res->calls++;
  res->status = status;
  res->n = n;
  res->seen = req;
  res->data_seen = tw_req_data(req);
  for (size_t i = 0; i < n && i < 8; i++) res->addrs[i] = addrs[i];
}

static void on_reverse(tw_req *req, int status, const char *name, void *data) {
  result *res = data;
  res->calls++;
  res->status = status;
  res->seen = req;
  res->data_seen = tw_req_data(req);
  snprintf(res->name, sizeof res->name, "%s", name ? name : "(null)");
}

static int has_addr(const result *res, const char *text) {
  unsigned char want[16];
  int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
  assert_int_equal(inet_pton(fam, text, want), 1);
  for (size_t i = 0; i < res->n && i < 8; i++) {
    const struct sockaddr_storage *ss = &res->addrs[i];
    if (ss->ss_family != fam) continue;
    if (fam == AF_INET) {
      const struct sockaddr_in *sin = (const void *)ss;
      assert_int_equal(sin->sin_port, 0);
      if (!memcmp(&sin->sin_addr, want, 4)) return 1;
    } else {
      const struct sockaddr_in6 *sin6 = (const void *)ss;
      assert_int_equal(sin6->sin6_port, 0);
      if (!memcmp(&sin6->sin6_addr, want, 16)) return 1;
    }
  }
  return 0;
}

static void on_watchdog(tw_timer *t, int status) {
  fixture *f = tw_data(t);
  if (status == 0) {
    f->watchdog_fired = 1;
    tw_loop_stop(f->loop);
  }
}

/* Run the loop until no lookup is pending; a watchdog (which does not keep
 * the loop alive itself) fails the test if that takes longer than limit. */
static void run(fixture *f, uint64_t limit_ns) {
  tw_timer *wd;
  assert_int_equal(tw_timer_new(f->loop, &wd, f), 0);
  assert_int_equal(tw_timer_start(wd, on_watchdog, limit_ns, 0), 0);
  tw_unref(wd);
  assert_true(tw_loop_run(f->loop, TW_RUN_DEFAULT) >= 0);
  tw_close(wd, NULL);
  tw_loop_run(f->loop, TW_RUN_NOWAIT); /* let the close finish */
  assert_false(f->watchdog_fired);
}

static tw_resolver *new_resolver(fixture *f, uint64_t timeout_ns, int tries) {
  tw_resolver_opts o = {.servers = test_dns_servers(f->srv), .timeout_ns = timeout_ns,
                        .tries = tries, .no_search = 1};
  tw_resolver *r = NULL;
  assert_int_equal(tw_resolver_new(f->loop, &r, &o, f), 0);
  assert_non_null(r);
  return r;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(tw_loop_new(&f->loop), 0);
  assert_int_equal(test_dns_start(&f->srv, SERVER_IP), 0);
  f->r = new_resolver(f, 2000 * MS, 2);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->r && !f->closed) tw_close(f->r, NULL);
  assert_int_equal(tw_loop_close(f->loop), 0);
  test_dns_stop(f->srv);
  free(f);
  return 0;
}

static void resolve(fixture *f, tw_resolver *r, result *res, const char *name, int family) {
  memset(res, 0, sizeof *res);
  assert_int_equal(tw_resolve(r, &res->req, name, family, on_resolve, res), 0);
  assert_non_null(res->req);
}

static void reverse(fixture *f, tw_resolver *r, result *res, const char *addr) {
  memset(res, 0, sizeof *res);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(addr, ':')) {
    struct sockaddr_in6 *s6 = (void *)&ss;
    s6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
  } else {
    struct sockaddr_in *s4 = (void *)&ss;
    s4->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
  }
  assert_int_equal(tw_reverse(r, &res->req, (struct sockaddr *)&ss, on_reverse, res), 0);
  assert_non_null(res->req);
}

static void assert_once(const result *res, int status) {
  assert_int_equal(res->calls, 1);
  assert_int_equal(res->status, status);
  assert_ptr_equal(res->seen, res->req);
  assert_ptr_equal(res->data_seen, res);
}

/* ---- forward and reverse lookups -------------------------------------------- */

static void test_forward_a(void **state) {
  fixture *f = *state;
  result a;
  resolve(f, f->r, &a, "a.test", AF_INET);
  assert_int_equal(a.calls, 0); /* never from inside tw_resolve */
  run(f, 5000 * MS);
  assert_once(&a, 0);
  assert_int_equal(a.n, 1);
  assert_true(has_addr(&a, "198.18.0.1"));
  assert_true(test_dns_queries_for(f->srv, "a.test") >= 1);
}

static void test_forward_aaaa(void **state) {
  fixture *f = *state;
  result a;
  resolve(f, f->r, &a, "a.test", AF_INET6);
  run(f, 5000 * MS);
  assert_once(&a, 0);
  assert_int_equal(a.n, 1);
  assert_true(has_addr(&a, "2001:db8::1"));
}

static void test_forward_unspec(void **state) {
  fixture *f = *state;
  result a, m, v4;
  resolve(f, f->r, &a, "a.test", AF_UNSPEC);
  resolve(f, f->r, &m, "multi.test", AF_INET);
  resolve(f, f->r, &v4, "v4only.test", AF_UNSPEC);
  run(f, 5000 * MS);
  assert_once(&a, 0);
  assert_int_equal(a.n, 2);
  assert_true(has_addr(&a, "198.18.0.1"));
  assert_true(has_addr(&a, "2001:db8::1"));
  assert_once(&m, 0);
  assert_int_equal(m.n, 2);
  assert_true(has_addr(&m, "198.18.0.2"));
  assert_true(has_addr(&m, "198.18.0.3"));
  assert_once(&v4, 0); /* AAAA had no data, A did: success */
  assert_int_equal(v4.n, 1);
  assert_true(has_addr(&v4, "198.18.0.4"));
}

static void test_reverse(void **state) {
  fixture *f = *state;
  result r4, r6, none;
  reverse(f, f->r, &r4, "198.18.0.1");
  reverse(f, f->r, &r6, "2001:db8::1");
  reverse(f, f->r, &none, "198.18.0.200");
  run(f, 5000 * MS);
  assert_once(&r4, 0);
  assert_string_equal(r4.name, "a.test");
  assert_once(&r6, 0);
  assert_string_equal(r6.name, "a.test");
  assert_once(&none, TW_ENOTFOUND);
  assert_string_equal(none.name, "(null)");
}

static void test_not_found_and_no_data(void **state) {
  fixture *f = *state;
  result nx, nx6, nd6, nd4, sf;
  resolve(f, f->r, &nx, "nope.test", AF_INET);
  resolve(f, f->r, &nx6, "nope.test", AF_UNSPEC);
  resolve(f, f->r, &nd6, "v4only.test", AF_INET6);
  resolve(f, f->r, &nd4, "v6only.test", AF_INET);
  resolve(f, f->r, &sf, "servfail.test", AF_INET);
  run(f, 10000 * MS);
  assert_once(&nx, TW_ENOTFOUND);
  assert_int_equal(nx.n, 0);
  assert_once(&nx6, TW_ENOTFOUND);
  assert_once(&nd6, TW_ENODATA);
  assert_once(&nd4, TW_ENODATA);
  assert_once(&sf, TW_EDNS);
}

/* A truncated UDP answer makes c-ares retry over TCP: a socket it first
 * wants writable (connecting), then readable. */
static void test_tcp_fallback(void **state) {
  fixture *f = *state;
  result tc, a;
  resolve(f, f->r, &tc, "tc.test", AF_INET);
  resolve(f, f->r, &a, "a.test", AF_INET);
  run(f, 5000 * MS);
  assert_once(&tc, 0);
  assert_int_equal(tc.n, 1);
  assert_true(has_addr(&tc, "198.18.0.10"));
  assert_true(test_dns_tcp_queries(f->srv) >= 1);
  assert_once(&a, 0);
}

/* no_search: a short name is asked as given, never with the search list
 * appended (LOCALDOMAIN stands in for resolv.conf's "search" line). */
static void test_no_search(void **state) {
  fixture *f = *state;
  setenv("LOCALDOMAIN", "search.test", 1);
  tw_resolver_opts o = {.servers = test_dns_servers(f->srv), .timeout_ns = 2000 * MS,
                        .tries = 1, .no_search = 1};
  tw_resolver *plain, *searching;
  assert_int_equal(tw_resolver_new(f->loop, &plain, &o, NULL), 0);
  o.no_search = 0;
  assert_int_equal(tw_resolver_new(f->loop, &searching, &o, NULL), 0);
  unsetenv("LOCALDOMAIN");
  result r1;
  resolve(f, plain, &r1, "nosuch", AF_INET);
  run(f, 5000 * MS);
  assert_once(&r1, TW_ENOTFOUND);
  assert_int_equal(test_dns_queries_for(f->srv, "nosuch"), 1);
  assert_int_equal(test_dns_queries_for(f->srv, "nosuch.search.test"), 0);
  /* The same lookup without no_search does use the list: the check above
   * can tell the difference. */
  result r2;
  resolve(f, searching, &r2, "nosuch", AF_INET);
  run(f, 5000 * MS);
  assert_once(&r2, TW_ENOTFOUND);
  assert_int_equal(test_dns_queries_for(f->srv, "nosuch.search.test"), 1);
  tw_close(plain, NULL);
  tw_close(searching, NULL);
  run(f, 1000 * MS);
}

/* ---- timeouts and hostile answers ------------------------------------------ */

static void test_timeout(void **state) {
  fixture *f = *state;
  tw_resolver *r = new_resolver(f, 100 * MS, 1);
  result s;
  uint64_t t0 = tw_hrtime();
  resolve(f, r, &s, "slow.test", AF_INET);
  run(f, 5000 * MS);
  uint64_t took = tw_hrtime() - t0;
  assert_once(&s, -ETIMEDOUT);
  assert_true(took >= 95 * MS); /* the timeout was honoured ... */
  assert_true(took < 2000 * MS); /* ... and no default was used */
  assert_int_equal(test_dns_queries_for(f->srv, "slow.test"), 1); /* tries 1 */
  tw_close(r, NULL);
  run(f, 1000 * MS);
}

static void test_malformed_answers(void **state) {
  fixture *f = *state;
  tw_resolver *r = new_resolver(f, 150 * MS, 1);
  result tr, id, gb, ok;
  resolve(f, r, &tr, "trunc.test", AF_INET);
  resolve(f, r, &id, "badid.test", AF_INET);
  resolve(f, r, &gb, "garbage.test", AF_INET);
  run(f, 5000 * MS);
  assert_int_equal(tr.calls, 1);
  assert_int_equal(tr.status, -ETIMEDOUT); /* too short to be an answer */
  assert_int_equal(id.calls, 1);
  assert_int_equal(id.status, -ETIMEDOUT); /* not an answer to our query */
  assert_int_equal(gb.calls, 1);
  assert_true(gb.status == TW_EDNS || gb.status == -ETIMEDOUT);
  assert_true(test_dns_queries_for(f->srv, "garbage.test") >= 1);
  /* The resolver still works. */
  resolve(f, r, &ok, "a.test", AF_INET);
  run(f, 5000 * MS);
  assert_once(&ok, 0);
  assert_true(has_addr(&ok, "198.18.0.1"));
  tw_close(r, NULL);
  run(f, 1000 * MS);
}

/* ---- cancellation ------------------------------------------------------------ */

static void test_cancel_one(void **state) {
  fixture *f = *state;
  result slow, fast, late, a, rev;
  resolve(f, f->r, &slow, "slow.test", AF_INET);  /* never answered */
  resolve(f, f->r, &fast, "multi.test", AF_INET); /* answered, but cancelled */
  resolve(f, f->r, &a, "a.test", AF_UNSPEC);
  reverse(f, f->r, &rev, "198.18.0.1");
  assert_int_equal(tw_cancel(slow.req), 0);
  assert_int_equal(tw_cancel(slow.req), -EALREADY);
  assert_int_equal(tw_cancel(fast.req), 0);
  assert_int_equal(slow.calls, 0); /* delivered from the loop, not here */
  /* After multi.test's answer (which c-ares still reports to us) is in,
   * v4only.test's is too: the server answers in order on one socket. */
  resolve(f, f->r, &late, "v4only.test", AF_INET);
  run(f, 5000 * MS);
  assert_once(&slow, -ECANCELED);
  assert_once(&fast, -ECANCELED);
  assert_int_equal(fast.n, 0);
  assert_once(&late, 0);
  assert_once(&a, 0);
  assert_int_equal(a.n, 2);
  assert_once(&rev, 0);
  assert_string_equal(rev.name, "a.test");
  assert_int_equal(test_dns_queries_for(f->srv, "multi.test"), 1);
  /* The resolver still holds slow.test inside c-ares; closing it must not
   * call anyone back again (and ASan checks the record is freed). */
  tw_close(f->r, NULL);
  f->closed = 1;
  run(f, 1000 * MS);
  assert_int_equal(slow.calls, 1);
  assert_int_equal(fast.calls, 1);
}

static int close_calls;
static void on_close(void *h) { close_calls++; }

static void test_close_with_pending(void **state) {
  fixture *f = *state;
  result s1, s2, a, rev;
  resolve(f, f->r, &s1, "slow.test", AF_INET);
  resolve(f, f->r, &s2, "delay.test", AF_UNSPEC);
  resolve(f, f->r, &a, "a.test", AF_INET);
  reverse(f, f->r, &rev, "198.18.0.1");
  close_calls = 0;
  assert_int_equal(tw_close(f->r, on_close), 0);
  f->closed = 1;
  assert_int_equal(tw_close(f->r, on_close), -EALREADY);
  result after;
  assert_int_equal(tw_resolve(f->r, &after.req, "a.test", AF_INET, on_resolve, &after),
                   -ECANCELED);
  assert_int_equal(s1.calls + s2.calls + a.calls + rev.calls, 0);
  run(f, 1000 * MS);
  assert_once(&s1, -ECANCELED);
  assert_once(&s2, -ECANCELED);
  assert_once(&a, -ECANCELED);
  assert_once(&rev, -ECANCELED);
  assert_int_equal(close_calls, 1);
}

/* A callback closes its own resolver while other lookups are pending, and
 * its results stay readable until it returns. */
typedef struct {
  result res;
  fixture *f;
  int resolve_after_close;
  char first[INET6_ADDRSTRLEN];
} closer;

static void on_resolve_close(tw_req *req, int status, const struct sockaddr_storage *addrs,
                             size_t n, void *data) {
  closer *c = data;
  on_resolve(req, status, addrs, n, &c->res);
  c->res.data_seen = tw_req_data(req) == c ? &c->res : NULL;
  tw_close(c->f->r, NULL);
  c->f->closed = 1;
  result x;
  c->resolve_after_close = tw_resolve(c->f->r, &x.req, "a.test", AF_INET, on_resolve, &x);
  if (n) inet_ntop(AF_INET, &((const struct sockaddr_in *)&addrs[0])->sin_addr, c->first,
                   sizeof c->first);
}

static void test_close_from_callback(void **state) {
  fixture *f = *state;
  closer c;
  memset(&c, 0, sizeof c);
  c.f = f;
  result s, d;
  test_dns_set_delay(f->srv, 1000 * MS); /* answered long after a.test */
  resolve(f, f->r, &s, "slow.test", AF_INET);
  resolve(f, f->r, &d, "delay.test", AF_INET);
  assert_int_equal(tw_resolve(f->r, &c.res.req, "a.test", AF_INET, on_resolve_close, &c), 0);
  run(f, 5000 * MS);
  assert_once(&c.res, 0);
  assert_string_equal(c.first, "198.18.0.1"); /* read after the close */
  assert_int_equal(c.resolve_after_close, -ECANCELED);
  assert_once(&s, -ECANCELED);
  assert_once(&d, -ECANCELED);
}

/* c-ares answers a numeric name inside tw_resolve(): the result is queued
 * before the call returns. It is still delivered from the loop, and a
 * cancel or close that comes before delivery still wins. */
static void test_numeric_queued(void **state) {
  fixture *f = *state;
  result n, c, k;
  resolve(f, f->r, &n, "198.18.0.42", AF_INET);
  resolve(f, f->r, &c, "198.18.0.43", AF_INET);
  resolve(f, f->r, &k, "2001:db8::44", AF_INET6);
  assert_int_equal(n.calls + c.calls + k.calls, 0);
  assert_int_equal(tw_cancel(c.req), 0);
  run(f, 1000 * MS);
  assert_once(&n, 0);
  assert_int_equal(n.n, 1);
  assert_true(has_addr(&n, "198.18.0.42"));
  assert_once(&c, -ECANCELED);
  assert_int_equal(c.n, 0);
  assert_once(&k, 0);
  assert_true(has_addr(&k, "2001:db8::44"));
  assert_int_equal(test_dns_queries(f->srv), 0);

  resolve(f, f->r, &n, "198.18.0.45", AF_INET);
  tw_close(f->r, NULL);
  f->closed = 1;
  run(f, 1000 * MS);
  assert_once(&n, -ECANCELED);
}

static void test_loop_close_with_pending(void **state) {
  fixture *f = *state;
  /* A loop of its own, closed with lookups in flight and never run to
   * completion. */
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  tw_resolver_opts o = {.servers = test_dns_servers(f->srv), .timeout_ns = 2000 * MS,
                        .tries = 1, .no_search = 1};
  tw_resolver *r;
  assert_int_equal(tw_resolver_new(loop, &r, &o, NULL), 0);
  result s1, s2, rev, cancelled;
  /* Only names the server is slow to answer: one pass may well see a
   * prompt answer arrive and deliver it. */
  test_dns_set_delay(f->srv, 2000 * MS);
  resolve(f, r, &s1, "slow.test", AF_INET);
  resolve(f, r, &s2, "delay.test", AF_UNSPEC);
  reverse(f, r, &rev, "2001:db8::250");
  resolve(f, r, &cancelled, "slow.test", AF_INET6);
  assert_int_equal(tw_cancel(cancelled.req), 0);
  /* One pass: the queries go out, the cancelled one is delivered. */
  assert_true(tw_loop_run(loop, TW_RUN_NOWAIT) >= 0);
  assert_once(&cancelled, -ECANCELED);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_once(&s1, -ECANCELED);
  assert_once(&s2, -ECANCELED);
  assert_once(&rev, -ECANCELED);
  assert_once(&cancelled, -ECANCELED);
}

/* ---- bad arguments -------------------------------------------------------------- */

static void test_bad_args(void **state) {
  fixture *f = *state;
  tw_resolver *r = (tw_resolver *)1;
  tw_resolver_opts o = {0};
  assert_int_equal(tw_resolver_new(NULL, &r, NULL, NULL), -EINVAL);
  assert_int_equal(tw_resolver_new(f->loop, NULL, NULL, NULL), -EINVAL);
  const char *bad[] = {"", ",", "garbage", "1.2.3.4,", "1.2.3.4:", "1.2.3.4:0",
                       "1.2.3.4:99999", "1.2.3.4:abc", "[::1", "[::1]x", "[1.2.3.4]:53",
                       "300.1.1.1", " 1.2.3.4", "1.2.3.4 5.6.7.8"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o.servers = bad[i];
    r = (tw_resolver *)1;
    int rc = tw_resolver_new(f->loop, &r, &o, NULL);
    if (rc != -EINVAL) fail_msg("servers \"%s\" gave %d", bad[i], rc);
    assert_null(r);
  }
  o.servers = "127.0.0.1";
  o.tries = -1;
  assert_int_equal(tw_resolver_new(f->loop, &r, &o, NULL), -EINVAL);
  /* Well-formed lists are accepted (no query is sent). */
  const char *good[] = {"198.18.0.53", "198.18.0.53:5353", "[2001:db8::53]:5353",
                        "2001:db8::53", "[2001:db8::53]", "198.18.0.53,[2001:db8::53]:5353"};
  o.tries = 0;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    o.servers = good[i];
    int rc = tw_resolver_new(f->loop, &r, &o, NULL);
    if (rc != 0) fail_msg("servers \"%s\" gave %d", good[i], rc);
    assert_int_equal(tw_close(r, NULL), 0);
  }

  result res;
  tw_req *req = (tw_req *)1;
  assert_int_equal(tw_resolve(NULL, &req, "a.test", AF_INET, on_resolve, &res), -EINVAL);
  assert_null(req);
  assert_int_equal(tw_resolve(f->r, &req, NULL, AF_INET, on_resolve, &res), -EINVAL);
  assert_int_equal(tw_resolve(f->r, &req, "", AF_INET, on_resolve, &res), -EINVAL);
  assert_int_equal(tw_resolve(f->r, &req, "a.test", AF_INET, NULL, &res), -EINVAL);
  assert_int_equal(tw_resolve(f->r, &req, "a.test", AF_UNIX, on_resolve, &res), -EINVAL);
  assert_int_equal(tw_resolve(f->r, &req, "a.test", 12345, on_resolve, &res), -EINVAL);
  /* A handle that is not a resolver. */
  tw_timer *t;
  assert_int_equal(tw_timer_new(f->loop, &t, NULL), 0);
  assert_int_equal(tw_resolve((tw_resolver *)t, &req, "a.test", AF_INET, on_resolve, &res),
                   -EINVAL);
  tw_close(t, NULL);

  struct sockaddr_in sin = {.sin_family = AF_INET};
  struct sockaddr sa = {.sa_family = AF_UNIX};
  assert_int_equal(tw_reverse(NULL, &req, (struct sockaddr *)&sin, on_reverse, &res), -EINVAL);
  assert_int_equal(tw_reverse(f->r, &req, NULL, on_reverse, &res), -EINVAL);
  assert_int_equal(tw_reverse(f->r, &req, &sa, on_reverse, &res), -EINVAL);
  assert_int_equal(tw_reverse(f->r, &req, (struct sockaddr *)&sin, NULL, &res), -EINVAL);
  assert_int_equal(tw_cancel(NULL), -EINVAL);
  assert_int_equal(tw_close(NULL, NULL), -EINVAL);

  /* The system configuration can be loaded (nothing is queried). */
  assert_int_equal(tw_resolver_new(f->loop, &r, NULL, NULL), 0);
  assert_int_equal(tw_close(r, NULL), 0);
  run(f, 1000 * MS);
  assert_int_equal(test_dns_queries(f->srv), 0);
}

/* ---- tw_getaddrinfo (no network: numeric and hosts-file names only) --------- */

typedef struct {
  int calls;
  int status;
  struct addrinfo *res;
  tw_req *req, *seen;
} gai_result;

static void on_gai(tw_req *req, int status, struct addrinfo *res, void *data) {
  gai_result *g = data;
  g->calls++;
  g->status = status;
  g->res = res;
  g->seen = req;
  assert_ptr_equal(tw_req_data(req), g);
}

static int gai_has(const struct addrinfo *ai, int fam, const char *text) {
  unsigned char want[16];
  assert_int_equal(inet_pton(fam, text, want), 1);
  for (; ai; ai = ai->ai_next) {
    if (ai->ai_family != fam) continue;
    const void *a = fam == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                   : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
    if (!memcmp(a, want, fam == AF_INET ? 4 : 16)) return 1;
  }
  return 0;
}

static void test_getaddrinfo(void **state) {
  fixture *f = *state;
  struct addrinfo num = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
  struct addrinfo v4 = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  gai_result n4 = {0}, n6 = {0}, lh = {0}, bad = {0};
  assert_int_equal(tw_getaddrinfo(f->loop, &n4.req, "198.18.0.5", "80", &num, on_gai, &n4), 0);
  assert_int_equal(tw_getaddrinfo(f->loop, &n6.req, "2001:db8::5", NULL, &num, on_gai, &n6), 0);
  assert_int_equal(tw_getaddrinfo(f->loop, &bad.req, "not-numeric", NULL, &num, on_gai, &bad), 0);
  /* "localhost" comes from /etc/hosts (nsswitch "files" first). */
  assert_int_equal(tw_getaddrinfo(f->loop, &lh.req, "localhost", NULL, &v4, on_gai, &lh), 0);
  assert_int_equal(n4.calls, 0);
  run(f, 10000 * MS);
  assert_int_equal(n4.calls, 1);
  assert_int_equal(n4.status, 0);
  assert_ptr_equal(n4.seen, n4.req);
  assert_true(gai_has(n4.res, AF_INET, "198.18.0.5"));
  assert_int_equal(ntohs(((struct sockaddr_in *)n4.res->ai_addr)->sin_port), 80);
  assert_int_equal(n6.calls, 1);
  assert_int_equal(n6.status, 0);
  assert_true(gai_has(n6.res, AF_INET6, "2001:db8::5"));
  assert_int_equal(bad.calls, 1);
  assert_int_equal(bad.status, TW_ENOTFOUND);
  assert_null(bad.res);
  assert_int_equal(lh.calls, 1);
  assert_int_equal(lh.status, 0);
  assert_true(gai_has(lh.res, AF_INET, "127.0.0.1"));
  freeaddrinfo(n4.res);
  freeaddrinfo(n6.res);
  freeaddrinfo(lh.res);
  assert_int_equal(test_dns_queries(f->srv), 0);
}

static void test_getaddrinfo_bad_args(void **state) {
  fixture *f = *state;
  gai_result g = {0};
  tw_req *req = (tw_req *)1;
  struct addrinfo fam = {.ai_family = AF_UNIX};
  assert_int_equal(tw_getaddrinfo(f->loop, &req, NULL, NULL, NULL, on_gai, &g), -EINVAL);
  assert_null(req);
  assert_int_equal(tw_getaddrinfo(NULL, &req, "localhost", NULL, NULL, on_gai, &g), -EINVAL);
  assert_int_equal(tw_getaddrinfo(f->loop, &req, "localhost", NULL, NULL, NULL, &g), -EINVAL);
  assert_int_equal(tw_getaddrinfo(f->loop, &req, "localhost", NULL, &fam, on_gai, &g), -EINVAL);
  assert_int_equal(g.calls, 0);
}

static void test_getaddrinfo_cancel(void **state) {
  fixture *f = *state;
  struct addrinfo num = {.ai_flags = AI_NUMERICHOST};
  gai_result g[8];
  memset(g, 0, sizeof g);
  for (int i = 0; i < 8; i++)
    assert_int_equal(tw_getaddrinfo(f->loop, &g[i].req, "198.18.0.7", NULL, &num, on_gai, &g[i]),
                     0);
  /* Cancel every other one: whether the worker had already started it or
   * not, its callback says -ECANCELED, once, with no result to free. */
  for (int i = 0; i < 8; i += 2) assert_int_equal(tw_cancel(g[i].req), 0);
  assert_int_equal(tw_cancel(g[0].req), -EALREADY);
  run(f, 10000 * MS);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(g[i].calls, 1);
    if (i % 2 == 0) {
      assert_int_equal(g[i].status, -ECANCELED);
      assert_null(g[i].res);
    } else {
      assert_int_equal(g[i].status, 0);
      assert_true(gai_has(g[i].res, AF_INET, "198.18.0.7"));
      freeaddrinfo(g[i].res);
    }
  }
}

/* Cancelled from the first callback: the others have most likely finished
 * on their workers and are on their way back, yet each still reports
 * -ECANCELED, once, with its result freed for the caller. */
#define NLATE 8
static gai_result late[NLATE];
static int late_cancelled[NLATE];

static void on_gai_cancel_rest(tw_req *req, int status, struct addrinfo *res, void *data) {
  on_gai(req, status, res, data);
  for (int i = 0; i < NLATE; i++)
    if (late[i].calls == 0 && !late_cancelled[i]) late_cancelled[i] = tw_cancel(late[i].req) == 0;
}

static void test_getaddrinfo_cancel_late(void **state) {
  fixture *f = *state;
  struct addrinfo num = {.ai_flags = AI_NUMERICHOST};
  memset(late, 0, sizeof late);
  memset(late_cancelled, 0, sizeof late_cancelled);
  for (int i = 0; i < NLATE; i++)
    assert_int_equal(tw_getaddrinfo(f->loop, &late[i].req, "198.18.0.6", NULL, &num,
                                    on_gai_cancel_rest, &late[i]),
                     0);
  run(f, 10000 * MS);
  int cancelled = 0;
  for (int i = 0; i < NLATE; i++) {
    assert_int_equal(late[i].calls, 1);
    if (late_cancelled[i]) {
      cancelled++;
      assert_int_equal(late[i].status, -ECANCELED);
      assert_null(late[i].res);
    } else {
      assert_int_equal(late[i].status, 0);
      freeaddrinfo(late[i].res);
    }
  }
  assert_true(cancelled >= 1 && cancelled <= NLATE - 1);
}

static void test_getaddrinfo_loop_close(void **state) {
  (void)state;
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct addrinfo num = {.ai_flags = AI_NUMERICHOST};
  gai_result g = {0};
  assert_int_equal(tw_getaddrinfo(loop, &g.req, "198.18.0.8", NULL, &num, on_gai, &g), 0);
  assert_int_equal(tw_loop_close(loop), 0);
  assert_int_equal(g.calls, 1);
  assert_int_equal(g.status, -ECANCELED);
  assert_null(g.res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_forward_a, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forward_aaaa, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forward_unspec, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reverse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_found_and_no_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tcp_fallback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_search, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_answers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_one, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_with_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_from_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_numeric_queued, setup, teardown),
      cmocka_unit_test_setup_teardown(test_loop_close_with_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_getaddrinfo, setup, teardown),
      cmocka_unit_test_setup_teardown(test_getaddrinfo_bad_args, setup, teardown),
      cmocka_unit_test_setup_teardown(test_getaddrinfo_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_getaddrinfo_cancel_late, setup, teardown),
      cmocka_unit_test_setup_teardown(test_getaddrinfo_loop_close, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
