#!/usr/bin/env bash
# test_ipset_diff.sh - ipset= against dnsmasq 2.90 with real kernel sets (issue 4): the same
# configuration (rendered twice: dm_* sets for dnsmasq, dr_* sets for dnsroute), the same upstream
# scenario and the same queries, then every set's content is compared, and checked against the
# exact expected content. The deliberate differences are asserted one by one:
#   * v6 addresses never go into v4 sets (dnsmasq tries, the kernel refuses; same content);
#   * a cache hit refills a flushed set in dnsroute, not in dnsmasq;
#   * a set with a timeout gets the answer's TTL clamped to [300, 86400] s as element timeout;
#   * nothing is added for NXDOMAIN, SERVFAIL, TC, bogus-nxdomain hits, address= answers, ANY.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_ipset
e2e_require_dnsmasq

SETS4=(a4 deep bc4 d1 d2 all4 allb big4)
SETS6=(a6 all6)
for p in dm_ dr_; do
    for s in "${SETS4[@]}"; do e2e_ipset_create "$p$s" hash:ip; done
    for s in "${SETS6[@]}"; do e2e_ipset_create "$p$s" hash:ip family inet6; done
    e2e_ipset_create "${p}t4" hash:ip timeout 3600 # (60 s ran out on a loaded machine)
    e2e_ipset_create "${p}bm4" bitmap:ip range 198.51.100.0/24
    e2e_ipset_create "${p}net4" hash:net
done
ALL_SETS=("${SETS4[@]}" "${SETS6[@]}" t4 bm4 net4)

# CNAME chains of 9, 10 and 11 links (dnsmasq follows at most 10: CNAME_CHAIN).
cp "$E2E_CONF/sets.scenario" "$E2E_TMP/up.scenario"
for n in 9 10 11; do
    echo "cl$n.a.test * cname cl$n-1.z.test"
    for ((i = 1; i < n; i++)); do echo "cl$n-$i.z.test * cname cl$n-$((i + 1)).z.test"; done
    echo "cl$n-$n.z.test A a 198.51.100.$((110 + n))"
done >>"$E2E_TMP/up.scenario"
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
e2e_render "$E2E_CONF/sets-ipset.conf" "$E2E_TMP/dm.conf" P=dm_
e2e_render "$E2E_CONF/sets-ipset.conf" "$E2E_TMP/dr.conf" P=dr_
e2e_start_dnsmasq dm 5354 "$E2E_TMP/dm.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/dr.conf" --pid-file= --user=root
DR=127.0.0.1#5353
DM=127.0.0.1#5354

# The query mix (conf/sets.queries, shared with test_nftset.sh, then the lines only this test
# asks): each line goes to both servers (answers are compared too, informational here: the answer
# differential is other tests' business; this one is about the sets).
{
    cat "$E2E_CONF/sets.queries"
    printf '%s\n' 'www.n.test A' 'big.f.test A +tcp' 'cl9.a.test A' 'cl10.a.test A' \
        'cl11.a.test A' 'nodata.a.test AAAA'
} >"$E2E_TMP/queries"
ndiff=0
queried_at=$SECONDS # the elements' timeouts count down from (after) here
e2e_diff_servers "$DR" "$DM" "$E2E_TMP/queries" 2>"$E2E_TMP/answers.diff" || ndiff=$?
e2e_log "answers: $ndiff of $(wc -l <"$E2E_TMP/queries") queries answered differently (informational)"
e2e_assert_eq "198.51.100.1 198.51.100.2" "$(e2e_short $DR www.a.test | xargs)" "sanity: dnsroute answers"

members() { e2e_ipset_members "$1" | xargs; }

