/* tcp.c: TCP streams on the loop (include/trawl/tcp.h): connect with a
 * timeout, listen/accept, reads served from a per-handle input buffer
 * (exactly N bytes, up to a delimiter, some, streaming), a write queue with
 * a no-copy fast path, half-close, and cancellation on close.
 *
 * How a handle runs. Socket events, deferred work and timeouts all end in
 * tcp_run(), which delivers everything it can in one sweep (so a read
 * callback that writes and reads again is served in the same pass) and sets
 * the fd watch and the active flag once, at the end: a callback that stops
 * and re-issues a read costs no epoll_ctl. API calls only change state; if
 * a callback is due at once (data already buffered, a write that went
 * straight into the kernel, an error) they queue the handle's tw_pending, so
 * the callback runs on the next pass of the loop and never inside the call.
 * After every user callback tcp_run() checks whether the handle was closed,
 * and if so touches nothing more. A sweep is bounded so one busy handle
 * cannot starve the rest: at most TW_TCP_READS read() calls, and write
 * callbacks queued by write callbacks wait for the next pending run.
 *
 * Completed write callbacks wait in a ring (callback, status) whose room is
 * reserved when the write is accepted, so a write that the kernel took
 * whole is never copied or allocated for. Only the part the kernel refused
 * is copied into the queue, sent later with one sendmsg() per batch.
 *
 * Timeouts (connect, read) share one internal timer per handle, created on
 * first use. It is re-armed lazily: a read that completes leaves it
 * running, and when it fires early it only re-arms for the next deadline,
 * so fast reads with a timeout cost no heap operation each. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <trawl/tcp.h>

#include "loop-int.h"
#include "readbuf-int.h"
#include "sockaddr-int.h"

#define TW_TCP_IOV 64               /* queued chunks per sendmsg() */
#define TW_TCP_READ_MIN 1024        /* never read() into less room than this */
#define TW_TCP_READ_GROW (64 * 1024) /* full reads double the buffer up to this */
#define TW_TCP_READS 16             /* read() calls per sweep, then others' turn */

enum {
  ST_NEW,        /* no socket yet */
  ST_OPEN,       /* adopted socket, neither connected nor listening */
  ST_CONNECTING, /* non-blocking connect() in flight */
  ST_CONNECTED,
  ST_LISTENING,
  ST_FAILED      /* connect or listen failed: t->err says why */
};

enum { RD_NONE, RD_EXACT, RD_UNTIL, RD_SOME, RD_STREAM };

typedef struct wreq { /* a queued write: what the kernel has not taken yet */
  tw_queue q;
  tw_tcp_write_cb cb;
  size_t len, off;
  char data[];
} wreq;

typedef struct wdone { /* a write whose callback is due */
  tw_tcp_write_cb cb;
  int status;
} wdone;

struct tw_tcp {
  tw_handle h;
  tw_watch w; /* w.fd is the socket, -1 when there is none */
  tw_pending pend;
  uint8_t state, rmode;
  uint8_t in_run;    /* inside tcp_run(): API calls leave the rest to it */
  uint8_t eof;       /* read() returned 0 */
  uint8_t rtimedout; /* the pending read's deadline passed */
  uint8_t rfull;     /* the last read() filled the buffer: grow it */
  uint8_t shut_req, shut_done, nodelay;
  int err;  /* ST_FAILED: the connect or listen error */
  int rerr; /* sticky read error */
  int werr; /* sticky write error */

  tw_tcp_connect_cb connect_cb;
  tw_tcp_accept_cb accept_cb;
  tw_tcp_shutdown_cb shutdown_cb;

  /* the pending read */
  tw_readbuf in;
  tw_tcp_read_cb read_cb;
  size_t rn;   /* exact: n; until, some: max */
  size_t scan; /* until: leading bytes already searched */
  const char *delim;
  size_t dlen, dcap;
  char *dheap;
  char dsmall[16];

  /* writes */
  tw_queue wq;
  size_t queued; /* bytes in wq not yet in the kernel */
  wdone *ring;
  size_t rhead, rcount, rcap;
  size_t owed; /* write callbacks not yet run (in wq or ring) */

