# shellcheck shell=bash
# bench/lib.sh - the systems and front-ends that bench/run.sh measures, each
# behind the same few functions, and the process tracking both scripts use.
# Sourced by run.sh and tcp.sh; needs BW (the run's private work directory),
# RS_BUILD, bench_log and bench_die.
#
# A system (the switch under test, pinned to CPU $SW_CPU):
#   sys_start NAME   NAME: rs-p2p-busy rs-p2p-adaptive rs-normal-busy
#                    rs-normal-adaptive ovs-p2p ovs-normal tp-vhost.
#                    Sets SYS_PID (the switch process), SYS_SOCK0/1 (the two
#                    ports' sockets) and SYS_FE_SERVER (1: the front-end
#                    listens, the switch connects as a vhost-user client).
#   sys_cpp_begin / sys_cpp_end   the switch's own cycles per packet between
#                    the two calls (prints it; "null" when it has no counter)
#   sys_stop         stops everything sys_start started, by PID
# A front-end (pinned to CPU $FE_CPU), run against the running system:
#   fe_testpmd_run SIZE WARMUP SECS   both directions summed
#   fe_rsgen_run SIZE WARMUP SECS     one direction (port 0 -> port 1)
# Each sets FE_MPPS, FE_LOSS (rs_gen: % of transmitted frames not received,
# else "null"), FE_CPP (sys_cpp_begin/end around its window) and FE_OTHERS (%
# of a core that other processes used during the window); they print
# nothing, so that every process they start stays tracked by the caller's shell.

# Every process started is tracked and stopped by PID (bench_kill_tracked at exit).
BENCH_PIDS=()
bench_track() { BENCH_PIDS+=("$1"); }
bench_untrack() {
	local i
	for i in "${!BENCH_PIDS[@]}"; do
		[[ "${BENCH_PIDS[$i]}" == "$1" ]] && unset 'BENCH_PIDS[i]'
	done
}
# bench_kill PID: SIGTERM, at most 5 s, then SIGKILL; reaped.
bench_kill() {
	local pid="$1" i
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	bench_untrack "$pid"
	return 0
}
bench_kill_tracked() {
	local pid
	for pid in "${BENCH_PIDS[@]}"; do
		[[ -n "$pid" ]] && bench_kill "$pid"
	done
}

SW_CPU="${SW_CPU:-1}"
# Ring size of both front-ends' queues. 1024: the 256 frames per direction that
# testpmd's 'start tx_first 8' puts in flight always fit in an RX ring, so
# none is ever dropped for want of a buffer (in an io-forwarding loop a
# dropped frame never comes back, and a noisy host would drain the loop).
BENCH_RING="${BENCH_RING:-1024}"
FE_CPU="${FE_CPU:-0}"
SYS_PID="" SYS_SOCK0="" SYS_SOCK1="" SYS_FE_SERVER=0 SYS_KIND="" SYS_N=0
FE_CPP="null" FE_MPPS="" FE_LOSS="null" FE_OTHERS="null"

OVS_VSWITCHD="${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}"
OVS_SCHEMA="${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}"

# ---------------------------------------------------------------------------
# ringswitchd
# ---------------------------------------------------------------------------
RSD_RUN=""
rsd_ctl() { timeout 10 "$RS_BUILD/ringctl" --run-dir "$RSD_RUN" "$@"; }

# rsd_launch CONFIG: ringswitchd on SW_CPU with the config text CONFIG, in
# a fresh run directory; returns once ringctl gets answers. Sets RSD_RUN, SYS_PID.
rsd_launch() {
	local i
	RSD_RUN="$BW/rs$SYS_N"
	mkdir -p "$RSD_RUN" && chmod 0700 "$RSD_RUN"
	printf '%s\n' "$1" >"$RSD_RUN/rs.conf"
	taskset -c "$SW_CPU" "$RS_BUILD/ringswitchd" --foreground --run-dir "$RSD_RUN" \
		--config "$RSD_RUN/rs.conf" >"$RSD_RUN/rsd.log" 2>&1 &
	SYS_PID=$!
	bench_track "$SYS_PID"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SYS_PID" 2>/dev/null || bench_die "ringswitchd exited: $(tail -n 5 "$RSD_RUN/rsd.log")"
		rsd_ctl show >/dev/null 2>&1 && break
		sleep 0.1
	done
	((i < 100)) || bench_die "ringswitchd did not answer ringctl within 10 s"
}

