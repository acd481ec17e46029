/* trawl.h: everything libtrawl offers, in one include. */
#ifndef TRAWL_TRAWL_H
#define TRAWL_TRAWL_H

#include <trawl/error.h>
#include <trawl/loop.h>
#include <trawl/tcp.h>
#include <trawl/udp.h>
#include <trawl/fs.h>
#include <trawl/dns.h>

#endif
