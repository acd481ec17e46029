/* scan-floor.c: the floor of a SYN scan on this machine, for bench/scan.sh.
 *
 * What it measures: how long the link and the target's kernel need to take
 * a SYN scan's probes and answer them, with no scanner in the way. It sends
 * one SYN to every TARGET x PORT at full speed (sendmmsg(2) of prebuilt
 * Ethernet frames on an AF_PACKET socket, qdisc bypassed, no rate control,
 * no retries) and counts the answers on a TPACKET_V3 receive ring (a
 * classic BPF filter keeps TCP segments to its source port; the loop checks
 * the acknowledgement number and drops duplicates). It stops when every
 * probe has been answered (SYN+ACK or RST) or when no new answer came for
 * IDLE_MS after the last probe left.
 *
 * Why: a scanner's time alone says little, and its ratio to nmap depends
 * on the topology (issue 16). This program does only what any SYN scanner
 * must do, so trawl's time over this one (vs_floor) says how much of the
 * scan is trawl's own work: engine, rate control, waiting, re-sending.
 *
 * elapsed is from the first probe to the last new answer (or to the last
 * probe sent, if that is later); the idle wait at the end is not in it but
 * in wall. On a lossy link the floor is this one pass at full speed: it
 * re-sends nothing, so its answers are what one pass gets (about 95 % at
 * 5 % random loss) and its time is that of one pass, a lower bound for a
 * scanner that must also recover the lost probes.
 *
 *   scan-floor IFNAME SRC_IP DST_MAC NET/LEN PORTS [IDLE_MS]
 *   PORTS: a list like 22,80,443 or 1-65535; IDLE_MS default 500.
 * Prints one line:
 *   floor elapsed=<s> wall=<s> send=<s> probes=<n> synack=<n> rst=<n>
 *         ring_drops=<n> send_retries=<n>
 * (send: time to hand every probe to the kernel; ring_drops: frames the
 * receive ring had no room for, from PACKET_STATISTICS.) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256          /* frames per sendmmsg(2) */
#define FRAME 54           /* Ethernet 14 + IPv4 20 + TCP 20 */
#define BLOCK (1u << 20)   /* receive ring: 32 blocks of 1 MiB */
#define NBLOCKS 32

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The probe's sequence number, so that an answer's ack can be checked. */
static uint32_t seq_of(uint32_t ip, uint16_t port)
{
	uint32_t h = ip * 0x9e3779b1u ^ port * 0x85ebca6bu;
	return h ^ h >> 15;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	return s;
}

/* Ports: "22,80,443", "1-65535" or a mix. Returns the count, fills list. */
static int parse_ports(const char *spec, uint16_t *list)
{
	int n = 0;
	char *copy = strdup(spec), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long a = strtol(t, &end, 10), b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		if (*end || a < 1 || b > 65535 || a > b) {
			fprintf(stderr, "scan-floor: bad port list %s\n", spec);
			exit(2);
		}
		for (long p = a; p <= b && n < 65535; p++)
			list[n++] = (uint16_t)p;
	}
	free(copy);
	return n;
}

/* One SYN from src:sport to dst:dport, Ethernet header included. */
static void build_syn(uint8_t *f, const uint8_t *smac, const uint8_t *dmac,
		      uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct iphdr *ip = (struct iphdr *)(f + 14);
	struct tcphdr *tcp = (struct tcphdr *)(f + 34);
	uint32_t s = 0;

	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 40);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(40);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = htonl(src);
	ip->daddr = htonl(dst);
	ip->check = htons(csum_fold(csum_add(0, ip, 20)));
	tcp->source = htons(sport);
	tcp->dest = htons(dport);
	tcp->seq = htonl(seq_of(dst, dport));
	tcp->doff = 5;
	tcp->syn = 1;
	tcp->window = htons(1024);
	s = csum_add(s, &ip->saddr, 8);
	s += IPPROTO_TCP + 20;
	tcp->check = htons(csum_fold(csum_add(s, tcp, 20)));
}

