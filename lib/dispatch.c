/* dispatch.c: the packet dispatcher — which waiters does this packet wake?
 *
 * Waiters are grouped by *shape*, the set of fields their match names.
 * Each shape has one hash table keyed by the values of exactly those
 * fields. For a packet we decode its fields once into a full key, then for
 * each shape in use (a handful) mask the key down to the shape's fields and
 * look it up: the cost per packet is O(shapes), never O(waiters). Waiters
 * with identical keys sit in neighbouring entries of the same probe run,
 * so all of them get the packet. The tables keep each waiter's hash inline
 * and stay at most half full, so a packet nobody waits for costs one cache
 * line per shape even with a million waiters.
 *
 * Memory, not arithmetic, is what a million waiters cost: a table entry
 * and a waiter are each a cache miss (~100 ns) once they no longer fit in
 * the caches. So frames are dispatched in batches (tw__dispatch_batch, fed
 * by the capture straight from its ring): decode every frame of the batch
 * and prefetch its table entries, then read the entries and prefetch the
 * waiters they point to, then deliver. The misses of a batch overlap
 * instead of following one another. A waiter keeps what delivery reads in
 * its first two cache lines (request, callback, key), and waiters live in
 * slabs on huge pages, so reaching one costs no TLB walk.
 *
 * ICMP errors are looked up twice: as themselves, and (for waiters that
 * asked with TW_WAIT_ERRORS) as the answer to the probe they quote.
 *
 * Timeouts: waiters with a timeout sit in a binary min-heap ordered by
 * deadline; one loop timer is armed at the earliest deadline. That keeps a
 * million waiters from costing a million timer handles.
 *
 * Callbacks may register, cancel or end any waiter, and even feed packets
 * (nested tw_dispatch_input). So matches are first collected (on a stack
 * shared by nested calls), then delivered; a waiter that ended in between
 * is skipped, and waiters ended during delivery are freed only when the
 * outermost delivery is over. A waiter registered during a batch changes
 * the tables, so the rest of that batch is looked up again, frame by
 * frame, exactly as if each frame had come alone. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "capture-int.h"
#include "dispatch-int.h"
#include "loop-int.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define PREFETCHW(p) __builtin_prefetch((p), 1, 3)

/* The values of every matchable field, laid out so that a shape's key is a
 * word-wise AND with the shape's mask. */
typedef union tw_dkey {
  struct {
    uint8_t src[16], dst[16];
    int32_t ifindex;
    uint16_t ethertype, sport, dport, icmp_id, icmp_seq, arp_op;
    uint8_t proto, icmp_type, icmp_code, family;
  } f;
  uint64_t w[7];
} tw_dkey;
_Static_assert(sizeof(tw_dkey) == 56, "key is 7 words");

/* One entry of a shape's table: the waiter's full hash beside its pointer,
 * so a probe that finds nobody reads only the table (one cache line),
 * never a waiter. hash 0 marks an empty entry, 1 a deleted one. */
typedef struct tslot {
  uint64_t hash;
  struct tw_wait *w;
} tslot;
#define T_EMPTY 0
#define T_DELETED 1

struct shape {
  uint32_t fields;
  tw_dkey mask;
  tslot *slots;    /* open addressing, linear probing; cap is a power of 2 */
  size_t cap;
  size_t used;     /* entries not empty: live + deleted (at most cap / 2) */
  size_t count;    /* waiters in the table */
  size_t errcount; /* ... of which want ICMP errors */
};

enum { W_ACTIVE = 1, W_DONE = 2 };

struct wchunk;

/* A waiter: three cache lines, 64-byte aligned in its slab. Delivering a
 * packet reads lines 0 and 1 only. */
struct tw_wait {
  /* line 0: the request and what a delivery calls */
  tw_req req;        /* loop, data (the callback's), cancel, loop->reqs link */
  tw_wait_cb cb;
  uint8_t flags;     /* TW_WAIT_* */
  uint8_t state;     /* W_* */
  uint16_t shape;    /* index in d->shapes */
  uint32_t tslot;    /* its entry in the shape's table */
  /* line 1: what a lookup compares */
  tw_dkey key;
  uint64_t gen;      /* last packet it was collected for */
  /* line 2: timeouts, endings, memory */
  uint64_t deadline; /* 0: no timeout */
  uint64_t seq;
  uint32_t slot;     /* index in the deadline heap */
  int final;
  tw_pending pend;   /* final callback (-ECANCELED) */
  struct tw_wait *grave; /* freed after the outermost delivery; slab free list */
  struct wchunk *chunk;
};
_Static_assert(sizeof(tw_req) == 48, "line 0 layout assumes a 48-byte tw_req");
_Static_assert(offsetof(struct tw_wait, key) == 64, "the key starts line 1");
_Static_assert(sizeof(struct tw_wait) == 192, "a waiter is three cache lines");

/* Waiters are allocated from chunks: small ones while there are few
 * waiters, then 2 MiB chunks on a huge page each. */
