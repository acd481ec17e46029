/* lua-packet.c: raw packets for scripts.
 *
 *   trawl.pcap_open(ifname)     the loop's shared capture of an interface
 *                               (capture.h); cap:wait{...} waits for one
 *                               matching packet
 *   trawl.packet.wait{...}      the same without naming a capture: the
 *                               loop's dispatcher gives every waiter only
 *                               the packets its match describes, whichever
 *                               capture received them (dispatch.h)
 *   trawl.raw_send(bytes[, if]) send a raw IPv4/IPv6 packet, or an
 *                               Ethernet frame on interface `if`; returns
 *                               the kernel send time (CLOCK_REALTIME ns,
 *                               the clock of capture timestamps)
 *   trawl.packet.parse(bytes[, "eth"|"ip"])   every layer as a table
 *   trawl.packet.build_icmp/udp/tcp/arp/eth{...}  packets with checksums
 *                               (IPv4 options: record_route = N, ipopts)
 *   trawl.get_interface_info(if) its MAC, index, MTU (ARP from scripts)
 *
 * A thread's captures are released when it ends. Raw sockets are the
 * engine's (script_engine_open_raw opens them while still root). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/dispatch.h>
#include <trawl/packet.h>
#include <trawl/route.h>

#include "script/lua/lua-int.h"

#define LP_CAPTURE "trawl.capture"
#define LP_WAITER "trawl.pwaiter"

/* ---- helpers --------------------------------------------------------------- */

static void lp_setfi(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}
static void lp_setfs(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}
static void lp_setaddr(lua_State *L, const char *k, const tw_pkt_addr *a) {
  char b[INET6_ADDRSTRLEN];
  lp_setfs(L, k, tw_pkt_addr_str(a, b, sizeof b));
}
static void lp_setmac(lua_State *L, const char *k, const uint8_t *m) {
  char b[32];
  snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  lp_setfs(L, k, b);
}

static int lp_parse_mac(const char *s, uint8_t m[6]) {
  unsigned v[6];
  if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) {
    if (v[i] > 255) return -1;
    m[i] = (uint8_t)v[i];
  }
  return 0;
}

static lua_Integer lp_optint(lua_State *L, int t, const char *k, lua_Integer def) {
  lua_getfield(L, t, k);
  lua_Integer v = lua_isnil(L, -1) ? def : luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  return v;
}

static bool lp_getaddr(lua_State *L, int t, const char *k, tw_pkt_addr *a, bool required) {
  lua_getfield(L, t, k);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1);
  memset(a, 0, sizeof *a);
  if (!s) {
    if (required) luaL_error(L, "field '%s' (an IP address) is required", k);
    return false;
  }
  if (tw_pkt_addr_parse(a, s) < 0) luaL_error(L, "field '%s': '%s' is not an IP address", k, s);
  return true;
}

static const char *lp_optstr(lua_State *L, int t, const char *k, size_t *len) {
  lua_getfield(L, t, k);
  const char *s = lua_tolstring(L, -1, len);
  lua_pop(L, 1); /* the string stays referenced by the table */
  if (!s && len) *len = 0;
  return s;
}

static int lp_proto(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) return (int)lua_tointeger(L, idx);
  const char *s = luaL_checkstring(L, idx);
  if (!strcmp(s, "tcp")) return IPPROTO_TCP;
  if (!strcmp(s, "udp")) return IPPROTO_UDP;
  if (!strcmp(s, "icmp")) return IPPROTO_ICMP;
  if (!strcmp(s, "icmp6")) return IPPROTO_ICMPV6;
  return luaL_argerror(L, idx, "unknown protocol");
}

/* ---- decoding ------------------------------------------------------------- */

static const char *lp_flags(uint16_t f, char *b) {
  static const char names[] = "FSRPAUEC";
  int n = 0;
  for (int i = 0; i < 8; i++)
    if (f & (1u << i)) b[n++] = names[i];
  b[n] = 0;
  return b;
}

/* ip.rr: a record route option the parser validated (length, pointer
 * within 4..len+1, slots <= 9): the filled slots only, never past them. */
static void lp_push_route(lua_State *L, const tw_pkt_ip4_route *r) {
  lua_createtable(L, 0, 4);
  lp_setfi(L, "pointer", r->pointer);
  lp_setfi(L, "slots", r->slots);
  unsigned n = r->filled;
  if (n > r->slots) n = r->slots;
  if (n > sizeof r->addr / sizeof r->addr[0]) n = sizeof r->addr / sizeof r->addr[0];
  lp_setfi(L, "filled", n);
  lua_createtable(L, (int)n, 0);
  for (unsigned i = 0; i < n; i++) {
    char b[INET_ADDRSTRLEN];
    lua_pushstring(L, inet_ntop(AF_INET, &r->addr[i], b, sizeof b));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "hops");
  lua_setfield(L, -2, "rr");
}

