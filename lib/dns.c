/* dns.c: tw_resolver, c-ares driven by the loop.
 *
 * c-ares never blocks and never waits by itself here: it tells us through
 * its socket-state callback which sockets it wants watched, we keep one
 * internal tw_watch per socket (a small fd table), and hand readiness to
 * ares_process_fd(). One internal timer, re-armed from ares_timeout(),
 * drives retries and timeouts.
 *
 * Each lookup is a tw_req backed by a query record. The record has two
 * owners: c-ares (until it calls our callback, which it always does, at
 * the latest from ares_destroy()) and the caller (until the caller's
 * callback has run). It is freed when both have let go. That is what makes
 * per-query cancel possible on c-ares 1.18, which cannot cancel one query:
 * a cancelled query delivers -ECANCELED at once and c-ares' later answer
 * is dropped.
 *
 * Results from c-ares are never handed to the caller from inside c-ares:
 * they are copied and delivered on the next pass through a tw_pending. So
 * a caller's callback may start lookups or close the resolver freely, and
 * a lookup c-ares answers synchronously (a numeric name, the hosts file)
 * still calls back from the loop, never from inside tw_resolve(). */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/dns.h>

#include "loop-int.h"

struct dns_sock {
  tw_watch w;
  struct tw_resolver *r;
};

struct tw_resolver {
  tw_handle h;
  ares_channel channel; /* NULL once closed */
  tw_timer *timer;      /* internal: c-ares' next timeout */
  tw_pending rearm;     /* recompute the timer once per pass */
  tw_queue queries;     /* dns_query records c-ares or the caller holds */
  struct dns_sock **socks; /* fd table: the sockets c-ares has open */
  size_t nsocks, capsocks;
};

enum { Q_RESOLVE = 1, Q_REVERSE = 2 };
enum {
  Q_ARES = 1,     /* c-ares still holds the record (its callback is due) */
  Q_QUEUED = 2,   /* a result or -ECANCELED is queued for the caller */
  Q_DELIVERED = 4 /* the caller's callback has run */
};

typedef struct dns_query {
  tw_req req; /* first: the caller's handle on the lookup */
  tw_pending done;
  tw_queue q; /* resolver->queries; unlinked when the resolver closes */
  int kind;
  unsigned state;
  int status;
  union {
    tw_resolve_cb resolve;
    tw_reverse_cb reverse;
  } cb;
  struct sockaddr_storage *addrs; /* Q_RESOLVE result */
  size_t naddrs;
  char *name; /* Q_REVERSE result */
} dns_query;

/* ---- c-ares library state ------------------------------------------------ */

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status = ARES_SUCCESS;

/* ares_library_init() is not thread-safe and only needs to run once per
 * process; it is never undone (other users of c-ares may share it). */
static void ares_init_once(void) { ares_init_status = ares_library_init(ARES_LIB_INIT_ALL); }

static int map_ares(int status) {
  switch (status) {
  case ARES_SUCCESS: return 0;
  case ARES_ENOTFOUND:
  case ARES_ENONAME: return TW_ENOTFOUND;
  case ARES_ENODATA: return TW_ENODATA;
  case ARES_ETIMEOUT: return -ETIMEDOUT;
  case ARES_ECANCELLED:
  case ARES_EDESTRUCTION: return -ECANCELED;
  case ARES_ENOMEM: return -ENOMEM;
  default: return TW_EDNS;
  }
}

/* ---- query records ------------------------------------------------------- */

static void result_free(dns_query *q) {
  free(q->addrs);
  q->addrs = NULL;
  q->naddrs = 0;
  free(q->name);
  q->name = NULL;
}

static void query_free(dns_query *q) {
  result_free(q);
  tw_queue_remove(&q->q); /* harmless if already unlinked */
  free(q);
}

