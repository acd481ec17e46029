/* udp-payloads.h: what to say to a UDP port so that the service behind it
 * answers. Most UDP services ignore an empty datagram, so for well-known
 * ports the probe carries a minimal valid request of the port's protocol. */
#ifndef TRAWL_UDP_PAYLOADS_H
#define TRAWL_UDP_PAYLOADS_H

#include <stddef.h>
#include <stdint.h>

/* The payload for a port (len 0 for none). Static; never NULL. */
const uint8_t *udp_payload(uint16_t port, size_t *len);

#endif
