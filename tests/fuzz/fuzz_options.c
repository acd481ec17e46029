/* fuzz_options.c: libFuzzer harness for the command line
 * (src/cli/options.c, and through it the target, port and time parsers):
 * the input is argv, one argument per line (argv[0] is "trawl"), parsed,
 * finalized (as root when the input's first byte is odd) and printed as a
 * --dry-run plan. Arguments that make the parser read a file named in the
 * input (-iL, --excludefile, --datadir) are refused by the harness: the
 * fuzzer must not read /dev/stdin or the disk. The port table is the
 * tree's data/trawl-services. Seeds: tests/fuzz/corpus/options/. */
#include "fuzz-util.h"

#include "cli/options.h"

#define FZ_MAXARGS 64

static int reads_a_file(const char *a) {
  if (a[0] != '-') return 0;
  return strstr(a, "iL") || strstr(a, "excludefile") || strstr(a, "datadir");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  bool root = data[0] & 1;
  char *text = fuzz_cstr(data + 1, size - 1);
  if (!text) return 0;
  char *argv[FZ_MAXARGS + 2];
  int argc = 0;
  argv[argc++] = "trawl";
  for (char *p = text; argc <= FZ_MAXARGS;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    if (reads_a_file(p)) {
      free(text);
      return 0;
    }
    argv[argc++] = p;
    if (!nl) break;
    p = nl + 1;
  }
  argv[argc] = NULL;
  struct options o;
  char err[512];
  err[0] = 0;
  int rc = options_parse(&o, argc, argv, err, sizeof err);
  if (rc == 0) {
    err[0] = 0;
    rc = options_finalize(&o, root, err, sizeof err);
  }
  if (rc != 0) {
    FUZZ_CHECK(err[0] != 0);
    FUZZ_CHECK(strchr(err, '\n') == NULL);
  } else if (!o.help && !o.version && !o.script_help) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
      options_print_plan(f, &o);
      fclose(f);
      FUZZ_CHECK(len > 0);
    }
    free(buf);
  }
  options_free(&o);
  free(text);
  return 0;
}
