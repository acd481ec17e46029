/* test_os_db.c: the nmap-os-db parser (src/db/os-db.c), computed
 * fingerprints (src/os/fp.c) and the matcher (src/os/match.c), on the
 * fixture tests/fixtures/os-db-test written for them; and the real
 * /usr/share/nmap/nmap-os-db when it is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <trawl/error.h>

#include "helper_warns.h"
#include "db/os-db.h"
#include "os/fp.h"
#include "os/match.h"

#define FIXTURE TW_SRCDIR "/tests/fixtures/os-db-test"
#define REAL_DB "/usr/share/nmap/nmap-os-db"

static struct osdb *load_fixture(struct warns *w) {
  struct osdb *db;
  char err[256] = "";
  memset(w, 0, sizeof *w);
  int r = osdb_load(&db, FIXTURE, warns_collect, w, err, sizeof err);
  if (r != 0) fail_msg("%s", err);
  return db;
}

static size_t find_entry(const struct osdb *db, const char *name) {
  for (size_t i = 0; i < osdb_count(db); i++)
    if (strcmp(osdb_str(db, osdb_entry(db, i)->name), name) == 0) return i;
  fail_msg("no entry '%s'", name);
  return 0;
}

/* The expression of attribute attr of test t in entry e, or fails. */
static uint32_t expr_of(const struct osdb *db, const struct osdb_fp *e, enum osdb_test t,
                        const char *attr) {
  int key = osdb_key_lookup(t, attr, strlen(attr));
  assert_true(key >= 0);
  for (unsigned i = 0; i < e->nattr; i++)
    if (osdb_attr_key(db, e, i) == (unsigned)key) return osdb_attr_expr(db, e, i);
  fail_msg("no %s.%s", osdb_test_name(t), attr);
  return 0;
}

static int ematch(const struct osdb *db, uint32_t ex, const char *v) {
  struct osdb_value val;
  osdb_value_set(&val, v, strlen(v));
  return osdb_expr_match(db, ex, &val);
}

static void test_fixture_entries(void **state) {
  struct warns w;
  struct osdb *db = load_fixture(&w);
  assert_int_equal(osdb_count(db), 3);
  /* MatchPoints */
  assert_int_equal(osdb_weight(db, OSDB_KEY(OSDB_SEQ, 3)), 40); /* TI */
  assert_int_equal(osdb_weight(db, (unsigned)osdb_key_lookup(OSDB_U1, "RUD", 3)), 50);
  assert_int_equal(osdb_weight(db, (unsigned)osdb_key_lookup(OSDB_IE, "DFI", 3)), 20);
  /* entry A: classes (with an empty generation) and CPEs (with auto) */
  const struct osdb_fp *a = osdb_entry(db, find_entry(db, "Test Stack A 1.0"));
  assert_int_equal(a->line, 20);
  assert_int_equal(a->nclass, 2);
  const struct osdb_class *c = osdb_class(db, a, 1);
  assert_string_equal(osdb_str(db, c->vendor), "TestVendor");
  assert_string_equal(osdb_str(db, c->family), "TestOS");
  assert_string_equal(osdb_str(db, c->gen), "");
  assert_string_equal(osdb_str(db, c->type), "router");
  assert_string_equal(osdb_str(db, osdb_class(db, a, 0)->gen), "1.X");
  assert_int_equal(a->ncpe, 2);
  assert_string_equal(osdb_str(db, osdb_cpe(db, a, 0)->text), "cpe:/o:testvendor:testos:1");
  assert_int_equal(osdb_cpe(db, a, 0)->is_auto, 1);
  assert_int_equal(osdb_cpe(db, a, 1)->is_auto, 0);
  assert_int_equal(a->tests, (1u << OSDB_SEQ) | (1u << OSDB_OPS) | (1u << OSDB_T1) | (1u << OSDB_T2));
  /* attributes sorted by key */
  for (unsigned i = 1; i < a->nattr; i++)
    assert_true(osdb_attr_key(db, a, i - 1) < osdb_attr_key(db, a, i));
  /* B kept its good lines only; B2 shares B's interned expressions */
  const struct osdb_fp *b = osdb_entry(db, find_entry(db, "Test Stack B"));
  const struct osdb_fp *b2 = osdb_entry(db, find_entry(db, "Test Stack B2 (same tests as B)"));
  assert_int_equal(b->tests, (1u << OSDB_T1) | (1u << OSDB_IE) | (1u << OSDB_U1));
  assert_int_equal(b->nclass, 1);
  assert_int_equal(b->ncpe, 0);
  assert_int_equal(b->nattr, b2->nattr);
  for (unsigned i = 0; i < b->nattr; i++)
    assert_int_equal(osdb_attr_expr(db, b, i), osdb_attr_expr(db, b2, i));
  assert_string_equal(osdb_str(db, b->name), "Test Stack B");
  osdb_free(db);
}

