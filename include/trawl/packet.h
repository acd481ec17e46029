/* packet.h: parse and build packets, with no I/O and no allocation.
 *
 * Layers: Ethernet (with 802.1Q / 802.1ad VLAN tags), ARP (IPv4 over
 * Ethernet), IPv4 with options, IPv6 with extension headers, TCP with
 * options, UDP, ICMP and ICMPv6 (with neighbour discovery), and the
 * Internet checksum over IPv4 / IPv6 pseudo-headers.
 *
 * Conventions (the same for every function below):
 *   - Multi-byte fields in the structs are in host byte order; addresses are
 *     struct in_addr / struct in6_addr in network order, MAC addresses are
 *     6 bytes in wire order.
 *   - Parsers never read past `len`. A layer parser tw_pkt_X_parse(buf, len,
 *     &hdr, &reason) returns the header length (> 0) or TW_EMALFORMED and,
 *     when `reason` is not NULL, sets it to a TW_PKT_R_* code;
 *     tw_pkt_reason_str() turns it into a static string such as
 *     "tcp: option length overruns header".
 *   - Builders write into a caller buffer of `cap` bytes and return the
 *     number of bytes written, -ENOBUFS if cap is too small or -EINVAL for a
 *     bad argument. They never allocate; they are safe to call from any
 *     thread. Checksum fields are written as 0 unless said otherwise; fill
 *     them with tw_pkt_ip_finish() once the packet is complete.
 *   - Pointers in decoded structs (options, data) point into the parsed
 *     buffer; they live as long as it does.
 *   - Every struct is plain data: no callbacks, no hidden state, so that
 *     scripting bindings can wrap them field by field. */
#ifndef TRAWL_PACKET_H
#define TRAWL_PACKET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <trawl/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- link types ------------------------------------------------------- */

enum {
  TW_LINK_ETH = 1, /* Ethernet II frame, optionally VLAN-tagged */
  TW_LINK_RAW = 2  /* no link header: the buffer starts at an IPv4/IPv6 header */
};

/* Map a libpcap DLT_* value (pcap_datalink()) to TW_LINK_*, or -EINVAL for
 * link types this library does not dissect. */
TW_API int tw_pkt_link_from_dlt(int dlt);

/* ---- addresses -------------------------------------------------------- */

/* An IPv4 or IPv6 address. family is AF_INET, AF_INET6, or 0 when unset. */
typedef struct tw_pkt_addr {
  uint16_t family;
  union {
    struct in_addr v4;
    struct in6_addr v6;
    uint8_t b[16];
  };
} tw_pkt_addr;

/* Parse a numeric IPv4 or IPv6 address. 0 or -EINVAL. */
TW_API int tw_pkt_addr_parse(tw_pkt_addr *a, const char *text);
/* Format into buf (INET6_ADDRSTRLEN bytes suffice). Returns buf, or "?" if
 * the family is unset or the buffer too small. */
TW_API const char *tw_pkt_addr_str(const tw_pkt_addr *a, char *buf, size_t cap);
/* 1 if equal (same family and bytes), else 0. */
TW_API int tw_pkt_addr_eq(const tw_pkt_addr *a, const tw_pkt_addr *b);
TW_API void tw_pkt_addr_set4(tw_pkt_addr *a, struct in_addr v4);
TW_API void tw_pkt_addr_set6(tw_pkt_addr *a, const struct in6_addr *v6);

/* ---- malformation reasons --------------------------------------------- */

/* X(name, truncated, text): `truncated` is 1 when the condition means the
 * buffer ended too early (a short capture), 0 for contradictory fields. */
