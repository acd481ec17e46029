/* read-xml.c: reading trawl's XML output (-oX, output-xml.c) back into
 * result structs, for `trawl merge`. A small bounded lexer (tags with
 * attributes, text, comments; PIs and the DOCTYPE skipped) feeds a state
 * machine that knows the elements trawl writes: <nmaprun>, <scaninfo>,
 * <verbose>, <debugging>, <host> and what is in it (<status>, <address>,
 * <hostname>, <extraports>/<extrareasons>, <port>/<state>/<service>/<cpe>,
 * <script> with <elem>/<table>, <hostscript>, <os> with its <uptime>,
 * <tcpsequence>, <ipidsequence> and <tcptssequence>, <distance>, <trace>,
 * <times>), <runstats>, and the resume marker comment (the OS result and
 * trace are built in mread-os.c), <prescript> and <postscript>,
 * <runstats>, and the resume marker comment. Elements trawl does not
 * write are skipped whole. Not a general XML parser: no internal DTD
 * subset, no CDATA. */
#include <stdlib.h>
#include <string.h>

#include "core/os-result.h"
#include "core/xmltext.h"
#include "merge/mread.h"

#define XML_MAX_ATTRS 24

enum xtok { XT_EOF, XT_START, XT_END, XT_TEXT, XT_COMMENT, XT_OTHER };

struct xml_state {
  bool begun, in_runstats, in_hostscript, in_port, in_text, in_os, in_trace;
  int in_rule; /* 1 inside <prescript>, 2 inside <postscript> */
  struct os_match_item *osmatch;  /* <osmatch> being read */
  struct os_class_result *osclass; /* <osclass> being read */
  int skip; /* depth inside an element not carried over */
  int extra_state; /* <extraports state>, -1: none */
  long port;       /* index of <port>'s result in host->ports, -1: none yet */
  enum scan_proto pproto;
  uint16_t pportid;
  struct script_result *script;
  struct script_node *stack[MREAD_MAX_NEST];
  int depth;
  char *elem_key;   /* <elem key> being read */
  char *text;       /* its text so far */
  size_t textlen;
  int text_kind;    /* 1 <elem>, 2 <cpe> of a service, 3 <cpe> of an OS class */
  /* the current token */
  enum xtok kind;
  bool selfclose;
  char *name;
  const char *an[XML_MAX_ATTRS], *av[XML_MAX_ATTRS];
  int na;
};

void mread_xml_free(struct mread *r) {
  struct xml_state *x = r->fx;
  if (!x) return;
  free(x->elem_key);
  free(x->text);
  free(x);
  r->fx = NULL;
}

/* ---- the lexer ------------------------------------------------------------- */

static int xgetc(struct mread *r) {
  int c = getc_unlocked(r->fp);
  if (c == '\n') r->line++;
  return c;
}

/* Reads until the 2-3 byte terminator `term` (into buf when keep). */
static int read_until(struct mread *r, const char *term, bool keep) {
  size_t tl = strlen(term), m = 0, n = 0;
  int c;
  while ((c = xgetc(r)) != EOF) {
    if (++n > MREAD_TOKEN_MAX) return mread_fail(r, "a comment or declaration longer than %u bytes", MREAD_TOKEN_MAX);
    if (keep && mread_putc(r, (char)c) < 0) return -1;
    if (c == term[m]) {
      if (++m == tl) {
        if (keep) r->buf[r->len -= tl] = 0;
        return 0;
      }
    } else {
      m = c == term[0] ? 1 : 0;
    }
  }
  return 1; /* EOF inside */
}

static bool name_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == ':' || c == '.';
}

