/* fuzz_script_args.c: libFuzzer harness for the --script-args parser
 * (script_args_parse in src/script/script-select.c): the input is the
 * argument text, parsed into a fresh Lua state. Checked: on success one
 * table more on the stack, on failure the stack as it was and a one-line
 * reason; and no write past a block Lua allocated (lua-canary.h: liblua
 * itself is not instrumented, so ASan alone misses a Lua stack overflow).
 * (--script-args-file flattens its lines into the same text.)
 * Seeds: tests/fuzz/corpus/script_args/. */
#include "fuzz-util.h"

#include "lua-canary.h"
#include "script/script-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_cstr(data, size);
  if (!text) return 0;
  lua_State *L = lua_newstate(lua_canary_alloc, NULL);
  if (!L) {
    free(text);
    return 0;
  }
  lua_pushliteral(L, "below");
  char err[400];
  err[0] = 0;
  int rc = script_args_parse(L, text, err, sizeof err);
  if (rc == 0) {
    FUZZ_CHECK(lua_gettop(L) == 2 && lua_istable(L, 2));
  } else {
    FUZZ_CHECK(rc == -EINVAL);
    FUZZ_CHECK(lua_gettop(L) == 1);
    FUZZ_CHECK(err[0] != 0);
  }
  FUZZ_CHECK(lua_type(L, 1) == LUA_TSTRING);
  lua_close(L);
  free(text);
  return 0;
}
