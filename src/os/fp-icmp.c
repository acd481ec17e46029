/* fp-icmp.c: Nmap's IE and U1 tests from parsed ICMP replies (see
 * fp-icmp.h). */
#include "os/fp-icmp.h"

#include "os/fp-tcp.h"

static int icmp_is_v4(const tw_pkt *r) {
  return r && (r->layers & TW_PKT_L_IP4) && (r->layers & TW_PKT_L_ICMP);
}

int os_fp_u1_hops(const tw_pkt *r, uint8_t sent_ttl) {
  if (!icmp_is_v4(r) || !(r->layers & TW_PKT_L_QUOTE) || r->quote.version != 4) return -1;
  return r->quote.ttl <= sent_ttl ? sent_ttl - r->quote.ttl : -1;
}

void os_fp_ie(struct os_fp *fp, const tw_pkt *r1, const tw_pkt *r2, const struct os_ie_sent *s,
              int dist) {
  if (!icmp_is_v4(r1) || !icmp_is_v4(r2)) {
    os_fp_set(fp, OSDB_IE, "R", "N");
    return;
  }
  os_fp_set(fp, OSDB_IE, "R", "Y");
  unsigned d1 = r1->ip4.df != 0, d2 = r2->ip4.df != 0;
  const char *dfi = !d1 && !d2                            ? "N"
                    : d1 == (s->df[0] != 0) && d2 == (s->df[1] != 0) ? "S"
                    : d1 && d2                             ? "Y"
                                                           : "O";
  os_fp_set(fp, OSDB_IE, "DFI", dfi);
  os_fp_ttl(fp, OSDB_IE, r1->ip4.ttl, dist);
  uint8_t c1 = r1->icmp.code, c2 = r2->icmp.code;
  if (c1 == 0 && c2 == 0)
    os_fp_set(fp, OSDB_IE, "CD", "Z");
  else if (c1 == s->code[0] && c2 == s->code[1])
    os_fp_set(fp, OSDB_IE, "CD", "S");
  else if (c1 == c2)
    os_fp_set_hex(fp, OSDB_IE, "CD", c1);
  else
    os_fp_set(fp, OSDB_IE, "CD", "O");
}

static void u1_g_or_hex(struct os_fp *fp, const char *attr, uint32_t got, uint32_t sent) {
  if (got == sent)
    os_fp_set(fp, OSDB_U1, attr, "G");
  else
    os_fp_set_hex(fp, OSDB_U1, attr, got);
}

void os_fp_u1(struct os_fp *fp, const tw_pkt *r, const struct os_u1_sent *s, int dist) {
  if (!icmp_is_v4(r) || !(r->layers & TW_PKT_L_QUOTE) || r->quote.version != 4) {
    os_fp_set(fp, OSDB_U1, "R", "N");
    return;
  }
  const tw_pkt_quote *q = &r->quote;
  os_fp_reply_ip(fp, OSDB_U1, r, dist);
  os_fp_set_hex(fp, OSDB_U1, "IPL", r->ip4.tot_len);
  os_fp_set_hex(fp, OSDB_U1, "UN", r->icmp.rest);
  u1_g_or_hex(fp, "RIPL", q->ip_len, s->ip_len);
  u1_g_or_hex(fp, "RID", q->ip_id, s->ip_id);
  /* the quoted IP header, checked when it is whole in the buffer */
  const uint8_t *ip = r->buf + q->off;
  size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
  if (ip[10] == 0 && ip[11] == 0)
    os_fp_set(fp, OSDB_U1, "RIPCK", "Z");
  else if (ihl >= 20 && q->off + ihl <= r->len && tw_pkt_csum(ip, ihl) == 0)
    os_fp_set(fp, OSDB_U1, "RIPCK", "G");
  else
    os_fp_set(fp, OSDB_U1, "RIPCK", "I");
  if (q->proto == 17 && q->l4_len >= 8) {
    const uint8_t *u = r->buf + q->l4_off;
    u1_g_or_hex(fp, "RUCK", (uint32_t)(u[6] << 8 | u[7]), s->udp_csum);
    int good = 1;
    for (uint32_t i = 8; i < q->l4_len; i++)
      if (u[i] != s->fill) good = 0;
    os_fp_set(fp, OSDB_U1, "RUD", good ? "G" : "I");
  }
}