  /* timeouts */
  tw_timer *timer;
  uint64_t conn_due, read_due; /* absolute loop time, 0 = none */
};

static void tcp_close(tw_handle *h);
static void tcp_cancel(tw_handle *h);
static void tcp_free(tw_handle *h);
static const tw_handle_ops tcp_ops = {"tcp", tcp_close, tcp_cancel, tcp_free};

static void tcp_run(struct tw_tcp *t, int events);

static int closing(const struct tw_tcp *t) { return (t->h.flags & TW_HF_CLOSING) != 0; }

/* ---- watch, activity, scheduling ---------------------------------------- */

static void update(struct tw_tcp *t) {
  int want = 0;
  switch (t->state) {
  case ST_LISTENING:
    if (t->accept_cb) want = TW_READABLE;
    break;
  case ST_CONNECTING:
    want = TW_WRITABLE;
    break;
  case ST_CONNECTED:
    if (t->rmode && !t->eof && !t->rerr) want |= TW_READABLE;
    if (!tw_queue_empty(&t->wq) && !t->werr) want |= TW_WRITABLE;
    break;
  }
  if (t->w.fd >= 0) tw__watch_set(t->h.loop, &t->w, want);
  if (t->connect_cb || t->accept_cb || t->rmode || t->owed || !tw_queue_empty(&t->wq) ||
      (t->shut_req && !t->shut_done))
    tw__handle_start(&t->h);
  else
    tw__handle_stop(&t->h);
}

/* After an API call changed state: if a callback is due now, run it on the
 * next pass; inside tcp_run() nothing is needed, it looks again itself. */
static void kick(struct tw_tcp *t, int due_now) {
  if (t->in_run) return;
  if (due_now) tw__pending_push(t->h.loop, &t->pend);
  update(t);
}

static void fail(struct tw_tcp *t, int err) {
  t->state = ST_FAILED;
  t->err = err;
  t->conn_due = 0;
  if (!t->rerr) t->rerr = err;
  if (!t->werr) t->werr = err;
}

/* ---- timeouts ------------------------------------------------------------- */

static void on_timer(tw_timer *tm, int status);

static uint64_t deadline(tw_loop *loop, uint64_t timeout_ns) {
  uint64_t d = loop->now + timeout_ns;
  return d < loop->now ? UINT64_MAX : d;
}

static int timer_get(struct tw_tcp *t) {
  if (t->timer) return 0;
  int err = tw_timer_new(t->h.loop, &t->timer, t);
  if (err) return err;
  /* Owned by this handle: invisible to loop teardown, and it never keeps
   * the loop running on its own (the handle does while it waits). */
  ((tw_handle *)t->timer)->flags |= TW_HF_INTERNAL;
  tw_unref(t->timer);
  return 0;
}

/* Returns 0 or -ENOMEM (the timer heap could not grow). */
static int timer_arm(struct tw_tcp *t) {
  uint64_t next = 0;
  if (t->state == ST_CONNECTING && t->conn_due) next = t->conn_due;
  if (t->rmode && t->read_due && (!next || t->read_due < next)) next = t->read_due;
  if (!next || !t->timer) return 0;
  uint64_t due = tw_timer_due(t->timer);
  if (due && due <= next) return 0; /* fires first; it re-arms then */
  uint64_t now = t->h.loop->now;
  return tw_timer_start(t->timer, on_timer, next > now ? next - now : 0, 0);
}

static void on_timer(tw_timer *tm, int status) {
  struct tw_tcp *t = tw_data(tm);
  if (status < 0) return;
  uint64_t now = t->h.loop->now;
  if (t->state == ST_CONNECTING && t->conn_due && t->conn_due <= now) fail(t, -ETIMEDOUT);
  if (t->rmode && t->read_due && t->read_due <= now) {
    t->read_due = 0;
    t->rtimedout = 1;
  }
  tcp_run(t, 0);
  if (!closing(t)) timer_arm(t); /* cannot fail: its heap slot was just freed */
}

/* ---- writes ---------------------------------------------------------------- */

