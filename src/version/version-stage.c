/* version-stage.c: the -sV stage of a host group (a row of scan/stage.c):
 * every open port of the group's live hosts goes through the version-scan
 * engine (vscan.h), and each answer becomes the port's struct port_version
 * in the results the outputs and scripts read.
 *
 *   1. settle   the hosts' port verdicts become result records
 *               (scan_settled_host), so each port has a stable
 *               struct port_result to carry its answer
 *   2. queue    TCP ports in state open, UDP ports open or open|filtered
 *               (Nmap probes both), in target then port order
 *   3. answer   vversion_done() per port, from the loop: hard or soft match,
 *               tcpwrapped, or an SF-Port fingerprint when a service
 *               answered and nothing matched; a UDP port that answered
 *               becomes open, as in Nmap
 *   4. end      when no port is pending, the engine is freed on the next
 *               loop pass (never from inside its own callback) and the scan
 *               goes on (scan_next)
 *
 * The database (struct sp_db) is loaded once per scan by scan.c, before
 * any packet is sent, and shared by every group. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "core/version.h"
#include "scan/scan.h"
#include "scan/timing.h"
#include "version/service-fp.h"
#include "version/vscan.h"

/* Connections per port running ahead of Nmap's order, and in all at
 * least (the timing template's connect parallelism raises it: 1024 at
 * -T3, 4096 at -T4; -T0/-T1's one connection lowers it), within the
 * descriptors we may open. */
#define VSTAGE_PER_PORT 6
#define VSTAGE_MIN_CONNS 512

struct vstage {
  struct scan *s;
  struct vs *v;
  tw_timer *end; /* frees the engine outside its callbacks */
  size_t total, done;
  uint64_t start_ns;
  char platform[96];
};

static void vstage_trace(void *ud, const char *line) {
  (void)ud;
  fprintf(stderr, "VERSION: %s\n", line);
}

static char *vstage_dup(const char *s) { return s && *s ? (char *)s : NULL; }

static void vstage_end(tw_timer *t, int status);

/* The answer for one port, from the engine. */
static void vversion_done(void *ud, void *item, const struct vs_result *r) {
  struct vstage *st = ud;
  struct port_result *p = item;
  struct port_version v;
  memset(&v, 0, sizeof v);
  char *cpe[VM_CPE_COUNT];
  const char *name = NULL;
  char *fp = NULL;
  v.ssl = r->ssl != 0; /* found inside the TLS tunnel */
  switch (r->state) {
  case VS_HARD:
  case VS_SOFT: {
    name = r->match.service;
    if (name && strncmp(name, "ssl/", 4) == 0) {
      v.ssl = true;
      name += 4;
    }
    const struct vm_result *m = &r->match.r;
    v.product = vstage_dup(m->field[SP_PRODUCT]);
    v.version = vstage_dup(m->field[SP_VERSION]);
    v.extrainfo = vstage_dup(m->field[SP_INFO]);
    v.hostname = vstage_dup(m->field[SP_HOSTNAME]);
    v.ostype = vstage_dup(m->field[SP_OSTYPE]);
    v.devicetype = vstage_dup(m->field[SP_DEVICETYPE]);
    for (int k = 0; k < VM_CPE_COUNT; k++)
      if (m->cpe[k][0]) cpe[v.ncpe++] = (char *)m->cpe[k];
    v.cpe = cpe;
    v.probed = true;
    break;
  }
  case VS_TCPWRAPPED:
    name = "tcpwrapped";
    v.probed = true;
    v.conf = 8; /* Nmap's confidence in a tcpwrapped verdict */
    break;
  case VS_NOMATCH:
    if (r->nfp) {
      struct vfp_info info = {TRAWL_VERSION, st->platform, st->s->o->version_intensity, v.ssl,
                              time(NULL)};
      fp = vfp_build(r, p->portid, p->proto, &info);
      v.fingerprint = fp;
    }
    break;
  case VS_INCOMPLETE:
  case VS_EXCLUDED:
    break;
  }
  /* a UDP port that answered a probe is open, as Nmap reports it */
  if (p->proto == PROTO_UDP && p->state == PORT_OPEN_FILTERED &&
      (r->state == VS_HARD || r->state == VS_SOFT || (r->state == VS_NOMATCH && r->nfp))) {
    p->state = PORT_OPEN;
    free(p->reason);
    p->reason = strdup("udp-response");
  }
  if ((r->state != VS_INCOMPLETE && r->state != VS_EXCLUDED) &&
      port_set_version(p, name, &v) < 0)
    scan_fail(st->s, "out of memory keeping a version result");
  free(fp);
  st->done++;
  if (vs_pending(st->v) == 0) tw_timer_start(st->end, vstage_end, 0, 0);
}

