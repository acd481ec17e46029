/* test_targets_patterns.c: IPv4 octet patterns that expand to millions of
 * ranges (src/core/targets.c). One too big for a set is refused at once
 * with "expands to more than", without building millions of ranges first
 * (fuzz_targets found "83-.5-.25-.2" taking over 25 s); one whose ranges
 * would be too many before touching ones merge, but not after, is still
 * accepted, with every address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/targets.h"

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Too big: refused, the set left as it was, and at once. The old code
 * scanned octet 4's 256 values for each of 10 million prefixes; the CPU
 * bound is generous (the refusal itself costs microseconds), but far below
 * what building the ranges costs (seconds, more under ASan). */
static void test_too_big_fails_fast(void **state) {
  static const char *const specs[] = {"83-.5-.25-.2", "*.*.*.1", "*.*.0-64.1", "1-255.*.*.0,2"};
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    struct targets *t = targets_new();
    assert_non_null(t);
    char err[256] = "";
    double t0 = cpu_seconds();
    assert_int_equal(targets_add(t, specs[i], err, sizeof err), -E2BIG);
    double spent = cpu_seconds() - t0;
    if (!strstr(err, "expands to more than")) fail_msg("'%s': %s", specs[i], err);
    if (spent > 0.2) fail_msg("'%s' took %.3f s of CPU to refuse", specs[i], spent);
    assert_int_equal(targets_finalize(t, err, sizeof err), 0);
    assert_int_equal(targets_count(t), 0);
    targets_free(t);
  }
}

/* Octet 4 = {0, 255}: two runs for each of 256*256*48 prefixes (6.3M
 * before merging), but x.y.z.255 touches x.y.(z+1).0, so the set holds
 * about 3.2M ranges: under the limit, accepted. */
static void test_merging_pattern_fits(void **state) {
  struct targets *t = targets_new();
  assert_non_null(t);
  char err[256] = "";
  int r = targets_add(t, "*.*.0-47.0,255", err, sizeof err);
  if (r != 0) fail_msg("rejected: %s", err);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 256ull * 256 * 48 * 2);
  assert_true(targets_range_count(t) <= TARGETS_MAX_RANGES);
  struct tgt_addr a;
  assert_int_equal(targets_get(t, 1, &a), 0);
  assert_int_equal(ntohl(a.u.v4.s_addr), 0x000000ffu); /* 0.0.0.255 */
  assert_int_equal(targets_get(t, targets_count(t) - 1, &a), 0);
  assert_int_equal(ntohl(a.u.v4.s_addr), 0xffff2fffu); /* 255.255.47.255 */
  targets_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_too_big_fails_fast),
      cmocka_unit_test(test_merging_pattern_fits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
