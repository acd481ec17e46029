/* timing.c: the -T0..-T5 table and the settings a template and the timing
 * options give (see timing.h for where every value comes from). options.c,
 * the raw engine's callers and the connect scan all take their timing from
 * here. */
#include <inttypes.h>
#include <string.h>
#include <trawl/error.h>

#include "cli/options.h"
#include "core/errmsg.h"
#include "scan/engine.h"
#include "scan/timing.h"

#include <sys/resource.h>

#define NMAP_HOSTGROUP_MAX 100000
#define NMAP_SCAN_DELAY_MAX 1000 /* Nmap's default ceiling of its dynamic scan delay */
#define TRAWL_MAX_RATE 5e6       /* the raw engine's ceiling from T3 up */
#define MIN_MAX_RTT_MS 5         /* Nmap refuses a smaller --max-rtt-timeout */

static const struct timing_template timing_table[TIMING_LEVELS] = {
    {
        .name = "paranoid",
        .initial_rtt_ms = 300000, .min_rtt_ms = 100, .max_rtt_ms = 300000, .max_retries = 10,
        .scan_delay_ms = 300000,
        .max_scan_delay_ms = {NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX},
        .min_hostgroup = 1, .max_hostgroup = NMAP_HOSTGROUP_MAX, .max_parallelism = 1,
        .start_rate = 1, .max_rate = 1,
    },
    {
        .name = "sneaky",
        .initial_rtt_ms = 15000, .min_rtt_ms = 100, .max_rtt_ms = 15000, .max_retries = 10,
        .scan_delay_ms = 15000,
        .max_scan_delay_ms = {NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX},
        .min_hostgroup = 1, .max_hostgroup = NMAP_HOSTGROUP_MAX, .max_parallelism = 1,
        .start_rate = 10, .max_rate = 10,
    },
    {
        .name = "polite",
        .initial_rtt_ms = 1000, .min_rtt_ms = 100, .max_rtt_ms = 10000, .max_retries = 10,
        .scan_delay_ms = 400,
        .max_scan_delay_ms = {NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX},
        .min_hostgroup = 1, .max_hostgroup = NMAP_HOSTGROUP_MAX, .max_parallelism = 1,
        .start_rate = 100, .max_rate = 100,
    },
    {
        .name = "normal",
        .initial_rtt_ms = 1000, .min_rtt_ms = 100, .max_rtt_ms = 10000, .max_retries = 10,
        .max_scan_delay_ms = {NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX, NMAP_SCAN_DELAY_MAX},
        .min_hostgroup = 1, .max_hostgroup = NMAP_HOSTGROUP_MAX,
        .start_rate = 10000, .max_rate = TRAWL_MAX_RATE, .connect_parallelism = 1024,
    },
    {
        .name = "aggressive",
        .initial_rtt_ms = 500, .min_rtt_ms = 100, .max_rtt_ms = 1250, .max_retries = 6,
        .max_scan_delay_ms = {10, NMAP_SCAN_DELAY_MAX, 10},
        .min_hostgroup = 1, .max_hostgroup = NMAP_HOSTGROUP_MAX,
        .start_rate = 50000, .max_rate = TRAWL_MAX_RATE, .connect_parallelism = 4096,
    },
    {
        .name = "insane",
        .initial_rtt_ms = 250, .min_rtt_ms = 50, .max_rtt_ms = 300, .max_retries = 2,
        .max_scan_delay_ms = {5, NMAP_SCAN_DELAY_MAX, 5},
        .host_timeout_ms = 900000, .script_timeout_ms = 600000,
        .min_hostgroup = 1, .max_hostgroup = NMAP_HOSTGROUP_MAX,
        .start_rate = 100000, .max_rate = TRAWL_MAX_RATE, .connect_parallelism = 8192,
    },
};

const struct timing_template *timing_template(int level) {
  return &timing_table[level >= 0 && level < TIMING_LEVELS ? level : TIMING_DEFAULT];
}

/* ---- the RTT timeouts, in Nmap's order --------------------------------------- */

struct rtt {
  uint64_t init, min, max;
};