/* Push the table of a dissected packet. */
static void lp_push_pkt(lua_State *L, const tw_pkt *p) {
  lua_createtable(L, 0, 16);
  lua_pushlstring(L, (const char *)p->buf, p->len);
  lua_setfield(L, -2, "raw");
  lp_setfi(L, "len", (lua_Integer)p->len);
  if (p->err) lp_setfs(L, "error", p->why);
  if (p->layers & TW_PKT_L_ETH) {
    lua_createtable(L, 0, 4);
    lp_setmac(L, "src", p->eth.src);
    lp_setmac(L, "dst", p->eth.dst);
    lp_setfi(L, "type", p->eth.type);
    if (p->eth.nvlan) lp_setfi(L, "vlan", TW_PKT_VLAN_ID(p->eth.vlan_tci[0]));
    lua_setfield(L, -2, "eth");
  }
  if (p->layers & TW_PKT_L_ARP) {
    lua_createtable(L, 0, 5);
    lp_setfi(L, "op", p->arp.op);
    lp_setmac(L, "sha", p->arp.sha);
    lp_setmac(L, "tha", p->arp.tha);
    char b[INET_ADDRSTRLEN];
    lp_setfs(L, "spa", inet_ntop(AF_INET, &p->arp.spa, b, sizeof b));
    lp_setfs(L, "tpa", inet_ntop(AF_INET, &p->arp.tpa, b, sizeof b));
    lua_setfield(L, -2, "arp");
  }
  if (p->layers & (TW_PKT_L_IP4 | TW_PKT_L_IP6)) {
    lua_createtable(L, 0, 10);
    bool v4 = p->layers & TW_PKT_L_IP4;
    lp_setfi(L, "version", v4 ? 4 : 6);
    lp_setaddr(L, "src", &p->src);
    lp_setaddr(L, "dst", &p->dst);
    lp_setfi(L, "proto", p->proto);
    if (v4) {
      lp_setfi(L, "ttl", p->ip4.ttl);
      lp_setfi(L, "id", p->ip4.id);
      lp_setfi(L, "tos", p->ip4.tos);
      lp_setfi(L, "len", p->ip4.tot_len);
      lua_pushboolean(L, p->ip4.df);
      lua_setfield(L, -2, "df");
      lua_pushboolean(L, p->ip4.csum_ok);
      lua_setfield(L, -2, "csum_ok");
      if (p->ip4.optlen && p->ip4.opt) {
        lua_pushlstring(L, (const char *)p->ip4.opt, p->ip4.optlen);
        lua_setfield(L, -2, "options");
      }
      if (p->ip4.opts & TW_IP4OPT_F_RR) lp_push_route(L, &p->ip4.rr);
    } else {
      lp_setfi(L, "ttl", p->ip6.hlim);
      lp_setfi(L, "flow", p->ip6.flow);
      lp_setfi(L, "len", p->ip6.plen);
    }
    lua_setfield(L, -2, "ip");
  }
  if (p->layers & TW_PKT_L_TCP) {
    lua_createtable(L, 0, 9);
    char fb[12];
    lp_setfi(L, "sport", p->tcp.sport);
    lp_setfi(L, "dport", p->tcp.dport);
    lp_setfi(L, "seq", p->tcp.seq);
    lp_setfi(L, "ack", p->tcp.ack);
    lp_setfi(L, "flags", p->tcp.flags);
    lp_setfs(L, "flagstr", lp_flags(p->tcp.flags, fb));
    lp_setfi(L, "win", p->tcp.win);
    if (p->tcp.opts.present & TW_TCPOPT_F_MSS) lp_setfi(L, "mss", p->tcp.opts.mss);
    if (p->tcp.opts.present & TW_TCPOPT_F_WS) lp_setfi(L, "wscale", p->tcp.opts.wscale);
    lua_setfield(L, -2, "tcp");
  }
  if (p->layers & TW_PKT_L_UDP) {
    lua_createtable(L, 0, 3);
    lp_setfi(L, "sport", p->udp.sport);
    lp_setfi(L, "dport", p->udp.dport);
    lp_setfi(L, "len", p->udp.len);
    lua_setfield(L, -2, "udp");
  }
  if (p->layers & TW_PKT_L_ICMP) {
    lua_createtable(L, 0, 5);
    lp_setfi(L, "type", p->icmp.type);
    lp_setfi(L, "code", p->icmp.code);
    lp_setfi(L, "id", p->icmp.id);
    lp_setfi(L, "seq", p->icmp.seq);
    lua_pushboolean(L, p->icmp.csum_ok);
    lua_setfield(L, -2, "csum_ok");
    lua_setfield(L, -2, "icmp");
  }
  if (p->layers & TW_PKT_L_ICMP6) {
    lua_createtable(L, 0, 4);
    lp_setfi(L, "type", p->icmp6.type);
    lp_setfi(L, "code", p->icmp6.code);
    lp_setfi(L, "id", p->icmp6.id);
    lp_setfi(L, "seq", p->icmp6.seq);
    lua_setfield(L, -2, "icmp6");
  }
  if (p->layers & TW_PKT_L_QUOTE) {
    lua_createtable(L, 0, 6);
    lp_setaddr(L, "src", &p->quote.src);
    lp_setaddr(L, "dst", &p->quote.dst);
    lp_setfi(L, "proto", p->quote.proto);
    lp_setfi(L, "sport", p->quote.sport);
    lp_setfi(L, "dport", p->quote.dport);
    lp_setfi(L, "ttl", p->quote.ttl);
    lua_setfield(L, -2, "quote");
  }
  if (p->payload_off && p->payload_off <= p->len) {
    size_t pl = p->payload_len;
    if (p->payload_off + pl > p->len) pl = p->len - p->payload_off;
    lua_pushlstring(L, (const char *)p->buf + p->payload_off, pl);
    lua_setfield(L, -2, "payload");
  }
}