#define TW_PKT_REASONS(X)                                                      \
  X(NONE, 0, "ok")                                                             \
  X(ETH_TRUNC, 1, "eth: truncated header")                                     \
  X(VLAN_TRUNC, 1, "eth: truncated 802.1Q tag")                                \
  X(VLAN_DEPTH, 0, "eth: more than 2 VLAN tags")                               \
  X(ARP_TRUNC, 1, "arp: truncated")                                            \
  X(RAW_TRUNC, 1, "raw: empty buffer")                                         \
  X(RAW_VERSION, 0, "raw: IP version is neither 4 nor 6")                      \
  X(IP4_TRUNC, 1, "ipv4: truncated header")                                    \
  X(IP4_VERSION, 0, "ipv4: version is not 4")                                  \
  X(IP4_IHL, 0, "ipv4: header length (IHL) < 5")                               \
  X(IP4_IHL_TRUNC, 1, "ipv4: header length (IHL) beyond buffer")              \
  X(IP4_TOTLEN_SHORT, 0, "ipv4: total length < header length")                 \
  X(IP4_TOTLEN_TRUNC, 1, "ipv4: total length exceeds buffer")                  \
  X(IP4_OPT_LEN, 0, "ipv4: option length < 2")                                 \
  X(IP4_OPT_OVERRUN, 0, "ipv4: option length overruns header")                 \
  X(IP4_OPT_ROUTE, 0, "ipv4: bad route option length or pointer")              \
  X(IP4_OPT_TS, 0, "ipv4: bad timestamp option length, pointer or flag")       \
  X(IP6_TRUNC, 1, "ipv6: truncated header")                                    \
  X(IP6_VERSION, 0, "ipv6: version is not 6")                                  \
  X(IP6_PLEN_TRUNC, 1, "ipv6: payload length exceeds buffer")                  \
  X(IP6_EXT_TRUNC, 1, "ipv6: extension header overruns packet")                \
  X(IP6_EXT_MANY, 0, "ipv6: too many extension headers")                       \
  X(IP6_HBH_ORDER, 0, "ipv6: hop-by-hop header not first")                     \
  X(IP6_OPT_OVERRUN, 0, "ipv6: option overruns extension header")              \
  X(IP6_RH, 0, "ipv6: bad routing header length")                              \
  X(TCP_TRUNC, 1, "tcp: truncated header")                                     \
  X(TCP_DOFF, 0, "tcp: data offset < 5")                                       \
  X(TCP_DOFF_TRUNC, 1, "tcp: data offset beyond segment")                      \
  X(TCP_OPT_LEN, 0, "tcp: option length < 2")                                  \
  X(TCP_OPT_OVERRUN, 0, "tcp: option length overruns header")                  \
  X(TCP_OPT_MSS, 0, "tcp: MSS option length is not 4")                         \
  X(TCP_OPT_WS, 0, "tcp: window scale option length is not 3")                 \
  X(TCP_OPT_SACKOK, 0, "tcp: SACK-permitted option length is not 2")           \
  X(TCP_OPT_SACK, 0, "tcp: SACK option length is not 2 + 8n")                  \
  X(TCP_OPT_TS, 0, "tcp: timestamp option length is not 10")                   \
  X(UDP_TRUNC, 1, "udp: truncated header")                                     \
  X(UDP_LEN_SHORT, 0, "udp: length field < 8")                                 \
  X(UDP_LEN_TRUNC, 1, "udp: length field exceeds packet")                      \
  X(ICMP_TRUNC, 1, "icmp: truncated header")                                   \
  X(ICMP_TS_TRUNC, 1, "icmp: truncated timestamp message")                     \
  X(ICMP_QUOTE_TRUNC, 1, "icmp: quote shorter than IP header + 8 bytes")       \
  X(ICMP_QUOTE_BAD, 0, "icmp: quoted IP header malformed")                     \
  X(ICMP6_TRUNC, 1, "icmp6: truncated message")                                \
  X(ICMP6_ND_LEN, 0, "icmp6: ND option length 0")                              \
  X(ICMP6_ND_OVERRUN, 0, "icmp6: ND option overruns message")                  \
  X(ICMP6_QUOTE_TRUNC, 1, "icmp6: quote shorter than IPv6 header + 8 bytes")   \
  X(ICMP6_QUOTE_BAD, 0, "icmp6: quoted IP header malformed")

#define TW_PKT_R_ENUM_(name, trunc, text) TW_PKT_R_##name,
enum tw_pkt_reason { TW_PKT_REASONS(TW_PKT_R_ENUM_) TW_PKT_R_COUNT };
#undef TW_PKT_R_ENUM_

/* The static text of a reason ("?" for an unknown code). Never NULL. */
TW_API const char *tw_pkt_reason_str(int reason);
/* The symbolic name without prefix, e.g. "TCP_OPT_LEN" ("?" if unknown). */
TW_API const char *tw_pkt_reason_name(int reason);
/* 1 if the reason means the buffer ended early, else 0. */
TW_API int tw_pkt_reason_truncated(int reason);

/* ---- checksums (RFC 1071, RFC 1624) ----------------------------------- */

/* Add the 16-bit big-endian words of buf (an odd last byte is padded with
 * zero) to a running 32-bit sum. Chain calls over even-length pieces. */
TW_API uint32_t tw_pkt_csum_add(uint32_t sum, const void *buf, size_t len);
/* Fold a running sum to 16 bits and complement it: the value to store in
 * a checksum field (host order). */
TW_API uint16_t tw_pkt_csum_fold(uint32_t sum);
/* tw_pkt_csum_fold(tw_pkt_csum_add(0, buf, len)). A buffer that contains
 * its correct checksum gives 0. */
TW_API uint16_t tw_pkt_csum(const void *buf, size_t len);
/* Pseudo-header sums (RFC 793 / RFC 8200 §8.1) for an upper-layer length
 * `len` and protocol `proto`, to be continued with tw_pkt_csum_add(). */
TW_API uint32_t tw_pkt_csum_pseudo4(struct in_addr src, struct in_addr dst,
                                    uint8_t proto, uint16_t len);
TW_API uint32_t tw_pkt_csum_pseudo6(const struct in6_addr *src,
                                    const struct in6_addr *dst, uint8_t proto,
                                    uint32_t len);
/* Incremental update (RFC 1624 eqn. 3): the new checksum field value after
 * a 16-bit (or 32-bit) field covered by it changed from old to new. */
TW_API uint16_t tw_pkt_csum_update16(uint16_t csum, uint16_t old, uint16_t new_);
TW_API uint16_t tw_pkt_csum_update32(uint16_t csum, uint32_t old, uint32_t new_);

/* ---- kind/length options (shared by IPv4 and TCP) -------------------- */

/* One IPv4 or TCP option. For EOL (0) and NOP (1) len is 1 and data NULL;
 * otherwise len is the whole option length and data its len - 2 bytes. */
typedef struct tw_pkt_opt {
  uint8_t kind;
  uint8_t len;
  const uint8_t *data;
} tw_pkt_opt;

/* Iterate over an options area: *off starts at 0. Returns 1 with *o set,
 * 0 at the end (end of area, or after an EOL, which is returned once as an
 * option first), or TW_EMALFORMED when a length is < 2 or overruns. */
