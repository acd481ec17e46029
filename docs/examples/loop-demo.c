/* loop-demo.c: one libtrawl loop doing four unrelated things at once, and
 * saying what happened when (milliseconds since start):
 *
 *   timers  10,000 timers due at random times within 2 s, summarised for
 *           every 100 ms (how many fired, how late the latest one was:
 *           on a busy machine that includes waiting for a CPU)
 *   dns     a tw_resolver lookup of echo.demo.test (and of a name that does
 *           not exist) against a tiny DNS responder this program serves
 *           itself, on 127.0.0.1 with tw_udp: nothing leaves the machine
 *   tcp     an echo server and three clients on the address DNS returned,
 *           each client sending a line every 250 ms
 *   fs      stat, open, read and close of a file through tw_fs, on the
 *           loop's file backend (io_uring or the thread pool)
 *
 * Build: cc loop-demo.c $(pkg-config --cflags --libs trawl) -o loop-demo
 * Run:   ./loop-demo [FILE]      (FILE defaults to /etc/os-release) */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <trawl/trawl.h>

#define MS 1000000ull
#define NTIMERS 10000
#define SPAN_MS 2000   /* the timers are due within this */
#define NCLIENTS 3
#define LINES 4        /* lines each client sends */

static tw_loop *loop;
static uint64_t t0;
static int parts_left = 4; /* timers, dns, tcp, fs */
static void part_done(const char *what);

/* Print one event, stamped with the time since start. */
#define say(what, ...)                                                   \
  printf("[%7.1f ms] %-6s " what "\n", (double)(tw_hrtime() - t0) / 1e6, \
         __VA_ARGS__)

static void check(int err, const char *what) {
  if (err < 0) {
    fprintf(stderr, "loop-demo: %s: %s\n", what, tw_strerror(err));
    exit(1);
  }
}

/* ---- timers ---------------------------------------------------------------- */

static int fired_in[SPAN_MS / 100 + 1]; /* per 100 ms of due time */
static uint64_t late_max[SPAN_MS / 100 + 1];
static int fired_total;
static tw_timer *reporter;
static int bucket_shown;

static void on_timer(tw_timer *t, int status) {
  uint64_t due = (uint64_t)(uintptr_t)tw_data(t); /* ms after start */
  int b = (int)(due / 100);
  uint64_t now = tw_now(loop) - t0;
  uint64_t late = now > due * MS ? now - due * MS : 0;
  fired_in[b]++;
  if (late > late_max[b]) late_max[b] = late;
  fired_total++;
  tw_close(t, NULL); /* one-shot: done with it */
}

/* Every 100 ms: how the timers due in the last 100 ms went. */
static void on_report(tw_timer *t, int status) {
  int b = bucket_shown++;
  say("%5d timers due in %4d-%4d ms fired, latest %.2f ms late (%d/%d)", "timers",
      fired_in[b], b * 100, b * 100 + 100, (double)late_max[b] / 1e6, fired_total,
      NTIMERS);
  if (fired_total == NTIMERS) {
    tw_close(t, NULL);
    part_done("timers");
  }
}

static void start_timers(void) {
  uint64_t seed = 42;
  for (int i = 0; i < NTIMERS; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t due = (seed >> 33) % SPAN_MS; /* ms */
    tw_timer *t;
    check(tw_timer_new(loop, &t, (void *)(uintptr_t)due), "timer");
    check(tw_timer_start(t, on_timer, due * MS, 0), "timer");
  }
  check(tw_timer_new(loop, &reporter, NULL), "timer");
  /* A hair after each boundary, so timers due just before it have run. */
  check(tw_timer_start(reporter, on_report, 100 * MS + MS / 2, 100 * MS), "timer");
  say("%d timers started, due at random within %d ms", "timers", NTIMERS, SPAN_MS);
}

/* ---- a tiny DNS responder on 127.0.0.1 (tw_udp) ------------------------- */

static tw_udp *dns_server;

/* Answer an A question for echo.demo.test with 127.0.0.1, NXDOMAIN for
 * anything else. Just enough DNS for the demo; malformed queries are
 * dropped. */
