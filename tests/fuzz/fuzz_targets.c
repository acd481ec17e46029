/* fuzz_targets.c: libFuzzer harness for Nmap target syntax
 * (src/core/targets.c). The input up to the first NUL is target text (as
 * in an -iL file: expressions, '#' comments); what follows it is an
 * --exclude list. The set is finalized and its index checked: every
 * address targets_get returns is in the set, in ascending order within
 * each family, and the counts add up. Large octet patterns are slow by
 * design (docs/fuzzing.md). Seeds: tests/fuzz/corpus/targets/. */
#include "fuzz-util.h"

#include <sys/socket.h>

#include "core/targets.h"

static int addr_cmp(const struct tgt_addr *a, const struct tgt_addr *b) {
  if (a->family != b->family) return a->family == AF_INET ? -1 : 1;
  if (a->family == AF_INET) return memcmp(&a->u.v4, &b->u.v4, 4);
  return memcmp(&a->u.v6, &b->u.v6, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t tlen = nul ? (size_t)(nul - data) : size;
  char *excl = nul ? fuzz_cstr(nul + 1, size - tlen - 1) : NULL;
  struct targets *t = targets_new();
  if (!t) {
    free(excl);
    return 0;
  }
  char err[512];
  err[0] = 0;
  int rc = targets_add_text(t, (const char *)data, tlen, "fuzz", err, sizeof err);
  if (rc < 0) FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
  if (rc == 0 && excl) {
    err[0] = 0;
    rc = targets_exclude(t, excl, err, sizeof err);
    if (rc < 0) FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
  }
  if (rc == 0) {
    err[0] = 0;
    rc = targets_finalize(t, err, sizeof err);
    if (rc < 0) FUZZ_CHECK(err[0] != 0);
  }
  if (rc == 0) {
    uint64_t n = targets_count(t), n4 = targets_count4(t);
    FUZZ_CHECK(n4 + targets_count6(t) == n);
    /* the first, the last, and a few in between, in ascending order:
     * their addresses ascend too (IPv4 first) */
    uint64_t probe[6] = {0, 1, n4 ? n4 - 1 : 0, n4, n / 2, n ? n - 1 : 0};
    for (int i = 1; i < 6; i++)
      for (int j = i; j > 0 && probe[j - 1] > probe[j]; j--) {
        uint64_t x = probe[j];
        probe[j] = probe[j - 1];
        probe[j - 1] = x;
      }
    struct tgt_addr prev = {0};
    for (int i = 0; i < 6; i++) {
      struct tgt_addr a;
      if (probe[i] >= n) {
        FUZZ_CHECK(targets_get(t, probe[i], &a) == -ERANGE);
        continue;
      }
      FUZZ_CHECK(targets_get(t, probe[i], &a) == 0);
      FUZZ_CHECK(a.family == (probe[i] < n4 ? AF_INET : AF_INET6));
      FUZZ_CHECK(targets_contains(t, &a) == 1);
      char buf[64];
      FUZZ_CHECK(tgt_addr_str(&a, buf, sizeof buf) != NULL);
      if (i > 0 && probe[i] > probe[i - 1]) FUZZ_CHECK(addr_cmp(&prev, &a) < 0);
      if (i > 0 && probe[i] == probe[i - 1]) FUZZ_CHECK(addr_cmp(&prev, &a) == 0);
      prev = a;
    }
    for (size_t i = 0; i < targets_name_count(t); i++)
      FUZZ_CHECK(targets_name(t, i)->name != NULL);
    for (size_t i = 0; i < targets_excluded_name_count(t); i++)
      FUZZ_CHECK(targets_excluded_name(t, i)->name != NULL);
  }
  targets_free(t);
  free(excl);
  return 0;
}
