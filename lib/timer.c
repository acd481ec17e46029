/* timer.c: timers on a 4-ary min-heap keyed by (due time, start order).
 *
 * Cost model: start, stop and re-arm are O(log n) and allocation-free (the
 * heap array grows geometrically); each timer remembers its heap slot so a
 * stop never searches. Ties fire in the order the timers were started.
 *
 * Memory: a timer is 80 bytes (struct tw_timer in loop.h is its public
 * size), either allocated by tw_timer_new or embedded in the caller's own
 * object (tw_timer_init), so a million timers cost one allocation of the
 * caller's and none here. Its due time and start order live only in its
 * heap entry, not in the timer: the entry is what sifting reads. */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>

#include "loop-int.h"

/* The private layout behind the public struct tw_timer. */
struct timer_impl {
  tw_handle h;
  uint64_t repeat;
  size_t slot; /* index in loop->timer_heap, NO_SLOT when stopped */
  tw_timer_cb cb;
};
_Static_assert(sizeof(struct timer_impl) <= sizeof(struct tw_timer),
               "TW_TIMER_SIZE in loop.h is smaller than the timer");
_Static_assert(alignof(struct timer_impl) <= alignof(struct tw_timer),
               "struct tw_timer is less aligned than the timer");
_Static_assert(offsetof(struct timer_impl, h) == 0, "a timer is a handle");

static inline struct timer_impl *impl(tw_timer *t) { return (struct timer_impl *)(void *)t; }
static inline tw_timer *pub(struct timer_impl *t) { return (tw_timer *)(void *)t; }

#define NO_SLOT ((size_t)-1)

/* A heap entry carries its timer's key, so sifting compares entries in the
 * heap array itself (four siblings are adjacent) instead of following a
 * pointer into each timer: with many timers that was a cache miss per
 * comparison, and most of the cost of running them. */
struct tw_timer_slot {
  uint64_t due, seq;
  struct timer_impl *t;
};
typedef struct tw_timer_slot slot_t;

/* (due, seq) as one 128-bit number: a single compare, without the branch
 * that the two-field test mispredicts when many timers share a due time. */
static inline int before(const slot_t *a, const slot_t *b) {
  unsigned __int128 ka = (unsigned __int128)a->due << 64 | a->seq;
  unsigned __int128 kb = (unsigned __int128)b->due << 64 | b->seq;
  return ka < kb;
}

static inline void place(tw_loop *loop, size_t i, slot_t e) {
  loop->timer_heap[i] = e;
  e.t->slot = i;
}

/* The least of the (up to four) children of a node, the first at `first`. */
static inline size_t least_child(const slot_t *h, size_t first, size_t n) {
  size_t best = first;
  if (first + 4 <= n) { /* the usual case: all four, no bounds tests */
    if (before(&h[first + 1], &h[best])) best = first + 1;
    if (before(&h[first + 2], &h[best])) best = first + 2;
    if (before(&h[first + 3], &h[best])) best = first + 3;
    return best;
  }
  for (size_t c = first + 1; c < n; c++)
    if (before(&h[c], &h[best])) best = c;
  return best;
}

static void sift_up(tw_loop *loop, size_t i) {
  slot_t e = loop->timer_heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 4;
    if (!before(&e, &loop->timer_heap[parent])) break;
    place(loop, i, loop->timer_heap[parent]);
    i = parent;
  }
  place(loop, i, e);
}

static void sift_down(tw_loop *loop, size_t i) {
  slot_t *h = loop->timer_heap;
  slot_t e = h[i];
  size_t n = loop->timer_count;
  for (size_t first; (first = i * 4 + 1) < n;) {
    size_t c = least_child(h, first, n);
    if (!before(&h[c], &e)) break;
    place(loop, i, h[c]);
    i = c;
  }
  place(loop, i, e);
}

/* Remove the root (Floyd's method): the entry that fills it comes from the
 * end of the array, a leaf, so it almost always belongs near the bottom
 * again. Walk the hole down along the least children without comparing
 * it on the way (three compares a level, not four), then let the leaf
 * rise from there, which is usually zero or one step. */
static void pop_root(tw_loop *loop) {
  slot_t *h = loop->timer_heap;
  size_t n = --loop->timer_count;
  if (n == 0) return;
  size_t hole = 0;
  for (size_t first; (first = hole * 4 + 1) < n;) {
    size_t c = least_child(h, first, n);
    place(loop, hole, h[c]);
    hole = c;
  }
  h[hole] = h[n];
  h[hole].t->slot = hole;
  sift_up(loop, hole);
}

static int heap_insert(tw_loop *loop, struct timer_impl *t, uint64_t due, uint64_t seq) {
  if (loop->timer_count == loop->timer_cap) {
    size_t cap = loop->timer_cap ? loop->timer_cap * 2 : 64;
    slot_t *h = realloc(loop->timer_heap, cap * sizeof *h);
    if (!h) return -ENOMEM;
    loop->timer_heap = h;
    loop->timer_cap = cap;
  }
  place(loop, loop->timer_count++, (slot_t){due, seq, t});
  sift_up(loop, t->slot);
  return 0;
}

