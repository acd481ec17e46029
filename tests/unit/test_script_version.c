/* test_script_version.c: what -sV asks of the script engine: the scripts
 * of category "version" selected on top of --script (quiet when only -sV
 * chose them: they run, their output is dropped), and
 * trawl.set_port_version writing a script's answer into the port's
 * version (both call forms, fields kept and replaced, bounds, misuse),
 * seen by the XML and grepable writers as Nmap writes it. */
#include "script_fixture.h"

static void write_catalog(void) {
  fx_script("ver-a", FX_HEAD("'version'") "portrule = function() return true end\n"
                     "action = function() return 'a' end\n");
  fx_script("ver-b", FX_HEAD("'version', 'default'") "portrule = function() return true end\n"
                     "action = function() return 'b' end\n");
  fx_script("plain", FX_HEAD("'default'") "portrule = function() return true end\n"
                     "action = function() return 'p' end\n");
}

static void test_select_version(void **state) {
  write_catalog();
  char b[700];
  /* -sV alone: every version script, quiet */
  assert_string_equal(fx_selected(NULL, true, b, sizeof b), "ver-a:q ver-b:q");
  /* -sV -sC: the default ones shown, the other version one quiet */
  assert_string_equal(fx_selected("default", true, b, sizeof b), "plain ver-a:q ver-b");
  /* --script ver-a -sV: named, so shown */
  assert_string_equal(fx_selected("ver-a", true, b, sizeof b), "ver-a ver-b:q");
  /* a file path item is the same script: not added twice, not quiet */
  char path[512];
  snprintf(path, sizeof path, "%s/ver-b.lua", fx_dir);
  assert_string_equal(fx_selected(path, true, b, sizeof b), "ver-a:q ver-b");
  /* without -sV nothing changes */
  assert_string_equal(fx_selected("default", false, b, sizeof b), "plain ver-b");
  /* --script errors stay errors with -sV */
  assert_string_equal(fx_selected("nosuch", true, b, sizeof b),
                      "ERROR 'nosuch' did not match a category, filename, or directory");
  assert_string_equal(fx_selected("ver-a and plain", true, b, sizeof b),
                      "ERROR --script 'ver-a and plain' selects no script");
  assert_string_equal(fx_selected(NULL, false, b, sizeof b), "ERROR no scripts given (--script)");
}

/* -sV with no version script anywhere is not an error: nothing runs. */
static void test_select_version_none(void **state) {
  fx_script("plain", FX_HEAD("'default'") "portrule = function() return true end\n"
                     "action = function() return 'p' end\n");
  char b[700];
  assert_string_equal(fx_selected(NULL, true, b, sizeof b), "");
  /* a broken script nobody asked for does not stop -sV */
  fx_script("broken", "this is not lua (\n");
  assert_string_equal(fx_selected(NULL, true, b, sizeof b), "");
}

static struct port_result *find_port(struct host_result *h, enum scan_proto pr, int n) {
  for (size_t i = 0; i < h->nports; i++)
    if (h->ports[i].portid == n && h->ports[i].proto == pr) return &h->ports[i];
  return NULL;
}

static char *render(const struct output_ops *ops, const struct host_result *h) {
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  struct output o;
  struct output_opts opts = {0};
  struct scan_info info = {.args = "trawl -sV", .version_scan = true};
  struct scan_end end = {0};
  output_init(&o, ops, fp, &opts);
  assert_int_equal(output_begin(&o, &info), 0);
  assert_int_equal(output_host(&o, h), 0);
  assert_int_equal(output_end(&o, &end), 0);
  fclose(fp);
  return buf;
}

/* set_port_version: the fields given replace, the others stay; the NSE
 * form (no third argument) reads port.version; the port table the script
 * holds and the next script's see the answer; quiet output dropped. */
