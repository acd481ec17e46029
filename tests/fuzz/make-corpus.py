#!/usr/bin/env python3
# make-corpus.py: writes the seed corpora of the harnesses in tests/fuzz/
# (corpus/NAME/seed-*; regression inputs, named regress-*, are kept by
# hand and never touched here). Packets come from the tree's own pcap
# fixtures (tests/fixtures/*.pcap) plus frames built below: ICMP and
# ICMPv6 errors quoting TCP, UDP and ICMP probes, a VLAN tag, a cut quote.
# Text seeds are written here, for trawl's own syntax. Run it from
# anywhere: python3 tests/fuzz/make-corpus.py
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def put(name, key, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + key), "wb") as f:
        f.write(data)


def clear(name):
    d = os.path.join(CORPUS, name)
    if os.path.isdir(d):
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.unlink(os.path.join(d, f))


# ---- packets ---------------------------------------------------------------

def pcap_frames(path):
    d = open(path, "rb").read()
    off, out = 24, []
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack("<IIII", d[off:off + 16])
        out.append(d[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def ip4(src, dst, proto, payload, ttl=64):
    tot = 20 + len(payload)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, 1, 0, ttl, proto, 0,
                       bytes(src), bytes(dst)) + payload


def ip6(src, dst, nxt, payload, hlim=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nxt, hlim,
                       bytes(src), bytes(dst)) + payload


def tcp(sport, dport, flags=0x02):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 1024, 0, 0)


def udp(sport, dport, data=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def icmp(typ, code, rest, body=b""):
    return struct.pack("!BBH", typ, code, 0) + rest + body


def eth(ethertype, payload, vlan=None):
    h = bytes.fromhex("027470010002027470010001")
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", ethertype) + payload


ME4, YOU4, RTR4 = [198, 18, 1, 2], [198, 18, 2, 2], [198, 18, 1, 1]
ME6 = bytes.fromhex("20010db8000100000000000000000002")
YOU6 = bytes.fromhex("20010db8000200000000000000000002")
RTR6 = bytes.fromhex("20010db8000100000000000000000001")


def built_frames():
    f = {}
    syn = ip4(ME4, YOU4, 6, tcp(40000, 80))
    f["ip4-synack"] = eth(0x0800, ip4(YOU4, ME4, 6, tcp(80, 40000, 0x12)))
    f["icmp-unreach-tcp"] = eth(0x0800, ip4(RTR4, ME4, 1, icmp(3, 13, b"\0" * 4, syn)))
    f["icmp-ttl-udp"] = eth(0x0800, ip4(RTR4, ME4, 1, icmp(11, 0, b"\0" * 4,
                                                           ip4(ME4, YOU4, 17, udp(40001, 53)))))
    echo = ip4(ME4, YOU4, 1, icmp(8, 0, struct.pack("!HH", 0x1234, 7)))
    f["icmp-unreach-echo"] = eth(0x0800, ip4(RTR4, ME4, 1, icmp(3, 1, b"\0" * 4, echo)))
    f["icmp-quote-cut"] = eth(0x0800, ip4(RTR4, ME4, 1, icmp(3, 3, b"\0" * 4, syn[:24])))
    f["icmp-echo-reply"] = eth(0x0800, ip4(YOU4, ME4, 1, icmp(0, 0, struct.pack("!HH", 0x1234, 7))))
    # -PM's answer: an address mask reply (type 18) with its 4-byte mask
    f["icmp-mask-reply"] = eth(0x0800, ip4(YOU4, ME4, 1, icmp(18, 0, struct.pack("!HH4s", 0x1234, 7, bytes([255, 255, 255, 0])))))
    f["vlan-tcp"] = eth(0x0800, ip4(YOU4, ME4, 6, tcp(443, 40002, 0x14)), vlan=0x2005)
    syn6 = ip6(ME6, YOU6, 6, tcp(40000, 22))
    f["icmp6-unreach-tcp"] = eth(0x86dd, ip6(RTR6, ME6, 58, icmp(1, 4, b"\0" * 4, syn6)))
    echo6 = ip6(ME6, YOU6, 58, icmp(128, 0, struct.pack("!HH", 0x4321, 9)))
    f["icmp6-toobig-echo"] = eth(0x86dd, ip6(RTR6, ME6, 58, icmp(2, 0, struct.pack("!I", 1280), echo6)))
    return f


def packet_seeds():
    frames = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "*.pcap"))):
        base = os.path.basename(path)[:-5]
        for i, fr in enumerate(pcap_frames(path)[:3]):
            frames["%s-%d" % (base, i)] = fr
    frames.update(built_frames())
    clear("packet")
    for k, fr in frames.items():
        put("packet", k, fr)
        if fr[12:14] in (b"\x08\x00", b"\x86\xdd"):
            put("packet", k + "-raw", fr[14:])  # the same as raw IP
    return frames


