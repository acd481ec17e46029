/* udp.h: UDP sockets on the loop, IPv4 and IPv6, with addresses.
 *
 * A tw_udp is one socket of one family. Addresses passed in must be of
 * that family (-EINVAL otherwise). Send callbacks run exactly once, on the
 * loop, never inside tw_udp_send(). tw_close() runs the callbacks of sends
 * not yet handed to the kernel with -ECANCELED (those already sent keep
 * their status) before the close callback; tw_loop_close() also gives a
 * receiving handle's callback -ECANCELED. */
#ifndef TRAWL_UDP_H
#define TRAWL_UDP_H

#include <sys/socket.h>
#include <trawl/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_udp tw_udp;

/* One datagram: buf/len/from valid only during the callback. status < 0
 * reports a socket error (e.g. -ECONNREFUSED from an ICMP port
 * unreachable on a connected socket). */
typedef void (*tw_udp_recv_cb)(tw_udp *u, int status, const char *buf, size_t len,
                               const struct sockaddr *from);
typedef void (*tw_udp_send_cb)(tw_udp *u, int status);

/* family: AF_INET or AF_INET6, else -EINVAL (the socket is created at
 * once; its error, e.g. -EMFILE, is returned). */
TW_API int tw_udp_new(tw_loop *loop, tw_udp **out, int family, void *data);
/* bind() and connect() are immediate: 0 or the negative errno. */
TW_API int tw_udp_bind(tw_udp *u, const struct sockaddr *addr);
/* Fix the peer: then `to` may be NULL in tw_udp_send and ICMP errors arrive. */
TW_API int tw_udp_connect(tw_udp *u, const struct sockaddr *addr);
/* Send one datagram (copied if it cannot leave at once). cb may be NULL;
 * it gets 0 or the send error (-ECONNREFUSED, -EMSGSIZE, ...). `to` NULL on
 * an unconnected socket: -EDESTADDRREQ. */
TW_API int tw_udp_send(tw_udp *u, const void *buf, size_t len,
                       const struct sockaddr *to, tw_udp_send_cb cb);
/* Deliver datagrams (bind or send first, so the socket has a port) until
 * tw_udp_recv_stop(), which may be called from cb. */
TW_API int tw_udp_recv_start(tw_udp *u, tw_udp_recv_cb cb);
TW_API int tw_udp_recv_stop(tw_udp *u);
TW_API int tw_udp_sockname(const tw_udp *u, struct sockaddr_storage *out);
TW_API int tw_udp_fd(const tw_udp *u);

#ifdef __cplusplus
}
#endif
#endif
