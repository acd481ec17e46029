/* test_capfilter.c: the captures' kernel filter (lib/capfilter.c), run by
 * the kernel itself on hand-built frames (bpf BPF_PROG_TEST_RUN), with no
 * network. What must hold:
 *   - it never drops a frame the dispatcher would deliver (every frame x
 *     every waiter set below is checked against tw_dispatch_input);
 *   - it drops what no waiter could want (ports, addresses, protocols,
 *     families, ARP, ICMP errors each make a difference);
 *   - it follows waiters as they come and go, a shared key stays while
 *     one waiter still holds it, and past the map's size it passes
 *     everything until the overflow is gone.
 * Needs CAP_BPF (make test runs as root); skipped without it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <trawl/dispatch.h>
#include <trawl/trawl.h>

#include "capture-int.h"

/* ---- frames ------------------------------------------------------------------ */

struct frame {
  uint8_t b[128];
  size_t len;
};

static void be16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }

static tw_pkt_addr addr(const char *s) {
  tw_pkt_addr a;
  assert_int_equal(tw_pkt_addr_parse(&a, s), 0);
  return a;
}

/* Ethernet + IPv4/IPv6 (by the addresses) + `l4len` bytes of upper layer
 * starting with the given ports (or ICMP type/code in the first two). */
static struct frame ip(const char *src, const char *dst, uint8_t proto, unsigned a, unsigned b) {
  struct frame f;
  memset(&f, 0, sizeof f);
  tw_pkt_addr s = addr(src), d = addr(dst);
  uint8_t *p = f.b + 14, *l4;
  if (s.family == AF_INET) {
    be16(f.b + 12, 0x0800);
    p[0] = 0x45;
    be16(p + 2, 20 + 40);
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, s.b, 4);
    memcpy(p + 16, d.b, 4);
    l4 = p + 20;
  } else {
    be16(f.b + 12, 0x86dd);
    p[0] = 0x60;
    be16(p + 4, 40);
    p[6] = proto;
    p[7] = 64;
    memcpy(p + 8, s.b, 16);
    memcpy(p + 24, d.b, 16);
    l4 = p + 40;
  }
  if (proto == 1 || proto == 58) {
    l4[0] = (uint8_t)a, l4[1] = (uint8_t)b;
  } else {
    be16(l4, a);
    be16(l4 + 2, b);
    if (proto == 6) l4[12] = 0x50, l4[13] = 0x12; /* SYN+ACK */
    if (proto == 17) be16(l4 + 4, 40);
  }
  f.len = (size_t)(l4 - f.b) + 40;
  return f;
}

/* An ICMP port unreachable from `from` quoting a UDP probe src:sport ->
 * dst:dport (IPv4). */
static struct frame icmp_unreach(const char *from, const char *src, unsigned sport,
                                 const char *dst, unsigned dport) {
  struct frame f = ip(from, src, 1, 3, 3);
  uint8_t *q = f.b + 14 + 20 + 8;
  struct frame probe = ip(src, dst, 17, sport, dport);
  memcpy(q, probe.b + 14, 28);
  f.len = 14 + 20 + 8 + 28;
  be16(f.b + 14 + 2, 20 + 8 + 28);
  return f;
}

static struct frame arp_reply(void) {
  struct frame f;
  memset(&f, 0, sizeof f);
  be16(f.b + 12, 0x0806);
  uint8_t *a = f.b + 14;
  be16(a, 1);
  be16(a + 2, 0x0800);
  a[4] = 6, a[5] = 4;
  be16(a + 6, 2);
  a[8] = 2;
  tw_pkt_addr s = addr("198.18.0.9"), t = addr("198.18.0.1");
  memcpy(a + 14, s.b, 4);
  memcpy(a + 24, t.b, 4);
  f.len = 14 + 28;
  return f;
}

/* ---- running the filter and the dispatcher ------------------------------------- */

static int prog = -1;
static tw_loop *loop;
static int delivered;

/* 1 if the kernel filter keeps the frame. BPF_PROG_TEST_RUN takes an
 * Ethernet header off the front before a socket filter runs, while a packet
 * socket hands its filter the whole frame: a spare header in front gives
 * the program the frame as a capture sees it. */
