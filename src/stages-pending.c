/* stages-pending.c: TEMPORARY — stages not yet written fail loudly. */
#include <errno.h>
#include <stdio.h>
#include "scan.h"
int stage_connect(struct scan *s) { fprintf(stderr, "trawl: connect scan not built yet\n"); return -ENOSYS; }
