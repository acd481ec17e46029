/* script-trees.c: the host and port tables given to rules and actions,
 * with the fields of Nmap NSE's host and port tables (docs/scripting.md):
 * host.ip, bin_ip, name, targetname, mac, distance, interface, srcip,
 * times, registry...; port.number, protocol, state, service, version
 * (with -sV: product, version, extrainfo, hostname, ostype, devicetype,
 * cpe, service_tunnel, service_fp, name_confidence, as in NSE); and
 * port.synack (script-p0f.c), the SYN+ACK of an open port with its p0f label;
 * host.os_per_port, --osscan-per-port's groups (os/os-perport.h): an array
 * of {ports = {22, ...}, os, accuracy, distance, stack, differs = {...}}
 * with the text as its field "output".
 * A host's table is made once per phase and shared by every rule and
 * run of that host (so host.registry is shared, as in NSE). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trawl/route.h>

#include "core/os-result.h"
#include "script/script-int.h"

static void trees_setfs(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}
static void trees_setfi(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* A result tree as Lua tables: elements by key (or appended), numbers
 * as integers when they are numbers. depth bounds hostile trees. */
static void trees_push_node(lua_State *L, const struct script_node *t, int depth) {
  lua_createtable(L, 0, (int)t->nchild);
  lua_Integer next = 1;
  for (size_t i = 0; i < t->nchild && depth < 8; i++) {
    const struct script_node *c = &t->child[i];
    if (c->kind == SNODE_TABLE) {
      trees_push_node(L, c, depth + 1);
    } else {
      char *end;
      long long v = strtoll(c->value ? c->value : "", &end, 10);
      if (c->value && c->value[0] && !*end) lua_pushinteger(L, v);
      else lua_pushstring(L, c->value ? c->value : "");
    }
    if (c->key) lua_setfield(L, -2, c->key);
    else lua_rawseti(L, -2, next++);
  }
}

/* k = us microseconds, as seconds (a float) */
static void trees_setfsec(lua_State *L, const char *k, long long us) {
  lua_pushnumber(L, (lua_Number)us / 1e6);
  lua_setfield(L, -2, k);
}

/* host.os as NSE gives it after -O: an array of matches, each {name,
 * classes = {{vendor, osfamily, osgen, type, cpe = {...}}, ...}} */