static int lp_parse(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  const char *kind = luaL_optstring(L, 2, "ip");
  int link = !strcmp(kind, "eth") ? TW_LINK_ETH : !strcmp(kind, "ip") ? TW_LINK_RAW : -1;
  if (link < 0) return luaL_argerror(L, 2, "expected \"eth\" or \"ip\"");
  tw_pkt p;
  int r = tw_pkt_parse((const uint8_t *)b, n, link, &p);
  if (r < 0 && !(p.layers)) return st_pusherr(L, r == TW_EMALFORMED ? p.why : tw_strerror(r));
  lp_push_pkt(L, &p);
  return 1;
}

/* ---- building ------------------------------------------------------------- */

static void lp_ipspec(lua_State *L, int t, tw_pkt_ipspec *ip, uint8_t optbuf[40]) {
  memset(ip, 0, sizeof *ip);
  lp_getaddr(L, t, "src", &ip->src, true);
  lp_getaddr(L, t, "dst", &ip->dst, true);
  if (ip->src.family != ip->dst.family) luaL_error(L, "src and dst are of different families");
  ip->ttl = (uint8_t)lp_optint(L, t, "ttl", 64);
  ip->tos = (uint8_t)lp_optint(L, t, "tos", 0);
  ip->id = (uint16_t)lp_optint(L, t, "id", 0);
  ip->df = (uint8_t)lp_optint(L, t, "df", 0);
  /* IPv4 options: record_route = N empty slots (1..9), or raw ipopts */
  lua_Integer rr = lp_optint(L, t, "record_route", 0);
  size_t ol = 0;
  const char *raw = lp_optstr(L, t, "ipopts", &ol);
  if ((rr || raw) && ip->src.family != AF_INET) luaL_error(L, "IP options are IPv4 only");
  if (rr && raw) luaL_error(L, "give record_route or ipopts, not both");
  if (rr) {
    if (rr < 1 || rr > 9) luaL_error(L, "record_route: 1..9 slots");
    int n = tw_pkt_ip4_opt_rr(optbuf, 40, (unsigned)rr);
    if (n < 0) luaL_error(L, "record_route: %s", tw_strerror(n));
    ip->opt = optbuf;
    ip->optlen = (uint8_t)n;
  } else if (raw) {
    if (ol > 40) luaL_error(L, "ipopts: at most 40 bytes");
    memcpy(optbuf, raw, ol);
    ip->opt = optbuf;
    ip->optlen = (uint8_t)ol;
  }
}

static int lp_push_built(lua_State *L, int n, const uint8_t *buf) {
  if (n < 0) return st_pusherr(L, tw_strerror(n));
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  return 1;
}

static int lp_build_icmp(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  tw_pkt_ipspec ip;
  uint8_t ipopt[40];
  lp_ipspec(L, 1, &ip, ipopt);
  size_t dl;
  const char *data = lp_optstr(L, 1, "data", &dl);
  uint8_t buf[65536];
  int n;
  if (ip.src.family == AF_INET) {
    tw_pkt_icmp ic = {0};
    ic.type = (uint8_t)lp_optint(L, 1, "type", TW_ICMP_ECHO);
    ic.code = (uint8_t)lp_optint(L, 1, "code", 0);
    ic.id = (uint16_t)lp_optint(L, 1, "id", 0);
    ic.seq = (uint16_t)lp_optint(L, 1, "seq", 0);
    n = tw_pkt_build_icmp(buf, sizeof buf, &ip, &ic, NULL, data, dl);
  } else {
    tw_pkt_icmp6 ic = {0};
    ic.type = (uint8_t)lp_optint(L, 1, "type", TW_ICMP6_ECHO);
    ic.code = (uint8_t)lp_optint(L, 1, "code", 0);
    ic.id = (uint16_t)lp_optint(L, 1, "id", 0);
    ic.seq = (uint16_t)lp_optint(L, 1, "seq", 0);
    n = tw_pkt_build_icmp(buf, sizeof buf, &ip, NULL, &ic, data, dl);
  }
  return lp_push_built(L, n, buf);
}

