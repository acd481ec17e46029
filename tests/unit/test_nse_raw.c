/* test_nse_raw.c: the raw-packet and broadcast side of trawl's `nmap`
 * module for Nmap's NSE scripts (src/script/nse/nse-nmap.lua, nse-pcap.c,
 * nse-nmap.c), on loopback: a stdnse.new_thread worker that fails wakes
 * its parent waiting on nmap.condvar (NSE's rule); nmap.get_payload_length
 * and nmap.get_interface from the configuration; get_interface_info's
 * fields; socket:sendto and bind (an unconnected UDP socket hearing any
 * sender); socket:pcap_open / pcap_receive / pcap_close (a
 * frame that passes the BPF filter, one that does not, TIMEOUT, a bad
 * filter and an unknown device as errors); nmap.new_dnet's ip_send seen
 * by pcap_receive, and its errors. The capture tests need root (they skip
 * without it). Nmap's nselib (Debian's nmap-common) must be installed, or
 * the tests skip. */
#include <sys/socket.h>
#include <unistd.h>

#include "script_fixture.h"
#include "script/nse/nse.h"

#define NMAPDIR "/usr/share/nmap"

static bool have_nmap(void) {
  struct stat st;
  return stat(NMAPDIR "/nselib/stdnse.lua", &st) == 0;
}


#define HEAD "description = 'x'\ncategories = {'safe'}\nlocal nmap = require 'nmap'\n" \
             "local stdnse = require 'stdnse'\nhostrule = function() return true end\n"

/* A UDP socket on 127.0.0.1 (its port in *port), non-blocking. */
static int udp_sink(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t l = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Run the .nse files (comma-separated paths) against 127.0.0.1. */
static void run_nse(struct fx *f, struct host_result *h, const char *expr) {
  f->cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(f, expr), 0);
  fx_host(h, "127.0.0.1", 0);
  struct host_result *hp = h;
  fx_run(f, &hp, 1);
}

static void test_worker_fails(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  char p1[400], p2[400], expr[900];
  /* as broadcast-ping's workers: each takes the condvar, then fails
   * before signalling; the parent must wake and see them dead */
  nse_file("wfail", HEAD "action = function()\n"
                         "  local cv, threads = nmap.condvar('x'), {}\n"
                         "  local function w() local c = nmap.condvar('x') stdnse.sleep(0.01) error('worker broke') end\n"
                         "  for i = 1, 2 do threads[stdnse.new_thread(w)] = true end\n"
                         "  repeat\n"
                         "    for t in pairs(threads) do if coroutine.status(t) == 'dead' then threads[t] = nil end end\n"
                         "    if next(threads) then cv 'wait' end\n"
                         "  until next(threads) == nil\n"
                         "  return 'parent went on'\n"
                         "end\n",
           p1, sizeof p1);
  nse_file("cfgfns", HEAD "action = function()\n"
                          "  local i = nmap.get_interface_info('lo')\n"
                          "  return ('%s %s %s %s %s %s'):format(nmap.get_payload_length(), tostring(nmap.get_interface()),\n"
                          "    i.link, i.up, tostring(i.mtu > 0), tostring(i.mac))\n"
                          "end\n",
           p2, sizeof p2);
  snprintf(expr, sizeof expr, "%s,%s", p1, p2);
  struct fx f;
  fx_init(&f);
  f.cfg.payload_length = 12;
  f.cfg.device = "lo";
  struct host_result h;
  run_nse(&f, &h, expr);
  print_message("%s\n", fx_errors(&f));
  assert_non_null(fx_out(&h, 0, "wfail"));
  assert_string_equal(fx_out(&h, 0, "wfail"), "parent went on");
  assert_non_null(strstr(fx_errors(&f), "worker broke"));
  assert_null(strstr(fx_errors(&f), "deadlock"));
  assert_string_equal(fx_out(&h, 0, "cfgfns"), "12 lo loopback up true nil");
  host_result_free(&h);
  fx_free(&f);
}

