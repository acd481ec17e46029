/* service-probes.c: loading nmap-service-probes (see service-probes.h):
 * reading the file, parsing each directive, compiling the regexes with
 * PCRE2 and its JIT, and resolving fallbacks once the whole file is read. */
#define _GNU_SOURCE
#define PCRE2_CODE_UNIT_WIDTH 8
#include "db/service-probes.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <trawl/error.h>
#include <trawl/loop.h>

#include "core/datadir.h"
#include "core/errmsg.h"
#include "core/ports.h"
#include "core/hex.h"

#define SP_INSTALL_HINT                                                           \
  "install Debian's nmap-common package (apt-get install nmap-common), or point " \
  "to the file with --versiondb FILE or --datadir DIR"

/* Per-probe parse state that the finished database does not keep. */
struct sp_pending {
  char *fallback; /* the last `fallback` directive's text */
  unsigned fallback_line;
  size_t capmatches;
};

struct sp_parser {
  struct sp_db *db;
  const struct sp_load_opts *opts;
  const char *name;
  unsigned line;
  int32_t cur;  /* probe being filled, -1 before the first or after a bad one */
  int skipping; /* after a bad Probe line: its directives go too */
  size_t capprobes;
  struct sp_pending *pend;
  int oom;
};

/* ---- warnings --------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void sp_warn(struct sp_parser *p, const char *fmt,
                                                          ...) {
  char msg[512], where[ERRMSG_QUOTE_MAX + 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  p->db->warnings++;
  if (p->opts == NULL || p->opts->warn == NULL) return;
  char line[700];
  snprintf(line, sizeof line, "%s:%u: %s", errmsg_quote(where, sizeof where, p->name, (size_t)-1),
           p->line, msg);
  p->opts->warn(p->opts->ud, line);
}

/* ---- small parsing helpers --------------------------------------------------- */

static int sp_space(char c) { return c == ' ' || c == '\t'; }

static const char *sp_skip(const char *s) {
  while (sp_space(*s)) s++;
  return s;
}

/* A whole decimal number in [lo, hi] from s up to its end; -1 if not. */
static long sp_number(const char *s, long lo, long hi) {
  long v = 0;
  s = sp_skip(s);
  if (*s < '0' || *s > '9') return -1;
  for (; *s >= '0' && *s <= '9'; s++) {
    v = v * 10 + (*s - '0');
    if (v > hi) return -1;
  }
  if (*sp_skip(s) != '\0') return -1;
  return v < lo ? -1 : v;
}

static char *sp_strndup(struct sp_parser *p, const char *s, size_t n) {
  char *r = strndup(s, n);
  if (r == NULL) p->oom = 1;
  return r;
}

/* ---- escapes (probe payloads, $SUBST arguments) ------------------------------ */

const char *sp_escape_end(const char *s, char delim) {
  for (; *s; s++) {
    if (*s == delim) return s;
    if (*s == '\\' && s[1] != '\0') s++;
  }
  return NULL;
}

int sp_unescape(const char *s, size_t n, char delim, uint8_t *out, size_t *outlen,
                const char **why) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\') {
      out[o++] = (uint8_t)s[i];
      continue;
    }
    if (++i == n) {
      *why = "a lone backslash at the end";
      return -1;
    }
    switch (s[i]) {
      case '0': out[o++] = 0; break; /* never octal: "\01" is NUL, '1' */
      case 'a': out[o++] = '\a'; break;
      case 'b': out[o++] = '\b'; break;
      case 'f': out[o++] = '\f'; break;
      case 'n': out[o++] = '\n'; break;
      case 'r': out[o++] = '\r'; break;
      case 't': out[o++] = '\t'; break;
      case 'v': out[o++] = '\v'; break;
      case '\\': case '\'': case '"': out[o++] = (uint8_t)s[i]; break;
      case 'x': {
        int h = i + 2 < n ? hex_value(s[i + 1]) : -1, l = h >= 0 ? hex_value(s[i + 2]) : -1;
        if (h < 0 || l < 0) {
          *why = "\\x needs two hex digits";
          return -1;
        }
        out[o++] = (uint8_t)(h << 4 | l);
        i += 2;
        break;
      }
      default:
        if (delim != '\0' && s[i] == delim) {
          out[o++] = (uint8_t)s[i];
          break;
        }
        *why = "unknown escape (known: \\0 \\a \\b \\f \\n \\r \\t \\v \\xHH \\\\ and the delimiter)";
        return -1;
    }
  }
  *outlen = o;
  return 0;
}

