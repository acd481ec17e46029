/* test_resume.c: reading an interrupted scan's output back for --resume
 * (src/cli/resume.c): the saved command line comes back whole however
 * long it is, XML escapes are undone, files without a command line or a
 * marker are refused, and nothing leaks on the way (run under ASan). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/resume.h"

/* Writes text to a fresh temporary file; returns its malloc'd path. */
static char *write_tmp(const char *text) {
  char *path = strdup("/tmp/trawl-test-resume-XXXXXX");
  assert_non_null(path);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
  return path;
}

static void drop_tmp(char *path) {
  unlink(path);
  free(path);
}

struct loaded {
  int rc, argc;
  char **argv;
  uint64_t next, seed;
  char err[512];
};

static void load_text(const char *text, struct loaded *l) {
  char *path = write_tmp(text);
  memset(l, 0, sizeof *l);
  l->rc = resume_load(path, &l->argc, &l->argv, &l->next, &l->seed, l->err, sizeof l->err);
  drop_tmp(path);
}

/* The normal output's header and marker. */
static void test_normal(void **state) {
  struct loaded l;
  load_text("# Trawl 0.1.0 scan initiated Sat Jan  6 10:00:00 2024 as: trawl -sS -p 22,80 198.18.0.0/30\n"
            "Nmap-ish lines of results\n"
            "# " RESUME_TAG " next-target=3 seed=77\n",
            &l);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.argc, 5);
  assert_string_equal(l.argv[0], "trawl");
  assert_string_equal(l.argv[1], "-sS");
  assert_string_equal(l.argv[2], "-p");
  assert_string_equal(l.argv[3], "22,80");
  assert_string_equal(l.argv[4], "198.18.0.0/30");
  assert_null(l.argv[5]);
  assert_int_equal(l.next, 3);
  assert_int_equal(l.seed, 77);
  resume_free_argv(l.argc, l.argv);
}

/* The XML comment form: ends at " -->", escapes undone. */
static void test_xml(void **state) {
  struct loaded l;
  load_text("<?xml version=\"1.0\"?>\n"
            "<!-- Trawl 0.1.0 scan initiated Sat Jan  6 10:00:00 2024 as: trawl &#45;&#45;script-args a=&quot;x&amp;y&quot; 198.18.0.1 -->\n"
            "<!-- " RESUME_TAG " next-target=0 seed=5 -->\n",
            &l);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.argc, 4);
  assert_string_equal(l.argv[1], "--script-args");
  assert_string_equal(l.argv[2], "a=\"x&y\"");
  assert_string_equal(l.argv[3], "198.18.0.1");
  assert_int_equal(l.seed, 5);
  resume_free_argv(l.argc, l.argv);
}

/* Finding 5 of issue 14: a command line longer than 8 KiB (1,000
 * targets) came back cut at the old fgets buffer (774 arguments), and the
 * rest of the line was read as another line. Every word must come back. */
static void test_long_command_line(void **state) {
  enum { NT = 1000 };
  size_t cap = 64 + NT * 20;
  char *text = malloc(cap + 128);
  assert_non_null(text);
  int off = snprintf(text, cap, "# Trawl 0.1.0 scan initiated Sat Jan  6 10:00:00 2024 as: trawl -sn -n");
  for (int i = 0; i < NT; i++)
    off += snprintf(text + off, cap - (size_t)off, " 198.18.%d.%d", i / 250, i % 250 + 1);
  assert_true(off > 8192); /* past the old 8 KiB line buffer */
  snprintf(text + off, cap + 128 - (size_t)off, "\n# " RESUME_TAG " next-target=999 seed=1\n");
  struct loaded l;
  load_text(text, &l);
  free(text);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.argc, 3 + NT);
  assert_string_equal(l.argv[2], "-n");
  for (int i = 0; i < NT; i++) {
    char want[32];
    snprintf(want, sizeof want, "198.18.%d.%d", i / 250, i % 250 + 1);
    assert_string_equal(l.argv[3 + i], want);
  }
  assert_null(l.argv[3 + NT]);
  assert_int_equal(l.next, 999);
  resume_free_argv(l.argc, l.argv);
}

/* Finding 6 of issue 14: a header whose command line is only spaces
 * leaked its (empty) argv. It holds no command line: a later header with
 * one is used, and with none the file is refused. LeakSanitizer (the ASan
 * build) fails this test when the empty argv is not freed. */
static void test_blank_command_line(void **state) {
  struct loaded l;
  load_text("# Trawl 0.1.0 scan initiated Sat Jan  6 10:00:00 2024 as:      \n"
            "# " RESUME_TAG " next-target=1 seed=2\n",
            &l);
  assert_int_equal(l.rc, -1);
  assert_int_equal(l.argc, 0);
  assert_null(l.argv);
  assert_non_null(strstr(l.err, "no command line"));

  load_text("# Trawl 0.1.0 scan initiated X as:    \n"
            "# Trawl 0.1.0 scan initiated X as:  trawl   198.18.0.9  \n"
            "# " RESUME_TAG " next-target=1 seed=2\n",
            &l);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.argc, 2);
  assert_string_equal(l.argv[1], "198.18.0.9");
  resume_free_argv(l.argc, l.argv);
}

static void test_refused(void **state) {
  struct loaded l;
  load_text("# Trawl 0.1.0 scan initiated X as: trawl 198.18.0.1\n", &l);
  assert_int_equal(l.rc, -1);
  assert_null(l.argv);
  assert_non_null(strstr(l.err, "no resume marker"));

  load_text("# " RESUME_TAG " next-target=1 seed=2\n", &l);
  assert_int_equal(l.rc, -1);
  assert_non_null(strstr(l.err, "no command line"));

  load_text("# " RESUME_TAG " next-target=x seed=2\n# Trawl scan initiated X as: trawl a\n", &l);
  assert_int_equal(l.rc, -1);
  assert_non_null(strstr(l.err, "no resume marker"));

  memset(&l, 0, sizeof l);
  l.rc = resume_load("/nonexistent/trawl-resume", &l.argc, &l.argv, &l.next, &l.seed, l.err,
                     sizeof l.err);
  assert_int_equal(l.rc, -1);
  assert_non_null(strstr(l.err, "cannot read --resume file"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normal),
      cmocka_unit_test(test_xml),
      cmocka_unit_test(test_long_command_line),
      cmocka_unit_test(test_blank_command_line),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
