/* packets_dispatch.c: dispatcher cost per packet as the number of waiters
 * grows (10, 10,000, 1,000,000), no network.
 *
 * Workload: every waiter waits for the answer to its own probe (protocol,
 * both addresses, both ports: the shape of a connect-style scan). Packets
 * are built in a ring of 256 frames laid out like the capture's ring (2 KiB
 * apart); before each pass over the ring (untimed) every frame is given a
 * fresh random waiter's key, and half of them a port nobody waits for. So
 * every packet goes to a random one of all the waiters, never to a warm
 * few: with a million waiters the tables and waiters are far larger than
 * the caches and nearly every lookup misses them.
 *
 * Two paths, the same frames:
 *   batch  tw__dispatch_batch() on the ring, as the capture feeds its ring
 *          (looked up 32 frames at a time, table entries and waiters
 *          prefetched). This is what captured packets go through.
 *   frame  tw_dispatch_input() once per frame (the public one-frame call).
 * Each (size, path) is measured REPS times, alternating sizes and paths so
 * that the machine's load hits all of them alike; the median is printed.
 *
 * Cold: caches and TLB emptied (64 MiB written) before each sample, then
 * one burst of 32 packets (half matching) dispatched and timed; and one
 * single matching packet. Median of COLD samples, clock overhead removed.
 *
 *   packets_dispatch [PACKETS_PER_RUN [REPS [PATH WAITERS]]]
 * (PATH frame, batch or scan and a number of WAITERS: only that, for
 * profiling). Prints "# ..." detail lines and
 *   RESULT dispatch path=batch w10=<ns> w10000=<ns> w1000000=<ns> ratio=<w1M/w10>
 *   RESULT dispatch_frame path=frame w10=<ns> w10000=<ns> w1000000=<ns> ratio=<>
 * When built against a libtrawl without tw__dispatch_batch (to measure an
 * older version) the batch path is skipped. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <trawl/dispatch.h>
#include <trawl/trawl.h>

#include "dispatch-int.h"
#pragma weak tw__dispatch_batch

#define RING 256
#define STRIDE 2048
#define FRAMELEN 54
#define BURST 32
#define COLD 101
#define EVICT (64u << 20)

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1dull;
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

static void frame_init(uint8_t *b) {
  memset(b, 0, FRAMELEN);
  put16(b + 12, 0x0800);
  uint8_t *ip = b + 14;
  ip[0] = 0x45;
  put16(ip + 2, 40);
  ip[8] = 64;
  ip[9] = 6;
  ip[16] = 198; ip[17] = 19; ip[18] = 0; ip[19] = 1;
  uint8_t *t = ip + 20;
  put16(t, 80);
  t[12] = 5 << 4;
  t[13] = 0x12;
}

/* Frame b answers waiter key k; with `miss`, on a port nobody waits on. */
static void frame_aim(uint8_t *b, uint32_t k, int miss) {
  uint16_t dport;
  key_of(k, b + 14 + 12, &dport);
  put16(b + 14 + 20 + 2, miss ? 60000 : dport);
}

static uint64_t hits;
static void cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status == 0) hits++;
}

typedef struct bench bench;
typedef struct ref {
  bench *b;
  uint32_t j;
} ref;

struct bench {
  uint32_t w;
  int scan;       /* scan-like: once + timeout waiters, each answer re-arms one */
  tw_loop *loop;
  ref *refs;      /* scan: waiter j's callback data */
  uint32_t *live; /* scan: the key waiter j waits for once the frames aimed so far are in */
  uint32_t next;  /* scan: the next key index a callback arms */
  uint32_t pnext; /* scan: ... once the frames aimed so far are in */
  uint8_t *mem;
  tw_frame f[RING];
};

static void arm(bench *b, uint32_t j, uint32_t key);

/* The scan's answer: the probe is done, the next probe's waiter is armed. */
static void scan_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status != 0) return;
  ref *r = data;
  hits++;
  arm(r->b, r->j, r->b->next++);
}

