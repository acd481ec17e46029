/* services.c: loading and querying the port table, Nmap's nmap-services
 * or trawl's data/trawl-services (see services.h). */
#define _GNU_SOURCE
#include "db/services.h"
#include "core/datadir.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/errmsg.h"

struct services {
  struct service_entry *v;
  size_t n, cap;
  int32_t *byport[PROTO_COUNT]; /* 65536 entry indices, -1 = none */
  uint16_t *ranked[PROTO_COUNT];
  size_t nranked[PROTO_COUNT];
  char *path;
  bool ratios; /* nmap-services */
};

void services_free(struct services *s) {
  if (s == NULL) return;
  for (size_t i = 0; i < s->n; i++) free(s->v[i].name);
  free(s->v);
  for (int p = 0; p < PROTO_COUNT; p++) {
    free(s->byport[p]);
    free(s->ranked[p]);
  }
  free(s->path);
  free(s);
}

/* Splits the next whitespace-separated field off *p. */
static char *svc_field(char **p) {
  char *s = *p;
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
  if (*s == '\0') return NULL;
  char *e = s;
  while (*e && *e != ' ' && *e != '\t' && *e != '\r' && *e != '\n') e++;
  if (*e) *e++ = '\0';
  *p = e;
  return s;
}

/* Parses a whole decimal number in [lo, hi]; -1 when it is not one. */
static long svc_number(const char *s, long lo, long hi) {
  long v = 0;
  if (*s == '\0') return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
    if (v > hi) return -1;
  }
  return v < lo ? -1 : v;
}

/* Nmap's ratio: a decimal fraction 0-1 ("0.484143", "1"). -1 when not. */
static double svc_ratio(const char *s) {
  double v = 0, scale = 1;
  bool point = false, digits = false;
  for (; *s; s++) {
    if (*s == '.' && !point) {
      point = true;
    } else if (*s >= '0' && *s <= '9') {
      digits = true;
      if (point) v += (scale /= 10) * (*s - '0');
      else v = v * 10 + (*s - '0');
      if (v > 1) return -1;
    } else {
      return -1;
    }
  }
  return digits ? v : -1;
}

static int svc_add(struct services *s, const char *name, long port, enum scan_proto proto,
                   uint32_t rank, double ratio, const char *qp, unsigned lineno, char *err,
                   size_t errlen) {
  if (s->byport[proto][port] >= 0)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: %ld/%s listed twice",
                      qp, lineno, port, proto_name(proto));
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    struct service_entry *nv = realloc(s->v, nc * sizeof *nv);
    if (nv == NULL) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
    s->v = nv;
    s->cap = nc;
  }
  char *dup = strdup(name);
  if (dup == NULL) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  s->v[s->n] = (struct service_entry){dup, (uint16_t)port, proto, rank, ratio};
  s->byport[proto][port] = (int32_t)s->n;
  s->n++;
  return 0;
}

/* One line of nmap-services: "name port/proto ratio [# comment]". */
static int svc_nmap_line(struct services *s, char *line, const char *path,
                         unsigned lineno, char *err, size_t errlen) {
  char *hash = strchr(line, '#');
  if (hash) *hash = '\0';
  char *p = line, q[ERRMSG_QUOTE_MAX + 8], qp[ERRMSG_QUOTE_MAX + 8];
  char *name = svc_field(&p);
  if (name == NULL) return 0;
  char *pp = svc_field(&p), *ratio = svc_field(&p);
  errmsg_quote(qp, sizeof qp, path, (size_t)-1);
  if (pp == NULL || ratio == NULL)
    return errmsg_set(err, errlen, TW_EMALFORMED,
                      "%s:%u: expected 'name port/proto ratio'", qp, lineno);
  char *slash = strchr(pp, '/');
  if (slash == NULL)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad port/proto '%s'",
                      qp, lineno, errmsg_quote(q, sizeof q, pp, (size_t)-1));
  *slash = '\0';
  enum scan_proto proto;
  if (strcmp(slash + 1, "tcp") == 0) proto = PROTO_TCP;
  else if (strcmp(slash + 1, "udp") == 0) proto = PROTO_UDP;
  else if (strcmp(slash + 1, "sctp") == 0) return 0; /* trawl has no SCTP scan */
  else
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad protocol '%s'",
                      qp, lineno, errmsg_quote(q, sizeof q, slash + 1, (size_t)-1));
  long port = svc_number(pp, 0, 65535);
  if (port < 0)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad port '%s'", qp,
                      lineno, errmsg_quote(q, sizeof q, pp, (size_t)-1));
  double r = svc_ratio(ratio);
  if (r < 0)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad ratio '%s' (0 to 1)", qp,
                      lineno, errmsg_quote(q, sizeof q, ratio, (size_t)-1));
  if (port == 0) return 0; /* Nmap lists 0/tcp and 0/udp; no scan takes port 0 */
  return svc_add(s, name, port, proto, 0, r, qp, lineno, err, errlen);
}

