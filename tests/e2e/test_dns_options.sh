#!/usr/bin/env bash
# test_dns_options.sh - bogus-nxdomain with the china list's bogus-nxdomain.china.conf, bogus-priv,
# domain-needed and filter-AAAA, each against real dnsmasq 2.90 with the same configuration (the
# answers must be identical) and against the fake upstream's query log (what is forwarded and what
# is not): a bogus address anywhere in the answer makes it NXDOMAIN (v4 and v6 lines of the file);
# private PTR names are answered NXDOMAIN unless a domain-specific server= covers them; dotless
# A/AAAA names are never forwarded (even with server=//), other types are; filter-AAAA still
# forwards AAAA queries and adds their addresses to the sets, but the client gets NODATA.
# (address=/local= rcodes and local-ttl: test_routing.sh and test_diff_dnsmasq.sh.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

bogus_file="$DNSROUTE_CHINA_LIST/bogus-nxdomain.china.conf"
if [[ ! -r "$bogus_file" ]]; then
    bogus_file=$E2E_TMP/bogus.conf
    printf '%s\n' '# generated' bogus-nxdomain=123.125.81.12 bogus-nxdomain=101.226.10.8 \
        bogus-nxdomain=2001:240:bb5f:1980:0:1:80b:ad00 >"$bogus_file"
    e2e_log "china list not found: using a generated bogus-nxdomain file"
fi
b4=$(sed -n 's/^bogus-nxdomain=\([0-9.]*\)$/\1/p' "$bogus_file" | head -n1)
b4last=$(sed -n 's/^bogus-nxdomain=\([0-9.]*\)$/\1/p' "$bogus_file" | tail -n1)
b6=$(sed -n 's/^bogus-nxdomain=\([0-9a-f:]*:[0-9a-f:]*\)$/\1/p' "$bogus_file" | head -n1)
[[ -n "$b4" && -n "$b6" ]] || e2e_fail "no v4/v6 bogus-nxdomain lines in $bogus_file"
e2e_log "bogus addresses used: $b4, $b4last, $b6 (from $bogus_file)"

cat >"$E2E_TMP/up.scenario" <<SCN
@spec   *                A     a 10.9.9.9
@spec   *                PTR   nodata
@dotless *               *     nodata
bogus1.test              A     a $b4
bogus2.test              A     a 192.0.2.1,192.0.2.2,$b4last
bogus6.test              AAAA  aaaa 2001:db8::1,$b6
bogus6.test              A     a 192.0.2.6
fine.test                A     a 192.0.2.5
fine.test                AAAA  aaaa 2001:db8::5
cn6.set.test             *     cname fine.test
www.set.test             AAAA  aaaa 2001:db8::7
www.set.test             A     a 192.0.2.7
nx6.test                 AAAA  nxdomain
sf6.test                 AAAA  servfail
nd6.test                 AAAA  nodata
tc6.test                 AAAA  tc
*                        PTR   nodata
*                        A     a 192.0.2.99
*                        AAAA  aaaa 2001:db8::99
*                        TXT   nodata
SCN
e2e_start_fake def "$E2E_TMP/up.scenario" 127.0.0.2#53
e2e_start_fake spec "$E2E_TMP/up.scenario" 127.0.0.3#53@spec
e2e_start_fake dotless "$E2E_TMP/up.scenario" 127.0.0.4#53@dotless

conf=$E2E_TMP/d.conf
printf '%s\n' no-resolv no-hosts cache-size=0 "conf-file=$bogus_file" bogus-priv domain-needed \
    filter-AAAA server=/168.192.in-addr.arpa/127.0.0.3 server=//127.0.0.4 server=127.0.0.2 \
    log-queries >"$conf"
# dnsroute also fills sets (the oracle's configuration has no set: dnsmasq -d in a user namespace
# and differently named sets are test_ipset_diff.sh's business).
have_ipset=0
cp "$conf" "$E2E_TMP/dr.conf"
if command -v ipset >/dev/null && ipset create s4 hash:ip 2>/dev/null; then
    ipset create s6 hash:ip family inet6
    echo "ipset=/set.test/s4,s6" >>"$E2E_TMP/dr.conf"
    have_ipset=1
