/* stage.c: the stage table (see stage.h). Each row names its stage, says
 * when it is wanted, and points at the start function in the stage's own
 * file: discovery and the port scans in their stages' glue, version
 * detection in version/version-stage.c, OS detection in os/os-stage.c,
 * reverse DNS in resolve.c, scripts in scan.c, --send-eth's next hops in
 * ethsend.c. */
#include "scan/stage.h"

#include "scan/ethsend.h"
#include "scan/scan.h"
#include "scan/traceroute.h"

static bool want_always(const struct scan *s) { return true; }
static bool want_send_eth(const struct scan *s) { return s->send_eth; }
static bool want_assume_up(const struct scan *s) { return s->o->skip_discovery; }
static bool want_discovery(const struct scan *s) { return !s->o->skip_discovery; }
static bool want_scan(const struct scan *s, enum scan_type t) {
  return !s->o->no_portscan && (s->o->scans & SCANF(t));
}
static bool want_syn(const struct scan *s) { return want_scan(s, SCAN_SYN); }
static bool want_ack(const struct scan *s) { return want_scan(s, SCAN_ACK); }
static bool want_connect(const struct scan *s) { return want_scan(s, SCAN_CONNECT); }
static bool want_udp(const struct scan *s) { return want_scan(s, SCAN_UDP); }
static bool want_scripts(const struct scan *s) { return s->scripts != NULL; }
static bool want_version(const struct scan *s) { return s->vdb != NULL; }
static bool want_os(const struct scan *s) { return s->osdb != NULL; }
static bool want_traceroute(const struct scan *s) { return s->o->traceroute && s->raw; }

/* -Pn: every host of the group is taken as up, as Nmap does. */
static int start_assume_up(struct scan *s) {
  for (uint32_t i = 0; i < s->nhosts; i++) s->hosts[i].up = !s->hosts[i].noroute;
  return 0;
}
static int start_discovery(struct scan *s) {
  return s->raw ? stage_discovery(s) : stage_connect_discovery(s);
}
static int start_syn(struct scan *s) { return stage_tcp(s, SCAN_SYN); }
static int start_ack(struct scan *s) { return stage_tcp(s, SCAN_ACK); }
/* -sN -sF -sX -sM -sW: one stage, the type options allow (only one) */
static bool want_flags(const struct scan *s) {
  return !s->o->no_portscan && (s->o->scans & SCANS_TCP_RAW & ~(SCANF(SCAN_SYN) | SCANF(SCAN_ACK)));
}
static int start_flags(struct scan *s) {
  for (enum scan_type t = SCAN_NULL; t <= SCAN_WINDOW; t++)
    if (s->o->scans & SCANF(t)) return stage_tcp(s, t);
  return 0;
}

const struct stage scan_stages[] = {
    {"next-hop", false, want_send_eth, ethsend_stage},
    {"assume-up", false, want_assume_up, start_assume_up},
    {"discovery", false, want_discovery, start_discovery},
    {"syn", true, want_syn, start_syn},
    {"ack", true, want_ack, start_ack},
    {"tcp-flags", true, want_flags, start_flags},
    {"connect", true, want_connect, stage_connect},
    {"udp", true, want_udp, stage_udp},
    {"version", false, want_version, stage_version},
    {"os", false, want_os, stage_os},
    {"traceroute", false, want_traceroute, traceroute_start},
    {"reverse-dns", false, want_always, stage_rdns},
    {"scripts", false, want_scripts, stage_scripts},
};
const size_t scan_nstages = sizeof scan_stages / sizeof scan_stages[0];
