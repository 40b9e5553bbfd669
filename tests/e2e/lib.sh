# shellcheck shell=bash
# Shared helpers for the end-to-end tests (tests/e2e/test_*.sh).  Source it:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init test_name
#
# Environment:
#   RS_BUILD      meson build dir holding tools/ringswitch-loopback (default: build)
#   RS_GUEST_DIR  guest assets from scripts/build-guest.sh (default: build/guest)
#   RS_E2E_KEEP=1 keep the temp dir (logs, consoles) after the test
#   E2E_SWITCH_CPUS  pin the loopback tool (taskset -c LIST); test_testpmd.sh
#                 sets 1, away from testpmd's lcores on CPU 0
#   RS_E2E_SWITCH=loopback|testpmd
#                 the switch under test.  'testpmd' stands in DPDK's own
#                 vhost back-end (dpdk-testpmd with two net_vhost ports, io
#                 forwarding port0<->port1, i.e. pair mode) for the loopback
#                 tool: it proves the harness and the peers, not ringswitch.
#
# Exit statuses of a test: 0 pass, 1 fail, 77 skip (run.sh prints the reason
# from the last line starting with "SKIP:").
#
# Host packages (Debian): qemu-system-x86 (QEMU tests), dpdk-dev
# (dpdk-testpmd), python3 (guestctl.py), coreutils (timeout, stdbuf).

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E_REPO="$(cd "$E2E_DIR/../.." && pwd)"
RS_BUILD="${RS_BUILD:-$E2E_REPO/build}"
RS_GUEST_DIR="${RS_GUEST_DIR:-$RS_BUILD/guest}"
RS_E2E_SWITCH="${RS_E2E_SWITCH:-loopback}"
E2E_PIDS=()
E2E_TMP=""
E2E_NAME=""

e2e_log() { echo "[$(date +%T)] ${E2E_NAME}: $*" >&2; }
e2e_fail() {
    echo "FAIL: ${E2E_NAME}: $*" >&2
    e2e_dump_logs
    exit 1
}
e2e_skip() {
    echo "SKIP: $*"
    exit 77
}
# e2e_figure TEXT: a measured number, in the one format reports grep for.
e2e_figure() { echo "figure: $*"; }

# e2e_need CMD PACKAGE: fail (not skip: a CI that lacks a peer must say so
# loudly) when CMD is missing, naming the Debian package that provides it.
e2e_need() {
    command -v "$1" >/dev/null 2>&1 ||
        e2e_fail "'$1' not found: install Debian package '$2' (apt-get install $2)"
}

e2e_init() {
    E2E_NAME="$1"
    E2E_TMP="$(mktemp -d "/tmp/rs-e2e-${E2E_NAME}.XXXXXX")"
    trap e2e_cleanup EXIT
    trap 'e2e_log "interrupted"; exit 130' INT TERM
    e2e_log "temp dir $E2E_TMP, switch $RS_E2E_SWITCH"
}

# e2e_track PID: kill PID at cleanup.
e2e_track() { E2E_PIDS+=("$1"); }

# e2e_kill PID [SIG]: stop one started process and wait for it (at most 5 s
# after SIGTERM, then SIGKILL).
e2e_kill() {
    local pid="$1" sig="${2:-TERM}" i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -"$sig" "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

e2e_cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${E2E_PIDS[@]}"; do
        [[ -n "$pid" ]] && e2e_kill "$pid"
    done
    if [[ -n "$E2E_TMP" && -d "$E2E_TMP" ]]; then
        if [[ "${RS_E2E_KEEP:-0}" == 1 ]]; then
            e2e_log "kept $E2E_TMP"
        else
            rm -rf "$E2E_TMP"
        fi
    fi
    exit "$rc"
}

