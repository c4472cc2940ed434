#!/usr/bin/env bash
# test_routing.sh - issue 3, routing: china-list style server=/d/114.114.114.114 against the default
# upstream, longest suffix on label boundaries, server=/d/#, server=// for dotless names, no server
# -> REFUSED, local= NXDOMAIN, address= v4/v6/#, the flags and TTL (local-ttl) of local answers,
# and the log-queries lines (query[T] / forwarded / reply / config) compared with dnsmasq 2.90's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

# Each upstream answers every A query with its own address, so the answer names the server.
cat >"$E2E_TMP/up.scenario" <<'EOF'
chain.test     *     cname c1.chain.test
c1.chain.test  *     cname c2.chain.test
c2.chain.test  A     a 10.0.0.1,10.0.0.2
c2.chain.test  AAAA  nodata
nxc.test       *     cname gone.test
gone.test      *     nxdomain
tcx.test       A     tc
tcx.test       A     a 5.5.5.5
sf.test        A     servfail
@china   *  A     a 1.1.1.1
@def     *  A     a 2.2.2.2
@deep    *.two.test  A  a 3.3.3.3 delay=100
@deep    *  A     a 3.3.3.3
@nodots  *  A     a 4.4.4.4
@port    *  A     a 5.5.5.5
@v6      *  A     a 6.6.6.6
@def     *  TXT   nodata
EOF
e2e_start_fake china "$E2E_TMP/up.scenario" 114.114.114.114#53@china
e2e_start_fake def "$E2E_TMP/up.scenario" 127.0.0.2#53@def
e2e_start_fake deep "$E2E_TMP/up.scenario" 127.0.0.3#53@deep
e2e_start_fake nodots "$E2E_TMP/up.scenario" 127.0.0.4#53@nodots
e2e_start_fake port "$E2E_TMP/up.scenario" 127.0.0.5#5300@port
[[ $E2E_HAVE_IPV6 == 1 ]] && e2e_start_fake v6 "$E2E_TMP/up.scenario" fd00::53#53@v6

conf="$E2E_TMP/d.conf"
cat >"$conf" <<'EOF'
no-resolv
no-hosts
cache-size=0
log-queries
local-ttl=7
server=/cn.test/114.114.114.114
server=/baidu.com/114.114.114.114
server=/deep.test/114.114.114.114
server=/a.b.deep.test/127.0.0.3
server=/lan/127.0.0.3
server=/back.cn.test/#
server=//127.0.0.4
local=/loc.test/
address=/ad.test/192.0.2.7
address=/ad.test/2001:db8::7
address=/zero.test/#
server=/port.test/127.0.0.5#5300
server=/two.test/127.0.0.3
server=/two.test/127.0.0.4
server=/v6.test/fd00::53
server=127.0.0.2
EOF
e2e_start_dnsroute dr 5353 "$conf" --pid-file= --user=root
DR=127.0.0.1#5353

# --- routing by suffix
e2e_assert_eq 1.1.1.1 "$(e2e_short $DR www.baidu.com)" "china-list domain to 114.114.114.114"
e2e_assert_eq 1.1.1.1 "$(e2e_short $DR cn.test)" "the domain itself matches"
e2e_assert_eq 1.1.1.1 "$(e2e_short $DR X.Y.CN.TEST)" "subdomain, case-insensitive"
e2e_assert_eq 2.2.2.2 "$(e2e_short $DR notcn.test)" "label boundary: notcn.test is not cn.test"
e2e_assert_eq 2.2.2.2 "$(e2e_short $DR www.baidu.com.cn)" "suffix must be at the end"
e2e_assert_eq 2.2.2.2 "$(e2e_short $DR www.example.org)" "other names to the default"
e2e_assert_eq 3.3.3.3 "$(e2e_short $DR x.a.b.deep.test)" "longest suffix wins (a.b.deep.test)"
e2e_assert_eq 3.3.3.3 "$(e2e_short $DR a.b.deep.test)" "longest suffix, exact name"
e2e_assert_eq 1.1.1.1 "$(e2e_short $DR b.deep.test)" "shorter suffix: deep.test"
e2e_assert_eq 1.1.1.1 "$(e2e_short $DR xa.b.deep.test)" "xa.b.deep.test is not under a.b.deep.test"
e2e_assert_eq 2.2.2.2 "$(e2e_short $DR x.back.cn.test)" "server=/d/# sends d to the default"
e2e_assert_eq 4.4.4.4 "$(e2e_short $DR plainname)" "server=// takes dotless names"
e2e_assert_eq 3.3.3.3 "$(e2e_short $DR lan)" "a domain record beats server=// for a dotless name"
e2e_assert_eq 5.5.5.5 "$(e2e_short $DR x.port.test)" "server=/d/ip#port: non-standard upstream port"
if [[ $E2E_HAVE_IPV6 == 1 ]]; then
    e2e_assert_eq 6.6.6.6 "$(e2e_short $DR x.v6.test)" "IPv6 upstream (fd00::53)"
