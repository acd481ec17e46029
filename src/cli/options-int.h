/* options-int.h: what options.c, options-finalize.c, options-help.c and
 * options-plan.c share and nothing else sees. */
#ifndef TRAWL_OPTIONS_INT_H
#define TRAWL_OPTIONS_INT_H

#include <stddef.h>

/* "<what>: '<arg>'" with the argument made printable, into err; returns
 * the error code (TW_EMALFORMED). */
int options_fail(char *err, size_t errlen, const char *arg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
