/* synack.c: from a captured SYN+ACK to its p0f observation. The frame is
 * dissected again (trawl/packet.h validates every length and option); a
 * frame without a complete IP and TCP header is refused, so nothing past
 * the capture is ever read, and a frame the capture cut short is refused
 * too (its options would be guessed). See synack.h. */
#include "os/synack.h"

#include <errno.h>
#include <string.h>
#include <trawl/error.h>
#include <trawl/packet.h>

int synack_obs(const tw_frame *f, struct p0f_obs *o) {
  memset(o, 0, sizeof *o);
  if (f == NULL || f->data == NULL) return -EINVAL;
  tw_pkt p;
  tw_pkt_parse(f->data, f->caplen, f->linktype, &p);
  if (!(p.layers & (TW_PKT_L_IP4 | TW_PKT_L_IP6))) return TW_EMALFORMED;
  if (p.err && (p.err_layer & (TW_PKT_L_ETH | TW_PKT_L_VLAN | TW_PKT_L_IP4 | TW_PKT_L_IP6)))
    return TW_EMALFORMED;
  if (p.layers & TW_PKT_L_FRAG) return -EINVAL;
  if (p.err && p.truncated) return TW_EMALFORMED; /* the capture ended inside a header */
  if (p.layers & (TW_PKT_L_ICMP | TW_PKT_L_ICMP6 | TW_PKT_L_QUOTE)) return -EINVAL;
  if (!(p.layers & TW_PKT_L_TCP)) {
    /* a TCP packet whose header did not dissect is malformed; another
     * protocol is simply not ours */
    return p.proto == IPPROTO_TCP ? TW_EMALFORMED : -EINVAL;
  }
  if ((p.tcp.flags & (TW_TCP_SYN | TW_TCP_ACK | TW_TCP_RST)) != (TW_TCP_SYN | TW_TCP_ACK))
    return -EINVAL;
  if (p0f_obs_from_pkt(&p, o) < 0) return TW_EMALFORMED;
  return 0;
}
