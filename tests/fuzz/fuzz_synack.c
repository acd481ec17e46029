/* fuzz_synack.c: libFuzzer harness for the capture-to-signature step of
 * port.synack (src/os/synack.c): the input's first byte picks the link
 * type (even: Ethernet, odd: raw IP), the rest is the captured frame.
 * Checked: a frame taken is an IPv4/IPv6 SYN+ACK observation with at most
 * 40 option kinds, its p0f notation fits and is whole, and matching it
 * against a small database gives a valid signature index; a refused frame
 * leaves the observation zeroed. Seeds: tests/fuzz/corpus/synack/. */
#include "fuzz-util.h" /* first: it asks for _GNU_SOURCE */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/p0f.h"
#include "os/p0f-match.h"
#include "os/synack.h"

static const char fp[] = "classes = unix,win\n[tcp:response]\n"
                         "label = s:unix:Linux:3.x\nsig = *:64:0:*:mss*10,*:mss,sok,ts,nop,ws:df:0\n"
                         "label = g:win:Windows:\nsig = *:128:0:*:*,*:mss:df,id+:0\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t *buf = malloc(size - 1 ? size - 1 : 1); /* exact size: overreads are seen */
  if (!buf) return 0;
  memcpy(buf, data + 1, size - 1);
  tw_frame f;
  memset(&f, 0, sizeof f);
  f.data = buf;
  f.caplen = f.len = (uint32_t)(size - 1);
  f.linktype = (data[0] & 1) ? TW_LINK_RAW : TW_LINK_ETH;
  struct p0f_obs o;
  int r = synack_obs(&f, &o);
  if (r < 0) {
    static const struct p0f_obs zero;
    FUZZ_CHECK(memcmp(&o, &zero, sizeof o) == 0);
  } else {
    FUZZ_CHECK(r == 0 && (o.ver == 4 || o.ver == 6) && o.nopt <= P0F_OPT_MAX && o.syn_ack);
    char sig[600];
    size_t n = p0f_obs_format(&o, sig, sizeof sig);
    FUZZ_CHECK(n < sizeof sig && strlen(sig) == n && strchr(sig, '\n') == NULL);
    struct p0f_db *db = NULL;
    char err[256];
    FUZZ_CHECK(p0f_load_mem(&db, "fuzz", fp, sizeof fp - 1, NULL, NULL, err, sizeof err) == 0);
    struct p0f_result res;
    p0f_match(db, &o, 1, &res);
    FUZZ_CHECK(res.sig >= -1 && res.sig < (long)p0f_sig_count(db));
    p0f_free(db);
  }
  free(buf);
  return 0;
}
