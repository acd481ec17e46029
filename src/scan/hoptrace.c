/* hoptrace.c: --traceroute's probes and replies for a whole host group
 * (see hoptrace.h). One struct per target holds its hop table, indexed by
 * TTL; a per-TTL list of the routers met so far lets a target's descent
 * stop on a hop another target already walked past.
 *
 *   1. new      per target: the keyed hash its probes carry, its source
 *               port, first TTL (its distance) and the descent below it
 *   2. pump     per target, up to `window` probes in flight: the upward
 *               probe when one is due, else the next TTL down
 *   3. input    a reply names (target, TTL) by its token; checked, then
 *               recorded: the hop, the end of the path, sharing
 *   4. tick     probes past their timeout are sent again or given up; a
 *               silent TTL above the known path leads one TTL higher, at
 *               most HT_UP_SILENT times in a row
 *   5. done     when no target has anything in flight or left to send,
 *               done() runs from a timer (never inside a callback of ours) */
#include "scan/hoptrace.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define HT_UP_SILENT 3 /* silent TTLs in a row above the distance: give up */
#define ICMP_ECHO_REPLY 0
#define ICMP_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIMXCEED 11
#define ICMP6_UNREACH 1
#define ICMP6_TIMXCEED 3
#define ICMP6_ECHO 128
#define ICMP6_ECHO_REPLY 129

struct htgt {
  struct hoptrace_target t;
  uint8_t hash8;      /* high byte of every probe's IP ID */
  uint16_t icmp_id;
  uint32_t seq_base;  /* TCP sequence, low byte the token */
  uint16_t sport;
  int pending;
  int down;           /* next TTL of the descent (0: none) */
  int up;             /* TTL of the upward probe */
  bool up_wanted;     /* it is to be sent */
  bool up_done;       /* the path ended (target or unreachable) */
  int up_silent;
  int end_ttl;        /* lowest TTL where the path ended (0: not yet) */
  int follow, follow_ttl; /* hops 1..follow_ttl are target follow's (-1) */
  int leader;         /* the first target of its /24, walking ahead (-1: none) */
  int wait_ttl;       /* held: the leader's answer for this TTL is due */
  struct hoptrace_hop hop[HOPTRACE_MAX_TTL + 1];
};

struct hkey {
  tw_pkt_addr addr;
  uint32_t tgt;
};
struct akey {
  uint16_t family;
  uint8_t b[16]; /* network order; IPv4 in the first 4 */
  uint32_t i;
};
struct hcache {
  struct hkey *v;
  uint32_t n, cap;
};

struct hoptrace {
  struct hoptrace_cfg c;
  struct htgt *t;
  uint32_t n;
  struct akey *by_addr; /* targets sorted by address */
  struct hcache cache[HOPTRACE_MAX_TTL + 1];
  tw_req *w[HOPTRACE_MAX_SRCS];
  tw_timer *tick, *end;
  uint64_t max_rtt_ns;
  uint32_t ndone;
  bool started, stopped, signalled;
  struct hoptrace_stats st;
};

/* ---- the quote ------------------------------------------------------------ */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int hoptrace_quote_parse(const uint8_t *q, size_t len, struct hoptrace_quote *out) {
  memset(out, 0, sizeof *out);
  if (!q || len < 20) return -1;
  size_t hl;
  if ((q[0] >> 4) == 4) {
    hl = (size_t)(q[0] & 15) * 4;
    if (hl < 20 || len < hl + 8) return -1;
    if ((rd16(q + 6) & 0x1fff) != 0) return -1; /* a later fragment: no L4 header */
    out->ipid = rd16(q + 4);
    out->ttl = q[8];
    out->proto = q[9];
    out->src.family = out->dst.family = AF_INET;
    memcpy(out->src.b, q + 12, 4);
    memcpy(out->dst.b, q + 16, 4);
  } else if ((q[0] >> 4) == 6) {
    hl = 40;
    if (len < hl + 8) return -1;
    out->flow = rd32(q) & 0xfffff;
    out->proto = q[6]; /* our probes carry no extension header */
    if (out->proto != IPPROTO_TCP && out->proto != IPPROTO_UDP && out->proto != IPPROTO_ICMPV6)
      return -1;
    out->ttl = q[7];
    out->src.family = out->dst.family = AF_INET6;
    memcpy(out->src.b, q + 8, 16);
    memcpy(out->dst.b, q + 24, 16);
  } else {
    return -1;
  }
  const uint8_t *l4 = q + hl;
  if (out->proto == IPPROTO_TCP || out->proto == IPPROTO_UDP) {
    out->sport = rd16(l4);
    out->dport = rd16(l4 + 2);
    if (out->proto == IPPROTO_TCP) out->seq = rd32(l4 + 4);
  } else if (out->proto == IPPROTO_ICMP || out->proto == IPPROTO_ICMPV6) {
    out->icmp_type = l4[0];
    out->icmp_id = rd16(l4 + 4);
    out->icmp_seq = rd16(l4 + 6);
  }
  return 0;
}

