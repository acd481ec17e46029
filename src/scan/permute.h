/* permute.h: a pseudo-random, repeatable, shardable permutation of the scan
 * space (target index x port index), in the manner of ZMap.
 *
 * The space 0..n-1 is walked along the cyclic group (Z/pZ)*: for a prime
 * p > n and a primitive root g, the sequence x, x*g, x*g^2, ... (mod p)
 * visits every value 1..p-1 exactly once; values above n are skipped and
 * value v yields index v-1. The seed picks g and the starting x, so the same
 * seed gives the same order. Shard i of s takes elements i, i+s, i+2s, ...
 * of the cycle: shards are disjoint and together complete, and every
 * machine of a sharded scan must use the same seed.
 *
 * p is taken from a table of primes just above powers of two, with the
 * factorisation of p-1 stored to test primitive roots; n may be up to
 * PERMUTE_MAX_N (about 2^63). Multiplication is done in 128 bits. */
#ifndef TRAWL_PERMUTE_H
#define TRAWL_PERMUTE_H

#include <stdint.h>

/* Largest supported space: one less than the largest prime in the table. */
#define PERMUTE_MAX_N 9223372036854775836ull

struct permute {
  uint64_t n;     /* size of the space */
  uint64_t p, g;  /* the prime and the primitive root */
  uint64_t first; /* this shard's first cycle element */
  uint64_t step;  /* g^shards mod p */
  uint64_t cur;   /* next cycle element to examine */
  uint64_t total; /* cycle elements in this shard */
  uint64_t pos;   /* cycle elements examined so far */
  /* -r: an ordered walk instead (permute_init_ordered); 0 = permuted */
  uint64_t ord_hosts, ord_ports, ord_shards, ord_shard;
};

/* Sets up the walk of shard `shard` (0-based) of `shards`. Returns 0,
 * -EINVAL (shards == 0 or shard >= shards) or -E2BIG (n > PERMUTE_MAX_N).
 * n == 0 gives an empty walk. */
int permute_init(struct permute *pm, uint64_t n, uint64_t seed,
                 uint64_t shards, uint64_t shard);

/* -r (Nmap's "don't randomize ports"): the same space, nhosts x nports
 * (index = host * nports + port), walked port by port in increasing order,
 * every host at each port before the next port, so each host's ports go
 * out in order while hosts still run side by side. Shards as above.
 * Returns 0, -EINVAL or -E2BIG. */
int permute_init_ordered(struct permute *pm, uint64_t nhosts, uint64_t nports,
                         uint64_t shards, uint64_t shard);

/* Stores the next index in *idx and returns 1, or returns 0 at the end. */
int permute_next(struct permute *pm, uint64_t *idx);

/* Progress within the shard's cycle (elements examined, skipped ones
 * included) and its length: pos/total is the fraction done, and pos is what
 * --resume saves. */
static inline uint64_t permute_pos(const struct permute *pm) { return pm->pos; }
static inline uint64_t permute_total(const struct permute *pm) {
  return pm->total;
}

/* Jumps to cycle position pos (0 <= pos <= total), as after pos steps.
 * O(log pos). Returns 0 or -ERANGE. */
int permute_seek(struct permute *pm, uint64_t pos);

/* Helpers, exposed for tests. */
uint64_t permute_mulmod(uint64_t a, uint64_t b, uint64_t m);
uint64_t permute_powmod(uint64_t a, uint64_t e, uint64_t m);

/* The prime table: count, and entry i (prime, its p-1 prime factors). */
struct permute_prime {
  uint64_t p;
  int nfactors;
  uint64_t factors[8];
};
int permute_prime_count(void);
const struct permute_prime *permute_prime_at(int i);

/* splitmix64: a small, well-mixed generator for deriving values from a
 * seed (the permutation's g and x, -iR's draws, --spoof-mac's random
 * part); not for secrets. Advances *s. */
uint64_t permute_splitmix(uint64_t *s);

#endif
