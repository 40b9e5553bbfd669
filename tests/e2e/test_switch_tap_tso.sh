#!/usr/bin/env bash
# End-to-end: Linux TCP between two network namespaces through two tap ports
# of ringswitchd, with checksum and TSO offloads carried through the switch
# (issue 6).  No QEMU.
#
# ringswitchd starts with no port; `ringctl add-port ta tap ifname=IF` (and
# tb) make the tap devices, which the test moves into namespaces A and B
# (169.254.80.1/24 and .2/24).  Asserted:
#   (a) ping A -> B and B -> A (5 of 5 each);
#   (b) iperf3 TCP A -> B for RS_E2E_TCP_SECS (default 5) seconds, 1 stream
#       and then 4 (-P 4), endpoints on CPU 0: the receiver got bytes; the
#       Gbit/s figures are printed;
#   (c) offloads on (the default) at both ends: `ethtool -k` in the namespace
#       shows tcp-segmentation-offload and tx-checksumming on for both taps
#       (the kernel turns them on once the switch allows them with
#       TUNSETOFFLOAD); over the runs port ta received GSO super-frames
#       (offload.rx_gso > 0), no port needed software segmentation
#       (offload.tx_segmented == 0), and every frame the switch took from
#       one port it gave the other or counted as a drop;
#   (d) tb re-created with offloads=off (del-port, add-port ... offloads=off,
#       moved back into B): ethtool shows tso off on it, ping and both iperf3
#       runs still pass, and the switch segmented A's super-frames for tb in
#       software (tb's offload.tx_segmented > 0): the segmentation path
#       carried real Linux TCP;
#   (e) no port counted drops.bad_offload, no queue is marked broken.
# For comparison only (printed, not asserted): the same iperf3 runs through
# a Linux bridge over two veth pairs (bridge in a third namespace).
# Run time: about 40 s.
#
# Needs: root, iproute2, iperf3, ethtool, busybox (ping), python3, util-linux
# (taskset), BUILD/ringswitchd and ringctl.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
RS_E2E_SWITCH=ringswitchd
e2e_init switch_tap_tso
[[ "$(id -u)" == 0 ]] || e2e_skip "needs root (network namespaces, tap devices)"
e2e_need ip iproute2
e2e_need iperf3 iperf3
e2e_need ethtool ethtool
e2e_need busybox busybox-static # its ping: iputils-ping may be missing
e2e_need python3 python3
e2e_need taskset util-linux

SECS="${RS_E2E_TCP_SECS:-5}"
IPA=169.254.80.1 IPB=169.254.80.2
IPC=169.254.81.1 IPD=169.254.81.2
RUN="$E2E_TMP/run"
NSA="rs-e2e-tso-a-$$" NSB="rs-e2e-tso-b-$$"
NSC="rs-e2e-tso-c-$$" NSD="rs-e2e-tso-d-$$" NSBR="rs-e2e-tso-br-$$"
TA="rsta$$" TB="rstb$$"
TA="${TA:0:15}" TB="${TB:0:15}"

# Namespaces and devices go at cleanup whatever happens (deleting a namespace
# deletes the devices in it; `ip link del` covers a tap still in ours).
for ns in "$NSA" "$NSB" "$NSC" "$NSD" "$NSBR"; do e2e_on_cleanup ip netns del "$ns"; done
e2e_on_cleanup ip link del "$TA"
e2e_on_cleanup ip link del "$TB"
e2e_on_cleanup ip link del "rsvc$$"
e2e_on_cleanup ip link del "rsvd$$"

mkdir -p "$RUN"
echo "set log-level=info" >"$RUN/rs.conf" # no vhost-user port
e2e_start_rsd "$RUN" "$RUN/rs.conf"

# ns_attach NS DEV ADDR: move DEV into NS (created when missing), address, up.
ns_attach() {
    [[ -e "/run/netns/$1" ]] || ip netns add "$1" || e2e_fail "ip netns add $1 failed"
    ip link set "$2" netns "$1" || e2e_fail "cannot move $2 into namespace $1"
    ip -n "$1" link set lo up
    ip -n "$1" addr add "$3/24" dev "$2" || e2e_fail "cannot address $2 in $1"
    ip -n "$1" link set "$2" up || e2e_fail "cannot bring $2 up in $1"
}

# add_tap PORT DEV NS ADDR [KEY=VALUE...]: a tap port, moved into NS.
add_tap() {
    local port="$1" dev="$2" ns="$3" addr="$4"
    shift 4
    e2e_ringctl_ok add-port "$port" tap "ifname=$dev" "$@" >/dev/null
    ip link show "$dev" >/dev/null 2>&1 || e2e_fail "add-port $port tap ifname=$dev $*: no device $dev"
    ns_attach "$ns" "$dev" "$addr"
}

