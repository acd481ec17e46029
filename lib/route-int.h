/* route-int.h: the loop's rtnetlink socket, shared by route.c (routes,
 * interfaces) and neigh.c (the neighbour table). */
#ifndef TW_ROUTE_INT_H
#define TW_ROUTE_INT_H

#include <linux/netlink.h>
#include <stdint.h>
#include <trawl/route.h>

#include "loop-int.h"

/* Called for every answer message of a transaction (not NLMSG_DONE or
 * NLMSG_ERROR), then done() once with 0 or a negative error. Both run
 * from the loop's I/O pass. */
typedef void (*tw_nl_msg_fn)(void *ctx, const struct nlmsghdr *h);
typedef void (*tw_nl_done_fn)(void *ctx, int status);

/* Send msg (its nlmsg_seq is filled in) on the loop's rtnetlink socket.
 * Returns 0 with *seq set, or a negative error (nothing will be called). */
int tw__nl_request(tw_loop *loop, struct nlmsghdr *msg, tw_nl_msg_fn on_msg,
                   tw_nl_done_fn done, void *ctx, uint32_t *seq);
/* Forget a transaction: none of its callbacks will run. */
void tw__nl_forget(tw_loop *loop, uint32_t seq);

/* Append an attribute to a message being built in a buffer of cap bytes. */
int tw__nl_attr(struct nlmsghdr *h, size_t cap, int type, const void *data, size_t len);

#endif
