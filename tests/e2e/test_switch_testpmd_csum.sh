#!/usr/bin/env bash
# End-to-end: checksum and TSO offloads between ringswitchd and dpdk-testpmd
# (`csum` forwarding, TSO set on its net_virtio_user ports), a front-end we
# did not write, with the switch's own completion and segmentation checked
# frame by frame.
#
# Topology: ringswitchd ports vm1 and vm2 (vhost-user-server) and inj, a tap
# port with offloads=off whose device sits in a network namespace of its own
# (no address, IPv6 off: the kernel sends nothing on it).  Flows:
#   in_port=vm1 -> vm2, in_port=vm2 -> vm1            (the loop)
#   in_port=inj,dl_dst=MAC0 -> vm1, dl_dst=MAC1 -> vm2 (injection)
# One testpmd per phase owns net_virtio_user0 on vm1.sock (port 0, MAC0) and
# net_virtio_user1 on vm2.sock (port 1, MAC1), lcores on CPU 0: `port stop
# all`, per offloading port `csum set ip|udp|tcp hw P` (ip: virtio has no
# IPv4 header checksum offload, testpmd says "not supported" and keeps it in
# software), `csum parse-tunnel off P`, `tso set $TSO P`, `port config P
# rx_offload udp_cksum|tcp_cksum|tcp_lro on` (so that the virtio PMD acks
# GUEST_CSUM and GUEST_TSO4), `port start all`, `set fwd csum`, `start`.
#
# Why not `start tx_first`: txonly sends UDP with checksum 0 ("no checksum"),
# which the csum engine never offloads (it leaves a zero UDP checksum alone)
# and it makes no TCP, so no frame would ever carry offload metadata.  A
# python3 AF_PACKET socket on the tap injects instead, through the switch,
# FLOWS UDP datagrams, FLOWS small TCP segments and FLOWS TCP segments of
# $BIG payload bytes (> TSO: testpmd marks them for TSO) per testpmd port,
# every checksum right and every byte a known function of the flow and the
# stream offset.  They circulate testpmd -> switch -> testpmd for the phase;
# each pass testpmd asks the virtio PMD for the offload (the L4 checksum
# field becomes the pseudo-header sum) (NEEDS_CSUM; GSO_TCPV4 with gso_size $TSO
# for the big ones).
#
# Why testpmd's own counters prove little: the csum engine's Bad-ipcsum /
# Bad-l4csum count only the RX_*_CKSUM_BAD flags of the PMD, and the virtio
# PMD never sets them: it verifies nothing, a NEEDS_CSUM frame is flagged
# L4_CKSUM_NONE ("not checked") and a port without GUEST_CSUM gets no flag at
# all.  They are asserted 0 all the same.  The real check is
# a mirror window: for ~1 s the loop rule of one direction also outputs to
# inj (offloads=off), so the switch completes the checksums / cuts the
# super-frames of what testpmd sent for the tap too, and the python reader
# there checks every frame: IPv4 header checksum and length, UDP/TCP
# checksum, TCP payload <= MSS ($TSO), payload bytes at their TCP offset.
#
# Phase "offloads" (vm1 and vm2 offer every offload, testpmd uses them on
# both ports): testpmd RX-packets >= MIN_PKTS on both ports; Bad-* 0; the
# switch took from each port exactly what testpmd sent there, and every one
# of those frames carried offload metadata it accepted (offload.rx_csum +
# offload.rx_gso = TX-packets; both > 0: the big TCP frames stay super-frames
# all the way round); it passed them through (tx_csum_sw and tx_segmented 0
# on vm1 and vm2) and did the work for the tap (inj tx_csum_sw and
# tx_segmented > 0); the mirror (vm2 -> vm1 + inj) checked clean, cut TCP
# segments among its frames.
# Phase "vm2 off" (vm2 re-created with offloads=off, a new testpmd):
# testpmd port 1 lists none of UDP_CKSUM, TCP_CKSUM, TCP_TSO, TCP_LRO (the
# switch offered nothing), port 0 keeps them; every frame port 0 sent
# carried metadata, none of port 1's did (vm2 rx_csum and rx_gso 0); the
# switch completed the checksum of every NEEDS_CSUM frame from vm1 for vm2
# (vm2 tx_csum_sw = vm1 rx_csum) and segmented every super-frame from vm1
# for vm2 (vm2 tx_segmented = vm1 rx_gso >= FLOWS: the first pass of each
# big frame; the pieces are <= TSO and stay whole); the mirror (vm1 -> vm2 +
# inj, the very frames vm2 got) checked clean: those segments circulate, so
# the reader checks the switch's cuts for vm2.
# Both phases: no drops.bad_offload, no drop of any kind on vm1 and vm2, no
# queue broken.  The whole run is bounded by RS_E2E_CSUM_LIMIT (90 s).
# Run time: about 25 s (RS_E2E_TESTPMD_SECS of circulation per phase, default 3).
#
# Needs: root (tap, network namespace), dpdk-testpmd (Debian package
# dpdk-dev; skipped without it), iproute2, python3, BUILD/ringswitchd and
# ringctl.
# Prints: figure: testpmd csum-fwd loop through ringswitchd (PHASE): ...
set -uo pipefail
. "$(dirname "$0")/lib.sh"
RS_E2E_SWITCH=ringswitchd
e2e_init switch_testpmd_csum
[[ "$(id -u)" == 0 ]] || e2e_skip "needs root (tap device, network namespace)"
command -v dpdk-testpmd >/dev/null 2>&1 ||
    e2e_skip "dpdk-testpmd not found (Debian package dpdk-dev, installed by scripts/install-deps.sh)"
