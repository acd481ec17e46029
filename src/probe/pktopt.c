/* pktopt.c: the packet options applied to a finished raw probe (see
 * pktopt.h): one rewrite of the IP packet instead of a copy of each option
 * in every probe module. The probe is parsed with libtrawl's dissector,
 * changed in place, and its checksums computed again (tw_pkt_ip_finish);
 * --badsum then spoils the upper-layer checksum. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <trawl/packet.h>

#include "probe/pktopt.h"

bool pktopt_active(const struct pktopt *po) {
  return po && (po->ttl >= 0 || po->data_set || po->badsum);
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* Offset of the upper-layer checksum from the upper layer's start. */
static int csum_at(uint8_t proto) {
  switch (proto) {
  case IPPROTO_TCP: return 16;
  case IPPROTO_UDP: return 6;
  case IPPROTO_ICMP:
  case IPPROTO_ICMPV6: return 2;
  default: return -1;
  }
}

int pktopt_apply(const struct pktopt *po, uint8_t *buf, int len, size_t cap) {
  if (!pktopt_active(po) || len <= 0) return len;
  tw_pkt p;
  tw_pkt_parse(buf, (size_t)len, TW_LINK_RAW, &p);
  bool v4 = (p.layers & TW_PKT_L_IP4) != 0, v6 = (p.layers & TW_PKT_L_IP6) != 0;
  int at = csum_at(p.proto);
  if ((!v4 && !v6) || at < 0 || !p.l4_off || (p.layers & TW_PKT_L_FRAG)) return len;
  size_t n = (size_t)len;
  bool changed = false;
  if (po->ttl >= 0) {
    buf[v4 ? 8 : 7] = (uint8_t)po->ttl;
    changed = true;
  }
  if (po->data_set) {
    /* UDP: the data is the payload (Nmap's protocol payloads give way to
     * it); TCP and ICMP: it follows what the probe already carries (an
     * ICMP timestamp request keeps its timestamps). */
    size_t at_data = p.proto == IPPROTO_UDP ? p.payload_off : n;
    if (p.proto == IPPROTO_UDP && !p.payload_off) return len;
    if (at_data + po->dlen > cap || at_data + po->dlen > 65535) return -ENOBUFS;
    if (po->dlen) memcpy(buf + at_data, po->data, po->dlen);
    n = at_data + po->dlen;
    if (v4) put16(buf + 2, (uint16_t)n);
    else put16(buf + 4, (uint16_t)(n - p.l3_off - 40)); /* extension headers included */
    if (p.proto == IPPROTO_UDP) put16(buf + p.l4_off + 4, (uint16_t)(n - p.l4_off));
    changed = true;
  }
  if (changed && tw_pkt_ip_finish(buf, n) < 0) return len;
  if (po->badsum) {
    uint8_t *c = buf + p.l4_off + at;
    uint16_t good = (uint16_t)(c[0] << 8 | c[1]);
    /* any other value is wrong, except that 0 and 0xffff are the same
     * checksum to TCP, and 0 means "no checksum" to UDP over IPv4 */
    put16(c, good == 0xffff ? 0xfffe : (uint16_t)(good + 1));
  }
  return (int)n;
}
