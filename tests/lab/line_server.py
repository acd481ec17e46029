#!/usr/bin/env python3
# line_server.py: the lab's one-line services, in one process each with no
# fork or exec per connection or datagram (socat's SYSTEM:echo forked a
# shell per client; under a loaded ASan run that child sometimes closed the
# connection before its line went out, and a forked UDP child could steal
# the next scanner's datagram).
#
#   line_server.py tcp PORT TEXT   on accept: send TEXT\n, then FIN; read and
#                                  drop what the client sends until it
#                                  closes or 10 s pass, then close (no RST
#                                  for data left unread). IPv4 and IPv6.
#   line_server.py udp PORT TEXT   answer TEXT\n to every datagram (IPv4)
#   line_server.py udp PORT echo   send every datagram back as it came
#
# Bounded: at most 4096 open connections (more are closed at once, still
# after their line), reads of 4 KiB that are dropped.
import selectors
import socket
import sys
import time

LINGER_S = 10.0
MAX_CONNS = 4096


def tcp(port, line):
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", port))
    ls.listen(1024)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    born = {}  # socket -> accept time
    while True:
        for key, _ in sel.select(1.0):
            if key.data is None:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                try:
                    c.send(line)  # a short line always fits the empty buffer
                    c.shutdown(socket.SHUT_WR)
                except OSError:
                    c.close()
                    continue
                if len(born) >= MAX_CONNS:
                    c.close()
                    continue
                born[c] = time.monotonic()
                sel.register(c, selectors.EVENT_READ, "c")
            else:
                c = key.fileobj
                try:
                    more = c.recv(4096)
                except OSError:
                    more = b""
                if not more:
                    sel.unregister(c)
                    born.pop(c, None)
                    c.close()
        now = time.monotonic()
        for c in [c for c, t in born.items() if now - t > LINGER_S]:
            sel.unregister(c)
            del born[c]
            c.close()


def udp(port, text):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(65535)
        try:
            s.sendto(data if text is None else text, peer)
        except OSError:
            pass


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("tcp", "udp"):
        sys.exit("usage: line_server.py tcp|udp PORT TEXT|echo")
    try:
        port = int(sys.argv[2])
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        sys.exit(f"line_server.py: bad port '{sys.argv[2]}'")
    text = sys.argv[3]
    if sys.argv[1] == "tcp":
        tcp(port, text.encode() + b"\n")
    else:
        udp(port, None if text == "echo" else text.encode() + b"\n")


if __name__ == "__main__":
    main()
