/* status.h: what a running scan tells the person watching it — a live
 * status line on a terminal, a full status when a key is pressed (as Nmap
 * does), and a status every --stats-every interval. */
#ifndef TRAWL_STATUS_H
#define TRAWL_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

/* What the status reports keep between two reports (in struct scan). */
struct status {
  uint64_t last_sent, last_ns; /* probes sent at the last live line, when */
  struct termios saved_tio;    /* the terminal's mode before the scan */
  bool tio_saved;
  bool drawn;                  /* the live line is on the terminal now */
};

struct scan;
void status_start(struct scan *s);
void status_stop(struct scan *s);
/* Erase the live line (when one is drawn), before anything else is
 * written to the terminal: a host report must start on a line of its own. */
void status_clear(struct scan *s);
/* One full status report to stderr. */
void status_print(struct scan *s);

#endif
