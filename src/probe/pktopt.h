/* pktopt.h: what the packet options (--ttl, --data, --data-string,
 * --data-length, --badsum, --ip-options, -f/--mtu, -D) do to a raw probe,
 * whoever built it.
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
#include <trawl/packet.h>

/* Nmap's limit for --data-length (its own error says "between 0 and 65435") */
#define PKTOPT_DATA_MAX 65435
/* The largest probe after the payload is added: IP + TCP with options + data */
#define PKTOPT_PKT_MAX 65536
/* IPv4 options: at most 40 bytes (the header length field's limit) */
#define PKTOPT_IPOPT_MAX 40
/* -D: at most this many decoys, ME included (Nmap's limit too) */
#define PKTOPT_DECOY_MAX 128

struct pktopt {
  int ttl;             /* IPv4 TTL / IPv6 hop limit 0-255; -1: as built */
  const uint8_t *data; /* the payload (dlen bytes), when data_set */
  size_t dlen;
  bool data_set;       /* replaces a UDP probe's payload, is appended to TCP and ICMP probes */
  bool badsum;         /* a wrong TCP, UDP, ICMP or ICMPv6 checksum */
  uint8_t ipopt[PKTOPT_IPOPT_MAX]; /* --ip-options (IPv4 probes), padded to 4 bytes */
  size_t ipopt_len;
  unsigned frag;       /* -f (8), -ff (16), --mtu N: IPv4 probes are sent as
                          fragments of this many payload bytes; 0: whole */
  const tw_pkt_addr *decoys; /* -D: the sources each probe is sent from, in
                                order; family 0 is ME (the probe as built) */
  size_t ndecoys;
};

/* Does po change anything? */
bool pktopt_active(const struct pktopt *po);

/* Rewrite the raw IP packet buf[len] (room for cap bytes) as po says: the
 * TTL or hop limit, the payload (IP and UDP lengths and every checksum
 * follow), then a wrong checksum. Returns the new length; len unchanged
 * when the packet is not an IPv4/IPv6 TCP, UDP, ICMP or ICMPv6 packet;
 * -ENOBUFS when the payload does not fit in cap. */
int pktopt_apply(const struct pktopt *po, uint8_t *buf, int len, size_t cap);

/* Do -f/--mtu or -D make one probe several packets? */
bool pktopt_expands(const struct pktopt *po);

/* Copy k (0, 1, ...) of the finished probe pkt[len] into out (cap
 * bytes): one per source of -D, in order (ME: the probe as built); just
 * the probe without -D. Returns its length; 0 past the last. A decoy copy
 * keeps the probe's checksums right (or wrong, with --badsum): they are
 * adjusted, not computed again. */
int pktopt_source(const struct pktopt *po, const uint8_t *pkt, int len, int k, uint8_t *out, size_t cap);

/* -f/--mtu on one copy: fragment j of pkt[len] into out (pktopt_fragment
 * with po->frag); -1 when the packet goes whole (no -f, not IPv4, already
 * a fragment, or fits in one fragment's payload). */
int pktopt_frag(const struct pktopt *po, const uint8_t *pkt, int len, int j, uint8_t *out, size_t cap);

/* --ip-options ARG into out[PKTOPT_IPOPT_MAX]: Nmap's forms, "\xHH" bytes
 * (a byte followed by "*N" is repeated N times), or R (record route), T
 * (timestamps), U (timestamps and addresses), L ADDR... / S ADDR...
 * (loose / strict source route). Padded with end-of-options bytes to a
 * multiple of 4. Returns the length, or -1 with a reason in why. */
int pktopt_ipopt_parse(const char *arg, uint8_t *out, const char **why);

/* Split the IPv4 packet pkt[len] into fragments of `frag` payload bytes
 * (a multiple of 8): fragment k into out; returns its length, 0 when k is
 * past the last, -1 when pkt is not a whole IPv4 packet. Options without
 * the copied flag stay in the first fragment only (RFC 791). */
int pktopt_fragment(const uint8_t *pkt, int len, unsigned frag, int k, uint8_t *out, size_t cap);

#endif
