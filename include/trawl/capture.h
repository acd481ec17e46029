/* capture.h: packet capture, one shared capture per interface.
 *
 * Capturing is expensive in the kernel: every received packet runs through
 * every open capture socket's filter and is copied into every ring. So
 * libtrawl opens ONE capture per interface per loop and shares it:
 * tw_capture_open() on an interface that is already open returns the same
 * handle with its reference count raised, and tw_capture_release() lowers
 * it; the capture really closes when the last user lets go.
 *
 * A capture does not hand packets to its opener. Every packet it receives
 * goes to the loop's dispatcher (dispatch.h), which gives it to the waiters
 * whose match it fits. Open a capture on the interface the packets will
 * arrive on, then register waiters.
 *
 * The kernel filter on the capture passes only what the loop's current
 * waiters could want (an eBPF filter kept up to date as waiters come and
 * go), so packets nobody waits for cost no copy and no wake-up. Where eBPF
 * is not available, or with TRAWL_CAPTURE_FILTER=broad in the environment,
 * it passes every IPv4, IPv6 and ARP packet instead; the dispatcher's
 * deliveries are the same either way. tw_capture_stats says which.
 *
 * Captured frames carry the kernel's receive timestamp in nanoseconds of
 * CLOCK_REALTIME (the clock the kernel stamps packets with); send
 * timestamps (rawsend.h) use the same clock so the two can be subtracted.
 *
 * A capture does not keep tw_loop_run() running by itself (it is an
 * unreferenced handle): pending waiters do. tw_ref() changes that. */
#ifndef TRAWL_CAPTURE_H
#define TRAWL_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <trawl/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_capture tw_capture;

/* One received frame. data is valid only during the callback that is
 * given it. */
typedef struct tw_frame {
  const uint8_t *data; /* from the link header (TW_LINK_ETH) or IP header (TW_LINK_RAW) */
  uint32_t caplen;     /* bytes at data */
  uint32_t len;        /* bytes on the wire */
  uint64_t ts_ns;      /* kernel receive time, CLOCK_REALTIME ns (0: unknown) */
  int ifindex;         /* interface it arrived on (0: unknown) */
  uint16_t linktype;   /* TW_LINK_ETH or TW_LINK_RAW (packet.h) */
  uint16_t vlan_tci;   /* VLAN tag the kernel took off, if vlan_valid */
  uint8_t vlan_valid;
  uint8_t pkttype;     /* PACKET_HOST, PACKET_BROADCAST, ... (linux/if_packet.h) */
} tw_frame;

enum {
  TW_CAPTURE_PROMISC = 1, /* put the interface in promiscuous mode */
  TW_CAPTURE_OUTGOING = 2 /* also capture what this host sends (off: inbound only) */
};

/* Open (or share) the capture of interface `ifname` for this loop. flags
 * (TW_CAPTURE_*) count only when the capture is first opened; a later open
 * with other flags gets the existing capture and -EEXIST is NOT returned:
 * the flags are widened (promiscuous mode or outgoing packets are turned on
 * if asked and not yet on). Returns 0, -ENODEV (no such interface), -EPERM
 * (not root / no CAP_NET_RAW), -ENOMEM. */
TW_API int tw_capture_open(tw_loop *loop, tw_capture **out, const char *ifname,
                           unsigned flags);
/* Drop one reference; the last one closes the capture (like tw_close()).
 * Returns the references left, or -EINVAL. */
TW_API int tw_capture_release(tw_capture *cap);
/* Current number of references. */
TW_API int tw_capture_refs(const tw_capture *cap);
TW_API int tw_capture_ifindex(const tw_capture *cap);
TW_API const char *tw_capture_ifname(const tw_capture *cap);

/* What the capture's kernel filter passes (tw_capture_stats.filter). */
enum {
  TW_FILTER_BROAD = 0,  /* every IPv4, IPv6 and ARP packet */
  TW_FILTER_WAITERS = 1 /* what the loop's current waiters could want */
};

typedef struct tw_capture_stats {
  uint64_t received; /* frames read from the ring */
  uint64_t dropped;  /* frames the kernel dropped because the ring was full */
  uint64_t bytes;    /* captured bytes read */
  int filter;        /* TW_FILTER_* */
} tw_capture_stats;
TW_API int tw_capture_stats_get(tw_capture *cap, tw_capture_stats *st);

/* tw_close() on a capture closes it for every user at once. */

#ifdef __cplusplus
}
#endif
#endif
