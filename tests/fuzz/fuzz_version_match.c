/* fuzz_version_match.c: libFuzzer harness for matching and template
 * substitution (src/version/match.c) against a small fixed database
 * written here. The input is a response: every probe's chain is run on it
 * whole and in slices of one line (both must agree), and the port state
 * takes each result. Then the input is split at its first NUL into a
 * template and a subject with hand-made capture offsets, and expanded into
 * each field size: a result is NUL-terminated within its field, with no
 * trailing space or comma. Seeds: tests/fuzz/corpus/version_match/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/service-probes.h"
#include "version/match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                    \
  do {                                                                              \
    if (!(c)) {                                                                     \
      fprintf(stderr, "fuzz: invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
      abort();                                                                      \
    }                                                                               \
  } while (0)

static const char DB[] =
    "Probe TCP NULL q||\n"
    "match ftp m|^220 ([-\\w.]+) FTP (\\S+)\\r\\n| p/$1/ v/$SUBST(2,\"_\",\".\")/ cpe:/a:x:$1:$2/a\n"
    "softmatch ftp m/^220 .*ftp/i\n"
    "match ssh m=^SSH-([\\d.]+)-([^\\r\\n]+)=s p/$P(2)/ i/protocol $1/ o/$2/\n"
    "match bin m|^\\x01(.)(..)(....)(.{0,8})|s v/$I(2,\">\").$I(3,\"<\")/ h/$P(4)/ "
    "i/$I(4,\">\")/ d/$1$1$1/\n"
    "match any m|(.*)(a+)+b(\\w*)?$|s p/$3/ i/$1/\n"
    "Probe TCP Get q|GET / HTTP/1.0\\r\\n\\r\\n|\n"
    "ports 80\n"
    "match http m|^HTTP/1\\.[01] (\\d+)(?: (.*?))?\\r\\n.*?Server: ([^\\r\\n]*)|s p/$3/ i/$2 $1/ "
    "cpe:/a:$3/\n"
    "softmatch http m|^HTTP/|\n"
    "Probe UDP Dns q|\\0\\0|\n"
    "match domain m|^\\0\\0(.)(.)| v/$I(1,\">\")/ i/$I(2,\"<\")/\n"
    "Probe TCP Opt q|OPTIONS|\n"
    "fallback Get,Dns\n"
    "match rtsp m|^RTSP/(\\d)\\.(\\d)| v/$1.$2/\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sp_db *db = NULL;
  char err[256];
  struct sp_load_opts o = {NULL, NULL, SP_JIT_EAGER};
  CHECK(sp_parse(&db, "fuzzdb", DB, sizeof DB - 1, &o, err, sizeof err) == 0);
  CHECK(db->warnings == 0 && db->nprobes == 4);
  struct vm_matcher *m;
  CHECK(vm_matcher_new(&m, db) == 0);
  struct vm_port st;
  memset(&st, 0, sizeof st);
  for (int32_t p = 0; p < (int32_t)db->nprobes; p++) {
    struct vm_result whole, sliced;
    enum vm_kind k = vm_match_probe(m, db, p, data, size, &whole);
    struct vm_walk w = {0, 0};
    enum vm_kind ks;
    size_t steps = 0;
    while ((ks = vm_match_step(m, db, p, data, size, &w, 1, &sliced)) == VM_PENDING) steps++;
    CHECK(ks == k && sliced.match == whole.match && steps < 64);
    if (k != VM_NONE) {
      CHECK(memcmp(whole.field, sliced.field, sizeof whole.field) == 0);
      for (int f = 0; f < SP_FIELD_COUNT; f++)
        CHECK(memchr(whole.field[f], '\0', f == SP_INFO ? VM_EXTRA_LEN : VM_FIELD_LEN));
    }
    int done = vm_port_take(&st, k, &whole);
    CHECK(!done || st.kind == VM_HARD);
  }
  vm_matcher_free(m);
  sp_free(db);

  /* the template language itself */
  const uint8_t *nul = memchr(data, 0, size);
  if (nul == NULL) return 0;
  size_t tl = (size_t)(nul - data), sl = size - tl - 1;
  const uint8_t *subj = nul + 1;
  size_t ov[20];
  for (int i = 0; i < 20; i += 2) {
    size_t a = sl ? (size_t)(i * 7) % (sl + 1) : 0, b = sl ? (size_t)(i * 13 + 3) % (sl + 1) : 0;
    ov[i] = a < b ? a : b;
    ov[i + 1] = a < b ? b : a;
    if (i == 8) ov[i] = ov[i + 1] = (size_t)-1; /* group 4 did not take part */
  }
  static const size_t caps[] = {VM_TYPE_LEN, VM_FIELD_LEN, VM_EXTRA_LEN};
  for (int cpe = 0; cpe < 2; cpe++)
    for (size_t c = 0; c < 3; c++) {
      char out[VM_EXTRA_LEN + 1];
      memset(out, 'Z', sizeof out);
      int rc = vm_expand((const char *)data, subj, sl, ov, 10, cpe, out, caps[c]);
      CHECK(rc == 0 || rc == -1);
      size_t n = strnlen(out, caps[c]);
      CHECK(n < caps[c] && out[caps[c]] == 'Z');
      if (rc == -1) CHECK(n == 0);
      if (n) CHECK(out[n - 1] != ',' && out[n - 1] != ' ');
      (void)tl;
    }
  return 0;
}
