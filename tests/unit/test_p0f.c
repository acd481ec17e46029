/* test_p0f.c: the p0f.fp parser (src/db/p0f.c) and SYN+ACK labelling
 * (src/os/p0f-match.c) on tests/fixtures/p0f-test.fp, written for these
 * tests, with packets built by libtrawl's builders; and the real
 * /etc/p0f/p0f.fp when it is installed. */
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
#include <trawl/error.h>
#include <trawl/packet.h>

#include "helper_warns.h"
#include "db/p0f.h"
#include "os/p0f-match.h"

#define FIXTURE TW_SRCDIR "/tests/fixtures/p0f-test.fp"

static struct p0f_db *load_fixture(struct warns *w) {
  struct p0f_db *db;
  char err[256] = "";
  memset(w, 0, sizeof *w);
  if (p0f_load(&db, FIXTURE, warns_collect, w, err, sizeof err) != 0) fail_msg("%s", err);
  return db;
}

static const struct p0f_sig *sig_at_line(const struct p0f_db *db, unsigned line) {
  for (size_t i = 0; i < p0f_sig_count(db); i++)
    if (p0f_sig(db, i)->line == line) return p0f_sig(db, i);
  fail_msg("no signature from line %u", line);
  return NULL;
}

static void test_parse(void **state) {
  struct warns w;
  struct p0f_db *db = load_fixture(&w);
  /* request 1, response 7 (Alpha 2, Beta 2, Gamma 1, Delta 1, Epsilon 1) */
  assert_int_equal(p0f_sig_count(db), 8);
  size_t resp = 0;
  for (size_t i = 0; i < p0f_sig_count(db); i++) resp += p0f_sig(db, i)->response;
  assert_int_equal(resp, 7);

  const struct p0f_sig *s = sig_at_line(db, 17); /* Alpha, mss*10 */
  const struct p0f_label *l = p0f_label(db, s->label);
  assert_string_equal(l->name, "Alpha");
  assert_string_equal(l->flavor, "1.x");
  assert_string_equal(l->cls, "unix");
  assert_false(l->generic);
  assert_int_equal(s->ver, 0);
  assert_int_equal(s->ittl, 64);
  assert_int_equal(s->mss, -1);
  assert_int_equal(s->wtype, P0F_W_MSS);
  assert_int_equal(s->wval, 10);
  assert_int_equal(s->wscale, 7);
  static const uint8_t lay[] = {2, 4, 8, 1, 3};
  assert_int_equal(s->nopt, 5);
  assert_memory_equal(s->opt, lay, 5);
  assert_int_equal(s->quirks, P0F_QBIT(DF) | P0F_QBIT(ID_NZ));
  assert_int_equal(s->pclass, 0);

  s = sig_at_line(db, 18); /* %8192, scale *, fixed MSS, v4 */
  assert_int_equal(s->ver, 4);
  assert_int_equal(s->mss, 1460);
  assert_int_equal(s->wtype, P0F_W_MOD);
  assert_int_equal(s->wval, 8192);
  assert_int_equal(s->wscale, -1);
  s = sig_at_line(db, 21); /* mtu*4, pclass * */
  assert_int_equal(s->wtype, P0F_W_MTU);
  assert_int_equal(s->pclass, -1);
  s = sig_at_line(db, 23); /* generic, eol+3, no quirks, pclass + */
  assert_true(p0f_label(db, s->label)->generic);
  assert_string_equal(p0f_label(db, s->label)->flavor, "");
  assert_int_equal(s->wtype, P0F_W_ANY);
  assert_int_equal(s->nopt, 4);
  assert_int_equal(s->opt[3], 0);
  assert_int_equal(s->eol_pad, 3);
  assert_int_equal(s->quirks, 0);
  assert_int_equal(s->pclass, 1);
  s = sig_at_line(db, 26); /* 255-, ?42, quirks */
  l = p0f_label(db, s->label);
  assert_string_equal(l->cls, "!");
  assert_string_equal(l->sys, "@unix,@win");
  assert_int_equal(s->ittl, 255);
  assert_true(s->bad_ttl);
  assert_int_equal(s->opt[1], 42);
  assert_int_equal(s->quirks, P0F_QBIT(ACK_NZ) | P0F_QBIT(PUSH) | P0F_QBIT(SEQ_ZERO));
  s = sig_at_line(db, 42); /* 64+3 */
  assert_int_equal(s->ittl, 67);
  assert_false(s->bad_ttl);

  char buf[256];
  p0f_sig_format(sig_at_line(db, 26), buf, sizeof buf);
  assert_string_equal(buf, "*:255-:0:1400:1024,0:mss,?42:seq-,ack+,pushf+:0");
  p0f_sig_format(sig_at_line(db, 23), buf, sizeof buf);
  assert_string_equal(buf, "*:64:0:*:*,*:mss,nop,ws,eol+3::+");
  p0f_free(db);
}

