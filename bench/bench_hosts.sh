#!/usr/bin/env bash
# bench_hosts.sh - a blocklist as users give it: a 100,000-line hosts file ("0.0.0.0 name") through
# addn-hosts=. For dnsroute and dnsmasq 2.90 in one run, in one private network namespace: the
# time from exec to answering the file's LAST name correctly, the peak memory (VmHWM) then, and
# the answer rate from the file (dnsperf over names of the file: local answers, cache-hit speed).
# Goals (issue 9): start-to-last-name <= 0.5x dnsmasq's; peak RSS <= dnsmasq's.
#
#   bench/bench_hosts.sh        # BENCH_RUNS=3 starts each, medians; BENCH_LINES=100000
set -euo pipefail
BENCH_PROGRAMS=${BENCH_PROGRAMS:-dnsroute dnsmasq}
BENCH_SECONDS=${BENCH_SECONDS:-5}
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"
lines=${BENCH_LINES:-100000}

# The blocklist: distinct names under a few thousand parents, as real lists are.
awk -v n="$lines" 'BEGIN { print "# generated blocklist"
    for (i = 0; i < n; i++) printf "0.0.0.0 ads%d.tracker%d.example%d.com\n", i, i % 5000, i % 7 }' \
    >"$E2E_TMP/block.hosts"
last=$(tail -n 1 "$E2E_TMP/block.hosts" | awk '{print $2}')
cat >"$E2E_TMP/hosts.conf" <<EOF
no-resolv
no-hosts
server=127.0.0.2
addn-hosts=$E2E_TMP/block.hosts
EOF
awk -v n=20000 'BEGIN { srand(7); for (i = 0; i < n; i++)
    printf "ads%d.tracker%d.example%d.com A\n", j = int(rand() * '"$lines"'), j % 5000, j % 7 }' \
    >"$E2E_TMP/queries"
bench_header "hosts file: $lines lines via addn-hosts"

# start PROG RUN: starts PROG, digs until the last name answers 0.0.0.0; prints time and memory.
start()
{
    local prog=$1 t0 t1 got i
    t0=$EPOCHREALTIME
    if [[ $prog == dnsroute ]]; then
        e2e_spawn dnsroute "$DNSROUTE_BIN" -k -C "$E2E_TMP/hosts.conf" --port="$BENCH_PORT" \
            --listen-address=127.0.0.1 --log-facility=- --pid-file= --user=root --workers=1
    else
        e2e_spawn dnsmasq "$DNSMASQ" -d -C "$E2E_TMP/hosts.conf" --port="$BENCH_PORT" \
            --listen-address=127.0.0.1 --bind-interfaces --pid-file= --log-facility=-
    fi
    for ((i = 0; i < 6000; i++)); do
        got=$(dig @127.0.0.1 -p "$BENCH_PORT" +tries=1 +time=1 +short "$last" A 2>/dev/null |
            grep -v '^;' || true)
        [[ "$got" == 0.0.0.0 ]] && break
        e2e_alive "$prog" || e2e_fail "$prog exited at start-up"
        sleep 0.005
    done
    t1=$EPOCHREALTIME
    [[ "$got" == 0.0.0.0 ]] || e2e_fail "$prog: $last never answered 0.0.0.0"
    local hwm ms
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$(e2e_pid "$prog")/status")
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
    echo "start $prog $2 $ms $hwm" >>"$E2E_TMP/starts"
    printf '  run %d %-9s last name answered after %5d ms  VmHWM %6.1f MB\n' "$2" "$prog" "$ms" \
        "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
}

for ((run = 1; run <= BENCH_RUNS; run++)); do
    for prog in $BENCH_PROGRAMS; do
        start "$prog" "$run"
        bench_dnsperf "$prog" "$E2E_TMP/queries" "$run"
        e2e_kill "$prog" || true
    done
done
med() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A T M Q
for prog in $BENCH_PROGRAMS; do
    T[$prog]=$(awk -v p="$prog" '$2 == p {print $4}' "$E2E_TMP/starts" | med)
    M[$prog]=$(awk -v p="$prog" '$2 == p {print $5}' "$E2E_TMP/starts" | med)
    Q[$prog]=$(awk -v p="$prog" '$1 == p {print $3}' "$BENCH_OUT" | med)
    printf '%-9s median: last name after %5.0f ms  VmHWM %6.1f MB  %8.0f qps from the file\n' \
        "$prog" "${T[$prog]}" "$(awk -v k="${M[$prog]}" 'BEGIN { print k / 1024 }')" "${Q[$prog]}"
done
if [[ -n "${T[dnsmasq]:-}" && -n "${T[dnsroute]:-}" ]]; then
    printf 'ratio dnsroute/dnsmasq: start %.2f (goal <= 0.5: %s)  peak RSS %.2f (goal <= 1: %s)  qps %.2f\n' \
        "$(awk -v a="${T[dnsroute]}" -v b="${T[dnsmasq]}" 'BEGIN { print a / b }')" \
        "$(awk -v a="${T[dnsroute]}" -v b="${T[dnsmasq]}" 'BEGIN { print (a <= 0.5 * b) ? "met" : "MISSED" }')" \
        "$(awk -v a="${M[dnsroute]}" -v b="${M[dnsmasq]}" 'BEGIN { print a / b }')" \
        "$(awk -v a="${M[dnsroute]}" -v b="${M[dnsmasq]}" 'BEGIN { print (a <= b) ? "met" : "MISSED" }')" \
        "$(awk -v a="${Q[dnsroute]}" -v b="${Q[dnsmasq]}" 'BEGIN { print a / b }')"
fi
