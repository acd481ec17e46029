/* script-phase.c: phases and rules. A phase is one call of
 * script_run_prerules, script_run_group or script_run_postrules: its
 * hosts (one pseudo-host for pre/post), the rules evaluated on them (in
 * the engine's main Lua state, no thread: a rule cannot wait), a run for
 * every (script, host[, port]) whose rule says yes, and the done callback
 * once every run of the phase has ended. A group's rules are evaluated
 * from the scheduler's hook, one at a time (phase_rule_step), so ten
 * thousand ports never stall the loop; pre/post rules at once. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/script-int.h"

static void phase_done_cb(tw_timer *tm, int status) {
  struct script_engine *e = tw_data(tm);
  if (status < 0) return;
  if (!e->running || e->rules_pending || e->runs_left || e->nlive) return;
  for (size_t i = 0; i < e->nhosts; i++) {
    struct shost *h = &e->hosts[i];
    if (h->res) srun_sort_host(h->res);
    if (h->table_ref != LUA_NOREF) luaL_unref(e->L, LUA_REGISTRYINDEX, h->table_ref);
    free(h->lvq);
    free(h->lvleft);
  }
  free(e->hosts);
  e->hosts = NULL;
  e->nhosts = 0;
  e->running = false;
  if (e->phase == RULE_PRE) srun_sort(e->pre, e->npre);
  if (e->phase == RULE_POST) srun_sort(e->post, e->npost);
  /* no full collection here: with 10,000 runs' garbage it takes 100 ms and
   * more at once; the incremental collector frees it as the scan goes */
  script_done_cb done = e->done;
  e->done = NULL;
  if (done) done(e->done_arg);
}

void phase_check_done(struct script_engine *e) {
  if (e->running && !e->rules_pending && e->runs_left == 0 && e->nlive == 0)
    tw_timer_start(e->done_timer, phase_done_cb, 0, 0);
}

/* Evaluate a rule: calls fn(args) in the main state. 1 yes, 0 no; 2 for
 * an NSE script's rule that must wait (decided in the run's thread). */
static int phase_rule(struct script_engine *e, struct script *sc, const char *rule,
                      struct shost *h, int port) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.traceback");
  lua_rawgeti(L, LUA_REGISTRYINDEX, sc->env_ref);
  lua_getfield(L, -1, rule);
  lua_remove(L, -2);
  int nargs = 0;
  if (h && h->res) {
    trees_push_host(L, h);
    nargs++;
    if (port >= 0) {
      trees_push_port(L, e, &h->res->ports[port]);
      nargs++;
    }
  }
  e->rule_sc = sc;
  int rc = lua_pcall(L, nargs, 1, top + 1);
  e->rule_sc = NULL;
  int yes = 0;
  if (rc != LUA_OK && sc->nse && lua_tostring(L, -1) && strstr(lua_tostring(L, -1), "cannot wait here")) {
    /* an NSE rule doing I/O (shortport.ssl probing, mssql discovery):
     * NSE runs rules in the script's thread; so does the run made here */
    lua_settop(L, top);
    return 2;
  }
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
    const char *msg = lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object is not a string)";
    if (sc->nse && e->cfg.debug < 1) {
      /* Nmap's scripts: one line per script (a rule that fails on one
       * port fails on all; some rules need I/O, which trawl's rules
       * cannot do: docs/nse.md); -d shows each with its traceback */
      if (!sc->rule_reported) {
        const char *nl = strchr(msg, '\n');
        script_report(e, "trawl: script '%s': %s failed%s: %.*s (not run; -d says more)\n", sc->id,
                      rule, tg, nl ? (int)(nl - msg) : (int)strlen(msg), msg);
      }
      sc->rule_reported = true;
      /* NSE evaluates the rule in the script's thread: its error is the
       * run's output there */
      srun_add_text(e, sc, h, port, SRUN_NSE_ERROR_OUTPUT);
    } else {
      script_report(e, "trawl: script '%s': %s failed%s:\n%s\n", sc->id, rule, tg, msg);
    }
  } else {
    yes = lua_toboolean(L, -1);
  }
  lua_settop(L, top);
  return yes;
}

