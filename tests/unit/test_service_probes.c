/* test_service_probes.c: the nmap-service-probes parser
 * (src/db/service-probes.c) on tests/fixtures/service-probes-test and on
 * inline text: every directive, payload escapes, version fields with any
 * delimiter, fallback resolution, Exclude, and each kind of bad line
 * (warning naming file:line, line skipped, load goes on). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>

#include "version_fixture.h"

static void test_probes_and_options(void **state) {
  struct sp_db *db = vf_load(NULL);
  assert_int_equal(db->nprobes, 7);
  static const char *names[] = {"NULL",      "GetRequest", "Escapes",     "HTTPOptions",
                                "DNSStatus", "Binary",     "DNSStatusTCP"};
  for (size_t i = 0; i < 7; i++) assert_string_equal(db->probes[i].name, names[i]);
  assert_int_equal(db->null_probe, 0);

  const struct sp_probe *nul = &db->probes[0];
  assert_int_equal(nul->proto, PROTO_TCP);
  assert_null(nul->payload);
  assert_int_equal(nul->payload_len, 0);
  assert_int_equal(nul->totalwaitms, 6000);
  assert_int_equal(nul->tcpwrappedms, 3000);
  assert_int_equal(nul->rarity, SP_DEFAULT_RARITY);
  assert_int_equal(nul->line, 8);

  const struct sp_probe *get = &db->probes[1];
  assert_int_equal(get->payload_len, 18);
  assert_memory_equal(get->payload, "GET / HTTP/1.0\r\n\r\n", 18);
  assert_int_equal(get->rarity, 1);
  assert_int_equal(get->totalwaitms, SP_DEFAULT_WAITMS);
  assert_int_equal(get->tcpwrappedms, SP_DEFAULT_TCPWRAPPEDMS);
  assert_false(get->no_payload);
  /* ports 80,8000-8010; sslports 443 */
  assert_true(sp_probe_port_listed(get, 80, 0));
  assert_true(sp_probe_port_listed(get, 8000, 0));
  assert_true(sp_probe_port_listed(get, 8005, 0));
  assert_true(sp_probe_port_listed(get, 8010, 0));
  assert_false(sp_probe_port_listed(get, 8011, 0));
  assert_false(sp_probe_port_listed(get, 443, 0));
  assert_true(sp_probe_port_listed(get, 443, 1));
  assert_false(sp_probe_port_listed(get, 80, 1));

  /* every escape, the escaped delimiter, and the no-payload option */
  const struct sp_probe *esc = &db->probes[2];
  static const uint8_t want[] = {0,    '\a', '\b', '\f', '\n', '\r', '\t', '\v', 'A',
                                 'z',  '\\', '|',  '\'', '"',  'e',  'n',  'd'};
  assert_int_equal(esc->payload_len, sizeof want);
  assert_memory_equal(esc->payload, want, sizeof want);
  assert_true(esc->no_payload);
  assert_int_equal(esc->rarity, 9);

  const struct sp_probe *dns = &db->probes[4];
  assert_int_equal(dns->proto, PROTO_UDP);
  assert_int_equal(dns->payload_len, 12);
  assert_memory_equal(dns->payload, "\0\0\x10\0\0\0\0\0\0\0\0\0", 12);
  assert_true(sp_probe_port_listed(dns, 53, 0));

  /* bad rarity, totalwaitms and ports lines left the defaults alone */
  const struct sp_probe *bin = &db->probes[5];
  assert_int_equal(bin->rarity, 5);
  assert_int_equal(bin->totalwaitms, SP_DEFAULT_WAITMS);
  assert_int_equal(bin->ports.n, 1);
  assert_true(sp_probe_port_listed(bin, 7000, 0));

  assert_ptr_equal(sp_probe_by_name(db, "DNSStatus", PROTO_UDP), dns);
  assert_null(sp_probe_by_name(db, "DNSStatus", PROTO_TCP));
  assert_null(sp_probe_by_name(db, "BadEscape", PROTO_TCP));
  sp_free(db);
}

