/* readbuf-int.h: the input buffer of a stream. Bytes arrive at `end` and are
 * consumed from `start`; the memory is kept and reused for the life of the
 * stream, so steady-state reading never allocates. When it empties, both
 * offsets go back to 0 (free), and it is compacted only when a read needs
 * room at the end. Consuming never moves bytes, so a pointer handed to a
 * callback stays valid until the next fill. */
#ifndef TW_READBUF_INT_H
#define TW_READBUF_INT_H

#include <stddef.h>

typedef struct tw_readbuf {
  char *base;
  size_t start, end, cap;
} tw_readbuf;

static inline size_t tw_readbuf_len(const tw_readbuf *b) { return b->end - b->start; }
static inline const char *tw_readbuf_data(const tw_readbuf *b) { return b->base + b->start; }
static inline size_t tw_readbuf_room(const tw_readbuf *b) { return b->cap - b->end; }
static inline char *tw_readbuf_tail(tw_readbuf *b) { return b->base + b->end; }
/* `n` bytes were written at the tail. */
static inline void tw_readbuf_commit(tw_readbuf *b, size_t n) { b->end += n; }
static inline void tw_readbuf_consume(tw_readbuf *b, size_t n) {
  b->start += n;
  if (b->start == b->end) b->start = b->end = 0;
}

/* Make room for at least `need` bytes at the tail: compact if that is
 * enough, else grow (doubling, first allocation TW_READBUF_INIT).
 * Returns 0 or -ENOMEM (the buffer is unchanged then). */
#define TW_READBUF_INIT 4096
int tw_readbuf_reserve(tw_readbuf *b, size_t need);
void tw_readbuf_free(tw_readbuf *b);

#endif