/* Splits the start tag in r->buf ("name a="v" b="w" /") into x's fields. */
static int parse_tag(struct mread *r, struct xml_state *x) {
  char *p = r->buf;
  x->name = p;
  while (name_char((unsigned char)*p)) p++;
  if (p == x->name) return mread_fail(r, "a tag without a name");
  x->na = 0;
  x->selfclose = false;
  for (;;) {
    char *sp = p;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p == 0) {
      *sp = 0;
      return 0;
    }
    if (*p == '/' && p[1] == 0) {
      *sp = 0;
      x->selfclose = true;
      return 0;
    }
    if (sp == p) return mread_fail(r, "no space before an attribute in <%.40s>", x->name);
    *sp = 0;
    char *an = p;
    while (name_char((unsigned char)*p)) p++;
    if (p == an || *p != '=' || (p[1] != '"' && p[1] != '\''))
      return mread_fail(r, "a bad attribute in <%.40s>", x->name);
    char q = p[1];
    *p = 0;
    char *av = p + 2;
    char *e = strchr(av, q);
    if (!e) return mread_fail(r, "an unterminated attribute in <%.40s>", x->name);
    *e = 0;
    p = e + 1;
    if (strchr(av, '<') || xmltext_unescape(av))
      return mread_fail(r, "a bad character or entity in attribute %.40s", an);
    if (x->na == XML_MAX_ATTRS) return mread_fail(r, "more than %d attributes", XML_MAX_ATTRS);
    x->an[x->na] = an;
    x->av[x->na++] = av;
  }
}

/* The next token into x (names and values point into r->buf). 1 with a
 * token, 0 at EOF (x->kind XT_EOF), -1 on error. */
static int lex(struct mread *r, struct xml_state *x) {
  r->len = 0;
  if (mread_putc(r, 0) < 0) return -1;
  r->len = 0;
  int c = xgetc(r);
  if (c == EOF) {
    x->kind = XT_EOF;
    return 0;
  }
  if (c != '<') {
    x->kind = XT_TEXT;
    do {
      if (mread_putc(r, (char)c) < 0) return -1;
    } while ((c = xgetc(r)) != EOF && c != '<');
    if (c == '<') ungetc(c, r->fp);
    if (xmltext_unescape(r->buf)) return mread_fail(r, "a bad entity in text");
    return 1;
  }
  c = xgetc(r);
  if (c == '!') {
    int c1 = xgetc(r), c2 = c1 == '-' ? xgetc(r) : 0;
    if (c1 == '-' && c2 == '-') {
      x->kind = XT_COMMENT;
      int e = read_until(r, "-->", true);
      if (e) return e < 0 ? -1 : mread_fail(r, "the file ends inside a comment");
      return 1;
    }
    x->kind = XT_OTHER; /* <!DOCTYPE nmaprun>: trawl's has no internal subset */
    int e = read_until(r, ">", false);
    return e ? (e < 0 ? -1 : mread_fail(r, "the file ends inside a declaration")) : 1;
  }
  if (c == '?') {
    x->kind = XT_OTHER;
    int e = read_until(r, "?>", true);
    if (e) return e < 0 ? -1 : mread_fail(r, "the file ends inside a processing instruction");
    /* <?xml-stylesheet href="..." type="text/xsl"?>: kept for the merge's XML */
    const char *h = strncmp(r->buf, "xml-stylesheet", 14) == 0 ? strstr(r->buf, "href=\"") : NULL;
    if (h) {
      free(r->stylesheet);
      r->stylesheet = strndup(h + 6, strcspn(h + 6, "\""));
      if (r->stylesheet && xmltext_unescape(r->stylesheet)) r->stylesheet[0] = 0;
    }
    return 1;
  }
  bool end = c == '/';
  if (end) c = xgetc(r);
  char q = 0;
  while (c != EOF && (q || c != '>')) {
    if (q && c == q) q = 0;
    else if (!q && (c == '"' || c == '\'')) q = (char)c;
    else if (!q && c == '<') return mread_fail(r, "'<' inside a tag");
    if (mread_putc(r, (char)c) < 0) return -1;
    c = xgetc(r);
  }
  if (c == EOF) {
    x->kind = XT_EOF; /* a tag cut by the end of the file: a truncation */
    return 0;
  }
  if (end) {
    x->kind = XT_END;
    x->name = r->buf;
    size_t l = strlen(r->buf);
    while (l && (r->buf[l - 1] == ' ' || r->buf[l - 1] == '\n')) r->buf[--l] = 0;
    for (size_t i = 0; i < l; i++)
      if (!name_char((unsigned char)r->buf[i])) return mread_fail(r, "a bad end tag");
    if (l == 0) return mread_fail(r, "an end tag without a name");
    return 1;
  }
  x->kind = XT_START;
  return parse_tag(r, x) < 0 ? -1 : 1;
}

static const char *attr(const struct xml_state *x, const char *name) {
  for (int i = 0; i < x->na; i++)
    if (strcmp(x->an[i], name) == 0) return x->av[i];
  return NULL;
}

