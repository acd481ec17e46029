/* capfilter.c: the kernel filter on the loop's capture sockets, kept to
 * what the current waiters could want.
 *
 * Why: a packet the filter passes costs a copy into the ring, a wake-up
 * and a dispatcher lookup; one it drops costs a few lookups in the kernel.
 * bench/packets.sh (filter) measured about 3 us of CPU per unwanted packet
 * on the broad filter and nothing measurable on this one, against ~3 us
 * more per waiter that comes and goes with a key of its own
 * (docs/packets.md has the numbers).
 *
 * How: one eBPF socket filter per loop, attached to every capture, that
 * never changes; what changes is a BPF hash map of "interest keys". The
 * dispatcher turns each waiter's match into at most four keys (a coarse
 * projection: family, protocol, destination address, destination port,
 * each possibly a wildcard; or "ARP", "ICMP errors", "IPv6 with extension
 * headers", "everything") and
 * counts them here; a key enters the map when its count leaves 0 and
 * leaves it when the count returns to 0, so a scan's thousands of waiters
 * on one address cost one map entry. The filter passes a superset of what
 * the dispatcher delivers; the dispatcher still decides.
 *
 * When eBPF is not available (no CAP_BPF, an old kernel, a full map, a
 * failed update after privileges were dropped) or TRAWL_CAPTURE_FILTER=broad
 * is set, captures keep or go back to the broad classic filter of
 * capture.c and nothing here makes system calls any more. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
/* libpcap (capture.c) and linux/bpf.h both name a struct bpf_insn. */
#define bpf_insn ebpf_insn
#include <linux/bpf.h>
#undef bpf_insn
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture-int.h"
#include "loop-int.h"

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif

/* Distinct keys the kernel map holds; past that, "everything" is passed
 * until the overflow is gone. Entries are allocated as they are used. */
#define MAP_ENTRIES 65536u

struct centry {
  tw_fkey k;
  uint32_t count; /* 0: empty slot */
  uint8_t inmap;  /* the kernel map holds it */
};

struct tw_capfilter {
  struct centry *t; /* open addressing, linear probing, no tombstones */
  size_t cap, used;
  int state;        /* OFF: broad filters, no system calls; ON: map in use */
  int map_fd, prog_fd;
  size_t inmap;     /* keys in the map, the overflow's "everything" aside */
  size_t overflow;  /* counted keys the map could not take */
  int all_inmap;    /* the "everything" key is in the map for the overflow */
  tw_atclose at;
};
enum { CF_UNTRIED = 0, CF_ON, CF_OFF };

static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }

static int map_put(struct tw_capfilter *f, const tw_fkey *k) {
  uint32_t one = 1;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)f->map_fd;
  a.key = (uint64_t)(uintptr_t)k;
  a.value = (uint64_t)(uintptr_t)&one;
  return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -errno : 0;
}

static int map_del(struct tw_capfilter *f, const tw_fkey *k) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)f->map_fd;
  a.key = (uint64_t)(uintptr_t)k;
  return sys_bpf(BPF_MAP_DELETE_ELEM, &a) < 0 && errno != ENOENT ? -errno : 0;
}

/* ---- the program ---------------------------------------------------------- */

/* A small assembler: jumps name labels, patched once the program is out. */
enum { L_ACCEPT, L_DROP, L_KNOWN, L_ARP, L_V4, L_V4FRAG, L_V4PORT, L_V4ICMP, L_V4ERR, L_V4KEYS, L_KEYS, L_SKIP,
       L_V6, L_V6PORT, L_V6ICMP, L_V6ERR, L_V6KEYS, L_V6EXT, L_NLABELS };