static void test_matches_and_fields(void **state) {
  struct sp_db *db = vf_load(NULL);
  const struct sp_probe *nul = &db->probes[0];
  /* ftp, softmatch ftp, ssh, smtp, multi, icase; the four bad ones are gone */
  assert_int_equal(nul->nmatches, 6);
  const struct sp_match *m = &nul->matches[0];
  assert_string_equal(m->service, "ftp");
  assert_false(m->soft);
  assert_string_equal(m->regex, "^220 FakeFTPd ([\\d.]+)\\r\\n");
  assert_string_equal(m->tmpl[SP_PRODUCT], "FakeFTPd");
  assert_string_equal(m->tmpl[SP_VERSION], "$1");
  assert_null(m->tmpl[SP_INFO]);
  assert_int_equal(m->ncpe, 1);
  assert_string_equal(m->cpe[0], "cpe:/a:fake:ftpd:$1");
  assert_true(m->cpe_aflag[0]);
  assert_int_equal(m->ncaptures, 1);
  assert_int_equal(m->line, 11);

  m = &nul->matches[1]; /* softmatch with m/.../i */
  assert_true(m->soft);
  assert_true(m->icase);
  assert_false(m->dotall);
  assert_string_equal(m->regex, "^220 .*ftp");

  m = &nul->matches[2]; /* m=...= and every field kind */
  assert_string_equal(m->service, "ssh");
  assert_string_equal(m->regex, "^SSH-([\\d.]+)-Fake_(\\S+)");
  assert_string_equal(m->tmpl[SP_VERSION], "$2");
  assert_string_equal(m->tmpl[SP_INFO], "protocol $1");
  assert_string_equal(m->tmpl[SP_OSTYPE], "Linux");
  assert_int_equal(m->ncpe, 2);
  assert_false(m->cpe_aflag[0]);
  assert_string_equal(m->cpe[1], "cpe:/o:linux:linux_kernel");
  assert_true(m->cpe_aflag[1]);

  m = &nul->matches[3]; /* m%...% and p|...| */
  assert_string_equal(m->tmpl[SP_PRODUCT], "Toy smtpd");
  assert_string_equal(m->tmpl[SP_HOSTNAME], "$1");
  assert_string_equal(m->tmpl[SP_DEVICETYPE], "mail server");

  assert_true(nul->matches[4].dotall);
  assert_true(nul->matches[5].icase);

  /* services each probe can give, for softmatch narrowing */
  assert_true(sp_probe_can_give(nul, "ftp"));
  assert_true(sp_probe_can_give(nul, "smtp"));
  assert_false(sp_probe_can_give(nul, "http"));
  assert_false(sp_probe_can_give(nul, "broken"));
  assert_true(sp_probe_can_give(&db->probes[1], "http"));
  assert_false(sp_probe_can_give(&db->probes[3], "http"));
  assert_int_equal(db->nmatches, 6 + 2 + 1 + 1 + 1 + 2 + 1);
  assert_int_equal(db->max_captures, 3);
  sp_free(db);
}

