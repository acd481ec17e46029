/* script-updatedb.c: --script-updatedb. Nmap's rebuilds its own
 * scripts/script.db; trawl keeps no database of its own (it loads its own
 * scripts to learn their categories and reads Nmap's script.db for
 * Nmap's) and never writes into Nmap's directory. So here it rebuilds
 * trawl's view of both sets in memory, loading every script as `--script
 * all` would, and reports it: how many of each set load, which of Nmap's
 * cannot run here and why (grouped by the module they lack), and whether
 * Nmap's script.db agrees with the categories the scripts declare (if
 * not, `nmap --script-updatedb` rebuilds it). Nothing is written. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "script/nse/nse.h"
#include "script/script-int.h"

#define SU_MAX_MODULES 32
#define SU_MAX_NAMES 6 /* script names listed per missing module */

struct su_missing {
  char module[64];
  unsigned n;
  char names[256];
};

/* Group the engine's "script 'X' skipped: it requires module 'M'" lines. */
static unsigned su_group(const char *log, struct su_missing *v, size_t *nv, unsigned *other) {
  unsigned total = 0;
  *nv = 0;
  *other = 0;
  for (const char *p = log; (p = strstr(p, "script '")); p++) {
    const char *id = p + 8, *q = strchr(id, '\'');
    if (!q || strncmp(q, "' skipped: ", 11)) continue;
    total++;
    char mod[64];
    const char *eol = strchr(q, '\n');
    char line[512];
    snprintf(line, sizeof line, "%.*s", eol ? (int)(eol - q) : (int)strlen(q), q);
    const char *m = strstr(line, "requires module '");
    const char *me = m ? strchr(m + 17, '\'') : NULL;
    if (!me) {
      (*other)++;
      continue;
    }
    snprintf(mod, sizeof mod, "%.*s", (int)(me - m - 17), m + 17);
    size_t k = 0;
    while (k < *nv && strcmp(v[k].module, mod)) k++;
    if (k == *nv) {
      if (*nv == SU_MAX_MODULES) {
        (*other)++;
        continue;
      }
      memset(&v[k], 0, sizeof v[k]);
      snprintf(v[k].module, sizeof v[k].module, "%s", mod);
      (*nv)++;
    }
    if (v[k].n < SU_MAX_NAMES) {
      size_t l = strlen(v[k].names);
      snprintf(v[k].names + l, sizeof v[k].names - l, "%s%.*s", l ? ", " : "", (int)(q - id), id);
    }
    v[k].n++;
  }
  return total;
}

static bool su_same_cats(const struct script *s, const struct nse_db_entry *en) {
  if (s->ncat != en->ncat) return false;
  for (size_t i = 0; i < s->ncat; i++) {
    bool found = false;
    for (size_t k = 0; k < en->ncat; k++) found |= !strcasecmp(s->categories[i], en->cats[k]);
    if (!found) return false;
  }
  return true;
}

int script_updatedb_cfg(const struct script_config *cfg, FILE *out, char *err, size_t errlen) {
  tw_loop *loop;
  int r = tw_loop_new(&loop);
  if (r < 0) {
    snprintf(err, errlen, "cannot create the event loop: %s", tw_strerror(r));
    return r;
  }
  char *log = NULL;
  size_t loglen = 0;
  FILE *logf = open_memstream(&log, &loglen);
  if (!logf) {
    tw_loop_close(loop);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  struct script_config c = *cfg;
  c.scripts = "all";
  c.version_scripts = false;
  c.errfp = logf;
  struct script_engine *e;
  r = script_engine_new_cfg(loop, &c, &e, err, errlen);
  fclose(logf);
  if (r == 0) {
    size_t own = 0, nse = 0;
    for (size_t i = 0; i < e->nscripts; i++) e->scripts[i]->nse ? nse++ : own++;
    fprintf(out, "trawl: script view rebuilt in memory (nothing is written; docs/nse.md)\n");
    fprintf(out, "  trawl's scripts: %s: %zu loaded\n", e->dir[0] ? e->dir : "(none)", own);
    if (!e->nmapdir[0]) {
      fprintf(out, "  Nmap's scripts: none (%s)\n", NSE_MISSING_MSG);
    } else {
      struct su_missing miss[SU_MAX_MODULES];
      size_t nmiss;
      unsigned other;
      unsigned skipped = su_group(log ? log : "", miss, &nmiss, &other);
      fprintf(out, "  Nmap's scripts: %s/scripts: %zu loaded, %u cannot run here\n", e->nmapdir, nse,
              skipped);
      for (size_t k = 0; k < nmiss; k++)
        fprintf(out, "    %u need module '%s': %s%s\n", miss[k].n, miss[k].module, miss[k].names,
                miss[k].n > SU_MAX_NAMES ? ", ..." : "");
      if (other) fprintf(out, "    %u fail to load for other reasons (--script-help NAME says)\n", other);
      char db[4300], e2[600];
      snprintf(db, sizeof db, "%s/scripts/script.db", e->nmapdir);
      struct nse_db d;
      if (nse_db_read(db, &d, e2, sizeof e2) < 0) {
        fprintf(out, "  Nmap's script.db: %s\n", e2);
      } else {
        unsigned differ = 0, absent = 0;
        char first[200] = "";
        for (size_t i = 0; i < e->nscripts; i++) {
          const struct script *s = e->scripts[i];
          if (!s->nse) continue;
          const struct nse_db_entry *en = nse_db_find(&d, s->id);
          if (!en) absent++;
          else if (!su_same_cats(s, en)) differ++;
          if ((!en || !su_same_cats(s, en)) && !first[0]) snprintf(first, sizeof first, " (first: %s)", s->id);
        }
        if (!differ && !absent)
          fprintf(out, "  Nmap's script.db: %s: agrees with the scripts' own categories\n", db);
        else
          fprintf(out, "  Nmap's script.db: %s: %u scripts' categories differ, %u scripts not listed%s; "
                       "`nmap --script-updatedb` (as root) rebuilds it\n", db, differ, absent, first);
        nse_db_free(&d);
      }
    }
    script_engine_free(e);
  }
  free(log);
  tw_loop_close(loop);
  return r;
}

int script_updatedb(const struct options *o, FILE *out, char *err, size_t errlen) {
  struct script_config c;
  script_config_from_options(&c, o);
  return script_updatedb_cfg(&c, out, err, errlen);
}
