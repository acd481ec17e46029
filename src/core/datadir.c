/* datadir.c: the one lookup order for trawl's and Nmap's run-time files
 * (see datadir.h). Nothing is cached: a lookup is a few stat(2) calls, made
 * once per file at start-up, before the loop runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/datadir.h"

/* Appends dir (when set and non-empty) to dirs, copying it into buf. */
static int add_dir(const char **dirs, int n, int max, char **buf, size_t *left, const char *a,
                   const char *b) {
  if (n >= max || !a || !*a) return n;
  int w = snprintf(*buf, *left, "%s%s", a, b ? b : "");
  if (w < 0 || (size_t)w >= *left) return n;
  dirs[n] = *buf;
  *buf += (size_t)w + 1;
  *left -= (size_t)w + 1;
  return n + 1;
}

int datadir_candidates(enum datadir_kind kind, const char *user_dir, const char **dirs, int max,
                       char *buf, size_t buflen) {
  int n = 0;
  const char *home = getenv("HOME");
  n = add_dir(dirs, n, max, &buf, &buflen, user_dir, NULL);
  n = add_dir(dirs, n, max, &buf, &buflen, getenv("TRAWLDIR"), NULL);
  if (kind == DATADIR_TRAWL) {
    n = add_dir(dirs, n, max, &buf, &buflen, getenv("TRAWL_DATADIR"), NULL);
    n = add_dir(dirs, n, max, &buf, &buflen, home, "/.trawl");
#ifdef TW_SRCDIR
    n = add_dir(dirs, n, max, &buf, &buflen, TW_SRCDIR, NULL);
#endif
#ifdef TW_DATADIR
    n = add_dir(dirs, n, max, &buf, &buflen, TW_DATADIR, NULL);
#endif
  } else {
    n = add_dir(dirs, n, max, &buf, &buflen, getenv("NMAPDIR"), NULL);
    n = add_dir(dirs, n, max, &buf, &buflen, home, "/.nmap");
    n = add_dir(dirs, n, max, &buf, &buflen, DATADIR_NMAP_SYSTEM, NULL);
  }
  return n;
}

static int exists(const char *path, enum datadir_type type) {
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  return type == DATADIR_DIR ? S_ISDIR(st.st_mode) : !S_ISDIR(st.st_mode);
}

int datadir_find(enum datadir_kind kind, const char *user_dir, const char *name,
                 enum datadir_type type, char *out, size_t len) {
  const char *dirs[8];
  char buf[8192];
  int n = datadir_candidates(kind, user_dir, dirs, 8, buf, sizeof buf);
  for (int i = 0; i < n; i++) {
    int w = snprintf(out, len, "%s/%s", dirs[i], name);
    if (w >= 0 && (size_t)w < len && exists(out, type)) return 0;
#ifdef TW_SRCDIR
    /* The source tree keeps trawl's data files under data/. */
    if (kind == DATADIR_TRAWL && type == DATADIR_FILE && strcmp(dirs[i], TW_SRCDIR) == 0) {
      w = snprintf(out, len, "%s/data/%s", dirs[i], name);
      if (w >= 0 && (size_t)w < len && exists(out, type)) return 0;
    }
#endif
  }
  if (len) out[0] = 0;
  return -ENOENT;
}
