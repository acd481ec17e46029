/* script-select.c: which scripts --script selects, and --script-args.
 *
 * --script is a comma-separated list (commas inside parentheses do not
 * split). Each item is
 *   - a file path (it contains '/' or ends in ".lua"): that script;
 *   - a directory: every *.lua in it;
 *   - otherwise a boolean expression of terms joined by "and", "or",
 *     "not" and parentheses, evaluated on every script of the scripts
 *     directory; a term is "all", a category, a script name, or a glob
 *     over names ("http-*", "ssl-?ert").
 * A leading '+' on an item forces its scripts to run whatever their rules
 * say. A term that matches no script, category or file is an error
 * ("'x' did not match a category, filename, or directory", as Nmap says),
 * and so is a malformed expression; Nmap's standard categories are valid
 * even when no script has them.
 *
 * --script-args is Nmap's syntax: name=value pairs separated by commas;
 * a value is a bare word, a "quoted" or 'quoted' string (backslash escapes
 * the quote), or a {table} of the same (unkeyed values go to the array
 * part); a name alone is set to "1"... in the array part, as NSE does.
 * Tables nest at most SS_ARGS_MAX_DEPTH (50) deep; deeper is an error. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "script/nse/nse.h"
#include "script/script-int.h"

static const char *const ss_std_categories[] = {
    "auth", "broadcast", "brute", "default", "discovery", "dos", "exploit", "external",
    "fuzzer", "intrusive", "malware", "safe", "version", "vuln", NULL};

/* ---- the catalog: every script of the scripts directories ---------------- */

/* trawl's own scripts (*.lua of the scripts directory) are all loaded to
 * learn their categories; Nmap's (*.nse of Nmap's scripts directory,
 * nse.h) take theirs from Nmap's script.db and load only when selected.
 * A trawl script shadows an Nmap one of the same name. */
struct ss_entry {
  char *path;
  char *id;
  struct script *sc; /* NULL if it failed to load */
  char *err;
  bool selected, forced, loaded, by_name;
  bool nse;                        /* one of Nmap's */
  bool reported;                   /* its failure to load was reported */
  const struct nse_db_entry *db;   /* its script.db line, or NULL */
};

struct ss_catalog {
  struct ss_entry *v;
  size_t n;
  bool read;
  struct nse_db db;
};

static int ss_cmp(const void *a, const void *b) {
  return strcmp(((const struct ss_entry *)a)->id, ((const struct ss_entry *)b)->id);
}

static int ss_list_dir_ext(const char *dir, const char *ext, struct ss_entry **out, size_t *n) {
  DIR *d = opendir(dir);
  *out = NULL;
  *n = 0;
  if (!d) return -errno;
  size_t cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (l < 5 || strcmp(de->d_name + l - 4, ext) || de->d_name[0] == '.') continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      struct ss_entry *nv = realloc(*out, cap * sizeof *nv);
      if (!nv) break;
      *out = nv;
    }
    struct ss_entry *en = &(*out)[(*n)++];
    memset(en, 0, sizeof *en);
    if (asprintf(&en->path, "%s/%s", dir, de->d_name) < 0) en->path = NULL;
    en->id = strndup(de->d_name, l - 4);
  }
  closedir(d);
  if (*n) qsort(*out, *n, sizeof **out, ss_cmp);
  return 0;
}

static int ss_list_dir(const char *dir, struct ss_entry **out, size_t *n) {
  return ss_list_dir_ext(dir, ".lua", out, n);
}

static bool ss_has_ext(const char *s, const char *ext) {
  size_t l = strlen(s), el = strlen(ext);
  return l > el && !strcmp(s + l - el, ext);
}

/* Nmap's scripts into the catalog (after trawl's: those shadow them),
 * with their script.db categories. 0, or -1 with err. */
