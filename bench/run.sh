#!/usr/bin/env bash
# bench/run.sh - ringswitch side by side with OVS-DPDK and DPDK's vhost library
# (issue 4), in one invocation, on this machine. See docs/performance.md.
#
# Systems (the switch, pinned to CPU 1):
#   rs-p2p-busy rs-p2p-adaptive      ringswitchd, rules in_port=vm1->vm2 and back
#   rs-normal-busy rs-normal-adaptive ringswitchd, no rules: L2 learning ('normal')
#   ovs-p2p ovs-normal               OVS-DPDK (openvswitch-switch-dpdk), private
#                                    ovsdb, dpdkvhostuserclient ports, the same rules
#   tp-vhost                         dpdk-testpmd, two net_vhost ports, io forwarding
# Front-ends (pinned to CPU 0), each a separate run:
#   testpmd   dpdk-testpmd, two net_virtio_user ports, io forwarding, start tx_first 8
#             (both directions summed, from RX-packets deltas over the window)
#   rsgen     bench/rs_gen (port 0 -> port 1, what arrives on port 1)
# Order: for each repetition, for each front-end and frame size, every system in
# turn (A B C ... A B C ...); each measurement starts the system afresh.
# Then: CPU use of the switch process with two idle guests attached (rs_gen
# --idle) over IDLE_SECS, ringswitchd adaptive vs OVS, and their memory.
#
# Noise: the machine is shared. Before each measurement the script waits (at
# most QUIET_WAIT s, default 900) until the CPUs are quiet (< QUIET_MAX % of a
# core busy over 1 s, default 15), and it measures how much CPU other
# processes took during each window; a sample where they took more than
# OTHERS_MAX % of a core (default 10) is retried, at most 4 times; the last
# try is kept either way, and bench/report.py leaves noisy samples out of a
# cell's median when the cell has clean ones.
#
# Usage: bench/run.sh [--smoke] [--reps N] [--warmup S] [--secs S] [--sizes "64 1518"]
#                     [--fe "testpmd rsgen"] [--systems "..."] [--idle-secs S]
#                     [--no-huge] [--wait-load L] [--out DIR]
#   --smoke      each system once, 64 B, rs_gen only, 0.5 s warm-up + 1.5 s,
#                no waiting for quiet and no retries; exit 0 only when every
#                system forwarded something
#   --wait-load  first wait (at most 30 min) until the 1-minute load average is below L
# Environment: RS_BUILD (default build-bench, configured with -Dtests=false and
# built here), BENCH_FLOWS (rs_gen flows, default 1), BENCH_VU_ARGS (more
# net_virtio_user devargs for testpmd, e.g. ",in_order=0"), BENCH_KEEP=1 keeps the
# work directory. Needs root for hugepages (else OVS and tp-vhost use --no-huge).
# Output: the table on stdout; OUT/bench-DATE.json and OUT/bench-DATE.png
# (OUT defaults to bench/results).
set -uo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
RS_BUILD="${RS_BUILD:-$REPO/build-bench}"
BENCH_FLOWS="${BENCH_FLOWS:-1}"

REPS=5 WARMUP=2 SECS=5 SIZES="64 1518" FES="testpmd rsgen" IDLE_SECS=10
SYSTEMS="rs-p2p-busy rs-p2p-adaptive rs-normal-busy rs-normal-adaptive ovs-p2p ovs-normal tp-vhost"
IDLE_SYSTEMS="rs-normal-adaptive ovs-normal"
SMOKE=0 HUGE_WANT=1 WAIT_LOAD="" OUT="$BENCH/results"
QUIET_WAIT="${QUIET_WAIT:-900}" QUIET_MAX="${QUIET_MAX:-15}" OTHERS_MAX="${OTHERS_MAX:-10}" RETRIES=4

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
while (($#)); do
	case "$1" in
	--smoke) SMOKE=1 REPS=1 WARMUP=0.5 SECS=1.5 SIZES=64 FES=rsgen IDLE_SECS=0 QUIET_WAIT=0 RETRIES=0 ;;
	--reps) REPS="$2"; shift ;;
	--warmup) WARMUP="$2"; shift ;;
	--secs) SECS="$2"; shift ;;
	--sizes) SIZES="$2"; shift ;;
	--fe) FES="$2"; shift ;;
	--systems) SYSTEMS="$2"; shift ;;
	--idle-secs) IDLE_SECS="$2"; shift ;;
	--no-huge) HUGE_WANT=0 ;;
	--wait-load) WAIT_LOAD="$2"; shift ;;
	--out) OUT="$2"; shift ;;
	-h | --help) usage ;;
	*) echo "run.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done

bench_log() { echo "[$(date +%T)] bench: $*" >&2; }
bench_die() {
	echo "bench: ERROR: $*" >&2
	exit 1
}

. "$BENCH/lib.sh"