static void test_set_port_version(void **state) {
  fx_script("setter", FX_HEAD("'version'")
            "portrule = function(host, port) return port.number ~= 9 end\n"
            "action = function(host, port)\n"
            "  if port.number == 1883 then\n"
            "    trawl.set_port_version(host, port, {name = 'mosquitto version 2.0.11'})\n"
            "    return port.version.name .. '|' .. port.service .. '|' .. port.version.name_confidence\n"
            "  elseif port.number == 161 then\n"
            "    trawl.set_port_version(host, port, {product = port.version.product .. '; x SNMPv3 server',\n"
            "      cpe = {'cpe:/a:x:y'}})\n"
            "  elseif port.number == 22 then\n"
            "    port.version.version = '9.9'\n"
            "    port.version.service_tunnel = 'ssl'\n"
            "    trawl.set_port_version(host, port)\n"
            "  end\n"
            "  return 'hidden'\n"
            "end\n");
  fx_script("reader", FX_HEAD("'safe'") "dependencies = {'setter'}\n"
            "portrule = function(host, port) return port.number == 1883 end\n"
            "action = function(host, port) return port.service .. '/' .. port.version.service_dtype end\n");
  struct fx f;
  fx_init(&f);
  f.cfg.version_scripts = true;
  assert_int_equal(fx_engine(&f, "reader"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 1883, 22, 0);
  host_add_port(&h, PROTO_UDP, 161, PORT_OPEN, "udp-response", 64, "snmp");
  struct port_version mq = {.probed = true};
  assert_int_equal(port_set_version(find_port(&h, PROTO_TCP, 1883), "mqtt", &mq), 0);
  struct port_version ssh = {.product = "OpenSSH", .version = "9.2p1", .probed = true,
                             .fingerprint = "SF-Port22-TCP:V=x"};
  assert_int_equal(port_set_version(find_port(&h, PROTO_TCP, 22), "ssh", &ssh), 0);
  struct port_version snmp = {.product = "SNMPv1 server", .extrainfo = "public", .probed = true};
  assert_int_equal(port_set_version(find_port(&h, PROTO_UDP, 161), "snmp", &snmp), 0);
  fx_run(&f, (struct host_result *[]){&h}, 1);
  assert_string_equal(fx_errors(&f), "");

  struct port_result *p = find_port(&h, PROTO_TCP, 1883);
  assert_string_equal(p->service, "mosquitto version 2.0.11");
  assert_true(p->version->probed);
  assert_int_equal(p->version->conf, 10);
  assert_null(fx_out(&h, 1883, "setter")); /* quiet: only -sV chose it */
  assert_string_equal(fx_out(&h, 1883, "reader"), "mosquitto version 2.0.11/probed");

  p = find_port(&h, PROTO_UDP, 161);
  assert_string_equal(p->service, "snmp");
  assert_string_equal(p->version->product, "SNMPv1 server; x SNMPv3 server");
  assert_string_equal(p->version->extrainfo, "public");
  assert_int_equal(p->version->ncpe, 1);
  assert_string_equal(p->version->cpe[0], "cpe:/a:x:y");

  p = find_port(&h, PROTO_TCP, 22);
  assert_string_equal(p->service, "ssh");
  assert_string_equal(p->version->product, "OpenSSH");
  assert_string_equal(p->version->version, "9.9");
  assert_true(p->version->ssl);
  assert_null(p->version->fingerprint); /* a match now */

  char *xml = render(&output_xml_ops, &h);
  assert_non_null(strstr(xml, "<service name=\"mosquitto version 2.0.11\" method=\"probed\" conf=\"10\"/>"));
  assert_non_null(strstr(xml, "product=\"SNMPv1 server; x SNMPv3 server\" extrainfo=\"public\""));
  assert_non_null(strstr(xml, "<cpe>cpe:/a:x:y</cpe>"));
  free(xml);
  char *gr = render(&output_grep_ops, &h);
  assert_non_null(strstr(gr, "1883/open/tcp//mosquitto version 2.0.11///"));
  free(gr);
  host_result_free(&h);
  fx_free(&f);
}

/* Misuse is a script error, reported, and changes nothing; a hostile
 * length is cut; a field with a NUL byte is ignored. */
static void test_set_port_version_bounds(void **state) {
  fx_script("bad", FX_HEAD("'version'")
            "portrule = function(host, port) return true end\n"
            "action = function(host, port)\n"
            "  if port.number == 1 then\n"
            "    trawl.set_port_version(host, {number = 2, protocol = 'udp'}, {name = 'x'})\n"
            "  elseif port.number == 2 then\n"
            "    trawl.set_port_version({ip = '127.0.0.2'}, port, {name = 'x'})\n"
            "  else\n"
            "    trawl.set_port_version(host, port, {product = string.rep('A', 100000),\n"
            "      version = 'a\\0b', extrainfo = 7})\n"
            "  end\n"
            "end\n");
  struct fx f;
  fx_init(&f);
  f.cfg.version_scripts = true;
  assert_int_equal(fx_engine(&f, NULL), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 1, 2, 3, 0);
  fx_run(&f, (struct host_result *[]){&h}, 1);
  const char *errs = fx_errors(&f);
  assert_non_null(strstr(errs, "the scan lists no such port"));
  assert_non_null(strstr(errs, "host is not the host this run is for"));
  assert_null(find_port(&h, PROTO_TCP, 1)->version);
  assert_null(find_port(&h, PROTO_TCP, 2)->version);
  struct port_result *p = find_port(&h, PROTO_TCP, 3);
  assert_non_null(p->version);
  assert_int_equal(strlen(p->version->product), 1024);
  assert_null(p->version->version);
  assert_string_equal(p->version->extrainfo, "7");
  host_result_free(&h);
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_select_version, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_select_version_none, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_set_port_version, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_set_port_version_bounds, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