static void rtt_set_init(struct rtt *r, uint64_t v) {
  r->init = v;
  if (v > r->max) r->max = v;
  if (v < r->min) r->min = v;
}

static void rtt_set_min(struct rtt *r, uint64_t v) {
  r->min = v;
  if (v > r->max) r->max = v;
  if (v > r->init) r->init = v;
}

static void rtt_set_max(struct rtt *r, uint64_t v) {
  r->max = v;
  if (v < r->min) r->min = v;
  if (v < r->init) r->init = v;
}

/* ---- finalize ------------------------------------------------------------------ */

static int timing_fail(char *err, size_t errlen, uint64_t ms, const char *what) {
  char v[32];
  snprintf(v, sizeof v, "%" PRIu64 "ms", ms);
  return errmsg_set(err, errlen, TW_EMALFORMED, "%s: '%s'", what, v);
}

int timing_finalize(struct options *o, char *err, size_t errlen) {
  const struct timing_template *t = timing_template(o->timing);
  unsigned given = o->timing_given;
  if (!(given & TIMING_RESOLVED)) {
    if (o->initial_rtt_ms != OPT_UNSET_MS) given |= TIMING_GIVEN_INITIAL_RTT;
    if (o->min_rtt_ms != OPT_UNSET_MS) given |= TIMING_GIVEN_MIN_RTT;
    if (o->max_rtt_ms != OPT_UNSET_MS) given |= TIMING_GIVEN_MAX_RTT;
    if (o->max_retries != OPT_UNSET) given |= TIMING_GIVEN_RETRIES;
    if (o->scan_delay_ms != OPT_UNSET_MS) given |= TIMING_GIVEN_SCAN_DELAY;
    if (o->host_timeout_ms != OPT_UNSET_MS) given |= TIMING_GIVEN_HOST_TIMEOUT;
    if (o->script_timeout_ms != OPT_UNSET_MS) given |= TIMING_GIVEN_SCRIPT_TIMEOUT;
  }
  if ((given & TIMING_GIVEN_MAX_RTT) && o->max_rtt_ms < MIN_MAX_RTT_MS)
    return timing_fail(err, errlen, o->max_rtt_ms, "--max-rtt-timeout must be at least 5ms");
  if ((given & TIMING_GIVEN_INITIAL_RTT) && o->initial_rtt_ms == 0)
    return timing_fail(err, errlen, o->initial_rtt_ms, "--initial-rtt-timeout must be more than 0");
  struct rtt r = {t->initial_rtt_ms, t->min_rtt_ms, t->max_rtt_ms};
  if (given & TIMING_GIVEN_INITIAL_RTT) rtt_set_init(&r, o->initial_rtt_ms);
  if (given & TIMING_GIVEN_MIN_RTT) rtt_set_min(&r, o->min_rtt_ms);
  if (given & TIMING_GIVEN_MAX_RTT) rtt_set_max(&r, o->max_rtt_ms);
  o->initial_rtt_ms = r.init;
  o->min_rtt_ms = r.min;
  o->max_rtt_ms = r.max;
  if (!(given & TIMING_GIVEN_RETRIES)) o->max_retries = t->max_retries;
  if (!(given & TIMING_GIVEN_SCAN_DELAY)) o->scan_delay_ms = t->scan_delay_ms;
  if (!(given & TIMING_GIVEN_HOST_TIMEOUT)) o->host_timeout_ms = t->host_timeout_ms;
  if (!(given & TIMING_GIVEN_SCRIPT_TIMEOUT)) o->script_timeout_ms = t->script_timeout_ms;
  o->timing_given = given | TIMING_RESOLVED;
  return 0;
}

/* ---- what the scan runs with ------------------------------------------------- */

