/* engine.h: the stateless transmit engine every raw-packet scan pass runs
 * on (host discovery, SYN, ACK and UDP scans).
 *
 * A pass is a set of hosts x a set of "ports" (real ports, or probe kinds
 * for discovery). The engine walks that space in a pseudo-random
 * permutation (permute.h) at the rate the controller allows (ratectl.h),
 * asks the probe module to build each packet, sends it through libtrawl's
 * batched raw send, keeps only the unanswered probes (outstanding.h),
 * re-sends those whose answer is overdue, and reports the ones that never
 * got one. Replies come in through the probe module's dispatcher waiter,
 * which validates them (cookies) and calls engine_answered().
 *
 *      permutation --> probe->build --> tw_rawsend --> wire
 *      wire --> capture --> dispatcher --> probe waiter --> engine_answered
 *      overdue --> re-send, or probe->timeout after the last try */
#ifndef TRAWL_ENGINE_H
#define TRAWL_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <trawl/trawl.h>
#include <trawl/packet.h>
#include <trawl/rawsend.h>

#include "scan/outstanding.h"
#include "scan/permute.h"
#include "scan/ratectl.h"

struct engine;

struct probe_ops {
  /* Build the probe for host h, port index p (try 0, 1, ...) into buf;
   * return its length, or <= 0 to skip this pair. */
  int (*build)(struct engine *e, uint32_t h, uint32_t p, int try, uint8_t *buf, size_t cap);
  /* No answer after the last try. */
  void (*timeout)(struct engine *e, uint32_t h, uint32_t p);
  /* Should (h, p) still be probed? NULL: always. */
  int (*wanted)(struct engine *e, uint32_t h, uint32_t p);
  /* The last try went unanswered: to keep trying (e.g. the host is
   * rate-limiting its answers and still answering), return how long to wait
   * for the answer to the extra try (ns, at least the current timeout);
   * 0 to give up. NULL: give up. */
  uint64_t (*extend)(struct engine *e, uint32_t h, uint32_t p);
  /* The socket for (h, p); NULL op: the engine's raw IPv4/IPv6 socket. */
  tw_rawsock *(*sock)(struct engine *e, uint32_t h, uint32_t p);
  /* A probe of several packets (a UDP port with several payloads, sent
   * together as Nmap sends them): packet k = 1, 2, ... of try `try`, sent
   * right after the first to the same socket; <= 0: no more. NULL: one. */
  int (*build_more)(struct engine *e, uint32_t h, uint32_t p, int try, int k, uint8_t *buf,
                    size_t cap);
};

struct engine_config {
  double min_rate, max_rate, start_rate;
  int max_retries;         /* re-sends after the first try */
  uint64_t rtt_min_ns;     /* bounds of the answer timeout */
  uint64_t rtt_max_ns;
  uint64_t rtt_init_ns;
  uint64_t scan_delay_ns;  /* --scan-delay: at least this between probes */
  uint64_t seed;
  uint64_t shards, shard;
  bool ordered;            /* -r: ports in order (permute_init_ordered) */
  size_t window;           /* most probes outstanding (--max-parallelism) */
  size_t min_parallelism;  /* --min-parallelism: fewer outstanding are topped up
                              whatever the rate controller says (0: none) */
  uint64_t trace_t0;       /* --packet-trace: scan start (tw_hrtime), 0: off */
  /* Where probes go; NULL: tw_rawsend() on the probe's socket. A test
   * hands them to itself here (0: sent, -EAGAIN: try later, < 0: error). */
  int (*send)(void *arg, const uint8_t *buf, size_t len);
  void *send_arg;
  /* Applied to every raw IP probe the module built (buf holds
   * ENGINE_PKT_MAX bytes), before it is traced and sent: the new length,
   * <= 0 to skip it. NULL: none. The packet options (probe/pktopt.h). */
  int (*finish)(const void *arg, uint8_t *buf, int len, size_t cap);
  const void *finish_arg;
  /* After finish, what a raw IP probe becomes on the wire (-D, -f:
   * pktopt_source, pktopt_frag; both use finish_arg). expand: copy k = 0,
   * 1, ... of the probe into out (ENGINE_PKT_MAX bytes), 0 past the last;
   * each copy is traced whole (as Nmap traces its probes), then sent:
   * itself, or, when fragment returns >= 0 for it, fragment j = 0, 1, ...
   * (0 past the last), back to back. NULL: the probe itself. */
  int (*expand)(const void *arg, const uint8_t *pkt, int len, int k, uint8_t *out, size_t cap);
  /* --send-eth: every raw IP packet (after expand and fragment) goes
   * through link, with the pass's host it is for: 0 sent, -EAGAIN, or an
   * error. NULL: the raw IP socket. */
  int (*link)(void *arg, uint32_t h, const uint8_t *pkt, size_t len);
  void *link_arg;
  int (*fragment)(const void *arg, const uint8_t *pkt, int len, int j, uint8_t *out, size_t cap);
};

