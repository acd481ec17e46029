/* os-probe.c: building the sixteen OS detection probes (see os-probe.h).
 * The per-probe facts (flags, window, DF, options) are one table; the
 * option lists are written out as bytes in the order the method prescribes,
 * every timestamp carrying TSval 0xFFFFFFFF and TSecr 0. */
#include "os/os-probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* Option lists, as bytes on the wire. TS = timestamp (0xFFFFFFFF, 0). */
#define TS_OPT 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0
#define WS(n) 3, 3, (n)
#define MSS(n) 2, 4, (uint8_t)((n) >> 8), (uint8_t)((n) & 0xff)
#define SOK 4, 2
#define NOP 1
#define EOL 0

static const uint8_t opt_seq1[] = {WS(10), NOP, MSS(1460), TS_OPT, SOK};
static const uint8_t opt_seq2[] = {MSS(1400), WS(0), SOK, TS_OPT, EOL};
static const uint8_t opt_seq3[] = {TS_OPT, NOP, NOP, WS(5), NOP, MSS(640)};
static const uint8_t opt_seq4[] = {SOK, TS_OPT, WS(10), EOL};
static const uint8_t opt_seq5[] = {MSS(536), SOK, TS_OPT, WS(10), EOL};
static const uint8_t opt_seq6[] = {MSS(265), SOK, TS_OPT};
static const uint8_t opt_ecn[] = {WS(10), NOP, MSS(1460), SOK, NOP, NOP};
static const uint8_t opt_t[] = {WS(10), NOP, MSS(265), TS_OPT, SOK};
static const uint8_t opt_t7[] = {WS(15), NOP, MSS(265), TS_OPT, SOK};

struct os_tcp_row {
  const char *name;
  uint16_t flags, win;
  uint8_t df, to_open;
  const uint8_t *opt;
  uint8_t optlen;
};

#define ROW(n, f, w, df, open, o) {n, f, w, df, open, o, sizeof o}
static const struct os_tcp_row os_tcp_rows[] = {
    ROW("SEQ1", TW_TCP_SYN, 1, 0, 1, opt_seq1),
    ROW("SEQ2", TW_TCP_SYN, 63, 0, 1, opt_seq2),
    ROW("SEQ3", TW_TCP_SYN, 4, 0, 1, opt_seq3),
    ROW("SEQ4", TW_TCP_SYN, 4, 0, 1, opt_seq4),
    ROW("SEQ5", TW_TCP_SYN, 16, 0, 1, opt_seq5),
    ROW("SEQ6", TW_TCP_SYN, 512, 0, 1, opt_seq6),
    ROW("ECN", TW_TCP_SYN | TW_TCP_ECE | TW_TCP_CWR, 3, 0, 1, opt_ecn),
    ROW("T2", 0, 128, 1, 1, opt_t),
    ROW("T3", TW_TCP_SYN | TW_TCP_FIN | TW_TCP_PSH | TW_TCP_URG, 256, 0, 1, opt_t),
    ROW("T4", TW_TCP_ACK, 1024, 1, 1, opt_t),
    ROW("T5", TW_TCP_SYN, 31337, 0, 0, opt_t),
    ROW("T6", TW_TCP_ACK, 32768, 1, 0, opt_t),
    ROW("T7", TW_TCP_FIN | TW_TCP_PSH | TW_TCP_URG, 65535, 0, 0, opt_t7),
};
#undef ROW

/* The ECN probe's urgent pointer (without URG) and its reserved bit. */
#define OS_ECN_URG 0xF7F5
#define OS_ECN_RESERVED 0x08 /* in the byte of the data offset */
#define OS_IE_SEQ 295
#define OS_IE1_CODE 9
#define OS_IE1_LEN 120
#define OS_IE2_LEN 150
#define OS_IE2_TOS 4

const char *os_probe_name(enum os_probe_id id) {
  if ((unsigned)id < sizeof os_tcp_rows / sizeof os_tcp_rows[0]) return os_tcp_rows[id].name;
  switch (id) {
  case OS_P_U1: return "U1";
  case OS_P_IE1: return "IE1";
  case OS_P_IE2: return "IE2";
  default: return "?";
  }
}

int os_probe_to_open(enum os_probe_id id) {
  return (unsigned)id < sizeof os_tcp_rows / sizeof os_tcp_rows[0] && os_tcp_rows[id].to_open;
}

