/* test_ports.c: Nmap -p syntax, top ports and the port list
 * (src/core/ports.c), with the shipped data/trawl-services. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <trawl/error.h>

#include "core/datadir.h"
#include "core/errmsg.h"
#include "core/ports.h"
#include "db/services.h"

static struct services *svc;

static int setup(void **state) {
  char err[256];
  unsetenv("TRAWL_DATADIR");
  char path[4096];
  /* trawl's own table: these checks know its ranks */
  if (datadir_find(DATADIR_TRAWL, NULL, SERVICES_FILE, DATADIR_FILE, path, sizeof path) < 0 ||
      services_load(&svc, path, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  services_free(svc);
  return 0;
}

static struct portset set;

static void parse_ok(const char *spec, unsigned protos) {
  char err[256] = "";
  portset_clear(&set);
  int r = ports_parse(&set, spec, protos, 1, svc, NULL, err, sizeof err);
  if (r != 0) fail_msg("'%s' rejected: %s", spec, err);
}

static void expect_error(const char *spec, const char *msg) {
  char err[256] = "";
  struct portset s;
  portset_clear(&s);
  assert_int_equal(ports_parse(&s, spec, PROTO_MASK_ALL, 1, svc, NULL, err, sizeof err),
                   TW_EMALFORMED);
  if (msg) assert_string_equal(err, msg);
  assert_non_null(strstr(err, "invalid port specification '"));
}

static char *fmt(enum scan_proto p) {
  struct portlist pl;
  assert_int_equal(portlist_from_set(&pl, &set), 0);
  char *s = ports_format(pl.ports[p], pl.n[p]);
  portlist_free(&pl);
  assert_non_null(s);
  return s;
}

static void check(enum scan_proto p, const char *want) {
  char *got = fmt(p);
  assert_string_equal(got, want);
  free(got);
}

static void test_numbers(void **state) {
  unsigned T = PROTO_MASK(PROTO_TCP);
  parse_ok("22", T);
  check(PROTO_TCP, "22");
  check(PROTO_UDP, "");
  parse_ok("1-1024", T);
  assert_int_equal(portset_count(&set, PROTO_TCP), 1024);
  parse_ok("-", T);
  assert_int_equal(portset_count(&set, PROTO_TCP), 65535);
  assert_false(portset_has(&set, PROTO_TCP, 0)); /* 0 only when explicit */
  parse_ok("-100", T);
  check(PROTO_TCP, "1-100");
  parse_ok("60000-", T);
  check(PROTO_TCP, "60000-65535");
  parse_ok("0,0-2,7,5,6,65535", T);
  check(PROTO_TCP, "0-2,5-7,65535");
  parse_ok("22,80", PROTO_MASK_ALL); /* unprefixed: every scanned protocol */
  check(PROTO_TCP, "22,80");
  check(PROTO_UDP, "22,80");
}

static void test_prefixes(void **state) {
  parse_ok("T:80,U:53,161", PROTO_MASK_ALL);
  check(PROTO_TCP, "80");
  check(PROTO_UDP, "53,161");
  parse_ok("22,U:53,T:25-26,t:443", PROTO_MASK_ALL);
  check(PROTO_TCP, "22,25-26,443");
  check(PROTO_UDP, "22,53");
  char err[256];
  portset_clear(&set);
  assert_int_equal(ports_parse(&set, "T:80", PROTO_MASK(PROTO_TCP), 0, svc, "-PS port list", err, sizeof err),
                   TW_EMALFORMED);
  assert_string_equal(err, "invalid -PS port list 'T:80': protocol prefixes are not allowed here");
}

static void test_names(void **state) {
  parse_ok("http,ssh", PROTO_MASK(PROTO_TCP));
  assert_true(portset_has(&set, PROTO_TCP, 80));
  assert_true(portset_has(&set, PROTO_TCP, 22));
  parse_ok("domain", PROTO_MASK_ALL);
  assert_true(portset_has(&set, PROTO_TCP, 53));
  assert_true(portset_has(&set, PROTO_UDP, 53));
  parse_ok("U:domain,T:HTTPS", PROTO_MASK_ALL);
  check(PROTO_TCP, "443");
  assert_true(portset_has(&set, PROTO_UDP, 53));
  assert_false(portset_has(&set, PROTO_TCP, 53));
  parse_ok("ms-wbt-server", PROTO_MASK(PROTO_TCP)); /* names with '-' */
  check(PROTO_TCP, "3389");
  parse_ok("vnc*", PROTO_MASK(PROTO_TCP));
  assert_true(portset_has(&set, PROTO_TCP, 5900));
  assert_true(portset_has(&set, PROTO_TCP, 5901));
  assert_true(portset_has(&set, PROTO_TCP, 5800));
  parse_ok("[1-25]", PROTO_MASK(PROTO_TCP)); /* named ports only */
  assert_true(portset_has(&set, PROTO_TCP, 22));
  assert_false(portset_has(&set, PROTO_TCP, 2)); /* listed as "unknown" */
  for (unsigned p = 1; p <= 25; p++)
    assert_int_equal(portset_has(&set, PROTO_TCP, (uint16_t)p),
                     services_named(svc, PROTO_TCP, (uint16_t)p));
  parse_ok("[-]", PROTO_MASK(PROTO_TCP));
  assert_true(portset_count(&set, PROTO_TCP) > 300);
  char err[256];
  portset_clear(&set);
  assert_int_equal(ports_parse(&set, "http", PROTO_MASK_ALL, 1, NULL, NULL, err, sizeof err),
                   TW_EMALFORMED);
  assert_string_equal(err, "invalid port specification 'http': service names are not allowed here: 'http'");
}

static void test_top(void **state) {
  portset_clear(&set);
  ports_add_top(&set, svc, PROTO_MASK_ALL, 100, NULL);
  assert_int_equal(portset_count(&set, PROTO_TCP), 100);
  assert_int_equal(portset_count(&set, PROTO_UDP), 100);
  assert_true(portset_has(&set, PROTO_TCP, 80));
  assert_true(portset_has(&set, PROTO_UDP, 161));
  portset_clear(&set);
  ports_add_top(&set, svc, PROTO_MASK(PROTO_TCP), 1000, NULL);
  assert_int_equal(portset_count(&set, PROTO_TCP), 1000);
  assert_int_equal(portset_count(&set, PROTO_UDP), 0);
  /* more than the table: everything ranked */
  portset_clear(&set);
  ports_add_top(&set, svc, PROTO_MASK(PROTO_TCP), 1000000, NULL);
  assert_int_equal(portset_count(&set, PROTO_TCP), services_ranked_count(svc, PROTO_TCP));
  /* within -p 1-100: the top 3 of those */
  struct portset within;
  char err[256];
  portset_clear(&within);
  assert_int_equal(ports_parse(&within, "20-25", PROTO_MASK(PROTO_TCP), 1, svc, NULL, err, sizeof err), 0);
  portset_clear(&set);
  ports_add_top(&set, svc, PROTO_MASK(PROTO_TCP), 3, &within);
  assert_int_equal(portset_count(&set, PROTO_TCP), 3);
  check(PROTO_TCP, "21-22,25"); /* ssh, ftp, smtp outrank telnet, 20, 24 */
}

static void test_exclude(void **state) {
  parse_ok("1-100", PROTO_MASK_ALL);
  struct portset ex;
  char err[256];
  portset_clear(&ex);
  assert_int_equal(ports_parse(&ex, "T:22-80,U:1-99", PROTO_MASK_ALL, 1, svc, "--exclude-ports", err, sizeof err), 0);
  portset_subtract(&set, &ex);
  check(PROTO_TCP, "1-21,81-100");
  check(PROTO_UDP, "100");
}

static void test_list(void **state) {
  parse_ok("T:443,22,U:53", PROTO_MASK_ALL);
  struct portlist pl;
  assert_int_equal(portlist_from_set(&pl, &set), 0);
  assert_int_equal(portlist_count(&pl), 3);
  enum scan_proto p;
  uint16_t port;
  assert_int_equal(portlist_get(&pl, 0, &p, &port), 0);
  assert_int_equal(p, PROTO_TCP);
  assert_int_equal(port, 22);
  assert_int_equal(portlist_get(&pl, 1, &p, &port), 0);
  assert_int_equal(port, 443);
  assert_int_equal(portlist_get(&pl, 2, &p, &port), 0);
  assert_int_equal(p, PROTO_UDP);
  assert_int_equal(port, 53);
  assert_int_equal(portlist_get(&pl, 3, &p, &port), -ERANGE);
  portlist_free(&pl);
}

static void test_errors(void **state) {
  expect_error("70000", "invalid port specification '70000': port 70000 out of range (0-65535)");
  expect_error("1-70000", "invalid port specification '1-70000': port 70000 out of range (0-65535)");
  expect_error("100-10", "invalid port specification '100-10': range 100-10 is reversed");
  expect_error("", "invalid port specification '': empty port list");
  expect_error("22,,80", "invalid port specification '22,,80': empty item");
  expect_error("22,", "invalid port specification '22,': trailing comma");
  expect_error("nosuchservice", "invalid port specification 'nosuchservice': unknown service name 'nosuchservice'");
  expect_error("S:80", "invalid port specification 'S:80': SCTP ports (S:) are not supported");
  expect_error("P:6", "invalid port specification 'P:6': IP protocol scans (P:) are not supported");
  expect_error("X:80", "invalid port specification 'X:80': unknown protocol prefix 'X:'");
  expect_error("[1-10", "invalid port specification '[1-10': missing ']'");
  expect_error("22 80", "invalid port specification '22 80': bad character ' '");
  expect_error("1-2-3", NULL);
  expect_error("T:", "invalid port specification 'T:': empty item");
  char huge[1100];
  memset(huge, '9', 1000);
  huge[1000] = '\0';
  char err[512];
  struct portset s;
  assert_int_equal(ports_parse(&s, huge, PROTO_MASK_ALL, 1, svc, NULL, err, sizeof err), TW_EMALFORMED);
  assert_non_null(strstr(err, "out of range"));
  assert_true(strlen(err) < 300);
}

static void test_format(void **state) {
  uint16_t a[] = {1, 2, 3, 5, 7, 8, 65535};
  char *s = ports_format(a, 7);
  assert_string_equal(s, "1-3,5,7-8,65535");
  free(s);
  s = ports_format(a, 0);
  assert_string_equal(s, "");
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numbers), cmocka_unit_test(test_prefixes),
      cmocka_unit_test(test_names),   cmocka_unit_test(test_top),
      cmocka_unit_test(test_exclude), cmocka_unit_test(test_list),
      cmocka_unit_test(test_errors),  cmocka_unit_test(test_format),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
