/* lua-sync.c: how script threads wait for each other, NSE style:
 * trawl.mutex(key) (one per key, shared by every script; lock, unlock,
 * trylock, or m("lock")...; a lock held by a thread that ends passes on),
 * trawl.condvar(key) (wait, signal, broadcast) and trawl.spawn(f, ...)
 * with handle:join() and handle:done() (helper threads: their results,
 * or nil and the error, go to whoever joins). The waits are suspended
 * script threads; nothing here blocks the loop. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "script/lua/lua-int.h"

#define LSYNC_MUTEX "trawl.mutex"
#define LSYNC_CONDVAR "trawl.condvar"
#define LSYNC_THREAD "trawl.thread"

/* ---- mutexes and condition variables ------------------------------------------------ */

struct lsync_waiter {
  struct lsync_waiter *next, **pprev;
  struct sthread *t;
};

struct lsync_mutex {
  struct sres res;     /* owned by the thread holding it */
  struct lsync_waiter *q; /* waiting to lock */
  struct lsync_waiter **qtail;
};

static void lsync_wq_push(struct lsync_waiter **head, struct lsync_waiter *w) {
  struct lsync_waiter **pp = head;
  while (*pp) pp = &(*pp)->next;
  w->next = NULL;
  w->pprev = pp;
  *pp = w;
}

static struct lsync_waiter *lsync_wq_pop(struct lsync_waiter **head) {
  struct lsync_waiter *w = *head;
  if (!w) return NULL;
  *head = w->next;
  if (w->next) w->next->pprev = head;
  return w;
}

static void lsync_wq_unlink(struct lsync_waiter *w) {
  *w->pprev = w->next;
  if (w->next) w->next->pprev = w->pprev;
}

static void lsync_wait_cancel(struct sthread *t, void *obj) {
  struct lsync_waiter *w = obj;
  lsync_wq_unlink(w);
  free(w);
}

static void lsync_mutex_handoff(struct lsync_mutex *m) {
  sres_unlink(&m->res);
  struct lsync_waiter *w = lsync_wq_pop(&m->q);
  if (!w) return;
  struct sthread *t = w->t;
  free(w);
  sres_own(t, &m->res);
  lua_pushboolean(t->L, 1);
  st_wake(t, 1);
}

/* The holder ended without unlocking: pass the lock on. */
static void lsync_mutex_res_close(struct sres *r) { lsync_mutex_handoff((struct lsync_mutex *)r); }

static int lsync_mutex_new(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  luaL_checkany(L, 1);
  if (lua_isnil(L, 1)) return luaL_argerror(L, 1, "a mutex needs a key (any value but nil)");
  lua_rawgeti(L, LUA_REGISTRYINDEX, e->mutexes_ref);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  struct lsync_mutex *m = lua_newuserdatauv(L, sizeof *m, 0);
  memset(m, 0, sizeof *m);
  m->res.close = lsync_mutex_res_close;
  luaL_setmetatable(L, LSYNC_MUTEX);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4);
  return 1;
}

static int lsync_mutex_lock(lua_State *L) {
  struct lsync_mutex *m = luaL_checkudata(L, 1, LSYNC_MUTEX);
  struct sthread *t = st_check_block(L, "mutex:lock");
  if (!m->res.owner) {
    sres_own(t, &m->res);
    lua_pushboolean(L, 1);
    return 1;
  }
  if (m->res.owner == t) return luaL_error(L, "mutex:lock: this thread already holds the mutex (deadlock)");
  struct lsync_waiter *w = calloc(1, sizeof *w);
  if (!w) return luaL_error(L, "out of memory");
  w->t = t;
  lsync_wq_push(&m->q, w);
  return st_suspend_sync(L, t, lsync_wait_cancel, w);
}

static int lsync_mutex_trylock(lua_State *L) {
  struct lsync_mutex *m = luaL_checkudata(L, 1, LSYNC_MUTEX);
  struct sthread *t = st_current(L);
  if (!t) return luaL_error(L, "mutex:trylock outside a script thread");
  if (m->res.owner) {
    lua_pushboolean(L, 0);
    return 1;
  }
  sres_own(t, &m->res);
  lua_pushboolean(L, 1);
  return 1;
}

