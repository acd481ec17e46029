/* capture-int.h: what the capture and its kernel filter (capfilter.c)
 * share with the dispatcher and the tree's internals. */
#ifndef TW_CAPTURE_INT_H
#define TW_CAPTURE_INT_H

#include <stdint.h>
#include <trawl/capture.h>

/* An interest key of the kernel filter: what a waiter could want, coarsely.
 * addr holds the destination address as 32-bit words in host order (IPv4
 * in addr[0]); port is the TCP/UDP/SCTP destination port; 0 (and an
 * all-zero address) are wildcards. The layout is the eBPF program's. */
typedef struct tw_fkey {
  uint8_t kind;  /* TW_FK_* */
  uint8_t proto;
  uint16_t port;
  uint32_t addr[4];
} tw_fkey;
enum {
  TW_FK_IP4 = 1, /* IPv4 packets of proto to addr:port */
  TW_FK_IP6 = 2,
  TW_FK_ARP = 3, /* every ARP packet */
  TW_FK_ERR = 4, /* every ICMP / ICMPv6 error */
  TW_FK_ALL = 5, /* everything */
  TW_FK_IP6X = 6 /* IPv6 packets with extension headers (the filter does
                    not walk them): held by every waiter with a TW_FK_IP6 key */
};

/* The most keys one waiter has (ERR, IP4, IP6, IP6X). */
#define TW_FK_MAX 4

/* Count a waiter's key in (delta 1; fails only with -ENOMEM) or out
 * (delta -1). The dispatcher calls this as waiters come and go. */
int tw__capfilter_ref(tw_loop *loop, const tw_fkey *k, int delta);

/* Put the waiters' filter on a new capture socket. A negative errno means
 * it cannot be had (the caller attaches the broad filter instead). */
int tw__capfilter_attach(tw_loop *loop, int fd);

/* The filter's eBPF program (started if it was not), or a negative errno
 * when it cannot be had. tests/unit/test_capfilter.c runs it on frames. */
int tw__capfilter_prog(tw_loop *loop);

/* Put the broad filter back on every open capture of the loop (the
 * waiters' filter could not be kept up to date). */
void tw__capture_broaden(tw_loop *loop);

/* The capture's AF_PACKET socket, or -EINVAL (bench/packets_filter.c). */
int tw__capture_fd(const tw_capture *cap);

#endif