TW_API int tw_pkt_opt_next(const uint8_t *opts, size_t len, size_t *off, tw_pkt_opt *o);
/* Write one option: kind 0/1 as a single byte, others as kind, 2 + dlen,
 * data. Returns its length. */
TW_API int tw_pkt_opt_put(uint8_t *buf, size_t cap, uint8_t kind,
                          const void *data, size_t dlen);

/* ---- Ethernet and ARP ------------------------------------------------- */

enum {
  TW_ETH_IP4 = 0x0800,
  TW_ETH_ARP = 0x0806,
  TW_ETH_VLAN = 0x8100, /* 802.1Q */
  TW_ETH_QINQ = 0x88a8, /* 802.1ad service tag */
  TW_ETH_IP6 = 0x86dd
};
#define TW_PKT_VLAN_ID(tci) ((uint16_t)((tci) & 0x0fff))
#define TW_PKT_VLAN_PCP(tci) ((uint8_t)((tci) >> 13))
#define TW_PKT_VLAN_DEI(tci) ((uint8_t)(((tci) >> 12) & 1))

typedef struct tw_pkt_eth {
  uint8_t dst[6], src[6];
  uint16_t type;         /* EtherType of the payload, after any VLAN tags */
  uint8_t hl;            /* header length: 14 + 4 * nvlan */
  uint8_t nvlan;         /* VLAN tags, 0..2, outermost first */
  uint16_t vlan_tpid[2]; /* 0x8100 or 0x88a8 (build: 0 means 0x8100) */
  uint16_t vlan_tci[2];  /* PCP(3) DEI(1) VID(12) */
} tw_pkt_eth;

TW_API int tw_pkt_eth_parse(const uint8_t *buf, size_t len, tw_pkt_eth *out, int *reason);
/* Writes dst, src, the VLAN tags and type (hl is ignored). */
TW_API int tw_pkt_eth_build(uint8_t *buf, size_t cap, const tw_pkt_eth *e);

enum { TW_ARP_REQUEST = 1, TW_ARP_REPLY = 2 };

typedef struct tw_pkt_arp {
  uint16_t htype, ptype; /* 1 and 0x0800 for IPv4 over Ethernet */
  uint8_t hlen, plen;    /* 6 and 4 */
  uint16_t op;           /* TW_ARP_REQUEST, TW_ARP_REPLY, ... */
  uint8_t eth_ip4;       /* 1: IPv4 over Ethernet, addresses below decoded */
  uint8_t sha[6];        /* sender hardware address */
  struct in_addr spa;    /* sender protocol address */
  uint8_t tha[6];        /* target hardware address */
  struct in_addr tpa;    /* target protocol address */
} tw_pkt_arp;

/* Other hardware/protocol types decode the 8-byte fixed part only. */
TW_API int tw_pkt_arp_parse(const uint8_t *buf, size_t len, tw_pkt_arp *out, int *reason);
/* Always IPv4 over Ethernet (28 bytes): htype/ptype/hlen/plen are ignored. */
TW_API int tw_pkt_arp_build(uint8_t *buf, size_t cap, const tw_pkt_arp *a);

/* ---- IPv4 ------------------------------------------------------------- */

enum {
  TW_IP4OPT_EOL = 0,
  TW_IP4OPT_NOP = 1,
  TW_IP4OPT_RR = 7,     /* record route */
  TW_IP4OPT_TS = 68,    /* timestamp */
  TW_IP4OPT_LSRR = 131, /* loose source route */
  TW_IP4OPT_SSRR = 137, /* strict source route */
  TW_IP4OPT_RA = 148    /* router alert */
};
/* Bits of tw_pkt_ip4.opts: options seen. */
enum {
  TW_IP4OPT_F_EOL = 1 << 0,
  TW_IP4OPT_F_NOP = 1 << 1,
  TW_IP4OPT_F_RR = 1 << 2,
  TW_IP4OPT_F_TS = 1 << 3,
  TW_IP4OPT_F_LSRR = 1 << 4,
  TW_IP4OPT_F_SSRR = 1 << 5,
  TW_IP4OPT_F_RA = 1 << 6,
  TW_IP4OPT_F_OTHER = 1 << 7 /* an option of another kind (skipped) */
};

/* Record route, loose or strict source route (RFC 791). */
typedef struct tw_pkt_ip4_route {
  uint8_t pointer;         /* raw pointer field: 1-based octet of the next slot */
  uint8_t slots;           /* address slots in the option, (len - 3) / 4 */
  uint8_t filled;          /* slots before the pointer, (pointer - 4) / 4 */
  struct in_addr addr[9];  /* all slots, filled or not */
} tw_pkt_ip4_route;

enum { TW_IP4TS_ONLY = 0, TW_IP4TS_ADDR = 1, TW_IP4TS_PRESPEC = 3 };

/* Internet timestamp (RFC 791). */
typedef struct tw_pkt_ip4_ts {
  uint8_t pointer;        /* raw pointer field */
  uint8_t overflow;       /* hops that could not record (4 bits) */
  uint8_t flag;           /* TW_IP4TS_* */
  uint8_t slots;          /* entries the option holds */
  uint8_t filled;         /* entries before the pointer */
  struct in_addr addr[4]; /* flags 1 and 3: the address of entry i */
  uint32_t ts[9];         /* timestamp of entry i (ms since midnight UT) */
} tw_pkt_ip4_ts;