# rsd_start RULES MODE: RULES p2p|normal, MODE busy|adaptive.
rsd_start() {
	local rules="$1" mode="$2"
	# pmd-cores=SW_CPU is also the default (the last CPU) on this 2-CPU machine.
	rsd_launch "$(printf 'set pmd-cores=%s poll-mode=%s log-level=warn\nadd-port vm1 vhost-user-server\nadd-port vm2 vhost-user-server\n' \
		"$SW_CPU" "$mode")"
	if [[ "$rules" == p2p ]]; then
		rsd_ctl add-flow 'priority=100,in_port=vm1,actions=output:vm2' >/dev/null &&
			rsd_ctl add-flow 'priority=100,in_port=vm2,actions=output:vm1' >/dev/null ||
			bench_die "ringctl add-flow failed"
	fi
	SYS_SOCK0="$RSD_RUN/vm1.sock" SYS_SOCK1="$RSD_RUN/vm2.sock" SYS_FE_SERVER=0
}

# "PACKETS BUSY_CYCLES" summed over the forwarding threads.
rsd_pmd_counters() {
	rsd_ctl --json pmd-show 2>/dev/null | jq -r '[([.[].packets] | add), ([.[].busy_cycles] | add)] | @tsv'
}

# ---------------------------------------------------------------------------
# OVS-DPDK: private ovsdb-server and ovs-vswitchd-dpdk, everything under
# $BW/ovsN (database, sockets, logs, pid files); DPDK memory from the private
# hugetlbfs mount $BW/huge (--in-memory: no page or runtime files), or
# --no-huge when hugepages are not available.
# ---------------------------------------------------------------------------
OVS_DIR="" OVS_DB_PID="" OVS_BR=""
ovs_vsctl() { timeout 30 ovs-vsctl --db="unix:$OVS_DIR/db.sock" --no-wait "$@"; }
ovs_appctl() { timeout 10 ovs-appctl -t "$OVS_DIR/vswitchd.ctl" "$@"; }
ovs_ofctl() { timeout 10 ovs-ofctl "$@"; }

ovs_start() {
	local rules="$1" i
	ovs_boot
	SYS_SOCK0="$OVS_DIR/p0.sock" SYS_SOCK1="$OVS_DIR/p1.sock" SYS_FE_SERVER=1
	ovs_vsctl add-br "$OVS_BR" -- set bridge "$OVS_BR" datapath_type=netdev \
		-- add-port "$OVS_BR" p0 -- set Interface p0 type=dpdkvhostuserclient \
		options:vhost-server-path="$SYS_SOCK0" ofport_request=1 \
		-- add-port "$OVS_BR" p1 -- set Interface p1 type=dpdkvhostuserclient \
		options:vhost-server-path="$SYS_SOCK1" ofport_request=2 || bench_die "ovs-vsctl add-br failed"
	# The ports exist once the bridge has them (the datapath is configured asynchronously).
	for ((i = 0; i < 100; i++)); do
		[[ "$(ovs_vsctl get Interface p1 ofport 2>/dev/null)" == 2 ]] && break
		sleep 0.1
	done
	if [[ "$rules" == p2p ]]; then
		ovs_ofctl del-flows "unix:$OVS_DIR/$OVS_BR.mgmt" &&
			ovs_ofctl add-flow "unix:$OVS_DIR/$OVS_BR.mgmt" in_port=1,actions=output:2 &&
			ovs_ofctl add-flow "unix:$OVS_DIR/$OVS_BR.mgmt" in_port=2,actions=output:1 ||
			bench_die "ovs-ofctl add-flow failed"
	fi # else the bridge's default flow: NORMAL
}

