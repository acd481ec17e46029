/* services.h: the port table: service names for the SERVICE column and
 * -p by name, and open-frequency ranks for -F and --top-ports. Two file
 * formats: Nmap's nmap-services ("name port/proto ratio", read at run time
 * from Debian's nmap-common, never copied), whose ratios also serve
 * --port-ratio, and trawl's own data/trawl-services ("name port/proto
 * rank", documented in its header), the fallback.
 *
 * services_load_default() looks for nmap-services by Nmap's lookup order,
 * then for trawl-services by trawl's (core/datadir.h). */
#ifndef TRAWL_SERVICES_H
#define TRAWL_SERVICES_H

#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"

#define SERVICES_FILE "trawl-services"
#define SERVICES_NMAP_FILE "nmap-services"

struct service_entry {
  char *name;
  uint16_t port;
  enum scan_proto proto;
  uint32_t rank; /* 1 = most often open */
  double ratio;  /* nmap-services: how often found open (0-1); -1: not known */
};

struct services;

/* Loads one file. 0, or a negative code with one line in err naming the
 * file, line and problem. */
int services_load(struct services **out, const char *path, char *err,
                  size_t errlen);
/* Loads Nmap's nmap-services format. Ranks follow the ratios (highest
 * first; equal ratios by port number); SCTP lines are skipped. */
int services_load_nmap(struct services **out, const char *path, char *err,
                       size_t errlen);
/* Finds and loads SERVICES_NMAP_FILE, else SERVICES_FILE, by the lookup
 * orders above (datadir, --datadir, may be NULL). */
int services_load_default(struct services **out, const char *datadir,
                          char *err, size_t errlen);
void services_free(struct services *s);
/* The file the table was loaded from. */
const char *services_path(const struct services *s);
/* Whether the table has Nmap's open ratios (--port-ratio). */
int services_has_ratios(const struct services *s);

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
