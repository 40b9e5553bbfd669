#!/usr/bin/env bash
# End-to-end: dpdk-testpmd (net_virtio_user, a front-end we did not write)
# with two ports through ringswitchd's vhost-user-server ports vm1 and vm2.
#
# One testpmd owns net_virtio_user0 on vm1.sock and net_virtio_user1 on
# vm2.sock, io forwarding port0<->port1, `start tx_first 8`: the frames
# circulate testpmd -> switch -> testpmd.  --eth-peer makes each port's
# generated frames go to the other port's MAC, so that 'normal' forwards by
# its learned table (io forwarding keeps the addresses: a frame always
# re-enters on the port it first entered, no MAC moves).
# Variants MODE:QUEUES (RS_E2E_SWITCH_TESTPMD_VARIANTS, default all four):
#   rules   in_port=vm1,actions=output:vm2 and in_port=vm2,actions=output:vm1
#   normal  no flows (L2 learning)
#   queues 1 or 2 (testpmd --rxq/--txq; with 2, --txonly-multi-flow varies
#   the IP source of the generated frames so that several flows exist).
# Checked per variant, in both directions, from ringswitchd's port-stats
# --json (rx: taken from the port's peer, tx: given to it):
#   - what the switch took from a port = what testpmd transmitted there;
#   - what it took from one port = what it gave the other + its counted drops;
#   - testpmd received what the switch gave, but at most what sits in the
#     rings after `stop`;
#   - rules: each rule's n_packets rose by what the switch took from its port;
#   - queues=2: the switch took frames from both queues of each port and gave
#     frames to both queues of each port (flows spread by hash);
#   - no queue marked broken.
# Every variant is a new testpmd process: a reconnect to the running daemon.
# testpmd's lcores run on CPU 0; ringswitchd's forwarding thread on pmd-cores
# (default: the last CPU, 1 here).
#
# Needs: dpdk-testpmd (Debian package dpdk-dev), python3, BUILD/ringswitchd
# and ringctl.
# Prints: figure: testpmd io-fwd through ringswitchd (rules|normal): X Mpps (...)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
RS_E2E_SWITCH=ringswitchd
e2e_init switch_testpmd
e2e_need dpdk-testpmd dpdk-dev
e2e_need python3 python3

RUN="$E2E_TMP/run"
SECS="${RS_E2E_TESTPMD_SECS:-3}"
VARIANTS="${RS_E2E_SWITCH_TESTPMD_VARIANTS:-rules:1 normal:1 rules:2 normal:2}"
MAC0=02:00:00:00:00:01 MAC1=02:00:00:00:00:02
RULE1="priority=100,in_port=vm1" RULE2="priority=100,in_port=vm2"

# port_stats LOG FROMLINE PORT FIELD: last value of FIELD ("RX-packets", ...)
# for testpmd PORT in the "NIC statistics" blocks printed after line FROMLINE.
port_stats() {
    tail -n +"$(($2 + 1))" "$1" | tr -d '\r' | awk -v port="$3" -v field="$4:" '
        /NIC statistics for port/ { cur = ($6 == port) }
        cur { for (i = 1; i < NF; i++) if ($i == field) v = $(i + 1) }
        END { printf "%d\n", v }'
}
lines() { wc -l <"$1"; }

fails=0
vfail() { echo "FAIL: switch_testpmd: $*" >&2; fails=$((fails + 1)); }

e2e_start_rsd "$RUN"

