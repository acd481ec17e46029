/* os-db.c: loading Nmap's nmap-os-db into interned, pre-parsed expressions
 * (see os-db.h for the format and the layout kept in memory). */
#define _GNU_SOURCE
#include "db/os-db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/datadir.h"
#include "core/errmsg.h"
#include "db/dbline.h"

/* Lines longer than this are malformed (the longest real one is < 1 KB). */
#define OSDB_LINE_MAX 16384
/* An expression has at most this many alternatives. */
#define OSDB_ALT_MAX 256

static const char *const osdb_tests[OSDB_NTESTS] = {
    "SEQ", "OPS", "WIN", "ECN", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "U1", "IE"};

#define OSDB_TATTRS {"R", "DF", "T", "TG", "W", "S", "A", "F", "O", "RD", "Q", NULL}
static const char *const osdb_schema[OSDB_NTESTS][OSDB_MAXATTR] = {
    /* R of SEQ, OPS and WIN appears only as R=N (no answers to base the
     * test on) and has no MatchPoints weight */
    [OSDB_SEQ] = {"SP", "GCD", "ISR", "TI", "CI", "II", "SS", "TS", "R", NULL},
    [OSDB_OPS] = {"O1", "O2", "O3", "O4", "O5", "O6", "R", NULL},
    [OSDB_WIN] = {"W1", "W2", "W3", "W4", "W5", "W6", "R", NULL},
    [OSDB_ECN] = {"R", "DF", "T", "TG", "W", "O", "CC", "Q", NULL},
    /* T1's window and options are WIN.W1 and OPS.O1 */
    [OSDB_T1] = {"R", "DF", "T", "TG", "S", "A", "F", "RD", "Q", NULL},
    [OSDB_T2] = OSDB_TATTRS, [OSDB_T3] = OSDB_TATTRS,
    [OSDB_T4] = OSDB_TATTRS, [OSDB_T5] = OSDB_TATTRS, [OSDB_T6] = OSDB_TATTRS,
    [OSDB_T7] = OSDB_TATTRS,
    [OSDB_U1] = {"R", "DF", "T", "TG", "IPL", "UN", "RIPL", "RID", "RIPCK", "RUCK",
                 "RUD", NULL},
    [OSDB_IE] = {"R", "DFI", "T", "TG", "CD", NULL},
};

const char *osdb_test_name(enum osdb_test t) {
  return (unsigned)t < OSDB_NTESTS ? osdb_tests[t] : NULL;
}

int osdb_test_lookup(const char *name, size_t len) {
  for (int t = 0; t < OSDB_NTESTS; t++)
    if (strlen(osdb_tests[t]) == len && memcmp(osdb_tests[t], name, len) == 0) return t;
  return -1;
}

unsigned osdb_attr_count(enum osdb_test t) {
  unsigned n = 0;
  if ((unsigned)t >= OSDB_NTESTS) return 0;
  while (n < OSDB_MAXATTR && osdb_schema[t][n] != NULL) n++;
  return n;
}

const char *osdb_attr_name(enum osdb_test t, unsigned idx) {
  return idx < osdb_attr_count(t) ? osdb_schema[t][idx] : NULL;
}

int osdb_key_lookup(enum osdb_test t, const char *name, size_t len) {
  unsigned n = osdb_attr_count(t);
  for (unsigned i = 0; i < n; i++)
    if (strlen(osdb_schema[t][i]) == len && memcmp(osdb_schema[t][i], name, len) == 0)
      return (int)OSDB_KEY(t, i);
  return -1;
}

int osdb_hex(const char *s, size_t len, uint64_t *v) {
  uint64_t x = 0;
  if (len == 0 || len > 16) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else if (c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else
      return 0;
    x = x << 4 | d;
  }
  *v = x;
  return 1;
}

void osdb_value_set(struct osdb_value *v, const char *s, size_t len) {
  v->s = s;
  v->len = len;
  v->num = 0;
  v->isnum = osdb_hex(s, len, &v->num);
}

