#!/usr/bin/env bash
# test_records_diff.sh - issue 9, differential: host-record, cname (chains, a target upstream
# only, TTLs), interface-name (an interface with addresses added and removed after start,
# an alias label, /4 and /6, deprecated IPv6) next to a hosts file, domain=, expand-hosts,
# local=, mx-host/srv-host targets that are hosts names (additional section), selfmx/localmx on
# hosts names, and NXDOMAIN from upstream for a name known locally: dnsroute and real dnsmasq
# 2.90 with the same configuration answer every query over every relevant type identically
# (rcode, flags, every section, TTLs). address= and server= rules on the same names lose to the
# local data, as in dnsmasq.
# e2e-timeout: 300
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
command -v ip >/dev/null || e2e_skip "ip (iproute2) not found"
# A veth pair (dummy interfaces need a module the machine may lack); dum0 also gets its IPv6
# link-local address, which interface-name never answers.
ip link add dum0 type veth peer name dum1 2>/dev/null || e2e_skip "cannot create a veth pair here"
ip link set dum1 up
ip link set dum0 up
ip addr add 10.9.0.1/24 dev dum0
ip addr add 10.9.1.1/24 dev dum0 label dum0:1
ip -6 addr add fd09::1/64 dev dum0 nodad
ip -6 addr add fd09::2/64 dev dum0 nodad preferred_lft 0

cat >"$E2E_TMP/up.scenario" <<'EOF2'
        *.nx.test         *     nxdomain
        nxhost.lan        *     nxdomain
        v6only.lan        *     nxdomain
        *                 A     a 127.0.0.99
        *                 AAAA  aaaa fd00::99
        *                 *     nodata
EOF2
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53

cat >"$E2E_TMP/hosts" <<'EOF2'
192.168.1.10  filehost
192.168.1.11  mail
fd00::11      v6only
192.0.2.13    both.test
2001:db8::13  both.test
192.0.2.20    other.test
192.168.1.1   router
192.168.1.12  nxhost
192.168.1.13  ifhost
10.9.0.1      dumfile.test
EOF2

conf="$E2E_TMP/d.conf"
cat >"$conf" <<EOF2
no-resolv
no-hosts
server=127.0.0.2
addn-hosts=$E2E_TMP/hosts
domain=lan
expand-hosts
local=/lan/
domain-needed
local-ttl=60
address=/hr-alias.test/10.10.10.10
address=/filehost.lan/10.10.10.11
server=/hr4.test/127.0.0.2
host-record=hr.test,hr-alias.test,192.0.2.10,2001:db8::10
host-record=hr4.test,192.0.2.11,120
host-record=2001:db8::11,hr6.test
host-record=both.test,192.0.2.12
host-record=router,192.168.1.1
host-record=shared.test,192.0.2.20
host-record=deep.sub.hr.test,192.0.2.30,0
host-record=nx.test,192.0.2.31
cname=alias.test,hr.test
cname=alias2.test,alias3.test,alias.test,300
cname=ext.test,upstream.test
cname=hostsalias.test,filehost.lan
cname=txtalias.test,txt.test
cname=mxalias.test,example.test
cname=ifalias.test,dum.test
cname=loc.nx.test,gone.nx.test
cname=Mixed.Case.Test.,hr4.test
txt-record=txt.test,hello
mx-host=example.test,mail.lan,10
mx-host=example.test,hr.test,20
mx-host=example.test,nolocal.test,30
srv-host=_sip._udp.example.test,hr.test,5060
srv-host=_x._tcp,filehost.lan,80
srv-host=_y._tcp,both.test,81
interface-name=dum.test,dum0
interface-name=dum4.test,dum0/4
interface-name=dum6.test,dum0/6
interface-name=alias.dum.test,dum0:1
interface-name=nothere.test,nosuch0
interface-name=ifhost,dum0/6
interface-name=second.dum.test,dum0
ptr-record=1.0.9.10.in-addr.arpa,notused.test
EOF2
e2e_start_dnsroute dr 5353 "$conf" --pid-file= --user=root
e2e_start_dnsmasq dm 5354 "$conf"
DR=127.0.0.1#5353 DM=127.0.0.1#5354

