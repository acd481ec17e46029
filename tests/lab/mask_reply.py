#!/usr/bin/env python3
# mask_reply.py SECONDS: answers ICMP address mask requests (type 17) with
# an address mask reply (type 18, mask 255.255.255.0), as a host that
# implements RFC 950 would; Linux itself never answers them. Runs inside a
# lab namespace for at most SECONDS and at most 50 replies (bounded).
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    end = time.time() + float(sys.argv[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sent = 0
    while time.time() < end and sent < 50:
        s.settimeout(max(0.05, end - time.time()))
        try:
            pkt, (src, _) = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (pkt[0] & 15) * 4
        icmp = pkt[ihl:]
        if len(icmp) < 12 or icmp[0] != 17 or icmp[1] != 0:
            continue
        body = struct.pack("!BBHHH4s", 18, 0, 0, *struct.unpack("!HH", icmp[4:8]),
                           socket.inet_aton("255.255.255.0"))
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        s.sendto(body, (src, 0))
        sent += 1
        print("replied to", src, flush=True)


main()