/* yes: phase_rule's answer (0 no run, 1 run, 2 run that evaluates the
 * rule first); forced scripts always run */
static int phase_add_run(struct script_engine *e, struct script *sc, struct shost *h, int port,
                         int yes) {
  if (!yes) return 0;
  struct srun *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  r->rule_in_run = yes == 2;
  r->sc = sc;
  r->h = h;
  r->port = port;
  r->next = h->lvq[sc->level];
  h->lvq[sc->level] = r;
  h->lvleft[sc->level]++;
  e->runs_left++;
  return 0;
}

static int phase_begin(struct script_engine *e, int phase, size_t nhosts, script_done_cb done,
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
static void phase_go(struct script_engine *e) {
  for (size_t i = 0; i < e->nhosts; i++) sched_host_advance(e, &e->hosts[i]);
  if (sched_can_start(e)) sched_kick(e);
  phase_check_done(e);
}

static int phase_run_prepost(struct script_engine *e, int phase, script_done_cb done, void *arg) {
  int err = phase_begin(e, phase, 1, done, arg);
  if (err < 0) return err;
  const char *rule = phase == RULE_PRE ? "prerule" : "postrule";
  for (size_t i = 0; i < e->nscripts; i++) {
    struct script *sc = e->scripts[i];
    if (!sc->rule[phase]) continue;
    phase_add_run(e, sc, &e->hosts[0], -1, sc->forced ? 1 : phase_rule(e, sc, rule, NULL, -1));
  }
  phase_go(e);
  return 0;
}

int script_run_prerules(struct script_engine *e, script_done_cb done, void *arg) {
  return phase_run_prepost(e, RULE_PRE, done, arg);
}

int script_run_postrules(struct script_engine *e, script_done_cb done, void *arg) {
  return phase_run_prepost(e, RULE_POST, done, arg);
}

int script_run_group(struct script_engine *e, struct host_result **hosts, size_t n,
                     const struct script_group_ctx *ctx, script_done_cb done, void *arg) {
  if (!e || (!hosts && n)) return -EINVAL;
  int err = phase_begin(e, RULE_HOST, n, done, arg);
  if (err < 0) return err;
  for (size_t i = 0; i < n; i++) {
    struct shost *h = &e->hosts[i];
    h->res = hosts[i];
    if (ctx && ctx->srcs) h->src = ctx->srcs[i];
    if (ctx && ctx->ifnames && ctx->ifnames[i])
      snprintf(h->ifname, sizeof h->ifname, "%s", ctx->ifnames[i]);
  }
  /* the rules are evaluated from the hook, a slice at a time (phase_rule_step) */
  e->rule_host = 0;
  e->rule_script = 0;
  e->rule_port = -1;
  e->rules_pending = true;
  latency_base(e);
  sched_kick(e);
  return 0;
}

/* One rule of the group (hostrule, then each eligible port's portrule,
 * script by script, host by host); a host's runs are released once all
 * its rules are known. false when every rule has been evaluated. */
bool phase_rule_step(struct script_engine *e) {
  while (e->rule_host < e->nhosts) {
    struct shost *h = &e->hosts[e->rule_host];
    if (!h->res || h->res->status == HOST_DOWN || e->rule_script >= e->nscripts) {
      if (h->res && h->res->status != HOST_DOWN) sched_host_advance(e, h);
      e->rule_host++;
      e->rule_script = 0;
      e->rule_port = -1;
      continue;
    }
    struct script *sc = e->scripts[e->rule_script];
    if (e->rule_port < 0) {
      e->rule_port = 0;
      if (sc->rule[RULE_HOST]) {
        phase_add_run(e, sc, h, -1, sc->forced ? 1 : phase_rule(e, sc, "hostrule", h, -1));
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
    phase_add_run(e, sc, h, p, sc->forced ? 1 : phase_rule(e, sc, "portrule", h, p));
    return true;
  }
  e->rules_pending = false;
  return false;
}
