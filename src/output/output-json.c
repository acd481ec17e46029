/* output-json.c: JSON Lines output (-oJ): one JSON object per line, a
 * "scan" record first, a "prescript" record when prerule scripts gave
 * output, one "host" record per host as it completes, a "postscript"
 * record for postrule script output, a "done" record last (also after
 * an interruption, with "exit":"error"). The schema is documented in
 * docs/output-json.md.
 *
 * Strings: valid UTF-8 passes through; '"', '\\' and control characters
 * (C0 and C1) are escaped; each byte that is not part of valid UTF-8 is written as
 * \u00XX (its value as a code point), so every line is valid JSON. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "output/output-os.h"
#include "core/ports.h"
#include "core/utf8.h"
#include "core/version.h"

static void js_str(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t n = strlen((const char *)p);
  fputc('"', f);
  while (n > 0) {
    uint32_t cp;
    size_t l = utf8_decode(p, n, &cp);
    if (l == 0) {
      fprintf(f, "\\u%04x", p[0]);
      l = 1;
    } else if (cp == '"') fputs("\\\"", f);
    else if (cp == '\\') fputs("\\\\", f);
    else if (cp == '\n') fputs("\\n", f);
    else if (cp == '\r') fputs("\\r", f);
    else if (cp == '\t') fputs("\\t", f);
    else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) fprintf(f, "\\u%04x", cp);
    else fwrite(p, 1, l, f);
    p += l;
    n -= l;
  }
  fputc('"', f);
}

static void js_key(FILE *f, bool *first, const char *key) {
  if (!*first) fputc(',', f);
  *first = false;
  js_str(f, key);
  fputc(':', f);
}

static void js_begin(struct output *o) {
  FILE *f = o->fp;
  fputs("{\"type\":\"scan\",\"scanner\":\"trawl\",\"version\":", f);
  js_str(f, TRAWL_VERSION);
  fputs(",\"args\":", f);
  js_str(f, o->info->args);
  fprintf(f, ",\"start\":%lld,\"verbose\":%d,\"debugging\":%d,\"scaninfo\":[",
          (long long)o->info->start_time, o->opts.verbose, o->opts.debug);
  for (size_t i = 0; i < o->info->ntypes; i++) {
    const struct scan_info_type *st = &o->info->types[i];
    char *list = ports_format(st->ports, st->nports);
    fprintf(f, "%s{\"type\":\"%s\",\"protocol\":\"%s\",\"numservices\":%zu,\"services\":",
            i ? "," : "", scan_type_name(st->type), proto_name(st->proto), st->nports);
    js_str(f, list ? list : "");
    fputc('}', f);
    free(list);
  }
  fputs("]}\n", f);
}

/* A script tree: a table whose children all have keys is an object; any
 * other table is an array, in which a keyed child is wrapped as a
 * one-member object {"key": value}. Elems are strings. */
static void js_node(FILE *f, const struct script_node *n) {
  if (n->kind == SNODE_ELEM) {
    js_str(f, n->value);
    return;
  }
  bool all_keyed = n->nchild > 0;
  for (size_t i = 0; i < n->nchild; i++) all_keyed = all_keyed && n->child[i].key;
  fputc(all_keyed ? '{' : '[', f);
  for (size_t i = 0; i < n->nchild; i++) {
    const struct script_node *c = &n->child[i];
    if (i) fputc(',', f);
    if (c->key) {
      if (!all_keyed) fputc('{', f);
      js_str(f, c->key);
      fputc(':', f);
    }
    js_node(f, c);
    if (c->key && !all_keyed) fputc('}', f);
  }
  fputc(all_keyed ? '}' : ']', f);
}

static void js_scripts(FILE *f, const struct script_result *s, size_t n) {
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    fputs(i ? ",{\"id\":" : "{\"id\":", f);
    js_str(f, s[i].id);
    fputs(",\"output\":", f);
    js_str(f, s[i].output);
    if (s[i].tree.nchild > 0) {
      fputs(",\"data\":", f);
      js_node(f, &s[i].tree);
    }
    fputc('}', f);
  }
  fputc(']', f);
}

