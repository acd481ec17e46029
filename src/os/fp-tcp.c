/* fp-tcp.c: Nmap's TCP fingerprint tests from parsed replies (see
 * fp-tcp.h). */
#include "os/fp-tcp.h"

#include <stdio.h>
#include <string.h>

#include "os/p0f-match.h"

uint32_t os_crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
  }
  return ~c;
}

size_t os_fp_tcp_opts(const tw_pkt_tcp *t, char *out, size_t cap) {
  size_t o = 0, off = 0;
  tw_pkt_opt opt;
  if (cap == 0) return 0;
  out[0] = '\0';
  while (tw_pkt_opt_next(t->opt, t->optlen, &off, &opt) == 1) {
    char piece[16] = "";
    const uint8_t *d = opt.data;
    switch (opt.kind) {
    case TW_TCPOPT_EOL: strcpy(piece, "L"); break;
    case TW_TCPOPT_NOP: strcpy(piece, "N"); break;
    case TW_TCPOPT_MSS:
      if (opt.len == 4) snprintf(piece, sizeof piece, "M%X", (unsigned)(d[0] << 8 | d[1]));
      break;
    case TW_TCPOPT_WS:
      if (opt.len == 3) snprintf(piece, sizeof piece, "W%X", d[0]);
      break;
    case TW_TCPOPT_SACKOK: strcpy(piece, "S"); break;
    case TW_TCPOPT_TS:
      if (opt.len == 10)
        snprintf(piece, sizeof piece, "T%d%d", (d[0] | d[1] | d[2] | d[3]) != 0,
                 (d[4] | d[5] | d[6] | d[7]) != 0);
      break;
    default: break;
    }
    size_t l = strlen(piece);
    if (o + l >= cap) break;
    memcpy(out + o, piece, l + 1);
    o += l;
    if (opt.kind == TW_TCPOPT_EOL) break;
  }
  return o;
}

void os_fp_ttl(struct os_fp *fp, enum osdb_test t, uint8_t ttl, int dist) {
  if (dist >= 0)
    os_fp_set_hex(fp, t, "T", (uint64_t)ttl + (uint64_t)dist);
  else
    os_fp_set_hex(fp, t, "TG", p0f_guess_ittl(ttl));
}

void os_fp_reply_ip(struct os_fp *fp, enum osdb_test t, const tw_pkt *reply, int dist) {
  os_fp_set(fp, t, "R", "Y");
  os_fp_set(fp, t, "DF", reply->ip4.df ? "Y" : "N");
  os_fp_ttl(fp, t, reply->ip4.ttl, dist);
}

void os_fp_ops_win(struct os_fp *fp, const tw_pkt *const reply[6]) {
  static const char *const oname[6] = {"O1", "O2", "O3", "O4", "O5", "O6"};
  static const char *const wname[6] = {"W1", "W2", "W3", "W4", "W5", "W6"};
  int any = 0;
  for (int i = 0; i < 6; i++) {
    if (reply[i] == NULL) continue;
    char o[OS_FP_VAL_MAX];
    os_fp_tcp_opts(&reply[i]->tcp, o, sizeof o);
    os_fp_set(fp, OSDB_OPS, oname[i], o);
    os_fp_set_hex(fp, OSDB_WIN, wname[i], reply[i]->tcp.win);
    any = 1;
  }
  if (!any) {
    os_fp_set(fp, OSDB_OPS, "R", "N");
    os_fp_set(fp, OSDB_WIN, "R", "N");
  }
}

/* Z, exact, exact+1 or O of value v against reference r. */
static const char *tcp_rel(uint32_t v, uint32_t r, const char *same, const char *plus) {
  return v == 0 ? "Z" : v == r ? same : v == r + 1 ? plus : "O";
}

void os_fp_tcp_test(struct os_fp *fp, enum osdb_test t, const tw_pkt *reply,
                    const struct os_tcp_sent *sent, int dist) {
  if (reply == NULL || !(reply->layers & TW_PKT_L_TCP) || !(reply->layers & TW_PKT_L_IP4)) {
    os_fp_set(fp, t, "R", "N");
    return;
  }
  const tw_pkt_tcp *tcp = &reply->tcp;
  os_fp_reply_ip(fp, t, reply, dist);
  if (t != OSDB_T1) {
    char o[OS_FP_VAL_MAX];
    os_fp_set_hex(fp, t, "W", tcp->win);
    os_fp_tcp_opts(tcp, o, sizeof o);
    os_fp_set(fp, t, "O", o);
  }
  if (t == OSDB_ECN) {
    unsigned ece = (tcp->flags & TW_TCP_ECE) != 0, cwr = (tcp->flags & TW_TCP_CWR) != 0;
    os_fp_set(fp, t, "CC", ece && cwr ? "S" : ece ? "Y" : cwr ? "O" : "N");
  } else {
    os_fp_set(fp, t, "S", tcp_rel(tcp->seq, sent->ack, "A", "A+"));
    os_fp_set(fp, t, "A", tcp_rel(tcp->ack, sent->seq, "S", "S+"));
    static const struct {
      uint16_t bit;
      char c;
    } fl[] = {{TW_TCP_ECE, 'E'}, {TW_TCP_URG, 'U'}, {TW_TCP_ACK, 'A'}, {TW_TCP_PSH, 'P'},
              {TW_TCP_RST, 'R'}, {TW_TCP_SYN, 'S'}, {TW_TCP_FIN, 'F'}};
    char f[8];
    size_t n = 0;
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
      if (tcp->flags & fl[i].bit) f[n++] = fl[i].c;
    f[n] = '\0';
    os_fp_set(fp, t, "F", f);
    uint32_t rd = 0;
    if (reply->payload_len > 0 && reply->payload_off + reply->payload_len <= reply->len)
      rd = os_crc32(reply->buf + reply->payload_off, reply->payload_len);
    os_fp_set_hex(fp, t, "RD", rd);
  }
  /* the reserved bits: the low nibble of byte 12 (the AE bit among them) */
  int reserved = reply->l4_off + 13 <= reply->len && (reply->buf[reply->l4_off + 12] & 0x0f) != 0;
  char q[3];
  size_t n = 0;
  if (reserved) q[n++] = 'R';
  if (tcp->urg != 0 && !(tcp->flags & TW_TCP_URG)) q[n++] = 'U';
  q[n] = '\0';
  os_fp_set(fp, t, "Q", q);
}
