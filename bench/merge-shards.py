#!/usr/bin/python3
"""merge-shards.py: synthetic shard outputs for measuring `trawl merge`
(docs/merge.md, "Memory").

    bench/merge-shards.py DIR [SHARDS [PREFIX [PORTS]]]

Writes DIR/shardI.xml for I in 0..SHARDS-1 (default 10) of one scan of
PREFIX (default 198.19.0.0/16) x ports 1-PORTS (default 1000), as trawl
would write them for the lab's AnyIP host: every address up, ports 22, 80
and 443 open, the rest closed. Each (host, port) pair belongs to one shard
(a seeded pseudo-random choice, like the permutation's), so a shard's host
lists its own open ports and counts its closed ones in <extraports>. Every
shard lists every host, in address order, with the same header but for
--shard, like real shards. Also writes DIR/expect.txt: the merged scan's
hosts up and the total of open ports, for checking the merge."""
import ipaddress
import random
import sys


def main():
    out = sys.argv[1]
    shards = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    net = ipaddress.ip_network(sys.argv[3] if len(sys.argv) > 3 else "198.19.0.0/16")
    nports = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    opened = [p for p in (22, 80, 443) if p <= nports]
    rng = random.Random(1)
    files = [open("%s/shard%d.xml" % (out, i), "w", encoding="utf-8") for i in range(shards)]
    t0 = 1796480000
    for i, f in enumerate(files):
        args = ("trawl -sS -n -Pn --seed 42 --shards %d --shard %d -p 1-%d %s -oX shard%d.xml"
                % (shards, i, nports, net, i))
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
                '<nmaprun scanner="nmap" args="%s" start="%d" startstr="Sat Dec  5 14:53:20 2026" '
                'version="0.1.0" xmloutputversion="1.05">\n'
                '<scaninfo type="syn" protocol="tcp" numservices="%d" services="1-%d"/>\n'
                '<verbose level="0"/>\n<debugging level="0"/>\n' % (args, t0 + i, nports, nports))
    total_open = 0
    for a in net:
        closed = [0] * shards
        op = [[] for _ in range(shards)]
        for p in range(1, nports + 1):
            s = rng.randrange(shards)
            if p in opened:
                op[s].append(p)
            else:
                closed[s] += 1
        total_open += len(opened)
        for s, f in enumerate(files):
            w = f.write
            w('<host starttime="%d" endtime="%d"><status state="up" reason="user-set" reason_ttl="0"/>\n'
              '<address addr="%s" addrtype="ipv4"/>\n<hostnames>\n</hostnames>\n<ports>' % (t0 + s, t0 + s + 60, a))
            c = closed[s]
            if c > 26:
                w('<extraports state="closed" count="%d">\n'
                  '<extrareasons reason="reset" count="%d" proto="tcp"/>\n</extraports>\n' % (c, c))
            for p in op[s]:
                w('<port protocol="tcp" portid="%d"><state state="open" reason="syn-ack" reason_ttl="63"/>'
                  '<service name="%s" method="table" conf="3"/></port>\n'
                  % (p, {22: "ssh", 80: "http", 443: "https"}[p]))
            if c <= 26:
                pass  # not reached with 10 shards of 1,000 ports
            w('</ports>\n<times srtt="120" rttvar="80" to="100000"/>\n</host>\n')
    n = net.num_addresses
    for s, f in enumerate(files):
        f.write('<runstats><finished time="%d" timestr="Sat Dec  5 14:54:20 2026" summary="Trawl done" '
                'elapsed="60.00" exit="success"/><hosts up="%d" down="0" total="%d"/>\n'
                '</runstats>\n</nmaprun>\n' % (t0 + s + 60, n, n))
        f.close()
    with open("%s/expect.txt" % out, "w") as f:
        f.write("%d %d\n" % (n, total_open))


main()