/* Room for one probe: a whole IP packet, as the packet options may make it. */
#define ENGINE_PKT_MAX 65536

struct engine_stats {
  uint64_t sent, resent, answered, late, unsolicited, timeouts, send_errors;
  uint64_t held; /* timeouts waited at a host's try limit (engine.c) */
};

/* What the engine knows of one host of the pass, for the number of tries
 * (engine.c, "Tries"). */
struct engine_host {
  uint32_t unsent;   /* pairs the permutation has not yet given */
  uint32_t inost;    /* its probes outstanding */
  uint32_t held;     /* of those, waiting at the try limit */
  uint8_t succ;      /* highest try (0-based) that got an answer */
  uint16_t nrtt;     /* RTT samples (Karn: answers to probes sent once) */
  uint32_t srtt_us, rttvar_us; /* their smoothed mean and variation */
};

struct engine {
  tw_loop *loop;
  const struct probe_ops *ops;
  void *ctx;
  struct engine_config cfg;
  const tw_pkt_addr *hosts;
  uint32_t nhosts;
  uint32_t nports;
  struct permute perm;
  int perm_done;
  struct outstanding ost;
  struct ratectl rc;
  uint64_t srtt_ns, rttvar_ns, rto_ns;
  tw_rawsock *rs4, *rs6;
  tw_timer *tick;
  uint64_t last_send_ns;
  int running;
  uint64_t stash; /* a permutation index the kernel could not take yet */
  uint32_t cur_h; /* the host of the probe being sent (cfg.link) */
  uint8_t *pkt;   /* ENGINE_PKT_MAX bytes: the probe being built */
  uint8_t *wire;  /* 2 x ENGINE_PKT_MAX bytes, with cfg.expand: a copy, a fragment */
  void (*done)(struct engine *e);
  struct engine_stats st;
  struct engine_host *hs; /* [nhosts] */
  /* address -> host index */
  uint32_t *hidx;
  size_t hmask;
};

/* Start a pass. hosts must outlive it. rs4/rs6: raw sockets (either may be
 * NULL if no host needs it). done runs once when every probe was answered
 * or timed out (or after engine_stop). */
int engine_start(struct engine *e, tw_loop *loop, const struct engine_config *cfg,
                 const struct probe_ops *ops, void *ctx, const tw_pkt_addr *hosts,
                 uint32_t nhosts, uint32_t nports, tw_rawsock *rs4, tw_rawsock *rs6,
                 void (*done)(struct engine *e));
/* Stop sending; done runs on the next pass of the loop. */
void engine_stop(struct engine *e);
void engine_free(struct engine *e);

/* The host index of an address, or -1. */
int64_t engine_host(const struct engine *e, const tw_pkt_addr *a);
/* Host h's round-trip time over this pass, as Nmap reports a host's
 * latency (srtt) and timing (rttvar): the number of samples, 0 if none. */
unsigned engine_host_rtt(const struct engine *e, uint32_t h, uint32_t *srtt_us,
                         uint32_t *rttvar_us);
/* A valid answer for (h, p) arrived (rx_ns: kernel receive time,
 * CLOCK_REALTIME; 0 if unknown). Returns 1 if the probe was outstanding
 * (first answer), 0 if it was not (late or duplicate). */
int engine_answered(struct engine *e, uint32_t h, uint32_t p);
/* Progress: probes settled / total (of this shard). */
double engine_progress(const struct engine *e);

#endif
