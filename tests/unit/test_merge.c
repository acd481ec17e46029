/* test_merge.c: `trawl merge`'s readers (src/merge/read-*.c) and folding
 * (src/merge/merge-host.c). The readers are checked against the writers:
 * what a writer wrote, read back and written again by the same writer, is
 * the same text; a scan split into two shards (ports alternately, counted
 * ports halved) and folded back gives the unsplit scan's output. Then the
 * shard command line, host order, bounds and truncation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "output_fixture.h"
#include "core/os-result.h"
#include "merge/merge.h"
#include "merge/mread.h"

/* Reads text as one trawl output and writes it again with ops. */
static char *rewrite(const char *text, const struct output_ops *ops, const struct output_opts *o) {
  FILE *in = fmemopen((void *)text, strlen(text), "r");
  struct mread r;
  assert_int_equal(mread_open(&r, in, "mem"), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  struct output op;
  output_init(&op, ops, out, o);
  struct scan_info info = {0};
  int k, nhosts = 0;
  while ((k = mread_next(&r)) > 0) {
    if (k == MREAD_BEGIN) {
      info.args = r.begin.args;
      info.start_time = r.begin.start;
      info.types = r.begin.types;
      info.ntypes = r.begin.ntypes;
      info.version_scan = r.version_scan;
      assert_int_equal(output_begin(&op, &info), 0);
    } else if (k == MREAD_RULE) {
      const struct script_result *sr = r.rule.hostscripts;
      size_t ns = r.rule.nhostscripts;
      assert_int_equal(r.rule_post ? output_postscript(&op, sr, ns) : output_prescript(&op, sr, ns), 0);
    } else if (k == MREAD_HOST) {
      nhosts++;
      assert_int_equal(output_host(&op, &r.host), 0);
    } else if (k == MREAD_END) {
      struct scan_end e = {.end_time = r.end.time, .elapsed = r.end.elapsed, .hosts_up = r.end.up,
                           .hosts_down = r.end.down, .hosts_total = r.end.total,
                           .errormsg = r.end.errormsg};
      assert_int_equal(output_end(&op, &e), 0);
    }
  }
  if (k < 0) fail_msg("read error: %s", r.err);
  assert_true(nhosts > 0);
  assert_false(r.in_host);
  mread_close(&r);
  fclose(in);
  fclose(out);
  return buf;
}

static void roundtrip(const struct output_ops *ops) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.verbose = 1, .reason = true};
  char *a = fx_render(&fx, ops, &o, 0, 4);
  char *b = rewrite(a, ops, &o);
  assert_string_equal(a, b);
  free(a);
  free(b);
  fx_free(&fx);
}
/* OS detection and traceroute on hosts 0 and 1 (unreliable guess with a
 * fingerprint unfit for submission; exact match with two classes). */
