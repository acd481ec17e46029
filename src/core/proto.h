/* proto.h: the transport protocols trawl scans, as small indices usable in
 * arrays (port tables, result counts). */
#ifndef TRAWL_PROTO_H
#define TRAWL_PROTO_H

enum scan_proto { PROTO_TCP = 0, PROTO_UDP = 1, PROTO_COUNT = 2 };

/* Bit masks of protocols, e.g. the scan types in use. */
#define PROTO_MASK(p) (1u << (p))
#define PROTO_MASK_ALL ((1u << PROTO_COUNT) - 1)

static inline const char *proto_name(enum scan_proto p) {
  return p == PROTO_TCP ? "tcp" : "udp";
}

#endif
