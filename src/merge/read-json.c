/* read-json.c: reading trawl's JSON Lines output (-oJ, output-json.c,
 * docs/output-json.md) back into result structs, for `trawl merge`. Each
 * line is one record: "scan" -> MREAD_BEGIN, "host" -> MREAD_HOST, "done"
 * -> MREAD_END, "prescript"/"postscript" -> MREAD_RULE. A line is parsed
 * whole by a small JSON parser into nodes in one array (at most one node
 * per byte of the line, and the line is bounded by MREAD_TOKEN_MAX);
 * strings are unescaped in place. A host's "os" and "trace" are built in
 * mread-os.c. */
#include <stdlib.h>
#include <string.h>

#include "core/os-result.h"
#include "merge/mread.h"

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
  enum jtype t;
  bool b;
  double num;
  char *s;   /* J_STR: the unescaped string (NUL-terminated in the line) */
  char *key; /* member of an object: its key */
  int first, next; /* children, siblings: node indices, -1 none */
};

struct jparse {
  struct mread *r;
  char *p;
  struct jnode *n;
  int nn, cap;
};

static void skip_ws(struct jparse *j) {
  while (*j->p == ' ' || *j->p == '\t' || *j->p == '\r') j->p++;
}

static int jnew(struct jparse *j, enum jtype t) {
  if (j->nn >= j->cap) return mread_fail(j->r, "too many JSON values");
  struct jnode *x = &j->n[j->nn];
  memset(x, 0, sizeof *x);
  x->t = t;
  x->first = x->next = -1;
  return j->nn++;
}

/* A string at j->p ('"'): unescaped in place; returns its start. */
static char *jstring(struct jparse *j) {
  char *w = ++j->p, *start = w;
  for (;;) {
    unsigned char c = (unsigned char)*j->p;
    if (c == 0 || c < 0x20) {
      mread_fail(j->r, "a bad JSON string");
      return NULL;
    }
    if (c == '"') break;
    if (c != '\\') {
      *w++ = *j->p++;
      continue;
    }
    char e = j->p[1];
    j->p += 2;
    const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
    const char *m = NULL;
    for (const char *q = map; *q; q += 2)
      if (*q == e) m = q;
    if (m) {
      *w++ = m[1];
      continue;
    }
    if (e != 'u') {
      mread_fail(j->r, "a bad JSON escape");
      return NULL;
    }
    unsigned v;
    if (sscanf(j->p, "%4x", &v) != 1 || strspn(j->p, "0123456789abcdefABCDEF") < 4) {
      mread_fail(j->r, "a bad \\u escape");
      return NULL;
    }
    j->p += 4;
    if (v >= 0xd800 && v < 0xdc00 && j->p[0] == '\\' && j->p[1] == 'u') {
      unsigned lo;
      if (sscanf(j->p + 2, "%4x", &lo) == 1 && lo >= 0xdc00 && lo < 0xe000) {
        v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
        j->p += 6;
      }
    }
    if (v == 0) v = '?'; /* no NUL inside a C string */
    /* \u00XX of a byte that was not UTF-8: trawl wrote the byte's value */
    if (v < 0x80) *w++ = (char)v;
    else if (v < 0x800) *w++ = (char)(0xc0 | v >> 6), *w++ = (char)(0x80 | (v & 0x3f));
    else if (v < 0x10000)
      *w++ = (char)(0xe0 | v >> 12), *w++ = (char)(0x80 | ((v >> 6) & 0x3f)), *w++ = (char)(0x80 | (v & 0x3f));
    else
      *w++ = (char)(0xf0 | v >> 18), *w++ = (char)(0x80 | ((v >> 12) & 0x3f)),
      *w++ = (char)(0x80 | ((v >> 6) & 0x3f)), *w++ = (char)(0x80 | (v & 0x3f));
  }
  j->p++;
  *w = 0;
  return start;
}

