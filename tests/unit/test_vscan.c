/* test_vscan.c: the version-scan engine (src/version/vscan.c) against
 * loopback servers run on the same loop: a greeter, a silent HTTP-like
 * server (the NULL probe's wait and a parallel GetRequest), a softmatch
 * trap (a speculative probe's hard match Nmap would never have sent must
 * not win), tcpwrapped, an endless stream (bounded buffer, a verdict
 * within the waits), a silent service, a refused port, a UDP service,
 * Exclude, and the global connection cap; the TLS tunnel against TLS
 * servers run by OpenSSL in a thread (HTTP inside, a stalled handshake,
 * garbage inside); the adaptive NULL wait against a silent HTTP server and
 * a late greeter. The database is written here with short waits. A guard
 * timer fails a test that would hang. */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <trawl/tcp.h>
#include <trawl/udp.h>

#include "version/probe-order.h"
#include "version/service-fp.h"
#include "version/vscan.h"
#include "version_fixture.h"

#define MS 1000000ull

static const char DB[] =
    "Exclude T:1\n"
    "Probe TCP NULL q||\n"
    "totalwaitms 300\n"
    "tcpwrappedms 200\n"
    "match ftp m|^220 FakeFTPd ([\\d.]+)\\r\\n| p/FakeFTPd/ v/$1/\n"
    "softmatch ftp m|^220 .*ftp|i\n"
    "Probe TCP GetRequest q|GET / HTTP/1.0\\r\\n\\r\\n|\n"
    "rarity 1\n"
    "totalwaitms 300\n"
    "match http m|^HTTP/1\\.0 200 OK\\r\\nServer: Toy/([\\d.]+)| p/Toy httpd/ v/$1/\n"
    "Probe TCP Help q|HELP\\r\\n|\n"
    "rarity 1\n"
    "totalwaitms 300\n"
    "match ftp m|^220 [^\\r\\n]*\\r\\n214 Toy ftp help| p/Toy ftpd/\n"
    /* an empty ClientHello: a TLS server answers with a fatal alert */
    "Probe TCP BadHello q|\\x16\\x03\\x01\\x00\\x04\\x01\\x00\\x00\\x00|\n"
    "rarity 1\n"
    "totalwaitms 300\n"
    "match ssl m|^\\x15\\x03[\\x00-\\x04]\\x00\\x02\\x02|\n"
    "Probe UDP Ping q|ping|\n"
    "rarity 1\n"
    "totalwaitms 300\n"
    "match toyudp m|^pong (\\d+)| v/$1/\n";

enum mode { GREET, HTTP, WRAP, SOFTFTP, STREAM, SILENT, CHATTY, TLSSTALL };

struct world {
  int cur, max, accepted;
  int live; /* late greeters' connection states not yet freed */
};

struct server {
  tw_tcp *l;
  enum mode mode;
  const char *banner; /* GREET: what it sends (NULL: FakeFTPd's) */
  struct world *w;
  struct sockaddr_storage addr;
};

static const char STREAM_CHUNK[1024] = {'x'};

static void conn_closed(void *h) {
  struct server *s = tw_data(h);
  s->w->cur--;
}

static void conn_end(tw_tcp *t) {
  if (!tw_is_closing(t)) tw_close(t, conn_closed);
}

static void stream_more(tw_tcp *t, int status) {
  if (status != 0 || tw_is_closing(t)) return;
  if (tw_tcp_write(t, STREAM_CHUNK, sizeof STREAM_CHUNK, stream_more) != 0) conn_end(t);
}