# ---- the dispatcher ----------------------------------------------------------

M_IF, M_ET, M_PROTO, M_SRC, M_DST, M_SP, M_DP = 1, 2, 4, 8, 16, 32, 64
M_ITYPE, M_ICODE, M_IID, M_ISEQ, M_ARP = 128, 256, 512, 1024, 2048
ONCE, ERRORS, QUOTE, TMO = 1, 2, 4, 8


def waiter(fields, flags=0, frame=0, action=0):
    return struct.pack("<HBB", fields, flags | (frame << 4), action)


def feed(frames, raw=False):
    out = b""
    for fr in frames:
        out += struct.pack("!HB", len(fr), 1 if raw else 0) + fr
    return out


def dispatch_seeds(frames):
    clear("dispatch")
    tuple5 = M_ET | M_PROTO | M_SRC | M_DST | M_SP | M_DP
    synack, tcp_fx = frames["ip4-synack"], frames["tcp-1"]
    errs = [frames["icmp-unreach-tcp"], frames["icmp-ttl-udp"], frames["icmp-unreach-echo"],
            frames["icmp6-unreach-tcp"], frames["icmp6-toobig-echo"]]

    def seed(key, head, waiters, fr, raw=False):
        put("dispatch", key, bytes([head | len(waiters)]) + b"".join(waiters) + feed(fr, raw))

    seed("one-waiter", 0, [waiter(tuple5)], [synack, synack, tcp_fx])
    seed("once", 0, [waiter(tuple5, ONCE), waiter(M_PROTO | M_SRC, 0, 0)], [synack] * 3)
    seed("errors", 0, [waiter(tuple5 | M_ITYPE | M_IID | M_ISEQ, ERRORS | QUOTE, i)
                       for i in range(5)], errs)
    seed("cancel-self", 0, [waiter(tuple5, 0, 0, 1), waiter(tuple5, 0, 0, 0)], [synack] * 3)
    seed("cancel-next", 0, [waiter(tuple5, 0, 0, 2), waiter(tuple5, 0, 0, 2),
                            waiter(M_PROTO, 0, 0, 5)], [synack, synack])
    seed("add", 0, [waiter(tuple5, 0, 0, 3), waiter(M_SRC, ONCE, 0, 3)], [synack] * 4)
    seed("nested", 0x10, [waiter(tuple5, 0, 0, 4), waiter(M_ET, 0, 0, 1)], [synack, synack])
    seed("batch", 0x18, [waiter(tuple5, 0, 0, 4), waiter(tuple5, ONCE, 0, 3),
                         waiter(M_PROTO | M_DST, ERRORS, 1, 2)],
         [synack, frames["icmp-unreach-tcp"], synack, frames["vlan-tcp"]])
    seed("timeout", 0, [waiter(tuple5, TMO, 0, 0), waiter(0, TMO | ONCE, 0, 0)], [synack])
    seed("arp", 0, [waiter(M_ET | M_ARP | M_SRC | M_DST, 0, 0, 0)], [frames["arp-0"], frames["arp-1"]])
    seed("raw", 0, [waiter(tuple5, 0, 0, 0)], [synack[14:], errs[0][14:]], raw=True)
    seed("icmp6", 0, [waiter(M_ET | M_PROTO | M_ITYPE | M_IID, 0, 0, 0)],
         [frames["icmp6-0"], frames["icmp6-1"], frames["icmp6-2"]])


