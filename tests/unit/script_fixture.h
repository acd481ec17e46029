/* script_fixture.h: what the script engine tests (test_script*.c) share:
 * the engine (linked from trawl_tool; script-int.h for its internals that
 * the tests look at, such as the selected scripts), scripts written to a
 * temporary directory, host results to run them against, running a phase
 * to completion on a loop with a guard timer, and loopback services in
 * threads of their own (banner, silent, echo, HTTP, big talker) bound to
 * 127.0.0.1 / ::1 on ephemeral ports. Included once per test. */
#ifndef TRAWL_SCRIPT_FIXTURE_H
#define TRAWL_SCRIPT_FIXTURE_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <trawl/dispatch.h>
#include <trawl/loop.h>

#include "core/result.h"
#include "core/targets.h"
#include "output/output.h"
#include "script/script-int.h"

/* ---- scripts on disk ----------------------------------------------------- */

static char fx_dir[256];

static void fx_mkdir(void) {
  snprintf(fx_dir, sizeof fx_dir, "/tmp/trawl-script-test.XXXXXX");
  assert_non_null(mkdtemp(fx_dir));
}

static void fx_rmdir(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx_dir);
  if (system(cmd) != 0) print_message("cannot remove %s\n", fx_dir);
}

/* cmocka setup/teardown: a fresh scripts directory per test. */
__attribute__((unused)) static int fx_setup(void **state) {
  fx_mkdir();
  return 0;
}
__attribute__((unused)) static int fx_teardown(void **state) {
  fx_rmdir();
  return 0;
}

/* An .nse file in the fixture directory (not in trawl's catalog: that
 * lists *.lua; given by path), its path into path. */
__attribute__((unused)) static void nse_file(const char *name, const char *text, char *path, size_t len) {
  snprintf(path, len, "%s/%s.nse", fx_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

__attribute__((unused)) static void fx_script(const char *name, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.lua", fx_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A script with the usual header and the given rule/action text. */
#define FX_HEAD(cats) "description = 'test'\ncategories = {" cats "}\nlocal trawl = require 'trawl'\n"

/* ---- an engine on a loop ------------------------------------------------- */

struct fx {
  tw_loop *loop;
  struct script_engine *e;
  struct script_config cfg;
  char *errbuf;
  size_t errlen;
  FILE *errfp;
  char err[600];
  bool done;
  int ndone;
};

static void fx_guard_cb(tw_timer *t, int status) {
  if (status == 0) fail_msg("script run did not finish in time");
}

static void fx_init(struct fx *f) {
  memset(f, 0, sizeof *f);
  assert_int_equal(tw_loop_new(&f->loop), 0);
  f->errfp = open_memstream(&f->errbuf, &f->errlen);
  f->cfg.scriptdir = fx_dir;
  f->cfg.errfp = f->errfp;
  f->cfg.tracefp = f->errfp;
}

/* Create the engine for expression `scripts`; returns its status. */
static int fx_engine(struct fx *f, const char *scripts) {
  f->cfg.scripts = scripts;
  return script_engine_new_cfg(f->loop, &f->cfg, &f->e, f->err, sizeof f->err);
}

/* What the engine wrote to its error stream so far. */
static const char *fx_errors(struct fx *f) {
  fflush(f->errfp);
  return f->errbuf ? f->errbuf : "";
}

static void fx_done(void *arg) {
  struct fx *f = arg;
  f->done = true;
  f->ndone++;
}

static void fx_wait(struct fx *f, uint64_t guard_ns) {
  tw_timer *g;
  assert_int_equal(tw_timer_new(f->loop, &g, NULL), 0);
  tw_timer_start(g, fx_guard_cb, guard_ns, 0);
  tw_unref(g);
  while (!f->done) {
    int r = tw_loop_run(f->loop, TW_RUN_ONCE);
    assert_true(r >= 0);
    if (r == 0 && !f->done) fail_msg("loop ran out of work before the scripts finished");
  }
  tw_close(g, NULL);
  f->done = false;
}

static void fx_run(struct fx *f, struct host_result **hosts, size_t n) {
  assert_int_equal(script_run_group(f->e, hosts, n, NULL, fx_done, f), 0);
  fx_wait(f, 60ull * 1000000000ull);
}

static void fx_free(struct fx *f) {
  script_engine_free(f->e);
  f->e = NULL;
  assert_int_equal(tw_loop_close(f->loop), 0);
  fclose(f->errfp);
  free(f->errbuf);
}

/* The ids expression `expr` (NULL: none) selects from fx_dir, with or
 * without -sV (cfg.version_scripts): sorted, joined with spaces, ":q"
 * after the quiet ones (-sV's version scripts the expression did not
 * choose); "ERROR <message>" when the engine refuses. */
__attribute__((unused)) static const char *fx_selected(const char *expr, bool version, char *buf, size_t len) {
  struct fx f;
  fx_init(&f);
  f.cfg.version_scripts = version;
  int r = fx_engine(&f, expr);
  buf[0] = 0;
  if (r < 0) {
    snprintf(buf, len, "ERROR %.500s", f.err);
  } else {
    const char *ids[16];
    bool q[16];
    size_t n = f.e->nscripts;
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) ids[i] = f.e->scripts[i]->id, q[i] = f.e->scripts[i]->quiet;
    for (size_t i = 0; i < n; i++)
      for (size_t k = i + 1; k < n; k++)
        if (strcmp(ids[k], ids[i]) < 0) {
          const char *t = ids[i];
          bool tq = q[i];
          ids[i] = ids[k], q[i] = q[k];
          ids[k] = t, q[k] = tq;
        }
    for (size_t i = 0; i < n; i++) {
      strncat(buf, ids[i], len - strlen(buf) - 1);
      if (q[i]) strncat(buf, ":q", len - strlen(buf) - 1);
      if (i + 1 < n) strncat(buf, " ", len - strlen(buf) - 1);
    }
  }
  fx_free(&f);
  return buf;
}

/* A host with open TCP ports (0 ends the list). */
static void fx_host(struct host_result *h, const char *ip, ...) {
  host_result_init(h);
  if (strchr(ip, ':')) {
    h->addr.family = AF_INET6;
    inet_pton(AF_INET6, ip, &h->addr.u.v6);
  } else {
    h->addr.family = AF_INET;
    inet_pton(AF_INET, ip, &h->addr.u.v4);
  }
  host_set_reason(h, HOST_UP, "user-set", 0);
  va_list ap;
  va_start(ap, ip);
  int p;
  while ((p = va_arg(ap, int)) != 0) host_add_port(h, PROTO_TCP, (uint16_t)p, PORT_OPEN, "syn-ack", 64, NULL);
  va_end(ap);
}

/* The output of script `id` on port `port` (0: host script), or NULL. */
static const struct script_result *fx_result(const struct host_result *h, int port, const char *id) {
  const struct script_result *v = h->hostscripts;
  size_t n = h->nhostscripts;
  if (port) {
    v = NULL;
    n = 0;
    for (size_t i = 0; i < h->nports; i++)
      if (h->ports[i].portid == port) v = h->ports[i].scripts, n = h->ports[i].nscripts;
  }
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].id, id)) return &v[i];
  return NULL;
}

