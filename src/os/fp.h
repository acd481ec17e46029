/* fp.h: a computed (observed) OS fingerprint: the tests of Nmap's
 * second-generation OS detection with one value per attribute, in the
 * schema of db/os-db.h. The fp-*.c computations fill it; os/match.h
 * compares it against nmap-os-db; os_fp_format prints it the way Nmap
 * prints a fingerprint ("SEQ(SP=101%GCD=1%...)" one test a line).
 *
 * Plain data, no allocation: a fingerprint is about 10 KB and may live on
 * the stack or inside a per-host record. */
#ifndef TRAWL_OS_FP_H
#define TRAWL_OS_FP_H

#include <stddef.h>
#include <stdint.h>

#include "db/os-db.h"

/* Longest value text kept (an O value of 40 option bytes fits). */
#define OS_FP_VAL_MAX 48

struct os_fp {
  uint16_t tests;                    /* bit 1 << test: the test is present */
  uint8_t has[OSDB_NKEYS];           /* the attribute has a value */
  struct osdb_value val[OSDB_NKEYS]; /* val[k].s points into text[k] */
  char text[OSDB_NKEYS][OS_FP_VAL_MAX];
};

void os_fp_init(struct os_fp *fp);
/* Marks test t present (with whatever attributes it has, maybe none). */
void os_fp_add_test(struct os_fp *fp, enum osdb_test t);
/* Sets attribute key (OSDB_KEY) to value[0..len) and marks its test
 * present. 0, -EINVAL (bad key), or -E2BIG (value too long). */
int os_fp_set_key(struct os_fp *fp, unsigned key, const char *value, size_t len);
/* The same by attribute name, e.g. os_fp_set(fp, OSDB_T1, "DF", "Y"). */
int os_fp_set(struct os_fp *fp, enum osdb_test t, const char *attr, const char *value);
/* Sets an attribute to a number, printed as Nmap does: upper-case hex. */
int os_fp_set_hex(struct os_fp *fp, enum osdb_test t, const char *attr, uint64_t v);
/* The value of an attribute, or NULL. */
const char *os_fp_get(const struct os_fp *fp, enum osdb_test t, const char *attr);

/* Parses Nmap's printed form: "TEST(A=v%B=w)" one or more a line, or
 * Nmap's submission block whose lines start with "OS:" and wrap anywhere
 * (they are joined first). Tests outside the schema (SCAN, ...) and text
 * outside parentheses are ignored. 0, or TW_EMALFORMED with a reason in err
 * (an unknown attribute, a value too long, a missing ')'). */
int os_fp_parse(struct os_fp *fp, const char *text, size_t len, char *err, size_t errlen);
/* Writes the fingerprint, one present test a line in schema order. Returns
 * the length it needs (snprintf semantics; buf may be NULL when cap is 0). */
size_t os_fp_format(const struct os_fp *fp, char *buf, size_t cap);

#endif
