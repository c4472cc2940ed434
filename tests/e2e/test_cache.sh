#!/usr/bin/env bash
# test_cache.sh - the answer cache end to end: a repeated query is answered without asking
# upstream, with the client's ID and TTLs counted down; entries expire; negative answers are
# cached for the SOA minimum (and not with no-negcache); max-cache-ttl/min-cache-ttl bound the
# TTL; the least recently used entry is evicted when cache-size is reached; cache-size=0 stores
# nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

cat >"$E2E_TMP/up.scenario" <<'SCN'
ttl.test      A  a 192.0.2.10 ttl=30
short.test    A  a 192.0.2.11 ttl=2
nx.test       A  nxdomain min=60
long.test     A  a 192.0.2.12 ttl=86400
default          a 192.0.2.99 ttl=300
SCN
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
base=(no-resolv no-hosts server=127.0.0.2)
DR=127.0.0.1#5353
asked() { e2e_qlog_count up "qname=$1"; }
ttl_of() { e2e_dig $DR "$1" A +noall +answer | awk 'NR==1 {print $2}'; }

printf '%s\n' "${base[@]}" cache-size=3 max-cache-ttl=100 >"$E2E_TMP/d.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/d.conf" --user=root --pid-file=

e2e_assert_eq 192.0.2.10 "$(e2e_short $DR ttl.test)" "first answer"
sleep 2.2
e2e_assert_eq 192.0.2.10 "$(e2e_short $DR ttl.test)" "second answer"
e2e_assert_eq 1 "$(asked 'ttl\.test')" "the repeat was answered from the cache"
t=$(ttl_of ttl.test)
[ "$t" -le 28 ] && [ "$t" -ge 20 ] || e2e_fail "TTL not counted down: $t"
e2e_ok "cached TTL counted down ($t of 30)"
# dig rejects a reply whose ID is not its query's ("ID mismatch"), so an answer here proves the
# cached reply carries this client's ID.
e2e_assert_match 'status: NOERROR' "$(e2e_dig $DR ttl.test A)" "cached answer with the client's ID"

e2e_assert_eq 192.0.2.11 "$(e2e_short $DR short.test)" "short TTL answer"
sleep 2.5
e2e_short $DR short.test >/dev/null
e2e_assert_eq 2 "$(asked 'short\.test')" "an expired entry is fetched again"

e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR nx.test)" "NXDOMAIN"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR nx.test)" "NXDOMAIN again"
e2e_assert_eq 1 "$(asked 'nx\.test')" "NXDOMAIN cached from the SOA minimum"

e2e_short $DR long.test >/dev/null
t=$(ttl_of long.test)
[ "$t" -le 100 ] || e2e_fail "max-cache-ttl=100 not applied: $t"
e2e_ok "max-cache-ttl caps the cached TTL ($t)"

# cache-size=3: ttl.test, nx.test, long.test are cached (short.test too, most recent); adding
# names evicts the least recently used.
for n in e1 e2 e3 e4; do e2e_short $DR "$n.test" >/dev/null; done
e2e_short $DR ttl.test >/dev/null
e2e_assert_eq 2 "$(asked 'ttl\.test')" "the least recently used entry was evicted"
e2e_stop dr

printf '%s\n' "${base[@]}" no-negcache >"$E2E_TMP/n.conf"
e2e_start_dnsroute dn 5354 "$E2E_TMP/n.conf" --user=root --pid-file=
before=$(asked 'nx\.test')
e2e_rcode 127.0.0.1#5354 nx.test >/dev/null
e2e_rcode 127.0.0.1#5354 nx.test >/dev/null
e2e_assert_eq $((before + 2)) "$(asked 'nx\.test')" "no-negcache: NXDOMAIN not cached"
e2e_stop dn

printf '%s\n' "${base[@]}" cache-size=0 >"$E2E_TMP/z.conf"
e2e_start_dnsroute dz 5355 "$E2E_TMP/z.conf" --user=root --pid-file=
before=$(asked 'ttl\.test')
e2e_short 127.0.0.1#5355 ttl.test >/dev/null
e2e_short 127.0.0.1#5355 ttl.test >/dev/null
e2e_assert_eq $((before + 2)) "$(asked 'ttl\.test')" "cache-size=0: nothing cached"
e2e_stop dz