static int jvalue(struct jparse *j, int depth) {
  if (depth > MREAD_MAX_NEST + 8) return mread_fail(j->r, "JSON nested too deep");
  skip_ws(j);
  char c = *j->p;
  int i;
  if (c == '{' || c == '[') {
    bool obj = c == '{';
    if ((i = jnew(j, obj ? J_OBJ : J_ARR)) < 0) return -1;
    j->p++;
    skip_ws(j);
    int last = -1;
    if (*j->p == (obj ? '}' : ']')) {
      j->p++;
      return i;
    }
    for (;;) {
      char *key = NULL;
      skip_ws(j);
      if (obj) {
        if (*j->p != '"' || !(key = jstring(j))) return mread_fail(j->r, "a bad JSON object");
        skip_ws(j);
        if (*j->p++ != ':') return mread_fail(j->r, "a bad JSON object");
      }
      int k = jvalue(j, depth + 1);
      if (k < 0) return -1;
      j->n[k].key = key;
      if (last < 0) j->n[i].first = k;
      else j->n[last].next = k;
      last = k;
      skip_ws(j);
      if (*j->p == ',') {
        j->p++;
        continue;
      }
      if (*j->p++ != (obj ? '}' : ']')) return mread_fail(j->r, "a bad JSON %s", obj ? "object" : "array");
      return i;
    }
  }
  if (c == '"') {
    if ((i = jnew(j, J_STR)) < 0) return -1;
    if (!(j->n[i].s = jstring(j))) return -1;
    return i;
  }
  if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "false", 5) == 0) {
    if ((i = jnew(j, J_BOOL)) < 0) return -1;
    j->n[i].b = c == 't';
    j->p += c == 't' ? 4 : 5;
    return i;
  }
  if (strncmp(j->p, "null", 4) == 0) {
    j->p += 4;
    return jnew(j, J_NULL);
  }
  char *end;
  double d = strtod(j->p, &end);
  if (end == j->p || (c != '-' && (c < '0' || c > '9'))) return mread_fail(j->r, "a bad JSON value");
  if ((i = jnew(j, J_NUM)) < 0) return -1;
  j->n[i].num = d;
  j->p = end;
  return i;
}

static int jget(const struct jparse *j, int obj, const char *key) {
  if (obj < 0 || j->n[obj].t != J_OBJ) return -1;
  for (int k = j->n[obj].first; k >= 0; k = j->n[k].next)
    if (strcmp(j->n[k].key, key) == 0) return k;
  return -1;
}
static const char *jstr(const struct jparse *j, int obj, const char *key) {
  int k = jget(j, obj, key);
  return k >= 0 && j->n[k].t == J_STR ? j->n[k].s : NULL;
}
/* a whole number in 0..max, else def */
static int64_t jint(const struct jparse *j, int obj, const char *key, int64_t max, int64_t def) {
  int k = jget(j, obj, key);
  if (k < 0 || j->n[k].t != J_NUM) return def;
  double d = j->n[k].num;
  return d >= 0 && d <= (double)max ? (int64_t)d : def;
}

/* ---- records ------------------------------------------------------------------- */

static int on_scan(struct mread *r, struct jparse *j, int o) {
  mread_begin_reset(r);
  const char *args = jstr(j, o, "args");
  if (!(r->begin.args = strdup(args ? args : ""))) return mread_fail(r, "out of memory");
  r->begin.start = jint(j, o, "start", INT64_MAX / 2, 0);
  r->begin.verbose = (int)jint(j, o, "verbose", 100, 0);
  r->begin.debug = (int)jint(j, o, "debugging", 100, 0);
  mread_note_args(r);
  int si = jget(j, o, "scaninfo");
  for (int k = si >= 0 ? j->n[si].first : -1; k >= 0; k = j->n[k].next) {
    const char *type = jstr(j, k, "type"), *proto = jstr(j, k, "protocol"), *svc = jstr(j, k, "services");
    enum scan_type t;
    enum scan_proto p;
    if (!type || !proto || !svc || mread_scan_type(type, &t) < 0 || mread_proto(proto, &p) < 0)
      return mread_fail(r, "a bad scaninfo");
    if (mread_add_type(r, t, p, svc, -1) < 0) return -1;
  }
  return MREAD_BEGIN;
}