# ping_ok NS ADDR WHAT: first answer within 30 s, then 5 of 5.
ping_ok() {
    local ns="$1" to="$2" what="$3" out
    _ping1() { ip netns exec "$ns" busybox ping -c 1 -W 1 "$to" >/dev/null 2>&1; }
    e2e_wait_for 30 _ping1 || e2e_fail "$what: $ns cannot reach $to within 30 s"
    out="$(ip netns exec "$ns" busybox ping -c 5 -i 0.2 -W 2 "$to" 2>&1)"
    echo "$out" | grep -q ' 0% packet loss' || e2e_fail "$what: ping $ns -> $to lost packets: $out"
    e2e_log "$what: ping $ns -> $to: $(echo "$out" | tail -n 1)"
}

# ethtool_feature NS DEV FEATURE: on|off as `ethtool -k` shows it.
ethtool_feature() {
    ip netns exec "$1" ethtool -k "$2" 2>/dev/null | awk -v f="$3:" '$1 == f { print $2; exit }'
}

# iperf_run FROM_NS TO_NS TO_IP WHAT [IPERF3 CLIENT ARGS]: one iperf3 TCP test
# (server -1 in TO_NS, client in FROM_NS, both on CPU 0); checks that the
# receiver got bytes, prints the figure; sets IPERF_GBPS.
IPERF_N=0 IPERF_GBPS=""
iperf_run() {
    local from="$1" to="$2" ip="$3" what="$4" spid json res
    shift 4
    IPERF_N=$((IPERF_N + 1))
    json="$E2E_TMP/iperf$IPERF_N.json"
    ip netns exec "$to" taskset -c 0 iperf3 -s -1 -B "$ip" >"$E2E_TMP/iperf$IPERF_N-server.out" 2>&1 &
    spid=$!
    e2e_track "$spid"
    _listening() { ip netns exec "$to" ss -Hltn "sport = :5201" 2>/dev/null | grep -q .; }
    e2e_wait_for 10 _listening || e2e_fail "$what: iperf3 -s did not listen in $to"
    timeout $((SECS + 30)) ip netns exec "$from" taskset -c 0 iperf3 -c "$ip" -t "$SECS" -J "$@" >"$json" 2>&1
    e2e_wait_for 10 bash -c "! kill -0 $spid 2>/dev/null" || e2e_log "$what: iperf3 -s still running"
    e2e_kill "$spid"
    e2e_untrack "$spid"
    res="$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
if "error" in j:
    sys.exit("iperf3: " + j["error"])
r, s = j["end"]["sum_received"], j["end"]["sum_sent"]
print(r["bytes"], "%.2f" % (r["bits_per_second"] / 1e9), s.get("retransmits", 0))' "$json" 2>&1)" ||
        e2e_fail "$what: iperf3 failed: $res $(tail -c 300 "$json")"
    local bytes gbps retr
    read -r bytes gbps retr <<<"$res"
    ((bytes > 0)) || e2e_fail "$what: iperf3 receiver got no bytes"
    IPERF_GBPS="$gbps"
    e2e_figure "iperf3: $gbps Gbit/s ($what, TCP ${SECS} s, $bytes bytes received, $retr retransmits)"
}

# ostat BEFORE AFTER: "PORT KEY DELTA" for every offload counter and
# drops.bad_offload of two `ringctl --json port-stats` snapshots; fails when
# the daemon does not report them (a build without the offload counters).
ostat() {
    python3 -c '
import json, sys
a = {p["name"]: p for p in json.loads(sys.argv[1])}
for p in json.loads(sys.argv[2]):
    n = p["name"]
    if "offload" not in p or "bad_offload" not in p["drops"]:
        sys.exit("port %s: no offload counters in port-stats" % n)
    q = a.get(n, {"offload": {}, "drops": {}})
    for k, v in sorted(p["offload"].items()):
        print(n, "offload." + k, v - q["offload"].get(k, 0))
    print(n, "drops.bad_offload", p["drops"]["bad_offload"] - q["drops"].get("bad_offload", 0))
    print(n, "rx_packets", p["rx_packets"] - q.get("rx_packets", 0))
    print(n, "tx_packets", p["tx_packets"] - q.get("tx_packets", 0))' "$1" "$2"
}
declare -A D
load_deltas() {
    local out p k v
    out="$(ostat "$1" "$2")" || e2e_fail "$out"
    D=()
    while read -r p k v; do D[$p:$k]=$v; done <<<"$out"
    e2e_log "counter deltas: $(tr '\n' ';' <<<"$out")"
}

