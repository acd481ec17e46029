/* errmsg.c: safe quoting of hostile argument text and error-buffer filling
 * (see errmsg.h). */
#include "core/errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char *errmsg_quote(char *dst, size_t dstlen, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  if (dstlen == 0) return dst;
  if (s == NULL) s = "";
  if (len == (size_t)-1) len = strlen(s);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    /* room for the longest piece (4) plus "..." and NUL */
    if (o + 8 > dstlen || o >= ERRMSG_QUOTE_MAX) {
      if (o + 4 <= dstlen) {
        memcpy(dst + o, "...", 3);
        o += 3;
      }
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      dst[o++] = (char)c;
    } else {
      dst[o++] = '\\';
      dst[o++] = 'x';
      dst[o++] = hex[c >> 4];
      dst[o++] = hex[c & 15];
    }
  }
  dst[o] = '\0';
  return dst;
}

int errmsg_set(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}
