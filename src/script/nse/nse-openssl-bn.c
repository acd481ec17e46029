/* nse-openssl-bn.c: the bignums of the `openssl` module (bignum_* and the
 * bignum object's methods), on OpenSSL 3's BN interface.
 *
 * A bignum is a userdata holding a BIGNUM (freed by __gc). Each function
 * makes its result userdata before any OpenSSL work, so a Lua error never
 * leaks a BIGNUM, and raises only after the work's temporaries are freed.
 * Sizes are bounded (nse-openssl-int.h): reading a string, drawing a
 * random number or setting a bit past NSE_OPENSSL_BN_MAX_BITS, a modular
 * exponentiation past NSE_OPENSSL_BN_EXP_BITS or a primality test past
 * NSE_OPENSSL_BN_PRIME_BITS is a Lua error, never an allocation of gigabytes or a minutes-long
 * computation. Methods: bn:tobin(), bn:tohex(), bn:todec() and the
 * bignum_* functions without their prefix (bn:num_bits(), ...);
 * tostring(bn) is its decimal form. */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <string.h>

#include <lauxlib.h>

#include "script/nse/nse-openssl-int.h"

#define NSE_OPENSSL_BN_META "trawl.nse.openssl.bignum"

struct nse_openssl_bn {
  BIGNUM *bn;
};

static BIGNUM *nse_openssl_bn_check(lua_State *L, int idx) {
  struct nse_openssl_bn *u = luaL_checkudata(L, idx, NSE_OPENSSL_BN_META);
  if (!u->bn) luaL_argerror(L, idx, "freed bignum");
  return u->bn;
}

/* Pushes a new bignum (zero) and returns its BIGNUM. */
static BIGNUM *nse_openssl_bn_push(lua_State *L) {
  struct nse_openssl_bn *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->bn = NULL;
  luaL_setmetatable(L, NSE_OPENSSL_BN_META);
  u->bn = BN_new();
  if (!u->bn) luaL_error(L, "openssl: out of memory for a bignum");
  return u->bn;
}

static int nse_openssl_bn_gc(lua_State *L) {
  struct nse_openssl_bn *u = luaL_checkudata(L, 1, NSE_OPENSSL_BN_META);
  BN_clear_free(u->bn);
  u->bn = NULL;
  return 0;
}

/* A BN_CTX bound to the module's library context (its random generator
 * serves the primality tests), or a Lua error. */
static BN_CTX *nse_openssl_bn_ctx(lua_State *L, const char *what) {
  BN_CTX *c = BN_CTX_new_ex(nse_openssl_state(L)->libctx);
  if (!c) nse_openssl_error(L, what, "out of memory");
  return c;
}

/* ---- from and to strings ---------------------------------------------------------- */

static int nse_openssl_bn_bin2bn(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (len > NSE_OPENSSL_BN_MAX_BITS / 8)
    return luaL_error(L, "openssl.bignum_bin2bn: over %d bytes", NSE_OPENSSL_BN_MAX_BITS / 8);
  BIGNUM *r = nse_openssl_bn_push(L);
  if (!BN_bin2bn((const unsigned char *)s, (int)len, r))
    return nse_openssl_error(L, "bignum_bin2bn", "conversion failed");
  return 1;
}

/* hex2bn and dec2bn take the whole string or nothing: an optional '-'
 * then 1 to maxdigits digits of the base, no spaces, no prefix. */
