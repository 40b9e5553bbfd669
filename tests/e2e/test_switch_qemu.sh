#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end proof of issue 3 with QEMU guests (Linux's virtio-net driver, a
# front-end we did not write) attached to ringswitchd's vhost-user-server
# ports, managed with ringctl.
#
# Usage: test_switch_qemu.sh [PHASE...]   (default: sq)
#   sq  three guests, one queue pair each; g1 on vm1, g2 on vm2 (the default
#       config), g3 on vm3, added with `ringctl add-port vm3
#       vhost-user-server tag=20` while vm1/vm2 are untagged:
#       - normal (no flows): ping g1 <-> g2 both ways (5 of 5), iperf3 TCP;
#         g3 (VLAN 20) reaches neither g1 nor g2 (VLAN 0);
#       - set-port vm1 tag=10, vm2 tag=10: g1 <-> g2 still ping, g3 (VLAN 20)
#         still reaches neither; set-port vm3 tag=10 (control): g3 reaches g1;
#       - flows priority=200,icmp,actions=drop + priority=100,actions=normal:
#         ping g1 -> g2 gets no reply while iperf3 passes; dump-flows --json
#         n_packets rises on both rules; del-flows: ping works again;
#       - no queue marked broken, the daemon alive throughout.
#   mq  two new guests with queues=2, mq=on (init runs `ethtool -L eth0
#       combined 2`, XPS cleared), on the same daemon: ping, iperf3 -P 8; the
#       switch's port-stats --json show traffic on both queues of vm1 and vm2,
#       in both directions (taken from the guest and given to it).
# test_switch_qemu_mq.sh runs the mq phase so that run.sh reports it apart.
#
# Needs: root, qemu-system-x86_64 (Debian package qemu-system-x86), python3,
# guest assets from scripts/build-guest.sh, BUILD/ringswitchd and ringctl.
# Prints: figure: ping RTT / iperf3 lines (see lib.sh).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PHASES="${*:-sq}"
RS_E2E_SWITCH=ringswitchd
e2e_init "switch_qemu-${PHASES// /-}"
e2e_need_guest
[[ "$(id -u)" == 0 ]] || e2e_skip "needs root (the tests run QEMU guests and ringswitchd as root)"

IP1=169.254.78.1 IP2=169.254.78.2 IP3=169.254.78.3
MAC1=52:54:00:78:00:01 MAC2=52:54:00:78:00:02 MAC3=52:54:00:78:00:03
BOOT_SECS=150
RUN="$E2E_TMP/run"

# alive WHAT: the daemon runs and no queue is broken.
alive() {
    kill -0 "$RSD_PID" 2>/dev/null || e2e_fail "$1: ringswitchd died ($(tail -n 3 "$RSD_LOG"))"
    local b
    b="$(e2e_rsd_broken)"
    [[ -z "$b" ]] || e2e_fail "$1: queues marked broken: $b"
}

