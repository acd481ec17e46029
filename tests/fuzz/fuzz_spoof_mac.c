/* fuzz_spoof_mac.c: libFuzzer harness for --spoof-mac's argument
 * (ethsend_spoof_parse, src/scan/ethsend.c): the input as the argument,
 * without a vendor list and with a small one. Checked: 0 or -EINVAL; a
 * refusal is one line that names the argument's start; an accepted "0"
 * is the random bytes. Seeds: tests/fuzz/corpus/spoof_mac/. */
#include "fuzz-util.h"

#include "db/mac-prefixes.h"
#include "scan/ethsend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct mac_prefixes *db;
  static int loaded;
  if (!loaded) { /* once: a three-vendor list from a memfd */
    static const char text[] = "000393 Apple\n00A0C9 Intel\n0050C2 IEEE Registration Authority\n";
    char path[64];
    int fd = fuzz_file((const uint8_t *)text, sizeof text - 1, path, sizeof path);
    char err[256];
    if (fd >= 0 && mac_prefixes_load(&db, path, err, sizeof err) != 0) db = NULL;
    if (fd >= 0) close(fd);
    loaded = 1;
  }
  char *arg = fuzz_cstr(data, size);
  if (!arg) return 0;
  static const uint8_t rnd[6] = {1, 2, 3, 4, 5, 6};
  for (int k = 0; k < 2; k++) {
    uint8_t mac[6];
    char err[512] = "";
    int r = ethsend_spoof_parse(arg, k ? db : NULL, rnd, mac, err, sizeof err);
    FUZZ_CHECK(r == 0 || r == -EINVAL);
    if (r < 0) FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
    if (r == 0 && strcmp(arg, "0") == 0) FUZZ_CHECK(memcmp(mac, rnd, 6) == 0);
  }
  free(arg);
  return 0;
}
