#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end: two QEMU guests running Linux's virtio-net driver (a front-end
# we did not write) through the loopback tool in pair mode.
#
# Usage: test_qemu.sh [PHASE...]   (default: sq; or RS_E2E_QEMU_PHASES)
#   sq      one queue pair: ping (5 of 5) both ways, iperf3 TCP for 5 s; guest
#           reboot (`reboot -f`: device reset and renegotiation) and ping;
#           QEMU killed with SIGKILL and started again, ping -- all against
#           the same switch process, which must stay up and keep no queue
#           broken.
#   mq      queues=2, mq=on: both queue pairs carry traffic (XPS cleared,
#           iperf3 -P 8; per-queue counters from ethtool -S in both guests and
#           the switch's per-queue stats), ping, iperf3; guest reboot, ping.  Linux enables min(pairs, vCPUs) pairs, one here,
#           so the guest's init runs `ethtool -L eth0 combined 2`.
#   client  the switch connects (--client) to sockets QEMU listens on
#           (server=on,wait=off): ping.
# test_qemu_mq.sh and test_qemu_client.sh run the other phases, so that
# run.sh reports each on its own line.
#
# Guests are TCG (no usable KVM here); one pair of guests serves each phase.
# Needs: qemu-system-x86_64 (Debian package qemu-system-x86), python3, guest
# assets from scripts/build-guest.sh, the loopback tool.
# Prints: figure: iperf3 guest-to-guest: X Mbit/s (...)
#         figure: ping RTT guest-to-guest: min/avg/max ms (...)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PHASES="${*:-${RS_E2E_QEMU_PHASES:-sq}}"
e2e_init "qemu-${PHASES// /-}"
e2e_need_guest

# Link-local addresses: the guests' wire is the switch, never a host network.
IP0=169.254.77.1 IP1=169.254.77.2
MAC0=52:54:00:77:00:01 MAC1=52:54:00:77:00:02
BOOT_SECS=120

# ping_ok FROM TO: wait (at most 30 s) until one ping gets through, then
# require 5 of 5.  Prints the RTT summary figure.
ping_ok() {
    local from="$1" to="$2" what="$3" out i
    for ((i = 0; i < 30; i++)); do
        e2e_guest "$from" -t 10 ping -c 1 -W 1 "$to" >/dev/null && break
    done
    ((i < 30)) || e2e_fail "$what: $from cannot reach $to within 30 s"
    ((i > 0)) && e2e_log "$what: first ping answered after $i retries"
    out="$(e2e_guest "$from" -t 20 ping -c 5 -i 0.2 -W 2 "$to")"
    echo "$out" | tail -n 2 >&2
    echo "$out" | grep -q ' 0% packet loss' || e2e_fail "$what: ping $from -> $to lost packets: $out"
    e2e_figure "ping RTT guest-to-guest: $(echo "$out" | sed -n 's/.*min\/avg\/max = \([^ ]*\).*/\1/p') ms ($what)"
}

# iperf_ok FROM TO TO_IP WHAT [IPERF ARGS]: iperf3 TCP for 5 s, > 0 bit/s.
iperf_ok() {
    local from="$1" to="$2" to_ip="$3" what="$4" out rate
    shift 4
    e2e_guest "$to" "iperf3 -s -D -1 >/dev/null 2>&1" || e2e_fail "$what: iperf3 -s in $to"
    sleep 0.5
    out="$(e2e_guest "$from" -t 40 iperf3 -c "$to_ip" -t 5 -f m "$@")" ||
        e2e_fail "$what: iperf3 -c failed: $out"
    rate="$(echo "$out" | awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") r = $i } END { print r }')"
    [[ -n "$rate" ]] && awk -v r="$rate" 'BEGIN { exit !(r > 0) }' ||
        e2e_fail "$what: iperf3 moved nothing: $out"
    e2e_figure "iperf3 guest-to-guest: $rate Mbit/s ($what, TCP 5 s, TCG guests)"
}

# switch_ok WHAT: the switch is alive and no queue is marked broken.
switch_ok() {
    [[ "$SW_KIND" == loopback ]] || return 0
    kill -0 "$SW_PID" 2>/dev/null || e2e_fail "$1: the switch died"
    local st broken
    st="$(e2e_switch_stats)" || e2e_fail "$1: no stats from the switch"
    broken="$(e2e_stats_broken "$st")"
    [[ -z "$broken" ]] || e2e_fail "$1: queues marked broken: $broken"
    local p f d summary=""
    for p in 0 1; do
        d=0
        for f in drop_ring_full drop_too_big drop_too_many_iov drop_not_ready; do
            d=$((d + $(e2e_stats_sum "$st" $p rx $f) + $(e2e_stats_sum "$st" $p tx $f)))
        done
        summary+=" port$p tx=$(e2e_stats_sum "$st" $p tx) rx=$(e2e_stats_sum "$st" $p rx) drops=$d"
    done
    e2e_log "$1: switch$summary"
}

start_pair() { # start_pair RUN EXTRA-OPTIONS... (for both guests)
    local run="$1"
    shift
    e2e_start_guest g0 ip=$IP0/24 mac=$MAC0 sock="$run/port0.sock" reboot=1 "$@"
    e2e_start_guest g1 ip=$IP1/24 mac=$MAC1 sock="$run/port1.sock" "$@"
}

