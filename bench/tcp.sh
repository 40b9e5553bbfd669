#!/usr/bin/env bash
# bench/tcp.sh - TCP Gbit/s from one network namespace to another (issue 6):
# ringswitch tap ports with and without offloads, OVS-DPDK tap ports with and
# without userspace TSO, and a Linux bridge, in one run. See
# docs/performance.md, "TCP between namespaces (issue 6)".
#
# Systems (the switch pinned to CPU 1; iperf3 client and server on CPU 0):
#   rs-on     ringswitchd, two tap ports with offloads=on: checksum and TSO
#             metadata (virtio-net header) carried through the switch
#   rs-off    ringswitchd, two tap ports with offloads=off: MTU-sized, fully
#             checksummed frames only
#   ovs-tso   OVS-DPDK (ovs-vswitchd-dpdk, private ovsdb as in bench/run.sh),
#             netdev bridge, two ports of type tap (polled from the main
#             thread, not a PMD), userspace-tso-enable=true (set before the
#             daemon starts: it is read only then)
#   ovs       the same with userspace-tso-enable=false
#   bridge    a Linux bridge in a namespace of its own over two veth pairs
#             (default offloads); it forwards in softirq context on the CPU
#             of the sender, CPU 0
# The two devices of a system go into namespaces A and B (10.99.0.1/24 and
# .2/24); iperf3 -s runs in B and iperf3 -c in A, both under taskset -c 0.
# Order: per repetition every system in turn (A B C ... A B C ...), each
# started afresh, then 1 stream and 4 streams (-P 4) of SECS s each.
# Measured per run: Gbit/s received (iperf3's receiver side); the switch's
# own CPU seconds per Gbit transferred (utime+stime of ringswitchd, of
# ovs-vswitchd; for the bridge the softirq time of all CPUs, which includes
# the TCP receive path, so it is not comparable); the whole machine's CPU
# seconds per Gbit (user+nice+system+irq+softirq of all CPUs); for
# ringswitch the offload counters (rx_gso, tx_segmented) and for every system
# whether `ethtool -k` shows TSO on the device in namespace A.
# Targets (paired per repetition, median of the ratios), per stream count:
#   rs-on >= 0.95 x bridge,  rs-on >= 1.0 x ovs-tso,  rs-on >= 5 x rs-off.
# Noise: before each system starts the script waits (at most QUIET_WAIT s,
# default 300) until the CPUs are quiet (< QUIET_MAX % of a core busy over
# 1 s, default 15). No retries: TCP through the kernel cannot be told apart
# from other processes' work, so read the min-max.
#
# Usage: bench/tcp.sh [--smoke] [--reps N] [--secs S] [--streams "1 4"]
#                     [--systems "rs-on rs-off ovs-tso ovs bridge"] [--no-huge] [--out DIR]
#   --smoke   1 repetition, 2 s per run, no waiting for quiet; exit 0 only
#             when every system produced a figure for every stream count
#   defaults: 3 repetitions, 10 s per run
# Environment: RS_BUILD (default build-bench, configured with -Dtests=false
# and built here), RS_POLL_MODE (ringswitchd's poll-mode, default adaptive),
# SW_CPU (1), FE_CPU (0), BENCH_KEEP=1 keeps the work directory. Needs root
# (namespaces, taps, hugepages), iperf3, ethtool, jq, busybox (ping),
# openvswitch-switch-dpdk (bench/install-bench-deps.sh).
# Output: the table on stdout; OUT/tcp-DATE.json (OUT: bench/results).
set -uo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
RS_BUILD="${RS_BUILD:-$REPO/build-bench}"

REPS=3 SECS=10 STREAMS="1 4" SYSTEMS="rs-on rs-off ovs-tso ovs bridge"
SMOKE=0 HUGE_WANT=1 OUT="$BENCH/results"
QUIET_WAIT="${QUIET_WAIT:-300}" QUIET_MAX="${QUIET_MAX:-15}"

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
while (($#)); do
	case "$1" in
	--smoke) SMOKE=1 REPS=1 SECS=2 QUIET_WAIT=0 ;;
	--reps) REPS="$2"; shift ;;
	--secs) SECS="$2"; shift ;;
	--streams) STREAMS="$2"; shift ;;
	--systems) SYSTEMS="$2"; shift ;;
	--no-huge) HUGE_WANT=0 ;;
	--out) OUT="$2"; shift ;;
	-h | --help) usage ;;
	*) echo "tcp.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done

