/* output-normal.c: Nmap's "normal" human-readable output (the terminal and
 * -oN), with trawl's name where Nmap's appears:
 *
 *   Starting trawl 0.1.0 at 2024-01-06 10:00 UTC
 *   Trawl scan report for lab.example (198.18.0.1)
 *   Host is up (0.0012s latency).
 *   Not shown: 997 closed tcp ports (reset)
 *   PORT   STATE SERVICE
 *   22/tcp open  ssh
 *   MAC Address: 02:00:00:00:00:01 (Unknown)
 *
 *   Trawl done: 1 IP address (1 host up) scanned in 0.52 seconds
 *
 * Pre- and postrule script results come as blocks of their own before the
 * first and after the last host ("Pre-scan script results:" and "| id:"
 * lines, as Nmap writes them).
 *
 * Text from the network (names, script output) is escaped so it cannot
 * drive the terminal: control bytes, C1 controls and invalid UTF-8 appear
 * as \xHH. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "output/output-os.h"
#include "core/utf8.h"
#include "core/version.h"

/* Writes s with control characters and invalid UTF-8 escaped; newlines are
 * kept only when keep_nl. */
static void nrm_puts(FILE *f, const char *s, bool keep_nl) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t n = strlen((const char *)p);
  while (n > 0) {
    uint32_t cp;
    size_t l = utf8_decode(p, n, &cp);
    if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      if (cp == '\n' && l == 1 && keep_nl) {
        fputc('\n', f);
      } else {
        if (l == 0) l = 1;
        for (size_t i = 0; i < l; i++) fprintf(f, "\\x%02x", p[i]);
      }
    } else {
      fwrite(p, 1, l, f);
    }
    p += l;
    n -= l;
  }
}

/* The display width of what nrm_puts would write (bytes of escapes count
 * 4, a valid multibyte character counts 1). */
static size_t nrm_width(const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t n = strlen((const char *)p), w = 0;
  while (n > 0) {
    uint32_t cp;
    size_t l = utf8_decode(p, n, &cp);
    if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
      w += 4 * (l ? l : 1), l = l ? l : 1;
    else
      w += 1;
    p += l;
    n -= l;
  }
  return w;
}

static void nrm_pad(FILE *f, const char *s, size_t width) {
  nrm_puts(f, s, false);
  for (size_t w = nrm_width(s); w < width; w++) fputc(' ', f);
}

static void nrm_begin(struct output *o) {
  char t[64];
  if (o->opts.to_file) {
    fprintf(o->fp, "# Trawl %s scan initiated %s as: ", TRAWL_VERSION,
            output_ctime(o->info->start_time, t, sizeof t));
    nrm_puts(o->fp, o->info->args, false);
    fputc('\n', o->fp);
  } else {
    fprintf(o->fp, "Starting %s %s at %s\n", TRAWL_NAME, TRAWL_VERSION,
            output_datetime(o->info->start_time, t, sizeof t));
  }
}

/* "NAME (ADDR)" or "ADDR" */
static void nrm_target(FILE *f, const struct host_result *h) {
  char a[INET6_ADDRSTRLEN];
  const char *name = output_host_name(h);
  tgt_addr_str(&h->addr, a, sizeof a);
  if (name != NULL) {
    nrm_puts(f, name, false);
    fprintf(f, " (%s)", a);
  } else {
    fputs(a, f);
  }
}

static void nrm_reason(FILE *f, const char *reason, int ttl) {
  nrm_puts(f, reason ? reason : "unknown", false);
  if (ttl > 0) fprintf(f, " ttl %d", ttl);
}

/* "syn-ack ttl 62": the REASON cell. */
static const char *nrm_reason_cell(const char *reason, int ttl, char *buf, size_t len) {
  if (ttl > 0) snprintf(buf, len, "%s ttl %d", reason ? reason : "unknown", ttl);
  else snprintf(buf, len, "%s", reason ? reason : "unknown");
  return buf;
}

/* Services that answered but matched nothing: their SF-Port fingerprints,
 * wrapped as Nmap wraps them (74 columns, continuation lines "SF:"), so
 * they can be submitted to Nmap's database. */