else
    e2e_skip_part "ipset(8) missing or unusable: the filter-AAAA set check"
fi
e2e_start_dnsroute dr 5353 "$E2E_TMP/dr.conf" --user=root --pid-file=
e2e_start_dnsmasq dm 5354 "$conf"
DR=127.0.0.1#5353 DM=127.0.0.1#5354

cat >"$E2E_TMP/queries" <<'Q'
bogus1.test A
bogus1.test A +noedns
bogus2.test A
bogus6.test AAAA
bogus6.test A
fine.test A
5.0.0.10.in-addr.arpa PTR
1.0.20.172.in-addr.arpa PTR
1.0.32.172.in-addr.arpa PTR
4.3.2.1.in-addr.arpa PTR
1.1.168.192.in-addr.arpa PTR
1.0.0.127.in-addr.arpa PTR
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa PTR
plainname A
plainname AAAA
Q
n=0
e2e_diff_servers $DR $DM "$E2E_TMP/queries" || n=$?
e2e_assert_eq 0 "$n" "bogus-nxdomain / bogus-priv / domain-needed: $(grep -c . "$E2E_TMP/queries") queries answered like dnsmasq 2.90"

# The log-queries lines of the local NXDOMAINs are dnsmasq's ("config 10.0.0.5 is NXDOMAIN").
cfg() { sed -E -n 's/.*(config [^ ]+ is NXDOMAIN)$/\1/p' "$E2E_TMP/$1.err" | sort -u; }
e2e_assert_match '^config 10\.0\.0\.5 is NXDOMAIN$' "$(cfg dr)" "bogus-priv logged as the address"
e2e_assert_match '^config ::1 is NXDOMAIN$' "$(cfg dr)" "bogus-priv: IPv6 reverse name logged as ::1"
e2e_assert_match '^config plainname is NXDOMAIN$' "$(cfg dr)" "domain-needed logged"
e2e_assert_eq "$(cfg dm)" "$(cfg dr)" "the same 'config ... is NXDOMAIN' lines as dnsmasq 2.90"

# ---- bogus-nxdomain (the china list's file)
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR bogus1.test)" "bogus address ($b4) -> NXDOMAIN"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR bogus2.test)" "bogus address third of three -> NXDOMAIN"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR bogus6.test AAAA)" "bogus IPv6 line ($b6) -> NXDOMAIN"
e2e_assert_eq 192.0.2.6 "$(e2e_short $DR bogus6.test A)" "the same name's clean A answer passes"
e2e_assert_eq 192.0.2.5 "$(e2e_short $DR fine.test A)" "clean answers pass"

# ---- bogus-priv
fwd() { e2e_qlog_count "$1" "qname=${2//./\\.}\\. "; }
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR 5.0.0.10.in-addr.arpa PTR)" "bogus-priv: 10/8 PTR -> NXDOMAIN"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR 1.0.20.172.in-addr.arpa PTR)" "bogus-priv: 172.20/12 -> NXDOMAIN"
e2e_assert_eq 0 "$(e2e_qlog_count def 'qname=(5\.0\.0\.10|1\.0\.20\.172|1\.0\.0\.127)\.in-addr')" \
    "private PTR names never reach the default server"
e2e_assert_eq NOERROR "$(e2e_rcode $DR 1.0.32.172.in-addr.arpa PTR)" "172.32 is public: forwarded"
e2e_assert_eq NOERROR "$(e2e_rcode $DR 1.1.168.192.in-addr.arpa PTR)" \
    "192.168 PTR with a domain-specific server=: forwarded"
e2e_assert_ge 1 "$(fwd spec 1.1.168.192.in-addr.arpa)" "to that server"

# ---- domain-needed
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR plainname A)" "domain-needed: dotless A -> NXDOMAIN"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR plainname AAAA)" "domain-needed: dotless AAAA -> NXDOMAIN"
e2e_assert_eq 0 "$(e2e_qlog_count dotless 'qname=plainname\. .*qtype=(A|AAAA) ')" \
    "dotless A/AAAA never forwarded, even with server=//"
before=$(e2e_qlog_count dotless 'qname=plainname\. .*qtype=TXT ')
e2e_assert_eq "$(e2e_answer $DM plainname TXT)" "$(e2e_answer $DR plainname TXT)" \
    "domain-needed, dotless TXT: the same answer as dnsmasq 2.90"
