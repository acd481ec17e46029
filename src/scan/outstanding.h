/* outstanding.h: the probes sent and not yet answered — the only per-probe
 * memory a scan keeps. Its size follows the probes in flight, never the
 * size of the scan: an answered probe is forgotten at once.
 *
 * A probe is named by a 64-bit key (host index << 16 | port). The table
 * maps key -> (send time, tries); a FIFO of (key, send time) in send order
 * finds the probes whose answer is overdue, oldest first, since every
 * probe of a pass waits the same timeout. FIFO entries whose probe was
 * answered or re-sent meanwhile are skipped when they reach the front. */
#ifndef TRAWL_OUTSTANDING_H
#define TRAWL_OUTSTANDING_H

#include <stddef.h>
#include <stdint.h>

struct ost_entry {
  uint64_t key;     /* OST_EMPTY: free slot */
  uint64_t sent_ns; /* monotonic time of the last transmission */
  uint8_t tries;    /* transmissions so far */
  uint8_t held;     /* timeouts waited at the host's try limit without a
                       transmission (engine.c); 0 for a new entry */
  uint32_t gen;     /* o->gen when first sent (the rate's generation) */
};
#define OST_EMPTY UINT64_MAX

struct ost_fifo_item {
  uint64_t key;
  uint64_t sent_ns;
};

struct outstanding {
  struct ost_entry *slots;
  size_t mask;  /* capacity - 1 (a power of two) */
  size_t count; /* probes outstanding */
  size_t limit; /* at most this many outstanding (window) */
  uint32_t gen; /* stamped on each new entry (the engine sets it) */
  struct ost_fifo_item *fifo;
  size_t fifo_cap, fifo_head, fifo_len;
};

static inline uint64_t ost_key(uint32_t host, uint16_t port) {
  return ((uint64_t)host << 16) | port;
}
static inline uint32_t ost_host(uint64_t key) { return (uint32_t)(key >> 16); }
static inline uint16_t ost_port(uint64_t key) { return (uint16_t)key; }

/* window: the most probes that may be outstanding at once. */
int ost_init(struct outstanding *o, size_t window);
void ost_free(struct outstanding *o);
/* Can another probe be sent without exceeding the window? */
int ost_has_room(const struct outstanding *o);
/* Record a (re)transmission. Returns 0, -ENOSPC when full. */
int ost_sent(struct outstanding *o, uint64_t key, uint64_t now_ns, uint8_t tries);
/* Look up a probe; NULL when it is not outstanding. */
struct ost_entry *ost_find(const struct outstanding *o, uint64_t key);
/* Forget a probe (answered, or given up). Returns 1 if it was there. */
int ost_remove(struct outstanding *o, uint64_t key);
/* The oldest outstanding probe sent at or before `deadline_ns`, removed
 * from the FIFO (not from the table): 1 and *e filled, or 0. */
int ost_expired(struct outstanding *o, uint64_t deadline_ns, struct ost_entry *e);

#endif
