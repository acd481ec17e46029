/* os-probe.h: the sixteen probes of Nmap's second-generation OS detection,
 * built as whole IPv4 packets for the raw socket. What each carries is what
 * Nmap's documentation of the method says (and what tests/unit/
 * test_os_probe.c checks against a capture of nmap -O):
 *
 *   SEQ1-SEQ6  SYN to the open port, 100 ms apart, each with its own window
 *              and option list (SEQ1's reply is also T1);
 *   ECN        SYN+ECE+CWR with a reserved bit, urgent pointer 0xF7F5,
 *              window 3, to the open port;
 *   T2-T4      null (DF), SYN+FIN+PSH+URG, ACK (DF) to the open port;
 *   T5-T7      SYN, ACK (DF), FIN+PSH+URG to the closed port;
 *   U1         300 bytes of 'C' to a closed UDP port, IP ID 0x1042;
 *   IE1, IE2   ICMP echoes: DF, code 9, 120 zero bytes; then TOS 4, code 0,
 *              150 zero bytes, identifier and sequence one higher.
 * Probe i leaves from source port sport_base + i (TCP and UDP), so a reply
 * names its probe by its destination port; the echoes by their identifier.
 * Pure functions: no I/O. */
#ifndef TRAWL_OS_PROBE_H
#define TRAWL_OS_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <trawl/packet.h>

enum os_probe_id {
  OS_P_SEQ1, OS_P_SEQ2, OS_P_SEQ3, OS_P_SEQ4, OS_P_SEQ5, OS_P_SEQ6,
  OS_P_ECN, OS_P_T2, OS_P_T3, OS_P_T4, OS_P_T5, OS_P_T6, OS_P_T7,
  OS_P_U1, OS_P_IE1, OS_P_IE2,
  OS_NPROBES
};

/* Room for the longest probe (U1: 20 + 8 + 300). */
#define OS_PROBE_MAX 400
#define OS_U1_FILL 'C'
#define OS_U1_LEN 300
#define OS_U1_IPID 0x1042

/* What every probe of one try to one host shares. */
struct os_probe_params {
  tw_pkt_addr src, dst;       /* AF_INET */
  uint16_t open_port, closed_port, closed_uport;
  uint16_t sport_base;        /* probe i from sport_base + i */
  uint32_t seq_base, ack;     /* TCP: sequence number base, ACK number */
  uint16_t ipid_base;         /* IP IDs (U1 has its own) */
  uint16_t icmp_id;           /* IE1's identifier; IE2 has one more */
  uint8_t ttl;
};

/* What a probe carried, for the tests over its reply. */
struct os_probe_sent {
  uint8_t proto;         /* IPPROTO_TCP, _UDP, _ICMP */
  uint16_t sport, dport; /* TCP / UDP */
  uint32_t seq, ack;     /* TCP */
  uint8_t df, ttl;
  uint16_t ip_id, ip_len;
  uint16_t udp_csum;     /* U1 */
  uint8_t icmp_code;     /* IE */
  uint16_t icmp_id, icmp_seq;
};

/* Name of probe id: "SEQ1" ... "IE2". */
const char *os_probe_name(enum os_probe_id id);
/* Whether probe id goes to the open TCP port (SEQ, ECN, T2-T4). */
int os_probe_to_open(enum os_probe_id id);
/* Builds probe id into buf. Returns its length, or a negative error
 * (-EINVAL: not IPv4, bad id; -ENOBUFS). sent (may be NULL) is filled. */
int os_probe_build(const struct os_probe_params *pp, enum os_probe_id id, uint8_t *buf,
                   size_t cap, struct os_probe_sent *sent);

#endif
