/* fuzz_nse_db.c: libFuzzer harness for Nmap's scripts/script.db as trawl
 * reads it (src/script/nse/nse-db.c: parsed as text, never run as Lua):
 * the input is the file's text. Checked: a refused text gives one line
 * naming its line; an accepted one has ids that are non-empty, carry no
 * '/', and are found again by nse_db_find, with non-empty categories
 * of printable bytes. Seeds: tests/fuzz/corpus/nse_db/. */
#include "fuzz-util.h"

#include "script/nse/nse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct nse_db db;
  char err[256];
  err[0] = 0;
  int rc = nse_db_parse((const char *)data, size, &db, err, sizeof err);
  if (rc < 0) {
    FUZZ_CHECK(db.n == 0 && db.v == NULL);
    FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL && strstr(err, "line ") != NULL);
    return 0;
  }
  for (size_t i = 0; i < db.n; i++) {
    const struct nse_db_entry *en = &db.v[i];
    FUZZ_CHECK(en->id && en->id[0] && !strchr(en->id, '/'));
    FUZZ_CHECK(nse_db_find(&db, en->id) != NULL);
    for (size_t k = 0; k < en->ncat; k++) {
      FUZZ_CHECK(en->cats[k] && en->cats[k][0]);
      for (const char *p = en->cats[k]; *p; p++) FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
  }
  nse_db_free(&db);
  FUZZ_CHECK(db.n == 0 && db.v == NULL);
  return 0;
}
