/* fp-tcp.h: the TCP tests of Nmap's second-generation OS detection (OPS,
 * WIN, ECN and T1-T7) as pure functions of the replies, parsed with
 * trawl/packet.h, and of what the probes carried.
 *
 *   O    the reply's options in order: L (EOL, ends the list), N (NOP),
 *        M<mss hex>, W<shift hex>, T<tsval not 0><tsecr not 0>, S (SACK
 *        permitted); other kinds are left out;
 *   W    the window, hex;
 *   R    Y for a reply, N without one (the test then has R=N only);
 *   DF   Y/N;
 *   T    the initial TTL: reply TTL + the hop distance when it is known
 *        (dist >= 0, from the U1 quote); else TG, the TTL rounded up to 32,
 *        64, 128 or 255;
 *   S    the reply's sequence number: Z zero, A the probe's ACK number, A+
 *        that plus 1, O other;
 *   A    the reply's ACK number: Z zero, S the probe's sequence number, S+
 *        that plus 1, O other;
 *   F    flags among E U A P R S F, in that order;
 *   RD   CRC-32 of the reply's data, 0 without data;
 *   Q    R when a reserved header bit is set, U when the urgent pointer is
 *        not zero without URG;
 *   CC   (ECN only) Y ECE alone, N neither, S both ECE and CWR, O CWR alone.
 * T1 has no W and O (they are WIN.W1 and OPS.O1). */
#ifndef TRAWL_OS_FP_TCP_H
#define TRAWL_OS_FP_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <trawl/packet.h>

#include "os/fp.h"

/* What a TCP probe carried. */
struct os_tcp_sent {
  uint32_t seq, ack;
};

/* CRC-32 (IEEE 802.3, as zlib computes it) of p[0..n). */
uint32_t os_crc32(const uint8_t *p, size_t n);
/* The O value of a TCP header's options into out. Returns its length
 * (truncated to cap - 1). */
size_t os_fp_tcp_opts(const tw_pkt_tcp *t, char *out, size_t cap);
/* Sets T (dist >= 0) or TG of test t from a reply TTL. */
void os_fp_ttl(struct os_fp *fp, enum osdb_test t, uint8_t ttl, int dist);
/* R=Y, DF and T/TG of test t from an IPv4 reply. */
void os_fp_reply_ip(struct os_fp *fp, enum osdb_test t, const tw_pkt *reply, int dist);
/* OPS and WIN from the replies to the six SYN probes (NULL: none came). */
void os_fp_ops_win(struct os_fp *fp, const tw_pkt *const reply[6]);
/* Test t (OSDB_ECN or OSDB_T1..OSDB_T7) from its reply (NULL: none). */
void os_fp_tcp_test(struct os_fp *fp, enum osdb_test t, const tw_pkt *reply,
                    const struct os_tcp_sent *sent, int dist);

#endif
