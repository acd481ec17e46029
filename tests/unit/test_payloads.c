/* test_payloads.c: the nmap-payloads parser (src/db/payloads.c): entries,
 * port lists and ranges, joined strings and escapes, several payloads per
 * port in file order, "source", and one clear line for each bad input. */
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

#include "db/payloads.h"

static char path[64];

static void write_file(const char *text) {
  snprintf(path, sizeof path, "/tmp/test_payloads_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

static void test_entries(void **state) {
  write_file("# comment \"not a string\"\n"
             "udp 7 \"\\x0D\\x0A\"\n"
             "udp 53,5353,100-102\n"
             "  \"ab\"   # a comment between strings\n"
             "  \"\\0\\r\\n\\t\\\\\\\"\"\n"
             "udp 53 \"second\"\n"
             "source 5353\n"
             "udp 65535 \"\"\n");
  struct payloads *p;
  char err[512];
  assert_int_equal(payloads_load(&p, path, err, sizeof err), 0);
  unlink(path);
  assert_int_equal(payloads_entries(p), 4);
  size_t len;
  const uint8_t *d = payloads_get(p, 7, 0, &len);
  assert_int_equal(len, 2);
  assert_memory_equal(d, "\r\n", 2);
  assert_int_equal(payloads_count(p, 53), 2);
  d = payloads_get(p, 53, 0, &len);
  assert_int_equal(len, 8);
  assert_memory_equal(d, "ab\0\r\n\t\\\"", 8);
  d = payloads_get(p, 53, 1, &len);
  assert_int_equal(len, 6);
  assert_memory_equal(d, "second", 6);
  assert_null(payloads_get(p, 53, 2, &len));
  assert_int_equal(len, 0);
  assert_int_equal(payloads_count(p, 5353), 1);
  assert_int_equal(payloads_count(p, 101), 1);
  assert_int_equal(payloads_count(p, 103), 0);
  assert_int_equal(payloads_count(p, 99), 0);
  assert_int_equal(payloads_count(p, 65535), 1);
  payloads_get(p, 65535, 0, &len);
  assert_int_equal(len, 0);
  assert_string_equal(payloads_path(p), path);
  payloads_free(p);
}

static void bad(const char *text, const char *want) {
  write_file(text);
  struct payloads *p = (struct payloads *)1;
  char err[512], full[600];
  assert_int_equal(payloads_load(&p, path, err, sizeof err), TW_EMALFORMED);
  unlink(path);
  assert_null(p);
  snprintf(full, sizeof full, "%s%s", path, want);
  assert_string_equal(err, full);
}

static void test_bad(void **state) {
  bad("tcp 7 \"x\"\n", ":1: expected 'udp'");
  bad("udp\n", ":2: a port list must follow 'udp'");
  bad("udp 7\n\n", ":3: a quoted payload must follow the port list");
  bad("udp 70000 \"x\"\n", ":1: bad port list");
  bad("udp 9-8 \"x\"\n", ":1: bad port list");
  bad("udp 7, \"x\"\n", ":1: bad port list");
  bad("udp 7 \"x\n", ":1: unterminated string");
  bad("udp 7 \"\\q\"\n", ":1: unknown escape '\\q'");
  bad("udp 7 \"\\x4\"\n", ":1: bad \\x escape (two hex digits)");
  bad("\"x\"\n", ":1: a string outside an entry");
  bad("udp 7 \"x\" source x\n", ":1: 'source' needs a port number");
  char big[3000] = "udp 7 \"";
  for (int i = 0; i < 1401; i++) strcat(big, "a");
  strcat(big, "\"\n");
  bad(big, ":1: payload longer than 1400 bytes");
  struct payloads *p;
  char err[512];
  assert_true(payloads_load(&p, "/nonexistent/nmap-payloads", err, sizeof err) < 0);
  assert_non_null(strstr(err, "cannot open"));
}

/* Nmap's own file, when installed: every entry loads; DNS has payloads. */
static void test_real_file(void **state) {
  struct payloads *p;
  char err[512] = "";
  assert_int_equal(payloads_load_default(&p, NULL, err, sizeof err), 0);
  if (!p) skip();
  assert_true(payloads_entries(p) > 10);
  assert_true(payloads_count(p, 53) >= 1);
  payloads_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_entries), cmocka_unit_test(test_bad),
                                     cmocka_unit_test(test_real_file)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
