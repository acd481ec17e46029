/* test_nse_openssl.c: the `openssl` module of the NSE layer
 * (src/script/nse/nse-openssl.c, nse-openssl-bn.c) in a bare Lua state:
 * known answers written here from their standards (MD4 RFC 1320, MD5 RFC
 * 1321, SHA-1 RFC 3174, SHA-256 FIPS 180-2, HMAC RFC 2104 and RFC 4231,
 * AES-128-CBC NIST SP 800-38A F.2.1, DES FIPS 81 and the textbook ECB
 * example, NTLMv1 MS-NLMP 4.2.2), bignum arithmetic whose answers are
 * known by hand (Fermat's little theorem, small powers), hostile input
 * that must end in a Lua error (never a crash or a huge allocation), the
 * module without OpenSSL's legacy provider, and Nmap's own nselib
 * (smbauth's and sasl's test suites, NTLM and CRAM-MD5 responses, ssh2's
 * bignum packing) when /usr/share/nmap is installed. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "script/nse/nse-openssl.h"

#define NSELIB "/usr/share/nmap/nselib"

/* Helpers every chunk sees: o (the module), hex(), unhex(), eq(). */
static const char prelude[] =
    "o = require 'openssl'\n"
    "function hex(s) return (s:gsub('.', function(c) return ('%02x'):format(c:byte()) end)) end\n"
    "function unhex(h) return (h:gsub('%s', ''):gsub('..', function(x) return string.char(tonumber(x, 16)) end)) end\n"
    "function eq(got, want, what)\n"
    "  if got ~= want then error(('%s: got %s, want %s'):format(what, tostring(got), tostring(want)), 2) end\n"
    "end\n";

static lua_State *state_new(void) {
  lua_State *L = luaL_newstate();
  assert_non_null(L);
  luaL_openlibs(L);
  nse_openssl_open(L);
  if (luaL_dostring(L, prelude) != LUA_OK) fail_msg("prelude: %s", lua_tostring(L, -1));
  return L;
}

/* Runs chunk; it must end without error. */
static void run_ok(lua_State *L, const char *name, const char *chunk) {
  int top = lua_gettop(L);
  if (luaL_loadbuffer(L, chunk, strlen(chunk), name) != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK)
    fail_msg("%s: %s", name, lua_tostring(L, -1));
  assert_int_equal(lua_gettop(L), top);
}

/* Runs chunk; it must raise a Lua error whose message holds `want`. */
static void run_err(lua_State *L, const char *chunk, const char *want) {
  int top = lua_gettop(L);
  assert_int_equal(luaL_loadstring(L, chunk), LUA_OK);
  int rc = lua_pcall(L, 0, 0, 0);
  if (rc != LUA_ERRRUN) fail_msg("%s: rc %d, want a Lua error", chunk, rc);
  const char *msg = lua_tostring(L, -1);
  if (!msg || !strstr(msg, want)) fail_msg("%s: error \"%s\", want \"%s\" in it", chunk, msg ? msg : "(none)", want);
  lua_settop(L, top);
}

/* the checker itself: a wrong answer fails */
static void test_checker_fails(void **st) {
  (void)st;
  lua_State *L = state_new();
  run_err(L, "eq(hex(o.md5('abc')), '00000000000000000000000000000000', 'md5')", "md5: got 900150");
  lua_close(L);
}

static void test_digests(void **st) {
  (void)st;
  lua_State *L = state_new();
  run_ok(L, "digests",
         /* RFC 1321 A.5 */
         "eq(hex(o.md5('')), 'd41d8cd98f00b204e9800998ecf8427e', 'md5 empty')\n"
         "eq(hex(o.md5('abc')), '900150983cd24fb0d6963f7d28e17f72', 'md5 abc')\n"
         "eq(hex(o.md5('message digest')), 'f96b697d7cb7938d525a2f31aaf161d0', 'md5 message digest')\n"
         /* RFC 3174 7.3 */
         "eq(hex(o.sha1('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d', 'sha1 abc')\n"
         "eq(hex(o.sha1('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')),"
         "   '84983e441c3bd26ebaae4aa1f95129e5e54670f1', 'sha1 two blocks')\n"
         /* FIPS 180-2 B.1, by name, any case */
         "eq(hex(o.digest('sha256', 'abc')),"
         "   'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'sha256 abc')\n"
         "eq(o.digest('SHA1', 'abc'), o.sha1('abc'), 'digest SHA1')\n"
         "eq(o.digest('md5', 'abc'), o.md5('abc'), 'digest md5')\n"
         /* RFC 1320 A.5 (legacy provider) */
         "eq(hex(o.md4('')), '31d6cfe0d16ae931b73c59d7e0c089c0', 'md4 empty')\n"
         "eq(hex(o.md4('abc')), 'a448017aaf21d8525fc10ae87aa6729d', 'md4 abc')\n"
         /* the RIPEMD-160 paper's test vectors */
         "eq(hex(o.ripemd160('abc')), '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc', 'ripemd160 abc')\n"
         /* binary data with NULs */
         "eq(#o.sha1('\\0\\0\\0'), 20, 'sha1 of NULs')\n"
         "assert(o.sha1('\\0') ~= o.sha1('\\0\\0'), 'NULs are data')\n");
  lua_close(L);
}