/* A bind that fails (the port is taken; dhcp.lua's 68 once root is
 * dropped) leaves the socket new and usable: a sendto then works, and the
 * failed attempt's handle is released (ASan's leak check, make test-asan,
 * found it kept before). */
static void test_bind_fails(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  uint16_t port;
  int fd = udp_sink(&port);
  char p[400], text[1500];
  snprintf(text, sizeof text,
           HEAD "action = function()\n"
                "  local s = nmap.new_socket('udp')\n"
                "  local ok, err = s:bind('127.0.0.1', %u)\n"
                "  local sent = s:sendto('127.0.0.1', %u, 'after')\n"
                "  s:close()\n"
                "  return ('%%s %%s %%s'):format(tostring(ok), tostring(err ~= nil), tostring(sent))\n"
                "end\n",
           port, port);
  nse_file("bindfail", text, p, sizeof p);
  struct fx f;
  fx_init(&f);
  struct host_result h;
  run_nse(&f, &h, p);
  assert_string_equal(fx_out(&h, 0, "bindfail"), "false true true");
  char buf[16];
  assert_int_equal(recv(fd, buf, sizeof buf, 0), 5);
  assert_memory_equal(buf, "after", 5);
  close(fd);
  host_result_free(&h);
  fx_free(&f);
}

static void test_sendto(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  uint16_t port;
  int fd = udp_sink(&port);
  char p[400], text[2000];
  snprintf(text, sizeof text,
           HEAD "action = function()\n"
                "  local s = nmap.new_socket('udp')\n"
                "  local a = s:sendto('127.0.0.1', %u, 'one')\n"
                "  local b = s:sendto('127.0.0.1', {number = %u, protocol = 'udp'}, 'two')\n"
                "  local c, err = s:sendto('127.0.0.1', 'nope', 'x')\n"
                "  s:close()\n"
                "  -- a bound socket hears any sender; the sender hears the answer\n"
                "  local A, B = nmap.new_socket('udp'), nmap.new_socket('udp')\n"
                "  A:set_timeout(1000) B:set_timeout(1000)\n"
                "  assert(A:bind('127.0.0.1', 0))\n"
                "  local _, _, aport = A:get_info()\n"
                "  assert(B:sendto('localhost', aport, 'hi'))\n"
                "  local okr, got = A:receive()\n"
                "  local _, _, _, rhost, rport = A:get_info()\n"
                "  assert(A:sendto(rhost, rport, 'back'))\n"
                "  local okb, back = B:receive()\n"
                "  local t = nmap.new_socket()\n"
                "  local okt, et = t:bind(nil, 0)\n"
                "  return ('%%s %%s %%s %%s | %%s %%s %%s %%s %%s'):format(tostring(a), tostring(b), tostring(c), err,\n"
                "    tostring(okr), got, back, tostring(okt), et)\n"
                "end\n",
           port, port);
  nse_file("sendto", text, p, sizeof p);
  struct fx f;
  fx_init(&f);
  struct host_result h;
  run_nse(&f, &h, p);
  assert_string_equal(fx_out(&h, 0, "sendto"),
                      "true true false invalid port | true hi back false "
                      "bind: only UDP sockets can be bound in trawl");
  char buf[16];
  assert_int_equal(recv(fd, buf, sizeof buf, 0), 3);
  assert_memory_equal(buf, "one", 3);
  assert_int_equal(recv(fd, buf, sizeof buf, 0), 3);
  assert_memory_equal(buf, "two", 3);
  close(fd);
  host_result_free(&h);
  fx_free(&f);
}