static int lp_build_udp(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  tw_pkt_ipspec ip;
  uint8_t ipopt[40];
  lp_ipspec(L, 1, &ip, ipopt);
  size_t pl;
  const char *pay = lp_optstr(L, 1, "payload", &pl);
  uint8_t buf[65536];
  int n = tw_pkt_build_udp(buf, sizeof buf, &ip, (uint16_t)lp_optint(L, 1, "sport", 0),
                           (uint16_t)lp_optint(L, 1, "dport", 0), pay, pl);
  return lp_push_built(L, n, buf);
}

static int lp_build_tcp(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  tw_pkt_ipspec ip;
  uint8_t ipopt[40];
  lp_ipspec(L, 1, &ip, ipopt);
  tw_pkt_tcp t = {0};
  t.sport = (uint16_t)lp_optint(L, 1, "sport", 0);
  t.dport = (uint16_t)lp_optint(L, 1, "dport", 0);
  t.seq = (uint32_t)lp_optint(L, 1, "seq", 0);
  t.ack = (uint32_t)lp_optint(L, 1, "ack", 0);
  t.win = (uint16_t)lp_optint(L, 1, "win", 1024);
  lua_getfield(L, 1, "flags");
  if (lua_type(L, -1) == LUA_TSTRING) {
    for (const char *c = lua_tostring(L, -1); *c; c++) {
      const char *names = "FSRPAUEC";
      const char *pos = strchr(names, *c);
      if (!pos) luaL_error(L, "flags: unknown flag '%c' (FSRPAUEC)", *c);
      t.flags |= (uint16_t)(1u << (pos - names));
    }
  } else {
    t.flags = (uint16_t)(lua_isnil(L, -1) ? TW_TCP_SYN : luaL_checkinteger(L, -1));
  }
  lua_pop(L, 1);
  uint8_t opt[40];
  lua_Integer mss = lp_optint(L, 1, "mss", 0);
  if (mss) {
    tw_pkt_tcp_opts o = {0};
    o.present = TW_TCPOPT_F_MSS;
    o.mss = (uint16_t)mss;
    int ol = tw_pkt_tcp_opts_build(opt, sizeof opt, &o);
    if (ol > 0) {
      t.opt = opt;
      t.optlen = (uint8_t)ol;
    }
  }
  size_t pl;
  const char *pay = lp_optstr(L, 1, "payload", &pl);
  uint8_t buf[65536];
  int n = tw_pkt_build_tcp(buf, sizeof buf, &ip, &t, pay, pl);
  return lp_push_built(L, n, buf);
}

static int lp_build_arp(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  tw_pkt_arp a = {0};
  a.op = (uint16_t)lp_optint(L, 1, "op", TW_ARP_REQUEST);
  if (lp_parse_mac(lp_optstr(L, 1, "sha", NULL), a.sha) < 0) return luaL_error(L, "field 'sha': a MAC address is required");
  const char *tha = lp_optstr(L, 1, "tha", NULL);
  if (tha && lp_parse_mac(tha, a.tha) < 0) return luaL_error(L, "field 'tha': bad MAC address");
  tw_pkt_addr spa, tpa;
  lp_getaddr(L, 1, "spa", &spa, true);
  lp_getaddr(L, 1, "tpa", &tpa, true);
  if (spa.family != AF_INET || tpa.family != AF_INET) return luaL_error(L, "ARP addresses are IPv4");
  a.spa = spa.v4;
  a.tpa = tpa.v4;
  uint8_t buf[64];
  return lp_push_built(L, tw_pkt_arp_build(buf, sizeof buf, &a), buf);
}

static int lp_build_eth(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  tw_pkt_eth e = {0};
  if (lp_parse_mac(lp_optstr(L, 1, "src", NULL), e.src) < 0) return luaL_error(L, "field 'src': a MAC address is required");
  if (lp_parse_mac(lp_optstr(L, 1, "dst", NULL), e.dst) < 0) return luaL_error(L, "field 'dst': a MAC address is required");
  e.type = (uint16_t)lp_optint(L, 1, "type", TW_ETH_IP4);
  size_t pl;
  const char *pay = lp_optstr(L, 1, "payload", &pl);
  uint8_t buf[65536 + 32];
  int hl = tw_pkt_eth_build(buf, sizeof buf, &e);
  if (hl < 0) return st_pusherr(L, tw_strerror(hl));
  if (pl > sizeof buf - (size_t)hl) return st_pusherr(L, "payload too long");
  if (pl) memcpy(buf + hl, pay, pl);
  return lp_push_built(L, hl + (int)pl, buf);
}