# ---- text ----------------------------------------------------------------------

TEXT = {
    "targets": {
        "v4": "198.18.0.1 198.18.0.0/30\n198.18.1-3.0-255 # a comment\n",
        "octets": "198.18.1,3,5-7.* 198.18.-2.250-\n",
        "v6": "2001:db8::1 2001:db8::/120\n2001:db8:1::-2001:db8:1::5\n",
        "names": "scanme.example host.example/24 a-b.example\n",
        "exclude": "198.18.0.0/24 2001:db8::/126\0198.18.0.5,198.18.0.10-12,2001:db8::1,x.example",
        "bad": "198.18.300.1 198.18.0.0/33 ::gg 198.18.1-.5\n",
    },
    "ports": {
        "list": "\x03" + "22,80,443,1-1024",
        "prefix": "\x07" + "T:80,8080-8090,U:53,161",
        "names": "\x03" + "http,[1-100]",
        "open": "\x03" + "-100,60000-,0",
        "exclude": "\x03" + "1-65535\x0080,443,U:53",
        "bad": "\x03" + "70000,a-b,T:,[",
    },
    "options": {
        "syn": "\x01" + "-sS\n-p\n22,80\n-T4\n198.18.0.0/28",
        "connect": "\x00" + "-sT\n-Pn\n--top-ports\n100\n-n\n198.18.0.1",
        "ping": "\x01" + "-sn\n-PS22,80\n-PA443\n-PU53\n-PE\n-PP\n198.18.0.0/24\n2001:db8::1",
        "out": "\x00" + "-oA\nscan\n--open\n--reason\n-v\n-d2\n198.18.0.1",
        "timing": "\x01" + "--min-rate\n100\n--max-rate=1000\n--max-retries\n2\n--host-timeout\n30m\n--scan-delay\n500ms\n198.18.0.1",
        "scripts": "\x00" + "-sC\n--script\nbanner,http-*\n--script-args\na=1,b={c}\n--script-timeout\n5s\n198.18.0.1",
        "exclude": "\x01" + "--exclude\n198.18.0.5,x.example\n--exclude-ports\nU:53\n-sU\n-sS\n198.18.0.0/29",
        "misc": "\x01" + "--seed\n7\n--shards\n2/4\n--max-hostgroup\n16\n-g\n53\n-e\nlo\n-6\n2001:db8::/126",
        "bad": "\x00" + "-sX\n-p\n70000\n-T9\n--min-rate\nx\n198.18.300.1",
        "help": "\x00" + "-h",
        "port-names": "\x01" + "-sS\n-sU\n-p\nT:http,ms-*,[1-100],U:domain,ntp?\n--exclude-ports\nssh\n198.18.0.1",
        "fast": "\x01" + "-F\n-sU\n-sS\n--top-ports\n50\n198.18.0.1",
        "packets": "\x01" + "--ttl\n30\n--data\n\\xCA\\xFE\n--badsum\n-S\n198.18.10.5\n-sU\n-p\n53\n198.18.0.1",
        "parallel": "\x01" + "--min-parallelism\n2\n--max-parallelism=8\n--min-hostgroup\n3\n--max-scan-delay\n10ms\n198.18.0.1",
    },
    "script_args": {
        "simple": "k=v,k2={a,b},k3=\"quo,ted \\\" x\",flag,t={x=1,y={2,3}},args.port=80",
        "quotes": "a='single \\' q',b=\"d\",c={\"x\",'y',{z}}",
        "nested": "a={" * 20 + "x" + "}" * 20,
        # finding 1 of issue 14 is the regression input regress-stack-overflow
        "bad": "a={b=},c=\"unterminated",
    },
    "script_expr": {
        "names": "alpha-one,beta",
        "glob": "alpha-*",
        "expr": "(safe or vuln) and not alpha-two",
        "forced": "+beta,+discovery and fuzzcat",
        "files": "gamma-dep.lua,.",
        "all": "all and not broken",
        "bad": "safe and (or",
        "broken": "broken",
    },
    "resume": {
        "normal": "# Trawl 0.1.0 scan initiated Sat Jan  6 10:00:00 2024 as: trawl -sS -p 80 198.18.0.0/24\n"
                  "Host: 198.18.0.1 ()\tStatus: Up\n# trawl-resume: next-target=17 seed=99\n",
        "xml": "<?xml version=\"1.0\"?>\n<!-- Trawl 0.1.0 scan initiated Sat Jan  6 10:00:00 2024 as: "
               "trawl &#45;oX x.xml &quot;a b&quot; 198.18.0.1 -->\n<!-- trawl-resume: next-target=0 seed=1 -->\n",
        "blank": "# Trawl 0.1.0 scan initiated X as:     \n# trawl-resume: next-target=1 seed=2\n",
        "nomarker": "# Trawl 0.1.0 scan initiated X as: trawl 198.18.0.1\n",
    },
    "nse_db": {
        "two": 'Entry { filename = "acarsd-info.nse", categories = { "discovery", "safe", } }\n'
               'Entry { filename = "http-title.nse", categories = { "default", "discovery", "safe", } }\n',
        "empty-cats": 'Entry { filename = "x.nse", categories = { } }\n\n-- comment\n',
        "bad": 'Entry { filename = "../x.nse", categories = { "a" } }\n',
        "lua": 'os.execute("x")\n',
    },
    "services": {
        "small": "# a port table\nhttp 80/tcp 1\nssh 22/tcp 2\ndomain 53/udp 1\nunknown 7/udp 2\n",
        "bad": "http 80/tcp 1\nhttp 80/tcp 2\nx 70000/tcp 3\ny 5/sctp 1\n",
    },
}


