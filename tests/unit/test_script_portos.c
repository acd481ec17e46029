/* test_script_portos.c: host.os_per_port as scripts see it
 * (src/script/script-trees.c) and the shipped port-os script: a host whose
 * os-per-port result (os/os-perport.h, made here from crafted observations)
 * has two groups gets "2 stacks" with the second group's evidence; one
 * group gives "one stack"; a host without the result gets nothing. */
#include "script_fixture.h"

#include "os/os-perport.h"

static int setup(void **state) {
  fx_mkdir();
  return 0;
}
static int teardown(void **state) {
  fx_rmdir();
  return 0;
}

static void port_obs(struct os_port_obs *o, uint16_t port, int distance, const char *sig,
                     const char *best) {
  memset(o, 0, sizeof *o);
  o->port = port;
  o->distance = distance;
  o->closed_distance = o->isr = o->gcd_big = -1;
  snprintf(o->sig, sizeof o->sig, "%s", sig);
  snprintf(o->best, sizeof o->best, "%s", best);
  o->accuracy = 90;
}

static void test_port_os(void **state) {
  fx_script("fields", FX_HEAD("'safe'") "hostrule = function(h) return true end\n"
            "action = function(h)\n"
            "  local g = h.os_per_port\n"
            "  if not g then return 'none' end\n"
            "  return ('%d %d,%d %s %d %s %s'):format(#g, g[1].ports[1], g[1].ports[2], g[1].os,\n"
            "    g[2].distance, math.type(g[2].accuracy), table.concat(g[2].differs, '+'))\n"
            "end\n");
  char sel[600];
  snprintf(sel, sizeof sel, "port-os,%s/fields.lua", fx_dir);
  struct fx f;
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  assert_int_equal(fx_engine(&f, sel), 0);
  assert_true(script_engine_has_script(f.e, "port-os")); /* named: turns on per-port -O */
  assert_false(script_engine_has_script(f.e, "banner"));
  struct host_result h[3];
  struct os_port_obs obs[3];
  fx_host(&h[0], "198.18.0.2", 22, 80, 443, 0);
  port_obs(&obs[0], 22, 2, "OPS(O1=M5B4)", "Stack A");
  port_obs(&obs[1], 80, 3, "OPS(O1=M578)", "Stack B");
  port_obs(&obs[2], 443, 2, "OPS(O1=M5B4)", "Stack A");
  unsigned ng = os_perport_group(obs, 3);
  assert_int_equal(ng, 2);
  assert_int_equal(os_perport_report(&h[0], obs, 3, ng), 0);
  fx_host(&h[1], "198.18.0.3", 22, 80, 0);
  port_obs(&obs[1], 80, 2, "OPS(O1=M5B4)", "Stack A");
  obs[0].closed_distance = 2;
  assert_int_equal(os_perport_report(&h[1], obs, 2, os_perport_group(obs, 2)), 0);
  fx_host(&h[2], "198.18.0.4", 22, 80, 0);
  struct host_result *hp[3] = {&h[0], &h[1], &h[2]};
  fx_run(&f, hp, 3);
  const char *o = fx_out(&h[0], 0, "port-os");
  if (!o) fail_msg("no output: %s", fx_errors(&f));
  assert_string_equal(o, "2 stacks\n  22,443/tcp: Stack A (90%), distance 2\n"
                         "  80/tcp: a different stack, Stack B (90%), distance 3 (port forwarding?); "
                         "differs in: TTL/distance, SYN+ACK");
  assert_string_equal(fx_out(&h[0], 0, "fields"), "2 22,443 Stack A 3 integer TTL/distance+SYN+ACK");
  o = fx_out(&h[1], 0, "port-os");
  assert_non_null(o);
  assert_string_equal(o, "one stack: 22,80/tcp: Stack A (90%), distance 2; "
                         "closed port: RST from distance 2, like 22/tcp");
  assert_null(fx_out(&h[2], 0, "port-os"));
  assert_string_equal(fx_out(&h[2], 0, "fields"), "none");
  for (int i = 0; i < 3; i++) host_result_free(&h[i]);
  fx_free(&f);
}

/* Selected only through its category, port-os does not turn -O on. */
static void test_by_category(void **state) {
  struct fx f;
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  assert_int_equal(fx_engine(&f, "discovery and safe"), 0);
  assert_false(script_engine_has_script(f.e, "port-os"));
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_port_os, setup, teardown),
      cmocka_unit_test_setup_teardown(test_by_category, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
