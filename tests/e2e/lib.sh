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
    # A running ringswitchd (e2e_start_rsd): its own view of the failure.
    [[ -n "${RSD_PID:-}" ]] && e2e_rsd_dump_state >&2
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

# e2e_untrack PID: forget a PID that has been waited for (so that cleanup
# never signals a later process that reuses the number).
e2e_untrack() {
    local i
    for i in "${!E2E_PIDS[@]}"; do
        [[ "${E2E_PIDS[$i]}" == "$1" ]] && unset 'E2E_PIDS[i]'
    done
}

# e2e_on_cleanup CMD...: run CMD at cleanup, after every tracked process has
# been stopped (network namespaces, tap devices...).  Later hooks run first.
E2E_CLEANUP_HOOKS=()
e2e_on_cleanup() { E2E_CLEANUP_HOOKS=("$(printf '%q ' "$@")" "${E2E_CLEANUP_HOOKS[@]}"); }

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
    local hook
    for hook in "${E2E_CLEANUP_HOOKS[@]}"; do
        eval "$hook" >/dev/null 2>&1
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
#   Live migration (test_switch_migrate.sh, bench/migrate.sh):
#   qmp=PATH      a QMP socket (-qmp unix:PATH,server=on,wait=off)
#   incoming=URI  -incoming URI (defer: wait for QMP migrate-incoming)
#   paused=1      -S: do not start the vCPUs (nor the vhost device)
#   guest=GNAME   the guest's own name (-name, rsname=; default NAME): a
#                 migration destination is another instance (NAME) of the
#                 same guest, with the same command line
#   devopts=OPTS  appended to the virtio-net-pci device (guest_announce=off)
#   mem=SIZE      guest RAM (-m and the memfd's size; default 512M).  Live
#                 migration under TCG needs a size that is not a multiple of
#                 256 KiB (E2E_MIG_MEM): see e2e_mig_migrate.
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
    local qmp="" incoming="" paused=0 gname="$1" devopts="" mem=512M
    shift
    for kv in "$@"; do
        case "$kv" in
        qmp=*) qmp="${kv#qmp=}" ;;
        incoming=*) incoming="${kv#incoming=}" ;;
        paused=*) paused="${kv#paused=}" ;;
        guest=*) gname="${kv#guest=}" ;;
        devopts=*) devopts="${kv#devopts=}" ;;
        mem=*) mem="${kv#mem=}" ;;
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
    [[ -n "$devopts" ]] && dev+=",$devopts"
    local append="console=ttyS0 quiet panic=-1 rsname=$gname rsip=$ip"
    if ((queues > 1)); then
        netdev+=",queues=$queues"
        dev+=",mq=on"
        [[ "${rsmq:-$queues}" != 0 ]] && append+=" rsmq=${rsmq:-$queues}"
    fi
    local args=(-name "$gname" -machine pc,accel=tcg -cpu max -smp 1 -m "$mem"
        -nodefaults -display none -monitor none
        -object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem
        -kernel "$RS_GUEST_DIR/vmlinux" -initrd "$RS_GUEST_DIR/initramfs.cpio.gz"
        -append "$append"
        -chardev "socket,id=ser0,path=$E2E_TMP/$name.console,server=on,wait=off,logfile=$E2E_TMP/$name.log,logappend=on"
        -serial chardev:ser0
        -chardev "$chr" -netdev "$netdev" -device "$dev")
    ((reboot)) || args+=(-no-reboot)
    [[ -n "$qmp" ]] && args+=(-qmp "unix:$qmp,server=on,wait=off")
    [[ -n "$incoming" ]] && args+=(-incoming "$incoming")
    ((paused)) && args+=(-S)
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

# ---------------------------------------------------------------------------
# ringswitchd, the switch daemon, and ringctl (tests/e2e/test_switch_*.sh).
# e2e_start_rsd RUNDIR [CONFIG [DAEMON ARGS...]]: start
#   BUILD/ringswitchd --foreground --run-dir RUNDIR --config CONFIG
# (CONFIG defaults to RUNDIR/ringswitchd.conf; created with the default
# ports vm1 and vm2 when missing) and wait until ringctl gets an answer.  Sets
# RSD_PID, RSD_RUN, RSD_CONF, RSD_LOG (stdout and stderr, $E2E_TMP/rsdN.log).
# Its forwarding thread pins itself to pmd-cores (default: the last CPU).
# ---------------------------------------------------------------------------
RSD_PID="" RSD_RUN="" RSD_CONF="" RSD_LOG=""

