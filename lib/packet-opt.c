/* packet-opt.c: kind/length options, the format IPv4 (RFC 791) and TCP
 * (RFC 9293) share: kind 0 ends the list, kind 1 is a one-byte NOP, every
 * other option is kind, length (>= 2, counting both), data. */
#include "packet-int.h"

int tw_pkt_opt_step(const uint8_t *opts, size_t len, size_t *off, tw_pkt_opt *o) {
  size_t i = *off;
  if (i >= len) return 0;
  uint8_t kind = opts[i];
  o->kind = kind;
  o->data = NULL;
  if (kind == 0 || kind == 1) {
    o->len = 1;
    /* After an EOL the rest is padding: the next call ends the list. */
    *off = kind == 0 ? len : i + 1;
    return 1;
  }
  if (len - i < 2) {
    o->len = 0;
    return -2; /* the length byte itself is missing */
  }
  uint8_t olen = opts[i + 1];
  o->len = olen;
  if (olen < 2) return -1;
  if (olen > len - i) return -2;
  o->data = opts + i + 2;
  *off = i + olen;
  return 1;
}

int tw_pkt_opt_next(const uint8_t *opts, size_t len, size_t *off, tw_pkt_opt *o) {
  if (!off || !o || (!opts && len)) return -EINVAL;
  int r = tw_pkt_opt_step(opts, len, off, o);
  return r < 0 ? TW_EMALFORMED : r;
}

int tw_pkt_opt_put(uint8_t *buf, size_t cap, uint8_t kind, const void *data,
                   size_t dlen) {
  if (!buf) return -EINVAL;
  if (kind == 0 || kind == 1) {
    if (dlen) return -EINVAL;
    if (cap < 1) return -ENOBUFS;
    buf[0] = kind;
    return 1;
  }
  if (dlen > 38 || (dlen && !data)) return -EINVAL;
  if (cap < dlen + 2) return -ENOBUFS;
  buf[0] = kind;
  buf[1] = (uint8_t)(dlen + 2);
  if (dlen) memcpy(buf + 2, data, dlen);
  return (int)(dlen + 2);
}
