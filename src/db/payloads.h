/* payloads.h: Nmap's nmap-payloads, the UDP probe payloads per port, read
 * at run time from Debian's nmap-common (never copied into trawl). When
 * the file is not found, -sU uses trawl's own few payloads
 * (probe/udp-payloads.h).
 *
 * The format, as Nmap's file uses it: an entry is the word "udp", a port
 * list ("53", "53,5353", "32768-65535"), one or more C-style quoted
 * strings that are joined ("\x00", "\r", "\n", "\t", "\0", "\\", "\""),
 * possibly over several lines, and an optional "source PORT". '#' outside
 * a string starts a comment. A port may have several entries: Nmap sends
 * all of them in each try, in file order. */
#ifndef TRAWL_PAYLOADS_H
#define TRAWL_PAYLOADS_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOADS_FILE "nmap-payloads"
#define PAYLOADS_MAX_LEN 1400   /* bytes in one payload */
#define PAYLOADS_MAX_ENTRIES 4096
#define PAYLOADS_MAX_RANGES 256 /* port ranges of one entry */

struct payloads;

/* Loads one file: 0, or a negative code with one line in err naming the
 * file, the line and the problem. */
int payloads_load(struct payloads **out, const char *path, char *err, size_t errlen);
/* Finds PAYLOADS_FILE by Nmap's lookup order (core/datadir.h; datadir is
 * --datadir or NULL) and loads it. 0 with *out NULL when there is none. */
int payloads_load_default(struct payloads **out, const char *datadir, char *err, size_t errlen);
void payloads_free(struct payloads *p);
const char *payloads_path(const struct payloads *p);

/* How many payloads port has, and the k-th (0-based, file order); NULL
 * when k is out of range. */
size_t payloads_count(const struct payloads *p, uint16_t port);
const uint8_t *payloads_get(const struct payloads *p, uint16_t port, size_t k, size_t *len);
/* Entries loaded. */
size_t payloads_entries(const struct payloads *p);

#endif