/* Room in the ring for every write callback owed plus one more. */
static int ring_reserve(struct tw_tcp *t) {
  if (t->owed < t->rcap) return 0;
  size_t cap = t->rcap ? t->rcap * 2 : 8;
  wdone *r = malloc(cap * sizeof *r);
  if (!r) return -ENOMEM;
  for (size_t i = 0; i < t->rcount; i++) r[i] = t->ring[(t->rhead + i) % t->rcap];
  free(t->ring);
  t->ring = r;
  t->rhead = 0;
  t->rcap = cap;
  return 0;
}

static void ring_push(struct tw_tcp *t, tw_tcp_write_cb cb, int status) {
  wdone *d = &t->ring[(t->rhead + t->rcount) % t->rcap];
  d->cb = cb;
  d->status = status;
  t->rcount++;
}

/* Run the write callbacks that are due, in order. Those their callbacks
 * add (a write the kernel took whole) wait for the next pass, so a callback
 * that writes again cannot keep the loop here. Returns 1 if the handle
 * closed. */
static int ring_run(struct tw_tcp *t) {
  for (size_t n = t->rcount; n > 0 && t->rcount; n--) {
    wdone d = t->ring[t->rhead];
    t->rhead = (t->rhead + 1) % t->rcap;
    t->rcount--;
    t->owed--;
    d.cb(t, d.status);
    if (closing(t)) return 1;
  }
  return 0;
}

static void wreq_done(struct tw_tcp *t, wreq *r, int status) {
  tw_queue_remove(&r->q);
  t->queued -= r->len - r->off;
  if (r->cb) ring_push(t, r->cb, status);
  free(r);
}

static void fail_queue(struct tw_tcp *t) {
  while (!tw_queue_empty(&t->wq)) wreq_done(t, tw_queue_entry(t->wq.next, wreq, q), t->werr);
}

/* Hand queued bytes to the kernel. Returns 1 when the queue is empty. */
static int flush_queue(struct tw_tcp *t) {
  while (!tw_queue_empty(&t->wq)) {
    struct iovec iov[TW_TCP_IOV];
    int n = 0;
    size_t total = 0;
    for (tw_queue *e = t->wq.next; e != &t->wq && n < TW_TCP_IOV; e = e->next, n++) {
      wreq *r = tw_queue_entry(e, wreq, q);
      iov[n].iov_base = r->data + r->off;
      iov[n].iov_len = r->len - r->off;
      total += iov[n].iov_len;
    }
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t w;
    do w = sendmsg(t->w.fd, &m, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
      if (errno == EAGAIN) return 0;
      t->werr = -errno;
      fail_queue(t);
      return 1;
    }
    size_t left = (size_t)w;
    while (!tw_queue_empty(&t->wq)) {
      wreq *r = tw_queue_entry(t->wq.next, wreq, q);
      size_t rest = r->len - r->off;
      if (rest > left) {
        r->off += left;
        t->queued -= left;
        break;
      }
      left -= rest;
      wreq_done(t, r, 0);
    }
    if ((size_t)w < total) return 0; /* the kernel is full: wait */
  }
  return 1;
}

/* ---- reads ----------------------------------------------------------------- */

/* *can_read is how many more read() calls this sweep may make. Once it is
 * spent, other handles get their turn; epoll (level-triggered) reports
 * what is left on the next pass. */
static void read_socket(struct tw_tcp *t, int *can_read) {
  tw_readbuf *b = &t->in;
  (*can_read)--;
  size_t need = TW_TCP_READ_MIN;
  if (t->rmode == RD_EXACT && t->rn - tw_readbuf_len(b) > need) need = t->rn - tw_readbuf_len(b);
  if (t->rfull && b->cap < TW_TCP_READ_GROW && b->cap + 1 > need) need = b->cap + 1;
  if (tw_readbuf_room(b) < need) {
    int err = tw_readbuf_reserve(b, need);
    if (err && tw_readbuf_room(b) == 0) {
      t->rerr = err;
      *can_read = 0;
      return;
    }
  }
  size_t room = tw_readbuf_room(b);
  ssize_t n;
  do n = read(t->w.fd, tw_readbuf_tail(b), room);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    tw_readbuf_commit(b, (size_t)n);
    /* A short read means the kernel is empty: don't ask again just to
     * hear EAGAIN, epoll will say when there is more. */
    t->rfull = (size_t)n == room;
    if (!t->rfull) *can_read = 0;
  } else {
    if (n == 0) t->eof = 1;
    else if (errno != EAGAIN) t->rerr = -errno;
    *can_read = 0;
  }
}

