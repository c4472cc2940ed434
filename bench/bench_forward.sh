#!/usr/bin/env bash
# bench_forward.sh - forwarding throughput with the china list loaded and the cache off:
# dnsroute, dnsmasq 2.90 and smartdns, one after the other in one private network namespace,
# against the same fake upstream, the same configuration and the same dnsperf load. Prints each
# run, the medians (qps, average latency) and the ratios dnsroute/dnsmasq, dnsroute/smartdns.
# Goal: dnsroute >= 2x dnsmasq's qps.
#
#   cmake --preset release && cmake --build --preset release
#   bench/bench_forward.sh                       # 3 runs x 10 s per program
#   BENCH_RUNS=2 BENCH_SECONDS=5 bench/bench_forward.sh
#   BENCH_PERF=1 BENCH_PROGRAMS=dnsroute bench/bench_forward.sh   # + perf profile of the daemon
# Environment: see bench_lib.sh.
set -euo pipefail
# The forwarding floors run too (bench_lib.sh: trivfwd, trivfwd1).
: "${BENCH_PROGRAMS:=trivial trivfwd trivfwd1 dnsroute dnsmasq smartdns}"
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"

bench_header "forwarding, china list, cache off"
bench_domains "$E2E_TMP/domains"
bench_scenario "$E2E_TMP/domains" "$E2E_TMP/up.scenario"
bench_start_fake "$E2E_TMP/up.scenario"
bench_queryfile "$E2E_TMP/domains" "$E2E_TMP/queries" 50000
bench_dnsmasq_conf "$E2E_TMP/domains" "$E2E_TMP/dnsmasq.conf" forward 0
bench_smartdns_conf "$E2E_TMP/domains" "$E2E_TMP/smartdns.conf" forward 0
echo "config:   $(wc -l <"$E2E_TMP/dnsmasq.conf") lines (dnsroute/dnsmasq), $(wc -l <"$E2E_TMP/smartdns.conf") (smartdns); queries: 50000 names, 90% china, 1/8 AAAA"

for ((run = 1; run <= BENCH_RUNS; run++)); do
    for prog in $BENCH_PROGRAMS; do
        conf=$E2E_TMP/dnsmasq.conf
        [[ $prog == smartdns ]] && conf=$E2E_TMP/smartdns.conf
        bench_start "$prog" "$conf"
        bad=0
        bench_dig_checks "$prog" "$E2E_TMP/queries" || bad=$?
        ((bad == 0)) || echo "  INVALID: $prog gave $bad wrong answers to the dig checks" >&2
        bench_dnsperf "$prog" "$E2E_TMP/queries" "$run"
        ((bad == 0)) || echo "$prog $run 0 0 100 0" >>"$BENCH_OUT"
        e2e_kill "$prog" || true
    done
done
bench_summary dnsmasq:2