static int nse_openssl_bn_text2bn(lua_State *L, int hex) {
  const char *what = hex ? "bignum_hex2bn" : "bignum_dec2bn";
  /* digits that make NSE_OPENSSL_BN_MAX_BITS: 4 bits a hex digit, log2(10) a decimal one */
  size_t maxdigits = hex ? NSE_OPENSSL_BN_MAX_BITS / 4 : (size_t)NSE_OPENSSL_BN_MAX_BITS * 30103 / 100000;
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  size_t i = (len > 0 && s[0] == '-') ? 1 : 0;
  if (len == i) return luaL_error(L, "openssl.%s: no digits", what);
  if (len - i > maxdigits) return luaL_error(L, "openssl.%s: over %d digits", what, (int)maxdigits);
  for (size_t j = i; j < len; j++) {
    unsigned char ch = (unsigned char)s[j];
    int ok = hex ? ((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f'))
                 : (ch >= '0' && ch <= '9');
    if (!ok) return luaL_error(L, "openssl.%s: not a %s digit at %d", what, hex ? "hex" : "decimal", (int)j + 1);
  }
  BIGNUM *r = nse_openssl_bn_push(L);
  int n = hex ? BN_hex2bn(&r, s) : BN_dec2bn(&r, s);
  if ((size_t)n != len) return nse_openssl_error(L, what, "conversion failed");
  return 1;
}

static int nse_openssl_bn_hex2bn(lua_State *L) { return nse_openssl_bn_text2bn(L, 1); }
static int nse_openssl_bn_dec2bn(lua_State *L) { return nse_openssl_bn_text2bn(L, 0); }

/* big-endian magnitude, no sign; zero is "" */
static int nse_openssl_bn_bn2bin(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  size_t n = (size_t)BN_num_bytes(a);
  luaL_Buffer b;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, n);
  BN_bn2bin(a, out);
  luaL_pushresultsize(&b, n);
  return 1;
}

/* upper-case hex in whole bytes ("0A" for ten), "0" for zero, '-' when
 * negative: what OpenSSL's BN_bn2hex writes, built here from the bytes
 * so that no OpenSSL string is held while Lua allocates */
static int nse_openssl_bn_bn2hex(lua_State *L) {
  static const char digits[] = "0123456789ABCDEF";
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  if (BN_is_zero(a)) {
    lua_pushliteral(L, "0");
    return 1;
  }
  size_t n = (size_t)BN_num_bytes(a);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, 3 * n + 1);
  unsigned char *raw = (unsigned char *)out + 2 * n + 1; /* the bytes, behind the text */
  BN_bn2bin(a, raw);
  size_t k = 0;
  if (BN_is_negative(a)) out[k++] = '-';
  for (size_t i = 0; i < n; i++) {
    unsigned char v = raw[i];
    out[k++] = digits[v >> 4];
    out[k++] = digits[v & 15];
  }
  luaL_pushresultsize(&b, k);
  return 1;
}

static int nse_openssl_bn_bn2dec(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  /* at most bits * log10(2) + 1 digits, a sign and BN_bn2dec's NUL */
  size_t cap = (size_t)BN_num_bits(a) * 30103 / 100000 + 4;
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, cap);
  char *s = BN_bn2dec(a);
  size_t n = s ? strlen(s) : 0;
  int fits = s && n < cap;
  if (fits) memcpy(out, s, n);
  OPENSSL_free(s);
  if (!fits) return nse_openssl_error(L, "bignum_bn2dec", "conversion failed");
  luaL_pushresultsize(&b, n);
  return 1;
}

/* ---- random bignums ------------------------------------------------------------- */

static int nse_openssl_bn_rand(lua_State *L) {
  lua_Integer bits = luaL_checkinteger(L, 1);
  if (bits < 0 || bits > NSE_OPENSSL_BN_MAX_BITS)
    return luaL_error(L, "openssl.bignum_rand: bits must be 0 to %d", NSE_OPENSSL_BN_MAX_BITS);
  BIGNUM *r = nse_openssl_bn_push(L);
  BN_CTX *c = nse_openssl_bn_ctx(L, "bignum_rand");
  int ok = BN_rand_ex(r, (int)bits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY, 0, c);
  BN_CTX_free(c);
  if (!ok) return nse_openssl_error(L, "bignum_rand", "the random generator failed");
  return 1;
}

/* ---- arithmetic ------------------------------------------------------------------ */

static int nse_openssl_bn_mod_exp(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  const BIGNUM *p = nse_openssl_bn_check(L, 2);
  const BIGNUM *m = nse_openssl_bn_check(L, 3);
  if (BN_num_bits(m) > NSE_OPENSSL_BN_EXP_BITS || BN_num_bits(p) > NSE_OPENSSL_BN_EXP_BITS)
    return luaL_error(L, "openssl.bignum_mod_exp: exponent or modulus over %d bits",
                      NSE_OPENSSL_BN_EXP_BITS);
  if (BN_is_zero(m)) return luaL_error(L, "openssl.bignum_mod_exp: modulus is zero");
  BIGNUM *r = nse_openssl_bn_push(L);
  BN_CTX *c = nse_openssl_bn_ctx(L, "bignum_mod_exp");
  int ok = BN_mod_exp(r, a, p, m, c);
  BN_CTX_free(c);
  if (!ok) return nse_openssl_error(L, "bignum_mod_exp", "failed");
  return 1;
}