static int ss_add_nmap(struct script_engine *e, struct ss_catalog *c, char *err, size_t errlen) {
  if (!e->nmapdir[0]) return 0;
  char dir[4200], db[4300];
  snprintf(dir, sizeof dir, "%s/scripts", e->nmapdir);
  snprintf(db, sizeof db, "%s/script.db", dir);
  char e2[600];
  int r = nse_db_read(db, &c->db, e2, sizeof e2);
  if (r < 0 && r != -ENOENT) {
    snprintf(err, errlen, "%s (nmap --script-updatedb rebuilds it; trawl never writes there)", e2);
    return -1;
  }
  struct ss_entry *v;
  size_t n;
  if (ss_list_dir_ext(dir, ".nse", &v, &n) < 0) return 0;
  struct ss_entry *nv = n ? realloc(c->v, (c->n + n) * sizeof *nv) : c->v;
  if (n && !nv) {
    for (size_t i = 0; i < n; i++) free(v[i].path), free(v[i].id);
    free(v);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  c->v = nv;
  size_t own = c->n;
  for (size_t i = 0; i < n; i++) {
    bool shadowed = false;
    for (size_t k = 0; k < own; k++)
      if (!strcmp(c->v[k].id, v[i].id)) shadowed = true;
    if (shadowed) {
      free(v[i].path);
      free(v[i].id);
      continue;
    }
    v[i].nse = true;
    v[i].db = nse_db_find(&c->db, v[i].id);
    c->v[c->n++] = v[i];
  }
  free(v);
  if (c->n > 1) qsort(c->v, c->n, sizeof *c->v, ss_cmp);
  return 0;
}

static void ss_load(struct script_engine *e, struct ss_entry *en) {
  if (en->loaded) return;
  en->loaded = true;
  char err[600];
  en->sc = script_load(e, en->path, err, sizeof err);
  if (!en->sc) en->err = strdup(err);
}

/* ---- expressions ---------------------------------------------------------- */

enum { T_END, T_WORD, T_AND, T_OR, T_NOT, T_LP, T_RP };

struct ss_lex {
  const char *p;
  int tok;
  char word[256];
};

static void ss_next(struct ss_lex *x) {
  while (isspace((unsigned char)*x->p)) x->p++;
  if (!*x->p) {
    x->tok = T_END;
    return;
  }
  if (*x->p == '(') {
    x->p++;
    x->tok = T_LP;
    return;
  }
  if (*x->p == ')') {
    x->p++;
    x->tok = T_RP;
    return;
  }
  size_t n = 0;
  while (*x->p && !isspace((unsigned char)*x->p) && *x->p != '(' && *x->p != ')') {
    if (n + 1 < sizeof x->word) x->word[n++] = *x->p;
    x->p++;
  }
  x->word[n] = 0;
  if (!strcasecmp(x->word, "and")) x->tok = T_AND;
  else if (!strcasecmp(x->word, "or")) x->tok = T_OR;
  else if (!strcasecmp(x->word, "not")) x->tok = T_NOT;
  else x->tok = T_WORD;
}

/* The AST: nodes in an array. */
struct ss_node {
  int kind; /* T_WORD, T_AND, T_OR, T_NOT */
  int a, b;
  char *word;
};

struct ss_parser {
  struct ss_lex x;
  struct ss_node *nodes;
  size_t n, cap;
  char *err;
  size_t errlen;
  const char *item;
  int depth;
};

static int ss_node(struct ss_parser *p, int kind, int a, int b, const char *w) {
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 16;
    struct ss_node *nv = realloc(p->nodes, nc * sizeof *nv);
    if (!nv) return -1;
    p->nodes = nv;
    p->cap = nc;
  }
  p->nodes[p->n] = (struct ss_node){kind, a, b, w ? strdup(w) : NULL};
  return (int)p->n++;
}

static int ss_or(struct ss_parser *p);

static int ss_bad(struct ss_parser *p, const char *what) {
  snprintf(p->err, p->errlen, "malformed --script expression '%s': %s", p->item, what);
  return -1;
}

