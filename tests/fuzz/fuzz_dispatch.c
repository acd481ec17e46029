/* fuzz_dispatch.c: libFuzzer harness for the dispatcher's input path
 * (lib/dispatch.c: tw_dispatch_input and the batch path the capture uses)
 * with waiters registered, including callbacks that re-enter it: cancel
 * themselves or other waiters, register new waiters, and feed the frame
 * again (nested tw_dispatch_input), as dispatch.c allows.
 *
 * Input: a header, waiter specs, then frames.
 *   byte 0    bits 0-2: waiters (0-7); bit 3: feed the frames through the
 *             batch path; bit 4: allow nested feeding
 *   4 bytes per waiter:
 *     b0 b1   match fields (TW_M_* bits, little-endian; only those the
 *             source frame has are kept)
 *     b2      bit 0 TW_WAIT_ONCE, bit 1 TW_WAIT_ERRORS, bit 2 match the
 *             answer to the probe the frame quotes (an ICMP error), bit 3
 *             a 1 ns timeout, bits 4-6 the frame the match is built from
 *     b3      what the callback does with a packet: 0 nothing, 1 cancel
 *             itself, 2 cancel the next waiter, 3 register a copy of
 *             itself, 4 feed the frame again, 5 cancel every other waiter
 *   frames    [length: 2 bytes big-endian][link: 1 byte, bit 0 = raw IP]
 *             [bytes], at most 16
 * Waiters match fields decoded from the frames themselves, so that the
 * fuzzer reaches deliveries without guessing addresses.
 *
 * Checked besides memory errors: each waiter's callback runs exactly once
 * with a final status (-ETIMEDOUT or -ECANCELED) by the time the loop is
 * closed, never again after that, never with a packet after it was
 * cancelled, and at most once with a packet under TW_WAIT_ONCE.
 * Seeds: tests/fuzz/corpus/dispatch/. */
#include "fuzz-util.h"

#include <trawl/dispatch.h>
#include <trawl/loop.h>

#include "dispatch-int.h"

#define FZ_MAXW 64
#define FZ_MAXF 16

struct fz;

struct fz_waiter {
  struct fz *z;
  tw_req *req;     /* NULL once ended */
  tw_match m;
  unsigned flags;
  uint8_t action;
  int registered, ended, cancelled, packets;
};

struct fz {
  tw_loop *loop;
  struct fz_waiter w[FZ_MAXW];
  int nw;
  int nested_ok, depth;
};

static void fz_cb(tw_req *req, int status, const tw_rx *rx, void *data);

static int fz_register(struct fz *z, const tw_match *m, unsigned flags, uint8_t action,
                       uint64_t timeout_ns) {
  if (z->nw >= FZ_MAXW) return -1;
  struct fz_waiter *w = &z->w[z->nw];
  memset(w, 0, sizeof *w);
  w->z = z;
  w->m = *m;
  w->flags = flags;
  w->action = action;
  int rc = tw_wait(z->loop, &w->req, m, flags, timeout_ns, fz_cb, w);
  if (rc < 0) {
    FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM || rc == -ECANCELED);
    FUZZ_CHECK(w->req == NULL);
    return -1;
  }
  FUZZ_CHECK(w->req != NULL);
  w->registered = 1;
  z->nw++;
  return 0;
}

static void fz_cancel(struct fz_waiter *w) {
  if (!w->registered || w->ended || !w->req) return;
  int rc = tw_cancel(w->req);
  FUZZ_CHECK(rc == 0 || rc == -EALREADY);
  if (rc == 0) w->cancelled = 1;
}

static void fz_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct fz_waiter *w = data;
  struct fz *z = w->z;
  FUZZ_CHECK(w->registered && !w->ended);
  FUZZ_CHECK(req == w->req);
  if (status != 0) {
    FUZZ_CHECK(status == -ETIMEDOUT || status == -ECANCELED);
    FUZZ_CHECK(rx == NULL);
    w->ended = 1;
    w->req = NULL;
    return;
  }
  FUZZ_CHECK(rx != NULL && rx->frame != NULL);
  FUZZ_CHECK(!w->cancelled);
  FUZZ_CHECK(!(w->flags & TW_WAIT_ONCE) || w->packets == 0);
  w->packets++;
  if (w->flags & TW_WAIT_ONCE) { /* it ends after this callback */
    w->ended = 1;
    w->req = NULL;
  }
  int self = (int)(w - z->w);
  switch (w->action) {
  case 1: fz_cancel(w); break;
  case 2:
    if (z->nw > 1) fz_cancel(&z->w[(self + 1) % z->nw]);
    break;
  case 3: fz_register(z, &w->m, w->flags, 0, 0); break;
  case 4:
    if (z->nested_ok && z->depth < 2) {
      z->depth++;
      int r = tw_dispatch_input(z->loop, rx->frame);
      FUZZ_CHECK(r >= 0 || r == TW_EMALFORMED);
      z->depth--;
    }
    break;
  case 5:
    for (int i = 0; i < z->nw; i++)
      if (i != self) fz_cancel(&z->w[i]);
    break;
  default: break;
  }
}

