/* service-probes.h: Nmap's version-detection database (nmap-service-probes),
 * read at run time from Debian's nmap-common and never copied here.
 *
 * The file is a list of probes. Each starts with
 *   Probe TCP|UDP NAME q<d>PAYLOAD<d> [no-payload]
 * (d any delimiter; PAYLOAD with the escapes \0 \a \b \f \n \r \t \v \xHH
 * \\ \" \' and \<d>) and is followed by its directives:
 *   match SERVICE m<d>REGEX<d>[is] [p/../ v/../ i/../ h/../ o/../ d/../
 *                                   cpe:/../[a] ...]   (any delimiters)
 *   softmatch SERVICE m<d>REGEX<d>[is] [fields]
 *   ports LIST, sslports LIST   (21,80,8000-8010; several lines add up)
 *   rarity 1-9, totalwaitms 100-300000, tcpwrappedms 100-300000
 *   fallback NAME[,NAME...]
 * One `Exclude PORTSPEC` (the -p syntax, T:/U: prefixes) may precede the
 * probes. Lines starting with '#' and blank lines are skipped.
 *
 * Errors in the file never stop the load: a malformed line, or a regex that
 * PCRE2 rejects, is reported through opts->warn as "FILE:LINE: reason" and
 * skipped (a bad Probe line skips the whole probe up to the next Probe).
 * Only a missing or unreadable file fails the load, with one line that says
 * how to install or point to the file.
 *
 * Regexes are compiled as Nmap compiles them: PCRE2 defaults (binary
 * subject, no UTF) plus PCRE2_CASELESS for `i` and PCRE2_DOTALL for `s`,
 * then JIT-compiled up front (see sp_load_opts.jit). The loaded database is
 * immutable, so matchers on several threads may share it. */
#ifndef TRAWL_DB_SERVICE_PROBES_H
#define TRAWL_DB_SERVICE_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

#define SP_FILE "nmap-service-probes"

/* Nmap's limits and defaults. */
#define SP_MAX_FALLBACKS 20   /* listed fallbacks per probe */
#define SP_DEFAULT_RARITY 5
#define SP_DEFAULT_WAITMS 5000
#define SP_DEFAULT_TCPWRAPPEDMS 2000
#define SP_MAX_CPES 16        /* cpe:/ templates per match line */
#define SP_MAX_FILE (64u << 20) /* refuse larger files */

/* The version fields of a match line, in Nmap's order. */
enum sp_field {
  SP_PRODUCT,    /* p/ */
  SP_VERSION,    /* v/ */
  SP_INFO,       /* i/ (extrainfo) */
  SP_HOSTNAME,   /* h/ */
  SP_OSTYPE,     /* o/ */
  SP_DEVICETYPE, /* d/ */
  SP_FIELD_COUNT
};

struct pcre2_real_code_8; /* pcre2_code, without pulling in pcre2.h */

struct sp_match {
  char *service;  /* e.g. "ssh", "ssl/http" */
  char *regex;    /* the pattern text, for traces */
  struct pcre2_real_code_8 *re;
  uint32_t ncaptures;
  uint8_t soft, icase, dotall;
  char *tmpl[SP_FIELD_COUNT]; /* NULL when absent */
  char *cpe[SP_MAX_CPES];     /* "cpe:/a:vendor:product", as Nmap keeps it */
  uint8_t cpe_aflag[SP_MAX_CPES]; /* the trailing `a` (Nmap parses and ignores it) */
  uint8_t ncpe;
  unsigned line;
};

struct sp_portrange {
  uint16_t lo, hi;
};

struct sp_ports {
  struct sp_portrange *v;
  size_t n;
};

struct sp_probe {
  char *name;
  enum scan_proto proto;
  uint8_t *payload; /* NULL when empty (the NULL probe) */
  size_t payload_len;
  uint8_t no_payload; /* not to be used as a UDP port-scan payload */
  uint8_t rarity;
  unsigned totalwaitms, tcpwrappedms;
  struct sp_ports ports, sslports;
  struct sp_match *matches;
  size_t nmatches;
  char **services; /* distinct service names its matches can give */
  size_t nservices;
  /* Probes whose matches apply to this probe's responses, in order:
   * itself, its `fallback` list, then (TCP) the NULL probe. Indices into
   * sp_db.probes. */
  int32_t fallback[SP_MAX_FALLBACKS + 2];
  uint8_t nfallback;
  unsigned line;
};