static int tree(struct mread *r, struct jparse *j, struct script_node *t, int v, int depth) {
  if (depth > MREAD_MAX_NEST) return mread_fail(r, "script data nested too deep");
  bool obj = j->n[v].t == J_OBJ;
  for (int k = j->n[v].first; k >= 0; k = j->n[k].next) {
    const char *key = obj ? j->n[k].key : NULL;
    int val = k;
    /* in an array, {"key": value} is one keyed child (output-json.c) */
    if (!obj && j->n[k].t == J_OBJ && j->n[k].first >= 0 && j->n[j->n[k].first].next < 0) {
      val = j->n[k].first;
      key = j->n[val].key;
    }
    if (j->n[val].t == J_OBJ || j->n[val].t == J_ARR) {
      struct script_node *c = snode_add_table(t, key);
      if (!c || tree(r, j, c, val, depth + 1) < 0) return c ? -1 : mread_fail(r, "out of memory");
    } else if (!snode_add_elem(t, key, j->n[val].t == J_STR ? j->n[val].s : "")) {
      return mread_fail(r, "out of memory");
    }
  }
  return 0;
}

static int scripts(struct mread *r, struct jparse *j, int arr, struct host_result *h,
                   struct port_result *p) {
  for (int k = arr >= 0 ? j->n[arr].first : -1; k >= 0; k = j->n[k].next) {
    const char *id = jstr(j, k, "id"), *out = jstr(j, k, "output");
    if (!id) return mread_fail(r, "a script without an id");
    if ((p ? p->nscripts : h->nhostscripts) >= MREAD_MAX_SCRIPTS) return mread_fail(r, "too many scripts");
    struct script_result *s = result_add_script(h, p, id, out ? out : "");
    if (!s) return mread_fail(r, "out of memory");
    int d = jget(j, k, "data");
    if (d >= 0 && (j->n[d].t == J_OBJ || j->n[d].t == J_ARR) && tree(r, j, &s->tree, d, 0) < 0) return -1;
  }
  return 0;
}

static int service(struct mread *r, struct jparse *j, int s, struct port_result *p) {
  const char *name = jstr(j, s, "name"), *method = jstr(j, s, "method"), *tunnel = jstr(j, s, "tunnel");
  struct port_version v = {0};
  v.probed = method && strcmp(method, "probed") == 0;
  v.ssl = tunnel && strcmp(tunnel, "ssl") == 0;
  v.fingerprint = (char *)jstr(j, s, "servicefp");
  int64_t conf = jint(j, s, "conf", 10, v.probed ? 10 : 3);
  if (conf != (v.probed ? 10 : 3)) v.conf = (uint8_t)conf;
  if (v.probed) {
    v.product = (char *)jstr(j, s, "product");
    v.version = (char *)jstr(j, s, "version");
    v.extrainfo = (char *)jstr(j, s, "extrainfo");
    v.hostname = (char *)jstr(j, s, "hostname");
    v.ostype = (char *)jstr(j, s, "ostype");
    v.devicetype = (char *)jstr(j, s, "devicetype");
  }
  char *cpe[64];
  int c = jget(j, s, "cpe");
  for (int k = c >= 0 ? j->n[c].first : -1; k >= 0 && v.ncpe < 64; k = j->n[k].next)
    if (j->n[k].t == J_STR) cpe[v.ncpe++] = j->n[k].s;
  v.cpe = cpe;
  free(p->service);
  p->service = NULL;
  if (name && !(p->service = strdup(name))) return mread_fail(r, "out of memory");
  if (v.probed || v.ssl || v.fingerprint || v.conf || r->version_scan)
    if (port_set_version(p, NULL, &v) < 0) return mread_fail(r, "out of memory");
  return 0;
}

static double jnum(const struct jparse *j, int obj, const char *key, double def) {
  int k = jget(j, obj, key);
  return k >= 0 && j->n[k].t == J_NUM ? j->n[k].num : def;
}

