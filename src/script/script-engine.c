/* script-engine.c: the scripting engine (script.h). One Lua 5.4 state per
 * engine; every script file runs once in an environment of its own; each
 * (script, host[, port]) whose rule says yes becomes a *run*, executed by a
 * Lua coroutine (a *script thread*) that the one libtrawl loop resumes:
 * a C function that waits on the network suspends its thread
 * (st_suspend) and the operation's callback resumes it (st_resume).
 *
 * Scheduling: runs wait in a queue until fewer than max_threads run;
 * dependencies give scripts levels, and a host's runs of level L start
 * only once its runs of lower levels have ended. Everything scripts cost
 * the loop is bounded per loop iteration (SE_BUDGET_NS): an idle hook
 * evaluates the group's rules, starts queued runs and resumes ready
 * threads (made ready by other threads, or woken by an I/O callback after
 * the iteration's budget was spent) a budget's worth at a time; costly I/O
 * work (TLS handshake steps) is deferred to it the same way (st_defer).
 * So timers and I/O stay on time with 10,000 scripts running. A count
 * hook makes a thread that computes for more than a slice yield
 * (preemption) and enforces --script-timeout on busy loops.
 * TRAWL_LATENCY_PROBE=1 measures it (see se_probe_*).
 *
 * Results: an action's return value becomes a script_result on the port or
 * the host (structured tables -> <elem>/<table> trees, Nmap's rules); a
 * failing run prints its error and traceback to stderr and the rest goes
 * on. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/options.h"
#include "output/output.h"
#include "script/script-int.h"
#include "core/datadir.h"
#include "scan/privilege.h"

#define SE_SLICE_NS 2000000ull     /* a thread computes at most this long at once */
#define SE_BUDGET_NS 2000000ull    /* script work per loop iteration */
#define SE_GC_STEPSIZE 10          /* log2 of the Lua GC's step (bytes of debt) */
#define SE_HOOK_COUNT 1000         /* instructions between preemption checks */
#define SE_TREE_DEPTH 40

const char script_yield_mark = 0;
static const char se_flat_mark = 0;

/* A run: one script against one host (and port). */
struct srun {
  struct script *sc;
  struct shost *h;
  int port; /* index in h->res->ports, or -1 */
  struct srun *next;
};

/* A host of the current run (or the one pseudo-host of a pre/post phase). */
struct shost {
  struct host_result *res; /* NULL for pre/post */
  int idx;
  int table_ref;    /* its Lua host table */
  tw_pkt_addr src;
  char ifname[IF_NAMESIZE];
  struct srun **lvq;  /* per level: runs not yet started */
  unsigned *lvleft;   /* per level: runs not yet finished */
  int curlevel;
};

static void se_report(struct script_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void se_report(struct script_engine *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(e->errfp, fmt, ap);
  va_end(ap);
  fflush(e->errfp);
}

/* ---- memory ------------------------------------------------------------------ */

static void *se_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct script_engine *e = ud;
  if (ptr) e->lua_bytes -= osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  void *p = realloc(ptr, nsize);
  if (p) {
    e->lua_bytes += nsize;
    if (e->lua_bytes > e->st.lua_peak_bytes) e->st.lua_peak_bytes = e->lua_bytes;
  } else if (ptr) {
    e->lua_bytes += osize;
  }
  return p;
}

/* ---- threads ----------------------------------------------------------------- */

struct sthread *st_current(lua_State *L) { return *(struct sthread **)lua_getextraspace(L); }

struct sthread *st_check_block(lua_State *L, const char *what) {
  struct sthread *t = st_current(L);
  if (!t || t->done || !lua_isyieldable(L))
    luaL_error(L, "%s cannot wait here (only inside a script's action or a spawned function, "
                  "not in rules, at load time or in a metamethod called from C)", what);
  return t;
}

