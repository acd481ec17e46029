/* mread.h: reading trawl's own outputs back (`trawl merge`, src/cli/merge.c).
 *
 * One reader per input file. The format is told from the first bytes: XML
 * (-oX, "<?xml"), JSON Lines (-oJ, "{"), grepable (-oG, "# "). The reader
 * hands out the file's records one at a time, each filled into the same
 * structs the scan gives the output writers (core/result.h), so that the
 * merge writes through the ordinary writers (output/output.h):
 *
 *   MREAD_BEGIN  the scan's header: r->begin (command line, start, scaninfo)
 *   MREAD_HOST   one complete host: r->host (the caller may take it over)
 *   MREAD_MARK   a --resume marker: r->mark_next, r->mark_seed
 *   MREAD_RULE   the pre- or postrule scripts' results (XML <prescript>,
 *                <postscript>; JSON's records of those types): the
 *                hostscripts of r->rule, r->rule_post says which
 *   MREAD_END    the scan's end: r->end (time, elapsed, hosts, exit)
 *
 * A file may hold more than one scan (a --resume'd grepable or JSON output
 * is appended to): each starts with its own MREAD_BEGIN.
 *
 * The readers understand the subset trawl writes, not XML or JSON at
 * large, and bound everything: a line, a tag or a text longer than
 * MREAD_TOKEN_MAX, more than MREAD_MAX_PORTS ports or MREAD_MAX_NEST
 * nested script tables is an error, never an allocation. Memory is one
 * host at a time. Errors are one line in r->err ("FILE: line N: ..."). */
#ifndef TRAWL_MREAD_H
#define TRAWL_MREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/result.h"

#define MREAD_TOKEN_MAX (1u << 20) /* bytes in one line / tag / text */
#define MREAD_MAX_PORTS 140000u    /* listed ports of one host (2 x 65536 + slack) */
#define MREAD_MAX_NEST 32          /* script tables in tables */
#define MREAD_MAX_TYPES 12         /* <scaninfo> entries */
#define MREAD_MAX_SCRIPTS 4096     /* scripts of one host */

enum mread_fmt { MREAD_XML, MREAD_GREP, MREAD_JSON };
enum mread_rec { MREAD_EOF = 0, MREAD_BEGIN, MREAD_HOST, MREAD_MARK, MREAD_END, MREAD_RULE };

struct mread_begin {
  char *args; /* the command line as written; "" when the format had none */
  int64_t start;
  int verbose, debug;
  struct scan_info_type types[MREAD_MAX_TYPES];
  uint16_t *ports[MREAD_MAX_TYPES]; /* types[i].ports points here */
  size_t ntypes;
};

struct mread_end {
  int64_t time;
  double elapsed;
  uint64_t up, down, total;
  bool error;     /* exit="error": interrupted or failed */
  char *errormsg; /* NULL: none */
};

struct mread {
  FILE *fp;
  const char *name; /* for messages */
  enum mread_fmt fmt;
  unsigned long line;   /* 1-based line of the reader's position */
  bool line_ended;      /* mread_line: the last line ended in '\n' */
  bool version_scan;    /* -sV/-A in the command line: table names get "?" */
  struct mread_begin begin;
  struct host_result host;
  struct host_result rule; /* MREAD_RULE: its hostscripts only */
  bool rule_post;
  uint64_t mark_next, mark_seed;
  struct mread_end end;
  bool in_host;           /* EOF now would cut a host */
  char cur_addr[48];      /* address of the host being read, "" unknown */
  char last_addr[48];     /* address of the last complete host, "" none */
  uint64_t nhosts;        /* complete hosts so far */
  char *stylesheet;       /* XML: the href of its <?xml-stylesheet?>, or NULL */
  char err[512];
  /* the format's own state */
  char *buf;
  size_t len, cap;
  char *pending; /* grepable: a line read ahead */
  void *fx;      /* XML: its parse state */
};

