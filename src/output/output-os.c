/* output-os.c: OS detection results in normal, XML and JSON output (see
 * output-os.h). The normal form groups the reported matches' classes the
 * way Nmap's summary lines do: device types, then "vendor family" with
 * their generations joined by '|', then the CPEs, each once. */
#include "output/output-os.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

/* At most this many distinct groups in a summary line. */
#define OS_OUT_GROUPS 16

static bool os_seen(const char *const *v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0) return true;
  return false;
}

/* "Device type: a|b" */
static void os_out_types(FILE *f, const struct os_result *os) {
  const char *seen[OS_OUT_GROUPS];
  size_t n = 0;
  for (size_t i = 0; i < os->nmatches; i++)
    for (size_t k = 0; k < os->matches[i].nclasses; k++) {
      const char *t = os->matches[i].classes[k].type;
      if (t && n < OS_OUT_GROUPS && !os_seen(seen, n, t)) seen[n++] = t;
    }
  if (!n) return;
  fputs("Device type: ", f);
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%s", i ? "|" : "", seen[i]);
  fputc('\n', f);
}

/* "Running: Linux 4.X|5.X, Vendor family" */
static void os_out_running(FILE *f, const struct os_result *os) {
  struct grp {
    const struct os_class_result *c; /* the first class of the group */
    const char *gens[OS_OUT_GROUPS];
    size_t ngens;
  } g[OS_OUT_GROUPS];
  size_t n = 0;
  for (size_t i = 0; i < os->nmatches; i++)
    for (size_t k = 0; k < os->matches[i].nclasses; k++) {
      const struct os_class_result *c = &os->matches[i].classes[k];
      if (!c->vendor || !c->family) continue;
      size_t j = 0;
      while (j < n && !(strcmp(g[j].c->vendor, c->vendor) == 0 &&
                        strcmp(g[j].c->family, c->family) == 0))
        j++;
      if (j == n) {
        if (n == OS_OUT_GROUPS) continue;
        g[n].c = c;
        g[n].ngens = 0;
        n++;
      }
      if (c->gen && g[j].ngens < OS_OUT_GROUPS && !os_seen(g[j].gens, g[j].ngens, c->gen))
        g[j].gens[g[j].ngens++] = c->gen;
    }
  if (!n) return;
  fputs("Running: ", f);
  for (size_t j = 0; j < n; j++) {
    fputs(j ? ", " : "", f);
    fputs(g[j].c->vendor, f);
    if (strcmp(g[j].c->vendor, g[j].c->family) != 0) fprintf(f, " %s", g[j].c->family);
    for (size_t k = 0; k < g[j].ngens; k++) fprintf(f, "%c%s", k ? '|' : ' ', g[j].gens[k]);
  }
  fputc('\n', f);
}

static void os_out_cpes(FILE *f, const struct os_result *os) {
  const char *seen[OS_OUT_GROUPS * 2];
  size_t n = 0;
  for (size_t i = 0; i < os->nmatches; i++)
    for (size_t k = 0; k < os->matches[i].nclasses; k++)
      for (size_t j = 0; j < os->matches[i].classes[k].ncpe; j++) {
        const char *c = os->matches[i].classes[k].cpe[j];
        if (n < OS_OUT_GROUPS * 2 && !os_seen(seen, n, c)) seen[n++] = c;
      }
  if (!n) return;
  fputs("OS CPE:", f);
  for (size_t i = 0; i < n; i++) fprintf(f, " %s", seen[i]);
  fputc('\n', f);
}

static void os_out_lastboot(char *buf, size_t cap, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  localtime_r(&tt, &tm);
  strftime(buf, cap, "%a %b %e %H:%M:%S %Y", &tm);
}

