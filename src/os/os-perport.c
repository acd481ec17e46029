/* os-perport.c: grouping a host's open ports by the stack that answers
 * them, and the "os-per-port" result (see os-perport.h). */
#include "os/os-perport.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int os_perport_distance(int ttl) {
  if (ttl <= 0) return -1;
  int init = ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
  return init - ttl + 1;
}

/* The sig text of tests ts (without T and TG) appended at buf+n. */
static size_t os_perport_sig_tests(char *buf, size_t cap, size_t n, const struct os_fp *fp,
                                   const enum osdb_test *ts, size_t nt) {
  for (size_t k = 0; k < nt && n < cap; k++) {
    n += (size_t)snprintf(buf + n, cap - n, "%s(", osdb_test_name(ts[k]));
    for (unsigned i = 0; i < osdb_attr_count(ts[k]) && n < cap; i++) {
      const char *a = osdb_attr_name(ts[k], i), *v = os_fp_get(fp, ts[k], a);
      if (v && strcmp(a, "T") != 0 && strcmp(a, "TG") != 0)
        n += (size_t)snprintf(buf + n, cap - n, "%s=%s%%", a, v);
    }
    if (n < cap) n += (size_t)snprintf(buf + n, cap - n, ")");
  }
  return n < cap ? n : cap - 1;
}

/* An IP ID class as the signatures compare it: only all-zero ("Z") or
 * not. Which of I, BI, RI or RD a few samples give depends on the other
 * traffic the host answers meanwhile (Linux shares one ID counter per
 * peer): under load one stack gave two classes on two ports. Whether the
 * IDs of two ports form one counter is judged on the samples themselves
 * (os_perport_ipid_differ). */
static const char *os_perport_id_kind(const char *cls) {
  if (!cls || !*cls) return "";
  return strcmp(cls, "Z") == 0 ? "Z" : "NZ";
}

void os_perport_observe(struct os_port_obs *o, uint16_t port, const struct os_fp *fp,
                        int synack_ttl) {
  static const enum osdb_test open_tests[] = {OSDB_OPS, OSDB_WIN, OSDB_ECN, OSDB_T1,
                                              OSDB_T2,  OSDB_T3,  OSDB_T4};
  memset(o, 0, sizeof *o);
  o->port = port;
  o->distance = os_perport_distance(synack_ttl);
  o->ittl = o->distance < 0 ? 0 : synack_ttl + o->distance - 1;
  o->closed_distance = o->isr = o->gcd_big = -1;
  size_t n = os_perport_sig_tests(o->sig, sizeof o->sig, 0, fp, open_tests,
                                  sizeof open_tests / sizeof open_tests[0]);
  const char *ti = os_fp_get(fp, OSDB_SEQ, "TI"), *ts = os_fp_get(fp, OSDB_SEQ, "TS");
  snprintf(o->sig + n, sizeof o->sig - n, "TI=%s%%TS=%s", os_perport_id_kind(ti),
           !ts ? "" : strcmp(ts, "U") == 0 ? "U" : "Y");
}

void os_perport_observe_seq(struct os_port_obs *o, const struct os_fp *fp,
                            const struct os_seq_in *seq, int closed_ttl) {
  static const enum osdb_test closed_tests[] = {OSDB_T5, OSDB_T6, OSDB_T7};
  o->seq = *seq;
  o->closed_distance = os_perport_distance(closed_ttl);
  o->closed_ittl = o->closed_distance < 0 ? 0 : closed_ttl + o->closed_distance - 1;
  const char *isr = os_fp_get(fp, OSDB_SEQ, "ISR"), *gcd = os_fp_get(fp, OSDB_SEQ, "GCD");
  o->isr = isr ? (int)strtol(isr, NULL, 16) : -1;
  o->gcd_big = gcd ? strtoul(gcd, NULL, 16) > 9 : -1;
  size_t n = os_perport_sig_tests(o->closed, sizeof o->closed, 0, fp, closed_tests, 3);
  const char *ci = os_fp_get(fp, OSDB_SEQ, "CI");
  snprintf(o->closed + n, sizeof o->closed - n, "CI=%s%%D=%d", os_perport_id_kind(ci),
           o->closed_distance);
}