static void heap_remove(tw_loop *loop, struct timer_impl *t) {
  size_t i = t->slot;
  t->slot = NO_SLOT;
  if (i == 0) {
    pop_root(loop);
    return;
  }
  slot_t last = loop->timer_heap[--loop->timer_count];
  if (last.t == t) return;
  place(loop, i, last);
  if (i > 0 && before(&last, &loop->timer_heap[(i - 1) / 4])) sift_up(loop, i);
  else sift_down(loop, i);
}

static void timer_stop(struct timer_impl *t) {
  if (t->slot != NO_SLOT) heap_remove(t->h.loop, t);
  tw__handle_stop(&t->h);
}

static void timer_close(tw_handle *h) { timer_stop((struct timer_impl *)h); }

static void timer_cancel(tw_handle *h) {
  struct timer_impl *t = (struct timer_impl *)h;
  if (t->slot == NO_SLOT) return;
  timer_stop(t);
  t->cb(pub(t), -ECANCELED);
}

static void timer_free(tw_handle *h) { free(h); }
static void timer_free_embedded(tw_handle *h) { (void)h; }

/* Two tables, so that closing an embedded timer never frees it; the
 * handle checks below accept either. */
static const tw_handle_ops timer_ops = {"timer", timer_close, timer_cancel, timer_free};
static const tw_handle_ops timer_embedded_ops = {"timer", timer_close, timer_cancel,
                                                 timer_free_embedded};

static int timer_check(const tw_timer *t) {
  const tw_handle *h = (const tw_handle *)(const void *)t;
  if (tw__handle_check(h, NULL)) return -EINVAL;
  return h->ops == &timer_ops || h->ops == &timer_embedded_ops ? 0 : -EINVAL;
}

static void timer_init(tw_loop *loop, struct timer_impl *t, const tw_handle_ops *ops, void *data) {
  tw__handle_init(loop, &t->h, ops, data);
  t->repeat = 0;
  t->slot = NO_SLOT;
  t->cb = NULL;
}

int tw_timer_new(tw_loop *loop, tw_timer **out, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  struct timer_impl *t = malloc(sizeof *t);
  if (!t) return -ENOMEM;
  timer_init(loop, t, &timer_ops, data);
  *out = pub(t);
  return 0;
}

int tw_timer_init(tw_loop *loop, tw_timer *t, void *data) {
  if (!loop || !t) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  timer_init(loop, impl(t), &timer_embedded_ops, data);
  return 0;
}

int tw_timer_start(tw_timer *pt, tw_timer_cb cb, uint64_t timeout_ns, uint64_t repeat_ns) {
  int err = timer_check(pt);
  if (!err) err = tw__handle_usable(pt, NULL); /* -ECANCELED when closing */
  if (err) return err;
  if (!cb) return -EINVAL;
  struct timer_impl *t = impl(pt);
  tw_loop *loop = t->h.loop;
  if (t->slot != NO_SLOT) heap_remove(loop, t);
  uint64_t due = loop->now + timeout_ns;
  if (due < loop->now) due = UINT64_MAX; /* saturate, never wrap */
  t->repeat = repeat_ns;
  t->cb = cb;
  err = heap_insert(loop, t, due, loop->timer_seq++);
  if (err) return err;
  tw__handle_start(&t->h);
  return 0;
}

int tw_timer_stop(tw_timer *t) {
  int err = timer_check(t);
  if (err) return err;
  timer_stop(impl(t));
  return 0;
}

uint64_t tw_timer_due(const tw_timer *pt) {
  if (timer_check(pt)) return 0;
  const struct timer_impl *t = (const struct timer_impl *)(const void *)pt;
  return t->slot == NO_SLOT ? 0 : t->h.loop->timer_heap[t->slot].due;
}

uint64_t tw__timers_next(const tw_loop *loop) {
  return loop->timer_count ? loop->timer_heap[0].due : UINT64_MAX;
}

/* Timers started during this pass (e.g. re-armed with timeout 0 from their
 * own callback) wait for the next pass, so they cannot starve the loop. */
void tw__timers_run(tw_loop *loop) {
  uint64_t started_before = loop->timer_seq;
  while (loop->timer_count) {
    const slot_t *top = &loop->timer_heap[0];
    if (top->due > loop->now || top->seq >= started_before) break;
    struct timer_impl *t = top->t;
    uint64_t due = top->due;
    heap_remove(loop, t);
    if (t->repeat) {
      /* Re-arm from the scheduled time, so a repeating timer does not
       * drift; if the loop fell behind by whole periods, skip them. */
      uint64_t next = due + t->repeat;
      if (next <= loop->now) next = loop->now + t->repeat;
      heap_insert(loop, t, next, loop->timer_seq++); /* cannot fail: the slot was just freed */
    } else {
      tw__handle_stop(&t->h);
    }
    t->cb(pub(t), 0);
  }
}
