/* mread.c: what the three output readers share (see mread.h): telling the
 * format, bounded line reading, parsing the values trawl writes (states,
 * protocols, addresses, numbers, port lists) and the bookkeeping that lets
 * an error name the host where a file stops. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "merge/mread.h"
#include "cli/resume.h"

const char *mread_fmt_name(enum mread_fmt f) {
  return f == MREAD_XML ? "XML" : f == MREAD_JSON ? "JSON Lines" : "grepable";
}

int mread_fail(struct mread *r, const char *fmt, ...) {
  if (r->err[0]) return -1; /* the first error stays */
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(r->err, sizeof r->err, "%s: line %lu: %s", r->name, r->line, msg);
  return -1;
}

int mread_open(struct mread *r, FILE *fp, const char *name) {
  memset(r, 0, sizeof *r);
  r->fp = fp;
  r->name = name;
  r->line = 1;
  host_result_init(&r->host);
  host_result_init(&r->rule);
  int c;
  while ((c = getc(fp)) == ' ' || c == '\t' || c == '\r' || c == '\n')
    if (c == '\n') r->line++;
  if (c == EOF) {
    snprintf(r->err, sizeof r->err, "%s: empty: not a trawl output", name);
    return -1;
  }
  ungetc(c, fp);
  if (c == '<') r->fmt = MREAD_XML;
  else if (c == '{') r->fmt = MREAD_JSON;
  else if (c == '#') r->fmt = MREAD_GREP;
  else {
    snprintf(r->err, sizeof r->err,
             "%s: not a trawl output (XML, grepable or JSON Lines): it starts with byte 0x%02x",
             name, (unsigned)c);
    return -1;
  }
  return 0;
}

static void begin_clear(struct mread_begin *b) {
  free(b->args);
  for (size_t i = 0; i < b->ntypes; i++) free(b->ports[i]);
  memset(b, 0, sizeof *b);
}

void mread_close(struct mread *r) {
  begin_clear(&r->begin);
  host_result_free(&r->host);
  host_result_free(&r->rule);
  free(r->end.errormsg);
  free(r->buf);
  free(r->pending);
  free(r->stylesheet);
  r->stylesheet = NULL;
  mread_xml_free(r);
  r->buf = r->pending = NULL;
}

int mread_next(struct mread *r) {
  if (r->err[0]) return -1;
  int k;
  switch (r->fmt) {
    case MREAD_XML: k = mread_xml_next(r); break;
    case MREAD_JSON: k = mread_json_next(r); break;
    default: k = mread_grep_next(r); break;
  }
  if (k < 0 && !r->err[0]) mread_fail(r, "cannot read");
  return k;
}

int mread_putc(struct mread *r, char c) {
  if (r->len + 1 >= r->cap) {
    if (r->cap >= MREAD_TOKEN_MAX)
      return mread_fail(r, "a line, tag or text longer than %u bytes", MREAD_TOKEN_MAX);
    size_t nc = r->cap ? r->cap * 2 : 4096;
    if (nc > MREAD_TOKEN_MAX) nc = MREAD_TOKEN_MAX;
    char *b = realloc(r->buf, nc);
    if (!b) return mread_fail(r, "out of memory");
    r->buf = b;
    r->cap = nc;
  }
  r->buf[r->len++] = c;
  r->buf[r->len] = 0;
  return 0;
}

int mread_line(struct mread *r, bool *eol) {
  r->len = 0;
  if (mread_putc(r, 0) < 0) return -1; /* make buf exist */
  r->len = 0;
  r->buf[0] = 0;
  int c;
  *eol = false;
  if (r->line_ended) r->line++; /* r->line: the line being returned */
  r->line_ended = false;
  while ((c = getc_unlocked(r->fp)) != EOF) {
    if (c == '\n') {
      *eol = true;
      r->line_ended = true;
      return 1;
    }
    if (mread_putc(r, (char)c) < 0) return -1;
  }
  if (ferror(r->fp)) return mread_fail(r, "read error: %s", strerror(errno));
  return r->len > 0 ? 1 : 0;
}

int mread_state(const char *s, enum port_state *st) {
  for (int i = 0; i < PORT_NSTATES; i++)
    if (strcmp(s, port_state_name((enum port_state)i)) == 0) {
      *st = (enum port_state)i;
      return 0;
    }
  return -1;
}

