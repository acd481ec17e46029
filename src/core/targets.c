/* targets.c: Nmap target syntax parsed into compact address ranges, with
 * exclusions and an index -> address mapping for the permutation (see
 * targets.h for the accepted syntax and the API). */
#define _GNU_SOURCE
#include "core/targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/errmsg.h"

typedef unsigned __int128 tgt_u128;

struct tgt_r4 {
  uint32_t lo, hi;
};
struct tgt_r6 {
  tgt_u128 lo, hi;
};
struct tgt_v4 {
  struct tgt_r4 *v;
  size_t n, cap;
};
struct tgt_v6 {
  struct tgt_r6 *v;
  size_t n, cap;
};
struct tgt_names {
  struct tgt_name *v;
  size_t n, cap;
};

struct targets {
  struct tgt_v4 inc4, exc4, fin4; /* added, excluded, final */
  struct tgt_v6 inc6, exc6, fin6;
  uint64_t *cum4, *cum6; /* cum[i]: addresses in ranges before range i */
  uint64_t count4, count6;
  struct tgt_names names, exnames;
};

/* ---- vectors -------------------------------------------------------------- */

/* Appends [lo,hi], merging with the last range when they touch. */
/* Make room for one more element in a growing array (doubling, starting
 * at `first`). 0, -ENOMEM, or -E2BIG past `max` elements (0: no limit). */
static int tgt_grow(void **v, size_t *cap, size_t n, size_t elem, size_t first, size_t max) {
  if (n < *cap) return 0;
  if (max && *cap >= max) return -E2BIG;
  size_t nc = *cap ? *cap * 2 : first;
  void *nv = realloc(*v, nc * elem);
  if (nv == NULL) return -ENOMEM;
  *v = nv;
  *cap = nc;
  return 0;
}

static int tgt_push4(struct tgt_v4 *v, uint32_t lo, uint32_t hi) {
  if (v->n > 0) {
    struct tgt_r4 *l = &v->v[v->n - 1];
    if (lo >= l->lo && (l->hi == UINT32_MAX || lo <= l->hi + 1)) {
      if (hi > l->hi) l->hi = hi;
      return 0;
    }
  }
  void *a = v->v;
  int err = tgt_grow(&a, &v->cap, v->n, sizeof *v->v, 16, TARGETS_MAX_RANGES);
  v->v = a;
  if (err) return err;
  v->v[v->n].lo = lo;
  v->v[v->n].hi = hi;
  v->n++;
  return 0;
}

static int tgt_push6(struct tgt_v6 *v, tgt_u128 lo, tgt_u128 hi) {
  if (v->n > 0) {
    struct tgt_r6 *l = &v->v[v->n - 1];
    if (lo >= l->lo && (l->hi == ~(tgt_u128)0 || lo <= l->hi + 1)) {
      if (hi > l->hi) l->hi = hi;
      return 0;
    }
  }
  void *a = v->v;
  int err = tgt_grow(&a, &v->cap, v->n, sizeof *v->v, 16, TARGETS_MAX_RANGES);
  v->v = a;
  if (err) return err;
  v->v[v->n].lo = lo;
  v->v[v->n].hi = hi;
  v->n++;
  return 0;
}

static int tgt_name_push(struct tgt_names *v, const char *s, size_t len,
                         int prefix) {
  void *a = v->v;
  int err = tgt_grow(&a, &v->cap, v->n, sizeof *v->v, 8, 0);
  v->v = a;
  if (err) return err;
  char *c = strndup(s, len);
  if (c == NULL) return -ENOMEM;
  v->v[v->n].name = c;
  v->v[v->n].prefix = prefix;
  v->n++;
  return 0;
}

