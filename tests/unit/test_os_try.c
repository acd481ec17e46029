/* test_os_try.c: one OS detection try (src/os/os-try.c) and the report made
 * from it (src/os/os-report.c), with replies built here for the probes of
 * os/os-probe.h: which probe each reply answers, what is dropped, the
 * fingerprint those replies give (distance from the U1 quote, R=N for the
 * unanswered, no open-port tests when there is no open port), and the
 * report's verdict, classes with their own CPEs, and submission lines,
 * against a small database written for the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/packet.h>

#include "core/os-result.h"
#include "db/os-db.h"
#include "os/match.h"
#include "os/os-perport.h"
#include "os/os-report.h"
#include "os/os-try.h"

#define MS 1000000ull

static struct os_probe_params params(void) {
  struct os_probe_params pp;
  memset(&pp, 0, sizeof pp);
  tw_pkt_addr_parse(&pp.src, "198.18.10.2");
  tw_pkt_addr_parse(&pp.dst, "198.18.30.10");
  pp.open_port = 22;
  pp.closed_port = 21;
  pp.closed_uport = 9;
  pp.sport_base = 40000;
  pp.seq_base = 0x10000000;
  pp.ack = 0x20000000;
  pp.ipid_base = 100;
  pp.icmp_id = 777;
  pp.ttl = 64;
  return pp;
}

/* The target's side: TTL 62 (two routers on the way), DF, IP IDs from 0. */
struct target {
  uint16_t ipid;
  uint8_t ttl;
};

/* The IP header of the target's next reply to t. */
static tw_pkt_ipspec reply_ip(struct target *tg, const struct os_try *t, int df) {
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src = t->pp.dst;
  ip.dst = t->pp.src;
  ip.ttl = tg->ttl;
  ip.df = (uint8_t)df;
  ip.id = tg->ipid++;
  return ip;
}

static int tcp_reply(struct target *tg, const struct os_try *t, int id, uint16_t flags,
                     uint32_t seq, uint32_t ack, uint8_t *buf, size_t cap) {
  tw_pkt_ipspec ip = reply_ip(tg, t, 1);
  tw_pkt_tcp h;
  memset(&h, 0, sizeof h);
  h.sport = t->sent[id].dport;
  h.dport = t->sent[id].sport;
  h.seq = seq;
  h.ack = ack;
  h.flags = flags;
  h.win = flags & TW_TCP_SYN ? 29200 : 0;
  static const uint8_t mss[] = {2, 4, 0x05, 0xb4};
  if (flags & TW_TCP_SYN) {
    h.opt = mss;
    h.optlen = sizeof mss;
  }
  return tw_pkt_build_tcp(buf, cap, &ip, &h, NULL, 0);
}

static int echo_reply(struct target *tg, const struct os_try *t, int id, uint8_t *buf, size_t cap) {
  tw_pkt_ipspec ip = reply_ip(tg, t, 0);
  tw_pkt_icmp ic;
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP_ECHOREPLY;
  ic.code = t->sent[id].icmp_code;
  ic.id = t->sent[id].icmp_id;
  ic.seq = t->sent[id].icmp_seq;
  uint8_t data[150] = {0};
  return tw_pkt_build_icmp(buf, cap, &ip, &ic, NULL, data, id == OS_P_IE1 ? 120 : 150);
}

/* A port unreachable quoting the U1 probe as it arrived (TTL lowered by the
 * routers, checksum fixed up). */
static int u1_reply(struct target *tg, const struct os_try *t, uint8_t *buf, size_t cap) {
  uint8_t probe[OS_PROBE_MAX];
  struct os_try copy = *t;
  int n = os_probe_build(&copy.pp, OS_P_U1, probe, sizeof probe, NULL);
  assert_true(n > 0);
  probe[8] = (uint8_t)(t->pp.ttl - (64 - tg->ttl));
  assert_int_equal(tw_pkt_ip_finish(probe, (size_t)n), 0);
  tw_pkt_ipspec ip = reply_ip(tg, t, 0);
  tw_pkt_icmp ic;
  memset(&ic, 0, sizeof ic);
  ic.type = TW_ICMP_UNREACH;
  ic.code = 3;
  return tw_pkt_build_icmp(buf, cap, &ip, &ic, NULL, probe, (size_t)n);
}

