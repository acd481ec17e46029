/* probe-order.c: the probe sequence of one port (see probe-order.h). */
#include "version/probe-order.h"

enum { VP_NULL, VP_LISTED, VP_REST, VP_DONE };

void vp_cursor_init(struct vp_cursor *c, const struct sp_db *db, enum scan_proto proto,
                    uint16_t port, int ssl, int intensity, int allports) {
  c->db = db;
  c->proto = proto;
  c->port = port;
  c->ssl = ssl ? 1 : 0;
  c->intensity = (uint8_t)(intensity < 0 ? 0 : intensity > 9 ? 9 : intensity);
  c->next = 0;
  c->phase = (!allports && sp_excluded(db, proto, port)) ? VP_DONE : VP_NULL;
}

int32_t vp_cursor_next(struct vp_cursor *c, const char *soft) {
  const struct sp_db *db = c->db;
  if (c->phase == VP_NULL) {
    c->phase = VP_LISTED;
    c->next = 0;
    if (c->proto == PROTO_TCP && db->null_probe >= 0) return db->null_probe;
  }
  int narrow = soft != NULL && c->intensity < VP_INTENSITY_ALL;
  while (c->phase == VP_LISTED || c->phase == VP_REST) {
    while (c->next < db->nprobes) {
      size_t i = c->next++;
      const struct sp_probe *p = &db->probes[i];
      if ((int32_t)i == db->null_probe || p->proto != c->proto) continue;
      int listed = sp_probe_port_listed(p, c->port, c->ssl);
      if (c->phase == VP_LISTED ? !listed : listed) continue;
      if (narrow && !sp_probe_can_give(p, soft)) continue;
      if (c->phase == VP_REST && soft == NULL && p->rarity > c->intensity) continue;
      return (int32_t)i;
    }
    c->phase++;
    c->next = 0;
  }
  return -1;
}

size_t vp_sequence(const struct sp_db *db, enum scan_proto proto, uint16_t port, int ssl,
                   int intensity, int allports, const char *soft, int32_t *out, size_t max) {
  struct vp_cursor c;
  size_t n = 0;
  vp_cursor_init(&c, db, proto, port, ssl, intensity, allports);
  for (int32_t i; (i = vp_cursor_next(&c, soft)) >= 0; n++)
    if (n < max) out[n] = i;
  return n;
}
