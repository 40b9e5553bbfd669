#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end: what idle ports cost.  Two QEMU guests attached to vm1 and vm2
# (one queue pair each), booted, one ping each way, then left alone.
# ringswitchd's CPU time (utime + stime of all its threads, /proc/PID/stat)
# is measured over RS_E2E_IDLE_SECS (default 10) seconds:
#   - poll-mode=adaptive (the default): under 2% of a core (a loose check; the
#     precise measurement belongs in a benchmark);
#   - `ringctl set poll-mode=busy`: over 50% (the forwarding thread spins:
#     about 100% of its core); on a loaded machine, where CPU 1 is shared,
#     CPU time + time runnable but waiting for the CPU (schedstat) over 90%;
#   - `ringctl set poll-mode=adaptive` again: under 2%.
# Then a ping both ways (the switch still forwards).
#
# Needs: root, qemu-system-x86_64 (Debian package qemu-system-x86), python3,
# guest assets, BUILD/ringswitchd and ringctl.
# Prints: figure: idle CPU: X% of a core (MODE, ...)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
RS_E2E_SWITCH=ringswitchd
e2e_init switch_idle
e2e_need_guest
[[ "$(id -u)" == 0 ]] || e2e_skip "needs root (the tests run QEMU guests and ringswitchd as root)"

IP1=169.254.81.1 IP2=169.254.81.2
MAC1=52:54:00:81:00:01 MAC2=52:54:00:81:00:02
SECS="${RS_E2E_IDLE_SECS:-10}"
SETTLE="${RS_E2E_IDLE_SETTLE:-5}"
RUN="$E2E_TMP/run"
HZ="$(getconf CLK_TCK)"

# cpu_pct WHAT: ringswitchd's CPU use over SECS seconds, in % of one core;
# prints "CPU% WAIT%", WAIT% being the time its threads were runnable but
# waited for a CPU (the machine is shared: a spinning thread that gets only
# part of its core waits for the rest).  Also prints the figure.
cpu_pct() {
    local a b sa sb t0 t1 pct wait
    a="$(e2e_proc_cpu_ticks "$RSD_PID")" || e2e_fail "$1: cannot read /proc/$RSD_PID/stat"
    sa="$(e2e_proc_schedstat "$RSD_PID")" t0=$(date +%s%N)
    sleep "$SECS"
    b="$(e2e_proc_cpu_ticks "$RSD_PID")" || e2e_fail "$1: cannot read /proc/$RSD_PID/stat"
    sb="$(e2e_proc_schedstat "$RSD_PID")" t1=$(date +%s%N)
    pct=$(awk -v a="$a" -v b="$b" -v hz="$HZ" -v s="$SECS" 'BEGIN { printf "%.1f", (b - a) * 100 / hz / s }')
    wait=$(awk -v a="${sa#* }" -v b="${sb#* }" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", (b - a) * 100 / (t1 - t0) }')
    e2e_figure "idle CPU: $pct% of a core ($1, ringswitchd all threads, 2 idle guests, $SECS s; runnable but waiting for a CPU: $wait%)" >&2
    echo "$pct $wait"
}
below() {
    [[ -n "$1" ]] || e2e_fail "no CPU figure (see above)"
    awk -v x="$1" -v lim="$2" 'BEGIN { exit !(x < lim) }'
}

e2e_start_rsd "$RUN"
e2e_start_guest g1 ip=$IP1/24 mac=$MAC1 sock="$RUN/vm1.sock"
e2e_start_guest g2 ip=$IP2/24 mac=$MAC2 sock="$RUN/vm2.sock"
e2e_wait_guest g1 150
e2e_wait_guest g2 150
e2e_ping_ok g1 $IP2 "before idling"
e2e_ping_ok g2 $IP1 "before idling, reverse"
e2e_ringctl show | grep -E 'set |rxq' >&2
sleep "$SETTLE"

pmd_sleeps() { e2e_json "$(e2e_ringctl --json pmd-show)" 'sum(t["sleeps"] for t in j)'; }
s0="$(pmd_sleeps)"
read -r pct wait < <(cpu_pct "poll-mode=adaptive")
e2e_log "adaptive: $pct%, pmd sleeps $s0 -> $(pmd_sleeps)"
below "$pct" 2 || e2e_fail "idle ringswitchd used $pct% of a core in adaptive mode (limit 2%)"

e2e_ringctl_ok set poll-mode=busy >/dev/null
read -r pct wait < <(cpu_pct "poll-mode=busy")
# About 100%, but CPU 1 is shared (guests, other work on the machine): what
# the spinning thread did not get it waited for.
if below "$pct" 50; then
    below "$(awk -v a="$pct" -v b="$wait" 'BEGIN { print a + b }')" 90 &&
        e2e_fail "ringswitchd used only $pct% of a core with poll-mode=busy and waited for a CPU $wait% of the time (expected about 100% together)"
    e2e_log "busy: $pct% on a CPU + $wait% waiting for one: the core is contended; the thread spins"
fi

e2e_ringctl_ok set poll-mode=adaptive >/dev/null
sleep 1
read -r pct wait < <(cpu_pct "poll-mode=adaptive again")
below "$pct" 2 || e2e_fail "idle ringswitchd used $pct% of a core after going back to adaptive (limit 2%)"
e2e_ringctl pmd-show >&2

e2e_ping_ok g1 $IP2 "after idling"
e2e_ping_ok g2 $IP1 "after idling, reverse"
e2e_stop_guest g1
e2e_stop_guest g2
e2e_stop_rsd
echo "PASS: switch_idle"
