/* script-engine.c: the scripting engine object (script.h). One Lua 5.4
 * state per engine, with an allocator that counts its bytes; making it
 * (the state, the bootstrap, the trawl module and the other bindings,
 * --script-args, the selected scripts in run order), and freeing it; the
 * accessors the scan uses (counts, rules present, pre/post results,
 * statistics) and script_engine_stop.
 *
 * The rest of the engine, one concept a file: script threads
 * (script-thread.c) and the scheduler that runs them within a budget per
 * loop iteration (script-sched.c); phases and rules (script-phase.c); one
 * run and its results (script-runner.c); the host/port tables
 * (script-trees.c); loading script files (script-loader.c) and selecting
 * them (script-select.c); the bootstrap (script-bootstrap.c,
 * bootstrap.lua); --script-help (script-help.c); tracing and reports
 * (script-trace.c); the latency probe (script-latency.c); the Lua
 * bindings (lua/). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/options.h"
#include "scan/privilege.h"
#include "script/lua/lua-int.h"
#include "script/nse/nse.h"
#include "script/script-int.h"

#define SE_GC_STEPSIZE 10 /* log2 of the Lua GC's step (bytes of debt) */

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

void script_config_from_options(struct script_config *c, const struct options *o) {
  memset(c, 0, sizeof *c);
  c->scripts = o->scripts ? o->scripts : (o->script_default ? "default" : NULL);
  /* -sV runs the "version" scripts after the version stage, as Nmap's */
  c->version_scripts = o->version_scan && !o->no_portscan;
  c->script_args = o->script_args;
  c->script_args_file = o->script_args_file;
  c->dns_servers = o->dns_servers;
  c->trace = o->script_trace;
  c->timeout_ms = o->script_timeout_ms;
  c->max_threads = o->script_threads;
  c->datadir = o->datadir;
  c->verbose = o->verbose;
  c->debug = o->debug;
  c->timing = o->timing;
  c->version_intensity = o->version_intensity;
  c->ttl = o->ttl;
  c->device = o->iface;
  c->payload_length = o->data_set ? (int)o->data_len : 0;
}

int script_engine_new(tw_loop *loop, const struct options *o, struct script_engine **out,
                      char *err, size_t errlen) {
  struct script_config c;
  script_config_from_options(&c, o);
  return script_engine_new_cfg(loop, &c, out, err, errlen);
}

/* Merge the table on top of L into the one below it, and pop it. */
static void se_merge_args(lua_State *L) {
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -5);
  }
  lua_pop(L, 1);
}

/* trawl.args: --script-args-file first, then --script-args, which win. */
static int se_args(struct script_engine *e, char *err, size_t errlen) {
  const struct script_config *cfg = &e->cfg;
  lua_State *L = e->L;
  lua_getglobal(L, "trawl");
  lua_newtable(L); /* args */
  if (cfg->script_args_file) {
    char *flat = NULL;
    int r = loader_args_file(cfg->script_args_file, &flat);
    if (r < 0) {
      snprintf(err, errlen, "cannot read --script-args-file '%s': %s", cfg->script_args_file,
               strerror(-r));
      return -EINVAL;
    }
    char e2[400];
    r = script_args_parse(L, flat, e2, sizeof e2);
    free(flat);
    if (r < 0) {
      snprintf(err, errlen, "bad --script-args-file '%s': %s", cfg->script_args_file, e2);
      return -EINVAL;
    }
    se_merge_args(L);
  }
  if (cfg->script_args) {
    char e2[400];
    if (script_args_parse(L, cfg->script_args, e2, sizeof e2) < 0) {
      snprintf(err, errlen, "bad --script-args: %s", e2);
      return -EINVAL;
    }
    se_merge_args(L);
  }
  lua_setfield(L, -2, "args");
  lua_pop(L, 1);
  return 0;
}

int script_engine_new_cfg(tw_loop *loop, const struct script_config *cfg,
                          struct script_engine **out, char *err, size_t errlen) {
  *out = NULL;
  if ((!cfg->scripts || !*cfg->scripts) && !cfg->version_scripts) {
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
  loader_set_dirs(e);
  if (bootstrap_load(e, err, errlen) < 0) goto fail;
  if (sched_init(e) < 0 || tw_timer_new(loop, &e->done_timer, e) < 0) {
    snprintf(err, errlen, "cannot create the script engine's loop handles");
    rc = -ENOMEM;
    goto fail;
  }
  latency_start(e);
  lua_trawl_open(e, L);
  lua_tls_open(e, L);
  lua_packet_open(e, L);
  if (se_args(e, err, errlen) < 0) goto fail;
  nse_nmap_open(e, L, e->nmapdir); /* after trawl.args: nmap.registry.args is it */
  if (script_select(e, cfg->scripts && *cfg->scripts ? cfg->scripts : NULL, err, errlen) < 0)
    goto fail;
  if (loader_order(e, err, errlen) < 0) goto fail;
  *out = e;
  return 0;
fail:
  script_engine_free(e);
  return rc;
}

/* The pre/post results are whole script_results (id, output, tree) made
 * on a host: host_result_free frees one. */
static void se_free_results(struct script_result *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct host_result h;
    host_result_init(&h);
    struct script_result *one = malloc(sizeof *one);
    if (one) {
      *one = v[i];
      h.hostscripts = one;
      h.nhostscripts = 1;
      host_result_free(&h);
    }
  }
  free(v);
}

void script_engine_free(struct script_engine *e) {
  if (!e) return;
  script_engine_stop(e);
  sched_drain_deferred(e); /* their sockets are closed now: this lets them go */
  latency_report(e);
  if (e->hosts) {
    for (size_t i = 0; i < e->nhosts; i++) {
      free(e->hosts[i].lvq);
      free(e->hosts[i].lvleft);
    }
    free(e->hosts);
  }
  lua_packet_close(e);
  script_p0f_free(e);
  lua_tls_close(e);
  if (e->ready_hook) tw_close(e->ready_hook, NULL);
  if (e->done_timer) tw_close(e->done_timer, NULL);
  if (e->resolver) tw_close(e->resolver, NULL);
  if (e->L) lua_close(e->L);
  for (size_t i = 0; i < e->nscripts; i++) script_release(e->scripts[i]);
  free(e->scripts);
  se_free_results(e->pre, e->npre);
  se_free_results(e->post, e->npost);
  free(e);
}

void script_engine_stop(struct script_engine *e) {
  if (!e) return;
  /* nothing new starts */
  e->rules_pending = false;
  sched_drop_queued(e);
  while (e->all) st_kill(e->all, -ECANCELED);
  phase_check_done(e);
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

bool script_engine_has_script(const struct script_engine *e, const char *id) {
  for (size_t i = 0; e && i < e->nscripts; i++)
    if (e->scripts[i]->by_name && strcmp(e->scripts[i]->id, id) == 0) return true;
  return false;
}

bool script_engine_has_rule(const struct script_engine *e, const char *rule) {
  static const char *const names[4] = {"prerule", "hostrule", "portrule", "postrule"};
  for (int r = 0; r < 4; r++) {
    if (strcmp(rule, names[r])) continue;
    for (size_t i = 0; i < e->nscripts; i++)
      if (e->scripts[i]->rule[r]) return true;
  }
  return false;
}