static int tgt_cmp4(const void *a, const void *b) {
  const struct tgt_r4 *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int tgt_cmp6(const void *a, const void *b) {
  const struct tgt_r6 *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges a vector in place. */
static void tgt_norm4(struct tgt_v4 *v) {
  if (v->n < 2) return;
  qsort(v->v, v->n, sizeof v->v[0], tgt_cmp4);
  size_t o = 0;
  for (size_t i = 1; i < v->n; i++) {
    struct tgt_r4 *l = &v->v[o];
    if (l->hi == UINT32_MAX || v->v[i].lo <= l->hi + 1) {
      if (v->v[i].hi > l->hi) l->hi = v->v[i].hi;
    } else {
      v->v[++o] = v->v[i];
    }
  }
  v->n = o + 1;
}

static void tgt_norm6(struct tgt_v6 *v) {
  if (v->n < 2) return;
  qsort(v->v, v->n, sizeof v->v[0], tgt_cmp6);
  size_t o = 0;
  for (size_t i = 1; i < v->n; i++) {
    struct tgt_r6 *l = &v->v[o];
    if (l->hi == ~(tgt_u128)0 || v->v[i].lo <= l->hi + 1) {
      if (v->v[i].hi > l->hi) l->hi = v->v[i].hi;
    } else {
      v->v[++o] = v->v[i];
    }
  }
  v->n = o + 1;
}

/* ---- life cycle ------------------------------------------------------------ */

struct targets *targets_new(void) { return calloc(1, sizeof(struct targets)); }

static void tgt_names_free(struct tgt_names *v) {
  for (size_t i = 0; i < v->n; i++) free(v->v[i].name);
  free(v->v);
}

void targets_free(struct targets *t) {
  if (t == NULL) return;
  free(t->inc4.v);
  free(t->exc4.v);
  free(t->fin4.v);
  free(t->inc6.v);
  free(t->exc6.v);
  free(t->fin6.v);
  free(t->cum4);
  free(t->cum6);
  tgt_names_free(&t->names);
  tgt_names_free(&t->exnames);
  free(t);
}

/* ---- address helpers --------------------------------------------------------- */

static tgt_u128 tgt_in6_to_u128(const struct in6_addr *a) {
  tgt_u128 v = 0;
  for (int i = 0; i < 16; i++) v = (v << 8) | a->s6_addr[i];
  return v;
}

static void tgt_u128_to_in6(tgt_u128 v, struct in6_addr *a) {
  for (int i = 15; i >= 0; i--) {
    a->s6_addr[i] = (uint8_t)v;
    v >>= 8;
  }
}

static void tgt_cidr4(uint32_t a, int prefix, uint32_t *lo, uint32_t *hi) {
  uint32_t mask = prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
  *lo = a & mask;
  *hi = *lo | ~mask;
}

static void tgt_cidr6(tgt_u128 a, int prefix, tgt_u128 *lo, tgt_u128 *hi) {
  tgt_u128 mask = prefix == 0 ? 0 : ~(tgt_u128)0 << (128 - prefix);
  *lo = a & mask;
  *hi = *lo | ~mask;
}

const char *tgt_addr_str(const struct tgt_addr *a, char *buf, size_t len) {
  if (inet_ntop(a->family, &a->u, buf, (socklen_t)len) == NULL) {
    if (len > 0) buf[0] = '\0';
  }
  return buf;
}

/* ---- parsing ---------------------------------------------------------------- */

/* Context for error messages: the whole spec and, for files, where. */
struct tgt_ctx {
  const char *spec;
  size_t speclen;
  const char *origin;
  unsigned line;
  bool exclude;
  char *err;
  size_t errlen;
};

static int tgt_fail(const struct tgt_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tgt_fail(const struct tgt_ctx *c, int code, const char *fmt, ...) {
  char q[ERRMSG_QUOTE_MAX + 8], why[256], where[ERRMSG_QUOTE_MAX + 32] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (c->origin != NULL) {
    char qo[ERRMSG_QUOTE_MAX + 8];
    snprintf(where, sizeof where, "%s:%u: ",
             errmsg_quote(qo, sizeof qo, c->origin, (size_t)-1), c->line);
  }
  return errmsg_set(c->err, c->errlen, code, "%sinvalid %s '%s': %s", where,
                    c->exclude ? "exclusion" : "target",
                    errmsg_quote(q, sizeof q, c->spec, c->speclen), why);
}

/* Parses a decimal number of any length without overflow: a value above
 * limit only sets *big. Returns the number
 * of characters consumed (0 when s does not start with a digit). */
static size_t tgt_num(const char *s, size_t len, unsigned limit,
                      unsigned *out, bool *big) {
  size_t i = 0;
  unsigned long v = 0;
  *big = false;
  while (i < len && s[i] >= '0' && s[i] <= '9') {
    if (!*big) {
      v = v * 10 + (unsigned long)(s[i] - '0');
      if (v > limit) *big = true;
    }
    i++;
  }
  *out = (unsigned)v;
  return i;
}

static int tgt_prefix(const struct tgt_ctx *c, const char *s, size_t len,
                      int max, int *out) {
  unsigned v;
  bool big;
  size_t n = tgt_num(s, len, (unsigned)max, &v, &big);
  if (n == 0 || n != len) return tgt_fail(c, TW_EMALFORMED, "bad prefix length");
  if (big) {
    char q[ERRMSG_QUOTE_MAX + 8];
    return tgt_fail(c, TW_EMALFORMED, "prefix length %s out of range (0-%d)",
                    errmsg_quote(q, sizeof q, s, len), max);
  }
  *out = (int)v;
  return 0;
}

/* One octet of an IPv4 pattern into a 256-bit set. */
static int tgt_octet(const struct tgt_ctx *c, const char *s, size_t len,
                     int which, uint8_t set[32]) {
  static const char *const nth[] = {"first", "second", "third", "fourth"};
  memset(set, 0, 32);
  if (len == 0) return tgt_fail(c, TW_EMALFORMED, "empty %s octet", nth[which]);
  if (len == 1 && s[0] == '*') {
    memset(set, 0xff, 32);
    return 0;
  }
  size_t i = 0;
  for (;;) {
    size_t j = i;
    while (j < len && s[j] != ',') j++;
    const char *it = s + i;
    size_t il = j - i;
    if (il == 0) return tgt_fail(c, TW_EMALFORMED, "empty item in %s octet", nth[which]);
    unsigned lo = 0, hi = 255;
    bool big;
    size_t n = tgt_num(it, il, 255, &lo, &big);
    if (big) {
      char q[ERRMSG_QUOTE_MAX + 8];
      return tgt_fail(c, TW_EMALFORMED, "octet %s out of range",
                      errmsg_quote(q, sizeof q, it, n));
    }
    if (n == il) {
      hi = lo; /* single number */
    } else if (it[n] == '-' && (n > 0 || il > 1)) {
      if (n == 0) lo = 0;
      size_t m = tgt_num(it + n + 1, il - n - 1, 255, &hi, &big);
      if (big) {
        char q[ERRMSG_QUOTE_MAX + 8];
        return tgt_fail(c, TW_EMALFORMED, "octet %s out of range",
                        errmsg_quote(q, sizeof q, it + n + 1, m));
      }
      if (n + 1 + m != il) return tgt_fail(c, TW_EMALFORMED, "bad octet range");
      if (m == 0) hi = 255;
      if (lo > hi)
        return tgt_fail(c, TW_EMALFORMED, "octet range %u-%u is reversed", lo, hi);
    } else if (it[n] == '*') {
      return tgt_fail(c, TW_EMALFORMED, "'*' must stand alone in an octet");
    } else {
      return tgt_fail(c, TW_EMALFORMED, "bad character in %s octet", nth[which]);
    }
    for (unsigned v = lo; v <= hi; v++) set[v >> 3] |= (uint8_t)(1u << (v & 7));
    if (j == len) break;
    i = j + 1;
    if (i == len) return tgt_fail(c, TW_EMALFORMED, "trailing comma in %s octet", nth[which]);
  }
  return 0;
}

static bool tgt_bit(const uint8_t set[32], unsigned v) {
  return (set[v >> 3] >> (v & 7)) & 1;
}

/* An octet pattern, ready to emit: the members of octets 0..j-1 and the
 * runs of octet j (octets after j are full). Listing them once keeps the
 * emission linear in the ranges it pushes: scanning octet j's 256 bits for
 * every prefix made "83-.5-.25-.2" take seconds (found by fuzz_targets). */
struct tgt_pattern {
  uint8_t mem[3][256];
  int nmem[3];
  uint8_t rlo[128], rhi[128];
  int nruns;
  int j;
};

static void tgt_pattern_init(struct tgt_pattern *p, uint8_t sets[4][32], int j) {
  p->j = j;
  for (int o = 0; o < j; o++) {
    p->nmem[o] = 0;
    for (unsigned v = 0; v < 256; v++)
      if (tgt_bit(sets[o], v)) p->mem[o][p->nmem[o]++] = (uint8_t)v;
  }
  p->nruns = 0;
  for (unsigned v = 0; v < 256;) {
    if (!tgt_bit(sets[j], v)) {
      v++;
      continue;
    }
    unsigned e = v;
    while (e + 1 < 256 && tgt_bit(sets[j], e + 1)) e++;
    p->rlo[p->nruns] = (uint8_t)v;
    p->rhi[p->nruns++] = (uint8_t)e;
    v = e + 1;
  }
}

/* The fewest ranges the pattern can come to once touching ranges merge:
 * the last run of one prefix merges with the first of the next only when
 * octet j holds both 255 and 0 (and, being not full, has two runs). */
static uint64_t tgt_pattern_min_ranges(const struct tgt_pattern *p) {
  uint64_t prefixes = 1;
  for (int o = 0; o < p->j; o++) prefixes *= (uint64_t)p->nmem[o];
  uint64_t total = prefixes * (uint64_t)p->nruns;
  bool wraps = p->nruns >= 2 && p->rlo[0] == 0 && p->rhi[p->nruns - 1] == 255;
  return wraps ? total - prefixes + 1 : total;
}

/* Emits the ranges of a pattern: each combination of members of octets
 * 0..j-1 and each run of octet j is one range. */
static int tgt_emit(struct tgt_v4 *out, const struct tgt_pattern *p, int o, uint32_t prefix) {
  int shift = 8 * (3 - o);
  if (o < p->j) {
    for (int i = 0; i < p->nmem[o]; i++) {
      int r = tgt_emit(out, p, o + 1, prefix | (uint32_t)p->mem[o][i] << shift);
      if (r < 0) return r;
    }
    return 0;
  }
  uint32_t low = (1u << shift) - 1; /* the full octets after o; shift <= 24 */
  for (int i = 0; i < p->nruns; i++) {
    int r = tgt_push4(out, prefix | (uint32_t)p->rlo[i] << shift,
                      prefix | (uint32_t)p->rhi[i] << shift | low);
    if (r < 0) return r;
  }
  return 0;
}

static int tgt_parse_v4(struct targets *t, const struct tgt_ctx *c,
                        const char *s, size_t len) {
  struct tgt_v4 *dst = c->exclude ? &t->exc4 : &t->inc4;
  const char *slash = memchr(s, '/', len);
  size_t alen = slash ? (size_t)(slash - s) : len;
  const char *parts[4];
  size_t plen[4];
  int np = 0;
  size_t i = 0;
  for (;;) {
    size_t j = i;
    while (j < alen && s[j] != '.') j++;
    if (np == 4) {
      int more = 5;
      for (size_t k = j; k < alen; k++) more += s[k] == '.';
      return tgt_fail(c, TW_EMALFORMED, "expected 4 octets, found %d", more);
    }
    parts[np] = s + i;
    plen[np] = j - i;
    np++;
    if (j == alen) break;
    i = j + 1;
  }
  if (np != 4) return tgt_fail(c, TW_EMALFORMED, "expected 4 octets, found %d", np);
  uint8_t sets[4][32];
  for (int k = 0; k < 4; k++) {
    int r = tgt_octet(c, parts[k], plen[k], k, sets[k]);
    if (r < 0) return r;
  }
  if (slash != NULL) {
    uint32_t a = 0;
    for (int k = 0; k < 4; k++) {
      unsigned v;
      bool big;
      if (tgt_num(parts[k], plen[k], 255, &v, &big) != plen[k])
        return tgt_fail(c, TW_EMALFORMED, "a prefix length cannot follow an octet range");
      a = a << 8 | v;
    }
    int prefix;
    int r = tgt_prefix(c, slash + 1, len - alen - 1, 32, &prefix);
    if (r < 0) return r;
    uint32_t lo, hi;
    tgt_cidr4(a, prefix, &lo, &hi);
    r = tgt_push4(dst, lo, hi);
    if (r == -E2BIG) return tgt_fail(c, r, "too many address ranges");
    return r < 0 ? errmsg_set(c->err, c->errlen, r, "out of memory") : 0;
  }
  int j = 3;
  while (j > 0) {
    bool full = true;
    for (int b = 0; b < 32; b++) full = full && sets[j][b] == 0xff;
    if (!full) break;
    j--;
  }
  struct tgt_pattern pat;
  tgt_pattern_init(&pat, sets, j);
  /* more ranges than a set may hold: say so at once, without building
   * millions of them first */
  int r = tgt_pattern_min_ranges(&pat) > (uint64_t)TARGETS_MAX_RANGES + 1
              ? -E2BIG
              : tgt_emit(dst, &pat, 0, 0);
  if (r == -E2BIG)
    return tgt_fail(c, r, "pattern expands to more than %u ranges",
                    TARGETS_MAX_RANGES);
  return r < 0 ? errmsg_set(c->err, c->errlen, r, "out of memory") : 0;
}

static int tgt_parse_v6(struct targets *t, const struct tgt_ctx *c,
                        const char *s, size_t len) {
  const char *slash = memchr(s, '/', len);
  size_t alen = slash ? (size_t)(slash - s) : len;
  char buf[INET6_ADDRSTRLEN + 1];
  if (memchr(s, '%', alen) != NULL)
    return tgt_fail(c, TW_EMALFORMED, "IPv6 scope ids are not supported");
  if (alen >= sizeof buf) return tgt_fail(c, TW_EMALFORMED, "bad IPv6 address");
  memcpy(buf, s, alen);
  buf[alen] = '\0';
  struct in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1)
    return tgt_fail(c, TW_EMALFORMED, "bad IPv6 address");
  int prefix = 128;
  if (slash != NULL) {
    int r = tgt_prefix(c, slash + 1, len - alen - 1, 128, &prefix);
    if (r < 0) return r;
  }
  tgt_u128 lo, hi;
  tgt_cidr6(tgt_in6_to_u128(&a6), prefix, &lo, &hi);
  int r = tgt_push6(c->exclude ? &t->exc6 : &t->inc6, lo, hi);
  if (r == -E2BIG) return tgt_fail(c, r, "too many address ranges");
  return r < 0 ? errmsg_set(c->err, c->errlen, r, "out of memory") : 0;
}

static int tgt_parse_name(struct targets *t, const struct tgt_ctx *c,
                          const char *s, size_t len) {
  const char *slash = memchr(s, '/', len);
  size_t nlen = slash ? (size_t)(slash - s) : len;
  int prefix = -1;
  if (nlen == 0) return tgt_fail(c, TW_EMALFORMED, "empty hostname");
  if (nlen > 253) return tgt_fail(c, TW_EMALFORMED, "hostname longer than 253 characters");
  size_t label = 0;
  for (size_t i = 0; i < nlen; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '.') {
      if (label == 0) return tgt_fail(c, TW_EMALFORMED, "empty label in hostname");
      if (s[i - 1] == '-')
        return tgt_fail(c, TW_EMALFORMED, "hostname label ends with '-'");
      label = 0;
      continue;
    }
    if (ch == '-' && label == 0)
      return tgt_fail(c, TW_EMALFORMED, "hostname label starts with '-'");
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    if (!ok) {
      char q[8];
      return tgt_fail(c, TW_EMALFORMED, "invalid character '%s' in hostname",
                      errmsg_quote(q, sizeof q, (const char *)&s[i], 1));
    }
    if (++label > 63) return tgt_fail(c, TW_EMALFORMED, "hostname label longer than 63 characters");
  }
  if (s[nlen - 1] == '-')
    return tgt_fail(c, TW_EMALFORMED, "hostname label ends with '-'");
  if (slash != NULL) {
    int r = tgt_prefix(c, slash + 1, len - nlen - 1, 128, &prefix);
    if (r < 0) return r;
  }
  int r = tgt_name_push(c->exclude ? &t->exnames : &t->names, s, nlen, prefix);
  return r < 0 ? errmsg_set(c->err, c->errlen, r, "out of memory") : 0;
}

/* Classifies and parses one expression. */
static int tgt_spec(struct targets *t, const char *s, size_t len,
                    struct tgt_ctx *c) {
  c->spec = s;
  c->speclen = len;
  if (len == 0) return tgt_fail(c, TW_EMALFORMED, "empty target");
  if (memchr(s, ':', len) != NULL) return tgt_parse_v6(t, c, s, len);
  bool v4 = true, digit = false;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (ch >= '0' && ch <= '9')
      digit = true;
    else if (ch != '.' && ch != ',' && ch != '-' && ch != '*' && ch != '/')
      v4 = false;
  }
  if (v4 && (digit || memchr(s, '*', len) != NULL)) return tgt_parse_v4(t, c, s, len);
  return tgt_parse_name(t, c, s, len);
}