static void conn_read(tw_tcp *t, int status, const char *buf, size_t len) {
  struct server *s = tw_data(t);
  if (status != 0) {
    conn_end(t);
    return;
  }
  int get = len >= 14 && memcmp(buf, "GET / HTTP/1.0", 14) == 0;
  int help = len >= 4 && memcmp(buf, "HELP", 4) == 0;
  static const char http[] = "HTTP/1.0 200 OK\r\nServer: Toy/2.4\r\n\r\n";
  if (get && (s->mode == HTTP || s->mode == SOFTFTP)) {
    tw_tcp_write(t, http, sizeof http - 1, NULL);
    if (s->mode == HTTP) tw_tcp_shutdown(t, NULL);
  } else if (help && s->mode == SOFTFTP) {
    tw_tcp_write(t, "214 Toy ftp help\r\n", 18, NULL);
  } else if (s->mode == CHATTY) {
    tw_tcp_write(t, "?\r\n", 3, NULL);
  } else if (s->mode == TLSSTALL && len == 9 && memcmp(buf, "\x16\x03\x01\x00\x04\x01", 6) == 0) {
    /* the empty ClientHello gets a TLS server's alert; a real one, nothing */
    tw_tcp_write(t, "\x15\x03\x03\x00\x02\x02\x32", 7, NULL);
  }
}

static void on_accept(tw_tcp *l, int status) {
  struct server *s = tw_data(l);
  tw_tcp *c;
  while (status == 0 && tw_tcp_accept(l, &c) == 0) {
    tw_set_data(c, s);
    s->w->accepted++;
    if (++s->w->cur > s->w->max) s->w->max = s->w->cur;
    switch (s->mode) {
      case WRAP: conn_end(c); continue;
      case GREET:
        if (s->banner)
          tw_tcp_write(c, s->banner, strlen(s->banner), NULL);
        else
          tw_tcp_write(c, "220 FakeFTPd 1.2.3\r\n", 20, NULL);
        break;
      case SOFTFTP: tw_tcp_write(c, "220 some ftp server ready\r\n", 27, NULL); break;
      case STREAM: stream_more(c, 0); break;
      case CHATTY: tw_tcp_write(c, "hello, unknown service\r\n", 24, NULL); break;
      default: break;
    }
    if (!tw_is_closing(c)) tw_tcp_read_start(c, conn_read);
  }
}

static void server_start(tw_loop *loop, struct server *s, enum mode mode, const char *banner,
                         struct world *w) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  s->mode = mode;
  s->banner = banner;
  s->w = w;
  assert_int_equal(tw_tcp_new(loop, &s->l, s), 0);
  assert_int_equal(tw_tcp_listen(s->l, (struct sockaddr *)&a, 0, on_accept), 0);
  assert_int_equal(tw_tcp_sockname(s->l, &s->addr), 0);
}

/* A loopback port nothing listens on. */
static void closed_port(struct sockaddr_storage *ss) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &sl), 0);
  close(fd);
  memset(ss, 0, sizeof *ss);
  memcpy(ss, &a, sizeof a);
}

static void udp_recv(tw_udp *u, int status, const char *buf, size_t len,
                     const struct sockaddr *from) {
  if (status == 0 && len >= 4 && memcmp(buf, "ping", 4) == 0)
    tw_udp_send(u, "pong 42", 7, from, NULL);
}

/* ---- the engine's side ----------------------------------------------------------- */

#define NPORTS 16
struct outcome {
  int done;
  uint64_t at;
  struct vs_result r;
};
struct run {
  tw_loop *loop;
  struct outcome out[NPORTS];
  int ndone, traces;
  int open, max_open; /* the engine's connections, from its trace */
};

static void on_done(void *ud, void *item, const struct vs_result *r) {
  struct run *run = ud;
  struct outcome *o = item;
  assert_false(o->done);
  o->done = 1;
  o->at = tw_now(run->loop);
  o->r = *r;
  run->ndone++;
}

static void on_trace(void *ud, const char *line) {
  struct run *run = ud;
  assert_non_null(strstr(line, "Service scan 127.0.0.1:"));
  run->traces++;
  if (strstr(line, ": sending probe ") && ++run->open > run->max_open) run->max_open = run->open;
  if (strstr(line, ": probe ") && (strstr(line, " ended (") || strstr(line, " dropped ("))) run->open--;
}

static void guard_cb(tw_timer *t, int status) {
  if (status == 0) fail_msg("test did not finish in time");
}

static struct sp_db *load_db(void) {
  struct vf_warnings w = {.n = 0};
  struct sp_db *db = vf_parse(DB, sizeof DB - 1, &w);
  assert_int_equal(w.n, 0);
  return db;
}

