#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_vq_chain and fuzz_vq_enqueue.

Each seed is the 16-byte parameter block and guest memory image described in
fuzz_vq_common.h: a split ring in region 0 (guest address 0x10000), buffers
near the end of region 0 and in region 1 (0x18000) so that some straddle the
boundary. Run from the repository root: python3 tests/fuzz/gen_vq_seeds.py
"""
import os
import struct

GPA0, MEM0, MEM1 = 0x10000, 32768, 32768
F_IND, F_V1, F_MRG, F_EVENT = 1, 2, 4, 8
NEXT, WRITE, INDIRECT = 1, 2, 4


def align64(v):
    return (v + 63) & ~63


class Guest:
    def __init__(self, log2, feat, base, room=2048, lens=(0, 0, 0, 0), extra_head=0):
        self.size = 1 << log2
        self.hdr = struct.pack('<BBHH4HH', log2, feat, base, room, *lens, extra_head)
        self.mem = bytearray(MEM0 + MEM1)
        self.avail = align64(16 * self.size)
        self.used = align64(self.avail + 6 + 2 * self.size)
        self.idx = base
        self.hdr_len = 12 if feat & (F_V1 | F_MRG) else 10
        struct.pack_into('<HH', self.mem, self.avail, 0, base)
        struct.pack_into('<HH', self.mem, self.used, 0, base)

    def put(self, gpa, data):
        off = gpa - GPA0
        self.mem[off:off + len(data)] = data

    def desc(self, i, gpa, length, flags=0, nxt=0):
        struct.pack_into('<QIHH', self.mem, 16 * i, gpa, length, flags, nxt)

    def push(self, head):
        struct.pack_into('<H', self.mem, self.avail + 4 + 2 * (self.idx % self.size), head)
        self.idx = (self.idx + 1) & 0xffff
        struct.pack_into('<H', self.mem, self.avail + 2, self.idx)

    def data(self):
        return self.hdr + bytes(self.mem)


def net_hdr(g, flags=0, gso=0):
    return struct.pack('<BBHHHHH', flags, gso, 54, 1448, 34, 16, 0)[:g.hdr_len]


def frame(n, seed):
    return bytes((seed * 31 + i * 7) & 0xff for i in range(n))


def tx_seeds():
    out = {}
    # plain: one, two (header split) and indirect chains, one across regions
    g = Guest(3, F_V1 | F_IND, 0)
    g.put(0x17000, net_hdr(g) + frame(60, 1))
    g.desc(0, 0x17000, g.hdr_len + 60)
    g.push(0)
    g.put(0x17100, net_hdr(g, 1, 1) + frame(100, 2))
    g.desc(1, 0x17100, 7, NEXT, 2)
    g.desc(2, 0x17107, g.hdr_len - 7 + 100)
    g.push(1)
    g.put(0x17ff0, net_hdr(g) + frame(200, 3))  # straddles 0x18000
    tbl = struct.pack('<QIHHQIHH', 0x17ff0, 8, NEXT, 1, 0x17ff8, g.hdr_len - 8 + 200, 0, 0)
    g.put(0x17400, tbl)
    g.desc(3, 0x17400, len(tbl), INDIRECT)
    g.push(3)
    out['three_chains'] = g.data()
    # legacy header, queue of 1, index about to wrap
    g = Guest(0, 0, 0xffff)
    g.put(0x17000, net_hdr(g) + frame(64, 4))
    g.desc(0, 0x17000, g.hdr_len + 64)
    g.push(0)
    out['size1_wrap'] = g.data()
    # hostile: a loop and a short chain (CVE-2022-2132)
    g = Guest(2, F_V1, 0, extra_head=1)
    g.desc(0, 0x17000, 8, NEXT, 1)
    g.desc(1, 0x17008, 8, NEXT, 0)
    g.push(0)
    out['loop'] = g.data()
    g = Guest(2, F_V1 | F_EVENT, 0)
    g.desc(0, 0x17000, 11)
    g.push(0)
    out['short_chain'] = g.data()
    return out


def rx_seeds():
    out = {}
    for name, feat, lens in (('mrg', F_V1 | F_MRG | F_EVENT, (60, 300, 1514, 0)),
                             ('no_mrg', F_V1, (60, 1514, 2000, 9000)),
                             ('legacy', 0, (60, 100, 1, 0)),
                             # bit 4: dirty logging on (the live-migration oracle)
                             ('mrg_log', F_V1 | F_MRG | F_EVENT | 16, (60, 4000, 1514, 9000)),
                             ('no_mrg_log', F_V1 | 16, (60, 1514, 2000, 0))):
        g = Guest(4, feat, 0xfffe, lens=lens)
        gpa = 0x16000
        for i in range(8):
            n = 1 + i % 2
            blen = 600 if feat & F_MRG else 2048
            for s in range(n):
                d = 2 * i + s
                part = blen // n
                last = s == n - 1
                g.desc(d, gpa + s * part, blen - part * s if last else part,
                       WRITE | (0 if last else NEXT), d + 1)
            g.push(2 * i)
            gpa += blen
        out[name] = g.data()
    return out


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    for target, seeds in (('fuzz_vq_chain', tx_seeds()), ('fuzz_vq_enqueue', rx_seeds())):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, blob in seeds.items():
            with open(os.path.join(d, 'seed_' + name), 'wb') as f:
                f.write(blob.rstrip(b'\0') or b'\0' * 16)


if __name__ == '__main__':
    main()