static void test_malformed(void **state) {
  static const unsigned lines[] = {5, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40};
  struct warns w;
  struct p0f_db *db = load_fixture(&w);
  size_t n = sizeof lines / sizeof lines[0];
  assert_int_equal(w.n, n);
  assert_int_equal(p0f_warnings(db), n);
  for (size_t i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, "p0f-test.fp:%u: ", lines[i]);
    if (strstr(w.msg[i], want) == NULL)
      fail_msg("warning %zu is '%s', want line %u", i, w.msg[i], lines[i]);
  }
  assert_non_null(strstr(w.msg[1], "bad IP version"));
  assert_non_null(strstr(w.msg[3], "window without ',scale'"));
  assert_non_null(strstr(w.msg[6], "option after eol"));
  assert_non_null(strstr(w.msg[7], "unknown quirk"));
  assert_non_null(strstr(w.msg[10], "sig without a valid label"));
  assert_non_null(strstr(w.msg[11], "class 'beos' not declared"));
  p0f_free(db);

  char err[256];
  assert_int_equal(p0f_load(&db, "/nonexistent/p0f.fp", NULL, NULL, err, sizeof err), -ENOENT);
  assert_null(db);
  assert_non_null(strstr(err, "/nonexistent/p0f.fp"));
  assert_non_null(strstr(err, "Debian's p0f package"));
  const char *none = "classes = unix\n[tcp:response]\nlabel = s:unix:X:1\n";
  assert_int_equal(p0f_load_mem(&db, "none", none, strlen(none), NULL, NULL, err, sizeof err),
                   TW_EMALFORMED);
  assert_non_null(strstr(err, "no TCP signatures"));
}

/* ---- packets ----------------------------------------------------------- */

struct synack {
  int v6;
  uint8_t ttl, df, tos;
  uint16_t id, win, flags;
  uint32_t seq, ack, flow;
  const uint8_t *opt; /* raw options, or NULL to lay out o */
  uint8_t optlen;
  tw_pkt_tcp_opts o;
  size_t paylen;
};

/* Builds the packet, parses it and takes the observation. */
static void observe(const struct synack *sa, struct p0f_obs *obs, int expect_err) {
  uint8_t pkt[256], opts[40], payload[64] = {1, 2, 3};
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  if (sa->v6) {
    assert_int_equal(tw_pkt_addr_parse(&ip.src, "2001:db8::1"), 0);
    assert_int_equal(tw_pkt_addr_parse(&ip.dst, "2001:db8::2"), 0);
  } else {
    assert_int_equal(tw_pkt_addr_parse(&ip.src, "198.18.0.1"), 0);
    assert_int_equal(tw_pkt_addr_parse(&ip.dst, "198.18.0.2"), 0);
  }
  ip.ttl = sa->ttl;
  ip.df = sa->df;
  ip.id = sa->id;
  ip.tos = sa->tos;
  ip.flow = sa->flow;
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.sport = 80;
  t.dport = 40000;
  t.seq = sa->seq;
  t.ack = sa->ack;
  t.flags = sa->flags ? sa->flags : TW_TCP_SYN | TW_TCP_ACK;
  t.win = sa->win;
  if (sa->opt) {
    t.opt = sa->opt;
    t.optlen = sa->optlen;
  } else {
    int n = tw_pkt_tcp_opts_build(opts, sizeof opts, &sa->o);
    assert_true(n >= 0);
    t.opt = opts;
    t.optlen = (uint8_t)n;
  }
  int len = tw_pkt_build_tcp(pkt, sizeof pkt, &ip, &t, payload, sa->paylen);
  assert_true(len > 0);
  tw_pkt p;
  int r = tw_pkt_parse(pkt, (size_t)len, TW_LINK_RAW, &p);
  assert_int_equal(r, expect_err ? TW_EMALFORMED : 0);
  assert_int_equal(p0f_obs_from_pkt(&p, obs), 0);
}