static int lp_checksum(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  lua_pushinteger(L, tw_pkt_csum(b, n));
  return 1;
}

/* ---- waiting for packets ---------------------------------------------------- */

struct lp_wait {
  struct sthread *t;
  tw_req *req;
};

static void lp_push_rx(lua_State *L, const tw_rx *rx);

static void lp_wait_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct lp_wait *w = data;
  struct sthread *t = w->t;
  free(w);
  if (!t) return;
  lua_State *L = t->L;
  if (status < 0 || !rx) {
    lua_pushnil(L);
    lua_pushstring(L, st_errstr(status));
    st_resume(t, 2);
    return;
  }
  lp_push_rx(L, rx);
  st_resume(t, 1);
}

static void lp_wait_cancel(struct sthread *t, void *obj) {
  struct lp_wait *w = obj;
  w->t = NULL;
  if (w->req) tw_cancel(w->req);
}

/* The match, flags and timeout of a wait{...} table at index ti. */
static void lp_match(lua_State *L, int ti, int ifindex, tw_match *mp, unsigned *flagsp,
                     lua_Integer *msp) {
  luaL_checktype(L, ti, LUA_TTABLE);
  tw_match m;
  memset(&m, 0, sizeof m);
  if (ifindex > 0) {
    m.fields |= TW_M_IFINDEX;
    m.ifindex = ifindex;
  }
  lua_getfield(L, ti, "ethertype");
  if (!lua_isnil(L, -1)) {
    m.fields |= TW_M_ETHERTYPE;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *s = lua_tostring(L, -1);
      m.ethertype = !strcmp(s, "arp") ? TW_ETH_ARP : !strcmp(s, "ip6") ? TW_ETH_IP6 : TW_ETH_IP4;
    } else {
      m.ethertype = (uint16_t)luaL_checkinteger(L, -1);
    }
  }
  lua_pop(L, 1);
  lua_getfield(L, ti, "proto");
  if (!lua_isnil(L, -1)) {
    m.fields |= TW_M_PROTO;
    m.proto = (uint8_t)lp_proto(L, lua_gettop(L));
  }
  lua_pop(L, 1);
  if (lp_getaddr(L, ti, "src", &m.src, false)) m.fields |= TW_M_SRC;
  if (lp_getaddr(L, ti, "dst", &m.dst, false)) m.fields |= TW_M_DST;
  static const struct {
    const char *k;
    uint32_t bit;
  } ints[] = {{"sport", TW_M_SPORT}, {"dport", TW_M_DPORT}, {"icmp_type", TW_M_ICMP_TYPE},
              {"icmp_code", TW_M_ICMP_CODE}, {"icmp_id", TW_M_ICMP_ID}, {"icmp_seq", TW_M_ICMP_SEQ},
              {"arp_op", TW_M_ARP_OP}};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
    lua_Integer v = lp_optint(L, ti, ints[i].k, -1);
    if (v < 0) continue;
    m.fields |= ints[i].bit;
    switch (ints[i].bit) {
    case TW_M_SPORT: m.sport = (uint16_t)v; break;
    case TW_M_DPORT: m.dport = (uint16_t)v; break;
    case TW_M_ICMP_TYPE: m.icmp_type = (uint8_t)v; break;
    case TW_M_ICMP_CODE: m.icmp_code = (uint8_t)v; break;
    case TW_M_ICMP_ID: m.icmp_id = (uint16_t)v; break;
    case TW_M_ICMP_SEQ: m.icmp_seq = (uint16_t)v; break;
    default: m.arp_op = (uint16_t)v; break;
    }
  }
  lua_getfield(L, ti, "errors");
  *flagsp = TW_WAIT_ONCE | (lua_toboolean(L, -1) ? TW_WAIT_ERRORS : 0);
  lua_pop(L, 1);
  *msp = lp_optint(L, ti, "timeout", 5000);
  *mp = m;
}

/* Push a received packet's table (parsed, with its capture metadata). */
static void lp_push_rx(lua_State *L, const tw_rx *rx) {
  const tw_frame *f = rx->frame;
  tw_pkt p;
  tw_pkt_parse(f->data, f->caplen, f->linktype, &p);
  lp_push_pkt(L, &p);
  lp_setfi(L, "ts_ns", (lua_Integer)f->ts_ns);
  lp_setfi(L, "ifindex", f->ifindex);
  lp_setfs(L, "link", f->linktype == TW_LINK_ETH ? "eth" : "ip");
  lua_pushboolean(L, rx->quoted);
  lua_setfield(L, -2, "quoted");
}

static int lp_do_wait(lua_State *L, int ti, int ifindex) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  tw_match m;
  unsigned flags;
  lua_Integer ms;
  lp_match(L, ti, ifindex, &m, &flags, &ms);
  struct sthread *t = st_check_block(L, "packet wait");
  struct lp_wait *w = calloc(1, sizeof *w);
  if (!w) return luaL_error(L, "out of memory");
  w->t = t;
  int r = tw_wait(e->loop, &w->req, &m, flags, ms > 0 ? (uint64_t)ms * 1000000ull : 0, lp_wait_cb, w);
  if (r < 0) {
    free(w);
    return st_pusherr(L, st_errstr(r));
  }
  return st_suspend(L, t, lp_wait_cancel, w);
}