int targets_add(struct targets *t, const char *spec, char *err, size_t errlen) {
  struct tgt_ctx c = {.err = err, .errlen = errlen};
  if (spec == NULL) spec = "";
  return tgt_spec(t, spec, strlen(spec), &c);
}

static bool tgt_space(char ch, bool commas) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
         ch == '\f' || (commas && ch == ',');
}

/* Splits text into expressions; # comments run to the end of the line. */
static int tgt_text(struct targets *t, const char *text, size_t len,
                    bool commas, struct tgt_ctx *c) {
  size_t i = 0;
  while (i < len) {
    char ch = text[i];
    if (ch == '\n') {
      c->line++;
      i++;
    } else if (tgt_space(ch, commas)) {
      i++;
    } else if (ch == '#') {
      while (i < len && text[i] != '\n') i++;
    } else if (ch == '\0') {
      c->spec = text + i;
      c->speclen = 1;
      return tgt_fail(c, TW_EMALFORMED, "NUL byte in input");
    } else {
      size_t j = i;
      while (j < len && !tgt_space(text[j], commas) && text[j] != '#' &&
             text[j] != '\0')
        j++;
      int r = tgt_spec(t, text + i, j - i, c);
      if (r < 0) return r;
      i = j;
    }
  }
  return 0;
}

