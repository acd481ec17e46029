/* ports.c: -p syntax, top-ports selection and the port list (see ports.h). */
#define _GNU_SOURCE
#include "core/ports.h"

#include <errno.h>
#include <stdarg.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/errmsg.h"

void portset_clear(struct portset *s) { memset(s, 0, sizeof *s); }

size_t portset_count(const struct portset *s, enum scan_proto p) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof s->bits[p]; i++)
    n += (size_t)__builtin_popcount(s->bits[p][i]);
  return n;
}

void portset_subtract(struct portset *a, const struct portset *b) {
  for (int p = 0; p < PROTO_COUNT; p++)
    for (size_t i = 0; i < sizeof a->bits[p]; i++) a->bits[p][i] &= (uint8_t)~b->bits[p][i];
}

struct pt_ctx {
  const char *spec, *what;
  char *err;
  size_t errlen;
};

static int pt_fail(const struct pt_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int pt_fail(const struct pt_ctx *c, const char *fmt, ...) {
  char q[ERRMSG_QUOTE_MAX + 8], why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return errmsg_set(c->err, c->errlen, TW_EMALFORMED, "invalid %s '%s': %s",
                    c->what, errmsg_quote(q, sizeof q, c->spec, (size_t)-1), why);
}

/* A port number of any length; > 65535 sets *big. Returns digits read. */
static size_t pt_num(const char *s, size_t len, unsigned *out, bool *big) {
  size_t i = 0;
  unsigned long v = 0;
  *big = false;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
    if (!*big) v = v * 10 + (unsigned long)(s[i] - '0');
    if (v > 65535) *big = true;
  }
  *out = (unsigned)v;
  return i;
}

/* "N", "N-M", "-M", "N-", "-": returns 1 and the range when it is one, 0
 * when s is not range syntax, <0 after an error. */
static int pt_range(const struct pt_ctx *c, const char *s, size_t len,
                    unsigned *lo, unsigned *hi) {
  bool big;
  size_t a = pt_num(s, len, lo, &big);
  char q[ERRMSG_QUOTE_MAX + 8];
  if (big) return pt_fail(c, "port %s out of range (0-65535)", errmsg_quote(q, sizeof q, s, a));
  if (a == len) {
    if (a == 0) return 0;
    *hi = *lo;
    return 1;
  }
  if (s[a] != '-') return 0;
  size_t b = pt_num(s + a + 1, len - a - 1, hi, &big);
  if (big)
    return pt_fail(c, "port %s out of range (0-65535)",
                   errmsg_quote(q, sizeof q, s + a + 1, b));
  if (a + 1 + b != len) return 0;
  if (a == 0) *lo = 1;
  if (b == 0) *hi = 65535;
  if (*lo > *hi) return pt_fail(c, "range %u-%u is reversed", *lo, *hi);
  return 1;
}

static int pt_item(struct portset *set, const struct pt_ctx *c, const char *s,
                   size_t len, unsigned protos, const struct services *svc) {
  char q[ERRMSG_QUOTE_MAX + 8];
  if (len == 0) return pt_fail(c, "empty item");
  unsigned lo, hi;
  if (s[0] == '[') {
    if (s[len - 1] != ']' || len < 2) return pt_fail(c, "missing ']'");
    int r = pt_range(c, s + 1, len - 2, &lo, &hi);
    if (r < 0) return r;
    if (r == 0 && len == 2) lo = 1, hi = 65535, r = 1; /* "[]": all named */
    if (r == 0)
      return pt_fail(c, "bad range '%s'", errmsg_quote(q, sizeof q, s, len));
    if (svc == NULL) return pt_fail(c, "no service table for '[...]'");
    for (int p = 0; p < PROTO_COUNT; p++) {
      if (!(protos & PROTO_MASK(p))) continue;
      for (unsigned v = lo; v <= hi; v++)
        if (services_named(svc, (enum scan_proto)p, (uint16_t)v))
          portset_add(set, (enum scan_proto)p, (uint16_t)v);
    }
    return 0;
  }
  int r = pt_range(c, s, len, &lo, &hi);
  if (r < 0) return r;
  if (r == 1) {
    for (int p = 0; p < PROTO_COUNT; p++)
      if (protos & PROTO_MASK(p))
        for (unsigned v = lo; v <= hi; v++) portset_add(set, (enum scan_proto)p, (uint16_t)v);
    return 0;
  }
  /* a service name or pattern */
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
              ch == '+' || ch == '*' || ch == '?';
    if (!ok)
      return pt_fail(c, "bad character '%s'", errmsg_quote(q, sizeof q, s + i, 1));
  }
  if (len > 64) return pt_fail(c, "service name too long");
  if (svc == NULL)
    return pt_fail(c, "service names are not allowed here: '%s'",
                   errmsg_quote(q, sizeof q, s, len));
  char pat[65];
  memcpy(pat, s, len);
  pat[len] = '\0';
  size_t hits = 0;
  for (size_t i = 0; i < services_entry_count(svc); i++) {
    const struct service_entry *e = services_entry(svc, i);
    if (!(protos & PROTO_MASK(e->proto)) || strcmp(e->name, "unknown") == 0) continue;
    if (fnmatch(pat, e->name, FNM_CASEFOLD) != 0) continue;
    portset_add(set, e->proto, e->port);
    hits++;
  }
  if (hits == 0) return pt_fail(c, "unknown service name '%s'", pat);
  return 0;
}

