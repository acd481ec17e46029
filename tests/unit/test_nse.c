/* test_nse.c: running Nmap's own NSE scripts (src/script/nse/): parsing
 * script.db; selecting from Nmap's scripts (Debian's nmap-common in
 * /usr/share/nmap; those tests skip when it is absent) together with
 * trawl's own (names, categories, .nse paths, a trawl script shadowing an
 * Nmap one); a script requiring a module that does not exist, reported by
 * name and skipped; the one error line naming nmap-common when it is
 * missing; and an .nse script run against loopback services through the
 * nmap module (nsock's return values, receive_buf with a pattern,
 * TIMEOUT and EOF, stdnse.get_script_args, shortport, new_try,
 * stdnse.output_table's structured output). */
#include "script_fixture.h"
#include "script/nse/nse.h"

#define NMAPDIR "/usr/share/nmap"

static bool have_nmap(void) {
  struct stat st;
  return stat(NMAPDIR "/scripts/script.db", &st) == 0 && stat(NMAPDIR "/nselib/stdnse.lua", &st) == 0;
}


/* The head of a test .nse script: description, categories, the nmap module. */
#define NSE_HEAD(desc) "description = '" desc "'\ncategories = {'safe'}\nlocal nmap = require 'nmap'\n"

static const struct script *nse_selected(struct fx *f, const char *id) {
  for (size_t i = 0; i < f->e->nscripts; i++)
    if (!strcmp(f->e->scripts[i]->id, id)) return f->e->scripts[i];
  return NULL;
}

/* ---- script.db ------------------------------------------------------------------ */

static void test_db_parse(void **state) {
  (void)state;
  struct nse_db db;
  char err[200];
  const char *good = "Entry { filename = \"a-b.nse\", categories = { \"default\", \"safe\", } }\n"
                     "\n-- a comment\n"
                     "Entry { filename = \"c.nse\", categories = { } }\r\n";
  assert_int_equal(nse_db_parse(good, strlen(good), &db, err, sizeof err), 0);
  assert_int_equal(db.n, 2);
  const struct nse_db_entry *en = nse_db_find(&db, "a-b");
  assert_non_null(en);
  assert_int_equal(en->ncat, 2);
  assert_string_equal(en->cats[1], "safe");
  assert_int_equal(nse_db_find(&db, "c")->ncat, 0);
  nse_db_free(&db);
  static const char *const bad[] = {
      "Entry { filename = \"x.lua\", categories = { } }",        /* not .nse */
      "Entry { filename = \"../x.nse\", categories = { } }",     /* a path */
      "Entry { filename = \"x.nse\", categories = { \"a\" \"b\" } }",
      "Entry { filename = \"x.nse\" }",
      "os.execute('x')",
      "Entry { filename = \"x.nse\", categories = { \"a\\\"\" } }",
      "Entry { filename = \"x.nse\", categories = { } } trailing",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(nse_db_parse(bad[i], strlen(bad[i]), &db, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "line 1"));
  }
  assert_int_equal(nse_db_parse("", 0, &db, err, sizeof err), 0);
  assert_int_equal(db.n, 0);
  char mod[64];
  assert_true(nse_missing_module("x.nse:3: module 'foo.bar' not found:\n\tno field", mod, sizeof mod));
  assert_string_equal(mod, "foo.bar");
  assert_false(nse_missing_module("attempt to call a nil value", mod, sizeof mod));
}

/* ---- selection ----------------------------------------------------------------- */