# ---------------------------------------------------------------------------
# Preconditions, build, work directory, hugepages.
# ---------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1 || bench_die "'$1' not found (Debian package $2): run bench/install-bench-deps.sh"; }
need dpdk-testpmd dpdk-dev
need ovsdb-tool openvswitch-common
need jq jq
need python3 python3
need taskset util-linux
need stdbuf coreutils
[[ -x "$OVS_VSWITCHD" ]] || bench_die "$OVS_VSWITCHD not found (openvswitch-switch-dpdk): run bench/install-bench-deps.sh"
(($(nproc) >= 2)) || bench_die "needs 2 CPUs (switch on CPU $SW_CPU, front-end on CPU $FE_CPU)"

if [[ ! -f "$RS_BUILD/build.ninja" ]]; then
	meson setup "$RS_BUILD" "$REPO" -Dtests=false >"$RS_BUILD.setup.log" 2>&1 ||
		bench_die "meson setup failed: $(tail -n 5 "$RS_BUILD.setup.log")"
fi
ninja -C "$RS_BUILD" ringswitchd ringctl bench/rs_gen >"$RS_BUILD.ninja.log" 2>&1 ||
	bench_die "build failed: $(tail -n 20 "$RS_BUILD.ninja.log")"

if [[ -n "$WAIT_LOAD" ]]; then
	for ((w = 0; w < 180; w++)); do
		awk -v l="$WAIT_LOAD" '{ exit !($1 < l) }' /proc/loadavg && break
		((w % 6 == 0)) && bench_log "load $(cut -d' ' -f1-3 /proc/loadavg), waiting for < $WAIT_LOAD"
		sleep 10
	done
fi

BW="$(mktemp -d /tmp/rs-bench.XXXXXX)" || bench_die "mktemp failed"
chmod 0700 "$BW"

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	bench_kill_tracked
	bench_huge_release
	rm -rf /var/run/dpdk/rsb$$* /var/run/dpdk/rsbovs$$ 2>/dev/null # our --file-prefix names
	if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
		bench_log "kept $BW"
	else
		rm -rf "$BW"
	fi
	exit "$rc"
}
trap bench_cleanup EXIT
trap 'bench_log interrupted; exit 130' INT TERM

((HUGE_WANT)) && bench_huge_setup "DPDK switches"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
STAMP="$(date +%Y%m%d-%H%M%S)"
bench_log "work dir $BW, hugepages $((HUGE_OK)), load $LOAD_START; $REPS rep(s) x fe {$FES} x sizes {$SIZES} x {$SYSTEMS}"

# ---------------------------------------------------------------------------
# One measurement, in a subshell: whatever happens, the processes it started
# are stopped (its own EXIT trap). Prints one tab-separated sample line:
# rep fe size system mpps loss cpp vmrss rssanon rssshmem hugetlb others
# ---------------------------------------------------------------------------
measure() {
	local rep="$1" fe="$2" size="$3" sys="$4"
	(
		BENCH_PIDS=()
		trap 'bench_kill_tracked' EXIT
		SYS_N=$MEAS_N FE_N=$MEAS_N
		sys_start "$sys"
		case "$fe" in
		testpmd) fe_testpmd_run "$size" "$WARMUP" "$SECS" ;;
		rsgen) fe_rsgen_run "$size" "$WARMUP" "$SECS" ;;
		esac
		read -r rss anon shm huge < <(sys_mem)
		sys_stop
		[[ -n "$FE_MPPS" ]] || exit 1
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$fe" "$size" "$sys" \
			"$FE_MPPS" "${FE_LOSS:-null}" "${FE_CPP:-null}" "$rss" "$anon" "$shm" "$huge" "${FE_OTHERS:-null}"
	)
}

# CPU use of the switch with two idle guests:
# "rep system cpu_pct vmrss rssanon rssshmem hugetlb others".
measure_idle() {
	local rep="$1" sys="$2"
	(
		BENCH_PIDS=()
		trap 'bench_kill_tracked' EXIT
		SYS_N=$MEAS_N FE_N=$MEAS_N
		sys_start "$sys"
		fe_rsgen_idle $((IDLE_SECS + 4))
		sleep 2
		local tck t0 t1 c0 c1
		tck=$(getconf CLK_TCK)
		noise_begin "$SYS_PID" "$OVS_DB_PID" "$FE_IDLE_PID"
		c0=$(sys_cpu_ticks) t0=$(date +%s.%N)
		sleep "$IDLE_SECS"
		c1=$(sys_cpu_ticks) t1=$(date +%s.%N)
		others=$(noise_end)
		read -r rss anon shm huge < <(sys_mem)
		bench_kill "$FE_IDLE_PID"
		sys_stop
		awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v tck="$tck" -v r="$rep" -v s="$sys" \
			-v m="$rss $anon $shm $huge $others" 'BEGIN { gsub(/ /, "\t", m)
			printf "%s\t%s\t%.2f\t%s\n", r, s, 100 * (c1 - c0) / tck / (t1 - t0), m }'
	)
}

SAMPLES="$BW/samples.tsv" IDLE="$BW/idle.tsv" FAILS="$BW/fails.tsv"
: >"$SAMPLES"
: >"$IDLE"
: >"$FAILS"
MEAS_N=0 # numbers each measurement's files in $BW (the subshells cannot count)

