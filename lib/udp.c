/* udp.c: UDP sockets on the loop (include/trawl/udp.h), IPv4 and IPv6.
 *
 * The same shape as tcp.c, smaller. A send first goes straight to the
 * kernel; only if the socket buffer is full (EAGAIN) is the datagram copied
 * and queued, to leave in order when the socket turns writable. Send
 * callbacks wait in a ring (callback, status) whose room is reserved when
 * the send is accepted, and run on the next pass of the loop, never inside
 * tw_udp_send(). Receiving reads up to TW_UDP_BATCH datagrams per wake-up
 * into one 64 KiB buffer kept for the life of the handle. Socket errors
 * (ICMP port unreachable on a connected socket) reach the receive callback,
 * or the next send's callback when nobody receives. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <trawl/udp.h>

#include "loop-int.h"
#include "sockaddr-int.h"

#define TW_UDP_BATCH 32           /* datagrams per readiness event */
#define TW_UDP_BUF (64 * 1024)    /* larger than any UDP payload */

typedef struct sreq { /* a datagram the kernel could not take yet */
  tw_queue q;
  tw_udp_send_cb cb;
  size_t len;
  socklen_t alen; /* 0: the connected peer */
  struct sockaddr_storage to;
  char data[];
} sreq;

typedef struct sdone {
  tw_udp_send_cb cb;
  int status;
} sdone;

struct tw_udp {
  tw_handle h;
  tw_watch w;
  tw_pending pend;
  int family;
  uint8_t connected, in_run;
  tw_udp_recv_cb recv_cb;
  char *buf; /* receive buffer, TW_UDP_BUF bytes, from the first recv_start */
  tw_queue sq;
  sdone *ring;
  size_t rhead, rcount, rcap;
  size_t owed; /* send callbacks not yet run (in sq or ring) */
};

static void udp_close(tw_handle *h);
static void udp_cancel(tw_handle *h);
static void udp_free(tw_handle *h);
static const tw_handle_ops udp_ops = {"udp", udp_close, udp_cancel, udp_free};

static int closing(const struct tw_udp *u) { return (u->h.flags & TW_HF_CLOSING) != 0; }

static void update(struct tw_udp *u) {
  int want = 0;
  if (u->recv_cb) want |= TW_READABLE;
  if (!tw_queue_empty(&u->sq)) want |= TW_WRITABLE;
  tw__watch_set(u->h.loop, &u->w, want);
  if (want || u->owed) tw__handle_start(&u->h);
  else tw__handle_stop(&u->h);
}

static void kick(struct tw_udp *u, int due_now) {
  if (u->in_run) return;
  if (due_now) tw__pending_push(u->h.loop, &u->pend);
  update(u);
}

/* ---- send completions ------------------------------------------------------ */

static int ring_reserve(struct tw_udp *u) {
  if (u->owed < u->rcap) return 0;
  size_t cap = u->rcap ? u->rcap * 2 : 8;
  sdone *r = malloc(cap * sizeof *r);
  if (!r) return -ENOMEM;
  for (size_t i = 0; i < u->rcount; i++) r[i] = u->ring[(u->rhead + i) % u->rcap];
  free(u->ring);
  u->ring = r;
  u->rhead = 0;
  u->rcap = cap;
  return 0;
}

static void ring_push(struct tw_udp *u, tw_udp_send_cb cb, int status) {
  sdone *d = &u->ring[(u->rhead + u->rcount) % u->rcap];
  d->cb = cb;
  d->status = status;
  u->rcount++;
}

/* Run the send callbacks that are due, in order; those their callbacks add
 * wait for the next pass, so a callback that sends again (the next probe)
 * cannot keep the loop here. Returns 1 if the handle was closed. */
static int ring_run(struct tw_udp *u) {
  for (size_t n = u->rcount; n > 0 && u->rcount; n--) {
    sdone d = u->ring[u->rhead];
    u->rhead = (u->rhead + 1) % u->rcap;
    u->rcount--;
    u->owed--;
    d.cb(u, d.status);
    if (closing(u)) return 1;
  }
  return 0;
}