static void test_hmac(void **st) {
  (void)st;
  lua_State *L = state_new();
  run_ok(L, "hmac",
         /* RFC 4231 4.2 and 4.3 */
         "eq(hex(o.hmac('sha256', ('\\x0b'):rep(20), 'Hi There')),"
         "   'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7', 'rfc4231 1')\n"
         "eq(hex(o.hmac('SHA256', 'Jefe', 'what do ya want for nothing?')),"
         "   '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', 'rfc4231 2')\n"
         /* RFC 4231 4.7: a key longer than the block */
         "eq(hex(o.hmac('sha256', ('\\xaa'):rep(131), 'Test Using Larger Than Block-Size Key - Hash Key First')),"
         "   '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54', 'rfc4231 6')\n"
         /* RFC 2104 appendix: HMAC-MD5 */
         "eq(hex(o.hmac('md5', 'Jefe', 'what do ya want for nothing?')),"
         "   '750c783e6ab0b503eaa86e310a5db738', 'rfc2104 2')\n"
         /* RFC 2202 3: HMAC-SHA1 */
         "eq(hex(o.hmac('sha1', 'Jefe', 'what do ya want for nothing?')),"
         "   'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79', 'rfc2202 2')\n"
         /* an empty key is a key */
         "eq(#o.hmac('sha1', '', 'x'), 20, 'empty key')\n");
  lua_close(L);
}

static void test_ciphers(void **st) {
  (void)st;
  lua_State *L = state_new();
  run_ok(L, "ciphers",
         /* SP 800-38A F.2.1 CBC-AES128.Encrypt, two blocks */
         "local k = unhex('2b7e151628aed2a6abf7158809cf4f3c')\n"
         "local iv = unhex('000102030405060708090a0b0c0d0e0f')\n"
         "local p = unhex('6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51')\n"
         "local c = o.encrypt('aes-128-cbc', k, iv, p)\n"
         "eq(hex(c), '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2', 'aes-128-cbc')\n"
         "eq(o.decrypt('AES-128-CBC', k, iv, c), p, 'aes-128-cbc back')\n"
         /* padding: a whole extra block of 16s, and back */
         "local cp = o.encrypt('aes-128-cbc', k, iv, p, true)\n"
         "eq(#cp, 48, 'padded length')\n"
         "eq(cp:sub(1, 32), c, 'padded prefix')\n"
         "eq(o.decrypt('aes-128-cbc', k, iv, cp, true), p, 'unpadded')\n"
         "eq(#o.decrypt('aes-128-cbc', k, iv, cp), 48, 'padding kept without the flag')\n"
         /* FIPS 81 appendix C, CBC mode */
         "local dk, div = unhex('0123456789abcdef'), unhex('1234567890abcdef')\n"
         "local dp = 'Now is the time for all '\n"
         "local dc = o.encrypt('des-cbc', dk, div, dp)\n"
         "eq(hex(dc), 'e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6', 'des-cbc')\n"
         "eq(o.decrypt('DES-CBC', dk, div, dc), dp, 'des-cbc back')\n"
         /* the textbook DES example; nil and '' IVs are zeros, so one
          * CBC block is ECB: what smbauth's 'DES' calls rely on */
         "local ek, ep = unhex('133457799bbcdff1'), unhex('0123456789abcdef')\n"
         "eq(hex(o.encrypt('des-ecb', ek, nil, ep)), '85e813540f0ab405', 'des-ecb')\n"
         "eq(hex(o.encrypt('DES', ek, nil, ep)), '85e813540f0ab405', 'DES, nil iv')\n"
         "eq(hex(o.encrypt('DES', ek, '', ep)), '85e813540f0ab405', 'DES, empty iv')\n"
         /* RFC 6229 section 2: RC4 keystream at offset 0, 40-bit and
          * 128-bit keys; a key longer than RC4's default 16 bytes is cut */
         "local z16 = ('\\0'):rep(16)\n"
         "eq(hex(o.encrypt('rc4', unhex('0102030405'), nil, z16)), 'b2396305f03dc027ccc3524a0a1118a8', 'rc4 40')\n"
         "local k128 = unhex('0102030405060708090a0b0c0d0e0f10')\n"
         "eq(hex(o.encrypt('rc4', k128, nil, z16)), '9ac7cc9a609d1ef7b2932899cde41b97', 'rc4 128')\n"
         "eq(hex(o.encrypt('RC4', k128 .. 'more', nil, z16)), '9ac7cc9a609d1ef7b2932899cde41b97', 'rc4 cut')\n"
         /* a longer key is cut (tns.lua passes 24 bytes for aes-192) */
         "eq(o.encrypt('aes-128-cbc', k .. 'extra', iv, p), c, 'long key cut')\n");
  lua_close(L);
}

