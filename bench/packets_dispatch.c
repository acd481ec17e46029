/* packets_dispatch.c: dispatcher cost per packet as the number of waiters
 * grows (10, 10,000, 1,000,000), no network. Every waiter waits for the
 * answer to its own probe (protocol, both addresses, both ports: the shape
 * of a connect-style scan); half of the packets fed answer a random waiter,
 * half answer nobody. 65,536 different frames are cycled so that with many
 * waiters the lookups really spread over the table (no warm cache).
 * Prints: RESULT dispatch w10=<ns/pkt> w10000=<ns/pkt> w1000000=<ns/pkt> ratio=<x> */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <trawl/dispatch.h>
#include <trawl/trawl.h>

#define NFRAMES 65536
#define FRAMELEN 54

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* waiter i: answers from 198.18.(i%65536) port 80 to 198.19.0.1 port 1024 + i/65536 */
static void key_of(uint32_t i, uint8_t src[4], uint16_t *dport) {
  src[0] = 198;
  src[1] = 18;
  src[2] = (uint8_t)((i % 65536) >> 8);
  src[3] = (uint8_t)i;
  *dport = (uint16_t)(1024 + i / 65536);
}

static void frame_for(uint8_t *b, const uint8_t src[4], uint16_t dport) {
  memset(b, 0, FRAMELEN);
  put16(b + 12, 0x0800);
  uint8_t *ip = b + 14;
  ip[0] = 0x45;
  put16(ip + 2, 40);
  ip[8] = 64;
  ip[9] = 6;
  memcpy(ip + 12, src, 4);
  ip[16] = 198; ip[17] = 19; ip[18] = 0; ip[19] = 1;
  uint8_t *t = ip + 20;
  put16(t, 80);
  put16(t + 2, dport);
  t[12] = 5 << 4;
  t[13] = 0x12;
}

static uint64_t hits;
static void cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status == 0) hits++;
}

static double run(uint32_t w, uint64_t npkts) {
  tw_loop *loop;
  tw_loop_new(&loop);
  for (uint32_t i = 0; i < w; i++) {
    tw_match m;
    memset(&m, 0, sizeof m);
    m.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST | TW_M_SPORT | TW_M_DPORT;
    m.proto = 6;
    m.src.family = m.dst.family = AF_INET;
    key_of(i, m.src.b, &m.dport);
    m.sport = 80;
    m.dst.b[0] = 198; m.dst.b[1] = 19; m.dst.b[3] = 1;
    if (tw_wait(loop, NULL, &m, 0, 0, cb, NULL) != 0) { fprintf(stderr, "tw_wait failed\n"); exit(1); }
  }
  uint8_t *frames = malloc((size_t)NFRAMES * FRAMELEN);
  srand(42);
  for (int k = 0; k < NFRAMES; k++) {
    uint8_t src[4];
    uint16_t dport;
    uint32_t i = (uint32_t)rand() % w;
    key_of(i, src, &dport);
    if (k & 1) dport = 60000; /* nobody waits for this one */
    frame_for(frames + (size_t)k * FRAMELEN, src, dport);
  }
  tw_frame f;
  memset(&f, 0, sizeof f);
  f.caplen = f.len = FRAMELEN;
  f.linktype = TW_LINK_ETH;
  f.ifindex = 2;
  hits = 0;
  uint64_t t0 = now_ns();
  for (uint64_t n = 0; n < npkts; n++) {
    f.data = frames + (size_t)(n % NFRAMES) * FRAMELEN;
    tw_dispatch_input(loop, &f);
  }
  uint64_t dt = now_ns() - t0;
  if (hits != npkts / 2) { fprintf(stderr, "w=%u: %llu hits, want %llu\n", w, (unsigned long long)hits, (unsigned long long)npkts / 2); exit(1); }
  free(frames);
  tw_loop_close(loop);
  return (double)dt / (double)npkts;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000000;
  double best[3] = {1e9, 1e9, 1e9};
  const uint32_t ws[3] = {10, 10000, 1000000};
  for (int rep = 0; rep < 3; rep++)
    for (int i = 0; i < 3; i++) {
      double r = run(ws[i], n);
      if (r < best[i]) best[i] = r;
    }
  printf("RESULT dispatch w10=%.1f w10000=%.1f w1000000=%.1f ratio=%.2f\n", best[0], best[1],
         best[2], best[2] / best[0]);
  return 0;
}
