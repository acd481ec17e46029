/* output-xml.c: XML output (-oX) in Nmap's format, valid against Nmap's
 * DTD (nmap.dtd) and readable by Nmap's tools (ndiff, nmap.xsl).
 *
 * The DTD fixes <nmaprun scanner="nmap"> (an enumeration with that single
 * value), so a file valid under it must say "nmap" there; the program that
 * wrote it is named in the comment at the top ("Trawl 0.1.0 scan initiated
 * ... as: trawl ...") and in <finished summary="Trawl done at ...">; the
 * version attribute is trawl's.
 *
 * All text is escaped: markup characters as entities, newlines and tabs in
 * attributes as character references, and anything XML 1.0 cannot carry
 * at all (most control bytes, U+FFFE/U+FFFF, invalid UTF-8) as the text
 * \xHH. Hosts are written (and flushed) as they complete; <runstats> ends
 * the document also after an interruption (exit="error"). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "output/output-os.h"
#include "core/ports.h"
#include "core/utf8.h"
#include "core/version.h"

enum xml_ctx { XML_TEXT, XML_ATTR, XML_COMMENT };

static void xml_puts(FILE *f, const char *s, enum xml_ctx ctx) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t n = strlen((const char *)p);
  while (n > 0) {
    uint32_t cp;
    size_t l = utf8_decode(p, n, &cp);
    if (l == 0) { /* not UTF-8: keep the byte's value visible */
      fprintf(f, "\\x%02x", p[0]);
      p++, n--;
      continue;
    }
    if (ctx == XML_COMMENT) {
      if (cp == '-') fputs("&#45;", f); /* "--" may not occur in a comment */
      else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xfffe || cp == 0xffff)
        for (size_t i = 0; i < l; i++) fprintf(f, "\\x%02x", p[i]);
      else fwrite(p, 1, l, f);
    } else if (cp == '&') fputs("&amp;", f);
    else if (cp == '<') fputs("&lt;", f);
    else if (cp == '>') fputs("&gt;", f);
    else if (cp == '"') fputs("&quot;", f);
    else if (cp == '\'') fputs("&apos;", f);
    else if (cp == '\n') fputs(ctx == XML_ATTR ? "&#xa;" : "\n", f);
    else if (cp == '\t') fputs(ctx == XML_ATTR ? "&#x9;" : "\t", f);
    else if (cp == '\r') fputs("&#xd;", f);
    else if (cp < 0x20 || cp == 0xfffe || cp == 0xffff)
      for (size_t i = 0; i < l; i++) fprintf(f, "\\x%02x", p[i]);
    else if (cp >= 0x7f && cp < 0xa0) fprintf(f, "&#x%x;", cp);
    else fwrite(p, 1, l, f);
    p += l;
    n -= l;
  }
}

/* name="value" with a leading space */
static void xml_attr(FILE *f, const char *name, const char *value) {
  fprintf(f, " %s=\"", name);
  xml_puts(f, value, XML_ATTR);
  fputc('"', f);
}

static void xml_begin(struct output *o) {
  FILE *f = o->fp;
  char t[64], num[32];
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n", f);
  if (o->opts.stylesheet) {
    fputs("<?xml-stylesheet", f);
    xml_attr(f, "href", o->opts.stylesheet);
    fputs(" type=\"text/xsl\"?>\n", f);
  }
  output_ctime(o->info->start_time, t, sizeof t);
  fprintf(f, "<!-- Trawl %s scan initiated %s as: ", TRAWL_VERSION, t);
  xml_puts(f, o->info->args, XML_COMMENT);
  fputs(" -->\n<nmaprun scanner=\"nmap\"", f);
  xml_attr(f, "args", o->info->args);
  snprintf(num, sizeof num, "%lld", (long long)o->info->start_time);
  xml_attr(f, "start", num);
  xml_attr(f, "startstr", t);
  xml_attr(f, "version", TRAWL_VERSION);
  fputs(" xmloutputversion=\"1.05\">\n", f);
  for (size_t i = 0; i < o->info->ntypes; i++) {
    const struct scan_info_type *st = &o->info->types[i];
    char *svc = ports_format(st->ports, st->nports);
    fprintf(f, "<scaninfo type=\"%s\"", scan_type_name(st->type));
    if (st->scanflags >= 0) { /* Nmap's names, lowest bit first: FINSYN */
      static const char *const fl[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
      fputs(" scanflags=\"", f);
      for (int b = 0; b < 8; b++)
        if (st->scanflags & (1 << b)) fputs(fl[b], f);
      fputc('"', f);
    }
    fprintf(f, " protocol=\"%s\" numservices=\"%zu\"", proto_name(st->proto), st->nports);
    xml_attr(f, "services", svc ? svc : "");
    fputs("/>\n", f);
    free(svc);
  }
  fprintf(f, "<verbose level=\"%d\"/>\n<debugging level=\"%d\"/>\n",
          o->opts.verbose, o->opts.debug);
}

static void xml_node(FILE *f, const struct script_node *n) {
  const char *tag = n->kind == SNODE_TABLE ? "table" : "elem";
  fprintf(f, "<%s", tag);
  if (n->key) xml_attr(f, "key", n->key);
  if (n->kind == SNODE_ELEM) {
    fputc('>', f);
    xml_puts(f, n->value, XML_TEXT);
    fputs("</elem>\n", f);
    return;
  }
  fputs(">\n", f);
  for (size_t i = 0; i < n->nchild; i++) xml_node(f, &n->child[i]);
  fputs("</table>\n", f);
}

static void xml_scripts(FILE *f, const struct script_result *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    fputs("<script", f);
    xml_attr(f, "id", s[i].id);
    xml_attr(f, "output", s[i].output);
    if (s[i].tree.nchild == 0) {
      fputs("/>", f);
      continue;
    }
    fputs(">", f);
    for (size_t k = 0; k < s[i].tree.nchild; k++) xml_node(f, &s[i].tree.child[k]);
    fputs("</script>", f);
  }
}

