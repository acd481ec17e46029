/* fuzz_resume.c: libFuzzer harness for reading a --resume file
 * (src/cli/resume.c): the input is the file (an interrupted scan's normal,
 * grepable or XML output), read from a memfd. Checked: an accepted file
 * gives a non-empty argv of non-empty words without spaces, NULL-ended; a
 * refused one gives nothing and a reason. Seeds: tests/fuzz/corpus/resume/. */
#include "fuzz-util.h"

#include "cli/resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  int argc = -1; /* resume_load sets both, whatever happens */
  char *dummy[1] = {NULL};
  char **argv = dummy;
  uint64_t next = 0, seed = 0;
  char err[512];
  err[0] = 0;
  int rc = resume_load(path, &argc, &argv, &next, &seed, err, sizeof err);
  close(fd);
  if (rc == 0) {
    FUZZ_CHECK(argc > 0 && argv != NULL);
    for (int i = 0; i < argc; i++) {
      FUZZ_CHECK(argv[i] != NULL && argv[i][0] != 0);
      FUZZ_CHECK(strchr(argv[i], ' ') == NULL);
    }
    FUZZ_CHECK(argv[argc] == NULL);
    resume_free_argv(argc, argv);
  } else {
    FUZZ_CHECK(rc == -1 && argc == 0 && argv == NULL && err[0] != 0);
  }
  return 0;
}