# Stops ovs-vswitchd with 'exit --cleanup' (it deletes its ports: the bridge's
# tap device would otherwise outlive it), then ovsdb-server; by PID if need be.
ovs_stop() {
	local i
	if [[ -n "$SYS_PID" ]] && kill -0 "$SYS_PID" 2>/dev/null; then
		ovs_appctl exit --cleanup >/dev/null 2>&1
		for ((i = 0; i < 50; i++)); do
			kill -0 "$SYS_PID" 2>/dev/null || break
			sleep 0.1
		done
	fi
	[[ -n "$SYS_PID" ]] && bench_kill "$SYS_PID"
	[[ -n "$OVS_DB_PID" ]] && bench_kill "$OVS_DB_PID"
	ip link show "$OVS_BR" >/dev/null 2>&1 && ip link del "$OVS_BR" 2>/dev/null
	OVS_DB_PID=""
	unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR
}

# ---------------------------------------------------------------------------
# dpdk-testpmd, driven through a fifo (the approach of tests/e2e/lib.sh).
# tp_start DIR LOG LCORES EAL... -- APP...: sets TP_PID TP_FIFO TP_LOG.
# ---------------------------------------------------------------------------
TP_PID="" TP_FIFO="" TP_LOG=""
tp_start() {
	local dir="$1" log="$2" lcores="$3" eal=() app=() i
	shift 3
	while (($#)) && [[ "$1" != "--" ]]; do eal+=("$1"); shift; done
	(($#)) && shift
	app=("$@")
	mkdir -p "$dir"
	TP_FIFO="$dir/cmd.fifo" TP_LOG="$log"
	mkfifo "$TP_FIFO"
	# fd 3 holds the fifo open read-write: testpmd never sees end-of-file.
	(exec 3<>"$TP_FIFO"; exec stdbuf -oL dpdk-testpmd --no-pci --no-shconf --no-telemetry \
		--file-prefix "rsb$$$(basename "$dir")" --lcores "$lcores" --log-level=lib.eal:error \
		"${eal[@]}" -- -i "${app[@]}" <&3 >"$log" 2>&1) &
	TP_PID=$!
	bench_track "$TP_PID"
	for ((i = 0; i < 600; i++)); do
		grep -qs 'testpmd>' "$log" && return 0
		kill -0 "$TP_PID" 2>/dev/null || bench_die "dpdk-testpmd exited at start: $(tail -n 5 "$log")"
		sleep 0.1
	done
	bench_die "dpdk-testpmd gave no prompt within 60 s ($log)"
}

# tp_cmd LOG FIFO CMD: type a command, wait for the next prompt.
tp_cmd() {
	local log="$1" fifo="$2" before i
	before=$(grep -o 'testpmd>' "$log" | wc -l)
	echo "$3" >"$fifo"
	for ((i = 0; i < 200; i++)); do
		(($(grep -o 'testpmd>' "$log" | wc -l) > before)) && return 0
		sleep 0.05
	done
	bench_die "testpmd did not answer '$3' within 10 s ($log)"
}

# tp_quit FIFO PID
tp_quit() {
	local i
	echo quit >"$1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	bench_kill "$2"
}

# tp_rx_total LOG FROMLINE: RX-packets of ports 0 and 1 summed, from the
# last "NIC statistics" blocks after line FROMLINE.
tp_rx_total() {
	tail -n +"$(($2 + 1))" "$1" | tr -d '\r' | awk '
		/NIC statistics for port/ { port = $6 }
		/RX-packets:/ { for (i = 1; i < NF; i++) if ($i == "RX-packets:") v[port] = $(i + 1) }
		END { printf "%d\n", v[0] + v[1] }'
}

# DPDK's vhost library alone: two net_vhost ports, io forwarding.
tpv_start() {
	local dir="$BW/tpv$SYS_N" mem
	if ((HUGE_OK)); then
		mem=(--in-memory --huge-dir "$BW/huge" -m 512)
	else
		mem=(--no-huge -m 512)
	fi
	mkdir -p "$dir"
	SYS_SOCK0="$dir/p0.sock" SYS_SOCK1="$dir/p1.sock" SYS_FE_SERVER=0
	tp_start "$dir" "$dir/tpv.log" "0@$SW_CPU,1@$SW_CPU" "${mem[@]}" \
		--vdev "net_vhost0,iface=$SYS_SOCK0,queues=1" --vdev "net_vhost1,iface=$SYS_SOCK1,queues=1" \
		-- --nb-cores=1 --forward-mode=io --total-num-mbufs=16384
	SYS_PID=$TP_PID TPV_FIFO=$TP_FIFO TPV_LOG=$TP_LOG
	tp_cmd "$TPV_LOG" "$TPV_FIFO" start
}

# ---------------------------------------------------------------------------
# The common system interface.
# ---------------------------------------------------------------------------
sys_start() {
	SYS_N=$((SYS_N + 1))
	SYS_KIND="$1"
	case "$1" in
	rs-p2p-busy) rsd_start p2p busy ;;
	rs-p2p-adaptive) rsd_start p2p adaptive ;;
	rs-normal-busy) rsd_start normal busy ;;
	rs-normal-adaptive) rsd_start normal adaptive ;;
	ovs-p2p) ovs_start p2p ;;
	ovs-normal) ovs_start normal ;;
	tp-vhost) tpv_start ;;
	*) bench_die "unknown system $1" ;;
	esac
}

