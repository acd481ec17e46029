/* iflist.h: --iflist, the interfaces and routes trawl sees, in Nmap's two
 * tables (INTERFACES, ROUTES). Linux: /proc/net and the interface ioctls. */
#ifndef TRAWL_CLI_IFLIST_H
#define TRAWL_CLI_IFLIST_H

#include <stddef.h>
#include <stdio.h>

/* Where the kernel's tables are read from (tests point these at files;
 * flags, MTU, MAC and IPv4 addresses always come from the kernel). */
struct iflist_src {
  const char *dev;        /* /proc/net/dev: interface names, in order */
  const char *if_inet6;   /* /proc/net/if_inet6: IPv6 addresses */
  const char *route;      /* /proc/net/route */
  const char *ipv6_route; /* /proc/net/ipv6_route */
};

/* The running system's tables. */
extern const struct iflist_src iflist_proc;

/* Print both tables to out. 0, or -1 with err naming the file that could
 * not be read. Malformed lines are skipped and counted in *skipped. */
int iflist_print(FILE *out, const struct iflist_src *src, size_t *skipped, char *err,
                 size_t errlen);

#endif
