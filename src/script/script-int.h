/* script-int.h: what the scripting engine's files share: loaded scripts
 * (script-loader.c, script-select.c), script threads and how a C function
 * suspends one (script-thread.c), the scheduler (script-sched.c), runs and
 * their results (script-runner.c), phases and rules (script-phase.c), the
 * host/port tables (script-trees.c), the latency probe (script-latency.c),
 * the bootstrap (script-bootstrap.c, bootstrap.lua), tracing and reports
 * (script-trace.c) and the engine object itself (script-engine.c). The Lua
 * bindings' own declarations are in script/lua/lua-int.h. Not for the rest
 * of trawl: see script.h. */
#ifndef TRAWL_SCRIPT_INT_H
#define TRAWL_SCRIPT_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <trawl/dns.h>
#include <trawl/loop.h>
#include <trawl/rawsend.h>
#include <trawl/capture.h>

#include "core/result.h"
#include "script/script.h"

/* ---- loaded scripts ------------------------------------------------------- */

struct script {
  char *id;       /* file name without ".lua" */
  char *path;
  char *description;
  char **categories;
  size_t ncat;
  char **deps;    /* ids of scripts it runs after */
  size_t ndeps;
  int env_ref;    /* registry ref of its environment (its globals) */
  bool rule[4];   /* RULE_* present */
  bool forced;    /* "+name": run whatever the rules say */
  bool by_name;   /* selected by its name or file (not only by category or
                     directory): trawl.verbosity() says one more, as NSE's
                     nmap.verbosity() does */
  bool quiet;     /* selected only because -sV runs the "version" category:
                     it runs, its output is dropped (script-select.c) */
  int level;      /* 0 = no dependencies; runs after lower levels (same host) */
  bool nse;           /* one of Nmap's (.nse, script/nse/nse.h) */
  bool rule_reported; /* a failed rule of it was reported (.nse: once) */
};

enum { RULE_PRE, RULE_HOST, RULE_PORT, RULE_POST };

/* Loads one script file into e's state: runs the file in a fresh
 * environment and checks its fields. NULL with err set on failure. */
struct script *script_load(struct script_engine *e, const char *path, char *err, size_t errlen);
void script_release(struct script *s);

/* script-select.c: the --script expression. Fills e->scripts (loaded) or
 * fails with err naming the culprit. */
int script_select(struct script_engine *e, const char *expr, char *err, size_t errlen);
/* The scripts directory in use (set by script_select's caller). */
const char *script_dir(const struct script_engine *e);
/* --script-args text -> table on top of L. 0 or -EINVAL with err. */
int script_args_parse(lua_State *L, const char *text, char *err, size_t errlen);

/* ---- script threads ------------------------------------------------------- */

struct sthread;

/* Something a thread owns and that is closed when it ends (sockets,
 * captures). */
struct sres {
  struct sres *next, *prev;
  struct sthread *owner;
  void (*close)(struct sres *r); /* must unlink (sres_unlink) */
};
void sres_own(struct sthread *t, struct sres *r);
void sres_unlink(struct sres *r);

/* Cancels the wait a thread is suspended in (the thread is being killed):
 * afterwards the operation must never resume it. */
typedef void (*st_cancel_fn)(struct sthread *t, void *obj);

/* A run: one script against one host (and port). Made by script-phase.c
 * when a rule says yes, queued by script-sched.c, run by script-runner.c. */
struct srun {
  struct script *sc;
  struct shost *h;
  int port; /* index in h->res->ports, or -1 */
  bool rule_in_run; /* an NSE rule that must wait: the run's thread evaluates
                       it first, and runs the action if it says yes */
  struct srun *next;
};

/* A host of the current run (or the one pseudo-host of a pre/post phase). */
struct shost {
  struct host_result *res; /* NULL for pre/post */
  int idx;
  int table_ref;    /* its Lua host table (script-trees.c), or LUA_NOREF */
  tw_pkt_addr src;
  char ifname[IF_NAMESIZE];
  struct srun **lvq;  /* per level: runs not yet started */
  unsigned *lvleft;   /* per level: runs not yet finished */
  int curlevel;
};

