/* helper_warns.c: collecting parser warnings for tests (see helper_warns.h). */
#include "helper_warns.h"

#include <stdio.h>

void warns_collect(void *ctx, const char *msg) {
  struct warns *w = ctx;
  if (w->n < WARNS_MAX) snprintf(w->msg[w->n], sizeof w->msg[0], "%s", msg);
  w->n++;
}
