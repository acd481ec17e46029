/* test_script_synack.c: port.synack as scripts see it (src/script/script-p0f.c)
 * and the shipped synack-fingerprint script: open ports whose SYN+ACK the
 * scan kept (observations taken here with synack_obs from frames built with
 * libtrawl) get the p0f label from a p0f.fp written to --datadir, or the raw
 * signature when nothing matches; a port without a SYN+ACK gets no result;
 * an unreadable p0f.fp gives the signature and the reason, once per engine. */
#include "script_fixture.h"

#include <trawl/packet.h>

#include "os/synack.h"

static int setup(void **state) {
  fx_mkdir();
  return 0;
}
static int teardown(void **state) {
  fx_rmdir();
  return 0;
}

static void write_file(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", fx_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* The observation of a SYN+ACK with TTL ttl, window win and only an MSS
 * option of mss. */
static struct p0f_obs *obs(uint8_t ttl, uint16_t win, uint16_t mss) {
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  tw_pkt_addr_parse(&ip.src, "198.18.0.2");
  tw_pkt_addr_parse(&ip.dst, "198.18.0.1");
  ip.ttl = ttl;
  ip.df = 1;
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.sport = 22;
  t.dport = 40000;
  t.flags = TW_TCP_SYN | TW_TCP_ACK;
  t.win = win;
  t.seq = 12345;
  t.ack = 1;
  uint8_t o[4] = {2, 4, (uint8_t)(mss >> 8), (uint8_t)mss};
  t.opt = o;
  t.optlen = 4;
  uint8_t buf[128];
  int n = tw_pkt_build_tcp(buf, sizeof buf, &ip, &t, NULL, 0);
  assert_true(n > 0);
  tw_frame f;
  memset(&f, 0, sizeof f);
  f.data = buf;
  f.caplen = f.len = (uint32_t)n;
  f.linktype = TW_LINK_RAW;
  struct p0f_obs *r = malloc(sizeof *r);
  assert_non_null(r);
  assert_int_equal(synack_obs(&f, r), 0);
  return r;
}

static void run(const char *fp, const char *want22, const char *want80, const char *fields22) {
  write_file("p0f.fp", fp);
  /* every field of port.synack, from a script of the test's own */
  fx_script("fields", FX_HEAD("'safe'") "portrule = function(h, p) return p.synack ~= nil end\n"
            "action = function(h, p)\n"
            "  local s, out = p.synack, {}\n"
            "  for _, k in ipairs{'ttl', 'win', 'mss', 'wscale', 'matched', 'fuzzy', 'generic', 'ittl',\n"
            "      'distance', 'class', 'name', 'flavor', 'line', 'matched_signature'} do\n"
            "    out[#out + 1] = k .. '=' .. tostring(s[k]) end\n"
            "  return table.concat(out, ' ')\n"
            "end\n");
  char sel[600];
  snprintf(sel, sizeof sel, "synack-fingerprint,%s/fields.lua", fx_dir);
  struct fx f;
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  f.cfg.datadir = fx_dir;
  assert_int_equal(fx_engine(&f, sel), 0);
  struct host_result h;
  fx_host(&h, "198.18.0.2", 22, 80, 443, 0);
  h.ports[0].synack = obs(62, 64240, 1460);
  h.ports[1].synack = obs(125, 64400, 1400);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o22 = fx_out(&h, 22, "synack-fingerprint");
  const char *o80 = fx_out(&h, 80, "synack-fingerprint");
  if (!o22 || !o80) fail_msg("no output: %s", fx_errors(&f));
  assert_string_equal(o22, want22);
  assert_string_equal(o80, want80);
  assert_null(fx_out(&h, 443, "synack-fingerprint"));
  const char *f22 = fx_out(&h, 22, "fields");
  assert_non_null(f22);
  assert_string_equal(f22, fields22);
  assert_null(fx_out(&h, 443, "fields"));
  host_result_free(&h);
  fx_free(&f);
}

static void test_labels(void **state) {
  run("classes = unix,win\n[tcp:response]\n"
      "label = s:unix:LabLinux:6.x\nsig = *:64:0:*:mss*44,0:mss:df:0\n",
      "LabLinux 6.x, distance 2, signature 4:62+2:0:1460:mss*44,0:mss:df:0",
      "unknown, signature 4:125+3:0:1400:mss*46,0:mss:df:0",
      "ttl=62 win=64240 mss=1460 wscale=nil matched=true fuzzy=false generic=false ittl=64 "
      "distance=2 class=unix name=LabLinux flavor=6.x line=4 matched_signature=*:64:0:*:mss*44,0:mss:df:0");
}

static void test_no_db(void **state) {
  /* a p0f.fp without any TCP signature is refused: no label, the reason */
  char w22[600], w80[600];
  snprintf(w22, sizeof w22, "signature 4:62+2:0:1460:mss*44,0:mss:df:0 (no label: %s/p0f.fp: no TCP signatures)", fx_dir);
  snprintf(w80, sizeof w80, "signature 4:125+3:0:1400:mss*46,0:mss:df:0 (no label: %s/p0f.fp: no TCP signatures)", fx_dir);
  run("classes = unix\n[mtu]\nlabel = Ethernet\nsig = 1500\n", w22, w80,
      "ttl=62 win=64240 mss=1460 wscale=nil matched=nil fuzzy=nil generic=nil ittl=nil "
      "distance=nil class=nil name=nil flavor=nil line=nil matched_signature=nil");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_db, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