bench_log() { echo "[$(date +%T)] tcp: $*" >&2; }
bench_die() {
	echo "tcp: ERROR: $*" >&2
	exit 1
}

. "$BENCH/lib.sh"

# ---------------------------------------------------------------------------
# Preconditions, build, work directory, hugepages.
# ---------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1 || bench_die "'$1' not found (Debian package $2)"; }
(($(id -u) == 0)) || bench_die "needs root (network namespaces, tap devices, hugepages)"
need ip iproute2
need iperf3 iperf3
need ethtool ethtool
need busybox busybox-static
need jq jq
need python3 python3
need taskset util-linux
need ovsdb-tool openvswitch-common
(($(nproc) >= 2)) || bench_die "needs 2 CPUs (switch on CPU $SW_CPU, iperf3 on CPU $FE_CPU)"
for s in $SYSTEMS; do
	case "$s" in
	rs-on | rs-off | bridge) ;;
	ovs | ovs-tso) [[ -x "$OVS_VSWITCHD" ]] ||
		bench_die "$OVS_VSWITCHD not found (openvswitch-switch-dpdk): run bench/install-bench-deps.sh" ;;
	*) bench_die "unknown system $s" ;;
	esac
done

if [[ "$SYSTEMS" == *rs-* ]]; then
	if [[ ! -f "$RS_BUILD/build.ninja" ]]; then
		meson setup "$RS_BUILD" "$REPO" -Dtests=false >"$RS_BUILD.setup.log" 2>&1 ||
			bench_die "meson setup failed: $(tail -n 5 "$RS_BUILD.setup.log")"
	fi
	ninja -C "$RS_BUILD" ringswitchd ringctl >"$RS_BUILD.ninja.log" 2>&1 ||
		bench_die "build failed: $(tail -n 20 "$RS_BUILD.ninja.log")"
fi

BW="$(mktemp -d /tmp/rs-tcp.XXXXXX)" || bench_die "mktemp failed"
chmod 0700 "$BW"
# Namespaces of this run: rsbtPID<n>{a,b,br}; every one is deleted at exit.
NS_PREFIX="rsbt$$"

ns_cleanup() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		[[ "$ns" == "$NS_PREFIX"* ]] && ip netns del "$ns" 2>/dev/null
	done
	return 0
}

tcp_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	bench_kill_tracked
	ns_cleanup
	bench_huge_release
	rm -rf /var/run/dpdk/rsbovs$$ 2>/dev/null # our --file-prefix
	if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
		bench_log "kept $BW"
	else
		rm -rf "$BW"
	fi
	exit "$rc"
}
trap tcp_cleanup EXIT
trap 'bench_log interrupted; exit 130' INT TERM

((HUGE_WANT)) && [[ "$SYSTEMS" == *ovs* ]] && bench_huge_setup "OVS"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP="$(date +%Y%m%d-%H%M%S)"
bench_log "work dir $BW, hugepages $HUGE_OK, load $LOAD_START; $REPS rep(s) x {$SYSTEMS} x streams {$STREAMS}, $SECS s each"

# ---------------------------------------------------------------------------
# A system between namespaces A and B.
# ---------------------------------------------------------------------------
IP_A=10.99.0.1 IP_B=10.99.0.2
NS_A="" NS_B="" IF_A=""

