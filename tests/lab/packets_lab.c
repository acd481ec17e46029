/* packets_lab.c: the packet layer against real Linux stacks, run by
 * test_packets.sh inside the scanner namespace of a small lab it builds:
 *
 *   twcap-s  s0 198.18.200.1/24 2001:db8:200::1/64
 *      |
 *   twcap-r  r0 198.18.200.254 2001:db8:200::fe (MAC 02:74:63:00:00:fe)
 *            r1 198.18.201.254 2001:db8:201::fe       (a router)
 *      |
 *   twcap-h  h0 198.18.201.10 2001:db8:201::10, TCP listener on port 80
 *
 * Checks: route lookups (async and sync) find interface, source and
 * gateway; ARP and ND resolve the router's MAC through rawsend + dispatcher;
 * a TCP SYN sent as an Ethernet frame and one sent as raw IPv4 get their
 * SYN-ACK / RST through the dispatcher; a SYN with TTL 1 gets the router's
 * time-exceeded, delivered to the SYN's waiter, and a SYN-ACK wakes only its own
 * waiter among 100,000 registered for near misses; receive timestamps are
 * monotonic and close to send timestamps; the capture is shared; the
 * kernel filter keeps out a RST nobody waits for (TRAWL_CAPTURE_FILTER=broad
 * makes that check fail).
 * Prints one line per check, exits 1 if any failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>
#include <trawl/rawsend.h>
#include <trawl/route.h>
#include <trawl/trawl.h>

#define MS 1000000ull

static int failures, checks;
#define CHECK(cond, ...)                                          \
  do {                                                            \
    checks++;                                                     \
    if (cond) {                                                   \
      printf("ok %d - ", checks);                                 \
    } else {                                                      \
      failures++;                                                 \
      printf("not ok %d - (%s:%d) ", checks, __FILE__, __LINE__); \
    }                                                             \
    printf(__VA_ARGS__);                                          \
    printf("\n");                                                 \
    fflush(stdout);                                               \
  } while (0)

static tw_pkt_addr A(const char *s) {
  tw_pkt_addr a;
  if (tw_pkt_addr_parse(&a, s) != 0) {
    fprintf(stderr, "bad address %s\n", s);
    exit(2);
  }
  return a;
}

static const char *S(const tw_pkt_addr *a) {
  static char buf[4][64];
  static int i;
  i = (i + 1) % 4;
  return tw_pkt_addr_str(a, buf[i], sizeof buf[i]);
}

static const char *MAC(const uint8_t m[6]) {
  static char buf[2][20];
  static int i;
  i = (i + 1) % 2;
  snprintf(buf[i], sizeof buf[i], "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
           m[4], m[5]);
  return buf[i];
}

static uint64_t realtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A TCP SYN from src:sport to dst:dport; with an Ethernet header if smac. */
static int build_syn(uint8_t *buf, size_t cap, const uint8_t *smac, const uint8_t *dmac,
                     const tw_pkt_addr *src, const tw_pkt_addr *dst, uint16_t sport,
                     uint16_t dport, uint32_t seq, uint8_t ttl) {
  int n = 0;
  if (smac) {
    tw_pkt_eth e;
    memset(&e, 0, sizeof e);
    memcpy(e.src, smac, 6);
    memcpy(e.dst, dmac, 6);
    e.type = TW_ETH_IP4;
    n = tw_pkt_eth_build(buf, cap, &e);
    if (n < 0) return n;
  }
  uint8_t tcp[60];
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.sport = sport;
  t.dport = dport;
  t.seq = seq;
  t.flags = TW_TCP_SYN;
  t.win = 1024;
  int tl = tw_pkt_tcp_build(tcp, sizeof tcp, &t);
  if (tl < 0) return tl;
  uint32_t sum = tw_pkt_csum_pseudo4(src->v4, dst->v4, IPPROTO_TCP, (uint16_t)tl);
  uint16_t cs = tw_pkt_csum_fold(tw_pkt_csum_add(sum, tcp, (size_t)tl));
  tcp[16] = (uint8_t)(cs >> 8);
  tcp[17] = (uint8_t)cs;
  tw_pkt_ip4 ip;
  memset(&ip, 0, sizeof ip);
  ip.ttl = ttl;
  ip.proto = IPPROTO_TCP;
  ip.src = src->v4;
  ip.dst = dst->v4;
  ip.id = (uint16_t)seq;
  int hl = tw_pkt_ip4_build(buf + n, cap - (size_t)n, &ip, (size_t)tl);
  if (hl < 0) return hl;
  memcpy(buf + n + hl, tcp, (size_t)tl);
  return n + hl + tl;
}

