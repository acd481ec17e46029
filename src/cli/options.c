/* options.c: parsing trawl's Nmap-style command line word by word into
 * struct options (see options.h). Checking it as a whole is
 * options-finalize.c, the --help text options-help.c, the --dry-run plan
 * options-plan.c. */
#define _GNU_SOURCE
#include "cli/options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <trawl/error.h>

#include "cli/options-int.h"
#include "core/errmsg.h"
#include "core/version.h"
#include "output/output.h"
#include "scan/timing.h"
#include "probe/pktopt.h"
#include "core/hex.h"
#include <sys/random.h>

/* ---- errors ----------------------------------------------------------------- */

int options_fail(char *err, size_t errlen, const char *arg, const char *fmt, ...) {
  char what[256], q[ERRMSG_QUOTE_MAX + 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return errmsg_set(err, errlen, TW_EMALFORMED, "%s: '%s'", what,
                    errmsg_quote(q, sizeof q, arg, (size_t)-1));
}

/* ---- value parsers ------------------------------------------------------------ */

/* A whole decimal (or 0x hex when hex) number <= max, any length. */
static int opt_uint(const char *s, uint64_t max, bool hex, uint64_t *out) {
  uint64_t v = 0;
  int base = 10;
  if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (*s == '\0') return -1;
  bool big = false;
  for (; *s; s++) {
    int d;
    if (*s >= '0' && *s <= '9') d = *s - '0';
    else if (base == 16 && *s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
    else if (base == 16 && *s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
    else return -1;
    if (v > (max - (uint64_t)d) / (uint64_t)base) big = true;
    if (!big) v = v * (uint64_t)base + (uint64_t)d;
  }
  if (big) return -2;
  *out = v;
  return 0;
}

/* "digits[.digits]": the number and the rest of the string. */
static int opt_decimal(const char *s, double *v, const char **rest) {
  size_t i = 0, digits = 0;
  while (s[i] >= '0' && s[i] <= '9') i++, digits++;
  if (s[i] == '.') {
    i++;
    while (s[i] >= '0' && s[i] <= '9') i++, digits++;
  }
  if (digits == 0 || i > 24) return -1; /* no number, or absurdly long */
  char buf[32];
  memcpy(buf, s, i);
  buf[i] = '\0';
  *v = strtod(buf, NULL);
  *rest = s + i;
  return 0;
}

int options_parse_time(const char *s, uint64_t *ms) {
  double v;
  const char *unit;
  if (opt_decimal(s, &v, &unit) < 0) return TW_EMALFORMED;
  double mult;
  if (*unit == '\0' || strcmp(unit, "s") == 0) mult = 1000;
  else if (strcmp(unit, "ms") == 0) mult = 1;
  else if (strcmp(unit, "m") == 0) mult = 60000;
  else if (strcmp(unit, "h") == 0) mult = 3600000;
  else return TW_EMALFORMED;
  double r = v * mult + 0.5;
  if (r >= 1e12) return TW_EMALFORMED; /* over 30 years */
  *ms = (uint64_t)r;
  if (*ms == 0 && v > 0) *ms = 1;
  return 0;
}

int options_parse_rate(const char *s, double *rate) {
  double v;
  const char *rest;
  if (opt_decimal(s, &v, &rest) < 0 || *rest != '\0') return TW_EMALFORMED;
  if (!(v > 0) || v > 1e9) return TW_EMALFORMED;
  *rate = v;
  return 0;
}

/* ---- the option table ------------------------------------------------------------ */

enum {
  O_HELP = 1, O_VERSION, O_DRYRUN, O_TOPPORTS, O_EXCLPORTS, O_MINRATE,
  O_MAXRATE, O_MAXRETRIES, O_HOSTTIMEOUT, O_SCANDELAY, O_MINRTT, O_MAXRTT,
  O_INITRTT, O_OPEN, O_REASON, O_EXCLUDE, O_EXCLUDEFILE, O_SEED, O_SCANFLAGS, O_SHARDS,
  O_SHARD, O_RESUME, O_STATSEVERY, O_PRIV, O_UNPRIV, O_PRIVUSER, O_MAXHOSTGROUP, O_SRCPORT, O_PKTTRACE,
  O_SCRIPT, O_SCRIPTARGS, O_SCRIPTARGSFILE, O_SCRIPTTRACE, O_SCRIPTTIMEOUT,
  O_SCRIPTHELP, O_SCRIPTUPDATEDB, O_DATADIR, O_SCRIPTTHREADS, O_VINTENSITY, O_VLIGHT, O_VALL, O_VTRACE,
  O_VERSIONDB, O_OSSCANLIMIT, O_OSSCANGUESS, O_MAXOSTRIES, O_OSPERPORT, O_TRACEROUTE,
  O_PORTRATIO, O_APPENDOUT, O_NONINTERACTIVE, O_STYLESHEET, O_WEBXML, O_NOSTYLESHEET,
  O_TTL, O_DATA, O_DATASTRING, O_DATALENGTH, O_BADSUM, O_MINHOSTGROUP, O_MINPAR, O_MAXPAR,
  O_MAXSCANDELAY, O_DNSSERVERS, O_SYSTEMDNS, O_IPOPTIONS, O_MTU, O_SENDIP
};

static const struct {
  const char *name;
  int has_arg;
  int id;
} opt_long[] = {
    {"help", 0, O_HELP},
    {"version", 0, O_VERSION},
    {"dry-run", 0, O_DRYRUN},
    {"top-ports", 1, O_TOPPORTS},
    {"port-ratio", 1, O_PORTRATIO},
    {"append-output", 0, O_APPENDOUT},
    {"noninteractive", 0, O_NONINTERACTIVE},
    {"stylesheet", 1, O_STYLESHEET},
    {"webxml", 0, O_WEBXML},
    {"no-stylesheet", 0, O_NOSTYLESHEET},
    {"exclude-ports", 1, O_EXCLPORTS},
    {"min-rate", 1, O_MINRATE},
    {"max-rate", 1, O_MAXRATE},
    {"max-retries", 1, O_MAXRETRIES},
    {"host-timeout", 1, O_HOSTTIMEOUT},
    {"scan-delay", 1, O_SCANDELAY},
    {"min-rtt-timeout", 1, O_MINRTT},
    {"max-rtt-timeout", 1, O_MAXRTT},
    {"initial-rtt-timeout", 1, O_INITRTT},
    {"open", 0, O_OPEN},
    {"reason", 0, O_REASON},
    {"exclude", 1, O_EXCLUDE},
    {"excludefile", 1, O_EXCLUDEFILE},
    {"seed", 1, O_SEED},
    {"scanflags", 1, O_SCANFLAGS},
    {"shards", 1, O_SHARDS},
    {"shard", 1, O_SHARD},
    {"resume", 1, O_RESUME},
    {"stats-every", 1, O_STATSEVERY},
    {"privileged", 0, O_PRIV},
    {"unprivileged", 0, O_UNPRIV},
    {"privileged-user", 1, O_PRIVUSER},
    {"max-hostgroup", 1, O_MAXHOSTGROUP},
    {"min-hostgroup", 1, O_MINHOSTGROUP},
    {"min-parallelism", 1, O_MINPAR},
    {"max-parallelism", 1, O_MAXPAR},
    {"max-scan-delay", 1, O_MAXSCANDELAY},
    {"dns-servers", 1, O_DNSSERVERS},
    {"system-dns", 0, O_SYSTEMDNS},
    {"source-port", 1, O_SRCPORT},
    {"ttl", 1, O_TTL},
    {"data", 1, O_DATA},
    {"data-string", 1, O_DATASTRING},
    {"data-length", 1, O_DATALENGTH},
    {"badsum", 0, O_BADSUM},
    {"ip-options", 1, O_IPOPTIONS},
    {"mtu", 1, O_MTU},
    {"send-ip", 0, O_SENDIP},
    {"packet-trace", 0, O_PKTTRACE},
    {"script", 1, O_SCRIPT},
    {"script-args", 1, O_SCRIPTARGS},
    {"script-args-file", 1, O_SCRIPTARGSFILE},
    {"script-trace", 0, O_SCRIPTTRACE},
    {"script-timeout", 1, O_SCRIPTTIMEOUT},
    {"script-help", 1, O_SCRIPTHELP},
    {"script-updatedb", 0, O_SCRIPTUPDATEDB},
    {"script-threads", 1, O_SCRIPTTHREADS},
    {"version-intensity", 1, O_VINTENSITY},
    {"version-light", 0, O_VLIGHT},
    {"version-all", 0, O_VALL},
    {"version-trace", 0, O_VTRACE},
    {"versiondb", 1, O_VERSIONDB},
    {"datadir", 1, O_DATADIR},
    {"osscan-limit", 0, O_OSSCANLIMIT},
    {"osscan-guess", 0, O_OSSCANGUESS},
    {"fuzzy", 0, O_OSSCANGUESS},
    {"max-os-tries", 1, O_MAXOSTRIES},
    {"osscan-per-port", 0, O_OSPERPORT},
    {"traceroute", 0, O_TRACEROUTE},
};

void options_init(struct options *o) {
  memset(o, 0, sizeof *o);
  o->top_ports = OPT_UNSET;
  o->port_ratio = -1;
  o->scanflags = -1;
  o->timing = 3;
  o->max_retries = OPT_UNSET;
  o->host_timeout_ms = o->scan_delay_ms = o->min_rtt_ms = o->max_rtt_ms =
      o->initial_rtt_ms = o->script_timeout_ms = o->max_scan_delay_ms = OPT_UNSET_MS;
  o->shards = 1;
  o->privileged = OPT_UNSET;
  o->source_port = OPT_UNSET;
  o->ttl = OPT_UNSET;
  o->version_intensity = OPT_UNSET;
  o->verbose = 0;
}

void options_free(struct options *o) {
  targets_free(o->targets);
  services_free(o->services);
  portlist_free(&o->ports);
  free(o->ps.v);
  free(o->pa.v);
  free(o->pu.v);
  free(o->args);
  free(o->data);
  free(o->decoys);
  for (int k = 0; k < 4; k++) free(o->owned[k]);
  options_init(o);
}

/* ---- parsing ------------------------------------------------------------------- */

struct opt_state {
  struct options *o;
  int argc, i;
  char **argv;
  char *err;
  size_t errlen;
  const char *out_all; /* -oA base name */
  bool shard_set, timing_set;
};

/* The argument of option `opt`: attached (after '=' or the option letters)
 * or the next word. */
const char *options_long_name(size_t i) {
  return i < sizeof opt_long / sizeof opt_long[0] ? opt_long[i].name : NULL;
}

static int opt_arg(struct opt_state *st, const char *opt, const char *attached,
                   const char **out) {
  if (attached != NULL) {
    *out = attached;
    return 0;
  }
  if (st->i + 1 >= st->argc)
    return options_fail(st->err, st->errlen, opt, "option requires an argument");
  *out = st->argv[++st->i];
  return 0;
}

static int opt_time(struct opt_state *st, const char *opt, const char *v,
                    uint64_t *ms) {
  if (options_parse_time(v, ms) != 0)
    return options_fail(st->err, st->errlen, v,
                    "invalid time for %s (a number with optional ms, s, m or h)", opt);
  return 0;
}

static int opt_number(struct opt_state *st, const char *opt, const char *v,
                      uint64_t min, uint64_t max, bool hex, uint64_t *out) {
  uint64_t n;
  int r = opt_uint(v, max, hex, &n);
  if (r == -1) return options_fail(st->err, st->errlen, v, "invalid number for %s", opt);
  if (r == -2 || n < min)
    return options_fail(st->err, st->errlen, v, "%s must be between %" PRIu64 " and %" PRIu64, opt, min, max);
  *out = n;
  return 0;
}

static int opt_ping_ports(struct opt_state *st, const char *opt,
                          const char *spec, struct ping_ports *pp,
                          uint16_t dflt) {
  free(pp->v);
  pp->v = NULL;
  pp->n = 0;
  struct portset *set = calloc(1, sizeof *set);
  if (set == NULL) return errmsg_set(st->err, st->errlen, -ENOMEM, "out of memory");
  int r = 0;
  if (*spec == '\0') {
    portset_add(set, PROTO_TCP, dflt);
  } else {
    char what[32];
    snprintf(what, sizeof what, "%s port list", opt);
    r = ports_parse(set, spec, PROTO_MASK(PROTO_TCP), 0, NULL, what, st->err, st->errlen);
  }
  if (r == 0) {
    struct portlist pl;
    r = portlist_from_set(&pl, set);
    if (r == 0) {
      pp->v = pl.ports[PROTO_TCP];
      pp->n = pl.n[PROTO_TCP];
      free(pl.ports[PROTO_UDP]);
    } else {
      errmsg_set(st->err, st->errlen, r, "out of memory");
    }
  }
  free(set);
  return r;
}

/* --scanflags: a number (0-255, decimal or 0x hex) or flag names run
 * together in any order, e.g. SYNFIN, URGPSHFIN. */
static int opt_scanflags(struct opt_state *st, const char *v) {
  static const struct { const char *name; uint8_t bit; } names[] = {
      {"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08},
      {"ACK", 0x10}, {"URG", 0x20}, {"ECE", 0x40}, {"CWR", 0x80}};
  if (*v >= '0' && *v <= '9') {
    uint64_t n;
    int r = opt_number(st, "--scanflags", v, 0, 255, true, &n);
    if (r == 0) st->o->scanflags = (int)n;
    return r;
  }
  int flags = 0;
  const char *c = v;
  while (*c) {
    size_t k = 0;
    while (k < 8 && strncasecmp(c, names[k].name, 3) != 0) k++;
    if (k == 8)
      return options_fail(st->err, st->errlen, v,
                      "--scanflags takes a number or flag names (URG ACK PSH RST SYN FIN ECE CWR) run together, e.g. SYNFIN");
    flags |= names[k].bit;
    c += 3;
  }
  if (*v == '\0') return options_fail(st->err, st->errlen, v, "--scanflags needs flags");
  st->o->scanflags = flags;
  return 0;
}

/* --data: Nmap's hex forms, 0xAABB..., AABB... or \xAA\xBB..., into out
 * (at most strlen(v) / 2 bytes). The number of bytes, or -1. */
static long opt_hex(const char *v, uint8_t *out) {
  size_t n = 0;
  if (v[0] == '\\' && (v[1] == 'x' || v[1] == 'X')) {
    for (const char *c = v; *c; c += 4) {
      if (c[0] != '\\' || (c[1] != 'x' && c[1] != 'X') || hex_value(c[2]) < 0 || hex_value(c[3]) < 0)
        return -1;
      out[n++] = (uint8_t)(hex_value(c[2]) << 4 | hex_value(c[3]));
    }
    return (long)n;
  }
  if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) v += 2;
  size_t len = strlen(v);
  if (len == 0 || len % 2) return -1;
  for (size_t i = 0; i < len; i += 2) {
    int hi = hex_value(v[i]), lo = hex_value(v[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[n++] = (uint8_t)(hi << 4 | lo);
  }
  return (long)n;
}

/* --data, --data-string, --data-length: one payload for every raw probe,
 * given once (Nmap refuses a second one, of either kind). */
static int opt_data(struct opt_state *st, int id, const char *word, const char *v) {
  struct options *o = st->o;
  if (o->data_set)
    return options_fail(st->err, st->errlen, word,
                    "--data, --data-string and --data-length cannot be combined or given twice");
  size_t len = strlen(v);
  uint8_t *buf = NULL;
  if (id == O_DATALENGTH) {
    uint64_t n;
    int r = opt_number(st, word, v, 0, PKTOPT_DATA_MAX, false, &n);
    if (r < 0) return r;
    len = (size_t)n;
    if (!(buf = malloc(len ? len : 1))) return errmsg_set(st->err, st->errlen, -ENOMEM, "out of memory");
    /* random bytes, as Nmap's: drawn once, the same in every probe */
    for (size_t got = 0; got < len;) {
      ssize_t k = getrandom(buf + got, len - got, 0);
      if (k <= 0) {
        free(buf);
        return errmsg_set(st->err, st->errlen, -errno, "cannot get random bytes for --data-length");
      }
      got += (size_t)k;
    }
  } else {
    if (!(buf = malloc(len ? len : 1))) return errmsg_set(st->err, st->errlen, -ENOMEM, "out of memory");
    if (id == O_DATASTRING) {
      memcpy(buf, v, len);
    } else {
      long n = opt_hex(v, buf);
      if (n < 0) {
        free(buf);
        return options_fail(st->err, st->errlen, v,
                        "invalid hex string for --data (0xAABB..., AABB... or \\xAA\\xBB...)");
      }
      len = (size_t)n;
    }
    if (len > PKTOPT_DATA_MAX) {
      free(buf);
      return options_fail(st->err, st->errlen, word, "payload too long (at most %d bytes)", PKTOPT_DATA_MAX);
    }
  }
  o->data = buf;
  o->data_opt = id == O_DATA ? "--data" : id == O_DATASTRING ? "--data-string" : "--data-length";
  o->data_len = len;
  o->data_set = true;
  return 0;
}

static int opt_scan_letters(struct opt_state *st, const char *word,
                            const char *letters) {
  struct options *o = st->o;
  if (*letters == '\0') return options_fail(st->err, st->errlen, word, "missing scan type after -s");
  for (const char *c = letters; *c; c++) {
    switch (*c) {
      case 'S': o->scans |= SCANF(SCAN_SYN); break;
      case 'T': o->scans |= SCANF(SCAN_CONNECT); break;
      case 'A': o->scans |= SCANF(SCAN_ACK); break;
      case 'U': o->scans |= SCANF(SCAN_UDP); break;
      case 'n': o->no_portscan = true; break;
      case 'P': o->no_portscan = true; break; /* old spelling of -sn */
      case 'C': o->script_default = true; break;
      case 'V': o->version_scan = true; break;
      case 'L': o->list_scan = true; break;
      case 'N': o->scans |= SCANF(SCAN_NULL); break;
      case 'F': o->scans |= SCANF(SCAN_FIN); break;
      case 'X': o->scans |= SCANF(SCAN_XMAS); break;
      case 'M': o->scans |= SCANF(SCAN_MAIMON); break;
      case 'W': o->scans |= SCANF(SCAN_WINDOW); break;
      case 'O':
      case 'Y': case 'Z': case 'I': case 'R':
        return options_fail(st->err, st->errlen, word, "unsupported scan type");
      default:
        return options_fail(st->err, st->errlen, word, "unknown scan type");
    }
  }
  return 0;
}

static int opt_ping(struct opt_state *st, const char *word, const char *rest) {
  struct options *o = st->o;
  switch (rest[0]) {
    case 'n':
    case '0': /* -P0: Nmap's old spelling of -Pn */
      if (rest[1] != '\0') break;
      o->skip_discovery = true;
      return 0;
    case 'S':
      o->probes |= PROBE_SYN;
      return opt_ping_ports(st, "-PS", rest + 1, &o->ps, 80);
    case 'A':
      o->probes |= PROBE_ACK;
      return opt_ping_ports(st, "-PA", rest + 1, &o->pa, 80);
    case 'U':
      o->probes |= PROBE_UDP;
      return opt_ping_ports(st, "-PU", rest + 1, &o->pu, 40125);
    case 'E': /* the letters that take nothing after them */
    case 'P':
    case 'M':
    case 'R':
      if (rest[1] != '\0') break;
      o->probes |= rest[0] == 'E' ? PROBE_ECHO : rest[0] == 'P' ? PROBE_TIMESTAMP
                 : rest[0] == 'M' ? PROBE_MASK : PROBE_ARP;
      return 0;
    case '\0':
      return options_fail(st->err, st->errlen, word, "missing host discovery type after -P");
    default:
      return options_fail(st->err, st->errlen, word, "unsupported host discovery option");
  }
  return options_fail(st->err, st->errlen, word, "unknown host discovery option");
}

static int opt_timing(struct opt_state *st, const char *v) {
  static const char *const names[] = {"paranoid", "sneaky", "polite", "normal",
                                      "aggressive", "insane"};
  for (int i = 0; i < 6; i++) {
    if ((v[0] == '0' + i && v[1] == '\0') || strcasecmp(v, names[i]) == 0) {
      st->o->timing = i;
      return 0;
    }
  }
  return options_fail(st->err, st->errlen, v, "invalid timing template (0-5 or paranoid|sneaky|polite|normal|aggressive|insane)");
}

/* -v, -vv, -v3 (and -d likewise); c is the letter, rest what follows it
 * in the word (Nmap's optional argument: only more of the letter, or a
 * number). */
static int opt_level(struct opt_state *st, const char *word, char c, const char *rest,
                     int *level) {
  if (*rest == '\0') {
    (*level)++;
    return 0;
  }
  if (rest[0] >= '0' && rest[0] <= '9') {
    uint64_t n;
    if (opt_uint(rest, 9, false, &n) != 0)
      return options_fail(st->err, st->errlen, word, "-%c level must be between 0 and 9", c);
    *level = (int)n;
    return 0;
  }
  for (const char *p = rest; *p; p++)
    if (*p != c) return options_fail(st->err, st->errlen, word, "unknown option");
  *level += (int)strlen(rest) + 1;
  return 0;
}

static int opt_output(struct opt_state *st, const char *word, char kind) {
  const char *path = NULL;
  int r = opt_arg(st, word, NULL, &path);
  if (r < 0) return r;
  if (*path == '\0') return options_fail(st->err, st->errlen, word, "empty output file name");
  struct options *o = st->o;
  switch (kind) {
    case 'N': o->out_normal = path; break;
    case 'X': o->out_xml = path; break;
    case 'G': o->out_grep = path; break;
    case 'J': o->out_json = path; break;
    case 'A':
      if (strcmp(path, "-") == 0)
        return options_fail(st->err, st->errlen, path, "-oA needs a base file name, not standard output");
      st->out_all = path;
      break;
    default:
      return options_fail(st->err, st->errlen, word, "unknown output format (use -oN, -oX, -oG, -oJ or -oA)");
  }
  return 0;
}

static int opt_target(struct opt_state *st, const char *spec) {
  struct options *o = st->o;
  st->o->ntarget_args++;
  return targets_add(o->targets, spec, st->err, st->errlen);
}

static int opt_iface(struct opt_state *st, const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n >= 16)
    return options_fail(st->err, st->errlen, v, "interface name must be 1-15 characters");
  for (const char *p = v; *p; p++)
    if (*p <= ' ' || *p == '/' || (unsigned char)*p >= 0x7f)
      return options_fail(st->err, st->errlen, v, "invalid interface name");
  st->o->iface = v;
  return 0;
}

/* -S ADDR: an IPv4 or IPv6 address (which one -6 wants is checked by
 * finalize); the family's bits go to o->spoof. */
static int opt_spoof(struct opt_state *st, const char *v) {
  tw_pkt_addr a;
  memset(&a, 0, sizeof a);
  if (inet_pton(AF_INET, v, &a.v4) == 1) a.family = AF_INET;
  else if (inet_pton(AF_INET6, v, &a.v6) == 1) a.family = AF_INET6;
  else return options_fail(st->err, st->errlen, v, "-S needs an IPv4 or IPv6 address");
  st->o->spoof = a;
  st->o->spoof_arg = v;
  return 0;
}

/* --dns-servers S1[,S2...]: IPv4 or IPv6 addresses, as Nmap takes them
 * (libtrawl's resolver asks them in turn). */
static int opt_dns_servers(struct opt_state *st, const char *v) {
  const char *p = v;
  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char buf[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (len == 0 || len >= sizeof buf)
      return options_fail(st->err, st->errlen, v, "--dns-servers needs IP addresses separated by commas");
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, bin) != 1 && inet_pton(AF_INET6, buf, bin) != 1)
      return options_fail(st->err, st->errlen, buf, "--dns-servers needs IP addresses separated by commas");
    if (!end) break;
    p = end + 1;
  }
  st->o->dns_servers = v;
  return 0;
}

/* Is the IPv4 address a (big-endian bytes) one RND may not draw: a
 * reserved, private, loopback, link-local, documentation, benchmark or
 * multicast range? */
static bool opt_rnd_reserved(const uint8_t *a) {
  static const struct { uint8_t b[4]; int bits; } r[] = {
      {{0, 0, 0, 0}, 8},       {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10}, {{127, 0, 0, 0}, 8},
      {{169, 254, 0, 0}, 16},  {{172, 16, 0, 0}, 12},  {{192, 0, 0, 0}, 24},  {{192, 0, 2, 0}, 24},
      {{192, 88, 99, 0}, 24},  {{192, 168, 0, 0}, 16}, {{198, 18, 0, 0}, 15}, {{198, 51, 100, 0}, 24},
      {{203, 0, 113, 0}, 24},  {{224, 0, 0, 0}, 3}};
  uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
  for (size_t k = 0; k < sizeof r / sizeof r[0]; k++) {
    uint32_t y = (uint32_t)r[k].b[0] << 24 | (uint32_t)r[k].b[1] << 16 | (uint32_t)r[k].b[2] << 8 | r[k].b[3];
    uint32_t m = ~0u << (32 - r[k].bits);
    if ((x & m) == y) return true;
  }
  return false;
}

/* -D decoy1,decoy2,ME,RND,RND:n: the sources of each raw probe, in order;
 * ME (family 0) is the scanner's own place, at random when not given, as
 * in Nmap. Decoys are addresses (trawl does not look up names here). */
static int opt_decoys(struct opt_state *st, const char *v) {
  struct options *o = st->o;
  if (o->decoys) return options_fail(st->err, st->errlen, v, "-D given twice");
  tw_pkt_addr *d = calloc(PKTOPT_DECOY_MAX, sizeof *d);
  if (!d) return errmsg_set(st->err, st->errlen, -ENOMEM, "out of memory");
  size_t n = 0;
  bool me = false;
  const char *s = v;
  int r = 0;
  for (;;) {
    size_t w = strcspn(s, ",");
    char word[64];
    if (w == 0 || w >= sizeof word) {
      r = options_fail(st->err, st->errlen, v, "-D takes addresses, ME and RND[:n] separated by commas");
      break;
    }
    memcpy(word, s, w);
    word[w] = '\0';
    unsigned long count = 0;
    if (strcmp(word, "ME") == 0) {
      if (me) { r = options_fail(st->err, st->errlen, v, "-D: ME may be given only once"); break; }
      me = true;
      if (n < PKTOPT_DECOY_MAX) n++; /* family 0 */
      else count = ~0ul;
    } else if (strcmp(word, "RND") == 0 || strncmp(word, "RND:", 4) == 0) {
      char *end = NULL;
      count = word[3] ? strtoul(word + 4, &end, 10) : 1;
      if (word[3] && (word[4] < '0' || word[4] > '9' || *end || count == 0)) {
        r = options_fail(st->err, st->errlen, word, "-D: RND:n needs a count of 1 or more");
        break;
      }
      while (count && n < PKTOPT_DECOY_MAX) {
        uint8_t a[4];
        if (getrandom(a, 4, 0) != 4) { r = errmsg_set(st->err, st->errlen, -EIO, "getrandom failed"); break; }
        if (opt_rnd_reserved(a)) continue;
        d[n].family = AF_INET;
        memcpy(d[n].b, a, 4);
        n++;
        count--;
      }
      if (r < 0) break;
    } else {
      if (inet_pton(AF_INET, word, &d[n].v4) == 1) d[n].family = AF_INET;
      else if (inet_pton(AF_INET6, word, &d[n].v6) == 1) d[n].family = AF_INET6;
      else { r = options_fail(st->err, st->errlen, word, "-D takes IP addresses (not names), ME and RND[:n]"); break; }
      if (n < PKTOPT_DECOY_MAX) n++;
      else count = 1;
    }
    if (count) { r = options_fail(st->err, st->errlen, v, "-D takes at most %d decoys, ME included", PKTOPT_DECOY_MAX); break; }
    s += w;
    if (!*s) break;
    s++;
  }
  if (r == 0 && !me) { /* ME at a random place, as Nmap does */
    if (n >= PKTOPT_DECOY_MAX) {
      r = options_fail(st->err, st->errlen, v, "-D takes at most %d decoys, ME included", PKTOPT_DECOY_MAX);
    } else {
      uint32_t x = 0;
      if (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x) x = 0;
      size_t at = x % (n + 1);
      memmove(d + at + 1, d + at, (n - at) * sizeof *d);
      memset(d + at, 0, sizeof *d);
      n++;
    }
  }
  if (r < 0) {
    free(d);
    return r;
  }
  o->decoys = d;
  o->ndecoys = n;
  return 0;
}

static int opt_do_long(struct opt_state *st, int id, const char *word,
                       const char *v) {
  struct options *o = st->o;
  uint64_t n;
  int r = 0;
  switch (id) {
    case O_HELP: o->help = true; break;
    case O_VERSION: o->version = true; break;
    case O_DRYRUN: o->dry_run = true; break;
    case O_TOPPORTS:
      r = opt_number(st, "--top-ports", v, 1, 65536, false, &n);
      if (r == 0) o->top_ports = (long)n;
      break;
    case O_EXCLPORTS: o->exclude_ports = v; break;
    case O_APPENDOUT: o->append_output = true; break;
    case O_NONINTERACTIVE: o->noninteractive = true; break;
    case O_STYLESHEET: o->stylesheet = v; o->no_stylesheet = false; break;
    case O_WEBXML: o->stylesheet = OPT_WEBXML_HREF; o->no_stylesheet = false; break;
    case O_NOSTYLESHEET: o->no_stylesheet = true; o->stylesheet = NULL; break;
    case O_PORTRATIO: {
      const char *rest;
      double ratio;
      if (opt_decimal(v, &ratio, &rest) < 0 || *rest != '\0' || ratio > 1)
        return options_fail(st->err, st->errlen, v, "--port-ratio must be a decimal from 0 to 1");
      o->port_ratio = ratio;
      break;
    }
    case O_MINRATE:
    case O_MAXRATE: {
      double rate;
      if (options_parse_rate(v, &rate) != 0)
        return options_fail(st->err, st->errlen, v, "invalid rate for %s (packets per second, more than 0)", word);
      if (id == O_MINRATE) o->min_rate = rate;
      else o->max_rate = rate;
      break;
    }
    case O_MAXRETRIES:
      r = opt_number(st, "--max-retries", v, 0, 100, false, &n);
      if (r == 0) o->max_retries = (long)n;
      break;
    case O_HOSTTIMEOUT: r = opt_time(st, word, v, &o->host_timeout_ms); break;
    case O_SCANDELAY: r = opt_time(st, word, v, &o->scan_delay_ms); break;
    case O_MINRTT: r = opt_time(st, word, v, &o->min_rtt_ms); break;
    case O_MAXRTT: r = opt_time(st, word, v, &o->max_rtt_ms); break;
    case O_INITRTT: r = opt_time(st, word, v, &o->initial_rtt_ms); break;
    case O_STATSEVERY: r = opt_time(st, word, v, &o->stats_every_ms); break;
    case O_SCRIPTTIMEOUT: r = opt_time(st, word, v, &o->script_timeout_ms); break;
    case O_OPEN: o->open_only = true; break;
    case O_REASON: o->reason = true; break;
    case O_EXCLUDE:
      o->nexclude_args++;
      r = targets_exclude(o->targets, v, st->err, st->errlen);
      break;
    case O_EXCLUDEFILE:
      o->nexclude_args++;
      r = targets_exclude_file(o->targets, v, st->err, st->errlen);
      break;
    case O_SEED:
      r = opt_number(st, "--seed", v, 0, UINT64_MAX, true, &o->seed);
      o->seed_set = r == 0;
      break;
    case O_SCANFLAGS: r = opt_scanflags(st, v); break;
    case O_SHARDS: r = opt_number(st, "--shards", v, 1, 1u << 20, false, &o->shards); break;
    case O_SHARD:
      r = opt_number(st, "--shard", v, 0, (1u << 20) - 1, false, &o->shard);
      st->shard_set = true;
      break;
    case O_RESUME: o->resume = v; break;
    case O_PRIV: o->privileged = 1; break;
    case O_UNPRIV: o->privileged = 0; break;
    case O_MAXHOSTGROUP:
      r = opt_number(st, "--max-hostgroup", v, 1, 1u << 20, false, &o->max_hostgroup);
      break;
    case O_MINHOSTGROUP:
      r = opt_number(st, "--min-hostgroup", v, 1, 100000, false, &o->min_hostgroup);
      break;
    case O_MINPAR:
    case O_MAXPAR:
      r = opt_number(st, word, v, 1, OPT_PARALLELISM_MAX, false,
                     id == O_MINPAR ? &o->min_parallelism : &o->max_parallelism);
      break;
    case O_MAXSCANDELAY: r = opt_time(st, word, v, &o->max_scan_delay_ms); break;
    case O_DNSSERVERS: r = opt_dns_servers(st, v); break;
    case O_SYSTEMDNS: o->system_dns = true; break;
    case O_PRIVUSER:
      if (!*v) r = options_fail(st->err, st->errlen, v, "--privileged-user needs a user name");
      else o->privileged_user = v;
      break;
    case O_SRCPORT:
      r = opt_number(st, word, v, 0, 65535, false, &n);
      if (r == 0) o->source_port = (long)n;
      break;
    case O_PKTTRACE: o->packet_trace = true; break;
    case O_TTL:
      r = opt_number(st, word, v, 0, 255, false, &n);
      if (r == 0) o->ttl = (int)n;
      break;
    case O_DATA:
    case O_DATASTRING:
    case O_DATALENGTH: r = opt_data(st, id, word, v); break;
    case O_BADSUM: o->badsum = true; break;
    case O_IPOPTIONS: {
      const char *why = "";
      int len = pktopt_ipopt_parse(v, o->ipopt, &why);
      if (len < 0) r = options_fail(st->err, st->errlen, v, "--ip-options %s", why);
      else o->ipopt_len = (size_t)len;
      break;
    }
    case O_SENDIP: o->send_ip = true; break;
    case O_MTU:
      r = opt_number(st, word, v, 1, 65528, false, &n);
      if (r == 0 && n % 8) r = options_fail(st->err, st->errlen, v, "--mtu must be a multiple of 8 (the fragments' payload)");
      if (r == 0) {
        o->frag = (unsigned)n;
        o->frag_opt = "--mtu";
      }
      break;
    case O_SCRIPT: o->scripts = v; break;
    case O_SCRIPTARGS: o->script_args = v; break;
    case O_SCRIPTARGSFILE: o->script_args_file = v; break;
    case O_SCRIPTTRACE: o->script_trace = true; break;
    case O_SCRIPTHELP: o->script_help = v; break;
    case O_SCRIPTUPDATEDB: o->script_updatedb = true; break;
    case O_VINTENSITY:
      r = opt_number(st, "--version-intensity", v, 0, 9, false, &n);
      if (r == 0) o->version_intensity = (int)n;
      break;
    case O_VLIGHT: o->version_intensity = 2; break;
    case O_VALL: o->version_intensity = 9; break;
    case O_VTRACE: o->version_trace = true; break;
    case O_TRACEROUTE: o->traceroute = true; break;
    case O_VERSIONDB:
      if (!*v) r = options_fail(st->err, st->errlen, v, "--versiondb needs a file name");
      else o->versiondb = v;
      break;
    case O_SCRIPTTHREADS:
      /* trawl's own (Nmap has none); TRAWL_SCRIPT_THREADS when not given */
      r = opt_number(st, word, v, 1, 1000000, false, &n);
      if (r == 0) o->script_threads = (unsigned)n;
      break;
    case O_DATADIR: o->datadir = v; break;
    case O_OSSCANLIMIT: o->osscan_limit = true; break;
    case O_OSSCANGUESS: o->osscan_guess = true; break;
    case O_OSPERPORT: o->osscan_per_port = o->os_scan = true; break;
    case O_MAXOSTRIES:
      r = opt_number(st, "--max-os-tries", v, 1, 50, false, &n);
      if (r == 0) o->max_os_tries = (long)n;
      break;
  }
  if (r == 0 && v != NULL && *v == '\0' && id != O_EXCLUDE && id != O_DATASTRING)
    r = options_fail(st->err, st->errlen, v, "empty argument for %s", word);
  return r;
}

/* A long option (name without dashes, possibly "name=value"). Returns 1
 * when the name is not a long option. */
static int opt_long_word(struct opt_state *st, const char *word,
                         const char *name) {
  const char *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  for (size_t k = 0; k < sizeof opt_long / sizeof opt_long[0]; k++) {
    if (strlen(opt_long[k].name) != len || strncmp(opt_long[k].name, name, len) != 0) continue;
    const char *v = NULL;
    char canon[40]; /* "--name" for messages, however it was spelled */
    snprintf(canon, sizeof canon, "--%s", opt_long[k].name);
    if (opt_long[k].has_arg) {
      int r = opt_arg(st, canon, eq ? eq + 1 : NULL, &v);
      if (r < 0) return r;
    } else if (eq) {
      return options_fail(st->err, st->errlen, word, "option takes no argument");
    }
    return opt_do_long(st, opt_long[k].id, canon, v);
  }
  /* Nmap's Ethernet-level sending: not in trawl yet, said in one line */
  static const char *const eth[] = {"send-eth", "spoof-mac"};
  for (size_t k = 0; k < sizeof eth / sizeof eth[0]; k++)
    if (strlen(eth[k]) == len && strncmp(eth[k], name, len) == 0)
      return options_fail(st->err, st->errlen, word,
                      "--%s is not in trawl yet: probes are sent on raw IP sockets (as with --send-ip)", eth[k]);
  return 1;
}

static int opt_short(struct opt_state *st, const char *word) {
  struct options *o = st->o;
  const char *rest = word + 2;
  const char *v = NULL;
  int r;
  switch (word[1]) {
    case 's': return opt_scan_letters(st, word, rest);
    case 'P': return opt_ping(st, word, rest);
    case 'p':
      r = opt_arg(st, word, *rest ? rest : NULL, &v);
      if (r == 0) o->port_spec = v;
      return r;
    case 'T':
      r = opt_arg(st, word, *rest ? rest : NULL, &v);
      if (r == 0) r = opt_timing(st, v);
      return r;
    case 'o':
      if (rest[0] == '\0' || rest[1] != '\0')
        return options_fail(st->err, st->errlen, word, "unknown output format (use -oN, -oX, -oG, -oJ or -oA)");
      return opt_output(st, word, rest[0]);
    case 'i':
      if (rest[0] != 'L')
        return options_fail(st->err, st->errlen, word, rest[0] == 'R' ? "unsupported option (random targets)" : "unknown option");
      r = opt_arg(st, word, rest[1] ? rest + 1 : NULL, &v);
      if (r == 0) {
        o->ntarget_args++;
        o->input_list = v;
        r = targets_add_file(o->targets, v, st->err, st->errlen);
      }
      return r;
    case 'e':
      r = opt_arg(st, word, *rest ? rest : NULL, &v);
      return r < 0 ? r : opt_iface(st, v);
    case 'S':
      r = opt_arg(st, word, *rest ? rest : NULL, &v);
      return r < 0 ? r : opt_spoof(st, v);
    case 'D':
      r = opt_arg(st, word, *rest ? rest : NULL, &v);
      return r < 0 ? r : opt_decoys(st, v);
    case 'g':
      r = opt_arg(st, word, *rest ? rest : NULL, &v);
      return r < 0 ? r : opt_do_long(st, O_SRCPORT, "-g", v);
    case 'v': return opt_level(st, word, 'v', rest, &o->verbose);
    case 'd': return opt_level(st, word, 'd', rest, &o->debug);
    case 'A':
      if (*rest) return options_fail(st->err, st->errlen, word, "unrecognized option");
      o->aggressive = true;
      return 0;
    case 'O':
      if (*rest) return options_fail(st->err, st->errlen, word, "unrecognized option");
      o->os_scan = true;
      return 0;
    default: break;
  }
  /* bundles of flags without arguments, as Nmap's getopt takes them:
   * -n -R -6 -F -r -h -V and -Pn, e.g. -nF, -nPn; -v/-d last, taking the
   * rest of the word as their level, as Nmap does: -nvv, -nv3 (Nmap
   * refuses -vvn and -vd, and so does trawl) */
  for (const char *c = word + 1; *c; c++) {
    switch (*c) {
      case 'v': return opt_level(st, word, 'v', c + 1, &o->verbose);
      case 'd': return opt_level(st, word, 'd', c + 1, &o->debug);
      case 'P':
        if (c[1] != 'n' && c[1] != '0') return options_fail(st->err, st->errlen, word, "unrecognized option");
        o->skip_discovery = true;
        c++;
        break;
      case 'n': o->dns = DNS_NEVER; break;
      case 'R': o->dns = DNS_ALWAYS; break;
      case '6': o->ipv6 = true; break;
      case 'F': o->fast = true; break;
      case 'r': o->ports_in_order = true; break;
      case 'f': /* -f: 8-byte fragments, -ff (or -f -f): 16 */
        if (o->frag_opt && strcmp(o->frag_opt, "--mtu") == 0) break; /* --mtu wins, as in Nmap */
        o->frag = o->frag ? 16 : 8;
        o->frag_opt = "-f";
        break;
      case 'h': o->help = true; break;
      case 'V': o->version = true; break;
      default: return options_fail(st->err, st->errlen, word, "unrecognized option");
    }
  }
  return 0;
}

static int opt_join_args(struct options *o, int argc, char **argv) {
  size_t len = 1;
  for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
  o->args = malloc(len);
  if (o->args == NULL) return -ENOMEM;
  char *p = o->args;
  for (int i = 0; i < argc; i++) {
    size_t l = strlen(argv[i]);
    if (i) *p++ = ' ';
    memcpy(p, argv[i], l);
    p += l;
  }
  *p = '\0';
  return 0;
}

int options_parse(struct options *o, int argc, char **argv, char *err,
                  size_t errlen) {
  options_init(o);
  o->targets = targets_new();
  if (o->targets == NULL || opt_join_args(o, argc, argv) < 0)
    return errmsg_set(err, errlen, -ENOMEM, "out of memory");
  struct opt_state st = {.o = o, .argc = argc, .argv = argv, .err = err, .errlen = errlen};
  bool only_targets = false;
  int resume_words = 0; /* words of --resume FILE (1 or 2) */
  for (st.i = 1; st.i < argc; st.i++) {
    const char *w = argv[st.i];
    int r, first = st.i;
    if (only_targets || w[0] != '-' || w[1] == '\0') {
      r = opt_target(&st, w);
    } else if (w[1] == '-') {
      if (w[2] == '\0') {
        only_targets = true;
        continue;
      }
      r = opt_long_word(&st, w, w + 2);
      if (r == 1) r = options_fail(err, errlen, w, "unrecognized option");
    } else {
      /* getopt_long_only: a single-dash word may be a long option */
      r = strlen(w) > 2 ? opt_long_word(&st, w, w + 1) : 1;
      if (r == 1) r = opt_short(&st, w);
    }
    if (r < 0) return r;
    if (o->resume && resume_words == 0) resume_words = st.i - first + 1;
  }
  /* --resume: everything comes from the file, as with Nmap; an option
   * given with it would be silently lost */
  if (o->resume && argc - 1 > resume_words)
    return options_fail(err, errlen, o->resume,
                    "--resume takes no other options (the command line comes from the file)");
  if (st.out_all) {
    /* -oA BASE: every format, unless one was given on its own */
    char **bufs = o->owned;
    const char **dst[4] = {&o->out_normal, &o->out_xml, &o->out_grep, &o->out_json};
    for (int k = 0; k < 4; k++) {
      if (*dst[k]) continue;
      free(bufs[k]);
      if (asprintf(&bufs[k], "%s%s", st.out_all, output_all_ext[k]) < 0) {
        bufs[k] = NULL;
        return errmsg_set(err, errlen, -ENOMEM, "out of memory");
      }
      *dst[k] = bufs[k];
    }
  }
  if (st.shard_set && o->shard >= o->shards) {
    char v[32];
    snprintf(v, sizeof v, "%" PRIu64, o->shard);
    return options_fail(err, errlen, v, "--shard must be less than --shards (%" PRIu64 ")", o->shards);
  }
  return 0;
}
