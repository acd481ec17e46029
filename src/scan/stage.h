/* stage.h: the stages a host group goes through, in order — one row each.
 *
 * For every group, scan_next() (scan.c) walks scan_stages[] from the top:
 *   - wanted(s) false: the row is passed over;
 *   - live: before start, scan.live[] is filled with the group's hosts that
 *     are up and have not timed out (the targets of a port scan);
 *   - start(s) returns 0 when it had nothing to wait for (the next row
 *     follows at once), 1 when it started work in the loop — it then calls
 *     scan_next() exactly once when that work is done — or a negative
 *     error, which ends the scan with exit code 1 and the row's name.
 * After the last row the group is written to every output and freed.
 *
 * Adding a stage is one row here (stage.c) and one file holding its start
 * function. A stage must not assume any row ran except those above it. */
#ifndef TRAWL_SCAN_STAGE_H
#define TRAWL_SCAN_STAGE_H

#include <stdbool.h>
#include <stddef.h>

struct scan;

struct stage {
  const char *name;                     /* in errors and -d output */
  bool live;                            /* runs on scan.live[] */
  bool (*wanted)(const struct scan *s); /* from the options and the scan */
  int (*start)(struct scan *s);         /* 0 done, 1 running, < 0 error */
};

extern const struct stage scan_stages[];
extern const size_t scan_nstages;

#endif
