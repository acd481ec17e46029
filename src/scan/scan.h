/* scan.h: one scan from start to end — the state every stage shares.
 *
 * A scan walks its targets in host groups (contiguous runs of target
 * indices, sized so that a group's results fit in a few MB whatever the
 * size of the whole scan). For each group: host discovery (unless -Pn),
 * then each port scan type over the live hosts, then the group's hosts go
 * to every output, in target order. Every stage runs in the one libtrawl
 * loop: the stage starts its work and returns; its completion callback
 * starts the next (scan_next). */
#ifndef TRAWL_SCAN_H
#define TRAWL_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <trawl/trawl.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>
#include <trawl/packet.h>
#include <trawl/rawsend.h>
#include <trawl/route.h>

#include "scan/cookie.h"
#include "scan/engine.h"
#include "scan/timing.h"
#include "cli/options.h"
#include "output/output.h"
#include "core/result.h"
#include "os/synack.h"
#include "cli/status.h"
#include "probe/pktopt.h"

/* A port verdict kept compactly until the host is written (6 bytes; its
 * host_result record, with copied strings, is over 100). */
struct synack_kept {
  uint16_t port;
  struct p0f_obs obs;
};

struct cport {
  uint16_t port;
  uint8_t proto, state, ttl, reason; /* reason: index in scan.c's table */
};

/* One host of the current group. */
struct ghost {
  tw_pkt_addr addr;
  struct host_result *res; /* created on the first thing learnt */
  bool up;                 /* discovery found it (or -Pn) */
  bool timedout;           /* --host-timeout expired before it was done */
  bool noroute;            /* raw scan: the kernel has no route to it (::) */
  uint8_t src;             /* index of our source address in scan.srcs */
  uint8_t link;            /* on a link we are attached to: iface index + 1 */
  uint8_t iface;           /* the interface its route leaves by: index + 1, 0: none */
  /* Answers: the first few of each (proto, state) kept as cports, the rest
   * only counted, with the state's reason (a static string). */
  struct cport *cports;
  uint32_t ncports, capcports;
  uint32_t nstate[PROTO_COUNT][PORT_NSTATES];
  uint8_t bulk_reason[PROTO_COUNT][PORT_NSTATES]; /* index in the reason table */
  /* Probes never answered, per proto: counted, and the first few kept as
   * (proto << 16 | port) in tports (allocated on the first one). */
  uint32_t timeouts[PROTO_COUNT];
  uint8_t timeout_state[PROTO_COUNT];
  uint32_t *tports;
  uint32_t ntports;
  /* SYN+ACKs of open TCP ports as p0f observations (os/synack.h), kept
   * when scripts run: at most SYNACK_KEEP_PER_HOST, then only counted */
  struct synack_kept *synacks;
  uint32_t nsynacks;
  uint32_t nsettled;       /* port verdicts so far, over every stage */
  uint16_t nrtt;           /* RTT samples behind res's srtt (the best pass's) */
  bool nh_ok;              /* --send-eth: nh_mac is its next hop's MAC */
  uint8_t nh_mac[6];
  bool settled;            /* its kept and counted ports are in res (settle_ports) */
};

#define SCAN_MAX_IFACES 8

struct scan_iface {
  char name[IF_NAMESIZE];
  int ifindex;
  tw_capture *cap;
  tw_rawsock *eth; /* Ethernet frames (ARP) */
  tw_iface info;   /* MAC, flags */
};

#define SCAN_MAX_SRCS 8
/* --send-eth: the largest frame written (Ethernet header + jumbo MTU) */
#define ETHSEND_FRAME_MAX (14 + 9216)