int st_pusherr(lua_State *L, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

const char *st_errstr(int err) {
  switch (err) {
  case -ETIMEDOUT: return "TIMEOUT";
  case TW_EOF: return "EOF";
  case -ECANCELED: return "CANCELLED";
  case 0: return "ERROR";
  default: break;
  }
  if (err < 0 && err > -4000) return strerror(-err);
  return tw_strerror(err);
}

void sres_own(struct sthread *t, struct sres *r) {
  r->owner = t;
  r->prev = NULL;
  r->next = t->res;
  if (t->res) t->res->prev = r;
  t->res = r;
}

void sres_unlink(struct sres *r) {
  struct sthread *t = r->owner;
  if (!t) return;
  if (r->prev) r->prev->next = r->next;
  else t->res = r->next;
  if (r->next) r->next->prev = r->prev;
  r->next = r->prev = NULL;
  r->owner = NULL;
}

static void se_ready_push(struct sthread *t);

int st_suspend(lua_State *L, struct sthread *t, st_cancel_fn cancel, void *obj) {
  t->cancel = cancel;
  t->cancel_obj = obj;
  t->waiting = 1;
  lua_pushlightuserdata(L, (void *)&script_yield_mark);
  return lua_yield(L, 1);
}

void st_wake(struct sthread *t, int nres) {
  t->cancel = NULL;
  t->nresume = nres;
  se_ready_push(t);
}

static void se_end(struct sthread *t, int status, int nres);

static void se_ready_cb(tw_hook *h, int status);

static void se_kick(struct script_engine *e) {
  if (!e->ready_running) {
    e->ready_running = true;
    tw_hook_start(e->ready_hook, se_ready_cb);
  }
}

/* Two ready queues: threads woken by an event (I/O, a timer, another
 * thread, a new run) and threads preempted while computing. The woken
 * go first, so a thread that waits on the network or a timer is never
 * stuck behind compute-bound ones (each of which gets its slice after). */
enum { RQ_WOKEN, RQ_PREEMPTED };

static void se_rq_push(struct sthread *t, int q) {
  struct script_engine *e = t->e;
  if (t->ready || t->done) return;
  t->ready = (uint8_t)(q + 1);
  t->ready_next = NULL;
  if (e->rq[q].tail) e->rq[q].tail->ready_next = t;
  else e->rq[q].head = t;
  e->rq[q].tail = t;
  se_kick(e);
}

static void se_ready_push(struct sthread *t) { se_rq_push(t, RQ_WOKEN); }

static struct sthread *se_rq_pop(struct script_engine *e) {
  int q = e->rq[RQ_WOKEN].head ? RQ_WOKEN : RQ_PREEMPTED;
  struct sthread *t = e->rq[q].head;
  if (!t) return NULL;
  e->rq[q].head = t->ready_next;
  if (!e->rq[q].head) e->rq[q].tail = NULL;
  t->ready = 0;
  return t;
}

static void se_rq_unlink(struct sthread *t) {
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

static bool se_any_ready(const struct script_engine *e) {
  return e->rq[RQ_WOKEN].head || e->rq[RQ_PREEMPTED].head;
}

/* The loop iteration's budget for running scripts (shared by the resumes
 * from I/O callbacks and the hook): spent so far in this iteration. */
static uint64_t se_budget_spent(struct script_engine *e) {
  uint64_t it = tw_loop_iterations(e->loop);
  if (it != e->budget_iter) {
    e->budget_iter = it;
    e->budget_ns = 0;
  }
  return e->budget_ns;
}

bool st_budget_left(struct script_engine *e) { return se_budget_spent(e) < SE_BUDGET_NS; }

void st_budget_charge(struct script_engine *e, uint64_t since_ns) {
  se_budget_spent(e);
  e->budget_ns += tw_hrtime() - since_ns;
}

void st_defer(struct script_engine *e, struct sdefer *d, void (*fn)(struct sdefer *d)) {
  if (d->queued) return;
  d->queued = true;
  d->fn = fn;
  d->next = NULL;
  if (e->defer_tail) e->defer_tail->next = d;
  else e->defer_head = d;
  e->defer_tail = d;
  se_kick(e);
}

/* Run one deferred piece of work; false when there is none. */
static bool se_defer_step(struct script_engine *e) {
  struct sdefer *d = e->defer_head;
  if (!d) return false;
  e->defer_head = d->next;
  if (!e->defer_head) e->defer_tail = NULL;
  d->queued = false;
  d->next = NULL;
  d->fn(d);
  return true;
}

static void se_resume_now(struct sthread *t, int nargs) {
  t->waiting = 0;
  t->cancel = NULL;
  t->cancel_obj = NULL;
  t->slice_ns = tw_hrtime();
  int nres = 0;
  t->e->resume_depth++;
  int rc = lua_resume(t->L, NULL, nargs, &nres);
  t->e->resume_depth--;
  if (rc == LUA_YIELD) {
    if (t->killed) {
      lua_pop(t->L, nres);
      se_end(t, -ETIMEDOUT, 0);
      return;
    }
    if (nres == 1 && lua_touserdata(t->L, -1) == &script_yield_mark) {
      lua_pop(t->L, 1);
      t->waiting = 1; /* the C function set cancel */
      return;
    }
    /* preempted by the count hook, or a plain coroutine.yield() at the
     * thread's top level: just run again later */
    lua_pop(t->L, nres);
    t->preempted = 0;
    t->nresume = 0;
    se_rq_push(t, RQ_PREEMPTED);
    return;
  }
  se_end(t, rc == LUA_OK ? 0 : rc, nres);
}

/* From an operation's callback: run the thread now, unless this loop
 * iteration has spent its budget on scripts already (thousands of
 * timeouts expiring together, say): then it waits its turn in the ready
 * queue, and timers and I/O come first. */
void st_resume(struct sthread *t, int nargs) {
  struct script_engine *e = t->e;
  if (t->done) return;
  if (e->resume_depth || se_budget_spent(e) >= SE_BUDGET_NS) { /* later */
    st_wake(t, nargs);
    return;
  }
  uint64_t t0 = tw_hrtime();
  se_resume_now(t, nargs);
  e->budget_ns += tw_hrtime() - t0;
}

static bool se_rule_step(struct script_engine *e);
static int se_start_run(struct script_engine *e, struct srun *r);
static void se_check_done(struct script_engine *e);
static void se_run_finished(struct script_engine *e, struct srun *r);

static bool se_can_start(const struct script_engine *e) {
  return e->queue_head && e->nthreads < e->max_threads;
}

/* The idle hook, while there is work, a budget's worth per loop
 * iteration: deferred I/O work, threads woken by events, new runs, the
 * group's rules, and last the threads preempted while computing (so they
 * never hold up the others, and get whatever the budget leaves). */
static void se_ready_cb(tw_hook *h, int status) {
  struct script_engine *e = tw_data(h);
  if (status < 0) return;
  uint64_t start = tw_hrtime(), spent = se_budget_spent(e);
  while (spent + (tw_hrtime() - start) < SE_BUDGET_NS) {
    if (se_defer_step(e)) continue;
    if (e->rq[RQ_WOKEN].head) {
      struct sthread *t = se_rq_pop(e);
      se_resume_now(t, t->nresume);
    } else if (se_can_start(e)) {
      struct srun *r = e->queue_head;
      e->queue_head = r->next;
      if (!e->queue_head) e->queue_tail = NULL;
      if (se_start_run(e, r) < 0) {
        se_report(e, "trawl: script '%s': out of memory starting a thread\n", r->sc->id);
        se_run_finished(e, r);
      }
    } else if (e->rules_pending && se_rule_step(e)) {
      continue;
    } else if (e->rq[RQ_PREEMPTED].head) {
      struct sthread *t = se_rq_pop(e);
      se_resume_now(t, t->nresume);
    } else {
      break;
    }
  }
  e->budget_ns += tw_hrtime() - start;
  if (!e->defer_head && !se_any_ready(e) && !se_can_start(e) && !e->rules_pending) {
    e->ready_running = false;
    tw_hook_stop(e->ready_hook);
    se_check_done(e);
  }
}

/* Count hook: preemption and --script-timeout for threads that compute. */
static void se_hook(lua_State *L, lua_Debug *ar) {
  struct sthread *t = st_current(L);
  if (!t || t->done) return;
  uint64_t now = tw_hrtime();
  if (t->deadline_ns && now >= t->deadline_ns) {
    t->killed = t->timedout = 1;
    if (L == t->L && lua_isyieldable(L)) lua_yield(L, 0);
    else luaL_error(L, "script timed out");
    return;
  }
  if (L == t->L && now - t->slice_ns > SE_SLICE_NS && lua_isyieldable(L)) {
    t->preempted = 1;
    lua_yield(L, 0);
  }
}

static void se_timeout_cb(tw_timer *tm, int status);

static struct sthread *se_thread_new(struct script_engine *e, struct script *sc,
                                     struct shost *h, struct sthread *parent) {
  struct sthread *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->e = e;
  t->sc = sc;
  t->host = h;
  t->parent = parent;
  t->handle_ref = LUA_NOREF;
  t->L = lua_newthread(e->L);
  t->ref = luaL_ref(e->L, LUA_REGISTRYINDEX);
  *(struct sthread **)lua_getextraspace(t->L) = t;
  lua_sethook(t->L, se_hook, LUA_MASKCOUNT, SE_HOOK_COUNT);
  t->all_next = e->all;
  if (e->all) e->all->all_prev = t;
  e->all = t;
  e->nlive++;
  e->st.threads_started++;
  if (e->nlive > e->st.peak_threads) e->st.peak_threads = e->nlive;
  if (parent) t->deadline_ns = parent->deadline_ns;
  else if (e->cfg.timeout_ms) t->deadline_ns = tw_hrtime() + e->cfg.timeout_ms * 1000000ull;
  return t;
}

/* Per-thread --script-timeout timers live in a side table keyed by thread
 * (most runs never need one: only those still waiting at their deadline). */
struct se_tmo {
  tw_timer *tm;
  struct sthread *t;
};

static void se_kill(struct sthread *t, int status);

static void se_timeout_cb(tw_timer *tm, int status) {
  struct se_tmo *k = tw_data(tm);
  if (status < 0 || !k->t) return;
  struct sthread *t = k->t;
  k->t = NULL;
  t->timedout = 1;
  se_kill(t, -ETIMEDOUT);
}

static void se_tmo_close(void *tm) { free(tw_data(tm)); }

/* ---- ending threads --------------------------------------------------------- */

static void se_run_finished(struct script_engine *e, struct srun *r);
static void se_check_done(struct script_engine *e);
static int se_store_output(struct sthread *t, int nres);

/* Stop waiting (cancel the pending operation) and end the thread. */
static void se_kill(struct sthread *t, int status) {
  if (t->done) return;
  if (t->waiting && t->cancel) t->cancel(t, t->cancel_obj);
  t->cancel = NULL;
  t->waiting = 0;
  t->killed = 1;
  se_end(t, status, 0);
}

static void se_close_resources(struct sthread *t) {
  while (t->res) {
    struct sres *r = t->res;
    r->close(r); /* unlinks */
    if (t->res == r) sres_unlink(r);
  }
}

static const char *se_target(struct sthread *t, char *buf, size_t len) {
  struct shost *h = t->host;
  if (!h || !h->res) {
    snprintf(buf, len, "%s", t->e->phase == RULE_PRE ? "(prerule)" : "(postrule)");
    return buf;
  }
  char a[INET6_ADDRSTRLEN];
  tgt_addr_str(&h->res->addr, a, sizeof a);
  if (t->run && t->run->port >= 0) {
    struct port_result *p = &h->res->ports[t->run->port];
    snprintf(buf, len, "%s:%u/%s", a, p->portid, proto_name(p->proto));
  } else {
    snprintf(buf, len, "%s", a);
  }
  return buf;
}

/* status: 0 ok (nres results on the stack), a LUA_ERR* code (message on
 * the stack), or -ETIMEDOUT / -ECANCELED (killed). */
static void se_end(struct sthread *t, int status, int nres) {
  struct script_engine *e = t->e;
  if (t->done) return;
  t->done = 1;
  char tg[128];
  if (status == 0 && t->run) {
    if (se_store_output(t, nres) < 0) {
      e->st.errors++;
      se_report(e, "trawl: script '%s' on %s: %s\n", t->sc->id, se_target(t, tg, sizeof tg),
                lua_tostring(t->L, -1) ? lua_tostring(t->L, -1) : "bad return value");
    }
  } else if (status == -ETIMEDOUT) {
    e->st.timeouts++;
    if (!t->parent)
      se_report(e, "trawl: script '%s' on %s: timed out after %.3fs (--script-timeout)\n",
                t->sc->id, se_target(t, tg, sizeof tg), (double)e->cfg.timeout_ms / 1000.0);
  } else if (status == -ECANCELED) {
    /* stopped (interruption, engine freed): nothing to say */
  } else if (status != 0) {
    e->st.errors++;
    const char *msg = lua_tostring(t->L, -1);
    if (!msg) msg = luaL_typename(t->L, -1);
    luaL_traceback(e->L, t->L, msg, 0);
    se_report(e, "trawl: script '%s' failed on %s%s:\n%s\n", t->sc->id,
              se_target(t, tg, sizeof tg), t->parent ? " (spawned function)" : "",
              lua_tostring(e->L, -1));
    lua_pop(e->L, 1);
  }
  /* a helper's results go to its handle (for join()) and to its joiners */
  if (t->handle_ref != LUA_NOREF) {
    lua_State *M = e->L;
    lua_rawgeti(M, LUA_REGISTRYINDEX, t->handle_ref);
    struct sthread **hp = lua_touserdata(M, -1);
    if (hp) *hp = NULL;
    int n = status == 0 ? nres : 2;
    lua_createtable(M, n, 1);
    if (status == 0) {
      int base = lua_gettop(t->L) - nres;
      for (int i = 1; i <= nres; i++) {
        lua_pushvalue(t->L, base + i);
        lua_xmove(t->L, M, 1);
        lua_rawseti(M, -2, i);
      }
    } else {
      if (status > 0 && lua_type(t->L, -1) == LUA_TSTRING) {
        lua_pushvalue(t->L, -1);
        lua_xmove(t->L, M, 1);
      } else {
        lua_pushstring(M, status == -ETIMEDOUT ? "TIMEOUT" : status > 0 ? "error" : "CANCELLED");
      }
      lua_rawseti(M, -2, 2);
    }
    lua_pushinteger(M, n);
    lua_setfield(M, -2, "n");
    while (t->joiners) {
      struct sthread *j = t->joiners;
      t->joiners = j->join_next;
      j->join_next = NULL;
      for (int i = 1; i <= n; i++) {
        lua_rawgeti(M, -1, i);
        lua_xmove(M, j->L, 1);
      }
      st_wake(j, n);
    }
    lua_setiuservalue(M, -2, 1);
    lua_pop(M, 1);
    luaL_unref(M, LUA_REGISTRYINDEX, t->handle_ref);
    t->handle_ref = LUA_NOREF;
  }
  se_close_resources(t);
  se_rq_unlink(t);
  lua_settop(t->L, 0);
  lua_resetthread(t->L);
  luaL_unref(e->L, LUA_REGISTRYINDEX, t->ref);
  *(struct sthread **)lua_getextraspace(t->L) = NULL;
  if (t->all_prev) t->all_prev->all_next = t->all_next;
  else e->all = t->all_next;
  if (t->all_next) t->all_next->all_prev = t->all_prev;
  e->nlive--;
  e->st.threads_done++;
  struct srun *run = t->run;
  if (run) e->nthreads--;
  free(t);
  if (run) se_run_finished(e, run);
  se_check_done(e);
}

/* ---- host and port tables ---------------------------------------------------- */

static void se_setfs(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}
static void se_setfi(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static void se_push_host(struct script_engine *e, lua_State *L, struct shost *h) {
  if (h->table_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->table_ref);
    return;
  }
  struct host_result *r = h->res;
  char a[INET6_ADDRSTRLEN];
  lua_createtable(L, 0, 16);
  se_setfs(L, "ip", tgt_addr_str(&r->addr, a, sizeof a));
  lua_pushlstring(L, (const char *)&r->addr.u, r->addr.family == AF_INET6 ? 16 : 4);
  lua_setfield(L, -2, "bin_ip");
  se_setfs(L, "family", r->addr.family == AF_INET6 ? "inet6" : "inet");
  const char *user = NULL, *ptr = NULL;
  for (size_t i = 0; i < r->nnames; i++) {
    if (r->names[i].type == HOSTNAME_USER && !user) user = r->names[i].name;
    if (r->names[i].type == HOSTNAME_PTR && !ptr) ptr = r->names[i].name;
  }
  se_setfs(L, "name", ptr ? ptr : (user ? user : ""));
  if (user) se_setfs(L, "targetname", user);
  if (r->has_mac) {
    char m[32];
    snprintf(m, sizeof m, "%02x:%02x:%02x:%02x:%02x:%02x", r->mac[0], r->mac[1], r->mac[2],
             r->mac[3], r->mac[4], r->mac[5]);
    se_setfs(L, "mac", m);
    lua_pushlstring(L, (const char *)r->mac, 6);
    lua_setfield(L, -2, "mac_addr");
  }
  if (r->distance >= 0) {
    se_setfi(L, "distance", r->distance);
    lua_pushboolean(L, r->distance == 0);
    lua_setfield(L, -2, "directly_connected");
  }
  if (h->ifname[0]) se_setfs(L, "interface", h->ifname);
  if (h->src.family) {
    se_setfs(L, "srcip", tw_pkt_addr_str(&h->src, a, sizeof a));
    lua_pushlstring(L, (const char *)h->src.b, h->src.family == AF_INET6 ? 16 : 4);
    lua_setfield(L, -2, "bin_ip_src");
  }
  if (r->reason) se_setfs(L, "reason", r->reason);
  lua_createtable(L, 0, 3);
  if (r->srtt_us >= 0) se_setfi(L, "srtt", r->srtt_us);
  if (r->rttvar_us >= 0) se_setfi(L, "rttvar", r->rttvar_us);
  if (r->timeout_us >= 0) se_setfi(L, "timeout", r->timeout_us);
  lua_setfield(L, -2, "times");
  lua_newtable(L);
  lua_setfield(L, -2, "registry");
  lua_pushvalue(L, -1);
  h->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  (void)e;
}

static void se_push_port(lua_State *L, const struct port_result *p) {
  lua_createtable(L, 0, 8);
  se_setfi(L, "number", p->portid);
  se_setfs(L, "protocol", proto_name(p->proto));
  se_setfs(L, "state", port_state_name(p->state));
  if (p->reason) se_setfs(L, "reason", p->reason);
  if (p->service) se_setfs(L, "service", p->service);
  lua_createtable(L, 0, 1);
  if (p->service) se_setfs(L, "name", p->service);
  lua_setfield(L, -2, "version");
}

/* ---- output ------------------------------------------------------------------ */

struct dstr {
  char *s;
  size_t n, cap;
  bool oom;
};

static void ds_add(struct dstr *d, const char *s, size_t n) {
  if (d->oom) return;
  if (d->n + n + 1 > d->cap) {
    size_t nc = d->cap ? d->cap : 256;
    while (nc < d->n + n + 1) nc *= 2;
    char *p = realloc(d->s, nc);
    if (!p) {
      d->oom = true;
      return;
    }
    d->s = p;
    d->cap = nc;
  }
  memcpy(d->s + d->n, s, n);
  d->n += n;
  d->s[d->n] = 0;
}
static void ds_str(struct dstr *d, const char *s) { ds_add(d, s, strlen(s)); }

/* Build the tree from the flattened arrays (kinds, keys, values at
 * indices ki, kk, kv; n nodes): a linear pass. */
static int se_build(lua_State *L, int ki, int kk, int kv, lua_Integer n, struct script_node *root) {
  struct script_node *stack[SE_TREE_DEPTH + 2];
  int sp = 0;
  struct script_node *cur = root;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, ki, i);
    int kind = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (kind == 3) {
      if (sp > 0) cur = stack[--sp];
      continue;
    }
    lua_rawgeti(L, kk, i);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (kind == 1) {
      struct script_node *c = snode_add_table(cur, key);
      lua_pop(L, 1);
      if (!c || sp > SE_TREE_DEPTH) return -1;
      stack[sp++] = cur;
      cur = c;
    } else {
      lua_rawgeti(L, kv, i);
      const char *v = lua_tostring(L, -1);
      struct script_node *c = snode_add_elem(cur, key, v ? v : "");
      lua_pop(L, 2);
      if (!c) return -1;
    }
  }
  return 0;
}