/* ---- 1. new ----------------------------------------------------------------- */

static int akey_cmp(const void *a, const void *b) {
  const struct akey *x = a, *y = b;
  if (x->family != y->family) return x->family < y->family ? -1 : 1;
  return memcmp(x->b, y->b, 16);
}

static struct akey akey_of(const tw_pkt_addr *a, uint32_t i) {
  struct akey k;
  memset(&k, 0, sizeof k);
  k.family = a->family;
  memcpy(k.b, a->b, a->family == AF_INET6 ? 16 : 4);
  k.i = i;
  return k;
}

/* The same /24 (IPv4) or /64 (IPv6). */
static bool same_net(const struct akey *x, const struct akey *y) {
  return x->family == y->family && memcmp(x->b, y->b, x->family == AF_INET6 ? 8 : 3) == 0;
}

static struct htgt *find_target(const struct hoptrace *ht, const tw_pkt_addr *a) {
  struct akey k = akey_of(a, 0);
  const struct akey *f = bsearch(&k, ht->by_addr, ht->n, sizeof k, akey_cmp);
  return f ? &ht->t[f->i] : NULL;
}

static bool is6(const struct htgt *g) { return g->t.dst.family == AF_INET6; }

int hoptrace_new(struct hoptrace **out, const struct hoptrace_cfg *c,
                 const struct hoptrace_target *t, uint32_t n) {
  *out = NULL;
  if (!c || !c->key || (n && !t) || c->nsrcs > HOPTRACE_MAX_SRCS || c->tries < 1 ||
      c->tries > 4 || c->window < 1)
    return -EINVAL;
  for (uint32_t i = 0; i < n; i++)
    if ((t[i].dst.family != AF_INET && t[i].dst.family != AF_INET6) ||
        t[i].src.family != t[i].dst.family)
      return -EINVAL;
  struct hoptrace *ht = calloc(1, sizeof *ht);
  if (!ht) return -ENOMEM;
  ht->c = *c;
  ht->n = n;
  ht->t = calloc(n ? n : 1, sizeof *ht->t);
  ht->by_addr = calloc(n ? n : 1, sizeof *ht->by_addr);
  if (!ht->t || !ht->by_addr) {
    hoptrace_free(ht);
    return -ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++) {
    struct htgt *g = &ht->t[i];
    g->t = t[i];
    struct {
      uint8_t dst[16];
      uint16_t dport;
      uint8_t proto, tag;
    } in;
    memset(&in, 0, sizeof in);
    memcpy(in.dst, t[i].dst.b, 16);
    in.dport = t[i].dport;
    in.proto = t[i].proto;
    in.tag = 0x7e;
    uint64_t h = cookie_siphash(c->key, &in, sizeof in);
    g->hash8 = (uint8_t)(h >> 56);
    g->icmp_id = (uint16_t)(h >> 40);
    g->seq_base = (uint32_t)h & 0xffffff00u;
    struct cookie_flow f = {t[i].dst.family, t[i].src.b, t[i].dst.b, 0, t[i].dport, t[i].proto};
    g->sport = c->sport_hi >= c->sport_lo ? cookie_src_port(c->key, &f, c->sport_lo, c->sport_hi)
                                          : 40000;
    int d = t[i].dist;
    if (d < 1 || d > HOPTRACE_MAX_TTL) d = 1;
    g->up = d;
    g->up_wanted = true;
    g->down = d - 1;
    g->follow = -1;
    ht->by_addr[i] = akey_of(&t[i].dst, i);
  }
  qsort(ht->by_addr, n, sizeof *ht->by_addr, akey_cmp);
  /* the first target (group order) of each /24 leads the others of it:
   * it walks its whole path at once, they one TTL at a time behind it */
  for (uint32_t k = 0; k < n;) {
    uint32_t e = k, first = ht->by_addr[k].i;
    while (e < n && same_net(&ht->by_addr[e], &ht->by_addr[k])) {
      if (ht->by_addr[e].i < first) first = ht->by_addr[e].i;
      e++;
    }
    for (uint32_t j = k; j < e; j++)
      ht->t[ht->by_addr[j].i].leader = ht->by_addr[j].i == first ? -1 : (int)first;
    k = e;
  }
  *out = ht;
  return 0;
}