struct scan {
  struct options *o;
  tw_loop *loop;
  bool raw;           /* raw packets (root) or connect() */
  bool interrupted;
  bool chatty;           /* the normal report goes to standard output (verbose.c) */
  bool send_eth;         /* --send-eth / --spoof-mac with raw sockets (ethsend.c) */
  bool spoof_mac_set;
  uint8_t spoof_mac[6];
  uint8_t *eth_frame;    /* ETHSEND_FRAME_MAX bytes, with send_eth */
  uint64_t verbose_t0;   /* when the current pass began (verbose.c) */
  bool finished;
  int exit_code;
  char errmsg[256];
  struct cookie_key key;
  struct pktopt pktopt; /* --ttl, --data*, --badsum: applied to every engine probe */
  /* network */
  tw_rawsock *rs4, *rs6;
  struct scan_iface ifs[SCAN_MAX_IFACES];
  int nifs;
  tw_pkt_addr srcs[SCAN_MAX_SRCS]; /* our source addresses (from routes) */
  int nsrcs;
  uint16_t sport_lo, sport_hi;
  /* targets and groups */
  uint64_t ntargets, next_target;
  uint32_t group_size;
  uint32_t verdicts_per_host; /* port verdicts a host gets from all stages */
  struct ghost *hosts;   /* current group */
  tw_pkt_addr *addrs;    /* addresses of the current group's hosts */
  uint32_t nhosts;
  tw_pkt_addr *live;     /* hosts of the current group to port-scan */
  uint32_t *live_idx;    /* their index in hosts[] */
  uint32_t nlive;
  size_t stage;          /* next row of scan_stages[] (stage.h) for the group */
  tw_timer *host_timer;  /* --host-timeout of the current group */
  tw_req *trace_req;     /* --packet-trace waiter */
  struct script_engine *scripts; /* --script / -sC, or NULL */
  bool prerules_done, postrules_done;
  bool group_timed_out;
  bool host_clock;       /* --host-timeout armed for this group (start_host_clock) */
  /* the running stage */
  struct engine eng;
  bool eng_live;
  void *stage_ctx;
  /* a running stage that is not an engine pass (version detection): how
   * to stop it (Ctrl-C, --host-timeout) and how far it is (0..1) */
  void (*stage_stop)(void *ctx);
  double (*stage_progress)(const void *ctx);
  struct sp_db *vdb; /* -sV: nmap-service-probes, loaded before the scan */
  struct osdb *osdb; /* -O: nmap-os-db, loaded before the scan */
  struct payloads *payloads; /* -sU: nmap-payloads (NULL: trawl's own payloads) */
  char xsl_href[4104]; /* the XML's default stylesheet, file://.../nmap.xsl */
  struct mac_prefixes *macdb; /* raw scans: nmap-mac-prefixes (NULL: vendors unknown) */
  /* outputs */
  struct output outs[5]; /* -oN -oX -oG -oJ (-oA: all four), and the terminal */
  int nouts;
  FILE *files[5];
  char out_names[5][4096];  /* file path, or "standard output" */
  bool out_failed[5];       /* its first write error was reported */
  bool out_created[5];      /* the file did not exist before this run */
  bool out_truncate[5];     /* truncated when the scan begins (not appended to) */
  bool outputs_committed;   /* the scan began: outputs_commit() ran */
  struct scan_info info;
  struct scan_info_type types[SCAN_NTYPES];
  int ntypes;
  /* statistics */
  uint64_t hosts_up, hosts_down, hosts_done;
  uint64_t open_ports;
  uint64_t probes_sent, bad_cookies, malformed;
  bool keep_synack;       /* scripts run: SYN+ACKs are kept for port.synack */
  uint64_t synack_kept, synack_dropped, synack_malformed;
  uint64_t start_ns;
  tw_signal *sigint, *sigterm;
  tw_timer *status_timer;
  struct status status;  /* the live line's and the terminal's state */
  tw_io *stdin_io;
  /* names given on the command line: address -> name */
  struct scan_name *names;
  size_t nnames;
  size_t resolving;      /* forward lookups of those names still running */
  /* Reasons are static strings; a port verdict (struct cport) names one
   * by its index here. */
  const char *reasons[256];
  unsigned nreasons;
};

/* Run the whole scan described by a finalized o. Returns the exit code. */
int scan_run(struct options *o);

/* ---- for the stages ---- */
/* Our source address toward host h of the group. */
static inline const tw_pkt_addr *scan_src(const struct scan *s, uint32_t h) {
  return &s->srcs[s->hosts[h].src];
}
/* The result record of host h of the group, created on first use. */
struct host_result *scan_host(struct scan *s, uint32_t h);
/* A pass measured host h's round trips (n samples, engine_host_rtt): the
 * pass with the most samples gives its latency and timing (<times>); the
 * timeout is srtt + 4 rttvar within [min_ns, max_ns], as Nmap's "to". */