#define NRM_FP_LINE 74
static void nrm_fingerprints(FILE *f, const struct port_result *const *ports, size_t n,
                             size_t count) {
  fprintf(f, "%zu service%s unrecognized despite returning data. If you know the "
             "service/version, please submit the following fingerprint%s at "
             "https://nmap.org/cgi-bin/submit.cgi?new-service :\n",
          count, count == 1 ? "" : "s", count == 1 ? "" : "s");
  size_t done = 0;
  for (size_t i = 0; i < n; i++) {
    const char *fp = ports[i]->version ? ports[i]->version->fingerprint : NULL;
    if (!fp) continue;
    if (done++)
      fputs("==============NEXT SERVICE FINGERPRINT (SUBMIT INDIVIDUALLY)==============\n", f);
    size_t len = strlen(fp), first = len < NRM_FP_LINE ? len : NRM_FP_LINE;
    fwrite(fp, 1, first, f);
    fputc('\n', f);
    for (size_t at = first; at < len; at += NRM_FP_LINE - 3) {
      size_t l = len - at < NRM_FP_LINE - 3 ? len - at : NRM_FP_LINE - 3;
      fputs("SF:", f);
      fwrite(fp + at, 1, l, f);
      fputc('\n', f);
    }
  }
}

static void nrm_scripts(FILE *f, const struct script_result *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *out = s[i].output;
    size_t len = strlen(out);
    if (len > 0 && out[len - 1] == '\n') len--; /* one trailing newline */
    char *text = strndup(out, len);
    if (text == NULL) return;
    /* count lines */
    size_t lines = 1;
    for (char *c = text; *c; c++) lines += *c == '\n';
    char *line = text;
    for (size_t k = 0; k < lines; k++) {
      char *nl = strchr(line, '\n');
      if (nl) *nl = '\0';
      fputs(k + 1 == lines ? "|_" : "| ", f);
      if (k == 0) {
        nrm_puts(f, s[i].id, false);
        fputs(": ", f);
      }
      nrm_puts(f, line, false);
      fputc('\n', f);
      line = nl ? nl + 1 : line + strlen(line);
    }
    free(text);
  }
}

static void nrm_not_shown(FILE *f, const struct output_summary *s) {
  bool first = true;
  fputs("Not shown: ", f);
  for (int st = 0; st < PORT_NSTATES; st++) {
    for (int p = 0; p < PROTO_COUNT; p++) {
      const struct output_group *g = &s->g[p][st];
      if (!g->hidden) continue;
      fprintf(f, "%s%" PRIu64 " %s %s port%s (", first ? "" : ", ", g->count,
              port_state_name((enum port_state)st), proto_name((enum scan_proto)p),
              g->count == 1 ? "" : "s");
      for (size_t r = 0; r < g->nreasons; r++) {
        if (r) fputs(", ", f);
        if (g->nreasons > 1) fprintf(f, "%" PRIu64 " ", g->reasons[r].count);
        nrm_puts(f, g->reasons[r].reason, false);
      }
      fputc(')', f);
      first = false;
    }
  }
  fputc('\n', f);
}

static void nrm_ports(struct output *o, const struct host_result *h,
                      const struct output_summary *s) {
  FILE *f = o->fp;
  size_t n;
  const struct port_result **shown = output_shown_ports(h, s, &n);
  if (n == 0) {
    fprintf(f, "All %" PRIu64 " scanned ports on ", s->total);
    nrm_target(f, h);
    fputs(" are in ignored states.\n", f);
  }
  if (s->hidden > 0) nrm_not_shown(f, s);
  else if (n > 0) fputc('\n', f); /* Nmap's blank line where "Not shown" would be */
  if (n == 0) {
    free(shown);
    return;
  }
  /* column widths: the longest cell of each column, header included */
  char cell[32], svc[160], ver[1024], why[96];
  bool version = o->info && o->info->version_scan;
  size_t wport = 4, wstate = 5, wsvc = 7, wreason = 6;
  for (size_t i = 0; i < n; i++) {
    size_t l = (size_t)snprintf(cell, sizeof cell, "%u/%s", shown[i]->portid,
                                proto_name(shown[i]->proto));
    if (l > wport) wport = l;
    l = strlen(port_state_name(shown[i]->state));
    if (l > wstate) wstate = l;
    l = nrm_width(output_service_cell(o, shown[i], svc, sizeof svc));
    if (l > wsvc) wsvc = l;
    l = nrm_width(nrm_reason_cell(shown[i]->reason, shown[i]->reason_ttl, why, sizeof why));
    if (l > wreason) wreason = l;
  }
  nrm_pad(f, "PORT", wport + 1);
  nrm_pad(f, "STATE", wstate + 1);
  if (o->opts.reason || version) nrm_pad(f, "SERVICE", wsvc + 1);
  else fputs("SERVICE", f);
  if (o->opts.reason && version) nrm_pad(f, "REASON", wreason + 1);
  else if (o->opts.reason) fputs("REASON", f);
  if (version) fputs("VERSION", f);
  fputc('\n', f);
  size_t unrecognized = 0;
  for (size_t i = 0; i < n; i++) {
    const struct port_result *p = shown[i];
    snprintf(cell, sizeof cell, "%u/%s", p->portid, proto_name(p->proto));
    nrm_pad(f, cell, wport + 1);
    nrm_pad(f, port_state_name(p->state), wstate + 1);
    output_service_cell(o, p, svc, sizeof svc);
    output_version_cell(p, ver, sizeof ver);
    bool more = o->opts.reason || (version && ver[0]);
    if (more) nrm_pad(f, svc, wsvc + 1);
    else nrm_puts(f, svc, false);
    if (o->opts.reason) {
      nrm_reason_cell(p->reason, p->reason_ttl, why, sizeof why);
      if (version && ver[0]) nrm_pad(f, why, wreason + 1);
      else nrm_puts(f, why, false);
    }
    if (version && ver[0]) nrm_puts(f, ver, false);
    fputc('\n', f);
    nrm_scripts(f, p->scripts, p->nscripts);
    if (p->version && p->version->fingerprint) unrecognized++;
  }
  if (unrecognized) nrm_fingerprints(f, shown, n, unrecognized);
  free(shown);
}

