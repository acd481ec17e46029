/* os-try.h: one OS detection try against one host: which probe each reply
 * answers, the replies kept (bounded copies), and the fingerprint computed
 * from them once the try is over. The stage (os-stage.c) sends the probes
 * (os-probe.h) and feeds every packet its waiters get to os_try_input();
 * a try is pure data, so the tests drive it with made-up replies.
 *
 * A reply is taken when it comes from the target and names its probe: a
 * TCP segment by its destination port (sport_base + probe) and its source
 * port (the port the probe went to), an echo reply by its identifier and
 * sequence number, a port unreachable by the quoted UDP ports. The first
 * reply of each probe is kept; later ones and anything that does not
 * parse are counted and dropped. */
#ifndef TRAWL_OS_TRY_H
#define TRAWL_OS_TRY_H

#include <stdint.h>
#include <trawl/packet.h>

#include "os/fp-seq.h"
#include "os/fp.h"
#include "os/os-probe.h"

/* Longest reply kept: U1's port unreachable is 356 bytes. */
#define OS_REPLY_MAX 600

struct os_reply {
  uint8_t got;
  uint8_t linktype; /* TW_LINK_RAW or TW_LINK_ETH */
  uint16_t len;
  uint64_t rx_ns;   /* when it came (the caller's clock) */
  uint8_t data[OS_REPLY_MAX];
};

struct os_try {
  struct os_probe_params pp;
  struct os_probe_sent sent[OS_NPROBES];
  uint64_t sent_ns[OS_NPROBES]; /* first transmission (the caller's clock) */
  uint8_t nsent[OS_NPROBES];    /* transmissions */
  struct os_reply reply[OS_NPROBES];
  unsigned nreplies;
  uint32_t dropped;             /* malformed, duplicate or unrelated */
};

/* Starts a try with these parameters (clears replies). */
void os_try_init(struct os_try *t, const struct os_probe_params *pp);
/* Builds probe id into buf (os_probe_build) and notes it was sent at now_ns. */
int os_try_send(struct os_try *t, enum os_probe_id id, uint64_t now_ns, uint8_t *buf, size_t cap);
/* Offers a captured packet (frame bytes of linktype) received at now_ns.
 * Returns the probe it answers, or -1 (dropped). */
int os_try_input(struct os_try *t, const uint8_t *data, size_t len, int linktype, uint64_t now_ns);
/* Probes sent and still unanswered (bit 1 << id). */
uint32_t os_try_unanswered(const struct os_try *t);
/* The TTL of probe id's reply, -1 without one. */
int os_try_reply_ttl(const struct os_try *t, int id);
/* Largest round trip seen in this try (ns), 0 when none. */
uint64_t os_try_max_rtt(const struct os_try *t);

/* The computed fingerprint of the try. hops: routers between us and the
 * target when known (>= 0, e.g. 0 for a host on our link), else -1: then
 * the U1 reply's quote gives it, when there is one. *dist_out (may be
 * NULL) gets the hops used, -1 when unknown; *seq_out (may be NULL) what
 * the SEQ test was computed from. */
void os_try_fingerprint(const struct os_try *t, int hops, struct os_fp *fp, int *dist_out,
                        struct os_seq_in *seq_out);

#endif
