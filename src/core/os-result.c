/* os-result.c: building and freeing struct os_result (os-result.h). */
#include "core/os-result.h"

#include <stdlib.h>
#include <string.h>

struct os_result *os_result_new(void) {
  struct os_result *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->seq_index = -1;
  r->uptime_s = r->lastboot = -1;
  return r;
}

static void os_class_free(struct os_class_result *c) {
  free(c->type);
  free(c->vendor);
  free(c->family);
  free(c->gen);
  for (size_t i = 0; i < c->ncpe; i++) free(c->cpe[i]);
  free(c->cpe);
}

void os_result_free(struct os_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nmatches; i++) {
    struct os_match_item *m = &r->matches[i];
    free(m->name);
    for (size_t k = 0; k < m->nclasses; k++) os_class_free(&m->classes[k]);
    free(m->classes);
  }
  free(r->matches);
  free(r->fingerprint);
  free(r->seq_difficulty);
  free(r->seq_values);
  free(r->ipid_class);
  free(r->ipid_values);
  free(r->ts_class);
  free(r->ts_values);
  free(r);
}

static char *os_result_dup(const char *s) { return s && *s ? strdup(s) : NULL; }

struct os_match_item *os_result_add_match(struct os_result *r, const char *name, int accuracy,
                                          unsigned line) {
  struct os_match_item *n = realloc(r->matches, (r->nmatches + 1) * sizeof *n);
  if (!n) return NULL;
  r->matches = n;
  struct os_match_item *m = &n[r->nmatches];
  memset(m, 0, sizeof *m);
  if (!(m->name = strdup(name ? name : ""))) return NULL;
  m->accuracy = accuracy;
  m->line = line;
  r->nmatches++;
  return m;
}

struct os_class_result *os_result_add_class(struct os_match_item *m, const char *type,
                                            const char *vendor, const char *family,
                                            const char *gen, int accuracy) {
  struct os_class_result *n = realloc(m->classes, (m->nclasses + 1) * sizeof *n);
  if (!n) return NULL;
  m->classes = n;
  struct os_class_result *c = &n[m->nclasses++];
  memset(c, 0, sizeof *c);
  c->type = os_result_dup(type);
  c->vendor = os_result_dup(vendor);
  c->family = os_result_dup(family);
  c->gen = os_result_dup(gen);
  c->accuracy = accuracy;
  return c;
}

int os_result_add_cpe(struct os_class_result *c, const char *cpe) {
  char **n = realloc(c->cpe, (c->ncpe + 1) * sizeof *n);
  if (!n) return -1;
  c->cpe = n;
  if (!(n[c->ncpe] = strdup(cpe))) return -1;
  c->ncpe++;
  return 0;
}
