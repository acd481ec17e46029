/* lua-trawl.c: the `trawl` Lua module scripts use (docs/scripting.md):
 * the module table and its small functions (script arguments, verbosity
 * and debugging, trawl.debug, is_privileged, hex strings, sleep and
 * clocks, the shared registry, version) and the parts written in Lua
 * (lua-trawl.lua, embedded at build time: output_table, format_output,
 * timespec). It registers the other bindings into the same table:
 * sockets (lua-socket.c), DNS (lua-dns.c), mutexes, condition variables
 * and helper threads (lua-sync.c), set_port_version (lua-version.c); TLS
 * and raw packets (lua-tls.c, lua-packet.c) are added by the engine
 * after it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "script/lua/lua-int.h"

/* ---- sleep and clocks --------------------------------------------------------------- */

struct lt_sleep {
  struct sthread *t;
  tw_timer *tm;
};

static void lt_sleep_closed(void *h) { free(tw_data(h)); }

static void lt_on_sleep(tw_timer *tm, int status) {
  struct lt_sleep *s = tw_data(tm);
  struct sthread *t = s->t;
  s->t = NULL;
  tw_close(tm, lt_sleep_closed);
  if (t && status == 0) st_resume(t, 0);
}

static void lt_sleep_cancel(struct sthread *t, void *obj) {
  struct lt_sleep *s = obj;
  s->t = NULL;
  tw_timer_stop(s->tm);
  tw_close(s->tm, lt_sleep_closed);
}

static int lt_sleep(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_Number sec = luaL_checknumber(L, 1);
  struct sthread *t = st_check_block(L, "trawl.sleep");
  struct lt_sleep *s = calloc(1, sizeof *s);
  if (!s) return luaL_error(L, "out of memory");
  if (tw_timer_new(e->loop, &s->tm, s) < 0) {
    free(s);
    return luaL_error(L, "cannot create a timer");
  }
  s->t = t;
  uint64_t ns = sec > 0 ? (uint64_t)(sec * 1e9) : 0;
  tw_timer_start(s->tm, lt_on_sleep, ns, 0);
  return st_suspend(L, t, lt_sleep_cancel, s);
}

static int lt_clock(lua_State *L) {
  lua_pushnumber(L, (lua_Number)tw_hrtime() / 1e9);
  return 1;
}

static int lt_clock_ms(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)(tw_hrtime() / 1000000ull));
  return 1;
}

/* ---- script arguments and small helpers ---------------------------------------------- */

/* trawl.get_script_args(name, ...): the first that is set; a name alone
 * in --script-args (array part) gives "1"; "SCRIPT.name" is looked up
 * for a plain name too. */
static int lt_get_script_args(lua_State *L) {
  int n = lua_gettop(L);
  lua_getglobal(L, "trawl");
  lua_getfield(L, -1, "args");
  int args = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    const char *name = luaL_checkstring(L, i);
    lua_getfield(L, args, name);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
    size_t len = lua_rawlen(L, args);
    for (size_t k = 1; k <= len; k++) {
      lua_rawgeti(L, args, (lua_Integer)k);
      const char *v = lua_tostring(L, -1);
      bool hit = v && !strcmp(v, name);
      lua_pop(L, 1);
      if (hit) {
        lua_pushliteral(L, "1");
        return 1;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}

/* -v's level, plus one for a script selected by name or file (as NSE
 * tells such scripts: they were asked for, so they may say more). */
static int lt_verbosity(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  struct sthread *t = st_current(L);
  const struct script *sc = t ? t->sc : e->rule_sc;
  lua_pushinteger(L, e->cfg.verbose + (sc && sc->by_name ? 1 : 0));
  return 1;
}

static int lt_debugging(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushinteger(L, e->cfg.debug);
  return 1;
}

/* trawl.debug(level, fmt, ...): printed to stderr with -d >= level. */
static int lt_debug(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_Integer lv = luaL_checkinteger(L, 1);
  if (e->cfg.debug < lv) return 0;
  lua_getglobal(L, "string");
  lua_getfield(L, -1, "format");
  lua_remove(L, -2);
  lua_insert(L, 2);
  lua_call(L, lua_gettop(L) - 2, 1);
  struct sthread *t = st_current(L);
  fprintf(e->errfp, "trawl: %s: %s\n", t && t->sc ? t->sc->id : "script", lua_tostring(L, -1));
  return 0;
}

/* Root when the engine was made (the scan drops root once its raw
 * sockets are open: those opened for scripts are what counts then). */
static int lt_is_privileged(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushboolean(L, e->privileged || geteuid() == 0);
  return 1;
}

static int lt_tohex(lua_State *L) {
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  const char *sep = luaL_optstring(L, 2, "");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    char h[3];
    snprintf(h, sizeof h, "%02x", s[i]);
    if (i && *sep) luaL_addstring(&b, sep);
    luaL_addlstring(&b, h, 2);
  }
  luaL_pushresult(&b);
  return 1;
}

static int lt_fromhex(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int hi = -1;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ' ' || c == ':' || c == '\n' || c == '\t') continue;
    else return st_pusherr(L, "not a hex string");
    if (hi < 0) hi = v;
    else {
      luaL_addchar(&b, (char)(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) return st_pusherr(L, "odd number of hex digits");
  luaL_pushresult(&b);
  return 1;
}

const char *lt_hostarg(lua_State *L, int idx) {
  if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "ip");
    const char *s = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays referenced by the table */
    if (!s) luaL_argerror(L, idx, "host table without 'ip'");
    return s;
  }
  return luaL_checkstring(L, idx);
}

/* ---- registration ------------------------------------------------------------------- */

void lt_meta(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
             lua_CFunction call, lua_CFunction tostr) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  if (gc) {
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
  }
  if (call) {
    lua_pushcfunction(L, call);
    lua_setfield(L, -2, "__call");
  }
  if (tostr) {
    lua_pushcfunction(L, tostr);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

void lua_trawl_open(struct script_engine *e, lua_State *L) {
  static const luaL_Reg fns[] = {
      {"sleep", lt_sleep},
      {"clock", lt_clock},
      {"clock_ms", lt_clock_ms},
      {"get_script_args", lt_get_script_args},
      {"verbosity", lt_verbosity},
      {"debugging", lt_debugging},
      {"debug", lt_debug},
      {"is_privileged", lt_is_privileged},
      {"tohex", lt_tohex},
      {"fromhex", lt_fromhex},
      {NULL, NULL}};
  lua_newtable(L);
  lua_pushlightuserdata(L, e);
  luaL_setfuncs(L, fns, 1);
  lua_socket_open(e, L);
  lua_dns_open(e, L);
  lua_sync_open(e, L);
  lua_version_open(e, L);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  e->registry_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_setfield(L, -2, "registry");
  lua_newtable(L);
  e->mutexes_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushliteral(L, "trawl 0.1");
  lua_setfield(L, -2, "version");
  if (luaL_loadbufferx(L, lua_trawl_lua, lua_trawl_lua_len, "=trawl", "t") == LUA_OK) {
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
  } else {
    lua_pop(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setglobal(L, "trawl");
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "trawl");
  lua_pop(L, 3);
}