static int passes(const struct frame *f) {
  uint8_t in[14 + sizeof f->b];
  memset(in, 0, 14);
  be16(in + 12, 0x88b5); /* local experimental: no IP checks on the spare */
  memcpy(in + 14, f->b, f->len);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.test.prog_fd = (uint32_t)prog;
  a.test.data_in = (uint64_t)(uintptr_t)in;
  a.test.data_size_in = (uint32_t)(14 + f->len);
  a.test.repeat = 1;
  if (syscall(SYS_bpf, BPF_PROG_TEST_RUN, &a, sizeof a) != 0)
    fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
  return a.test.retval != 0;
}

static void on_pkt(tw_req *r, int status, const tw_rx *rx, void *data) {
  if (status == 0) delivered++;
}

static int dispatched(const struct frame *f) {
  tw_frame fr = {.data = f->b, .caplen = (uint32_t)f->len, .len = (uint32_t)f->len, .ifindex = 1,
                 .linktype = TW_LINK_ETH};
  delivered = 0;
  tw_dispatch_input(loop, &fr);
  return delivered;
}

static tw_req *wait_for(uint32_t fields, uint8_t proto, const char *dst, unsigned dport,
                        unsigned flags) {
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = fields;
  m.proto = proto;
  if (dst) m.dst = addr(dst);
  m.dport = (uint16_t)dport;
  if (fields & TW_M_ETHERTYPE) m.ethertype = TW_ETH_ARP;
  tw_req *r;
  assert_int_equal(tw_wait(loop, &r, &m, flags, 0, on_pkt, NULL), 0);
  return r;
}

static int setup(void **state) {
  unsetenv("TRAWL_CAPTURE_FILTER");
  assert_int_equal(tw_loop_new(&loop), 0);
  prog = tw__capfilter_prog(loop);
  return 0;
}

static int teardown(void **state) {
  tw_loop_close(loop);
  return 0;
}

#define NEED_BPF()                                                           \
  do {                                                                       \
    if (prog < 0) {                                                          \
      print_message("no eBPF here (%s): skipped\n", tw_strerror(prog));      \
      skip();                                                                \
    }                                                                        \
  } while (0)

/* The frames every check runs over. */
static struct frame frames[16];
static size_t nframes;
static void make_frames(void) {
  nframes = 0;
  frames[nframes++] = ip("198.18.1.1", "198.18.0.1", 6, 80, 40000);
  frames[nframes++] = ip("198.18.1.1", "198.18.0.1", 6, 80, 40001);
  frames[nframes++] = ip("198.18.1.1", "198.18.0.2", 6, 80, 40000);
  frames[nframes++] = ip("198.18.1.1", "198.18.0.1", 17, 53, 40000);
  frames[nframes++] = ip("198.18.1.1", "198.18.0.1", 1, 0, 0); /* echo reply */
  frames[nframes++] = icmp_unreach("198.18.1.1", "198.18.0.1", 40000, "198.18.1.1", 161);
  frames[nframes++] = arp_reply();
  frames[nframes++] = ip("2001:db8::9", "2001:db8::1", 6, 80, 40000);
  frames[nframes++] = ip("2001:db8::9", "2001:db8::1", 17, 53, 40000);
  frames[nframes++] = ip("2001:db8::9", "2001:db8::1", 58, 1, 4); /* port unreachable */
  frames[nframes++] = ip("2001:db8::9", "2001:db8::1", 58, 136, 0); /* neighbour advert */
  frames[nframes++] = ip("2001:db8::9", "2001:db8::1", 0, 0, 0); /* hop-by-hop header */
  struct frame frag = ip("198.18.1.1", "198.18.0.1", 6, 80, 40000);
  be16(frag.b + 14 + 6, 0x0010); /* a later fragment */
  frames[nframes++] = frag;
}

/* Every frame the dispatcher delivers passes; returns a bit per frame
 * that passes. */
static unsigned check_superset(void) {
  unsigned pass = 0;
  for (size_t i = 0; i < nframes; i++) {
    int p = passes(&frames[i]), d = dispatched(&frames[i]);
    if (d && !p) fail_msg("frame %zu is delivered but the filter drops it", i);
    if (p) pass |= 1u << i;
  }
  return pass;
}

/* ---- tests -------------------------------------------------------------------- */

static void nothing_waited_for(void **state) {
  NEED_BPF();
  make_frames();
  assert_int_equal(check_superset(), 0); /* no waiter: nothing at all */
}