/* The timestamp clock of o: first timestamped sample (time, value) and the
 * rate in ticks per second. 0 without two usable samples. */
static int os_perport_ts_clock(const struct os_port_obs *o, double *t0, double *v0, double *rate) {
  const struct os_seq_sample *f = NULL, *l = NULL;
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) {
    const struct os_seq_sample *sm = &o->seq.syn[i];
    if (!sm->got || !sm->has_ts || sm->tsval == 0) continue;
    if (!f) f = sm;
    l = sm;
  }
  if (!f || l == f || l->sent_us <= f->sent_us) return 0;
  int32_t dv = (int32_t)(l->tsval - f->tsval);
  if (dv <= 0) return 0; /* a clock that stands or runs back: no clock */
  *t0 = (double)f->sent_us / 1e6;
  *v0 = (double)f->tsval;
  *rate = dv / ((double)(l->sent_us - f->sent_us) / 1e6);
  if (!(*rate > 0 && *rate < 1e7)) return 0;
  /* one clock: every sample on the line (stacks that add a random offset
   * per connection, as recent Linux does, have none to compare) */
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++) {
    const struct os_seq_sample *sm = &o->seq.syn[i];
    if (!sm->got || !sm->has_ts || sm->tsval == 0 || sm->sent_us < f->sent_us) continue;
    double want = *rate * (double)(sm->sent_us - f->sent_us) / 1e6;
    if (fabs((double)(uint32_t)(sm->tsval - f->tsval) - want) > 4 + *rate * 0.02) return 0;
  }
  return 1;
}

static int os_perport_ts_differ(const struct os_port_obs *a, const struct os_port_obs *b) {
  double ta, va, ra, tb, vb, rb;
  if (!os_perport_ts_clock(a, &ta, &va, &ra) || !os_perport_ts_clock(b, &tb, &vb, &rb)) return 0;
  if (ra > rb * 1.25 || rb > ra * 1.25) return 1;
  double rate = (ra + rb) / 2, dt = tb - ta;
  /* b's value less a's clock's prediction, on the 32-bit circle */
  double d = fmod(vb - va - rate * dt, 4294967296.0);
  if (d >= 2147483648.0) d -= 4294967296.0;
  if (d < -2147483648.0) d += 4294967296.0;
  return fabs(d) > 4 + rate * 0.05 + rate * fabs(dt) * 0.02;
}

static int os_perport_ipid_incr(const struct os_port_obs *o, uint16_t *ids, uint64_t *us,
                                unsigned *n) {
  char cls[8];
  *n = 0;
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++)
    if (o->seq.syn[i].got) {
      ids[*n] = o->seq.syn[i].ipid;
      us[(*n)++] = o->seq.syn[i].sent_us;
    }
  if (!os_seq_ipid_class(ids, *n, 3, 1, cls)) return 0;
  return strcmp(cls, "I") == 0 || strcmp(cls, "BI") == 0 || strcmp(cls, "RI") == 0;
}

/* The largest rate (IDs per second) of a series in time order. */
static double os_perport_ipid_rate(const uint16_t *ids, const uint64_t *us, unsigned n) {
  double r = 0;
  for (unsigned i = 1; i < n; i++) {
    double dt = us[i] > us[i - 1] ? (double)(us[i] - us[i - 1]) / 1e6 : 1e-3;
    double x = (uint16_t)(ids[i] - ids[i - 1]) / (dt < 1e-3 ? 1e-3 : dt);
    if (x > r) r = x;
  }
  return r;
}

/* Monotonic bounds: one counter seen from two ports must still increase,
 * step by step, when the samples are merged in time order. */
