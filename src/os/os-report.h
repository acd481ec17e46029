/* os-report.h: from a host's best try (its computed fingerprint and its
 * matches against nmap-os-db) to the struct os_result the writers print:
 *
 *   - the verdict (os/match.h): exact matches ("OS details"; more than
 *     OS_REPORT_TOO_MANY of them: none named, the fingerprint kept), guesses
 *     ("Aggressive OS guesses", with --osscan-guess or when the fingerprint
 *     is unfit for submission), or none;
 *   - each reported match with its accuracy (per cent, rounded down) and
 *     every class and CPE of its database entry; at most OS_REPORT_MAX;
 *   - the fingerprint in Nmap's submission form when nothing matched
 *     exactly: a SCAN line describing the run, then the tests, wrapped in
 *     "OS:" lines of at most 71 characters;
 *   - the TCP sequence prediction (index: the SP value; Nmap's difficulty
 *     names), the IP ID and TCP timestamp classes read off the SEQ test,
 *     with the sampled values, and an uptime guess when the timestamp
 *     clock runs at a known rate (2, 100, 200 or 1000 Hz).
 * Pure functions over their arguments. */
#ifndef TRAWL_OS_REPORT_H
#define TRAWL_OS_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/os-result.h"
#include "db/os-db.h"
#include "os/fp-seq.h"
#include "os/fp.h"
#include "os/match.h"

#define OS_REPORT_MAX 10
/* More exact matches than this say nothing specific: none is reported
 * (Nmap's "Too many fingerprints match this host"). */
#define OS_REPORT_TOO_MANY 8

struct os_report_ctx {
  const struct osdb *db;
  int guess;     /* --osscan-guess */
  int unfit;     /* the fingerprint is not fit for submission */
  int hops;      /* routers to the target, -1: unknown */
  char dc;       /* how the distance was found: 'D' on our link, 'I' ICMP, 0 none */
  struct os_portused ot, ct, cu;
  int64_t now;   /* Unix seconds */
  const char *platform; /* "x86_64-pc-linux-gnu" */
  const struct os_seq_in *seq; /* the best try's SEQ samples, or NULL */
  int private_addr; /* the target is in RFC 1918 space (PV=Y) */
  int has_mac;      /* on our link: mac's first three bytes are M= */
  uint8_t mac[6];
};

/* A try's score for picking the best one: the best match's accuracy in
 * parts per million, 0 without any. */
uint32_t os_report_score(const struct os_match_result *res);
/* Fills out (verdict, matches, fingerprint, sequence classes). 0 or -ENOMEM. */
int os_report_fill(struct os_result *out, const struct os_report_ctx *c, const struct os_fp *fp,
                   const struct os_match_result *res);
/* The submission form of fp into buf (snprintf semantics). */
size_t os_report_fingerprint(const struct os_report_ctx *c, const struct os_fp *fp, char *buf,
                             size_t cap);

#endif
