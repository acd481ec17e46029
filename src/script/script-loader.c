/* script-loader.c: script files into the engine's Lua state. Where the
 * scripts and lualib directories are (--datadir and the data directory
 * search of core/datadir.h) and package.path; loading one script file
 * (it runs once, in an environment of its own reading through to _G, and
 * must define description, categories, a rule and an action); reading
 * --script-args-file; and the run order of the selected scripts
 * (dependency levels, then name). Which scripts are selected is
 * script-select.c's business. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/datadir.h"
#include "script/nse/nse.h"
#include "script/script-int.h"

/* ---- directories ---------------------------------------------------------------- */

static int loader_find_dir(char *out, size_t len, const struct script_config *cfg,
                           const char *sub) {
  return datadir_find(DATADIR_TRAWL, cfg->datadir, sub, DATADIR_DIR, out, len);
}

void loader_set_dirs(struct script_engine *e) {
  const struct script_config *cfg = &e->cfg;
  if (cfg->scriptdir) {
    snprintf(e->dir, sizeof e->dir, "%s", cfg->scriptdir);
  } else if (loader_find_dir(e->dir, sizeof e->dir, cfg, "scripts") < 0) {
    e->dir[0] = 0; /* none: scripts given by path still run; never "." */
  }
  if (loader_find_dir(e->libdir, sizeof e->libdir, cfg, "lualib") < 0) e->libdir[0] = 0;
  if (cfg->nmapdir) snprintf(e->nmapdir, sizeof e->nmapdir, "%s", cfg->nmapdir);
  else if (!cfg->scriptdir) nse_dirs_find(e->nmapdir, sizeof e->nmapdir);
  /* a scripts directory of its own (tests) leaves Nmap's out on purpose */
  e->nmap_missing = !e->nmapdir[0] && (cfg->nmapdir || !cfg->scriptdir);
  /* package.path: lualib first, then the scripts directory; never the
   * current directory, whose files nobody vetted */
  lua_State *L = e->L;
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s%s%s%s", e->libdir, e->libdir[0] ? "/?.lua;" : "", e->dir,
                  e->dir[0] ? "/?.lua" : "");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

const char *script_dir(const struct script_engine *e) { return e->dir; }

/* ---- --script-args-file ------------------------------------------------------------ */

struct loader_buf {
  char *s;
  size_t n, cap;
  bool oom;
};

static void loader_add(struct loader_buf *d, const char *s, size_t n) {
  if (d->oom) return;
  if (d->n + n + 1 > d->cap) {
    size_t nc = d->cap ? d->cap : 256;
    while (nc < d->n + n + 1) nc *= 2;
    char *p = realloc(d->s, nc);
    if (!p) {
      d->oom = true;
      return;
    }
    d->s = p;
    d->cap = nc;
  }
  memcpy(d->s + d->n, s, n);
  d->n += n;
  d->s[d->n] = 0;
}

static int loader_read_file(const char *path, char **out) {
  FILE *f = fopen(path, "r");
  if (!f) return -errno;
  struct loader_buf d = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) loader_add(&d, buf, n);
  fclose(f);
  if (d.oom) {
    free(d.s);
    return -ENOMEM;
  }
  *out = d.s ? d.s : strdup("");
  return 0;
}

/* The same syntax as --script-args, one or more per line; '#' starts a
 * comment line. */
int loader_args_file(const char *path, char **out) {
  char *text = NULL;
  int r = loader_read_file(path, &text);
  if (r < 0) return r;
  struct loader_buf d = {0};
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t l = nl ? (size_t)(nl - p) : strlen(p);
    const char *s = p;
    while (l && isspace((unsigned char)*s)) s++, l--;
    while (l && isspace((unsigned char)s[l - 1])) l--;
    if (l && *s != '#') {
      if (d.n) loader_add(&d, ",", 1);
      loader_add(&d, s, l);
    }
    p = nl ? nl + 1 : p + strlen(p);
  }
  free(text);
  if (!d.s) d.s = strdup("");
  *out = d.s;
  return 0;
}

/* ---- one script file ------------------------------------------------------------------ */

