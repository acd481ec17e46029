/* lua-version.c: trawl.set_port_version, how a script (typically of
 * category "version", run by -sV after the version stage) refines what
 * version detection said about a port: the service name, product,
 * version, extrainfo, hostname, ostype, devicetype, tunnel and CPEs. The
 * answer replaces the port's <service> in every output (normal, XML with
 * method="probed" conf="10", grepable, JSON Lines), as NSE's
 * nmap.set_port_version does. Its own file: it is the one binding that
 * writes into the scan's results rather than talking to the network. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "script/lua/lua-int.h"

/* A script's strings are bounded before they reach the results: a hostile
 * service's bytes copied into a field must not grow the output without
 * bound. Longer values are cut (at a byte boundary; the writers escape). */
#define LV_FIELD_MAX 1024
#define LV_CPE_MAX 16

static const char *const lv_fields[] = {"product",  "version", "extrainfo", "hostname",
                                        "ostype",   "devicetype", NULL};

/* The string field k of the table at idx (NULL when absent or not a
 * string), cut to LV_FIELD_MAX bytes: the cut copy is left on the stack. */
static const char *lv_getstr(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  size_t n = 0;
  int ty = lua_type(L, -1);
  const char *s = ty == LUA_TSTRING || ty == LUA_TNUMBER ? lua_tolstring(L, -1, &n) : NULL;
  if (s && n > LV_FIELD_MAX) {
    lua_pushlstring(L, s, LV_FIELD_MAX);
    s = lua_tostring(L, -1);
  }
  if (s && memchr(s, 0, n < LV_FIELD_MAX ? n : LV_FIELD_MAX)) s = NULL; /* no NUL in a field */
  return s; /* the value (and its cut copy) stay on the stack until the caller pops */
}

/* The port of h that the Lua port table (number, protocol) names
 * (lua-int.h; nse-nmap.c uses it too). */
struct port_result *lv_find_port(lua_State *L, struct host_result *h, int idx) {
  lua_getfield(L, idx, "number");
  lua_Integer num = lua_tointeger(L, -1);
  lua_getfield(L, idx, "protocol");
  const char *pr = lua_tostring(L, -1);
  enum scan_proto proto = pr && !strcmp(pr, "udp") ? PROTO_UDP : PROTO_TCP;
  lua_pop(L, 2);
  for (size_t i = 0; i < h->nports; i++)
    if (h->ports[i].portid == num && h->ports[i].proto == proto) return &h->ports[i];
  return NULL;
}

/* Copy what the script set back into port.version (the Lua table), so
 * that the rest of the script sees it as NSE scripts do. */
static void lv_reflect(lua_State *L, int port_idx, int src_idx) {
  lua_getfield(L, port_idx, "version");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, port_idx, "version");
  }
  int v = lua_gettop(L);
  if (src_idx != v) {
    lua_pushnil(L);
    while (lua_next(L, src_idx)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, v);
    }
  }
  lua_pushinteger(L, 10);
  lua_setfield(L, v, "name_confidence");
  lua_pushliteral(L, "probed");
  lua_setfield(L, v, "service_dtype");
  lua_getfield(L, v, "name");
  if (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0) lua_setfield(L, port_idx, "service");
  else lua_pop(L, 1);
  lua_pop(L, 1);
}

/* trawl.set_port_version(host, port [, fields]): fields is a table with
 * any of name, product, version, extrainfo, hostname, ostype, devicetype,
 * service_tunnel ("ssl"/"none"), cpe (array of strings); without it,
 * port.version is read (NSE's way). A field not given keeps what version
 * detection found. Returns true; a Lua error when used outside a host's
 * script run or on a port the scan does not list. */
static int lv_set_port_version(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checkstack(L, 3 * 8 + LV_CPE_MAX + 8, "set_port_version");
  struct sthread *t = st_current(L);
  if (!t || !t->host || !t->host->res)
    return luaL_error(L, "set_port_version: only a host's script run can set a port's version");
  struct host_result *h = t->host->res;
  lua_getfield(L, 1, "ip");
  char a[INET6_ADDRSTRLEN];
  const char *ip = lua_tostring(L, -1);
  if (!ip || strcmp(ip, tgt_addr_str(&h->addr, a, sizeof a)))
    return luaL_error(L, "set_port_version: host is not the host this run is for");
  lua_pop(L, 1);
  struct port_result *p = lv_find_port(L, h, 2);
  if (!p) return luaL_error(L, "set_port_version: the scan lists no such port");
  int f;
  if (lua_istable(L, 3)) {
    f = 3;
  } else {
    lua_getfield(L, 2, "version");
    if (!lua_istable(L, -1)) return luaL_error(L, "set_port_version: no fields and no port.version");
    f = lua_gettop(L);
  }
  int top = lua_gettop(L);
  /* start from what the port has, override with what the script gives */
  struct port_version nv = {0};
  const struct port_version *old = p->version;
  if (old) nv = *old;
  nv.fingerprint = NULL; /* a match now: no SF-Port fingerprint */
  char **slots[] = {&nv.product, &nv.version, &nv.extrainfo, &nv.hostname, &nv.ostype,
                    &nv.devicetype};
  for (int i = 0; lv_fields[i]; i++) {
    const char *s = lv_getstr(L, f, lv_fields[i]);
    if (s) *slots[i] = (char *)s;
  }
  const char *name = lv_getstr(L, f, "name");
  if (name && !*name) name = NULL;
  const char *tun = lv_getstr(L, f, "service_tunnel");
  if (tun) nv.ssl = !strcmp(tun, "ssl");
  char *cpe[LV_CPE_MAX];
  lua_getfield(L, f, "cpe");
  if (lua_istable(L, -1)) {
    int ct = lua_gettop(L);
    nv.ncpe = 0;
    nv.cpe = cpe;
    for (lua_Integer i = 1; i <= LV_CPE_MAX; i++) {
      lua_rawgeti(L, ct, i);
      const char *s = lua_tostring(L, -1);
      if (!s) break;
      if (strlen(s) <= LV_FIELD_MAX) cpe[nv.ncpe++] = (char *)s; /* kept on the stack */
    }
  }
  nv.probed = true;
  nv.conf = 10;
  if (port_set_version(p, name, &nv) < 0) return luaL_error(L, "out of memory");
  lua_settop(L, top);
  lv_reflect(L, 2, f);
  lua_pushboolean(L, 1);
  return 1;
}

void lua_version_open(struct script_engine *e, lua_State *L) {
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, lv_set_port_version, 1);
  lua_setfield(L, -2, "set_port_version");
}
