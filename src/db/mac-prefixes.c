/* mac-prefixes.c: the parser of Nmap's nmap-mac-prefixes and the vendor
 * lookup (see mac-prefixes.h): the entries are kept sorted by prefix, the
 * names in one block of text, and a lookup is a binary search. */
#define _GNU_SOURCE
#include "db/mac-prefixes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/datadir.h"
#include "core/errmsg.h"
#include "core/hex.h"

#define MP_MAX_ENTRIES (1u << 20)

struct mp_entry {
  uint32_t prefix;
  uint32_t name; /* offset in names */
};

struct mac_prefixes {
  struct mp_entry *v;
  size_t n, cap;
  char *names;
  size_t nlen, ncap;
  char *path;
};

void mac_prefixes_free(struct mac_prefixes *m) {
  if (!m) return;
  free(m->v);
  free(m->names);
  free(m->path);
  free(m);
}

/* One line (without its newline): 0, or an error naming the line. */
static int mp_line(struct mac_prefixes *m, const char *line, size_t len, const char *qp,
                   unsigned lineno, char *err, size_t errlen) {
  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t')) len--;
  if (len == 0 || line[0] == '#') return 0;
  uint32_t prefix = 0;
  for (int i = 0; i < 6; i++) {
    int h = (size_t)i < len ? hex_value(line[i]) : -1;
    if (h < 0) return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: expected six hex digits", qp, lineno);
    prefix = prefix << 4 | (uint32_t)h;
  }
  if (len < 8 || (line[6] != ' ' && line[6] != '\t'))
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: expected a vendor name after the prefix", qp,
                      lineno);
  const char *name = line + 7;
  size_t nl = len - 7;
  if (nl > MAC_PREFIXES_MAX_NAME)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: vendor name longer than %d bytes", qp,
                      lineno, MAC_PREFIXES_MAX_NAME);
  if (memchr(name, '\0', nl))
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: NUL byte in vendor name", qp, lineno);
  if (m->n >= MP_MAX_ENTRIES)
    return errmsg_set(err, errlen, TW_EMALFORMED, "%s:%u: more than %u entries", qp, lineno,
                      MP_MAX_ENTRIES);
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct mp_entry *v = realloc(m->v, cap * sizeof *v);
    if (!v) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
    m->v = v;
    m->cap = cap;
  }
  if (m->nlen + nl + 1 > m->ncap) {
    size_t cap = m->ncap ? m->ncap * 2 : 65536;
    while (cap < m->nlen + nl + 1) cap *= 2;
    char *s = realloc(m->names, cap);
    if (!s) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
    m->names = s;
    m->ncap = cap;
  }
  memcpy(m->names + m->nlen, name, nl);
  m->names[m->nlen + nl] = '\0';
  m->v[m->n++] = (struct mp_entry){prefix, (uint32_t)m->nlen};
  m->nlen += nl + 1;
  return 0;
}

static int mp_cmp(const void *a, const void *b) {
  const struct mp_entry *x = a, *y = b;
  if (x->prefix != y->prefix) return x->prefix < y->prefix ? -1 : 1;
  return x->name < y->name ? -1 : x->name > y->name; /* file order */
}

int mac_prefixes_load(struct mac_prefixes **out, const char *path, char *err, size_t errlen) {
  char qp[ERRMSG_QUOTE_MAX + 8];
  errmsg_quote(qp, sizeof qp, path, (size_t)-1);
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) return errmsg_set(err, errlen, -errno, "cannot open '%s': %s", qp, strerror(errno));
  struct mac_prefixes *m = calloc(1, sizeof *m);
  int r = m && (m->path = strdup(path)) ? 0 : errmsg_set(err, errlen, -ENOMEM, "out of memory");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  unsigned lineno = 0;
  while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
    lineno++;
    if (line[len - 1] == '\n') len--;
    r = mp_line(m, line, (size_t)len, qp, lineno, err, errlen);
  }
  free(line);
  if (r == 0 && ferror(f)) r = errmsg_set(err, errlen, -EIO, "error reading '%s'", qp);
  fclose(f);
  if (r < 0) {
    mac_prefixes_free(m);
    return r;
  }
  /* sorted for the search; of a prefix listed twice the first line wins */
  if (m->n) qsort(m->v, m->n, sizeof *m->v, mp_cmp);
  *out = m;
  return 0;
}

int mac_prefixes_load_default(struct mac_prefixes **out, const char *datadir, char *err,
                              size_t errlen) {
  char path[4096];
  *out = NULL;
  if (datadir_find(DATADIR_NMAP, datadir, MAC_PREFIXES_FILE, DATADIR_FILE, path, sizeof path) < 0)
    return 0;
  return mac_prefixes_load(out, path, err, errlen);
}

const char *mac_prefixes_path(const struct mac_prefixes *m) { return m ? m->path : NULL; }

size_t mac_prefixes_count(const struct mac_prefixes *m) { return m ? m->n : 0; }

const char *mac_prefixes_vendor(const struct mac_prefixes *m, const uint8_t mac[6]) {
  if (!m || m->n == 0) return NULL;
  uint32_t want = (uint32_t)mac[0] << 16 | (uint32_t)mac[1] << 8 | mac[2];
  size_t lo = 0, hi = m->n;
  while (lo < hi) { /* the first entry >= want */
    size_t mid = lo + (hi - lo) / 2;
    if (m->v[mid].prefix < want) lo = mid + 1;
    else hi = mid;
  }
  return lo < m->n && m->v[lo].prefix == want ? m->names + m->v[lo].name : NULL;
}

int mac_prefixes_find(const struct mac_prefixes *m, const char *name, uint8_t prefix[3]) {
  if (!m || !*name) return -ENOENT;
  for (size_t i = 0; i < m->n; i++) { /* ascending prefixes: the lowest first */
    if (strcasestr(m->names + m->v[i].name, name) == NULL) continue;
    prefix[0] = (uint8_t)(m->v[i].prefix >> 16);
    prefix[1] = (uint8_t)(m->v[i].prefix >> 8);
    prefix[2] = (uint8_t)m->v[i].prefix;
    return 0;
  }
  return -ENOENT;
}