static void fx_os_trace(struct fixture *fx, bool same_as) {
  struct os_result *os = fx->hosts[0].os = os_result_new();
  assert_non_null(os);
  os->open_tcp = (struct os_portused){true, 22};
  os->verdict = OS_RES_GUESS;
  os->unreliable = true;
  os->fp_unfit = true;
  struct os_match_item *m = os_result_add_match(os, "Linux 5.0 - 5.14 <&\"'>", 93, 61357);
  struct os_class_result *c = os_result_add_class(m, "general purpose", "Linux", "Linux", "5.X", 93);
  assert_int_equal(os_result_add_cpe(c, "cpe:/o:linux:linux_kernel:5"), 0);
  os_result_add_match(os, "MikroTik RouterOS 7.2 - 7.5", 91, 80000);
  os->fingerprint = strdup("OS:SCAN(V=7.93%E=4%D=12/5%OT=22%CT=%CU=%PV=Y%DS=1%DC=D%G\nOS:=N%TM=1%P=x86_64-pc-linux-gnu)SEQ(SP=105%GCD=1)");
  os->uptime_s = 86400 * 3 + 17;
  os->lastboot = 1700000000;
  os->seq_index = 261;
  os->seq_difficulty = strdup("Good luck!");
  os->seq_values = strdup("1A2B,3C4D");
  os->ipid_class = strdup("All zeros");
  os->ipid_values = strdup("0,0,0");
  os->ts_class = strdup("1000HZ");
  os->ts_values = strdup("5F,61");
  fx->hosts[0].distance = 1;
  os = fx->hosts[1].os = os_result_new();
  assert_non_null(os);
  os->open_tcp = (struct os_portused){true, 80};
  os->closed_tcp = (struct os_portused){true, 1};
  os->closed_udp = (struct os_portused){true, 33000};
  os->verdict = OS_RES_EXACT;
  m = os_result_add_match(os, "OpenBSD 7.1", 100, 9);
  os_result_add_class(m, "general purpose", "OpenBSD", "OpenBSD", NULL, 100);
  c = os_result_add_class(m, "firewall", "OpenBSD", "OpenBSD", "7.X", 100);
  os_result_add_cpe(c, "cpe:/o:openbsd:openbsd:7");
  os_result_add_cpe(c, "cpe:/o:openbsd:openbsd:7.1");
  struct host_trace *t = fx->hosts[1].trace = calloc(1, sizeof *t);
  t->proto = PROTO_TCP;
  t->port = 80;
  t->nhops = 3;
  t->hops = calloc(3, sizeof *t->hops);
  t->hops[0] = (struct trace_hop){1, "198.18.1.1", strdup("r1.lab.test"), 0.41};
  t->hops[1] = (struct trace_hop){2, "", NULL, -1}; /* silent */
  t->hops[2] = (struct trace_hop){3, "198.18.2.9", NULL, 1.25};
  if (same_as) {
    snprintf(t->same_as, sizeof t->same_as, "198.18.0.5");
    t->same_upto = 1;
  }
  t = fx->hosts[0].trace = calloc(1, sizeof *t);
  t->direct = true;
  t->nhops = 1;
  t->hops = calloc(1, sizeof *t->hops);
  t->hops[0] = (struct trace_hop){1, "198.18.0.2", NULL, 0.1};
}

/* What -O and --traceroute wrote comes back: the same XML and JSON, and
 * the normal output of the host read back is the original's (verdict,
 * unfit fingerprint, lastboot and reliability inferred where XML has no
 * field for them). */
static void roundtrip_os(const struct output_ops *ops, bool same_as) {
  struct fixture fx;
  fx_build(&fx, 0);
  fx_os_trace(&fx, same_as);
  struct output_opts o = {.verbose = 1, .reason = true};
  char *a = fx_render(&fx, ops, &o, 0, 2);
  assert_non_null(strstr(a, ops == &output_xml_ops ? "<osmatch" : "\"matches\""));
  char *b = rewrite(a, ops, &o);
  assert_string_equal(a, b);
  char *na = fx_render(&fx, &output_normal_ops, &o, 0, 2);
  char *nb = rewrite(a, &output_normal_ops, &o);
  assert_non_null(strstr(na, "Aggressive OS guesses: Linux 5.0"));
  assert_non_null(strstr(na, "test conditions non-ideal"));
  assert_string_equal(na, nb);
  free(a);
  free(b);
  free(na);
  free(nb);
  fx_free(&fx);
}
static void test_roundtrip_os_xml(void **state) { roundtrip_os(&output_xml_ops, false); }

/* Pre- and postrule script results (with structured data) come back as
 * MREAD_RULE records, written again in the same places. */
