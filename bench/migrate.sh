#!/usr/bin/env bash
# bench/migrate.sh - live migration of a QEMU guest through OVS-DPDK and
# through ringswitchd (issue 15): QEMU's downtime and the pings lost, side by
# side, in one table.
#
# Per system: a switch with three vhost-user ports A, A2 and B; a peer guest
# on B; the migrating guest's first QEMU on A. Then N migrations back and
# forth (A -> A2 -> A -> ...): a destination QEMU (the same command line but
# its vhost-user socket, its QMP socket and -incoming defer) is started on the
# free port, the peer pings the guest every 10 ms, the guest migrates over
# QMP (tcp:127.0.0.1, max-bandwidth 4 GiB/s, downtime-limit 300 ms unless
# MIG_DOWNTIME_LIMIT says otherwise), the source QEMU quits once the
# destination runs, 2 s later the ping stops. Guests as in tests/e2e (TCG,
# memory-backend-memfd share=on, vectors=0, the kernel and initramfs of
# scripts/build-guest.sh); the migrating guest has 512 MiB - 8 KiB of RAM,
# since QEMU 7.2 under TCG loses guest writes in live migration when the
# RAM is a multiple of 256 KiB (tests/e2e/lib.sh, E2E_MIG_MEM).
#   ovs  OVS-DPDK (ovs-vswitchd-dpdk 3.1, private ovsdb as in bench/run.sh),
#        netdev bridge, default flow NORMAL, dpdkvhostuserclient ports (QEMU
#        listens: server=on); by default no checksum or TSO offload
#   rs   ringswitchd ('normal'), vhost-user-server ports (QEMU connects);
#        offloads on by default
# Each migration reports: QEMU's downtime (query-migrate 'downtime': from
# the source's stop to the end of the source's side), its total time, the
# pings lost (sent at least 100 ms before the ping stopped and never
# answered; busybox ping -i 0.01 in the peer), the longest run of lost pings
# in ms (the outage the network saw, which includes the destination's vhost
# start and the MAC move), and the port the switch's MAC table has the guest
# on 2 s after the source quit. A migration that fails (not completed, the
# destination died, no answer) ends that system's repetition and is listed
# with the guest kernel's last words.
# The switch runs on CPU $SW_CPU (1); the QEMUs are not pinned (TCG guests
# need both CPUs). Systems are interleaved per repetition (ovs rs ovs rs...).
#
# Usage: bench/migrate.sh [--systems "ovs rs"] [--migrations N] [--reps R]
#                         [--queues Q] [--announce on|off] [--iperf] [--pages]
#                         [--rs-offloads on|off] [--no-huge] [--out DIR] [--smoke]
#   --migrations N   migrations per system and repetition (default 5)
#   --reps R         repetitions (default 1)
#   --queues Q       queue pairs of the migrating guest (default 1)
#   --announce off   guest_announce=off on the migrating guest's NIC: the
#                    switch learns the new port from the RARP that QEMU has
#                    the back-end send (SEND_RARP), not from the guest
#   --iperf          an iperf3 TCP stream peer -> guest during each migration
#                    (12 s; column iperf3 Mbit/s)
#   --pages          no-lost-page check: every destination starts paused
#                    (-S), an iperf3 TCP stream peer -> guest runs, and once
#                    the migration completed both QEMUs save the guest's RAM
#                    from 1 MiB up (QMP pmemsave), compared page by page
#                    (column "pages differing": those in the guest's
#                    virtqueues' used rings and device-writable buffers /
#                    all, tests/e2e/lib.sh e2e_mig_ram_diff); then the
#                    destination runs (cont). OVS then runs with
#                    userspace-tso-enable=true, so that both switches carry
#                    TSO super-frames into the guest's mergeable buffers.
#                    Pings lost then include the pause.
#   --rs-offloads off  ringswitchd's ports with offloads=off (no checksum or
#                    TSO negotiated, as OVS-DPDK by default)
#   --smoke          2 migrations, 1 repetition
# Examples: bench/migrate.sh                      # ~5 min: 5 + 5 migrations
#           bench/migrate.sh --iperf --reps 3     # with TCP, interleaved x3
#           bench/migrate.sh --pages --migrations 3
# Environment: RS_BUILD (default build-bench, configured with -Dtests=false
# and built here), RS_GUEST_DIR (default build/guest, built by
# scripts/build-guest.sh when missing), MIG_DOWNTIME_LIMIT (ms),
# SW_CPU, BENCH_KEEP=1 keeps the work directory.
# Needs root, qemu-system-x86, python3, jq, cmp (diffutils),
# openvswitch-switch-dpdk (bench/install-bench-deps.sh). About 2.5 min per
# system and repetition with 5 migrations.
# Output: the table on stdout (markdown); OUT/migrate-DATE.json (every
# migration, the summary, the failures) and OUT/migrate-DATE.md (OUT:
# bench/results, or --out DIR). Exit status 0 when every migration completed.
set -uo pipefail