/* ---- 2. pump ---------------------------------------------------------------- */

/* The kernel took the probe: its wall-clock send time, for an RTT from
 * the capture's receive time (the loop's own delays left out). */
static void on_sent(tw_rawsock *rs, int status, uint64_t sent_ns, void *tag) {
  (void)rs;
  struct hoptrace_hop *h = tag;
  if (status == 0) h->wire_ns = sent_ns;
}

static void send_probe(struct hoptrace *ht, struct htgt *g, int ttl, uint64_t now) {
  struct hoptrace_hop *h = &g->hop[ttl];
  uint8_t token = (uint8_t)(ttl << 2 | (h->tries & 3));
  uint8_t buf[128];
  tw_pkt_ipspec ip;
  memset(&ip, 0, sizeof ip);
  ip.src = g->t.src;
  ip.dst = g->t.dst;
  ip.ttl = (uint8_t)ttl;
  ip.id = (uint16_t)(g->hash8 << 8 | token);
  ip.flow = ip.id; /* IPv6: the flow label carries it */
  int len = -1;
  if (g->t.proto == IPPROTO_TCP) {
    tw_pkt_tcp tcp;
    memset(&tcp, 0, sizeof tcp);
    tcp.sport = g->sport;
    tcp.dport = g->t.dport;
    tcp.seq = g->seq_base | token;
    tcp.flags = TW_TCP_SYN;
    if (g->t.ack) { /* the host's RST carries our ack as its sequence */
      tcp.flags = TW_TCP_ACK;
      tcp.ack = tcp.seq;
    }
    tcp.win = 1024;
    len = tw_pkt_build_tcp(buf, sizeof buf, &ip, &tcp, NULL, 0);
  } else if (g->t.proto == IPPROTO_UDP) {
    len = tw_pkt_build_udp(buf, sizeof buf, &ip, g->sport, g->t.dport, NULL, 0);
  } else if (is6(g)) {
    tw_pkt_icmp6 ic;
    memset(&ic, 0, sizeof ic);
    ic.type = ICMP6_ECHO;
    ic.id = g->icmp_id;
    ic.seq = token;
    len = tw_pkt_build_icmp(buf, sizeof buf, &ip, NULL, &ic, NULL, 0);
  } else {
    tw_pkt_icmp ic;
    memset(&ic, 0, sizeof ic);
    ic.type = ICMP_ECHO;
    ic.id = g->icmp_id;
    ic.seq = token;
    len = tw_pkt_build_icmp(buf, sizeof buf, &ip, &ic, NULL, NULL, 0);
  }
  if (h->state != HOP_PENDING) g->pending++;
  h->state = HOP_PENDING;
  h->tries++;
  h->sent_ns = now;
  ht->st.sent++;
  /* a refused send (a full batch) is not retried at once: the probe
   * times out and goes again, as a lost one would */
  h->wire_ns = 0;
  if (len > 0 && ht->c.send) ht->c.send(ht->c.send_arg, buf, (size_t)len);
  else if (len > 0 && (is6(g) ? ht->c.rs6 : ht->c.rs4))
    tw_rawsend(is6(g) ? ht->c.rs6 : ht->c.rs4, buf, (size_t)len, on_sent, h);
}

