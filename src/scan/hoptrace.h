/* hoptrace.h: the probes and replies of --traceroute, for all hosts of a
 * group at once, on the loop.
 *
 * Each target gets TTL-limited copies of the probe that got an answer in
 * the port scan (a TCP SYN to a port, a UDP datagram, or an ICMP echo).
 * The first probe goes out at the target's known distance (from the TTL of
 * its answers), then toward TTL 1 with a few probes in flight per target,
 * and upward only when the distance was too short. All targets run in
 * parallel. A router met at the same TTL on the way to a target whose path
 * is already being walked ends that target's descent: the hops below are
 * the other target's ("Hops 1-N are the same as for X"), so a hop is
 * probed once per group.
 *
 * Replies come through the dispatcher (TW_WAIT_ERRORS): ICMP time exceeded
 * and unreachable quoting our probe, SYN+ACK/RST or echo reply from the
 * target. Every probe carries a token (TTL and try) in its IPv4 ID or
 * IPv6 flow label, and in the TCP sequence number or the ICMP echo
 * sequence, next to a keyed hash of the target, so a reply names its probe
 * without a lookup table. A reply that is cut short, names no probe of
 * ours or repeats one is counted and dropped. */
#ifndef TRAWL_HOPTRACE_H
#define TRAWL_HOPTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <trawl/dispatch.h>
#include <trawl/loop.h>
#include <trawl/packet.h>
#include <trawl/rawsend.h>

#include "scan/cookie.h"

#define HOPTRACE_MAX_TTL 50 /* as Nmap */
#define HOPTRACE_MAX_SRCS 8

/* The first bytes of a quoted probe. */
struct hoptrace_quote {
  tw_pkt_addr src, dst;
  uint8_t proto, ttl;    /* upper-layer protocol, TTL / hop limit */
  uint16_t ipid;         /* IPv4 */
  uint32_t flow;         /* IPv6 flow label */
  uint16_t sport, dport; /* TCP / UDP */
  uint32_t seq;          /* TCP */
  uint8_t icmp_type;     /* ICMP */
  uint16_t icmp_id, icmp_seq;
};
/* Parse the IP header and 8 bytes of upper layer quoted in an ICMP or
 * ICMPv6 error (q: the quoted IP header, len bytes there). Returns 0, or
 * -1 when it is neither IPv4 nor IPv6, an IPv4 header length is bad, it is
 * a later fragment, an IPv6 extension header comes first, or the 8 bytes
 * are cut short. Never reads past len. */
int hoptrace_quote_parse(const uint8_t *q, size_t len, struct hoptrace_quote *out);

struct hoptrace_target {
  tw_pkt_addr dst, src; /* IPv4 or IPv6 (the same family) */
  uint8_t proto;        /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP (echo;
                           ICMPv6 echo for IPv6) */
  bool ack;             /* TCP: ACK probes (answered by RST), not SYN */
  uint16_t dport;
  int dist;             /* known distance in hops; 0: unknown (start at 1) */
};

struct hoptrace_cfg {
  tw_loop *loop;
  tw_rawsock *rs4, *rs6; /* NULL: probes are only counted (tests) */
  const struct cookie_key *key;
  uint16_t sport_lo, sport_hi;
  const tw_pkt_addr *srcs; /* a waiter each (0: none, tests feed input) */
  int nsrcs;
  uint64_t timeout_ns; /* per probe before the first answer */
  uint64_t min_timeout_ns;
  int tries;           /* per TTL (1..4) */
  int window;          /* probes in flight per target */
  /* Where probes go instead of rs4 (tests): NULL: tw_rawsend(). */
  void (*send)(void *arg, const uint8_t *buf, size_t len);
  void *send_arg;
  void (*done)(void *ud); /* every target finished (from a timer) */
  void *ud;
};

enum hoptrace_hop_state { HOP_NONE, HOP_PENDING, HOP_GOT, HOP_TIMEOUT, HOP_SKIPPED };

struct hoptrace_hop {
  uint8_t state;       /* enum hoptrace_hop_state */
  uint8_t tries;
  uint8_t dest;        /* the answer came from the target itself */
  tw_pkt_addr addr;
  uint64_t sent_ns, rtt_ns; /* tw_hrtime() clock */
  uint64_t wire_ns;         /* CLOCK_REALTIME the kernel took it (0: unknown) */
};

struct hoptrace_stats {
  uint64_t sent, replies;  /* probes sent, replies taken */
  uint64_t malformed;      /* quotes cut short or not IPv4 */
  uint64_t unsolicited;    /* naming no probe of ours */
  uint64_t duplicates;     /* for a hop already known */
  uint64_t shared;         /* descents ended on a hop another target knows */
};

struct hoptrace;

/* Copies the targets. Returns 0 or -ENOMEM / -EINVAL. */
int hoptrace_new(struct hoptrace **out, const struct hoptrace_cfg *c,
                 const struct hoptrace_target *t, uint32_t n);
/* Register the waiters and send the first probes. 0 or a negative error. */
int hoptrace_start(struct hoptrace *ht);
/* Stop probing: pending probes become timeouts; done() follows. */
void hoptrace_stop(struct hoptrace *ht);
void hoptrace_free(struct hoptrace *ht);

/* A received packet (as a waiter gets it; also for tests), at now_ns. */
void hoptrace_input(struct hoptrace *ht, const tw_rx *rx, uint64_t now_ns);
/* Expire probes due at now_ns and send what is next (the timer calls it). */
void hoptrace_tick(struct hoptrace *ht, uint64_t now_ns);

bool hoptrace_finished(const struct hoptrace *ht);
double hoptrace_progress(const struct hoptrace *ht);
const struct hoptrace_stats *hoptrace_stats(const struct hoptrace *ht);

/* The hops of target i, TTL 1..n (out[k] is TTL k + 1), at most cap: hops
 * taken from another target are copied. *same_as gets that target's
 * index and *same_upto the last TTL taken from it (-1 / 0: none).
 * Trailing hops that never answered are left out. Returns n. */
int hoptrace_hops(const struct hoptrace *ht, uint32_t i, struct hoptrace_hop *out, int cap,
                  int *same_as, int *same_upto);

#endif