static void test_fixture_expressions(void **state) {
  struct warns w;
  struct osdb *db = load_fixture(&w);
  const struct osdb_fp *a = osdb_entry(db, find_entry(db, "Test Stack A 1.0"));
  uint32_t sp = expr_of(db, a, OSDB_SEQ, "SP");          /* 0-5 */
  assert_int_equal(osdb_expr_nalt(db, sp), 1);
  assert_int_equal(osdb_expr_alt(db, sp, 0)->op, OSDB_OP_RANGE);
  assert_true(ematch(db, sp, "0"));
  assert_true(ematch(db, sp, "5"));
  assert_false(ematch(db, sp, "6"));
  assert_false(ematch(db, sp, "Z"));
  uint32_t gcd = expr_of(db, a, OSDB_SEQ, "GCD");        /* 1|40|>FF0 */
  assert_int_equal(osdb_expr_nalt(db, gcd), 3);
  assert_string_equal(osdb_expr_text(db, gcd), "1|40|>FF0");
  assert_true(ematch(db, gcd, "1"));
  assert_true(ematch(db, gcd, "40"));
  assert_true(ematch(db, gcd, "0040")); /* numbers compare as numbers */
  assert_true(ematch(db, gcd, "FF1"));
  assert_true(ematch(db, gcd, "ff1"));
  assert_false(ematch(db, gcd, "FF0"));
  assert_false(ematch(db, gcd, "2"));
  uint32_t isr = expr_of(db, a, OSDB_SEQ, "ISR");        /* C8-D2 */
  assert_true(ematch(db, isr, "C8"));
  assert_true(ematch(db, isr, "D2"));
  assert_false(ematch(db, isr, "D3"));
  assert_false(ematch(db, isr, "C7"));
  uint32_t ti = expr_of(db, a, OSDB_SEQ, "TI");          /* I|RD */
  assert_true(ematch(db, ti, "I"));
  assert_true(ematch(db, ti, "RD"));
  assert_false(ematch(db, ti, "RI"));
  assert_false(ematch(db, ti, ""));
  uint32_t ts = expr_of(db, a, OSDB_SEQ, "TS");          /* <5 */
  assert_true(ematch(db, ts, "4"));
  assert_false(ematch(db, ts, "5"));
  assert_false(ematch(db, ts, "U"));
  uint32_t o1 = expr_of(db, a, OSDB_OPS, "O1");          /* a string */
  assert_true(ematch(db, o1, "M5B4NW7ST11"));
  assert_false(ematch(db, o1, "M5B4NW7ST1"));
  uint32_t o2 = expr_of(db, a, OSDB_OPS, "O2");          /* empty */
  assert_true(ematch(db, o2, ""));
  assert_false(ematch(db, o2, "M5B4"));
  uint32_t acc = expr_of(db, a, OSDB_T1, "A");           /* S+ */
  assert_true(ematch(db, acc, "S+"));
  assert_false(ematch(db, acc, "S"));
  uint32_t t = expr_of(db, a, OSDB_T1, "T");             /* 3B-45 */
  assert_true(ematch(db, t, "40"));
  assert_false(ematch(db, t, "46"));
  osdb_free(db);
}