/* Sends every probe as the stage does (SEQ 100 ms apart) and answers like a
 * Linux stack with an open and a closed port: no answer to T2 and T3. */
static void run_try(struct os_try *t, int open) {
  struct os_probe_params pp = params();
  os_try_init(t, &pp);
  uint8_t buf[OS_PROBE_MAX];
  struct target tg = {0, 62};
  uint64_t now = 1000 * MS;
  if (open)
    for (int k = 0; k < 6; k++) {
      assert_true(os_try_send(t, (enum os_probe_id)(OS_P_SEQ1 + k), now, buf, sizeof buf) > 0);
      int n = tcp_reply(&tg, t, OS_P_SEQ1 + k, TW_TCP_SYN | TW_TCP_ACK,
                        0x40000000u + (uint32_t)k * 25000u, t->sent[OS_P_SEQ1 + k].seq + 1, buf,
                        sizeof buf);
      assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now + MS), OS_P_SEQ1 + k);
      now += 100 * MS;
    }
  for (int id = open ? OS_P_ECN : OS_P_T5; id < OS_NPROBES; id++)
    assert_true(os_try_send(t, (enum os_probe_id)id, now, buf, sizeof buf) > 0);
  int n;
  if (open) {
    n = tcp_reply(&tg, t, OS_P_ECN, TW_TCP_SYN | TW_TCP_ACK | TW_TCP_ECE, 0x5000, t->sent[OS_P_ECN].seq + 1, buf, sizeof buf);
    assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now), OS_P_ECN);
    n = tcp_reply(&tg, t, OS_P_T4, TW_TCP_RST, t->sent[OS_P_T4].ack, 0, buf, sizeof buf);
    assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now), OS_P_T4);
  }
  n = tcp_reply(&tg, t, OS_P_T5, TW_TCP_RST | TW_TCP_ACK, 0, t->sent[OS_P_T5].seq + 1, buf, sizeof buf);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now), OS_P_T5);
  n = tcp_reply(&tg, t, OS_P_T6, TW_TCP_RST, t->sent[OS_P_T6].ack, 0, buf, sizeof buf);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now), OS_P_T6);
  n = tcp_reply(&tg, t, OS_P_T7, TW_TCP_RST | TW_TCP_ACK, 0, t->sent[OS_P_T7].seq + 1, buf, sizeof buf);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now), OS_P_T7);
  n = u1_reply(&tg, t, buf, sizeof buf);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now), OS_P_U1);
  for (int id = OS_P_IE1; id <= OS_P_IE2; id++) {
    n = echo_reply(&tg, t, id, buf, sizeof buf);
    assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, now), id);
  }
}

static void test_try_replies(void **state) {
  struct os_try *t = malloc(sizeof *t);
  run_try(t, 1);
  assert_int_equal(t->nreplies, 14);
  assert_int_equal(os_try_unanswered(t), (1u << OS_P_T2) | (1u << OS_P_T3));
  assert_int_equal(os_try_max_rtt(t), MS);
  uint8_t buf[OS_PROBE_MAX];
  struct target tg = {500, 62};
  uint32_t dropped = t->dropped;
  /* a second answer to SEQ1 */
  int n = tcp_reply(&tg, t, OS_P_SEQ1, TW_TCP_SYN | TW_TCP_ACK, 1, 1, buf, sizeof buf);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, 0), -1);
  /* T2's port, but from another source port than T2 went to */
  n = tcp_reply(&tg, t, OS_P_T2, TW_TCP_RST, 0, 0, buf, sizeof buf);
  buf[20] ^= 0x01;
  assert_int_equal(tw_pkt_ip_finish(buf, (size_t)n), 0);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, 0), -1);
  /* from another host */
  n = tcp_reply(&tg, t, OS_P_T2, TW_TCP_RST, 0, 0, buf, sizeof buf);
  buf[15] ^= 0x01;
  assert_int_equal(tw_pkt_ip_finish(buf, (size_t)n), 0);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, 0), -1);
  /* cut short, and garbage */
  n = tcp_reply(&tg, t, OS_P_T2, TW_TCP_RST, 0, 0, buf, sizeof buf);
  assert_int_equal(os_try_input(t, buf, 30, TW_LINK_RAW, 0), -1);
  memset(buf, 0x45, sizeof buf);
  assert_int_equal(os_try_input(t, buf, sizeof buf, TW_LINK_RAW, 0), -1);
  assert_int_equal(os_try_input(t, buf, 0, TW_LINK_RAW, 0), -1);
  assert_int_equal(t->dropped, dropped + 6);
  /* a late answer to T2, which was sent, is taken */
  n = tcp_reply(&tg, t, OS_P_T2, TW_TCP_RST, 0, 0, buf, sizeof buf);
  assert_int_equal(os_try_input(t, buf, (size_t)n, TW_LINK_RAW, 0), OS_P_T2);
  free(t);
}

