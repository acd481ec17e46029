/* nse-openssl.c: the `openssl` module of Nmap's scripting engine, as
 * nselib uses it (nselib/openssl.luadoc is the contract): digests, HMAC,
 * symmetric ciphers, random bytes, DES key expansion, and the lists of
 * supported algorithms; bignums are in nse-openssl-bn.c.
 *
 * Written on OpenSSL 3's EVP interfaces only. The module owns its library
 * context (OSSL_LIB_CTX), with the "default" provider and, when it loads,
 * the "legacy" one (MD4, DES, CAST5, Blowfish, RC4 live there): the
 * process-wide default context and openssl.cnf play no part. When the
 * legacy provider is missing, what needs it fails with a Lua error that
 * says so. Nothing is raised while an OpenSSL object is held: each
 * function does its OpenSSL work, frees, then raises or returns. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "script/nse/nse-openssl-int.h"
#include "script/nse/nse-openssl.h"

#define NSE_OPENSSL_STATE_META "trawl.nse.openssl.state"
/* rand_bytes and rand_pseudo_bytes give at most this many bytes (1 MiB) */
#define NSE_OPENSSL_RAND_MAX (1 << 20)
/* encrypt and decrypt take at most this much data (256 MiB) */
#define NSE_OPENSSL_CRYPT_MAX (1 << 28)

struct nse_openssl_state *nse_openssl_state(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

int nse_openssl_error(lua_State *L, const char *what, const char *msg) {
  char reason[256] = "";
  unsigned long e = ERR_peek_error();
  if (e) {
    const char *r = ERR_reason_error_string(e);
    if (r) snprintf(reason, sizeof reason, " (%s)", r);
    else ERR_error_string_n(e, reason, sizeof reason);
  }
  ERR_clear_error();
  return luaL_error(L, "openssl.%s: %s%s", what, msg, reason);
}

/* "no such algorithm", worded by whether the legacy provider is there */
static int nse_openssl_unknown(lua_State *L, const char *what, const char *kind,
                               const char *name) {
  const struct nse_openssl_state *st = nse_openssl_state(L);
  char msg[200];
  snprintf(msg, sizeof msg, "%s '%.80s' is not available%s", kind, name,
           st->legacy ? ""
                      : " (OpenSSL's legacy provider, home of MD4, DES, CAST5,"
                        " Blowfish and RC4, could not be loaded)");
  return nse_openssl_error(L, what, msg);
}

/* ---- digests and HMAC ---------------------------------------------------------- */

/* Digest of the string at data_idx with algorithm alg, pushed. */
static int nse_openssl_digest_push(lua_State *L, const char *what, const char *alg, int data_idx) {
  size_t len;
  const char *data = luaL_checklstring(L, data_idx, &len);
  EVP_MD *md = EVP_MD_fetch(nse_openssl_state(L)->libctx, alg, NULL);
  if (!md) return nse_openssl_unknown(L, what, "digest", alg);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int outlen = 0;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c && EVP_DigestInit_ex2(c, md, NULL) && EVP_DigestUpdate(c, data, len)
           && EVP_MD_get_size(md) > 0 && EVP_MD_get_size(md) <= EVP_MAX_MD_SIZE
           && EVP_DigestFinal_ex(c, out, &outlen);
  EVP_MD_CTX_free(c);
  EVP_MD_free(md);
  if (!ok) return nse_openssl_error(L, what, "digest failed");
  lua_pushlstring(L, (const char *)out, outlen);
  return 1;
}

static int nse_openssl_md4(lua_State *L) { return nse_openssl_digest_push(L, "md4", "MD4", 1); }
static int nse_openssl_md5(lua_State *L) { return nse_openssl_digest_push(L, "md5", "MD5", 1); }
static int nse_openssl_sha1(lua_State *L) { return nse_openssl_digest_push(L, "sha1", "SHA1", 1); }
static int nse_openssl_ripemd160(lua_State *L) {
  return nse_openssl_digest_push(L, "ripemd160", "RIPEMD160", 1);
}

static int nse_openssl_digest(lua_State *L) {
  return nse_openssl_digest_push(L, "digest", luaL_checkstring(L, 1), 2);
}

static int nse_openssl_hmac(lua_State *L) {
  const char *alg = luaL_checkstring(L, 1);
  size_t klen, len;
  const char *key = luaL_checklstring(L, 2, &klen);
  const char *data = luaL_checklstring(L, 3, &len);
  struct nse_openssl_state *st = nse_openssl_state(L);
  EVP_MD *md = EVP_MD_fetch(st->libctx, alg, NULL);
  if (!md) return nse_openssl_unknown(L, "hmac", "digest", alg);
  EVP_MD_free(md);
  EVP_MAC *mac = EVP_MAC_fetch(st->libctx, "HMAC", NULL);
  EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)alg, 0),
    OSSL_PARAM_construct_end(),
  };
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t outlen = 0;
  /* key is never NULL (a Lua string), so an empty key is a key too */
  int ok = c && EVP_MAC_init(c, (const unsigned char *)key, klen, params)
           && EVP_MAC_update(c, (const unsigned char *)data, len)
           && EVP_MAC_final(c, out, &outlen, sizeof out);
  EVP_MAC_CTX_free(c);
  EVP_MAC_free(mac);
  if (!ok) return nse_openssl_error(L, "hmac", "HMAC failed");
  lua_pushlstring(L, (const char *)out, outlen);
  return 1;
}

