/* resume.h: --resume FILE. An interrupted scan ends its normal, grepable
 * and XML outputs with a marker line naming the first target index not yet
 * scanned and the permutation seed; --resume reads the original command
 * line back from the output's header ("... as: trawl ARGS") and that
 * marker, and the scan continues from there, appending to the normal and
 * grepable outputs. Results of the host group that was in progress when
 * the scan stopped are not written: the resumed scan does that group again. */
#ifndef TRAWL_RESUME_H
#define TRAWL_RESUME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RESUME_TAG "trawl-resume:"

/* Read FILE: the original argv (argv[0] included; free with
 * resume_free_argv) and the marker's values. 0, or -1 with err set. */
int resume_load(const char *path, int *argc, char ***argv, uint64_t *next_target,
                uint64_t *seed, char *err, size_t errlen);
void resume_free_argv(int argc, char **argv);

#endif
