#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end proof of issue 15 (live migration) with QEMU guests on
# ringswitchd.  The migrating guest gA's first QEMU is on port vmA; each
# destination QEMU has the same command line but its vhost-user socket, its
# QMP socket, its console and `-incoming defer`, and runs on the other port
# (vmA2, then vmA again...).  A peer guest gB is on vmB.  Migration over QMP
# to tcp:127.0.0.1 (tests/e2e/qmp.py; lib.sh e2e_mig_*: max-bandwidth 4 GiB/s,
# downtime-limit 300 ms).  After a migration the guest's console is the
# destination QEMU's ($E2E_TMP/INSTANCE.console), so every instance has a
# name of its own (gA-CASE.N) and the test talks to the current one.  gA has
# 512 MiB - 8 KiB of RAM: with a multiple of 256 KiB, QEMU 7.2 under TCG
# loses guest writes in live migration (lib.sh, E2E_MIG_MEM).
#
# Usage: test_switch_migrate.sh [PHASE...]   (default: sq rarp pages)
#   sq      one queue pair, GUEST_ANNOUNCE (QEMU's default): 5 migrations in a
#           row, vmA -> vmA2 -> vmA -> ..., each with gB pinging gA every
#           10 ms; the first with an iperf3 TCP stream gB -> gA as well.
#           Asserted per migration: completed; on the stopped source, QEMU's
#           last_avail_idx from GET_VRING_BASE equals the used index in guest
#           memory (every buffer the switch took was completed); the guest's
#           MAC is on the destination port in `ringctl --json fdb-show`
#           before the source QEMU quits (so it was announced there); the
#           destination negotiated GUEST_ANNOUNCE and QEMU sent no SEND_RARP;
#           the destination answers pings (none unanswered at the end).  For
#           the first: iperf3 ended without error, and the counters balance:
#           what the switch gave vmA + vmA2 (port-stats tx) is what gA
#           received (eth0 rx_packets, which migrated with the guest), what
#           it gave vmB is what gB received, and what it took from each side
#           (rx) is what that guest sent (tx_packets) within 2 (Linux counts a
#           sent frame when it reclaims the buffer, lazily).  Figures: QEMU's
#           downtime, total time, pings lost, longest outage.
#   rarp    a new gA with `guest_announce=off` on its NIC: 2 migrations, the
#           same assertions, but the destination must not have negotiated
#           GUEST_ANNOUNCE, the daemon's log must show QEMU's SEND_RARP
#           for the destination port and its port-stats
#           migration.announces must count the RARP frames it injected (the
#           switch announced the guest); in sq, with GUEST_ANNOUNCE, both 0.
#   pages   no lost page: gB floods gA (iperf3 TCP, whose super-frames land
#           in gA's mergeable buffers, and iperf3 UDP at 100 Mbit/s, plus
#           the 10 ms ping whose replies complete gA's TX chains), gA
#           migrates to a destination started with -S; once completed both
#           QEMUs are paused (postmigrate / paused) while the flood goes on;
#           both save the guest's RAM from 1 MiB up (QMP pmemsave), which
#           must be identical: a 4 KiB page that differs is a missed dirty
#           bit or a write after GET_VRING_BASE (lib.sh e2e_mig_ram_diff
#           says which of them lie in gA's used rings and device-writable
#           buffers).  Then the destination runs (cont) and answers pings.
#           No x-ignore-shared.
#   mq      2 queue pairs: 2 migrations (vmA -> vmA2 -> vmA) with ping, the
#           first with iperf3 -P 4, the counters' balance, and frames on both
#           queues of both directions.
#   pagesmq the pages phase with 2 queue pairs.
# test_switch_migrate_mq.sh runs "mq pagesmq" so that run.sh reports it apart.
#
# Needs: root, qemu-system-x86_64 (Debian package qemu-system-x86), python3,
# cmp (diffutils), guest assets from scripts/build-guest.sh, BUILD/ringswitchd
# and ringctl.
# Environment: MIG_DOWNTIME_LIMIT (ms, default 300), RS_MIG_ROUNDS (sq's
# migrations, default 5), RS_MIG_IPERF (sq's iperf3 options, e.g. "-R"),
# RS_MIG_FLOOD (pages' flood, default "tcp udp"; also "tcpr": TCP gA -> gB),
# RS_MIG_PORTS (the ports gA moves between in turn, default "vmA vmA2"),
# RS_MIG_PORT_OPTS (more add-port options, e.g. offloads=off),
# RS_E2E_KEEP=1 (keeps the temp dir, and RAM dumps that differ).
# Prints: figure: lines (downtime, pings lost, outage, counters, pages).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PHASES="${*:-sq rarp pages}"
RS_E2E_SWITCH=ringswitchd
e2e_init "switch_migrate-${PHASES// /-}"
e2e_need_guest
[[ "$(id -u)" == 0 ]] || e2e_skip "needs root (the tests run QEMU guests and ringswitchd as root)"
e2e_need cmp diffutils

