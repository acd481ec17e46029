/* probe-order.h: which probes a port gets, in which order, as Nmap's
 * version scan chooses them (its nextProbe):
 *   1. the NULL probe (TCP only): connect and listen;
 *   2. the probes of the port's protocol whose `ports` list the port
 *      (`sslports` inside a TLS tunnel), in file order, whatever their
 *      rarity;
 *   3. the other probes of that protocol in file order, those with
 *      rarity <= intensity (0-9; --version-light 2, default 7,
 *      --version-all 9).
 * Once a port has soft-matched a service, steps 2 and 3 keep only probes
 * with a line that can give that service, and step 3 then ignores rarity
 * (below intensity 9; at 9 nothing is filtered). A port the file's Exclude
 * lists gets no probes unless allports (--allports) is set. File order,
 * not rarity order, is the order: it is Nmap's, and the file is written
 * roughly by rarity. Since the soft service is passed at each step, a
 * softmatch found mid-way changes what follows, as in Nmap. */
#ifndef TRAWL_VERSION_PROBE_ORDER_H
#define TRAWL_VERSION_PROBE_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "db/service-probes.h"

#define VP_INTENSITY_LIGHT 2
#define VP_INTENSITY_DEFAULT 7
#define VP_INTENSITY_ALL 9

struct vp_cursor {
  const struct sp_db *db;
  enum scan_proto proto;
  uint16_t port;
  uint8_t ssl, intensity, phase;
  size_t next;
};

/* Starts the sequence for a port (intensity is clamped to 0-9). */
void vp_cursor_init(struct vp_cursor *c, const struct sp_db *db, enum scan_proto proto,
                    uint16_t port, int ssl, int intensity, int allports);
/* The next probe (index into db->probes), or -1 when there is none left.
 * soft: the service soft-matched so far, or NULL. */
int32_t vp_cursor_next(struct vp_cursor *c, const char *soft);
/* The whole sequence for a fixed soft service (NULL for none): writes up
 * to max indices into out and returns how many there are in all. */
size_t vp_sequence(const struct sp_db *db, enum scan_proto proto, uint16_t port, int ssl,
                   int intensity, int allports, const char *soft, int32_t *out, size_t max);

#endif
