/* test_engine_parallel.c: --max-parallelism and --min-parallelism in the
 * raw engine (src/scan/engine.c): the window caps the probes outstanding
 * at once, and the floor keeps that many outstanding even when the rate
 * controller would send far fewer. Probes go to the test
 * (engine_config.send) and are never answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "scan/engine.h"

struct fx {
  tw_loop *loop;
  struct engine eng;
  struct engine_config cfg;
  tw_pkt_addr dst;
  int nsent, ntimeout, done;
  size_t max_outstanding; /* outstanding when a new probe was handed over, + 1 */
};

static int fx_build(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf, size_t cap) {
  (void)e, (void)h, (void)p, (void)try;
  memset(buf, 0, 20);
  buf[0] = 0x45;
  return cap >= 20 ? 20 : 0;
}

static void fx_timeout(struct engine *e, uint32_t h, uint32_t p) {
  (void)h, (void)p;
  ((struct fx *)e->ctx)->ntimeout++;
}

static const struct probe_ops fx_ops = {fx_build, fx_timeout, NULL, NULL, NULL, NULL};

static int fx_send(void *arg, const uint8_t *buf, size_t len) {
  (void)buf, (void)len;
  struct fx *f = arg;
  f->nsent++;
  if (f->eng.ost.count + 1 > f->max_outstanding) f->max_outstanding = f->eng.ost.count + 1;
  return 0;
}

static void fx_done(struct engine *e) { ((struct fx *)e->ctx)->done = 1; }

static void fx_init(struct fx *f) {
  memset(f, 0, sizeof *f);
  assert_int_equal(tw_loop_new(&f->loop), 0);
  f->dst.family = AF_INET;
  inet_pton(AF_INET, "198.18.0.2", &f->dst.v4);
  struct engine_config *c = &f->cfg;
  c->min_rate = 1;
  c->start_rate = c->max_rate = 1e6;
  c->max_retries = 0;
  c->rtt_min_ns = c->rtt_init_ns = c->rtt_max_ns = 20000000; /* 20 ms */
  c->seed = 7;
  c->window = 1u << 18;
  c->send = fx_send;
  c->send_arg = f;
}

static void fx_start(struct fx *f, uint32_t nports) {
  assert_int_equal(engine_start(&f->eng, f->loop, &f->cfg, &fx_ops, f, &f->dst, 1, nports, NULL,
                                NULL, fx_done),
                   0);
}

/* Run the loop for about ms milliseconds, or until the pass is done. */
static void fx_run(struct fx *f, uint64_t ms) {
  uint64_t end = tw_hrtime() + ms * 1000000ull;
  while (!f->done && tw_hrtime() < end) tw_loop_run(f->loop, TW_RUN_ONCE);
}

static void fx_free(struct fx *f) {
  engine_free(&f->eng);
  tw_loop_close(f->loop);
}

/* A pass of nports unanswered probes with this window (0: the default),
 * run to its end: the most probes it had outstanding at once. */
static size_t run_window(size_t window, uint32_t nports) {
  struct fx f;
  fx_init(&f);
  if (window) f.cfg.window = window;
  fx_start(&f, nports);
  fx_run(&f, 5000);
  assert_true(f.done);
  assert_int_equal(f.nsent, nports);
  assert_int_equal(f.ntimeout, nports);
  fx_free(&f);
  return f.max_outstanding;
}

static void test_max_parallelism(void **state) {
  (void)state;
  assert_int_equal(run_window(3, 40), 3);
  assert_int_equal(run_window(1, 5), 1); /* one probe at a time */
  /* without it, the rate alone: all 40 go out at once */
  assert_int_equal(run_window(0, 40), 40);
}

static void test_min_parallelism(void **state) {
  (void)state;
  /* a controller at 1 probe/s sends one or two in 100 ms... */
  struct fx f;
  fx_init(&f);
  f.cfg.start_rate = 1;
  f.cfg.rtt_min_ns = f.cfg.rtt_init_ns = f.cfg.rtt_max_ns = 1000000000; /* none times out */
  fx_start(&f, 100);
  fx_run(&f, 100);
  assert_true(f.nsent <= 2);
  fx_free(&f);
  /* ... and keeps 8 outstanding with --min-parallelism 8 */
  fx_init(&f);
  f.cfg.start_rate = 1;
  f.cfg.rtt_min_ns = f.cfg.rtt_init_ns = f.cfg.rtt_max_ns = 1000000000;
  f.cfg.min_parallelism = 8;
  fx_start(&f, 100);
  fx_run(&f, 100);
  assert_int_equal(f.nsent, 8);
  assert_int_equal(f.max_outstanding, 8);
  fx_free(&f);
  /* the floor stays under the --max-rate ceiling: 50/s is 5 in 100 ms, + 1 */
  fx_init(&f);
  f.cfg.start_rate = 1;
  f.cfg.max_rate = 50;
  f.cfg.rtt_min_ns = f.cfg.rtt_init_ns = f.cfg.rtt_max_ns = 1000000000;
  f.cfg.min_parallelism = 64;
  fx_start(&f, 100);
  fx_run(&f, 100);
  assert_true(f.nsent >= 2 && f.nsent <= 7);
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_max_parallelism),
      cmocka_unit_test(test_min_parallelism),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
