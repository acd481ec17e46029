/* match.h: matching a computed fingerprint (os/fp.h) against every entry of
 * nmap-os-db (db/os-db.h), the way Nmap's second-generation matcher scores
 * them.
 *
 * Scoring one entry: for every test present in both the entry and the
 * observed fingerprint, and every attribute of that test present in both
 * with a MatchPoints weight, the weight is added to the possible points;
 * it is also added to the matched points when the observed value satisfies
 * the entry's expression. accuracy = matched / possible. Entries that share
 * nothing with the observation (possible = 0) are not scored.
 *
 * Verdicts, as Nmap's documentation describes them:
 *   - an exact match is an entry with accuracy 100%; when there are any,
 *     only they are reported ("OS details");
 *   - otherwise entries scoring at least OS_MATCH_GUESS_PCT per cent are
 *     guesses. Nmap prints them ("Aggressive OS guesses") when
 *     --osscan-guess is given, or when the fingerprint is not fit to be
 *     submitted anyway (the caller knows: too far away, no closed port...);
 *     else it says there is no exact match and prints the fingerprint.
 * Results are sorted by accuracy, best first, entries with equal accuracy in
 * database order; ties at the cut-off are all kept. */
#ifndef TRAWL_OS_MATCH_H
#define TRAWL_OS_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "db/os-db.h"
#include "os/fp.h"

/* Guesses below this accuracy (per cent) are dropped. */
#define OS_MATCH_GUESS_PCT 85
/* Matches reported at most (more only when tied with the last one). */
#define OS_MATCH_MAX 36

struct os_match {
  uint32_t entry;            /* osdb_entry() index */
  uint32_t matched, possible;/* points */
};

struct os_match_result {
  struct os_match *m;   /* n matches, best first (allocated) */
  size_t n;
  size_t nexact;        /* the first nexact have accuracy 100% */
  size_t scored;        /* entries scored (possible > 0) */
};

enum os_verdict {
  OS_VERDICT_NONE,  /* nothing to print but the fingerprint */
  OS_VERDICT_EXACT, /* "OS details": the exact matches */
  OS_VERDICT_GUESS  /* "Aggressive OS guesses" */
};

/* Scores one entry: its matched and possible points. */
void os_match_entry(const struct osdb *db, const struct osdb_fp *e, const struct os_fp *fp,
                    uint32_t *matched, uint32_t *possible);
/* matched / possible, 0..1 (0 when nothing was compared). */
double os_match_accuracy(const struct os_match *m);
/* Scores every entry; fills res (free it with os_match_result_free). When
 * exact matches exist only they are kept; else guesses >= OS_MATCH_GUESS_PCT,
 * at most OS_MATCH_MAX plus ties. 0 or -ENOMEM. */
int os_match_all(const struct osdb *db, const struct os_fp *fp, struct os_match_result *res);
void os_match_result_free(struct os_match_result *res);
/* What to report: guess is --osscan-guess, unfit is "the fingerprint is not
 * fit for submission". */
enum os_verdict os_match_verdict(const struct os_match_result *res, int guess, int unfit);

#endif
