/* fuzz_service_probes.c: libFuzzer harness for the nmap-service-probes
 * parser (src/db/service-probes.c): the input is the file's text. Checked
 * on whatever loads: every warning is one line naming "fuzz:LINE:", every
 * probe is well formed (name, protocol, rarity 1-9, waits in range, its
 * fallback chain starts with itself and indexes real probes, at most one
 * NULL probe), and the loaded database can be used: each port's probe
 * sequence and each probe's chain against a fixed response run without
 * fault. Seeds: tests/fuzz/corpus/service_probes/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/service-probes.h"
#include "version/match.h"
#include "version/probe-order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                    \
  do {                                                                              \
    if (!(c)) {                                                                     \
      fprintf(stderr, "fuzz: invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
      abort();                                                                      \
    }                                                                               \
  } while (0)

static void check_warning(void *ud, const char *msg) {
  size_t *n = ud;
  (*n)++;
  CHECK(strncmp(msg, "fuzz:", 5) == 0);
  CHECK(strchr(msg, '\n') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t warned = 0;
  struct sp_load_opts o = {check_warning, &warned, SP_JIT_NONE};
  struct sp_db *db = NULL;
  char err[512] = "";
  if (sp_parse(&db, "fuzz", (const char *)data, size, &o, err, sizeof err) != 0) {
    CHECK(db == NULL && err[0] != '\0');
    return 0;
  }
  CHECK(db != NULL && db->warnings == warned);
  size_t nulls = 0, lines = 0;
  for (size_t i = 0; i < db->nprobes; i++) {
    const struct sp_probe *p = &db->probes[i];
    CHECK(p->name != NULL && p->name[0] != '\0');
    CHECK(p->proto == PROTO_TCP || p->proto == PROTO_UDP);
    CHECK(p->rarity >= 1 && p->rarity <= 9);
    CHECK(p->totalwaitms >= 100 && p->totalwaitms <= 300000);
    CHECK(p->tcpwrappedms >= 100 && p->tcpwrappedms <= 300000);
    CHECK((p->payload == NULL) == (p->payload_len == 0));
    if (p->payload_len == 0) nulls++;
    CHECK(p->nfallback >= 1 && p->nfallback <= SP_MAX_FALLBACKS + 2 && p->fallback[0] == (int32_t)i);
    for (unsigned f = 0; f < p->nfallback; f++)
      CHECK(p->fallback[f] >= 0 && (size_t)p->fallback[f] < db->nprobes);
    for (size_t k = 0; k < p->nmatches; k++) {
      const struct sp_match *m = &p->matches[k];
      CHECK(m->service && m->regex && m->re && m->ncpe <= SP_MAX_CPES);
      CHECK(sp_probe_can_give(p, m->service));
      for (unsigned c = 0; c < m->ncpe; c++) CHECK(strncmp(m->cpe[c], "cpe:/", 5) == 0);
    }
    lines += p->nmatches;
  }
  CHECK(nulls <= 1 && lines == db->nmatches);
  CHECK((db->null_probe < 0) == (nulls == 0));

  static const uint16_t ports[] = {0, 21, 80, 443, 65535};
  int32_t seq[64];
  for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
    for (int intensity = 0; intensity <= 9; intensity += 3) {
      size_t n = vp_sequence(db, PROTO_TCP, ports[i], i & 1, intensity, 0, NULL, seq, 64);
      for (size_t k = 0; k < n && k < 64; k++) CHECK(seq[k] >= 0 && (size_t)seq[k] < db->nprobes);
      if (n > 0 && db->null_probe >= 0 && !sp_excluded(db, PROTO_TCP, ports[i]))
        CHECK(seq[0] == db->null_probe);
      (void)vp_sequence(db, PROTO_UDP, ports[i], 0, intensity, 1, "http", seq, 64);
    }
  struct vm_matcher *m;
  if (vm_matcher_new(&m, db) == 0) {
    static const uint8_t resp[] = "220 fuzz.example ESMTP ready\r\nHTTP/1.0 200 OK\r\n\0\x01\xff";
    struct vm_result r;
    for (size_t i = 0; i < db->nprobes && i < 64; i++) {
      enum vm_kind k = vm_match_probe(m, db, (int32_t)i, resp, sizeof resp - 1, &r);
      CHECK((k == VM_NONE) == (r.match == NULL));
    }
    vm_matcher_free(m);
  }
  sp_free(db);
  return 0;
}