struct portset;

struct sp_db {
  char *path;
  struct sp_probe *probes; /* file order */
  size_t nprobes;
  int32_t null_probe;      /* index of the NULL probe, -1 if none */
  struct portset *exclude; /* NULL when the file has no Exclude */
  size_t nmatches;         /* match + softmatch lines loaded */
  uint32_t max_captures;   /* largest capture count of any regex */
  size_t warnings;         /* lines reported and skipped */
  uint64_t load_ns;        /* time to read, parse and compile */
};

typedef void (*sp_warn_fn)(void *ud, const char *msg);

/* When the regexes are JIT-compiled. Measured on Nmap 7.93's file (148
 * probes, 11,917 lines; tests/unit/test_version_realdb.c prints the
 * numbers, on a shared 2-core machine): parsing and compiling take
 * ~60-270 ms, the JIT ~100-520 ms more. The JIT keeps the worst single
 * match far under 1 ms on long responses (~60-85 us against ~800-900 us
 * interpreted on 64 KiB), so it is wanted. Lazily on first use would stall
 * the loop at the first banner (JIT of the NULL probe's 4,029 lines alone:
 * ~20-100 ms), so it is done up front: at load (EAGER), or later by
 * sp_jit_compile() on a worker thread while the port scan runs (DEFER). */
enum sp_jit {
  SP_JIT_EAGER = 0, /* JIT every regex at load (the default) */
  SP_JIT_NONE = 1,  /* interpreter only (for measuring) */
  SP_JIT_DEFER = 2, /* no JIT at load; call sp_jit_compile() before matching */
};

struct sp_load_opts {
  sp_warn_fn warn; /* each warning, one line without newline; may be NULL */
  void *ud;
  enum sp_jit jit;
};

/* Loads a file. 0, or a negative code with one line in err (a missing or
 * unreadable file says how to install or point to it). opts may be NULL. */
int sp_load(struct sp_db **out, const char *path, const struct sp_load_opts *opts,
            char *err, size_t errlen);
/* Finds the file: versiondb when set (--versiondb), else SP_FILE by Nmap's
 * lookup order (core/datadir.h) with datadir (--datadir, may be NULL). */
int sp_load_default(struct sp_db **out, const char *datadir, const char *versiondb,
                    const struct sp_load_opts *opts, char *err, size_t errlen);
/* Parses text already in memory; name is used in warnings. */
int sp_parse(struct sp_db **out, const char *name, const char *text, size_t len,
             const struct sp_load_opts *opts, char *err, size_t errlen);
void sp_free(struct sp_db *db);
/* JIT-compiles the regexes of one probe (index), or of all when probe < 0,
 * for a database loaded with SP_JIT_DEFER. It writes to the compiled
 * regexes: no matcher may use db meanwhile (run it on one worker thread
 * before the version stage starts). Returns how many were compiled. */
size_t sp_jit_compile(struct sp_db *db, int32_t probe);

/* Escapes as in probe payloads and $SUBST() arguments: \0 (always a single
 * NUL, never octal) \a \b \f \n \r \t \v \xHH \\ \' \" and, when delim
 * is not '\0', \<delim>. Decodes n bytes of s into out (room for n bytes):
 * 0 and *outlen, or -1 with a reason in *why. */
int sp_unescape(const char *s, size_t n, char delim, uint8_t *out, size_t *outlen,
                const char **why);
/* The first delim in s that is not escaped by a backslash, or NULL. */
const char *sp_escape_end(const char *s, char delim);

/* The probe named name for proto (NULL if none). */
const struct sp_probe *sp_probe_by_name(const struct sp_db *db, const char *name,
                                        enum scan_proto proto);
/* Whether the port is in the probe's ports (ssl = 0) or sslports (ssl = 1). */
int sp_probe_port_listed(const struct sp_probe *p, uint16_t port, int ssl);
/* Whether one of the probe's match lines can give this service (Nmap's
 * serviceIsPossible). */
int sp_probe_can_give(const struct sp_probe *p, const char *service);
/* Whether the file's Exclude directive lists the port. */
int sp_excluded(const struct sp_db *db, enum scan_proto proto, uint16_t port);

#endif
