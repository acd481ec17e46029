/* fuzz_nse_openssl.c: libFuzzer harness for the `openssl` module of the
 * NSE layer (src/script/nse/nse-openssl.c, nse-openssl-bn.c), the parts
 * that take bytes a scanned host controls: bignums read from binary, hex
 * and decimal (bignum_bin2bn, bignum_hex2bn, bignum_dec2bn), the
 * arithmetic nselib does on them, and encrypt/decrypt of hostile data
 * with hostile keys and IVs.
 *
 * Input: byte 0 picks the operation, byte 1 a cipher (from a list, or
 * past its end a name taken from the input), byte 2 a flag byte (padding,
 * IV or not, key length); the rest is split at its first two NUL bytes
 * into up to three fields. Checked besides memory safety and leaks (the
 * module is used only through Lua; a Lua error is an accepted outcome
 * only when it is a message string): a bignum read back gives what was
 * read (bin2bn/bn2bin without leading zeros; hex and decimal through each
 * other and back), num_bytes and num_bits agree with the bytes, a
 * division's remainder is smaller than the divisor, and for the ciphers
 * of plain block and stream modes decrypt(encrypt(x)) is x; no write
 * past a block Lua allocated (lua-canary.h). One Lua state (and so one
 * library context) serves every input; its garbage is collected after
 * each. Seeds: tests/fuzz/corpus/nse_openssl/. */
#include "fuzz-util.h"

#include <lauxlib.h>
#include <lualib.h>

#include "lua-canary.h"
#include "script/nse/nse-openssl.h"

/* Runs in protected mode with (op, cipher index, flags, a, b, c); any
 * error that is not the module refusing the input is a finding. */
