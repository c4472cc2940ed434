#!/usr/bin/env bash
# fuzz.sh - runs every libFuzzer target (tests/fuzz/fuzz_*.c: new targets are picked up by the
# glob, nothing to register) with ASan + UBSan (preset "fuzz", clang), starting from its committed
# seeds. Prints, per target, the executions, the coverage reached and whether it crashed. A crash
# fails the run: the reproducer is kept and its path printed; commit it to
# tests/fuzz/corpus/<target>/ (the replay tests then guard the fix).
#
#   .ci/fuzz.sh                   the CI gate: a fixed seed and a fixed number of runs per target
#                                 ($DNSROUTE_FUZZ_RUNS, default 300000; at most 120 s each), so
#                                 the same tree explores the same inputs on every machine and a
#                                 crash here is reproduced by running it again
#   .ci/fuzz.sh --explore [SECS]  a random seed for SECS seconds per target (default 300): to
#                                 look for new bugs, not for landing
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --explore ]]; then
    limits=(-seed=0 -max_total_time="${2:-300}")
else
    limits=(-seed=1 -runs="${DNSROUTE_FUZZ_RUNS:-300000}" -max_total_time=120)
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-fuzz.XXXXXX")
crashed=0
printf '%-22s %12s %8s %s\n' target execs cov result
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    target=${name#fuzz_}
    bin=build/fuzz/tests/fuzz/$name
    [[ -x "$bin" ]] || { echo "fuzz.sh: $bin not built" >&2; exit 1; }
    # New inputs go to a scratch copy of the seeds, never into the tree.
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    cp -r "tests/fuzz/corpus/$target/." "$work/$target/corpus/" 2>/dev/null || true
    rc=0
    "$bin" "${limits[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$target/artifacts/" "$work/$target/corpus" \
        >"$work/$target/log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target/log" | tail -n1)
    cov=$(grep -Eo 'cov: [0-9]+' "$work/$target/log" | tail -n1 | cut -d' ' -f2)
    if ((rc == 0)); then
        result=ok
    else
        result="CRASH (exit $rc): $(ls "$work/$target/artifacts"/* 2>/dev/null | head -n1)"
        crashed=$((crashed + 1))
        tail -n 40 "$work/$target/log" >&2
    fi
    printf '%-22s %12s %8s %s\n' "$target" "${execs:-?}" "${cov:-?}" "$result"
done
if ((crashed > 0)); then
    echo "fuzz.sh: $crashed target(s) crashed; logs and reproducers in $work" >&2
    exit 1
fi
rm -rf "$work"
