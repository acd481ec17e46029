/* sockaddr.c: socket-address helpers shared by tcp.c and udp.c (see
 * sockaddr-int.h). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "sockaddr-int.h"

int tw__sockaddr_len(const struct sockaddr *sa, socklen_t *len) {
  if (!sa) return -EINVAL;
  switch (sa->sa_family) {
  case AF_INET:
    *len = sizeof(struct sockaddr_in);
    return 0;
  case AF_INET6:
    *len = sizeof(struct sockaddr_in6);
    return 0;
  default:
    return -EINVAL;
  }
}

int tw__sockaddr_of(int fd, int peer, struct sockaddr_storage *out) {
  if (!out) return -EINVAL;
  memset(out, 0, sizeof *out);
  socklen_t len = sizeof *out;
  int rc = peer ? getpeername(fd, (struct sockaddr *)out, &len)
                : getsockname(fd, (struct sockaddr *)out, &len);
  return rc < 0 ? -errno : 0;
}

int tw__sock_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
  return -err;
}
