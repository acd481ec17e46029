/* os-perport.h: per-port OS detection (--osscan-per-port). Every open TCP
 * port of a host gets a try of its own (the open-port probes to it, the
 * closed-port, U1 and IE probes as usual); ports whose answers look like
 * one TCP/IP stack are grouped, and the groups are reported as the host
 * script result "os-per-port" (so normal, XML and JSON output carry it and
 * the XML stays valid against nmap.dtd).
 *
 * Two ports are the same stack when these agree:
 *   - the hop distance of their SYN+ACKs (initial TTL rounded up to 32,
 *     64, 128 or 255, minus the TTL seen, plus one);
 *   - the SYN+ACK's options, window, MSS and window scale (OPS, WIN), the
 *     ECN answer and T1-T4 (how the stack answers odd segments to an open
 *     port);
 *   - the IP ID class of the SYN+ACKs (TI) and whether they carry TCP
 *     timestamps (TS U or not).
 * Pure functions, no I/O. */
#ifndef TRAWL_OS_PERPORT_H
#define TRAWL_OS_PERPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "os/fp.h"

#define OS_PERPORT_MAX 16
#define OS_PERPORT_SIG 1024

struct os_port_obs {
  uint16_t port;
  int distance;           /* hops + 1 from the SYN+ACK's TTL, -1: no SYN+ACK */
  int accuracy;           /* of best, per cent; 0: no match */
  char best[96];          /* best match's name, "" without */
  char sig[OS_PERPORT_SIG];
  uint8_t group;          /* set by os_perport_group */
};

/* The stack signature of fp's open-port tests and the SYN+ACK's distance. */
void os_perport_observe(struct os_port_obs *o, uint16_t port, const struct os_fp *fp,
                        int synack_ttl);
/* Groups obs (same distance and signature, in port order of first
 * appearance); returns the number of groups. */
unsigned os_perport_group(struct os_port_obs *obs, size_t n);
/* Adds the "os-per-port" host script result to h. 0 or -ENOMEM. */
int os_perport_report(struct host_result *h, const struct os_port_obs *obs, size_t n,
                      unsigned ngroups);

#endif