n=0
for v in $VARIANTS; do
    mode="${v%%:*}" q="${v##*:}" n=$((n + 1))
    tag="$mode, queues=$q"
    e2e_log "=== variant $tag"
    e2e_ringctl_ok del-flows >/dev/null
    if [[ "$mode" == rules ]]; then
        e2e_ringctl_ok add-flow "$RULE1,actions=output:vm2" >/dev/null
        e2e_ringctl_ok add-flow "$RULE2,actions=output:vm1" >/dev/null
    fi
    multi=()
    ((q > 1)) && multi=(--txonly-multi-flow)
    log="$E2E_TMP/fe$n.log"
    e2e_testpmd_start "$E2E_TMP/fe$n" "$log" "0@0,1@0" \
        --vdev "net_virtio_user0,path=$RUN/vm1.sock,queues=$q,mrg_rxbuf=0,packed_vq=0,mac=$MAC0" \
        --vdev "net_virtio_user1,path=$RUN/vm2.sock,queues=$q,mrg_rxbuf=0,packed_vq=0,mac=$MAC1" \
        -- --rxq="$q" --txq="$q" --nb-cores=1 --forward-mode=io \
        --eth-peer="0,$MAC1" --eth-peer="1,$MAC0" "${multi[@]}"
    fe_pid=$TP_PID fifo=$TP_FIFO
    # Counters are kept across connections: baseline once testpmd is
    # connected and before it sends anything.
    _ready() { [[ "$(e2e_json "$(e2e_ringctl --json show 2>/dev/null)" \
        "all(len(p['rxq_ready']) == $q and len(p['txq_ready']) == $q for p in j['ports'])")" == 1 ]]; }
    e2e_wait_for 10 _ready || vfail "$tag: the switch does not list $q ready queue(s) per port"
    st0="$(e2e_ringctl_ok --json port-stats)" || exit 1
    fl0="$(e2e_ringctl_ok --json dump-flows)" || exit 1
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
    sleep 0.5 # let the switch drain what is in flight
    l2=$(lines "$log")
    e2e_testpmd_cmd "$log" "$fifo" "show port stats all"
    st1="$(e2e_ringctl_ok --json port-stats)" || exit 1
    fl1="$(e2e_ringctl_ok --json dump-flows)" || exit 1
    e2e_ringctl port-stats >&2

    rx_a=$(( $(head -n "$l1" "$log" | port_stats /dev/stdin "$l0" 0 RX-packets) +
             $(head -n "$l1" "$log" | port_stats /dev/stdin "$l0" 1 RX-packets) ))
    rx_b=$(( $(head -n "$l2" "$log" | port_stats /dev/stdin "$l1" 0 RX-packets) +
             $(head -n "$l2" "$log" | port_stats /dev/stdin "$l1" 1 RX-packets) ))
    mpps=$(awk -v a="$rx_a" -v b="$rx_b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", (b - a) / (t1 - t0) / 1e6 }')
    e2e_figure "testpmd io-fwd through ringswitchd ($mode): $mpps Mpps (queues=$q, both directions summed, 64 B, ${SECS} s)"

    declare -A TX RX
    for p in 0 1; do
        TX[$p]=$(port_stats "$log" "$l2" "$p" TX-packets)
        RX[$p]=$(port_stats "$log" "$l2" "$p" RX-packets)
        e2e_log "$tag: testpmd port $p RX-packets=${RX[$p]} TX-packets=${TX[$p]}"
        ((RX[$p] > 0)) || vfail "$tag: testpmd port $p received nothing"
        ((TX[$p] > 0)) || vfail "$tag: testpmd port $p transmitted nothing"
    done

    declare -A D=()
    while read -r pn k x; do D[$pn:$k]=$x; done < <(e2e_pstat_diff "$st0" "$st1")
    d() { echo "${D[$1:$2]:-0}"; }
    broken="$(e2e_rsd_broken "$st1")"
    [[ -z "$broken" ]] || vfail "$tag: broken queues: $broken"
    for p in 0 1; do
        peer=$((p ^ 1)) src=vm$((p + 1)) dst=vm$((peer + 1))
        took=$(d $src rx_packets) gave=$(d $dst tx_packets) drops=0 dl=""
        for k in drops.no_rule drops.vlan drops.malformed drops.port_security drops.broken rx.*.drop_too_big; do
            x=$(d $src $k)
            ((x)) && dl+=" $src:$k=$x"
            drops=$((drops + x))
        done
        for k in drops.not_ready tx.*.drop_full tx.*.drop_too_big; do
            x=$(d $dst $k)
            ((x)) && dl+=" $dst:$k=$x"
            drops=$((drops + x))
        done
        e2e_log "$tag: switch took $took from $src, gave $gave to $dst, dropped $drops${dl:+ (${dl# })}"
        ((took == TX[$p])) || vfail "$tag: switch took $took frames from $src, testpmd port $p sent ${TX[$p]}"
        ((gave + drops == took)) || vfail "$tag: $src -> $dst: took $took, gave $gave + counted drops $drops = $((gave + drops))"
        ((RX[$peer] <= gave && gave - RX[$peer] <= 512 * q)) ||
            vfail "$tag: switch gave $gave frames to $dst, testpmd port $peer received ${RX[$peer]}"
        if [[ "$mode" == rules ]]; then
            rule="priority=100,in_port=$src"
            np=$(( $(e2e_flow_packets "$fl1" "$rule") - $(e2e_flow_packets "$fl0" "$rule") ))
            e2e_log "$tag: rule $rule n_packets +$np"
            ((np == took)) || vfail "$tag: rule $rule counted $np packets, the switch took $took from $src"
        fi
        if ((q > 1)); then
            for dir in rx tx; do
                out="" busy=0
                for ((i = 0; i < q; i++)); do
                    x=$(d $src "$dir.$i.packets")
                    out+=" q$i=$x"
                    ((x > 0)) && busy=$((busy + 1))
                done
                e2e_log "$tag: $src $dir per queue:$out"
                ((busy == q)) || vfail "$tag: $src $dir: traffic on $busy of $q queues ($out)"
            done
        fi
    done
    e2e_testpmd_quit "$fifo" "$fe_pid"
    e2e_untrack "$fe_pid"
done

# testpmd's virtio-user acks VIRTIO_F_IN_ORDER when offered: the variants
# above ran its in-order paths, which rely on the switch using buffers in order.
grep -q 'vm1: front-end acked features .* in_order' "$RSD_LOG" ||
    vfail "vm1: testpmd did not negotiate in_order ($(grep -m1 'acked features' "$RSD_LOG"))"
e2e_ringctl pmd-show >&2
e2e_stop_rsd
((fails == 0)) || e2e_fail "$fails check(s) failed"
echo "PASS: switch_testpmd"
