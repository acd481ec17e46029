/* permute.c: the cyclic-group walk of the scan space (see permute.h). */
#include "scan/permute.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* The smallest prime above 2^k for k = 1..63, and the distinct prime
 * factors of p-1. Computed for trawl with a Miller-Rabin test and Pollard's
 * rho; test_permute re-checks every entry. */
static const struct permute_prime pm_primes[] = {
  {3ull, 1, {2ull}}, /* 2^1 + 1 */
  {5ull, 1, {2ull}}, /* 2^2 + 1 */
  {11ull, 2, {2ull, 5ull}}, /* 2^3 + 3 */
  {17ull, 1, {2ull}}, /* 2^4 + 1 */
  {37ull, 2, {2ull, 3ull}}, /* 2^5 + 5 */
  {67ull, 3, {2ull, 3ull, 11ull}}, /* 2^6 + 3 */
  {131ull, 3, {2ull, 5ull, 13ull}}, /* 2^7 + 3 */
  {257ull, 1, {2ull}}, /* 2^8 + 1 */
  {521ull, 3, {2ull, 5ull, 13ull}}, /* 2^9 + 9 */
  {1031ull, 3, {2ull, 5ull, 103ull}}, /* 2^10 + 7 */
  {2053ull, 3, {2ull, 3ull, 19ull}}, /* 2^11 + 5 */
  {4099ull, 3, {2ull, 3ull, 683ull}}, /* 2^12 + 3 */
  {8209ull, 3, {2ull, 3ull, 19ull}}, /* 2^13 + 17 */
  {16411ull, 4, {2ull, 3ull, 5ull, 547ull}}, /* 2^14 + 27 */
  {32771ull, 4, {2ull, 5ull, 29ull, 113ull}}, /* 2^15 + 3 */
  {65537ull, 1, {2ull}}, /* 2^16 + 1 */
  {131101ull, 5, {2ull, 3ull, 5ull, 19ull, 23ull}}, /* 2^17 + 29 */
  {262147ull, 3, {2ull, 3ull, 43691ull}}, /* 2^18 + 3 */
  {524309ull, 4, {2ull, 23ull, 41ull, 139ull}}, /* 2^19 + 21 */
  {1048583ull, 4, {2ull, 29ull, 101ull, 179ull}}, /* 2^20 + 7 */
  {2097169ull, 3, {2ull, 3ull, 43691ull}}, /* 2^21 + 17 */
  {4194319ull, 3, {2ull, 3ull, 699053ull}}, /* 2^22 + 15 */
  {8388617ull, 3, {2ull, 17ull, 61681ull}}, /* 2^23 + 9 */
  {16777259ull, 4, {2ull, 23ull, 103ull, 3541ull}}, /* 2^24 + 43 */
  {33554467ull, 4, {2ull, 3ull, 11ull, 56489ull}}, /* 2^25 + 35 */
  {67108879ull, 3, {2ull, 3ull, 1242757ull}}, /* 2^26 + 15 */
  {134217757ull, 3, {2ull, 3ull, 1242757ull}}, /* 2^27 + 29 */
  {268435459ull, 4, {2ull, 3ull, 19ull, 87211ull}}, /* 2^28 + 3 */
  {536870923ull, 5, {2ull, 3ull, 7ull, 23ull, 555767ull}}, /* 2^29 + 11 */
  {1073741827ull, 4, {2ull, 3ull, 59ull, 3033169ull}}, /* 2^30 + 3 */
  {2147483659ull, 4, {2ull, 3ull, 149ull, 2402107ull}}, /* 2^31 + 11 */
  {4294967311ull, 5, {2ull, 3ull, 5ull, 131ull, 364289ull}}, /* 2^32 + 15 */
  {8589934609ull, 4, {2ull, 3ull, 59ull, 3033169ull}}, /* 2^33 + 17 */
  {17179869209ull, 4, {2ull, 83ull, 1277ull, 20261ull}}, /* 2^34 + 25 */
  {34359738421ull, 5, {2ull, 3ull, 5ull, 7ull, 81808901ull}}, /* 2^35 + 53 */
  {68719476767ull, 4, {2ull, 163ull, 883ull, 238727ull}}, /* 2^36 + 31 */
  {137438953481ull, 5, {2ull, 5ull, 137ull, 953ull, 26317ull}}, /* 2^37 + 9 */
  {274877906951ull, 4, {2ull, 5ull, 35573ull, 154543ull}}, /* 2^38 + 7 */
  {549755813911ull, 5, {2ull, 3ull, 5ull, 383ull, 47846459ull}}, /* 2^39 + 23 */
  {1099511627791ull, 4, {2ull, 3ull, 5ull, 36650387593ull}}, /* 2^40 + 15 */
  {2199023255579ull, 3, {2ull, 277ull, 3969356057ull}}, /* 2^41 + 27 */
  {4398046511119ull, 6, {2ull, 3ull, 13ull, 71ull, 227ull, 3498493ull}}, /* 2^42 + 15 */
  {8796093022237ull, 6, {2ull, 3ull, 13ull, 71ull, 227ull, 3498493ull}}, /* 2^43 + 29 */
  {17592186044423ull, 5, {2ull, 11ull, 53ull, 97ull, 155542661ull}}, /* 2^44 + 7 */
  {35184372088891ull, 6, {2ull, 3ull, 5ull, 19ull, 120739ull, 511243ull}}, /* 2^45 + 59 */
  {70368744177679ull, 4, {2ull, 3ull, 1947973ull, 6020681ull}}, /* 2^46 + 15 */
  {140737488355333ull, 6, {2ull, 3ull, 11ull, 19ull, 331ull, 18837001ull}}, /* 2^47 + 5 */
  {281474976710677ull, 5, {2ull, 3ull, 7ull, 1361ull, 2462081249ull}}, /* 2^48 + 21 */
  {562949953421381ull, 4, {2ull, 5ull, 7ull, 574438727981ull}}, /* 2^49 + 69 */
  {1125899906842679ull, 3, {2ull, 11ull, 51177268492849ull}}, /* 2^50 + 55 */
  {2251799813685269ull, 6, {2ull, 7ull, 11ull, 179ull, 3517ull, 11613247ull}}, /* 2^51 + 21 */
  {4503599627370517ull, 5, {2ull, 3ull, 23ull, 612229ull, 987127ull}}, /* 2^52 + 21 */
  {9007199254740997ull, 6, {2ull, 3ull, 307ull, 2857ull, 6529ull, 43691ull}}, /* 2^53 + 5 */
  {18014398509482143ull, 4, {2ull, 3ull, 7724869ull, 388666753ull}}, /* 2^54 + 159 */
  {36028797018963971ull, 7, {2ull, 5ull, 13ull, 37ull, 109ull, 246241ull, 279073ull}}, /* 2^55 + 3 */
  {72057594037928017ull, 6, {2ull, 3ull, 7ull, 61ull, 34501ull, 14557303ull}}, /* 2^56 + 81 */
  {144115188075855881ull, 7, {2ull, 5ull, 13ull, 37ull, 109ull, 246241ull, 279073ull}}, /* 2^57 + 9 */
  {288230376151711813ull, 7, {2ull, 3ull, 7ull, 13ull, 26813ull, 33829ull, 290993ull}}, /* 2^58 + 69 */
  {576460752303423619ull, 4, {2ull, 3ull, 1361ull, 2614547910049ull}}, /* 2^59 + 131 */
  {1152921504606847009ull, 6, {2ull, 3ull, 11ull, 683ull, 2971ull, 48912491ull}}, /* 2^60 + 33 */
  {2305843009213693967ull, 4, {2ull, 1723ull, 2447ull, 273451615243ull}}, /* 2^61 + 15 */
  {4611686018427388039ull, 6, {2ull, 3ull, 953ull, 7691ull, 15467ull, 6779953ull}}, /* 2^62 + 135 */
  {9223372036854775837ull, 5, {2ull, 3ull, 359ull, 7005787ull, 33955849ull}}, /* 2^63 + 29 */
};

