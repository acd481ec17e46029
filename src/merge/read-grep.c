/* read-grep.c: reading trawl's grepable output (-oG, output-grep.c) back
 * into result structs, for `trawl merge`. Line by line:
 *
 *   # Trawl V scan initiated DATE as: ARGS        -> MREAD_BEGIN
 *   # Ports scanned: TCP(n;list) UDP(n;list) ...   (-v; read with BEGIN)
 *   Host: A (NAME)<TAB>Status: Up                  -> a host begins
 *   Host: A (NAME)<TAB>Ports: p/s/proto//svc//ver/, ...<TAB>Ignored State: s (n)
 *   # trawl-resume: next-target=N seed=S           -> MREAD_MARK
 *   # Trawl done at DATE[ (why)] -- N IP addresses (M hosts up) scanned in S seconds
 *
 * The format carries less than XML or JSON: no reasons, no times, one
 * "Ignored State" per host, versions as one text. What is not there is
 * left unknown (docs/merge.md). A host is complete when the line after
 * its Status line is not its Ports line, so one line is read ahead. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merge/mread.h"

/* "\xHH" escapes undone in place (the writer always writes two digits);
 * '|' in a service name is a '/' (done by the caller) */
static void grep_unescape(char *s) {
  char *w = s;
  for (char *p = s; *p;) {
    unsigned v;
    if (p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
        isxdigit((unsigned char)p[3]) && sscanf(p + 2, "%2x", &v) == 1) {
      *w++ = (char)v;
      p += 4;
    } else {
      *w++ = *p++;
    }
  }
  *w = 0;
}

static int64_t parse_ctime(const char *s) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *e = strptime(s, "%a %b %e %H:%M:%S %Y", &tm);
  if (!e) return 0;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  return t < 0 ? 0 : (int64_t)t;
}

/* The next line: the one read ahead, else from the file. 1, 0 at EOF, -1. */
static int next_line(struct mread *r) {
  if (r->pending) {
    r->len = 0;
    for (const char *p = r->pending; *p; p++)
      if (mread_putc(r, *p) < 0) return -1;
    free(r->pending);
    r->pending = NULL;
    return 1;
  }
  bool eol;
  int k = mread_line(r, &eol);
  if (k == 1 && !eol) return 2; /* a last line without its newline: cut */
  return k;
}

static int on_header(struct mread *r, const char *as) {
  mread_begin_reset(r);
  const char *date = strstr(r->buf, "initiated ");
  if (date) r->begin.start = parse_ctime(date + 10);
  if (!(r->begin.args = strdup(as))) return mread_fail(r, "out of memory");
  mread_note_args(r);
  /* "# Ports scanned:" follows with -v */
  int k = next_line(r);
  if (k < 0) return -1;
  if (k == 0) return MREAD_BEGIN;
  if (strncmp(r->buf, "# Ports scanned:", 16) != 0) {
    if (!(r->pending = strdup(r->buf))) return mread_fail(r, "out of memory");
    return MREAD_BEGIN;
  }
  r->begin.verbose = 1;
  /* the scan types are not in this line, only protocols: SYN for TCP (or
   * connect when that is what the command line says) and UDP */
  for (int p = 0; p < PROTO_COUNT; p++) {
    const char *tag = p == PROTO_TCP ? " TCP(" : " UDP(";
    const char *s = strstr(r->buf, tag);
    if (!s) continue;
    s += 5;
    const char *semi = strchr(s, ';'), *close = semi ? strchr(semi, ')') : NULL;
    if (!semi || !close) return mread_fail(r, "a bad '# Ports scanned' line");
    if (strncmp(s, "0;", 2) == 0) continue;
    char *list = strndup(semi + 1, (size_t)(close - semi - 1));
    if (!list) return mread_fail(r, "out of memory");
    enum scan_type t = p == PROTO_UDP ? SCAN_UDP : strstr(r->begin.args, "-sT") ? SCAN_CONNECT : SCAN_SYN;
    int e = mread_add_type(r, t, (enum scan_proto)p, list, -1);
    free(list);
    if (e < 0) return -1;
  }
  return MREAD_BEGIN;
}

