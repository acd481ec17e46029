/* dispatch-int.h: what the dispatcher shares with the rest of lib/. */
#ifndef TW_DISPATCH_INT_H
#define TW_DISPATCH_INT_H

#include <stdint.h>
#include <trawl/dispatch.h>

/* The type of the reply to an ICMP (v6 = 0) or ICMPv6 query type: echo
 * request -> echo reply, timestamp -> timestamp reply, ...; other types
 * are returned unchanged. A quoted probe is looked up by its reply type. */
uint8_t tw__icmp_reply_type(uint8_t type, int v6);

#endif
