/* script-runner.c: one run (a script's action against one host and port)
 * and what comes of it. A run starts as a script thread calling the
 * bootstrap's runner with the action and the host/port tables, with a
 * --script-timeout timer of its own; when the thread ends, its return
 * value becomes a script_result on the port, the host or the pre/post
 * phase (a table result comes flattened by bootstrap.lua and becomes an
 * <elem>/<table> tree, Nmap's rules); a failing run prints its error and
 * traceback to the engine's error stream and the rest goes on. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/script-int.h"

#define SRUN_TREE_DEPTH 40

const char srun_flat_mark = 0;



/* ---- --script-timeout ---------------------------------------------------------- */

/* Per-thread --script-timeout timers live in a side table keyed by thread
 * (most runs never need one: only those still waiting at their deadline). */
struct srun_tmo {
  tw_timer *tm;
  struct sthread *t;
};

static void srun_timeout_cb(tw_timer *tm, int status) {
  struct srun_tmo *k = tw_data(tm);
  if (status < 0 || !k->t) return;
  struct sthread *t = k->t;
  k->t = NULL;
  t->timedout = 1;
  st_kill(t, -ETIMEDOUT);
}

static void srun_tmo_close(void *tm) { free(tw_data(tm)); }

/* The timeout timer is a resource of its thread: closed when it ends. */
struct srun_tmo_res {
  struct sres r;
  struct srun_tmo *k;
};
static void srun_tmo_res_close(struct sres *r) {
  struct srun_tmo_res *tr = (struct srun_tmo_res *)r;
  sres_unlink(r);
  tr->k->t = NULL;
  tw_close(tr->k->tm, srun_tmo_close);
  free(tr);
}
static void srun_tmo_attach(struct sthread *t, struct srun_tmo *k) {
  struct srun_tmo_res *tr = calloc(1, sizeof *tr);
  if (!tr) {
    k->t = NULL;
    tw_close(k->tm, srun_tmo_close);
    return;
  }
  tr->k = k;
  tr->r.close = srun_tmo_res_close;
  sres_own(t, &tr->r);
}

/* ---- starting ----------------------------------------------------------------- */

int srun_start(struct script_engine *e, struct srun *r) {
  struct sthread *t = st_new(e, r->sc, r->h, NULL);
  if (!t) return -ENOMEM;
  t->run = r;
  e->nthreads++;
  lua_State *L = t->L;
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.runner");
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->sc->env_ref);
  if (r->sc->nse) {
    /* SCRIPT_TYPE names the rule this run is for, as NSE sets it (scripts
     * with a hostrule and a postrule dispatch on it) */
    lua_pushstring(L, e->phase == RULE_PRE ? "prerule" : e->phase == RULE_POST ? "postrule"
                      : r->port >= 0 ? "portrule" : "hostrule");
    lua_setfield(L, -2, "SCRIPT_TYPE");
  }
  lua_getfield(L, -1, "action");
  if (r->rule_in_run) {
    /* guard(rule, action): a function running the action if the rule,
     * evaluated here in the run's thread, says yes (nse-nmap.c) */
    static const char *const rules[4] = {"prerule", "hostrule", "portrule", "postrule"};
    int rule = e->phase == RULE_PRE ? RULE_PRE : e->phase == RULE_POST ? RULE_POST
               : r->port >= 0 ? RULE_PORT : RULE_HOST;
    lua_getfield(L, LUA_REGISTRYINDEX, "trawl.nse_guard");
    lua_getfield(L, -3, rules[rule]);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 1);
    lua_remove(L, -2);
  }
  lua_remove(L, -2);
  int nargs = 1;
  if (r->h->res) {
    trees_push_host(L, r->h);
    nargs++;
    if (r->port >= 0) {
      trees_push_port(L, e, &r->h->res->ports[r->port]);
      nargs++;
    }
  }
  if (e->cfg.timeout_ms) {
    struct srun_tmo *k = calloc(1, sizeof *k);
    if (k && tw_timer_new(e->loop, &k->tm, k) == 0) {
      k->t = t;
      tw_loop_update_time(e->loop); /* the cached time may be stale */
      tw_timer_start(k->tm, srun_timeout_cb, e->cfg.timeout_ms * 1000000ull, 0);
      srun_tmo_attach(t, k);
    } else {
      free(k);
    }
  }
  t->nresume = nargs;
  sched_push(t, RQ_WOKEN);
  return 0;
}

