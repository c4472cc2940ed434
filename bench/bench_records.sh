#!/usr/bin/env bash
# bench_records.sh - the cost of big answers: the ipset policy-routing set-up of bench_ipset.sh
# (china list, one `ipset=/<domain>/set4,set6` line per listed domain, cache off) plus the china
# list's bogus-nxdomain file (165 addresses, smartdns: `bogus-nxdomain ADDR`), with china A
# answers of 1 record and then of 64 records (each TLD its own 64 addresses), queried with EDNS
# (dnsperf -e) so a 64-record answer fits in one datagram. Each run measures both sizes for
# every program, one after the other; the sets are checked after each program as in
# bench_ipset.sh. Goal: dnsroute's CPU per query with 64 records <= 1.5x its CPU per query with
# one record (the addresses go to the sets and are checked against the bogus list one by one).
#
#   bench/bench_records.sh
#   BENCH_RUNS=1 BENCH_SECONDS=5 bench/bench_records.sh
# Environment: see bench_lib.sh; BENCH_PROGRAMS defaults to "trivial dnsroute smartdns" here
# (dnsmasq adds addresses to sets at a few hundred queries per second: see bench_ipset.sh).
set -euo pipefail
: "${BENCH_PROGRAMS:=trivial dnsroute smartdns}"
. "$(dirname "$0")/bench_lib.sh"
nprog=$(wc -w <<<"$BENCH_PROGRAMS")
: "${E2E_TIMEOUT:=$((2 * BENCH_RUNS * nprog * (BENCH_SECONDS + 40) + 120))}"
export E2E_TIMEOUT
bench_enter "$@"
bench_sets_create ipset

bench_header "forwarding + ipset + bogus-nxdomain, 1 and 64 A records per china answer, cache off"
bench_domains "$E2E_TMP/domains"
bench_queryfile "$E2E_TMP/domains" "$E2E_TMP/queries" 50000
bench_bogus "$E2E_TMP/bogus"
bench_dnsmasq_conf "$E2E_TMP/domains" "$E2E_TMP/dnsmasq.conf" ipset 0
cat "$E2E_TMP/bogus" >>"$E2E_TMP/dnsmasq.conf"
bench_smartdns_conf "$E2E_TMP/domains" "$E2E_TMP/smartdns.conf" ipset 0
sed 's/^bogus-nxdomain=/bogus-nxdomain /' "$E2E_TMP/bogus" >>"$E2E_TMP/smartdns.conf"
echo "config:   $(wc -l <"$E2E_TMP/dnsmasq.conf") lines incl. $(wc -l <"$E2E_TMP/bogus") bogus-nxdomain; queries: 50000 names, 90% china, 1/8 AAAA, EDNS"

for ((run = 1; run <= BENCH_RUNS; run++)); do
    for records in 1 64; do
        export BENCH_RECORDS=$records
        BENCH_OUT=$E2E_TMP/results.$records
        bench_scenario "$E2E_TMP/domains" "$E2E_TMP/up.scenario"
        bench_start_fake "$E2E_TMP/up.scenario"
        echo "-- $records A record(s) per china answer"
        for prog in $BENCH_PROGRAMS; do
            conf=$E2E_TMP/dnsmasq.conf
            [[ $prog == smartdns ]] && conf=$E2E_TMP/smartdns.conf
            bench_start "$prog" "$conf"
            bench_sets_flush
            bad=0
            bench_dig_checks "$prog" "$E2E_TMP/queries" || bad=$?
            ((bad == 0)) || echo "  INVALID: $prog gave $bad wrong answers to the dig checks" >&2
            bench_dnsperf "$prog" "$E2E_TMP/queries" "$run" -e
            [[ $prog == trivial ]] || bench_sets_check "$prog" "$run" "$E2E_TMP/queries" || bad=1
            ((bad == 0)) || echo "$prog $run 0 0 100 0" >>"$BENCH_OUT"
            e2e_kill "$prog" || true
        done
        e2e_kill fake || true
    done
done

declare -A cpu1=()
for records in 1 64; do
    echo "== $records A record(s) per china answer"
    BENCH_OUT=$E2E_TMP/results.$records
    bench_summary
    if ((records == 1)); then
        for prog in $BENCH_PROGRAMS; do cpu1[$prog]=${BENCH_CPU[$prog]}; done
    fi
done
echo "== CPU per query, 64 records / 1 record"
for prog in $BENCH_PROGRAMS; do
    r=$(awk -v a="${BENCH_CPU[$prog]}" -v b="${cpu1[$prog]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    line="$prog x$r"
    if [[ $prog == dnsroute ]]; then
        awk -v r="$r" 'BEGIN { exit !(r > 0 && r <= 1.5) }' && line+="  (goal <= 1.5x: met)" ||
            line+="  (goal <= 1.5x: MISSED)"
    fi
    echo "$line"
done