/* ---- ciphers ------------------------------------------------------------------- */

/* encrypt(alg, key, iv, data, padding) and decrypt(...): one whole
 * message. A missing or empty iv is all zeros; a shorter key or iv than
 * the cipher takes is refused (longer ones are cut); padding defaults to
 * false, so without it the data must fill whole blocks. Ciphers of
 * variable key length (RC4, Blowfish, CAST5) are cut to their default
 * length (16 bytes) like the others, as plain EVP use would; a shorter
 * key is taken at its own length rather than refused. */
static int nse_openssl_crypt(lua_State *L, int enc) {
  const char *what = enc ? "encrypt" : "decrypt";
  const char *alg = luaL_checkstring(L, 1);
  size_t klen, ivlen, len;
  const char *key = luaL_checklstring(L, 2, &klen);
  const char *iv = luaL_optlstring(L, 3, "", &ivlen);
  const char *data = luaL_checklstring(L, 4, &len);
  int padding = lua_toboolean(L, 5);
  if (len > NSE_OPENSSL_CRYPT_MAX) return luaL_error(L, "openssl.%s: data over 256 MiB", what);

  EVP_CIPHER *ciph = EVP_CIPHER_fetch(nse_openssl_state(L)->libctx, alg, NULL);
  if (!ciph) return nse_openssl_unknown(L, what, "cipher", alg);
  int need_key = EVP_CIPHER_get_key_length(ciph);
  int need_iv = EVP_CIPHER_get_iv_length(ciph);
  /* a provider's cipher of variable key length takes a key length
   * parameter (EVP_CIPH_VARIABLE_LENGTH is not set for them in 3.0) */
  int variable = OSSL_PARAM_locate_const(EVP_CIPHER_settable_ctx_params(ciph),
                                         OSSL_CIPHER_PARAM_KEYLEN) != NULL;
  const char *bad = NULL;
  if (need_key < 0 || need_iv < 0 || need_iv > EVP_MAX_IV_LENGTH) bad = "cipher has no usable key or IV size";
  else if (variable ? klen == 0 : klen < (size_t)need_key) bad = "key too short for the cipher";
  else if (ivlen && ivlen < (size_t)need_iv) bad = "iv too short for the cipher";
  if (bad) {
    EVP_CIPHER_free(ciph);
    return luaL_error(L, "openssl.%s: %s (key %d bytes, iv %d)", what, bad, need_key, need_iv);
  }
  static const unsigned char zeros[EVP_MAX_IV_LENGTH];
  const unsigned char *ivp = ivlen ? (const unsigned char *)iv : zeros;

  /* the output buffer before the context: a Lua memory error here leaks
   * nothing. Block ciphers add at most a block; the key-wrap modes at
   * most 15 bytes. */
  luaL_Buffer b;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, len + 2 * EVP_MAX_BLOCK_LENGTH);
  int short_key = variable && klen < (size_t)need_key;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  int n1 = 0, n2 = 0;
  int ok = c && EVP_CipherInit_ex2(c, ciph, NULL, NULL, enc, NULL)
           && (!short_key || EVP_CIPHER_CTX_set_key_length(c, (int)klen))
           && EVP_CipherInit_ex2(c, NULL, (const unsigned char *)key, ivp, enc, NULL)
           && EVP_CIPHER_CTX_set_padding(c, padding)
           && EVP_CipherUpdate(c, out, &n1, (const unsigned char *)data, (int)len)
           && EVP_CipherFinal_ex(c, out + n1, &n2);
  EVP_CIPHER_CTX_free(c);
  EVP_CIPHER_free(ciph);
  if (!ok) return nse_openssl_error(L, what, enc ? "encryption failed" : "decryption failed");
  luaL_pushresultsize(&b, (size_t)n1 + (size_t)n2);
  return 1;
}