static int lsync_mutex_unlock(lua_State *L) {
  struct lsync_mutex *m = luaL_checkudata(L, 1, LSYNC_MUTEX);
  struct sthread *t = st_current(L);
  if (!t || m->res.owner != t) return luaL_error(L, "mutex:unlock: this thread does not hold the mutex");
  lsync_mutex_handoff(m);
  lua_pushboolean(L, 1);
  return 1;
}

static int lsync_mutex_locked(lua_State *L) {
  struct lsync_mutex *m = luaL_checkudata(L, 1, LSYNC_MUTEX);
  lua_pushboolean(L, m->res.owner != NULL);
  return 1;
}

/* NSE style: m("lock"), m("unlock"), m("trylock"), m("running") */
static int lsync_mutex_call(lua_State *L) {
  const char *op = luaL_checkstring(L, 2);
  lua_remove(L, 2);
  if (!strcmp(op, "lock")) return lsync_mutex_lock(L);
  if (!strcmp(op, "unlock")) return lsync_mutex_unlock(L);
  if (!strcmp(op, "trylock")) return lsync_mutex_trylock(L);
  if (!strcmp(op, "running")) return lsync_mutex_locked(L);
  return luaL_argerror(L, 2, "expected \"lock\", \"unlock\", \"trylock\" or \"running\"");
}

struct lsync_condvar {
  struct lsync_waiter *q;
};

static void lsync_cv_wake_all(struct lsync_condvar *c) {
  struct lsync_waiter *w;
  while ((w = lsync_wq_pop(&c->q))) {
    struct sthread *t = w->t;
    free(w);
    st_wake(t, 0);
  }
}

/* NSE's rule: a thread that took a condition variable broadcasts it when
 * it ends, however it ends (so a parent waiting for a worker that failed
 * wakes, sees it dead, and goes on). One such resource per thread and
 * condvar; condvars live as long as the engine (trawl.condvars). */
struct lsync_cvend {
  struct sres res;
  struct lsync_condvar *c;
};

static void lsync_cvend_close(struct sres *r) {
  struct lsync_cvend *ce = (struct lsync_cvend *)r;
  sres_unlink(r);
  lsync_cv_wake_all(ce->c);
  free(ce);
}

static void lsync_cvend_own(struct sthread *t, struct lsync_condvar *c) {
  for (struct sres *r = t->res; r; r = r->next)
    if (r->close == lsync_cvend_close && ((struct lsync_cvend *)r)->c == c) return;
  struct lsync_cvend *ce = calloc(1, sizeof *ce);
  if (!ce) return;
  ce->c = c;
  ce->res.close = lsync_cvend_close;
  sres_own(t, &ce->res);
}

/* trawl.condvar(key[, wake_at_end]): wake_at_end true makes the calling
 * thread broadcast it when it ends (NSE's nmap.condvar does so). */
