#!/usr/bin/env bash
# test_cache_keys.sh - the cache items test_cache.sh does not cover: negative answers cached for
# the SOA's TTL/MINIMUM with the SOA's TTL counted down, then fetched again; NXDOMAIN/NODATA
# without an SOA cached only with neg-ttl (for neg-ttl seconds); min-cache-ttl keeps a short
# answer and serves it with the extended TTL counted down (as dnsmasq 2.90); and the cache never
# hands an answer to a client with other needs: a DO query never gets a cached non-DO answer and
# the reverse, a CD query is never answered from the cache (nor cached), while a client without
# EDNS may get an EDNS client's answer, stripped of its OPT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

# "times=1" rules give a different answer to the first query than to the later ones, so an
# answer shows which upstream query it came from.
cat >"$E2E_TMP/up.scenario" <<'SCN'
nx.test      A  nxdomain min=8
nd.test      A  nodata min=30
nosoa.test   A  rcode=3
nodata0.test A  rcode=0
min.test     A  a 192.0.2.1 ttl=1
do.test      A  a 192.0.2.51 times=1
do.test      A  a 192.0.2.52
do2.test     A  a 192.0.2.61 times=1
do2.test     A  a 192.0.2.62
cd.test      A  a 192.0.2.71 times=1
cd.test      A  a 192.0.2.72 times=1
cd.test      A  a 192.0.2.73
ed.test      A  a 192.0.2.81 times=1
ed.test      A  a 192.0.2.82
default         a 192.0.2.99
SCN
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
asked() { e2e_qlog_count up "qname=${1//./\\.}\\. "; }
ttl_ns() { e2e_dig "$1" "$2" A +noall +authority | awk '$4 == "SOA" {print $2; exit}'; }
ttl_an() { e2e_dig "$1" "$2" A +noall +answer | awk 'NR == 1 {print $2}'; }
# sleep_since T0 S: sleep until S seconds after T0 (an $EPOCHREALTIME): an expiry check waits from
# the moment the entry was cached, however long the checks in between took on a busy machine.
sleep_since() { sleep "$(awk -v t0="$1" -v s="$2" -v now="$EPOCHREALTIME" \
    'BEGIN { d = t0 + s - now; printf "%.3f", (d > 0 ? d : 0) }')"; }
# Wait until the fake logged N queries for a name (its log is written as it answers).
wait_asked() { e2e_wait_qlog up "$2" "qname=${1//./\\.}\\. "; }

printf '%s\n' no-resolv no-hosts server=127.0.0.2 neg-ttl=6 >"$E2E_TMP/a.conf"
printf '%s\n' no-resolv no-hosts server=127.0.0.2 min-cache-ttl=60 >"$E2E_TMP/b.conf"
e2e_start_dnsroute da 5353 "$E2E_TMP/a.conf" --user=root --pid-file=
e2e_start_dnsroute db 5354 "$E2E_TMP/b.conf" --user=root --pid-file=
A=127.0.0.1#5353 B=127.0.0.1#5354

# ---- negative answers with an SOA: cached for min(SOA TTL, MINIMUM), SOA TTL counted down.
# TTLs leave seconds of slack for a stalled check; expiry is timed from just after the answer
# that was cached (the entry can only be older than t0, never younger).
e2e_assert_eq 8 "$(ttl_ns $A nx.test)" "NXDOMAIN from upstream with SOA TTL 8"
t0=$EPOCHREALTIME
sleep 1.3
e2e_assert_eq NXDOMAIN "$(e2e_rcode $A nx.test)" "NXDOMAIN again"
t=$(ttl_ns $A nx.test)
e2e_assert_eq 1 "$(asked nx.test)" "NXDOMAIN answered from the cache"
((t >= 1 && t <= 7)) || e2e_fail "cached NXDOMAIN: SOA TTL not counted down ($t of 8)"
e2e_ok "cached NXDOMAIN: the SOA's TTL counts down ($t of 8)"
sleep_since "$t0" 8.3
e2e_assert_eq NXDOMAIN "$(e2e_rcode $A nx.test)" "NXDOMAIN after the SOA minimum"
e2e_assert_eq 2 "$(asked nx.test)" "the negative entry expired with the SOA minimum: asked again"
e2e_assert_eq 30 "$(ttl_ns $A nd.test)" "NODATA with SOA TTL 30"
sleep 2.2
t=$(ttl_ns $A nd.test)
e2e_assert_eq 1 "$(asked nd.test)" "NODATA answered from the cache"
((t >= 18 && t <= 28)) || e2e_fail "cached NODATA: SOA TTL not counted down ($t of 30)"
e2e_ok "cached NODATA: the SOA's TTL counts down ($t of 30)"