# Expected content, from the scenario: each set proves one rule of dnsmasq's semantics.
declare -A WANT=(
    [a4]="198.51.100.1 198.51.100.119 198.51.100.120 198.51.100.2 198.51.100.21"   # CNAME chains
    [a6]="2001:db8:a::1 2001:db8:a::2 2001:db8:a::21"
    [deep]="198.51.100.3"                            # longest suffix wins over a.test
    [bc4]="198.51.100.31 198.51.100.32"              # two domains on one line; no v6
    [d1]="198.51.100.41"                             # first of two lines for d.test
    [d2]=""
    [all4]="198.51.100.33 198.51.100.61"             # /#/: cn.other.test -> t3.b.test
    [all6]="2001:db8:f::61"
    [allb]=""                                        # second "" line loses
    [t4]="198.51.100.51 198.51.100.52 198.51.100.53"
    [bm4]="198.51.100.91 198.51.100.92"              # the kernel refuses 203.0.113.x only
    [net4]="198.51.100.91 198.51.100.92 203.0.113.5 203.0.113.6"
    [big4]="$(seq 1 100 | awk '{ printf "10.0.%d.%d\n", int($1 / 256), $1 % 256 }' | LC_ALL=C sort | xargs)"
)
for s in "${ALL_SETS[@]}"; do
    e2e_assert_eq "${WANT[$s]}" "$(members "dr_$s")" "dnsroute set dr_$s content"
done
for s in "${ALL_SETS[@]}"; do
    e2e_assert_eq "$(members "dm_$s")" "$(members "dr_$s")" "set $s: same content as dnsmasq"
done

# Negative answers, TC, bogus, local, ANY: none of their addresses is in any set (the sets'
# exact content above already excludes them; this names each case).
all_members=$(for p in dm_ dr_; do for s in "${ALL_SETS[@]}"; do members "$p$s"; done; done | xargs)
for a in 198.51.100.71 198.51.100.72 198.51.100.73 2001:db8:f::73; do
    e2e_assert_no_match "(^| )${a//./\\.}( |$)" "$all_members" "TC answer $a not added"
done
for a in 198.51.100.74 2001:db8:f::74; do
    e2e_assert_no_match "(^| )${a//./\\.}( |$)" "$all_members" "NXDOMAIN answer $a not added"
done
e2e_assert_no_match '198\.51\.100\.75' "$all_members" "SERVFAIL answer 198.51.100.75 not added"
for a in 198.51.100.67 192.0.2.66 2001:db8:f::67 2001:db8:bad::66; do
    e2e_assert_no_match "(^| )${a//./\\.}( |$)" "$all_members" "bogus-nxdomain answer $a not added"
done
for a in 198.51.100.98 198.51.100.99; do
    e2e_assert_no_match "(^| )${a//./\\.}( |$)" "$all_members" "address= answer $a not added"
done
for a in 198.51.100.81 198.51.100.82; do
    e2e_assert_no_match "(^| )${a//./\\.}( |$)" "$all_members" "ANY answer $a not added"
done
e2e_assert_eq 198.51.100.71 "$(e2e_short $DR tc.a.test A +tcp)" "sanity: TC name has an address (TCP)"
e2e_assert_eq 198.51.100.73 "$(e2e_short 127.0.0.2 tck.a.test A +ignore)" \
    "sanity: the upstream's TC reply holds an address"
e2e_assert_eq 198.51.100.74 "$(e2e_short 127.0.0.2 nxr.a.test A)" \
    "sanity: the upstream's NXDOMAIN reply holds an address"
e2e_assert_eq 198.51.100.81 "$(e2e_dig $DR anyq.a.test ANY +short)" "sanity: ANY answer has an address"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR bogus.a.test)" "sanity: bogus answer became NXDOMAIN"

# Difference 1: v6 answers for the v4-only set bc4. dnsmasq sends them and the kernel refuses
# (its log claims success); dnsroute skips them (counted as wrong family, no kernel error).
e2e_assert_match 'ipset add dm_bc4 2001:db8:b::31' "$(cat "$E2E_TMP/dm.err")" \
    "dnsmasq tried to add a v6 address to the v4 set"
e2e_signal dr USR1
for ((i = 0; i < 50; i++)); do
    grep -q 'ipset dr_bc4: ready' "$E2E_TMP/dr.err" && break
    sleep 0.1