static int nse_openssl_encrypt(lua_State *L) { return nse_openssl_crypt(L, 1); }
static int nse_openssl_decrypt(lua_State *L) { return nse_openssl_crypt(L, 0); }

/* DES_string_to_key(s): 7 bytes (56 key bits) spread over 8 bytes, 7 bits
 * each at the top, the low bit of each byte making its parity odd: the
 * expansion of LM and NTLMv1 hashes. */
static int nse_openssl_des_string_to_key(lua_State *L) {
  size_t len;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len == 7, 1, "openssl.DES_string_to_key: a 7-byte string expected");
  unsigned char k[8];
  for (int i = 0; i < 8; i++) {
    /* bits 7i .. 7i+6 of the 56-bit big-endian string */
    int bit = 7 * i, byte = bit / 8, shift = bit % 8;
    unsigned v = (unsigned)s[byte] << 8 | (byte + 1 < 7 ? s[byte + 1] : 0);
    unsigned char seven = (unsigned char)((v >> (9 - shift)) & 0x7f);
    unsigned char kb = (unsigned char)(seven << 1);
    int ones = __builtin_popcount(kb);
    k[i] = (unsigned char)(kb | ((ones & 1) ? 0 : 1));
  }
  lua_pushlstring(L, (const char *)k, sizeof k);
  return 1;
}

/* ---- random bytes ------------------------------------------------------------------ */

static int nse_openssl_rand_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= NSE_OPENSSL_RAND_MAX, 1, "openssl.rand_bytes: 0 to 1 MiB");
  luaL_Buffer b;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, (size_t)n);
  if (n > 0 && RAND_bytes_ex(nse_openssl_state(L)->libctx, out, (size_t)n, 0) != 1)
    return nse_openssl_error(L, "rand_bytes", "the random generator failed");
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}

/* ---- supported_ciphers, supported_digests ---------------------------------------- */

/* Names are gathered in C (no Lua allocation inside OpenSSL's walk, which
 * holds locks), then sorted, deduplicated and pushed. */
struct nse_openssl_names {
  char **v;
  size_t n, cap;
  int oom;
};

static void nse_openssl_names_add(const char *name, void *arg) {
  struct nse_openssl_names *ns = arg;
  if (ns->oom) return;
  if (ns->n == ns->cap) {
    size_t cap = ns->cap ? ns->cap * 2 : 64;
    char **v = realloc(ns->v, cap * sizeof *v);
    if (!v) { ns->oom = 1; return; }
    ns->v = v;
    ns->cap = cap;
  }
  char *dup = strdup(name);
  if (!dup) { ns->oom = 1; return; }
  ns->v[ns->n++] = dup;
}

static void nse_openssl_names_cipher(EVP_CIPHER *c, void *arg) {
  EVP_CIPHER_names_do_all(c, nse_openssl_names_add, arg);
}

static void nse_openssl_names_md(EVP_MD *md, void *arg) {
  EVP_MD_names_do_all(md, nse_openssl_names_add, arg);
}

