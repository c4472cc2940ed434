#!/usr/bin/env bash
# bench_load.sh - configuration load cost: `dnsroute --test` against `dnsmasq --test` on the
# dnsmasq-china-list files plus one generated `ipset=/<domain>/set4,set6` line per listed domain
# (~111k server= + ~111k ipset= lines). Prints the best and median wall time and the maximum RSS
# of each, and the ratios. Then bench_first_answer.sh: time from exec to the first correct
# forwarded answer and the RSS after it, both programs serving in a private network namespace.
# Builds nothing: pass the build directory (use a release build).
#
#   bench/bench_load.sh [BUILD_DIR] [RUNS]
#   DNSROUTE_CHINA_LIST=/path/to/dnsmasq-china-list bench/bench_load.sh build/release 9
set -euo pipefail

build=${1:-build}
runs=${2:-7}
here=$(cd "$(dirname "$0")" && pwd)
list=${DNSROUTE_CHINA_LIST:-$here/../../shared/china-list}
dnsroute=$build/dnsroute
dnsmasq=${DNSMASQ:-$(command -v dnsmasq || true)}

[[ -x $dnsroute ]] || { echo "no dnsroute binary in $build" >&2; exit 1; }
[[ -n $dnsmasq ]] || { echo "dnsmasq not installed" >&2; exit 1; }
[[ -d $list ]] || { echo "no china list at $list (set DNSROUTE_CHINA_LIST)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (GNU time)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/d"
cp "$list"/*.conf "$tmp/d/"
sed -n 's|^server=/\([^/]*\)/.*|ipset=/\1/set4,set6|p' \
    "$list/accelerated-domains.china.conf" "$list/apple.china.conf" "$list/google.china.conf" \
    >"$tmp/d/zz-ipset.conf"
printf 'no-resolv\nconf-dir=%s/d,*.conf\n' "$tmp" >"$tmp/main.conf"
lines=$(cat "$tmp"/d/*.conf | wc -l)

# run BINARY: prints "<wall seconds> <CPU seconds> <max RSS KiB>" for one `--test` load. On a
# busy machine the wall time includes waiting for a CPU; the CPU time (10 ms resolution) not.
run() {
    local t0 t1
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M %U %S' -o "$tmp/rss" "$1" --test -C "$tmp/main.conf" 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; exit 1; }
    t1=$EPOCHREALTIME
    read -r kib user sys <"$tmp/rss"
    echo "$(echo "$t1 - $t0" | bc -l) $(echo "$user + $sys" | bc -l) $kib"
}

# measure NAME BINARY: prints and sets best/median wall seconds, median CPU seconds, max RSS.
measure() {
    local i out times=() cpus=() rss=0 w c k
    for ((i = 0; i < runs; i++)); do
        out=$(run "$2")
        read -r w c k <<<"$out"
        times+=("$w")
        cpus+=("$c")
        ((k > rss)) && rss=$k
    done
    mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -g)
    best=${sorted[0]}
    median=${sorted[$((runs / 2))]}
    mapfile -t sorted < <(printf '%s\n' "${cpus[@]}" | sort -g)
    cpu=${sorted[$((runs / 2))]}
    maxrss=$rss
    printf '%-9s wall best %7.1f ms  median %7.1f ms  CPU median %6.0f ms  max RSS %6.1f MB\n' \
        "$1" "$(echo "$best * 1000" | bc -l)" "$(echo "$median * 1000" | bc -l)" \
        "$(echo "$cpu * 1000" | bc -l)" "$(echo "$maxrss / 1024" | bc -l)"
}

echo "config: $lines lines ($(grep -c '^server=' "$tmp"/d/*.conf | awk -F: '{s+=$2} END {print s}') server=, $(wc -l <"$tmp/d/zz-ipset.conf") ipset=), $runs runs each"
echo "dnsmasq: $($dnsmasq --version | head -1)"
measure dnsroute "$dnsroute"
r_best=$best r_median=$median r_rss=$maxrss
measure dnsmasq "$dnsmasq"
printf 'ratio dnsroute/dnsmasq: wall best %.2f  wall median %.2f  RSS %.2f\n' \
    "$(echo "$r_best / $best" | bc -l)" "$(echo "$r_median / $median" | bc -l)" \
    "$(echo "$r_rss / $maxrss" | bc -l)"

echo
DNSROUTE_BIN=$(readlink -f "$dnsroute") FAKE_UPSTREAM=$(readlink -f "$build/tests/e2e/fake_upstream") \
    DNSMASQ=$dnsmasq DNSROUTE_CHINA_LIST=$list BENCH_RUNS=${BENCH_RUNS:-3} \
    "$here/bench_first_answer.sh" 2> >(grep -v '^ok ' >&2)
