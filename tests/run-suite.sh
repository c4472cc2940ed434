#!/usr/bin/env bash
# run-suite.sh - runs the whole ctest suite N times and prints, per test, how often it failed or
# was skipped: the check that the suite never lies (issue 13: 0 failures in 10 idle and 5 loaded
# runs). With --load, CPU hogs (one per CPU unless a count is given) run at normal priority for
# the whole time, as on a busy CI machine; they are this script's children and end with it.
#
#   tests/run-suite.sh [--runs N] [--load [HOGS]] [--build-dir DIR] [-- CTEST_ARGS...]
#
# Defaults: 10 runs, no load, build/ci (built beforehand, e.g. `cmake --workflow --preset test`).
# Each failing test's output is kept under a temp dir whose path is printed. Exits 1 if any test
# failed in any run.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10 hogs=0 build=build/ci
ctest_args=()
while (($#)); do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --load)
        hogs=$(nproc)
        if [[ ${2:-} =~ ^[0-9]+$ ]]; then hogs=$2; shift; fi
        shift ;;
    --build-dir) build=$2; shift 2 ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "usage: $0 [--runs N] [--load [HOGS]] [--build-dir DIR] [-- CTEST_ARGS...]" >&2; exit 2 ;;
    esac
done
[[ -f "$build/CTestTestfile.cmake" ]] || { echo "run-suite: no ctest tree in $build (build first)" >&2; exit 2; }

out=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-run-suite.XXXXXX")
hog_pids=()
stop_hogs()
{
    local p
    for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${hog_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    hog_pids=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
for ((i = 0; i < hogs; i++)); do
    bash -c 'while :; do :; done' &
    hog_pids+=($!)
done
echo "run-suite: $runs runs of $build, $hogs CPU hogs, logs in $out"

declare -A failed=() skipped=() passed=()
for ((r = 1; r <= runs; r++)); do
    log=$out/run$r.log
    start=$(date +%s)
    ctest --test-dir "$build" --output-on-failure -j2 "${ctest_args[@]}" >"$log" 2>&1 || true
    # "  3/40 Test  #3: name ....   Passed    1.23 sec" / "***Failed" / "***Skipped" / "***Timeout"
    while read -r name status; do
        case $status in
        Passed) passed[$name]=$((${passed[$name]:-0} + 1)) ;;
        Skipped) skipped[$name]=$((${skipped[$name]:-0} + 1)) ;;
        *) failed[$name]=$((${failed[$name]:-0} + 1)) ;;
        esac
    done < <(sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) [ .]*\**\([A-Za-z]*\).*/\1 \2/p' "$log")
    summary=$(grep -E 'tests passed, [0-9]+ tests failed' "$log" || echo "no summary (see $log)")
    echo "run $r/$runs ($(($(date +%s) - start)) s): $summary"
done

total_failed=0
echo "run-suite: per test over $runs runs (failed / skipped / passed):"
mapfile -t names < <(printf '%s\n' "${!passed[@]}" "${!failed[@]}" "${!skipped[@]}" | LC_ALL=C sort -u)
for n in "${names[@]}"; do
    f=${failed[$n]:-0} s=${skipped[$n]:-0} p=${passed[$n]:-0}
    total_failed=$((total_failed + f))
    if ((f > 0 || s > 0)); then
        printf '  %-40s failed %2d  skipped %2d  passed %2d\n' "$n" "$f" "$s" "$p"
    fi
done
echo "run-suite: ${#names[@]} tests, $total_failed failures in total (only tests that failed or were skipped are listed)"
((total_failed == 0))
