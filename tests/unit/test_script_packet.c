/* test_script_packet.c: raw packets for scripts (src/script/lua/lua-packet.c) with no
 * privileges: trawl.packet.build_* and parse round trips with checksums,
 * and trawl.packet.wait woken only by its own packet, fed to the loop's
 * dispatcher with tw_dispatch_input() (a capture does the same in the
 * lab test test_scripts.sh), with its kernel timestamp; and TIMEOUT;
 * waiters registered ahead of sending (trawl.packet.waiter); IPv4 options
 * (record route built, parsed, hostile ones refused); get_interface_info. */
#include "script_fixture.h"

static void test_build_parse(void **state) {
  fx_script("api", FX_HEAD("'p'") "hostrule = function() return true end\n"
            "action = function()\n"
            "  local P, out = trawl.packet, {}\n"
            "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
            "  local b = P.build_icmp{src = '198.18.0.1', dst = '198.18.0.2', id = 7, seq = 9, data = 'hi', ttl = 33}\n"
            "  local p = P.parse(b)\n"
            "  add(#b, p.ip.version, p.ip.src, p.ip.dst, p.ip.ttl, p.ip.csum_ok, p.icmp.type, p.icmp.id, p.icmp.seq, p.icmp.csum_ok, p.payload)\n"
            "  b = P.build_icmp{src = '2001:db8::1', dst = '2001:db8::2', id = 5, seq = 6}\n"
            "  p = P.parse(b)\n"
            "  add(p.ip.version, p.icmp6.type, p.icmp6.id)\n"
            "  b = P.build_tcp{src = '198.18.0.1', dst = '198.18.0.2', sport = 4000, dport = 80, flags = 'SA', seq = 1, ack = 2, mss = 1460}\n"
            "  p = P.parse(b)\n"
            "  add(p.tcp.flagstr, p.tcp.sport, p.tcp.dport, p.tcp.mss, p.tcp.ack)\n"
            "  b = P.build_udp{src = '198.18.0.1', dst = '198.18.0.2', sport = 53, dport = 5353, payload = 'abc'}\n"
            "  p = P.parse(b)\n"
            "  add(p.udp.dport, p.udp.len, p.payload)\n"
            "  local arp = P.build_arp{op = 1, sha = '02:00:00:00:00:01', spa = '198.18.0.1', tpa = '198.18.0.2'}\n"
            "  local f = P.build_eth{src = '02:00:00:00:00:01', dst = 'ff:ff:ff:ff:ff:ff', type = 0x0806, payload = arp}\n"
            "  p = P.parse(f, 'eth')\n"
            "  add(p.eth.type, p.eth.dst, p.arp.op, p.arp.spa, p.arp.tpa, p.arp.sha)\n"
            "  add(P.checksum('\\0\\1\\0\\2'))\n"
            "  add(P.parse('\\x45\\0'))\n"
            "  add(pcall(P.build_udp, {src = '198.18.0.1'}))\n"
            "  add(trawl.raw_send('\\x10junk'))\n"
            "  return table.concat(out, '|')\n"
            "end\n");
  struct fx f;
  fx_init(&f);
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "api");
  if (!o) fail_msg("no output: %s", fx_errors(&f));
  assert_string_equal(o, "30|4|198.18.0.1|198.18.0.2|33|true|8|7|9|true|hi|6|128|5|SA|4000|80|1460|2|"
                         "5353|11|abc|2054|ff:ff:ff:ff:ff:ff|1|198.18.0.1|198.18.0.2|02:00:00:00:00:01|"
                         "65532|nil|ipv4: truncated header|false|field 'dst' (an IP address) is required|"
                         "nil|not an IPv4 or IPv6 packet (give an interface for Ethernet frames)");
  host_result_free(&h);
  fx_free(&f);
}

/* IPv4 options: the record route builder, ip.options and ip.rr of parsed
 * packets, hostile options (pointer out of range, length overrun) reported
 * as errors and never read; trawl.get_interface_info. */
