/* test_os_pcap.c: the fingerprint computations (src/os/fp-*.c) on a real
 * capture, tests/fixtures/os-linux.pcap (made by make-os-fixtures.sh): one
 * `nmap -O` run from 198.18.3.1 against a Linux stack at 198.18.3.2 (TCP 80
 * open, 81 closed, one hop). The probes are found in the capture by what
 * Nmap's documentation says they are, their replies by ports and ICMP ids;
 * the computed tests must be those of Linux at distance 1 as Nmap prints
 * them for such a host, and the whole fingerprint must match Linux in the
 * installed nmap-os-db. The probes trawl builds (os/os-probe.h) must carry
 * what Nmap's carried in that capture, field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <netinet/in.h>
#include <trawl/packet.h>

#include "db/os-db.h"
#include "os/fp-icmp.h"
#include "os/fp-seq.h"
#include "os/fp-tcp.h"
#include "os/match.h"
#include "os/os-probe.h"
#include "os/p0f-match.h"

#define MAXPK 128
#define OPEN_PORT 80
#define CLOSED_PORT 81

struct capture {
  size_t n;
  uint8_t *data[MAXPK];
  uint64_t us[MAXPK];
  tw_pkt p[MAXPK];
  uint8_t from_scanner[MAXPK];
  uint8_t used[MAXPK];
};

static struct capture *load(void) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *pc = pcap_open_offline(TW_SRCDIR "/tests/fixtures/os-linux.pcap", err);
  if (!pc) fail_msg("%s", err);
  struct capture *c = calloc(1, sizeof *c);
  assert_non_null(c);
  int link = tw_pkt_link_from_dlt(pcap_datalink(pc));
  struct in_addr scanner;
  inet_pton(AF_INET, "198.18.3.1", &scanner);
  struct pcap_pkthdr *h;
  const u_char *d;
  while (pcap_next_ex(pc, &h, &d) == 1) {
    assert_true(c->n < MAXPK);
    c->data[c->n] = malloc(h->caplen);
    memcpy(c->data[c->n], d, h->caplen);
    c->us[c->n] = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
    tw_pkt *p = &c->p[c->n];
    if (tw_pkt_parse(c->data[c->n], h->caplen, link, p) != 0) fail_msg("#%zu: %s", c->n, p->why);
    assert_true(p->layers & TW_PKT_L_IP4);
    c->from_scanner[c->n] = p->ip4.src.s_addr == scanner.s_addr;
    c->n++;
  }
  pcap_close(pc);
  return c;
}

static void release(struct capture *c) {
  for (size_t i = 0; i < c->n; i++) free(c->data[i]);
  free(c);
}

/* The first probe from index from on with these TCP flags to port that is
 * not one of the port scan's SYNs (window 1024); -1 when none. */
static long tcp_probe(const struct capture *c, size_t from, uint16_t flags, uint16_t port) {
  for (size_t i = from; i < c->n; i++) {
    const tw_pkt *p = &c->p[i];
    if (c->from_scanner[i] && (p->layers & TW_PKT_L_TCP) && p->tcp.flags == flags &&
        p->dport == port && !(flags == TW_TCP_SYN && p->tcp.win == 1024))
      return (long)i;
  }
  return -1;
}

/* The first reply from the target to TCP probe i (ports swapped), or NULL. */
static const tw_pkt *tcp_reply(struct capture *c, long i) {
  if (i < 0) return NULL;
  for (size_t k = (size_t)i + 1; k < c->n; k++) {
    const tw_pkt *p = &c->p[k];
    if (!c->from_scanner[k] && !c->used[k] && (p->layers & TW_PKT_L_TCP) &&
        p->sport == c->p[i].dport && p->dport == c->p[i].sport) {
      c->used[k] = 1;
      return p;
    }
  }
  return NULL;
}

static struct os_tcp_sent sent_of(const struct capture *c, long i) {
  struct os_tcp_sent s = {c->p[i].tcp.seq, c->p[i].tcp.ack};
  return s;
}

