/* output-grep.c: Nmap's grepable output (-oG), one line per host and
 * facet, with "trawl" where the format names the program:
 *
 *   # Trawl 0.1.0 scan initiated Sat Jan  6 10:00:00 2024 as: trawl -oG - ...
 *   Host: 198.18.0.1 (lab.example)	Status: Up
 *   Host: 198.18.0.1 (lab.example)	Ports: 22/open/tcp//ssh///, 80/closed/tcp//http///	Ignored State: closed (998)
 *   # Trawl done at Sat Jan  6 10:00:01 2024 -- 1 IP address (1 host up) scanned in 0.50 seconds
 *
 * A port entry is port/state/protocol/owner/service/rpc/version/. The
 * format has no quoting, so text from the network is made safe for it:
 * control bytes, invalid UTF-8, and the field separators '/' and ',' are
 * written as \xHH ('/' in a service name as '|', as Nmap does). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "core/ports.h"
#include "core/utf8.h"
#include "core/version.h"

static void grp_puts(FILE *f, const char *s, bool in_port) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t n = strlen((const char *)p);
  while (n > 0) {
    uint32_t cp;
    size_t l = utf8_decode(p, n, &cp);
    if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (in_port && cp == ',')) {
      if (l == 0) l = 1;
      for (size_t i = 0; i < l; i++) fprintf(f, "\\x%02x", p[i]);
    } else if (in_port && cp == '/') {
      fputc('|', f);
    } else {
      fwrite(p, 1, l, f);
    }
    p += l;
    n -= l;
  }
}

static void grp_begin(struct output *o) {
  char t[64];
  fprintf(o->fp, "# Trawl %s scan initiated %s as: ", TRAWL_VERSION,
          output_ctime(o->info->start_time, t, sizeof t));
  grp_puts(o->fp, o->info->args, false);
  fputc('\n', o->fp);
  if (o->opts.verbose < 1) return;
  /* "# Ports scanned: TCP(n;list) UDP(n;list) SCTP(0;) PROTOCOLS(0;)" */
  fputs("# Ports scanned:", o->fp);
  for (int p = 0; p < PROTO_COUNT; p++) {
    const struct scan_info_type *st = NULL;
    for (size_t i = 0; i < o->info->ntypes; i++)
      if (o->info->types[i].proto == (enum scan_proto)p) st = &o->info->types[i];
    char *list = st ? ports_format(st->ports, st->nports) : NULL;
    fprintf(o->fp, " %s(%zu;%s)", p == PROTO_TCP ? "TCP" : "UDP", st ? st->nports : 0,
            list ? list : "");
    free(list);
  }
  fputs(" SCTP(0;) PROTOCOLS(0;)\n", o->fp);
}

static void grp_prefix(FILE *f, const struct host_result *h) {
  char a[INET6_ADDRSTRLEN];
  const char *name = output_host_name(h);
  fprintf(f, "Host: %s (", tgt_addr_str(&h->addr, a, sizeof a));
  if (name) grp_puts(f, name, false);
  fputs(")\t", f);
}

static void grp_host(struct output *o, const struct host_result *h) {
  FILE *f = o->fp;
  if (h->status == HOST_DOWN && o->opts.verbose < 1) return; /* unknown: -sL */
  grp_prefix(f, h);
  fprintf(f, "Status: %s\n", h->status == HOST_UP ? "Up" : h->status == HOST_DOWN ? "Down" : "Unknown");
  if (h->status != HOST_UP) return;
  struct output_summary s;
  output_summarize(h, &o->opts, &s);
  if (s.total == 0) return;
  grp_prefix(f, h);
  fputs("Ports: ", f);
  bool first = true;
  size_t n;
  const struct port_result **shown = output_shown_ports(h, &s, &n);
  for (size_t i = 0; i < n; i++) {
    const struct port_result *p = shown[i];
    fprintf(f, "%s%u/%s/%s//", first ? "" : ", ", p->portid, port_state_name(p->state),
            proto_name(p->proto));
    char svc[160], ver[1024];
    grp_puts(f, p->service || p->version ? output_service_cell(o, p, svc, sizeof svc) : "", true);
    fputs("//", f);
    grp_puts(f, output_version_cell(p, ver, sizeof ver), true);
    fputs("/", f);
    first = false;
  }
  free(shown);
  /* the largest hidden state, as Nmap reports one */
  int best_p = -1, best_st = -1;
  uint64_t best = 0;
  for (int st = 0; st < PORT_NSTATES; st++) {
    uint64_t c = 0;
    for (int p = 0; p < PROTO_COUNT; p++)
      if (s.g[p][st].hidden) c += s.g[p][st].count;
    if (c > best) best = c, best_st = st, best_p = 0;
  }
  if (best_p >= 0)
    fprintf(f, "\tIgnored State: %s (%" PRIu64 ")", port_state_name((enum port_state)best_st), best);
  fputc('\n', f);
}

static void grp_end(struct output *o, const struct scan_end *e) {
  char t[64];
  const char *why = e->errormsg ? e->errormsg : e->interrupted ? "interrupted" : NULL;
  fprintf(o->fp, "# Trawl done at %s", output_ctime(e->end_time, t, sizeof t));
  if (why) {
    fputs(" (", o->fp);
    grp_puts(o->fp, why, false);
    fputc(')', o->fp);
  }
  fprintf(o->fp, " -- %" PRIu64 " IP address%s (%" PRIu64 " host%s up) scanned in %.2f seconds\n",
          e->hosts_total, e->hosts_total == 1 ? "" : "es", e->hosts_up,
          e->hosts_up == 1 ? "" : "s", e->elapsed);
}

/* No pre/postrule script results: Nmap's grepable output has none. */
const struct output_ops output_grep_ops = {"grepable", grp_begin, grp_host, grp_end, NULL};
