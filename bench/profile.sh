#!/usr/bin/env bash
# bench/profile.sh - instructions per packet of ringswitchd's forwarding path,
# measured with valgrind's callgrind (perf is not available here): the daemon
# runs under callgrind with collection limited to the forwarding thread's
# rx burst and pipeline (pv_rx_burst, dp_pipeline_run and what they call; an
# empty poll is counted too), bench/rs_gen sends SECS of
# traffic, and the per-function instruction counts are divided by the frames
# forwarded. Deterministic, unlike timings on a shared machine.
# Usage: bench/profile.sh [p2p|normal] [SIZE] [SECS]   (RS_BUILD as bench/run.sh)
# PROF_FLOWS=N: rs_gen's flows (consecutive frames belong to different flows);
# PROF_OUT: where the callgrind data is kept. PROF_TOGGLE: the --toggle-collect
# options (--toggle-collect=dp_thread_main: the whole forwarding loop, the way
# to compare builds that inline differently). valgrind runs with --fair-sched:
# without it the busy forwarding thread starves the control thread.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
RS_BUILD="${RS_BUILD:-$REPO/build-bench}"
rules="${1:-p2p}" size="${2:-64}" secs="${3:-4}"
ninja -C "$RS_BUILD" ringswitchd ringctl bench/rs_gen >/dev/null
W="$(mktemp -d)"
trap 'kill $RSD 2>/dev/null; wait $RSD 2>/dev/null; rm -rf "$W"' EXIT
printf 'set pmd-cores=1 poll-mode=busy log-level=warn\nadd-port vm1 vhost-user-server\nadd-port vm2 vhost-user-server\n' >"$W/rs.conf"
valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$W/cg.out" ${PROF_TOGGLE:---toggle-collect=pv_rx_burst --toggle-collect=dp_pipeline_run} \
	"$RS_BUILD/ringswitchd" --foreground --run-dir "$W" --config "$W/rs.conf" >"$W/rsd.log" 2>&1 &
RSD=$!
for i in $(seq 300); do [ -S "$W/ctl.sock" ] && "$RS_BUILD/ringctl" --run-dir "$W" show >/dev/null 2>&1 && break; sleep 0.1; done
[ "$i" -lt 300 ] || { echo "profile: ringswitchd did not start: $(cat "$W/rsd.log")"; exit 1; }
if [[ "$rules" == p2p ]]; then
	"$RS_BUILD/ringctl" --run-dir "$W" add-flow 'priority=100,in_port=vm1,actions=output:vm2' >/dev/null
	"$RS_BUILD/ringctl" --run-dir "$W" add-flow 'priority=100,in_port=vm2,actions=output:vm1' >/dev/null
fi
taskset -c 0 "$RS_BUILD/bench/rs_gen" --size "$size" --flows "${PROF_FLOWS:-1}" --warmup 0.5 --secs "$secs" "$W/vm1.sock" "$W/vm2.sock"
pkts=$("$RS_BUILD/ringctl" --run-dir "$W" --json port-stats | python3 -c '
import json, sys
def walk(o):
    if isinstance(o, dict):
        if "rx_packets" in o and "name" in o:
            yield o["rx_packets"]
        else:
            for v in o.values():
                yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)
print(sum(walk(json.load(sys.stdin))))')
kill -TERM $RSD; wait $RSD 2>/dev/null || true
echo "frames switched: $pkts"
cp "$W/cg.out" "${PROF_OUT:-/tmp/rs-profile.cg}"
echo "callgrind data: ${PROF_OUT:-/tmp/rs-profile.cg}; instructions per frame, by function (self):"
callgrind_annotate "$W/cg.out" 2>/dev/null | awk -v n="$pkts" '
	/^ *[0-9,]+ +\(/ && n > 0 { x = $1; gsub(",", "", x); if (x / n >= 1) printf "%8.1f  %s\n", x / n, $0 }' | head -40