static void test_fixture_malformed(void **state) {
  static const unsigned lines[] = {17, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 45};
  struct warns w;
  struct osdb *db = load_fixture(&w);
  size_t n = sizeof lines / sizeof lines[0];
  assert_int_equal(w.n, n);
  assert_int_equal(osdb_warnings(db), n);
  for (size_t i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, "os-db-test:%u: ", lines[i]);
    if (strstr(w.msg[i], want) == NULL) fail_msg("warning %zu is '%s', want line %u", i, w.msg[i], lines[i]);
  }
  assert_non_null(strstr(w.msg[5], "bad expression W=>XYZ"));
  assert_non_null(strstr(w.msg[12], "T1 given twice"));
  osdb_free(db);
}

static void test_bad_files(void **state) {
  struct osdb *db = (struct osdb *)1;
  char err[256] = "";
  int r = osdb_load(&db, "/nonexistent/nmap-os-db", NULL, NULL, err, sizeof err);
  assert_int_equal(r, -ENOENT);
  assert_null(db);
  assert_non_null(strstr(err, "/nonexistent/nmap-os-db"));
  assert_non_null(strstr(err, "nmap-common"));
  /* no MatchPoints, no fingerprint */
  const char *t1 = "Fingerprint X\nT1(R=Y)\n";
  assert_int_equal(osdb_load_mem(&db, "t1", t1, strlen(t1), NULL, NULL, err, sizeof err),
                   TW_EMALFORMED);
  assert_non_null(strstr(err, "MatchPoints"));
  const char *t2 = "MatchPoints\nT1(R=1)\n";
  assert_int_equal(osdb_load_mem(&db, "t2", t2, strlen(t2), NULL, NULL, err, sizeof err),
                   TW_EMALFORMED);
  /* a NUL byte and a bad weight are warnings */
  struct warns w = {0};
  const char t3[] = "MatchPoints\nT1(R=x1)\nT2(R=1\0)\nFingerprint X\nT1(R=Y)\n";
  assert_int_equal(osdb_load_mem(&db, "t3", t3, sizeof t3 - 1, warns_collect, &w, err, sizeof err), 0);
  assert_int_equal(w.n, 2);
  assert_non_null(strstr(w.msg[0], "t3:2: MatchPoints T1: bad weight"));
  assert_non_null(strstr(w.msg[1], "t3:3: NUL"));
  assert_int_equal(osdb_weight(db, OSDB_KEY(OSDB_T1, 0)), 0);
  osdb_free(db);
}

/* The observed fingerprint of the accuracy test, in Nmap's printed form. */
static const char observed[] =
    "T1(R=Y%DF=N%T=40%TG=40%S=O%A=S+%F=AS%RD=0%Q=)\n"
    "IE(R=Y%DFI=N%T=40%TG=40%CD=S)\n"
    "U1(R=Y%DF=N%T=40%TG=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n";