BENCH="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$BENCH/.." && pwd)"
RS_BUILD="${RS_BUILD:-$REPO/build-bench}"
RS_GUEST_DIR="${RS_GUEST_DIR:-$REPO/build/guest}"
export RS_BUILD RS_GUEST_DIR

SYSTEMS="ovs rs" MIGS=5 REPS=1 QUEUES=1 ANNOUNCE=on IPERF=0 PAGES=0 RS_OFFLOADS="" HUGE_WANT=1 OUT="$BENCH/results"

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
while (($#)); do
	case "$1" in
	--systems) SYSTEMS="$2"; shift ;;
	--migrations) MIGS="$2"; shift ;;
	--reps) REPS="$2"; shift ;;
	--queues) QUEUES="$2"; shift ;;
	--announce) ANNOUNCE="$2"; shift ;;
	--iperf) IPERF=1 ;;
	--pages) PAGES=1 ;;
	--rs-offloads) RS_OFFLOADS="$2"; shift ;;
	--no-huge) HUGE_WANT=0 ;;
	--out) OUT="$2"; shift ;;
	--smoke) MIGS=2 REPS=1 ;;
	-h | --help) usage ;;
	*) echo "migrate.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done

bench_log() { echo "[$(date +%T)] migrate: $*" >&2; }
bench_die() {
	echo "migrate: ERROR: $*" >&2
	exit 1
}

. "$BENCH/lib.sh"
# The guests, QMP and the migration steps: the end-to-end tests' helpers.
# Their failures (e2e_fail) exit like bench_die.
. "$REPO/tests/e2e/lib.sh"

need() { command -v "$1" >/dev/null 2>&1 || bench_die "'$1' not found (Debian package $2)"; }
(($(id -u) == 0)) || bench_die "needs root (hugepages, QEMU guests)"
need qemu-system-x86_64 qemu-system-x86
need python3 python3
need jq jq
need taskset util-linux
need cmp diffutils
for s in $SYSTEMS; do
	case "$s" in
	rs) ;;
	ovs)
		need ovsdb-tool openvswitch-common
		[[ -x "$OVS_VSWITCHD" ]] ||
			bench_die "$OVS_VSWITCHD not found (openvswitch-switch-dpdk): run bench/install-bench-deps.sh"
		;;
	*) bench_die "unknown system $s" ;;
	esac
done
[[ "$ANNOUNCE" == on || "$ANNOUNCE" == off ]] || bench_die "--announce on|off"

if [[ " $SYSTEMS " == *" rs "* ]]; then
	if [[ ! -f "$RS_BUILD/build.ninja" ]]; then
		meson setup "$RS_BUILD" "$REPO" -Dtests=false >"$RS_BUILD.setup.log" 2>&1 ||
			bench_die "meson setup failed: $(tail -n 5 "$RS_BUILD.setup.log")"
	fi
	ninja -C "$RS_BUILD" ringswitchd ringctl >"$RS_BUILD.ninja.log" 2>&1 ||
		bench_die "build failed: $(tail -n 20 "$RS_BUILD.ninja.log")"
fi
"$REPO/scripts/build-guest.sh" "$RS_GUEST_DIR" >/dev/null 2>&1 ||
	bench_die "scripts/build-guest.sh $RS_GUEST_DIR failed"