# check_common WHAT: (e) in the snapshot ST: no port counted
# drops.bad_offload since it was added, no queue is marked broken.
check_common() {
    local bad b
    bad="$(e2e_json "$ST" '["%s=%d" % (p["name"], p["drops"]["bad_offload"]) for p in j if p["drops"]["bad_offload"]]')"
    [[ -z "$bad" ]] || e2e_fail "$1: drops.bad_offload counted: $bad"
    b="$(e2e_rsd_broken "$ST")"
    [[ -z "$b" ]] || e2e_fail "$1: queues marked broken: $b"
}

# ---------------------------------------------------------------------------
# (a)-(c): offloads on at both ends.
# ---------------------------------------------------------------------------
add_tap ta "$TA" "$NSA" "$IPA"
add_tap tb "$TB" "$NSB" "$IPB"
e2e_ringctl show >&2
for t in "$NSA:$TA" "$NSB:$TB"; do
    ns="${t%%:*}" dev="${t#*:}"
    tso="$(ethtool_feature "$ns" "$dev" tcp-segmentation-offload)"
    csum="$(ethtool_feature "$ns" "$dev" tx-checksumming)"
    e2e_log "offloads on: $dev: tcp-segmentation-offload $tso, tx-checksumming $csum"
    [[ "$tso" == on && "$csum" == on ]] ||
        e2e_fail "offloads on: ethtool -k $dev shows tcp-segmentation-offload '$tso', tx-checksumming '$csum' (want on, on): $(ip netns exec "$ns" ethtool -k "$dev" 2>&1 | head -n 12 | tr '\n' ';')"
done

ST0="$(e2e_ringctl_ok --json port-stats)" || exit 1
ping_ok "$NSA" "$IPB" "offloads on"
ping_ok "$NSB" "$IPA" "offloads on"
iperf_run "$NSA" "$NSB" "$IPB" "ringswitch taps, offloads on, 1 stream"
on1="$IPERF_GBPS"
iperf_run "$NSA" "$NSB" "$IPB" "ringswitch taps, offloads on, 4 streams" -P 4
on4="$IPERF_GBPS"
ST="$(e2e_ringctl_ok --json port-stats)" || exit 1
e2e_ringctl port-stats >&2
load_deltas "$ST0" "$ST"
check_common "offloads on"
((${D[ta:offload.rx_gso]:-0} > 0)) ||
    e2e_fail "offloads on: no GSO super-frame came in on ta (offload.rx_gso +${D[ta:offload.rx_gso]:-?})"
for p in ta tb; do
    ((${D[$p:offload.tx_segmented]:-0} == 0)) ||
        e2e_fail "offloads on: the switch segmented ${D[$p:offload.tx_segmented]:-?} super-frames for $p, which takes TSO"