static void test_ip_options(void **state) {
  fx_script("api", FX_HEAD("'p'") "hostrule = function() return true end\n"
            "action = function()\n"
            "  local P, out = trawl.packet, {}\n"
            "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
            "  local function rr(p, e) if not p then return 'unparsed', e end\n"
            "    local r = p.ip and p.ip.rr if not r then return 'norr', p.error end\n"
            "    return r.pointer, r.slots, r.filled, table.concat(r.hops, ',') end\n"
            "  local A = '\\198\\18\\11\\1'\n"
            "  local B = '\\198\\18\\30\\1'\n"
            "  local function icmp(o) return P.build_icmp{src = '198.18.0.2', dst = '198.18.0.1', type = 0, id = 3, seq = 1, ipopts = o} end\n"
            "  local b = P.build_icmp{src = '198.18.0.1', dst = '198.18.0.2', id = 3, seq = 1, record_route = 9}\n"
            "  local p = P.parse(b)\n"
            "  add(#b, #p.ip.options, p.ip.len, rr(p))\n"
            "  add(rr(P.parse(icmp('\\7\\11\\12' .. A .. B .. '\\0'))))\n"
            "  add(rr(P.parse(icmp('\\7\\11\\8' .. A .. B .. '\\0'))))\n"
            "  local good = icmp('\\7\\11\\12' .. A .. B .. '\\0')\n"
            "  local function mut(pos, byte) return good:sub(1, pos - 1) .. string.char(byte) .. good:sub(pos + 1) end\n"
            "  add(rr(P.parse(mut(23, 3))))\n"
            "  add(rr(P.parse(mut(23, 200))))\n"
            "  add(rr(P.parse(mut(22, 40))))\n"
            "  add(rr(P.parse(mut(22, 2))))\n"
            "  add(rr(P.parse(good:sub(1, 26))))\n"
            "  add(pcall(P.build_icmp, {src = '198.18.0.1', dst = '198.18.0.2', record_route = 10}))\n"
            "  add(pcall(P.build_icmp, {src = '2001:db8::1', dst = '2001:db8::2', record_route = 9}))\n"
            "  add(pcall(P.build_icmp, {src = '198.18.0.1', dst = '198.18.0.2', ipopts = string.rep('\\1', 41)}))\n"
            "  local i = trawl.get_interface_info('lo')\n"
            "  add(i.device, i.link, i.ifindex > 0, i.up, i.mac)\n"
            "  add(trawl.get_interface_info('nosuchif0'))\n"
            "  return table.concat(out, '|')\n"
            "end\n");
  struct fx f;
  fx_init(&f);
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "api");
  if (!o) fail_msg("no output: %s", fx_errors(&f));
  assert_string_equal(o, "68|40|68|4|9|0||"
                         "12|2|2|198.18.11.1,198.18.30.1|8|2|1|198.18.11.1|"
                         "norr|ipv4: bad route option length or pointer|"
                         "norr|ipv4: bad route option length or pointer|"
                         "norr|ipv4: option length overruns header|"
                         "norr|ipv4: bad route option length or pointer|"
                         "unparsed|ipv4: header length (IHL) beyond buffer|"
                         "false|record_route: 1..9 slots|false|IP options are IPv4 only|"
                         "false|ipopts: at most 40 bytes|lo|loopback|true|true|nil|nil|No such device");
  host_result_free(&h);
  fx_free(&f);
}

static void feed(tw_loop *loop, const uint8_t *pkt, size_t n, uint64_t ts) {
  tw_frame fr = {0};
  fr.data = pkt;
  fr.caplen = fr.len = (uint32_t)n;
  fr.ts_ns = ts;
  fr.ifindex = 1;
  fr.linktype = TW_LINK_RAW;
  tw_dispatch_input(loop, &fr);
}

static size_t echo_reply(uint8_t *buf, size_t cap, uint16_t id, uint16_t seq) {
  tw_pkt_ipspec ip = {0};
  tw_pkt_addr_parse(&ip.src, "198.18.0.2");
  tw_pkt_addr_parse(&ip.dst, "198.18.0.1");
  tw_pkt_icmp ic = {0};
  ic.type = TW_ICMP_ECHOREPLY;
  ic.id = id;
  ic.seq = seq;
  int n = tw_pkt_build_icmp(buf, cap, &ip, &ic, NULL, "pong", 4);
  assert_true(n > 0);
  return (size_t)n;
}

