/* fuzz_ports.c: libFuzzer harness for Nmap's port specification
 * (src/core/ports.c): -p lists with ranges and T:/U: prefixes,
 * --exclude-ports, the final port list and its formatting. Without a port
 * table: service names and [ranges] are errors here, and are fuzzed
 * through fuzz_options (-p, -F, --top-ports with data/trawl-services),
 * because loading a table costs more than the rest of a run.
 * Input: byte 0 = options (bits 0-1 the protocol mask, 0 meaning both;
 * bit 2 protocol prefixes allowed), then the -p text, then after a NUL an
 * --exclude-ports text. Checked: the list is ascending per protocol, each
 * index maps back to its port, and the formatted list parses back to the
 * same set. Seeds: tests/fuzz/corpus/ports/. */
#include "fuzz-util.h"

#include "core/ports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t opt = data[0];
  unsigned protos = opt & 3 ? opt & 3 : PROTO_MASK_ALL;
  char *text = fuzz_cstr(data + 1, size - 1);
  if (!text) return 0;
  size_t tl = strlen(text);
  /* after a NUL: the exclusion list */
  char *exc = tl + 1 < size ? fuzz_cstr(data + 1 + tl + 1, size - 1 - tl - 1) : NULL;
  struct portset *set = calloc(1, sizeof *set), *ex = calloc(1, sizeof *ex);
  char err[512];
  int rc = -1;
  if (set && ex) {
    err[0] = 0;
    rc = ports_parse(set, text, protos, (opt >> 2) & 1, NULL, "port specification", err, sizeof err);
    if (rc < 0) FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
    if (rc == 0 && exc) {
      rc = ports_parse(ex, exc, PROTO_MASK_ALL, 1, NULL, "excluded ports", err, sizeof err);
      if (rc == 0) portset_subtract(set, ex);
    }
  }
  if (rc == 0) {
    struct portlist pl;
    memset(&pl, 0, sizeof pl);
    if (portlist_from_set(&pl, set) == 0) {
      size_t idx = 0;
      for (int p = 0; p < PROTO_COUNT; p++) {
        FUZZ_CHECK(pl.n[p] == portset_count(set, (enum scan_proto)p));
        for (size_t i = 0; i < pl.n[p]; i++, idx++) {
          if (i) FUZZ_CHECK(pl.ports[p][i - 1] < pl.ports[p][i]);
          FUZZ_CHECK(portset_has(set, (enum scan_proto)p, pl.ports[p][i]));
          enum scan_proto gp;
          uint16_t port;
          FUZZ_CHECK(portlist_get(&pl, idx, &gp, &port) == 0);
          FUZZ_CHECK(gp == (enum scan_proto)p && port == pl.ports[p][i]);
        }
        char *f = ports_format(pl.ports[p], pl.n[p]);
        FUZZ_CHECK(f != NULL);
        /* the formatted list parses back to the same ports */
        struct portset *back = calloc(1, sizeof *back);
        if (back && *f) {
          FUZZ_CHECK(ports_parse(back, f, PROTO_MASK(p), 0, NULL, "x", err, sizeof err) == 0);
          FUZZ_CHECK(memcmp(back->bits[p], set->bits[p], sizeof back->bits[p]) == 0);
        }
        free(back);
        free(f);
      }
      enum scan_proto gp;
      uint16_t port;
      FUZZ_CHECK(portlist_get(&pl, idx, &gp, &port) == -ERANGE);
      portlist_free(&pl);
    }
  }
  free(set);
  free(ex);
  free(exc);
  free(text);
  return 0;
}
