/* fp-seq.c: Nmap's SEQ test from ISNs, IP IDs and timestamps (see
 * fp-seq.h). */
#include "os/fp-seq.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static uint32_t seq_gcd(uint32_t a, uint32_t b) {
  while (b) {
    uint32_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* The distance from a to b the shorter way round the 32-bit circle. */
static uint32_t seq_diff(uint32_t a, uint32_t b) {
  uint32_t up = b - a, down = a - b;
  return up < down ? up : down;
}

int os_seq_ipid_class(const uint16_t *ids, unsigned n, unsigned min, int allow_rd, char *out) {
  if (n < min || n < 2) return 0;
  int zero = 1, same = 1, big = 0, ri = 0, by256 = 1, small = 1, le5120 = 1;
  for (unsigned i = 0; i < n; i++) {
    if (ids[i] != 0) zero = 0;
    if (ids[i] != ids[0]) same = 0;
    if (i == 0) continue;
    uint32_t d = (uint16_t)(ids[i] - ids[i - 1]);
    if (d >= 20000) big = 1;
    if ((d > 1000 && d % 256 != 0) || (d % 256 == 0 && d >= 256000)) ri = 1;
    if (d % 256 != 0) by256 = 0;
    if (d > 5120) le5120 = 0;
    if (d >= 10) small = 0;
  }
  if (zero)
    strcpy(out, "Z");
  else if (allow_rd && big)
    strcpy(out, "RD");
  else if (same)
    snprintf(out, 8, "%X", ids[0]);
  else if (ri)
    strcpy(out, "RI");
  else if (by256 && le5120)
    strcpy(out, "BI");
  else if (small)
    strcpy(out, "I");
  else
    return 0;
  return 1;
}

static int seq_incr(const char *c) {
  return strcmp(c, "RI") == 0 || strcmp(c, "BI") == 0 || strcmp(c, "I") == 0;
}

static long seq_round(double x) { return (long)floor(x + 0.5); }

void os_fp_seq(struct os_fp *fp, const struct os_seq_in *in) {
  const struct os_seq_sample *got[OS_SEQ_PROBES];
  unsigned idx[OS_SEQ_PROBES], n = 0;
  for (unsigned i = 0; i < OS_SEQ_PROBES; i++)
    if (in->syn[i].got) {
      idx[n] = i;
      got[n++] = &in->syn[i];
    }
  int any = 0;
  if (n >= 2) {
    uint32_t g = 0;
    double rate[OS_SEQ_PROBES], sum = 0;
    unsigned nr = 0;
    for (unsigned i = 1; i < n; i++) {
      uint32_t d = seq_diff(got[i - 1]->isn, got[i]->isn);
      g = seq_gcd(g, d);
      double dt = (double)(got[i]->sent_us - got[i - 1]->sent_us) / 1e6;
      if (dt <= 0) continue;
      rate[nr] = d / dt;
      sum += rate[nr++];
    }
    os_fp_set_hex(fp, OSDB_SEQ, "GCD", g);
    any = 1;
    if (nr > 0) {
      double avg = sum / nr;
      os_fp_set_hex(fp, OSDB_SEQ, "ISR", avg < 1 ? 0 : (uint64_t)seq_round(8 * log2(avg)));
      if (n >= 4) {
        double div = g > 9 ? (double)g : 1, m = 0, var = 0;
        for (unsigned i = 0; i < nr; i++) m += rate[i] / div;
        m /= nr;
        for (unsigned i = 0; i < nr; i++) var += (rate[i] / div - m) * (rate[i] / div - m);
        double sd = sqrt(var / nr);
        os_fp_set_hex(fp, OSDB_SEQ, "SP", sd <= 1 ? 0 : (uint64_t)seq_round(8 * log2(sd)));
      }
    }
  }
  char ti[8] = "", ci[8] = "", ii[8] = "";
  uint16_t ids[OS_SEQ_PROBES];
  for (unsigned i = 0; i < n; i++) ids[i] = got[i]->ipid;
  if (os_seq_ipid_class(ids, n, 3, 1, ti)) os_fp_set(fp, OSDB_SEQ, "TI", ti), any = 1;
  if (os_seq_ipid_class(in->closed_ipid, in->nclosed, 2, 1, ci))
    os_fp_set(fp, OSDB_SEQ, "CI", ci), any = 1;
  if (os_seq_ipid_class(in->icmp_ipid, in->nicmp, 2, 0, ii))
    os_fp_set(fp, OSDB_SEQ, "II", ii), any = 1;
  if (ii[0] && ti[0] && seq_incr(ii) && strcmp(ii, ti) == 0 && n >= 2) {
    double step = (double)(uint16_t)(ids[n - 1] - ids[0]) / (double)(idx[n - 1] - idx[0]);
    os_fp_set(fp, OSDB_SEQ, "SS", in->icmp_ipid[0] < ids[n - 1] + 3 * step ? "S" : "O");
  }
  if (n >= 2) {
    int no_ts = 0, zero_ts = 0;
    for (unsigned i = 0; i < n; i++) {
      if (!got[i]->has_ts) no_ts = 1;
      else if (got[i]->tsval == 0) zero_ts = 1;
    }
    if (no_ts) {
      os_fp_set(fp, OSDB_SEQ, "TS", "U");
    } else if (zero_ts) {
      os_fp_set(fp, OSDB_SEQ, "TS", "0");
    } else {
      double sum = 0;
      unsigned nr = 0;
      for (unsigned i = 1; i < n; i++) {
        double dt = (double)(got[i]->sent_us - got[i - 1]->sent_us) / 1e6;
        if (dt <= 0) continue;
        sum += (double)(uint32_t)(got[i]->tsval - got[i - 1]->tsval) / dt;
        nr++;
      }
      if (nr > 0) {
        double avg = sum / nr;
        uint64_t ts = avg <= 5.66                 ? 1
                      : avg >= 70 && avg <= 150   ? 7
                      : avg > 150 && avg <= 350   ? 8
                      : avg < 1                   ? 0
                                                  : (uint64_t)seq_round(log2(avg));
        os_fp_set_hex(fp, OSDB_SEQ, "TS", ts);
      }
    }
    any = 1;
  }
  if (!any) os_fp_set(fp, OSDB_SEQ, "R", "N");
}
