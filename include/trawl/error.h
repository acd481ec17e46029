/* error.h: libtrawl's error vocabulary.
 *
 * Every libtrawl function that can fail returns an int: 0 (or a count) on
 * success, a negative value on failure. System errors are negative errno
 * values (-ECONNREFUSED, -ETIMEDOUT, ...) so that callers can compare them
 * with <errno.h>; libtrawl's own conditions use the TW_E* values below,
 * which lie outside the errno range. Callbacks receive the same codes in
 * their status argument. */
#ifndef TRAWL_ERROR_H
#define TRAWL_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TW_BUILDING_LIB)
#define TW_API __attribute__((visibility("default")))
#else
#define TW_API
#endif

enum {
  TW_EOF = -4001,        /* the peer closed its side of a stream */
  TW_ENOTFOUND = -4002,  /* DNS: the name (or address) does not exist */
  TW_ENODATA = -4003,    /* DNS: the name exists but has no such record */
  TW_EDNS = -4004,       /* DNS: server failure, refused or bad answer */
  TW_ETOOBIG = -4005,    /* a read limit was reached without a delimiter */
  TW_EMALFORMED = -4006  /* input (packet, argument text) is malformed */
};

/* A short, static, human-readable description of an error code (negative
 * errno or TW_E*). Never returns NULL. */
TW_API const char *tw_strerror(int err);

/* The symbolic name of an error code, e.g. "ECONNREFUSED" or "TW_EOF". */
TW_API const char *tw_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
