/* test_script_socket.c: the trawl module's network functions against
 * loopback services started by the test (127.0.0.1 and ::1 only) and the
 * test DNS server (helper_dns): connect, send, every receive mode, their
 * error returns (connection refused, TIMEOUT, EOF, closed socket),
 * get_info, UDP (echo and ICMP refused), resolve and reverse, sleep and
 * clocks, --script-trace; the receive buffer's bound against a peer
 * that streams one endless line; and the banner, http-title and http-headers
 * scripts from scripts/. */
#include "script_fixture.h"
#include "helper_dns.h"
#include "script/lua/lua-int.h"

#include <sys/resource.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TW_HAS_ASAN 1
#endif
#endif
#ifndef TW_HAS_ASAN
#define TW_HAS_ASAN 0
#endif

/* Run one script (text) as a hostrule against 127.0.0.1 with the given
 * script-args; return its output (static buffer) or "(none)". */
static char run_out[1 << 16];
static const char *run1(const char *body, const char *args, bool trace, char **errors) {
  char text[16384];
  snprintf(text, sizeof text, FX_HEAD("'api'") "hostrule = function() return true end\n%s", body);
  fx_script("api", text);
  struct fx f;
  fx_init(&f);
  f.cfg.script_args = args;
  f.cfg.trace = trace;
  if (fx_engine(&f, "api") != 0) fail_msg("engine: %s", f.err);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "api");
  snprintf(run_out, sizeof run_out, "%s", o ? o : "(none)");
  if (errors) *errors = strdup(fx_errors(&f));
  else if (*fx_errors(&f)) print_message("script errors:\n%s\n", fx_errors(&f));
  host_result_free(&h);
  fx_free(&f);
  return run_out;
}

static void test_tcp_receive_modes(void **state) {
  struct fx_srv *banner = fx_srv_start(AF_INET, SRV_BANNER, "hello world\r\nline two\nrest");
  struct fx_srv *slow = fx_srv_start(AF_INET, SRV_LINES, "ab\ncd\nef\ngh");
  struct fx_srv *echo = fx_srv_start(AF_INET6, SRV_ECHO, NULL);
  char args[200];
  snprintf(args, sizeof args, "b=%u,s=%u,e=%u", banner->port, slow->port, echo->port);
  const char *body =
      "action = function()\n"
      "  local a, out = trawl.args, {}\n"
      "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
      "  -- receive, then EOF\n"
      "  local s = trawl.tcp()\n"
      "  add(s:connect('127.0.0.1', tonumber(a.b)))\n"
      "  add(s:receive_buf('\\r?\\n', false))\n"
      "  add(s:receive_until('two\\n'))\n"
      "  add(s:receive())\n"
      "  add(s:receive())\n"
      "  add(s:receive())\n"
      "  add(s:close())\n"
      "  add(s:close())\n"
      "  add(s:receive())\n"
      "  add(s:send('x'))\n"
      "  -- receive_bytes / receive_lines on a slow talker\n"
      "  s = trawl.tcp()\n"
      "  add(s:connect({ip = '127.0.0.1'}, {number = tonumber(a.s), protocol = 'tcp'}))\n"
      "  local ok, d = s:receive_bytes(4)\n"
      "  add(ok, #d >= 4, d:sub(1, 4))\n"
      "  ok, d = s:receive_lines(1)\n"
      "  add(ok, d:find('\\n') ~= nil)\n"
      "  ok, d = s:receive_buf(function(buf) return buf:find('gh', 1, true) end, true)\n"
      "  add(ok, d:sub(-2))\n"
      "  add(s:receive_bytes(10))\n"
      "  s:close()\n"
      "  -- echo over IPv6, get_info\n"
      "  s = trawl.tcp()\n"
      "  add(s:connect('::1', tonumber(a.e)))\n"
      "  local st, lh, lp, rh, rp = s:get_info()\n"
      "  add(st, lh, lp > 0, rh, rp == tonumber(a.e))\n"
      "  add(s:send(('z'):rep(100000)))\n"
      "  ok, d = s:receive_bytes(100000)\n"
      "  add(ok, #d)\n"
      "  s:close()\n"
      "  return table.concat(out, '|')\n"
      "end\n";
  const char *o = run1(body, args, false, NULL);
  assert_string_equal(o,
                      "true|true|hello world|true|line two\n|true|rest|nil|EOF|nil|EOF|true|nil|socket is closed|"
                      "nil|socket is closed|nil|socket is closed|"
                      "true|true|true|ab\nc|true|true|true|gh|nil|EOF|"
                      "true|true|::1|true|::1|true|true|true|100000");
  fx_srv_stop(banner);
  fx_srv_stop(slow);
  fx_srv_stop(echo);
}

