#!/usr/bin/env bash
# bench_ipset.sh - forwarding with the china list AND one `ipset=/<domain>/set4,set6` line per
# listed domain (the policy-routing set-up), cache off: dnsroute, dnsmasq 2.90 and smartdns one
# after the other in one private network namespace, same fake upstream, same configuration
# (smartdns: `ipset /<domain>/#4:set4,#6:set6`), same dnsperf load. The kernel sets are created in
# the namespace and flushed before each program; after each run the script counts their entries
# and checks that every address the fake upstream gave for a queried china name is in them and
# that no non-china answer is. Goals: dnsroute >= 50x dnsmasq's qps and >= 1.5x smartdns's, CPU
# per query <= 2.8x the trivial responder's.
#
#   bench/bench_ipset.sh            # ipset (hash:ip sets set4, set6 family inet6)
#   bench/bench_ipset.sh --nft      # nftset= / smartdns nftset: table inet bench, sets set4, set6
#   BENCH_RUNS=2 BENCH_SECONDS=5 bench/bench_ipset.sh --nft
# Environment: see bench_lib.sh.
set -euo pipefail
# The forwarding floors run too (bench_lib.sh: trivfwd, trivfwd1).
: "${BENCH_PROGRAMS:=trivial trivfwd trivfwd1 dnsroute dnsmasq smartdns}"
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"

mode=ipset
[[ "${1:-}" == --nft ]] && mode=nft
bench_sets_create "$mode"

bench_header "forwarding + $mode for every china-list domain, cache off"
bench_domains "$E2E_TMP/domains"
bench_scenario "$E2E_TMP/domains" "$E2E_TMP/up.scenario"
bench_start_fake "$E2E_TMP/up.scenario"
bench_queryfile "$E2E_TMP/domains" "$E2E_TMP/queries" 50000
bench_dnsmasq_conf "$E2E_TMP/domains" "$E2E_TMP/dnsmasq.conf" "$mode" 0
bench_smartdns_conf "$E2E_TMP/domains" "$E2E_TMP/smartdns.conf" "$mode" 0
echo "config:   $(wc -l <"$E2E_TMP/dnsmasq.conf") lines (dnsroute/dnsmasq), $(wc -l <"$E2E_TMP/smartdns.conf") (smartdns); queries: 50000 names, 90% china, 1/8 AAAA"

for ((run = 1; run <= BENCH_RUNS; run++)); do
    for prog in $BENCH_PROGRAMS; do
        conf=$E2E_TMP/dnsmasq.conf
        [[ $prog == smartdns ]] && conf=$E2E_TMP/smartdns.conf
        bench_start "$prog" "$conf"
        bench_sets_flush
        bad=0
        bench_dig_checks "$prog" "$E2E_TMP/queries" || bad=$?
        ((bad == 0)) || echo "  INVALID: $prog gave $bad wrong answers to the dig checks" >&2
        bench_dnsperf "$prog" "$E2E_TMP/queries" "$run"
        [[ $prog == trivial || $prog == trivfwd* ]] || bench_sets_check "$prog" "$run" "$E2E_TMP/queries" || bad=1
        ((bad == 0)) || echo "$prog $run 0 0 100 0" >>"$BENCH_OUT"
        e2e_kill "$prog" || true
    done
done
bench_summary dnsmasq:50 smartdns:1.5 trivial:2.8
