#!/usr/bin/env bash
# test_harness.sh - proves the e2e harness (namespace, fake upstreams, query helpers, query log,
# kernel sets, differential compare, dnsperf query files) with real dnsmasq 2.90 as the server
# under test, so every piece is known to work before dnsroute is put in dnsmasq's place.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"

e2e_require_ipset
e2e_ipset_create t4 hash:ip
e2e_ipset_create t6 hash:ip family inet6
e2e_require_nft
e2e_nftset_create inet e2e s4 ipv4_addr
e2e_nftset_create inet e2e s6 ipv6_addr

e2e_start_fake china "$E2E_CONF/harness.scenario" 114.114.114.114#53@china
e2e_start_fake default "$E2E_CONF/harness.scenario" 127.0.0.2#53@default
conf="$E2E_TMP/dnsmasq.conf"
e2e_render "$E2E_CONF/dnsmasq-harness.conf" "$conf" CHINA=114.114.114.114 DEFAULT=127.0.0.2
e2e_start_dnsmasq dnsmasq 5353 "$conf"
DM=127.0.0.1#5353

# Routing by domain: baidu.com goes to the "china" fake, the rest to the default one, and the two
# fakes give different answers for the same name.
e2e_assert_eq "1.1.1.1" "$(e2e_short $DM www.baidu.com)" "baidu.com routed to 114.114.114.114"
e2e_assert_eq "127.0.0.99" "$(e2e_short $DM www.other.com)" "other names routed to 127.0.0.2"
e2e_assert_eq "1.1.1.2" "$(e2e_short $DM x.y.baidu.com)" "subdomain routed by suffix"
e2e_assert_eq 0 "$(e2e_qlog_count china 'qname=www\.other\.com')" "china fake never saw other.com"
e2e_assert_eq 1 "$(e2e_qlog_count default 'qname=www\.other\.com')" "default fake saw other.com"
e2e_assert_eq 0 "$(e2e_qlog_count default 'baidu')" "default fake never saw baidu.com"
e2e_assert_eq "6.6.6.6" "$(e2e_short 127.0.0.2 www.baidu.com)" "default fake answers differently"

# CNAME chain, resolved inside the fake and passed through unchanged.
chain=$(e2e_answer $DM chain.test A)
# (e2e_answer sorts records, so the chain appears in C-locale order.)
e2e_assert_eq "an c1.chain.test. IN CNAME c2.chain.test.
an c2.chain.test. IN A 10.0.0.1
an c2.chain.test. IN A 10.0.0.2
an chain.test. IN CNAME c1.chain.test." "$(grep '^an' <<<"$chain")" "CNAME chain + final A records"
e2e_assert_eq "chain.test. CNAME c1.chain.test.
c1.chain.test. CNAME c2.chain.test.
c2.chain.test. A 10.0.0.1
c2.chain.test. A 10.0.0.2" "$(e2e_dig $DM chain.test A +noall +answer | awk '{print $1, $4, $5}')" \
    "CNAME chain arrives in order"
e2e_assert_eq "fd00::1" "$(e2e_short $DM chain.test AAAA | tail -n1)" "CNAME chain to AAAA"

# Negative answers carry the SOA (minimum configurable).
nx=$(e2e_answer $DM nx.test)
e2e_assert_match '^rcode NXDOMAIN$' "$nx" "NXDOMAIN"
e2e_assert_match '^ns nx\.test\. IN SOA .* 30$' "$nx" "NXDOMAIN has SOA with minimum 30"
nd=$(e2e_answer $DM nodata.test AAAA)
e2e_assert_match '^rcode NOERROR$' "$nd" "NODATA rcode"
e2e_assert_no_match '^an ' "$nd" "NODATA has no answer"
e2e_assert_match '^ns nodata\.test\. IN SOA' "$nd" "NODATA has SOA"

# TCP from the client: dnsmasq forwards over TCP, the fake logs it.
e2e_assert_match '^www\.baidu\.com\..*IN[[:space:]]+A[[:space:]]+1\.1\.1\.1' \
    "$(e2e_kdig $DM www.baidu.com A +tcp +noall +answer)" "TCP query through dnsmasq"
e2e_assert_eq 1 "$(e2e_qlog_count china 'proto=tcp .*qname=www\.baidu\.com')" "fake saw TCP query"

# EDNS passthrough: the client's DO bit reaches the upstream inside dnsmasq's own OPT (1232),
# and the client gets an OPT back with DO.
e2e_dig $DM edns.test A +dnssec >/dev/null
e2e_assert_match 'qname=edns\.test\. .*edns=1232 do=1' "$(cat "$(e2e_qlog default)")" \
    "DO bit forwarded with edns-packet-max 1232"
e2e_assert_match '^edns udp=1232 do=1$' "$(e2e_answer $DM edns.test A +dnssec)" \
    "client gets OPT (1232, DO)"
e2e_assert_match '^edns udp=2048 do=0$' "$(e2e_answer 127.0.0.2 edns.test A)" \
    "fake advertises the scenario's edns= size"