static void test_tcp_errors(void **state) {
  int hold;
  int closed = fx_closed_port(&hold);
  struct fx_srv *silent = fx_srv_start(AF_INET, SRV_SILENT, NULL);
  struct fx_srv *closer = fx_srv_start(AF_INET, SRV_CLOSE, NULL);
  char args[200];
  snprintf(args, sizeof args, "c=%d,s=%u,x=%u", closed, silent->port, closer->port);
  const char *body =
      "action = function()\n"
      "  local a, out = trawl.args, {}\n"
      "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
      "  local s = trawl.tcp()\n"
      "  add(s:connect('127.0.0.1', tonumber(a.c)))\n"
      "  add(s:receive())\n"
      "  s = trawl.tcp()\n"
      "  s:set_timeout(200)\n"
      "  add(s:connect('127.0.0.1', tonumber(a.s)))\n"
      "  local t0 = trawl.clock_ms()\n"
      "  add(s:receive())\n"
      "  local el = trawl.clock_ms() - t0\n"
      "  add(el >= 190 and el < 1000)\n"
      "  add(s:receive_lines(1))\n"
      "  add(s:receive_buf('\\n'))\n"
      "  add(s:send('still works'))\n"
      "  s:close()\n"
      "  s = trawl.tcp()\n"
      "  add(s:connect('127.0.0.1', tonumber(a.x)))\n"
      "  add(s:receive())\n"
      "  add(s:receive_buf('x'))\n"
      "  add(s:connect('127.0.0.1', 1))\n"
      "  local s2 = trawl.tcp()\n"
      "  add(pcall(s2.connect, s2, '127.0.0.1', 70000))\n"
      "  s = trawl.tcp()\n"
      "  add(s:connect('no-such-name.invalid', 80))\n"
      "  add(s:get_info())\n"
      "  add(s:get_ssl_certificate())\n"
      "  return table.concat(out, '|')\n"
      "end\n";
  /* the DNS lookup goes to the test server (refused fast) */
  test_dns *dns;
  assert_int_equal(test_dns_start(&dns, "127.0.0.1"), 0);
  char text[16384];
  snprintf(text, sizeof text, FX_HEAD("'api'") "hostrule = function() return true end\n%s", body);
  fx_script("api", text);
  struct fx f;
  fx_init(&f);
  f.cfg.script_args = args;
  f.cfg.dns_servers = test_dns_servers(dns);
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "api");
  assert_non_null(o);
  print_message("%s\n", o);
  assert_string_equal(o, "nil|Connection refused|nil|not connected|true|nil|TIMEOUT|true|nil|TIMEOUT|nil|TIMEOUT|true|"
                         "true|nil|EOF|nil|EOF|nil|socket already connected: use a new one|"
                         "false|bad argument #3 to '?' (port out of range)|"
                         "nil|Failed to resolve: NXDOMAIN|nil|not connected|nil|not an SSL connection");
  host_result_free(&h);
  fx_free(&f);
  test_dns_stop(dns);
  close(hold);
  fx_srv_stop(silent);
  fx_srv_stop(closer);
}