/* A Linux-like SYN+ACK: MSS 1460, SACK permitted, timestamps, WS 7. */
static struct synack linuxish(void) {
  struct synack sa;
  memset(&sa, 0, sizeof sa);
  sa.ttl = 60;
  sa.df = 1;
  sa.id = 1234;
  sa.win = 14600;
  sa.seq = 1000;
  sa.ack = 2000;
  sa.o.present = TW_TCPOPT_F_MSS | TW_TCPOPT_F_SACKOK | TW_TCPOPT_F_TS | TW_TCPOPT_F_WS;
  sa.o.mss = 1460;
  sa.o.wscale = 7;
  sa.o.tsval = 5555;
  sa.o.tsecr = 7777;
  return sa;
}

static void expect(const struct p0f_db *db, const struct p0f_obs *o, int response,
                   const char *label, int ittl, int dist) {
  struct p0f_result r;
  char buf[128], raw[128];
  p0f_match(db, o, response, &r);
  p0f_result_format(db, &r, buf, sizeof buf);
  p0f_obs_format(o, raw, sizeof raw);
  if (strcmp(buf, label) != 0) fail_msg("%s: got '%s', want '%s'", raw, buf, label);
  assert_int_equal(r.ittl, ittl);
  assert_int_equal(r.dist, dist);
}

