/* output.c: dispatch to the output writers and the helpers they share
 * (port grouping, host names, time formats); see output.h. */
#include "output/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void output_init(struct output *o, const struct output_ops *ops, FILE *fp,
                 const struct output_opts *opts) {
  memset(o, 0, sizeof *o);
  o->fp = fp;
  o->ops = ops;
  if (opts) o->opts = *opts;
}

/* The first write error of an output is kept: from then on the output
 * writes nothing more (a full disk would only fail again) and every call
 * returns that error, so the caller can report it once and still feed
 * the other outputs. */
static int out_flush(struct output *o) {
  if (o->err) return o->err;
  errno = 0;
  if (fflush(o->fp) != 0 || ferror(o->fp)) o->err = errno > 0 ? -errno : -EIO;
  return o->err;
}

int output_begin(struct output *o, const struct scan_info *info) {
  o->info = info;
  if (o->err) return o->err;
  o->ops->begin(o);
  return out_flush(o);
}

int output_host(struct output *o, const struct host_result *h) {
  if (o->err) return o->err;
  o->ops->host(o, h);
  return out_flush(o);
}

int output_end(struct output *o, const struct scan_end *e) {
  if (o->err) return o->err;
  o->ops->end(o, e);
  return out_flush(o);
}

int output_raw(struct output *o, const char *text) {
  if (o->err) return o->err;
  fputs(text, o->fp);
  return out_flush(o);
}

static int out_rule_scripts(struct output *o, bool post, const struct script_result *r,
                            size_t n) {
  if (o->err) return o->err;
  if (n == 0 || r == NULL || o->ops->rule_scripts == NULL) return 0;
  o->ops->rule_scripts(o, post, r, n);
  return out_flush(o);
}

int output_prescript(struct output *o, const struct script_result *r, size_t n) {
  return out_rule_scripts(o, false, r, n);
}

int output_postscript(struct output *o, const struct script_result *r, size_t n) {
  return out_rule_scripts(o, true, r, n);
}

static void out_count(struct output_group *g, const char *reason,
                      uint64_t n) {
  if (reason == NULL) reason = "unknown";
  g->count += n;
  for (size_t i = 0; i < g->nreasons; i++) {
    if (strcmp(g->reasons[i].reason, reason) == 0) {
      g->reasons[i].count += n;
      return;
    }
  }
  if (g->nreasons < OUTPUT_MAX_REASONS) {
    g->reasons[g->nreasons].reason = reason;
    g->reasons[g->nreasons++].count = n;
  } else {
    g->reasons[OUTPUT_MAX_REASONS - 1].count += n;
  }
}

void output_summarize(const struct host_result *h, const struct output_opts *o,
                      struct output_summary *s) {
  memset(s, 0, sizeof *s);
  for (size_t i = 0; i < h->nports; i++)
    if ((unsigned)h->ports[i].state < PORT_NSTATES)
      out_count(&s->g[h->ports[i].proto][h->ports[i].state], h->ports[i].reason, 1);
  for (size_t i = 0; i < h->nbulk; i++)
    if ((unsigned)h->bulk[i].state < PORT_NSTATES)
      out_count(&s->g[h->bulk[i].proto][h->bulk[i].state], h->bulk[i].reason,
                h->bulk[i].count);
  for (int p = 0; p < PROTO_COUNT; p++) {
    for (int st = 0; st < PORT_NSTATES; st++) {
      struct output_group *g = &s->g[p][st];
      s->total += g->count;
      if (g->count == 0 || st == PORT_OPEN) continue;
      /* ports given only in bulk cannot be listed one by one */
      uint64_t listed = 0;
      for (size_t i = 0; i < h->nports; i++)
        listed += h->ports[i].proto == (enum scan_proto)p &&
                  h->ports[i].state == (enum port_state)st;
      g->hidden = g->count >= OUTPUT_EXTRAPORTS_MIN || listed < g->count ||
                  (o->open_only && st != PORT_OPEN_FILTERED);
      if (g->hidden) s->hidden += g->count;
    }
  }
}

bool output_port_shown(const struct output_summary *s,
                       const struct port_result *p) {
  if ((unsigned)p->state >= PORT_NSTATES) return false;
  return !s->g[p->proto][p->state].hidden;
}

static int out_port_cmp(const void *a, const void *b) {
  const struct port_result *x = *(const struct port_result *const *)a;
  const struct port_result *y = *(const struct port_result *const *)b;
  if (x->portid != y->portid) return x->portid < y->portid ? -1 : 1;
  return (int)x->proto - (int)y->proto;
}

const struct port_result **output_shown_ports(const struct host_result *h,
                                              const struct output_summary *s,
                                              size_t *n) {
  *n = 0;
  if (h->nports == 0) return NULL;
  const struct port_result **v = malloc(h->nports * sizeof *v);
  if (v == NULL) return NULL;
  for (size_t i = 0; i < h->nports; i++)
    if (output_port_shown(s, &h->ports[i])) v[(*n)++] = &h->ports[i];
  qsort(v, *n, sizeof *v, out_port_cmp);
  return v;
}