e2e_rsd_bin() { echo "$RS_BUILD/ringswitchd"; }
e2e_ringctl_bin() { echo "$RS_BUILD/ringctl"; }

e2e_start_rsd() {
    local run="$1" conf="${2:-$1/ringswitchd.conf}" bin n
    shift
    (($#)) && shift
    bin="$(e2e_rsd_bin)"
    [[ -x "$bin" && -x "$(e2e_ringctl_bin)" ]] ||
        e2e_fail "no ringswitchd/ringctl in $RS_BUILD (build: meson setup $RS_BUILD && ninja -C $RS_BUILD)"
    mkdir -p "$run"
    chmod 0700 "$run"
    n=$(( $(ls "$E2E_TMP"/rsd*.log 2>/dev/null | wc -l) ))
    RSD_RUN="$run" RSD_CONF="$conf" RSD_LOG="$E2E_TMP/rsd$n.log"
    e2e_log "start: $bin --foreground --run-dir $run --config $conf $*"
    "$bin" --foreground --run-dir "$run" --config "$conf" "$@" >"$RSD_LOG" 2>&1 &
    RSD_PID=$!
    e2e_track "$RSD_PID"
    # After a SIGKILL the old ctl.sock is still there: wait for our
    # process's "running" line, then for an answer.
    _e2e_rsd_up() {
        kill -0 "$RSD_PID" 2>/dev/null || return 2
        grep -qs 'ringswitchd running' "$RSD_LOG" &&
            timeout 5 "$(e2e_ringctl_bin)" --run-dir "$RSD_RUN" show >/dev/null 2>&1
    }
    e2e_wait_for 15 _e2e_rsd_up || {
        local pid="$RSD_PID"
        RSD_PID=""
        kill -0 "$pid" 2>/dev/null || e2e_fail "ringswitchd exited at start: $(tail -n 5 "$RSD_LOG")"
        e2e_fail "ringswitchd did not answer ringctl within 15 s"
    }
}

# e2e_stop_rsd [KILL]: SIGTERM (check a clean exit that removes the control
# socket), or SIGKILL (a crash: nothing is cleaned up).
e2e_stop_rsd() {
    local pid="$RSD_PID" how="${1:-TERM}" rc
    [[ -n "$pid" ]] || return 0
    RSD_PID=""
    if [[ "$how" == KILL ]]; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        e2e_untrack "$pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    e2e_wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || e2e_fail "ringswitchd ignored SIGTERM for 10 s"
    wait "$pid"
    rc=$?
    e2e_untrack "$pid"
    ((rc == 0)) || e2e_fail "ringswitchd exited with status $rc after SIGTERM"
    [[ ! -e "$RSD_RUN/ctl.sock" ]] || e2e_fail "ringswitchd left $RSD_RUN/ctl.sock behind"
}

# e2e_ringctl ARGS...: run ringctl on the daemon's run dir (10 s bound);
# prints its output, returns its status.
e2e_ringctl() {
    e2e_log "ringctl $*"
    timeout 10 "$(e2e_ringctl_bin)" --run-dir "$RSD_RUN" "$@" 2>&1
}

# e2e_ringctl_ok ARGS...: the same, failing the test when ringctl fails.
e2e_ringctl_ok() {
    local out
    out="$(e2e_ringctl "$@")" || e2e_fail "ringctl $* failed: $out"
    [[ -n "$out" ]] && echo "$out"
    return 0
}

# e2e_rsd_dump_state: the daemon's show, port-stats, pmd-show, dump-flows
# (on failure; never fails itself).
e2e_rsd_dump_state() {
    local c
    kill -0 "$RSD_PID" 2>/dev/null || { echo "----- ringswitchd (pid $RSD_PID) is not running"; return 0; }
    for c in show port-stats pmd-show dump-flows; do
        echo "----- ringctl $c"
        timeout 5 "$(e2e_ringctl_bin)" --run-dir "$RSD_RUN" $c 2>&1
    done
}

# e2e_json JSON PYEXPR: evaluate a Python expression over the parsed JSON
# (bound to 'j'); print it (a list one item a line; True/False as 1/0).
e2e_json() {
    python3 -c '
import json, sys
j = json.loads(sys.argv[1])
r = eval(sys.argv[2])
for x in (r if isinstance(r, list) else [r]):
    print(int(x) if isinstance(x, bool) else x)' "$1" "$2"
}

# e2e_pstat STATS PORT KEY: one counter from `ringctl --json port-stats`.
#   KEY: rx_packets | tx_packets | rx_bytes | tx_bytes   (rx: taken from the
#        port's peer; tx: given to it) | drops.REASON | rx.Q.FIELD | tx.Q.FIELD
#        (FIELD of queue Q: packets, bytes, drop_full, drop_too_big...;
#        Q '*' sums the queues).  0 for a queue that has not counted anything.
e2e_pstat() {
    python3 -c '
import json, sys
ports = {p["name"]: p for p in json.loads(sys.argv[1])}
p = ports.get(sys.argv[2])
if p is None:
    sys.exit("e2e_pstat: no port " + sys.argv[2])
k = sys.argv[3].split(".")
if k[0] in ("rx", "tx") and len(k) == 3:
    print(sum(q.get(k[2], 0) or 0 for q in p["queues"]
              if q["dir"] == k[0] and (k[1] == "*" or q["queue"] == int(k[1]))))
elif k[0] in ("drops", "offload", "migration"):
    print(p[k[0]][k[1]])
else:
    print(p[k[0]])' "$1" "$2" "$3"
}

# e2e_pstat_queues STATS PORT DIR: "QUEUE PACKETS" lines of one direction.
e2e_pstat_queues() {
    python3 -c '
import json, sys
for p in json.loads(sys.argv[1]):
    if p["name"] == sys.argv[2]:
        for q in p["queues"]:
            if q["dir"] == sys.argv[3]:
                print(q["queue"], q["packets"])' "$1" "$2" "$3"
}

# e2e_rsd_broken [STATS]: "PORT dir QUEUE: REASON" for every queue marked
# broken (nothing when none is).
e2e_rsd_broken() {
    local st="${1:-}"
    [[ -n "$st" ]] || st="$(e2e_ringctl --json port-stats 2>/dev/null)" || return 0
    python3 -c '
import json, sys
for p in json.loads(sys.argv[1]):
    for q in p["queues"]:
        if q.get("broken"):
            print("%s %s %d: %s" % (p["name"], q["dir"], q["queue"], q["broken"]))' "$st"
}

# e2e_flow_packets DUMP MATCH: n_packets of the rule whose "match" is MATCH
# in `ringctl --json dump-flows` output (-1 when there is no such rule).
e2e_flow_packets() {
    python3 -c '
import json, sys
print(next((f["n_packets"] for f in json.loads(sys.argv[1]) if f["match"] == sys.argv[2]), -1))' "$1" "$2"
}

# e2e_proc_cpu_ticks PID: utime+stime of all the process's threads, in clock
# ticks (getconf CLK_TCK per second), from /proc/PID/stat.
e2e_proc_cpu_ticks() {
    local s
    s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    s="${s##*) }" # fields from the 3rd on; the command name may hold spaces
    awk '{ print $12 + $13 }' <<<"$s"
}

# e2e_proc_schedstat PID: "RUN_NS WAIT_NS" summed over the process's live
# threads (/proc/PID/task/*/schedstat): time on a CPU and time runnable but
# waiting for one.  On a shared machine the second tells a thread that wants
# a whole core from one that sleeps.
e2e_proc_schedstat() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ r += $1; w += $2 } END { printf "%d %d\n", r, w }'
}

