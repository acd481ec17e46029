/* cookie.h: stateless validation of probe replies.
 *
 * Every value a probe carries that the reply must echo (TCP sequence
 * number, source port, ICMP echo id/seq) is a keyed hash of the flow, so a
 * reply can be checked without remembering the probe: a SYN-ACK or RST is
 * ours when ack-1 equals cookie_tcp_seq() of the flow it answers.
 *
 * The hash is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012) with a 128-bit key, implemented here from the
 * paper's description. The key comes from getrandom() at start or, for a
 * repeatable scan (--seed), from the seed.
 *
 * Addresses are raw network-order bytes (4 for AF_INET, 16 for AF_INET6);
 * ports are in host byte order. "src" is always the scanner's side of the
 * probe, "dst" the target's, whichever way the packet being checked went. */
#ifndef TRAWL_COOKIE_H
#define TRAWL_COOKIE_H

#include <stddef.h>
#include <stdint.h>

struct cookie_key {
  uint64_t k0, k1; /* the 16 key bytes read as two little-endian words */
};

/* SipHash-2-4 of len bytes. */
uint64_t cookie_siphash(const struct cookie_key *k, const void *data,
                        size_t len);

/* Builds a key from 16 bytes (little-endian words, as in the paper). */
void cookie_key_from_bytes(struct cookie_key *k, const uint8_t bytes[16]);
/* A fresh random key: 0 or a negative errno from getrandom(). */
int cookie_key_random(struct cookie_key *k);
/* A key derived from a 64-bit seed (the same seed, the same key). */
void cookie_key_from_seed(struct cookie_key *k, uint64_t seed);

/* The flow of one probe. */
struct cookie_flow {
  int family;        /* AF_INET or AF_INET6 */
  const void *src;   /* scanner address */
  const void *dst;   /* target address */
  uint16_t sport;    /* scanner port */
  uint16_t dport;    /* target port */
  uint8_t proto;     /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6) */
};

/* The 32-bit initial sequence number of a TCP probe. */
uint32_t cookie_tcp_seq(const struct cookie_key *k, const struct cookie_flow *f);
/* Whether ack (from a SYN-ACK or RST answering the flow) is seq + 1. */
int cookie_tcp_ack_ok(const struct cookie_key *k, const struct cookie_flow *f,
                      uint32_t ack);

/* The probe's source port in [lo, hi] (inclusive), from the flow without
 * its sport (proto, addresses, dport). */
uint16_t cookie_src_port(const struct cookie_key *k, const struct cookie_flow *f,
                         uint16_t lo, uint16_t hi);
/* Whether a reply's destination port is the one cookie_src_port() chose. */
int cookie_src_port_ok(const struct cookie_key *k, const struct cookie_flow *f,
                       uint16_t lo, uint16_t hi, uint16_t port);

/* ICMP echo id and sequence for a ping of dst from src (ports unused). */
void cookie_icmp_echo(const struct cookie_key *k, const struct cookie_flow *f,
                      uint16_t *id, uint16_t *seq);

#endif