static int ss_primary(struct ss_parser *p) {
  if (++p->depth > 100) return ss_bad(p, "nested too deeply");
  int r;
  switch (p->x.tok) {
  case T_NOT:
    ss_next(&p->x);
    r = ss_primary(p);
    if (r < 0) return -1;
    r = ss_node(p, T_NOT, r, -1, NULL);
    break;
  case T_LP:
    ss_next(&p->x);
    r = ss_or(p);
    if (r < 0) return -1;
    if (p->x.tok != T_RP) return ss_bad(p, "missing ')'");
    ss_next(&p->x);
    break;
  case T_WORD:
    r = ss_node(p, T_WORD, -1, -1, p->x.word);
    ss_next(&p->x);
    break;
  case T_END:
    return ss_bad(p, "expression ends where a name, a category or '(' was expected");
  case T_RP:
    return ss_bad(p, "unexpected ')'");
  default:
    return ss_bad(p, "'and'/'or' where a name, a category or '(' was expected");
  }
  p->depth--;
  return r;
}

static int ss_and(struct ss_parser *p) {
  int l = ss_primary(p);
  while (l >= 0 && p->x.tok == T_AND) {
    ss_next(&p->x);
    int r = ss_primary(p);
    if (r < 0) return -1;
    l = ss_node(p, T_AND, l, r, NULL);
  }
  return l;
}

static int ss_or(struct ss_parser *p) {
  int l = ss_and(p);
  while (l >= 0 && p->x.tok == T_OR) {
    ss_next(&p->x);
    int r = ss_and(p);
    if (r < 0) return -1;
    l = ss_node(p, T_OR, l, r, NULL);
  }
  return l;
}

/* A script's categories: its own once loaded, else script.db's. */
struct ss_cats {
  char *const *v;
  size_t n;
};

static struct ss_cats ss_cats_of(const struct ss_entry *en) {
  if (en && en->sc) return (struct ss_cats){en->sc->categories, en->sc->ncat};
  if (en && en->db) return (struct ss_cats){en->db->cats, en->db->ncat};
  return (struct ss_cats){NULL, 0};
}

static bool ss_term(const char *w, struct ss_cats cats, const char *id) {
  if (!strcasecmp(w, "all")) return true;
  char pat[256];
  snprintf(pat, sizeof pat, "%s", w);
  size_t l = strlen(pat);
  if (l > 4 && (!strcmp(pat + l - 4, ".lua") || !strcmp(pat + l - 4, ".nse"))) pat[l - 4] = 0;
  if (fnmatch(pat, id, 0) == 0) return true;
  for (size_t i = 0; i < cats.n; i++)
    if (!strcasecmp(cats.v[i], w)) return true;
  return false;
}

static bool ss_eval(const struct ss_parser *p, int n, struct ss_cats cats, const char *id) {
  const struct ss_node *x = &p->nodes[n];
  switch (x->kind) {
  case T_WORD: return ss_term(x->word, cats, id);
  case T_NOT: return !ss_eval(p, x->a, cats, id);
  case T_AND: return ss_eval(p, x->a, cats, id) && ss_eval(p, x->b, cats, id);
  default: return ss_eval(p, x->a, cats, id) || ss_eval(p, x->b, cats, id);
  }
}

static const struct ss_cats ss_nocats = {NULL, 0};

/* One of Nmap's scripts failed to load: one line saying which and why
 * (the module it requires, when that is the reason); it is skipped. */
static void ss_report_skip(struct script_engine *e, const struct ss_entry *en) {
  char mod[128];
  const char *msg = en->err ? en->err : "cannot load";
  if (nse_missing_module(msg, mod, sizeof mod)) {
    script_report(e, "trawl: script '%s' skipped: it requires module '%s', which is not available\n",
                  en->id, mod);
    return;
  }
  const char *nl = strchr(msg, '\n');
  script_report(e, "trawl: script '%s' skipped: %.*s\n", en->id,
                nl ? (int)(nl - msg) : (int)strlen(msg), msg);
}

