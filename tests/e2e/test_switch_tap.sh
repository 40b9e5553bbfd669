#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end: a tap port joins a QEMU guest to a network namespace.
#
# ringswitchd runs its default config (vm1, vm2, normal); guest g1 is on vm1.
# `ringctl add-port tap0 tap ifname=rstapPID` makes the tap device; the test
# moves it into a network namespace of its own (ip netns add), addresses it
# in the guest's subnet and brings it up.  Asserted:
#   - the namespace pings the guest through the switch (5 of 5), and the
#     guest pings the namespace;
#   - TCP: iperf3 from the namespace to the guest and back (when the host has
#     iperf3);
#   - the switch counted the frames on the tap port in both directions, and
#     per direction took = gave + counted drops; no queue broken;
#   - del-port removes the tap device; the namespace is deleted at the end
#     (also on failure).
#
# Needs: root, iproute2 (ip netns), qemu-system-x86_64, python3, guest assets,
# BUILD/ringswitchd and ringctl; iperf3 on the host for the TCP check.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
RS_E2E_SWITCH=ringswitchd
e2e_init switch_tap
e2e_need_guest
e2e_need ip iproute2
e2e_need busybox busybox-static   # its ping: iputils-ping may be missing
[[ "$(id -u)" == 0 ]] || e2e_skip "needs root (network namespaces, tap devices)"

IP1=169.254.79.1 IPNS=169.254.79.9
MAC1=52:54:00:79:00:01
RUN="$E2E_TMP/run"
NS="rs-e2e-tap-$$"
TAP="rstap$$"
TAP="${TAP:0:15}"

e2e_start_rsd "$RUN"
e2e_start_guest g1 ip=$IP1/24 mac=$MAC1 sock="$RUN/vm1.sock"

# The namespace and the device go at cleanup whatever happens (the tap
# disappears with the daemon; `ip link del` covers a daemon that did not die).
e2e_on_cleanup ip netns del "$NS"
e2e_on_cleanup ip link del "$TAP"
e2e_ringctl_ok add-port tap0 tap "ifname=$TAP" >/dev/null
ip link show "$TAP" >/dev/null 2>&1 || e2e_fail "add-port tap0 tap ifname=$TAP: no device $TAP"
ip netns add "$NS" || e2e_fail "ip netns add $NS failed"
ip link set "$TAP" netns "$NS" || e2e_fail "cannot move $TAP into namespace $NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add "$IPNS/24" dev "$TAP" || e2e_fail "cannot address $TAP"
ip -n "$NS" link set "$TAP" up || e2e_fail "cannot bring $TAP up"
ip -n "$NS" addr show dev "$TAP" >&2

e2e_wait_guest g1 150
e2e_ringctl show >&2
st0="$(e2e_ringctl_ok --json port-stats)" || exit 1

# namespace -> guest, bounded wait for the first answer.
_ns_ping1() { ip netns exec "$NS" busybox ping -c 1 -W 1 "$IP1" >/dev/null 2>&1; }
e2e_wait_for 30 _ns_ping1 || e2e_fail "namespace $NS cannot reach the guest $IP1 within 30 s"
out="$(ip netns exec "$NS" busybox ping -c 5 -i 0.2 -W 2 "$IP1" 2>&1)"
echo "$out" | tail -n 2 >&2
echo "$out" | grep -q ' 0% packet loss' || e2e_fail "ping namespace -> guest lost packets: $out"
e2e_figure "ping RTT: $(echo "$out" | sed -n 's/.*min\/avg\/max = \([^ ]*\).*/\1/p') ms (tap, namespace -> g1)"

# guest -> namespace.
e2e_ping_ok g1 $IPNS "tap"

# TCP both ways between the namespace and the guest (-R: the guest sends).
if command -v iperf3 >/dev/null 2>&1; then
    for dir in "namespace -> g1:" "g1 -> namespace:-R"; do
        e2e_guest g1 "iperf3 -s -D -1 >/dev/null 2>&1" || e2e_fail "iperf3 -s in g1"
        sleep 0.5
        out="$(timeout 40 ip netns exec "$NS" iperf3 -c "$IP1" -t 3 -f m ${dir#*:} 2>&1)" ||
            e2e_fail "iperf3 ${dir%:*} failed: $out"
        rate="$(echo "$out" | awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") r = $i } END { print r }')"
        [[ -n "$rate" ]] && awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || e2e_fail "iperf3 ${dir%:*} moved nothing: $out"
        e2e_figure "iperf3: $rate Mbit/s (tap, ${dir%:*}, TCP 3 s, TCG guest)"
    done
else
    e2e_log "no iperf3 on the host (Debian package iperf3): TCP check skipped"
fi

st1="$(e2e_ringctl_ok --json port-stats)" || exit 1
e2e_ringctl port-stats >&2
for k in rx_packets tx_packets; do
    for p in tap0 vm1; do
        d=$(( $(e2e_pstat "$st1" $p $k) - $(e2e_pstat "$st0" $p $k) ))
        e2e_log "$p $k +$d"
        ((d >= 10)) || e2e_fail "port $p: $k rose by $d over the pings"
    done
done
# Conservation, per direction: what the switch took from one port is what
# it gave the other plus what it counted as dropped (vm2 has no guest, so
# floods skip it).
dpstat() { echo $(( $(e2e_pstat "$st1" "$1" "$2") - $(e2e_pstat "$st0" "$1" "$2") )); }
for pair in tap0:vm1 vm1:tap0; do
    src=${pair%:*} dst=${pair#*:}
    took=$(dpstat $src rx_packets) gave=$(dpstat $dst tx_packets)
    drops=0
    for k in drops.no_rule drops.vlan drops.malformed drops.port_security rx.*.drop_too_big; do
        drops=$((drops + $(dpstat $src $k)))
    done
    for k in drops.not_ready tx.*.drop_full tx.*.drop_too_big; do
        drops=$((drops + $(dpstat $dst $k)))
    done
    e2e_log "$src -> $dst: took $took, gave $gave, dropped $drops"
    ((took == gave + drops)) || e2e_fail "$src -> $dst: the switch took $took frames, gave $gave and counted $drops drops"
done
b="$(e2e_rsd_broken "$st1")"
[[ -z "$b" ]] || e2e_fail "queues marked broken: $b"

e2e_ringctl_ok del-port tap0 >/dev/null
_tap_gone() { ! ip -n "$NS" link show "$TAP" >/dev/null 2>&1; }
e2e_wait_for 5 _tap_gone || e2e_fail "del-port tap0: $TAP still exists in $NS"
ip netns del "$NS" || e2e_fail "ip netns del $NS failed"
e2e_stop_guest g1
e2e_stop_rsd
echo "PASS: switch_tap"