/* <service>, in Nmap's attribute order; <cpe> children when version
 * detection matched. */
static void xml_service(FILE *f, const struct port_result *p) {
  const struct port_version *v = p->version;
  fputs("<service", f);
  xml_attr(f, "name", p->service ? p->service : "unknown");
  if (v && v->probed) {
    if (v->product) xml_attr(f, "product", v->product);
    if (v->version) xml_attr(f, "version", v->version);
    if (v->extrainfo) xml_attr(f, "extrainfo", v->extrainfo);
    if (v->hostname) xml_attr(f, "hostname", v->hostname);
    if (v->ostype) xml_attr(f, "ostype", v->ostype);
    if (v->devicetype) xml_attr(f, "devicetype", v->devicetype);
  }
  if (v && v->fingerprint) xml_attr(f, "servicefp", v->fingerprint);
  if (v && v->ssl) fputs(" tunnel=\"ssl\"", f);
  fprintf(f, " method=\"%s\" conf=\"%d\"", v && v->probed ? "probed" : "table",
          v && v->conf ? v->conf : v && v->probed ? 10 : 3);
  if (!v || !v->probed || v->ncpe == 0) {
    fputs("/>", f);
    return;
  }
  fputc('>', f);
  for (size_t i = 0; i < v->ncpe; i++) {
    fputs("<cpe>", f);
    xml_puts(f, v->cpe[i], XML_TEXT);
    fputs("</cpe>", f);
  }
  fputs("</service>", f);
}

static void xml_ports(FILE *f, const struct host_result *h,
                      const struct output_summary *s) {
  fputs("<ports>", f);
  for (int st = 0; st < PORT_NSTATES; st++) {
    uint64_t count = 0;
    for (int p = 0; p < PROTO_COUNT; p++)
      if (s->g[p][st].hidden) count += s->g[p][st].count;
    if (count == 0) continue;
    fprintf(f, "<extraports state=\"%s\" count=\"%" PRIu64 "\">\n",
            port_state_name((enum port_state)st), count);
    for (int p = 0; p < PROTO_COUNT; p++) {
      const struct output_group *g = &s->g[p][st];
      if (!g->hidden) continue;
      for (size_t r = 0; r < g->nreasons; r++) {
        fputs("<extrareasons", f);
        xml_attr(f, "reason", g->reasons[r].reason);
        fprintf(f, " count=\"%" PRIu64 "\" proto=\"%s\"/>\n", g->reasons[r].count,
                proto_name((enum scan_proto)p));
      }
    }
    fputs("</extraports>\n", f);
  }
  size_t n;
  const struct port_result **shown = output_shown_ports(h, s, &n);
  for (size_t i = 0; i < n; i++) {
    const struct port_result *p = shown[i];
    fprintf(f, "<port protocol=\"%s\" portid=\"%u\"><state state=\"%s\"",
            proto_name(p->proto), p->portid, port_state_name(p->state));
    xml_attr(f, "reason", p->reason ? p->reason : "unknown");
    fprintf(f, " reason_ttl=\"%d\"/>", p->reason_ttl);
    if (p->service || p->version) xml_service(f, p);
    xml_scripts(f, p->scripts, p->nscripts);
    fputs("</port>\n", f);
  }
  free(shown);
  fputs("</ports>\n", f);
}

/* --traceroute: <trace proto port><hop ttl ipaddr rtt host/></trace> as
 * nmap.dtd has it; shared hops are listed in full, silent ones left out. */
static void xml_trace(FILE *f, const struct host_trace *t) {
  fputs("<trace", f);
  if (t->icmp) fprintf(f, " proto=\"%s\"", t->icmp == 58 ? "ipv6-icmp" : "icmp");
  else if (!t->direct) fprintf(f, " port=\"%u\" proto=\"%s\"", t->port, proto_name(t->proto));
  fputs(">\n", f);
  for (size_t k = 0; k < t->nhops; k++) {
    const struct trace_hop *hp = &t->hops[k];
    if (!hp->addr[0]) continue;
    fprintf(f, "<hop ttl=\"%d\"", hp->ttl);
    xml_attr(f, "ipaddr", hp->addr);
    if (hp->rtt_ms >= 0) fprintf(f, " rtt=\"%.2f\"", hp->rtt_ms);
    if (hp->name) xml_attr(f, "host", hp->name);
    fputs("/>\n", f);
  }
  fputs("</trace>\n", f);
}