/* The action's results (nres values on t->L; a table result comes
 * flattened by the bootstrap's runner) -> a script_result on the port,
 * the host or the phase. -1 with a message pushed on t->L for a bad
 * return value. */
static int se_store_output(struct sthread *t, int nres) {
  struct script_engine *e = t->e;
  lua_State *L = t->L;
  if (nres <= 0) return 0;
  int base = lua_gettop(L) - nres + 1;
  int tv = lua_type(L, base);
  if (tv == LUA_TNIL) return 0;
  struct host_result tmp, *dst = NULL;
  struct port_result *pr = NULL;
  if (t->host && t->host->res) {
    dst = t->host->res;
    if (t->run->port >= 0) pr = &dst->ports[t->run->port];
  } else {
    host_result_init(&tmp);
    dst = &tmp;
  }
  int rc = 0;
  if (tv == LUA_TLIGHTUSERDATA && lua_touserdata(L, base) == &se_flat_mark && nres >= 6) {
    const char *text = lua_tostring(L, base + 1);
    lua_Integer n = lua_tointeger(L, base + 5);
    struct script_result *sr = result_add_script(dst, pr, t->sc->id, text ? text : "");
    if (!sr) {
      lua_pushstring(L, "out of memory");
      rc = -1;
    } else if (se_build(L, base + 2, base + 3, base + 4, n, &sr->tree) < 0) {
      lua_pushstring(L, "out of memory building the output tree");
      rc = -1;
    } else if (sr->tree.nchild == 0 && (!text || !*text)) {
      struct script_result *arr = pr ? pr->scripts : dst->hostscripts;
      size_t *cnt = pr ? &pr->nscripts : &dst->nhostscripts;
      free(arr[*cnt - 1].id);
      free(arr[*cnt - 1].output);
      free(arr[*cnt - 1].tree.child);
      (*cnt)--;
    }
  } else if (tv == LUA_TSTRING || tv == LUA_TNUMBER) {
    size_t l;
    const char *s = lua_tolstring(L, base, &l);
    if (l > 0 && !result_add_script(dst, pr, t->sc->id, s)) {
      lua_pushstring(L, "out of memory");
      rc = -1;
    }
  } else {
    lua_pushfstring(L, "action returned a %s: expected a string, a table or nil",
                    luaL_typename(L, base));
    rc = -1;
  }
  if (dst == &tmp) {
    if (rc == 0 && tmp.nhostscripts) {
      struct script_result **arr = e->phase == RULE_PRE ? &e->pre : &e->post;
      size_t *n = e->phase == RULE_PRE ? &e->npre : &e->npost;
      struct script_result *na = realloc(*arr, (*n + 1) * sizeof **arr);
      if (na) {
        *arr = na;
        na[(*n)++] = tmp.hostscripts[0];
        tmp.nhostscripts = 0;
      }
    }
    host_result_free(&tmp);
  }
  return rc;
}

/* Sort a host's script results by id (Nmap's order). */
static int se_cmp_res(const void *a, const void *b) {
  return strcmp(((const struct script_result *)a)->id, ((const struct script_result *)b)->id);
}
static void se_sort_results(struct host_result *h) {
  if (h->nhostscripts > 1) qsort(h->hostscripts, h->nhostscripts, sizeof *h->hostscripts, se_cmp_res);
  for (size_t i = 0; i < h->nports; i++)
    if (h->ports[i].nscripts > 1)
      qsort(h->ports[i].scripts, h->ports[i].nscripts, sizeof *h->ports[i].scripts, se_cmp_res);
}

