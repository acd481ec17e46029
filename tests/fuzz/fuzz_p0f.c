/* fuzz_p0f.c: libFuzzer harness for the p0f.fp parser (src/db/p0f.c) and
 * the matcher (src/os/p0f-match.c): the input is the database text.
 * Checked on a loaded database: every signature printed back in p0f's
 * notation parses to the same signature, labels are whole, and matching a
 * few fixed observations gives a valid signature index and distance.
 * Seeds: tests/fuzz/corpus/p0f/. */
#include "fuzz-util.h" /* first: it defines _GNU_SOURCE (memfd_create) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/p0f.h"
#include "os/p0f-match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_warn(void *ctx, const char *msg) {
  (*(unsigned *)ctx)++;
  FUZZ_CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct p0f_db *db = NULL;
  char err[512] = "";
  unsigned nwarn = 0;
  int r = p0f_load_mem(&db, "fuzz", (const char *)data, size, on_warn, &nwarn, err, sizeof err);
  if (r < 0) {
    FUZZ_CHECK(db == NULL && err[0] != '\0' && strchr(err, '\n') == NULL);
    return 0;
  }
  FUZZ_CHECK(db != NULL && p0f_warnings(db) == nwarn && p0f_sig_count(db) > 0);
  for (size_t i = 0; i < p0f_sig_count(db) && i < 32; i++) {
    const struct p0f_sig *s = p0f_sig(db, i);
    const struct p0f_label *l = p0f_label(db, s->label);
    FUZZ_CHECK(l != NULL && l->name[0] != '\0' && l->cls != NULL && l->flavor != NULL);
    char text[512], buf[600];
    size_t n = p0f_sig_format(s, text, sizeof text);
    FUZZ_CHECK(n < sizeof text);
    int m = snprintf(buf, sizeof buf, "[tcp:response]\nlabel = s:!:x:y\nsig = %s\n", text);
    struct p0f_db *back = NULL;
    unsigned w2 = 0;
    FUZZ_CHECK(p0f_load_mem(&back, "again", buf, (size_t)m, on_warn, &w2, err, sizeof err) == 0);
    FUZZ_CHECK(w2 == 0 && p0f_sig_count(back) == 1);
    struct p0f_sig a = *s, b = *p0f_sig(back, 0);
    a.label = b.label = a.line = b.line = 0;
    a.response = b.response = 0;
    FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0);
    p0f_free(back);
  }
  static const uint8_t lay[] = {2, 4, 8, 1, 3};
  struct p0f_obs o;
  memset(&o, 0, sizeof o);
  o.ver = 4;
  o.mss = 1460;
  o.wscale = 7;
  o.has_ts = 1;
  o.nopt = sizeof lay;
  memcpy(o.opt, lay, sizeof lay);
  for (int t = 0; t < 4; t++) {
    o.ttl = (uint8_t)(t * 80 + 1);
    o.win = (uint16_t)(t == 0 ? 14600 : t == 1 ? 65535 : t == 2 ? 8192 : 0);
    o.quirks = t & 1 ? P0F_QBIT(DF) | P0F_QBIT(ID_NZ) : 0;
    struct p0f_result res;
    p0f_match(db, &o, t & 1, &res);
    FUZZ_CHECK(res.sig < (long)p0f_sig_count(db));
    FUZZ_CHECK(res.ittl >= o.ttl && res.dist == res.ittl - o.ttl);
    char label[256];
    p0f_result_format(db, &res, label, sizeof label);
  }
  p0f_free(db);
  return 0;
}
