#!/usr/bin/python3
"""raw_hostile.py IFACE ADDR SECONDS: hostile raw replies for the raw-packet
scripts' lab test (tests/lab/test_raw_scripts.sh), run inside a lab host's
namespace whose kernel is told (nftables) to ignore ICMP echo requests and
SYNs to ports 7777-7779. Reads frames to ADDR on IFACE (AF_PACKET) and
answers them by hand:
  - ICMP echo request: an echo reply whose IP options are a record route
    option broken in turn: pointer 3 (below the first slot), pointer 200
    (past the option), length 40 overrunning the 24 bytes of options,
    length 2 (no slot), then a reply cut short (IP total length beyond the
    frame), then a good option with 2 slots filled;
  - SYN to 7777: a SYN+ACK whose TCP options are bad (a length of 1 after
    the MSS); to 7778: a SYN+ACK whose last option runs past the header;
    to 7779: a SYN+ACK with a window scale of 200 and a timestamp of 0.
Plain python3, no scapy. Exits after SECONDS; prints one line per reply.
Only 198.18.0.0/15 addresses are answered."""
import ipaddress
import select
import socket
import struct
import sys
import time

LAB = ipaddress.ip_network("198.18.0.0/15")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload, opts=b"", tot_extra=0, ttl=64, df=True):
    hl = 20 + len(opts)
    tot = hl + len(payload) + tot_extra
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | hl // 4, 0, tot, 0, 0x4000 if df else 0, ttl,
                    proto, 0, src, dst) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(src, dst, sport, dport, seq, ack, flags, win, opts):
    off = (20 + len(opts)) // 4
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0, 0) + opts
    ph = src + dst + struct.pack("!BBH", 0, 6, len(t))
    return t[:16] + struct.pack("!H", csum(ph + t)) + t[18:]


A1 = socket.inet_aton("198.18.11.1")
A2 = socket.inet_aton("198.18.30.1")
RR_VARIANTS = [
    ("rr-pointer-3", bytes([7, 23, 3]) + bytes(20) + b"\0", 0),
    ("rr-pointer-200", bytes([7, 23, 200]) + bytes(20) + b"\0", 0),
    ("rr-length-overrun", bytes([7, 40, 4]) + bytes(20) + b"\0", 0),
    ("rr-length-2", bytes([7, 2, 4, 1]), 0),
    ("truncated", bytes([7, 11, 12]) + A1 + A2 + b"\0", 200),
    ("rr-good", bytes([7, 11, 12]) + A1 + A2 + b"\0", 0),
]
SYNACK_OPTS = {
    7777: ("tcp-opt-len-1", bytes([2, 4, 5, 0xB4, 8, 1, 0, 0])),
    7778: ("tcp-opt-overrun", bytes([2, 4, 5, 0xB4, 3, 9, 7, 0])),
    7779: ("exws-ts1-zero", bytes([2, 4, 5, 0xB4, 1, 3, 3, 200, 8, 10]) + bytes(8) + b"\0\0"),
}


def main():
    iface, addr, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    me = socket.inet_aton(addr)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    print("ready", flush=True)
    end = time.monotonic() + secs
    nrr = 0
    while (left := end - time.monotonic()) > 0:
        if not select.select([s], [], [], min(left, 1.0))[0]:
            continue
        f = s.recv(4096)
        if len(f) < 34 or f[12:14] != b"\x08\x00":
            continue
        ip = f[14:]
        hl = (ip[0] & 15) * 4
        if hl < 20 or len(ip) < hl + 8 or ip[16:20] != me:
            continue
        src = ip[12:16]
        if ipaddress.ip_address(src) not in LAB:
            continue
        eth = f[6:12] + f[0:6] + b"\x08\x00"
        proto, l4 = ip[9], ip[hl:]
        if proto == 1 and l4[0] == 8:  # echo request
            name, opts, extra = RR_VARIANTS[nrr % len(RR_VARIANTS)]
            nrr += 1
            icmp = b"\0\0\0\0" + l4[4:8] + l4[8:]
            icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
            s.send(eth + ip4(me, src, 1, icmp, opts, extra))
            print("echo reply", name, flush=True)
        elif proto == 6 and len(l4) >= 20 and l4[13] & 0x12 == 0x02:
            sport, dport, seq = struct.unpack("!HHI", l4[:8])
            if dport not in SYNACK_OPTS:
                continue
            name, opts = SYNACK_OPTS[dport]
            t = tcp(me, src, dport, sport, 12345, (seq + 1) & 0xFFFFFFFF, 0x12, 29200, opts)
            s.send(eth + ip4(me, src, 6, t))
            print("syn-ack", dport, name, flush=True)


if __name__ == "__main__":
    main()
