/* test_targets.c: Nmap target syntax, ranges, exclusions and the
 * index -> address mapping of src/core/targets.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdio.h>
#include <trawl/error.h>

#include "core/errmsg.h"
#include "core/targets.h"

static struct targets *parse_ok(const char *spec) {
  struct targets *t = targets_new();
  char err[256] = "";
  assert_non_null(t);
  int r = targets_add(t, spec, err, sizeof err);
  if (r != 0) fail_msg("'%s' rejected: %s", spec, err);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  return t;
}

static void expect_error(const char *spec, const char *msg) {
  struct targets *t = targets_new();
  char err[256] = "";
  int r = targets_add(t, spec, err, sizeof err);
  assert_int_equal(r, TW_EMALFORMED);
  if (msg != NULL) assert_string_equal(err, msg);
  assert_non_null(strstr(err, "invalid target '"));
  targets_free(t);
}

static const char *at(const struct targets *t, uint64_t i) {
  static char buf[INET6_ADDRSTRLEN];
  struct tgt_addr a;
  assert_int_equal(targets_get(t, i, &a), 0);
  return tgt_addr_str(&a, buf, sizeof buf);
}

static void test_single(void **state) {
  struct targets *t = parse_ok("198.18.0.1");
  assert_int_equal(targets_count(t), 1);
  assert_string_equal(at(t, 0), "198.18.0.1");
  struct tgt_addr a;
  assert_int_equal(targets_get(t, 1, &a), -ERANGE);
  targets_free(t);
}

static void test_cidr(void **state) {
  struct targets *t = parse_ok("198.18.0.0/15");
  assert_int_equal(targets_count(t), 131072);
  assert_int_equal(targets_range_count(t), 1);
  assert_string_equal(at(t, 0), "198.18.0.0");
  assert_string_equal(at(t, 256), "198.18.1.0");
  assert_string_equal(at(t, 131071), "198.19.255.255");
  targets_free(t);
  t = parse_ok("198.18.0.77/24"); /* host bits ignored, as Nmap does */
  assert_int_equal(targets_count(t), 256);
  assert_string_equal(at(t, 0), "198.18.0.0");
  targets_free(t);
  t = parse_ok("0.0.0.0/0");
  assert_int_equal(targets_count(t), 1ull << 32);
  assert_string_equal(at(t, (1ull << 32) - 1), "255.255.255.255");
  targets_free(t);
  t = parse_ok("10.0.0.0/8"); /* compact: one range, not 16M entries */
  assert_int_equal(targets_range_count(t), 1);
  assert_int_equal(targets_count(t), 1u << 24);
  targets_free(t);
}

static void test_octets(void **state) {
  struct targets *t = parse_ok("198.18.1-3.0-255");
  assert_int_equal(targets_count(t), 768);
  assert_int_equal(targets_range_count(t), 1);
  assert_string_equal(at(t, 767), "198.18.3.255");
  targets_free(t);

  t = parse_ok("198.18.1,3,5-7.*");
  assert_int_equal(targets_count(t), 5 * 256);
  assert_int_equal(targets_range_count(t), 3);
  assert_string_equal(at(t, 256), "198.18.3.0");
  assert_string_equal(at(t, 512), "198.18.5.0");
  targets_free(t);

  t = parse_ok("198.18.0.-2,250-");
  assert_int_equal(targets_count(t), 3 + 6);
  assert_string_equal(at(t, 0), "198.18.0.0");
  assert_string_equal(at(t, 3), "198.18.0.250");
  targets_free(t);

  t = parse_ok("198.18-19.0-1.7");
  assert_int_equal(targets_count(t), 4);
  assert_string_equal(at(t, 1), "198.18.1.7");
  assert_string_equal(at(t, 2), "198.19.0.7");
  targets_free(t);

  t = parse_ok("10.*.*.*");
  assert_int_equal(targets_range_count(t), 1);
  assert_int_equal(targets_count(t), 1u << 24);
  targets_free(t);
}

