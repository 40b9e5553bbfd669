#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_pkt_parse: real Ethernet frames, one per
file, with correct IP/L4 checksums: each protocol and header layout the parser
knows (VLAN, QinQ, 802.3/SNAP, IPv4 with options and fragments, IPv6 with
extension headers and fragments, TCP/UDP/SCTP/ICMP/ICMPv6, ARP).
Run from the repository root: python3 tests/fuzz/gen_pkt_parse_seeds.py
"""
import os
import struct

OUT = 'tests/fuzz/corpus/fuzz_pkt_parse'
MAC_A = bytes.fromhex('525400123401')
MAC_B = bytes.fromhex('525400123402')
BCAST = b'\xff' * 6
V4_A, V4_B = bytes([192, 168, 1, 10]), bytes([192, 168, 1, 20])
V6_A = bytes.fromhex('fe800000000000005054 00ff fe12 3401'.replace(' ', ''))
V6_B = bytes.fromhex('20010db8000000000000000000000002')


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def eth(payload, etype, dst=MAC_B, src=MAC_A, tags=()):
    hdr = dst + src
    for tpid, tci in tags:
        hdr += struct.pack('!HH', tpid, tci)
    frame = hdr + struct.pack('!H', etype) + payload
    return frame + b'\0' * max(0, 60 - len(frame))  # minimum frame, without FCS


def ipv4(proto, payload, opts=b'', frag=0, ident=0x1c46, tos=0, ttl=64):
    ihl = 5 + len(opts) // 4
    hdr = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, tos, 4 * ihl + len(payload), ident, frag,
                      ttl, proto, 0, V4_A, V4_B) + opts
    return hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:] + payload


def l4_v4(proto, seg):
    pseudo = V4_A + V4_B + struct.pack('!BBH', 0, proto, len(seg))
    return csum(pseudo + seg)


def l4_v6(nh, seg):
    pseudo = V6_A + V6_B + struct.pack('!IxxxB', len(seg), nh)
    return csum(pseudo + seg)


def tcp(sport, dport, flags=0x02, opts=b''):
    doff = 5 + len(opts) // 4
    return struct.pack('!HHIIBBHHH', sport, dport, 0x1000, 0, doff << 4, flags, 64240, 0, 0) + opts


def udp(sport, dport, data):
    return struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data


def with_csum(seg, ofs, value):
    return seg[:ofs] + struct.pack('!H', value) + seg[ofs + 2:]


def ipv6(nh, payload, tc=0, hlim=64):
    return struct.pack('!IHBB', 6 << 28 | tc << 20 | 0x12345, len(payload), nh, hlim) + \
        V6_A + V6_B + payload


def frames():
    syn = tcp(43210, 443, opts=bytes.fromhex('020405b40402080a0000000100000000'))
    yield 'ipv4_tcp_syn', eth(ipv4(6, with_csum(syn, 16, l4_v4(6, syn))), 0x0800)
    dns = udp(53124, 53, bytes.fromhex('1234010000010000000000000377777706676f6f676c6503636f6d0000010001'))
    yield 'ipv4_udp_dns', eth(ipv4(17, with_csum(dns, 6, l4_v4(17, dns))), 0x0800)
    echo = struct.pack('!BBHHH', 8, 0, 0, 0x4242, 1) + bytes(range(32))
    yield 'ipv4_icmp_echo', eth(ipv4(1, with_csum(echo, 2, csum(echo))), 0x0800)
    sctp = struct.pack('!HHII', 5000, 5001, 0, 0) + bytes.fromhex('0100001400000001000100000001000100000001')
    yield 'ipv4_sctp_init', eth(ipv4(132, sctp), 0x0800)
    yield 'ipv4_options_rr', eth(ipv4(17, udp(1000, 2000, b'hello'), opts=bytes.fromhex('07070400000000' + '00')), 0x0800)
    big = udp(4000, 4001, bytes(64))
    yield 'ipv4_frag_first', eth(ipv4(17, big[:48], frag=0x2000), 0x0800)
    yield 'ipv4_frag_last', eth(ipv4(17, big[48:], frag=48 // 8), 0x0800)
    yield 'vlan_ipv4_udp', eth(ipv4(17, udp(68, 67, bytes(16)), tos=0xb8), 0x0800, tags=[(0x8100, 0xa064)])
    yield 'qinq_ipv4_tcp', eth(ipv4(6, tcp(22, 50000, flags=0x10)), 0x0800, tags=[(0x88a8, 0x000a), (0x8100, 0x0064)])
    seg = tcp(8080, 80, flags=0x18) + b'GET / HTTP/1.1\r\n\r\n'
    yield 'ipv6_tcp', eth(ipv6(6, with_csum(seg, 16, l4_v6(6, seg)), tc=0x28), 0x86dd)
    seg = udp(546, 547, bytes.fromhex('01000001'))
    yield 'ipv6_udp_dhcpv6', eth(ipv6(17, with_csum(seg, 6, l4_v6(17, seg))), 0x86dd)
    ns = struct.pack('!BBHI', 135, 0, 0, 0) + V6_B + bytes.fromhex('0101') + MAC_A
    yield 'ipv6_icmpv6_ns', eth(ipv6(58, with_csum(ns, 2, l4_v6(58, ns)), hlim=255), 0x86dd, dst=bytes.fromhex('3333ff000002'))
    hbh = bytes.fromhex('3c00' + '050200000100')  # router alert, then dest options
    dst = bytes.fromhex('1100' + '010400000000')
    yield 'ipv6_hbh_dstopt_udp', eth(ipv6(0, hbh + dst + udp(9, 9, b'xyz')), 0x86dd)
    rh = bytes.fromhex('1102' + '0401' + '00000000') + V6_B
    yield 'ipv6_srh_udp', eth(ipv6(43, rh + udp(7, 7, b'ping')), 0x86dd)
    frag = bytes.fromhex('06000001' + 'deadbeef')
    yield 'ipv6_frag_first_tcp', eth(ipv6(44, frag + tcp(1, 2)), 0x86dd)
    frag = bytes.fromhex('060005a8' + 'deadbeef')
    yield 'ipv6_frag_later', eth(ipv6(44, frag + bytes(24)), 0x86dd)
    arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, MAC_A, V4_A, bytes(6), V4_B)
    yield 'arp_request', eth(arp, 0x0806, dst=BCAST)
    arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 2, MAC_B, V4_B, MAC_A, V4_A)
    yield 'arp_reply_vlan', eth(arp, 0x0806, dst=MAC_A, src=MAC_B, tags=[(0x8100, 0x0005)])
    bpdu = bytes.fromhex('424203000000000080000180c20000010000000080000180c20000018001000014000200')
    stp = bytes.fromhex('0180c2000000') + MAC_A + struct.pack('!H', len(bpdu)) + bpdu
    yield 'ieee8023_stp', stp + b'\0' * max(0, 60 - len(stp))
    snap = bytes.fromhex('aaaa03000000') + struct.pack('!H', 0x0800) + ipv4(17, udp(5, 6, b''))
    snapf = MAC_B + MAC_A + struct.pack('!H', len(snap)) + snap
    yield 'ieee8023_snap_ipv4', snapf + b'\0' * max(0, 60 - len(snapf))
    lldp = bytes.fromhex('020704525400123401040703525400123401060200780000')
    yield 'lldp', eth(lldp, 0x88cc, dst=bytes.fromhex('0180c200000e'))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in frames():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
