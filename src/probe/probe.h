/* probe.h: what a probe module may see, and the reply prologue they share.
 *
 * A probe module builds the packets of one kind of scan (host discovery,
 * TCP SYN/ACK, UDP), reads the replies and says what they mean. It runs
 * on the engine (scan/engine.h) and sees the rest of the scan only
 * through a struct probe_env: the cookie key and source-port range, our
 * source addresses, the source and link of each host, a report() callback
 * for verdicts, and counters. It never sees struct scan: the scan side
 * fills a probe_env (scan/scan-probe.c), and a test can fill one with its
 * own callbacks.
 *
 * Host indices: the engine numbers the hosts of a pass 0..n-1 (the "pass
 * index", e->hosts[h]); the scan numbers the hosts of its group (the
 * "group index"). env->group maps the first to the second (NULL: the
 * same). source(), link(), is_up() and report() take group indices.
 *
 *   engine --build--> module --> wire
 *   wire --> dispatcher --> module's waiter --> probe_reply_begin()
 *        --> module's own checks --> probe_report_port() / report() */
#ifndef TRAWL_PROBE_H
#define TRAWL_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <trawl/dispatch.h>
#include <trawl/packet.h>
#include <trawl/rawsend.h>

#include "core/proto.h"
#include "core/result.h"
#include "scan/cookie.h"
#include "scan/engine.h"

#define PROBE_MAX_SRCS 8
#define PROBE_MAX_LINKS 8

/* What a reply (or its absence) says. */
enum probe_event {
  PROBE_PORT,         /* the first answer for a port */
  PROBE_PORT_LATE,    /* an answer for a port no longer outstanding */
  PROBE_PORT_TIMEOUT, /* no answer after the last try (reason "no-response") */
  PROBE_HOST_UP       /* discovery: the host answered */
};

struct probe_verdict {
  enum probe_event ev;
  uint32_t host;          /* group index */
  enum scan_proto proto;  /* PROBE_PORT* */
  uint16_t port;
  enum port_state state;
  const char *reason;     /* a static string */
  int ttl;
  const uint8_t *mac;     /* PROBE_HOST_UP: its MAC, learnt on the link, or NULL */
  const tw_frame *frame;  /* PROBE_PORT*: the reply as captured (valid during report) */
};

/* A link we are attached to: its Ethernet socket and our MAC on it. */
struct probe_link {
  tw_rawsock *eth;
  const uint8_t *mac;
};

struct payloads;

struct probe_env {
  tw_loop *loop;
  struct engine *eng;            /* the pass the module runs on */
  bool active;                   /* the pass is running: replies count */
  const struct cookie_key *key;
  uint16_t sport_lo, sport_hi;   /* source ports of the probes */
  const tw_pkt_addr *srcs;       /* our source addresses (a waiter each) */
  int nsrcs;
  struct probe_link links[PROBE_MAX_LINKS];
  const uint32_t *group;         /* pass index -> group index; NULL: the same */
  /* Index in srcs of our address toward host g; -1: the kernel has no
   * route to g (discovery then sends it nothing, and it is never up). */
  int (*source)(const struct probe_env *env, uint32_t g);
  /* The link host g is on (index in links + 1), or 0: not on a link of ours. */
  int (*link)(const struct probe_env *env, uint32_t g);
  /* Discovery: host g is already known to be up. */
  bool (*is_up)(const struct probe_env *env, uint32_t g);
  void (*report)(const struct probe_env *env, const struct probe_verdict *v);
  /* counters (the engine counts probes sent, e->st) */
  uint64_t *bad_cookies;         /* replies whose cookie is not ours */
  uint64_t *malformed;           /* replies too short to check */
  void *owner;                   /* the filler's (struct scan, a test) */
  const struct payloads *udp_payloads; /* nmap-payloads; NULL: trawl's own */
  void *probe;                   /* the module's own state */
};

static inline uint32_t probe_group(const struct probe_env *env, uint32_t h) {
  return env->group ? env->group[h] : h;
}
/* Our source address toward pass host h. */
static inline const tw_pkt_addr *probe_src(const struct probe_env *env, uint32_t h) {
  return &env->srcs[env->source(env, probe_group(env, h))];
}

/* The cookie flow of a probe: our address, the target's, ports, protocol. */
void probe_flow(struct cookie_flow *f, const tw_pkt_addr *src, const tw_pkt_addr *dst,
                uint8_t proto, uint16_t sport, uint16_t dport);