/* Runs the engine over n addresses until every port is reported. */
static uint64_t scan(tw_loop *loop, const struct sp_db *db, struct vs_opts *o,
                     const struct sockaddr_storage *addrs, const enum scan_proto *protos, int n,
                     struct run *run) {
  struct vs *v;
  tw_timer *g;
  memset(run, 0, sizeof *run);
  run->loop = loop;
  o->trace = on_trace;
  o->trace_ud = run;
  assert_int_equal(tw_timer_new(loop, &g, NULL), 0);
  assert_int_equal(tw_timer_start(g, guard_cb, 20000 * MS, 0), 0);
  tw_unref(g);
  assert_int_equal(vs_new(&v, loop, db, o, on_done, run), 0);
  tw_loop_update_time(loop);
  uint64_t t0 = tw_now(loop);
  for (int i = 0; i < n; i++)
    assert_int_equal(vs_add(v, (const struct sockaddr *)&addrs[i], protos[i], &run->out[i]), 0);
  assert_int_equal(vs_pending(v), (size_t)n);
  while (run->ndone < n) assert_true(tw_loop_run(loop, TW_RUN_ONCE) >= 0);
  assert_int_equal(vs_pending(v), 0);
  vs_free(v);
  tw_close(g, NULL);
  for (int i = 0; i < n; i++) run->out[i].at -= t0;
  return tw_now(loop) - t0;
}

static void test_services(void **state) {
  struct sp_db *db = load_db();
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct world w = {0};
  struct server s[6];
  enum mode modes[6] = {GREET, HTTP, WRAP, SOFTFTP, STREAM, SILENT};
  struct sockaddr_storage addrs[10];
  enum scan_proto protos[10];
  for (int i = 0; i < 6; i++) {
    server_start(loop, &s[i], modes[i], NULL, &w);
    addrs[i] = s[i].addr;
    protos[i] = PROTO_TCP;
  }
  closed_port(&addrs[6]);
  protos[6] = PROTO_TCP;
  tw_udp *u;
  struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(tw_udp_new(loop, &u, AF_INET, NULL), 0);
  assert_int_equal(tw_udp_bind(u, (struct sockaddr *)&ua), 0);
  assert_int_equal(tw_udp_sockname(u, &addrs[7]), 0);
  assert_int_equal(tw_udp_recv_start(u, udp_recv), 0);
  protos[7] = PROTO_UDP;
  memcpy(&addrs[8], &addrs[0], sizeof addrs[0]);
  ((struct sockaddr_in *)&addrs[8])->sin_port = htons(1); /* Exclude T:1 */
  protos[8] = PROTO_TCP;

  struct vs_opts o = {.intensity = VP_INTENSITY_DEFAULT, .max_conns = 64, .per_port = 4};
  struct run run;
  uint64_t took = scan(loop, db, &o, addrs, protos, 9, &run);
  struct outcome *out = run.out;

  /* the greeter: a hard match on the NULL probe, at once */
  assert_int_equal(out[0].r.state, VS_HARD);
  assert_string_equal(out[0].r.match.service, "ftp");
  assert_string_equal(out[0].r.match.r.field[SP_VERSION], "1.2.3");
  assert_true(out[0].at < 300 * MS); /* before the NULL probe's wait ran out */
  /* silent until asked: GetRequest ran alongside the NULL probe, and its
   * answer was taken once the NULL probe's 300 ms were over */
  assert_int_equal(out[1].r.state, VS_HARD);
  assert_string_equal(out[1].r.match.service, "http");
  assert_string_equal(out[1].r.match.r.field[SP_PRODUCT], "Toy httpd");
  assert_string_equal(out[1].r.match.r.field[SP_VERSION], "2.4");
  assert_true(out[1].at >= 300 * MS);
  assert_true(out[1].r.probes_sent >= 2);
  /* closed at once: tcpwrapped */
  assert_int_equal(out[2].r.state, VS_TCPWRAPPED);
  /* the trap: GetRequest got an http answer, but after the NULL probe's
   * ftp softmatch Nmap never sends GetRequest; Help gives the answer */
  assert_int_equal(out[3].r.state, VS_HARD);
  assert_string_equal(out[3].r.match.service, "ftp");
  assert_string_equal(out[3].r.match.r.field[SP_PRODUCT], "Toy ftpd");
  /* an endless stream: every probe stops at its bound, no match */
  assert_int_equal(out[4].r.state, VS_NOMATCH);
  assert_true(out[4].r.nfp >= 1);
  for (unsigned i = 0; i < out[4].r.nfp; i++) {
    assert_int_equal(out[4].r.fp[i].len, VS_FP_BYTES);
    assert_true(out[4].r.fp[i].total >= VS_RESP_MAX);
  }
  assert_true(out[4].at < 900 * MS); /* within the sum of its waits */
  struct vfp_info fi = {"0.1.0", "x86_64-pc-linux-gnu", 7, 0, 0};
  char *fp = vfp_build(&out[4].r, 1234, PROTO_TCP, &fi);
  assert_non_null(fp);
  assert_non_null(strstr(fp, "SF-Port1234-TCP:V=0.1.0%I=7%"));
  assert_non_null(strstr(fp, "%r(NULL,"));
  free(fp);
  assert_null(vfp_build(&out[5].r, 1, PROTO_TCP, &fi));
  /* silent: every wait runs out, nothing matched */
  assert_int_equal(out[5].r.state, VS_NOMATCH);
  assert_int_equal(out[5].r.nfp, 0);
  assert_int_equal(out[5].r.probes_sent, 4);
  /* refused before any byte: Nmap calls that tcpwrapped too */
  assert_int_equal(out[6].r.state, VS_TCPWRAPPED);
  /* UDP: no NULL probe, the Ping probe answers */
  assert_int_equal(out[7].r.state, VS_HARD);
  assert_string_equal(out[7].r.match.service, "toyudp");
  assert_string_equal(out[7].r.match.r.field[SP_VERSION], "42");
  assert_int_equal(out[8].r.state, VS_EXCLUDED);
  assert_int_equal(out[8].r.probes_sent, 0);
  /* probes of a port ran in parallel */
  assert_true(w.max >= 2);
  (void)took;
  assert_true(run.traces > 9);
  assert_int_equal(run.open, 0);
  assert_true(run.max_open >= 4);
  assert_int_equal(tw_loop_close(loop), 0);
  sp_free(db);
}

