#!/usr/bin/env bash
# End-to-end: DPDK's dpdk-testpmd (net_virtio_user, a front-end we did not
# write) through the loopback tool in pair mode.
#
# One testpmd owns two virtio-user ports on port0.sock and port1.sock, io
# forwarding port0<->port1; the tool wires port0 to port1.  `start tx_first 8`
# puts 8 bursts in flight in each direction, and they circulate
# testpmd -> switch -> testpmd for a few seconds.  Checked per variant:
#   - RX-packets > 0 and TX-packets > 0 on both testpmd ports;
#   - the tool took from each port exactly what testpmd transmitted there;
#   - what the tool delivered to a port, plus its drops, is what it took from
#     the peer; testpmd received all of it but at most what still sits in the
#     rings after `stop`;
#   - no queue marked broken.
# Variants: queues=1 and 2, mrg_rxbuf=0 and 1, all against one tool process
# (so each new testpmd is also a reconnect to a running switch).
#
# Needs: dpdk-testpmd (Debian package dpdk-dev), the loopback tool.
# Prints: figure: testpmd io-fwd through loopback: X Mpps (...)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init testpmd
e2e_need dpdk-testpmd dpdk-dev

RUN="$E2E_TMP/run"
SECS="${RS_E2E_TESTPMD_SECS:-3}"
VARIANTS="${RS_E2E_TESTPMD_VARIANTS:-1:0 1:1 2:0 2:1}"   # queues:mrg_rxbuf

# testpmd's two lcores run on CPU 0; keep the switch on CPU 1 (the stand-in
# does the same), or the scheduler may put it beside testpmd's busy loop.
E2E_SWITCH_CPUS="${E2E_SWITCH_CPUS-1}"
e2e_start_switch "$RUN" --queues 2
e2e_wait_socket "$RUN/port0.sock" && e2e_wait_socket "$RUN/port1.sock" ||
    e2e_fail "switch sockets did not appear"

# port_stats LOG FROMLINE PORT FIELD: last value of FIELD ("RX-packets", ...)
# for PORT in the "NIC statistics" blocks printed after line FROMLINE.
port_stats() {
    tail -n +"$(($2 + 1))" "$1" | tr -d '\r' | awk -v port="$3" -v field="$4:" '
        /NIC statistics for port/ { cur = ($6 == port) }
        cur { for (i = 1; i < NF; i++) if ($i == field) v = $(i + 1) }
        END { printf "%d\n", v }'
}
lines() { wc -l <"$1"; }

fails=0
vfail() { echo "FAIL: testpmd: $*" >&2; fails=$((fails + 1)); }

n=0
for v in $VARIANTS; do
    q="${v%%:*}" mrg="${v##*:}" n=$((n + 1))
    tag="queues=$q mrg_rxbuf=$mrg"
    e2e_log "variant $tag"
    log="$E2E_TMP/fe$n.log"
    e2e_testpmd_start "$E2E_TMP/fe$n" "$log" "0@0,1@0" \
        --vdev "net_virtio_user0,path=$RUN/port0.sock,queues=$q,mrg_rxbuf=$mrg,packed_vq=0,mac=02:00:00:00:00:01" \
        --vdev "net_virtio_user1,path=$RUN/port1.sock,queues=$q,mrg_rxbuf=$mrg,packed_vq=0,mac=02:00:00:00:00:02" \
        -- --rxq="$q" --txq="$q" --nb-cores=1 --forward-mode=io
    fe_pid=$TP_PID fifo=$TP_FIFO
    # The switch lists only the queues of connected front-ends, with counters
    # kept across connections: take the baseline now that testpmd is
    # connected and before it sends anything.
    before="$(e2e_switch_stats)" || e2e_fail "no stats from the switch"
    e2e_testpmd_cmd "$log" "$fifo" "start tx_first 8"
    sleep 1
    l0=$(lines "$log")
    t0=$(date +%s.%N)
    e2e_testpmd_cmd "$log" "$fifo" "show port stats all"
    sleep "$SECS"
    l1=$(lines "$log")
    t1=$(date +%s.%N)
    e2e_testpmd_cmd "$log" "$fifo" "show port stats all"
    e2e_testpmd_cmd "$log" "$fifo" "stop"
    sleep 0.5   # let the switch drain what is in flight
    l2=$(lines "$log")
    e2e_testpmd_cmd "$log" "$fifo" "show port stats all"
    after="$(e2e_switch_stats)" || e2e_fail "no stats from the switch"

    # The first snapshot is the block between l0 and l1.
    rx_a=$(( $(head -n "$l1" "$log" | port_stats /dev/stdin "$l0" 0 RX-packets) +
             $(head -n "$l1" "$log" | port_stats /dev/stdin "$l0" 1 RX-packets) ))
    rx_b=$(( $(head -n "$l2" "$log" | port_stats /dev/stdin "$l1" 0 RX-packets) +
             $(head -n "$l2" "$log" | port_stats /dev/stdin "$l1" 1 RX-packets) ))
    mpps=$(awk -v a="$rx_a" -v b="$rx_b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", (b - a) / (t1 - t0) / 1e6 }')
    e2e_figure "testpmd io-fwd through $RS_E2E_SWITCH: $mpps Mpps ($tag, both directions, ${SECS}s)"

    declare -A TX RX
    for p in 0 1; do
        TX[$p]=$(port_stats "$log" "$l2" "$p" TX-packets)
        RX[$p]=$(port_stats "$log" "$l2" "$p" RX-packets)
        e2e_log "$tag: testpmd port $p RX-packets=${RX[$p]} TX-packets=${TX[$p]}"
        ((RX[$p] > 0)) || vfail "$tag: testpmd port $p received nothing"
        ((TX[$p] > 0)) || vfail "$tag: testpmd port $p transmitted nothing"
    done

    if [[ "$SW_KIND" == loopback ]]; then
        broken="$(e2e_stats_broken "$after")"
        [[ -z "$broken" ]] || vfail "$tag: broken queues: $broken"
        for p in 0 1; do
            peer=$((p ^ 1))
            # dir=tx: frames the front-end transmitted (taken by the switch);
            # dir=rx: frames the switch put on the front-end's receive queues.
            took=$(( $(e2e_stats_sum "$after" "$p" tx) - $(e2e_stats_sum "$before" "$p" tx) ))
            gave=$(( $(e2e_stats_sum "$after" "$peer" rx) - $(e2e_stats_sum "$before" "$peer" rx) ))
            drops=0
            for f in drop_ring_full drop_too_big drop_too_many_iov drop_not_ready; do
                drops=$((drops + $(e2e_stats_sum "$after" "$peer" rx "$f") - $(e2e_stats_sum "$before" "$peer" rx "$f")))
            done
            e2e_log "$tag: switch took $took from port $p, gave $gave to port $peer, dropped $drops"
            ((took == TX[$p])) || vfail "$tag: switch took $took frames from port $p, testpmd sent ${TX[$p]}"
            ((gave + drops == took)) || vfail "$tag: port $p -> $peer: took $took, gave $gave + dropped $drops"
            ((RX[$peer] <= gave && gave - RX[$peer] <= 512 * q)) ||
                vfail "$tag: switch gave $gave frames to port $peer, testpmd received ${RX[$peer]}"
        done
    fi
    e2e_testpmd_quit "$fifo" "$fe_pid"
done

[[ "$SW_KIND" == loopback ]] && { e2e_switch_stats | tail -n 12 >&2; }
e2e_stop_switch "$RUN"
((fails == 0)) || e2e_fail "$fails check(s) failed"
echo "PASS: testpmd"