/* Serve the pending read from the buffer, reading the socket while allowed.
 * Returns 1 if a read callback ran, 0 if the read still waits, -1 if the
 * handle was closed by the callback. */
static int run_read(struct tw_tcp *t, int *can_read) {
  for (;;) {
    size_t have = tw_readbuf_len(&t->in);
    const char *p = tw_readbuf_data(&t->in);
    size_t len = have;
    int status = 0, consume = 1;
    if (t->rtimedout) {
      status = -ETIMEDOUT; /* the bytes stay for the next read */
      consume = 0;
      goto deliver;
    }
    switch (t->rmode) {
    case RD_EXACT:
      if (have >= t->rn) {
        len = t->rn;
        goto deliver;
      }
      break;
    case RD_UNTIL: {
      /* Resume where the last search stopped, minus a delimiter's worth
       * of overlap for a delimiter split across reads. */
      size_t from = t->scan >= t->dlen ? t->scan - t->dlen + 1 : 0;
      const char *hit = have > from ? memmem(p + from, have - from, t->delim, t->dlen) : NULL;
      if (hit && (size_t)(hit - p) + t->dlen <= t->rn) {
        len = (size_t)(hit - p) + t->dlen;
        goto deliver;
      }
      t->scan = have;
      if (hit || have >= t->rn) {
        status = TW_ETOOBIG; /* the bytes stay buffered */
        consume = 0;
        goto deliver;
      }
      break;
    }
    case RD_SOME:
      if (have) {
        if (len > t->rn) len = t->rn;
        goto deliver;
      }
      break;
    case RD_STREAM:
      if (have) goto deliver;
      break;
    }
    if (t->rerr || t->eof) {
      status = t->rerr ? t->rerr : TW_EOF; /* with whatever arrived */
      goto deliver;
    }
    if (!*can_read) return 0;
    read_socket(t, can_read);
    continue;

  deliver:;
    tw_tcp_read_cb cb = t->read_cb;
    if (t->rmode != RD_STREAM || status != 0) {
      t->rmode = RD_NONE;
      t->read_cb = NULL;
    }
    t->rtimedout = 0;
    t->read_due = 0;
    t->scan = 0;
    if (consume) tw_readbuf_consume(&t->in, len);
    cb(t, status, p, len);
    return closing(t) ? -1 : 1;
  }
}

/* ---- the sweep ------------------------------------------------------------- */

/* Everything owed gets -ECANCELED, except writes the kernel already took
 * (their status stands). Runs from the pending queued by tcp_close(). */
static void run_cancelled(struct tw_tcp *t) {
  if (t->connect_cb) {
    tw_tcp_connect_cb cb = t->connect_cb;
    t->connect_cb = NULL;
    cb(t, -ECANCELED);
  }
  if (t->read_cb) {
    tw_tcp_read_cb cb = t->read_cb;
    t->read_cb = NULL;
    t->rmode = RD_NONE;
    cb(t, -ECANCELED, tw_readbuf_data(&t->in), tw_readbuf_len(&t->in));
  }
  while (t->rcount || !tw_queue_empty(&t->wq)) {
    if (!t->rcount) wreq_done(t, tw_queue_entry(t->wq.next, wreq, q), -ECANCELED);
    else ring_run(t);
  }
  if (t->shut_req && !t->shut_done) {
    t->shut_done = 1;
    tw_tcp_shutdown_cb cb = t->shutdown_cb;
    t->shutdown_cb = NULL;
    if (cb) cb(t, -ECANCELED);
  }
}

/* Writes, write callbacks, shutdown and reads of a stream (connecting,
 * connected or failed), until nothing moves. Returns 1 if the handle was
 * closed. */