/* One connection per port: the softmatch trap still ends (no slot is held
 * by a probe the softmatch dropped) with Nmap's answer. */
static void test_one_per_port(void **state) {
  struct sp_db *db = load_db();
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct world w = {0};
  struct server s;
  server_start(loop, &s, SOFTFTP, NULL, &w);
  enum scan_proto proto = PROTO_TCP;
  struct vs_opts o = {.intensity = VP_INTENSITY_DEFAULT, .max_conns = 8, .per_port = 1};
  struct run run;
  scan(loop, db, &o, &s.addr, &proto, 1, &run);
  assert_int_equal(run.out[0].r.state, VS_HARD);
  assert_string_equal(run.out[0].r.match.r.field[SP_PRODUCT], "Toy ftpd");
  assert_int_equal(run.max_open, 1);
  /* NULL then Help: GetRequest was never sent */
  assert_int_equal(run.out[0].r.probes_sent, 2);
  assert_int_equal(tw_loop_close(loop), 0);
  sp_free(db);
}

static void test_global_cap(void **state) {
  struct sp_db *db = load_db();
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct world w = {0};
  struct server s[4];
  struct sockaddr_storage addrs[4];
  enum scan_proto protos[4];
  for (int i = 0; i < 4; i++) {
    server_start(loop, &s[i], SILENT, NULL, &w);
    addrs[i] = s[i].addr;
    protos[i] = PROTO_TCP;
  }
  struct vs_opts o = {.intensity = VP_INTENSITY_DEFAULT, .max_conns = 2, .per_port = 4};
  struct run run;
  scan(loop, db, &o, addrs, protos, 4, &run);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(run.out[i].r.state, VS_NOMATCH);
    assert_int_equal(run.out[i].r.probes_sent, 4);
  }
  assert_int_equal(w.accepted, 16);
  assert_int_equal(run.max_open, 2);
  assert_int_equal(run.open, 0);
  assert_int_equal(tw_loop_close(loop), 0);
  sp_free(db);
}

