/* verbose.c: -v's running commentary, as Nmap prints it on its terminal
 * output (and only there, never in -oN files):
 *
 *   Initiating SYN Stealth Scan at 02:54
 *   Scanning 198.18.30.10 [5 ports]            (or "Scanning 2 hosts [5 ports/host]")
 *   Discovered open port 80/tcp on 198.18.30.10
 *   Completed SYN Stealth Scan at 02:54, 0.02s elapsed (5 total ports)
 *
 * Printed when the verbosity is at least 1 (it may be raised by the v key
 * during the scan) and the normal report goes to standard output; the
 * live status line is cleared first. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/status.h"
#include "output/output.h"
#include "scan/scan.h"
#include "scan/verbose.h"

static int verbose_on(const struct scan *s) { return s->o->verbose >= 1 && s->chatty; }

/* Nmap's name of a pass */
static const char *verbose_title(const char *pass) {
  static const struct { const char *pass, *title; } t[] = {
      {"discovery", "Ping Scan"},  {"SYN", "SYN Stealth Scan"}, {"ACK", "ACK Scan"},
      {"UDP", "UDP Scan"},         {"connect", "Connect Scan"},  {"null", "NULL Scan"},
      {"fin", "FIN Scan"},         {"xmas", "XMAS Scan"},        {"maimon", "Maimon Scan"},
      {"window", "Window Scan"},   {"connect-discovery", "Ping Scan"}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(t[i].pass, pass) == 0) return t[i].title;
  return pass;
}

static const char *verbose_clock(char *buf, size_t len) {
  time_t now = time(NULL);
  struct tm tm;
  if (localtime_r(&now, &tm) == NULL || strftime(buf, len, "%H:%M", &tm) == 0) snprintf(buf, len, "?");
  return buf;
}

void verbose_pass_begin(struct scan *s, const char *pass, uint32_t nhosts, uint32_t nprobes,
                        uint32_t g0) {
  s->verbose_t0 = tw_hrtime();
  if (!verbose_on(s) || nhosts == 0) return;
  char t[16], a[64];
  status_clear(s);
  printf("Initiating %s at %s\n", verbose_title(pass), verbose_clock(t, sizeof t));
  if (nhosts == 1) {
    tw_pkt_addr_str(&s->hosts[g0].addr, a, sizeof a);
    const char *name = s->hosts[g0].res ? output_host_name(s->hosts[g0].res) : NULL;
    fputs("Scanning ", stdout);
    if (name) printf("%s (%s)", name, a);
    else fputs(a, stdout);
    printf(" [%" PRIu32 " port%s]\n", nprobes, nprobes == 1 ? "" : "s");
  } else {
    printf("Scanning %" PRIu32 " hosts [%" PRIu32 " port%s/host]\n", nhosts, nprobes,
           nprobes == 1 ? "" : "s");
  }
  fflush(stdout);
}

void verbose_pass_end(struct scan *s, const char *pass, uint32_t nhosts, uint32_t nprobes) {
  if (!verbose_on(s) || nhosts == 0) return;
  char t[16];
  double el = (double)(tw_hrtime() - s->verbose_t0) / 1e9;
  bool ping = strcmp(verbose_title(pass), "Ping Scan") == 0;
  uint64_t total = ping ? nhosts : (uint64_t)nhosts * nprobes;
  status_clear(s);
  printf("Completed %s at %s, %.2fs elapsed (%" PRIu64 " total %s)\n", verbose_title(pass),
         verbose_clock(t, sizeof t), el, total, ping ? "hosts" : "ports");
  fflush(stdout);
}

void verbose_open_port(struct scan *s, uint32_t h, enum scan_proto proto, uint16_t port) {
  if (!verbose_on(s)) return;
  char a[64];
  status_clear(s);
  printf("Discovered open port %u/%s on %s\n", port, proto_name(proto),
         tw_pkt_addr_str(&s->hosts[h].addr, a, sizeof a));
  fflush(stdout);
}