int mread_proto(const char *s, enum scan_proto *p) {
  for (int i = 0; i < PROTO_COUNT; i++)
    if (strcmp(s, proto_name((enum scan_proto)i)) == 0) {
      *p = (enum scan_proto)i;
      return 0;
    }
  return -1;
}

int mread_scan_type(const char *s, enum scan_type *t) {
  for (int i = 0; i < SCAN_NTYPES; i++)
    if (strcmp(s, scan_type_name((enum scan_type)i)) == 0) {
      *t = (enum scan_type)i;
      return 0;
    }
  return -1;
}

int mread_u64(const char *s, uint64_t max, uint64_t *v) {
  if (!s || *s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end || x > max) return -1;
  *v = x;
  return 0;
}

int mread_i64(const char *s, int64_t *v) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno || *end) return -1;
  *v = x;
  return 0;
}

int mread_addr(const char *s, struct tgt_addr *a) {
  memset(a, 0, sizeof *a);
  if (inet_pton(AF_INET, s, &a->u.v4) == 1) a->family = AF_INET;
  else if (inet_pton(AF_INET6, s, &a->u.v6) == 1) a->family = AF_INET6;
  else return -1;
  return 0;
}

int mread_mac(const char *s, uint8_t mac[6]) {
  unsigned v[6];
  char tail;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return -1;
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)v[i];
  return 0;
}

int mread_add_type(struct mread *r, enum scan_type t, enum scan_proto p, const char *services,
                   int scanflags) {
  struct mread_begin *b = &r->begin;
  if (b->ntypes >= MREAD_MAX_TYPES) return mread_fail(r, "more than %d scan types", MREAD_MAX_TYPES);
  uint16_t *v = malloc(65536 * sizeof *v);
  if (!v) return mread_fail(r, "out of memory");
  size_t n = 0;
  const char *s = services;
  long prev = -1;
  while (*s) {
    char *end;
    long lo = strtol(s, &end, 10), hi = lo;
    if (end == s || lo < 0 || lo > 65535) goto bad;
    s = end;
    if (*s == '-') {
      hi = strtol(s + 1, &end, 10);
      if (end == s + 1 || hi < lo || hi > 65535) goto bad;
      s = end;
    }
    if (lo <= prev) goto bad; /* sorted and disjoint, as trawl writes them */
    for (long x = lo; x <= hi; x++) v[n++] = (uint16_t)x;
    prev = hi;
    if (*s == ',') s++;
    else if (*s) goto bad;
  }
  b->ports[b->ntypes] = v;
  b->types[b->ntypes] = (struct scan_info_type){t, p, v, n, scanflags};
  b->ntypes++;
  return 0;
bad:
  free(v);
  return mread_fail(r, "bad port list in the scan's header");
}

void mread_note_args(struct mread *r) {
  r->version_scan = false;
  const char *a = r->begin.args ? r->begin.args : "";
  /* word by word: -sV, or -A (which implies it), alone or with other -s letters */
  for (const char *p = a; *p;) {
    while (*p == ' ') p++;
    const char *w = p;
    while (*p && *p != ' ') p++;
    size_t l = (size_t)(p - w);
    if ((l == 2 && strncmp(w, "-A", 2) == 0) ||
        (l >= 3 && strncmp(w, "-s", 2) == 0 && memchr(w + 2, 'V', l - 2)))
      r->version_scan = true;
  }
}

void mread_host_begin(struct mread *r) {
  host_result_free(&r->host);
  host_result_init(&r->host);
  r->in_host = true;
  r->cur_addr[0] = 0;
}

int mread_host_done(struct mread *r) {
  if (!r->cur_addr[0]) return mread_fail(r, "a host without an address");
  r->in_host = false;
  snprintf(r->last_addr, sizeof r->last_addr, "%s", r->cur_addr);
  r->nhosts++;
  return MREAD_HOST;
}

int mread_marker(struct mread *r, const char *s) {
  const char *m = strstr(s, RESUME_TAG);
  unsigned long long nt, sd;
  if (!m || sscanf(m + strlen(RESUME_TAG), " next-target=%llu seed=%llu", &nt, &sd) != 2) return 0;
  r->mark_next = nt;
  r->mark_seed = sd;
  return 1;
}

void mread_begin_reset(struct mread *r) {
  begin_clear(&r->begin);
  free(r->end.errormsg);
  memset(&r->end, 0, sizeof r->end);
}