/* ---- the latency probe (TRAWL_LATENCY_PROBE=1) ------------------------------
 * A 10 ms timer in the engine's loop, re-armed each time it fires: how late
 * it fires is how long the loop was kept from its timers (by scripts, the
 * scan, anything). It also samples memory: the Lua state's bytes and the
 * process's resident set when the most script runs are alive at once,
 * against a baseline taken when the first group's scripts are about to
 * start. The report (key=value lines on the error stream) comes when the
 * engine is freed; bench/scripts.sh reads it. The timer is unreferenced:
 * it never keeps the loop running. */

#define SE_PROBE_NS 10000000ull

struct se_probe {
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

static long se_rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, rss = -1;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &rss) != 2) rss = -1;
  fclose(f);
  return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void se_probe_cb(tw_timer *tm, int status) {
  struct script_engine *e = tw_data(tm);
  struct se_probe *p = e->probe;
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
    p->peak_rss = se_rss_kib();
    p->settled = !se_any_ready(e) && !e->defer_head && !se_can_start(e) && !e->rules_pending;
  }
  tw_loop_update_time(e->loop);
  tw_timer_start(tm, se_probe_cb, SE_PROBE_NS, 0);
  p->due = tw_timer_due(tm);
}

static void se_probe_start(struct script_engine *e) {
  const char *env = getenv("TRAWL_LATENCY_PROBE");
  if (!env || !*env || !strcmp(env, "0")) return;
  struct se_probe *p = calloc(1, sizeof *p);
  if (!p) return;
  if (tw_timer_new(e->loop, &p->tm, e) < 0) {
    free(p);
    return;
  }
  e->probe = p;
  p->verbose = !strcmp(env, "2");
  p->t0 = tw_hrtime();
  tw_loop_update_time(e->loop);
  tw_timer_start(p->tm, se_probe_cb, SE_PROBE_NS, 0);
  p->due = tw_timer_due(p->tm);
  tw_unref(p->tm);
}

/* Host scripts are about to start: the memory baseline (once). */
static void se_probe_base(struct script_engine *e) {
  struct se_probe *p = e->probe;
  if (!p || p->have_base || e->nlive) return;
  p->have_base = true;
  p->base_lua = e->lua_bytes;
  p->base_rss = se_rss_kib();
}

static void se_probe_report(struct script_engine *e) {
  struct se_probe *p = e->probe;
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

/* ---- runs -------------------------------------------------------------------- */

static void se_pump(struct script_engine *e);

static void se_queue(struct script_engine *e, struct srun *r) {
  r->next = NULL;
  if (e->queue_tail) e->queue_tail->next = r;
  else e->queue_head = r;
  e->queue_tail = r;
}

/* Release the host's runs of its lowest unfinished level. */
static void se_host_advance(struct script_engine *e, struct shost *h) {
  while (h->curlevel <= e->maxlevel && h->lvleft[h->curlevel] == 0) h->curlevel++;
  if (h->curlevel > e->maxlevel) return;
  struct srun *r = h->lvq[h->curlevel];
  h->lvq[h->curlevel] = NULL;
  while (r) {
    struct srun *n = r->next;
    se_queue(e, r);
    r = n;
  }
}

static void se_run_finished(struct script_engine *e, struct srun *r) {
  struct shost *h = r->h;
  int lv = r->sc->level;
  free(r);
  e->runs_left--;
  if (--h->lvleft[lv] == 0 && lv == h->curlevel) se_host_advance(e, h);
  se_pump(e);
}

/* The timeout timer is a resource of its thread: closed when it ends. */
struct se_tmo_res {
  struct sres r;
  struct se_tmo *k;
};
static void se_tmo_res_close(struct sres *r) {
  struct se_tmo_res *tr = (struct se_tmo_res *)r;
  sres_unlink(r);
  tr->k->t = NULL;
  tw_close(tr->k->tm, se_tmo_close);
  free(tr);
}
static void se_tmo_attach(struct sthread *t, struct se_tmo *k) {
  struct se_tmo_res *tr = calloc(1, sizeof *tr);
  if (!tr) {
    k->t = NULL;
    tw_close(k->tm, se_tmo_close);
    return;
  }
  tr->k = k;
  tr->r.close = se_tmo_res_close;
  sres_own(t, &tr->r);
}

static int se_start_run(struct script_engine *e, struct srun *r) {
  struct sthread *t = se_thread_new(e, r->sc, r->h, NULL);
  if (!t) return -ENOMEM;
  t->run = r;
  e->nthreads++;
  lua_State *L = t->L;
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.runner");
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->sc->env_ref);
  lua_getfield(L, -1, "action");
  lua_remove(L, -2);
  int nargs = 1;
  if (r->h->res) {
    se_push_host(e, L, r->h);
    nargs++;
    if (r->port >= 0) {
      se_push_port(L, &r->h->res->ports[r->port]);
      nargs++;
    }
  }
  if (e->cfg.timeout_ms) {
    struct se_tmo *k = calloc(1, sizeof *k);
    if (k && tw_timer_new(e->loop, &k->tm, k) == 0) {
      k->t = t;
      tw_loop_update_time(e->loop); /* the cached time may be stale */
      tw_timer_start(k->tm, se_timeout_cb, e->cfg.timeout_ms * 1000000ull, 0);
      se_tmo_attach(t, k);
    } else {
      free(k);
    }
  }
  t->nresume = nargs;
  se_ready_push(t);
  return 0;
}

/* Runs start from the hook (a budget's worth per loop iteration). */
static void se_pump(struct script_engine *e) {
  if (se_can_start(e)) se_kick(e);
}

static void se_done_cb(tw_timer *tm, int status) {
  struct script_engine *e = tw_data(tm);
  if (status < 0) return;
  if (!e->running || e->rules_pending || e->runs_left || e->nlive) return;
  for (size_t i = 0; i < e->nhosts; i++) {
    struct shost *h = &e->hosts[i];
    if (h->res) se_sort_results(h->res);
    if (h->table_ref != LUA_NOREF) luaL_unref(e->L, LUA_REGISTRYINDEX, h->table_ref);
    free(h->lvq);
    free(h->lvleft);
  }
  free(e->hosts);
  e->hosts = NULL;
  e->nhosts = 0;
  e->running = false;
  if (e->phase == RULE_PRE && e->npre > 1) qsort(e->pre, e->npre, sizeof *e->pre, se_cmp_res);
  if (e->phase == RULE_POST && e->npost > 1) qsort(e->post, e->npost, sizeof *e->post, se_cmp_res);
  /* no full collection here: with 10,000 runs' garbage it takes 100 ms and
   * more at once; the incremental collector frees it as the scan goes */
  script_done_cb done = e->done;
  e->done = NULL;
  if (done) done(e->done_arg);
}

static void se_check_done(struct script_engine *e) {
  if (e->running && !e->rules_pending && e->runs_left == 0 && e->nlive == 0)
    tw_timer_start(e->done_timer, se_done_cb, 0, 0);
}

/* Evaluate a rule: calls fn(args) in the main state. 1 yes, 0 no. */
static int se_rule(struct script_engine *e, struct script *sc, const char *rule, struct shost *h,
                   int port) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.traceback");
  lua_rawgeti(L, LUA_REGISTRYINDEX, sc->env_ref);
  lua_getfield(L, -1, rule);
  lua_remove(L, -2);
  int nargs = 0;
  if (h && h->res) {
    se_push_host(e, L, h);
    nargs++;
    if (port >= 0) {
      se_push_port(L, &h->res->ports[port]);
      nargs++;
    }
  }
  e->rule_sc = sc;
  int rc = lua_pcall(L, nargs, 1, top + 1);
  e->rule_sc = NULL;
  int yes = 0;
  if (rc != LUA_OK) {
    e->st.errors++;
    char tg[128] = "";
    if (h && h->res) {
      char a[INET6_ADDRSTRLEN];
      tgt_addr_str(&h->res->addr, a, sizeof a);
      if (port >= 0)
        snprintf(tg, sizeof tg, " on %s:%u", a, h->res->ports[port].portid);
      else
        snprintf(tg, sizeof tg, " on %s", a);
    }
    se_report(e, "trawl: script '%s': %s failed%s:\n%s\n", sc->id, rule, tg,
              lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object is not a string)");
  } else {
    yes = lua_toboolean(L, -1);
  }
  lua_settop(L, top);
  return yes;
}

static int se_add_run(struct script_engine *e, struct script *sc, struct shost *h, int port) {
  struct srun *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  r->sc = sc;
  r->h = h;
  r->port = port;
  r->next = h->lvq[sc->level];
  h->lvq[sc->level] = r;
  h->lvleft[sc->level]++;
  e->runs_left++;
  return 0;
}