static void follows_waiters(void **state) {
  NEED_BPF();
  make_frames();
  /* a SYN+ACK to 198.18.0.1 port 40000 */
  tw_req *r = wait_for(TW_M_PROTO | TW_M_DST | TW_M_DPORT, 6, "198.18.0.1", 40000, 0);
  assert_int_equal(check_superset(), 1u << 0); /* not the later fragment: it has no ports */
  tw_cancel(r);
  tw_loop_run(loop, TW_RUN_NOWAIT);
  assert_int_equal(check_superset(), 0);
  /* all TCP to 198.18.0.1, with its ICMP errors (the scanner's waiter) */
  r = wait_for(TW_M_PROTO | TW_M_DST, 6, "198.18.0.1", 0, TW_WAIT_ERRORS);
  assert_int_equal(check_superset(), 1u << 0 | 1u << 1 | 1u << 5 | 1u << 9 | 1u << 12);
  tw_cancel(r);
  /* UDP on any address and family, port 40000 */
  r = wait_for(TW_M_PROTO | TW_M_DPORT, 17, NULL, 40000, 0);
  assert_int_equal(check_superset(), 1u << 3 | 1u << 8 | 1u << 11);
  tw_cancel(r);
  /* ICMPv6 on IPv6 (neighbour discovery's waiter) */
  r = wait_for(TW_M_PROTO | TW_M_DST, 58, "2001:db8::1", 0, 0);
  assert_int_equal(check_superset(), 1u << 9 | 1u << 10 | 1u << 11);
  tw_cancel(r);
  /* ARP */
  r = wait_for(TW_M_ETHERTYPE, 0, NULL, 0, 0);
  assert_int_equal(check_superset(), 1u << 6);
  tw_cancel(r);
  /* no protocol: everything */
  r = wait_for(TW_M_DST, 0, "198.18.0.1", 0, 0);
  assert_int_equal(check_superset(), (1u << nframes) - 1);
  tw_cancel(r);
  tw_loop_run(loop, TW_RUN_NOWAIT);
  assert_int_equal(check_superset(), 0);
}

static void shared_keys_are_counted(void **state) {
  NEED_BPF();
  make_frames();
  tw_req *a = wait_for(TW_M_PROTO | TW_M_DST | TW_M_DPORT, 6, "198.18.0.1", 40000, 0);
  tw_req *b = wait_for(TW_M_PROTO | TW_M_DST | TW_M_DPORT, 6, "198.18.0.1", 40000, TW_WAIT_ONCE);
  assert_true(check_superset() & 1u);
  /* b took that frame and ended: a still holds the key */
  tw_loop_run(loop, TW_RUN_NOWAIT);
  assert_true(passes(&frames[0]));
  tw_cancel(a);
  tw_loop_run(loop, TW_RUN_NOWAIT);
  assert_false(passes(&frames[0]));
  (void)b;
}

static void overflow_passes_everything(void **state) {
  NEED_BPF();
  make_frames();
  /* more distinct keys than the map holds (65,536) */
  enum { N = 70000 };
  tw_req **r = calloc(N, sizeof *r);
  assert_non_null(r);
  char dst[32];
  for (int i = 0; i < N; i++) {
    snprintf(dst, sizeof dst, "198.19.%d.1", i / 60000);
    r[i] = wait_for(TW_M_PROTO | TW_M_DST | TW_M_DPORT, 17, dst, 1 + i % 60000, 0);
  }
  assert_true(passes(&frames[3])); /* nobody wants it, but the map is full */
  for (int i = N - 1; i >= 0; i--) tw_cancel(r[i]);
  tw_loop_run(loop, TW_RUN_NOWAIT);
  assert_false(passes(&frames[3]));
  /* and the filter still works */
  tw_req *w = wait_for(TW_M_PROTO | TW_M_DST | TW_M_DPORT, 17, "198.18.0.1", 40000, 0);
  assert_true(passes(&frames[3]));
  tw_cancel(w);
  free(r);
}

static void malformed_frames_dropped(void **state) {
  NEED_BPF();
  make_frames();
  tw_req *r = wait_for(TW_M_PROTO | TW_M_DST | TW_M_DPORT, 6, "198.18.0.1", 40000, 0);
  struct frame f = frames[0];
  f.len = 14 + 10; /* cut inside the IP header */
  assert_false(passes(&f));
  f.len = 14;
  assert_false(passes(&f));
  tw_cancel(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(nothing_waited_for, setup, teardown),
      cmocka_unit_test_setup_teardown(follows_waiters, setup, teardown),
      cmocka_unit_test_setup_teardown(shared_keys_are_counted, setup, teardown),
      cmocka_unit_test_setup_teardown(overflow_passes_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(malformed_frames_dropped, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
