#!/usr/bin/env bash
# test_dhcp_split.sh - issue 9, the split set-up of the README ("DHCP by dnsmasq, DNS by
# dnsroute") with real programs: dnsmasq 2.90 runs DHCP only (port=0) on one end of a veth pair,
# a real DHCP client (busybox udhcpc) in a second network namespace on the other end asks for a
# lease with a host name, and dnsroute on port 53 reads the lease file dnsmasq writes. The
# configurations are conf/split-dhcp-dnsmasq.conf and conf/split-dns-dnsroute.conf with the
# interface, addresses and paths of the test put in. Checked: the lease file as dnsmasq writes
# it (expiry, MAC, address, name, client id - what dnsroute parses), the options the client got
# (dnsroute's address as DNS server), the client's name and reverse name asked by the client
# itself over the veth, and the same answers as dnsmasq 2.90 doing DHCP and DNS together from
# the same lease file (the set-up the split replaces). dnsroute runs before the client comes and
# after it leaves: the lease dnsmasq writes and the release it records are served within two
# seconds without a signal (inotify on the lease file, rewritten in place by dnsmasq).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq
command -v busybox >/dev/null && busybox udhcpc --help >/dev/null 2>&1 ||
    e2e_skip "busybox udhcpc not found (third_party/packages.txt: busybox)"
command -v nsenter >/dev/null || e2e_skip "nsenter(1) not found"

