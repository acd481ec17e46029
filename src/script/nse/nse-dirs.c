/* nse-dirs.c: where Nmap's own files are: Debian's nmap-common installs
 * them in /usr/share/nmap (scripts/, scripts/script.db, nselib/,
 * nselib/data/); $TRAWL_NMAPDIR points elsewhere (tests, other
 * distributions). trawl only reads there, never writes. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "script/nse/nse.h"

void nse_dirs_find(char *out, size_t len) {
  const char *env = getenv("TRAWL_NMAPDIR");
  const char *dir = env && *env ? env : "/usr/share/nmap";
  char sub[4200];
  struct stat st;
  snprintf(sub, sizeof sub, "%s/scripts", dir);
  if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(out, len, "%s", dir);
  else if (len) out[0] = 0;
}