/* ---- routes ---------------------------------------------------------------- */

typedef struct route_res {
  int status, calls;
  tw_route r;
} route_res;

static void route_cb(tw_req *req, int status, const tw_route *r, void *data) {
  route_res *res = data;
  res->calls++;
  res->status = status;
  if (r) res->r = *r;
}

static void test_routes(tw_loop *loop) {
  route_res v4 = {0}, v6 = {0}, onlink = {0}, none = {0};
  tw_pkt_addr h4 = A("198.18.201.10"), h6 = A("2001:db8:201::10"), r4 = A("198.18.200.254"),
              nowhere = A("198.18.250.1");
  CHECK(tw_route_get(loop, NULL, &h4, route_cb, &v4) == 0, "route_get v4 queued");
  CHECK(tw_route_get(loop, NULL, &h6, route_cb, &v6) == 0, "route_get v6 queued");
  CHECK(tw_route_get(loop, NULL, &r4, route_cb, &onlink) == 0, "route_get on-link queued");
  CHECK(tw_route_get(loop, NULL, &nowhere, route_cb, &none) == 0, "route_get unroutable queued");
  tw_loop_run(loop, TW_RUN_DEFAULT);
  CHECK(v4.calls == 1 && v4.status == 0 && !strcmp(v4.r.ifname, "s0") &&
            !strcmp(S(&v4.r.src), "198.18.200.1") && !strcmp(S(&v4.r.gateway), "198.18.200.254") &&
            !strcmp(S(&v4.r.nexthop), "198.18.200.254") && v4.r.mtu == 1500,
        "route to 198.18.201.10: dev %s src %s via %s mtu %u (status %d)", v4.r.ifname,
        S(&v4.r.src), S(&v4.r.gateway), v4.r.mtu, v4.status);
  CHECK(v6.calls == 1 && v6.status == 0 && !strcmp(v6.r.ifname, "s0") &&
            !strcmp(S(&v6.r.src), "2001:db8:200::1") && !strcmp(S(&v6.r.gateway), "2001:db8:200::fe"),
        "route to 2001:db8:201::10: dev %s src %s via %s (status %d)", v6.r.ifname,
        S(&v6.r.src), S(&v6.r.gateway), v6.status);
  CHECK(onlink.status == 0 && onlink.r.gateway.family == 0 &&
            !strcmp(S(&onlink.r.nexthop), "198.18.200.254"),
        "on-link route: no gateway, next hop is the destination (%s)", S(&onlink.r.nexthop));
  CHECK(none.calls == 1 && none.status == -ENETUNREACH, "unroutable: %s",
        tw_errname(none.status));
  tw_route sync;
  int rc = tw_route_get_sync(&h4, &sync);
  CHECK(rc == 0 && sync.ifindex == v4.r.ifindex && tw_pkt_addr_eq(&sync.src, &v4.r.src) &&
            tw_pkt_addr_eq(&sync.gateway, &v4.r.gateway),
        "route_get_sync agrees (%d, dev %s)", rc, sync.ifname);
}

/* ---- neighbours ---------------------------------------------------------------- */

typedef struct neigh_res {
  int status, calls;
  uint8_t mac[6];
  uint64_t t;
} neigh_res;

static void neigh_cb(tw_req *req, int status, const uint8_t mac[6], void *data) {
  neigh_res *res = data;
  res->calls++;
  res->status = status;
  res->t = tw_hrtime();
  if (mac) memcpy(res->mac, mac, 6);
}

