/* fuzz_iflist.c: libFuzzer harness for --iflist's readers of the kernel's
 * tables (src/cli/iflist.c): the input is given as all four files
 * (/proc/net/dev, if_inet6, route, ipv6_route), from a memfd. Checked: it
 * succeeds (every file exists), prints both table titles, and no output
 * line ends in a blank. Seeds: tests/fuzz/corpus/iflist/ (a lab
 * namespace's real files, concatenated). */
#include "fuzz-util.h"

#include "cli/iflist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  struct iflist_src src = {path, path, path, path};
  char *buf = NULL, err[256];
  size_t len = 0, skipped = 0;
  FILE *out = open_memstream(&buf, &len);
  if (out == NULL) {
    close(fd);
    return 0;
  }
  int rc = iflist_print(out, &src, &skipped, err, sizeof err);
  fclose(out);
  close(fd);
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(strstr(buf, "INTERFACES") != NULL && strstr(buf, "ROUTES") != NULL);
  FUZZ_CHECK(strstr(buf, " \n") == NULL);
  free(buf);
  return 0;
}