static void test_pcap_and_dnet(void **state) {
  (void)state;
  if (!have_nmap()) skip();
  if (geteuid() != 0) skip();
  uint16_t port;
  int fd = udp_sink(&port);
  char p1[400], p2[400], text[2500], expr[900];
  snprintf(text, sizeof text,
           HEAD "action = function()\n"
                "  local out = {}\n"
                "  local p = nmap.new_socket()\n"
                "  p:set_timeout(1000)\n"
                "  p:pcap_open('lo', 200, false, 'udp and dst port %u')\n"
                "  local s = nmap.new_socket('udp')\n"
                "  s:sendto('127.0.0.1', %u, 'not this one, the filter passes it')\n"
                "  s:sendto('127.0.0.1', %u, 'hello')\n"
                "  local ok, len, l2, l3, t = p:pcap_receive()\n"
                "  out[1] = ('%%s %%d %%d %%s %%s %%s'):format(tostring(ok), len, #l2, l3:byte(1) == 0x45,\n"
                "    l3:sub(-5), tostring(math.abs(t - os.time()) < 5))\n"
                "  p:set_timeout(100)\n"
                "  local ok9, e9 repeat ok9, e9 = p:pcap_receive() until not ok9 -- loopback: a copy each way\n"
                "  out[2] = tostring(ok9) .. ' ' .. tostring(e9)\n"
                "  -- raw IP through nmap.new_dnet, heard by the capture\n"
                "  local d = nmap.new_dnet()\n"
                "  out[3] = tostring(pcall(d.ip_send, d, 'x'))\n"
                "  d:ip_open()\n"
                "  local pkt = '\\x45\\x00\\x00\\x1e\\x00\\x01\\x00\\x00\\x40\\x11\\x00\\x00\\x7f\\x00\\x00\\x01\\x7f\\x00\\x00\\x01'\n"
                "    .. string.pack('>I2I2I2I2', 4242, %u, 10, 0) .. 'dd'\n"
                "  p:set_timeout(1000)\n"
                "  out[4] = tostring(d:ip_send(pkt, '127.0.0.1'))\n"
                "  local ok2, _, _, l3b = p:pcap_receive()\n"
                "  out[5] = tostring(ok2) .. ' ' .. tostring(l3b and l3b:sub(-2))\n"
                "  d:ip_close()\n"
                "  p:pcap_close()\n"
                "  out[6] = tostring(select(2, p:pcap_receive()))\n"
                "  out[7] = tostring(select(2, pcall(d.ethernet_open, d, 'no-such-if0')))\n"
                "  out[8] = tostring(select(2, pcall(p.pcap_open, p, 'lo', 64, false, 'not a ( filter')))\n"
                "  out[9] = tostring(select(2, pcall(p.pcap_open, p, 'no-such-if0', 64, false, '')))\n"
                "  return table.concat(out, '|')\n"
                "end\n",
           port, port + 1 == 0 ? 1 : port + 1, port, port);
  nse_file("pcap", text, p1, sizeof p1);
  (void)p2;
  snprintf(expr, sizeof expr, "%s", p1);
  struct fx f;
  fx_init(&f);
  f.cfg.nmapdir = NMAPDIR;
  assert_int_equal(fx_engine(&f, expr), 0);
  if (script_engine_open_raw(f.e, NULL, 0) <= 0) {
    fx_free(&f);
    close(fd);
    skip();
  }
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "pcap");
  print_message("%s\n%s", o ? o : "(none)", fx_errors(&f));
  assert_non_null(o);
  char want[64];
  snprintf(want, sizeof want, "true 33 14 true hello true|false TIMEOUT|false|true|true dd|");
  assert_true(!strncmp(o, want, strlen(want)));
  assert_non_null(strstr(o, "|pcap is not open|"));
  assert_non_null(strstr(o, "device is not valid ethernet interface"));
  assert_non_null(strstr(o, "bad filter 'not a ( filter'"));
  assert_non_null(strstr(o, "pcap_open: "));
  close(fd);
  host_result_free(&h);
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_worker_fails, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_sendto, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_bind_fails, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_pcap_and_dnet, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