/* ---- storage ----------------------------------------------------------- */

struct osdb_expr {
  uint32_t text; /* source text */
  uint32_t alt_first;
  uint32_t nalt;
};

struct osdb {
  char *path;
  unsigned nwarn;
  int have_points;
  uint16_t weight[OSDB_NKEYS];
  struct osdb_fp *fp;
  size_t nfp, capfp;
  struct osdb_class *cls;
  size_t ncls, capcls;
  struct osdb_cpe *cpe;
  size_t ncpe, capcpe;
  uint32_t *attr;
  size_t nattr, capattr;
  struct osdb_expr *expr;
  size_t nexpr, capexpr;
  struct osdb_alt *alt;
  size_t nalt, capalt;
  char *pool;
  size_t npool, cappool;
  uint32_t *hash; /* expression intern table: id + 1, 0 = empty */
  size_t caphash;
};

/* Grows a vector so that one more element fits. 0 or -ENOMEM. */
static int osdb_grow(void **v, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 256;
  if (nc > (size_t)UINT32_MAX) return -ENOMEM;
  void *nv = realloc(*v, nc * elem);
  if (nv == NULL) return -ENOMEM;
  *v = nv;
  *cap = nc;
  return 0;
}
#define OSDB_PUSH(db, vec, n, cap) osdb_grow((void **)&(db)->vec, &(db)->cap, (db)->n, sizeof *(db)->vec)

/* Copies s[0..len) into the pool; its offset goes to *off. */
static int osdb_pool_add(struct osdb *db, const char *s, size_t len, uint32_t *off) {
  while (db->npool + len + 1 > db->cappool) {
    size_t nc = db->cappool ? db->cappool * 2 : 65536;
    if (nc > (size_t)UINT32_MAX) return -ENOMEM;
    char *np = realloc(db->pool, nc);
    if (np == NULL) return -ENOMEM;
    db->pool = np;
    db->cappool = nc;
  }
  memcpy(db->pool + db->npool, s, len);
  db->pool[db->npool + len] = '\0';
  *off = (uint32_t)db->npool;
  db->npool += len + 1;
  return 0;
}

void osdb_free(struct osdb *db) {
  if (db == NULL) return;
  free(db->path);
  free(db->fp);
  free(db->cls);
  free(db->cpe);
  free(db->attr);
  free(db->expr);
  free(db->alt);
  free(db->pool);
  free(db->hash);
  free(db);
}

/* ---- parsing ----------------------------------------------------------- */

/* The state of one load. */
struct osdb_ld {
  struct osdb *db;
  struct dbline *dl;
  int in_points;       /* after MatchPoints, before the first Fingerprint */
  int in_fp;           /* a Fingerprint is open */
};

#define osdb_warn(ld, ...) dbline_warn((ld)->dl, __VA_ARGS__)

static uint32_t osdb_fnv(const char *s, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static int osdb_hash_grow(struct osdb *db) {
  size_t nc = db->caphash ? db->caphash * 2 : 4096;
  uint32_t *nh = calloc(nc, sizeof *nh);
  if (nh == NULL) return -ENOMEM;
  for (size_t e = 0; e < db->nexpr; e++) {
    const char *t = db->pool + db->expr[e].text;
    size_t i = osdb_fnv(t, strlen(t)) & (nc - 1);
    while (nh[i]) i = (i + 1) & (nc - 1);
    nh[i] = (uint32_t)e + 1;
  }
  free(db->hash);
  db->hash = nh;
  db->caphash = nc;
  return 0;
}

/* Parses one alternative s[0..len) into a. 0, or -1 when malformed. */
static int osdb_alt_parse(struct osdb *db, const char *s, size_t len, struct osdb_alt *a) {
  memset(a, 0, sizeof *a);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '%' || c == '=') return -1;
  }
  if (len > 0 && (s[0] == '>' || s[0] == '<')) {
    a->op = s[0] == '>' ? OSDB_OP_GT : OSDB_OP_LT;
    return osdb_hex(s + 1, len - 1, &a->lo) ? 0 : -1;
  }
  const char *dash = memchr(s, '-', len);
  if (dash != NULL) {
    size_t l1 = (size_t)(dash - s);
    a->op = OSDB_OP_RANGE;
    if (!osdb_hex(s, l1, &a->lo) || !osdb_hex(dash + 1, len - l1 - 1, &a->hi)) return -1;
    return a->lo <= a->hi ? 0 : -1;
  }
  a->op = OSDB_OP_EQ;
  a->isnum = (uint8_t)osdb_hex(s, len, &a->lo);
  a->slen = (uint16_t)len;
  return osdb_pool_add(db, s, len, &a->str) < 0 ? -2 : 0;
}