static void test_fallbacks_and_exclude(void **state) {
  struct sp_db *db = vf_load(NULL);
  int32_t nul = 0, get = vf_probe(db, "GetRequest", PROTO_TCP),
          opt = vf_probe(db, "HTTPOptions", PROTO_TCP), dns = vf_probe(db, "DNSStatus", PROTO_UDP),
          bin = vf_probe(db, "Binary", PROTO_TCP), dnst = vf_probe(db, "DNSStatusTCP", PROTO_TCP);
  /* NULL: itself only */
  assert_int_equal(db->probes[nul].nfallback, 1);
  assert_int_equal(db->probes[nul].fallback[0], nul);
  /* TCP without fallback: itself, NULL */
  assert_int_equal(db->probes[get].nfallback, 2);
  assert_int_equal(db->probes[get].fallback[0], get);
  assert_int_equal(db->probes[get].fallback[1], nul);
  /* TCP with fallback: itself, the list, NULL */
  assert_int_equal(db->probes[opt].nfallback, 3);
  assert_int_equal(db->probes[opt].fallback[1], get);
  assert_int_equal(db->probes[opt].fallback[2], nul);
  /* UDP: itself only, never the NULL probe */
  assert_int_equal(db->probes[dns].nfallback, 1);
  /* a name found only under the other protocol is still taken (Nmap) */
  assert_int_equal(db->probes[dnst].nfallback, 3);
  assert_int_equal(db->probes[dnst].fallback[1], dns);
  assert_int_equal(db->probes[dnst].fallback[2], nul);
  /* an unknown name is dropped */
  assert_int_equal(db->probes[bin].nfallback, 2);
  assert_int_equal(db->probes[bin].fallback[1], nul);

  /* Exclude T:9100-9102,U:30000; the second Exclude (line 63) was refused */
  assert_non_null(db->exclude);
  assert_true(sp_excluded(db, PROTO_TCP, 9100));
  assert_true(sp_excluded(db, PROTO_TCP, 9102));
  assert_false(sp_excluded(db, PROTO_TCP, 9103));
  assert_false(sp_excluded(db, PROTO_UDP, 9100));
  assert_true(sp_excluded(db, PROTO_UDP, 30000));
  assert_false(sp_excluded(db, PROTO_TCP, 1));
  sp_free(db);
}

/* The line numbers of the warnings, each "PATH:LINE: ..." */
static void expect_lines(const struct vf_warnings *w, const char *name, const unsigned *lines,
                         size_t n) {
  if (w->n != n) {
    for (size_t i = 0; i < w->n && i < VF_MAXWARN; i++) print_message("warning: %s\n", w->msg[i]);
    fail_msg("%zu warnings, expected %zu", w->n, n);
  }
  for (size_t i = 0; i < n; i++) {
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s:%u: ", name, lines[i]);
    if (strncmp(w->msg[i], prefix, strlen(prefix)) != 0)
      fail_msg("warning %zu is '%s', expected prefix '%s'", i, w->msg[i], prefix);
  }
}

static void test_fixture_warnings(void **state) {
  struct vf_warnings w = {.n = 0};
  struct sp_db *db = vf_load(&w);
  /* rarity before any Probe; bad regex; no closing delimiter; bad flag; bad
   * field; softmatch without arguments; unknown directive; bad escape
   * (probe skipped, its match line silently with it); rarity 0;
   * totalwaitms 50; port 70000; Exclude after the probes; then, once
   * the file is read, the unknown fallback at its own line. */
  static const unsigned lines[] = {5, 17, 18, 19, 20, 21, 22, 35, 54, 55, 56, 63, 57};
  expect_lines(&w, VF_PATH, lines, sizeof lines / sizeof lines[0]);
  assert_int_equal(db->warnings, sizeof lines / sizeof lines[0]);
  assert_non_null(strstr(w.msg[1], "PCRE2"));
  assert_non_null(strstr(w.msg[1], "offset 10"));
  assert_non_null(strstr(w.msg[1], "missing closing parenthesis"));
  assert_non_null(strstr(w.msg[7], "escape"));
  assert_non_null(strstr(w.msg[7], "probe skipped"));
  assert_non_null(strstr(w.msg[6], "'frobnicate'"));
  assert_non_null(strstr(w.msg[12], "'NoSuchProbe'"));
  sp_free(db);
}

static void expect_inline(const char *text, size_t len, const unsigned *lines, size_t n,
                          const char *needle, size_t nprobes) {
  struct vf_warnings w = {.n = 0};
  struct sp_db *db = vf_parse(text, len, &w);
  expect_lines(&w, "inline", lines, n);
  if (needle && (n == 0 || strstr(w.msg[0], needle) == NULL))
    fail_msg("'%s' not in '%s'", needle, n ? w.msg[0] : "");
  assert_int_equal(db->nprobes, nprobes);
  sp_free(db);
}