SYS_CPP0=""
sys_cpp_begin() {
	case "$SYS_KIND" in
	rs-*) SYS_CPP0="$(rsd_pmd_counters)" ;;
	ovs-*) ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null 2>&1 ;;
	esac
}

sys_cpp_end() {
	local c1 st
	case "$SYS_KIND" in
	rs-*)
		c1="$(rsd_pmd_counters)"
		{ rsd_ctl port-stats; rsd_ctl pmd-show; } >"$RSD_RUN/stats.txt" 2>&1
		awk -v a="$SYS_CPP0" -v b="$c1" 'BEGIN { split(a, x, "\t"); split(b, y, "\t")
			if (y[1] > x[1]) printf "%.1f\n", (y[2] - x[2]) / (y[1] - x[1]); else print "null" }'
		;;
	ovs-*)
		st="$(ovs_appctl dpif-netdev/pmd-stats-show 2>&1)"
		{ echo "$st"; ovs_ofctl dump-ports "unix:$OVS_DIR/$OVS_BR.mgmt"
		  ovs_ofctl dump-flows "unix:$OVS_DIR/$OVS_BR.mgmt"; } >"$OVS_DIR/stats.txt" 2>&1
		awk '/avg processing cycles per packet:/ { v = $6 } END { print (v == "" ? "null" : v) }' <<<"$st"
		;;
	*) echo null ;;
	esac
}

sys_stop() {
	case "$SYS_KIND" in
	rs-*) bench_kill "$SYS_PID" ;;
	ovs-*) ovs_stop ;;
	tp-vhost) tp_quit "$TPV_FIFO" "$SYS_PID" ;;
	esac
	SYS_PID="" SYS_KIND=""
}

# sys_mem: "VMRSS_KB RSSANON_KB RSSSHMEM_KB HUGETLB_KB" of the switch process.
sys_mem() {
	awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } /^RssShmem:/ { s = $2 } /^HugetlbPages:/ { h = $2 }
		END { printf "%d %d %d %d\n", r, a, s, h }' "/proc/$SYS_PID/status" 2>/dev/null || echo "0 0 0 0"
}

# sys_cpu_ticks: utime+stime of every thread of the switch process (CLK_TCK units).
sys_cpu_ticks() {
	local s
	s="$(cat "/proc/$SYS_PID/stat" 2>/dev/null)" || { echo 0; return; }
	s="${s##*) }"
	awk '{ print $12 + $13 }' <<<"$s"
}

