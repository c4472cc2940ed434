#!/usr/bin/env bash
# bench_cache.sh - answers from the cache: the china-list configuration with the cache on
# (cache-size=10000 for dnsroute and dnsmasq, smartdns `cache-size 10000`, serve-expired and
# prefetch off), a 500-name load (every name asked once first to fill the cache, then dnsperf
# loops over the same 500 names). dnsroute, dnsmasq 2.90 and smartdns one after the other in one
# private network namespace, same fake upstream. The "upstream/answer" column must be ~0: the
# answers came from the cache. Goals: dnsroute >= 1.2x dnsmasq's qps; CPU per query <= 1.3x the
# trivial responder's (bench_lib.sh).
#
#   bench/bench_cache.sh
#   BENCH_RUNS=2 BENCH_SECONDS=5 bench/bench_cache.sh
# Environment: see bench_lib.sh.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"

bench_header "cached answers, 500 names, china list, cache-size 10000"
bench_domains "$E2E_TMP/domains"
bench_scenario "$E2E_TMP/domains" "$E2E_TMP/up.scenario"
bench_start_fake "$E2E_TMP/up.scenario"
bench_queryfile "$E2E_TMP/domains" "$E2E_TMP/queries" 500
bench_dnsmasq_conf "$E2E_TMP/domains" "$E2E_TMP/dnsmasq.conf" forward 10000
bench_smartdns_conf "$E2E_TMP/domains" "$E2E_TMP/smartdns.conf" forward 10000
echo "config:   $(wc -l <"$E2E_TMP/dnsmasq.conf") lines (dnsroute/dnsmasq), $(wc -l <"$E2E_TMP/smartdns.conf") (smartdns); queries: 500 names, 90% china, 1/8 AAAA"

for ((run = 1; run <= BENCH_RUNS; run++)); do
    for prog in $BENCH_PROGRAMS; do
        conf=$E2E_TMP/dnsmasq.conf
        [[ $prog == smartdns ]] && conf=$E2E_TMP/smartdns.conf
        bench_start "$prog" "$conf"
        # Fill the cache: every name once, at most 50 outstanding.
        dnsperf -s 127.0.0.1 -p "$BENCH_PORT" -d "$E2E_TMP/queries" -n 1 -q 50 -t 2 \
            >"$E2E_TMP/fill.$prog.$run" 2>&1 || e2e_fail "dnsperf (fill) failed"
        bad=0
        bench_dig_checks "$prog" "$E2E_TMP/queries" || bad=$?
        ((bad == 0)) || echo "  INVALID: $prog gave $bad wrong answers to the dig checks" >&2
        bench_dnsperf "$prog" "$E2E_TMP/queries" "$run"
        ((bad == 0)) || echo "$prog $run 0 0 100 0" >>"$BENCH_OUT"
        e2e_kill "$prog" || true
    done
done
bench_summary dnsmasq:1.2 trivial:1.3
