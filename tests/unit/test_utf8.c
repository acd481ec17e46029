/* test_utf8.c: strict UTF-8 decoding (src/core/utf8.c) at every boundary of
 * RFC 3629's table, and the malformed forms the writers must escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <stdio.h>
#include <trawl/error.h>

#include "core/utf8.h"

/* Decodes s (len bytes): expected length and code point (len 0: invalid). */
static void dec(const char *s, size_t n, size_t want_len, uint32_t want_cp) {
  uint32_t cp = 0xdeadbeef;
  size_t l = utf8_decode((const unsigned char *)s, n, &cp);
  assert_int_equal(l, want_len);
  if (want_len) assert_int_equal(cp, want_cp);
}

static void test_valid(void **state) {
  dec("A", 1, 1, 'A');
  dec("\x00", 1, 1, 0);
  dec("\x7f", 1, 1, 0x7f);
  dec("\xc2\x80", 2, 2, 0x80);
  dec("\xdf\xbf", 2, 2, 0x7ff);
  dec("\xe0\xa0\x80", 3, 3, 0x800);
  dec("\xed\x9f\xbf", 3, 3, 0xd7ff);
  dec("\xee\x80\x80", 3, 3, 0xe000);
  dec("\xef\xbf\xbf", 3, 3, 0xffff);
  dec("\xf0\x90\x80\x80", 4, 4, 0x10000);
  dec("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);
  dec("\xc3\xbc" "rest", 6, 2, 0xfc); /* only the first character */
}

static void test_invalid(void **state) {
  dec("\x80", 1, 0, 0);             /* lone continuation */
  dec("\xbf", 1, 0, 0);
  dec("\xc0\xaf", 2, 0, 0);         /* overlong '/' */
  dec("\xc1\xbf", 2, 0, 0);
  dec("\xe0\x9f\xbf", 3, 0, 0);     /* overlong 3-byte */
  dec("\xf0\x8f\xbf\xbf", 4, 0, 0); /* overlong 4-byte */
  dec("\xed\xa0\x80", 3, 0, 0);     /* surrogate D800 */
  dec("\xed\xbf\xbf", 3, 0, 0);     /* surrogate DFFF */
  dec("\xf4\x90\x80\x80", 4, 0, 0); /* above 10FFFF */
  dec("\xf5\x80\x80\x80", 4, 0, 0);
  dec("\xff", 1, 0, 0);
  dec("\xc3\x28", 2, 0, 0);         /* bad continuation */
  dec("\xe2\x82", 2, 0, 0);         /* truncated by the buffer */
  dec("\xe2\x82\xac", 2, 0, 0);     /* valid bytes, but only 2 available */
  dec("\xe2\x82\xac", 3, 3, 0x20ac);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
