/* os-perport.c: grouping a host's open ports by the stack that answers
 * them, and the "os-per-port" result (see os-perport.h). */
#include "os/os-perport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int os_perport_distance(int ttl) {
  if (ttl <= 0) return -1;
  int init = ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
  return init - ttl + 1;
}

void os_perport_observe(struct os_port_obs *o, uint16_t port, const struct os_fp *fp,
                        int synack_ttl) {
  memset(o, 0, sizeof *o);
  o->port = port;
  o->distance = os_perport_distance(synack_ttl);
  static const enum osdb_test open_tests[] = {OSDB_OPS, OSDB_WIN, OSDB_ECN, OSDB_T1,
                                              OSDB_T2,  OSDB_T3,  OSDB_T4};
  size_t n = 0;
  for (size_t k = 0; k < sizeof open_tests / sizeof open_tests[0]; k++) {
    enum osdb_test t = open_tests[k];
    n += (size_t)snprintf(o->sig + n, sizeof o->sig - n, "%s(", osdb_test_name(t));
    for (unsigned i = 0; i < osdb_attr_count(t) && n < sizeof o->sig; i++) {
      const char *v = os_fp_get(fp, t, osdb_attr_name(t, i));
      /* T and TG hold the distance, compared on its own */
      if (v && strcmp(osdb_attr_name(t, i), "T") != 0 && strcmp(osdb_attr_name(t, i), "TG") != 0)
        n += (size_t)snprintf(o->sig + n, sizeof o->sig - n, "%s=%s%%", osdb_attr_name(t, i), v);
    }
    if (n < sizeof o->sig) n += (size_t)snprintf(o->sig + n, sizeof o->sig - n, ")");
    if (n >= sizeof o->sig) n = sizeof o->sig - 1;
  }
  const char *ti = os_fp_get(fp, OSDB_SEQ, "TI"), *ts = os_fp_get(fp, OSDB_SEQ, "TS");
  snprintf(o->sig + n, sizeof o->sig - n, "TI=%s%%TS=%s", ti ? ti : "",
           !ts ? "" : strcmp(ts, "U") == 0 ? "U" : "Y");
}

unsigned os_perport_group(struct os_port_obs *obs, size_t n) {
  unsigned ng = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < i && !(obs[j].distance == obs[i].distance && strcmp(obs[j].sig, obs[i].sig) == 0))
      j++;
    obs[i].group = j < i ? obs[j].group : (uint8_t)ng++;
  }
  return ng;
}

int os_perport_report(struct host_result *h, const struct os_port_obs *obs, size_t n,
                      unsigned ngroups) {
  char text[2048];
  size_t len = 0;
  struct script_result *sr;
  if (ngroups <= 1)
    len += (size_t)snprintf(text, sizeof text, "%zu open port%s, one stack", n, n == 1 ? "" : "s");
  for (unsigned g = 0; g < ngroups && len < sizeof text; g++) {
    const struct os_port_obs *first = NULL;
    len += (size_t)snprintf(text + len, sizeof text - len, "\n  ");
    for (size_t i = 0; i < n && len < sizeof text; i++) {
      if (obs[i].group != g) continue;
      len += (size_t)snprintf(text + len, sizeof text - len, "%s%u", first ? "," : "", obs[i].port);
      if (!first) first = &obs[i];
    }
    if (len >= sizeof text || !first) break;
    len += (size_t)snprintf(text + len, sizeof text - len, "/tcp: %s%s", g ? "a different stack, " : "",
                            first->best[0] ? first->best : "no match");
    if (first->accuracy) len += (size_t)snprintf(text + len, sizeof text - len, " (%d%%)", first->accuracy);
    if (first->distance >= 0 && len < sizeof text)
      len += (size_t)snprintf(text + len, sizeof text - len, ", distance %d", first->distance);
    if (g && len < sizeof text)
      len += (size_t)snprintf(text + len, sizeof text - len, " (port forwarding?)");
  }
  if (len >= sizeof text) len = sizeof text - 1;
  text[len] = '\0';
  if (!(sr = result_add_script(h, NULL, "os-per-port", text))) return -ENOMEM;
  for (unsigned g = 0; g < ngroups; g++) {
    struct script_node *t = snode_add_table(&sr->tree, NULL);
    if (!t) return -ENOMEM;
    struct script_node *ports = snode_add_table(t, "ports");
    const struct os_port_obs *first = NULL;
    char b[32];
    for (size_t i = 0; i < n; i++) {
      if (obs[i].group != g) continue;
      snprintf(b, sizeof b, "%u", obs[i].port);
      if (!ports || !snode_add_elem(ports, NULL, b)) return -ENOMEM;
      if (!first) first = &obs[i];
    }
    if (!first) continue;
    snprintf(b, sizeof b, "%d", first->distance);
    if (!snode_add_elem(t, "os", first->best) || !snode_add_elem(t, "distance", b)) return -ENOMEM;
    snprintf(b, sizeof b, "%d", first->accuracy);
    if (!snode_add_elem(t, "accuracy", b) || !snode_add_elem(t, "stack", first->sig)) return -ENOMEM;
  }
  return 0;
}
