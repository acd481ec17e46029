/* nse-nmap.c: the Lua side of running Nmap's NSE scripts. It registers
 * package.preload.nmap (nse-nmap.lua, run with the trawl module, the C
 * helpers below and Nmap's data directory), package.preload.openssl (the
 * colleague's nse-openssl.c when it is built in, else a loader failing
 * with "module 'openssl' not available"), and the search paths NSE's
 * scripts expect: Nmap's nselib/?.lua on package.path (after trawl's own
 * lualib, so trawl's libraries win), and Debian's lua-lpeg / lua-filesystem
 * directory on package.cpath. The C helpers are the nmap.* functions that
 * need the engine: get_port_state, address_family, timing_level,
 * version_intensity, get_ttl, get_interface, get_interface_info,
 * list_interfaces. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <net/if_arp.h>
#include <trawl/route.h>

#include "script/lua/lua-int.h"
#include "script/nse/nse.h"
#include "script/script-int.h"

/* Where Debian's lua-lpeg and lua-filesystem put their C modules. */
#define NSE_LUA_CDIR "/usr/lib/x86_64-linux-gnu/lua/5.4"

static struct script_engine *nse_engine(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

/* ---- engine state ---------------------------------------------------------- */

/* The scan's host whose Lua host table is at idx (a rule's or a run's
 * argument), else the calling run's host; NULL in pre/post phases. */
static struct host_result *nse_host_at(lua_State *L, int idx) {
  struct script_engine *e = nse_engine(L);
  if (idx && lua_istable(L, idx)) {
    for (size_t i = 0; i < e->nhosts; i++) {
      struct shost *h = &e->hosts[i];
      if (!h->res || h->table_ref == LUA_NOREF) continue;
      lua_rawgeti(L, LUA_REGISTRYINDEX, h->table_ref);
      bool same = lua_rawequal(L, -1, idx);
      lua_pop(L, 1);
      if (same) return h->res;
    }
  }
  struct sthread *t = st_current(L);
  if (t && t->host && t->host->res) return t->host->res;
  return NULL;
}

static struct host_result *nse_host(lua_State *L) { return nse_host_at(L, 0); }

/* The index in h->ports of the port that the Lua table at idx ({number,
 * protocol}) names, or h->nports when the scan lists no such port. */
static size_t nse_port_index(lua_State *L, struct host_result *h, int idx) {
  struct port_result *p = lv_find_port(L, h, idx);
  return p ? (size_t)(p - h->ports) : h->nports;
}

/* nmap.get_ports(host, port, protocol, state): the port after `port`
 * (nil: the first) of that protocol and state, as a port table; nil at
 * the end. */
static int nse_get_ports(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *proto = luaL_optstring(L, 3, NULL);
  const char *state = luaL_optstring(L, 4, NULL);
  struct host_result *h = nse_host_at(L, 1);
  if (!h) return 0;
  size_t i = 0;
  if (lua_istable(L, 2)) {
    i = nse_port_index(L, h, 2);
    if (i < h->nports) i++;
  }
  for (; i < h->nports; i++) {
    const struct port_result *p = &h->ports[i];
    if (proto && strcmp(proto, proto_name(p->proto))) continue;
    if (state && strcmp(state, port_state_name(p->state))) continue;
    trees_push_port(L, nse_engine(L), p);
    return 1;
  }
  return 0;
}

static int nse_in_thread(lua_State *L) {
  lua_pushboolean(L, st_current(L) != NULL);
  return 1;
}

/* stdnse.getid(): the id of the script running (a run, or a rule) */
static int nse_script_id(lua_State *L) {
  struct sthread *t = st_current(L);
  const struct script *sc = t ? t->sc : nse_engine(L)->rule_sc;
  if (!sc) return 0;
  lua_pushstring(L, sc->id);
  return 1;
}

/* stdnse.getinfo(): "host:port" or "host" of the calling run, nil outside
 * one (NSE's debug prefix) */
static int nse_script_info(lua_State *L) {
  struct sthread *t = st_current(L);
  if (!t || !t->run || !t->host || !t->host->res) return 0;
  char a[INET6_ADDRSTRLEN];
  const struct host_result *h = t->host->res;
  tgt_addr_str(&h->addr, a, sizeof a);
  if (t->run->port >= 0) lua_pushfstring(L, "%s:%d", a, (int)h->ports[t->run->port].portid);
  else lua_pushstring(L, a);
  return 1;
}

/* stdnse.gethostport(): the calling run's host and port tables */
static int nse_host_port(lua_State *L) {
  struct sthread *t = st_current(L);
  if (!t || !t->run || !t->host || !t->host->res) return 0;
  trees_push_host(L, t->host);
  if (t->run->port < 0) return 1;
  trees_push_port(L, nse_engine(L), &t->host->res->ports[t->run->port]);
  return 2;
}

/* stdnse.new_thread(f, ...): a helper thread (trawl.spawn) running f;
 * returns its coroutine, whose coroutine.status is "dead" once it ended
 * (what NSE's scripts wait for, with a condvar), and an info table. */
static int nse_new_thread(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  struct sthread *parent = st_current(L);
  if (!parent) return luaL_error(L, "stdnse.new_thread can only be run from an active script");
  st_spawn(L, parent, 1, lua_gettop(L) - 1);
  struct sthread **hp = lua_touserdata(L, -1);
  if (!hp || !*hp) return luaL_error(L, "stdnse.new_thread: no thread");
  lua_pushthread((*hp)->L);
  lua_xmove((*hp)->L, L, 1);
  lua_newtable(L);
  return 2;
}

/* stdnse.base(): the coroutine of the calling script thread */
static int nse_base(lua_State *L) {
  struct sthread *t = st_current(L);
  if (!t) return 0;
  lua_pushthread(t->L);
  lua_xmove(t->L, L, 1);
  return 1;
}

static int nse_address_family(lua_State *L) {
  struct host_result *h = nse_host(L);
  lua_pushstring(L, h && h->addr.family == AF_INET6 ? "inet6" : "inet");
  return 1;
}

static int nse_timing_level(lua_State *L) {
  lua_pushinteger(L, nse_engine(L)->cfg.timing);
  return 1;
}

static int nse_version_intensity(lua_State *L) {
  int v = nse_engine(L)->cfg.version_intensity;
  lua_pushinteger(L, v < 0 || v > 9 ? 7 : v);
  return 1;
}

/* nmap.get_payload_length(): --data-length's (or --data's) bytes, else 0 */
static int nse_get_payload_length(lua_State *L) {
  int v = nse_engine(L)->cfg.payload_length;
  lua_pushinteger(L, v < 0 ? 0 : v);
  return 1;
}

static int nse_get_ttl(lua_State *L) {
  int v = nse_engine(L)->cfg.ttl;
  lua_pushinteger(L, v <= 0 || v > 255 ? 64 : v);
  return 1;
}

/* nmap.get_port_state(host, {number=, protocol=}): the scan's port table
 * for that port of the run's host, or nil. */
static int nse_get_port_state(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  struct host_result *h = nse_host_at(L, 1);
  if (!h) return 0;
  size_t i = nse_port_index(L, h, 2);
  if (i == h->nports) return 0;
  trees_push_port(L, nse_engine(L), &h->ports[i]);
  return 1;
}

/* nmap.set_port_state(host, port, "open"|"closed"): a port of the run's
 * host that the scan lists takes that state (reason "script-set"), in
 * every output; the port table given follows. Others: an error. */
static int nse_set_port_state(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  const char *st = luaL_checkstring(L, 3);
  enum port_state ps;
  if (!strcmp(st, "open")) ps = PORT_OPEN;
  else if (!strcmp(st, "closed")) ps = PORT_CLOSED;
  else return luaL_argerror(L, 3, "expected \"open\" or \"closed\"");
  struct host_result *h = nse_host_at(L, 1);
  if (!h) return luaL_error(L, "set_port_state: not a host of this run");
  size_t i = nse_port_index(L, h, 2);
  if (i == h->nports) return luaL_error(L, "set_port_state: the scan lists no such port");
  struct port_result *p = &h->ports[i];
  char *reason = strdup("script-set");
  if (!reason) return luaL_error(L, "out of memory");
  free(p->reason);
  p->reason = reason;
  p->reason_ttl = 0;
  p->state = ps;
  lua_pushstring(L, st);
  lua_setfield(L, 2, "state");
  return 0;
}

/* ---- interfaces ------------------------------------------------------------------ */

/* nmap.get_interface(): -e's interface (as Nmap: what -e gave), else the
 * run's host's interface, else nil */
static int nse_get_interface(lua_State *L) {
  struct sthread *t = st_current(L);
  const char *dev = nse_engine(L)->cfg.device;
  if (dev && *dev) lua_pushstring(L, dev);
  else if (t && t->host && t->host->ifname[0]) lua_pushstring(L, t->host->ifname);
  else lua_pushnil(L);
  return 1;
}

/* One interface address as NSE's table: device, shortname, netmask
 * (prefix length), address, up, link ("ethernet", "loopback", "other"),
 * mtu, mac (6 bytes) and broadcast (IPv4) on an Ethernet link. */
static void nse_push_ifaddr(lua_State *L, const struct ifaddrs *a) {
  char ip[INET6_ADDRSTRLEN] = "";
  int bits = 0;
  const void *src = NULL, *mask = NULL;
  size_t mlen = 0;
  if (a->ifa_addr->sa_family == AF_INET) {
    src = &((const struct sockaddr_in *)a->ifa_addr)->sin_addr;
    if (a->ifa_netmask) mask = &((const struct sockaddr_in *)a->ifa_netmask)->sin_addr, mlen = 4;
  } else {
    src = &((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
    if (a->ifa_netmask) mask = &((const struct sockaddr_in6 *)a->ifa_netmask)->sin6_addr, mlen = 16;
  }
  inet_ntop(a->ifa_addr->sa_family, src, ip, sizeof ip);
  for (size_t i = 0; i < mlen; i++) bits += __builtin_popcount(((const unsigned char *)mask)[i]);
  lua_createtable(L, 0, 8);
  lua_pushstring(L, a->ifa_name);
  lua_setfield(L, -2, "device");
  lua_pushstring(L, a->ifa_name);
  lua_setfield(L, -2, "shortname");
  lua_pushstring(L, ip);
  lua_setfield(L, -2, "address");
  lua_pushinteger(L, bits);
  lua_setfield(L, -2, "netmask");
  lua_pushstring(L, a->ifa_flags & IFF_UP ? "up" : "down");
  lua_setfield(L, -2, "up");
  tw_iface ifc;
  bool known = tw_iface_get(a->ifa_name, 0, &ifc) == 0;
  bool eth = known ? ifc.arptype == ARPHRD_ETHER : !(a->ifa_flags & IFF_LOOPBACK);
  lua_pushstring(L, eth ? "ethernet" : a->ifa_flags & IFF_LOOPBACK ? "loopback" : "other");
  lua_setfield(L, -2, "link");
  if (!known) return;
  lua_pushinteger(L, ifc.mtu);
  lua_setfield(L, -2, "mtu");
  if (!eth || !ifc.has_mac) return;
  lua_pushlstring(L, (const char *)ifc.mac, 6);
  lua_setfield(L, -2, "mac");
  if (a->ifa_addr->sa_family == AF_INET && mask) {
    struct in_addr b = *(const struct in_addr *)src;
    b.s_addr |= ~((const struct in_addr *)mask)->s_addr;
    char bs[INET_ADDRSTRLEN];
    lua_pushstring(L, inet_ntop(AF_INET, &b, bs, sizeof bs));
    lua_setfield(L, -2, "broadcast");
  }
}

static int nse_list_interfaces(lua_State *L) {
  struct ifaddrs *all;
  if (getifaddrs(&all) != 0) return st_pusherr(L, strerror(errno));
  lua_newtable(L);
  lua_Integer n = 0;
  for (struct ifaddrs *a = all; a; a = a->ifa_next) {
    if (!a->ifa_addr || (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
      continue;
    nse_push_ifaddr(L, a);
    lua_rawseti(L, -2, ++n);
  }
  freeifaddrs(all);
  return 1;
}

/* nmap.get_interface_info(name): its first address's table, or nil, err */
static int nse_get_interface_info(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  struct ifaddrs *all;
  if (getifaddrs(&all) != 0) return st_pusherr(L, strerror(errno));
  for (struct ifaddrs *a = all; a; a = a->ifa_next) {
    if (!a->ifa_addr || strcmp(a->ifa_name, name)) continue;
    if (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6) continue;
    nse_push_ifaddr(L, a);
    freeifaddrs(all);
    return 1;
  }
  freeifaddrs(all);
  return st_pusherr(L, "no such interface");
}

/* ---- openssl ---------------------------------------------------------------------- */

#ifndef TW_HAVE_NSE_OPENSSL
static int nse_openssl_unavailable(lua_State *L) {
  return luaL_error(L, "module 'openssl' not available (this trawl was built without "
                       "src/script/nse/nse-openssl.c)");
}
#endif

bool nse_missing_module(const char *msg, char *out, size_t len) {
  const char *p = msg ? strstr(msg, "module '") : NULL;
  if (!p) return false;
  p += 8;
  const char *q = strchr(p, '\'');
  if (!q || (strncmp(q, "' not found", 11) && strncmp(q, "' not available", 15))) return false;
  snprintf(out, len, "%.*s", (int)(q - p), p);
  return true;
}

/* ---- registration ------------------------------------------------------------------- */

/* package.preload.nmap: runs nse-nmap.lua (upvalues: the engine, Nmap's
 * directory). */
static int nse_nmap_loader(lua_State *L) {
  struct script_engine *e = nse_engine(L);
  static const luaL_Reg fns[] = {{"address_family", nse_address_family},
                                 {"in_thread", nse_in_thread},
                                 {"new_thread", nse_new_thread},
                                 {"base", nse_base},
                                 {"script_id", nse_script_id},
                                 {"script_info", nse_script_info},
                                 {"host_port", nse_host_port},
                                 {"timing_level", nse_timing_level},
                                 {"version_intensity", nse_version_intensity},
                                 {"get_ttl", nse_get_ttl},
                                 {"get_payload_length", nse_get_payload_length},
                                 {"get_port_state", nse_get_port_state},
                                 {"get_ports", nse_get_ports},
                                 {"set_port_state", nse_set_port_state},
                                 {"get_interface", nse_get_interface},
                                 {"get_interface_info", nse_get_interface_info},
                                 {"list_interfaces", nse_list_interfaces},
                                 {NULL, NULL}};
  if (luaL_loadbufferx(L, nse_nmap_lua, nse_nmap_lua_len, "=nmap", "t") != LUA_OK)
    return lua_error(L);
  lua_getglobal(L, "trawl");
  lua_newtable(L);
  lua_pushlightuserdata(L, e);
  luaL_setfuncs(L, fns, 1);
  nse_pcap_register(e, L);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_call(L, 3, 1);
  return 1;
}

/* Nmap's nselib goes first: the global require is NSE's (trawl's own
 * scripts have nse-require.lua's) */
/* package.preload.stdnse: nselib's stdnse.lua, plus silent_require, which
 * NSE's engine adds to it (upvalue: Nmap's directory). */
static int nse_stdnse_loader(lua_State *L) {
  const char *dir = lua_tostring(L, lua_upvalueindex(1));
  lua_pushfstring(L, "%s/nselib/stdnse.lua", dir);
  const char *path = lua_tostring(L, -1);
  if (luaL_loadfilex(L, path, "t") != LUA_OK) return lua_error(L);
  lua_pushliteral(L, "stdnse");
  lua_pushvalue(L, -3);
  lua_call(L, 2, 1);
  if (!lua_istable(L, -1)) return luaL_error(L, "%s did not return a table", path);
  int mod = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "nmap");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "_stdnse_engine");
  lua_pushvalue(L, mod);
  lua_call(L, 1, 0);
  lua_settop(L, mod);
  return 1;
}

/* guard(rule, action) -> function(...) running action(...) if rule(...)
 * (upvalue: the compiled chunk making it) */
static int nse_guard(lua_State *L) {
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

static void nse_prepend_path(lua_State *L, const char *field, const char *add) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, field);
  const char *cur = lua_tostring(L, -1);
  if (cur && *cur) lua_pushfstring(L, "%s;%s", add, cur);
  else lua_pushstring(L, add);
  lua_setfield(L, -3, field);
  lua_pop(L, 2);
}

void nse_nmap_open(struct script_engine *e, lua_State *L, const char *nmapdir) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushlightuserdata(L, e);
  lua_pushstring(L, nmapdir ? nmapdir : "");
  lua_pushcclosure(L, nse_nmap_loader, 2);
  lua_setfield(L, -2, "nmap");
  if (nmapdir && *nmapdir) {
    lua_pushstring(L, nmapdir);
    lua_pushcclosure(L, nse_stdnse_loader, 1);
    lua_setfield(L, -2, "stdnse");
  }
#ifndef TW_HAVE_NSE_OPENSSL
  lua_pushcfunction(L, nse_openssl_unavailable);
  lua_setfield(L, -2, "openssl");
#endif
  lua_pop(L, 2);
#ifdef TW_HAVE_NSE_OPENSSL
  nse_openssl_open(L);
#endif
  /* package.cpath: only Debian's Lua 5.4 C module directory (lpeg, lfs),
   * never the current directory */
  lua_getglobal(L, "package");
  lua_pushliteral(L, NSE_LUA_CDIR "/?.so");
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  if (nmapdir && *nmapdir) {
    lua_pushfstring(L, "%s/nselib/?.lua", nmapdir);
    nse_prepend_path(L, "path", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  /* the guard of a run whose rule must wait (script-runner.c) */
  if (luaL_loadstring(L, "local rule, action = ...\n"
                         "return function(...) if rule(...) then return action(...) end end") ==
      LUA_OK) {
    lua_pushcclosure(L, nse_guard, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "trawl.nse_guard");
  } else {
    lua_pop(L, 1);
  }
  /* trawl's scripts' require (nse-require.lua), in the registry for
   * script-loader.c */
  if (luaL_loadbufferx(L, nse_require_lua, nse_require_lua_len, "=trawl-require", "t") == LUA_OK) {
    lua_pushstring(L, e->libdir);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_isfunction(L, -1)) {
      lua_setfield(L, LUA_REGISTRYINDEX, "trawl.require");
      return;
    }
  }
  lua_pop(L, 1);
}