static bool tgt_done(const struct htgt *g) {
  return g->pending == 0 && !g->up_wanted && !g->wait_ttl && (g->down < 1 || g->follow >= 0);
}

/* The hop of target i at ttl, through the targets it follows. */
static const struct hoptrace_hop *hop_at(const struct hoptrace *ht, uint32_t i, int ttl) {
  for (int depth = 0; depth < 32; depth++) {
    const struct htgt *g = &ht->t[i];
    if (g->follow < 0 || ttl > g->follow_ttl) return &g->hop[ttl];
    i = (uint32_t)g->follow;
  }
  return &ht->t[i].hop[ttl];
}

/* g follows another target's path: TTLs right above the shared part that
 * the other target already knows as routers are taken without a probe. */
static void follow_up(const struct hoptrace *ht, struct htgt *g) {
  while (g->follow >= 0 && g->up_wanted && g->up == g->follow_ttl + 1 &&
         g->up < HOPTRACE_MAX_TTL) {
    const struct hoptrace_hop *h = hop_at(ht, (uint32_t)g->follow, g->up);
    if (h->state != HOP_GOT || h->dest || g->hop[g->up].state != HOP_NONE) break;
    g->follow_ttl = g->up++;
  }
}

static void pump(struct hoptrace *ht, struct htgt *g, uint64_t now) {
  if (ht->stopped) return;
  int window = g->leader < 0 ? ht->c.window : 1;
  follow_up(ht, g);
  while (g->pending < window) {
    int ttl;
    if (g->up_wanted) {
      g->up_wanted = false;
      ttl = g->up;
    } else if (g->down >= 1 && g->follow < 0 && !g->wait_ttl) {
      ttl = g->down--;
      if (g->hop[ttl].state != HOP_NONE) continue;
    } else {
      break;
    }
    send_probe(ht, g, ttl, now);
  }
}

static void on_end(tw_timer *t, int status) {
  struct hoptrace *ht = tw_data(t);
  if (status < 0 || ht->signalled) return;
  ht->signalled = true;
  if (ht->tick) tw_timer_stop(ht->tick);
  for (int i = 0; i < HOPTRACE_MAX_SRCS; i++)
    if (ht->w[i]) {
      tw_cancel(ht->w[i]);
      ht->w[i] = NULL;
    }
  if (ht->c.done) ht->c.done(ht->c.ud);
}

static void check_end(struct hoptrace *ht) {
  if (ht->signalled || !hoptrace_finished(ht)) return;
  if (ht->end) tw_timer_start(ht->end, on_end, 0, 0);
}

/* ---- 3. input --------------------------------------------------------------- */

