/* test_services.c: loading data/trawl-services and its lookups
 * (src/db/services.c), and the shipped table's own invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>
#include <trawl/error.h>

#include "core/errmsg.h"
#include "core/datadir.h"
#include "db/services.h"

/* trawl's own table by trawl's lookup order (services_load_default()
 * prefers Nmap's nmap-services, found in /usr/share/nmap when nmap-common
 * is installed; test_nmap_format covers that). */
static int load_trawl(struct services **s, const char *datadir, char *err, size_t errlen) {
  char path[4096];
  if (datadir_find(DATADIR_TRAWL, datadir, SERVICES_FILE, DATADIR_FILE, path, sizeof path) < 0)
    return -ENOENT;
  return services_load(s, path, err, errlen);
}

static void test_shipped_table(void **state) {
  struct services *s;
  char err[256] = "";
  unsetenv("TRAWL_DATADIR");
  int r = load_trawl(&s, NULL, err, sizeof err);
  if (r != 0) fail_msg("%s", err);
  assert_false(services_has_ratios(s));
  assert_true(services_ranked_count(s, PROTO_TCP) >= 1000);
  assert_true(services_ranked_count(s, PROTO_UDP) >= 1000);
  assert_string_equal(services_name(s, PROTO_TCP, 80), "http");
  assert_string_equal(services_name(s, PROTO_TCP, 22), "ssh");
  assert_string_equal(services_name(s, PROTO_UDP, 53), "domain");
  assert_string_equal(services_name(s, PROTO_TCP, 61234), "unknown");
  assert_false(services_named(s, PROTO_TCP, 61234));
  assert_true(services_named(s, PROTO_TCP, 443));
  assert_int_equal(services_ranked(s, PROTO_TCP, 0), 80);
  assert_int_equal(services_ranked(s, PROTO_UDP, 0), 53);
  /* ranks form 1..N per protocol and every port appears once */
  for (int p = 0; p < PROTO_COUNT; p++) {
    size_t n = services_ranked_count(s, (enum scan_proto)p);
    uint8_t *seen = calloc(65536, 1);
    uint32_t maxrank = 0;
    for (size_t i = 0; i < services_entry_count(s); i++) {
      const struct service_entry *e = services_entry(s, i);
      if (e->proto != (enum scan_proto)p) continue;
      if (e->rank > maxrank) maxrank = e->rank;
      assert_false(seen[e->port]);
      seen[e->port] = 1;
    }
    assert_int_equal(maxrank, n);
    free(seen);
  }
  services_free(s);
}

static char *write_tmp(const char *dir, const char *text) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, SERVICES_FILE);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_datadir_order(void **state) {
  char dir[] = "/tmp/test_services_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *path = write_tmp(dir, "# tiny\nalpha 7/tcp 2\nbeta 9/tcp 1 # comment\n\ngamma 7/udp 1\n");
  struct services *s;
  char err[256] = "";
  setenv("TRAWL_DATADIR", dir, 1);
  assert_int_equal(load_trawl(&s, NULL, err, sizeof err), 0);
  assert_int_equal(services_entry_count(s), 3);
  assert_string_equal(services_name(s, PROTO_TCP, 7), "alpha");
  assert_int_equal(services_ranked(s, PROTO_TCP, 0), 9);
  assert_int_equal(services_ranked(s, PROTO_TCP, 1), 7);
  assert_int_equal(services_ranked_count(s, PROTO_UDP), 1);
  services_free(s);
  /* an explicit --datadir comes before the environment */
  assert_int_equal(load_trawl(&s, "/nonexistent-dir", err, sizeof err), 0);
  assert_int_equal(services_entry_count(s), 3); /* fell through to env */
  services_free(s);
  unsetenv("TRAWL_DATADIR");
  assert_int_equal(load_trawl(&s, dir, err, sizeof err), 0);
  assert_int_equal(services_entry_count(s), 3);
  services_free(s);
  unlink(path);
  rmdir(dir);
}

/* Nmap's nmap-services: ranks by ratio (ties by port), SCTP and port 0
 * skipped, ratios kept; in --datadir it comes before anything else. */
