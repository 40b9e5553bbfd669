#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vhost_msg: a few valid vhost-user message
sequences in the target's record format (see tests/fuzz/fuzz_vhost_msg.c):
1 fd-selector byte, the 12-byte header, the payload."""
import os
import struct
import sys

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_LOG_BASE, SET_LOG_FD = 6, 7
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
LOG_ALL = 1 << 26
PROTO_LOG = PROTO | (1 << 1) | (1 << 2)  # LOG_SHMFD, RARP
VRING_F_LOG = 1 << 0
LOG_NEED = MEM // 4096 // 8  # log bytes for guest-physical 0 .. MEM: one bit per page


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


def log(size, offset):
    return struct.pack("<QQ", size, offset)


def ring_addr(q, flags=0):
    """SET_VRING_ADDR of ring(q); with VRING_F_LOG, log_guest_addr is the used ring's gpa."""
    base = UVA + 0x10000 * (q + 1)
    used_gpa = base + 0x2000 - UVA
    return struct.pack("<IIQQQQ", q, flags, base, base + 0x2000, base + 0x1000,
                       used_gpa if flags & VRING_F_LOG else 0)


def ring(q, kick_kind=EVENTFD):
    addr = ring_addr(q)
    return (rec(SET_VRING_NUM, state(q, 256)) + rec(SET_VRING_BASE, state(q, 0)) +
            rec(SET_VRING_ADDR, addr) + rec(SET_VRING_KICK, u64(q), 1, kick_kind) +
            rec(SET_VRING_CALL, u64(q), 1, EVENTFD))


def negotiate(features=FEATURES, proto=PROTO):
    return (rec(GET_FEATURES) + rec(SET_OWNER) + rec(GET_PROTOCOL_FEATURES) +
            rec(SET_PROTOCOL_FEATURES, u64(proto)) + rec(GET_QUEUE_NUM) +
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
        # Live migration as QEMU 7.2 runs it: log base (the memfd: the fuzzer's one
        # mappable fd), LOG_ALL, the rings' log flag, a replacing log, SET_LOG_FD,
        # SEND_RARP, stop, logging off.
        "migration": negotiate(proto=PROTO_LOG) + one + ring(0) + ring(1) + enable +
        rec(SET_LOG_BASE, log(LOG_NEED, 0), 1, MEMFD) +
        rec(SET_FEATURES, u64(FEATURES | LOG_ALL), flags=1 | NEED_REPLY) +
        rec(SET_VRING_ADDR, ring_addr(0, VRING_F_LOG), flags=1 | NEED_REPLY) +
        rec(SET_VRING_ADDR, ring_addr(1, VRING_F_LOG), flags=1 | NEED_REPLY) +
        rec(SET_LOG_BASE, log(LOG_NEED, 4096), 1, MEMFD) + rec(SET_LOG_FD, b"", 1, EVENTFD) +
        rec(SEND_RARP, u64(0x665544332211)) + rec(GET_VRING_BASE, state(0, 0)) +
        rec(GET_VRING_BASE, state(1, 0)) + rec(SET_FEATURES, u64(FEATURES)) +
        rec(SET_VRING_ADDR, ring_addr(0)),
        # Logs the back-end must refuse (and one too small, which it takes).
        "log_hostile": negotiate(proto=PROTO_LOG) + one + ring(0) + enable +
        rec(SET_FEATURES, u64(FEATURES | LOG_ALL)) +
        rec(SET_LOG_BASE, log(MEM, 4096), 1, MEMFD) +  # past the fd's end
        rec(SET_LOG_BASE, log(0, 0), 1, MEMFD) +
        rec(SET_LOG_BASE, log(8192, (1 << 64) - 4096), 1, MEMFD) +  # wraps
        rec(SET_LOG_BASE, log((1 << 32) + 8, 0), 1, MEMFD) +
        rec(SET_LOG_BASE, log(LOG_NEED, 0), 0) + rec(SET_LOG_BASE, log(LOG_NEED, 0), 2, MEMFD) +
        rec(SET_LOG_BASE, log(4096, 0), 1, EVENTFD) + rec(SET_LOG_BASE, log(4096, 0), 1, DEVNULL) +
        rec(SET_LOG_BASE, log(4096, 0), 1, BADFD) + rec(SET_LOG_BASE, u64(4096), 1, MEMFD) +
        rec(SET_LOG_BASE, log(8, 0), 1, MEMFD, flags=1 | NEED_REPLY) +
        rec(SET_VRING_ADDR, ring_addr(0, VRING_F_LOG | 2)) + rec(SET_LOG_FD, b"", 0),
        # LOG_SHMFD not negotiated: a well-formed log is refused.
        "log_no_shmfd": negotiate(FEATURES | LOG_ALL) + one + ring(0) + enable +
        rec(SET_LOG_BASE, log(LOG_NEED, 0), 1, MEMFD) +
        rec(SET_VRING_ADDR, ring_addr(0, VRING_F_LOG)),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_vhost_msg"))
