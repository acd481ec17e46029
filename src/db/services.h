/* services.h: trawl's port table (data/trawl-services): service names for
 * the SERVICE column and -p by name, and open-frequency ranks for -F and
 * --top-ports. The file format is documented in its header.
 *
 * services_load_default() finds the file by trawl's one lookup order
 * (core/datadir.h). */
#ifndef TRAWL_SERVICES_H
#define TRAWL_SERVICES_H

#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

#define SERVICES_FILE "trawl-services"

struct service_entry {
  char *name;
  uint16_t port;
  enum scan_proto proto;
  uint32_t rank; /* 1 = most often open */
};

struct services;

/* Loads one file. 0, or a negative code with one line in err naming the
 * file, line and problem. */
int services_load(struct services **out, const char *path, char *err,
                  size_t errlen);
/* Finds and loads SERVICES_FILE by the lookup order above (datadir may be
 * NULL). */
int services_load_default(struct services **out, const char *datadir,
                          char *err, size_t errlen);
void services_free(struct services *s);

/* The name of a port, or "unknown". */
const char *services_name(const struct services *s, enum scan_proto proto,
                          uint16_t port);
/* Whether the port has a real name (not absent and not "unknown"). */
int services_named(const struct services *s, enum scan_proto proto,
                   uint16_t port);
/* Ports of one protocol ordered by rank: count and the i-th (0 = top). */
size_t services_ranked_count(const struct services *s, enum scan_proto proto);
uint16_t services_ranked(const struct services *s, enum scan_proto proto,
                         size_t i);
/* All entries, in file order. */
size_t services_entry_count(const struct services *s);
const struct service_entry *services_entry(const struct services *s, size_t i);

#endif