static void test_neigh(tw_loop *loop, const char *router_mac) {
  int ifindex = (int)if_nametoindex("s0");
  neigh_res arp = {0}, nd = {0}, dead = {0}, kern = {0};
  tw_neigh_opts o = {.skip_kernel = 1, .timeout_ns = 200 * MS, .tries = 3};
  tw_pkt_addr r4 = A("198.18.200.254"), r6 = A("2001:db8:200::fe"), dead4 = A("198.18.200.99");
  CHECK(tw_neigh_resolve(loop, NULL, ifindex, &r4, &o, neigh_cb, &arp) == 0, "ARP resolve started");
  CHECK(tw_neigh_resolve(loop, NULL, ifindex, &r6, &o, neigh_cb, &nd) == 0, "ND resolve started");
  tw_neigh_opts od = {.skip_kernel = 1, .timeout_ns = 100 * MS, .tries = 2};
  uint64_t t0 = tw_hrtime();
  CHECK(tw_neigh_resolve(loop, NULL, ifindex, &dead4, &od, neigh_cb, &dead) == 0,
        "ARP for a dead address started");
  tw_loop_run(loop, TW_RUN_DEFAULT);
  CHECK(arp.calls == 1 && arp.status == 0 && !strcmp(MAC(arp.mac), router_mac),
        "ARP: 198.18.200.254 is at %s (status %s)", MAC(arp.mac), tw_errname(arp.status));
  CHECK(nd.calls == 1 && nd.status == 0 && !strcmp(MAC(nd.mac), router_mac),
        "ND: 2001:db8:200::fe is at %s (status %s)", MAC(nd.mac), tw_errname(nd.status));
  CHECK(dead.calls == 1 && dead.status == -EHOSTUNREACH && dead.t - t0 >= 200 * MS,
        "dead address: %s after %llu ms (2 tries x 100 ms)", tw_errname(dead.status),
        (unsigned long long)((dead.t - t0) / MS));
  /* The kernel's table knows the router once it has talked to it. */
  tw_neigh_opts ok = {0};
  CHECK(tw_neigh_resolve(loop, NULL, ifindex, &r4, &ok, neigh_cb, &kern) == 0, "kernel table lookup");
  tw_loop_run(loop, TW_RUN_DEFAULT);
  CHECK(kern.status == 0 && !strcmp(MAC(kern.mac), router_mac), "neighbour table: %s (%s)",
        MAC(kern.mac), tw_errname(kern.status));
}

/* ---- probes --------------------------------------------------------------- */

typedef struct probe {
  const char *what;
  uint64_t sent_ns;
  int sent_status;
  int got, status, quoted;
  uint16_t flags;
  uint32_t ack;
  uint8_t icmp_type;
  tw_pkt_addr from;
  uint64_t rx_ns;
} probe;

static uint64_t last_rx;
static int rx_backwards;

static void sent_cb(tw_rawsock *rs, int status, uint64_t ns, void *tag) {
  probe *p = tag;
  p->sent_status = status;
  p->sent_ns = ns;
}

static void answer_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  probe *p = data;
  p->status = status;
  if (status != 0) return;
  p->got++;
  p->quoted = rx->quoted;
  p->flags = rx->tcp_flags;
  p->ack = rx->tcp_ack;
  p->icmp_type = rx->icmp_type;
  p->from = rx->src;
  p->rx_ns = rx->frame->ts_ns;
  if (p->rx_ns < last_rx) rx_backwards++;
  last_rx = p->rx_ns;
}

static tw_match answer_to(const tw_pkt_addr *dst, uint16_t dport, const tw_pkt_addr *src,
                          uint16_t sport) {
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST | TW_M_SPORT | TW_M_DPORT;
  m.proto = IPPROTO_TCP;
  m.src = *dst;
  m.dst = *src;
  m.sport = dport;
  m.dport = sport;
  return m;
}

typedef struct path_res {
  int status;
  tw_path p;
} path_res;

static void path_cb(tw_req *req, int status, const tw_path *p, void *data) {
  path_res *r = data;
  r->status = status;
  if (p) r->p = *p;
}

/* ---- one answer among 100,000 waiters ------------------------------------------ */

#define DECOYS 100000
static int decoy_woken;
static void decoy_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status == 0) decoy_woken++;
}

/* A SYN to port 80 from port 40003, while 100,000 other waiters wait for
 * near misses: answers from ports 80 and 81 to every other local port
 * 1-50,003. Only the SYN's own waiter may wake. (So many distinct keys
 * overflow the kernel filter's map: it passes everything meanwhile.) */
