/* resolve.c: DNS for a scan, through libtrawl's c-ares resolver in the
 * scan's own loop (asking --dns-servers when given), or with --system-dns
 * through getaddrinfo(3)/getnameinfo(3) on libtrawl's worker pool, as
 * Nmap's --system-dns — never a blocking call in the loop:
 *   - names on the command line (targets and --exclude) become addresses
 *     before the scan starts; a name that does not resolve is reported and
 *     the scan goes on with the rest;
 *   - before a host group is written, the up hosts' addresses are turned
 *     into names (PTR), as Nmap does unless -n. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan.h"

struct scan_name {
  tw_pkt_addr addr;
  char *name;
};

struct fwd {
  struct scan *s;
  const struct tgt_name *tn;
  bool exclude;
};

static int add_name(struct scan *s, const tw_pkt_addr *a, const char *name) {
  struct scan_name *v = realloc(s->names, (s->nnames + 1) * sizeof *v);
  if (!v) return -ENOMEM;
  s->names = v;
  v[s->nnames].addr = *a;
  v[s->nnames].name = strdup(name);
  if (!v[s->nnames].name) return -ENOMEM;
  s->nnames++;
  return 0;
}

static void on_forward(tw_req *req, int status, const struct sockaddr_storage *addrs, size_t n,
                       void *data) {
  struct fwd *f = data;
  struct scan *s = f->s;
  s->resolving--;
  if (status < 0 || n == 0) {
    fprintf(stderr, "trawl: failed to resolve '%s': %s\n", f->tn->name, tw_strerror(status));
    free(f);
    return;
  }
  /* Like Nmap: the first address of the name is scanned. */
  struct tgt_addr ta;
  tw_pkt_addr pa;
  memset(&ta, 0, sizeof ta);
  memset(&pa, 0, sizeof pa);
  if (addrs[0].ss_family == AF_INET6) {
    ta.family = AF_INET6;
    ta.u.v6 = ((const struct sockaddr_in6 *)&addrs[0])->sin6_addr;
    tw_pkt_addr_set6(&pa, &ta.u.v6);
  } else {
    ta.family = AF_INET;
    ta.u.v4 = ((const struct sockaddr_in *)&addrs[0])->sin_addr;
    tw_pkt_addr_set4(&pa, ta.u.v4);
  }
  int bits = ta.family == AF_INET6 ? 128 : 32;
  int prefix = f->tn->prefix >= 0 && f->tn->prefix <= bits ? f->tn->prefix : bits;
  if (f->exclude) {
    targets_exclude_addr(s->o->targets, &ta, prefix);
  } else {
    targets_add_addr(s->o->targets, &ta, prefix);
    if (prefix == bits) add_name(s, &pa, f->tn->name);
  }
  free(f);
}

/* --system-dns: a forward lookup's answer from getaddrinfo(3), handed to
 * on_forward as c-ares' would be (its first address). */
static void on_forward_sys(tw_req *req, int status, struct addrinfo *res, void *data) {
  struct sockaddr_storage ss;
  size_t n = 0;
  memset(&ss, 0, sizeof ss);
  for (struct addrinfo *ai = res; status == 0 && ai && n == 0; ai = ai->ai_next) {
    if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) && ai->ai_addr &&
        ai->ai_addrlen <= sizeof ss) {
      memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
      n = 1;
    }
  }
  if (res) freeaddrinfo(res);
  on_forward(req, status == 0 && n == 0 ? TW_ENODATA : status, &ss, n, data);
}

int resolve_resolver_new(struct scan *s, tw_resolver **r, int tries, uint64_t timeout_ns,
                         void *data) {
  tw_resolver_opts opts = {0};
  opts.tries = tries;
  opts.timeout_ns = timeout_ns;
  opts.servers = s->o->dns_servers;
  return tw_resolver_new(s->loop, r, &opts, data);
}

int scan_resolve_targets(struct scan *s) {
  struct targets *t = s->o->targets;
  size_t nt = targets_name_count(t), ne = targets_excluded_name_count(t);
  if (nt + ne == 0) return 0;
  tw_resolver *r;
  int err = resolve_resolver_new(s, &r, 0, 0, s);
  if (err < 0) {
    fprintf(stderr, "trawl: cannot start the DNS resolver: %s\n", tw_strerror(err));
    return err;
  }
  int family = s->o->ipv6 ? AF_INET6 : AF_INET;
  s->resolving = 0;
  for (size_t i = 0; i < nt + ne; i++) {
    struct fwd *f = malloc(sizeof *f);
    if (!f) break;
    f->s = s;
    f->exclude = i >= nt;
    f->tn = f->exclude ? targets_excluded_name(t, i - nt) : targets_name(t, i);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM; /* one answer per address */
    int rc = s->o->system_dns
                 ? tw_getaddrinfo(s->loop, NULL, f->tn->name, NULL, &hints, on_forward_sys, f)
                 : tw_resolve(r, NULL, f->tn->name, family, on_forward, f);
    if (rc < 0) {
      fprintf(stderr, "trawl: cannot resolve '%s'\n", f->tn->name);
      free(f);
      continue;
    }
    s->resolving++;
  }
  while (s->resolving > 0 && tw_loop_run(s->loop, TW_RUN_ONCE) >= 0) {
  }
  tw_close(r, NULL);
  char msg[256];
  if (targets_finalize(t, msg, sizeof msg) < 0) {
    fprintf(stderr, "trawl: %s\n", msg);
    return -EINVAL;
  }
  s->ntargets = targets_count(t);
  return 0;
}

