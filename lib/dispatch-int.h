/* dispatch-int.h: what the dispatcher shares with the rest of lib/. */
#ifndef TW_DISPATCH_INT_H
#define TW_DISPATCH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <trawl/dispatch.h>

/* The type of the reply to an ICMP (v6 = 0) or ICMPv6 query type: echo
 * request -> echo reply, timestamp -> timestamp reply, ...; other types
 * are returned unchanged. A quoted probe is looked up by its reply type. */
uint8_t tw__icmp_reply_type(uint8_t type, int v6);

/* Feed n frames to the loop's dispatcher, in order, with the same effect
 * as tw_dispatch_input() on each: malformed ones are counted and dropped,
 * callbacks run frame by frame. The frames are looked up in batches of 32
 * with their table entries and waiters prefetched, which hides most of the
 * cache misses of big tables. The capture feeds its ring through this.
 * Returns the number of callbacks run with a packet, or -EINVAL. */
int tw__dispatch_batch(tw_loop *loop, const tw_frame *frames, size_t n);

#endif
