#!/usr/bin/env bash
# test_hosts_input.sh - issue 9, local names with no default upstream (hosts, domain-needed and
# bogus-priv answer before "no server" REFUSED), bad hosts input (bad lines, a 10 MB line, binary
# garbage, a missing file: logged and skipped, nothing else lost), and SIGHUP re-reading
# addn-hosts. Differential against real dnsmasq 2.90 with the same configurations.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

e2e_start_fake_catchall up 127.0.0.2#53
printf '10.20.0.5 guest1\n10.20.0.6 guest2.vm\n' >"$E2E_TMP/guests.hosts"

# No default upstream: hosts, domain-needed and bogus-priv answer before "no server" (REFUSED).
cat >"$E2E_TMP/noup.conf" <<EOF2
no-resolv
domain-needed
bogus-priv
local=/lan/
addn-hosts=$E2E_TMP/guests.hosts
server=/corp.test/127.0.0.2
EOF2
e2e_start_dnsroute dr2 5355 "$E2E_TMP/noup.conf" --pid-file= --user=root
e2e_start_dnsmasq dm2 5356 "$E2E_TMP/noup.conf"
cat >"$E2E_TMP/q2" <<'EOF2'
guest1 A
guest2.vm A
localhost A
5.0.20.10.in-addr.arpa PTR
9.9.168.192.in-addr.arpa PTR
plainname A
x.lan A
www.example.com A
x.corp.test A
EOF2
n=0
e2e_diff_servers 127.0.0.1#5355 127.0.0.1#5356 "$E2E_TMP/q2" || n=$?
e2e_assert_eq 0 "$n" "no default upstream: $(grep -c . "$E2E_TMP/q2") queries like dnsmasq 2.90"
e2e_assert_eq 10.20.0.5 "$(e2e_short 127.0.0.1#5355 guest1)" "hosts answer without an upstream"
e2e_assert_eq NXDOMAIN "$(e2e_rcode 127.0.0.1#5355 plainname)" "domain-needed before REFUSED"
e2e_assert_eq NXDOMAIN "$(e2e_rcode 127.0.0.1#5355 9.9.168.192.in-addr.arpa PTR)" \
    "bogus-priv before REFUSED"
e2e_assert_eq REFUSED "$(e2e_rcode 127.0.0.1#5355 www.example.com)" "other names: REFUSED"
e2e_stop dm2
e2e_stop dr2

# Bad input: malformed lines, a 10 MB line, binary garbage, a missing file. Each is logged and
# skipped; the good lines around them are served.
{
    echo '192.168.7.1 good-before'
    echo 'not-an-address name1'
    echo '300.1.2.3 name2'
    printf '192.168.7.2 '
    head -c 10000000 /dev/zero | tr '\0' a
    echo
    head -c 4096 /dev/urandom | tr -d '\n'
    echo
    echo '192.168.7.3 good-after'
} >"$E2E_TMP/bad.hosts"
cat >"$E2E_TMP/bad.conf" <<EOF2
no-resolv
no-hosts
server=127.0.0.2
addn-hosts=$E2E_TMP/bad.hosts
addn-hosts=$E2E_TMP/missing.hosts
addn-hosts=$E2E_TMP/guests.hosts
EOF2
e2e_start_dnsroute dr3 5357 "$E2E_TMP/bad.conf" --pid-file= --user=root
e2e_start_dnsmasq dm3 5358 "$E2E_TMP/bad.conf"
printf '%s\n' 'good-before A' 'good-after A' 'guest1 A' 'name1 A' '1.7.168.192.in-addr.arpa PTR' \
    '2.7.168.192.in-addr.arpa PTR' >"$E2E_TMP/q3"
n=0
e2e_diff_servers 127.0.0.1#5357 127.0.0.1#5358 "$E2E_TMP/q3" || n=$?
e2e_assert_eq 0 "$n" "bad input: answers like dnsmasq 2.90"
e2e_assert_eq 192.168.7.3 "$(e2e_short 127.0.0.1#5357 good-after)" "the line after the bad ones"
e2e_assert_eq 10.20.0.5 "$(e2e_short 127.0.0.1#5357 guest1)" "the file after the missing one"
log=$(cat "$E2E_TMP/dr3.err")
e2e_assert_match "bad address at $E2E_TMP/bad.hosts line 2" "$log" "bad address logged (line 2)"
e2e_assert_match "bad address at $E2E_TMP/bad.hosts line 3" "$log" "bad address logged (line 3)"
e2e_assert_match "bad name at $E2E_TMP/bad.hosts line 4" "$log" "the 10 MB name logged"
e2e_assert_match "failed to load names from $E2E_TMP/missing.hosts: No such file" "$log" \
    "a missing file logged"
e2e_stop dm3

# SIGHUP re-reads addn-hosts.
echo '192.168.7.4 added-later' >>"$E2E_TMP/bad.hosts"
e2e_signal dr3 HUP
for ((i = 0; i < 100; i++)); do
    [[ "$(e2e_short 127.0.0.1#5357 added-later)" == 192.168.7.4 ]] && break
    sleep 0.05
done
e2e_assert_eq 192.168.7.4 "$(e2e_short 127.0.0.1#5357 added-later)" "SIGHUP re-reads addn-hosts"
e2e_assert_eq 192.168.7.3 "$(e2e_short 127.0.0.1#5357 good-after)" "and keeps the rest"
e2e_stop dr3