static int cache_add(struct hcache *c, const tw_pkt_addr *a, uint32_t tgt) {
  if (c->n == c->cap) {
    uint32_t cap = c->cap ? c->cap * 2 : 8;
    struct hkey *v = realloc(c->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    c->v = v;
    c->cap = cap;
  }
  c->v[c->n++] = (struct hkey){*a, tgt};
  return 0;
}

static int cache_find(const struct hcache *c, const tw_pkt_addr *a) {
  for (uint32_t k = 0; k < c->n; k++)
    if (tw_pkt_addr_eq(&c->v[k].addr, a)) return (int)c->v[k].tgt;
  return -1;
}

/* Whether target o's hops come, through the targets it follows, from t. */
static bool leads_to(const struct hoptrace *ht, uint32_t o, uint32_t t) {
  for (int depth = 0; depth < 32; depth++) {
    if (o == t) return true;
    if (ht->t[o].follow < 0) return false;
    o = (uint32_t)ht->t[o].follow;
  }
  return true; /* too long a chain: do not add to it */
}

/* A router at ttl on g's path: another target met it at this TTL (its hops
 * below are g's), or g's leader will say soon (g holds), or g is the
 * first to meet it. */
static void share(struct hoptrace *ht, struct htgt *g, int ttl, const tw_pkt_addr *from) {
  uint32_t me = (uint32_t)(g - ht->t);
  if (g->follow >= 0 && ttl <= g->follow_ttl) return;
  struct hcache *c = &ht->cache[ttl];
  int other = cache_find(c, from);
  if (other >= 0 && (uint32_t)other != me) {
    /* a deeper shared router: follow the target that met it, unless its
     * own path is taken from g's */
    if (!leads_to(ht, (uint32_t)other, me)) {
      if (g->follow < 0) ht->st.shared++;
      g->follow = other;
      g->follow_ttl = ttl;
    }
    return;
  }
  if (other >= 0) return;
  if (g->leader >= 0 && !ht->stopped) {
    const struct htgt *l = &ht->t[g->leader];
    uint8_t ls = l->hop[ttl].state;
    if (ls == HOP_PENDING || (ls == HOP_NONE && l->down >= ttl && l->follow < 0)) {
      g->wait_ttl = ttl;
      return;
    }
  }
  cache_add(c, from, me); /* out of memory: no sharing, no harm */
}

/* g's hop at ttl is settled (answered or given up): the targets it leads
 * that held on this TTL go on, following g when they met the same router. */
static void release(struct hoptrace *ht, struct htgt *g, int ttl, uint64_t now) {
  if (g->leader >= 0) return;
  int me = (int)(g - ht->t);
  for (uint32_t i = 0; i < ht->n; i++) {
    struct htgt *f = &ht->t[i];
    if (f->leader != me || f->wait_ttl != ttl) continue;
    f->wait_ttl = 0;
    const struct hoptrace_hop *lh = &g->hop[ttl];
    if (lh->state == HOP_GOT && tw_pkt_addr_eq(&lh->addr, &f->hop[ttl].addr) &&
        !leads_to(ht, (uint32_t)me, i)) {
      if (f->follow < 0) ht->st.shared++;
      f->follow = me;
      f->follow_ttl = ttl;
    } else {
      share(ht, f, ttl, &f->hop[ttl].addr);
      f->wait_ttl = 0;
    }
    pump(ht, f, now);
  }
}

/* A probe of g at ttl was answered by `from`. */
static void record(struct hoptrace *ht, struct htgt *g, int ttl, const tw_pkt_addr *from,
                   bool unreach, uint64_t now, uint64_t rx_ns) {
  struct hoptrace_hop *h = &g->hop[ttl];
  if (h->state == HOP_GOT) {
    ht->st.duplicates++;
    return;
  }
  if (g->follow >= 0 && ttl < g->follow_ttl) {
    ht->st.duplicates++; /* a hop below the shared part: known */
    if (h->state == HOP_PENDING) g->pending--;
    h->state = HOP_SKIPPED;
    return;
  }
  if (h->state == HOP_PENDING) g->pending--;
  h->state = HOP_GOT;
  h->addr = *from;
  h->dest = tw_pkt_addr_eq(from, &g->t.dst) ? 1 : 0;
  h->rtt_ns = now > h->sent_ns ? now - h->sent_ns : 0;
  if (h->wire_ns && rx_ns > h->wire_ns) h->rtt_ns = rx_ns - h->wire_ns;
  if (h->rtt_ns > ht->max_rtt_ns) ht->max_rtt_ns = h->rtt_ns;
  ht->st.replies++;
  if (h->dest || unreach) {
    /* the path ends here: the target, or a router that says no; another
     * target meeting this address at this TTL takes g's hops */
    if (!g->end_ttl || ttl < g->end_ttl) g->end_ttl = ttl;
    if (cache_find(&ht->cache[ttl], from) < 0)
      cache_add(&ht->cache[ttl], from, (uint32_t)(g - ht->t));
    if (ttl <= g->up) {
      g->up_done = true;
      g->up_wanted = false;
    }
  } else {
    if (ttl == g->up && !g->up_done && !g->end_ttl && ttl < HOPTRACE_MAX_TTL) {
      g->up = ttl + 1;
      g->up_wanted = true;
      g->up_silent = 0;
    }
    share(ht, g, ttl, from);
  }
  release(ht, g, ttl, now);
  pump(ht, g, now);
  if (tgt_done(g)) check_end(ht);
}

/* The TTL a token names, if g sent it: 1..MAX, else 0. */
static int token_ttl(const struct htgt *g, unsigned token) {
  int ttl = (int)(token >> 2);
  if (ttl < 1 || ttl > HOPTRACE_MAX_TTL || g->hop[ttl].state == HOP_NONE) return 0;
  if ((token & 3) >= g->hop[ttl].tries) return 0;
  return ttl;
}

static void input_error(struct hoptrace *ht, const tw_rx *rx, uint64_t now) {
  bool v6 = rx->ethertype == TW_ETH_IP6;
  bool te = v6 ? rx->icmp_type == ICMP6_TIMXCEED : rx->icmp_type == ICMP_TIMXCEED;
  bool un = v6 ? rx->icmp_type == ICMP6_UNREACH : rx->icmp_type == ICMP_UNREACH;
  if (rx->proto != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) || (!te && !un) ||
      (!v6 && rx->ethertype != TW_ETH_IP4)) {
    ht->st.unsolicited++;
    return;
  }
  struct hoptrace_quote q;
  if (!rx->q_off || rx->q_off >= rx->frame->caplen ||
      hoptrace_quote_parse(rx->frame->data + rx->q_off, rx->frame->caplen - rx->q_off, &q) < 0) {
    ht->st.malformed++;
    return;
  }
  struct htgt *g = find_target(ht, &q.dst);
  unsigned mark = q.dst.family == AF_INET6 ? (unsigned)(q.flow & 0xffff) : q.ipid;
  unsigned token = mark & 0xff;
  uint8_t l4 = g && g->t.proto == IPPROTO_ICMP && is6(g) ? IPPROTO_ICMPV6 : g ? g->t.proto : 0;
  bool ok = g && tw_pkt_addr_eq(&q.src, &g->t.src) && q.proto == l4 && (mark >> 8) == g->hash8;
  if (ok && q.proto == IPPROTO_TCP)
    ok = q.sport == g->sport && q.dport == g->t.dport && q.seq == (g->seq_base | token);
  else if (ok && q.proto == IPPROTO_UDP)
    ok = q.sport == g->sport && q.dport == g->t.dport;
  else if (ok)
    ok = q.icmp_type == (is6(g) ? ICMP6_ECHO : ICMP_ECHO) && q.icmp_id == g->icmp_id &&
         q.icmp_seq == token;
  int ttl = ok ? token_ttl(g, token) : 0;
  if (!ttl) {
    ht->st.unsolicited++;
    return;
  }
  /* unreachable from the target itself (UDP port closed) is its answer */
  bool unreach = un;
  record(ht, g, ttl, &rx->src, unreach, now, rx->frame ? rx->frame->ts_ns : 0);
}