static void expect(const struct os_fp *fp, enum osdb_test t, const char *attr, const char *want) {
  const char *got = os_fp_get(fp, t, attr);
  if (!got || strcmp(got, want) != 0)
    fail_msg("%s.%s: got %s, want %s", osdb_test_name(t), attr, got ? got : "(none)", want);
}

static void test_try_fingerprint(void **state) {
  struct os_try *t = malloc(sizeof *t);
  struct os_fp *fp = malloc(sizeof *fp);
  run_try(t, 1);
  int hops;
  struct os_seq_in seq;
  os_try_fingerprint(t, -1, fp, &hops, &seq);
  assert_int_equal(hops, 2); /* 64 sent, 62 quoted */
  expect(fp, OSDB_T1, "R", "Y");
  expect(fp, OSDB_T1, "T", "40"); /* 62 + 2 */
  expect(fp, OSDB_T1, "A", "S+");
  expect(fp, OSDB_T1, "F", "AS");
  expect(fp, OSDB_T2, "R", "N");
  expect(fp, OSDB_T3, "R", "N");
  expect(fp, OSDB_T4, "F", "R");
  expect(fp, OSDB_T5, "S", "Z");
  expect(fp, OSDB_T5, "A", "S+");
  expect(fp, OSDB_T5, "F", "AR");
  expect(fp, OSDB_ECN, "CC", "Y");
  expect(fp, OSDB_OPS, "O1", "M5B4");
  expect(fp, OSDB_WIN, "W1", "7210");
  expect(fp, OSDB_U1, "RID", "G");
  expect(fp, OSDB_U1, "RUD", "G");
  expect(fp, OSDB_IE, "R", "Y");
  expect(fp, OSDB_SEQ, "GCD", "61A8"); /* 25000 */
  expect(fp, OSDB_SEQ, "TI", "I");     /* IDs 0, 1, 2 ... */
  expect(fp, OSDB_SEQ, "TS", "U");
  assert_int_equal(seq.syn[5].isn, 0x40000000u + 5 * 25000u);
  /* a known distance wins over the quote */
  os_try_fingerprint(t, 0, fp, &hops, NULL);
  assert_int_equal(hops, 0);
  expect(fp, OSDB_T1, "T", "3E"); /* the reply's own TTL, nothing added */
  /* no open port: no probe to it, and no test of it */
  run_try(t, 0);
  assert_int_equal(t->nsent[OS_P_SEQ1], 0);
  os_try_fingerprint(t, -1, fp, &hops, NULL);
  for (int k = OSDB_OPS; k <= OSDB_T4; k++)
    if (fp->tests & (1u << k)) fail_msg("test %s present without an open port", osdb_test_name((enum osdb_test)k));
  expect(fp, OSDB_T5, "R", "Y");
  expect(fp, OSDB_SEQ, "CI", "I");
  free(fp);
  free(t);
}

/* Entry A has the observed T5-T7 and IE; B also wants T2 to answer; C has
 * two classes, each followed by its own CPE. */
