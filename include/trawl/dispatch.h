/* dispatch.h: hand each captured packet to the waiters it belongs to.
 *
 * A waiter says which packets it wants with a tw_match: any subset of the
 * fields below (interface, EtherType, IP protocol, addresses, ports, ICMP
 * type/code/id/sequence, ARP sender/target). The set of fields a waiter
 * gives is its *shape*. For every packet, the dispatcher builds one key per
 * shape in use (there are few: a scan uses one or two) and looks it up in
 * that shape's hash table, so the cost per packet does not grow with the
 * number of waiters. Every waiter whose key is equal gets the packet.
 *
 * ICMP errors: with TW_WAIT_ERRORS a waiter also gets the ICMP / ICMPv6
 * errors (unreachable, time exceeded, parameter problem, packet too big,
 * source quench, redirect) that quote the probe it waits for the answer
 * of. The match describes the answer ("from D port 80 to me port 40000");
 * the quote of an error is the probe itself ("from me port 40000 to D port
 * 80"), so the dispatcher turns the quote around before the lookup, and for
 * a quoted ICMP query (echo, timestamp, information, address mask request)
 * it expects the reply type. tw_rx.quoted tells a quoted match apart, and
 * tw_rx.src is then the router that sent the error.
 *
 * A waiter is a request (loop.h): it keeps the loop running, and its
 * callback runs
 *   - with status 0 for every matching packet (or only the first, with
 *     TW_WAIT_ONCE; the waiter then ends),
 *   - once with -ETIMEDOUT when timeout_ns passes (0: no timeout),
 *   - once with -ECANCELED after tw_cancel() or tw_loop_close(),
 * and the waiter is freed right after its last callback.
 *
 * Packets reach the dispatcher from the captures of the loop (capture.h) or
 * from tw_dispatch_input() (a pcap file, a test). Packets that cannot be
 * decoded are counted (tw_dispatch_stats) and dropped. */
#ifndef TRAWL_DISPATCH_H
#define TRAWL_DISPATCH_H

#include <stdint.h>
#include <trawl/capture.h>
#include <trawl/loop.h>
#include <trawl/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The fields of a packet a waiter can match on (bits of tw_match.fields and
 * tw_rx.fields). */
enum {
  TW_M_IFINDEX = 1 << 0,   /* interface index */
  TW_M_ETHERTYPE = 1 << 1, /* TW_ETH_IP4, TW_ETH_IP6, TW_ETH_ARP */
  TW_M_PROTO = 1 << 2,     /* IP protocol (IPPROTO_TCP, ...) after IPv6 ext headers */
  TW_M_SRC = 1 << 3,       /* IP source; ARP: sender protocol address */
  TW_M_DST = 1 << 4,       /* IP destination; ARP: target protocol address */
  TW_M_SPORT = 1 << 5,     /* TCP / UDP / SCTP source port */
  TW_M_DPORT = 1 << 6,     /* TCP / UDP / SCTP destination port */
  TW_M_ICMP_TYPE = 1 << 7, /* ICMP or ICMPv6 type */
  TW_M_ICMP_CODE = 1 << 8,
  TW_M_ICMP_ID = 1 << 9,   /* echo, timestamp, information, mask: identifier */
  TW_M_ICMP_SEQ = 1 << 10, /* ... and sequence number */
  TW_M_ARP_OP = 1 << 11,   /* ARP operation (TW_ARP_REQUEST, TW_ARP_REPLY) */
  TW_M_ALL = (1 << 12) - 1
};

/* What to wait for: the values of the fields named in `fields`; the other
 * values are ignored. fields == 0 matches every packet. */
typedef struct tw_match {
  uint32_t fields;       /* TW_M_* */
  int ifindex;
  uint16_t ethertype;
  uint8_t proto;
  uint8_t icmp_type, icmp_code;
  uint16_t icmp_id, icmp_seq;
  uint16_t sport, dport;
  uint16_t arp_op;
  tw_pkt_addr src, dst;  /* AF_INET or AF_INET6 */
} tw_match;

