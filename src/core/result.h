/* result.h: the scan result model the engine fills and the output writers
 * (output.h) read: the scan, its hosts, their ports and script results,
 * with the same vocabulary as Nmap's XML (states, reasons, hostname types,
 * script <elem>/<table> trees).
 *
 * Memory: every string is owned by the structure holding it (the helpers
 * below strdup); host_result_free() frees a host and everything in it. A
 * host need not list every port: ports the engine did not keep one by one
 * (e.g. 60000 closed ones) are given as counts in `bulk`, and the writers
 * fold listed and bulk ports of a state together when deciding what to
 * show in full. */
#ifndef TRAWL_RESULT_H
#define TRAWL_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"
#include "core/targets.h"

struct os_result;

enum port_state {
  PORT_OPEN,
  PORT_CLOSED,
  PORT_FILTERED,
  PORT_UNFILTERED,
  PORT_OPEN_FILTERED,
  PORT_CLOSED_FILTERED,
  PORT_NSTATES
};
/* "open", "closed", "filtered", "unfiltered", "open|filtered",
 * "closed|filtered". */
const char *port_state_name(enum port_state s);

/* A node of a script's structured output: <elem key=..>text</elem> or
 * <table key=..>children</table>; key may be NULL. */
enum script_node_kind { SNODE_ELEM, SNODE_TABLE };
struct script_node {
  enum script_node_kind kind;
  char *key;
  char *value; /* SNODE_ELEM only */
  struct script_node *child;
  size_t nchild, capchild;
};

struct script_result {
  char *id;
  char *output;            /* the human-readable text, may hold newlines */
  struct script_node tree; /* an unkeyed table: the top-level elems/tables */
};

/* What version detection (-sV) learnt about a port, as Nmap's <service>
 * element says it. Every string may be NULL (not known). */
struct port_version {
  char *product, *version, *extrainfo; /* the VERSION column */
  char *hostname, *ostype, *devicetype; /* the "Service Info:" line */
  char **cpe;        /* "cpe:/a:openbsd:openssh:9.2p1", ...: ncpe of them */
  size_t ncpe;
  bool probed;       /* a probe's answer matched: method="probed" conf="10";
                        false: the name is the port table's (method="table") */
  bool ssl;          /* found inside TLS: tunnel="ssl", shown as "ssl/NAME" */
  uint8_t conf;      /* Nmap's confidence 0-10; 0: the default (10 probed, 3 table) */
  char *fingerprint; /* the service answered and nothing matched: Nmap's
                        SF-Port fingerprint, one line, unwrapped */
};

struct port_result {
  enum scan_proto proto;
  uint16_t portid;
  enum port_state state;
  char *reason; /* "syn-ack", "reset", "no-response", "port-unreach", ... */
  int reason_ttl; /* 0: none (e.g. connect scan) */
  char *service;  /* the service's name: the port table's, or version
                     detection's when version->probed; NULL: none */
  struct port_version *version; /* -sV ran on this port; NULL: it did not */
  struct p0f_obs *synack; /* the SYN scan's SYN+ACK as p0f sees it (os/synack.h),
                             kept when scripts run; NULL: none */
  struct script_result *scripts;
  size_t nscripts;
};

/* count ports of one protocol in one state (with one reason) that are not
 * listed individually. */
struct port_bulk {
  enum scan_proto proto;
  enum port_state state;
  char *reason;
  uint64_t count;
};

enum hostname_type { HOSTNAME_USER, HOSTNAME_PTR };
struct hostname {
  char *name;
  enum hostname_type type;
};

enum host_status { HOST_UP, HOST_DOWN, HOST_UNKNOWN };

/* --traceroute: the hops toward a host, as Nmap's <trace>. A hop that never
 * answered has addr[0] == 0 (shown "..."). Strings owned by the struct. */
struct trace_hop {
  int ttl;
  char addr[46];  /* the router (or the host) that answered; "": none */
  char *name;     /* its PTR name, or NULL */
  double rtt_ms;  /* < 0: unknown */
};
struct host_trace {
  enum scan_proto proto; /* of the probes, with port (0 for ICMP) */
  uint16_t port;
  uint8_t icmp;          /* echo probes: 1 ICMP ("proto 1/icmp"), 58 ICMPv6
                            ("proto 58/ipv6-icmp"); 0: TCP or UDP */
  bool direct;           /* on our link: one hop, no probe named (as Nmap) */
  struct trace_hop *hops; /* ttl 1..nhops */
  size_t nhops;
  char same_as[46];      /* hops 1..same_upto are those of this host; "": none */
  int same_upto;
};
void host_trace_free(struct host_trace *t);