/* The caller's callback, on the loop. */
static void query_deliver(tw_pending *p) {
  dns_query *q = tw_queue_entry(p, dns_query, done);
  /* Take the result out first: the callback may close the resolver, which
   * must not free what the callback is reading. */
  struct sockaddr_storage *addrs = q->addrs;
  size_t n = q->naddrs;
  char *name = q->name;
  q->addrs = NULL;
  q->naddrs = 0;
  q->name = NULL;
  int status = q->status;
  if (status == 0 && q->kind == Q_RESOLVE && n == 0) status = TW_ENODATA;
  tw__req_done(&q->req);
  if (q->kind == Q_RESOLVE)
    q->cb.resolve(&q->req, status, status == 0 ? addrs : NULL, status == 0 ? n : 0, q->req.data);
  else
    q->cb.reverse(&q->req, status, status == 0 ? name : NULL, q->req.data);
  free(addrs);
  free(name);
  q->state |= Q_DELIVERED;
  q->req.magic = TW_DEAD_MAGIC; /* a stale tw_cancel() now gets -EINVAL */
  if (!(q->state & Q_ARES)) query_free(q);
}

static void query_queue(tw_loop *loop, dns_query *q, int status) {
  q->status = status;
  q->state |= Q_QUEUED;
  tw__pending_push(loop, &q->done);
}

/* c-ares let go of q. Returns 1 if the answer is still wanted. */
static int query_ares_done(dns_query *q) {
  q->state &= ~(unsigned)Q_ARES;
  if (!(q->state & Q_QUEUED)) return 1;
  /* Cancelled: the answer is dropped; free q if the caller is done too. */
  if (q->state & Q_DELIVERED) query_free(q);
  return 0;
}

static int query_cancel(tw_req *req) {
  dns_query *q = (dns_query *)req;
  if (q->state & Q_QUEUED) {
    /* A result is queued but its callback has not run: the caller asked
     * first, so it hears -ECANCELED. */
    result_free(q);
    q->status = -ECANCELED;
    return 0;
  }
  query_queue(req->loop, q, -ECANCELED);
  return 0;
}

/* ---- driving c-ares: the timer and the socket table ---------------------- */

static void resolver_timeout(tw_timer *t, int status);

/* Point the internal timer at c-ares' next deadline. Done once per pass
 * (a tw_pending) rather than after each call: ares_timeout() walks every
 * outstanding query, so a scan starting thousands of lookups in one
 * callback would otherwise cost quadratic time. */
static void resolver_rearm(tw_pending *p) {
  struct tw_resolver *r = tw_queue_entry(p, struct tw_resolver, rearm);
  if (!r->channel) return;
  struct timeval tvbuf, *tv = ares_timeout(r->channel, NULL, &tvbuf);
  if (!tv) {
    tw_timer_stop(r->timer);
    return;
  }
  /* ares_timeout() measures from now; the timer counts from the loop's
   * cached time, which may be a little behind. It also truncates to whole
   * milliseconds, so add one: waking early only to find nothing expired
   * would spin. */
  uint64_t ns = (uint64_t)tv->tv_sec * TW_NS_PER_S + (uint64_t)tv->tv_usec * 1000u;
  uint64_t now = tw_hrtime(), cached = tw_now(r->h.loop);
  ns += TW_NS_PER_MS + (now > cached ? now - cached : 0);
  tw_timer_start(r->timer, resolver_timeout, ns, 0);
}

static void schedule_rearm(struct tw_resolver *r) {
  if (r->channel) tw__pending_push(r->h.loop, &r->rearm);
}

static void resolver_timeout(tw_timer *t, int status) {
  struct tw_resolver *r = tw_data(t);
  if (status < 0 || !r->channel) return;
  ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  schedule_rearm(r);
}

static void sock_ready(tw_watch *w, int events) {
  struct dns_sock *s = (struct dns_sock *)w; /* w is the first member */
  struct tw_resolver *r = s->r;
  ares_socket_t fd = w->fd;
  /* Errors and hang-ups are reported as readable: c-ares then reads, sees
   * the error and drops or retries the connection itself. */
  ares_socket_t rfd = (events & (TW_READABLE | TW_HANGUP | TW_ERROR)) ? fd : ARES_SOCKET_BAD;
  ares_socket_t wfd = (events & TW_WRITABLE) ? fd : ARES_SOCKET_BAD;
  ares_process_fd(r->channel, rfd, wfd); /* may close the socket and free s */
  schedule_rearm(r);
}