static const char *fx_out(const struct host_result *h, int port, const char *id) {
  const struct script_result *r = fx_result(h, port, id);
  return r ? r->output : NULL;
}

/* ---- loopback services ------------------------------------------------------ */

enum fx_kind {
  SRV_BANNER,  /* sends `text` and closes */
  SRV_SILENT,  /* accepts, reads, never sends; closes when the client does */
  SRV_ECHO,    /* echoes until EOF */
  SRV_HTTP,    /* one HTTP response with `text` as the body; 400 to non-HTTP */
  SRV_LINES,   /* sends `text` slowly, a byte every ms */
  SRV_CLOSE,   /* closes at once */
  SRV_BIG,     /* sends `size` bytes of 'x' then closes */
  SRV_ENDLESS  /* sends 'x' (no newline, ever) until the client goes away */
};

struct fx_srv {
  int fd;
  int family;
  uint16_t port;
  enum fx_kind kind;
  const char *text;
  size_t size;
  pthread_t th;
  int stop[2];
  unsigned accepted;
  int active; /* connection threads still running */
};

struct fx_conn {
  struct fx_srv *s;
  int fd;
};

static void fx_writeall(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void *fx_conn_main(void *arg) {
  struct fx_conn *c = arg;
  struct fx_srv *s = c->s;
  char buf[4096];
  switch (s->kind) {
  case SRV_BANNER:
    fx_writeall(c->fd, s->text, strlen(s->text));
    break;
  case SRV_SILENT:
    while (recv(c->fd, buf, sizeof buf, 0) > 0) {}
    break;
  case SRV_ECHO: {
    ssize_t n;
    while ((n = recv(c->fd, buf, sizeof buf, 0)) > 0) fx_writeall(c->fd, buf, (size_t)n);
    break;
  }
  case SRV_HTTP: {
    size_t got = 0;
    ssize_t n;
    bool bad = false;
    while (got < sizeof buf - 1 && (n = recv(c->fd, buf + got, sizeof buf - 1 - got, 0)) > 0) {
      got += (size_t)n;
      buf[got] = 0;
      /* not a request line (a TLS ClientHello, say): 400 at once, as a
       * web server does */
      if ((bad = buf[0] < 'A' || buf[0] > 'Z')) break;
      if (strstr(buf, "\r\n\r\n")) break;
    }
    if (bad) {
      const char *r400 = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
      fx_writeall(c->fd, r400, strlen(r400));
      goto done;
    }
    bool head = strncmp(buf, "HEAD ", 5) == 0;
    char hdr[512];
    snprintf(hdr, sizeof hdr,
             "HTTP/1.1 200 OK\r\nServer: fixture/1.0\r\nContent-Type: text/html\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             strlen(s->text));
    fx_writeall(c->fd, hdr, strlen(hdr));
    if (!head) fx_writeall(c->fd, s->text, strlen(s->text));
    break;
  }
  case SRV_LINES:
    for (const char *p = s->text; *p; p++) {
      fx_writeall(c->fd, p, 1);
      usleep(1000);
    }
    break;
  case SRV_CLOSE:
    break;
  case SRV_ENDLESS: {
    static const char xs[16384] = {[0 ... 16383] = 'x'};
    while (send(c->fd, xs, sizeof xs, MSG_NOSIGNAL) > 0) {}
    break;
  }
  case SRV_BIG: {
    char *big = malloc(65536);
    memset(big, 'x', 65536);
    size_t left = s->size;
    while (left) {
      size_t k = left < 65536 ? left : 65536;
      fx_writeall(c->fd, big, k);
      left -= k;
    }
    free(big);
    break;
  }
  }
done:
  shutdown(c->fd, SHUT_WR);
  /* drain so that the client sees FIN rather than RST */
  struct pollfd pf = {c->fd, POLLIN, 0};
  while (poll(&pf, 1, 2000) > 0 && recv(c->fd, buf, sizeof buf, 0) > 0) {}
  close(c->fd);
  free(c);
  __atomic_sub_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void *fx_srv_main(void *arg) {
  struct fx_srv *s = arg;
  for (;;) {
    struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents) break;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) continue;
    __atomic_add_fetch(&s->accepted, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
    struct fx_conn *cn = malloc(sizeof *cn);
    cn->s = s;
    cn->fd = c;
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    if (pthread_create(&t, &at, fx_conn_main, cn) != 0) {
      close(c);
      free(cn);
      __atomic_sub_fetch(&s->active, 1, __ATOMIC_SEQ_CST);
    }
    pthread_attr_destroy(&at);
  }
  return NULL;
}

__attribute__((unused)) static struct fx_srv *fx_srv_start(int family, enum fx_kind kind, const char *text) {
  struct fx_srv *s = calloc(1, sizeof *s);
  s->kind = kind;
  s->text = text;
  s->family = family;
  s->fd = socket(family, SOCK_STREAM, 0);
  assert_true(s->fd >= 0);
  int one = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    sl = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sl = sizeof *a;
  }
  assert_int_equal(bind(s->fd, (struct sockaddr *)&ss, sl), 0);
  assert_int_equal(listen(s->fd, 4096), 0);
  getsockname(s->fd, (struct sockaddr *)&ss, &sl);
  s->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
  assert_int_equal(pipe(s->stop), 0);
  assert_int_equal(pthread_create(&s->th, NULL, fx_srv_main, s), 0);
  return s;
}

__attribute__((unused)) static void fx_srv_stop(struct fx_srv *s) {
  if (write(s->stop[1], "x", 1) != 1) print_message("cannot stop the server\n");
  pthread_join(s->th, NULL);
  /* connection threads end once their clients are gone (at most the 2 s drain) */
  for (int i = 0; i < 400 && __atomic_load_n(&s->active, __ATOMIC_SEQ_CST) > 0; i++) usleep(10000);
  close(s->fd);
  close(s->stop[0]);
  close(s->stop[1]);
  free(s);
}

/* A port on 127.0.0.1 where nothing listens (bound, not listening). */
__attribute__((unused)) static int fx_closed_port(int *holder) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t sl = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &sl);
  *holder = fd;
  return ntohs(a.sin_port);
}

#endif
