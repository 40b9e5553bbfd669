#!/usr/bin/env bash
# e2e-needs: guest   (run.sh builds the guest assets first)
# End-to-end: ringswitchd killed with SIGKILL while QEMU guests keep running,
# then a guest's QEMU killed with SIGKILL; traffic resumes both times without
# any action on the guests' side.
#
# QEMU is the vhost-user server (`-chardev socket,...,server=on,wait=off`);
# ringswitchd connects to it through ports added with
#   ringctl add-port c1 vhost-user-client path=SOCK
# (saved to its config file).  A ping runs in the background in g1 (every
# 0.2 s, output to a file in the guest) from before the first kill to the
# end; "replies" below are the replies it printed.  Asserted:
#   - the config file holds both client ports; g1 <-> g2 ping (5 of 5);
#   - kill -9 ringswitchd: the guests keep running and the replies stop;
#   - ringswitchd started again with the same --config and --run-dir (stale
#     sockets and pid file left by the SIGKILL): it lists c1 and c2, they
#     reconnect by themselves, and the replies resume within 60 s; the guests'
#     QEMU processes are the same and the guests did not reboot; ping both
#     ways 5 of 5;
#   - kill -9 g2's QEMU mid-ping, start it again on the same socket: the
#     switch reconnects, the replies resume, g2 pings g1 (issue 5);
#   - no queue marked broken.
#
# Needs: root, qemu-system-x86_64 (Debian package qemu-system-x86), python3,
# guest assets, BUILD/ringswitchd and ringctl.
# Prints: figure: restart: ... s (time from a restart to the first reply)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
RS_E2E_SWITCH=ringswitchd
e2e_init switch_restart
e2e_need_guest
[[ "$(id -u)" == 0 ]] || e2e_skip "needs root (the tests run QEMU guests and ringswitchd as root)"

IP1=169.254.80.1 IP2=169.254.80.2
MAC1=52:54:00:80:00:01 MAC2=52:54:00:80:00:02
BOOT_SECS=150
RUN="$E2E_TMP/run"
CONF="$E2E_TMP/ringswitchd.conf"
S1="$E2E_TMP/qemu-g1.sock" S2="$E2E_TMP/qemu-g2.sock"

# replies: how many replies the background ping in g1 printed so far.
replies() {
    local n
    n="$(e2e_guest g1 -t 10 "grep -c 'bytes from' /tmp/bg.ping")" || n=""
    echo "${n//[!0-9]/}"
}

# wait_replies WHAT SECS: wait until the background ping gets new replies;
# sets RESUMED to the seconds waited.
wait_replies() {
    local what="$1" secs="$2" start=$SECONDS c0 c
    c0="$(replies)"
    while :; do
        sleep 1
        c="$(replies)"
        [[ -n "$c" && -n "$c0" ]] && ((c > c0 + 2)) && break
        ((SECONDS - start < secs)) || e2e_fail "$what: no ping reply within $secs s (replies: $c0 -> $c)"
    done
    RESUMED=$((SECONDS - start))
}

# client_ready PORT: the switch lists a ready rx and tx queue for PORT.
client_ready() {
    [[ "$(e2e_json "$(e2e_ringctl --json show 2>/dev/null)" \
        "any(p['name'] == '$1' and p['rxq_ready'] and p['txq_ready'] for p in j['ports'])")" == 1 ]]
}

alive() {
    kill -0 "$RSD_PID" 2>/dev/null || e2e_fail "$1: ringswitchd died ($(tail -n 3 "$RSD_LOG"))"
    local b
    b="$(e2e_rsd_broken)"
    [[ -z "$b" ]] || e2e_fail "$1: queues marked broken: $b"
}

e2e_start_rsd "$RUN" "$CONF"
e2e_start_guest g1 ip=$IP1/24 mac=$MAC1 sock="$S1" server=1
e2e_start_guest g2 ip=$IP2/24 mac=$MAC2 sock="$S2" server=1
e2e_wait_socket "$S1" 20 && e2e_wait_socket "$S2" 20 || e2e_fail "QEMU did not create its vhost-user sockets"
e2e_ringctl_ok add-port c1 vhost-user-client "path=$S1" >/dev/null
e2e_ringctl_ok add-port c2 vhost-user-client "path=$S2" >/dev/null
grep -q "^add-port c1 vhost-user-client path=$S1" "$CONF" && grep -q "^add-port c2 vhost-user-client path=$S2" "$CONF" ||
    e2e_fail "the config file does not hold the client ports: $(cat "$CONF")"