/* ---- ports, sslports ---------------------------------------------------------- */

/* "21,23,80-85": appends the ranges to ports. 0, or -1 with a reason. */
static int sp_parse_ports(struct sp_parser *p, struct sp_ports *ports, const char *s,
                          const char **why) {
  size_t n0 = ports->n;
  for (;;) {
    s = sp_skip(s);
    if (*s < '0' || *s > '9') goto bad;
    long lo = 0, hi;
    while (*s >= '0' && *s <= '9') {
      lo = lo * 10 + (*s++ - '0');
      if (lo > 65535) goto range;
    }
    s = sp_skip(s);
    hi = lo;
    if (*s == '-') {
      s = sp_skip(s + 1);
      if (*s < '0' || *s > '9') goto bad;
      hi = 0;
      while (*s >= '0' && *s <= '9') {
        hi = hi * 10 + (*s++ - '0');
        if (hi > 65535) goto range;
      }
      if (hi < lo) goto range;
      s = sp_skip(s);
    }
    struct sp_portrange *v = realloc(ports->v, (ports->n + 1) * sizeof *v);
    if (v == NULL) {
      p->oom = 1;
      return -1;
    }
    ports->v = v;
    v[ports->n].lo = (uint16_t)lo;
    v[ports->n].hi = (uint16_t)hi;
    ports->n++;
    if (*s == '\0') return 0;
    if (*s != ',') goto bad;
    s++;
  }
bad:
  ports->n = n0;
  *why = "expected a port list such as 21-25,53,80";
  return -1;
range:
  ports->n = n0;
  *why = "ports must be 0-65535, ranges low-high";
  return -1;
}

/* ---- Probe --------------------------------------------------------------------- */

static void sp_probe_clear(struct sp_probe *pr);

/* "TCP NAME q|payload| [no-payload]". 0, or -1 after a warning. */
static int sp_parse_probe(struct sp_parser *p, const char *s, struct sp_probe *pr) {
  char q[ERRMSG_QUOTE_MAX + 8];
  memset(pr, 0, sizeof *pr);
  pr->rarity = SP_DEFAULT_RARITY;
  pr->totalwaitms = SP_DEFAULT_WAITMS;
  pr->tcpwrappedms = SP_DEFAULT_TCPWRAPPEDMS;
  pr->line = p->line;
  if (strncmp(s, "TCP", 3) == 0 && sp_space(s[3]))
    pr->proto = PROTO_TCP;
  else if (strncmp(s, "UDP", 3) == 0 && sp_space(s[3]))
    pr->proto = PROTO_UDP;
  else {
    sp_warn(p, "Probe: protocol must be TCP or UDP; probe skipped");
    return -1;
  }
  s = sp_skip(s + 3);
  const char *name = s;
  while (*s && !sp_space(*s)) s++;
  if (s == name || !isalnum((unsigned char)*name)) {
    sp_warn(p, "Probe: missing or bad probe name; probe skipped");
    return -1;
  }
  for (const char *c = name; c < s; c++)
    if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
      sp_warn(p, "Probe: bad character in probe name; probe skipped");
      return -1;
    }
  s = sp_skip(s);
  if (s[0] != 'q' || s[1] == '\0') {
    sp_warn(p, "Probe: expected q<delimiter>payload<delimiter> after the name; probe skipped");
    return -1;
  }
  char delim = s[1];
  const char *body = s + 2, *end = sp_escape_end(body, delim);
  if (end == NULL) {
    sp_warn(p, "Probe: no closing '%s' after the payload; probe skipped",
            errmsg_quote(q, sizeof q, &delim, 1));
    return -1;
  }
  size_t blen = (size_t)(end - body);
  pr->payload = malloc(blen ? blen : 1);
  if (pr->payload == NULL) {
    p->oom = 1;
    return -1;
  }
  const char *why = NULL;
  if (sp_unescape(body, blen, delim, pr->payload, &pr->payload_len, &why) != 0) {
    sp_warn(p, "Probe: bad payload escape: %s; probe skipped", why);
    free(pr->payload);
    pr->payload = NULL;
    return -1;
  }
  if (pr->payload_len == 0) {
    free(pr->payload);
    pr->payload = NULL;
  }
  for (s = sp_skip(end + 1); *s; s = sp_skip(s)) {
    const char *t = s;
    while (*s && !sp_space(*s)) s++;
    if ((size_t)(s - t) == 10 && strncmp(t, "no-payload", 10) == 0)
      pr->no_payload = 1;
    else
      sp_warn(p, "Probe: unknown option '%s' ignored",
              errmsg_quote(q, sizeof q, t, (size_t)(s - t)));
  }
  size_t nlen = 0;
  while (name[nlen] && !sp_space(name[nlen])) nlen++;
  pr->name = sp_strndup(p, name, nlen);
  if (pr->name == NULL) {
    free(pr->payload);
    pr->payload = NULL;
    return -1;
  }
  return 0;
}

