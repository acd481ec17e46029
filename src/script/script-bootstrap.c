/* script-bootstrap.c: runs bootstrap.lua (embedded at build time as
 * script_bootstrap_lua, see cmake/embed.cmake) in a new engine's Lua state,
 * with the C functions it needs: the traceback handler every rule and
 * script load runs under, and coroutine.create for scripts. What the
 * bootstrap returns is kept in the registry: "trawl.runner" (calls an
 * action, flattens a table result) and "trawl.keys". */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

#include "script/script-int.h"

static int bootstrap_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* coroutine.create for scripts: the new coroutine knows its script thread
 * (so that a C function it calls can suspend the thread). */
static int bootstrap_cocreate(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  *(struct sthread **)lua_getextraspace(co) = st_current(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  return 1;
}

int bootstrap_load(struct script_engine *e, char *err, size_t errlen) {
  lua_State *L = e->L;
  lua_pushcfunction(L, bootstrap_traceback);
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.traceback");
  if (luaL_loadbufferx(L, script_bootstrap_lua, script_bootstrap_lua_len, "=trawl-bootstrap",
                       "t") != LUA_OK) {
    snprintf(err, errlen, "bootstrap: %s", lua_tostring(L, -1));
    return -EINVAL;
  }
  lua_pushlightuserdata(L, (void *)&script_yield_mark);
  lua_pushcfunction(L, bootstrap_cocreate);
  lua_pushlightuserdata(L, (void *)&srun_flat_mark);
  if (lua_pcall(L, 3, 2, 0) != LUA_OK) {
    snprintf(err, errlen, "bootstrap: %s", lua_tostring(L, -1));
    return -EINVAL;
  }
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.runner");
  lua_setfield(L, LUA_REGISTRYINDEX, "trawl.keys");
  return 0;
}