static void test_select_nmap(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  /* trawl's own: one default script, and one shadowing Nmap's http-title */
  fx_script("own-default", FX_HEAD("'default', 'safe'") "portrule = function() return true end\n"
                           "action = function() return 'own' end\n");
  fx_script("http-title", FX_HEAD("'default'") "portrule = function() return true end\n"
                          "action = function() return 'trawl title' end\n");
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, "default"), 0);
  assert_non_null(nse_selected(&f, "own-default"));
  const struct script *ht = nse_selected(&f, "http-title");
  assert_non_null(ht);
  assert_false(ht->nse); /* trawl's shadows Nmap's */
  const struct script *sc = nse_selected(&f, "ssl-cert");
  assert_non_null(sc);
  assert_true(sc->nse);
  /* ssh-hostkey needs openssl: without nse-openssl.c built in, it is
   * reported by name and skipped, and the rest run */
  if (!nse_selected(&f, "ssh-hostkey"))
    assert_non_null(strstr(fx_errors(&f), "of Nmap's selected scripts skipped: they require module 'openssl', which is not available: "));
  if (!nse_selected(&f, "ssh-hostkey")) assert_non_null(strstr(fx_errors(&f), "ssh-hostkey"));
  assert_null(nse_selected(&f, "broadcast-avahi-dos")); /* not default */
  assert_true(f.e->nscripts > 50);
  fx_free(&f);

  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, "vuln and safe"), 0);
  assert_true(f.e->nscripts > 0);
  for (size_t i = 0; i < f.e->nscripts; i++) assert_true(f.e->scripts[i]->nse);
  fx_free(&f);

  /* Nmap's own http-title by its file name, a glob, SCRIPT_TYPE */
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, "http-title.nse,http-server-header*"), 0);
  ht = nse_selected(&f, "http-title");
  assert_non_null(ht);
  assert_true(ht->nse);
  assert_string_equal(ht->path, NMAPDIR "/scripts/http-title.nse");
  assert_non_null(nse_selected(&f, "http-server-header"));
  lua_rawgeti(f.e->L, LUA_REGISTRYINDEX, ht->env_ref);
  lua_getfield(f.e->L, -1, "SCRIPT_TYPE");
  assert_string_equal(lua_tostring(f.e->L, -1), "portrule");
  lua_getfield(f.e->L, -2, "SCRIPT_NAME");
  assert_string_equal(lua_tostring(f.e->L, -1), "http-title");
  lua_pop(f.e->L, 3);
  fx_free(&f);
}

static void test_missing_module(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  char p1[400], p2[400], expr[900];
  nse_file("needs-nothing", "description = 'x'\ncategories = {'safe'}\n"
                            "local nosuch = require 'no_such_module_xyz'\n"
                            "portrule = function() return true end\naction = function() end\n",
           p1, sizeof p1);
  nse_file("fine", "description = 'x'\ncategories = {'safe'}\nlocal stdnse = require 'stdnse'\n"
                   "portrule = function() return true end\naction = function() return 'ok' end\n",
           p2, sizeof p2);
  snprintf(expr, sizeof expr, "%s,%s", p1, p2);
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, expr), 0);
  assert_null(nse_selected(&f, "needs-nothing"));
  assert_non_null(nse_selected(&f, "fine"));
  assert_non_null(strstr(fx_errors(&f),
                         "script 'needs-nothing' skipped: it requires module 'no_such_module_xyz'"));
  fx_free(&f);
  /* alone: nothing left, one error line */
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, p1), -EINVAL);
  assert_non_null(strstr(f.err, "selects no script"));
  fx_free(&f);
}

static void test_no_nmap_common(void **state) {
  (void)state;
  fx_script("own-default", FX_HEAD("'default', 'safe'") "portrule = function() return true end\n"
                           "action = function() return 'own' end\n");
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = "";
  /* trawl's own work */
  assert_int_equal(fx_engine(&f, "default"), 0);
  assert_int_equal(f.e->nscripts, 1);
  fx_free(&f);
  static const char *const asks[] = {"vuln", "http-title.nse", "ssh-hostkey"};
  for (size_t i = 0; i < 3; i++) {
    fx_init(&f);
    f.cfg.nmapdir = "";
    assert_int_equal(fx_engine(&f, asks[i]), -EINVAL);
    assert_non_null(strstr(f.err, "nmap-common"));
    assert_null(strchr(f.err, '\n'));
    fx_free(&f);
  }
}