# net_start SYSTEM: sets NS_A, NS_B, IF_A (the device in A) and SYS_PID
# (empty for the bridge).
net_start() {
	local sys="$1" ifa ifb nsbr s
	NS_A="${NS_PREFIX}x${SYS_N}a" NS_B="${NS_PREFIX}x${SYS_N}b"
	ifa="rsbt${SYS_N}a$$" ifb="rsbt${SYS_N}b$$"
	ifa="${ifa:0:15}" ifb="${ifb:0:15}"
	SYS_PID="" SYS_KIND="$sys"
	case "$sys" in
	rs-on) rsd_tap_start on "$ifa" "$ifb" ;;
	rs-off) rsd_tap_start off "$ifa" "$ifb" ;;
	ovs-tso) ovs_tap_start true "$ifa" "$ifb" ;;
	ovs) ovs_tap_start false "$ifa" "$ifb" ;;
	bridge)
		nsbr="${NS_PREFIX}x${SYS_N}br"
		ip netns add "$nsbr" && ip -n "$nsbr" link add br0 type bridge &&
			ip -n "$nsbr" link set br0 up || bench_die "cannot make a bridge in $nsbr"
		for s in a b; do
			local dev="rsbt${SYS_N}$s$$" peer="rsbp${SYS_N}$s$$"
			dev="${dev:0:15}" peer="${peer:0:15}"
			ip link add "$dev" type veth peer name "$peer" &&
				ip link set "$peer" netns "$nsbr" && ip -n "$nsbr" link set "$peer" master br0 &&
				ip -n "$nsbr" link set "$peer" up || bench_die "cannot join veth $peer to the bridge"
		done
		;;
	esac
	IF_A="$ifa"
	tcp_ns_attach "$NS_A" "$ifa" "$IP_A/24"
	tcp_ns_attach "$NS_B" "$ifb" "$IP_B/24"
}

net_stop() {
	case "$SYS_KIND" in
	rs-*) bench_kill "$SYS_PID" ;;
	ovs*) ovs_stop ;;
	esac
	ns_cleanup
	SYS_PID="" SYS_KIND=""
}

# "user+nice+system+irq+softirq SOFTIRQ" jiffies of all CPUs.
cpu_all_softirq() { awk '/^cpu / { print $2 + $3 + $4 + $6 + $7 + $8, $8; exit }' /proc/stat; }

# ringswitch's offload counters summed over its ports: "RX_GSO TX_SEGMENTED"
# (null null when the daemon does not report them).
rs_offload_counters() {
	rsd_ctl --json port-stats 2>/dev/null |
		jq -r '[([.[].offload.rx_gso // empty] | add // "null"), ([.[].offload.tx_segmented // empty] | add // "null")] | @tsv' 2>/dev/null ||
		printf 'null\tnull\n'
}

