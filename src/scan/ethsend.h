/* ethsend.h: --send-eth and --spoof-mac, Nmap's Ethernet-level sending:
 * each raw IP probe of the discovery and port scan passes leaves in an
 * Ethernet frame written here, to its next hop's MAC (the host itself on
 * an attached link, else the route's gateway), from our interface's MAC
 * or the spoofed one. The next hops are resolved by a stage of their own
 * before discovery. */
#ifndef TRAWL_SCAN_ETHSEND_H
#define TRAWL_SCAN_ETHSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scan;
struct mac_prefixes;

/* --spoof-mac ARG as Nmap reads it: "0" (a random MAC), hex digits (with
 * or without ':' or '-'; up to 12: a prefix, the rest random) or a vendor
 * name (a substring of nmap-mac-prefixes' names: its prefix, the rest
 * random). rnd: random bytes for the rest. 0, or -EINVAL with err. */
int ethsend_spoof_parse(const char *arg, const struct mac_prefixes *db, const uint8_t rnd[6],
                        uint8_t mac[6], char *err, size_t errlen);

/* The stage: resolve the next hop of every host of the group that has a
 * route (stage table, when --send-eth or --spoof-mac). 0 when nothing to
 * do, 1 when started (scan_next follows), or a negative error. */
int ethsend_stage(struct scan *s);

/* Send the raw IP packet pkt[len] to group host g in a frame: 0, -EAGAIN
 * (try later), or another negative error; a host without a next hop is
 * silently not sent to (its probes go unanswered). */
int ethsend_send(struct scan *s, uint32_t g, const uint8_t *pkt, size_t len);

#endif