# ---------------------------------------------------------------------------
# Noise accounting: how much CPU other processes took during a window. The
# machine is shared; a sample during which others ran is not comparable.
# ---------------------------------------------------------------------------
# Busy jiffies of all CPUs (user nice system irq softirq steal; guest is in user).
cpu_busy_all() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# utime+stime of the given PIDs (every thread), summed.
cpu_ticks_of() {
	local pid s t=0
	for pid in "$@"; do
		[[ -n "$pid" ]] || continue
		s="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
		s="${s##*) }"
		t=$((t + $(awk '{ print $12 + $13 }' <<<"$s")))
	done
	echo "$t"
}
NOISE_T0="" NOISE_ALL0="" NOISE_OURS0="" NOISE_PIDS=""
noise_begin() {
	NOISE_PIDS="$*"
	NOISE_T0=$(date +%s.%N) NOISE_ALL0=$(cpu_busy_all)
	# shellcheck disable=SC2086
	NOISE_OURS0=$(cpu_ticks_of $NOISE_PIDS)
}
# Prints the % of one core that processes other than NOISE_PIDS used since
# noise_begin; "null" when one of them has exited (its CPU time is gone).
noise_end() {
	local t1 all1 ours1 pid
	for pid in $NOISE_PIDS; do
		[[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" =~ ^[RSD]$ ]] || { echo null; return; }
	done
	t1=$(date +%s.%N) all1=$(cpu_busy_all)
	# shellcheck disable=SC2086
	ours1=$(cpu_ticks_of $NOISE_PIDS)
	awk -v t0="$NOISE_T0" -v t1="$t1" -v a0="$NOISE_ALL0" -v a1="$all1" -v o0="$NOISE_OURS0" \
		-v o1="$ours1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		v = 100 * ((a1 - a0) - (o1 - o0)) / hz / (t1 - t0); printf "%.1f\n", v < 0 ? 0 : v }'
}
# busy_pct SECS: % of one core used by everything over SECS seconds.
busy_pct() {
	local a0 a1
	a0=$(cpu_busy_all)
	sleep "$1"
	a1=$(cpu_busy_all)
	awk -v a0="$a0" -v a1="$a1" -v s="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f\n", 100 * (a1 - a0) / hz / s }'
}

# ---------------------------------------------------------------------------
# Front-ends
# ---------------------------------------------------------------------------
FE_N=0
# fe_testpmd_run SIZE WARMUP SECS: two net_virtio_user ports, io forwarding,
# 'start tx_first 8' (256 packets per direction in flight); RX-packets of both
# ports over the window.
fe_testpmd_run() {
	local size="$1" warm="$2" secs="$3" dir log srv="" l0 l1 t0 t1 a b pid fifo
	FE_N=$((FE_N + 1))
	dir="$BW/fe$FE_N" log="$BW/fe$FE_N/fe.log"
	((SYS_FE_SERVER)) && srv=",server=1"
	tp_start "$dir" "$log" "0@$FE_CPU,1@$FE_CPU" --no-huge -m 512 \
		--vdev "net_virtio_user0,path=$SYS_SOCK0,queues=1,queue_size=$BENCH_RING,packed_vq=0,mac=02:00:00:00:00:01$srv${BENCH_VU_ARGS:-}" \
		--vdev "net_virtio_user1,path=$SYS_SOCK1,queues=1,queue_size=$BENCH_RING,packed_vq=0,mac=02:00:00:00:00:02$srv${BENCH_VU_ARGS:-}" \
		-- --total-num-mbufs=16384 --rxd="$BENCH_RING" --txd="$BENCH_RING" --nb-cores=1 \
		--forward-mode=io --txpkts="$size" \
		--eth-peer=0,02:00:00:00:00:02 --eth-peer=1,02:00:00:00:00:01
	pid=$TP_PID fifo=$TP_FIFO
	tp_cmd "$log" "$fifo" "start tx_first 8"
	sleep "$warm"
	l0=$(wc -l <"$log")
	t0=$(date +%s.%N)
	tp_cmd "$log" "$fifo" "show port stats all"
	sys_cpp_begin
	noise_begin "$SYS_PID" "$OVS_DB_PID" "$pid"
	sleep "$secs"
	FE_OTHERS="$(noise_end)"
	FE_CPP="$(sys_cpp_end)"
	l1=$(wc -l <"$log")
	t1=$(date +%s.%N)
	tp_cmd "$log" "$fifo" "show port stats all"
	a=$(head -n "$l1" "$log" | tp_rx_total /dev/stdin "$l0")
	b=$(tp_rx_total "$log" "$l1")
	tp_quit "$fifo" "$pid"
	FE_LOSS="null"
	FE_MPPS=$(awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.4f\n", (b - a) / (t1 - t0) / 1e6 }')
}

# fe_rsgen_run SIZE WARMUP SECS: bench/rs_gen, port 0 -> port 1.
fe_rsgen_run() {
	local size="$1" warm="$2" secs="$3" out srv=() i pid line
	FE_N=$((FE_N + 1))
	out="$BW/gen$FE_N.out"
	((SYS_FE_SERVER)) && srv=(--server)
	taskset -c "$FE_CPU" "$RS_BUILD/bench/rs_gen" "${srv[@]}" --size "$size" --flows "$BENCH_FLOWS" \
		--ring "$BENCH_RING" \
		--warmup "$warm" --secs "$secs" "$SYS_SOCK0" "$SYS_SOCK1" >"$out" 2>&1 &
	pid=$!
	bench_track "$pid"
	for ((i = 0; i < 600; i++)); do
		grep -qs '^rs_gen: running' "$out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	# The switch's counters and the noise are read inside rs_gen's own window
	# (it starts 'warm' s after "running" and lasts 'secs'), with margins for
	# ringctl/ovs-appctl: a process that has exited has no CPU time to read.
	sleep "$warm"
	sleep 0.3
	sys_cpp_begin
	noise_begin "$SYS_PID" "$OVS_DB_PID" "$pid"
	sleep "$(awk -v s="$secs" 'BEGIN { print (s > 2 ? s - 1 : s / 2) }')"
	FE_OTHERS="$(noise_end)"
	FE_CPP="$(sys_cpp_end)"
	wait "$pid"
	bench_untrack "$pid"
	line="$(grep '^rs_gen: size=' "$out")" || bench_die "rs_gen failed: $(tail -n 3 "$out")"
	read -r FE_MPPS FE_LOSS < <(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%.4f %s\n", v["rx_pps"] / 1e6, v["loss_pct"] }' <<<"$line")
}

# fe_rsgen_idle SECS: two idle guests attached (rs_gen --idle) for SECS; sets FE_IDLE_PID.
fe_rsgen_idle() {
	local secs="$1" out srv=() i
	FE_N=$((FE_N + 1))
	out="$BW/gen$FE_N.out"
	((SYS_FE_SERVER)) && srv=(--server)
	taskset -c "$FE_CPU" "$RS_BUILD/bench/rs_gen" "${srv[@]}" --idle "$secs" --ring "$BENCH_RING" "$SYS_SOCK0" "$SYS_SOCK1" >"$out" 2>&1 &
	FE_IDLE_PID=$!
	bench_track "$FE_IDLE_PID"
	for ((i = 0; i < 600; i++)); do
		grep -qs '^rs_gen: attached' "$out" && return 0
		kill -0 "$FE_IDLE_PID" 2>/dev/null || bench_die "rs_gen --idle failed: $(tail -n 3 "$out")"
		sleep 0.05
	done
	bench_die "rs_gen --idle did not attach within 30 s"
}

# ===========================================================================
# TCP between two network namespaces (bench/tcp.sh, issue 6). The switch under
# test joins two devices that the caller moves into namespaces of its own
# (tcp_ns_attach). Same conventions as above: BW, HUGE_OK, SYS_N, bench_die,
# bench_track, bench_kill; the switch process is SYS_PID, pinned to SW_CPU.
# ===========================================================================

# rsd_tap_start OFFLOADS IF_A IF_B: ringswitchd ('normal', poll-mode
# $RS_POLL_MODE, default adaptive) with two tap ports a and b, devices IF_A
# and IF_B in the current namespace, 'offloads=OFFLOADS' (on|off) on both;
# OFFLOADS "" leaves the key out (the daemon's default). Sets SYS_PID and
# RSD_RUN; stop it with bench_kill "$SYS_PID" (its tap devices go with it).
rsd_tap_start() {
	local ifa="$2" ifb="$3" i off=()
	[[ -n "$1" ]] && off=("offloads=$1")
	rsd_launch "$(printf 'set pmd-cores=%s poll-mode=%s log-level=warn\n' "$SW_CPU" "${RS_POLL_MODE:-adaptive}")"
	for i in a:"$ifa" b:"$ifb"; do
		rsd_ctl add-port "${i%%:*}" tap "ifname=${i#*:}" "${off[@]}" >"$RSD_RUN/add-port.out" 2>&1 ||
			bench_die "ringctl add-port ${i%%:*} tap ifname=${i#*:} ${off[*]} failed: $(cat "$RSD_RUN/add-port.out")"
	done
}

# ovs_boot [KEY=VALUE...]: a private ovsdb-server and ovs-vswitchd-dpdk (DPDK
# initialised, lcore and PMD masks on SW_CPU, hugepages when HUGE_OK; what
# ovs_start and ovs_tap_start build their bridge on), with the extra Open_vSwitch other_config keys set before the
# daemon starts (userspace-tso-enable is read only at start). No bridge. Sets
# OVS_DIR, OVS_DB_PID, OVS_BR (the name for a bridge) and SYS_PID; ovs_stop
# stops it.
ovs_boot() {
	local i extra mem mask kv oc=()
	OVS_DIR="$BW/ovs$SYS_N"
	OVS_BR="rsb$$x$SYS_N" # a netdev bridge creates a tap of its name: unique, <= 15 chars
	mkdir -p "$OVS_DIR"
	export OVS_RUNDIR="$OVS_DIR" OVS_LOGDIR="$OVS_DIR" OVS_DBDIR="$OVS_DIR" OVS_SYSCONFDIR="$OVS_DIR"
	ovsdb-tool create "$OVS_DIR/conf.db" "$OVS_SCHEMA" || bench_die "ovsdb-tool create failed"
	taskset -c "$SW_CPU" ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" \
		--unixctl="$OVS_DIR/ovsdb.ctl" --pidfile="$OVS_DIR/ovsdb.pid" --no-chdir \
		--log-file="$OVS_DIR/ovsdb.log" -vconsole:off >/dev/null 2>&1 &
	OVS_DB_PID=$!
	bench_track "$OVS_DB_PID"
	for ((i = 0; i < 100; i++)); do
		[[ -S "$OVS_DIR/db.sock" ]] && break
		sleep 0.1
	done
	ovs_vsctl init || bench_die "ovs-vsctl init failed ($(tail -n 3 "$OVS_DIR/ovsdb.log"))"
	mask=$(printf '0x%x' $((1 << SW_CPU)))
	if ((HUGE_OK)); then
		mem=(other_config:dpdk-socket-mem=1024)
		extra="--huge-dir $BW/huge --file-prefix rsbovs$$ --no-pci --no-telemetry"
	else
		mem=()
		extra="--no-huge --legacy-mem -m 2048 --file-prefix rsbovs$$ --no-pci --no-telemetry"
	fi
	for kv in "$@"; do oc+=("other_config:$kv"); done
	ovs_vsctl set Open_vSwitch . other_config:dpdk-init=true \
		other_config:dpdk-lcore-mask="$mask" other_config:pmd-cpu-mask="$mask" \
		"${mem[@]}" other_config:dpdk-extra="$extra" "${oc[@]}" || bench_die "ovs-vsctl set failed"
	taskset -c "$SW_CPU" "$OVS_VSWITCHD" "unix:$OVS_DIR/db.sock" --unixctl="$OVS_DIR/vswitchd.ctl" \
		--pidfile="$OVS_DIR/vswitchd.pid" --no-chdir --log-file="$OVS_DIR/vswitchd.log" \
		-vconsole:off >/dev/null 2>&1 &
	SYS_PID=$!
	bench_track "$SYS_PID"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$SYS_PID" 2>/dev/null || bench_die "ovs-vswitchd exited: $(tail -n 5 "$OVS_DIR/vswitchd.log")"
		[[ -S "$OVS_DIR/vswitchd.ctl" ]] && ovs_appctl version >/dev/null 2>&1 && break
		sleep 0.1
	done
	((i < 300)) || bench_die "ovs-vswitchd did not answer within 30 s"
	grep -q 'DPDK Enabled - initialized' <(ovs_vsctl get Open_vSwitch . dpdk_initialized 2>/dev/null; cat "$OVS_DIR/vswitchd.log") ||
		[[ "$(ovs_vsctl get Open_vSwitch . dpdk_initialized)" == true ]] ||
		bench_die "OVS: DPDK not initialised: $(grep -i -E 'dpdk|error' "$OVS_DIR/vswitchd.log" | tail -n 5)"
}

# ovs_tap_start TSO IF_A IF_B: ovs_boot with userspace-tso-enable=TSO
# (true|false), then a netdev bridge (default flow NORMAL) with two ports of
# type tap, IF_A (ofport 1) and IF_B (ofport 2): tap devices that OVS creates
# in the current namespace and polls from its main thread. Sets what ovs_boot
# sets; ovs_stop stops it.
ovs_tap_start() {
	local tso="$1" ifa="$2" ifb="$3" i
	ovs_boot "userspace-tso-enable=$tso"
	ovs_vsctl add-br "$OVS_BR" -- set bridge "$OVS_BR" datapath_type=netdev \
		-- add-port "$OVS_BR" "$ifa" -- set Interface "$ifa" type=tap ofport_request=1 \
		-- add-port "$OVS_BR" "$ifb" -- set Interface "$ifb" type=tap ofport_request=2 ||
		bench_die "ovs-vsctl add-br with tap ports failed"
	for ((i = 0; i < 100; i++)); do
		[[ "$(ovs_vsctl get Interface "$ifb" ofport 2>/dev/null)" == 2 ]] && ip link show "$ifb" >/dev/null 2>&1 && break
		sleep 0.1
	done
	((i < 100)) || bench_die "OVS: tap ports did not appear: $(tail -n 5 "$OVS_DIR/vswitchd.log")"
}

# tcp_ns_attach NS IF ADDR/LEN: move device IF into namespace NS (created
# when missing), address it and bring it and lo up.
tcp_ns_attach() {
	local ns="$1" dev="$2" addr="$3"
	[[ -e "/run/netns/$ns" ]] || ip netns add "$ns" || bench_die "ip netns add $ns failed"
	ip link set "$dev" netns "$ns" || bench_die "cannot move $dev into $ns"
	ip -n "$ns" link set lo up &&
		ip -n "$ns" addr add "$addr" dev "$dev" &&
		ip -n "$ns" link set "$dev" up || bench_die "cannot address or bring up $dev in $ns"
}

# 2 MiB pages for the DPDK switches in a private hugetlbfs mount under
# $BW/huge, reserved (1024) and mounted only as root; bench_huge_release
# unmounts it and gives the reservation back. Sets HUGE_OK=1 when DPDK can
# use it, else the caller runs DPDK with --no-huge ('WHO' names it in the log).
HUGE_OK=0 HUGE_ORIG="" HUGE_MOUNTED=0
bench_huge_setup() {
	local have free
	(($(id -u) == 0)) || return 0
	mkdir -p "$BW/huge"
	have=$(cat /proc/sys/vm/nr_hugepages)
	if ((have < 1024)); then
		HUGE_ORIG="$have"
		echo 1024 >/proc/sys/vm/nr_hugepages 2>/dev/null
	fi
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	((free >= 700)) || { bench_log "only $free free hugepages: $1 with --no-huge"; return 0; }
	mount -t hugetlbfs -o pagesize=2M,mode=0700 nodev "$BW/huge" || return 0
	HUGE_MOUNTED=1 HUGE_OK=1
}

bench_huge_release() {
	if ((HUGE_MOUNTED)); then
		umount "$BW/huge" 2>/dev/null || bench_log "WARNING: could not unmount $BW/huge"
	fi
	[[ -n "$HUGE_ORIG" ]] && echo "$HUGE_ORIG" >/proc/sys/vm/nr_hugepages
	HUGE_MOUNTED=0 HUGE_ORIG=""
}