static const char fuzz_nse_openssl_code[] =
    "local o = require 'openssl'\n"
    "local CIPHERS = { 'aes-128-cbc', 'aes-192-ecb', 'aes-256-ctr', 'aes-128-cfb', 'aes-128-ofb',\n"
    "  'des-cbc', 'des-ecb', 'des-ede3-cbc', 'DES', 'cast5-cbc', 'bf-cbc', 'rc4', 'chacha20',\n"
    "  'camellia-128-cbc', 'aes-128-cfb8', 'aes-128-gcm', 'aes-128-ccm', 'aes-128-ocb',\n"
    "  'aes-128-xts', 'id-aes128-wrap', 'id-aes128-wrap-pad', 'aes-128-siv',\n"
    "  'chacha20-poly1305', 'aes-128-cbc-hmac-sha1', 'aes-128-cbc-cts', 'rc2-cbc', 'seed-cbc',\n"
    "  'sm4-cbc', 'aria-128-ctr' }\n"
    /* modes whose decryption undoes encryption without a tag or a length */
    "local INVERTIBLE = { ['aes-128-cbc']=1, ['aes-192-ecb']=1, ['aes-256-ctr']=1, ['aes-128-cfb']=1,\n"
    "  ['aes-128-ofb']=1, ['des-cbc']=1, ['des-ecb']=1, ['des-ede3-cbc']=1, ['DES']=1, ['cast5-cbc']=1,\n"
    "  ['bf-cbc']=1, ['rc4']=1, ['chacha20']=1, ['camellia-128-cbc']=1, ['aes-128-cfb8']=1,\n"
    "  ['aria-128-ctr']=1 }\n"
    "local function refused(ok, err)\n"
    "  if not ok and type(err) ~= 'string' then error('invariant: error is not a message') end\n"
    "  return not ok\n"
    "end\n"
    "local function check(c, what) if not c then error('invariant: ' .. what) end end\n"
    "local function strip0(s) return (s:gsub('^%z+', '')) end\n"
    "local function bignum(op, a)\n"
    "  local f = ({ o.bignum_bin2bn, o.bignum_hex2bn, o.bignum_dec2bn })[op + 1]\n"
    "  local ok, bn = pcall(f, a)\n"
    "  if refused(ok, bn) then return end\n"
    "  local bin = o.bignum_bn2bin(bn)\n"
    "  check(#bin == bn:num_bytes(), 'num_bytes')\n"
    "  check(bn:num_bits() <= 8 * #bin and bn:num_bits() > 8 * #bin - 8 or #bin == 0, 'num_bits')\n"
    "  if op == 0 then check(bin == strip0(a), 'bin round trip') end\n"
    "  local hx, dec = bn:tohex(), bn:todec()\n"
    "  check(o.bignum_hex2bn(hx):todec() == dec, 'hex to dec')\n"
    "  check(o.bignum_dec2bn(dec):tohex() == hx, 'dec to hex')\n"
    "  check(tostring(bn) == dec, 'tostring')\n"
    "  if op == 1 then check(hx:lower():gsub('^(%-?)0+(.)', '%1%2') == a:lower():gsub('^(%-?)0+(.)', '%1%2')\n"
    "                        or dec == '0', 'hex round trip') end\n"
    "  if op == 2 then check(dec == a:gsub('^(%-?)0+(.)', '%1%2') or dec == '0', 'dec round trip') end\n"
    "  return bn\n"
    "end\n"
    "local op, ci, flags, a, b, c = ...\n"
    "op = op % 6\n"
    "if op <= 2 then bignum(op, a) return true end\n"
    "if op == 3 then\n"
    /* arithmetic on two small bignums from binary */
    "  local x, y = o.bignum_bin2bn(a:sub(1, 96)), o.bignum_bin2bn(b:sub(1, 96))\n"
    "  if flags & 1 ~= 0 then x:set_negative(true) end\n"
    "  local s = o.bignum_add(x, y)\n"
    "  check(s:num_bits() <= math.max(x:num_bits(), y:num_bits()) + 1, 'add size')\n"
    "  local ok, q, r = pcall(o.bignum_div, x, y)\n"
    "  if not refused(ok, q) then check(r:num_bits() <= y:num_bits(), 'remainder size') end\n"
    "  local m = o.bignum_bin2bn(c:sub(1, 64))\n"
    "  local ok2, e = pcall(o.bignum_mod_exp, x, y, m)\n"
    "  if not refused(ok2, e) then check(e:num_bits() <= m:num_bits(), 'mod_exp size') end\n"
    "  local bit = (flags * 7) % 1200\n"
    "  x:set_bit(bit); check(x:is_bit_set(bit), 'set_bit'); x:clear_bit(bit); check(not x:is_bit_set(bit), 'clear_bit')\n"
    "  if #a <= 32 then o.bignum_is_prime(o.bignum_bin2bn(a)); o.bignum_is_safe_prime(o.bignum_bin2bn(a)) end\n"
    "  return true\n"
    "end\n"
    /* op 4 encrypt then decrypt, op 5 decrypt hostile data */
    "local name = CIPHERS[ci + 1] or a\n"
    "local key, data = (ci < #CIPHERS) and a or b, (ci < #CIPHERS) and b or c\n"
    "if flags & 2 ~= 0 then key = key:sub(1, flags >> 3) end\n"
    "local iv = (flags & 4 ~= 0) and c or nil\n"
    "local pad = flags & 1 ~= 0\n"
    "if op == 4 then\n"
    "  local ok, enc = pcall(o.encrypt, name, key, iv, data, pad)\n"
    "  if refused(ok, enc) then return true end\n"
    "  if INVERTIBLE[name] then\n"
    "    local ok2, dec = pcall(o.decrypt, name, key, iv, enc, pad)\n"
    "    check(ok2, 'decrypt of what encrypt gave failed: ' .. tostring(dec))\n"
    "    check(dec == data, 'decrypt(encrypt(x)) ~= x')\n"
    "  end\n"
    "else\n"
    "  refused(pcall(o.decrypt, name, key, iv, data, pad))\n"
    "end\n"
    "return true\n";

static lua_State *fuzz_nse_openssl_L;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  lua_State *L = fuzz_nse_openssl_L;
  if (!L) {
    L = fuzz_nse_openssl_L = lua_newstate(lua_canary_alloc, NULL);
    FUZZ_CHECK(L != NULL);
    luaL_openlibs(L);
    nse_openssl_open(L);
  }
  /* fields: the rest of the input split at its first two NULs */
  const char *rest = (const char *)data + 3, *end = (const char *)data + size;
  const char *f[3] = { rest, end, end }, *fe[3] = { end, end, end };
  for (int i = 0; i < 2; i++) {
    const char *nul = memchr(f[i], 0, (size_t)(end - f[i]));
    if (!nul) break;
    fe[i] = nul;
    f[i + 1] = nul + 1;
  }
  FUZZ_CHECK(luaL_loadstring(L, fuzz_nse_openssl_code) == LUA_OK);
  lua_pushinteger(L, data[0]);
  lua_pushinteger(L, data[1]);
  lua_pushinteger(L, data[2]);
  for (int i = 0; i < 3; i++) lua_pushlstring(L, f[i], (size_t)(fe[i] - f[i]));
  int rc = lua_pcall(L, 6, 1, 0);
  if (rc != LUA_OK) fprintf(stderr, "fuzz: Lua error: %s\n", lua_tostring(L, -1));
  FUZZ_CHECK(rc == LUA_OK);
  FUZZ_CHECK(lua_toboolean(L, -1));
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