static void sreq_done(struct tw_udp *u, sreq *r, int status) {
  tw_queue_remove(&r->q);
  if (r->cb) ring_push(u, r->cb, status);
  free(r);
}

static ssize_t send_one(int fd, const void *buf, size_t len, const struct sockaddr *to,
                        socklen_t alen) {
  ssize_t n;
  do n = sendto(fd, buf, len, MSG_NOSIGNAL, to, alen);
  while (n < 0 && errno == EINTR);
  return n;
}

static void flush_queue(struct tw_udp *u) {
  while (!tw_queue_empty(&u->sq)) {
    sreq *r = tw_queue_entry(u->sq.next, sreq, q);
    ssize_t n = send_one(u->w.fd, r->data, r->len,
                         r->alen ? (struct sockaddr *)&r->to : NULL, r->alen);
    if (n < 0 && errno == EAGAIN) return;
    sreq_done(u, r, n < 0 ? -errno : 0);
  }
}

/* ---- the sweep ---------------------------------------------------------------- */

static void run_cancelled(struct tw_udp *u) {
  while (u->rcount || !tw_queue_empty(&u->sq)) {
    if (!u->rcount) sreq_done(u, tw_queue_entry(u->sq.next, sreq, q), -ECANCELED);
    else ring_run(u);
  }
}

/* Returns 1 if the handle was closed by a callback. */
static int run_recv(struct tw_udp *u) {
  for (int i = 0; i < TW_UDP_BATCH && u->recv_cb; i++) {
    struct sockaddr_storage from;
    struct iovec iov = {.iov_base = u->buf, .iov_len = TW_UDP_BUF};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from,
                       .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(u->w.fd, &m, 0);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      if (errno == EINTR) continue;
      u->recv_cb(u, -errno, NULL, 0, NULL); /* a socket error, consumed */
    } else {
      u->recv_cb(u, 0, u->buf, (size_t)n, (struct sockaddr *)&from);
    }
    if (closing(u)) return 1;
  }
  return 0;
}

static void udp_run(struct tw_udp *u, int events) {
  if (closing(u)) {
    run_cancelled(u);
    return;
  }
  u->in_run = 1;
  if (!tw_queue_empty(&u->sq) && (events & (TW_WRITABLE | TW_ERROR))) flush_queue(u);
  if (ring_run(u)) return;
  if (u->recv_cb && (events & (TW_READABLE | TW_ERROR)) && run_recv(u)) return;
  u->in_run = 0;
  if (u->rcount) tw__pending_push(u->h.loop, &u->pend); /* sends from callbacks */
  update(u);
}

static void on_io(tw_watch *w, int events) {
  udp_run((struct tw_udp *)((char *)w - offsetof(struct tw_udp, w)), events);
}

static void on_pending(tw_pending *p) {
  udp_run((struct tw_udp *)((char *)p - offsetof(struct tw_udp, pend)), 0);
}

/* ---- lifetime ------------------------------------------------------------------ */

static void udp_close(tw_handle *h) {
  struct tw_udp *u = (struct tw_udp *)h;
  tw__watch_remove(h->loop, &u->w);
  close(u->w.fd);
  u->w.fd = -1;
  u->recv_cb = NULL;
  if (u->owed || !tw_queue_empty(&u->sq)) tw__pending_push(h->loop, &u->pend);
}

/* tw_loop_close(): a receiving handle hears -ECANCELED, like any watcher. */
static void udp_cancel(tw_handle *h) {
  struct tw_udp *u = (struct tw_udp *)h;
  if (!u->recv_cb) return;
  tw_udp_recv_cb cb = u->recv_cb;
  u->recv_cb = NULL;
  update(u);
  cb(u, -ECANCELED, NULL, 0, NULL);
}

static void udp_free(tw_handle *h) {
  struct tw_udp *u = (struct tw_udp *)h;
  tw__pending_cancel(&u->pend);
  while (!tw_queue_empty(&u->sq)) free(tw_queue_entry(tw_queue_pop(&u->sq), sreq, q));
  free(u->ring);
  free(u->buf);
  free(u);
}