/* Interns expression s[0..len): its id goes to *id. 0, -1 malformed, or
 * -ENOMEM. */
static int osdb_expr_intern(struct osdb *db, const char *s, size_t len, uint32_t *id) {
  if (db->nexpr * 2 >= db->caphash && osdb_hash_grow(db) < 0) return -ENOMEM;
  size_t i = osdb_fnv(s, len) & (db->caphash - 1);
  for (; db->hash[i]; i = (i + 1) & (db->caphash - 1)) {
    const struct osdb_expr *e = &db->expr[db->hash[i] - 1];
    const char *t = db->pool + e->text;
    if (strncmp(t, s, len) == 0 && t[len] == '\0') {
      *id = db->hash[i] - 1;
      return 0;
    }
  }
  if (db->nexpr >= (1u << 24)) return -ENOMEM; /* the packed attr holds 24 bits */
  size_t first = db->nalt, nalt = 0;
  const char *p = s, *end = s + len;
  for (;;) {
    const char *bar = memchr(p, '|', (size_t)(end - p));
    const char *e = bar ? bar : end;
    if (++nalt > OSDB_ALT_MAX) goto bad;
    if (OSDB_PUSH(db, alt, nalt, capalt) < 0) return -ENOMEM;
    int r = osdb_alt_parse(db, p, (size_t)(e - p), &db->alt[db->nalt]);
    if (r == -2) return -ENOMEM;
    if (r < 0) goto bad;
    db->nalt++;
    if (bar == NULL) break;
    p = bar + 1;
  }
  if (OSDB_PUSH(db, expr, nexpr, capexpr) < 0) return -ENOMEM;
  struct osdb_expr *x = &db->expr[db->nexpr];
  if (osdb_pool_add(db, s, len, &x->text) < 0) return -ENOMEM;
  x->alt_first = (uint32_t)first;
  x->nalt = (uint32_t)nalt;
  db->hash[i] = (uint32_t)db->nexpr + 1;
  *id = (uint32_t)db->nexpr++;
  return 0;
bad:
  db->nalt = first; /* drop the alternatives of the bad expression */
  return -1;
}

static int osdb_cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Parses a test line "NAME(A=x%B=y)". Returns 0 (stored or warned), or
 * -ENOMEM. */