/* A service that greets and answers everything but matches nothing, then
 * stays open: Nmap reads each probe to its totalwaitms; adaptive waits end
 * each reply after a short silence. Same answer, much sooner. */
static void test_adaptive_waits(void **state) {
  struct sp_db *db = load_db();
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct world w = {0};
  struct server s;
  server_start(loop, &s, CHATTY, NULL, &w);
  enum scan_proto proto = PROTO_TCP;
  struct run run;
  for (int adaptive = 0; adaptive < 2; adaptive++) {
    struct vs_opts o = {.intensity = VP_INTENSITY_DEFAULT, .max_conns = 8, .per_port = 4,
                        .adaptive_waits = adaptive};
    scan(loop, db, &o, &s.addr, &proto, 1, &run);
    assert_int_equal(run.out[0].r.state, VS_NOMATCH);
    assert_int_equal(run.out[0].r.nfp, 4);
    assert_memory_equal(run.out[0].r.fp[0].data, "hello, unknown service\r\n", 24);
    assert_string_equal(run.out[0].r.fp[1].probe, "GetRequest");
    if (adaptive)
      assert_true(run.out[0].at < 250 * MS);
    else
      assert_true(run.out[0].at >= 300 * MS);
  }
  assert_int_equal(tw_loop_close(loop), 0);
  sp_free(db);
}

/* Nmap's own database, when installed: greeting services are named at
 * once from the NULL probe, with Nmap's fields. */
static void test_real_db(void **state) {
  static const char path[] = "/usr/share/nmap/nmap-service-probes";
  if (access(path, R_OK) != 0) skip();
  struct sp_db *db;
  char err[512];
  assert_int_equal(sp_load(&db, path, NULL, err, sizeof err), 0);
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct world w = {0};
  static const char *banners[] = {"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
                                  "220 (vsFTPd 3.0.3)\r\n",
                                  "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n"};
  struct server s[3];
  struct sockaddr_storage addrs[3];
  enum scan_proto protos[3];
  for (int i = 0; i < 3; i++) {
    server_start(loop, &s[i], GREET, banners[i], &w);
    addrs[i] = s[i].addr;
    protos[i] = PROTO_TCP;
  }
  struct vs_opts o = {.intensity = VP_INTENSITY_DEFAULT, .max_conns = 16, .per_port = 4};
  struct run run;
  scan(loop, db, &o, addrs, protos, 3, &run);
  static const char *svc[] = {"ssh", "ftp", "smtp"};
  static const char *prod[] = {"OpenSSH", "vsftpd", "Postfix smtpd"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(run.out[i].r.state, VS_HARD);
    assert_string_equal(run.out[i].r.match.service, svc[i]);
    assert_string_equal(run.out[i].r.match.r.field[SP_PRODUCT], prod[i]);
    /* named from the greeting, long before the NULL probe's 6 s */
    assert_true(run.out[i].at < 3000 * MS);
  }
  assert_string_equal(run.out[0].r.match.r.field[SP_INFO], "protocol 2.0");
  assert_string_equal(run.out[1].r.match.r.field[SP_VERSION], "3.0.3");
  /* Nmap's line captures the space before the name (h/$1/ of
   * "^220([\s-]\S+) ESMTP Postfix") and trims only trailing space */
  assert_string_equal(run.out[2].r.match.r.field[SP_HOSTNAME], " mail.example.org");
  assert_int_equal(tw_loop_close(loop), 0);
  sp_free(db);
}

/* ---- TLS servers: OpenSSL in a thread, one thread per connection ------------------ */

enum tls_mode { TLS_HTTP, TLS_GARBAGE };
#define TLS_CONNS 64

struct tls_server {
  SSL_CTX *ctx;
  enum tls_mode mode;
  int lfd, stop[2];
  struct sockaddr_storage addr;
  pthread_t acceptor;
  pthread_mutex_t mu;
  int nconn, fds[TLS_CONNS], handshakes;
  pthread_t th[TLS_CONNS];
};

