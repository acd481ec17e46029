/* trawl.h: everything libtrawl offers, in one include. */
#ifndef TRAWL_TRAWL_H
#define TRAWL_TRAWL_H

#include <trawl/error.h>
#include <trawl/loop.h>
#include <trawl/tcp.h>
#include <trawl/udp.h>
#include <trawl/fs.h>
#include <trawl/dns.h>
#include <trawl/packet.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>
#include <trawl/rawsend.h>
#include <trawl/route.h>

#endif