int targets_add_text(struct targets *t, const char *text, size_t len,
                     const char *origin, char *err, size_t errlen) {
  struct tgt_ctx c = {.origin = origin, .line = 1, .err = err, .errlen = errlen};
  return tgt_text(t, text, len, false, &c);
}

int targets_exclude(struct targets *t, const char *list, char *err,
                    size_t errlen) {
  struct tgt_ctx c = {.exclude = true, .err = err, .errlen = errlen};
  if (list == NULL) list = "";
  return tgt_text(t, list, strlen(list), true, &c);
}

/* Reads a file line by line (bounded memory) into the set. */
static int tgt_file(struct targets *t, const char *path, bool exclude,
                    char *err, size_t errlen) {
  char q[ERRMSG_QUOTE_MAX + 8];
  bool is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "r");
  if (f == NULL)
    return errmsg_set(err, errlen, -errno, "cannot open %s file '%s': %s",
                      exclude ? "exclude" : "target",
                      errmsg_quote(q, sizeof q, path, (size_t)-1), strerror(errno));
  struct tgt_ctx c = {.origin = path, .line = 1, .exclude = exclude,
                      .err = err, .errlen = errlen};
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int r = 0;
  while ((n = getline(&line, &cap, f)) > 0) {
    r = tgt_text(t, line, (size_t)n, exclude, &c);
    if (r < 0) break;
    /* tgt_text counted the newline; keep c.line in step either way */
    if (line[n - 1] != '\n') c.line++;
  }
  if (r == 0 && ferror(f))
    r = errmsg_set(err, errlen, -EIO, "error reading '%s'",
                   errmsg_quote(q, sizeof q, path, (size_t)-1));
  free(line);
  if (!is_stdin) fclose(f);
  return r;
}

