/* test_output_scripts.c: pre- and postrule script results in every output
 * format (output_prescript/output_postscript, src/output/output.h): XML
 * <prescript>/<postscript> where Nmap puts them, valid against Nmap's DTD
 * (hostile text too); the normal output's "Pre-scan script results:" /
 * "Post-scan script results:" blocks with "| id:" and "|_" lines; JSON
 * Lines "prescript"/"postscript" records that parse; nothing in grepable
 * output, nothing at all when there are no results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "output_fixture.h"

#define DTD "/usr/share/nmap/nmap.dtd"

struct rules {
  struct host_result pre, post; /* only their hostscripts are used */
};

static void rules_build(struct rules *r, int hostile) {
  host_result_init(&r->pre);
  host_result_init(&r->post);
  struct script_result *s =
      result_add_script(&r->pre, NULL, "broadcast-lab", "\n  198.18.30.10\n  198.18.30.12");
  struct script_node *t = snode_add_table(&s->tree, "hosts");
  snode_add_elem(t, NULL, "198.18.30.10");
  snode_add_elem(t, NULL, "198.18.30.12");
  result_add_script(&r->pre, NULL, "lab-time", "one line");
  s = result_add_script(&r->post, NULL, hostile ? FX_HOSTILE : "lab-summary",
                        hostile ? FX_HOSTILE : "2 hosts\nwith web servers\n");
  snode_add_elem(&s->tree, "count", hostile ? FX_HOSTILE : "2");
}

static void rules_free(struct rules *r) {
  host_result_free(&r->pre);
  host_result_free(&r->post);
}

/* begin, prescript, hosts [from, to), postscript, end -> malloc'd text */
static char *render(struct fixture *fx, struct rules *r, const struct output_ops *ops,
                    const struct output_opts *opts, size_t from, size_t to) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  struct output o;
  output_init(&o, ops, f, opts);
  assert_int_equal(output_begin(&o, &fx->info), 0);
  assert_int_equal(output_prescript(&o, r->pre.hostscripts, r->pre.nhostscripts), 0);
  for (size_t i = from; i < to; i++) assert_int_equal(output_host(&o, &fx->hosts[i]), 0);
  assert_int_equal(output_postscript(&o, r->post.hostscripts, r->post.nhostscripts), 0);
  assert_int_equal(output_end(&o, &fx->end), 0);
  fclose(f);
  return buf;
}

static void validate(const char *xml) {
  if (!fx_have("xmllint") || access(DTD, R_OK) != 0) {
    print_message("SKIP validation: xmllint or %s missing\n", DTD);
    return;
  }
  const char *path = fx_tmpfile(xml, 0);
  int rc = fx_run("xmllint --noout --dtdvalid %s %s", DTD, path);
  if (rc != 0) fail_msg("xmllint rejected %s (exit %d)", path, rc);
  unlink(path);
}

static void test_xml(void **state) {
  struct fixture fx;
  struct rules r;
  fx_build(&fx, 0);
  rules_build(&r, 0);
  struct output_opts o = {.verbose = 1};
  char *s = render(&fx, &r, &output_xml_ops, &o, 0, 4);
  validate(s);
  const char *pre = strstr(s, "<prescript>");
  const char *post = strstr(s, "<postscript>");
  assert_non_null(pre);
  assert_non_null(post);
  /* where Nmap writes them: right after <debugging>, before the first
   * host; after the last host, right before <runstats> */
  assert_non_null(strstr(s, "<debugging level=\"0\"/>\n<prescript>"));
  assert_true(pre < strstr(s, "<host"));
  assert_true(post > strstr(s, "2001:db8::1"));
  assert_non_null(strstr(s, "</host>\n<postscript>"));
  assert_non_null(strstr(s, "</postscript>\n<runstats>"));
  assert_non_null(strstr(s, "<prescript><script id=\"broadcast-lab\" output=\"&#xa;  198.18.30.10&#xa;  198.18.30.12\">"
                            "<table key=\"hosts\">\n<elem>198.18.30.10</elem>\n<elem>198.18.30.12</elem>\n</table>\n"
                            "</script><script id=\"lab-time\" output=\"one line\"/></prescript>\n"));
  assert_non_null(strstr(s, "<postscript><script id=\"lab-summary\" output=\"2 hosts&#xa;with web servers&#xa;\">"
                            "<elem key=\"count\">2</elem>\n</script></postscript>\n"));
  /* exactly one of each */
  assert_null(strstr(pre + 1, "<prescript>"));
  assert_null(strstr(post + 1, "<postscript>"));
  free(s);
  /* no hosts at all: still valid */
  s = render(&fx, &r, &output_xml_ops, &o, 0, 0);
  validate(s);
  assert_non_null(strstr(s, "</prescript>\n<postscript>"));
  free(s);
  rules_free(&r);
  fx_free(&fx);
}

static void test_xml_hostile(void **state) {
  struct fixture fx;
  struct rules r;
  fx_build(&fx, 1);
  rules_build(&r, 1);
  struct output_opts o = {0};
  char *s = render(&fx, &r, &output_xml_ops, &o, 0, 1);
  validate(s);
  long bad = fx_first_unsafe(s, "\n\t");
  if (bad >= 0) fail_msg("unsafe byte 0x%02x at %ld", (unsigned char)s[bad], bad);
  assert_non_null(strstr(s, "<postscript><script id=\"A&quot;&lt;b&gt;&amp;amp;&apos;\\x01"));
  free(s);
  rules_free(&r);
  fx_free(&fx);
}