phase_sq() {
    local run="$E2E_TMP/sq" t0=$SECONDS
    e2e_start_switch "$run"
    start_pair "$run"
    e2e_wait_guest g0 $BOOT_SECS
    e2e_wait_guest g1 $BOOT_SECS
    e2e_log "sq: both guests up after $((SECONDS - t0)) s"
    e2e_guest g0 'cat /sys/class/net/eth0/operstate; ls /sys/class/net/eth0/queues' | tr '\n' ' ' >&2; echo >&2
    ping_ok g0 $IP1 "1 queue pair"
    ping_ok g1 $IP0 "1 queue pair, reverse"
    iperf_ok g0 g1 $IP1 "1 queue pair"
    switch_ok "sq after iperf3"

    # Reboot g0: reset, renegotiation, same switch.
    local boots
    boots=$(e2e_boots g0)
    e2e_log "sq: reboot -f in g0"
    e2e_guest_send g0 'reboot -f'
    e2e_wait_guest g0 $BOOT_SECS $((boots + 1))
    ping_ok g0 $IP1 "after guest reboot"
    switch_ok "sq after reboot"

    # SIGKILL g1's QEMU, start it again.
    e2e_log "sq: kill -9 QEMU of g1"
    e2e_stop_guest g1 KILL
    sleep 1
    switch_ok "sq after QEMU SIGKILL"
    mv "$E2E_TMP/g1.log" "$E2E_TMP/g1-killed.log"
    e2e_start_guest g1 ip=$IP1/24 mac=$MAC1 sock="$run/port1.sock"
    e2e_wait_guest g1 $BOOT_SECS
    ping_ok g0 $IP1 "after QEMU restart"
    switch_ok "sq after QEMU restart"

    e2e_stop_guest g0
    e2e_stop_guest g1
    e2e_stop_switch "$run"
    e2e_log "phase sq: $((SECONDS - t0)) s"
}

phase_mq() {
    local run="$E2E_TMP/mq" t0=$SECONDS g out
    e2e_start_switch "$run" --queues 2
    start_pair "$run" queues=2
    e2e_wait_guest g0 $BOOT_SECS
    e2e_wait_guest g1 $BOOT_SECS
    for g in g0 g1; do
        out="$(e2e_guest $g 'ls /sys/class/net/eth0/queues | tr "\n" " "; ethtool -l eth0 | grep Combined | tail -n 1')"
        e2e_log "mq: $g: $out"
        [[ "$out" == *rx-1*tx-1* ]] || e2e_fail "mq: $g has one queue pair: $out"
        [[ "$(echo "$out" | tail -n 1)" == *2 ]] || e2e_fail "mq: $g: 2 queue pairs not enabled: $out"
        # Let the flow hash pick the TX queue (XPS would pin CPU 0 to queue 0).
        e2e_guest $g 'for f in /sys/class/net/eth0/queues/tx-*/xps_cpus; do echo 0 >$f; done' ||
            e2e_fail "mq: cannot clear XPS in $g"
    done
    ping_ok g0 $IP1 "2 queue pairs"
    iperf_ok g0 g1 $IP1 "2 queue pairs, 8 streams" -P 8
    for g in g0 g1; do
        out="$(e2e_guest $g "ethtool -S eth0 | grep -E '_queue_[01]_packets'" | tr -s ' \n' ' ')"
        e2e_log "mq: $g: $out"
        for f in rx_queue_0_packets rx_queue_1_packets tx_queue_0_packets tx_queue_1_packets; do
            [[ "$out" =~ $f:\ ([0-9]+) ]] && ((BASH_REMATCH[1] > 0)) ||
                e2e_fail "mq: $g: no traffic on $f: $out"
        done
    done
    switch_ok "mq after iperf3"
    if [[ "$SW_KIND" == loopback ]]; then
        # The switch's view: port 0's frames came in on both TX queues.
        local busy
        busy=$(e2e_switch_stats | awk '$2 == "port=0" && $4 == "dir=tx" { split($6, kv, "="); if (kv[2] > 0) n++ } END { print n + 0 }')
        ((busy >= 2)) || e2e_fail "mq: the switch saw traffic on $busy TX queue(s) of port 0, expected 2"
    fi

    # Reset and renegotiation with two queue pairs.
    local boots
    boots=$(e2e_boots g0)
    e2e_log "mq: reboot -f in g0"
    e2e_guest_send g0 'reboot -f'
    e2e_wait_guest g0 $BOOT_SECS $((boots + 1))
    ping_ok g0 $IP1 "2 queue pairs, after guest reboot"
    switch_ok "mq after reboot"
    e2e_stop_guest g0
    e2e_stop_guest g1
    e2e_stop_switch "$run"
    e2e_log "phase mq: $((SECONDS - t0)) s"
}

phase_client() {
    local run="$E2E_TMP/client" t0=$SECONDS
    mkdir -p "$run"
    start_pair "$run" server=1
    e2e_wait_socket "$run/port0.sock" 20 && e2e_wait_socket "$run/port1.sock" 20 ||
        e2e_fail "client: QEMU did not create its vhost-user sockets"
    e2e_start_switch "$run" --client
    e2e_wait_guest g0 $BOOT_SECS
    e2e_wait_guest g1 $BOOT_SECS
    ping_ok g0 $IP1 "switch in client mode"
    switch_ok "client after ping"
    e2e_stop_guest g0
    e2e_stop_guest g1
    e2e_stop_switch ""
    e2e_log "phase client: $((SECONDS - t0)) s"
}

for ph in $PHASES; do
    e2e_log "=== phase $ph"
    # Fresh console logs per phase (boot counting reads them).
    for g in g0 g1; do
        [[ -f "$E2E_TMP/$g.log" ]] && mv "$E2E_TMP/$g.log" "$E2E_TMP/$g-before-$ph.log"
    done
    "phase_$ph"
done
echo "PASS: qemu"
