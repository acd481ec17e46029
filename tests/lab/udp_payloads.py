# udp_payloads.py PCAP: "dport payload-hex" for every IPv4 UDP packet of a
# pcap file (Ethernet, Linux cooked v1/v2 or raw IP), one a line; used by
# test_nmap_data.sh to compare the UDP payloads trawl and nmap send.
import struct, sys
d = open(sys.argv[1], "rb").read()
magic, = struct.unpack("<I", d[:4])
le = magic in (0xa1b2c3d4, 0xa1b23c4d)
E = "<" if le else ">"
link = struct.unpack(E + "I", d[20:24])[0]
off = {1: 14, 113: 16, 276: 20, 101: 0}[link]
i = 24
while i + 16 <= len(d):
    _, _, incl, _ = struct.unpack(E + "IIII", d[i:i+16])
    pkt = d[i+16:i+16+incl]; i += 16 + incl
    ip = pkt[off:]
    if ip[0] >> 4 != 4 or ip[9] != 17: continue
    ihl = (ip[0] & 15) * 4
    udp = ip[ihl:]
    dport = struct.unpack(">H", udp[2:4])[0]
    print(dport, udp[8:].hex())
