/* ports.h: Nmap's port specification (-p, --exclude-ports, -F,
 * --top-ports) parsed into per-protocol port sets, and the final sorted
 * port list with an O(1) index -> (protocol, port) mapping for the
 * permutation.
 *
 * -p syntax: a comma-separated list of items:
 *   22          one port (0 is allowed only when written explicitly)
 *   1-1024      a range; "-100" is 1-100, "60000-" is 60000-65535, "-" is
 *               1-65535
 *   http, ms-*  a service name from data/trawl-services, '*' and '?'
 *               wildcards allowed
 *   [1-1024]    the ports in that range that trawl-services names
 *   T: U:       protocol prefix: applies to the items after it, up to the
 *               next prefix ("T:80,U:53,161" is TCP 80, UDP 53 and 161)
 * Items without a prefix apply to every protocol in the default mask
 * (the protocols being scanned); a prefix for a protocol outside that mask
 * selects nothing (Nmap ignores "U:" without -sU); a name applies only
 * where it is listed.
 *
 * Errors: TW_EMALFORMED with one line, e.g.
 *   invalid port specification '70000': port 70000 out of range (0-65535) */
#ifndef TRAWL_PORTS_H
#define TRAWL_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"
#include "db/services.h"

/* A set of ports per protocol: 65536 bits each. */
struct portset {
  uint8_t bits[PROTO_COUNT][8192];
};

static inline void portset_add(struct portset *s, enum scan_proto p,
                               uint16_t port) {
  s->bits[p][port >> 3] |= (uint8_t)(1u << (port & 7));
}
static inline int portset_has(const struct portset *s, enum scan_proto p,
                              uint16_t port) {
  return (s->bits[p][port >> 3] >> (port & 7)) & 1;
}
void portset_clear(struct portset *s);
size_t portset_count(const struct portset *s, enum scan_proto p);
/* a -= b */
void portset_subtract(struct portset *a, const struct portset *b);

/* Adds the ports of spec to set. protos: the PROTO_MASK()s that items
 * without a prefix apply to (PROTO_MASK_ALL when unsure); allow_prefix: 0
 * where protocol prefixes make no sense (-PS22,80). svc may be NULL, then
 * names and [] are errors. what names the option in messages (e.g. "port
 * specification"). */
int ports_parse(struct portset *set, const char *spec, unsigned protos,
                int allow_prefix, const struct services *svc, const char *what,
                char *err, size_t errlen);

/* Adds the n most often open ports of each protocol in protos; when within
 * is not NULL only ports in it count (--top-ports with -p). */
void ports_add_top(struct portset *set, const struct services *svc,
                   unsigned protos, size_t n, const struct portset *within);
/* Adds the ports of each protocol in protos whose open ratio is at least
 * ratio (--port-ratio; the table must have ratios, nmap-services); within
 * as for ports_add_top. */
void ports_add_ratio(struct portset *set, const struct services *svc, unsigned protos,
                     double ratio, const struct portset *within);

/* The final list: each protocol's ports in ascending order. Indices
 * 0..n[TCP]-1 are TCP ports, then UDP ports. */
struct portlist {
  uint16_t *ports[PROTO_COUNT];
  size_t n[PROTO_COUNT];
};

int portlist_from_set(struct portlist *pl, const struct portset *set);
void portlist_free(struct portlist *pl);
static inline size_t portlist_count(const struct portlist *pl) {
  return pl->n[PROTO_TCP] + pl->n[PROTO_UDP];
}
/* The idx-th (protocol, port): 0 or -ERANGE. */
int portlist_get(const struct portlist *pl, size_t idx, enum scan_proto *proto,
                 uint16_t *port);

/* Formats sorted ports as Nmap does in scaninfo: "1-3,5,7-9". Returns a
 * malloc'd string ("" for none) or NULL when out of memory. */
char *ports_format(const uint16_t *ports, size_t n);

#endif
