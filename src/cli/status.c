/* status.c: progress reports (see status.h). The live line is redrawn
 * every 250 ms on stderr when it is a terminal; keys pressed on a terminal
 * stdin change verbosity, debugging and packet tracing as Nmap's do, and
 * any other key prints a full status (the terminal is put in
 * non-canonical mode for the scan and restored after). */
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "scan/scan.h"
#include "scan/stage.h"
#include "cli/status.h"

static double progress(const struct scan *s) {
  if (s->ntargets == 0) return 1.0;
  double done = (double)s->hosts_done;
  if (s->eng_live) done += engine_progress(&s->eng) * (double)s->nhosts;
  else if (s->stage_progress) done += s->stage_progress(s->stage_ctx) * (double)s->nhosts;
  double p = done / (double)s->ntargets;
  return p > 1.0 ? 1.0 : p;
}

static uint64_t sent_now(const struct scan *s) {
  return s->probes_sent + (s->eng_live ? s->eng.st.sent : 0);
}

void status_print(struct scan *s) {
  double el = (double)(tw_hrtime() - s->start_ns) / 1e9;
  double p = progress(s);
  double rate = s->eng_live ? s->eng.rc.rate : 0;
  double left = p > 0.001 ? el / p - el : 0;
  /* the stage running now (stage.h), and how far it is when it says */
  const char *stage = s->hosts && s->stage > 0 && s->stage <= scan_nstages
                          ? scan_stages[s->stage - 1].name : "-";
  if (s->stage_progress)
    fprintf(stderr, "Stage %s: %.2f%% done\n", stage, s->stage_progress(s->stage_ctx) * 100);
  else if (s->eng_live)
    fprintf(stderr, "Stage %s: %.2f%% done\n", stage, engine_progress(&s->eng) * 100);
  fprintf(stderr,
          "Stats: %.1fs elapsed; %llu hosts completed (%llu up); %.2f%% done; "
          "ETC %.0fs; %llu probes sent; rate %.0f pkt/s; %llu open ports; %llu bad replies\n",
          el, (unsigned long long)s->hosts_done, (unsigned long long)s->hosts_up, p * 100, left,
          (unsigned long long)sent_now(s), rate, (unsigned long long)s->open_ports,
          (unsigned long long)s->bad_cookies);
}

static void tick(tw_timer *t, int status) {
  struct scan *s = tw_data(t);
  if (status < 0 || s->finished) return;
  if (s->o->stats_every_ms && !isatty(2)) {
    status_print(s);
    return;
  }
  struct status *st = &s->status;
  uint64_t now = tw_hrtime(), sent = sent_now(s);
  double pps = st->last_ns ? (double)(sent - st->last_sent) * 1e9 / (double)(now - st->last_ns) : 0;
  st->last_sent = sent;
  st->last_ns = now;
  double el = (double)(now - s->start_ns) / 1e9, p = progress(s);
  fprintf(stderr, "\r%8.0f pkt/s  %6.2f%% done  %6.1fs left  %llu open   ", pps, p * 100,
          p > 0.001 ? el / p - el : 0.0, (unsigned long long)s->open_ports);
  st->drawn = true;
}

void status_clear(struct scan *s) {
  if (!s->status.drawn) return;
  s->status.drawn = false;
  fputs("\r\033[K", stderr);
  fflush(stderr);
}

/* Verbosity changed by a key: the option and every output's copy of it */
static void set_verbose(struct scan *s, int v) {
  s->o->verbose = v;
  for (int k = 0; k < s->nouts; k++) s->outs[k].opts.verbose = v;
}

/* Nmap's run-time keys, with its words: v/V verbosity, d/D debugging, p/P
 * packet tracing, ? help; any other key prints the full status. */
static void key(tw_io *io, int status, int events) {
  struct scan *s = tw_data(io);
  struct options *o = s->o;
  char buf[64];
  if (status < 0) return;
  ssize_t n = read(0, buf, sizeof buf);
  if (n <= 0) {
    tw_io_stop(io);
    return;
  }
  status_clear(s);
  bool stats = false;
  for (ssize_t i = 0; i < n; i++) {
    switch (buf[i]) {
    case 'v':
      if (o->verbose < 9) set_verbose(s, o->verbose + 1);
      printf("Verbosity Increased to %d.\n", o->verbose);
      break;
    case 'V':
      if (o->verbose > 0) set_verbose(s, o->verbose - 1);
      printf("Verbosity Decreased to %d.\n", o->verbose);
      break;
    case 'd':
      if (o->debug < 9) o->debug++;
      printf("Debugging Increased to %d.\n", o->debug);
      break;
    case 'D':
      if (o->debug > 0) o->debug--;
      printf("Debugging Decreased to %d.\n", o->debug);
      break;
    case 'p':
      scan_packet_trace(s, true);
      printf("Packet Tracing enabled.\n");
      break;
    case 'P':
      scan_packet_trace(s, false);
      printf("Packet Tracing disabled.\n");
      break;
    case '?':
      printf("Interactive keyboard commands:\n"
             "?               Display this information\n"
             "v/V             Increase/decrease verbosity\n"
             "d/D             Increase/decrease debugging\n"
             "p/P             Enable/disable packet tracing\n"
             "anything else   Print status\n");
      break;
    default: stats = true; break;
    }
  }
  fflush(stdout);
  if (stats) status_print(s);
}

void status_start(struct scan *s) {
  uint64_t every = s->o->stats_every_ms ? s->o->stats_every_ms * 1000000ull : 0;
  if (!every && isatty(2)) every = 250000000ull;
  if (every && tw_timer_new(s->loop, &s->status_timer, s) == 0) {
    tw_timer_start(s->status_timer, tick, every, every);
    tw_unref(s->status_timer);
  }
  if (!s->o->noninteractive && isatty(0) && tcgetattr(0, &s->status.saved_tio) == 0) {
    struct termios raw = s->status.saved_tio;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(0, TCSANOW, &raw) == 0) s->status.tio_saved = true;
    if (tw_io_new(s->loop, &s->stdin_io, 0, key, s) == 0) {
      tw_io_start(s->stdin_io, TW_READABLE);
      tw_unref(s->stdin_io);
    }
  }
}

void status_stop(struct scan *s) {
  if (s->status_timer) {
    tw_close(s->status_timer, NULL);
    s->status_timer = NULL;
    status_clear(s);
  }
  if (s->stdin_io) {
    tw_close(s->stdin_io, NULL);
    s->stdin_io = NULL;
  }
  if (s->status.tio_saved) {
    tcsetattr(0, TCSANOW, &s->status.saved_tio);
    s->status.tio_saved = false;
  }
}