static int osdb_test_line(struct osdb_ld *ld, char *s, size_t len) {
  struct osdb *db = ld->db;
  char q[ERRMSG_QUOTE_MAX + 8];
  char *open = memchr(s, '(', len);
  int t = open ? osdb_test_lookup(s, (size_t)(open - s)) : -1;
  if (t < 0) {
    osdb_warn(ld, "unknown line '%s'", errmsg_quote(q, sizeof q, s, len));
    return 0;
  }
  if (s[len - 1] != ')') {
    osdb_warn(ld, "%s: no closing ')'", osdb_tests[t]);
    return 0;
  }
  if (!ld->in_points && !ld->in_fp) {
    osdb_warn(ld, "%s line outside a Fingerprint or MatchPoints", osdb_tests[t]);
    return 0;
  }
  struct osdb_fp *fp = ld->in_fp ? &db->fp[db->nfp - 1] : NULL;
  if (fp && (fp->tests & (1u << t))) {
    osdb_warn(ld, "%s given twice in this fingerprint", osdb_tests[t]);
    return 0;
  }
  /* parse into a scratch list first: a bad attribute drops the whole line */
  uint32_t packed[OSDB_MAXATTR];
  unsigned n = 0, seen = 0;
  char *p = open + 1, *end = s + len - 1;
  while (p < end) {
    char *pct = memchr(p, '%', (size_t)(end - p));
    char *e = pct ? pct : end;
    char *eq = memchr(p, '=', (size_t)(e - p));
    int key = eq ? osdb_key_lookup((enum osdb_test)t, p, (size_t)(eq - p)) : -1;
    if (key < 0) {
      osdb_warn(ld, "%s: unknown or malformed attribute '%s'", osdb_tests[t],
                errmsg_quote(q, sizeof q, p, (size_t)(e - p)));
      return 0;
    }
    unsigned ai = OSDB_KEY_ATTR((unsigned)key);
    if (seen & (1u << ai)) {
      osdb_warn(ld, "%s: attribute %s given twice", osdb_tests[t], osdb_schema[t][ai]);
      return 0;
    }
    seen |= 1u << ai;
    char *val = eq + 1;
    size_t vlen = (size_t)(e - val);
    if (ld->in_fp) {
      uint32_t id;
      int r = osdb_expr_intern(db, val, vlen, &id);
      if (r == -ENOMEM) return r;
      if (r < 0) {
        osdb_warn(ld, "%s: bad expression %s=%s", osdb_tests[t], osdb_schema[t][ai],
                  errmsg_quote(q, sizeof q, val, vlen));
        return 0;
      }
      packed[n++] = (uint32_t)key << 24 | id;
    } else {
      long w = 0;
      size_t k = 0;
      for (; k < vlen && val[k] >= '0' && val[k] <= '9' && w <= 65535; k++)
        w = w * 10 + (val[k] - '0');
      if (vlen == 0 || k != vlen || w > 65535) {
        osdb_warn(ld, "MatchPoints %s: bad weight %s=%s", osdb_tests[t], osdb_schema[t][ai],
                  errmsg_quote(q, sizeof q, val, vlen));
        return 0;
      }
      packed[n++] = (uint32_t)key << 16 | (uint32_t)w;
    }
    if (pct == NULL) break;
    p = pct + 1;
    if (p == end) { /* a trailing '%' */
      osdb_warn(ld, "%s: empty attribute after '%%'", osdb_tests[t]);
      return 0;
    }
  }
  if (!ld->in_fp) {
    for (unsigned i = 0; i < n; i++) db->weight[packed[i] >> 16] = (uint16_t)(packed[i] & 0xffff);
    return 0;
  }
  for (unsigned i = 0; i < n; i++) {
    if (OSDB_PUSH(db, attr, nattr, capattr) < 0) return -ENOMEM;
    db->attr[db->nattr++] = packed[i];
  }
  fp->nattr = (uint16_t)(fp->nattr + n);
  fp->tests |= (uint16_t)(1u << t);
  return 0;
}

/* Trims blanks at both ends of s[0..*len); returns the new start. */
static char *osdb_trim(char *s, size_t *len) {
  while (*len && (*s == ' ' || *s == '\t')) s++, (*len)--;
  while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\r')) (*len)--;
  return s;
}