static void roundtrip_rules(const struct output_ops *ops) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct host_result pre, post;
  host_result_init(&pre);
  host_result_init(&post);
  result_add_script(&pre, NULL, "pre-one", "pre <one> & \"two\"");
  struct script_result *s = result_add_script(&post, NULL, "post-one", "\n  phase: post");
  snode_add_elem(&s->tree, "phase", "post");
  struct script_node *t = snode_add_table(&s->tree, "items");
  snode_add_elem(t, NULL, "a");
  result_add_script(&post, NULL, "post-two", "");
  struct output_opts o = {.verbose = 1, .reason = true};
  char *a = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&a, &len);
  struct output op;
  output_init(&op, ops, f, &o);
  assert_int_equal(output_begin(&op, &fx.info), 0);
  assert_int_equal(output_prescript(&op, pre.hostscripts, pre.nhostscripts), 0);
  for (size_t i = 0; i < 2; i++) assert_int_equal(output_host(&op, &fx.hosts[i]), 0);
  assert_int_equal(output_postscript(&op, post.hostscripts, post.nhostscripts), 0);
  assert_int_equal(output_end(&op, &fx.end), 0);
  fclose(f);
  assert_non_null(strstr(a, "pre-one"));
  char *b = rewrite(a, ops, &o);
  assert_string_equal(a, b);
  free(a);
  free(b);
  host_result_free(&pre);
  host_result_free(&post);
  fx_free(&fx);
}
static void test_roundtrip_rules_xml(void **state) { roundtrip_rules(&output_xml_ops); }
static void test_roundtrip_rules_json(void **state) { roundtrip_rules(&output_json_ops); }
static void test_roundtrip_os_json(void **state) { roundtrip_os(&output_json_ops, true); }

/* Folding: the better OS result of two shards and the longer trace win,
 * whichever shard comes first. */
static void test_fold_os(void **state) {
  for (int order = 0; order < 2; order++) {
    struct host_result a, b;
    host_result_init(&a);
    host_result_init(&b);
    struct host_result *weak = order ? &b : &a, *strong = order ? &a : &b;
    weak->os = os_result_new();
    weak->os->unreliable = true;
    weak->os->verdict = OS_RES_EXACT;
    os_result_add_match(weak->os, "weak", 100, 1);
    strong->os = os_result_new();
    strong->os->verdict = OS_RES_GUESS;
    os_result_add_match(strong->os, "strong", 90, 2);
    strong->trace = calloc(1, sizeof *strong->trace);
    strong->trace->nhops = 2;
    strong->trace->hops = calloc(2, sizeof *strong->trace->hops);
    weak->trace = calloc(1, sizeof *weak->trace);
    assert_int_equal(merge_host_fold(&a, &b), 0);
    assert_string_equal(a.os->matches[0].name, "strong");
    assert_int_equal(a.trace->nhops, 2);
    host_result_free(&a);
    host_result_free(&b);
  }
}

static void test_roundtrip_xml(void **state) { roundtrip(&output_xml_ops); }
static void test_roundtrip_json(void **state) { roundtrip(&output_json_ops); }
static void test_roundtrip_grep(void **state) { roundtrip(&output_grep_ops); }

/* the hostile host (markup, controls, invalid UTF-8 everywhere) reads back
 * and writes valid output again */
static void test_hostile(void **state) {
  const struct output_ops *ops[] = {&output_xml_ops, &output_json_ops, &output_grep_ops};
  for (size_t i = 0; i < 3; i++) {
    struct fixture fx;
    fx_build(&fx, 1);
    struct output_opts o = {.verbose = 1};
    char *a = fx_render(&fx, ops[i], &o, 4, 5);
    char *b = rewrite(a, ops[i], &o);
    char *c = rewrite(b, ops[i], &o);
    assert_string_equal(b, c); /* stable after one pass */
    free(a);
    free(b);
    free(c);
    fx_free(&fx);
  }
}

/* Moves h's ports alternately into a and b (both get h's identity),
 * halves its counted ports, gives its host scripts to a. */
