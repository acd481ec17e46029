/* test_timing.c: the -T0..-T5 table and how the timing options combine with
 * it (src/scan/timing.c), through the command line as a user gives it:
 * RTT timeouts given alone or against each other end as Nmap 7.93 ends
 * them (the values below are what its "Timing report" showed for the same
 * command lines; tests/lab/test_timing.sh compares with a live nmap), the
 * errors Nmap gives, and the engine and connect-scan settings that follow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "scan/engine.h"
#include "scan/timing.h"

struct cmdline {
  char buf[1024];
  char *argv[64];
  int argc;
};

/* Splits a command line on spaces into argv (argv[0] = "trawl"). */
static void split(struct cmdline *c, const char *line) {
  snprintf(c->buf, sizeof c->buf, "%s", line);
  c->argc = 0;
  c->argv[c->argc++] = "trawl";
  char *save = NULL;
  for (char *t = strtok_r(c->buf, " ", &save); t && c->argc < 63; t = strtok_r(NULL, " ", &save))
    c->argv[c->argc++] = t;
  c->argv[c->argc] = NULL;
}

/* parse + finalize as root: 0, or the error code with err filled. The
 * cmdline must outlive o (options point into argv). */
static int run(struct options *o, struct cmdline *c, const char *line, char *err, size_t errlen) {
  split(c, line);
  err[0] = '\0';
  int r = options_parse(o, c->argc, c->argv, err, errlen);
  if (r == 0) r = options_finalize(o, true, err, errlen);
  return r;
}

/* The command line (plus "-sn -n 198.18.0.1") must be accepted and end with
 * these RTT timeouts (ms). */
static void rtt(const char *opts, uint64_t init, uint64_t min, uint64_t max) {
  struct options o;
  struct cmdline c;
  char err[512], line[512];
  snprintf(line, sizeof line, "%s -sn -n 198.18.0.1", opts);
  if (run(&o, &c, line, err, sizeof err) != 0) fail_msg("'%s': %s", line, err);
  if (o.initial_rtt_ms != init || o.min_rtt_ms != min || o.max_rtt_ms != max)
    fail_msg("'%s': rtt init %llu min %llu max %llu, want %llu %llu %llu", opts,
             (unsigned long long)o.initial_rtt_ms, (unsigned long long)o.min_rtt_ms,
             (unsigned long long)o.max_rtt_ms, (unsigned long long)init, (unsigned long long)min,
             (unsigned long long)max);
  options_free(&o);
}

/* The issue 13 bug: --max-rtt-timeout or --initial-rtt-timeout alone was an
 * error about options the user never gave. Nmap moves the others. */
static void test_rtt_alone(void **state) {
  (void)state;
  rtt("--max-rtt-timeout 50ms", 50, 50, 50);
  rtt("--initial-rtt-timeout 20s", 20000, 100, 20000);
  rtt("--initial-rtt-timeout 50ms", 50, 50, 10000);
  rtt("--min-rtt-timeout 20s", 20000, 20000, 20000);
  rtt("--min-rtt-timeout 0", 1000, 0, 10000);
  rtt("--max-rtt-timeout 5ms", 5, 5, 5);
  rtt("-T0 --max-rtt-timeout 1s", 1000, 100, 1000);
  rtt("-T5 --max-rtt-timeout 100ms", 100, 50, 100);
  rtt("-T5 --initial-rtt-timeout 10ms", 10, 10, 300);
  rtt("--max-rtt-timeout 2s -T4", 500, 100, 2000);
}

/* Given against each other: initial first, then minimum, then maximum,
 * whatever the order on the command line (the maximum wins). */
static void test_rtt_order(void **state) {
  (void)state;
  rtt("--min-rtt-timeout 500ms --max-rtt-timeout 200ms", 200, 200, 200);
  rtt("--max-rtt-timeout 200ms --min-rtt-timeout 500ms", 200, 200, 200);
  rtt("--initial-rtt-timeout 5s --max-rtt-timeout 1s", 1000, 100, 1000);
  rtt("--max-rtt-timeout 1s --initial-rtt-timeout 5s", 1000, 100, 1000);
  rtt("--min-rtt-timeout 500ms --initial-rtt-timeout 200ms", 500, 500, 10000);
  rtt("--initial-rtt-timeout 200ms --min-rtt-timeout 500ms", 500, 500, 10000);
  rtt("-T5 --min-rtt-timeout 0.2s --max-rtt-timeout 2 --initial-rtt-timeout 1s", 1000, 200, 2000);
}

