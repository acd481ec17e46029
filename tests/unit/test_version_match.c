/* test_version_match.c: matching responses and filling version fields
 * (src/version/match.c): each template form on hand-made captures, the
 * field bounds, the CPE transform, the fallback chain and first-line-wins
 * on tests/fixtures/service-probes-test, and a port's soft/hard state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "version/match.h"
#include "version_fixture.h"

#define UN ((size_t)-1)

/* Expands tmpl over subj with the given (start, end) pairs. */
static int ex(const char *tmpl, const char *subj, size_t len, const size_t *ov, uint32_t np,
              int cpe, char *out, size_t cap) {
  return vm_expand(tmpl, (const uint8_t *)subj, len, ov, np, cpe, out, cap);
}

static void test_template_forms(void **state) {
  /* subject: "ver 1_2_3 \x01\x02\x03\x04 AB\0CD x" */
  static const char subj[] = "ver 1_2_3 \x01\x02\x03\x04 A\x7f" "B\0CD";
  size_t len = sizeof subj - 1;
  /* group 1 "1_2_3", 2 the four bytes, 3 "A\x7fB\0CD", 4 unset, 5 twelve bytes */
  const size_t ov[] = {0, len, 4, 9, 10, 14, 15, len, UN, UN, 0, 12};
  char out[VM_EXTRA_LEN];
  assert_int_equal(ex("v$1!", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "v1_2_3!");
  assert_int_equal(ex("$SUBST(1,\"_\",\".\")", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "1.2.3");
  assert_int_equal(ex("$SUBST(1, \"_2\" , \"\\x2d\")x", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "1-_3x");
  assert_int_equal(ex("$I(2,\">\")", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "16909060"); /* 0x01020304 */
  assert_int_equal(ex("$I(2,\"<\")", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "67305985"); /* 0x04030201 */
  /* $P keeps printable bytes only; a plain $3 stops at the NUL */
  assert_int_equal(ex("[$P(3)]", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "[ABCD]");
  assert_int_equal(ex("[$3]", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "[A\x7f" "B]");
  /* trailing spaces and commas are trimmed */
  assert_int_equal(ex("a, b ,, ", subj, len, ov, 6, 0, out, 80), 0);
  assert_string_equal(out, "a, b");
  /* failures leave the field empty */
  static const char *bad[] = {"$4",           "$6",          "$0",        "x$",
                              "$Q(1)",        "$P(1",        "$P()",      "$P(\"1\")",
                              "$P(10)",       "$I(5,\">\")", "$I(2,\"=\")", "$I(2,\">>\")",
                              "$SUBST(1,\"\",\"x\")", "$SUBST(1,\"_\")", "$P(1,2,3,4,5,6)",
                              "$SUBST(1,\"_,\"x\")"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    strcpy(out, "junk");
    if (ex(bad[i], subj, len, ov, 6, 0, out, 80) != -1) fail_msg("'%s' gave '%s'", bad[i], out);
    assert_string_equal(out, "");
  }
}

static void test_template_bounds(void **state) {
  char subj[300];
  memset(subj, 'x', sizeof subj);
  const size_t ov[] = {0, 300, 0, 78, 0, 79, 0, 200};
  char out[VM_EXTRA_LEN];
  /* a substitution may fill a field up to its size minus 2 (Nmap) */
  assert_int_equal(ex("$1", subj, 300, ov, 4, 0, out, VM_FIELD_LEN), 0);
  assert_int_equal(strlen(out), 78);
  assert_int_equal(ex("$2", subj, 300, ov, 4, 0, out, VM_FIELD_LEN), -1);
  assert_int_equal(ex("a$1", subj, 300, ov, 4, 0, out, VM_FIELD_LEN), -1);
  /* literal text may reach the size before an empty substitution, which
   * then fails (found by fuzz_version_match: it once wrote past the field) */
  char full[VM_FIELD_LEN + 8];
  memset(full, 'y', sizeof full);
  memcpy(full + VM_FIELD_LEN, "$4", 3);
  const size_t ov4[] = {0, 300, 0, 0, 0, 0, 0, 0, 5, 5};
  out[VM_FIELD_LEN] = 'Z';
  assert_int_equal(ex(full, subj, 300, ov4, 5, 0, out, VM_FIELD_LEN), -1);
  assert_int_equal(out[VM_FIELD_LEN], 'Z');
  memcpy(full + VM_FIELD_LEN - 2, "$4", 3);
  assert_int_equal(ex(full, subj, 300, ov4, 5, 0, out, VM_FIELD_LEN), 0);
  assert_int_equal(strlen(out), VM_FIELD_LEN - 2);
  /* literal text alone may fill it up to size minus 1 */
  char lit[100];
  memset(lit, 'y', sizeof lit);
  lit[79] = '\0';
  assert_int_equal(ex(lit, subj, 300, ov, 4, 0, out, VM_FIELD_LEN), 0);
  assert_int_equal(strlen(out), 79);
  lit[79] = 'y';
  lit[80] = '\0';
  assert_int_equal(ex(lit, subj, 300, ov, 4, 0, out, VM_FIELD_LEN), -1);
  /* extrainfo and the type fields */
  assert_int_equal(ex("$3", subj, 300, ov, 4, 0, out, VM_EXTRA_LEN), 0);
  assert_int_equal(ex("$3$3$3$3", subj, 300, ov, 4, 0, out, VM_EXTRA_LEN), -1);
  assert_int_equal(ex("$3", subj, 300, ov, 4, 0, out, VM_TYPE_LEN), -1);
  /* the whole 300-byte group never fits anywhere */
  assert_int_equal(ex("$P(3)", subj, 300, (const size_t[]){0, 300, 0, 1, 0, 1, 0, 300}, 4, 0,
                      out, VM_EXTRA_LEN),
                   -1);
}

static void test_cpe_transform(void **state) {
  static const char subj[] = "Foo Bar:1/2?x";
  const size_t ov[] = {0, 13, 0, 13};
  char out[VM_FIELD_LEN];
  assert_int_equal(ex("cpe:/a:Vendor:$1", subj, 13, ov, 2, 1, out, sizeof out), 0);
  /* literal text is kept as written; the substitution is transformed */
  assert_string_equal(out, "cpe:/a:Vendor:foo_bar%3A1%2F2%3Fx");
  assert_int_equal(ex("cpe:/a:v:$1", subj, 13, ov, 2, 0, out, sizeof out), 0);
  assert_string_equal(out, "cpe:/a:v:Foo Bar:1/2?x");
}

/* Runs resp against probe name and checks the kind and service. */
static enum vm_kind run(struct vm_matcher *m, const struct sp_db *db, const char *probe,
                        enum scan_proto proto, const char *resp, size_t len,
                        struct vm_result *r) {
  return vm_match_probe(m, db, vf_probe(db, probe, proto), (const uint8_t *)resp, len, r);
}

#define R(s) s, sizeof(s) - 1

static void test_match_fixture(void **state) {
  struct sp_db *db = vf_load(NULL);
  struct vm_matcher *m;
  struct vm_result r;
  assert_int_equal(vm_matcher_new(&m, db), 0);

  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("220 FakeFTPd 1.2.3\r\n"), &r), VM_HARD);
  assert_string_equal(r.match->service, "ftp");
  assert_string_equal(r.field[SP_PRODUCT], "FakeFTPd");
  assert_string_equal(r.field[SP_VERSION], "1.2.3");
  assert_string_equal(r.cpe[VM_CPE_A], "cpe:/a:fake:ftpd:1.2.3");
  assert_string_equal(r.cpe[VM_CPE_O], "");
  assert_int_equal(r.failed, 0);

  /* the softmatch is the first line that matches */
  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("220 Some FTP server\r\n"), &r), VM_SOFT);
  assert_string_equal(r.match->service, "ftp");
  assert_int_equal(r.match->line, 12);

  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("SSH-2.0-Fake_9.1p1\r\n"), &r), VM_HARD);
  assert_string_equal(r.field[SP_VERSION], "9.1p1");
  assert_string_equal(r.field[SP_INFO], "protocol 2.0");
  assert_string_equal(r.field[SP_OSTYPE], "Linux");
  assert_string_equal(r.cpe[VM_CPE_A], "cpe:/a:fake:ssh:9.1p1");
  assert_string_equal(r.cpe[VM_CPE_O], "cpe:/o:linux:linux_kernel");

  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("220 mx.example.org ESMTP Toy\r\n"), &r),
                   VM_HARD);
  assert_string_equal(r.field[SP_HOSTNAME], "mx.example.org");
  assert_string_equal(r.field[SP_DEVICETYPE], "mail server");

  /* s: '.' crosses newlines; i: case-insensitive */
  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("multi\nline one\nline two"), &r), VM_HARD);
  assert_string_equal(r.field[SP_INFO], "line one\nline two");
  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("HELLO THERE"), &r), VM_HARD);
  assert_string_equal(r.match->service, "icase");

  /* the probe's own lines, then its fallback, then the NULL probe */
  assert_int_equal(run(m, db, "HTTPOptions", PROTO_TCP,
                       R("HTTP/1.0 200 OK\r\nServer: Toy/2.4\r\n\r\n"), &r),
                   VM_HARD);
  assert_string_equal(r.match->service, "http");
  assert_string_equal(r.field[SP_VERSION], "2.4");
  assert_ptr_equal(r.from, sp_probe_by_name(db, "GetRequest", PROTO_TCP));
  assert_int_equal(run(m, db, "HTTPOptions", PROTO_TCP, R("RTSP/1.0 200 OK\r\n"), &r), VM_HARD);
  assert_string_equal(r.match->service, "rtsp");
  assert_int_equal(run(m, db, "HTTPOptions", PROTO_TCP, R("220 FakeFTPd 7\r\n"), &r), VM_HARD);
  assert_ptr_equal(r.from, &db->probes[db->null_probe]);
  /* the NULL probe's lines never apply to GetRequest's fallback chain
   * other than through it, and never to UDP */
  assert_int_equal(run(m, db, "DNSStatus", PROTO_UDP, R("220 FakeFTPd 7\r\n"), &r), VM_NONE);
  assert_null(r.match);
  assert_int_equal(run(m, db, "DNSStatus", PROTO_UDP, R("\0\0\x90\x80"), &r), VM_HARD);
  assert_string_equal(r.field[SP_PRODUCT], "Toy DNS");
  /* DNSStatusTCP falls back to the UDP probe's lines */
  assert_int_equal(run(m, db, "DNSStatusTCP", PROTO_TCP, R("\0\0\x90\x80"), &r), VM_HARD);
  assert_string_equal(r.field[SP_PRODUCT], "Toy DNS");

  /* binary: $I both ways, $P on a capture with control bytes */
  assert_int_equal(run(m, db, "Binary", PROTO_TCP,
                       R("\x01\x02\x01\x02\x10\0\0\0ho\x01st\x7f\xff"), &r),
                   VM_HARD);
  assert_string_equal(r.field[SP_VERSION], "258");
  assert_string_equal(r.field[SP_INFO], "le 16");
  assert_string_equal(r.field[SP_HOSTNAME], "host");
  assert_int_equal(run(m, db, "Binary", PROTO_TCP, R("ver=1_22_3"), &r), VM_HARD);
  assert_string_equal(r.field[SP_VERSION], "1.22.3");

  assert_int_equal(run(m, db, "GetRequest", PROTO_TCP, R("nothing known"), &r), VM_NONE);
  assert_int_equal(run(m, db, "GetRequest", PROTO_TCP, "", 0, &r), VM_NONE);
  vm_matcher_free(m);
  sp_free(db);
}

