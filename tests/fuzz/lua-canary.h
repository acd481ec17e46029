/* lua-canary.h: a Lua allocator (lua_newstate) that catches writes past
 * the end of a block Lua allocated. The system's liblua is not built with
 * AddressSanitizer, so an overflow of the Lua stack (values pushed without
 * lua_checkstack) writes past the stack's block unseen by ASan; with this
 * allocator every block carries 32 canary bytes after its end, checked
 * whenever Lua resizes or frees it (at the latest in lua_close), and a
 * damaged canary aborts. Used by the --script-args harness and test. */
#ifndef TRAWL_LUA_CANARY_H
#define TRAWL_LUA_CANARY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LUA_CANARY_LEN 32
#define LUA_CANARY_BYTE 0xa5

static inline void lua_canary_check(const unsigned char *p, size_t size) {
  for (size_t i = 0; i < LUA_CANARY_LEN; i++) {
    if (p[size + i] != LUA_CANARY_BYTE) {
      fprintf(stderr, "lua-canary: write past the end of a %zu-byte Lua block (at +%zu)\n",
              size, i);
      abort();
    }
  }
}

static inline void *lua_canary_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (ptr) lua_canary_check(ptr, osize); /* osize is the block's size when ptr is set */
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  unsigned char *p = realloc(ptr, nsize + LUA_CANARY_LEN);
  if (!p) return NULL;
  memset(p + nsize, LUA_CANARY_BYTE, LUA_CANARY_LEN);
  return p;
}

#endif