static void *udp_echo_main(void *arg) {
  int fd = *(int *)arg;
  char buf[2048];
  for (;;) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n <= 0) break;
    if (n == 4 && !memcmp(buf, "quit", 4)) break;
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
  return NULL;
}

static void test_udp(void **state) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t sl = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &sl);
  pthread_t th;
  pthread_create(&th, NULL, udp_echo_main, &fd);
  int ufd = socket(AF_INET, SOCK_DGRAM, 0); /* a closed UDP port */
  struct sockaddr_in b = a;
  b.sin_port = 0;
  bind(ufd, (struct sockaddr *)&b, sizeof b);
  sl = sizeof b;
  getsockname(ufd, (struct sockaddr *)&b, &sl);
  close(ufd);
  char args[100];
  snprintf(args, sizeof args, "u=%u,c=%u", ntohs(a.sin_port), ntohs(b.sin_port));
  const char *body =
      "action = function()\n"
      "  local a, out = trawl.args, {}\n"
      "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
      "  local s = trawl.udp()\n"
      "  s:set_timeout(300)\n"
      "  add(s:connect('127.0.0.1', tonumber(a.u)))\n"
      "  add(s:send('ping one'))\n"
      "  add(s:send('ping two'))\n"
      "  add(s:receive())\n"
      "  add(s:receive())\n"
      "  add(s:receive())\n"
      "  s:close()\n"
      "  s = trawl.new_socket('udp')\n"
      "  add(s:connect('127.0.0.1', {number = tonumber(a.c), protocol = 'udp'}))\n"
      "  add(s:send('anyone?'))\n"
      "  add(s:receive())\n"
      "  return table.concat(out, '|')\n"
      "end\n";
  const char *o = run1(body, args, false, NULL);
  assert_string_equal(o, "true|true|true|true|ping one|true|ping two|nil|TIMEOUT|true|true|nil|Connection refused");
  sendto(fd, "quit", 4, 0, (struct sockaddr *)&a, sizeof a);
  pthread_join(th, NULL);
  close(fd);
}

static void test_dns_sleep_clock(void **state) {
  test_dns *dns;
  assert_int_equal(test_dns_start(&dns, "127.0.0.1"), 0);
  const char *body =
      "action = function()\n"
      "  local out = {}\n"
      "  local function add(...) local t = table.pack(...) for i = 1, t.n do\n"
      "    local v = t[i] if type(v) == 'table' then v = table.concat(v, ',') end out[#out + 1] = tostring(v) end end\n"
      "  local r = trawl.resolve('a.test') table.sort(r) add(r)\n"
      "  add(trawl.resolve('a.test', 'inet'))\n"
      "  add(trawl.resolve('a.test', 6))\n"
      "  add(trawl.resolve('v6only.test', 'inet'))\n"
      "  add(trawl.resolve('nosuch.test'))\n"
      "  add(trawl.resolve('198.18.0.77'))\n"
      "  add(trawl.resolve('198.18.0.77', 'inet6'))\n"
      "  add(trawl.reverse('198.18.0.1'))\n"
      "  add(trawl.reverse({ip = '2001:db8::1'}))\n"
      "  add(trawl.reverse('not an ip'))\n"
      "  add(pcall(trawl.resolve, 'a.test', 'bogus'))\n"
      "  local c0, m0 = trawl.clock(), trawl.clock_ms()\n"
      "  trawl.sleep(0.05)\n"
      "  local dc, dm = trawl.clock() - c0, trawl.clock_ms() - m0\n"
      "  add(dc >= 0.049 and dc < 0.5, dm >= 49 and dm < 500, math.type(m0))\n"
      "  add(trawl.tohex('\\1\\171'), trawl.fromhex('01ab'), trawl.fromhex('zz'))\n"
      "  return table.concat(out, '|')\n"
      "end\n";
  char text[16384];
  snprintf(text, sizeof text, FX_HEAD("'api'") "hostrule = function() return true end\n%s", body);
  fx_script("api", text);
  struct fx f;
  fx_init(&f);
  f.cfg.dns_servers = test_dns_servers(dns);
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "api");
  if (!o) fail_msg("no output; errors: %s", fx_errors(&f));
  assert_string_equal(o, "198.18.0.1,2001:db8::1|198.18.0.1|2001:db8::1|nil|NODATA|nil|NXDOMAIN|198.18.0.77|"
                         "nil|NODATA|a.test|a.test|nil|not an IP address|"
                         "false|bad argument #2 to 'trawl.resolve' (expected \"inet\", \"inet6\", 4 or 6)|"
                         "true|true|integer|01ab|\x01\xab|nil|not a hex string");
  host_result_free(&h);
  fx_free(&f);
  test_dns_stop(dns);
}