static void test_port_state(void **state) {
  struct sp_db *db = vf_load(NULL);
  struct vm_matcher *m;
  struct vm_result r;
  struct vm_port st;
  memset(&st, 0, sizeof st);
  assert_int_equal(vm_matcher_new(&m, db), 0);
  /* no match changes nothing */
  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("zzz"), &r), VM_NONE);
  assert_int_equal(vm_port_take(&st, VM_NONE, &r), 0);
  assert_int_equal(st.kind, VM_NONE);
  /* the first softmatch is kept ... */
  assert_int_equal(run(m, db, "GetRequest", PROTO_TCP, R("HTTP/1.1 404 Nope\r\n"), &r), VM_SOFT);
  assert_int_equal(vm_port_take(&st, VM_SOFT, &r), 0);
  assert_int_equal(st.kind, VM_SOFT);
  assert_string_equal(st.service, "http");
  /* ... and a later softmatch of another service is ignored */
  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("220 an ftp server"), &r), VM_SOFT);
  assert_int_equal(vm_port_take(&st, VM_SOFT, &r), 0);
  assert_string_equal(st.service, "http");
  /* a hard match ends the port */
  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("220 FakeFTPd 3\r\n"), &r), VM_HARD);
  assert_int_equal(vm_port_take(&st, VM_HARD, &r), 1);
  assert_int_equal(st.kind, VM_HARD);
  assert_string_equal(st.service, "ftp");
  assert_string_equal(st.r.field[SP_VERSION], "3");
  assert_int_equal(run(m, db, "NULL", PROTO_TCP, R("SSH-2.0-Fake_1\r\n"), &r), VM_HARD);
  assert_int_equal(vm_port_take(&st, VM_HARD, &r), 0);
  assert_string_equal(st.service, "ftp");
  vm_matcher_free(m);
  sp_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_template_forms),  cmocka_unit_test(test_template_bounds),
      cmocka_unit_test(test_cpe_transform),   cmocka_unit_test(test_match_fixture),
      cmocka_unit_test(test_port_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