static const char db_text[] =
    "MatchPoints\n"
    "T2(R=80%DF=20%T=15%TG=15%W=25%S=20%A=20%F=30%O=10%RD=20%Q=20)\n"
    "T5(R=100%DF=20%T=15%TG=15%W=25%S=20%A=20%F=30%O=10%RD=20%Q=20)\n"
    "IE(R=50%DFI=40%T=15%TG=15%CD=100)\n"
    "\n"
    "Fingerprint Stack A\n"
    "Class VendorA | FamA | 1.X | general purpose\n"
    "CPE cpe:/o:vendora:fama:1 auto\n"
    "T5(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
    "IE(R=Y%DFI=N%T=3B-45%TG=40%CD=S)\n"
    "\n"
    "Fingerprint Stack B\n"
    "Class VendorB | FamB | 2.X | router\n"
    "T2(R=Y%DF=Y%T=40%W=0%S=Z%A=S%F=AR%O=%RD=0%Q=)\n"
    "T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
    "\n"
    "Fingerprint Stack C\n"
    "Class VendorC | FamC | 3.X | switch\n"
    "CPE cpe:/o:vendorc:famc:3\n"
    "Class VendorD | embedded || switch\n"
    "CPE cpe:/h:vendord:box\n"
    "T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)\n"
    "IE(R=Y%DFI=Y%T=40%CD=S)\n";

static void test_report(void **state) {
  struct osdb *db;
  char err[256];
  assert_int_equal(osdb_load_mem(&db, "test-db", db_text, sizeof db_text - 1, NULL, NULL, err, sizeof err), 0);
  struct os_try *t = malloc(sizeof *t);
  struct os_fp *fp = malloc(sizeof *fp);
  run_try(t, 1);
  int hops;
  struct os_seq_in seq;
  os_try_fingerprint(t, -1, fp, &hops, &seq);
  struct os_match_result res;
  assert_int_equal(os_match_all(db, fp, &res), 0);
  assert_true(os_report_score(&res) == 1000000);
  struct os_report_ctx c = {db, 0, 0, hops, 'I', {true, 22}, {true, 21}, {true, 9},
                            1764900000, "x86_64-pc-linux-gnu", &seq, 0, 0, {0}};
  struct os_result *r = os_result_new();
  assert_int_equal(os_report_fill(r, &c, fp, &res), 0);
  assert_int_equal(r->verdict, OS_RES_EXACT);
  assert_int_equal(r->nmatches, 1);
  assert_string_equal(r->matches[0].name, "Stack A");
  assert_int_equal(r->matches[0].accuracy, 100);
  assert_null(r->fingerprint); /* an exact match: nothing to submit */
  assert_string_equal(r->ipid_class, "Incremental");
  assert_non_null(r->seq_values);
  os_result_free(r);
  os_match_result_free(&res);

  /* drop A: B and C are guesses only (B fails T2, C fails IE.DFI) */
  const char *cut = strstr(db_text, "Fingerprint Stack B");
  char *text = malloc(sizeof db_text);
  size_t head = (size_t)(strstr(db_text, "Fingerprint Stack A") - db_text);
  memcpy(text, db_text, head);
  strcpy(text + head, cut);
  osdb_free(db);
  assert_int_equal(osdb_load_mem(&db, "test-db2", text, strlen(text), NULL, NULL, err, sizeof err), 0);
  c.db = db;
  assert_int_equal(os_match_all(db, fp, &res), 0);
  assert_int_equal(res.nexact, 0);
  assert_true(res.n >= 1);
  r = os_result_new();
  assert_int_equal(os_report_fill(r, &c, fp, &res), 0);
  assert_int_equal(r->verdict, OS_RES_NONE); /* fit, no --osscan-guess */
  assert_int_equal(r->nmatches, 0);
  assert_non_null(r->fingerprint);
  /* the submission: "OS:" lines of at most 74 characters, the SCAN line
   * first, and the tests read back as computed */
  char *joined = calloc(1, strlen(r->fingerprint) + 1);
  size_t jl = 0;
  for (char *line = r->fingerprint; line && *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    assert_true(len <= 74);
    assert_memory_equal(line, "OS:", 3);
    memcpy(joined + jl, line + 3, len - 3);
    jl += len - 3;
    line = nl ? nl + 1 : NULL;
  }
  assert_memory_equal(joined, "SCAN(V=", 7);
  assert_non_null(strstr(joined, "%OT=22%CT=21%CU=9%PV=N%DS=3%DC=I%G=Y%"));
  struct os_fp back;
  assert_int_equal(os_fp_parse(&back, r->fingerprint, strlen(r->fingerprint), err, sizeof err), 0);
  for (unsigned k = 0; k < OSDB_NKEYS; k++) {
    assert_int_equal(back.has[k], fp->has[k]);
    if (fp->has[k]) assert_string_equal(back.text[k], fp->text[k]);
  }
  free(joined);
  os_result_free(r);
  /* --osscan-guess: the guesses, C with each class's own CPE */
  c.guess = 1;
  r = os_result_new();
  assert_int_equal(os_report_fill(r, &c, fp, &res), 0);
  assert_int_equal(r->verdict, OS_RES_GUESS);
  const struct os_match_item *mc = NULL;
  for (size_t i = 0; i < r->nmatches; i++)
    if (strcmp(r->matches[i].name, "Stack C") == 0) mc = &r->matches[i];
  assert_non_null(mc);
  assert_true(mc->accuracy < 100 && mc->accuracy >= OS_MATCH_GUESS_PCT);
  assert_int_equal(mc->nclasses, 2);
  assert_int_equal(mc->classes[0].ncpe, 1);
  assert_string_equal(mc->classes[0].cpe[0], "cpe:/o:vendorc:famc:3");
  assert_int_equal(mc->classes[1].ncpe, 1);
  assert_string_equal(mc->classes[1].cpe[0], "cpe:/h:vendord:box");
  assert_null(mc->classes[1].gen);
  os_result_free(r);
  os_match_result_free(&res);
  osdb_free(db);
  free(text);
  free(fp);
  free(t);
}

