/* test_options.c: the Nmap-style command line (src/cli/options.c): every
 * option's syntax, defaults from finalize, the --dry-run plan, and the
 * one-line error for each kind of mistake. */
#define _GNU_SOURCE /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <trawl/error.h>

#include "core/errmsg.h"
#include "cli/options.h"
#include "core/ports.h"
#include "db/services.h"
#include "core/targets.h"
#include "scan/engine.h"
#include "scan/scan.h"
#include "scan/timing.h"

static struct options o;
static char err[512];
static char *argbuf[64];

/* Splits a command line on spaces into argv (argv[0] = "trawl"). */
static int split(const char *line, char **argv) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s", line);
  int n = 0;
  argv[n++] = "trawl";
  for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) argv[n++] = t;
  argv[n] = NULL;
  return n;
}

static int parse(const char *line) {
  int argc = split(line, argbuf);
  err[0] = '\0';
  return options_parse(&o, argc, argbuf, err, sizeof err);
}

/* parse + finalize as root; fails the test on any error */
static void ok(const char *line) {
  int r = parse(line);
  if (r == 0) r = options_finalize(&o, true, err, sizeof err);
  if (r != 0) fail_msg("'%s': %s", line, err);
}

/* Expects an error (from parse or finalize) with exactly this text. */
static void bad(const char *line, const char *msg) {
  int r = parse(line);
  if (r == 0) r = options_finalize(&o, true, err, sizeof err);
  if (r == 0) fail_msg("'%s' was accepted", line);
  assert_string_equal(err, msg);
  assert_null(strchr(err, '\n'));
  options_free(&o);
}

static void done(void) { options_free(&o); }

static void test_scan_types(void **state) {
  ok("-sS 198.18.0.1");
  assert_int_equal(o.scans, SCANF(SCAN_SYN));
  done();
  ok("-sT 198.18.0.1");
  assert_int_equal(o.scans, SCANF(SCAN_CONNECT));
  done();
  ok("-sA -sU 198.18.0.1");
  assert_int_equal(o.scans, SCANF(SCAN_ACK) | SCANF(SCAN_UDP));
  assert_int_equal(o.ports.n[PROTO_TCP], 1000);
  assert_int_equal(o.ports.n[PROTO_UDP], 1000);
  done();
  ok("-sSU 198.18.0.1"); /* letters combine, as in Nmap */
  assert_int_equal(o.scans, SCANF(SCAN_SYN) | SCANF(SCAN_UDP));
  done();
  ok("-sn 198.18.0.1");
  assert_true(o.no_portscan);
  assert_int_equal(o.scans, 0);
  assert_int_equal(portlist_count(&o.ports), 0);
  done();
  ok("-sC 198.18.0.1");
  assert_string_equal(o.scripts, "default");
  done();
  /* version detection: Nmap's default intensity 7, light 2, all 9 */
  ok("-sV 198.18.0.1");
  assert_true(o.version_scan);
  assert_int_equal(o.version_intensity, 7);
  assert_null(o.scripts);
  done();
  ok("-sSV --version-light --version-trace 198.18.0.1");
  assert_true(o.version_scan && o.version_trace);
  assert_int_equal(o.scans, SCANF(SCAN_SYN));
  assert_int_equal(o.version_intensity, 2);
  done();
  ok("-sV --version-all --versiondb /x/probes 198.18.0.1");
  assert_int_equal(o.version_intensity, 9);
  assert_string_equal(o.versiondb, "/x/probes");
  done();
  ok("-sV --version-intensity 0 198.18.0.1");
  assert_int_equal(o.version_intensity, 0);
  done();
  /* -A: -sV -O -sC --traceroute */
  ok("-A 198.18.0.1");
  assert_true(o.aggressive && o.version_scan && o.os_scan && o.traceroute);
  assert_string_equal(o.scripts, "default");
  done();
  /* --traceroute needs raw packets; so does -O, which makes an
   * unprivileged -A refused, as Nmap's */
  ok("--traceroute -p 80 198.18.0.1");
  assert_true(o.traceroute);
  done();
  bad("--traceroute --unprivileged 198.18.0.1",
      "traceroute needs raw packets (root or CAP_NET_RAW): '--traceroute'");
  bad("-A --unprivileged 198.18.0.1",
      "OS detection needs root privileges (raw packets); it cannot run unprivileged: '-O'");
  /* default: SYN as root, connect otherwise */
  ok("198.18.0.1");
  assert_int_equal(o.scans, SCANF(SCAN_SYN));
  done();
  assert_int_equal(parse("198.18.0.1"), 0);
  assert_int_equal(options_finalize(&o, false, err, sizeof err), 0);
  assert_int_equal(o.scans, SCANF(SCAN_CONNECT));
  assert_int_equal(o.probes, PROBE_SYN); /* unprivileged discovery: connect to 80,443 */
  assert_int_equal(o.ps.n, 2);
  done();
  assert_int_equal(parse("--privileged 198.18.0.1"), 0);
  assert_int_equal(options_finalize(&o, false, err, sizeof err), 0);
  assert_int_equal(o.scans, SCANF(SCAN_SYN));
  done();
  assert_int_equal(parse("--unprivileged 198.18.0.1"), 0);
  assert_int_equal(options_finalize(&o, true, err, sizeof err), 0);
  assert_int_equal(o.scans, SCANF(SCAN_CONNECT));
  done();
}

static void test_discovery(void **state) {
  ok("-Pn 198.18.0.1");
  assert_true(o.skip_discovery);
  assert_int_equal(o.probes, 0);
  done();
  ok("-P0 198.18.0.1");
  assert_true(o.skip_discovery);
  done();
  ok("-PS22,80 -PA -PU53 -PE -PP 198.18.0.1");
  assert_int_equal(o.probes, PROBE_SYN | PROBE_ACK | PROBE_UDP | PROBE_ECHO | PROBE_TIMESTAMP);
  assert_false(o.default_probes);
  assert_int_equal(o.ps.n, 2);
  assert_int_equal(o.ps.v[0], 22);
  assert_int_equal(o.ps.v[1], 80);
  assert_int_equal(o.pa.n, 1);
  assert_int_equal(o.pa.v[0], 80); /* Nmap's default */
  assert_int_equal(o.pu.v[0], 53);
  done();
  ok("198.18.0.1");
  assert_true(o.default_probes);
  assert_int_equal(o.probes, PROBE_ECHO | PROBE_SYN | PROBE_ACK | PROBE_TIMESTAMP);
  assert_int_equal(o.ps.v[0], 443);
  done();
  ok("-PU 198.18.0.1");
  assert_int_equal(o.pu.v[0], 40125);
  done();
  ok("-n 198.18.0.1");
  assert_int_equal(o.dns, DNS_NEVER);
  done();
  ok("-R 198.18.0.1");
  assert_int_equal(o.dns, DNS_ALWAYS);
  done();
}