#define T(s) s, sizeof(s) - 1
#define L(...) (const unsigned[]){__VA_ARGS__}, sizeof((const unsigned[]){__VA_ARGS__}) / sizeof(unsigned)

static void test_inline_errors(void **state) {
  /* CRLF line ends, blank and comment lines, leading spaces */
  expect_inline(T("# c\r\n\r\nProbe TCP NULL q||\r\n  match a m|^a$| p/A/\r\n"), NULL, 0, NULL, 1);
  /* a NUL byte inside a line */
  expect_inline(T("Probe TCP NULL q||\nmatch a m|^a\0$|\nmatch b m|b|\n"), L(2), "NUL", 1);
  expect_inline(T("Probe SCTP X q|x|\n"), L(1), "TCP or UDP", 0);
  expect_inline(T("Probe TCP q|x|\n"), L(1), "q<delimiter>", 0);
  expect_inline(T("Probe TCP -x q|x|\n"), L(1), "probe name", 0);
  expect_inline(T("Probe TCP X x|y|\n"), L(1), "q<delimiter>", 0);
  expect_inline(T("Probe TCP X q|abc\n"), L(1), "closing", 0);
  expect_inline(T("Probe TCP X q|\\x4|\n"), L(1), "hex", 0);
  expect_inline(T("Probe TCP X q|ab\\|\n"), L(1), "closing", 0);
  /* an unknown option is reported but the probe is kept */
  expect_inline(T("Probe TCP X q|x| frob\n"), L(1), "'frob'", 1);
  expect_inline(T("Probe TCP NULL q||\nProbe TCP N2 q||\n"), L(2), "NULL probe", 1);
  expect_inline(T("Probe UDP E q||\n"), L(1), "empty payload", 0);
  expect_inline(T("Probe TCP X q|x|\nProbe TCP X q|y|\nProbe UDP X q|y|\n"), L(2), "twice", 2);
  expect_inline(T("Exclude 1\nExclude 2\nProbe TCP X q|x|\n"), L(2), "only one", 1);
  expect_inline(T("Exclude T:99999\nProbe TCP X q|x|\n"), L(1), "99999", 1);
  expect_inline(T("Probe TCP X q|x|\nrarity 10\nrarity x\ntotalwaitms 300001\ntcpwrappedms 99\n"),
                L(2, 3, 4, 5), NULL, 1);
  expect_inline(T("Probe TCP X q|x|\nports 80-79\nports 1,\nsslports x\nports -5\n"),
                L(2, 3, 4, 5), NULL, 1);
  expect_inline(T("Probe TCP X q|x|\nfallback\n"), L(2), "no probe", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a b|x|\n"), L(2), "m<delimiter>", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x| p/a\n"), L(2), "closing", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x| p/a/x\n"), L(2), "flag", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x| cpe:/a:b/b\n"), L(2), "only 'a'", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x| p/a/,v/b/\n"), L(2), "junk", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x| /a/\n"), L(2), "version field", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x| p\n"), L(2), "version field", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x| cp:/a/\n"), L(2), "unknown version", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|[z-a]|\n"), L(2), "PCRE2", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch a m|x|\xc3\n"), L(2), "regex flag", 1);
  expect_inline(T("Probe TCP X q|x|\nmatch \x01 m|x|\n"), L(2), "service name", 1);
}

