/* timing.h: the -T0..-T5 timing templates, the one table of them in trawl,
 * and how a template and the timing options give the settings a scan runs
 * with.
 *
 * Where the values come from. Nmap's part of each row is what Nmap 7.93
 * itself prints in its "Timing report" (`nmap -d -T<n> -sL -n ADDR`), and
 * what Nmap's manual says of the fields that report leaves out (the scan
 * delay of T0-T2 and the 10-minute script timeout of T5, which Nmap has had
 * since 7.70). tests/lab/test_timing.sh runs nmap for every template and
 * compares its report with trawl's (`trawl --dry-run -d -T<n> ...`, which
 * prints timing_print_report()). Times are in milliseconds, 0 meaning none
 * where a field can be off.
 *
 *   field              T0      T1     T2     T3     T4     T5   used by trawl as
 *   initial_rtt_ms     300000  15000  1000   1000   500    250  first answer timeout
 *   min_rtt_ms         100     100    100    100    100    50   lower bound of it
 *   max_rtt_ms         300000  15000  10000  10000  1250   300  upper bound of it
 *   max_retries        10      10     10     10     6      2    re-sends of a probe
 *   scan_delay_ms      300000  15000  400    0      0      0    least time between probes
 *   max_scan_delay     TCP/SCTP 1000 (T0-T3), 10 (T4), 5 (T5); UDP 1000 always:
 *                      the ceiling of Nmap's dynamic scan delay. trawl has no
 *                      dynamic scan delay; the value is kept and reported.
 *   host_timeout_ms    0 (none), 900000 for T5: give up on a host
 *   script_timeout_ms  0 (none), 600000 for T5: give up on a script
 *   min/max_hostgroup  1 / 100000 for every template: bounds of a host
 *                      group. trawl sizes its own groups inside them (and
 *                      within --min-hostgroup and --max-hostgroup).
 *   min/max_parallelism  0 / 1 for T0-T2, 0 / 0 (no limit) for T3-T5:
 *                      probes outstanding at once. trawl's connect scan
 *                      keeps to the maximum; the raw engine does not (it
 *                      paces T0-T2 by the scan delay and its start rate).
 *                      --min/--max-parallelism given by the user bound the
 *                      raw engine's outstanding probes (its floor and
 *                      window) and the connect scan's connections.
 *   --max-scan-delay   replaces the maximum scan delay of every protocol
 *                      (reported; trawl has no dynamic scan delay to cap).
 *
 * Two Nmap quirks the rows keep: T0 and T1 raise the maximum RTT timeout
 * to their initial one (300 s, 15 s), and their scan delay does not raise
 * the maximum scan delay (a --scan-delay the user gives does).
 *
 * trawl's own part of a row (not in Nmap):
 *   start_rate         1, 10, 100, 10000, 50000, 100000 probes/s: where the
 *                      raw engine's rate controller starts.
 *   max_rate           1, 10, 100 for T0-T2 (the start rate), else 5,000,000:
 *                      its ceiling when --max-rate is not given.
 *   connect_parallelism  T3 1024, T4 4096, T5 8192 connections at once for
 *                      the connect scan; T0-T2 have 0 here and use Nmap's
 *                      max_parallelism (1).
 *
 * Options override the template field by field, whatever their order on
 * the command line, as in Nmap. The three RTT timeouts are then applied in
 * Nmap's order (initial, minimum, maximum), each moving the other two as
 * little as keeps minimum <= initial <= maximum: --max-rtt-timeout 50ms
 * alone lowers the minimum and the initial timeout to 50 ms, and
 * --initial-rtt-timeout 20s alone raises the maximum to 20 s. A
 * --scan-delay larger than the maximum scan delay raises that too. As in
 * Nmap, --max-rtt-timeout must be at least 5 ms and --initial-rtt-timeout
 * more than 0. */
#ifndef TRAWL_TIMING_H
#define TRAWL_TIMING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct options;
struct engine_config;

enum timing_proto { TIMING_TCP, TIMING_UDP, TIMING_SCTP, TIMING_NPROTO };

struct timing_template {
  const char *name; /* paranoid ... insane */
  /* Nmap's */
  uint64_t initial_rtt_ms, min_rtt_ms, max_rtt_ms;
  int max_retries;
  uint64_t scan_delay_ms;
  uint64_t max_scan_delay_ms[TIMING_NPROTO];
  uint64_t host_timeout_ms, script_timeout_ms;
  uint32_t min_hostgroup, max_hostgroup;
  uint32_t min_parallelism, max_parallelism;
  /* trawl's */
  double start_rate, max_rate;
  uint32_t connect_parallelism;
};

#define TIMING_LEVELS 6
#define TIMING_DEFAULT 3

/* Which timing options the user gave (struct options.timing_given, set by
 * timing_finalize(), which until then tells them by their OPT_UNSET
 * values). */
enum {
  TIMING_GIVEN_INITIAL_RTT = 1 << 0,
  TIMING_GIVEN_MIN_RTT = 1 << 1,
  TIMING_GIVEN_MAX_RTT = 1 << 2,
  TIMING_GIVEN_RETRIES = 1 << 3,
  TIMING_GIVEN_SCAN_DELAY = 1 << 4,
  TIMING_GIVEN_HOST_TIMEOUT = 1 << 5,
  TIMING_GIVEN_SCRIPT_TIMEOUT = 1 << 6,
  TIMING_RESOLVED = 1 << 15, /* timing_finalize() ran: the fields hold the result */
};

/* Template 0..5; any other level gives the default (T3). */
const struct timing_template *timing_template(int level);

/* Fills the timing fields of o the user did not give from o->timing's
 * template, applies the user's RTT timeouts in Nmap's order, records what
 * was given in o->timing_given, and checks the values. 0, or a negative
 * code with err filled ("<what>: '<value>'"). Called by
 * options_finalize(); calling it again changes nothing. */
int timing_finalize(struct options *o, char *err, size_t errlen);

/* The engine settings of a finalized o: rates, RTT timeouts in ns,
 * retries, scan delay, and the order, sharding and window of the pass.
 * trace_t0: the scan's start time for --packet-trace, else 0. */
void timing_engine_config(const struct options *o, uint64_t trace_t0, struct engine_config *c);

/* How many connections the connect scan keeps open at once (before the
 * file descriptor limit). */
uint32_t timing_connect_parallelism(const struct options *o);
/* The connections that may be open at once, at most `want`: the soft
 * limit on descriptors is raised to the hard one first, and 64 are left
 * for everything else (at least 64 remain usable). Connect scan and
 * version detection size their parallelism with it. */
uint32_t timing_fd_cap(uint32_t want);

/* The maximum scan delay per protocol (ms) of a finalized o. */
void timing_max_scan_delay(const struct options *o, uint64_t ms[TIMING_NPROTO]);

/* The settings of a finalized o, in the lines and units of Nmap's
 * "Timing report", then trawl's own (--dry-run with -d). */
void timing_print_report(FILE *f, const struct options *o);

#endif