/* Random octet patterns against a brute-force reference. */
static void test_octets_random(void **state) {
  srand(12345);
  for (int round = 0; round < 200; round++) {
    uint8_t want[4][256];
    char spec[4][1200];
    for (int o = 0; o < 4; o++) {
      memset(want[o], 0, 256);
      char *p = spec[o];
      if (o < 2) {
        int v = 198 + o * -180 + rand() % 2; /* 198-199 . 18-19 */
        sprintf(p, "%d", v);
        want[o][v] = 1;
        continue;
      }
      int items = 1 + rand() % 4;
      p[0] = '\0';
      for (int k = 0; k < items; k++) {
        int a = rand() % 256, b = a + rand() % 8;
        if (b > 255) b = 255;
        int form = rand() % 4;
        if (form == 0) {
          p += sprintf(p, "%s%d", k ? "," : "", a);
          want[o][a] = 1;
        } else if (form == 1) {
          p += sprintf(p, "%s%d-%d", k ? "," : "", a, b);
          for (int v = a; v <= b; v++) want[o][v] = 1;
        } else if (form == 2) {
          p += sprintf(p, "%s-%d", k ? "," : "", b % 5);
          for (int v = 0; v <= b % 5; v++) want[o][v] = 1;
        } else {
          p += sprintf(p, "%s%d-", k ? "," : "", 250 + a % 6);
          for (int v = 250 + a % 6; v <= 255; v++) want[o][v] = 1;
        }
      }
    }
    char full[5000];
    snprintf(full, sizeof full, "%s.%s.%s.%s", spec[0], spec[1], spec[2], spec[3]);
    struct targets *t = parse_ok(full);
    uint64_t idx = 0;
    for (unsigned c = 0; c < 256; c++) {
      if (!want[2][c]) continue;
      for (unsigned d = 0; d < 256; d++) {
        if (!want[3][d]) continue;
        struct tgt_addr a;
        assert_int_equal(targets_get(t, idx, &a), 0);
        uint32_t v = ntohl(a.u.v4.s_addr);
        assert_int_equal(v & 0xffff, c << 8 | d);
        assert_true(want[0][v >> 24] && want[1][(v >> 16) & 255]);
        idx++;
      }
    }
    assert_int_equal(targets_count(t), idx);
    targets_free(t);
  }
}

static void test_ipv6(void **state) {
  struct targets *t = parse_ok("2001:db8::/120");
  assert_int_equal(targets_count(t), 256);
  assert_int_equal(targets_count6(t), 256);
  assert_string_equal(at(t, 0), "2001:db8::");
  assert_string_equal(at(t, 255), "2001:db8::ff");
  targets_free(t);
  t = parse_ok("2001:db8::1");
  assert_int_equal(targets_count(t), 1);
  assert_string_equal(at(t, 0), "2001:db8::1");
  targets_free(t);
  t = parse_ok("2001:db8::/65");
  assert_int_equal(targets_count(t), 1ull << 63);
  assert_string_equal(at(t, (1ull << 63) - 1), "2001:db8::7fff:ffff:ffff:ffff");
  targets_free(t);
  /* 2^64 addresses do not fit the index */
  struct targets *big = targets_new();
  char err[256];
  assert_int_equal(targets_add(big, "2001:db8::/64", err, sizeof err), 0);
  assert_int_equal(targets_finalize(big, err, sizeof err), -E2BIG);
  assert_non_null(strstr(err, "too many"));
  targets_free(big);
}

static void test_mixed_order(void **state) {
  struct targets *t = targets_new();
  char err[256];
  assert_int_equal(targets_add(t, "2001:db8::5", err, sizeof err), 0);
  assert_int_equal(targets_add(t, "198.18.0.9", err, sizeof err), 0);
  assert_int_equal(targets_add(t, "198.18.0.2", err, sizeof err), 0);
  assert_int_equal(targets_add(t, "198.18.0.0/29", err, sizeof err), 0); /* overlaps */
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count4(t), 9);
  assert_int_equal(targets_count(t), 10);
  assert_string_equal(at(t, 7), "198.18.0.7");
  assert_string_equal(at(t, 8), "198.18.0.9");
  assert_string_equal(at(t, 9), "2001:db8::5");
  targets_free(t);
}

static void test_names(void **state) {
  struct targets *t = targets_new();
  char err[256];
  assert_int_equal(targets_add(t, "scanme.example", err, sizeof err), 0);
  assert_int_equal(targets_add(t, "lab-host_1.example./24", err, sizeof err), 0);
  assert_int_equal(targets_add(t, "localhost", err, sizeof err), 0);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 0);
  assert_int_equal(targets_name_count(t), 3);
  assert_string_equal(targets_name(t, 0)->name, "scanme.example");
  assert_int_equal(targets_name(t, 0)->prefix, -1);
  assert_string_equal(targets_name(t, 1)->name, "lab-host_1.example.");
  assert_int_equal(targets_name(t, 1)->prefix, 24);
  assert_null(targets_name(t, 3));
  /* the engine adds resolved addresses later */
  struct tgt_addr a = {.family = AF_INET};
  inet_pton(AF_INET, "198.18.5.5", &a.u.v4);
  assert_int_equal(targets_add_addr(t, &a, 32), 0);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 1);
  targets_free(t);
}

