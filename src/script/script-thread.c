/* script-thread.c: script threads. Each run of a script (and each helper
 * it spawns) is a Lua coroutine, a *script thread*, that the one libtrawl
 * loop resumes: a C function that waits on the network suspends its
 * thread (st_suspend) and the operation's callback resumes it
 * (st_resume, or st_wake from inside another thread). A count hook makes
 * a thread that computes for more than a slice yield (preemption) and
 * enforces --script-timeout on busy loops. When a thread ends, its
 * resources (sockets, captures, mutexes: struct sres) are closed, a
 * helper's results go to its handle and joiners, and the runner
 * (script-runner.c) stores or reports a run's results. Which thread runs
 * when is the scheduler's business (script-sched.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "script/script-int.h"

#define ST_SLICE_NS 2000000ull     /* a thread computes at most this long at once */
#define ST_HOOK_COUNT 1000         /* instructions between preemption checks */

const char script_yield_mark = 0;

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

int st_suspend(lua_State *L, struct sthread *t, st_cancel_fn cancel, void *obj) {
  t->cancel = cancel;
  t->cancel_obj = obj;
  t->waiting = 1;
  lua_pushlightuserdata(L, (void *)&script_yield_mark);
  return lua_yield(L, 1);
}

int st_suspend_sync(lua_State *L, struct sthread *t, st_cancel_fn cancel, void *obj) {
  if (!t->syncwait) {
    t->syncwait = 1;
    t->e->nsyncwait++;
  }
  if (sched_deadlocked(t->e)) sched_kick(t->e); /* the hook breaks it */
  return st_suspend(L, t, cancel, obj);
}

static void st_sync_clear(struct sthread *t) {
  if (t->syncwait) {
    t->syncwait = 0;
    t->e->nsyncwait--;
  }
}

void st_wake(struct sthread *t, int nres) {
  t->cancel = NULL;
  t->nresume = nres;
  sched_push(t, RQ_WOKEN);
}

static void st_end(struct sthread *t, int status, int nres);

void st_run(struct sthread *t, int nargs) {
  st_sync_clear(t);
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
      st_end(t, -ETIMEDOUT, 0);
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
    sched_push(t, RQ_PREEMPTED);
    return;
  }
  st_end(t, rc == LUA_OK ? 0 : rc, nres);
}

/* From an operation's callback: run the thread now, unless this loop
 * iteration has spent its budget on scripts already (thousands of
 * timeouts expiring together, say): then it waits its turn in the ready
 * queue, and timers and I/O come first. */
void st_resume(struct sthread *t, int nargs) {
  struct script_engine *e = t->e;
  if (t->done) return;
  if (e->resume_depth || !sched_budget_left(e)) { /* later */
    st_wake(t, nargs);
    return;
  }
  uint64_t t0 = tw_hrtime();
  st_run(t, nargs);
  sched_budget_charge(e, t0);
}

/* Count hook: preemption and --script-timeout for threads that compute. */
static void st_hook(lua_State *L, lua_Debug *ar) {
  struct sthread *t = st_current(L);
  if (!t || t->done) return;
  uint64_t now = tw_hrtime();
  if (t->deadline_ns && now >= t->deadline_ns) {
    t->killed = t->timedout = 1;
    if (L == t->L && lua_isyieldable(L)) lua_yield(L, 0);
    else luaL_error(L, "script timed out");
    return;
  }
  if (L == t->L && now - t->slice_ns > ST_SLICE_NS && lua_isyieldable(L)) {
    t->preempted = 1;
    lua_yield(L, 0);
  }
}

struct sthread *st_new(struct script_engine *e, struct script *sc, struct shost *h,
                       struct sthread *parent) {
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
  lua_sethook(t->L, st_hook, LUA_MASKCOUNT, ST_HOOK_COUNT);
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

void st_kill(struct sthread *t, int status) {
  if (t->done) return;
  if (t->waiting && t->cancel) t->cancel(t, t->cancel_obj);
  t->cancel = NULL;
  t->waiting = 0;
  t->killed = 1;
  st_end(t, status, 0);
}

static void st_close_resources(struct sthread *t) {
  while (t->res) {
    struct sres *r = t->res;
    r->close(r); /* unlinks */
    if (t->res == r) sres_unlink(r);
  }
}

/* A helper's results go to its handle (for join()) and to its joiners. */
static void st_hand_over(struct sthread *t, int status, int nres) {
  struct script_engine *e = t->e;
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

/* status: 0 ok (nres results on the stack), a LUA_ERR* code (message on
 * the stack), or -ETIMEDOUT / -ECANCELED (killed). */
static void st_end(struct sthread *t, int status, int nres) {
  struct script_engine *e = t->e;
  if (t->done) return;
  t->done = 1;
  st_sync_clear(t);
  srun_ended(t, status, nres);
  if (t->handle_ref != LUA_NOREF) st_hand_over(t, status, nres);
  st_close_resources(t);
  sched_unlink(t);
  lua_settop(t->L, 0);
  lua_resetthread(t->L);
  /* after an error, lua_resetthread leaves the error object on the stack:
   * an empty stack is what makes coroutine.status say "dead" (NSE's
   * scripts wait for their workers so) */
  lua_settop(t->L, 0);
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
  if (run) sched_run_finished(e, run);
  if (sched_deadlocked(e)) sched_kick(e); /* the last thread that could wake the others ended */
  phase_check_done(e);
}

int st_spawn(lua_State *L, struct sthread *parent, int fidx, int nargs) {
  struct script_engine *e = parent->e;
  struct sthread *t = st_new(e, parent->sc, parent->host, parent);
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
  sched_push(t, RQ_WOKEN);
  return 1;
}