else
    e2e_skip_part "IPv6 unavailable in the namespace: the IPv6 upstream check"
fi
e2e_assert_eq 0 "$(e2e_qlog_count def 'qname=(www\.)?baidu\.com\. ')" "default never saw baidu.com"
e2e_assert_eq 0 "$(e2e_qlog_count china 'qname=(notcn|www\.example|x\.back)')" \
    "china server never saw the other names"
e2e_assert_ge 1 "$(e2e_qlog_count nodots 'qname=plainname\.')" "dotless server saw plainname"

# --- local answers: address= (AA, TTL = local-ttl), local= NXDOMAIN, address=/d/#
a=$(E2E_KEEP_TTL=1 e2e_answer $DR www.ad.test A)
e2e_assert_match '^rcode NOERROR$' "$a" "address= A: NOERROR"
e2e_assert_match '^flags aa qr ra rd$' "$a" "address= A: AA set (dnsmasq make_local_answer)"
e2e_assert_match '^an www\.ad\.test\. 7 IN A 192\.0\.2\.7$' "$a" "address= A with TTL local-ttl=7"
a=$(E2E_KEEP_TTL=1 e2e_answer $DR ad.test AAAA)
e2e_assert_match '^an ad\.test\. 7 IN AAAA 2001:db8::7$' "$a" "address= AAAA literal"
e2e_assert_eq "0.0.0.0" "$(e2e_short $DR x.zero.test A)" "address=/d/# gives 0.0.0.0 for A"
e2e_assert_eq "::" "$(e2e_short $DR x.zero.test AAAA)" "address=/d/# gives :: for AAAA"
before=$(e2e_qlog_count def 'qname=x\.ad\.test\. .*qtype=TXT')
e2e_assert_eq NOERROR "$(e2e_rcode $DR x.ad.test TXT)" "address= name, other qtype: forwarded"
e2e_assert_eq $((before + 1)) "$(e2e_qlog_count def 'qname=x\.ad\.test\. .*qtype=TXT')" \
    "the TXT query went to the default server (shorter suffix)"
l=$(e2e_answer $DR www.loc.test A)
e2e_assert_match '^rcode NXDOMAIN$' "$l" "local= gives NXDOMAIN"
e2e_assert_match '^flags qr ra rd$' "$l" "local= NXDOMAIN without AA"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR loc.test TXT)" "local= NXDOMAIN for every qtype"
e2e_assert_eq 0 "$(e2e_qlog_count def 'loc\.test|ad\.test\. .*qtype=A |zero\.test')" \
    "local answers never reach an upstream"

# --- no server for a name -> REFUSED (a second daemon without a default server)
printf '%s\n' no-resolv no-hosts server=/cn.test/114.114.114.114 >"$E2E_TMP/nodef.conf"
e2e_start_dnsroute dr2 5354 "$E2E_TMP/nodef.conf" --pid-file= --user=root
e2e_assert_eq REFUSED "$(e2e_rcode 127.0.0.1#5354 www.example.org)" "no server -> REFUSED"
e2e_assert_eq 1.1.1.1 "$(e2e_short 127.0.0.1#5354 www.cn.test)" "routed name still answered"
e2e_stop dr2