int targets_add_file(struct targets *t, const char *path, char *err,
                     size_t errlen) {
  return tgt_file(t, path, false, err, errlen);
}

int targets_exclude_file(struct targets *t, const char *path, char *err,
                         size_t errlen) {
  return tgt_file(t, path, true, err, errlen);
}

static int tgt_addr_range(struct targets *t, const struct tgt_addr *a,
                          int prefix, bool exclude) {
  if (a->family == AF_INET) {
    if (prefix < 0 || prefix > 32) return -EINVAL;
    uint32_t lo, hi;
    tgt_cidr4(ntohl(a->u.v4.s_addr), prefix, &lo, &hi);
    return tgt_push4(exclude ? &t->exc4 : &t->inc4, lo, hi);
  }
  if (a->family == AF_INET6) {
    if (prefix < 0 || prefix > 128) return -EINVAL;
    tgt_u128 lo, hi;
    tgt_cidr6(tgt_in6_to_u128(&a->u.v6), prefix, &lo, &hi);
    return tgt_push6(exclude ? &t->exc6 : &t->inc6, lo, hi);
  }
  return -EAFNOSUPPORT;
}

int targets_add_addr(struct targets *t, const struct tgt_addr *a, int prefix) {
  return tgt_addr_range(t, a, prefix, false);
}

