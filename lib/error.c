/* error.c: names and descriptions for libtrawl's error codes (error.h). */
#include <errno.h>
#include <string.h>
#include <trawl/error.h>

static const struct {
  int code;
  const char *name;
  const char *text;
} tw_errors[] = {
  {TW_EOF, "TW_EOF", "end of stream"},
  {TW_ENOTFOUND, "TW_ENOTFOUND", "name or address not found"},
  {TW_ENODATA, "TW_ENODATA", "no record of the requested type"},
  {TW_EDNS, "TW_EDNS", "DNS server failure or bad answer"},
  {TW_ETOOBIG, "TW_ETOOBIG", "read limit reached before the delimiter"},
  {TW_EMALFORMED, "TW_EMALFORMED", "malformed input"},
};

#define X(e) {-e, #e},
static const struct {
  int code;
  const char *name;
} tw_errno_names[] = {
  X(EPERM) X(ENOENT) X(EINTR) X(EIO) X(EBADF) X(EAGAIN) X(ENOMEM) X(EACCES)
  X(EFAULT) X(EBUSY) X(EEXIST) X(ENOTDIR) X(EISDIR) X(EINVAL) X(EMFILE)
  X(ENFILE) X(ENOSPC) X(EPIPE) X(ERANGE) X(ENAMETOOLONG) X(ENOSYS)
  X(ENOTSUP) X(ENOTSOCK) X(EMSGSIZE) X(EPROTONOSUPPORT) X(EAFNOSUPPORT)
  X(EADDRINUSE) X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ECONNABORTED)
  X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ETIMEDOUT)
  X(ECONNREFUSED) X(EHOSTDOWN) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS)
  X(ECANCELED) X(ENXIO) X(EOVERFLOW) X(ELOOP) X(EPROTO)
};
#undef X

const char *tw_strerror(int err) {
  for (size_t i = 0; i < sizeof tw_errors / sizeof tw_errors[0]; i++)
    if (tw_errors[i].code == err) return tw_errors[i].text;
  if (err < 0 && err > -4000) return strerror(-err);
  if (err == 0) return "success";
  return "unknown error";
}

const char *tw_errname(int err) {
  for (size_t i = 0; i < sizeof tw_errors / sizeof tw_errors[0]; i++)
    if (tw_errors[i].code == err) return tw_errors[i].name;
  for (size_t i = 0; i < sizeof tw_errno_names / sizeof tw_errno_names[0]; i++)
    if (tw_errno_names[i].code == err) return tw_errno_names[i].name;
  return err == 0 ? "OK" : "UNKNOWN";
}
