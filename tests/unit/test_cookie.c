/* test_cookie.c: SipHash-2-4 of src/scan/cookie.c against the paper's test
 * vector and OpenSSL, and the cookie round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#include "scan/cookie.h"

static struct cookie_key paper_key(void) {
  uint8_t kb[16];
  for (int i = 0; i < 16; i++) kb[i] = (uint8_t)i;
  struct cookie_key k;
  cookie_key_from_bytes(&k, kb);
  return k;
}

/* SipHash paper, appendix A: key 00..0f, message 00..0e (15 bytes). */
static void test_paper_vector(void **state) {
  struct cookie_key k = paper_key();
  assert_int_equal(k.k0, 0x0706050403020100ull);
  assert_int_equal(k.k1, 0x0f0e0d0c0b0a0908ull);
  uint8_t m[15];
  for (int i = 0; i < 15; i++) m[i] = (uint8_t)i;
  assert_int_equal(cookie_siphash(&k, m, sizeof m), 0xa129ca6149be45e5ull);
}

static uint64_t openssl_siphash(const struct cookie_key *k, const uint8_t *m,
                                size_t len) {
  uint8_t kb[16], out[8];
  for (int i = 0; i < 8; i++) {
    kb[i] = (uint8_t)(k->k0 >> (8 * i));
    kb[8 + i] = (uint8_t)(k->k1 >> (8 * i));
  }
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
  assert_non_null(mac);
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  size_t outlen = 8, got = 0;
  OSSL_PARAM params[] = {OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, &outlen),
                         OSSL_PARAM_END};
  assert_int_equal(EVP_MAC_init(ctx, kb, sizeof kb, params), 1);
  assert_int_equal(EVP_MAC_update(ctx, m, len), 1);
  assert_int_equal(EVP_MAC_final(ctx, out, &got, sizeof out), 1);
  assert_int_equal(got, 8);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | out[i];
  return v;
}

/* Every message length 0..80 (all tail sizes, several blocks), under the
 * paper's key and random keys. */
static void test_against_openssl(void **state) {
  uint8_t m[80];
  srand(4242);
  for (int round = 0; round < 4; round++) {
    struct cookie_key k = paper_key();
    if (round > 0) {
      k.k0 = (uint64_t)rand() << 33 ^ (uint64_t)rand() << 11 ^ (uint64_t)rand();
      k.k1 = (uint64_t)rand() << 33 ^ (uint64_t)rand() << 11 ^ (uint64_t)rand();
    }
    for (size_t i = 0; i < sizeof m; i++) m[i] = round ? (uint8_t)rand() : (uint8_t)i;
    for (size_t len = 0; len <= sizeof m; len++)
      assert_int_equal(cookie_siphash(&k, m, len), openssl_siphash(&k, m, len));
  }
}

static void test_keys(void **state) {
  struct cookie_key a, b, c;
  cookie_key_from_seed(&a, 1);
  cookie_key_from_seed(&b, 1);
  cookie_key_from_seed(&c, 2);
  assert_memory_equal(&a, &b, sizeof a);
  assert_memory_not_equal(&a, &c, sizeof a);
  assert_true(a.k0 != a.k1);
  assert_int_equal(cookie_key_random(&a), 0);
  assert_int_equal(cookie_key_random(&b), 0);
  assert_memory_not_equal(&a, &b, sizeof a);
}