int targets_exclude_addr(struct targets *t, const struct tgt_addr *a,
                         int prefix) {
  return tgt_addr_range(t, a, prefix, true);
}

/* ---- finalize and lookup ------------------------------------------------------ */

static int tgt_sub4(const struct tgt_v4 *inc, const struct tgt_v4 *exc,
                    struct tgt_v4 *out) {
  size_t e = 0;
  out->n = 0;
  for (size_t i = 0; i < inc->n; i++) {
    uint64_t lo = inc->v[i].lo, hi = inc->v[i].hi;
    while (e < exc->n && exc->v[e].hi < lo) e++;
    size_t k = e;
    while (lo <= hi) {
      if (k >= exc->n || exc->v[k].lo > hi) {
        int r = tgt_push4(out, (uint32_t)lo, (uint32_t)hi);
        if (r < 0) return r;
        break;
      }
      if (exc->v[k].lo > lo) {
        int r = tgt_push4(out, (uint32_t)lo, exc->v[k].lo - 1);
        if (r < 0) return r;
      }
      lo = (uint64_t)exc->v[k].hi + 1;
      k++;
    }
  }
  return 0;
}

static int tgt_sub6(const struct tgt_v6 *inc, const struct tgt_v6 *exc,
                    struct tgt_v6 *out) {
  size_t e = 0;
  out->n = 0;
  for (size_t i = 0; i < inc->n; i++) {
    tgt_u128 lo = inc->v[i].lo, hi = inc->v[i].hi;
    while (e < exc->n && exc->v[e].hi < lo) e++;
    size_t k = e;
    for (;;) {
      if (k >= exc->n || exc->v[k].lo > hi) {
        int r = tgt_push6(out, lo, hi);
        if (r < 0) return r;
        break;
      }
      if (exc->v[k].lo > lo) {
        int r = tgt_push6(out, lo, exc->v[k].lo - 1);
        if (r < 0) return r;
      }
      if (exc->v[k].hi >= hi) break; /* also covers hi == max */
      lo = exc->v[k].hi + 1;
      k++;
    }
  }
  return 0;
}