static int on_done(struct mread *r) {
  struct mread_end *e = &r->end;
  const char *at = r->buf + strlen("# Trawl done at ");
  e->time = parse_ctime(at);
  const char *dash = strstr(at, " -- ");
  if (!dash) return mread_fail(r, "a bad '# Trawl done' line");
  const char *paren = memchr(at, '(', (size_t)(dash - at));
  free(e->errormsg);
  e->errormsg = NULL;
  e->error = paren != NULL;
  if (paren) {
    const char *close = strrchr(paren, ')');
    if (!close || close > dash) return mread_fail(r, "a bad '# Trawl done' line");
    e->errormsg = strndup(paren + 1, (size_t)(close - paren - 1));
  }
  unsigned long long total, up;
  double el;
  if (sscanf(dash, " -- %llu IP address%*[es] (%llu host%*[s] up) scanned in %lf seconds", &total,
             &up, &el) != 3 &&
      sscanf(dash, " -- %llu IP address (%llu host%*[s] up) scanned in %lf seconds", &total, &up,
             &el) != 3 &&
      sscanf(dash, " -- %llu IP address%*[es] (%llu host up) scanned in %lf seconds", &total, &up,
             &el) != 3 &&
      sscanf(dash, " -- %llu IP address (%llu host up) scanned in %lf seconds", &total, &up, &el) != 3)
    return mread_fail(r, "a bad '# Trawl done' line");
  if (up > total || !(el >= 0 && el < 1e12)) return mread_fail(r, "a bad '# Trawl done' line");
  e->total = total, e->up = up, e->down = total - up, e->elapsed = el;
  return MREAD_END;
}

/* "Host: A (NAME)\t" at r->buf: the address into a, the name; returns
 * what follows the tab, or NULL. */
static char *host_prefix(char *line, char **addr, char **name) {
  if (strncmp(line, "Host: ", 6) != 0) return NULL;
  char *a = line + 6, *sp = strchr(a, ' ');
  if (!sp || sp[1] != '(') return NULL;
  *sp = 0;
  char *tab = strstr(sp + 2, ")\t");
  if (!tab) return NULL;
  *tab = 0;
  *addr = a;
  *name = sp + 2;
  return tab + 2;
}

static int add_port(struct mread *r, char *e) {
  /* port/state/proto/owner/service/rpc/version/ */
  char *f[8];
  int n = 0;
  for (char *p = e; n < 8;) {
    f[n++] = p;
    char *s = strchr(p, '/');
    if (!s) break;
    *s = 0;
    p = s + 1;
  }
  if (n < 7) return mread_fail(r, "a bad port entry");
  uint64_t port;
  enum port_state st;
  enum scan_proto pr;
  if (mread_u64(f[0], 65535, &port) < 0 || mread_state(f[1], &st) < 0 || mread_proto(f[2], &pr) < 0)
    return mread_fail(r, "a bad port entry");
  if (r->host.nports >= MREAD_MAX_PORTS) return mread_fail(r, "more than %u ports", MREAD_MAX_PORTS);
  char *svc = f[4], *ver = f[6];
  grep_unescape(ver);
  struct port_version v = {0};
  bool ssl = strncmp(svc, "ssl|", 4) == 0;
  if (ssl) svc += 4;
  for (char *p = svc; *p; p++)
    if (*p == '|') *p = '/';
  grep_unescape(svc);
  size_t sl = strlen(svc);
  bool unconfirmed = sl > 1 && svc[sl - 1] == '?';
  if (unconfirmed) svc[--sl] = 0;
  struct port_result *p =
      host_add_port(&r->host, pr, (uint16_t)port, st, NULL, 0, sl && strcmp(svc, "unknown") ? svc : NULL);
  if (!p) return mread_fail(r, "out of memory");
  v.ssl = ssl;
  v.probed = ver[0] != 0 || (r->version_scan && !unconfirmed && sl && st == PORT_OPEN);
  v.product = ver[0] ? ver : NULL; /* "product version (extra)" as one text */
  if (ssl || v.probed || (r->version_scan && sl))
    if (port_set_version(p, NULL, &v) < 0) return mread_fail(r, "out of memory");
  return 0;
}