BW="$(mktemp -d /tmp/rs-migrate.XXXXXX)" || bench_die "mktemp failed"
chmod 0700 "$BW"
# tests/e2e/lib.sh's state: its files go to the work directory.
E2E_TMP="$BW" E2E_NAME="migrate"

mig_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${E2E_PIDS[@]}"; do
		[[ -n "$pid" ]] && e2e_kill "$pid"
	done
	[[ "$SYS_KIND" == ovs ]] && ovs_stop
	bench_kill_tracked
	bench_huge_release
	rm -rf /var/run/dpdk/rsbovs$$ 2>/dev/null # our --file-prefix
	if [[ "${BENCH_KEEP:-0}" == 1 || $rc != 0 ]]; then
		bench_log "kept $BW"
	else
		rm -rf "$BW"
	fi
	exit "$rc"
}
trap mig_cleanup EXIT
trap 'bench_log interrupted; exit 130' INT TERM

((HUGE_WANT)) && [[ " $SYSTEMS " == *" ovs "* ]] && bench_huge_setup "OVS"

STAMP="$(date +%Y%m%d-%H%M%S)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
bench_log "work dir $BW, hugepages $HUGE_OK, load $LOAD_START; $REPS rep(s) x {$SYSTEMS} x $MIGS migrations, queues $QUEUES, announce $ANNOUNCE, iperf $IPERF, pages $PAGES"

IP_A=169.254.151.1 IP_B=169.254.151.2
MAC_A=52:54:00:97:00:01 MAC_B=52:54:00:97:00:02
SOCK_A="" SOCK_A2="" SOCK_B="" FE_SRV=0

# sys_up SYSTEM: the switch with ports A, A2, B. Sets SOCK_A/A2/B, FE_SRV.
sys_up() {
	local i
	SYS_KIND="$1"
	case "$1" in
	rs)
		local o=""
		[[ -n "$RS_OFFLOADS" ]] && o=" offloads=$RS_OFFLOADS"
		rsd_launch "$(printf 'set pmd-cores=%s log-level=info\nadd-port vmA vhost-user-server queues=2%s\nadd-port vmA2 vhost-user-server queues=2%s\nadd-port vmB vhost-user-server%s\n' "$SW_CPU" "$o" "$o" "$o")"
		SOCK_A="$RSD_RUN/vmA.sock" SOCK_A2="$RSD_RUN/vmA2.sock" SOCK_B="$RSD_RUN/vmB.sock" FE_SRV=0
		;;
	ovs)
		if ((PAGES)); then ovs_boot userspace-tso-enable=true; else ovs_boot; fi
		SOCK_A="$OVS_DIR/A.sock" SOCK_A2="$OVS_DIR/A2.sock" SOCK_B="$OVS_DIR/B.sock" FE_SRV=1
		ovs_vsctl add-br "$OVS_BR" -- set bridge "$OVS_BR" datapath_type=netdev \
			-- add-port "$OVS_BR" pA -- set Interface pA type=dpdkvhostuserclient \
			options:vhost-server-path="$SOCK_A" ofport_request=1 \
			-- add-port "$OVS_BR" pA2 -- set Interface pA2 type=dpdkvhostuserclient \
			options:vhost-server-path="$SOCK_A2" ofport_request=2 \
			-- add-port "$OVS_BR" pB -- set Interface pB type=dpdkvhostuserclient \
			options:vhost-server-path="$SOCK_B" ofport_request=3 || bench_die "ovs-vsctl add-br failed"
		for ((i = 0; i < 100; i++)); do
			[[ "$(ovs_vsctl get Interface pB ofport 2>/dev/null)" == 3 ]] && break
			sleep 0.1
		done
		;;
	esac
}

sys_down() {
	case "$SYS_KIND" in
	rs) bench_kill "$SYS_PID" ;;
	ovs) ovs_stop ;;
	esac
	SYS_PID="" SYS_KIND=""
}