/* "service": the same fields as Nmap's <service> (output-json.md). */
static void js_service(FILE *f, const struct port_result *p) {
  const struct port_version *v = p->version;
  fputs(",\"service\":{\"name\":", f);
  js_str(f, p->service ? p->service : "unknown");
  if (v && v->probed) {
    const char *keys[] = {"product", "version", "extrainfo", "hostname", "ostype", "devicetype"};
    const char *vals[] = {v->product, v->version, v->extrainfo, v->hostname, v->ostype, v->devicetype};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      if (!vals[i]) continue;
      fprintf(f, ",\"%s\":", keys[i]);
      js_str(f, vals[i]);
    }
  }
  if (v && v->ssl) fputs(",\"tunnel\":\"ssl\"", f);
  fprintf(f, ",\"method\":\"%s\",\"conf\":%d", v && v->probed ? "probed" : "table",
          v && v->conf ? v->conf : v && v->probed ? 10 : 3);
  if (v && v->probed && v->ncpe) {
    fputs(",\"cpe\":[", f);
    for (size_t i = 0; i < v->ncpe; i++) {
      if (i) fputc(',', f);
      js_str(f, v->cpe[i]);
    }
    fputc(']', f);
  }
  if (v && v->fingerprint) {
    fputs(",\"servicefp\":", f);
    js_str(f, v->fingerprint);
  }
  fputc('}', f);
}

/* --traceroute: {"proto","port","hops":[{"ttl","ipaddr","rtt","host"}],
 * "same_as","same_upto"}; a silent hop has no ipaddr. */
static void js_trace(FILE *f, const struct host_trace *t) {
  fprintf(f, "{\"proto\":\"%s\"",
          t->icmp ? (t->icmp == 58 ? "ipv6-icmp" : "icmp") : proto_name(t->proto));
  if (!t->icmp) fprintf(f, ",\"port\":%u", t->port);
  if (t->direct) fputs(",\"direct\":true", f);
  if (t->same_as[0]) {
    fputs(",\"same_as\":", f);
    js_str(f, t->same_as);
    fprintf(f, ",\"same_upto\":%d", t->same_upto);
  }
  fputs(",\"hops\":[", f);
  for (size_t k = 0; k < t->nhops; k++) {
    const struct trace_hop *hp = &t->hops[k];
    fprintf(f, "%s{\"ttl\":%d", k ? "," : "", hp->ttl);
    if (hp->addr[0]) {
      fputs(",\"ipaddr\":", f);
      js_str(f, hp->addr);
      if (hp->rtt_ms >= 0) fprintf(f, ",\"rtt\":%.3f", hp->rtt_ms);
    }
    if (hp->name) {
      fputs(",\"host\":", f);
      js_str(f, hp->name);
    }
    fputc('}', f);
  }
  fputs("]}", f);
}

