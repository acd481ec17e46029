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
 * closed one, else a closed UDP port; with no port verdict (-sn), the
 * discovery probe its status reason names: "syn-ack" a SYN to ps, "reset"
 * an ACK to pa, "port-unreach" UDP to pu (0: not sent); else ICMP echo.
 * And its distance. Fills t->proto, t->ack, t->dport, t->dist. */
void traceroute_choose(const struct host_result *r, uint16_t ps, uint16_t pa, uint16_t pu,
                       struct hoptrace_target *t);
/* The stage's start (stage.h): 0 nothing to do, 1 running, < 0 error. */
int traceroute_start(struct scan *s);

#endif
