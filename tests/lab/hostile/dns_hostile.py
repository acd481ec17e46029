#!/usr/bin/python3
"""dns_hostile.py: a DNS server of the trawl lab's hostile part
(tests/lab/hostile/hostile-lab.sh), UDP and TCP, for reverse lookups.

  dns_hostile.py ADDR [--ptr IP=NAME ...] [--hostile IP=KIND ...] [--lifetime SECS]

PTR queries for an --ptr address get that name (ordinary answers, so that
the lab's ordinary hosts keep their names); for a --hostile address:
  huge     one PTR whose name is 253 characters (four labels, 63 each: the
           most a name may hold)
  loop     two CNAMEs pointing at each other (the question's name ->
           loop.hostile.lab.test -> the question's name), no PTR
  self     a PTR pointing at the question's own name
  chain    a chain of 40 CNAMEs, then the PTR
  many     400 PTR records: truncated (TC) over UDP, about 25 KB over TCP
  comploop the answer's owner name is a compression pointer to itself
  badchars a PTR whose labels hold '<', '&', '"', NUL, newline and 0xff bytes
  silent   no answer at all
Other names in in-addr.arpa: NXDOMAIN; anything else: REFUSED. Exits after
--lifetime seconds (default 900). One line per query on stdout."""
import argparse
import socket
import struct
import sys
import threading
import time


def enc_name(name):
    if isinstance(name, bytes):
        labels = name.split(b".")
    else:
        labels = [l.encode() for l in name.split(".")]
    return b"".join(bytes([len(l)]) + l for l in labels if l) + b"\0"


def rr(owner, rtype, rdata, ttl=60):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def rev_name(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def parse_query(msg):
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1 or flags & 0x8000:
        return None
    pos, labels = 12, []
    while pos < len(msg):
        n = msg[pos]
        if n == 0 or n > 63:
            break
        labels.append(msg[pos + 1:pos + 1 + n])
        pos += 1 + n
    if pos + 5 > len(msg) or msg[pos] != 0:
        return None
    qtype, qclass = struct.unpack("!HH", msg[pos + 1:pos + 5])
    return qid, flags, msg[12:pos + 5], b".".join(labels).decode("latin-1").lower(), qtype


CNAME, PTR = 5, 12


def answer(q, ptr, hostile, tcp):
    """The reply bytes for query q, or None for no reply."""
    qid, flags, question, qname, qtype = q
    rd = flags & 0x0100
    q_owner = b"\xc0\x0c"  # pointer to the question's name

    def msg(rcode, answers, aa=True, tc=False):
        f = 0x8000 | rd | (0x0400 if aa else 0) | (0x0200 if tc else 0) | rcode
        return struct.pack("!HHHHHH", qid, f, 1, len(answers), 0, 0) + question + b"".join(answers)

    if not qname.endswith(".in-addr.arpa") or qtype != PTR:
        return msg(5, [], aa=False)
    kind = hostile.get(qname)
    if kind is None:
        name = ptr.get(qname)
        return msg(0, [rr(q_owner, PTR, enc_name(name))]) if name else msg(3, [])
    if kind == "silent":
        return None
    if kind == "huge":
        huge = ".".join([c * 63 for c in "abc"] + ["d" * 61])
        return msg(0, [rr(q_owner, PTR, enc_name(huge))])
    if kind == "loop":
        other = enc_name("loop.hostile.lab.test")
        return msg(0, [rr(q_owner, CNAME, other), rr(other, CNAME, enc_name(qname))])
    if kind == "self":
        return msg(0, [rr(q_owner, PTR, enc_name(qname))])
    if kind == "chain":
        ans, owner = [], q_owner
        for i in range(40):
            nxt = enc_name("c%d.chain.hostile.lab.test" % i)
            ans.append(rr(owner, CNAME, nxt))
            owner = nxt
        ans.append(rr(owner, PTR, enc_name("end.chain.hostile.lab.test")))
        return msg(0, ans)
    if kind == "many":
        if not tcp:
            return msg(0, [], tc=True)
        return msg(0, [rr(q_owner, PTR, enc_name("m%03d-%s.many.hostile.lab.test" % (i, "x" * 30)))
                       for i in range(400)])
    if kind == "comploop":
        # owner: a pointer to its own offset (12 + len(question))
        off = 12 + len(question)
        return msg(0, [rr(struct.pack("!H", 0xC000 | off), PTR, enc_name("never.hostile.lab.test"))])
    if kind == "badchars":
        return msg(0, [rr(q_owner, PTR, enc_name(b'a<b>&"c\x00d\ne\xff.bad.hostile.lab.test'))])
    return msg(2, [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--ptr", action="append", default=[])
    ap.add_argument("--hostile", action="append", default=[])
    ap.add_argument("--lifetime", type=float, default=900.0)
    a = ap.parse_args()
    ptr = {rev_name(k): v for k, v in (x.split("=", 1) for x in a.ptr)}
    hostile = {rev_name(k): v for k, v in (x.split("=", 1) for x in a.hostile)}
    end = time.monotonic() + a.lifetime
    lock = threading.Lock()

    def log(proto, peer, q, r):
        with lock:
            print("%s %s %s %s" % (proto, peer[0], q[3] if q else "?",
                                   "none" if r is None else "%d bytes" % len(r)), flush=True)

    def tcp_one(c, peer):
        c.settimeout(5)
        try:
            while time.monotonic() < end:
                h = c.recv(2)
                if len(h) < 2:
                    break
                n = struct.unpack("!H", h)[0]
                m = b""
                while len(m) < n:
                    b = c.recv(n - len(m))
                    if not b:
                        return
                    m += b
                q = parse_query(m)
                r = answer(q, ptr, hostile, True) if q else None
                log("tcp", peer, q, r)
                if r is not None:
                    c.sendall(struct.pack("!H", len(r)) + r)
        except OSError:
            pass
        finally:
            c.close()

    def tcp_loop():
        ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ts.bind((a.addr, 53))
        ts.listen(64)
        ts.settimeout(0.5)
        while time.monotonic() < end:
            try:
                c, peer = ts.accept()
            except socket.timeout:
                continue
            if threading.active_count() > 64:
                c.close()
                continue
            threading.Thread(target=tcp_one, args=(c, peer), daemon=True).start()

    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind((a.addr, 53))
    us.settimeout(0.5)
    threading.Thread(target=tcp_loop, daemon=True).start()
    while time.monotonic() < end:
        try:
            m, peer = us.recvfrom(4096)
        except socket.timeout:
            continue
        q = parse_query(m)
        r = answer(q, ptr, hostile, False) if q else None
        log("udp", peer, q, r)
        if r is not None:
            us.sendto(r, peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