/* Computes the whole fingerprint from the capture. */
static void compute(struct capture *c, struct os_fp *fp) {
  os_fp_init(fp);
  /* U1 first: its quote gives the distance */
  long u1 = -1;
  for (size_t i = 0; i < c->n && u1 < 0; i++)
    if (c->from_scanner[i] && (c->p[i].layers & TW_PKT_L_UDP)) u1 = (long)i;
  assert_true(u1 >= 0);
  const tw_pkt *up = &c->p[u1], *ur = NULL;
  for (size_t k = (size_t)u1 + 1; k < c->n && !ur; k++)
    if (!c->from_scanner[k] && (c->p[k].layers & TW_PKT_L_QUOTE) &&
        c->p[k].quote.dport == up->dport && c->p[k].quote.sport == up->sport)
      ur = &c->p[k];
  assert_non_null(ur);
  const uint8_t *udp = up->buf + up->l4_off;
  struct os_u1_sent us = {.ttl = up->ip4.ttl, .ip_id = up->ip4.id, .ip_len = up->ip4.tot_len,
                          .udp_csum = (uint16_t)(udp[6] << 8 | udp[7]),
                          .fill = up->buf[up->payload_off]};
  int dist = os_fp_u1_hops(ur, us.ttl);
  assert_int_equal(dist, 0); /* one hop: no router in between */
  os_fp_u1(fp, ur, &us, dist);

  /* the six SEQ probes: SYNs to the open port */
  struct os_seq_in seq;
  memset(&seq, 0, sizeof seq);
  const tw_pkt *synack[OS_SEQ_PROBES] = {0};
  long first = -1;
  size_t from = 0;
  for (int k = 0; k < OS_SEQ_PROBES; k++) {
    long i = tcp_probe(c, from, TW_TCP_SYN, OPEN_PORT);
    assert_true(i >= 0);
    if (k == 0) first = i;
    from = (size_t)i + 1;
    const tw_pkt *r = tcp_reply(c, i);
    synack[k] = r;
    seq.syn[k].sent_us = c->us[i];
    if (r == NULL) continue;
    seq.syn[k].got = 1;
    seq.syn[k].isn = r->tcp.seq;
    seq.syn[k].ipid = r->ip4.id;
    seq.syn[k].has_ts = (r->tcp.opts.present & TW_TCPOPT_F_TS) != 0;
    seq.syn[k].tsval = r->tcp.opts.tsval;
  }
  os_fp_ops_win(fp, synack);
  struct os_tcp_sent s1 = sent_of(c, first);
  os_fp_tcp_test(fp, OSDB_T1, synack[0], &s1, dist);

  /* ECN and T2-T7 */
  static const struct {
    enum osdb_test t;
    uint16_t flags, port;
  } probes[] = {
      {OSDB_ECN, TW_TCP_SYN | TW_TCP_ECE | TW_TCP_CWR, OPEN_PORT},
      {OSDB_T2, 0, OPEN_PORT},
      {OSDB_T3, TW_TCP_SYN | TW_TCP_FIN | TW_TCP_PSH | TW_TCP_URG, OPEN_PORT},
      {OSDB_T4, TW_TCP_ACK, OPEN_PORT},
      {OSDB_T5, TW_TCP_SYN, CLOSED_PORT},
      {OSDB_T6, TW_TCP_ACK, CLOSED_PORT},
      {OSDB_T7, TW_TCP_FIN | TW_TCP_PSH | TW_TCP_URG, CLOSED_PORT},
  };
  for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
    long i = tcp_probe(c, 0, probes[k].flags, probes[k].port);
    assert_true(i >= 0);
    struct os_tcp_sent s = sent_of(c, i);
    const tw_pkt *r = tcp_reply(c, i);
    os_fp_tcp_test(fp, probes[k].t, r, &s, dist);
    if (probes[k].port == CLOSED_PORT && r) seq.closed_ipid[seq.nclosed++] = r->ip4.id;
  }

  /* IE: the two echo requests and their replies */
  const tw_pkt *echo[2] = {0};
  struct os_ie_sent ies;
  unsigned ne = 0;
  for (size_t i = 0; i < c->n && ne < 2; i++) {
    const tw_pkt *p = &c->p[i];
    if (!c->from_scanner[i] || !(p->layers & TW_PKT_L_ICMP) || p->icmp.type != TW_ICMP_ECHO)
      continue;
    ies.df[ne] = p->ip4.df;
    ies.code[ne] = p->icmp.code;
    for (size_t k = i + 1; k < c->n; k++)
      if (!c->from_scanner[k] && (c->p[k].layers & TW_PKT_L_ICMP) &&
          c->p[k].icmp.type == TW_ICMP_ECHOREPLY && c->p[k].icmp.id == p->icmp.id &&
          c->p[k].icmp.seq == p->icmp.seq) {
        echo[ne] = &c->p[k];
        seq.icmp_ipid[seq.nicmp++] = c->p[k].ip4.id;
        break;
      }
    ne++;
  }
  assert_int_equal(ne, 2);
  os_fp_ie(fp, echo[0], echo[1], &ies, dist);
  os_fp_seq(fp, &seq);
}

