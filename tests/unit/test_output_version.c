/* test_output_version.c: what version detection (-sV) found, in every
 * output as Nmap writes it: the VERSION column and "NAME?" for unconfirmed
 * names, "ssl/NAME", the "Service Info:" line, SF-Port fingerprints
 * wrapped at 74 columns, XML <service> attributes in Nmap's order with
 * <cpe> children (valid against nmap.dtd), the grepable version field and
 * the JSON Lines service object. The expected strings are the shapes
 * Nmap 7.93 printed for the same kind of ports on the lab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "output_fixture.h"

#define DTD "/usr/share/nmap/nmap.dtd"

/* An SF-Port fingerprint long enough to wrap three times. */
static char fp_text[400];

/* Host 0 of the fixture with version detection's answers on its ports. */
static void fx_versions(struct fixture *fx) {
  fx_build(fx, 0);
  fx->info.version_scan = true;
  struct host_result *h = &fx->hosts[0];
  char *ssh_cpe[] = {"cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"};
  char *web_cpe[] = {"cpe:/a:igor_sysoev:nginx:1.22.1"};
  struct port_version ssh = {.product = "OpenSSH", .version = "9.2p1 Debian 2+deb12u10",
                             .extrainfo = "protocol 2.0", .ostype = "Linux", .cpe = ssh_cpe,
                             .ncpe = 2, .probed = true};
  struct port_version web = {.product = "nginx", .version = "1.22.1", .hostname = "web",
                             .cpe = web_cpe, .ncpe = 1, .probed = true, .ssl = true};
  size_t n = (size_t)snprintf(fp_text, sizeof fp_text,
                              "SF-Port2323-TCP:V=0.1.0%%I=7%%D=12/4%%Time=6B12FE82%%P=x86_64-pc-linux-gnu");
  while (n + 40 < sizeof fp_text)
    n += (size_t)snprintf(fp_text + n, sizeof fp_text - n, "%%r(NULL,15,\"BANNER\\x20web\\n\")");
  struct port_version unknown = {.fingerprint = fp_text};
  for (size_t i = 0; i < h->nports; i++) {
    struct port_result *p = &h->ports[i];
    if (p->proto == PROTO_TCP && p->portid == 22) assert_int_equal(port_set_version(p, "ssh", &ssh), 0);
    if (p->proto == PROTO_TCP && p->portid == 80) assert_int_equal(port_set_version(p, "http", &web), 0);
  }
  struct port_result *p = host_add_port(h, PROTO_TCP, 2323, PORT_OPEN, "syn-ack", 64, "3d-nfsd");
  assert_int_equal(port_set_version(p, NULL, &unknown), 0);
  assert_string_equal(p->service, "3d-nfsd"); /* NULL name keeps the table's */
}

static void test_normal(void **state) {
  struct fixture fx;
  fx_versions(&fx);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_normal_ops, &o, 0, 1);
  assert_non_null(strstr(s, "PORT     STATE         SERVICE  VERSION\n"));
  assert_non_null(strstr(s, "22/tcp   open          ssh      OpenSSH 9.2p1 Debian 2+deb12u10 (protocol 2.0)\n"));
  assert_non_null(strstr(s, "80/tcp   open          ssl/http nginx 1.22.1\n"));
  /* an unconfirmed table name on an open port gets "?", with no padding after it */
  assert_non_null(strstr(s, "2323/tcp open          3d-nfsd?\n"));
  assert_non_null(strstr(s, "53/udp   open          domain?\n"));
  /* not open: no "?" */
  assert_non_null(strstr(s, "161/udp  open|filtered snmp\n"));
  assert_non_null(strstr(s, "Service Info: Host: web; OS: Linux; CPE: cpe:/o:linux:linux_kernel\n"));
  /* after the MAC line, as Nmap orders them */
  assert_true(strstr(s, "MAC Address:") < strstr(s, "Service Info:"));
  assert_non_null(strstr(s, "1 service unrecognized despite returning data."));
  assert_non_null(strstr(s, "Service detection performed.\n"));
  /* the fingerprint: 74 columns, continuation lines "SF:", nothing lost */
  const char *at = strstr(s, "SF-Port2323-TCP:");
  assert_non_null(at);
  char joined[sizeof fp_text] = "";
  size_t lines = 0;
  for (const char *line = at; line && strncmp(line, lines ? "SF:" : "SF-Port", lines ? 3 : 7) == 0;
       lines++) {
    const char *nl = strchr(line, '\n');
    assert_non_null(nl);
    size_t len = (size_t)(nl - line);
    assert_true(len <= 74);
    if (nl[1] == 'S' && nl[2] == 'F' && nl[3] == ':') assert_int_equal(len, 74);
    const char *text = lines ? line + 3 : line;
    strncat(joined, text, (size_t)(nl - text));
    line = nl + 1;
  }
  assert_true(lines >= 4);
  assert_string_equal(joined, fp_text);
  free(s);
  /* --reason: REASON comes before VERSION */
  o.reason = true;
  s = fx_render(&fx, &output_normal_ops, &o, 0, 1);
  assert_non_null(strstr(s, "PORT     STATE         SERVICE  REASON              VERSION\n"));
  assert_non_null(strstr(s, "80/tcp   open          ssl/http syn-ack ttl 64      nginx 1.22.1\n"));
  assert_non_null(strstr(s, "2323/tcp open          3d-nfsd? syn-ack ttl 64\n"));
  free(s);
  /* without -sV the table is as before: no VERSION column, no "?" */
  fx.info.version_scan = false;
  o.reason = false;
  s = fx_render(&fx, &output_normal_ops, &o, 0, 1);
  assert_non_null(strstr(s, "PORT     STATE         SERVICE\n"));
  assert_non_null(strstr(s, "2323/tcp open          3d-nfsd\n"));
  free(s);
  fx_free(&fx);
}

