/* tls.c: memory-BIO TLS client connections and the permissive client
 * context (see tls.h). */
#define _GNU_SOURCE
#include "core/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <trawl/error.h>

struct tls_conn {
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  char err[256];
};

SSL_CTX *tls_client_ctx_new(void) {
  SSL_CTX *c = SSL_CTX_new(TLS_client_method());
  if (!c) return NULL;
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_security_level(c, 0);
  SSL_CTX_set_min_proto_version(c, 0);
  SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
  SSL_CTX_set_options(c, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION);
  ERR_clear_error();
  return c;
}

void tls_client_ctx_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

static void tls_seterr(struct tls_conn *s, const char *what) {
  unsigned long e = ERR_get_error();
  if (e) {
    char buf[200];
    ERR_error_string_n(e, buf, sizeof buf);
    snprintf(s->err, sizeof s->err, "%s: %s", what, buf);
  } else {
    snprintf(s->err, sizeof s->err, "%s", what);
  }
  ERR_clear_error();
}

struct tls_conn *tls_conn_new(SSL_CTX *c, const char *sni, char *err, size_t errlen) {
  if (!c) {
    snprintf(err, errlen, "no TLS context");
    return NULL;
  }
  struct tls_conn *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->ssl = SSL_new(c);
  s->rbio = BIO_new(BIO_s_mem());
  s->wbio = BIO_new(BIO_s_mem());
  if (!s->ssl || !s->rbio || !s->wbio) {
    snprintf(err, errlen, "cannot create a TLS connection");
    if (s->ssl) SSL_free(s->ssl);
    if (s->rbio) BIO_free(s->rbio);
    if (s->wbio) BIO_free(s->wbio);
    free(s);
    ERR_clear_error();
    return NULL;
  }
  BIO_set_mem_eof_return(s->rbio, -1); /* empty means "wait", not EOF */
  SSL_set_bio(s->ssl, s->rbio, s->wbio);
  SSL_set_connect_state(s->ssl);
  struct in6_addr tmp;
  if (sni && *sni && inet_pton(AF_INET, sni, &tmp) != 1 && inet_pton(AF_INET6, sni, &tmp) != 1)
    SSL_set_tlsext_host_name(s->ssl, sni);
  return s;
}

void tls_conn_free(struct tls_conn *s) {
  if (!s) return;
  SSL_free(s->ssl);
  free(s);
}

int tls_conn_handshake(struct tls_conn *s) {
  ERR_clear_error();
  int r = SSL_do_handshake(s->ssl);
  if (r == 1) return 1;
  int e = SSL_get_error(s->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  tls_seterr(s, "handshake");
  return -1;
}

int tls_conn_read(struct tls_conn *s, char *buf, size_t cap) {
  ERR_clear_error();
  int r = SSL_read(s->ssl, buf, (int)(cap > 1 << 30 ? 1 << 30 : cap));
  if (r > 0) return r;
  int e = SSL_get_error(s->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  if (e == SSL_ERROR_ZERO_RETURN) return TW_EOF;
  tls_seterr(s, "read");
  return -EPROTO;
}

int tls_conn_write(struct tls_conn *s, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ERR_clear_error();
    int n = SSL_write(s->ssl, p, (int)(len > 1 << 30 ? 1 << 30 : len));
    if (n <= 0) {
      tls_seterr(s, "write");
      return -EPROTO;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int tls_conn_feed(struct tls_conn *s, const void *buf, size_t len) {
  return BIO_write(s->rbio, buf, (int)len) == (int)len ? 0 : -ENOMEM;
}

size_t tls_conn_out_pending(const struct tls_conn *s) { return BIO_ctrl_pending(s->wbio); }

int tls_conn_take(struct tls_conn *s, char *buf, size_t cap) {
  if (cap == 0 || BIO_ctrl_pending(s->wbio) == 0) return 0;
  int n = BIO_read(s->wbio, buf, (int)(cap > 1 << 30 ? 1 << 30 : cap));
  return n > 0 ? n : 0;
}

const char *tls_conn_error(const struct tls_conn *s) { return s->err[0] ? s->err : "TLS error"; }
const char *tls_conn_version(const struct tls_conn *s) { return SSL_get_version(s->ssl); }
const char *tls_conn_cipher(const struct tls_conn *s) {
  const char *c = SSL_get_cipher_name(s->ssl);
  return c ? c : "";
}
SSL *tls_conn_ssl(struct tls_conn *s) { return s->ssl; }
