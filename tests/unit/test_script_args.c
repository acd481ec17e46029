/* test_script_args.c: the --script-args parser (script_args_parse in
 * src/script/script-select.c) on hostile text: deep nesting is refused
 * with one clear line, never overflows the Lua stack (finding 1 of issue
 * 14; the states here use lua-canary.h, so an overflow aborts even where
 * ASan cannot see it, inside liblua), and the Lua stack is left as it was
 * found; and the trawl binary turns such arguments (on the command line
 * or in --script-args-file) into exit status 2 with one error line, not a
 * crash. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fuzz/lua-canary.h"
#include "script/script-int.h"

/* "a={" n times, then `inner`, then n closing braces when `close`. */
static char *nested(int n, const char *inner, int close) {
  size_t len = (size_t)n * 4 + strlen(inner) + 1;
  char *s = malloc(len);
  assert_non_null(s);
  size_t o = 0;
  for (int i = 0; i < n; i++) o += (size_t)sprintf(s + o, "a={");
  o += (size_t)sprintf(s + o, "%s", inner);
  for (int i = 0; close && i < n; i++) s[o++] = '}';
  s[o] = 0;
  return s;
}

/* Parses text into a fresh state whose stack already holds two values (as
 * in the engine: the trawl table and the merged args). Checks the stack
 * afterwards: one table more on success, untouched on failure. */
static int parse(lua_State *L, const char *text, char *err, size_t errlen) {
  lua_settop(L, 0);
  lua_pushliteral(L, "below-1");
  lua_pushliteral(L, "below-2");
  err[0] = 0;
  int rc = script_args_parse(L, text, err, errlen);
  if (rc == 0) {
    assert_int_equal(lua_gettop(L), 3);
    assert_true(lua_istable(L, 3));
  } else {
    assert_int_equal(lua_gettop(L), 2);
    assert_true(err[0] != 0);
    assert_null(strchr(err, '\n'));
  }
  assert_string_equal(lua_tostring(L, 2), "below-2");
  return rc;
}

/* Finding 1: 22 unclosed levels overflowed the Lua stack
 * (heap-buffer-overflow in lua_createtable; a segfault without ASan). */
static void test_deep_unclosed(void **state) {
  lua_State *L = lua_newstate(lua_canary_alloc, NULL);
  char err[400];
  for (int n = 1; n <= 60; n++) {
    char *s = nested(n, "", 0);
    int rc = parse(L, s, err, sizeof err);
    assert_int_equal(rc, -EINVAL);
    if (n <= 50) assert_non_null(strstr(err, "missing '}'"));
    else assert_non_null(strstr(err, "tables nested too deeply"));
    free(s);
  }
  lua_close(L);
}

/* The deepest nesting allowed parses whole, one deeper is refused. */
static void test_deep_balanced(void **state) {
  lua_State *L = lua_newstate(lua_canary_alloc, NULL);
  char err[400];
  char *s = nested(50, "x, y='q\\'z'", 1);
  assert_int_equal(parse(L, s, err, sizeof err), 0);
  free(s);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(lua_getfield(L, -1, "a"), LUA_TTABLE);
  }
  assert_int_equal(lua_rawgeti(L, -1, 1), LUA_TSTRING);
  assert_string_equal(lua_tostring(L, -1), "x");
  lua_pop(L, 1);
  assert_int_equal(lua_getfield(L, -1, "y"), LUA_TSTRING);
  assert_string_equal(lua_tostring(L, -1), "q'z");

  s = nested(51, "x", 1);
  assert_int_equal(parse(L, s, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "tables nested too deeply"));
  free(s);
  lua_close(L);
}

/* Many values at one level and many sibling tables: the stack stays flat
 * (each value is stored as soon as it is parsed). */
static void test_wide(void **state) {
  lua_State *L = lua_newstate(lua_canary_alloc, NULL);
  char err[400];
  size_t cap = 200000, o = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  for (int i = 0; i < 3000; i++) o += (size_t)snprintf(s + o, cap - o, "k%d={\"v\",{w}},", i);
  assert_true(o < cap);
  assert_int_equal(parse(L, s, err, sizeof err), 0);
  assert_int_equal(lua_getfield(L, -1, "k2999"), LUA_TTABLE);
  assert_int_equal(lua_rawgeti(L, -1, 2), LUA_TTABLE);
  assert_int_equal(lua_rawgeti(L, -1, 1), LUA_TSTRING);
  assert_string_equal(lua_tostring(L, -1), "w");
  free(s);
  lua_close(L);
}

