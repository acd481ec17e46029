/* pktopt.h: what the packet options (--ttl, --data, --data-string,
 * --data-length, --badsum) do to a raw probe, whoever built it.
 *
 * Nmap applies these options to the probes of host discovery and of the
 * port scans alike, so trawl applies them in one place: the engine hands
 * every finished raw IP probe to pktopt_apply() (engine_config.finish)
 * before it is traced and sent. ARP and neighbour solicitations (whole
 * Ethernet frames) are not IP probes and are left alone, as Nmap leaves
 * them. OS detection and traceroute do not run on the engine and keep
 * their own packets (Nmap's -O is not affected either). */
#ifndef TRAWL_PKTOPT_H
#define TRAWL_PKTOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nmap's limit for --data-length (its own error says "between 0 and 65435") */
#define PKTOPT_DATA_MAX 65435
/* The largest probe after the payload is added: IP + TCP with options + data */
#define PKTOPT_PKT_MAX 65536

struct pktopt {
  int ttl;             /* IPv4 TTL / IPv6 hop limit 0-255; -1: as built */
  const uint8_t *data; /* the payload (dlen bytes), when data_set */
  size_t dlen;
  bool data_set;       /* replaces a UDP probe's payload, is appended to TCP and ICMP probes */
  bool badsum;         /* a wrong TCP, UDP, ICMP or ICMPv6 checksum */
};

/* Does po change anything? */
bool pktopt_active(const struct pktopt *po);

/* Rewrite the raw IP packet buf[len] (room for cap bytes) as po says: the
 * TTL or hop limit, the payload (IP and UDP lengths and every checksum
 * follow), then a wrong checksum. Returns the new length; len unchanged
 * when the packet is not an IPv4/IPv6 TCP, UDP, ICMP or ICMPv6 packet;
 * -ENOBUFS when the payload does not fit in cap. */
int pktopt_apply(const struct pktopt *po, uint8_t *buf, int len, size_t cap);

#endif
