/* ethsend.c: --send-eth and --spoof-mac (see ethsend.h).
 *
 * 1. The MAC to spoof, parsed as Nmap parses it (ethsend_spoof_parse).
 * 2. The next-hop stage: before discovery, every routed host of the group
 *    gets its next hop's MAC from tw_path_resolve (route, then the
 *    kernel's neighbour table or an ARP / neighbour solicitation of our
 *    own), at most ETHSEND_PARALLEL at once; a host whose next hop does
 *    not answer keeps none, and its probes are not sent (they go
 *    unanswered, as Nmap's do when its ARP fails).
 * 3. ethsend_send: the engine's raw IP packet behind a 14-byte Ethernet
 *    header, on the Ethernet socket of the host's interface.
 *
 * Only the engine's passes (discovery, the raw port scans) are framed
 * here; OS detection, traceroute and scripts send as before. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/route.h>

#include "core/errmsg.h"
#include "core/hex.h"
#include "db/mac-prefixes.h"
#include "scan/ethsend.h"
#include "scan/scan.h"

#define ETHSEND_PARALLEL 256

int ethsend_spoof_parse(const char *arg, const struct mac_prefixes *db, const uint8_t rnd[6],
                        uint8_t mac[6], char *err, size_t errlen) {
  memcpy(mac, rnd, 6);
  if (strcmp(arg, "0") == 0) return 0;
  /* hex digits, ':' and '-' only: a prefix of up to 12 digits */
  size_t nd = 0;
  bool hex = *arg != '\0';
  for (const char *p = arg; *p && hex; p++) {
    if (*p == ':' || *p == '-') continue;
    if (hex_value((unsigned char)*p) < 0 || nd == 12) hex = false;
    else nd++;
  }
  if (hex && nd > 0 && nd % 2 == 0) {
    size_t i = 0;
    for (const char *p = arg; *p; p++) {
      if (*p == ':' || *p == '-') continue;
      int v = hex_value((unsigned char)*p);
      if (i % 2 == 0) mac[i / 2] = (uint8_t)(v << 4 | (mac[i / 2] & 0x0f));
      else mac[i / 2] = (uint8_t)((mac[i / 2] & 0xf0) | v);
      i++;
    }
    return 0;
  }
  uint8_t pre[3];
  if (mac_prefixes_find(db, arg, pre) == 0) {
    memcpy(mac, pre, 3);
    return 0;
  }
  char q[4 * ERRMSG_QUOTE_MAX + 8];
  return errmsg_set(err, errlen, -EINVAL,
                    "--spoof-mac: '%s' is neither 0, a MAC address or prefix in hex (an even number of "
                    "digits), nor a vendor in %s",
                    errmsg_quote(q, sizeof q, arg, (size_t)-1),
                    db ? "nmap-mac-prefixes" : "a vendor list (none was found)");
}

/* ---- the next-hop stage --------------------------------------------------- */

struct ethsend_stage {
  struct scan *s;
  uint32_t next, inflight;
  bool starting; /* in ethsend_stage: the caller, not a callback, goes on */
};

struct ethsend_q {
  struct ethsend_stage *st;
  uint32_t g;
};

static void ethsend_pump(struct ethsend_stage *st);

static void ethsend_resolved(tw_req *req, int status, const tw_path *p, void *data) {
  (void)req;
  struct ethsend_q *q = data;
  struct ethsend_stage *st = q->st;
  struct ghost *g = &st->s->hosts[q->g];
  if (status == 0 && p && p->l2) {
    memcpy(g->nh_mac, p->dst_mac, 6);
    g->nh_ok = true;
  }
  free(q);
  st->inflight--;
  ethsend_pump(st);
}

static void ethsend_pump(struct ethsend_stage *st) {
  struct scan *s = st->s;
  while (st->inflight < ETHSEND_PARALLEL && st->next < s->nhosts && !s->interrupted) {
    uint32_t h = st->next++;
    struct ghost *g = &s->hosts[h];
    g->nh_ok = false;
    if (g->noroute || g->iface == 0) continue;
    struct ethsend_q *q = malloc(sizeof *q);
    if (!q) break;
    q->st = st;
    q->g = h;
    /* asked with the interface's own Ethernet socket: privileges are
     * dropped by now, and a new one could not be opened */
    tw_neigh_opts no = {0};
    no.eth = s->ifs[g->iface - 1].eth;
    if (s->spoof_mac_set) no.src_mac = s->spoof_mac;
    if (tw_path_resolve(s->loop, NULL, &g->addr, &no, ethsend_resolved, q) < 0) {
      free(q);
      continue;
    }
    st->inflight++;
  }
  if (st->inflight == 0 && !st->starting) {
    free(st);
    scan_next(s);
  }
}

int ethsend_stage(struct scan *s) {
  if (s->nhosts == 0) return 0;
  struct ethsend_stage *st = calloc(1, sizeof *st);
  if (!st) return -ENOMEM;
  st->s = s;
  st->starting = true;
  ethsend_pump(st);
  st->starting = false;
  if (st->inflight == 0) { /* nothing to resolve */
    free(st);
    return 0;
  }
  return 1;
}

/* ---- framing ----------------------------------------------------------------- */

int ethsend_send(struct scan *s, uint32_t gi, const uint8_t *pkt, size_t len) {
  const struct ghost *g = &s->hosts[gi];
  if (!g->nh_ok || g->iface == 0) return 0;
  struct scan_iface *f = &s->ifs[g->iface - 1];
  if (!f->eth || !f->info.has_mac) return 0;
  if (len > ETHSEND_FRAME_MAX - 14) return -EMSGSIZE;
  uint8_t *fr = s->eth_frame;
  memcpy(fr, g->nh_mac, 6);
  memcpy(fr + 6, s->spoof_mac_set ? s->spoof_mac : f->info.mac, 6);
  bool v6 = len > 0 && (pkt[0] >> 4) == 6;
  fr[12] = v6 ? 0x86 : 0x08;
  fr[13] = v6 ? 0xdd : 0x00;
  memcpy(fr + 14, pkt, len);
  return tw_rawsend(f->eth, fr, len + 14, NULL, NULL);
}
