#!/usr/bin/env bash
# test_diff_dnsmasq.sh - issue 3, differential: dnsroute and real dnsmasq 2.90 with the same
# configuration (china-list style server= lines, a longer suffix, server=/d/#, server=//,
# local=, address= v4/v6/#) answer a list of queries (A/AAAA/TXT/MX/ANY, NXDOMAIN, NODATA, CNAME
# chains, local names, routed names, EDNS variants, truncation) identically. Where 2.90 and
# 2.92+ differ (local= and server= on the same domain), dnsroute's 2.92+ answer is asserted
# separately and the name is left out of the diff.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

cat >"$E2E_TMP/up.scenario" <<'EOF2'
@china  www.baidu.com     A     a 1.1.1.1 ttl=600
@china  www.baidu.com     AAAA  aaaa 2400:da00::1
@china  *                 A     a 1.1.1.9
@china  *                 AAAA  nodata
@deep   *                 A     a 3.3.3.3
@nodots *                 A     a 4.4.4.4
        www.example.com   A     a 93.184.216.34
        www.example.com   AAAA  aaaa 2606:2800:220:1::1
        www.example.com   MX    nodata
        chain.test        *     cname c1.chain.test
        c1.chain.test     *     cname c2.chain.test
        c2.chain.test     A     a 10.0.0.1,10.0.0.2
        c2.chain.test     AAAA  aaaa fd00::1
        nxc.test          *     cname gone.test
        gone.test         *     nxdomain min=30
        nd.test           A     nodata min=20
        nx.test           *     nxdomain
        tcx.test          A     tc
        tcx.test          A     a 5.5.5.5
        b40.test          A     big=40
        sf.test           A     servfail
        *.conflict.test   A     a 7.7.7.7
        bog1.test         A     a 10.9.9.9
        bog2.test         A     a 192.0.2.1,10.9.9.9
        bogc.test         A     cname bogt.test
        bogt.test         A     a 10.9.9.9
        nobog.test        A     a 192.0.2.1,10.9.9.8
        *                 A     a 127.0.0.99
        *                 TXT   nodata
EOF2
e2e_start_fake china "$E2E_TMP/up.scenario" 114.114.114.114#53@china
e2e_start_fake def "$E2E_TMP/up.scenario" 127.0.0.2#53@def
e2e_start_fake deep "$E2E_TMP/up.scenario" 127.0.0.3#53@deep
e2e_start_fake nodots "$E2E_TMP/up.scenario" 127.0.0.4#53@nodots

conf="$E2E_TMP/d.conf"
{
    printf '%s\n' no-resolv no-hosts cache-size=0
    # The first 200 china-list lines when the list is there, else a few of the same shape.
    cl="$DNSROUTE_CHINA_LIST/accelerated-domains.china.conf"
    if [[ -r "$cl" ]]; then awk '/^server=/ && n++ < 200' "$cl"; fi
    cat <<'EOF2'
server=/baidu.com/114.114.114.114
server=/cn.test/114.114.114.114
server=/deep.test/114.114.114.114
server=/a.b.deep.test/127.0.0.3
server=/back.cn.test/#
server=//127.0.0.4
local=/loc.test/
address=/ad.test/192.0.2.7
address=/ad.test/2001:db8::7
address=/zero.test/#
address=/both.test/192.0.2.9
address=/six.test/2001:db8::8
local=/both.test/
server=/conflict.test/127.0.0.2
local=/conflict.test/
server=127.0.0.2
bogus-nxdomain=10.9.9.9
EOF2
} >"$conf"
e2e_start_dnsroute dr 5353 "$conf" --pid-file= --user=root
e2e_start_dnsmasq dm 5354 "$conf"
DR=127.0.0.1#5353 DM=127.0.0.1#5354

cat >"$E2E_TMP/queries" <<'EOF2'
www.baidu.com A
www.baidu.com AAAA
WWW.Baidu.COM A
x.y.cn.test A
cn.test AAAA
notcn.test A
x.a.b.deep.test A
b.deep.test A
x.back.cn.test A
plainname A
www.example.com A
www.example.com AAAA
www.example.com MX
www.example.com TXT
chain.test A
chain.test AAAA
chain.test CNAME
nxc.test A
nd.test A
nx.test A
nx.test TXT
www.loc.test A
loc.test MX
www.ad.test A
ad.test AAAA
ad.test TXT
x.zero.test A
x.zero.test AAAA
both.test A
both.test AAAA
both.test MX
www.ad.test ANY
x.zero.test ANY
both.test ANY
six.test ANY
six.test A
www.loc.test ANY
www.example.com A +dnssec
www.example.com A +noedns
www.example.com A +bufsize=4096
nx.test A +dnssec
www.ad.test A +noedns
www.loc.test A +noedns
b40.test A +noedns +ignore
b40.test A +bufsize=1232
tcx.test A +ignore
tcx.test A
sf.test A
bog1.test A
bog2.test A
bogc.test A
nobog.test A
EOF2
# Not in the list: x.conflict.test (server= and local= on one domain), asserted below.
n=0
e2e_diff_servers $DR $DM "$E2E_TMP/queries" || n=$?
e2e_assert_eq 0 "$n" "dnsroute answers $(grep -c . "$E2E_TMP/queries") queries exactly like dnsmasq 2.90"
# bogus-nxdomain: a listed address anywhere in the answer section (not only first) -> NXDOMAIN.
for n in bog1 bog2 bogc; do
    e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR $n.test)" "bogus-nxdomain: $n.test -> NXDOMAIN"