struct sthread {
  struct script_engine *e;
  lua_State *L;         /* the coroutine */
  int ref;              /* registry ref keeping it alive */
  struct script *sc;
  struct srun *run;     /* NULL for helpers (trawl.spawn) */
  struct shost *host;   /* NULL for pre/post rules */
  struct sthread *parent;
  uint64_t deadline_ns; /* tw_now() deadline of --script-timeout; 0 none */
  uint64_t slice_ns;    /* when the current run slice began (preemption) */
  st_cancel_fn cancel;  /* set while suspended in a C call */
  void *cancel_obj;
  struct sres *res;     /* owned resources */
  struct sthread *ready_next;
  struct sthread *all_next, *all_prev;
  struct sthread *joiners;  /* threads waiting in handle:join() */
  struct sthread *join_next;
  int handle_ref;       /* registry ref of the spawn handle (helpers), or LUA_NOREF */
  int nresume;          /* values pushed on L for the next resume */
  uint8_t ready, waiting, killed, done, preempted, timedout;
  uint8_t join_ok;
  uint8_t syncwait;     /* suspended on a mutex, condvar or join (st_suspend_sync) */
};

/* ---- script-thread.c: script threads --------------------------------------- */

/* A new thread of script sc (for host h, NULL in pre/post phases; parent
 * for a helper), counted and linked into e->all; NULL when out of memory.
 * Its coroutine is empty: push the function and arguments, set nresume
 * and sched_push it. */
struct sthread *st_new(struct script_engine *e, struct script *sc, struct shost *h,
                       struct sthread *parent);
/* The thread running in L (a script thread or a coroutine it created), or
 * NULL outside script threads (loading, rules). */
struct sthread *st_current(lua_State *L);
/* The thread running in L, or a Lua error "cannot block here" when L may
 * not yield (rules, script loading, metamethods called from C). */
struct sthread *st_check_block(lua_State *L, const char *what);
/* Suspend the calling thread: `return st_suspend(L, t, cancel, obj);` from
 * a lua_CFunction. Later, the operation pushes its results on t->L and
 * calls st_resume(t, nres) (from a loop callback) or st_wake(t, nres)
 * (from inside another thread: deferred to the loop). */
int st_suspend(lua_State *L, struct sthread *t, st_cancel_fn cancel, void *obj);
/* The same for a wait that only another script thread can end (mutex,
 * condvar, join): counted in e->nsyncwait, so that the scheduler sees a
 * deadlock (every live thread waiting so, nothing else to run). */
int st_suspend_sync(lua_State *L, struct sthread *t, st_cancel_fn cancel, void *obj);
void st_resume(struct sthread *t, int nres);
void st_wake(struct sthread *t, int nres);
/* Run the thread now with the nargs values on its stack (the scheduler's
 * hook and st_resume call it): it runs until it waits, is preempted or
 * ends. */
void st_run(struct sthread *t, int nargs);
/* Stop waiting (cancel the pending operation) and end the thread with
 * status -ETIMEDOUT or -ECANCELED. */
void st_kill(struct sthread *t, int status);
/* Push nil and a message (the error return of every network function). */
int st_pusherr(lua_State *L, const char *msg);
/* The message for a libtrawl error: "TIMEOUT", "EOF", "CANCELLED", or the
 * system's text ("Connection refused"). */
const char *st_errstr(int err);
/* Spawn a helper running the function at index fidx with the values
 * above it as arguments; pushes its handle. */
int st_spawn(lua_State *L, struct sthread *parent, int fidx, int nargs);

/* ---- script-sched.c: the scheduler ------------------------------------------ */

/* Work an I/O callback defers to the engine's hook. A callback with
 * costly work (a TLS handshake step: key generation) does it at once when
 * the loop iteration's script budget allows (sched_budget_left; then
 * sched_budget_charge the time it took), else queues it with sched_defer:
 * the hook runs it, within the budget, before resuming threads. The
 * queued object must stay alive until fn has run (hold a reference). */
struct sdefer {
  struct sdefer *next;
  void (*fn)(struct sdefer *d);
  bool queued;
};
bool sched_budget_left(struct script_engine *e);
void sched_budget_charge(struct script_engine *e, uint64_t since_ns);
void sched_defer(struct script_engine *e, struct sdefer *d, void (*fn)(struct sdefer *d));
/* Run every deferred piece of work now (the engine is being freed). */
void sched_drain_deferred(struct script_engine *e);

/* Two ready queues: threads woken by an event (I/O, a timer, another
 * thread, a new run) and threads preempted while computing. */