struct wchunk {
  struct wchunk *next, *prev; /* d->partial: chunks with room */
  struct wchunk *all;         /* d->chunks: every chunk */
  struct tw_wait *free;       /* freed waiters of this chunk */
  uint32_t live, cap, bump;   /* in use, capacity, never used from bump on */
  int huge;                   /* mmap'd 2 MiB (else malloc'd) */
  struct tw_wait *w;          /* cap waiters */
};
#define HUGE_CHUNK (2u << 20)
#define CHUNK_HDR 64u /* the header's room at the start of a chunk */
_Static_assert(sizeof(struct wchunk) <= CHUNK_HDR, "chunk header fits its room");

/* An entry of the deadline heap: the order is kept in the entry, so sifting
 * reads only the heap array, never the waiters. */
typedef struct hent {
  uint64_t deadline, seq;
  struct tw_wait *w;
} hent;

typedef struct hit {
  struct tw_wait *w;
  int quoted;
} hit;

struct tw_dispatch {
  tw_loop *loop;
  struct shape **shapes;
  size_t nshapes;
  hent *heap;            /* deadline min-heap */
  size_t hcount, hcap;
  uint64_t seq;
  tw_timer *timer;
  uint64_t timer_due;  /* what the timer is armed for, 0 if stopped */
  hit *hits;           /* collected matches, a stack shared by nested calls */
  size_t nhits, hitcap;
  uint64_t gen;
  uint64_t mut;        /* counts additions to the tables */
  int depth;           /* nested deliveries */
  struct tw_wait *graveyard;
  struct wchunk *chunks;  /* every chunk of waiters */
  struct wchunk partial; /* list head: chunks with free room */
  struct wchunk *spare;  /* one empty chunk kept for reuse */
  size_t wcap;           /* waiters all chunks can hold */
  tw_dispatch_stats st;
  tw_atclose at;
};

/* ---- keys ----------------------------------------------------------------- */

static uint64_t key_hash(const tw_dkey *k) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 7; i++) {
    h = (h ^ k->w[i]) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
  }
  h ^= h >> 32;
  return h < 2 ? h + 2 : h; /* 0 and 1 mark empty and deleted entries */
}

static int key_eq(const tw_dkey *a, const tw_dkey *b) {
  for (int i = 0; i < 7; i++)
    if (a->w[i] != b->w[i]) return 0;
  return 1;
}

static void key_and(tw_dkey *out, const tw_dkey *k, const tw_dkey *m) {
  for (int i = 0; i < 7; i++) out->w[i] = k->w[i] & m->w[i];
}

/* The full key of a set of values; fields absent from `fields` stay 0. */
static void key_fill(tw_dkey *k, uint32_t fields, int ifindex, uint16_t ethertype,
                     uint8_t proto, const tw_pkt_addr *src, const tw_pkt_addr *dst,
                     uint16_t sport, uint16_t dport, uint8_t itype, uint8_t icode,
                     uint16_t iid, uint16_t iseq, uint16_t arp_op) {
  memset(k, 0, sizeof *k);
  if (fields & TW_M_IFINDEX) k->f.ifindex = ifindex;
  if (fields & TW_M_ETHERTYPE) k->f.ethertype = ethertype;
  if (fields & TW_M_PROTO) k->f.proto = proto;
  if (fields & TW_M_SRC) {
    memcpy(k->f.src, src->b, src->family == AF_INET ? 4 : 16);
    k->f.family = (uint8_t)src->family;
  }
  if (fields & TW_M_DST) {
    memcpy(k->f.dst, dst->b, dst->family == AF_INET ? 4 : 16);
    k->f.family = (uint8_t)dst->family;
  }
  if (fields & TW_M_SPORT) k->f.sport = sport;
  if (fields & TW_M_DPORT) k->f.dport = dport;
  if (fields & TW_M_ICMP_TYPE) k->f.icmp_type = itype;
  if (fields & TW_M_ICMP_CODE) k->f.icmp_code = icode;
  if (fields & TW_M_ICMP_ID) k->f.icmp_id = iid;
  if (fields & TW_M_ICMP_SEQ) k->f.icmp_seq = iseq;
  if (fields & TW_M_ARP_OP) k->f.arp_op = arp_op;
}

static void mask_of(tw_dkey *m, uint32_t fields) {
  memset(m, 0, sizeof *m);
  if (fields & TW_M_IFINDEX) memset(&m->f.ifindex, 0xff, sizeof m->f.ifindex);
  if (fields & TW_M_ETHERTYPE) m->f.ethertype = 0xffff;
  if (fields & TW_M_PROTO) m->f.proto = 0xff;
  if (fields & TW_M_SRC) memset(m->f.src, 0xff, 16);
  if (fields & TW_M_DST) memset(m->f.dst, 0xff, 16);
  if (fields & (TW_M_SRC | TW_M_DST)) m->f.family = 0xff;
  if (fields & TW_M_SPORT) m->f.sport = 0xffff;
  if (fields & TW_M_DPORT) m->f.dport = 0xffff;
  if (fields & TW_M_ICMP_TYPE) m->f.icmp_type = 0xff;
  if (fields & TW_M_ICMP_CODE) m->f.icmp_code = 0xff;
  if (fields & TW_M_ICMP_ID) m->f.icmp_id = 0xffff;
  if (fields & TW_M_ICMP_SEQ) m->f.icmp_seq = 0xffff;
  if (fields & TW_M_ARP_OP) m->f.arp_op = 0xffff;
}

