#!/usr/bin/env bash
# soak.sh - a long run at a steady fraction of the daemon's capacity, the policy-routing set-up:
# the china list (server= to 114.114.114.114) plus one ipset=/<domain>/set4,set6 line per domain,
# cache off, in a private network namespace. The fake upstream answers each china name with an
# address derived from the name (its "hashaddr" action), so every name queried must leave its own
# address in the kernel sets. Prints RSS and open descriptors every STRESS_SAMPLE_S seconds, the
# queries lost, and the set completeness (expected addresses missing from the sets, non-china
# addresses wrongly in them). Exit 1 on a lost address, a wrong one, an RSS growth above 10 %
# from the first sample in the run to the last, or descriptors growing more than 10 % (upstream
# pool sockets come and go with the load). Not part of ctest (too long).
#
#   tests/stress/soak.sh                          # 600 s at 80 % of the measured capacity
#   STRESS_SECONDS=120 STRESS_LOAD=50 tests/stress/soak.sh
# Environment: DNSROUTE_BIN, FAKE_UPSTREAM (default: build/release), DNSROUTE_SHARED_DIR (china
# list), STRESS_SECONDS (600), STRESS_LOAD (percent, 80), STRESS_SAMPLE_S (30), BENCH_WORKERS.
set -euo pipefail
: "${STRESS_SECONDS:=600}" "${STRESS_LOAD:=80}" "${STRESS_SAMPLE_S:=30}"
E2E_TIMEOUT=$((STRESS_SECONDS + 600))
export E2E_TIMEOUT STRESS_SECONDS STRESS_LOAD STRESS_SAMPLE_S
export BENCH_PROGRAMS=dnsroute
. "$(dirname "$0")/../../bench/bench_lib.sh"
bench_enter "$@"
e2e_require_ipset
ipset create set4 hash:ip maxelem 1000000
ipset create set6 hash:ip family inet6 maxelem 1000000

echo "== soak: ${STRESS_SECONDS} s at ${STRESS_LOAD} % of capacity, china list + ipset lines"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')   load: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
echo "dnsroute: $DNSROUTE_BIN ($(git -C "$BENCH_SRC" rev-parse --short HEAD 2>/dev/null || echo '?'))"
bench_domains "$E2E_TMP/domains"
{
    echo "@china * A hashaddr"
    echo "@china * AAAA hashaddr"
    echo "@def * A a 198.51.100.1"
    echo "@def * AAAA aaaa 2001:db8::1"
} >"$E2E_TMP/scenario"
bench_start_fake "$E2E_TMP/scenario"
bench_dnsmasq_conf "$E2E_TMP/domains" "$E2E_TMP/dnsroute.conf" ipset
bench_queryfile "$E2E_TMP/domains" "$E2E_TMP/queries" 50000
bench_start dnsroute "$E2E_TMP/dnsroute.conf"
pid=$(e2e_pid dnsroute)

# Capacity: 10 s unthrottled.
dnsperf -s 127.0.0.1 -p "$BENCH_PORT" -d "$E2E_TMP/queries" -l 10 -c "$BENCH_CLIENTS" \
    -q "$BENCH_OUTSTANDING" -t 2 >"$E2E_TMP/cal.out" 2>&1 || e2e_fail "dnsperf failed"
cap=$(sed -n 's/^ *Queries per second: *\([0-9]*\).*/\1/p' "$E2E_TMP/cal.out")
rate=$((cap * STRESS_LOAD / 100))
echo "capacity: $cap qps (10 s, unthrottled); soak rate $rate qps"
ipset flush set4
ipset flush set6

sample() # LABEL: one line of RSS and descriptors
{
    local rss fds
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
    echo "$1 $rss $fds" >>"$E2E_TMP/samples"
    printf '  %-8s RSS %7d KiB  fds %4d  load %s\n' "$1" "$rss" "$fds" "$(cut -d' ' -f1 /proc/loadavg)"
}
: >"$E2E_TMP/samples"
sample "t=0"
dnsperf -s 127.0.0.1 -p "$BENCH_PORT" -d "$E2E_TMP/queries" -l "$STRESS_SECONDS" -Q "$rate" \
    -c "$BENCH_CLIENTS" -q "$BENCH_OUTSTANDING" -t 2 >"$E2E_TMP/soak.out" 2>&1 &
