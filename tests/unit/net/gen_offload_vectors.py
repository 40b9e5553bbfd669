#!/usr/bin/env python3
"""Writes tests/unit/net/offload_vectors.h, the byte-exact vectors of
test_pkt_gso and test_pkt_csum, and the seed corpus of fuzz_gso.

Each vector is a frame as a Linux guest hands it to virtio-net with transmit
offloads (the L4 checksum field holding the folded pseudo-header sum, as
tcp_v4_send_check()/udp4_hwcsum() leave it for CHECKSUM_PARTIAL, with the
length of the whole super-frame), its virtio-net header, and the frames Linux's
skb_gso_segment() (or skb_checksum_help()) makes of it, built independently
here with scapy, which computes every length and checksum: IPv4 ids id, id+1,
...; sequence numbers advancing by the payload; FIN and PSH on the last
segment only, CWR on the first only; each USO segment a datagram of its own.

Needs python3-scapy (Debian). Run from the repository root:
    /usr/bin/python3 tests/unit/net/gen_offload_vectors.py
The output is committed, so the tests need no python.
"""
import os
import struct

from scapy.all import (IP, TCP, UDP, Dot1AD, Dot1Q, Ether, IPOption_RR, IPv6,
                       IPv6ExtHdrHopByHop, Raw, raw)
from scapy import VERSION as SCAPY_VERSION

OUT_H = 'tests/unit/net/offload_vectors.h'
OUT_SEEDS = 'tests/fuzz/corpus/fuzz_gso'
MAC_A, MAC_B = '52:54:00:12:34:01', '52:54:00:12:34:02'
V4_A, V4_B = '192.168.1.10', '192.168.1.20'
V6_A, V6_B = 'fe80::5054:ff:fe12:3401', '2001:db8::2'

NEEDS_CSUM = 1
GSO = {0: 'VIRTIO_NET_HDR_GSO_NONE', 1: 'VIRTIO_NET_HDR_GSO_TCPV4',
       4: 'VIRTIO_NET_HDR_GSO_TCPV6', 5: 'VIRTIO_NET_HDR_GSO_UDP_L4'}
GSO_ECN = 0x80
TS_OPTS = [('NOP', None), ('NOP', None), ('Timestamp', (0x01020304, 0x0a0b0c0d))]


def pattern(n, seed):
    """Payload bytes that differ at every offset of a segment and between vectors."""
    return bytes((i * 7 + seed + (i >> 8)) & 0xff for i in range(n))