static bool ss_is_category(struct ss_catalog *c, const char *w) {
  for (int i = 0; ss_std_categories[i]; i++)
    if (!strcasecmp(ss_std_categories[i], w)) return true;
  for (size_t i = 0; i < c->n; i++) {
    struct ss_cats cs = ss_cats_of(&c->v[i]);
    for (size_t k = 0; k < cs.n; k++)
      if (!strcasecmp(cs.v[k], w)) return true;
  }
  return false;
}

/* Does the word name (or glob) some script id in the catalog? */
static bool ss_names_script(struct ss_catalog *c, const char *w) {
  for (size_t i = 0; i < c->n; i++)
    if (ss_term(w, ss_nocats, c->v[i].id)) return true;
  return false;
}

/* ---- selection -------------------------------------------------------------- */

static int ss_add(struct script_engine *e, struct script *sc, bool forced, bool by_name) {
  for (size_t i = 0; i < e->nscripts; i++) {
    if (!strcmp(e->scripts[i]->path, sc->path) || !strcmp(e->scripts[i]->id, sc->id)) {
      if (forced) e->scripts[i]->forced = true;
      if (by_name) e->scripts[i]->by_name = true;
      return 0;
    }
  }
  struct script **nv = realloc(e->scripts, (e->nscripts + 1) * sizeof *nv);
  if (!nv) return -ENOMEM;
  e->scripts = nv;
  sc->forced = sc->forced || forced;
  sc->by_name = sc->by_name || by_name;
  e->scripts[e->nscripts++] = sc;
  return 1;
}

static char *ss_trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t l = strlen(s);
  while (l && isspace((unsigned char)s[l - 1])) s[--l] = 0;
  return s;
}

static int ss_item_path(struct script_engine *e, const char *path, bool forced, char *err,
                        size_t errlen, struct ss_catalog *cat) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    struct ss_entry *v;
    size_t n;
    if (ss_list_dir(path, &v, &n) < 0) {
      snprintf(err, errlen, "cannot read script directory '%s': %s", path, strerror(errno));
      return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
      if (rc == 0) {
        struct script *sc = script_load(e, v[i].path, err, errlen);
        if (!sc) rc = -1;
        else if (ss_add(e, sc, forced, false) == 0) script_release(sc);
      }
      free(v[i].path);
      free(v[i].id);
    }
    free(v);
    return rc;
  }
  /* a file: as given, else in the scripts directory */
  char buf[4200];
  const char *p = path;
  if (stat(p, &st) != 0) {
    snprintf(buf, sizeof buf, "%s/%s", e->dir, path);
    p = buf;
    if (!e->dir[0] || stat(p, &st) != 0) {
      snprintf(buf, sizeof buf, "%s/scripts/%s", e->nmapdir, path);
      if (!e->nmapdir[0] || stat(p, &st) != 0) {
        bool nse = ss_has_ext(path, ".nse");
        snprintf(err, errlen, "'%s' did not match a category, filename, or directory%s%s", path,
                 nse && e->nmap_missing ? "; " : "", nse && e->nmap_missing ? NSE_MISSING_MSG : "");
        return -1;
      }
    }
  }
  /* already in the catalog? (same file) */
  for (size_t i = 0; i < cat->n; i++) {
    struct stat s2;
    if (stat(cat->v[i].path, &s2) == 0 && s2.st_ino == st.st_ino && s2.st_dev == st.st_dev) {
      ss_load(e, &cat->v[i]);
      if (!cat->v[i].sc && cat->v[i].nse) {
        ss_report_skip(e, &cat->v[i]);
        return 0;
      }
      if (!cat->v[i].sc) {
        snprintf(err, errlen, "%s", cat->v[i].err);
        return -1;
      }
      cat->v[i].selected = true;
      cat->v[i].forced |= forced;
      cat->v[i].by_name = true;
      return 0;
    }
  }
  struct script *sc = script_load(e, p, err, errlen);
  if (!sc && ss_has_ext(p, ".nse")) {
    /* an Nmap script given by path: reported and skipped, as by name */
    char id[256];
    const char *base = strrchr(p, '/');
    base = base ? base + 1 : p;
    size_t n = strlen(base) - 4; /* without ".nse" */
    if (n >= sizeof id) n = sizeof id - 1;
    memcpy(id, base, n);
    id[n] = 0;
    struct ss_entry en = {.id = id, .err = err};
    ss_report_skip(e, &en);
    return 0;
  }
  if (!sc) return -1;
  if (ss_add(e, sc, forced, true) == 0) script_release(sc);
  return 0;
}

