#!/usr/bin/env bash
# bench_ipset.sh - forwarding with the china list AND one `ipset=/<domain>/set4,set6` line per
# listed domain (the policy-routing set-up), cache off: dnsroute, dnsmasq 2.90 and smartdns one
# after the other in one private network namespace, same fake upstream, same configuration
# (smartdns: `ipset /<domain>/#4:set4,#6:set6`), same dnsperf load. The kernel sets are created in
# the namespace and flushed before each program; after each run the script counts their entries
# and checks that every address the fake upstream gave for a queried china name is in them and
# that no non-china answer is. Goals: dnsroute >= 50x dnsmasq's qps and >= 1.5x smartdns's.
#
#   bench/bench_ipset.sh            # ipset (hash:ip sets set4, set6 family inet6)
#   bench/bench_ipset.sh --nft      # nftset= / smartdns nftset: table inet bench, sets set4, set6
#   BENCH_RUNS=2 BENCH_SECONDS=5 bench/bench_ipset.sh --nft
# Environment: see bench_lib.sh.
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"

mode=ipset
[[ "${1:-}" == --nft ]] && mode=nft
if [[ $mode == ipset ]]; then
    e2e_require_ipset
    ipset create set4 hash:ip maxelem 1000000
    ipset create set6 hash:ip family inet6 maxelem 1000000
else
    e2e_require_nft
    nft add table inet bench
    nft add set inet bench set4 '{ type ipv4_addr; }'
    nft add set inet bench set6 '{ type ipv6_addr; }'
fi

# sets_flush / sets_members SET: empty both sets / the addresses in one, one per line.
sets_flush()
{
    if [[ $mode == ipset ]]; then
        ipset flush set4
        ipset flush set6
    else
        nft flush set inet bench set4
        nft flush set inet bench set6
    fi
}
sets_members()
{
    if [[ $mode == ipset ]]; then
        e2e_ipset_members "$1"
    else
        e2e_nftset_members inet bench "$1"
    fi
}

# check_sets QUERYFILE: the sets must hold exactly the addresses of the china names that were
# asked (each TLD's answer; the load loops over the whole file) and no non-china answer.
check_sets()
{
    local got4 got6 exp4 exp6 n4 n6
    got4=$(sets_members set4)
    got6=$(sets_members set6)
    n4=$(grep -c . <<<"$got4" || true)
    n6=$(grep -c . <<<"$got6" || true)
    [[ $mode == ipset ]] && echo "  ipset list -t: $(ipset list -t set4 | sed -n 's/^Number of entries: /set4 /p'), $(ipset list -t set6 | sed -n 's/^Number of entries: /set6 /p')"
    exp4=$(for n in $(awk '$2 == "A" && $1 !~ /\.nonchina/ {n = split($1, l, "."); print "x." l[n]}' "$1" | sort -u); do
        bench_expect "$n" A; done | LC_ALL=C sort -u)
    exp6=$(for n in $(awk '$2 == "AAAA" && $1 !~ /\.nonchina/ {n = split($1, l, "."); print "x." l[n]}' "$1" | sort -u); do
        bench_expect "$n" AAAA; done | LC_ALL=C sort -u)
    local bad=0
    if [[ "$(LC_ALL=C sort <<<"$got4")" != "$exp4" ]]; then
        echo "  INVALID: set4 has $n4 entries, expected $(grep -c . <<<"$exp4"):" \
            "missing [$(comm -13 <(LC_ALL=C sort <<<"$got4") <(echo "$exp4") | head -5 | tr '\n' ' ')]" \
            "extra [$(comm -23 <(LC_ALL=C sort <<<"$got4") <(echo "$exp4") | head -5 | tr '\n' ' ')]"
        bad=1
    fi
    if [[ "$(LC_ALL=C sort <<<"$got6")" != "$exp6" ]]; then
        echo "  INVALID: set6 has $n6 entries, expected $(grep -c . <<<"$exp6"):" \
            "missing [$(comm -13 <(LC_ALL=C sort <<<"$got6") <(echo "$exp6") | head -5 | tr '\n' ' ')]" \
            "extra [$(comm -23 <(LC_ALL=C sort <<<"$got6") <(echo "$exp6") | head -5 | tr '\n' ' ')]"
        bad=1
    fi
    ((bad == 0)) && echo "  sets: set4 $n4, set6 $n6 entries = every answered china address, no other"
    return "$bad"
}

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
        sets_flush
        bad=0
        bench_dig_checks "$E2E_TMP/queries" || bad=$?
        ((bad == 0)) || echo "  INVALID: $prog gave $bad wrong answers to the dig checks" >&2
        bench_dnsperf "$prog" "$E2E_TMP/queries" "$run"
        # What was asked: the whole file when the load went round it, else the part sent.
        sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$E2E_TMP/dnsperf.$prog.$run")
        head -n "$sent" "$E2E_TMP/queries" | cat - <(head -n 8 "$E2E_TMP/queries") >"$E2E_TMP/asked"
        check_sets "$E2E_TMP/asked" || bad=1
        ((bad == 0)) || echo "$prog $run 0 0 100 0" >>"$BENCH_OUT"
        e2e_kill "$prog" || true
    done
done
bench_summary dnsmasq:50 smartdns:1.5