# Which port holds the guest's MAC: "A", "A2", or "-".
fdb_port() {
	case "$SYS_KIND" in
	rs)
		rsd_ctl --json fdb-show 2>/dev/null | jq -r --arg m "$MAC_A" \
			'[.[] | select((.mac | ascii_downcase) == $m) | .port] | first // "-"' 2>/dev/null |
			sed 's/^vm//'
		;;
	ovs)
		# ovs-appctl fdb/show: "port VLAN MAC Age" with OpenFlow port numbers.
		ovs_appctl fdb/show "$OVS_BR" 2>/dev/null | awk -v m="$MAC_A" '
			$3 == m { p = $1 } END { print p == 1 ? "A" : p == 2 ? "A2" : p == 3 ? "B" : "-" }'
		;;
	esac
}

GOPTS=() GEN=0
# guest_start INST SOCK [extra options]: an instance of the migrating guest.
ga_start() {
	local inst="$1" sock="$2"
	shift 2
	e2e_start_guest "$inst" guest=gA mem="$E2E_MIG_MEM" "${GOPTS[@]}" sock="$sock" server="$FE_SRV" qmp="$BW/$inst.qmp" "$@"
}

# run_system REP SYSTEM: one system, MIGS migrations; appends sample lines
# "rep system n from to downtime_ms total_ms setup_ms mib passes tx rx lost gap_ms tail fdb iperf_mbps pages"
run_system() {
	local rep="$1" sys="$2" t0=$SECONDS cur nxt k from to fdb mbps socks pages paused=()
	sys_up "$sys"
	GOPTS=(ip="$IP_A/24" mac="$MAC_A" queues="$QUEUES")
	[[ "$ANNOUNCE" == off ]] && GOPTS+=(devopts=guest_announce=off)
	e2e_start_guest "gB$GEN" ip="$IP_B/24" mac="$MAC_B" sock="$SOCK_B" server="$FE_SRV"
	cur="gA$GEN.0"
	ga_start "$cur" "$SOCK_A"
	e2e_wait_guest "gB$GEN" 150
	e2e_wait_guest "$cur" 150
	# The initramfs's guests ping once before measuring (ARP, learning).
	e2e_ping_ok "gB$GEN" "$IP_A" "$sys before migrating" >/dev/null
	bench_log "$sys: guests up after $((SECONDS - t0)) s"
	socks=("$SOCK_A" "$SOCK_A2")
	((PAGES)) && paused=(paused=1)
	for ((k = 1; k <= MIGS; k++)); do
		nxt="gA$GEN.$k"
		from=$((k % 2 == 1 ? 0 : 1)) to=$((k % 2 == 1 ? 1 : 0))
		ga_start "$nxt" "${socks[$to]}" incoming=defer "${paused[@]}"
		# The destination answers QMP once its vhost-user device is connected.
		e2e_qmp "$nxt" -t 60 query-status >/dev/null || bench_die "$sys: destination $nxt did not come up: $(tail -n 3 "$BW/$nxt.qemu.err")"
		((IPERF || PAGES)) && e2e_mig_iperf_start "$cur" "gB$GEN" "$IP_A" $((PAGES ? 25 : 12))
		e2e_mig_ping_start "gB$GEN" "$IP_A"
		sleep 2
		e2e_mig_migrate "$cur" "$nxt" 180
		pages=null
		if ((PAGES)); then
			e2e_mig_ram_diff "$cur" "$nxt" "$E2E_MIG_MEM_KIB" $((2 * QUEUES))
			pages="$MIG_DIFF_DEV/$MIG_DIFF_PAGES"
			bench_log "$sys migration $k: $MIG_DIFF_PAGES of $MIG_DIFF_TOTAL pages differ, $MIG_DIFF_DEV of them the virtqueues' used rings and device-writable buffers ($MIG_DIFF_DETAIL)"
			e2e_qmp "$nxt" -t 10 cont >/dev/null || bench_die "$sys: cont on $nxt failed"
		fi
		e2e_mig_quit "$cur"
		cur="$nxt"
		sleep 2
		e2e_mig_ping_stop "gB$GEN"
		fdb="$(fdb_port)"
		mbps=null
		if ((IPERF || PAGES)); then
			e2e_mig_iperf_wait "gB$GEN" "$sys migration $k" 60
			mbps="$MIG_IPERF_MBPS"
		fi
		bench_log "$sys rep $rep migration $k: downtime $MIG_DOWNTIME ms, total $MIG_TOTAL ms, pings $MIG_PING_TX sent $MIG_PING_LOST lost (longest gap $MIG_PING_GAP_MS ms, $MIG_PING_TAIL at the end), fdb port $fdb"
		printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$sys" "$k" \
			"$([[ $from == 0 ]] && echo A || echo A2)" "$([[ $to == 0 ]] && echo A || echo A2)" \
			"$MIG_DOWNTIME" "$MIG_TOTAL" "$MIG_SETUP" "$MIG_MB" "$MIG_PASSES" \
			"$MIG_PING_TX" "$MIG_PING_RX" "$MIG_PING_LOST" "$MIG_PING_GAP_MS" "$MIG_PING_TAIL" "$fdb" "$mbps" "$pages" >>"$SAMPLES"
	done
	e2e_mig_quit "$cur"
	e2e_mig_quit "gB$GEN"
	sys_down
	bench_log "$sys rep $rep: $((SECONDS - t0)) s"
}