/* a host's "os" object (output-os.c, output_os_json) */
static int os(struct mread *r, struct jparse *j, int o) {
  static const char *const verdicts[] = {"none", "exact", "guess", "too-many"};
  if (j->n[o].t != J_OBJ) return mread_fail(r, "a bad \"os\"");
  struct os_result *res = mread_os(r);
  if (!res) return -1;
  int pu = jget(j, o, "portused");
  for (int k = pu >= 0 ? j->n[pu].first : -1; k >= 0; k = j->n[k].next) {
    int64_t port = jint(j, k, "port", 65535, -1);
    if (port < 0) return mread_fail(r, "a bad OS portused");
    if (mread_os_portused(r, jstr(j, k, "state"), jstr(j, k, "proto"), (uint64_t)port) < 0) return -1;
  }
  int ms = jget(j, o, "matches");
  for (int k = ms >= 0 ? j->n[ms].first : -1; k >= 0; k = j->n[k].next) {
    struct os_match_item *m = mread_os_match(r, jstr(j, k, "name"), (uint64_t)jint(j, k, "accuracy", 100, 101),
                                             (uint64_t)jint(j, k, "line", UINT32_MAX, 0));
    if (!m) return -1;
    int cs = jget(j, k, "classes");
    for (int c = cs >= 0 ? j->n[cs].first : -1; c >= 0; c = j->n[c].next) {
      struct os_class_result *cl =
          mread_os_class(r, m, jstr(j, c, "type"), jstr(j, c, "vendor"), jstr(j, c, "family"),
                         jstr(j, c, "gen"), (uint64_t)jint(j, c, "accuracy", 100, 101));
      if (!cl) return -1;
      int cp = jget(j, c, "cpe");
      for (int q = cp >= 0 ? j->n[cp].first : -1; q >= 0; q = j->n[q].next)
        if (j->n[q].t == J_STR && mread_os_cpe(r, cl, j->n[q].s) < 0) return -1;
    }
  }
  if (mread_os_fingerprint(r, jstr(j, o, "fingerprint")) < 0) return -1;
  int64_t up = jint(j, o, "uptime", INT64_MAX / 2, -1);
  if (up >= 0 && mread_os_uptime(r, up, NULL) < 0) return -1;
  if (up >= 0) res->lastboot = jint(j, o, "lastboot", INT64_MAX / 2, res->lastboot);
  int sq = jget(j, o, "tcpsequence");
  if (sq >= 0 && mread_os_seq(r, jint(j, sq, "index", INT32_MAX, -1), jstr(j, sq, "difficulty"),
                              jstr(j, sq, "values")) < 0)
    return -1;
  int ip = jget(j, o, "ipidsequence");
  if (ip >= 0 && mread_os_class_values(r, false, jstr(j, ip, "class"), jstr(j, ip, "values")) < 0) return -1;
  int ts = jget(j, o, "tcptssequence");
  if (ts >= 0 && mread_os_class_values(r, true, jstr(j, ts, "class"), jstr(j, ts, "values")) < 0) return -1;
  const char *v = jstr(j, o, "verdict");
  int verdict = -1;
  for (int i = 0; v && i < 4; i++)
    if (strcmp(v, verdicts[i]) == 0) verdict = i;
  if (verdict < 0) return mread_fail(r, "a bad OS verdict");
  mread_os_finish(r, verdict);
  res->tries = (int)jint(j, o, "tries", 1000, 0);
  int un = jget(j, o, "unreliable");
  res->unreliable = un >= 0 && j->n[un].t == J_BOOL && j->n[un].b;
  return 0;
}

/* a host's "trace" object (output-json.c, js_trace) */
static int trace(struct mread *r, struct jparse *j, int o) {
  if (j->n[o].t != J_OBJ) return mread_fail(r, "a bad \"trace\"");
  int d = jget(j, o, "direct");
  bool direct = d >= 0 && j->n[d].t == J_BOOL && j->n[d].b;
  if (mread_trace_begin(r, jstr(j, o, "proto"), (uint64_t)jint(j, o, "port", 65535, 0), direct) < 0)
    return -1;
  struct host_trace *t = r->host.trace;
  const char *same = jstr(j, o, "same_as");
  if (same && strlen(same) < sizeof t->same_as) {
    snprintf(t->same_as, sizeof t->same_as, "%s", same);
    t->same_upto = (int)jint(j, o, "same_upto", 255, 0);
  }
  int hs = jget(j, o, "hops");
  for (int k = hs >= 0 ? j->n[hs].first : -1; k >= 0; k = j->n[k].next) {
    int64_t ttl = jint(j, k, "ttl", 255, 0);
    if (mread_trace_hop(r, (uint64_t)ttl, jstr(j, k, "ipaddr"), jnum(j, k, "rtt", -1), jstr(j, k, "host")) < 0)
      return -1;
  }
  return 0;
}

