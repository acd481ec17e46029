/* queue-int.h: an intrusive doubly linked list, the one container every
 * part of libtrawl uses for "things waiting in line". */
#ifndef TW_QUEUE_INT_H
#define TW_QUEUE_INT_H

#include <stddef.h>

typedef struct tw_queue {
  struct tw_queue *next, *prev;
} tw_queue;

#define tw_queue_entry(ptr, type, field) \
  ((type *)((char *)(ptr) - offsetof(type, field)))

static inline void tw_queue_init(tw_queue *q) { q->next = q->prev = q; }
static inline int tw_queue_empty(const tw_queue *q) { return q->next == q; }
/* An element that is in no list points at itself (after init or remove). */
static inline int tw_queue_linked(const tw_queue *e) { return e->next != e; }

static inline void tw_queue_push(tw_queue *q, tw_queue *e) {
  e->prev = q->prev;
  e->next = q;
  q->prev->next = e;
  q->prev = e;
}

static inline void tw_queue_remove(tw_queue *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->next = e->prev = e;
}

static inline tw_queue *tw_queue_pop(tw_queue *q) {
  tw_queue *e = q->next;
  if (e == q) return NULL;
  tw_queue_remove(e);
  return e;
}

/* Move all of `from` to the end of `to`, leaving `from` empty. */
static inline void tw_queue_move(tw_queue *from, tw_queue *to) {
  if (tw_queue_empty(from)) return;
  from->next->prev = to->prev;
  to->prev->next = from->next;
  from->prev->next = to;
  to->prev = from->prev;
  tw_queue_init(from);
}

#endif
