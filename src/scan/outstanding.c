/* outstanding.c: open-addressing hash of unanswered probes (linear probing,
 * deletion by backward shift so no tombstones pile up) plus a ring buffer
 * FIFO in send order. See outstanding.h. */
#include <errno.h>
#include <stdlib.h>

#include "scan/outstanding.h"

/* The generation stamp lives in the padding after `tries`: the table's
 * memory per probe in flight stays 24 bytes. */
_Static_assert(sizeof(struct ost_entry) == 24, "ost_entry grew");

static size_t hash_key(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return (size_t)k;
}

int ost_init(struct outstanding *o, size_t window) {
  size_t limit = window ? window : 1; /* --max-parallelism may ask for 1 */
  if (window < 16) window = 16;
  size_t cap = 32;
  while (cap < window * 2) cap <<= 1; /* load factor <= 1/2 */
  o->slots = malloc(cap * sizeof *o->slots);
  /* Each probe has at most one live FIFO item, but stale items (answered
   * or re-sent) linger until they reach the front: room for twice. */
  o->fifo_cap = window * 2;
  o->fifo = malloc(o->fifo_cap * sizeof *o->fifo);
  if (!o->slots || !o->fifo) {
    free(o->slots);
    free(o->fifo);
    return -ENOMEM;
  }
  for (size_t i = 0; i < cap; i++) o->slots[i].key = OST_EMPTY;
  o->mask = cap - 1;
  o->count = 0;
  o->limit = limit;
  o->fifo_head = o->fifo_len = 0;
  return 0;
}

void ost_free(struct outstanding *o) {
  free(o->slots);
  free(o->fifo);
  o->slots = NULL;
  o->fifo = NULL;
}

int ost_has_room(const struct outstanding *o) {
  return o->count < o->limit && o->fifo_len < o->fifo_cap;
}

struct ost_entry *ost_find(const struct outstanding *o, uint64_t key) {
  for (size_t i = hash_key(key) & o->mask;; i = (i + 1) & o->mask) {
    if (o->slots[i].key == key) return &o->slots[i];
    if (o->slots[i].key == OST_EMPTY) return NULL;
  }
}

int ost_sent(struct outstanding *o, uint64_t key, uint64_t now_ns, uint8_t tries) {
  if (o->fifo_len == o->fifo_cap) return -ENOSPC;
  struct ost_entry *e = ost_find(o, key);
  if (!e) {
    if (o->count >= o->limit) return -ENOSPC;
    size_t i = hash_key(key) & o->mask;
    while (o->slots[i].key != OST_EMPTY) i = (i + 1) & o->mask;
    e = &o->slots[i];
    e->key = key;
    e->gen = o->gen;
    e->held = 0;
    o->count++;
  }
  e->sent_ns = now_ns;
  e->tries = tries;
  size_t tail = (o->fifo_head + o->fifo_len) % o->fifo_cap;
  o->fifo[tail].key = key;
  o->fifo[tail].sent_ns = now_ns;
  o->fifo_len++;
  return 0;
}

int ost_remove(struct outstanding *o, uint64_t key) {
  struct ost_entry *e = ost_find(o, key);
  if (!e) return 0;
  /* Backward-shift: pull later members of the probe run into the hole. */
  size_t hole = (size_t)(e - o->slots);
  size_t i = hole;
  for (;;) {
    i = (i + 1) & o->mask;
    if (o->slots[i].key == OST_EMPTY) break;
    size_t home = hash_key(o->slots[i].key) & o->mask;
    /* Can the entry at i move to hole? Only if its home is not in (hole, i]. */
    int between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!between) {
      o->slots[hole] = o->slots[i];
      hole = i;
    }
  }
  o->slots[hole].key = OST_EMPTY;
  o->count--;
  return 1;
}

int ost_expired(struct outstanding *o, uint64_t deadline_ns, struct ost_entry *out) {
  while (o->fifo_len) {
    struct ost_fifo_item *it = &o->fifo[o->fifo_head];
    struct ost_entry *e = ost_find(o, it->key);
    if (e && e->sent_ns == it->sent_ns) {
      if (it->sent_ns > deadline_ns) return 0; /* oldest live one not due */
      *out = *e;
    }
    int live = e && e->sent_ns == it->sent_ns;
    o->fifo_head = (o->fifo_head + 1) % o->fifo_cap;
    o->fifo_len--;
    if (live) return 1;
  }
  return 0;
}