/* --script-updatedb: a report, no file written */
static void test_updatedb(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  fx_script("own-default", FX_HEAD("'default', 'safe'") "portrule = function() return true end\n"
                           "action = function() return 'own' end\n");
  struct script_config c = {0};
  c.scriptdir = fx_dir;
  c.nmapdir = NMAPDIR;
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  char err[600];
  assert_int_equal(script_updatedb_cfg(&c, out, err, sizeof err), 0);
  fclose(out);
  print_message("%s", buf);
  assert_non_null(strstr(buf, "trawl's scripts: "));
  assert_non_null(strstr(buf, ": 1 loaded\n"));
  assert_non_null(strstr(buf, "Nmap's scripts: " NMAPDIR "/scripts: "));
  assert_non_null(strstr(buf, "Nmap's script.db: "));
  if (!strstr(buf, " 0 cannot run here")) assert_non_null(strstr(buf, " need module '"));
  assert_null(strstr(buf, "module 's"));
  free(buf);
  /* nothing new in the scripts directory */
  char p[400];
  snprintf(p, sizeof p, "%s/script.db", fx_dir);
  struct stat st;
  assert_int_not_equal(stat(p, &st), 0);
}

/* ---- running an .nse script ------------------------------------------------------ */

static void test_run_nsock(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  struct fx_srv *banner = fx_srv_start(AF_INET, SRV_BANNER, "hello world\r\nline two\nrest");
  struct fx_srv *silent = fx_srv_start(AF_INET, SRV_SILENT, NULL);
  char text[4000], path[400];
  snprintf(text, sizeof text,
           "description = 'nsock semantics'\ncategories = {'safe'}\n"
           "local nmap = require 'nmap'\nlocal stdnse = require 'stdnse'\n"
           "local shortport = require 'shortport'\n"
           "portrule = shortport.portnumber(%u, 'tcp')\n"
           "action = function(host, port)\n"
           "  local out = stdnse.output_table()\n"
           "  local s = nmap.new_socket()\n"
           "  s:set_timeout(2000)\n"
           "  local st, err = s:connect(host, port)\n"
           "  assert(st == true, err)\n"
           "  local ok, line = s:receive_buf('\\r?\\n', false)\n"
           "  out.line = tostring(ok) .. ':' .. line\n"
           "  local ok2, rest = s:receive_buf(function(b) return b:find('\\n', 1, true) end, true)\n"
           "  out.line2 = tostring(ok2) .. ':' .. rest:gsub('\\n', '|')\n"
           "  local ok3, r3 = s:receive()\n"
           "  local ok4, r4 = s:receive()\n"
           "  out.tail = tostring(ok3) .. ':' .. tostring(r3) .. ',' .. tostring(ok4) .. ':' .. tostring(r4)\n"
           "  s:close()\n"
           "  local q = nmap.new_socket()\n"
           "  q:set_timeout(150)\n"
           "  assert(q:connect(host.ip, %u, 'tcp'))\n"
           "  local ok5, r5 = q:receive()\n"
           "  out.silent = tostring(ok5) .. ':' .. tostring(r5)\n"
           "  q:close()\n"
           "  out.arg = stdnse.get_script_args(SCRIPT_NAME .. '.x')\n"
           "  out.id = stdnse.getid()\n"
           "  out.af = nmap.address_family()\n"
           "  out.state = nmap.get_port_state(host, {number = port.number, protocol = 'tcp'}).state\n"
           "  return out\n"
           "end\n",
           banner->port, silent->port);
  nse_file("nsock-test", text, path, sizeof path);
  char tpath[400];
  nse_file("try-test",
           "description = 'try'\ncategories = {'safe'}\nlocal nmap = require 'nmap'\n"
           "hostrule = function() return true end\n"
           "action = function() local try = nmap.new_try(); try(false, 'gave up'); return 'not reached' end\n",
           tpath, sizeof tpath);
  /* stdnse.new_thread workers waited for as NSE's scripts do */
  char wpath[400];
  nse_file("workers-test",
           "description = 'workers'\ncategories = {'safe'}\nlocal nmap = require 'nmap'\n"
           "local stdnse = require 'stdnse'\n"
           "hostrule = function() return true end\n"
           "action = function()\n"
           "  local cv, sum, threads = nmap.condvar('w'), 0, {}\n"
           "  local function w(n) stdnse.sleep(0.01 * n); sum = sum + n; cv 'signal' end\n"
           "  for i = 1, 3 do threads[stdnse.new_thread(w, i)] = true end\n"
           "  repeat\n"
           "    for t in pairs(threads) do if coroutine.status(t) == 'dead' then threads[t] = nil end end\n"
           "    if next(threads) then cv 'wait' end\n"
           "  until next(threads) == nil\n"
           "  return 'sum ' .. sum\n"
           "end\n",
           wpath, sizeof wpath);
  /* a portrule that must wait (it talks to the port): decided in the
   * run's thread, as NSE does */
  char rpath[400];
  nse_file("rule-io-test",
           "description = 'rule io'\ncategories = {'safe'}\nlocal nmap = require 'nmap'\n"
           "portrule = function(host, port)\n"
           "  local s = nmap.new_socket(); s:set_timeout(300)\n"
           "  if not s:connect(host, port) then return false end\n"
           "  local ok, d = s:receive(); s:close()\n"
           "  return ok and d:find('hello', 1, true) ~= nil\n"
           "end\n"
           "action = function() return 'rule said yes' end\n",
           rpath, sizeof rpath);
  /* nmap.set_port_state on the silent port */
  char spath[400], stext[600];
  snprintf(stext, sizeof stext,
           "description = 'state'\ncategories = {'safe'}\nlocal nmap = require 'nmap'\n"
           "local shortport = require 'shortport'\n"
           "portrule = shortport.portnumber(%u, 'tcp')\n"
           "action = function(host, port) nmap.set_port_state(host, port, 'closed')\n"
           "  return port.state .. ' ' .. nmap.get_port_state(host, port).state end\n",
           silent->port);
  nse_file("state-test", stext, spath, sizeof spath);
  char expr[2300];
  snprintf(expr, sizeof expr, "%s,%s,%s,%s,%s", path, tpath, wpath, rpath, spath);
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  f.cfg.script_args = "nsock-test.x=fromargs";
  assert_int_equal(fx_engine(&f, expr), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", banner->port, silent->port, 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, banner->port, "nsock-test");
  assert_non_null(o);
  print_message("%s\n", o);
  assert_non_null(strstr(o, "line: true:hello world\n"));
  assert_non_null(strstr(o, "line2: true:line two|\n"));
  assert_non_null(strstr(o, "tail: true:rest,false:EOF\n"));
  assert_non_null(strstr(o, "silent: false:TIMEOUT\n"));
  assert_non_null(strstr(o, "arg: fromargs\n"));
  assert_non_null(strstr(o, "id: nsock-test\n"));
  assert_non_null(strstr(o, "af: inet\n"));
  assert_non_null(strstr(o, "state: open"));
  /* keys in the order the script set them (stdnse.output_table) */
  assert_true(strstr(o, "line:") < strstr(o, "line2:") && strstr(o, "line2:") < strstr(o, "tail:"));
  /* a try that gave up: no output, no error */
  assert_null(fx_out(&h, 0, "try-test"));
  assert_null(strstr(fx_errors(&f), "try-test"));
  assert_string_equal(fx_out(&h, 0, "workers-test"), "sum 6");
  assert_string_equal(fx_out(&h, banner->port, "rule-io-test"), "rule said yes");
  assert_null(fx_out(&h, silent->port, "rule-io-test"));
  assert_null(strstr(fx_errors(&f), "rule-io-test"));
  assert_string_equal(fx_out(&h, silent->port, "state-test"), "closed closed");
  for (size_t i = 0; i < h.nports; i++)
    if (h.ports[i].portid == silent->port) {
      assert_int_equal(h.ports[i].state, PORT_CLOSED);
      assert_string_equal(h.ports[i].reason, "script-set");
    }
  host_result_free(&h);
  fx_free(&f);
  fx_srv_stop(banner);
  fx_srv_stop(silent);
}

/* A run (or a rule: NSE evaluates it in the run's thread) that raises an
 * error has NSE's error text as its output, as Nmap prints it without -d;
 * a helper thread's error is not an output; with -d no output (NSE then
 * prints the error instead). */
static void test_run_error_output(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  struct fx_srv *banner = fx_srv_start(AF_INET, SRV_BANNER, "hello\r\n");
  char p1[400], p2[400], p3[400], text[600];
  snprintf(text, sizeof text,
           "description = 'fails'\ncategories = {'safe'}\nlocal shortport = require 'shortport'\n"
           "portrule = shortport.portnumber(%u, 'tcp')\n"
           "action = function(host, port) error('boom') end\n",
           banner->port);
  nse_file("fail-test", text, p1, sizeof p1);
  nse_file("rulefail-test",
           "description = 'rule fails'\ncategories = {'safe'}\n"
           "hostrule = function(host) return host.no.such end\n"
           "action = function() return 'not reached' end\n",
           p2, sizeof p2);
  nse_file("workerfail-test",
           NSE_HEAD("worker fails")
           "local stdnse = require 'stdnse'\n"
           "hostrule = function() return true end\n"
           "action = function()\n"
           "  local co = stdnse.new_thread(function() error('worker boom') end)\n"
           "  for i = 1, 50 do if coroutine.status(co) == 'dead' then break end; stdnse.sleep(0.01) end\n"
           "  return 'parent fine'\n"
           "end\n",
           p3, sizeof p3);
  char expr[1300];
  snprintf(expr, sizeof expr, "%s,%s,%s", p1, p2, p3);
  for (int debug = 0; debug <= 1; debug++) {
    struct fx f;
    fx_init(&f);
    f.cfg.nmapdir = NMAPDIR;
    f.cfg.debug = debug;
    assert_int_equal(fx_engine(&f, expr), 0);
    struct host_result h;
    fx_host(&h, "127.0.0.1", banner->port, 0, 0);
    struct host_result *hp = &h;
    fx_run(&f, &hp, 1);
    const char *want = debug ? NULL : "ERROR: Script execution failed (use -d to debug)";
    const char *o1 = fx_out(&h, banner->port, "fail-test");
    const char *o2 = fx_out(&h, 0, "rulefail-test");
    if (want) {
      assert_non_null(o1);
      assert_string_equal(o1, want);
      assert_non_null(o2);
      assert_string_equal(o2, want);
    } else {
      assert_null(o1);
      assert_null(o2);
    }
    assert_string_equal(fx_out(&h, 0, "workerfail-test"), "parent fine");
    /* trawl still says on its error stream what failed */
    assert_non_null(strstr(fx_errors(&f), "boom"));
    host_result_free(&h);
    fx_free(&f);
  }
  fx_srv_stop(banner);
}

/* nmap.set_port_state on a UDP port the scan left open|filtered (what
 * the snmp-* scripts do once the service answered): the port is open in
 * the results, and the port tables that later runs get say so. */
static void test_udp_port_state(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  char p1[400], p2[400];
  nse_file("udpstate-test",
           NSE_HEAD("udp state")
           "portrule = function(host, port) return port.protocol == 'udp' end\n"
           "action = function(host, port)\n"
           "  local before = port.state\n"
           "  nmap.set_port_state(host, port, 'open')\n"
           "  return before .. ' -> ' .. port.state .. ' ' .. nmap.get_port_state(host, port).state\n"
           "end\n",
           p1, sizeof p1);
  nse_file("udpafter-test",
           "description = 'after'\ncategories = {'safe'}\ndependencies = {'udpstate-test'}\n"
           "portrule = function(host, port) return port.protocol == 'udp' end\n"
           "action = function(host, port) return 'later ' .. port.state end\n",
           p2, sizeof p2);
  char expr[900];
  snprintf(expr, sizeof expr, "%s,%s", p1, p2);
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, expr), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  host_add_port(&h, PROTO_UDP, 161, PORT_OPEN_FILTERED, "no-response", 0, NULL);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const struct script_result *sr = NULL;
  for (size_t i = 0; i < h.nports; i++)
    for (size_t j = 0; j < h.ports[i].nscripts; j++)
      if (!strcmp(h.ports[i].scripts[j].id, "udpstate-test")) sr = &h.ports[i].scripts[j];
  assert_non_null(sr);
  assert_string_equal(sr->output, "open|filtered -> open open");
  for (size_t i = 0; i < h.nports; i++)
    for (size_t j = 0; j < h.ports[i].nscripts; j++)
      if (!strcmp(h.ports[i].scripts[j].id, "udpafter-test"))
        assert_string_equal(h.ports[i].scripts[j].output, "later open");
  assert_int_equal(h.ports[0].state, PORT_OPEN);
  assert_string_equal(h.ports[0].reason, "script-set");
  host_result_free(&h);
  fx_free(&f);
}

