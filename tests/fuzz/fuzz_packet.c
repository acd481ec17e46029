/* fuzz_packet.c: libFuzzer harness for the packet dissector
 * (lib/packet-parse.c and the layer parsers it calls) and the dispatcher's
 * decoder (lib/rxdecode.c), ICMP/ICMPv6 errors with their quotes included.
 * The input is one frame, dissected as Ethernet and as raw IP, with and
 * without TW_PKT_F_SNAP, and decoded by tw_rx_decode the same two ways.
 * Besides memory errors it checks that every offset and length either
 * reports stays inside the buffer. Seeds: tests/fuzz/corpus/packet/. */
#include "fuzz-util.h"

#include <trawl/dispatch.h>
#include <trawl/packet.h>

static void check_pkt(const tw_pkt *p, size_t len, int rc) {
  FUZZ_CHECK(rc == 0 || rc == TW_EMALFORMED);
  FUZZ_CHECK(p->why != NULL);
  FUZZ_CHECK((rc == 0) == (p->reason == TW_PKT_R_NONE));
  FUZZ_CHECK(p->reason >= 0 && p->reason < TW_PKT_R_COUNT);
  if (p->layers & (TW_PKT_L_IP4 | TW_PKT_L_IP6 | TW_PKT_L_ARP))
    FUZZ_CHECK((size_t)p->l3_off + p->l3_len <= len);
  if (p->l4_off) FUZZ_CHECK((size_t)p->l4_off + p->l4_len <= len);
  if (p->payload_off) FUZZ_CHECK((size_t)p->payload_off + p->payload_len <= len);
  /* the checksum check reads the upper layer again: must stay inside too */
  int c = tw_pkt_l4_csum_ok(p);
  FUZZ_CHECK(c == 0 || c == 1 || c == -EINVAL);
  (void)tw_pkt_reason_name(p->reason);
  (void)tw_pkt_reason_truncated(p->reason);
}

static void check_rx(const uint8_t *data, size_t size, int linktype) {
  tw_frame f = {.data = data, .caplen = (uint32_t)size, .len = (uint32_t)size,
                .linktype = (uint16_t)linktype, .ifindex = 1};
  tw_rx rx;
  int reason = -1;
  int rc = tw_rx_decode(&f, &rx, &reason);
  if (rc < 0) {
    FUZZ_CHECK(rc == TW_EMALFORMED);
    FUZZ_CHECK(reason > 0 && reason < TW_PKT_R_COUNT);
    return;
  }
  FUZZ_CHECK(rx.frame == &f);
  FUZZ_CHECK(rx.l3_off <= size && rx.l4_off <= size && rx.payload_off <= size);
  if (rx.is_error) FUZZ_CHECK(rx.q_off <= size);
  FUZZ_CHECK((rx.fields & ~(uint32_t)TW_M_ALL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int links[] = {TW_LINK_ETH, TW_LINK_RAW};
  for (size_t k = 0; k < 2; k++) {
    for (unsigned flags = 0; flags <= TW_PKT_F_SNAP; flags += TW_PKT_F_SNAP) {
      tw_pkt p;
      int rc = tw_pkt_parse_ex(data, size, links[k], flags, &p);
      check_pkt(&p, size, rc);
    }
    check_rx(data, size, links[k]);
  }
  return 0;
}