static void arm(bench *b, uint32_t j, uint32_t key) {
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST | TW_M_SPORT | TW_M_DPORT;
  m.proto = 6;
  m.src.family = m.dst.family = AF_INET;
  key_of(key, m.src.b, &m.dport);
  m.sport = 80;
  m.dst.b[0] = 198; m.dst.b[1] = 19; m.dst.b[3] = 1;
  int err = b->scan ? tw_wait(b->loop, NULL, &m, TW_WAIT_ONCE, 600000000000ull, scan_cb, &b->refs[j])
                    : tw_wait(b->loop, NULL, &m, 0, 0, cb, NULL);
  if (err) { fprintf(stderr, "tw_wait failed\n"); exit(1); }
}

static void setup(bench *b, uint32_t w, int scan) {
  b->w = w;
  b->scan = scan;
  b->next = b->pnext = w;
  b->live = scan ? calloc(w, sizeof *b->live) : NULL;
  b->refs = scan ? calloc(w, sizeof *b->refs) : NULL;
  for (uint32_t j = 0; scan && j < w; j++) b->refs[j] = (ref){b, j};
  tw_loop_new(&b->loop);
  for (uint32_t i = 0; i < w; i++) {
    if (scan) b->live[i] = i;
    arm(b, i, i);
  }
  b->mem = aligned_alloc(4096, (size_t)RING * STRIDE);
  for (int k = 0; k < RING; k++) {
    uint8_t *p = b->mem + (size_t)k * STRIDE;
    frame_init(p);
    memset(&b->f[k], 0, sizeof b->f[k]);
    b->f[k].data = p;
    b->f[k].caplen = b->f[k].len = FRAMELEN;
    b->f[k].linktype = TW_LINK_ETH;
    b->f[k].ifindex = 2;
  }
}

/* Fresh keys for frames [from, from+n): half of them match (alternating). */
static uint64_t aim(bench *b, int from, int n) {
  uint64_t want = 0;
  for (int k = from; k < from + n; k++) {
    int miss = k & 1;
    uint32_t j = (uint32_t)(rnd() % b->w), key = j;
    if (b->scan) { /* callbacks run in frame order: each answer re-arms j with the next key */
      key = b->live[j];
      if (!miss) b->live[j] = b->pnext++;
    }
    frame_aim(b->mem + (size_t)k * STRIDE, key, miss);
    want += !miss;
  }
  return want;
}

static void dispatch(bench *b, int batch, int from, int n) {
  if (batch) {
    tw__dispatch_batch(b->loop, b->f + from, (size_t)n);
  } else {
    for (int k = from; k < from + n; k++) tw_dispatch_input(b->loop, &b->f[k]);
  }
}

/* ns per packet over about npkts packets, timing only the dispatching. */
static double run(bench *b, int batch, uint64_t npkts) {
  uint64_t busy = 0, want = 0, done = 0;
  hits = 0;
  while (done < npkts) {
    want += aim(b, 0, RING);
    uint64_t t0 = now_ns();
    dispatch(b, batch, 0, RING);
    busy += now_ns() - t0;
    done += RING;
  }
  if (hits != want || b->next != b->pnext) {
    fprintf(stderr, "w=%u: %llu deliveries, want %llu\n", b->w, (unsigned long long)hits,
            (unsigned long long)want);
    exit(1);
  }
  return (double)busy / (double)done;
}

static uint8_t *evict_buf;
static void evict(void) {
  for (size_t i = 0; i < EVICT; i += 64) evict_buf[i]++;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmpd);
  return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double clock_cost(void) {
  double v[COLD];
  for (int s = 0; s < COLD; s++) {
    uint64_t t0 = now_ns();
    v[s] = (double)(now_ns() - t0);
  }
  return median(v, COLD);
}

/* Median ns per packet of a burst of n packets dispatched with cold caches. */
static double cold(bench *b, int batch, int n, double overhead) {
  double v[COLD];
  for (int s = 0; s < COLD; s++) {
    aim(b, 0, n); /* frame 0 matches */
    evict();
    uint64_t t0 = now_ns();
    dispatch(b, batch, 0, n);
    double dt = (double)(now_ns() - t0) - overhead;
    v[s] = dt / n;
  }
  return median(v, COLD);
}

