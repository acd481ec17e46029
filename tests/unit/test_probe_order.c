/* test_probe_order.c: the probe sequence of a port (src/version/
 * probe-order.c) on tests/fixtures/service-probes-test: NULL first for
 * TCP, registered ports regardless of rarity, the rest by intensity in
 * file order, sslports inside TLS, Exclude and --allports, and softmatch
 * narrowing (fixed and found mid-way). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "version/probe-order.h"
#include "version_fixture.h"

/* The sequence as "NAME NAME ..." */
static const char *seq(const struct sp_db *db, enum scan_proto proto, uint16_t port, int ssl,
                       int intensity, int allports, const char *soft) {
  static char buf[512];
  int32_t idx[32];
  size_t n = vp_sequence(db, proto, port, ssl, intensity, allports, soft, idx, 32);
  assert_true(n <= 32);
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (i) strcat(buf, " ");
    strcat(buf, db->probes[idx[i]].name);
  }
  return buf;
}

/* TCP probes in the fixture, in file order, with rarity and ports:
 *   GetRequest 1 (80, 8000-8010; ssl 443), Escapes 9, HTTPOptions 4 (80),
 *   Binary 5 (7000), DNSStatusTCP 7. UDP: DNSStatus 1 (53). */
static void test_intensity(void **state) {
  struct sp_db *db = vf_load(NULL);
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, 0, 0, NULL), "NULL GetRequest HTTPOptions");
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, VP_INTENSITY_LIGHT, 0, NULL),
                      "NULL GetRequest HTTPOptions");
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, 5, 0, NULL), "NULL GetRequest HTTPOptions Binary");
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, VP_INTENSITY_DEFAULT, 0, NULL),
                      "NULL GetRequest HTTPOptions Binary DNSStatusTCP");
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, VP_INTENSITY_ALL, 0, NULL),
                      "NULL GetRequest HTTPOptions Escapes Binary DNSStatusTCP");
  /* a port no probe registers: the rest only, by rarity */
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, 0, 0, NULL), "NULL");
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, 1, 0, NULL), "NULL GetRequest");
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, 4, 0, NULL), "NULL GetRequest HTTPOptions");
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, 9, 0, NULL),
                      "NULL GetRequest Escapes HTTPOptions Binary DNSStatusTCP");
  /* registered: first, and whatever the rarity */
  assert_string_equal(seq(db, PROTO_TCP, 7000, 0, 0, 0, NULL), "NULL Binary");
  assert_string_equal(seq(db, PROTO_TCP, 7000, 0, 4, 0, NULL),
                      "NULL Binary GetRequest HTTPOptions");
  assert_string_equal(seq(db, PROTO_TCP, 8010, 0, 0, 0, NULL), "NULL GetRequest");
  /* out-of-range intensities are clamped */
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, -3, 0, NULL), "NULL");
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, 42, 0, NULL),
                      "NULL GetRequest Escapes HTTPOptions Binary DNSStatusTCP");
  /* UDP: no NULL probe */
  assert_string_equal(seq(db, PROTO_UDP, 53, 0, 0, 0, NULL), "DNSStatus");
  assert_string_equal(seq(db, PROTO_UDP, 54, 0, 0, 0, NULL), "");
  assert_string_equal(seq(db, PROTO_UDP, 54, 0, 1, 0, NULL), "DNSStatus");
  sp_free(db);
}

static void test_ssl_and_exclude(void **state) {
  struct sp_db *db = vf_load(NULL);
  /* inside TLS, sslports registers instead of ports */
  assert_string_equal(seq(db, PROTO_TCP, 443, 1, 0, 0, NULL), "NULL GetRequest");
  assert_string_equal(seq(db, PROTO_TCP, 443, 0, 0, 0, NULL), "NULL");
  assert_string_equal(seq(db, PROTO_TCP, 80, 1, 0, 0, NULL), "NULL");
  /* Exclude T:9100-9102,U:30000 unless --allports */
  assert_string_equal(seq(db, PROTO_TCP, 9101, 0, 9, 0, NULL), "");
  assert_string_equal(seq(db, PROTO_TCP, 9101, 0, 0, 1, NULL), "NULL");
  assert_string_equal(seq(db, PROTO_UDP, 30000, 0, 9, 0, NULL), "");
  assert_string_equal(seq(db, PROTO_UDP, 30000, 0, 1, 1, NULL), "DNSStatus");
  assert_string_equal(seq(db, PROTO_TCP, 30000, 0, 0, 0, NULL), "NULL");
  sp_free(db);
}

static void test_softmatch_narrowing(void **state) {
  struct sp_db *db = vf_load(NULL);
  /* only probes that can give the soft service; rarity no longer counts */
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, 7, 0, "http"), "NULL GetRequest");
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, 2, 0, "domain"), "NULL DNSStatusTCP");
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, 0, 0, "esc"), "NULL Escapes");
  assert_string_equal(seq(db, PROTO_TCP, 81, 0, 7, 0, "nothing-gives-this"), "NULL");
  /* --version-all: no narrowing */
  assert_string_equal(seq(db, PROTO_TCP, 80, 0, 9, 0, "http"),
                      "NULL GetRequest HTTPOptions Escapes Binary DNSStatusTCP");

  /* a softmatch found mid-way narrows what follows */
  struct vp_cursor c;
  vp_cursor_init(&c, db, PROTO_TCP, 80, 0, 7, 0);
  assert_int_equal(vp_cursor_next(&c, NULL), db->null_probe);
  assert_int_equal(vp_cursor_next(&c, NULL), vf_probe(db, "GetRequest", PROTO_TCP));
  /* HTTPOptions (registered) cannot give "domain"; Binary cannot either */
  assert_int_equal(vp_cursor_next(&c, "domain"), vf_probe(db, "DNSStatusTCP", PROTO_TCP));
  assert_int_equal(vp_cursor_next(&c, "domain"), -1);
  assert_int_equal(vp_cursor_next(&c, "domain"), -1);
  sp_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_intensity),
      cmocka_unit_test(test_ssl_and_exclude),
      cmocka_unit_test(test_softmatch_narrowing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
