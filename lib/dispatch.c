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
 * outermost delivery is over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "dispatch-int.h"
#include "loop-int.h"

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

struct tw_wait {
  tw_req req;
  struct tw_dispatch *d;
  struct shape *shape;
  size_t tslot;      /* its entry in the shape's table */
  uint64_t hash;
  tw_dkey key;
  unsigned flags;
  int state;
  uint64_t gen;      /* last packet it was collected for */
  uint64_t deadline; /* 0: no timeout */
  uint64_t seq;
  size_t slot;       /* index in the deadline heap */
  tw_wait_cb cb;
  tw_pending pend;   /* final callback (-ECANCELED) */
  int final;
  struct tw_wait *grave; /* freed after the outermost delivery */
};

typedef struct hit {
  struct tw_wait *w;
  int quoted;
} hit;

struct tw_dispatch {
  tw_loop *loop;
  struct shape **shapes;
  size_t nshapes;
  struct tw_wait **heap;
  size_t hcount, hcap;
  uint64_t seq;
  tw_timer *timer;
  uint64_t timer_due;  /* what the timer is armed for, 0 if stopped */
  hit *hits;           /* collected matches, a stack shared by nested calls */
  size_t nhits, hitcap;
  uint64_t gen;
  int depth;           /* nested deliveries */
  struct tw_wait *graveyard;
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

/* ---- per-loop state ------------------------------------------------------- */

static void dispatch_free(tw_loop *loop, tw_atclose *a) {
  struct tw_dispatch *d = loop->dispatch;
  /* Every waiter is a request: tw_loop_close() cancelled them and their
   * final callbacks freed them. The timer is a loop handle: already freed. */
  for (size_t i = 0; i < d->nshapes; i++) {
    free(d->shapes[i]->slots);
    free(d->shapes[i]);
  }
  free(d->shapes);
  free(d->heap);
  free(d->hits);
  free(d);
  loop->dispatch = NULL;
}

static int dispatch_get(tw_loop *loop, struct tw_dispatch **out) {
  if (!loop->dispatch) {
    struct tw_dispatch *d = calloc(1, sizeof *d);
    if (!d) return -ENOMEM;
    d->loop = loop;
    tw__atclose(loop, &d->at, dispatch_free);
    loop->dispatch = d;
  }
  *out = loop->dispatch;
  return 0;
}

static struct shape *shape_get(struct tw_dispatch *d, uint32_t fields) {
  for (size_t i = 0; i < d->nshapes; i++)
    if (d->shapes[i]->fields == fields) return d->shapes[i];
  struct shape **v = realloc(d->shapes, (d->nshapes + 1) * sizeof *v);
  if (!v) return NULL;
  d->shapes = v;
  struct shape *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->fields = fields;
  mask_of(&s->mask, fields);
  s->cap = 64;
  s->slots = calloc(s->cap, sizeof *s->slots);
  if (!s->slots) {
    free(s);
    return NULL;
  }
  d->shapes[d->nshapes++] = s;
  return s;
}

/* ---- hash tables ------------------------------------------------------------ */

static tslot *slots_alloc(size_t cap) {
  size_t bytes = cap * sizeof(tslot);
  if (bytes < (2u << 20)) return calloc(cap, sizeof(tslot));
  /* Big tables on huge pages: a lookup is then one cache miss, not a
   * cache miss plus a page-table walk. */
  void *p = aligned_alloc(2u << 20, bytes);
  if (!p) return NULL;
  madvise(p, bytes, MADV_HUGEPAGE);
  memset(p, 0, bytes);
  return p;
}

static void slot_put(tslot *slots, size_t cap, struct tw_wait *w) {
  size_t i = w->hash & (cap - 1);
  while (slots[i].hash > T_DELETED) i = (i + 1) & (cap - 1);
  slots[i].hash = w->hash;
  slots[i].w = w;
  w->tslot = i;
}

/* Rebuild at a size that leaves the table at most a quarter full. */
static int shape_rehash(struct shape *s) {
  size_t cap = 64;
  while (cap < (s->count + 1) * 4) cap *= 2;
  tslot *ns = slots_alloc(cap);
  if (!ns) return -ENOMEM;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i].hash > T_DELETED) slot_put(ns, cap, s->slots[i].w);
  free(s->slots);
  s->slots = ns;
  s->cap = cap;
  s->used = s->count;
  return 0;
}

