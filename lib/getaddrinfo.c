/* getaddrinfo.c: tw_getaddrinfo, the system resolver (hosts file, NSS,
 * glibc's DNS) run on the worker pool through tw_work(), because
 * getaddrinfo(3) blocks and cannot be driven by the loop.
 *
 * The caller's tw_req is our own, wrapping the pool's: the caller's data
 * stays reachable through tw_req_data(), and a cancel that comes too late
 * to stop the worker still reports -ECANCELED (and frees the result). */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <trawl/dns.h>
#include <trawl/fs.h>

#include "loop-int.h"

typedef struct gai_job {
  tw_req req; /* first: the caller's request */
  tw_req *work;       /* the pool's request; NULL once its callback ran */
  tw_getaddrinfo_cb cb;
  char *node, *service;
  struct addrinfo hints;
  int has_hints;
  struct addrinfo *res; /* written by the worker */
} gai_job;

/* EAI_* to libtrawl status. EAI_AGAIN ("temporary failure") becomes
 * TW_EDNS, not -ETIMEDOUT: glibc also returns it for SERVFAIL and for an
 * unreachable server, so it does not mean that anything timed out. */
static int map_eai(int rc, int err) {
  switch (rc) {
  case 0: return 0;
  case EAI_NONAME: return TW_ENOTFOUND;
#ifdef EAI_NODATA
  case EAI_NODATA: return TW_ENODATA;
#endif
#ifdef EAI_ADDRFAMILY
  case EAI_ADDRFAMILY: return TW_ENODATA;
#endif
  case EAI_MEMORY: return -ENOMEM;
  case EAI_SYSTEM: return err > 0 ? -err : TW_EDNS;
  case EAI_FAMILY:
  case EAI_SOCKTYPE:
  case EAI_BADFLAGS: return -EINVAL;
  default: return TW_EDNS; /* EAI_AGAIN, EAI_FAIL, EAI_SERVICE, ... */
  }
}

/* On a worker thread: touches only the job's own inputs and res. */
static int gai_work(void *data) {
  gai_job *j = data;
  errno = 0;
  int rc = getaddrinfo(j->node, j->service, j->has_hints ? &j->hints : NULL, &j->res);
  int st = map_eai(rc, errno);
  if (st != 0) j->res = NULL; /* getaddrinfo leaves it undefined */
  return st;
}

static void gai_free(gai_job *j) {
  free(j->node);
  free(j->service);
  tw__req_free(&j->req);
}

static void gai_after(tw_req *wreq, int status, void *data) {
  gai_job *j = data;
  j->work = NULL;
  struct addrinfo *res = j->res;
  j->res = NULL;
  if (j->req.flags & TW_RF_CANCELED) status = -ECANCELED;
  if (status != 0 && res) {
    freeaddrinfo(res);
    res = NULL;
  }
  tw__req_done(&j->req);
  j->cb(&j->req, status, res, j->req.data);
  gai_free(j);
}

static int gai_cancel(tw_req *req) {
  gai_job *j = (gai_job *)req;
  /* Ask the pool; whatever it answers, gai_after reports -ECANCELED. */
  if (j->work) tw_cancel(j->work);
  return 0;
}

int tw_getaddrinfo(tw_loop *loop, tw_req **req, const char *node, const char *service,
                   const struct addrinfo *hints, tw_getaddrinfo_cb cb, void *data) {
  if (req) *req = NULL;
  if (!loop || !cb || (!node && !service)) return -EINVAL;
  if (hints && hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET &&
      hints->ai_family != AF_INET6)
    return -EINVAL;
  if (loop->closing) return -ECANCELED;
  gai_job *j = calloc(1, sizeof *j);
  if (!j) return -ENOMEM;
  if ((node && !(j->node = strdup(node))) || (service && !(j->service = strdup(service)))) {
    free(j->node);
    free(j);
    return -ENOMEM;
  }
  if (hints) {
    /* Only the input fields: the pointers of a caller's hints may dangle. */
    j->hints.ai_flags = hints->ai_flags;
    j->hints.ai_family = hints->ai_family;
    j->hints.ai_socktype = hints->ai_socktype;
    j->hints.ai_protocol = hints->ai_protocol;
    j->has_hints = 1;
  }
  j->cb = cb;
  int err = tw_work(loop, &j->work, gai_work, gai_after, j);
  if (err) {
    free(j->node);
    free(j->service);
    free(j);
    return err;
  }
  tw__req_init(loop, &j->req, 0, gai_cancel, data);
  if (req) *req = &j->req;
  return 0;
}
