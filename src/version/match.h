/* match.h: applying nmap-service-probes match lines to a service's
 * response, as Nmap does.
 *
 * For a response to probe P, the lines tried are P's own, then those of
 * each probe in P's fallback chain (its `fallback` list, then the NULL
 * probe for TCP), each probe's lines in file order. The first line whose
 * regex matches decides, hard or soft. A port keeps the first softmatch it
 * sees (later softmatches are ignored, Nmap's processMatch), and a hard
 * match ends its probing; the soft service narrows the probes still to be
 * sent (see probe-order.h).
 *
 * Version fields are filled from the line's templates: literal text plus
 *   $1..$9            the capture, copied as is (cut at a NUL byte)
 *   $P(n)             the capture's printable bytes only (0x20-0x7e)
 *   $SUBST(n,"a","b") the capture with every "a" replaced by "b"
 *   $I(n,">")         the capture (1-8 bytes) as an unsigned integer,
 *   $I(n,"<")         big-endian ">" or little-endian "<", in decimal
 * cpe:/ templates get each substitution lower-cased, spaces as '_' and
 * CPE's reserved characters %-escaped. Each field is bounded by Nmap's
 * size (product, version, hostname and each cpe 80 bytes, extrainfo 256,
 * ostype and devicetype 32): a template that fails (unknown command, a
 * group that did not take part, a result too long) leaves its field empty,
 * as in Nmap. Trailing spaces and commas are trimmed.
 *
 * Subjects shorter than VM_JIT_MIN_LEN run on PCRE2's interpreter, longer
 * ones on its JIT code (when the database was JIT-compiled). Measured on
 * Nmap's file, the NULL probe's 4,029 lines against one response: 40-512
 * bytes take ~125-135 us interpreted against ~230-440 us with the JIT
 * (whose per-call cost dominates when most lines fail on their first
 * bytes), 4 KiB ~220 against ~440-590; at 64 KiB the JIT's worst single
 * line is ~10x better (~60-85 us against ~720-900 us, close to the 1 ms
 * budget). Below 16 KiB the interpreter's worst line stays far under it
 * (see test_version_realdb's RESULT lines).
 *
 * Matching runs with PCRE2's match limit (VM_MATCH_LIMIT) so no regex can
 * backtrack without bound; a regex that hits it counts as no match. A
 * matcher holds scratch space and belongs to one thread; the database it
 * reads is shared and immutable. */
#ifndef TRAWL_VERSION_MATCH_H
#define TRAWL_VERSION_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "db/service-probes.h"

#define VM_FIELD_LEN 80  /* product, version, hostname, each cpe */
#define VM_EXTRA_LEN 256 /* extrainfo */
#define VM_TYPE_LEN 32   /* ostype, devicetype */
#define VM_MATCH_LIMIT 100000u
#define VM_JIT_MIN_LEN 16384u
#define VM_DEPTH_LIMIT 10000u

enum vm_kind { VM_NONE = 0, VM_SOFT = 1, VM_HARD = 2, VM_PENDING = 3 };
enum vm_cpe_part { VM_CPE_A, VM_CPE_H, VM_CPE_O, VM_CPE_COUNT };

struct vm_result {
  const struct sp_match *match; /* the line that matched, NULL if none */
  const struct sp_probe *from;  /* the probe that line belongs to */
  char field[SP_FIELD_COUNT][VM_EXTRA_LEN]; /* "" when absent */
  char cpe[VM_CPE_COUNT][VM_FIELD_LEN];     /* cpe:/a..., cpe:/h..., cpe:/o... */
  unsigned failed; /* templates that could not be filled (Nmap warns) */
};

struct vm_matcher;

/* A matcher for db's regexes. 0 or -ENOMEM. */
int vm_matcher_new(struct vm_matcher **out, const struct sp_db *db);
void vm_matcher_free(struct vm_matcher *m);
/* Times the match limit was hit (reported as no match). */
uint64_t vm_matcher_limit_hits(const struct vm_matcher *m);

/* One line's regex against resp: 1 matched (its captures stay in m for
 * vm_fill), 0 not (or the match limit was hit). */
int vm_match_line(struct vm_matcher *m, const struct sp_match *line, const uint8_t *resp,
                  size_t len);
/* Fills out from line's templates and the captures of the last successful
 * vm_match_line(m, line, resp, len). */
void vm_fill(const struct vm_matcher *m, const struct sp_match *line, const uint8_t *resp,
             size_t len, struct vm_result *out);

/* The response to probe (an index into db->probes) against its fallback
 * chain: VM_HARD or VM_SOFT with out filled, or VM_NONE (out->match NULL). */
enum vm_kind vm_match_probe(struct vm_matcher *m, const struct sp_db *db, int32_t probe,
                            const uint8_t *resp, size_t len, struct vm_result *out);

/* The same, a slice at a time, so that a long chain on a long response
 * never holds the loop: tries at most max_lines lines (0 = no limit) from
 * where *w stands, and returns VM_PENDING when they ran out undecided;
 * call again with the same w (start with {0, 0}) and the same response. */
struct vm_walk {
  unsigned fallback; /* position in the probe's fallback chain */
  size_t line;       /* line within that probe */
};
enum vm_kind vm_match_step(struct vm_matcher *m, const struct sp_db *db, int32_t probe,
                           const uint8_t *resp, size_t len, struct vm_walk *w, size_t max_lines,
                           struct vm_result *out);

/* Expands one template. subj/len is the subject; ov holds npairs (start,
 * end) offsets, group 0 first, (size_t)-1 for a group that did not take
 * part. cpe: apply the CPE transform to substitutions. out has cap bytes
 * (Nmap's field size). 0, or -1 with out "" (the field stays empty). */
int vm_expand(const char *tmpl, const uint8_t *subj, size_t len, const size_t *ov,
              uint32_t npairs, int cpe, char *out, size_t cap);

/* What a port has learned so far (Nmap's ServiceNFO match state). */
struct vm_port {
  enum vm_kind kind;   /* VM_NONE, VM_SOFT (probing goes on) or VM_HARD */
  const char *service; /* the matched service, NULL while VM_NONE */
  struct vm_result r;
};

/* Takes a match result into the port's state as Nmap does: a softmatch
 * after a match is ignored; otherwise the service is taken and each
 * non-empty field overwrites the port's. Returns 1 when this is a hard
 * match (the port is done), 0 otherwise. */
int vm_port_take(struct vm_port *st, enum vm_kind kind, const struct vm_result *r);

#endif
