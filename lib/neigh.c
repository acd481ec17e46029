/* neigh.c: a next hop's MAC address — from the kernel, or from the link.
 *
 * Sending Ethernet frames ourselves means knowing the next hop's MAC. The
 * kernel usually knows it already (its neighbour table, read over
 * rtnetlink); when it does not, we ask the link the way the kernel would:
 * an ARP request (IPv4) or a neighbour solicitation to the solicited-node
 * multicast address (IPv6), sent with rawsend.h and answered through the
 * dispatcher, a few times with a timeout each.
 *
 * A resolution is one request that goes through steps (kernel table,
 * route for our source address, solicitations); at every moment exactly
 * one step is outstanding, and cancelling cancels that step, whose
 * callback then ends the resolution. tw_path_resolve() chains a route
 * lookup and a resolution the same way. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>
#include <trawl/rawsend.h>
#include <trawl/route.h>

#include "route-int.h"

#define DEFAULT_TIMEOUT (300ull * 1000000ull)
#define DEFAULT_TRIES 3

enum { ST_KERNEL = 1, ST_ROUTE, ST_ASK, ST_END };

typedef struct neigh_req {
  tw_req req;
  tw_pending pend;   /* ends a cancelled kernel-table step */
  int state;
  int cancelled;
  int ifindex;
  tw_pkt_addr target, src;
  tw_iface ifc;
  tw_neigh_opts o;
  int tries_left;
  uint32_t nl_seq;
  tw_req *step;      /* the outstanding route lookup or wait */
  tw_capture *cap;
  tw_rawsock *rs;
  int found;
  uint8_t mac[6];
  tw_neigh_cb cb;
} neigh_req;

static void finish(neigh_req *q, int status) {
  q->state = ST_END;
  if (q->cap) tw_capture_release(q->cap);
  if (q->rs && q->rs != q->o.eth) tw_close(q->rs, NULL); /* the caller's stays open */
  q->cap = NULL;
  q->rs = NULL;
  tw__req_done(&q->req);
  q->cb(&q->req, status, status == 0 ? q->mac : NULL, q->req.data);
  tw__req_free(&q->req);
}

/* ---- asking the link ------------------------------------------------------- */

static void on_answer(tw_req *w, int status, const tw_rx *rx, void *data);

static int ask(neigh_req *q) {
  uint8_t frame[128];
  int v6 = q->target.family == AF_INET6;
  const uint8_t *mac = q->o.src_mac ? q->o.src_mac : q->ifc.mac;
  int n = v6 ? tw_pkt_ns_request(frame, sizeof frame, mac, &q->src.v6, &q->target.v6)
             : tw_pkt_arp_request(frame, sizeof frame, mac, q->src.v4, q->target.v4);
  if (n < 0) return n;
  tw_match m;
  memset(&m, 0, sizeof m);
  if (v6) {
    /* Neighbour advertisements on this link; the target is checked in
     * on_answer (the answer's source may be another of its addresses). */
    m.fields = TW_M_IFINDEX | TW_M_PROTO | TW_M_ICMP_TYPE;
    m.proto = IPPROTO_ICMPV6;
    m.icmp_type = 136;
  } else {
    /* Any ARP packet from the target tells its MAC (a reply, or its own
     * request crossing ours). */
    m.fields = TW_M_IFINDEX | TW_M_ETHERTYPE | TW_M_SRC;
    m.ethertype = TW_ETH_ARP;
    m.src = q->target;
  }
  m.ifindex = q->ifindex;
  int err = tw_wait(q->req.loop, &q->step, &m, 0, q->o.timeout_ns, on_answer, q);
  if (err) return err;
  /* A send error is like a lost request: the timeout retries. */
  if (tw_rawsend(q->rs, frame, (size_t)n, NULL, NULL) == 0) tw_rawsend_flush(q->rs);
  q->tries_left--;
  return 0;
}

/* The target address of a neighbour advertisement, and its MAC: the
 * target link-layer option, else the frame's Ethernet source. */
static int na_says(const tw_rx *rx, const tw_pkt_addr *target, uint8_t mac[6]) {
  const tw_frame *f = rx->frame;
  size_t off = rx->l4_off;
  if (!off || f->caplen < off + 24) return 0;
  const uint8_t *p = f->data + off;
  if (memcmp(p + 8, target->b, 16) != 0) return 0;
  if (f->linktype == TW_LINK_ETH && rx->l3_off >= 14) memcpy(mac, f->data + 6, 6);
  for (size_t o = off + 24; o + 8 <= f->caplen;) {
    const uint8_t *opt = f->data + o;
    size_t olen = (size_t)opt[1] * 8;
    if (olen == 0 || o + olen > f->caplen) break;
    if (opt[0] == 2 && olen >= 8) memcpy(mac, opt + 2, 6);
    o += olen;
  }
  return 1;
}

