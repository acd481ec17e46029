/* test_script_version.c: what -sV asks of the script engine: the scripts
 * of category "version" selected on top of --script (quiet when only -sV
 * chose them: they run, their output is dropped), and
 * trawl.set_port_version writing a script's answer into the port's
 * version (both call forms, fields kept and replaced, bounds, misuse),
 * seen by the XML and grepable writers as Nmap writes it; and the shipped
 * mqtt-version and snmp-version scripts against fake peers, good and
 * hostile (huge and malformed lengths, garbage, drip, silence). */
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

/* ---- fake peers for the shipped version scripts ---------------------------- */

/* A loopback peer in a thread of its own: a TCP one serves connections
 * one after another, reading what the client sends first, answering
 * `blob` (binary, `len` bytes), then waiting (2 s at most) for the
 * client to close; a UDP one is an SNMP agent answering each request with
 * a Report carrying the request's msgID and engine ID 80001f88 80
 * 0102030405060708 (enterprise 8072, net-snmp), or in `garbage` mode
 * with bytes that only look like BER. */
struct peer {
  int fd, stop[2];
  uint16_t port;
  const unsigned char *blob;
  size_t len;
  bool garbage;
  pthread_t th;
};

/* Waits for the peer's socket; false when told to stop. */
static bool peer_wait(struct peer *b) {
  struct pollfd pf[2] = {{b->fd, POLLIN, 0}, {b->stop[0], POLLIN, 0}};
  return poll(pf, 2, -1) >= 0 && !pf[1].revents;
}

