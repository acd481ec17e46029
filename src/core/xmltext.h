/* xmltext.h: undoing the XML escapes trawl's XML writer (output-xml.c)
 * uses, for the readers of its output: --resume (cli/resume.c) and
 * `trawl merge` (merge/read-xml.c). */
#ifndef TRAWL_XMLTEXT_H
#define TRAWL_XMLTEXT_H

#include <stddef.h>

/* Undoes &amp; &lt; &gt; &quot; &apos; and &#N; / &#xN; (as UTF-8) in
 * place; the text never grows. An entity that is none of these (or a
 * character reference to NUL, a surrogate or past U+10FFFF) is kept as
 * it is and counted: returns how many there were. */
size_t xmltext_unescape(char *t);

#endif
