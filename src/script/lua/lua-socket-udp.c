/* lua-socket-udp.c: NSE's unconnected UDP on trawl's script sockets
 * (lua-socket.c): socket:bind(addr, port) and socket:sendto(ip, port,
 * data), after which the socket hears every sender and get_info names the
 * last one (as nsock's); and the options every UDP socket gets so that
 * Nmap's broadcast scripts can send (SO_BROADCAST) and, with -e, send
 * multicast and broadcast by that interface without a route or a
 * privilege. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "script/lua/lua-socket-int.h"

/* A UDP socket may send to broadcast addresses (NSE's broadcast scripts),
 * and with -e its multicast and broadcast leave by that interface (as
 * Nmap's do): no route is needed toward 224.0.0.0/4 or 255.255.255.255,
 * and no privilege (IP_MULTICAST_IF / IP_UNICAST_IF, not SO_BINDTODEVICE). */
void lsock_udp_opts(struct lsock *ls) {
  int fd = tw_udp_fd(ls->udp), one = 1;
  if (fd < 0) return;
  (void)setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  const char *dev = ls->e->cfg.device;
  int ifx = dev && *dev ? (int)if_nametoindex(dev) : 0;
  if (ifx <= 0) return;
  if (ls->peer.ss_family == AF_INET) {
    struct ip_mreqn mr;
    memset(&mr, 0, sizeof mr);
    mr.imr_ifindex = ifx;
    (void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr);
    uint32_t be = htonl((uint32_t)ifx);
    (void)setsockopt(fd, IPPROTO_IP, IP_UNICAST_IF, &be, sizeof be);
  } else {
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifx, sizeof ifx);
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_IF, &ifx, sizeof ifx);
  }
}

/* ---- unconnected UDP: bind and sendto (NSE's) ------------------------------------ */

/* An IP literal and a port into a sockaddr: 0, or -1 (not an address). */
static int lsock_parse_sa(const char *ip, lua_Integer port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (port < 0 || port > 65535) return -1;
  if (!ip || inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    return 0;
  }
  return -1;
}

/* Make ls an unconnected UDP socket bound to `at` (its family's any
 * address and port 0 for a sendto first), receiving from anyone. */
static int lsock_udp_unconnected(struct lsock *ls, const struct sockaddr_storage *at) {
  int r = tw_udp_new(ls->e->loop, &ls->udp, at->ss_family, ls);
  if (r < 0) return r;
  ls->refs++;
  ls->kind = 2;
  ls->unconn = true;
  memset(&ls->peer, 0, sizeof ls->peer);
  ls->peer.ss_family = at->ss_family;
  lsock_settag(ls);
  lsock_udp_opts(ls);
  r = tw_udp_bind(ls->udp, (const struct sockaddr *)at);
  if (r == 0) r = tw_udp_recv_start(ls->udp, lsock_udp_recv);
  if (r < 0) {
    /* a failed bind (a port under 1024 once root is dropped: dhcp.lua's
     * 68) leaves the socket new; the handle goes, with its reference, so
     * that a later sendto or bind makes its own */
    tw_close(ls->udp, lsock_handle_closed);
    ls->udp = NULL;
    ls->unconn = false;
    return r;
  }
  ls->state = LS_OPEN;
  return 0;
}

/* s:bind(addr, port): addr an IP literal or nil (any). true, or nil, err */
int lsock_bind(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  const char *ip = luaL_optstring(L, 2, NULL);
  lua_Integer port = luaL_optinteger(L, 3, 0);
  if (!ls || ls->kind != 2) return st_pusherr(L, "bind: only UDP sockets can be bound here");
  if (ls->state != LS_NEW) return st_pusherr(L, "bind: the socket is already in use");
  struct sockaddr_storage at;
  if (lsock_parse_sa(ip, port, &at) < 0) return st_pusherr(L, "bind: not an IP address or port");
  int r = lsock_udp_unconnected(ls, &at);
  if (r < 0) return st_pusherr(L, st_errstr(r));
  lua_pushboolean(L, 1);
  return 1;
}

/* s:sendto(ip, port, data): one datagram to that address (an IP literal:
 * nse-nmap.lua resolves names); the socket stays unconnected and hears
 * every answer. true, or nil, err */
int lsock_sendto(lua_State *L) {
  struct lsock *ls = lsock_check(L);
  const char *ip = luaL_checkstring(L, 2);
  lua_Integer port = luaL_checkinteger(L, 3);
  size_t len;
  const char *data = luaL_checklstring(L, 4, &len);
  if (!ls || ls->kind != 2) return st_pusherr(L, "sendto: not a UDP socket");
  int b = lsock_busy(L, ls);
  if (b) return b;
  struct sockaddr_storage to;
  if (lsock_parse_sa(ip, port, &to) < 0) return st_pusherr(L, "sendto: not an IP address or port");
  if (ls->state == LS_NEW) {
    struct sockaddr_storage any;
    memset(&any, 0, sizeof any);
    any.ss_family = to.ss_family;
    int r = lsock_udp_unconnected(ls, &any);
    if (r < 0) return st_pusherr(L, st_errstr(r));
  }
  if (ls->state != LS_OPEN) return st_pusherr(L, "socket is closed");
  struct sthread *t = st_check_block(L, "socket sendto");
  lsock_trace(ls, "SEND", data, len);
  int r = tw_udp_send(ls->udp, data, len, (const struct sockaddr *)&to, lsock_on_usend);
  if (r < 0) return st_pusherr(L, st_errstr(r));
  lsock_hold(L, ls, t);
  ls->op = OP_SEND;
  return st_suspend(L, t, lsock_cancel, ls);
}