static void on_dns_query(tw_udp *u, int status, const char *buf, size_t len,
                         const struct sockaddr *from) {
  if (status < 0 || len < 12 || len > 512) return;
  size_t i = 12; /* the question name: labels up to a zero byte */
  char name[256] = "";
  while (i < len && buf[i] != 0) {
    size_t l = (unsigned char)buf[i];
    if (l > 63 || i + 1 + l >= len || strlen(name) + l + 2 > sizeof name) return;
    strncat(name, buf + i + 1, l);
    strcat(name, ".");
    i += 1 + l;
  }
  if (i + 5 > len) return;
  size_t qend = i + 5; /* zero byte, QTYPE, QCLASS */
  int qtype = ((unsigned char)buf[i + 1] << 8) | (unsigned char)buf[i + 2];
  int known = strcasecmp(name, "echo.demo.test.") == 0;

  char r[512 + 16];
  memcpy(r, buf, qend);                     /* id, flags, counts, question */
  r[2] = (char)(0x84 | (buf[2] & 0x01));    /* QR, AA, copy RD */
  r[3] = known ? 0 : 3;                     /* NOERROR or NXDOMAIN */
  r[4] = 0, r[5] = 1;                       /* one question */
  r[6] = 0, r[7] = (known && qtype == 1);   /* answers */
  memset(r + 8, 0, 4);                      /* no authority, no additional */
  size_t n = qend;
  if (known && qtype == 1) {
    static const unsigned char a[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
                                      127, 0, 0, 1};
    memcpy(r + n, a, sizeof a);
    n += sizeof a;
  }
  say("query %s type %d -> %s", "dns", name, qtype, !known ? "NXDOMAIN"
                                                   : qtype == 1 ? "127.0.0.1" : "no data");
  tw_udp_send(u, r, n, from, NULL);
}

/* ---- TCP echo ----------------------------------------------------------------- */

static tw_tcp *echo_server;
static int clients_done;

typedef struct client {
  int id, sent, echoed;
  tw_tcp *t;
  tw_timer *tick;
  char line[64];
} client;
static client clients[NCLIENTS];

static void server_got_line(tw_tcp *t, int status, const char *buf, size_t len) {
  if (status < 0) { /* TW_EOF: the client is done, and so are we */
    tw_close(t, NULL);
    return;
  }
  tw_tcp_write(t, buf, len, NULL); /* sent at once, or copied */
  check(tw_tcp_read_until(t, "\n", 1, 256, 0, server_got_line), "read");
}

static void on_accept(tw_tcp *server, int status) {
  tw_tcp *c;
  while (tw_tcp_accept(server, &c) == 0)
    check(tw_tcp_read_until(c, "\n", 1, 256, 0, server_got_line), "read");
}

static void client_got_echo(tw_tcp *t, int status, const char *buf, size_t len) {
  client *c = tw_data(t);
  if (status == TW_EOF) {
    say("client %d: server closed, done", "tcp", c->id);
    tw_close(t, NULL);
    if (++clients_done == NCLIENTS) part_done("tcp");
    return;
  }
  check(status, "echo read");
  say("client %d got its echo: %.*s", "tcp", c->id, (int)len - 1, buf);
  c->echoed++;
  if (c->echoed < c->sent) { /* another line is on its way back */
    check(tw_tcp_read_until(t, "\n", 1, 256, 0, client_got_echo), "read");
  } else if (c->echoed == LINES) {
    tw_close(c->tick, NULL);
    tw_tcp_shutdown(t, NULL); /* half-close, then wait for the server's EOF */
    check(tw_tcp_read_some(t, 256, 0, client_got_echo), "read");
  }
}

/* Every 250 ms: one more line (one read at a time is pending per handle). */
static void client_send(tw_timer *tm, int status) {
  client *c = tw_data(tm);
  int n = snprintf(c->line, sizeof c->line, "line %d from client %d\n", ++c->sent, c->id);
  check(tw_tcp_write(c->t, c->line, (size_t)n, NULL), "write");
  if (c->sent == c->echoed + 1)
    check(tw_tcp_read_until(c->t, "\n", 1, 256, 0, client_got_echo), "read");
  if (c->sent == LINES) tw_timer_stop(tm);
}

static void on_connect(tw_tcp *t, int status) {
  client *c = tw_data(t);
  check(status, "connect");
  say("client %d connected", "tcp", c->id);
  check(tw_timer_new(loop, &c->tick, c), "timer");
  check(tw_timer_start(c->tick, client_send, 0, 250 * MS), "timer");
}

static void start_echo(const struct sockaddr_storage *addr) {
  struct sockaddr_in sin = *(const struct sockaddr_in *)addr;
  sin.sin_port = 0;
  check(tw_tcp_new(loop, &echo_server, NULL), "tcp");
  check(tw_tcp_listen(echo_server, (struct sockaddr *)&sin, 0, on_accept), "listen");
  struct sockaddr_storage ss;
  check(tw_tcp_sockname(echo_server, &ss), "sockname");
  say("echo server listening on 127.0.0.1:%d", "tcp",
      ntohs(((struct sockaddr_in *)&ss)->sin_port));
  for (int i = 0; i < NCLIENTS; i++) {
    client *c = &clients[i];
    c->id = i + 1;
    check(tw_tcp_new(loop, &c->t, c), "tcp");
    check(tw_tcp_connect(c->t, (struct sockaddr *)&ss, 2000 * MS, on_connect), "connect");
  }
}

