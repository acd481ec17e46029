/* test_script_tls.c: TLS for scripts (src/script/lua/lua-tls.c) against a loopback
 * server in a thread using a certificate the test makes with openssl(1):
 * the certificate table (subject, issuer, validity, key, SANs,
 * fingerprints checked against openssl's own), the ssl-cert script and
 * its structured output, sending and receiving over TLS, a STARTTLS
 * upgrade with reconnect_ssl(), and a handshake with a server that does
 * not speak TLS. */
#include "script_fixture.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

static char cert_path[400], key_path[400];

/* RSA 2048 cert, CN and SANs given, issued by itself. */
static void make_cert(void) {
  snprintf(cert_path, sizeof cert_path, "%s/cert.pem", fx_dir);
  snprintf(key_path, sizeof key_path, "%s/key.pem", fx_dir);
  char cmd[1500];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 10 "
           "-subj '/C=XX/O=Trawl Test/CN=tls.test' "
           "-addext 'subjectAltName=DNS:tls.test,DNS:*.tls.test,IP:127.0.0.1' >/dev/null 2>&1",
           key_path, cert_path);
  assert_int_equal(system(cmd), 0);
}

/* openssl's view of a field: `openssl x509 -noout ARG` trimmed. */
static void openssl_field(const char *arg, char *out, size_t len) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "openssl x509 -noout %s -in %s", arg, cert_path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  if (!fgets(out, (int)len, p)) out[0] = 0;
  pclose(p);
  out[strcspn(out, "\n")] = 0;
}

struct tls_srv {
  int fd;
  uint16_t port;
  int mode; /* 0 TLS, 1 STARTTLS, 2 plain garbage, 3 TLS then a banner */
  SSL_CTX *ctx;
  pthread_t th;
  int nconn;
};

static void *tls_srv_main(void *arg) {
  struct tls_srv *s = arg;
  for (int k = 0; k < s->nconn; k++) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) break;
    char buf[256];
    if (s->mode == 2) {
      send(c, "HELLO I AM NOT TLS\r\n", 20, MSG_NOSIGNAL);
      while (recv(c, buf, sizeof buf, 0) > 0) {}
      close(c);
      continue;
    }
    if (s->mode == 1) {
      send(c, "220 ready\r\n", 11, MSG_NOSIGNAL);
      ssize_t n = recv(c, buf, sizeof buf - 1, 0);
      if (n <= 0 || strncmp(buf, "STARTTLS", 8)) {
        close(c);
        continue;
      }
      send(c, "220 go ahead\r\n", 14, MSG_NOSIGNAL);
    }
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, c);
    int up = SSL_accept(ssl) == 1;
    if (up && s->mode == 3) {
      SSL_write(ssl, "* OK TLS banner\r\n", 17);
      while (SSL_read(ssl, buf, sizeof buf) > 0) {}
    } else if (up) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        char reply[300];
        int m = snprintf(reply, sizeof reply, "secret:%.*s", n, buf);
        SSL_write(ssl, reply, m);
      }
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(c);
  }
  return NULL;
}

static struct tls_srv *tls_srv_start(int mode, int nconn) {
  struct tls_srv *s = calloc(1, sizeof *s);
  s->mode = mode;
  s->nconn = nconn;
  s->ctx = SSL_CTX_new(TLS_server_method());
  assert_int_equal(SSL_CTX_use_certificate_file(s->ctx, cert_path, SSL_FILETYPE_PEM), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey_file(s->ctx, key_path, SSL_FILETYPE_PEM), 1);
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  listen(s->fd, 16);
  socklen_t sl = sizeof a;
  getsockname(s->fd, (struct sockaddr *)&a, &sl);
  s->port = ntohs(a.sin_port);
  pthread_create(&s->th, NULL, tls_srv_main, s);
  return s;
}

static void tls_srv_stop(struct tls_srv *s) {
  pthread_join(s->th, NULL);
  close(s->fd);
  SSL_CTX_free(s->ctx);
  free(s);
}

