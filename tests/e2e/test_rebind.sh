#!/usr/bin/env bash
# test_rebind.sh - issue 10, DNS-rebinding protection against dnsmasq 2.90 on the same
# configuration and upstream: stop-dns-rebind alone, with rebind-localhost-ok, with
# rebind-domain-ok (/d/ and // forms). An upstream answers public names with every private range
# (v4, v6, v4-mapped), CNAME chains ending in one, and mixed answers; the answers (rcode, flags,
# records) must equal dnsmasq's, fresh and from the cache; the warning is logged; and the kernel
# set behind an ipset= line for every name never receives a stripped address.
# Follows 2.92+ where 2.90 differs: 100.64.0.0/10 (RFC 6598) is private there, not in 2.90.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_ipset
e2e_require_dnsmasq

cat >"$E2E_TMP/up.scenario" <<'EOF2'
p10.test      A     a 10.1.2.3
p172.test     A     a 172.20.0.1
p192.test     A     a 192.168.1.1
p127.test     A     a 127.0.0.1
p0.test       A     a 0.0.0.0
p169.test     A     a 169.254.9.9
pnet.test     A     a 198.51.100.7
pub.test      A     a 8.8.8.8
pub2.test     A     a 114.114.114.114,1.2.3.4
mixed.test    A     a 8.8.4.4,192.168.7.7
cn.test       A     cname cnt.far.test
cnt.far.test  A     a 10.9.9.9
ok.lan        A     a 192.168.1.50
router        A     a 192.168.1.1
lan           A     a 192.168.1.2
a.wlan        A     a 192.168.1.3
u6fd.test     AAAA  aaaa fd00::1234
u6fe.test     AAAA  aaaa fe80::1
u6lo.test     AAAA  aaaa ::1
u6any.test    AAAA  aaaa ::
u6map.test    AAAA  aaaa ::ffff:192.168.3.4
u6doc.test    AAAA  aaaa 2001:db8::9
u6pub.test    AAAA  aaaa 2400:3200::1
mix6.test     AAAA  aaaa 2400:3200::2,fd12::3
*             A     a 9.9.9.9
*             AAAA  aaaa 2400:3200::9
EOF2
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
NAMES4=(p10 p172 p192 p127 p0 p169 pnet pub pub2 mixed cn)
NAMES6=(u6fd u6fe u6lo u6any u6map u6doc u6pub mix6)

# Two variants, each run by dnsmasq (port P) and dnsroute (port P+1) on the same file: the
# protection alone, and with every exemption (localhost, /d/ domains, // for dotless names).
variants=(plain relaxed)
declare -A EXTRA=([plain]=""
    [relaxed]="rebind-localhost-ok rebind-domain-ok=/lan/far.test/ rebind-domain-ok=//")
declare -A PORT=([plain]=5353 [relaxed]=5355)
for v in "${variants[@]}"; do
    for who in dm dr; do
        e2e_ipset_create "${who}_${v}4" hash:ip
        e2e_ipset_create "${who}_${v}6" hash:ip family inet6
        # shellcheck disable=SC2086 # EXTRA holds whole lines separated by spaces
        printf '%s\n' no-resolv no-hosts server=127.0.0.2 stop-dns-rebind ${EXTRA[$v]} \
            "ipset=/test/lan/router/wlan/${who}_${v}4,${who}_${v}6" >"$E2E_TMP/$who-$v.conf"
    done
    e2e_start_dnsmasq "dm_$v" "${PORT[$v]}" "$E2E_TMP/dm-$v.conf"
    e2e_start_dnsroute "dr_$v" $((PORT[$v] + 1)) "$E2E_TMP/dr-$v.conf" --pid-file= --user=root
done