static void sp_new_probe(struct sp_parser *p, const char *rest) {
  struct sp_db *db = p->db;
  struct sp_probe pr;
  p->cur = -1;
  p->skipping = 1;
  if (sp_parse_probe(p, rest, &pr) != 0) return;
  if (pr.payload_len == 0) {
    if (pr.proto != PROTO_TCP) {
      sp_warn(p, "Probe: an empty payload is only allowed for the TCP NULL probe; probe skipped");
      sp_probe_clear(&pr);
      return;
    }
    if (db->null_probe >= 0) {
      sp_warn(p, "Probe: a second probe with an empty payload (NULL probe); probe skipped");
      sp_probe_clear(&pr);
      return;
    }
  }
  for (size_t i = 0; i < db->nprobes; i++)
    if (db->probes[i].proto == pr.proto && strcmp(db->probes[i].name, pr.name) == 0) {
      char q[ERRMSG_QUOTE_MAX + 8];
      sp_warn(p, "Probe: %s probe '%s' defined twice; probe skipped", proto_name(pr.proto),
              errmsg_quote(q, sizeof q, pr.name, (size_t)-1));
      sp_probe_clear(&pr);
      return;
    }
  if (db->nprobes == p->capprobes) {
    size_t cap = p->capprobes ? p->capprobes * 2 : 64;
    struct sp_probe *v = realloc(db->probes, cap * sizeof *v);
    struct sp_pending *pv = realloc(p->pend, cap * sizeof *pv);
    if (v) db->probes = v;
    if (pv) p->pend = pv;
    if (v == NULL || pv == NULL) {
      p->oom = 1;
      sp_probe_clear(&pr);
      return;
    }
    p->capprobes = cap;
  }
  if (pr.payload_len == 0) db->null_probe = (int32_t)db->nprobes;
  memset(&p->pend[db->nprobes], 0, sizeof p->pend[0]);
  db->probes[db->nprobes] = pr;
  p->cur = (int32_t)db->nprobes++;
  p->skipping = 0;
}

/* ---- match, softmatch ------------------------------------------------------------ */

static void sp_match_clear(struct sp_match *m) {
  free(m->service);
  free(m->regex);
  pcre2_code_free((pcre2_code *)m->re);
  for (int f = 0; f < SP_FIELD_COUNT; f++) free(m->tmpl[f]);
  for (unsigned i = 0; i < m->ncpe; i++) free(m->cpe[i]);
  memset(m, 0, sizeof *m);
}