/* A received packet as the dispatcher saw it: the frame and the fields it
 * decoded (those present are in `fields`). For an ICMP error delivered
 * through TW_WAIT_ERRORS, quoted is 1 and the q_* fields give the quoted
 * probe as it was sent. Offsets are from frame->data; 0 means absent. */
typedef struct tw_rx {
  const tw_frame *frame;
  uint32_t fields;           /* TW_M_* present */
  uint16_t ethertype;
  uint8_t proto;
  uint8_t ttl;               /* IPv4 TTL / IPv6 hop limit */
  tw_pkt_addr src, dst;
  uint16_t sport, dport;
  uint8_t icmp_type, icmp_code;
  uint16_t icmp_id, icmp_seq;
  uint16_t arp_op;
  uint8_t arp_sha[6];        /* ARP sender hardware address */
  uint16_t tcp_flags;        /* TW_TCP_* */
  uint32_t tcp_seq, tcp_ack;
  uint16_t l3_off, l4_off;   /* IP (or ARP) header, upper-layer header */
  uint16_t payload_off;      /* after the TCP/UDP/ICMP header */
  uint8_t is_error;          /* the packet is an ICMP/ICMPv6 error with a quote */
  uint8_t quoted;            /* delivered because of its quote (TW_WAIT_ERRORS) */
  /* the quote of an ICMP error (valid when is_error); q_fields says which
   * of the q_* values the quote held (TW_M_PROTO, _SRC, _DST always; ports
   * or the ICMP type, id and sequence when the quote reaches them): */
  uint32_t q_fields;
  uint8_t q_proto;
  tw_pkt_addr q_src, q_dst;
  uint16_t q_sport, q_dport; /* TCP/UDP/SCTP ports of the probe */
  uint8_t q_icmp_type;       /* an ICMP query probe: its type, id, seq */
  uint16_t q_icmp_id, q_icmp_seq;
  uint8_t q_ttl;             /* TTL left in the quoted header */
  uint16_t q_off;            /* quoted IP header */
} tw_rx;

/* Decode the fields the dispatcher matches on. Returns 0, or TW_EMALFORMED
 * with *reason set to a TW_PKT_R_* code (packet.h) for a header that
 * contradicts itself or is cut short. Unknown EtherTypes and protocols are
 * not errors (their fields are simply absent). Never reads past caplen. */
TW_API int tw_rx_decode(const tw_frame *f, tw_rx *rx, int *reason);

enum {
  TW_WAIT_ONCE = 1,  /* end after the first packet */
  TW_WAIT_ERRORS = 2 /* also ICMP errors quoting the probe (see above) */
};

/* status 0: rx is a matching packet (valid only during the callback);
 * -ETIMEDOUT / -ECANCELED: the waiter ends, rx is NULL. */
typedef void (*tw_wait_cb)(tw_req *req, int status, const tw_rx *rx, void *data);

/* Register a waiter. req (may be NULL) gets the request, for tw_cancel().
 * Returns 0, -EINVAL (unknown field bits, an address whose family is not
 * AF_INET/AF_INET6, no callback), -ENOMEM, -ECANCELED (loop closing). */
TW_API int tw_wait(tw_loop *loop, tw_req **req, const tw_match *m, unsigned flags,
                   uint64_t timeout_ns, tw_wait_cb cb, void *data);

/* Feed one frame to the loop's dispatcher, as a capture does. Returns the
 * number of waiters it was delivered to, or TW_EMALFORMED (counted). */
TW_API int tw_dispatch_input(tw_loop *loop, const tw_frame *f);

typedef struct tw_dispatch_stats {
  uint64_t packets;   /* frames offered */
  uint64_t matched;   /* frames delivered to at least one waiter */
  uint64_t unmatched; /* decoded but nobody waited for them */
  uint64_t malformed; /* dropped: could not be decoded */
  uint64_t deliveries;/* callbacks run with a packet */
  uint64_t waiters;   /* waiters now registered */
  uint32_t shapes;    /* distinct shapes now in use */
  int last_reason;    /* TW_PKT_R_* of the last malformed frame */
} tw_dispatch_stats;
TW_API int tw_dispatch_stats_get(tw_loop *loop, tw_dispatch_stats *st);

#ifdef __cplusplus
}
#endif
#endif