/* Per-port grouping: the same answers are one stack, other SYN+ACK options
 * or another distance are another. */
static void test_perport(void **state) {
  struct os_try *t = malloc(sizeof *t);
  struct os_fp *fp = malloc(sizeof *fp);
  struct os_port_obs *obs = calloc(4, sizeof *obs);
  run_try(t, 1);
  os_try_fingerprint(t, -1, fp, NULL, NULL);
  int ttl = os_try_reply_ttl(t, OS_P_SEQ1);
  assert_int_equal(ttl, 62);
  os_perport_observe(&obs[0], 22, fp, ttl);
  assert_int_equal(obs[0].distance, 3);
  os_perport_observe(&obs[1], 80, fp, ttl);
  os_fp_set(fp, OSDB_OPS, "O1", "M578");
  os_perport_observe(&obs[2], 443, fp, ttl);
  os_perport_observe(&obs[3], 8080, fp, 62);
  assert_int_equal(os_perport_group(obs, 4), 2);
  assert_int_equal(obs[0].group, 0);
  assert_int_equal(obs[1].group, 0);
  assert_int_equal(obs[2].group, 1);
  assert_int_equal(obs[3].group, 1);
  /* the same answers from 3 hops but initial TTL 128: 128 - 126 + 1 = 3,
   * as 64 - 62 + 1, yet another stack */
  os_perport_observe(&obs[3], 8080, fp, 126);
  assert_int_equal(obs[3].distance, 3);
  assert_int_equal(os_perport_group(obs, 4), 3);
  assert_int_equal(obs[3].differs, OS_PP_DIST | OS_PP_SYNACK);
  os_perport_observe(&obs[3], 8080, fp, 120);
  assert_int_equal(os_perport_group(obs, 4), 3);
  /* IP ID classes: which non-zero class a few samples give depends on the
   * host's other traffic (I on one port, RI on another: one stack); all
   * zero against not is another stack */
  struct os_port_obs *ids = calloc(2, sizeof *ids);
  os_fp_set(fp, OSDB_SEQ, "TI", "I");
  os_fp_set(fp, OSDB_SEQ, "CI", "BI");
  os_perport_observe(&ids[0], 22, fp, ttl);
  os_fp_set(fp, OSDB_SEQ, "TI", "RI");
  os_fp_set(fp, OSDB_SEQ, "CI", "RD");
  os_perport_observe(&ids[1], 80, fp, ttl);
  assert_int_equal(os_perport_differ(&ids[0], &ids[1]), 0);
  os_fp_set(fp, OSDB_SEQ, "TI", "Z");
  os_perport_observe(&ids[1], 80, fp, ttl);
  assert_int_equal(os_perport_differ(&ids[0], &ids[1]), OS_PP_SYNACK);
  free(ids);
  struct host_result h;
  host_result_init(&h);
  snprintf(obs[0].best, sizeof obs[0].best, "Stack A");
  obs[0].accuracy = 96;
  assert_int_equal(os_perport_report(&h, obs, 4, 3), 0);
  assert_int_equal(h.nhostscripts, 1);
  assert_string_equal(h.hostscripts[0].id, "os-per-port");
  const char *out = h.hostscripts[0].output;
  assert_non_null(strstr(out, "22,80/tcp: Stack A (96%), distance 3"));
  assert_non_null(strstr(out, "443/tcp: a different stack"));
  assert_non_null(strstr(out, "8080/tcp: a different stack"));
  assert_int_equal(h.hostscripts[0].tree.nchild, 3);
  host_result_free(&h);
  free(obs);
  free(fp);
  free(t);
}

