/* test_outstanding.c: the unanswered-probe table (src/scan/outstanding.c) and
 * the rate controller (src/scan/ratectl.c) of the scan engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "scan/outstanding.h"
#include "scan/ratectl.h"

/* Random inserts, re-sends and removals against a plain reference array:
 * the table always agrees, whatever the probe runs and backward shifts. */
static void test_table_matches_reference(void **state) {
  struct outstanding o;
  enum { N = 5000 };
  assert_int_equal(ost_init(&o, N), 0);
  static uint8_t present[N];
  static uint64_t sent[N];
  memset(present, 0, sizeof present);
  srand(7);
  size_t count = 0;
  for (int step = 0; step < 200000; step++) {
    uint32_t k = (uint32_t)rand() % N;
    uint64_t key = ost_key(k / 7, (uint16_t)(k % 7));
    int op = rand() % 3;
    if (op < 2) {
      if (!present[k] && !ost_has_room(&o)) continue;
      uint64_t now = (uint64_t)step;
      if (ost_sent(&o, key, now, 1) == -ENOSPC) {
        /* only the FIFO (stale items) may be full: drain it */
        struct ost_entry e;
        while (ost_expired(&o, UINT64_MAX, &e)) {
          uint32_t kk = ost_host(e.key) * 7 + ost_port(e.key);
          assert_int_equal(present[kk], 1);
          assert_int_equal(ost_remove(&o, e.key), 1);
          present[kk] = 0;
          count--;
        }
        continue;
      }
      if (!present[k]) count++;
      present[k] = 1;
      sent[k] = now;
    } else {
      assert_int_equal(ost_remove(&o, key), present[k]);
      if (present[k]) count--;
      present[k] = 0;
    }
    assert_int_equal(o.count, count);
  }
  for (uint32_t k = 0; k < N; k++) {
    struct ost_entry *e = ost_find(&o, ost_key(k / 7, (uint16_t)(k % 7)));
    if (present[k]) {
      assert_non_null(e);
      assert_int_equal(e->sent_ns, sent[k]);
    } else {
      assert_null(e);
    }
  }
  ost_free(&o);
}

/* Expiry comes oldest first, skips answered and re-sent probes, and stops
 * at the first one not yet due. */
static void test_expiry_order(void **state) {
  struct outstanding o;
  assert_int_equal(ost_init(&o, 64), 0);
  for (uint16_t p = 0; p < 10; p++) assert_int_equal(ost_sent(&o, ost_key(1, p), 100 + p, 1), 0);
  assert_int_equal(ost_remove(&o, ost_key(1, 3)), 1);     /* answered */
  assert_int_equal(ost_sent(&o, ost_key(1, 5), 500, 2), 0); /* re-sent later */
  struct ost_entry e;
  uint16_t got[16];
  int n = 0;
  while (ost_expired(&o, 108, &e)) got[n++] = ost_port(e.key);
  /* 100..108 due: ports 0,1,2,4,6,7,8 (3 answered, 5 re-sent at 500) */
  const uint16_t want[] = {0, 1, 2, 4, 6, 7, 8};
  assert_int_equal(n, 7);
  for (int i = 0; i < n; i++) assert_int_equal(got[i], want[i]);
  assert_true(ost_expired(&o, 109, &e));
  assert_int_equal(ost_port(e.key), 9);
  assert_false(ost_expired(&o, 499, &e));
  assert_true(ost_expired(&o, 500, &e));
  assert_int_equal(ost_port(e.key), 5);
  assert_int_equal(e.tries, 2);
  ost_free(&o);
}

static void test_window(void **state) {
  struct outstanding o;
  assert_int_equal(ost_init(&o, 16), 0);
  for (uint16_t p = 0; p < 16; p++) assert_int_equal(ost_sent(&o, ost_key(0, p), p, 1), 0);
  assert_false(ost_has_room(&o));
  assert_int_equal(ost_sent(&o, ost_key(0, 99), 1, 1), -ENOSPC);
  ost_free(&o);
}

/* ---- rate control ------------------------------------------------------------ */

#define MS 1000000ull

/* Feed epochs of answers with a given RTT and loss; return the rate. */
static double run_epochs(struct ratectl *rc, uint64_t *now, int epochs, uint64_t rtt_ns,
                         int lost_per_100) {
  for (int ep = 0; ep < epochs; ep++) {
    for (int i = 0; i < 200; i++) ratectl_answer(rc, rtt_ns, (i % 100) < lost_per_100);
    *now += rc->epoch_ns;
    ratectl_tick(rc, *now);
  }
  return rc->rate;
}

static void test_pacing_budget(void **state) {
  struct ratectl rc;
  ratectl_init(&rc, 1000, 1, 1e6, 0);
  assert_int_equal(ratectl_budget(&rc, 0), 1);
  ratectl_spend(&rc, 1);
  /* 1000/s: 1 ms later one more packet, never more than 2 ms worth */
  assert_int_equal(ratectl_budget(&rc, 1 * MS), 1);
  ratectl_spend(&rc, 1);
  assert_int_equal(ratectl_budget(&rc, 1000 * MS), 2);
}

static void test_random_loss_keeps_rate(void **state) {
  struct ratectl rc;
  uint64_t now = 0;
  ratectl_init(&rc, 1000, 1, 1e9, now);
  double r0 = rc.rate;
  /* 5% random loss, flat RTT: the rate keeps growing */
  double r = run_epochs(&rc, &now, 10, 1 * MS, 5);
  assert_true(r > r0 * 8);
  assert_int_equal(rc.decreases, 0);
}

static void test_queueing_delay_cuts_rate(void **state) {
  struct ratectl rc;
  uint64_t now = 0;
  ratectl_init(&rc, 1000, 1, 1e9, now);
  double up = run_epochs(&rc, &now, 5, 1 * MS, 0);
  /* the queue fills: RTT 1 ms -> 40 ms */
  double down = run_epochs(&rc, &now, 3, 40 * MS, 0);
  assert_true(down < up);
  assert_int_equal(rc.decreases, 3);
  /* bounded below by --min-rate */
  ratectl_init(&rc, 100, 90, 1e9, now);
  run_epochs(&rc, &now, 1, 1 * MS, 0);
  assert_true(run_epochs(&rc, &now, 10, 80 * MS, 0) >= 90);
}

static void test_heavy_loss_cuts_rate(void **state) {
  struct ratectl rc;
  uint64_t now = 0;
  ratectl_init(&rc, 1000, 1, 1e9, now);
  run_epochs(&rc, &now, 3, 1 * MS, 2); /* usual loss 2% */
  double before = rc.rate;
  double after = run_epochs(&rc, &now, 1, 1 * MS, 60);
  assert_true(after < before);
  assert_true(after <= before * 0.71);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table_matches_reference),
    cmocka_unit_test(test_expiry_order),
    cmocka_unit_test(test_window),
    cmocka_unit_test(test_pacing_budget),
    cmocka_unit_test(test_random_loss_keeps_rate),
    cmocka_unit_test(test_queueing_delay_cuts_rate),
    cmocka_unit_test(test_heavy_loss_cuts_rate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