void output_os_normal(FILE *f, const struct host_result *h, int verbose) {
  const struct os_result *os = h->os;
  if (!os) return;
  if (os->unreliable)
    fputs("Warning: OSScan results may be unreliable because we could not find at least 1 "
          "open and 1 closed port\n",
          f);
  if (os->verdict == OS_RES_TOO_MANY) {
    fputs("Too many fingerprints match this host to give specific OS details\n", f);
    if (verbose >= 2 && os->fingerprint) fprintf(f, "TCP/IP fingerprint:\n%s\n\n", os->fingerprint);
  } else if (os->verdict == OS_RES_EXACT) {
    os_out_types(f, os);
    os_out_running(f, os);
    os_out_cpes(f, os);
    fputs("OS details: ", f);
    for (size_t i = 0; i < os->nmatches; i++) fprintf(f, "%s%s", i ? ", " : "", os->matches[i].name);
    fputc('\n', f);
  } else {
    /* guesses come without the class summary (as Nmap prints them) */
    if (os->verdict == OS_RES_GUESS) {
      fputs("Aggressive OS guesses: ", f);
      for (size_t i = 0; i < os->nmatches; i++)
        fprintf(f, "%s%s (%d%%)", i ? ", " : "", os->matches[i].name, os->matches[i].accuracy);
      fputc('\n', f);
    }
    if (os->fp_unfit) {
      fputs("No exact OS matches for host (test conditions non-ideal).\n", f);
    } else {
      fputs("No exact OS matches for host (If you know what OS is running on it, see "
            "https://nmap.org/submit/ ).\n",
            f);
      if (os->fingerprint) fprintf(f, "TCP/IP fingerprint:\n%s\n\n", os->fingerprint);
    }
  }
  if (verbose >= 1 && os->uptime_s >= 0) {
    char b[64];
    os_out_lastboot(b, sizeof b, os->lastboot);
    fprintf(f, "Uptime guess: %.3f days (since %s)\n", (double)os->uptime_s / 86400.0, b);
  }
  if (h->distance >= 0) fprintf(f, "Network Distance: %d hop%s\n", h->distance, h->distance == 1 ? "" : "s");
  if (verbose >= 1 && os->seq_difficulty)
    fprintf(f, "TCP Sequence Prediction: Difficulty=%d (%s)\n", os->seq_index, os->seq_difficulty);
  if (verbose >= 1 && os->ipid_class) fprintf(f, "IP ID Sequence Generation: %s\n", os->ipid_class);
}

static void os_xml_portused(FILE *f, const char *state, const char *proto,
                            const struct os_portused *p) {
  if (p->set)
    fprintf(f, "<portused state=\"%s\" proto=\"%s\" portid=\"%u\"/>\n", state, proto, p->port);
}

void output_os_xml(FILE *f, const struct host_result *h, output_os_attr_fn attr) {
  const struct os_result *os = h->os;
  if (!os) return;
  fputs("<os>", f);
  os_xml_portused(f, "open", "tcp", &os->open_tcp);
  os_xml_portused(f, "closed", "tcp", &os->closed_tcp);
  os_xml_portused(f, "closed", "udp", &os->closed_udp);
  for (size_t i = 0; i < os->nmatches; i++) {
    const struct os_match_item *m = &os->matches[i];
    fputs("<osmatch", f);
    attr(f, "name", m->name);
    fprintf(f, " accuracy=\"%d\" line=\"%u\">\n", m->accuracy, m->line);
    for (size_t k = 0; k < m->nclasses; k++) {
      const struct os_class_result *c = &m->classes[k];
      fputs("<osclass", f);
      if (c->type) attr(f, "type", c->type);
      attr(f, "vendor", c->vendor ? c->vendor : "");
      attr(f, "osfamily", c->family ? c->family : "");
      if (c->gen) attr(f, "osgen", c->gen);
      fprintf(f, " accuracy=\"%d\">", c->accuracy);
      for (size_t j = 0; j < c->ncpe; j++) fprintf(f, "<cpe>%s</cpe>", c->cpe[j]);
      fputs("</osclass>\n", f);
    }
    fputs("</osmatch>\n", f);
  }
  if (os->fingerprint && os->verdict != OS_RES_TOO_MANY) {
    fputs("<osfingerprint", f);
    attr(f, "fingerprint", os->fingerprint);
    fputs("/>\n", f);
  }
  fputs("</os>\n", f);
  if (os->uptime_s >= 0) {
    char b[64];
    os_out_lastboot(b, sizeof b, os->lastboot);
    fprintf(f, "<uptime seconds=\"%lld\"", (long long)os->uptime_s);
    attr(f, "lastboot", b);
    fputs("/>\n", f);
  }
  if (os->seq_difficulty && os->seq_values) {
    fprintf(f, "<tcpsequence index=\"%d\"", os->seq_index);
    attr(f, "difficulty", os->seq_difficulty);
    attr(f, "values", os->seq_values);
    fputs("/>\n", f);
  }
  if (os->ipid_class && os->ipid_values) {
    fputs("<ipidsequence", f);
    attr(f, "class", os->ipid_class);
    attr(f, "values", os->ipid_values);
    fputs("/>\n", f);
  }
  if (os->ts_class) {
    fputs("<tcptssequence", f);
    attr(f, "class", os->ts_class);
    if (os->ts_values) attr(f, "values", os->ts_values);
    fputs("/>\n", f);
  }
}

