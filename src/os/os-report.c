/* os-report.c: a host's OS detection answer as struct os_result (see
 * os-report.h). */
#include "os/os-report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/version.h"

/* Width of a submission line after "OS:". */
#define OS_LINE_WIDTH 71

uint32_t os_report_score(const struct os_match_result *res) {
  if (!res || res->n == 0) return 0;
  return (uint32_t)(os_match_accuracy(&res->m[0]) * 1e6);
}

static int os_report_pct(const struct os_match *m) {
  return (int)(os_match_accuracy(m) * 100.0 + 1e-9);
}

/* 1. the SCAN line, then the tests without line breaks, cut into lines */
size_t os_report_fingerprint(const struct os_report_ctx *c, const struct os_fp *fp, char *buf,
                             size_t cap) {
  char flat[4096];
  struct tm tm;
  time_t now = (time_t)c->now;
  gmtime_r(&now, &tm);
  int n = snprintf(flat, sizeof flat, "SCAN(V=%s%%E=4%%D=%d/%d%%", TRAWL_VERSION, tm.tm_mon + 1,
                   tm.tm_mday);
  if (c->ot.set) n += snprintf(flat + n, sizeof flat - (size_t)n, "OT=%u%%", c->ot.port);
  else n += snprintf(flat + n, sizeof flat - (size_t)n, "OT=%%");
  if (c->ct.set) n += snprintf(flat + n, sizeof flat - (size_t)n, "CT=%u%%", c->ct.port);
  if (c->cu.set) n += snprintf(flat + n, sizeof flat - (size_t)n, "CU=%u%%", c->cu.port);
  n += snprintf(flat + n, sizeof flat - (size_t)n, "PV=%c%%", c->private_addr ? 'Y' : 'N');
  if (c->hops >= 0)
    n += snprintf(flat + n, sizeof flat - (size_t)n, "DS=%d%%DC=%c%%", c->hops + 1,
                  c->dc ? c->dc : 'I');
  n += snprintf(flat + n, sizeof flat - (size_t)n, "G=%c%%", c->unfit ? 'N' : 'Y');
  if (c->has_mac)
    n += snprintf(flat + n, sizeof flat - (size_t)n, "M=%02X%02X%02X%%", c->mac[0], c->mac[1],
                  c->mac[2]);
  n += snprintf(flat + n, sizeof flat - (size_t)n, "TM=%llX%%P=%s)",
                (unsigned long long)c->now, c->platform ? c->platform : "unknown");
  size_t len = (size_t)n < sizeof flat ? (size_t)n : sizeof flat - 1;
  len += os_fp_format(fp, flat + len, sizeof flat - len);
  if (len >= sizeof flat) len = sizeof flat - 1;
  /* drop the line breaks between tests */
  size_t k = 0;
  for (size_t i = 0; i < len; i++)
    if (flat[i] != '\n') flat[k++] = flat[i];
  size_t out = 0;
  for (size_t i = 0; i < k; i += OS_LINE_WIDTH) {
    size_t w = k - i < OS_LINE_WIDTH ? k - i : OS_LINE_WIDTH;
    int m = snprintf(buf && out < cap ? buf + out : NULL, out < cap ? cap - out : 0, "%sOS:%.*s",
                     i ? "\n" : "", (int)w, flat + i);
    out += (size_t)m;
  }
  return out;
}

/* 2. the classes of the SEQ test that Nmap names */
static const char *os_ipid_name(const char *v) {
  if (!v) return NULL;
  if (!strcmp(v, "Z")) return "All zeros";
  if (!strcmp(v, "I")) return "Incremental";
  if (!strcmp(v, "RI")) return "Randomized";
  if (!strcmp(v, "RD")) return "Random positive increments";
  if (!strcmp(v, "BI")) return "Broken little-endian incremental";
  return "Busy server or unknown class";
}

static char *os_ts_name(const char *v) {
  if (!v) return NULL;
  if (!strcmp(v, "U")) return strdup("none returned (unsupported)");
  if (!strcmp(v, "0")) return strdup("zero timestamp");
  unsigned long x = strtoul(v, NULL, 16);
  char b[32];
  if (x == 1) snprintf(b, sizeof b, "2HZ");
  else if (x == 7) snprintf(b, sizeof b, "100HZ");
  else if (x == 8) snprintf(b, sizeof b, "200HZ");
  else if (x == 10) snprintf(b, sizeof b, "1000HZ");
  else if (x < 10) snprintf(b, sizeof b, "%luHZ", 1ul << x);
  else snprintf(b, sizeof b, "other");
  return strdup(b);
}