static int run_stream(struct tw_tcp *t, int events) {
  int can_read = (events & (TW_READABLE | TW_HANGUP | TW_ERROR)) ? TW_TCP_READS : 0;
  int can_write = events & (TW_WRITABLE | TW_HANGUP | TW_ERROR);
  int ring_ran = 0;
  for (;;) {
    int moved = 0;
    if (!tw_queue_empty(&t->wq)) {
      if (t->werr) fail_queue(t);
      else if (can_write && t->state == ST_CONNECTED && !flush_queue(t)) can_write = 0;
    }
    if (t->rcount && !ring_ran) {
      /* Once per sweep; what callbacks add runs on the next pass. */
      ring_ran = 1;
      if (ring_run(t)) return 1;
      moved = 1;
    }
    if (t->shut_req && !t->shut_done && tw_queue_empty(&t->wq) && !t->rcount &&
        t->state != ST_CONNECTING) {
      int status = t->werr;
      if (!status && shutdown(t->w.fd, SHUT_WR) < 0) status = -errno;
      t->shut_done = 1;
      tw_tcp_shutdown_cb cb = t->shutdown_cb;
      t->shutdown_cb = NULL;
      if (cb) {
        cb(t, status);
        if (closing(t)) return 1;
      }
      moved = 1;
    }
    if (t->rmode) {
      int r = run_read(t, &can_read);
      if (r < 0) return 1;
      if (r > 0) moved = 1;
    }
    if (!moved) break;
  }
  if (t->rcount) tw__pending_push(t->h.loop, &t->pend);
  return 0;
}

static void tcp_run(struct tw_tcp *t, int events) {
  if (closing(t)) {
    run_cancelled(t);
    return;
  }
  t->in_run = 1;
  if (t->state == ST_CONNECTING && (events & (TW_WRITABLE | TW_ERROR | TW_HANGUP))) {
    int err = tw__sock_error(t->w.fd);
    if (err) fail(t, err);
    else t->state = ST_CONNECTED;
  }
  if (t->connect_cb && t->state != ST_CONNECTING) {
    tw_tcp_connect_cb cb = t->connect_cb;
    t->connect_cb = NULL;
    t->conn_due = 0;
    cb(t, t->state == ST_FAILED ? t->err : 0);
    if (closing(t)) return;
  }
  if (t->accept_cb) {
    int status = 0;
    if (t->state == ST_FAILED) {
      status = t->err;
    } else if (events & (TW_ERROR | TW_HANGUP)) {
      /* A listener in error (or whose fd was closed under us). */
      status = tw__sock_error(t->w.fd);
      if (!status && !(events & TW_READABLE)) status = -EIO;
      if (status) fail(t, status);
    } else if (!(events & TW_READABLE)) {
      goto out;
    }
    tw_tcp_accept_cb cb = t->accept_cb;
    if (status) t->accept_cb = NULL; /* a failed listener is done */
    cb(t, status);
    if (closing(t)) return;
  } else if (t->state == ST_CONNECTING || t->state == ST_CONNECTED || t->state == ST_FAILED) {
    /* While connecting only a read timeout can be due here. */
    if (run_stream(t, t->state == ST_CONNECTING ? 0 : events)) return;
  }
out:
  t->in_run = 0;
  update(t);
}

static void on_io(tw_watch *w, int events) {
  tcp_run((struct tw_tcp *)((char *)w - offsetof(struct tw_tcp, w)), events);
}

static void on_pending(tw_pending *p) {
  tcp_run((struct tw_tcp *)((char *)p - offsetof(struct tw_tcp, pend)), 0);
}

/* ---- lifetime -------------------------------------------------------------- */

static struct tw_tcp *tcp_alloc(tw_loop *loop, void *data) {
  struct tw_tcp *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  tw__handle_init(loop, &t->h, &tcp_ops, data);
  tw__watch_init(&t->w, -1, on_io);
  tw_queue_init(&t->pend.q);
  t->pend.cb = on_pending;
  tw_queue_init(&t->wq);
  t->state = ST_NEW;
  return t;
}