perf=$!
start=$SECONDS next=$STRESS_SAMPLE_S
while kill -0 "$perf" 2>/dev/null; do
    sleep 1
    # A sample when its time has come, not only in the second it falls due: on a loaded machine
    # a loop turn can take over a second and step past it.
    if ((SECONDS - start >= next)) && kill -0 "$perf" 2>/dev/null; then
        sample "t=$((SECONDS - start))"
        next=$((next + STRESS_SAMPLE_S))
    fi
done
wait "$perf" || e2e_fail "dnsperf failed: $(tail -3 "$E2E_TMP/soak.out")"
sample end
e2e_alive dnsroute || e2e_fail "dnsroute died during the soak"

sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$E2E_TMP/soak.out")
completed=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$E2E_TMP/soak.out")
lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$E2E_TMP/soak.out")
qps=$(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$E2E_TMP/soak.out")
codes=$(sed -n 's/^ *Response codes: *//p' "$E2E_TMP/soak.out")
echo "queries:  sent $sent, completed $completed, lost $lost ($qps qps); $codes"

# Completeness: the addresses of every china name the run asked (the file loops), against the
# sets' contents; and nothing from a non-china answer in them.
ipset list set4 | sed -n '/^Members:/,$p' | tail -n +2 >"$E2E_TMP/set4"
ipset list set6 | sed -n '/^Members:/,$p' | tail -n +2 >"$E2E_TMP/set6"
read -r expected missing wrong < <(python3 - "$E2E_TMP/queries" "$sent" "$E2E_TMP/set4" "$E2E_TMP/set6" <<'PY'
import ipaddress, sys
queries, sent, f4, f6 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = open(queries).read().split("\n")[:-1]
asked = lines[:min(sent, len(lines))]
def h(name):
    x = 2166136261
    for c in name.lower().encode():
        x = ((x ^ c) * 16777619) & 0xFFFFFFFF
    return x
want = set()
for line in asked:
    name, qtype = line.split()
    if ".nonchina" in name:
        continue
    x = h(name)
    want.add("10.%d.%d.%d" % ((x >> 16) & 255, (x >> 8) & 255, x & 255) if qtype == "A"
             else str(ipaddress.ip_address("fd00::%x:%x" % (x >> 16, x & 0xFFFF))))
have = {l.split()[0] for f in (f4, f6) for l in open(f) if l.strip()}
have = {str(ipaddress.ip_address(a)) for a in have}
wrong = {a for a in have if a in ("198.51.100.1", "2001:db8::1")}
print(len(want), len(want - have), len(wrong))
PY
)
echo "sets:     $expected distinct china addresses expected, $missing missing, $wrong non-china present"

read -r rss0 rss1 fd0 fd1 < <(awk 'NR == 2 {r0 = $2; f0 = $3} {r1 = $2; f1 = $3} END {print r0, r1, f0, f1}' "$E2E_TMP/samples")
growth=$(awk -v a="$rss0" -v b="$rss1" 'BEGIN { printf "%.1f", a ? 100 * (b - a) / a : 0 }')
echo "RSS:      $rss0 KiB at the first sample in the run, $rss1 KiB at the end ($growth %); fds $fd0 -> $fd1"
bad=0
((missing == 0)) || { echo "FAIL: $missing addresses missing from the sets" >&2; bad=1; }
((wrong == 0)) || { echo "FAIL: $wrong non-china addresses in the sets" >&2; bad=1; }
awk -v g="$growth" 'BEGIN { exit !(g > 10) }' && { echo "FAIL: RSS grew $growth %" >&2; bad=1; }
# Upstream pool sockets open and close with the load: a leak is a growth past that swing.
((fd1 <= fd0 + fd0 / 10 + 16)) || { echo "FAIL: descriptors $fd0 -> $fd1" >&2; bad=1; }
((bad == 0)) || e2e_fail "soak failed (figures above)"
e2e_stop dnsroute