static void xml_host(struct output *o, const struct host_result *h) {
  FILE *f = o->fp;
  char a[INET6_ADDRSTRLEN], buf[64];
  if (h->status == HOST_DOWN && o->opts.verbose < 1) return; /* unknown: -sL */
  fputs("<host", f);
  if (h->start_time) fprintf(f, " starttime=\"%lld\"", (long long)h->start_time);
  if (h->end_time) fprintf(f, " endtime=\"%lld\"", (long long)h->end_time);
  if (h->timedout) fputs(" timedout=\"true\"", f);
  fprintf(f, "><status state=\"%s\"",
          h->status == HOST_UP ? "up" : h->status == HOST_DOWN ? "down" : "unknown");
  xml_attr(f, "reason", h->reason ? h->reason : "unknown");
  fprintf(f, " reason_ttl=\"%d\"/>\n", h->reason_ttl);
  fprintf(f, "<address addr=\"%s\" addrtype=\"%s\"/>\n", tgt_addr_str(&h->addr, a, sizeof a),
          h->addr.family == AF_INET6 ? "ipv6" : "ipv4");
  if (h->has_mac) {
    fprintf(f, "<address addr=\"%s\" addrtype=\"mac\"", output_mac(h->mac, buf, sizeof buf));
    if (h->mac_vendor) xml_attr(f, "vendor", h->mac_vendor);
    fputs("/>\n", f);
  }
  if (h->status == HOST_UNKNOWN && h->nnames == 0) { /* -sL, as Nmap: no <hostnames> */
    fputs("</host>\n", f);
    return;
  }
  fputs("<hostnames>\n", f);
  for (size_t i = 0; i < h->nnames; i++) {
    fputs("<hostname", f);
    xml_attr(f, "name", h->names[i].name);
    fprintf(f, " type=\"%s\"/>\n", h->names[i].type == HOSTNAME_PTR ? "PTR" : "user");
  }
  fputs("</hostnames>\n", f);
  struct output_summary s;
  output_summarize(h, &o->opts, &s);
  if (s.total > 0) xml_ports(f, h, &s);
  if (h->nhostscripts > 0) {
    fputs("<hostscript>", f);
    xml_scripts(f, h->hostscripts, h->nhostscripts);
    fputs("</hostscript>\n", f);
  }
  output_os_xml(f, h, xml_attr);
  if (h->distance >= 0) fprintf(f, "<distance value=\"%d\"/>\n", h->distance);
  if (h->trace) xml_trace(f, h->trace);
  if (h->srtt_us >= 0)
    fprintf(f, "<times srtt=\"%lld\" rttvar=\"%lld\" to=\"%lld\"/>\n", (long long)h->srtt_us,
            (long long)(h->rttvar_us < 0 ? 0 : h->rttvar_us),
            (long long)(h->timeout_us < 0 ? 0 : h->timeout_us));
  fputs("</host>\n", f);
}

static void xml_end(struct output *o, const struct scan_end *e) {
  FILE *f = o->fp;
  char t[64], summary[256];
  const char *why = e->errormsg ? e->errormsg : e->interrupted ? "interrupted" : NULL;
  output_ctime(e->end_time, t, sizeof t);
  snprintf(summary, sizeof summary,
           "Trawl done at %s; %" PRIu64 " IP address%s (%" PRIu64 " host%s up) scanned in %.2f seconds",
           t, e->hosts_total, e->hosts_total == 1 ? "" : "es", e->hosts_up,
           e->hosts_up == 1 ? "" : "s", e->elapsed);
  fprintf(f, "<runstats><finished time=\"%lld\"", (long long)e->end_time);
  xml_attr(f, "timestr", t);
  xml_attr(f, "summary", summary);
  fprintf(f, " elapsed=\"%.2f\" exit=\"%s\"", e->elapsed, why ? "error" : "success");
  if (why) xml_attr(f, "errormsg", why);
  fprintf(f, "/><hosts up=\"%" PRIu64 "\" down=\"%" PRIu64 "\" total=\"%" PRIu64 "\"/>\n",
          e->hosts_up, e->hosts_down, e->hosts_total);
  fputs("</runstats>\n</nmaprun>\n", f);
}

/* Nmap's <prescript>/<postscript>: children of <nmaprun> among the hosts
 * (the DTD allows them anywhere between <debugging> and <runstats>); Nmap
 * writes <prescript> before the first host and <postscript> after the
 * last, which is when the scan calls this. */
static void xml_rule_scripts(struct output *o, bool post, const struct script_result *r,
                             size_t n) {
  const char *tag = post ? "postscript" : "prescript";
  fprintf(o->fp, "<%s>", tag);
  xml_scripts(o->fp, r, n);
  fprintf(o->fp, "</%s>\n", tag);
}

const struct output_ops output_xml_ops = {"xml", xml_begin, xml_host, xml_end, xml_rule_scripts};