static void expect_test(const struct os_fp *fp, const char *want) {
  struct os_fp w;
  char err[128];
  assert_int_equal(os_fp_parse(&w, want, strlen(want), err, sizeof err), 0);
  for (unsigned k = 0; k < OSDB_NKEYS; k++) {
    if (!w.has[k]) continue;
    const char *got = fp->has[k] ? fp->text[k] : "(none)";
    if (strcmp(got, w.text[k]) != 0)
      fail_msg("%s.%s: got %s, want %s", osdb_test_name(OSDB_KEY_TEST(k)),
               osdb_attr_name(OSDB_KEY_TEST(k), OSDB_KEY_ATTR(k)), got, w.text[k]);
  }
  for (int t = 0; t < OSDB_NTESTS; t++)
    if (w.tests & (1u << t))
      for (unsigned i = 0; i < osdb_attr_count((enum osdb_test)t); i++)
        if (fp->has[OSDB_KEY(t, i)] && !w.has[OSDB_KEY(t, i)])
          fail_msg("%s.%s: unexpected %s", osdb_test_name((enum osdb_test)t),
                   osdb_attr_name((enum osdb_test)t, i), fp->text[OSDB_KEY(t, i)]);
}

static void test_linux_capture(void **state) {
  struct capture *c = load();
  struct os_fp fp;
  compute(c, &fp);
  char buf[2048];
  os_fp_format(&fp, buf, sizeof buf);
  print_message("%s", buf);
  /* a Linux stack one hop away */
  expect_test(&fp, "OPS(O1=M5B4ST11NWA%O2=M5B4ST11NWA%O3=M5B4NNT11NWA%O4=M5B4ST11NWA%"
                   "O5=M5B4ST11NWA%O6=M5B4ST11)");
  expect_test(&fp, "WIN(W1=FE88%W2=FE88%W3=FE88%W4=FE88%W5=FE88%W6=FE88)");
  expect_test(&fp, "ECN(R=Y%DF=Y%T=40%W=FAF0%O=M5B4NNSNWA%CC=Y%Q=)");
  expect_test(&fp, "T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)");
  expect_test(&fp, "T2(R=N)");
  expect_test(&fp, "T3(R=N)");
  expect_test(&fp, "T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)");
  expect_test(&fp, "T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)");
  expect_test(&fp, "T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)");
  expect_test(&fp, "T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)");
  expect_test(&fp, "U1(R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)");
  expect_test(&fp, "IE(R=Y%DFI=N%T=40%CD=S)");
  /* SEQ: IDs zero on DF packets, counted on echo replies; random ISNs and
   * per-connection timestamp offsets give large rates */
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "TI"), "Z");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "CI"), "Z");
  assert_string_equal(os_fp_get(&fp, OSDB_SEQ, "II"), "I");
  assert_null(os_fp_get(&fp, OSDB_SEQ, "SS"));
  const char *want_hex[][3] = {{"SP", "E0", "118"}, {"ISR", "100", "118"}, {"TS", "19", "24"}};
  for (size_t i = 0; i < 3; i++) {
    const char *v = os_fp_get(&fp, OSDB_SEQ, want_hex[i][0]);
    assert_non_null(v);
    unsigned long x = strtoul(v, NULL, 16), lo = strtoul(want_hex[i][1], NULL, 16),
                  hi = strtoul(want_hex[i][2], NULL, 16);
    if (x < lo || x > hi) fail_msg("SEQ.%s=%s outside %s-%s", want_hex[i][0], v, want_hex[i][1], want_hex[i][2]);
  }

  /* the whole fingerprint against the installed database */
  struct osdb *db;
  char err[256];
  if (access("/usr/share/nmap/nmap-os-db", R_OK) == 0 &&
      osdb_load_default(&db, NULL, NULL, NULL, err, sizeof err) == 0) {
    struct os_match_result res;
    assert_int_equal(os_match_all(db, &fp, &res), 0);
    assert_true(res.n > 0);
    for (size_t i = 0; i < res.n && i < 3; i++)
      print_message("%s (%.1f%%)\n", osdb_str(db, osdb_entry(db, res.m[i].entry)->name),
                    100 * os_match_accuracy(&res.m[i]));
    const struct osdb_fp *best = osdb_entry(db, res.m[0].entry);
    assert_true(best->nclass > 0);
    assert_string_equal(osdb_str(db, osdb_class(db, best, 0)->family), "Linux");
    assert_true(os_match_accuracy(&res.m[0]) >= 0.9);
    os_match_result_free(&res);
    osdb_free(db);
  }
  release(c);
}

