/* capture.c: one shared packet capture per interface, feeding the dispatcher.
 *
 * The mechanism is an AF_PACKET socket with a TPACKET_V2 receive ring
 * (docs/packets.md has the measurements behind the choice): the kernel
 * writes each frame into a slot of a ring we mmap, with its receive time in
 * nanoseconds, and marks the slot ours; the loop watches the socket (it is
 * readable while a slot is ours), and we walk the ring, hand its frames to
 * the dispatcher 32 at a time (tw__dispatch_batch overlaps the cache
 * misses of their lookups) and give their slots back. No system call per
 * packet and no copy. TPACKET_V3 batches frames into blocks that are only handed over
 * when full or when a timer expires, which adds latency; libpcap in
 * immediate mode uses this same V2 ring, plus a layer we do not need.
 *
 * What the kernel passes to us is narrowed twice before any copy: the
 * socket ignores this host's outgoing packets (PACKET_IGNORE_OUTGOING) and
 * a filter keeps only what the loop's current waiters could want: the
 * eBPF filter of capfilter.c, kept up to date as waiters come and go. When
 * that cannot be had, a broad classic BPF filter (compiled by libpcap)
 * keeps IPv4, IPv6 and ARP. Either way the dispatcher decides who gets a
 * packet; the filter only spares us the copies and wake-ups of packets
 * nobody wants.
 *
 * Sharing: the loop keeps a list of its open captures; opening an
 * interface that is already open adds a reference. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <trawl/capture.h>
#include <trawl/dispatch.h>

#include "capture-int.h"
#include "dispatch-int.h"
#include "loop-int.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* Ring geometry: 2 KiB slots hold any frame of a 1500-byte MTU with the
 * slot header; longer frames are cut (tw_frame.caplen < len). The ring
 * must outlast the longest time the loop does not get to it: on a loaded
 * machine a receiver waited 50 ms for a CPU (bench/packets.sh), and 8 MiB
 * (4096 slots, 18 ms at 230k pps) lost frames then. 32 MiB is 16384
 * slots: 70 ms at 230k packets per second, 16 ms at a million. */
#define FRAME_SIZE 2048u
#define BLOCK_SIZE (64u * 1024u)
#define RING_SIZE (32u * 1024u * 1024u)
/* Frames handled per readiness callback, so one busy capture cannot keep
 * the loop from its timers and other sockets. */
#define BUDGET 1024u

/* The default kernel filter. */
#define FILTER "arp or ip or ip6"

struct tw_capstate {
  tw_queue caps; /* open tw_capture, by their q */
  tw_atclose at;
};

struct tw_capture {
  tw_handle h;
  tw_watch w;
  tw_queue q;
  int fd;
  int ifindex;
  char ifname[IF_NAMESIZE];
  int refs;
  unsigned flags;
  uint16_t linktype;
  int filter;      /* TW_FILTER_* */
  uint8_t *ring;
  unsigned frames; /* slots in the ring */
  unsigned cur;    /* next slot to look at */
  tw_capture_stats st;
};

static void capstate_free(tw_loop *loop, tw_atclose *a) {
  free(loop->capture);
  loop->capture = NULL;
}

static struct tw_capstate *capstate(tw_loop *loop) {
  if (!loop->capture) {
    struct tw_capstate *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    tw_queue_init(&s->caps);
    tw__atclose(loop, &s->at, capstate_free);
    loop->capture = s;
  }
  return loop->capture;
}

/* ---- the handle --------------------------------------------------------- */

static void cap_close(tw_handle *h) {
  struct tw_capture *c = (struct tw_capture *)h;
  tw__watch_remove(h->loop, &c->w);
  tw_queue_remove(&c->q);
  /* The ring stays mapped until cap_free: a frame being dispatched right
   * now (whose waiter closed us) still points into it. */
}

static void cap_free(tw_handle *h) {
  struct tw_capture *c = (struct tw_capture *)h;
  if (c->ring) munmap(c->ring, RING_SIZE);
  if (c->fd >= 0) close(c->fd);
  free(c);
}

static const tw_handle_ops cap_ops = {"capture", cap_close, NULL, cap_free};

static void read_stats(struct tw_capture *c) {
  struct tpacket_stats ts;
  socklen_t sl = sizeof ts;
  /* The kernel resets its counters on every read: accumulate. */
  if (getsockopt(c->fd, SOL_PACKET, PACKET_STATISTICS, &ts, &sl) == 0)
    c->st.dropped += ts.tp_drops;
}

/* Frames handed to the dispatcher at a time: its lookups of a batch
 * overlap their cache misses (dispatch.c). */
#define DRAIN 32