static void on_answer(tw_req *w, int status, const tw_rx *rx, void *data) {
  neigh_req *q = data;
  if (q->state != ST_ASK) return;
  if (status == 0) {
    uint8_t mac[6] = {0};
    if (q->target.family == AF_INET6) {
      if (!na_says(rx, &q->target, mac)) return;
    } else {
      memcpy(mac, rx->arp_sha, 6);
    }
    memcpy(q->mac, mac, 6);
    q->found = 1;
    /* End the wait; it still holds q, so we finish when it reports back
     * (-ECANCELED, below), never before. */
    tw_cancel(w);
    q->step = NULL;
    return;
  }
  q->step = NULL;
  if (q->found) {
    finish(q, 0);
  } else if (status == -ETIMEDOUT && !q->cancelled && q->tries_left > 0) {
    int err = ask(q);
    if (err) finish(q, err);
  } else {
    finish(q, status == -ETIMEDOUT ? -EHOSTUNREACH : status);
  }
}

static void start_asking(neigh_req *q) {
  q->state = ST_ASK;
  int err = tw_capture_open(q->req.loop, &q->cap, q->ifc.name, 0);
  if (!err) {
    if (q->o.eth) q->rs = q->o.eth;
    else err = tw_rawsock_new(q->req.loop, &q->rs, TW_RAW_ETH, q->ifc.name, 0, NULL);
  }
  if (!err) err = ask(q);
  if (err) finish(q, err);
}

static void on_route(tw_req *r, int status, const tw_route *rt, void *data) {
  neigh_req *q = data;
  q->step = NULL;
  if (status < 0) {
    finish(q, status);
  } else if (q->cancelled) {
    finish(q, -ECANCELED);
  } else {
    q->src = rt->src;
    if (q->src.family != q->target.family) finish(q, -EADDRNOTAVAIL);
    else start_asking(q);
  }
}

static void need_src(neigh_req *q) {
  if (q->src.family) {
    start_asking(q);
    return;
  }
  q->state = ST_ROUTE;
  int err = tw_route_get(q->req.loop, &q->step, &q->target, on_route, q);
  if (err) finish(q, err);
}

/* ---- the kernel's table ------------------------------------------------------ */

static void neigh_msg(void *ctx, const struct nlmsghdr *h) {
  neigh_req *q = ctx;
  if (h->nlmsg_type != RTM_NEWNEIGH || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg)))
    return;
  const struct ndmsg *nd = NLMSG_DATA(h);
  if (nd->ndm_ifindex != q->ifindex || nd->ndm_family != q->target.family) return;
  if (!(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)))
    return;
  size_t alen = q->target.family == AF_INET ? 4 : 16;
  int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *nd));
  int dst_ok = 0, have_mac = 0;
  uint8_t mac[6];
  for (const struct rtattr *a = (const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof *nd));
       RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == alen)
      dst_ok = memcmp(RTA_DATA(a), q->target.b, alen) == 0;
    else if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
      memcpy(mac, RTA_DATA(a), 6);
      have_mac = 1;
    }
  }
  if (dst_ok && have_mac) {
    memcpy(q->mac, mac, 6);
    q->found = 1;
  }
}

static void neigh_done(void *ctx, int status) {
  neigh_req *q = ctx;
  if (q->found) finish(q, 0);
  else need_src(q); /* not known (or the table could not be read): ask */
}

static void kernel_cancelled(tw_pending *p) {
  neigh_req *q = (neigh_req *)((char *)p - offsetof(neigh_req, pend));
  finish(q, -ECANCELED);
}

static int neigh_cancel(tw_req *req) {
  neigh_req *q = (neigh_req *)req;
  q->cancelled = 1;
  if (q->state == ST_KERNEL) {
    tw__nl_forget(req->loop, q->nl_seq);
    tw__pending_push(req->loop, &q->pend);
  } else if (q->step) {
    tw_cancel(q->step); /* its callback ends us with -ECANCELED */
  }
  return 0;
}

