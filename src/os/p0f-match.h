/* p0f-match.h: labelling a SYN+ACK (or a SYN) the way p0f v3 does, with the
 * signatures of db/p0f.h, from a packet the scan already received: no extra
 * packets.
 *
 * The observation (p0f_obs) is taken from a parsed TCP/IP packet
 * (trawl/packet.h). Matching, over the signatures of one direction in file
 * order:
 *   - IP version, option layout (kinds, order, EOL padding), IP options
 *     length, MSS, window scale (0 when absent), window size and payload
 *     class must all agree ('*' matches anything);
 *     mss*N: window = MSS * N, or (MSS - 12) * N when timestamps are on;
 *     mtu*N: window = (MSS + 40) * N (+ 60 for IPv6); %N: a multiple of N;
 *   - quirks must be equal, except that, fuzzily, df and id+ may have
 *     disappeared and id- and ecn may have appeared (middleboxes); quirks of
 *     the other IP version are ignored;
 *   - the TTL must be at most the signature's initial TTL and at most
 *     P0F_MAX_DIST below it ("N-" signatures: any TTL up to N); else the
 *     match is fuzzy.
 * The first exact specific signature wins; else the first exact generic
 * one; else the first fuzzy one.
 *
 * The distance is the matched signature's initial TTL minus the observed
 * TTL; without a match (or for "N-" signatures) the initial TTL is guessed
 * by rounding the observed TTL up to 32, 64, 128 or 255. */
#ifndef TRAWL_OS_P0F_MATCH_H
#define TRAWL_OS_P0F_MATCH_H

#include <stddef.h>
#include <stdint.h>
#include <trawl/packet.h>

#include "db/p0f.h"

/* Hops a TTL may have lost on the way for an exact match. */
#define P0F_MAX_DIST 35

struct p0f_obs {
  uint8_t ver;      /* 4 or 6 */
  uint8_t ttl;      /* as received */
  uint8_t olen;     /* IPv4 options / IPv6 extension header bytes */
  uint8_t syn_ack;  /* SYN and ACK both set */
  int32_t mss;      /* -1: no MSS option */
  uint16_t win;
  int16_t wscale;   /* -1: no window scale option */
  uint8_t has_ts;
  uint8_t nopt;
  uint8_t opt[P0F_OPT_MAX];
  uint8_t eol_pad;
  uint32_t quirks;  /* P0F_QBIT()s */
  uint32_t paylen;
};

struct p0f_result {
  long sig;        /* p0f_sig() index, or -1: no match */
  uint8_t fuzzy;   /* matched only fuzzily */
  uint8_t generic; /* the label is a generic one */
  uint8_t ittl;    /* initial TTL (the signature's, or guessed) */
  uint8_t dist;    /* ittl - observed TTL */
};

/* Fills o from a parsed packet with an IPv4 or IPv6 and a TCP layer (a TCP
 * options error sets the 'bad' quirk and keeps the options before it).
 * 0, or -EINVAL when the packet has no TCP/IP layers. */
int p0f_obs_from_pkt(const tw_pkt *p, struct p0f_obs *o);
/* 32, 64, 128 or 255: the smallest not below ttl. */
uint8_t p0f_guess_ittl(uint8_t ttl);
/* Matches o against the [tcp:response] (response = 1) or [tcp:request]
 * signatures. */
void p0f_match(const struct p0f_db *db, const struct p0f_obs *o, int response,
               struct p0f_result *r);
/* The observation in signature notation, as p0f prints it for new
 * signatures ("4:57+7:0:1460:mss*10,7:mss,sok,ts,nop,ws:df,id+:0"). */
size_t p0f_obs_format(const struct p0f_obs *o, char *buf, size_t cap);
/* "Linux 3.x", "Windows 7 or 8 (fuzzy)", "generic ..." or "unknown". */
size_t p0f_result_format(const struct p0f_db *db, const struct p0f_result *r, char *buf,
                         size_t cap);

#endif
