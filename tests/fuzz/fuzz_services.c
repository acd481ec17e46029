/* fuzz_services.c: libFuzzer harness for the port table file
 * (src/db/services.c): the input is the file, loaded from a memfd, in
 * both formats (data/trawl-services' and Nmap's nmap-services). Checked on a loaded table: every entry is
 * found again by its port, no port is twice in a ranked list (among its
 * first 64), and a refused file gives one line naming the problem.
 * Seeds: tests/fuzz/corpus/services/. */
#include "fuzz-util.h"

#include "db/services.h"

static void check_one(const char *path, int nmap);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  for (int nmap = 0; nmap < 2; nmap++) check_one(path, nmap);
  close(fd);
  return 0;
}

static void check_one(const char *path, int nmap) {
  struct services *s = NULL;
  char err[512];
  err[0] = 0;
  int rc = nmap ? services_load_nmap(&s, path, err, sizeof err)
                : services_load(&s, path, err, sizeof err);
  if (rc < 0) {
    FUZZ_CHECK(s == NULL);
    FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
    return;
  }
  FUZZ_CHECK(services_has_ratios(s) == nmap);
  FUZZ_CHECK(s != NULL);
  size_t n = services_entry_count(s);
  for (size_t i = 0; i < n; i++) {
    const struct service_entry *e = services_entry(s, i);
    FUZZ_CHECK(e != NULL && e->name != NULL && e->proto < PROTO_COUNT);
    FUZZ_CHECK(strcmp(services_name(s, e->proto, e->port), e->name) == 0);
    FUZZ_CHECK(nmap ? (e->ratio >= 0 && e->ratio <= 1) : e->ratio < 0);
  }
  for (int p = 0; p < PROTO_COUNT; p++) {
    size_t nr = services_ranked_count(s, (enum scan_proto)p);
    FUZZ_CHECK(nr <= n);
    for (size_t i = 0; i < nr; i++) {
      uint16_t port = services_ranked(s, (enum scan_proto)p, i);
      for (size_t j = 0; j < i && j < 64; j++)
        FUZZ_CHECK(services_ranked(s, (enum scan_proto)p, j) != port);
    }
  }
  (void)services_name(s, PROTO_TCP, 0);
  (void)services_named(s, PROTO_UDP, 65535);
  services_free(s);
}
