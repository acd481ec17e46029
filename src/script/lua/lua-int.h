/* lua-int.h: what the Lua bindings of the script engine share (the files
 * of src/script/lua/: lua-trawl.c the `trawl` module and its small
 * functions, lua-socket.c sockets, lua-dns.c names and addresses,
 * lua-sync.c mutexes, condition variables and helper threads, lua-tls.c
 * TLS, lua-packet.c raw packets, lua-version.c trawl.set_port_version),
 * and how the engine registers them. Engine internals (threads,
 * suspending, resources) are in script/script-int.h. */
#ifndef TRAWL_LUA_INT_H
#define TRAWL_LUA_INT_H

#include "script/script-int.h"

/* ---- registering the modules (once per Lua state) --------------------------- */

void lua_trawl_open(struct script_engine *e, lua_State *L);   /* lua-trawl.c: the module */
void lua_tls_open(struct script_engine *e, lua_State *L);     /* lua-tls.c */
void lua_tls_close(struct script_engine *e);
void lua_packet_open(struct script_engine *e, lua_State *L);  /* lua-packet.c */
void lua_packet_close(struct script_engine *e);
/* Called by lua_trawl_open with the module table on top of L: each adds
 * its functions (with e as their upvalue) and metatables. */
void lua_socket_open(struct script_engine *e, lua_State *L);  /* lua-socket.c */
void lua_dns_open(struct script_engine *e, lua_State *L);     /* lua-dns.c */
void lua_sync_open(struct script_engine *e, lua_State *L);    /* lua-sync.c */
void lua_version_open(struct script_engine *e, lua_State *L); /* lua-version.c */

/* ---- sockets (lua-socket.c) ------------------------------------------------------ */

/* A script socket buffers at most this many received bytes (4 MiB): a
 * receive that needs more (a delimiter, a line, or n bytes, that have not
 * come within the bound) ends with nil, "receive buffer full", the bytes
 * staying buffered; receive_bytes(n) for n above the bound returns the
 * bound's worth. Twice what lualib's http reads at once. */
#define LSOCK_RBUF_MAX (4u << 20)

/* ---- helpers shared by the bindings ------------------------------------------- */

/* A metatable `name` with __index = methods, and __gc/__close, __call,
 * __tostring when given (lua-trawl.c). */
void lt_meta(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc,
             lua_CFunction call, lua_CFunction tostr);
/* A host argument: a host table (its ip), an address or a name. */
const char *lt_hostarg(lua_State *L, int idx);
/* The engine's resolver, made on first use (lua-dns.c); NULL if it
 * cannot be. */
tw_resolver *ldns_resolver(struct script_engine *e);

/* the trawl.lua part of the module, embedded at build time */
extern const char lua_trawl_lua[];
extern const size_t lua_trawl_lua_len;

/* The port of h that the Lua port table at idx ({number, protocol}) names,
 * or NULL (lua-version.c). */
struct port_result *lv_find_port(lua_State *L, struct host_result *h, int idx);

/* ---- TLS over a socket (lua-tls.c) ---------------------------------------------- */

/* TLS with memory BIOs: the socket code moves the bytes between the TLS
 * object and the TCP stream. The engine's TLS context is made on first
 * use and freed by lua_tls_close. */
struct tls_conn; /* core/tls.h: the connection's other operations */
struct tls_conn *ltls_new(struct script_engine *e, const char *sni, char *err, size_t errlen);
/* Push the peer certificate as a table (see docs/scripting.md), or nil
 * and a message; returns the number of values pushed. */
int ltls_push_cert(lua_State *L, struct tls_conn *s);

#endif