static void test_trace(void **state) {
  struct fx_srv *echo = fx_srv_start(AF_INET, SRV_ECHO, NULL);
  char args[100];
  snprintf(args, sizeof args, "e=%u", echo->port);
  const char *body =
      "action = function()\n"
      "  local s = trawl.tcp()\n"
      "  s:connect('127.0.0.1', tonumber(trawl.args.e))\n"
      "  s:send('GET /\\r\\n\\1\\255')\n"
      "  local ok, d = s:receive_bytes(9)\n"
      "  s:close()\n"
      "  return #d\n"
      "end\n";
  char *err = NULL;
  assert_string_equal(run1(body, args, true, &err), "9");
  char want[200];
  snprintf(want, sizeof want, "SCRIPT TRACE api: TCP 127.0.0.1:%u CONNECT ok\n", echo->port);
  assert_non_null(strstr(err, want));
  snprintf(want, sizeof want, "SCRIPT TRACE api: TCP 127.0.0.1:%u SEND (9 bytes) | GET /\\r\\n\\x01\\xff\n", echo->port);
  assert_non_null(strstr(err, want));
  assert_non_null(strstr(err, "RECV (9 bytes) | GET /\\r\\n\\x01\\xff\n"));
  assert_non_null(strstr(err, "CLOSE\n"));
  free(err);
  fx_srv_stop(echo);
}