static void test_wait(void **state) {
  fx_script("api", FX_HEAD("'p'") "hostrule = function() return true end\n"
            "action = function()\n"
            "  local m = {proto = 'icmp', src = '198.18.0.2', icmp_type = 0, icmp_id = 4242, timeout = 5000}\n"
            "  local h = trawl.spawn(function() return trawl.packet.wait{proto = 'icmp', icmp_id = 1, timeout = 100} end)\n"
            "  local p = trawl.packet.wait(m)\n"
            "  local a, b = h:join()\n"
            "  return ('%d %d %s %s %s %s %s'):format(p.icmp.id, p.icmp.seq, p.ts_ns, p.payload, p.link, tostring(a), b)\n"
            "end\n");
  struct fx f;
  fx_init(&f);
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  assert_int_equal(script_run_group(f.e, &hp, 1, NULL, fx_done, &f), 0);
  for (int i = 0; i < 5; i++) tw_loop_run(f.loop, TW_RUN_NOWAIT);
  uint8_t pkt[128];
  size_t n = echo_reply(pkt, sizeof pkt, 4343, 1); /* someone else's */
  feed(f.loop, pkt, n, 111);
  for (int i = 0; i < 3; i++) tw_loop_run(f.loop, TW_RUN_NOWAIT);
  assert_false(f.done);
  n = echo_reply(pkt, sizeof pkt, 4242, 17);
  feed(f.loop, pkt, n, 1700000000123456789ull);
  fx_wait(&f, 5000000000ull);
  const char *o = fx_out(&h, 0, "api");
  if (!o) fail_msg("no output: %s", fx_errors(&f));
  assert_string_equal(o, "4242 17 1700000000123456789 pong ip nil TIMEOUT");
  host_result_free(&h);
  fx_free(&f);
}

/* trawl.packet.waiter{...}: registered at once, so a packet that comes
 * before w:wait() is kept for it; a waiter that times out, one cancelled,
 * one collected while pending, one left pending when the action ends. */
static void test_waiter(void **state) {
  fx_script("api", FX_HEAD("'p'") "hostrule = function() return true end\n"
            "action = function()\n"
            "  local P = trawl.packet\n"
            "  local w = P.waiter{proto = 'icmp', src = '198.18.0.2', icmp_type = 0, icmp_id = 5151, timeout = 5000}\n"
            "  local t = P.waiter{proto = 'icmp', icmp_id = 1, timeout = 50}\n"
            "  local c = P.waiter{proto = 'icmp', icmp_id = 2, timeout = 5000}\n"
            "  c:cancel()\n"
            "  local g = P.waiter{proto = 'icmp', icmp_id = 3, timeout = 5000}\n"
            "  g = nil\n"
            "  collectgarbage()\n"
            "  trawl.sleep(0.2) -- the reply comes meanwhile\n"
            "  local p = w:wait()\n"
            "  local p2 = w:wait()\n"
            "  local a, b = t:wait()\n"
            "  local x, y = c:wait()\n"
            "  local left = P.waiter{proto = 'icmp', icmp_id = 4, timeout = 5000}\n"
            "  return ('%d %d %s %s %s %s %s %s'):format(p.icmp.id, p.icmp.seq, p.ts_ns, tostring(p == p2),\n"
            "    tostring(a), b, tostring(x), y)\n"
            "end\n");
  struct fx f;
  fx_init(&f);
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  assert_int_equal(script_run_group(f.e, &hp, 1, NULL, fx_done, &f), 0);
  for (int i = 0; i < 5; i++) tw_loop_run(f.loop, TW_RUN_NOWAIT);
  uint8_t pkt[128];
  size_t n = echo_reply(pkt, sizeof pkt, 5151, 3);
  feed(f.loop, pkt, n, 424242);
  fx_wait(&f, 5000000000ull);
  const char *o = fx_out(&h, 0, "api");
  if (!o) fail_msg("no output: %s", fx_errors(&f));
  assert_string_equal(o, "5151 3 424242 true nil TIMEOUT nil CANCELLED");
  host_result_free(&h);
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_build_parse, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_ip_options, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_wait, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_waiter, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
