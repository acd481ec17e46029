/* test_output_json.c: JSON Lines output (src/output/output-json.c): records,
 * fields, script trees, escaping; every line is checked by Python's json
 * module when python3 is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "output_fixture.h"

/* Parses every line with python3's strict json and runs a check on the
 * list of records `r`; fails when python says no. */
static void py_check(const char *jsonl, const char *expr) {
  if (!fx_have("python3")) {
    print_message("SKIP python3 check: not installed\n");
    return;
  }
  const char *data = fx_tmpfile(jsonl, 0);
  char script[1024];
  snprintf(script, sizeof script,
           "import json,sys\n"
           "r=[json.loads(l.decode('utf-8')) for l in open(sys.argv[1],'rb')]\n"
           "assert %s, r\n", expr);
  const char *py = fx_tmpfile(script, 1);
  int rc = fx_run("python3 %s %s", py, data);
  if (rc != 0) fail_msg("python3 check failed (%d): %s", rc, expr);
  unlink(data);
  unlink(py);
}

static void test_records(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.verbose = 1};
  char *s = fx_render(&fx, &output_json_ops, &o, 0, 4);
  size_t lines = 0;
  for (char *p = s; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 6); /* scan, 4 hosts, done */
  assert_true(strncmp(s, "{\"type\":\"scan\",\"scanner\":\"trawl\",\"version\":\"0.1.0\",", 50) == 0);
  assert_non_null(strstr(s, "\"scaninfo\":[{\"type\":\"syn\",\"protocol\":\"tcp\",\"numservices\":1000,\"services\":\"1-1000\"},"));
  assert_non_null(strstr(s, "{\"type\":\"host\",\"addr\":\"198.18.0.1\",\"addrtype\":\"ipv4\",\"mac\":\"02:00:5E:10:00:01\","
                            "\"mac_vendor\":\"Lab Vendor\",\"hostnames\":[{\"name\":\"lab.example\",\"type\":\"user\"},"
                            "{\"name\":\"ptr.lab.example\",\"type\":\"PTR\"}],\"status\":\"up\""));
  assert_non_null(strstr(s, "\"scripts\":[{\"id\":\"ssh-hostkey\",\"output\":\"\\n  2048 aa:bb (RSA)\\n  256 cc:dd (ECDSA)\\n\","
                            "\"data\":[{\"type\":\"ssh-rsa\",\"bits\":\"2048\"},{\"type\":\"ecdsa\",\"bits\":\"256\"}]}]"));
  assert_non_null(strstr(s, "\"hostscripts\":[{\"id\":\"lab-info\",\"output\":\"two\\nlines\",\"data\":{\"a\":\"1\",\"nested\":[\"x\",\"y\"]}}]"));
  assert_non_null(strstr(s, "{\"type\":\"done\",\"time\":1700000003,\"elapsed\":3.14,\"exit\":\"success\",\"hosts\":{\"up\":4,\"down\":1,\"total\":5}}\n"));
  py_check(s, "len(r)==6 and r[1]['ports'][0]['portid']==22 and r[1]['extraports'][0]['count']==997"
              " and r[2]['extraports'][0]['reasons'][1]=={'reason':'host-unreach','count':7}"
              " and r[3]['status']=='down' and r[4]['addrtype']=='ipv6' and r[5]['hosts']['total']==5");
  free(s);
  fx.end.interrupted = true;
  s = fx_render(&fx, &output_json_ops, &o, 0, 0);
  assert_non_null(strstr(s, "\"exit\":\"error\",\"errormsg\":\"interrupted\""));
  py_check(s, "r[-1]['exit']=='error'");
  free(s);
  fx_free(&fx);
}

static void test_hostile(void **state) {
  struct fixture fx;
  fx_build(&fx, 1);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_json_ops, &o, 4, 5);
  long bad = fx_first_unsafe(s, "\n");
  if (bad >= 0) fail_msg("unsafe byte 0x%02x at %ld", (unsigned char)s[bad], bad);
  assert_non_null(strstr(s, "A\\\"<b>&amp;'\\u0001\\u0008\\u000b\\u000c\\u001f\\u001b[31m\\u007f|\\u0085|"));
  assert_non_null(strstr(s, "|\\u00c3(|\\u00ed\\u00a0\\u0080|\\u00c0\\u00af|")); /* bytes of bad UTF-8 */
  assert_non_null(strstr(s, "Gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93 \xf0\x9d\x84\x9e\\tend\\r\\nline2"));
  py_check(s, "r[1]['hostnames'][0]['name'].startswith('A\"<b>&amp;\\'\\x01') and '\\U0001d11e' in r[1]['reason']");
  free(s);
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_records),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