/* nmap-services: ranks 1..n per protocol, by ratio (highest first), then
 * port number. */
static int svc_by_ratio(const void *a, const void *b, void *arg) {
  const struct service_entry *v = arg;
  const struct service_entry *x = &v[*(const uint32_t *)a], *y = &v[*(const uint32_t *)b];
  if (x->ratio != y->ratio) return x->ratio > y->ratio ? -1 : 1;
  return x->port < y->port ? -1 : x->port > y->port;
}

static int svc_rank_by_ratio(struct services *s, char *err, size_t errlen) {
  uint32_t *idx = malloc((s->n ? s->n : 1) * sizeof *idx);
  if (idx == NULL) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  for (int p = 0; p < PROTO_COUNT; p++) {
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
      if (s->v[i].proto == (enum scan_proto)p) idx[k++] = (uint32_t)i;
    qsort_r(idx, k, sizeof *idx, svc_by_ratio, s->v);
    for (size_t r = 0; r < k; r++) s->v[idx[r]].rank = (uint32_t)(r + 1);
  }
  free(idx);
  return 0;
}

/* One line of trawl-services: "name port/proto rank". */
static int svc_line(struct services *s, char *line, const char *path,
                    unsigned lineno, char *err, size_t errlen) {
  char *hash = strchr(line, '#');
  if (hash) *hash = '\0';
  char *p = line, q[ERRMSG_QUOTE_MAX + 8], qp[ERRMSG_QUOTE_MAX + 8];
  char *name = svc_field(&p);
  if (name == NULL) return 0;
  char *pp = svc_field(&p), *rank = svc_field(&p);
  errmsg_quote(qp, sizeof qp, path, (size_t)-1);
  if (pp == NULL || rank == NULL || svc_field(&p) != NULL)
    return errmsg_set(err, errlen, TW_EMALFORMED,
                      "%s:%u: expected 'name port/proto rank'", qp, lineno);
  char *slash = strchr(pp, '/');
  if (slash == NULL)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad port/proto '%s'",
                      qp, lineno, errmsg_quote(q, sizeof q, pp, (size_t)-1));
  *slash = '\0';
  long port = svc_number(pp, 1, 65535);
  enum scan_proto proto;
  if (strcmp(slash + 1, "tcp") == 0)
    proto = PROTO_TCP;
  else if (strcmp(slash + 1, "udp") == 0)
    proto = PROTO_UDP;
  else
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad protocol '%s'",
                      qp, lineno, errmsg_quote(q, sizeof q, slash + 1, (size_t)-1));
  if (port < 0)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad port '%s'", qp,
                      lineno, errmsg_quote(q, sizeof q, pp, (size_t)-1));
  long r = svc_number(rank, 1, 65535);
  if (r < 0)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: bad rank '%s'", qp,
                      lineno, errmsg_quote(q, sizeof q, rank, (size_t)-1));
  return svc_add(s, name, port, proto, (uint32_t)r, -1, qp, lineno, err, errlen);
}

/* Orders each protocol's ports by rank and checks ranks are unique. */
static int svc_rank(struct services *s, const char *path, char *err,
                    size_t errlen) {
  char qp[ERRMSG_QUOTE_MAX + 8];
  for (int p = 0; p < PROTO_COUNT; p++) {
    int32_t *slot = malloc(65536 * sizeof *slot); /* rank -> entry */
    s->ranked[p] = malloc(65536 * sizeof *s->ranked[p]);
    if (slot == NULL || s->ranked[p] == NULL) {
      free(slot);
      return errmsg_set(err, errlen, -ENOMEM, "out of memory");
    }
    memset(slot, 0xff, 65536 * sizeof *slot);
    for (size_t i = 0; i < s->n; i++) {
      if (s->v[i].proto != (enum scan_proto)p) continue;
      if (slot[s->v[i].rank] >= 0) {
        free(slot);
        return errmsg_set(err, errlen, TW_EMALFORMED, "%s: rank %u used twice for %s",
                          errmsg_quote(qp, sizeof qp, path, (size_t)-1),
                          s->v[i].rank, proto_name((enum scan_proto)p));
      }
      slot[s->v[i].rank] = (int32_t)i;
    }
    size_t k = 0;
    for (size_t r = 0; r < 65536; r++)
      if (slot[r] >= 0) s->ranked[p][k++] = s->v[slot[r]].port;
    s->nranked[p] = k;
    free(slot);
  }
  return 0;
}

