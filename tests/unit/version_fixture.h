/* version_fixture.h: shared by the version-detection tests
 * (test_service_probes.c, test_version_match.c, test_probe_order.c,
 * test_version_realdb.c): loading tests/fixtures/service-probes-test with
 * its warnings collected, and finding probes by name. Included once per
 * test. */
#ifndef TRAWL_VERSION_FIXTURE_H
#define TRAWL_VERSION_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/service-probes.h"

#define VF_PATH TW_SRCDIR "/tests/fixtures/service-probes-test"
#define VF_MAXWARN 64

struct vf_warnings {
  char msg[VF_MAXWARN][700];
  size_t n;
};

__attribute__((unused)) static void vf_warn(void *ud, const char *msg) {
  struct vf_warnings *w = ud;
  if (w->n < VF_MAXWARN) snprintf(w->msg[w->n], sizeof w->msg[0], "%s", msg);
  w->n++;
}

/* Loads the fixture; fails the test when it cannot be read. */
__attribute__((unused)) static struct sp_db *vf_load(struct vf_warnings *w) {
  static struct vf_warnings ignored;
  struct sp_load_opts o = {vf_warn, w ? w : &ignored, SP_JIT_EAGER};
  struct sp_db *db = NULL;
  char err[512] = "";
  if (sp_load(&db, VF_PATH, &o, err, sizeof err) != 0) fail_msg("%s", err);
  return db;
}

/* Parses text given inline. */
__attribute__((unused)) static struct sp_db *vf_parse(const char *text, size_t len, struct vf_warnings *w) {
  struct sp_load_opts o = {vf_warn, w, SP_JIT_EAGER};
  struct sp_db *db = NULL;
  char err[512] = "";
  if (sp_parse(&db, "inline", text, len, &o, err, sizeof err) != 0) fail_msg("%s", err);
  return db;
}

/* Index of the probe name/proto; fails the test when absent. */
__attribute__((unused)) static int32_t vf_probe(const struct sp_db *db, const char *name, enum scan_proto proto) {
  const struct sp_probe *p = sp_probe_by_name(db, name, proto);
  if (p == NULL) fail_msg("no probe %s", name);
  return (int32_t)(p - db->probes);
}

#endif