static void cap_ready(tw_watch *w, int events) {
  struct tw_capture *c = (struct tw_capture *)((char *)w - offsetof(struct tw_capture, w));
  tw_loop *loop = c->h.loop;
  if (events & TW_ERROR) {
    /* A pending socket error (e.g. the interface went away): read it so
     * the socket stops reporting it. */
    int e;
    socklen_t el = sizeof e;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
  }
  tw_frame f[DRAIN];
  struct tpacket2_hdr *taken[DRAIN];
  unsigned budget = BUDGET;
  while (budget && !(c->h.flags & TW_HF_CLOSING)) {
    /* Take up to DRAIN frames that are ours, then dispatch them together;
     * their slots go back to the kernel once their callbacks have run. */
    unsigned nt = 0, nf = 0;
    while (nt < DRAIN && nt < budget) {
      struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)(c->ring + (size_t)c->cur * FRAME_SIZE);
      if (!(__atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
      taken[nt++] = hdr;
      c->cur = c->cur + 1 == c->frames ? 0 : c->cur + 1;
      const struct sockaddr_ll *sll =
          (const struct sockaddr_ll *)((uint8_t *)hdr + TPACKET_ALIGN(sizeof *hdr));
      if (sll->sll_pkttype == PACKET_OUTGOING && !(c->flags & TW_CAPTURE_OUTGOING)) continue;
      tw_frame *fr = &f[nf++];
      fr->data = (const uint8_t *)hdr + hdr->tp_mac;
      fr->caplen = hdr->tp_snaplen;
      fr->len = hdr->tp_len;
      fr->ts_ns = (uint64_t)hdr->tp_sec * 1000000000ull + hdr->tp_nsec;
      fr->ifindex = c->ifindex;
      fr->linktype = c->linktype;
      fr->vlan_valid = (hdr->tp_status & TP_STATUS_VLAN_VALID) != 0;
      fr->vlan_tci = fr->vlan_valid ? hdr->tp_vlan_tci : 0;
      fr->pkttype = sll->sll_pkttype;
      c->st.received++;
      c->st.bytes += fr->caplen;
    }
    if (!nt) break;
    budget -= nt;
    /* A callback may close this capture: the ring stays mapped until
     * cap_free, so the rest of the batch is still readable. */
    if (nf) tw__dispatch_batch(loop, f, nf);
    for (unsigned i = 0; i < nt; i++)
      __atomic_store_n(&taken[i]->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    if (nt < DRAIN) break; /* the ring is empty */
  }
}

/* ---- opening ------------------------------------------------------------ */

static int set_promisc(struct tw_capture *c) {
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = c->ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  /* A membership of the socket: the kernel drops it when the socket
   * closes, so a crash never leaves the interface promiscuous. */
  if (setsockopt(c->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) return -errno;
  c->flags |= TW_CAPTURE_PROMISC;
  return 0;
}

static int set_outgoing(struct tw_capture *c, int on) {
  int ignore = !on;
  if (setsockopt(c->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &ignore, sizeof ignore) < 0 &&
      on == 0)
    return 0; /* old kernel: outgoing frames are skipped in cap_ready */
  if (on) c->flags |= TW_CAPTURE_OUTGOING;
  return 0;
}

static int attach_broad(struct tw_capture *c) {
  c->filter = TW_FILTER_BROAD;
  if (c->linktype != TW_LINK_ETH) return 0; /* raw-IP links carry only IP */
  pcap_t *p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
  if (!p) return -ENOMEM;
  struct bpf_program prog;
  int err = 0;
  if (pcap_compile(p, &prog, FILTER, 1, PCAP_NETMASK_UNKNOWN) != 0) {
    err = -EINVAL;
  } else {
    struct sock_fprog fp = {.len = (unsigned short)prog.bf_len,
                            .filter = (struct sock_filter *)prog.bf_insns};
    if (setsockopt(c->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) < 0) err = -errno;
    pcap_freecode(&prog);
  }
  pcap_close(p);
  return err;
}

static int link_type(int fd, const char *ifname, uint16_t *out) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strnlen(ifname, IF_NAMESIZE - 1));
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) return -errno;
  switch (ifr.ifr_hwaddr.sa_family) {
  case ARPHRD_ETHER:
  case ARPHRD_LOOPBACK:
    *out = TW_LINK_ETH;
    return 0;
  case ARPHRD_NONE: /* tun */
  case ARPHRD_PPP:
  case ARPHRD_RAWIP:
    *out = TW_LINK_RAW;
    return 0;
  default:
    return -ENOTSUP;
  }
}

/* The waiters' filter (its program reads Ethernet frames), else the broad
 * one. */
static int attach_filter(tw_loop *loop, struct tw_capture *c) {
  if (c->linktype == TW_LINK_ETH && tw__capfilter_attach(loop, c->fd) == 0) {
    c->filter = TW_FILTER_WAITERS;
    return 0;
  }
  return attach_broad(c);
}

void tw__capture_broaden(tw_loop *loop) {
  struct tw_capstate *s = loop->capture;
  if (!s) return;
  for (tw_queue *e = s->caps.next; e != &s->caps; e = e->next) {
    struct tw_capture *c = tw_queue_entry(e, struct tw_capture, q);
    if (c->filter != TW_FILTER_BROAD) attach_broad(c);
  }
}

