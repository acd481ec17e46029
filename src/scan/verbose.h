/* verbose.h: what -v adds while the scan runs, in Nmap's words, on the
 * terminal's normal output: each pass begun and completed, and each open
 * port as it is found. */
#ifndef TRAWL_SCAN_VERBOSE_H
#define TRAWL_SCAN_VERBOSE_H

#include <stdint.h>

#include "core/result.h"

struct scan;

/* A pass begins over nhosts hosts (the first is group host g0) with
 * nprobes probes per host ("ports" in Nmap's line). pass is the stage's
 * name ("discovery", "SYN", "UDP", "connect", ...). */
void verbose_pass_begin(struct scan *s, const char *pass, uint32_t nhosts, uint32_t nprobes,
                        uint32_t g0);
void verbose_pass_end(struct scan *s, const char *pass, uint32_t nhosts, uint32_t nprobes);
/* Group host h's port was found open. */
void verbose_open_port(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port);

#endif