# ---------------------------------------------------------------------------
# Traffic checks between guests (and a network namespace).
# ---------------------------------------------------------------------------

# e2e_ping_ok FROM TO WHAT: wait (at most 30 tries) until one ping from guest
# FROM to address TO gets through, then require 5 of 5; prints the RTT figure.
e2e_ping_ok() {
    local from="$1" to="$2" what="$3" out i
    for ((i = 0; i < 30; i++)); do
        e2e_guest "$from" -t 10 ping -c 1 -W 1 "$to" >/dev/null && break
    done
    ((i < 30)) || e2e_fail "$what: $from cannot reach $to within 30 tries"
    ((i > 0)) && e2e_log "$what: first ping answered after $i retries"
    out="$(e2e_guest "$from" -t 20 ping -c 5 -i 0.2 -W 2 "$to")"
    echo "$out" | tail -n 2 >&2
    echo "$out" | grep -q ' 0% packet loss' || e2e_fail "$what: ping $from -> $to lost packets: $out"
    e2e_figure "ping RTT: $(echo "$out" | sed -n 's/.*min\/avg\/max = \([^ ]*\).*/\1/p') ms ($what, $from -> $to)"
}

# e2e_ping_blocked FROM TO WHAT: no reply to 3 pings (1 s apart, 2 s wait).
e2e_ping_blocked() {
    local from="$1" to="$2" what="$3" out
    out="$(e2e_guest "$from" -t 20 ping -c 3 -i 1 -W 2 "$to")"
    echo "$out" | tail -n 2 >&2
    echo "$out" | grep -q ' 0 packets received' ||
        e2e_fail "$what: ping $from -> $to should get no reply: $out"
    e2e_log "$what: $from -> $to blocked, as it should be"
}

