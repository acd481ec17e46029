/* test_permute.c: the cyclic-group permutation of src/scan/permute.c covers each
 * index exactly once, shards split it exactly, seeds repeat, the prime
 * table is right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scan/permute.h"

/* Walks shard `shard` of `shards` and marks each index in seen[]; fails on
 * an index out of range or seen twice. Returns how many were produced. */
static uint64_t walk(uint64_t n, uint64_t seed, uint64_t shards,
                     uint64_t shard, uint8_t *seen) {
  struct permute pm;
  assert_int_equal(permute_init(&pm, n, seed, shards, shard), 0);
  uint64_t idx, got = 0;
  while (permute_next(&pm, &idx)) {
    assert_true(idx < n);
    if (seen[idx]) fail_msg("n=%lu: index %lu produced twice", (unsigned long)n, (unsigned long)idx);
    seen[idx] = 1;
    got++;
  }
  assert_int_equal(permute_pos(&pm), permute_total(&pm));
  return got;
}

static void test_covers_once(void **state) {
  static const uint64_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 31, 64,
                                   65, 97, 1000, 1024, 4099, 65535, 65536,
                                   300007, 524288};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    uint64_t n = sizes[i];
    uint8_t *seen = calloc(n, 1);
    assert_non_null(seen);
    assert_int_equal(walk(n, 42 + i, 1, 0, seen), n);
    for (uint64_t k = 0; k < n; k++) assert_int_equal(seen[k], 1);
    free(seen);
  }
}

static void test_empty(void **state) {
  struct permute pm;
  uint64_t idx;
  assert_int_equal(permute_init(&pm, 0, 1, 1, 0), 0);
  assert_int_equal(permute_next(&pm, &idx), 0);
}

static void test_shards(void **state) {
  static const uint64_t sizes[] = {1, 2, 10, 97, 1000, 65536, 250001};
  static const uint64_t shard_counts[] = {2, 3, 7, 16};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    for (size_t j = 0; j < sizeof shard_counts / sizeof shard_counts[0]; j++) {
      uint64_t n = sizes[i], s = shard_counts[j], sum = 0;
      uint8_t *seen = calloc(n, 1); /* shared: overlap between shards fails */
      for (uint64_t k = 0; k < s; k++) sum += walk(n, 99, s, k, seen);
      assert_int_equal(sum, n);
      free(seen);
    }
  }
  /* more shards than cycle elements: the extra shards are empty */
  uint8_t seen[2] = {0};
  uint64_t sum = 0;
  for (uint64_t k = 0; k < 5; k++) sum += walk(2, 7, 5, k, seen);
  assert_int_equal(sum, 2);
}

static void test_seed(void **state) {
  const uint64_t n = 5000;
  uint64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  struct permute pm;
  uint64_t idx, k;
  assert_int_equal(permute_init(&pm, n, 1234, 1, 0), 0);
  for (k = 0; permute_next(&pm, &idx); k++) a[k] = idx;
  assert_int_equal(k, n);
  assert_int_equal(permute_init(&pm, n, 1234, 1, 0), 0);
  for (k = 0; permute_next(&pm, &idx); k++) b[k] = idx;
  assert_memory_equal(a, b, n * sizeof *a);
  assert_int_equal(permute_init(&pm, n, 1235, 1, 0), 0);
  for (k = 0; permute_next(&pm, &idx); k++) b[k] = idx;
  assert_int_equal(k, n);
  assert_memory_not_equal(a, b, n * sizeof *a);
  /* not the identity or its reverse either */
  size_t in_place = 0;
  for (k = 0; k < n; k++) in_place += a[k] == k;
  assert_true(in_place < n / 10);
  free(a);
  free(b);
}

static void test_seek(void **state) {
  struct permute pm, pm2;
  uint64_t idx, idx2;
  assert_int_equal(permute_init(&pm, 100000, 5, 3, 1), 0);
  for (int k = 0; k < 777; k++) assert_int_equal(permute_next(&pm, &idx), 1);
  assert_int_equal(permute_init(&pm2, 100000, 5, 3, 1), 0);
  assert_int_equal(permute_seek(&pm2, permute_pos(&pm)), 0);
  for (int k = 0; k < 100; k++) {
    assert_int_equal(permute_next(&pm, &idx), 1);
    assert_int_equal(permute_next(&pm2, &idx2), 1);
    assert_int_equal(idx, idx2);
  }
  assert_int_equal(permute_seek(&pm2, permute_total(&pm2) + 1), -ERANGE);
}

static void test_large(void **state) {
  /* a /12 times 65535 ports: about 2^48 */
  uint64_t n = (1ull << 20) * 65535ull;
  struct permute pm;
  assert_int_equal(permute_init(&pm, n, 77, 1, 0), 0);
  assert_true(pm.p > n);
  uint64_t idx, max = 0;
  for (int k = 0; k < 100000; k++) {
    assert_int_equal(permute_next(&pm, &idx), 1);
    assert_true(idx < n);
    if (idx > max) max = idx;
  }
  assert_true(max > n / 2); /* spread over the space, not clustered low */
  assert_int_equal(permute_init(&pm, PERMUTE_MAX_N, 1, 1, 0), 0);
  for (int k = 0; k < 1000; k++) {
    assert_int_equal(permute_next(&pm, &idx), 1);
    assert_true(idx < PERMUTE_MAX_N);
  }
  assert_int_equal(permute_init(&pm, PERMUTE_MAX_N + 1, 1, 1, 0), -E2BIG);
  assert_int_equal(permute_init(&pm, 10, 1, 0, 0), -EINVAL);
  assert_int_equal(permute_init(&pm, 10, 1, 4, 4), -EINVAL);
}

