/* route.c: routes and interfaces from the kernel, over rtnetlink.
 *
 * One NETLINK_ROUTE socket per loop, non-blocking and watched like any
 * other fd. Each request carries a sequence number; answers are matched to
 * their transaction by it, so several lookups can be in flight. The kernel
 * answers RTM_GETROUTE from its tables at once, so a lookup completes in
 * the next I/O pass. The same parsing serves tw_route_get_sync(), which
 * opens its own socket and blocks on the answer. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <trawl/route.h>

#include "route-int.h"

#define NL_BUF 65536

typedef struct nltx {
  tw_queue q;
  uint32_t seq;
  tw_nl_msg_fn on_msg;
  tw_nl_done_fn done;
  void *ctx;
} nltx;

struct tw_routestate {
  tw_loop *loop;
  int fd;
  tw_watch w;
  uint32_t seq;
  tw_queue txs; /* transactions waiting for an answer */
  uint8_t *buf;
  tw_atclose at;
};

/* ---- the socket ---------------------------------------------------------- */

static int nl_open(int nonblock) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                  NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static nltx *tx_find(struct tw_routestate *s, uint32_t seq) {
  for (tw_queue *e = s->txs.next; e != &s->txs; e = e->next) {
    nltx *t = tw_queue_entry(e, nltx, q);
    if (t->seq == seq) return t;
  }
  return NULL;
}

static void tx_end(struct tw_routestate *s, nltx *t, int status) {
  tw_queue_remove(&t->q);
  tw_nl_done_fn done = t->done;
  void *ctx = t->ctx;
  free(t);
  if (tw_queue_empty(&s->txs)) tw__watch_set(s->loop, &s->w, 0);
  done(ctx, status);
}

static void nl_ready(tw_watch *w, int events) {
  struct tw_routestate *s = (struct tw_routestate *)((char *)w - offsetof(struct tw_routestate, w));
  for (;;) {
    ssize_t n = recv(s->fd, s->buf, NL_BUF, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t left = (size_t)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)s->buf; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      nltx *t = tx_find(s, h->nlmsg_seq);
      if (!t) continue; /* forgotten, or not ours */
      if (h->nlmsg_type == NLMSG_DONE) {
        tx_end(s, t, 0);
      } else if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        int err = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? e->error : -EPROTO;
        tx_end(s, t, err);
      } else {
        t->on_msg(t->ctx, h);
        if (!(h->nlmsg_flags & NLM_F_MULTI)) tx_end(s, t, 0);
      }
    }
  }
}

static void routestate_free(tw_loop *loop, tw_atclose *a) {
  struct tw_routestate *s = loop->route;
  tw__watch_remove(loop, &s->w);
  close(s->fd);
  while (!tw_queue_empty(&s->txs)) { /* their requests were cancelled */
    nltx *t = tw_queue_entry(s->txs.next, nltx, q);
    tw_queue_remove(&t->q);
    free(t);
  }
  free(s->buf);
  free(s);
  loop->route = NULL;
}

static int routestate_get(tw_loop *loop, struct tw_routestate **out) {
  if (!loop->route) {
    struct tw_routestate *s = calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    s->buf = malloc(NL_BUF);
    s->fd = s->buf ? nl_open(1) : -ENOMEM;
    if (s->fd < 0) {
      int err = s->fd;
      free(s->buf);
      free(s);
      return err;
    }
    s->loop = loop;
    tw_queue_init(&s->txs);
    tw__watch_init(&s->w, s->fd, nl_ready);
    tw__atclose(loop, &s->at, routestate_free);
    loop->route = s;
  }
  *out = loop->route;
  return 0;
}

int tw__nl_request(tw_loop *loop, struct nlmsghdr *msg, tw_nl_msg_fn on_msg,
                   tw_nl_done_fn done, void *ctx, uint32_t *seq) {
  struct tw_routestate *s;
  int err = routestate_get(loop, &s);
  if (err) return err;
  nltx *t = calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  msg->nlmsg_seq = ++s->seq;
  msg->nlmsg_pid = 0;
  struct sockaddr_nl to = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(s->fd, msg, msg->nlmsg_len, 0, (struct sockaddr *)&to, sizeof to);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    free(t);
    return -e;
  }
  t->seq = msg->nlmsg_seq;
  t->on_msg = on_msg;
  t->done = done;
  t->ctx = ctx;
  tw_queue_push(&s->txs, &t->q);
  tw__watch_set(loop, &s->w, TW_READABLE);
  *seq = t->seq;
  return 0;
}

