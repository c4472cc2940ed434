#!/usr/bin/env bash
# test_leases_diff.sh - issue 9, a home router's local names, differential: /etc/hosts (a test
# file bind-mounted over it in a private mount namespace), a hostsdir, domain= plain and per
# subnet, expand-hosts, dhcp-host= lines, and a lease file with IPv4 and IPv6 leases that
# exercises dnsmasq's naming rules (name and name.domain, a name taken by a later lease, a
# dhcp-host name by MAC, by wildcard MAC and by client id, a name the hosts files give another
# address, an address the hosts files name, an expired lease, a lease without a name). Real
# dnsmasq 2.90 doing DHCP and DNS reads a copy of the same lease file; dnsroute (no DHCP) reads
# the file as it would in the split set-up. Every query must be answered identically (rcode,
# flags, records; TTLs masked).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

# Both daemons see $E2E_TMP/etc-hosts as /etc/hosts (as in test_hosts.sh).
echo '127.0.0.1 localhost' >"$E2E_TMP/etc-hosts"
e2e_bind_etc "$E2E_TMP/etc-hosts:/etc/hosts"

e2e_start_fake_catchall up 127.0.0.2#53

cat >"$E2E_TMP/etc-hosts" <<'EOF2'
127.0.0.1 localhost
::1 localhost
192.168.1.1 router
192.168.1.5 nas
fd00::1 router
EOF2
mkdir "$E2E_TMP/hosts.d"
printf '192.168.1.6 camera\n' >"$E2E_TMP/hosts.d/static"

now=$(date +%s)
exp=$((now + 43200))
cat >"$E2E_TMP/leases" <<EOF2
$exp 00:11:22:33:44:01 192.168.1.101 laptop 01:00:11:22:33:44:01
$exp 00:11:22:33:44:02 192.168.1.102 phone *
$exp 00:11:22:33:44:03 192.168.1.103 phone *
$exp 00:11:22:33:44:10 192.168.1.10 HP123 *
$exp 00:11:22:33:55:99 192.168.1.150 anything *
$exp 00:11:22:33:44:20 192.168.1.120 appletv 74:76:2d:63:6c:69:65:6e:74
$exp 00:11:22:33:44:30 192.168.1.130 router *
$exp 00:11:22:33:44:31 192.168.1.5 nasclient *
$exp 00:11:22:33:44:32 192.168.1.6 cam *
$((now - 100)) 00:11:22:33:44:40 192.168.1.140 gone *
0 00:11:22:33:44:41 192.168.1.141 forever *
$exp 00:11:22:33:44:42 192.168.1.142 * *
$exp 00:11:22:33:44:50 10.10.0.150 guestpc *
duid 00:01:00:01:2c:5a:8e:11:52:54:00:12:34:56
$exp 12345 fd00::101 laptop 00:01:00:01:aa:bb:cc:dd
$exp T678 fd00::102 tablet 00:01:00:01:aa:bb:cc:ee
EOF2
cp "$E2E_TMP/leases" "$E2E_TMP/dnsmasq.leases" # dnsmasq's DHCP rewrites its own file

conf="$E2E_TMP/router.conf"
cat >"$conf" <<EOF2
no-resolv
server=127.0.0.2
cache-size=0
domain-needed
bogus-priv
domain=lan
domain=guest,10.10.0.0/24
local=/lan/
expand-hosts
hostsdir=$E2E_TMP/hosts.d
dhcp-range=192.168.1.100,192.168.1.200,12h
dhcp-range=10.10.0.100,10.10.0.200,1h
dhcp-host=00:11:22:33:44:10,192.168.1.10,printer
dhcp-host=00:11:22:33:55:*,wild
dhcp-host=id:tv-client,tv
EOF2
e2e_start_dnsroute dr 5353 "$conf" --pid-file= --user=root --dhcp-leasefile="$E2E_TMP/leases"
e2e_start_dnsmasq dm 5354 "$conf" --dhcp-leasefile="$E2E_TMP/dnsmasq.leases"
DR=127.0.0.1#5353 DM=127.0.0.1#5354

q="$E2E_TMP/queries"
: >"$q"
for n in laptop phone HP123 printer anything wild appletv tv router nas nasclient camera cam gone \
    forever guestpc tablet unknown; do
    printf '%s A\n%s.lan A\n%s AAAA\n%s.lan AAAA\n' "$n" "$n" "$n" "$n" >>"$q"
done
printf '%s\n' "guestpc.guest A" "printer.lan MX" "laptop.lan TXT" "lan SOA" "lan A" >>"$q"
for i in 1 5 6 10 101 102 103 120 130 140 141 142 150; do
    echo "$i.1.168.192.in-addr.arpa PTR" >>"$q"
done
echo "150.0.10.10.in-addr.arpa PTR" >>"$q"
printf -- '-x %s\n' fd00::1 fd00::101 fd00::102 ::1 >>"$q" # dig's reverse form
n=0
e2e_diff_servers $DR $DM "$q" || n=$?
e2e_assert_eq 0 "$n" "router with leases: $(grep -c . "$q") queries answered like dnsmasq 2.90"
# The comparison means something: the lease names are answered locally with their data.
e2e_assert_eq 192.168.1.101 "$(e2e_short $DR laptop.lan)" "a lease's name with the domain"
e2e_assert_eq fd00::101 "$(e2e_short $DR laptop AAAA)" "an IPv6 lease"
e2e_assert_eq 192.168.1.10 "$(e2e_short $DR printer)" "a dhcp-host name by MAC"
e2e_assert_eq 192.168.1.120 "$(e2e_short $DR tv)" "a dhcp-host name by client id"
e2e_assert_eq 192.168.1.103 "$(e2e_short $DR phone)" "a name taken by the later lease"
e2e_assert_eq guestpc.guest. "$(e2e_short $DR -x 10.10.0.150)" "the subnet's domain"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR gone.lan)" "an expired lease is not served"
e2e_assert_match 'not giving name router to the DHCP lease of 192.168.1.130' \
    "$(cat "$E2E_TMP/dr.err")" "a name the hosts files give another address is refused, logged"
e2e_stop dr
e2e_stop dm