static int se_begin(struct script_engine *e, int phase, size_t nhosts, script_done_cb done,
                    void *arg) {
  if (e->running) return -EBUSY;
  e->hosts = calloc(nhosts ? nhosts : 1, sizeof *e->hosts);
  if (!e->hosts) return -ENOMEM;
  e->nhosts = nhosts;
  for (size_t i = 0; i < nhosts; i++) {
    e->hosts[i].idx = (int)i;
    e->hosts[i].table_ref = LUA_NOREF;
    e->hosts[i].lvq = calloc((size_t)e->maxlevel + 1, sizeof *e->hosts[i].lvq);
    e->hosts[i].lvleft = calloc((size_t)e->maxlevel + 1, sizeof *e->hosts[i].lvleft);
    if (!e->hosts[i].lvq || !e->hosts[i].lvleft) return -ENOMEM;
  }
  e->running = true;
  e->rules_pending = false;
  e->phase = phase;
  e->done = done;
  e->done_arg = arg;
  e->runs_left = 0;
  return 0;
}

/* Runs are all added: release level 0 of every host and start. */
static void se_go(struct script_engine *e) {
  for (size_t i = 0; i < e->nhosts; i++) se_host_advance(e, &e->hosts[i]);
  se_pump(e);
  se_check_done(e);
}

static int se_run_phase(struct script_engine *e, int phase, script_done_cb done, void *arg) {
  int err = se_begin(e, phase, 1, done, arg);
  if (err < 0) return err;
  const char *rule = phase == RULE_PRE ? "prerule" : "postrule";
  for (size_t i = 0; i < e->nscripts; i++) {
    struct script *sc = e->scripts[i];
    if (!sc->rule[phase]) continue;
    if (sc->forced || se_rule(e, sc, rule, NULL, -1)) se_add_run(e, sc, &e->hosts[0], -1);
  }
  se_go(e);
  return 0;
}

int script_run_prerules(struct script_engine *e, script_done_cb done, void *arg) {
  return se_run_phase(e, RULE_PRE, done, arg);
}

int script_run_postrules(struct script_engine *e, script_done_cb done, void *arg) {
  return se_run_phase(e, RULE_POST, done, arg);
}

int script_run_group(struct script_engine *e, struct host_result **hosts, size_t n,
                     const struct script_group_ctx *ctx, script_done_cb done, void *arg) {
  if (!e || (!hosts && n)) return -EINVAL;
  int err = se_begin(e, RULE_HOST, n, done, arg);
  if (err < 0) return err;
  for (size_t i = 0; i < n; i++) {
    struct shost *h = &e->hosts[i];
    h->res = hosts[i];
    if (ctx && ctx->srcs) h->src = ctx->srcs[i];
    if (ctx && ctx->ifnames && ctx->ifnames[i])
      snprintf(h->ifname, sizeof h->ifname, "%s", ctx->ifnames[i]);
  }
  /* the rules are evaluated from the hook, a slice at a time (se_rule_step) */
  e->rule_host = 0;
  e->rule_script = 0;
  e->rule_port = -1;
  e->rules_pending = true;
  se_probe_base(e);
  se_kick(e);
  return 0;
}

/* One rule of the group (hostrule, then each eligible port's portrule,
 * script by script, host by host); a host's runs are released once all
 * its rules are known. false when every rule has been evaluated. */
static bool se_rule_step(struct script_engine *e) {
  while (e->rule_host < e->nhosts) {
    struct shost *h = &e->hosts[e->rule_host];
    if (!h->res || h->res->status == HOST_DOWN || e->rule_script >= e->nscripts) {
      if (h->res && h->res->status != HOST_DOWN) se_host_advance(e, h);
      e->rule_host++;
      e->rule_script = 0;
      e->rule_port = -1;
      continue;
    }
    struct script *sc = e->scripts[e->rule_script];
    if (e->rule_port < 0) {
      e->rule_port = 0;
      if (sc->rule[RULE_HOST]) {
        if (sc->forced || se_rule(e, sc, "hostrule", h, -1)) se_add_run(e, sc, h, -1);
        return true;
      }
      continue;
    }
    if (!sc->rule[RULE_PORT] || (size_t)e->rule_port >= h->res->nports) {
      e->rule_script++;
      e->rule_port = -1;
      continue;
    }
    int p = (int)e->rule_port++;
    /* as NSE: portrules see open, open|filtered and unfiltered ports */
    enum port_state ps = h->res->ports[p].state;
    if (ps != PORT_OPEN && ps != PORT_OPEN_FILTERED && ps != PORT_UNFILTERED) continue;
    if (sc->forced || se_rule(e, sc, "portrule", h, p)) se_add_run(e, sc, h, p);
    return true;
  }
  e->rules_pending = false;
  return false;
}

void script_engine_stop(struct script_engine *e) {
  if (!e) return;
  /* nothing new starts */
  e->rules_pending = false;
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
  while (e->all) se_kill(e->all, -ECANCELED);
  se_check_done(e);
}

const struct script_result *script_engine_results(const struct script_engine *e,
                                                  enum script_phase ph, size_t *n) {
  *n = ph == SCRIPT_PRE ? e->npre : e->npost;
  return ph == SCRIPT_PRE ? e->pre : e->post;
}

void script_engine_stats(const struct script_engine *e, struct script_stats *st) {
  *st = e->st;
  st->lua_bytes = e->lua_bytes;
}

size_t script_engine_count(const struct script_engine *e) { return e ? e->nscripts : 0; }

bool script_engine_has_rule(const struct script_engine *e, const char *rule) {
  static const char *const names[4] = {"prerule", "hostrule", "portrule", "postrule"};
  for (int r = 0; r < 4; r++) {
    if (strcmp(rule, names[r])) continue;
    for (size_t i = 0; i < e->nscripts; i++)
      if (e->scripts[i]->rule[r]) return true;
  }
  return false;
}

/* ---- spawn / join ---------------------------------------------------------- */

int st_spawn(lua_State *L, struct sthread *parent, int fidx, int nargs) {
  struct script_engine *e = parent->e;
  struct sthread *t = se_thread_new(e, parent->sc, parent->host, parent);
  if (!t) return luaL_error(L, "out of memory");
  fidx = lua_absindex(L, fidx);
  lua_pushvalue(L, fidx);
  lua_xmove(L, t->L, 1);
  for (int i = 1; i <= nargs; i++) {
    lua_pushvalue(L, fidx + i);
    lua_xmove(L, t->L, 1);
  }
  /* the handle: userdata whose user value 1 holds the results when done */
  struct sthread **hp = lua_newuserdatauv(L, sizeof *hp, 1);
  *hp = t;
  luaL_setmetatable(L, "trawl.thread");
  lua_pushvalue(L, -1);
  t->handle_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  t->nresume = nargs;
  se_ready_push(t);
  return 1;
}

/* ---- loading scripts ------------------------------------------------------- */

static char *se_strdup_field(lua_State *L, int env, const char *k) {
  lua_getfield(L, env, k);
  char *s = lua_type(L, -1) == LUA_TSTRING ? strdup(lua_tostring(L, -1)) : NULL;
  lua_pop(L, 1);
  return s;
}

static int se_strlist(lua_State *L, int env, const char *k, char ***out, size_t *n, char *err,
                      size_t errlen, const char *id, bool required) {
  lua_getfield(L, env, k);
  *out = NULL;
  *n = 0;
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    if (required) {
      snprintf(err, errlen, "script '%s': no '%s' table", id, k);
      return -1;
    }
    return 0;
  }
  if (!lua_istable(L, -1)) {
    snprintf(err, errlen, "script '%s': '%s' must be a table of strings", id, k);
    lua_pop(L, 1);
    return -1;
  }
  size_t len = lua_rawlen(L, -1);
  *out = calloc(len + 1, sizeof **out);
  for (size_t i = 1; i <= len; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i);
    if (lua_type(L, -1) != LUA_TSTRING) {
      snprintf(err, errlen, "script '%s': '%s' must be a table of strings", id, k);
      lua_pop(L, 2);
      return -1;
    }
    (*out)[(*n)++] = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (required && *n == 0) {
    snprintf(err, errlen, "script '%s': '%s' is empty", id, k);
    return -1;
  }
  return 0;
}

void script_release(struct script *s) {
  if (!s) return;
  free(s->id);
  free(s->path);
  free(s->description);
  for (size_t i = 0; i < s->ncat; i++) free(s->categories[i]);
  free(s->categories);
  for (size_t i = 0; i < s->ndeps; i++) free(s->deps[i]);
  free(s->deps);
  free(s);
}