static int ss_item_expr(struct script_engine *e, const char *item, bool forced, char *err,
                        size_t errlen, struct ss_catalog *cat) {
  struct ss_parser p = {0};
  p.err = err;
  p.errlen = errlen;
  p.item = item;
  p.x.p = item;
  ss_next(&p.x);
  int root = ss_or(&p);
  int rc = 0;
  if (root >= 0 && p.x.tok != T_END) {
    rc = ss_bad(&p, p.x.tok == T_RP ? "unexpected ')'" : "two names in a row without 'and' or 'or'");
  } else if (root < 0) {
    rc = -1;
  }
  if (rc == 0) {
    /* every term must mean something */
    for (size_t i = 0; i < p.n && rc == 0; i++) {
      if (p.nodes[i].kind != T_WORD) continue;
      const char *w = p.nodes[i].word;
      if (!strcasecmp(w, "all") || ss_names_script(cat, w)) continue;
      if (ss_is_category(cat, w)) continue;
      /* a broken script might have had it as a category */
      snprintf(err, errlen, "'%s' did not match a category, filename, or directory%s%s", w,
               e->nmap_missing ? "; " : "", e->nmap_missing ? NSE_MISSING_MSG : "");
      rc = -1;
    }
  }
  if (rc == 0) {
    for (size_t i = 0; i < cat->n && rc == 0; i++) {
      struct ss_entry *en = &cat->v[i];
      /* a script whose name the expression mentions must load */
      bool by_name = false;
      for (size_t k = 0; k < p.n; k++)
        if (p.nodes[k].kind == T_WORD && strcasecmp(p.nodes[k].word, "all") &&
            ss_term(p.nodes[k].word, ss_nocats, en->id))
          by_name = true;
      if (en->nse && !en->loaded) {
        /* Nmap's: selected by script.db's categories, loaded now */
        if (!ss_eval(&p, root, ss_cats_of(en), en->id)) continue;
        ss_load(e, en);
        if (!en->sc) {
          /* by name: a line of its own; by category: grouped (ss_report_skipped) */
          if (by_name && !en->reported) ss_report_skip(e, en);
          en->reported |= by_name;
          continue;
        }
      }
      if (!en->sc) {
        if (by_name && !en->nse) {
          /* selected by name: only an error if the expression picks it */
          if (ss_eval(&p, root, ss_nocats, en->id)) {
            snprintf(err, errlen, "%s", en->err ? en->err : "cannot load");
            rc = -1;
          }
        }
        continue;
      }
      if (ss_eval(&p, root, ss_cats_of(en), en->id)) {
        en->selected = true;
        en->forced |= forced;
        en->by_name |= by_name;
      }
    }
  }
  for (size_t i = 0; i < p.n; i++) free(p.nodes[i].word);
  free(p.nodes);
  return rc;
}

/* Nmap's scripts that a category selected and that failed to load: one
 * line per missing module naming them, then one per other failure. */
