/* vscan.h: the version-scan engine on the one libtrawl loop. Given
 * (address, port, protocol) items it runs each port's probe sequence
 * (probe-order.h) and reports one service result per port.
 *
 * Answers are Nmap's: a port's probes are *committed* in Nmap's order
 * (NULL, registered, the rest; softmatch narrowing), and the port's result
 * is what Nmap's sequential scan would conclude from the same responses.
 * Speed comes from running probes ahead of that order: while the NULL
 * probe waits for a greeting, the next probes of the sequence already run
 * on their own connections (up to per_port per port, VS_UDP_PER_PORT for
 * a UDP port, and max_conns in all; while more ports wait than max_conns
 * allows, each port gets a fair share of at least 2);
 * their outcomes are used when the commit order reaches them, and thrown
 * away if a softmatch or a hard match means Nmap would never have sent
 * them. Each probe waits its totalwaitms for data (a late greeter is still
 * heard), reads until a hard match, the peer's close, the wait's end or
 * VS_RESP_MAX bytes, and matches after every read. tcpwrapped: the NULL
 * probe's connection closed by the peer with no data within its
 * tcpwrappedms. Every port's memory is bounded: runs are kept only for
 * the next 2 x per_port probes of the sequence (at most per_port of them
 * connected), each with VS_RESP_MAX bytes of response, plus VS_FP_MAX
 * fingerprint pieces of at most VS_FP_BYTES each; a run leaves that window
 * when it is committed or when a softmatch takes its probe out of the
 * sequence (a connection still open is then closed).
 *
 * Matching runs on the loop in slices (VS_MATCH_SLICE lines, about
 * VS_MATCH_BUDGET_NS per pass over all runs, in vscan.c): the worst single
 * regex measured is ~60-85 us, far under the 1 ms budget, so slicing is
 * enough and no worker thread is needed.
 *
 * Waits: by default each probe reads until its totalwaitms, as Nmap's
 * (the parallel probes hide most of it); vs_opts.adaptive_waits ends a
 * begun reply after a silence scaled to the port's RTT, and ends a silent
 * NULL probe early once a later probe of the port has been answered (a
 * service that answers requests without greeting first; see
 * VS_NULL_RTTS in vscan.c for why a late greeter is not cut short).
 *
 * The TLS tunnel, as Nmap: a TCP port whose answer is a hard match of
 * service "ssl" starts over inside TLS. Each probe's connection then does
 * a TLS handshake first (core/tls.h: memory BIOs driven by the loop's
 * reads, no verification, every version and cipher OpenSSL still has;
 * the engine owns its SSL_CTX), sends the payload through it and matches
 * the decrypted reply; the order is the sslports one, NULL first. The
 * result has ssl set. A handshake that fails or does not finish within
 * the probe's totalwaitms ends the tunnel: the port stays the "ssl" hard
 * match (tls_needed set), as it does when the tunnel's connections fail.
 * A tunnel whose handshake worked but whose replies matched nothing is
 * VS_NOMATCH with ssl set (Nmap's "ssl/unknown" and its fingerprint).
 *
 * A service named "ssl/NAME" by its match line is reported as is: the
 * caller shows it as NAME with tunnel="ssl", as Nmap does.
 *
 * Errors: vs_new/vs_add return 0 or a negative errno; network failures
 * end the port as VS_INCOMPLETE, except that a TCP port that never sent a
 * byte nor let a wait run out is VS_TCPWRAPPED (Nmap's rule: that includes
 * a connection refused at version-scan time). */
#ifndef TRAWL_VERSION_VSCAN_H
#define TRAWL_VERSION_VSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <trawl/loop.h>

#include "db/service-probes.h"
#include "version/match.h"

#define VS_RESP_MAX 4096 /* bytes kept per probe response (Nmap reads to 4096) */
#define VS_FP_MAX 8      /* unmatched responses kept for the SF-Port fingerprint */
#define VS_FP_BYTES 900  /* bytes of each (Nmap's cut) */

enum vs_state {
  VS_HARD,       /* hard match: service and fields set */
  VS_SOFT,       /* only a softmatch: service set */
  VS_NOMATCH,    /* every probe ran, nothing matched */
  VS_TCPWRAPPED, /* closed at once on connect, no data */
  VS_INCOMPLETE, /* a connection failed (refused, unreachable, timeout) */
  VS_EXCLUDED,   /* the database's Exclude lists the port */
};

struct vs_fp_piece {
  const char *probe; /* probe name */
  size_t total;      /* bytes received */
  size_t len;        /* bytes kept (<= VS_FP_BYTES) */
  uint8_t data[VS_FP_BYTES];
};

struct vs_result {
  enum vs_state state;
  struct vm_port match; /* match.service, match.r fields when HARD/SOFT */
  int tls_needed;       /* hard "ssl" and the tunnel gave nothing better */
  int ssl;              /* found inside the TLS tunnel: "ssl/NAME", tunnel="ssl" */
  unsigned probes_sent; /* connections made, committed or not */
  unsigned nfp;
  struct vs_fp_piece fp[VS_FP_MAX]; /* in commit order */
};

typedef void (*vs_done_cb)(void *ud, void *item, const struct vs_result *r);
typedef void (*vs_trace_fn)(void *ud, const char *line);

struct vs_opts {
  int intensity;               /* 0-9 (VP_INTENSITY_DEFAULT) */
  int allports;                /* ignore Exclude */
  unsigned max_conns;          /* connections in flight in all (>= 1) */
  unsigned per_port;           /* connections in flight per port (>= 1) */
  uint64_t connect_timeout_ns; /* 0: 5 s */
  /* 0: every probe reads until its totalwaitms (Nmap). 1: once a reply has
   * begun, a silence of 10 round trips (the port's quickest connect; at
   * least 50 ms) ends it. A service that has said nothing still gets the
   * whole totalwaitms, so a late greeter is heard either way; only a reply
   * that pauses longer than that mid-way can be read short. Also: a silent
   * NULL probe ends once a later probe of the port has had a reply and the
   * NULL connection has been silent for max(4 connect RTTs, that reply's
   * time) + 200 ms (a late greeter delays that reply too). */
  int adaptive_waits;
  vs_trace_fn trace;           /* --version-trace, may be NULL */
  void *trace_ud;
};

struct vs;

/* An engine on loop matching with db (which must outlive it). cb runs once
 * per added item, from the loop. */
int vs_new(struct vs **out, tw_loop *loop, const struct sp_db *db, const struct vs_opts *o,
           vs_done_cb cb, void *ud);
/* Queues one port; item is handed back to cb. addr: AF_INET or AF_INET6
 * with the port set. 0, -EINVAL, -ENOMEM. */
int vs_add(struct vs *v, const struct sockaddr *addr, enum scan_proto proto, void *item);
/* Ports added and not yet reported. */
size_t vs_pending(const struct vs *v);
/* Stops everything (no more callbacks) and frees the engine once the loop
 * has closed its handles; call from outside the engine's callbacks. */
void vs_free(struct vs *v);

#endif