typedef int svc_line_fn(struct services *s, char *line, const char *path, unsigned lineno,
                        char *err, size_t errlen);

static int svc_load(struct services **out, const char *path, bool nmap, char *err,
                    size_t errlen) {
  svc_line_fn *line_fn = nmap ? svc_nmap_line : svc_line;
  char qp[ERRMSG_QUOTE_MAX + 8];
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return errmsg_set(err, errlen, -errno, "cannot open '%s': %s",
                      errmsg_quote(qp, sizeof qp, path, (size_t)-1), strerror(errno));
  struct services *s = calloc(1, sizeof *s);
  int r = s && (s->path = strdup(path)) ? 0 : -ENOMEM;
  if (s) s->ratios = nmap;
  for (int p = 0; p < PROTO_COUNT && r == 0; p++) {
    s->byport[p] = malloc(65536 * sizeof(int32_t));
    if (s->byport[p] == NULL)
      r = -ENOMEM;
    else
      memset(s->byport[p], 0xff, 65536 * sizeof(int32_t));
  }
  if (r < 0) errmsg_set(err, errlen, r, "out of memory");
  char *line = NULL;
  size_t cap = 0;
  unsigned lineno = 0;
  while (r == 0 && getline(&line, &cap, f) > 0)
    r = line_fn(s, line, path, ++lineno, err, errlen);
  free(line);
  if (r == 0 && ferror(f))
    r = errmsg_set(err, errlen, -EIO, "error reading '%s'",
                   errmsg_quote(qp, sizeof qp, path, (size_t)-1));
  fclose(f);
  if (r == 0 && nmap) r = svc_rank_by_ratio(s, err, errlen);
  if (r == 0) r = svc_rank(s, path, err, errlen);
  if (r < 0) {
    services_free(s);
    return r;
  }
  *out = s;
  return 0;
}

int services_load(struct services **out, const char *path, char *err, size_t errlen) {
  return svc_load(out, path, false, err, errlen);
}

int services_load_nmap(struct services **out, const char *path, char *err, size_t errlen) {
  return svc_load(out, path, true, err, errlen);
}

const char *services_path(const struct services *s) { return s ? s->path : NULL; }

int services_has_ratios(const struct services *s) { return s && s->ratios; }

int services_load_default(struct services **out, const char *datadir,
                          char *err, size_t errlen) {
  char path[4096];
  if (datadir_find(DATADIR_NMAP, datadir, SERVICES_NMAP_FILE, DATADIR_FILE, path, sizeof path) == 0)
    return services_load_nmap(out, path, err, errlen);
  if (datadir_find(DATADIR_TRAWL, datadir, SERVICES_FILE, DATADIR_FILE, path, sizeof path) < 0)
    return errmsg_set(err, errlen, -ENOENT,
                      "cannot find %s (set TRAWLDIR or use --datadir)", SERVICES_FILE);
  return services_load(out, path, err, errlen);
}

const char *services_name(const struct services *s, enum scan_proto proto,
                          uint16_t port) {
  int32_t i = s ? s->byport[proto][port] : -1;
  return i >= 0 ? s->v[i].name : "unknown";
}

int services_named(const struct services *s, enum scan_proto proto,
                   uint16_t port) {
  return strcmp(services_name(s, proto, port), "unknown") != 0;
}

size_t services_ranked_count(const struct services *s, enum scan_proto proto) {
  return s->nranked[proto];
}

uint16_t services_ranked(const struct services *s, enum scan_proto proto,
                         size_t i) {
  return i < s->nranked[proto] ? s->ranked[proto][i] : 0;
}

size_t services_entry_count(const struct services *s) { return s->n; }

const struct service_entry *services_entry(const struct services *s, size_t i) {
  return i < s->n ? &s->v[i] : NULL;
}