static void ss_report_skipped(struct script_engine *e, struct ss_catalog *c) {
  for (size_t i = 0; i < c->n; i++) {
    struct ss_entry *en = &c->v[i];
    if (!en->nse || !en->loaded || en->sc || en->reported) continue;
    char mod[128];
    if (!nse_missing_module(en->err, mod, sizeof mod)) {
      ss_report_skip(e, en);
      en->reported = true;
      continue;
    }
    char names[1024] = "";
    size_t n = 0;
    for (size_t k = i; k < c->n; k++) {
      struct ss_entry *o = &c->v[k];
      char m2[128];
      if (!o->nse || !o->loaded || o->sc || o->reported) continue;
      if (!nse_missing_module(o->err, m2, sizeof m2) || strcmp(m2, mod)) continue;
      size_t l = strlen(names);
      snprintf(names + l, sizeof names - l, "%s%s", n ? ", " : "", o->id);
      o->reported = true;
      n++;
    }
    script_report(e, "trawl: %zu of Nmap's selected scripts skipped: they require module '%s', "
                     "which is not available: %s\n", n, mod, names);
  }
}

/* -sV: every loaded script of category "version" that the expression did
 * not select is selected too, quiet (its output dropped). */
static void ss_select_version(struct ss_catalog *cat) {
  for (size_t i = 0; i < cat->n; i++) {
    struct ss_entry *en = &cat->v[i];
    if (!en->sc || en->selected || en->nse) continue; /* trawl's own only (docs/nse.md) */
    for (size_t k = 0; k < en->sc->ncat; k++) {
      if (strcasecmp(en->sc->categories[k], "version")) continue;
      en->selected = true;
      en->sc->quiet = true;
      break;
    }
  }
}

