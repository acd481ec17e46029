/* test_output_xml.c: XML output (src/output/output-xml.c) validates against
 * Nmap's DTD, is read by ndiff and nmap.xsl, escapes hostile text, and
 * stays valid for an interrupted scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "output_fixture.h"

#define DTD "/usr/share/nmap/nmap.dtd"
#define XSL "/usr/share/nmap/nmap.xsl"

/* xmllint --dtdvalid on the text; fails the test when invalid. */
static void validate(const char *xml) {
  if (!fx_have("xmllint") || access(DTD, R_OK) != 0) {
    print_message("SKIP validation: xmllint or %s missing\n", DTD);
    return;
  }
  const char *path = fx_tmpfile(xml, 0);
  int rc = fx_run("xmllint --noout --dtdvalid %s %s", DTD, path);
  if (rc != 0) fail_msg("xmllint rejected %s (exit %d)", path, rc); /* file kept for a look */
  unlink(path);
}

/* --scanflags: Nmap's scanflags attribute, lowest bit first; -sN's type. */
static void test_scanflags(void **state) {
  (void)state;
  struct fixture fx;
  fx_build(&fx, 0);
  fx.types[0].type = SCAN_NULL;
  fx.types[0].scanflags = 0x29; /* URG PSH FIN */
  struct output_opts o = {.verbose = 1};
  char *s = fx_render(&fx, &output_xml_ops, &o, 0, 4);
  validate(s);
  assert_non_null(strstr(s, "<scaninfo type=\"null\" scanflags=\"FINPSHURG\" protocol=\"tcp\" numservices=\"1000\""));
  assert_non_null(strstr(s, "<scaninfo type=\"udp\" protocol=\"udp\""));
  free(s);
  fx_free(&fx);
}

static void test_structure(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.verbose = 1, .stylesheet = "file://" XSL};
  char *s = fx_render(&fx, &output_xml_ops, &o, 0, 4);
  validate(s);
  assert_true(strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n"
                         "<?xml-stylesheet href=\"file:///usr/share/nmap/nmap.xsl\" type=\"text/xsl\"?>\n"
                         "<!-- Trawl 0.1.0 scan initiated Tue Nov 14 22:13:20 2023 as: trawl &#45;sS", 200) == 0);
  assert_non_null(strstr(s, "<nmaprun scanner=\"nmap\" args=\"trawl -sS -sU -p T:1-1000,U:53,161 198.18.0.0/29 2001:db8::1\" "
                            "start=\"1700000000\" startstr=\"Tue Nov 14 22:13:20 2023\" version=\"0.1.0\" xmloutputversion=\"1.05\">\n"));
  assert_non_null(strstr(s, "<scaninfo type=\"syn\" protocol=\"tcp\" numservices=\"1000\" services=\"1-1000\"/>\n"
                            "<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"2\" services=\"53,161\"/>\n"
                            "<verbose level=\"1\"/>\n<debugging level=\"0\"/>\n"));
  assert_non_null(strstr(s, "<host starttime=\"1700000001\" endtime=\"1700000002\"><status state=\"up\" reason=\"arp-response\" reason_ttl=\"0\"/>\n"
                            "<address addr=\"198.18.0.1\" addrtype=\"ipv4\"/>\n"
                            "<address addr=\"02:00:5E:10:00:01\" addrtype=\"mac\" vendor=\"Lab Vendor\"/>\n"
                            "<hostnames>\n<hostname name=\"lab.example\" type=\"user\"/>\n"
                            "<hostname name=\"ptr.lab.example\" type=\"PTR\"/>\n</hostnames>\n"));
  assert_non_null(strstr(s, "<ports><extraports state=\"closed\" count=\"997\">\n"
                            "<extrareasons reason=\"reset\" count=\"997\" proto=\"tcp\"/>\n</extraports>\n"
                            "<port protocol=\"tcp\" portid=\"22\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"64\"/>"
                            "<service name=\"ssh\" method=\"table\" conf=\"3\"/>"
                            "<script id=\"ssh-hostkey\" output=\"&#xa;  2048 aa:bb (RSA)&#xa;  256 cc:dd (ECDSA)&#xa;\"><table>\n"
                            "<elem key=\"type\">ssh-rsa</elem>\n<elem key=\"bits\">2048</elem>\n</table>\n"));
  assert_non_null(strstr(s, "<hostscript><script id=\"lab-info\" output=\"two&#xa;lines\"><elem key=\"a\">1</elem>\n"
                            "<table key=\"nested\">\n<elem>x</elem>\n<elem>y</elem>\n</table>\n</script></hostscript>\n"
                            "<distance value=\"1\"/>\n<times srtt=\"1200\" rttvar=\"500\" to=\"100000\"/>\n</host>\n"));
  assert_non_null(strstr(s, "<extraports state=\"filtered\" count=\"997\">\n"
                            "<extrareasons reason=\"no-response\" count=\"990\" proto=\"tcp\"/>\n"
                            "<extrareasons reason=\"host-unreach\" count=\"7\" proto=\"tcp\"/>\n</extraports>\n"));
  assert_non_null(strstr(s, "<status state=\"down\" reason=\"no-response\" reason_ttl=\"0\"/>\n"));
  assert_non_null(strstr(s, "<address addr=\"2001:db8::1\" addrtype=\"ipv6\"/>\n"));
  assert_non_null(strstr(s, "<runstats><finished time=\"1700000003\" timestr=\"Tue Nov 14 22:13:23 2023\" "
                            "summary=\"Trawl done at Tue Nov 14 22:13:23 2023; 5 IP addresses (4 hosts up) scanned in 3.14 seconds\" "
                            "elapsed=\"3.14\" exit=\"success\"/><hosts up=\"4\" down=\"1\" total=\"5\"/>\n</runstats>\n</nmaprun>\n"));
  free(s);
  /* without -v the down host is left out */
  o.verbose = 0;
  s = fx_render(&fx, &output_xml_ops, &o, 0, 4);
  validate(s);
  assert_null(strstr(s, "198.18.0.3"));
  free(s);
  fx_free(&fx);
}

