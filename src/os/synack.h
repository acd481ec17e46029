/* synack.h: the p0f observation (os/p0f-match.h) of a SYN+ACK the port scan
 * already received, taken from its captured frame: no extra packet. The
 * SYN scan keeps one per open port (scan.c, bounded per host) when scripts
 * run, and the scripts see it as port.synack (script-trees.c). */
#ifndef TRAWL_OS_SYNACK_H
#define TRAWL_OS_SYNACK_H

#include <trawl/capture.h>

#include "os/p0f-match.h"

/* Open ports per host whose SYN+ACK is kept; the others are only counted. */
#define SYNACK_KEEP_PER_HOST 256

/* Fills o from a captured frame (Ethernet or raw IP) holding a SYN+ACK.
 * 0; TW_EMALFORMED when the frame stops before the end of the TCP header
 * or its IP layer is malformed (truncated, bad IHL, bad IP options), or the
 * capture ended inside the TCP header or its options; -EINVAL
 * when it is not a TCP SYN+ACK. Bad TCP options are not an error: p0f's
 * "bad" quirk is set and the options before them are kept. */
int synack_obs(const tw_frame *f, struct p0f_obs *o);

#endif