static void many_waiters(tw_loop *loop, tw_rawsock *eth, const tw_path *path, const tw_pkt_addr *h4) {
  const tw_pkt_addr *src = &path->route.src;
  tw_req **decoys = calloc(DECOYS, sizeof *decoys);
  if (!decoys) return;
  int registered = 0;
  for (int i = 0; i < DECOYS; i++) {
    uint16_t dport = (uint16_t)(1 + i % 50000);
    if (dport >= 40000 && dport <= 40003) dport = (uint16_t)(50000 + dport - 39999);
    tw_match m = answer_to(h4, i < 50000 ? 80 : 81, src, dport);
    if (tw_wait(loop, &decoys[i], &m, 0, 0, decoy_cb, NULL) == 0) registered++;
  }
  probe right = {.what = "SYN-ACK among 100,000 waiters"};
  tw_match m = answer_to(h4, 80, src, 40003);
  CHECK(registered == DECOYS &&
            tw_wait(loop, NULL, &m, TW_WAIT_ONCE | TW_WAIT_ERRORS, 2000 * MS, answer_cb, &right) == 0,
        "%d decoy waiters and the SYN's waiter registered", registered);
  uint8_t buf[128];
  int n = build_syn(buf, sizeof buf, path->src_mac, path->dst_mac, src, h4, 40003, 80, 5000, 64);
  CHECK(n > 0 && tw_rawsend(eth, buf, (size_t)n, NULL, NULL) == 0, "SYN from port 40003 queued");
  while (!right.got && right.status == 0) tw_loop_run(loop, TW_RUN_ONCE);
  CHECK(right.got == 1 && right.flags == (TW_TCP_SYN | TW_TCP_ACK) && right.ack == 5001 &&
            decoy_woken == 0,
        "%s: the right waiter woke (got %d, %s), %d of the others did", right.what, right.got,
        tw_errname(right.status), decoy_woken);
  for (int i = 0; i < DECOYS; i++)
    if (decoys[i]) tw_cancel(decoys[i]);
  tw_loop_run(loop, TW_RUN_DEFAULT);
  free(decoys);
}

