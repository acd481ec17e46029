/* backend-int.h: the small interface an OS readiness backend implements.
 * Linux uses epoll (backend-epoll.c); kqueue or io_uring polling can be
 * added beside it without touching the loop. */
#ifndef TW_BACKEND_INT_H
#define TW_BACKEND_INT_H

#include "loop-int.h"

int tw__backend_init(tw_loop *loop);
void tw__backend_done(tw_loop *loop);
/* Make the registration of w match w->want. Returns 0 or -errno. */
int tw__backend_update(tw_loop *loop, tw_watch *w);
/* Forget w now; also drops any event for w not yet dispatched. */
void tw__backend_remove(tw_loop *loop, tw_watch *w);
/* Wait at most timeout_ns (UINT64_MAX: forever, 0: don't block) and call
 * the callback of every watch with events. */
int tw__backend_poll(tw_loop *loop, uint64_t timeout_ns);

#endif
