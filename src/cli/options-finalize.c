/* options-finalize.c: checking a parsed command line as a whole and
 * settling what follows from it (options_finalize, options.h): scan types
 * that cannot go together, what needs root, the ports, the outputs, the
 * timing template's values for what was not given. Parsing word by word
 * is options.c. */
#define _GNU_SOURCE
#include "cli/options.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/options-int.h"
#include "core/errmsg.h"
#include "scan/permute.h"
#include "scan/timing.h"

/* ---- finalize ------------------------------------------------------------------ */

/* -iR N: N distinct public IPv4 addresses, none excluded. Drawn in rounds:
 * each round adds what is missing, and the set (which merges duplicates
 * and removes exclusions) says how many count. -iR 0: every public IPv4
 * address, which the scan's random order turns into Nmap's endless
 * random scan (ending after 3.7 billion hosts). */
static int opt_random_draw(struct options *o, char *err, size_t errlen) {
  if (o->ntarget_args > 1)
    return errmsg_set(err, errlen, TW_EMALFORMED, "-iR cannot be combined with other targets");
  struct tgt_addr a;
  int r;
  if (o->random_targets == 0) {
    memset(&a, 0, sizeof a);
    a.family = AF_INET;
    r = targets_add_addr(o->targets, &a, 0);
    for (size_t i = 0; r == 0 && i < tgt_reserved4_count(); i++) {
      int bits = tgt_reserved4_range(i, &a);
      r = targets_exclude_addr(o->targets, &a, bits);
    }
    return r < 0 ? errmsg_set(err, errlen, r, "-iR 0: out of memory") : 0;
  }
  uint64_t x = 0;
  if (o->seed_set) x = o->seed;
  else if (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x)
    return errmsg_set(err, errlen, -EIO, "-iR: getrandom failed");
  uint64_t have = 0;
  for (int round = 0; have < o->random_targets; round++) {
    if (round == 64)
      return errmsg_set(err, errlen, TW_EMALFORMED,
                        "-iR: the exclusions leave fewer than %" PRIu64 " random targets", o->random_targets);
    for (uint64_t k = have; k < o->random_targets;) {
      uint32_t v = (uint32_t)permute_splitmix(&x);
      memset(&a, 0, sizeof a);
      a.family = AF_INET;
      memcpy(&a.u.v4, &(uint8_t[4]){v >> 24, v >> 16, v >> 8, v}, 4);
      if (tgt_reserved4((const uint8_t *)&a.u.v4)) continue;
      r = targets_add_addr(o->targets, &a, 32);
      if (r < 0) return errmsg_set(err, errlen, r, "-iR: out of memory");
      k++;
    }
    r = targets_finalize(o->targets, err, errlen);
    if (r < 0) return r;
    have = targets_count4(o->targets);
  }
  return 0;
}

static int opt_check_outputs(struct options *o, char *err, size_t errlen) {
  const char *outs[4] = {o->out_normal, o->out_xml, o->out_grep, o->out_json};
  int to_stdout = 0;
  for (int k = 0; k < 4; k++) to_stdout += outs[k] && strcmp(outs[k], "-") == 0;
  if (to_stdout > 1) return options_fail(err, errlen, "-", "only one output format can go to standard output");
  for (int a = 0; a < 4; a++)
    for (int b = a + 1; b < 4; b++)
      if (outs[a] && outs[b] && strcmp(outs[a], "-") != 0 && strcmp(outs[a], outs[b]) == 0)
        return options_fail(err, errlen, outs[a], "two output formats name the same file");
  return 0;
}

