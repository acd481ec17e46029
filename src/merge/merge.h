/* merge.h: the pieces of `trawl merge` (src/cli/merge.c) that do not touch
 * files, kept apart so the unit tests can reach them:
 *  - a shard's command line: which shard of how many, the seed, and the
 *    words that must be equal in all shards of one scan;
 *  - folding the results of one host from several shards into one;
 *  - the order of hosts in a scan's output (targets.h: IPv4 ascending,
 *    then IPv6 ascending). */
#ifndef TRAWL_MERGE_H
#define TRAWL_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/result.h"

struct merge_args {
  uint64_t shard, shards; /* 0 of 1 when not sharded */
  bool has_seed;
  uint64_t seed;
  char *ident;  /* the command line without argv[0], --shard I and the output
                   options: equal in every shard of one scan */
  char *merged; /* the command line without --shard I, --shards N and the
                   output options: the whole scan's */
};

/* Splits args (words separated by spaces, as the outputs write them).
 * 0, -EINVAL (a bad --shard/--shards/--seed value), -ENOMEM. */
int merge_args_parse(const char *args, struct merge_args *m);
void merge_args_free(struct merge_args *m);
/* The first word where a and b differ, for a message: into wa and wb
 * ("(end)" past the last word). */
void merge_args_diff(const char *a, const char *b, char *wa, char *wb, size_t len);

/* Host order of a scan's outputs: <0, 0, >0. */
int merge_addr_cmp(const struct tgt_addr *a, const struct tgt_addr *b);

/* Folds src (the same host from another shard) into dst and empties src
 * (host_result_free it after). Ports: the union, by (protocol, port),
 * the first copy kept; counted ports (bulk): added; status: up when up in
 * either; names, MAC, distance, times: dst's, else src's; start the
 * earliest, end the latest; host scripts: the union by id. 0 or -ENOMEM. */
int merge_host_fold(struct host_result *dst, struct host_result *src);
/* src's host scripts appended to dst's, but those whose id dst has (the
 * union by id; the pre- and postrule scripts of shards too). Taken over
 * from src. 0 or -ENOMEM. */
int merge_host_scripts(struct host_result *dst, struct host_result *src);
/* Drops a second copy of a listed port (same protocol and port number):
 * returns how many were dropped. */
size_t merge_host_dedup(struct host_result *h);

#endif
