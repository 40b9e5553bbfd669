#!/usr/bin/env bash
# Run every end-to-end test (tests/e2e/test_*.sh), each under a time bound.
#
# Usage: tests/e2e/run.sh [BUILD_DIR [GUEST_DIR]]
#   BUILD_DIR  meson build dir with tools/ringswitch-loopback
#              (default: $RS_BUILD or build)
#   GUEST_DIR  guest assets; built by scripts/build-guest.sh when missing or
#              stale (default: $RS_GUEST_DIR or BUILD_DIR/guest)
# Environment:
#   RS_E2E_TESTS="testpmd qemu"  run only these tests
#   RS_E2E_TIMEOUT=600           seconds allowed per test
#   RS_E2E_LOGS=DIR              keep each test's full output there
#                                (default: BUILD_DIR/e2e-logs)
#   RS_E2E_SWITCH=testpmd        run against DPDK's vhost back-end instead of
#                                the loopback tool (harness self-check)
#
# Prints PASS name / FAIL name / SKIP name (reason) per test, the "figure:"
# lines the tests report, and ends with "N passed, N failed[, N skipped]".
# Exits non-zero if any test failed.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
abspath() { mkdir -p "$1" && (cd "$1" && pwd); }
RS_BUILD="$(abspath "${1:-${RS_BUILD:-$REPO/build}}")"
RS_GUEST_DIR="$(abspath "${2:-${RS_GUEST_DIR:-$RS_BUILD/guest}}")"
export RS_BUILD RS_GUEST_DIR
LOGS="$(abspath "${RS_E2E_LOGS:-$RS_BUILD/e2e-logs}")"
TIMEOUT="${RS_E2E_TIMEOUT:-600}"

if ! command -v timeout >/dev/null; then
    echo "run.sh: 'timeout' not found: install Debian package 'coreutils'" >&2
    exit 2
fi

passed=0 failed=0 skipped=0
t_start=$SECONDS

tests=()
for t in "$HERE"/test_*.sh; do
    name="$(basename "$t" .sh)"
    name="${name#test_}"
    if [[ -n "${RS_E2E_TESTS:-}" && " $RS_E2E_TESTS " != *" $name "* ]]; then
        continue
    fi
    tests+=("$t")
done

# Guest assets (only the QEMU tests need them; building is idempotent).
guest_ok=1
if grep -q '^# e2e-needs: guest' "${tests[@]}" 2>/dev/null; then
    if ! "$REPO/scripts/build-guest.sh" "$RS_GUEST_DIR" >"$LOGS/build-guest.log" 2>&1; then
        guest_ok=0
        echo "run.sh: scripts/build-guest.sh failed:" >&2
        tail -n 20 "$LOGS/build-guest.log" >&2
    fi
fi

for t in "${tests[@]}"; do
    name="$(basename "$t" .sh)"
    name="${name#test_}"
    log="$LOGS/$name.log"
    if ((guest_ok == 0)) && grep -q '^# e2e-needs: guest' "$t"; then
        echo "FAIL $name (guest assets could not be built, see $LOGS/build-guest.log)"
        failed=$((failed + 1))
        continue
    fi
    t0=$SECONDS
    # timeout(1) puts itself and the test in a process group of their own:
    # after the test, whatever of that group is left (a test killed before
    # its cleanup ran) is killed by the group's id.
    timeout -k 60 "$TIMEOUT" bash "$t" >"$log" 2>&1 </dev/null &
    tpid=$!
    wait "$tpid"
    rc=$?
    kill -KILL -- "-$tpid" 2>/dev/null && echo "run.sh: killed processes left by $name" >&2
    dt=$((SECONDS - t0))
    grep -a '^figure:' "$log"
    case $rc in
    0)
        echo "PASS $name (${dt} s)"
        passed=$((passed + 1))
        ;;
    77)
        reason="$(grep -a '^SKIP:' "$log" | tail -n 1 | sed 's/^SKIP: *//')"
        echo "SKIP $name (${reason:-no reason given})"
        skipped=$((skipped + 1))
        ;;
    *)
        ((rc == 124 || rc == 137)) && echo "run.sh: $name timed out after ${TIMEOUT} s" >&2
        echo "----- last lines of $log" >&2
        tail -n 40 "$log" >&2
        echo "----- why:" >&2
        grep -a '^FAIL:' "$log" >&2
        echo "FAIL $name (${dt} s, exit $rc)"
        failed=$((failed + 1))
        ;;
    esac
done

echo "e2e: $((SECONDS - t_start)) s, logs in $LOGS" >&2
summary="$passed passed, $failed failed"
((skipped > 0)) && summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