int tw_neigh_resolve(tw_loop *loop, tw_req **req, int ifindex, const tw_pkt_addr *addr,
                     const tw_neigh_opts *opts, tw_neigh_cb cb, void *data) {
  if (req) *req = NULL;
  if (!loop || !addr || !cb || ifindex <= 0) return -EINVAL;
  if (addr->family != AF_INET && addr->family != AF_INET6) return -EINVAL;
  if (opts && opts->src.family && opts->src.family != addr->family) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  neigh_req *q = calloc(1, sizeof *q);
  if (!q) return -ENOMEM;
  int err = tw_iface_get(NULL, ifindex, &q->ifc);
  if (err) {
    free(q);
    return err;
  }
  if (!q->ifc.has_mac) {
    free(q);
    return -ENOTSUP;
  }
  if (opts) q->o = *opts;
  if (!q->o.timeout_ns) q->o.timeout_ns = DEFAULT_TIMEOUT;
  if (q->o.tries <= 0) q->o.tries = DEFAULT_TRIES;
  q->tries_left = q->o.tries;
  q->ifindex = ifindex;
  q->target = *addr;
  q->src = q->o.src;
  q->cb = cb;
  q->pend.cb = kernel_cancelled;
  tw__req_init(loop, &q->req, 0, neigh_cancel, data);
  if (req) *req = &q->req;
  if (q->o.skip_kernel) {
    need_src(q); /* errors end the request through its callback */
    return 0;
  }
  struct {
    struct nlmsghdr h;
    struct ndmsg nd;
  } m;
  memset(&m, 0, sizeof m);
  m.h.nlmsg_len = NLMSG_LENGTH(sizeof m.nd);
  m.h.nlmsg_type = RTM_GETNEIGH;
  m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  m.nd.ndm_family = (uint8_t)addr->family;
  m.nd.ndm_ifindex = ifindex;
  q->state = ST_KERNEL;
  err = tw__nl_request(loop, &m.h, neigh_msg, neigh_done, q, &q->nl_seq);
  if (err) need_src(q);
  return 0;
}

/* ---- route + neighbour ---------------------------------------------------- */

typedef struct path_req {
  tw_req req;
  tw_path p;
  tw_neigh_opts o;
  int has_opts;
  int cancelled;
  tw_req *step;
  tw_path_cb cb;
} path_req;

static void path_finish(path_req *q, int status) {
  tw__req_done(&q->req);
  q->cb(&q->req, status, status == 0 ? &q->p : NULL, q->req.data);
  tw__req_free(&q->req);
}

static void path_neigh(tw_req *r, int status, const uint8_t mac[6], void *data) {
  path_req *q = data;
  q->step = NULL;
  if (status == 0) memcpy(q->p.dst_mac, mac, 6);
  path_finish(q, status);
}

static void path_route(tw_req *r, int status, const tw_route *rt, void *data) {
  path_req *q = data;
  q->step = NULL;
  if (status < 0 || q->cancelled) {
    path_finish(q, status < 0 ? status : -ECANCELED);
    return;
  }
  q->p.route = *rt;
  tw_iface ifc;
  int err = tw_iface_get(NULL, rt->ifindex, &ifc);
  if (err) {
    path_finish(q, err);
    return;
  }
  if (!ifc.has_mac) { /* loopback, tun: frames carry no (or all-zero) MACs */
    q->p.l2 = ifc.arptype == ARPHRD_LOOPBACK;
    path_finish(q, 0);
    return;
  }
  q->p.l2 = 1;
  memcpy(q->p.src_mac, ifc.mac, 6);
  tw_neigh_opts o = q->o;
  if (!o.src.family) o.src = rt->src;
  err = tw_neigh_resolve(r->loop, &q->step, rt->ifindex, &rt->nexthop, &o, path_neigh, q);
  if (err) path_finish(q, err);
}

static int path_cancel(tw_req *req) {
  path_req *q = (path_req *)req;
  q->cancelled = 1;
  if (q->step) tw_cancel(q->step);
  return 0;
}

int tw_path_resolve(tw_loop *loop, tw_req **req, const tw_pkt_addr *dst,
                    const tw_neigh_opts *opts, tw_path_cb cb, void *data) {
  if (req) *req = NULL;
  if (!loop || !dst || !cb) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  path_req *q = calloc(1, sizeof *q);
  if (!q) return -ENOMEM;
  if (opts) q->o = *opts;
  q->cb = cb;
  int err = tw_route_get(loop, &q->step, dst, path_route, q);
  if (err) {
    free(q);
    return err;
  }
  tw__req_init(loop, &q->req, 0, path_cancel, data);
  if (req) *req = &q->req;
  return 0;
}