int script_select(struct script_engine *e, const char *expr, char *err, size_t errlen) {
  struct ss_catalog cat = {0};
  int rc = 0;
  bool version = e->cfg.version_scripts;
  if (!expr && !version) {
    snprintf(err, errlen, "no scripts given (--script)");
    return -EINVAL;
  }
  char *copy = strdup(expr ? expr : "");
  if (!copy) return -ENOMEM;
  /* split at top-level commas */
  char **items = NULL;
  size_t nitems = 0;
  int depth = 0;
  char *start = copy;
  for (char *q = copy; expr; q++) {
    if (*q == '(') depth++;
    else if (*q == ')') depth--;
    if (*q == 0 || (*q == ',' && depth <= 0)) {
      bool end = *q == 0;
      *q = 0;
      char **ni = realloc(items, (nitems + 1) * sizeof *ni);
      if (!ni) {
        rc = -ENOMEM;
        break;
      }
      items = ni;
      items[nitems++] = ss_trim(start);
      start = q + 1;
      if (end) break;
    }
  }
  bool need_catalog = version;
  for (size_t i = 0; i < nitems; i++) {
    const char *it = items[i];
    if (*it == '+') it++;
    if (!*it) {
      snprintf(err, errlen, "malformed --script expression '%s': empty item", expr);
      rc = -EINVAL;
      goto out;
    }
    size_t l = strlen(it);
    struct stat st;
    bool pathlike = strchr(it, '/') || (l > 4 && !strcmp(it + l - 4, ".lua")) || ss_has_ext(it, ".nse") ||
                    (stat(it, &st) == 0 && S_ISDIR(st.st_mode));
    if (!pathlike) need_catalog = true;
  }
  /* the catalog is needed by expressions, and to match file items to it */
  if (need_catalog && !e->dir[0] && !expr) goto out; /* -sV alone: no version scripts */
  if (need_catalog && !e->dir[0] && !e->nmapdir[0]) {
    snprintf(err, errlen, "no scripts directory found (install trawl's scripts, or point "
                          "--datadir or $TRAWLDIR at a directory holding scripts/)");
    rc = -ENOENT;
    goto out;
  }
  if (e->dir[0] && ss_list_dir(e->dir, &cat.v, &cat.n) < 0 && need_catalog && expr) {
    snprintf(err, errlen, "cannot read the scripts directory '%s': %s", e->dir, strerror(errno));
    rc = -ENOENT;
    goto out;
  }
  if (need_catalog && expr && ss_add_nmap(e, &cat, err, errlen) < 0) {
    rc = -EINVAL;
    goto out;
  }
  if (need_catalog)
    for (size_t i = 0; i < cat.n; i++)
      if (!cat.v[i].nse) ss_load(e, &cat.v[i]);
  for (size_t i = 0; i < nitems && rc == 0; i++) {
    const char *it = items[i];
    bool forced = false;
    if (*it == '+') {
      forced = true;
      it++;
    }
    size_t l = strlen(it);
    struct stat st;
    bool pathlike = strchr(it, '/') || (l > 4 && !strcmp(it + l - 4, ".lua")) || ss_has_ext(it, ".nse") ||
                    (stat(it, &st) == 0 && S_ISDIR(st.st_mode));
    if (pathlike) rc = ss_item_path(e, it, forced, err, errlen, &cat);
    else rc = ss_item_expr(e, it, forced, err, errlen, &cat);
    if (rc < 0) rc = -EINVAL;
  }
  size_t chosen = 0; /* what the expression selected */
  for (size_t i = 0; rc == 0 && i < cat.n; i++) chosen += cat.v[i].selected && cat.v[i].sc;
  if (rc == 0 && expr && e->nscripts + chosen == 0) {
    snprintf(err, errlen, "--script '%s' selects no script%s%s", expr,
             e->nmap_missing ? "; " : "", e->nmap_missing ? NSE_MISSING_MSG : "");
    rc = -EINVAL;
  }
  if (rc == 0) ss_report_skipped(e, &cat);
  if (rc == 0 && version) ss_select_version(&cat);
  if (rc == 0) {
    for (size_t i = 0; i < cat.n; i++) {
      if (!cat.v[i].selected || !cat.v[i].sc) continue;
      int r = ss_add(e, cat.v[i].sc, cat.v[i].forced, cat.v[i].by_name);
      if (r < 0) {
        rc = r;
        break;
      }
      if (r > 0) cat.v[i].sc = NULL; /* now the engine's */
    }
  }
out:
  for (size_t i = 0; i < cat.n; i++) {
    if (cat.v[i].sc) {
      if (cat.v[i].sc->env_ref != LUA_NOREF) luaL_unref(e->L, LUA_REGISTRYINDEX, cat.v[i].sc->env_ref);
      script_release(cat.v[i].sc);
    }
    free(cat.v[i].path);
    free(cat.v[i].id);
    free(cat.v[i].err);
  }
  free(cat.v);
  nse_db_free(&cat.db);
  free(items);
  free(copy);
  return rc;
}

/* ---- --script-args ------------------------------------------------------------ */

/* Tables nest at most this deep. Each level keeps its table and the key
 * being set on the Lua stack, and the parser recurses in C once per level;
 * every level asks Lua for its stack room first (lua_checkstack), so the
 * limit is a choice, not what the stack happens to hold. */
#define SS_ARGS_MAX_DEPTH 50
/* Stack slots one level may use at once: its table, a key, a value, and a
 * quoted string's buffer (placeholder, box and its metatable). */
#define SS_ARGS_LEVEL_SLOTS 8

struct ss_args {
  const char *s, *p;
  char *err;
  size_t errlen;
  bool failed;
};

static int ss_aerr(struct ss_args *a, const char *what) {
  snprintf(a->err, a->errlen, "%s at offset %zu of '%s'", what, (size_t)(a->p - a->s), a->s);
  a->failed = true;
  return -1;
}

static void ss_skip(struct ss_args *a) {
  while (isspace((unsigned char)*a->p)) a->p++;
}

