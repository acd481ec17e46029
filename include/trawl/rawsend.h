/* rawsend.h: send hand-built packets — raw IPv4, raw IPv6, or whole
 * Ethernet frames on one interface — in batches.
 *
 * tw_rawsend() copies the packet into the socket's batch and returns at
 * once; the batch goes to the kernel in one sendmmsg(2) when it is full or
 * just before the loop next waits for events (a prepare hook), so callers
 * simply queue. tw_rawsend_flush() sends it now.
 *
 * Send time: a packet's optional callback gets the time its batch was
 * handed to the kernel (CLOCK_REALTIME ns read just before sendmmsg: the
 * clock of capture timestamps, so rtt = rx->frame->ts_ns - sent_ns; within
 * a batch of n packets a later one left up to the batch's send time
 * later, about n x 0.5 us on a veth), or the error
 * for that packet alone (-EHOSTUNREACH, -EMSGSIZE, -ENOBUFS when a full
 * device queue dropped it, ...). The rest of the batch goes on.
 *
 * Back pressure: when the kernel will not take more (EAGAIN) the batch is
 * kept and sent when the socket becomes writable; while it is full,
 * tw_rawsend() returns -EAGAIN and the caller tries again later.
 *
 * Raw IP packets go where their header's destination says, routed by the
 * kernel (which also picks the link-layer address). Ethernet frames go out
 * of the interface as they are: the caller supplies the MAC addresses
 * (route.h resolves them). */
#ifndef TRAWL_RAWSEND_H
#define TRAWL_RAWSEND_H

#include <stddef.h>
#include <stdint.h>
#include <trawl/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_rawsock tw_rawsock;

enum {
  TW_RAW_IP4 = 1, /* buf starts with an IPv4 header (IP_HDRINCL) */
  TW_RAW_IP6 = 2, /* buf starts with an IPv6 header */
  TW_RAW_ETH = 3  /* buf starts with an Ethernet header; ifname required */
};

enum {
  /* TW_RAW_ETH: hand frames straight to the driver, skipping the traffic
   * control layer (PACKET_QDISC_BYPASS): faster, but shaping and qdisc
   * statistics on the interface no longer see them. */
  TW_RAW_QDISC_BYPASS = 1
};

/* kind: TW_RAW_*. ifname: the interface for TW_RAW_ETH; for raw IP, NULL
 * or an interface to bind to (SO_BINDTODEVICE). Returns 0, -EPERM (not
 * root), -ENODEV, -EINVAL. */
TW_API int tw_rawsock_new(tw_loop *loop, tw_rawsock **out, int kind, const char *ifname,
                          unsigned flags, void *data);

/* status 0 and sent_ns, or a negative error for this packet (sent_ns 0),
 * or -ECANCELED when the socket was closed with the packet still queued. */
typedef void (*tw_rawsend_cb)(tw_rawsock *rs, int status, uint64_t sent_ns, void *tag);

/* Queue one packet (copied; at most 65535 bytes). cb may be NULL. Returns
 * 0, -EAGAIN (batch full and the kernel is not taking more: try later),
 * -EINVAL (too short or too long for the socket's kind, or the IP version
 * does not match), -ECANCELED (closing). */
TW_API int tw_rawsend(tw_rawsock *rs, const void *buf, size_t len, tw_rawsend_cb cb, void *tag);
/* Send what is queued now. Returns the number of packets the kernel took,
 * or a negative error if it took none. */
TW_API int tw_rawsend_flush(tw_rawsock *rs);
/* Packets queued and not yet sent. */
TW_API size_t tw_rawsend_queued(const tw_rawsock *rs);

typedef struct tw_rawsend_stats {
  uint64_t sent;     /* packets the kernel took */
  uint64_t failed;   /* packets refused (reported to their callbacks) */
  uint64_t batches;  /* sendmmsg calls that sent something */
  uint64_t bytes;
  uint64_t last_ns;  /* send time of the last batch (CLOCK_REALTIME ns) */
} tw_rawsend_stats;
TW_API int tw_rawsend_stats_get(const tw_rawsock *rs, tw_rawsend_stats *st);

/* The socket's fd (for setsockopt: e.g. SO_MARK, SO_SNDBUF). */
TW_API int tw_rawsock_fd(const tw_rawsock *rs);

#ifdef __cplusplus
}
#endif
#endif