IP_A=169.254.79.1 IP_B=169.254.79.2
MAC_A=52:54:00:79:00:01 MAC_B=52:54:00:79:00:02
BOOT_SECS=150
RUN="$E2E_TMP/run"
# The ports the migrating guest moves between, in turn (RS_MIG_PORTS adds
# fresh ones, e.g. "vmA vmA2 vmA3", to tell a port's reuse from the rest).
read -r -a PORTS <<<"${RS_MIG_PORTS:-vmA vmA2}"
RAM_KIB=$E2E_MIG_MEM_KIB # the guests' RAM (lib.sh: not a multiple of 256 KiB)

# alive WHAT: the daemon runs and no queue is broken.
alive() {
    kill -0 "$RSD_PID" 2>/dev/null || e2e_fail "$1: ringswitchd died ($(tail -n 3 "$RSD_LOG"))"
    local b
    b="$(e2e_rsd_broken)"
    [[ -z "$b" ]] || e2e_fail "$1: queues marked broken: $b"
}

# fdb_port MAC: the port that ringswitchd's MAC table has MAC on ("-": none).
fdb_port() {
    local j
    j="$(timeout 10 "$(e2e_ringctl_bin)" --run-dir "$RSD_RUN" --json fdb-show 2>/dev/null)" || { echo "-"; return; }
    python3 -c '
import json, sys
print(next((e["port"] for e in json.loads(sys.argv[1]) if e["mac"].lower() == sys.argv[2]), "-"))' "$j" "$1"
}

# wait_fdb MAC PORT SECS: until the MAC table has MAC on PORT.
wait_fdb() {
    local end=$((SECONDS + $3)) p
    while :; do
        p="$(fdb_port "$1")"
        [[ "$p" == "$2" ]] && return 0
        ((SECONDS < end)) || { echo "$p"; return 1; }
        sleep 0.1
    done
}

# The case's migrating guest: GOPTS are every instance's options but sock=,
# qmp=, incoming= and paused=; CUR the running instance, CUR_PORT its port
# index in PORTS; K counts the instances.
GOPTS=() CUR="" CUR_PORT=0 K=0 CASE=""

ga_boot() { # ga_boot CASE OPTIONS...
    CASE="$1"
    shift
    GOPTS=(guest=gA ip="$IP_A/24" mac="$MAC_A" mem="$E2E_MIG_MEM" "$@")
    NQ=2
    grep -q 'queues=2' <<<"${GOPTS[*]}" && NQ=4
    K=0 CUR="gA-$CASE.0" CUR_PORT=0
    e2e_start_guest "$CUR" "${GOPTS[@]}" sock="$RUN/${PORTS[0]}.sock" qmp="$E2E_TMP/$CUR.qmp"
    e2e_wait_guest "$CUR" $BOOT_SECS
    if grep -q 'queues=2' <<<"${GOPTS[*]}"; then
        # As test_switch_qemu.sh mq: the flow hash, not XPS, picks the TX queue.
        e2e_guest "$CUR" 'for f in /sys/class/net/eth0/queues/tx-*/xps_cpus; do echo 0 >$f; done' ||
            e2e_fail "$CASE: cannot clear XPS in gA"
    fi
    e2e_ping_ok gB $IP_A "$CASE: before migrating"
}