static int is_prime(uint64_t n) {
  if (n < 2) return 0;
  static const uint64_t small[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  for (int i = 0; i < 12; i++)
    if (n % small[i] == 0) return n == small[i];
  uint64_t d = n - 1;
  int s = 0;
  while ((d & 1) == 0) d >>= 1, s++;
  for (int i = 0; i < 12; i++) {
    uint64_t x = permute_powmod(small[i], d, n);
    if (x == 1 || x == n - 1) continue;
    int ok = 0;
    for (int r = 1; r < s && !ok; r++) {
      x = permute_mulmod(x, x, n);
      ok = x == n - 1;
    }
    if (!ok) return 0;
  }
  return 1;
}

static void test_prime_table(void **state) {
  assert_true(permute_prime_count() >= 63);
  for (int i = 0; i < permute_prime_count(); i++) {
    const struct permute_prime *pp = permute_prime_at(i);
    assert_true(is_prime(pp->p));
    assert_true(pp->p > (2ull << i) && (i == 0 || pp->p > permute_prime_at(i - 1)->p));
    /* there is no prime between 2^(i+1) and p */
    for (uint64_t q = (2ull << i) + 1; q < pp->p; q++) assert_false(is_prime(q));
    uint64_t rest = pp->p - 1;
    for (int f = 0; f < pp->nfactors; f++) {
      assert_true(is_prime(pp->factors[f]));
      assert_int_equal(rest % pp->factors[f], 0);
      while (rest % pp->factors[f] == 0) rest /= pp->factors[f];
    }
    assert_int_equal(rest, 1);
  }
  assert_null(permute_prime_at(permute_prime_count()));
  /* the chosen g really has order p-1 (brute force for small p) */
  for (uint64_t seed = 0; seed < 20; seed++) {
    struct permute pm;
    assert_int_equal(permute_init(&pm, 1000, seed, 1, 0), 0);
    uint64_t x = pm.g, order = 1;
    while (x != 1) x = permute_mulmod(x, pm.g, pm.p), order++;
    assert_int_equal(order, pm.p - 1);
  }
}

static void test_mulmod(void **state) {
  uint64_t m = 9223372036854775837ull;
  assert_int_equal(permute_mulmod(m - 1, m - 1, m), 1); /* (-1)^2 */
  assert_int_equal(permute_mulmod(1ull << 62, 4, m), (uint64_t)((unsigned __int128)(1ull << 62) * 4 % m));
  assert_int_equal(permute_powmod(3, m - 1, m), 1); /* Fermat */
  assert_int_equal(permute_mulmod(123456, 654321, 1000003), 123456ull * 654321ull % 1000003);
}

/* -r: ports in increasing order per host, every host at a port before the
 * next port; shards split it disjointly and completely; seek resumes. */
static void test_ordered(void **state) {
  (void)state;
  struct permute pm;
  uint64_t idx, k = 0;
  assert_int_equal(permute_init_ordered(&pm, 3, 4, 1, 0), 0);
  while (permute_next(&pm, &idx) == 1) {
    assert_int_equal(idx, (k % 3) * 4 + k / 3);
    k++;
  }
  assert_int_equal(k, 12);
  int seen[12] = {0};
  for (uint64_t sh = 0; sh < 5; sh++) {
    assert_int_equal(permute_init_ordered(&pm, 3, 4, 5, sh), 0);
    uint64_t last = 0;
    int first = 1;
    while (permute_next(&pm, &idx) == 1) {
      assert_true(idx < 12);
      seen[idx]++;
      if (!first && idx % 4 == last % 4) assert_true(idx / 4 != last / 4 || idx > last);
      last = idx;
      first = 0;
    }
  }
  for (int i = 0; i < 12; i++) assert_int_equal(seen[i], 1);
  assert_int_equal(permute_init_ordered(&pm, 3, 4, 1, 0), 0);
  assert_int_equal(permute_seek(&pm, 7), 0);
  assert_int_equal(permute_next(&pm, &idx), 1);
  assert_int_equal(idx, (7 % 3) * 4 + 7 / 3);
  assert_int_equal(permute_init_ordered(&pm, 0, 4, 1, 0), 0);
  assert_int_equal(permute_next(&pm, &idx), 0);
  assert_int_equal(permute_init_ordered(&pm, 3, 4, 2, 2), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_covers_once), cmocka_unit_test(test_ordered), cmocka_unit_test(test_empty),
      cmocka_unit_test(test_shards),      cmocka_unit_test(test_seed),
      cmocka_unit_test(test_seek),        cmocka_unit_test(test_large),
      cmocka_unit_test(test_prime_table), cmocka_unit_test(test_mulmod),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
