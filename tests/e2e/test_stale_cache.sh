#!/usr/bin/env bash
# test_stale_cache.sh - use-stale-cache[=MAX] against dnsmasq 2.90 on the same configuration:
# TTL-1 answers expire, are served stale (TTL 0, EDE 3 "stale answer" to EDNS clients) and
# refreshed in the background; with the upstream stopped the name is still answered stale (UDP
# and TCP, also a zero-TTL answer, which only stale caching keeps); with the upstream back the
# refresh brings the new answer; MAX bounds how long past its expiry an answer is served. ipset=
# gets the stale answer's addresses again (dnsroute: cache hits refill sets; dnsmasq does not)
# and the refreshed ones (both). Each daemon has its own fake upstream, so the refreshes of each
# are counted apart.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
[[ -x "$DNSMASQ" ]] || e2e_skip "dnsmasq not found at $DNSMASQ"

SETS=0
if command -v ipset >/dev/null && ipset create e2e_probe hash:ip 2>/dev/null; then
    ipset destroy e2e_probe
    SETS=1
    for p in dm_ dr_; do e2e_ipset_create "${p}st" hash:ip; done
else
    e2e_skip_part "ipset(8) does not work here: the set checks"
fi

cat >"$E2E_TMP/old.scenario" <<'SCN'
s.test  A a 192.0.2.1 ttl=1
z.test  A a 192.0.2.3 ttl=0
m.test  A a 192.0.2.5 ttl=1
SCN
cat >"$E2E_TMP/new.scenario" <<'SCN'
s.test  A a 192.0.2.2 ttl=1
z.test  A a 192.0.2.4 ttl=0
m.test  A a 192.0.2.6 ttl=1
SCN
e2e_start_fake upm "$E2E_TMP/old.scenario" 127.0.0.2#53
e2e_start_fake upr "$E2E_TMP/old.scenario" 127.0.0.3#53
for who in dm:127.0.0.2 dr:127.0.0.3; do
    n=${who%%:*} up=${who#*:}
    sets=()
    ((SETS)) && sets=("ipset=/s.test/${n}_st")
    printf '%s\n' no-resolv no-hosts "server=$up" use-stale-cache log-queries "${sets[@]}" \
        >"$E2E_TMP/$n.conf"
    printf '%s\n' no-resolv no-hosts "server=$up" use-stale-cache=2 >"$E2E_TMP/${n}2.conf"
done
e2e_start_dnsmasq dm 5353 "$E2E_TMP/dm.conf"
e2e_start_dnsmasq dm2 5355 "$E2E_TMP/dm2.conf"
e2e_start_dnsroute dr 5354 "$E2E_TMP/dr.conf" --user=root --pid-file=
e2e_start_dnsroute dr2 5356 "$E2E_TMP/dr2.conf" --user=root --pid-file=
DM=127.0.0.1#5353 DR=127.0.0.1#5354 DM2=127.0.0.1#5355 DR2=127.0.0.1#5356

# "TTL ADDRESS [stale]": the first answer record and whether the reply carries EDE 3.
ans()
{
    e2e_dig "$@" +noall +answer +comments | awk '
        /; EDE: 3 \(Stale Answer\)/ { stale = " stale" }
        $4 == "A" && !done { rec = $2 " " $5; done = 1 }
        END { print (rec == "" ? "none" : rec) stale }'
}
asked() { e2e_qlog_count "$1" "qname=${2//./\\.}\\. "; }
# both EXPECTED NAME WHAT [DIG OPTS]: dnsmasq and dnsroute both answer EXPECTED.
both()
{
    local want=$1 name=$2 what=$3
    shift 3
    e2e_assert_eq "$want" "$(ans "$DM" "$name" A "$@")" "dnsmasq: $what"
    e2e_assert_eq "$want" "$(ans "$DR" "$name" A "$@")" "dnsroute: $what"
}

# wait_stale SERVER NAME ADDR: queries (0.1 s apart, at most 10 s) until NAME is served stale
# with ADDR; before its entry expires it is served fresh (TTL 1, or 0 in dnsmasq's last whole
# second, without EDE) with that same ADDR. Each query before expiry is a plain cache hit, so
# waiting this way changes nothing the test looks at.
wait_stale()
{
    local i a
    for ((i = 0; i < 100; i++)); do
        a=$(ans "$1" "$2" A)
        [[ $a == "0 $3 stale" ]] && return 0
        [[ $a == "1 $3" || $a == "0 $3" ]] || e2e_fail "$1: unexpected answer for $2 before expiry: $a"
        sleep 0.1
    done
    e2e_fail "$1: $2 never expired"
}

# ---- fresh answers, then stale ones with a background refresh
both "1 192.0.2.1" s.test "s.test from upstream, TTL 1"
both "0 192.0.2.3" z.test "z.test from upstream, TTL 0"
e2e_assert_eq "1 192.0.2.5" "$(ans "$DM2" m.test A)" "m.test from dnsmasq (MAX=2)"
e2e_assert_eq "1 192.0.2.5" "$(ans "$DR2" m.test A)" "m.test from dnsroute (MAX=2)"
wait_stale "$DM" s.test 192.0.2.1
wait_stale "$DR" s.test 192.0.2.1
e2e_ok "both: expired s.test served stale (TTL 0, EDE 3)"
e2e_wait_qlog upm 2 'qname=s\.test\. '
e2e_wait_qlog upr 2 'qname=s\.test\. '
e2e_ok "both refreshed the stale answer upstream"

# ---- the upstreams stop: the names are still answered, stale
e2e_kill upm || true
e2e_kill upr || true
# The refreshed entry (TTL 1) expires again (the refresh answered the same address).
wait_stale "$DM" s.test 192.0.2.1
wait_stale "$DR" s.test 192.0.2.1
if ((SETS)); then
    ipset flush dm_st
    ipset flush dr_st
fi
both "0 192.0.2.1 stale" s.test "upstream stopped: s.test answered stale"
both "0 192.0.2.1 stale" s.test "and again"
both "0 192.0.2.3 stale" z.test "z.test (TTL 0) was kept: answered stale"
both "0 192.0.2.1" s.test "a client without EDNS: TTL 0, no OPT (so no EDE)" +noedns
e2e_assert_eq "0 192.0.2.1 stale" "$(ans "$DR" s.test A +tcp)" "dnsroute: over TCP too"
if ((SETS)); then
    e2e_ipset_has dr_st 192.0.2.1 || e2e_fail "the stale answer did not refill dnsroute's set"
    e2e_ok "the stale answer's address is back in dnsroute's set"
    if e2e_ipset_has dm_st 192.0.2.1; then
        e2e_log "dnsmasq refilled its set from the cache too"
    else
        e2e_log "dnsmasq does not refill a set from the cache (deliberate difference)"
    fi
fi

# ---- MAX=2: past two seconds after its expiry an answer is no longer served
# wait_gone SERVER: m.test (expired at least a second ago, its upstream stopped) is served stale
# until MAX has passed, then not at all (at most 10 s of queries 0.1 s apart).
wait_gone()
{
    local i a
    for ((i = 0; i < 100; i++)); do
        a=$(ans "$1" m.test A)
        [[ $a == none ]] && return 0
        [[ $a == "0 192.0.2.5 stale" || $a == "1 192.0.2.5" || $a == "0 192.0.2.5" ]] ||
            e2e_fail "$1: unexpected answer for m.test within MAX: $a"
        sleep 0.1
    done
    e2e_fail "$1: m.test still served 10 s after it expired (MAX=2)"
}
wait_gone "$DM2"
wait_gone "$DR2"
e2e_ok "MAX=2: both stop serving m.test once it expired more than 2 s ago"
both "0 192.0.2.1 stale" s.test "default MAX (one day): s.test still served"

# ---- the upstreams are back with new answers: the refresh brings them
e2e_start_fake upm2 "$E2E_TMP/new.scenario" 127.0.0.2#53
e2e_start_fake upr2 "$E2E_TMP/new.scenario" 127.0.0.3#53
# wait_new SERVER: queries until the answer is the new one (each query may refresh; a refresh
# still trying the stopped upstream holds the next one back until it ends; at most 300 queries
# 0.1 s apart); every answer before it must be the old one, stale.
wait_new()
{
    local i a
    for ((i = 0; i < 300; i++)); do
        a=$(ans "$1" s.test A)
        # The new answer (TTL 1) may itself have expired by the next query on a loaded
        # machine: served stale then, which is still the refreshed answer.
        [[ $a == "1 192.0.2.2" || $a == "0 192.0.2.2"* ]] && return 0
        [[ $a == "0 192.0.2.1 stale" ]] || e2e_fail "$1: unexpected answer while refreshing: $a"
        sleep 0.1
    done
    e2e_fail "$1: s.test never refreshed after the upstream came back"
}
wait_new "$DM"
wait_new "$DR"
e2e_ok "both serve the refreshed answer once the upstream is back"
e2e_assert_eq 1 "$(($(asked upr2 s.test) >= 1))" "dnsroute's refresh reached the new upstream"
if ((SETS)); then
    e2e_ipset_has dr_st 192.0.2.2 || e2e_fail "dnsroute's set lacks the refreshed address"
    e2e_ipset_has dm_st 192.0.2.2 || e2e_fail "dnsmasq's set lacks the refreshed address"
    e2e_ok "the refreshed address is in both sets"
fi
grep -q "cached-stale s.test is 192.0.2.1" "$E2E_TMP/dr.err" ||
    e2e_fail "dnsroute did not log dnsmasq's cached-stale line"
e2e_ok "log-queries: cached-stale lines as dnsmasq"

e2e_stop dr
e2e_stop dr2