static int lsync_condvar_new(lua_State *L) {
  luaL_checkany(L, 1);
  if (lua_isnil(L, 1)) return luaL_argerror(L, 1, "a condition variable needs a key");
  bool at_end = lua_toboolean(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.condvars");
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    struct lsync_condvar *c = lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    luaL_setmetatable(L, LSYNC_CONDVAR);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
  struct sthread *t = st_current(L);
  if (at_end && t && !t->done) lsync_cvend_own(t, lua_touserdata(L, -1));
  return 1;
}

static int lsync_cv_wait(lua_State *L) {
  struct lsync_condvar *c = luaL_checkudata(L, 1, LSYNC_CONDVAR);
  struct sthread *t = st_check_block(L, "condvar:wait");
  struct lsync_waiter *w = calloc(1, sizeof *w);
  if (!w) return luaL_error(L, "out of memory");
  w->t = t;
  lsync_wq_push(&c->q, w);
  return st_suspend_sync(L, t, lsync_wait_cancel, w);
}

static int lsync_cv_wake(lua_State *L, bool all) {
  struct lsync_condvar *c = luaL_checkudata(L, 1, LSYNC_CONDVAR);
  int n = 0;
  struct lsync_waiter *w;
  while ((w = lsync_wq_pop(&c->q))) {
    struct sthread *t = w->t;
    free(w);
    st_wake(t, 0);
    n++;
    if (!all) break;
  }
  lua_pushinteger(L, n);
  return 1;
}

static int lsync_cv_signal(lua_State *L) { return lsync_cv_wake(L, false); }
static int lsync_cv_broadcast(lua_State *L) { return lsync_cv_wake(L, true); }
static int lsync_cv_call(lua_State *L) {
  const char *op = luaL_checkstring(L, 2);
  lua_remove(L, 2);
  if (!strcmp(op, "wait")) return lsync_cv_wait(L);
  if (!strcmp(op, "signal")) return lsync_cv_signal(L);
  if (!strcmp(op, "broadcast")) return lsync_cv_broadcast(L);
  return luaL_argerror(L, 2, "expected \"wait\", \"signal\" or \"broadcast\"");
}

/* ---- spawn / join ------------------------------------------------------------------- */

static int lsync_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  struct sthread *t = st_current(L);
  if (!t) return luaL_error(L, "trawl.spawn outside a script thread");
  return st_spawn(L, t, 1, lua_gettop(L) - 1);
}

static void lsync_join_cancel(struct sthread *j, void *obj) {
  struct sthread *t = obj;
  for (struct sthread **pp = &t->joiners; *pp; pp = &(*pp)->join_next) {
    if (*pp == j) {
      *pp = j->join_next;
      break;
    }
  }
}

static int lsync_join(lua_State *L) {
  struct sthread **hp = luaL_checkudata(L, 1, LSYNC_THREAD);
  if (*hp) {
    struct sthread *self = st_check_block(L, "thread:join");
    struct sthread *t = *hp;
    if (t == self) return luaL_error(L, "a thread cannot join itself");
    self->join_next = t->joiners;
    t->joiners = self;
    return st_suspend_sync(L, self, lsync_join_cancel, t);
  }
  lua_getiuservalue(L, 1, 1);
  lua_getfield(L, -1, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n, "join");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  return n;
}

static int lsync_thread_done(lua_State *L) {
  struct sthread **hp = luaL_checkudata(L, 1, LSYNC_THREAD);
  lua_pushboolean(L, *hp == NULL);
  return 1;
}

void lua_sync_open(struct script_engine *e, lua_State *L) {
  static const luaL_Reg mutex_m[] = {{"lock", lsync_mutex_lock},
                                     {"unlock", lsync_mutex_unlock},
                                     {"trylock", lsync_mutex_trylock},
                                     {"locked", lsync_mutex_locked},
                                     {NULL, NULL}};
  static const luaL_Reg cv_m[] = {{"wait", lsync_cv_wait},
                                  {"signal", lsync_cv_signal},
                                  {"broadcast", lsync_cv_broadcast},
                                  {NULL, NULL}};
  static const luaL_Reg thread_m[] = {
      {"join", lsync_join}, {"done", lsync_thread_done}, {NULL, NULL}};
  lt_meta(L, LSYNC_MUTEX, mutex_m, NULL, lsync_mutex_call, NULL);
  lt_meta(L, LSYNC_CONDVAR, cv_m, NULL, lsync_cv_call, NULL);
  lt_meta(L, LSYNC_THREAD, thread_m, NULL, NULL, NULL);
  static const luaL_Reg fns[] = {{"mutex", lsync_mutex_new},
                                 {"condvar", lsync_condvar_new},
                                 {"spawn", lsync_spawn},
                                 {NULL, NULL}};
  lua_pushlightuserdata(L, e);
  luaL_setfuncs(L, fns, 1);
  /* condition variables by key */
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.condvars");
}