/* Reads the first bytes of fp to tell the format. 0, or -1 (r->err). */
int mread_open(struct mread *r, FILE *fp, const char *name);
/* The next record (enum mread_rec, MREAD_EOF at the end of the file) or
 * -1 with r->err set. After an error the reader only returns -1. */
int mread_next(struct mread *r);
void mread_close(struct mread *r);
const char *mread_fmt_name(enum mread_fmt f);

/* ---- shared by the format readers (mread.c) ------------------------------ */
int mread_fail(struct mread *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads one line (without its '\n') into r->buf. 1 with a line, 0 at EOF
 * (a last line without '\n' is returned first), -1 when longer than
 * MREAD_TOKEN_MAX or out of memory. *eol says whether it ended in '\n'. */
int mread_line(struct mread *r, bool *eol);
/* Appends c to r->buf, bounded: 0 or -1 (r->err). */
int mread_putc(struct mread *r, char c);
int mread_state(const char *s, enum port_state *st);
int mread_proto(const char *s, enum scan_proto *p);
int mread_u64(const char *s, uint64_t max, uint64_t *v);
int mread_i64(const char *s, int64_t *v);
int mread_addr(const char *s, struct tgt_addr *a);
int mread_mac(const char *s, uint8_t mac[6]);
int mread_scan_type(const char *s, enum scan_type *t);
/* The services list "1-3,22" of a scaninfo into begin->types[i]. */
int mread_add_type(struct mread *r, enum scan_type t, enum scan_proto p, const char *services,
                   int scanflags);
/* A new scan's header starts: the previous header and end are dropped. */
void mread_begin_reset(struct mread *r);
/* After the header's command line is known: version_scan. */
void mread_note_args(struct mread *r);
/* Starting a host / a host complete: bookkeeping for messages. */
void mread_host_begin(struct mread *r);
int mread_host_done(struct mread *r);
/* A resume marker "trawl-resume: next-target=N seed=S" in s: 1, else 0. */
int mread_marker(struct mread *r, const char *s);

/* A host's OS result and trace (mread-os.c), shared by the XML and JSON
 * readers; each returns 0/-1 (r->err) or the new item/NULL. */
#define MREAD_OS_MAX 64 /* matches, classes of a match, CPEs of a class */
struct os_result *mread_os(struct mread *r); /* r->host.os, made on first use */
int mread_os_portused(struct mread *r, const char *state, const char *proto, uint64_t port);
struct os_match_item *mread_os_match(struct mread *r, const char *name, uint64_t accuracy,
                                     uint64_t line);
struct os_class_result *mread_os_class(struct mread *r, struct os_match_item *m, const char *type,
                                       const char *vendor, const char *family, const char *gen,
                                       uint64_t accuracy);
int mread_os_cpe(struct mread *r, struct os_class_result *c, const char *cpe);
int mread_os_fingerprint(struct mread *r, const char *fp);
int mread_os_seq(struct mread *r, int64_t index, const char *difficulty, const char *values);
/* <ipidsequence> (ts false) or <tcptssequence> (ts true): class, values */
int mread_os_class_values(struct mread *r, bool ts, const char *cls, const char *values);
int mread_os_uptime(struct mread *r, int64_t seconds, const char *lastboot);
/* After the host's OS data: verdict as given (enum os_result_verdict) or,
 * -1, inferred (XML); unreliable inferred with it. */
void mread_os_finish(struct mread *r, int verdict);
/* proto NULL: a trace on our link (no probe named). */
int mread_trace_begin(struct mread *r, const char *proto, uint64_t port, bool direct);
int mread_trace_hop(struct mread *r, uint64_t ttl, const char *addr, double rtt_ms, const char *name);

int mread_xml_next(struct mread *r);
void mread_xml_free(struct mread *r);
int mread_grep_next(struct mread *r);
int mread_json_next(struct mread *r);

#endif