static void test_accuracy(void **state) {
  struct warns w;
  struct osdb *db = load_fixture(&w);
  struct os_fp fp;
  char err[128];
  assert_int_equal(os_fp_parse(&fp, observed, strlen(observed), err, sizeof err), 0);
  size_t ia = find_entry(db, "Test Stack A 1.0"), ib = find_entry(db, "Test Stack B");
  uint32_t got, all;
  /* A shares T1 only: 9 weighted attributes (140 points), DF differs (10) */
  os_match_entry(db, osdb_entry(db, ia), &fp, &got, &all);
  assert_int_equal(all, 140);
  assert_int_equal(got, 130);
  /* B: T1 140/140, IE 120/120, U1 only R compared: 0/30 */
  os_match_entry(db, osdb_entry(db, ib), &fp, &got, &all);
  assert_int_equal(all, 290);
  assert_int_equal(got, 260);

  struct os_match_result res;
  assert_int_equal(os_match_all(db, &fp, &res), 0);
  assert_int_equal(res.scored, 3);
  assert_int_equal(res.nexact, 0);
  assert_int_equal(res.n, 3); /* 92.8%, then B and B2 tied at 89.6% in db order */
  assert_int_equal(res.m[0].entry, ia);
  assert_int_equal(res.m[1].entry, ib);
  assert_int_equal(res.m[2].entry, ib + 1);
  assert_true(os_match_accuracy(&res.m[0]) > 0.928 && os_match_accuracy(&res.m[0]) < 0.929);
  assert_int_equal(os_match_verdict(&res, 0, 0), OS_VERDICT_NONE);
  assert_int_equal(os_match_verdict(&res, 1, 0), OS_VERDICT_GUESS);
  assert_int_equal(os_match_verdict(&res, 0, 1), OS_VERDICT_GUESS);
  os_match_result_free(&res);

  /* DF=Y makes A exact: then only A is reported */
  assert_int_equal(os_fp_set(&fp, OSDB_T1, "DF", "Y"), 0);
  assert_int_equal(os_match_all(db, &fp, &res), 0);
  assert_int_equal(res.nexact, 1);
  assert_int_equal(res.n, 1);
  assert_int_equal(res.m[0].entry, ia);
  assert_int_equal(os_match_verdict(&res, 0, 0), OS_VERDICT_EXACT);
  os_match_result_free(&res);

  /* a U1 answer of R=N drops B below the guess threshold: 260/290 -> the U1
   * R now matches (30 more) but T1 DF fails (10 less): 280/290 */
  assert_int_equal(os_fp_set(&fp, OSDB_U1, "R", "N"), 0);
  os_match_entry(db, osdb_entry(db, ib), &fp, &got, &all);
  assert_int_equal(got, 280);
  assert_int_equal(all, 290);
  /* nothing shared: not scored */
  struct os_fp empty;
  os_fp_init(&empty);
  os_fp_set(&empty, OSDB_WIN, "W1", "FFFF");
  assert_int_equal(os_match_all(db, &empty, &res), 0);
  assert_int_equal(res.scored, 0);
  assert_int_equal(res.n, 0);
  os_match_result_free(&res);
  osdb_free(db);
}

static void test_fp_format_parse(void **state) {
  struct os_fp fp, back;
  char buf[1024], err[128];
  os_fp_init(&fp);
  assert_int_equal(os_fp_set(&fp, OSDB_T2, "R", "N"), 0);
  assert_int_equal(os_fp_set_hex(&fp, OSDB_SEQ, "SP", 0x101), 0);
  assert_int_equal(os_fp_set(&fp, OSDB_SEQ, "TI", "I"), 0);
  assert_int_equal(os_fp_set(&fp, OSDB_T1, "Q", ""), 0);
  assert_int_equal(os_fp_set(&fp, OSDB_T1, "R", "Y"), 0);
  assert_int_equal(os_fp_set(&fp, OSDB_T1, "XX", "Y"), -EINVAL);
  char big[OS_FP_VAL_MAX + 1];
  memset(big, 'N', sizeof big - 1);
  big[OS_FP_VAL_MAX] = '\0';
  assert_int_equal(os_fp_set(&fp, OSDB_OPS, "O1", big), -E2BIG);
  size_t n = os_fp_format(&fp, buf, sizeof buf);
  assert_string_equal(buf, "SEQ(SP=101%TI=I)\nT1(R=Y%Q=)\nT2(R=N)\n");
  assert_int_equal(n, strlen(buf));
  assert_int_equal(os_fp_format(&fp, buf, 5), n); /* truncated, length still told */
  assert_string_equal(buf, "SEQ(");
  os_fp_format(&fp, buf, sizeof buf);
  assert_int_equal(os_fp_parse(&back, buf, strlen(buf), err, sizeof err), 0);
  assert_int_equal(back.tests, fp.tests);
  assert_string_equal(os_fp_get(&back, OSDB_SEQ, "SP"), "101");
  assert_string_equal(os_fp_get(&back, OSDB_T1, "Q"), "");
  assert_null(os_fp_get(&back, OSDB_T1, "DF"));
  const char *bad = "T1(R=Y%ZZ=1)\n";
  assert_int_equal(os_fp_parse(&back, bad, strlen(bad), err, sizeof err), TW_EMALFORMED);
  assert_non_null(strstr(err, "ZZ=1"));
}