static int lp_wait_any(lua_State *L) { return lp_do_wait(L, 1, 0); }

/* ---- waiters registered ahead: trawl.packet.waiter{...} / cap:waiter{...} ----
 * The waiter is in the dispatcher from the moment it is made, so a script
 * can register it, send its probe, then w:wait() for the answer (which may
 * have come meanwhile: it is kept). The C part lives on the heap: the
 * dispatcher's callback may come after the userdata is collected. */

struct lp_waiter {
  struct sres res;     /* owned by the thread that made it: cancelled when it ends */
  struct script_engine *e;
  tw_req *req;         /* in the dispatcher, or NULL once its callback ran */
  struct sthread *t;   /* the thread blocked in w:wait(), or NULL */
  int result_ref;      /* the packet table or the error message, once in */
  bool err, gone;      /* result is an error; the userdata was collected */
};

static void lp_waiter_cb(tw_req *req, int status, const tw_rx *rx, void *data) {
  struct lp_waiter *w = data;
  w->req = NULL;
  if (w->gone) {
    free(w);
    return;
  }
  lua_State *M = w->e->L;
  if (status < 0 || !rx) {
    w->err = true;
    lua_pushstring(M, st_errstr(status < 0 ? status : -ECANCELED));
  } else {
    lp_push_rx(M, rx);
  }
  w->result_ref = luaL_ref(M, LUA_REGISTRYINDEX);
  struct sthread *t = w->t;
  w->t = NULL;
  if (!t) return;
  if (w->err) lua_pushnil(t->L);
  lua_rawgeti(t->L, LUA_REGISTRYINDEX, w->result_ref);
  st_resume(t, w->err ? 2 : 1);
}

static void lp_waiter_res_close(struct sres *r) {
  struct lp_waiter *w = (struct lp_waiter *)r;
  sres_unlink(r);
  if (w->req) tw_cancel(w->req);
}

static int lp_waiter_new(lua_State *L, int ti, int ifindex) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  tw_match m;
  unsigned flags;
  lua_Integer ms;
  lp_match(L, ti, ifindex, &m, &flags, &ms);
  struct lp_waiter **u = lua_newuserdatauv(L, sizeof *u, 0);
  *u = NULL;
  struct lp_waiter *w = calloc(1, sizeof *w);
  if (!w) return luaL_error(L, "out of memory");
  w->e = e;
  w->result_ref = LUA_NOREF;
  w->res.close = lp_waiter_res_close;
  int r = tw_wait(e->loop, &w->req, &m, flags, ms > 0 ? (uint64_t)ms * 1000000ull : 0,
                  lp_waiter_cb, w);
  if (r < 0) {
    free(w);
    return st_pusherr(L, st_errstr(r));
  }
  *u = w;
  luaL_setmetatable(L, LP_WAITER);
  struct sthread *t = st_current(L);
  if (t) sres_own(t, &w->res);
  return 1;
}

static int lp_waiter_any(lua_State *L) { return lp_waiter_new(L, 1, 0); }

static void lp_waiter_stop_wait(struct sthread *t, void *obj) { ((struct lp_waiter *)obj)->t = NULL; }

/* w:wait(): the packet table, or nil and "TIMEOUT" / "CANCELLED". */
static int lp_waiter_wait(lua_State *L) {
  struct lp_waiter *w = *(struct lp_waiter **)luaL_checkudata(L, 1, LP_WAITER);
  if (!w) return st_pusherr(L, "CANCELLED");
  if (w->result_ref != LUA_NOREF) {
    if (w->err) lua_pushnil(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, w->result_ref);
    return w->err ? 2 : 1;
  }
  if (!w->req) return st_pusherr(L, "CANCELLED");
  if (w->t) return st_pusherr(L, "another thread is waiting on this waiter");
  struct sthread *t = st_check_block(L, "waiter:wait");
  w->t = t;
  return st_suspend(L, t, lp_waiter_stop_wait, w);
}

static int lp_waiter_cancel(lua_State *L) {
  struct lp_waiter *w = *(struct lp_waiter **)luaL_checkudata(L, 1, LP_WAITER);
  if (w && w->req) tw_cancel(w->req);
  return 0;
}

static int lp_waiter_gc(lua_State *L) {
  struct lp_waiter **u = luaL_checkudata(L, 1, LP_WAITER);
  struct lp_waiter *w = *u;
  *u = NULL;
  if (!w) return 0;
  sres_unlink(&w->res);
  if (w->result_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, w->result_ref);
  w->t = NULL;
  if (w->req) {
    w->gone = true; /* the callback frees it */
    tw_cancel(w->req);
  } else {
    free(w);
  }
  return 0;
}

