/* output.h: the output writers' common interface. Each format (normal,
 * XML, grepable, JSON Lines) is a table of functions called as the scan
 * goes: begin once, host for each host as soon as it is complete, end once
 * (also after an interruption), and the pre- and postrule script results
 * (Nmap's <prescript>/<postscript>) when those scripts have ended. Every
 * call flushes the stream, so a reader (or a crash) sees every finished
 * host.
 *
 *   struct output o;
 *   output_init(&o, &output_xml_ops, fp, &opts);
 *   output_begin(&o, &info);
 *   output_prescript(&o, pre, npre);             (after the prerule scripts)
 *   output_host(&o, &host);  ...
 *   output_postscript(&o, post, npost);          (after the postrule scripts)
 *   output_end(&o, &end);
 *
 * Each call returns 0, or the stream's first error (a negative errno, e.g.
 * -ENOSPC; -EIO when the stream did not say): after an error the output
 * writes nothing more and every call returns that error again. */
#ifndef TRAWL_OUTPUT_H
#define TRAWL_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/result.h"

struct output_opts {
  int verbose, debug;
  bool reason;    /* --reason: REASON column and "received ..." */
  bool open_only; /* --open: show only open and open|filtered ports */
  bool to_file;   /* normal output: "# ... scan initiated" header (-oN)
                     rather than "Starting ..." (terminal) */
  const char *stylesheet; /* XML: href of an xml-stylesheet PI, or NULL */
};

struct output;
struct output_ops {
  const char *name; /* "normal", "xml", "grepable", "json" */
  void (*begin)(struct output *o);
  void (*host)(struct output *o, const struct host_result *h);
  void (*end)(struct output *o, const struct scan_end *e);
  /* Pre- (post == false) or postrule script results, n > 0; NULL when the
   * format has no place for them (grepable, like Nmap's). */
  void (*rule_scripts)(struct output *o, bool post, const struct script_result *r, size_t n);
};

struct output {
  FILE *fp;
  const struct output_ops *ops;
  struct output_opts opts;
  const struct scan_info *info; /* from output_begin; must outlive o */
  int err;                      /* first write error, 0: none */
};

extern const struct output_ops output_normal_ops, output_xml_ops,
    output_grep_ops, output_json_ops;

void output_init(struct output *o, const struct output_ops *ops, FILE *fp,
                 const struct output_opts *opts);
int output_begin(struct output *o, const struct scan_info *info);
int output_host(struct output *o, const struct host_result *h);
int output_end(struct output *o, const struct scan_end *e);
/* Text written as it is (the --resume marker), with the same error rule. */
int output_raw(struct output *o, const char *text);
/* Results of the prerule scripts (between begin and the first host) and
 * of the postrule scripts (after the last host, before end). Nothing is
 * written when n is 0: Nmap writes no empty <prescript>. */
int output_prescript(struct output *o, const struct script_result *r, size_t n);
int output_postscript(struct output *o, const struct script_result *r, size_t n);

/* ---- helpers shared by the writers --------------------------------------- */

/* Ports of a host grouped by (protocol, state), listed and bulk together,
 * and which groups are folded into "Not shown" / <extraports>. */
#define OUTPUT_MAX_REASONS 8
struct output_group {
  uint64_t count;
  bool hidden;
  size_t nreasons;
  struct {
    const char *reason;
    uint64_t count;
  } reasons[OUTPUT_MAX_REASONS]; /* more distinct reasons fold into the last */
};
struct output_summary {
  struct output_group g[PROTO_COUNT][PORT_NSTATES];
  uint64_t total;  /* every port of the host */
  uint64_t hidden; /* ports in hidden groups */
};
/* A state is hidden when it has more than this many ports (open never is). */
#define OUTPUT_EXTRAPORTS_MIN 26
void output_summarize(const struct host_result *h, const struct output_opts *o,
                      struct output_summary *s);
bool output_port_shown(const struct output_summary *s,
                       const struct port_result *p);
/* The shown ports of h sorted by port number, then protocol, as a malloc'd
 * array of *n pointers (free() it). NULL with *n == 0 when there are none
 * or memory ran out. */
const struct port_result **output_shown_ports(const struct host_result *h,
                                              const struct output_summary *s,
                                              size_t *n);

/* The name to show for a host: the first user-given name, else the first
 * PTR name, else NULL. */
const char *output_host_name(const struct host_result *h);
/* -oA BASE writes BASE plus these: normal, XML, grepable, JSON Lines. */
extern const char *const output_all_ext[4];
/* "Sat Jan  6 10:00:00 2024" (local time, ctime() style) */
const char *output_ctime(int64_t t, char *buf, size_t len);
/* "2024-01-06 10:00 UTC" */
const char *output_datetime(int64_t t, char *buf, size_t len);
/* A duration in seconds with two significant digits and no exponent, as
 * in "Host is up (0.0012s latency)": "0.0012", "0.17", "1.2", "35". */
const char *output_latency(int64_t us, char *buf, size_t len);
/* "aa:bb:cc:dd:ee:ff" in upper case, as Nmap prints MACs. */
const char *output_mac(const uint8_t mac[6], char *buf, size_t len);

/* ---- version detection (-sV), as Nmap shows it ---------------------------- */
/* The SERVICE cell: "ssl/" before a name found inside TLS; "?" after a
 * port-table name that version detection ran on and could not confirm
 * (an open port: "3d-nfsd?"); "unknown" when there is no name. */
const char *output_service_cell(const struct output *o, const struct port_result *p, char *buf,
                                size_t len);
/* The VERSION cell: "product version (extrainfo)", "" when nothing matched. */
const char *output_version_cell(const struct port_result *p, char *buf, size_t len);
/* The text of a host's "Service Info:" line — "Host: X; OSs: Unix, Linux;
 * Device: router; CPE: cpe:/o:linux:linux_kernel" — from its ports'
 * matches, distinct values in port order; "" when there is none. */
const char *output_service_info(const struct host_result *h, char *buf, size_t len);

#endif