static int nse_openssl_bn_add(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  const BIGNUM *b = nse_openssl_bn_check(L, 2);
  BIGNUM *r = nse_openssl_bn_push(L);
  if (!BN_add(r, a, b)) return nse_openssl_error(L, "bignum_add", "failed");
  return 1;
}

/* quotient and remainder, truncated towards zero (the remainder takes
 * the dividend's sign) */
static int nse_openssl_bn_div(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  const BIGNUM *d = nse_openssl_bn_check(L, 2);
  if (BN_is_zero(d)) return luaL_error(L, "openssl.bignum_div: division by zero");
  BIGNUM *q = nse_openssl_bn_push(L);
  BIGNUM *rem = nse_openssl_bn_push(L);
  BN_CTX *c = nse_openssl_bn_ctx(L, "bignum_div");
  int ok = BN_div(q, rem, a, d, c);
  BN_CTX_free(c);
  if (!ok) return nse_openssl_error(L, "bignum_div", "failed");
  return 2;
}

/* ---- sizes, bits, sign -------------------------------------------------------------- */

static int nse_openssl_bn_num_bits(lua_State *L) {
  lua_pushinteger(L, BN_num_bits(nse_openssl_bn_check(L, 1)));
  return 1;
}

static int nse_openssl_bn_num_bytes(lua_State *L) {
  lua_pushinteger(L, BN_num_bytes(nse_openssl_bn_check(L, 1)));
  return 1;
}

/* a bit position argument for set_bit and clear_bit, 0 to the bound */
static int nse_openssl_bn_pos(lua_State *L, int idx) {
  lua_Integer n = luaL_checkinteger(L, idx);
  luaL_argcheck(L, n >= 0 && n < NSE_OPENSSL_BN_MAX_BITS, idx, "bit position out of range");
  return (int)n;
}

static int nse_openssl_bn_set_bit(lua_State *L) {
  BIGNUM *a = nse_openssl_bn_check(L, 1);
  if (!BN_set_bit(a, nse_openssl_bn_pos(L, 2))) return nse_openssl_error(L, "bignum_set_bit", "failed");
  return 0;
}

static int nse_openssl_bn_clear_bit(lua_State *L) {
  BIGNUM *a = nse_openssl_bn_check(L, 1);
  int n = nse_openssl_bn_pos(L, 2);
  /* a bit above the top is clear already (BN_clear_bit calls that an error) */
  if (n < BN_num_bits(a) && !BN_clear_bit(a, n))
    return nse_openssl_error(L, "bignum_clear_bit", "failed");
  return 0;
}

static int nse_openssl_bn_is_bit_set(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  lua_pushboolean(L, n >= 0 && n < BN_num_bits(a) && BN_is_bit_set(a, (int)n));
  return 1;
}

static int nse_openssl_bn_set_negative(lua_State *L) {
  BIGNUM *a = nse_openssl_bn_check(L, 1);
  BN_set_negative(a, lua_toboolean(L, 2));
  return 0;
}

static int nse_openssl_bn_is_negative(lua_State *L) {
  lua_pushboolean(L, BN_is_negative(nse_openssl_bn_check(L, 1)));
  return 1;
}

/* ---- primes ---------------------------------------------------------------------- */

/* 1 probably prime, 0 composite, -1 failed; OpenSSL picks the number of
 * Miller-Rabin rounds for a false positive rate under 2^-128 */
static int nse_openssl_bn_prime(const BIGNUM *a, BN_CTX *c) {
  return BN_check_prime(a, c, NULL);
}

static const BIGNUM *nse_openssl_bn_check_prime(lua_State *L, const char *what) {
  const BIGNUM *a = nse_openssl_bn_check(L, 1);
  if (BN_num_bits(a) > NSE_OPENSSL_BN_PRIME_BITS)
    luaL_error(L, "openssl.%s: over %d bits", what, NSE_OPENSSL_BN_PRIME_BITS);
  return a;
}

static int nse_openssl_bn_is_prime(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check_prime(L, "bignum_is_prime");
  BN_CTX *c = nse_openssl_bn_ctx(L, "bignum_is_prime");
  int r = nse_openssl_bn_prime(a, c);
  BN_CTX_free(c);
  if (r < 0) return nse_openssl_error(L, "bignum_is_prime", "test failed");
  lua_pushboolean(L, r);
  return 1;
}