done
stat=$(grep 'ipset dr_bc4: ready' "$E2E_TMP/dr.err" | tail -n1)
e2e_assert_match 'wrong family [1-9]' "$stat" "dnsroute skipped the v6 addresses for dr_bc4"
e2e_assert_match 'missing 0, family 0, full 0, timeout 0, permission 0, other 0' "$stat" \
    "dnsroute: no kernel error for dr_bc4"
e2e_assert_eq 0 "$(grep -c 'dr_bc4.*not added' "$E2E_TMP/dr.err" || true)" \
    "dnsroute logged no add failure for dr_bc4"
# bitmap:ip refuses the 203.0.113.x answers (outside its range): dnsroute logs it once (dnsmasq
# never reads the kernel's answer) and still adds the good addresses that came after a bad one.
e2e_assert_match 'ipset dr_bm4: 2 of 4 addresses not added' "$(cat "$E2E_TMP/dr.err")" \
    "dnsroute logged the 2 refused bitmap addresses"

# Difference 2: TTL-derived element timeouts (600 s as is, 10 s raised to 300, 200000 lowered to
# 86400); dnsmasq leaves the set's default (3600 s).
# The remaining timeout has lost at most the seconds since the queries began (many on a loaded
# machine), +1 for the rounding of SECONDS.
timeout_of() { ipset list "$1" | awk -v a="$2" '$1 == a && $2 == "timeout" { print $3 }'; }
t1=$(timeout_of dr_t4 198.51.100.51)
t2=$(timeout_of dr_t4 198.51.100.52)
t3=$(timeout_of dr_t4 198.51.100.53)
el=$((SECONDS - queried_at + 1))
(( t1 >= 600 - el && t1 <= 600 )) || e2e_fail "dr_t4 198.51.100.51 timeout $t1, want ~600 (TTL 600; $el s after)"
e2e_ok "TTL 600 -> element timeout $t1"
(( t2 >= 300 - el && t2 <= 300 )) || e2e_fail "dr_t4 198.51.100.52 timeout $t2, want ~300 (TTL 10 clamped; $el s after)"
e2e_ok "TTL 10 -> element timeout $t2 (minimum 300)"
t=$t3
(( t >= 86400 - el && t <= 86400 )) || e2e_fail "dr_t4 198.51.100.53 timeout $t, want ~86400 ($el s after)"
e2e_ok "TTL 200000 -> element timeout $t (maximum 86400)"
t=$(timeout_of dm_t4 198.51.100.51)
el=$((SECONDS - queried_at + 1))
(( t >= 3600 - el && t <= 3600 )) || e2e_fail "dm_t4 198.51.100.51 timeout $t, want the set default 3600"
e2e_ok "dnsmasq uses the set's default timeout ($t)"

# Difference 3: a cache hit refreshes the sets in dnsroute only. Flush, ask again (cached: the
# upstream must not see the name again), compare.
before=$(e2e_qlog_count up 'qname=www\.a\.test\. qtype=A ')
for p in dm_ dr_; do ipset flush "${p}a4"; ipset flush "${p}a6"; done
e2e_short $DR www.a.test A >/dev/null
e2e_short $DM www.a.test A >/dev/null
e2e_short $DR cn.a.test AAAA >/dev/null
e2e_short $DM cn.a.test AAAA >/dev/null
e2e_assert_eq "$before" "$(e2e_qlog_count up 'qname=www\.a\.test\. qtype=A ')" \
    "second query answered from the caches"
e2e_assert_eq "198.51.100.1 198.51.100.2" "$(members dr_a4)" "dnsroute: cache hit refilled dr_a4"
e2e_assert_eq "2001:db8:a::21" "$(members dr_a6)" "dnsroute: cache hit (CNAME chain) refilled dr_a6"
e2e_assert_eq "" "$(members dm_a4)" "dnsmasq: cache hit did not refill dm_a4"
e2e_assert_eq "" "$(members dm_a6)" "dnsmasq: cache hit did not refill dm_a6"

e2e_stop dr
e2e_stop dm