int targets_finalize(struct targets *t, char *err, size_t errlen) {
  tgt_norm4(&t->inc4);
  tgt_norm4(&t->exc4);
  tgt_norm6(&t->inc6);
  tgt_norm6(&t->exc6);
  int r = tgt_sub4(&t->inc4, &t->exc4, &t->fin4);
  if (r == 0) r = tgt_sub6(&t->inc6, &t->exc6, &t->fin6);
  if (r < 0) return errmsg_set(err, errlen, r, "too many address ranges");
  free(t->cum4);
  free(t->cum6);
  t->cum4 = malloc((t->fin4.n + 1) * sizeof *t->cum4);
  t->cum6 = malloc((t->fin6.n + 1) * sizeof *t->cum6);
  if (t->cum4 == NULL || t->cum6 == NULL)
    return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  uint64_t sum = 0;
  for (size_t i = 0; i < t->fin4.n; i++) {
    t->cum4[i] = sum;
    sum += (uint64_t)t->fin4.v[i].hi - t->fin4.v[i].lo + 1;
  }
  t->cum4[t->fin4.n] = sum;
  t->count4 = sum;
  tgt_u128 s6 = 0;
  for (size_t i = 0; i < t->fin6.n; i++) {
    t->cum6[i] = (uint64_t)s6;
    tgt_u128 span = t->fin6.v[i].hi - t->fin6.v[i].lo; /* count - 1 */
    s6 += span;
    if (span >= UINT64_MAX || s6 + 1 > (tgt_u128)UINT64_MAX - t->count4)
      return errmsg_set(err, errlen, -E2BIG,
                        "too many target addresses (more than 2^64-1)");
    s6 += 1;
  }
  t->cum6[t->fin6.n] = (uint64_t)s6;
  t->count6 = (uint64_t)s6;
  return 0;
}