/* ---- big allocations on huge pages ------------------------------------------ */

/* `bytes` (a multiple of 2 MiB) of zeroed memory aligned to 2 MiB, asked to
 * be backed by huge pages: a random access into it then costs a cache miss
 * but no page-table walk. */
static void *huge_alloc(size_t bytes) {
  size_t span = bytes + HUGE_CHUNK;
  uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  uintptr_t a = ((uintptr_t)p + HUGE_CHUNK - 1) & ~(uintptr_t)(HUGE_CHUNK - 1);
  size_t head = a - (uintptr_t)p, tail = span - head - bytes;
  if (head) munmap(p, head);
  if (tail) munmap((uint8_t *)a + bytes, tail);
  madvise((void *)a, bytes, MADV_HUGEPAGE);
  return (void *)a;
}

/* ---- waiter memory -------------------------------------------------------------- */

static void chunk_link(struct tw_dispatch *d, struct wchunk *c) {
  c->next = d->partial.next;
  c->prev = &d->partial;
  d->partial.next->prev = c;
  d->partial.next = c;
}

static void chunk_unlink(struct wchunk *c) {
  c->prev->next = c->next;
  c->next->prev = c->prev;
  c->next = c->prev = NULL;
}

static void chunk_free(struct tw_dispatch *d, struct wchunk *c) {
  struct wchunk **pp = &d->chunks;
  while (*pp != c) pp = &(*pp)->all;
  *pp = c->all;
  d->wcap -= c->cap;
  UNPOISON(c->w, (size_t)c->cap * sizeof(struct tw_wait));
  if (c->huge) munmap(c, HUGE_CHUNK);
  else free(c);
}

/* A new chunk as big as all the others together (64 waiters at first), up
 * to one huge page. */
static struct wchunk *chunk_new(struct tw_dispatch *d) {
  size_t want = d->wcap < 64 ? 64 : d->wcap;
  size_t bytes = CHUNK_HDR + want * sizeof(struct tw_wait);
  struct wchunk *c;
  int huge = 0;
  if (bytes >= HUGE_CHUNK) {
    bytes = HUGE_CHUNK;
    c = huge_alloc(HUGE_CHUNK);
    huge = 1;
  } else {
    c = aligned_alloc(64, bytes); /* bytes: 64 + a multiple of 192 */
  }
  if (!c) return NULL;
  memset(c, 0, sizeof *c);
  c->huge = huge;
  c->cap = (uint32_t)((bytes - CHUNK_HDR) / sizeof(struct tw_wait));
  c->w = (struct tw_wait *)((char *)c + CHUNK_HDR);
  POISON(c->w, (size_t)c->cap * sizeof(struct tw_wait));
  c->all = d->chunks;
  d->chunks = c;
  d->wcap += c->cap;
  chunk_link(d, c);
  return c;
}

static struct tw_wait *wait_alloc(struct tw_dispatch *d) {
  struct wchunk *c = d->partial.next;
  if (c == &d->partial) {
    if ((c = d->spare) != NULL) {
      d->spare = NULL;
      chunk_link(d, c);
    } else if (!(c = chunk_new(d))) {
      return NULL;
    }
  }
  struct tw_wait *w;
  if (c->free) {
    w = c->free;
    UNPOISON(w, sizeof *w);
    c->free = w->grave;
  } else {
    w = &c->w[c->bump++];
    UNPOISON(w, sizeof *w);
  }
  if (++c->live == c->cap) chunk_unlink(c);
  memset(w, 0, sizeof *w);
  w->chunk = c;
  return w;
}

/* Give a waiter's memory back. A chunk left empty is kept as the spare (the
 * bigger of two empty ones is kept), so a scan's million waiters do not
 * stay allocated after it. */
static void wait_release(struct tw_dispatch *d, struct tw_wait *w) {
  struct wchunk *c = w->chunk;
  tw__req_done(&w->req);
  w->req.magic = TW_DEAD_MAGIC;
  w->grave = c->free;
  c->free = w;
  POISON(w, sizeof *w);
  if (c->live-- == c->cap) chunk_link(d, c);
  if (c->live) return;
  chunk_unlink(c);
  if (!d->spare) {
    d->spare = c;
  } else if (d->spare->cap < c->cap) {
    chunk_free(d, d->spare);
    d->spare = c;
  } else {
    chunk_free(d, c);
  }
}

/* ---- per-loop state ------------------------------------------------------- */

static void slots_free(tslot *slots, size_t cap) {
  if (cap * sizeof(tslot) >= HUGE_CHUNK) munmap(slots, cap * sizeof(tslot));
  else free(slots);
}

static void heap_free(hent *h, size_t cap) {
  if (cap * sizeof(hent) >= HUGE_CHUNK)
    munmap(h, (cap * sizeof(hent) + HUGE_CHUNK - 1) & ~(size_t)(HUGE_CHUNK - 1));
  else free(h);
}

static void dispatch_free(tw_loop *loop, tw_atclose *a) {
  struct tw_dispatch *d = loop->dispatch;
  /* Every waiter is a request: tw_loop_close() cancelled them and their
   * final callbacks freed them. The timer is a loop handle: already freed. */
  for (size_t i = 0; i < d->nshapes; i++) {
    slots_free(d->shapes[i]->slots, d->shapes[i]->cap);
    free(d->shapes[i]);
  }
  while (d->chunks) chunk_free(d, d->chunks);
  free(d->shapes);
  heap_free(d->heap, d->hcap);
  free(d->hits);
  free(d);
  loop->dispatch = NULL;
}