struct count {
	uint8_t *seen;       /* one bit per probe: answered already */
	int32_t port_ix[65536]; /* port -> index in the port list, or -1 */
	uint32_t base, nhosts;
	int nports;
	uint16_t sport;
	long synack, rst;
};

/* Count one received frame if it answers one of our probes for the first
 * time. Returns 1 when it was new. */
static int count_frame(struct count *c, const uint8_t *f, unsigned len)
{
	if (len < 34 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	const struct iphdr *ip = (const struct iphdr *)(f + 14);
	unsigned ihl = ip->ihl * 4u;
	if (ip->protocol != IPPROTO_TCP || len < 14 + ihl + 20)
		return 0;
	const struct tcphdr *tcp = (const struct tcphdr *)(f + 14 + ihl);
	uint32_t from = ntohl(ip->saddr), host = from - c->base;
	uint16_t port = ntohs(tcp->source);
	if (ntohs(tcp->dest) != c->sport || host >= c->nhosts || c->port_ix[port] < 0 ||
	    !tcp->ack || ntohl(tcp->ack_seq) != seq_of(from, port) + 1)
		return 0;
	uint64_t bit = (uint64_t)host * c->nports + (uint64_t)c->port_ix[port];
	if (c->seen[bit / 8] & (1u << bit % 8))
		return 0;
	if (tcp->syn)
		c->synack++;
	else if (tcp->rst)
		c->rst++;
	else
		return 0;
	c->seen[bit / 8] |= (uint8_t)(1u << bit % 8);
	return 1;
}

/* Walk every block the kernel has handed over. Returns new answers. */
static long drain(uint8_t *ring, unsigned *next, struct count *c)
{
	long fresh = 0;
	for (;;) {
		struct tpacket_block_desc *bd = (void *)(ring + (size_t)*next * BLOCK);
		if (!(bd->hdr.bh1.block_status & TP_STATUS_USER))
			return fresh;
		struct tpacket3_hdr *h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
		for (uint32_t i = 0; i < bd->hdr.bh1.num_pkts; i++) {
			fresh += count_frame(c, (uint8_t *)h + h->tp_mac, h->tp_snaplen);
			h = (void *)((uint8_t *)h + h->tp_next_offset);
		}
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		*next = (*next + 1) % NBLOCKS;
	}
}

/* The receive socket: TCP to dst port SPORT only, then a TPACKET_V3 ring,
 * then bound (reception starts at bind, after the filter is in place). */
static int open_rx(int ifindex, uint16_t sport, uint8_t **ring)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 7),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 5),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 3, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sport, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 128),
	};
	struct sock_fprog prog = { sizeof code / sizeof code[0], code };
	int fd = socket(AF_PACKET, SOCK_RAW, 0), v = TPACKET_V3;
	if (fd < 0)
		die("socket(AF_PACKET) rx");
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
		die("SO_ATTACH_FILTER");
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0)
		die("PACKET_VERSION");
	struct tpacket_req3 req = {
		.tp_block_size = BLOCK, .tp_block_nr = NBLOCKS,
		.tp_frame_size = 2048, .tp_frame_nr = BLOCK / 2048 * NBLOCKS,
		.tp_retire_blk_tov = 1,
	};
	if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
		die("PACKET_RX_RING");
	*ring = mmap(NULL, (size_t)BLOCK * NBLOCKS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*ring == MAP_FAILED)
		die("mmap ring");
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = ifindex };
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
		die("bind rx");
	return fd;
}

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
		      &m[5]) == 6;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: scan-floor IFNAME SRC_IP DST_MAC NET/LEN PORTS [IDLE_MS]\n");
		return 2;
	}
	static struct count c;
	static uint16_t ports[65535];
	uint8_t smac[6], dmac[6];
	struct in_addr a;
	char net[64];
	int plen = 32;
	double idle = (argc > 6 ? atoi(argv[6]) : 500) / 1000.0;

	unsigned ifindex = if_nametoindex(argv[1]);
	if (!ifindex)
		die(argv[1]);
	if (!inet_aton(argv[2], &a) || !parse_mac(argv[3], dmac)) {
		fprintf(stderr, "scan-floor: bad source address or MAC\n");
		return 2;
	}
	uint32_t src = ntohl(a.s_addr);
	snprintf(net, sizeof net, "%s", argv[4]);
	char *slash = strchr(net, '/');
	if (slash) {
		*slash = 0;
		plen = atoi(slash + 1);
	}
	if (!inet_aton(net, &a) || plen < 8 || plen > 32) {
		fprintf(stderr, "scan-floor: bad target %s (IPv4, /8 to /32)\n", argv[4]);
		return 2;
	}
	c.nhosts = 1u << (32 - plen);
	c.base = ntohl(a.s_addr) & ~(c.nhosts - 1);
	c.nports = parse_ports(argv[5], ports);
	c.sport = (uint16_t)(40000 + getpid() % 20000);
	memset(c.port_ix, 0xff, sizeof c.port_ix);
	for (int i = 0; i < c.nports; i++)
		c.port_ix[ports[i]] = i;
	uint64_t probes = (uint64_t)c.nhosts * c.nports;
	c.seen = calloc(probes / 8 + 1, 1);
	if (!c.seen)
		die("calloc");

	int tx = socket(AF_PACKET, SOCK_RAW, 0), one = 1, sndbuf = 4 << 20;
	if (tx < 0)
		die("socket(AF_PACKET) tx");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[1]);
	if (ioctl(tx, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR");
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	setsockopt(tx, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
	setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex, .sll_halen = 6 };
	memcpy(to.sll_addr, dmac, 6);

	uint8_t *ring;
	unsigned next = 0;
	int rx = open_rx((int)ifindex, c.sport, &ring);

	static uint8_t frames[BATCH][FRAME];
	static struct iovec iov[BATCH];
	static struct mmsghdr msg[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ frames[i], FRAME };
		msg[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof to,
						  .msg_iov = &iov[i], .msg_iovlen = 1 };
	}

	long retries = 0, answers = 0;
	double t0 = now(), last = t0;
	uint64_t k = 0;
	while (k < probes) {
		int n = 0;
		for (; n < BATCH && k + n < probes; n++) {
			uint64_t p = k + n;
			build_syn(frames[n], smac, dmac, src, c.base + (uint32_t)(p / c.nports), c.sport,
				  ports[p % c.nports]);
		}
		int done = 0;
		while (done < n) {
			int r = sendmmsg(tx, msg + done, (unsigned)(n - done), 0);
			if (r < 0) {
				if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
					die("sendmmsg");
				retries++;
				usleep(50);
				continue;
			}
			done += r;
		}
		k += n;
		long fresh = drain(ring, &next, &c);
		if (fresh) {
			answers += fresh;
			last = now();
		}
	}
	double sent = now();
	if (last < sent)
		last = sent;
	while ((uint64_t)answers < probes) {
		double left = last + idle - now();
		if (left <= 0)
			break;
		struct pollfd pfd = { rx, POLLIN, 0 };
		poll(&pfd, 1, (int)(left * 1000) + 1);
		long fresh = drain(ring, &next, &c);
		if (fresh) {
			answers += fresh;
			last = now();
		}
	}
	double end = now();
	struct tpacket_stats_v3 st = { 0 };
	socklen_t sl = sizeof st;
	getsockopt(rx, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	printf("floor elapsed=%.3f wall=%.3f send=%.3f probes=%llu synack=%ld rst=%ld ring_drops=%u send_retries=%ld\n",
	       last - t0, end - t0, sent - t0, (unsigned long long)probes, c.synack, c.rst, st.tp_drops,
	       retries);
	return 0;
}