static struct dns_sock **sock_find(struct tw_resolver *r, int fd) {
  for (size_t i = 0; i < r->nsocks; i++)
    if (r->socks[i]->w.fd == fd) return &r->socks[i];
  return NULL;
}

static void sock_drop(struct tw_resolver *r, struct dns_sock **slot) {
  struct dns_sock *s = *slot;
  tw__watch_remove(r->h.loop, &s->w);
  *slot = r->socks[--r->nsocks];
  free(s);
}

/* c-ares opens, closes or changes interest in a socket. readable and
 * writable both 0 means it is about to close it: forget the fd now. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable) {
  struct tw_resolver *r = data;
  struct dns_sock **slot = sock_find(r, fd);
  if (!readable && !writable) {
    if (slot) sock_drop(r, slot);
    return;
  }
  if (!slot) {
    if (r->nsocks == r->capsocks) {
      size_t cap = r->capsocks ? r->capsocks * 2 : 4;
      struct dns_sock **t = realloc(r->socks, cap * sizeof *t);
      /* Out of memory: the socket goes unwatched and its queries end by
       * timeout, which the timer still delivers. */
      if (!t) return;
      r->socks = t;
      r->capsocks = cap;
    }
    struct dns_sock *s = malloc(sizeof *s);
    if (!s) return;
    s->r = r;
    tw__watch_init(&s->w, fd, sock_ready);
    r->socks[r->nsocks++] = s;
    slot = &r->socks[r->nsocks - 1];
  }
  tw__watch_set(r->h.loop, &(*slot)->w, (readable ? TW_READABLE : 0) | (writable ? TW_WRITABLE : 0));
}

/* ---- the handle ---------------------------------------------------------- */

static void resolver_close(tw_handle *h) {
  struct tw_resolver *r = (struct tw_resolver *)h;
  /* Every lookup the caller has not heard about yet gets -ECANCELED, even
   * one whose answer is queued; the records leave the resolver, which may
   * be freed before their callbacks run. */
  tw_queue *e;
  while ((e = tw_queue_pop(&r->queries))) {
    dns_query *q = tw_queue_entry(e, dns_query, q);
    if (q->state & Q_DELIVERED) continue; /* only c-ares holds it */
    q->req.flags |= TW_RF_CANCELED;
    result_free(q);
    /* Already queued (or its callback is running right now, closing us):
     * just change what it reports; queueing again would call back twice. */
    if (q->state & Q_QUEUED) q->status = -ECANCELED;
    else query_queue(h->loop, q, -ECANCELED);
  }
  /* c-ares calls back every query it holds (ARES_EDESTRUCTION), which
   * frees the records only it held, and reports its sockets closed. */
  tw__pending_cancel(&r->rearm);
  ares_channel ch = r->channel;
  r->channel = NULL;
  ares_destroy(ch);
  while (r->nsocks) sock_drop(r, &r->socks[r->nsocks - 1]);
  tw_close(r->timer, NULL);
}

static void resolver_free(tw_handle *h) {
  struct tw_resolver *r = (struct tw_resolver *)h;
  free(r->socks);
  free(r);
}

/* No watcher callback of its own: loop close reaches it through close. */
static const tw_handle_ops resolver_ops = {"resolver", resolver_close, NULL, resolver_free};

static int set_options(struct ares_options *o, int *mask, const tw_resolver_opts *opts,
                       struct tw_resolver *r) {
  memset(o, 0, sizeof *o);
  o->sock_state_cb = sock_state;
  o->sock_state_cb_data = r;
  *mask = ARES_OPT_SOCK_STATE_CB;
  if (!opts) return 0;
  if (opts->tries < 0) return -EINVAL;
  if (opts->timeout_ns) {
    uint64_t ms = (opts->timeout_ns + TW_NS_PER_MS - 1) / TW_NS_PER_MS; /* round up */
    o->timeout = ms > INT_MAX ? INT_MAX : (int)ms;
    *mask |= ARES_OPT_TIMEOUTMS;
  }
  if (opts->tries) {
    o->tries = opts->tries;
    *mask |= ARES_OPT_TRIES;
  }
  if (opts->no_search) {
    /* The flag alone is not honoured by every lookup path of c-ares 1.18;
     * an empty search list and ndots 1 make sure the name is tried as is,
     * once. */
    o->flags = ARES_FLAG_NOSEARCH;
    o->ndots = 1;
    o->domains = NULL;
    o->ndomains = 0;
    *mask |= ARES_OPT_FLAGS | ARES_OPT_NDOTS | ARES_OPT_DOMAINS;
  }
  return 0;
}

