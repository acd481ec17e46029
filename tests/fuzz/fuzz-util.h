/* fuzz-util.h: what the libFuzzer harnesses (tests/fuzz/fuzz_*.c) share:
 * the input as a C string, the input as a file (a memfd, so no file is
 * left behind and nothing on disk is touched), and FUZZ_CHECK for the
 * invariants a harness checks besides "no crash, no leak". Header-only:
 * each harness is one executable built from one .c file. */
#ifndef TRAWL_FUZZ_UTIL_H
#define TRAWL_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: a failure is a finding. */
#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      fprintf(stderr, "fuzz: invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      abort();                                                                      \
    }                                                                               \
  } while (0)

/* The input as a malloc'd NUL-terminated string (it stops at an embedded
 * NUL, as a C string would). NULL only when out of memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return NULL;
  memcpy(s, data, size);
  s[size] = 0;
  return s;
}

/* The input as a file: writes it to a memfd and puts a path that opens it
 * ("/proc/self/fd/N") in path. Returns the fd (close it when done) or -1. */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t pathlen) {
  int fd = memfd_create("trawl-fuzz", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(fd, data + off, size - off);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)w;
  }
  snprintf(path, pathlen, "/proc/self/fd/%d", fd);
  return fd;
}

#endif