# The client's namespace: a process in a new network namespace, the veth pair between.
e2e_spawn clientns unshare -n -- sleep 600
cpid=$(e2e_pid clientns)
for ((i = 0; i < 200; i++)); do
    [[ "$(readlink /proc/"$cpid"/ns/net 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ]] && break
    sleep 0.02
done
[[ "$(readlink /proc/"$cpid"/ns/net)" != "$(readlink /proc/self/ns/net)" ]] ||
    e2e_fail "the client namespace did not appear"
inc() { nsenter -t "$cpid" -n -- "$@"; }
ip link add v0 type veth peer name v1 netns "$cpid" || e2e_skip "cannot create a veth pair"
ip addr add 10.9.0.1/24 dev v0
ip link set v0 up
inc ip link set lo up
inc ip link set v1 up
# dnsroute binds each address of the interface (bind-interfaces): wait until the link-local
# IPv6 address has passed duplicate address detection (before, it cannot be bound).
for ((i = 0; i < 200; i++)); do
    [[ -n "$(ip -6 addr show dev v0 scope link)" && -z "$(ip -6 addr show dev v0 tentative)" ]] &&
        break
    sleep 0.05
done

# The documented configurations, with this test's interface, subnet and files.
lease="$E2E_TMP/dnsmasq.leases"
src="$DNSROUTE_SOURCE_DIR/conf"
sed -e "s|br-lan|v0|; s|192\.168\.1\.|10.9.0.|g; s|/var/lib/misc/dnsmasq.leases|$lease|" \
    "$src/split-dhcp-dnsmasq.conf" >"$E2E_TMP/dhcp.conf"
sed -e "s|br-lan|v0|; s|/var/lib/misc/dnsmasq.leases|$lease|; /^server=/d" \
    "$src/split-dns-dnsroute.conf" >"$E2E_TMP/dns.conf"
echo "server=127.0.0.2" >>"$E2E_TMP/dns.conf"
grep -qx 'port=0' "$E2E_TMP/dhcp.conf" || e2e_fail "the DHCP side must say port=0"

e2e_spawn dhcp "$DNSMASQ" -d -C "$E2E_TMP/dhcp.conf" --pid-file= --log-facility=- --log-dhcp
e2e_wait_listen udp 0.0.0.0 67 dhcp
e2e_assert_no_match ':53$' "$(ss -Hlnu | awk '{print $4}')" "dnsmasq with port=0 serves no DNS"

# dnsroute on port 53 of the LAN interface, running before the client comes: the lease dnsmasq
# writes for it must be served without a signal (inotify on the lease file).
e2e_start_fake up /dev/null 127.0.0.2#53
e2e_start_dnsroute dr 53 "$E2E_TMP/dns.conf" --pid-file= --user=root
e2e_wait_listen udp 10.9.0.1 53 dr
e2e_assert_eq NXDOMAIN "$(e2e_rcode 10.9.0.1 client1.lan)" "no lease yet: client1.lan does not exist"

# udhcpc hands each event to a script: this one puts the address on the interface and keeps the
# options it was given. -t/-T are DHCP's own retransmissions; -q ends it once bound.
cat >"$E2E_TMP/udhcpc.sh" <<'EOF2'
#!/bin/sh
case "$1" in
bound | renew)
    ip addr add "$ip/${mask:-24}" dev "$interface"
    printf 'ip=%s\ndns=%s\ndomain=%s\n' "$ip" "$dns" "$domain" >"$ENVFILE"
    ;;
esac
exit 0
EOF2
chmod +x "$E2E_TMP/udhcpc.sh"
ENVFILE="$E2E_TMP/client.env" inc busybox udhcpc -i v1 -f -q -n -t 10 -T 1 -x hostname:client1 \
    -s "$E2E_TMP/udhcpc.sh" >"$E2E_TMP/udhcpc.log" 2>&1 || {
    cat "$E2E_TMP/udhcpc.log" >&2
    e2e_fail "udhcpc got no lease"
}
env_of() { sed -n "s/^$1=//p" "$E2E_TMP/client.env"; }
ip=$(env_of ip) dns=$(env_of dns) domain=$(env_of domain)
e2e_assert_match '^10\.9\.0\.([0-9]+)$' "$ip" "the client was leased an address of the range"
e2e_assert_eq 10.9.0.1 "$dns" "dhcp-option=option:dns-server,0.0.0.0 names this machine as DNS"
e2e_assert_eq lan "$domain" "and the domain"

# dnsmasq writes the lease file after the ACK: wait for the client's line.
for ((i = 0; i < 200; i++)); do
    grep -q ' client1 ' "$lease" 2>/dev/null && break
    sleep 0.02
done
line=$(grep ' client1 ' "$lease" || true)
mac=$(inc ip -o link show v1 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
read -r expiry lmac lip lname lcid rest <<<"$line"
e2e_assert_ge "$(($(date +%s) + 43000))" "$expiry" "lease line: expiry time first (a 12h lease)"
e2e_assert_eq "$mac" "$lmac" "lease line: the client's MAC"
e2e_assert_eq "$ip" "$lip" "lease line: the address the client configured"
e2e_assert_eq client1 "$lname" "lease line: the host name the client sent"
e2e_assert_eq "01:$mac" "$lcid" "lease line: the client id (udhcpc sends 01:MAC)"
e2e_assert_eq "" "${rest:-}" "lease line: five fields"

e2e_wait_short 10.9.0.1 client1.lan "$ip" "the new lease is served without SIGHUP"
e2e_assert_match 'read .*dnsmasq.leases - 1 leases' "$(cat "$E2E_TMP/dr.err")" \
    "the rewritten lease file was read again"

# The client asks dnsroute itself, over the veth.
cdig() { inc dig @"$dns" +tries=1 +time=2 +nocookie "$@" 2>&1 || true; }
e2e_assert_eq "$ip" "$(cdig client1.lan A +short)" "the client's name with the domain"
e2e_assert_eq "$ip" "$(cdig client1 A +short)" "the client's plain name"
e2e_assert_eq client1.lan. "$(cdig -x "$ip" +short)" "the client's reverse name"
e2e_assert_eq 0 "$(grep -c . "$(e2e_qlog up)" || true)" "none of it went upstream"

# The oracle: dnsmasq 2.90 doing DHCP and DNS together with the same lease file and the same DNS
# options (the set-up the split replaces) gives the same answers.
e2e_kill dhcp || true
cp "$lease" "$E2E_TMP/oracle.leases"
{
    sed -e '/^port=0$/d' -e "s|$lease|$E2E_TMP/oracle.leases|" "$E2E_TMP/dhcp.conf"
    grep -E '^(domain|local|domain-needed|bogus-priv|no-resolv|server)' "$E2E_TMP/dns.conf"
} >"$E2E_TMP/oracle.conf"
e2e_start_dnsmasq dm 5354 "$E2E_TMP/oracle.conf"
q="$E2E_TMP/queries"
rev=$(awk -F. '{ print $4 "." $3 "." $2 "." $1 ".in-addr.arpa" }' <<<"$ip")
printf '%s\n' "client1.lan A" "client1 A" "CLIENT1.LAN A" "client1.lan AAAA" "client1.lan MX" \
    "client1.lan TXT" "$rev PTR" "other.lan A" "lan A" "lan SOA" >"$q"
n=0
e2e_diff_servers 127.0.0.1#53 127.0.0.1#5354 "$q" || n=$?
e2e_assert_eq 0 "$n" "split set-up: $(grep -c . "$q") LAN queries answered as dnsmasq doing both"

# The client releases its lease (udhcpc -R): DHCP-only dnsmasq rewrites the file without it, and
# dnsroute stops answering the name, again without a signal.
e2e_stop dm
e2e_spawn dhcp2 "$DNSMASQ" -d -C "$E2E_TMP/dhcp.conf" --pid-file= --log-facility=- --log-dhcp
e2e_wait_listen udp 0.0.0.0 67 dhcp2
# udhcpc -R releases when it ends (SIGTERM); -q would end before the lease is held.
ENVFILE="$E2E_TMP/client2.env" e2e_spawn client2 nsenter -t "$cpid" -n -- busybox udhcpc -i v1 \
    -f -R -n -t 10 -T 1 -x hostname:client1 -s "$E2E_TMP/udhcpc.sh"
for ((i = 0; i < 400; i++)); do
    [[ -s "$E2E_TMP/client2.env" ]] && break
    sleep 0.05
done
[[ -s "$E2E_TMP/client2.env" ]] || e2e_fail "udhcpc -R got no lease to release"
e2e_kill client2 || true
for ((i = 0; i < 100; i++)); do
    grep -q ' client1 ' "$lease" || break
    sleep 0.02
done
e2e_assert_eq "" "$(grep ' client1 ' "$lease" || true)" "the released lease left the lease file"
e2e_wait_short 10.9.0.1 client1.lan "" "a released lease's name is gone without SIGHUP"
e2e_stop dr