static void test_normal(void **state) {
  struct fixture fx;
  struct rules r;
  fx_build(&fx, 0);
  rules_build(&r, 0);
  struct output_opts o = {0};
  char *s = render(&fx, &r, &output_normal_ops, &o, 0, 2);
  /* right after the Starting line, before the first report */
  assert_non_null(strstr(s, " UTC\nPre-scan script results:\n"
                            "| broadcast-lab: \n"
                            "|   198.18.30.10\n"
                            "|_  198.18.30.12\n"
                            "|_lab-time: one line\n"
                            "Trawl scan report for lab.example (198.18.0.1)\n"));
  /* after the last report's blank line, before "Trawl done" */
  assert_non_null(strstr(s, "\n\nPost-scan script results:\n"
                            "| lab-summary: 2 hosts\n"
                            "|_with web servers\n"
                            "Trawl done: 5 IP addresses"));
  assert_true(strstr(s, "Post-scan") > strstr(s, "198.18.0.2"));
  free(s);
  /* hostile text: no control byte reaches the terminal */
  rules_free(&r);
  fx_free(&fx);
  fx_build(&fx, 1);
  rules_build(&r, 1);
  s = render(&fx, &r, &output_normal_ops, &o, 0, 0);
  long bad = fx_first_unsafe(s, "\n");
  if (bad >= 0) fail_msg("unsafe byte 0x%02x at %ld", (unsigned char)s[bad], bad);
  assert_non_null(strstr(s, "Post-scan script results:\n| A\"<b>&amp;'\\x01\\x08"));
  free(s);
  rules_free(&r);
  fx_free(&fx);
}

static void test_json(void **state) {
  struct fixture fx;
  struct rules r;
  fx_build(&fx, 0);
  rules_build(&r, 0);
  struct output_opts o = {0};
  char *s = render(&fx, &r, &output_json_ops, &o, 0, 2);
  /* record order: scan, prescript, hosts, postscript, done */
  const char *l2 = strchr(s, '\n') + 1;
  assert_true(strncmp(l2, "{\"type\":\"prescript\",\"scripts\":[{\"id\":\"broadcast-lab\","
                          "\"output\":\"\\n  198.18.30.10\\n  198.18.30.12\","
                          "\"data\":{\"hosts\":[\"198.18.30.10\",\"198.18.30.12\"]}},"
                          "{\"id\":\"lab-time\",\"output\":\"one line\"}]}\n"
                          "{\"type\":\"host\"", 200) == 0);
  assert_non_null(strstr(s, "}\n{\"type\":\"postscript\",\"scripts\":[{\"id\":\"lab-summary\","
                            "\"output\":\"2 hosts\\nwith web servers\\n\",\"data\":{\"count\":\"2\"}}]}\n"
                            "{\"type\":\"done\""));
  if (fx_have("python3")) {
    rules_free(&r);
    fx_free(&fx);
    fx_build(&fx, 1);
    rules_build(&r, 1);
    free(s);
    s = render(&fx, &r, &output_json_ops, &o, 0, 5); /* the down host is left out */
    const char *p = fx_tmpfile(s, 1);
    assert_int_equal(fx_run("python3 -c 'import json,sys\n"
                            "t=[json.loads(l)[\"type\"] for l in open(sys.argv[1])]\n"
                            "assert t==[\"scan\",\"prescript\"]+[\"host\"]*4+[\"postscript\",\"done\"],t' %s",
                            p),
                     0);
    unlink(p);
  } else {
    print_message("SKIP JSON parse: no python3\n");
  }
  free(s);
  rules_free(&r);
  fx_free(&fx);
}

static void test_grep_and_empty(void **state) {
  struct fixture fx;
  struct rules r, none;
  fx_build(&fx, 0);
  rules_build(&r, 0);
  host_result_init(&none.pre);
  host_result_init(&none.post);
  struct output_opts o = {0};
  /* grepable output has no script results (as Nmap's) */
  char *a = render(&fx, &r, &output_grep_ops, &o, 0, 2);
  char *b = fx_render(&fx, &output_grep_ops, &o, 0, 2);
  assert_string_equal(a, b);
  free(a);
  free(b);
  /* with no pre/post results every format writes what it wrote before */
  const struct output_ops *ops[] = {&output_normal_ops, &output_xml_ops, &output_json_ops};
  for (int i = 0; i < 3; i++) {
    a = render(&fx, &none, ops[i], &o, 0, 2);
    b = fx_render(&fx, ops[i], &o, 0, 2);
    assert_string_equal(a, b);
    assert_null(strstr(a, "prescript"));
    assert_null(strstr(a, "Pre-scan"));
    free(a);
    free(b);
  }
  rules_free(&r);
  rules_free(&none);
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xml),  cmocka_unit_test(test_xml_hostile),
      cmocka_unit_test(test_normal), cmocka_unit_test(test_json),
      cmocka_unit_test(test_grep_and_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