static void test_match(void **state) {
  struct warns w;
  struct p0f_db *db = load_fixture(&w);
  struct p0f_obs o;
  char raw[128];

  struct synack sa = linuxish();
  observe(&sa, &o, 0);
  p0f_obs_format(&o, raw, sizeof raw);
  assert_string_equal(raw, "4:64:0:1460:mss*10,7:mss,sok,ts,nop,ws:df,id+:0");
  expect(db, &o, 1, "Alpha 1.x", 64, 4);
  expect(db, &o, 0, "unknown", 64, 4); /* not a request signature */
  sa.win = 1448 * 10; /* timestamps take 12 bytes of the MSS */
  observe(&sa, &o, 0);
  expect(db, &o, 1, "Alpha 1.x", 64, 4);
  sa.win = 1447 * 10;
  observe(&sa, &o, 0);
  expect(db, &o, 1, "unknown", 64, 4);

  sa = linuxish(); /* id+ disappeared (a middlebox zeroed the ID) */
  sa.id = 0;
  observe(&sa, &o, 0);
  expect(db, &o, 1, "Alpha 1.x (fuzzy)", 64, 4);
  sa = linuxish(); /* ecn appeared, or DF (and so id+) gone: still fuzzy */
  sa.tos = 2;
  observe(&sa, &o, 0);
  expect(db, &o, 1, "Alpha 1.x (fuzzy)", 64, 4);
  sa = linuxish();
  sa.df = 0;
  observe(&sa, &o, 0);
  assert_int_equal(o.quirks, 0);
  expect(db, &o, 1, "Alpha 1.x (fuzzy)", 64, 4);
  sa = linuxish(); /* urgf+ appeared: not a middlebox's doing, no match */
  sa.flags = TW_TCP_SYN | TW_TCP_ACK | TW_TCP_URG;
  observe(&sa, &o, 0);
  expect(db, &o, 1, "unknown", 64, 4);
  sa = linuxish(); /* too far: the TTL no longer fits exactly */
  sa.ttl = 20;
  observe(&sa, &o, 0);
  expect(db, &o, 1, "Alpha 1.x (fuzzy)", 64, 44);

  sa = linuxish(); /* the same over IPv6: df and id+ do not apply */
  sa.v6 = 1;
  observe(&sa, &o, 0);
  assert_int_equal(o.ver, 6);
  expect(db, &o, 1, "Alpha 1.x", 64, 4);
  sa.flow = 0x12345; /* flow appears: not allowed even fuzzily */
  observe(&sa, &o, 0);
  assert_true(o.quirks & P0F_QBIT(FLOW));
  expect(db, &o, 1, "unknown", 64, 4);

  /* Beta: explicit layout mss,nop,ws,nop,nop,sok */
  memset(&sa, 0, sizeof sa);
  sa.ttl = 128;
  sa.df = 1;
  sa.id = 99;
  sa.win = 8192;
  sa.seq = 1;
  sa.ack = 1;
  sa.o.present = TW_TCPOPT_F_MSS | TW_TCPOPT_F_WS | TW_TCPOPT_F_SACKOK;
  sa.o.mss = 1460;
  sa.o.wscale = 8;
  static const uint8_t beta[] = {2, 1, 3, 1, 1, 4};
  sa.o.nkinds = sizeof beta;
  memcpy(sa.o.kinds, beta, sizeof beta);
  observe(&sa, &o, 0);
  expect(db, &o, 1, "Beta 7", 128, 0);
  /* Beta, mtu*4 with a payload (pclass *) */
  memset(&sa.o, 0, sizeof sa.o);
  sa.o.present = TW_TCPOPT_F_MSS;
  sa.o.mss = 1460;
  sa.win = 1500 * 4;
  sa.ttl = 120;
  sa.paylen = 3;
  observe(&sa, &o, 0);
  expect(db, &o, 1, "Beta 7", 128, 8);
  sa.win = 1500 * 4 + 1;
  observe(&sa, &o, 0);
  expect(db, &o, 1, "unknown", 128, 8);

  /* Gamma (generic): mss,nop,ws,eol + 3 bytes of padding, a payload */
  static const uint8_t gamma[] = {2, 4, 5, 0xb4, 1, 3, 3, 2, 0, 0, 0, 0};
  memset(&sa, 0, sizeof sa);
  sa.ttl = 50;
  sa.id = 7;
  sa.win = 4321;
  sa.seq = 5;
  sa.ack = 6;
  sa.opt = gamma;
  sa.optlen = sizeof gamma;
  sa.paylen = 2;
  observe(&sa, &o, 0);
  assert_int_equal(o.eol_pad, 3);
  expect(db, &o, 1, "generic Gamma", 64, 14);
  /* opt+: non-zero bytes after the EOL */
  static const uint8_t gamma2[] = {2, 4, 5, 0xb4, 1, 3, 3, 2, 0, 0, 9, 0};
  sa.opt = gamma2;
  observe(&sa, &o, 0);
  assert_true(o.quirks & P0F_QBIT(OPT_NZ));
  expect(db, &o, 1, "unknown", 64, 14);

  /* Delta: random TTLs up to 255, an unknown option, odd flags */
  static const uint8_t delta[] = {2, 4, 5, 0x78, 42, 2, 0, 0};
  memset(&sa, 0, sizeof sa);
  sa.ttl = 200;
  sa.id = 1;
  sa.win = 1024;
  sa.seq = 0;
  sa.ack = 77;
  sa.flags = TW_TCP_SYN | TW_TCP_PSH;
  sa.opt = delta;
  sa.optlen = sizeof delta;
  observe(&sa, &o, 0);
  p0f_obs_format(&o, raw, sizeof raw);
  assert_string_equal(raw, "4:255:0:1400:1024,0:mss,?42,eol+1:seq-,ack+,pushf+:0");
  /* the EOL padding the builder added is part of the layout: no match */
  expect(db, &o, 1, "unknown", 255, 55);
  static const uint8_t delta2[] = {2, 4, 5, 0x78, 1, 1, 42, 2};
  sa.opt = delta2; /* exactly 8 bytes, no EOL: mss,nop,nop,?42 */
  observe(&sa, &o, 0);
  expect(db, &o, 1, "unknown", 255, 55);
  static const uint8_t delta3[] = {2, 4, 5, 0x78, 42, 4, 0, 0};
  sa.opt = delta3; /* kind 42 with 2 data bytes: mss,?42 */
  observe(&sa, &o, 0);
  expect(db, &o, 1, "Delta tool scan", 255, 55);

  /* malformed options: the bad quirk, the options before kept */
  static const uint8_t bad[] = {2, 4, 5, 0xb4, 3, 1, 0, 0};
  sa = linuxish();
  sa.opt = bad;
  sa.optlen = sizeof bad;
  observe(&sa, &o, 1);
  assert_true(o.quirks & P0F_QBIT(BAD));
  assert_int_equal(o.nopt, 1);
  expect(db, &o, 1, "unknown", 64, 4);

  /* a SYN against the request section */
  sa = linuxish();
  sa.flags = TW_TCP_SYN;
  sa.ack = 0;
  sa.o.tsecr = 0;
  sa.win = 1460 * 20;
  observe(&sa, &o, 0);
  expect(db, &o, 0, "TestReq 1", 64, 4);
  sa.o.tsecr = 1; /* ts2+ on a SYN */
  observe(&sa, &o, 0);
  assert_true(o.quirks & P0F_QBIT(TS2_NZ));
  expect(db, &o, 0, "unknown", 64, 4);

  /* no TCP layer */
  tw_pkt p;
  memset(&p, 0, sizeof p);
  assert_int_equal(p0f_obs_from_pkt(&p, &o), -EINVAL);
  p0f_free(db);
}

