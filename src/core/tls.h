/* tls.h: TLS client connections that never touch a socket, for a scanner
 * on the non-blocking loop. Each connection is an OpenSSL SSL object
 * between two memory BIOs: the caller feeds it the ciphertext its TCP
 * stream delivers (tls_conn_feed), sends what it produces (tls_conn_take)
 * and retries the handshake or read whenever it wanted more input. Nothing
 * here blocks or waits; timeouts are the caller's.
 *
 * Scanners talk to anything: tls_client_ctx_new makes a context with no
 * certificate verification and every protocol version and cipher OpenSSL
 * still has (security level 0, legacy renegotiation allowed). Each owner
 * (the script engine, the version-scan engine) makes and frees its own
 * context; there is no process-wide one. Used by src/script/lua/lua-tls.c
 * and src/version/vscan.c. */
#ifndef TRAWL_CORE_TLS_H
#define TRAWL_CORE_TLS_H

#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;
struct tls_conn;

/* A permissive client context, or NULL. Free with tls_client_ctx_free. */
struct ssl_ctx_st *tls_client_ctx_new(void);
void tls_client_ctx_free(struct ssl_ctx_st *ctx);

/* A client connection on ctx (which it references: ctx may be freed
 * first). sni: a host name to send, or NULL (IP literals are not sent).
 * NULL on failure with a message in err. */
struct tls_conn *tls_conn_new(struct ssl_ctx_st *ctx, const char *sni, char *err, size_t errlen);
void tls_conn_free(struct tls_conn *s);
/* 1 done, 0 wants more input (feed it), < 0 failed (tls_conn_error). */
int tls_conn_handshake(struct tls_conn *s);
/* Plaintext: > 0 bytes, 0 wants more input, TW_EOF (close_notify), < 0 failed. */
int tls_conn_read(struct tls_conn *s, char *buf, size_t cap);
/* Encrypt buf (all of it); 0 or < 0. */
int tls_conn_write(struct tls_conn *s, const void *buf, size_t len);
/* Ciphertext received from the peer: 0 or -ENOMEM. */
int tls_conn_feed(struct tls_conn *s, const void *buf, size_t len);
/* Ciphertext to send: how much is waiting, and up to cap bytes of it. */
size_t tls_conn_out_pending(const struct tls_conn *s);
int tls_conn_take(struct tls_conn *s, char *buf, size_t cap);
const char *tls_conn_error(const struct tls_conn *s);
/* The version and cipher negotiated ("TLSv1.3", "TLS_AES_256_GCM_SHA384"). */
const char *tls_conn_version(const struct tls_conn *s);
const char *tls_conn_cipher(const struct tls_conn *s);
/* The OpenSSL object, for reading the peer's certificate. */
struct ssl_st *tls_conn_ssl(struct tls_conn *s);

#endif