struct tls_conn_arg {
  struct tls_server *s;
  int fd;
};

/* A self-signed P-256 certificate made here. */
static SSL_CTX *tls_server_ctx(void) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *x = X509_new();
  assert_non_null(k);
  assert_non_null(x);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, k);
  X509_NAME *n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"toy.test", -1, -1, 0);
  X509_set_issuer_name(x, n);
  assert_true(X509_sign(x, k, EVP_sha256()) > 0);
  SSL_CTX *c = SSL_CTX_new(TLS_server_method());
  assert_non_null(c);
  assert_int_equal(SSL_CTX_use_certificate(c, x), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey(c, k), 1);
  X509_free(x);
  EVP_PKEY_free(k);
  return c;
}

static void *tls_conn_main(void *arg) {
  struct tls_conn_arg *a = arg;
  struct tls_server *s = a->s;
  int fd = a->fd;
  free(a);
  SSL *ssl = SSL_new(s->ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    pthread_mutex_lock(&s->mu);
    s->handshakes++;
    pthread_mutex_unlock(&s->mu);
    char buf[512];
    int n;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) {
      static const char http[] = "HTTP/1.0 200 OK\r\nServer: Toy/2.4\r\n\r\n";
      if (s->mode == TLS_GARBAGE) {
        SSL_write(ssl, "\x01\x02 garbage \xff\r\n", 14);
      } else if (n >= 14 && memcmp(buf, "GET / HTTP/1.0", 14) == 0) {
        SSL_write(ssl, http, sizeof http - 1);
        SSL_shutdown(ssl);
        break;
      }
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  return NULL;
}

static void *tls_acceptor(void *arg) {
  struct tls_server *s = arg;
  for (;;) {
    struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0 || p[1].revents) break;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) continue;
    pthread_mutex_lock(&s->mu);
    if (s->nconn == TLS_CONNS) {
      pthread_mutex_unlock(&s->mu);
      close(fd);
      continue;
    }
    struct tls_conn_arg *a = malloc(sizeof *a);
    a->s = s;
    a->fd = fd;
    s->fds[s->nconn] = fd;
    pthread_create(&s->th[s->nconn++], NULL, tls_conn_main, a);
    pthread_mutex_unlock(&s->mu);
  }
  return NULL;
}

static void tls_server_start(struct tls_server *s, enum tls_mode mode) {
  memset(s, 0, sizeof *s);
  s->mode = mode;
  s->ctx = tls_server_ctx();
  pthread_mutex_init(&s->mu, NULL);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof a;
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s->lfd >= 0);
  assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(s->lfd, 64), 0);
  assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &sl), 0);
  memcpy(&s->addr, &a, sizeof a);
  assert_int_equal(pipe(s->stop), 0);
  assert_int_equal(pthread_create(&s->acceptor, NULL, tls_acceptor, s), 0);
}

/* Stops accepting, unblocks and joins every connection's thread. */
static void tls_server_stop(struct tls_server *s) {
  assert_int_equal(write(s->stop[1], "x", 1), 1);
  pthread_join(s->acceptor, NULL);
  for (int i = 0; i < s->nconn; i++) shutdown(s->fds[i], SHUT_RDWR);
  for (int i = 0; i < s->nconn; i++) {
    pthread_join(s->th[i], NULL);
    close(s->fds[i]);
  }
  close(s->lfd);
  close(s->stop[0]);
  close(s->stop[1]);
  SSL_CTX_free(s->ctx);
  pthread_mutex_destroy(&s->mu);
}

/* The tunnel: a TLS server speaking HTTP is "ssl" in the clear (the
 * BadHello alert) and then http with the fixture's fields inside TLS; one
 * that stalls real handshakes stays "ssl" within the probe's wait; one
 * that answers garbage inside TLS is ssl with no match and a fingerprint
 * of the decrypted garbage. */
