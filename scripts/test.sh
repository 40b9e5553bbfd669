#!/usr/bin/env bash
# test.sh - the whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. gcc build, unit + integration tests (cmocka)
#   2. clang build with AddressSanitizer + UndefinedBehaviorSanitizer, same tests
#  2b. clang build with ThreadSanitizer, the datapath race test alone (test_sw_churn,
#      RS_TSAN_SECS of churn, default 15)
#   3. libFuzzer targets, each for RS_FUZZ_SECONDS (default 20) from its seed corpus
#   4. end-to-end tests against real peers (QEMU guests, dpdk-testpmd): tests/e2e/run.sh
#   5. the benchmark's smoke run (bench/run.sh --smoke, about 30 s: every system
#      of the side-by-side benchmark, OVS-DPDK included, must forward frames)
#  5b. the same-process A/B harness built with -Dab_toggle=true, an A/A run
#      with rs_gen (bench/toggle.sh): both phases must report, B/A within 10% of 1
# Ends with one line "N passed, N failed". Set RS_SKIP_E2E=1 to skip stage 4,
# RS_SKIP_BENCH=1 to skip stages 5 and 5b.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh || { echo "test.sh: dependency installation failed"; exit 1; }

passed=0
failed=0
failures=()

# Adds the counts of a "meson test" run, read from its JSON log.
count_meson() {
	local dir=$1 label=$2 ok bad
	ok=$(grep -c '"result": "OK"' "$dir/meson-logs/testlog.json" 2>/dev/null || true)
	bad=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$dir/meson-logs/testlog.json" 2>/dev/null || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
	echo "== $label: $ok passed, $bad failed"
	[ "$bad" -eq 0 ] || failures+=("$label")
}

run_meson_suite() {
	local dir=$1 label=$2
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs --suite unit --suite integration --num-processes 2 \
		>"$dir.test.log" 2>&1
	grep -E '^ *[0-9]+/[0-9]+ ' "$dir.test.log" | sed 's/^/   /'
	count_meson "$dir" "$label"
	if grep -qE '"result": "(FAIL|TIMEOUT|ERROR)"' "$dir/meson-logs/testlog.json" 2>/dev/null; then
		sed -n '/^=* *[0-9]*\/[0-9]* .*FAIL/,$p' "$dir.test.log" | head -150
	fi
}

echo "== stage 1: gcc build and tests"
if scripts/build.sh build gcc; then
	run_meson_suite build "gcc unit+integration"
else
	failed=$((failed + 1)); failures+=("gcc build")
fi

echo "== stage 2: clang + ASan + UBSan build and tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if scripts/build.sh build-asan clang -Db_sanitize=address,undefined -Db_lundef=false; then
	run_meson_suite build-asan "asan+ubsan unit+integration"
else
	failed=$((failed + 1)); failures+=("asan build")
fi

echo "== stage 2b: clang + ThreadSanitizer: forwarding threads under control-plane churn"
if scripts/build.sh build-tsan clang -Db_sanitize=thread -Db_lundef=false; then
	rm -f build-tsan/meson-logs/testlog.json
	TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1 RS_CHURN_SECS=${RS_TSAN_SECS:-15} \
		meson test -C build-tsan --print-errorlogs test_sw_churn >build-tsan.test.log 2>&1
	grep -E '^ *[0-9]+/[0-9]+ ' build-tsan.test.log | sed 's/^/   /'
	count_meson build-tsan "tsan test_sw_churn"
	if ! grep -q '"result": "OK"' build-tsan/meson-logs/testlog.json 2>/dev/null; then
		failed=$((failed + 1)); failures+=("tsan test_sw_churn did not pass")
	fi
	grep -qE '"result": "(FAIL|TIMEOUT|ERROR)"' build-tsan/meson-logs/testlog.json 2>/dev/null &&
		grep -A40 'WARNING: ThreadSanitizer' build-tsan.test.log | head -150
else
	failed=$((failed + 1)); failures+=("tsan build")
fi

echo "== stage 3: fuzzers"
secs=${RS_FUZZ_SECONDS:-20}
if scripts/build.sh build-fuzz clang -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false; then
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=$(basename "$f")
		work=$(mktemp -d)
		cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
		if (cd "$work" && "$root/$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 "$work" >"$work/log" 2>&1); then
			execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
			echo "   PASS $name (${execs:-?} runs in ${secs}s)"
			passed=$((passed + 1))
		else
			echo "   FAIL $name"; tail -60 "$work/log"
			ls "$work"/crash-* "$work"/timeout-* 2>/dev/null
			failed=$((failed + 1)); failures+=("$name")
		fi
		rm -rf "$work"
	done
else
	failed=$((failed + 1)); failures+=("fuzz build")
fi

if [ "${RS_SKIP_E2E:-0}" = "1" ]; then
	echo "== stage 4: end-to-end tests skipped (RS_SKIP_E2E=1)"
elif [ -x tests/e2e/run.sh ]; then
	echo "== stage 4: end-to-end tests against real peers"
	tests/e2e/run.sh build | tee build.e2e.log
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' build.e2e.log | tail -1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | awk '{print $1}'); fl=$(echo "$line" | awk '{print $3}')
		passed=$((passed + p)); failed=$((failed + fl))
		[ "$fl" -eq 0 ] || failures+=("e2e")
	else
		failed=$((failed + 1)); failures+=("e2e runner")
	fi
fi

if [ "${RS_SKIP_BENCH:-0}" = "1" ]; then
	echo "== stages 5 and 5b: benchmark smoke run and A/A run skipped (RS_SKIP_BENCH=1)"
else
	echo "== stage 5: benchmark smoke run (bench/run.sh --smoke)"
	if bench/install-bench-deps.sh && bench/run.sh --smoke --out "$root/build-bench-smoke" \
		>build.bench-smoke.log 2>&1; then
		echo "   PASS bench smoke"
		grep -E '^rsgen ' build.bench-smoke.log | sed 's/^/   /'
		passed=$((passed + 1))
	else
		echo "   FAIL bench smoke"; tail -40 build.bench-smoke.log
		failed=$((failed + 1)); failures+=("bench smoke")
	fi
	# The same-process A/B harness (src/lib/ab.h): with no RS_AB() branch left
	# in the tree both phases run the same code, so B/A must come out near 1.
	echo "== stage 5b: same-process A/B harness, an A/A run (bench/toggle.sh)"
	left=$(grep -rln 'RS_AB(' src --include='*.c')
	if [ -n "$left" ]; then
		echo "   FAIL A/A: RS_AB() experiments left in $left"
		failed=$((failed + 1)); failures+=("toggle A/A")
	elif bench/toggle.sh --fe rsgen --secs 3 --runs 1 >build.toggle-aa.log 2>&1 &&
		awk '/median B\/A/ { r = $6 } END { exit !(r >= 0.9 && r <= 1.1) }' build.toggle-aa.log; then
		echo "   PASS A/A"; sed 's/^/   /' build.toggle-aa.log
		passed=$((passed + 1))
	else
		echo "   FAIL A/A"; tail -20 build.toggle-aa.log
		failed=$((failed + 1)); failures+=("toggle A/A")
	fi
fi

[ ${#failures[@]} -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