/* 3. one reported match with the classes and CPEs of its entry */
static int os_report_match(struct os_result *out, const struct osdb *db, const struct os_match *m) {
  const struct osdb_fp *e = osdb_entry(db, m->entry);
  int pct = os_report_pct(m);
  struct os_match_item *it = os_result_add_match(out, osdb_str(db, e->name), pct, e->line);
  if (!it) return -ENOMEM;
  for (unsigned k = 0; k < e->nclass; k++) {
    const struct osdb_class *cl = osdb_class(db, e, k);
    struct os_class_result *cr =
        os_result_add_class(it, osdb_str(db, cl->type), osdb_str(db, cl->vendor),
                            osdb_str(db, cl->family), osdb_str(db, cl->gen), pct);
    if (!cr) return -ENOMEM;
    /* each CPE line belongs to the Class line before it */
    for (unsigned j = 0; j < e->ncpe; j++) {
      const struct osdb_cpe *cp = osdb_cpe(db, e, j);
      if (cp->cls != k) continue;
      if (os_result_add_cpe(cr, osdb_str(db, cp->text)) < 0) return -ENOMEM;
    }
  }
  return 0;
}

/* "A,B,C": the values of the samples that came, hex */
static char *os_report_values(const struct os_seq_in *q, int what) {
  char b[OS_SEQ_PROBES * 10 + 1];
  size_t n = 0;
  b[0] = '\0';
  for (int k = 0; k < OS_SEQ_PROBES; k++) {
    const struct os_seq_sample *sm = &q->syn[k];
    if (!sm->got || (what == 2 && !sm->has_ts)) continue;
    uint32_t v = what == 0 ? sm->isn : what == 1 ? sm->ipid : sm->tsval;
    n += (size_t)snprintf(b + n, sizeof b - n, "%s%X", n ? "," : "", v);
  }
  return n ? strdup(b) : NULL;
}

static const char *os_difficulty(int index) {
  if (index < 3) return "Trivial joke";
  if (index < 6) return "Easy";
  if (index < 11) return "Medium";
  if (index < 12) return "Formidable";
  if (index < 16) return "Worthy challenge";
  return "Good luck!";
}

static void os_report_seq(struct os_result *out, const struct os_report_ctx *c,
                          const struct os_fp *fp) {
  const char *sp = os_fp_get(fp, OSDB_SEQ, "SP");
  if (sp && c->seq) {
    out->seq_index = (int)strtol(sp, NULL, 16);
    out->seq_difficulty = strdup(os_difficulty(out->seq_index));
    out->seq_values = os_report_values(c->seq, 0);
  }
  if (c->seq && out->ipid_class) out->ipid_values = os_report_values(c->seq, 1);
  if (c->seq && out->ts_class) out->ts_values = os_report_values(c->seq, 2);
  const char *ts = os_fp_get(fp, OSDB_SEQ, "TS");
  unsigned long x = ts ? strtoul(ts, NULL, 16) : 0;
  unsigned hz = x == 1 ? 2 : x == 7 ? 100 : x == 8 ? 200 : x == 10 ? 1000 : 0;
  if (!hz || !c->seq) return;
  for (int k = OS_SEQ_PROBES - 1; k >= 0; k--)
    if (c->seq->syn[k].got && c->seq->syn[k].has_ts) {
      out->uptime_s = c->seq->syn[k].tsval / hz;
      out->lastboot = c->now - out->uptime_s;
      return;
    }
}

int os_report_fill(struct os_result *out, const struct os_report_ctx *c, const struct os_fp *fp,
                   const struct os_match_result *res) {
  out->open_tcp = c->ot;
  out->closed_tcp = c->ct;
  out->closed_udp = c->cu;
  out->fp_unfit = c->unfit != 0;
  switch (os_match_verdict(res, c->guess, c->unfit)) {
  case OS_VERDICT_EXACT: out->verdict = OS_RES_EXACT; break;
  case OS_VERDICT_GUESS: out->verdict = OS_RES_GUESS; break;
  default: out->verdict = OS_RES_NONE; break;
  }
  if (out->verdict == OS_RES_EXACT && res->nexact > OS_REPORT_TOO_MANY) out->verdict = OS_RES_TOO_MANY;
  size_t nrep = out->verdict == OS_RES_EXACT ? res->nexact : out->verdict == OS_RES_GUESS ? res->n : 0;
  if (nrep > OS_REPORT_MAX) nrep = OS_REPORT_MAX;
  for (size_t i = 0; i < nrep; i++)
    if (os_report_match(out, c->db, &res->m[i]) < 0) return -ENOMEM;
  if (out->verdict != OS_RES_EXACT) {
    size_t need = os_report_fingerprint(c, fp, NULL, 0);
    if (!(out->fingerprint = malloc(need + 1))) return -ENOMEM;
    os_report_fingerprint(c, fp, out->fingerprint, need + 1);
  }
  const char *ti = os_fp_get(fp, OSDB_SEQ, "TI");
  if (!ti) ti = os_fp_get(fp, OSDB_SEQ, "II");
  const char *ipid = os_ipid_name(ti);
  if (ipid && !(out->ipid_class = strdup(ipid))) return -ENOMEM;
  out->ts_class = os_ts_name(os_fp_get(fp, OSDB_SEQ, "TS"));
  os_report_seq(out, c, fp);
  return 0;
}
