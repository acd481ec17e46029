/* packet-eth.c: Ethernet II frames with up to two VLAN tags (802.1Q,
 * 802.1ad), and ARP for IPv4 over Ethernet (RFC 826): parse and build. */
#include "packet-int.h"

static int is_vlan_tpid(uint16_t t) {
  return t == TW_ETH_VLAN || t == TW_ETH_QINQ || t == 0x9100;
}

int tw_pkt_eth_parse(const uint8_t *buf, size_t len, tw_pkt_eth *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 14) return tw_pkt_fail(reason, TW_PKT_R_ETH_TRUNC);
  memcpy(out->dst, buf, 6);
  memcpy(out->src, buf + 6, 6);
  size_t hl = 14;
  uint16_t type = tw_rd16(buf + 12);
  while (is_vlan_tpid(type)) {
    if (out->nvlan == 2) return tw_pkt_fail(reason, TW_PKT_R_VLAN_DEPTH);
    if (len - hl < 4) return tw_pkt_fail(reason, TW_PKT_R_VLAN_TRUNC);
    out->vlan_tpid[out->nvlan] = type;
    out->vlan_tci[out->nvlan] = tw_rd16(buf + hl);
    out->nvlan++;
    type = tw_rd16(buf + hl + 2);
    hl += 4;
  }
  out->type = type;
  out->hl = (uint8_t)hl;
  return (int)hl;
}

int tw_pkt_eth_build(uint8_t *buf, size_t cap, const tw_pkt_eth *e) {
  if (!buf || !e || e->nvlan > 2) return -EINVAL;
  size_t hl = 14 + 4u * e->nvlan;
  if (cap < hl) return -ENOBUFS;
  memcpy(buf, e->dst, 6);
  memcpy(buf + 6, e->src, 6);
  size_t o = 12;
  for (unsigned i = 0; i < e->nvlan; i++) {
    tw_wr16(buf + o, e->vlan_tpid[i] ? e->vlan_tpid[i] : TW_ETH_VLAN);
    tw_wr16(buf + o + 2, e->vlan_tci[i]);
    o += 4;
  }
  tw_wr16(buf + o, e->type);
  return (int)hl;
}

int tw_pkt_arp_parse(const uint8_t *buf, size_t len, tw_pkt_arp *out, int *reason) {
  if (!out || (!buf && len)) return -EINVAL;
  memset(out, 0, sizeof *out);
  if (len < 8) return tw_pkt_fail(reason, TW_PKT_R_ARP_TRUNC);
  out->htype = tw_rd16(buf);
  out->ptype = tw_rd16(buf + 2);
  out->hlen = buf[4];
  out->plen = buf[5];
  out->op = tw_rd16(buf + 6);
  if (out->htype != 1 || out->ptype != TW_ETH_IP4 || out->hlen != 6 || out->plen != 4)
    return 8; /* another hardware or protocol: only the fixed part */
  if (len < 28) return tw_pkt_fail(reason, TW_PKT_R_ARP_TRUNC);
  out->eth_ip4 = 1;
  memcpy(out->sha, buf + 8, 6);
  memcpy(&out->spa, buf + 14, 4);
  memcpy(out->tha, buf + 18, 6);
  memcpy(&out->tpa, buf + 24, 4);
  return 28;
}

int tw_pkt_arp_build(uint8_t *buf, size_t cap, const tw_pkt_arp *a) {
  if (!buf || !a) return -EINVAL;
  if (cap < 28) return -ENOBUFS;
  tw_wr16(buf, 1);
  tw_wr16(buf + 2, TW_ETH_IP4);
  buf[4] = 6;
  buf[5] = 4;
  tw_wr16(buf + 6, a->op);
  memcpy(buf + 8, a->sha, 6);
  memcpy(buf + 14, &a->spa, 4);
  memcpy(buf + 18, a->tha, 6);
  memcpy(buf + 24, &a->tpa, 4);
  return 28;
}
