#!/usr/bin/env bash
# test_hosts.sh - issue 9, local names: /etc/hosts (a test file bind-mounted over it in a private
# mount namespace), addn-hosts= files and directories, domain= (plain and per subnet, `local`),
# expand-hosts, 0.0.0.0 / :: blocking lines, PTR from the same data, precedence over address= and
# server=, round robin. Differential: real dnsmasq 2.90 gets the same configuration and the same
# queries, answers must be identical. Then SIGHUP re-reads /etc/hosts. (test_hosts_input.sh: no
# default upstream, bad input.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

# Both daemons see $E2E_TMP/etc-hosts as /etc/hosts (a bind mount in a mount namespace of their
# own); the machine's file is never touched.
echo '127.0.0.1 localhost' >"$E2E_TMP/etc-hosts"
e2e_bind_etc "$E2E_TMP/etc-hosts:/etc/hosts"

cat >"$E2E_TMP/up.scenario" <<'EOF2'
        nx.example.com  *     nxdomain
        *               A     a 9.9.9.9
        *               AAAA  aaaa 2001:db8::99
        *               *     nodata
EOF2
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53

# /etc/hosts of an OpenWrt-like router (several names per line, aliases, comments, v4 and v6).
cat >"$E2E_TMP/etc-hosts" <<'EOF2'
127.0.0.1 localhost

::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
192.168.1.1 OpenWrt router   # the router itself
fd00:1::1   router
192.168.1.20 nas nas.home.arpa files
192.168.1.21 nas
EOF2
# A directory of generated hosts files (odhcpd / Pi-hole custom.list style), a dotfile and an
# editor backup that must be skipped, and a blocklist with 0.0.0.0 and :: lines.
mkdir "$E2E_TMP/hosts.d"
printf '192.168.1.50 laptop\n192.168.1.51 phone phone-alias\n' >"$E2E_TMP/hosts.d/10-dhcp"
printf '192.168.1.52 printer\n' >"$E2E_TMP/hosts.d/20-custom"
printf '192.168.1.99 hidden\n' >"$E2E_TMP/hosts.d/.hidden"
printf '192.168.1.98 backup\n' >"$E2E_TMP/hosts.d/20-custom~"
cat >"$E2E_TMP/block.list" <<'EOF2'
# blocklist
0.0.0.0 ads.example.com
0.0.0.0 tracker.example.net metrics.example.net
:: ads6.example.com
0.0.0.0 both.example.org
:: both.example.org
10.0.0.7 over.example.com
EOF2
# libvirt-like guests on their own subnet with their own domain.
printf '10.20.0.5 guest1\n10.20.0.6 guest2.vm\n' >"$E2E_TMP/guests.hosts"

conf="$E2E_TMP/router.conf"
cat >"$conf" <<EOF2
no-resolv
server=127.0.0.2
cache-size=0
domain-needed
bogus-priv
domain=lan
domain=vm,10.20.0.0/24,local
local=/lan/
expand-hosts
addn-hosts=$E2E_TMP/hosts.d
addn-hosts=$E2E_TMP/block.list
addn-hosts=$E2E_TMP/guests.hosts
address=/over.example.com/10.9.9.9
server=/nas.home.arpa/127.0.0.3
EOF2
e2e_start_dnsroute dr 5353 "$conf" --pid-file= --user=root
e2e_start_dnsmasq dm 5354 "$conf"
DR=127.0.0.1#5353 DM=127.0.0.1#5354

cat >"$E2E_TMP/queries" <<'EOF2'
localhost A
localhost AAAA
localhost.lan A
router A
router AAAA
router.lan A
openwrt A
OpenWrt.lan A
router MX
nas A
nas.lan A
nas.home.arpa A
laptop.lan A
phone-alias.lan A
printer.lan A
hidden.lan A
backup.lan A
ads.example.com A
ads.example.com AAAA
ads6.example.com AAAA
ads6.example.com A
tracker.example.net A
both.example.org A
both.example.org AAAA
over.example.com A
guest1 A
guest1.vm A
guest2.vm A
unknown.vm A
unknown.lan A
lan SOA
www.example.com A
nx.example.com A
plainname A
1.0.0.127.in-addr.arpa PTR
1.1.168.192.in-addr.arpa PTR
20.1.168.192.in-addr.arpa PTR
51.1.168.192.in-addr.arpa PTR
99.1.168.192.in-addr.arpa PTR
5.0.20.10.in-addr.arpa PTR
0.0.0.0.in-addr.arpa PTR
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa PTR
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa PTR
7.0.0.10.in-addr.arpa PTR
8.8.8.8.in-addr.arpa PTR
router A +noedns
router A +dnssec
nas A +bufsize=4096
EOF2
n=0
e2e_diff_servers $DR $DM "$E2E_TMP/queries" || n=$?
e2e_assert_eq 0 "$n" "router config: $(grep -c . "$E2E_TMP/queries") queries answered like dnsmasq 2.90"
# The comparison means something: local answers carry AA and the configured data.
e2e_assert_match '^flags .*aa' "$(e2e_answer $DR router.lan)" "a hosts answer is authoritative"
e2e_assert_eq 192.168.1.1 "$(e2e_short $DR router.lan)" "/etc/hosts (bind mount) is read"
e2e_assert_eq openwrt.lan. "$(e2e_short $DR 1.1.168.192.in-addr.arpa PTR)" \
    "PTR: the expanded name of the first name given the address"
e2e_assert_eq 0.0.0.0 "$(e2e_short $DR ads.example.com)" "a blocklist line answers 0.0.0.0"
e2e_assert_eq 192.168.1.52 "$(e2e_short $DR printer.lan)" "a file of an addn-hosts directory"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR hidden.lan)" "dotfiles of the directory are skipped"
e2e_assert_eq 10.0.0.7 "$(e2e_short $DR over.example.com)" "hosts data beats address="
e2e_assert_eq 2 "$(e2e_short $DR nas | wc -l)" "a name on two lines has both addresses"
e2e_assert_match 'read .*block.list - 7 names' "$(cat "$E2E_TMP/dr.err")" "dnsmasq's read line"

# Round robin: the first address of a two-address name changes between answers.
for s in $DR $DM; do
    firsts=$(for i in 1 2 3 4; do e2e_dig $s nas A +short | head -n1; done | sort -u | wc -l)
    e2e_assert_eq 2 "$firsts" "round robin over a name's addresses ($s)"
done

# SIGHUP re-reads /etc/hosts.
echo '192.168.1.2 newname' >>"$E2E_TMP/etc-hosts"
e2e_signal dr HUP
for ((i = 0; i < 100; i++)); do
    [[ "$(e2e_short $DR newname.lan)" == 192.168.1.2 ]] && break
    sleep 0.05
done
e2e_assert_eq 192.168.1.2 "$(e2e_short $DR newname.lan)" "SIGHUP re-reads /etc/hosts"
e2e_assert_eq 10.0.0.7 "$(e2e_short $DR over.example.com)" "and keeps addn-hosts"
e2e_stop dr