typedef struct tw_pkt_ip4 {
  uint8_t hl;         /* header length in bytes (IHL * 4) */
  uint8_t tos;        /* DSCP << 2 | ECN */
  uint16_t tot_len;   /* total length (build: computed) */
  uint16_t id;
  uint8_t rf, df, mf; /* flags: reserved ("evil"), don't fragment, more */
  uint16_t frag_off;  /* fragment offset in bytes (a multiple of 8) */
  uint8_t ttl;
  uint8_t proto;      /* IPPROTO_* */
  uint16_t csum;      /* as received (build: computed) */
  uint8_t csum_ok;    /* parse: the header checksum verifies */
  struct in_addr src, dst;
  const uint8_t *opt; /* raw options, optlen bytes (build: copied, padded */
  uint8_t optlen;     /* with EOL to a multiple of 4, at most 40) */
  uint8_t opts;       /* parse: TW_IP4OPT_F_* seen */
  uint16_t ra;        /* router alert value */
  tw_pkt_ip4_route rr, lsrr, ssrr;
  tw_pkt_ip4_ts ts;
} tw_pkt_ip4;

/* Validates version, IHL, total length >= IHL and every option (lengths,
 * RR/LSRR/SSRR/TS layout). The total length is not checked against len
 * (tw_pkt_parse does that): a quoted header may be longer than its quote. */
TW_API int tw_pkt_ip4_parse(const uint8_t *buf, size_t len, tw_pkt_ip4 *out, int *reason);
/* Writes the header with its options; tot_len = header + payload_len; the
 * header checksum is computed. Returns the header length. */
TW_API int tw_pkt_ip4_build(uint8_t *buf, size_t cap, const tw_pkt_ip4 *ip,
                            size_t payload_len);
/* Option builders. Record route with `slots` empty slots (1..9, pointer 4). */
TW_API int tw_pkt_ip4_opt_rr(uint8_t *buf, size_t cap, unsigned slots);
/* Timestamp with flag TW_IP4TS_*, `slots` empty entries (1..9 for
 * TS_ONLY, 1..4 otherwise); for TW_IP4TS_PRESPEC, `pre` holds the slots
 * addresses (else ignored, may be NULL). */
TW_API int tw_pkt_ip4_opt_ts(uint8_t *buf, size_t cap, unsigned flag,
                             unsigned slots, const struct in_addr *pre);

/* ---- IPv6 ------------------------------------------------------------- */

enum {
  TW_IP6_HBH = 0,   /* hop-by-hop options */
  TW_IP6_RH = 43,   /* routing */
  TW_IP6_FRAG = 44, /* fragment */
  TW_IP6_ESP = 50,
  TW_IP6_AH = 51,
  TW_IP6_NONE = 59, /* no next header */
  TW_IP6_DST = 60   /* destination options */
};
#define TW_PKT_IP6_MAXEXT 8 /* more extension headers are malformed */

typedef struct tw_pkt_ip6_ext {
  uint8_t type;   /* TW_IP6_HBH, _RH, _FRAG, _AH, _DST */
  uint8_t next;   /* its next header field */
  uint16_t off;   /* offset from the start of the IPv6 header */
  uint16_t len;   /* length in bytes */
} tw_pkt_ip6_ext;

typedef struct tw_pkt_ip6 {
  uint8_t tclass;
  uint32_t flow;        /* 20-bit flow label */
  uint16_t plen;        /* payload length (build: computed) */
  uint8_t next;         /* next header of the fixed header */
  uint8_t hlim;
  struct in6_addr src, dst;
  /* parse only: */
  uint8_t proto;        /* upper-layer protocol after the extension headers
                         * (TW_IP6_NONE, TW_IP6_ESP, or a fragment's next
                         * header when frag_off != 0) */
  uint16_t hl;          /* 40 + extension headers */
  uint8_t next_ext;     /* extension headers walked */
  tw_pkt_ip6_ext ext[TW_PKT_IP6_MAXEXT];
  uint8_t has_frag, frag_mf;
  uint16_t frag_off;    /* bytes */
  uint32_t frag_id;
  uint8_t has_rh, rh_type, rh_segleft;
  uint8_t has_ra;       /* router alert option in hop-by-hop */
  uint16_t ra;
} tw_pkt_ip6;

/* Parses the fixed header and walks the extension header chain within
 * min(len, 40 + plen): hop-by-hop (first only), routing, fragment,
 * destination options, AH; at most TW_PKT_IP6_MAXEXT of them; options
 * inside hop-by-hop and destination headers are length-checked. Stops at
 * the first non-extension header, at ESP, at no-next-header or after a
 * fragment header with a non-zero offset. The payload length is not checked
 * against len (tw_pkt_parse does that). Returns hl. */
TW_API int tw_pkt_ip6_parse(const uint8_t *buf, size_t len, tw_pkt_ip6 *out, int *reason);
/* Writes the 40-byte fixed header (tclass, flow, next, hlim, src, dst) with
 * plen = payload_len (the extension headers count as payload). */
TW_API int tw_pkt_ip6_build(uint8_t *buf, size_t cap, const tw_pkt_ip6 *ip,
                            size_t payload_len);
/* Hop-by-hop or destination options header: next, length, the TLV options
 * in tlv[tlvlen], padded with Pad1/PadN to a multiple of 8. */
TW_API int tw_pkt_ip6_opts_build(uint8_t *buf, size_t cap, uint8_t next,
                                 const uint8_t *tlv, size_t tlvlen);