static void bad(const char *line, const char *want) {
  struct options o;
  struct cmdline c;
  char err[512];
  if (run(&o, &c, line, err, sizeof err) == 0) fail_msg("'%s' was accepted", line);
  assert_string_equal(err, want);
  options_free(&o);
}

/* Nmap's two refusals. */
static void test_rtt_errors(void **state) {
  (void)state;
  bad("--max-rtt-timeout 4ms -sn 198.18.0.1", "--max-rtt-timeout must be at least 5ms: '4ms'");
  bad("--max-rtt-timeout 0 -sn 198.18.0.1", "--max-rtt-timeout must be at least 5ms: '0ms'");
  bad("--initial-rtt-timeout 0 -sn 198.18.0.1", "--initial-rtt-timeout must be more than 0: '0ms'");
}

/* Every row is consistent, and an unknown level is T3. */
static void test_table(void **state) {
  (void)state;
  for (int t = 0; t < TIMING_LEVELS; t++) {
    const struct timing_template *r = timing_template(t);
    assert_non_null(r->name);
    assert_true(r->min_rtt_ms <= r->initial_rtt_ms && r->initial_rtt_ms <= r->max_rtt_ms);
    assert_true(r->max_rtt_ms >= 5);
    assert_true(r->start_rate > 0 && r->start_rate <= r->max_rate);
    assert_true(r->max_parallelism || r->connect_parallelism);
    assert_true(r->min_hostgroup >= 1 && r->min_hostgroup <= r->max_hostgroup);
    if (t > 0) assert_true(r->start_rate > timing_template(t - 1)->start_rate);
  }
  assert_ptr_equal(timing_template(-1), timing_template(TIMING_DEFAULT));
  assert_ptr_equal(timing_template(6), timing_template(TIMING_DEFAULT));
}

/* Each template without options gives its own row, and finalizing again
 * changes nothing. */
static void test_templates(void **state) {
  (void)state;
  for (int t = 0; t < TIMING_LEVELS; t++) {
    const struct timing_template *r = timing_template(t);
    struct options o;
    struct cmdline c;
    char err[512], line[64];
    snprintf(line, sizeof line, "-T%d -sn 198.18.0.1", t);
    if (run(&o, &c, line, err, sizeof err) != 0) fail_msg("'%s': %s", line, err);
    assert_int_equal(o.initial_rtt_ms, r->initial_rtt_ms);
    assert_int_equal(o.min_rtt_ms, r->min_rtt_ms);
    assert_int_equal(o.max_rtt_ms, r->max_rtt_ms);
    assert_int_equal(o.max_retries, r->max_retries);
    assert_int_equal(o.scan_delay_ms, r->scan_delay_ms);
    assert_int_equal(o.host_timeout_ms, r->host_timeout_ms);
    assert_int_equal(o.script_timeout_ms, r->script_timeout_ms);
    assert_int_equal(o.timing_given, TIMING_RESOLVED);
    struct options again = o;
    assert_int_equal(timing_finalize(&again, err, sizeof err), 0);
    assert_memory_equal(&again, &o, sizeof o);
    options_free(&o);
  }
  /* with every option given, a second pass keeps them too */
  struct options o;
  struct cmdline c;
  char err[512];
  assert_int_equal(run(&o, &c, "-T1 --max-rtt-timeout 200ms --min-rtt-timeout 500ms --scan-delay 0 "
                                   "--max-retries 3 --host-timeout 1m --script-timeout 2m -sn 198.18.0.1",
                       err, sizeof err),
                   0);
  struct options again = o;
  assert_int_equal(timing_finalize(&again, err, sizeof err), 0);
  assert_memory_equal(&again, &o, sizeof o);
  options_free(&o);
}