static int dispatch_get(tw_loop *loop, struct tw_dispatch **out) {
  if (!loop->dispatch) {
    struct tw_dispatch *d = calloc(1, sizeof *d);
    if (!d) return -ENOMEM;
    d->loop = loop;
    d->partial.next = d->partial.prev = &d->partial;
    tw__atclose(loop, &d->at, dispatch_free);
    loop->dispatch = d;
  }
  *out = loop->dispatch;
  return 0;
}

static int shape_get(struct tw_dispatch *d, uint32_t fields) {
  for (size_t i = 0; i < d->nshapes; i++)
    if (d->shapes[i]->fields == fields) return (int)i;
  struct shape **v = realloc(d->shapes, (d->nshapes + 1) * sizeof *v);
  if (!v) return -ENOMEM;
  d->shapes = v;
  struct shape *s = calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  s->fields = fields;
  mask_of(&s->mask, fields);
  s->cap = 64;
  s->slots = calloc(s->cap, sizeof *s->slots);
  if (!s->slots) {
    free(s);
    return -ENOMEM;
  }
  d->shapes[d->nshapes++] = s;
  return (int)d->nshapes - 1;
}

/* ---- hash tables ------------------------------------------------------------ */

static tslot *slots_alloc(size_t cap) {
  size_t bytes = cap * sizeof(tslot);
  if (bytes < HUGE_CHUNK) return calloc(cap, sizeof(tslot));
  return huge_alloc(bytes); /* a power of 2 from 2 MiB on */
}

static void slot_put(tslot *slots, size_t cap, struct tw_wait *w, uint64_t h) {
  size_t i = h & (cap - 1);
  while (slots[i].hash > T_DELETED) i = (i + 1) & (cap - 1);
  slots[i].hash = h;
  slots[i].w = w;
  w->tslot = (uint32_t)i;
}

/* Rebuild at a size that leaves the table at most a quarter full. */
static int shape_rehash(struct shape *s) {
  size_t cap = 64;
  while (cap < (s->count + 1) * 4) cap *= 2;
  if (cap > ((size_t)1 << 32)) return -ENOMEM; /* tslot is 32 bits */
  tslot *ns = slots_alloc(cap);
  if (!ns) return -ENOMEM;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i].hash > T_DELETED) slot_put(ns, cap, s->slots[i].w, s->slots[i].hash);
  slots_free(s->slots, s->cap);
  s->slots = ns;
  s->cap = cap;
  s->used = s->count;
  return 0;
}

static int table_add(struct tw_dispatch *d, struct shape *s, struct tw_wait *w, uint64_t h) {
  if ((s->used + 1) * 2 > s->cap && shape_rehash(s) < 0) return -ENOMEM;
  size_t i = h & (s->cap - 1);
  while (s->slots[i].hash > T_DELETED) i = (i + 1) & (s->cap - 1);
  if (s->slots[i].hash == T_EMPTY) s->used++;
  s->slots[i].hash = h;
  s->slots[i].w = w;
  w->tslot = (uint32_t)i;
  s->count++;
  if (w->flags & TW_WAIT_ERRORS) s->errcount++;
  d->mut++; /* lookups made before this one are stale */
  return 0;
}

static void table_del(struct shape *s, struct tw_wait *w) {
  s->slots[w->tslot].hash = T_DELETED;
  s->slots[w->tslot].w = NULL;
  s->count--;
  if (w->flags & TW_WAIT_ERRORS) s->errcount--;
  if (s->count == 0) { /* nothing left to probe past: start clean */
    memset(s->slots, 0, s->cap * sizeof *s->slots);
    s->used = 0;
  }
}

/* ---- deadline heap and its timer ------------------------------------------- */

static int heap_before(const hent *a, const hent *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct tw_dispatch *d, size_t i, hent e) {
  d->heap[i] = e;
  e.w->slot = (uint32_t)i; /* a store: it does not wait for the cache miss */
}

static void heap_up(struct tw_dispatch *d, size_t i) {
  hent e = d->heap[i];
  while (i > 0 && heap_before(&e, &d->heap[(i - 1) / 2])) {
    heap_place(d, i, d->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_place(d, i, e);
}

static void heap_down(struct tw_dispatch *d, size_t i) {
  hent e = d->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= d->hcount) break;
    if (c + 1 < d->hcount && heap_before(&d->heap[c + 1], &d->heap[c])) c++;
    if (!heap_before(&d->heap[c], &e)) break;
    heap_place(d, i, d->heap[c]);
    i = c;
  }
  heap_place(d, i, e);
}

/* The heap array: on huge pages once it is big (it is reached at random
 * positions when waiters end). */
static hent *heap_realloc(hent *old, size_t oldcap, size_t cap) {
  size_t bytes = cap * sizeof(hent), oldbytes = oldcap * sizeof(hent);
  if (bytes < HUGE_CHUNK) return realloc(old, bytes);
  bytes = (bytes + HUGE_CHUNK - 1) & ~(size_t)(HUGE_CHUNK - 1);
  hent *h = huge_alloc(bytes);
  if (!h) return NULL;
  memcpy(h, old, oldbytes);
  heap_free(old, oldcap);
  return h;
}