enum { RQ_WOKEN, RQ_PREEMPTED };
void sched_push(struct sthread *t, int q);
/* Take t off its ready queue (it is ending). */
void sched_unlink(struct sthread *t);
bool sched_any_ready(const struct script_engine *e);
/* Every live thread waits on another (mutex, condvar, join) and nothing
 * else can run or arrive: a deadlock, which the hook breaks (it ends the
 * waiting helpers, or if none the waiting runs, as failed). Cheap. */
bool sched_deadlocked(const struct script_engine *e);
/* A queued run can start (fewer than max_threads run). */
bool sched_can_start(const struct script_engine *e);
/* Release the host's runs of its lowest unfinished level to the queue. */
void sched_host_advance(struct script_engine *e, struct shost *h);
/* A run ended (or could not start): count it, release the next level. */
void sched_run_finished(struct script_engine *e, struct srun *r);
/* Make sure the hook runs (there is work for it). */
void sched_kick(struct script_engine *e);
/* Drop every run not yet started (script_engine_stop). */
void sched_drop_queued(struct script_engine *e);
/* The idle hook (e->ready_hook). 0 or a negative error. */
int sched_init(struct script_engine *e);

/* ---- script-runner.c: one run and its results ------------------------------- */

/* Start run r: its thread, the action's arguments (host and port tables),
 * its --script-timeout timer. 0 or -ENOMEM. */
int srun_start(struct script_engine *e, struct srun *r);
/* Thread t ended with status (0 and nres results on its stack, a LUA_ERR*
 * code and the message, or -ETIMEDOUT / -ECANCELED): store a run's
 * results, report failures and timeouts. */
void srun_ended(struct sthread *t, int status, int nres);
/* Sort script results by id (Nmap's order): an array, a host's. */
void srun_sort(struct script_result *v, size_t n);
void srun_sort_host(struct host_result *h);
/* A text-only result of sc for h's port (port < 0: the host; h NULL or
 * without results: the pre/post phase). 0 or -ENOMEM. */
int srun_add_text(struct script_engine *e, const struct script *sc, struct shost *h, int port,
                  const char *text);
/* What NSE makes the output of an Nmap script whose rule or action raised
 * an error, when not debugging (Nmap 7.93's nse_main.lua, Thread:resume:
 * NSE evaluates a rule in the script's thread, so a rule's error is the
 * run's); with -d, NSE gives no output and prints the error instead. */
#define SRUN_NSE_ERROR_OUTPUT "ERROR: Script execution failed (use -d to debug)"
/* What the bootstrap's runner returns first for a flattened table result. */
extern const char srun_flat_mark;

/* ---- script-phase.c: phases and rules --------------------------------------- */

/* Evaluate the group's next rule (called by the scheduler's hook); false
 * once every rule has been evaluated. */
bool phase_rule_step(struct script_engine *e);
/* Arm the done callback if the phase has nothing left to do. */
void phase_check_done(struct script_engine *e);

/* ---- script-trees.c: the host and port tables given to scripts -------------- */

/* Push h's host table (made once per phase, then shared by its rules and
 * runs). */
void trees_push_host(lua_State *L, struct shost *h);
void trees_push_port(lua_State *L, struct script_engine *e, const struct port_result *p);
/* script-p0f.c: port.synack of an open port (p0f.fp read on first use) */
struct p0f_obs;
void script_p0f_push_synack(lua_State *L, struct script_engine *e, const struct p0f_obs *o);
void script_p0f_free(struct script_engine *e);

/* ---- script-latency.c: TRAWL_LATENCY_PROBE ----------------------------------- */

struct latency_probe;
void latency_start(struct script_engine *e);  /* if TRAWL_LATENCY_PROBE is set */
void latency_base(struct script_engine *e);   /* host scripts are about to start */
void latency_report(struct script_engine *e); /* print and free (engine freed) */

/* ---- script-loader.c: script files, lualib, --script-args-file --------------- */

/* The scripts and lualib directories (cfg->scriptdir or the data
 * directory search) into e->dir and e->libdir, and package.path. */
void loader_set_dirs(struct script_engine *e);
/* --script-args-file's text as one --script-args string (malloc'd). */
int loader_args_file(const char *path, char **out);
/* Dependency levels of the selected scripts, and run order (level, id);
 * a cycle is an error naming a script. */
