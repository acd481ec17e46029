/* p0f.h: p0f v3's fingerprint database (p0f.fp, from Debian's p0f package,
 * /etc/p0f/p0f.fp), read at run time and never copied here. Only its TCP
 * sections are kept: [tcp:response] labels SYN+ACKs (os/p0f-match.h) and
 * [tcp:request] SYNs; [mtu] and [http:*] are skipped unread.
 *
 * A section is a run of groups:
 *   label = TYPE:CLASS:NAME:FLAVOR   (TYPE s specific or g generic; CLASS a
 *                                     name from 'classes =' or '!' for an
 *                                     application)
 *   sys   = Linux,@unix              (applications only: where they run)
 *   sig   = ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass
 * with ver 4, 6 or *; ittl a number, "N-" (random TTLs up to N) or "N+D";
 * mss * or a number; wsize *, a number, mss*N, mtu*N or %N; scale * or a
 * number; olayout a comma list of eol+N, nop, mss, ws, sok, sack, ts, ?K;
 * quirks a comma list (P0F_Q_* below); pclass 0, + or *.
 *
 * A malformed line is reported as a warning "FILE:LINE: reason" and
 * skipped; loading goes on. */
#ifndef TRAWL_DB_P0F_H
#define TRAWL_DB_P0F_H

#include <stddef.h>
#include <stdint.h>

#include "db/dbline.h"

#define P0F_FILE "p0f.fp"
#define P0F_SYSTEM_PATH "/etc/p0f/p0f.fp"
#define P0F_PACKAGE "p0f"
/* Most option kinds (NOP and EOL included) a layout holds: 40 bytes. */
#define P0F_OPT_MAX 40

/* Quirks: bit 1 << P0F_Q_*, in the order of p0f's README. */
#define P0F_QUIRKS(X)                                                       \
  X(DF, "df")         /* IPv4 don't fragment */                            \
  X(ID_NZ, "id+")     /* DF set, IP ID not zero */                         \
  X(ID_ZERO, "id-")   /* DF not set, IP ID zero */                         \
  X(ECN, "ecn")       /* ECN in use */                                     \
  X(MBZ, "0+")        /* IPv4 reserved ("must be zero") flag set */        \
  X(FLOW, "flow")     /* IPv6 flow label not zero */                       \
  X(SEQ_ZERO, "seq-") /* sequence number zero */                           \
  X(ACK_NZ, "ack+")   /* ACK number not zero without the ACK flag */       \
  X(ACK_ZERO, "ack-") /* ACK flag with ACK number zero */                  \
  X(UPTR_NZ, "uptr+") /* urgent pointer not zero without URG */            \
  X(URG, "urgf+")     /* URG flag */                                       \
  X(PUSH, "pushf+")   /* PSH flag */                                       \
  X(TS1_ZERO, "ts1-") /* own timestamp zero */                             \
  X(TS2_NZ, "ts2+")   /* peer timestamp not zero on a SYN */               \
  X(OPT_NZ, "opt+")   /* non-zero bytes after EOL */                       \
  X(EXWS, "exws")     /* window scale > 14 */                              \
  X(BAD, "bad")       /* malformed TCP options */

#define P0F_Q_ENUM_(n, s) P0F_Q_##n,
enum p0f_quirk { P0F_QUIRKS(P0F_Q_ENUM_) P0F_Q_COUNT };
#undef P0F_Q_ENUM_
#define P0F_QBIT(q) (1u << P0F_Q_##q)
/* Quirks that exist only in IPv4 or only in IPv6 headers. */
#define P0F_Q_V4ONLY (P0F_QBIT(DF) | P0F_QBIT(ID_NZ) | P0F_QBIT(ID_ZERO) | P0F_QBIT(MBZ))
#define P0F_Q_V6ONLY (P0F_QBIT(FLOW))

/* The text of a quirk ("df"), or NULL. */
const char *p0f_quirk_name(enum p0f_quirk q);

enum p0f_wtype {
  P0F_W_ANY,   /* * */
  P0F_W_EXACT, /* N */
  P0F_W_MSS,   /* mss*N */
  P0F_W_MTU,   /* mtu*N */
  P0F_W_MOD    /* %N: a multiple of N */
};

/* Layout kinds are TCP option kinds (0 EOL, 1 NOP, 2 MSS, 3 WS, 4 SACK
 * permitted, 5 SACK, 8 timestamps, others as ?K). */
struct p0f_sig {
  uint32_t label;   /* index for p0f_label() */
  uint32_t line;
  uint8_t response; /* 1: [tcp:response], 0: [tcp:request] */
  uint8_t ver;      /* 4, 6, or 0 for any */
  uint8_t ittl;
  uint8_t bad_ttl;  /* "N-": any TTL up to ittl, distance unknown */
  uint8_t olen;     /* IPv4 options / IPv6 extension header bytes */
  int32_t mss;      /* -1: any */
  uint8_t wtype;    /* enum p0f_wtype */
  uint32_t wval;
  int16_t wscale;   /* -1: any */
  uint8_t nopt;
  uint8_t opt[P0F_OPT_MAX];
  uint8_t eol_pad;  /* bytes after an EOL (the layout then ends in EOL) */
  uint32_t quirks;  /* P0F_QBIT()s */
  int8_t pclass;    /* -1 any, 0 no payload, 1 payload */
};

struct p0f_label {
  uint8_t generic; /* 'g' */
  char *cls;       /* "unix", "win", or "!" */
  char *name;      /* "Linux" */
  char *flavor;    /* "3.x" (may be "") */
  char *sys;       /* the sys = line, or NULL */
};

struct p0f_db;

typedef dbline_warn_fn p0f_warn_fn;

/* Loads path. 0, or a negative code with one line in err (a missing file
 * names it and Debian's p0f package). Warnings go to warn(ctx, msg), or to
 * stderr as "trawl: warning: ..." when warn is NULL. A file without any TCP
 * signature is an error. */
int p0f_load(struct p0f_db **out, const char *path, p0f_warn_fn warn, void *warn_ctx,
             char *err, size_t errlen);
int p0f_load_mem(struct p0f_db **out, const char *name, const char *buf, size_t len,
                 p0f_warn_fn warn, void *warn_ctx, char *err, size_t errlen);
/* DIR/p0f.fp when datadir (--datadir) is given, else /etc/p0f/p0f.fp. */
int p0f_load_default(struct p0f_db **out, const char *datadir, p0f_warn_fn warn,
                     void *warn_ctx, char *err, size_t errlen);
void p0f_free(struct p0f_db *db);

unsigned p0f_warnings(const struct p0f_db *db);
size_t p0f_sig_count(const struct p0f_db *db);
const struct p0f_sig *p0f_sig(const struct p0f_db *db, size_t i);
size_t p0f_label_count(const struct p0f_db *db);
const struct p0f_label *p0f_label(const struct p0f_db *db, size_t i);

/* Writes a signature back in p0f's notation ("*:64:0:*:mss*10,*:mss,...").
 * Returns the length needed (snprintf semantics). */
size_t p0f_sig_format(const struct p0f_sig *s, char *buf, size_t cap);

#endif