static int heap_add(struct tw_dispatch *d, struct tw_wait *w) {
  if (d->hcount == d->hcap) {
    if (d->hcap >= UINT32_MAX / 2) return -ENOMEM; /* slot is 32 bits */
    size_t cap = d->hcap ? d->hcap * 2 : 64;
    hent *h = heap_realloc(d->heap, d->hcap, cap);
    if (!h) return -ENOMEM;
    d->heap = h;
    d->hcap = cap;
  }
  size_t i = d->hcount++;
  heap_place(d, i, (hent){w->deadline, w->seq, w});
  heap_up(d, i);
  return 0;
}

static void heap_del(struct tw_dispatch *d, struct tw_wait *w) {
  size_t i = w->slot;
  hent last = d->heap[--d->hcount];
  if (last.w != w) {
    heap_place(d, i, last);
    if (i > 0 && heap_before(&last, &d->heap[(i - 1) / 2])) heap_up(d, i);
    else heap_down(d, i);
  }
}

static void timer_fired(tw_timer *t, int status);

/* Keep the timer armed at the earliest deadline. Nothing to do while the
 * loop closes: the timer is the loop's to close then. */
static void timer_sync(struct tw_dispatch *d) {
  tw_loop *loop = d->loop;
  if (loop->closing) return;
  uint64_t due = d->hcount ? d->heap[0].deadline : 0;
  if (due == d->timer_due) return;
  if (!d->timer) {
    if (!due || tw_timer_new(loop, &d->timer, d) < 0) return;
    tw_unref(d->timer); /* the waiters keep the loop alive, not the timer */
  }
  d->timer_due = due;
  if (!due) tw_timer_stop(d->timer);
  else tw_timer_start(d->timer, timer_fired, due > loop->now ? due - loop->now : 0, 0);
}

/* ---- the kernel filter's view of a waiter ------------------------------------ */

/* The interest keys of a waiter (capfilter.c): a coarse superset of what
 * its match takes. */
static int filter_keys(uint32_t fields, const tw_dkey *k, unsigned flags, tw_fkey out[TW_FK_MAX]) {
  memset(out, 0, TW_FK_MAX * sizeof *out);
  uint16_t et = (fields & TW_M_ETHERTYPE) ? k->f.ethertype : 0;
  if (et == TW_ETH_ARP || (fields & TW_M_ARP_OP)) {
    out[0].kind = TW_FK_ARP;
    return 1;
  }
  if (!(fields & TW_M_PROTO) || (et && et != TW_ETH_IP4 && et != TW_ETH_IP6)) {
    out[0].kind = TW_FK_ALL;
    return 1;
  }
  int n = 0;
  if (flags & TW_WAIT_ERRORS) out[n++].kind = TW_FK_ERR;
  int fam = (fields & (TW_M_SRC | TW_M_DST)) ? k->f.family
            : et ? (et == TW_ETH_IP4 ? AF_INET : AF_INET6) : 0;
  uint8_t p = k->f.proto;
  int ports = (fields & TW_M_DPORT) && (p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP);
  for (int v6 = 0; v6 < 2; v6++) {
    if (fam && fam != (v6 ? AF_INET6 : AF_INET)) continue;
    tw_fkey *o = &out[n++];
    o->kind = v6 ? TW_FK_IP6 : TW_FK_IP4;
    o->proto = p;
    if (ports) o->port = k->f.dport;
    if (fields & TW_M_DST)
      for (int i = 0; i < (v6 ? 4 : 1); i++) {
        uint32_t w;
        memcpy(&w, k->f.dst + 4 * i, 4);
        o->addr[i] = ntohl(w);
      }
    if (v6) out[n++].kind = TW_FK_IP6X;
  }
  return n;
}

/* Count a waiter in (delta 1) or out (-1) of the kernel filter. */
static int filter_ref(tw_loop *loop, const struct tw_wait *w, int delta) {
  tw_fkey k[TW_FK_MAX];
  int n = filter_keys(loop->dispatch->shapes[w->shape]->fields, &w->key, w->flags, k);
  for (int i = 0; i < n; i++)
    if (tw__capfilter_ref(loop, &k[i], delta) < 0) {
      while (i-- > 0) tw__capfilter_ref(loop, &k[i], -delta);
      return -ENOMEM;
    }
  return 0;
}

/* ---- ending waiters ----------------------------------------------------------- */

static struct tw_dispatch *wait_d(const struct tw_wait *w) { return w->req.loop->dispatch; }

/* Take a waiter out of the tables; it will get no more packets. */
static void wait_unlink(struct tw_wait *w) {
  struct tw_dispatch *d = wait_d(w);
  w->state = W_DONE;
  filter_ref(w->req.loop, w, -1);
  table_del(d->shapes[w->shape], w);
  d->st.waiters--;
  if (w->deadline) heap_del(d, w);
}

static void wait_free(struct tw_wait *w) {
  struct tw_dispatch *d = wait_d(w);
  if (d->depth > 0) { /* maybe still on the hit stack of an outer delivery */
    w->grave = d->graveyard;
    d->graveyard = w;
    return;
  }
  wait_release(d, w);
}

