/* xmltext.c: XML entity and character references undone (see xmltext.h). */
#include <stdlib.h>
#include <string.h>

#include "core/xmltext.h"

static void put_utf8(char **w, unsigned long c) {
  char *p = *w;
  if (c < 0x80) *p++ = (char)c;
  else if (c < 0x800) *p++ = (char)(0xc0 | c >> 6), *p++ = (char)(0x80 | (c & 0x3f));
  else if (c < 0x10000)
    *p++ = (char)(0xe0 | c >> 12), *p++ = (char)(0x80 | ((c >> 6) & 0x3f)),
    *p++ = (char)(0x80 | (c & 0x3f));
  else
    *p++ = (char)(0xf0 | c >> 18), *p++ = (char)(0x80 | ((c >> 12) & 0x3f)),
    *p++ = (char)(0x80 | ((c >> 6) & 0x3f)), *p++ = (char)(0x80 | (c & 0x3f));
  *w = p;
}

size_t xmltext_unescape(char *t) {
  static const struct { const char *n; char c; } named[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  size_t bad = 0;
  char *w = t;
  for (const char *p = t; *p;) {
    if (*p != '&') {
      *w++ = *p++;
      continue;
    }
    size_t k;
    for (k = 0; k < sizeof named / sizeof named[0]; k++) {
      size_t l = strlen(named[k].n);
      if (strncmp(p, named[k].n, l) == 0) {
        *w++ = named[k].c;
        p += l;
        break;
      }
    }
    if (k < sizeof named / sizeof named[0]) continue;
    if (p[1] == '#') {
      int hex = p[2] == 'x' || p[2] == 'X';
      const char *d = p + 2 + hex;
      char *end;
      unsigned long c = strtoul(d, &end, hex ? 16 : 10);
      if (end != d && *d != '-' && *d != '+' && *end == ';' && end - d <= 8 && c != 0 &&
          c <= 0x10ffff && !(c >= 0xd800 && c < 0xe000)) {
        put_utf8(&w, c); /* "&#N;" is at least 4 bytes; its UTF-8 at most 4 */
        p = end + 1;
        continue;
      }
    }
    bad++;
    *w++ = *p++; /* kept as it is */
  }
  *w = 0;
  return bad;
}
