#!/usr/bin/env bash
# bench/toggle.sh - a candidate change measured inside one switch (src/lib/ab.h).
# Builds ringswitchd with -Dab_toggle=true into AB_BUILD (default build-ab),
# then, RUNS times per system, runs bench/run.sh with it for one window of SECS:
# the forwarding thread alternates phase A (every RS_AB() false) and phase B
# (the bits of --mask set) every 20 ms and reports each phase's rate
# (src/dp/dp_ab.c). Prints each run's rates and B/A, then the median B/A.
# Both phases meet the same placement and neighbours, which separate runs on
# this shared machine do not: with no RS_AB() branch in the tree (both phases
# the same code) B/A came out 1.004 where single samples of one build ranged
# 1.5-7.4 Mpps within minutes.
#
# Usage: bench/toggle.sh [--mask N] [--fe testpmd|rsgen] [--systems "rs-p2p-busy ..."]
#                        [--secs S] [--runs N] [--size BYTES]
#   defaults: --mask 1 --fe testpmd --systems rs-p2p-busy --secs 20 --runs 2 --size 64
set -uo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
AB_BUILD="${AB_BUILD:-$REPO/build-ab}"
MASK=1 FE=testpmd SYSTEMS=rs-p2p-busy SECS=20 RUNS=2 SIZE=64

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
while (($#)); do
	case "$1" in
	--mask) MASK="$2"; shift ;;
	--fe) FE="$2"; shift ;;
	--systems) SYSTEMS="$2"; shift ;;
	--secs) SECS="$2"; shift ;;
	--runs) RUNS="$2"; shift ;;
	--size) SIZE="$2"; shift ;;
	-h | --help) usage ;;
	*) echo "toggle.sh: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done
for s in $SYSTEMS; do
	[[ "$s" == rs-* ]] || { echo "toggle.sh: '$s' is not a ringswitch system" >&2; exit 2; }
done

if [[ ! -f "$AB_BUILD/build.ninja" ]]; then
	meson setup "$AB_BUILD" "$REPO" -Dtests=false -Dab_toggle=true >"$AB_BUILD.setup.log" 2>&1 ||
		{ echo "toggle.sh: meson setup failed: $(tail -n 5 "$AB_BUILD.setup.log")" >&2; exit 1; }
fi
ninja -C "$AB_BUILD" >"$AB_BUILD.ninja.log" 2>&1 ||
	{ echo "toggle.sh: build failed: $(tail -n 5 "$AB_BUILD.ninja.log")" >&2; exit 1; }

WORK="$(mktemp -d /tmp/rs-toggle.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
status=0
for sys in $SYSTEMS; do
	ratios=()
	for ((r = 1; r <= RUNS; r++)); do
		rm -f "$WORK/ab.txt"
		RS_AB_MASK="$MASK" RS_AB_OUT="$WORK/ab.txt" RS_BUILD="$AB_BUILD" "$REPO/bench/run.sh" \
			--reps 1 --warmup 1 --secs "$SECS" --fe "$FE" --sizes "$SIZE" --idle-secs 0 \
			--systems "$sys" --out "$WORK/out" >"$WORK/run.log" 2>&1
		if [[ ! -s "$WORK/ab.txt" ]]; then
			echo "toggle.sh: $sys run $r: no phase report ($(tail -n 2 "$WORK/run.log"))" >&2
			status=1
			continue
		fi
		read -r _ a b ratio secs < <(tail -n 1 "$WORK/ab.txt")
		printf '%s %s %sB run %d: A %.3f Mpps  B %.3f Mpps  B/A %.3f  (%s s)\n' \
			"$FE" "$sys" "$SIZE" "$r" "$a" "$b" "$ratio" "$secs"
		ratios+=("$ratio")
	done
	((${#ratios[@]})) && printf '%s %s %sB: median B/A %s over %d runs (mask %s)\n' "$FE" "$sys" "$SIZE" \
		"$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')" \
		"${#ratios[@]}" "$MASK"
done
exit $status