/* A word, a quoted string: pushes it. */
static int ss_atom(lua_State *L, struct ss_args *a, bool key) {
  ss_skip(a);
  if (*a->p == '"' || *a->p == '\'') {
    char q = *a->p++;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (*a->p && *a->p != q) {
      if (*a->p == '\\' && a->p[1]) a->p++;
      luaL_addchar(&b, *a->p);
      a->p++;
    }
    if (*a->p != q) return ss_aerr(a, "unterminated quoted string");
    a->p++;
    luaL_pushresult(&b);
    return 0;
  }
  const char *st = a->p;
  while (*a->p && *a->p != ',' && *a->p != '}' && *a->p != '{' && *a->p != '=' &&
         *a->p != '"' && *a->p != '\'')
    a->p++;
  const char *en = a->p;
  while (en > st && isspace((unsigned char)en[-1])) en--;
  if (en == st) return ss_aerr(a, key ? "missing name" : "missing value");
  lua_pushlstring(L, st, (size_t)(en - st));
  return 0;
}

static int ss_table(lua_State *L, struct ss_args *a, int depth);

static int ss_value(lua_State *L, struct ss_args *a, int depth) {
  ss_skip(a);
  if (*a->p == '{') {
    a->p++;
    if (ss_table(L, a, depth + 1) < 0) return -1;
    ss_skip(a);
    if (*a->p != '}') return ss_aerr(a, "missing '}'");
    a->p++;
    return 0;
  }
  return ss_atom(L, a, false);
}

/* Items until the end or a '}' into the table on top of the stack. */
static int ss_items(lua_State *L, struct ss_args *a, int depth) {
  lua_Integer idx = 1;
  for (;;) {
    ss_skip(a);
    if (!*a->p || *a->p == '}') return 0;
    if (*a->p == ',') {
      a->p++; /* empty item */
      continue;
    }
    if (*a->p == '{') { /* unkeyed table */
      if (ss_value(L, a, depth) < 0) return -1;
      lua_rawseti(L, -2, idx++);
    } else {
      if (ss_atom(L, a, true) < 0) return -1;
      ss_skip(a);
      if (*a->p == '=') {
        a->p++;
        if (ss_value(L, a, depth) < 0) return -1;
        lua_settable(L, -3);
      } else {
        lua_rawseti(L, -2, idx++); /* a name alone: in the array part */
      }
    }
    ss_skip(a);
    if (*a->p == ',') a->p++;
    else if (*a->p && *a->p != '}') return ss_aerr(a, "expected ',' between arguments");
  }
}

static int ss_table(lua_State *L, struct ss_args *a, int depth) {
  if (depth > SS_ARGS_MAX_DEPTH) return ss_aerr(a, "tables nested too deeply");
  if (!lua_checkstack(L, SS_ARGS_LEVEL_SLOTS))
    return ss_aerr(a, "tables nested too deeply (no Lua stack left)");
  lua_newtable(L);
  return ss_items(L, a, depth);
}

/* Runs under lua_pcall, so that running out of memory while building the
 * table is an error return, not a panic: the argument is the ss_args;
 * returns the table, or nothing when the text is malformed. */
static int ss_args_protected(lua_State *L) {
  struct ss_args *a = lua_touserdata(L, 1);
  lua_settop(L, 0);
  if (ss_table(L, a, 0) < 0) return 0;
  ss_skip(a);
  if (*a->p) {
    ss_aerr(a, *a->p == '}' ? "unbalanced '}'" : "unexpected character");
    return 0;
  }
  return 1;
}

int script_args_parse(lua_State *L, const char *text, char *err, size_t errlen) {
  struct ss_args a = {text, text, err, errlen, false};
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 2)) {
    snprintf(err, errlen, "no Lua stack left for the script arguments");
    return -EINVAL;
  }
  lua_pushcfunction(L, ss_args_protected);
  lua_pushlightuserdata(L, &a);
  int st = lua_pcall(L, 1, 1, 0);
  if (st != LUA_OK || a.failed) {
    if (st != LUA_OK && !a.failed) {
      const char *m = st == LUA_ERRMEM ? "out of memory" : lua_tostring(L, -1);
      snprintf(err, errlen, "%s", m ? m : "error while building the table");
    }
    lua_settop(L, top);
    return -EINVAL;
  }
  return 0;
}
