/* test_synack.c: from a captured SYN+ACK to its p0f observation
 * (src/os/synack.c) on frames crafted here with libtrawl's builders: raw IP
 * and Ethernet, IPv4 and IPv6; what is not a SYN+ACK refused; malformed
 * frames (every truncation, bad IP options, bad IHL) refused as malformed,
 * bad TCP options kept with p0f's "bad" quirk; and the scan's keeping of
 * them (scan_synack: first one per port, the per-host cap, malformed ones
 * counted and dropped), then the label against a p0f.fp written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>
#include <trawl/packet.h>

#include "db/p0f.h"
#include "os/p0f-match.h"
#include "os/synack.h"
#include "scan/scan.h"

/* A Linux-like SYN+ACK: TTL 60, DF, MSS 1460, SACK, timestamps, WS 7.
 * opt (optlen bytes) replaces the options when given. Returns its length. */
static size_t build(uint8_t *buf, size_t cap, int v6, uint16_t flags, const uint8_t *opt,
                    uint8_t optlen, const uint8_t *ipopt, uint8_t ipoptlen) {
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  assert_int_equal(tw_pkt_addr_parse(&ip.src, v6 ? "2001:db8::2" : "198.18.0.2"), 0);
  assert_int_equal(tw_pkt_addr_parse(&ip.dst, v6 ? "2001:db8::1" : "198.18.0.1"), 0);
  ip.ttl = 60;
  ip.df = 1;
  ip.opt = ipopt;
  ip.optlen = ipoptlen;
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.sport = 80;
  t.dport = 40000;
  t.seq = 1000;
  t.ack = 2000;
  t.flags = flags;
  t.win = 29200;
  uint8_t o[40];
  if (opt) {
    t.opt = opt;
    t.optlen = optlen;
  } else {
    tw_pkt_tcp_opts to;
    memset(&to, 0, sizeof to);
    to.present = TW_TCPOPT_F_MSS | TW_TCPOPT_F_SACKOK | TW_TCPOPT_F_TS | TW_TCPOPT_F_WS;
    to.mss = 1460;
    to.wscale = 7;
    to.tsval = 5555;
    to.tsecr = 7777;
    int n = tw_pkt_tcp_opts_build(o, sizeof o, &to);
    assert_true(n > 0);
    t.opt = o;
    t.optlen = (uint8_t)n;
  }
  int n = tw_pkt_build_tcp(buf, cap, &ip, &t, NULL, 0);
  assert_true(n > 0);
  return (size_t)n;
}

static tw_frame frame(const uint8_t *b, size_t n, int link) {
  tw_frame f;
  memset(&f, 0, sizeof f);
  f.data = b;
  f.caplen = f.len = (uint32_t)n;
  f.linktype = (uint16_t)link;
  return f;
}

static int obs_of(const uint8_t *b, size_t n, int link, char *sig, size_t cap) {
  tw_frame f = frame(b, n, link);
  struct p0f_obs o;
  int r = synack_obs(&f, &o);
  if (r == 0) p0f_obs_format(&o, sig, cap);
  return r;
}

static void test_good(void **state) {
  uint8_t b[128], e[160];
  char sig[256];
  size_t n = build(b, sizeof b, 0, TW_TCP_SYN | TW_TCP_ACK, NULL, 0, NULL, 0);
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), 0);
  assert_string_equal(sig, "4:64:0:1460:mss*20,7:mss,sok,ts,nop,ws:df:0");
  /* the same in an Ethernet frame */
  tw_pkt_eth eth;
  memset(&eth, 0, sizeof eth);
  eth.type = TW_ETH_IP4;
  int hl = tw_pkt_eth_build(e, sizeof e, &eth);
  assert_int_equal(hl, 14);
  memcpy(e + hl, b, n);
  assert_int_equal(obs_of(e, n + 14, TW_LINK_ETH, sig, sizeof sig), 0);
  assert_string_equal(sig, "4:64:0:1460:mss*20,7:mss,sok,ts,nop,ws:df:0");
  /* IPv6 */
  n = build(b, sizeof b, 1, TW_TCP_SYN | TW_TCP_ACK, NULL, 0, NULL, 0);
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), 0);
  assert_string_equal(sig, "6:64:0:1460:mss*20,7:mss,sok,ts,nop,ws::0");
}

static void test_not_synack(void **state) {
  uint8_t b[128];
  char sig[256];
  size_t n = build(b, sizeof b, 0, TW_TCP_RST | TW_TCP_ACK, NULL, 0, NULL, 0);
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), -EINVAL);
  n = build(b, sizeof b, 0, TW_TCP_SYN, NULL, 0, NULL, 0);
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), -EINVAL);
  n = build(b, sizeof b, 0, TW_TCP_SYN | TW_TCP_ACK | TW_TCP_RST, NULL, 0, NULL, 0);
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), -EINVAL);
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  tw_pkt_addr_parse(&ip.src, "198.18.0.2");
  tw_pkt_addr_parse(&ip.dst, "198.18.0.1");
  int u = tw_pkt_build_udp(b, sizeof b, &ip, 53, 4000, "x", 1);
  assert_int_equal(obs_of(b, (size_t)u, TW_LINK_RAW, sig, sizeof sig), -EINVAL);
  tw_frame f = frame(NULL, 0, TW_LINK_RAW);
  struct p0f_obs o;
  assert_int_equal(synack_obs(&f, &o), -EINVAL);
  assert_int_equal(synack_obs(NULL, &o), -EINVAL);
}

