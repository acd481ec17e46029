/* test_iflist.c: --iflist's tables (src/cli/iflist.c) from kernel-format
 * files written here: routes sorted by prefix length, longest first, IPv4
 * before IPv6, ties in the file's order; gateways only where the route
 * has one; rejecting routes and malformed lines left out (and counted);
 * an interface without addresses gets "(none)/0"; no trailing blanks. The
 * interface names are ones no kernel has, so their link columns are the
 * "unknown" ones (other, down, no MTU, no MAC). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/iflist.h"

/* a memfd holding text; its /proc/self/fd path in path */
static int memfile(const char *text, char *path, size_t len) {
  int fd = memfd_create("test_iflist", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  snprintf(path, len, "/proc/self/fd/%d", fd);
  return fd;
}

static const char DEV[] = "Inter-|   Receive\n"
                          " face |bytes\n"
                          "  twq0: 0 0 0\n"
                          "bad line without colon\n"
                          "  twq1: 0 0 0\n";
static const char INET6[] = "20010db8000100000000000000000001 03 40 00 82     twq0\n"
                            "fe80000000000000007477fffe010001 03 40 20 80     twq0\n"
                            "zz010db8000100000000000000000001 03 40 00 82     twq0\n";
/* the kernel prints each IPv4 address as its network-order u32 in hex */
static const char ROUTE[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "twq0\t000012C6\t010A12C6\t0003\t0\t0\t0\t0000FEFF\t0\t0\t0\n"
    "twq0\t000112C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "twq1\t000A12C6\t00000000\t0001\t0\t0\t5\t00FFFFFF\t0\t0\t0\n"
    "twq1\t000B12C6\t00000000\t0201\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "twq1\tnothex\n";
static const char ROUTE6[] =
    "20010db8000000000000000000000000 20 00000000000000000000000000000000 00 "
    "20010db8001000000000000000000001 00000400 00000001 00000000 00000003     twq0\n"
    "20010db8000100000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     twq0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
    "20010db8000100000000000000000001 80 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000000 00000001 00000000 80200001     twq0\n";

static void test_tables(void **state) {
  (void)state;
  char p[4][64];
  int fd[4] = {memfile(DEV, p[0], 64), memfile(INET6, p[1], 64), memfile(ROUTE, p[2], 64),
               memfile(ROUTE6, p[3], 64)};
  struct iflist_src src = {p[0], p[1], p[2], p[3]};
  char *buf = NULL;
  size_t len = 0, skipped = 99;
  FILE *out = open_memstream(&buf, &len);
  char err[256];
  assert_int_equal(iflist_print(out, &src, &skipped, err, sizeof err), 0);
  fclose(out);
  for (int i = 0; i < 4; i++) close(fd[i]);
  const char *want =
      "************************INTERFACES************************\n"
      "DEV  (SHORT) IP/MASK                 TYPE  UP   MTU MAC\n"
      "twq0 (twq0)  2001:db8:1::1/64        other down\n"
      "twq0 (twq0)  fe80::74:77ff:fe01:1/64 other down\n"
      "twq1 (twq1)  (none)/0                other down\n"
      "\n"
      "**************************ROUTES**************************\n"
      "DST/MASK          DEV  METRIC GATEWAY\n"
      "198.18.1.0/24     twq0 0\n"
      "198.18.10.0/24    twq1 5\n"
      "198.18.0.0/15     twq0 0      198.18.10.1\n"
      "2001:db8:1::1/128 twq0 0\n"
      "2001:db8:1::/64   twq0 256\n"
      "2001:db8::/32     twq0 1024   2001:db8:10::1\n"
      "\n";
  assert_string_equal(buf, want);
  /* dev's line without a colon, if_inet6's bad hex, route's short line */
  assert_int_equal(skipped, 3);
  free(buf);
}

static void test_missing_file(void **state) {
  (void)state;
  struct iflist_src src = {"/nonexistent/dev", "/nonexistent/if_inet6", "/nonexistent/route",
                           "/nonexistent/ipv6_route"};
  char *buf = NULL;
  size_t len = 0, skipped = 0;
  FILE *out = open_memstream(&buf, &len);
  char err[256] = "";
  assert_int_equal(iflist_print(out, &src, &skipped, err, sizeof err), -1);
  fclose(out);
  assert_non_null(strstr(err, "/nonexistent/dev"));
  assert_null(strchr(err, '\n'));
  assert_int_equal(len, 0); /* nothing half-printed */
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_tables),
                                     cmocka_unit_test(test_missing_file)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
