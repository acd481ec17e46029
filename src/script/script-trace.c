/* script-trace.c: what the engine writes besides results. --script-trace
 * lines (every byte scripts send and receive, escaped, on the trace
 * stream) and error reports (failing scripts and rules, timeouts, on the
 * error stream), each flushed at once so they interleave with the scan's
 * own messages in order. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>

#include "script/script-int.h"

void script_report(struct script_engine *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(e->errfp, fmt, ap);
  va_end(ap);
  fflush(e->errfp);
}

void script_trace(struct script_engine *e, struct sthread *t, const char *what, const void *data,
                  size_t len) {
  if (!e->cfg.trace) return;
  FILE *f = e->tracefp;
  fprintf(f, "SCRIPT TRACE %s: %s", t && t->sc ? t->sc->id : "-", what);
  if (data) {
    fprintf(f, " (%zu bytes) | ", len);
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
      unsigned c = p[i];
      if (c == '\r') fputs("\\r", f);
      else if (c == '\n') fputs("\\n", f);
      else if (c == '\t') fputs("\\t", f);
      else if (c == '\\') fputs("\\\\", f);
      else if (c >= 0x20 && c < 0x7f) fputc((int)c, f);
      else fprintf(f, "\\x%02x", c);
    }
  }
  fputc('\n', f);
  fflush(f);
}