static int os_probe_tcp(const struct os_probe_params *pp, enum os_probe_id id, uint8_t *buf,
                        size_t cap, struct os_probe_sent *sent) {
  const struct os_tcp_row *row = &os_tcp_rows[id];
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src = pp->src;
  ip.dst = pp->dst;
  ip.ttl = pp->ttl;
  ip.id = (uint16_t)(pp->ipid_base + id);
  ip.df = row->df;
  tw_pkt_tcp t;
  memset(&t, 0, sizeof t);
  t.sport = (uint16_t)(pp->sport_base + id);
  t.dport = row->to_open ? pp->open_port : pp->closed_port;
  t.seq = pp->seq_base + (id <= OS_P_SEQ6 ? (uint32_t)id : 0);
  t.ack = id == OS_P_ECN ? 0 : pp->ack;
  t.flags = row->flags;
  t.win = row->win;
  t.opt = row->opt;
  t.optlen = row->optlen;
  if (id == OS_P_ECN) t.urg = OS_ECN_URG;
  int n = tw_pkt_build_tcp(buf, cap, &ip, &t, NULL, 0);
  if (n < 0) return n;
  if (id == OS_P_ECN) {
    buf[20 + 12] |= OS_ECN_RESERVED;
    int r = tw_pkt_ip_finish(buf, (size_t)n);
    if (r < 0) return r;
  }
  if (sent) {
    sent->proto = IPPROTO_TCP;
    sent->sport = t.sport;
    sent->dport = t.dport;
    sent->seq = t.seq;
    sent->ack = t.ack;
    sent->df = ip.df;
    sent->ttl = pp->ttl;
    sent->ip_id = ip.id;
    sent->ip_len = (uint16_t)n;
  }
  return n;
}

int os_probe_build(const struct os_probe_params *pp, enum os_probe_id id, uint8_t *buf,
                   size_t cap, struct os_probe_sent *sent) {
  if (pp->src.family != AF_INET || pp->dst.family != AF_INET || (unsigned)id >= OS_NPROBES)
    return -EINVAL;
  if (sent) memset(sent, 0, sizeof *sent);
  if (id <= OS_P_T7) return os_probe_tcp(pp, id, buf, cap, sent);
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src = pp->src;
  ip.dst = pp->dst;
  ip.ttl = pp->ttl;
  uint8_t data[OS_U1_LEN];
  int n;
  if (id == OS_P_U1) {
    ip.id = OS_U1_IPID;
    memset(data, OS_U1_FILL, sizeof data);
    n = tw_pkt_build_udp(buf, cap, &ip, (uint16_t)(pp->sport_base + id), pp->closed_uport, data,
                         OS_U1_LEN);
    if (n < 0) return n;
    if (sent) {
      sent->proto = IPPROTO_UDP;
      sent->sport = (uint16_t)(pp->sport_base + id);
      sent->dport = pp->closed_uport;
      sent->udp_csum = (uint16_t)(buf[20 + 6] << 8 | buf[20 + 7]);
    }
  } else {
    int second = id == OS_P_IE2;
    ip.id = (uint16_t)(pp->ipid_base + id);
    ip.df = !second;
    ip.tos = second ? OS_IE2_TOS : 0;
    tw_pkt_icmp ic;
    memset(&ic, 0, sizeof ic);
    ic.type = TW_ICMP_ECHO;
    ic.code = second ? 0 : OS_IE1_CODE;
    ic.id = (uint16_t)(pp->icmp_id + second);
    ic.seq = (uint16_t)(OS_IE_SEQ + second);
    memset(data, 0, sizeof data);
    n = tw_pkt_build_icmp(buf, cap, &ip, &ic, NULL, data, second ? OS_IE2_LEN : OS_IE1_LEN);
    if (n < 0) return n;
    if (sent) {
      sent->proto = IPPROTO_ICMP;
      sent->icmp_code = ic.code;
      sent->icmp_id = ic.id;
      sent->icmp_seq = ic.seq;
    }
  }
  if (sent) {
    sent->df = ip.df;
    sent->ttl = pp->ttl;
    sent->ip_id = ip.id;
    sent->ip_len = (uint16_t)n;
  }
  return n;
}