static void js_host(struct output *o, const struct host_result *h) {
  FILE *f = o->fp;
  char a[INET6_ADDRSTRLEN], buf[64];
  bool first = true;
  if (h->status == HOST_DOWN && o->opts.verbose < 1) return; /* unknown: -sL */
  fputc('{', f);
  js_key(f, &first, "type");
  fputs("\"host\"", f);
  js_key(f, &first, "addr");
  js_str(f, tgt_addr_str(&h->addr, a, sizeof a));
  js_key(f, &first, "addrtype");
  fputs(h->addr.family == AF_INET6 ? "\"ipv6\"" : "\"ipv4\"", f);
  if (h->has_mac) {
    js_key(f, &first, "mac");
    js_str(f, output_mac(h->mac, buf, sizeof buf));
    if (h->mac_vendor) {
      js_key(f, &first, "mac_vendor");
      js_str(f, h->mac_vendor);
    }
  }
  js_key(f, &first, "hostnames");
  fputc('[', f);
  for (size_t i = 0; i < h->nnames; i++) {
    fputs(i ? ",{\"name\":" : "{\"name\":", f);
    js_str(f, h->names[i].name);
    fprintf(f, ",\"type\":\"%s\"}", h->names[i].type == HOSTNAME_PTR ? "PTR" : "user");
  }
  fputc(']', f);
  js_key(f, &first, "status");
  fputs(h->status == HOST_UP ? "\"up\"" : h->status == HOST_DOWN ? "\"down\"" : "\"unknown\"", f);
  js_key(f, &first, "reason");
  js_str(f, h->reason ? h->reason : "unknown");
  js_key(f, &first, "reason_ttl");
  fprintf(f, "%d", h->reason_ttl);
  if (h->distance >= 0) {
    js_key(f, &first, "distance");
    fprintf(f, "%d", h->distance);
  }
  if (h->start_time) {
    js_key(f, &first, "starttime");
    fprintf(f, "%lld", (long long)h->start_time);
  }
  if (h->end_time) {
    js_key(f, &first, "endtime");
    fprintf(f, "%lld", (long long)h->end_time);
  }
  if (h->timedout) {
    js_key(f, &first, "timedout");
    fputs("true", f);
  }
  if (h->srtt_us >= 0) {
    js_key(f, &first, "times");
    fprintf(f, "{\"srtt\":%lld,\"rttvar\":%lld,\"to\":%lld}", (long long)h->srtt_us,
            (long long)(h->rttvar_us < 0 ? 0 : h->rttvar_us),
            (long long)(h->timeout_us < 0 ? 0 : h->timeout_us));
  }
  struct output_summary s;
  output_summarize(h, &o->opts, &s);
  if (s.total > 0) {
    js_key(f, &first, "ports");
    fputc('[', f);
    bool pf = true;
    size_t n;
    const struct port_result **shown = output_shown_ports(h, &s, &n);
    for (size_t i = 0; i < n; i++) {
      const struct port_result *p = shown[i];
      fprintf(f, "%s{\"protocol\":\"%s\",\"portid\":%u,\"state\":\"%s\",\"reason\":",
              pf ? "" : ",", proto_name(p->proto), p->portid, port_state_name(p->state));
      js_str(f, p->reason ? p->reason : "unknown");
      fprintf(f, ",\"reason_ttl\":%d", p->reason_ttl);
      if (p->service || p->version) js_service(f, p);
      if (p->nscripts) {
        fputs(",\"scripts\":", f);
        js_scripts(f, p->scripts, p->nscripts);
      }
      fputc('}', f);
      pf = false;
    }
    free(shown);
    fputc(']', f);
    js_key(f, &first, "extraports");
    fputc('[', f);
    bool ef = true;
    for (int st = 0; st < PORT_NSTATES; st++) {
      for (int p = 0; p < PROTO_COUNT; p++) {
        const struct output_group *g = &s.g[p][st];
        if (!g->hidden) continue;
        fprintf(f, "%s{\"state\":\"%s\",\"protocol\":\"%s\",\"count\":%" PRIu64 ",\"reasons\":[",
                ef ? "" : ",", port_state_name((enum port_state)st),
                proto_name((enum scan_proto)p), g->count);
        for (size_t r = 0; r < g->nreasons; r++) {
          fputs(r ? ",{\"reason\":" : "{\"reason\":", f);
          js_str(f, g->reasons[r].reason);
          fprintf(f, ",\"count\":%" PRIu64 "}", g->reasons[r].count);
        }
        fputs("]}", f);
        ef = false;
      }
    }
    fputc(']', f);
  }
  if (h->os) {
    js_key(f, &first, "os");
    output_os_json(f, h->os, js_str);
  }
  if (h->nhostscripts) {
    js_key(f, &first, "hostscripts");
    js_scripts(f, h->hostscripts, h->nhostscripts);
  }
  if (h->trace) {
    js_key(f, &first, "trace");
    js_trace(f, h->trace);
  }
  fputs("}\n", f);
}

static void js_end(struct output *o, const struct scan_end *e) {
  FILE *f = o->fp;
  const char *why = e->errormsg ? e->errormsg : e->interrupted ? "interrupted" : NULL;
  fprintf(f, "{\"type\":\"done\",\"time\":%lld,\"elapsed\":%.2f,\"exit\":\"%s\"",
          (long long)e->end_time, e->elapsed, why ? "error" : "success");
  if (why) {
    fputs(",\"errormsg\":", f);
    js_str(f, why);
  }
  fprintf(f, ",\"hosts\":{\"up\":%" PRIu64 ",\"down\":%" PRIu64 ",\"total\":%" PRIu64 "}}\n",
          e->hosts_up, e->hosts_down, e->hosts_total);
}

/* {"type":"prescript","scripts":[...]} before the first host record,
 * {"type":"postscript",...} after the last one. */
static void js_rule_scripts(struct output *o, bool post, const struct script_result *r,
                            size_t n) {
  fprintf(o->fp, "{\"type\":\"%s\",\"scripts\":", post ? "postscript" : "prescript");
  js_scripts(o->fp, r, n);
  fputs("}\n", o->fp);
}

const struct output_ops output_json_ops = {"json", js_begin, js_host, js_end, js_rule_scripts};