static void split_host(struct host_result *h, struct host_result *a, struct host_result *b) {
  struct host_result *d[2] = {a, b};
  for (int k = 0; k < 2; k++) {
    host_result_init(d[k]);
    d[k]->addr = h->addr;
    host_set_reason(d[k], h->status, h->reason, h->reason_ttl);
    for (size_t i = 0; i < h->nnames; i++) host_add_hostname(d[k], h->names[i].name, h->names[i].type);
    if (h->has_mac) host_set_mac(d[k], h->mac, h->mac_vendor);
    d[k]->start_time = h->start_time;
    d[k]->end_time = h->end_time;
    d[k]->srtt_us = h->srtt_us, d[k]->rttvar_us = h->rttvar_us, d[k]->timeout_us = h->timeout_us;
    d[k]->distance = h->distance;
    d[k]->ports = calloc(h->nports + 1, sizeof *h->ports);
    d[k]->capports = h->nports + 1;
  }
  for (size_t i = 0; i < h->nports; i++) d[i % 2]->ports[d[i % 2]->nports++] = h->ports[i];
  h->nports = 0;
  for (size_t i = 0; i < h->nbulk; i++) {
    const struct port_bulk *x = &h->bulk[i];
    host_add_bulk(a, x->proto, x->state, x->reason, x->count / 2);
    host_add_bulk(b, x->proto, x->state, x->reason, x->count - x->count / 2);
  }
  a->hostscripts = h->hostscripts, a->nhostscripts = h->nhostscripts;
  h->hostscripts = NULL, h->nhostscripts = 0;
}

/* Reads every host of text into hosts[] (n of them). */
static size_t read_hosts(const char *text, struct host_result *hosts, size_t max) {
  FILE *in = fmemopen((void *)text, strlen(text), "r");
  struct mread r;
  assert_int_equal(mread_open(&r, in, "mem"), 0);
  size_t n = 0;
  int k;
  while ((k = mread_next(&r)) > 0)
    if (k == MREAD_HOST) {
      assert_true(n < max);
      hosts[n++] = r.host;
      host_result_init(&r.host);
    }
  if (k < 0) fail_msg("read error: %s", r.err);
  mread_close(&r);
  fclose(in);
  return n;
}

static char *render_hosts(struct fixture *fx, const struct output_ops *ops, const struct output_opts *o,
                          struct host_result *hosts, size_t n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  struct output op;
  output_init(&op, ops, f, o);
  output_begin(&op, &fx->info);
  for (size_t i = 0; i < n; i++) output_host(&op, &hosts[i]);
  output_end(&op, &fx->end);
  fclose(f);
  return buf;
}

static void split_fold(const struct output_ops *ops) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.verbose = 1, .reason = true};
  char *whole = fx_render(&fx, ops, &o, 0, 4);
  struct host_result h[8], a[8], b[8];
  size_t n = read_hosts(whole, h, 8);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) split_host(&h[i], &a[i], &b[i]);
  /* each shard written and read back, then folded */
  char *ta = render_hosts(&fx, ops, &o, a, n), *tb = render_hosts(&fx, ops, &o, b, n);
  struct host_result ra[8], rb[8];
  assert_int_equal(read_hosts(ta, ra, 8), n);
  assert_int_equal(read_hosts(tb, rb, 8), n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(merge_addr_cmp(&ra[i].addr, &rb[i].addr), 0);
    assert_int_equal(merge_host_fold(&rb[i], &ra[i]), 0); /* the other way round too */
    assert_int_equal(merge_host_dedup(&rb[i]), 0);
  }
  char *merged = render_hosts(&fx, ops, &o, rb, n);
  assert_string_equal(whole, merged);
  for (size_t i = 0; i < n; i++) {
    host_result_free(&h[i]);
    host_result_free(&a[i]);
    host_result_free(&b[i]);
    host_result_free(&ra[i]);
    host_result_free(&rb[i]);
  }
  free(whole);
  free(ta);
  free(tb);
  free(merged);
  fx_free(&fx);
}
static void test_split_fold_xml(void **state) { split_fold(&output_xml_ops); }
static void test_split_fold_json(void **state) { split_fold(&output_json_ops); }