/* --traceroute, as Nmap prints it: a table HOP RTT ADDRESS, hops shared
 * with an earlier host in one "-" line, silent hops as "..." in the RTT
 * column, a run of them as "... last". */
static size_t nrm_trace_silent(const struct host_trace *t, size_t k) {
  while (k + 1 < t->nhops && !t->hops[k + 1].addr[0]) k++;
  return k;
}

static void nrm_trace_rtt(const struct host_trace *t, size_t k, char *rtt, size_t cap) {
  const struct trace_hop *hp = &t->hops[k];
  size_t e = hp->addr[0] ? k : nrm_trace_silent(t, k);
  if (!hp->addr[0] && e > k) snprintf(rtt, cap, "... %d", t->hops[e].ttl);
  else if (!hp->addr[0]) snprintf(rtt, cap, "...");
  else if (hp->rtt_ms >= 0) snprintf(rtt, cap, "%.2f ms", hp->rtt_ms);
  else snprintf(rtt, cap, "--");
}

static void nrm_trace(FILE *f, const struct host_trace *t) {
  fputs("\nTRACEROUTE", f);
  if (t->direct) fputc('\n', f);
  else if (t->icmp) fprintf(f, " (using proto %u/%s)\n", t->icmp, t->icmp == 58 ? "ipv6-icmp" : "icmp");
  else fprintf(f, " (using port %u/%s)\n", t->port, proto_name(t->proto));
  size_t first = t->same_as[0] ? (size_t)t->same_upto : 0;
  char rtt[32];
  int wh = 3, wr = 3; /* "HOP", "RTT" */
  for (size_t k = first; k < t->nhops; k++) {
    int n = snprintf(rtt, sizeof rtt, "%d", t->hops[k].ttl);
    if (n > wh) wh = n;
    nrm_trace_rtt(t, k, rtt, sizeof rtt);
    if ((int)strlen(rtt) > wr) wr = (int)strlen(rtt);
    if (!t->hops[k].addr[0]) k = nrm_trace_silent(t, k);
  }
  fprintf(f, "%-*s %-*s ADDRESS\n", wh, "HOP", wr, "RTT");
  if (first > 0) {
    fprintf(f, "%-*s ", wh, "-");
    if (first == 1) fputs("Hop 1 is", f);
    else fprintf(f, "Hops 1-%zu are", first);
    fprintf(f, " the same as for %s\n", t->same_as);
  }
  for (size_t k = first; k < t->nhops; k++) {
    const struct trace_hop *hp = &t->hops[k];
    nrm_trace_rtt(t, k, rtt, sizeof rtt);
    if (!hp->addr[0]) {
      fprintf(f, "%-*d %s\n", wh, hp->ttl, rtt);
      k = nrm_trace_silent(t, k);
      continue;
    }
    fprintf(f, "%-*d %-*s ", wh, hp->ttl, wr, rtt);
    if (hp->name) {
      nrm_puts(f, hp->name, false);
      fprintf(f, " (%s)\n", hp->addr);
    } else {
      fprintf(f, "%s\n", hp->addr);
    }
  }
}