static void test_exclude(void **state) {
  struct targets *t = targets_new();
  char err[256];
  assert_int_equal(targets_add(t, "198.18.0.0/24", err, sizeof err), 0);
  assert_int_equal(targets_exclude(t, "198.18.0.128/25,198.18.0.1 198.18.0.5,excluded.example", err, sizeof err), 0);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 126);
  assert_string_equal(at(t, 0), "198.18.0.0");
  assert_string_equal(at(t, 1), "198.18.0.2");
  assert_string_equal(at(t, 4), "198.18.0.6");
  assert_string_equal(at(t, 125), "198.18.0.127");
  assert_int_equal(targets_excluded_name_count(t), 1);
  assert_string_equal(targets_excluded_name(t, 0)->name, "excluded.example");
  struct tgt_addr a = {.family = AF_INET};
  inet_pton(AF_INET, "198.18.0.5", &a.u.v4);
  assert_false(targets_contains(t, &a));
  inet_pton(AF_INET, "198.18.0.6", &a.u.v4);
  assert_true(targets_contains(t, &a));
  /* resolved exclusion added later */
  assert_int_equal(targets_exclude_addr(t, &a, 32), 0);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 125);
  assert_false(targets_contains(t, &a));
  targets_free(t);

  t = targets_new();
  assert_int_equal(targets_add(t, "2001:db8::/120", err, sizeof err), 0);
  assert_int_equal(targets_add(t, "198.18.0.0/30", err, sizeof err), 0);
  assert_int_equal(targets_exclude(t, "2001:db8::/121,0.0.0.0/0", err, sizeof err), 0);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 128);
  assert_string_equal(at(t, 0), "2001:db8::80");
  targets_free(t);

  /* an exclusion spanning the top of the address space */
  t = targets_new();
  assert_int_equal(targets_add(t, "255.255.255.0/24", err, sizeof err), 0);
  assert_int_equal(targets_exclude(t, "255.255.255.254-255", err, sizeof err), 0);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 254);
  targets_free(t);
}

/* Random includes and excludes inside a /20, against a bitmap. */
static void test_exclude_random(void **state) {
  srand(777);
  for (int round = 0; round < 100; round++) {
    static uint8_t in[4096];
    memset(in, 0, sizeof in);
    struct targets *t = targets_new();
    char err[256], spec[64];
    for (int k = 0; k < 1 + rand() % 6; k++) {
      int prefix = 20 + rand() % 13, off = rand() % 4096;
      snprintf(spec, sizeof spec, "198.18.%d.%d/%d", off >> 8, off & 255, prefix);
      assert_int_equal(targets_add(t, spec, err, sizeof err), 0);
      int size = 1 << (32 - prefix), base = off & ~(size - 1);
      for (int i = 0; i < size; i++) in[base + i] |= 1;
    }
    for (int k = 0; k < rand() % 6; k++) {
      int prefix = 22 + rand() % 11, off = rand() % 4096;
      snprintf(spec, sizeof spec, "198.18.%d.%d/%d", off >> 8, off & 255, prefix);
      assert_int_equal(targets_exclude(t, spec, err, sizeof err), 0);
      int size = 1 << (32 - prefix), base = off & ~(size - 1);
      for (int i = 0; i < size; i++) in[base + i] |= 2;
    }
    assert_int_equal(targets_finalize(t, err, sizeof err), 0);
    uint64_t idx = 0;
    for (int i = 0; i < 4096; i++) {
      struct tgt_addr a = {.family = AF_INET};
      a.u.v4.s_addr = htonl(0xc6120000u + (uint32_t)i);
      assert_int_equal(targets_contains(t, &a), in[i] == 1);
      if (in[i] != 1) continue;
      struct tgt_addr g;
      assert_int_equal(targets_get(t, idx, &g), 0);
      assert_int_equal(g.u.v4.s_addr, a.u.v4.s_addr);
      idx++;
    }
    assert_int_equal(targets_count(t), idx);
    targets_free(t);
  }
}