/* ---- captures ------------------------------------------------------------------ */

struct lp_cap {
  struct sres res;
  tw_capture *cap;
  int ifindex;
};

static void lp_cap_release(struct lp_cap *c) {
  if (c->cap) tw_capture_release(c->cap);
  c->cap = NULL;
  sres_unlink(&c->res);
}

static void lp_cap_res_close(struct sres *r) { lp_cap_release((struct lp_cap *)r); }

static int lp_pcap_open(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  const char *ifname = luaL_checkstring(L, 1);
  bool promisc = lua_toboolean(L, 2);
  struct lp_cap *c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->res.close = lp_cap_res_close;
  int r = tw_capture_open(e->loop, &c->cap, ifname, promisc ? TW_CAPTURE_PROMISC : 0);
  if (r < 0) {
    c->cap = NULL;
    return st_pusherr(L, st_errstr(r));
  }
  c->ifindex = tw_capture_ifindex(c->cap);
  luaL_setmetatable(L, LP_CAPTURE);
  struct sthread *t = st_current(L);
  if (t) sres_own(t, &c->res);
  return 1;
}

static int lp_cap_wait(lua_State *L) {
  struct lp_cap *c = luaL_checkudata(L, 1, LP_CAPTURE);
  if (!c->cap) return st_pusherr(L, "capture is closed");
  return lp_do_wait(L, 2, c->ifindex);
}

static int lp_cap_waiter(lua_State *L) {
  struct lp_cap *c = luaL_checkudata(L, 1, LP_CAPTURE);
  if (!c->cap) return st_pusherr(L, "capture is closed");
  return lp_waiter_new(L, 2, c->ifindex);
}

static int lp_cap_close(lua_State *L) {
  struct lp_cap *c = luaL_checkudata(L, 1, LP_CAPTURE);
  lp_cap_release(c);
  return 0;
}

static int lp_cap_index(lua_State *L) {
  struct lp_cap *c = luaL_checkudata(L, 1, LP_CAPTURE);
  lua_pushinteger(L, c->ifindex);
  return 1;
}

/* trawl.get_interface_info(ifname): {device, ifindex, mac, mtu, up, link}
 * (link "ethernet", "loopback" or "other"), or nil, err. */
static int lp_iface_info(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  tw_iface ifc;
  int r = tw_iface_get(name, 0, &ifc);
  if (r < 0) return st_pusherr(L, st_errstr(r));
  lua_createtable(L, 0, 6);
  lp_setfs(L, "device", ifc.name);
  lp_setfi(L, "ifindex", ifc.ifindex);
  if (ifc.has_mac) lp_setmac(L, "mac", ifc.mac);
  lp_setfi(L, "mtu", ifc.mtu);
  lua_pushboolean(L, (ifc.flags & IFF_UP) != 0);
  lua_setfield(L, -2, "up");
  lp_setfs(L, "link", ifc.arptype == ARPHRD_ETHER ? "ethernet" : ifc.arptype == ARPHRD_LOOPBACK ? "loopback" : "other");
  return 1;
}

/* ---- sending --------------------------------------------------------------------- */

struct lp_send {
  struct sthread *t;
};

static void lp_sent(tw_rawsock *rs, int status, uint64_t sent_ns, void *tag) {
  struct lp_send *s = tag;
  struct sthread *t = s->t;
  free(s);
  if (!t) return;
  if (status < 0) {
    lua_pushnil(t->L);
    lua_pushstring(t->L, st_errstr(status));
    st_resume(t, 2);
    return;
  }
  lua_pushinteger(t->L, (lua_Integer)sent_ns);
  st_resume(t, 1);
}

static void lp_send_cancel(struct sthread *t, void *obj) { ((struct lp_send *)obj)->t = NULL; }

static tw_rawsock *lp_rawsock(struct script_engine *e, int kind, const char *ifname, int *err) {
  *err = 0;
  if (kind == TW_RAW_ETH) {
    for (int i = 0; i < e->neth; i++)
      if (!strcmp(e->eth[i].name, ifname) && e->eth[i].rs) return e->eth[i].rs;
    if (e->neth == (int)(sizeof e->eth / sizeof *e->eth)) {
      *err = -ENOSPC;
      return NULL;
    }
    tw_rawsock *rs;
    *err = tw_rawsock_new(e->loop, &rs, TW_RAW_ETH, ifname, 0, e);
    if (*err < 0) return NULL;
    snprintf(e->eth[e->neth].name, sizeof e->eth[e->neth].name, "%s", ifname);
    e->eth[e->neth].rs = rs;
    e->eth[e->neth].cap = NULL;
    e->neth++;
    return rs;
  }
  tw_rawsock **slot = kind == TW_RAW_IP4 ? &e->raw4 : &e->raw6;
  if (!*slot && (*err = tw_rawsock_new(e->loop, slot, kind, NULL, 0, e)) < 0) {
    *slot = NULL;
    return NULL;
  }
  return *slot;
}