/* Errors in the middle of a nested value leave the stack as it was. */
static void test_errors(void **state) {
  lua_State *L = lua_newstate(lua_canary_alloc, NULL);
  char err[400];
  static const struct {
    const char *text, *msg;
  } cases[] = {
      {"a={b={c='x}}", "unterminated quoted string"},
      {"a={b={c=d e=f}}", "expected ',' between arguments"},
      {"a={b}}", "unbalanced '}'"},
      {"a={b={=1}}", "missing name"},
      {"a={b={c=}}", "missing value"},
      {"a={b={c=1}", "missing '}'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(parse(L, cases[i].text, err, sizeof err), -EINVAL);
    if (!strstr(err, cases[i].msg)) fail_msg("'%s': got '%s'", cases[i].text, err);
  }
  lua_close(L);
}

/* ---- the binary ------------------------------------------------------------ */

/* Runs trawl with args (NULL-terminated), stderr to a file; returns the
 * exit status (128 + signal when killed) and the first line of stderr. */
static int run_trawl(const char *const *args, char *line, size_t linelen) {
  char errpath[] = "/tmp/trawl-test-args-err-XXXXXX";
  int efd = mkstemp(errpath);
  assert_true(efd >= 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(efd, 2);
    int nfd = open("/dev/null", 0);
    if (nfd >= 0) dup2(nfd, 1);
    char bin[600];
    snprintf(bin, sizeof bin, "%s/trawl", TW_BINDIR);
    execv(bin, (char *const *)args);
    _exit(127);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  FILE *f = fdopen(efd, "r");
  assert_non_null(f);
  rewind(f);
  line[0] = 0;
  if (!fgets(line, (int)linelen, f)) line[0] = 0;
  fclose(f);
  unlink(errpath);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* trawl --script-test (scripts without a scan) with the script "noop"
 * from dir and one option: a target nobody is sent anything. */
static int run_noop(const char *dir, const char *opt, const char *val, char *line, size_t len) {
  const char *args[] = {"trawl", "--script-test", "--script-dir", dir, "--script", "noop",
                        opt, val, "198.18.0.1:1", NULL};
  return run_trawl(args, line, len);
}

/* The engine fails while parsing the arguments, before any script runs:
 * exit status 2 and one line, for the command line and the file alike. */
static void test_binary(void **state) {
  char dir[] = "/tmp/trawl-test-args-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char sc[600], af[600];
  snprintf(sc, sizeof sc, "%s/noop.lua", dir);
  FILE *f = fopen(sc, "w");
  assert_non_null(f);
  fputs("description = 'nothing'\ncategories = {'safe'}\n"
        "hostrule = function() return false end\naction = function() end\n", f);
  fclose(f);
  char *deep = nested(22, "", 0);
  char line[1000];
  assert_int_equal(run_noop(dir, "--script-args", deep, line, sizeof line), 2);
  if (!strstr(line, "trawl: bad --script-args: missing '}'")) fail_msg("stderr: %s", line);

  snprintf(af, sizeof af, "%s/args", dir);
  f = fopen(af, "w");
  assert_non_null(f);
  fprintf(f, "# deep\n%s\n", deep);
  fclose(f);
  assert_int_equal(run_noop(dir, "--script-args-file", af, line, sizeof line), 2);
  if (!strstr(line, "trawl: bad --script-args-file")) fail_msg("stderr: %s", line);
  free(deep);

  /* 60 balanced levels: "nested too deeply", also exit 2 */
  deep = nested(60, "x", 1);
  assert_int_equal(run_noop(dir, "--script-args", deep, line, sizeof line), 2);
  if (!strstr(line, "tables nested too deeply")) fail_msg("stderr: %s", line);
  free(deep);
  unlink(sc);
  unlink(af);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deep_unclosed),
      cmocka_unit_test(test_deep_balanced),
      cmocka_unit_test(test_wide),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_binary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