static void test_text(void **state) {
  struct targets *t = targets_new();
  char err[256];
  const char *text = "# lab hosts\n198.18.0.1 198.18.0.2\t# two\n\n  2001:db8::1\r\nlab.example\n#198.18.0.99\n198.18.1.0/31";
  assert_int_equal(targets_add_text(t, text, strlen(text), NULL, err, sizeof err), 0);
  assert_int_equal(targets_finalize(t, err, sizeof err), 0);
  assert_int_equal(targets_count(t), 5);
  assert_int_equal(targets_name_count(t), 1);
  targets_free(t);

  /* errors from a file name the file and the line */
  char path[] = "/tmp/test_targets_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *bad = "198.18.0.1\n# fine\n198.18.0.2 198.18.0.256\n";
  assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
  close(fd);
  t = targets_new();
  assert_int_equal(targets_add_file(t, path, err, sizeof err), TW_EMALFORMED);
  char want[512];
  snprintf(want, sizeof want, "%s:3: invalid target '198.18.0.256': octet 256 out of range", path);
  assert_string_equal(err, want);
  targets_free(t);
  /* as an exclude file it is named as such */
  t = targets_new();
  assert_int_equal(targets_exclude_file(t, path, err, sizeof err), TW_EMALFORMED);
  assert_non_null(strstr(err, "invalid exclusion '198.18.0.256'"));
  targets_free(t);
  unlink(path);
  t = targets_new();
  assert_int_equal(targets_add_file(t, path, err, sizeof err), -ENOENT);
  assert_non_null(strstr(err, "cannot open target file"));
  targets_free(t);
}

static void test_errors(void **state) {
  expect_error("198.18.300.1", "invalid target '198.18.300.1': octet 300 out of range");
  expect_error("198.18.0", "invalid target '198.18.0': expected 4 octets, found 3");
  expect_error("1.2.3.4.5.6", "invalid target '1.2.3.4.5.6': expected 4 octets, found 6");
  expect_error("198.18.0.0/33", "invalid target '198.18.0.0/33': prefix length 33 out of range (0-32)");
  expect_error("198.18.0.0/", "invalid target '198.18.0.0/': bad prefix length");
  expect_error("198.18.0.0/2x", NULL);
  expect_error("198.18.5-3.1", "invalid target '198.18.5-3.1': octet range 5-3 is reversed");
  expect_error("198.18..1", "invalid target '198.18..1': empty third octet");
  expect_error("198.18.1,.1", "invalid target '198.18.1,.1': trailing comma in third octet");
  expect_error("198.18.,1.1", "invalid target '198.18.,1.1': empty item in third octet");
  expect_error("198.18.1*.1", "invalid target '198.18.1*.1': '*' must stand alone in an octet");
  expect_error("198.18.1-2.0/24", "invalid target '198.18.1-2.0/24': a prefix length cannot follow an octet range");
  expect_error("198.18.1--2.1", "invalid target '198.18.1--2.1': bad octet range");
  expect_error("2001:db8::g", "invalid target '2001:db8::g': bad IPv6 address");
  expect_error("2001:db8::/129", "invalid target '2001:db8::/129': prefix length 129 out of range (0-128)");
  expect_error("fe80::1%eth0", "invalid target 'fe80::1%eth0': IPv6 scope ids are not supported");
  expect_error("bad host", "invalid target 'bad host': invalid character ' ' in hostname");
  expect_error("a..b", "invalid target 'a..b': empty label in hostname");
  expect_error("-lead.example", "invalid target '-lead.example': hostname label starts with '-'");
  expect_error("trail-.example", "invalid target 'trail-.example': hostname label ends with '-'");
  expect_error("", "invalid target '': empty target");
  expect_error("evil\x1b[31m.example", "invalid target 'evil\\x1b[31m.example': invalid character '\\x1b' in hostname");
  /* a 1000-digit octet: no overflow, a short message */
  char huge[1100] = "198.18.0.";
  memset(huge + 9, '9', 1000);
  huge[1009] = '\0';
  struct targets *t = targets_new();
  char err[512];
  assert_int_equal(targets_add(t, huge, err, sizeof err), TW_EMALFORMED);
  assert_non_null(strstr(err, "out of range"));
  assert_true(strlen(err) < 300);
  targets_free(t);
  /* a long hostname */
  char longname[400];
  memset(longname, 'a', 300);
  longname[300] = '\0';
  expect_error(longname, NULL);
  /* a pattern too fragmented for the range table */
  t = targets_new();
  assert_int_equal(targets_add(t, "*.*.*.1", err, sizeof err), -E2BIG);
  assert_non_null(strstr(err, "expands to more than"));
  targets_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single),     cmocka_unit_test(test_cidr),
      cmocka_unit_test(test_octets),     cmocka_unit_test(test_octets_random),
      cmocka_unit_test(test_ipv6),       cmocka_unit_test(test_mixed_order),
      cmocka_unit_test(test_names),      cmocka_unit_test(test_exclude),
      cmocka_unit_test(test_exclude_random), cmocka_unit_test(test_text),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