static void test_cert_and_io(void **state) {
  make_cert();
  struct tls_srv *srv = tls_srv_start(0, 1);
  fx_script("api", FX_HEAD("'t'") "portrule = function() return true end\n"
            "action = function(host, port)\n"
            "  local s = trawl.tcp()\n"
            "  local out = {}\n"
            "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
            "  add(s:connect(host, port, 'ssl'))\n"
            "  local c = s:get_ssl_certificate()\n"
            "  add(c.subject.commonName, c.subject.organizationName, c.subject.countryName, c.issuer.commonName)\n"
            "  add(c.pubkey.type, c.pubkey.bits, c.pubkey.exponent, table.concat(c.san, ','))\n"
            "  add(c.md5, c.sha1, c.sha256, c.validity.notAfter_epoch - c.validity.notBefore_epoch)\n"
            "  add(c.validity.notBefore:match('^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d$') ~= nil, c.sig_algorithm)\n"
            "  add(s:get_ssl_info().version:match('^TLS') ~= nil)\n"
            "  add(s:send('ping'))\n"
            "  add(s:receive_buf(':', false))\n"
            "  add(s:receive())\n"
            "  add(s:receive())\n"
            "  local p = trawl.parse_certificate(c.pem)\n"
            "  add(p.sha1 == c.sha1, trawl.parse_certificate('junk'))\n"
            "  return table.concat(out, '|')\n"
            "end\n");
  struct fx f;
  fx_init(&f);
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", srv->port, 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, srv->port, "api");
  if (!o) fail_msg("no output: %s", fx_errors(&f));
  char md5[200], sha1[200], sha256[300], want[2000];
  openssl_field("-fingerprint -md5", md5, sizeof md5);
  openssl_field("-fingerprint -sha1", sha1, sizeof sha1);
  openssl_field("-fingerprint -sha256", sha256, sizeof sha256);
  /* "md5 Fingerprint=AB:CD:..." -> "abcd..." */
  char *fps[3] = {md5, sha1, sha256};
  for (int i = 0; i < 3; i++) {
    char *eq = strchr(fps[i], '=');
    assert_non_null(eq);
    char *w = fps[i];
    for (char *r = eq + 1; *r; r++)
      if (*r != ':') *w++ = (char)(*r >= 'A' && *r <= 'F' ? *r + 32 : *r);
    *w = 0;
  }
  snprintf(want, sizeof want,
           "true|tls.test|Trawl Test|XX|tls.test|rsa|2048|65537|DNS:tls.test,DNS:*.tls.test,IP Address:127.0.0.1|"
           "%s|%s|%s|864000|true|sha256WithRSAEncryption|true|true|true|secret|true|ping|nil|EOF|true|nil|"
           "not a PEM or DER certificate",
           md5, sha1, sha256);
  assert_string_equal(o, want);
  host_result_free(&h);
  fx_free(&f);
  tls_srv_stop(srv);
}