done
e2e_assert_eq NOERROR "$(e2e_rcode $DR nobog.test)" "bogus-nxdomain: other addresses pass"
# The comparison means something only if real answers came back: every query got a reply,
# and the list covers NOERROR, NXDOMAIN and SERVFAIL.
codes=$(while read -r -a q; do e2e_rcode $DR "${q[@]}"; done <"$E2E_TMP/queries" | sort | uniq -c)
e2e_log "dnsroute rcodes: $(xargs <<<"$codes")"
e2e_assert_no_match 'TIMEOUT|NONE' "$codes" "every query of the list was answered"
e2e_assert_match ' NOERROR' "$codes" "the list has NOERROR answers"
e2e_assert_match ' NXDOMAIN' "$codes" "the list has NXDOMAIN answers"
e2e_assert_match ' SERVFAIL' "$codes" "the list has a SERVFAIL answer"
# A china-list name goes to 114.114.114.114 on both.
if [[ -r "$cl" ]]; then
    d=$(awk -F/ '/^server=/ && ++n == 100 { print $2 }' "$cl")
    e2e_assert_eq 1.1.1.9 "$(e2e_short $DR "www.$d")" "china-list domain $d routed to 114.114.114.114"
    e2e_assert_eq "$(e2e_answer $DM "www.$d")" "$(e2e_answer $DR "www.$d")" "and the same answer as dnsmasq"
fi

# The same with the cache on (default cache-size): answers from the cache must look like
# dnsmasq's (RD of this client, counted-down TTLs are dropped by the comparison).
sed '/^cache-size=0$/d' "$conf" >"$E2E_TMP/cache.conf"
e2e_start_dnsroute drc 5355 "$E2E_TMP/cache.conf" --pid-file= --user=root
e2e_start_dnsmasq dmc 5356 "$E2E_TMP/cache.conf"
cat >"$E2E_TMP/cq" <<'EOF2'
www.example.com A
www.example.com A
www.example.com A +norecurse
www.example.com A +cd
www.example.com A +dnssec
www.example.com AAAA
www.example.com AAAA +noedns
chain.test A
chain.test A
nxc.test A
nd.test A
nd.test A
www.baidu.com A
www.baidu.com A +norecurse
b40.test A +bufsize=1232
EOF2
# Left out, asserted below: dnsmasq 2.90 rebuilds cached answers from its records, dnsroute replays
# the stored upstream reply. (1) A CNAME to an NXDOMAIN name, asked again: 2.90 says NOERROR+AA
# from its cache, dnsroute keeps the upstream's NXDOMAIN (RFC 6604; same as the first answer).
# (2) A cached answer too big for the client: 2.90 sends as many records as fit plus TC,
# dnsroute sends TC with empty sections (what both do for forwarded replies).
n=0
e2e_diff_servers 127.0.0.1#5355 127.0.0.1#5356 "$E2E_TMP/cq" || n=$?
e2e_assert_eq 0 "$n" "with the cache on: $(grep -c . "$E2E_TMP/cq") queries answered like dnsmasq 2.90"
e2e_assert_eq "$(e2e_answer 127.0.0.1#5355 nxc.test A)" "$(e2e_answer 127.0.0.1#5355 nxc.test A)" \
    "CNAME to NXDOMAIN: the cached answer equals the first one"
e2e_assert_match '^rcode NXDOMAIN$' "$(e2e_answer 127.0.0.1#5355 nxc.test A)" "and stays NXDOMAIN"
big=$(e2e_answer 127.0.0.1#5355 b40.test A +noedns +ignore)
e2e_assert_match '^flags .*tc' "$big" "cached 40-record answer, client without EDNS: TC"
e2e_assert_eq 40 "$(e2e_short 127.0.0.1#5355 b40.test A +noedns | wc -l)" "and 40 records over TCP"
e2e_assert_match '^WwW\.ExAmPlE\.CoM\.' "$(e2e_dig 127.0.0.1#5355 WwW.ExAmPlE.CoM A +noall +answer)" \
    "a cached answer echoes the client's case"
e2e_stop drc

# 2.92+ differs from 2.90 here: with server=/d/ip and local=/d/ on the same domain, local wins
# (NXDOMAIN) in 2.92+; 2.90 forwards. dnsroute follows 2.92+.
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR x.conflict.test)" "2.92+: local= beats server= on one domain"
e2e_assert_eq 7.7.7.7 "$(e2e_short $DM x.conflict.test)" "(dnsmasq 2.90 forwards it: known difference)"
e2e_stop dr