static int osdb_class_line(struct osdb_ld *ld, char *s, size_t len) {
  struct osdb *db = ld->db;
  char *f[4];
  size_t fl[4];
  unsigned n = 0;
  char *p = s, *end = s + len;
  for (;;) {
    char *bar = memchr(p, '|', (size_t)(end - p));
    char *e = bar ? bar : end;
    if (n == 4) {
      osdb_warn(ld, "Class: more than 4 fields");
      return 0;
    }
    fl[n] = (size_t)(e - p);
    f[n] = osdb_trim(p, &fl[n]);
    n++;
    if (bar == NULL) break;
    p = bar + 1;
  }
  if (n != 4 || fl[0] == 0 || fl[1] == 0 || fl[3] == 0) {
    osdb_warn(ld, "Class: expected 'vendor | family | generation | type'");
    return 0;
  }
  if (OSDB_PUSH(db, cls, ncls, capcls) < 0) return -ENOMEM;
  struct osdb_class *c = &db->cls[db->ncls];
  if (osdb_pool_add(db, f[0], fl[0], &c->vendor) < 0 ||
      osdb_pool_add(db, f[1], fl[1], &c->family) < 0 ||
      osdb_pool_add(db, f[2], fl[2], &c->gen) < 0 ||
      osdb_pool_add(db, f[3], fl[3], &c->type) < 0)
    return -ENOMEM;
  db->ncls++;
  db->fp[db->nfp - 1].nclass++;
  return 0;
}

static int osdb_cpe_line(struct osdb_ld *ld, char *s, size_t len) {
  struct osdb *db = ld->db;
  char q[ERRMSG_QUOTE_MAX + 8];
  char *sp = memchr(s, ' ', len);
  size_t l1 = sp ? (size_t)(sp - s) : len;
  int is_auto = 0;
  if (sp) {
    size_t rl = len - l1;
    char *rest = osdb_trim(sp, &rl);
    if (rl != 4 || memcmp(rest, "auto", 4) != 0) {
      osdb_warn(ld, "CPE: unexpected '%s' after the name", errmsg_quote(q, sizeof q, rest, rl));
      return 0;
    }
    is_auto = 1;
  }
  if (l1 < 6 || memcmp(s, "cpe:/", 5) != 0) {
    osdb_warn(ld, "CPE: '%s' is not a cpe:/ name", errmsg_quote(q, sizeof q, s, l1));
    return 0;
  }
  if (OSDB_PUSH(db, cpe, ncpe, capcpe) < 0) return -ENOMEM;
  struct osdb_cpe *c = &db->cpe[db->ncpe];
  if (osdb_pool_add(db, s, l1, &c->text) < 0) return -ENOMEM;
  c->is_auto = (uint8_t)is_auto;
  /* the class line it follows (0 when it comes first) */
  c->cls = db->fp[db->nfp - 1].nclass ? (uint16_t)(db->fp[db->nfp - 1].nclass - 1) : 0;
  db->ncpe++;
  db->fp[db->nfp - 1].ncpe++;
  return 0;
}

/* Whether s[0..len) starts with word followed by a blank or the end; the
 * rest (trimmed) goes to *rest. */
static int osdb_word(char *s, size_t len, const char *word, char **rest, size_t *rlen) {
  size_t wl = strlen(word);
  if (len < wl || memcmp(s, word, wl) != 0) return 0;
  if (len > wl && s[wl] != ' ' && s[wl] != '\t') return 0;
  *rlen = len - wl;
  *rest = osdb_trim(s + wl, rlen);
  return 1;
}