static int os_perport_ipid_differ(const struct os_port_obs *a, const struct os_port_obs *b) {
  uint16_t ia[OS_SEQ_PROBES], ib[OS_SEQ_PROBES], m[2 * OS_SEQ_PROBES];
  uint64_t ua[OS_SEQ_PROBES], ub[OS_SEQ_PROBES], mu[2 * OS_SEQ_PROBES];
  unsigned na, nb, n = 0, i = 0, j = 0;
  if (!os_perport_ipid_incr(a, ia, ua, &na) || !os_perport_ipid_incr(b, ib, ub, &nb)) return 0;
  double ra = os_perport_ipid_rate(ia, ua, na), rb = os_perport_ipid_rate(ib, ub, nb);
  double r = ra > rb ? ra : rb;
  while (i < na || j < nb) {
    int take_a = j >= nb || (i < na && ua[i] <= ub[j]);
    m[n] = take_a ? ia[i] : ib[j];
    mu[n++] = take_a ? ua[i++] : ub[j++];
  }
  for (unsigned k = 1; k < n; k++) {
    double gap = (double)(mu[k] - mu[k - 1]) / 1e6;
    if ((uint16_t)(m[k] - m[k - 1]) > 2 * r * gap + 256) return 1;
  }
  return 0;
}

/* The value of attribute at (at_len bytes) in a signature's part body
 * ("A=v%B=w%"), or NULL; *vlen its length. */
static const char *os_perport_attr(const char *body, size_t blen, const char *at, size_t at_len,
                                   size_t *vlen) {
  const char *p = body, *end = body + blen;
  while (p < end) {
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (!eq) return NULL;
    const char *pct = memchr(eq, '%', (size_t)(end - eq));
    if (!pct) pct = end;
    if ((size_t)(eq - p) == at_len && memcmp(p, at, at_len) == 0) {
      *vlen = (size_t)(pct - eq - 1);
      return eq + 1;
    }
    p = pct + 1;
  }
  return NULL;
}

/* The body of part name (nlen bytes) in signature sig: the text between
 * "NAME(" and ")", or for name "" the tail after the last part. */
static const char *os_perport_part(const char *sig, const char *name, size_t nlen, size_t *blen) {
  const char *p = sig;
  for (;;) {
    const char *open = strchr(p, '('), *close = open ? strchr(open, ')') : NULL;
    if (!open || !close) {
      if (nlen) return NULL;
      *blen = strlen(p);
      return p;
    }
    if (nlen && (size_t)(open - p) == nlen && memcmp(p, name, nlen) == 0) {
      *blen = (size_t)(close - open - 1);
      return open + 1;
    }
    p = close + 1;
  }
}

/* Whether bodies x and y disagree on an attribute both have. */
static int os_perport_body_differ(const char *x, size_t xl, const char *y, size_t yl) {
  const char *p = x, *end = x + xl;
  while (p < end) {
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (!eq) return 0;
    const char *pct = memchr(eq, '%', (size_t)(end - eq));
    if (!pct) pct = end;
    size_t yvl, xvl = (size_t)(pct - eq - 1);
    const char *yv = os_perport_attr(y, yl, p, (size_t)(eq - p), &yvl);
    if (yv && xvl && yvl && (xvl != yvl || memcmp(eq + 1, yv, xvl) != 0)) return 1;
    p = pct + 1;
  }
  return 0;
}

/* Two signatures (os_perport_sig_tests' form, then a tail of attributes)
 * differ when they disagree on something both observed. A part one side
 * has no answer for (no attributes, or R=N) is not compared: one try per
 * port sends each probe once, and a reply lost on a busy path must not
 * split one stack in two (seen under load: a port whose one lost reply
 * made it "a different stack"). The price: two stacks that differ only
 * in whether they answer some probe, and agree on everything else both
 * answered, look like one. */
