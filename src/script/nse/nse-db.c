/* nse-db.c: Nmap's scripts/script.db, the categories of every script in
 * Nmap's scripts directory. Nmap writes it as Lua (one line per script:
 * `Entry { filename = "x.nse", categories = { "a", "b", } }`) and runs it;
 * trawl parses it here instead, as plain text, so that selecting by
 * category never runs (or even loads) the 600 scripts it lists. Anything
 * else on a line is an error naming the line; blank lines and `--`
 * comments are skipped. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/nse/nse.h"

/* Files bigger than this are not a script.db (Nmap's is ~40 KB). */
#define NSE_DB_MAX_BYTES (16u << 20)
#define NSE_DB_MAX_CATS 64

struct nse_db_cur {
  const char *p, *end;
};

static void nse_db_skip(struct nse_db_cur *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')) c->p++;
}

static bool nse_db_lit(struct nse_db_cur *c, const char *lit) {
  nse_db_skip(c);
  size_t n = strlen(lit);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n)) return false;
  c->p += n;
  return true;
}

/* A "quoted" string of printable characters without escapes: malloc'd. */
static char *nse_db_str(struct nse_db_cur *c) {
  nse_db_skip(c);
  if (c->p >= c->end || *c->p != '"') return NULL;
  const char *s = ++c->p;
  while (c->p < c->end && *c->p != '"') {
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '\\' || ch < 0x20 || ch == 0x7f) return NULL;
    c->p++;
  }
  if (c->p >= c->end || c->p == s) return NULL;
  char *out = strndup(s, (size_t)(c->p - s));
  c->p++;
  return out;
}

static void nse_db_entry_free(struct nse_db_entry *en) {
  free(en->id);
  for (size_t i = 0; i < en->ncat; i++) free(en->cats[i]);
  free(en->cats);
  memset(en, 0, sizeof *en);
}

/* One Entry line (c spans it, without the newline). -1 malformed,
 * -ENOMEM, 0. */
static int nse_db_line(struct nse_db_cur *c, struct nse_db_entry *en) {
  memset(en, 0, sizeof *en);
  if (!nse_db_lit(c, "Entry") || !nse_db_lit(c, "{") || !nse_db_lit(c, "filename") ||
      !nse_db_lit(c, "="))
    return -1;
  char *file = nse_db_str(c);
  if (!file) return -1;
  size_t fl = strlen(file);
  if (fl <= 4 || strcmp(file + fl - 4, ".nse") || strchr(file, '/')) {
    free(file);
    return -1;
  }
  file[fl - 4] = 0;
  en->id = file;
  if (!nse_db_lit(c, ",") || !nse_db_lit(c, "categories") || !nse_db_lit(c, "=") ||
      !nse_db_lit(c, "{"))
    goto bad;
  en->cats = calloc(NSE_DB_MAX_CATS, sizeof *en->cats);
  if (!en->cats) {
    nse_db_entry_free(en);
    return -ENOMEM;
  }
  for (;;) {
    if (nse_db_lit(c, "}")) break;
    if (en->ncat == NSE_DB_MAX_CATS) goto bad;
    char *cat = nse_db_str(c);
    if (!cat) goto bad;
    en->cats[en->ncat++] = cat;
    if (nse_db_lit(c, ",")) continue;
    if (!nse_db_lit(c, "}")) goto bad;
    break;
  }
  nse_db_lit(c, ","); /* Nmap writes none here; tolerate one */
  if (!nse_db_lit(c, "}")) goto bad;
  nse_db_skip(c);
  if (c->p != c->end) goto bad;
  return 0;
bad:
  nse_db_entry_free(en);
  return -1;
}

int nse_db_parse(const char *text, size_t len, struct nse_db *db, char *err, size_t errlen) {
  memset(db, 0, sizeof *db);
  const char *p = text, *end = text + len;
  size_t cap = 0, lineno = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    lineno++;
    struct nse_db_cur c = {p, le};
    p = nl ? nl + 1 : end;
    nse_db_skip(&c);
    if (c.p == c.end || (c.end - c.p >= 2 && c.p[0] == '-' && c.p[1] == '-')) continue;
    if (memchr(c.p, 0, (size_t)(c.end - c.p))) goto bad;
    if (db->n == cap) {
      size_t nc = cap ? cap * 2 : 256;
      struct nse_db_entry *nv = realloc(db->v, nc * sizeof *nv);
      if (!nv) goto oom;
      db->v = nv;
      cap = nc;
    }
    int r = nse_db_line(&c, &db->v[db->n]);
    if (r == -ENOMEM) goto oom;
    if (r < 0) goto bad;
    db->n++;
  }
  return 0;
bad:
  snprintf(err, errlen, "script.db line %zu: not an Entry { filename = \"x.nse\", categories = "
                        "{ ... } } line", lineno);
  nse_db_free(db);
  return -EINVAL;
oom:
  snprintf(err, errlen, "out of memory reading script.db");
  nse_db_free(db);
  return -ENOMEM;
}

int nse_db_read(const char *path, struct nse_db *db, char *err, size_t errlen) {
  memset(db, 0, sizeof *db);
  FILE *f = fopen(path, "r");
  if (!f) {
    int e = errno;
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
    return -e;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      if (cap >= NSE_DB_MAX_BYTES) {
        free(buf);
        fclose(f);
        snprintf(err, errlen, "%s: too big for a script.db", path);
        return -EINVAL;
      }
      size_t nc = cap ? cap * 2 : 65536;
      char *nb = realloc(buf, nc);
      if (!nb) {
        free(buf);
        fclose(f);
        snprintf(err, errlen, "out of memory reading %s", path);
        return -ENOMEM;
      }
      buf = nb;
      cap = nc;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    if (r == 0) break;
    n += r;
  }
  fclose(f);
  char e2[200];
  int rc = nse_db_parse(buf ? buf : "", n, db, e2, sizeof e2);
  free(buf);
  if (rc < 0) snprintf(err, errlen, "%s: %s", path, e2);
  return rc;
}

const struct nse_db_entry *nse_db_find(const struct nse_db *db, const char *id) {
  for (size_t i = 0; i < db->n; i++)
    if (!strcmp(db->v[i].id, id)) return &db->v[i];
  return NULL;
}

void nse_db_free(struct nse_db *db) {
  for (size_t i = 0; i < db->n; i++) nse_db_entry_free(&db->v[i]);
  free(db->v);
  memset(db, 0, sizeof *db);
}