/* A value that satisfies expression ex (its first alternative). */
static void satisfy(const struct osdb *db, uint32_t ex, char *out, size_t cap) {
  const struct osdb_alt *a = osdb_expr_alt(db, ex, 0);
  switch (a->op) {
  case OSDB_OP_EQ: snprintf(out, cap, "%s", osdb_str(db, a->str)); break;
  case OSDB_OP_RANGE: snprintf(out, cap, "%llX", (unsigned long long)a->hi); break;
  case OSDB_OP_GT: snprintf(out, cap, "%llX", (unsigned long long)a->lo + 1); break;
  default: snprintf(out, cap, "%llX", (unsigned long long)(a->lo ? a->lo - 1 : 0)); break;
  }
}

static void test_real_db(void **state) {
  if (access(REAL_DB, R_OK) != 0) {
    print_message("skipped: %s not installed\n", REAL_DB);
    skip();
  }
  struct osdb *db;
  char err[256] = "";
  struct warns w = {0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = osdb_load_default(&db, NULL, warns_collect, &w, err, sizeof err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (r != 0) fail_msg("%s", err);
  print_message("%zu fingerprints, %zu distinct expressions, %d warnings, loaded in %.1f ms\n",
                osdb_count(db), osdb_expr_count(db), w.n,
                (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  for (int i = 0; i < w.n && i < 5; i++) print_message("  %s\n", w.msg[i]);
  assert_true(osdb_count(db) >= 1000);
  assert_int_equal(w.n, 0);
  /* MatchPoints: every attribute of every test has a weight (but R of
   * SEQ, OPS and WIN, which only says that nothing answered) */
  for (int t = 0; t < OSDB_NTESTS; t++)
    for (unsigned i = 0; i < osdb_attr_count((enum osdb_test)t); i++) {
      int bare = t <= OSDB_WIN && strcmp(osdb_attr_name((enum osdb_test)t, i), "R") == 0;
      if (osdb_weight(db, OSDB_KEY(t, i)) == 0 && !bare)
        fail_msg("%s.%s has no weight", osdb_test_name((enum osdb_test)t), osdb_attr_name((enum osdb_test)t, i));
    }
  size_t attrs = 0, withclass = 0;
  for (size_t i = 0; i < osdb_count(db); i++) {
    const struct osdb_fp *e = osdb_entry(db, i);
    attrs += e->nattr;
    if (e->nclass > 0) withclass++;
  }
  assert_int_equal(withclass, osdb_count(db));
  assert_true(osdb_expr_count(db) * 10 < attrs); /* interning pays */
  /* every 25th entry: a fingerprint built from its own expressions matches
   * it exactly */
  double ms = 0;
  for (size_t i = 0; i < osdb_count(db); i += 25) {
    const struct osdb_fp *e = osdb_entry(db, i);
    struct os_fp fp;
    os_fp_init(&fp);
    for (unsigned k = 0; k < e->nattr; k++) {
      char v[OS_FP_VAL_MAX];
      satisfy(db, osdb_attr_expr(db, e, k), v, sizeof v);
      assert_int_equal(os_fp_set_key(&fp, osdb_attr_key(db, e, k), v, strlen(v)), 0);
    }
    struct os_match_result res;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(os_match_all(db, &fp, &res), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms += (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    int found = 0;
    for (size_t k = 0; k < res.nexact; k++) found |= res.m[k].entry == i;
    if (!found && e->nattr > 0) fail_msg("entry %zu (%s) does not match itself", i, osdb_str(db, e->name));
    os_match_result_free(&res);
  }
  print_message("match of one fingerprint against the whole db: %.2f ms on average\n",
                ms / (double)((osdb_count(db) + 24) / 25));
  osdb_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_entries),   cmocka_unit_test(test_fixture_expressions),
      cmocka_unit_test(test_fixture_malformed), cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_accuracy),          cmocka_unit_test(test_fp_format_parse),
      cmocka_unit_test(test_real_db),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