static void final_cb(tw_pending *p) {
  struct tw_wait *w = (struct tw_wait *)((char *)p - offsetof(struct tw_wait, pend));
  tw__req_done(&w->req);
  w->cb(&w->req, w->final, NULL, w->req.data);
  wait_free(w);
}

static int wait_cancel(tw_req *req) {
  struct tw_wait *w = (struct tw_wait *)req;
  if (w->state != W_ACTIVE) return -EALREADY;
  wait_unlink(w);
  timer_sync(wait_d(w));
  w->final = -ECANCELED;
  tw__pending_push(w->req.loop, &w->pend);
  return 0;
}

static void timer_fired(tw_timer *t, int status) {
  struct tw_dispatch *d = tw_data(t);
  if (status < 0) { /* the loop is closing and will free the timer */
    d->timer = NULL;
    d->timer_due = 0;
    return;
  }
  d->timer_due = 0; /* it fired: disarmed */
  uint64_t now = d->loop->now;
  while (d->hcount && d->heap[0].deadline <= now) {
    struct tw_wait *w = d->heap[0].w;
    wait_unlink(w);
    tw__req_done(&w->req);
    w->cb(&w->req, -ETIMEDOUT, NULL, w->req.data);
    wait_free(w);
  }
  timer_sync(d);
}

/* ---- registering ------------------------------------------------------------- */

static int addr_ok(const tw_pkt_addr *a) {
  return a->family == AF_INET || a->family == AF_INET6;
}

int tw_wait(tw_loop *loop, tw_req **req, const tw_match *m, unsigned flags,
            uint64_t timeout_ns, tw_wait_cb cb, void *data) {
  if (req) *req = NULL;
  if (!loop || !m || !cb) return -EINVAL;
  if (m->fields & ~(uint32_t)TW_M_ALL) return -EINVAL;
  if (flags & ~(unsigned)(TW_WAIT_ONCE | TW_WAIT_ERRORS)) return -EINVAL;
  if ((m->fields & TW_M_SRC) && !addr_ok(&m->src)) return -EINVAL;
  if ((m->fields & TW_M_DST) && !addr_ok(&m->dst)) return -EINVAL;
  if ((m->fields & TW_M_SRC) && (m->fields & TW_M_DST) && m->src.family != m->dst.family)
    return -EINVAL;
  if (loop->closing) return -ECANCELED;
  struct tw_dispatch *d;
  int err = dispatch_get(loop, &d);
  if (err) return err;
  int si = shape_get(d, m->fields);
  if (si < 0) return si;
  struct tw_wait *w = wait_alloc(d);
  if (!w) return -ENOMEM;
  w->shape = (uint16_t)si;
  w->flags = (uint8_t)flags;
  w->cb = cb;
  key_fill(&w->key, m->fields, m->ifindex, m->ethertype, m->proto, &m->src, &m->dst,
           m->sport, m->dport, m->icmp_type, m->icmp_code, m->icmp_id, m->icmp_seq,
           m->arp_op);
  uint64_t h = key_hash(&w->key);
  w->seq = d->seq++;
  tw__req_init(loop, &w->req, 0, wait_cancel, data);
  w->pend.cb = final_cb;
  if (timeout_ns) {
    uint64_t due = loop->now + timeout_ns;
    w->deadline = due < loop->now ? UINT64_MAX : due;
    if (heap_add(d, w) < 0) {
      wait_release(d, w);
      return -ENOMEM;
    }
  }
  if (filter_ref(loop, w, 1) < 0) {
    if (w->deadline) heap_del(d, w);
    wait_release(d, w);
    return -ENOMEM;
  }
  if (table_add(d, d->shapes[si], w, h) < 0) {
    filter_ref(loop, w, -1);
    if (w->deadline) heap_del(d, w);
    wait_release(d, w);
    return -ENOMEM;
  }
  w->state = W_ACTIVE;
  d->st.waiters++;
  timer_sync(d);
  if (req) *req = &w->req;
  return 0;
}

/* ---- delivering -------------------------------------------------------------- */

static int hit_push(struct tw_dispatch *d, struct tw_wait *w, int quoted) {
  if (d->nhits == d->hitcap) {
    size_t cap = d->hitcap ? d->hitcap * 2 : 16;
    hit *h = realloc(d->hits, cap * sizeof *h);
    if (!h) return -ENOMEM;
    d->hits = h;
    d->hitcap = cap;
  }
  d->hits[d->nhits].w = w;
  d->hits[d->nhits].quoted = quoted;
  d->nhits++;
  return 0;
}

/* Collect the waiters of every shape whose key this view fills (a lookup
 * without prefetching: quotes of ICMP errors, and frames whose batch
 * lookups went stale). */