static void test_fold_dedup(void **state) {
  struct host_result a, b;
  host_result_init(&a);
  host_result_init(&b);
  host_set_reason(&a, HOST_DOWN, "no-response", 0);
  host_set_reason(&b, HOST_UP, "syn-ack", 63);
  host_add_port(&a, PROTO_TCP, 80, PORT_OPEN, "syn-ack", 63, "http");
  host_add_port(&b, PROTO_TCP, 80, PORT_CLOSED, "reset", 63, "http"); /* a second copy */
  host_add_port(&b, PROTO_UDP, 80, PORT_OPEN, "udp-response", 63, NULL);
  host_add_port(&b, PROTO_TCP, 22, PORT_OPEN, "syn-ack", 63, "ssh");
  a.start_time = 20, a.end_time = 30;
  b.start_time = 10, b.end_time = 40;
  assert_int_equal(merge_host_fold(&a, &b), 0);
  assert_int_equal(merge_host_dedup(&a), 1);
  assert_int_equal(a.status, HOST_UP);
  assert_string_equal(a.reason, "syn-ack");
  assert_int_equal(a.nports, 3);
  assert_int_equal(a.start_time, 10);
  assert_int_equal(a.end_time, 40);
  for (size_t i = 0; i < a.nports; i++)
    if (a.ports[i].proto == PROTO_TCP && a.ports[i].portid == 80)
      assert_int_equal(a.ports[i].state, PORT_OPEN); /* the first copy kept */
  host_result_free(&a);
  host_result_free(&b);
}

static void test_args(void **state) {
  struct merge_args m;
  assert_int_equal(merge_args_parse("/usr/bin/trawl -sS --seed 0x10 --shards 3 --shard 2 -oX s2.xml "
                                    "-oGs2.gnmap -p 80 198.18.0.0/24", &m), 0);
  assert_int_equal(m.shard, 2);
  assert_int_equal(m.shards, 3);
  assert_true(m.has_seed);
  assert_int_equal(m.seed, 16);
  assert_string_equal(m.ident, "-sS --seed 0x10 --shards 3 -p 80 198.18.0.0/24");
  assert_string_equal(m.merged, "/usr/bin/trawl -sS --seed 0x10 -p 80 198.18.0.0/24");
  merge_args_free(&m);
  assert_int_equal(merge_args_parse("trawl --shards=4 --shard=1 -p 80 x", &m), 0);
  assert_int_equal(m.shard, 1);
  assert_int_equal(m.shards, 4);
  assert_false(m.has_seed);
  merge_args_free(&m);
  assert_int_equal(merge_args_parse("trawl", &m), 0);
  assert_int_equal(m.shards, 1);
  merge_args_free(&m);
  assert_int_equal(merge_args_parse("trawl --shards 3 --shard 3 x", &m), -EINVAL);
  assert_int_equal(merge_args_parse("trawl --shards 3 --shard", &m), -EINVAL);
  assert_int_equal(merge_args_parse("trawl --seed x1 y", &m), -EINVAL);
  char wa[64], wb[64];
  merge_args_diff("-sS --seed 7 -p 80", "-sS --seed 8 -p 80", wa, wb, sizeof wa);
  assert_string_equal(wa, "--seed 7");
  assert_string_equal(wb, "--seed 8");
  merge_args_diff("-sS -p 80", "-sS -p 80 -v", wa, wb, sizeof wa);
  assert_string_equal(wa, "(end)");
  assert_string_equal(wb, "-v");
}

static void test_order(void **state) {
  struct tgt_addr a, b, c;
  assert_int_equal(mread_addr("198.18.0.2", &a), 0);
  assert_int_equal(mread_addr("198.18.0.10", &b), 0);
  assert_int_equal(mread_addr("2001:db8::1", &c), 0);
  assert_true(merge_addr_cmp(&a, &b) < 0);  /* numeric, not text order */
  assert_true(merge_addr_cmp(&b, &c) < 0);  /* IPv4 before IPv6 */
  assert_true(merge_addr_cmp(&c, &a) > 0);
  assert_int_equal(merge_addr_cmp(&a, &a), 0);
  assert_int_equal(mread_addr("198.18.0.300", &a), -1);
}