/* The shipped scripts (scripts/) against loopback services. */
static void test_service_scripts(void **state) {
  struct fx_srv *banner = fx_srv_start(AF_INET, SRV_BANNER, "SSH-2.0-Fixture\r\n\x01\x7f ok\r\n");
  struct fx_srv *web = fx_srv_start(AF_INET, SRV_HTTP, "<html><head><title>Fixture\n Page</title></head></html>");
  struct fx_srv *web6 = fx_srv_start(AF_INET6, SRV_HTTP, "no title here");
  struct fx_srv *silent = fx_srv_start(AF_INET, SRV_SILENT, NULL);
  /* plain HTTP on a port taken for https: TLS fails, plain is tried next */
  struct fx_srv *plain_https = fx_srv_start(AF_INET, SRV_HTTP, "<title>plain on https</title>");
  /* longer than a line: selected by name (verbosity 1, as NSE says to
   * such scripts) it gets a second line */
  static char longb[101];
  memset(longb, 'A', 100);
  struct fx_srv *lng = fx_srv_start(AF_INET, SRV_BANNER, longb);
  struct fx f;
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  f.cfg.script_args = "banner.timeout=300ms";
  assert_int_equal(fx_engine(&f, "banner,http-title,http-headers"), 0);
  struct host_result h[2];
  fx_host(&h[0], "127.0.0.1", 0);
  host_add_port(&h[0], PROTO_TCP, banner->port, PORT_OPEN, "syn-ack", 64, "ssh");
  host_add_port(&h[0], PROTO_TCP, web->port, PORT_OPEN, "syn-ack", 64, "http");
  host_add_port(&h[0], PROTO_TCP, silent->port, PORT_OPEN, "syn-ack", 64, NULL);
  host_add_port(&h[0], PROTO_TCP, plain_https->port, PORT_OPEN, "syn-ack", 64, "https");
  host_add_port(&h[0], PROTO_TCP, lng->port, PORT_OPEN, "syn-ack", 64, NULL);
  fx_host(&h[1], "::1", 0);
  host_add_port(&h[1], PROTO_TCP, web6->port, PORT_OPEN, "syn-ack", 64, "http");
  struct host_result *hp[2] = {&h[0], &h[1]};
  fx_run(&f, hp, 2);
  assert_string_equal(fx_out(&h[0], banner->port, "banner"), "SSH-2.0-Fixture\\x0D\\x0A\\x01\\x7F ok");
  assert_null(fx_out(&h[0], silent->port, "banner"));
  assert_string_equal(fx_out(&h[0], web->port, "http-title"), "Fixture Page");
  const struct script_result *t = fx_result(&h[0], web->port, "http-title");
  assert_int_equal(t->tree.nchild, 1);
  assert_string_equal(t->tree.child[0].key, "title");
  assert_string_equal(t->tree.child[0].value, "Fixture\n Page");
  assert_string_equal(fx_out(&h[1], web6->port, "http-title"), "Site doesn't have a title (text/html).");
  assert_string_equal(fx_out(&h[0], web->port, "http-headers"),
                      "\n  Server: fixture/1.0\n  Content-Type: text/html\n  Content-Length: 54\n"
                      "  Connection: close\n  \n  (Request type: HEAD)");
  assert_null(fx_out(&h[0], banner->port, "http-title"));
  assert_string_equal(fx_out(&h[0], plain_https->port, "http-title"), "plain on https");
  char want[120];
  memset(want, 'A', 101);
  want[63] = '\n';
  want[101] = 0;
  assert_string_equal(fx_out(&h[0], lng->port, "banner"), want);
  for (int i = 0; i < 2; i++) host_result_free(&h[i]);
  fx_free(&f);
  fx_srv_stop(banner);
  fx_srv_stop(web);
  fx_srv_stop(web6);
  fx_srv_stop(silent);
  fx_srv_stop(plain_https);
  /* selected by category (verbosity 0): cut to 63 characters ending in
   * "...", and (as Nmap's banner does) a line break after that full line */
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  assert_int_equal(fx_engine(&f, "discovery and not http-*"), 0);
  fx_host(&h[0], "127.0.0.1", 0);
  host_add_port(&h[0], PROTO_TCP, lng->port, PORT_OPEN, "syn-ack", 64, NULL);
  fx_run(&f, hp, 1);
  memset(want, 'A', 60);
  strcpy(want + 60, "...\n");
  assert_string_equal(fx_out(&h[0], lng->port, "banner"), want);
  host_result_free(&h[0]);
  fx_free(&f);
  fx_srv_stop(lng);
}

/* The runner: script_test_main with targets on the command line. */
static void test_runner(void **state) {
  struct fx_srv *banner = fx_srv_start(AF_INET, SRV_BANNER, "RUNNER-BANNER");
  char target[64], out[300];
  snprintf(target, sizeof target, "127.0.0.1:%u", banner->port);
  snprintf(out, sizeof out, "%s/out.xml", fx_dir);
  char *argv[] = {"trawl", "--script-test", "--script", "banner", "--script-dir", TW_SRCDIR "/scripts",
                  "-oX", out, target, NULL};
  assert_int_equal(script_test_main(9, argv), 0);
  FILE *fp = fopen(out, "r");
  assert_non_null(fp);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = 0;
  fclose(fp);
  assert_non_null(strstr(buf, "<script id=\"banner\" output=\"RUNNER-BANNER\"/>"));
  char *bad[] = {"trawl", "--script-test", "--script", "nosuch", "--script-dir", TW_SRCDIR "/scripts", target, NULL};
  assert_int_equal(script_test_main(7, bad), 2);
  fx_srv_stop(banner);
}