int loader_order(struct script_engine *e, char *err, size_t errlen);

/* ---- script-bootstrap.c: the Lua side of the engine (bootstrap.lua) ---------- */

/* Run the bootstrap in e->L: coroutine wrappers, the action runner
 * (registry "trawl.runner"), key order ("trawl.keys"), the traceback
 * handler ("trawl.traceback"). 0 or -EINVAL with err. */
int bootstrap_load(struct script_engine *e, char *err, size_t errlen);
/* bootstrap.lua, embedded at build time (cmake/embed.cmake). */
extern const char script_bootstrap_lua[];
extern const size_t script_bootstrap_lua_len;

/* ---- script-engine.c ---------------------------------------------------------- */

void script_config_from_options(struct script_config *c, const struct options *o);

/* ---- script-trace.c: --script-trace and error reports ------------------------ */

/* --script-trace: one line "SCRIPT <id> <what> | <escaped bytes>". */
void script_trace(struct script_engine *e, struct sthread *t, const char *what,
                  const void *data, size_t len);
/* An error or timeout report on the engine's error stream. */
void script_report(struct script_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the engine ------------------------------------------------------------ */

struct script_engine {
  tw_loop *loop;
  lua_State *L;
  struct script_config cfg;
  char dir[4096];       /* scripts directory */
  char libdir[4096];    /* lualib directory ("" if none) */
  char nmapdir[4096];   /* Nmap's data directory (script/nse/nse.h; "" if none) */
  bool nmap_missing;    /* none because nmap-common is not there (errors say so) */
  struct script **scripts; /* selected, in run order */
  size_t nscripts;
  int maxlevel;
  struct script *rule_sc; /* the script whose rule runs now (rules have no thread) */
  FILE *errfp, *tracefp;
  /* threads */
  struct sthread *all;  /* every live thread */
  struct { struct sthread *head, *tail; } rq[2]; /* ready: woken, preempted */
  tw_hook *ready_hook;   /* runs ready threads, starts runs, evaluates rules */
  bool ready_running;    /* the hook is started */
  uint64_t budget_iter;  /* loop iteration the budget below is for */
  uint64_t budget_ns;    /* time spent running scripts in that iteration */
  struct sdefer *defer_head, *defer_tail; /* deferred I/O work (sched_defer) */
  unsigned max_threads;
  unsigned nthreads;    /* live run threads (helpers not counted) */
  unsigned nlive;       /* every live thread */
  unsigned nsyncwait;   /* live threads suspended in st_suspend_sync */
  /* the current run */
  bool running;
  int resume_depth;     /* > 0 while a thread runs (nested wakes are deferred) */
  int phase;            /* RULE_* of the run */
  struct shost *hosts;
  size_t nhosts;
  struct srun *queue_head, *queue_tail; /* runs ready to start */
  bool rules_pending;   /* the group's rules are still being evaluated ... */
  size_t rule_host;     /* ... from this host, */
  size_t rule_script;   /* this script, */
  long rule_port;       /* and this port (-1: the hostrule first) */
  size_t runs_left;     /* runs not finished */
  script_done_cb done;
  void *done_arg;
  tw_timer *done_timer;
  struct script_result *pre, *post;
  size_t npre, npost;
  /* shared objects */
  int registry_ref;     /* trawl.registry */
  int mutexes_ref;      /* key -> mutex userdata (weak values) */
  tw_resolver *resolver;
  struct ssl_ctx_st *tls_ctx; /* OpenSSL's SSL_CTX for script sockets (lua-tls.c) */
  bool privileged;      /* root at creation, or raw sockets opened for scripts */
  struct p0f_db *p0f;   /* p0f.fp for port.synack (script-p0f.c), once tried */
  bool p0f_tried;
  char p0f_err[512];
  tw_rawsock *raw4, *raw6;
  struct { char name[16]; tw_rawsock *rs; tw_capture *cap; } eth[8];
  int neth;
  /* statistics */
  struct script_stats st;
  size_t lua_bytes;
  uint64_t trace_seq;
  struct latency_probe *probe; /* TRAWL_LATENCY_PROBE (script-latency.c), or NULL */
};

/* What a C function that suspends its thread yields (script-thread.c): a
 * light userdata address, so that the bootstrap's coroutine wrappers pass
 * it up to the thread's top. */
extern const char script_yield_mark;

#endif