struct script *script_load(struct script_engine *e, const char *path, char *err, size_t errlen) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char id[256];
  snprintf(id, sizeof id, "%s", base);
  size_t il = strlen(id);
  if (il > 4 && strcmp(id + il - 4, ".lua") == 0) id[il - 4] = 0;
  struct stat stt;
  if (stat(path, &stt) != 0 || !S_ISREG(stt.st_mode)) {
    snprintf(err, errlen, "script '%s': cannot read %s: %s", id, path,
             stat(path, &stt) != 0 ? strerror(errno) : "not a regular file");
    return NULL;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.traceback");
  if (luaL_loadfilex(L, path, "t") != LUA_OK) {
    snprintf(err, errlen, "script '%s': cannot load %s: %s", id, path, lua_tostring(L, -1));
    lua_settop(L, top);
    return NULL;
  }
  /* its environment: globals of its own, reading through to _G */
  lua_newtable(L);
  lua_newtable(L);
  lua_pushglobaltable(L);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pushstring(L, id);
  lua_setfield(L, -2, "SCRIPT_NAME");
  lua_pushstring(L, path);
  lua_setfield(L, -2, "SCRIPT_PATH");
  lua_pushvalue(L, -1);
  int env = lua_gettop(L) - 1; /* index of the env copy after setupvalue pops one */
  lua_setupvalue(L, -3, 1);
  env = lua_gettop(L);
  lua_pushvalue(L, env - 1);  /* the chunk */
  if (lua_pcall(L, 0, 0, top + 1) != LUA_OK) {
    snprintf(err, errlen, "script '%s': error running %s: %s", id, path, lua_tostring(L, -1));
    lua_settop(L, top);
    return NULL;
  }
  struct script *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    lua_settop(L, top);
    return NULL;
  }
  s->id = strdup(id);
  s->path = strdup(path);
  s->env_ref = LUA_NOREF;
  lua_getfield(L, env, "description");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) {
    snprintf(err, errlen, "script '%s': 'description' must be a string", id);
    goto fail;
  }
  lua_pop(L, 1);
  s->description = se_strdup_field(L, env, "description");
  if (!s->description) {
    snprintf(err, errlen, "script '%s': no 'description' string", id);
    goto fail;
  }
  if (se_strlist(L, env, "categories", &s->categories, &s->ncat, err, errlen, id, true) < 0)
    goto fail;
  if (se_strlist(L, env, "dependencies", &s->deps, &s->ndeps, err, errlen, id, false) < 0) goto fail;
  static const char *const rules[4] = {"prerule", "hostrule", "portrule", "postrule"};
  bool any = false;
  for (int r = 0; r < 4; r++) {
    lua_getfield(L, env, rules[r]);
    int ty = lua_type(L, -1);
    lua_pop(L, 1);
    if (ty == LUA_TNIL) continue;
    if (ty != LUA_TFUNCTION) {
      snprintf(err, errlen, "script '%s': '%s' must be a function", id, rules[r]);
      goto fail;
    }
    s->rule[r] = any = true;
  }
  if (!any) {
    snprintf(err, errlen, "script '%s': no rule (prerule, hostrule, portrule or postrule)", id);
    goto fail;
  }
  lua_getfield(L, env, "action");
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    snprintf(err, errlen, "script '%s': no 'action' function", id);
    goto fail;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, env);
  s->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, top);
  return s;
fail:
  lua_settop(L, top);
  script_release(s);
  return NULL;
}

/* ---- the engine ------------------------------------------------------------ */

static int se_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* coroutine.create for scripts: the new coroutine knows its script thread
 * (so that a C function it calls can suspend the thread). */
static int se_cocreate(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  *(struct sthread **)lua_getextraspace(co) = st_current(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  return 1;
}

static const char se_bootstrap[] =
    "local MARK, cocreate, FLAT = ...\n"
    "local co_resume, co_yield, co_status = coroutine.resume, coroutine.yield, coroutine.status\n"
    "local select, rawequal, error = select, rawequal, error\n"
    "local function pass(co, ok, ...)\n"
    "  if ok and select('#', ...) == 1 and rawequal((...), MARK) and co_status(co) == 'suspended' then\n"
    "    return pass(co, co_resume(co, co_yield(MARK)))\n"
    "  end\n"
    "  return ok, ...\n"
    "end\n"
    "coroutine.create = cocreate\n"
    "local function resume(co, ...) return pass(co, co_resume(co, ...)) end\n"
    "coroutine.resume = resume\n"
    "local function unwrap(ok, ...) if not ok then error((...), 0) end return ... end\n"
    "coroutine.wrap = function(f)\n"
    "  local co = cocreate(f)\n"
    "  return function(...) return unwrap(resume(co, ...)) end\n"
    "end\n"
    "local mtype, tostring, sort, getmetatable, next, pairs, rawlen = math.type, tostring, table.sort, getmetatable, next, pairs, rawlen\n"
    "local function keys(t)\n"
    "  local out, n = {}, 0\n"
    "  local mt = getmetatable(t)\n"
    "  if mt and mt.__pairs then for k in pairs(t) do n = n + 1; out[n] = k end return out end\n"
    "  local len = rawlen(t)\n"
    "  for i = 1, len do if t[i] == nil then len = i - 1 break end out[i] = i end\n"
    "  n = len\n"
    "  local rest = {}\n"
    "  for k in next, t do if not (mtype(k) == 'integer' and k >= 1 and k <= len) then rest[#rest + 1] = k end end\n"
    "  sort(rest, function(a, b) return tostring(a) < tostring(b) end)\n"
    "  for i = 1, #rest do out[n + i] = rest[i] end\n"
    "  return out\n"
    "end\n"
    "local type, getmetatable, concat = type, getmetatable, table.concat\n"
    "-- An action's table result, walked here in the script's own thread (so\n"
    "-- a huge one can be preempted): parallel arrays of node kinds (1 table,\n"
    "-- 2 elem, 3 end of table), keys (false: none) and values, and the text.\n"
    "local function flatten(root)\n"
    "  local kinds, ks, vs, n, lines, nl = {}, {}, {}, 0, {}, 0\n"
    "  local function walk(t, depth, indent)\n"
    "    if depth > 40 then return end\n"
    "    local order = keys(t)\n"
    "    for i = 1, #order do\n"
    "      local k = order[i]\n"
    "      local v = t[k]\n"
    "      local key = false\n"
    "      if type(k) == 'string' then key = k elseif mtype(k) ~= 'integer' then key = tostring(k) end\n"
    "      local head = key and (indent .. key .. ': ') or indent\n"
    "      local mt = type(v) == 'table' and getmetatable(v)\n"
    "      if type(v) == 'table' and not (mt and mt.__tostring) then\n"
    "        n = n + 1; kinds[n] = 1; ks[n] = key\n"
    "        nl = nl + 1; lines[nl] = head\n"
    "        walk(v, depth + 1, indent .. '  ')\n"
    "        n = n + 1; kinds[n] = 3\n"
    "      else\n"
    "        local sv = tostring(v)\n"
    "        n = n + 1; kinds[n] = 2; ks[n] = key; vs[n] = sv\n"
    "        nl = nl + 1; lines[nl] = head .. sv\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  walk(root, 0, '  ')\n"
    "  return kinds, ks, vs, n, nl > 0 and ('\\n' .. concat(lines, '\\n')) or ''\n"
    "end\n"
    "local function finish(v1, v2, ...)\n"
    "  if type(v1) ~= 'table' then return v1, v2, ... end\n"
    "  local kinds, ks, vs, n, text = flatten(v1)\n"
    "  local mt = getmetatable(v1)\n"
    "  if type(v2) == 'string' or type(v2) == 'number' then text = tostring(v2)\n"
    "  elseif mt and mt.__tostring then text = tostring(v1) end\n"
    "  return FLAT, text, kinds, ks, vs, n\n"
    "end\n"
    "local function runner(action, ...) return finish(action(...)) end\n"
    "return keys, runner\n";

static int se_find_dir(char *out, size_t len, const struct script_config *cfg, const char *sub) {
  return datadir_find(DATADIR_TRAWL, cfg->datadir, sub, DATADIR_DIR, out, len);
}

static int se_read_file(const char *path, char **out) {
  FILE *f = fopen(path, "r");
  if (!f) return -errno;
  struct dstr d = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) ds_add(&d, buf, n);
  fclose(f);
  if (d.oom) {
    free(d.s);
    return -ENOMEM;
  }
  *out = d.s ? d.s : strdup("");
  return 0;
}

/* --script-args-file: the same syntax, one or more per line; '#' starts a
 * comment line. */
static char *se_args_file_text(const char *text) {
  struct dstr d = {0};
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t l = nl ? (size_t)(nl - p) : strlen(p);
    const char *s = p;
    while (l && isspace((unsigned char)*s)) s++, l--;
    while (l && isspace((unsigned char)s[l - 1])) l--;
    if (l && *s != '#') {
      if (d.n) ds_str(&d, ",");
      ds_add(&d, s, l);
    }
    p = nl ? nl + 1 : p + strlen(p);
  }
  if (!d.s) d.s = strdup("");
  return d.s;
}