static void test_des_key_rand(void **st) {
  (void)st;
  lua_State *L = state_new();
  run_ok(L, "des_key_rand",
         "eq(hex(o.DES_string_to_key(('\\0'):rep(7))), '0101010101010101', 'zeros')\n"
         "eq(hex(o.DES_string_to_key(('\\xff'):rep(7))), 'fefefefefefefefe', 'ones')\n"
         /* 56 bits 1000 0000 0000 ...: the top bit, then nothing */
         "eq(hex(o.DES_string_to_key('\\x80\\0\\0\\0\\0\\0\\0')), '8001010101010101', 'top bit')\n"
         /* the last bit lands in the last byte's bit 1 */
         "eq(hex(o.DES_string_to_key('\\0\\0\\0\\0\\0\\0\\x01')), '0101010101010102', 'last bit')\n"
         "eq(#o.rand_bytes(0), 0, 'rand 0')\n"
         "eq(#o.rand_bytes(33), 33, 'rand 33')\n"
         "eq(#o.rand_pseudo_bytes(17), 17, 'pseudo 17')\n"
         "assert(o.rand_bytes(32) ~= o.rand_bytes(32), 'two draws differ')\n"
         "local c, d = o.supported_ciphers(), o.supported_digests()\n"
         "local function has(t, n) for _, v in ipairs(t) do if v:lower() == n then return true end end end\n"
         "assert(has(c, 'aes-128-cbc') and has(c, 'des-cbc'), 'ciphers listed')\n"
         "assert(has(d, 'sha256') and has(d, 'md4'), 'digests listed')\n"
         "for _, n in ipairs(d) do assert(type(n) == 'string') end\n");
  lua_close(L);
}