static void collect(struct tw_dispatch *d, const tw_dkey *full, uint32_t have, int quoted) {
  for (size_t i = 0; i < d->nshapes; i++) {
    struct shape *s = d->shapes[i];
    if (!s->count || (s->fields & have) != s->fields) continue;
    if (quoted && !s->errcount) continue;
    tw_dkey k;
    key_and(&k, full, &s->mask);
    uint64_t h = key_hash(&k);
    for (size_t j = h & (s->cap - 1); s->slots[j].hash != T_EMPTY; j = (j + 1) & (s->cap - 1)) {
      if (s->slots[j].hash != h) continue;
      struct tw_wait *w = s->slots[j].w;
      if (w->gen == d->gen || !key_eq(&w->key, &k)) continue;
      if (quoted && !(w->flags & TW_WAIT_ERRORS)) continue;
      if (hit_push(d, w, quoted) == 0) w->gen = d->gen;
    }
  }
}

/* Run the callbacks of the hits from `base` on; returns how many ran. */
static int deliver(struct tw_dispatch *d, size_t base, tw_rx *rx) {
  size_t top = d->nhits;
  int delivered = 0;
  for (size_t i = base; i < top; i++) {
    struct tw_wait *w = d->hits[i].w;
    if (w->state != W_ACTIVE) continue; /* ended by an earlier callback */
    rx->quoted = (uint8_t)d->hits[i].quoted;
    delivered++;
    if (w->flags & TW_WAIT_ONCE) {
      wait_unlink(w);
      tw__req_done(&w->req);
      w->cb(&w->req, 0, rx, w->req.data);
      wait_free(w);
    } else {
      w->cb(&w->req, 0, rx, w->req.data);
    }
  }
  d->nhits = base;
  return delivered;
}

/* A delivery is over: once the outermost is, free the waiters that ended
 * meanwhile and re-arm the timer. */
static void delivery_end(struct tw_dispatch *d) {
  if (--d->depth > 0) return;
  while (d->graveyard) {
    struct tw_wait *w = d->graveyard;
    d->graveyard = w->grave;
    wait_release(d, w);
  }
  timer_sync(d);
}

/* The lookup of an ICMP error's quote turned around: what the answer to
 * the probe would be. */
static void collect_quote(struct tw_dispatch *d, const tw_rx *rx) {
  int v6 = rx->ethertype == TW_ETH_IP6;
  uint32_t have = (rx->fields & (TW_M_IFINDEX | TW_M_ETHERTYPE)) | rx->q_fields;
  uint8_t itype = 0;
  if (rx->q_fields & TW_M_ICMP_TYPE) {
    /* The reply to a query has code 0: a waiter may name it. */
    itype = tw__icmp_reply_type(rx->q_icmp_type, v6);
    have |= TW_M_ICMP_CODE;
  }
  tw_dkey qk;
  key_fill(&qk, have, rx->frame->ifindex, rx->ethertype, rx->q_proto, &rx->q_dst, &rx->q_src,
           rx->q_dport, rx->q_sport, itype, 0, rx->q_icmp_id, rx->q_icmp_seq, 0);
  collect(d, &qk, have, 1);
}

/* A batch: at most BATCH frames, looked up in at most PF_SHAPES shapes
 * with prefetching (more shapes in use: each frame is looked up alone),
 * with room for CANDS table entries whose hash matched (more: the frames
 * that did not fit are looked up alone). */
#define BATCH 32
#define PF_SHAPES 4
#define CANDS (4 * BATCH)

typedef struct cand {
  struct tw_wait *w;
  uint32_t shape; /* index in the batch's shapes */
} cand;