/* One field "X<d>text<d>[flags]" at *sp: fills m and advances *sp. 0, or -1
 * with *why. */
static int sp_parse_field(struct sp_parser *p, const char **sp, struct sp_match *m,
                          const char **why) {
  const char *s = *sp, *mode = s;
  while (isalpha((unsigned char)*s) || *s == ':') s++;
  size_t ml = (size_t)(s - mode);
  if (ml == 0 || *s == '\0' || sp_space(*s)) {
    *why = "expected a version field such as p/product/";
    return -1;
  }
  int field = -1, cpe = 0;
  if (ml == 1) {
    static const char letters[] = "pvihod";
    const char *l = strchr(letters, *mode);
    if (l) field = (int)(l - letters);
  } else if (ml == 4 && strncmp(mode, "cpe:", 4) == 0) {
    cpe = 1;
  }
  if (field < 0 && !cpe) {
    *why = "unknown version field (expected p v i h o d or cpe:)";
    return -1;
  }
  char delim = *s++;
  const char *end = strchr(s, delim);
  if (end == NULL) {
    *why = "version field without its closing delimiter";
    return -1;
  }
  const char *val = s;
  size_t vlen = (size_t)(end - s);
  s = end + 1;
  int aflag = 0;
  while (isalpha((unsigned char)*s)) {
    if (cpe && *s == 'a' && !aflag) {
      aflag = 1;
      s++;
    } else {
      *why = cpe ? "unknown flag after cpe:/.../ (only 'a')" : "unknown flag after a version field";
      return -1;
    }
  }
  if (*s != '\0' && !sp_space(*s)) {
    *why = "junk after a version field";
    return -1;
  }
  if (cpe) {
    if (m->ncpe >= SP_MAX_CPES) {
      *why = "too many cpe:/ fields";
      return -1;
    }
    char *c = malloc(vlen + 6);
    if (c == NULL) {
      p->oom = 1;
      *why = "out of memory";
      return -1;
    }
    memcpy(c, "cpe:/", 5);
    memcpy(c + 5, val, vlen);
    c[vlen + 5] = '\0';
    m->cpe_aflag[m->ncpe] = (uint8_t)aflag;
    m->cpe[m->ncpe++] = c;
  } else {
    /* Nmap keeps the last of a repeated field. */
    free(m->tmpl[field]);
    m->tmpl[field] = sp_strndup(p, val, vlen);
    if (m->tmpl[field] == NULL) {
      *why = "out of memory";
      return -1;
    }
  }
  *sp = s;
  return 0;
}

static int sp_add_service(struct sp_parser *p, struct sp_probe *pr, const char *svc) {
  if (sp_probe_can_give(pr, svc)) return 0;
  char **v = realloc(pr->services, (pr->nservices + 1) * sizeof *v);
  if (v == NULL) {
    p->oom = 1;
    return -1;
  }
  pr->services = v;
  if ((v[pr->nservices] = sp_strndup(p, svc, strlen(svc))) == NULL) return -1;
  pr->nservices++;
  return 0;
}

