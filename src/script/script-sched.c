/* script-sched.c: the scheduler. Decides what script work runs when, so
 * that timers and I/O stay on time with 10,000 scripts running:
 *
 *   - two ready queues of script threads: those woken by an event (I/O, a
 *     timer, another thread, a new run) and those preempted while
 *     computing; the woken go first, so a thread that waits on the network
 *     is never stuck behind compute-bound ones;
 *   - the run queue: runs wait until fewer than max_threads run, and a
 *     host's runs of dependency level L are released only once its runs
 *     of lower levels have ended;
 *   - the per-iteration budget (SCHED_BUDGET_NS): everything scripts cost
 *     the loop in one loop iteration (resumes from I/O callbacks, the
 *     hook's work, deferred I/O work such as TLS handshake steps) is
 *     bounded; an idle hook does the rest a budget's worth at a time.
 *
 * The hook's order: deferred I/O work, woken threads, new runs, the
 * group's rules (script-phase.c), and last the preempted threads, which
 * get whatever the budget leaves. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "script/script-int.h"

#define SCHED_BUDGET_NS 2000000ull /* script work per loop iteration */

static void sched_hook_cb(tw_hook *h, int status);

void sched_kick(struct script_engine *e) {
  if (!e->ready_running) {
    e->ready_running = true;
    tw_hook_start(e->ready_hook, sched_hook_cb);
  }
}

/* ---- ready queues -------------------------------------------------------- */

void sched_push(struct sthread *t, int q) {
  struct script_engine *e = t->e;
  if (t->ready || t->done) return;
  t->ready = (uint8_t)(q + 1);
  t->ready_next = NULL;
  if (e->rq[q].tail) e->rq[q].tail->ready_next = t;
  else e->rq[q].head = t;
  e->rq[q].tail = t;
  sched_kick(e);
}

static struct sthread *sched_pop(struct script_engine *e) {
  int q = e->rq[RQ_WOKEN].head ? RQ_WOKEN : RQ_PREEMPTED;
  struct sthread *t = e->rq[q].head;
  if (!t) return NULL;
  e->rq[q].head = t->ready_next;
  if (!e->rq[q].head) e->rq[q].tail = NULL;
  t->ready = 0;
  return t;
}

void sched_unlink(struct sthread *t) {
  struct script_engine *e = t->e;
  if (!t->ready) return;
  int q = t->ready - 1;
  struct sthread **pp = &e->rq[q].head, *prev = NULL;
  while (*pp && *pp != t) prev = *pp, pp = &(*pp)->ready_next;
  if (*pp) {
    *pp = t->ready_next;
    if (e->rq[q].tail == t) e->rq[q].tail = prev;
  }
  t->ready = 0;
}

bool sched_any_ready(const struct script_engine *e) {
  return e->rq[RQ_WOKEN].head || e->rq[RQ_PREEMPTED].head;
}

/* ---- the per-iteration budget and deferred work ------------------------------ */

/* The loop iteration's budget for running scripts (shared by the resumes
 * from I/O callbacks and the hook): spent so far in this iteration. */
static uint64_t sched_budget_spent(struct script_engine *e) {
  uint64_t it = tw_loop_iterations(e->loop);
  if (it != e->budget_iter) {
    e->budget_iter = it;
    e->budget_ns = 0;
  }
  return e->budget_ns;
}

bool sched_budget_left(struct script_engine *e) {
  return sched_budget_spent(e) < SCHED_BUDGET_NS;
}

void sched_budget_charge(struct script_engine *e, uint64_t since_ns) {
  sched_budget_spent(e);
  e->budget_ns += tw_hrtime() - since_ns;
}

void sched_defer(struct script_engine *e, struct sdefer *d, void (*fn)(struct sdefer *d)) {
  if (d->queued) return;
  d->queued = true;
  d->fn = fn;
  d->next = NULL;
  if (e->defer_tail) e->defer_tail->next = d;
  else e->defer_head = d;
  e->defer_tail = d;
  sched_kick(e);
}

/* Run one deferred piece of work; false when there is none. */
static bool sched_defer_step(struct script_engine *e) {
  struct sdefer *d = e->defer_head;
  if (!d) return false;
  e->defer_head = d->next;
  if (!e->defer_head) e->defer_tail = NULL;
  d->queued = false;
  d->next = NULL;
  d->fn(d);
  return true;
}

void sched_drain_deferred(struct script_engine *e) {
  while (sched_defer_step(e)) {}
}

/* ---- the run queue ------------------------------------------------------------ */

bool sched_can_start(const struct script_engine *e) {
  return e->queue_head && e->nthreads < e->max_threads;
}

static void sched_queue(struct script_engine *e, struct srun *r) {
  r->next = NULL;
  if (e->queue_tail) e->queue_tail->next = r;
  else e->queue_head = r;
  e->queue_tail = r;
}

void sched_host_advance(struct script_engine *e, struct shost *h) {
  while (h->curlevel <= e->maxlevel && h->lvleft[h->curlevel] == 0) h->curlevel++;
  if (h->curlevel > e->maxlevel) return;
  struct srun *r = h->lvq[h->curlevel];
  h->lvq[h->curlevel] = NULL;
  while (r) {
    struct srun *n = r->next;
    sched_queue(e, r);
    r = n;
  }
}

