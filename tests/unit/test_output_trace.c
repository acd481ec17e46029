/* test_output_trace.c: --traceroute in the writers (output-normal.c,
 * output-xml.c, output-json.c, output-grep.c) on the shared fixture's
 * first host with a hand-made trace: a shared part, a named hop, a run of
 * silent hops and the host; and a host on our link (a bare TRACEROUTE).
 *
 *   normal   the block exactly as Nmap lays it out (column widths from the
 *            widest cell, "... 5" in the RTT column)
 *   XML      <trace port proto> with every answered hop (shared ones
 *            included, silent ones left out), valid against nmap.dtd
 *   JSON     "trace" with same_as, same_upto and the silent hop's ttl
 *   grep     nothing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "output_fixture.h"

#define DTD "/usr/share/nmap/nmap.dtd"

static void hop(struct trace_hop *h, int ttl, const char *addr, const char *name, double rtt) {
  h->ttl = ttl;
  snprintf(h->addr, sizeof h->addr, "%s", addr ? addr : "");
  h->name = name ? strdup(name) : NULL;
  h->rtt_ms = rtt;
}

static void add_traces(struct fixture *fx) {
  struct host_trace *t = calloc(1, sizeof *t);
  t->proto = PROTO_TCP;
  t->port = 80;
  t->nhops = 6;
  t->hops = calloc(6, sizeof *t->hops);
  hop(&t->hops[0], 1, "198.18.10.1", "r1.lab.test", 0.05);
  hop(&t->hops[1], 2, "198.18.11.2", "r2.lab.test", 0.07);
  hop(&t->hops[2], 3, NULL, NULL, -1);
  hop(&t->hops[3], 4, NULL, NULL, -1);
  hop(&t->hops[4], 5, NULL, NULL, -1);
  hop(&t->hops[5], 6, "198.18.0.1", NULL, 12.5);
  snprintf(t->same_as, sizeof t->same_as, "198.18.30.11");
  t->same_upto = 2;
  fx->hosts[0].trace = t;
  t = calloc(1, sizeof *t);
  t->direct = true;
  t->nhops = 1;
  t->hops = calloc(1, sizeof *t->hops);
  hop(&t->hops[0], 1, "198.18.0.2", NULL, 0.09);
  fx->hosts[1].trace = t;
}

static const char want_block[] =
    "\nTRACEROUTE (using port 80/tcp)\n"
    "HOP RTT      ADDRESS\n"
    "-   Hops 1-2 are the same as for 198.18.30.11\n"
    "3   ... 5\n"
    "6   12.50 ms 198.18.0.1\n"
    "\n";

static void test_normal(void **state) {
  (void)state;
  struct fixture fx;
  fx_build(&fx, 0);
  add_traces(&fx);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_normal_ops, &o, 0, 2);
  if (!strstr(s, want_block)) fail_msg("no traceroute block as Nmap's in:\n%s", s);
  assert_non_null(strstr(s, "\nTRACEROUTE\nHOP RTT     ADDRESS\n1   0.09 ms 198.18.0.2\n"));
  free(s);
  fx_free(&fx);
}

static void test_xml(void **state) {
  (void)state;
  struct fixture fx;
  fx_build(&fx, 0);
  add_traces(&fx);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_xml_ops, &o, 0, 2);
  assert_non_null(strstr(s, "<trace port=\"80\" proto=\"tcp\">\n"
                            "<hop ttl=\"1\" ipaddr=\"198.18.10.1\" rtt=\"0.05\" host=\"r1.lab.test\"/>\n"
                            "<hop ttl=\"2\" ipaddr=\"198.18.11.2\" rtt=\"0.07\" host=\"r2.lab.test\"/>\n"
                            "<hop ttl=\"6\" ipaddr=\"198.18.0.1\" rtt=\"12.50\"/>\n"
                            "</trace>\n"));
  assert_non_null(strstr(s, "<trace>\n<hop ttl=\"1\" ipaddr=\"198.18.0.2\" rtt=\"0.09\"/>\n</trace>\n"));
  if (fx_have("xmllint") && access(DTD, R_OK) == 0) {
    const char *path = fx_tmpfile(s, 0);
    int rc = fx_run("xmllint --noout --dtdvalid %s %s", DTD, path);
    unlink(path);
    assert_int_equal(rc, 0);
  } else {
    print_message("SKIP validation: xmllint or %s missing\n", DTD);
  }
  free(s);
  fx_free(&fx);
}

static void test_json_grep(void **state) {
  (void)state;
  struct fixture fx;
  fx_build(&fx, 0);
  add_traces(&fx);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_json_ops, &o, 0, 2);
  assert_non_null(strstr(s, "\"trace\":{\"proto\":\"tcp\",\"port\":80,\"same_as\":\"198.18.30.11\","
                            "\"same_upto\":2,\"hops\":[{\"ttl\":1,\"ipaddr\":\"198.18.10.1\","
                            "\"rtt\":0.050,\"host\":\"r1.lab.test\"},"));
  assert_non_null(strstr(s, "{\"ttl\":3},{\"ttl\":4},{\"ttl\":5},{\"ttl\":6,\"ipaddr\":\"198.18.0.1\""));
  assert_non_null(strstr(s, "\"direct\":true"));
  free(s);
  s = fx_render(&fx, &output_grep_ops, &o, 0, 2);
  assert_null(strstr(s, "198.18.10.1"));
  assert_null(strstr(s, "TRACE"));
  free(s);
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normal),
      cmocka_unit_test(test_xml),
      cmocka_unit_test(test_json_grep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