/* c-ares 1.18's own parser is lenient ("1.2.3.4:99999" wraps the port,
 * "[::1" passes) yet refuses "[::1]", and a rejected list would leave
 * resolv.conf's servers in place. So check the list strictly first --
 * comma-separated "ip", "ip:port", "v6", "[v6]" or "[v6]:port", ports
 * 1-65535 -- and write it to `out` (at least strlen(s) + 1 bytes) in the
 * form c-ares takes. Returns 1 if valid. */
static int servers_normalize(const char *s, char *out) {
  size_t o = 0;
  for (;;) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    char buf[INET6_ADDRSTRLEN + 16], addr[INET6_ADDRSTRLEN + 16];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    const char *port = NULL;
    int family;
    if (buf[0] == '[') {
      char *close = strchr(buf, ']');
      if (!close) return 0;
      *close = 0;
      snprintf(addr, sizeof addr, "%s", buf + 1);
      if (close[1] == ':') port = close + 2;
      else if (close[1]) return 0;
      family = AF_INET6;
    } else {
      char *colon = strchr(buf, ':');
      if (colon && strchr(colon + 1, ':')) {
        family = AF_INET6; /* bare v6: no port possible */
      } else {
        if (colon) {
          *colon = 0;
          port = colon + 1;
        }
        family = AF_INET;
      }
      snprintf(addr, sizeof addr, "%s", buf);
    }
    unsigned char bin[16];
    if (inet_pton(family, addr, bin) != 1) return 0;
    if (port) {
      if (!*port || strlen(port) > 5) return 0;
      unsigned long v = 0;
      for (const char *c = port; *c; c++) {
        if (*c < '0' || *c > '9') return 0;
        v = v * 10 + (unsigned long)(*c - '0');
      }
      if (v < 1 || v > 65535) return 0;
    }
    /* Never longer than the input: at most the brackets are dropped. */
    if (o) out[o++] = ',';
    if (!port) o += (size_t)sprintf(out + o, "%s", addr);
    else if (family == AF_INET6) o += (size_t)sprintf(out + o, "[%s]:%s", addr, port);
    else o += (size_t)sprintf(out + o, "%s:%s", addr, port);
    if (!end) return 1;
    s = end + 1;
  }
}

int tw_resolver_new(tw_loop *loop, tw_resolver **out, const tw_resolver_opts *opts, void *data) {
  if (!loop || !out) return -EINVAL;
  *out = NULL;
  if (loop->closing) return -ECANCELED;
  pthread_once(&ares_once, ares_init_once);
  if (ares_init_status != ARES_SUCCESS) return map_ares(ares_init_status);

  struct tw_resolver *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  struct ares_options o;
  int mask;
  int err = set_options(&o, &mask, opts, r);
  if (err) {
    free(r);
    return err;
  }
  tw_queue_init(&r->queries);
  tw_queue_init(&r->rearm.q);
  r->rearm.cb = resolver_rearm;
  int st = ares_init_options(&r->channel, &o, mask);
  if (st != ARES_SUCCESS) {
    free(r);
    return st == ARES_ENOMEM ? -ENOMEM : TW_EDNS;
  }
  if (opts && opts->servers) {
    char *csv = malloc(strlen(opts->servers) + 1);
    if (!csv) st = ARES_ENOMEM;
    else if (!servers_normalize(opts->servers, csv)) st = ARES_EBADSTR;
    else st = ares_set_servers_ports_csv(r->channel, csv);
    free(csv);
    if (st != ARES_SUCCESS) {
      ares_destroy(r->channel);
      free(r);
      return st == ARES_ENOMEM ? -ENOMEM : -EINVAL;
    }
  }
  err = tw_timer_new(loop, &r->timer, r);
  if (err) {
    ares_destroy(r->channel);
    free(r);
    return err;
  }
  /* The timer belongs to the resolver: loop close leaves it to us, and it
   * never keeps the loop alive by itself (pending lookups do that). */
  ((tw_handle *)r->timer)->flags |= TW_HF_INTERNAL;
  tw_unref(r->timer);
  tw__handle_init(loop, &r->h, &resolver_ops, data);
  *out = r;
  return 0;
}