static void tcp_close(tw_handle *h) {
  struct tw_tcp *t = (struct tw_tcp *)h;
  if (t->timer) {
    tw_close(t->timer, NULL);
    t->timer = NULL;
  }
  if (t->w.fd >= 0) {
    tw__watch_remove(h->loop, &t->w);
    close(t->w.fd);
    t->w.fd = -1;
  }
  /* Callbacks still owed run with -ECANCELED on the next pending pass,
   * which the loop runs before this handle's close callback. */
  if (t->connect_cb || t->read_cb || t->owed || !tw_queue_empty(&t->wq) ||
      (t->shut_req && !t->shut_done))
    tw__pending_push(h->loop, &t->pend);
}

/* tw_loop_close(): a listener's accept callback hears -ECANCELED, like any
 * watcher; operations are cancelled by tcp_close(). */
static void tcp_cancel(tw_handle *h) {
  struct tw_tcp *t = (struct tw_tcp *)h;
  if (t->state != ST_LISTENING || !t->accept_cb) return;
  tw_tcp_accept_cb cb = t->accept_cb;
  t->accept_cb = NULL;
  update(t);
  cb(t, -ECANCELED);
}

static void tcp_free(tw_handle *h) {
  struct tw_tcp *t = (struct tw_tcp *)h;
  tw__pending_cancel(&t->pend);
  while (!tw_queue_empty(&t->wq)) free(tw_queue_entry(tw_queue_pop(&t->wq), wreq, q));
  free(t->ring);
  free(t->dheap);
  tw_readbuf_free(&t->in);
  free(t);
}

int tw_tcp_new(tw_loop *loop, tw_tcp **out, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  struct tw_tcp *t = tcp_alloc(loop, data);
  if (!t) return -ENOMEM;
  *out = t;
  return 0;
}

int tw_tcp_open(tw_loop *loop, tw_tcp **out, int fd, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  int fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);
  if (fl < 0) return -EBADF;
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return -errno;
  if (type != SOCK_STREAM) return -EINVAL;
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) return -errno;
  struct sockaddr_storage peer;
  int connected = !listening && tw__sockaddr_of(fd, 1, &peer) == 0;
  if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl >= 0) fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
  struct tw_tcp *t = tcp_alloc(loop, data);
  if (!t) return -ENOMEM;
  t->w.fd = fd;
  t->state = connected ? ST_CONNECTED : ST_OPEN;
  *out = t;
  return 0;
}

/* ---- connecting and listening -------------------------------------------- */

static int new_socket(struct tw_tcp *t, int family) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  t->w.fd = fd;
  if (t->nodelay) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return 0;
}

int tw_tcp_connect(tw_tcp *t, const struct sockaddr *addr, uint64_t timeout_ns,
                   tw_tcp_connect_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  socklen_t alen;
  if (!cb || tw__sockaddr_len(addr, &alen)) return -EINVAL;
  if (t->state == ST_CONNECTING) return -EALREADY;
  if (t->state == ST_CONNECTED) return -EISCONN;
  if (t->state != ST_NEW && t->state != ST_OPEN) return -EBUSY;
  if (timeout_ns && (err = timer_get(t))) return err;
  t->connect_cb = cb;
  if (t->state == ST_NEW && (err = new_socket(t, addr->sa_family))) {
    fail(t, err); /* e.g. -EMFILE: the operation failed, the call did not */
    kick(t, 1);
    return 0;
  }
  if (connect(t->w.fd, addr, alen) == 0) {
    t->state = ST_CONNECTED;
  } else if (errno == EINPROGRESS || errno == EINTR) {
    t->state = ST_CONNECTING; /* EINTR: it goes on in the background */
    if (timeout_ns) {
      t->conn_due = deadline(t->h.loop, timeout_ns);
      if ((err = timer_arm(t))) fail(t, err);
    }
  } else {
    fail(t, -errno); /* -ECONNREFUSED, -ENETUNREACH, ... go to cb */
  }
  kick(t, t->state != ST_CONNECTING);
  return 0;
}