/* ---- results --------------------------------------------------------------------- */

/* Build the tree from the flattened arrays (kinds, keys, values at
 * indices ki, kk, kv; n nodes): a linear pass. */
static int srun_build(lua_State *L, int ki, int kk, int kv, lua_Integer n,
                      struct script_node *root) {
  struct script_node *stack[SRUN_TREE_DEPTH + 2];
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
      if (!c || sp > SRUN_TREE_DEPTH) return -1;
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

/* A pre/post phase's result: tmp's first host script moves to the phase's
 * list (tmp keeps the rest, if any, to be freed). 0, or -ENOMEM (tmp
 * keeps it). */
static int srun_phase_take(struct script_engine *e, struct host_result *tmp) {
  if (!tmp->nhostscripts) return 0;
  struct script_result **arr = e->phase == RULE_PRE ? &e->pre : &e->post;
  size_t *n = e->phase == RULE_PRE ? &e->npre : &e->npost;
  struct script_result *na = realloc(*arr, (*n + 1) * sizeof **arr);
  if (!na) return -ENOMEM;
  *arr = na;
  na[(*n)++] = tmp->hostscripts[0];
  tmp->nhostscripts = 0;
  return 0;
}

/* The action's results (nres values on t->L; a table result comes
 * flattened by the bootstrap's runner) -> a script_result on the port,
 * the host or the phase. -1 with a message pushed on t->L for a bad
 * return value. */
static int srun_store(struct sthread *t, int nres) {
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
  if (tv == LUA_TLIGHTUSERDATA && lua_touserdata(L, base) == &srun_flat_mark && nres >= 6) {
    const char *text = lua_tostring(L, base + 1);
    lua_Integer n = lua_tointeger(L, base + 5);
    struct script_result *sr = result_add_script(dst, pr, t->sc->id, text ? text : "");
    if (!sr) {
      lua_pushstring(L, "out of memory");
      rc = -1;
    } else if (srun_build(L, base + 2, base + 3, base + 4, n, &sr->tree) < 0) {
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
    if (rc == 0) srun_phase_take(e, &tmp);
    host_result_free(&tmp);
  }
  return rc;
}

/* A text-only result of script sc for host h's port (port < 0: the host;
 * h NULL or without results: the pre/post phase), as if its action had
 * returned text: NSE's error output. 0 or -ENOMEM. */
int srun_add_text(struct script_engine *e, const struct script *sc, struct shost *h, int port,
                  const char *text) {
  if (h && h->res)
    return result_add_script(h->res, port >= 0 ? &h->res->ports[port] : NULL, sc->id, text)
               ? 0 : -ENOMEM;
  struct host_result tmp;
  host_result_init(&tmp);
  int rc = result_add_script(&tmp, NULL, sc->id, text) ? srun_phase_take(e, &tmp) : -ENOMEM;
  host_result_free(&tmp);
  return rc;
}

static int srun_cmp(const void *a, const void *b) {
  return strcmp(((const struct script_result *)a)->id, ((const struct script_result *)b)->id);
}

void srun_sort(struct script_result *v, size_t n) {
  if (n > 1) qsort(v, n, sizeof *v, srun_cmp);
}

void srun_sort_host(struct host_result *h) {
  srun_sort(h->hostscripts, h->nhostscripts);
  for (size_t i = 0; i < h->nports; i++) srun_sort(h->ports[i].scripts, h->ports[i].nscripts);
}

/* ---- ending --------------------------------------------------------------------- */

/* "10.0.0.1:80/tcp", "10.0.0.1" or "(prerule)": what a report names. */
static const char *srun_target(struct sthread *t, char *buf, size_t len) {
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

/* The error value on top of L is what nmap.new_try raises: a table whose
 * errtype is "nmap.new_try". Read raw: no metamethod runs here. */
static bool srun_is_try_error(lua_State *L) {
  if (!lua_istable(L, -1)) return false;
  lua_pushliteral(L, "errtype");
  lua_rawget(L, -2);
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  bool yes = s && !strcmp(s, "nmap.new_try");
  lua_pop(L, 1);
  return yes;
}

void srun_ended(struct sthread *t, int status, int nres) {
  struct script_engine *e = t->e;
  char tg[128];
  if (status == 0 && t->run) {
    /* a version script that -sV alone selected refines the port's
     * version (trawl.set_port_version); its own output is not shown */
    if (!t->sc->quiet && srun_store(t, nres) < 0) {
      e->st.errors++;
      script_report(e, "trawl: script '%s' on %s: %s\n", t->sc->id, srun_target(t, tg, sizeof tg),
                    lua_tostring(t->L, -1) ? lua_tostring(t->L, -1) : "bad return value");
    }
  } else if (status == -ETIMEDOUT) {
    e->st.timeouts++;
    if (!t->parent)
      script_report(e, "trawl: script '%s' on %s: timed out after %.3fs (--script-timeout)\n",
                    t->sc->id, srun_target(t, tg, sizeof tg), (double)e->cfg.timeout_ms / 1000.0);
  } else if (status == -ECANCELED) {
    /* stopped (interruption, engine freed): nothing to say */
  } else if (status != 0 && srun_is_try_error(t->L)) {
    /* an NSE script's nmap.new_try gave up (nse-nmap.lua): the run ends
     * with no output, as in NSE; said only with -d */
    if (e->cfg.debug > 0) {
      lua_pushliteral(t->L, "message");
      lua_rawget(t->L, -2);
      script_report(e, "trawl: script '%s' on %s: ended by a try: %s\n", t->sc->id,
                    srun_target(t, tg, sizeof tg),
                    lua_tostring(t->L, -1) ? lua_tostring(t->L, -1) : "(no message)");
      lua_pop(t->L, 1);
    }
  } else if (status != 0 && t->sc->nse && e->cfg.debug < 1) {
    /* Nmap's scripts: one line (Nmap itself shows them only with -d);
     * and, as NSE does without -d, the run's output is NSE's error text
     * (a helper thread's error gives no output, as in NSE) */
    e->st.errors++;
    if (t->run && !t->parent && !t->sc->quiet)
      srun_add_text(e, t->sc, t->host, t->run->port, SRUN_NSE_ERROR_OUTPUT);
    const char *msg = lua_tostring(t->L, -1);
    if (!msg) msg = luaL_typename(t->L, -1);
    const char *nl = strchr(msg, '\n');
    script_report(e, "trawl: script '%s' failed on %s%s: %.*s (-d shows the traceback)\n",
                  t->sc->id, srun_target(t, tg, sizeof tg), t->parent ? " (spawned function)" : "",
                  nl ? (int)(nl - msg) : (int)strlen(msg), msg);
  } else if (status != 0) {
    e->st.errors++;
    const char *msg = lua_tostring(t->L, -1);
    if (!msg) msg = luaL_typename(t->L, -1);
    luaL_traceback(e->L, t->L, msg, 0);
    script_report(e, "trawl: script '%s' failed on %s%s:\n%s\n", t->sc->id,
                  srun_target(t, tg, sizeof tg), t->parent ? " (spawned function)" : "",
                  lua_tostring(e->L, -1));
    lua_pop(e->L, 1);
  }
}
