#!/usr/bin/env bash
# test_leases_input.sh - issue 9, bad input in the files dnsroute reads for local names: a lease
# file with short records, a bad address, binary garbage and a 10 MB field, read as dnsmasq 2.90
# reads it (the same records skipped, the same names served: compared query by query with
# dnsmasq doing DHCP on a copy of the same file), a missing lease file, and, as real root, files
# that the daemon cannot read once it has dropped to nobody (a lease file, an addn-hosts file, a
# hostsdir file): each is logged clearly and nothing else is lost.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[[ $(id -u) == 0 ]] && export E2E_NETNS_MODE=${E2E_NETNS_MODE:-root} # see the last part
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

e2e_start_fake_catchall up 127.0.0.2#53

# The lease file: good records around every kind of bad one.
lease="$E2E_TMP/bad.leases"
{
    echo "1900000000 00:11:22:33:44:01 10.9.0.101 good1 *"
    echo "1900000000 00:11:22:33:44:02 999.0.0.1 badaddr *"
    echo "1900000000 00:11:22:33:44:03 10.9.0.103 good3 01:00:11:22:33:44:03"
    # Binary garbage (every byte value, NUL included), then a good record.
    for ((i = 1; i < 256; i++)); do printf "\\x$(printf %02x "$i")"; done
    printf '\0\0 \n'
    echo "1900000000 00:11:22:33:44:04 10.9.0.104 good4 *"
    # A 10 MB field.
    head -c 10485760 /dev/zero | tr '\0' 'x'
    echo
    echo "1900000000 00:11:22:33:44:05 10.9.0.105 good5 *"
    echo "1900000000 00:11:22:33:44:06 10.9.0.106 good6 *"
    echo "1900000000 00:11:22:33:44:07 10.9.0.107"
} >"$lease"
cp "$lease" "$E2E_TMP/dnsmasq.leases" # dnsmasq's DHCP rewrites its file: each gets its own

conf="$E2E_TMP/leases.conf"
cat >"$conf" <<EOF2
no-resolv
no-hosts
server=127.0.0.2
cache-size=0
domain=lan
local=/lan/
dhcp-range=10.9.0.100,10.9.0.200,12h
EOF2
e2e_start_dnsroute dr 5353 "$conf" --pid-file= --user=root --dhcp-leasefile="$lease"
e2e_start_dnsmasq dm 5354 "$conf" --dhcp-leasefile="$E2E_TMP/dnsmasq.leases"
DR=127.0.0.1#5353 DM=127.0.0.1#5354

q="$E2E_TMP/queries"
: >"$q"
for n in good1 badaddr good3 good4 good5 good6 good7; do
    printf '%s A\n%s.lan A\n' "$n" "$n" >>"$q"
done
for i in 101 102 103 104 105 106 107; do echo "$i.0.9.10.in-addr.arpa PTR" >>"$q"; done
n=0
e2e_diff_servers $DR $DM "$q" || n=$?
e2e_assert_eq 0 "$n" "bad lease file: $(grep -c . "$q") queries answered like dnsmasq 2.90"
e2e_assert_eq 10.9.0.101 "$(e2e_short $DR good1.lan)" "the lease before the bad records is served"
e2e_assert_eq 10.9.0.103 "$(e2e_short $DR good3)" "the lease after a bad address is served"
log=$(cat "$E2E_TMP/dr.err")
e2e_assert_match 'ignoring invalid line in lease database, bad address: 999.0.0.1' "$log" \
    "a bad address is logged as dnsmasq logs it"
e2e_assert_eq 1 "$(pgrep -c -f "dhcp-leasefile=$lease" || true)" "the daemon is still running"

# A missing lease file (dnsmasq's DHCP has not written it yet): logged, hosts data served.
printf '10.9.1.1 fromhosts\n' >"$E2E_TMP/extra.hosts"
e2e_start_dnsroute dr2 5355 "$conf" --pid-file= --user=root \
    --dhcp-leasefile="$E2E_TMP/none/x.leases" --addn-hosts="$E2E_TMP/extra.hosts"
e2e_assert_eq 10.9.1.1 "$(e2e_short 127.0.0.1#5355 fromhosts)" "hosts data served without leases"
e2e_assert_match "cannot read lease file $E2E_TMP/none/x.leases: No such file or directory" \
    "$(cat "$E2E_TMP/dr2.err")" "a missing lease file is logged"
e2e_stop dr2

# Unreadable once the daemon runs as nobody (real root only: a user namespace maps only root).
if [[ $(id -u) != 0 || ${E2E_NETNS_MODE:-} != root ]] || ! getent passwd nobody >/dev/null; then
    e2e_skip_part "unreadable files after the privilege drop (needs real root and user nobody)"
else
    chmod 755 "$E2E_TMP"
    mkdir -m 755 "$E2E_TMP/hd"
    printf '10.9.2.1 secret1\n' >"$E2E_TMP/secret.hosts"
    printf '10.9.2.2 secret2\n' >"$E2E_TMP/hd/secret"
    printf '10.9.2.3 open3\n' >"$E2E_TMP/hd/open"
    printf '10.9.2.4 open4\n' >"$E2E_TMP/open.hosts"
    cp "$E2E_TMP/dnsmasq.leases" "$E2E_TMP/secret.leases"
    chmod 600 "$E2E_TMP/secret.hosts" "$E2E_TMP/hd/secret" "$E2E_TMP/secret.leases"
    chmod 644 "$E2E_TMP/hd/open" "$E2E_TMP/open.hosts" "$conf"
    e2e_start_dnsroute dr3 53 "$conf" --pid-file= --dhcp-leasefile="$E2E_TMP/secret.leases" \
        --addn-hosts="$E2E_TMP/secret.hosts" --addn-hosts="$E2E_TMP/open.hosts" \
        --hostsdir="$E2E_TMP/hd"
    log=$(cat "$E2E_TMP/dr3.err")
    e2e_assert_match "failed to load names from $E2E_TMP/secret.hosts: Permission denied" "$log" \
        "an unreadable addn-hosts file is logged"
    e2e_assert_match "failed to load names from $E2E_TMP/hd/secret: Permission denied" "$log" \
        "an unreadable hostsdir file is logged"
    e2e_assert_match "cannot read lease file $E2E_TMP/secret.leases: Permission denied" "$log" \
        "an unreadable lease file is logged"
    e2e_assert_eq 10.9.2.4 "$(e2e_short 127.0.0.1#53 open4)" "the readable addn-hosts file is served"
    e2e_assert_eq 10.9.2.3 "$(e2e_short 127.0.0.1#53 open3)" "the readable hostsdir file is served"
    e2e_assert_eq NXDOMAIN "$(e2e_rcode 127.0.0.1#53 secret1.lan)" "nothing read from the others"
    e2e_stop dr3
fi
e2e_stop dr
e2e_stop dm