static void test_tls_tunnel(void **state) {
  struct sp_db *db = load_db();
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct tls_server http, garbage;
  tls_server_start(&http, TLS_HTTP);
  tls_server_start(&garbage, TLS_GARBAGE);
  struct world w = {0};
  struct server stall;
  server_start(loop, &stall, TLSSTALL, NULL, &w);
  struct sockaddr_storage addrs[3] = {http.addr, stall.addr, garbage.addr};
  enum scan_proto protos[3] = {PROTO_TCP, PROTO_TCP, PROTO_TCP};
  for (int adaptive = 0; adaptive < 2; adaptive++) {
    struct vs_opts o = {.intensity = VP_INTENSITY_DEFAULT, .max_conns = 64, .per_port = 4,
                        .adaptive_waits = adaptive};
    struct run run;
    scan(loop, db, &o, addrs, protos, 3, &run);
    struct outcome *out = run.out;
    assert_int_equal(out[0].r.state, VS_HARD);
    assert_int_equal(out[0].r.ssl, 1);
    assert_int_equal(out[0].r.tls_needed, 0);
    assert_string_equal(out[0].r.match.service, "http");
    assert_string_equal(out[0].r.match.r.field[SP_PRODUCT], "Toy httpd");
    assert_string_equal(out[0].r.match.r.field[SP_VERSION], "2.4");
    /* the stalled handshake: still ssl, decided within the waits */
    assert_int_equal(out[1].r.state, VS_HARD);
    assert_string_equal(out[1].r.match.service, "ssl");
    assert_int_equal(out[1].r.ssl, 0);
    assert_int_equal(out[1].r.tls_needed, 1);
    assert_true(out[1].at < 1500 * MS);
    /* garbage inside TLS */
    assert_int_equal(out[2].r.state, VS_NOMATCH);
    assert_int_equal(out[2].r.ssl, 1);
    assert_true(out[2].r.nfp >= 1);
    assert_memory_equal(out[2].r.fp[0].data, "\x01\x02 garbage", 10);
  }
  pthread_mutex_lock(&http.mu);
  assert_true(http.handshakes >= 2); /* NULL and GetRequest inside TLS, twice */
  pthread_mutex_unlock(&http.mu);
  tls_server_stop(&http);
  tls_server_stop(&garbage);
  assert_int_equal(tw_loop_close(loop), 0);
  sp_free(db);
}

/* ---- the adaptive NULL wait -------------------------------------------------------- */

/* Nmap-like waits: a NULL probe that would cost 3 s on a silent service. */
static const char DB_LONG[] =
    "Probe TCP NULL q||\n"
    "totalwaitms 3000\n"
    "tcpwrappedms 200\n"
    "match ftp m|^220 FakeFTPd ([\\d.]+)\\r\\n$| p/FakeFTPd/ v/$1/\n"
    "Probe TCP GetRequest q|GET / HTTP/1.0\\r\\n\\r\\n|\n"
    "rarity 1\n"
    "totalwaitms 3000\n"
    "match http m|^HTTP/1\\.0 200 OK\\r\\nServer: Toy/([\\d.]+)| p/Toy httpd/ v/$1/\n";

/* A late greeter: its banner 1.5 s after the connect, nothing before it;
 * what it was sent meanwhile is answered with "500 what?" in the same
 * write as the banner, and later requests too. So only the NULL probe's
 * reply (the banner alone) matches DB_LONG's anchored line: another
 * probe's (NULL's lines are every TCP probe's fallback) does not. */
struct late {
  struct world *w;
  tw_tcp *c;
  tw_timer *t;
  int greeted, asked, refs;
};

static void late_unref(struct late *l) {
  if (--l->refs == 0) {
    l->w->live--;
    free(l);
  }
}
static void late_conn_closed(void *h) {
  struct late *l = tw_data(h);
  l->w->cur--;
  l->c = NULL;
  late_unref(l);
}
static void late_timer_closed(void *h) { late_unref(tw_data(h)); }

static void late_read(tw_tcp *t, int status, const char *buf, size_t len) {
  struct late *l = tw_data(t);
  (void)buf;
  if (status != 0) {
    if (!tw_is_closing(t)) tw_close(t, late_conn_closed);
    return;
  }
  if (l->greeted && len > 0) tw_tcp_write(t, "500 what?\r\n", 11, NULL);
  if (!l->greeted && len > 0) l->asked = 1;
}

