/* options.h: trawl's command line, spelled like Nmap's (-sS, -PS22,80,
 * -T4, -oX FILE, --top-ports N, single-dash long options such as -open).
 *
 * options_parse() reads argv into struct options, checking each value as
 * it goes (targets, port lists, times, rates, numbers); options_finalize()
 * applies defaults (scan type, ports, timing template), loads the port
 * table, finishes the target set and checks the combination. Every error
 * is one line in err, "<what was wrong>: '<arg>'" (the caller prefixes
 * "trawl: "), or the target/port parser's own line, and nothing has been
 * sent when it is reported. options_print_plan() prints what a scan would
 * do (--dry-run). The timing template and how it combines with the timing
 * options live in scan/timing.c. */
#ifndef TRAWL_OPTIONS_H
#define TRAWL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <trawl/packet.h>

#include "core/ports.h"
#include "core/result.h"
#include "db/services.h"
#include "core/targets.h"

#define SCANF(t) (1u << (t)) /* bit of an enum scan_type in options.scans */
/* the raw TCP scans, and all the TCP ones (connect too) */
#define SCANS_TCP_RAW                                                                              \
  (SCANF(SCAN_SYN) | SCANF(SCAN_ACK) | SCANF(SCAN_NULL) | SCANF(SCAN_FIN) | SCANF(SCAN_XMAS) |   \
   SCANF(SCAN_MAIMON) | SCANF(SCAN_WINDOW))
#define SCANS_TCP (SCANS_TCP_RAW | SCANF(SCAN_CONNECT))

/* Host discovery probes (-PS -PA -PU -PE -PP). */
enum {
  PROBE_SYN = 1 << 0,
  PROBE_ACK = 1 << 1,
  PROBE_UDP = 1 << 2,
  PROBE_ECHO = 1 << 3,
  PROBE_TIMESTAMP = 1 << 4,
  PROBE_MASK = 1 << 5, /* -PM: ICMP address mask request */
  PROBE_ARP = 1 << 6   /* -PR: ARP (ND) on attached links, which trawl
                          always uses there; alone, the defaults elsewhere */
};

enum dns_mode { DNS_DEFAULT, DNS_NEVER, DNS_ALWAYS };

/* Unset numeric options hold these values until options_finalize(). */
#define OPT_UNSET_MS UINT64_MAX
#define OPT_UNSET (-1)
/* --min/--max-parallelism: the raw engine's largest window */
#define OPT_PARALLELISM_MAX 262144

struct ping_ports {
  uint16_t *v;
  size_t n;
};

/* --webxml: the stylesheet Nmap's own option points at */
#define OPT_WEBXML_HREF "https://nmap.org/svn/docs/nmap.xsl"