int permute_prime_count(void) {
  return (int)(sizeof pm_primes / sizeof pm_primes[0]);
}

const struct permute_prime *permute_prime_at(int i) {
  return i >= 0 && i < permute_prime_count() ? &pm_primes[i] : NULL;
}

uint64_t permute_mulmod(uint64_t a, uint64_t b, uint64_t m) {
  if (m <= UINT32_MAX && a <= UINT32_MAX && b <= UINT32_MAX) return a * b % m;
  return (uint64_t)((unsigned __int128)a * b % m);
}

uint64_t permute_powmod(uint64_t a, uint64_t e, uint64_t m) {
  uint64_t r = 1 % m;
  a %= m;
  while (e > 0) {
    if (e & 1) r = permute_mulmod(r, a, m);
    a = permute_mulmod(a, a, m);
    e >>= 1;
  }
  return r;
}

uint64_t permute_splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int pm_is_generator(uint64_t g, const struct permute_prime *pp) {
  for (int i = 0; i < pp->nfactors; i++)
    if (permute_powmod(g, (pp->p - 1) / pp->factors[i], pp->p) == 1) return 0;
  return 1;
}

int permute_init(struct permute *pm, uint64_t n, uint64_t seed,
                 uint64_t shards, uint64_t shard) {
  if (shards == 0 || shard >= shards) return -EINVAL;
  if (n > PERMUTE_MAX_N) return -E2BIG;
  const struct permute_prime *pp = &pm_primes[0];
  for (int i = 0; i < permute_prime_count(); i++) {
    pp = &pm_primes[i];
    if (pp->p - 1 >= n) break;
  }
  uint64_t s = seed;
  uint64_t g = 2;
  if (pp->p > 3) {
    do {
      g = 2 + permute_splitmix(&s) % (pp->p - 3);
    } while (!pm_is_generator(g, pp));
  }
  uint64_t x = 1 + permute_splitmix(&s) % (pp->p - 1);
  uint64_t len = pp->p - 1; /* the whole cycle */
  pm->n = n;
  pm->p = pp->p;
  pm->g = g;
  pm->step = permute_powmod(g, shards, pp->p);
  pm->first = permute_mulmod(x, permute_powmod(g, shard, pp->p), pp->p);
  pm->total = shard < len ? (len - shard - 1) / shards + 1 : 0;
  pm->cur = pm->first;
  pm->pos = 0;
  pm->ord_hosts = 0;
  if (n == 0) pm->total = 0;
  return 0;
}