struct as {
  struct ebpf_insn p[256];
  int n, label[L_NLABELS];
  int fix[64], fixto[64], nfix;
  int map_fd;
};
static void emit(struct as *a, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  if (a->n < 256) a->p[a->n] = (struct ebpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
  a->n++;
}
static void jmp(struct as *a, uint8_t op, uint8_t reg, int32_t imm, int to) {
  if (a->nfix < 64) a->fix[a->nfix] = a->n, a->fixto[a->nfix] = to;
  a->nfix++;
  emit(a, BPF_JMP | op | (op == BPF_JA ? 0 : BPF_K), reg, 0, 0, imm);
}
static void here(struct as *a, int l) { a->label[l] = a->n; }
static void ldabs(struct as *a, uint8_t size, int32_t off) { emit(a, BPF_LD | BPF_ABS | size, 0, 0, 0, off); }
static void mov(struct as *a, uint8_t dst, uint8_t src) { emit(a, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
static void movi(struct as *a, uint8_t dst, int32_t imm) { emit(a, BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
/* key on the stack at r10 - 24: kind -24, proto -23, port -22, addr -20..-5 */
static void sti(struct as *a, uint8_t size, int16_t off, int32_t imm) { emit(a, BPF_ST | BPF_MEM | size, 10, 0, off, imm); }
static void stx(struct as *a, uint8_t size, int16_t off, uint8_t src) { emit(a, BPF_STX | BPF_MEM | size, 10, src, off, 0); }
static void zero_addr(struct as *a) { for (int16_t o = -20; o < -4; o += 4) sti(a, BPF_W, o, 0); }
/* Look the key up; found: accept. */
static void lookup(struct as *a) {
  emit(a, BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, a->map_fd);
  emit(a, 0, 0, 0, 0, 0);
  mov(a, 2, 10);
  emit(a, BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -24);
  emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
  jmp(a, BPF_JNE, 0, 0, L_ACCEPT);
}

/* The protocol in r8 (loaded from `off`): ICMP (`icmp`) to one label, the
 * protocols with ports to another. r9, the port, starts at 0. */
static void proto_branch(struct as *a, int32_t off, int icmp, int to_icmp, int to_port) {
  ldabs(a, BPF_B, off);
  mov(a, 8, 0);
  movi(a, 9, 0);
  jmp(a, BPF_JEQ, 8, icmp, to_icmp);
  static const int ported[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP};
  for (int i = 0; i < 3; i++) jmp(a, BPF_JEQ, 8, ported[i], to_port);
}

/* r6 = skb (LD_ABS wants it there), r7 = IPv4 header length, r8 =
 * protocol, r9 = destination port or 0. LD_ABS past the end of the packet
 * ends the program with 0: a truncated packet is dropped. */
static int build(struct as *a) {
  mov(a, 6, 1);
  /* Only ARP, IPv4, IPv6 and VLAN-tagged frames are ever wanted. */
  ldabs(a, BPF_H, 12);
  mov(a, 8, 0);
  static const int known[] = {0x0806, 0x0800, 0x86dd, 0x8100, 0x88a8};
  for (int i = 0; i < 5; i++) jmp(a, BPF_JEQ, 8, known[i], L_KNOWN);
  jmp(a, BPF_JA, 0, 0, L_DROP);
  here(a, L_KNOWN);
  zero_addr(a); /* "everything" */
  sti(a, BPF_B, -24, TW_FK_ALL);
  sti(a, BPF_B, -23, 0);
  sti(a, BPF_H, -22, 0);
  lookup(a);
  jmp(a, BPF_JEQ, 8, 0x0806, L_ARP);
  jmp(a, BPF_JEQ, 8, 0x0800, L_V4);
  jmp(a, BPF_JEQ, 8, 0x86dd, L_V6);
  jmp(a, BPF_JA, 0, 0, L_DROP); /* VLAN tags in the frame: only for "everything" */

  here(a, L_ARP);
  sti(a, BPF_B, -24, TW_FK_ARP);
  lookup(a);
  jmp(a, BPF_JA, 0, 0, L_DROP);

  here(a, L_V4);
  ldabs(a, BPF_H, 20);
  emit(a, BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 0x1fff);
  jmp(a, BPF_JNE, 0, 0, L_V4FRAG);
  ldabs(a, BPF_B, 14);
  emit(a, BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 0xf);
  emit(a, BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 2);
  mov(a, 7, 0);
  proto_branch(a, 23, IPPROTO_ICMP, L_V4ICMP, L_V4PORT);
  jmp(a, BPF_JA, 0, 0, L_V4KEYS);
  here(a, L_V4FRAG); /* a later fragment: no ports, no ICMP header */
  ldabs(a, BPF_B, 23);
  mov(a, 8, 0);
  movi(a, 9, 0);
  jmp(a, BPF_JA, 0, 0, L_V4KEYS);
  here(a, L_V4PORT);
  emit(a, BPF_LD | BPF_IND | BPF_H, 0, 7, 0, 14 + 2);
  mov(a, 9, 0);
  jmp(a, BPF_JA, 0, 0, L_V4KEYS);
  here(a, L_V4ICMP);
  emit(a, BPF_LD | BPF_IND | BPF_B, 0, 7, 0, 14);
  static const int v4err[] = {3, 4, 5, 11, 12};
  for (int i = 0; i < 5; i++) jmp(a, BPF_JEQ, 0, v4err[i], L_V4ERR);
  jmp(a, BPF_JA, 0, 0, L_V4KEYS);
  here(a, L_V4ERR);
  sti(a, BPF_B, -24, TW_FK_ERR); /* proto, port and address are still 0 */
  lookup(a);
  here(a, L_V4KEYS);
  ldabs(a, BPF_W, 30);
  stx(a, BPF_W, -20, 0);
  sti(a, BPF_B, -24, TW_FK_IP4);
  /* both families: (addr, port), (addr, *), (*, port), (*, *) */
  here(a, L_KEYS);
  stx(a, BPF_B, -23, 8);
  stx(a, BPF_H, -22, 9);
  lookup(a);
  jmp(a, BPF_JEQ, 9, 0, L_SKIP);
  sti(a, BPF_H, -22, 0);
  lookup(a);
  here(a, L_SKIP);
  zero_addr(a);
  stx(a, BPF_H, -22, 9);
  lookup(a);
  jmp(a, BPF_JEQ, 9, 0, L_DROP);
  sti(a, BPF_H, -22, 0);
  lookup(a);
  jmp(a, BPF_JA, 0, 0, L_DROP);

  here(a, L_V6);
  proto_branch(a, 20, IPPROTO_ICMPV6, L_V6ICMP, L_V6PORT);
  /* extension headers: the dispatcher walks them; the filter passes them
   * while any waiter wants IPv6 */
  static const int ext[] = {0, 43, 44, 50, 51, 60, 135, 139, 140};
  for (int i = 0; i < 9; i++) jmp(a, BPF_JEQ, 8, ext[i], L_V6EXT);
  jmp(a, BPF_JA, 0, 0, L_V6KEYS);
  here(a, L_V6EXT);
  sti(a, BPF_B, -24, TW_FK_IP6X);
  lookup(a);
  jmp(a, BPF_JA, 0, 0, L_DROP);
  here(a, L_V6PORT);
  ldabs(a, BPF_H, 14 + 40 + 2);
  mov(a, 9, 0);
  jmp(a, BPF_JA, 0, 0, L_V6KEYS);
  here(a, L_V6ICMP);
  ldabs(a, BPF_B, 14 + 40);
  for (int t = 1; t <= 4; t++) jmp(a, BPF_JEQ, 0, t, L_V6ERR);
  jmp(a, BPF_JA, 0, 0, L_V6KEYS);
  here(a, L_V6ERR);
  sti(a, BPF_B, -24, TW_FK_ERR);
  lookup(a);
  here(a, L_V6KEYS);
  for (int i = 0; i < 4; i++) {
    ldabs(a, BPF_W, 14 + 24 + 4 * i);
    stx(a, BPF_W, (int16_t)(-20 + 4 * i), 0);
  }
  sti(a, BPF_B, -24, TW_FK_IP6);
  jmp(a, BPF_JA, 0, 0, L_KEYS);

  here(a, L_ACCEPT);
  movi(a, 0, 0x40000); /* keep the whole frame */
  emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  here(a, L_DROP);
  movi(a, 0, 0);
  emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

  if (a->n > 256 || a->nfix > 64) return -E2BIG;
  for (int i = 0; i < a->nfix; i++) a->p[a->fix[i]].off = (int16_t)(a->label[a->fixto[i]] - a->fix[i] - 1);
  return 0;
}

/* ---- the loop's state ---------------------------------------------------------- */

static void filter_free(tw_loop *loop, tw_atclose *at) {
  struct tw_capfilter *f = loop->capfilter;
  if (f->map_fd >= 0) close(f->map_fd);
  if (f->prog_fd >= 0) close(f->prog_fd);
  free(f->t);
  free(f);
  loop->capfilter = NULL;
}

static struct tw_capfilter *filter_get(tw_loop *loop) {
  if (!loop->capfilter) {
    struct tw_capfilter *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->map_fd = f->prog_fd = -1;
    const char *e = getenv("TRAWL_CAPTURE_FILTER");
    if (e && !strcmp(e, "broad")) f->state = CF_OFF;
    tw__atclose(loop, &f->at, filter_free);
    loop->capfilter = f;
  }
  return loop->capfilter;
}

static uint64_t fkey_hash(const tw_fkey *k) {
  uint64_t h = (uint64_t)k->kind << 24 ^ (uint64_t)k->proto << 16 ^ k->port;
  for (int i = 0; i < 4; i++) h = (h ^ k->addr[i]) * 0x9e3779b97f4a7c15ull, h ^= h >> 31;
  return h;
}

static struct centry *find(struct tw_capfilter *f, const tw_fkey *k) {
  if (!f->cap) return NULL;
  for (size_t i = fkey_hash(k) & (f->cap - 1);; i = (i + 1) & (f->cap - 1)) {
    if (!f->t[i].count) return &f->t[i];
    if (!memcmp(&f->t[i].k, k, sizeof *k)) return &f->t[i];
  }
}

static int grow(struct tw_capfilter *f) {
  size_t cap = f->cap ? f->cap * 2 : 64;
  struct centry *t = calloc(cap, sizeof *t), *old = f->t;
  if (!t) return -ENOMEM;
  size_t ocap = f->cap;
  f->t = t;
  f->cap = cap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i].count) *find(f, &old[i].k) = old[i];
  free(old);
  return 0;
}

/* Remove slot e, shifting back the entries after it that probed past it. */
static void erase(struct tw_capfilter *f, struct centry *e) {
  size_t i = (size_t)(e - f->t), j = i;
  memset(e, 0, sizeof *e);
  for (;;) {
    j = (j + 1) & (f->cap - 1);
    if (!f->t[j].count) return;
    size_t home = fkey_hash(&f->t[j].k) & (f->cap - 1);
    /* j may move to i if its home is not in (i, j] cyclically */
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      f->t[i] = f->t[j];
      memset(&f->t[j], 0, sizeof f->t[j]);
      i = j;
    }
  }
}

static void give_up(tw_loop *loop, struct tw_capfilter *f);

/* The overflow's "everything" key follows f->overflow. */
static void overflow_sync(tw_loop *loop, struct tw_capfilter *f) {
  static const tw_fkey all = {.kind = TW_FK_ALL};
  if (f->state != CF_ON) return;
  if (f->overflow && !f->all_inmap) {
    if (map_put(f, &all) < 0) give_up(loop, f);
    else f->all_inmap = 1;
  } else if (!f->overflow && f->all_inmap) {
    struct centry *e = find(f, &all);
    if (!e || !e->count) map_del(f, &all); /* unless a waiter wants everything */
    f->all_inmap = 0;
  }
}

/* One entry of the map stays free for the overflow's "everything". */
static void put(tw_loop *loop, struct tw_capfilter *f, struct centry *e) {
  int err = f->inmap + 1 < MAP_ENTRIES ? map_put(f, &e->k) : -E2BIG;
  if (err == 0) {
    e->inmap = 1;
    f->inmap++;
  } else if (err == -E2BIG || err == -ENOMEM || err == -ENOSPC) {
    f->overflow++;
    overflow_sync(loop, f);
  } else {
    give_up(loop, f);
  }
}

/* The filter cannot be kept right: every capture goes back to the broad
 * filter for good. */
static void give_up(tw_loop *loop, struct tw_capfilter *f) {
  if (f->state == CF_OFF) return;
  f->state = CF_OFF;
  tw__capture_broaden(loop);
}

int tw__capfilter_ref(tw_loop *loop, const tw_fkey *k, int delta) {
  struct tw_capfilter *f = filter_get(loop);
  if (!f) return -ENOMEM;
  if (delta > 0) {
    if ((f->used + 1) * 2 > f->cap && grow(f) < 0) return -ENOMEM;
    struct centry *e = find(f, k);
    if (e->count++) return 0;
    e->k = *k;
    e->inmap = 0;
    f->used++;
    if (f->state == CF_ON && !loop->closing) put(loop, f, e);
    return 0;
  }
  struct centry *e = find(f, k);
  if (!e || !e->count || --e->count) return 0;
  if (f->state == CF_ON && !loop->closing) { /* closing: the map goes with the loop */
    if (e->inmap) {
      f->inmap--;
      if (!(k->kind == TW_FK_ALL && f->all_inmap) && map_del(f, k) < 0) give_up(loop, f);
    } else if (f->overflow) {
      f->overflow--;
      overflow_sync(loop, f);
    }
  }
  erase(f, e);
  f->used--;
  return 0;
}

/* Create the map (with every key counted so far) and the program. */
static int start(tw_loop *loop, struct tw_capfilter *f) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = sizeof(tw_fkey);
  a.value_size = 4;
  a.max_entries = MAP_ENTRIES;
  a.map_flags = BPF_F_NO_PREALLOC;
  f->map_fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
  if (f->map_fd < 0) return -errno;
  struct as *as = calloc(1, sizeof *as);
  if (!as) return -ENOMEM;
  as->map_fd = f->map_fd;
  int err = build(as);
  if (!err) {
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = (uint64_t)(uintptr_t)as->p;
    a.insn_cnt = (uint32_t)as->n;
    a.license = (uint64_t)(uintptr_t)"GPL";
    f->prog_fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
    if (f->prog_fd < 0) err = -errno;
  }
  free(as);
  if (err) return err;
  f->state = CF_ON;
  for (size_t i = 0; i < f->cap && f->state == CF_ON; i++)
    if (f->t[i].count) put(loop, f, &f->t[i]);
  return f->state == CF_ON ? 0 : -EIO;
}

int tw__capfilter_attach(tw_loop *loop, int fd) {
  int prog = tw__capfilter_prog(loop);
  if (prog < 0) return prog;
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog) < 0 ? -errno : 0;
}

int tw__capfilter_prog(tw_loop *loop) {
  struct tw_capfilter *f = filter_get(loop);
  if (!f) return -ENOMEM;
  if (f->state == CF_UNTRIED) {
    int err = start(loop, f);
    if (err) {
      f->state = CF_OFF;
      return err;
    }
  }
  return f->state == CF_ON ? f->prog_fd : -ENOTSUP;
}
