/* rawsend.c: batched sending of raw IP packets and Ethernet frames.
 *
 * A scan sends many small packets; one system call each would cap the rate
 * well below what the kernel can take. So packets are copied into a batch
 * (an arena of bytes plus a ready-made mmsghdr per packet) and handed over
 * with one sendmmsg(2): when the batch is full, when the caller flushes,
 * or from a prepare hook just before the loop waits, which is the last
 * moment before the caller's work for this iteration is done.
 *
 * sendmmsg stops at the first packet the kernel refuses: that packet alone
 * gets the error and the rest of the batch goes on. EAGAIN keeps the batch
 * and waits for the socket to be writable. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <trawl/rawsend.h>

#include "loop-int.h"

#define BATCH 256
#define ARENA (256u * 1024u)

typedef struct slot {
  tw_rawsend_cb cb;
  void *tag;
} slot;

struct tw_rawsock {
  tw_handle h;
  tw_watch w;
  tw_pending pend;   /* -ECANCELED for what close could not send */
  tw_hook *hook;     /* flushes before the loop waits */
  int fd;
  int kind;
  unsigned flags;
  unsigned head;     /* first packet not yet sent */
  unsigned count;    /* packets in the batch */
  size_t used;       /* arena bytes in use */
  uint8_t *arena;
  tw_rawsend_stats st;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } addr[BATCH];
  slot slots[BATCH];
};

static uint64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void batch_reset_if_empty(struct tw_rawsock *rs) {
  if (rs->head == rs->count) rs->head = rs->count = 0, rs->used = 0;
}

/* Send from head on. Returns packets taken, or -EAGAIN / -errno if none. */
static int do_flush(struct tw_rawsock *rs) {
  int total = 0, again = 0;
  while (rs->head < rs->count) {
    /* The clock is read before the call: on a veth the answer can be
     * received (and stamped) before sendmmsg even returns. So sent_ns is
     * when the batch was handed over, never later than a packet left. */
    uint64_t now = realtime_ns();
    int n = sendmmsg(rs->fd, rs->msgs + rs->head, rs->count - rs->head, 0);
    if (n > 0) {
      rs->st.batches++;
      rs->st.last_ns = now;
      for (unsigned i = rs->head; i < rs->head + (unsigned)n; i++) {
        rs->st.bytes += rs->iov[i].iov_len;
        if (rs->slots[i].cb) rs->slots[i].cb(rs, 0, now, rs->slots[i].tag);
      }
      rs->st.sent += (uint64_t)n;
      rs->head += (unsigned)n;
      total += n;
      continue;
    }
    int e = n < 0 ? errno : EAGAIN;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      again = 1;
      break;
    }
    /* The head packet was refused; report it and go on with the rest. */
    slot s = rs->slots[rs->head++];
    rs->st.failed++;
    if (s.cb) s.cb(rs, -e, 0, s.tag);
  }
  batch_reset_if_empty(rs);
  if (again) {
    tw__watch_set(rs->h.loop, &rs->w, TW_WRITABLE);
    if (!total) return -EAGAIN;
  } else {
    tw__watch_set(rs->h.loop, &rs->w, 0);
  }
  return total;
}

static void on_writable(tw_watch *w, int events) {
  struct tw_rawsock *rs = (struct tw_rawsock *)((char *)w - offsetof(struct tw_rawsock, w));
  do_flush(rs);
}

static void on_prepare(tw_hook *k, int status) {
  struct tw_rawsock *rs = tw_data(k);
  if (status == 0 && rs->count > rs->head) do_flush(rs);
  if (rs->count == rs->head) tw_hook_stop(k);
}

/* ---- the handle --------------------------------------------------------- */

static void cancel_rest(tw_pending *p) {
  struct tw_rawsock *rs = (struct tw_rawsock *)((char *)p - offsetof(struct tw_rawsock, pend));
  while (rs->head < rs->count) {
    slot s = rs->slots[rs->head++];
    if (s.cb) s.cb(rs, -ECANCELED, 0, s.tag);
  }
}

static void rs_close(tw_handle *h) {
  struct tw_rawsock *rs = (struct tw_rawsock *)h;
  /* Closing a socket sends what it was given: one last try, no waiting.
   * Its callbacks run now, inside tw_close(); what is left is cancelled
   * on the next pass. */
  if (rs->count > rs->head) do_flush(rs);
  tw__watch_remove(h->loop, &rs->w);
  if (rs->hook) tw_close(rs->hook, NULL);
  rs->hook = NULL;
  if (rs->count > rs->head) tw__pending_push(h->loop, &rs->pend);
}

static void rs_free(tw_handle *h) {
  struct tw_rawsock *rs = (struct tw_rawsock *)h;
  if (rs->fd >= 0) close(rs->fd);
  free(rs->arena);
  free(rs);
}

static const tw_handle_ops rs_ops = {"rawsock", rs_close, NULL, rs_free};

