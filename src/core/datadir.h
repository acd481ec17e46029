/* datadir.h: where trawl finds every file it reads at run time — one lookup
 * order for the whole tool, so a data file, a script directory and a Lua
 * library are never looked for in two different lists.
 *
 * trawl's own files (data/trawl-services, scripts/, lualib/), first hit wins:
 *   1. --datadir DIR
 *   2. $TRAWLDIR (and $TRAWL_DATADIR, its older spelling)
 *   3. ~/.trawl
 *   4. the source tree this binary was built from (TW_SRCDIR: NAME under
 *      data/ for files, NAME itself for directories such as scripts/)
 *   5. PREFIX/share/trawl (TW_DATADIR)
 * Nmap's files (nmap-services, nmap-service-probes, nmap-os-db, scripts/,
 * nselib/ ...), read from Debian's nmap-common and never copied here:
 *   1. --datadir DIR   2. $TRAWLDIR   3. $NMAPDIR   4. ~/.nmap
 *   5. /usr/share/nmap
 * Errors: -ENOENT when no candidate exists; the path buffer is then "". */
#ifndef TRAWL_CORE_DATADIR_H
#define TRAWL_CORE_DATADIR_H

#include <stddef.h>

enum datadir_kind {
  DATADIR_TRAWL, /* trawl's own data/, scripts/, lualib/ */
  DATADIR_NMAP,  /* Nmap's data files, from nmap-common */
};

/* What datadir_find looks for. */
enum datadir_type { DATADIR_FILE, DATADIR_DIR };

#define DATADIR_NMAP_SYSTEM "/usr/share/nmap"

/* Finds NAME (a file or a directory, relative) by kind's lookup order; the
 * full path goes to out (len bytes). user_dir: --datadir, or NULL. Returns
 * 0, or -ENOENT (out is then ""). */
int datadir_find(enum datadir_kind kind, const char *user_dir, const char *name,
                 enum datadir_type type, char *out, size_t len);

/* The candidate directories of kind, in order, as datadir_find tries them
 * (for -d and error messages): writes at most max pointers into dirs, each
 * pointing into buf (buflen bytes). Returns their number. */
int datadir_candidates(enum datadir_kind kind, const char *user_dir, const char **dirs,
                       int max, char *buf, size_t buflen);

#endif