int ports_parse(struct portset *set, const char *spec, unsigned protos,
                int allow_prefix, const struct services *svc, const char *what,
                char *err, size_t errlen) {
  struct pt_ctx c = {spec ? spec : "", what ? what : "port specification", err,
                     errlen};
  const char *s = c.spec;
  size_t len = strlen(s);
  if (len == 0) return pt_fail(&c, "empty port list");
  size_t i = 0;
  unsigned cur = protos;
  for (;;) {
    size_t j = i;
    while (j < len && s[j] != ',') j++;
    const char *it = s + i;
    size_t il = j - i;
    if (il >= 2 && it[1] == ':') {
      if (!allow_prefix) return pt_fail(&c, "protocol prefixes are not allowed here");
      switch (it[0]) {
        /* a prefix for a protocol not being scanned selects nothing */
        case 'T': case 't': cur = PROTO_MASK(PROTO_TCP) & protos; break;
        case 'U': case 'u': cur = PROTO_MASK(PROTO_UDP) & protos; break;
        case 'S': case 's': return pt_fail(&c, "SCTP ports (S:) are not supported");
        case 'P': case 'p': return pt_fail(&c, "IP protocol scans (P:) are not supported");
        default: {
          char q[8];
          return pt_fail(&c, "unknown protocol prefix '%s:'", errmsg_quote(q, sizeof q, it, 1));
        }
      }
      it += 2;
      il -= 2;
    }
    int r = pt_item(set, &c, it, il, cur, svc);
    if (r < 0) return r;
    if (j == len) break;
    i = j + 1;
    if (i == len) return pt_fail(&c, "trailing comma");
  }
  return 0;
}

void ports_add_top(struct portset *set, const struct services *svc,
                   unsigned protos, size_t n, const struct portset *within) {
  for (int p = 0; p < PROTO_COUNT; p++) {
    if (!(protos & PROTO_MASK(p))) continue;
    size_t taken = 0;
    for (size_t i = 0; i < services_ranked_count(svc, (enum scan_proto)p) && taken < n; i++) {
      uint16_t port = services_ranked(svc, (enum scan_proto)p, i);
      if (within != NULL && !portset_has(within, (enum scan_proto)p, port)) continue;
      portset_add(set, (enum scan_proto)p, port);
      taken++;
    }
  }
}

void ports_add_ratio(struct portset *set, const struct services *svc, unsigned protos,
                     double ratio, const struct portset *within) {
  for (size_t i = 0; i < services_entry_count(svc); i++) {
    const struct service_entry *e = services_entry(svc, i);
    if (!(protos & PROTO_MASK(e->proto)) || e->ratio < 0 || e->ratio < ratio) continue;
    if (within != NULL && !portset_has(within, e->proto, e->port)) continue;
    portset_add(set, e->proto, e->port);
  }
}

int portlist_from_set(struct portlist *pl, const struct portset *set) {
  memset(pl, 0, sizeof *pl);
  for (int p = 0; p < PROTO_COUNT; p++) {
    size_t n = portset_count(set, (enum scan_proto)p), k = 0;
    pl->ports[p] = malloc((n ? n : 1) * sizeof(uint16_t));
    if (pl->ports[p] == NULL) {
      portlist_free(pl);
      return -ENOMEM;
    }
    for (unsigned v = 0; v < 65536; v++)
      if (portset_has(set, (enum scan_proto)p, (uint16_t)v)) pl->ports[p][k++] = (uint16_t)v;
    pl->n[p] = n;
  }
  return 0;
}

void portlist_free(struct portlist *pl) {
  for (int p = 0; p < PROTO_COUNT; p++) {
    free(pl->ports[p]);
    pl->ports[p] = NULL;
    pl->n[p] = 0;
  }
}

int portlist_get(const struct portlist *pl, size_t idx, enum scan_proto *proto,
                 uint16_t *port) {
  for (int p = 0; p < PROTO_COUNT; p++) {
    if (idx < pl->n[p]) {
      *proto = (enum scan_proto)p;
      *port = pl->ports[p][idx];
      return 0;
    }
    idx -= pl->n[p];
  }
  return -ERANGE;
}

char *ports_format(const uint16_t *ports, size_t n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL) return NULL;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && ports[j + 1] == ports[j] + 1) j++;
    if (j == i)
      fprintf(f, "%s%u", i ? "," : "", ports[i]);
    else
      fprintf(f, "%s%u-%u", i ? "," : "", ports[i], ports[j]);
    i = j + 1;
  }
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}
