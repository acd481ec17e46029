/* mac-prefixes.h: Nmap's nmap-mac-prefixes, the vendor of a MAC address
 * by its first three bytes (the IEEE OUI), read at run time from Debian's
 * nmap-common (never copied into trawl), for "MAC Address: ... (Vendor)"
 * and the XML's vendor attribute.
 *
 * Format: "XXXXXX Vendor name" per line, six hex digits, a space or tab,
 * the name to the end of the line; '#' lines are comments. */
#ifndef TRAWL_MAC_PREFIXES_H
#define TRAWL_MAC_PREFIXES_H

#include <stddef.h>
#include <stdint.h>

#define MAC_PREFIXES_FILE "nmap-mac-prefixes"
#define MAC_PREFIXES_MAX_NAME 128 /* bytes of one vendor name */

struct mac_prefixes;

/* 0, or a negative code with one line in err naming the file and line. */
int mac_prefixes_load(struct mac_prefixes **out, const char *path, char *err, size_t errlen);
/* By Nmap's lookup order (core/datadir.h); 0 with *out NULL when there is
 * no such file. */
int mac_prefixes_load_default(struct mac_prefixes **out, const char *datadir, char *err,
                              size_t errlen);
void mac_prefixes_free(struct mac_prefixes *m);
const char *mac_prefixes_path(const struct mac_prefixes *m);
size_t mac_prefixes_count(const struct mac_prefixes *m);
/* The vendor of mac, or NULL when its prefix is not listed (or m NULL). */
const char *mac_prefixes_vendor(const struct mac_prefixes *m, const uint8_t mac[6]);
/* --spoof-mac VENDOR: the lowest prefix whose vendor name contains name
 * (ASCII case ignored), in prefix[3]; 0, or -ENOENT. */
int mac_prefixes_find(const struct mac_prefixes *m, const char *name, uint8_t prefix[3]);

#endif