const char *output_host_name(const struct host_result *h) {
  for (size_t i = 0; i < h->nnames; i++)
    if (h->names[i].type == HOSTNAME_USER) return h->names[i].name;
  for (size_t i = 0; i < h->nnames; i++)
    if (h->names[i].type == HOSTNAME_PTR) return h->names[i].name;
  return NULL;
}

const char *const output_all_ext[4] = {".nmap", ".xml", ".gnmap", ".json"};

const char *output_ctime(int64_t t, char *buf, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm) == 0)
    snprintf(buf, len, "%lld", (long long)t);
  return buf;
}

const char *output_datetime(int64_t t, char *buf, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M %Z", &tm) == 0)
    snprintf(buf, len, "%lld", (long long)t);
  return buf;
}

const char *output_latency(int64_t us, char *buf, size_t len) {
  if (us < 0) us = 0;
  double s = (double)us / 1e6;
  /* digits after the point so that two significant digits show */
  int decimals = 1;
  for (double lim = 1.0; s < lim && decimals < 7; lim /= 10) decimals++;
  if (s >= 10) decimals = 0;
  snprintf(buf, len, "%.*f", decimals, s);
  return buf;
}

const char *output_mac(const uint8_t mac[6], char *buf, size_t len) {
  snprintf(buf, len, "%02X:%02X:%02X:%02X:%02X:%02X", mac[0], mac[1], mac[2],
           mac[3], mac[4], mac[5]);
  return buf;
}

/* ---- version detection (-sV) ------------------------------------------------ */

const char *output_service_cell(const struct output *o, const struct port_result *p, char *buf,
                                size_t len) {
  const struct port_version *v = p->version;
  bool guess = o->info && o->info->version_scan && p->state == PORT_OPEN && p->service &&
               (!v || !v->probed);
  snprintf(buf, len, "%s%s%s", v && v->ssl ? "ssl/" : "", p->service ? p->service : "unknown",
           guess ? "?" : "");
  return buf;
}

/* Appends " text" (no space first when the buffer is empty), cut at len. */
static void out_word(char *buf, size_t len, const char *pre, const char *text, const char *post) {
  size_t n = strlen(buf);
  if (n + 1 >= len) return;
  snprintf(buf + n, len - n, "%s%s%s%s", n ? " " : "", pre, text, post);
}

const char *output_version_cell(const struct port_result *p, char *buf, size_t len) {
  const struct port_version *v = p->version;
  if (len) buf[0] = 0;
  if (!v || !v->probed) return buf;
  if (v->product) out_word(buf, len, "", v->product, "");
  if (v->version) out_word(buf, len, "", v->version, "");
  if (v->extrainfo) out_word(buf, len, "(", v->extrainfo, ")");
  return buf;
}

/* Adds s to the list of distinct strings (at most max), keeping order. */
static void out_distinct(const char **list, size_t *n, size_t max, const char *s) {
  if (!s || !*s) return;
  for (size_t i = 0; i < *n; i++)
    if (strcmp(list[i], s) == 0) return;
  if (*n < max) list[(*n)++] = s;
}

#define OUT_INFO_MAX 16

static void out_info_field(char *buf, size_t len, const char *one, const char *many,
                           const char **v, size_t n) {
  if (n == 0) return;
  size_t l = strlen(buf);
  if (l + 1 >= len) return;
  l += (size_t)snprintf(buf + l, len - l, "%s%s: ", l ? "; " : "", n > 1 ? many : one);
  for (size_t i = 0; i < n && l + 1 < len; i++)
    l += (size_t)snprintf(buf + l, len - l, "%s%s", i ? ", " : "", v[i]);
}

const char *output_service_info(const struct host_result *h, char *buf, size_t len) {
  const char *hosts[OUT_INFO_MAX], *oss[OUT_INFO_MAX], *devs[OUT_INFO_MAX], *cpes[OUT_INFO_MAX];
  size_t nh = 0, no = 0, nd = 0, nc = 0;
  for (size_t i = 0; i < h->nports; i++) {
    const struct port_version *v = h->ports[i].version;
    if (!v || !v->probed) continue;
    out_distinct(hosts, &nh, OUT_INFO_MAX, v->hostname);
    out_distinct(oss, &no, OUT_INFO_MAX, v->ostype);
    out_distinct(devs, &nd, OUT_INFO_MAX, v->devicetype);
    /* the line names the platform: OS and hardware CPEs, not applications */
    for (size_t k = 0; k < v->ncpe; k++)
      if (strncmp(v->cpe[k], "cpe:/a:", 7) != 0) out_distinct(cpes, &nc, OUT_INFO_MAX, v->cpe[k]);
  }
  if (len) buf[0] = 0;
  out_info_field(buf, len, "Host", "Hosts", hosts, nh);
  out_info_field(buf, len, "OS", "OSs", oss, no);
  out_info_field(buf, len, "Device", "Devices", devs, nd);
  out_info_field(buf, len, "CPE", "CPE", cpes, nc);
  return buf;
}