static int on_host(struct mread *r, struct jparse *j, int o) {
  if (!r->begin.args) return mread_fail(r, "a host before the scan's header");
  mread_host_begin(r);
  struct host_result *h = &r->host;
  const char *a = jstr(j, o, "addr"), *mac = jstr(j, o, "mac"), *st = jstr(j, o, "status");
  if (!a || mread_addr(a, &h->addr) < 0) return mread_fail(r, "a host without a good addr");
  snprintf(r->cur_addr, sizeof r->cur_addr, "%s", a);
  uint8_t m[6];
  if (mac && (mread_mac(mac, m) < 0 || host_set_mac(h, m, jstr(j, o, "mac_vendor")) < 0))
    return mread_fail(r, "a bad mac");
  int hn = jget(j, o, "hostnames");
  for (int k = hn >= 0 ? j->n[hn].first : -1; k >= 0; k = j->n[k].next) {
    const char *n = jstr(j, k, "name"), *t = jstr(j, k, "type");
    if (n && host_add_hostname(h, n, t && strcmp(t, "PTR") == 0 ? HOSTNAME_PTR : HOSTNAME_USER) < 0)
      return mread_fail(r, "out of memory");
  }
  enum host_status hs = !st ? HOST_UNKNOWN : strcmp(st, "up") == 0 ? HOST_UP
                      : strcmp(st, "down") == 0 ? HOST_DOWN : HOST_UNKNOWN;
  if (host_set_reason(h, hs, jstr(j, o, "reason"), (int)jint(j, o, "reason_ttl", 255, 0)) < 0)
    return mread_fail(r, "out of memory");
  h->distance = (int)jint(j, o, "distance", 255, -1);
  h->start_time = jint(j, o, "starttime", INT64_MAX / 2, 0);
  h->end_time = jint(j, o, "endtime", INT64_MAX / 2, 0);
  int to = jget(j, o, "timedout");
  h->timedout = to >= 0 && j->n[to].t == J_BOOL && j->n[to].b;
  int tm = jget(j, o, "times");
  if (tm >= 0) {
    h->srtt_us = jint(j, tm, "srtt", INT64_MAX / 2, -1);
    h->rttvar_us = jint(j, tm, "rttvar", INT64_MAX / 2, -1);
    h->timeout_us = jint(j, tm, "to", INT64_MAX / 2, -1);
  }
  int ps = jget(j, o, "ports");
  for (int k = ps >= 0 ? j->n[ps].first : -1; k >= 0; k = j->n[k].next) {
    const char *pr = jstr(j, k, "protocol"), *state = jstr(j, k, "state");
    enum scan_proto p;
    enum port_state s;
    int64_t id = jint(j, k, "portid", 65535, -1);
    if (!pr || !state || id < 0 || mread_proto(pr, &p) < 0 || mread_state(state, &s) < 0)
      return mread_fail(r, "a bad port");
    if (h->nports >= MREAD_MAX_PORTS) return mread_fail(r, "more than %u ports", MREAD_MAX_PORTS);
    struct port_result *pt = host_add_port(h, p, (uint16_t)id, s, jstr(j, k, "reason"),
                                           (int)jint(j, k, "reason_ttl", 255, 0), NULL);
    if (!pt) return mread_fail(r, "out of memory");
    int sv = jget(j, k, "service");
    if (sv >= 0 && service(r, j, sv, pt) < 0) return -1;
    if (scripts(r, j, jget(j, k, "scripts"), h, pt) < 0) return -1;
  }
  int ex = jget(j, o, "extraports");
  for (int k = ex >= 0 ? j->n[ex].first : -1; k >= 0; k = j->n[k].next) {
    const char *state = jstr(j, k, "state"), *pr = jstr(j, k, "protocol");
    enum scan_proto p = PROTO_TCP;
    enum port_state s;
    if (!state || mread_state(state, &s) < 0 || (pr && mread_proto(pr, &p) < 0))
      return mread_fail(r, "a bad extraports entry");
    int rs = jget(j, k, "reasons");
    for (int q = rs >= 0 ? j->n[rs].first : -1; q >= 0; q = j->n[q].next) {
      if (h->nbulk >= MREAD_MAX_PORTS) return mread_fail(r, "too many extraports reasons");
      if (host_add_bulk(h, p, s, jstr(j, q, "reason"), (uint64_t)jint(j, q, "count", UINT32_MAX, 0)) < 0)
        return mread_fail(r, "out of memory");
    }
  }
  if (scripts(r, j, jget(j, o, "hostscripts"), h, NULL) < 0) return -1;
  int oo = jget(j, o, "os"), tr = jget(j, o, "trace");
  if (oo >= 0 && os(r, j, oo) < 0) return -1;
  if (tr >= 0 && trace(r, j, tr) < 0) return -1;
  return mread_host_done(r);
}

