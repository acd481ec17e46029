/* test_ethsend.c: --spoof-mac's argument as Nmap reads it
 * (src/scan/ethsend.c): "0" is all random; hex digits with or without
 * ':' or '-' are a prefix (an even number of them), the rest random; else
 * a vendor name, a case-blind substring of nmap-mac-prefixes' names (the
 * lowest prefix wins); anything else is one error line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/mac-prefixes.h"
#include "scan/ethsend.h"

static const uint8_t rnd[6] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6};

static void expect(const struct mac_prefixes *db, const char *arg, const uint8_t want[6]) {
  uint8_t mac[6];
  char err[256] = "";
  if (ethsend_spoof_parse(arg, db, rnd, mac, err, sizeof err) != 0) fail_msg("'%s': %s", arg, err);
  assert_memory_equal(mac, want, 6);
}

static void refused(const struct mac_prefixes *db, const char *arg) {
  uint8_t mac[6];
  char err[256] = "";
  assert_int_equal(ethsend_spoof_parse(arg, db, rnd, mac, err, sizeof err), -22);
  assert_non_null(strstr(err, arg));
  assert_null(strchr(err, '\n'));
}

static void test_spoof(void **state) {
  (void)state;
  char path[] = "/tmp/test_ethsend_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "0050C2 IEEE Registration Authority\n000393 Apple\n000502 Apple\n00A0C9 Intel\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  struct mac_prefixes *db = NULL;
  char err[256];
  assert_int_equal(mac_prefixes_load(&db, path, err, sizeof err), 0);
  unlink(path);

  expect(db, "0", rnd);
  expect(db, "02:74:77:aa:bb:cc", (const uint8_t[6]){0x02, 0x74, 0x77, 0xaa, 0xbb, 0xcc});
  expect(db, "02-74-77-AA-BB-CC", (const uint8_t[6]){0x02, 0x74, 0x77, 0xaa, 0xbb, 0xcc});
  expect(db, "0274", (const uint8_t[6]){0x02, 0x74, 0xa3, 0xa4, 0xa5, 0xa6});
  expect(db, "apple", (const uint8_t[6]){0x00, 0x03, 0x93, 0xa4, 0xa5, 0xa6});
  expect(db, "INTEL", (const uint8_t[6]){0x00, 0xa0, 0xc9, 0xa4, 0xa5, 0xa6});
  refused(db, "zzqq");
  refused(db, "027");           /* odd: not a prefix, and no vendor has it */
  refused(db, "0274777aabbccdd"); /* more than 12 digits */
  refused(db, "");
  refused(NULL, "apple");       /* no vendor list */
  mac_prefixes_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_spoof)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