/* Fragment header; off in bytes (multiple of 8, < 65536). 8 bytes. */
TW_API int tw_pkt_ip6_frag_build(uint8_t *buf, size_t cap, uint8_t next,
                                 uint16_t off, int mf, uint32_t id);
/* Routing header of `type` with n addresses after 4 zero type-specific
 * bytes (the layout of types 0 and 2). 8 + 16 n bytes, n <= 127. */
TW_API int tw_pkt_ip6_rh_build(uint8_t *buf, size_t cap, uint8_t next, uint8_t type,
                               uint8_t segleft, const struct in6_addr *addrs, size_t n);

/* ---- TCP -------------------------------------------------------------- */

enum {
  TW_TCP_FIN = 0x01, TW_TCP_SYN = 0x02, TW_TCP_RST = 0x04, TW_TCP_PSH = 0x08,
  TW_TCP_ACK = 0x10, TW_TCP_URG = 0x20, TW_TCP_ECE = 0x40, TW_TCP_CWR = 0x80,
  TW_TCP_AE = 0x100 /* formerly NS (RFC 3540) */
};
enum {
  TW_TCPOPT_EOL = 0, TW_TCPOPT_NOP = 1, TW_TCPOPT_MSS = 2, TW_TCPOPT_WS = 3,
  TW_TCPOPT_SACKOK = 4, TW_TCPOPT_SACK = 5, TW_TCPOPT_TS = 8
};
/* Bits of tw_pkt_tcp_opts.present. */
enum {
  TW_TCPOPT_F_MSS = 1 << 0,
  TW_TCPOPT_F_WS = 1 << 1,
  TW_TCPOPT_F_SACKOK = 1 << 2,
  TW_TCPOPT_F_SACK = 1 << 3,
  TW_TCPOPT_F_TS = 1 << 4,
  TW_TCPOPT_F_NOP = 1 << 5,
  TW_TCPOPT_F_EOL = 1 << 6,
  TW_TCPOPT_F_OTHER = 1 << 7 /* an option of another kind (skipped) */
};

typedef struct tw_pkt_tcp_sack {
  uint32_t left, right;
} tw_pkt_tcp_sack;

typedef struct tw_pkt_tcp_opts {
  uint8_t present;  /* TW_TCPOPT_F_* */
  uint8_t wscale;
  uint16_t mss;
  uint32_t tsval, tsecr;
  uint8_t nsack;    /* SACK blocks, 0..4 */
  tw_pkt_tcp_sack sack[4];
  uint8_t nkinds;   /* every option kind in wire order, NOP and EOL */
  uint8_t kinds[40];/* included (for fingerprints); see tw_pkt_tcp_opts_build */
} tw_pkt_tcp_opts;

typedef struct tw_pkt_tcp {
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t hl;          /* data offset in bytes (build: 20 + padded optlen) */
  uint16_t flags;      /* TW_TCP_* */
  uint16_t win;
  uint16_t csum;       /* as received (build: written as 0) */
  uint16_t urg;
  const uint8_t *opt;  /* raw options, optlen bytes (build: copied, padded */
  uint8_t optlen;      /* with EOL to a multiple of 4, at most 40) */
  tw_pkt_tcp_opts opts;/* parse: decoded options */
} tw_pkt_tcp;

/* Validates the data offset and every option: length < 2, overrun, and
 * the length of MSS, WS, SACK-permitted, SACK and timestamps; unknown
 * kinds are skipped by their length. On an option error the fixed header
 * and the options before it are decoded and TW_EMALFORMED is returned. */
TW_API int tw_pkt_tcp_parse(const uint8_t *buf, size_t len, tw_pkt_tcp *out, int *reason);
/* Writes the header and its options (checksum 0). Returns the header length. */
TW_API int tw_pkt_tcp_build(uint8_t *buf, size_t cap, const tw_pkt_tcp *t);
/* Encode options. With o->nkinds == 0 the options in o->present are laid
 * out as Linux does: MSS, SACK-permitted + timestamps (NOPs in place of a
 * missing one), NOP + window scale, NOP NOP + SACK blocks. Otherwise
 * o->kinds gives the exact order, NOP (1) and EOL (0) included, taking the
 * values from the fields. Padded with EOL to a multiple of 4; at most 40
 * bytes (-EMSGSIZE beyond). */
TW_API int tw_pkt_tcp_opts_build(uint8_t *buf, size_t cap, const tw_pkt_tcp_opts *o);

/* ---- UDP -------------------------------------------------------------- */

typedef struct tw_pkt_udp {
  uint16_t sport, dport;
  uint16_t len;   /* length field (build: 8 + payload_len) */
  uint16_t csum;  /* as received (build: written as 0) */
} tw_pkt_udp;

/* Checks len >= 8 and the length field >= 8 (not against len). */
TW_API int tw_pkt_udp_parse(const uint8_t *buf, size_t len, tw_pkt_udp *out, int *reason);
TW_API int tw_pkt_udp_build(uint8_t *buf, size_t cap, const tw_pkt_udp *u,
                            size_t payload_len);

/* ---- ICMP and ICMPv6 -------------------------------------------------- */

