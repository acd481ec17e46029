/* merge-host.c: the file-free parts of `trawl merge` (see merge.h): reading
 * a shard's command line, the order of hosts, folding one host's results
 * from several shards into one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/os-result.h"
#include "merge/merge.h"

void merge_args_free(struct merge_args *m) {
  free(m->ident);
  free(m->merged);
  m->ident = m->merged = NULL;
}

/* the output options, which name per-shard files */
static bool output_opt(const char *w, size_t l, bool *takes_value) {
  static const char *const o[] = {"-oN", "-oX", "-oG", "-oJ", "-oA", "-oS", "-oM"};
  *takes_value = false;
  if (l == 15 && strncmp(w, "--append-output", 15) == 0) return true;
  for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
    if (l >= 3 && strncmp(w, o[i], 3) == 0) {
      *takes_value = l == 3;
      return true;
    }
  return false;
}

static int number(const char *w, size_t l, uint64_t *v) {
  char buf[32];
  if (l == 0 || l >= sizeof buf) return -EINVAL;
  memcpy(buf, w, l);
  buf[l] = 0;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(buf, &end, 0);
  if (errno || *end || buf[0] == '-') return -EINVAL;
  *v = x;
  return 0;
}

static void append(char *dst, size_t *n, const char *w, size_t l) {
  if (*n) dst[(*n)++] = ' ';
  memcpy(dst + *n, w, l);
  *n += l;
  dst[*n] = 0;
}

int merge_args_parse(const char *args, struct merge_args *m) {
  memset(m, 0, sizeof *m);
  m->shards = 1;
  size_t al = strlen(args);
  m->ident = malloc(al + 1);
  m->merged = malloc(al + 1);
  if (!m->ident || !m->merged) {
    merge_args_free(m);
    return -ENOMEM;
  }
  m->ident[0] = m->merged[0] = 0;
  size_t ni = 0, nm = 0;
  int word = 0;
  /* what the previous word asked of this one */
  enum { NONE, SKIP, SHARD, SHARDS, SEED } want = NONE;
  bool shard_seen = false;
  for (const char *p = args; *p;) {
    while (*p == ' ') p++;
    if (!*p) break;
    const char *w = p;
    while (*p && *p != ' ') p++;
    size_t l = (size_t)(p - w);
    bool tv;
    int r = 0;
    if (want != NONE) {
      if (want == SHARD) r = number(w, l, &m->shard);
      else if (want == SHARDS) r = number(w, l, &m->shards);
      else if (want == SEED) r = number(w, l, &m->seed);
      if (r < 0) goto bad;
      if (want == SHARDS || want == SEED) append(m->ident, &ni, w, l);
      if (want == SEED) append(m->merged, &nm, w, l);
      want = NONE;
    } else if (word == 0) { /* the program, as it was called */
      append(m->merged, &nm, w, l);
    } else if (l == 7 && strncmp(w, "--shard", 7) == 0) {
      want = SHARD;
      shard_seen = true;
    } else if (l > 8 && strncmp(w, "--shard=", 8) == 0) {
      if (number(w + 8, l - 8, &m->shard) < 0) goto bad;
      shard_seen = true;
    } else if (l == 8 && strncmp(w, "--shards", 8) == 0) {
      want = SHARDS;
      append(m->ident, &ni, w, l);
    } else if (l > 9 && strncmp(w, "--shards=", 9) == 0) {
      if (number(w + 9, l - 9, &m->shards) < 0) goto bad;
      append(m->ident, &ni, w, l);
    } else if (l == 6 && strncmp(w, "--seed", 6) == 0) {
      want = SEED;
      m->has_seed = true;
      append(m->ident, &ni, w, l);
      append(m->merged, &nm, w, l);
    } else if (l > 7 && strncmp(w, "--seed=", 7) == 0) {
      if (number(w + 7, l - 7, &m->seed) < 0) goto bad;
      m->has_seed = true;
      append(m->ident, &ni, w, l);
      append(m->merged, &nm, w, l);
    } else if (output_opt(w, l, &tv)) {
      if (tv) want = SKIP;
    } else {
      append(m->ident, &ni, w, l);
      append(m->merged, &nm, w, l);
    }
    word++;
  }
  if (want != NONE && want != SKIP) goto bad;
  if (m->shards == 0 || m->shard >= m->shards || (!shard_seen && m->shard)) goto bad;
  return 0;
bad:
  merge_args_free(m);
  return -EINVAL;
}

void merge_args_diff(const char *a, const char *b, char *wa, char *wb, size_t len) {
  const char *pa = NULL, *pb = NULL; /* the words before: "--seed" of "--seed 7" */
  size_t pla = 0;
  for (;;) {
    while (*a == ' ') a++;
    while (*b == ' ') b++;
    size_t la = strcspn(a, " "), lb = strcspn(b, " ");
    if (la != lb || strncmp(a, b, la) != 0 || (!la && !lb)) {
      bool opt = pa && pa[0] == '-' && pla < 30 && ((la && a[0] != '-') || (lb && b[0] != '-'));
      snprintf(wa, len, "%.*s%s%.*s", opt ? (int)pla : 0, opt ? pa : "", opt ? " " : "",
               la ? (int)(la > 30 ? 30 : la) : 5, la ? a : "(end)");
      snprintf(wb, len, "%.*s%s%.*s", opt ? (int)pla : 0, opt ? pb : "", opt ? " " : "",
               lb ? (int)(lb > 30 ? 30 : lb) : 5, lb ? b : "(end)");
      return;
    }
    pa = a, pb = b, pla = la;
    a += la;
    b += lb;
  }
}