static void trees_push_os(lua_State *L, const struct os_result *os) {
  lua_createtable(L, (int)os->nmatches, 0);
  for (size_t i = 0; i < os->nmatches; i++) {
    const struct os_match_item *m = &os->matches[i];
    lua_createtable(L, 0, 2);
    trees_setfs(L, "name", m->name ? m->name : "");
    lua_createtable(L, (int)m->nclasses, 0);
    for (size_t k = 0; k < m->nclasses; k++) {
      const struct os_class_result *c = &m->classes[k];
      lua_createtable(L, 0, 5);
      if (c->vendor) trees_setfs(L, "vendor", c->vendor);
      if (c->family) trees_setfs(L, "osfamily", c->family);
      if (c->gen) trees_setfs(L, "osgen", c->gen);
      if (c->type) trees_setfs(L, "type", c->type);
      lua_createtable(L, (int)c->ncpe, 0);
      for (size_t j = 0; j < c->ncpe; j++) {
        lua_pushstring(L, c->cpe[j]);
        lua_rawseti(L, -2, (lua_Integer)j + 1);
      }
      lua_setfield(L, -2, "cpe");
      lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    lua_setfield(L, -2, "classes");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

void trees_push_host(lua_State *L, struct shost *h) {
  if (h->table_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->table_ref);
    return;
  }
  struct host_result *r = h->res;
  char a[INET6_ADDRSTRLEN];
  lua_createtable(L, 0, 16);
  trees_setfs(L, "ip", tgt_addr_str(&r->addr, a, sizeof a));
  lua_pushlstring(L, (const char *)&r->addr.u, r->addr.family == AF_INET6 ? 16 : 4);
  lua_setfield(L, -2, "bin_ip");
  trees_setfs(L, "family", r->addr.family == AF_INET6 ? "inet6" : "inet");
  const char *user = NULL, *ptr = NULL;
  for (size_t i = 0; i < r->nnames; i++) {
    if (r->names[i].type == HOSTNAME_USER && !user) user = r->names[i].name;
    if (r->names[i].type == HOSTNAME_PTR && !ptr) ptr = r->names[i].name;
  }
  trees_setfs(L, "name", ptr ? ptr : (user ? user : ""));
  if (user) trees_setfs(L, "targetname", user);
  if (r->has_mac) {
    char m[32];
    snprintf(m, sizeof m, "%02x:%02x:%02x:%02x:%02x:%02x", r->mac[0], r->mac[1], r->mac[2],
             r->mac[3], r->mac[4], r->mac[5]);
    trees_setfs(L, "mac", m);
    lua_pushlstring(L, (const char *)r->mac, 6);
    lua_setfield(L, -2, "mac_addr");
  }
  if (r->distance >= 0) {
    trees_setfi(L, "distance", r->distance);
    lua_pushboolean(L, r->distance == 0);
    lua_setfield(L, -2, "directly_connected");
  } else if (r->has_mac) {
    /* no distance measured (-sn), but a MAC learnt: on the link */
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "directly_connected");
  }
  if (h->ifname[0]) {
    trees_setfs(L, "interface", h->ifname);
    /* the scanner's own MAC on that interface (NSE's mac_addr_src) */
    tw_iface ifc;
    if (tw_iface_get(h->ifname, 0, &ifc) == 0 && ifc.has_mac) {
      lua_pushlstring(L, (const char *)ifc.mac, 6);
      lua_setfield(L, -2, "mac_addr_src");
    }
  }
  if (h->src.family) {
    trees_setfs(L, "srcip", tw_pkt_addr_str(&h->src, a, sizeof a));
    lua_pushlstring(L, (const char *)h->src.b, h->src.family == AF_INET6 ? 16 : 4);
    lua_setfield(L, -2, "bin_ip_src");
  }
  if (r->reason) trees_setfs(L, "reason", r->reason);
  if (r->os && r->os->nmatches && r->os->verdict != OS_RES_TOO_MANY) {
    trees_push_os(L, r->os);
    lua_setfield(L, -2, "os");
  }
  for (size_t i = 0; i < r->nhostscripts; i++)
    if (strcmp(r->hostscripts[i].id, "os-per-port") == 0) {
      trees_push_node(L, &r->hostscripts[i].tree, 0);
      trees_setfs(L, "output", r->hostscripts[i].output ? r->hostscripts[i].output : "");
      lua_setfield(L, -2, "os_per_port");
      break;
    }
  /* in seconds, as NSE gives them (stdnse.get_timeout, datetime's clock
   * skew read them so) */
  lua_createtable(L, 0, 3);
  if (r->srtt_us >= 0) trees_setfsec(L, "srtt", r->srtt_us);
  if (r->rttvar_us >= 0) trees_setfsec(L, "rttvar", r->rttvar_us);
  if (r->timeout_us >= 0) trees_setfsec(L, "timeout", r->timeout_us);
  lua_setfield(L, -2, "times");
  lua_newtable(L);
  lua_setfield(L, -2, "registry");
  lua_pushvalue(L, -1);
  h->table_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

void trees_push_port(lua_State *L, struct script_engine *e, const struct port_result *p) {
  lua_createtable(L, 0, 8);
  trees_setfi(L, "number", p->portid);
  trees_setfs(L, "protocol", proto_name(p->proto));
  trees_setfs(L, "state", port_state_name(p->state));
  if (p->reason) trees_setfs(L, "reason", p->reason);
  if (p->service) trees_setfs(L, "service", p->service);
  /* port.version, with NSE's field names: what -sV found (name_confidence
   * 10 when a probe matched, 3 for the port table's guess) */
  const struct port_version *v = p->version;
  lua_createtable(L, 0, 12);
  if (p->service) trees_setfs(L, "name", p->service);
  trees_setfi(L, "name_confidence", v && v->conf ? v->conf : v && v->probed ? 10 : 3);
  trees_setfs(L, "service_dtype", v && v->probed ? "probed" : "table");
  trees_setfs(L, "service_tunnel", v && v->ssl ? "ssl" : "none");
  if (v) {
    const char *k[] = {"product", "version", "extrainfo", "hostname", "ostype", "devicetype",
                       "service_fp"};
    const char *val[] = {v->product, v->version,    v->extrainfo, v->hostname,
                         v->ostype,  v->devicetype, v->fingerprint};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
      if (val[i]) trees_setfs(L, k[i], val[i]);
    lua_createtable(L, (int)v->ncpe, 0);
    for (size_t i = 0; i < v->ncpe; i++) {
      lua_pushstring(L, v->cpe[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "cpe");
  }
  lua_setfield(L, -2, "version");
  if (p->synack) { /* the SYN scan's SYN+ACK, labelled as p0f does */
    script_p0f_push_synack(L, e, p->synack);
    lua_setfield(L, -2, "synack");
  }
}