static void test_probes(tw_loop *loop, const char *router_mac) {
  tw_pkt_addr h4 = A("198.18.201.10");
  path_res pr = {.status = 1};
  CHECK(tw_path_resolve(loop, NULL, &h4, NULL, path_cb, &pr) == 0, "path resolve started");
  tw_loop_run(loop, TW_RUN_DEFAULT);
  CHECK(pr.status == 0 && pr.p.l2 && !strcmp(MAC(pr.p.dst_mac), router_mac),
        "path to 198.18.201.10: dev %s, next hop MAC %s (%s)", pr.p.route.ifname,
        MAC(pr.p.dst_mac), tw_errname(pr.status));
  if (pr.status) return;
  tw_capture *cap = NULL, *cap2 = NULL;
  int rc = tw_capture_open(loop, &cap, pr.p.route.ifname, 0);
  CHECK(rc == 0, "capture on %s (%s)", pr.p.route.ifname, tw_errname(rc));
  if (rc) return;
  rc = tw_capture_open(loop, &cap2, pr.p.route.ifname, 0);
  CHECK(rc == 0 && cap2 == cap && tw_capture_refs(cap) == 2, "capture shared: same handle, 2 refs");
  CHECK(tw_capture_release(cap2) == 1, "release leaves one reference");
  tw_rawsock *eth = NULL, *ip4 = NULL;
  CHECK(tw_rawsock_new(loop, &eth, TW_RAW_ETH, pr.p.route.ifname, 0, NULL) == 0, "Ethernet raw socket");
  CHECK(tw_rawsock_new(loop, &ip4, TW_RAW_IP4, NULL, 0, NULL) == 0, "raw IPv4 socket");
  if (!eth || !ip4) return;

  const tw_pkt_addr *src = &pr.p.route.src;
  probe open80 = {.what = "SYN to port 80 (Ethernet)"}, closed81 = {.what = "SYN to port 81 (raw IPv4)"},
        ttl1 = {.what = "SYN with TTL 1"};
  uint8_t buf[128];
  /* 0. A SYN to closed port 82 that nobody waits for, first in the batch:
   * its RST comes back ahead of the answers below, and the kernel filter
   * (lib/capfilter.c) must keep it out of the ring. */
  int n = build_syn(buf, sizeof buf, pr.p.src_mac, pr.p.dst_mac, src, &h4, 40002, 82, 4000, 64);
  CHECK(n > 0 && tw_rawsend(eth, buf, (size_t)n, NULL, NULL) == 0, "unwaited SYN queued");
  /* 1. Ethernet frame to the listening port: SYN-ACK. */
  tw_match m = answer_to(&h4, 80, src, 40000);
  CHECK(tw_wait(loop, NULL, &m, TW_WAIT_ONCE | TW_WAIT_ERRORS, 2000 * MS, answer_cb, &open80) == 0,
        "waiter for the SYN-ACK");
  n = build_syn(buf, sizeof buf, pr.p.src_mac, pr.p.dst_mac, src, &h4, 40000, 80, 1000, 64);
  CHECK(n > 0 && tw_rawsend(eth, buf, (size_t)n, sent_cb, &open80) == 0, "SYN queued (Ethernet)");
  /* 2. raw IPv4 to a closed port: RST. */
  m = answer_to(&h4, 81, src, 40000);
  CHECK(tw_wait(loop, NULL, &m, TW_WAIT_ONCE | TW_WAIT_ERRORS, 2000 * MS, answer_cb, &closed81) == 0,
        "waiter for the RST");
  n = build_syn(buf, sizeof buf, NULL, NULL, src, &h4, 40000, 81, 2000, 64);
  CHECK(n > 0 && tw_rawsend(ip4, buf, (size_t)n, sent_cb, &closed81) == 0, "SYN queued (raw IPv4)");
  /* 3. TTL 1: the router answers time exceeded, quoting the SYN. */
  m = answer_to(&h4, 80, src, 40001);
  CHECK(tw_wait(loop, NULL, &m, TW_WAIT_ONCE | TW_WAIT_ERRORS, 2000 * MS, answer_cb, &ttl1) == 0,
        "waiter for the TTL-1 SYN");
  n = build_syn(buf, sizeof buf, pr.p.src_mac, pr.p.dst_mac, src, &h4, 40001, 80, 3000, 1);
  CHECK(n > 0 && tw_rawsend(eth, buf, (size_t)n, sent_cb, &ttl1) == 0, "TTL-1 SYN queued");
  uint64_t before = realtime();
  /* Nothing is flushed by hand: the prepare hook sends the batch. */
  tw_loop_run(loop, TW_RUN_DEFAULT);

  CHECK(open80.got == 1 && open80.flags == (TW_TCP_SYN | TW_TCP_ACK) && open80.ack == 1001 &&
            !open80.quoted,
        "%s: flags %#x ack %u (%s)", open80.what, open80.flags, open80.ack, tw_errname(open80.status));
  CHECK(closed81.got == 1 && (closed81.flags & TW_TCP_RST) && closed81.ack == 2001,
        "%s: flags %#x ack %u (%s)", closed81.what, closed81.flags, closed81.ack,
        tw_errname(closed81.status));
  CHECK(ttl1.got == 1 && ttl1.quoted && ttl1.icmp_type == 11 &&
            !strcmp(S(&ttl1.from), "198.18.200.254"),
        "%s: ICMP type %u from %s delivered to its waiter (quoted %d, %s)", ttl1.what,
        ttl1.icmp_type, S(&ttl1.from), ttl1.quoted, tw_errname(ttl1.status));
  probe *all[] = {&open80, &closed81, &ttl1};
  for (int i = 0; i < 3; i++) {
    probe *p = all[i];
    int64_t rtt = (int64_t)(p->rx_ns - p->sent_ns);
    CHECK(p->sent_status == 0 && p->sent_ns >= before && p->rx_ns && rtt > 0 && rtt < 100 * (int64_t)MS,
          "%s: sent at +%lld us, answer stamped %lld us later", p->what,
          (long long)(p->sent_ns - before) / 1000, (long long)rtt / 1000);
  }
  CHECK(rx_backwards == 0, "receive timestamps never go backwards");
  tw_capture_stats cs;
  tw_capture_stats_get(cap, &cs);
  tw_dispatch_stats ds;
  tw_dispatch_stats_get(loop, &ds);
  CHECK(cs.received >= 3 && cs.dropped == 0 && ds.matched >= 3 && ds.malformed == 0,
        "capture: %llu received, %llu dropped; dispatch: %llu matched, %llu unmatched",
        (unsigned long long)cs.received, (unsigned long long)cs.dropped,
        (unsigned long long)ds.matched, (unsigned long long)ds.unmatched);
  /* Only the waiters' packets reached the ring: not the RST from port 82,
   * nor the lab's ARP and IPv6 chatter. */
  CHECK(cs.filter == TW_FILTER_WAITERS && ds.unmatched == 0,
        "kernel filter follows the waiters: filter %d, %llu frames nobody wanted reached the "
        "dispatcher",
        cs.filter, (unsigned long long)ds.unmatched);
  tw_rawsend_stats rst;
  tw_rawsend_stats_get(eth, &rst);
  CHECK(rst.sent == 3 && rst.failed == 0, "Ethernet socket sent %llu", (unsigned long long)rst.sent);
  many_waiters(loop, eth, &pr.p, &h4);
  tw_close(eth, NULL);
  tw_close(ip4, NULL);
  CHECK(tw_capture_release(cap) == 0, "last release closes the capture");
  tw_loop_run(loop, TW_RUN_DEFAULT);
}

int main(int argc, char **argv) {
  const char *router_mac = argc > 1 ? argv[1] : "02:74:63:00:00:fe";
  tw_loop *loop;
  if (tw_loop_new(&loop) != 0) return 2;
  test_routes(loop);
  test_neigh(loop, router_mac);
  test_probes(loop, router_mac);
  CHECK(tw_loop_close(loop) == 0, "loop closed");
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}
