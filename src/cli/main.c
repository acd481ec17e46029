/* main.c: the trawl command: parse and check the command line, then print
 * the plan (--dry-run) or run the scan (scan.c).
 * Exit status: 0 success, 1 runtime failure, 2 bad command line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <trawl/trawl.h>

#include "cli/merge.h"
#include "cli/options.h"
#include "cli/resume.h"
#include "db/services.h"
#include "scan/privilege.h"
#include "scan/scan.h"
#include "script/script.h"
#include "core/version.h"

/* --dry-run --script: the scripts are found and loaded as the real run
 * would (then dropped), so a bad --script fails the dry run the same way,
 * with the same line and exit status 2. */
static int dry_run_scripts(const struct options *o, char *err, size_t errlen) {
  if (!o->scripts) return 0;
  tw_loop *loop = NULL;
  struct script_engine *e = NULL;
  int r = tw_loop_new(&loop);
  if (r < 0) {
    snprintf(err, errlen, "cannot create the event loop: %s", tw_strerror(r));
    return r;
  }
  r = script_engine_new(loop, o, &e, err, errlen);
  if (e) script_engine_free(e);
  tw_loop_close(loop);
  return r < 0 ? r : 0;
}

int main(int argc, char **argv) {
  struct options o;
  char err[512];
  /* A hidden runner for scripts without a scan (tests, script authors). */
  if (argc > 1 && strcmp(argv[1], "--script-test") == 0) return script_test_main(argc - 1, argv + 1);
  /* trawl merge [-o...] IN...: the outputs of a sharded scan's shards into one */
  if (argc > 1 && strcmp(argv[1], "merge") == 0) return merge_main(argc - 1, argv + 1);
  if (argc <= 1) {
    options_usage(stdout);
    return 0;
  }
  if (options_parse(&o, argc, argv, err, sizeof err) != 0) {
    fprintf(stderr, "trawl: %s\n", err);
    options_free(&o);
    return 2;
  }
  if (o.help) {
    options_usage(stdout);
    options_free(&o);
    return 0;
  }
  if (o.version) {
    printf("%s version %s\n", TRAWL_NAME, TRAWL_VERSION);
    options_free(&o);
    return 0;
  }
  if (o.script_updatedb) {
    int urc = script_updatedb(&o, stdout, err, sizeof err);
    if (urc < 0) fprintf(stderr, "trawl: %s\n", err);
    options_free(&o);
    return urc < 0 ? 2 : 0;
  }
  if (o.script_help) {
    int hrc = script_help(&o, stdout, err, sizeof err);
    if (hrc < 0) fprintf(stderr, "trawl: %s\n", err);
    options_free(&o);
    return hrc < 0 ? 2 : 0;
  }
  /* --resume: the command line and the position come from the file. */
  int rargc = 0;
  char **rargv = NULL;
  if (o.resume) {
    uint64_t next = 0, seed = 0;
    if (resume_load(o.resume, &rargc, &rargv, &next, &seed, err, sizeof err) != 0) {
      fprintf(stderr, "trawl: %s\n", err);
      options_free(&o);
      return 2;
    }
    options_free(&o);
    if (options_parse(&o, rargc, rargv, err, sizeof err) != 0) {
      fprintf(stderr, "trawl: in the --resume file's command line: %s\n", err);
      options_free(&o);
      resume_free_argv(rargc, rargv);
      return 2;
    }
    o.resuming = true;
    o.resume_next = next;
    o.seed = seed;
    o.seed_set = true;
  }
  if (options_finalize(&o, privilege_can_raw(), err, sizeof err) != 0) {
    fprintf(stderr, "trawl: %s\n", err);
    options_free(&o);
    return 2;
  }
  if (o.debug && o.services) fprintf(stderr, "trawl: port table: %s\n", services_path(o.services));
  int rc = 0;
  if (o.dry_run) {
    if (dry_run_scripts(&o, err, sizeof err) < 0) {
      fprintf(stderr, "trawl: %s\n", err);
      options_free(&o);
      if (rargv) resume_free_argv(rargc, rargv);
      return 2;
    }
    options_print_plan(stdout, &o);
  } else {
    rc = scan_run(&o);
  }
  options_free(&o);
  if (rargv) resume_free_argv(rargc, rargv);
  return rc;
}
