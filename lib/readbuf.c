/* readbuf.c: growing and compacting the stream input buffer (readbuf-int.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "readbuf-int.h"

int tw_readbuf_reserve(tw_readbuf *b, size_t need) {
  if (b->cap - b->end >= need) return 0;
  size_t len = b->end - b->start;
  if (len > SIZE_MAX - need) return -ENOMEM;
  if (b->start) {
    /* Slide the unread bytes to the front first: often that is enough. */
    memmove(b->base, b->base + b->start, len);
    b->start = 0;
    b->end = len;
    if (b->cap - len >= need) return 0;
  }
  size_t cap = b->cap ? b->cap : TW_READBUF_INIT;
  while (cap - len < need) {
    if (cap > SIZE_MAX / 2) return -ENOMEM;
    cap *= 2;
  }
  char *p = realloc(b->base, cap);
  if (!p) return -ENOMEM;
  b->base = p;
  b->cap = cap;
  return 0;
}

void tw_readbuf_free(tw_readbuf *b) {
  free(b->base);
  b->base = NULL;
  b->start = b->end = b->cap = 0;
}