static void test_nmap_format(void **state) {
  char dir[] = "/tmp/test_services_XXXXXX", path[300];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/%s", dir, SERVICES_NMAP_FILE);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("# a comment line\n"
        "low\t7/tcp\t0.000100\t# one\n"
        "high\t9/tcp\t0.5\n"
        "tie-b\t30/tcp\t0.25\n"
        "tie-a\t20/tcp\t0.25\n"
        "zero\t0/tcp\t0.000000\n"
        "sctp\t9/sctp\t0.9\n"
        "dns\t53/udp\t1\n",
        f);
  fclose(f);
  struct services *s;
  char err[512] = "";
  assert_int_equal(services_load_default(&s, dir, err, sizeof err), 0);
  assert_string_equal(services_path(s), path);
  assert_true(services_has_ratios(s));
  assert_int_equal(services_ranked_count(s, PROTO_TCP), 4);
  assert_int_equal(services_ranked(s, PROTO_TCP, 0), 9);
  assert_int_equal(services_ranked(s, PROTO_TCP, 1), 20);
  assert_int_equal(services_ranked(s, PROTO_TCP, 2), 30);
  assert_int_equal(services_ranked(s, PROTO_TCP, 3), 7);
  assert_int_equal(services_ranked_count(s, PROTO_UDP), 1);
  assert_string_equal(services_name(s, PROTO_TCP, 30), "tie-b");
  for (size_t i = 0; i < services_entry_count(s); i++) {
    const struct service_entry *e = services_entry(s, i);
    if (e->port == 7) assert_true(e->ratio > 0.00009 && e->ratio < 0.00011);
  }
  services_free(s);
  /* bad lines name the file and line */
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("ok\t1/tcp\t0.1\nbad\t2/tcp\t1.5\n", f);
  fclose(f);
  s = (struct services *)1;
  assert_int_equal(services_load_nmap(&s, path, err, sizeof err), TW_EMALFORMED);
  assert_null(s);
  char want[600];
  snprintf(want, sizeof want, "%s:2: bad ratio '1.5' (0 to 1)", path);
  assert_string_equal(err, want);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("a\t1/tcp\t0.1\nb\t1/tcp\t0.2\n", f);
  fclose(f);
  assert_int_equal(services_load_nmap(&s, path, err, sizeof err), TW_EMALFORMED);
  snprintf(want, sizeof want, "%s:2: 1/tcp listed twice", path);
  assert_string_equal(err, want);
  unlink(path);
  rmdir(dir);
}

static void expect_bad(const char *text, const char *want) {
  char dir[] = "/tmp/test_services_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *path = write_tmp(dir, text);
  struct services *s = (struct services *)1;
  char err[512] = "";
  assert_int_equal(services_load(&s, path, err, sizeof err), TW_EMALFORMED);
  assert_null(s);
  char full[600];
  snprintf(full, sizeof full, "%s%s", path, want);
  assert_string_equal(err, full);
  unlink(path);
  rmdir(dir);
}

static void test_bad_files(void **state) {
  expect_bad("http 80/tcp\n", ":1: expected 'name port/proto rank'");
  expect_bad("http 80/tcp 1 extra\n", ":1: expected 'name port/proto rank'");
  expect_bad("# c\nhttp 80 1\n", ":2: bad port/proto '80'");
  expect_bad("http 80/sctp 1\n", ":1: bad protocol 'sctp'");
  expect_bad("http 70000/tcp 1\n", ":1: bad port '70000'");
  expect_bad("http 0/tcp 1\n", ":1: bad port '0'");
  expect_bad("http 99999999999999999999999/tcp 1\n", ":1: bad port '99999999999999999999999'");
  expect_bad("http 80/tcp x\n", ":1: bad rank 'x'");
  expect_bad("http 80/tcp 1\nwww 80/tcp 2\n", ":2: 80/tcp listed twice");
  expect_bad("http 80/tcp 1\nssh 22/tcp 1\n", ": rank 1 used twice for tcp");
  struct services *s;
  char err[256];
  assert_int_equal(services_load(&s, "/nonexistent/file", err, sizeof err), -ENOENT);
  assert_non_null(strstr(err, "cannot open '/nonexistent/file'"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shipped_table),
      cmocka_unit_test(test_datadir_order), cmocka_unit_test(test_nmap_format),
      cmocka_unit_test(test_bad_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