phase_sq() {
    local t0=$SECONDS g
    e2e_ringctl_ok add-port vm3 vhost-user-server tag=20 >/dev/null
    e2e_start_guest g1 ip=$IP1/24 mac=$MAC1 sock="$RUN/vm1.sock"
    e2e_start_guest g2 ip=$IP2/24 mac=$MAC2 sock="$RUN/vm2.sock"
    e2e_start_guest g3 ip=$IP3/24 mac=$MAC3 sock="$RUN/vm3.sock"
    for g in g1 g2 g3; do e2e_wait_guest $g $BOOT_SECS; done
    e2e_log "sq: three guests up after $((SECONDS - t0)) s"
    e2e_ringctl show >&2

    # --- normal, untagged vm1/vm2; vm3 in VLAN 20
    e2e_ping_ok g1 $IP2 "normal"
    e2e_ping_ok g2 $IP1 "normal, reverse"
    local st gso seg bad
    e2e_iperf_ok g1 g2 $IP2 "normal"
    # Offloads (issue 6): Linux's virtio-net negotiated TSO and checksum
    # offload with the switch, so g1's TCP left as GSO super-frames, which
    # crossed to g2 (TSO negotiated too) untouched: none segmented in software.
    st="$(e2e_ringctl_ok --json port-stats)" || exit 1
    gso="$(e2e_pstat "$st" vm1 offload.rx_gso)" seg="$(e2e_pstat "$st" vm2 offload.tx_segmented)"
    bad=$(($(e2e_pstat "$st" vm1 drops.bad_offload) + $(e2e_pstat "$st" vm2 drops.bad_offload)))
    e2e_figure "offloads: vm1 sent $gso GSO super-frames, $seg segmented in software for vm2"
    ((gso > 0)) || e2e_fail "offloads: no GSO super-frame from g1 during iperf3 (TSO not negotiated?)"
    ((seg == 0 && bad == 0)) || e2e_fail "offloads: vm2 segmented=$seg, bad_offload=$bad"
    e2e_ping_blocked g3 $IP1 "vm3 tag=20, vm1 untagged"
    e2e_ping_blocked g1 $IP3 "vm1 untagged, vm3 tag=20"
    e2e_ping_blocked g3 $IP2 "vm3 tag=20, vm2 untagged"
    alive "sq normal"

    # --- vm1/vm2 in VLAN 10, vm3 in VLAN 20
    e2e_ringctl_ok set-port vm1 tag=10 >/dev/null
    e2e_ringctl_ok set-port vm2 tag=10 >/dev/null
    e2e_ping_ok g1 $IP2 "vm1, vm2 tag=10"
    e2e_ping_blocked g3 $IP1 "vm3 tag=20, vm1 tag=10"
    e2e_ping_blocked g3 $IP2 "vm3 tag=20, vm2 tag=10"
    e2e_ping_blocked g2 $IP3 "vm2 tag=10, vm3 tag=20"
    # Control: the same guest joins VLAN 10 and gets through, so only the
    # VLAN kept it out.
    e2e_ringctl_ok set-port vm3 tag=10 >/dev/null
    e2e_ping_ok g3 $IP1 "vm3 moved to tag=10"
    e2e_ringctl_ok set-port vm3 tag=20 >/dev/null
    e2e_ping_blocked g3 $IP1 "vm3 back in tag=20"
    alive "sq vlan"
    e2e_stop_guest g3   # frees a CPU share for the iperf3 runs

    # --- flows: drop ICMP, everything else normal
    local drop="priority=200,icmp" norm="priority=100" d0 d1 n0 n1 flows
    e2e_ringctl_ok add-flow "$drop,actions=drop" >/dev/null
    e2e_ringctl_ok add-flow "$norm,actions=normal" >/dev/null
    flows="$(e2e_ringctl_ok --json dump-flows)" || exit 1
    d0=$(e2e_flow_packets "$flows" "$drop") n0=$(e2e_flow_packets "$flows" "$norm")
    ((d0 >= 0 && n0 >= 0)) || e2e_fail "flows: dump-flows does not list both rules: $flows"
    e2e_ping_blocked g1 $IP2 "icmp drop rule"
    flows="$(e2e_ringctl_ok --json dump-flows)" || exit 1
    d1=$(e2e_flow_packets "$flows" "$drop")
    e2e_log "flows: icmp drop rule n_packets $d0 -> $d1"
    ((d1 >= d0 + 3)) || e2e_fail "flows: the icmp drop rule counted $((d1 - d0)) packets for 3 pings"
    e2e_iperf_ok g1 g2 $IP2 "icmp drop rule + normal"
    flows="$(e2e_ringctl_ok --json dump-flows)" || exit 1
    n1=$(e2e_flow_packets "$flows" "$norm")
    e2e_log "flows: normal rule n_packets $n0 -> $n1"
    e2e_ringctl dump-flows >&2
    ((n1 > n0 + 100)) || e2e_fail "flows: the normal rule counted $((n1 - n0)) packets over an iperf3 run"
    e2e_ringctl_ok del-flows >/dev/null
    e2e_ping_ok g1 $IP2 "after del-flows"
    e2e_ping_ok g2 $IP1 "after del-flows, reverse"
    alive "sq flows"
    e2e_ringctl port-stats >&2
    e2e_stop_guest g1
    e2e_stop_guest g2
    e2e_log "phase sq: $((SECONDS - t0)) s"
}

phase_mq() {
    local t0=$SECONDS g out st0 st1 p dir busy q pk
    e2e_start_guest g1 ip=$IP1/24 mac=$MAC1 sock="$RUN/vm1.sock" queues=2
    e2e_start_guest g2 ip=$IP2/24 mac=$MAC2 sock="$RUN/vm2.sock" queues=2
    for g in g1 g2; do e2e_wait_guest $g $BOOT_SECS; done
    e2e_log "mq: both guests up after $((SECONDS - t0)) s"
    for g in g1 g2; do
        out="$(e2e_guest $g 'ethtool -l eth0 | grep Combined | tail -n 1')"
        [[ "$out" == *2 ]] || e2e_fail "mq: $g: 2 queue pairs not enabled: $out"
        # Let the flow hash pick the TX queue (XPS would pin CPU 0 to queue 0).
        e2e_guest $g 'for f in /sys/class/net/eth0/queues/tx-*/xps_cpus; do echo 0 >$f; done' ||
            e2e_fail "mq: cannot clear XPS in $g"
    done
    e2e_ringctl show >&2
    e2e_ping_ok g1 $IP2 "2 queue pairs"
    st0="$(e2e_ringctl_ok --json port-stats)" || exit 1
    e2e_iperf_ok g1 g2 $IP2 "2 queue pairs, 8 streams" -P 8
    st1="$(e2e_ringctl_ok --json port-stats)" || exit 1
    e2e_ringctl port-stats >&2
    # rx: taken from the guest (its TX queues); tx: given to it (its RX queues).
    for p in vm1 vm2; do
        for dir in rx tx; do
            busy=0 out=""
            for q in 0 1; do
                pk=$(( $(e2e_pstat "$st1" $p "$dir.$q.packets") - $(e2e_pstat "$st0" $p "$dir.$q.packets") ))
                out+=" q$q=$pk"
                ((pk > 0)) && busy=$((busy + 1))
            done
            e2e_log "mq: $p $dir during iperf3:$out"
            ((busy == 2)) || e2e_fail "mq: port $p dir $dir: traffic on $busy of 2 queues ($out)"
        done
    done
    e2e_ping_ok g2 $IP1 "2 queue pairs, after iperf3"
    alive "mq"
    e2e_stop_guest g1
    e2e_stop_guest g2
    e2e_log "phase mq: $((SECONDS - t0)) s"
}

e2e_start_rsd "$RUN"
for ph in $PHASES; do
    e2e_log "=== phase $ph"
    for g in g1 g2 g3; do
        [[ -f "$E2E_TMP/$g.log" ]] && mv "$E2E_TMP/$g.log" "$E2E_TMP/$g-before-$ph.log"
    done
    "phase_$ph"
done
e2e_stop_rsd
echo "PASS: switch_qemu $PHASES"