/* Dispatch n <= BATCH frames. Returns the callbacks run. */
static int dispatch_some(struct tw_dispatch *d, const tw_frame *fs, size_t n) {
  tw_rx rx[BATCH];
  tw_dkey full[BATCH];
  uint64_t hs[BATCH][PF_SHAPES];
  uint16_t cstart[BATCH + 1];
  int8_t state[BATCH]; /* 0 decoded, -1 dropped, 1 look up alone */
  struct shape *sh[PF_SHAPES];
  cand cands[CANDS];
  size_t nsh = 0, ncand = 0;
  int prefetch = 1;

  for (size_t i = 0; i < d->nshapes; i++) {
    if (!d->shapes[i]->count) continue;
    if (nsh == PF_SHAPES) {
      prefetch = 0;
      break;
    }
    sh[nsh++] = d->shapes[i];
  }
  uint64_t mut = d->mut;
  /* The headers of the frames (in a capture ring, just written by the
   * kernel, maybe from another CPU): fetch them all at once. */
  for (size_t i = 0; i < n; i++) {
    if (!fs[i].data) continue;
    PREFETCH(fs[i].data);
    PREFETCH(fs[i].data + 64);
  }

  /* 1: decode, hash, prefetch the table entries. */
  for (size_t i = 0; i < n; i++) {
    const tw_frame *f = &fs[i];
    int reason;
    d->st.packets++;
    int err = tw_rx_decode(f, &rx[i], &reason);
    if (err) {
      if (err == TW_EMALFORMED) {
        d->st.malformed++;
        d->st.last_reason = reason;
      }
      state[i] = -1;
      continue;
    }
    state[i] = prefetch ? 0 : 1;
    key_fill(&full[i], rx[i].fields, f->ifindex, rx[i].ethertype, rx[i].proto, &rx[i].src,
             &rx[i].dst, rx[i].sport, rx[i].dport, rx[i].icmp_type, rx[i].icmp_code,
             rx[i].icmp_id, rx[i].icmp_seq, rx[i].arp_op);
    if (!prefetch) continue;
    for (size_t s = 0; s < nsh; s++) {
      hs[i][s] = 0;
      if ((sh[s]->fields & rx[i].fields) != sh[s]->fields) continue;
      tw_dkey k;
      key_and(&k, &full[i], &sh[s]->mask);
      uint64_t h = key_hash(&k);
      hs[i][s] = h;
      PREFETCH(&sh[s]->slots[h & (sh[s]->cap - 1)]);
    }
  }

  /* 2: read the table entries, prefetch the waiters whose hash matched. */
  for (size_t i = 0; i < n; i++) {
    cstart[i] = (uint16_t)ncand;
    if (state[i] != 0) continue;
    for (size_t s = 0; s < nsh && state[i] == 0; s++) {
      uint64_t h = hs[i][s];
      if (!h) continue;
      const struct shape *p = sh[s];
      for (size_t j = h & (p->cap - 1); p->slots[j].hash != T_EMPTY; j = (j + 1) & (p->cap - 1)) {
        if (p->slots[j].hash != h) continue;
        if (ncand == CANDS) { /* no room: this frame is looked up alone */
          state[i] = 1;
          ncand = cstart[i];
          break;
        }
        struct tw_wait *w = p->slots[j].w;
        PREFETCHW(w);
        PREFETCHW((char *)w + 64);
        cands[ncand].w = w;
        cands[ncand].shape = (uint32_t)s;
        ncand++;
      }
    }
  }
  cstart[n] = (uint16_t)ncand;

  /* 3: deliver, frame by frame, in order. */
  int total = 0;
  d->depth++;
  for (size_t i = 0; i < n; i++) {
    if (state[i] < 0) continue;
    tw_rx *r = &rx[i];
    d->gen++;
    size_t base = d->nhits;
    if (state[i] == 0 && d->mut == mut) {
      for (size_t c = cstart[i]; c < cstart[i + 1]; c++) {
        struct tw_wait *w = cands[c].w;
        /* Ended since the lookup (by an earlier frame's callback): its
         * memory waits in the graveyard until this batch is over. */
        if (w->state != W_ACTIVE || w->gen == d->gen) continue;
        tw_dkey k;
        key_and(&k, &full[i], &sh[cands[c].shape]->mask);
        if (!key_eq(&w->key, &k)) continue;
        if (hit_push(d, w, 0) == 0) w->gen = d->gen;
      }
    } else {
      collect(d, &full[i], r->fields, 0);
    }
    if (r->is_error) collect_quote(d, r);
    int delivered = deliver(d, base, r);
    d->st.deliveries += (uint64_t)delivered;
    if (delivered) d->st.matched++;
    else d->st.unmatched++;
    total += delivered;
  }
  delivery_end(d);
  return total;
}

int tw__dispatch_batch(tw_loop *loop, const tw_frame *frames, size_t n) {
  if (!loop || (!frames && n)) return -EINVAL;
  struct tw_dispatch *d;
  int err = dispatch_get(loop, &d);
  if (err) return err;
  int total = 0;
  for (size_t i = 0; i < n; i += BATCH) {
    int r = dispatch_some(d, frames + i, n - i < BATCH ? n - i : BATCH);
    if (r > 0) total += r;
  }
  return total;
}

/* One frame: nothing to overlap its cache misses with, so the plain
 * lookup, without the batch's bookkeeping. */
static int dispatch_one(struct tw_dispatch *d, const tw_frame *f) {
  d->st.packets++;
  tw_rx rx;
  int reason;
  int err = tw_rx_decode(f, &rx, &reason);
  if (err) {
    if (err == TW_EMALFORMED) {
      d->st.malformed++;
      d->st.last_reason = reason;
    }
    return err;
  }
  if (d->st.waiters == 0) {
    d->st.unmatched++;
    return 0;
  }
  d->gen++;
  size_t base = d->nhits;
  tw_dkey full;
  key_fill(&full, rx.fields, f->ifindex, rx.ethertype, rx.proto, &rx.src, &rx.dst, rx.sport,
           rx.dport, rx.icmp_type, rx.icmp_code, rx.icmp_id, rx.icmp_seq, rx.arp_op);
  collect(d, &full, rx.fields, 0);
  if (rx.is_error) collect_quote(d, &rx);
  d->depth++;
  int delivered = deliver(d, base, &rx);
  delivery_end(d);
  d->st.deliveries += (uint64_t)delivered;
  if (delivered) d->st.matched++;
  else d->st.unmatched++;
  return delivered;
}

int tw_dispatch_input(tw_loop *loop, const tw_frame *f) {
  if (!loop || !f) return -EINVAL;
  struct tw_dispatch *d;
  int err = dispatch_get(loop, &d);
  if (err) return err;
  return dispatch_one(d, f);
}

int tw_dispatch_stats_get(tw_loop *loop, tw_dispatch_stats *st) {
  if (!loop || !st) return -EINVAL;
  if (!loop->dispatch) {
    memset(st, 0, sizeof *st);
    return 0;
  }
  struct tw_dispatch *d = loop->dispatch;
  *st = d->st;
  st->shapes = 0;
  for (size_t i = 0; i < d->nshapes; i++)
    if (d->shapes[i]->count) st->shapes++;
  return 0;
}
