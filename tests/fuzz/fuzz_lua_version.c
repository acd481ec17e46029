/* fuzz_lua_version.c: libFuzzer harness for the parsers the version
 * scripts read hostile services with, trawl's Lua libraries
 * lualib/mqtt.lua (mqtt.parse, mqtt.publish: MQTT packets as a broker
 * sends them) and lualib/snmp3.lua (snmp3.parse_report, snmp3.enterprise:
 * an SNMPv3 Report datagram). The input is the received bytes. Checked:
 * no Lua error on any input (a script would die on it), mqtt.parse either
 * says "short", gives a reason, or a packet that fits in what it was
 * given (bytes used within the input, body at most MAX_PACKET), walked
 * packet by packet through the whole input; parse_report never succeeds
 * without an engine ID of 4 bytes or more; and no write past a block Lua
 * allocated (lua-canary.h). Seeds: tests/fuzz/corpus/lua_version/. */
#include "fuzz-util.h"

#include "lua-canary.h"
#include "script/script-int.h"

/* Runs in protected mode: the input string at index 1, the libraries
 * loaded; any Lua error is a finding. */
static const char fuzz_lua_code[] =
    "local data, mqtt, snmp3 = ...\n"
    "local buf, n = data, 0\n"
    "while #buf > 0 and n < 10000 do\n"
    "  local ty, flags, body, used = mqtt.parse(buf)\n"
    "  if not ty then\n"
    "    assert(type(flags) == 'string')\n"
    "    break\n"
    "  end\n"
    "  assert(used >= 2 and used <= #buf and #body <= mqtt.MAX_PACKET)\n"
    "  assert(ty >= 0 and ty <= 15 and flags >= 0 and flags <= 15)\n"
    "  if ty == mqtt.PUBLISH then\n"
    "    local topic, payload = mqtt.publish(flags, body)\n"
    "    assert(topic == nil or #topic + #payload <= #body)\n"
    "  end\n"
    "  buf = buf:sub(used + 1)\n"
    "  n = n + 1\n"
    "end\n"
    "for _, id in ipairs({1, 0x4a69}) do\n"
    "  local eid, boots, time = snmp3.parse_report(data, id)\n"
    "  if eid then\n"
    "    assert(#eid >= 4)\n"
    "    local ent, rfc = snmp3.enterprise(eid)\n"
    "    assert(ent and ent >= 0)\n"
    "  end\n"
    "end\n"
    "return true\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = lua_newstate(lua_canary_alloc, NULL);
  if (!L) return 0;
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushliteral(L, TW_SRCDIR "/lualib/?.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  FUZZ_CHECK(luaL_loadstring(L, fuzz_lua_code) == LUA_OK);
  lua_pushlstring(L, (const char *)data, size);
  const char *libs[] = {"mqtt", "snmp3"};
  for (int i = 0; i < 2; i++) {
    lua_getglobal(L, "require");
    lua_pushstring(L, libs[i]);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      fprintf(stderr, "fuzz: cannot load lualib/%s.lua: %s\n", libs[i], lua_tostring(L, -1));
      abort();
    }
  }
  int rc = lua_pcall(L, 3, 1, 0);
  if (rc != LUA_OK) fprintf(stderr, "fuzz: Lua error: %s\n", lua_tostring(L, -1));
  FUZZ_CHECK(rc == LUA_OK);
  FUZZ_CHECK(lua_toboolean(L, -1));
  lua_close(L);
  return 0;
}
