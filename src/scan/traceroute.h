/* traceroute.h: the --traceroute stage (traceroute.c), a row of stage.c
 * after version detection, and the choices it makes that tests check. */
#ifndef TRAWL_TRACEROUTE_H
#define TRAWL_TRACEROUTE_H

struct scan;
struct host_result;
struct hoptrace_target;

/* Hops to a host whose answer arrived with this TTL, guessing the initial
 * TTL was 32, 64, 128 or 255 (the next at or above it). 0: unknown. */
int traceroute_distance(int ttl);
/* The probe for a host, from its port verdicts: an open TCP port, else a
 * closed one, else a closed UDP port, else ICMP echo; and its distance.
 * Fills t->proto, t->dport, t->dist. */
void traceroute_choose(const struct host_result *r, struct hoptrace_target *t);
/* The stage's start (stage.h): 0 nothing to do, 1 running, < 0 error. */
int traceroute_start(struct scan *s);

#endif
