/* os-perport.h: per-port OS detection (--osscan-per-port). Every open TCP
 * port of a host gets a try of its own (the open-port probes to it, the
 * closed-port, U1 and IE probes as usual); ports whose answers look like
 * one TCP/IP stack are grouped, and the groups are reported as the host
 * script result "os-per-port" (so normal, XML and JSON output carry it and
 * the XML stays valid against nmap.dtd).
 *
 * Two ports are the same stack when these agree:
 *   - the hop distance of their SYN+ACKs (initial TTL rounded up to 32,
 *     64, 128 or 255, minus the TTL seen, plus one) and that initial TTL
 *     (signal "TTL/distance");
 *   - the SYN+ACK's options, window, MSS and window scale (OPS, WIN), the
 *     ECN answer and T1-T4 (how the stack answers odd segments to an open
 *     port);
 *   - the IP ID class of the SYN+ACKs (TI) and whether they carry TCP
 *     timestamps (TS U or not);
 * and, from the try's raw samples (os_perport_observe_seq):
 *   - the TCP timestamp clock: each port's rate (ticks per second, from
 *     the first and last timestamped SYN+ACK) and offset; two ports share
 *     a clock when the rates agree within 25% and the second port's TSval
 *     is where the first's clock predicts it at that time, within
 *     4 ticks + 50 ms + 2% of the time between them;
 *   - the IP ID counter: when both ports' SYN+ACK IDs increase (class I,
 *     BI or RI), their samples merged in time order must still increase,
 *     each step at most twice the larger own rate times the gap + 256;
 *   - ISN behaviour: ISR within 24 (a factor 8 of rate) and the same GCD
 *     class (above 9 or not);
 *   - the closed port's RST answer (T5-T7 without TTL, CI, and its
 *     distance), the same closed port in every try.
 * A signal that cannot be computed for either port (too few samples,
 * hostile values) does not count. The signatures (SYN+ACK and closed
 * port) are compared attribute by attribute on what both ports answered:
 * a probe one port's try got no reply to (R=N, or nothing) is left out,
 * since each try sends each probe once and a reply lost under load must
 * not split a stack. Pure functions, no I/O. */
#ifndef TRAWL_OS_PERPORT_H
#define TRAWL_OS_PERPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "os/fp-seq.h"
#include "os/fp.h"

#define OS_PERPORT_MAX 16
#define OS_PERPORT_SIG 1024

struct os_port_obs {
  uint16_t port;
  int distance;           /* hops + 1 from the SYN+ACK's TTL, -1: no SYN+ACK */
  int ittl;               /* its initial TTL (32, 64, 128, 255), 0 without */
  int accuracy;           /* of best, per cent; 0: no match */
  char best[96];          /* best match's name, "" without */
  char sig[OS_PERPORT_SIG];
  uint8_t group;          /* set by os_perport_group */
  uint32_t differs;       /* OS_PP_* that differ from group 0's first port */
  /* os_perport_observe_seq: raw samples of the try */
  struct os_seq_in seq;
  int closed_distance;    /* from T5's RST, -1 without */
  int closed_ittl;        /* its initial TTL, 0 without */
  int isr;                /* SEQ ISR, -1 without */
  int gcd_big;            /* SEQ GCD > 9: 1, 0, -1 without */
  char closed[256];       /* T5-T7 and CI signature */
};

/* Grouping signals (bits of os_perport_differ). */
enum {
  OS_PP_DIST = 1u << 0,
  OS_PP_SYNACK = 1u << 1,
  OS_PP_TSCLOCK = 1u << 2,
  OS_PP_IPID = 1u << 3,
  OS_PP_ISN = 1u << 4,
  OS_PP_RST = 1u << 5,
};
#define OS_PP_NSIG 6

/* The stack signature of fp's open-port tests and the SYN+ACK's distance. */
void os_perport_observe(struct os_port_obs *o, uint16_t port, const struct os_fp *fp,
                        int synack_ttl);
/* Adds the try's raw samples and closed-port answer (T5 reply's TTL,
 * -1 without) to o, after os_perport_observe with the same fp. */
void os_perport_observe_seq(struct os_port_obs *o, const struct os_fp *fp,
                            const struct os_seq_in *seq, int closed_ttl);
/* The signals (OS_PP_*) by which a and b look like different stacks. */
uint32_t os_perport_differ(const struct os_port_obs *a, const struct os_port_obs *b);
/* The short name of signal bit k (0 <= k < OS_PP_NSIG). */
const char *os_perport_signal_name(unsigned k);
/* A port joins the first group whose first port it does not differ from.
 * Groups are numbered in port order of first appearance; returns the number of groups. */
unsigned os_perport_group(struct os_port_obs *obs, size_t n);
/* Adds the "os-per-port" host script result to h: a line per group, then
 * the closed port's RST and the group it answers like (same initial TTL
 * and distance as the group's first port), "none" when no group does (a
 * NAT gateway answering for itself). 0 or -ENOMEM. */
int os_perport_report(struct host_result *h, const struct os_port_obs *obs, size_t n,
                      unsigned ngroups);

#endif
