/* output_fixture.h: scan results shared by the output writer tests
 * (test_output_*.c): a few ordinary hosts, a down host, an IPv6 host, and
 * one full of hostile strings; plus helpers to render a writer into memory
 * and to run external checkers on files. Included once per test. */
#ifndef TRAWL_OUTPUT_FIXTURE_H
#define TRAWL_OUTPUT_FIXTURE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/errmsg.h"
#include "output/output.h"
#include "core/ports.h"
#include "core/result.h"
#include "db/services.h"
#include "core/targets.h"
#include "core/utf8.h"

/* A banner with every kind of trouble: markup, quotes, controls, ESC, DEL,
 * a C1 control, invalid UTF-8 (bad continuation, surrogate, overlong),
 * U+FFFE, and valid multibyte text. */
#define FX_HOSTILE                                                      \
  "A\"<b>&amp;'\x01\x08\x0b\x0c\x1f\x1b[31m\x7f|\xc2\x85|\xc3\x28|"     \
  "\xed\xa0\x80|\xc0\xaf|\xef\xbf\xbe|Gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93 " \
  "\xf0\x9d\x84\x9e\tend\r\nline2 , / ]]> -- \\"

struct fixture {
  struct scan_info info;
  struct scan_info_type types[2];
  uint16_t tcp[1000], udp[2];
  struct host_result hosts[5];
  size_t nhosts;
  struct scan_end end;
};

__attribute__((unused)) static void fx_addr(struct host_result *h, const char *s) {
  if (strchr(s, ':')) {
    h->addr.family = AF_INET6;
    inet_pton(AF_INET6, s, &h->addr.u.v6);
  } else {
    h->addr.family = AF_INET;
    inet_pton(AF_INET, s, &h->addr.u.v4);
  }
}

static void fx_build(struct fixture *fx, int hostile_args) {
  memset(fx, 0, sizeof *fx);
  setenv("TZ", "UTC", 1);
  tzset();
  for (int i = 0; i < 1000; i++) fx->tcp[i] = (uint16_t)(i + 1);
  fx->udp[0] = 53;
  fx->udp[1] = 161;
  fx->types[0] = (struct scan_info_type){SCAN_SYN, PROTO_TCP, fx->tcp, 1000, -1};
  fx->types[1] = (struct scan_info_type){SCAN_UDP, PROTO_UDP, fx->udp, 2, -1};
  fx->info.args = hostile_args ? "trawl --open -p 22 " FX_HOSTILE
                               : "trawl -sS -sU -p T:1-1000,U:53,161 198.18.0.0/29 2001:db8::1";
  fx->info.start_time = 1700000000; /* Tue Nov 14 22:13:20 2023 UTC */
  fx->info.types = fx->types;
  fx->info.ntypes = 2;

  struct host_result *h = &fx->hosts[0];
  host_result_init(h);
  fx_addr(h, "198.18.0.1");
  host_add_hostname(h, "lab.example", HOSTNAME_USER);
  host_add_hostname(h, "ptr.lab.example", HOSTNAME_PTR);
  host_set_reason(h, HOST_UP, "arp-response", 0);
  uint8_t mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  host_set_mac(h, mac, "Lab Vendor");
  h->srtt_us = 1200;
  h->rttvar_us = 500;
  h->timeout_us = 100000;
  h->distance = 1;
  h->start_time = 1700000001;
  h->end_time = 1700000002;
  struct port_result *p = host_add_port(h, PROTO_TCP, 80, PORT_OPEN, "syn-ack", 64, "http");
  struct script_result *s = result_add_script(h, p, "http-title", "Lab page");
  snode_add_elem(&s->tree, "title", "Lab page");
  p = host_add_port(h, PROTO_TCP, 22, PORT_OPEN, "syn-ack", 64, "ssh");
  s = result_add_script(h, p, "ssh-hostkey", "\n  2048 aa:bb (RSA)\n  256 cc:dd (ECDSA)\n");
  struct script_node *t = snode_add_table(&s->tree, NULL);
  snode_add_elem(t, "type", "ssh-rsa");
  snode_add_elem(t, "bits", "2048");
  t = snode_add_table(&s->tree, NULL);
  snode_add_elem(t, "type", "ecdsa");
  snode_add_elem(t, "bits", "256");
  host_add_port(h, PROTO_TCP, 443, PORT_CLOSED, "reset", 64, "https");
  host_add_bulk(h, PROTO_TCP, PORT_CLOSED, "reset", 996);
  host_add_port(h, PROTO_UDP, 53, PORT_OPEN, "udp-response", 64, "domain");
  host_add_port(h, PROTO_UDP, 161, PORT_OPEN_FILTERED, "no-response", 0, "snmp");
  s = result_add_script(h, NULL, "lab-info", "two\nlines");
  snode_add_elem(&s->tree, "a", "1");
  t = snode_add_table(&s->tree, "nested");
  snode_add_elem(t, NULL, "x");
  snode_add_elem(t, NULL, "y");

  h = &fx->hosts[1];
  host_result_init(h);
  fx_addr(h, "198.18.0.2");
  host_set_reason(h, HOST_UP, "echo-reply", 63);
  h->srtt_us = 170000;
  host_add_port(h, PROTO_TCP, 25, PORT_CLOSED, "reset", 63, "smtp");
  host_add_port(h, PROTO_TCP, 21, PORT_CLOSED, "reset", 63, "ftp");
  host_add_port(h, PROTO_TCP, 12345, PORT_CLOSED, "reset", 63, NULL);
  host_add_bulk(h, PROTO_TCP, PORT_FILTERED, "no-response", 990);
  host_add_bulk(h, PROTO_TCP, PORT_FILTERED, "host-unreach", 7);
  host_add_bulk(h, PROTO_UDP, PORT_OPEN_FILTERED, "no-response", 2);

  h = &fx->hosts[2];
  host_result_init(h);
  fx_addr(h, "198.18.0.3");
  host_set_reason(h, HOST_DOWN, "no-response", 0);

  h = &fx->hosts[3];
  host_result_init(h);
  fx_addr(h, "2001:db8::1");
  host_set_reason(h, HOST_UP, "reset", 64);
  h->srtt_us = 95;
  host_add_bulk(h, PROTO_TCP, PORT_CLOSED, "reset", 1000);

  h = &fx->hosts[4];
  host_result_init(h);
  fx_addr(h, "198.18.0.5");
  host_add_hostname(h, FX_HOSTILE, HOSTNAME_PTR);
  host_set_reason(h, HOST_UP, FX_HOSTILE, 64);
  host_set_mac(h, mac, FX_HOSTILE);
  p = host_add_port(h, PROTO_TCP, 8080, PORT_OPEN, FX_HOSTILE, 64, FX_HOSTILE);
  s = result_add_script(h, p, FX_HOSTILE, FX_HOSTILE);
  snode_add_elem(&s->tree, FX_HOSTILE, FX_HOSTILE);
  t = snode_add_table(&s->tree, FX_HOSTILE);
  snode_add_elem(t, NULL, FX_HOSTILE);
  fx->nhosts = 5;

  fx->end = (struct scan_end){.end_time = 1700000003, .elapsed = 3.14159,
                              .hosts_up = 4, .hosts_down = 1, .hosts_total = 5};
}