/* A crafted per-port observation: six SYN+ACKs 100 ms apart from t0_us,
 * timestamps from a clock of rate Hz and offset off, IP IDs from id0 in
 * steps of idstep. */
static void pp_obs(struct os_port_obs *o, uint16_t port, uint64_t t0_us, double hz, uint32_t off,
                   uint16_t id0, uint16_t idstep) {
  memset(o, 0, sizeof *o);
  o->port = port;
  o->distance = 2;
  snprintf(o->sig, sizeof o->sig, "OPS(O1=M5B4ST11NW7%%)TI=I%%TS=Y");
  o->isr = 0x108;
  o->gcd_big = 0;
  o->closed_distance = 2;
  snprintf(o->closed, sizeof o->closed, "T5(R=Y%%DF=Y%%)CI=Z%%D=2");
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) {
    struct os_seq_sample *sm = &o->seq.syn[i];
    sm->got = sm->has_ts = 1;
    sm->sent_us = t0_us + i * 100000ull;
    sm->tsval = off + (uint32_t)(hz * (double)sm->sent_us / 1e6);
    sm->ipid = (uint16_t)(id0 + i * idstep);
    sm->isn = 0x1000u * i;
  }
}

/* Timestamp clock, IP ID counter, ISN and closed-port RST as grouping
 * signals: one stack on two ports stays one group, two stacks split. */