# ga_dest [paused=1]: start the next instance on the other port; sets NXT,
# NXT_PORT.  Returns once its QMP answers (its vhost-user device is attached).
NXT="" NXT_PORT=0
ga_dest() {
    K=$((K + 1))
    NXT="gA-$CASE.$K" NXT_PORT=$(((CUR_PORT + 1) % ${#PORTS[@]}))
    e2e_start_guest "$NXT" "${GOPTS[@]}" sock="$RUN/${PORTS[$NXT_PORT]}.sock" qmp="$E2E_TMP/$NXT.qmp" \
        incoming=defer "$@"
    e2e_qmp "$NXT" -t 60 query-status >/dev/null ||
        e2e_fail "$CASE: destination $NXT does not answer QMP: $(tail -n 3 "$E2E_TMP/$NXT.qemu.err")"
}

# vq_check WHAT INST: on the stopped source INST, every buffer the switch
# took from a queue was completed by the time it answered GET_VRING_BASE
# (QEMU's last_avail_idx = the used->idx in guest memory); the destination
# restarts every queue from last_avail_idx.
NQ=2
vq_check() {
    local out
    out="$(e2e_mig_vq_state "$2" "$NQ")" ||
        e2e_fail "$1: on the stopped source $2 the back-end's ring base is not the guest's used index: $(tr '\n' ';' <<<"$out")"
    e2e_log "$1: source rings at the stop: $(tr '\n' ';' <<<"$out")"
}

# dest_dump INST: what a failure needs to know of a destination (on stderr).
dest_dump() {
    e2e_log "$1 QMP status: $(e2e_qmp "$1" -t 5 query-status 2>&1)"
    e2e_log "$1 rings: $(e2e_mig_vq_state "$1" "$NQ" 2>&1 | tr '\n' ';')"
    e2e_log "$1 console: $(e2e_guest "$1" -t 10 'cat /sys/class/net/eth0/statistics/rx_packets /sys/class/net/eth0/statistics/tx_packets; ethtool -S eth0 | tr -s " \n" " "' 2>&1 | tr '\n' ' ')"
    e2e_log "$1 kernel: $(e2e_guest_crash "$1")"
    e2e_ringctl port-stats >&2
}

# qemu_errors INST: vhost-user errors QEMU printed (none expected).
qemu_errors() { grep -E -i 'vhost|error|fail' "$E2E_TMP/$1.qemu.err" 2>/dev/null | sort | uniq -c | tr '\n' ';'; }

# migrate_step WHAT: CUR -> a new destination on the other port, with the
# peer pinging the guest; checks and figures as described at the top.
# Sets LOST, GAP_MS.
migrate_step() {
    local what="$1" from to p rarp0 rarp feat ann0 ann
    from="${PORTS[$CUR_PORT]}"
    [[ -n "$NXT" ]] || ga_dest
    to="${PORTS[$NXT_PORT]}"
    rarp0=$(e2e_count "$RSD_LOG" "$to: SEND_RARP")
    ann0=$(e2e_pstat "$(e2e_ringctl_ok --json port-stats)" "$to" migration.announces) || exit 1
    e2e_mig_ping_start gB $IP_A
    sleep 1
    e2e_mig_migrate "$CUR" "$NXT" 150
    vq_check "$what" "$CUR"
    # The source is still attached (postmigrate): only an announcement from
    # the destination (the guest's gratuitous ARP, or the switch's RARP on
    # SEND_RARP) can have moved the MAC.
    p="$(wait_fdb "$MAC_A" "$to" 10)" || {
        dest_dump "$NXT"
        e2e_fail "$what: the guest's MAC is on '$p', not on $to, 10 s after the migration $from -> $to (source not yet quit); guest kernel: $(e2e_guest_crash "$NXT")"
    }
    # Who announced: the guest (GUEST_ANNOUNCE negotiated: QEMU sends no
    # SEND_RARP) or the switch on QEMU's SEND_RARP (the daemon logs each one
    # at level info: "PORT: SEND_RARP MAC: announcing the guest").
    rarp=$(($(e2e_count "$RSD_LOG" "$to: SEND_RARP") - rarp0))
    # The RARP frames the port really injected (port-stats migration.announces).
    ann=$(e2e_pstat "$(e2e_ringctl_ok --json port-stats)" "$to" migration.announces) || exit 1
    ann=$((ann - ann0))
    feat="$(grep -a "$to: front-end acked features" "$RSD_LOG" | tail -n 1 | sed 's/.*features \(0x[0-9a-f]*\).*/\1/')"
    if ((EXPECT_RARP)); then
        (((feat >> 21) & 1)) && e2e_fail "$what: the destination negotiated GUEST_ANNOUNCE ($feat) though guest_announce=off"
        ((rarp > 0)) || e2e_fail "$what: guest_announce=off and no SEND_RARP for $to in the daemon's log"
        ((ann > 0)) || e2e_fail "$what: QEMU sent SEND_RARP $rarp times but $to injected no RARP frame (port-stats migration.announces)"
    else
        (((feat >> 21) & 1)) || e2e_fail "$what: the destination did not negotiate GUEST_ANNOUNCE ($feat)"
        ((rarp == 0)) || e2e_fail "$what: QEMU sent SEND_RARP $rarp times for a guest that negotiated GUEST_ANNOUNCE"
        ((ann == 0)) || e2e_fail "$what: $to injected $ann RARP frames for a guest that announces itself"
    fi
    e2e_log "$what: $to acked features $feat, SEND_RARP $rarp times, RARP frames injected $ann"
    e2e_mig_quit "$CUR"
    CUR="$NXT" CUR_PORT="$NXT_PORT" NXT=""
    sleep 2
    e2e_mig_ping_stop gB
    e2e_log "$what: pings sent $MIG_PING_TX, lost $MIG_PING_LOST, longest gap $MIG_PING_GAP_MS ms, unanswered at the end $MIG_PING_TAIL"
    e2e_figure "migration $what ($from -> $to): QEMU downtime $MIG_DOWNTIME ms, total $MIG_TOTAL ms, $MIG_MB MiB; pings every 10 ms: $MIG_PING_LOST of $MIG_PING_TX lost, longest outage $MIG_PING_GAP_MS ms; announced by $( ((rarp)) && echo "the switch ($rarp RARP)" || echo "the guest")"
    ((MIG_PING_TAIL == 0)) || dest_dump "$CUR"
    ((MIG_PING_TAIL == 0)) ||
        e2e_fail "$what: the guest stopped answering pings after the migration ($MIG_PING_TAIL unanswered at the end); fdb: $(fdb_port "$MAC_A"); dest QEMU: $(qemu_errors "$CUR"); guest kernel: $(e2e_guest_crash "$CUR")"
    [[ -z "$(grep -E -i 'vhost.*(fail|error)|unable to start vhost' "$E2E_TMP/$CUR.qemu.err" 2>/dev/null)" ]] ||
        e2e_fail "$what: destination QEMU: $(qemu_errors "$CUR")"
    LOST=$MIG_PING_LOST GAP_MS=$MIG_PING_GAP_MS
    alive "$what"
}

# snapshot: port-stats and both guests' eth0 counters into SNAP_*, taken
# while no frame moves: the guests' counters read the same before and after
# the switch's (at most 5 tries).
snapshot() {
    local try a1 a2 b1 b2
    for try in 1 2 3 4 5; do
        a1="$(e2e_guest_netstats "$CUR")" b1="$(e2e_guest_netstats gB)"
        SNAP_ST="$(e2e_ringctl_ok --json port-stats)" || exit 1
        a2="$(e2e_guest_netstats "$CUR")" b2="$(e2e_guest_netstats gB)"
        [[ -n "$a1" && -n "$b1" ]] || e2e_fail "cannot read the guests' eth0 counters"
        [[ "$a1" == "$a2" && "$b1" == "$b2" ]] && break
        sleep 0.5
    done
    read -r SNAP_ARX SNAP_ATX <<<"$a2"
    read -r SNAP_BRX SNAP_BTX <<<"$b2"
}

# balance WHAT ST ARX ATX BRX BTX: between the snapshot given (taken before)
# and one taken now, the switch's counters agree with the guests'.  What the
# switch gave a port (tx) is what the guest received (rx_packets), exactly.
# What it took from a port (rx) may run ahead of the guest's tx_packets by a
# frame or two at either snapshot: Linux's virtio-net counts a sent frame
# when it reclaims the buffer, which it does lazily (at its next transmit or
# TX interrupt), so the two may differ by 2 at most.
balance() {
    local what="$1" st0="$2" arx0="$3" atx0="$4" brx0="$5" btx0="$6" try ok=0 p k v
    local -A D
    for try in 1 2 3; do
        snapshot
        D=()
        while read -r p k v; do D[$p:$k]=$v; done < <(e2e_pstat_diff "$st0" "$SNAP_ST")
        local sw_b_rx=${D[vmB:rx_packets]} sw_b_tx=${D[vmB:tx_packets]}
        local sw_a_rx=0 sw_a_tx=0 p per="" drops=""
        for p in "${PORTS[@]}"; do
            sw_a_rx=$((sw_a_rx + D[$p:rx_packets])) sw_a_tx=$((sw_a_tx + D[$p:tx_packets]))
            per+=" $p ${D[$p:tx_packets]}" drops+=" $p: not_ready ${D[$p:drops.not_ready]} queue_full ${D[$p:drops.queue_full]};"
        done
        local g_b_tx=$((SNAP_BTX - btx0)) g_b_rx=$((SNAP_BRX - brx0)) g_a_tx=$((SNAP_ATX - atx0)) g_a_rx=$((SNAP_ARX - arx0))
        BAL="switch gave gA's ports $sw_a_tx (${per# }), gA received $g_a_rx; switch gave vmB $sw_b_tx, gB received $g_b_rx; gA sent $g_a_tx, switch took $sw_a_rx from gA's ports; gB sent $g_b_tx, switch took $sw_b_rx from vmB; drops to gA's ports:${drops%;}"
        local da=$((sw_a_rx - g_a_tx)) db=$((sw_b_rx - g_b_tx))
        if ((sw_a_tx == g_a_rx && sw_b_tx == g_b_rx && da >= -2 && da <= 2 && db >= -2 && db <= 2)); then
            ok=1
            break
        fi
        e2e_log "$what: counters do not balance yet: $BAL"
        sleep 1
    done
    if ((ok)); then
        e2e_log "$what: counters balance: $BAL"
        e2e_figure "counters $what: $BAL"
        return 0
    fi
    local g
    for g in "$CUR" gB; do
        e2e_log "$g eth0: $(e2e_guest "$g" -t 20 'cd /sys/class/net/eth0/statistics && grep . * | tr "\n" " "; ethtool -S eth0 | tr -s " \n" " "')"
    done
    e2e_ringctl port-stats >&2
    e2e_fail "$what: counters do not balance: $BAL"
}

# queues_busy WHAT ST0 ST1: with 2 queue pairs, both queues of gA's ports
# carried frames in both directions between the two port-stats snapshots.
queues_busy() {
    local p k v dir q n out=""
    local -A D
    while read -r p k v; do D[$p:$k]=$v; done < <(e2e_pstat_diff "$2" "$3")
    for dir in rx tx; do
        for q in 0 1; do
            n=0
            for p in "${PORTS[@]}"; do n=$((n + ${D[$p:$dir.$q.packets]:-0})); done
            out+=" $dir.$q=$n"
            ((n > 0)) || e2e_fail "$1: no frame on gA's $dir queue $q (${out# })"
        done
    done
    e2e_figure "queues $1: frames per queue of gA's ports: ${out# }"
}

# mig_case CASE NMIG IPERF_ARGS GUEST-OPTIONS...: boot gA on vmA, NMIG
# migrations; the first with iperf3 and the counters' balance when
# IPERF_ARGS is not "-".
mig_case() {
    local c="$1" n="$2" iperf="$3" t0=$SECONDS k st arx atx brx btx lost=() gaps=() dts=()
    shift 3
    ga_boot "$c" "$@"
    for ((k = 1; k <= n; k++)); do
        if ((k == 1)) && [[ "$iperf" != - ]]; then
            ga_dest
            snapshot
            st="$SNAP_ST" arx=$SNAP_ARX atx=$SNAP_ATX brx=$SNAP_BRX btx=$SNAP_BTX
            # shellcheck disable=SC2086
            e2e_mig_iperf_start "$CUR" gB $IP_A 12 $iperf
            sleep 2
        fi
        migrate_step "$c $k/$n"
        lost+=("$LOST") gaps+=("$GAP_MS") dts+=("$MIG_DOWNTIME")
        if ((k == 1)) && [[ "$iperf" != - ]]; then
            e2e_mig_iperf_wait gB "$c 1/$n" 60
            e2e_figure "iperf3 across migration $c 1/$n: $MIG_IPERF_MBPS Mbit/s (gB -> gA, TCP 12 s $iperf)"
            balance "$c 1/$n" "$st" "$arx" "$atx" "$brx" "$btx"
            ((NQ == 4)) && queues_busy "$c 1/$n" "$st" "$SNAP_ST"
        fi
    done
    # The guest's console is the last destination's, and it reaches gB.
    e2e_ping_ok "$CUR" $IP_B "$c: from gA after $n migrations"
    e2e_ping_ok gB $IP_A "$c: to gA after $n migrations"
    e2e_figure "migrations $c: $n done; QEMU downtime ms ${dts[*]}; pings lost ${lost[*]}; longest outage ms ${gaps[*]}"
    e2e_mig_quit "$CUR"
    alive "$c"
    e2e_log "case $c: $((SECONDS - t0)) s"
}

# pages_case CASE GUEST-OPTIONS...: the no-lost-page proof.
pages_case() {
    local c="$1" t0=$SECONDS out src dst n first
    shift
    ga_boot "$c" "$@"
    # TCP (super-frames into mergeable buffers, TX completions for gA's
    # ACKs), UDP beside it (frames keep coming while both sides are paused),
    # the ping for gA's replies.
    local f
    for f in ${RS_MIG_FLOOD:-tcp udp}; do
        case "$f" in
        udp) MIG_IPERF_PORT=5201 e2e_mig_iperf_start "$CUR" gB $IP_A 40 -u -b 100M -l 1400 ;;
        tcp) MIG_IPERF_PORT=5202 e2e_mig_iperf_start "$CUR" gB $IP_A 40 ;;
        tcpr) MIG_IPERF_PORT=5203 e2e_mig_iperf_start "$CUR" gB $IP_A 40 -R ;;
        *) e2e_fail "RS_MIG_FLOOD: unknown $f" ;;
        esac
    done
    e2e_mig_ping_start gB $IP_A
    sleep 3
    ga_dest paused=1
    src="$CUR" dst="$NXT" NXT=""
    e2e_mig_migrate "$src" "$dst" 150
    out="$(e2e_qmp "$src" -t 10 --wait-status postmigrate 2>&1)" || e2e_fail "$c: source not in postmigrate: $out"
    e2e_log "$c: destination rings before it runs: $(e2e_mig_vq_state "$dst" "$NQ" | tr '\n' ';')"
    vq_check "$c" "$src"
    # The flood goes on while both sides are paused: the switch must not
    # write a byte into the guest after GET_VRING_BASE.
    local st
    st="$(e2e_ringctl_ok --json port-stats)" || exit 1
    e2e_mig_ram_diff "$src" "$dst" "$RAM_KIB" "$NQ"
    n=$MIG_DIFF_PAGES first=$MIG_DIFF_DETAIL
    local st2 d_rx
    st2="$(e2e_ringctl_ok --json port-stats)" || exit 1
    d_rx=$(($(e2e_pstat "$st2" vmB rx_packets) - $(e2e_pstat "$st" vmB rx_packets)))
    e2e_log "$c: gB sent $d_rx frames into the switch while both QEMUs were paused and saving RAM"
    e2e_figure "no lost page $c: $n of $MIG_DIFF_TOTAL pages of 4 KiB differ between source and destination, $MIG_DIFF_DEV of them in gA's used rings and device-writable buffers (QEMU downtime $MIG_DOWNTIME ms, $MIG_MB MiB, $MIG_PASSES passes, $d_rx frames flooded while paused)"
    ((n == 0)) || e2e_fail "$c: $n pages of guest RAM differ between the paused source and destination, $MIG_DIFF_DEV of them in gA's used rings and device-writable buffers ($first): a missed dirty bit or a write after stop; $(grep -E -i 'log|outside' "$RSD_LOG" | tail -n 5 | tr '\n' ';')"
    # The copy runs.
    out="$(e2e_qmp "$dst" -t 10 cont 2>&1)" || e2e_fail "$c: cont on $dst: $out"
    e2e_mig_quit "$src"
    CUR="$dst" CUR_PORT="$NXT_PORT"
    local p
    p="$(wait_fdb "$MAC_A" "${PORTS[$CUR_PORT]}" 15)" ||
        e2e_fail "$c: the guest's MAC is on '$p', not ${PORTS[$CUR_PORT]}, after cont"
    sleep 2
    e2e_mig_ping_stop gB
    # Under the flood a ping may find gA's RX ring full: whether the copy
    # answers is asked once the flood is over.
    e2e_log "$c: pings sent $MIG_PING_TX, lost $MIG_PING_LOST (the copy was paused for the RAM dumps), unanswered at the end $MIG_PING_TAIL"
    e2e_guest gB -t 60 'for p in /tmp/mig-iperf*.pid; do while kill -0 $(cat $p) 2>/dev/null; do sleep 1; done; done' >/dev/null
    e2e_ping_ok gB $IP_A "$c: to gA after the migration"
    e2e_ping_ok "$CUR" $IP_B "$c: from gA after the migration"
    e2e_mig_quit "$CUR"
    alive "$c"
    e2e_log "case $c: $((SECONDS - t0)) s"
}