int merge_addr_cmp(const struct tgt_addr *a, const struct tgt_addr *b) {
  if (a->family != b->family) return a->family == AF_INET ? -1 : 1;
  if (a->family == AF_INET) return memcmp(&a->u.v4, &b->u.v4, sizeof a->u.v4);
  return memcmp(&a->u.v6, &b->u.v6, sizeof a->u.v6);
}

/* appends src's n elements of size sz to *dst (holding *dn) and takes them */
static int take(void **dst, size_t *dn, void *src, size_t n, size_t sz) {
  if (n == 0) return 0;
  void *v = realloc(*dst, (*dn + n) * sz);
  if (!v) return -ENOMEM;
  memcpy((char *)v + *dn * sz, src, n * sz);
  *dst = v;
  *dn += n;
  return 0;
}

/* Of two shards' OS results for one host, the better: one that had an
 * open and a closed port to work with over one that had not, then the
 * better top match (exact over guess over none), then the first shard's. */
static int merge_os_rank(const struct os_result *o) {
  static const int by_verdict[] = {[OS_RES_NONE] = 0, [OS_RES_EXACT] = 2, [OS_RES_GUESS] = 1,
                                   [OS_RES_TOO_MANY] = 2};
  int top = o->nmatches ? o->matches[0].accuracy : 0;
  return (o->unreliable ? 0 : 1000) + by_verdict[o->verdict] * 101 + top;
}

int merge_host_fold(struct host_result *d, struct host_result *s) {
  if (s->os && (!d->os || merge_os_rank(s->os) > merge_os_rank(d->os))) {
    os_result_free(d->os);
    d->os = s->os;
    s->os = NULL;
  }
  if (s->trace && (!d->trace || s->trace->nhops > d->trace->nhops)) {
    host_trace_free(d->trace);
    d->trace = s->trace;
    s->trace = NULL;
  }
  if (d->status != HOST_UP && s->status == HOST_UP) {
    free(d->reason);
    d->reason = s->reason;
    s->reason = NULL;
    d->status = HOST_UP;
    d->reason_ttl = s->reason_ttl;
  }
  if (!d->has_mac && s->has_mac) {
    d->has_mac = true;
    memcpy(d->mac, s->mac, sizeof d->mac);
    d->mac_vendor = s->mac_vendor;
    s->mac_vendor = NULL;
  }
  if (d->nnames == 0 && s->nnames) {
    free(d->names);
    d->names = s->names, d->nnames = s->nnames;
    s->names = NULL, s->nnames = 0;
  }
  if (s->start_time && (!d->start_time || s->start_time < d->start_time)) d->start_time = s->start_time;
  if (s->end_time > d->end_time) d->end_time = s->end_time;
  if (d->distance < 0) d->distance = s->distance;
  if (d->srtt_us < 0) d->srtt_us = s->srtt_us, d->rttvar_us = s->rttvar_us, d->timeout_us = s->timeout_us;
  d->timedout = d->timedout || s->timedout;
  void *v = d->ports;
  size_t n = d->nports;
  if (take(&v, &n, s->ports, s->nports, sizeof *d->ports) < 0) return -ENOMEM;
  d->ports = v, d->nports = d->capports = n;
  s->nports = 0;
  v = d->bulk;
  n = d->nbulk;
  if (take(&v, &n, s->bulk, s->nbulk, sizeof *d->bulk) < 0) return -ENOMEM;
  d->bulk = v, d->nbulk = n;
  s->nbulk = 0;
  return merge_host_scripts(d, s);
}

int merge_host_scripts(struct host_result *d, struct host_result *s) {
  for (size_t i = 0; i < s->nhostscripts; i++) {
    bool have = false;
    for (size_t k = 0; k < d->nhostscripts && !have; k++)
      have = strcmp(d->hostscripts[k].id, s->hostscripts[i].id) == 0;
    if (have) continue;
    void *v = d->hostscripts;
    size_t n = d->nhostscripts;
    if (take(&v, &n, &s->hostscripts[i], 1, sizeof *d->hostscripts) < 0) return -ENOMEM;
    d->hostscripts = v, d->nhostscripts = n;
    memset(&s->hostscripts[i], 0, sizeof s->hostscripts[i]);
  }
  return 0;
}

/* A port's place in the sort: (protocol, port), then its position, so that
 * of two copies the first stays first (qsort is not stable by itself). */
struct port_key {
  uint32_t key; /* proto << 16 | port */
  uint32_t pos;
};

static int key_cmp(const void *a, const void *b) {
  const struct port_key *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->pos < y->pos ? -1 : x->pos > y->pos;
}

size_t merge_host_dedup(struct host_result *h) {
  size_t n = h->nports;
  if (n < 2) return 0;
  struct port_key *k = malloc(n * sizeof *k);
  struct port_result *sorted = malloc(n * sizeof *sorted);
  if (!k || !sorted) {
    free(k);
    free(sorted);
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    k[i] = (struct port_key){(uint32_t)h->ports[i].proto << 16 | h->ports[i].portid, (uint32_t)i};
  qsort(k, n, sizeof *k, key_cmp);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (kept && k[i].key == k[i - 1].key) {
      port_result_free(&h->ports[k[i].pos]); /* a second copy */
      continue;
    }
    sorted[kept++] = h->ports[k[i].pos];
  }
  memcpy(h->ports, sorted, kept * sizeof *sorted);
  h->nports = kept;
  free(sorted);
  free(k);
  return n - kept;
}
