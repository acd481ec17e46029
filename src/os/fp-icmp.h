/* fp-icmp.h: the IE (two ICMP echoes) and U1 (UDP to a closed port) tests
 * of Nmap's second-generation OS detection, as pure functions of the
 * parsed replies and of what the probes carried; and the hop distance
 * that the U1 reply's quote reveals.
 *
 * IE (both echo replies needed, else R=N):
 *   DFI  N neither reply has DF; S each copies its probe's DF; Y both
 *        have it; O other;
 *   T/TG of the first reply (see fp-tcp.h);
 *   CD   Z both codes zero; S each equals its probe's code; the code
 *        (hex) when both are the same other value; O other.
 * U1 (the port unreachable):
 *   DF, T/TG; IPL the reply's IP total length; UN the 4 "unused" bytes;
 *   RIPL, RID the quoted IP total length and ID: G when as sent, else the
 *   value; RIPCK the quoted IP checksum: Z zero, G valid, I invalid; RUCK
 *   the quoted UDP checksum: G as sent, else the value; RUD the quoted UDP
 *   data: G when all bytes are the probe's fill byte (or none came back),
 *   else I. */
#ifndef TRAWL_OS_FP_ICMP_H
#define TRAWL_OS_FP_ICMP_H

#include <stdint.h>
#include <trawl/packet.h>

#include "os/fp.h"

struct os_ie_sent {
  uint8_t df[2];   /* the probes' DF bits */
  uint8_t code[2]; /* the probes' ICMP codes */
};

struct os_u1_sent {
  uint8_t ttl;      /* the probe's TTL */
  uint16_t ip_id;
  uint16_t ip_len;  /* IP total length */
  uint16_t udp_csum;
  uint8_t fill;     /* the byte the UDP data is made of */
};

/* Routers between us and the target (the network distance minus one): the
 * probe's TTL minus the quoted TTL; -1 when r is no ICMP error quoting an
 * IPv4 packet or the quoted TTL is above the sent one. */
int os_fp_u1_hops(const tw_pkt *r, uint8_t sent_ttl);
void os_fp_ie(struct os_fp *fp, const tw_pkt *r1, const tw_pkt *r2, const struct os_ie_sent *s,
              int dist);
void os_fp_u1(struct os_fp *fp, const tw_pkt *r, const struct os_u1_sent *s, int dist);

#endif