static void test_bignum(void **st) {
  (void)st;
  lua_State *L = state_new();
  run_ok(L, "bignum",
         "local h = o.bignum_hex2bn('ff')\n"
         "eq(o.bignum_bn2dec(h), '255', 'hex to dec')\n"
         "eq(h:todec(), '255', 'method todec')\n"
         "eq(tostring(h), '255', 'tostring')\n"
         "eq(o.bignum_bn2hex(o.bignum_dec2bn('10')), '0A', 'whole bytes, upper case')\n"
         "eq(o.bignum_bn2hex(o.bignum_dec2bn('0')), '0', 'zero hex')\n"
         "eq(o.bignum_bn2dec(o.bignum_bin2bn('')), '0', 'empty bin is zero')\n"
         "eq(o.bignum_bn2bin(o.bignum_dec2bn('0')), '', 'zero bin')\n"
         "local d = o.bignum_dec2bn('123456789012345678901234567890')\n"
         "eq(d:tohex(), '018EE90FF6C373E0EE4E3F0AD2', 'dec to hex')\n"
         "eq(o.bignum_hex2bn(d:tohex()):todec(), '123456789012345678901234567890', 'round trip')\n"
         "eq(hex(d:tobin()), '018ee90ff6c373e0ee4e3f0ad2', 'tobin')\n"
         "eq(o.bignum_bin2bn(d:tobin()):todec(), d:todec(), 'bin round trip')\n"
         "eq(d:num_bytes(), 13, 'num_bytes')\n"
         "eq(o.bignum_num_bits(d), 97, 'num_bits')\n"
         "local n = o.bignum_dec2bn('-42')\n"
         "assert(n:is_negative(), 'negative'); eq(n:tohex(), '-2A', 'negative hex'); eq(n:todec(), '-42', 'negative dec')\n"
         "n:set_negative(false); eq(n:todec(), '42', 'set_negative false')\n"
         "o.bignum_set_negative(n, true); assert(o.bignum_is_negative(n), 'set_negative true')\n"
         /* arithmetic */
         "local B = o.bignum_dec2bn\n"
         "eq(o.bignum_mod_exp(B('4'), B('13'), B('497')):todec(), '445', '4^13 mod 497')\n"
         "eq(o.bignum_mod_exp(B('2'), B('10'), B('1000')):todec(), '24', '2^10 mod 1000')\n"
         "eq(o.bignum_mod_exp(B('5'), B('0'), B('7')):todec(), '1', 'x^0')\n"
         "local p127 = B('170141183460469231731687303715884105727')\n"
         "eq(p127:tohex(), '7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', '2^127-1 hex')\n"
         "eq(o.bignum_mod_exp(B('3'), B('170141183460469231731687303715884105726'), p127):todec(), '1', 'Fermat')\n"
         "eq(o.bignum_add(B('18446744073709551615'), B('2')):todec(), '18446744073709551617', 'add carry')\n"
         "local q, r = o.bignum_div(B('100'), B('7'))\n"
         "eq(q:todec(), '14', 'quotient'); eq(r:todec(), '2', 'remainder')\n"
         /* bits */
         "local z = B('0')\n"
         "o.bignum_set_bit(z, 100); eq(z:num_bits(), 101, 'set_bit')\n"
         "assert(o.bignum_is_bit_set(z, 100) and not z:is_bit_set(99) and not z:is_bit_set(5000), 'is_bit_set')\n"
         "z:clear_bit(100); eq(z:todec(), '0', 'clear_bit'); z:clear_bit(9999)\n"
         "eq(o.bignum_is_bit_set(B('5'), -1), false, 'negative position')\n"
         /* primes */
         "for _, p in ipairs{'2', '3', '65537', '170141183460469231731687303715884105727'} do\n"
         "  assert(o.bignum_is_prime(B(p)), p .. ' is prime') end\n"
         "for _, c in ipairs{'0', '1', '4', '561', '65535', '340282366920938463463374607431768211457', '-7'} do\n"
         "  assert(not B(c):is_prime(), c .. ' is composite') end\n"
         "local s, pr = o.bignum_is_safe_prime(B('23')); assert(s and pr, '23 safe')\n"
         "s, pr = o.bignum_is_safe_prime(B('13')); assert(not s and pr, '13 prime not safe')\n"
         "s, pr = B('15'):is_safe_prime(); assert(not s and not pr, '15 neither')\n"
         "s, pr = o.bignum_is_safe_prime(p127); assert(not s and pr, '2^127-1 not safe')\n"
         /* random */
         "local r1 = o.bignum_rand(256); assert(r1:num_bits() <= 256, 'rand bits')\n"
         "eq(o.bignum_pseudo_rand(0):todec(), '0', 'rand 0 bits')\n"
         "assert(o.bignum_rand(128):todec() ~= o.bignum_rand(128):todec(), 'two draws differ')\n");
  lua_close(L);
}