/* is_safe_prime(p): whether p and (p-1)/2 are both prime, and whether p is */
static int nse_openssl_bn_is_safe_prime(lua_State *L) {
  const BIGNUM *a = nse_openssl_bn_check_prime(L, "bignum_is_safe_prime");
  BIGNUM *q = nse_openssl_bn_push(L); /* (p-1)/2, a userdata so that it is freed */
  BN_CTX *c = nse_openssl_bn_ctx(L, "bignum_is_safe_prime");
  int prime = nse_openssl_bn_prime(a, c), safe = 0;
  if (prime == 1) {
    /* p is odd or 2; for odd p, (p-1)/2 is p shifted right once */
    safe = BN_rshift1(q, a) ? nse_openssl_bn_prime(q, c) : -1;
  }
  BN_CTX_free(c);
  if (prime < 0 || safe < 0) return nse_openssl_error(L, "bignum_is_safe_prime", "test failed");
  lua_pushboolean(L, safe == 1);
  lua_pushboolean(L, prime == 1);
  return 2;
}

/* ---- registering ------------------------------------------------------------------ */

/* the module's functions; the same without "bignum_" are methods */
static const luaL_Reg nse_openssl_bn_funcs[] = {
  { "bignum_bin2bn", nse_openssl_bn_bin2bn },
  { "bignum_hex2bn", nse_openssl_bn_hex2bn },
  { "bignum_dec2bn", nse_openssl_bn_dec2bn },
  { "bignum_bn2bin", nse_openssl_bn_bn2bin },
  { "bignum_bn2hex", nse_openssl_bn_bn2hex },
  { "bignum_bn2dec", nse_openssl_bn_bn2dec },
  { "bignum_rand", nse_openssl_bn_rand },
  /* OpenSSL 3 makes both from the same generator */
  { "bignum_pseudo_rand", nse_openssl_bn_rand },
  { "bignum_mod_exp", nse_openssl_bn_mod_exp },
  { "bignum_add", nse_openssl_bn_add },
  { "bignum_div", nse_openssl_bn_div },
  { "bignum_num_bits", nse_openssl_bn_num_bits },
  { "bignum_num_bytes", nse_openssl_bn_num_bytes },
  { "bignum_set_bit", nse_openssl_bn_set_bit },
  { "bignum_clear_bit", nse_openssl_bn_clear_bit },
  { "bignum_is_bit_set", nse_openssl_bn_is_bit_set },
  { "bignum_set_negative", nse_openssl_bn_set_negative },
  { "bignum_is_negative", nse_openssl_bn_is_negative },
  { "bignum_is_prime", nse_openssl_bn_is_prime },
  { "bignum_is_safe_prime", nse_openssl_bn_is_safe_prime },
  { NULL, NULL },
};

static const luaL_Reg nse_openssl_bn_methods[] = {
  { "tobin", nse_openssl_bn_bn2bin },
  { "tohex", nse_openssl_bn_bn2hex },
  { "todec", nse_openssl_bn_bn2dec },
  { "mod_exp", nse_openssl_bn_mod_exp },
  { "add", nse_openssl_bn_add },
  { "div", nse_openssl_bn_div },
  { "num_bits", nse_openssl_bn_num_bits },
  { "num_bytes", nse_openssl_bn_num_bytes },
  { "set_bit", nse_openssl_bn_set_bit },
  { "clear_bit", nse_openssl_bn_clear_bit },
  { "is_bit_set", nse_openssl_bn_is_bit_set },
  { "set_negative", nse_openssl_bn_set_negative },
  { "is_negative", nse_openssl_bn_is_negative },
  { "is_prime", nse_openssl_bn_is_prime },
  { "is_safe_prime", nse_openssl_bn_is_safe_prime },
  { NULL, NULL },
};

void nse_openssl_bn_open(lua_State *L) {
  /* L: state, module */
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, nse_openssl_bn_funcs, 1);
  if (luaL_newmetatable(L, NSE_OPENSSL_BN_META)) {
    lua_createtable(L, 0, 16);
    lua_pushvalue(L, -4);
    luaL_setfuncs(L, nse_openssl_bn_methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -3);
    lua_pushcclosure(L, nse_openssl_bn_bn2dec, 1);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, nse_openssl_bn_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
}