static int table_add(struct shape *s, struct tw_wait *w) {
  if ((s->used + 1) * 2 > s->cap && shape_rehash(s) < 0) return -ENOMEM;
  size_t i = w->hash & (s->cap - 1);
  while (s->slots[i].hash > T_DELETED) i = (i + 1) & (s->cap - 1);
  if (s->slots[i].hash == T_EMPTY) s->used++;
  s->slots[i].hash = w->hash;
  s->slots[i].w = w;
  w->tslot = i;
  s->count++;
  if (w->flags & TW_WAIT_ERRORS) s->errcount++;
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

static int heap_before(const struct tw_wait *a, const struct tw_wait *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct tw_dispatch *d, size_t i, struct tw_wait *w) {
  d->heap[i] = w;
  w->slot = i;
}

static void heap_up(struct tw_dispatch *d, size_t i) {
  struct tw_wait *w = d->heap[i];
  while (i > 0 && heap_before(w, d->heap[(i - 1) / 2])) {
    heap_place(d, i, d->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_place(d, i, w);
}

static void heap_down(struct tw_dispatch *d, size_t i) {
  struct tw_wait *w = d->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= d->hcount) break;
    if (c + 1 < d->hcount && heap_before(d->heap[c + 1], d->heap[c])) c++;
    if (!heap_before(d->heap[c], w)) break;
    heap_place(d, i, d->heap[c]);
    i = c;
  }
  heap_place(d, i, w);
}

static int heap_add(struct tw_dispatch *d, struct tw_wait *w) {
  if (d->hcount == d->hcap) {
    size_t cap = d->hcap ? d->hcap * 2 : 64;
    struct tw_wait **h = realloc(d->heap, cap * sizeof *h);
    if (!h) return -ENOMEM;
    d->heap = h;
    d->hcap = cap;
  }
  heap_place(d, d->hcount++, w);
  heap_up(d, w->slot);
  return 0;
}

static void heap_del(struct tw_dispatch *d, struct tw_wait *w) {
  size_t i = w->slot;
  struct tw_wait *last = d->heap[--d->hcount];
  if (last != w) {
    heap_place(d, i, last);
    if (i > 0 && heap_before(last, d->heap[(i - 1) / 2])) heap_up(d, i);
    else heap_down(d, i);
  }
}

static void timer_fired(tw_timer *t, int status);

/* Keep the timer armed at the earliest deadline. Nothing to do while the
 * loop closes: the timer is the loop's to close then. */
static void timer_sync(struct tw_dispatch *d) {
  tw_loop *loop = d->loop;
  if (loop->closing) return;
  uint64_t due = d->hcount ? d->heap[0]->deadline : 0;
  if (due == d->timer_due) return;
  if (!d->timer) {
    if (!due || tw_timer_new(loop, &d->timer, d) < 0) return;
    tw_unref(d->timer); /* the waiters keep the loop alive, not the timer */
  }
  d->timer_due = due;
  if (!due) tw_timer_stop(d->timer);
  else tw_timer_start(d->timer, timer_fired, due > loop->now ? due - loop->now : 0, 0);
}

/* ---- ending waiters ----------------------------------------------------------- */

/* Take a waiter out of the tables; it will get no more packets. */
static void wait_unlink(struct tw_wait *w) {
  struct tw_dispatch *d = w->d;
  w->state = W_DONE;
  table_del(w->shape, w);
  d->st.waiters--;
  if (w->deadline) heap_del(d, w);
}

static void wait_free(struct tw_wait *w) {
  struct tw_dispatch *d = w->d;
  if (d->depth > 0) { /* maybe still on the hit stack of an outer delivery */
    w->grave = d->graveyard;
    d->graveyard = w;
    return;
  }
  tw__req_free(&w->req);
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
  timer_sync(w->d);
  w->final = -ECANCELED;
  tw__pending_push(w->d->loop, &w->pend);
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
  while (d->hcount && d->heap[0]->deadline <= now) {
    struct tw_wait *w = d->heap[0];
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
  struct shape *s = shape_get(d, m->fields);
  if (!s) return -ENOMEM;
  struct tw_wait *w = calloc(1, sizeof *w);
  if (!w) return -ENOMEM;
  w->d = d;
  w->shape = s;
  w->flags = flags;
  w->cb = cb;
  key_fill(&w->key, m->fields, m->ifindex, m->ethertype, m->proto, &m->src, &m->dst,
           m->sport, m->dport, m->icmp_type, m->icmp_code, m->icmp_id, m->icmp_seq,
           m->arp_op);
  w->hash = key_hash(&w->key);
  w->seq = d->seq++;
  if (timeout_ns) {
    uint64_t due = loop->now + timeout_ns;
    w->deadline = due < loop->now ? UINT64_MAX : due;
    if (heap_add(d, w) < 0) {
      free(w);
      return -ENOMEM;
    }
  }
  tw__req_init(loop, &w->req, 0, wait_cancel, data);
  w->pend.cb = final_cb;
  if (table_add(s, w) < 0) {
    if (w->deadline) heap_del(d, w);
    tw__req_free(&w->req);
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

/* Collect the waiters of every shape whose key this view fills. */
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

int tw_dispatch_input(tw_loop *loop, const tw_frame *f) {
  if (!loop || !f) return -EINVAL;
  struct tw_dispatch *d;
  int err = dispatch_get(loop, &d);
  if (err) return err;
  d->st.packets++;
  tw_rx rx;
  int reason;
  err = tw_rx_decode(f, &rx, &reason);
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
  key_fill(&full, rx.fields, f->ifindex, rx.ethertype, rx.proto, &rx.src, &rx.dst,
           rx.sport, rx.dport, rx.icmp_type, rx.icmp_code, rx.icmp_id, rx.icmp_seq,
           rx.arp_op);
  collect(d, &full, rx.fields, 0);
  if (rx.is_error) {
    /* The quote turned around: what the answer to the probe would be. */
    int v6 = rx.ethertype == TW_ETH_IP6;
    uint32_t have = (rx.fields & (TW_M_IFINDEX | TW_M_ETHERTYPE)) | rx.q_fields;
    uint8_t itype = 0;
    if (rx.q_fields & TW_M_ICMP_TYPE) {
      /* The reply to a query has code 0: a waiter may name it. */
      itype = tw__icmp_reply_type(rx.q_icmp_type, v6);
      have |= TW_M_ICMP_CODE;
    }
    tw_dkey qk;
    key_fill(&qk, have, f->ifindex, rx.ethertype, rx.q_proto, &rx.q_dst, &rx.q_src,
             rx.q_dport, rx.q_sport, itype, 0, rx.q_icmp_id, rx.q_icmp_seq, 0);
    collect(d, &qk, have, 1);
  }
  size_t top = d->nhits;
  int delivered = 0;
  d->depth++;
  for (size_t i = base; i < top; i++) {
    struct tw_wait *w = d->hits[i].w;
    if (w->state != W_ACTIVE) continue; /* ended by an earlier callback */
    rx.quoted = (uint8_t)d->hits[i].quoted;
    delivered++;
    if (w->flags & TW_WAIT_ONCE) {
      wait_unlink(w);
      tw__req_done(&w->req);
      w->cb(&w->req, 0, &rx, w->req.data);
      wait_free(w);
    } else {
      w->cb(&w->req, 0, &rx, w->req.data);
    }
  }
  d->depth--;
  d->nhits = base;
  if (d->depth == 0) {
    while (d->graveyard) {
      struct tw_wait *w = d->graveyard;
      d->graveyard = w->grave;
      tw__req_free(&w->req);
    }
    timer_sync(d);
  }
  d->st.deliveries += (uint64_t)delivered;
  if (delivered) d->st.matched++;
  else d->st.unmatched++;
  return delivered;
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