static void vstage_end(tw_timer *t, int status) {
  struct vstage *st = tw_data(t);
  if (status < 0) return;
  struct scan *s = st->s;
  if (s->o->debug)
    fprintf(stderr, "trawl: version pass: %zu ports in %.3fs\n", st->total,
            (double)(tw_hrtime() - st->start_ns) / 1e9);
  vs_free(st->v);
  tw_close(st->end, NULL);
  s->stage_ctx = NULL;
  s->stage_stop = NULL;
  s->stage_progress = NULL;
  free(st);
  scan_next(s);
}

/* Ctrl-C: no more answers; the stage ends on the next loop pass. */
static void vstage_stop(void *ctx) {
  struct vstage *st = ctx;
  tw_timer_start(st->end, vstage_end, 0, 0);
}

static double vstage_progress(const void *ctx) {
  const struct vstage *st = ctx;
  return st->total ? (double)st->done / (double)st->total : 1.0;
}

static int vstage_wants(const struct port_result *p) {
  if (p->proto == PROTO_TCP) return p->state == PORT_OPEN;
  if (p->proto == PROTO_UDP) return p->state == PORT_OPEN || p->state == PORT_OPEN_FILTERED;
  return 0;
}

int stage_version(struct scan *s) {
  if (!s->vdb || s->nhosts == 0) return 0;
  struct vstage *st = calloc(1, sizeof *st);
  if (!st) return -ENOMEM;
  st->s = s;
  st->start_ns = tw_hrtime();
  struct utsname u;
  snprintf(st->platform, sizeof st->platform, "%s-pc-linux-gnu",
           uname(&u) == 0 ? u.machine : "unknown");
  struct vs_opts vo = {0};
  vo.intensity = s->o->version_intensity;
  uint32_t par = timing_connect_parallelism(s->o);
  if (par > 1) par = 2 * par < VSTAGE_MIN_CONNS ? VSTAGE_MIN_CONNS : 2 * par;
  vo.max_conns = timing_fd_cap(par);
  vo.per_port = VSTAGE_PER_PORT;
  /* a reply that has begun ends after a short silence (vscan.h); a silent
   * service still gets each probe's full totalwaitms */
  vo.adaptive_waits = 1;
  if (s->o->version_trace) vo.trace = vstage_trace;
  int err = tw_timer_new(s->loop, &st->end, st);
  if (err < 0) {
    free(st);
    return err;
  }
  if ((err = vs_new(&st->v, s->loop, s->vdb, &vo, vversion_done, st)) < 0) {
    tw_close(st->end, NULL);
    free(st);
    return err;
  }
  for (uint32_t i = 0; i < s->nhosts; i++) {
    struct ghost *g = &s->hosts[i];
    if (!g->up || g->timedout) continue;
    struct host_result *r = scan_settled_host(s, i);
    if (!r) continue;
    for (size_t k = 0; k < r->nports; k++) {
      struct port_result *p = &r->ports[k];
      if (!vstage_wants(p)) continue;
      struct sockaddr_storage sa;
      memset(&sa, 0, sizeof sa);
      if (g->addr.family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = g->addr.v6;
        a6->sin6_port = htons(p->portid);
      } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
        a4->sin_family = AF_INET;
        a4->sin_addr = g->addr.v4;
        a4->sin_port = htons(p->portid);
      }
      if ((err = vs_add(st->v, (struct sockaddr *)&sa, p->proto, p)) < 0) break;
      st->total++;
    }
    if (err < 0) break;
  }
  if (err < 0 || st->total == 0) {
    vs_free(st->v);
    tw_close(st->end, NULL);
    free(st);
    return err < 0 ? err : 0;
  }
  s->stage_ctx = st;
  s->stage_stop = vstage_stop;
  s->stage_progress = vstage_progress;
  return 1;
}