/* hostile and wrong input: a Lua error each, the state usable after */
static void test_bad_input(void **st) {
  (void)st;
  lua_State *L = state_new();
  static const struct {
    const char *chunk, *want;
  } cases[] = {
    { "o.bignum_hex2bn('xyz')", "not a hex digit" },
    { "o.bignum_hex2bn('12 ')", "not a hex digit" },
    { "o.bignum_hex2bn('')", "no digits" },
    { "o.bignum_hex2bn('-')", "no digits" },
    { "o.bignum_dec2bn('12a')", "not a decimal digit" },
    { "o.bignum_dec2bn('1\\0002')", "not a decimal digit" },
    { "o.bignum_dec2bn(('9'):rep(200000))", "over" },
    { "o.bignum_hex2bn(('f'):rep(200000))", "over" },
    { "o.bignum_bin2bn(('\\xff'):rep(70000))", "over" },
    { "o.bignum_rand(1000000000)", "bits must be" },
    { "o.bignum_pseudo_rand(-1)", "bits must be" },
    { "o.bignum_set_bit(o.bignum_dec2bn('1'), 1000000000)", "out of range" },
    { "o.bignum_set_bit(o.bignum_dec2bn('1'), -1)", "out of range" },
    { "o.bignum_mod_exp(o.bignum_dec2bn('2'), o.bignum_dec2bn('3'), o.bignum_dec2bn('0'))", "modulus is zero" },
    { "local b = o.bignum_bin2bn(('\\xff'):rep(4096)) o.bignum_mod_exp(b, b, b)", "over 16384 bits" },
    { "o.bignum_is_prime(o.bignum_bin2bn(('\\xff'):rep(1025)))", "over 8192 bits" },
    { "o.bignum_is_safe_prime(o.bignum_bin2bn(('\\xff'):rep(1025)))", "over 8192 bits" },
    { "o.bignum_div(o.bignum_dec2bn('1'), o.bignum_dec2bn('0'))", "division by zero" },
    { "o.bignum_add('1', '2')", "bad argument" },
    { "o.bignum_mod_exp(1, 2, 3)", "bad argument" },
    { "o.bignum_bn2dec({})", "bad argument" },
    { "o.digest('no-such-digest', 'x')", "not available" },
    { "o.hmac('no-such-digest', 'k', 'x')", "not available" },
    { "o.md5()", "bad argument" },
    { "o.encrypt('no-such-cipher', 'k', nil, 'x')", "not available" },
    { "o.encrypt('aes-128-cbc', 'short', nil, ('x'):rep(16))", "key too short" },
    { "o.encrypt('aes-128-cbc', ('k'):rep(16), 'short', ('x'):rep(16))", "iv too short" },
    { "o.encrypt('aes-128-cbc', ('k'):rep(16), nil, ('x'):rep(15))", "encryption failed" },
    { "o.decrypt('aes-128-cbc', ('k'):rep(16), nil, ('x'):rep(16), true)", "decryption failed" },
    { "o.encrypt('rc4', '', nil, 'x')", "key too short" },
    { "o.DES_string_to_key('abc')", "7-byte" },
    { "o.rand_bytes(-1)", "0 to 1 MiB" },
    { "o.rand_bytes(1 << 40)", "0 to 1 MiB" },
    { "o.rand_bytes('many')", "bad argument" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_err(L, cases[i].chunk, cases[i].want);
  /* still working after all that */
  run_ok(L, "after", "eq(hex(o.md5('abc')), '900150983cd24fb0d6963f7d28e17f72', 'md5 after errors')");
  lua_close(L);
}

/* Without the legacy provider: MD4 and DES say why they fail; the rest
 * works. The provider is looked for in OPENSSL_MODULES, pointed at an
 * empty directory for this one state. */
static void test_no_legacy(void **st) {
  (void)st;
  char dir[] = "/tmp/tw-nse-openssl-XXXXXX";
  assert_non_null(mkdtemp(dir));
  const char *old = getenv("OPENSSL_MODULES");
  char *saved = old ? strdup(old) : NULL;
  setenv("OPENSSL_MODULES", dir, 1);
  lua_State *L = state_new(); /* the module is made here, by the prelude */
  if (saved) setenv("OPENSSL_MODULES", saved, 1);
  else unsetenv("OPENSSL_MODULES");
  free(saved);
  rmdir(dir);
  run_err(L, "o.md4('abc')", "legacy provider");
  run_err(L, "o.encrypt('des-ecb', ('k'):rep(8), nil, ('x'):rep(8))", "legacy provider");
  run_err(L, "o.hmac('md4', 'k', 'x')", "legacy provider");
  run_ok(L, "no legacy",
         "eq(hex(o.md5('abc')), '900150983cd24fb0d6963f7d28e17f72', 'md5 without legacy')\n"
         "eq(o.bignum_mod_exp(o.bignum_dec2bn('4'), o.bignum_dec2bn('13'), o.bignum_dec2bn('497')):todec(), '445', 'bn')\n");
  lua_close(L);
}

/* pcall(require, "openssl") is how nselib probes for the module */
static void test_require(void **st) {
  (void)st;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  run_ok(L, "absent", "assert(not pcall(require, 'openssl'), 'absent before open')");
  nse_openssl_open(L);
  run_ok(L, "present",
         "local ok, m = pcall(require, 'openssl')\n"
         "assert(ok and type(m) == 'table' and m.md5 and m.bignum_bin2bn, 'present after open')\n"
         "assert(require('openssl') == m, 'loaded once')\n");
  lua_close(L);
}

/* ---- Nmap's own nselib on the module ------------------------------------------ */

/* The nmap module, as little of it as stdnse, unittest and smbauth touch
 * while loading and hashing; debug output is kept in nmap_log. */
static const char fake_nmap[] =
    "nmap_log = {}\n"
    "package.path = '" NSELIB "/?.lua'\n"
    "package.preload.nmap = function() return {\n"
    "  debugging = function() return 0 end, verbosity = function() return 0 end,\n"
    "  log_write = function(_, s) nmap_log[#nmap_log + 1] = s end,\n"
    "  clock = os.time, registry = { args = {} }, socket = { sleep = function() end },\n"
    "} end\n";

static void test_nselib(void **st) {
  (void)st;
  if (access(NSELIB "/smbauth.lua", R_OK) != 0) skip();
  lua_State *L = state_new();
  run_ok(L, "fake nmap", fake_nmap);
  run_ok(L, "smbauth",
         /* unittest.run_tests turns testing on; smbauth then builds its
          * suite (LM and NTLM hashes, OpenSSL-dependent) */
         "local unittest = require 'unittest'\n"
         "unittest.run_tests({})\n"
         "local smbauth = require 'smbauth'\n"
         "assert(rawget(smbauth, 'test_suite'), 'smbauth has a test suite')\n"
         "local failed, n = smbauth.test_suite()\n"
         "eq(n, 4, 'smbauth tests run')\n"
         "eq(failed, 0, 'smbauth tests failed (' .. table.concat(nmap_log, ' / ') .. ')')\n"
         /* MS-NLMP 4.2.2: user User, domain Domain, password Password,
          * server challenge 0123456789abcdef, NTLMv1 */
         "local ok, nt = smbauth.ntlm_create_hash('Password')\n"
         "eq(hex(nt), 'a4f49c406510bdcab6824ee7c30fd852', 'NTOWFv1')\n"
         "local lm, ntr = smbauth.get_password_response(nil, 'User', 'Domain', 'Password', nil, 'v1',"
         "  unhex('0123456789abcdef'), false)\n"
         "eq(hex(ntr), '67c43011f30298a2ad35ece64f16331c44bdbed927841f94', 'NTLMv1 response')\n"
         "eq(hex(lm), '98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13', 'LMv1 response')\n");
  run_ok(L, "sasl",
         /* sasl's own suite (DIGEST-MD5 challenges), then CRAM-MD5 with
          * the example of RFC 2195 section 2 */
         "local sasl = require 'sasl'\n"
         "local failed, n = sasl.test_suite()\n"
         "assert(n > 0, 'sasl tests run')\n"
         "eq(failed, 0, 'sasl tests failed (' .. table.concat(nmap_log, ' / ') .. ')')\n"
         "local enc = sasl.cram_md5_enc('tim', 'tanstaaftanstaaf', '<1896.697170952@postoffice.reston.mci.net>')\n"
         "eq(enc, 'tim b913a602c7eda7a495b4e6e7334d3890', 'CRAM-MD5')\n");
  run_ok(L, "ssh2",
         /* ssh2 takes the module with stdnse.silent_require and packs
          * bignums with bn:num_bytes() and bn:tobin(): 8 bytes get a
          * leading zero (its rule), 3 bytes do not */
         /* nse_main.lua, not stdnse.lua, defines silent_require: a
          * stand-in that raises as it does when the module is missing */
         "rawset(require 'stdnse', 'silent_require', function(m)\n"
         "  local ok, r = pcall(require, m) if ok then return r end error({}) end)\n"
         "local ssh2 = require 'ssh2'\n"
         "local p = ssh2.transport.pack_mpint(o.bignum_hex2bn('0102030405060708'))\n"
         "eq(hex(p), '00000009000102030405060708', 'pack_mpint 8 bytes')\n"
         "eq(hex(ssh2.transport.pack_mpint(o.bignum_dec2bn('65537'))), '00000003010001', 'pack_mpint 65537')\n");
  lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_checker_fails),
      cmocka_unit_test(test_digests),
      cmocka_unit_test(test_hmac),
      cmocka_unit_test(test_ciphers),
      cmocka_unit_test(test_des_key_rand),
      cmocka_unit_test(test_bignum),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_no_legacy),
      cmocka_unit_test(test_require),
      cmocka_unit_test(test_nselib),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