int permute_init_ordered(struct permute *pm, uint64_t nhosts, uint64_t nports,
                         uint64_t shards, uint64_t shard) {
  if (shards == 0 || shard >= shards) return -EINVAL;
  if (nports != 0 && nhosts > PERMUTE_MAX_N / nports) return -E2BIG;
  uint64_t n = nhosts * nports;
  memset(pm, 0, sizeof *pm);
  pm->n = n;
  pm->total = shard < n ? (n - shard - 1) / shards + 1 : 0;
  pm->ord_hosts = nhosts ? nhosts : 1;
  pm->ord_ports = nports;
  pm->ord_shards = shards;
  pm->ord_shard = shard;
  return 0;
}

int permute_next(struct permute *pm, uint64_t *idx) {
  if (pm->ord_hosts) {
    if (pm->pos >= pm->total) return 0;
    uint64_t k = pm->pos++ * pm->ord_shards + pm->ord_shard;
    *idx = (k % pm->ord_hosts) * pm->ord_ports + k / pm->ord_hosts;
    return 1;
  }
  while (pm->pos < pm->total) {
    uint64_t v = pm->cur;
    pm->cur = permute_mulmod(pm->cur, pm->step, pm->p);
    pm->pos++;
    if (v <= pm->n) {
      *idx = v - 1;
      return 1;
    }
  }
  return 0;
}

int permute_seek(struct permute *pm, uint64_t pos) {
  if (pos > pm->total) return -ERANGE;
  if (pm->ord_hosts) {
    pm->pos = pos;
    return 0;
  }
  pm->cur = permute_mulmod(pm->first, permute_powmod(pm->step, pos, pm->p),
                           pm->p);
  pm->pos = pos;
  return 0;
}