void hoptrace_input(struct hoptrace *ht, const tw_rx *rx, uint64_t now_ns) {
  if (!rx || ht->stopped) return;
  if (rx->is_error) {
    input_error(ht, rx, now_ns);
    return;
  }
  struct htgt *g = rx->ethertype == TW_ETH_IP4 || rx->ethertype == TW_ETH_IP6
                       ? find_target(ht, &rx->src)
                       : NULL;
  unsigned token = 0;
  bool ok = false;
  if (g && rx->proto == IPPROTO_TCP && g->t.proto == IPPROTO_TCP && g->t.ack) {
    ok = rx->sport == g->t.dport && rx->dport == g->sport && (rx->tcp_flags & TW_TCP_RST) &&
         (rx->tcp_seq & 0xffffff00u) == g->seq_base;
    token = rx->tcp_seq & 0xff;
  } else if (g && rx->proto == IPPROTO_TCP && g->t.proto == IPPROTO_TCP) {
    uint32_t seq = rx->tcp_ack - 1;
    ok = rx->sport == g->t.dport && rx->dport == g->sport && (rx->tcp_flags & (TW_TCP_RST | TW_TCP_SYN)) &&
         (rx->tcp_flags & TW_TCP_ACK) && (seq & 0xffffff00u) == g->seq_base;
    token = seq & 0xff;
  } else if (g && g->t.proto == IPPROTO_ICMP &&
             rx->proto == (is6(g) ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
    ok = rx->icmp_type == (is6(g) ? ICMP6_ECHO_REPLY : ICMP_ECHO_REPLY) &&
         rx->icmp_id == g->icmp_id && rx->icmp_seq < 256;
    token = rx->icmp_seq;
  }
  int ttl = ok ? token_ttl(g, token) : 0;
  if (!ttl) {
    ht->st.unsolicited++;
    return;
  }
  record(ht, g, ttl, &rx->src, false, now_ns, rx->frame ? rx->frame->ts_ns : 0);
}

static void on_rx(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct hoptrace *ht = data;
  if (status < 0) {
    for (int i = 0; i < HOPTRACE_MAX_SRCS; i++)
      if (ht->w[i] == req) ht->w[i] = NULL;
    return;
  }
  hoptrace_input(ht, rx, tw_hrtime());
}

/* ---- 4. tick ---------------------------------------------------------------- */

static uint64_t probe_timeout(const struct hoptrace *ht) {
  if (!ht->max_rtt_ns) return ht->c.timeout_ns;
  uint64_t t = 3 * ht->max_rtt_ns + ht->c.min_timeout_ns;
  return t < ht->c.timeout_ns ? t : ht->c.timeout_ns;
}

void hoptrace_tick(struct hoptrace *ht, uint64_t now) {
  uint64_t to = probe_timeout(ht);
  for (uint32_t i = 0; i < ht->n; i++) {
    struct htgt *g = &ht->t[i];
    if (g->pending == 0 && tgt_done(g)) continue;
    for (int ttl = 1; ttl <= HOPTRACE_MAX_TTL && g->pending > 0; ttl++) {
      struct hoptrace_hop *h = &g->hop[ttl];
      if (h->state != HOP_PENDING || (!ht->stopped && now - h->sent_ns < to)) continue;
      if (!ht->stopped && h->tries < ht->c.tries) {
        send_probe(ht, g, ttl, now);
        continue;
      }
      h->state = HOP_TIMEOUT;
      g->pending--;
      release(ht, g, ttl, now);
      if (ttl == g->up && !g->up_done && !g->end_ttl && ++g->up_silent < HT_UP_SILENT &&
          ttl < HOPTRACE_MAX_TTL && !ht->stopped) {
        g->up = ttl + 1;
        g->up_wanted = true;
      }
    }
    pump(ht, g, now);
  }
  check_end(ht);
}

static void on_tick(tw_timer *t, int status) {
  if (status < 0) return;
  hoptrace_tick(tw_data(t), tw_hrtime());
}

int hoptrace_start(struct hoptrace *ht) {
  int err;
  if ((err = tw_timer_new(ht->c.loop, &ht->tick, ht)) < 0) return err;
  if ((err = tw_timer_new(ht->c.loop, &ht->end, ht)) < 0) return err;
  for (int i = 0; i < ht->c.nsrcs; i++) {
    tw_match m;
    memset(&m, 0, sizeof m);
    m.fields = TW_M_DST;
    m.dst = ht->c.srcs[i];
    if (m.dst.family != AF_INET && m.dst.family != AF_INET6) continue;
    if ((err = tw_wait(ht->c.loop, &ht->w[i], &m, TW_WAIT_ERRORS, 0, on_rx, ht)) < 0) return err;
  }
  uint64_t every = ht->c.min_timeout_ns / 4;
  if (every < 2000000) every = 2000000;
  if ((err = tw_timer_start(ht->tick, on_tick, every, every)) < 0) return err;
  /* nothing fails after the first probe is queued: its send callback
   * points into ht, which must outlive the batch */
  ht->started = true;
  uint64_t now = tw_hrtime();
  for (uint32_t i = 0; i < ht->n; i++) pump(ht, &ht->t[i], now);
  check_end(ht);
  return 0;
}

void hoptrace_stop(struct hoptrace *ht) {
  if (ht->stopped) return;
  ht->stopped = true;
  for (uint32_t i = 0; i < ht->n; i++) {
    ht->t[i].up_wanted = false;
    ht->t[i].down = 0;
    ht->t[i].wait_ttl = 0;
  }
  hoptrace_tick(ht, tw_hrtime());
}

void hoptrace_free(struct hoptrace *ht) {
  if (!ht) return;
  for (int i = 0; i < HOPTRACE_MAX_SRCS; i++)
    if (ht->w[i]) tw_cancel(ht->w[i]);
  if (ht->tick) tw_close(ht->tick, NULL);
  if (ht->end) tw_close(ht->end, NULL);
  for (int k = 0; k <= HOPTRACE_MAX_TTL; k++) free(ht->cache[k].v);
  free(ht->t);
  free(ht->by_addr);
  free(ht);
}

/* ---- results ---------------------------------------------------------------- */

bool hoptrace_finished(const struct hoptrace *ht) {
  for (uint32_t i = 0; i < ht->n; i++)
    if (!tgt_done(&ht->t[i])) return false;
  return true;
}

double hoptrace_progress(const struct hoptrace *ht) {
  uint32_t done = 0;
  for (uint32_t i = 0; i < ht->n; i++) done += tgt_done(&ht->t[i]);
  return ht->n ? (double)done / ht->n : 1.0;
}

const struct hoptrace_stats *hoptrace_stats(const struct hoptrace *ht) { return &ht->st; }

/* The last TTL worth showing for g: where the path ended, else the
 * highest that answered. */
static int last_ttl(const struct htgt *g) {
  if (g->end_ttl) return g->end_ttl;
  /* not reached: up to the last TTL tried, silent ones included */
  for (int ttl = HOPTRACE_MAX_TTL; ttl >= 1; ttl--)
    if (g->hop[ttl].state == HOP_GOT || g->hop[ttl].state == HOP_TIMEOUT) return ttl;
  return g->follow >= 0 ? g->follow_ttl : 0;
}

#define HT_MAX_CHAIN 32 /* leaders of leaders followed, at most */

static int hops_of(const struct hoptrace *ht, uint32_t i, struct hoptrace_hop *out, int cap,
                   int *same_as, int *same_upto, int depth) {
  *same_as = -1;
  *same_upto = 0;
  if (i >= ht->n || cap < 1) return 0;
  const struct htgt *g = &ht->t[i];
  int n = last_ttl(g);
  if (n > cap) n = cap;
  for (int ttl = 1; ttl <= n; ttl++) out[ttl - 1] = g->hop[ttl];
  if (g->follow >= 0 && depth < HT_MAX_CHAIN) {
    *same_as = g->follow;
    *same_upto = g->follow_ttl < n ? g->follow_ttl : n;
    /* the leader's hops (its own leader's, and so on: the chain only
     * points to targets that met the router earlier, so it ends) */
    struct hoptrace_hop lead[HOPTRACE_MAX_TTL];
    int a, b;
    int ln = hops_of(ht, (uint32_t)g->follow, lead, HOPTRACE_MAX_TTL, &a, &b, depth + 1);
    for (int ttl = 1; ttl <= *same_upto; ttl++) {
      if (ttl <= ln) out[ttl - 1] = lead[ttl - 1];
      else memset(&out[ttl - 1], 0, sizeof out[ttl - 1]);
    }
  }
  return n;
}

int hoptrace_hops(const struct hoptrace *ht, uint32_t i, struct hoptrace_hop *out, int cap,
                  int *same_as, int *same_upto) {
  return hops_of(ht, i, out, cap, same_as, same_upto, 0);
}
