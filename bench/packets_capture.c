/* packets_capture.c: receive the frames packets_send sends (UDP to port 9)
 * and measure how many arrive and how late: latency is the time from the
 * kernel's receive timestamp to the moment the frame reaches our code.
 *
 *   packets_capture MODE IFNAME EXPECTED
 *   MODE: trawl  tw_capture (TPACKET_V2 ring) + dispatcher + one waiter
 *         pcap   libpcap, immediate mode, non-blocking, epoll + pcap_dispatch
 *         v3     a bare TPACKET_V3 ring, 1 ms block timeout, epoll
 * Says "ready" on stderr once its socket is open (the driver starts the
 * sender then). Stops once EXPECTED frames arrived, or 1 s after the last
 * one (5 s if none came). Prints: received=<n> drops=<kernel drops>
 * rx_pps=<arrival rate, by kernel timestamps> p50_us=<> p99_us=<>
 * (latency percentiles over the frames received). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>
#include <trawl/trawl.h>

/* Every mechanism gets the ring libtrawl's capture has (lib/capture.c). */
#define RING_BYTES (32u << 20)

static uint64_t expected, received, drops;
static uint64_t *lat;
static uint64_t last_rx_mono;
static uint64_t first_ts, last_ts; /* kernel timestamps of the first and last frame */

static uint64_t realtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void got(uint64_t ts_ns) {
  uint64_t now = realtime();
  if (received < expected) lat[received] = now > ts_ns ? now - ts_ns : 0;
  received++;
  if (!first_ts) first_ts = ts_ns;
  last_ts = ts_ns;
  last_rx_mono = tw_hrtime();
}

static void ready(void) {
  fprintf(stderr, "ready\n");
  fflush(stderr);
}

static int done(uint64_t start) {
  uint64_t now = tw_hrtime();
  if (received >= expected) return 1;
  if (received == 0) return now - start > 5000000000ull;
  return now - last_rx_mono > 1000000000ull;
}

/* ---- trawl ---- */
static tw_req *waiter;
static tw_capture *cap;
static uint64_t t_start;
static void on_pkt(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status == 0) got(rx->frame->ts_ns);
}
static void on_tick(tw_timer *t, int status) {
  if (status || !done(t_start)) return;
  tw_capture_stats st;
  tw_capture_stats_get(cap, &st);
  drops = st.dropped;
  tw_cancel(waiter);
  tw_capture_release(cap);
  tw_timer_stop(t);
}
static int run_trawl(const char *ifname) {
  tw_loop *loop;
  tw_loop_new(&loop);
  int err = tw_capture_open(loop, &cap, ifname, 0);
  if (err) { fprintf(stderr, "capture: %s\n", tw_strerror(err)); return 1; }
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_PROTO | TW_M_DPORT;
  m.proto = 17;
  m.dport = 9;
  tw_wait(loop, &waiter, &m, 0, 0, on_pkt, NULL);
  ready();
  tw_timer *t;
  tw_timer_new(loop, &t, NULL);
  t_start = tw_hrtime();
  tw_timer_start(t, on_tick, 10000000, 10000000);
  tw_loop_run(loop, TW_RUN_DEFAULT);
  tw_loop_close(loop);
  return 0;
}

/* ---- libpcap ---- */
static void pcap_cb(u_char *u, const struct pcap_pkthdr *h, const u_char *bytes) {
  got((uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec);
}
static int run_pcap(const char *ifname) {
  char eb[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_create(ifname, eb);
  if (!p) { fprintf(stderr, "%s\n", eb); return 1; }
  pcap_set_snaplen(p, 2048);
  pcap_set_immediate_mode(p, 1);
  pcap_set_buffer_size(p, RING_BYTES);
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  if (pcap_activate(p) < 0) { fprintf(stderr, "%s\n", pcap_geterr(p)); return 1; }
  struct bpf_program prog;
  pcap_compile(p, &prog, "udp dst port 9", 1, PCAP_NETMASK_UNKNOWN);
  pcap_setfilter(p, &prog);
  pcap_setnonblock(p, 1, eb);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, pcap_get_selectable_fd(p), &ev);
  ready();
  uint64_t start = tw_hrtime();
  while (!done(start)) {
    epoll_wait(ep, &ev, 1, 10);
    while (pcap_dispatch(p, -1, pcap_cb, NULL) > 0) {}
  }
  struct pcap_stat ps;
  if (pcap_stats(p, &ps) == 0) drops = ps.ps_drop;
  pcap_close(p);
  return 0;
}

/* ---- bare TPACKET_V3 ---- */
static int run_v3(const char *ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  int v = TPACKET_V3;
  setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v);
  struct tpacket_req3 req = {.tp_block_size = 1 << 20, .tp_block_nr = RING_BYTES >> 20,
                             .tp_frame_size = 2048, .tp_frame_nr = RING_BYTES / 2048,
                             .tp_retire_blk_tov = 1};
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) { perror("ring"); return 1; }
  uint8_t *ring = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                            .sll_ifindex = (int)if_nametoindex(ifname)};
  bind(fd, (struct sockaddr *)&sll, sizeof sll);
  ready();
  unsigned blk = 0;
  uint64_t start = tw_hrtime();
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  while (!done(start)) {
    struct tpacket_block_desc *bd = (void *)(ring + (size_t)blk * req.tp_block_size);
    if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      poll(&pfd, 1, 10);
      continue;
    }
    struct tpacket3_hdr *h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
    for (unsigned i = 0; i < bd->hdr.bh1.num_pkts; i++) {
      const uint8_t *f = (const uint8_t *)h + h->tp_mac;
      if (h->tp_snaplen >= 38 && f[12] == 8 && f[13] == 0 && f[23] == 17 && f[36] == 0 && f[37] == 9)
        got((uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec);
      h = (void *)((uint8_t *)h + h->tp_next_offset);
    }
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    blk = (blk + 1) % req.tp_block_nr;
  }
  struct tpacket_stats_v3 st;
  socklen_t sl = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0) drops = st.tp_drops;
  return 0;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: packets_capture MODE IFNAME EXPECTED\n"); return 2; }
  expected = strtoull(argv[3], NULL, 10);
  lat = calloc(expected ? expected : 1, sizeof *lat);
  int rc;
  if (!strcmp(argv[1], "trawl")) rc = run_trawl(argv[2]);
  else if (!strcmp(argv[1], "pcap")) rc = run_pcap(argv[2]);
  else if (!strcmp(argv[1], "v3")) rc = run_v3(argv[2]);
  else return 2;
  if (rc) return rc;
  uint64_t n = received < expected ? received : expected;
  qsort(lat, n, sizeof *lat, cmp);
  double p50 = n ? (double)lat[n / 2] / 1000.0 : 0, p99 = n ? (double)lat[n * 99 / 100] / 1000.0 : 0;
  /* The rate the frames arrived at: kernel timestamps, first to last. */
  double rx_pps = received > 1 && last_ts > first_ts
                      ? (double)(received - 1) * 1e9 / (double)(last_ts - first_ts) : 0;
  printf("received=%llu drops=%llu rx_pps=%.0f p50_us=%.1f p99_us=%.1f\n",
         (unsigned long long)received, (unsigned long long)drops, rx_pps, p50, p99);
  return 0;
}