static void test_perport_signals(void **state) {
  (void)state;
  struct os_port_obs *obs = calloc(OS_PERPORT_MAX + 4, sizeof *obs);
  /* one stack: port 80's try 2 s after port 22's, one clock, one counter
   * (a few other packets in between) */
  pp_obs(&obs[0], 22, 5000000, 1000, 0x12345678, 100, 1);
  pp_obs(&obs[1], 80, 7000000, 1000, 0x12345678, 120, 1);
  obs[1].seq.syn[3].tsval += 2; /* jitter within the tolerance */
  obs[1].isr = 0x10C;
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), 0);
  assert_int_equal(os_perport_group(obs, 2), 1);
  assert_int_equal(obs[1].group, 0);
  /* another stack behind the same address: another clock offset */
  pp_obs(&obs[2], 443, 9000000, 1000, 0x02345678, 140, 1);
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]), OS_PP_TSCLOCK);
  /* another clock rate */
  pp_obs(&obs[2], 443, 9000000, 100, 0x12345678, 140, 1);
  assert_true(os_perport_differ(&obs[0], &obs[2]) & OS_PP_TSCLOCK);
  /* its own IP ID counter, far from the first */
  pp_obs(&obs[2], 443, 9000000, 1000, 0x12345678, 30000, 1);
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]), OS_PP_IPID);
  /* the counter run back: not one counter */
  pp_obs(&obs[2], 443, 9000000, 1000, 0x12345678, 50, 1);
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]), OS_PP_IPID);
  /* ISN: another rate class, another GCD class */
  pp_obs(&obs[2], 443, 9000000, 1000, 0x12345678, 140, 1);
  obs[2].isr = 0x80;
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]), OS_PP_ISN);
  obs[2].isr = 0x108;
  obs[2].gcd_big = 1;
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]), OS_PP_ISN);
  obs[2].gcd_big = 0;
  snprintf(obs[2].closed, sizeof obs[2].closed, "T5(R=Y%%DF=N%%)CI=I%%D=3");
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]), OS_PP_RST);
  /* the NAT gateway: another distance and clock; evidence printed */
  pp_obs(&obs[2], 443, 9000000, 1000, 0x7000, 140, 1);
  obs[2].distance = 3;
  assert_int_equal(os_perport_group(obs, 3), 2);
  assert_int_equal(obs[2].group, 1);
  assert_int_equal(obs[2].differs, OS_PP_DIST | OS_PP_TSCLOCK);
  struct host_result h;
  host_result_init(&h);
  assert_int_equal(os_perport_report(&h, obs, 3, 2), 0);
  const char *out = h.hostscripts[0].output;
  assert_non_null(strstr(out, "22,80/tcp: no match, distance 2; timestamps 1000 Hz"));
  assert_non_null(strstr(out, "443/tcp: a different stack, no match, distance 3 (port forwarding?)"));
  assert_non_null(strstr(out, "differs from 22/tcp in: TTL/distance, timestamp clock"));
  assert_non_null(strstr(out, "\n  closed port: RST from distance 2, like 22/tcp"));
  host_result_free(&h);
  /* the closed port answered from nearer: none of the open ports' stacks */
  obs[0].closed_distance = 1;
  host_result_init(&h);
  assert_int_equal(os_perport_report(&h, obs, 3, 2), 0);
  assert_non_null(strstr(h.hostscripts[0].output, "closed port: RST from distance 1, like none"));
  host_result_free(&h);
  /* random IP IDs (RD) and zero IDs are no counter: not compared */
  pp_obs(&obs[2], 443, 9000000, 1000, 0x12345678, 140, 30000);
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]) & OS_PP_IPID, 0);
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) obs[2].seq.syn[i].ipid = 0;
  assert_int_equal(os_perport_differ(&obs[0], &obs[2]) & OS_PP_IPID, 0);
  free(obs);
}

/* Signatures compared on what both ports answered: a reply lost on one
 * port's try (R=N, a missing part or attribute) does not split a stack; a
 * value both observed and that differs does. */
static void test_perport_lost_reply(void **state) {
  (void)state;
  struct os_port_obs *obs = calloc(2, sizeof *obs);
  static const char full[] = "OPS(O1=M5B4ST11NW7%O2=M5B4ST11NW7%O3=M5B4NNT11NW7%)WIN(W1=FE88%)"
                             "ECN(R=Y%DF=Y%T=40%)T2(R=N%)T3(R=Y%DF=Y%W=0%)TI=Z%TS=Y";
  pp_obs(&obs[0], 22, 5000000, 1000, 0x12345678, 100, 1);
  pp_obs(&obs[1], 80, 7000000, 1000, 0x12345678, 120, 1);
  snprintf(obs[0].sig, sizeof obs[0].sig, "%s", full);
  /* one reply lost: ECN, the third SYN+ACK (O3), T3 */
  snprintf(obs[1].sig, sizeof obs[1].sig, "%s",
           "OPS(O1=M5B4ST11NW7%O2=M5B4ST11NW7%)WIN(W1=FE88%)ECN(R=N%)T2(R=N%)T3()TI=Z%TS=Y");
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), 0);
  assert_int_equal(os_perport_differ(&obs[1], &obs[0]), 0);
  /* T5 lost on the closed port */
  snprintf(obs[1].closed, sizeof obs[1].closed, "T5(R=N%%)CI=%%D=2");
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), 0);
  /* another window: another stack, in either order */
  snprintf(obs[1].sig, sizeof obs[1].sig, "%s",
           "OPS(O1=M5B4ST11NW7%)WIN(W1=FFFF%)ECN(R=N%)T2(R=N%)T3()TI=Z%TS=Y");
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), OS_PP_SYNACK);
  assert_int_equal(os_perport_differ(&obs[1], &obs[0]), OS_PP_SYNACK);
  /* a test answered by both, one attribute apart */
  snprintf(obs[1].sig, sizeof obs[1].sig, "%s", full);
  char *t = strstr(obs[1].sig, "T3(R=Y%DF=Y");
  t[10] = 'N';
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), OS_PP_SYNACK);
  /* the tail: IDs all zero on one port, not on the other */
  snprintf(obs[1].sig, sizeof obs[1].sig, "%s", full);
  snprintf(strstr(obs[1].sig, "TI=Z"), 16, "TI=NZ%%TS=Y");
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), OS_PP_SYNACK);
  /* the closed port's answer differs where both answered */
  snprintf(obs[1].sig, sizeof obs[1].sig, "%s", full);
  snprintf(obs[1].closed, sizeof obs[1].closed, "T5(R=Y%%DF=N%%)CI=Z%%D=2");
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), OS_PP_RST);
  free(obs);
}