e2e_assert_eq $((before + 2)) "$(e2e_qlog_count dotless 'qname=plainname\. .*qtype=TXT ')" \
    "dotless TXT is forwarded to server=// by both (domain-needed covers A/AAAA only)"

# ---- filter-AAAA: forwarded, added to the sets, the client gets NODATA
before=$(fwd def www.set.test)
a=$(e2e_answer $DR www.set.test AAAA)
e2e_assert_match '^rcode NOERROR$' "$a" "filter-AAAA: NOERROR"
e2e_assert_no_match '^an ' "$a" "filter-AAAA: no answer records (NODATA)"
e2e_assert_eq $((before + 1)) "$(fwd def www.set.test)" "filter-AAAA: the AAAA query was forwarded"
e2e_assert_eq "$(e2e_answer $DM www.set.test AAAA)" "$a" "filter-AAAA: the same NODATA as dnsmasq 2.90"
e2e_assert_eq 192.0.2.7 "$(e2e_short $DR www.set.test A)" "filter-AAAA leaves A answers alone"
# Replies without AAAA records pass unchanged, as dnsmasq's rrfilter leaves them.
printf '%s\n' "nx6.test AAAA" "sf6.test AAAA" "nd6.test AAAA" "tc6.test AAAA +ignore" \
    "www.set.test AAAA" "www.set.test AAAA +noedns" >"$E2E_TMP/fq"
n=0
e2e_diff_servers $DR $DM "$E2E_TMP/fq" || n=$?
e2e_assert_eq 0 "$n" "filter-AAAA: NXDOMAIN, SERVFAIL, NODATA+SOA, TC and filtered answers as dnsmasq 2.90"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR nx6.test AAAA)" "filter-AAAA: an NXDOMAIN stays NXDOMAIN"
e2e_assert_eq SERVFAIL "$(e2e_rcode $DR sf6.test AAAA)" "filter-AAAA: a SERVFAIL stays SERVFAIL"
e2e_assert_match '^ns nd6\.test\. IN SOA ' "$(e2e_answer $DR nd6.test AAAA)" \
    "filter-AAAA: a NODATA keeps its SOA"
e2e_assert_match '^config www\.set\.test is NODATA-IPv6$' "$(sed -E -n 's/.*(config [^ ]+ is NODATA-IPv6)$/\1/p' "$E2E_TMP/dr.err")" \
    "filter-AAAA logged as dnsmasq: config NAME is NODATA-IPv6"
if ((have_ipset)); then
    e2e_ipset_has s6 2001:db8::7 || e2e_fail "filtered AAAA 2001:db8::7 not added to s6"
    e2e_ok "filter-AAAA: the filtered AAAA address is in the set (dnsmasq 2.90 does the same)"
    e2e_ipset_has s4 192.0.2.7 || e2e_fail "A 192.0.2.7 not added to s4"
    e2e_ok "and the A answer is in s4"
    e2e_rcode $DR cn6.set.test AAAA >/dev/null
    e2e_ipset_has s6 2001:db8::5 || e2e_fail "AAAA behind a CNAME not added to s6"
    e2e_ok "filter-AAAA: an AAAA behind a CNAME is added too"
    e2e_ipset_has s6 "$b6" && e2e_fail "bogus address $b6 was added to s6"
    e2e_ok "bogus-nxdomain answers add nothing"
fi
# Known difference: for a CNAME chain ending in AAAA records dnsmasq 2.90 keeps the CNAMEs (its
# rrfilter removes only the AAAA records); dnsroute answers a bare NODATA. Both are NODATA.
e2e_assert_match '^an cn6\.set\.test\. IN CNAME fine\.test\.$' "$(e2e_answer $DM cn6.set.test AAAA)" \
    "(dnsmasq 2.90 keeps the CNAME of a filtered chain)"
a=$(e2e_answer $DR cn6.set.test AAAA)
e2e_assert_match '^rcode NOERROR$' "$a" "filter-AAAA with a CNAME chain: NOERROR"
e2e_assert_no_match 'IN AAAA' "$a" "filter-AAAA with a CNAME chain: no AAAA record"
e2e_stop dr
