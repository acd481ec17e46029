/* sockaddr-int.h: the few socket-address helpers TCP and UDP share. libtrawl
 * speaks struct sockaddr (AF_INET or AF_INET6) everywhere; these check an
 * address handed in by a caller before it reaches the kernel. */
#ifndef TW_SOCKADDR_INT_H
#define TW_SOCKADDR_INT_H

#include <sys/socket.h>

/* Set *len to the size of `sa` (sockaddr_in or sockaddr_in6). Returns 0, or
 * -EINVAL for NULL or any other family. */
int tw__sockaddr_len(const struct sockaddr *sa, socklen_t *len);

/* getsockname() (peer == 0) or getpeername() (peer != 0) of fd into *out.
 * Returns 0, -EINVAL for a NULL out, or -errno. */
int tw__sockaddr_of(int fd, int peer, struct sockaddr_storage *out);

/* The pending error of a socket (SO_ERROR) as a status: 0 or -errno. */
int tw__sock_error(int fd);

#endif
