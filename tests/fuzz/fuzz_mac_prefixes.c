/* fuzz_mac_prefixes.c: libFuzzer harness for Nmap's nmap-mac-prefixes
 * format (src/db/mac-prefixes.c): the input is the file, from a memfd.
 * Checked: a refused file gives one line and no table; on a loaded one,
 * lookups of the first bytes of the input and of a few fixed MACs return
 * NUL-terminated names no longer than MAC_PREFIXES_MAX_NAME.
 * Seeds: tests/fuzz/corpus/mac_prefixes/. */
#include "fuzz-util.h"

#include "db/mac-prefixes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  struct mac_prefixes *m = NULL;
  char err[512];
  err[0] = 0;
  int rc = mac_prefixes_load(&m, path, err, sizeof err);
  close(fd);
  if (rc < 0) {
    FUZZ_CHECK(m == NULL);
    FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
    return 0;
  }
  FUZZ_CHECK(m != NULL);
  uint8_t macs[4][6] = {{0}, {0xff, 0xff, 0xff, 0, 0, 0}, {0x00, 0x50, 0x56, 1, 2, 3}, {0}};
  memcpy(macs[3], data, size < 6 ? size : 6);
  for (int i = 0; i < 4; i++) {
    const char *v = mac_prefixes_vendor(m, macs[i]);
    if (v) FUZZ_CHECK(strlen(v) <= MAC_PREFIXES_MAX_NAME);
  }
  mac_prefixes_free(m);
  return 0;
}
