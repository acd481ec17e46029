/* scan-floor.c: the floor of a SYN scan on this machine, for bench/scan.sh.
 *
 * What it measures: how long the link and the target's kernel need to take
 * a SYN scan's probes and answer them, with no scanner in the way. It sends
 * one SYN to every TARGET x PORT at full speed (sendmmsg(2) of Ethernet
 * frames on AF_PACKET sockets, qdisc bypassed, no rate control, no
 * retries) and counts the answers on TPACKET_V3 receive rings (a classic
 * BPF filter keeps TCP segments to the sender's source port; the loop
 * checks the acknowledgement number and drops duplicates). It stops when
 * every probe has been answered (SYN+ACK or RST) or when no new answer
 * came for IDLE_MS after the last probe left.
 *
 * Why: a scanner's time alone says little, and its ratio to nmap depends
 * on the topology (issue 16). This program does only what any SYN scanner
 * must do, so trawl's time over this one (vs_floor) says how much of the
 * scan is trawl's own work: engine, rate control, waiting, re-sending.
 *
 * Senders: on a veth the target's kernel does its work (route lookup, SYN
 * handling, the SYN+ACK, and the scanner kernel's RST back) in softirq on
 * the CPU that sent the frame, inside sendmmsg(2); a profile shows nothing
 * else. So one sender is bound by one core, and the floor of the machine
 * takes one sender per core (-j, default: the online CPUs), each with a
 * slice of the probes, its own sockets, ring and source port. Sockets and
 * rings are set up before the clock starts.
 *
 * elapsed is from the first probe to the last new answer (or to the last
 * probe sent, if that is later); the idle wait at the end is not in it but
 * in wall. On a lossy link the floor is this one pass at full speed: it
 * re-sends nothing, so its answers are what one pass gets (about 95 % at
 * 5 % random loss) and its time is that of one pass, a lower bound for a
 * scanner that must also recover the lost probes.
 *
 *   scan-floor [-j SENDERS] IFNAME SRC_IP DST_MAC NET/LEN PORTS [IDLE_MS]
 *   PORTS: a list like 22,80,443 or 1-65535; IDLE_MS default 500.
 * Prints one line:
 *   floor elapsed=<s> wall=<s> send=<s> senders=<n> probes=<n> synack=<n>
 *         rst=<n> ring_drops=<n> send_retries=<n>
 * (send: time until every probe was handed to the kernel; ring_drops:
 * frames the receive rings had no room for, from PACKET_STATISTICS.) */
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
#include <pthread.h>
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
#define BLOCK (1u << 20)   /* each sender's receive ring: 32 blocks of 1 MiB */
#define NBLOCKS 32
#define MAX_SENDERS 64

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

/* What every sender shares. Only seen changes while they run (atomically:
 * two senders' probes can share a byte). */
struct scan {
	uint8_t *seen;          /* one bit per probe: answered already */
	int32_t port_ix[65536]; /* port -> index in ports[], or -1 */
	uint16_t ports[65535];
	uint32_t base, nhosts, src;
	int nports, ifindex;
	uint8_t smac[6], dmac[6];
	double idle, t0;
};

/* One sender: a slice of the probes, its own sockets and source port. */
struct sender {
	struct scan *s;
	pthread_t tid;
	int tx, rx;
	uint8_t *ring;
	uint64_t from, to;
	uint16_t sport;
	long synack, rst, retries;
	double last, sent, end;
	unsigned drops;
};

/* Count one received frame if it answers one of w's probes for the first
 * time. Returns 1 when it was new. */
