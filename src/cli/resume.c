/* resume.c: reading an interrupted scan's output back (see resume.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/resume.h"
#include "core/xmltext.h"

void resume_free_argv(int argc, char **argv) {
  for (int i = 0; i < argc; i++) free(argv[i]);
  free(argv);
}

/* Split the command line as it was written (words separated by spaces, as
 * Nmap's --resume does; XML's &quot; etc. undone). 0 with at least one
 * word, 1 when the line holds no word (nothing allocated), -ENOMEM. */
static int split(const char *line, int *argc, char ***argv) {
  char *copy = strdup(line);
  if (!copy) return -ENOMEM;
  char *nl = strpbrk(copy, "\r\n");
  if (nl) *nl = 0;
  /* XML: args="..." ends at the quote; the comment form ends at " -->" */
  char *end = strstr(copy, " -->");
  if (end) *end = 0;
  int n = 0;
  size_t cap = 16;
  char **v = malloc(cap * sizeof *v);
  if (!v) {
    free(copy);
    return -ENOMEM;
  }
  char *save = NULL;
  for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    if ((size_t)n + 1 >= cap) {
      char **nv = n < INT_MAX / 2 ? realloc(v, cap * 2 * sizeof *v) : NULL;
      if (!nv) goto oom;
      v = nv;
      cap *= 2;
    }
    v[n] = strdup(tok);
    if (!v[n]) goto oom;
    xmltext_unescape(v[n]); /* a bad entity stays as written */
    n++;
  }
  v[n] = NULL;
  free(copy);
  if (n == 0) { /* only spaces: no command line here */
    free(v);
    return 1;
  }
  *argc = n;
  *argv = v;
  return 0;
oom:
  resume_free_argv(n, v);
  free(copy);
  return -ENOMEM;
}

int resume_load(const char *path, int *argc, char ***argv, uint64_t *next_target,
                uint64_t *seed, char *err, size_t errlen) {
  *argc = 0;
  *argv = NULL;
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot read --resume file: '%s': %s", path, strerror(errno));
    return -1;
  }
  /* Lines of any length: a command line with thousands of targets must
   * come back whole, never cut at a buffer's size. */
  char *line = NULL;
  size_t linecap = 0;
  int have_args = 0, have_marker = 0, rc = 0;
  while (getline(&line, &linecap, f) >= 0) {
    char *as = strstr(line, "scan initiated");
    if (!have_args && as && (as = strstr(as, " as: "))) {
      int r = split(as + 5, argc, argv);
      if (r < 0) {
        rc = r;
        break;
      }
      if (r == 0) have_args = 1;
      continue;
    }
    char *m = strstr(line, RESUME_TAG);
    if (m) {
      unsigned long long nt, sd;
      if (sscanf(m + strlen(RESUME_TAG), " next-target=%llu seed=%llu", &nt, &sd) == 2) {
        *next_target = nt;
        *seed = sd;
        have_marker = 1;
      }
    }
  }
  if (rc == 0 && ferror(f)) rc = -EIO;
  free(line);
  fclose(f);
  if (rc < 0 || !have_args || !have_marker) {
    if (have_args) resume_free_argv(*argc, *argv);
    *argc = 0;
    *argv = NULL;
    if (rc < 0)
      snprintf(err, errlen, "cannot read --resume file: '%s': %s", path, strerror(-rc));
    else
      snprintf(err, errlen, "not the output of an interrupted trawl scan (%s): '%s'",
               have_args ? "no resume marker" : "no command line", path);
    return -1;
  }
  return 0;
}