struct options {
  /* what to do */
  unsigned scans;      /* SCANF(SCAN_SYN) | ... */
  bool no_portscan;    /* -sn */
  bool skip_discovery; /* -Pn */
  bool list_scan;      /* -sL: list the targets, send nothing to them */
  int scanflags;       /* --scanflags: TCP flags of the raw TCP probes; -1: the scan's own */
  unsigned probes;     /* PROBE_* given; after finalize, the ones to use */
  bool default_probes; /* finalize chose the probes */
  struct ping_ports ps, pa, pu; /* -PS/-PA/-PU ports */
  bool ipv6;           /* -6 */
  /* ports */
  const char *port_spec;     /* -p */
  bool fast;                 /* -F */
  bool ports_in_order;       /* -r: ports in order, not randomized */
  long top_ports;            /* --top-ports, OPT_UNSET */
  double port_ratio;         /* --port-ratio 0-1; -1: not given */
  const char *exclude_ports; /* --exclude-ports */
  struct portlist ports;     /* finalize */
  struct services *services; /* finalize */
  /* targets (parsed as given) */
  struct targets *targets;
  size_t ntarget_args;
  size_t nexclude_args;      /* --exclude, --excludefile */
  const char *input_list;    /* the last -iL file */
  /* timing */
  int timing; /* -T0..5, default 3 */
  double min_rate, max_rate; /* 0: unset */
  long max_retries;
  uint64_t host_timeout_ms, scan_delay_ms, min_rtt_ms, max_rtt_ms,
      initial_rtt_ms; /* 0 host timeout: none */
  unsigned timing_given;   /* finalize: TIMING_GIVEN_* (scan/timing.h), the ones the user gave */
  uint64_t stats_every_ms; /* 0: none */
  uint64_t max_hostgroup;  /* --max-hostgroup: hosts per group (0: by size) */
  uint64_t min_hostgroup;  /* --min-hostgroup: at least this many per group (0: not given) */
  uint64_t min_parallelism, max_parallelism; /* probes outstanding (0: not given) */
  uint64_t max_scan_delay_ms; /* --max-scan-delay (OPT_UNSET_MS: the template's) */
  /* output */
  const char *out_normal, *out_xml, *out_grep, *out_json; /* "-" stdout */
  bool open_only, reason, packet_trace;
  bool append_output;   /* --append-output: add to the output files */
  bool noninteractive;  /* --noninteractive: no key presses read */
  const char *stylesheet; /* --stylesheet; NULL: Nmap's nmap.xsl when found */
  bool no_stylesheet;     /* --no-stylesheet */
  int verbose, debug;
  enum dns_mode dns;
  const char *dns_servers; /* --dns-servers "S1,S2": NULL: resolv.conf */
  bool system_dns;         /* --system-dns: getaddrinfo/getnameinfo on the pool */
  /* order, sharding, resume */
  uint64_t seed;
  bool seed_set;
  uint64_t shards, shard;
  const char *resume;
  bool resuming;        /* set by main from the --resume file */
  uint64_t resume_next; /* first target index not yet scanned */
  /* privileges, interface, source port */
  int privileged; /* OPT_UNSET (auto), 0 (--unprivileged), 1 (--privileged) */
  const char *iface;
  const char *privileged_user; /* --privileged-user: drop root to (NULL: nobody) */
  long source_port;
  /* the raw probes (probe/pktopt.h) */
  int ttl;           /* --ttl 0-255; OPT_UNSET: trawl's own (64) */
  uint8_t *data;     /* --data, --data-string, --data-length (random bytes) */
  size_t data_len;
  bool data_set;     /* one of them was given (0 bytes too: no UDP payloads) */
  const char *data_opt; /* which one */
  bool badsum;       /* --badsum */
  bool send_ip;      /* --send-ip: no ARP/ND discovery frames, IP probes only */
  tw_pkt_addr spoof; /* -S: source address of the raw probes (family 0: not given) */
  uint8_t ipopt[40]; /* --ip-options, as sent (probe/pktopt.h) */
  size_t ipopt_len;
  unsigned frag;     /* -f 8, -ff 16, --mtu N: fragment payload bytes; 0: none */
  const char *frag_opt; /* which one */
  tw_pkt_addr *decoys; /* -D, in order, ME (family 0) at its place */
  size_t ndecoys;
  const char *spoof_arg;
  /* scripts */
  bool script_default; /* -sC */
  const char *scripts, *script_args, *script_args_file, *script_help;
  bool script_trace;
  bool script_updatedb;       /* --script-updatedb (script-updatedb.c) */
  uint64_t script_timeout_ms; /* 0: none; unset: the timing template's */
  unsigned script_threads;    /* --script-threads; 0: TRAWL_SCRIPT_THREADS or 1000 */
  /* version detection */
  bool version_scan;     /* -sV (also -A) */
  int version_intensity; /* 0-9: --version-intensity, --version-light (2),
                            --version-all (9); default 7, as Nmap */
  bool version_trace;    /* --version-trace: every probe, wait and match */
  const char *versiondb; /* --versiondb FILE: instead of nmap-service-probes */
  bool aggressive;       /* -A: -sV -O -sC --traceroute */
  /* OS detection */
  bool os_scan;          /* -O (also -A) */
  bool osscan_limit;     /* --osscan-limit: only hosts with an open and a closed TCP port */
  bool osscan_guess;     /* --osscan-guess, --fuzzy: guesses even when submittable */
  long max_os_tries;     /* --max-os-tries (default 5) */
  bool osscan_per_port;  /* --osscan-per-port: each open port on its own (implies -O) */
  bool traceroute;       /* --traceroute (also -A when raw) */
  /* the tool itself */
  bool help, version, dry_run;
  const char *datadir;
  char *args; /* argv joined with spaces, for the outputs */
  char *owned[4]; /* -oA file names */
};

void options_init(struct options *o);
void options_free(struct options *o);

/* Parses argv[1..argc-1]. 0 or a negative code with err filled. Strings in
 * o point into argv, which must outlive o. */
int options_parse(struct options *o, int argc, char **argv, char *err,
                  size_t errlen);

/* Applies defaults and checks the whole. is_root: running with the
 * privileges raw packets need (the --privileged/--unprivileged options
 * override it). Not needed for --help, --version, --script-help. */
int options_finalize(struct options *o, bool is_root, char *err,
                     size_t errlen);

/* The --help text. */
void options_usage(FILE *f);
/* The plan a finalized o describes (--dry-run). */
void options_print_plan(FILE *f, const struct options *o);

/* Value parsers, exposed for tests: Nmap time values ("500ms", "1.5s",
 * "30m", "2h"; no unit: seconds) in milliseconds, and rates. 0 or
 * TW_EMALFORMED. */
int options_parse_time(const char *s, uint64_t *ms);
int options_parse_rate(const char *s, double *rate);

/* The i-th long option's name (without "--"), NULL past the last: what
 * --help and the man page must each mention (tests/unit/test_options.c). */
const char *options_long_name(size_t i);

#endif
