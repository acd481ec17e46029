/* os-result.h: what OS detection (-O) learnt about a host, as the writers
 * need it: the ports it used, the matches or guesses with their classes
 * and CPEs, the fingerprint when nothing matched exactly, and the
 * sequence-generation analyses Nmap prints beside them. Owned by the
 * host_result it hangs from (host_result.os); os_result_free() frees it. */
#ifndef TRAWL_OS_RESULT_H
#define TRAWL_OS_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct os_class_result {
  char *type, *vendor, *family, *gen; /* gen may be NULL */
  int accuracy;                       /* per cent */
  char **cpe;
  size_t ncpe;
};

struct os_match_item {
  char *name;
  int accuracy; /* per cent */
  unsigned line;
  struct os_class_result *classes;
  size_t nclasses;
};

enum os_result_verdict {
  OS_RES_NONE,  /* no match worth printing: the fingerprint only */
  OS_RES_EXACT, /* "OS details" */
  OS_RES_GUESS, /* "Aggressive OS guesses" */
  OS_RES_TOO_MANY /* more exact matches than OS_REPORT_TOO_MANY: none named */
};

struct os_portused {
  bool set;
  uint16_t port;
};

struct os_result {
  struct os_portused open_tcp, closed_tcp, closed_udp;
  enum os_result_verdict verdict;
  bool fp_unfit;   /* too few probes answered to judge: "too many fingerprints"/unreliable */
  bool unreliable; /* no open and closed TCP port were both known */
  struct os_match_item *matches;
  size_t nmatches;
  char *fingerprint; /* Nmap's submission form: "OS:" lines, NULL: none */
  int tries;
  /* TCP sequence prediction, IP ID and timestamp classes; -1 / NULL: unknown */
  int seq_index;
  char *seq_difficulty, *seq_values;
  char *ipid_class, *ipid_values;
  char *ts_class, *ts_values;
  int64_t uptime_s, lastboot; /* -1: unknown */
};

struct os_result *os_result_new(void);
void os_result_free(struct os_result *r);
/* Appends a match; returns it (its strings copied) or NULL on ENOMEM. */
struct os_match_item *os_result_add_match(struct os_result *r, const char *name, int accuracy,
                                          unsigned line);
/* Appends a class to m; cpe[0..ncpe) copied. NULL on ENOMEM. */
struct os_class_result *os_result_add_class(struct os_match_item *m, const char *type,
                                            const char *vendor, const char *family,
                                            const char *gen, int accuracy);
int os_result_add_cpe(struct os_class_result *c, const char *cpe);

#endif