enum {
  TW_ICMP_ECHOREPLY = 0, TW_ICMP_UNREACH = 3, TW_ICMP_SOURCEQUENCH = 4,
  TW_ICMP_REDIRECT = 5, TW_ICMP_ECHO = 8, TW_ICMP_TIMXCEED = 11,
  TW_ICMP_PARAMPROB = 12, TW_ICMP_TSTAMP = 13, TW_ICMP_TSTAMPREPLY = 14,
  TW_ICMP_INFO = 15, TW_ICMP_INFOREPLY = 16, TW_ICMP_MASK = 17,
  TW_ICMP_MASKREPLY = 18
};
enum {
  TW_ICMP6_UNREACH = 1, TW_ICMP6_TOOBIG = 2, TW_ICMP6_TIMXCEED = 3,
  TW_ICMP6_PARAMPROB = 4, TW_ICMP6_ECHO = 128, TW_ICMP6_ECHOREPLY = 129,
  TW_ICMP6_RS = 133, TW_ICMP6_RA = 134, TW_ICMP6_NS = 135, TW_ICMP6_NA = 136,
  TW_ICMP6_REDIRECT = 137
};
/* Neighbour advertisement flags (tw_pkt_icmp6.na_flags). */
enum { TW_ND_NA_ROUTER = 0x80, TW_ND_NA_SOLICITED = 0x40, TW_ND_NA_OVERRIDE = 0x20 };
/* Neighbour discovery option types (bit 1 << type in tw_pkt_icmp6.ndopts). */
enum { TW_ND_OPT_SLL = 1, TW_ND_OPT_TLL = 2, TW_ND_OPT_PREFIX = 3,
       TW_ND_OPT_REDIR = 4, TW_ND_OPT_MTU = 5 };

/* The packet quoted by an ICMP or ICMPv6 error: its IP header and the
 * first 8 (or more) bytes of its upper layer, as the sender saw them. */
typedef struct tw_pkt_quote {
  uint8_t version;       /* 4 or 6 */
  uint8_t proto;         /* upper-layer protocol (after IPv6 ext headers) */
  uint8_t ttl;           /* TTL / hop limit when it was quoted */
  uint16_t ip_id;        /* IPv4 identification */
  uint32_t ip_len;       /* total length claimed by the quoted header */
  tw_pkt_addr src, dst;
  uint16_t sport, dport; /* TCP, UDP (and any ports-first protocol) */
  uint32_t tcp_seq;      /* TCP */
  uint16_t udp_len;      /* UDP */
  uint8_t icmp_type, icmp_code; /* ICMP / ICMPv6 */
  uint16_t icmp_id, icmp_seq;   /* ICMP / ICMPv6 echo */
  uint32_t off;          /* offset of the quoted IP header in the parsed buffer */
  uint32_t l4_off;       /* offset of its upper layer in the parsed buffer */
  uint32_t l4_len;       /* bytes of the upper layer that are present */
} tw_pkt_quote;

typedef struct tw_pkt_icmp {
  uint8_t type, code;
  uint16_t csum;
  uint8_t csum_ok;      /* parse: the checksum over the message verifies */
  uint16_t id, seq;     /* echo, timestamp, info, mask */
  uint32_t ts_orig, ts_recv, ts_xmit; /* timestamp (20-byte message) */
  struct in_addr gw;    /* redirect: gateway address */
  uint8_t pointer;      /* parameter problem */
  uint16_t mtu;         /* unreachable, code 4: next-hop MTU (RFC 1191) */
  uint32_t rest;        /* bytes 4..7, raw (host order) */
  const uint8_t *data;  /* after the 8-byte header (20 for timestamps): */
  size_t datalen;       /* echo data, or the quoted packet of an error */
} tw_pkt_icmp;

typedef struct tw_pkt_icmp6 {
  uint8_t type, code;
  uint16_t csum;
  uint16_t id, seq;       /* echo request / reply */
  uint32_t mtu;           /* packet too big */
  uint32_t pointer;       /* parameter problem */
  struct in6_addr target; /* NS, NA, redirect */
  struct in6_addr rdst;   /* redirect: destination */
  uint8_t na_flags;       /* NA: TW_ND_NA_* */
  uint8_t ra_hlim, ra_flags; /* router advertisement */
  uint16_t ra_lifetime;
  uint32_t ra_reachable, ra_retrans;
  uint32_t ndopts;        /* ND options seen: bit 1 << type (types < 32) */
  uint8_t has_sll, has_tll;
  uint8_t sll[6], tll[6]; /* source / target link-layer address (Ethernet) */
  const uint8_t *data;    /* after the fixed part: echo data, the quoted */
  size_t datalen;         /* packet of an error, or the ND options */
} tw_pkt_icmp6;

/* 1 if the type is an error that quotes the offending packet. */
TW_API int tw_pkt_icmp_is_error(uint8_t type);
TW_API int tw_pkt_icmp6_is_error(uint8_t type);

/* Decodes the header by type and verifies the checksum; the quote of an
 * error is in out->data (see tw_pkt_quote_parse). */
TW_API int tw_pkt_icmp_parse(const uint8_t *buf, size_t len, tw_pkt_icmp *out, int *reason);
/* Decodes the header by type, and the ND options of RS, RA, NS, NA and
 * redirect (length 0 or overrun is malformed). The checksum needs the IPv6
 * addresses: see tw_pkt_l4_csum_ok(). */
TW_API int tw_pkt_icmp6_parse(const uint8_t *buf, size_t len, tw_pkt_icmp6 *out, int *reason);
/* Decode a quoted packet (an IPv4 or IPv6 header and at least 8 bytes of
 * upper layer). base_off is added to the offsets stored in out. Returns 0 or
 * TW_EMALFORMED (reason: ICMP_QUOTE_* for IPv4, ICMP6_QUOTE_* for IPv6). */