uint64_t targets_count(const struct targets *t) { return t->count4 + t->count6; }
uint64_t targets_count4(const struct targets *t) { return t->count4; }
uint64_t targets_count6(const struct targets *t) { return t->count6; }
size_t targets_range_count(const struct targets *t) {
  return t->fin4.n + t->fin6.n;
}

/* The range i with cum[i] <= idx < cum[i+1]. */
static size_t tgt_find(const uint64_t *cum, size_t n, uint64_t idx) {
  size_t lo = 0, hi = n; /* answer in [lo, hi) */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (cum[mid] <= idx)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

int targets_get(const struct targets *t, uint64_t idx, struct tgt_addr *out) {
  memset(out, 0, sizeof *out);
  if (idx < t->count4) {
    size_t i = tgt_find(t->cum4, t->fin4.n, idx);
    out->family = AF_INET;
    out->u.v4.s_addr = htonl(t->fin4.v[i].lo + (uint32_t)(idx - t->cum4[i]));
    return 0;
  }
  idx -= t->count4;
  if (idx < t->count6) {
    size_t i = tgt_find(t->cum6, t->fin6.n, idx);
    out->family = AF_INET6;
    tgt_u128_to_in6(t->fin6.v[i].lo + (idx - t->cum6[i]), &out->u.v6);
    return 0;
  }
  return -ERANGE;
}

int targets_contains(const struct targets *t, const struct tgt_addr *a) {
  if (a->family == AF_INET) {
    uint32_t v = ntohl(a->u.v4.s_addr);
    size_t lo = 0, hi = t->fin4.n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (t->fin4.v[mid].hi < v)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < t->fin4.n && t->fin4.v[lo].lo <= v;
  }
  if (a->family == AF_INET6) {
    tgt_u128 v = tgt_in6_to_u128(&a->u.v6);
    size_t lo = 0, hi = t->fin6.n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (t->fin6.v[mid].hi < v)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo < t->fin6.n && t->fin6.v[lo].lo <= v;
  }
  return 0;
}

size_t targets_name_count(const struct targets *t) { return t->names.n; }
const struct tgt_name *targets_name(const struct targets *t, size_t i) {
  return i < t->names.n ? &t->names.v[i] : NULL;
}
size_t targets_excluded_name_count(const struct targets *t) {
  return t->exnames.n;
}
const struct tgt_name *targets_excluded_name(const struct targets *t,
                                             size_t i) {
  return i < t->exnames.n ? &t->exnames.v[i] : NULL;
}

/* ---- ranges a random draw avoids ------------------------------------------ */

static const struct {
  uint8_t b[4];
  int bits;
} tgt_reserved[] = {
    {{0, 0, 0, 0}, 8},      {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
    {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12},  {{192, 0, 0, 0}, 24},  {{192, 0, 2, 0}, 24},
    {{192, 88, 99, 0}, 24}, {{192, 168, 0, 0}, 16}, {{198, 18, 0, 0}, 15}, {{198, 51, 100, 0}, 24},
    {{203, 0, 113, 0}, 24}, {{224, 0, 0, 0}, 3}};

static uint32_t tgt_u32(const uint8_t b[4]) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int tgt_reserved4(const uint8_t a[4]) {
  uint32_t x = tgt_u32(a);
  for (size_t k = 0; k < sizeof tgt_reserved / sizeof tgt_reserved[0]; k++) {
    uint32_t m = ~0u << (32 - tgt_reserved[k].bits);
    if ((x & m) == tgt_u32(tgt_reserved[k].b)) return 1;
  }
  return 0;
}

size_t tgt_reserved4_count(void) { return sizeof tgt_reserved / sizeof tgt_reserved[0]; }

int tgt_reserved4_range(size_t i, struct tgt_addr *out) {
  if (i >= tgt_reserved4_count()) return -ERANGE;
  memset(out, 0, sizeof *out);
  out->family = AF_INET;
  memcpy(&out->u.v4, tgt_reserved[i].b, 4);
  return tgt_reserved[i].bits;
}
