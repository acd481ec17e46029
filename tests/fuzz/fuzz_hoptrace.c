/* fuzz_hoptrace.c: libFuzzer harness for --traceroute's reply handling
 * (src/scan/hoptrace.c): the quote parser and hoptrace_input() on a group
 * of three targets whose first probes are taken by the harness.
 *
 * The first input byte picks the mode (bit 1: the TCP target sends ACK
 * probes instead of SYNs; bit 2: the targets are IPv6):
 *   even  the rest is an IPv4 packet, decoded as the dispatcher does and
 *         handed to hoptrace_input(); also parsed as a quote
 *   odd   a time exceeded from a router quoting one of the real probes
 *         (byte 1 picks it), with the rest of the input XORed over the
 *         quote and cut to its length: near-valid replies, deep paths
 * Checked after each input: the counters add up (every reply taken,
 * malformed, unsolicited or a duplicate at most once per input), the hop
 * lists stay within HOPTRACE_MAX_TTL and name only TTLs that were sent.
 * Seeds: tests/fuzz/corpus/hoptrace/. */
#include "fuzz-util.h"

#include <netinet/in.h>

#include <trawl/dispatch.h>
#include <trawl/trawl.h>

#include "scan/hoptrace.h"

struct sent {
  uint8_t b[128];
  size_t len;
};
struct fz {
  struct sent s[16];
  int n;
};

static void on_send(void *arg, const uint8_t *buf, size_t len) {
  struct fz *z = arg;
  if (z->n < 16 && len <= sizeof z->s[0].b) {
    memcpy(z->s[z->n].b, buf, len);
    z->s[z->n++].len = len;
  }
}

static void feed(struct hoptrace *ht, const uint8_t *ip, size_t len) {
  tw_frame fr;
  memset(&fr, 0, sizeof fr);
  fr.data = ip;
  fr.caplen = fr.len = (uint32_t)len;
  fr.linktype = TW_LINK_RAW;
  tw_rx rx;
  int reason;
  if (tw_rx_decode(&fr, &rx, &reason) == 0) hoptrace_input(ht, &rx, 1000000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 4096) return 0;
  struct hoptrace_quote q;
  int qr = hoptrace_quote_parse(data + 1, size - 1, &q);
  FUZZ_CHECK(qr == 0 || qr == -1);
  tw_loop *loop = NULL;
  if (tw_loop_new(&loop) < 0) return 0;
  struct cookie_key key;
  cookie_key_from_seed(&key, 42);
  static const char *dst[3] = {"198.18.30.10", "198.18.30.11", "198.18.70.12"};
  static const uint8_t proto[3] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
  struct hoptrace_target t[3];
  memset(t, 0, sizeof t);
  bool v6 = (data[0] & 4) != 0; /* bit 2: the same three over IPv6 */
  static const char *dst6[3] = {"2001:db8:30::10", "2001:db8:30::11", "2001:db8:70::12"};
  for (int i = 0; i < 3; i++) {
    tw_pkt_addr_parse(&t[i].dst, v6 ? dst6[i] : dst[i]);
    tw_pkt_addr_parse(&t[i].src, v6 ? "2001:db8:10::2" : "198.18.10.2");
    t[i].proto = proto[i];
    t[i].dport = proto[i] == IPPROTO_ICMP ? 0 : 80;
    t[i].dist = i + 2;
  }
  t[0].ack = (data[0] & 2) != 0; /* TCP ACK probes, answered by RST */
  struct fz z = {0};
  struct hoptrace_cfg c = {0};
  c.loop = loop;
  c.key = &key;
  c.sport_lo = 40000;
  c.sport_hi = 50000;
  c.timeout_ns = c.min_timeout_ns = 100000000;
  c.tries = 2;
  c.window = 3;
  c.send = on_send;
  c.send_arg = &z;
  struct hoptrace *ht = NULL;
  if (hoptrace_new(&ht, &c, t, 3) < 0 || hoptrace_start(ht) < 0) {
    hoptrace_free(ht);
    tw_loop_close(loop);
    return 0;
  }
  int sent0 = z.n;
  if ((data[0] & 1) == 0 || z.n == 0) {
    feed(ht, data + 1, size - 1);
  } else {
    const struct sent *p = &z.s[data[1] % sent0];
    size_t ql = size - 2 < p->len ? size - 2 : p->len;
    uint8_t qb[128];
    memcpy(qb, p->b, p->len);
    for (size_t k = 0; k < ql; k++) qb[k] ^= data[2 + k];
    tw_pkt_ipspec ip;
    memset(&ip, 0, sizeof ip);
    tw_pkt_addr_parse(&ip.src, v6 ? "2001:db8:11::2" : "198.18.11.2");
    tw_pkt_addr_parse(&ip.dst, v6 ? "2001:db8:10::2" : "198.18.10.2");
    tw_pkt_icmp ic;
    memset(&ic, 0, sizeof ic);
    ic.type = 11;
    tw_pkt_icmp6 ic6;
    memset(&ic6, 0, sizeof ic6);
    ic6.type = 3;
    uint8_t out[256];
    int n = tw_pkt_build_icmp(out, sizeof out, &ip, v6 ? NULL : &ic, v6 ? &ic6 : NULL, qb, p->len);
    if (n > 0) feed(ht, out, (size_t)n);
  }
  const struct hoptrace_stats *st = hoptrace_stats(ht);
  FUZZ_CHECK(st->replies + st->malformed + st->unsolicited + st->duplicates <= 1);
  FUZZ_CHECK(st->sent >= (uint64_t)sent0);
  for (uint32_t i = 0; i < 3; i++) {
    struct hoptrace_hop h[HOPTRACE_MAX_TTL];
    int same, upto;
    int n = hoptrace_hops(ht, i, h, HOPTRACE_MAX_TTL, &same, &upto);
    FUZZ_CHECK(n >= 0 && n <= HOPTRACE_MAX_TTL && same < 3 && upto <= n);
    for (int k = 0; k < n; k++) FUZZ_CHECK(h[k].state != HOP_GOT || h[k].tries > 0 || same >= 0);
  }
  hoptrace_free(ht);
  tw_loop_close(loop);
  return 0;
}