/* p0f's view of the same stack: the SYN+ACKs to the port scan's SYN (MSS
 * only) and to the first SEQ probe (every option) */
static void test_p0f_capture(void **state) {
  struct capture *c = load();
  char raw[128];
  struct p0f_obs o;
  long scan = -1;
  for (size_t i = 0; i < c->n && scan < 0; i++)
    if (c->from_scanner[i] && (c->p[i].layers & TW_PKT_L_TCP) && c->p[i].tcp.win == 1024 &&
        c->p[i].tcp.flags == TW_TCP_SYN && c->p[i].dport == OPEN_PORT)
      scan = (long)i;
  const tw_pkt *r = tcp_reply(c, scan);
  assert_non_null(r);
  assert_int_equal(p0f_obs_from_pkt(r, &o), 0);
  p0f_obs_format(&o, raw, sizeof raw);
  assert_string_equal(raw, "4:64:0:1460:mss*44,0:mss:df:0"); /* 64240 = 44 * 1460 */
  r = tcp_reply(c, tcp_probe(c, 0, TW_TCP_SYN, OPEN_PORT));
  assert_non_null(r);
  assert_int_equal(p0f_obs_from_pkt(r, &o), 0);
  p0f_obs_format(&o, raw, sizeof raw);
  assert_string_equal(raw, "4:64:0:1460:65160,10:mss,sok,ts,nop,ws:df:0");
  struct p0f_db *db;
  char err[256];
  if (access(P0F_SYSTEM_PATH, R_OK) == 0 &&
      p0f_load_default(&db, NULL, NULL, NULL, err, sizeof err) == 0) {
    struct p0f_result res;
    char label[128];
    p0f_match(db, &o, 1, &res);
    p0f_result_format(db, &res, label, sizeof label);
    print_message("p0f.fp says: %s (distance %u)\n", label, res.dist);
    assert_int_equal(res.dist, 0);
    p0f_free(db);
  }
  release(c);
}

/* One of our probes and Nmap's probe of the capture carry the same thing. */
static void same_probe(const struct capture *c, long i, enum os_probe_id id,
                       const struct os_probe_params *pp) {
  assert_true(i >= 0);
  const tw_pkt *n = &c->p[i];
  uint8_t buf[OS_PROBE_MAX];
  int len = os_probe_build(pp, id, buf, sizeof buf, NULL);
  assert_true(len > 0);
  tw_pkt m;
  if (tw_pkt_parse(buf, (size_t)len, TW_LINK_RAW, &m) != 0) fail_msg("%s: %s", os_probe_name(id), m.why);
  assert_int_equal(tw_pkt_l4_csum_ok(&m), 1);
  assert_int_equal(m.ip4.csum_ok, 1);
  if (m.ip4.df != n->ip4.df || m.ip4.tos != n->ip4.tos || m.proto != n->proto ||
      m.dport != n->dport)
    fail_msg("%s: df %u/%u tos %u/%u proto %u/%u dport %u/%u", os_probe_name(id), m.ip4.df,
             n->ip4.df, m.ip4.tos, n->ip4.tos, m.proto, n->proto, m.dport, n->dport);
  if (m.proto == IPPROTO_TCP) {
    const uint8_t *mt = buf + m.l4_off, *nt = n->buf + n->l4_off;
    if (m.tcp.flags != n->tcp.flags || m.tcp.win != n->tcp.win || m.tcp.urg != n->tcp.urg ||
        (mt[12] & 0x0f) != (nt[12] & 0x0f) || m.tcp.optlen != n->tcp.optlen ||
        memcmp(m.tcp.opt, n->tcp.opt, m.tcp.optlen) != 0)
      fail_msg("%s: flags %x/%x win %u/%u urg %x/%x reserved %x/%x options %u/%u bytes",
               os_probe_name(id), m.tcp.flags, n->tcp.flags, m.tcp.win, n->tcp.win, m.tcp.urg,
               n->tcp.urg, mt[12] & 0x0f, nt[12] & 0x0f, m.tcp.optlen, n->tcp.optlen);
    /* the ACK field is zero exactly where Nmap's is (ECN) */
    assert_int_equal(m.tcp.ack == 0, n->tcp.ack == 0);
  } else {
    assert_int_equal(m.payload_len, n->payload_len);
    assert_memory_equal(buf + m.payload_off, n->buf + n->payload_off, m.payload_len);
    if (m.proto == IPPROTO_UDP) assert_int_equal(m.ip4.id, n->ip4.id);
    if (m.proto == IPPROTO_ICMP) {
      assert_int_equal(m.icmp.type, n->icmp.type);
      assert_int_equal(m.icmp.code, n->icmp.code);
      assert_int_equal(m.icmp.seq, n->icmp.seq);
    }
  }
}