/* ---- the elements ------------------------------------------------------------ */

static int need(struct mread *r, const struct xml_state *x, const char *name, const char **v) {
  *v = attr(x, name);
  return *v ? 0 : mread_fail(r, "<%s> without %s=", x->name, name);
}

static int num_attr(struct mread *r, const struct xml_state *x, const char *name, uint64_t max,
                    uint64_t *v) {
  const char *s;
  if (need(r, x, name, &s) < 0) return -1;
  if (mread_u64(s, max, v) < 0) return mread_fail(r, "<%s %s=\"%.40s\">: not a number", x->name, name, s);
  return 0;
}

static int on_nmaprun(struct mread *r, struct xml_state *x) {
  const char *args = attr(x, "args"), *start = attr(x, "start");
  mread_begin_reset(r);
  x->begun = false;
  if (!(r->begin.args = strdup(args ? args : ""))) return mread_fail(r, "out of memory");
  if (start && mread_i64(start, &r->begin.start) < 0) return mread_fail(r, "a bad start time");
  mread_note_args(r);
  return 0;
}

static int on_scaninfo(struct mread *r, struct xml_state *x) {
  const char *type, *proto, *svc, *fl = attr(x, "scanflags");
  enum scan_type t;
  enum scan_proto p;
  if (need(r, x, "type", &type) < 0 || need(r, x, "protocol", &proto) < 0 ||
      need(r, x, "services", &svc) < 0)
    return -1;
  if (mread_scan_type(type, &t) < 0 || mread_proto(proto, &p) < 0)
    return mread_fail(r, "an unknown scan type or protocol: %.20s/%.20s", type, proto);
  int flags = -1;
  if (fl) { /* FINSYN...: Nmap's flag names, lowest bit first */
    static const char *const names[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
    flags = 0;
    for (const char *s = fl; *s;) {
      int b;
      for (b = 0; b < 8 && strncmp(s, names[b], 3) != 0; b++) {}
      if (b == 8) return mread_fail(r, "bad scanflags");
      flags |= 1 << b;
      s += 3;
    }
  }
  return mread_add_type(r, t, p, svc, flags);
}

static int on_host(struct mread *r, struct xml_state *x) {
  if (!x->begun) return mread_fail(r, "a host before the scan's header");
  mread_host_begin(r);
  struct host_result *h = &r->host;
  const char *s;
  if ((s = attr(x, "starttime")) && mread_i64(s, &h->start_time) < 0) return mread_fail(r, "a bad starttime");
  if ((s = attr(x, "endtime")) && mread_i64(s, &h->end_time) < 0) return mread_fail(r, "a bad endtime");
  h->timedout = (s = attr(x, "timedout")) && strcmp(s, "true") == 0;
  x->port = -1;
  x->in_port = x->in_hostscript = x->in_os = x->in_trace = false;
  x->osmatch = NULL;
  x->osclass = NULL;
  x->extra_state = -1;
  x->script = NULL;
  return 0;
}

static int text_start(struct mread *r, struct xml_state *x, int kind);

static uint64_t num_or(const struct xml_state *x, const char *name, uint64_t max, uint64_t def) {
  const char *s = attr(x, name);
  uint64_t v;
  return s && mread_u64(s, max, &v) == 0 ? v : def;
}

/* <os> and what is in it: <portused>, <osmatch>/<osclass>/<cpe>,
 * <osfingerprint> */
static int on_os_child(struct mread *r, struct xml_state *x) {
  const char *n = x->name;
  uint64_t v, line;
  if (strcmp(n, "portused") == 0) {
    if (num_attr(r, x, "portid", 65535, &v) < 0) return -1;
    return mread_os_portused(r, attr(x, "state"), attr(x, "proto"), v);
  }
  if (strcmp(n, "osmatch") == 0) {
    const char *name;
    if (need(r, x, "name", &name) < 0 || num_attr(r, x, "accuracy", 100, &v) < 0) return -1;
    line = num_or(x, "line", UINT32_MAX, 0);
    if (!(x->osmatch = mread_os_match(r, name, v, line))) return -1;
    if (x->selfclose) x->osmatch = NULL;
    return 0;
  }
  if (strcmp(n, "osclass") == 0) {
    if (num_attr(r, x, "accuracy", 100, &v) < 0) return -1;
    x->osclass = mread_os_class(r, x->osmatch, attr(x, "type"), attr(x, "vendor"),
                                attr(x, "osfamily"), attr(x, "osgen"), v);
    if (!x->osclass) return -1;
    if (x->selfclose) x->osclass = NULL;
    return 0;
  }
  if (strcmp(n, "cpe") == 0) {
    if (!x->osclass) return mread_fail(r, "<cpe> outside <osclass>");
    if (x->selfclose) return mread_os_cpe(r, x->osclass, "");
    return text_start(r, x, 3);
  }
  if (strcmp(n, "osfingerprint") == 0) {
    const char *fp;
    if (need(r, x, "fingerprint", &fp) < 0) return -1;
    return mread_os_fingerprint(r, fp);
  }
  return mread_fail(r, "<%.40s> inside <os>", n);
}

/* <uptime>, <tcpsequence>, <ipidsequence>, <tcptssequence>: 1 if n is one */
static int on_os_seq(struct mread *r, struct xml_state *x, int *rc) {
  const char *n = x->name;
  uint64_t v;
  if (strcmp(n, "uptime") == 0) {
    *rc = num_attr(r, x, "seconds", INT64_MAX / 2, &v) < 0
              ? -1 : mread_os_uptime(r, (int64_t)v, attr(x, "lastboot"));
  } else if (strcmp(n, "tcpsequence") == 0) {
    *rc = mread_os_seq(r, (int64_t)num_or(x, "index", INT32_MAX, UINT64_MAX),
                       attr(x, "difficulty"), attr(x, "values"));
  } else if (strcmp(n, "ipidsequence") == 0) {
    *rc = mread_os_class_values(r, false, attr(x, "class"), attr(x, "values"));
  } else if (strcmp(n, "tcptssequence") == 0) {
    *rc = mread_os_class_values(r, true, attr(x, "class"), attr(x, "values"));
  } else {
    return 0;
  }
  return 1;
}

static int on_trace_child(struct mread *r, struct xml_state *x) {
  uint64_t ttl;
  if (strcmp(x->name, "hop") != 0) return mread_fail(r, "<%.40s> inside <trace>", x->name);
  if (num_attr(r, x, "ttl", 255, &ttl) < 0) return -1;
  const char *rtt = attr(x, "rtt");
  return mread_trace_hop(r, ttl, attr(x, "ipaddr"), rtt ? strtod(rtt, NULL) : -1, attr(x, "host"));
}

static int on_status(struct mread *r, struct xml_state *x) {
  const char *st, *reason = attr(x, "reason"), *ttl = attr(x, "reason_ttl");
  if (need(r, x, "state", &st) < 0) return -1;
  enum host_status hs = strcmp(st, "up") == 0 ? HOST_UP : strcmp(st, "down") == 0 ? HOST_DOWN : HOST_UNKNOWN;
  uint64_t t = 0;
  if (ttl && mread_u64(ttl, 255, &t) < 0) return mread_fail(r, "a bad reason_ttl");
  return host_set_reason(&r->host, hs, reason, (int)t) < 0 ? mread_fail(r, "out of memory") : 0;
}

static int on_address(struct mread *r, struct xml_state *x) {
  const char *a, *type;
  if (need(r, x, "addr", &a) < 0 || need(r, x, "addrtype", &type) < 0) return -1;
  if (strcmp(type, "mac") == 0) {
    uint8_t mac[6];
    if (mread_mac(a, mac) < 0) return mread_fail(r, "a bad MAC address");
    return host_set_mac(&r->host, mac, attr(x, "vendor")) < 0 ? mread_fail(r, "out of memory") : 0;
  }
  if (mread_addr(a, &r->host.addr) < 0) return mread_fail(r, "a bad address '%.60s'", a);
  snprintf(r->cur_addr, sizeof r->cur_addr, "%s", a);
  return 0;
}

static int on_extrareasons(struct mread *r, struct xml_state *x) {
  const char *reason = attr(x, "reason"), *proto = attr(x, "proto");
  uint64_t count;
  enum scan_proto p = PROTO_TCP;
  if (x->extra_state < 0) return mread_fail(r, "<extrareasons> outside <extraports>");
  if (num_attr(r, x, "count", UINT32_MAX, &count) < 0) return -1;
  if (proto && mread_proto(proto, &p) < 0) return mread_fail(r, "a bad protocol");
  if (r->host.nbulk >= MREAD_MAX_PORTS) return mread_fail(r, "too many <extrareasons>");
  return host_add_bulk(&r->host, p, (enum port_state)x->extra_state, reason, count) < 0
             ? mread_fail(r, "out of memory") : 0;
}

static int on_state(struct mread *r, struct xml_state *x) {
  const char *st, *ttl = attr(x, "reason_ttl");
  enum port_state ps;
  uint64_t t = 0;
  if (!x->in_port || x->port >= 0) return mread_fail(r, "<state> outside <port>");
  if (need(r, x, "state", &st) < 0) return -1;
  if (mread_state(st, &ps) < 0) return mread_fail(r, "an unknown port state '%.30s'", st);
  if (ttl && mread_u64(ttl, 255, &t) < 0) return mread_fail(r, "a bad reason_ttl");
  if (r->host.nports >= MREAD_MAX_PORTS) return mread_fail(r, "more than %u ports", MREAD_MAX_PORTS);
  if (!host_add_port(&r->host, x->pproto, x->pportid, ps, attr(x, "reason"), (int)t, NULL))
    return mread_fail(r, "out of memory");
  x->port = (long)r->host.nports - 1;
  return 0;
}

static int on_service(struct mread *r, struct xml_state *x) {
  if (x->port < 0) return mread_fail(r, "<service> outside <port>");
  struct port_result *p = &r->host.ports[x->port];
  const char *name = attr(x, "name"), *method = attr(x, "method"), *conf = attr(x, "conf");
  bool probed = method && strcmp(method, "probed") == 0;
  struct port_version v = {0};
  v.probed = probed;
  v.ssl = attr(x, "tunnel") && strcmp(attr(x, "tunnel"), "ssl") == 0;
  v.fingerprint = (char *)attr(x, "servicefp");
  uint64_t c = 0;
  if (conf && mread_u64(conf, 10, &c) < 0) return mread_fail(r, "a bad conf");
  if (c != (probed ? 10u : 3u)) v.conf = (uint8_t)c;
  if (probed) {
    v.product = (char *)attr(x, "product");
    v.version = (char *)attr(x, "version");
    v.extrainfo = (char *)attr(x, "extrainfo");
    v.hostname = (char *)attr(x, "hostname");
    v.ostype = (char *)attr(x, "ostype");
    v.devicetype = (char *)attr(x, "devicetype");
  }
  free(p->service);
  p->service = NULL;
  if (name && !(p->service = strdup(name))) return mread_fail(r, "out of memory");
  /* version detection ran when it matched, left a fingerprint or a tunnel,
   * or (-sV) kept the table's name */
  if (probed || v.ssl || v.fingerprint || v.conf || r->version_scan)
    if (port_set_version(p, NULL, &v) < 0) return mread_fail(r, "out of memory");
  return 0;
}

static int add_cpe(struct mread *r, struct xml_state *x) {
  if (x->port < 0 || !r->host.ports[x->port].version) return 0; /* nowhere to keep it */
  struct port_version *v = r->host.ports[x->port].version;
  if (v->ncpe >= 64) return mread_fail(r, "more than 64 <cpe>");
  char **n = realloc(v->cpe, (v->ncpe + 1) * sizeof *n);
  if (!n) return mread_fail(r, "out of memory");
  v->cpe = n;
  if (!(n[v->ncpe] = strdup(x->text ? x->text : ""))) return mread_fail(r, "out of memory");
  v->ncpe++;
  return 0;
}

static int on_script(struct mread *r, struct xml_state *x) {
  const char *id, *out = attr(x, "output");
  if (need(r, x, "id", &id) < 0) return -1;
  struct host_result *h = x->in_rule ? &r->rule : &r->host;
  struct port_result *p = !x->in_rule && x->port >= 0 ? &r->host.ports[x->port] : NULL;
  if (!p && !x->in_hostscript && !x->in_rule)
    return mread_fail(r, "<script> outside a port, <hostscript>, <prescript> or <postscript>");
  if ((p ? p->nscripts : h->nhostscripts) >= MREAD_MAX_SCRIPTS)
    return mread_fail(r, "too many scripts");
  x->script = result_add_script(h, p, id, out ? out : "");
  if (!x->script) return mread_fail(r, "out of memory");
  x->depth = 1;
  x->stack[0] = &x->script->tree;
  return 0;
}

static int text_start(struct mread *r, struct xml_state *x, int kind) {
  (void)r;
  x->in_text = true;
  x->text_kind = kind;
  x->textlen = 0;
  free(x->text);
  x->text = NULL;
  return 0;
}

static int text_add(struct mread *r, struct xml_state *x, const char *s) {
  size_t l = strlen(s);
  if (x->textlen + l >= MREAD_TOKEN_MAX) return mread_fail(r, "a text longer than %u bytes", MREAD_TOKEN_MAX);
  char *n = realloc(x->text, x->textlen + l + 1);
  if (!n) return mread_fail(r, "out of memory");
  memcpy(n + x->textlen, s, l + 1);
  x->text = n;
  x->textlen += l;
  return 0;
}

static int on_start(struct mread *r, struct xml_state *x) {
  const char *n = x->name;
  bool sc = x->selfclose;
  if (x->skip) {
    if (!sc) x->skip++;
    return 0;
  }
  if (x->in_text) return mread_fail(r, "<%.40s> inside a text element", n);
  if (x->script) { /* inside <script>: <table> and <elem> only */
    struct script_node *top = x->stack[x->depth - 1];
    if (strcmp(n, "table") == 0) {
      if (x->depth >= MREAD_MAX_NEST) return mread_fail(r, "script tables nested deeper than %d", MREAD_MAX_NEST);
      if (top->nchild >= MREAD_MAX_PORTS) return mread_fail(r, "too many script values");
      struct script_node *t = snode_add_table(top, attr(x, "key"));
      if (!t) return mread_fail(r, "out of memory");
      if (!sc) x->stack[x->depth++] = t;
      return 0;
    }
    if (strcmp(n, "elem") == 0) {
      free(x->elem_key);
      x->elem_key = NULL;
      const char *k = attr(x, "key");
      if (k && !(x->elem_key = strdup(k))) return mread_fail(r, "out of memory");
      text_start(r, x, 1);
      if (sc) { /* <elem/>: empty */
        x->in_text = false;
        if (top->nchild >= MREAD_MAX_PORTS) return mread_fail(r, "too many script values");
        if (!snode_add_elem(top, x->elem_key, "")) return mread_fail(r, "out of memory");
      }
      return 0;
    }
    return mread_fail(r, "<%.40s> inside <script>", n);
  }
  if (r->in_host && x->in_os) return on_os_child(r, x);
  if (r->in_host && x->in_trace) return on_trace_child(r, x);
  if (r->in_host) {
    int rc;
    if (on_os_seq(r, x, &rc)) return rc;
    if (strcmp(n, "os") == 0) {
      if (!mread_os(r)) return -1;
      x->in_os = !sc;
      return 0;
    }
    if (strcmp(n, "trace") == 0) {
      const char *pr = attr(x, "proto");
      if (mread_trace_begin(r, pr, num_or(x, "port", 65535, 0), pr == NULL) < 0) return -1;
      x->in_trace = !sc;
      return 0;
    }
    if (strcmp(n, "status") == 0) return on_status(r, x);
    if (strcmp(n, "address") == 0) return on_address(r, x);
    if (strcmp(n, "hostnames") == 0 || strcmp(n, "ports") == 0) return 0;
    if (strcmp(n, "hostname") == 0) {
      const char *name, *type = attr(x, "type");
      if (need(r, x, "name", &name) < 0) return -1;
      if (r->host.nnames >= 256) return mread_fail(r, "too many hostnames");
      return host_add_hostname(&r->host, name, type && strcmp(type, "PTR") == 0 ? HOSTNAME_PTR : HOSTNAME_USER) < 0
                 ? mread_fail(r, "out of memory") : 0;
    }
    if (strcmp(n, "extraports") == 0) {
      const char *st;
      enum port_state ps;
      if (need(r, x, "state", &st) < 0) return -1;
      if (mread_state(st, &ps) < 0) return mread_fail(r, "an unknown port state '%.30s'", st);
      if (!sc) x->extra_state = (int)ps;
      return 0;
    }
    if (strcmp(n, "extrareasons") == 0) return on_extrareasons(r, x);
    if (strcmp(n, "port") == 0) {
      const char *pr;
      uint64_t id;
      if (x->in_port) return mread_fail(r, "<port> inside <port>");
      if (need(r, x, "protocol", &pr) < 0 || num_attr(r, x, "portid", 65535, &id) < 0) return -1;
      if (mread_proto(pr, &x->pproto) < 0) return mread_fail(r, "an unknown protocol '%.20s'", pr);
      x->pportid = (uint16_t)id;
      x->in_port = !sc;
      x->port = -1;
      return 0;
    }
    if (strcmp(n, "state") == 0) return on_state(r, x);
    if (strcmp(n, "service") == 0) return on_service(r, x);
    if (strcmp(n, "cpe") == 0) return sc ? 0 : text_start(r, x, 2);
    if (strcmp(n, "script") == 0) {
      if (on_script(r, x) < 0) return -1;
      if (sc) x->script = NULL;
      return 0;
    }
    if (strcmp(n, "hostscript") == 0) {
      x->in_hostscript = !sc;
      x->port = -1;
      return 0;
    }
    if (strcmp(n, "distance") == 0) {
      uint64_t d;
      if (num_attr(r, x, "value", 255, &d) < 0) return -1;
      r->host.distance = (int)d;
      return 0;
    }
    if (strcmp(n, "times") == 0) {
      uint64_t a, b, c;
      if (num_attr(r, x, "srtt", INT64_MAX, &a) < 0 || num_attr(r, x, "rttvar", INT64_MAX, &b) < 0 ||
          num_attr(r, x, "to", INT64_MAX, &c) < 0)
        return -1;
      r->host.srtt_us = (int64_t)a, r->host.rttvar_us = (int64_t)b, r->host.timeout_us = (int64_t)c;
      return 0;
    }
    if (!sc) x->skip = 1; /* an element trawl does not write: skipped whole */
    return 0;
  }
  if (x->in_rule) {
    if (strcmp(n, "script") != 0) return mread_fail(r, "<%.40s> inside <%s>", n, x->in_rule == 1 ? "prescript" : "postscript");
    if (on_script(r, x) < 0) return -1;
    if (sc) x->script = NULL;
    return 0;
  }
  if (strcmp(n, "prescript") == 0 || strcmp(n, "postscript") == 0) {
    if (!x->begun) return mread_fail(r, "<%s> before the scan's header", n);
    host_result_free(&r->rule);
    host_result_init(&r->rule);
    r->rule_post = n[1] == 'o';
    if (sc) return MREAD_RULE;
    x->in_rule = r->rule_post ? 2 : 1;
    return 0;
  }
  if (strcmp(n, "nmaprun") == 0) return on_nmaprun(r, x);
  if (strcmp(n, "scaninfo") == 0) return on_scaninfo(r, x);
  if (strcmp(n, "verbose") == 0 || strcmp(n, "debugging") == 0) {
    uint64_t l;
    if (num_attr(r, x, "level", 100, &l) < 0) return -1;
    if (n[0] == 'v') r->begin.verbose = (int)l;
    else r->begin.debug = (int)l;
    if (n[0] == 'd' && !x->begun) {
      x->begun = true;
      return MREAD_BEGIN;
    }
    return 0;
  }
  if (strcmp(n, "host") == 0) {
    if (on_host(r, x) < 0) return -1;
    return sc ? mread_fail(r, "an empty <host/>") : 0;
  }
  if (strcmp(n, "runstats") == 0) {
    x->in_runstats = true;
    return 0;
  }
  if (x->in_runstats && strcmp(n, "finished") == 0) {
    const char *ex = attr(x, "exit"), *em = attr(x, "errormsg"), *t = attr(x, "time"),
               *el = attr(x, "elapsed");
    r->end.error = ex && strcmp(ex, "success") != 0;
    free(r->end.errormsg);
    r->end.errormsg = em ? strdup(em) : NULL;
    if (t && mread_i64(t, &r->end.time) < 0) return mread_fail(r, "a bad finish time");
    if (el) r->end.elapsed = strtod(el, NULL);
    if (!(r->end.elapsed >= 0 && r->end.elapsed < 1e12)) r->end.elapsed = 0;
    return 0;
  }
  if (x->in_runstats && strcmp(n, "hosts") == 0) {
    if (num_attr(r, x, "up", UINT64_MAX / 4, &r->end.up) < 0 ||
        num_attr(r, x, "down", UINT64_MAX / 4, &r->end.down) < 0 ||
        num_attr(r, x, "total", UINT64_MAX / 4, &r->end.total) < 0)
      return -1;
    return 0;
  }
  if (!sc) x->skip = 1; /* an element trawl does not write: skipped whole */
  return 0;
}

static int on_end(struct mread *r, struct xml_state *x) {
  const char *n = x->name;
  if (x->skip) {
    x->skip--;
    return 0;
  }
  if (x->in_text) {
    x->in_text = false;
    if (x->text_kind == 2) return strcmp(n, "cpe") == 0 ? add_cpe(r, x) : mread_fail(r, "</%.40s> in <cpe>", n);
    if (x->text_kind == 3)
      return strcmp(n, "cpe") == 0 ? mread_os_cpe(r, x->osclass, x->text ? x->text : "")
                                   : mread_fail(r, "</%.40s> in <cpe>", n);
    if (strcmp(n, "elem") != 0) return mread_fail(r, "</%.40s> in <elem>", n);
    struct script_node *top = x->stack[x->depth - 1];
    if (top->nchild >= MREAD_MAX_PORTS) return mread_fail(r, "too many script values");
    return snode_add_elem(top, x->elem_key, x->text ? x->text : "") ? 0 : mread_fail(r, "out of memory");
  }
  if (x->script) {
    if (strcmp(n, "table") == 0 && x->depth > 1) {
      x->depth--;
      return 0;
    }
    if (strcmp(n, "script") == 0 && x->depth == 1) {
      x->script = NULL;
      return 0;
    }
    return mread_fail(r, "</%.40s> inside <script>", n);
  }
  if (r->in_host && x->in_os) {
    if (strcmp(n, "os") == 0) x->in_os = false;
    else if (strcmp(n, "osmatch") == 0) x->osmatch = NULL, x->osclass = NULL;
    else if (strcmp(n, "osclass") == 0) x->osclass = NULL;
    else return mread_fail(r, "</%.40s> inside <os>", n);
    return 0;
  }
  if (r->in_host && x->in_trace) {
    if (strcmp(n, "trace") != 0) return mread_fail(r, "</%.40s> inside <trace>", n);
    x->in_trace = false;
    return 0;
  }
  if (r->in_host) {
    if (strcmp(n, "host") == 0) {
      mread_os_finish(r, -1);
      return mread_host_done(r);
    }
    if (strcmp(n, "port") == 0) {
      if (!x->in_port || x->port < 0) return mread_fail(r, "a <port> without <state>");
      x->in_port = false;
      x->port = -1;
    } else if (strcmp(n, "extraports") == 0) {
      x->extra_state = -1;
    } else if (strcmp(n, "hostscript") == 0) {
      x->in_hostscript = false;
    }
    return 0;
  }
  if (x->in_rule) {
    if (strcmp(n, x->in_rule == 1 ? "prescript" : "postscript") != 0)
      return mread_fail(r, "</%.40s> inside <%s>", n, x->in_rule == 1 ? "prescript" : "postscript");
    x->in_rule = 0;
    return MREAD_RULE;
  }
  if (strcmp(n, "runstats") == 0 && x->in_runstats) {
    x->in_runstats = false;
    return MREAD_END;
  }
  return 0;
}

int mread_xml_next(struct mread *r) {
  struct xml_state *x = r->fx;
  if (!x) {
    if (!(x = r->fx = calloc(1, sizeof *x))) return mread_fail(r, "out of memory");
    x->port = x->extra_state = -1;
  }
  for (;;) {
    int k = lex(r, x);
    if (k < 0) return -1;
    if (k == 0) return MREAD_EOF;
    int rec = 0;
    switch (x->kind) {
      case XT_START:
        rec = on_start(r, x);
        if (rec == 0 && x->selfclose && !x->skip && x->in_text) x->in_text = false;
        break;
      case XT_END: rec = on_end(r, x); break;
      case XT_TEXT:
        if (x->in_text && !x->skip) rec = text_add(r, x, r->buf);
        else
          for (const char *p = r->buf; *p; p++)
            if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && !x->skip)
              return mread_fail(r, "text where trawl writes none: '%.30s'", p);
        break;
      case XT_COMMENT:
        if (mread_marker(r, r->buf)) rec = MREAD_MARK;
        break;
      default: break;
    }
    if (rec != 0) return rec;
  }
}