static int osdb_line(void *ctx, struct dbline *dl, char *s, size_t len) {
  struct osdb_ld *ld = ctx;
  struct osdb *db = ld->db;
  char *rest;
  size_t rlen;
  (void)dl;
  s = osdb_trim(s, &len);
  if (len == 0 || s[0] == '#') return 0;
  if (osdb_word(s, len, "Fingerprint", &rest, &rlen)) {
    if (rlen == 0) {
      osdb_warn(ld, "Fingerprint without a name");
      ld->in_fp = 0;
      return 0;
    }
    if (OSDB_PUSH(db, fp, nfp, capfp) < 0) return -ENOMEM;
    struct osdb_fp *fp = &db->fp[db->nfp];
    memset(fp, 0, sizeof *fp);
    if (osdb_pool_add(db, rest, rlen, &fp->name) < 0) return -ENOMEM;
    fp->line = ld->dl->line;
    fp->class_first = (uint32_t)db->ncls;
    fp->cpe_first = (uint32_t)db->ncpe;
    fp->attr_first = (uint32_t)db->nattr;
    db->nfp++;
    ld->in_fp = 1;
    ld->in_points = 0;
    return 0;
  }
  if (osdb_word(s, len, "MatchPoints", &rest, &rlen)) {
    if (rlen != 0 || db->have_points) {
      osdb_warn(ld, db->have_points ? "MatchPoints given twice" : "text after MatchPoints");
      return 0;
    }
    db->have_points = 1;
    ld->in_points = 1;
    ld->in_fp = 0;
    return 0;
  }
  if (osdb_word(s, len, "Class", &rest, &rlen) || osdb_word(s, len, "CPE", &rest, &rlen)) {
    int cls = s[1] == 'l';
    if (!ld->in_fp) {
      osdb_warn(ld, "%s line outside a Fingerprint", cls ? "Class" : "CPE");
      return 0;
    }
    return cls ? osdb_class_line(ld, rest, rlen) : osdb_cpe_line(ld, rest, rlen);
  }
  return osdb_test_line(ld, s, len);
}

static int osdb_load_stream(struct osdb **out, const char *name, FILE *f, osdb_warn_fn warn,
                            void *warn_ctx, char *err, size_t errlen) {
  char qn[ERRMSG_QUOTE_MAX + 8];
  errmsg_quote(qn, sizeof qn, name, (size_t)-1);
  struct osdb *db = calloc(1, sizeof *db);
  if (db == NULL || (db->path = strdup(name)) == NULL) {
    free(db);
    return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  }
  struct dbline dl = {.name = name, .max = OSDB_LINE_MAX, .warn = warn, .warn_ctx = warn_ctx};
  struct osdb_ld ld = {.db = db, .dl = &dl};
  int r = dbline_read(f, &dl, osdb_line, &ld);
  db->nwarn = dl.nwarn;
  if (r < 0)
    errmsg_set(err, errlen, r, r == -EIO ? "error reading '%s'" : "%s: out of memory", qn);
  else if (!db->have_points || db->nfp == 0)
    r = errmsg_set(err, errlen, TW_EMALFORMED, "%s: %s", qn,
                   db->nfp ? "no MatchPoints" : "no Fingerprint entries");
  if (r < 0) {
    osdb_free(db);
    return r;
  }
  /* each entry's attributes sorted by key (its tests may come in any order) */
  for (size_t i = 0; i < db->nfp; i++) /* (none at all: attr is NULL) */
    if (db->fp[i].nattr > 1)
      qsort(db->attr + db->fp[i].attr_first, db->fp[i].nattr, sizeof *db->attr, osdb_cmp_u32);
  *out = db;
  return 0;
}

int osdb_load_mem(struct osdb **out, const char *name, const char *buf, size_t len,
                  osdb_warn_fn warn, void *warn_ctx, char *err, size_t errlen) {
  FILE *f;
  *out = NULL;
  int r = dbline_open_mem(buf, len, &f);
  if (r < 0) return errmsg_set(err, errlen, TW_EMALFORMED, "%s: empty or unreadable", name);
  r = osdb_load_stream(out, name, f, warn, warn_ctx, err, errlen);
  fclose(f);
  return r;
}

int osdb_load(struct osdb **out, const char *path, osdb_warn_fn warn, void *warn_ctx,
              char *err, size_t errlen) {
  FILE *f;
  *out = NULL;
  int r = dbline_open(path, OSDB_FILE, OSDB_PACKAGE, &f, err, errlen);
  if (r < 0) return r;
  r = osdb_load_stream(out, path, f, warn, warn_ctx, err, errlen);
  fclose(f);
  return r;
}