void tw__nl_forget(tw_loop *loop, uint32_t seq) {
  struct tw_routestate *s = loop->route;
  if (!s) return;
  nltx *t = tx_find(s, seq);
  if (!t) return;
  tw_queue_remove(&t->q);
  free(t);
  if (tw_queue_empty(&s->txs)) tw__watch_set(loop, &s->w, 0);
}

int tw__nl_attr(struct nlmsghdr *h, size_t cap, int type, const void *data, size_t len) {
  size_t off = NLMSG_ALIGN(h->nlmsg_len);
  if (off + RTA_SPACE(len) > cap) return -ENOBUFS;
  struct rtattr *a = (struct rtattr *)((char *)h + off);
  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
  return 0;
}

/* ---- interfaces ------------------------------------------------------------ */

int tw_iface_get(const char *ifname, int ifindex, tw_iface *out) {
  if (!out || (!ifname && ifindex <= 0) || (ifname && strlen(ifname) >= IF_NAMESIZE))
    return -EINVAL;
  memset(out, 0, sizeof *out);
  char name[IF_NAMESIZE];
  if (ifname) {
    strcpy(name, ifname);
    ifindex = (int)if_nametoindex(name);
    if (!ifindex) return -ENODEV;
  } else if (!if_indextoname((unsigned)ifindex, name)) {
    return -ENODEV;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  int err = 0;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    err = -errno;
  } else {
    out->arptype = ifr.ifr_hwaddr.sa_family;
    if (out->arptype == ARPHRD_ETHER) {
      memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
      out->has_mac = 1;
    }
    if (ioctl(fd, SIOCGIFMTU, &ifr) == 0) out->mtu = (uint32_t)ifr.ifr_mtu;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) out->flags = (unsigned)(unsigned short)ifr.ifr_flags;
  }
  close(fd);
  if (err) return err == -ENODEV || err == -ENXIO ? -ENODEV : err;
  out->ifindex = ifindex;
  strcpy(out->name, name);
  return 0;
}

/* ---- routes ------------------------------------------------------------------ */

typedef struct route_msg {
  struct nlmsghdr h;
  struct rtmsg rt;
  char attrs[64];
} route_msg;

static int route_msg_build(route_msg *m, const tw_pkt_addr *dst) {
  if (!dst || (dst->family != AF_INET && dst->family != AF_INET6)) return -EINVAL;
  memset(m, 0, sizeof *m);
  m->h.nlmsg_len = NLMSG_LENGTH(sizeof m->rt);
  m->h.nlmsg_type = RTM_GETROUTE;
  m->h.nlmsg_flags = NLM_F_REQUEST;
  m->rt.rtm_family = (unsigned char)dst->family;
  size_t alen = dst->family == AF_INET ? 4 : 16;
  m->rt.rtm_dst_len = (unsigned char)(alen * 8);
  return tw__nl_attr(&m->h, sizeof *m, RTA_DST, dst->b, alen);
}

static void addr_from(tw_pkt_addr *a, int family, const void *p, size_t len) {
  memset(a, 0, sizeof *a);
  size_t want = family == AF_INET ? 4 : 16;
  if (len < want) return;
  a->family = (uint16_t)family;
  memcpy(a->b, p, want);
}