static int os_perport_sig_differ(const char *a, const char *b) {
  const char *p = a;
  for (;;) {
    const char *open = strchr(p, '('), *close = open ? strchr(open, ')') : NULL;
    size_t al, bl;
    if (!open || !close) {
      const char *bt = os_perport_part(b, "", 0, &bl);
      return os_perport_body_differ(p, strlen(p), bt, bl);
    }
    const char *ab = open + 1;
    al = (size_t)(close - ab);
    const char *bb = os_perport_part(b, p, (size_t)(open - p), &bl);
    int silent = !bb || al == 0 || bl == 0 || (al == 4 && memcmp(ab, "R=N%", 4) == 0) ||
                 (bl == 4 && memcmp(bb, "R=N%", 4) == 0);
    if (!silent && os_perport_body_differ(ab, al, bb, bl)) return 1;
    p = close + 1;
  }
}

uint32_t os_perport_differ(const struct os_port_obs *a, const struct os_port_obs *b) {
  uint32_t d = 0;
  if (a->distance != b->distance || a->ittl != b->ittl) d |= OS_PP_DIST;
  if (os_perport_sig_differ(a->sig, b->sig)) d |= OS_PP_SYNACK;
  if (os_perport_ts_differ(a, b)) d |= OS_PP_TSCLOCK;
  if (os_perport_ipid_differ(a, b)) d |= OS_PP_IPID;
  if ((a->isr >= 0 && b->isr >= 0 && abs(a->isr - b->isr) > 24) ||
      (a->gcd_big >= 0 && b->gcd_big >= 0 && a->gcd_big != b->gcd_big))
    d |= OS_PP_ISN;
  if (a->closed_distance >= 0 && b->closed_distance >= 0 &&
      os_perport_sig_differ(a->closed, b->closed))
    d |= OS_PP_RST;
  return d;
}

const char *os_perport_signal_name(unsigned k) {
  static const char *const names[OS_PP_NSIG] = {
      "TTL/distance", "SYN+ACK", "timestamp clock", "IP ID counter", "ISN", "closed-port RST"};
  return k < OS_PP_NSIG ? names[k] : "?";
}

unsigned os_perport_group(struct os_port_obs *obs, size_t n) {
  unsigned ng = 0;
  size_t first[OS_PERPORT_MAX];
  for (size_t i = 0; i < n; i++) {
    unsigned g = 0;
    while (g < ng && os_perport_differ(&obs[first[g]], &obs[i]) != 0) g++;
    if (g == ng && ng < OS_PERPORT_MAX) first[ng++] = i;
    obs[i].group = (uint8_t)(g < ng ? g : ng - 1);
    obs[i].differs = ng > 0 && g > 0 ? os_perport_differ(&obs[first[0]], &obs[i]) : 0;
  }
  return ng;
}

/* ": differs from P/tcp in: a, b" after a group's line, and the clock
 * and IP ID class it was judged on. */
static size_t os_perport_evidence(char *text, size_t cap, size_t len,
                                  const struct os_port_obs *first,
                                  const struct os_port_obs *obs, size_t n) {
  double t0, v0, rate;
  if (len < cap && os_perport_ts_clock(first, &t0, &v0, &rate))
    len += (size_t)snprintf(text + len, cap - len, "; timestamps %.0f Hz", rate);
  else if (len < cap && first->seq.syn[0].has_ts)
    len += (size_t)snprintf(text + len, cap - len, "; timestamps: no one clock");
  if (len < cap && first->differs) {
    len += (size_t)snprintf(text + len, cap - len, "; differs from %u/tcp in:", n ? obs[0].port : 0);
    const char *sep = " ";
    for (unsigned k = 0; k < OS_PP_NSIG && len < cap; k++)
      if (first->differs & (1u << k)) {
        len += (size_t)snprintf(text + len, cap - len, "%s%s", sep, os_perport_signal_name(k));
        sep = ", ";
      }
  }
  return len < cap ? len : cap - 1;
}