# measure REP SYSTEM: run_system in a subshell that stops whatever it
# started, however it ends. A migration that fails (it did not complete, the
# destination died, the guest stopped answering) ends that system's
# repetition: it is counted with the guest kernel's last words, if any.
measure() {
	local rep="$1" sys="$2" rc why crash
	GEN=$((GEN + 1)) SYS_N=$((SYS_N + 1))
	(
		trap 'for pid in "${E2E_PIDS[@]}"; do [[ -n "$pid" ]] && e2e_kill "$pid"; done
			[[ "$SYS_KIND" == ovs ]] && ovs_stop; bench_kill_tracked' EXIT
		run_system "$rep" "$sys"
	) 2> >(tee "$BW/run$GEN.err" >&2)
	rc=$?
	sleep 0.5
	((rc == 0)) && return 0
	why="$(grep -a '^FAIL:' "$BW/run$GEN.err" | tail -n 1 | sed 's/^FAIL: migrate: //' | cut -c1-200)"
	crash="$(cat "$BW"/gA$GEN.*.log 2>/dev/null | tr -d '\r' | grep -a -E 'BUG:|Oops|RIP:|panic|soft lockup' | head -n 2 | tr '\n' ' ' | cut -c1-200)"
	bench_log "$sys rep $rep: FAILED: $why; guest kernel: ${crash:-nothing}"
	printf '%s\t%s\t%s\t%s\n' "$rep" "$sys" "$why" "${crash:--}" >>"$FAILS"
}

SAMPLES="$BW/samples.tsv" FAILS="$BW/fails.tsv"
: >"$SAMPLES"
: >"$FAILS"
for ((rep = 1; rep <= REPS; rep++)); do
	for sys in $SYSTEMS; do
		measure "$rep" "$sys"
	done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------
# Report: table on stdout, JSON and markdown in OUT.
# ---------------------------------------------------------------------------
mkdir -p "$OUT"
python3 - "$SAMPLES" "$OUT/migrate-$STAMP" "$SYSTEMS" "$FAILS" \
	"date=$STAMP" "git=$(git -C "$REPO" describe --always --dirty 2>/dev/null)" \
	"load_start=$LOAD_START" "load_end=$LOAD_END" "reps=$REPS" "migrations=$MIGS" \
	"queues=$QUEUES" "announce=$ANNOUNCE" "iperf=$IPERF" "pages=$PAGES" "rs_offloads=${RS_OFFLOADS:-on}" "hugepages=$HUGE_OK" \
	"downtime_limit_ms=${MIG_DOWNTIME_LIMIT:-300}" "sw_cpu=$SW_CPU" <<'EOF'
import json, statistics, sys

samples_f, out, systems, fails_f = sys.argv[1:5]
meta = dict(kv.split("=", 1) for kv in sys.argv[5:])
fails = [dict(zip(["rep", "system", "why", "guest_kernel"], l.rstrip("\n").split("\t")))
         for l in open(fails_f) if l.strip()]
