/* match.c: scoring computed fingerprints against nmap-os-db (see
 * match.h). */
#include "os/match.h"

#include <errno.h>
#include <stdlib.h>

/* The result of expression x for key k, remembered per expression for the
 * key it was last evaluated with (most expressions serve one key): cache is
 * NULL or osdb_expr_count() entries of (key + 1) << 1 | result. */
static int os_match_eval(const struct osdb *db, uint16_t *cache, unsigned k, uint32_t x,
                         const struct osdb_value *v) {
  if (cache && cache[x] >> 1 == k + 1) return cache[x] & 1;
  int r = osdb_expr_match(db, x, v);
  if (cache) cache[x] = (uint16_t)((k + 1) << 1 | (unsigned)r);
  return r;
}

static void os_match_score(const struct osdb *db, uint16_t *cache, const struct osdb_fp *e,
                           const struct os_fp *fp, uint32_t *matched, uint32_t *possible) {
  uint32_t got = 0, all = 0;
  uint16_t both = (uint16_t)(e->tests & fp->tests);
  const uint32_t *a = osdb_attrs(db, e);
  const uint16_t *weight = osdb_weights(db);
  for (unsigned i = 0; i < e->nattr; i++) {
    unsigned k = a[i] >> 24;
    if (!(both & (1u << OSDB_KEY_TEST(k))) || !fp->has[k] || weight[k] == 0) continue;
    all += weight[k];
    if (os_match_eval(db, cache, k, a[i] & 0xffffff, &fp->val[k])) got += weight[k];
  }
  *matched = got;
  *possible = all;
}

void os_match_entry(const struct osdb *db, const struct osdb_fp *e, const struct os_fp *fp,
                    uint32_t *matched, uint32_t *possible) {
  os_match_score(db, NULL, e, fp, matched, possible);
}

double os_match_accuracy(const struct os_match *m) {
  return m->possible ? (double)m->matched / (double)m->possible : 0.0;
}

/* Orders by accuracy, best first, then by database order. */
static int os_match_cmp(const void *pa, const void *pb) {
  const struct os_match *a = pa, *b = pb;
  uint64_t x = (uint64_t)a->matched * b->possible, y = (uint64_t)b->matched * a->possible;
  if (x != y) return x > y ? -1 : 1;
  return a->entry < b->entry ? -1 : a->entry > b->entry;
}

static int os_match_same(const struct os_match *a, const struct os_match *b) {
  return (uint64_t)a->matched * b->possible == (uint64_t)b->matched * a->possible;
}

int os_match_all(const struct osdb *db, const struct os_fp *fp, struct os_match_result *res) {
  size_t n = osdb_count(db), k = 0, exact = 0;
  res->m = NULL;
  res->n = res->nexact = res->scored = 0;
  struct os_match *m = malloc((n ? n : 1) * sizeof *m);
  uint16_t *cache = calloc(osdb_expr_count(db) + 1, sizeof *cache);
  if (m == NULL || cache == NULL) {
    free(m);
    free(cache);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t got, all;
    os_match_score(db, cache, osdb_entry(db, i), fp, &got, &all);
    if (all == 0) continue;
    res->scored++;
    if (got == all) exact++;
    /* keep exact ones, and guesses only while there is no exact one */
    if (got == all || (exact == 0 && (uint64_t)got * 100 >= (uint64_t)all * OS_MATCH_GUESS_PCT))
      m[k++] = (struct os_match){(uint32_t)i, got, all};
  }
  if (exact > 0) { /* drop the guesses kept before the first exact match */
    size_t j = 0;
    for (size_t i = 0; i < k; i++)
      if (m[i].matched == m[i].possible) m[j++] = m[i];
    k = j;
  }
  free(cache);
  qsort(m, k, sizeof *m, os_match_cmp);
  if (k > OS_MATCH_MAX) {
    size_t keep = OS_MATCH_MAX;
    while (keep < k && os_match_same(&m[keep], &m[OS_MATCH_MAX - 1])) keep++;
    k = keep;
  }
  res->m = m;
  res->n = k;
  res->nexact = exact ? k : 0;
  return 0;
}

void os_match_result_free(struct os_match_result *res) {
  free(res->m);
  res->m = NULL;
  res->n = res->nexact = 0;
}

enum os_verdict os_match_verdict(const struct os_match_result *res, int guess, int unfit) {
  if (res->nexact > 0) return OS_VERDICT_EXACT;
  if (res->n > 0 && (guess || unfit)) return OS_VERDICT_GUESS;
  return OS_VERDICT_NONE;
}