void timing_engine_config(const struct options *o, uint64_t trace_t0, struct engine_config *c) {
  const struct timing_template *t = timing_template(o->timing);
  memset(c, 0, sizeof *c);
  c->start_rate = t->start_rate;
  c->min_rate = o->min_rate > 0 ? o->min_rate : 1;
  c->max_rate = o->max_rate > 0 ? o->max_rate : t->max_rate;
  if (o->min_rate > c->start_rate) c->start_rate = o->min_rate;
  c->rtt_init_ns = o->initial_rtt_ms * 1000000ull;
  c->rtt_min_ns = o->min_rtt_ms * 1000000ull;
  c->rtt_max_ns = o->max_rtt_ms * 1000000ull;
  c->max_retries = (int)o->max_retries;
  c->scan_delay_ns = o->scan_delay_ms * 1000000ull;
  c->seed = o->seed;
  c->shards = o->shards;
  c->shard = o->shard;
  c->ordered = o->ports_in_order;
  c->window = o->max_parallelism ? o->max_parallelism : 1u << 18;
  c->min_parallelism = o->min_parallelism;
  c->trace_t0 = trace_t0;
}

uint32_t timing_connect_parallelism(const struct options *o) {
  const struct timing_template *t = timing_template(o->timing);
  if (o->max_parallelism) return (uint32_t)o->max_parallelism; /* --max-parallelism */
  return t->max_parallelism ? t->max_parallelism : t->connect_parallelism;
}

uint32_t timing_fd_cap(uint32_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + 64)
      want = rl.rlim_cur > 128 ? (uint32_t)rl.rlim_cur - 64 : 64;
  }
  return want;
}

void timing_max_scan_delay(const struct options *o, uint64_t ms[TIMING_NPROTO]) {
  const struct timing_template *t = timing_template(o->timing);
  for (int p = 0; p < TIMING_NPROTO; p++) {
    ms[p] = t->max_scan_delay_ms[p];
    /* a --scan-delay the user gave raises the ceiling; the template's does
     * not; --max-scan-delay sets it, whatever --scan-delay says (as in
     * Nmap's report) */
    if ((o->timing_given & TIMING_GIVEN_SCAN_DELAY) && o->scan_delay_ms > ms[p]) ms[p] = o->scan_delay_ms;
    if (o->max_scan_delay_ms != OPT_UNSET_MS) ms[p] = o->max_scan_delay_ms;
  }
}

void timing_print_report(FILE *f, const struct options *o) {
  const struct timing_template *t = timing_template(o->timing);
  uint64_t msd[TIMING_NPROTO];
  timing_max_scan_delay(o, msd);
  uint64_t hg = o->max_hostgroup ? o->max_hostgroup : t->max_hostgroup;
  fprintf(f, "timing report (-T%d %s; milliseconds, 0: none):\n", o->timing, t->name);
  fprintf(f, "  hostgroups: min %" PRIu64 ", max %" PRIu64 "\n",
          o->min_hostgroup ? o->min_hostgroup : (uint64_t)t->min_hostgroup, hg);
  fprintf(f, "  rtt-timeouts: init %" PRIu64 ", min %" PRIu64 ", max %" PRIu64 "\n", o->initial_rtt_ms,
          o->min_rtt_ms, o->max_rtt_ms);
  fprintf(f, "  max-scan-delay: TCP %" PRIu64 ", UDP %" PRIu64 ", SCTP %" PRIu64 "\n", msd[TIMING_TCP],
          msd[TIMING_UDP], msd[TIMING_SCTP]);
  fprintf(f, "  parallelism: min %" PRIu64 ", max %" PRIu64 "\n",
          o->min_parallelism ? o->min_parallelism : (uint64_t)t->min_parallelism,
          o->max_parallelism ? o->max_parallelism : (uint64_t)t->max_parallelism);
  fprintf(f, "  max-retries: %ld, host-timeout: %" PRIu64 "\n", o->max_retries, o->host_timeout_ms);
  fprintf(f, "  min-rate: %g, max-rate: %g\n", o->min_rate, o->max_rate);
  fprintf(f, "  scan-delay: %" PRIu64 ", script-timeout: %" PRIu64 "\n", o->scan_delay_ms,
          o->script_timeout_ms);
  struct engine_config c;
  timing_engine_config(o, 0, &c);
  fprintf(f, "  trawl: start-rate %g, max-rate %g, connect-parallelism %" PRIu32 "\n",
          c.start_rate < c.max_rate ? c.start_rate : c.max_rate, c.max_rate, timing_connect_parallelism(o));
}