static void sp_match_line(struct sp_parser *p, const char *rest, int soft) {
  const char *kw = soft ? "softmatch" : "match";
  struct sp_probe *pr = &p->db->probes[p->cur];
  struct sp_match m;
  memset(&m, 0, sizeof m);
  m.soft = (uint8_t)soft;
  m.line = p->line;
  const char *s = rest, *svc = s;
  while (*s && !sp_space(*s)) s++;
  if (s == svc) {
    sp_warn(p, "%s: missing service name; line skipped", kw);
    return;
  }
  for (const char *c = svc; c < s; c++)
    if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
      sp_warn(p, "%s: bad character in service name; line skipped", kw);
      return;
    }
  m.service = sp_strndup(p, svc, (size_t)(s - svc));
  s = sp_skip(s);
  if (s[0] != 'm' || s[1] == '\0' || sp_space(s[1])) {
    sp_warn(p, "%s: expected m<delimiter>regex<delimiter> after the service; line skipped", kw);
    goto out;
  }
  char delim = s[1];
  const char *re = s + 2, *end = strchr(re, delim);
  if (end == NULL) {
    sp_warn(p, "%s: no closing delimiter after the regex; line skipped", kw);
    goto out;
  }
  m.regex = sp_strndup(p, re, (size_t)(end - re));
  for (s = end + 1; *s && !sp_space(*s); s++) {
    if (*s == 'i')
      m.icase = 1;
    else if (*s == 's')
      m.dotall = 1;
    else {
      sp_warn(p, "%s: unknown regex flag (only i and s); line skipped", kw);
      goto out;
    }
  }
  for (s = sp_skip(s); *s; s = sp_skip(s)) {
    const char *why = NULL;
    if (sp_parse_field(p, &s, &m, &why) != 0) {
      sp_warn(p, "%s: %s; line skipped", kw, why);
      goto out;
    }
  }
  if (p->oom || m.service == NULL || m.regex == NULL) goto out;
  int ec;
  PCRE2_SIZE eoff;
  uint32_t copt = (m.icase ? PCRE2_CASELESS : 0) | (m.dotall ? PCRE2_DOTALL : 0);
  pcre2_code *code = pcre2_compile((PCRE2_SPTR)m.regex, PCRE2_ZERO_TERMINATED, copt, &ec, &eoff,
                                   NULL);
  if (code == NULL) {
    PCRE2_UCHAR msg[160];
    if (pcre2_get_error_message(ec, msg, sizeof msg) < 0) strcpy((char *)msg, "unknown error");
    sp_warn(p, "%s: regex rejected by PCRE2 at offset %zu: %s; line skipped", kw, (size_t)eoff,
            (const char *)msg);
    goto out;
  }
  /* A JIT failure (no JIT on this CPU, out of executable memory) leaves the
   * interpreter in use: same answers, slower. */
  if (p->opts == NULL || p->opts->jit == SP_JIT_EAGER) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  m.re = (struct pcre2_real_code_8 *)code;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &m.ncaptures);
  struct sp_pending *pd = &p->pend[p->cur];
  if (pr->nmatches == pd->capmatches) {
    size_t cap = pd->capmatches ? pd->capmatches * 2 : 16;
    struct sp_match *v = realloc(pr->matches, cap * sizeof *v);
    if (v == NULL) {
      p->oom = 1;
      goto out;
    }
    pr->matches = v;
    pd->capmatches = cap;
  }
  if (sp_add_service(p, pr, m.service) != 0) goto out;
  if (m.ncaptures > p->db->max_captures) p->db->max_captures = m.ncaptures;
  pr->matches[pr->nmatches++] = m;
  p->db->nmatches++;
  return;
out:
  sp_match_clear(&m);
}

/* ---- one line ---------------------------------------------------------------------- */

static void sp_exclude(struct sp_parser *p, const char *rest) {
  char err[256];
  if (p->db->nprobes > 0 || p->skipping) {
    sp_warn(p, "Exclude: must come before the first Probe; line skipped");
    return;
  }
  if (p->db->exclude != NULL) {
    sp_warn(p, "Exclude: only one Exclude directive is allowed; line skipped");
    return;
  }
  struct portset *set = calloc(1, sizeof *set);
  if (set == NULL) {
    p->oom = 1;
    return;
  }
  if (ports_parse(set, rest, PROTO_MASK_ALL, 1, NULL, "Exclude", err, sizeof err) != 0) {
    sp_warn(p, "%s; line skipped", err);
    free(set);
    return;
  }
  p->db->exclude = set;
}

