/* dns.h: name resolution inside the loop.
 *
 * tw_resolver is c-ares driven by the loop's own io watchers and timers:
 * forward (A, AAAA) and reverse (PTR) lookups, honouring /etc/resolv.conf
 * unless servers are given. tw_getaddrinfo() runs the system's
 * getaddrinfo(3) (hosts file, NSS) on the worker pool. Neither blocks. */
#ifndef TRAWL_DNS_H
#define TRAWL_DNS_H

#include <netdb.h>
#include <sys/socket.h>
#include <trawl/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tw_resolver tw_resolver;

typedef struct tw_resolver_opts {
  const char *servers;  /* "198.18.0.53,[2001:db8::53]:5353" or NULL (resolv.conf) */
  uint64_t timeout_ns;  /* per try; 0 = c-ares default */
  int tries;            /* 0 = c-ares default */
  int no_search;        /* 1: ignore the search domains */
} tw_resolver_opts;

TW_API int tw_resolver_new(tw_loop *loop, tw_resolver **out,
                           const tw_resolver_opts *opts, void *data);

/* status 0 with n >= 1 addresses (port 0), TW_ENOTFOUND, TW_ENODATA,
 * -ETIMEDOUT, TW_EDNS or -ECANCELED. addrs valid only during the callback.
 * family: AF_INET, AF_INET6 or AF_UNSPEC (both). `req` may be NULL here
 * and in tw_reverse() when the caller never cancels. */
typedef void (*tw_resolve_cb)(tw_req *req, int status,
                              const struct sockaddr_storage *addrs, size_t n,
                              void *data);
TW_API int tw_resolve(tw_resolver *r, tw_req **req, const char *name, int family,
                      tw_resolve_cb cb, void *data);

/* PTR lookup; name valid only during the callback. */
typedef void (*tw_reverse_cb)(tw_req *req, int status, const char *name, void *data);
TW_API int tw_reverse(tw_resolver *r, tw_req **req, const struct sockaddr *addr,
                      tw_reverse_cb cb, void *data);

/* getaddrinfo(3) on the pool; res is the caller's to freeaddrinfo(). status
 * is 0, TW_ENOTFOUND, TW_ENODATA, other EAI_* mapped to TW_EDNS (EAI_AGAIN
 * too), -ENOMEM, -EINVAL, or -ECANCELED (res NULL). See docs/dns.md. */
typedef void (*tw_getaddrinfo_cb)(tw_req *req, int status, struct addrinfo *res,
                                  void *data);
TW_API int tw_getaddrinfo(tw_loop *loop, tw_req **req, const char *node,
                          const char *service, const struct addrinfo *hints,
                          tw_getaddrinfo_cb cb, void *data);

#ifdef __cplusplus
}
#endif
#endif
