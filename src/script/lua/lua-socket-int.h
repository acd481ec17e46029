/* lua-socket-int.h: what lua-socket.c (script sockets) shares with
 * lua-socket-udp.c (NSE's unconnected UDP: bind, sendto, and the socket
 * options that let broadcast and multicast leave by -e's interface): the
 * socket object and the helpers both use. Not for other files. */
#ifndef TRAWL_LUA_SOCKET_INT_H
#define TRAWL_LUA_SOCKET_INT_H

#include <sys/socket.h>
#include <trawl/tcp.h>
#include <trawl/udp.h>

#include "script/lua/lua-int.h"

#define LSOCK_MT "trawl.socket"

enum { LS_NEW, LS_RESOLVING, LS_CONNECTING, LS_OPEN, LS_CLOSED };
enum { OP_NONE, OP_CONNECT, OP_SEND, OP_RECV, OP_HANDSHAKE };
enum { RM_ANY, RM_BYTES, RM_LINES, RM_BUF };

struct lsock_dgram {
  struct lsock_dgram *next;
  size_t len;
  char data[];
};

struct lsock {
  struct sres res;
  struct script_engine *e;
  int refs;             /* the userdata, the live handle */
  int kind;             /* 0 unset, 1 tcp, 2 udp */
  bool ssl;             /* connect(..., "ssl") or reconnect_ssl() */
  int state;
  uint64_t timeout_ns;  /* 0: none */
  struct sthread *waiter;
  int op;
  int self_ref;         /* the userdata, while an operation runs */
  uint64_t deadline;    /* tw_hrtime() */
  tw_tcp *tcp;
  tw_udp *udp;
  tw_timer *tm;         /* UDP receive timeout */
  tw_req *dns;
  /* receiving */
  int rmode;
  size_t rn;
  int pat_ref;
  bool keep;
  char *rb;
  size_t rlen, rcap;    /* rlen <= LSOCK_RBUF_MAX */
  size_t scanned;       /* the pending receive has looked at rb[0, scanned) */
  size_t lines;         /* ... and found this many newlines there */
  long pat_max;         /* longest match of its pattern; -1 unbounded/function */
  int rerr;             /* sticky: TW_EOF, -ECONNRESET, ... */
  bool reading;         /* a tw_tcp read is pending */
  struct lsock_dgram *dq, *dq_tail;
  size_t ndq;
  int uerr;             /* a UDP error not yet reported */
  bool unconn;          /* UDP by bind/sendto: no fixed peer; peer is the last sender */
  /* connect */
  struct sockaddr_storage peer;
  uint16_t port;
  char *sni;
  /* tls */
  struct tls_conn *tls;
  struct sdefer hs_defer; /* a handshake step waiting for the hook */
  char tag[96];         /* "TCP 127.0.0.1:80" for --script-trace */
};

/* The socket at argument 1 (NULL once collected). */
struct lsock *lsock_check(lua_State *L);
/* --script-trace line for ls ("SEND", "RECV", ...). */
void lsock_trace(struct lsock *ls, const char *what, const void *data, size_t len);
/* st_suspend's cancel for an operation of ls. */
void lsock_cancel(struct sthread *t, void *obj);
/* ls->tag from its kind and peer. */
void lsock_settag(struct lsock *ls);
/* tw_udp's receive callback: queue the datagram, wake a receive. */
void lsock_udp_recv(tw_udp *u, int status, const char *buf, size_t len, const struct sockaddr *from);
/* "operation in progress" for a socket already busy: its results (nil,
 * err) pushed, else 0. */
int lsock_busy(lua_State *L, struct lsock *ls);
/* ls is held by thread t for an operation (its userdata referenced). */
void lsock_hold(lua_State *L, struct lsock *ls, struct sthread *t);
/* tw_udp's send callback: ends a pending send. */
void lsock_on_usend(tw_udp *u, int status);

/* ---- lua-socket-udp.c --------------------------------------------------------- */
/* SO_BROADCAST, and with -e IP(V6)_MULTICAST_IF and IP(V6)_UNICAST_IF. */
void lsock_udp_opts(struct lsock *ls);
/* s:bind(addr, port) and s:sendto(ip, port, data) */
/* a handle's close callback: its reference on the socket goes */
void lsock_handle_closed(void *h);
int lsock_bind(lua_State *L);
int lsock_sendto(lua_State *L);

#endif
