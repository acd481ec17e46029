/* lua-tls.c: TLS for script sockets with OpenSSL, without blocking and
 * without touching the socket: each connection is a core/tls.h connection
 * (an SSL object between two memory BIOs, shared with the version scan).
 * lua-socket.c feeds it the ciphertext the TCP stream delivers, sends what
 * it produces, and retries the handshake or read whenever it wanted more
 * input. So TLS runs on the same tw_tcp streams, timeouts and
 * --script-trace as plain sockets, and a STARTTLS upgrade (reconnect_ssl)
 * is the same code.
 *
 * Scanners talk to anything: core/tls.h's permissive context, one per
 * script engine. The peer's certificate becomes a Lua table
 * (ltls_push_cert, also trawl.parse_certificate for PEM/DER text) with the
 * fields of Nmap's ssl-cert: subject, issuer, validity, public key, SANs,
 * fingerprints. */
#define _GNU_SOURCE
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/tls.h"
#include "script/lua/lua-int.h"

/* The engine's client context (e->tls_ctx), made on first use. Each SSL
 * object holds a reference to it, so lua_tls_close may free it while
 * sockets are still closing. */
static SSL_CTX *tls_get_ctx(struct script_engine *e) {
  if (!e->tls_ctx) e->tls_ctx = tls_client_ctx_new();
  return e->tls_ctx;
}

struct tls_conn *ltls_new(struct script_engine *e, const char *sni, char *err, size_t errlen) {
  SSL_CTX *c = tls_get_ctx(e);
  if (!c) {
    snprintf(err, errlen, "cannot create the TLS context");
    return NULL;
  }
  return tls_conn_new(c, sni, err, errlen);
}

/* ---- certificates as Lua tables ---------------------------------------------- */

static void tls_name(lua_State *L, const X509_NAME *nm) {
  lua_newtable(L);
  int n = X509_NAME_entry_count(nm);
  for (int i = 0; i < n; i++) {
    const X509_NAME_ENTRY *en = X509_NAME_get_entry(nm, i);
    const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(en);
    int nid = OBJ_obj2nid(obj);
    char key[128];
    if (nid != NID_undef) snprintf(key, sizeof key, "%s", OBJ_nid2ln(nid));
    else OBJ_obj2txt(key, sizeof key, obj, 1);
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(en));
    if (len < 0) continue;
    lua_getfield(L, -1, key);
    bool have = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!have) {
      lua_pushlstring(L, (const char *)utf8, (size_t)len);
      lua_setfield(L, -2, key);
    }
    OPENSSL_free(utf8);
  }
}

static void tls_time(lua_State *L, const ASN1_TIME *t, const char *key) {
  struct tm tm;
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return;
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  lua_pushstring(L, buf);
  lua_setfield(L, -2, key);
  char k2[64];
  snprintf(k2, sizeof k2, "%s_epoch", key);
  lua_pushinteger(L, (lua_Integer)timegm(&tm));
  lua_setfield(L, -2, k2);
}

static void tls_hex(lua_State *L, const unsigned char *d, unsigned n) {
  char buf[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned i = 0; i < n; i++) snprintf(buf + 2 * i, 3, "%02x", d[i]);
  lua_pushlstring(L, buf, 2 * n);
}

static void tls_digest(lua_State *L, X509 *x, const EVP_MD *md, const char *key) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (X509_digest(x, md, d, &n) != 1) return;
  tls_hex(L, d, n);
  lua_setfield(L, -2, key);
}

static void tls_pubkey(lua_State *L, X509 *x) {
  EVP_PKEY *pk = X509_get0_pubkey(x);
  lua_newtable(L);
  if (!pk) {
    lua_setfield(L, -2, "pubkey");
    return;
  }
  const char *type = "unknown";
  switch (EVP_PKEY_get_base_id(pk)) {
  case EVP_PKEY_RSA: type = "rsa"; break;
  case EVP_PKEY_DSA: type = "dsa"; break;
  case EVP_PKEY_DH: type = "dh"; break;
  case EVP_PKEY_EC: type = "ec"; break;
  case EVP_PKEY_ED25519: type = "ed25519"; break;
  case EVP_PKEY_ED448: type = "ed448"; break;
  default: break;
  }
  lua_pushstring(L, type);
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, EVP_PKEY_get_bits(pk));
  lua_setfield(L, -2, "bits");
  char grp[80];
  size_t gl = 0;
  if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
      EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof grp, &gl) == 1) {
    lua_pushstring(L, grp);
    lua_setfield(L, -2, "curve");
  }
  BIGNUM *e = NULL;
  if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA &&
      EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) == 1) {
    char *dec = BN_bn2dec(e);
    if (dec) {
      lua_pushstring(L, dec);
      lua_setfield(L, -2, "exponent");
      OPENSSL_free(dec);
    }
    BN_free(e);
  }
  lua_setfield(L, -2, "pubkey");
}