static int nse_openssl_names_cmp(const void *a, const void *b) {
  return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* protected: the sorted names (lightuserdata 1), deduplicated, as an array */
static int nse_openssl_names_table(lua_State *L) {
  const struct nse_openssl_names *ns = lua_touserdata(L, 1);
  lua_createtable(L, (int)ns->n, 0);
  lua_Integer k = 0;
  for (size_t i = 0; i < ns->n; i++) {
    if (i && strcasecmp(ns->v[i], ns->v[i - 1]) == 0) continue;
    lua_pushstring(L, ns->v[i]);
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

static int nse_openssl_names_push(lua_State *L, int ciphers) {
  struct nse_openssl_names ns = { 0 };
  OSSL_LIB_CTX *lc = nse_openssl_state(L)->libctx;
  if (ciphers) EVP_CIPHER_do_all_provided(lc, nse_openssl_names_cipher, &ns);
  else EVP_MD_do_all_provided(lc, nse_openssl_names_md, &ns);
  if (ns.n) qsort(ns.v, ns.n, sizeof *ns.v, nse_openssl_names_cmp);
  /* the strings go into a Lua table in a protected call, so that a
   * memory error there still frees them */
  int rc = LUA_ERRMEM;
  if (!ns.oom) {
    lua_pushcfunction(L, nse_openssl_names_table);
    lua_pushlightuserdata(L, &ns);
    rc = lua_pcall(L, 1, 1, 0);
  }
  for (size_t i = 0; i < ns.n; i++) free(ns.v[i]);
  free(ns.v);
  if (ns.oom) return luaL_error(L, "openssl: out of memory listing algorithms");
  if (rc != LUA_OK) return lua_error(L);
  return 1;
}

static int nse_openssl_supported_ciphers(lua_State *L) { return nse_openssl_names_push(L, 1); }
static int nse_openssl_supported_digests(lua_State *L) { return nse_openssl_names_push(L, 0); }

/* ---- the module ------------------------------------------------------------------ */

static int nse_openssl_state_gc(lua_State *L) {
  struct nse_openssl_state *st = luaL_checkudata(L, 1, NSE_OPENSSL_STATE_META);
  if (st->legacy) OSSL_PROVIDER_unload(st->legacy);
  if (st->deflt) OSSL_PROVIDER_unload(st->deflt);
  OSSL_LIB_CTX_free(st->libctx);
  memset(st, 0, sizeof *st);
  return 0;
}

static const luaL_Reg nse_openssl_funcs[] = {
  { "md4", nse_openssl_md4 },
  { "md5", nse_openssl_md5 },
  { "sha1", nse_openssl_sha1 },
  { "ripemd160", nse_openssl_ripemd160 },
  { "digest", nse_openssl_digest },
  { "hmac", nse_openssl_hmac },
  { "encrypt", nse_openssl_encrypt },
  { "decrypt", nse_openssl_decrypt },
  { "DES_string_to_key", nse_openssl_des_string_to_key },
  { "rand_bytes", nse_openssl_rand_bytes },
  /* OpenSSL 3 has no weaker generator to offer: the same bytes */
  { "rand_pseudo_bytes", nse_openssl_rand_bytes },
  { "supported_ciphers", nse_openssl_supported_ciphers },
  { "supported_digests", nse_openssl_supported_digests },
  { NULL, NULL },
};

/* require "openssl": the state, its library context and providers, then
 * the module table with the state as every function's upvalue. */
static int nse_openssl_load(lua_State *L) {
  struct nse_openssl_state *st = lua_newuserdatauv(L, sizeof *st, 0);
  memset(st, 0, sizeof *st);
  if (luaL_newmetatable(L, NSE_OPENSSL_STATE_META)) {
    lua_pushcfunction(L, nse_openssl_state_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  st->libctx = OSSL_LIB_CTX_new();
  if (!st->libctx) return nse_openssl_error(L, "require", "cannot make a library context");
  st->deflt = OSSL_PROVIDER_load(st->libctx, "default");
  if (!st->deflt) return nse_openssl_error(L, "require", "cannot load the default provider");
  st->legacy = OSSL_PROVIDER_load(st->libctx, "legacy");
  ERR_clear_error(); /* a missing legacy provider is reported where it is needed */

  lua_createtable(L, 0, 48);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, nse_openssl_funcs, 1);
  lua_pushvalue(L, -2);
  lua_insert(L, -2); /* state, module: what nse_openssl_bn_open takes */
  nse_openssl_bn_open(L);
  return 1;
}

void nse_openssl_open(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, nse_openssl_load);
  lua_setfield(L, -2, "openssl");
  lua_pop(L, 1);
}