static void test_tcp_cookie(void **state) {
  struct cookie_key k;
  cookie_key_from_seed(&k, 99);
  struct in_addr s, d;
  inet_pton(AF_INET, "198.18.0.1", &s);
  inet_pton(AF_INET, "198.18.1.20", &d);
  struct cookie_flow f = {.family = AF_INET, .src = &s, .dst = &d,
                          .sport = 40000, .dport = 443, .proto = IPPROTO_TCP};
  uint32_t seq = cookie_tcp_seq(&k, &f);
  assert_true(cookie_tcp_ack_ok(&k, &f, seq + 1));
  assert_false(cookie_tcp_ack_ok(&k, &f, seq));
  assert_false(cookie_tcp_ack_ok(&k, &f, seq + 2));
  /* every field of the flow changes the cookie */
  struct cookie_flow g = f;
  g.dport = 444;
  assert_false(cookie_tcp_ack_ok(&k, &g, seq + 1));
  g = f;
  g.sport = 40001;
  assert_false(cookie_tcp_ack_ok(&k, &g, seq + 1));
  g = f;
  g.src = &d;
  g.dst = &s;
  assert_false(cookie_tcp_ack_ok(&k, &g, seq + 1));
  struct cookie_key k2;
  cookie_key_from_seed(&k2, 100);
  assert_false(cookie_tcp_ack_ok(&k2, &f, seq + 1));
  /* wrap-around: ack 0 answers seq 0xffffffff */
  assert_int_equal(cookie_tcp_ack_ok(&k, &f, 0), seq == UINT32_MAX);

  struct in6_addr s6, d6;
  inet_pton(AF_INET6, "2001:db8::1", &s6);
  inet_pton(AF_INET6, "2001:db8::2", &d6);
  struct cookie_flow f6 = {.family = AF_INET6, .src = &s6, .dst = &d6,
                           .sport = 40000, .dport = 443, .proto = IPPROTO_TCP};
  uint32_t seq6 = cookie_tcp_seq(&k, &f6);
  assert_true(cookie_tcp_ack_ok(&k, &f6, seq6 + 1));
  d6.s6_addr[15] = 3; /* the last byte of a v6 address counts */
  assert_false(cookie_tcp_ack_ok(&k, &f6, seq6 + 1));
}

static void test_src_port(void **state) {
  struct cookie_key k;
  cookie_key_from_seed(&k, 5);
  uint32_t s = htonl(0xc6120001), d;
  struct cookie_flow f = {.family = AF_INET, .src = &s, .dst = &d,
                          .proto = IPPROTO_UDP};
  static uint32_t hits[64];
  memset(hits, 0, sizeof hits);
  for (uint32_t i = 0; i < 64000; i++) {
    d = htonl(0xc6130000 + i);
    f.dport = (uint16_t)(i % 1000);
    uint16_t p = cookie_src_port(&k, &f, 32768, 32768 + 63);
    assert_in_range(p, 32768, 32768 + 63);
    assert_true(cookie_src_port_ok(&k, &f, 32768, 32768 + 63, p));
    f.sport = 1234; /* ignored: the port is derived without it */
    assert_int_equal(cookie_src_port(&k, &f, 32768, 32768 + 63), p);
    f.sport = 0;
    hits[p - 32768]++;
  }
  /* roughly uniform: each of 64 ports about 1000 times */
  for (int i = 0; i < 64; i++) assert_in_range(hits[i], 800, 1200);
  assert_int_equal(cookie_src_port(&k, &f, 5000, 5000), 5000);
  assert_int_equal(cookie_src_port(&k, &f, 0, 65535) <= 65535, 1);
  /* TCP and UDP flows get independent ports */
  int differ = 0;
  for (uint32_t i = 0; i < 100; i++) {
    d = htonl(0xc6130000 + i);
    f.proto = IPPROTO_UDP;
    uint16_t u = cookie_src_port(&k, &f, 1024, 65535);
    f.proto = IPPROTO_TCP;
    differ += u != cookie_src_port(&k, &f, 1024, 65535);
  }
  assert_true(differ > 90);
}

static void test_icmp(void **state) {
  struct cookie_key k;
  cookie_key_from_seed(&k, 6);
  uint32_t s = htonl(0xc6120001), d = htonl(0xc6120002);
  struct cookie_flow f = {.family = AF_INET, .src = &s, .dst = &d,
                          .proto = IPPROTO_ICMP};
  uint16_t id, seq, id2, seq2;
  cookie_icmp_echo(&k, &f, &id, &seq);
  f.dport = 7; /* ports do not matter for echo */
  cookie_icmp_echo(&k, &f, &id2, &seq2);
  assert_int_equal(id, id2);
  assert_int_equal(seq, seq2);
  d = htonl(0xc6120003);
  cookie_icmp_echo(&k, &f, &id2, &seq2);
  assert_true(id != id2 || seq != seq2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_paper_vector), cmocka_unit_test(test_against_openssl),
      cmocka_unit_test(test_keys),         cmocka_unit_test(test_tcp_cookie),
      cmocka_unit_test(test_src_port),     cmocka_unit_test(test_icmp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