static void test_malformed(void **state) {
  uint8_t b[128];
  char sig[256];
  /* every truncation of a good SYN+ACK (no payload: each cut is inside a
   * header) is malformed, raw and IPv6 alike */
  for (int v6 = 0; v6 < 2; v6++) {
    size_t n = build(b, sizeof b, v6, TW_TCP_SYN | TW_TCP_ACK, NULL, 0, NULL, 0);
    for (size_t cut = 0; cut < n; cut++) {
      uint8_t *c = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
      memcpy(c, b, cut);
      int r = obs_of(c, cut, TW_LINK_RAW, sig, sizeof sig);
      if (r != TW_EMALFORMED) fail_msg("v6 %d cut at %zu of %zu: %d", v6, cut, n, r);
      free(c);
    }
  }
  /* bad IP options: record route pointer 3 (below the first slot) */
  uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
  size_t n = build(b, sizeof b, 0, TW_TCP_SYN | TW_TCP_ACK, NULL, 0, rr, sizeof rr);
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), 0);
  assert_string_equal(sig, "4:64:8:1460:mss*20,7:mss,sok,ts,nop,ws:df:0");
  b[22] = 3;
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), TW_EMALFORMED);
  /* IHL beyond the buffer */
  n = build(b, sizeof b, 0, TW_TCP_SYN | TW_TCP_ACK, NULL, 0, NULL, 0);
  b[0] = 0x4f;
  assert_int_equal(obs_of(b, 40, TW_LINK_RAW, sig, sizeof sig), TW_EMALFORMED);
  /* bad TCP options (a length of 1 after the MSS) in a complete packet:
   * p0f's "bad" quirk, the options before them kept */
  static const uint8_t bad[8] = {2, 4, 0x05, 0xb4, 8, 1, 0, 0};
  n = build(b, sizeof b, 0, TW_TCP_SYN | TW_TCP_ACK, bad, sizeof bad, NULL, 0);
  assert_int_equal(obs_of(b, n, TW_LINK_RAW, sig, sizeof sig), 0);
  assert_non_null(strstr(sig, "bad"));
  assert_int_equal(strncmp(sig, "4:64:0:1460:", 12), 0);
}

/* scan_synack: what the SYN scan keeps, per host and port, and counts. */
static void test_scan_keep(void **state) {
  struct scan *s = calloc(1, sizeof *s);
  assert_non_null(s);
  s->hosts = calloc(2, sizeof *s->hosts);
  s->nhosts = 2;
  uint8_t b[128];
  size_t n = build(b, sizeof b, 0, TW_TCP_SYN | TW_TCP_ACK, NULL, 0, NULL, 0);
  tw_frame good = frame(b, n, TW_LINK_RAW);
  tw_frame cut = frame(b, 30, TW_LINK_RAW);
  scan_synack(s, 0, 80, &good); /* not kept: no scripts */
  assert_int_equal(s->hosts[0].nsynacks, 0);
  s->keep_synack = true;
  for (unsigned p = 1; p <= SYNACK_KEEP_PER_HOST + 10; p++) scan_synack(s, 0, (uint16_t)p, &good);
  scan_synack(s, 0, 1, &good); /* the same port again: ignored */
  scan_synack(s, 1, 22, &cut);
  scan_synack(s, 1, 80, &good);
  assert_int_equal(s->hosts[0].nsynacks, SYNACK_KEEP_PER_HOST);
  assert_int_equal(s->hosts[1].nsynacks, 1);
  assert_int_equal(s->hosts[1].synacks[0].port, 80);
  assert_int_equal(s->synack_kept, SYNACK_KEEP_PER_HOST + 1);
  assert_int_equal(s->synack_dropped, 10); /* the repeated port is not counted */
  assert_int_equal(s->synack_malformed, 1);
  /* the label of the kept observation, against a p0f.fp written here */
  static const char fp[] = "classes = unix\n[tcp:response]\n"
                           "label = s:unix:TestOS:1.x\nsig = *:64:0:*:mss*20,*:mss,sok,ts,nop,ws:df:0\n";
  struct p0f_db *db;
  char err[256];
  assert_int_equal(p0f_load_mem(&db, "t.fp", fp, sizeof fp - 1, NULL, NULL, err, sizeof err), 0);
  struct p0f_result r;
  char label[128];
  p0f_match(db, &s->hosts[1].synacks[0].obs, 1, &r);
  p0f_result_format(db, &r, label, sizeof label);
  assert_string_equal(label, "TestOS 1.x");
  assert_int_equal(r.dist, 4);
  p0f_free(db);
  for (uint32_t i = 0; i < s->nhosts; i++) free(s->hosts[i].synacks);
  free(s->hosts);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_not_synack),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_scan_keep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
