/* route.h: where a packet to a destination leaves, and to which MAC.
 *
 *   tw_route_get()     asks the kernel's routing table (rtnetlink
 *                      RTM_GETROUTE) for the outgoing interface, source
 *                      address and next hop of a destination.
 *   tw_neigh_resolve() finds the MAC address of a next hop: first in the
 *                      kernel's neighbour table (RTM_GETNEIGH), then by
 *                      asking the link itself, ARP for IPv4 and neighbour
 *                      solicitation for IPv6, sent through rawsend.h and
 *                      answered through the dispatcher, with retries.
 *   tw_path_resolve()  both: everything needed to build Ethernet frames
 *                      to a destination.
 *   tw_iface_get()     an interface's index, name, MAC, MTU and flags.
 *
 * The netlink requests are asynchronous on the loop (one rtnetlink socket
 * per loop); the kernel answers them from memory at once, so they cost
 * about a system call each. tw_route_get_sync() is the blocking form for
 * code without a loop. */
#ifndef TRAWL_ROUTE_H
#define TRAWL_ROUTE_H

#include <net/if.h>
#include <stdint.h>
#include <trawl/loop.h>
#include <trawl/packet.h>
#include <trawl/rawsend.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_route {
  tw_pkt_addr dst;     /* the destination asked about */
  tw_pkt_addr src;     /* source address the kernel would use */
  tw_pkt_addr gateway; /* family 0 when the destination is on the link */
  tw_pkt_addr nexthop; /* gateway, or dst itself */
  int ifindex;
  char ifname[IF_NAMESIZE];
  uint32_t mtu;        /* path MTU of the route, else the interface's */
  uint8_t type;        /* RTN_UNICAST, RTN_LOCAL, ... (linux/rtnetlink.h) */
} tw_route;

/* status 0 with r, or -ENETUNREACH, -EHOSTUNREACH (unreachable / blackhole
 * / prohibit routes), -ECANCELED; r is valid only during the callback. */
typedef void (*tw_route_cb)(tw_req *req, int status, const tw_route *r, void *data);
TW_API int tw_route_get(tw_loop *loop, tw_req **req, const tw_pkt_addr *dst,
                        tw_route_cb cb, void *data);
/* The same, blocking (a netlink round trip). */
TW_API int tw_route_get_sync(const tw_pkt_addr *dst, tw_route *out);

typedef struct tw_iface {
  int ifindex;
  char name[IF_NAMESIZE];
  uint8_t mac[6];
  uint8_t has_mac;   /* 1 for Ethernet-like links */
  uint32_t mtu;
  unsigned flags;    /* IFF_UP, IFF_LOOPBACK, ... */
  int arptype;       /* ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE, ... */
} tw_iface;
/* By name (ifname non-NULL) or by index. 0, -ENODEV. */
TW_API int tw_iface_get(const char *ifname, int ifindex, tw_iface *out);

typedef struct tw_neigh_opts {
  uint64_t timeout_ns; /* per try; 0 = 300 ms */
  int tries;           /* requests sent; 0 = 3 */
  int skip_kernel;     /* 1: ask the link even if the kernel knows it */
  tw_pkt_addr src;     /* our address on the link (family 0: the route's) */
  tw_rawsock *eth;     /* a TW_RAW_ETH socket on that link to ask with, kept
                          open by the caller (a process that has dropped
                          CAP_NET_RAW cannot open one); NULL: one of its own */
  const uint8_t *src_mac; /* the sender MAC of the requests (a spoofed one);
                             NULL: the interface's */
} tw_neigh_opts;

/* status 0 with the MAC (valid during the callback), -EHOSTUNREACH after the
 * last try, -ENODEV, -ENOTSUP (a link without MAC addresses), -ECANCELED. */
typedef void (*tw_neigh_cb)(tw_req *req, int status, const uint8_t mac[6], void *data);
TW_API int tw_neigh_resolve(tw_loop *loop, tw_req **req, int ifindex, const tw_pkt_addr *addr,
                            const tw_neigh_opts *opts, tw_neigh_cb cb, void *data);

typedef struct tw_path {
  tw_route route;
  uint8_t src_mac[6]; /* our interface's MAC */
  uint8_t dst_mac[6]; /* the next hop's MAC */
  uint8_t l2;         /* 0: the link has no MAC header (tun, ...) */
  uint8_t from_kernel;/* the MAC came from the kernel's neighbour table */
} tw_path;
typedef void (*tw_path_cb)(tw_req *req, int status, const tw_path *p, void *data);
/* Route, then neighbour; opts may be NULL. Errors of either step. */
TW_API int tw_path_resolve(tw_loop *loop, tw_req **req, const tw_pkt_addr *dst,
                           const tw_neigh_opts *opts, tw_path_cb cb, void *data);

#ifdef __cplusplus
}
#endif
#endif
