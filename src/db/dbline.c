/* dbline.c: line-by-line reading of text databases with file:line warnings
 * (see dbline.h). */
#define _GNU_SOURCE
#include "db/dbline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/errmsg.h"

void dbline_warn(struct dbline *dl, const char *fmt, ...) {
  char msg[512], qn[ERRMSG_QUOTE_MAX + 8];
  int n = snprintf(msg, sizeof msg, "%s:%u: ", errmsg_quote(qn, sizeof qn, dl->name, (size_t)-1),
                   dl->line);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof msg) vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  dl->nwarn++;
  if (dl->warn)
    dl->warn(dl->warn_ctx, msg);
  else
    fprintf(stderr, "trawl: warning: %s\n", msg);
}

int dbline_read(FILE *f, struct dbline *dl, dbline_fn fn, void *ctx) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int r = 0;
  while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
    dl->line++;
    if (line[n - 1] == '\n') line[--n] = '\0';
    if (memchr(line, '\0', (size_t)n) != NULL)
      dbline_warn(dl, "NUL byte in line");
    else if (dl->max && (size_t)n > dl->max)
      dbline_warn(dl, "line longer than %zu bytes", dl->max);
    else
      r = fn(ctx, dl, line, (size_t)n);
  }
  free(line);
  if (r == 0 && ferror(f)) r = -EIO;
  return r;
}

int dbline_open(const char *path, const char *file, const char *package, FILE **f, char *err,
                size_t errlen) {
  char qp[ERRMSG_QUOTE_MAX + 8];
  *f = fopen(path, "r");
  if (*f != NULL) return 0;
  int e = errno;
  return errmsg_set(err, errlen, -e, "cannot open '%s': %s (%s comes with Debian's %s package)",
                    errmsg_quote(qp, sizeof qp, path, (size_t)-1), strerror(e), file, package);
}

int dbline_open_mem(const char *buf, size_t len, FILE **f) {
  *f = len ? fmemopen((void *)buf, len, "r") : NULL;
  return *f ? 0 : len ? -errno : -EINVAL;
}
