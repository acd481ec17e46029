/* helper_dns.c: the unit tests' own DNS server (see helper_dns.h).
 *
 * Names it knows:
 *   a.test          A 198.18.0.1, AAAA 2001:db8::1 (and PTR for both back)
 *   multi.test      A 198.18.0.2, A 198.18.0.3
 *   v4only.test     A 198.18.0.4 (AAAA: no data)
 *   v6only.test     AAAA 2001:db8::6 (A: no data)
 *   delay.test      A 198.18.0.9, answered only after the configured delay
 *   slow.test       never answered, nor are the PTR names of 198.18.0.250
 *                   and 2001:db8::250
 *   trunc.test      answered with a packet cut short inside the header
 *   badid.test      answered with the wrong query id
 *   garbage.test    answered with an answer record cut short
 *   servfail.test   answered SERVFAIL
 *   tc.test         A 198.18.0.10, but over UDP only a truncated (TC) reply:
 *                   the full answer comes over TCP, on the same port
 * Any other name: NXDOMAIN. */
#define _GNU_SOURCE /* accept4 */
#include "helper_dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { T_A = 1, T_PTR = 12, T_AAAA = 28 };

typedef struct {
  const char *name; /* NULL for the PTR rows: computed from addr */
  int type;
  const char *data; /* address (A, AAAA) or, for PTR, the address looked up */
  const char *target;
} rr;

static const rr table[] = {
    {"a.test", T_A, "198.18.0.1", NULL},
    {"a.test", T_AAAA, "2001:db8::1", NULL},
    {"multi.test", T_A, "198.18.0.2", NULL},
    {"multi.test", T_A, "198.18.0.3", NULL},
    {"v4only.test", T_A, "198.18.0.4", NULL},
    {"v6only.test", T_AAAA, "2001:db8::6", NULL},
    {"delay.test", T_A, "198.18.0.9", NULL},
    {"tc.test", T_A, "198.18.0.10", NULL},
    {NULL, T_PTR, "198.18.0.1", "a.test"},
    {NULL, T_PTR, "2001:db8::1", "a.test"},
};
#define NROWS (sizeof table / sizeof table[0])

#define MAXDELAYED 64
typedef struct {
  uint64_t due;
  struct sockaddr_storage to;
  socklen_t tolen;
  size_t len;
  unsigned char pkt[512];
} delayed;

#define MAXNAMES 32
#define MAXCONNS 8
typedef struct {
  int fd; /* -1: free */
  size_t have;
  unsigned char buf[2 + 1500];
} tcpconn;

