/* pktopt.c: the packet options applied to a finished raw probe (see
 * pktopt.h): one rewrite of the IP packet instead of a copy of each option
 * in every probe module. The probe is parsed with libtrawl's dissector,
 * changed in place (TTL, payload, IPv4 options), and its checksums
 * computed again (tw_pkt_ip_finish); --badsum then spoils the upper-layer
 * checksum. Then the expansion: the one probe becomes a packet per -D
 * source (checksums adjusted, RFC 1624) and, with -f/--mtu, each of those
 * a train of IPv4 fragments. Also the parser of --ip-options' forms. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/packet.h>

#include "probe/pktopt.h"
#include "core/hex.h"

bool pktopt_active(const struct pktopt *po) {
  return po && (po->ttl >= 0 || po->data_set || po->badsum || po->ipopt_len);
}

bool pktopt_expands(const struct pktopt *po) {
  return po && (po->frag || po->ndecoys);
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
  size_t shift = 0;
  if (po->ipopt_len && v4 && p.l4_off == 20) {
    /* --ip-options: after the 20-byte header, which grows to hold them */
    if (n + po->ipopt_len > cap || n + po->ipopt_len > 65535) return -ENOBUFS;
    memmove(buf + 20 + po->ipopt_len, buf + 20, n - 20);
    memcpy(buf + 20, po->ipopt, po->ipopt_len);
    shift = po->ipopt_len;
    n += shift;
    buf[0] = (uint8_t)(0x40 | (20 + shift) / 4);
    put16(buf + 2, (uint16_t)n);
    changed = true;
  }
  if (changed && tw_pkt_ip_finish(buf, n) < 0) return len;
  if (po->badsum) {
    uint8_t *c = buf + p.l4_off + shift + at;
    uint16_t good = (uint16_t)(c[0] << 8 | c[1]);
    /* any other value is wrong, except that 0 and 0xffff are the same
     * checksum to TCP, and 0 means "no checksum" to UDP over IPv4 */
    put16(c, good == 0xffff ? 0xfffe : (uint16_t)(good + 1));
  }
  return (int)n;
}

/* ---- -D and -f/--mtu: one probe, several packets ------------------------------------- */