static int on_ports(struct mread *r, char *rest) {
  char *ign = strstr(rest, "\tIgnored State: ");
  if (ign) {
    *ign = 0;
    char st[32];
    unsigned long long count;
    enum port_state ps;
    if (sscanf(ign + 16, "%31s (%llu)", st, &count) != 2 || mread_state(st, &ps) < 0 ||
        count > UINT32_MAX * 2ull)
      return mread_fail(r, "a bad 'Ignored State'");
    /* the protocol is not written: that of the only scanned protocol, else TCP */
    enum scan_proto p = r->begin.ntypes == 1 ? r->begin.types[0].proto : PROTO_TCP;
    if (host_add_bulk(&r->host, p, ps, NULL, count) < 0) return mread_fail(r, "out of memory");
  }
  for (char *e = rest; *e;) {
    char *c = strstr(e, ", ");
    if (c) *c = 0;
    if (add_port(r, e) < 0) return -1;
    if (!c) break;
    e = c + 2;
  }
  return 0;
}

int mread_grep_next(struct mread *r) {
  for (;;) {
    int k = next_line(r);
    if (k < 0) return -1;
    if (k == 0) {
      if (r->in_host) return mread_host_done(r); /* the last host had no Ports line */
      return MREAD_EOF;
    }
    if (k == 2) { /* cut: the file ends inside this line */
      if (r->in_host && strncmp(r->buf, "Host: ", 6) != 0) return mread_host_done(r);
      if (strncmp(r->buf, "Host: ", 6) == 0) {
        char *a, *n;
        if (host_prefix(r->buf, &a, &n)) snprintf(r->cur_addr, sizeof r->cur_addr, "%s", a);
        r->in_host = true;
      }
      return MREAD_EOF;
    }
    char *line = r->buf;
    /* a killed scan's cut last line, then --resume's appended header on
     * the same line: the cut piece is dropped (its host is scanned again) */
    char *again = line[0] != '#' ? strstr(line, "# Trawl ") : NULL;
    if (again && strstr(again, " scan initiated ")) {
      r->len -= (size_t)(again - line);
      memmove(line, again, r->len + 1);
    }
    if (line[0] == '#') {
      if (r->in_host) { /* it ends the host before it */
        if (!(r->pending = strdup(line))) return mread_fail(r, "out of memory");
        return mread_host_done(r);
      }
      char *as = strstr(line, " scan initiated ");
      if (as && (as = strstr(as, " as: "))) return on_header(r, as + 5);
      if (strncmp(line, "# Trawl done at ", 16) == 0) return on_done(r);
      if (mread_marker(r, line)) return MREAD_MARK;
      continue; /* another comment */
    }
    if (line[0] == 0) continue;
    char *addr, *name, *rest = host_prefix(line, &addr, &name);
    if (!rest) return mread_fail(r, "not a grepable output line: '%.40s'", line);
    bool status = strncmp(rest, "Status: ", 8) == 0, ports = strncmp(rest, "Ports: ", 7) == 0;
    if (r->in_host && (status || strcmp(addr, r->cur_addr) != 0)) {
      /* a new host: the one before is complete; this line again next time */
      char *copy = malloc(r->len + 1);
      if (!copy) return mread_fail(r, "out of memory");
      snprintf(copy, r->len + 1, "Host: %s (%s)\t%s", addr, name, rest);
      r->pending = copy;
      return mread_host_done(r);
    }
    if (!r->begin.args) return mread_fail(r, "a host before the scan's header");
    if (!r->in_host) {
      mread_host_begin(r);
      if (mread_addr(addr, &r->host.addr) < 0) return mread_fail(r, "a bad address '%.60s'", addr);
      snprintf(r->cur_addr, sizeof r->cur_addr, "%s", addr);
      if (name[0]) {
        grep_unescape(name);
        if (host_add_hostname(&r->host, name, HOSTNAME_PTR) < 0) return mread_fail(r, "out of memory");
      }
    }
    if (status) {
      const char *s = rest + 8;
      enum host_status hs = strcmp(s, "Up") == 0 ? HOST_UP : strcmp(s, "Down") == 0 ? HOST_DOWN
                          : HOST_UNKNOWN;
      if (host_set_reason(&r->host, hs, NULL, 0) < 0) return mread_fail(r, "out of memory");
    } else if (ports) {
      if (r->host.status != HOST_UP) host_set_reason(&r->host, HOST_UP, NULL, 0);
      if (on_ports(r, rest + 7) < 0) return -1;
      return mread_host_done(r); /* the Ports line is a host's last */
    } else {
      return mread_fail(r, "not a grepable output line: '%.40s'", rest);
    }
  }
}