static char *loader_strdup_field(lua_State *L, int env, const char *k) {
  lua_getfield(L, env, k);
  char *s = lua_type(L, -1) == LUA_TSTRING ? strdup(lua_tostring(L, -1)) : NULL;
  lua_pop(L, 1);
  return s;
}

static int loader_strlist(lua_State *L, int env, const char *k, char ***out, size_t *n, char *err,
                          size_t errlen, const char *id, bool required) {
  lua_getfield(L, env, k);
  *out = NULL;
  *n = 0;
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    if (required) {
      snprintf(err, errlen, "script '%s': no '%s' table", id, k);
      return -1;
    }
    return 0;
  }
  if (!lua_istable(L, -1)) {
    snprintf(err, errlen, "script '%s': '%s' must be a table of strings", id, k);
    lua_pop(L, 1);
    return -1;
  }
  size_t len = lua_rawlen(L, -1);
  *out = calloc(len + 1, sizeof **out);
  for (size_t i = 1; i <= len; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i);
    if (lua_type(L, -1) != LUA_TSTRING) {
      snprintf(err, errlen, "script '%s': '%s' must be a table of strings", id, k);
      lua_pop(L, 2);
      return -1;
    }
    (*out)[(*n)++] = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (required && *n == 0) {
    snprintf(err, errlen, "script '%s': '%s' is empty", id, k);
    return -1;
  }
  return 0;
}

void script_release(struct script *s) {
  if (!s) return;
  free(s->id);
  free(s->path);
  free(s->description);
  for (size_t i = 0; i < s->ncat; i++) free(s->categories[i]);
  free(s->categories);
  for (size_t i = 0; i < s->ndeps; i++) free(s->deps[i]);
  free(s->deps);
  free(s);
}

struct script *script_load(struct script_engine *e, const char *path, char *err, size_t errlen) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char id[256];
  snprintf(id, sizeof id, "%s", base);
  size_t il = strlen(id);
  bool nse = il > 4 && strcmp(id + il - 4, ".nse") == 0; /* one of Nmap's (nse.h) */
  if (il > 4 && (strcmp(id + il - 4, ".lua") == 0 || nse)) id[il - 4] = 0;
  struct stat stt;
  if (stat(path, &stt) != 0 || !S_ISREG(stt.st_mode)) {
    snprintf(err, errlen, "script '%s': cannot read %s: %s", id, path,
             stat(path, &stt) != 0 ? strerror(errno) : "not a regular file");
    return NULL;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "trawl.traceback");
  if (luaL_loadfilex(L, path, "t") != LUA_OK) {
    snprintf(err, errlen, "script '%s': cannot load %s: %s", id, path, lua_tostring(L, -1));
    lua_settop(L, top);
    return NULL;
  }
  /* its environment: globals of its own, reading through to _G */
  lua_newtable(L);
  lua_newtable(L);
  lua_pushglobaltable(L);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pushstring(L, id);
  lua_setfield(L, -2, "SCRIPT_NAME");
  lua_pushstring(L, path);
  lua_setfield(L, -2, "SCRIPT_PATH");
  if (!nse) { /* trawl's lualib before Nmap's nselib (nse-require.lua) */
    lua_getfield(L, LUA_REGISTRYINDEX, "trawl.require");
    if (lua_isfunction(L, -1)) lua_setfield(L, -2, "require");
    else lua_pop(L, 1);
  }
  if (nse) { /* as NSE's loader presets them */
    lua_newtable(L);
    lua_setfield(L, -2, "categories");
    lua_newtable(L);
    lua_setfield(L, -2, "dependencies");
  }
  lua_pushvalue(L, -1);
  int env = lua_gettop(L) - 1; /* index of the env copy after setupvalue pops one */
  lua_setupvalue(L, -3, 1);
  env = lua_gettop(L);
  lua_pushvalue(L, env - 1);  /* the chunk */
  if (lua_pcall(L, 0, 0, top + 1) != LUA_OK) {
    snprintf(err, errlen, "script '%s': error running %s: %s", id, path, lua_tostring(L, -1));
    lua_settop(L, top);
    return NULL;
  }
  struct script *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    lua_settop(L, top);
    return NULL;
  }
  s->id = strdup(id);
  s->path = strdup(path);
  s->env_ref = LUA_NOREF;
  s->nse = nse;
  lua_getfield(L, env, "description");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING) {
    snprintf(err, errlen, "script '%s': 'description' must be a string", id);
    goto fail;
  }
  lua_pop(L, 1);
  s->description = loader_strdup_field(L, env, "description");
  if (!s->description && nse) s->description = strdup(""); /* NSE does not require one */
  if (!s->description) {
    snprintf(err, errlen, "script '%s': no 'description' string", id);
    goto fail;
  }
  if (loader_strlist(L, env, "categories", &s->categories, &s->ncat, err, errlen, id, true) < 0)
    goto fail;
  if (loader_strlist(L, env, "dependencies", &s->deps, &s->ndeps, err, errlen, id, false) < 0) goto fail;
  static const char *const rules[4] = {"prerule", "hostrule", "portrule", "postrule"};
  bool any = false;
  for (int r = 0; r < 4; r++) {
    lua_getfield(L, env, rules[r]);
    int ty = lua_type(L, -1);
    lua_pop(L, 1);
    if (ty == LUA_TNIL) continue;
    if (ty != LUA_TFUNCTION) {
      snprintf(err, errlen, "script '%s': '%s' must be a function", id, rules[r]);
      goto fail;
    }
    s->rule[r] = any = true;
  }
  if (!any) {
    snprintf(err, errlen, "script '%s': no rule (prerule, hostrule, portrule or postrule)", id);
    goto fail;
  }
  /* SCRIPT_TYPE as NSE sets it: the rule the script runs by (a script's
   * environment is shared by its runs here: the first rule it has) */
  for (int r = 0; r < 4; r++)
    if (s->rule[r]) {
      lua_pushstring(L, rules[r]);
      lua_setfield(L, env, "SCRIPT_TYPE");
      break;
    }
  lua_getfield(L, env, "action");
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    snprintf(err, errlen, "script '%s': no 'action' function", id);
    goto fail;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, env);
  s->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, top);
  return s;