/* What the engine and the connect scan get. */
static void test_engine_config(void **state) {
  (void)state;
  struct options o;
  struct cmdline c;
  struct engine_config e;
  char err[512];
  assert_int_equal(run(&o, &c, "-T4 -sn 198.18.0.1", err, sizeof err), 0);
  timing_engine_config(&o, 0, &e);
  assert_int_equal(e.rtt_init_ns, 500000000ull);
  assert_int_equal(e.rtt_min_ns, 100000000ull);
  assert_int_equal(e.rtt_max_ns, 1250000000ull);
  assert_int_equal(e.max_retries, 6);
  assert_int_equal(e.scan_delay_ns, 0);
  assert_true(e.start_rate == timing_template(4)->start_rate);
  assert_true(e.max_rate == timing_template(4)->max_rate);
  assert_int_equal(timing_connect_parallelism(&o), timing_template(4)->connect_parallelism);
  options_free(&o);

  /* an explicit 0 is 0, not the template's value */
  assert_int_equal(run(&o, &c, "-T2 --scan-delay 0 --min-rtt-timeout 0 -sn 198.18.0.1", err, sizeof err), 0);
  timing_engine_config(&o, 0, &e);
  assert_int_equal(e.scan_delay_ns, 0);
  assert_int_equal(e.rtt_min_ns, 0);
  assert_int_equal(timing_connect_parallelism(&o), 1); /* Nmap's max parallelism for T0-T2 */
  options_free(&o);

  /* T0: five minutes between probes, and 5-minute answer timeouts */
  assert_int_equal(run(&o, &c, "-T0 --min-rate 50 --seed 7 -sn 198.18.0.1", err, sizeof err), 0);
  timing_engine_config(&o, 123, &e);
  assert_int_equal(e.scan_delay_ns, 300000000000ull);
  assert_int_equal(e.rtt_init_ns, 300000000000ull);
  assert_int_equal(e.rtt_max_ns, 300000000000ull);
  assert_true(e.start_rate == 50 && e.min_rate == 50);
  assert_int_equal(e.seed, 7);
  assert_int_equal(e.trace_t0, 123);
  options_free(&o);
}

/* The maximum scan delay: a --scan-delay the user gives raises it, the
 * template's does not (Nmap's report for -T0 keeps 1000). */
static void test_max_scan_delay(void **state) {
  (void)state;
  struct options o;
  struct cmdline c;
  char err[512];
  uint64_t m[TIMING_NPROTO];
  assert_int_equal(run(&o, &c, "-T0 -sn 198.18.0.1", err, sizeof err), 0);
  timing_max_scan_delay(&o, m);
  assert_true(m[TIMING_TCP] == 1000 && m[TIMING_UDP] == 1000 && m[TIMING_SCTP] == 1000);
  options_free(&o);
  assert_int_equal(run(&o, &c, "-T4 -sn 198.18.0.1", err, sizeof err), 0);
  timing_max_scan_delay(&o, m);
  assert_true(m[TIMING_TCP] == 10 && m[TIMING_UDP] == 1000 && m[TIMING_SCTP] == 10);
  options_free(&o);
  assert_int_equal(run(&o, &c, "--scan-delay 2s -T4 -sn 198.18.0.1", err, sizeof err), 0);
  timing_max_scan_delay(&o, m);
  assert_true(m[TIMING_TCP] == 2000 && m[TIMING_UDP] == 2000 && m[TIMING_SCTP] == 2000);
  options_free(&o);
}

/* The report --dry-run -d prints carries the resolved values. */
static void test_report(void **state) {
  (void)state;
  struct options o;
  struct cmdline c;
  char err[512];
  assert_int_equal(run(&o, &c, "-T5 --max-rtt-timeout 100ms --max-hostgroup 7 --min-rate 100.5 -sn 198.18.0.1",
                       err, sizeof err),
                   0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  timing_print_report(f, &o);
  fclose(f);
  assert_non_null(strstr(text, "  hostgroups: min 1, max 7\n"));
  assert_non_null(strstr(text, "  rtt-timeouts: init 100, min 50, max 100\n"));
  assert_non_null(strstr(text, "  max-scan-delay: TCP 5, UDP 1000, SCTP 5\n"));
  assert_non_null(strstr(text, "  parallelism: min 0, max 0\n"));
  assert_non_null(strstr(text, "  max-retries: 2, host-timeout: 900000\n"));
  assert_non_null(strstr(text, "  min-rate: 100.5, max-rate: 0\n"));
  assert_non_null(strstr(text, "  scan-delay: 0, script-timeout: 600000\n"));
  free(text);
  options_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rtt_alone),     cmocka_unit_test(test_rtt_order),
      cmocka_unit_test(test_rtt_errors),    cmocka_unit_test(test_table),
      cmocka_unit_test(test_templates),     cmocka_unit_test(test_engine_config),
      cmocka_unit_test(test_max_scan_delay), cmocka_unit_test(test_report),
  };
  unsetenv("TRAWL_DATADIR");
  return cmocka_run_group_tests(tests, NULL, NULL);
}