/* nmap.get_interface_info and list_interfaces give NSE's mtu, and mac (6
 * bytes) only where there is one (dhcp.lua puts it in its requests); and
 * get_interface is -e's interface. */
static void test_interfaces(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  char p1[400];
  nse_file("iface-test",
           NSE_HEAD("ifaces")
           "hostrule = function() return true end\n"
           "action = function()\n"
           "  local lo = nmap.get_interface_info('lo')\n"
           "  local macs = 0\n"
           "  for _, i in ipairs(nmap.list_interfaces()) do\n"
           "    if i.mac then assert(#i.mac == 6); macs = macs + 1 end\n"
           "    assert(math.type(i.mtu) == 'integer')\n"
           "  end\n"
           "  return ('%s %s %s %s'):format(lo.link, tostring(lo.mtu > 0), tostring(lo.mac), tostring(nmap.get_interface()))\n"
           "end\n",
           p1, sizeof p1);
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  f.cfg.device = "lo";
  assert_int_equal(fx_engine(&f, p1), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "iface-test");
  assert_non_null(o);
  assert_string_equal(o, "loopback true nil lo");
  host_result_free(&h);
  fx_free(&f);
}

/* A rule that takes an NSE mutex: free, it is taken at once; held by a
 * run of another host (the rules of the second host are evaluated while
 * the first host's run holds it), the rule waits for it in its run's
 * thread. Either way the action runs on both hosts and nothing fails. */
