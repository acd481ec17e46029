/* os-db.h: Nmap's second-generation OS fingerprint database (nmap-os-db,
 * from Debian's nmap-common), read at run time and never copied here.
 *
 * The file holds one MatchPoints block (the weight of every test
 * attribute) and thousands of entries:
 *
 *   Fingerprint <free text name>
 *   Class vendor | family | generation | device type     (one or more)
 *   CPE cpe:/o:vendor:product[:version] [auto]          (zero or more)
 *   SEQ(SP=0-5%GCD=1|2%...)  OPS(...) WIN(...) ECN(...) T1(...) ... T7(...)
 *   U1(...) IE(...)
 *
 * An attribute's expression is one or more alternatives separated by '|';
 * each is a hex number, a range "lo-hi" of hex numbers, ">x" or "<x", or a
 * plain string such as "S+", "M5B4NW7ST11" or "" (empty). Expressions are
 * interned (the same text is stored once) and pre-parsed, so the matcher
 * (os/match.h) compares numbers and strings without re-reading text.
 *
 * The set of tests and of their attributes is fixed (the schema below);
 * every (test, attribute) pair has a small key, OSDB_KEY(test, index), that
 * both this database and computed fingerprints (os/fp.h) use. T1 has no W
 * and O (they are WIN.W1 and OPS.O1); SEQ, OPS and WIN have an R that only
 * appears as R=N and has no MatchPoints weight. An attribute or test
 * outside the schema makes its line malformed (Nmap 7.93's file has none).
 *
 * A malformed or unknown line is reported as a warning "FILE:LINE: reason"
 * and skipped; loading goes on. A missing file is one error naming it and
 * the Debian package that provides it. */
#ifndef TRAWL_DB_OS_DB_H
#define TRAWL_DB_OS_DB_H

#include <stddef.h>
#include <stdint.h>

#include "db/dbline.h"

#define OSDB_FILE "nmap-os-db"
#define OSDB_PACKAGE "nmap-common"

/* ---- schema ------------------------------------------------------------ */

enum osdb_test {
  OSDB_SEQ, OSDB_OPS, OSDB_WIN, OSDB_ECN,
  OSDB_T1, OSDB_T2, OSDB_T3, OSDB_T4, OSDB_T5, OSDB_T6, OSDB_T7,
  OSDB_U1, OSDB_IE,
  OSDB_NTESTS
};

/* Attributes per test are at most this many; a key packs (test, index). */
#define OSDB_MAXATTR 16
#define OSDB_NKEYS (OSDB_NTESTS * OSDB_MAXATTR)
#define OSDB_KEY(test, idx) ((unsigned)(test) * OSDB_MAXATTR + (unsigned)(idx))
#define OSDB_KEY_TEST(key) ((enum osdb_test)((key) / OSDB_MAXATTR))
#define OSDB_KEY_ATTR(key) ((key) % OSDB_MAXATTR)

/* "SEQ", "T1" ... or NULL for a bad test. */
const char *osdb_test_name(enum osdb_test t);
/* The test named by name[0..len), or -1. */
int osdb_test_lookup(const char *name, size_t len);
/* Number of attributes of test t, and the name of attribute idx (NULL
 * beyond). Attribute order is Nmap's print order. */
unsigned osdb_attr_count(enum osdb_test t);
const char *osdb_attr_name(enum osdb_test t, unsigned idx);
/* The key of attribute name[0..len) of test t, or -1. */
int osdb_key_lookup(enum osdb_test t, const char *name, size_t len);

/* ---- expressions ------------------------------------------------------- */

enum osdb_op {
  OSDB_OP_EQ,    /* equal: numerically when both sides are hex, else text */
  OSDB_OP_RANGE, /* lo <= v <= hi (v must be hex) */
  OSDB_OP_GT,    /* v > lo */
  OSDB_OP_LT     /* v < lo */
};

struct osdb_alt {
  uint8_t op;     /* enum osdb_op */
  uint8_t isnum;  /* EQ: the text is a hex number (lo holds it) */
  uint16_t slen;  /* EQ: text length */
  uint32_t str;   /* EQ: text, an offset for osdb_str() */
  uint64_t lo, hi;
};

/* A parsed value: its text, and its number when the text is hex (at most
 * 16 digits). Used for the observed side of a comparison. */
struct osdb_value {
  const char *s;
  size_t len;
  int isnum;
  uint64_t num;
};