q="$E2E_TMP/queries"
: >"$q"
# cname= aliases come before their targets: a target queried first would be in dnsmasq's cache
# (forwarded for a type it has no local data of), and dnsmasq appends cached records to a
# CNAME; dnsroute does not (docs/compatibility.md, cname).
names="alias.test alias2.test alias3.test ext.test hostsalias.test txtalias.test mxalias.test
ifalias.test loc.nx.test mixed.case.test hr.test hr-alias.test hr4.test hr6.test both.test router
router.lan shared.test deep.sub.hr.test sub.hr.test nx.test filehost filehost.lan
mail.lan v6only v6only.lan nxhost nxhost.lan lan ifhost ifhost.lan example.test
_sip._udp.example.test _x._tcp _x._tcp.lan _y._tcp.lan dum.test dum4.test dum6.test
alias.dum.test nothere.test second.dum.test dumfile.test gone.nx.test none.nx.test
10.2.0.192.in-addr.arpa 11.2.0.192.in-addr.arpa 12.2.0.192.in-addr.arpa
13.2.0.192.in-addr.arpa 20.2.0.192.in-addr.arpa 1.1.168.192.in-addr.arpa
1.0.9.10.in-addr.arpa 1.1.9.10.in-addr.arpa 10.1.168.192.in-addr.arpa
0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.0.d.f.ip6.arpa
2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.0.d.f.ip6.arpa"
for name in $names; do
    for type in A AAAA TXT MX SRV PTR CNAME ANY; do
        echo "$name $type" >>"$q"
    done
done
cat >>"$q" <<'EOF2'
ALIAS.test A
alias2.test A +tcp
example.test MX +noedns
EOF2
n=0
e2e_diff_batch $DR $DM "$q" || n=$?
e2e_assert_eq 0 "$n" "records: $(grep -c . "$q") queries answered exactly like dnsmasq 2.90"

# The comparison means something: each kind of record came back.
e2e_assert_match '^an alias2.test. IN CNAME alias.test.$' "$(e2e_answer $DR alias2.test A)" \
    "cname chain: first link"
e2e_assert_match '^an hr.test. IN A 192.0.2.10$' "$(e2e_answer $DR alias2.test A)" \
    "cname chain: the target's address"
e2e_assert_eq "192.0.2.12
192.0.2.13" "$(e2e_short $DR both.test A)" "host-record and hosts file addresses together"
e2e_assert_eq 192.0.2.10 "$(e2e_short $DR hr-alias.test A)" "host-record wins over address="
e2e_assert_eq "shared.test." "$(e2e_short $DR 20.2.0.192.in-addr.arpa PTR)" \
    "host-record's PTR wins over the hosts file"
e2e_assert_eq "10.9.0.1" "$(e2e_short $DR dum4.test A)" "interface-name: the interface's address"
e2e_assert_eq "10.9.1.1" "$(e2e_short $DR alias.dum.test A)" "interface-name: an alias label"
e2e_assert_eq "fd09::1" "$(e2e_short $DR dum6.test AAAA)" "deprecated IPv6 is not answered"
e2e_assert_eq "dum.test." "$(e2e_short $DR 2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.0.d.f.ip6.arpa PTR)" \
    "but answers its PTR"
e2e_assert_match '^ar mail.lan. IN A 192.168.1.11$' "$(e2e_answer $DR example.test MX)" \
    "MX target from the hosts file in the additional section"
e2e_assert_eq NOERROR "$(e2e_rcode $DR nxhost.lan AAAA)" \
    "upstream NXDOMAIN for a hosts name becomes NODATA"

# interface-name follows the interface: an address added and one removed after start.
ip addr add 10.9.0.7/24 dev dum0
ip addr del 10.9.1.1/24 dev dum0
for _ in $(seq 1 50); do
    [[ "$(e2e_short $DR dum4.test A)" == *10.9.0.7* ]] && break
    sleep 0.1
done
e2e_assert_eq "10.9.0.1
10.9.0.7" "$(e2e_short $DR dum4.test A)" "an address added after start is answered"
e2e_assert_no_match '10[.]9[.]1[.]1' "$(e2e_short $DR alias.dum.test A)" \
    "a removed address is no longer answered"
e2e_assert_eq "dum.test." "$(e2e_short $DR 7.0.9.10.in-addr.arpa PTR)" \
    "and its PTR (the first interface-name of the interface)"