/* ---- lookups -------------------------------------------------------------- */

static dns_query *query_new(struct tw_resolver *r, int kind, void *data) {
  dns_query *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  tw__req_init(r->h.loop, &q->req, kind, query_cancel, data);
  q->kind = kind;
  q->state = Q_ARES;
  q->done.cb = query_deliver;
  tw_queue_init(&q->done.q);
  tw_queue_push(&r->queries, &q->q);
  return q;
}

static void getaddrinfo_done(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  dns_query *q = arg;
  if (query_ares_done(q)) {
    int st = map_ares(status);
    if (st == 0 && res) {
      size_t n = 0;
      for (struct ares_addrinfo_node *a = res->nodes; a; a = a->ai_next) n++;
      q->addrs = n ? calloc(n, sizeof *q->addrs) : NULL;
      if (n && !q->addrs) st = -ENOMEM;
      for (struct ares_addrinfo_node *a = res->nodes; a && q->addrs; a = a->ai_next) {
        if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || !a->ai_addr ||
            a->ai_addrlen > (ares_socklen_t)sizeof *q->addrs)
          continue;
        struct sockaddr_storage *ss = &q->addrs[q->naddrs++];
        memcpy(ss, a->ai_addr, a->ai_addrlen);
        if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = 0;
        else ((struct sockaddr_in6 *)ss)->sin6_port = 0;
      }
    }
    query_queue(q->req.loop, q, st);
  }
  if (res) ares_freeaddrinfo(res);
}

static void gethostbyaddr_done(void *arg, int status, int timeouts, struct hostent *he) {
  dns_query *q = arg;
  if (!query_ares_done(q)) return;
  int st = map_ares(status);
  if (st == 0) {
    if (!he || !he->h_name || !*he->h_name) st = TW_EDNS;
    else if (!(q->name = strdup(he->h_name))) st = -ENOMEM;
  }
  query_queue(q->req.loop, q, st);
}

int tw_resolve(tw_resolver *r, tw_req **req, const char *name, int family, tw_resolve_cb cb,
               void *data) {
  if (req) *req = NULL;
  int err = tw__handle_usable(r, &resolver_ops);
  if (err) return err;
  if (!name || !*name || !cb) return -EINVAL;
  if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC) return -EINVAL;
  if (r->h.loop->closing) return -ECANCELED;
  dns_query *q = query_new(r, Q_RESOLVE, data);
  if (!q) return -ENOMEM;
  q->cb.resolve = cb;
  if (req) *req = &q->req;
  struct ares_addrinfo_hints hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  /* c-ares may call back before this returns (numeric names, hosts file);
   * getaddrinfo_done only queues the result, so that is fine. */
  ares_getaddrinfo(r->channel, name, NULL, &hints, getaddrinfo_done, q);
  schedule_rearm(r);
  return 0;
}

int tw_reverse(tw_resolver *r, tw_req **req, const struct sockaddr *addr, tw_reverse_cb cb,
               void *data) {
  if (req) *req = NULL;
  int err = tw__handle_usable(r, &resolver_ops);
  if (err) return err;
  if (!addr || !cb) return -EINVAL;
  const void *bytes;
  int len;
  if (addr->sa_family == AF_INET) {
    bytes = &((const struct sockaddr_in *)addr)->sin_addr;
    len = 4;
  } else if (addr->sa_family == AF_INET6) {
    bytes = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    len = 16;
  } else {
    return -EINVAL;
  }
  if (r->h.loop->closing) return -ECANCELED;
  dns_query *q = query_new(r, Q_REVERSE, data);
  if (!q) return -ENOMEM;
  q->cb.reverse = cb;
  if (req) *req = &q->req;
  ares_gethostbyaddr(r->channel, bytes, len, addr->sa_family, gethostbyaddr_done, q);
  schedule_rearm(r);
  return 0;
}
