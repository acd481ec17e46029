/* test_mac_prefixes.c: the nmap-mac-prefixes parser and vendor lookup
 * (src/db/mac-prefixes.c): hex in either case, names to the end of the
 * line, the first of a prefix listed twice, unknown prefixes, bad lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <trawl/error.h>

#include "db/mac-prefixes.h"

static char path[64];

static void write_file(const char *text) {
  snprintf(path, sizeof path, "/tmp/test_mac_prefixes_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void test_lookup(void **state) {
  write_file("# comment\n"
             "FFFFFF Last Vendor\n"
             "000000 Zero Corp\r\n"
             "0a1B2c Mixed Case, Inc.  \n"
             "\n"
             "000000 Second Zero\n");
  struct mac_prefixes *m;
  char err[512];
  assert_int_equal(mac_prefixes_load(&m, path, err, sizeof err), 0);
  unlink(path);
  assert_int_equal(mac_prefixes_count(m), 4);
  const uint8_t zero[6] = {0, 0, 0, 1, 2, 3}, mixed[6] = {0x0a, 0x1b, 0x2c, 0, 0, 0},
                last[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, none[6] = {0x02, 0x74, 0x77, 1, 0, 1};
  assert_string_equal(mac_prefixes_vendor(m, zero), "Zero Corp");
  assert_string_equal(mac_prefixes_vendor(m, mixed), "Mixed Case, Inc.");
  assert_string_equal(mac_prefixes_vendor(m, last), "Last Vendor");
  assert_null(mac_prefixes_vendor(m, none));
  assert_null(mac_prefixes_vendor(NULL, none));
  mac_prefixes_free(m);
}

static void bad(const char *text, const char *want) {
  write_file(text);
  struct mac_prefixes *m = (struct mac_prefixes *)1;
  char err[512], full[600];
  assert_int_equal(mac_prefixes_load(&m, path, err, sizeof err), TW_EMALFORMED);
  unlink(path);
  assert_null(m);
  snprintf(full, sizeof full, "%s%s", path, want);
  assert_string_equal(err, full);
}

static void test_bad(void **state) {
  bad("00000G Bad\n", ":1: expected six hex digits");
  bad("# c\n0000 Short\n", ":2: expected six hex digits");
  bad("000000\n", ":1: expected a vendor name after the prefix");
  bad("000000-Name\n", ":1: expected a vendor name after the prefix");
  char big[300] = "000000 ";
  for (int i = 0; i < 129; i++) strcat(big, "x");
  strcat(big, "\n");
  bad(big, ":1: vendor name longer than 128 bytes");
}

/* Nmap's own file, when installed. */
static void test_real_file(void **state) {
  struct mac_prefixes *m;
  char err[512] = "";
  assert_int_equal(mac_prefixes_load_default(&m, NULL, err, sizeof err), 0);
  if (!m) skip();
  const uint8_t vmware[6] = {0x00, 0x50, 0x56, 1, 2, 3};
  assert_non_null(mac_prefixes_vendor(m, vmware));
  assert_true(mac_prefixes_count(m) > 1000);
  mac_prefixes_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_lookup), cmocka_unit_test(test_bad),
                                     cmocka_unit_test(test_real_file)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
