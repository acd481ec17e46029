/* mread-os.c: a host's OS detection result and traceroute, built from what
 * the XML and JSON readers find (read-xml.c, read-json.c), for `trawl
 * merge`. The two formats spell them differently but fill the same
 * core/os-result.h and core/result.h structs, with the same bounds, here:
 * at most MREAD_OS_MAX matches, classes per match and CPEs per class, TTLs
 * 1..255, and a fingerprint within MREAD_TOKEN_MAX (the readers' token
 * bound). What a format does not hold is inferred where it can be:
 *   - XML has no verdict: matches without a fingerprint were exact ("OS
 *     details"), matches with one were guesses, a fingerprint alone is no
 *     match, and neither is "too many matches" (the writer leaves both
 *     out then, output-os.c);
 *   - neither format names a fingerprint unfit for submission: its SCAN
 *     line does (G=N);
 *   - XML's lastboot is local time as written (strftime %c-like), read
 *     back with strptime/mktime; JSON's is a Unix time. */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/os-result.h"
#include "merge/mread.h"

struct os_result *mread_os(struct mread *r) {
  if (!r->host.os && !(r->host.os = os_result_new())) {
    mread_fail(r, "out of memory");
    return NULL;
  }
  return r->host.os;
}

int mread_os_portused(struct mread *r, const char *state, const char *proto, uint64_t port) {
  struct os_result *os = mread_os(r);
  if (!os) return -1;
  if (!state || !proto || port > 65535) return mread_fail(r, "a bad OS portused");
  bool open = strcmp(state, "open") == 0, tcp = strcmp(proto, "tcp") == 0;
  struct os_portused *p = open && tcp ? &os->open_tcp
                          : !open && strcmp(state, "closed") == 0
                              ? (tcp ? &os->closed_tcp : strcmp(proto, "udp") == 0 ? &os->closed_udp : NULL)
                              : NULL;
  if (!p) return mread_fail(r, "a bad OS portused %.10s/%.10s", state, proto);
  p->set = true;
  p->port = (uint16_t)port;
  return 0;
}

struct os_match_item *mread_os_match(struct mread *r, const char *name, uint64_t accuracy,
                                     uint64_t line) {
  struct os_result *os = mread_os(r);
  if (!os) return NULL;
  if (!name || accuracy > 100 || line > UINT32_MAX) {
    mread_fail(r, "a bad OS match");
    return NULL;
  }
  if (os->nmatches >= MREAD_OS_MAX) {
    mread_fail(r, "more than %d OS matches", MREAD_OS_MAX);
    return NULL;
  }
  struct os_match_item *m = os_result_add_match(os, name, (int)accuracy, (unsigned)line);
  if (!m) mread_fail(r, "out of memory");
  return m;
}

struct os_class_result *mread_os_class(struct mread *r, struct os_match_item *m, const char *type,
                                       const char *vendor, const char *family, const char *gen,
                                       uint64_t accuracy) {
  if (!m) {
    mread_fail(r, "an OS class outside a match");
    return NULL;
  }
  if (accuracy > 100) {
    mread_fail(r, "a bad OS class accuracy");
    return NULL;
  }
  if (m->nclasses >= MREAD_OS_MAX) {
    mread_fail(r, "more than %d OS classes", MREAD_OS_MAX);
    return NULL;
  }
  struct os_class_result *c = os_result_add_class(m, type, vendor ? vendor : "", family ? family : "",
                                                  gen, (int)accuracy);
  if (!c) mread_fail(r, "out of memory");
  return c;
}

int mread_os_cpe(struct mread *r, struct os_class_result *c, const char *cpe) {
  if (!c) return mread_fail(r, "a CPE outside an OS class");
  if (c->ncpe >= MREAD_OS_MAX) return mread_fail(r, "more than %d CPEs in an OS class", MREAD_OS_MAX);
  return os_result_add_cpe(c, cpe ? cpe : "") < 0 ? mread_fail(r, "out of memory") : 0;
}

static int mread_os_str(struct mread *r, char **dst, const char *v) {
  free(*dst);
  *dst = NULL;
  if (v && !(*dst = strdup(v))) return mread_fail(r, "out of memory");
  return 0;
}

int mread_os_fingerprint(struct mread *r, const char *fp) {
  struct os_result *os = mread_os(r);
  if (!os) return -1;
  if (mread_os_str(r, &os->fingerprint, fp) < 0) return -1;
  /* unfit for submission: G=N in the SCAN line, which may be wrapped
   * across "OS:" lines */
  char flat[512]; /* the SCAN line, unwrapped */
  size_t n = 0;
  for (const char *p = fp ? strstr(fp, "SCAN(") : NULL; p && *p && *p != ')' && n + 1 < sizeof flat; p++) {
    if (p[0] == '\n' && strncmp(p + 1, "OS:", 3) == 0) p += 3;
    else flat[n++] = *p;
  }
  flat[n] = 0;
  os->fp_unfit = strstr(flat, "%G=N") != NULL;
  return 0;
}