# e2e_iperf_ok FROM TO TO_IP WHAT [IPERF ARGS]: iperf3 TCP for RS_E2E_IPERF_SECS
# (default 3) seconds from guest FROM to guest TO, > 0 bit/s; prints the figure.
e2e_iperf_ok() {
    local from="$1" to="$2" to_ip="$3" what="$4" secs="${RS_E2E_IPERF_SECS:-3}" out rate
    shift 4
    e2e_guest "$to" "iperf3 -s -D -1 >/dev/null 2>&1" || e2e_fail "$what: iperf3 -s in $to"
    sleep 0.5
    out="$(e2e_guest "$from" -t $((secs + 35)) iperf3 -c "$to_ip" -t "$secs" -f m "$@")" ||
        e2e_fail "$what: iperf3 -c failed: $out"
    rate="$(echo "$out" | awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") r = $i } END { print r }')"
    [[ -n "$rate" ]] && awk -v r="$rate" 'BEGIN { exit !(r > 0) }' ||
        e2e_fail "$what: iperf3 moved nothing: $out"
    e2e_figure "iperf3: $rate Mbit/s ($what, $from -> $to, TCP ${secs} s, TCG guests)"
}

# e2e_pstat_diff BEFORE AFTER: every counter of two `ringctl --json
# port-stats` snapshots as "PORT KEY DELTA" lines (one Python run instead of
# one per counter).  KEYs as for e2e_pstat, queues also summed as rx.*.FIELD
# and tx.*.FIELD.  Load them with:
#   declare -A D; while read -r p k v; do D[$p:$k]=$v; done < <(e2e_pstat_diff "$a" "$b")
e2e_pstat_diff() {
    python3 -c '
import json, sys
def flat(s):
    out = {}
    for p in json.loads(s):
        n = p["name"]
        for k, v in p.items():
            if isinstance(v, int) and k != "id":
                out[(n, k)] = v
        for k, v in p["drops"].items():
            out[(n, "drops." + k)] = v
        for d in ("rx", "tx"):
            for f in ("packets", "bytes", "drop_full", "drop_too_big", "drop_malformed"):
                out[(n, "%s.*.%s" % (d, f))] = 0
        for q in p["queues"]:
            for f, v in q.items():
                if isinstance(v, int) and f != "queue":
                    out[(n, "%s.%d.%s" % (q["dir"], q["queue"], f))] = v
                    out[(n, "%s.*.%s" % (q["dir"], f))] = out.get((n, "%s.*.%s" % (q["dir"], f)), 0) + v
    return out
a, b = flat(sys.argv[1]), flat(sys.argv[2])
for k in sorted(b):
    print(k[0], k[1], b[k] - a.get(k, 0))' "$1" "$2"
}

# ---------------------------------------------------------------------------
# Live migration (test_switch_migrate.sh, bench/migrate.sh).  A guest's
# instances are QEMU processes started with e2e_start_guest INST ...
# guest=GNAME qmp=$E2E_TMP/INST.qmp (destinations also incoming=defer), all
# with the same options but sock=, qmp= and incoming=: the instance that runs
# the guest owns its console ($E2E_TMP/INST.console), so e2e_guest INST.
# ---------------------------------------------------------------------------

# e2e_qmp INST [-t SECS] ARGS...: tests/e2e/qmp.py on INST's QMP socket
# ($E2E_TMP/INST.qmp); prints its output, returns its status.
e2e_qmp() {
    local inst="$1" t=30
    shift
    if [[ "${1:-}" == "-t" ]]; then t="$2"; shift 2; fi
    python3 "$E2E_DIR/qmp.py" -t "$t" "$E2E_TMP/$inst.qmp" "$@"
}

# e2e_mig_free_port: a TCP port on 127.0.0.1 that nothing listens on.
e2e_mig_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# QEMU 7.2 under TCG loses guest writes in a live migration when the guest's
# RAM block is a whole number of 256 KiB (64 dirty-bitmap bits of 4 KiB
# pages): its fast dirty-bitmap sync (cpu_physical_memory_sync_dirty_bitmap)
# clears the bits without making TCG's TLB entries trap the next write again
# (the slow path, cpu_physical_memory_test_and_clear_dirty, does; later QEMU
# adds cpu_physical_memory_dirty_bits_cleared() to the fast path), so a page
# the guest's vCPU writes again after a pass is never sent again.  Measured
# on this machine with 512 MiB: with no NIC at all, a guest writing memory
# (dd to tmpfs) had 9-52 pages of 4 KiB differ between the paused source and
# destination in 5 of 9 migrations (0 with the source stopped first), and
# guests crashed after migrating (list corruption, garbage RIP) under
# OVS-DPDK as under ringswitchd.  512 MiB - 8 KiB takes the slow path: 0
# pages in 4 of 4.  Migrating guests use this size:
E2E_MIG_MEM=524280K
E2E_MIG_MEM_KIB=524280

