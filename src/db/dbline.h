/* dbline.h: reading a text database line by line, shared by the parsers of
 * db/ that read other projects' files (nmap-os-db, p0f.fp): one call per
 * line with its number; lines with a NUL byte or longer than a bound are
 * warned about and skipped; warnings read "FILE:LINE: reason" and go to a
 * callback, or to stderr as "trawl: warning: ..."; a file that cannot be
 * opened is one error naming it and the Debian package it comes with. */
#ifndef TRAWL_DB_DBLINE_H
#define TRAWL_DB_DBLINE_H

#include <stddef.h>
#include <stdio.h>

typedef void (*dbline_warn_fn)(void *ctx, const char *msg);

struct dbline {
  const char *name;     /* file name used in warnings */
  unsigned line;        /* current line, 1-based */
  unsigned nwarn;       /* warnings given */
  size_t max;           /* longer lines are skipped with a warning */
  dbline_warn_fn warn;  /* NULL: stderr */
  void *warn_ctx;
};

/* Gives one warning for the current line. */
void dbline_warn(struct dbline *dl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Called for each line (without its newline; s is writable and
 * NUL-terminated at len). Returns 0 to go on, or a negative code to stop. */
typedef int (*dbline_fn)(void *ctx, struct dbline *dl, char *s, size_t len);

/* Reads every line of f. 0, the callback's negative code, or -EIO. */
int dbline_read(FILE *f, struct dbline *dl, dbline_fn fn, void *ctx);
/* Opens path for reading; on failure returns -errno with err set to
 * "cannot open 'PATH': reason (FILE comes with Debian's PACKAGE package)". */
int dbline_open(const char *path, const char *file, const char *package, FILE **f, char *err,
                size_t errlen);
/* An in-memory file over buf (for tests and fuzzing); -errno on failure. */
int dbline_open_mem(const char *buf, size_t len, FILE **f);

#endif