static void test_inline_semantics(void **state) {
  /* a repeated field keeps the last, as Nmap; many cpe:/ fields */
  struct vf_warnings w = {.n = 0};
  const char text[] =
      "Probe TCP X q|x|\n"
      "match a m|x| p/one/ p#two# cpe:|a:b:c| cpe:/h:d:e/a cpe:/o:f:g/\n"
      "fallback  Y ,X\tZ\n"
      "Probe TCP Y q|y|\nfallback X\nfallback Z\n"
      "Probe UDP Z q|z|\n";
  struct sp_db *db = vf_parse(text, sizeof text - 1, &w);
  assert_int_equal(w.n, 0);
  const struct sp_match *m = &db->probes[0].matches[0];
  assert_string_equal(m->tmpl[SP_PRODUCT], "two");
  assert_int_equal(m->ncpe, 3);
  assert_string_equal(m->cpe[0], "cpe:/a:b:c");
  /* X: itself, Y, (X again dropped), Z (UDP, by the any-protocol rule); no NULL probe */
  assert_int_equal(db->probes[0].nfallback, 3);
  assert_int_equal(db->probes[0].fallback[1], 1);
  assert_int_equal(db->probes[0].fallback[2], 2);
  /* Y: the last fallback directive wins */
  assert_int_equal(db->probes[1].nfallback, 2);
  assert_int_equal(db->probes[1].fallback[1], 2);
  assert_int_equal(db->null_probe, -1);
  assert_null(db->exclude);
  sp_free(db);

  /* more than 18 listed fallbacks: warned, the rest ignored */
  char big[4096];
  size_t o = 0;
  o += (size_t)snprintf(big + o, sizeof big - o, "Probe TCP NULL q||\nProbe TCP P q|p|\nfallback ");
  for (int i = 0; i < 20; i++) o += (size_t)snprintf(big + o, sizeof big - o, "%sF%d", i ? "," : "", i);
  o += (size_t)snprintf(big + o, sizeof big - o, "\n");
  for (int i = 0; i < 20; i++) o += (size_t)snprintf(big + o, sizeof big - o, "Probe TCP F%d q|f|\n", i);
  w.n = 0;
  db = vf_parse(big, o, &w);
  assert_int_equal(w.n, 1);
  assert_non_null(strstr(w.msg[0], "inline:3: fallback: more than 18"));
  /* itself, 18 listed, NULL */
  assert_int_equal(db->probes[1].nfallback, 20);
  assert_int_equal(db->probes[1].fallback[19], 0);
  sp_free(db);
}

static void test_missing_file(void **state) {
  struct sp_db *db = (struct sp_db *)1;
  char err[512] = "";
  assert_int_equal(sp_load(&db, "/nonexistent/nmap-service-probes", NULL, err, sizeof err),
                   -ENOENT);
  assert_null(db);
  assert_non_null(strstr(err, "cannot read /nonexistent/nmap-service-probes"));
  assert_non_null(strstr(err, "nmap-common"));
  assert_non_null(strstr(err, "--versiondb"));
  assert_null(strchr(err, '\n'));
  assert_int_equal(sp_load_default(&db, NULL, "/tmp", NULL, err, sizeof err), -EISDIR);
  assert_non_null(strstr(err, "nmap-common"));
  /* --versiondb wins over the lookup order */
  assert_int_equal(sp_load_default(&db, "/nonexistent", VF_PATH, NULL, err, sizeof err), 0);
  assert_int_equal(db->nprobes, 7);
  sp_free(db);
  /* --datadir pointing at the fixture's directory finds nothing there
   * under the real name, so the next candidate is used or the error names
   * every directory tried */
  char dir[] = "/tmp/test_sp_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, SP_FILE);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("Probe TCP NULL q||\nmatch x m|^x|\n", f);
  fclose(f);
  assert_int_equal(sp_load_default(&db, dir, NULL, NULL, err, sizeof err), 0);
  assert_string_equal(db->path, path);
  assert_int_equal(db->nmatches, 1);
  sp_free(db);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probes_and_options),
      cmocka_unit_test(test_matches_and_fields),
      cmocka_unit_test(test_fallbacks_and_exclude),
      cmocka_unit_test(test_fixture_warnings),
      cmocka_unit_test(test_inline_errors),
      cmocka_unit_test(test_inline_semantics),
      cmocka_unit_test(test_missing_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