static int open_socket(struct tw_rawsock *rs, const char *ifname) {
  int one = 1;
  unsigned ifindex = 0;
  if (ifname) {
    ifindex = if_nametoindex(ifname);
    if (!ifindex) return -ENODEV;
  }
  switch (rs->kind) {
  case TW_RAW_IP4:
    rs->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (rs->fd < 0) return -errno;
    if (setsockopt(rs->fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) return -errno;
    break;
  case TW_RAW_IP6:
    /* IPPROTO_RAW on IPv6 means the header is ours (IPV6_HDRINCL). */
    rs->fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (rs->fd < 0) return -errno;
    break;
  case TW_RAW_ETH: {
    if (!ifindex) return -EINVAL;
    /* Protocol 0: a send-only socket, nothing is ever queued to it. */
    rs->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (rs->fd < 0) return -errno;
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)ifindex;
    if (bind(rs->fd, (struct sockaddr *)&sll, sizeof sll) < 0) return -errno;
    if ((rs->flags & TW_RAW_QDISC_BYPASS) &&
        setsockopt(rs->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
      return -errno;
    break;
  }
  default:
    return -EINVAL;
  }
  if (ifname && rs->kind != TW_RAW_ETH &&
      setsockopt(rs->fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0)
    return -errno;
  int sndbuf = 4 << 20;
  setsockopt(rs->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  return 0;
}

int tw_rawsock_new(tw_loop *loop, tw_rawsock **out, int kind, const char *ifname,
                   unsigned flags, void *data) {
  if (out) *out = NULL;
  if (!loop || !out || (ifname && strlen(ifname) >= IF_NAMESIZE)) return -EINVAL;
  if (flags & ~(unsigned)TW_RAW_QDISC_BYPASS) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  struct tw_rawsock *rs = calloc(1, sizeof *rs);
  if (!rs) return -ENOMEM;
  rs->fd = -1;
  rs->kind = kind;
  rs->flags = flags;
  rs->arena = malloc(ARENA);
  int err = rs->arena ? open_socket(rs, ifname) : -ENOMEM;
  if (!err) err = tw_hook_new(loop, &rs->hook, TW_HOOK_PREPARE, rs);
  if (err) {
    rs_free(&rs->h);
    return err;
  }
  /* The hook belongs to this socket: loop teardown leaves it to us. */
  ((tw_handle *)rs->hook)->flags |= TW_HF_INTERNAL;
  tw__handle_init(loop, &rs->h, &rs_ops, data);
  tw__watch_init(&rs->w, rs->fd, on_writable);
  rs->pend.cb = cancel_rest;
  for (unsigned i = 0; i < BATCH; i++) {
    rs->msgs[i].msg_hdr.msg_iov = &rs->iov[i];
    rs->msgs[i].msg_hdr.msg_iovlen = 1;
  }
  *out = rs;
  return 0;
}

int tw_rawsend(tw_rawsock *rs, const void *buf, size_t len, tw_rawsend_cb cb, void *tag) {
  int err = tw__handle_usable(rs, &rs_ops);
  if (err) return err;
  if (!buf || len > 65535) return -EINVAL;
  const uint8_t *p = buf;
  switch (rs->kind) {
  case TW_RAW_IP4:
    if (len < 20 || p[0] >> 4 != 4) return -EINVAL;
    break;
  case TW_RAW_IP6:
    if (len < 40 || p[0] >> 4 != 6) return -EINVAL;
    break;
  default:
    if (len < 14) return -EINVAL;
  }
  batch_reset_if_empty(rs);
  if (rs->count == BATCH || rs->used + len > ARENA) {
    do_flush(rs);
    batch_reset_if_empty(rs);
    if (rs->count == BATCH || rs->used + len > ARENA) return -EAGAIN;
  }
  unsigned i = rs->count++;
  memcpy(rs->arena + rs->used, buf, len);
  rs->iov[i].iov_base = rs->arena + rs->used;
  rs->iov[i].iov_len = len;
  rs->used += (len + 7) & ~(size_t)7;
  struct msghdr *m = &rs->msgs[i].msg_hdr;
  if (rs->kind == TW_RAW_IP4) {
    memset(&rs->addr[i].v4, 0, sizeof rs->addr[i].v4);
    rs->addr[i].v4.sin_family = AF_INET;
    memcpy(&rs->addr[i].v4.sin_addr, p + 16, 4);
    m->msg_name = &rs->addr[i].v4;
    m->msg_namelen = sizeof rs->addr[i].v4;
  } else if (rs->kind == TW_RAW_IP6) {
    memset(&rs->addr[i].v6, 0, sizeof rs->addr[i].v6);
    rs->addr[i].v6.sin6_family = AF_INET6;
    memcpy(&rs->addr[i].v6.sin6_addr, p + 24, 16);
    m->msg_name = &rs->addr[i].v6;
    m->msg_namelen = sizeof rs->addr[i].v6;
  } else {
    m->msg_name = NULL; /* the bound interface */
    m->msg_namelen = 0;
  }
  rs->slots[i].cb = cb;
  rs->slots[i].tag = tag;
  if (rs->count == BATCH) do_flush(rs);
  else tw_hook_start(rs->hook, on_prepare);
  return 0;
}

int tw_rawsend_flush(tw_rawsock *rs) {
  int err = tw__handle_usable(rs, &rs_ops);
  if (err) return err;
  if (rs->head == rs->count) return 0;
  return do_flush(rs);
}

size_t tw_rawsend_queued(const tw_rawsock *rs) {
  return tw__handle_check(rs, &rs_ops) ? 0 : rs->count - rs->head;
}

int tw_rawsend_stats_get(const tw_rawsock *rs, tw_rawsend_stats *st) {
  if (tw__handle_check(rs, &rs_ops) || !st) return -EINVAL;
  *st = rs->st;
  return 0;
}

int tw_rawsock_fd(const tw_rawsock *rs) {
  return tw__handle_check(rs, &rs_ops) ? -EINVAL : rs->fd;
}
