/* resume.c: reading an interrupted scan's output back (see resume.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/resume.h"

void resume_free_argv(int argc, char **argv) {
  for (int i = 0; i < argc; i++) free(argv[i]);
  free(argv);
}

/* Undo XML escapes in place: the named ones and numeric &#N; / &#xN; (the
 * XML writer escapes '-' in comments as &#45;). */
static void xml_unescape(char *t) {
  static const struct {
    const char *name;
    char c;
  } named[] = {{"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}};
  char *w = t;
  for (const char *r = t; *r;) {
    if (*r == '&') {
      size_t k;
      for (k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t l = strlen(named[k].name);
        if (strncmp(r, named[k].name, l) == 0) {
          *w++ = named[k].c;
          r += l;
          break;
        }
      }
      if (k < sizeof named / sizeof named[0]) continue;
      if (r[1] == '#') {
        char *end;
        int hex = r[2] == 'x' || r[2] == 'X';
        unsigned long c = strtoul(r + 2 + hex, &end, hex ? 16 : 10);
        if (*end == ';' && c > 0 && c < 128) {
          *w++ = (char)c;
          r = end + 1;
          continue;
        }
      }
    }
    *w++ = *r++;
  }
  *w = 0;
}

/* Split the command line as it was written (words separated by spaces, as
 * Nmap's --resume does; XML's &quot; etc. undone). */
static int split(const char *line, int *argc, char ***argv) {
  char *copy = strdup(line);
  if (!copy) return -1;
  char *nl = strpbrk(copy, "\r\n");
  if (nl) *nl = 0;
  /* XML: args="..." ends at the quote; the comment form ends at " -->" */
  char *end = strstr(copy, " -->");
  if (end) *end = 0;
  int n = 0, cap = 16;
  char **v = malloc((size_t)cap * sizeof *v);
  if (!v) {
    free(copy);
    return -1;
  }
  for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
    if (n + 1 >= cap) {
      cap *= 2;
      char **nv = realloc(v, (size_t)cap * sizeof *v);
      if (!nv) break;
      v = nv;
    }
    v[n] = strdup(tok);
    if (!v[n]) break;
    xml_unescape(v[n]);
    n++;
  }
  v[n] = NULL;
  free(copy);
  *argc = n;
  *argv = v;
  return 0;
}

int resume_load(const char *path, int *argc, char ***argv, uint64_t *next_target,
                uint64_t *seed, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot read --resume file: '%s': %s", path, strerror(errno));
    return -1;
  }
  char line[8192];
  int have_args = 0, have_marker = 0;
  *argc = 0;
  *argv = NULL;
  while (fgets(line, sizeof line, f)) {
    char *as = strstr(line, "scan initiated");
    if (!have_args && as && (as = strstr(as, " as: "))) {
      if (split(as + 5, argc, argv) == 0 && *argc > 0) have_args = 1;
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
  fclose(f);
  if (!have_args || !have_marker) {
    if (have_args) resume_free_argv(*argc, *argv);
    *argc = 0;
    *argv = NULL;
    snprintf(err, errlen, "not the output of an interrupted trawl scan (%s): '%s'",
             have_args ? "no resume marker" : "no command line", path);
    return -1;
  }
  return 0;
}