# e2e_mig_migrate SRC DST [TIMEOUT]: migrate the guest running in instance
# SRC into DST (started with incoming=defer; paused=1 leaves it paused after
# the migration) over tcp:127.0.0.1, and wait (at most TIMEOUT s, default 120)
# until SRC reports completed and DST is running (paused with -S).
# Parameters: downtime-limit $MIG_DOWNTIME_LIMIT ms (default 300, QEMU's
# own default), max-bandwidth $MIG_MAX_BW bytes/s (default 4 GiB/s; QEMU
# 7.2's default is 32 MiB/s).  Sets MIG_DOWNTIME (ms, QEMU's measure from
# the source's stop to the end of its side), MIG_TOTAL (ms), MIG_SETUP (ms),
# MIG_MB (MiB sent), MIG_PASSES (dirty-sync passes), MIG_JSON (the last
# query-migrate answer).  Fails the test when the migration fails.
e2e_mig_migrate() {
    local src="$1" dst="$2" secs="${3:-120}" port out want=running
    port="$(e2e_mig_free_port)" || e2e_fail "no free TCP port"
    e2e_log "migrate $src -> $dst (tcp:127.0.0.1:$port)"
    out="$(e2e_qmp "$dst" -t 30 "migrate-incoming {\"uri\": \"tcp:127.0.0.1:$port\"}" 2>&1)" ||
        e2e_fail "migrate-incoming on $dst: $out ($(tail -n 3 "$E2E_TMP/$dst.qemu.err" 2>/dev/null))"
    out="$(e2e_qmp "$src" -t 30 \
        "migrate-set-parameters {\"downtime-limit\": ${MIG_DOWNTIME_LIMIT:-300}, \"max-bandwidth\": ${MIG_MAX_BW:-4294967296}}" \
        "migrate {\"uri\": \"tcp:127.0.0.1:$port\"}" 2>&1)" ||
        e2e_fail "migrate on $src: $out ($(tail -n 3 "$E2E_TMP/$src.qemu.err" 2>/dev/null))"
    MIG_JSON="$(e2e_qmp "$src" -t "$secs" --wait-migrate 2>&1)" ||
        e2e_fail "migration $src -> $dst did not complete: $MIG_JSON; $src: $(tail -n 3 "$E2E_TMP/$src.qemu.err" 2>/dev/null); $dst: $(tail -n 3 "$E2E_TMP/$dst.qemu.err" 2>/dev/null)"
    read -r MIG_DOWNTIME MIG_TOTAL MIG_SETUP MIG_MB MIG_PASSES < <(python3 -c '
import json, sys
j = json.loads(sys.argv[1].splitlines()[0])
r = j.get("ram", {})
print(j.get("downtime", -1), j.get("total-time", -1), j.get("setup-time", -1),
      "%.1f" % (r.get("transferred", 0) / 1048576.0), r.get("dirty-sync-count", -1))' "$MIG_JSON")
    grep -q -- ' -S' <<<"$(tr '\0' ' ' <"/proc/${G_PID[$dst]}/cmdline" 2>/dev/null) " && want=paused
    out="$(e2e_qmp "$dst" -t 30 --wait-status "$want" 2>&1)" ||
        e2e_fail "migration $src -> $dst: the destination is not $want: $out ($(tail -n 3 "$E2E_TMP/$dst.qemu.err" 2>/dev/null)); guest kernel: $(e2e_guest_crash "$dst")"
    e2e_log "migrated $src -> $dst: downtime $MIG_DOWNTIME ms, total $MIG_TOTAL ms, setup $MIG_SETUP ms, $MIG_MB MiB, $MIG_PASSES passes"
}

# e2e_guest_crash INST: the first lines of a kernel crash on INST's console
# ("none" when there is none).
e2e_guest_crash() {
    local l
    l="$(tr -d '\r' <"$E2E_TMP/$1.log" 2>/dev/null | grep -a -E 'BUG:|Oops|RIP:|Kernel panic|soft lockup|list_(add|del) corruption' | head -n 3 | tr '\n' ';')"
    echo "${l:-none}"
}

# e2e_mig_quit INST: end an instance (QMP quit; killed after 5 s) and forget it.
e2e_mig_quit() {
    local pid="${G_PID[$1]:-}" i
    [[ -n "$pid" ]] || return 0
    e2e_qmp "$1" -t 5 quit >/dev/null 2>&1
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    e2e_kill "$pid"
    e2e_untrack "$pid"
    unset 'G_PID[$1]'
}

# e2e_mig_ping_start INST IP [INTERVAL]: in guest INST, ping IP every
# INTERVAL s (default 0.01) in the background, into /tmp/mig-ping.out.
e2e_mig_ping_start() {
    e2e_guest "$1" "rm -f /tmp/mig-ping.out; ping -i ${3:-0.01} $2 </dev/null >/tmp/mig-ping.out 2>&1 & echo \$! >/tmp/mig-ping.pid" ||
        e2e_fail "cannot start ping in $1"
}

# e2e_mig_ping_stop INST [INTERVAL]: stop that ping (SIGINT: it prints its
# statistics) and set, over the pings sent at least 100 ms before it stopped
# (later ones may still be on their way): MIG_PING_TX, MIG_PING_RX,
# MIG_PING_LOST, MIG_PING_GAP (the longest run of unanswered pings),
# MIG_PING_GAP_MS (that run times the interval) and MIG_PING_TAIL (how many
# of them at the end were never answered: the guest is not reachable).
e2e_mig_ping_stop() {
    local out ms="${2:-0.01}"
    out="$(e2e_guest "$1" -t 20 'kill -INT $(cat /tmp/mig-ping.pid); sleep 0.5
awk -v skip='"$(awk -v i="$ms" 'BEGIN { s = int(0.1 / i); print s < 1 ? 1 : s }')"' '"'"'/seq=/ { split($0, a, "seq="); split(a[2], b, " "); ok[b[1] + 0] = 1 }
/packets transmitted/ { tx = $1 }
END { n = tx - skip; run = 0; for (i = 0; i < n; i++) { if (i in ok) { rx++; run = 0 } else if (++run > gap) gap = run }
  printf "ping %d %d %d %d\n", n < 0 ? 0 : n, rx, gap, run }'"'"' /tmp/mig-ping.out')" ||
        e2e_fail "cannot stop ping in $1: $out"
    read -r _ MIG_PING_TX MIG_PING_RX MIG_PING_GAP MIG_PING_TAIL < <(grep '^ping ' <<<"$out" | tail -n 1)
    [[ -n "${MIG_PING_TAIL:-}" ]] || e2e_fail "no ping statistics from $1: $out"
    MIG_PING_LOST=$((MIG_PING_TX - MIG_PING_RX))
    MIG_PING_GAP_MS="$(awk -v g="$MIG_PING_GAP" -v i="$ms" 'BEGIN { printf "%d\n", g * i * 1000 }')"
}

# e2e_mig_iperf_start SERVER CLIENT SERVER_IP SECS [IPERF ARGS]: iperf3 -s in
# guest SERVER (one test), iperf3 -c in guest CLIENT in the background for
# SECS s, into /tmp/mig-iperfPORT.out; PORT is $MIG_IPERF_PORT (default
# 5201): another port runs a second test beside the first.
e2e_mig_iperf_start() {
    local srv="$1" cli="$2" ip="$3" secs="$4" port="${MIG_IPERF_PORT:-5201}"
    shift 4
    e2e_guest "$srv" "iperf3 -s -D -1 -p $port >/dev/null 2>&1" || e2e_fail "iperf3 -s in $srv"
    sleep 0.5
    e2e_guest "$cli" "rm -f /tmp/mig-iperf$port.out; iperf3 -c $ip -p $port -t $secs -f m $* </dev/null >/tmp/mig-iperf$port.out 2>&1 & echo \$! >/tmp/mig-iperf$port.pid" ||
        e2e_fail "cannot start iperf3 -c in $cli"
}

# e2e_mig_iperf_wait CLIENT WHAT [SECS]: wait (at most SECS, default 60)
# for that iperf3 client (port $MIG_IPERF_PORT) to end; fail unless it
# ended without error and moved data.  Sets MIG_IPERF_MBPS (receiver's Mbit/s).
e2e_mig_iperf_wait() {
    local cli="$1" what="$2" secs="${3:-60}" out end=$((SECONDS + ${3:-60})) port="${MIG_IPERF_PORT:-5201}"
    while :; do
        out="$(e2e_guest "$cli" -t 10 "kill -0 \$(cat /tmp/mig-iperf$port.pid) 2>/dev/null && echo running || echo done")"
        [[ "$out" == *done* ]] && break
        ((SECONDS < end)) || e2e_fail "$what: iperf3 -c in $cli still running after $secs s"
        sleep 1
    done
    out="$(e2e_guest "$cli" -t 20 "cat /tmp/mig-iperf$port.out")"
    if grep -q -i 'error' <<<"$out" || ! grep -q 'iperf Done' <<<"$out"; then
        e2e_fail "$what: iperf3 ended with an error: $(tail -n 8 <<<"$out" | tr '\n' ';')"
    fi
    MIG_IPERF_MBPS="$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") r = $i } END { print r }' <<<"$out")"
    [[ -n "$MIG_IPERF_MBPS" ]] && awk -v r="$MIG_IPERF_MBPS" 'BEGIN { exit !(r > 0) }' ||
        e2e_fail "$what: iperf3 moved nothing: $(tail -n 8 <<<"$out" | tr '\n' ';')"
}

