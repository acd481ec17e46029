/* script.h: the scripting engine as the scanner sees it. Lua 5.4 scripts
 * (scripts/NAME.lua, Nmap NSE style: prerule/hostrule/portrule/postrule and
 * an action) run as coroutines in the scan's one libtrawl loop: a script
 * waiting on the network is suspended and resumed when its data arrives or
 * its timeout fires. docs/scripting.md documents the Lua side.
 *
 * How scan.c drives it (all on the loop's thread):
 *
 *   1. Before scanning, after options_finalize() (and BEFORE dropping root
 *      privileges, so that raw sockets can be opened for scripts that use
 *      raw packets):
 *        script_engine_new(loop, o, &eng, err, sizeof err)
 *      when o->scripts is set (-sC sets it to "default"). It loads and
 *      selects the scripts and parses --script-args; every problem (missing
 *      or broken script, unknown category, malformed --script expression or
 *      --script-args) is one line in err naming it: print "trawl: <err>"
 *      and exit 2 before sending anything. Then, still as root:
 *        script_engine_open_raw(eng, ifnames, n)
 *      with the interfaces the scan captures on (optional: only scripts
 *      that send raw packets need it).
 *   2. script_run_prerules(eng, done, arg): runs the prerule scripts; done
 *      is called (from the loop, never inside the call) when they are all
 *      finished. Their results: script_engine_results(eng, SCRIPT_PRE, &n).
 *   3. For each host group, after its port scan stages and before writing
 *      the group's hosts:
 *        script_run_group(eng, hosts, n, &ctx, done, arg)
 *      hosts are the group's host_results (down hosts are skipped). Script
 *      results are attached to the hosts (result_add_script) and sorted by
 *      script id; done(arg) runs from the loop once every script thread of
 *      the group has ended; then write the hosts. The hosts must stay
 *      alive and unchanged (no ports added) until done.
 *   4. After the last group: script_run_postrules(eng, done, arg), then
 *      script_engine_results(eng, SCRIPT_POST, &n).
 *   5. script_engine_free(eng) (kills whatever still runs, e.g. after an
 *      interruption; callable any time except from inside a done callback
 *      of this engine... which is fine too: it defers nothing).
 *
 * script_engine_stop(eng) kills every running script thread now (Ctrl-C):
 * the pending done callback still runs, once.
 *
 * Each function returns 0 or a negative error (-EBUSY when a run is
 * already in progress, -ENOMEM). A run with nothing to do still calls
 * done, from the loop. */
#ifndef TRAWL_SCRIPT_H
#define TRAWL_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <trawl/loop.h>
#include <trawl/packet.h>

#include "core/result.h"

struct options;
struct script_engine;

/* Everything the engine reads from the command line, for callers without
 * a struct options (tests, the script runner). script_engine_new() fills
 * one from the options. */
struct script_config {
  const char *scripts;        /* --script expression (required unless
                                 version_scripts) */
  bool version_scripts;       /* -sV: also run every script of category
                                 "version"; those the expression does not
                                 select run with their output hidden, as
                                 Nmap's -sV does. Finding none is no error. */
  const char *script_args;    /* --script-args, or NULL */
  const char *script_args_file;
  bool trace;                 /* --script-trace: every byte to `tracefp` */
  uint64_t timeout_ms;        /* --script-timeout; 0: none */
  const char *datadir;        /* --datadir: looked in first for scripts/ */
  const char *scriptdir;      /* a scripts directory to use instead */
  const char *nmapdir;        /* Nmap's data directory (scripts/, nselib/): NULL
                                 finds it (nse.h) unless scriptdir is set; ""
                                 none */
  unsigned max_threads;       /* 0: TRAWL_SCRIPT_THREADS or 1000 */
  const char *dns_servers;    /* for trawl.resolve/reverse; NULL: resolv.conf */
  int verbose, debug;
  int timing;                 /* -T level, for nmap.timing_level() */
  int version_intensity;      /* for nmap.version_intensity(); <0: 7 */
  int ttl;                    /* --ttl for nmap.get_ttl(); <=0: 64 */
  const char *device;         /* -e, for nmap.get_interface(); NULL none */
  int payload_length;         /* --data-length (or --data's size), for nmap.get_payload_length() */
  FILE *errfp;                /* errors and tracebacks (NULL: stderr) */
  FILE *tracefp;              /* --script-trace (NULL: stderr) */
};

