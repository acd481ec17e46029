/* packet-addr.c: tw_pkt_addr, the IPv4-or-IPv6 address that decoded
 * packets carry: parse, format, compare, set. */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "packet-int.h"

int tw_pkt_addr_parse(tw_pkt_addr *a, const char *text) {
  if (!a || !text) return -EINVAL;
  memset(a, 0, sizeof *a);
  if (inet_pton(AF_INET, text, &a->v4) == 1) {
    a->family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, text, &a->v6) == 1) {
    a->family = AF_INET6;
    return 0;
  }
  memset(a, 0, sizeof *a);
  return -EINVAL;
}

const char *tw_pkt_addr_str(const tw_pkt_addr *a, char *buf, size_t cap) {
  if (!a || !buf || cap > (size_t)INT32_MAX) return "?";
  if ((a->family != AF_INET && a->family != AF_INET6) ||
      !inet_ntop(a->family, a->b, buf, (socklen_t)cap))
    return "?";
  return buf;
}

int tw_pkt_addr_eq(const tw_pkt_addr *a, const tw_pkt_addr *b) {
  if (!a || !b || a->family != b->family) return 0;
  if (a->family == AF_INET) return a->v4.s_addr == b->v4.s_addr;
  if (a->family == AF_INET6) return memcmp(&a->v6, &b->v6, 16) == 0;
  return 1;
}

void tw_pkt_addr_set4(tw_pkt_addr *a, struct in_addr v4) {
  memset(a, 0, sizeof *a);
  a->family = AF_INET;
  a->v4 = v4;
}

void tw_pkt_addr_set6(tw_pkt_addr *a, const struct in6_addr *v6) {
  memset(a, 0, sizeof *a);
  a->family = AF_INET6;
  a->v6 = *v6;
}