static void os_json_kv(FILE *f, output_os_str_fn str, const char *k, const char *v, bool comma) {
  if (comma) fputc(',', f);
  str(f, k);
  fputc(':', f);
  str(f, v);
}

void output_os_json(FILE *f, const struct os_result *os, output_os_str_fn str) {
  static const char *const verdicts[] = {"none", "exact", "guess", "too-many"};
  fputs("{\"verdict\":", f);
  str(f, verdicts[os->verdict]);
  fprintf(f, ",\"tries\":%d,\"unreliable\":%s,\"portused\":[", os->tries,
          os->unreliable ? "true" : "false");
  const struct {
    const char *state, *proto;
    const struct os_portused *p;
  } pu[] = {{"open", "tcp", &os->open_tcp}, {"closed", "tcp", &os->closed_tcp},
            {"closed", "udp", &os->closed_udp}};
  bool first = true;
  for (size_t i = 0; i < 3; i++) {
    if (!pu[i].p->set) continue;
    fprintf(f, "%s{\"state\":\"%s\",\"proto\":\"%s\",\"port\":%u}", first ? "" : ",",
            pu[i].state, pu[i].proto, pu[i].p->port);
    first = false;
  }
  fputs("],\"matches\":[", f);
  for (size_t i = 0; i < os->nmatches; i++) {
    const struct os_match_item *m = &os->matches[i];
    fputs(i ? ",{" : "{", f);
    os_json_kv(f, str, "name", m->name, false);
    fprintf(f, ",\"accuracy\":%d,\"line\":%u,\"classes\":[", m->accuracy, m->line);
    for (size_t k = 0; k < m->nclasses; k++) {
      const struct os_class_result *c = &m->classes[k];
      fputs(k ? ",{" : "{", f);
      os_json_kv(f, str, "vendor", c->vendor, false);
      os_json_kv(f, str, "family", c->family, true);
      if (c->gen) os_json_kv(f, str, "gen", c->gen, true);
      if (c->type) os_json_kv(f, str, "type", c->type, true);
      fprintf(f, ",\"accuracy\":%d,\"cpe\":[", c->accuracy);
      for (size_t j = 0; j < c->ncpe; j++) {
        if (j) fputc(',', f);
        str(f, c->cpe[j]);
      }
      fputs("]}", f);
    }
    fputs("]}", f);
  }
  fputc(']', f);
  if (os->fingerprint) os_json_kv(f, str, "fingerprint", os->fingerprint, true);
  if (os->uptime_s >= 0) fprintf(f, ",\"uptime\":%lld", (long long)os->uptime_s);
  if (os->uptime_s >= 0 && os->lastboot >= 0) fprintf(f, ",\"lastboot\":%lld", (long long)os->lastboot);
  if (os->seq_difficulty) {
    fprintf(f, ",\"tcpsequence\":{\"index\":%d", os->seq_index);
    os_json_kv(f, str, "difficulty", os->seq_difficulty, true);
    if (os->seq_values) os_json_kv(f, str, "values", os->seq_values, true);
    fputc('}', f);
  }
  if (os->ipid_class) {
    fputs(",\"ipidsequence\":{", f);
    os_json_kv(f, str, "class", os->ipid_class, false);
    if (os->ipid_values) os_json_kv(f, str, "values", os->ipid_values, true);
    fputc('}', f);
  }
  if (os->ts_class) {
    fputs(",\"tcptssequence\":{", f);
    os_json_kv(f, str, "class", os->ts_class, false);
    if (os->ts_values) os_json_kv(f, str, "values", os->ts_values, true);
    fputc('}', f);
  }
  fputc('}', f);
}