int tw_tcp_listen(tw_tcp *t, const struct sockaddr *addr, int backlog, tw_tcp_accept_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  socklen_t alen = 0;
  if (!cb || (addr && tw__sockaddr_len(addr, &alen))) return -EINVAL;
  if (t->state != ST_NEW && t->state != ST_OPEN) return -EBUSY;
  if (!addr && t->state != ST_OPEN) return -EINVAL;
  t->accept_cb = cb;
  if (t->state == ST_NEW) err = new_socket(t, addr->sa_family);
  if (!err && addr) {
    int one = 1;
    setsockopt(t->w.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(t->w.fd, addr, alen) < 0) err = -errno;
  }
  /* Linux caps the backlog at net.core.somaxconn. */
  if (!err && listen(t->w.fd, backlog > 0 ? backlog : INT_MAX) < 0) err = -errno;
  if (err) fail(t, err); /* -EADDRINUSE, ... reach cb on the next pass */
  else t->state = ST_LISTENING;
  kick(t, err != 0);
  return 0;
}

int tw_tcp_accept(tw_tcp *server, tw_tcp **client) {
  int err = tw__handle_usable(server, &tcp_ops);
  if (err) return err;
  if (!client) return -EINVAL;
  *client = NULL;
  if (server->state != ST_LISTENING) return -EINVAL;
  int fd;
  do fd = accept4(server->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
  if (fd < 0) return -errno; /* -EAGAIN: none pending */
  struct tw_tcp *c = tcp_alloc(server->h.loop, NULL);
  if (!c) {
    close(fd);
    return -ENOMEM;
  }
  c->w.fd = fd;
  c->state = ST_CONNECTED;
  *client = c;
  return 0;
}

/* ---- reading ---------------------------------------------------------------- */

static int read_begin(struct tw_tcp *t, int mode, size_t n, uint64_t timeout_ns,
                      tw_tcp_read_cb cb) {
  if (t->state != ST_CONNECTING && t->state != ST_CONNECTED && t->state != ST_FAILED)
    return -ENOTCONN;
  if (t->rmode) return -EBUSY;
  int err;
  if (timeout_ns && (err = timer_get(t))) return err;
  t->rmode = (uint8_t)mode;
  t->rn = n;
  t->read_cb = cb;
  t->scan = 0;
  t->rtimedout = 0;
  t->read_due = timeout_ns ? deadline(t->h.loop, timeout_ns) : 0;
  if (t->read_due && (err = timer_arm(t))) {
    t->rmode = RD_NONE;
    t->read_cb = NULL;
    t->read_due = 0;
    return err;
  }
  kick(t, tw_readbuf_len(&t->in) || t->eof || t->rerr);
  return 0;
}

int tw_tcp_read_exact(tw_tcp *t, size_t n, uint64_t timeout_ns, tw_tcp_read_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  if (!cb || n == 0) return -EINVAL;
  return read_begin(t, RD_EXACT, n, timeout_ns, cb);
}

int tw_tcp_read_until(tw_tcp *t, const char *delim, size_t delim_len, size_t max,
                      uint64_t timeout_ns, tw_tcp_read_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  if (!cb || !delim || delim_len == 0 || max < delim_len) return -EINVAL;
  if (t->rmode) return -EBUSY;
  char *d = t->dsmall;
  if (delim_len > sizeof t->dsmall) {
    if (delim_len > t->dcap) {
      char *nd = realloc(t->dheap, delim_len);
      if (!nd) return -ENOMEM;
      t->dheap = nd;
      t->dcap = delim_len;
    }
    d = t->dheap;
  }
  memmove(d, delim, delim_len); /* the caller's delimiter need not outlive the call */
  err = read_begin(t, RD_UNTIL, max, timeout_ns, cb);
  if (!err) {
    t->delim = d;
    t->dlen = delim_len;
  }
  return err;
}

int tw_tcp_read_some(tw_tcp *t, size_t max, uint64_t timeout_ns, tw_tcp_read_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  if (!cb || max == 0) return -EINVAL;
  return read_begin(t, RD_SOME, max, timeout_ns, cb);
}

int tw_tcp_read_start(tw_tcp *t, tw_tcp_read_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  if (!cb) return -EINVAL;
  if (t->rmode == RD_STREAM) {
    t->read_cb = cb;
    return 0;
  }
  return read_begin(t, RD_STREAM, 0, 0, cb);
}

int tw_tcp_read_stop(tw_tcp *t) {
  int err = tw__handle_check(t, &tcp_ops);
  if (err) return err;
  if (t->rmode == RD_NONE) return 0;
  if (t->rmode != RD_STREAM) return -EBUSY;
  t->rmode = RD_NONE;
  t->read_cb = NULL; /* stopped: not even -ECANCELED on close */
  if (!closing(t)) kick(t, 0);
  return 0;
}

/* ---- writing ---------------------------------------------------------------- */

int tw_tcp_write(tw_tcp *t, const void *buf, size_t len, tw_tcp_write_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  if (!buf && len) return -EINVAL;
  if (t->state != ST_CONNECTING && t->state != ST_CONNECTED && t->state != ST_FAILED)
    return -ENOTCONN;
  if (t->shut_req) return -EPIPE;
  if (cb && (err = ring_reserve(t))) return err;
  size_t off = 0;
  if (tw_queue_empty(&t->wq) && t->state != ST_CONNECTING) {
    /* Fast path: straight into the kernel, no copy. */
    if (!t->werr && len) {
      ssize_t n;
      do n = send(t->w.fd, buf, len, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      if (n >= 0) off = (size_t)n;
      else if (errno != EAGAIN) t->werr = -errno;
    }
    if (t->werr || off == len) {
      if (cb) {
        t->owed++;
        ring_push(t, cb, t->werr);
      }
      kick(t, cb != NULL);
      return 0;
    }
  }
  /* Behind other writes, before the connection is up, or the kernel is
   * full: keep a copy of what is left. */
  wreq *r = malloc(sizeof *r + (len - off));
  if (!r) {
    if (!off) return -ENOMEM;
    t->werr = -ENOMEM; /* part of it is gone already: the stream is broken */
    if (cb) {
      t->owed++;
      ring_push(t, cb, t->werr);
    }
    kick(t, 1);
    return 0;
  }
  r->cb = cb;
  r->len = len - off;
  r->off = 0;
  if (r->len) memcpy(r->data, (const char *)buf + off, r->len);
  tw_queue_push(&t->wq, &r->q);
  t->queued += r->len;
  if (cb) t->owed++;
  kick(t, t->werr != 0);
  return 0;
}

size_t tw_tcp_write_queued(const tw_tcp *t) {
  return tw__handle_check(t, &tcp_ops) ? 0 : t->queued;
}

int tw_tcp_shutdown(tw_tcp *t, tw_tcp_shutdown_cb cb) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  if (t->state != ST_CONNECTING && t->state != ST_CONNECTED && t->state != ST_FAILED)
    return -ENOTCONN;
  if (t->shut_req) return -EALREADY;
  t->shut_req = 1;
  t->shutdown_cb = cb;
  kick(t, t->state != ST_CONNECTING && tw_queue_empty(&t->wq));
  return 0;
}

/* ---- socket details ---------------------------------------------------------- */

int tw_tcp_sockname(const tw_tcp *t, struct sockaddr_storage *out) {
  if (tw__handle_check(t, &tcp_ops) || !out) return -EINVAL;
  if (t->w.fd < 0) return -ENOTCONN;
  return tw__sockaddr_of(t->w.fd, 0, out);
}

int tw_tcp_peername(const tw_tcp *t, struct sockaddr_storage *out) {
  if (tw__handle_check(t, &tcp_ops) || !out) return -EINVAL;
  if (t->w.fd < 0) return -ENOTCONN;
  return tw__sockaddr_of(t->w.fd, 1, out);
}

int tw_tcp_fd(const tw_tcp *t) {
  if (tw__handle_check(t, &tcp_ops)) return -EINVAL;
  return t->w.fd >= 0 ? t->w.fd : -EBADF;
}

int tw_tcp_nodelay(tw_tcp *t, int on) {
  int err = tw__handle_usable(t, &tcp_ops);
  if (err) return err;
  t->nodelay = on != 0;
  if (t->w.fd >= 0 && t->state != ST_LISTENING) {
    int v = t->nodelay;
    if (setsockopt(t->w.fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0) return -errno;
  }
  return 0;
}
