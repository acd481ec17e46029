/* test_output_os.c: OS detection results in the writers' forms
 * (src/output/output-os.c): the normal summary lines (device types,
 * "vendor family gen|gen" groups, CPEs, each once), guesses, "too many",
 * the uptime and sequence lines at -v; XML elements with escaped names and
 * each CPE under its own class; the JSON object. The escaping functions
 * are stand-ins written here, so the test sees where they are used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/os-result.h"
#include "output/output-os.h"

static struct os_result *exact_result(void) {
  struct os_result *r = os_result_new();
  struct os_match_item *m = os_result_add_match(r, "Linux 4.15 - 5.6", 100, 1234);
  struct os_class_result *c = os_result_add_class(m, "general purpose", "Linux", "Linux", "4.X", 100);
  os_result_add_cpe(c, "cpe:/o:linux:linux_kernel:4");
  c = os_result_add_class(m, "general purpose", "Linux", "Linux", "5.X", 100);
  os_result_add_cpe(c, "cpe:/o:linux:linux_kernel:5");
  m = os_result_add_match(r, "Box <1> & \"2\"", 100, 99);
  c = os_result_add_class(m, "WAP", "Vendor", "embedded", NULL, 100);
  os_result_add_cpe(c, "cpe:/h:vendor:box");
  c = os_result_add_class(m, "general purpose", "Linux", "Linux", "5.X", 100);
  os_result_add_cpe(c, "cpe:/o:linux:linux_kernel:5");
  r->verdict = OS_RES_EXACT;
  r->open_tcp = (struct os_portused){true, 22};
  r->closed_tcp = (struct os_portused){true, 1};
  r->ipid_class = strdup("All zeros");
  r->ipid_values = strdup("0,0,0");
  r->seq_index = 260;
  r->seq_difficulty = strdup("Good luck!");
  r->seq_values = strdup("A,B,C");
  r->ts_class = strdup("none returned (unsupported)");
  return r;
}

static char *render(int which, const struct host_result *h, int verbose);

static void attr_stub(FILE *f, const char *name, const char *value) {
  fprintf(f, " %s=\"", name);
  for (const char *p = value; *p; p++) {
    if (*p == '<') fputs("&lt;", f);
    else if (*p == '&') fputs("&amp;", f);
    else if (*p == '"') fputs("&quot;", f);
    else if (*p == '\n') fputs("&#xa;", f);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void str_stub(FILE *f, const char *s) {
  fputc('"', f);
  for (const char *p = s ? s : ""; *p; p++) {
    if (*p == '"' || *p == '\\') fputc('\\', f);
    if (*p == '\n') fputs("\\n", f);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static char *render(int which, const struct host_result *h, int verbose) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  if (which == 0) output_os_normal(f, h, verbose);
  else if (which == 1) output_os_xml(f, h, attr_stub);
  else output_os_json(f, h->os, str_stub);
  fclose(f);
  return buf;
}

static void test_exact(void **state) {
  struct host_result h;
  host_result_init(&h);
  h.distance = 1;
  h.os = exact_result();
  char *n = render(0, &h, 0);
  print_message("%s", n);
  assert_non_null(strstr(n, "Device type: general purpose|WAP\n"));
  assert_non_null(strstr(n, "Running: Linux 4.X|5.X, Vendor embedded\n"));
  assert_non_null(strstr(n, "OS CPE: cpe:/o:linux:linux_kernel:4 cpe:/o:linux:linux_kernel:5 cpe:/h:vendor:box\n"));
  assert_non_null(strstr(n, "OS details: Linux 4.15 - 5.6, Box <1> & \"2\"\n"));
  assert_non_null(strstr(n, "Network Distance: 1 hop\n"));
  assert_null(strstr(n, "TCP Sequence Prediction")); /* -v only */
  free(n);
  n = render(0, &h, 1);
  assert_non_null(strstr(n, "TCP Sequence Prediction: Difficulty=260 (Good luck!)\n"));
  assert_non_null(strstr(n, "IP ID Sequence Generation: All zeros\n"));
  free(n);
  char *x = render(1, &h, 0);
  assert_non_null(strstr(x, "<os><portused state=\"open\" proto=\"tcp\" portid=\"22\"/>\n"
                            "<portused state=\"closed\" proto=\"tcp\" portid=\"1\"/>\n<osmatch"));
  assert_null(strstr(x, "proto=\"udp\"")); /* not set */
  assert_non_null(strstr(x, "<osmatch name=\"Box &lt;1&gt; &amp; &quot;2&quot;\"") ||
                  strstr(x, "<osmatch name=\"Box &lt;1> &amp; &quot;2&quot;\""));
  assert_non_null(strstr(x, "<osclass type=\"WAP\" vendor=\"Vendor\" osfamily=\"embedded\" accuracy=\"100\"><cpe>cpe:/h:vendor:box</cpe></osclass>"));
  assert_non_null(strstr(x, "<tcpsequence index=\"260\" difficulty=\"Good luck!\" values=\"A,B,C\"/>"));
  assert_non_null(strstr(x, "<ipidsequence class=\"All zeros\" values=\"0,0,0\"/>"));
  assert_non_null(strstr(x, "<tcptssequence class=\"none returned (unsupported)\"/>"));
  assert_null(strstr(x, "<osfingerprint"));
  free(x);
  char *j = render(2, &h, 0);
  assert_non_null(strstr(j, "{\"verdict\":\"exact\",\"tries\":0,\"unreliable\":false,\"portused\":[{\"state\":\"open\",\"proto\":\"tcp\",\"port\":22}"));
  assert_non_null(strstr(j, "\"name\":\"Box <1> & \\\"2\\\"\""));
  assert_non_null(strstr(j, "\"ipidsequence\":{\"class\":\"All zeros\",\"values\":\"0,0,0\"}"));
  assert_int_equal(j[strlen(j) - 1], '}');
  free(j);
  host_result_free(&h);
}