/* One path, one size, for profiling: prints ns/pkt of each run. */
static int only(const char *path, uint32_t w, uint64_t n, int reps) {
  int p = !strcmp(path, "frame") ? 0 : !strcmp(path, "batch") ? 1 : !strcmp(path, "scan") ? 2 : -1;
  if (p < 0 || (p && !tw__dispatch_batch)) return 2;
  static bench b;
  setup(&b, w, p == 2);
  run(&b, p != 0, n / 4);
  for (int r = 0; r < reps; r++) printf("%s w=%u: %.1f ns/pkt\n", path, w, run(&b, p != 0, n));
  tw_loop_close(b.loop);
  return 0;
}

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  int reps = argc > 2 ? atoi(argv[2]) : 7;
  if (reps < 1 || reps > 99) reps = 7;
  if (argc > 4) return only(argv[3], (uint32_t)strtoul(argv[4], NULL, 10), n, reps);
  int have_batch = tw__dispatch_batch != NULL;
  const uint32_t ws[3] = {10, 10000, 1000000};
  /* paths: 0 frame, 1 batch, 2 scan-like (batch) */
  const char *pname[3] = {"frame", "batch", "scan"};
  static bench b[3][3];
  int np = have_batch ? 3 : 1;
  for (int p = 0; p < np; p++)
    for (int i = 0; i < 3; i++) {
      if (p == 1) b[p][i] = b[0][i]; /* frame and batch share their waiters */
      else setup(&b[p][i], ws[i], p == 2);
    }
  for (int p = 0; p < np; p++)
    for (int i = 0; i < 3; i++) run(&b[p][i], p != 0, n / 4); /* warm up */
  double v[3][3][99], med[3][3];
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < 3; i++)
      for (int q = 0; q < np; q++) {
        int p = (q + r) % np; /* rotate which path goes first */
        v[p][i][r] = run(&b[p][i], p != 0, n);
      }
  for (int p = 0; p < np; p++)
    for (int i = 0; i < 3; i++) {
      printf("# dispatch %-5s w=%-7u runs:", pname[p], ws[i]);
      for (int r = 0; r < reps; r++) printf(" %.1f", v[p][i][r]);
      med[p][i] = median(v[p][i], reps);
      printf("  median %.1f ns/pkt\n", med[p][i]);
    }
  evict_buf = calloc(1, EVICT);
  double oh = clock_cost();
  for (int i = 0; i < 3; i++) {
    double c1 = cold(&b[0][i], 0, 1, oh), cf = cold(&b[0][i], 0, BURST, oh);
    double cb32 = have_batch ? cold(&b[1][i], 1, BURST, oh) : 0;
    printf("# dispatch cold w=%-7u one packet %.0f ns; burst of %d: frame %.1f ns/pkt, batch %.1f ns/pkt\n",
           ws[i], c1, BURST, cf, cb32);
  }
  if (have_batch) {
    printf("RESULT dispatch path=batch w10=%.1f w10000=%.1f w1000000=%.1f ratio=%.2f\n", med[1][0],
           med[1][1], med[1][2], med[1][2] / med[1][0]);
    printf("RESULT dispatch_scan path=batch,once+timeout,rearm w10=%.1f w10000=%.1f w1000000=%.1f ratio=%.2f\n",
           med[2][0], med[2][1], med[2][2], med[2][2] / med[2][0]);
  }
  printf("RESULT dispatch_frame path=frame w10=%.1f w10000=%.1f w1000000=%.1f ratio=%.2f\n",
         med[0][0], med[0][1], med[0][2], med[0][2] / med[0][0]);
  for (int i = 0; i < 3; i++) {
    tw_loop_close(b[0][i].loop);
    if (have_batch) tw_loop_close(b[2][i].loop);
  }
  return 0;
}