e2e_wait_guest g1 $BOOT_SECS
e2e_wait_guest g2 $BOOT_SECS
QPID1=${G_PID[g1]} QPID2=${G_PID[g2]}
e2e_ringctl show >&2
e2e_ping_ok g1 $IP2 "client ports"
e2e_ping_ok g2 $IP1 "client ports, reverse"
alive "before the kill"

# Background ping in g1 until the end.
e2e_guest g1 "ping -i 0.2 $IP2 >/tmp/bg.ping 2>&1 &" || e2e_fail "cannot start the background ping in g1"
wait_replies "background ping" 20

# --- kill -9 the daemon
e2e_log "kill -9 ringswitchd (pid $RSD_PID)"
e2e_stop_rsd KILL
sleep 1
c0="$(replies)"
sleep 3
c1="$(replies)"
e2e_log "switch down: replies $c0 -> $c1"
[[ -n "$c0" && -n "$c1" ]] || e2e_fail "cannot read the background ping's replies in g1"
((c1 <= c0 + 1)) || e2e_fail "replies went on ($c0 -> $c1) with ringswitchd killed: traffic does not go through it"
kill -0 "$QPID1" 2>/dev/null && kill -0 "$QPID2" 2>/dev/null || e2e_fail "a guest died with ringswitchd"

# --- start it again: same config, same run dir
t0=$SECONDS
e2e_start_rsd "$RUN" "$CONF"
e2e_ringctl show >&2
for p in c1 c2; do
    e2e_wait_for 30 client_ready $p || e2e_fail "after restart: port $p did not reconnect within 30 s"
done
e2e_log "after restart: c1, c2 ready after $((SECONDS - t0)) s"
wait_replies "after restart" 60
e2e_figure "restart: ping g1 -> g2 resumed $((SECONDS - t0)) s after ringswitchd was started again (kill -9, no guest action)"
((${G_PID[g1]} == QPID1 && ${G_PID[g2]} == QPID2)) && kill -0 "$QPID1" && kill -0 "$QPID2" ||
    e2e_fail "the guests' QEMU processes changed"
(($(e2e_boots g1) == 1 && $(e2e_boots g2) == 1)) || e2e_fail "a guest rebooted"
e2e_ping_ok g1 $IP2 "after ringswitchd restart"
e2e_ping_ok g2 $IP1 "after ringswitchd restart, reverse"
alive "after the restart"

# --- kill -9 g2's QEMU mid-ping, start it again
e2e_log "kill -9 QEMU of g2 (pid $QPID2)"
e2e_stop_guest g2 KILL
e2e_untrack "$QPID2"
sleep 1
alive "g2 killed"
# Fresh logs: boots are counted in g2.log, and g2.qemu.err holds QEMU's
# expected "vhost VQ n ring restore failed" from the daemon's SIGKILL, which
# e2e_wait_guest would take for a vhost-user failure of the new QEMU.
mv "$E2E_TMP/g2.log" "$E2E_TMP/g2-killed.log"
mv "$E2E_TMP/g2.qemu.err" "$E2E_TMP/g2-killed.qemu.err"
t0=$SECONDS
e2e_start_guest g2 ip=$IP2/24 mac=$MAC2 sock="$S2" server=1
e2e_wait_guest g2 $BOOT_SECS
e2e_wait_for 30 client_ready c2 || e2e_fail "after QEMU restart: port c2 did not reconnect within 30 s"
wait_replies "after QEMU restart" 60
e2e_figure "restart: ping g1 -> g2 resumed $((SECONDS - t0)) s after g2's QEMU was started again (kill -9, boot included)"
e2e_ping_ok g2 $IP1 "after QEMU restart"
e2e_guest g1 'kill $(pidof ping)' >/dev/null
e2e_guest g1 'tail -n 3 /tmp/bg.ping' >&2
e2e_ringctl port-stats >&2
alive "after QEMU restart"

e2e_stop_guest g1
e2e_stop_guest g2
e2e_stop_rsd
echo "PASS: switch_restart"