/* Missing and hostile samples never crash and never split on their own. */
static void test_perport_hostile(void **state) {
  (void)state;
  struct os_port_obs *obs = calloc(OS_PERPORT_MAX + 4, sizeof *obs);
  pp_obs(&obs[0], 22, 5000000, 1000, 0x12345678, 100, 1);
  /* nothing answered */
  pp_obs(&obs[1], 80, 7000000, 1000, 0x12345678, 120, 1);
  memset(&obs[1].seq, 0, sizeof obs[1].seq);
  obs[1].isr = obs[1].gcd_big = -1;
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), 0);
  /* a clock running back, standing still, zero; one sample; same send times */
  pp_obs(&obs[1], 80, 7000000, 1000, 0x12345678, 120, 1);
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) obs[1].seq.syn[i].tsval = 0xFFFFFFFFu - i * 1000;
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]) & OS_PP_TSCLOCK, 0);
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) obs[1].seq.syn[i].tsval = 0;
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]) & OS_PP_TSCLOCK, 0);
  pp_obs(&obs[1], 80, 7000000, 1000, 0x12345678, 120, 1);
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) obs[1].seq.syn[i].sent_us = 7000000;
  os_perport_differ(&obs[0], &obs[1]);
  for (unsigned i = 1; i < OS_SEQ_PROBES; i++) obs[1].seq.syn[i].got = 0;
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]) & (OS_PP_TSCLOCK | OS_PP_IPID), 0);
  /* a random timestamp offset per connection (recent Linux): no clock,
   * so no split by it, whatever the values */
  pp_obs(&obs[1], 80, 7000000, 1000, 0x12345678, 120, 1);
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) obs[1].seq.syn[i].tsval = 0x10000000u + i * 37u * 1000003u;
  obs[1].seq.syn[2].tsval = 5;
  assert_int_equal(os_perport_differ(&obs[0], &obs[1]), 0);
  /* time running back between tries, huge values */
  pp_obs(&obs[1], 80, 0, 1e9, 0xFFFFFFFFu, 0xFFFF, 0xFFFF);
  os_perport_differ(&obs[0], &obs[1]);
  os_perport_differ(&obs[1], &obs[0]);
  /* more ports than groups can be numbered: every port differs */
  for (unsigned i = 0; i < OS_PERPORT_MAX + 4; i++) {
    pp_obs(&obs[i], (uint16_t)(1000 + i), 5000000, 1000, 0x12345678, 100, 1);
    obs[i].distance = (int)i;
  }
  unsigned ng = os_perport_group(obs, OS_PERPORT_MAX + 4);
  assert_int_equal(ng, OS_PERPORT_MAX);
  for (unsigned i = 0; i < OS_PERPORT_MAX + 4; i++) assert_true(obs[i].group < ng);
  free(obs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_perport_signals),
      cmocka_unit_test(test_perport_lost_reply),
      cmocka_unit_test(test_perport_hostile),
      cmocka_unit_test(test_perport),
      cmocka_unit_test(test_try_replies),
      cmocka_unit_test(test_try_fingerprint),
      cmocka_unit_test(test_report),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