static void test_interrupted(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  fx.end.interrupted = true;
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_xml_ops, &o, 0, 1);
  validate(s);
  assert_non_null(strstr(s, "exit=\"error\" errormsg=\"interrupted\"/>"));
  free(s);
  fx.end.interrupted = false;
  fx.end.errormsg = "send failed: \"eth0\" <down>";
  s = fx_render(&fx, &output_xml_ops, &o, 0, 0); /* no hosts at all */
  validate(s);
  assert_non_null(strstr(s, "exit=\"error\" errormsg=\"send failed: &quot;eth0&quot; &lt;down&gt;\"/>"));
  free(s);
  fx_free(&fx);
}

static void test_hostile(void **state) {
  struct fixture fx;
  fx_build(&fx, 1);
  struct output_opts o = {.verbose = 1};
  char *s = fx_render(&fx, &output_xml_ops, &o, 0, 5);
  validate(s);
  /* only tab and newline among the controls; no invalid UTF-8 */
  long bad = fx_first_unsafe(s, "\n\t");
  if (bad >= 0) fail_msg("unsafe byte 0x%02x at %ld", (unsigned char)s[bad], bad);
  assert_null(strstr(s, "\xef\xbf\xbe")); /* U+FFFE is not an XML character */
  assert_non_null(strstr(s, "A&quot;&lt;b&gt;&amp;amp;&apos;\\x01\\x08\\x0b\\x0c\\x1f\\x1b[31m&#x7f;|&#x85;|\\xc3(|"
                            "\\xed\\xa0\\x80|\\xc0\\xaf|\\xef\\xbf\\xbe|Gr\xc3\xbc\xc3\x9f" "e"));
  /* in attributes whitespace controls are character references */
  assert_non_null(strstr(s, "&#x9;end&#xd;&#xa;line2 , / ]]&gt; -- \\\""));
  /* in element text a newline stays, "]]>" cannot appear raw */
  assert_non_null(strstr(s, "\tend&#xd;\nline2 , / ]]&gt; -- \\</elem>"));
  /* the comment holds no "--" */
  char *c = strstr(s, "<!--"), *ce = strstr(s, "-->");
  assert_non_null(c);
  for (char *p = c + 4; p < ce; p++) assert_false(p[0] == '-' && p[1] == '-');
  free(s);
  fx_free(&fx);
}

static void test_tools(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {0};
  char *a = fx_render(&fx, &output_xml_ops, &o, 0, 2);
  char *b = fx_render(&fx, &output_xml_ops, &o, 0, 4);
  const char *pa = fx_tmpfile(a, 1), *pb = fx_tmpfile(b, 2);
  if (fx_have("ndiff")) {
    /* 0: no differences, 1: differences, 2: error */
    assert_int_equal(fx_run("ndiff %s %s >/dev/null", pa, pa), 0);
    char out[256];
    snprintf(out, sizeof out, "%s.diff", pb);
    assert_int_equal(fx_run("ndiff %s %s > %s", pa, pb, out), 1);
    /* ndiff saw the IPv6 host that only b has */
    assert_int_equal(fx_run("grep -q '2001:db8::1' %s", out), 0);
    assert_int_equal(fx_run("ndiff --xml %s %s | xmllint --noout -", pa, pb), 0);
    unlink(out);
  } else {
    print_message("SKIP ndiff: not installed\n");
  }
  if (fx_have("xsltproc") && access(XSL, R_OK) == 0) {
    char out[256];
    snprintf(out, sizeof out, "%s.html", pb);
    assert_int_equal(fx_run("xsltproc %s %s > %s 2>/dev/null", XSL, pb, out), 0);
    assert_int_equal(fx_run("grep -q '198.18.0.1' %s && grep -q 'ssh-hostkey' %s", out, out), 0);
    unlink(out);
  } else {
    print_message("SKIP xsltproc: not installed\n");
  }
  unlink(pa);
  unlink(pb);
  free(a);
  free(b);
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_structure), cmocka_unit_test(test_interrupted), cmocka_unit_test(test_scanflags),
      cmocka_unit_test(test_hostile),   cmocka_unit_test(test_tools),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
