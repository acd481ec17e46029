/* main.c: the trawl command: parse and check the command line, then print
 * the plan (--dry-run) or run the scan (scan.c).
 * Exit status: 0 success, 1 runtime failure, 2 bad command line. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "scan.h"
#include "version.h"

int main(int argc, char **argv) {
  struct options o;
  char err[512];
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
  if (o.script_help) {
    fprintf(stderr, "trawl: --script-help is not available yet (the script engine is not built): '%s'\n",
            o.script_help);
    options_free(&o);
    return 1;
  }
  if (options_finalize(&o, geteuid() == 0, err, sizeof err) != 0) {
    fprintf(stderr, "trawl: %s\n", err);
    options_free(&o);
    return 2;
  }
  int rc = 0;
  if (o.dry_run) {
    options_print_plan(stdout, &o);
  } else {
    rc = scan_run(&o);
  }
  options_free(&o);
  return rc;
}
