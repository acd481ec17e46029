/* lua-dns.c: names and addresses for scripts: trawl.resolve(name[,
 * family]) and trawl.reverse(address or host table), NSE style (a list
 * of addresses or a name; nil and "NXDOMAIN", "NODATA", "TIMEOUT"...).
 * They use the engine's resolver (libtrawl's c-ares resolver, made on
 * first use, --dns-servers or resolv.conf), which socket connects by name
 * use too. The calling thread waits, the loop runs on. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "script/lua/lua-int.h"

tw_resolver *ldns_resolver(struct script_engine *e) {
  if (!e->resolver) {
    tw_resolver_opts o = {0};
    o.servers = e->cfg.dns_servers;
    if (tw_resolver_new(e->loop, &e->resolver, &o, e) < 0) e->resolver = NULL;
  }
  return e->resolver;
}

/* ---- DNS ------------------------------------------------------------------------- */

struct ldns_dns {
  struct sthread *t;
  tw_req *req;
  bool reverse;
};

static void ldns_dns_cancel(struct sthread *t, void *obj) {
  struct ldns_dns *d = obj;
  d->t = NULL;
  if (d->req) tw_cancel(d->req);
}

static const char *ldns_dnserr(int status) {
  switch (status) {
  case TW_ENOTFOUND: return "NXDOMAIN";
  case TW_ENODATA: return "NODATA";
  case -ETIMEDOUT: return "TIMEOUT";
  default: return tw_strerror(status);
  }
}

static void ldns_on_resolve(tw_req *req, int status, const struct sockaddr_storage *addrs, size_t n,
                          void *data) {
  struct ldns_dns *d = data;
  struct sthread *t = d->t;
  free(d);
  if (!t) return;
  lua_State *L = t->L;
  if (status < 0) {
    lua_pushnil(L);
    lua_pushstring(L, ldns_dnserr(status));
    st_resume(t, 2);
    return;
  }
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    char a[INET6_ADDRSTRLEN];
    if (addrs[i].ss_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)&addrs[i])->sin_addr, a, sizeof a);
    else
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&addrs[i])->sin6_addr, a, sizeof a);
    lua_pushstring(L, a);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  st_resume(t, 1);
}

static int ldns_family(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return AF_UNSPEC;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Integer v = lua_tointeger(L, idx);
    if (v == 4) return AF_INET;
    if (v == 6) return AF_INET6;
  } else {
    const char *f = lua_tostring(L, idx);
    if (!strcmp(f, "inet") || !strcmp(f, "ipv4") || !strcmp(f, "4")) return AF_INET;
    if (!strcmp(f, "inet6") || !strcmp(f, "ipv6") || !strcmp(f, "6")) return AF_INET6;
    if (!strcmp(f, "any") || !strcmp(f, "unspec")) return AF_UNSPEC;
  }
  return luaL_argerror(L, idx, "expected \"inet\", \"inet6\", 4 or 6");
}

static int ldns_resolve(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  const char *name = luaL_checkstring(L, 1);
  int fam = ldns_family(L, 2);
  struct in6_addr tmp;
  int nf = inet_pton(AF_INET, name, &tmp) == 1 ? AF_INET : inet_pton(AF_INET6, name, &tmp) == 1 ? AF_INET6 : 0;
  if (nf) {
    if (fam != AF_UNSPEC && fam != nf) return st_pusherr(L, "NODATA");
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    return 1;
  }
  struct sthread *t = st_check_block(L, "trawl.resolve");
  tw_resolver *r = ldns_resolver(e);
  if (!r) return st_pusherr(L, "no DNS resolver");
  struct ldns_dns *d = calloc(1, sizeof *d);
  if (!d) return luaL_error(L, "out of memory");
  d->t = t;
  int err = tw_resolve(r, &d->req, name, fam, ldns_on_resolve, d);
  if (err < 0) {
    free(d);
    return st_pusherr(L, ldns_dnserr(err));
  }
  return st_suspend(L, t, ldns_dns_cancel, d);
}

static void ldns_on_reverse(tw_req *req, int status, const char *name, void *data) {
  struct ldns_dns *d = data;
  struct sthread *t = d->t;
  free(d);
  if (!t) return;
  if (status < 0) {
    lua_pushnil(t->L);
    lua_pushstring(t->L, ldns_dnserr(status));
    st_resume(t, 2);
    return;
  }
  lua_pushstring(t->L, name);
  st_resume(t, 1);
}

static int ldns_reverse(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  const char *addr = lt_hostarg(L, 1);
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) s4->sin_family = AF_INET;
  else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) s6->sin6_family = AF_INET6;
  else return st_pusherr(L, "not an IP address");
  struct sthread *t = st_check_block(L, "trawl.reverse");
  tw_resolver *r = ldns_resolver(e);
  if (!r) return st_pusherr(L, "no DNS resolver");
  struct ldns_dns *d = calloc(1, sizeof *d);
  if (!d) return luaL_error(L, "out of memory");
  d->t = t;
  d->reverse = true;
  int err = tw_reverse(r, &d->req, (struct sockaddr *)&ss, ldns_on_reverse, d);
  if (err < 0) {
    free(d);
    return st_pusherr(L, ldns_dnserr(err));
  }
  return st_suspend(L, t, ldns_dns_cancel, d);
}

void lua_dns_open(struct script_engine *e, lua_State *L) {
  static const luaL_Reg fns[] = {
      {"resolve", ldns_resolve}, {"reverse", ldns_reverse}, {NULL, NULL}};
  lua_pushlightuserdata(L, e);
  luaL_setfuncs(L, fns, 1);
}