TW_API int tw_pkt_quote_parse(const uint8_t *buf, size_t len, size_t base_off,
                              tw_pkt_quote *out, int *reason);

/* Write an ICMP message: the header fields that the type uses (id/seq for
 * echo, info and mask; id/seq/ts_* for timestamps; gw for redirect; pointer
 * for parameter problem; mtu for unreachable code 4; else rest), then
 * data[dlen] (echo data, or the quoted packet of an error). The checksum is
 * computed (ICMP has no pseudo-header). Returns the message length. */
TW_API int tw_pkt_icmp_build(uint8_t *buf, size_t cap, const tw_pkt_icmp *ic,
                             const void *data, size_t dlen);
/* Write an ICMPv6 message: id/seq (echo), mtu (too big), pointer
 * (parameter problem), ra_* (RA), target (NS, NA with na_flags, redirect),
 * rdst (redirect); for the ND types (RS, RA, NS, NA, redirect) then a
 * source link-layer option if has_sll and a target link-layer option if
 * has_tll; then data[dlen] (echo data, a quote, more ND options). Checksum
 * 0: it needs the pseudo-header (tw_pkt_ip_finish). */
TW_API int tw_pkt_icmp6_build(uint8_t *buf, size_t cap, const tw_pkt_icmp6 *ic,
                              const void *data, size_t dlen);

/* ---- the dissector ---------------------------------------------------- */

/* Bits of tw_pkt.layers. */
enum {
  TW_PKT_L_ETH = 1 << 0,
  TW_PKT_L_VLAN = 1 << 1,
  TW_PKT_L_ARP = 1 << 2,
  TW_PKT_L_IP4 = 1 << 3,
  TW_PKT_L_IP6 = 1 << 4,
  TW_PKT_L_FRAG = 1 << 5,  /* the IP packet is a fragment (see l4_off) */
  TW_PKT_L_TCP = 1 << 6,
  TW_PKT_L_UDP = 1 << 7,
  TW_PKT_L_ICMP = 1 << 8,
  TW_PKT_L_ICMP6 = 1 << 9,
  TW_PKT_L_QUOTE = 1 << 10 /* the quote of an ICMP/ICMPv6 error decoded */
};

/* Flags for tw_pkt_parse_ex(). */
enum {
  /* The capture may be cut short (snaplen): an IP total / payload length or
   * UDP length beyond the buffer is not an error; out->snapped is set and
   * the upper layers are decoded as far as their headers go. */
  TW_PKT_F_SNAP = 1 << 0
};

/* A dissected packet. A layer's bit is set in `layers` once its fixed
 * header is decoded; dissection stops at the first error, which leaves err,
 * reason and why set and the layers before it valid (an error in a layer's
 * options or quote keeps that layer's bit). Offsets are from buf. */
typedef struct tw_pkt {
  const uint8_t *buf;
  size_t len;
  int linktype;          /* TW_LINK_* */
  uint32_t layers;       /* TW_PKT_L_* */
  int err;               /* 0 or TW_EMALFORMED */
  int reason;            /* TW_PKT_R_* (TW_PKT_R_NONE when err is 0) */
  const char *why;       /* tw_pkt_reason_str(reason): static, never NULL */
  uint32_t err_layer;    /* TW_PKT_L_* of the layer being decoded at the error */
  uint8_t truncated;     /* the error means the buffer ended too early */
  uint8_t snapped;       /* TW_PKT_F_SNAP: a length ran past the buffer */
  uint8_t proto;         /* upper-layer protocol (IPPROTO_*), 0 if no IP */
  uint32_t l3_off;       /* IP or ARP header */
  uint32_t l3_len;       /* IP packet bytes in buf (total length, capped), or 28 for ARP */
  uint32_t l4_off;       /* upper layer (after IPv6 extension headers) */
  uint32_t l4_len;       /* upper-layer bytes in buf */
  uint32_t payload_off;  /* application data (after TCP/UDP/ICMP header) */
  uint32_t payload_len;
  tw_pkt_addr src, dst;  /* of the IP header */
  uint16_t sport, dport; /* of TCP or UDP */
  tw_pkt_eth eth;
  tw_pkt_arp arp;
  tw_pkt_ip4 ip4;
  tw_pkt_ip6 ip6;
  tw_pkt_tcp tcp;
  tw_pkt_udp udp;
  tw_pkt_icmp icmp;
  tw_pkt_icmp6 icmp6;
  tw_pkt_quote quote;
} tw_pkt;

/* Dissect buf[len] of the given link type into *out (fully overwritten).
 * Returns 0 when every layer decoded cleanly, TW_EMALFORMED for a
 * malformed or truncated packet (see out->reason), -EINVAL for a NULL
 * argument or unknown link type. Unknown EtherTypes and IP protocols are
 * not errors: dissection stops there and the rest is payload. */
TW_API int tw_pkt_parse(const uint8_t *buf, size_t len, int linktype, tw_pkt *out);
TW_API int tw_pkt_parse_ex(const uint8_t *buf, size_t len, int linktype,
                           unsigned flags, tw_pkt *out);

/* Verify the TCP, UDP, ICMP or ICMPv6 checksum of a parsed packet over its
 * pseudo-header. 1 good, 0 bad, -EINVAL when it cannot be checked (no such
 * layer, a fragment, or upper-layer bytes missing from the buffer). A UDP
 * checksum of 0 over IPv4 (none) counts as good. */
