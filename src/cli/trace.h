/* trace.h: --packet-trace, one line per packet sent or received, in the
 * spirit of Nmap's: "SENT (0.0312s) TCP 198.18.10.2:45834 > 198.18.30.10:22
 * S ttl=64 id=1234 iplen=44 seq=... win=1024". */
#ifndef TRAWL_TRACE_H
#define TRAWL_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* dir: "SENT" or "RCVD"; linktype: TW_LINK_ETH or TW_LINK_RAW; t: seconds
 * since the scan started. */
void trace_packet(FILE *f, const char *dir, double t, const uint8_t *buf, size_t len,
                  int linktype);

#endif
