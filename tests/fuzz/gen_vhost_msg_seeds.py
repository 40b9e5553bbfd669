#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vhost_msg: a few valid vhost-user message
sequences in the target's record format (see tests/fuzz/fuzz_vhost_msg.c):
1 fd-selector byte, the 12-byte header, the payload."""
import os
import struct
import sys

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
SEND_RARP, NET_SET_MTU, SET_BACKEND_REQ_FD = 19, 20, 21
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG, SET_STATUS, GET_STATUS = 36, 37, 38, 39, 40
NEED_REPLY = 1 << 3
MEMFD, EVENTFD, DEVNULL, BADFD = 0, 1, 2, 3
UVA = 0x7F0000000000
MEM = 1 << 20
FEATURES = (1 << 32) | (1 << 15) | (1 << 29) | (1 << 28) | (1 << 30)
PROTO = (1 << 0) | (1 << 3) | (1 << 15) | (1 << 4) | (1 << 5) | (1 << 16)


def rec(req, payload=b"", nfds=0, kind=MEMFD, flags=1):
    return bytes([nfds | (kind << 4)]) + struct.pack("<III", req, flags, len(payload)) + payload


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


def region(gpa, size, uva, off):
    return struct.pack("<QQQQ", gpa, size, uva, off)


def mem_table(regions):
    return struct.pack("<II", len(regions), 0) + b"".join(regions)


def ring(q, kick_kind=EVENTFD):
    base = UVA + 0x10000 * (q + 1)
    addr = struct.pack("<IIQQQQ", q, 0, base, base + 0x2000, base + 0x1000, 0)
    return (rec(SET_VRING_NUM, state(q, 256)) + rec(SET_VRING_BASE, state(q, 0)) +
            rec(SET_VRING_ADDR, addr) + rec(SET_VRING_KICK, u64(q), 1, kick_kind) +
            rec(SET_VRING_CALL, u64(q), 1, EVENTFD))


def negotiate(features=FEATURES):
    return (rec(GET_FEATURES) + rec(SET_OWNER) + rec(GET_PROTOCOL_FEATURES) +
            rec(SET_PROTOCOL_FEATURES, u64(PROTO)) + rec(GET_QUEUE_NUM) +
            rec(GET_MAX_MEM_SLOTS) + rec(SET_FEATURES, u64(features), flags=1 | NEED_REPLY))


def main(out):
    os.makedirs(out, exist_ok=True)
    one = rec(SET_MEM_TABLE, mem_table([region(0, MEM, UVA, 0)]), 1, MEMFD)
    two = rec(SET_MEM_TABLE, mem_table([region(0, MEM // 2, UVA, 0),
                                        region(MEM // 2, MEM // 2, UVA + MEM // 2, MEM // 2)]),
              2, MEMFD)
    enable = rec(SET_VRING_ENABLE, state(0, 1)) + rec(SET_VRING_ENABLE, state(1, 1))
    seeds = {
        "qemu_start": negotiate() + one + ring(0) + ring(1) + enable +
        rec(NET_SET_MTU, u64(1500), flags=1 | NEED_REPLY) + rec(SET_STATUS, u64(15)) +
        rec(GET_STATUS) + rec(GET_VRING_BASE, state(0, 0)) + rec(GET_VRING_BASE, state(1, 0)),
        "no_protocol_features": rec(GET_FEATURES) + rec(SET_FEATURES, u64(1 << 32)) +
        ring(0, BADFD) + one,
        "table_swap": negotiate() + one + ring(0) + enable + two + one +
        rec(SET_VRING_CALL, u64(0 | 0x100)) + rec(RESET_OWNER),
        "mem_slots": negotiate() +
        rec(ADD_MEM_REG, u64(0) + region(0, MEM // 2, UVA, 0), 1, MEMFD) + ring(0) + enable +
        rec(ADD_MEM_REG, u64(0) + region(MEM // 2, MEM // 2, UVA + MEM // 2, MEM // 2), 1,
            MEMFD) +
        rec(REM_MEM_REG, u64(0) + region(0, MEM // 2, UVA, 0)) +
        rec(SET_BACKEND_REQ_FD, b"", 1, EVENTFD) + rec(SEND_RARP, u64(0x112233445566)),
        "hostile": negotiate() + rec(SET_MEM_TABLE, mem_table([region(0, MEM, UVA, 4096)]), 1,
                                     MEMFD) +
        rec(SET_VRING_KICK, u64(0x100), 1, EVENTFD) + rec(99, u64(0), 3, EVENTFD) +
        rec(SET_VRING_NUM, state(7, 256)) + rec(SET_VRING_ERR, u64(1), 1, DEVNULL) +
        rec(SET_OWNER, b"", 9, EVENTFD),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_vhost_msg"))