void scan_host_rtt(struct scan *s, uint32_t h, unsigned n, uint32_t srtt_us, uint32_t rttvar_us,
                   uint64_t min_ns, uint64_t max_ns);
/* The same, with every port verdict of the host so far added to it (once;
 * for the stages that read ports: version detection, scripts). */
struct host_result *scan_settled_host(struct scan *s, uint32_t h);
/* Record an answered port of host h. Ports in the same (proto, state) past
 * the first few are counted, not kept. reason must be a static string. */
void scan_port(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port,
               enum port_state state, const char *reason, int ttl);
/* A port of host h got no answer: its state is `state` (no-response). */
void scan_port_timeout(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port,
                       enum port_state state);
/* Open TCP port of host h answered with this SYN+ACK frame: keep its p0f
 * observation (the first one per port; at most SYNACK_KEEP_PER_HOST per
 * host, the rest counted in synack_dropped; malformed frames counted in
 * synack_malformed and dropped). Only when s->keep_synack. */
void scan_synack(struct scan *s, uint32_t h, uint16_t port, const tw_frame *f);
/* An answer for a probe no longer outstanding: it replaces an earlier
 * "no answer" verdict for the port; otherwise it is a duplicate, ignored. */
void scan_port_late(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port,
                    enum port_state state, const char *reason, int ttl);
/* A fatal error: the message (printf-style; the first one is kept) goes
 * to stderr and the outputs' end, the scan stops as after Ctrl-C and exits
 * 1. */
void scan_fail(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The current stage is done: start the next one. */
void scan_next(struct scan *s);
/* Start a stage's engine pass over hosts x nports; ctx becomes the running
 * stage. Returns 1 (running) or a negative error. */
/* Hosts per group for a finalized o: about GROUP_PROBES probes, 256 to
 * GROUP_HOSTS hosts, then --min-hostgroup and --max-hostgroup. */
uint32_t scan_group_size(const struct options *o);
int scan_start_pass(struct scan *s, const struct engine_config *c, const struct probe_ops *ops,
                    void *ctx, const tw_pkt_addr *hosts, uint32_t nhosts, uint32_t nports,
                    void (*done)(struct engine *e));
/* From a pass's done callback: count its probes, print its statistics
 * (-d), free the engine; the stage then frees its own state and calls
 * scan_next(). */
void scan_end_pass(struct scan *s, const char *name);
/* --packet-trace switched on or off while the scan runs (the p and P
 * keys): the running pass's sent packets, and every received one. */
void scan_packet_trace(struct scan *s, bool on);

/* scan-probe.c: fill a probe module's view of the scan (probe/probe.h):
 * sources, links and counters of the current group; group maps the pass's
 * host indices to the group's (NULL: the same); owner becomes env->owner. */
struct probe_env;
void scan_probe_env(struct scan *s, struct probe_env *env, const uint32_t *group, void *owner);

/* stages */
int stage_discovery(struct scan *s);
int stage_tcp(struct scan *s, enum scan_type type);
int stage_udp(struct scan *s);
int stage_connect(struct scan *s);
int stage_connect_discovery(struct scan *s);
int stage_rdns(struct scan *s);
int stage_scripts(struct scan *s);
int stage_version(struct scan *s); /* version/version-stage.c */
int stage_os(struct scan *s);      /* os/os-stage.c */
int os_stage_load(struct scan *s); /* os/os-stage.c: nmap-os-db into s->osdb */
/* resolve.c: the names on the command line, before the scan (runs the
 * loop until they are resolved); the name given for an address. */
int scan_resolve_targets(struct scan *s);
const char *scan_name_of(const struct scan *s, const tw_pkt_addr *a);
void scan_names_free(struct scan *s);
/* A resolver for the scan's lookups (--dns-servers when given), and a PTR
 * lookup through it, or through getnameinfo(3) on the worker pool with
 * --system-dns (then r may be NULL). cb as tw_reverse's (req NULL). */
int resolve_resolver_new(struct scan *s, tw_resolver **r, int tries, uint64_t timeout_ns,
                         void *data);
int resolve_reverse(struct scan *s, tw_resolver *r, const struct sockaddr *sa,
                    tw_reverse_cb cb, void *data);

#endif