int osdb_load_default(struct osdb **out, const char *datadir, osdb_warn_fn warn,
                      void *warn_ctx, char *err, size_t errlen) {
  char path[4096];
  *out = NULL;
  if (datadir_find(DATADIR_NMAP, datadir, OSDB_FILE, DATADIR_FILE, path, sizeof path) < 0)
    return errmsg_set(err, errlen, -ENOENT,
                      "cannot find %s (install Debian's %s package, or use --datadir)",
                      OSDB_FILE, OSDB_PACKAGE);
  return osdb_load(out, path, warn, warn_ctx, err, errlen);
}

/* ---- queries ----------------------------------------------------------- */

unsigned osdb_warnings(const struct osdb *db) { return db->nwarn; }
const char *osdb_path(const struct osdb *db) { return db->path; }
size_t osdb_count(const struct osdb *db) { return db->nfp; }
size_t osdb_expr_count(const struct osdb *db) { return db->nexpr; }

const struct osdb_fp *osdb_entry(const struct osdb *db, size_t i) {
  return i < db->nfp ? &db->fp[i] : NULL;
}

const struct osdb_class *osdb_class(const struct osdb *db, const struct osdb_fp *fp,
                                    unsigned i) {
  return i < fp->nclass ? &db->cls[fp->class_first + i] : NULL;
}

const struct osdb_cpe *osdb_cpe(const struct osdb *db, const struct osdb_fp *fp, unsigned i) {
  return i < fp->ncpe ? &db->cpe[fp->cpe_first + i] : NULL;
}

const char *osdb_str(const struct osdb *db, uint32_t off) {
  return off < db->npool ? db->pool + off : "";
}

unsigned osdb_attr_key(const struct osdb *db, const struct osdb_fp *fp, unsigned i) {
  return db->attr[fp->attr_first + i] >> 24;
}

uint32_t osdb_attr_expr(const struct osdb *db, const struct osdb_fp *fp, unsigned i) {
  return db->attr[fp->attr_first + i] & 0xffffff;
}

const uint32_t *osdb_attrs(const struct osdb *db, const struct osdb_fp *fp) {
  return db->attr ? db->attr + fp->attr_first : NULL; /* NULL: no entry has attributes */
}

const uint16_t *osdb_weights(const struct osdb *db) { return db->weight; }

const char *osdb_expr_text(const struct osdb *db, uint32_t expr) {
  return expr < db->nexpr ? db->pool + db->expr[expr].text : "";
}

unsigned osdb_expr_nalt(const struct osdb *db, uint32_t expr) {
  return expr < db->nexpr ? db->expr[expr].nalt : 0;
}

const struct osdb_alt *osdb_expr_alt(const struct osdb *db, uint32_t expr, unsigned i) {
  if (expr >= db->nexpr || i >= db->expr[expr].nalt) return NULL;
  return &db->alt[db->expr[expr].alt_first + i];
}

int osdb_expr_match(const struct osdb *db, uint32_t expr, const struct osdb_value *v) {
  if (expr >= db->nexpr) return 0;
  const struct osdb_alt *a = &db->alt[db->expr[expr].alt_first];
  for (uint32_t i = 0; i < db->expr[expr].nalt; i++, a++) {
    switch (a->op) {
    case OSDB_OP_EQ:
      if (a->isnum && v->isnum) {
        if (a->lo == v->num) return 1;
      } else if (a->slen == v->len && memcmp(db->pool + a->str, v->s, v->len) == 0) {
        return 1;
      }
      break;
    case OSDB_OP_RANGE:
      if (v->isnum && v->num >= a->lo && v->num <= a->hi) return 1;
      break;
    case OSDB_OP_GT:
      if (v->isnum && v->num > a->lo) return 1;
      break;
    case OSDB_OP_LT:
      if (v->isnum && v->num < a->lo) return 1;
      break;
    }
  }
  return 0;
}

unsigned osdb_weight(const struct osdb *db, unsigned key) {
  return key < OSDB_NKEYS ? db->weight[key] : 0;
}