static void sp_line(struct sp_parser *p, char *line) {
  char q[ERRMSG_QUOTE_MAX + 8];
  const char *s = sp_skip(line);
  if (*s == '\0' || *s == '#') return;
  const char *kw = s;
  while (*s && !sp_space(*s)) s++;
  size_t kl = (size_t)(s - kw);
  const char *rest = sp_skip(s);
#define IS(word) (kl == sizeof(word) - 1 && strncmp(kw, word, kl) == 0)
  if (IS("Probe")) {
    sp_new_probe(p, rest);
    return;
  }
  if (IS("Exclude")) {
    sp_exclude(p, rest);
    return;
  }
  int known = IS("match") || IS("softmatch") || IS("ports") || IS("sslports") || IS("rarity") ||
              IS("totalwaitms") || IS("tcpwrappedms") || IS("fallback");
  if (!known) {
    sp_warn(p, "unknown directive '%s'; line skipped", errmsg_quote(q, sizeof q, kw, kl));
    return;
  }
  if (p->skipping) return; /* belongs to a probe that was skipped */
  if (p->cur < 0) {
    sp_warn(p, "'%s' before the first Probe; line skipped", errmsg_quote(q, sizeof q, kw, kl));
    return;
  }
  struct sp_probe *pr = &p->db->probes[p->cur];
  const char *why = NULL;
  long v;
  if (IS("match") || IS("softmatch")) {
    sp_match_line(p, rest, IS("softmatch"));
  } else if (IS("ports") || IS("sslports")) {
    if (sp_parse_ports(p, IS("ports") ? &pr->ports : &pr->sslports, rest, &why) != 0 && why)
      sp_warn(p, "%.*s: %s; line skipped", (int)kl, kw, why);
  } else if (IS("rarity")) {
    if ((v = sp_number(rest, 1, 9)) < 0)
      sp_warn(p, "rarity: must be a number from 1 to 9; line skipped");
    else
      pr->rarity = (uint8_t)v;
  } else if (IS("totalwaitms") || IS("tcpwrappedms")) {
    if ((v = sp_number(rest, 100, 300000)) < 0)
      sp_warn(p, "%.*s: must be a number of milliseconds from 100 to 300000; line skipped",
              (int)kl, kw);
    else if (IS("totalwaitms"))
      pr->totalwaitms = (unsigned)v;
    else
      pr->tcpwrappedms = (unsigned)v;
  } else if (IS("fallback")) {
    if (*rest == '\0') {
      sp_warn(p, "fallback: no probe named; line skipped");
      return;
    }
    struct sp_pending *pd = &p->pend[p->cur];
    free(pd->fallback);
    pd->fallback = sp_strndup(p, rest, strlen(rest));
    pd->fallback_line = p->line;
  }
#undef IS
}

/* ---- after the last line ------------------------------------------------------------- */

const struct sp_probe *sp_probe_by_name(const struct sp_db *db, const char *name,
                                        enum scan_proto proto) {
  for (size_t i = 0; i < db->nprobes; i++)
    if (db->probes[i].proto == proto && strcmp(db->probes[i].name, name) == 0)
      return &db->probes[i];
  return NULL;
}

static int32_t sp_index_for_fallback(const struct sp_db *db, const char *name,
                                     enum scan_proto proto) {
  const struct sp_probe *pr = sp_probe_by_name(db, name, proto);
  /* Nmap: the same protocol first, then any. */
  if (pr == NULL) pr = sp_probe_by_name(db, name, proto == PROTO_TCP ? PROTO_UDP : PROTO_TCP);
  return pr ? (int32_t)(pr - db->probes) : -1;
}

static void sp_add_fallback(struct sp_probe *pr, int32_t idx) {
  for (unsigned i = 0; i < pr->nfallback; i++)
    if (pr->fallback[i] == idx) return; /* a repeat can never match first */
  pr->fallback[pr->nfallback++] = idx;
}

