/* timer.c: timers on a 4-ary min-heap keyed by (due time, start order).
 *
 * Start, stop and re-arm are O(log n) and allocation-free (the heap array
 * grows geometrically); each timer remembers its heap slot so a stop never
 * searches. Ties fire in the order the timers were started. */
#include <errno.h>
#include <stdlib.h>

#include "loop-int.h"

struct tw_timer {
  tw_handle h;
  uint64_t due;
  uint64_t repeat;
  uint64_t seq;
  size_t slot; /* index in loop->timer_heap, SIZE_MAX when stopped */
  tw_timer_cb cb;
};

#define NO_SLOT ((size_t)-1)

/* A heap entry carries its timer's key, so sifting compares entries in the
 * heap array itself (four siblings are adjacent) instead of following a
 * pointer into each timer: with many timers that was a cache miss per
 * comparison, and most of the cost of running them. */
struct tw_timer_slot {
  uint64_t due, seq;
  struct tw_timer *t;
};
typedef struct tw_timer_slot slot_t;

static int before(const slot_t *a, const slot_t *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void place(tw_loop *loop, size_t i, slot_t e) {
  loop->timer_heap[i] = e;
  e.t->slot = i;
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
  slot_t e = loop->timer_heap[i];
  size_t n = loop->timer_count;
  for (;;) {
    size_t first = i * 4 + 1, best = i;
    const slot_t *b = &e;
    for (size_t c = first; c < first + 4 && c < n; c++)
      if (before(&loop->timer_heap[c], b)) {
        best = c;
        b = &loop->timer_heap[c];
      }
    if (best == i) break;
    place(loop, i, *b);
    i = best;
  }
  place(loop, i, e);
}

static int heap_insert(tw_loop *loop, struct tw_timer *t) {
  if (loop->timer_count == loop->timer_cap) {
    size_t cap = loop->timer_cap ? loop->timer_cap * 2 : 64;
    slot_t *h = realloc(loop->timer_heap, cap * sizeof *h);
    if (!h) return -ENOMEM;
    loop->timer_heap = h;
    loop->timer_cap = cap;
  }
  place(loop, loop->timer_count++, (slot_t){t->due, t->seq, t});
  sift_up(loop, t->slot);
  return 0;
}

static void heap_remove(tw_loop *loop, struct tw_timer *t) {
  size_t i = t->slot;
  slot_t last = loop->timer_heap[--loop->timer_count];
  t->slot = NO_SLOT;
  if (last.t == t) return;
  place(loop, i, last);
  if (i > 0 && before(&last, &loop->timer_heap[(i - 1) / 4])) sift_up(loop, i);
  else sift_down(loop, i);
}

static void timer_stop(struct tw_timer *t) {
  if (t->slot != NO_SLOT) heap_remove(t->h.loop, t);
  tw__handle_stop(&t->h);
}

static void timer_close(tw_handle *h) { timer_stop((struct tw_timer *)h); }

static void timer_cancel(tw_handle *h) {
  struct tw_timer *t = (struct tw_timer *)h;
  if (t->slot == NO_SLOT) return;
  timer_stop(t);
  t->cb(t, -ECANCELED);
}

static void timer_free(tw_handle *h) { free(h); }

static const tw_handle_ops timer_ops = {"timer", timer_close, timer_cancel, timer_free};

int tw_timer_new(tw_loop *loop, tw_timer **out, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  struct tw_timer *t = malloc(sizeof *t);
  if (!t) return -ENOMEM;
  tw__handle_init(loop, &t->h, &timer_ops, data);
  t->due = t->repeat = t->seq = 0;
  t->slot = NO_SLOT;
  t->cb = NULL;
  *out = t;
  return 0;
}

int tw_timer_start(tw_timer *t, tw_timer_cb cb, uint64_t timeout_ns, uint64_t repeat_ns) {
  int err = tw__handle_usable(t, &timer_ops);
  if (err) return err;
  if (!cb) return -EINVAL;
  tw_loop *loop = t->h.loop;
  if (t->slot != NO_SLOT) heap_remove(loop, t);
  uint64_t due = loop->now + timeout_ns;
  t->due = due < loop->now ? UINT64_MAX : due; /* saturate, never wrap */
  t->repeat = repeat_ns;
  t->seq = loop->timer_seq++;
  t->cb = cb;
  err = heap_insert(loop, t);
  if (err) return err;
  tw__handle_start(&t->h);
  return 0;
}

int tw_timer_stop(tw_timer *t) {
  int err = tw__handle_check(t, &timer_ops);
  if (err) return err;
  timer_stop(t);
  return 0;
}

uint64_t tw_timer_due(const tw_timer *t) {
  if (tw__handle_check(t, &timer_ops) || t->slot == NO_SLOT) return 0;
  return t->due;
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
    struct tw_timer *t = top->t;
    heap_remove(loop, t);
    if (t->repeat) {
      /* Re-arm from the scheduled time, so a repeating timer does not
       * drift; if the loop fell behind by whole periods, skip them. */
      uint64_t next = t->due + t->repeat;
      if (next <= loop->now) next = loop->now + t->repeat;
      t->due = next;
      t->seq = loop->timer_seq++;
      heap_insert(loop, t); /* cannot fail: the slot was just freed */
    } else {
      tw__handle_stop(&t->h);
    }
    t->cb(t, 0);
  }
}
