/* nse-openssl-int.h: what the two files of the `openssl` module share:
 * nse-openssl.c (the module, its library context, digests, HMAC,
 * ciphers, random bytes) and nse-openssl-bn.c (bignums). */
#ifndef TRAWL_NSE_OPENSSL_INT_H
#define TRAWL_NSE_OPENSSL_INT_H

#include <openssl/crypto.h>
#include <openssl/provider.h>
#include <lua.h>

/* The module's state, a userdata that every function of the module holds
 * as its upvalue 1; its __gc unloads the providers and frees the context. */
struct nse_openssl_state {
  OSSL_LIB_CTX *libctx;
  OSSL_PROVIDER *deflt;
  OSSL_PROVIDER *legacy; /* NULL when the legacy provider could not be loaded */
};

/* Bounds on bignums (refused with a Lua error beyond them): any bignum
 * read from a string or made at random has at most NSE_OPENSSL_BN_MAX_BITS
 * (a TLS DH prime's 2-byte length field fits). Costs grow with the cube
 * of the size: a modular exponentiation takes a modulus and exponent of
 * at most NSE_OPENSSL_BN_EXP_BITS (twice the largest DH group in use,
 * about 1 s), a primality test a number of at most
 * NSE_OPENSSL_BN_PRIME_BITS (the largest DH group; OpenSSL's 128
 * Miller-Rabin rounds take about 2 s on a 4096-bit prime, so some 15 s
 * at 8192 bits, and four minutes at 16384). */
#define NSE_OPENSSL_BN_MAX_BITS (1 << 19)
#define NSE_OPENSSL_BN_EXP_BITS 16384
#define NSE_OPENSSL_BN_PRIME_BITS 8192

/* The state (upvalue 1 of the running C function). */
struct nse_openssl_state *nse_openssl_state(lua_State *L);
/* Raises a Lua error "openssl.WHAT: MSG", with OpenSSL's first queued
 * reason appended when there is one; clears OpenSSL's error queue. */
int nse_openssl_error(lua_State *L, const char *what, const char *msg);
/* Adds the bignum_* functions to the module table on top of L (the state
 * userdata just below it) and makes the bignum metatable. */
void nse_openssl_bn_open(lua_State *L);

#endif