q() { e2e_answer "127.0.0.1#$1" "$2" "$3"; }
# cmp VARIANT NAME TYPE PASS: dnsroute's answer equals dnsmasq's; dnsroute's is kept per variant.
cmp()
{
    local v=$1 n=$2 t=$3 dr
    dr=$(q $((PORT[$v] + 1)) "$n" "$t")
    echo "$dr" >>"$E2E_TMP/given-$v"
    e2e_assert_eq "$(q "${PORT[$v]}" "$n" "$t")" "$dr" "$v: $n $t as dnsmasq 2.90 ($4)"
}
declare -A CASES=(
    [plain]="${NAMES4[*]/%/.test} ok.lan router"
    [relaxed]="p127.test p0.test p10.test ok.lan lan a.wlan cnt.far.test cn.test router")
declare -A CASES6=([plain]="${NAMES6[*]/%/.test}" [relaxed]="u6lo.test u6any.test u6fd.test")
for v in "${variants[@]}"; do
    for n in ${CASES[$v]}; do cmp "$v" "$n" A fresh; done
    for n in ${CASES6[$v]}; do cmp "$v" "$n" AAAA fresh; done
done
# From the cache: the same again (a public answer is cached, a stripped one must stay stripped).
for n in pub2.test p192.test mixed.test; do cmp plain "$n" A cached; done
cmp plain u6map.test AAAA cached

# The protection really acted (not merely two servers agreeing on nothing).
ans() { q $((PORT[$1] + 1)) "$2" A; }
e2e_assert_no_match '^an ' "$(ans plain p192.test)" "plain: 192.168/16 stripped"
e2e_assert_match '^rcode NOERROR$' "$(ans plain p192.test)" "plain: the client gets an empty NOERROR"
e2e_assert_match '^an pub2\.test\. IN A 1\.2\.3\.4$' "$(ans plain pub2.test)" "public answers pass"
e2e_assert_no_match '^an ' "$(ans plain mixed.test)" \
    "one private address among public ones strips the whole answer"
e2e_assert_match '^an p127\.test\. IN A 127\.0\.0\.1$' "$(ans relaxed p127.test)" \
    "rebind-localhost-ok: 127/8 passes"
e2e_assert_no_match '^an ' "$(ans relaxed p10.test)" "rebind-localhost-ok: 10/8 still stripped"
e2e_assert_match '^an ok\.lan\. IN A 192\.168\.1\.50$' "$(ans relaxed ok.lan)" \
    "rebind-domain-ok=/lan/: names under lan pass"
e2e_assert_match 'IN A 10\.9\.9\.9$' "$(ans relaxed cnt.far.test)" \
    "rebind-domain-ok=/far.test/ exempts that name"
e2e_assert_no_match '^an ' "$(ans relaxed cn.test)" \
    "the question name decides: a CNAME into an exempt domain is still stripped"
e2e_assert_no_match '^an ' "$(ans relaxed a.wlan)" "/lan/ matches whole labels only (a.wlan stripped)"
e2e_assert_match '^an router\. IN A 192\.168\.1\.1$' "$(ans relaxed router)" \
    "rebind-domain-ok=//: dotless names pass"
e2e_assert_match 'possible DNS-rebind attack detected: p192\.test' "$(cat "$E2E_TMP/dr_plain.err")" \
    "the warning names the query"

# The sets: dnsroute's sets hold exactly the addresses its clients were given, never a stripped one.
for v in "${variants[@]}"; do
    # The kernel refuses 0.0.0.0 and :: as set elements (ipset's "Null-valued element").
    given=$(awk '$1 == "an" && ($4 == "A" || $4 == "AAAA") && $5 != "0.0.0.0" && $5 != "::" {print $5}' \
        "$E2E_TMP/given-$v" | sort -u)
    members=$( (e2e_ipset_members "dr_${v}4"; e2e_ipset_members "dr_${v}6") | sort -u)
    e2e_assert_eq "$given" "$members" "$v: the sets hold exactly the addresses answered"
    for bad in 10.1.2.3 172.20.0.1 169.254.9.9 192.168.7.7 10.9.9.9; do
        [[ $v == relaxed && $bad == 10.9.9.9 ]] && continue # cnt.far.test is exempt there
        if e2e_ipset_has "dr_${v}4" "$bad"; then
            e2e_fail "$v: stripped address $bad reached the set"
        fi
    done
done