/* Reads text to its end: the last record kind, or -1 (err in *msg). */
static int read_all(const char *text, size_t len, char *msg, size_t msglen, bool *in_host,
                    char *cur, size_t curlen) {
  FILE *in = fmemopen((void *)text, len, "r");
  struct mread r;
  int k = mread_open(&r, in, "t.in");
  if (k == 0)
    while ((k = mread_next(&r)) > 0) {}
  snprintf(msg, msglen, "%s", r.err);
  *in_host = r.in_host;
  snprintf(cur, curlen, "%s", r.cur_addr);
  mread_close(&r);
  fclose(in);
  return k;
}

static void test_bounds(void **state) {
  char msg[600], cur[64];
  bool ih;
  /* one attribute of 2 MiB: an error, not an allocation of its size */
  size_t big = 2u << 20;
  char *t = malloc(big + 200);
  int n = sprintf(t, "<?xml version=\"1.0\"?>\n<nmaprun args=\"");
  memset(t + n, 'a', big);
  strcpy(t + n + big, "\">");
  assert_int_equal(read_all(t, strlen(t), msg, sizeof msg, &ih, cur, sizeof cur), -1);
  assert_non_null(strstr(msg, "longer than"));
  assert_non_null(strstr(msg, "t.in: line 2"));
  /* the same as one JSON line and one grepable line */
  memcpy(t, "{\"type\":\"scan\",\"args\":\"", 23);
  memset(t + 23, 'a', big);
  strcpy(t + 23 + big, "\"}\n");
  assert_int_equal(read_all(t, strlen(t), msg, sizeof msg, &ih, cur, sizeof cur), -1);
  assert_non_null(strstr(msg, "longer than"));
  memcpy(t, "# Trawl", 7);
  assert_int_equal(read_all(t, strlen(t), msg, sizeof msg, &ih, cur, sizeof cur), -1);
  free(t);
  /* script tables nested deeper than the cap */
  char deep[8192];
  n = sprintf(deep, "<nmaprun args=\"t\"><debugging level=\"0\"/><host><address addr=\"198.18.0.1\" "
                    "addrtype=\"ipv4\"/><hostscript><script id=\"x\" output=\"\">");
  for (int i = 0; i < MREAD_MAX_NEST + 2; i++) n += sprintf(deep + n, "<table>");
  assert_int_equal(read_all(deep, (size_t)n, msg, sizeof msg, &ih, cur, sizeof cur), -1);
  assert_non_null(strstr(msg, "nested deeper"));
  /* not a trawl output */
  assert_int_equal(read_all("GIF89a", 6, msg, sizeof msg, &ih, cur, sizeof cur), -1);
  assert_non_null(strstr(msg, "not a trawl output"));
}

static void test_truncated(void **state) {
  struct fixture fx;
  fx_build(&fx, 0);
  struct output_opts o = {.verbose = 1};
  const struct output_ops *ops[] = {&output_xml_ops, &output_json_ops};
  for (size_t i = 0; i < 2; i++) {
    char *s = fx_render(&fx, ops[i], &o, 0, 4);
    /* cut in the middle of the second host's record, after its address */
    const char *at = strstr(s, "198.18.0.2");
    assert_non_null(at);
    char msg[600], cur[64];
    bool ih;
    assert_int_equal(read_all(s, (size_t)(at - s) + 40, msg, sizeof msg, &ih, cur, sizeof cur), MREAD_EOF);
    assert_true(ih);
    assert_string_equal(cur, "198.18.0.2");
    free(s);
  }
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_xml),  cmocka_unit_test(test_roundtrip_json),
      cmocka_unit_test(test_roundtrip_grep), cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_split_fold_xml), cmocka_unit_test(test_split_fold_json),
      cmocka_unit_test(test_fold_dedup),     cmocka_unit_test(test_args),
      cmocka_unit_test(test_order),          cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_truncated),      cmocka_unit_test(test_roundtrip_os_xml),
      cmocka_unit_test(test_roundtrip_os_json), cmocka_unit_test(test_fold_os),
      cmocka_unit_test(test_roundtrip_rules_xml), cmocka_unit_test(test_roundtrip_rules_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