static int on_done(struct mread *r, struct jparse *j, int o) {
  struct mread_end *e = &r->end;
  e->time = jint(j, o, "time", INT64_MAX / 2, 0);
  int el = jget(j, o, "elapsed");
  e->elapsed = el >= 0 && j->n[el].t == J_NUM && j->n[el].num >= 0 && j->n[el].num < 1e12 ? j->n[el].num : 0;
  const char *ex = jstr(j, o, "exit"), *em = jstr(j, o, "errormsg");
  e->error = ex && strcmp(ex, "success") != 0;
  free(e->errormsg);
  e->errormsg = em ? strdup(em) : NULL;
  int hs = jget(j, o, "hosts");
  e->up = (uint64_t)jint(j, hs, "up", INT64_MAX / 4, 0);
  e->down = (uint64_t)jint(j, hs, "down", INT64_MAX / 4, 0);
  e->total = (uint64_t)jint(j, hs, "total", INT64_MAX / 4, 0);
  return MREAD_END;
}

int mread_json_next(struct mread *r) {
  for (;;) {
    bool eol;
    int k = mread_line(r, &eol);
    if (k <= 0) return k;
    if (!eol) { /* cut by the end of the file: a killed scan's last line */
      const char *a = strstr(r->buf, "\"type\":\"host\"") ? strstr(r->buf, "\"addr\":\"") : NULL;
      if (a) {
        r->in_host = true;
        snprintf(r->cur_addr, sizeof r->cur_addr, "%.*s", (int)strcspn(a + 8, "\""), a + 8);
      }
      return MREAD_EOF;
    }
    /* a killed scan's cut last line, then --resume's appended records on
     * the same line: the cut piece is dropped (its host is scanned again) */
    char *again = strstr(r->buf + 1, "{\"type\":\"scan\"");
    if (again) {
      r->len -= (size_t)(again - r->buf);
      memmove(r->buf, again, r->len + 1);
    }
    size_t len = strlen(r->buf);
    if (len == 0) continue;
    if (len != r->len) return mread_fail(r, "a NUL byte in a JSON line");
    struct jparse j = {r, r->buf, NULL, 0, 0};
    j.cap = (int)(len / 2 + 2); /* every value but the first takes at least 2 bytes */
    if (!(j.n = malloc((size_t)j.cap * sizeof *j.n))) return mread_fail(r, "out of memory");
    int root = jvalue(&j, 0), rec = -1;
    skip_ws(&j);
    if (root >= 0 && *j.p) mread_fail(r, "text after the JSON record");
    else if (root >= 0) {
      const char *type = jstr(&j, root, "type");
      if (!type) mread_fail(r, "a JSON line without \"type\"");
      else if (strcmp(type, "scan") == 0) rec = on_scan(r, &j, root);
      else if (strcmp(type, "host") == 0) rec = on_host(r, &j, root);
      else if (strcmp(type, "done") == 0) rec = on_done(r, &j, root);
      else if (strcmp(type, "prescript") == 0 || strcmp(type, "postscript") == 0) {
        if (!r->begin.args) {
          mread_fail(r, "a %s record before the scan's header", type);
        } else {
          host_result_free(&r->rule);
          host_result_init(&r->rule);
          r->rule_post = type[1] == 'o';
          rec = scripts(r, &j, jget(&j, root, "scripts"), &r->rule, NULL) < 0 ? -1 : MREAD_RULE;
        }
      }
      else mread_fail(r, "an unknown record type '%.30s'", type);
    }
    free(j.n);
    if (rec != 0) return rec;
  }
}
