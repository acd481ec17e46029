/* packets_send.c: send small Ethernet frames (UDP, 60 bytes) out of an
 * interface as fast as possible, or at a given rate, and print the rate.
 *
 *   packets_send MODE IFNAME DSTMAC COUNT [RATE_PPS] [bypass] [to=IP:PORT]
 *   MODE: trawl       libtrawl's tw_rawsend() from an idle hook (the batch
 *                     flushes itself when full or before the loop waits)
 *         ref-sendto  one sendto(2) per frame on an AF_PACKET socket
 *         ref-mmsg    sendmmsg(2) of 256 prebuilt frames at a time
 *   bypass: PACKET_QDISC_BYPASS on the socket (both trawl and ref)
 *   to=IP:PORT: the frames' IPv4 destination and UDP port (default
 *               198.18.222.2:9); the source is always 198.18.222.1:40000
 * With a rate, the ref modes sleep whenever they are ahead of it, so frames
 * leave in bursts of about 16.
 * Prints: pps=<frames the kernel took per second> sent=<n> */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <trawl/rawsend.h>
#include <trawl/trawl.h>

#define LEN 60
#define BATCH 256

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t frame[LEN];
static uint8_t dst_ip[4] = {198, 18, 222, 2};
static unsigned dst_port = 9;
static uint64_t count, sent, rate, t_start;

static void build(const char *dstmac) {
  unsigned m[6];
  if (sscanf(dstmac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) exit(2);
  for (int i = 0; i < 6; i++) frame[i] = (uint8_t)m[i];
  const uint8_t src[6] = {2, 0x74, 0x62, 0, 0, 1};
  memcpy(frame + 6, src, 6);
  frame[12] = 8;
  uint8_t *ip = frame + 14;
  ip[0] = 0x45;
  ip[2] = 0; ip[3] = 46 - 0 ; /* total length 46: 20 IP + 8 UDP + 18 payload */
  ip[8] = 64;
  ip[9] = 17;
  uint8_t s[4] = {198, 18, 222, 1};
  memcpy(ip + 12, s, 4);
  memcpy(ip + 16, dst_ip, 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = (uint8_t)(~sum >> 8);
  ip[11] = (uint8_t)~sum;
  uint8_t *u = ip + 20;
  u[0] = 0x9c; u[1] = 0x40; /* 40000 */
  u[2] = (uint8_t)(dst_port >> 8); u[3] = (uint8_t)dst_port; /* 9: discard */
  u[4] = 0; u[5] = 26;
}

/* With a rate: how many frames may go now. When none may, sleep until 16
 * may: a paced sender that spins would take a whole CPU from the receiver
 * on a 2-core machine. */
static uint64_t allowed(void) {
  if (!rate) return count - sent;
  uint64_t el = now_ns() - t_start;
  uint64_t may = (uint64_t)((double)el * (double)rate / 1e9) + 16;
  if (may > count) may = count;
  if (may > sent) return may - sent;
  uint64_t due = t_start + (uint64_t)((double)sent * 1e9 / (double)rate);
  struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull), .tv_nsec = (long)(due % 1000000000ull)};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  return 0;
}

static tw_rawsock *rs;
static void idle(tw_hook *h, int status) {
  uint64_t n = allowed();
  if (n > BATCH) n = BATCH;
  for (uint64_t i = 0; i < n; i++) {
    if (tw_rawsend(rs, frame, LEN, NULL, NULL) != 0) break; /* -EAGAIN: next pass */
    sent++;
  }
  if (sent == count) {
    tw_rawsend_flush(rs);
    tw_hook_stop(h);
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: packets_send MODE IFNAME DSTMAC COUNT [RATE] [bypass] [to=IP:PORT]\n");
    return 2;
  }
  const char *mode = argv[1], *ifname = argv[2];
  int bypass = 0;
  for (int i = 6; i < argc; i++) {
    unsigned a, b, c, d;
    if (!strcmp(argv[i], "bypass")) {
      bypass = 1;
    } else if (sscanf(argv[i], "to=%u.%u.%u.%u:%u", &a, &b, &c, &d, &dst_port) == 5 &&
               a < 256 && b < 256 && c < 256 && d < 256 && dst_port < 65536) {
      dst_ip[0] = (uint8_t)a, dst_ip[1] = (uint8_t)b, dst_ip[2] = (uint8_t)c, dst_ip[3] = (uint8_t)d;
    } else {
      fprintf(stderr, "packets_send: bad argument %s\n", argv[i]);
      return 2;
    }
  }
  build(argv[3]);
  count = strtoull(argv[4], NULL, 10);
  rate = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
  t_start = now_ns();
  if (!strcmp(mode, "trawl")) {
    tw_loop *loop;
    tw_loop_new(&loop);
    int err = tw_rawsock_new(loop, &rs, TW_RAW_ETH, ifname, bypass ? TW_RAW_QDISC_BYPASS : 0, NULL);
    if (err) { fprintf(stderr, "rawsock: %s\n", tw_strerror(err)); return 1; }
    tw_hook *h;
    tw_hook_new(loop, &h, TW_HOOK_IDLE, NULL);
    tw_hook_start(h, idle);
    t_start = now_ns();
    tw_loop_run(loop, TW_RUN_DEFAULT);
    tw_rawsend_stats st;
    tw_rawsend_stats_get(rs, &st);
    uint64_t dt = now_ns() - t_start;
    printf("pps=%.0f sent=%llu failed=%llu\n", (double)st.sent * 1e9 / (double)dt,
           (unsigned long long)st.sent, (unsigned long long)st.failed);
    tw_loop_close(loop);
    return 0;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)if_nametoindex(ifname);
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }
  int one = 1;
  if (bypass) setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  int sb = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
  uint64_t ok = 0;
  t_start = now_ns();
  if (!strcmp(mode, "ref-sendto")) {
    while (sent < count) {
      uint64_t n = allowed();
      for (uint64_t i = 0; i < n; i++, sent++)
        if (send(fd, frame, LEN, 0) == LEN) ok++;
    }
  } else if (!strcmp(mode, "ref-mmsg")) {
    static struct mmsghdr msgs[BATCH];
    static struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = frame;
      iov[i].iov_len = LEN;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (sent < count) {
      uint64_t n = allowed();
      if (n > BATCH) n = BATCH;
      if (!n) continue;
      int r = sendmmsg(fd, msgs, (unsigned)n, 0);
      if (r > 0) ok += (uint64_t)r, sent += (uint64_t)r;
      else if (r < 0 && errno != EAGAIN && errno != ENOBUFS) sent++; /* skip a refused one */
      else if (r < 0) sent++;
    }
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  uint64_t dt = now_ns() - t_start;
  printf("pps=%.0f sent=%llu failed=%llu\n", (double)ok * 1e9 / (double)dt, (unsigned long long)ok,
         (unsigned long long)(count - ok));
  close(fd);
  return 0;
}
