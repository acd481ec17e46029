/* match.c: running match lines against responses and filling the version
 * fields from their templates (see match.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "version/match.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM_UNSET ((size_t)-1)
#define VM_MAX_ARGS 5   /* arguments of $P(), $SUBST(), $I() */
#define VM_ARG_LEN 128  /* bytes of one string argument */
#define VM_JIT_STACK (1u << 20)

struct vm_matcher {
  pcre2_match_data *md;
  pcre2_match_context *mc;
  pcre2_jit_stack *js;
  uint64_t limit_hits;
};

int vm_matcher_new(struct vm_matcher **out, const struct sp_db *db) {
  struct vm_matcher *m = calloc(1, sizeof *m);
  *out = NULL;
  if (m == NULL) return -ENOMEM;
  m->md = pcre2_match_data_create(db->max_captures + 1, NULL);
  m->mc = pcre2_match_context_create(NULL);
  m->js = pcre2_jit_stack_create(32 * 1024, VM_JIT_STACK, NULL);
  if (m->md == NULL || m->mc == NULL) {
    vm_matcher_free(m);
    return -ENOMEM;
  }
  pcre2_set_match_limit(m->mc, VM_MATCH_LIMIT);
  pcre2_set_depth_limit(m->mc, VM_DEPTH_LIMIT);
  if (m->js) pcre2_jit_stack_assign(m->mc, NULL, m->js);
  *out = m;
  return 0;
}

void vm_matcher_free(struct vm_matcher *m) {
  if (m == NULL) return;
  pcre2_match_data_free(m->md);
  pcre2_match_context_free(m->mc);
  pcre2_jit_stack_free(m->js);
  free(m);
}

uint64_t vm_matcher_limit_hits(const struct vm_matcher *m) { return m->limit_hits; }

int vm_match_line(struct vm_matcher *m, const struct sp_match *line, const uint8_t *resp,
                  size_t len) {
  static const uint8_t empty[1] = {0};
  /* Short subjects go to the interpreter even when the JIT is there (see
   * VM_JIT_MIN_LEN). */
  uint32_t opt = len < VM_JIT_MIN_LEN ? PCRE2_NO_JIT : 0;
  int rc = pcre2_match((const pcre2_code *)line->re, resp ? resp : empty, resp ? len : 0, 0, opt,
                       m->md, m->mc);
  if (rc >= 0) return 1;
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
      rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
    m->limit_hits++;
  return 0;
}

/* ---- template expansion -------------------------------------------------------- */

