/* fp-seq.h: the SEQ test of Nmap's second-generation OS detection, as pure
 * functions over what the six SYN probes to an open port (sent about 100 ms
 * apart), the closed-port probes T5-T7 and the two ICMP echoes got back.
 *
 *   GCD  greatest common divisor of the ISN differences (each difference
 *        the shorter way round the 32-bit circle);
 *   ISR  8 * log2 of the mean ISN rate (differences per second of sending
 *        time), 0 when that rate is below 1;
 *   SP   with 4 replies or more: 8 * log2 of the standard deviation of the
 *        rates (divided by GCD first when GCD > 9), 0 when it is <= 1;
 *   TI, CI, II  the IP ID generation class of the SYN replies (3 needed),
 *        the closed-port replies (2 needed) and the echo replies (2):
 *        Z all zero; RD (not II) a step of 20000 or more; the value when
 *        all equal; RI a step over 1000 not a multiple of 256, or a
 *        multiple of 256 of at least 256000; BI all steps multiples of 256
 *        up to 5120; I all steps below 10; else no value;
 *   SS   when II and TI are both RI, BI or I: S if the first echo reply's ID
 *        is below the last SYN reply's ID plus 3 times the mean ID step per
 *        probe, else O;
 *   TS   U when a reply has no timestamp option, 0 when one is zero, else
 *        from the mean timestamp rate per second: 1 (up to 5.66), 7
 *        (70-150), 8 (150-350), else log2 of it rounded.
 * IP ID steps wrap at 2^16. A SEQ test with none of these gets R=N. */
#ifndef TRAWL_OS_FP_SEQ_H
#define TRAWL_OS_FP_SEQ_H

#include <stdint.h>

#include "os/fp.h"

#define OS_SEQ_PROBES 6

struct os_seq_sample {
  uint8_t got;      /* a SYN+ACK came back for this probe */
  uint8_t has_ts;   /* with a timestamp option */
  uint16_t ipid;
  uint32_t isn;
  uint32_t tsval;
  uint64_t sent_us; /* when the probe was sent (any monotonic clock) */
};

struct os_seq_in {
  struct os_seq_sample syn[OS_SEQ_PROBES];
  unsigned nclosed;        /* replies to T5-T7, in probe order */
  uint16_t closed_ipid[3];
  unsigned nicmp;          /* replies to the two echoes, in order */
  uint16_t icmp_ipid[2];
};

/* The IP ID class of n IDs (in probe order) into out (at least 8 bytes):
 * 1 when there is one, 0 when no class applies or n < min. allow_rd is 0
 * for II. */
int os_seq_ipid_class(const uint16_t *ids, unsigned n, unsigned min, int allow_rd, char *out);
/* Fills the SEQ test of fp. */
void os_fp_seq(struct os_fp *fp, const struct os_seq_in *in);

#endif