static int opt_ports(struct options *o, char *err, size_t errlen) {
  unsigned protos = 0;
  if (o->scans & SCANS_TCP) protos |= PROTO_MASK(PROTO_TCP);
  if (o->scans & SCANF(SCAN_UDP)) protos |= PROTO_MASK(PROTO_UDP);
  struct portset *set = calloc(1, sizeof *set), *tmp = calloc(1, sizeof *tmp);
  int r = 0;
  if (set == NULL || tmp == NULL) {
    r = errmsg_set(err, errlen, -ENOMEM, "out of memory");
  } else if (o->port_ratio >= 0 && !services_has_ratios(o->services)) {
    r = options_fail(err, errlen, services_path(o->services),
                 "--port-ratio needs Nmap's nmap-services (Debian package nmap-common), not");
  } else if (o->port_ratio >= 0) {
    if (o->port_spec) r = ports_parse(tmp, o->port_spec, protos, 1, o->services, NULL, err, errlen);
    if (r == 0) ports_add_ratio(set, o->services, protos, o->port_ratio, o->port_spec ? tmp : NULL);
  } else if (o->port_spec) {
    r = ports_parse(tmp, o->port_spec, protos, 1, o->services, NULL, err, errlen);
    if (r == 0 && o->top_ports != OPT_UNSET)
      ports_add_top(set, o->services, protos, (size_t)o->top_ports, tmp);
    else if (r == 0)
      *set = *tmp;
  } else {
    size_t n = o->fast ? 100 : o->top_ports != OPT_UNSET ? (size_t)o->top_ports : 1000;
    ports_add_top(set, o->services, protos, n, NULL);
  }
  if (r == 0 && o->exclude_ports) {
    portset_clear(tmp);
    r = ports_parse(tmp, o->exclude_ports, PROTO_MASK_ALL, 1, o->services,
                    "--exclude-ports specification", err, errlen);
    if (r == 0) portset_subtract(set, tmp);
  }
  if (r == 0) {
    r = portlist_from_set(&o->ports, set);
    if (r < 0) errmsg_set(err, errlen, r, "out of memory");
  }
  if (r == 0 && portlist_count(&o->ports) == 0)
    r = options_fail(err, errlen, o->port_spec ? o->port_spec : o->exclude_ports ? o->exclude_ports : "",
                 "no ports left to scan");
  free(set);
  free(tmp);
  return r;
}

/* A name's prefix ("localhost/24") is checked once the address family is
 * known: 0-32 without -6, 0-128 with it, as for an address. */
static int opt_check_name_prefixes(const struct options *o, char *err, size_t errlen) {
  int max = o->ipv6 ? 128 : 32;
  char q[ERRMSG_QUOTE_MAX + 8];
  for (int ex = 0; ex < 2; ex++) {
    size_t n = ex ? targets_excluded_name_count(o->targets) : targets_name_count(o->targets);
    for (size_t i = 0; i < n; i++) {
      const struct tgt_name *t = ex ? targets_excluded_name(o->targets, i) : targets_name(o->targets, i);
      if (t->prefix > max)
        return errmsg_set(err, errlen, TW_EMALFORMED,
                          "invalid %s '%s/%d': prefix length %d out of range (0-%d)",
                          ex ? "exclusion" : "target", errmsg_quote(q, sizeof q, t->name, (size_t)-1),
                          t->prefix, t->prefix, max);
    }
  }
  return 0;
}