static void *blobsrv_main(void *arg) {
  struct peer *b = arg;
  while (peer_wait(b)) {
    int c = accept(b->fd, NULL, NULL);
    if (c < 0) continue;
    struct timeval tv = {2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    if (recv(c, buf, sizeof buf, 0) > 0) {
      fx_writeall(c, (const char *)b->blob, b->len);
      while (recv(c, buf, sizeof buf, 0) > 0) {
      }
    }
    close(c);
  }
  return NULL;
}

static size_t ber(unsigned char *out, unsigned char tag, const unsigned char *v, size_t n) {
  out[0] = tag;
  out[1] = (unsigned char)n; /* every value here is under 128 bytes */
  if (n) memcpy(out + 2, v, n); /* (an empty value may come as NULL) */
  return n + 2;
}

static size_t snmp_report(unsigned char *out, const unsigned char *msgid, size_t idlen) {
  static const unsigned char eid[] = {0x80, 0x00, 0x1f, 0x88, 0x80, 1, 2, 3, 4, 5, 6, 7, 8};
  unsigned char g[64], usm[64], sp[80], pdu[32], sc[80], all[256], t[128];
  size_t n = 0, k;
  /* msgGlobalData: msgID, maxSize, flags, securityModel 3 */
  n += ber(g + n, 0x02, msgid, idlen);
  n += ber(g + n, 0x02, (const unsigned char *)"\x00\xff\xe3", 3);
  n += ber(g + n, 0x04, (const unsigned char *)"\x00", 1);
  n += ber(g + n, 0x02, (const unsigned char *)"\x03", 1);
  size_t gl = ber(t, 0x30, g, n);
  memcpy(g, t, gl);
  /* USM parameters: engine ID, boots 5, time 1234, empty user/auth/priv */
  n = ber(usm, 0x04, eid, sizeof eid);
  n += ber(usm + n, 0x02, (const unsigned char *)"\x05", 1);
  n += ber(usm + n, 0x02, (const unsigned char *)"\x04\xd2", 2);
  for (int i = 0; i < 3; i++) n += ber(usm + n, 0x04, NULL, 0);
  k = ber(t, 0x30, usm, n);
  size_t spl = ber(sp, 0x04, t, k);
  /* scoped PDU: a Report with no varbinds */
  n = ber(pdu, 0x02, (const unsigned char *)"\x01", 1);
  n += ber(pdu + n, 0x02, (const unsigned char *)"\x00", 1);
  n += ber(pdu + n, 0x02, (const unsigned char *)"\x00", 1);
  n += ber(pdu + n, 0x30, NULL, 0);
  k = ber(t, 0xa8, pdu, n);
  n = ber(sc, 0x04, eid, sizeof eid);
  n += ber(sc + n, 0x04, NULL, 0);
  memcpy(sc + n, t, k);
  n += k;
  size_t scl = ber(t, 0x30, sc, n);
  n = ber(all, 0x02, (const unsigned char *)"\x03", 1);
  memcpy(all + n, g, gl);
  n += gl;
  memcpy(all + n, sp, spl);
  n += spl;
  memcpy(all + n, t, scl);
  n += scl;
  assert_true(n < 128);
  return ber(out, 0x30, all, n);
}

static void *snmpsrv_main(void *arg) {
  struct peer *s = arg;
  while (peer_wait(s)) {
    unsigned char q[1500], r[256];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    /* the request: 30 L 02 01 03 30 L 02 IDLEN ID... (short lengths) */
    if (n < 9 || q[0] != 0x30 || q[2] != 0x02 || q[5] != 0x30 || q[7] != 0x02 || q[8] > 8 ||
        (ssize_t)(9 + q[8]) > n)
      continue;
    size_t rl;
    if (s->garbage) {
      static const unsigned char g[] = {0x30, 0x82, 0xff, 0xff, 0x02, 0x01, 0x03, 0x30, 0x84};
      memcpy(r, g, sizeof g);
      rl = sizeof g;
    } else {
      rl = snmp_report(r, q + 9, q[8]);
    }
    sendto(s->fd, r, rl, 0, (struct sockaddr *)&from, fl);
  }
  return NULL;
}

static struct peer *peer_start(int type, void *(*fn)(void *), const void *blob, size_t len,
                               bool garbage) {
  struct peer *b = calloc(1, sizeof *b);
  assert_non_null(b);
  b->blob = blob;
  b->len = len;
  b->garbage = garbage;
  b->fd = socket(AF_INET, type, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  assert_int_equal(bind(b->fd, (struct sockaddr *)&a, al), 0);
  if (type == SOCK_STREAM) assert_int_equal(listen(b->fd, 16), 0);
  getsockname(b->fd, (struct sockaddr *)&a, &al);
  b->port = ntohs(a.sin_port);
  assert_int_equal(pipe(b->stop), 0);
  assert_int_equal(pthread_create(&b->th, NULL, fn, b), 0);
  return b;
}

static void peer_stop(struct peer *b) {
  assert_int_equal(write(b->stop[1], "x", 1), 1);
  pthread_join(b->th, NULL);
  close(b->fd);
  close(b->stop[0]);
  close(b->stop[1]);
  free(b);
}

#define MQTT_TOPIC "\x00\x13$SYS/broker/version"
/* CONNACK accepted, SUBACK, PUBLISH of the version (remaining length 44) */
static const unsigned char mqtt_good[] = "\x20\x02\x00\x00" "\x90\x03\x00\x01\x00"
                                         "\x30\x2c" MQTT_TOPIC "mosquitto version 9.9.9";
/* a version with control characters: shown escaped */
static const unsigned char mqtt_ctl[] = "\x20\x02\x00\x00" "\x30\x19" MQTT_TOPIC "v1\n\x01";
static const unsigned char mqtt_refused[] = "\x20\x02\x00\x05";
/* a PUBLISH that claims 256 MiB, and one whose length runs past 4 bytes */
static const unsigned char mqtt_huge[] = "\x20\x02\x00\x00" "\x30\xff\xff\xff\x7f" "xxxx";
static const unsigned char mqtt_badlen[] = "\x20\x02\x00\x00" "\x30\xff\xff\xff\xff\xff\x01";
/* a PUBLISH whose topic length points past its end */
static const unsigned char mqtt_short[] = "\x20\x02\x00\x00" "\x30\x04\x00\x7f\x41\x42";

/* The shipped mqtt-version and snmp-version (scripts/) against fake
 * peers, well-behaved and hostile: the good ones set the port's version
 * as Nmap shows it, the others leave it alone, and every run ends within
 * its timeout (300 ms an attempt here). */
static void test_shipped_scripts(void **state) {
  const struct { const unsigned char *b; size_t n; const char *want; } mq[] = {
      {mqtt_good, sizeof mqtt_good - 1, "mosquitto version 9.9.9"},
      {mqtt_ctl, sizeof mqtt_ctl - 1, "v1\\x0a\\x01"},
      {mqtt_refused, sizeof mqtt_refused - 1, NULL},
      {mqtt_huge, sizeof mqtt_huge - 1, NULL},
      {mqtt_badlen, sizeof mqtt_badlen - 1, NULL},
      {mqtt_short, sizeof mqtt_short - 1, NULL},
  };
  enum { NMQ = sizeof mq / sizeof mq[0] };
  struct peer *bs[NMQ];
  for (int i = 0; i < NMQ; i++) bs[i] = peer_start(SOCK_STREAM, blobsrv_main, mq[i].b, mq[i].n, false);
  struct fx_srv *endless = fx_srv_start(AF_INET, SRV_ENDLESS, NULL);
  struct fx_srv *drip = fx_srv_start(AF_INET, SRV_LINES, "\x20\x02\x01\x01 dripping slowly....");
  struct fx_srv *silent = fx_srv_start(AF_INET, SRV_SILENT, NULL);
  struct fx_srv *closer = fx_srv_start(AF_INET, SRV_CLOSE, NULL);
  struct peer *agent = peer_start(SOCK_DGRAM, snmpsrv_main, NULL, 0, false);
  struct peer *junk = peer_start(SOCK_DGRAM, snmpsrv_main, NULL, 0, true);
  struct fx f;
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  f.cfg.script_args = "mqtt-version.timeout=300ms,snmp-version.timeout=300ms";
  f.cfg.version_scripts = true;
  assert_int_equal(fx_engine(&f, NULL), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct port_version mqv = {.probed = true};
  for (int i = 0; i < NMQ; i++) {
    host_add_port(&h, PROTO_TCP, bs[i]->port, PORT_OPEN, "syn-ack", 64, NULL);
    port_set_version(&h.ports[h.nports - 1], "mqtt", &mqv);
  }
  uint16_t hostile[] = {endless->port, drip->port, silent->port, closer->port};
  for (int i = 0; i < 4; i++) {
    host_add_port(&h, PROTO_TCP, hostile[i], PORT_OPEN, "syn-ack", 64, NULL);
    port_set_version(&h.ports[h.nports - 1], "mqtt", &mqv);
  }
  struct port_version sv = {.product = "SNMPv1 server", .extrainfo = "public", .probed = true};
  host_add_port(&h, PROTO_UDP, agent->port, PORT_OPEN, "udp-response", 64, NULL);
  port_set_version(&h.ports[h.nports - 1], "snmp", &sv);
  host_add_port(&h, PROTO_UDP, junk->port, PORT_OPEN, "udp-response", 64, NULL);
  port_set_version(&h.ports[h.nports - 1], "snmp", &sv);
  uint64_t t0 = tw_hrtime();
  fx_run(&f, (struct host_result *[]){&h}, 1);
  double secs = (double)(tw_hrtime() - t0) / 1e9;
  print_message("shipped version scripts against %d peers: %.2f s\n", NMQ + 6, secs);
  assert_true(secs < 5.0); /* two 300 ms attempts a port, all ports at once */
  assert_string_equal(fx_errors(&f), "");
  for (int i = 0; i < NMQ; i++) {
    struct port_result *p = find_port(&h, PROTO_TCP, bs[i]->port);
    assert_string_equal(p->service, mq[i].want ? mq[i].want : "mqtt");
    assert_null(p->scripts); /* quiet */
  }
  for (int i = 0; i < 4; i++) assert_string_equal(find_port(&h, PROTO_TCP, hostile[i])->service, "mqtt");
  struct port_result *p = find_port(&h, PROTO_UDP, agent->port);
  assert_string_equal(p->version->product, "SNMPv1 server; net-snmp SNMPv3 server");
  assert_string_equal(p->version->extrainfo, "public");
  p = find_port(&h, PROTO_UDP, junk->port);
  assert_string_equal(p->version->product, "SNMPv1 server");
  host_result_free(&h);
  fx_free(&f);
  for (int i = 0; i < NMQ; i++) peer_stop(bs[i]);
  fx_srv_stop(endless);
  fx_srv_stop(drip);
  fx_srv_stop(silent);
  fx_srv_stop(closer);
  peer_stop(agent);
  peer_stop(junk);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_select_version, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_select_version_none, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_set_port_version, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_set_port_version_bounds, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_shipped_scripts, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
