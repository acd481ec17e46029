/* options-plan.c: the --dry-run plan (options_print_plan, options.h):
 * what a command line would do, printed without sending anything. */
#define _GNU_SOURCE
#include "cli/options.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"
#include "core/version.h"
#include "scan/timing.h"

/* ---- --dry-run ------------------------------------------------------------------- */

static void opt_ms(FILE *f, uint64_t ms) {
  if (ms % 3600000 == 0 && ms) fprintf(f, "%" PRIu64 "h", ms / 3600000);
  else if (ms % 60000 == 0 && ms) fprintf(f, "%" PRIu64 "m", ms / 60000);
  else if (ms % 1000 == 0 && ms) fprintf(f, "%" PRIu64 "s", ms / 1000);
  else fprintf(f, "%" PRIu64 "ms", ms);
}

static void opt_print_ping(FILE *f, const char *flag, const struct ping_ports *pp) {
  char *l = ports_format(pp->v, pp->n);
  fprintf(f, " %s%s", flag, l ? l : "");
  free(l);
}

void options_print_plan(FILE *f, const struct options *o) {
  char q[ERRMSG_QUOTE_MAX + 8], as[INET6_ADDRSTRLEN];
  const struct targets *t = o->targets;
  fprintf(f, "%s %s dry run: nothing will be sent\n", TRAWL_NAME, TRAWL_VERSION);
  fprintf(f, "scan types:  ");
  if (o->list_scan) fputs("none (-sL, list targets only)", f);
  else if (o->no_portscan) fputs("none (-sn, host discovery only)", f);
  static const char *const tn[SCAN_NTYPES] = {"syn (-sS)",  "connect (-sT)", "ack (-sA)",
                                              "udp (-sU)",  "null (-sN)",    "fin (-sF)",
                                              "xmas (-sX)", "maimon (-sM)",  "window (-sW)"};
  bool first = true;
  for (int k = 0; k < SCAN_NTYPES; k++)
    if (o->scans & SCANF(k)) fprintf(f, "%s%s", first ? "" : ", ", tn[k]), first = false;
  fputc('\n', f);
  fprintf(f, "targets:     %" PRIu64 " addresses (%" PRIu64 " IPv4, %" PRIu64 " IPv6) in %zu ranges\n",
          targets_count(t), targets_count4(t), targets_count6(t), targets_range_count(t));
  if (targets_count(t) > 0) {
    struct tgt_addr a;
    targets_get(t, 0, &a);
    fprintf(f, "             first %s", tgt_addr_str(&a, as, sizeof as));
    targets_get(t, targets_count(t) - 1, &a);
    fprintf(f, ", last %s\n", tgt_addr_str(&a, as, sizeof as));
  }
  for (size_t i = 0; i < targets_name_count(t); i++) {
    const struct tgt_name *n = targets_name(t, i);
    fprintf(f, "to resolve:  %s", errmsg_quote(q, sizeof q, n->name, (size_t)-1));
    if (n->prefix >= 0) fprintf(f, "/%d", n->prefix);
    fputc('\n', f);
  }
  for (size_t i = 0; i < targets_excluded_name_count(t); i++)
    fprintf(f, "exclude:     %s (name, resolved before the scan)\n",
            errmsg_quote(q, sizeof q, targets_excluded_name(t, i)->name, (size_t)-1));
  if (!o->no_portscan) {
    for (int p = 0; p < PROTO_COUNT; p++) {
      char *l = ports_format(o->ports.ports[p], o->ports.n[p]);
      fprintf(f, "%s ports:   %zu%s%s%s\n", proto_name((enum scan_proto)p), o->ports.n[p],
              o->ports.n[p] ? " (" : "", o->ports.n[p] && l ? l : "", o->ports.n[p] ? ")" : "");
      free(l);
    }
    unsigned __int128 probes = (unsigned __int128)targets_count(t) * portlist_count(&o->ports);
    fprintf(f, "probes:      %" PRIu64 "%s (addresses x ports, before retries)\n",
            probes > UINT64_MAX ? UINT64_MAX : (uint64_t)probes, probes > UINT64_MAX ? "+" : "");
  }
  fputs("discovery:  ", f);
  if (o->skip_discovery) fputs(" none (-Pn: every host is treated as up)", f);
  if (o->probes & PROBE_ECHO) fputs(" -PE", f);
  if (o->probes & PROBE_SYN) opt_print_ping(f, "-PS", &o->ps);
  if (o->probes & PROBE_ACK) opt_print_ping(f, "-PA", &o->pa);
  if (o->probes & PROBE_UDP) opt_print_ping(f, "-PU", &o->pu);
  if (o->probes & PROBE_PROTO) opt_print_ping(f, "-PO", &o->po);
  if (o->probes & PROBE_TIMESTAMP) fputs(" -PP", f);
  if (o->probes & PROBE_MASK) fputs(" -PM", f);
  if (o->probes & PROBE_ARP) fputs(" -PR", f);
  if (o->default_probes) fputs(" (default)", f);
  fputc('\n', f);
  if (o->ttl != OPT_UNSET || o->data_set || o->badsum || o->spoof.family || o->ipopt_len || o->frag ||
      o->ndecoys) {
    fputs("packets:    ", f);
    if (o->spoof.family) fprintf(f, " source %s", o->spoof_arg);
    if (o->ttl != OPT_UNSET) fprintf(f, " ttl %d", o->ttl);
    if (o->data_set) fprintf(f, " payload %zu bytes", o->data_len);
    if (o->badsum) fputs(" bad checksums", f);
    if (o->ipopt_len) fprintf(f, " ip-options %zu bytes", o->ipopt_len);
    if (o->frag) fprintf(f, " fragments of %u bytes", o->frag);
    if (o->ndecoys) fprintf(f, " %zu sources (-D)", o->ndecoys);
    fputc('\n', f);
  }
  fprintf(f, "dns:         %s\n", o->dns == DNS_NEVER ? "never (-n)" : o->dns == DNS_ALWAYS ? "always (-R)" : "reverse-resolve hosts that are up");
  fprintf(f, "timing:      -T%d, max-retries %ld, scan-delay ", o->timing, o->max_retries);
  opt_ms(f, o->scan_delay_ms);
  fputs(", rtt timeout ", f);
  opt_ms(f, o->min_rtt_ms);
  fputs("..", f);
  opt_ms(f, o->max_rtt_ms);
  fputs(" (initial ", f);
  opt_ms(f, o->initial_rtt_ms);
  fputs("), host-timeout ", f);
  if (o->host_timeout_ms) opt_ms(f, o->host_timeout_ms); else fputs("none", f);
  fputc('\n', f);
  if (o->debug) timing_print_report(f, o);
  fputs("rate:        min ", f);
  if (o->min_rate > 0) fprintf(f, "%g/s", o->min_rate); else fputs("none", f);
  fputs(", max ", f);
  if (o->max_rate > 0) fprintf(f, "%g/s", o->max_rate); else fputs("none", f);
  fputc('\n', f);
  fprintf(f, "order:       ");
  if (o->seed_set) fprintf(f, "seed %" PRIu64, o->seed); else fputs("random seed", f);
  fprintf(f, ", shard %" PRIu64 " of %" PRIu64 "\n", o->shard, o->shards);
  if (o->resume) fprintf(f, "resume:      %s\n", errmsg_quote(q, sizeof q, o->resume, (size_t)-1));
  if (o->stats_every_ms) {
    fputs("stats every: ", f);
    opt_ms(f, o->stats_every_ms);
    fputc('\n', f);
  }
  const char *outs[4] = {o->out_normal, o->out_xml, o->out_grep, o->out_json};
  static const char *const on[4] = {"normal", "xml", "grepable", "json"};
  fputs("output:      normal -> terminal", f);
  for (int k = 0; k < 4; k++)
    if (outs[k])
      fprintf(f, "; %s -> %s", on[k],
              strcmp(outs[k], "-") == 0 ? "stdout" : errmsg_quote(q, sizeof q, outs[k], (size_t)-1));
  fputc('\n', f);
  fprintf(f, "display:     verbose %d, debug %d%s%s%s\n", o->verbose, o->debug,
          o->reason ? ", --reason" : "", o->open_only ? ", --open" : "",
          o->packet_trace ? ", --packet-trace" : "");
  fprintf(f, "privileges:  %s\n", o->privileged == 1 ? "raw packets (--privileged)"
                                   : o->privileged == 0 ? "none (--unprivileged)"
                                   : "detected at start");
  if (o->iface) fprintf(f, "interface:   %s\n", o->iface);
  if (o->source_port != OPT_UNSET) fprintf(f, "source port: %ld\n", o->source_port);
  if (o->scripts || o->script_help) {
    fprintf(f, "scripts:     %s", errmsg_quote(q, sizeof q, o->scripts ? o->scripts : "(none)", (size_t)-1));
    if (o->script_args) fprintf(f, "; args %s", errmsg_quote(q, sizeof q, o->script_args, (size_t)-1));
    if (o->script_args_file) fprintf(f, "; args file %s", errmsg_quote(q, sizeof q, o->script_args_file, (size_t)-1));
    if (o->script_trace) fputs("; --script-trace", f);
    if (o->script_timeout_ms) {
      fputs("; timeout ", f);
      opt_ms(f, o->script_timeout_ms);
    }
    if (o->script_threads) fprintf(f, "; at most %u at once", o->script_threads);
    fputc('\n', f);
  }
  if (o->datadir) fprintf(f, "datadir:     %s\n", errmsg_quote(q, sizeof q, o->datadir, (size_t)-1));
}