# ---- negative answers without an SOA: only with neg-ttl (daemon A: 6 s; daemon B: none)
for d in "$A" "$B"; do
    e2e_assert_eq NXDOMAIN "$(e2e_rcode "$d" nosoa.test)" "NXDOMAIN without SOA ($d)"
    [[ $d == "$A" ]] && t0=$EPOCHREALTIME
    e2e_assert_eq NXDOMAIN "$(e2e_rcode "$d" nosoa.test)" "again ($d)"
    e2e_assert_eq NOERROR "$(e2e_rcode "$d" nodata0.test)" "NODATA without SOA ($d)"
    e2e_assert_eq NOERROR "$(e2e_rcode "$d" nodata0.test)" "again ($d)"
done
e2e_assert_eq 3 "$(asked nosoa.test)" "NXDOMAIN without SOA: cached with neg-ttl (1), not without (2)"
e2e_assert_eq 3 "$(asked nodata0.test)" "NODATA without SOA: cached with neg-ttl (1), not without (2)"
sleep_since "$t0" 6.3
e2e_rcode $A nosoa.test >/dev/null
e2e_assert_eq 4 "$(asked nosoa.test)" "neg-ttl=6: the entry expired after 6 s"

# ---- min-cache-ttl=60 (daemon B): a 1 s answer stays cached with the extended TTL
e2e_assert_eq 1 "$(ttl_an $B min.test)" "first answer: the upstream's TTL (1 s) passes unchanged"
sleep 2.2
t=$(ttl_an $B min.test)
e2e_assert_eq 1 "$(asked min.test)" "min-cache-ttl: answered from the cache after the record's 1 s"
((t >= 45 && t <= 58)) || e2e_fail "min-cache-ttl: cached TTL $t, expected 60 counted down"
e2e_ok "min-cache-ttl: served with the extended TTL counted down ($t of 60; dnsmasq does the same)"

# ---- DO: a DO answer (DNSSEC records possible) and a plain one are separate entries
ans() { e2e_short "$@" | head -n1; }
e2e_assert_eq 192.0.2.51 "$(ans $A do.test A +dnssec)" "DO query first: upstream answer 1"
e2e_assert_eq 192.0.2.52 "$(ans $A do.test A)" "then a plain query is not given the DO answer"
e2e_assert_eq 192.0.2.51 "$(ans $A do.test A +dnssec)" "DO again: the DO entry"
e2e_assert_eq 192.0.2.52 "$(ans $A do.test A)" "plain again: the plain entry"
e2e_assert_eq 2 "$(asked do.test)" "do.test: two upstream queries, then both from the cache"
e2e_assert_eq "1 0" "$(e2e_qlog_field up 'do' 'qname=do\.test\. ' | xargs)" \
    "upstream saw the DO query with DO, the plain one without"
e2e_assert_match '^edns udp=[0-9]+ do=1$' "$(e2e_answer $A do.test A +dnssec)" "cached DO answer: DO set"
e2e_assert_match '^edns udp=[0-9]+ do=0$' "$(e2e_answer $A do.test A)" "cached plain answer: DO clear"
e2e_assert_eq 192.0.2.61 "$(ans $A do2.test A)" "plain query first: upstream answer 1"
e2e_assert_eq 192.0.2.62 "$(ans $A do2.test A +dnssec)" "then a DO query is not given the plain answer"
e2e_assert_eq 192.0.2.61 "$(ans $A do2.test A)" "plain again: the plain entry"
e2e_assert_eq 192.0.2.62 "$(ans $A do2.test A +dnssec)" "DO again: the DO entry"
e2e_assert_eq 2 "$(asked do2.test)" "do2.test: two upstream queries"

# ---- CD: never answered from the cache, never cached (dnsmasq: replies with CD are not cached)
e2e_assert_eq 192.0.2.71 "$(ans $A cd.test A)" "plain query: answer 1, cached"
e2e_assert_eq 192.0.2.72 "$(ans $A cd.test A +cd)" "CD query: forwarded, not the cached answer"
e2e_assert_eq 192.0.2.73 "$(ans $A cd.test A +cd)" "CD again: forwarded again (not cached)"
e2e_assert_eq 192.0.2.71 "$(ans $A cd.test A)" "plain again: the first answer from the cache"
e2e_assert_eq 3 "$(asked cd.test)" "cd.test: three upstream queries"
e2e_assert_eq "0 1 1" "$(e2e_qlog_field up cd 'qname=cd\.test\. ' | xargs)" "CD passed upstream"

# ---- EDNS size/presence only shapes the reply: a client without EDNS may use the entry
e2e_assert_eq 192.0.2.81 "$(ans $A ed.test A +bufsize=4096)" "EDNS 4096 client"
r=$(e2e_answer $A ed.test A +noedns)
e2e_assert_match '^an ed\.test\. IN A 192\.0\.2\.81$' "$r" "client without EDNS: the cached answer"
e2e_assert_no_match '^edns' "$r" "and no OPT in its reply"
e2e_assert_eq 1 "$(asked ed.test)" "ed.test: one upstream query"

e2e_stop da
e2e_stop db
