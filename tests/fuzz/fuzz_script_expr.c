/* fuzz_script_expr.c: libFuzzer harness for the --script expression
 * (script_select in src/script/script-select.c: comma-separated items,
 * "+" forcing, boolean expressions over names, globs and categories),
 * through script_engine_new_cfg, which also runs the selected scripts'
 * dependency levels. The scripts directory is tests/fuzz/scripts (five
 * tiny scripts, one of which fails to load), and it is also the working
 * directory, so that items naming files or directories resolve there;
 * inputs with a '/' are skipped, so the fuzzer never loads a file from
 * elsewhere (/dev/zero, /dev/stdin). Seeds: tests/fuzz/corpus/script_expr/. */
#include "fuzz-util.h"

#include <trawl/loop.h>

#include "script/script.h"

#define FZ_SCRIPTS TW_SRCDIR "/tests/fuzz/scripts"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (chdir(FZ_SCRIPTS) != 0) {
    perror("fuzz_script_expr: " FZ_SCRIPTS);
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (memchr(data, '/', size)) return 0;
  char *expr = fuzz_cstr(data, size);
  if (!expr) return 0;
  tw_loop *loop;
  if (tw_loop_new(&loop) < 0) {
    free(expr);
    return 0;
  }
  FILE *quiet = fopen("/dev/null", "w");
  struct script_config cfg = {.scripts = expr, .scriptdir = FZ_SCRIPTS,
                              .errfp = quiet, .tracefp = quiet};
  struct script_engine *e = NULL;
  char err[512];
  err[0] = 0;
  int rc = script_engine_new_cfg(loop, &cfg, &e, err, sizeof err);
  if (rc < 0) {
    FUZZ_CHECK(e == NULL);
    FUZZ_CHECK(err[0] != 0);
  } else {
    FUZZ_CHECK(e != NULL);
    script_engine_free(e);
  }
  FUZZ_CHECK(tw_loop_close(loop) == 0);
  if (quiet) fclose(quiet);
  free(expr);
  return 0;
}
