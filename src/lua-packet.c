/* lua-packet.c: raw packets for scripts (filled in below). */
#include "script-int.h"

void lua_packet_open(struct script_engine *e, lua_State *L) { (void)e; (void)L; }
void lua_packet_close(struct script_engine *e) { (void)e; }
int script_engine_open_raw(struct script_engine *e, const char *const *ifnames, size_t n) {
  (void)e; (void)ifnames; (void)n;
  return 0;
}
