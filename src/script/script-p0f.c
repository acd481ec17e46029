/* script-p0f.c: port.synack, the SYN+ACK the SYN scan received for an open
 * port (os/synack.h) as scripts see it: the observation in p0f's notation
 * and its label from p0f.fp's [tcp:response] signatures (os/p0f-match.h).
 * p0f.fp is read once per engine, when the first port with a SYN+ACK is
 * shown to a script: --datadir's p0f.fp when there is one, else Debian's
 * /etc/p0f/p0f.fp (package p0f). Without it port.synack still carries the
 * signature, and label_error says why there is no label. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/p0f.h"
#include "os/p0f-match.h"
#include "script/script-int.h"

static const struct p0f_db *script_p0f_db(struct script_engine *e) {
  if (e->p0f_tried) return e->p0f;
  e->p0f_tried = true;
  const char *dir = e->cfg.datadir;
  if (dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, P0F_FILE);
    if (access(path, R_OK) != 0) dir = NULL;
  }
  if (p0f_load_default(&e->p0f, dir, NULL, NULL, e->p0f_err, sizeof e->p0f_err) < 0)
    e->p0f = NULL;
  return e->p0f;
}

static void script_p0f_setfs(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}
static void script_p0f_setfi(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* The observation as p0f prints a raw_sig: its TTL field is the TTL seen
 * plus the hops guessed from it ("4:62+2:0:1460:..."). */
static void script_p0f_raw_sig(const struct p0f_obs *o, char *out, size_t cap) {
  char sig[512];
  p0f_obs_format(o, sig, sizeof sig);
  const char *a = strchr(sig, ':');
  const char *b = a ? strchr(a + 1, ':') : NULL;
  if (!b) {
    snprintf(out, cap, "%s", sig);
    return;
  }
  snprintf(out, cap, "%.*s:%u+%u%s", (int)(a - sig), sig, o->ttl,
           (unsigned)(p0f_guess_ittl(o->ttl) - o->ttl), b);
}

void script_p0f_push_synack(lua_State *L, struct script_engine *e, const struct p0f_obs *o) {
  char buf[512];
  lua_createtable(L, 0, 16);
  script_p0f_raw_sig(o, buf, sizeof buf);
  script_p0f_setfs(L, "signature", buf);
  script_p0f_setfi(L, "ttl", o->ttl);
  script_p0f_setfi(L, "win", o->win);
  if (o->mss >= 0) script_p0f_setfi(L, "mss", o->mss);
  if (o->wscale >= 0) script_p0f_setfi(L, "wscale", o->wscale);
  const struct p0f_db *db = script_p0f_db(e);
  if (!db) {
    script_p0f_setfs(L, "label_error", e->p0f_err[0] ? e->p0f_err : "p0f.fp not loaded");
    return;
  }
  struct p0f_result r;
  p0f_match(db, o, 1, &r);
  p0f_result_format(db, &r, buf, sizeof buf);
  script_p0f_setfs(L, "label", buf);
  script_p0f_setfi(L, "ittl", r.ittl);
  script_p0f_setfi(L, "distance", r.dist);
  lua_pushboolean(L, r.sig >= 0);
  lua_setfield(L, -2, "matched");
  lua_pushboolean(L, r.fuzzy);
  lua_setfield(L, -2, "fuzzy");
  lua_pushboolean(L, r.generic);
  lua_setfield(L, -2, "generic");
  const struct p0f_sig *s = r.sig >= 0 ? p0f_sig(db, (size_t)r.sig) : NULL;
  const struct p0f_label *l = s ? p0f_label(db, s->label) : NULL;
  if (l) {
    script_p0f_setfs(L, "class", l->cls);
    script_p0f_setfs(L, "name", l->name);
    script_p0f_setfs(L, "flavor", l->flavor);
    script_p0f_setfi(L, "line", s->line);
    p0f_sig_format(s, buf, sizeof buf);
    script_p0f_setfs(L, "matched_signature", buf);
  }
}

void script_p0f_free(struct script_engine *e) {
  p0f_free(e->p0f);
  e->p0f = NULL;
  e->p0f_tried = false;
}