# --- log-queries: the same lines as dnsmasq 2.90 for the same queries (same config, no cache).
e2e_start_dnsmasq dm 5355 "$conf"
DM=127.0.0.1#5355
mark_dr=$(wc -l <"$E2E_TMP/dr.err")
mark_dm=$(wc -l <"$E2E_TMP/dm.err")
for q in "www.baidu.com A" "x.a.b.deep.test A" "plainname A" "www.loc.test A" "www.ad.test A" \
    "ad.test AAAA" "x.zero.test A" "x.back.cn.test A" "nx.ad.test TXT" "x.port.test A" \
    "x.v6.test A" "x.two.test A" "y.two.test A" "chain.test A" "chain.test AAAA" \
    "chain.test CNAME" "nxc.test A" "tcx.test A +ignore"; do
    # shellcheck disable=SC2086
    e2e_dig $DR $q >/dev/null
    # shellcheck disable=SC2086
    e2e_dig $DM $q >/dev/null
done
# Strip the prefixes ("dnsmasq[pid]: ", dnsroute's own) and keep the query log lines.
loglines()
{
    tail -n +"$(($2 + 1))" "$E2E_TMP/$1.err" |
        sed -E -n 's/.*((query\[[A-Z0-9]+\]|forwarded|reply|config|cached) .*)$/\1/p'
}
dr_log=$(loglines dr "$mark_dr")
dm_log=$(loglines dm "$mark_dm")
e2e_assert_match '^query\[A\] www\.baidu\.com from 127\.0\.0\.1$' "$dr_log" "query[A] line"
e2e_assert_match '^forwarded www\.baidu\.com to 114\.114\.114\.114$' "$dr_log" "forwarded line"
e2e_assert_match '^reply www\.baidu\.com is 1\.1\.1\.1$' "$dr_log" "reply line"
e2e_assert_match '^config www\.loc\.test is NXDOMAIN$' "$dr_log" "config NXDOMAIN line"
e2e_assert_match '^config www\.ad\.test is 192\.0\.2\.7$' "$dr_log" "config address line"
e2e_assert_match '^query\[AAAA\] ad\.test from 127\.0\.0\.1$' "$dr_log" "query[AAAA] line"
e2e_assert_eq "forwarded x.two.test to 127.0.0.3
forwarded x.two.test to 127.0.0.4
forwarded y.two.test to 127.0.0.4" "$(grep '^forwarded [xy]\.two' <<<"$dr_log")" \
    "forwarded lines name the servers really asked (both, then the faster one)"
e2e_assert_match '^forwarded x\.port\.test to 127\.0\.0\.5#5300$' "$dr_log" "port when not 53"
e2e_assert_eq "reply chain.test is <CNAME>
reply c1.chain.test is <CNAME>
reply c2.chain.test is 10.0.0.1
reply c2.chain.test is 10.0.0.2" "$(grep -A5 '^query\[A\] chain\.test' <<<"$dr_log" | grep '^reply')" \
    "CNAME chain logged step by step"
e2e_assert_match '^reply c2\.chain\.test is NODATA-IPv6$' "$dr_log" "NODATA at the chain's end"
e2e_assert_match '^reply gone\.test is NXDOMAIN$' "$dr_log" "NXDOMAIN at the chain's end"
e2e_assert_match '^reply is truncated$' "$dr_log" "TC reply logged as dnsmasq does"
# (Not compared with 2.90: both re-send a SERVFAIL query to the group, but dnsmasq logs the
# re-send as a second "forwarded" line; dnsroute logs only the first sends.)
e2e_dig $DR sf.test A >/dev/null
e2e_assert_match '^reply error is SERVFAIL$' "$(loglines dr "$mark_dr")" "SERVFAIL logged as dnsmasq does"
if [[ "$dr_log" != "$dm_log" ]]; then
    diff -u --label dnsmasq --label dnsroute <(echo "$dm_log") <(echo "$dr_log") >&2 || true
    e2e_fail "log-queries lines differ from dnsmasq 2.90"
fi
e2e_ok "log-queries lines identical to dnsmasq 2.90 ($(wc -l <<<"$dr_log") lines)"

e2e_stop dr