/* The match for a waiter, from a frame's decoded fields. */
static void fz_match(tw_match *m, const tw_rx *rx, uint32_t want, int from_quote) {
  memset(m, 0, sizeof *m);
  uint32_t have = rx->fields;
  m->ifindex = 1;
  m->ethertype = rx->ethertype;
  if (from_quote && rx->is_error) {
    /* the answer to the quoted probe: addresses and ports turned round */
    have = (rx->q_fields & (TW_M_PROTO | TW_M_SRC | TW_M_DST | TW_M_SPORT | TW_M_DPORT |
                            TW_M_ICMP_TYPE | TW_M_ICMP_ID | TW_M_ICMP_SEQ)) |
           TW_M_IFINDEX | TW_M_ETHERTYPE;
    m->proto = rx->q_proto;
    m->src = rx->q_dst;
    m->dst = rx->q_src;
    m->sport = rx->q_dport;
    m->dport = rx->q_sport;
    m->icmp_type = tw__icmp_reply_type(rx->q_icmp_type, rx->ethertype == TW_ETH_IP6);
    m->icmp_id = rx->q_icmp_id;
    m->icmp_seq = rx->q_icmp_seq;
    /* swap the port bits with the ports */
    uint32_t sp = have & TW_M_SPORT, dp = have & TW_M_DPORT;
    have &= ~(uint32_t)(TW_M_SPORT | TW_M_DPORT);
    if (sp) have |= TW_M_DPORT;
    if (dp) have |= TW_M_SPORT;
    uint32_t sa = have & TW_M_SRC, da = have & TW_M_DST;
    have &= ~(uint32_t)(TW_M_SRC | TW_M_DST);
    if (sa) have |= TW_M_DST;
    if (da) have |= TW_M_SRC;
  } else {
    m->proto = rx->proto;
    m->src = rx->src;
    m->dst = rx->dst;
    m->sport = rx->sport;
    m->dport = rx->dport;
    m->icmp_type = rx->icmp_type;
    m->icmp_code = rx->icmp_code;
    m->icmp_id = rx->icmp_id;
    m->icmp_seq = rx->icmp_seq;
    m->arp_op = rx->arp_op;
  }
  m->fields = want & (have | TW_M_IFINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t head = data[0];
  size_t nspec = head & 7, off = 1;
  if (size < off + nspec * 4) return 0;
  const uint8_t *spec = data + off;
  off += nspec * 4;
  tw_frame fr[FZ_MAXF];
  size_t nf = 0;
  while (nf < FZ_MAXF && off + 3 <= size) {
    size_t len = (size_t)data[off] << 8 | data[off + 1];
    int raw = data[off + 2] & 1;
    off += 3;
    if (len > size - off) len = size - off;
    fr[nf] = (tw_frame){.data = data + off, .caplen = (uint32_t)len, .len = (uint32_t)len,
                        .ifindex = 1, .linktype = raw ? TW_LINK_RAW : TW_LINK_ETH};
    nf++;
    off += len;
  }
  struct fz *z = calloc(1, sizeof *z);
  if (!z) return 0;
  if (tw_loop_new(&z->loop) < 0) {
    free(z);
    return 0;
  }
  z->nested_ok = (head >> 4) & 1;
  for (size_t i = 0; i < nspec; i++) {
    const uint8_t *s = spec + i * 4;
    uint32_t want = ((uint32_t)s[0] | (uint32_t)s[1] << 8) & TW_M_ALL;
    unsigned flags = s[2] & (TW_WAIT_ONCE | TW_WAIT_ERRORS);
    tw_match m = {0};
    if (nf > 0) {
      tw_rx rx;
      int reason;
      if (tw_rx_decode(&fr[((s[2] >> 4) & 7) % nf], &rx, &reason) == 0)
        fz_match(&m, &rx, want, (s[2] >> 2) & 1);
    }
    fz_register(z, &m, flags, s[3], (s[2] >> 3) & 1 ? 1 : 0);
  }
  if ((head >> 3) & 1) {
    int r = tw__dispatch_batch(z->loop, fr, nf);
    FUZZ_CHECK(r >= 0);
    tw_loop_run(z->loop, TW_RUN_NOWAIT);
  } else {
    for (size_t i = 0; i < nf; i++) {
      int r = tw_dispatch_input(z->loop, &fr[i]);
      FUZZ_CHECK(r >= 0 || r == TW_EMALFORMED);
      tw_loop_run(z->loop, TW_RUN_NOWAIT); /* cancellations, timeouts */
    }
  }
  tw_dispatch_stats st;
  FUZZ_CHECK(tw_dispatch_stats_get(z->loop, &st) == 0);
  FUZZ_CHECK(st.matched + st.unmatched + st.malformed <= st.packets);
  FUZZ_CHECK(tw_loop_close(z->loop) == 0);
  for (int i = 0; i < z->nw; i++) FUZZ_CHECK(z->w[i].ended == 1);
  free(z);
  return 0;
}
