/* os-try.c: one OS detection try (see os-try.h): reply bookkeeping, and the
 * fingerprint from the kept replies through the fp-*.c computations, in the
 * order they need each other (U1 first: its quote gives the distance the
 * TTL tests use). */
#include "os/os-try.h"

#include <netinet/in.h>
#include <string.h>

#include "os/fp-icmp.h"
#include "os/fp-tcp.h"

void os_try_init(struct os_try *t, const struct os_probe_params *pp) {
  memset(t, 0, sizeof *t);
  t->pp = *pp;
}

int os_try_send(struct os_try *t, enum os_probe_id id, uint64_t now_ns, uint8_t *buf,
                size_t cap) {
  int n = os_probe_build(&t->pp, id, buf, cap, &t->sent[id]);
  if (n < 0) return n;
  if (t->nsent[id] == 0) t->sent_ns[id] = now_ns;
  if (t->nsent[id] < UINT8_MAX) t->nsent[id]++;
  return n;
}

/* The probe a parsed reply answers, or -1. */
static int os_try_match(const struct os_try *t, const tw_pkt *p) {
  if (!(p->layers & TW_PKT_L_IP4) || !tw_pkt_addr_eq(&p->src, &t->pp.dst) ||
      !tw_pkt_addr_eq(&p->dst, &t->pp.src))
    return -1;
  if (p->layers & TW_PKT_L_TCP) {
    int id = (int)p->dport - (int)t->pp.sport_base;
    if (id < 0 || id > OS_P_T7) return -1;
    return p->sport == t->sent[id].dport ? id : -1;
  }
  if (!(p->layers & TW_PKT_L_ICMP)) return -1;
  if (p->icmp.type == TW_ICMP_ECHOREPLY) {
    for (int id = OS_P_IE1; id <= OS_P_IE2; id++)
      if (t->nsent[id] && p->icmp.id == t->sent[id].icmp_id && p->icmp.seq == t->sent[id].icmp_seq)
        return id;
    return -1;
  }
  if (p->icmp.type == TW_ICMP_UNREACH && (p->layers & TW_PKT_L_QUOTE) &&
      p->quote.proto == IPPROTO_UDP && p->quote.sport == t->sent[OS_P_U1].sport &&
      p->quote.dport == t->sent[OS_P_U1].dport)
    return OS_P_U1;
  return -1;
}

int os_try_input(struct os_try *t, const uint8_t *data, size_t len, int linktype,
                 uint64_t now_ns) {
  tw_pkt p;
  /* a quote that is cut short still names its probe: keep what decoded */
  if (tw_pkt_parse(data, len, linktype, &p) < 0 && !(p.layers & (TW_PKT_L_TCP | TW_PKT_L_ICMP))) {
    t->dropped++;
    return -1;
  }
  int id = os_try_match(t, &p);
  if (id < 0 || !t->nsent[id] || t->reply[id].got || len > OS_REPLY_MAX) {
    t->dropped++;
    return -1;
  }
  struct os_reply *r = &t->reply[id];
  memcpy(r->data, data, len);
  r->len = (uint16_t)len;
  r->linktype = (uint8_t)linktype;
  r->rx_ns = now_ns;
  r->got = 1;
  t->nreplies++;
  return id;
}

uint32_t os_try_unanswered(const struct os_try *t) {
  uint32_t m = 0;
  for (int id = 0; id < OS_NPROBES; id++)
    if (t->nsent[id] && !t->reply[id].got) m |= 1u << id;
  return m;
}

int os_try_reply_ttl(const struct os_try *t, int id) {
  tw_pkt p;
  if (id < 0 || id >= OS_NPROBES || !t->reply[id].got) return -1;
  tw_pkt_parse(t->reply[id].data, t->reply[id].len, t->reply[id].linktype, &p);
  return (p.layers & TW_PKT_L_IP4) ? p.ip4.ttl : -1;
}

uint64_t os_try_max_rtt(const struct os_try *t) {
  uint64_t m = 0;
  for (int id = 0; id < OS_NPROBES; id++)
    if (t->reply[id].got && t->nsent[id] == 1 && t->reply[id].rx_ns > t->sent_ns[id] &&
        t->reply[id].rx_ns - t->sent_ns[id] > m)
      m = t->reply[id].rx_ns - t->sent_ns[id];
  return m;
}