static int se_levels(struct script_engine *e, char *err, size_t errlen) {
  /* level = 1 + max(level of selected dependencies); cycles are errors */
  size_t n = e->nscripts;
  int *state = calloc(n ? n : 1, sizeof *state); /* 0 new, 1 visiting, 2 done */
  if (!state) return -ENOMEM;
  e->maxlevel = 0;
  for (size_t iter = 0; iter < n; iter++) {
    /* iterative relaxation: at most n rounds */
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
      struct script *s = e->scripts[i];
      int lv = 0;
      for (size_t d = 0; d < s->ndeps; d++)
        for (size_t j = 0; j < n; j++)
          if (strcmp(e->scripts[j]->id, s->deps[d]) == 0 && e->scripts[j]->level + 1 > lv)
            lv = e->scripts[j]->level + 1;
      if (lv != s->level) {
        s->level = lv;
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (size_t i = 0; i < n; i++) {
    if (e->scripts[i]->level >= (int)n) {
      snprintf(err, errlen, "script '%s': dependency cycle (its dependencies depend on it)",
               e->scripts[i]->id);
      free(state);
      return -EINVAL;
    }
    if (e->scripts[i]->level > e->maxlevel) e->maxlevel = e->scripts[i]->level;
  }
  free(state);
  return 0;
}

static int se_cmp_script(const void *a, const void *b) {
  const struct script *x = *(struct script *const *)a, *y = *(struct script *const *)b;
  if (x->level != y->level) return x->level - y->level;
  return strcmp(x->id, y->id);
}

static void se_config_from_options(struct script_config *c, const struct options *o) {
  memset(c, 0, sizeof *c);
  c->scripts = o->scripts ? o->scripts : (o->script_default ? "default" : NULL);
  c->script_args = o->script_args;
  c->script_args_file = o->script_args_file;
  c->trace = o->script_trace;
  c->timeout_ms = o->script_timeout_ms;
  c->max_threads = o->script_threads;
  c->datadir = o->datadir;
  c->verbose = o->verbose;
  c->debug = o->debug;
}

int script_engine_new(tw_loop *loop, const struct options *o, struct script_engine **out,
                      char *err, size_t errlen) {
  struct script_config c;
  se_config_from_options(&c, o);
  return script_engine_new_cfg(loop, &c, out, err, errlen);
}

static int se_new(tw_loop *loop, const struct script_config *cfg, struct script_engine **out,
                  char *err, size_t errlen, bool select_all_help) {
  *out = NULL;
  if (!cfg->scripts || !*cfg->scripts) {
    snprintf(err, errlen, "no scripts given (--script)");
    return -EINVAL;
  }
  struct script_engine *e = calloc(1, sizeof *e);
  if (!e) return -ENOMEM;
  e->loop = loop;
  e->cfg = *cfg;
  e->errfp = cfg->errfp ? cfg->errfp : stderr;
  e->tracefp = cfg->tracefp ? cfg->tracefp : stderr;
  e->registry_ref = e->mutexes_ref = LUA_NOREF;
  e->privileged = privilege_can_raw(); /* root, or CAP_NET_RAW kept (privilege.h) */
  unsigned mt = cfg->max_threads;
  if (!mt) {
    const char *env = getenv("TRAWL_SCRIPT_THREADS");
    long v = env ? strtol(env, NULL, 10) : 0;
    mt = v > 0 && v < 10000000 ? (unsigned)v : 1000;
  }
  e->max_threads = mt;
  int rc = -EINVAL;
  if (cfg->scriptdir) {
    snprintf(e->dir, sizeof e->dir, "%s", cfg->scriptdir);
  } else if (se_find_dir(e->dir, sizeof e->dir, cfg, "scripts") < 0) {
    e->dir[0] = 0; /* none: scripts given by path still run; never "." */
  }
  if (se_find_dir(e->libdir, sizeof e->libdir, cfg, "lualib") < 0) e->libdir[0] = 0;
  e->L = lua_newstate(se_alloc, e);
  if (!e->L) {
    free(e);
    snprintf(err, errlen, "cannot create the Lua state");
    return -ENOMEM;
  }
  lua_State *L = e->L;
  *(struct sthread **)lua_getextraspace(L) = NULL;
  luaL_openlibs(L);
  /* Incremental collection in small steps: Lua's default step (8 KB of
   * debt, about 2 ms of marking with thousands of threads alive) shows as
   * timer lateness; 1 KB steps keep each pause short. */
  lua_gc(L, LUA_GCINC, 0, 0, SE_GC_STEPSIZE);
  lua_pushcfunction(L, se_traceback);
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.traceback");
  /* package.path: lualib first, then the scripts directory; never the
   * current directory, whose files nobody vetted */
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s%s%s%s", e->libdir, e->libdir[0] ? "/?.lua;" : "", e->dir,
                  e->dir[0] ? "/?.lua" : "");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  if (luaL_loadbufferx(L, se_bootstrap, sizeof se_bootstrap - 1, "=trawl-bootstrap", "t") != LUA_OK) {
    snprintf(err, errlen, "bootstrap: %s", lua_tostring(L, -1));
    goto fail;
  }
  lua_pushlightuserdata(L, (void *)&script_yield_mark);
  lua_pushcfunction(L, se_cocreate);
  lua_pushlightuserdata(L, (void *)&se_flat_mark);
  if (lua_pcall(L, 3, 2, 0) != LUA_OK) {
    snprintf(err, errlen, "bootstrap: %s", lua_tostring(L, -1));
    goto fail;
  }
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.runner");
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.keys");
  if (tw_hook_new(loop, &e->ready_hook, TW_HOOK_IDLE, e) < 0 ||
      tw_timer_new(loop, &e->done_timer, e) < 0) {
    snprintf(err, errlen, "cannot create the script engine's loop handles");
    rc = -ENOMEM;
    goto fail;
  }
  tw_hook_start(e->ready_hook, se_ready_cb);
  tw_hook_stop(e->ready_hook);
  se_probe_start(e);
  lua_trawl_open(e, L);
  lua_tls_open(e, L);
  lua_packet_open(e, L);
  /* --script-args (file first, then the command line's, which win) */
  lua_getglobal(L, "trawl");
  lua_newtable(L); /* args */
  if (cfg->script_args_file) {
    char *text = NULL;
    int r = se_read_file(cfg->script_args_file, &text);
    if (r < 0) {
      snprintf(err, errlen, "cannot read --script-args-file '%s': %s", cfg->script_args_file,
               strerror(-r));
      goto fail;
    }
    char *flat = se_args_file_text(text);
    free(text);
    char e2[400];
    r = script_args_parse(L, flat, e2, sizeof e2);
    free(flat);
    if (r < 0) {
      snprintf(err, errlen, "bad --script-args-file '%s': %s", cfg->script_args_file, e2);
      goto fail;
    }
    /* merge */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, -5);
    }
    lua_pop(L, 1);
  }
  if (cfg->script_args) {
    char e2[400];
    if (script_args_parse(L, cfg->script_args, e2, sizeof e2) < 0) {
      snprintf(err, errlen, "bad --script-args: %s", e2);
      goto fail;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, -5);
    }
    lua_pop(L, 1);
  }
  lua_setfield(L, -2, "args");
  lua_pop(L, 1);
  (void)select_all_help;
  if (script_select(e, cfg->scripts, err, errlen) < 0) goto fail;
  if (se_levels(e, err, errlen) < 0) goto fail;
  qsort(e->scripts, e->nscripts, sizeof *e->scripts, se_cmp_script);
  *out = e;
  return 0;
fail:
  script_engine_free(e);
  return rc;
}

int script_engine_new_cfg(tw_loop *loop, const struct script_config *cfg,
                          struct script_engine **out, char *err, size_t errlen) {
  return se_new(loop, cfg, out, err, errlen, false);
}

const char *script_dir(const struct script_engine *e) { return e->dir; }

void script_engine_free(struct script_engine *e) {
  if (!e) return;
  script_engine_stop(e);
  while (se_defer_step(e)) {} /* their sockets are closed now: this lets them go */
  se_probe_report(e);
  if (e->hosts) {
    for (size_t i = 0; i < e->nhosts; i++) {
      free(e->hosts[i].lvq);
      free(e->hosts[i].lvleft);
    }
    free(e->hosts);
  }
  lua_packet_close(e);
  if (e->ready_hook) tw_close(e->ready_hook, NULL);
  if (e->done_timer) tw_close(e->done_timer, NULL);
  if (e->resolver) tw_close(e->resolver, NULL);
  if (e->L) lua_close(e->L);
  for (size_t i = 0; i < e->nscripts; i++) script_release(e->scripts[i]);
  free(e->scripts);
  for (size_t i = 0; i < e->npre; i++) {
    struct host_result h;
    host_result_init(&h);
    h.hostscripts = &e->pre[i];
    h.nhostscripts = 1;
    /* free the one result through host_result_free's path */
    struct script_result *one = malloc(sizeof *one);
    if (one) {
      *one = e->pre[i];
      h.hostscripts = one;
      host_result_free(&h);
    }
  }
  free(e->pre);
  for (size_t i = 0; i < e->npost; i++) {
    struct host_result h;
    host_result_init(&h);
    struct script_result *one = malloc(sizeof *one);
    if (one) {
      *one = e->post[i];
      h.hostscripts = one;
      h.nhostscripts = 1;
      host_result_free(&h);
    }
  }
  free(e->post);
  free(e);
}

/* ---- tracing ----------------------------------------------------------------- */

void script_trace(struct script_engine *e, struct sthread *t, const char *what, const void *data,
                  size_t len) {
  if (!e->cfg.trace) return;
  FILE *f = e->tracefp;
  fprintf(f, "SCRIPT TRACE %s: %s", t && t->sc ? t->sc->id : "-", what);
  if (data) {
    fprintf(f, " (%zu bytes) | ", len);
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
      unsigned c = p[i];
      if (c == '\r') fputs("\\r", f);
      else if (c == '\n') fputs("\\n", f);
      else if (c == '\t') fputs("\\t", f);
      else if (c == '\\') fputs("\\\\", f);
      else if (c >= 0x20 && c < 0x7f) fputc((int)c, f);
      else fprintf(f, "\\x%02x", c);
    }
  }
  fputc('\n', f);
  fflush(f);
}

/* ---- --script-help ----------------------------------------------------------- */