/* Runs start from the hook (a budget's worth per loop iteration). */
static void sched_pump(struct script_engine *e) {
  if (sched_can_start(e)) sched_kick(e);
}

void sched_run_finished(struct script_engine *e, struct srun *r) {
  struct shost *h = r->h;
  int lv = r->sc->level;
  free(r);
  e->runs_left--;
  if (--h->lvleft[lv] == 0 && lv == h->curlevel) sched_host_advance(e, h);
  sched_pump(e);
}

void sched_drop_queued(struct script_engine *e) {
  while (e->queue_head) {
    struct srun *r = e->queue_head;
    e->queue_head = r->next;
    r->h->lvleft[r->sc->level]--;
    e->runs_left--;
    free(r);
  }
  e->queue_tail = NULL;
  for (size_t i = 0; i < e->nhosts; i++) {
    struct shost *h = &e->hosts[i];
    for (int lv = 0; lv <= e->maxlevel; lv++) {
      while (h->lvq[lv]) {
        struct srun *r = h->lvq[lv];
        h->lvq[lv] = r->next;
        h->lvleft[lv]--;
        e->runs_left--;
        free(r);
      }
    }
  }
}

/* ---- deadlocks ------------------------------------------------------------------ */

bool sched_deadlocked(const struct script_engine *e) {
  return e->nlive > 0 && e->nsyncwait == e->nlive && !sched_any_ready(e) && !e->defer_head &&
         !sched_can_start(e) && !e->rules_pending;
}

#define SCHED_DEADLOCK_MSG                                                                     \
  "deadlock: waiting on a condition variable, mutex or thread that no script thread can "     \
  "wake any more (ended by the engine)"

/* Break a deadlock: end one waiting helper (its parent, which may be
 * waiting for it, then goes on as after any failed helper, as NSE's
 * scripts expect), or when no helper waits, every waiting run, each as
 * a failed run. The hook checks again after whatever this woke has run. */
static void sched_break_deadlock(struct script_engine *e) {
  e->st.deadlocks++;
  for (struct sthread *t = e->all; t; t = t->all_next) {
    if (t->run || !t->syncwait || t->ready) continue;
    lua_checkstack(t->L, 1);
    lua_pushstring(t->L, SCHED_DEADLOCK_MSG);
    st_kill(t, LUA_ERRRUN);
    return;
  }
  struct sthread *t;
  while ((t = e->all) != NULL) {
    /* a thread that an ended one woke (its condvar, its mutex) is ready
     * now, no longer stuck: it goes on */
    while (t && (!t->syncwait || t->ready)) t = t->all_next;
    if (!t) break;
    lua_checkstack(t->L, 1);
    lua_pushstring(t->L, SCHED_DEADLOCK_MSG);
    st_kill(t, LUA_ERRRUN);
  }
}

/* ---- the hook ------------------------------------------------------------------- */

/* The idle hook, while there is work, a budget's worth per loop
 * iteration: deferred I/O work, threads woken by events, new runs, the
 * group's rules, and last the threads preempted while computing (so they
 * never hold up the others, and get whatever the budget leaves). */
static void sched_hook_cb(tw_hook *h, int status) {
  struct script_engine *e = tw_data(h);
  if (status < 0) return;
  uint64_t start = tw_hrtime(), spent = sched_budget_spent(e);
  while (spent + (tw_hrtime() - start) < SCHED_BUDGET_NS) {
    if (sched_defer_step(e)) continue;
    if (e->rq[RQ_WOKEN].head) {
      struct sthread *t = sched_pop(e);
      st_run(t, t->nresume);
    } else if (sched_can_start(e)) {
      struct srun *r = e->queue_head;
      e->queue_head = r->next;
      if (!e->queue_head) e->queue_tail = NULL;
      if (srun_start(e, r) < 0) {
        script_report(e, "trawl: script '%s': out of memory starting a thread\n", r->sc->id);
        sched_run_finished(e, r);
      }
    } else if (e->rules_pending && phase_rule_step(e)) {
      continue;
    } else if (e->rq[RQ_PREEMPTED].head) {
      struct sthread *t = sched_pop(e);
      st_run(t, t->nresume);
    } else if (sched_deadlocked(e)) {
      sched_break_deadlock(e);
    } else {
      break;
    }
  }
  e->budget_ns += tw_hrtime() - start;
  if (!e->defer_head && !sched_any_ready(e) && !sched_can_start(e) && !e->rules_pending) {
    e->ready_running = false;
    tw_hook_stop(e->ready_hook);
    phase_check_done(e);
  }
}

int sched_init(struct script_engine *e) {
  int r = tw_hook_new(e->loop, &e->ready_hook, TW_HOOK_IDLE, e);
  if (r < 0) return r;
  /* started and stopped once: sched_kick restarts it with its callback */
  tw_hook_start(e->ready_hook, sched_hook_cb);
  tw_hook_stop(e->ready_hook);
  return 0;
}