int script_engine_new(tw_loop *loop, const struct options *o, struct script_engine **out,
                      char *err, size_t errlen);
int script_engine_new_cfg(tw_loop *loop, const struct script_config *cfg,
                          struct script_engine **out, char *err, size_t errlen);
void script_engine_free(struct script_engine *e);

/* Open the raw IPv4/IPv6 sockets, and an Ethernet socket and a capture per
 * interface, that trawl.raw_send and trawl.pcap_open will use; needs root.
 * Errors are not fatal (scripts get them when they try): returns the
 * number of sockets/captures opened. */
int script_engine_open_raw(struct script_engine *e, const char *const *ifnames, size_t n);

/* Scripts selected (after script_engine_new), and which rules they have. */
size_t script_engine_count(const struct script_engine *e);
bool script_engine_has_rule(const struct script_engine *e, const char *rule);
/* Whether the script of this id (file name without ".lua") is selected by
 * its name or file (not only through a category or "all"). */
bool script_engine_has_script(const struct script_engine *e, const char *id);

typedef void (*script_done_cb)(void *arg);

/* Context of a group for the host tables given to scripts. Every pointer
 * may be NULL, and each array has n entries (one per host). */
struct script_group_ctx {
  const tw_pkt_addr *srcs;     /* our source address toward host i */
  const char *const *ifnames;  /* interface toward host i */
};

int script_run_prerules(struct script_engine *e, script_done_cb done, void *arg);
int script_run_group(struct script_engine *e, struct host_result **hosts, size_t n,
                     const struct script_group_ctx *ctx, script_done_cb done, void *arg);
int script_run_postrules(struct script_engine *e, script_done_cb done, void *arg);
void script_engine_stop(struct script_engine *e);

enum script_phase { SCRIPT_PRE, SCRIPT_POST };
/* Results of the pre- or postrule scripts (valid until script_engine_free). */
const struct script_result *script_engine_results(const struct script_engine *e,
                                                  enum script_phase ph, size_t *n);

struct script_stats {
  uint64_t threads_started, threads_done, errors, timeouts;
  uint64_t deadlocks;     /* times every thread waited on another and the engine broke it */
  uint64_t peak_threads;  /* most script threads alive at once */
  size_t lua_bytes;       /* memory the Lua state uses now */
  size_t lua_peak_bytes;
};
void script_engine_stats(const struct script_engine *e, struct script_stats *st);

/* --script-help: print the description and categories of every script
 * the expression selects. 0, or a negative error with err set. */
int script_help(const struct options *o, FILE *out, char *err, size_t errlen);
int script_help_cfg(const struct script_config *cfg, FILE *out, char *err, size_t errlen);
/* --script-updatedb (script-updatedb.c): trawl's view of its own and
 * Nmap's scripts, rebuilt and reported to out; writes no file. */
int script_updatedb(const struct options *o, FILE *out, char *err, size_t errlen);
int script_updatedb_cfg(const struct script_config *cfg, FILE *out, char *err, size_t errlen);

/* A standalone runner: `trawl --script-test [options] TARGET...` where a
 * TARGET is HOST (hostrule only) or HOST:PORT[/udp] (HOST may be [v6]);
 * options are --script X, --script-args X, --script-args-file X,
 * --script-timeout MS, --script-trace, --datadir D, -oX F, -oJ F, -oN F
 * (default normal output to stdout). Runs the rules and actions with no
 * scan (ports are taken as open), prints the results. Returns an exit
 * code (0 ok, 1 runtime error, 2 usage). Lives in src/cli/script-test.c
 * (a user of this header like the scan). */
int script_test_main(int argc, char **argv);

#endif