e2e_need ip iproute2
e2e_need python3 python3

SECS="${RS_E2E_TESTPMD_SECS:-3}"
TSO=600 BIG=1400 SMALL=300 UDPLEN=200 FLOWS=8
MIN_PKTS=10000
MAC0=02:00:00:00:00:01 MAC1=02:00:00:00:00:02
RUN="$E2E_TMP/run"
NS="rs-e2e-csum-$$"
TAP="rsck$$"
TAP="${TAP:0:15}"
PKT="$E2E_TMP/pkt.py"

e2e_on_cleanup ip netns del "$NS"
e2e_on_cleanup ip link del "$TAP"

cat >"$PKT" <<'PYEOF'
#!/usr/bin/env python3
"""Frames for test_switch_testpmd_csum.sh, on an AF_PACKET socket of a tap.

  pkt.py inject IF DST_MAC FLOWS UDP_LEN TCP_SMALL TCP_BIG
      send, to DST_MAC, FLOWS UDP datagrams (payload UDP_LEN), FLOWS TCP
      segments with TCP_SMALL payload bytes and FLOWS with TCP_BIG bytes;
      every checksum right, every flow its own source port.
  pkt.py verify IF SECS MSS
      read the frames the switch gives the tap for SECS seconds and check
      each one: IPv4 header checksum and length, UDP/TCP checksum, TCP
      payload at most MSS bytes, payload bytes as injected (a function of
      the source port and the stream offset).  Prints one line
      "verify: frames=N udp=N tcp=N tcp_cut=N bad_ipcsum=N bad_l4csum=N
      bad_len=N bad_data=N over_mss=N other=N".
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SRC_MAC = bytes.fromhex("020000000099")
SRC_IP = bytes([10, 99, 0, 1])
DST_IP = bytes([10, 99, 0, 2])
UDP_PORT, TCP_PORT = 9000, 9001
SEQ0 = 0x10000000
PERIOD = 251
PATTERN = bytes(i % PERIOD for i in range(70000 + PERIOD))


def pattern(sport, off, n):
    k = (off + sport) % PERIOD
    return PATTERN[k:k + n]


def ones_ok(data):
    """True when 'data' (checksum field included) sums to 0xffff in ones'
    complement: 2^16 = 1 modulo 0xffff, so the sum of the 16-bit words is
    the whole number modulo 0xffff (RFC 1071)."""
    if len(data) & 1:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xffff == 0


def ipv4(proto, l4, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, 64, proto, 0,
                      SRC_IP, DST_IP)
    c = 0xffff - (int.from_bytes(hdr, "big") % 0xffff)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:]


def l4_csum(proto, l4):
    pseudo = SRC_IP + DST_IP + struct.pack("!BBH", 0, proto, len(l4))
    data = pseudo + l4 + (b"\0" if len(l4) & 1 else b"")
    return 0xffff - int.from_bytes(data, "big") % 0xffff  # never 0: fine for UDP


def frame(dst, proto, l4, ident):
    return dst + SRC_MAC + b"\x08\x00" + ipv4(proto, l4, ident) + l4


def udp(sport, n):
    body = pattern(sport, 0, n)
    l4 = struct.pack("!HHHH", sport, UDP_PORT, 8 + n, 0) + body
    c = l4_csum(17, l4)
    return l4[:6] + struct.pack("!H", c) + body


def tcp(sport, n):
    body = pattern(sport, 0, n)
    l4 = struct.pack("!HHIIBBHHH", sport, TCP_PORT, SEQ0, 1, 5 << 4, 0x10, 65535, 0, 0) + body
    c = l4_csum(6, l4)
    return l4[:16] + struct.pack("!H", c) + l4[18:]


def inject(ifname, dst, flows, udp_len, tcp_small, tcp_big):
    dst = bytes.fromhex(dst.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    n = 0
    for i in range(flows):
        for proto, l4 in ((17, udp(20000 + i, udp_len + 8 * i)), (6, tcp(30000 + i, tcp_small)),
                          (6, tcp(40000 + i, tcp_big))):
            s.send(frame(dst, proto, l4, i))
            n += 1
    print("inject: %d frames to %s" % (n, dst.hex(":")))


def verify(ifname, secs, mss):
    c = dict.fromkeys(("frames", "udp", "tcp", "tcp_cut", "bad_ipcsum", "bad_l4csum", "bad_len",
                       "bad_data", "over_mss", "other"), 0)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((ifname, 0))
    s.settimeout(0.2)
    end = time.monotonic() + secs
    bad = []
    while time.monotonic() < end:
        try:
            f, addr = s.recvfrom(70000)
        except socket.timeout:
            continue
        if addr[2] == PACKET_OUTGOING:
            continue
        c["frames"] += 1
        why = check(f, mss, c)
        if why and len(bad) < 5:
            bad.append("%s: %s" % (why, f[:64].hex()))
    print("verify: " + " ".join("%s=%d" % kv for kv in c.items()))
    for b in bad:
        print("bad frame: " + b)


def check(f, mss, c):
    if len(f) < 34 or f[12:14] != b"\x08\x00" or f[14] != 0x45:
        c["other"] += 1
        return "not IPv4"
    ip = f[14:34]
    tot = struct.unpack("!H", ip[2:4])[0]
    proto = ip[9]
    if not ones_ok(ip):
        c["bad_ipcsum"] += 1
        return "IPv4 header checksum"
    if tot < 28 or 14 + tot > len(f):
        c["bad_len"] += 1
        return "IPv4 total length %d, frame %d" % (tot, len(f))
    l4 = f[34:14 + tot]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, proto, len(l4))
    if proto == 17:
        c["udp"] += 1
        sport, _, ulen, uc = struct.unpack("!HHHH", l4[:8])
        if ulen != len(l4):
            c["bad_len"] += 1
            return "UDP length %d, IP says %d" % (ulen, len(l4))
        if uc == 0 or not ones_ok(pseudo + l4):
            c["bad_l4csum"] += 1
            return "UDP checksum 0x%04x" % uc
        if l4[8:] != pattern(sport, 0, len(l4) - 8):
            c["bad_data"] += 1
            return "UDP payload"
        return None
    if proto == 6:
        c["tcp"] += 1
        sport, _, seq = struct.unpack("!HHI", l4[:8])
        doff = (l4[12] >> 4) * 4
        body = l4[doff:]
        if not ones_ok(pseudo + l4):
            c["bad_l4csum"] += 1
            return "TCP checksum"
        if len(body) > mss:
            c["over_mss"] += 1
            return "TCP payload %d > MSS %d" % (len(body), mss)
        if seq != SEQ0:
            c["tcp_cut"] += 1
        if body != pattern(sport, (seq - SEQ0) & 0xffffffff, len(body)):
            c["bad_data"] += 1
            return "TCP payload at offset %d" % (seq - SEQ0)
        return None
    c["other"] += 1
    return "protocol %d" % proto


def main(argv):
    if len(argv) == 8 and argv[1] == "inject":
        inject(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]), int(argv[7]))
    elif len(argv) == 5 and argv[1] == "verify":
        verify(argv[2], float(argv[3]), int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
PYEOF

fails=0
cfail() { echo "FAIL: switch_testpmd_csum: $*" >&2; fails=$((fails + 1)); }
lines() { wc -l <"$1"; }

# fwd_stat LOG FROMLINE PORT FIELD: FIELD ("RX-packets", "Bad-l4csum", ...)
# of testpmd PORT in the "Forward statistics" block `stop` printed after
# line FROMLINE of LOG.
fwd_stat() {
    tail -n +"$(($2 + 1))" "$1" | tr -d '\r' | awk -v port="$3" -v field="$4:" '
        /Forward statistics for port/ { cur = ($6 == port) }
        /Accumulated forward statistics/ { cur = 0 }
        cur { for (i = 1; i < NF; i++) if ($i == field) v = $(i + 1) }
        END { printf "%d\n", v }'
}

# ol_diff BEFORE AFTER: "PORT offload.KEY DELTA" for the offload counters of
# two `ringctl --json port-stats` snapshots (e2e_pstat_diff has the rest).
ol_diff() {
    python3 -c '
import json, sys
a = {p["name"]: p["offload"] for p in json.loads(sys.argv[1])}
for p in json.loads(sys.argv[2]):
    for k, v in p["offload"].items():
        print(p["name"], "offload." + k, v - a.get(p["name"], {}).get(k, 0))' "$1" "$2"
}

# The testpmd of the current phase: TP_LOG, TP_FIFO.
# tp CMD: type CMD; tp_out CMD: the same, printing what testpmd answered.
tp() { e2e_testpmd_cmd "$TP_LOG" "$TP_FIFO" "$1"; }
tp_out() {
    local l
    l=$(lines "$TP_LOG")
    tp "$1"
    tail -n +"$((l + 1))" "$TP_LOG" | tr -d '\r' | grep -v 'testpmd>'
}

# has_all LIST WORD...: every WORD is in LIST; has_none: none is.
has_all() {
    local l=" $1 " w
    shift
    for w; do [[ "$l" == *" $w "* ]] || return 1; done
}
has_none() {
    local l=" $1 " w
    shift
    for w; do [[ "$l" != *" $w "* ]] || return 1; done
}

_ready() {
    [[ "$(e2e_json "$(e2e_ringctl --json show 2>/dev/null)" \
        "all(len(p['rxq_ready']) == 1 and len(p['txq_ready']) == 1 for p in j['ports'] if p['name'] in ('vm1', 'vm2'))")" == 1 ]]
}

set_flows() {
    e2e_ringctl_ok del-flows >/dev/null
    e2e_ringctl_ok add-flow "priority=100,in_port=vm1,actions=output:vm2" >/dev/null
    e2e_ringctl_ok add-flow "priority=100,in_port=vm2,actions=output:vm1" >/dev/null
    e2e_ringctl_ok add-flow "priority=100,in_port=inj,dl_dst=$MAC0,actions=output:vm1" >/dev/null
    e2e_ringctl_ok add-flow "priority=100,in_port=inj,dl_dst=$MAC1,actions=output:vm2" >/dev/null
}

# run_phase NAME OLPORTS MIRROR: one testpmd with its offloads on the ports
# in OLPORTS ("0 1" or "0"); frames injected towards both ports; SECS
# seconds of circulation, ~1 s of it with in_port=MIRROR (vm1|vm2) also
# output to inj.  Sets D[PORT:KEY] (switch counter deltas), T[PORT:FIELD]
# (testpmd's forward statistics), V[KEY] (the tap reader's counts), CAP[P]
# (port P's tx and rx offload capabilities, one line).
nphase=0
declare -A D T V CAP
run_phase() {
    local name="$1" olports="$2" mirror="$3" other n p l0 t0 t1 st0 st1 vpid k v out
    other=vm2
    [[ "$mirror" == vm2 ]] && other=vm1
    nphase=$((nphase + 1))
    n=$nphase
    e2e_log "=== phase $name"
    e2e_testpmd_start "$E2E_TMP/tp$n" "$E2E_TMP/tp$n.log" "0@0,1@0" \
        --vdev "net_virtio_user0,path=$RUN/vm1.sock,queues=1,packed_vq=0,mac=$MAC0" \
        --vdev "net_virtio_user1,path=$RUN/vm2.sock,queues=1,packed_vq=0,mac=$MAC1" \
        -- --rxq=1 --txq=1 --nb-cores=1
    local tp_pid=$TP_PID
    for p in 0 1; do
        CAP[$p]="$( (tp_out "show port $p tx_offload capabilities"
            tp_out "show port $p rx_offload capabilities") | awk '/Per Port/ { sub(/.*: */, ""); printf "%s ", $0 }')"
        e2e_log "$name: testpmd port $p offload capabilities (tx, rx): ${CAP[$p]}"
    done
    tp "port stop all"
    for p in $olports; do
        tp_out "csum set ip hw $p" | grep -q 'not supported' ||
            e2e_log "$name: testpmd port $p accepted IPv4 header checksum offload"
        for k in udp tcp; do tp "csum set $k hw $p"; done
        tp "csum parse-tunnel off $p"
        tp "tso set $TSO $p"
        for k in udp_cksum tcp_cksum tcp_lro; do tp "port config $p rx_offload $k on"; done
    done
    tp "port start all"
    for p in $olports; do
        out="$( (tp_out "show port $p tx_offload configuration"
            tp_out "show port $p rx_offload configuration") | awk '/Port :/ { sub(/.*: */, ""); printf "%s ", $0 }')"
        e2e_log "$name: testpmd port $p offloads configured (tx, rx): $out"
        has_all "$out" UDP_CKSUM TCP_CKSUM TCP_TSO TCP_LRO ||
            cfail "$name: testpmd port $p did not take its offloads: $out"
    done
    tp "set fwd csum"
    tp "set verbose 0"
    e2e_wait_for 10 _ready || cfail "$name: vm1 and vm2 not ready after testpmd's port start"
    st0="$(e2e_ringctl_ok --json port-stats)" || exit 1
    tp "start"
    t0=$(date +%s.%N)
    for p in "$MAC0" "$MAC1"; do
        timeout 20 ip netns exec "$NS" python3 "$PKT" inject "$TAP" "$p" "$FLOWS" "$UDPLEN" "$SMALL" "$BIG" >&2 ||
            cfail "$name: injecting frames towards $p failed"
    done
    sleep "$SECS"
    # The mirror window: the reader listens first, then the rule comes and goes.
    timeout 30 ip netns exec "$NS" python3 "$PKT" verify "$TAP" 2 "$TSO" >"$E2E_TMP/verify$n.out" 2>&1 &
    vpid=$!
    e2e_track "$vpid"
    sleep 0.5
    e2e_ringctl_ok add-flow "priority=200,in_port=$mirror,actions=output:$other,output:inj" >/dev/null
    sleep 1
    e2e_ringctl_ok del-flows --strict "priority=200,in_port=$mirror" >/dev/null
    wait "$vpid" || cfail "$name: the tap reader failed: $(tail -n 3 "$E2E_TMP/verify$n.out")"
    e2e_untrack "$vpid"
    l0=$(lines "$TP_LOG")
    tp "stop"
    t1=$(date +%s.%N)
    sleep 0.5 # what is in flight settles in the rings
    st1="$(e2e_ringctl_ok --json port-stats)" || exit 1
    e2e_ringctl port-stats >&2
    cat "$E2E_TMP/verify$n.out" >&2
    e2e_testpmd_quit "$TP_FIFO" "$tp_pid"
    e2e_untrack "$tp_pid"

    D=() T=() V=()
    while read -r p k v; do D[$p:$k]=$v; done < <(e2e_pstat_diff "$st0" "$st1"; ol_diff "$st0" "$st1")
    for p in 0 1; do
        for k in RX-packets TX-packets Bad-ipcsum Bad-l4csum Bad-outer-l4csum Bad-outer-ipcsum; do
            T[$p:$k]=$(fwd_stat "$TP_LOG" "$l0" "$p" "$k")
        done
        e2e_log "$name: testpmd port $p: RX-packets ${T[$p:RX-packets]} TX-packets ${T[$p:TX-packets]}" \
            "Bad-ipcsum ${T[$p:Bad-ipcsum]} Bad-l4csum ${T[$p:Bad-l4csum]}"
    done
    for k in $(sed -n 's/^verify: //p' "$E2E_TMP/verify$n.out"); do V[${k%%=*}]=${k#*=}; done
    local rate
    rate=$(awk -v a="${T[0:RX-packets]}" -v b="${T[1:RX-packets]}" -v t0="$t0" -v t1="$t1" \
        'BEGIN { printf "%.2f", (a + b) / (t1 - t0) / 1e6 }')
    e2e_figure "testpmd csum-fwd loop through ringswitchd ($name): $rate Mpps" \
        "($((6 * FLOWS)) frames in flight, both directions summed, ~1 s of it mirrored to a tap)"
    e2e_figure "switch offload counters ($name): vm1 rx_csum=$(d vm1 offload.rx_csum) rx_gso=$(d vm1 offload.rx_gso)" \
        "tx_csum_sw=$(d vm1 offload.tx_csum_sw) tx_segmented=$(d vm1 offload.tx_segmented);" \
        "vm2 rx_csum=$(d vm2 offload.rx_csum) rx_gso=$(d vm2 offload.rx_gso)" \
        "tx_csum_sw=$(d vm2 offload.tx_csum_sw) tx_segmented=$(d vm2 offload.tx_segmented);" \
        "inj tx_csum_sw=$(d inj offload.tx_csum_sw) tx_segmented=$(d inj offload.tx_segmented)"
    e2e_figure "tap reader ($name, mirror of $mirror): $(sed -n 's/^verify: //p' "$E2E_TMP/verify$n.out")"
    common_checks "$name"
}
d() { echo "${D[$1:$2]:-0}"; }

# common_checks NAME: what holds in every phase.
common_checks() {
    local name="$1" p k x broken
    for p in 0 1; do
        ((${T[$p:RX-packets]} >= MIN_PKTS)) ||
            cfail "$name: testpmd port $p received ${T[$p:RX-packets]} frames (< $MIN_PKTS): the loop stalled"
        for k in Bad-ipcsum Bad-l4csum Bad-outer-l4csum Bad-outer-ipcsum; do
            ((${T[$p:$k]} == 0)) || cfail "$name: testpmd port $p counted $k ${T[$p:$k]}"
        done
    done
    for p in vm1 vm2 inj; do
        x=$(d $p drops.bad_offload)
        ((x == 0)) || cfail "$name: $p dropped $x frames for bad offload metadata"
    done
    for p in vm1 vm2; do
        for k in "${!D[@]}"; do
            [[ "$k" == $p:drops.* || "$k" == $p:[rt]x.\*.drop_* ]] || continue
            ((D[$k] == 0)) || cfail "$name: the loop lost frames: $k=${D[$k]}"
        done
    done
    broken="$(e2e_rsd_broken)"
    [[ -z "$broken" ]] || cfail "$name: broken queues: $broken"
    ((${V[frames]:-0} > 0)) || cfail "$name: the tap reader saw no frame (mirror window)"
    ((${V[udp]:-0} > 0 && ${V[tcp]:-0} > 0)) || cfail "$name: the tap reader saw no UDP or no TCP"
    ((${V[tcp_cut]:-0} > 0)) || cfail "$name: the tap reader saw no segment cut from a super-frame"
    for k in bad_ipcsum bad_l4csum bad_len bad_data over_mss other; do
        ((${V[$k]:-0} == 0)) || cfail "$name: the tap reader counted $k=${V[$k]} ($(grep '^bad frame' "$E2E_TMP/verify$nphase.out" | head -n 3))"
    done
}

# sent_checks NAME P OFFLOADING: the switch took from vm(P+1) every frame
# testpmd port P sent; with OFFLOADING 1 every one of them carried offload
# metadata the switch accepted (each is UDP or TCP with a checksum, so the
# csum engine offloads it: NEEDS_CSUM, or GSO for the big TCP ones).
sent_checks() {
    local name="$1" p="$2" vm="vm$(($2 + 1))" tx="${T[$2:TX-packets]}" ol
    (($(d "$vm" rx_packets) == tx)) ||
        cfail "$name: the switch took $(d "$vm" rx_packets) frames from $vm, testpmd port $p sent $tx"
    (($3)) || return 0
    ol=$(($(d "$vm" offload.rx_csum) + $(d "$vm" offload.rx_gso)))
    ((ol == tx)) || cfail "$name: of the $tx frames testpmd port $p sent, $ol carried offload metadata"
}

# A bound of our own on the whole run (run.sh allows RS_E2E_TIMEOUT, 600 s).
LIMIT="${RS_E2E_CSUM_LIMIT:-90}"
(
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$LIMIT" &
    s=$!
    wait "$s" && echo "FAIL: switch_testpmd_csum: still running after $LIMIT s" >&2 && kill -TERM $$
) &
e2e_track $!

# --- setup --------------------------------------------------------------
e2e_start_rsd "$RUN" # default config: vm1, vm2
e2e_ringctl_ok add-port inj tap "ifname=$TAP" offloads=off >/dev/null
ip link show "$TAP" >/dev/null 2>&1 || e2e_fail "add-port inj tap ifname=$TAP: no device $TAP"
ip netns add "$NS" || e2e_fail "ip netns add $NS failed"
ip link set "$TAP" netns "$NS" || e2e_fail "cannot move $TAP into namespace $NS"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "net.ipv6.conf.$TAP.disable_ipv6=1" ||
    e2e_fail "cannot turn IPv6 off in $NS"
ip -n "$NS" link set "$TAP" up || e2e_fail "cannot bring $TAP up"
set_flows

# --- phase 1: offloads on both sides -------------------------------------
run_phase offloads "0 1" vm2
for p in 0 1; do
    has_all "${CAP[$p]}" UDP_CKSUM TCP_CKSUM TCP_TSO TCP_LRO ||
        cfail "offloads: testpmd port $p lacks checksum/TSO offloads: ${CAP[$p]}"
done
for p in 0 1; do sent_checks offloads $p 1; done
for p in vm1 vm2; do
    (($(d $p offload.rx_csum) > 0)) || cfail "offloads: the switch took no NEEDS_CSUM frame from $p"
    (($(d $p offload.rx_gso) > 0)) || cfail "offloads: the switch took no GSO super-frame from $p"
    for k in tx_csum_sw tx_segmented; do
        (($(d $p offload.$k) == 0)) || cfail "offloads: $p negotiated every offload but counted $k=$(d $p offload.$k)"
    done
done
(($(d inj offload.tx_csum_sw) > 0 && $(d inj offload.tx_segmented) > 0)) ||
    cfail "offloads: the switch completed no checksum or cut no super-frame for the tap"

# --- phase 2: vm2 re-created with offloads=off --------------------------
e2e_ringctl_ok del-flows >/dev/null
e2e_ringctl_ok del-port vm2 >/dev/null
e2e_ringctl_ok add-port vm2 vhost-user-server offloads=off >/dev/null
e2e_wait_socket "$RUN/vm2.sock" || e2e_fail "no $RUN/vm2.sock after add-port vm2"
set_flows
run_phase "vm2 off" "0" vm1
has_all "${CAP[0]}" UDP_CKSUM TCP_CKSUM TCP_TSO TCP_LRO ||
    cfail "vm2 off: testpmd port 0 lost its offloads: ${CAP[0]}"
has_none "${CAP[1]}" UDP_CKSUM TCP_CKSUM TCP_TSO TCP_LRO ||
    cfail "vm2 off: testpmd port 1 (vm2, offloads=off) still lists offloads: ${CAP[1]}"
sent_checks "vm2 off" 0 1
sent_checks "vm2 off" 1 0
(($(d vm1 offload.rx_csum) > 0)) || cfail "vm2 off: the switch took no NEEDS_CSUM frame from vm1"
(($(d vm1 offload.rx_gso) >= FLOWS)) ||
    cfail "vm2 off: the switch took $(d vm1 offload.rx_gso) GSO super-frames from vm1, expected >= $FLOWS"
for k in rx_csum rx_gso; do
    (($(d vm2 offload.$k) == 0)) || cfail "vm2 off: vm2 negotiated nothing but the switch counted $k=$(d vm2 offload.$k)"
done
(($(d vm2 offload.tx_csum_sw) > 0 && $(d vm2 offload.tx_csum_sw) == $(d vm1 offload.rx_csum))) ||
    cfail "vm2 off: the switch completed $(d vm2 offload.tx_csum_sw) checksums for vm2, took $(d vm1 offload.rx_csum) NEEDS_CSUM frames from vm1"
(($(d vm2 offload.tx_segmented) == $(d vm1 offload.rx_gso))) ||
    cfail "vm2 off: the switch cut $(d vm2 offload.tx_segmented) super-frames for vm2, took $(d vm1 offload.rx_gso) from vm1"

e2e_ringctl_ok show >/dev/null
e2e_stop_rsd
((fails == 0)) || e2e_fail "$fails check(s) failed"
echo "PASS: switch_testpmd_csum"