done
e2e_log "offloads on: ta rx_gso +${D[ta:offload.rx_gso]:-?} rx_csum +${D[ta:offload.rx_csum]:-?}, tb tx_csum_sw +${D[tb:offload.tx_csum_sw]:-?}"
# Conservation per direction (no segmentation here, so frames in = frames
# out + counted drops; the drop keys as in test_switch_tap.sh, whose
# drops.queue_full and too_big sum the queue counters counted here).
DIFF="$(e2e_pstat_diff "$ST0" "$ST")"
_d() { awk -v p="$1" -v k="$2" '$1 == p && $2 == k { v = $3 } END { print v + 0 }' <<<"$DIFF"; }
for pair in ta:tb tb:ta; do
    src=${pair%:*} dst=${pair#*:}
    took=$(_d "$src" rx_packets) gave=$(_d "$dst" tx_packets) drops=0
    for k in drops.no_rule drops.vlan drops.malformed drops.port_security drops.bad_offload rx.*.drop_too_big; do
        drops=$((drops + $(_d "$src" "$k")))
    done
    for k in drops.not_ready tx.*.drop_full tx.*.drop_too_big; do
        drops=$((drops + $(_d "$dst" "$k")))
    done
    e2e_log "offloads on: $src -> $dst: took $took, gave $gave, dropped $drops"
    ((took > 0 && took == gave + drops)) ||
        e2e_fail "offloads on: $src -> $dst: the switch took $took frames, gave $gave and counted $drops drops"
done

# ---------------------------------------------------------------------------
# (d): tb without offloads; A's super-frames must be segmented for it.
# ---------------------------------------------------------------------------
e2e_ringctl_ok del-port tb >/dev/null
_tb_gone() { ! ip -n "$NSB" link show "$TB" >/dev/null 2>&1; }
e2e_wait_for 5 _tb_gone || e2e_fail "del-port tb: $TB still exists in $NSB"
add_tap tb "$TB" "$NSB" "$IPB" offloads=off
# The new device has a new MAC address: A's neighbour entry for B is stale
# (Linux would take up to a minute to find out).
ip -n "$NSA" neigh flush all
tso="$(ethtool_feature "$NSB" "$TB" tcp-segmentation-offload)"
e2e_log "offloads=off: $TB: tcp-segmentation-offload $tso"
[[ "$tso" == off ]] || e2e_fail "offloads=off: ethtool -k $TB shows tcp-segmentation-offload '$tso' (want off)"
# A fresh snapshot: the new tb counts from zero.
ST0="$(e2e_ringctl_ok --json port-stats)" || exit 1
ping_ok "$NSA" "$IPB" "tb offloads=off"
ping_ok "$NSB" "$IPA" "tb offloads=off"
iperf_run "$NSA" "$NSB" "$IPB" "ringswitch taps, tb offloads=off, 1 stream"
off1="$IPERF_GBPS"
iperf_run "$NSA" "$NSB" "$IPB" "ringswitch taps, tb offloads=off, 4 streams" -P 4
off4="$IPERF_GBPS"
ST="$(e2e_ringctl_ok --json port-stats)" || exit 1
e2e_ringctl port-stats >&2
load_deltas "$ST0" "$ST"
check_common "tb offloads=off"
((${D[ta:offload.rx_gso]:-0} > 0)) ||
    e2e_fail "tb offloads=off: no GSO super-frame came in on ta (offload.rx_gso +${D[ta:offload.rx_gso]:-?})"
((${D[tb:offload.tx_segmented]:-0} > 0)) ||
    e2e_fail "tb offloads=off: the switch segmented nothing for tb (offload.tx_segmented +${D[tb:offload.tx_segmented]:-?}) although ta sent ${D[ta:offload.rx_gso]:-?} super-frames"
e2e_log "tb offloads=off: ta rx_gso +${D[ta:offload.rx_gso]:-?}, tb tx_segmented +${D[tb:offload.tx_segmented]:-?} tx_csum_sw +${D[tb:offload.tx_csum_sw]:-?}, ta took ${D[ta:rx_packets]:-?} frames, tb was given ${D[tb:tx_packets]:-?}"
# Segments out outnumber the frames in (a super-frame carries up to 64 KiB).
((${D[tb:tx_packets]:-0} > ${D[ta:rx_packets]:-0})) ||
    e2e_fail "tb offloads=off: the switch gave tb ${D[tb:tx_packets]:-?} frames for the ${D[ta:rx_packets]:-?} it took from ta: no more than before segmentation"

e2e_ringctl_ok del-port ta >/dev/null
e2e_ringctl_ok del-port tb >/dev/null
e2e_stop_rsd

# ---------------------------------------------------------------------------
# Comparison: a Linux bridge over two veth pairs (printed, not asserted).
# ---------------------------------------------------------------------------
ip netns add "$NSBR" && ip -n "$NSBR" link add br0 type bridge && ip -n "$NSBR" link set br0 up ||
    e2e_fail "cannot make a bridge in $NSBR"
for x in "c:$NSC:$IPC" "d:$NSD:$IPD"; do
    s="${x%%:*}" r="${x#*:}"
    ns="${r%%:*}" addr="${r#*:}"
    ip link add "rsv$s$$" type veth peer name "rsp$s$$" || e2e_fail "cannot make veth pair rsv$s$$"
    ip link set "rsp$s$$" netns "$NSBR" && ip -n "$NSBR" link set "rsp$s$$" master br0 &&
        ip -n "$NSBR" link set "rsp$s$$" up || e2e_fail "cannot join rsp$s$$ to the bridge"
    ns_attach "$ns" "rsv$s$$" "$addr"
done
ping_ok "$NSC" "$IPD" "linux bridge"
iperf_run "$NSC" "$NSD" "$IPD" "linux bridge over veth, 1 stream"
br1="$IPERF_GBPS"
iperf_run "$NSC" "$NSD" "$IPD" "linux bridge over veth, 4 streams" -P 4
br4="$IPERF_GBPS"

e2e_figure "tcp summary Gbit/s (1 / 4 streams): ringswitch offloads on $on1 / $on4, tb offloads=off $off1 / $off4, linux bridge $br1 / $br4"
for ns in "$NSA" "$NSB" "$NSC" "$NSD" "$NSBR"; do
    ip netns del "$ns" || e2e_fail "ip netns del $ns failed"
done
echo "PASS: switch_tap_tso"