EXPECT_RARP=0
phase_sq() { mig_case sq "${RS_MIG_ROUNDS:-5}" "${RS_MIG_IPERF:-}"; }
phase_rarp() { EXPECT_RARP=1 mig_case rarp 2 - devopts=guest_announce=off; }
phase_pages() { pages_case pages; }
phase_mq() { mig_case mq 2 "-P 4" queues=2; }
phase_pagesmq() { pages_case pagesmq queues=2; }

e2e_start_rsd "$RUN"
# RS_MIG_PORT_OPTS: more add-port options for every port (offloads=off).
read -r -a PORT_OPTS <<<"${RS_MIG_PORT_OPTS:-}"
for p in "${PORTS[@]}"; do
    e2e_ringctl_ok add-port "$p" vhost-user-server queues=2 "${PORT_OPTS[@]}" >/dev/null
done
e2e_ringctl_ok add-port vmB vhost-user-server "${PORT_OPTS[@]}" >/dev/null
e2e_start_guest gB ip=$IP_B/24 mac=$MAC_B sock="$RUN/vmB.sock"
e2e_wait_guest gB $BOOT_SECS
for ph in $PHASES; do
    declare -F "phase_$ph" >/dev/null || e2e_fail "unknown phase $ph"
    e2e_log "=== phase $ph"
    "phase_$ph"
done
e2e_stop_guest gB
e2e_stop_rsd
echo "PASS: switch_migrate $PHASES"