# Only what is answered locally: the rest was forwarded before and is now cached.
iq="$E2E_TMP/ifqueries"
cat >"$iq" <<'EOF2'
dum.test A
dum.test AAAA
dum.test ANY
dum4.test A
dum4.test ANY
dum6.test AAAA
alias.dum.test ANY
second.dum.test A
ifalias.test A
1.0.9.10.in-addr.arpa PTR
7.0.9.10.in-addr.arpa PTR
7.0.9.10.in-addr.arpa ANY
1.1.9.10.in-addr.arpa PTR
EOF2
n=0
e2e_diff_batch $DR $DM "$iq" || n=$?
e2e_assert_eq 0 "$n" "after the change: every query still as dnsmasq 2.90"
e2e_stop dr
e2e_stop dm

# selfmx and localmx answer MX for hosts and host-record names (and the names above them).
for mx in selfmx localmx; do
    printf '%s\n' "$mx" mx-target=mx.example.test >>"$conf"
    e2e_start_dnsroute dr-$mx 5355 "$conf" --pid-file= --user=root
    e2e_start_dnsmasq dm-$mx 5356 "$conf"
    mq="$E2E_TMP/mx"
    : >"$mq"
    for name in filehost filehost.lan hr.test sub.hr.test lan alias.test dum.test example.test \
        txt.test nothing.test; do
        printf '%s MX\n%s ANY\n' "$name" "$name" >>"$mq"
    done
    n=0
    e2e_diff_batch 127.0.0.1#5355 127.0.0.1#5356 "$mq" || n=$?
    e2e_assert_eq 0 "$n" "$mx: MX answers as dnsmasq 2.90"
    e2e_stop dr-$mx
    e2e_stop dm-$mx
    sed -i '$d' "$conf"
    sed -i '$d' "$conf"
done

# synth-domain: names made from addresses and back, next to a hosts file that names one address.
printf '10.20.0.5 hosted.synth.test\n' >"$E2E_TMP/hosts2"
cat >"$E2E_TMP/s.conf" <<EOF2
no-resolv
no-hosts
server=127.0.0.2
addn-hosts=$E2E_TMP/hosts2
local-ttl=30
synth-domain=synth.test,10.20.0.0/24
synth-domain=pre.test,10.21.0.10,10.21.0.20,host-
synth-domain=idx.test,10.22.0.0/24,pc*
synth-domain=six.test,fd20::/64
synth-domain=six.test,fd21::/120,h-
synth-domain=idx6.test,fd22::/64,n*
EOF2
e2e_start_dnsroute dr-s 5357 "$E2E_TMP/s.conf" --pid-file= --user=root
e2e_start_dnsmasq dm-s 5358 "$E2E_TMP/s.conf"
sq="$E2E_TMP/synth"
: >"$sq"
for name in 10-20-0-5.synth.test 10-20-0-6.synth.test 10-20-1-5.synth.test synth.test \
    x.synth.test host-10-21-0-15.pre.test host-10-21-0-9.pre.test 10-21-0-15.pre.test \
    pc7.idx.test pc256.idx.test pc.idx.test pcx.idx.test fd20--5.six.test fd20--a-b.six.test \
    h-fd21--ff.six.test h-fd21--1ff.six.test n12.idx6.test \
    5.0.20.10.in-addr.arpa 6.0.20.10.in-addr.arpa 15.0.21.10.in-addr.arpa \
    7.0.22.10.in-addr.arpa 5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.d.f.ip6.arpa \
    f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.2.d.f.ip6.arpa \
    c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.2.d.f.ip6.arpa \
    1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.2.d.f.ip6.arpa; do
    printf '%s A\n%s AAAA\n%s PTR\n%s ANY\n' "$name" "$name" "$name" "$name" >>"$sq"
done
n=0
e2e_diff_batch 127.0.0.1#5357 127.0.0.1#5358 "$sq" || n=$?
e2e_assert_eq 0 "$n" "synth-domain: $(grep -c . "$sq") queries as dnsmasq 2.90"
e2e_assert_eq 10.20.0.6 "$(e2e_short 127.0.0.1#5357 10-20-0-6.synth.test A)" "synth-domain forward"
e2e_assert_eq pc7.idx.test. "$(e2e_short 127.0.0.1#5357 7.0.22.10.in-addr.arpa PTR)" \
    "synth-domain reverse with an indexed prefix"
e2e_stop dr-s
e2e_stop dm-s