/* A peer that streams one endless line ('x' forever, no newline): a
 * receive that waits for a delimiter or a line ends quickly with "receive
 * buffer full" (long before its 10 s timeout), receive_bytes(n) for more
 * than the bound returns the bound's worth, the bytes stay readable after
 * the error, and the process's peak memory grows by far less than what
 * the peer sends in that time. */
static void test_receive_bound(void **state) {
  struct fx_srv *srv = fx_srv_start(AF_INET, SRV_ENDLESS, NULL);
  char args[100];
  snprintf(args, sizeof args, "p=%u,max=%u", srv->port, (unsigned)LSOCK_RBUF_MAX);
  const char *body =
      "action = function()\n"
      "  local out = {}\n"
      "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
      "  local max = tonumber(trawl.args.max)\n"
      "  local function try(f)\n"
      "    local s = trawl.tcp()\n"
      "    s:set_timeout(10000)\n"
      "    add(s:connect('127.0.0.1', tonumber(trawl.args.p)))\n"
      "    local t0 = trawl.clock()\n"
      "    local ok, d = f(s)\n"
      "    add(ok, ok and #d or d, trawl.clock() - t0 < 5)\n"
      "    if not ok then local ok2, d2 = s:receive() add(ok2, #d2 == max) end\n"
      "    s:close()\n"
      "  end\n"
      "  try(function(s) return s:receive_buf('\\r?\\n', false) end)\n"
      "  try(function(s) return s:receive_until('END\\r?\\n') end)\n"
      "  try(function(s) return s:receive_buf(function(b) return b:find('\\n', 1, true) end, true) end)\n"
      "  try(function(s) return s:receive_lines(1) end)\n"
      "  try(function(s) return s:receive_bytes(64 * 1024 * 1024) end)\n"
      "  return table.concat(out, '|')\n"
      "end\n";
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  const char *o = run1(body, args, false, NULL);
  getrusage(RUSAGE_SELF, &r1);
  char want[400];
  snprintf(want, sizeof want,
           "true|nil|receive buffer full|true|true|true|"
           "true|nil|receive buffer full|true|true|true|"
           "true|nil|receive buffer full|true|true|true|"
           "true|nil|receive buffer full|true|true|true|"
           "true|true|%u|true",
           (unsigned)LSOCK_RBUF_MAX);
  assert_string_equal(o, want);
  long grew_kib = r1.ru_maxrss - r0.ru_maxrss;
  print_message("peak RSS grew by %ld KiB\n", grew_kib);
#if !defined(__SANITIZE_ADDRESS__) && !TW_HAS_ASAN
  /* (AddressSanitizer's quarantine holds freed memory: RSS says nothing) */
  assert_true(grew_kib < 64 * 1024);
#endif
  fx_srv_stop(srv);

  /* a delimiter that arrives a byte at a time, so that every match
   * straddles what was already looked at and the new bytes */
  struct fx_srv *slow = fx_srv_start(AF_INET, SRV_LINES, "ab\ncd\nef\ngh\nij");
  snprintf(args, sizeof args, "p=%u", slow->port);
  const char *body2 =
      "action = function()\n"
      "  local out = {}\n"
      "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
      "  local s = trawl.tcp()\n"
      "  add(s:connect('127.0.0.1', tonumber(trawl.args.p)))\n"
      "  add(s:receive_until('[c]d?\\nef'))\n"
      "  add(s:receive_buf('%sgh()', true))\n"
      "  add(s:receive_buf('j$', true))\n"
      "  s:close()\n"
      "  return table.concat(out, '|')\n"
      "end\n";
  o = run1(body2, args, false, NULL);
  assert_string_equal(o, "true|true|ab\ncd\nef|true|\ngh|true|\nij");
  fx_srv_stop(slow);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tcp_receive_modes, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_tcp_errors, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_udp, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_dns_sleep_clock, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_trace, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_service_scripts, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_runner, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_receive_bound, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