# wait_quiet: until the CPUs are quiet between two measurements (QUIET_WAIT s at most).
wait_quiet() {
	local end=$((SECONDS + QUIET_WAIT)) b logged=0
	((QUIET_WAIT > 0)) || return 0
	while :; do
		b=$(busy_pct 1)
		awk -v b="$b" -v m="$QUIET_MAX" 'BEGIN { exit !(b < m) }' && return 0
		((SECONDS < end)) || { bench_log "still busy ($b% of a core): measuring anyway"; return 0; }
		((SECONDS >= logged)) && { bench_log "others use $b% of a core: waiting for quiet"; logged=$((SECONDS + 60)); }
	done
}

# run_one KIND ARGS...: measure (KIND sample) or measure_idle (KIND idle), retried
# while others took more than OTHERS_MAX % of a core; sets RUN_LINE (empty: failed).
RUN_LINE=""
run_one() {
	local kind="$1" try line="" others
	shift
	for ((try = 0; try <= RETRIES; try++)); do
		wait_quiet
		MEAS_N=$((MEAS_N + 10))
		if [[ "$kind" == sample ]]; then
			line="$(measure "$@" 2>>"$BW/errors.log")"
		else
			line="$(measure_idle "$@" 2>>"$BW/errors.log")"
		fi
		[[ -n "$line" ]] || continue
		others=$(awk -F'\t' '{ print $NF }' <<<"$line")
		awk -v o="$others" -v m="$OTHERS_MAX" 'BEGIN { exit !(o == "null" || o <= m) }' && break
		((try < RETRIES)) && bench_log "$*: others took $others% of a core during the window: again"
	done
	RUN_LINE="$line"
}

# rotated SHIFT: $SYSTEMS starting at its SHIFT-th entry (wrapping), so that
# no system is always the first one after a change of front-end or size.
rotated() {
	local -a all=($SYSTEMS)
	local n=${#all[@]} i
	for ((i = 0; i < n; i++)); do printf '%s ' "${all[(i + $1) % n]}"; done
}

for ((rep = 1; rep <= REPS; rep++)); do
	for fe in $FES; do
		for size in $SIZES; do
			for sys in $(rotated $((rep - 1))); do
				run_one sample "$rep" "$fe" "$size" "$sys"
				line="$RUN_LINE"
				if [[ -n "$line" ]]; then
					echo "$line" >>"$SAMPLES"
					bench_log "rep $rep $fe ${size}B $sys: $(cut -f5 <<<"$line") Mpps, cpp $(cut -f7 <<<"$line"), others $(cut -f12 <<<"$line")%"
				else
					printf '%s\t%s\t%s\t%s\n' "$rep" "$fe" "$size" "$sys" >>"$FAILS"
					bench_log "rep $rep $fe ${size}B $sys: FAILED: $(grep ERROR "$BW/errors.log" | tail -n 1)"
				fi
			done
		done
	done
	if [[ "$IDLE_SECS" != 0 ]]; then
		for sys in $IDLE_SYSTEMS; do
			run_one idle "$rep" "$sys"
			line="$RUN_LINE"
			if [[ -n "$line" ]]; then
				echo "$line" >>"$IDLE"
				bench_log "rep $rep idle $sys: $(cut -f3 <<<"$line")% of a core, others $(cut -f8 <<<"$line")%"
			else
				bench_log "rep $rep idle $sys: FAILED: $(grep ERROR "$BW/errors.log" | tail -n 1)"
			fi
		done
	fi
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
# Report: table on stdout, JSON and chart in OUT.
# ---------------------------------------------------------------------------
mkdir -p "$OUT"
JSON="$OUT/bench-$STAMP.json" PNG="$OUT/bench-$STAMP.png"
((SMOKE)) && JSON="$BW/smoke.json" PNG=""
python3 "$BENCH/report.py" --samples "$SAMPLES" --idle "$IDLE" --fails "$FAILS" --json "$JSON" \
	--plot-data "$BW/plot.dat" --meta "load_start=$LOAD_START" "load_end=$LOAD_END" \
	"hugepages=$HUGE_OK" "ring=$BENCH_RING" "others_max=$OTHERS_MAX" "reps=$REPS" "warmup_s=$WARMUP" "window_s=$SECS" "flows=$BENCH_FLOWS" \
	"git=$(git -C "$REPO" describe --always --dirty 2>/dev/null)" "date=$STAMP" \
	"systems=$SYSTEMS" "front_ends=$FES" "sizes=$SIZES" "smoke=$SMOKE"
rc=$?
if [[ -n "$PNG" ]] && command -v gnuplot >/dev/null && [[ -s "$BW/plot.dat" ]]; then
	gnuplot -e "datafile='$BW/plot.dat'; outfile='$PNG'; subtitle='load $LOAD_START'" "$BENCH/chart.gp" 2>>"$BW/errors.log" &&
		echo "chart: $PNG"
fi
((SMOKE)) || echo "json: $JSON"
if [[ -s "$FAILS" ]]; then
	echo "failed measurements (last errors):"
	grep ERROR "$BW/errors.log" | tail -n 5
	rc=1
fi
exit "$rc"
