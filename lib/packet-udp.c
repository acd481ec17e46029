/* packet-udp.c: the UDP header (RFC 768): parse and build. */
#include "packet-int.h"

int tw_pkt_udp_parse(const uint8_t *buf, size_t len, tw_pkt_udp *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 8) return tw_pkt_fail(reason, TW_PKT_R_UDP_TRUNC);
  out->sport = tw_rd16(buf);
  out->dport = tw_rd16(buf + 2);
  out->len = tw_rd16(buf + 4);
  out->csum = tw_rd16(buf + 6);
  if (out->len < 8) return tw_pkt_fail(reason, TW_PKT_R_UDP_LEN_SHORT);
  return 8;
}

int tw_pkt_udp_build(uint8_t *buf, size_t cap, const tw_pkt_udp *u, size_t payload_len) {
  if (!buf || !u) return -EINVAL;
  if (payload_len > 65535 - 8) return -EMSGSIZE;
  if (cap < 8) return -ENOBUFS;
  tw_wr16(buf, u->sport);
  tw_wr16(buf + 2, u->dport);
  tw_wr16(buf + 4, (uint16_t)(8 + payload_len));
  tw_wr16(buf + 6, 0);
  return 8;
}
