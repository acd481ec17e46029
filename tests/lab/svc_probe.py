#!/usr/bin/python3
"""svc_probe.py: small protocol clients for the daemon lab's checks
(test_lab_services.sh) where Debian has no handy command-line client.
Run inside the scanner namespace; every exchange is bounded by --timeout.

  svc_probe.py mqtt HOST PORT [--tls]
      MQTT 3.1.1 CONNECT, prints "connack RC" (0 = accepted)
  svc_probe.py telnet HOST PORT
      refuses every TELNET option, prints the text the server sends until a
      "login: " prompt (or timeout), e.g. "svc login: "
  svc_probe.py line HOST PORT [TEXT]
      sends TEXT (if given, with CRLF) and prints the first line the server
      sends (a greeting or the answer), waiting for it up to the timeout
  svc_probe.py memcached-udp HOST PORT
      "version" in one UDP frame, prints the reply without the frame header
Exit status 0 on a well-formed answer, 1 otherwise.
"""
import socket
import ssl
import sys
import time

TIMEOUT = 10.0


def connect(host, port, tls):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def mqtt(host, port, tls):
    s = connect(host, port, tls)
    cid = b"trawl-lab"
    var = b"\x00\x04MQTT\x04\x02\x00\x3c"  # protocol, level 4, clean session, keepalive 60
    payload = len(cid).to_bytes(2, "big") + cid
    body = var + payload
    s.sendall(bytes([0x10, len(body)]) + body)
    r = recv_exact(s, 4)
    s.close()
    if len(r) == 4 and r[0] == 0x20 and r[1] == 2:
        print("connack %d" % r[3])
        return r[3] == 0
    print("bad reply %r" % r)
    return False


def telnet(host, port):
    s = connect(host, port, False)
    text = b""
    deadline = time.monotonic() + TIMEOUT
    buf = b""
    while time.monotonic() < deadline and b"login: " not in text:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        i = 0
        while i < len(buf):
            c = buf[i]
            if c != 0xFF:
                text += bytes([c])
                i += 1
                continue
            if i + 1 >= len(buf):
                break
            cmd = buf[i + 1]
            if cmd in (0xFB, 0xFC, 0xFD, 0xFE):  # WILL WONT DO DONT
                if i + 2 >= len(buf):
                    break
                opt = buf[i + 2]
                if cmd == 0xFD:
                    s.sendall(bytes([0xFF, 0xFC, opt]))  # DO -> WONT
                elif cmd == 0xFB:
                    s.sendall(bytes([0xFF, 0xFE, opt]))  # WILL -> DONT
                i += 3
            elif cmd == 0xFA:  # subnegotiation: skip to IAC SE
                end = buf.find(b"\xff\xf0", i + 2)
                if end < 0:
                    break
                i = end + 2
            else:
                i += 2
        buf = buf[i:]
    s.close()
    out = text.decode("latin-1").replace("\r", "").replace("\0", "")
    print(out.strip("\n"))
    return "login: " in out


def first_line(host, port, text):
    s = connect(host, port, False)
    if text is not None:
        s.sendall(text.encode() + b"\r\n")
    buf = b""
    while b"\n" not in buf and len(buf) < 65536:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    line = buf.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
    print(line)
    return b"\n" in buf


def memcached_udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(b"\x00\x01\x00\x00\x00\x01\x00\x00version\r\n", (host, port))
    r, _ = s.recvfrom(4096)
    s.close()
    print(r[8:].decode("latin-1").strip())
    return r[:2] == b"\x00\x01" and r[8:].startswith(b"VERSION ")


def main():
    a = sys.argv[1:]
    if len(a) < 3:
        sys.stderr.write(__doc__)
        return 2
    host, port = a[1], int(a[2])
    try:
        if a[0] == "mqtt":
            good = mqtt(host, port, "--tls" in a[3:])
        elif a[0] == "telnet":
            good = telnet(host, port)
        elif a[0] == "line":
            good = first_line(host, port, a[3] if len(a) > 3 else None)
        elif a[0] == "memcached-udp":
            good = memcached_udp(host, port)
        else:
            sys.stderr.write(__doc__)
            return 2
    except (OSError, ssl.SSLError) as e:
        print("error: %s" % e)
        return 1
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