static void test_ports(void **state) {
  ok("-p22 198.18.0.1");
  assert_int_equal(portlist_count(&o.ports), 1);
  assert_int_equal(o.ports.ports[PROTO_TCP][0], 22);
  done();
  ok("-p 1-1024 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 1024);
  done();
  ok("-p- 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 65535);
  done();
  ok("-p -100 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 100);
  done();
  ok("-p 60000- 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 5536);
  done();
  ok("-sS -sU -p T:80,U:53,161 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 1);
  assert_int_equal(o.ports.n[PROTO_UDP], 2);
  done();
  ok("-sS -p T:80,U:53 198.18.0.1"); /* U: without -sU: dropped */
  assert_int_equal(o.ports.n[PROTO_UDP], 0);
  done();
  ok("-p http,ssh 198.18.0.1"); /* every port of those names (nmap-services: 8008 too) */
  assert_true(o.ports.n[PROTO_TCP] >= 2);
  assert_true(o.ports.ports[PROTO_TCP][0] == 22 && o.ports.ports[PROTO_TCP][1] == 80);
  done();
  ok("-F 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 100);
  done();
  ok("-sU -F 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_UDP], 100);
  assert_int_equal(o.ports.n[PROTO_TCP], 0);
  done();
  ok("--top-ports 10 198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 10);
  done();
  ok("--top-ports=5 -p 1-1024 198.18.0.1"); /* the top 5 of 1-1024 */
  assert_int_equal(o.ports.n[PROTO_TCP], 5);
  for (size_t i = 0; i < 5; i++) assert_true(o.ports.ports[PROTO_TCP][i] <= 1024);
  done();
  ok("-p 1-100 --exclude-ports 22,25-99 198.18.0.1"); /* 1-21, 23, 24, 100 */
  assert_int_equal(o.ports.n[PROTO_TCP], 24);
  done();
  ok("198.18.0.1");
  assert_int_equal(o.ports.n[PROTO_TCP], 1000);
  done();
}

static void test_targets(void **state) {
  ok("198.18.0.0/15 198.18.1-3.0-255 lab.example --exclude 198.18.0.0/16,skip.example");
  assert_int_equal(targets_count(o.targets), 65536);
  assert_int_equal(targets_name_count(o.targets), 1);
  assert_int_equal(targets_excluded_name_count(o.targets), 1);
  done();
  char path[] = "/tmp/test_options_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "198.18.0.1 # one\n198.18.0.2\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  char line[256];
  snprintf(line, sizeof line, "-iL %s --excludefile %s 198.18.0.0/29", path, path);
  ok(line);
  assert_int_equal(targets_count(o.targets), 6);
  done();
  snprintf(line, sizeof line, "-iL%s", path); /* attached, too */
  ok(line);
  assert_int_equal(targets_count(o.targets), 2);
  done();
  unlink(path);
  ok("-6 2001:db8::/120");
  assert_true(o.ipv6);
  assert_int_equal(targets_count6(o.targets), 256);
  done();
  ok("-- 198.18.0.1"); /* after --, words are targets */
  assert_int_equal(targets_count(o.targets), 1);
  done();
}

/* Issue 13's options: bundled short flags as Nmap's getopt takes them,
 * the XML stylesheet options, --append-output, --noninteractive. */
static void test_issue13_options(void **state) {
  ok("-nPn -p 22 198.18.0.1");
  assert_true(o.skip_discovery);
  assert_int_equal(o.dns, DNS_NEVER);
  done();
  ok("-nvv -p 22 198.18.0.1");
  assert_int_equal(o.verbose, 2);
  assert_int_equal(o.dns, DNS_NEVER);
  done();
  ok("-nPnd2 -p 22 198.18.0.1");
  assert_int_equal(o.debug, 2);
  assert_true(o.skip_discovery);
  done();
  /* Nmap 7.93 refuses these ("Invalid argument to -v"): so does trawl */
  bad("-vvn 198.18.0.1", "unknown option: '-vvn'");
  bad("-vd 198.18.0.1", "unknown option: '-vd'");
  ok("-v3 -dd -p 22 198.18.0.1");
  assert_int_equal(o.verbose, 3);
  assert_int_equal(o.debug, 2);
  done();
  ok("--stylesheet my.xsl -p 22 198.18.0.1");
  assert_string_equal(o.stylesheet, "my.xsl");
  assert_false(o.no_stylesheet);
  done();
  ok("--webxml -p 22 198.18.0.1");
  assert_string_equal(o.stylesheet, OPT_WEBXML_HREF);
  done();
  ok("--webxml --no-stylesheet -p 22 198.18.0.1"); /* the last one wins */
  assert_null(o.stylesheet);
  assert_true(o.no_stylesheet);
  done();
  ok("--append-output --noninteractive -p 22 198.18.0.1");
  assert_true(o.append_output);
  assert_true(o.noninteractive);
  done();
}

/* Issue 13, bugs 5, 8 and 9: each of these was accepted or got the wrong
 * line before. */
static void test_issue13_bugs(void **state) {
  /* 5: Nmap's --resume takes nothing else; -p 80 was silently dropped */
  bad("--resume s.trawl -p 80",
      "--resume takes no other options (the command line comes from the file): 's.trawl'");
  bad("-n --resume=s.trawl",
      "--resume takes no other options (the command line comes from the file): 's.trawl'");
  assert_int_equal(parse("--resume s.trawl"), 0);
  assert_string_equal(o.resume, "s.trawl");
  done();
  assert_int_equal(parse("--resume=s.trawl"), 0);
  done();
  /* 8: an empty -iL file is not an exclusion problem */
  char path[] = "/tmp/test_options_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  char line[256], msg[300];
  snprintf(line, sizeof line, "-iL %s", path);
  snprintf(msg, sizeof msg, "no targets in the -iL file: '%s'", path);
  bad(line, msg);
  snprintf(line, sizeof line, "-iL %s --exclude 198.18.0.1", path);
  bad(line, "no targets left after exclusions");
  unlink(path);
  bad("198.18.0.1 --exclude 198.18.0.1", "no targets left after exclusions");
  /* 9: a name's prefix length is checked like an address's */
  bad("localhost/33", "invalid target 'localhost/33': prefix length 33 out of range (0-32)");
  bad("198.18.0.1 --exclude lab.example/40",
      "invalid exclusion 'lab.example/40': prefix length 40 out of range (0-32)");
  bad("10.0.0.0/33", "invalid target '10.0.0.0/33': prefix length 33 out of range (0-32)");
  ok("localhost/32");
  done();
  ok("-6 localhost/120");
  done();
}

static void test_timing(void **state) {
  ok("198.18.0.1");
  assert_int_equal(o.timing, 3);
  assert_int_equal(o.max_retries, 10);
  assert_int_equal(o.min_rtt_ms, 100);
  assert_int_equal(o.max_rtt_ms, 10000);
  assert_int_equal(o.initial_rtt_ms, 1000);
  assert_int_equal(o.host_timeout_ms, 0);
  done();
  ok("-T4 198.18.0.1");
  assert_int_equal(o.max_retries, 6);
  assert_int_equal(o.max_rtt_ms, 1250);
  done();
  ok("-T insane 198.18.0.1");
  assert_int_equal(o.timing, 5);
  assert_int_equal(o.host_timeout_ms, 15 * 60000);
  done();
  ok("-Tpolite 198.18.0.1");
  assert_int_equal(o.scan_delay_ms, 400);
  done();
  ok("-T0 198.18.0.1");
  assert_int_equal(o.scan_delay_ms, 300000);
  assert_int_equal(o.initial_rtt_ms, 300000); /* Nmap's; the maximum is raised to it */
  done();
}

static void test_timing_values(void **state) {
  /* explicit options win over the template whatever the order */
  ok("--max-retries 1 -T5 --host-timeout 30m --scan-delay 500ms --min-rtt-timeout 0.2s "
     "--max-rtt-timeout 2 --initial-rtt-timeout 1s --min-rate 100.5 --max-rate 1000 "
     "--stats-every 10s --script-timeout 1h 198.18.0.1");
  assert_int_equal(o.max_retries, 1);
  assert_int_equal(o.host_timeout_ms, 1800000);
  assert_int_equal(o.scan_delay_ms, 500);
  assert_int_equal(o.min_rtt_ms, 200);
  assert_int_equal(o.max_rtt_ms, 2000);
  assert_int_equal(o.initial_rtt_ms, 1000);
  assert_true(o.min_rate == 100.5);
  assert_true(o.max_rate == 1000);
  assert_int_equal(o.stats_every_ms, 10000);
  assert_int_equal(o.script_timeout_ms, 3600000);
  done();
  uint64_t ms;
  assert_int_equal(options_parse_time("1.5s", &ms), 0);
  assert_int_equal(ms, 1500);
  assert_int_equal(options_parse_time("2h", &ms), 0);
  assert_int_equal(ms, 7200000);
  assert_int_equal(options_parse_time("0", &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(options_parse_time("0.1ms", &ms), 0);
  assert_int_equal(ms, 1); /* not rounded down to "none" */
  assert_int_equal(options_parse_time("", &ms), TW_EMALFORMED);
  assert_int_equal(options_parse_time("s", &ms), TW_EMALFORMED);
  assert_int_equal(options_parse_time("-1s", &ms), TW_EMALFORMED);
  assert_int_equal(options_parse_time("5d", &ms), TW_EMALFORMED);
  assert_int_equal(options_parse_time("1e3", &ms), TW_EMALFORMED);
  assert_int_equal(options_parse_time("99999999999h", &ms), TW_EMALFORMED);
  char huge[1100];
  memset(huge, '9', 1000);
  huge[1000] = '\0';
  assert_int_equal(options_parse_time(huge, &ms), TW_EMALFORMED);
  double rate;
  assert_int_equal(options_parse_rate("0.5", &rate), 0);
  assert_int_equal(options_parse_rate("0", &rate), TW_EMALFORMED);
  assert_int_equal(options_parse_rate("1e9", &rate), TW_EMALFORMED);
  assert_int_equal(options_parse_rate(huge, &rate), TW_EMALFORMED);
}

static void test_output_misc(void **state) {
  ok("-oN a.txt -oX - -oG g.txt -oJ j.json --open --reason -vv -d3 --packet-trace 198.18.0.1");
  assert_string_equal(o.out_normal, "a.txt");
  assert_string_equal(o.out_xml, "-");
  assert_string_equal(o.out_grep, "g.txt");
  assert_string_equal(o.out_json, "j.json");
  assert_true(o.open_only && o.reason && o.packet_trace);
  assert_int_equal(o.verbose, 2);
  assert_int_equal(o.debug, 3);
  done();
  ok("-oA base -oX other.xml -v -v3 -v 198.18.0.1");
  assert_string_equal(o.out_normal, "base.nmap");
  assert_string_equal(o.out_xml, "other.xml");
  assert_string_equal(o.out_grep, "base.gnmap");
  assert_string_equal(o.out_json, "base.json");
  assert_int_equal(o.verbose, 4);
  done();
  ok("-open -reason -top-ports 3 198.18.0.1"); /* single-dash long options */
  assert_true(o.open_only && o.reason);
  assert_int_equal(o.ports.n[PROTO_TCP], 3);
  done();
  ok("--seed 0x10 --shards 4 --shard 3 --stats-every 5s -e eth0 -g 53 198.18.0.1");
  assert_int_equal(o.seed, 16);
  assert_true(o.seed_set);
  assert_int_equal(o.shards, 4);
  assert_int_equal(o.shard, 3);
  assert_string_equal(o.iface, "eth0");
  assert_int_equal(o.source_port, 53);
  done();
  ok("--source-port=1024 --seed 18446744073709551615 198.18.0.1");
  assert_int_equal(o.source_port, 1024);
  assert_true(o.seed == UINT64_MAX);
  done();
  ok("--resume state.trawl");
  assert_string_equal(o.resume, "state.trawl");
  done();
  ok("--script=http-title,banner --script-args user=x,pass=y --script-args-file a.txt --script-trace -sC 198.18.0.1");
  assert_string_equal(o.scripts, "http-title,banner");
  assert_string_equal(o.script_args, "user=x,pass=y");
  assert_string_equal(o.script_args_file, "a.txt");
  assert_true(o.script_trace && o.script_default);
  assert_int_equal(o.script_threads, 0);
  done();
  ok("--script banner --script-threads 10000 198.18.0.1");
  assert_int_equal(o.script_threads, 10000);
  done();
  assert_int_equal(parse("--script-help http-title"), 0);
  assert_string_equal(o.script_help, "http-title");
  done();
  assert_int_equal(parse("-h"), 0);
  assert_true(o.help);
  done();
  assert_int_equal(parse("--help"), 0);
  assert_true(o.help);
  done();
  assert_int_equal(parse("-V"), 0);
  assert_true(o.version);
  done();
  assert_int_equal(parse("--version --dry-run"), 0);
  assert_true(o.version && o.dry_run);
  done();
  ok("-nF6 2001:db8::1"); /* bundled flags */
  assert_true(o.ipv6 && o.fast);
  assert_int_equal(o.dns, DNS_NEVER);
  done();
  ok("--datadir /nonexistent 198.18.0.1"); /* falls back to the source tree */
  assert_string_equal(o.datadir, "/nonexistent");
  done();
  /* argv joined for the outputs */
  ok("-p 22 198.18.0.1");
  assert_string_equal(o.args, "trawl -p 22 198.18.0.1");
  done();
}

static void test_errors(void **state) {
  bad("--bogus 198.18.0.1", "unrecognized option: '--bogus'");
  bad("-Z 198.18.0.1", "unrecognized option: '-Z'");
  bad("-nZ 198.18.0.1", "unrecognized option: '-nZ'");
  bad("-p", "option requires an argument: '-p'");
  bad("198.18.0.1 --top-ports", "option requires an argument: '--top-ports'");
  bad("--open=yes 198.18.0.1", "option takes no argument: '--open=yes'");
  bad("-sO 198.18.0.1", "unsupported scan type: '-sO'");
  bad("-sI 198.18.0.1", "unsupported scan type: '-sI'");
  bad("--version-intensity 10 -sV 198.18.0.1", "--version-intensity must be between 0 and 9: '10'");
  bad("--version-intensity x -sV 198.18.0.1", "invalid number for --version-intensity: 'x'");
  bad("--version-light 198.18.0.1", "version detection options need -sV (or -A): '--version-intensity'");
  bad("--versiondb /tmp/x 198.18.0.1", "version detection options need -sV (or -A): '--versiondb'");
  bad("-sV -sn 198.18.0.1", "version detection needs a port scan (not -sn): '-sV'");
  bad("-Ax 198.18.0.1", "unrecognized option: '-Ax'");
  bad("-sQ 198.18.0.1", "unknown scan type: '-sQ'");
  bad("-s 198.18.0.1", "missing scan type after -s: '-s'");
  bad("-PY 198.18.0.1", "unsupported host discovery option: '-PY'");
  bad("-PMx 198.18.0.1", "unknown host discovery option: '-PMx'");
  bad("-PEx 198.18.0.1", "unknown host discovery option: '-PEx'");
  bad("-P 198.18.0.1", "missing host discovery type after -P: '-P'");
  bad("-PS70000 198.18.0.1", "invalid -PS port list '70000': port 70000 out of range (0-65535)");
  bad("-PST:80 198.18.0.1", "invalid -PS port list 'T:80': protocol prefixes are not allowed here");
  bad("-PShttp 198.18.0.1", "invalid -PS port list 'http': service names are not allowed here: 'http'");
  bad("-p 70000 198.18.0.1", "invalid port specification '70000': port 70000 out of range (0-65535)");
  bad("-p 100-10 198.18.0.1", "invalid port specification '100-10': range 100-10 is reversed");
  bad("-p nosuch 198.18.0.1", "invalid port specification 'nosuch': unknown service name 'nosuch'");
  bad("--exclude-ports x-y -p 1-10 198.18.0.1",
      "invalid --exclude-ports specification 'x-y': unknown service name 'x-y'");
  bad("-p 22 --exclude-ports 22 198.18.0.1", "no ports left to scan: '22'");
  bad("198.18.300.1", "invalid target '198.18.300.1': octet 300 out of range");
  bad("--exclude 198.18.0.300 198.18.0.1", "invalid exclusion '198.18.0.300': octet 300 out of range");
  bad("-iL /nonexistent/file", "cannot open target file '/nonexistent/file': No such file or directory");
  bad("--excludefile /nonexistent/file 198.18.0.1",
      "cannot open exclude file '/nonexistent/file': No such file or directory");
  bad("-v", "no targets were specified (see trawl --help)");
  bad("198.18.0.0/24 --exclude 198.18.0.0/16", "no targets left after exclusions");
  bad("2001:db8::1", "IPv6 targets need -6: '2001:db8::1'");
  bad("-6 198.18.0.1", "IPv4 targets cannot be scanned with -6: '198.18.0.1'");
  bad("-T9 198.18.0.1", "invalid timing template (0-5 or paranoid|sneaky|polite|normal|aggressive|insane): '9'");
  bad("-T 198.18.0.1", "invalid timing template (0-5 or paranoid|sneaky|polite|normal|aggressive|insane): '198.18.0.1'");
  bad("--max-retries abc 198.18.0.1", "invalid number for --max-retries: 'abc'");
  bad("--max-retries 101 198.18.0.1", "--max-retries must be between 0 and 100: '101'");
  bad("--max-retries 99999999999999999999999999999999999 198.18.0.1",
      "--max-retries must be between 0 and 100: '99999999999999999999999999999999999'");
  bad("--max-retries -1 198.18.0.1", "invalid number for --max-retries: '-1'");
  bad("--top-ports 0 198.18.0.1", "--top-ports must be between 1 and 65536: '0'");
  bad("--host-timeout 10x 198.18.0.1",
      "invalid time for --host-timeout (a number with optional ms, s, m or h): '10x'");
  bad("--scan-delay=-1 198.18.0.1",
      "invalid time for --scan-delay (a number with optional ms, s, m or h): '-1'");
  bad("--min-rtt-timeout 1d 198.18.0.1",
      "invalid time for --min-rtt-timeout (a number with optional ms, s, m or h): '1d'");
  bad("--max-rtt-timeout x 198.18.0.1",
      "invalid time for --max-rtt-timeout (a number with optional ms, s, m or h): 'x'");
  bad("--stats-every 1y 198.18.0.1",
      "invalid time for --stats-every (a number with optional ms, s, m or h): '1y'");
  bad("--script-timeout q 198.18.0.1",
      "invalid time for --script-timeout (a number with optional ms, s, m or h): 'q'");
  bad("--script-threads 0 198.18.0.1", "--script-threads must be between 1 and 1000000: '0'");
  bad("--script-threads=lots 198.18.0.1", "invalid number for --script-threads: 'lots'");
  bad("--min-rate 0 198.18.0.1", "invalid rate for --min-rate (packets per second, more than 0): '0'");
  bad("--max-rate fast 198.18.0.1", "invalid rate for --max-rate (packets per second, more than 0): 'fast'");
  bad("--min-rate 100 --max-rate 10 198.18.0.1", "--min-rate is greater than --max-rate (10): '100'");
  /* RTT timeouts given alone or against each other: tests/unit/test_timing.c */
  bad("--seed xyz 198.18.0.1", "invalid number for --seed: 'xyz'");
  bad("--seed 18446744073709551616 198.18.0.1",
      "--seed must be between 0 and 18446744073709551615: '18446744073709551616'");
  bad("--shards 0 198.18.0.1", "--shards must be between 1 and 1048576: '0'");
  bad("--shards 4 --shard 4 198.18.0.1", "--shard must be less than --shards (4): '4'");
  bad("--shard 1 198.18.0.1", "--shard must be less than --shards (1): '1'");
  bad("-g 65536 198.18.0.1", "-g must be between 0 and 65535: '65536'");
  bad("--source-port x 198.18.0.1", "invalid number for --source-port: 'x'");
  bad("-e toolonginterfacename0 198.18.0.1", "interface name must be 1-15 characters: 'toolonginterfacename0'");
  bad("-e et/h0 198.18.0.1", "invalid interface name: 'et/h0'");
  bad("-oQ f 198.18.0.1", "unknown output format (use -oN, -oX, -oG, -oJ or -oA): '-oQ'");
  bad("-oXX f 198.18.0.1", "unknown output format (use -oN, -oX, -oG, -oJ or -oA): '-oXX'");
  bad("-oA - 198.18.0.1", "-oA needs a base file name, not standard output: '-'");
  bad("-oN - -oX - 198.18.0.1", "only one output format can go to standard output: '-'");
  bad("-oN same -oG same 198.18.0.1", "two output formats name the same file: 'same'");
  bad("-iQ 10", "unknown option: '-iQ'");
  bad("-v12 198.18.0.1", "-v level must be between 0 and 9: '-v12'");
  bad("-vx 198.18.0.1", "unknown option: '-vx'");
  bad("-nPx 198.18.0.1", "unrecognized option: '-nPx'");
  bad("-sS -sT 198.18.0.1", "only one TCP scan type (-sS, -sT, -sA, -sN, -sF, -sX, -sM, -sW) can be used: '-sT'");
  bad("-sS -sA 198.18.0.1", "only one TCP scan type (-sS, -sT, -sA, -sN, -sF, -sX, -sM, -sW) can be used: '-sA'");
  bad("-sn -sS 198.18.0.1", "-sn (no port scan) cannot be combined with a port scan type: '-sn'");
  bad("-sn -p 80 198.18.0.1",
      "-sn (no port scan) cannot be combined with port selection (-p, -F, --top-ports, --exclude-ports): '-sn'");
  bad("-F -p 80 198.18.0.1", "-F (fast scan) cannot be combined with -p: '-F'");
  bad("-F --top-ports 10 198.18.0.1", "-F (fast scan) cannot be combined with --top-ports: '-F'");
  bad("-Pn -PE 198.18.0.1", "-Pn (no host discovery) cannot be combined with discovery probes: '-Pn'");
  bad("--resume s.trawl 198.18.0.1",
      "--resume takes no other options (the command line comes from the file): 's.trawl'");
  bad("--script= 198.18.0.1", "empty argument for --script: ''");
  bad("-script", "option requires an argument: '--script'");
  /* unprivileged */
  assert_int_equal(parse("-sS 198.18.0.1"), 0);
  assert_int_equal(options_finalize(&o, false, err, sizeof err), TW_EMALFORMED);
  assert_string_equal(err, "this scan type needs root privileges (or --privileged): '-sS'");
  done();
  assert_int_equal(parse("-sU --unprivileged 198.18.0.1"), 0);
  assert_int_equal(options_finalize(&o, true, err, sizeof err), TW_EMALFORMED);
  assert_string_equal(err, "this scan type needs root privileges (or --privileged): '-sU'");
  done();
  for (int k = 0; k < 2; k++) { /* -PE, and -PR (test_ping_arp) */
    assert_int_equal(parse(k ? "-sT -PR 198.18.0.1" : "-sT -PE 198.18.0.1"), 0);
    assert_int_equal(options_finalize(&o, false, err, sizeof err), TW_EMALFORMED);
    assert_string_equal(err, "ICMP, ACK, UDP and ARP discovery probes need root privileges (or --privileged): '-P'");
    done();
  }
  /* hostile argument text is quoted safely and cut short */
  bad("--bogus\x1b[2J 198.18.0.1", "unrecognized option: '--bogus\\x1b[2J'");
  char line[1200] = "--max-retries ";
  memset(line + 14, '7', 1000);
  line[1014] = '\0';
  assert_int_equal(parse(line), TW_EMALFORMED);
  assert_true(strlen(err) < 200);
  assert_non_null(strstr(err, "...'"));
  done();
}

/* What a printer of o writes, as a string to free. */
static char *report_text(void (*print)(FILE *f, const struct options *o)) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  print(f, &o);
  fclose(f);
  return text;
}

static void test_plan(void **state) {
  ok("-sS -sU -p T:22,80,U:53 --seed 7 --shards 2 --shard 1 -oX out.xml --reason -n "
     "198.18.0.0/30 lab.example --exclude 198.18.0.1 --min-rate 1000 --script-timeout 5m -sC");
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  options_print_plan(f, &o);
  fclose(f);
  assert_non_null(strstr(buf, "dry run: nothing will be sent\n"));
  assert_non_null(strstr(buf, "scan types:  syn (-sS), udp (-sU)\n"));
  assert_non_null(strstr(buf, "targets:     3 addresses (3 IPv4, 0 IPv6) in 2 ranges\n"
                              "             first 198.18.0.0, last 198.18.0.3\n"
                              "to resolve:  lab.example\n"));
  assert_non_null(strstr(buf, "tcp ports:   2 (22,80)\nudp ports:   1 (53)\nprobes:      9 "));
  assert_non_null(strstr(buf, "discovery:   -PE -PS443 -PA80 -PP (default)\n"));
  assert_non_null(strstr(buf, "dns:         never (-n)\n"));
  assert_non_null(strstr(buf, "rate:        min 1000/s, max none\n"));
  assert_non_null(strstr(buf, "order:       seed 7, shard 1 of 2\n"));
  assert_non_null(strstr(buf, "; xml -> out.xml\n"));
  assert_non_null(strstr(buf, "display:     verbose 0, debug 0, --reason\n"));
  assert_non_null(strstr(buf, "scripts:     default; timeout 5m\n"));
  free(buf);
  done();
  /* --help names every long option in the table */
  buf = NULL;
  f = open_memstream(&buf, &len);
  options_usage(f);
  fclose(f);
  for (size_t k = 0; options_long_name(k); k++) {
    char want[64];
    snprintf(want, sizeof want, "%s", options_long_name(k));
    /* grouped spellings: "--min-rtt-timeout/max-rtt-timeout/initial-rtt-timeout" */
    if (strstr(buf, want) == NULL) fail_msg("--help does not mention --%s", want);
  }
  /* short options, some in grouped spellings such as "-sS/sT/sA" */
  static const char *const shorts[] = {"-sS", "sT", "sA", "-sU", "-sn", "-sC", "-Pn", "-PS", "PA", "PU",
                                       "-PE", "PP", "-p ", "-F", "-T<0-5>", "-oN", "oX", "oG", "oJ", "-oA",
                                       "-v", "-d", "-n", "-R", "-iL", "-6", "-e ", "-g", "-V", "-h"};
  for (size_t k = 0; k < sizeof shorts / sizeof shorts[0]; k++)
    if (strstr(buf, shorts[k]) == NULL) fail_msg("--help does not mention %s", shorts[k]);
  free(buf);
}

/* Every option in the table is documented in the man page. */
static void test_man_page(void **state) {
  FILE *f = fopen(TW_SRCDIR "/docs/trawl.1", "r");
  assert_non_null(f);
  static char text[200000];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  for (size_t k = 0; options_long_name(k); k++) {
    /* troff writes "-" as "\-" */
    char want[80], *o2 = want;
    for (const char *c = options_long_name(k); *c; c++) {
      if (*c == '-') *o2++ = '\\';
      *o2++ = *c;
    }
    *o2 = '\0';
    if (strstr(text, want) == NULL) fail_msg("docs/trawl.1 does not document --%s", options_long_name(k));
  }
}

/* Issue 13's second round: -r, -sL, the TCP flag scans. */
static void test_issue13_more(void **state) {
  (void)state;
  ok("-n -p 22 10.0.0.1");
  assert_false(o.ports_in_order);
  options_free(&o);
  ok("-r -p 22 10.0.0.1");
  assert_true(o.ports_in_order);
  options_free(&o);
  ok("-nr -p 22 10.0.0.1");
  assert_true(o.ports_in_order);
  assert_int_equal(o.dns, DNS_NEVER);
  options_free(&o);
  bad("-r3 -p 22 10.0.0.1", "unrecognized option: '-r3'");
  static const struct { const char *arg; enum scan_type t; } fl[] = {
      {"-sN", SCAN_NULL}, {"-sF", SCAN_FIN}, {"-sX", SCAN_XMAS}, {"-sM", SCAN_MAIMON}, {"-sW", SCAN_WINDOW}};
  char line[64];
  for (size_t k = 0; k < 5; k++) {
    snprintf(line, sizeof line, "%s -p 22 10.0.0.1", fl[k].arg);
    ok(line);
    assert_int_equal(o.scans, SCANF(fl[k].t));
    assert_int_equal(o.scanflags, -1);
    options_free(&o);
  }
  bad("-sN -sF 10.0.0.1", "only one TCP scan type (-sS, -sT, -sA, -sN, -sF, -sX, -sM, -sW) can be used: '-sF'");
  bad("-sS -sW 10.0.0.1", "only one TCP scan type (-sS, -sT, -sA, -sN, -sF, -sX, -sM, -sW) can be used: '-sW'");
  ok("--scanflags SYNFIN -p 22 10.0.0.1");
  assert_int_equal(o.scanflags, 0x03);
  assert_int_equal(o.scans, SCANF(SCAN_SYN));
  options_free(&o);
  ok("--scanflags urgpshfin -sF -p 22 10.0.0.1");
  assert_int_equal(o.scanflags, 0x29);
  options_free(&o);
  ok("--scanflags 0x12 -p 22 10.0.0.1");
  assert_int_equal(o.scanflags, 0x12);
  options_free(&o);
  ok("--scanflags 9 -p 22 10.0.0.1");
  assert_int_equal(o.scanflags, 9);
  options_free(&o);
  bad("--scanflags SYNX -p 22 10.0.0.1",
      "--scanflags takes a number or flag names (URG ACK PSH RST SYN FIN ECE CWR) run together, e.g. SYNFIN: 'SYNX'");
  bad("--scanflags 256 -p 22 10.0.0.1", "--scanflags must be between 0 and 255: '256'");
  bad("--scanflags SYN -sT -p 22 10.0.0.1",
      "--scanflags needs a raw TCP scan (-sS, -sA, -sN, -sF, -sX, -sM or -sW): '--scanflags'");
  ok("-sL 10.0.0.0/30");
  assert_true(o.list_scan);
  assert_true(o.no_portscan);
  assert_true(o.skip_discovery);
  assert_int_equal(o.scans, 0);
  options_free(&o);
  ok("-sL -p 22 10.0.0.1"); /* ports ignored, as Nmap ignores them */
  assert_true(o.list_scan);
  options_free(&o);
  bad("-sL -sS 10.0.0.1", "-sL (list scan) cannot be combined with another scan type or -sn: '-sL'");
  bad("-sL -sn 10.0.0.1", "-sL (list scan) cannot be combined with another scan type or -sn: '-sL'");
  bad("-sL -PE 10.0.0.1", "-sL (list scan) cannot be combined with discovery options (-P...): '-sL'");
  bad("-sL -sV 10.0.0.1", "-sL (list scan) cannot be combined with -sV, -O, -sC, --script, --traceroute or -A: '-sL'");
}

/* The packet options (--ttl, --data, --data-string, --data-length,
 * --badsum): values, Nmap's hex forms, Nmap's limits and its "only one
 * payload" rule. */
static void test_packet_options(void **state) {
  (void)state;
  ok("-p 22 198.18.0.1");
  assert_int_equal(o.ttl, OPT_UNSET);
  assert_false(o.data_set);
  assert_false(o.badsum);
  done();
  ok("--ttl 30 --badsum -p 22 198.18.0.1");
  assert_int_equal(o.ttl, 30);
  assert_true(o.badsum);
  done();
  ok("--ttl 0 -p 22 198.18.0.1");
  assert_int_equal(o.ttl, 0);
  done();
  ok("--ttl=255 -p 22 198.18.0.1");
  assert_int_equal(o.ttl, 255);
  done();
  bad("--ttl 256 -p 22 198.18.0.1", "--ttl must be between 0 and 255: '256'");
  bad("--ttl -1 -p 22 198.18.0.1", "invalid number for --ttl: '-1'");
  bad("--ttl x -p 22 198.18.0.1", "invalid number for --ttl: 'x'");
  bad("-p 22 198.18.0.1 --ttl", "option requires an argument: '--ttl'");
  static const struct { const char *arg; const char *bytes; size_t n; } hex[] = {
      {"0xdeadbeef", "\xde\xad\xbe\xef", 4}, {"0XDEAD", "\xde\xad", 2},
      {"cafe09", "\xca\xfe\x09", 3},        {"\\xCA\\xFE\\x09", "\xca\xfe\x09", 3},
      {"0x00ff", "\x00\xff", 2}};
  char line[128];
  for (size_t k = 0; k < sizeof hex / sizeof hex[0]; k++) {
    snprintf(line, sizeof line, "--data %s -p 22 198.18.0.1", hex[k].arg);
    ok(line);
    assert_true(o.data_set);
    assert_int_equal(o.data_len, hex[k].n);
    assert_memory_equal(o.data, hex[k].bytes, hex[k].n);
    done();
  }
  static const char *const badhex[] = {"0x", "0x1", "abc", "zz", "0xdead\\xbe", "\\x4", "\\x41x", "\\xg1"};
  char msg[256];
  for (size_t k = 0; k < sizeof badhex / sizeof badhex[0]; k++) {
    snprintf(line, sizeof line, "--data %s -p 22 198.18.0.1", badhex[k]);
    snprintf(msg, sizeof msg, "invalid hex string for --data (0xAABB..., AABB... or \\xAA\\xBB...): '%s'",
             badhex[k]);
    bad(line, msg);
  }
  ok("--data-string hello -p 22 198.18.0.1");
  assert_int_equal(o.data_len, 5);
  assert_memory_equal(o.data, "hello", 5);
  done();
  ok("--data-length 20 -p 22 198.18.0.1");
  assert_true(o.data_set);
  assert_int_equal(o.data_len, 20);
  done();
  ok("--data-length 0 -p 22 198.18.0.1"); /* no payload, and no UDP protocol payloads */
  assert_true(o.data_set);
  assert_int_equal(o.data_len, 0);
  done();
  ok("--data-length 65435 -p 22 198.18.0.1");
  assert_int_equal(o.data_len, 65435);
  done();
  bad("--data-length 65436 -p 22 198.18.0.1", "--data-length must be between 0 and 65435: '65436'");
  bad("--data-length -5 -p 22 198.18.0.1", "invalid number for --data-length: '-5'");
  bad("--data-string x --data-length 3 -p 22 198.18.0.1",
      "--data, --data-string and --data-length cannot be combined or given twice: '--data-length'");
  bad("--data 0x41 --data 0x42 -p 22 198.18.0.1",
      "--data, --data-string and --data-length cannot be combined or given twice: '--data'");
  bad("--data-length 3 --data-string y -p 22 198.18.0.1",
      "--data, --data-string and --data-length cannot be combined or given twice: '--data-string'");
  bad("--badsum=1 -p 22 198.18.0.1", "option takes no argument: '--badsum=1'");
  /* raw probes only: without privileges there are none to change */
  static const char *const raw[] = {"--ttl 3",        "--data 0x41", "--data-string x", "--data-length 1",
                                    "--badsum",       "--ip-options R", "-f",           "--mtu 16",
                                    "-D 198.18.0.7"};
  for (size_t k = 0; k < sizeof raw / sizeof raw[0]; k++) {
    snprintf(line, sizeof line, "%s -p 22 198.18.0.1", raw[k]);
    int r = parse(line);
    if (r == 0) r = options_finalize(&o, false, err, sizeof err);
    if (r == 0) fail_msg("'%s' accepted unprivileged", line);
    char opt[32];
    snprintf(opt, sizeof opt, "%s", raw[k]);
    *strchrnul(opt, ' ') = '\0';
    snprintf(msg, sizeof msg, "%s changes raw probes: it needs root privileges (or --privileged): '%s'", opt, opt);
    assert_string_equal(err, msg);
    options_free(&o);
  }
}

/* -S: the raw probes' source address, of the family -6 says; connections
 * cannot carry it yet, so those stages refuse it with one line. */
static void test_spoof_source(void **state) {
  (void)state;
  ok("-S 198.18.10.5 -Pn -p 22 198.18.0.1");
  assert_int_equal(o.spoof.family, AF_INET);
  assert_int_equal(ntohl(o.spoof.v4.s_addr), 0xc6120a05u);
  done();
  ok("-S198.18.10.5 -e up0 -p 22 198.18.0.1"); /* attached, as getopt takes it */
  assert_int_equal(o.spoof.family, AF_INET);
  assert_string_equal(o.iface, "up0");
  done();
  ok("-6 -S 2001:db8:10::5 -p 22 2001:db8::1");
  assert_int_equal(o.spoof.family, AF_INET6);
  assert_int_equal(o.spoof.v6.s6_addr[15], 5);
  done();
  ok("-p 22 198.18.0.1");
  assert_int_equal(o.spoof.family, 0);
  done();
  bad("-S foo -p 22 198.18.0.1", "-S needs an IPv4 or IPv6 address: 'foo'");
  bad("-S 198.18.10.256 -p 22 198.18.0.1", "-S needs an IPv4 or IPv6 address: '198.18.10.256'");
  bad("-p 22 198.18.0.1 -S", "option requires an argument: '-S'");
  bad("-S 2001:db8::5 -p 22 198.18.0.1", "-S needs an IPv4 address (IPv6 with -6): '2001:db8::5'");
  bad("-6 -S 198.18.10.5 -p 22 2001:db8::1", "-S needs an IPv6 address with -6: '198.18.10.5'");
  static const char *const conn[] = {"-sT", "-sV", "-sC", "--script banner", "-A"};
  char line[128];
  for (size_t k = 0; k < sizeof conn / sizeof conn[0]; k++) {
    snprintf(line, sizeof line, "-S 198.18.10.5 %s -p 22 198.18.0.1", conn[k]);
    bad(line, "-S sets the source of raw probes only; with -sT, -sV, -sC, --script or -A it is not in trawl yet: '-S'");
  }
  int r = parse("-S 198.18.10.5 -p 22 198.18.0.1");
  if (r == 0) r = options_finalize(&o, false, err, sizeof err);
  assert_int_not_equal(r, 0);
  assert_string_equal(err, "-S changes raw probes: it needs root privileges (or --privileged): '-S'");
  options_free(&o);
}

/* --ip-options, -f/-ff/--mtu, -D: the forms Nmap takes, and one line for
 * each bad value. */
static void test_evasion_options(void **state) {
  (void)state;
  ok("--ip-options R -p 22 198.18.0.1");
  assert_int_equal(o.ipopt_len, 40);
  assert_int_equal(o.ipopt[0], 7);
  assert_int_equal(o.ipopt[1], 39);
  assert_int_equal(o.ipopt[2], 4);
  assert_int_equal(o.ipopt[39], 0);
  done();
  ok("--ip-options \\x01\\x07\\x04\\x00*36\\x01 -p 22 198.18.0.1"); /* the man page's example */
  assert_int_equal(o.ipopt_len, 40);
  assert_int_equal(o.ipopt[1], 7);
  assert_int_equal(o.ipopt[38], 0);
  assert_int_equal(o.ipopt[39], 1);
  done();
  ok("--ip-options \\x01 -p 22 198.18.0.1"); /* padded to 4 */
  assert_int_equal(o.ipopt_len, 4);
  done();
  bad("--ip-options X -p 22 198.18.0.1",
      "--ip-options takes R, T, U, L or S and addresses, or bytes as \\xHH (\\xHH*N repeats one): 'X'");
  bad("--ip-options \\x01*41 -p 22 198.18.0.1", "--ip-options repeat count must be 1-40: '\\x01*41'");
  bad("--ip-options \\x01*40\\x01 -p 22 198.18.0.1",
      "--ip-options IP options cannot be more than 40 bytes: '\\x01*40\\x01'");
  bad("--ip-options RR -p 22 198.18.0.1",
      "--ip-options takes R, T, U, L or S and addresses, or bytes as \\xHH (\\xHH*N repeats one): 'RR'");
  ok("-f -p 22 198.18.0.1");
  assert_int_equal(o.frag, 8);
  done();
  ok("-ff -p 22 198.18.0.1");
  assert_int_equal(o.frag, 16);
  done();
  ok("-f -f -p 22 198.18.0.1");
  assert_int_equal(o.frag, 16);
  done();
  ok("--mtu 24 -p 22 198.18.0.1");
  assert_int_equal(o.frag, 24);
  done();
  bad("--mtu 12 -p 22 198.18.0.1", "--mtu must be a multiple of 8 (the fragments' payload): '12'");
  bad("--mtu 0 -p 22 198.18.0.1", "--mtu must be between 1 and 65528: '0'");
  bad("--mtu x -p 22 198.18.0.1", "invalid number for --mtu: 'x'");
  bad("-6 -f -p 22 2001:db8::1", "fragmentation (-f) is not supported with IPv6: '-f'");
  bad("-f -sU -Pn -p 53 198.18.0.1",
      "fragmentation (-f) needs a raw TCP scan (-sS -sA -sN -sF -sX -sM -sW) or TCP or ICMP timestamp discovery probes, as in Nmap: '-f'");
  ok("-f -sU -p 53 198.18.0.1"); /* the discovery's TCP probes: Nmap takes it */
  done();
  ok("-D 198.18.0.7,ME,198.18.0.8 -p 22 198.18.0.1");
  assert_int_equal(o.ndecoys, 3);
  assert_int_equal(o.decoys[0].family, AF_INET);
  assert_int_equal(o.decoys[0].b[3], 7);
  assert_int_equal(o.decoys[1].family, 0); /* ME */
  assert_int_equal(o.decoys[2].b[3], 8);
  done();
  ok("-D 198.18.0.7,198.18.0.8 -p 22 198.18.0.1"); /* ME at a random place */
  assert_int_equal(o.ndecoys, 3);
  int me = 0;
  for (size_t k = 0; k < 3; k++) me += o.decoys[k].family == 0;
  assert_int_equal(me, 1);
  done();
  for (int round = 0; round < 20; round++) {
    ok("-D RND:8,ME -p 22 198.18.0.1");
    assert_int_equal(o.ndecoys, 9);
    for (size_t k = 0; k < 8; k++) {
      const uint8_t *b = o.decoys[k].b;
      assert_int_equal(o.decoys[k].family, AF_INET);
      /* never reserved: private, loopback, the lab's 198.18/15, multicast... */
      assert_false(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224);
      assert_false(b[0] == 198 && (b[1] & 0xfe) == 18);
      assert_false(b[0] == 192 && b[1] == 168);
      assert_false(b[0] == 172 && (b[1] & 0xf0) == 16);
    }
    assert_int_equal(o.decoys[8].family, 0);
    done();
  }
  bad("-D 198.18.0.7,ME,ME -p 22 198.18.0.1", "-D: ME may be given only once: '198.18.0.7,ME,ME'");
  bad("-D RND:0 -p 22 198.18.0.1", "-D: RND:n needs a count of 1 or more: 'RND:0'");
  bad("-D RND:x -p 22 198.18.0.1", "-D: RND:n needs a count of 1 or more: 'RND:x'");
  bad("-D ,ME -p 22 198.18.0.1", "-D takes addresses, ME and RND[:n] separated by commas: ',ME'");
  bad("-D decoy.example -p 22 198.18.0.1", "-D takes IP addresses (not names), ME and RND[:n]: 'decoy.example'");
  bad("-D RND:200 -p 22 198.18.0.1", "-D takes at most 128 decoys, ME included: 'RND:200'");
  bad("-D 2001:db8::7 -p 22 198.18.0.1", "-D needs IPv4 decoys (IPv6 with -6): '-D'");
  ok("--send-ip -p 22 198.18.0.1");
  assert_true(o.send_ip);
  done();
  ok("--send-eth -p 22 198.18.0.1");
  assert_true(o.send_eth);
  assert_null(o.spoof_mac);
  done();
  ok("--spoof-mac Apple -p 22 198.18.0.1"); /* parsed at scan start (scan/ethsend.c) */
  assert_true(o.send_eth);
  assert_string_equal(o.spoof_mac, "Apple");
  done();
  bad("--send-eth --send-ip -p 22 198.18.0.1", "--send-eth and --send-ip cannot be combined: '--send-eth'");
  bad("--spoof-mac 0 --send-ip -p 22 198.18.0.1",
      "--spoof-mac and --send-ip cannot be combined: '--spoof-mac'");
  bad("--spoof-mac 0 --spoof-mac 1 -p 22 198.18.0.1", "--spoof-mac given twice: '1'");
}

/* --min-parallelism, --max-parallelism, --min-hostgroup, --max-scan-delay:
 * values, Nmap's bounds and order checks, and where they land (the
 * engine's window and floor, the timing report). */
static void test_parallelism_hostgroup(void **state) {
  (void)state;
  ok("-p 22 198.18.0.1");
  assert_int_equal(o.min_parallelism, 0);
  assert_int_equal(o.max_parallelism, 0);
  assert_int_equal(o.min_hostgroup, 0);
  assert_true(o.max_scan_delay_ms == OPT_UNSET_MS);
  done();
  ok("--min-parallelism 2 --max-parallelism 5 --min-hostgroup 3 --max-scan-delay 10ms -p 22 198.18.0.1");
  assert_int_equal(o.min_parallelism, 2);
  assert_int_equal(o.max_parallelism, 5);
  assert_int_equal(o.min_hostgroup, 3);
  assert_int_equal(o.max_scan_delay_ms, 10);
  done();
  ok("--max-parallelism 1 --min-parallelism 1 -p 22 198.18.0.1");
  assert_int_equal(o.max_parallelism, 1);
  done();
  ok("--max-scan-delay 0 -p 22 198.18.0.1"); /* Nmap takes 0 */
  assert_int_equal(o.max_scan_delay_ms, 0);
  done();
  ok("--min-hostgroup 5 --max-hostgroup 5 -p 22 198.18.0.1");
  assert_int_equal(o.min_hostgroup, 5);
  done();
  bad("--min-parallelism 0 -p 22 198.18.0.1", "--min-parallelism must be between 1 and 262144: '0'");
  bad("--max-parallelism 0 -p 22 198.18.0.1", "--max-parallelism must be between 1 and 262144: '0'");
  bad("--max-parallelism 262145 -p 22 198.18.0.1", "--max-parallelism must be between 1 and 262144: '262145'");
  bad("--max-parallelism x -p 22 198.18.0.1", "invalid number for --max-parallelism: 'x'");
  bad("--min-parallelism 6 --max-parallelism 5 -p 22 198.18.0.1",
      "--min-parallelism is greater than --max-parallelism (5): '6'");
  bad("--min-hostgroup 0 -p 22 198.18.0.1", "--min-hostgroup must be between 1 and 100000: '0'");
  bad("--min-hostgroup 100001 -p 22 198.18.0.1", "--min-hostgroup must be between 1 and 100000: '100001'");
  bad("--min-hostgroup 10 --max-hostgroup 5 -p 22 198.18.0.1",
      "--min-hostgroup is greater than --max-hostgroup (5): '10'");
  bad("--max-scan-delay -1 -p 22 198.18.0.1",
      "invalid time for --max-scan-delay (a number with optional ms, s, m or h): '-1'");
  bad("--max-scan-delay 5x -p 22 198.18.0.1",
      "invalid time for --max-scan-delay (a number with optional ms, s, m or h): '5x'");
  /* where they land: the host groups... */
  ok("-p- 198.18.0.0/20"); /* 65535 ports: groups of 256 */
  assert_int_equal(scan_group_size(&o), 256);
  done();
  ok("-p- --min-hostgroup 300 198.18.0.0/20");
  assert_int_equal(scan_group_size(&o), 300);
  done();
  ok("-p- --min-hostgroup 100 198.18.0.0/20"); /* below trawl's own floor: no change */
  assert_int_equal(scan_group_size(&o), 256);
  done();
  ok("-p 22 --min-hostgroup 5000 198.18.0.0/16"); /* above trawl's 4096 for a small scan */
  assert_int_equal(scan_group_size(&o), 5000);
  done();
  ok("-p- --min-hostgroup 300 --max-hostgroup 300 198.18.0.0/20");
  assert_int_equal(scan_group_size(&o), 300);
  done();
  /* ... the engine and the timing report */
  ok("--min-parallelism 2 --max-parallelism 5 -p 22 198.18.0.1");
  struct engine_config c;
  timing_engine_config(&o, 0, &c);
  assert_int_equal(c.window, 5);
  assert_int_equal(c.min_parallelism, 2);
  assert_int_equal(timing_connect_parallelism(&o), 5);
  done();
  ok("-p 22 198.18.0.1");
  timing_engine_config(&o, 0, &c);
  assert_int_equal(c.window, 1u << 18);
  assert_int_equal(c.min_parallelism, 0);
  done();
  ok("-T4 --scan-delay 10ms --max-scan-delay 5ms --min-hostgroup 3 --max-parallelism 7 -p 22 198.18.0.1");
  char *text = report_text(timing_print_report);
  /* as Nmap's report: the given ceiling, whatever --scan-delay says */
  assert_non_null(strstr(text, "  max-scan-delay: TCP 5, UDP 5, SCTP 5\n"));
  assert_non_null(strstr(text, "  hostgroups: min 3, max 100000\n"));
  assert_non_null(strstr(text, "  parallelism: min 0, max 7\n"));
  assert_int_equal(o.scan_delay_ms, 10); /* trawl's fixed delay stays as given */
  free(text);
  done();
}

/* --dns-servers, --system-dns (issue 13) */
static void test_dns_options(void **state) {
  (void)state;
  ok("-p 22 198.18.0.1");
  assert_null(o.dns_servers);
  assert_false(o.system_dns);
  done();
  ok("--dns-servers 198.18.30.11,2001:db8::53 -p 22 198.18.0.1");
  assert_string_equal(o.dns_servers, "198.18.30.11,2001:db8::53");
  done();
  ok("--system-dns -p 22 198.18.0.1");
  assert_true(o.system_dns);
  done();
  bad("--dns-servers 198.18.30 -p 22 198.18.0.1",
      "--dns-servers needs IP addresses separated by commas: '198.18.30'");
  bad("--dns-servers 198.18.30.11,,198.18.30.12 -p 22 198.18.0.1",
      "--dns-servers needs IP addresses separated by commas: '198.18.30.11,,198.18.30.12'");
  bad("--dns-servers 198.18.30.11,ns.example -p 22 198.18.0.1",
      "--dns-servers needs IP addresses separated by commas: 'ns.example'");
  bad("--system-dns=yes -p 22 198.18.0.1", "option takes no argument: '--system-dns=yes'");
}

/* -PM: the ICMP address mask request, alone or with others (issue 13) */
/* -PO: Nmap's default protocols 1,2,4; a list; the plan names it; numbers
 * past 255, more than 32 protocols and IPv6 refused. */
static void test_ping_proto(void **state) {
  (void)state;
  ok("-PO -sn 198.18.0.1");
  assert_int_equal(o.probes, PROBE_PROTO);
  assert_int_equal(o.po.n, 3);
  assert_int_equal(o.po.v[0], 1);
  assert_int_equal(o.po.v[1], 2);
  assert_int_equal(o.po.v[2], 4);
  done();
  ok("-PO6,47,17 -PE -sn 198.18.0.1");
  assert_int_equal(o.probes, PROBE_PROTO | PROBE_ECHO);
  assert_int_equal(o.po.n, 3);
  char *text = report_text(options_print_plan);
  assert_non_null(strstr(text, " -PO"));
  free(text);
  done();
  bad("-PO256 -sn 198.18.0.1", "-PO takes IP protocol numbers from 0 to 255: '256'");
  bad("-PO0-40 -sn 198.18.0.1", "-PO takes at most 32 protocols: '0-40'");
  bad("-6 -PO -sn 2001:db8::1", "-PO (IP protocol ping) is IPv4 only in trawl: '-PO'");
}

static void test_ping_mask(void **state) {
  (void)state;
  ok("-PM -p 22 198.18.0.1");
  assert_int_equal(o.probes, PROBE_MASK);
  assert_false(o.default_probes);
  done();
  ok("-PE -PM -PS22 -p 22 198.18.0.1");
  assert_int_equal(o.probes, PROBE_ECHO | PROBE_MASK | PROBE_SYN);
  char *text = report_text(options_print_plan);
  assert_non_null(strstr(text, "discovery:   -PE -PS22 -PM\n"));
  free(text);
  done();
  bad("-PM -Pn 198.18.0.1", "-Pn (no host discovery) cannot be combined with discovery probes: '-Pn'");
}

/* -PR: ARP on attached links (used there anyway); alone it keeps Nmap's
 * default probes for the other hosts, as Nmap's -PR does */
static void test_ping_arp(void **state) {
  (void)state;
  ok("-PR -p 22 198.18.0.1");
  assert_int_equal(o.probes, PROBE_ARP | PROBE_ECHO | PROBE_SYN | PROBE_ACK | PROBE_TIMESTAMP);
  assert_true(o.default_probes);
  char *text = report_text(options_print_plan);
  assert_non_null(strstr(text, "discovery:   -PE -PS443 -PA80 -PP -PR (default)\n"));
  free(text);
  done();
  ok("-PR -PS22 -p 22 198.18.0.1"); /* with others: only those elsewhere */
  assert_int_equal(o.probes, PROBE_ARP | PROBE_SYN);
  assert_false(o.default_probes);
  done();
  bad("-PRx 198.18.0.1", "unknown host discovery option: '-PRx'");
  bad("-PR -Pn 198.18.0.1", "-Pn (no host discovery) cannot be combined with discovery probes: '-Pn'");
}

/* -iR N: N distinct public addresses, repeatable under --seed, exclusions
 * honoured; -iR 0: all public IPv4 space; bad counts, a second -iR and
 * other targets refused. */
static void test_random_targets(void **state) {
  (void)state;
  ok("-sL -n -iR 50 --seed 5 --exclude 128.0.0.0/1");
  assert_int_equal(targets_count(o.targets), 50);
  struct tgt_addr first[50];
  for (uint64_t i = 0; i < 50; i++) {
    assert_int_equal(targets_get(o.targets, i, &first[i]), 0);
    const uint8_t *b = (const uint8_t *)&first[i].u.v4;
    assert_false(tgt_reserved4(b));
    assert_true(b[0] < 128); /* the exclusion */
    assert_false(b[0] == 198 && (b[1] & 0xfe) == 18); /* never the lab */
  }
  done();
  ok("-sL -n -iR 50 --seed 5 --exclude 128.0.0.0/1");
  for (uint64_t i = 0; i < 50; i++) {
    struct tgt_addr a;
    assert_int_equal(targets_get(o.targets, i, &a), 0);
    assert_memory_equal(&a.u.v4, &first[i].u.v4, 4);
  }
  done();
  ok("-sL -n -iR 50 --seed 6 --exclude 128.0.0.0/1");
  int same = 0;
  for (uint64_t i = 0; i < 50; i++) {
    struct tgt_addr a;
    targets_get(o.targets, i, &a);
    same += memcmp(&a.u.v4, &first[i].u.v4, 4) == 0;
  }
  assert_true(same < 50);
  done();
  ok("-sL -n -iR 0");
  /* 2^32 minus the reserved ranges (which overlap nowhere) */
  uint64_t reserved = 0;
  for (size_t i = 0; i < tgt_reserved4_count(); i++) {
    struct tgt_addr a;
    reserved += 1ull << (32 - tgt_reserved4_range(i, &a));
  }
  assert_int_equal(targets_count(o.targets), (1ull << 32) - reserved);
  done();
  bad("-sL -iR x", "-iR takes a count of random targets from 0 (all public IPv4 addresses) to 4000000: 'x'");
  bad("-sL -iR -1", "-iR takes a count of random targets from 0 (all public IPv4 addresses) to 4000000: '-1'");
  bad("-sL -iR 4000001", "-iR takes a count of random targets from 0 (all public IPv4 addresses) to 4000000: '4000001'");
  bad("-sL -iR 3 -iR 4", "-iR given twice: '4'");
  bad("-sL -iR 3 198.18.0.1", "-iR cannot be combined with other targets");
  bad("-sL -iR 3 --exclude 0.0.0.0/0", "-iR: the exclusions leave fewer than 3 random targets");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_issue13_more),
      cmocka_unit_test(test_scan_types), cmocka_unit_test(test_discovery),
      cmocka_unit_test(test_ports),      cmocka_unit_test(test_targets), cmocka_unit_test(test_issue13_bugs),
      cmocka_unit_test(test_issue13_options),
      cmocka_unit_test(test_timing),     cmocka_unit_test(test_timing_values), cmocka_unit_test(test_output_misc),
      cmocka_unit_test(test_errors),     cmocka_unit_test(test_plan),
      cmocka_unit_test(test_man_page),   cmocka_unit_test(test_packet_options),
      cmocka_unit_test(test_spoof_source),
      cmocka_unit_test(test_evasion_options),
      cmocka_unit_test(test_parallelism_hostgroup),
      cmocka_unit_test(test_dns_options),
      cmocka_unit_test(test_ping_mask),
      cmocka_unit_test(test_ping_proto),
      cmocka_unit_test(test_ping_arp),
      cmocka_unit_test(test_random_targets),
  };
  unsetenv("TRAWL_DATADIR");
  return cmocka_run_group_tests(tests, NULL, NULL);
}