static int lp_raw_send(lua_State *L) {
  struct script_engine *e = lua_touserdata(L, lua_upvalueindex(1));
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  const char *ifname = luaL_optstring(L, 2, NULL);
  if (n < 1) return st_pusherr(L, "empty packet");
  int kind;
  if (ifname) kind = TW_RAW_ETH;
  else if ((b[0] >> 4) == 4) kind = TW_RAW_IP4;
  else if ((b[0] >> 4) == 6) kind = TW_RAW_IP6;
  else return st_pusherr(L, "not an IPv4 or IPv6 packet (give an interface for Ethernet frames)");
  struct sthread *t = st_check_block(L, "trawl.raw_send");
  int err;
  tw_rawsock *rs = lp_rawsock(e, kind, ifname, &err);
  if (!rs) return st_pusherr(L, st_errstr(err));
  struct lp_send *s = calloc(1, sizeof *s);
  if (!s) return luaL_error(L, "out of memory");
  s->t = t;
  int r = tw_rawsend(rs, b, n, lp_sent, s);
  if (r < 0) {
    free(s);
    return st_pusherr(L, st_errstr(r));
  }
  return st_suspend(L, t, lp_send_cancel, s);
}

int script_engine_open_raw(struct script_engine *e, const char *const *ifnames, size_t n) {
  int opened = 0, err;
  if (lp_rawsock(e, TW_RAW_IP4, NULL, &err)) opened++;
  if (lp_rawsock(e, TW_RAW_IP6, NULL, &err)) opened++;
  for (size_t i = 0; i < n; i++) {
    if (lp_rawsock(e, TW_RAW_ETH, ifnames[i], &err)) opened++;
    for (int k = 0; k < e->neth; k++) {
      if (strcmp(e->eth[k].name, ifnames[i]) || e->eth[k].cap) continue;
      if (tw_capture_open(e->loop, &e->eth[k].cap, ifnames[i], 0) == 0) opened++;
      else e->eth[k].cap = NULL;
    }
  }
  /* raw sockets in hand: trawl.is_privileged() stays true after root is
   * dropped (as Nmap's answer, decided once at start) */
  if (opened > 0) e->privileged = true;
  return opened;
}

void lua_packet_close(struct script_engine *e) {
  if (e->raw4) tw_close(e->raw4, NULL);
  if (e->raw6) tw_close(e->raw6, NULL);
  e->raw4 = e->raw6 = NULL;
  for (int i = 0; i < e->neth; i++) {
    if (e->eth[i].rs) tw_close(e->eth[i].rs, NULL);
    if (e->eth[i].cap) tw_capture_release(e->eth[i].cap);
  }
  e->neth = 0;
}

void lua_packet_open(struct script_engine *e, lua_State *L) {
  luaL_newmetatable(L, LP_WAITER);
  lua_newtable(L);
  lua_pushcfunction(L, lp_waiter_wait);
  lua_setfield(L, -2, "wait");
  lua_pushcfunction(L, lp_waiter_cancel);
  lua_setfield(L, -2, "cancel");
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, lp_waiter_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, LP_CAPTURE);
  lua_newtable(L);
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, lp_cap_wait, 1);
  lua_setfield(L, -2, "wait");
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, lp_cap_waiter, 1);
  lua_setfield(L, -2, "waiter");
  lua_pushcfunction(L, lp_cap_close);
  lua_setfield(L, -2, "close");
  lua_pushcfunction(L, lp_cap_index);
  lua_setfield(L, -2, "ifindex");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_getglobal(L, "trawl");
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, lp_pcap_open, 1);
  lua_setfield(L, -2, "pcap_open");
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, lp_raw_send, 1);
  lua_setfield(L, -2, "raw_send");
  lua_pushcfunction(L, lp_iface_info);
  lua_setfield(L, -2, "get_interface_info");
  static const luaL_Reg pk[] = {{"parse", lp_parse},           {"build_icmp", lp_build_icmp},
                                {"build_icmp6", lp_build_icmp}, {"build_udp", lp_build_udp},
                                {"build_tcp", lp_build_tcp},   {"build_arp", lp_build_arp},
                                {"build_eth", lp_build_eth},   {"checksum", lp_checksum},
                                {NULL, NULL}};
  lua_newtable(L);
  luaL_setfuncs(L, pk, 0);
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, lp_wait_any, 1);
  lua_setfield(L, -2, "wait");
  lua_pushlightuserdata(L, e);
  lua_pushcclosure(L, lp_waiter_any, 1);
  lua_setfield(L, -2, "waiter");
  lua_setfield(L, -2, "packet");
  lua_pop(L, 1);
}
