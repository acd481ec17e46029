/* nse-openssl.h: the `openssl` Lua module that Nmap's nselib requires
 * (digests, HMAC, ciphers, random bytes, bignums), written for trawl on
 * OpenSSL 3's EVP and BN interfaces. The NSE loader calls
 * nse_openssl_open once per Lua state; `require "openssl"` then builds
 * the module (docs/nse.md, section "openssl", lists its functions). */
#ifndef TRAWL_NSE_OPENSSL_H
#define TRAWL_NSE_OPENSSL_H

#include <lua.h>

/* Registers package.preload["openssl"]. Nothing of OpenSSL is touched
 * until a script requires the module: the loader makes the module's own
 * library context (providers "default" and, when it can be loaded,
 * "legacy"), freed when the Lua state closes. Needs no other library of
 * the state; the package library, opened before or after, finds the
 * loader. */
void nse_openssl_open(lua_State *L);

#endif