static int cap_setup(tw_loop *loop, struct tw_capture *c) {
  c->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -errno;
  /* Protocol 0 above: nothing is queued until bind() below, after the
   * ring and the filter are in place, so no unfiltered frame slips in. */
  int err = link_type(c->fd, c->ifname, &c->linktype);
  if (err) return err;
  int v = TPACKET_V2;
  if (setsockopt(c->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) return -errno;
  /* Receive timestamps taken when the packet enters the stack rather than
   * when it reaches the ring. */
  int one = 1;
  setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  err = set_outgoing(c, (c->flags & TW_CAPTURE_OUTGOING) != 0);
  if (err) return err;
  err = attach_filter(loop, c);
  if (err) return err;
  struct tpacket_req req = {.tp_block_size = BLOCK_SIZE,
                            .tp_block_nr = RING_SIZE / BLOCK_SIZE,
                            .tp_frame_size = FRAME_SIZE,
                            .tp_frame_nr = RING_SIZE / FRAME_SIZE};
  if (setsockopt(c->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) return -errno;
  c->frames = req.tp_frame_nr;
  void *ring = mmap(NULL, RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, c->fd, 0);
  if (ring == MAP_FAILED) /* RLIMIT_MEMLOCK: fine unlocked */
    ring = mmap(NULL, RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
  if (ring == MAP_FAILED) return -errno;
  c->ring = ring;
  if (c->flags & TW_CAPTURE_PROMISC) {
    err = set_promisc(c);
    if (err) return err;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = c->ifindex;
  if (bind(c->fd, (struct sockaddr *)&sll, sizeof sll) < 0) return -errno;
  return 0;
}

int tw_capture_open(tw_loop *loop, tw_capture **out, const char *ifname, unsigned flags) {
  if (out) *out = NULL;
  if (!loop || !out || !ifname || strlen(ifname) >= IF_NAMESIZE) return -EINVAL;
  if (flags & ~(unsigned)(TW_CAPTURE_PROMISC | TW_CAPTURE_OUTGOING)) return -EINVAL;
  if (loop->closing) return -ECANCELED;
  unsigned ifindex = if_nametoindex(ifname);
  if (!ifindex) return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
  struct tw_capstate *s = capstate(loop);
  if (!s) return -ENOMEM;
  for (tw_queue *e = s->caps.next; e != &s->caps; e = e->next) {
    struct tw_capture *c = tw_queue_entry(e, struct tw_capture, q);
    if (c->ifindex != (int)ifindex) continue;
    if ((flags & TW_CAPTURE_PROMISC) && !(c->flags & TW_CAPTURE_PROMISC)) {
      int err = set_promisc(c);
      if (err) return err;
    }
    if ((flags & TW_CAPTURE_OUTGOING) && !(c->flags & TW_CAPTURE_OUTGOING))
      set_outgoing(c, 1);
    c->refs++;
    *out = c;
    return 0;
  }
  struct tw_capture *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  c->fd = -1;
  c->ifindex = (int)ifindex;
  strcpy(c->ifname, ifname);
  c->flags = flags;
  int err = cap_setup(loop, c);
  if (err) {
    cap_free(&c->h);
    return err;
  }
  tw__handle_init(loop, &c->h, &cap_ops, NULL);
  tw__watch_init(&c->w, c->fd, cap_ready);
  tw__watch_set(loop, &c->w, TW_READABLE);
  tw__handle_start(&c->h);
  tw_unref(c); /* waiters keep the loop running, not the capture */
  c->refs = 1;
  tw_queue_push(&s->caps, &c->q);
  *out = c;
  return 0;
}

int tw_capture_release(tw_capture *c) {
  int err = tw__handle_usable(c, &cap_ops);
  if (err) return err == -ECANCELED ? 0 : err;
  if (--c->refs > 0) return c->refs;
  tw_close(c, NULL);
  return 0;
}

int tw_capture_refs(const tw_capture *c) {
  return tw__handle_check(c, &cap_ops) ? -EINVAL : c->refs;
}

int tw_capture_ifindex(const tw_capture *c) {
  return tw__handle_check(c, &cap_ops) ? -EINVAL : c->ifindex;
}

const char *tw_capture_ifname(const tw_capture *c) {
  return tw__handle_check(c, &cap_ops) ? NULL : c->ifname;
}

int tw__capture_fd(const tw_capture *c) {
  return tw__handle_check(c, &cap_ops) ? -EINVAL : c->fd;
}

int tw_capture_stats_get(tw_capture *c, tw_capture_stats *st) {
  int err = tw__handle_check(c, &cap_ops);
  if (err || !st) return -EINVAL;
  read_stats(c);
  c->st.filter = c->filter;
  *st = c->st;
  return 0;
}