/* Fill r from an RTM_NEWROUTE answer about r->dst. */
static int route_parse(const struct nlmsghdr *h, tw_route *r) {
  if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
    return -EPROTO;
  const struct rtmsg *rt = NLMSG_DATA(h);
  int family = rt->rtm_family;
  r->type = rt->rtm_type;
  int len = (int)RTM_PAYLOAD(h);
  for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    size_t alen = RTA_PAYLOAD(a);
    switch (a->rta_type) {
    case RTA_OIF:
      if (alen >= 4) memcpy(&r->ifindex, RTA_DATA(a), 4);
      break;
    case RTA_PREFSRC:
      addr_from(&r->src, family, RTA_DATA(a), alen);
      break;
    case RTA_GATEWAY:
      addr_from(&r->gateway, family, RTA_DATA(a), alen);
      break;
    case RTA_VIA: { /* a gateway of the other family (IPv4 via IPv6) */
      const struct rtvia *v = RTA_DATA(a);
      if (alen >= sizeof *v)
        addr_from(&r->gateway, v->rtvia_family, v->rtvia_addr, alen - sizeof *v);
      break;
    }
    case RTA_METRICS: {
      int mlen = (int)alen;
      for (const struct rtattr *m = RTA_DATA(a); RTA_OK(m, mlen); m = RTA_NEXT(m, mlen))
        if (m->rta_type == RTAX_MTU && RTA_PAYLOAD(m) >= 4) memcpy(&r->mtu, RTA_DATA(m), 4);
      break;
    }
    }
  }
  switch (r->type) {
  case RTN_UNREACHABLE:
  case RTN_BLACKHOLE:
  case RTN_PROHIBIT:
  case RTN_THROW:
    return -EHOSTUNREACH;
  }
  if (!r->ifindex) return -ENETUNREACH;
  r->nexthop = r->gateway.family ? r->gateway : r->dst;
  if (!if_indextoname((unsigned)r->ifindex, r->ifname)) r->ifname[0] = 0;
  if (!r->mtu) {
    tw_iface ifc;
    if (tw_iface_get(NULL, r->ifindex, &ifc) == 0) r->mtu = ifc.mtu;
  }
  return 0;
}

int tw_route_get_sync(const tw_pkt_addr *dst, tw_route *out) {
  if (!out) return -EINVAL;
  memset(out, 0, sizeof *out);
  route_msg m;
  int err = route_msg_build(&m, dst);
  if (err) return err;
  out->dst = *dst;
  int fd = nl_open(0);
  if (fd < 0) return fd;
  m.h.nlmsg_seq = 1;
  struct timeval tv = {.tv_sec = 2}; /* the kernel answers at once; never hang */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  err = -EPROTO;
  if (send(fd, &m, m.h.nlmsg_len, 0) < 0) {
    err = -errno;
  } else {
    uint8_t buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) err = -errno;
    size_t left = n > 0 ? (size_t)n : 0;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != 1) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        err = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error ? e->error : -EPROTO;
      } else {
        err = route_parse(h, out);
      }
      break;
    }
  }
  close(fd);
  return err;
}

/* The asynchronous form: a request finished by the netlink answer. */
typedef struct route_req {
  tw_req req;
  tw_pending pend; /* -ECANCELED */
  tw_route r;
  int status;
  int answered;
  uint32_t seq;
  tw_route_cb cb;
} route_req;

static void route_msg_cb(void *ctx, const struct nlmsghdr *h) {
  route_req *q = ctx;
  q->status = route_parse(h, &q->r);
  q->answered = 1;
}

static void route_done(void *ctx, int status) {
  route_req *q = ctx;
  if (!q->answered) q->status = status ? status : -EPROTO;
  tw__req_done(&q->req);
  q->cb(&q->req, q->status, q->status ? NULL : &q->r, q->req.data);
  tw__req_free(&q->req);
}

static void route_cancelled(tw_pending *p) {
  route_req *q = (route_req *)((char *)p - offsetof(route_req, pend));
  tw__req_done(&q->req);
  q->cb(&q->req, -ECANCELED, NULL, q->req.data);
  tw__req_free(&q->req);
}

static int route_cancel(tw_req *req) {
  route_req *q = (route_req *)req;
  tw__nl_forget(req->loop, q->seq);
  tw__pending_push(req->loop, &q->pend);
  return 0;
}

int tw_route_get(tw_loop *loop, tw_req **req, const tw_pkt_addr *dst, tw_route_cb cb,
                 void *data) {
  if (req) *req = NULL;
  if (!loop || !cb) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  route_msg m;
  int err = route_msg_build(&m, dst);
  if (err) return err;
  route_req *q = calloc(1, sizeof *q);
  if (!q) return -ENOMEM;
  q->r.dst = *dst;
  q->cb = cb;
  q->pend.cb = route_cancelled;
  err = tw__nl_request(loop, &m.h, route_msg_cb, route_done, q, &q->seq);
  if (err) {
    free(q);
    return err;
  }
  tw__req_init(loop, &q->req, 0, route_cancel, data);
  if (req) *req = &q->req;
  return 0;
}