static int vm_isspace(unsigned c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

struct vm_out {
  char *buf;
  size_t cap, pos;
  int cpe;
};

/* Appends one byte of a substitution's result. Nmap checks a substitution
 * against the field's size minus 2; its NUL cuts the substitution short. */
static int vm_put_sub(struct vm_out *o, const char *s, size_t n) {
  if (o->pos + n > o->cap - 2) return -1;
  memcpy(o->buf + o->pos, s, n);
  o->pos += n;
  return 0;
}

static int vm_sub_byte(struct vm_out *o, uint8_t c) {
  if (!o->cpe) return vm_put_sub(o, (const char *)&c, 1);
  /* CPE's reserved characters are %-escaped, spaces become '_', the rest
   * is lower-cased. */
  if (strchr(":/?#[]@!$&'()*+,;=%<>\"", c) != NULL) {
    char hex[4];
    snprintf(hex, sizeof hex, "%%%02X", c);
    return vm_put_sub(o, hex, 3);
  }
  if (vm_isspace(c)) return vm_put_sub(o, "_", 1);
  char l = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return vm_put_sub(o, &l, 1);
}

/* Bytes of a substitution up to a NUL, which ends it. */
static int vm_sub_bytes(struct vm_out *o, const uint8_t *s, size_t n, int *ended) {
  for (size_t i = 0; i < n && !*ended; i++) {
    if (s[i] == 0) {
      *ended = 1;
      break;
    }
    if (vm_sub_byte(o, s[i]) != 0) return -1;
  }
  return 0;
}

struct vm_arg {
  int is_str;
  long num;
  uint8_t str[VM_ARG_LEN];
  size_t len;
};

/* The arguments of $CMD(...) from a (just after '('): their number (> 0),
 * or -1; *end is set after the ')'. */
static int vm_args(const char *a, struct vm_arg *args, const char **end) {
  int n = 0;
  while (*a && *a != ')') {
    while (vm_isspace((unsigned char)*a)) a++;
    if (*a == ')') break;
    if (n == VM_MAX_ARGS) return -1;
    struct vm_arg *g = &args[n];
    memset(g, 0, sizeof *g);
    if (*a == '"') {
      char raw[VM_ARG_LEN];
      size_t rl = 0;
      for (a++;; a++) {
        if (*a == '\0') return -1; /* unterminated */
        if (*a == '"' && !(rl >= 1 && raw[rl - 1] == '\\' && !(rl >= 2 && raw[rl - 2] == '\\')))
          break;
        if (rl >= VM_ARG_LEN - 1) return -1;
        raw[rl++] = *a;
      }
      const char *why;
      if (sp_unescape(raw, rl, '\0', g->str, &g->len, &why) != 0) return -1;
      g->is_str = 1;
      a++;
    } else {
      char *e;
      g->num = strtol(a, &e, 0);
      if (e == a) return -1;
      a = e;
    }
    n++;
    a = strpbrk(a, ",)");
    if (a == NULL) return -1;
    if (*a == ',') a++;
  }
  if (*a == ')') a++;
  *end = a;
  return n;
}

/* The bounds of group n (1-9) if it took part. */
static int vm_group(const size_t *ov, uint32_t npairs, long n, size_t len, size_t *s, size_t *e) {
  if (n < 1 || n > 9 || (uint32_t)n >= npairs) return -1;
  *s = ov[2 * n];
  *e = ov[2 * n + 1];
  if (*s == VM_UNSET || *e == VM_UNSET || *s > *e || *e > len) return -1;
  return 0;
}

/* One $... at *tp (pointing at '$'); appends its value and advances *tp. */
static int vm_var(struct vm_out *o, const char **tp, const uint8_t *subj, size_t len,
                  const size_t *ov, uint32_t npairs) {
  const char *t = *tp + 1;
  size_t s, e;
  int ended = 0;
  if (*t >= '0' && *t <= '9') {
    *tp = t + 1;
    if (vm_group(ov, npairs, *t - '0', len, &s, &e) != 0) return -1;
    return vm_sub_bytes(o, subj + s, e - s, &ended);
  }
  const char *paren = strchr(t, '(');
  if (paren == NULL || paren == t || paren - t >= 16) return -1;
  size_t cl = (size_t)(paren - t);
  struct vm_arg args[VM_MAX_ARGS];
  int n = vm_args(paren + 1, args, tp);
  if (n <= 0) return -1;
  if (cl == 1 && *t == 'P') {
    if (n != 1 || args[0].is_str || vm_group(ov, npairs, args[0].num, len, &s, &e) != 0)
      return -1;
    for (size_t i = s; i < e; i++)
      if (subj[i] >= 0x20 && subj[i] < 0x7f && vm_sub_byte(o, subj[i]) != 0) return -1;
    return 0;
  }
  if (cl == 5 && strncmp(t, "SUBST", 5) == 0) {
    if (n != 3 || args[0].is_str || !args[1].is_str || !args[2].is_str ||
        vm_group(ov, npairs, args[0].num, len, &s, &e) != 0)
      return -1;
    const struct vm_arg *f = &args[1], *r = &args[2];
    if (f->len == 0) return -1; /* would never advance */
    for (size_t i = s; i < e && !ended;) {
      /* Like Nmap, the text found may run past the group's end. */
      if (i + f->len <= len && memcmp(subj + i, f->str, f->len) == 0) {
        if (vm_sub_bytes(o, r->str, r->len, &ended) != 0) return -1;
        i += f->len;
      } else {
        if (vm_sub_bytes(o, subj + i, 1, &ended) != 0) return -1;
        i++;
      }
    }
    return 0;
  }
  if (cl == 1 && *t == 'I') {
    if (n != 2 || args[0].is_str || !args[1].is_str || args[1].len != 1 ||
        vm_group(ov, npairs, args[0].num, len, &s, &e) != 0 || e - s > 8)
      return -1;
    unsigned long long v = 0;
    if (args[1].str[0] == '>') {
      for (size_t i = s; i < e; i++) v = v << 8 | subj[i];
    } else if (args[1].str[0] == '<') {
      for (size_t i = e; i > s; i--) v = v << 8 | subj[i - 1];
    } else {
      return -1;
    }
    char num[24];
    int w = snprintf(num, sizeof num, "%llu", v);
    return vm_sub_bytes(o, (const uint8_t *)num, (size_t)w, &ended);
  }
  return -1;
}

int vm_expand(const char *tmpl, const uint8_t *subj, size_t len, const size_t *ov,
              uint32_t npairs, int cpe, char *out, size_t cap) {
  struct vm_out o = {out, cap, 0, cpe};
  if (cap < 3) goto fail;
  for (const char *t = tmpl; *t;) {
    const char *d = strchr(t, '$');
    if (d == NULL) {
      /* literal text to the end: it may fill the field but for the NUL */
      size_t n = strlen(t);
      if (o.pos + n > cap - 1) goto fail;
      memcpy(out + o.pos, t, n);
      o.pos += n;
      break;
    }
    size_t n = (size_t)(d - t);
    if (o.pos + n > cap) goto fail;
    memcpy(out + o.pos, t, n);
    o.pos += n;
    t = d;
    /* Nmap checks the room after every substitution, an empty one too */
    if (vm_var(&o, &t, subj, len, ov, npairs) != 0 || o.pos > cap - 2) goto fail;
  }
  while (o.pos > 0 && (vm_isspace((unsigned char)out[o.pos - 1]) || out[o.pos - 1] == ','))
    o.pos--;
  out[o.pos] = '\0';
  return 0;
fail:
  if (cap) out[0] = '\0';
  return -1;
}

/* ---- filling a result ------------------------------------------------------------- */

static const size_t vm_field_cap[SP_FIELD_COUNT] = {
    VM_FIELD_LEN, VM_FIELD_LEN, VM_EXTRA_LEN, VM_FIELD_LEN, VM_TYPE_LEN, VM_TYPE_LEN};

void vm_fill(const struct vm_matcher *m, const struct sp_match *line, const uint8_t *resp,
             size_t len, struct vm_result *out) {
  const PCRE2_SIZE *pov = pcre2_get_ovector_pointer(m->md);
  uint32_t npairs = pcre2_get_ovector_count(m->md);
  if (npairs > line->ncaptures + 1) npairs = line->ncaptures + 1;
  size_t ov[2 * 10];
  uint32_t np = npairs > 10 ? 10 : npairs; /* only $1-$9 are addressable */
  for (uint32_t i = 0; i < 2 * np; i++) ov[i] = pov[i] == PCRE2_UNSET ? VM_UNSET : pov[i];
  memset(out, 0, sizeof *out);
  out->match = line;
  for (int f = 0; f < SP_FIELD_COUNT; f++)
    if (line->tmpl[f] &&
        vm_expand(line->tmpl[f], resp, len, ov, np, 0, out->field[f], vm_field_cap[f]) != 0)
      out->failed++;
  for (unsigned i = 0; i < line->ncpe; i++) {
    int part;
    switch (line->cpe[i][5]) {
      case 'a': part = VM_CPE_A; break;
      case 'h': part = VM_CPE_H; break;
      case 'o': part = VM_CPE_O; break;
      default: continue; /* Nmap ignores other parts */
    }
    if (vm_expand(line->cpe[i], resp, len, ov, np, 1, out->cpe[part], VM_FIELD_LEN) != 0)
      out->failed++;
  }
}

enum vm_kind vm_match_step(struct vm_matcher *m, const struct sp_db *db, int32_t probe,
                           const uint8_t *resp, size_t len, struct vm_walk *w, size_t max_lines,
                           struct vm_result *out) {
  const struct sp_probe *pr = &db->probes[probe];
  size_t tried = 0;
  out->match = NULL;
  out->from = NULL;
  for (; w->fallback < pr->nfallback; w->fallback++, w->line = 0) {
    const struct sp_probe *fb = &db->probes[pr->fallback[w->fallback]];
    for (; w->line < fb->nmatches; w->line++) {
      if (max_lines && tried++ == max_lines) return VM_PENDING;
      if (!vm_match_line(m, &fb->matches[w->line], resp, len)) continue;
      vm_fill(m, &fb->matches[w->line], resp, len, out);
      out->from = fb;
      return fb->matches[w->line].soft ? VM_SOFT : VM_HARD;
    }
  }
  return VM_NONE;
}

enum vm_kind vm_match_probe(struct vm_matcher *m, const struct sp_db *db, int32_t probe,
                            const uint8_t *resp, size_t len, struct vm_result *out) {
  struct vm_walk w = {0, 0};
  return vm_match_step(m, db, probe, resp, len, &w, 0, out);
}

int vm_port_take(struct vm_port *st, enum vm_kind kind, const struct vm_result *r) {
  if (kind == VM_NONE || r->match == NULL || st->kind == VM_HARD) return 0;
  if (kind == VM_SOFT && st->kind != VM_NONE) return 0;
  st->kind = kind;
  st->service = r->match->service;
  st->r.match = r->match;
  st->r.from = r->from;
  for (int f = 0; f < SP_FIELD_COUNT; f++)
    if (r->field[f][0]) memcpy(st->r.field[f], r->field[f], sizeof r->field[f]);
  for (int c = 0; c < VM_CPE_COUNT; c++)
    if (r->cpe[c][0]) memcpy(st->r.cpe[c], r->cpe[c], sizeof r->cpe[c]);
  return kind == VM_HARD;
}
