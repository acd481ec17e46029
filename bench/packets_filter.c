/* packets_filter.c: what the kernel-side capture filter should be. Three
 * designs, each on libtrawl's own capture (TPACKET_V2 ring, dispatcher)
 * with N dispatcher waiters, that differ only in the filter on the socket:
 *
 *   broad    `arp or ip or ip6`, fixed (TRAWL_CAPTURE_FILTER=broad); the
 *            dispatcher drops what no waiter wants, in user space
 *   cbpf     a classic BPF filter that passes exactly the waiters' packets,
 *            compiled by libpcap from an expression listing every waiter
 *            (`(udp and src host A and dst host B and dst port P) or ...`)
 *            and re-attached each time a waiter comes or goes
 *   waiters  what libtrawl does by default (lib/capfilter.c): an eBPF
 *            socket filter that looks each packet up in a BPF hash map of
 *            the waiters' interest keys; a waiter with a new key coming or
 *            going is one map update (bpf(2)), the program never changes
 *
 * Waiter i matches UDP from 198.18.222.1 to 198.19.0.0 + i / 50000, port
 * 1000 + i % 50000: one match shape, narrow enough for the kernel to tell
 * the waiters' packets from the rest (the best case for a kernel filter).
 *
 *   packets_filter rx MODE N IFNAME
 *     MODE also `none` (no capture: the baseline). Sets up, says "ready"
 *     on stderr, runs until SIGTERM, drains the ring, prints
 *     matched=<callbacks> received=<frames the socket took> drops=<>
 *     insns=<filter instructions>. bench/packets.sh sends the traffic and
 *     reads the machine's CPU time around it.
 *   packets_filter update MODE N IFNAME CYCLES
 *     With N waiters (and their filter) in place, CYCLES times add one
 *     more waiter and remove it again, as a script's raw-packet request
 *     does; prints update_ns=<wall time per add+remove, dispatcher
 *     included>.
 *
 * Exit 3 when the filter cannot hold N waiters (classic BPF programs are
 * limited to 4096 instructions). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>
#include <trawl/trawl.h>

#include "capture-int.h"

#define SRC 0xc612de01u  /* 198.18.222.1 */
#define DST0 0xc6130000u /* 198.19.0.0 */
#define PER_DST 50000u

static uint64_t matched;

static uint32_t key_dst(uint32_t i) { return DST0 + i / PER_DST; }
static uint16_t key_port(uint32_t i) { return (uint16_t)(1000 + i % PER_DST); }

/* ---- waiters ---------------------------------------------------------------- */

static void on_pkt(tw_req *req, int status, const tw_rx *rx, void *data) {
  if (status == 0) matched++;
}

static int add_waiter(tw_loop *loop, uint32_t i, tw_req **req) {
  tw_match m;
  memset(&m, 0, sizeof m);
  m.fields = TW_M_PROTO | TW_M_SRC | TW_M_DST | TW_M_DPORT;
  m.proto = 17;
  m.src.family = AF_INET;
  uint32_t s = htonl(SRC), d = htonl(key_dst(i));
  memcpy(m.src.b, &s, 4);
  m.dst.family = AF_INET;
  memcpy(m.dst.b, &d, 4);
  m.dport = key_port(i);
  return tw_wait(loop, req, &m, 0, 0, on_pkt, NULL);
}

/* ---- classic BPF from a libpcap expression ------------------------------------ */

static char *cbpf_expr(uint32_t n) {
  size_t cap = (size_t)n * 96 + 16, len = 0;
  char *e = malloc(cap);
  if (!e) return NULL;
  e[0] = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t d = key_dst(i);
    len += (size_t)snprintf(e + len, cap - len,
                            "%s(udp and src host 198.18.222.1 and dst host %u.%u.%u.%u and dst port %u)",
                            i ? " or " : "", d >> 24, (d >> 16) & 255, (d >> 8) & 255, d & 255,
                            key_port(i));
  }
  return e;
}

/* Compile the filter for waiters 0..n-1 and attach it; returns the number
 * of instructions, or -1 (message on stderr). */
static int cbpf_attach(int fd, uint32_t n) {
  char *e = cbpf_expr(n);
  pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
  struct bpf_program prog;
  int r = -1;
  if (!e || !p) {
    fprintf(stderr, "packets_filter: out of memory\n");
  } else if (pcap_compile(p, &prog, e, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    fprintf(stderr, "packets_filter: pcap_compile: %s\n", pcap_geterr(p));
  } else {
    struct sock_fprog fp = {.len = (unsigned short)prog.bf_len,
                            .filter = (struct sock_filter *)prog.bf_insns};
    if (prog.bf_len > BPF_MAXINSNS)
      fprintf(stderr, "packets_filter: %u waiters need %u instructions, the kernel takes %d\n", n,
              prog.bf_len, BPF_MAXINSNS);
    else if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) < 0)
      perror("packets_filter: SO_ATTACH_FILTER");
    else
      r = (int)prog.bf_len;
    pcap_freecode(&prog);
  }
  if (p) pcap_close(p);
  free(e);
  return r;
}

