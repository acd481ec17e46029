/* test_output_grep.c: Nmap grepable output (src/output/output-grep.c): line
 * layout, port fields, ignored state, and separator-safe escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "output_fixture.h"

static void test_layout(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.verbose = 1};
  char *s = fx_render(&fx, &output_grep_ops, &o, 0, 4);
  assert_string_equal(s,
      "# Trawl 0.1.0 scan initiated Tue Nov 14 22:13:20 2023 as: trawl -sS -sU -p T:1-1000,U:53,161 198.18.0.0/29 2001:db8::1\n"
      "# Ports scanned: TCP(1000;1-1000) UDP(2;53,161) SCTP(0;) PROTOCOLS(0;)\n"
      "Host: 198.18.0.1 (lab.example)\tStatus: Up\n"
      "Host: 198.18.0.1 (lab.example)\tPorts: 22/open/tcp//ssh///, 53/open/udp//domain///, 80/open/tcp//http///, "
      "161/open|filtered/udp//snmp///\tIgnored State: closed (997)\n"
      "Host: 198.18.0.2 ()\tStatus: Up\n"
      "Host: 198.18.0.2 ()\tPorts: 21/closed/tcp//ftp///, 25/closed/tcp//smtp///, 12345/closed/tcp/////\tIgnored State: filtered (997)\n"
      "Host: 198.18.0.3 ()\tStatus: Down\n"
      "Host: 2001:db8::1 ()\tStatus: Up\n"
      "Host: 2001:db8::1 ()\tPorts: \tIgnored State: closed (1000)\n"
      "# Trawl done at Tue Nov 14 22:13:23 2023 -- 5 IP addresses (4 hosts up) scanned in 3.14 seconds\n");
  free(s);
  o.verbose = 0; /* no port summary comment, no down hosts */
  fx.end.interrupted = true;
  s = fx_render(&fx, &output_grep_ops, &o, 2, 3);
  assert_string_equal(s,
      "# Trawl 0.1.0 scan initiated Tue Nov 14 22:13:20 2023 as: trawl -sS -sU -p T:1-1000,U:53,161 198.18.0.0/29 2001:db8::1\n"
      "# Trawl done at Tue Nov 14 22:13:23 2023 (interrupted) -- 5 IP addresses (4 hosts up) scanned in 3.14 seconds\n");
  free(s);
  fx_free(&fx);
}

static void test_hostile(void **state) {
  struct fixture fx;
  fx_build(&fx, 1);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_grep_ops, &o, 4, 5);
  /* tabs separate fields and newlines records: none may come from data */
  long bad = fx_first_unsafe(s, "\n\t");
  if (bad >= 0) fail_msg("unsafe byte 0x%02x at %ld", (unsigned char)s[bad], bad);
  char *ports = strstr(s, "\tPorts: ");
  assert_non_null(ports);
  char *eol = strchr(ports, '\n');
  *eol = '\0';
  /* the service field keeps the port entry's 7 slashes and no comma */
  assert_null(strchr(ports, ','));
  size_t slashes = 0;
  for (char *p = ports; *p; p++) slashes += *p == '/';
  assert_int_equal(slashes, 7);
  assert_null(strchr(ports + 1, '\t'));
  assert_non_null(strstr(ports, "line2 \\x2c | ]]> -- \\///"));
  free(s);
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