int os_perport_report(struct host_result *h, const struct os_port_obs *obs, size_t n,
                      unsigned ngroups) {
  char text[2048];
  size_t len = 0;
  struct script_result *sr;
  if (ngroups <= 1)
    len += (size_t)snprintf(text, sizeof text, "%zu open port%s, one stack", n, n == 1 ? "" : "s");
  else
    len += (size_t)snprintf(text, sizeof text, "%zu open ports, %u stacks", n, ngroups);
  for (unsigned g = 0; g < ngroups && len < sizeof text; g++) {
    const struct os_port_obs *first = NULL;
    len += (size_t)snprintf(text + len, sizeof text - len, "\n  ");
    for (size_t i = 0; i < n && len < sizeof text; i++) {
      if (obs[i].group != g) continue;
      len += (size_t)snprintf(text + len, sizeof text - len, "%s%u", first ? "," : "", obs[i].port);
      if (!first) first = &obs[i];
    }
    if (len >= sizeof text || !first) break;
    len += (size_t)snprintf(text + len, sizeof text - len, "/tcp: %s%s", g ? "a different stack, " : "",
                            first->best[0] ? first->best : "no match");
    if (first->accuracy) len += (size_t)snprintf(text + len, sizeof text - len, " (%d%%)", first->accuracy);
    if (first->distance >= 0 && len < sizeof text)
      len += (size_t)snprintf(text + len, sizeof text - len, ", distance %d", first->distance);
    if (g && len < sizeof text)
      len += (size_t)snprintf(text + len, sizeof text - len, " (port forwarding?)");
    len = os_perport_evidence(text, sizeof text, len, first, obs, n);
  }
  const struct os_port_obs *like = NULL;
  for (size_t i = 0; n && obs[0].closed_distance >= 0 && i < n && !like; i++)
    if (obs[i].distance == obs[0].closed_distance && obs[i].ittl == obs[0].closed_ittl) like = &obs[i];
  if (n && obs[0].closed_distance >= 0 && len < sizeof text) {
    len += (size_t)snprintf(text + len, sizeof text - len, "\n  closed port: RST from distance %d",
                            obs[0].closed_distance);
    if (len < sizeof text && like)
      len += (size_t)snprintf(text + len, sizeof text - len, ", like %u/tcp", like->port);
    else if (len < sizeof text)
      len += (size_t)snprintf(text + len, sizeof text - len, ", like none of the open ports");
  }
  if (len >= sizeof text) len = sizeof text - 1;
  text[len] = '\0';
  if (!(sr = result_add_script(h, NULL, "os-per-port", text))) return -ENOMEM;
  if (n && obs[0].closed_distance >= 0) {
    char b[32];
    snprintf(b, sizeof b, "%d", obs[0].closed_distance);
    if (!snode_add_elem(&sr->tree, "closed_rst_distance", b)) return -ENOMEM;
    snprintf(b, sizeof b, "%u", like ? like->port : 0);
    if (!snode_add_elem(&sr->tree, "closed_rst_like", b)) return -ENOMEM;
  }
  for (unsigned g = 0; g < ngroups; g++) {
    struct script_node *t = snode_add_table(&sr->tree, NULL);
    if (!t) return -ENOMEM;
    struct script_node *ports = snode_add_table(t, "ports");
    const struct os_port_obs *first = NULL;
    char b[32];
    for (size_t i = 0; i < n; i++) {
      if (obs[i].group != g) continue;
      snprintf(b, sizeof b, "%u", obs[i].port);
      if (!ports || !snode_add_elem(ports, NULL, b)) return -ENOMEM;
      if (!first) first = &obs[i];
    }
    if (!first) continue;
    snprintf(b, sizeof b, "%d", first->distance);
    if (!snode_add_elem(t, "os", first->best) || !snode_add_elem(t, "distance", b)) return -ENOMEM;
    snprintf(b, sizeof b, "%d", first->accuracy);
    if (!snode_add_elem(t, "accuracy", b) || !snode_add_elem(t, "stack", first->sig)) return -ENOMEM;
    if (first->differs) {
      struct script_node *why = snode_add_table(t, "differs");
      if (!why) return -ENOMEM;
      for (unsigned k = 0; k < OS_PP_NSIG; k++)
        if ((first->differs & (1u << k)) && !snode_add_elem(why, NULL, os_perport_signal_name(k)))
          return -ENOMEM;
    }
  }
  return 0;
}
