/* payloads.c: the parser of Nmap's nmap-payloads and the per-port lookup
 * (see payloads.h). The file is read whole (bounded), cut into words and
 * quoted strings, and each entry's ports are indexed once: a table of
 * 65,536 offsets into one array of entry numbers, in file order. */
#define _GNU_SOURCE
#include "db/payloads.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/error.h>

#include "core/datadir.h"
#include "core/errmsg.h"
#include "core/hex.h"

#define PL_MAX_FILE (4u << 20)   /* bytes of file read */
#define PL_MAX_MAPS (1u << 20)   /* (port, entry) pairs over the file */

struct pl_entry {
  uint8_t *data;
  size_t len;
};

struct pl_map {
  uint16_t lo, hi;
  uint32_t entry;
};

struct payloads {
  struct pl_entry *v;
  size_t n;
  uint32_t *off; /* 65537: entries of port x are idx[off[x] .. off[x+1]) */
  uint32_t *idx;
  char *path;
};

/* The parser's state: the text, where it is, and what it collected. */
struct pl_parse {
  const char *t, *end;
  unsigned line;
  const char *path;
  char *err;
  size_t errlen;
  struct payloads *p;
  struct pl_map *maps;
  size_t nmaps, capmaps;
};

static int pl_fail(struct pl_parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pl_fail(struct pl_parse *ps, const char *fmt, ...) {
  char why[200], qp[ERRMSG_QUOTE_MAX + 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return errmsg_set(ps->err, ps->errlen, TW_EMALFORMED, "%s:%u: %s",
                    errmsg_quote(qp, sizeof qp, ps->path, (size_t)-1), ps->line, why);
}

void payloads_free(struct payloads *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) free(p->v[i].data);
  free(p->v);
  free(p->off);
  free(p->idx);
  free(p->path);
  free(p);
}

/* ---- 1. tokens: words and quoted strings, comments and space skipped ---- */

static void pl_skip(struct pl_parse *ps) {
  while (ps->t < ps->end) {
    char c = *ps->t;
    if (c == '\n') {
      ps->line++;
      ps->t++;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ps->t++;
    } else if (c == '#') {
      while (ps->t < ps->end && *ps->t != '\n') ps->t++;
    } else {
      return;
    }
  }
}

/* The next word (no quote, space or '#') into buf; its length, 0 at the
 * end or at a string. */
static size_t pl_word(struct pl_parse *ps, char *buf, size_t cap) {
  pl_skip(ps);
  size_t n = 0;
  while (ps->t < ps->end && *ps->t != '"' && *ps->t != '#' && *ps->t != ' ' && *ps->t != '\t' &&
         *ps->t != '\r' && *ps->t != '\n' && *ps->t != '\f' && *ps->t != '\v') {
    if (n + 1 < cap) buf[n] = *ps->t;
    n++;
    ps->t++;
  }
  buf[n + 1 < cap ? n : cap - 1] = '\0';
  return n;
}

/* A quoted string at ps->t, its bytes appended to buf (*len of at most
 * PAYLOADS_MAX_LEN). */
static int pl_string(struct pl_parse *ps, uint8_t *buf, size_t *len) {
  ps->t++; /* the opening quote */
  for (;;) {
    if (ps->t >= ps->end || *ps->t == '\n') return pl_fail(ps, "unterminated string");
    char c = *ps->t++;
    if (c == '"') return 0;
    if (c == '\\') {
      if (ps->t >= ps->end) return pl_fail(ps, "unterminated string");
      char e = *ps->t++;
      switch (e) {
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case '0': c = '\0'; break;
        case 'a': c = '\a'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'v': c = '\v'; break;
        case '\\': case '"': case '\'': c = e; break;
        case 'x': {
          int h1 = ps->t < ps->end ? hex_value(ps->t[0]) : -1;
          int h2 = ps->t + 1 < ps->end ? hex_value(ps->t[1]) : -1;
          if (h1 < 0 || h2 < 0) return pl_fail(ps, "bad \\x escape (two hex digits)");
          c = (char)(h1 << 4 | h2);
          ps->t += 2;
          break;
        }
        default: return pl_fail(ps, "unknown escape '\\%c'", e >= ' ' && e < 0x7f ? e : '?');
      }
    }
    if (*len >= PAYLOADS_MAX_LEN) return pl_fail(ps, "payload longer than %d bytes", PAYLOADS_MAX_LEN);
    buf[(*len)++] = (uint8_t)c;
  }
}

/* ---- 2. entries ------------------------------------------------------------ */

static long pl_port(const char *s, size_t n) {
  long v = 0;
  if (n == 0 || n > 5) return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= 65535 ? v : -1;
}

/* "53,69,32768-65535": each range becomes a map to entry. */
static int pl_ports(struct pl_parse *ps, const char *list, uint32_t entry) {
  size_t nranges = 0;
  for (const char *s = list; *s;) {
    const char *comma = strchr(s, ',');
    size_t n = comma ? (size_t)(comma - s) : strlen(s);
    const char *dash = memchr(s, '-', n);
    long lo = pl_port(s, dash ? (size_t)(dash - s) : n);
    long hi = dash ? pl_port(dash + 1, n - (size_t)(dash - s) - 1) : lo;
    if (lo < 0 || hi < 0 || lo > hi) return pl_fail(ps, "bad port list");
    if (++nranges > PAYLOADS_MAX_RANGES) return pl_fail(ps, "more than %d port ranges", PAYLOADS_MAX_RANGES);
    if (ps->nmaps == ps->capmaps) {
      size_t cap = ps->capmaps ? ps->capmaps * 2 : 256;
      struct pl_map *m = realloc(ps->maps, cap * sizeof *m);
      if (!m) return errmsg_set(ps->err, ps->errlen, -ENOMEM, "out of memory");
      ps->maps = m;
      ps->capmaps = cap;
    }
    ps->maps[ps->nmaps++] = (struct pl_map){(uint16_t)lo, (uint16_t)hi, entry};
    if (!comma) break;
    s = comma + 1;
    if (!*s) return pl_fail(ps, "bad port list");
  }
  return 0;
}

/* One entry: after "udp", the ports, the strings, maybe "source N". */
static int pl_entry(struct pl_parse *ps) {
  struct payloads *p = ps->p;
  char ports[1024], word[16];
  if (p->n >= PAYLOADS_MAX_ENTRIES) return pl_fail(ps, "more than %d entries", PAYLOADS_MAX_ENTRIES);
  size_t n = pl_word(ps, ports, sizeof ports);
  if (n == 0) return pl_fail(ps, "a port list must follow 'udp'");
  if (n >= sizeof ports) return pl_fail(ps, "port list too long");
  int r = pl_ports(ps, ports, (uint32_t)p->n);
  if (r < 0) return r;
  uint8_t *buf = malloc(PAYLOADS_MAX_LEN);
  if (!buf) return errmsg_set(ps->err, ps->errlen, -ENOMEM, "out of memory");
  size_t len = 0, strings = 0;
  for (;;) {
    pl_skip(ps);
    if (ps->t >= ps->end || *ps->t != '"') break;
    if ((r = pl_string(ps, buf, &len)) < 0) {
      free(buf);
      return r;
    }
    strings++;
  }
  if (strings == 0) {
    free(buf);
    return pl_fail(ps, "a quoted payload must follow the port list");
  }
  /* "source PORT": Nmap's own file says it is not used; it is checked and
   * ignored here too */
  const char *save = ps->t;
  unsigned save_line = ps->line;
  size_t wl = pl_word(ps, word, sizeof word);
  if (wl == 6 && strcmp(word, "source") == 0) {
    wl = pl_word(ps, word, sizeof word);
    if (wl >= sizeof word || pl_port(word, wl) < 0) {
      free(buf);
      return pl_fail(ps, "'source' needs a port number");
    }
  } else {
    ps->t = save;
    ps->line = save_line;
  }
  p->v[p->n].data = buf;
  p->v[p->n].len = len;
  p->n++;
  return 0;
}

/* ---- 3. the index ---------------------------------------------------------------- */

static int pl_index(struct pl_parse *ps) {
  struct payloads *p = ps->p;
  uint64_t total = 0;
  for (size_t i = 0; i < ps->nmaps; i++) total += (uint64_t)ps->maps[i].hi - ps->maps[i].lo + 1;
  if (total > PL_MAX_MAPS) return pl_fail(ps, "more than %u (port, payload) pairs", PL_MAX_MAPS);
  p->off = calloc(65537, sizeof *p->off);
  p->idx = malloc((total ? total : 1) * sizeof *p->idx);
  if (!p->off || !p->idx) return errmsg_set(ps->err, ps->errlen, -ENOMEM, "out of memory");
  for (size_t i = 0; i < ps->nmaps; i++)
    for (uint32_t x = ps->maps[i].lo; x <= ps->maps[i].hi; x++) p->off[x + 1]++;
  for (uint32_t x = 0; x < 65536; x++) p->off[x + 1] += p->off[x];
  uint32_t *fill = calloc(65536, sizeof *fill);
  if (!fill) return errmsg_set(ps->err, ps->errlen, -ENOMEM, "out of memory");
  for (size_t i = 0; i < ps->nmaps; i++) /* maps are in file order */
    for (uint32_t x = ps->maps[i].lo; x <= ps->maps[i].hi; x++)
      p->idx[p->off[x] + fill[x]++] = ps->maps[i].entry;
  free(fill);
  return 0;
}

static int pl_parse_text(struct pl_parse *ps) {
  char word[16];
  for (;;) {
    pl_skip(ps);
    if (ps->t >= ps->end) return pl_index(ps);
    if (*ps->t == '"') return pl_fail(ps, "a string outside an entry");
    size_t n = pl_word(ps, word, sizeof word);
    if (n != 3 || strcmp(word, "udp") != 0) return pl_fail(ps, "expected 'udp'");
    int r = pl_entry(ps);
    if (r < 0) return r;
  }
}

int payloads_load(struct payloads **out, const char *path, char *err, size_t errlen) {
  char qp[ERRMSG_QUOTE_MAX + 8];
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f)
    return errmsg_set(err, errlen, -errno, "cannot open '%s': %s",
                      errmsg_quote(qp, sizeof qp, path, (size_t)-1), strerror(errno));
  char *text = malloc(PL_MAX_FILE + 1);
  size_t n = text ? fread(text, 1, PL_MAX_FILE + 1, f) : 0;
  int rerr = ferror(f);
  fclose(f);
  if (!text) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  if (rerr || n > PL_MAX_FILE) {
    free(text);
    return errmsg_set(err, errlen, rerr ? -EIO : TW_EMALFORMED, "%s '%s'",
                      rerr ? "error reading" : "file over 4 MiB:",
                      errmsg_quote(qp, sizeof qp, path, (size_t)-1));
  }
  struct payloads *p = calloc(1, sizeof *p);
  struct pl_parse ps = {text, text + n, 1, path, err, errlen, p, NULL, 0, 0};
  int r = 0;
  if (!p || !(p->path = strdup(path)) || !(p->v = calloc(PAYLOADS_MAX_ENTRIES, sizeof *p->v)))
    r = errmsg_set(err, errlen, -ENOMEM, "out of memory");
  if (r == 0) r = pl_parse_text(&ps);
  free(ps.maps);
  free(text);
  if (r < 0) {
    payloads_free(p);
    return r;
  }
  *out = p;
  return 0;
}

int payloads_load_default(struct payloads **out, const char *datadir, char *err, size_t errlen) {
  char path[4096];
  *out = NULL;
  if (datadir_find(DATADIR_NMAP, datadir, PAYLOADS_FILE, DATADIR_FILE, path, sizeof path) < 0)
    return 0;
  return payloads_load(out, path, err, errlen);
}

const char *payloads_path(const struct payloads *p) { return p ? p->path : NULL; }

size_t payloads_entries(const struct payloads *p) { return p ? p->n : 0; }

size_t payloads_count(const struct payloads *p, uint16_t port) {
  return p ? p->off[port + 1] - p->off[port] : 0;
}

const uint8_t *payloads_get(const struct payloads *p, uint16_t port, size_t k, size_t *len) {
  *len = 0;
  if (k >= payloads_count(p, port)) return NULL;
  const struct pl_entry *e = &p->v[p->idx[p->off[port] + k]];
  *len = e->len;
  return e->data;
}