static void test_xml(void **state) {
  struct fixture fx;
  fx_versions(&fx);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_xml_ops, &o, 0, 1);
  assert_non_null(strstr(s, "<service name=\"ssh\" product=\"OpenSSH\" version=\"9.2p1 Debian 2+deb12u10\" "
                            "extrainfo=\"protocol 2.0\" ostype=\"Linux\" method=\"probed\" conf=\"10\">"
                            "<cpe>cpe:/a:openbsd:openssh:9.2p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe>"
                            "</service><script id=\"ssh-hostkey\""));
  assert_non_null(strstr(s, "<service name=\"http\" product=\"nginx\" version=\"1.22.1\" hostname=\"web\" "
                            "tunnel=\"ssl\" method=\"probed\" conf=\"10\">"
                            "<cpe>cpe:/a:igor_sysoev:nginx:1.22.1</cpe></service>"));
  assert_non_null(strstr(s, "<service name=\"3d-nfsd\" servicefp=\"SF-Port2323-TCP:V=0.1.0%I=7%"));
  assert_non_null(strstr(s, "\\x20web\\n&quot;)\" method=\"table\" conf=\"3\"/></port>"));
  if (fx_have("xmllint") && access(DTD, R_OK) == 0) {
    const char *path = fx_tmpfile(s, 0);
    int rc = fx_run("xmllint --noout --dtdvalid %s %s", DTD, path);
    if (rc != 0) fail_msg("xmllint rejected %s (exit %d)", path, rc);
    unlink(path);
  } else {
    print_message("SKIP validation: xmllint or %s missing\n", DTD);
  }
  free(s);
  fx_free(&fx);
}

static void test_grep_json(void **state) {
  struct fixture fx;
  fx_versions(&fx);
  struct output_opts o = {0};
  char *s = fx_render(&fx, &output_grep_ops, &o, 0, 1);
  assert_non_null(strstr(s, "22/open/tcp//ssh//OpenSSH 9.2p1 Debian 2+deb12u10 (protocol 2.0)/"));
  assert_non_null(strstr(s, "80/open/tcp//ssl|http//nginx 1.22.1/"));
  assert_non_null(strstr(s, "2323/open/tcp//3d-nfsd?///"));
  free(s);
  s = fx_render(&fx, &output_json_ops, &o, 0, 1);
  assert_non_null(strstr(s, "\"service\":{\"name\":\"ssh\",\"product\":\"OpenSSH\",\"version\":"
                            "\"9.2p1 Debian 2+deb12u10\",\"extrainfo\":\"protocol 2.0\",\"ostype\":\"Linux\","
                            "\"method\":\"probed\",\"conf\":10,\"cpe\":[\"cpe:/a:openbsd:openssh:9.2p1\","
                            "\"cpe:/o:linux:linux_kernel\"]}"));
  assert_non_null(strstr(s, "\"service\":{\"name\":\"http\",\"product\":\"nginx\",\"version\":\"1.22.1\","
                            "\"hostname\":\"web\",\"tunnel\":\"ssl\",\"method\":\"probed\",\"conf\":10"));
  assert_non_null(strstr(s, "\"service\":{\"name\":\"3d-nfsd\",\"method\":\"table\",\"conf\":3,"
                            "\"servicefp\":\"SF-Port2323-TCP:"));
  free(s);
  fx_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normal),
      cmocka_unit_test(test_xml),
      cmocka_unit_test(test_grep_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