TW_API int tw_pkt_l4_csum_ok(const tw_pkt *p);

/* ---- whole-packet building -------------------------------------------- */

/* Fill in the checksums of a complete IPv4 or IPv6 packet in place: the
 * IPv4 header checksum and the TCP, UDP, ICMP or ICMPv6 checksum (over the
 * final destination of an IPv6 routing header). Nothing else changes.
 * Returns 0, TW_EMALFORMED if the packet does not parse, or -EINVAL for a
 * fragment (compute the checksum before fragmenting). */
TW_API int tw_pkt_ip_finish(uint8_t *ip, size_t len);

/* The IP layer of a whole packet, IPv4 or IPv6 by src.family. */
typedef struct tw_pkt_ipspec {
  tw_pkt_addr src, dst;  /* same family */
  uint8_t ttl;           /* TTL / hop limit (0 means 64) */
  uint8_t tos;           /* TOS / traffic class */
  uint16_t id;           /* IPv4 identification */
  uint8_t df;            /* IPv4: don't fragment */
  uint32_t flow;         /* IPv6 flow label */
  const uint8_t *opt;    /* IPv4 options (padded to 4, at most 40) */
  uint8_t optlen;
} tw_pkt_ipspec;

/* Build a complete IP packet (no link header) with all checksums: IP +
 * TCP (header from *t, options from t->opt) + payload; IP + UDP + payload;
 * IP + ICMP (IPv4) or ICMPv6 (IPv6) with data. Return the packet length. */
TW_API int tw_pkt_build_tcp(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip,
                            const tw_pkt_tcp *t, const void *payload, size_t plen);
TW_API int tw_pkt_build_udp(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip,
                            uint16_t sport, uint16_t dport, const void *payload,
                            size_t plen);
TW_API int tw_pkt_build_icmp(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip,
                             const tw_pkt_icmp *ic4, const tw_pkt_icmp6 *ic6,
                             const void *data, size_t dlen);
/* IP (protocol or next header `proto`) + payload as given: for protocols
 * without a builder here (IGMP, IP-in-IP, GRE, ... or none at all). The
 * payload's own checksums are the caller's, except that a payload that
 * parses as TCP, UDP or ICMP gets them filled like the builders above. */
TW_API int tw_pkt_build_ip(uint8_t *buf, size_t cap, const tw_pkt_ipspec *ip, uint8_t proto,
                           const void *payload, size_t plen);

/* ---- asking a link for a MAC address ---------------------------------- */

/* Whole Ethernet frames (for a TW_RAW_ETH socket) from our interface's MAC
 * `mac`. An ARP request: broadcast, who has tpa, tell spa at mac (42
 * bytes). Returns the frame length, -ENOBUFS or -EINVAL. */
TW_API int tw_pkt_arp_request(uint8_t *buf, size_t cap, const uint8_t mac[6],
                              struct in_addr spa, struct in_addr tpa);
/* A neighbour solicitation for target (RFC 4861): from src (our address on
 * the link) to the target's solicited-node group ff02::1:ffXX:XXXX and its
 * MAC 33:33:ff:XX:XX:XX, hop limit 255, with a source link-layer address
 * option carrying mac; ICMPv6 checksum filled (86 bytes). Returns the frame
 * length, -ENOBUFS or -EINVAL. */
TW_API int tw_pkt_ns_request(uint8_t *buf, size_t cap, const uint8_t mac[6],
                             const struct in6_addr *src, const struct in6_addr *target);

/* ---- fast TCP probes from a template ---------------------------------- */

#define TW_PKT_TMPL_MAX 128

/* A prepared TCP segment without payload (SYN, ACK, RST ... probes):
 * optional Ethernet header, IPv4 or IPv6 header, TCP header with options,
 * and the partial checksums of everything that stays the same. Filling one
 * probe is a copy of `len` bytes plus a few stores and additions. */
typedef struct tw_pkt_tmpl {
  uint8_t bytes[TW_PKT_TMPL_MAX];
  uint16_t len;       /* bytes of a probe */
  uint16_t l3_off;    /* 0, or the Ethernet header length */
  uint16_t l4_off;
  uint16_t family;    /* AF_INET or AF_INET6 */
  uint32_t ip_sum;    /* IPv4 header sum without id and dst */
  uint32_t tcp_sum;   /* pseudo-header + TCP sum without dst, ports and seq */
} tw_pkt_tmpl;

/* Prepare a template: eth may be NULL (raw IP); ip->dst and ip->id are
 * ignored (given per probe); t gives flags, ack, window, urg and options
 * (its ports and seq are ignored). -EINVAL or -ENOBUFS if it does not fit. */
TW_API int tw_pkt_tmpl_init(tw_pkt_tmpl *tm, const tw_pkt_eth *eth,
                            const tw_pkt_ipspec *ip, const tw_pkt_tcp *t);
/* Write one probe to buf: dst (of the template's family), ports, sequence
 * number and IPv4 id, with correct checksums. Returns tm->len, -ENOBUFS or
 * -EINVAL (family mismatch). */
TW_API int tw_pkt_tmpl_build(const tw_pkt_tmpl *tm, uint8_t *buf, size_t cap,
                             const tw_pkt_addr *dst, uint16_t sport,
                             uint16_t dport, uint32_t seq, uint16_t ip_id);

#ifdef __cplusplus
}
#endif
#endif