/* Parses hex text s[0..len) into *v (1..16 hex digits, no prefix): 1 when it
 * is a number, else 0. */
int osdb_hex(const char *s, size_t len, uint64_t *v);
/* Fills v from text s[0..len) (s must outlive v). */
void osdb_value_set(struct osdb_value *v, const char *s, size_t len);

/* ---- the database ------------------------------------------------------ */

struct osdb_class {
  uint32_t vendor, family, gen, type; /* osdb_str() offsets; gen may be "" */
};

struct osdb_cpe {
  uint32_t text; /* "cpe:/o:linux:linux_kernel:2.6" */
  uint8_t is_auto;
  uint16_t cls;   /* the entry's class it follows (index, 0 when first) */
};

/* One entry. attrs are packed (key << 24 | expression id), sorted by key. */
struct osdb_fp {
  uint32_t name;   /* osdb_str() offset */
  uint32_t line;   /* line of its Fingerprint line */
  uint32_t class_first, cpe_first, attr_first;
  uint16_t nclass, ncpe, nattr;
  uint16_t tests;  /* bit 1 << test for every test line present */
};

struct osdb;

/* Warnings (malformed lines) go to warn(ctx, "FILE:LINE: reason") when warn
 * is set, else to stderr as "trawl: warning: ...". */
typedef dbline_warn_fn osdb_warn_fn;

/* Loads path. 0, or a negative code with one line in err (a missing file:
 * "cannot open 'PATH': ... (nmap-os-db comes with Debian's nmap-common)").
 * A file without MatchPoints or without any fingerprint is an error. */
int osdb_load(struct osdb **out, const char *path, osdb_warn_fn warn,
              void *warn_ctx, char *err, size_t errlen);
/* The same over a buffer (name is used in warnings); for tests and fuzzing. */
int osdb_load_mem(struct osdb **out, const char *name, const char *buf,
                  size_t len, osdb_warn_fn warn, void *warn_ctx, char *err,
                  size_t errlen);
/* Finds OSDB_FILE by Nmap's lookup order (core/datadir.h; datadir is
 * --datadir or NULL) and loads it. */
int osdb_load_default(struct osdb **out, const char *datadir,
                      osdb_warn_fn warn, void *warn_ctx, char *err,
                      size_t errlen);
void osdb_free(struct osdb *db);

/* Lines skipped with a warning while loading. */
unsigned osdb_warnings(const struct osdb *db);
/* The path or name the database came from. */
const char *osdb_path(const struct osdb *db);

size_t osdb_count(const struct osdb *db);
const struct osdb_fp *osdb_entry(const struct osdb *db, size_t i);
const struct osdb_class *osdb_class(const struct osdb *db, const struct osdb_fp *fp,
                                    unsigned i);
const struct osdb_cpe *osdb_cpe(const struct osdb *db, const struct osdb_fp *fp,
                                unsigned i);
/* A NUL-terminated string of the database. */
const char *osdb_str(const struct osdb *db, uint32_t off);

/* The i-th attribute of fp: its key and expression id. */
unsigned osdb_attr_key(const struct osdb *db, const struct osdb_fp *fp, unsigned i);
uint32_t osdb_attr_expr(const struct osdb *db, const struct osdb_fp *fp, unsigned i);
/* fp's packed attributes, (key << 24 | expression id) sorted by key, and
 * the MatchPoints weights indexed by key: for the matcher's inner loop. */
const uint32_t *osdb_attrs(const struct osdb *db, const struct osdb_fp *fp);
const uint16_t *osdb_weights(const struct osdb *db);
/* An expression: its source text, and its alternatives. */
const char *osdb_expr_text(const struct osdb *db, uint32_t expr);
unsigned osdb_expr_nalt(const struct osdb *db, uint32_t expr);
const struct osdb_alt *osdb_expr_alt(const struct osdb *db, uint32_t expr, unsigned i);
/* 1 when value v satisfies expression expr, else 0. */
int osdb_expr_match(const struct osdb *db, uint32_t expr, const struct osdb_value *v);

/* MatchPoints: the weight of a key (0 when MatchPoints does not list it). */
unsigned osdb_weight(const struct osdb *db, unsigned key);
/* Number of distinct expressions stored (for the compactness check). */
size_t osdb_expr_count(const struct osdb *db);

#endif
