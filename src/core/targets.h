/* targets.h: the set of addresses a scan covers, parsed from Nmap's target
 * syntax.
 *
 * Accepted target expressions (one per call of targets_add()):
 *   198.18.0.1                IPv4 address
 *   198.18.0.0/15             IPv4 CIDR block
 *   198.18.1-3.0-255          octet ranges; each octet is "*", a number, a
 *   198.18.1,3,5-7.*          range "a-b" ("-b" = 0-b, "a-" = a-255) or a
 *                             comma list of those
 *   2001:db8::1, 2001:db8::/120   IPv6 address or CIDR block
 *   scanme.example, host/24   a hostname (optionally with a prefix length
 *                             applied to each of its addresses); kept as a
 *                             name, to be resolved asynchronously later
 * targets_add_text() takes whitespace-separated expressions with '#'
 * comments (the contents of an -iL file); the exclusion functions take the
 * same syntax (plus commas as separators, like Nmap's --exclude).
 *
 * Addresses are held as sorted, merged ranges (a /8 is one range, not 16M
 * entries). After targets_finalize() the set has a total count and an
 * O(log n) index -> address mapping (targets_get), exclusions removed:
 * indices 0..count4-1 are the IPv4 addresses in ascending order, then the
 * IPv6 addresses in ascending order.
 *
 * Errors: functions return 0 or a negative code (TW_EMALFORMED for bad
 * syntax, -ENOMEM, -errno for files, -E2BIG for sets too large) and write
 * one line into err, e.g.
 *   invalid target '198.18.300.1': octet 300 out of range */
#ifndef TRAWL_TARGETS_H
#define TRAWL_TARGETS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* One address: family is AF_INET or AF_INET6. */
struct tgt_addr {
  int family;
  union {
    struct in_addr v4;  /* network byte order */
    struct in6_addr v6;
  } u;
};

/* A hostname target, resolved later by the engine. prefix is -1 when no
 * "/len" followed the name. */
struct tgt_name {
  char *name;
  int prefix;
};

/* The most address ranges one set may hold (each v4 range is 8 bytes, v6 32
 * bytes); pathological octet patterns such as "*.*.*.1" exceed it. */
#define TARGETS_MAX_RANGES (1u << 22)

struct targets;

struct targets *targets_new(void);
void targets_free(struct targets *t);

/* Adds one target expression (see above). */
int targets_add(struct targets *t, const char *spec, char *err, size_t errlen);
/* Adds every whitespace-separated expression in text (# starts a comment
 * running to the end of the line). origin (e.g. a file name) may be NULL;
 * when given, error messages name it and the line number. */
int targets_add_text(struct targets *t, const char *text, size_t len,
                     const char *origin, char *err, size_t errlen);
/* Reads path ("-" is standard input) and adds its contents as above. */
int targets_add_file(struct targets *t, const char *path, char *err,
                     size_t errlen);
/* Adds one already-resolved address (e.g. the answer for a hostname) with a
 * prefix length (32/128 for just the address). */
int targets_add_addr(struct targets *t, const struct tgt_addr *a, int prefix);

/* Exclusions: same syntax; commas also separate expressions (so octet comma
 * lists cannot be used here, as in Nmap). Hostnames are kept in a separate
 * list (targets_excluded_name) for the engine to resolve and pass to
 * targets_exclude_addr(). */
int targets_exclude(struct targets *t, const char *list, char *err,
                    size_t errlen);
int targets_exclude_file(struct targets *t, const char *path, char *err,
                         size_t errlen);
int targets_exclude_addr(struct targets *t, const struct tgt_addr *a,
                         int prefix);

/* Sorts and merges ranges, removes exclusions, computes the index. Must be
 * called after the last add/exclude and before count/get; may be called
 * again after more adds. -E2BIG when the count does not fit in 64 bits. */
int targets_finalize(struct targets *t, char *err, size_t errlen);

/* Total addresses after exclusion; of which IPv4 and IPv6. */
uint64_t targets_count(const struct targets *t);
uint64_t targets_count4(const struct targets *t);
uint64_t targets_count6(const struct targets *t);
/* Addresses a random draw (-iR, -D RND) must never give, as Nmap excludes
 * them: this-network, private, shared (CGN), loopback, link-local, IETF
 * protocol, documentation, 6to4 relay, benchmark (the lab's 198.18/15),
 * multicast and the reserved 240/4. a holds 4 bytes in network order. */
int tgt_reserved4(const uint8_t a[4]);
/* The i-th of those ranges (0 <= i < tgt_reserved4_count()): its first
 * address (network order bytes in out) and prefix length. */
size_t tgt_reserved4_count(void);
int tgt_reserved4_range(size_t i, struct tgt_addr *out);

/* Number of ranges held after finalize (v4 + v6), for tests and stats. */
size_t targets_range_count(const struct targets *t);
/* The idx-th address (0 <= idx < count): 0 or -ERANGE. O(log ranges). */
int targets_get(const struct targets *t, uint64_t idx, struct tgt_addr *out);
/* Whether the address is in the set (after exclusion). O(log ranges). */
int targets_contains(const struct targets *t, const struct tgt_addr *a);

/* Hostname targets and hostname exclusions, in the order given. */
size_t targets_name_count(const struct targets *t);
const struct tgt_name *targets_name(const struct targets *t, size_t i);
size_t targets_excluded_name_count(const struct targets *t);
const struct tgt_name *targets_excluded_name(const struct targets *t,
                                             size_t i);

/* Formats an address (inet_ntop); buf must hold INET6_ADDRSTRLEN. */
const char *tgt_addr_str(const struct tgt_addr *a, char *buf, size_t len);

#endif