def text_seeds():
    for name, seeds in TEXT.items():
        clear(name)
        for k, v in seeds.items():
            put(name, k, v.encode("latin-1"))
    # a command line longer than 8 KiB (finding 5 of issue 14)
    tg = " ".join("198.18.%d.%d" % (i // 250, i % 250 + 1) for i in range(1000))
    put("resume", "long", "# Trawl 0.1.0 scan initiated X as: trawl -sn " + tg +
        "\n# trawl-resume: next-target=5 seed=6\n")
    rows, rank = ["# many entries; ranks per protocol are 1..N"], {"tcp": 0, "udp": 0}
    for i in range(1, 400):
        proto = "tcp" if i % 3 else "udp"
        rank[proto] += 1
        rows.append("svc%d %d/%s %d" % (i, 1000 + i, proto, rank[proto]))
    put("services", "many", "\n".join(rows) + "\n")


def nse_openssl_seeds():
    # fuzz_nse_openssl: op, cipher index, flags, then up to three fields
    # split at NULs (the harness's header comment says what each means)
    clear("nse_openssl")
    key, data, iv = b"K" * 32, bytes(range(1, 33)), b"I" * 16
    put("nse_openssl", "bin", b"\x00\x00\x00" + b"\x00\x01\x02\xff")
    put("nse_openssl", "hex", b"\x01\x00\x00" + b"-0aFf12")
    put("nse_openssl", "dec", b"\x02\x00\x00" + b"123456789012345678901234567890")
    put("nse_openssl", "arith", b"\x03\x00\x01" + b"\x7f\xff\x01" + b"\x00" + b"\x05" + b"\x00" + b"\xfd")
    for i in range(29):
        put("nse_openssl", "enc-%02d" % i, bytes([4, i, 5]) + key + b"\x00" + data + b"\x00" + iv)
    put("nse_openssl", "dec-pad", bytes([5, 0, 5]) + key + b"\x00" + data + b"\x00" + iv)
    put("nse_openssl", "enc-named", bytes([4, 200, 4]) + b"AES-256-CBC\x00" + key + b"\x00" + data)

if __name__ == "__main__":
    fr = packet_seeds()
    dispatch_seeds(fr)
    text_seeds()
    nse_openssl_seeds()
    for n in sorted(os.listdir(CORPUS)):
        print("%-14s %d files" % (n, len(os.listdir(os.path.join(CORPUS, n)))))
