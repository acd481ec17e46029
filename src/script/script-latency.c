/* script-latency.c: the latency probe (TRAWL_LATENCY_PROBE=1, or 2 to
 * print every late tick). A 10 ms timer in the engine's loop, re-armed
 * each time it fires: how late it fires is how long the loop was kept
 * from its timers (by scripts, the scan, anything). It also samples
 * memory: the Lua state's bytes and the process's resident set when the
 * most script runs are alive at once, against a baseline taken when the
 * first group's scripts are about to start. The report (key=value lines
 * on the error stream) comes when the engine is freed; bench/scripts.sh
 * reads it. The timer is unreferenced: it never keeps the loop running. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "script/script-int.h"

#define LATENCY_PERIOD_NS 10000000ull

struct latency_probe {
  tw_timer *tm;
  uint64_t due;
  uint64_t ticks, busy_ticks;
  uint64_t worst_ns, busy_worst_ns;
  uint32_t busy_hist[1001]; /* busy ticks by lateness in ms (the last: >= 1 s) */
  bool have_base, verbose, settled;
  uint64_t t0;
  size_t base_lua, peak_lua;
  long base_rss, peak_rss; /* KiB */
  unsigned peak_runs;
};

static long latency_rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, rss = -1;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &rss) != 2) rss = -1;
  fclose(f);
  return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void latency_cb(tw_timer *tm, int status) {
  struct script_engine *e = tw_data(tm);
  struct latency_probe *p = e->probe;
  if (status < 0 || !p) return;
  uint64_t now = tw_hrtime();
  uint64_t late = now > p->due ? now - p->due : 0;
  p->ticks++;
  if (late > p->worst_ns) p->worst_ns = late;
  if (p->verbose && late > 5000000)
    fprintf(e->errfp, "trawl: latency-probe late_ms=%.3f at_s=%.3f live=%u runs=%u left=%zu\n",
            late / 1e6, (now - p->t0) / 1e9, e->nlive, e->nthreads, e->runs_left);
  if (e->nlive > 0) {
    p->busy_ticks++;
    if (late > p->busy_worst_ns) p->busy_worst_ns = late;
    p->busy_hist[late / 1000000 < 1000 ? late / 1000000 : 1000]++;
  }
  /* memory with the most runs alive, sampled once they have all started
   * and are all waiting (nothing ready, nothing left to start) */
  if (p->have_base && e->nthreads > 0 &&
      (e->nthreads > p->peak_runs || (e->nthreads == p->peak_runs && !p->settled))) {
    p->peak_runs = e->nthreads;
    p->peak_lua = e->lua_bytes;
    p->peak_rss = latency_rss_kib();
    p->settled = !sched_any_ready(e) && !e->defer_head && !sched_can_start(e) && !e->rules_pending;
  }
  tw_loop_update_time(e->loop);
  tw_timer_start(tm, latency_cb, LATENCY_PERIOD_NS, 0);
  p->due = tw_timer_due(tm);
}

void latency_start(struct script_engine *e) {
  const char *env = getenv("TRAWL_LATENCY_PROBE");
  if (!env || !*env || !strcmp(env, "0")) return;
  struct latency_probe *p = calloc(1, sizeof *p);
  if (!p) return;
  if (tw_timer_new(e->loop, &p->tm, e) < 0) {
    free(p);
    return;
  }
  e->probe = p;
  p->verbose = !strcmp(env, "2");
  p->t0 = tw_hrtime();
  tw_loop_update_time(e->loop);
  tw_timer_start(p->tm, latency_cb, LATENCY_PERIOD_NS, 0);
  p->due = tw_timer_due(p->tm);
  tw_unref(p->tm);
}

void latency_base(struct script_engine *e) {
  struct latency_probe *p = e->probe;
  if (!p || p->have_base || e->nlive) return;
  p->have_base = true;
  p->base_lua = e->lua_bytes;
  p->base_rss = latency_rss_kib();
}

void latency_report(struct script_engine *e) {
  struct latency_probe *p = e->probe;
  if (!p) return;
  const struct script_stats *st = &e->st;
  /* percentiles of the busy ticks' lateness, to the millisecond above */
  unsigned pct[2] = {50, 99}, at[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    uint64_t want = (p->busy_ticks * pct[k] + 99) / 100, n = 0;
    for (unsigned ms = 0; ms <= 1000 && want; ms++)
      if ((n += p->busy_hist[ms]) >= want) {
        at[k] = ms + 1;
        break;
      }
  }
  fprintf(e->errfp,
          "trawl: latency-probe period_ms=10 ticks=%llu busy_ticks=%llu worst_ms=%.3f "
          "busy_worst_ms=%.3f busy_p50_ms<=%u busy_p99_ms<=%u\n",
          (unsigned long long)p->ticks, (unsigned long long)p->busy_ticks, p->worst_ns / 1e6,
          p->busy_worst_ns / 1e6, at[0], at[1]);
  fprintf(e->errfp,
          "trawl: script-stats started=%llu done=%llu timeouts=%llu errors=%llu peak_threads=%llu "
          "lua_peak_bytes=%zu\n",
          (unsigned long long)st->threads_started, (unsigned long long)st->threads_done,
          (unsigned long long)st->timeouts, (unsigned long long)st->errors,
          (unsigned long long)st->peak_threads, st->lua_peak_bytes);
  if (p->peak_runs)
    fprintf(e->errfp,
            "trawl: script-memory runs=%u base_lua_bytes=%zu lua_bytes=%zu base_rss_kib=%ld "
            "rss_kib=%ld lua_per_run_bytes=%.0f rss_per_run_kib=%.2f\n",
            p->peak_runs, p->base_lua, p->peak_lua, p->base_rss, p->peak_rss,
            ((double)p->peak_lua - (double)p->base_lua) / p->peak_runs,
            ((double)p->peak_rss - (double)p->base_rss) / p->peak_runs);
  fflush(e->errfp);
  tw_close(p->tm, NULL);
  free(p);
  e->probe = NULL;
}