/* RFC 1624: the checksum at c after the bytes `old` became `new` (n even). */
static void csum_adjust(uint8_t *c, const uint8_t *old, const uint8_t *new, size_t n, bool udp) {
  uint32_t sum = (uint16_t)~(c[0] << 8 | c[1]);
  for (size_t i = 0; i < n; i += 2) {
    sum += (uint16_t)~(old[i] << 8 | old[i + 1]);
    sum += (uint16_t)(new[i] << 8 | new[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t v = (uint16_t)~sum;
  if (udp && v == 0) v = 0xffff;
  put16(c, v);
}

/* The IPv4 header's checksum, computed again. */
static void ip4_sum(uint8_t *ip, size_t hl) {
  put16(ip + 10, 0);
  put16(ip + 10, tw_pkt_csum(ip, hl));
}

int pktopt_fragment(const uint8_t *pkt, int len, unsigned frag, int k, uint8_t *out, size_t cap) {
  if (len < 20 || (pkt[0] >> 4) != 4 || frag == 0 || frag % 8 || k < 0) return -1;
  size_t hl = (size_t)(pkt[0] & 15) * 4, n = (size_t)(pkt[2] << 8 | pkt[3]);
  if (hl < 20 || n > (size_t)len || n < hl || (pkt[6] & 0x3f) || pkt[7]) return -1;
  size_t plen = n - hl, off = (size_t)k * frag;
  if (off >= plen && !(k == 0 && plen == 0)) return 0;
  size_t size = plen - off < frag ? plen - off : frag;
  /* the header: whole in the first fragment; later ones keep only the
   * options whose copied flag (0x80) is set */
  size_t nh = 20;
  if (cap < hl + size) return -1;
  memcpy(out, pkt, 20);
  if (k == 0) {
    memcpy(out + 20, pkt + 20, hl - 20);
    nh = hl;
  } else {
    for (size_t i = 20; i < hl;) {
      uint8_t t = pkt[i];
      if (t == 0) break;
      if (t == 1) { i++; continue; }
      if (i + 1 >= hl || pkt[i + 1] < 2 || i + pkt[i + 1] > hl) break;
      if (t & 0x80) {
        memcpy(out + nh, pkt + i, pkt[i + 1]);
        nh += pkt[i + 1];
      }
      i += pkt[i + 1];
    }
    while (nh % 4) out[nh++] = 0;
  }
  memcpy(out + nh, pkt + hl + off, size);
  out[0] = (uint8_t)(0x40 | nh / 4);
  put16(out + 2, (uint16_t)(nh + size));
  if (!pkt[4] && !pkt[5]) {
    /* id 0 is filled in by the kernel, differently in each fragment, and
     * the target could not reassemble them: one of the packet's own,
     * the same for every fragment */
    uint16_t id = tw_pkt_csum(pkt + hl, plen);
    put16(out + 4, id ? id : 1);
  }
  uint16_t fo = (uint16_t)(off / 8);
  if (off + size < plen) fo |= 0x2000; /* more fragments */
  put16(out + 6, fo);                  /* DF cleared: these are fragments */
  ip4_sum(out, nh);
  return (int)(nh + size);
}

int pktopt_frag(const struct pktopt *po, const uint8_t *pkt, int len, int j, uint8_t *out, size_t cap) {
  if (!po->frag || len < 20 || (pkt[0] >> 4) != 4) return -1;
  size_t hl = (size_t)(pkt[0] & 15) * 4, n = (size_t)(pkt[2] << 8 | pkt[3]);
  if (n > (size_t)len || n < hl || (pkt[6] & 0x3f) || pkt[7]) return -1; /* already a fragment */
  if (n - hl <= po->frag) return -1; /* one fragment: the packet itself */
  int r = pktopt_fragment(pkt, len, po->frag, j, out, cap);
  return r < 0 ? 0 : r;
}

/* The packet's sources under -D: the index of the k-th decoy of its
 * family (ME always counts), -2 for the probe itself without -D, or -1
 * past the last. */
static int decoy_at(const struct pktopt *po, int family, int k) {
  if (!po->ndecoys) return k == 0 ? -2 : -1;
  for (size_t i = 0; i < po->ndecoys; i++)
    if (po->decoys[i].family == 0 || po->decoys[i].family == family)
      if (k-- == 0) return (int)i;
  return -1;
}

int pktopt_source(const struct pktopt *po, const uint8_t *pkt, int len, int k, uint8_t *out, size_t cap) {
  if (len <= 0 || k < 0 || (size_t)len > cap) return 0;
  int family = (pkt[0] >> 4) == 6 ? AF_INET6 : AF_INET;
  int d = decoy_at(po, family, k);
  if (d == -1) return 0;
  memcpy(out, pkt, (size_t)len);
  if (d >= 0 && po->decoys[d].family) {
    tw_pkt p;
    tw_pkt_parse(pkt, (size_t)len, TW_LINK_RAW, &p);
    size_t at = family == AF_INET6 ? 8 : 12, alen = family == AF_INET6 ? 16 : 4;
    int c = csum_at(p.proto);
    /* the upper-layer checksum covers the source (a pseudo-header), except
     * ICMPv4's: adjusted for the decoy's address */
    if (c >= 0 && p.l4_off && !(p.layers & TW_PKT_L_FRAG) && p.proto != IPPROTO_ICMP &&
        p.l4_off + (size_t)c + 2 <= (size_t)len)
      csum_adjust(out + p.l4_off + c, pkt + at, po->decoys[d].b, alen, p.proto == IPPROTO_UDP);
    memcpy(out + at, po->decoys[d].b, alen);
    if (family == AF_INET) ip4_sum(out, (size_t)(out[0] & 15) * 4);
  }
  return len;
}

/* ---- --ip-options ------------------------------------------------------------------- */

/* "\xHH[*N]..." */
static int ipopt_hex(const char *s, uint8_t *out, const char **why) {
  size_t n = 0;
  while (*s) {
    if (s[0] != '\\' || (s[1] != 'x' && s[1] != 'X') || hex_value(s[2]) < 0 || hex_value(s[3]) < 0) {
      *why = "takes R, T, U, L or S and addresses, or bytes as \\xHH (\\xHH*N repeats one)";
      return -1;
    }
    uint8_t b = (uint8_t)(hex_value(s[2]) << 4 | hex_value(s[3]));
    s += 4;
    unsigned long rep = 1;
    if (*s == '*') {
      char *end;
      if (s[1] < '0' || s[1] > '9') { *why = "needs a count after '*'"; return -1; }
      rep = strtoul(s + 1, &end, 10);
      s = end;
      if (rep == 0 || rep > PKTOPT_IPOPT_MAX) { *why = "repeat count must be 1-40"; return -1; }
    }
    if (n + rep > PKTOPT_IPOPT_MAX) { *why = "IP options cannot be more than 40 bytes"; return -1; }
    memset(out + n, b, rep);
    n += rep;
  }
  if (n == 0) { *why = "needs options"; return -1; }
  return (int)n;
}

int pktopt_ipopt_parse(const char *arg, uint8_t *out, const char **why) {
  memset(out, 0, PKTOPT_IPOPT_MAX);
  while (*arg == ' ') arg++;
  int n;
  char c = arg[0];
  if (c == '\\') {
    n = ipopt_hex(arg, out, why);
    if (n < 0) return -1;
  } else if ((c == 'R' || c == 'T' || c == 'U') && (arg[1] == '\0' || arg[1] == ' ')) {
    const char *rest = arg + 1;
    while (*rest == ' ') rest++;
    if (*rest) { *why = "R, T and U take no addresses"; return -1; }
    if (c == 'R') { /* record route: 9 slots */
      out[0] = 7; out[1] = 39; out[2] = 4;
      n = 39;
    } else { /* timestamps (T), or timestamps and addresses (U): 36 bytes of room */
      /* T: 9 timestamps (40 bytes); U: 4 address + timestamp pairs (36) */
      out[0] = 68; out[1] = c == 'U' ? 36 : 40; out[2] = 5; out[3] = c == 'U' ? 1 : 0;
      n = out[1];
    }
  } else if ((c == 'L' || c == 'S') && (arg[1] == '\0' || arg[1] == ' ')) {
    out[0] = c == 'L' ? 131 : 137;
    out[2] = 4;
    n = 3;
    const char *s = arg + 1;
    for (;;) {
      while (*s == ' ') s++;
      if (!*s) break;
      char word[64];
      size_t w = strcspn(s, " ");
      if (w >= sizeof word) { *why = "has a bad address"; return -1; }
      memcpy(word, s, w);
      word[w] = '\0';
      s += w;
      struct in_addr a;
      if (inet_pton(AF_INET, word, &a) != 1) { *why = "L and S take IPv4 addresses"; return -1; }
      if (n + 4 > PKTOPT_IPOPT_MAX - 1) { *why = "takes at most 9 source-route addresses"; return -1; }
      memcpy(out + n, &a, 4);
      n += 4;
    }
    if (n == 3) { *why = "L and S need at least one address"; return -1; }
    out[1] = (uint8_t)n;
  } else {
    *why = "takes R, T, U, L or S and addresses, or bytes as \\xHH (\\xHH*N repeats one)";
    return -1;
  }
  while (n % 4) out[n++] = 0; /* end of options */
  return n;
}
