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

struct su_missing {
  char module[64];
  unsigned n;
  char names[1024];
};

/* Read the engine's skip reports (script-select.c): "trawl: N of Nmap's
 * selected scripts skipped: they require module 'M', which is not
 * available: a, b, ..." per module, and "script 'X' skipped: ..." for
 * other failures. Returns how many scripts were skipped. */
static unsigned su_group(const char *log, struct su_missing *v, size_t *nv, unsigned *other) {
  unsigned total = 0;
  *nv = 0;
  *other = 0;
  const char *line = log;
  while (*line) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    char l[2048];
    snprintf(l, sizeof l, "%.*s", (int)len, line);
    line += len + (eol ? 1 : 0);
    const char *m = strstr(l, " of Nmap's selected scripts skipped: they require module '");
    if (m && *nv < SU_MAX_MODULES) {
      struct su_missing *x = &v[(*nv)++];
      memset(x, 0, sizeof *x);
      x->n = (unsigned)strtoul(l + 7, NULL, 10); /* after "trawl: " */
      const char *mod = strstr(m, "module '") + 8, *me = strchr(mod, '\'');
      snprintf(x->module, sizeof x->module, "%.*s", me ? (int)(me - mod) : 0, mod);
      const char *names = strstr(l, "not available: ");
      if (names) snprintf(x->names, sizeof x->names, "%s", names + 15);
      total += x->n;
    } else if (strstr(l, "script '") && strstr(l, "' skipped: ")) {
      (*other)++;
      total++;
    }
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
        fprintf(out, "    %u need module '%s': %s\n", miss[k].n, miss[k].module, miss[k].names);
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
