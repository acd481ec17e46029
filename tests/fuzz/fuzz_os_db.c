/* fuzz_os_db.c: libFuzzer harness for the nmap-os-db parser
 * (src/db/os-db.c) and the matcher (src/os/match.c): the input is the
 * database text. Checked on a loaded database: every entry's attributes
 * are sorted with valid keys and expressions, warnings are one line each,
 * and a fingerprint built from an entry's own expressions matches that
 * entry exactly. The input is also read as an observed fingerprint
 * (os_fp_parse): printed again it parses to the same fingerprint.
 * Seeds: tests/fuzz/corpus/os_db/. */
#include "fuzz-util.h" /* first: it defines _GNU_SOURCE (memfd_create) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/os-db.h"
#include "os/fp.h"
#include "os/match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_warn(void *ctx, const char *msg) {
  (*(unsigned *)ctx)++;
  FUZZ_CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL);
}

/* A value satisfying the first alternative of expression x. */
static void satisfy(const struct osdb *db, uint32_t x, char *out, size_t cap) {
  const struct osdb_alt *a = osdb_expr_alt(db, x, 0);
  FUZZ_CHECK(a != NULL);
  unsigned long long v = a->op == OSDB_OP_RANGE ? a->lo
                         : a->op == OSDB_OP_GT  ? a->lo + 1
                         : a->op == OSDB_OP_LT  ? a->lo - 1
                                                : 0;
  if (a->op == OSDB_OP_EQ)
    snprintf(out, cap, "%s", osdb_str(db, a->str));
  else
    snprintf(out, cap, "%llX", v);
}

/* The input as an observed fingerprint: format and parse are inverses. */
static void fuzz_fp_text(const uint8_t *data, size_t size) {
  static struct os_fp fp, back;
  char err[256], out[8192];
  if (os_fp_parse(&fp, (const char *)data, size, err, sizeof err) != 0) {
    FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
    return;
  }
  size_t n = os_fp_format(&fp, out, sizeof out);
  FUZZ_CHECK(n < sizeof out);
  FUZZ_CHECK(os_fp_parse(&back, out, n, err, sizeof err) == 0);
  FUZZ_CHECK(back.tests == fp.tests && memcmp(back.has, fp.has, sizeof fp.has) == 0);
  for (unsigned k = 0; k < OSDB_NKEYS; k++)
    if (fp.has[k]) FUZZ_CHECK(strcmp(fp.text[k], back.text[k]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_fp_text(data, size);
  struct osdb *db = NULL;
  char err[512] = "";
  unsigned nwarn = 0;
  int r = osdb_load_mem(&db, "fuzz", (const char *)data, size, on_warn, &nwarn, err, sizeof err);
  if (r < 0) {
    FUZZ_CHECK(db == NULL && err[0] != '\0' && strchr(err, '\n') == NULL);
    return 0;
  }
  FUZZ_CHECK(db != NULL && osdb_warnings(db) == nwarn && osdb_count(db) > 0);
  size_t nx = osdb_expr_count(db);
  for (size_t i = 0; i < osdb_count(db) && i < 64; i++) {
    const struct osdb_fp *e = osdb_entry(db, i);
    for (unsigned k = 0; k < e->nattr; k++) {
      unsigned key = osdb_attr_key(db, e, k);
      FUZZ_CHECK(key < OSDB_NKEYS && OSDB_KEY_ATTR(key) < osdb_attr_count(OSDB_KEY_TEST(key)));
      FUZZ_CHECK(e->tests & (1u << OSDB_KEY_TEST(key)));
      FUZZ_CHECK(osdb_attr_expr(db, e, k) < nx);
      if (k) FUZZ_CHECK(osdb_attr_key(db, e, k - 1) < key);
    }
    for (unsigned c = 0; c < e->nclass; c++) FUZZ_CHECK(osdb_class(db, e, c) != NULL);
    (void)osdb_str(db, e->name);
  }
  /* the first entry, observed through its own expressions, matches itself
   * (LT 0 has no satisfying value: such entries are skipped) */
  const struct osdb_fp *e = osdb_entry(db, 0);
  struct os_fp fp;
  os_fp_init(&fp);
  int usable = 1;
  for (unsigned k = 0; k < e->nattr; k++) {
    uint32_t x = osdb_attr_expr(db, e, k);
    const struct osdb_alt *a = osdb_expr_alt(db, x, 0);
    if ((a->op == OSDB_OP_LT && a->lo == 0) || (a->op == OSDB_OP_GT && a->lo == UINT64_MAX))
      usable = 0;
    char v[64];
    satisfy(db, x, v, sizeof v);
    if (os_fp_set_key(&fp, osdb_attr_key(db, e, k), v, strlen(v)) < 0) usable = 0;
  }
  uint32_t got, all;
  os_match_entry(db, e, &fp, &got, &all);
  FUZZ_CHECK(got <= all);
  if (usable) FUZZ_CHECK(got == all);
  struct os_match_result res;
  if (os_match_all(db, &fp, &res) == 0) {
    for (size_t i = 0; i < res.n; i++) {
      FUZZ_CHECK(res.m[i].entry < osdb_count(db) && res.m[i].matched <= res.m[i].possible);
      if (i) FUZZ_CHECK(os_match_accuracy(&res.m[i]) <= os_match_accuracy(&res.m[i - 1]));
    }
    os_match_result_free(&res);
  }
  osdb_free(db);
  return 0;
}