cols = ["rep", "system", "n", "from", "to", "downtime_ms", "total_ms", "setup_ms", "mib", "passes",
        "pings_sent", "pings_received", "pings_lost", "longest_gap_ms", "lost_at_end", "fdb_port",
        "iperf_mbps", "pages_differing"]
rows = []
for line in open(samples_f):
    p = line.rstrip("\n").split("\t")
    if len(p) != len(cols):
        continue
    r = dict(zip(cols, p))
    for k in cols:
        if k not in ("system", "from", "to", "fdb_port", "pages_differing"):
            try:
                r[k] = float(r[k]) if "." in r[k] else int(r[k])
            except ValueError:
                r[k] = None
    rows.append(r)

NAMES = {"ovs": "OVS-DPDK 3.1", "rs": "ringswitchd"}


def st(v):
    v = [x for x in v if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def fmt(s, d=0):
    if not s:
        return "-"
    if s["min"] == s["max"]:
        return f"{s['median']:.{d}f}"
    return f"{s['median']:.{d}f} ({s['min']:.{d}f}-{s['max']:.{d}f})"


summary = []
for s in systems.split():
    rs = [r for r in rows if r["system"] == s]
    summary.append({
        "system": s, "migrations": len(rs),
        "downtime_ms": st([r["downtime_ms"] for r in rs]),
        "total_ms": st([r["total_ms"] for r in rs]),
        "pings_lost": st([r["pings_lost"] for r in rs]),
        "longest_gap_ms": st([r["longest_gap_ms"] for r in rs]),
        "lost_at_end": sum(r["lost_at_end"] or 0 for r in rs),
        "fdb_on_destination": sum(1 for r in rs if r["fdb_port"] == r["to"]),
        "iperf_mbps": st([r["iperf_mbps"] for r in rs]),
        "pages_differing": [r["pages_differing"] for r in rs],
        "failed": [f for f in fails if f["system"] == s],
    })

hdr = ["switch", "migrations (failed)", "QEMU downtime ms", "total ms", "pings lost (10 ms)",
       "longest outage ms", "lost at end", "MAC on destination"]
if meta.get("iperf") == "1" or meta.get("pages") == "1":
    hdr.append("iperf3 Mbit/s")
if meta.get("pages") == "1":
    hdr.append("pages differing (rings+buffers/all)")
lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
for x in summary:
    cells = [NAMES.get(x["system"], x["system"]), "%d (%d)" % (x["migrations"] + len(x["failed"]), len(x["failed"])),
             fmt(x["downtime_ms"]),
             fmt(x["total_ms"]), fmt(x["pings_lost"]), fmt(x["longest_gap_ms"]),
             str(x["lost_at_end"]), "%d/%d" % (x["fdb_on_destination"], x["migrations"])]
    if meta.get("iperf") == "1" or meta.get("pages") == "1":
        cells.append(fmt(x["iperf_mbps"], 1))
    if meta.get("pages") == "1":
        cells.append(" ".join(str(v) for v in x["pages_differing"]))
    lines.append("| " + " | ".join(cells) + " |")
note = ("Medians (min-max) over every migration; queues=%s, guest announce %s, downtime-limit %s ms, "
        "%s, load %s -> %s." % (meta["queues"], meta["announce"], meta["downtime_limit_ms"],
                                meta["date"], meta["load_start"], meta["load_end"]))
if meta.get("pages") == "1":
    note += (" --pages: destinations started paused, RAM compared before they ran (pings lost "
             "include the pause); OVS with userspace-tso-enable=true.")
for f in fails:
    note += "\nFailed: %s rep %s: %s; guest kernel: %s" % (NAMES.get(f["system"], f["system"]), f["rep"],
                                                        f["why"], f["guest_kernel"])
table = "\n".join(lines)
print(table)
print(note)
with open(out + ".md", "w") as f:
    f.write(table + "\n\n" + note + "\n")
with open(out + ".json", "w") as f:
    json.dump({"meta": meta, "summary": summary, "migrations": rows, "failed": fails}, f, indent=1)
print("saved %s.json and %s.md" % (out, out), file=sys.stderr)
ok = all(x["migrations"] > 0 for x in summary) and not fails
sys.exit(0 if ok else 1)
EOF