static void sp_resolve_fallbacks(struct sp_parser *p) {
  struct sp_db *db = p->db;
  char q[ERRMSG_QUOTE_MAX + 8];
  for (size_t i = 0; i < db->nprobes; i++) {
    struct sp_probe *pr = &db->probes[i];
    struct sp_pending *pd = &p->pend[i];
    pr->nfallback = 0;
    sp_add_fallback(pr, (int32_t)i);
    if ((int32_t)i == db->null_probe) continue;
    if (pd->fallback) {
      unsigned listed = 0;
      char *save = NULL;
      p->line = pd->fallback_line;
      for (char *t = strtok_r(pd->fallback, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        int32_t idx = sp_index_for_fallback(db, t, pr->proto);
        if (idx < 0) {
          sp_warn(p, "fallback: no probe named '%s'; name ignored",
                  errmsg_quote(q, sizeof q, t, (size_t)-1));
          continue;
        }
        if (listed == SP_MAX_FALLBACKS - 2) {
          sp_warn(p, "fallback: more than %d probes; the rest ignored", SP_MAX_FALLBACKS - 2);
          break;
        }
        listed++;
        sp_add_fallback(pr, idx);
      }
    }
    if (pr->proto == PROTO_TCP && db->null_probe >= 0) sp_add_fallback(pr, db->null_probe);
  }
}

/* ---- loading --------------------------------------------------------------------------- */

static void sp_probe_clear(struct sp_probe *pr) {
  free(pr->name);
  free(pr->payload);
  free(pr->ports.v);
  free(pr->sslports.v);
  for (size_t i = 0; i < pr->nmatches; i++) sp_match_clear(&pr->matches[i]);
  free(pr->matches);
  for (size_t i = 0; i < pr->nservices; i++) free(pr->services[i]);
  free(pr->services);
  memset(pr, 0, sizeof *pr);
}

void sp_free(struct sp_db *db) {
  if (db == NULL) return;
  for (size_t i = 0; i < db->nprobes; i++) sp_probe_clear(&db->probes[i]);
  free(db->probes);
  free(db->exclude);
  free(db->path);
  free(db);
}

int sp_parse(struct sp_db **out, const char *name, const char *text, size_t len,
             const struct sp_load_opts *opts, char *err, size_t errlen) {
  uint64_t t0 = tw_hrtime();
  *out = NULL;
  struct sp_db *db = calloc(1, sizeof *db);
  if (db == NULL || (db->path = strdup(name ? name : SP_FILE)) == NULL) {
    free(db);
    return errmsg_set(err, errlen, -ENOMEM, "out of memory loading %s", SP_FILE);
  }
  db->null_probe = -1;
  struct sp_parser p = {.db = db, .opts = opts, .name = db->path, .cur = -1};
  size_t cap = 256;
  char *buf = malloc(cap);
  if (buf == NULL) p.oom = 1;
  size_t i = 0;
  while (i < len && !p.oom) {
    size_t j = i;
    while (j < len && text[j] != '\n') j++;
    size_t n = j - i;
    p.line++;
    if (n && text[i + n - 1] == '\r') n--;
    if (memchr(text + i, '\0', n) != NULL) {
      sp_warn(&p, "NUL byte in line; line skipped");
    } else {
      if (n + 1 > cap) {
        while (n + 1 > cap) cap *= 2;
        char *nb = realloc(buf, cap);
        if (nb == NULL) {
          p.oom = 1;
          break;
        }
        buf = nb;
      }
      memcpy(buf, text + i, n);
      buf[n] = '\0';
      sp_line(&p, buf);
    }
    i = j + 1;
  }
  free(buf);
  if (!p.oom) sp_resolve_fallbacks(&p);
  for (size_t k = 0; k < db->nprobes; k++) free(p.pend[k].fallback);
  free(p.pend);
  if (db->nprobes) {
    struct sp_probe *v = realloc(db->probes, db->nprobes * sizeof *v);
    if (v) db->probes = v;
  }
  if (p.oom) {
    sp_free(db);
    return errmsg_set(err, errlen, -ENOMEM, "out of memory loading %s", SP_FILE);
  }
  db->load_ns = tw_hrtime() - t0;
  *out = db;
  return 0;
}

int sp_load(struct sp_db **out, const char *path, const struct sp_load_opts *opts, char *err,
            size_t errlen) {
  char qp[ERRMSG_QUOTE_MAX + 8];
  *out = NULL;
  errmsg_quote(qp, sizeof qp, path, (size_t)-1);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = fd < 0 ? errno : (errno ? errno : EISDIR);
    if (fd >= 0 && S_ISDIR(st.st_mode)) e = EISDIR;
    if (fd >= 0) close(fd);
    return errmsg_set(err, errlen, -e, "cannot read %s: %s; " SP_INSTALL_HINT, qp, strerror(e));
  }
  if ((uint64_t)st.st_size > SP_MAX_FILE) {
    close(fd);
    return errmsg_set(err, errlen, -EFBIG, "cannot read %s: larger than %u MiB", qp,
                      SP_MAX_FILE >> 20);
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *text = malloc(size ? size : 1);
  if (text == NULL) {
    close(fd);
    return errmsg_set(err, errlen, -ENOMEM, "out of memory reading %s", qp);
  }
  while (got < size) {
    ssize_t r = read(fd, text + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      free(text);
      close(fd);
      return errmsg_set(err, errlen, -e, "cannot read %s: %s; " SP_INSTALL_HINT, qp, strerror(e));
    }
    got += (size_t)r;
  }
  close(fd);
  int rc = sp_parse(out, path, text, size, opts, err, errlen);
  free(text);
  return rc;
}

int sp_load_default(struct sp_db **out, const char *datadir, const char *versiondb,
                    const struct sp_load_opts *opts, char *err, size_t errlen) {
  char path[4096];
  *out = NULL;
  if (versiondb != NULL) return sp_load(out, versiondb, opts, err, errlen);
  if (datadir_find(DATADIR_NMAP, datadir, SP_FILE, DATADIR_FILE, path, sizeof path) != 0) {
    const char *dirs[8];
    char buf[4096], list[1024] = "";
    int n = datadir_candidates(DATADIR_NMAP, datadir, dirs, 8, buf, sizeof buf);
    size_t o = 0;
    for (int i = 0; i < n && o < sizeof list; i++) {
      char q[ERRMSG_QUOTE_MAX + 8];
      int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "",
                       errmsg_quote(q, sizeof q, dirs[i], (size_t)-1));
      if (w < 0) break;
      o += (size_t)w;
    }
    return errmsg_set(err, errlen, -ENOENT, "%s not found (looked in %s); " SP_INSTALL_HINT,
                      SP_FILE, list);
  }
  return sp_load(out, path, opts, err, errlen);
}

size_t sp_jit_compile(struct sp_db *db, int32_t probe) {
  size_t n = 0;
  for (size_t i = 0; i < db->nprobes; i++) {
    if (probe >= 0 && (size_t)probe != i) continue;
    struct sp_probe *pr = &db->probes[i];
    for (size_t k = 0; k < pr->nmatches; k++)
      n += pcre2_jit_compile((pcre2_code *)pr->matches[k].re, PCRE2_JIT_COMPLETE) == 0;
  }
  return n;
}

/* ---- queries --------------------------------------------------------------------------- */

int sp_probe_port_listed(const struct sp_probe *p, uint16_t port, int ssl) {
  const struct sp_ports *ps = ssl ? &p->sslports : &p->ports;
  for (size_t i = 0; i < ps->n; i++)
    if (port >= ps->v[i].lo && port <= ps->v[i].hi) return 1;
  return 0;
}

int sp_probe_can_give(const struct sp_probe *p, const char *service) {
  for (size_t i = 0; i < p->nservices; i++)
    if (strcmp(p->services[i], service) == 0) return 1;
  return 0;
}

int sp_excluded(const struct sp_db *db, enum scan_proto proto, uint16_t port) {
  return db->exclude != NULL && portset_has(db->exclude, proto, port);
}
