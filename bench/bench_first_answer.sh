#!/usr/bin/env bash
# bench_first_answer.sh - start-up as a user sees it: time from exec to the first correct answer
# (a china-list name forwarded to the fake upstream at 114.114.114.114, its addresses added to
# the ipsets), and the resident memory (VmRSS, VmHWM) right after that first answer, for dnsroute
# and dnsmasq 2.90 in one run, in one private network namespace. Configuration: the china list's
# domains (accelerated, apple, google: ~111k server=) plus one ipset=/<domain>/set4,set6 each.
# Called by bench_load.sh; can run alone. Goal: dnsroute's RSS <= 15 MB (dnsmasq: ~47 MB).
#
#   bench/bench_first_answer.sh                 # BENCH_RUNS=3 starts each, medians
set -euo pipefail
BENCH_PROGRAMS=${BENCH_PROGRAMS:-dnsroute dnsmasq}
BENCH_SECONDS=${BENCH_SECONDS:-1}
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"
e2e_require_ipset
ipset create set4 hash:ip
ipset create set6 hash:ip family inet6

bench_domains "$E2E_TMP/domains" >/dev/null
bench_scenario "$E2E_TMP/domains" "$E2E_TMP/up.scenario"
bench_start_fake "$E2E_TMP/up.scenario"
bench_dnsmasq_conf "$E2E_TMP/domains" "$E2E_TMP/dnsmasq.conf" ipset 0
name=first.$(sed -n 1000p "$E2E_TMP/domains")
want=$(bench_expect "$name" A | LC_ALL=C sort)
echo "-- first answer: $(wc -l <"$E2E_TMP/dnsmasq.conf") config lines, query $name A"

# first PROG RUN: starts PROG, digs until the right answer comes, prints the time and memory.
first()
{
    local prog=$1 t0 t1 got pid i
    ipset flush set4
    t0=$EPOCHREALTIME
    if [[ $prog == dnsroute ]]; then
        e2e_spawn dnsroute "$DNSROUTE_BIN" -k -C "$E2E_TMP/dnsmasq.conf" --port="$BENCH_PORT" \
            --listen-address=127.0.0.1 --log-facility=- --pid-file= --user=root
    else
        e2e_spawn dnsmasq "$DNSMASQ" -d -C "$E2E_TMP/dnsmasq.conf" --port="$BENCH_PORT" \
            --listen-address=127.0.0.1 --bind-interfaces --pid-file= --log-facility=-
    fi
    for ((i = 0; i < 3000; i++)); do
        got=$(dig @127.0.0.1 -p "$BENCH_PORT" +tries=1 +time=1 +short "$name" A 2>/dev/null |
            grep -v '^;' | LC_ALL=C sort || true)
        [[ "$got" == "$want" ]] && break
        e2e_alive "$prog" || e2e_fail "$prog exited at start-up"
        sleep 0.005
    done
    t1=$EPOCHREALTIME
    [[ "$got" == "$want" ]] || e2e_fail "$prog: no correct answer for $name"
    e2e_ipset_has set4 "${want%%$'\n'*}" || e2e_fail "$prog: answer not added to set4"
    pid=$(e2e_pid "$prog")
    local rss hwm
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    e2e_kill "$prog" || true
    local ms
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
    echo "$prog $2 $ms $rss $hwm" >>"$BENCH_OUT"
    printf '  run %d %-9s first answer after %5d ms  VmRSS %6.1f MB  VmHWM %6.1f MB\n' \
        "$2" "$prog" "$ms" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
}

for ((run = 1; run <= BENCH_RUNS; run++)); do
    for prog in $BENCH_PROGRAMS; do
        first "$prog" "$run"
    done
done
med() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A T R
for prog in $BENCH_PROGRAMS; do
    T[$prog]=$(awk -v p="$prog" '$1 == p {print $3}' "$BENCH_OUT" | med)
    R[$prog]=$(awk -v p="$prog" '$1 == p {print $4}' "$BENCH_OUT" | med)
    printf '%-9s median: first answer %5.0f ms  VmRSS %6.1f MB\n' "$prog" "${T[$prog]}" \
        "$(awk -v k="${R[$prog]}" 'BEGIN { print k / 1024 }')"
done
if [[ -n "${T[dnsmasq]:-}" && -n "${T[dnsroute]:-}" ]]; then
    printf 'ratio dnsroute/dnsmasq: first answer %.2f  RSS %.2f  (RSS goal <= 15 MB: %s)\n' \
        "$(awk -v a="${T[dnsroute]}" -v b="${T[dnsmasq]}" 'BEGIN { print a / b }')" \
        "$(awk -v a="${R[dnsroute]}" -v b="${R[dnsmasq]}" 'BEGIN { print a / b }')" \
        "$(awk -v a="${R[dnsroute]}" 'BEGIN { print (a <= 15 * 1024) ? "met" : "MISSED" }')"
fi