int mread_os_seq(struct mread *r, int64_t index, const char *difficulty, const char *values) {
  struct os_result *os = mread_os(r);
  if (!os) return -1;
  os->seq_index = index >= 0 && index <= INT32_MAX ? (int)index : -1;
  return mread_os_str(r, &os->seq_difficulty, difficulty) < 0 ||
                 mread_os_str(r, &os->seq_values, values) < 0
             ? -1
             : 0;
}

int mread_os_class_values(struct mread *r, bool ts, const char *cls, const char *values) {
  struct os_result *os = mread_os(r);
  if (!os) return -1;
  return mread_os_str(r, ts ? &os->ts_class : &os->ipid_class, cls) < 0 ||
                 mread_os_str(r, ts ? &os->ts_values : &os->ipid_values, values) < 0
             ? -1
             : 0;
}

int mread_os_uptime(struct mread *r, int64_t seconds, const char *lastboot) {
  struct os_result *os = mread_os(r);
  if (!os) return -1;
  if (seconds < 0) return mread_fail(r, "a bad uptime");
  os->uptime_s = seconds;
  os->lastboot = -1;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = lastboot ? strptime(lastboot, "%a %b %e %H:%M:%S %Y", &tm) : NULL;
  if (end && *end == 0) {
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t != (time_t)-1) os->lastboot = (int64_t)t;
  }
  /* JSON written before it carried "lastboot" has none: the scan computed
   * it as "now - uptime" near the end of the host, which endtime records */
  if (os->lastboot < 0 && r->host.end_time > seconds) os->lastboot = r->host.end_time - seconds;
  return 0;
}

void mread_os_finish(struct mread *r, int verdict) {
  struct os_result *os = r->host.os;
  if (!os) return;
  if (verdict >= 0) os->verdict = (enum os_result_verdict)verdict;
  else if (os->nmatches) os->verdict = os->fingerprint ? OS_RES_GUESS : OS_RES_EXACT;
  else os->verdict = os->fingerprint ? OS_RES_NONE : OS_RES_TOO_MANY;
  if (verdict < 0) os->unreliable = !os->open_tcp.set || !os->closed_tcp.set;
}

int mread_trace_begin(struct mread *r, const char *proto, uint64_t port, bool direct) {
  host_trace_free(r->host.trace);
  struct host_trace *t = r->host.trace = calloc(1, sizeof *t);
  if (!t) return mread_fail(r, "out of memory");
  if (port > 65535) return mread_fail(r, "a bad trace port");
  t->direct = direct;
  if (!proto) {
    t->direct = true; /* Nmap's <trace> without a probe: on our link */
  } else if (strcmp(proto, "icmp") == 0) {
    t->icmp = 1;
  } else if (strcmp(proto, "ipv6-icmp") == 0) {
    t->icmp = 58;
  } else if (mread_proto(proto, &t->proto) < 0) {
    return mread_fail(r, "a bad trace protocol '%.20s'", proto);
  }
  t->port = (uint16_t)port;
  return 0;
}

int mread_trace_hop(struct mread *r, uint64_t ttl, const char *addr, double rtt_ms, const char *name) {
  struct host_trace *t = r->host.trace;
  if (!t) return mread_fail(r, "a hop outside a trace");
  if (ttl < 1 || ttl > 255) return mread_fail(r, "a bad hop TTL");
  if (addr && strlen(addr) >= sizeof t->hops[0].addr) return mread_fail(r, "a bad hop address");
  if (ttl > t->nhops) {
    struct trace_hop *h = realloc(t->hops, ttl * sizeof *h);
    if (!h) return mread_fail(r, "out of memory");
    for (size_t k = t->nhops; k < ttl; k++) h[k] = (struct trace_hop){(int)k + 1, "", NULL, -1};
    t->hops = h;
    t->nhops = ttl;
  }
  struct trace_hop *h = &t->hops[ttl - 1];
  snprintf(h->addr, sizeof h->addr, "%s", addr ? addr : "");
  h->rtt_ms = rtt_ms >= 0 && rtt_ms < 1e9 ? rtt_ms : -1;
  free(h->name);
  h->name = NULL;
  if (name && !(h->name = strdup(name))) return mread_fail(r, "out of memory");
  return 0;
}