const char *scan_name_of(const struct scan *s, const tw_pkt_addr *a) {
  for (size_t i = 0; i < s->nnames; i++)
    if (tw_pkt_addr_eq(&s->names[i].addr, a)) return s->names[i].name;
  return NULL;
}

void scan_names_free(struct scan *s) {
  for (size_t i = 0; i < s->nnames; i++) free(s->names[i].name);
  free(s->names);
  s->names = NULL;
  s->nnames = 0;
}

/* ---- --system-dns reverse lookups: getnameinfo(3) on the pool ---------- */

struct sysptr {
  struct sockaddr_storage ss;
  socklen_t len;
  char name[NI_MAXHOST];
  tw_reverse_cb cb;
  void *data;
};

/* On a worker thread: only the job's own fields. */
static int sysptr_work(void *data) {
  struct sysptr *j = data;
  int rc = getnameinfo((const struct sockaddr *)&j->ss, j->len, j->name, sizeof j->name, NULL, 0,
                       NI_NAMEREQD);
  if (rc == 0) return 0;
  return rc == EAI_NONAME ? TW_ENOTFOUND : TW_EDNS;
}

static void sysptr_after(tw_req *req, int status, void *data) {
  struct sysptr *j = data;
  (void)req;
  j->name[sizeof j->name - 1] = '\0';
  j->cb(NULL, status, status == 0 ? j->name : NULL, j->data);
  free(j);
}

int resolve_reverse(struct scan *s, tw_resolver *r, const struct sockaddr *sa,
                    tw_reverse_cb cb, void *data) {
  if (!s->o->system_dns) return tw_reverse(r, NULL, sa, cb, data);
  struct sysptr *j = calloc(1, sizeof *j);
  if (!j) return -ENOMEM;
  j->len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  memcpy(&j->ss, sa, j->len);
  j->cb = cb;
  j->data = data;
  int err = tw_work(s->loop, NULL, sysptr_work, sysptr_after, j);
  if (err < 0) free(j);
  return err;
}

/* ---- reverse lookups of a group's up hosts ------------------------------ */

#define RDNS_PARALLEL 256

struct rdns {
  struct scan *s;
  tw_resolver *r;
  uint32_t next, inflight;
};

struct rq {
  struct rdns *d;
  uint32_t h;
};

static void rdns_pump(struct rdns *d);

static void on_reverse(tw_req *req, int status, const char *name, void *data) {
  struct rq *q = data;
  struct rdns *d = q->d;
  d->inflight--;
  if (status == 0 && name && *name) {
    struct host_result *r = scan_host(d->s, q->h);
    if (r) host_add_hostname(r, name, HOSTNAME_PTR);
  }
  free(q);
  rdns_pump(d);
}

static void rdns_closed(void *handle) {
  struct rdns *d = tw_data(handle);
  struct scan *s = d->s;
  free(d);
  scan_next(s);
}

static void rdns_pump(struct rdns *d) {
  struct scan *s = d->s;
  while (d->inflight < RDNS_PARALLEL && d->next < s->nhosts && !s->interrupted) {
    uint32_t h = d->next++;
    if (!s->hosts[h].up) continue;
    struct rq *q = malloc(sizeof *q);
    if (!q) break;
    q->d = d;
    q->h = h;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const tw_pkt_addr *a = &s->hosts[h].addr;
    if (a->family == AF_INET6) {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = a->v6;
    } else {
      struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
      sin->sin_family = AF_INET;
      sin->sin_addr = a->v4;
    }
    if (resolve_reverse(s, d->r, (struct sockaddr *)&ss, on_reverse, q) < 0) {
      free(q);
      continue;
    }
    d->inflight++;
  }
  if (d->inflight == 0 && !tw_is_closing(d->r)) tw_close(d->r, rdns_closed);
}

int stage_rdns(struct scan *s) {
  if (s->o->dns == DNS_NEVER || s->nhosts == 0) return 0;
  uint32_t up = 0;
  for (uint32_t i = 0; i < s->nhosts; i++) up += s->hosts[i].up;
  if (up == 0) return 0;
  struct rdns *d = calloc(1, sizeof *d);
  if (!d) return -ENOMEM;
  d->s = s;
  int err = resolve_resolver_new(s, &d->r, 2, 1000000000ull, d);
  if (err < 0) {
    free(d);
    return err;
  }
  rdns_pump(d);
  return 1;
}