static void tls_sans(lua_State *L, X509 *x) {
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  if (!gens) return;
  lua_newtable(L);
  int k = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    char buf[300];
    buf[0] = 0;
    if (g->type == GEN_DNS) {
      snprintf(buf, sizeof buf, "DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
               (const char *)ASN1_STRING_get0_data(g->d.dNSName));
    } else if (g->type == GEN_EMAIL) {
      snprintf(buf, sizeof buf, "email:%.*s", ASN1_STRING_length(g->d.rfc822Name),
               (const char *)ASN1_STRING_get0_data(g->d.rfc822Name));
    } else if (g->type == GEN_URI) {
      snprintf(buf, sizeof buf, "URI:%.*s", ASN1_STRING_length(g->d.uniformResourceIdentifier),
               (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier));
    } else if (g->type == GEN_IPADD) {
      char a[INET6_ADDRSTRLEN] = "?";
      int l = ASN1_STRING_length(g->d.iPAddress);
      const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
      if (l == 4) inet_ntop(AF_INET, d, a, sizeof a);
      else if (l == 16) inet_ntop(AF_INET6, d, a, sizeof a);
      snprintf(buf, sizeof buf, "IP Address:%s", a);
    }
    if (buf[0]) {
      lua_pushstring(L, buf);
      lua_rawseti(L, -2, ++k);
    }
  }
  GENERAL_NAMES_free(gens);
  lua_setfield(L, -2, "san");
}

/* extensions: {name, value, critical} in certificate order, the name and
 * value as OpenSSL prints them (what Nmap's ssl-cert shows: "X509v3
 * Subject Alternative Name" = "DNS:a, IP Address:2001:DB8:0:0:0:0:0:1"). */
static void tls_extensions(lua_State *L, X509 *x) {
  int n = X509_get_ext_count(x);
  if (n <= 0) return;
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    X509_EXTENSION *ext = X509_get_ext(x, i);
    ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
    char name[128];
    int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) snprintf(name, sizeof name, "%s", OBJ_nid2ln(nid));
    else OBJ_obj2txt(name, sizeof name, obj, 1);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    BIO *b = BIO_new(BIO_s_mem());
    if (b) {
      if (X509V3_EXT_print(b, ext, 0, 0) != 1) {
        (void)BIO_reset(b);
        ASN1_STRING_print(b, X509_EXTENSION_get_data(ext));
      }
      char *p;
      long len = BIO_get_mem_data(b, &p);
      lua_pushlstring(L, p, len > 0 ? (size_t)len : 0);
      lua_setfield(L, -2, "value");
      BIO_free(b);
    }
    if (X509_EXTENSION_get_critical(ext)) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "critical");
    }
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "extensions");
}

static int tls_push_x509(lua_State *L, X509 *x) {
  lua_newtable(L);
  tls_name(L, X509_get_subject_name(x));
  lua_setfield(L, -2, "subject");
  tls_name(L, X509_get_issuer_name(x));
  lua_setfield(L, -2, "issuer");
  lua_newtable(L);
  tls_time(L, X509_get0_notBefore(x), "notBefore");
  tls_time(L, X509_get0_notAfter(x), "notAfter");
  lua_setfield(L, -2, "validity");
  tls_pubkey(L, x);
  tls_sans(L, x);
  tls_extensions(L, x);
  int nid = X509_get_signature_nid(x);
  if (nid != NID_undef) {
    lua_pushstring(L, OBJ_nid2ln(nid));
    lua_setfield(L, -2, "sig_algorithm");
  }
  lua_pushinteger(L, X509_get_version(x) + 1);
  lua_setfield(L, -2, "version");
  const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
  BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
  if (bn) {
    char *hex = BN_bn2hex(bn);
    if (hex) {
      for (char *c = hex; *c; c++) *c = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
      lua_pushstring(L, hex);
      lua_setfield(L, -2, "serial");
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  tls_digest(L, x, EVP_md5(), "md5");
  tls_digest(L, x, EVP_sha1(), "sha1");
  tls_digest(L, x, EVP_sha256(), "sha256");
  BIO *b = BIO_new(BIO_s_mem());
  if (b && PEM_write_bio_X509(b, x) == 1) {
    char *p;
    long n = BIO_get_mem_data(b, &p);
    lua_pushlstring(L, p, (size_t)n);
    lua_setfield(L, -2, "pem");
  }
  BIO_free(b);
  return 1;
}

int ltls_push_cert(lua_State *L, struct tls_conn *s) {
  X509 *x = SSL_get1_peer_certificate(tls_conn_ssl(s));
  if (!x) return st_pusherr(L, "no certificate");
  tls_push_x509(L, x);
  X509_free(x);
  return 1;
}

/* trawl.parse_certificate(pem_or_der) -> table, or nil, err */
static int tls_parse(lua_State *L) {
  size_t n;
  const char *d = luaL_checklstring(L, 1, &n);
  X509 *x = NULL;
  BIO *b = BIO_new_mem_buf(d, (int)n);
  if (b) x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  if (!x) {
    const unsigned char *p = (const unsigned char *)d;
    x = d2i_X509(NULL, &p, (long)n);
  }
  ERR_clear_error();
  if (!x) return st_pusherr(L, "not a PEM or DER certificate");
  tls_push_x509(L, x);
  X509_free(x);
  return 1;
}

void lua_tls_close(struct script_engine *e) {
  tls_client_ctx_free(e->tls_ctx);
  e->tls_ctx = NULL;
}

void lua_tls_open(struct script_engine *e, lua_State *L) {
  lua_getglobal(L, "trawl");
  lua_pushcfunction(L, tls_parse);
  lua_setfield(L, -2, "parse_certificate");
  lua_pop(L, 1);
}