static void nrm_host(struct output *o, const struct host_result *h) {
  FILE *f = o->fp;
  char buf[64];
  if (h->status == HOST_UNKNOWN) { /* -sL: the target and its name only */
    fputs("Trawl scan report for ", f);
    nrm_target(f, h);
    fputc('\n', f);
    return;
  }
  if (h->status != HOST_UP) {
    if (o->opts.verbose < 1) return;
    fputs("Trawl scan report for ", f);
    nrm_target(f, h);
    fputs(" [host down", f);
    if (o->opts.reason && h->reason) {
      fputs(", received ", f);
      nrm_reason(f, h->reason, h->reason_ttl);
    }
    fputs("]\n", f);
    return;
  }
  fputs("Trawl scan report for ", f);
  nrm_target(f, h);
  fputs("\nHost is up", f);
  if (o->opts.reason && h->reason) {
    fputs(", received ", f);
    nrm_reason(f, h->reason, h->reason_ttl);
  }
  if (h->srtt_us >= 0) fprintf(f, " (%ss latency)", output_latency(h->srtt_us, buf, sizeof buf));
  fputs(".\n", f);
  /* a PTR name that differs from the name the user gave */
  const char *shown = output_host_name(h);
  for (size_t i = 0; i < h->nnames; i++) {
    if (h->names[i].type == HOSTNAME_PTR && shown && strcmp(shown, h->names[i].name) != 0) {
      char a[INET6_ADDRSTRLEN];
      fprintf(f, "rDNS record for %s: ", tgt_addr_str(&h->addr, a, sizeof a));
      nrm_puts(f, h->names[i].name, false);
      fputc('\n', f);
      break;
    }
  }
  if (h->timedout) fputs("Skipping host: host timeout expired\n", f);
  struct output_summary s;
  output_summarize(h, &o->opts, &s);
  if (s.total > 0) nrm_ports(o, h, &s);
  if (h->has_mac) {
    fprintf(f, "MAC Address: %s (", output_mac(h->mac, buf, sizeof buf));
    nrm_puts(f, h->mac_vendor ? h->mac_vendor : "Unknown", false);
    fputs(")\n", f);
  }
  output_os_normal(f, h, o->opts.verbose);
  char info[1024];
  if (*output_service_info(h, info, sizeof info)) {
    fputs("Service Info: ", f);
    nrm_puts(f, info, false);
    fputc('\n', f);
  }
  if (h->nhostscripts > 0) {
    fputs("\nHost script results:\n", f);
    nrm_scripts(f, h->hostscripts, h->nhostscripts);
  }
  if (h->trace) nrm_trace(f, h->trace);
  fputc('\n', f);
}

static void nrm_end(struct output *o, const struct scan_end *e) {
  char t[64];
  if (o->info && o->info->version_scan) fputs("Service detection performed.\n", o->fp);
  const char *why = e->errormsg ? e->errormsg : e->interrupted ? "interrupted" : NULL;
  if (e->seems_down && !o->opts.to_file)
    fputs("Note: Host seems down. If it is really up, but blocking our ping probes, try -Pn\n",
          o->fp);
  if (o->opts.to_file)
    fprintf(o->fp, "# Trawl done at %s", output_ctime(e->end_time, t, sizeof t));
  else
    fputs("Trawl done", o->fp);
  if (why) {
    fputs(" (", o->fp);
    nrm_puts(o->fp, why, false);
    fputc(')', o->fp);
  }
  fprintf(o->fp, "%s%" PRIu64 " IP address%s (%" PRIu64 " host%s up) scanned in %.2f seconds\n",
          o->opts.to_file ? " -- " : ": ", e->hosts_total, e->hosts_total == 1 ? "" : "es",
          e->hosts_up, e->hosts_up == 1 ? "" : "s", e->elapsed);
}

/* As Nmap: "Pre-scan script results:" after the "Starting" line, before
 * the first host; "Post-scan script results:" after the last host, before
 * "done"; each result as the "| id: ..." / "|_..." lines of a host's. */
static void nrm_rule_scripts(struct output *o, bool post, const struct script_result *r,
                             size_t n) {
  fputs(post ? "Post-scan script results:\n" : "Pre-scan script results:\n", o->fp);
  nrm_scripts(o->fp, r, n);
}

const struct output_ops output_normal_ops = {"normal", nrm_begin, nrm_host, nrm_end,
                                             nrm_rule_scripts};