# e2e_dump_logs: show the tail of every log of this test (on failure).
e2e_dump_logs() {
    local f
    [[ -n "$E2E_TMP" && -d "$E2E_TMP" ]] || return 0
    for f in "$E2E_TMP"/*.log "$E2E_TMP"/*.out "$E2E_TMP"/*.err; do
        [[ -s "$f" ]] || continue
        echo "----- tail of $f" >&2
        tail -n 25 "$f" | tr -d '\r' >&2
    done
}

# e2e_wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds.
e2e_wait_for() {
    local secs="$1" end
    shift
    end=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.1
    done
}

# e2e_wait_socket PATH [SECS]: wait for a listening unix socket to appear.
e2e_wait_socket() { e2e_wait_for "${2:-10}" test -S "$1"; }

# e2e_count FILE REGEX: number of lines of FILE matching REGEX (0 if none).
e2e_count() {
    local n
    n=$(grep -c -E "$2" "$1" 2>/dev/null)
    echo "${n:-0}"
}

# ---------------------------------------------------------------------------
# The switch: the loopback tool, or testpmd's vhost back-end as a stand-in.
# e2e_start_switch RUNDIR [LOOPBACK ARGS...]: sockets RUNDIR/port0.sock and
# RUNDIR/port1.sock; sets SW_PID, SW_OUT (its stdout).  With --client the
# switch connects to sockets that the front-ends listen on.
# ---------------------------------------------------------------------------
SW_PID="" SW_OUT="" SW_KIND="" SW_FIFO=""

e2e_loopback_bin() { echo "$RS_BUILD/tools/ringswitch-loopback"; }

e2e_start_switch() {
    local rundir="$1"
    shift
    mkdir -p "$rundir"
    case "$RS_E2E_SWITCH" in
    loopback) e2e_start_loopback "$rundir" "$@" ;;
    testpmd) e2e_start_vhost_testpmd "$rundir" "$@" ;;
    *) e2e_fail "unknown RS_E2E_SWITCH=$RS_E2E_SWITCH" ;;
    esac
}

e2e_start_loopback() {
    local rundir="$1" bin n
    shift
    bin="$(e2e_loopback_bin)"
    [[ -x "$bin" ]] || e2e_fail "no loopback tool at $bin (build it: meson setup $RS_BUILD && ninja -C $RS_BUILD)"
    n=$(( $(ls "$E2E_TMP"/switch*.out 2>/dev/null | wc -l) ))
    SW_OUT="$E2E_TMP/switch$n.out"
    SW_KIND=loopback
    e2e_log "start: $bin --run-dir $rundir $*"
    local pin=()
    [[ -n "${E2E_SWITCH_CPUS:-}" ]] && pin=(taskset -c "$E2E_SWITCH_CPUS")
    "${pin[@]}" "$bin" --run-dir "$rundir" --log-level info "$@" >"$SW_OUT" 2>"$E2E_TMP/switch$n.err" &
    SW_PID=$!
    e2e_track "$SW_PID"
    e2e_wait_for 10 grep -qs '^ready' "$SW_OUT" ||
        e2e_fail "loopback did not print 'ready' within 10 s"
}

# testpmd's vhost back-end as a pair-mode switch.  Accepts the loopback's
# --queues Q and --client options and ignores the rest.
e2e_start_vhost_testpmd() {
    local rundir="$1" q=4 client=0 n
    shift
    while (($#)); do
        case "$1" in
        --queues) q="$2"; shift ;;
        --client) client=1 ;;
        --ports | --mode | --mtu | --poll | --log-level | --socket-perm) shift ;;
        esac
        shift
    done
    e2e_need dpdk-testpmd dpdk-dev
    n=$(( $(ls "$E2E_TMP"/switch*.out 2>/dev/null | wc -l) ))
    SW_OUT="$E2E_TMP/switch$n.out"
    SW_KIND=testpmd
    # The vhost PMD offers at most 'queues' pairs; the front-ends may use fewer.
    e2e_testpmd_start "$E2E_TMP/sw$n" "$SW_OUT" "1@1,2@1" \
        --vdev "net_vhost0,iface=$rundir/port0.sock,queues=$q,client=$client" \
        --vdev "net_vhost1,iface=$rundir/port1.sock,queues=$q,client=$client" \
        -- --rxq="$q" --txq="$q" --nb-cores=1 --forward-mode=io
    SW_PID=$TP_PID
    SW_FIFO=$TP_FIFO
    if ((client == 0)); then
        e2e_wait_socket "$rundir/port0.sock" && e2e_wait_socket "$rundir/port1.sock" ||
            e2e_fail "testpmd vhost sockets did not appear"
    fi
    e2e_testpmd_cmd "$SW_OUT" "$SW_FIFO" "start"
}

# e2e_switch_stats: print one block of the loopback's SIGUSR1 stats (the
# "stats ..." lines up to "stats end").  Nothing for the testpmd stand-in.
e2e_switch_stats() {
    [[ "$SW_KIND" == loopback ]] || return 0
    local before
    before=$(e2e_count "$SW_OUT" '^stats end')
    kill -USR1 "$SW_PID" || return 1
    _e2e_stats_done() { (($(e2e_count "$SW_OUT" '^stats end') > before)); }
    e2e_wait_for 5 _e2e_stats_done || return 1
    awk -v n="$before" '/^stats end/ { if (k++ == n) exit } k == n && /^stats /' "$SW_OUT"
}

# e2e_stats_sum STATS PORT DIR [FIELD]: sum FIELD (default packets) over the
# queues of PORT in direction DIR of a stats block.
e2e_stats_sum() {
    awk -v port="$2" -v dir="$3" -v field="${4:-packets}" '
        { p = ""; d = ""; v = 0
          for (i = 2; i <= NF; i++) { split($i, kv, "=")
              if (kv[1] == "port") p = kv[2]; else if (kv[1] == "dir") d = kv[2]
              else if (kv[1] == field) v = kv[2] }
          if (p == port && d == dir) s += v }
        END { printf "%d\n", s }' <<<"$1"
}

# e2e_stats_broken STATS: lines whose broken= is not none.
e2e_stats_broken() { grep -E '^stats port=' <<<"$1" | grep -v 'broken=none' || true; }

# e2e_stop_switch: SIGTERM, check a clean exit, sockets removed.
e2e_stop_switch() {
    local rundir="$1" pid="$SW_PID" rc
    [[ -n "$pid" ]] || return 0
    if [[ "$SW_KIND" == testpmd ]]; then
        e2e_testpmd_quit
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    e2e_wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || e2e_fail "loopback ignored SIGTERM for 10 s"
    wait "$pid"
    rc=$?
    SW_PID=""
    ((rc == 0)) || e2e_fail "loopback exited with status $rc after SIGTERM"
    if [[ -n "$rundir" ]] && compgen -G "$rundir/port*.sock" >/dev/null; then
        e2e_fail "loopback left sockets behind: $(ls "$rundir")"
    fi
}

# ---------------------------------------------------------------------------
# dpdk-testpmd driven interactively through a fifo.
# e2e_testpmd_start PREFIXDIR LOGFILE LCORES EAL-ARGS... -- APP-ARGS...
# sets TP_PID, TP_FIFO, TP_LOG.  PREFIXDIR is a fresh dir used for the
# file prefix (unique per process).
# ---------------------------------------------------------------------------
TP_PID="" TP_FIFO="" TP_LOG=""
e2e_testpmd_start() {
    local dir="$1" log="$2" lcores="$3" eal=() app=()
    shift 3
    while (($#)) && [[ "$1" != "--" ]]; do eal+=("$1"); shift; done
    (($#)) && shift
    app=("$@")
    e2e_need dpdk-testpmd dpdk-dev
    e2e_need stdbuf coreutils
    mkdir -p "$dir"
    TP_FIFO="$dir/cmd.fifo"
    TP_LOG="$log"
    mkfifo "$TP_FIFO"
    e2e_log "start: dpdk-testpmd ${eal[*]} -- -i ${app[*]}"
    # The fifo is held open read-write on fd 3 of testpmd's own shell so that
    # testpmd never sees end-of-file between two commands.
    (exec 3<>"$TP_FIFO"; exec stdbuf -oL dpdk-testpmd --no-huge -m 512 --no-pci --no-shconf \
        --no-telemetry --file-prefix "rs$$$(basename "$dir")" --lcores "$lcores" \
        --log-level=lib.eal:error "${eal[@]}" -- -i --total-num-mbufs=16384 "${app[@]}" \
        <&3 >"$log" 2>&1) &
    TP_PID=$!
    e2e_track "$TP_PID"
    # Wait for the prompt.
    e2e_wait_for 30 grep -qs 'testpmd>' "$log" || {
        kill -0 "$TP_PID" 2>/dev/null || e2e_fail "dpdk-testpmd exited at start ($log)"
        e2e_fail "dpdk-testpmd gave no prompt within 30 s ($log)"
    }
}

# e2e_testpmd_cmd LOG FIFO CMD: type a command; wait for the next prompt.
e2e_testpmd_cmd() {
    local log="$1" fifo="$2" before
    before=$(grep -o 'testpmd>' "$log" | wc -l)
    echo "$3" >"$fifo"
    e2e_wait_for 20 bash -c "(( \$(grep -o 'testpmd>' '$log' | wc -l) > $before ))" ||
        e2e_fail "testpmd did not answer '$3' within 20 s"
}

# e2e_testpmd_quit [FIFO PID]: "quit", then wait (kill after 10 s).
e2e_testpmd_quit() {
    local fifo="${1:-$SW_FIFO}" pid="${2:-$SW_PID}" i
    echo "quit" >"$fifo" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    e2e_kill "$pid"
}

# ---------------------------------------------------------------------------
# QEMU guests (TCG).  e2e_start_guest NAME OPTIONS...
#   ip=ADDR/LEN   guest address (rsip=)
#   mac=MAC       NIC MAC
#   sock=PATH     vhost-user socket
#   server=1      QEMU listens on PATH (switch in --client mode)
#   queues=N      vhost-user queue pairs (N>1 adds mq=on and rsmq=N)
#   rsmq=N        queue pairs the guest enables (default: queues; 0: leave
#                 Linux's default, min(pairs, vCPUs) = 1 here)
#   reboot=1      allow guest reboots (no -no-reboot)
# Sets G_PID[NAME]; console socket $E2E_TMP/NAME.console, log $E2E_TMP/NAME.log.
# ---------------------------------------------------------------------------
declare -A G_PID
e2e_need_guest() {
    e2e_need qemu-system-x86_64 qemu-system-x86
    e2e_need python3 python3
    [[ -s "$RS_GUEST_DIR/vmlinux" && -s "$RS_GUEST_DIR/initramfs.cpio.gz" ]] ||
        e2e_fail "no guest assets in $RS_GUEST_DIR: run scripts/build-guest.sh $RS_GUEST_DIR"
}

e2e_start_guest() {
    local name="$1" ip="" mac="" sock="" server=0 queues=1 reboot=0 rsmq="" kv
    shift
    for kv in "$@"; do
        case "$kv" in
        ip=*) ip="${kv#ip=}" ;;
        mac=*) mac="${kv#mac=}" ;;
        sock=*) sock="${kv#sock=}" ;;
        server=*) server="${kv#server=}" ;;
        queues=*) queues="${kv#queues=}" ;;
        reboot=*) reboot="${kv#reboot=}" ;;
        rsmq=*) rsmq="${kv#rsmq=}" ;;
        *) e2e_fail "e2e_start_guest: unknown option $kv" ;;
        esac
    done
    local chr="socket,id=c0,path=$sock,reconnect=1"
    ((server)) && chr="socket,id=c0,path=$sock,server=on,wait=off"
    local netdev="vhost-user,id=n0,chardev=c0" dev="virtio-net-pci,netdev=n0,mac=$mac,vectors=0,romfile="
    local append="console=ttyS0 quiet panic=-1 rsname=$name rsip=$ip"
    if ((queues > 1)); then
        netdev+=",queues=$queues"
        dev+=",mq=on"
        [[ "${rsmq:-$queues}" != 0 ]] && append+=" rsmq=${rsmq:-$queues}"
    fi
    local args=(-name "$name" -machine pc,accel=tcg -cpu max -smp 1 -m 512
        -nodefaults -display none -monitor none
        -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem
        -kernel "$RS_GUEST_DIR/vmlinux" -initrd "$RS_GUEST_DIR/initramfs.cpio.gz"
        -append "$append"
        -chardev "socket,id=ser0,path=$E2E_TMP/$name.console,server=on,wait=off,logfile=$E2E_TMP/$name.log,logappend=on"
        -serial chardev:ser0
        -chardev "$chr" -netdev "$netdev" -device "$dev")
    ((reboot)) || args+=(-no-reboot)
    e2e_log "start guest $name: qemu-system-x86_64 ${args[*]}"
    qemu-system-x86_64 "${args[@]}" >>"$E2E_TMP/$name.qemu.err" 2>&1 &
    G_PID[$name]=$!
    e2e_track "${G_PID[$name]}"
}

# e2e_boots NAME: how many times the guest's init reached "ready".
e2e_boots() { e2e_count "$E2E_TMP/$1.log" 'rs-init: ready'; }

# e2e_wait_guest NAME [SECS] [BOOTS]: wait until init printed "ready" BOOTS
# times (default 1) and the shell answers.
e2e_wait_guest() {
    local name="$1" secs="${2:-90}" boots="${3:-1}"
    local end=$((SECONDS + secs))
    until (($(e2e_boots "$name") >= boots)); do
        kill -0 "${G_PID[$name]}" 2>/dev/null || e2e_fail "guest $name: QEMU exited ($(tail -n 3 "$E2E_TMP/$name.qemu.err" 2>/dev/null))"
        ((SECONDS < end)) || e2e_fail "guest $name did not boot within $secs s"
        sleep 0.2
    done
    python3 "$E2E_DIR/guestctl.py" wait "$E2E_TMP/$name.console" -t $((end - SECONDS > 5 ? end - SECONDS : 5)) ||
        e2e_fail "guest $name: no shell on the console"
    # QEMU falls back to its own virtio-net emulation (no traffic reaches
    # the switch) when the back-end refuses a vhost-user request.
    if grep -q -E 'unable to start vhost net|vhost_set_mem_table failed|vhost.*failed' "$E2E_TMP/$name.qemu.err" 2>/dev/null; then
        e2e_fail "guest $name: QEMU could not start vhost-user: $(grep -E 'vhost' "$E2E_TMP/$name.qemu.err" | sort | uniq -c | tr '\n' ';')"
    fi
}

# e2e_guest NAME [-t SECS] CMD...: run CMD in the guest, print its output,
# return its status.
e2e_guest() {
    local name="$1" t=30
    shift
    if [[ "$1" == "-t" ]]; then t="$2"; shift 2; fi
    python3 "$E2E_DIR/guestctl.py" run -t "$t" "$E2E_TMP/$name.console" -- "$@"
}

# e2e_guest_send NAME CMD...: type CMD, do not wait for it.
e2e_guest_send() {
    local name="$1"
    shift
    python3 "$E2E_DIR/guestctl.py" send -t 10 "$E2E_TMP/$name.console" -- "$@"
}

# e2e_stop_guest NAME [SIG]: kill one guest's QEMU (default SIGTERM).
e2e_stop_guest() { e2e_kill "${G_PID[$1]}" "${2:-TERM}"; }