/* ---- DNS lookups --------------------------------------------------------------- */

static tw_resolver *resolver;
static int lookups_left = 2;

static void lookup_done(void) {
  if (--lookups_left == 0) part_done("dns");
}

static void on_echo_addr(tw_req *req, int status, const struct sockaddr_storage *addrs,
                         size_t n, void *data) {
  check(status, "resolve echo.demo.test");
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &((const struct sockaddr_in *)&addrs[0])->sin_addr, ip, sizeof ip);
  say("echo.demo.test is %s: starting the echo there", "dns", ip);
  start_echo(&addrs[0]);
  lookup_done();
}

static void on_missing(tw_req *req, int status, const struct sockaddr_storage *addrs,
                       size_t n, void *data) {
  say("nosuch.demo.test: %s (%s)", "dns", tw_errname(status), tw_strerror(status));
  lookup_done();
}

static void start_dns(void) {
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  check(tw_udp_new(loop, &dns_server, AF_INET, NULL), "udp");
  check(tw_udp_bind(dns_server, (struct sockaddr *)&sin), "bind");
  check(tw_udp_recv_start(dns_server, on_dns_query), "recv");
  struct sockaddr_storage ss;
  check(tw_udp_sockname(dns_server, &ss), "sockname");
  char servers[32];
  snprintf(servers, sizeof servers, "127.0.0.1:%d", ntohs(((struct sockaddr_in *)&ss)->sin_port));
  say("DNS responder on %s (tw_udp, same loop)", "dns", servers);

  tw_resolver_opts o = {.servers = servers, .timeout_ns = 1000 * MS, .tries = 2,
                        .no_search = 1};
  check(tw_resolver_new(loop, &resolver, &o, NULL), "resolver");
  check(tw_resolve(resolver, NULL, "echo.demo.test", AF_INET, on_echo_addr, NULL), "resolve");
  check(tw_resolve(resolver, NULL, "nosuch.demo.test", AF_INET, on_missing, NULL), "resolve");
}

/* ---- a file through tw_fs ----------------------------------------------------- */

static const char *file_path;
static struct stat file_st;
static char file_buf[4096];
static int file_fd;

static void on_file_closed(tw_req *req, int result, void *data) {
  say("close -> %d", "fs", result);
  part_done("fs");
}

static void on_file_read(tw_req *req, int result, void *data) {
  check(result, "read");
  size_t line = strcspn(file_buf, "\n");
  say("read %d bytes (at most 4 KiB); first line: %.*s", "fs", result, (int)(line > 60 ? 60 : line),
      file_buf);
  check(tw_fs_close(loop, NULL, file_fd, on_file_closed, NULL), "close");
}

static void on_file_open(tw_req *req, int result, void *data) {
  check(result, "open");
  file_fd = result;
  say("open -> fd %d", "fs", result);
  check(tw_fs_read(loop, NULL, file_fd, file_buf, sizeof file_buf - 1, 0, on_file_read,
                   NULL), "read");
}

static void on_file_stat(tw_req *req, int result, void *data) {
  check(result, "stat");
  say("stat %s: %lld bytes", "fs", file_path, (long long)file_st.st_size);
  check(tw_fs_open(loop, NULL, file_path, O_RDONLY | O_CLOEXEC, 0, on_file_open, NULL),
        "open");
}

static void start_file(tw_timer *t, int status) {
  tw_close(t, NULL);
  say("reading %s via %s", "fs", file_path, tw_fs_backend(loop));
  check(tw_fs_stat(loop, NULL, file_path, &file_st, on_file_stat, NULL), "stat");
}

/* ---- putting it together ----------------------------------------------------- */

static void part_done(const char *what) {
  say("%s: finished", "demo", what);
  if (--parts_left) return;
  /* Everything is done: close what still waits, and the loop runs dry. */
  tw_close(echo_server, NULL);
  tw_close(dns_server, NULL);
  tw_close(resolver, NULL);
}

int main(int argc, char **argv) {
  file_path = argc > 1 ? argv[1] : "/etc/os-release";
  setvbuf(stdout, NULL, _IOLBF, 0); /* show each event as it happens */
  check(tw_loop_new(&loop), "loop");
  t0 = tw_now(loop); /* the loop's clock: timers count from here */
  start_timers();
  start_dns();
  tw_timer *later; /* the file read starts a little later, mid-flight */
  check(tw_timer_new(loop, &later, NULL), "timer");
  check(tw_timer_start(later, start_file, 420 * MS, 0), "timer");
  check(tw_loop_run(loop, TW_RUN_DEFAULT), "run");
  say("loop ran dry after %llu iterations", "demo",
      (unsigned long long)tw_loop_iterations(loop));
  tw_loop_close(loop);
  return parts_left == 0 ? 0 : 1;
}
