/* merge.h: `trawl merge`, the merge of a sharded scan's outputs (merge.c,
 * docs/merge.md). */
#ifndef TRAWL_CLI_MERGE_H
#define TRAWL_CLI_MERGE_H

/* argv[0] is "merge". Returns the exit status. */
int merge_main(int argc, char **argv);

#endif
