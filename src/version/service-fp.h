/* service-fp.h: Nmap's SF-Port service fingerprint, built from the
 * responses of a port that answered but matched nothing, so that a user can
 * submit it to Nmap. The text is Nmap's, unwrapped (the outputs wrap it at
 * 74 columns with "SF:" continuation lines):
 *   SF-Port80-TCP:V=0.1.0%I=7%D=12/4%Time=6931C8A2%P=x86_64-pc-linux-gnu
 *   %r(GetRequest,2F,"HTTP/1\.0\x20200\x20OK\r\n...")...;
 * Each response is cut at 900 bytes (its full length is given in hex);
 * bytes are escaped as Nmap does (letters and digits as is, \0 or \x00
 * before a digit, regex characters backslashed, other punctuation as is,
 * \r \n \t, the rest \xHH). Responses stop being added once the wrapped
 * text passes 2200 characters; a ';' ends it. */
#ifndef TRAWL_VERSION_SERVICE_FP_H
#define TRAWL_VERSION_SERVICE_FP_H

#include <stdint.h>
#include <time.h>

#include "core/proto.h"
#include "version/vscan.h"

struct vfp_info {
  const char *version;  /* trawl's version, for V= */
  const char *platform; /* for P=, e.g. "x86_64-pc-linux-gnu" */
  int intensity;        /* for I= */
  int ssl;              /* found inside TLS: %T=SSL */
  time_t now;           /* for D= (local month/day) and Time= */
};

/* The fingerprint of r's unmatched responses (malloc'd), or NULL when it
 * has none (or out of memory). */
char *vfp_build(const struct vs_result *r, uint16_t port, enum scan_proto proto,
                const struct vfp_info *info);

#endif