static int count_frame(struct sender *w, const uint8_t *f, unsigned len)
{
	const struct scan *c = w->s;
	if (len < 34 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	const struct iphdr *ip = (const struct iphdr *)(f + 14);
	unsigned ihl = ip->ihl * 4u;
	if (ip->protocol != IPPROTO_TCP || len < 14 + ihl + 20)
		return 0;
	const struct tcphdr *tcp = (const struct tcphdr *)(f + 14 + ihl);
	uint32_t from = ntohl(ip->saddr), host = from - c->base;
	uint16_t port = ntohs(tcp->source);
	if (ntohs(tcp->dest) != w->sport || host >= c->nhosts || c->port_ix[port] < 0 ||
	    !tcp->ack || ntohl(tcp->ack_seq) != seq_of(from, port) + 1 || !(tcp->syn || tcp->rst))
		return 0;
	uint64_t bit = (uint64_t)host * c->nports + (uint64_t)c->port_ix[port];
	uint8_t mask = (uint8_t)(1u << bit % 8);
	if (__atomic_fetch_or(&c->seen[bit / 8], mask, __ATOMIC_RELAXED) & mask)
		return 0;
	if (tcp->syn)
		w->synack++;
	else
		w->rst++;
	return 1;
}

/* Walk every block the kernel has handed over. Returns new answers. */
static long drain(uint8_t *ring, unsigned *next, struct sender *w)
{
	long fresh = 0;
	for (;;) {
		struct tpacket_block_desc *bd = (void *)(ring + (size_t)*next * BLOCK);
		if (!(bd->hdr.bh1.block_status & TP_STATUS_USER))
			return fresh;
		struct tpacket3_hdr *h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
		for (uint32_t i = 0; i < bd->hdr.bh1.num_pkts; i++) {
			fresh += count_frame(w, (uint8_t *)h + h->tp_mac, h->tp_snaplen);
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

/* A sender's thread: send its slice at full speed, then wait for the
 * answers (all of them, or until none came for idle seconds). */
static void *run_sender(void *arg)
{
	struct sender *w = arg;
	const struct scan *c = w->s;
	int tx = w->tx, rx = w->rx;
	uint8_t *ring = w->ring;
	unsigned next = 0;
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = c->ifindex, .sll_halen = 6 };
	memcpy(to.sll_addr, c->dmac, 6);

	uint8_t frames[BATCH][FRAME];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ frames[i], FRAME };
		msg[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof to,
						  .msg_iov = &iov[i], .msg_iovlen = 1 };
		msg[i].msg_len = 0;
	}

	long answers = 0;
	uint64_t k = w->from;
	w->last = c->t0;
	while (k < w->to) {
		int n = 0;
		for (; n < BATCH && k + n < w->to; n++) {
			uint64_t p = k + n;
			build_syn(frames[n], c->smac, c->dmac, c->src, c->base + (uint32_t)(p / c->nports),
				  w->sport, c->ports[p % c->nports]);
		}
		int done = 0;
		while (done < n) {
			int r = sendmmsg(tx, msg + done, (unsigned)(n - done), 0);
			if (r < 0) {
				if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
					die("sendmmsg");
				w->retries++;
				usleep(50);
				continue;
			}
			done += r;
		}
		k += n;
		long fresh = drain(ring, &next, w);
		if (fresh) {
			answers += fresh;
			w->last = now();
		}
	}
	w->sent = now();
	if (w->last < w->sent)
		w->last = w->sent;
	while ((uint64_t)answers < w->to - w->from) {
		double left = w->last + c->idle - now();
		if (left <= 0)
			break;
		struct pollfd pfd = { rx, POLLIN, 0 };
		poll(&pfd, 1, (int)(left * 1000) + 1);
		long fresh = drain(ring, &next, w);
		if (fresh) {
			answers += fresh;
			w->last = now();
		}
	}
	w->end = now();
	struct tpacket_stats_v3 st = { 0 };
	socklen_t sl = sizeof st;
	getsockopt(rx, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	w->drops = st.tp_drops;
	return NULL;
}

int main(int argc, char **argv)
{
	static struct scan c;
	static struct sender w[MAX_SENDERS];
	struct in_addr a;
	char net[64];
	int plen = 32, nsend = (int)sysconf(_SC_NPROCESSORS_ONLN), opt;

	while ((opt = getopt(argc, argv, "j:")) != -1) {
		if (opt != 'j')
			return 2;
		nsend = atoi(optarg);
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 6) {
		fprintf(stderr, "usage: scan-floor [-j SENDERS] IFNAME SRC_IP DST_MAC NET/LEN PORTS [IDLE_MS]\n");
		return 2;
	}
	if (nsend < 1)
		nsend = 1;
	if (nsend > MAX_SENDERS)
		nsend = MAX_SENDERS;
	c.idle = (argc > 6 ? atoi(argv[6]) : 500) / 1000.0;
	c.ifindex = (int)if_nametoindex(argv[1]);
	if (!c.ifindex)
		die(argv[1]);
	if (!inet_aton(argv[2], &a) || !parse_mac(argv[3], c.dmac)) {
		fprintf(stderr, "scan-floor: bad source address or MAC\n");
		return 2;
	}
	c.src = ntohl(a.s_addr);
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
	c.nports = parse_ports(argv[5], c.ports);
	memset(c.port_ix, 0xff, sizeof c.port_ix);
	for (int i = 0; i < c.nports; i++)
		c.port_ix[c.ports[i]] = i;
	uint64_t probes = (uint64_t)c.nhosts * c.nports;
	c.seen = calloc(probes / 8 + 1, 1);
	if (!c.seen)
		die("calloc");
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[1]);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR");
	memcpy(c.smac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);

	/* Every sender's sockets are ready before the clock starts. */
	uint16_t sport = (uint16_t)(40000 + getpid() % 20000);
	for (int i = 0, one = 1, sndbuf = 4 << 20; i < nsend; i++) {
		w[i] = (struct sender){ .s = &c, .sport = (uint16_t)(sport + i),
					.from = probes * (uint64_t)i / (uint64_t)nsend,
					.to = probes * (uint64_t)(i + 1) / (uint64_t)nsend };
		w[i].tx = socket(AF_PACKET, SOCK_RAW, 0);
		if (w[i].tx < 0)
			die("socket(AF_PACKET) tx");
		setsockopt(w[i].tx, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
		setsockopt(w[i].tx, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
		w[i].rx = open_rx(c.ifindex, w[i].sport, &w[i].ring);
	}
	c.t0 = now();
	for (int i = 0; i < nsend; i++)
		if (pthread_create(&w[i].tid, NULL, run_sender, &w[i]))
			die("pthread_create");
	double last = c.t0, sent = c.t0, end = c.t0;
	long synack = 0, rst = 0, retries = 0;
	unsigned drops = 0;
	for (int i = 0; i < nsend; i++) {
		pthread_join(w[i].tid, NULL);
		last = w[i].last > last ? w[i].last : last;
		sent = w[i].sent > sent ? w[i].sent : sent;
		end = w[i].end > end ? w[i].end : end;
		synack += w[i].synack;
		rst += w[i].rst;
		retries += w[i].retries;
		drops += w[i].drops;
	}
	printf("floor elapsed=%.3f wall=%.3f send=%.3f senders=%d probes=%llu synack=%ld rst=%ld ring_drops=%u send_retries=%ld\n",
	       last - c.t0, end - c.t0, sent - c.t0, nsend, (unsigned long long)probes, synack, rst, drops,
	       retries);
	return 0;
}
