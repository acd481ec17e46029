/* utf8.h: strict UTF-8 decoding for the output writers, which pass valid
 * text through and escape everything else (hostile banners and PTR names
 * are arbitrary bytes). */
#ifndef TRAWL_UTF8_H
#define TRAWL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one character at s (n bytes available). Returns its length 1-4
 * and stores the code point, or returns 0 when the bytes there are not a
 * valid, shortest-form UTF-8 character of a Unicode scalar value
 * (overlong forms, surrogates, > U+10FFFF and truncated sequences are
 * invalid). n must be > 0. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
