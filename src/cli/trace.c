/* trace.c: --packet-trace lines (see trace.h), decoded with libtrawl's
 * packet dissector; a packet it cannot decode is shown with the reason. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <trawl/packet.h>

#include "cli/trace.h"

static void tcp_flags(char *out, unsigned f) {
  static const char names[] = "FSRPAUEC";
  int n = 0;
  for (int i = 0; i < 8; i++)
    if (f & (1u << i)) out[n++] = names[i];
  out[n] = 0;
}

void trace_packet(FILE *f, const char *dir, double t, const uint8_t *buf, size_t len,
                  int linktype) {
  tw_pkt p;
  tw_pkt_parse(buf, len, linktype, &p);
  char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
  fprintf(f, "%s (%.4fs) ", dir, t);
  if (p.layers & TW_PKT_L_ARP) {
    inet_ntop(AF_INET, &p.arp.spa, a, sizeof a);
    inet_ntop(AF_INET, &p.arp.tpa, b, sizeof b);
    fprintf(f, "ARP %s %s tell %s\n", p.arp.op == 1 ? "who-has" : "reply", b, a);
    return;
  }
  if (!(p.layers & (TW_PKT_L_IP4 | TW_PKT_L_IP6))) {
    fprintf(f, "%zu bytes (%s)\n", len, p.err ? p.why : "not IP");
    return;
  }
  tw_pkt_addr_str(&p.src, a, sizeof a);
  tw_pkt_addr_str(&p.dst, b, sizeof b);
  int v4 = (p.layers & TW_PKT_L_IP4) != 0;
  unsigned ttl = v4 ? p.ip4.ttl : p.ip6.hlim;
  if (p.proto == IPPROTO_TCP && !p.err) {
    char fl[9];
    tcp_flags(fl, p.tcp.flags);
    fprintf(f, "TCP %s:%u > %s:%u %s ttl=%u", a, p.sport, b, p.dport, fl, ttl);
    if (v4) fprintf(f, " id=%u iplen=%u", p.ip4.id, p.ip4.tot_len);
    else fprintf(f, " payloadlen=%u", p.ip6.plen);
    fprintf(f, " seq=%u win=%u", p.tcp.seq, p.tcp.win);
    if (p.tcp.flags & 0x10) fprintf(f, " ack=%u", p.tcp.ack);
    fputc('\n', f);
  } else if (p.proto == IPPROTO_UDP && !p.err) {
    fprintf(f, "UDP %s:%u > %s:%u ttl=%u", a, p.sport, b, p.dport, ttl);
    if (v4) fprintf(f, " id=%u iplen=%u", p.ip4.id, p.ip4.tot_len);
    else fprintf(f, " payloadlen=%u", p.ip6.plen);
    fprintf(f, " len=%u\n", p.payload_len);
  } else if (p.proto == IPPROTO_ICMP && !p.err) {
    fprintf(f, "ICMP [%s > %s type=%u/code=%u id=%u seq=%u] ttl=%u id=%u iplen=%u\n", a, b,
            p.icmp.type, p.icmp.code, p.icmp.id, p.icmp.seq, ttl, p.ip4.id, p.ip4.tot_len);
  } else if (p.proto == IPPROTO_ICMPV6 && !p.err) {
    fprintf(f, "ICMPv6 [%s > %s type=%u/code=%u id=%u seq=%u] hlim=%u payloadlen=%u\n", a, b,
            p.icmp6.type, p.icmp6.code, p.icmp6.id, p.icmp6.seq, ttl, p.ip6.plen);
  } else if (v4 && !p.err) { /* another protocol (-PO): Nmap's shape, number for name */
    fprintf(f, "IP (%u) %s > %s: ttl=%u id=%u iplen=%u\n", p.proto, a, b, ttl, p.ip4.id,
            p.ip4.tot_len);
  } else {
    fprintf(f, "IP %s > %s proto=%u ttl=%u%s%s\n", a, b, p.proto, ttl, p.err ? " malformed: " : "",
            p.err ? p.why : "");
  }
}
