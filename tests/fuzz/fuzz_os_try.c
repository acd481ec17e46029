/* fuzz_os_try.c: libFuzzer harness for OS detection reply handling
 * (src/os/os-try.c): every probe of a try is sent, then the input is cut
 * into packets ([length: 2 bytes][link: 1 byte, odd = Ethernet][bytes]) and
 * each is offered to os_try_input(); the fingerprint is then computed and
 * printed. Checked: a taken reply names a sent probe and is kept whole,
 * each probe keeps at most one reply, and the printed fingerprint parses
 * back. Seeds: tests/fuzz/corpus/os_try/. */
#include "fuzz-util.h" /* first: it sets _GNU_SOURCE */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "os/fp.h"
#include "os/os-try.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct os_try t; /* large: kept off the stack (harness only) */
  static struct os_fp fp, back;
  struct os_probe_params pp;
  memset(&pp, 0, sizeof pp);
  tw_pkt_addr_parse(&pp.src, "198.18.10.2");
  tw_pkt_addr_parse(&pp.dst, "198.18.30.10");
  pp.open_port = 22;
  pp.closed_port = 21;
  pp.closed_uport = 9;
  pp.sport_base = 40000;
  pp.seq_base = 1;
  pp.ack = 2;
  pp.icmp_id = 7;
  pp.ttl = 64;
  os_try_init(&t, &pp);
  uint8_t buf[OS_PROBE_MAX];
  for (int id = 0; id < OS_NPROBES; id++)
    FUZZ_CHECK(os_try_send(&t, (enum os_probe_id)id, (uint64_t)id * 100000000u, buf, sizeof buf) > 0);
  size_t off = 0;
  unsigned taken = 0;
  while (size - off >= 3) {
    size_t len = (size_t)data[off] << 8 | data[off + 1];
    int link = (data[off + 2] & 1) ? TW_LINK_ETH : TW_LINK_RAW;
    off += 3;
    if (len > size - off) len = size - off;
    int id = os_try_input(&t, data + off, len, link, 2000000000u);
    if (id >= 0) {
      FUZZ_CHECK(id < OS_NPROBES && t.nsent[id] && t.reply[id].got && t.reply[id].len == len);
      FUZZ_CHECK(memcmp(t.reply[id].data, data + off, len) == 0);
      taken++;
    }
    off += len;
  }
  FUZZ_CHECK(taken == t.nreplies && t.nreplies <= OS_NPROBES);
  int hops;
  os_try_fingerprint(&t, -1, &fp, &hops, NULL);
  FUZZ_CHECK(hops >= -1 && hops <= 255);
  size_t need = os_fp_format(&fp, NULL, 0);
  char *text = malloc(need + 1);
  FUZZ_CHECK(text != NULL);
  os_fp_format(&fp, text, need + 1);
  char err[128];
  FUZZ_CHECK(os_fp_parse(&back, text, need, err, sizeof err) == 0);
  free(text);
  return 0;
}