static void test_guess_and_none(void **state) {
  struct host_result h;
  host_result_init(&h);
  h.distance = 3;
  h.os = exact_result();
  h.os->verdict = OS_RES_GUESS;
  h.os->matches[0].accuracy = 96;
  h.os->matches[1].accuracy = 90;
  h.os->fingerprint = strdup("OS:SCAN(V=1)\nOS:T1(R=Y)");
  char *n = render(0, &h, 0);
  assert_non_null(strstr(n, "Aggressive OS guesses: Linux 4.15 - 5.6 (96%), Box <1> & \"2\" (90%)\n"));
  assert_null(strstr(n, "Running")); /* guesses come without the summary */
  assert_non_null(strstr(n, "No exact OS matches for host (If you know"));
  assert_non_null(strstr(n, "TCP/IP fingerprint:\nOS:SCAN(V=1)\nOS:T1(R=Y)\n\nNetwork Distance: 3 hops\n"));
  free(n);
  char *x = render(1, &h, 0);
  assert_non_null(strstr(x, "<osfingerprint fingerprint=\"OS:SCAN(V=1)&#xa;OS:T1(R=Y)\"/>"));
  free(x);
  h.os->fp_unfit = true;
  n = render(0, &h, 0);
  assert_non_null(strstr(n, "No exact OS matches for host (test conditions non-ideal).\n"));
  assert_null(strstr(n, "TCP/IP fingerprint"));
  free(n);
  h.os->verdict = OS_RES_TOO_MANY;
  n = render(0, &h, 0);
  assert_non_null(strstr(n, "Too many fingerprints match this host to give specific OS details\n"));
  assert_null(strstr(n, "OS details: "));
  free(n);
  x = render(1, &h, 0);
  assert_null(strstr(x, "<osfingerprint")); /* as Nmap: none when too many match */
  free(x);
  host_result_free(&h);
  /* no OS result: nothing at all */
  host_result_init(&h);
  n = render(0, &h, 1);
  assert_string_equal(n, "");
  free(n);
  x = render(1, &h, 1);
  assert_string_equal(x, "");
  free(x);
  host_result_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact),
      cmocka_unit_test(test_guess_and_none),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