int script_help_cfg(const struct script_config *cfg, FILE *out, char *err, size_t errlen) {
  tw_loop *loop;
  int r = tw_loop_new(&loop);
  if (r < 0) {
    snprintf(err, errlen, "cannot create the event loop: %s", tw_strerror(r));
    return r;
  }
  struct script_engine *e;
  r = script_engine_new_cfg(loop, cfg, &e, err, errlen);
  if (r == 0) {
    for (size_t i = 0; i < e->nscripts; i++) {
      struct script *s = e->scripts[i];
      fprintf(out, "\n%s\n", s->id);
      fputs("Categories:", out);
      for (size_t k = 0; k < s->ncat; k++) fprintf(out, " %s", s->categories[k]);
      fputc('\n', out);
      fprintf(out, "  %s\n", s->path);
      /* description, each line indented */
      const char *d = s->description;
      while (*d == '\n') d++;
      fputs("  ", out);
      for (; *d; d++) {
        fputc(*d, out);
        if (*d == '\n' && d[1]) fputs("  ", out);
      }
      if (d > s->description && d[-1] != '\n') fputc('\n', out);
    }
    script_engine_free(e);
  }
  tw_loop_close(loop);
  return r;
}

int script_help(const struct options *o, FILE *out, char *err, size_t errlen) {
  struct script_config c;
  se_config_from_options(&c, o);
  c.scripts = o->script_help;
  return script_help_cfg(&c, out, err, errlen);
}

/* ---- the standalone runner (trawl --script-test) ----------------------------- */

struct se_runner {
  bool done;
};

static void se_runner_done(void *arg) { ((struct se_runner *)arg)->done = true; }

static int se_parse_target(const char *spec, struct host_result *h, char *err, size_t errlen) {
  char host[256], rest[64] = "";
  const char *p = spec;
  if (*p == '[') {
    const char *end = strchr(p, ']');
    if (!end || (size_t)(end - p - 1) >= sizeof host) goto bad;
    memcpy(host, p + 1, (size_t)(end - p - 1));
    host[end - p - 1] = 0;
    p = end + 1;
    if (*p == ':') snprintf(rest, sizeof rest, "%s", p + 1);
    else if (*p) goto bad;
  } else {
    const char *c = strchr(p, ':');
    if (c && strchr(c + 1, ':')) c = NULL; /* a bare IPv6 address */
    size_t l = c ? (size_t)(c - p) : strlen(p);
    if (l == 0 || l >= sizeof host) goto bad;
    memcpy(host, p, l);
    host[l] = 0;
    if (c) snprintf(rest, sizeof rest, "%s", c + 1);
  }
  host_result_init(h);
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai) {
    snprintf(err, errlen, "cannot resolve '%s'", host);
    return -1;
  }
  if (ai->ai_family == AF_INET6) {
    h->addr.family = AF_INET6;
    h->addr.u.v6 = ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
  } else {
    h->addr.family = AF_INET;
    h->addr.u.v4 = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
  }
  freeaddrinfo(ai);
  struct in6_addr tmp;
  if (inet_pton(AF_INET, host, &tmp) != 1 && inet_pton(AF_INET6, host, &tmp) != 1)
    host_add_hostname(h, host, HOSTNAME_USER);
  host_set_reason(h, HOST_UP, "user-set", 0);
  if (rest[0]) {
    char *svc = strchr(rest, '=');
    if (svc) *svc++ = 0;
    enum scan_proto proto = PROTO_TCP;
    char *sl = strchr(rest, '/');
    if (sl) {
      *sl++ = 0;
      if (strcmp(sl, "udp") == 0) proto = PROTO_UDP;
      else if (strcmp(sl, "tcp") != 0) goto bad;
    }
    char *endp;
    long port = strtol(rest, &endp, 10);
    if (*endp || port < 0 || port > 65535) goto bad;
    host_add_port(h, proto, (uint16_t)port, PORT_OPEN, "user-set", 0, svc && *svc ? svc : NULL);
  }
  return 0;
bad:
  snprintf(err, errlen, "bad target '%s' (HOST, HOST:PORT[/tcp|/udp][=service])", spec);
  return -1;
}

int script_test_main(int argc, char **argv) {
  struct script_config c = {0};
  const char *ox = NULL, *oj = NULL, *on = NULL;
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--script-test") == 0) first = 2;
  struct host_result *hosts = calloc((size_t)argc, sizeof *hosts);
  struct host_result **hp = calloc((size_t)argc, sizeof *hp);
  size_t nh = 0;
  char err[512];
  int rc = 2;
  if (!hosts || !hp) return 1;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--script") && v) c.scripts = v, i++;
    else if (!strncmp(a, "--script=", 9)) c.scripts = a + 9;
    else if (!strcmp(a, "--script-args") && v) c.script_args = v, i++;
    else if (!strncmp(a, "--script-args=", 14)) c.script_args = a + 14;
    else if (!strcmp(a, "--script-args-file") && v) c.script_args_file = v, i++;
    else if (!strcmp(a, "--script-timeout") && v) c.timeout_ms = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--script-trace")) c.trace = true;
    else if (!strcmp(a, "--datadir") && v) c.datadir = v, i++;
    else if (!strcmp(a, "--script-dir") && v) c.scriptdir = v, i++;
    else if (!strcmp(a, "--dns-servers") && v) c.dns_servers = v, i++;
    else if (!strcmp(a, "--threads") && v) c.max_threads = (unsigned)strtoul(v, NULL, 10), i++;
    else if (!strcmp(a, "-oX") && v) ox = v, i++;
    else if (!strcmp(a, "-oJ") && v) oj = v, i++;
    else if (!strcmp(a, "-oN") && v) on = v, i++;
    else if (!strcmp(a, "-d")) c.debug++;
    else if (a[0] == '-') {
      fprintf(stderr, "trawl: --script-test: unknown option '%s'\n", a);
      goto out;
    } else {
      if (se_parse_target(a, &hosts[nh], err, sizeof err) < 0) {
        fprintf(stderr, "trawl: %s\n", err);
        goto out;
      }
      /* HOST:PORT given twice for one host: merge */
      size_t k;
      for (k = 0; k < nh; k++)
        if (hosts[k].addr.family == hosts[nh].addr.family &&
            !memcmp(&hosts[k].addr.u, &hosts[nh].addr.u, sizeof hosts[k].addr.u))
          break;
      if (k < nh) {
        for (size_t p = 0; p < hosts[nh].nports; p++)
          host_add_port(&hosts[k], hosts[nh].ports[p].proto, hosts[nh].ports[p].portid,
                        PORT_OPEN, "user-set", 0, hosts[nh].ports[p].service);
        host_result_free(&hosts[nh]);
      } else {
        hp[nh] = &hosts[nh];
        nh++;
      }
    }
  }
  if (!c.scripts) {
    fprintf(stderr, "trawl: --script-test needs --script\n");
    goto out;
  }
  tw_loop *loop;
  if (tw_loop_new(&loop) < 0) {
    rc = 1;
    goto out;
  }
  struct script_engine *e;
  if (script_engine_new_cfg(loop, &c, &e, err, sizeof err) < 0) {
    fprintf(stderr, "trawl: %s\n", err);
    tw_loop_close(loop);
    goto out;
  }
  rc = 0;
  struct se_runner st = {0};
  script_run_prerules(e, se_runner_done, &st);
  while (!st.done && tw_loop_run(loop, TW_RUN_ONCE) >= 0) {}
  st.done = false;
  script_run_group(e, hp, nh, NULL, se_runner_done, &st);
  while (!st.done && tw_loop_run(loop, TW_RUN_ONCE) >= 0) {}
  st.done = false;
  script_run_postrules(e, se_runner_done, &st);
  while (!st.done && tw_loop_run(loop, TW_RUN_ONCE) >= 0) {}
  /* outputs */
  struct scan_info info = {0};
  info.args = "trawl --script-test";
  info.start_time = time(NULL);
  struct {
    const char *path;
    const struct output_ops *ops;
  } want[3] = {{on ? on : (ox || oj ? NULL : "-"), &output_normal_ops},
               {ox, &output_xml_ops},
               {oj, &output_json_ops}};
  for (int k = 0; k < 3; k++) {
    if (!want[k].path) continue;
    FILE *f = strcmp(want[k].path, "-") ? fopen(want[k].path, "w") : stdout;
    if (!f) {
      fprintf(stderr, "trawl: cannot open '%s': %s\n", want[k].path, strerror(errno));
      rc = 1;
      continue;
    }
    struct output o;
    struct output_opts oo = {0};
    oo.to_file = f != stdout;
    output_init(&o, want[k].ops, f, &oo);
    output_begin(&o, &info);
    size_t n;
    const struct script_result *pre = script_engine_results(e, SCRIPT_PRE, &n);
    output_prescript(&o, pre, n);
    for (size_t i = 0; i < nh; i++) output_host(&o, hp[i]);
    const struct script_result *post = script_engine_results(e, SCRIPT_POST, &n);
    output_postscript(&o, post, n);
    struct scan_end end = {0};
    end.end_time = time(NULL);
    end.hosts_up = end.hosts_total = nh;
    output_end(&o, &end);
    if (f != stdout) fclose(f);
  }
  script_engine_free(e);
  tw_loop_close(loop);
out:
  for (size_t i = 0; i < nh; i++) host_result_free(&hosts[i]);
  free(hosts);
  free(hp);
  return rc;
}