static void test_probes_like_nmap(void **state) {
  struct capture *c = load();
  struct os_probe_params pp;
  memset(&pp, 0, sizeof pp);
  tw_pkt_addr_parse(&pp.src, "198.18.3.1");
  tw_pkt_addr_parse(&pp.dst, "198.18.3.2");
  pp.open_port = OPEN_PORT;
  pp.closed_port = CLOSED_PORT;
  pp.sport_base = 50000;
  pp.seq_base = 1000;
  pp.ack = 2000;
  pp.ttl = 64;
  size_t from = 0;
  for (int k = 0; k < 6; k++) {
    long i = tcp_probe(c, from, TW_TCP_SYN, OPEN_PORT);
    same_probe(c, i, (enum os_probe_id)(OS_P_SEQ1 + k), &pp);
    from = (size_t)i + 1;
  }
  static const struct {
    enum os_probe_id id;
    uint16_t flags, port;
  } t[] = {
      {OS_P_ECN, TW_TCP_SYN | TW_TCP_ECE | TW_TCP_CWR, OPEN_PORT},
      {OS_P_T2, 0, OPEN_PORT},
      {OS_P_T3, TW_TCP_SYN | TW_TCP_FIN | TW_TCP_PSH | TW_TCP_URG, OPEN_PORT},
      {OS_P_T4, TW_TCP_ACK, OPEN_PORT},
      {OS_P_T5, TW_TCP_SYN, CLOSED_PORT},
      {OS_P_T6, TW_TCP_ACK, CLOSED_PORT},
      {OS_P_T7, TW_TCP_FIN | TW_TCP_PSH | TW_TCP_URG, CLOSED_PORT},
  };
  for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
    same_probe(c, tcp_probe(c, 0, t[k].flags, t[k].port), t[k].id, &pp);
  /* U1 and the two echoes */
  long u1 = -1, ie[2] = {-1, -1};
  int ne = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (!c->from_scanner[i]) continue;
    if ((c->p[i].layers & TW_PKT_L_UDP) && u1 < 0) u1 = (long)i;
    if ((c->p[i].layers & TW_PKT_L_ICMP) && c->p[i].icmp.type == TW_ICMP_ECHO && ne < 2)
      ie[ne++] = (long)i;
  }
  pp.closed_uport = c->p[u1].dport;
  same_probe(c, u1, OS_P_U1, &pp);
  same_probe(c, ie[0], OS_P_IE1, &pp);
  same_probe(c, ie[1], OS_P_IE2, &pp);
  /* IE2 is IE1's identifier plus one, as in the capture */
  assert_int_equal((uint16_t)(c->p[ie[1]].icmp.id - c->p[ie[0]].icmp.id), 1);
  /* a non-IPv4 target is refused */
  uint8_t buf[OS_PROBE_MAX];
  tw_pkt_addr_parse(&pp.dst, "2001:db8::1");
  assert_int_equal(os_probe_build(&pp, OS_P_SEQ1, buf, sizeof buf, NULL), -EINVAL);
  release(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probes_like_nmap),
      cmocka_unit_test(test_linux_capture),
      cmocka_unit_test(test_p0f_capture),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