fail:
  lua_settop(L, top);
  script_release(s);
  return NULL;
}

/* ---- run order ---------------------------------------------------------------------- */

static int loader_levels(struct script_engine *e, char *err, size_t errlen) {
  /* level = 1 + max(level of selected dependencies); cycles are errors */
  size_t n = e->nscripts;
  int *state = calloc(n ? n : 1, sizeof *state); /* 0 new, 1 visiting, 2 done */
  if (!state) return -ENOMEM;
  e->maxlevel = 0;
  for (size_t iter = 0; iter < n; iter++) {
    /* iterative relaxation: at most n rounds */
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
      struct script *s = e->scripts[i];
      int lv = 0;
      for (size_t d = 0; d < s->ndeps; d++)
        for (size_t j = 0; j < n; j++)
          if (strcmp(e->scripts[j]->id, s->deps[d]) == 0 && e->scripts[j]->level + 1 > lv)
            lv = e->scripts[j]->level + 1;
      if (lv != s->level) {
        s->level = lv;
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (size_t i = 0; i < n; i++) {
    if (e->scripts[i]->level >= (int)n) {
      snprintf(err, errlen, "script '%s': dependency cycle (its dependencies depend on it)",
               e->scripts[i]->id);
      free(state);
      return -EINVAL;
    }
    if (e->scripts[i]->level > e->maxlevel) e->maxlevel = e->scripts[i]->level;
  }
  free(state);
  return 0;
}

static int loader_cmp(const void *a, const void *b) {
  const struct script *x = *(struct script *const *)a, *y = *(struct script *const *)b;
  if (x->level != y->level) return x->level - y->level;
  return strcmp(x->id, y->id);
}

int loader_order(struct script_engine *e, char *err, size_t errlen) {
  if (loader_levels(e, err, errlen) < 0) return -EINVAL;
  if (e->nscripts > 1) /* (none: e->scripts may be NULL, which qsort must not get) */
    qsort(e->scripts, e->nscripts, sizeof *e->scripts, loader_cmp);
  return 0;
}
