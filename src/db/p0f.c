/* p0f.c: loading the TCP sections of p0f v3's p0f.fp (see p0f.h). */
#define _GNU_SOURCE
#include "db/p0f.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/errmsg.h"
#include "db/dbline.h"

#define P0F_LINE_MAX 4096
#define P0F_CLASSES_MAX 32

#define P0F_Q_NAME_(n, s) s,
static const char *const p0f_quirk_names[P0F_Q_COUNT] = {P0F_QUIRKS(P0F_Q_NAME_)};
#undef P0F_Q_NAME_

const char *p0f_quirk_name(enum p0f_quirk q) {
  return (unsigned)q < P0F_Q_COUNT ? p0f_quirk_names[q] : NULL;
}

/* Option names of a layout, by kind. */
static const struct {
  const char *name;
  uint8_t kind;
} p0f_opts[] = {{"nop", 1}, {"mss", 2}, {"ws", 3}, {"sok", 4}, {"sack", 5}, {"ts", 8}};

struct p0f_db {
  unsigned nwarn;
  struct p0f_sig *sig;
  size_t nsig, capsig;
  struct p0f_label *label;
  size_t nlabel, caplabel;
  char *classes[P0F_CLASSES_MAX];
  unsigned nclasses;
};

enum p0f_section { P0F_SEC_NONE, P0F_SEC_SKIP, P0F_SEC_REQUEST, P0F_SEC_RESPONSE };

struct p0f_ld {
  struct p0f_db *db;
  struct dbline *dl;
  enum p0f_section sec;
  int have_label; /* a label is open in this section */
};

#define p0f_warn(ld, ...) dbline_warn((ld)->dl, __VA_ARGS__)

void p0f_free(struct p0f_db *db) {
  if (db == NULL) return;
  for (size_t i = 0; i < db->nlabel; i++) {
    free(db->label[i].cls);
    free(db->label[i].name);
    free(db->label[i].flavor);
    free(db->label[i].sys);
  }
  for (unsigned i = 0; i < db->nclasses; i++) free(db->classes[i]);
  free(db->label);
  free(db->sig);
  free(db);
}

/* A whole decimal number in [0, max] from s[0..len); -1 when it is not. */
static long p0f_num(const char *s, size_t len, long max) {
  long v = 0;
  if (len == 0 || len > 10) return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= max ? v : -1;
}