/* The parsed reply of probe id, or NULL (p is the storage). */
static const tw_pkt *os_try_reply(const struct os_try *t, int id, tw_pkt *p) {
  const struct os_reply *r = &t->reply[id];
  if (!r->got) return NULL;
  tw_pkt_parse(r->data, r->len, r->linktype, p);
  return (p->layers & TW_PKT_L_IP4) ? p : NULL;
}

void os_try_fingerprint(const struct os_try *t, int hops, struct os_fp *fp, int *dist_out,
                        struct os_seq_in *seq_out) {
  static tw_pkt const zero;
  tw_pkt pk[OS_NPROBES];
  const tw_pkt *r[OS_NPROBES];
  for (int id = 0; id < OS_NPROBES; id++) {
    pk[id] = zero;
    r[id] = os_try_reply(t, id, &pk[id]);
  }
  os_fp_init(fp);
  /* 1. U1, and the distance its quote tells */
  const struct os_probe_sent *us = &t->sent[OS_P_U1];
  int dist = hops;
  if (dist < 0 && r[OS_P_U1]) dist = os_fp_u1_hops(r[OS_P_U1], us->ttl);
  if (t->nsent[OS_P_U1]) {
    struct os_u1_sent u = {us->ttl, us->ip_id, us->ip_len, us->udp_csum, OS_U1_FILL};
    os_fp_u1(fp, r[OS_P_U1], &u, dist);
  }
  /* 2. SEQ, OPS, WIN and T1 from the six SYNs */
  struct os_seq_in seq;
  memset(&seq, 0, sizeof seq);
  const tw_pkt *syn[OS_SEQ_PROBES];
  for (int k = 0; k < OS_SEQ_PROBES; k++) {
    syn[k] = r[OS_P_SEQ1 + k];
    struct os_seq_sample *sm = &seq.syn[k];
    sm->sent_us = t->sent_ns[OS_P_SEQ1 + k] / 1000;
    /* only a SYN+ACK is a sample of the ISN generator */
    if (!syn[k] || (syn[k]->tcp.flags & (TW_TCP_SYN | TW_TCP_ACK)) != (TW_TCP_SYN | TW_TCP_ACK))
      continue;
    sm->got = 1;
    sm->isn = syn[k]->tcp.seq;
    sm->ipid = syn[k]->ip4.id;
    sm->has_ts = (syn[k]->tcp.opts.present & TW_TCPOPT_F_TS) != 0;
    sm->tsval = syn[k]->tcp.opts.tsval;
  }
  /* without an open port the probes to it were not sent: no such tests */
  if (t->nsent[OS_P_SEQ1]) {
    os_fp_ops_win(fp, syn);
    struct os_tcp_sent s1 = {t->sent[OS_P_SEQ1].seq, t->sent[OS_P_SEQ1].ack};
    os_fp_tcp_test(fp, OSDB_T1, syn[0], &s1, dist);
  }
  /* 3. ECN and T2-T7; the closed port's IP IDs for CI */
  static const enum osdb_test tests[] = {OSDB_ECN, OSDB_T2, OSDB_T3, OSDB_T4,
                                         OSDB_T5,  OSDB_T6, OSDB_T7};
  for (int k = 0; k < 7; k++) {
    int id = OS_P_ECN + k;
    if (!t->nsent[id]) continue;
    struct os_tcp_sent s = {t->sent[id].seq, t->sent[id].ack};
    os_fp_tcp_test(fp, tests[k], r[id], &s, dist);
    if (id >= OS_P_T5 && r[id]) seq.closed_ipid[seq.nclosed++] = r[id]->ip4.id;
  }
  /* 4. IE, and the echo replies' IP IDs for II */
  struct os_ie_sent ies = {{t->sent[OS_P_IE1].df, t->sent[OS_P_IE2].df},
                           {t->sent[OS_P_IE1].icmp_code, t->sent[OS_P_IE2].icmp_code}};
  os_fp_ie(fp, r[OS_P_IE1], r[OS_P_IE2], &ies, dist);
  for (int id = OS_P_IE1; id <= OS_P_IE2; id++)
    if (r[id]) seq.icmp_ipid[seq.nicmp++] = r[id]->ip4.id;
  /* 5. SEQ last: it needs every IP ID */
  os_fp_seq(fp, &seq);
  if (dist_out) *dist_out = dist;
  if (seq_out) *seq_out = seq;
}