static void test_ssl_cert_script(void **state) {
  make_cert();
  struct tls_srv *srv = tls_srv_start(0, 1);
  struct fx f;
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  assert_int_equal(fx_engine(&f, "ssl-cert"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  host_add_port(&h, PROTO_TCP, srv->port, PORT_OPEN, "syn-ack", 64, "https");
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const struct script_result *r = fx_result(&h, srv->port, "ssl-cert");
  if (!r) fail_msg("no output: %s", fx_errors(&f));
  assert_non_null(strstr(r->output, "Subject: commonName=tls.test/organizationName=Trawl Test/countryName=XX\n"
                                    "Subject Alternative Name: DNS:tls.test, DNS:*.tls.test, IP Address:127.0.0.1\n"
                                    "Issuer: commonName=tls.test/organizationName=Trawl Test/countryName=XX\n"
                                    "Public Key type: rsa\nPublic Key bits: 2048\n"
                                    "Signature Algorithm: sha256WithRSAEncryption\nNot valid before: "));
  /* fingerprints as Nmap 7.93 prints them: lower-case hex, no separators */
  char sha1[200], want[300];
  openssl_field("-fingerprint -sha1", sha1, sizeof sha1);
  char *w = want + snprintf(want, sizeof want, "\nSHA-1: ");
  for (char *c = strchr(sha1, '=') + 1; *c; c++)
    if (*c != ':') *w++ = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
  *w = 0;
  assert_non_null(strstr(r->output, "\nMD5:   "));
  if (!strstr(r->output, want)) fail_msg("no '%s' in:\n%s", want + 1, r->output);
  /* selected by name: verbosity 1, no PEM text (that takes -v) */
  assert_null(strstr(r->output, "BEGIN CERTIFICATE"));
  /* extensions as OpenSSL prints them, in certificate order */
  const struct script_node *ext = NULL;
  for (size_t i = 0; i < r->tree.nchild; i++)
    if (!strcmp(r->tree.child[i].key, "extensions")) ext = &r->tree.child[i];
  assert_non_null(ext);
  bool have_san = false;
  for (size_t i = 0; i < ext->nchild; i++) {
    const struct script_node *x = &ext->child[i];
    assert_string_equal(x->child[0].key, "name");
    if (!strcmp(x->child[0].value, "X509v3 Subject Alternative Name")) {
      assert_string_equal(x->child[1].value, "DNS:tls.test, DNS:*.tls.test, IP Address:127.0.0.1");
      have_san = true;
    }
  }
  assert_true(have_san);
  /* structured: subject table first, with commonName first */
  assert_string_equal(r->tree.child[0].key, "subject");
  assert_string_equal(r->tree.child[0].child[0].key, "commonName");
  assert_string_equal(r->tree.child[0].child[0].value, "tls.test");
  bool have_pubkey = false, have_pem = false;
  for (size_t i = 0; i < r->tree.nchild; i++) {
    if (!strcmp(r->tree.child[i].key, "pubkey")) {
      have_pubkey = true;
      assert_string_equal(r->tree.child[i].child[1].value, "2048");
    }
    if (!strcmp(r->tree.child[i].key, "pem"))
      have_pem = !strncmp(r->tree.child[i].value, "-----BEGIN CERTIFICATE-----", 27);
  }
  assert_true(have_pubkey && have_pem);
  host_result_free(&h);
  fx_free(&f);
  tls_srv_stop(srv);
}

static void test_starttls_and_failure(void **state) {
  make_cert();
  struct tls_srv *st = tls_srv_start(1, 1);
  struct tls_srv *bad = tls_srv_start(2, 2);
  char args[100];
  snprintf(args, sizeof args, "st=%u,bad=%u", st->port, bad->port);
  fx_script("api", FX_HEAD("'t'") "hostrule = function() return true end\n"
            "action = function(host)\n"
            "  local a, out = trawl.args, {}\n"
            "  local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = tostring(t[i]) end end\n"
            "  local s = trawl.tcp()\n"
            "  add(s:connect(host, tonumber(a.st)))\n"
            "  add(s:receive_lines(1))\n"
            "  add(s:get_ssl_certificate())\n"
            "  add(s:send('STARTTLS\\r\\n'))\n"
            "  add(s:receive_lines(1))\n"
            "  add(s:reconnect_ssl())\n"
            "  add(s:get_ssl_certificate().subject.commonName)\n"
            "  add(s:reconnect_ssl())\n"
            "  add(s:send('upgraded'))\n"
            "  add(s:receive_bytes(15))\n"
            "  s:close()\n"
            "  s = trawl.tcp()\n"
            "  s:set_timeout(2000)\n"
            "  local ok, err = s:connect(host, tonumber(a.bad), 'ssl')\n"
            "  add(ok, err:match('^SSL handshake failed') ~= nil)\n"
            "  s:close()\n"
            "  s = trawl.tcp()\n"
            "  add(s:connect(host, tonumber(a.bad)))\n"
            "  add(s:receive_lines(1))\n"
            "  return table.concat(out, '|')\n"
            "end\n");
  struct fx f;
  fx_init(&f);
  f.cfg.script_args = args;
  assert_int_equal(fx_engine(&f, "api"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, 0, "api");
  if (!o) fail_msg("no output: %s", fx_errors(&f));
  assert_string_equal(o, "true|true|220 ready\r\n|nil|not an SSL connection|true|true|220 go ahead\r\n|true|tls.test|"
                         "nil|already an SSL connection|true|true|secret:upgraded|nil|true|true|true|HELLO I AM NOT TLS\r\n");
  host_result_free(&h);
  fx_free(&f);
  tls_srv_stop(st);
  tls_srv_stop(bad);
}

/* banner (scripts/banner.lua) tries TLS as Nmap's comm.tryssl does: first
 * on a port that looks like TLS, second on any other port (after the
 * plain try got nothing). */
static void test_banner_tls(void **state) {
  make_cert();
  struct tls_srv *a = tls_srv_start(3, 1); /* one TLS connection */
  struct tls_srv *b = tls_srv_start(3, 2); /* a plain one that times out, then TLS */
  struct fx f;
  fx_init(&f);
  f.cfg.scriptdir = TW_SRCDIR "/scripts";
  f.cfg.script_args = "banner.timeout=300ms";
  assert_int_equal(fx_engine(&f, "banner"), 0);
  struct host_result h;
  fx_host(&h, "127.0.0.1", 0);
  host_add_port(&h, PROTO_TCP, a->port, PORT_OPEN, "syn-ack", 64, "imaps");
  host_add_port(&h, PROTO_TCP, b->port, PORT_OPEN, "syn-ack", 64, NULL);
  struct host_result *hp = &h;
  fx_run(&f, &hp, 1);
  const char *o = fx_out(&h, a->port, "banner");
  if (!o) fail_msg("no output on the imaps port: %s", fx_errors(&f));
  assert_string_equal(o, "* OK TLS banner");
  o = fx_out(&h, b->port, "banner");
  if (!o) fail_msg("no output on the other port: %s", fx_errors(&f));
  assert_string_equal(o, "* OK TLS banner");
  host_result_free(&h);
  fx_free(&f);
  tls_srv_stop(a);
  tls_srv_stop(b);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cert_and_io, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_ssl_cert_script, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_starttls_and_failure, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_banner_tls, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