struct test_dns {
  int fd;
  int lfd; /* TCP listener */
  tcpconn conns[MAXCONNS];
  atomic_uint tcp_queries;
  int stop[2];
  pthread_t thread;
  char servers[64];
  _Atomic uint64_t delay_ns;
  atomic_uint queries;
  pthread_mutex_t mu; /* guards names/counts */
  char names[MAXNAMES][256];
  unsigned counts[MAXNAMES];
  unsigned nnames;
  char ptrname[NROWS][128];
  char slowptr[2][128];
  delayed later[MAXDELAYED];
  unsigned nlater;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ptr_name(const char *addr, char *out, size_t cap) {
  unsigned char b[16];
  if (inet_pton(AF_INET, addr, b) == 1) {
    snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    return;
  }
  inet_pton(AF_INET6, addr, b);
  size_t o = 0;
  for (int i = 15; i >= 0; i--)
    o += (size_t)snprintf(out + o, cap - o, "%x.%x.", b[i] & 15, b[i] >> 4);
  snprintf(out + o, cap - o, "ip6.arpa");
}

static void count_name(test_dns *s, const char *name) {
  pthread_mutex_lock(&s->mu);
  unsigned i;
  for (i = 0; i < s->nnames; i++)
    if (!strcasecmp(s->names[i], name)) break;
  if (i == s->nnames && s->nnames < MAXNAMES) {
    snprintf(s->names[i], sizeof s->names[i], "%s", name);
    s->nnames++;
  }
  if (i < MAXNAMES) s->counts[i]++;
  pthread_mutex_unlock(&s->mu);
}

unsigned test_dns_queries_for(test_dns *s, const char *name) {
  pthread_mutex_lock(&s->mu);
  unsigned n = 0;
  for (unsigned i = 0; i < s->nnames; i++)
    if (!strcasecmp(s->names[i], name)) n = s->counts[i];
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* The question's name as dotted text; returns the offset after the
 * question (name, type, class) or 0 if it is malformed. */
static size_t parse_question(const unsigned char *p, size_t len, char *name, size_t cap,
                             int *type) {
  size_t o = 12, n = 0;
  for (;;) {
    if (o >= len) return 0;
    unsigned l = p[o++];
    if (l == 0) break;
    if (l > 63 || o + l > len || n + l + 2 > cap) return 0;
    if (n) name[n++] = '.';
    memcpy(name + n, p + o, l);
    n += l;
    o += l;
  }
  name[n] = 0;
  if (o + 4 > len) return 0;
  *type = p[o] << 8 | p[o + 1];
  return o + 4;
}

static size_t put16(unsigned char *p, size_t o, unsigned v) {
  p[o] = (unsigned char)(v >> 8);
  p[o + 1] = (unsigned char)v;
  return o + 2;
}

static size_t put_name(unsigned char *p, size_t o, const char *name) {
  while (*name) {
    const char *dot = strchr(name, '.');
    size_t l = dot ? (size_t)(dot - name) : strlen(name);
    p[o++] = (unsigned char)l;
    memcpy(p + o, name, l);
    o += l;
    name += l + (dot ? 1 : 0);
  }
  p[o++] = 0;
  return o;
}

/* Build the answer to the question in q[0..qend). */
static size_t answer(test_dns *s, const unsigned char *q, size_t qend, const char *name,
                     int type, unsigned char *out) {
  int known = 0;
  unsigned an = 0;
  size_t o = qend;
  memcpy(out, q, qend);
  for (size_t i = 0; i < NROWS; i++) {
    const char *rn = table[i].name ? table[i].name : s->ptrname[i];
    if (strcasecmp(rn, name)) continue;
    known = 1;
    if (table[i].type != type) continue;
    an++;
    o = put16(out, o, 0xc00c); /* the question's name */
    o = put16(out, o, (unsigned)type);
    o = put16(out, o, 1);
    o = put16(out, o, 0);
    o = put16(out, o, 60);
    if (type == T_PTR) {
      size_t at = o;
      o = put_name(out, o + 2, table[i].target);
      put16(out, at, (unsigned)(o - at - 2));
    } else {
      int fam = type == T_A ? AF_INET : AF_INET6;
      size_t l = type == T_A ? 4 : 16;
      o = put16(out, o, (unsigned)l);
      inet_pton(fam, table[i].data, out + o);
      o += l;
    }
  }
  unsigned rcode = known ? 0 : 3;
  put16(out, 2, 0x8000 | (q[2] & 1) << 8 | 0x80 | rcode); /* QR, RD copied, RA */
  put16(out, 4, 1);
  put16(out, 6, an);
  put16(out, 8, 0);
  put16(out, 10, 0);
  return o;
}

/* Over UDP to `from`, or over the TCP connection tcpfd (>= 0). */
static void reply(test_dns *s, int tcpfd, const unsigned char *pkt, size_t n,
                  const struct sockaddr_storage *from, socklen_t fromlen) {
  if (tcpfd < 0) {
    sendto(s->fd, pkt, n, 0, (const struct sockaddr *)from, fromlen);
    return;
  }
  unsigned char out[2 + 512];
  put16(out, 0, (unsigned)n);
  memcpy(out + 2, pkt, n);
  if (send(tcpfd, out, n + 2, MSG_NOSIGNAL) < 0) { /* the client went away */
  }
}

static void serve_one(test_dns *s, int tcpfd, const unsigned char *q, size_t len,
                      const struct sockaddr_storage *from, socklen_t fromlen) {
  char name[256];
  int type = 0;
  atomic_fetch_add(&s->queries, 1);
  if (tcpfd >= 0) atomic_fetch_add(&s->tcp_queries, 1);
  if (len < 12) return;
  size_t qend = parse_question(q, len, name, sizeof name, &type);
  if (!qend) return;
  count_name(s, name);
  unsigned char out[512];
  if (!strcasecmp(name, "slow.test") || !strcasecmp(name, s->slowptr[0]) ||
      !strcasecmp(name, s->slowptr[1]))
    return;
  size_t n = answer(s, q, qend, name, type, out);
  if (!strcasecmp(name, "trunc.test")) {
    n = 7;
  } else if (!strcasecmp(name, "badid.test")) {
    out[0] ^= 0x55;
  } else if (!strcasecmp(name, "garbage.test")) {
    put16(out, 2, 0x8180);
    put16(out, 6, 1);
    n = qend;
    n = put16(out, n, 0xc00c);
    n = put16(out, n, (unsigned)type); /* and nothing more */
  } else if (!strcasecmp(name, "servfail.test")) {
    put16(out, 2, 0x8182);
  } else if (!strcasecmp(name, "tc.test") && tcpfd < 0) {
    put16(out, 2, 0x8380); /* TC */
    put16(out, 6, 0);
    n = qend;
  } else if (!strcasecmp(name, "delay.test") && atomic_load(&s->delay_ns) && tcpfd < 0) {
    if (s->nlater < MAXDELAYED) {
      delayed *d = &s->later[s->nlater++];
      d->due = now_ns() + atomic_load(&s->delay_ns);
      memcpy(&d->to, from, fromlen);
      d->tolen = fromlen;
      memcpy(d->pkt, out, n);
      d->len = n;
    }
    return;
  }
  reply(s, tcpfd, out, n, from, fromlen);
}

/* Read what a TCP client sent; answer every whole (length-prefixed)
 * message. Returns 0 when the connection is done. */
static int serve_tcp(test_dns *s, tcpconn *c) {
  ssize_t n = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return 0;
  if (n > 0) c->have += (size_t)n;
  while (c->have >= 2) {
    size_t len = (size_t)c->buf[0] << 8 | c->buf[1];
    if (len > sizeof c->buf - 2) return 0;
    if (c->have < 2 + len) break;
    serve_one(s, c->fd, c->buf + 2, len, NULL, 0);
    memmove(c->buf, c->buf + 2 + len, c->have - 2 - len);
    c->have -= 2 + len;
  }
  return 1;
}

static void *serve(void *arg) {
  test_dns *s = arg;
  for (;;) {
    int timeout = -1;
    uint64_t now = now_ns();
    for (unsigned i = 0; i < s->nlater; i++) {
      uint64_t left = s->later[i].due > now ? s->later[i].due - now : 0;
      int ms = (int)((left + 999999) / 1000000);
      if (timeout < 0 || ms < timeout) timeout = ms;
    }
    struct pollfd p[3 + MAXCONNS] = {{.fd = s->fd, .events = POLLIN},
                                     {.fd = s->stop[0], .events = POLLIN},
                                     {.fd = s->lfd, .events = POLLIN}};
    for (int i = 0; i < MAXCONNS; i++) p[3 + i] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
    if (poll(p, 3 + MAXCONNS, timeout) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (p[2].revents) {
      int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
      int i;
      for (i = 0; c >= 0 && i < MAXCONNS && s->conns[i].fd >= 0; i++) {
      }
      if (c >= 0 && i < MAXCONNS) s->conns[i] = (tcpconn){.fd = c};
      else if (c >= 0) close(c);
    }
    for (int i = 0; i < MAXCONNS; i++) {
      if (s->conns[i].fd < 0 || !p[3 + i].revents || p[3 + i].fd != s->conns[i].fd) continue;
      if (!serve_tcp(s, &s->conns[i])) {
        close(s->conns[i].fd);
        s->conns[i].fd = -1;
      }
    }
    now = now_ns();
    for (unsigned i = 0; i < s->nlater;) {
      delayed *d = &s->later[i];
      if (d->due > now) {
        i++;
        continue;
      }
      sendto(s->fd, d->pkt, d->len, 0, (struct sockaddr *)&d->to, d->tolen);
      *d = s->later[--s->nlater];
    }
    for (;;) {
      unsigned char buf[1500];
      struct sockaddr_storage from;
      socklen_t fromlen = sizeof from;
      ssize_t n = recvfrom(s->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
                           &fromlen);
      if (n < 0) break;
      serve_one(s, -1, buf, (size_t)n, &from, fromlen);
    }
  }
  return NULL;
}

/* A UDP socket on ip:0, and a TCP listener on the same port (tried a few
 * times: the port the kernel picked for UDP may be taken for TCP). */
static int bind_both(test_dns *s, const struct sockaddr_in *ip) {
  for (int attempt = 0; attempt < 20; attempt++) {
    struct sockaddr_in sin = *ip;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return -errno;
    socklen_t sl = sizeof sin;
    if (bind(s->fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&sin, &sl) < 0) {
      int e = errno;
      close(s->fd);
      return -e;
    }
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) {
      int e = errno;
      close(s->fd);
      return -e;
    }
    if (bind(s->lfd, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(s->lfd, 8) == 0)
      return ntohs(sin.sin_port);
    close(s->lfd);
    close(s->fd);
  }
  return -EADDRINUSE;
}

int test_dns_start(test_dns **out, const char *ip) {
  test_dns *s = calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  struct sockaddr_in sin = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1) {
    free(s);
    return -EINVAL;
  }
  int port = bind_both(s, &sin);
  if (port < 0) {
    free(s);
    return port;
  }
  if (pipe(s->stop) < 0) {
    int e = errno;
    close(s->fd);
    close(s->lfd);
    free(s);
    return -e;
  }
  for (int i = 0; i < MAXCONNS; i++) s->conns[i].fd = -1;
  snprintf(s->servers, sizeof s->servers, "%s:%d", ip, port);
  for (size_t i = 0; i < NROWS; i++)
    if (!table[i].name) ptr_name(table[i].data, s->ptrname[i], sizeof s->ptrname[i]);
  ptr_name("198.18.0.250", s->slowptr[0], sizeof s->slowptr[0]);
  ptr_name("2001:db8::250", s->slowptr[1], sizeof s->slowptr[1]);
  pthread_mutex_init(&s->mu, NULL);
  int e = pthread_create(&s->thread, NULL, serve, s);
  if (e) {
    close(s->fd);
    close(s->lfd);
    close(s->stop[0]);
    close(s->stop[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return -e;
  }
  *out = s;
  return 0;
}

void test_dns_stop(test_dns *s) {
  if (!s) return;
  char c = 1;
  if (write(s->stop[1], &c, 1) != 1) abort();
  pthread_join(s->thread, NULL);
  close(s->fd);
  close(s->lfd);
  for (int i = 0; i < MAXCONNS; i++)
    if (s->conns[i].fd >= 0) close(s->conns[i].fd);
  close(s->stop[0]);
  close(s->stop[1]);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

const char *test_dns_servers(const test_dns *s) { return s->servers; }
void test_dns_set_delay(test_dns *s, uint64_t ns) { atomic_store(&s->delay_ns, ns); }
unsigned test_dns_queries(const test_dns *s) {
  return atomic_load(&((test_dns *)s)->queries);
}
unsigned test_dns_tcp_queries(const test_dns *s) {
  return atomic_load(&((test_dns *)s)->tcp_queries);
}
