#!/usr/bin/env bash
# test_nftset.sh - nftset= against dnsmasq 2.90 with real nftables sets (issue 4): ip, ip6 and
# inet tables, 4#/6# prefixes, no family (ip), several sets per line, first line wins, "" (/#/),
# an interval set and a timeout set. The same configuration is rendered twice (dm_* tables for
# dnsmasq, dr_* tables for dnsroute), the same queries go to both, and every set's elements are
# compared with dnsmasq's and with the exact expected content. Deliberate differences, asserted
# separately: v6 answers for a v4-key set without prefix are skipped by dnsroute (dnsmasq tries,
# fails and logs); a cache hit refills a flushed set in dnsroute only; a timeout set gets the
# answer's TTL clamped to [300, 86400] s as element timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_nft
e2e_require_dnsmasq

# SPECS: key -> "family table set" (table without its dm_/dr_ prefix).
declare -A SPECS=(
    [s4]="ip t s4" [s6]="ip6 t6 s6" [deep4]="inet ti deep4" [deep6]="inet ti deep6"
    [bc4]="inet ti bc4" [d1]="ip t d1" [d2]="ip t d2" [t4]="inet ti t4"
    [all4]="inet ti all4" [all6]="inet ti all6"
)
for p in dm_ dr_; do
    nft add table ip "${p}t"
    nft add table ip6 "${p}t6"
    nft add table inet "${p}ti"
    for k in s4 deep4 bc4 d1 d2; do
        read -r f t s <<<"${SPECS[$k]}"
        nft add set "$f" "$p$t" "$s" '{ type ipv4_addr; }'
    done
    for k in s6 deep6 all6; do
        read -r f t s <<<"${SPECS[$k]}"
        nft add set "$f" "$p$t" "$s" '{ type ipv6_addr; }'
    done
    nft add set inet "${p}ti" t4 '{ type ipv4_addr; flags timeout; timeout 3600s; }'
    nft add set inet "${p}ti" all4 '{ type ipv4_addr; flags interval; }'
done

e2e_start_fake up "$E2E_CONF/sets.scenario" 127.0.0.2#53
e2e_render "$E2E_CONF/sets-nft.conf" "$E2E_TMP/dm.conf" P=dm_
e2e_render "$E2E_CONF/sets-nft.conf" "$E2E_TMP/dr.conf" P=dr_
e2e_start_dnsmasq dm 5354 "$E2E_TMP/dm.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/dr.conf" --pid-file= --user=root
DR=127.0.0.1#5353
DM=127.0.0.1#5354

# The query mix shared with test_ipset_diff.sh.
cp "$E2E_CONF/sets.queries" "$E2E_TMP/queries"
ndiff=0
queried_at=$SECONDS # the elements' timeouts count down from (after) here
e2e_diff_servers "$DR" "$DM" "$E2E_TMP/queries" 2>"$E2E_TMP/answers.diff" || ndiff=$?
e2e_log "answers: $ndiff queries answered differently (informational)"

# elems PREFIX KEY: the set's elements (addresses only, timeouts stripped), sorted, one line.
elems()
{
    local f t s
    read -r f t s <<<"${SPECS[$2]}"
    nft list set "$f" "$1$t" "$s" | tr -d '\n' | sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' |
        tr ',' '\n' | awk 'NF { print $1 }' | LC_ALL=C sort | xargs
}

declare -A WANT=(
    [s4]="198.51.100.1 198.51.100.2 198.51.100.21"     # ip table; CNAME chain by qname
    [s6]="2001:db8:a::1 2001:db8:a::2 2001:db8:a::21"  # ip6 table
    [deep4]="198.51.100.3"                             # longer suffix
    [deep6]="2001:db8:a::3"
    [bc4]="198.51.100.31 198.51.100.32"                # two domains, v4 only
    [d1]="198.51.100.41"                               # first line wins
    [d2]=""
    [t4]="198.51.100.51 198.51.100.52 198.51.100.53"
    [all4]="198.51.100.33 198.51.100.61"               # interval set, /#/
    [all6]="2001:db8:f::61"
)
for k in "${!WANT[@]}"; do
    e2e_assert_eq "${WANT[$k]}" "$(elems dr_ "$k")" "dnsroute nftset ${SPECS[$k]} content"
done
for k in "${!WANT[@]}"; do
    e2e_assert_eq "$(elems dm_ "$k")" "$(elems dr_ "$k")" "nftset $k: same elements as dnsmasq"
done
all=$(for p in dm_ dr_; do for k in "${!WANT[@]}"; do elems $p "$k"; done; done | xargs)
for a in 198.51.100.71 198.51.100.72 198.51.100.73 2001:db8:f::73 198.51.100.74 2001:db8:f::74 \
    198.51.100.75 198.51.100.67 192.0.2.66 2001:db8:f::67 2001:db8:bad::66 \
    198.51.100.98 198.51.100.99 198.51.100.81 198.51.100.82; do
    e2e_assert_no_match "(^| )${a//./\\.}( |$)" "$all" "$a (TC/NXDOMAIN/SERVFAIL/bogus/address=/ANY) in no set"
