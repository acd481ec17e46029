#!/usr/bin/python3
"""udp_flood.py: a UDP service of the trawl lab's hostile part
(tests/lab/hostile/hostile-lab.sh) that answers every datagram with 100
datagrams (512 bytes each, "TRAWL-HOSTILE-UDP n/100" then padding).

  udp_flood.py ADDR PORT [--count N] [--lifetime SECS]

At most 2,000 datagrams a second go out (a bucket refilled each second), so
a probe storm cannot turn it into a flood of the whole lab. Exits after
--lifetime seconds (default 900). One line per datagram received on
stdout."""
import argparse
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--lifetime", type=float, default=900.0)
    a = ap.parse_args()
    end = time.monotonic() + a.lifetime
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.addr, a.port))
    s.settimeout(0.5)
    budget, second = 2000, int(time.monotonic())
    while time.monotonic() < end:
        try:
            m, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        sent = 0
        for i in range(a.count):
            now = int(time.monotonic())
            if now != second:
                budget, second = 2000, now
            if budget == 0:
                break
            budget -= 1
            d = ("TRAWL-HOSTILE-UDP %d/%d " % (i + 1, a.count)).encode()
            try:
                s.sendto(d + b"u" * (512 - len(d)), peer)
                sent += 1
            except OSError:
                break
        print("%s:%d got %d bytes, sent %d datagrams" % (peer[0], peer[1], len(m), sent), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