int tw_udp_new(tw_loop *loop, tw_udp **out, int family, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (family != AF_INET && family != AF_INET6) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  struct tw_udp *u = calloc(1, sizeof *u);
  if (!u) return -ENOMEM;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    free(u);
    return -e;
  }
  tw__handle_init(loop, &u->h, &udp_ops, data);
  tw__watch_init(&u->w, fd, on_io);
  tw_queue_init(&u->pend.q);
  u->pend.cb = on_pending;
  tw_queue_init(&u->sq);
  u->family = family;
  *out = u;
  return 0;
}

static int check_addr(const struct tw_udp *u, const struct sockaddr *addr, socklen_t *len) {
  if (tw__sockaddr_len(addr, len) || addr->sa_family != u->family) return -EINVAL;
  return 0;
}

int tw_udp_bind(tw_udp *u, const struct sockaddr *addr) {
  int err = tw__handle_usable(u, &udp_ops);
  if (err) return err;
  socklen_t len;
  if (check_addr(u, addr, &len)) return -EINVAL;
  return bind(u->w.fd, addr, len) < 0 ? -errno : 0;
}

int tw_udp_connect(tw_udp *u, const struct sockaddr *addr) {
  int err = tw__handle_usable(u, &udp_ops);
  if (err) return err;
  socklen_t len;
  if (check_addr(u, addr, &len)) return -EINVAL;
  if (connect(u->w.fd, addr, len) < 0) return -errno;
  u->connected = 1;
  return 0;
}

int tw_udp_send(tw_udp *u, const void *buf, size_t len, const struct sockaddr *to,
                tw_udp_send_cb cb) {
  int err = tw__handle_usable(u, &udp_ops);
  if (err) return err;
  socklen_t alen = 0;
  if (!buf && len) return -EINVAL;
  if (to && check_addr(u, to, &alen)) return -EINVAL;
  if (!to && !u->connected) return -EDESTADDRREQ;
  if (cb && (err = ring_reserve(u))) return err;
  if (tw_queue_empty(&u->sq)) {
    ssize_t n = send_one(u->w.fd, buf, len, to, alen);
    if (n >= 0 || errno != EAGAIN) {
      /* Gone, or refused for good (-ECONNREFUSED, -EMSGSIZE, -ENOBUFS...). */
      if (cb) {
        u->owed++;
        ring_push(u, cb, n < 0 ? -errno : 0);
      }
      kick(u, cb != NULL);
      return 0;
    }
  }
  sreq *r = malloc(sizeof *r + len);
  if (!r) return -ENOMEM;
  r->cb = cb;
  r->len = len;
  r->alen = alen;
  if (to) memcpy(&r->to, to, alen);
  if (len) memcpy(r->data, buf, len);
  tw_queue_push(&u->sq, &r->q);
  if (cb) u->owed++;
  kick(u, 0);
  return 0;
}

int tw_udp_recv_start(tw_udp *u, tw_udp_recv_cb cb) {
  int err = tw__handle_usable(u, &udp_ops);
  if (err) return err;
  if (!cb) return -EINVAL;
  if (!u->buf && !(u->buf = malloc(TW_UDP_BUF))) return -ENOMEM;
  u->recv_cb = cb;
  kick(u, 0);
  return 0;
}

int tw_udp_recv_stop(tw_udp *u) {
  int err = tw__handle_check(u, &udp_ops);
  if (err) return err;
  if (closing(u)) return 0;
  u->recv_cb = NULL;
  kick(u, 0);
  return 0;
}

int tw_udp_sockname(const tw_udp *u, struct sockaddr_storage *out) {
  if (tw__handle_check(u, &udp_ops) || !out) return -EINVAL;
  if (u->w.fd < 0) return -EBADF;
  return tw__sockaddr_of(u->w.fd, 0, out);
}

int tw_udp_fd(const tw_udp *u) {
  if (tw__handle_check(u, &udp_ops)) return -EINVAL;
  return u->w.fd >= 0 ? u->w.fd : -EBADF;
}