static int p0f_is(const char *s, size_t len, const char *word) {
  return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Splits s[0..len) at the next sep: the field is [s, *fe); *next after the
 * separator, or NULL when there was none. */
static const char *p0f_field(const char *s, const char *end, char sep, const char **fe) {
  const char *p = memchr(s, sep, (size_t)(end - s));
  *fe = p ? p : end;
  return p ? p + 1 : NULL;
}

/* ittl: N, N- or N+D. */
static const char *p0f_parse_ittl(struct p0f_sig *s, const char *f, size_t n) {
  long v, d = 0;
  if (n > 1 && f[n - 1] == '-') {
    s->bad_ttl = 1;
    n--;
  }
  const char *plus = memchr(f, '+', n);
  if (plus) {
    d = p0f_num(plus + 1, n - (size_t)(plus + 1 - f), 255);
    if (d < 0) return "bad ttl distance";
    n = (size_t)(plus - f);
  }
  v = p0f_num(f, n, 255);
  if (v < 1 || v + d > 255) return "bad ttl";
  s->ittl = (uint8_t)(v + d);
  return NULL;
}

/* wsize,scale */
static const char *p0f_parse_win(struct p0f_sig *s, const char *f, size_t n) {
  const char *comma = memchr(f, ',', n);
  if (comma == NULL) return "window without ',scale'";
  size_t wl = (size_t)(comma - f), sl = n - wl - 1;
  long v = 0;
  if (p0f_is(f, wl, "*")) {
    s->wtype = P0F_W_ANY;
  } else if (wl > 4 && (memcmp(f, "mss*", 4) == 0 || memcmp(f, "mtu*", 4) == 0)) {
    s->wtype = f[1] == 's' ? P0F_W_MSS : P0F_W_MTU;
    v = p0f_num(f + 4, wl - 4, 65535);
  } else if (wl > 1 && f[0] == '%') {
    s->wtype = P0F_W_MOD;
    v = p0f_num(f + 1, wl - 1, 65535);
    if (v == 0) v = -1;
  } else {
    s->wtype = P0F_W_EXACT;
    v = p0f_num(f, wl, 65535);
  }
  if (v < 0) return "bad window size";
  s->wval = (uint32_t)v;
  if (p0f_is(comma + 1, sl, "*")) {
    s->wscale = -1;
  } else {
    long sc = p0f_num(comma + 1, sl, 255);
    if (sc < 0) return "bad window scale";
    s->wscale = (int16_t)sc;
  }
  return NULL;
}

static const char *p0f_parse_layout(struct p0f_sig *s, const char *f, size_t n) {
  const char *end = f + n, *p = f, *e, *next;
  if (n == 0) return NULL;
  do {
    next = p0f_field(p, end, ',', &e);
    size_t l = (size_t)(e - p);
    if (s->nopt >= P0F_OPT_MAX) return "option layout too long";
    if (s->nopt > 0 && s->opt[s->nopt - 1] == 0) return "option after eol";
    if (l > 4 && memcmp(p, "eol+", 4) == 0) {
      long pad = p0f_num(p + 4, l - 4, P0F_OPT_MAX - 1);
      if (pad < 0) return "bad eol padding";
      s->opt[s->nopt++] = 0;
      s->eol_pad = (uint8_t)pad;
      continue;
    }
    if (l > 1 && p[0] == '?') {
      long k = p0f_num(p + 1, l - 1, 255);
      if (k < 0) return "bad unknown option kind";
      s->opt[s->nopt++] = (uint8_t)k;
      continue;
    }
    size_t i;
    for (i = 0; i < sizeof p0f_opts / sizeof p0f_opts[0]; i++)
      if (p0f_is(p, l, p0f_opts[i].name)) break;
    if (i == sizeof p0f_opts / sizeof p0f_opts[0]) return "unknown option in layout";
    s->opt[s->nopt++] = p0f_opts[i].kind;
  } while ((p = next) != NULL);
  return NULL;
}

static const char *p0f_parse_quirks(struct p0f_sig *s, const char *f, size_t n) {
  const char *end = f + n, *p = f, *e, *next;
  if (n == 0) return NULL;
  do {
    next = p0f_field(p, end, ',', &e);
    int q;
    for (q = 0; q < P0F_Q_COUNT; q++)
      if (p0f_is(p, (size_t)(e - p), p0f_quirk_names[q])) break;
    if (q == P0F_Q_COUNT) return "unknown quirk";
    if (s->quirks & (1u << q)) return "quirk given twice";
    s->quirks |= 1u << q;
  } while ((p = next) != NULL);
  return NULL;
}

/* Parses "ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass". NULL, or
 * the reason it is malformed. */
static const char *p0f_parse_sig(struct p0f_sig *s, const char *v, size_t len) {
  const char *f[8], *fe[8], *end = v + len, *p = v;
  for (int i = 0; i < 8; i++) {
    if (p == NULL) return "expected 8 ':'-separated fields";
    f[i] = p;
    p = p0f_field(p, end, ':', &fe[i]);
  }
  if (p != NULL) return "expected 8 ':'-separated fields";
#define N_(i) ((size_t)(fe[i] - f[i]))
  if (p0f_is(f[0], N_(0), "*"))
    s->ver = 0;
  else if (p0f_is(f[0], N_(0), "4") || p0f_is(f[0], N_(0), "6"))
    s->ver = (uint8_t)(f[0][0] - '0');
  else
    return "bad IP version";
  const char *why = p0f_parse_ittl(s, f[1], N_(1));
  if (why) return why;
  long olen = p0f_num(f[2], N_(2), 255);
  if (olen < 0) return "bad options length";
  s->olen = (uint8_t)olen;
  if (p0f_is(f[3], N_(3), "*")) {
    s->mss = -1;
  } else {
    long mss = p0f_num(f[3], N_(3), 65535);
    if (mss < 0) return "bad mss";
    s->mss = (int32_t)mss;
  }
  if ((why = p0f_parse_win(s, f[4], N_(4))) != NULL) return why;
  if ((why = p0f_parse_layout(s, f[5], N_(5))) != NULL) return why;
  if ((why = p0f_parse_quirks(s, f[6], N_(6))) != NULL) return why;
  if (p0f_is(f[7], N_(7), "*"))
    s->pclass = -1;
  else if (p0f_is(f[7], N_(7), "0"))
    s->pclass = 0;
  else if (p0f_is(f[7], N_(7), "+"))
    s->pclass = 1;
  else
    return "bad payload class";
#undef N_
  if ((s->wtype == P0F_W_MSS || s->wtype == P0F_W_MTU) && s->mss == 0)
    return "window in MSS units with MSS 0";
  return NULL;
}

static char *p0f_dup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static int p0f_label_line(struct p0f_ld *ld, const char *v, size_t len) {
  struct p0f_db *db = ld->db;
  char q[ERRMSG_QUOTE_MAX + 8];
  const char *end = v + len, *e1, *e2, *e3;
  const char *c = p0f_field(v, end, ':', &e1);
  const char *nm = c ? p0f_field(c, end, ':', &e2) : NULL;
  const char *fl = nm ? p0f_field(nm, end, ':', &e3) : NULL;
  ld->have_label = 0;
  if (fl == NULL || e1 - v != 1 || (v[0] != 's' && v[0] != 'g') || e2 == c || e3 == nm) {
    p0f_warn(ld, "label: expected 's|g:class:name:flavor', got '%s'",
             errmsg_quote(q, sizeof q, v, len));
    return 0;
  }
  size_t cl = (size_t)(e2 - c);
  if (!p0f_is(c, cl, "!")) {
    unsigned i;
    for (i = 0; i < db->nclasses; i++)
      if (p0f_is(c, cl, db->classes[i])) break;
    if (i == db->nclasses) {
      p0f_warn(ld, "label: class '%s' not declared by 'classes ='",
               errmsg_quote(q, sizeof q, c, cl));
      return 0;
    }
  }
  if (db->nlabel == db->caplabel) {
    size_t nc = db->caplabel ? db->caplabel * 2 : 64;
    struct p0f_label *nl = realloc(db->label, nc * sizeof *nl);
    if (nl == NULL) return -ENOMEM;
    db->label = nl;
    db->caplabel = nc;
  }
  struct p0f_label *l = &db->label[db->nlabel];
  memset(l, 0, sizeof *l);
  l->generic = v[0] == 'g';
  l->cls = p0f_dup(c, cl);
  l->name = p0f_dup(nm, (size_t)(e3 - nm));
  l->flavor = p0f_dup(fl, (size_t)(end - fl));
  db->nlabel++; /* counted now so that p0f_free frees a partial one */
  if (l->cls == NULL || l->name == NULL || l->flavor == NULL) return -ENOMEM;
  ld->have_label = 1;
  return 0;
}

static int p0f_sig_line(struct p0f_ld *ld, const char *v, size_t len) {
  struct p0f_db *db = ld->db;
  char q[ERRMSG_QUOTE_MAX + 8];
  if (!ld->have_label) {
    p0f_warn(ld, "sig without a valid label before it");
    return 0;
  }
  struct p0f_sig s;
  memset(&s, 0, sizeof s);
  const char *why = p0f_parse_sig(&s, v, len);
  if (why) {
    p0f_warn(ld, "sig: %s in '%s'", why, errmsg_quote(q, sizeof q, v, len));
    return 0;
  }
  s.label = (uint32_t)(db->nlabel - 1);
  s.line = ld->dl->line;
  s.response = ld->sec == P0F_SEC_RESPONSE;
  if (db->nsig == db->capsig) {
    size_t nc = db->capsig ? db->capsig * 2 : 256;
    struct p0f_sig *ns = realloc(db->sig, nc * sizeof *ns);
    if (ns == NULL) return -ENOMEM;
    db->sig = ns;
    db->capsig = nc;
  }
  db->sig[db->nsig++] = s;
  return 0;
}

static int p0f_classes_line(struct p0f_ld *ld, const char *v, size_t len) {
  struct p0f_db *db = ld->db;
  const char *end = v + len, *p = v, *e, *next;
  do {
    next = p0f_field(p, end, ',', &e);
    if (e == p || db->nclasses == P0F_CLASSES_MAX) {
      p0f_warn(ld, e == p ? "classes: empty name" : "classes: too many");
      return 0;
    }
    if ((db->classes[db->nclasses] = p0f_dup(p, (size_t)(e - p))) == NULL) return -ENOMEM;
    db->nclasses++;
  } while ((p = next) != NULL);
  return 0;
}

static int p0f_line(void *ctx, struct dbline *dl, char *s, size_t len) {
  struct p0f_ld *ld = ctx;
  char q[ERRMSG_QUOTE_MAX + 8];
  (void)dl;
  while (len && (*s == ' ' || *s == '\t')) s++, len--;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
  if (len == 0 || s[0] == ';') return 0;
  if (s[0] == '[') {
    ld->have_label = 0;
    if (s[len - 1] != ']') {
      p0f_warn(ld, "section header without ']'");
      ld->sec = P0F_SEC_SKIP;
    } else if (p0f_is(s, len, "[tcp:request]")) {
      ld->sec = P0F_SEC_REQUEST;
    } else if (p0f_is(s, len, "[tcp:response]")) {
      ld->sec = P0F_SEC_RESPONSE;
    } else {
      ld->sec = P0F_SEC_SKIP; /* [mtu], [http:*] ...: not needed here */
    }
    return 0;
  }
  if (ld->sec == P0F_SEC_SKIP) return 0;
  char *eq = memchr(s, '=', len);
  if (eq == NULL) {
    p0f_warn(ld, "expected 'key = value', got '%s'", errmsg_quote(q, sizeof q, s, len));
    return 0;
  }
  size_t kl = (size_t)(eq - s), vl = len - kl - 1;
  char *v = eq + 1;
  while (kl && (s[kl - 1] == ' ' || s[kl - 1] == '\t')) kl--;
  while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
  if (ld->sec == P0F_SEC_NONE) {
    if (p0f_is(s, kl, "classes")) return p0f_classes_line(ld, v, vl);
    p0f_warn(ld, "'%s' outside a section", errmsg_quote(q, sizeof q, s, kl));
    return 0;
  }
  if (p0f_is(s, kl, "label")) return p0f_label_line(ld, v, vl);
  if (p0f_is(s, kl, "sig")) return p0f_sig_line(ld, v, vl);
  if (p0f_is(s, kl, "sys")) {
    if (!ld->have_label) {
      p0f_warn(ld, "sys without a valid label before it");
      return 0;
    }
    struct p0f_label *l = &ld->db->label[ld->db->nlabel - 1];
    free(l->sys);
    return (l->sys = p0f_dup(v, vl)) == NULL ? -ENOMEM : 0;
  }
  p0f_warn(ld, "unknown key '%s'", errmsg_quote(q, sizeof q, s, kl));
  return 0;
}

static int p0f_load_stream(struct p0f_db **out, const char *name, FILE *f, p0f_warn_fn warn,
                           void *warn_ctx, char *err, size_t errlen) {
  char qn[ERRMSG_QUOTE_MAX + 8];
  errmsg_quote(qn, sizeof qn, name, (size_t)-1);
  struct p0f_db *db = calloc(1, sizeof *db);
  if (db == NULL) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  struct dbline dl = {.name = name, .max = P0F_LINE_MAX, .warn = warn, .warn_ctx = warn_ctx};
  struct p0f_ld ld = {.db = db, .dl = &dl};
  int r = dbline_read(f, &dl, p0f_line, &ld);
  db->nwarn = dl.nwarn;
  if (r < 0)
    errmsg_set(err, errlen, r, r == -EIO ? "error reading '%s'" : "%s: out of memory", qn);
  else if (db->nsig == 0)
    r = errmsg_set(err, errlen, TW_EMALFORMED, "%s: no TCP signatures", qn);
  if (r < 0) {
    p0f_free(db);
    return r;
  }
  *out = db;
  return 0;
}

int p0f_load_mem(struct p0f_db **out, const char *name, const char *buf, size_t len,
                 p0f_warn_fn warn, void *warn_ctx, char *err, size_t errlen) {
  FILE *f;
  *out = NULL;
  int r = dbline_open_mem(buf, len, &f);
  if (r < 0) return errmsg_set(err, errlen, TW_EMALFORMED, "%s: empty or unreadable", name);
  r = p0f_load_stream(out, name, f, warn, warn_ctx, err, errlen);
  fclose(f);
  return r;
}

int p0f_load(struct p0f_db **out, const char *path, p0f_warn_fn warn, void *warn_ctx,
             char *err, size_t errlen) {
  FILE *f;
  *out = NULL;
  int r = dbline_open(path, P0F_FILE, P0F_PACKAGE, &f, err, errlen);
  if (r < 0) return r;
  r = p0f_load_stream(out, path, f, warn, warn_ctx, err, errlen);
  fclose(f);
  return r;
}

int p0f_load_default(struct p0f_db **out, const char *datadir, p0f_warn_fn warn,
                     void *warn_ctx, char *err, size_t errlen) {
  char path[4096];
  if (datadir == NULL) return p0f_load(out, P0F_SYSTEM_PATH, warn, warn_ctx, err, errlen);
  snprintf(path, sizeof path, "%s/%s", datadir, P0F_FILE);
  return p0f_load(out, path, warn, warn_ctx, err, errlen);
}

unsigned p0f_warnings(const struct p0f_db *db) { return db->nwarn; }
size_t p0f_sig_count(const struct p0f_db *db) { return db->nsig; }
size_t p0f_label_count(const struct p0f_db *db) { return db->nlabel; }

const struct p0f_sig *p0f_sig(const struct p0f_db *db, size_t i) {
  return i < db->nsig ? &db->sig[i] : NULL;
}

const struct p0f_label *p0f_label(const struct p0f_db *db, size_t i) {
  return i < db->nlabel ? &db->label[i] : NULL;
}

size_t p0f_sig_format(const struct p0f_sig *s, char *buf, size_t cap) {
  size_t o = 0;
#define P0F_PUT(...)                                                               \
  do {                                                                             \
    int n_ = snprintf(o < cap ? buf + o : NULL, o < cap ? cap - o : 0, __VA_ARGS__); \
    if (n_ > 0) o += (size_t)n_;                                                   \
  } while (0)
  if (s->ver)
    P0F_PUT("%u:", s->ver);
  else
    P0F_PUT("*:");
  P0F_PUT("%u%s:%u:", s->ittl, s->bad_ttl ? "-" : "", s->olen);
  if (s->mss < 0)
    P0F_PUT("*:");
  else
    P0F_PUT("%d:", (int)s->mss);
  switch (s->wtype) {
  case P0F_W_ANY: P0F_PUT("*"); break;
  case P0F_W_EXACT: P0F_PUT("%u", s->wval); break;
  case P0F_W_MSS: P0F_PUT("mss*%u", s->wval); break;
  case P0F_W_MTU: P0F_PUT("mtu*%u", s->wval); break;
  default: P0F_PUT("%%%u", s->wval); break;
  }
  if (s->wscale < 0)
    P0F_PUT(",*:");
  else
    P0F_PUT(",%d:", (int)s->wscale);
  for (unsigned i = 0; i < s->nopt; i++) {
    const char *sep = i ? "," : "";
    size_t k;
    for (k = 0; k < sizeof p0f_opts / sizeof p0f_opts[0]; k++)
      if (p0f_opts[k].kind == s->opt[i]) break;
    if (s->opt[i] == 0)
      P0F_PUT("%seol+%u", sep, s->eol_pad);
    else if (k < sizeof p0f_opts / sizeof p0f_opts[0])
      P0F_PUT("%s%s", sep, p0f_opts[k].name);
    else
      P0F_PUT("%s?%u", sep, s->opt[i]);
  }
  P0F_PUT(":");
  int first = 1;
  for (int q = 0; q < P0F_Q_COUNT; q++)
    if (s->quirks & (1u << q)) {
      P0F_PUT("%s%s", first ? "" : ",", p0f_quirk_names[q]);
      first = 0;
    }
  P0F_PUT(":%s", s->pclass < 0 ? "*" : s->pclass ? "+" : "0");
#undef P0F_PUT
  if (cap > 0 && o >= cap) buf[cap - 1] = '\0';
  return o;
}
