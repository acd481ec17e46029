#!/usr/bin/python3
"""tcp_hostile.py: one hostile TCP service of the trawl lab's hostile part
(tests/lab/hostile/hostile-lab.sh), run inside a lab namespace.

  tcp_hostile.py MODE ADDR PORT [--scale N] [--lifetime SECS]

MODE:
  endless   sends an endless banner ("TRAWL-HOSTILE-ENDLESS " then 'A's) as
            fast as the peer takes it
  drip      sends "TRAWL-HOSTILE-DRIP" one byte every 3 s, then 'A's the same way
  tls-garbage  reads the ClientHello, answers 64 KiB x N of random bytes, then
            stays silent
  tls-stall reads the ClientHello, never answers
  http-header  reads the request, answers "HTTP/1.1 200 OK" and a 10 MB x N
            header (X-Junk lines of 1000 bytes), then a short body
  http-chunked  reads the request, answers an endless chunked body (4 KiB
            chunks as fast as the peer takes them)
  http-slowchunk  reads the request, answers a chunked body of one 8-byte
            chunk every 2 s, never the last chunk
  http-drip reads the request, answers "HTTP/1.1 200 OK\\r\\n..." one byte
            every 2 s, never ending the header

Every connection runs in a thread of its own (at most 256 at once; more are
closed at once); each is cut after --lifetime seconds at the latest, and the
whole server exits after --lifetime (default 900) too, so nothing outlives a
lab that was not torn down. One line per closed connection on stdout:
"MODE PEER sent=BYTES secs=S". --scale multiplies the sizes (tls-garbage,
http-header)."""
import argparse
import os
import socket
import sys
import threading
import time

MAX_CONN = 256


def read_some(c, deadline):
    """Read what the client sends first (a request or a ClientHello): until
    a blank line for HTTP, else the first record; at most 64 KiB."""
    got = b""
    c.settimeout(1.0)
    while len(got) < 65536 and time.monotonic() < deadline:
        try:
            b = c.recv(4096)
        except socket.timeout:
            if got:
                break
            continue
        if not b:
            break
        got += b
        if b"\r\n\r\n" in got or (got[:1] == b"\x16" and len(got) >= 5 and
                                  len(got) >= 5 + int.from_bytes(got[3:5], "big")):
            break
    c.settimeout(None)
    return got


def sendall_until(c, data, deadline):
    """Send data; False when the peer went away or time is up."""
    c.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        c.sendall(data)
        return time.monotonic() < deadline
    except OSError:
        return False


def wait_peer(c, deadline):
    """Stay silent until the peer closes or time is up."""
    c.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            if not c.recv(4096):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def drip(c, data, every, deadline, sent):
    for i in range(len(data)):
        if not sendall_until(c, data[i:i + 1], deadline):
            return sent
        sent += 1
        # sleep in small steps so a closed peer is noticed
        end = time.monotonic() + every
        while time.monotonic() < min(end, deadline):
            time.sleep(0.1)
    return sent


def serve(mode, c, scale, deadline):
    sent = 0
    if mode == "endless":
        block = b"TRAWL-HOSTILE-ENDLESS " + b"A" * 65514
        while sendall_until(c, block, deadline):
            sent += len(block)
            block = b"A" * 65536
    elif mode == "drip":
        sent = drip(c, b"TRAWL-HOSTILE-DRIP" + b"A" * 100000, 3.0, deadline, sent)
    elif mode in ("tls-garbage", "tls-stall"):
        read_some(c, deadline)
        if mode == "tls-garbage":
            g = os.urandom(65536 * scale)
            if sendall_until(c, g, deadline):
                sent += len(g)
        wait_peer(c, deadline)
    elif mode == "http-header":
        read_some(c, deadline)
        total = 10 * 1000 * 1000 * scale
        line = b"X-Junk-%07d: " + b"j" * 980 + b"\r\n"
        if sendall_until(c, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", deadline):
            n = 0
            while sent < total:
                blk = b"".join(line % (n + i) for i in range(64))
                n += 64
                if not sendall_until(c, blk, deadline):
                    break
                sent += len(blk)
            else:
                body = b"<title>TRAWL-HOSTILE-HEADER</title>\n"
                if sendall_until(c, b"Content-Length: %d\r\n\r\n" % len(body) + body, deadline):
                    sent += len(body)
                    wait_peer(c, deadline)
    elif mode == "http-chunked":
        read_some(c, deadline)
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
                b"24\r\n<title>TRAWL-HOSTILE-CHUNKED</title>\r\n")
        chunk = b"1000\r\n" + b"c" * 4096 + b"\r\n"
        if sendall_until(c, head, deadline):
            sent += len(head)
            blk = chunk * 16
            while sendall_until(c, blk, deadline):
                sent += len(blk)
    elif mode == "http-slowchunk":
        read_some(c, deadline)
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        if sendall_until(c, head, deadline):
            sent += len(head)
            while sendall_until(c, b"8\r\nslowslow\r\n", deadline):
                sent += 13
                end = time.monotonic() + 2.0
                while time.monotonic() < min(end, deadline):
                    time.sleep(0.1)
    elif mode == "http-drip":
        read_some(c, deadline)
        sent = drip(c, b"HTTP/1.1 200 OK\r\nX-Drip: " + b"d" * 100000, 2.0, deadline, sent)
    return sent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["endless", "drip", "tls-garbage", "tls-stall", "http-header",
                                     "http-chunked", "http-slowchunk", "http-drip"])
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--lifetime", type=float, default=900.0)
    a = ap.parse_args()
    end = time.monotonic() + a.lifetime
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(512)
    ls.settimeout(0.5)
    active = threading.BoundedSemaphore(MAX_CONN)

    def one(c, peer):
        t0 = time.monotonic()
        sent = 0
        try:
            sent = serve(a.mode, c, a.scale, min(end, t0 + a.lifetime))
        except OSError:
            pass
        finally:
            c.close()
            active.release()
        print("%s %s:%d sent=%d secs=%.1f" % (a.mode, peer[0], peer[1], sent, time.monotonic() - t0),
              flush=True)

    while time.monotonic() < end:
        try:
            c, peer = ls.accept()
        except socket.timeout:
            continue
        if not active.acquire(blocking=False):
            c.close()
            continue
        threading.Thread(target=one, args=(c, peer), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