# TC passthrough: UDP gets TC with no answer; dig then retries over TCP and gets the record.
tc=$(e2e_answer $DM tc.test A +ignore)
e2e_assert_match '^flags .*tc' "$tc" "TC bit reaches the client"
e2e_assert_no_match '^an ' "$tc" "truncated reply carries no answer"
e2e_assert_eq "5.5.5.5" "$(e2e_short $DM tc.test)" "client retry over TCP gets the answer"
e2e_assert_ge 1 "$(e2e_qlog_count default 'proto=tcp .*qname=tc\.test')" "fake saw the TCP retry"

# A reply bigger than 1232 bytes: TC over UDP from the fake, full answer over TCP.
e2e_assert_eq 100 "$(e2e_short $DM big.test A | wc -l)" "100-record answer via TCP fallback"
e2e_assert_match '^flags .*tc' "$(e2e_answer 127.0.0.2 big.test A +ignore)" \
    "fake truncates an answer over the client's EDNS size"

# The query log: source ports and IDs of every forwarded query; dnsmasq randomises both.
for i in $(seq 1 20); do
    e2e_dig $DM "r$i.random.test" A >/dev/null
done
e2e_wait_qlog default 20 'qname=r[0-9]+\.random\.test'
ports=$(e2e_qlog_field default sport 'qname=r[0-9]+\.random\.test' | sort -u | wc -l)
ids=$(e2e_qlog_field default id 'qname=r[0-9]+\.random\.test' | sort -u | wc -l)
e2e_assert_ge 10 "$ports" "query log shows random source ports ($ports distinct of 20)"
e2e_assert_ge 18 "$ids" "query log shows random IDs ($ids distinct of 20)"
e2e_assert_match 'qname=WwW\.BaIdU\.CoM\.' \
    "$(e2e_dig $DM WwW.BaIdU.CoM A >/dev/null; cat "$(e2e_qlog china)")" "qname case is logged as received"

# ipset: dnsmasq adds the A/AAAA of baidu.com names to the kernel sets of this namespace.
e2e_dig $DM www.baidu.com AAAA >/dev/null
e2e_assert_eq "1.1.1.1
1.1.1.2" "$(e2e_ipset_members t4)" "ipset t4 holds the baidu.com A records"
if e2e_ipset_has t4 127.0.0.99; then e2e_fail "other.com address in t4"; fi
e2e_ok "other.com's address not in t4"
e2e_assert_eq "2400:da00::1" "$(e2e_ipset_members t6)" "ipset t6 holds the AAAA record"
e2e_assert_eq "1.1.1.1
1.1.1.2" "$(e2e_nftset_members inet e2e s4)" "nftset s4 holds the baidu.com A records"
e2e_assert_eq "2400:da00::1" "$(e2e_nftset_members inet e2e s6)" "nftset s6 holds the AAAA record"
if e2e_nftset_has inet e2e s4 127.0.0.99; then e2e_fail "other.com address in s4"; fi
e2e_nftset_has inet e2e s4 1.1.1.2 || e2e_fail "e2e_nftset_has misses 1.1.1.2"
e2e_ok "e2e_nftset_has"

# Differential compare: dnsmasq against a second, identical dnsmasq gives no difference ...
e2e_start_dnsmasq dnsmasq2 5354 "$conf"
qf="$E2E_TMP/diff.queries"
cat >"$qf" <<'EOF'
www.baidu.com A
www.baidu.com AAAA
x.y.baidu.com
www.other.com
chain.test A
chain.test AAAA
nx.test A
nodata.test AAAA
tc.test A +ignore
edns.test A +dnssec
big.test A +tcp
EOF
ndiff=0
e2e_diff_servers $DM 127.0.0.1#5354 "$qf" || ndiff=$?
e2e_assert_eq 0 "$ndiff" "dnsmasq vs dnsmasq: identical answers"
# ... and against the china fake directly it must find the routing and EDNS differences.
ndiff=0
e2e_diff_servers $DM 114.114.114.114 "$qf" 2>/dev/null || ndiff=$?
e2e_assert_ge 5 "$ndiff" "e2e_diff_servers detects differences ($ndiff)"

# dnsperf-ready query file: generated from the china list when present, else from two names.
list="$DNSROUTE_CHINA_LIST/accelerated-domains.china.conf"
[[ -f "$list" ]] || list=example.org
e2e_gen_queryfile "$E2E_TMP/perf.queries" 2000 "$list" baidu.com
e2e_assert_eq 2000 "$(wc -l <"$E2E_TMP/perf.queries")" "query file has 2000 lines"
e2e_assert_eq 500 "$(grep -c ' AAAA$' "$E2E_TMP/perf.queries")" "every fourth query is AAAA"
if command -v dnsperf >/dev/null; then
    perf=$(dnsperf -s 127.0.0.1 -p 5353 -d "$E2E_TMP/perf.queries" -n 1 -l 10 -Q 2000 -t 2 2>&1)
    e2e_assert_match 'Queries completed: +2000 ' "$perf" "dnsperf ran the query file"
    e2e_assert_match 'Queries lost: +0 ' "$perf" "dnsperf lost nothing"
else
    e2e_skip_part "dnsperf not found: the query-file run"
fi

e2e_stop dnsmasq2
e2e_stop dnsmasq
e2e_stop default
e2e_stop china
