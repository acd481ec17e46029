/* loop-common.h: what the three event-loop benchmarks (loop-trawl.c,
 * loop-uv.c, loop-ev.c) share, so that the workloads are the same down to
 * the byte: parameters, the seeded random sequence, clocks, the file set
 * and the one line each run prints. See docs/benchmarks.md.
 *
 * Every program is run as `PROG WORKLOAD [DIR]` and prints one line,
 *   VALUE <number> <unit>
 * (round trips per second, or milliseconds of wall time), possibly after
 * INFO lines (ping-pong rate per CPU second, the fs backend), or exits non-zero
 * with a message on stderr if the workload did not run as specified. */
#ifndef BENCH_LOOP_COMMON_H
#define BENCH_LOOP_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- parameters (identical for every library) ---------------------------- */

#define PP_MSG 64            /* ping-pong message size, bytes */
#define PP_WARMUP_MS 200     /* ping-pong: run this long before counting */
#define PP_MEASURE_MS 1000   /* ping-pong: then count round trips this long */

#define TM_COUNT 1000000     /* timers started */
#define TM_MAX_MS 50         /* timeouts uniform in 0..TM_MAX_MS ms (integers) */
#define TM_SEED 0x7472617731ull

#define FS_FILES 10000       /* distinct files */
#define FS_SIZE 4096         /* bytes per file, read whole */
#define FS_INFLIGHT 64       /* files in progress at once */

/* ---- helpers --------------------------------------------------------------- */

static inline double bench_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of the whole process (every thread), ms. */
static inline double bench_cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* Ping-pong result: the rate over wall time (the VALUE) and, as a check
 * that does not depend on what else the machine runs, over CPU time. */
static inline void bench_print_rate(uint64_t rounds, double wall_ms, double cpu_ms) {
  printf("INFO cpu_rate=%.3f\n", (double)rounds * 1000.0 / cpu_ms);
  printf("VALUE %.3f rt/s\n", (double)rounds * 1000.0 / wall_ms);
  fflush(stdout);
}

/* splitmix64: the same sequence in every program for a given seed. */
static inline uint64_t bench_rand(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* The timeout of timer i, in ms; timers with odd i are the cancelled half. */
static inline uint64_t *bench_timer_timeouts(void) {
  uint64_t *ms = malloc(TM_COUNT * sizeof *ms);
  if (!ms) abort();
  uint64_t s = TM_SEED;
  for (size_t i = 0; i < TM_COUNT; i++) ms[i] = bench_rand(&s) % (TM_MAX_MS + 1);
  return ms;
}

static inline size_t bench_timers_expected(void) { return TM_COUNT - TM_COUNT / 2; }

/* Paths DIR/f00000 ... of the file set, made before timing starts. */
static inline char **bench_paths(const char *dir) {
  char **p = malloc(FS_FILES * sizeof *p);
  if (!p) abort();
  for (int i = 0; i < FS_FILES; i++)
    if (asprintf(&p[i], "%s/f%05d", dir, i) < 0) abort();
  return p;
}

/* `PROG mkfiles DIR`: create the file set (contents derived from the index
 * so a short or wrong read is noticed by bench_check_file). */
static inline int bench_mkfiles(const char *dir) {
  char **paths = bench_paths(dir);
  char buf[FS_SIZE];
  for (int i = 0; i < FS_FILES; i++) {
    memset(buf, 'a' + i % 26, sizeof buf);
    int fd = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || close(fd) < 0) {
      perror(paths[i]);
      return 1;
    }
  }
  return 0;
}

static inline int bench_check_file(int i, const char *buf, long n) {
  return n == FS_SIZE && buf[0] == 'a' + i % 26 && buf[FS_SIZE - 1] == 'a' + i % 26;
}

static inline void bench_die(const char *what, long err) {
  fprintf(stderr, "bench: %s failed (%ld)\n", what, err);
  exit(2);
}

static inline void bench_print(double value, const char *unit) {
  printf("VALUE %.3f %s\n", value, unit);
  fflush(stdout);
}

static inline int bench_usage(const char *prog) {
  fprintf(stderr,
          "usage: %s pingpong1|pingpong100|timers\n"
          "       %s files|mkfiles DIR\n",
          prog, prog);
  return 64;
}

#endif