static void late_greet(tw_timer *t, int status) {
  struct late *l = tw_data(t);
  if (status == 0 && l->c && !tw_is_closing(l->c)) {
    static const char both[] = "220 FakeFTPd 9.9\r\n500 what?\r\n";
    tw_tcp_write(l->c, both, l->asked ? sizeof both - 1 : 18, NULL);
    l->greeted = 1;
  }
  tw_close(t, late_timer_closed);
}

static void late_accept(tw_tcp *lt, int status) {
  struct world *w = tw_data(lt);
  tw_tcp *c;
  while (status == 0 && tw_tcp_accept(lt, &c) == 0) {
    struct late *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->w = w;
    l->c = c;
    l->refs = 2;
    w->live++;
    w->accepted++;
    w->cur++;
    tw_set_data(c, l);
    assert_int_equal(tw_timer_new(tw_handle_loop(lt), &l->t, l), 0);
    assert_int_equal(tw_timer_start(l->t, late_greet, 1500 * MS, 0), 0);
    tw_tcp_read_start(c, late_read);
  }
}

/* Silent HTTP: answered well under 1 s with adaptive waits (GetRequest's
 * quick reply ends the NULL probe's wait), after the NULL probe's 3 s
 * without. The late greeter is named from its banner either way: its
 * answer to GetRequest came only after its banner, so the NULL probe was
 * not cut before the banner. */
static void test_null_wait(void **state) {
  struct vf_warnings wr = {.n = 0};
  struct sp_db *db = vf_parse(DB_LONG, sizeof DB_LONG - 1, &wr);
  assert_int_equal(wr.n, 0);
  tw_loop *loop;
  assert_int_equal(tw_loop_new(&loop), 0);
  struct world w = {0}, lw = {0};
  struct server http;
  server_start(loop, &http, HTTP, NULL, &w);
  tw_tcp *lt;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(tw_tcp_new(loop, &lt, &lw), 0);
  assert_int_equal(tw_tcp_listen(lt, (struct sockaddr *)&a, 0, late_accept), 0);
  struct sockaddr_storage addrs[2];
  addrs[0] = http.addr;
  assert_int_equal(tw_tcp_sockname(lt, &addrs[1]), 0);
  enum scan_proto protos[2] = {PROTO_TCP, PROTO_TCP};
  for (int adaptive = 0; adaptive < 2; adaptive++) {
    struct vs_opts o = {.intensity = VP_INTENSITY_DEFAULT, .max_conns = 16, .per_port = 4,
                        .adaptive_waits = adaptive};
    struct run run;
    scan(loop, db, &o, addrs, protos, 2, &run);
    assert_int_equal(run.out[0].r.state, VS_HARD);
    assert_string_equal(run.out[0].r.match.service, "http");
    assert_string_equal(run.out[0].r.match.r.field[SP_VERSION], "2.4");
    if (adaptive)
      assert_true(run.out[0].at < 800 * MS);
    else
      assert_true(run.out[0].at >= 3000 * MS);
    assert_int_equal(run.out[1].r.state, VS_HARD);
    assert_string_equal(run.out[1].r.match.service, "ftp");
    assert_string_equal(run.out[1].r.match.r.field[SP_VERSION], "9.9");
    assert_true(run.out[1].at >= 1500 * MS);
  }
  /* the late greeter's connections end (the engine closed its side) and
   * their banner timers fire */
  while (lw.live > 0) assert_true(tw_loop_run(loop, TW_RUN_ONCE) >= 0);
  assert_int_equal(lw.cur, 0);
  assert_int_equal(tw_loop_close(loop), 0);
  sp_free(db);
}

int main(void) {
  /* the test's TLS servers write with SSL_write on plain fds; a client
   * (the engine) that closed first must not kill the test with SIGPIPE */
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_services),
      cmocka_unit_test(test_one_per_port),
      cmocka_unit_test(test_global_cap),
      cmocka_unit_test(test_adaptive_waits),
      cmocka_unit_test(test_real_db),
      cmocka_unit_test(test_tls_tunnel),
      cmocka_unit_test(test_null_wait),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