# tcp_run STREAMS: one iperf3 test A -> B. Prints one sample line:
# system streams gbps bytes retransmits sw_cpu_s softirq_s machine_s secs tso rx_gso tx_segmented
tcp_run() {
	local n="$1" spid json tck c0 c1 a0 a1 s0 s1 t0 t1 g0 g1 sg0 sg1 tso res i
	json="$BW/iperf-$SYS_N-$n.json"
	ip netns exec "$NS_B" taskset -c "$FE_CPU" iperf3 -s -1 -B "$IP_B" >"$BW/iperf-$SYS_N-$n-server.out" 2>&1 &
	spid=$!
	bench_track "$spid"
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$NS_B" ss -Hltn "sport = :5201" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
	((i < 100)) || bench_die "iperf3 -s did not listen in $NS_B"
	tso=$(ip netns exec "$NS_A" ethtool -k "$IF_A" 2>/dev/null | awk '$1 == "tcp-segmentation-offload:" { print $2 }')
	tck=$(getconf CLK_TCK)
	read -r g0 sg0 < <([[ "$SYS_KIND" == rs-* ]] && rs_offload_counters || printf 'null\tnull\n')
	c0=$(cpu_ticks_of "$SYS_PID")
	read -r a0 s0 < <(cpu_all_softirq)
	t0=$(date +%s.%N)
	timeout $((${SECS%.*} + 30)) ip netns exec "$NS_A" taskset -c "$FE_CPU" \
		iperf3 -c "$IP_B" -t "$SECS" -P "$n" -J >"$json" 2>&1
	t1=$(date +%s.%N)
	c1=$(cpu_ticks_of "$SYS_PID")
	read -r a1 s1 < <(cpu_all_softirq)
	read -r g1 sg1 < <([[ "$SYS_KIND" == rs-* ]] && rs_offload_counters || printf 'null\tnull\n')
	bench_kill "$spid"
	res=$(jq -r 'if .error then "error: " + .error else
		[.end.sum_received.bytes, (.end.sum_received.bits_per_second / 1e9), (.end.sum_sent.retransmits // 0)] | @tsv end' "$json" 2>&1)
	[[ "$res" != error* && -n "$res" ]] || bench_die "$SYS_KIND -P $n: iperf3 failed: $res $(tail -c 200 "$json")"
	local bytes gbps retr
	read -r bytes gbps retr <<<"$res"
	awk -v sys="$SYS_KIND" -v n="$n" -v b="$bytes" -v g="$gbps" -v r="$retr" -v pid="$SYS_PID" \
		-v c0="$c0" -v c1="$c1" -v a0="$a0" -v a1="$a1" -v s0="$s0" -v s1="$s1" -v tck="$tck" \
		-v t0="$t0" -v t1="$t1" -v tso="${tso:-null}" -v g0="$g0" -v g1="$g1" -v sg0="$sg0" -v sg1="$sg1" 'BEGIN {
		cpu = (pid == "") ? "null" : sprintf("%.3f", (c1 - c0) / tck)
		gso = (g0 == "null" || g1 == "null") ? "null" : g1 - g0
		seg = (sg0 == "null" || sg1 == "null") ? "null" : sg1 - sg0
		printf "%s\t%d\t%.3f\t%s\t%s\t%s\t%.3f\t%.3f\t%.2f\t%s\t%s\t%s\n", sys, n, g, b, r, cpu,
			(s1 - s0) / tck, (a1 - a0) / tck, t1 - t0, tso, gso, seg }'
}

# measure REP SYSTEM: in a subshell, whatever happens the system is stopped
# and its namespaces deleted. Prints "REP<TAB>sample" lines, one per stream
# count (tcp_run runs in this subshell, so that its iperf3 -s stays tracked).
measure() {
	local rep="$1" sys="$2"
	(
		BENCH_PIDS=()
		trap '[[ "$SYS_KIND" == ovs* ]] && ovs_stop; bench_kill_tracked; ns_cleanup' EXIT
		SYS_N=$MEAS_N
		net_start "$sys"
		local i n
		for ((i = 0; i < 30; i++)); do
			ip netns exec "$NS_A" busybox ping -c 1 -W 1 "$IP_B" >/dev/null 2>&1 && break
			sleep 0.1
		done
		((i < 30)) || bench_die "$sys: $NS_A cannot ping $IP_B"
		for n in $STREAMS; do
			tcp_run "$n" >"$BW/sample$SYS_N-$n.tsv" || exit 1
			printf '%s\t%s\n' "$rep" "$(cat "$BW/sample$SYS_N-$n.tsv")"
		done
		net_stop
	)
}

# wait_quiet: until the CPUs are quiet (QUIET_WAIT s at most). The kernel
# tears down the previous measurement's namespaces and devices in the
# background for a second or two: that is ours, not others'.
wait_quiet() {
	local end=$((SECONDS + QUIET_WAIT)) b logged=0
	((QUIET_WAIT > 0)) || return 0
	sleep 3
	while :; do
		b=$(busy_pct 1)
		awk -v b="$b" -v m="$QUIET_MAX" 'BEGIN { exit !(b < m) }' && return 0
		((SECONDS < end)) || { bench_log "still busy ($b% of a core): measuring anyway"; return 0; }
		((SECONDS >= logged)) && { bench_log "others use $b% of a core: waiting for quiet"; logged=$((SECONDS + 60)); }
	done
}

SAMPLES="$BW/samples.tsv" FAILS="$BW/fails.tsv"
: >"$SAMPLES"
: >"$FAILS"
MEAS_N=0
for ((rep = 1; rep <= REPS; rep++)); do
	for sys in $SYSTEMS; do
		wait_quiet
		MEAS_N=$((MEAS_N + 1))
		out="$(measure "$rep" "$sys" 2>>"$BW/errors.log")"
		if [[ -n "$out" ]]; then
			echo "$out" >>"$SAMPLES"
			while IFS=$'\t' read -r _ s n g _ _ cpu _ _ _ tso gso seg; do
				bench_log "rep $rep $s -P $n: $g Gbit/s, switch CPU ${cpu} s, tso $tso, rx_gso $gso, tx_segmented $seg"
			done <<<"$out"
		fi
		if (($(wc -l <<<"$out") < $(wc -w <<<"$STREAMS"))) || [[ -z "$out" ]]; then
			printf '%s\t%s\n' "$rep" "$sys" >>"$FAILS"
			bench_log "rep $rep $sys: FAILED: $(grep ERROR "$BW/errors.log" | tail -n 1)"
		fi
	done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
# Report: table on stdout, JSON in OUT.
# ---------------------------------------------------------------------------
mkdir -p "$OUT"
JSON="$OUT/tcp-$STAMP.json"
((SMOKE)) && JSON="$BW/smoke.json"
python3 - "$SAMPLES" "$FAILS" "$JSON" "$SMOKE" "$SYSTEMS" "$STREAMS" \
	"date=$STAMP" "git=$(git -C "$REPO" describe --always --dirty 2>/dev/null)" \
	"load_start=$LOAD_START" "load_end=$LOAD_END" "reps=$REPS" "secs=$SECS" \
	"hugepages=$HUGE_OK" "sw_cpu=$SW_CPU" "fe_cpu=$FE_CPU" "smoke=$SMOKE" <<'EOF'
import json, statistics, sys

samples_f, fails_f, json_f, smoke, systems, streams = sys.argv[1:7]
meta = dict(kv.split("=", 1) for kv in sys.argv[7:])
systems, streams = systems.split(), [int(s) for s in streams.split()]
cols = ["rep", "system", "streams", "gbps", "bytes", "retransmits", "switch_cpu_s", "softirq_s",
        "machine_cpu_s", "secs", "tso", "rx_gso", "tx_segmented"]
TARGETS = [("rs-on", "bridge", 0.95), ("rs-on", "ovs-tso", 1.0), ("rs-on", "rs-off", 5.0)]


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


rows = []
with open(samples_f) as f:
    for line in f:
        p = line.rstrip("\n").split("\t")
        if len(p) == len(cols):
            r = dict(zip(cols, p))
            for k in cols:
                if k not in ("system", "tso"):
                    r[k] = num(r[k])
            r["rep"], r["streams"] = int(r["rep"]), int(r["streams"])
            gbit = r["bytes"] * 8 / 1e9 if r["bytes"] else None
            own = r["switch_cpu_s"] if r["system"] != "bridge" else r["softirq_s"]
            r["switch_cpu_s_per_gbit"] = own / gbit if gbit and own is not None else None
            r["machine_cpu_s_per_gbit"] = r["machine_cpu_s"] / gbit if gbit else None
            rows.append(r)
fails = [l.split() for l in open(fails_f) if l.strip()]


def stats(v):
    v = [x for x in v if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def fmt(st, d=2):
    if not st:
        return "-"
    if st["n"] == 1:
        return f"{st['median']:.{d}f}"
    return f"{st['median']:.{d}f} [{st['min']:.{d}f}-{st['max']:.{d}f}]"


summary = []
for s in systems:
    for n in streams:
        rs = [r for r in rows if r["system"] == s and r["streams"] == n]
        summary.append({
            "system": s, "streams": n, "samples": len(rs),
            "gbps": stats([r["gbps"] for r in rs]),
            "switch_cpu_s_per_gbit": stats([r["switch_cpu_s_per_gbit"] for r in rs]),
            "switch_cpu_kind": "softirq, all CPUs" if s == "bridge" else
                               ("ovs-vswitchd" if s.startswith("ovs") else "ringswitchd"),
            "machine_cpu_s_per_gbit": stats([r["machine_cpu_s_per_gbit"] for r in rs]),
            "retransmits": stats([r["retransmits"] for r in rs]),
            "tso": sorted({r["tso"] for r in rs}),
            "rx_gso": stats([r["rx_gso"] for r in rs]),
            "tx_segmented": stats([r["tx_segmented"] for r in rs]),
        })

ratios = []
for a, b, target in TARGETS:
    if a not in systems or b not in systems:
        continue
    for n in streams:
        per_rep = []
        for rep in sorted({r["rep"] for r in rows}):
            x = [r["gbps"] for r in rows if r["rep"] == rep and r["system"] == a and r["streams"] == n]
            y = [r["gbps"] for r in rows if r["rep"] == rep and r["system"] == b and r["streams"] == n]
            if x and y and y[0]:
                per_rep.append(x[0] / y[0])
        st = stats(per_rep)
        ma = next(c["gbps"] for c in summary if c["system"] == a and c["streams"] == n)
        mb = next(c["gbps"] for c in summary if c["system"] == b and c["streams"] == n)
        ratios.append({"system": a, "peer": b, "streams": n, "ratio": st, "target": target,
                       "ratio_of_medians": ma["median"] / mb["median"] if ma and mb and mb["median"] else None,
                       "met": (st["median"] >= target) if st else None})

print(f"TCP namespace to namespace (iperf3)  {meta['date']}  git {meta['git']}")
print(f"load average: start {meta['load_start']}, end {meta['load_end']}; {meta['reps']} repetition(s), "
      f"{meta['secs']} s per run; switch on CPU {meta['sw_cpu']}, iperf3 client and server on CPU {meta['fe_cpu']}; "
      f"OVS hugepages: {'yes' if meta['hugepages'] == '1' else 'no (--no-huge)'}")
print("median [min-max]; switch CPU s/Gbit: CPU seconds of ringswitchd / ovs-vswitchd per Gbit received "
      "(bridge: softirq of all CPUs, TCP receive included);")
print("machine CPU s/Gbit: user+system+irq+softirq of both CPUs per Gbit; tso: ethtool -k on the device in namespace A")
print()
hdr = f"{'system':<8} {'streams':>7}  {'Gbit/s':<22} {'switch CPU s/Gbit':<22} {'machine CPU s/Gbit':<22} {'retrans':>8}  {'tso':<6} {'rx_gso':>9} {'tx_segm':>9}"
print(hdr)
print("-" * len(hdr))
for c in summary:
    g = lambda k: f"{c[k]['median']:.0f}" if c[k] else "-"
    print(f"{c['system']:<8} {c['streams']:>7}  {fmt(c['gbps']):<22} {fmt(c['switch_cpu_s_per_gbit'], 3):<22} "
          f"{fmt(c['machine_cpu_s_per_gbit'], 3):<22} {g('retransmits'):>8}  {','.join(c['tso']) or '-':<6} "
          f"{g('rx_gso'):>9} {g('tx_segmented'):>9}")
if ratios:
    print()
    print("targets, ratios paired per repetition: median [min-max] (ratio of medians)")
    for r in ratios:
        t = f"target >= {r['target']}: " + ("met" if r["met"] else ("NOT met" if r["met"] is False else "no data"))
        rom = f"({r['ratio_of_medians']:.2f})" if r["ratio_of_medians"] else ""
        print(f"  {r['system'] + ' / ' + r['peer']:<18} {r['streams']} stream(s)  {fmt(r['ratio']):<22} {rom:<7} {t}")

with open(json_f, "w") as f:
    json.dump({"meta": meta, "summary": summary, "ratios": ratios, "samples": rows,
               "failed": [{"rep": x[0], "system": x[1]} for x in fails]}, f, indent=1)
missing = [(c["system"], c["streams"]) for c in summary if not (c["gbps"] and c["gbps"]["median"] > 0)]
for s, n in missing:
    print(f"no figure: {s} {n} stream(s)")
if smoke == "1" and not missing:
    print("smoke: every system produced a figure")
sys.exit(1 if missing or fails else 0)
EOF
rc=$?
((SMOKE)) || echo "json: $JSON"
if [[ -s "$FAILS" ]]; then
	echo "failed measurements (last errors):"
	grep ERROR "$BW/errors.log" | tail -n 5
fi
exit "$rc"