done

# v6 answers for bc4 (v4 key, no prefix): dnsmasq tries and logs the failure; dnsroute skips.
e2e_assert_match 'nftset inet dm_ti bc4 Error' "$(cat "$E2E_TMP/dm.err")" \
    "dnsmasq tried the v6 address in the v4 set and failed"
e2e_signal dr USR1
for ((i = 0; i < 50; i++)); do
    grep -q 'nftset inet#dr_ti#bc4: ready' "$E2E_TMP/dr.err" && break
    sleep 0.1
done
stat=$(grep 'nftset inet#dr_ti#bc4: ready' "$E2E_TMP/dr.err" | tail -n1)
e2e_assert_match 'wrong family [1-9]' "$stat" "dnsroute skipped the v6 addresses for bc4"
e2e_assert_match 'missing 0, family 0, full 0, timeout 0, permission 0, other 0' "$stat" \
    "dnsroute: no kernel error for bc4"
e2e_assert_eq 0 "$(grep -c 'not added' "$E2E_TMP/dr.err" || true)" "dnsroute logged no add failure"

# Timeout set: per-element timeout from the TTL (clamped); dnsmasq gets the set's 3600 s (60 s ran
# out before the checks on a loaded machine).
# secs TEXT: nft duration (1d2h3m4s5ms) to whole seconds.
secs()
{
    local t=$1 n=0 v u
    while [[ $t =~ ^([0-9]+)(d|h|ms|m|s)(.*)$ ]]; do
        v=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]} t=${BASH_REMATCH[3]}
        case $u in d) n=$((n + v * 86400)) ;; h) n=$((n + v * 3600)) ;; m) n=$((n + v * 60)) ;;
            s) n=$((n + v)) ;; esac
    done
    echo "$n"
}
# elem_field PREFIX ADDR FIELD: the timeout or expires value of an element of t4, in seconds.
elem_field()
{
    local v
    v=$(nft list set inet "${1}ti" t4 | tr -d '\n' | tr ',{}' '\n\n\n' |
        awk -v a="$2" -v f="$3" '$1 == a { for (i = 2; i < NF; i++) if ($i == f) print $(i + 1) }')
    [[ -n "$v" ]] && secs "$v" || echo none
}
e2e_assert_eq 600 "$(elem_field dr_ 198.51.100.51 timeout)" "TTL 600 -> element timeout 600 s"
e2e_assert_eq 300 "$(elem_field dr_ 198.51.100.52 timeout)" "TTL 10 -> element timeout 300 s"
e2e_assert_eq 86400 "$(elem_field dr_ 198.51.100.53 timeout)" "TTL 200000 -> element timeout 86400 s"
e=$(elem_field dr_ 198.51.100.51 expires)
# At most the seconds since the queries began have run off (many on a loaded machine), +1 for
# the rounding of SECONDS.
elapsed=$((SECONDS - queried_at + 1))
((e >= 600 - elapsed && e <= 600)) || e2e_fail "dr t4 198.51.100.51 expires in $e s ($elapsed s after the query)"
e2e_ok "dnsroute element expires in $e s"
e2e_assert_eq none "$(elem_field dm_ 198.51.100.51 timeout)" "dnsmasq sends no element timeout"
e=$(elem_field dm_ 198.51.100.51 expires)
elapsed=$((SECONDS - queried_at + 1))
((e >= 3600 - elapsed && e <= 3600)) || e2e_fail "dm t4 198.51.100.51 expires in $e s, want the set's 3600 s"
e2e_ok "dnsmasq element expires with the set default ($e s)"

# Cache hit: flush the a.test sets, ask again through the caches.
before=$(e2e_qlog_count up 'qname=www\.a\.test\. qtype=A ')
for p in dm_ dr_; do nft flush set ip "${p}t" s4; nft flush set ip6 "${p}t6" s6; done
for s in $DR $DM; do
    e2e_short "$s" www.a.test A >/dev/null
    e2e_short "$s" www.a.test AAAA >/dev/null
done
e2e_assert_eq "$before" "$(e2e_qlog_count up 'qname=www\.a\.test\. qtype=A ')" "answered from the caches"
e2e_assert_eq "198.51.100.1 198.51.100.2" "$(elems dr_ s4)" "dnsroute: cache hit refilled s4"
e2e_assert_eq "2001:db8:a::1 2001:db8:a::2" "$(elems dr_ s6)" "dnsroute: cache hit refilled s6"
e2e_assert_eq "" "$(elems dm_ s4)" "dnsmasq: cache hit did not refill s4"
e2e_assert_eq "" "$(elems dm_ s6)" "dnsmasq: cache hit did not refill s6"

e2e_stop dr
e2e_stop dm