int options_finalize(struct options *o, bool is_root, char *err,
                     size_t errlen) {
  bool priv = o->privileged == OPT_UNSET ? is_root : o->privileged == 1;
  /* scan types */
  unsigned tcp = o->scans & SCANS_TCP;
  if ((tcp & (tcp - 1)) != 0) {
    static const char *const flag[SCAN_NTYPES] = {"-sS", "-sT", "-sA", "-sU", "-sN",
                                                  "-sF", "-sX", "-sM", "-sW"};
    int k = SCAN_NTYPES - 1;
    while (k > 0 && (k == SCAN_CONNECT || !(tcp & SCANF(k)))) k--;
    return options_fail(err, errlen, (o->scans & SCANF(SCAN_CONNECT)) ? "-sT" : flag[k],
                    "only one TCP scan type (-sS, -sT, -sA, -sN, -sF, -sX, -sM, -sW) can be used");
  }
  /* -sL: no discovery and no port scan; every target is listed with status
   * unknown (reason user-set), names from reverse DNS unless -n. Ports
   * given with it are ignored, as Nmap ignores them. */
  if (o->list_scan) {
    if (o->scans || o->no_portscan)
      return options_fail(err, errlen, "-sL", "-sL (list scan) cannot be combined with another scan type or -sn");
    if (o->probes || o->skip_discovery)
      return options_fail(err, errlen, "-sL", "-sL (list scan) cannot be combined with discovery options (-P...)");
    if (o->version_scan || o->os_scan || o->script_default || o->scripts || o->traceroute || o->aggressive)
      return options_fail(err, errlen, "-sL", "-sL (list scan) cannot be combined with -sV, -O, -sC, --script, --traceroute or -A");
    o->no_portscan = o->skip_discovery = true;
    o->port_spec = o->exclude_ports = NULL;
    o->fast = false;
    o->top_ports = OPT_UNSET;
    o->port_ratio = -1;
  }
  if (o->no_portscan) {
    if (o->scans) return options_fail(err, errlen, "-sn", "-sn (no port scan) cannot be combined with a port scan type");
    if (o->port_spec || o->fast || o->top_ports != OPT_UNSET || o->exclude_ports || o->port_ratio >= 0)
      return options_fail(err, errlen, "-sn", "-sn (no port scan) cannot be combined with port selection (-p, -F, --top-ports, --exclude-ports)");
  } else if (o->scans == 0) {
    o->scans = priv ? SCANF(SCAN_SYN) : SCANF(SCAN_CONNECT);
  }
  if (o->scanflags >= 0 && !(o->scans & SCANS_TCP_RAW) && priv)
    return options_fail(err, errlen, "--scanflags", "--scanflags needs a raw TCP scan (-sS, -sA, -sN, -sF, -sX, -sM or -sW)");
  if (!priv) {
    static const struct { unsigned bit; const char *opt; } raw[] = {
        {SCANF(SCAN_SYN), "-sS"},    {SCANF(SCAN_ACK), "-sA"},    {SCANF(SCAN_UDP), "-sU"},
        {SCANF(SCAN_NULL), "-sN"},   {SCANF(SCAN_FIN), "-sF"},    {SCANF(SCAN_XMAS), "-sX"},
        {SCANF(SCAN_MAIMON), "-sM"}, {SCANF(SCAN_WINDOW), "-sW"}};
    if (o->scanflags >= 0)
      return options_fail(err, errlen, "--scanflags", "this scan type needs root privileges (or --privileged)");
    for (size_t k = 0; k < 8; k++)
      if (o->scans & raw[k].bit)
        return options_fail(err, errlen, raw[k].opt, "this scan type needs root privileges (or --privileged)");
    if (o->probes & ~(unsigned)PROBE_SYN)
      return options_fail(err, errlen, "-P", "ICMP, ACK, UDP and ARP discovery probes need root privileges (or --privileged)");
    const char *pkt = o->ttl != OPT_UNSET ? "--ttl" : o->badsum ? "--badsum" : o->spoof.family ? "-S"
                    : o->ipopt_len ? "--ip-options" : o->frag ? o->frag_opt : o->ndecoys ? "-D" : NULL;
    if (!pkt && o->data_set) pkt = o->data_opt;
    if (pkt)
      return options_fail(err, errlen, pkt, "%s changes raw probes: it needs root privileges (or --privileged)", pkt);
  }
  if (o->fast && o->port_spec) return options_fail(err, errlen, "-F", "-F (fast scan) cannot be combined with -p");
  if (o->fast && o->top_ports != OPT_UNSET)
    return options_fail(err, errlen, "-F", "-F (fast scan) cannot be combined with --top-ports");
  if (o->port_ratio >= 0 && (o->fast || o->top_ports != OPT_UNSET))
    return options_fail(err, errlen, "--port-ratio", "--port-ratio cannot be combined with -F or --top-ports");
  if (o->skip_discovery && o->probes)
    return options_fail(err, errlen, "-Pn", "-Pn (no host discovery) cannot be combined with discovery probes");
  if (o->send_eth && o->send_ip)
    return options_fail(err, errlen, o->spoof_mac ? "--spoof-mac" : "--send-eth",
                        "%s and --send-ip cannot be combined", o->spoof_mac ? "--spoof-mac" : "--send-eth");
  if ((o->probes & PROBE_PROTO) && o->ipv6)
    return options_fail(err, errlen, "-PO", "-PO (IP protocol ping) is IPv4 only in trawl");
  /* discovery defaults: Nmap's -PE -PS443 -PA80 -PP, or TCP 80,443 without
   * privileges. ARP (and ND) is used on attached links whatever is given;
   * -PR alone, as in Nmap, leaves the defaults for the other hosts. */
  if (!o->skip_discovery && (o->probes & ~(unsigned)PROBE_ARP) == 0) {
    o->default_probes = true;
    if (priv) {
      o->probes |= PROBE_ECHO | PROBE_SYN | PROBE_ACK | PROBE_TIMESTAMP;
      static const uint16_t p443[] = {443}, p80[] = {80};
      o->ps.v = malloc(sizeof p443);
      o->pa.v = malloc(sizeof p80);
      if (!o->ps.v || !o->pa.v) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
      memcpy(o->ps.v, p443, sizeof p443);
      memcpy(o->pa.v, p80, sizeof p80);
      o->ps.n = o->pa.n = 1;
    } else {
      o->probes = PROBE_SYN;
      o->ps.v = malloc(2 * sizeof *o->ps.v);
      if (!o->ps.v) return errmsg_set(err, errlen, -ENOMEM, "out of memory");
      o->ps.v[0] = 80;
      o->ps.v[1] = 443;
      o->ps.n = 2;
    }
  }
  /* -S: the raw probes' source. Connections (-sT, -sV, scripts) keep the
   * kernel's own source address in trawl: refused rather than half done. */
  if (o->spoof.family) {
    if (o->spoof.family != (o->ipv6 ? AF_INET6 : AF_INET))
      return options_fail(err, errlen, o->spoof_arg, o->ipv6 ? "-S needs an IPv6 address with -6"
                                                           : "-S needs an IPv4 address (IPv6 with -6)");
    if ((o->scans & SCANF(SCAN_CONNECT)) || o->version_scan || o->script_default || o->scripts ||
        o->aggressive)
      return options_fail(err, errlen, "-S",
                      "-S sets the source of raw probes only; with -sT, -sV, -sC, --script or -A it is not in trawl yet");
  }
  /* -f/--mtu: IPv4 only, and, as in Nmap, with a raw TCP scan or TCP or
   * ICMP timestamp discovery probes among what is sent; -D: the decoys'
   * family is the scan's */
  if (o->frag && o->ipv6)
    return options_fail(err, errlen, o->frag_opt, "fragmentation (%s) is not supported with IPv6", o->frag_opt);
  if (o->frag && !(o->scans & SCANS_TCP_RAW) && !(o->probes & (PROBE_SYN | PROBE_ACK | PROBE_TIMESTAMP)))
    return options_fail(err, errlen, o->frag_opt,
                    "fragmentation (%s) needs a raw TCP scan (-sS -sA -sN -sF -sX -sM -sW) or TCP or ICMP timestamp discovery probes, as in Nmap",
                    o->frag_opt);
  for (size_t k = 0; k < o->ndecoys; k++)
    if (o->decoys[k].family && o->decoys[k].family != (o->ipv6 ? AF_INET6 : AF_INET))
      return options_fail(err, errlen, "-D", o->ipv6 ? "-D needs IPv6 decoys with -6 (RND is IPv4 only)"
                                                 : "-D needs IPv4 decoys (IPv6 with -6)");
  /* timing: the template fills what was not given */
  int r = timing_finalize(o, err, errlen);
  if (r < 0) return r;
  char v[64];
  if (o->min_rate > 0 && o->max_rate > 0 && o->min_rate > o->max_rate) {
    snprintf(v, sizeof v, "%g", o->min_rate);
    return options_fail(err, errlen, v, "--min-rate is greater than --max-rate (%g)", o->max_rate);
  }
  if (o->min_parallelism && o->max_parallelism && o->min_parallelism > o->max_parallelism) {
    snprintf(v, sizeof v, "%" PRIu64, o->min_parallelism);
    return options_fail(err, errlen, v, "--min-parallelism is greater than --max-parallelism (%" PRIu64 ")",
                    o->max_parallelism);
  }
  if (o->min_hostgroup && o->max_hostgroup && o->min_hostgroup > o->max_hostgroup) {
    snprintf(v, sizeof v, "%" PRIu64, o->min_hostgroup);
    return options_fail(err, errlen, v, "--min-hostgroup is greater than --max-hostgroup (%" PRIu64 ")",
                    o->max_hostgroup);
  }
  r = opt_check_outputs(o, err, errlen);
  if (r < 0) return r;
  /* -A: version detection, OS detection, the default scripts and
   * traceroute, as in Nmap. -O refuses to run unprivileged (below), as
   * Nmap's -A does; traceroute needs raw packets too. */
  if (o->aggressive) o->version_scan = o->script_default = o->os_scan = true;
  if (o->aggressive && priv) o->traceroute = true;
  if (o->traceroute && !priv)
    return options_fail(err, errlen, "--traceroute", "traceroute needs raw packets (root or CAP_NET_RAW)");
  /* -O: raw packets are a must, as in Nmap */
  if (o->os_scan && !priv)
    return options_fail(err, errlen, "-O", "OS detection needs root privileges (raw packets); it cannot run unprivileged");
  if (o->os_scan && o->ipv6)
    return options_fail(err, errlen, "-O", "OS detection over IPv6 is not in trawl yet");
  if (!o->os_scan && (o->osscan_limit || o->osscan_guess || o->max_os_tries))
    return options_fail(err, errlen, o->osscan_limit ? "--osscan-limit" : o->osscan_guess ? "--osscan-guess" : "--max-os-tries",
                    "OS detection options need -O (or -A)");
  if (o->max_os_tries == 0) o->max_os_tries = 5;
  if (!o->version_scan && (o->version_intensity != OPT_UNSET || o->version_trace || o->versiondb))
    return options_fail(err, errlen, o->versiondb ? "--versiondb" : o->version_trace ? "--version-trace"
                                                                                 : "--version-intensity",
                    "version detection options need -sV (or -A)");
  if (o->version_intensity == OPT_UNSET) o->version_intensity = 7;
  if (o->version_scan && o->no_portscan)
    return options_fail(err, errlen, "-sV", "version detection needs a port scan (not -sn)");
  /* scripts: -sC is the "default" category */
  if (o->script_default && o->scripts == NULL) o->scripts = "default";
  /* ports */
  if (!o->no_portscan) {
    r = services_load_default(&o->services, o->datadir, err, errlen);
    if (r < 0) return r;
    r = opt_ports(o, err, errlen);
    if (r < 0) return r;
  }
  /* targets */
  if (o->random_set) {
    r = opt_random_draw(o, err, errlen);
    if (r < 0) return r;
  }
  r = targets_finalize(o->targets, err, errlen);
  if (r < 0) return r;
  r = opt_check_name_prefixes(o, err, errlen);
  if (r < 0) return r;
  if (o->resume == NULL && targets_count(o->targets) == 0 && targets_name_count(o->targets) == 0) {
    if (o->ntarget_args && o->nexclude_args)
      return errmsg_set(err, errlen, TW_EMALFORMED, "no targets left after exclusions");
    if (o->input_list)
      return options_fail(err, errlen, o->input_list, "no targets in the -iL file");
    return errmsg_set(err, errlen, TW_EMALFORMED, "no targets were specified (see trawl --help)");
  }
  struct tgt_addr a;
  char as[INET6_ADDRSTRLEN];
  if (!o->ipv6 && targets_count6(o->targets) > 0) {
    targets_get(o->targets, targets_count4(o->targets), &a);
    return options_fail(err, errlen, tgt_addr_str(&a, as, sizeof as), "IPv6 targets need -6");
  }
  if (o->ipv6 && targets_count4(o->targets) > 0) {
    targets_get(o->targets, 0, &a);
    return options_fail(err, errlen, tgt_addr_str(&a, as, sizeof as), "IPv4 targets cannot be scanned with -6");
  }
  return 0;
}