struct host_result {
  struct tgt_addr addr;
  bool has_mac;
  uint8_t mac[6];
  char *mac_vendor; /* NULL: unknown */
  struct hostname *names;
  size_t nnames;
  enum host_status status;
  char *reason; /* "echo-reply", "arp-response", "user-set", "reset", ... */
  int reason_ttl;
  int distance;                /* hops; -1: unknown */
  int64_t start_time, end_time; /* Unix seconds; 0: unknown */
  int64_t srtt_us, rttvar_us, timeout_us; /* -1: unknown */
  bool timedout; /* --host-timeout expired */
  struct port_result *ports;
  size_t nports, capports;
  struct port_bulk *bulk;
  size_t nbulk;
  struct script_result *hostscripts;
  size_t nhostscripts;
  struct os_result *os; /* -O (core/os-result.h); NULL: not run */
  struct host_trace *trace; /* --traceroute; NULL: none */
};

enum scan_type {
  SCAN_SYN, SCAN_CONNECT, SCAN_ACK, SCAN_UDP,
  /* the TCP flag scans (-sN -sF -sX -sM -sW), raw like SYN and ACK */
  SCAN_NULL, SCAN_FIN, SCAN_XMAS, SCAN_MAIMON, SCAN_WINDOW,
  SCAN_NTYPES
};
/* Nmap's scaninfo type: "syn", "connect", "ack", "udp". */
const char *scan_type_name(enum scan_type t);

struct scan_info_type {
  enum scan_type type;
  enum scan_proto proto;
  const uint16_t *ports; /* sorted */
  size_t nports;
  int scanflags; /* --scanflags of a raw TCP scan, -1: none (XML scanflags="") */
};

/* What the writers need at the start of the scan. */
struct scan_info {
  const char *args;   /* the command line, joined with spaces */
  int64_t start_time; /* Unix seconds */
  int verbose, debug;
  const struct scan_info_type *types;
  size_t ntypes;
  bool version_scan; /* -sV: the VERSION column, "NAME?" for unmatched names */
};

/* ... and at its end. */
struct scan_end {
  int64_t end_time;
  double elapsed; /* seconds */
  uint64_t hosts_up, hosts_down, hosts_total;
  bool interrupted;     /* stopped early (signal): exit="error" */
  const char *errormsg; /* why it ended with an error; NULL on success */
  bool seems_down;      /* one target, found down by discovery: the terminal
                           gets Nmap's "Host seems down ... try -Pn" note */
};

/* ---- building results (all return 0 / a pointer, or -ENOMEM / NULL) ----
 * A returned pointer stays valid until the next addition of the same kind
 * to the same parent (the arrays grow with realloc). */

void host_result_init(struct host_result *h);
void host_result_free(struct host_result *h);
/* Frees what one port owns (not the port itself, which lives in its
 * host's array). */
void port_result_free(struct port_result *p);
int host_add_hostname(struct host_result *h, const char *name,
                      enum hostname_type type);
int host_set_reason(struct host_result *h, enum host_status st,
                    const char *reason, int ttl);
int host_set_mac(struct host_result *h, const uint8_t mac[6],
                 const char *vendor);
struct port_result *host_add_port(struct host_result *h, enum scan_proto proto,
                                  uint16_t port, enum port_state state,
                                  const char *reason, int ttl,
                                  const char *service);
/* Version detection's answer for p (copied): name (NULL: keep the port
 * table's) and v. Replaces an earlier answer. */
int port_set_version(struct port_result *p, const char *name, const struct port_version *v);
int host_add_bulk(struct host_result *h, enum scan_proto proto,
                  enum port_state state, const char *reason, uint64_t count);
/* A script result on a port (or the host when port is NULL). Returns the
 * new result, whose tree is an empty unkeyed table. */
struct script_result *result_add_script(struct host_result *h,
                                        struct port_result *port,
                                        const char *id, const char *output);
/* Children of a table node. key may be NULL. */
struct script_node *snode_add_elem(struct script_node *table, const char *key,
                                   const char *value);
struct script_node *snode_add_table(struct script_node *table, const char *key);

#endif