static void test_rule_mutex(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  char p1[400], p2[400];
  nse_file("mtxa-hold",
           NSE_HEAD("hold")
           "local stdnse = require 'stdnse'\n"
           "hostrule = function(host) return host.ip == '127.0.0.1' end\n"
           "action = function()\n"
           "  local m = nmap.mutex('trawl-test-shared'); m 'lock'\n"
           "  stdnse.sleep(0.3); m 'unlock'; return 'held'\n"
           "end\n",
           p1, sizeof p1);
  nse_file("mtxb-rule",
           NSE_HEAD("rule")
           "hostrule = function(host)\n"
           "  local m = nmap.mutex('trawl-test-shared'); m 'lock'; m 'done'; return true\n"
           "end\n"
           "action = function() return 'ran' end\n",
           p2, sizeof p2);
  char expr[900];
  snprintf(expr, sizeof expr, "%s,%s", p1, p2);
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, expr), 0);
  struct host_result h[2];
  fx_host(&h[0], "127.0.0.1", 0);
  fx_host(&h[1], "127.0.0.2", 0);
  struct host_result *hp[2] = {&h[0], &h[1]};
  fx_run(&f, hp, 2);
  assert_string_equal(fx_out(&h[0], 0, "mtxa-hold"), "held");
  for (int i = 0; i < 2; i++) {
    assert_non_null(fx_out(&h[i], 0, "mtxb-rule"));
    assert_string_equal(fx_out(&h[i], 0, "mtxb-rule"), "ran");
  }
  assert_null(strstr(fx_errors(&f), "mtxb-rule"));
  for (int i = 0; i < 2; i++) host_result_free(&h[i]);
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_db_parse),
      cmocka_unit_test_setup_teardown(test_select_nmap, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_missing_module, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_no_nmap_common, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_updatedb, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_run_nsock, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_run_error_output, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_udp_port_state, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_interfaces, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_rule_mutex, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
