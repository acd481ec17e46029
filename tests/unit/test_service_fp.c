/* test_service_fp.c: the SF-Port fingerprint (src/version/service-fp.c):
 * Nmap's header, each byte class escaped as Nmap escapes it, "\x00"
 * before a digit, responses cut at 900 bytes with their full length in
 * hex, no more responses past 2200 wrapped characters, the TLS mark. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "version/service-fp.h"

static void piece(struct vs_result *r, const char *probe, const void *data, size_t len,
                  size_t total) {
  struct vs_fp_piece *p = &r->fp[r->nfp++];
  p->probe = probe;
  p->len = len;
  p->total = total;
  memcpy(p->data, data, len);
}

static const struct vfp_info INFO = {"0.1.0", "x86_64-pc-linux-gnu", 7, 0, 0x6931C8A2};

static void test_escapes(void **state) {
  setenv("TZ", "UTC", 1);
  tzset();
  static struct vs_result r;
  memset(&r, 0, sizeof r);
  assert_null(vfp_build(&r, 80, PROTO_TCP, &INFO));
  piece(&r, "GetRequest", "HTTP/1.0 200 OK\r\n", 17, 17);
  static const uint8_t bin[] = {0, '1', 0, 'a', '|', 0xff, '\t', '%', ' ', '~'};
  piece(&r, "NULL", bin, sizeof bin, sizeof bin);
  char *fp = vfp_build(&r, 8080, PROTO_TCP, &INFO);
  assert_non_null(fp);
  assert_string_equal(fp,
                      "SF-Port8080-TCP:V=0.1.0%I=7%D=12/4%Time=6931C8A2%P=x86_64-pc-linux-gnu"
                      "%r(GetRequest,11,\"HTTP/1\\.0\\x20200\\x20OK\\r\\n\")"
                      "%r(NULL,A,\"\\x001\\0a\\|\\xff\\t%\\x20~\");");
  free(fp);
  struct vfp_info ssl = INFO;
  ssl.ssl = 1;
  fp = vfp_build(&r, 53, PROTO_UDP, &ssl);
  assert_non_null(strstr(fp, "SF-Port53-UDP:V=0.1.0%T=SSL%I=7%"));
  free(fp);
}

static void test_bounds(void **state) {
  static struct vs_result r;
  memset(&r, 0, sizeof r);
  static uint8_t a[VS_FP_BYTES];
  memset(a, 'A', sizeof a);
  for (int i = 0; i < VS_FP_MAX; i++) piece(&r, "P", a, sizeof a, 5000);
  char *fp = vfp_build(&r, 1, PROTO_TCP, &INFO);
  assert_non_null(fp);
  /* three pieces pass 2200 wrapped characters; no fourth */
  size_t n = 0;
  for (const char *s = fp; (s = strstr(s, "%r(P,1388,\"")) != NULL; s++) n++;
  assert_int_equal(n, 3);
  assert_int_equal(fp[strlen(fp) - 1], ';');
  assert_true(strlen(fp) < 3 * (VS_FP_BYTES + 20) + 100);
  free(fp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