/* ---- setup shared by both commands ----------------------------------------- */

static tw_loop *loop;
static tw_capture *cap;
static tw_req **reqs;

/* Capture (unless none), N waiters, the filter. Returns the classic
 * filter's instruction count (0 for the others), -1 on error, -3 if it
 * cannot hold N waiters. */
static int setup(const char *mode, uint32_t n, const char *ifname) {
  if (strcmp(mode, "waiters")) setenv("TRAWL_CAPTURE_FILTER", "broad", 1);
  int err = tw_loop_new(&loop);
  if (err) { fprintf(stderr, "packets_filter: loop: %s\n", tw_strerror(err)); return -1; }
  if (!strcmp(mode, "none")) return 0;
  if ((err = tw_capture_open(loop, &cap, ifname, 0)) != 0) {
    fprintf(stderr, "packets_filter: capture %s: %s\n", ifname, tw_strerror(err));
    return -1;
  }
  reqs = calloc(n + 1, sizeof *reqs);
  if (!reqs) return -1;
  for (uint32_t i = 0; i < n; i++)
    if ((err = add_waiter(loop, i, &reqs[i])) != 0) {
      fprintf(stderr, "packets_filter: tw_wait: %s\n", tw_strerror(err));
      return -1;
    }
  tw_capture_stats st;
  tw_capture_stats_get(cap, &st);
  if (!strcmp(mode, "broad")) return 0;
  if (!strcmp(mode, "waiters")) {
    if (st.filter == TW_FILTER_WAITERS) return 0;
    fprintf(stderr, "packets_filter: libtrawl fell back to the broad filter (no eBPF here?)\n");
    return -1;
  }
  if (!strcmp(mode, "cbpf")) {
    int r = cbpf_attach(tw__capture_fd(cap), n);
    return r < 0 ? -3 : r;
  }
  fprintf(stderr, "packets_filter: unknown mode %s\n", mode);
  return -1;
}

static void on_term(tw_signal *s, int status, int signum) {
  tw_loop_stop(tw_handle_loop(s));
}

static int rx(const char *mode, uint32_t n, const char *ifname) {
  int insns = setup(mode, n, ifname);
  if (insns < 0) return insns == -3 ? 3 : 1;
  tw_signal *sig;
  tw_signal_new(loop, &sig, NULL);
  tw_signal_start(sig, on_term, SIGTERM);
  fprintf(stderr, "ready\n");
  fflush(stderr);
  tw_loop_run(loop, TW_RUN_DEFAULT);
  for (int i = 0; i < 64; i++) tw_loop_run(loop, TW_RUN_NOWAIT); /* drain the ring */
  tw_capture_stats st = {0};
  if (cap) tw_capture_stats_get(cap, &st);
  printf("matched=%llu received=%llu drops=%llu insns=%d\n", (unsigned long long)matched,
         (unsigned long long)st.received, (unsigned long long)st.dropped, insns);
  return 0;
}

static int update(const char *mode, uint32_t n, const char *ifname, uint32_t cycles) {
  int insns = setup(mode, n, ifname);
  if (insns < 0) return insns == -3 ? 3 : 1;
  int fd = cap ? tw__capture_fd(cap) : -1;
  uint64_t t0 = tw_hrtime();
  for (uint32_t c = 0; c < cycles; c++) {
    if (add_waiter(loop, n, &reqs[n]) != 0) { fprintf(stderr, "packets_filter: tw_wait failed\n"); return 1; }
    if (!strcmp(mode, "cbpf") && cbpf_attach(fd, n + 1) < 0) return 3;
    tw_cancel(reqs[n]);
    if (!strcmp(mode, "cbpf") && cbpf_attach(fd, n) < 0) return 3;
    tw_loop_run(loop, TW_RUN_NOWAIT); /* the cancellation's callback */
  }
  uint64_t dt = tw_hrtime() - t0;
  printf("update_ns=%.0f insns=%d\n", (double)dt / cycles, insns);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "rx"))
    return rx(argv[2], (uint32_t)strtoul(argv[3], NULL, 10), argv[4]);
  if (argc >= 6 && !strcmp(argv[1], "update"))
    return update(argv[2], (uint32_t)strtoul(argv[3], NULL, 10), argv[4],
                  (uint32_t)strtoul(argv[5], NULL, 10));
  fprintf(stderr, "usage: packets_filter rx MODE N IFNAME | update MODE N IFNAME CYCLES\n");
  return 2;
}