/* The source port a probe to (dst, dport) carries: a cookie of the pair. */
uint16_t probe_sport(const struct probe_env *env, const tw_pkt_addr *src, const tw_pkt_addr *dst,
                     uint8_t proto, uint16_t dport);
/* Human name of an ICMP error, as Nmap's reasons say it. */
const char *probe_icmp_reason(const tw_rx *rx);

/* A reply, oriented: for an ICMP error quoting our probe, the target and
 * ports are those of the quote. */
struct probe_reply {
  const tw_pkt_addr *target, *us;
  uint16_t tport, uport; /* the target's port, ours */
  uint32_t h;            /* pass index */
  uint32_t g;            /* group index */
  int32_t p;             /* index of tport in the pass's ports (-1: none asked) */
  const tw_rx *rx;       /* the reply itself */
};

/* The prologue every reply handler starts with. Drops the reply (returns
 * 0) when the pass is over; when it is of another protocol than proto
 * (0: any); when a quote stops before its ports and ports are needed
 * (port_index or sport_proto given: counted malformed); when the target is
 * not a host of the pass, or port_index is given and the port is not
 * scanned (counted unsolicited); when sport_proto is given and our port is
 * not the source-port cookie of that protocol (counted bad cookie).
 * Otherwise fills r and returns 1. */
int probe_reply_begin(struct probe_env *env, const tw_rx *rx, uint8_t proto,
                      const int32_t *port_index, uint8_t sport_proto, struct probe_reply *r);
/* A port verdict from a reply that passed the prologue: the engine hears
 * the answer, then report() gets PROBE_PORT (first answer) or
 * PROBE_PORT_LATE. */
void probe_report_port(struct probe_env *env, const struct probe_reply *r, enum scan_proto proto,
                       enum port_state state, const char *reason, int ttl);
/* Pass host h never answered the probe of port: report() gets
 * PROBE_PORT_TIMEOUT with state (the engine's timeout op). */
void probe_report_timeout(struct probe_env *env, uint32_t h, enum scan_proto proto, uint16_t port,
                          enum port_state state);
/* Registers one waiter per source address for proto (TW_WAIT_ERRORS), into
 * w[0..nsrcs). */
int probe_wait_sources(struct probe_env *env, uint8_t proto, tw_req **w, tw_wait_cb cb);
/* Cancels the waiters a module registered (NULL entries skipped). */
void probe_cancel_waiters(tw_req **w, int n);
/* port -> index in ports[] (-1: not scanned), a 64K-entry table to free. */
int32_t *probe_port_index(const uint16_t *ports, uint32_t n);

/* ---- the modules ---- */

/* The raw TCP scans (probe-tcp.c): type is SCAN_SYN, SCAN_ACK or a flag
 * scan (SCAN_NULL ... SCAN_WINDOW); flags >= 0 (--scanflags) replaces the
 * type's own TCP flags, the type still reading the answers. */
int probe_tcp_open(struct probe_env *env, enum scan_type type, int flags, const uint16_t *ports,
                   uint32_t nports);
extern const struct probe_ops probe_tcp_ops;
void probe_tcp_close(struct probe_env *env);

/* UDP scan (probe-udp.c) over nhosts hosts. */
int probe_udp_open(struct probe_env *env, const uint16_t *ports, uint32_t nports, uint32_t nhosts);
extern const struct probe_ops probe_udp_ops;
void probe_udp_close(struct probe_env *env);

/* Host discovery (probe-disc.c): the probes are the pass's "ports". */
enum probe_disc_type {
  PROBE_D_ARP, PROBE_D_ND, PROBE_D_ECHO, PROBE_D_TS, PROBE_D_MASK, PROBE_D_SYN, PROBE_D_ACK, PROBE_D_UDP,
  PROBE_D_PROTO /* -PO: an IPv4 packet of protocol `port` */
};
struct probe_disc_kind {
  enum probe_disc_type type;
  uint16_t port; /* TCP/UDP port, or the protocol of PROBE_D_PROTO */
};
#define PROBE_DISC_MAX_KINDS 64
/* kinds: the probes, ARP and ND first; hosts: the pass's hosts (group
 * order), those equal to one of env->srcs are reported up at once
 * (localhost-response). */
int probe_disc_open(struct probe_env *env, const struct probe_disc_kind *kinds, uint32_t nkinds,
                    const tw_pkt_addr *hosts, uint32_t nhosts);
extern const struct probe_ops probe_disc_ops;
void probe_disc_close(struct probe_env *env);

#endif
