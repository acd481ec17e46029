/* script-int.h: what the scripting engine's files share (script-engine.c,
 * script-select.c, lua-trawl.c, lua-tls.c, lua-packet.c): loaded scripts,
 * script threads and how a C function suspends one, resources a thread
 * owns, tracing. Not for the rest of trawl: see script.h. */
#ifndef TRAWL_SCRIPT_INT_H
#define TRAWL_SCRIPT_INT_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
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
  int level;      /* 0 = no dependencies; runs after lower levels (same host) */
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

struct shost;
struct srun;

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
};

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
void st_resume(struct sthread *t, int nres);
void st_wake(struct sthread *t, int nres);
/* Push nil and a message (the error return of every network function). */
int st_pusherr(lua_State *L, const char *msg);
/* The message for a libtrawl error: "TIMEOUT", "EOF", "CANCELLED", or the
 * system's text ("Connection refused"). */
const char *st_errstr(int err);
/* Work an I/O callback defers to the engine's hook. A callback with
 * costly work (a TLS handshake step: key generation) does it at once when
 * the loop iteration's script budget allows (st_budget_left; then
 * st_budget_charge the time it took), else queues it with st_defer: the
 * hook runs it, within the budget, before resuming threads. The queued
 * object must stay alive until fn has run (hold a reference). */
struct sdefer {
  struct sdefer *next;
  void (*fn)(struct sdefer *d);
  bool queued;
};
bool st_budget_left(struct script_engine *e);
void st_budget_charge(struct script_engine *e, uint64_t since_ns);
void st_defer(struct script_engine *e, struct sdefer *d, void (*fn)(struct sdefer *d));
/* Spawn a helper running the function at index fidx with the values
 * above it as arguments; pushes its handle. */
int st_spawn(lua_State *L, struct sthread *parent, int fidx, int nargs);

/* ---- the engine ------------------------------------------------------------ */

struct script_engine {
  tw_loop *loop;
  lua_State *L;
  struct script_config cfg;
  char dir[4096];       /* scripts directory */
  char libdir[4096];    /* lualib directory ("" if none) */
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
  struct sdefer *defer_head, *defer_tail; /* deferred I/O work (st_defer) */
  unsigned max_threads;
  unsigned nthreads;    /* live run threads (helpers not counted) */
  unsigned nlive;       /* every live thread */
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
  bool privileged;      /* root at creation, or raw sockets opened for scripts */
  tw_rawsock *raw4, *raw6;
  struct { char name[16]; tw_rawsock *rs; tw_capture *cap; } eth[8];
  int neth;
  /* statistics */
  struct script_stats st;
  size_t lua_bytes;
  uint64_t trace_seq;
  struct se_probe *probe; /* TRAWL_LATENCY_PROBE (script-engine.c), or NULL */
};

/* Registering the Lua modules (called once per state). */
void lua_trawl_open(struct script_engine *e, lua_State *L);   /* lua-trawl.c */
void lua_tls_open(struct script_engine *e, lua_State *L);     /* lua-tls.c */
void lua_packet_open(struct script_engine *e, lua_State *L);  /* lua-packet.c */
void lua_packet_close(struct script_engine *e);

/* TLS over a socket, with memory BIOs (lua-tls.c): the socket code moves
 * the bytes between the TLS object and the TCP stream. */
struct ltls;
struct ltls *ltls_new(const char *sni, char *err, size_t errlen);
void ltls_free(struct ltls *s);
/* 1 done, 0 wants more input (feed it), < 0 failed (ltls_error). */
int ltls_handshake(struct ltls *s);
/* Plaintext: > 0 bytes, 0 wants more input, TW_EOF (close_notify), < 0 failed. */
int ltls_read(struct ltls *s, char *buf, size_t cap);
/* Encrypt buf (all of it); 0 or < 0. */
int ltls_write(struct ltls *s, const void *buf, size_t len);
/* Ciphertext received from the peer. */
int ltls_feed(struct ltls *s, const void *buf, size_t len);
/* Ciphertext to send: how much is waiting, and up to cap bytes of it. */
size_t ltls_out_pending(const struct ltls *s);
int ltls_take(struct ltls *s, char *buf, size_t cap);
const char *ltls_error(const struct ltls *s);
/* Push the peer certificate as a table (see docs/scripting.md), or nil
 * and a message; returns the number of values pushed. */
int ltls_push_cert(lua_State *L, struct ltls *s);
/* The version and cipher negotiated ("TLSv1.3", "TLS_AES_256_GCM_SHA384"). */
const char *ltls_version(const struct ltls *s);
const char *ltls_cipher(const struct ltls *s);

/* --script-trace: one line "SCRIPT <id> <what> | <escaped bytes>". */
void script_trace(struct script_engine *e, struct sthread *t, const char *what,
                  const void *data, size_t len);

/* Engine-wide Lua registry keys (light userdata addresses). */
extern const char script_yield_mark;

#endif