static void test_ittl(void **state) {
  assert_int_equal(p0f_guess_ittl(1), 32);
  assert_int_equal(p0f_guess_ittl(32), 32);
  assert_int_equal(p0f_guess_ittl(33), 64);
  assert_int_equal(p0f_guess_ittl(64), 64);
  assert_int_equal(p0f_guess_ittl(65), 128);
  assert_int_equal(p0f_guess_ittl(128), 128);
  assert_int_equal(p0f_guess_ittl(129), 255);
  assert_int_equal(p0f_guess_ittl(255), 255);
}

static void test_real_file(void **state) {
  if (access(P0F_SYSTEM_PATH, R_OK) != 0) {
    print_message("skipped: %s not installed\n", P0F_SYSTEM_PATH);
    skip();
  }
  struct p0f_db *db;
  struct warns w = {0};
  char err[256];
  if (p0f_load_default(&db, NULL, warns_collect, &w, err, sizeof err) != 0) fail_msg("%s", err);
  for (int i = 0; i < w.n && i < 5; i++) print_message("  %s\n", w.msg[i]);
  assert_int_equal(w.n, 0);
  size_t resp = 0, n = p0f_sig_count(db);
  for (size_t i = 0; i < n; i++) resp += p0f_sig(db, i)->response;
  print_message("%zu TCP signatures (%zu SYN+ACK), %zu labels\n", n, resp, p0f_label_count(db));
  assert_true(resp >= 50);
  assert_true(n - resp >= 50);
  /* every signature survives format and parse unchanged */
  size_t cap = n * 128 + 256, o = 0;
  char *text = malloc(cap);
  assert_non_null(text);
  o += (size_t)snprintf(text, cap, "classes = win,unix,other\n[tcp:response]\n");
  for (size_t i = 0; i < n; i++) {
    char sig[128];
    p0f_sig_format(p0f_sig(db, i), sig, sizeof sig);
    o += (size_t)snprintf(text + o, cap - o, "label = s:unix:L%zu:x\nsig = %s\n", i, sig);
  }
  struct p0f_db *back;
  if (p0f_load_mem(&back, "round-trip", text, o, warns_collect, &w, err, sizeof err) != 0)
    fail_msg("%s", err);
  assert_int_equal(w.n, 0);
  assert_int_equal(p0f_sig_count(back), n);
  for (size_t i = 0; i < n; i++) {
    struct p0f_sig a = *p0f_sig(db, i), b = *p0f_sig(back, i);
    a.label = b.label = 0;
    a.line = b.line = 0;
    a.response = b.response = 0;
    assert_memory_equal(&a, &b, sizeof a);
  }
  free(text);
  p0f_free(back);
  p0f_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse), cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_match), cmocka_unit_test(test_ittl),
      cmocka_unit_test(test_real_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