def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def sum16(b):
    if len(b) % 2:
        b += b'\0'
    return sum(struct.unpack('!%dH' % (len(b) // 2), b))


def pseudo_sum(pkt, proto, l4_len):
    """The folded, uncomplemented pseudo-header sum Linux leaves in the L4 field."""
    if IP in pkt:
        addrs = raw(pkt[IP])[12:20]
    else:
        addrs = raw(pkt[IPv6])[8:40]
    return fold(sum16(addrs) + proto + l4_len)


def frame(tags, l3, l4, data):
    """Ether / tags / l3 / l4 / data; tags, l3 and l4 are (class, kwargs)."""
    pkt = Ether(dst=MAC_B, src=MAC_A)
    for cls, kw in list(tags) + [l3, l4]:
        pkt = pkt / cls(**kw)
    return pkt / Raw(data)


def l4_offset(pkt, l4cls):
    return len(raw(pkt)) - len(raw(pkt[l4cls]))


def partial(pkt, l4cls, pad=b''):
    """The frame with its L4 checksum left partial, as the guest sends it (+ padding)."""
    b = bytearray(raw(pkt))
    off = l4_offset(pkt, l4cls)
    proto, coff = (6, 16) if l4cls is TCP else (17, 6)
    struct.pack_into('!H', b, off + coff, pseudo_sum(pkt, proto, len(b) - off))
    return bytes(b) + pad, off, coff


def with_kw(spec, **kw):
    cls, base = spec
    return (cls, dict(base, **kw))


def tcp_segments(tags, l3, tcp, payload, mss):
    """What tcp_gso_segment() + inet/ipv6_gso_segment() output for the super-frame."""
    out, n = [], (len(payload) + mss - 1) // mss
    flags = TCP(flags=tcp[1]['flags']).flags
    for i in range(n):
        f = flags
        if i < n - 1:
            f &= ~0x09  # FIN, PSH
        if i > 0:
            f &= ~0x80  # CWR
        l3i = with_kw(l3, id=(l3[1]['id'] + i) & 0xffff) if l3[0] is IP else l3
        l4i = with_kw(tcp, seq=(tcp[1]['seq'] + i * mss) & 0xffffffff, flags=int(f))
        out.append(raw(frame(tags, l3i, l4i, payload[i * mss:(i + 1) * mss])))
    return out


def udp_segments(tags, l3, udp, payload, mss):
    """What __udp_gso_segment() outputs: one datagram per segment, ids advancing on IPv4."""
    out, n = [], (len(payload) + mss - 1) // mss
    for i in range(n):
        l3i = with_kw(l3, id=(l3[1]['id'] + i) & 0xffff) if l3[0] is IP else l3
        out.append(raw(frame(tags, l3i, udp, payload[i * mss:(i + 1) * mss])))
    return out


def gso_vector(name, tags, l3, l4, payload, mss, gso, hdr_len=None, mss_cap=0, ecn=False):
    pkt = frame(tags, l3, l4, payload)
    l4cls = l4[0]
    data, off, coff = partial(pkt, l4cls)
    real_hdr = len(data) - len(payload)
    seg = tcp_segments if l4cls is TCP else udp_segments
    step = min(mss, mss_cap) if mss_cap else mss
    ol = dict(flags=NEEDS_CSUM, gso_type=gso | (GSO_ECN if ecn else 0),
              hdr_len=real_hdr if hdr_len is None else hdr_len, gso_size=mss,
              csum_start=off, csum_offset=coff)
    return dict(name=name, data=data, ol=ol, mss_cap=mss_cap,
                out=seg(tags, l3, l4, payload, step))


def csum_vector(name, pkt, l4cls, pad=b''):
    data, off, coff = partial(pkt, l4cls, pad)
    done = raw(pkt) + pad
    check = struct.unpack_from('!H', done, off + coff)[0]
    # pkt_csum_complete() stores 0xffff for 0, as skb_checksum_help(); scapy does for UDP only.
    assert check != 0, name
    ol = dict(flags=NEEDS_CSUM, gso_type=0, hdr_len=0, gso_size=0, csum_start=off,
              csum_offset=coff)
    return dict(name=name, data=data, ol=ol, mss_cap=0, out=[done])


def udp_zero_sum_payload(l3, sport, dport, n):
    """A payload whose UDP checksum comes out 0, so it must be sent as 0xffff."""
    body = bytearray(pattern(n, 0x21))
    body[0:2] = b'\0\0'
    pkt = frame([], l3, (UDP, dict(sport=sport, dport=dport)), bytes(body))
    c = struct.unpack_from('!H', raw(pkt), l4_offset(pkt, UDP) + 6)[0]
    struct.pack_into('!H', body, 0, c)  # the word that brings the sum to 0xffff
    return bytes(body)


def zero_udp_segment(l3, udp, payload, mss, i):
    """The payload with segment i's first word chosen so that its UDP checksum is 0 (sent 0xffff)."""
    b = bytearray(payload)
    b[i * mss:i * mss + 2] = b'\0\0'
    pkt = frame([], l3, udp, bytes(b[i * mss:(i + 1) * mss]))
    c = struct.unpack_from('!H', raw(pkt), l4_offset(pkt, UDP) + 6)[0]
    struct.pack_into('!H', b, i * mss, c)
    return bytes(b)


def vectors():
    ip4 = (IP, dict(src=V4_A, dst=V4_B, id=0x1234, flags='DF', ttl=64))
    ip6 = (IPv6, dict(src=V6_A, dst=V6_B, hlim=64, tc=0x20, fl=0x12345))
    tcp = (TCP, dict(sport=43512, dport=5201, seq=0x11223344, ack=0x55667788,
                     flags='FPA', window=502, options=TS_OPTS))
    quic = (UDP, dict(sport=4433, dport=443))
    big = pattern(3 * 1448 + 100, 0x5a)
    v_gso = [
        gso_vector('tcp4', [], ip4, tcp, big, 1448, 1),
        gso_vector('tcp4_mss1000', [], ip4, tcp, big, 1448, 1, mss_cap=1000),
        gso_vector('tcp6_seq_wrap', [], ip6,
                   with_kw(tcp, seq=0xfffffa00, flags='PA'), pattern(3 * 1428 + 7, 3), 1428, 4),
        gso_vector('tcp4_vlan_id_wrap', [(Dot1Q, dict(vlan=100, prio=5))],
                   with_kw(ip4, id=0xfffe), with_kw(tcp, flags='A'), pattern(1533, 9), 500, 1,
                   hdr_len=128),
        gso_vector('tcp4_ipopts_ecn', [],
                   with_kw(ip4, tos=0x02, options=[IPOption_RR(routers=['10.9.8.7'])]),
                   with_kw(tcp, flags='CEPA'), pattern(1201, 77), 400, 1, ecn=True),
        gso_vector('uso4_zero_csum', [], with_kw(ip4, flags=0), quic,
                   zero_udp_segment(ip4, quic, pattern(3 * 1200 + 1, 11), 1200, 1), 1200, 5,
                   hdr_len=0),
        gso_vector('uso6_qinq', [(Dot1AD, dict(vlan=10)), (Dot1Q, dict(vlan=20))], ip6, quic,
                   pattern(2 * 1000 + 999, 13), 1000, 5),
    ]
    udp = (UDP, dict(sport=5353, dport=5353))
    v_csum = [
        csum_vector('csum_udp4_odd', frame([], ip4, udp, pattern(45, 1)), UDP),
        csum_vector('csum_udp4_zero', frame([], ip4, udp,
                                            udp_zero_sum_payload(ip4, 5353, 5353, 20)), UDP),
        csum_vector('csum_udp4_padded', frame([], ip4, udp, pattern(5, 2)), UDP,
                    pad=b'\xa5' * 13),
        csum_vector('csum_tcp4', frame([], ip4, with_kw(tcp, flags='PA'), pattern(100, 4)), TCP),
        csum_vector('csum_tcp6_vlan', frame([(Dot1Q, dict(vlan=7))], ip6, with_kw(tcp, flags='A'),
                                            pattern(301, 5)), TCP),
        csum_vector('csum_udp6_hbh', Ether(dst=MAC_B, src=MAC_A) / IPv6(src=V6_A, dst=V6_B) /
                    IPv6ExtHdrHopByHop() / UDP(sport=546, dport=547) / Raw(pattern(33, 6)), UDP),
    ]
    zero = [v for v in v_csum if v['name'] == 'csum_udp4_zero'][0]
    assert zero['out'][0][zero['ol']['csum_start'] + 6:][:2] == b'\xff\xff'
    zero = [v for v in v_gso if v['name'] == 'uso4_zero_csum'][0]
    assert zero['out'][1][zero['ol']['csum_start'] + 6:][:2] == b'\xff\xff'
    return v_gso, v_csum


def c_bytes(name, b):
    lines = []
    for i in range(0, len(b), 24):
        lines.append('\t' + ','.join(str(x) for x in b[i:i + 24]) + ',')
    return 'static const uint8_t %s[%d] = {\n%s\n};\n' % (name, len(b), '\n'.join(lines))


def c_ol(ol):
    gso = GSO[ol['gso_type'] & 0x7f] + (' | VIRTIO_NET_HDR_GSO_ECN' if ol['gso_type'] & 0x80
                                        else '')
    return ('{.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = %s, .hdr_len = %d, '
            '.gso_size = %d, .csum_start = %d, .csum_offset = %d}'
            % (gso, ol['hdr_len'], ol['gso_size'], ol['csum_start'], ol['csum_offset']))


def emit(v_gso, v_csum):
    parts = ['''/*
 * offload_vectors.h - GENERATED by gen_offload_vectors.py (scapy %s); do not
 * edit. Frames with a virtio-net header as a Linux guest sends them, and the
 * frames Linux makes of them (segments, or the completed checksum).
 */
#ifndef RS_TEST_OFFLOAD_VECTORS_H
#define RS_TEST_OFFLOAD_VECTORS_H

#include <stdint.h>

#include "lib/pbuf.h"
#include "virtio/virtio_spec.h"

struct ovec_frame {
	const uint8_t *b;
	uint32_t len;
};

struct ovec {
	const char *name;
	struct ovec_frame in;
	struct pbuf_offload ol;
	uint32_t mss_cap;   /* pkt_gso_segment()'s mss_cap */
	unsigned nout;
	const struct ovec_frame *out; /* segments, or the completed frame */
};
''' % SCAPY_VERSION]
    seen = {}
    for v in v_gso + v_csum:
        if v['data'] not in seen:
            seen[v['data']] = 'ovec_%s_in' % v['name']
            parts.append(c_bytes(seen[v['data']], v['data']))
        v['in_name'] = seen[v['data']]
        for i, s in enumerate(v['out']):
            parts.append(c_bytes('ovec_%s_out%d' % (v['name'], i), s))
        parts.append('static const struct ovec_frame ovec_%s_out[] = {\n%s};\n' % (
            v['name'], ''.join('\t{ovec_%s_out%d, %d},\n' % (v['name'], i, len(s))
                               for i, s in enumerate(v['out']))))
    for table, vs in (('ovec_gso', v_gso), ('ovec_csum', v_csum)):
        rows = ''.join('\t{"%s", {%s, %d}, %s, %d, %d, ovec_%s_out},\n' % (
            v['name'], v['in_name'], len(v['data']), c_ol(v['ol']), v['mss_cap'], len(v['out']),
            v['name']) for v in vs)
        parts.append('static const struct ovec %s[] = {\n%s};\n' % (table, rows))
    parts.append('#endif\n')
    with open(OUT_H, 'w') as f:
        f.write('\n'.join(parts))


def seeds(v_gso, v_csum):
    """fuzz_gso input: the 10-byte virtio-net header (little-endian), then the frame."""
    os.makedirs(OUT_SEEDS, exist_ok=True)
    for v in v_gso + v_csum:
        if v['name'] in ('tcp4', 'tcp4_mss1000'):
            continue  # big; the smaller TCP vectors cover the same paths
        ol = v['ol']
        hdr = struct.pack('<BBHHHH', ol['flags'], ol['gso_type'], ol['hdr_len'], ol['gso_size'],
                          ol['csum_start'], ol['csum_offset'])
        with open(os.path.join(OUT_SEEDS, v['name']), 'wb') as f:
            f.write(hdr + v['data'])


def main():
    v_gso, v_csum = vectors()
    emit(v_gso, v_csum)
    seeds(v_gso, v_csum)


if __name__ == '__main__':
    main()
