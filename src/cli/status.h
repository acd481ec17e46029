/* status.h: what a running scan tells the person watching it — a live
 * status line on a terminal, a full status when a key is pressed (as Nmap
 * does), and a status every --stats-every interval. */
#ifndef TRAWL_STATUS_H
#define TRAWL_STATUS_H

struct scan;
void status_start(struct scan *s);
void status_stop(struct scan *s);
/* One full status report to stderr. */
void status_print(struct scan *s);

#endif