static void fx_free(struct fixture *fx) {
  for (size_t i = 0; i < fx->nhosts; i++) host_result_free(&fx->hosts[i]);
}

/* Renders hosts [from, to) of fx with ops into a malloc'd string. */
static char *fx_render(struct fixture *fx, const struct output_ops *ops,
                       const struct output_opts *opts, size_t from, size_t to) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  struct output o;
  output_init(&o, ops, f, opts);
  if (output_begin(&o, &fx->info) != 0) abort();
  for (size_t i = from; i < to; i++)
    if (output_host(&o, &fx->hosts[i]) != 0) abort();
  if (output_end(&o, &fx->end) != 0) abort();
  fclose(f);
  return buf;
}

/* Writes text to a new temporary file; returns its path (static buffer
 * per slot). */
__attribute__((unused)) static const char *fx_tmpfile(const char *text, int slot) {
  static char paths[4][64];
  snprintf(paths[slot], sizeof paths[slot], "/tmp/trawl_fx_XXXXXX");
  int fd = mkstemp(paths[slot]);
  if (fd < 0) abort();
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len) abort();
  close(fd);
  return paths[slot];
}

/* Whether a program is installed (in PATH). */
__attribute__((unused)) static int fx_have(const char *prog) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
  return system(cmd) == 0;
}

/* Runs a shell command; returns its exit status (or -1). */
static int fx_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((unused)) static int fx_run(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Every byte sequence in s is valid UTF-8 with no control characters other
 * than those allowed (e.g. "\n", "\n\t"). Returns the offset of the first
 * bad byte, or -1. */
__attribute__((unused)) static long fx_first_unsafe(const char *s, const char *allowed) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t l = utf8_decode(p + i, n - i, &cp);
    if (l == 0) return (long)i;
    if ((cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) &&
        !(cp < 0x80 && strchr(allowed, (int)cp)))
      return (long)i;
    i += l;
  }
  return -1;
}

#endif