# e2e_guest_netstats INST: "RX_PACKETS TX_PACKETS" of eth0 in the guest.
e2e_guest_netstats() {
    e2e_guest "$1" -t 10 'echo netstats $(cat /sys/class/net/eth0/statistics/rx_packets) $(cat /sys/class/net/eth0/statistics/tx_packets)' |
        awk '/^netstats / { print $2, $3 }'
}

# e2e_mig_vq_state INST NQUEUES: QEMU's view of the first NQUEUES virtqueues
# of the guest's virtio-net device (x-query-virtio-queue-status): one line
# "qN last_avail=A used=U" each, where last_avail is what the back-end's
# GET_VRING_BASE returned when the device stopped and used is used->idx as
# read from guest memory.  On a stopped source (postmigrate) the two agree
# when every buffer the back-end took was completed before the stop; on a
# destination that has not run, they show what it will start from.
# Returns 1 when they differ on some queue.
e2e_mig_vq_state() {
    local inst="$1" n="$2" q out rc=0 path
    path="$(e2e_qmp "$inst" -t 10 x-query-virtio | python3 -c '
import json, sys
print(next(d["path"] for d in json.loads(sys.stdin.readline()) if d["name"] == "virtio-net"))')" ||
        { echo "no virtio-net device in $inst"; return 1; }
    for ((q = 0; q < n; q++)); do
        out="$(e2e_qmp "$inst" -t 10 "x-query-virtio-queue-status {\"path\": \"$path\", \"queue\": $q}" | python3 -c '
import json, sys
j = json.loads(sys.stdin.readline())
print("q%d last_avail=%d used=%d" % (j["queue-index"], j["last-avail-idx"], j["used-idx"]))')" ||
            { echo "x-query-virtio-queue-status $q failed on $inst"; return 1; }
        echo "$out"
        [[ "$out" =~ last_avail=([0-9]+)\ used=([0-9]+) ]] && [[ "${BASH_REMATCH[1]}" == "${BASH_REMATCH[2]}" ]] || rc=1
    done
    return $rc
}

# e2e_mig_ram_diff SRC DST RAM_KIB [NQUEUES]: with both instances paused
# (the source after the migration, the destination started with -S), save
# the guest's RAM from guest-physical 1 MiB up in each (QMP pmemsave) and
# compare them page by page.  A page that differs is either one the vhost
# back-end wrote without setting its dirty bit (or wrote after
# GET_VRING_BASE), or one the guest's own vCPU wrote that QEMU 7.2 under TCG
# did not send again: a TCG guest busy writing memory loses a few dozen pages
# per migration with no vhost device at all (checked with no NIC and plain
# RAM), at the same kernel addresses from run to run.  So each page that
# differs is classed by what the back-end can write: the used rings of the
# first NQUEUES virtqueues (addresses from the destination's
# x-query-virtio-queue-status) and every device-writable buffer
# (VIRTQ_DESC_F_WRITE, indirect tables followed) their descriptor tables
# name in the source's dump: the descriptors of each ring's last lap are
# still there, so are the buffers the back-end wrote last.  (A page the
# guest freed after receiving into it and reused may still be named there:
# compare with another back-end, bench/migrate.sh --pages, before blaming.)  Sets MIG_DIFF_PAGES
# (pages that differ), MIG_DIFF_DEV (of them, pages the back-end can write),
# MIG_DIFF_TOTAL (pages compared), MIG_DIFF_DETAIL (the first pages of each
# class with the bytes that differ, gpa+first..last; "-" when none).  The
# dumps ($E2E_TMP/INST.ram) are removed, unless RS_E2E_KEEP=1 and they differ.
e2e_mig_ram_diff() {
    local src="$1" dst="$2" size=$((($3 - 1024) * 1024)) nq="${4:-2}" inst out rings="" q path
    for inst in "$src" "$dst"; do
        out="$(e2e_qmp "$inst" -t 180 "pmemsave {\"val\": 1048576, \"size\": $size, \"filename\": \"$E2E_TMP/$inst.ram\"}" 2>&1)" ||
            e2e_fail "pmemsave on $inst: $out"
    done
    [[ "$(stat -c %s "$E2E_TMP/$src.ram")" == "$size" && "$(stat -c %s "$E2E_TMP/$dst.ram")" == "$size" ]] ||
        e2e_fail "RAM dumps of the wrong size: $(ls -l "$E2E_TMP"/*.ram)"
    MIG_DIFF_TOTAL=$((size / 4096)) MIG_DIFF_PAGES=0 MIG_DIFF_DEV=0 MIG_DIFF_DETAIL=-
    if ! cmp -s "$E2E_TMP/$src.ram" "$E2E_TMP/$dst.ram"; then
        path="$(e2e_qmp "$dst" -t 10 x-query-virtio | python3 -c '
import json, sys
print(next(d["path"] for d in json.loads(sys.stdin.readline()) if d["name"] == "virtio-net"))')"
        for ((q = 0; q < nq; q++)); do
            rings+="$(e2e_qmp "$dst" -t 10 "x-query-virtio-queue-status {\"path\": \"$path\", \"queue\": $q}" | python3 -c '
import json, sys
j = json.loads(sys.stdin.readline())
print("%d:%d:%d:%d" % (j["vring-desc"], j["vring-avail"], j["vring-used"], j["vring-num"]))') "
        done
        read -r MIG_DIFF_PAGES MIG_DIFF_DEV MIG_DIFF_DETAIL < <(python3 - "$E2E_TMP/$src.ram" "$E2E_TMP/$dst.ram" "$rings" <<'PYEOF'
import struct, sys
base, page, chunk = 1 << 20, 4096, 1 << 20
srcf, dstf, rings = sys.argv[1], sys.argv[2], sys.argv[3].split()
diff = {}
with open(srcf, "rb") as a, open(dstf, "rb") as b:
    off = 0
    while True:
        x, y = a.read(chunk), b.read(chunk)
        if not x and not y:
            break
        if x != y:
            for i in range(0, max(len(x), len(y)), page):
                p, q = x[i:i + page], y[i:i + page]
                if p != q:
                    d = [k for k in range(min(len(p), len(q))) if p[k] != q[k]]
                    diff[base + off + i] = (d[0], d[-1]) if d else (0, page - 1)
        off += chunk
# Pages the device can write: its rings and the buffers its descriptors name.
dev = set()
mem = open(srcf, "rb")
def read(gpa, n):
    if gpa < base:
        return b""
    mem.seek(gpa - base)
    return mem.read(n)
def cover(gpa, n):
    for pg in range(gpa // page, (gpa + max(n, 1) - 1) // page + 1):
        dev.add(pg * page)
for r in rings:
    desc, avail, used, num = (int(v) for v in r.split(":"))
    if not desc or not num:
        continue
    cover(used, 6 + 8 * num)
    table = read(desc, 16 * num)
    for k in range(len(table) // 16):
        addr, ln, flags, nxt = struct.unpack_from("<QIHH", table, 16 * k)
        if not addr or not ln:
            continue
        if flags & 4:  # VIRTQ_DESC_F_INDIRECT: a table of its own
            ind = read(addr, ln)
            for m in range(len(ind) // 16):
                a2, l2, f2, n2 = struct.unpack_from("<QIHH", ind, 16 * m)
                if a2 and l2 and f2 & 2:
                    cover(a2, l2)
        elif flags & 2:  # VIRTQ_DESC_F_WRITE: the device writes it
            cover(addr, ln)
ind_dev = sorted(g for g in diff if g in dev)
ind_other = sorted(g for g in diff if g not in dev)
def fmt(gs):
    return ",".join("0x%x+%d..%d" % (g, diff[g][0], diff[g][1]) for g in gs[:5]) or "none"
print(len(diff), len(ind_dev), ("device:%s;_other:%s" % (fmt(ind_dev), fmt(ind_other))).replace(" ", "_"))
PYEOF
)
        MIG_DIFF_DETAIL="${MIG_DIFF_DETAIL//_/ }"
    fi
    [[ "$MIG_DIFF_PAGES" != 0 && "${RS_E2E_KEEP:-0}" == 1 ]] || rm -f "$E2E_TMP/$src.ram" "$E2E_TMP/$dst.ram"
}
