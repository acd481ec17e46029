/* test_output_normal.c: Nmap-style normal output (src/output/output-normal.c):
 * layout, column widths, folding of common states, --reason, --open, -oN
 * header/trailer, interruption, and escaping of hostile text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "output_fixture.h"

static const char want_default[] =
    "Starting trawl 0.1.0 at 2023-11-14 22:13 UTC\n"
    "Trawl scan report for lab.example (198.18.0.1)\n"
    "Host is up (0.0012s latency).\n"
    "rDNS record for 198.18.0.1: ptr.lab.example\n"
    "Not shown: 997 closed tcp ports (reset)\n"
    "PORT    STATE         SERVICE\n"
    "22/tcp  open          ssh\n"
    "| ssh-hostkey: \n"
    "|   2048 aa:bb (RSA)\n"
    "|_  256 cc:dd (ECDSA)\n"
    "53/udp  open          domain\n"
    "80/tcp  open          http\n"
    "|_http-title: Lab page\n"
    "161/udp open|filtered snmp\n"
    "MAC Address: 02:00:5E:10:00:01 (Lab Vendor)\n"
    "\n"
    "Host script results:\n"
    "| lab-info: two\n"
    "|_lines\n"
    "\n"
    "Trawl scan report for 198.18.0.2\n"
    "Host is up (0.17s latency).\n"
    "Not shown: 997 filtered tcp ports (990 no-response, 7 host-unreach), 2 open|filtered udp ports (no-response)\n"
    "PORT      STATE  SERVICE\n"
    "21/tcp    closed ftp\n"
    "25/tcp    closed smtp\n"
    "12345/tcp closed unknown\n"
    "\n"
    "Trawl scan report for 2001:db8::1\n"
    "Host is up (0.000095s latency).\n"
    "All 1000 scanned ports on 2001:db8::1 are in ignored states.\n"
    "Not shown: 1000 closed tcp ports (reset)\n"
    "\n"
    "Trawl done: 5 IP addresses (4 hosts up) scanned in 3.14 seconds\n";

static void test_default(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_normal_ops, &o, 0, 4);
  assert_string_equal(s, want_default);
  free(s);
  fx_free(&fx);
}

/* Every port shown (no "Not shown" line): a blank line before the table,
 * as Nmap prints it. */
static void test_all_shown(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct host_result *h = &fx.hosts[1];
  host_result_free(h);
  host_result_init(h);
  fx_addr(h, "198.18.0.2");
  host_set_reason(h, HOST_UP, "echo-reply", 63);
  h->srtt_us = 75;
  host_add_port(h, PROTO_TCP, 22, PORT_OPEN, "syn-ack", 63, "ssh");
  host_add_port(h, PROTO_TCP, 25, PORT_CLOSED, "reset", 63, "smtp");
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_normal_ops, &o, 1, 2);
  assert_non_null(strstr(s, "Trawl scan report for 198.18.0.2\n"
                            "Host is up (0.000075s latency).\n"
                            "\n"
                            "PORT   STATE  SERVICE\n"
                            "22/tcp open   ssh\n"
                            "25/tcp closed smtp\n"));
  free(s);
  fx_free(&fx);
}

static void test_reason_verbose(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.reason = true, .verbose = 1};
  char *s = fx_render(&fx, &output_normal_ops, &o, 0, 3);
  assert_non_null(strstr(s, "Host is up, received arp-response (0.0012s latency).\n"));
  assert_non_null(strstr(s, "Host is up, received echo-reply ttl 63 (0.17s latency).\n"));
  assert_non_null(strstr(s, "PORT    STATE         SERVICE REASON\n"
                            "22/tcp  open          ssh     syn-ack ttl 64\n"));
  assert_non_null(strstr(s, "161/udp open|filtered snmp    no-response\n"));
  assert_non_null(strstr(s, "12345/tcp closed unknown reset ttl 63\n"));
  /* verbose shows down hosts, with the reason under --reason */
  assert_non_null(strstr(s, "Trawl scan report for 198.18.0.3 [host down, received no-response]\n"));
  free(s);
  fx_free(&fx);
}

static void test_open_only(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.open_only = true};
  char *s = fx_render(&fx, &output_normal_ops, &o, 1, 2);
  /* host 2 has only closed/filtered/open|filtered-in-bulk ports */
  assert_non_null(strstr(s, "All 1002 scanned ports on 198.18.0.2 are in ignored states.\n"
                            "Not shown: 3 closed tcp ports (reset), 997 filtered tcp ports "
                            "(990 no-response, 7 host-unreach), 2 open|filtered udp ports (no-response)\n"));
  assert_null(strstr(s, "12345/tcp"));
  free(s);
  s = fx_render(&fx, &output_normal_ops, &o, 0, 1);
  assert_non_null(strstr(s, "161/udp open|filtered snmp\n")); /* possibly open: kept */
  free(s);
  fx_free(&fx);
}

static void test_file_and_interrupt(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.to_file = true};
  fx.end.interrupted = true;
  char *s = fx_render(&fx, &output_normal_ops, &o, 0, 0);
  assert_string_equal(s,
      "# Trawl 0.1.0 scan initiated Tue Nov 14 22:13:20 2023 as: trawl -sS -sU -p T:1-1000,U:53,161 198.18.0.0/29 2001:db8::1\n"
      "# Trawl done at Tue Nov 14 22:13:23 2023 (interrupted) -- 5 IP addresses (4 hosts up) scanned in 3.14 seconds\n");
  free(s);
  fx.end.interrupted = false;
  fx.end.hosts_total = 1;
  fx.end.hosts_up = 1;
  o.to_file = false;
  s = fx_render(&fx, &output_normal_ops, &o, 0, 0);
  assert_non_null(strstr(s, "Trawl done: 1 IP address (1 host up) scanned in 3.14 seconds\n"));
  free(s);
  fx_free(&fx);
}

static void test_hostile(void **state) {
  struct fixture fx;
  fx_build(&fx, 1);
  struct output_opts o = {.reason = true, .to_file = true};
  char *s = fx_render(&fx, &output_normal_ops, &o, 4, 5);
  long bad = fx_first_unsafe(s, "\n");
  if (bad >= 0) fail_msg("unsafe byte 0x%02x at %ld", (unsigned char)s[bad], bad);
  assert_null(strchr(s, '\x1b'));
  assert_non_null(strstr(s, "\\x1b[31m"));
  assert_non_null(strstr(s, "|\\xc3(|"));                 /* invalid UTF-8 */
  assert_non_null(strstr(s, "Gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93")); /* valid kept */
  /* the script output's own newline starts a new "| " line */
  assert_non_null(strstr(s, "end\\x0d\n|_line2 , / ]]> -- \\\n"));
  free(s);
  fx_free(&fx);
}

static void test_write_error(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  FILE *f = fopen("/dev/full", "w");
  if (f == NULL) skip();
  struct output o;
  output_init(&o, &output_normal_ops, f, NULL);
  /* the device's own error, then the same error again with nothing
   * written: the first error of an output sticks (output.h) */
  assert_int_equal(output_begin(&o, &fx.info), -ENOSPC);
  assert_int_equal(o.err, -ENOSPC);
  assert_int_equal(output_host(&o, &fx.hosts[0]), -ENOSPC);
  assert_int_equal(output_raw(&o, "x"), -ENOSPC);
  fclose(f);
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default),
      cmocka_unit_test(test_all_shown),     cmocka_unit_test(test_reason_verbose),
      cmocka_unit_test(test_open_only),   cmocka_unit_test(test_file_and_interrupt),
      cmocka_unit_test(test_hostile),     cmocka_unit_test(test_write_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
