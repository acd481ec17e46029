/* errmsg.h: building one-line error messages for the trawl tool.
 *
 * Parsers in src/ report failure by returning a negative code and filling a
 * caller-supplied buffer with one line of text (no "trawl: " prefix, no
 * newline). Arguments quoted in a message come from the command line or a
 * file and may be hostile: errmsg_quote() makes them safe to print on a
 * terminal (control bytes and non-ASCII escaped as \xHH, long text cut). */
#ifndef TRAWL_ERRMSG_H
#define TRAWL_ERRMSG_H

#include <stddef.h>

/* Longest argument text kept in a message before it is cut with "...". */
#define ERRMSG_QUOTE_MAX 96

/* Writes a printable copy of s (at most len bytes of it, or up to its NUL
 * when len is (size_t)-1) into dst, always NUL-terminated. Returns dst. */
char *errmsg_quote(char *dst, size_t dstlen, const char *s, size_t len);

/* snprintf into err (when err is not NULL and errlen > 0); returns code so
 * that callers can write `return errmsg_set(err, n, -EINVAL, ...)`. */
int errmsg_set(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
