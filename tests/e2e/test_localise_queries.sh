#!/usr/bin/env bash
# test_localise_queries.sh - localise-queries against dnsmasq 2.90 on the same configuration. This
# namespace runs both servers (wildcard listeners) with two links: lan0 (10.1.0.1/24) to client
# "a", lan1 (10.2.0.1/24) to client "b". A name of the hosts file / host-record with addresses on
# both subnets answers each client with the address on the subnet of the address it asked (A,
# also in ANY, over UDP and TCP); a name with no address on that subnet answers all of them;
# AAAA is not localised (dnsmasq 2.90 localises IPv4 only); without the option nothing changes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

on() { e2e_on "$@"; }
e2e_mkns a
e2e_mkns b
ip link add lan0 type veth peer name e0 netns "${E2E_NS[a]}"
ip link add lan1 type veth peer name e0 netns "${E2E_NS[b]}"
ip link set lan0 up; ip link set lan1 up
on a ip link set e0 up; on b ip link set e0 up
ip addr add 10.1.0.1/24 dev lan0; on a ip addr add 10.1.0.2/24 dev e0
ip addr add 10.2.0.1/24 dev lan1; on b ip addr add 10.2.0.2/24 dev e0

cat >"$E2E_TMP/hosts" <<'EOF2'
10.1.0.50 multi
10.2.0.50 multi
192.168.9.9 multi
fd01::50 multi
fd02::50 multi
10.1.0.70 single
10.3.0.5 other
10.3.0.6 other
EOF2
printf '%s\n' '* A a 192.0.2.1' >"$E2E_TMP/up.scenario"
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
base=(no-resolv no-hosts server=127.0.0.2 "addn-hosts=$E2E_TMP/hosts"
    "host-record=hr,10.1.0.60" "host-record=hr,10.2.0.60" "host-record=mixed,10.2.0.80")
printf '%s\n' "${base[@]}" localise-queries >"$E2E_TMP/loc.conf"
printf '%s\n' "${base[@]}" >"$E2E_TMP/plain.conf"
# "mixed" has host-record 10.2.0.80 and a hosts line 10.1.0.80: one pool, as dnsmasq's cache.
printf '10.1.0.80 mixed\n' >>"$E2E_TMP/hosts"
e2e_spawn dr "$DNSROUTE_BIN" -k -C "$E2E_TMP/loc.conf" --port=5353 --user=root --pid-file= \
    --log-facility=- --workers=2
e2e_spawn dm "$DNSMASQ" -d -C "$E2E_TMP/loc.conf" --port=5354 --pid-file= --log-facility=-
e2e_spawn drp "$DNSROUTE_BIN" -k -C "$E2E_TMP/plain.conf" --port=5355 --user=root --pid-file= \
    --log-facility=- --workers=1
for p in 5353 5354 5355; do e2e_wait_listen udp 0.0.0.0 $p; done

# q NS SERVER PORT NAME TYPE [DIG_OPTS]: the answer's addresses, sorted, on one line.
q()
{
    local ns=$1 server=$2 port=$3 name=$4 type=$5
    shift 5
    on "$ns" dig @"$server" -p "$port" +tries=1 +time=2 +noall +answer "$name" "$type" "$@" |
        awk '$4 == "A" || $4 == "AAAA" { print $5 }' | LC_ALL=C sort | paste -sd' '
}
# check NS SERVER NAME TYPE EXPECTED WHAT [DIG_OPTS]: dnsmasq and dnsroute both answer EXPECTED.
check()
{
    local ns=$1 server=$2 name=$3 type=$4 want=$5 what=$6
    shift 6
    e2e_assert_eq "$want" "$(q "$ns" "$server" 5354 "$name" "$type" "$@")" "dnsmasq: $what"
    e2e_assert_eq "$want" "$(q "$ns" "$server" 5353 "$name" "$type" "$@")" "dnsroute: $what"
}

check a 10.1.0.1 multi A "10.1.0.50" "client a (lan0): multi's lan0 address only"
check b 10.2.0.1 multi A "10.2.0.50" "client b (lan1): multi's lan1 address only"
check a 10.1.0.1 multi A "10.1.0.50" "over TCP too" +tcp
check b 10.2.0.1 multi ANY "10.2.0.50 fd01::50 fd02::50" "ANY: A localised, AAAA not"
check a 10.1.0.1 multi AAAA "fd01::50 fd02::50" "AAAA: not localised (IPv4 only in 2.90)"
check a 10.1.0.1 hr A "10.1.0.60" "a host-record name (two lines): localised"
check b 10.2.0.1 mixed A "10.2.0.80" "host-record and hosts addresses are one pool (b)"
check a 10.1.0.1 mixed A "10.1.0.80" "host-record and hosts addresses are one pool (a)"
check b 10.2.0.1 other A "10.3.0.5 10.3.0.6" "no address on the subnet: all of them"
check b 10.2.0.1 single A "10.1.0.70" "a single address off the subnet: answered"
# The subnet is the asked address's: client b asking lan0's address gets lan0's answer.
on b ip route add 10.1.0.0/24 dev e0
check b 10.1.0.1 multi A "10.1.0.50" "the subnet of the address asked, not of the client"
# This host asks 127.0.0.1: lo's 127/8 holds none of them.
e2e_assert_eq "10.1.0.50 10.2.0.50 192.168.9.9" \
    "$(dig @127.0.0.1 -p 5353 +tries=1 +time=2 +short multi A | LC_ALL=C sort | paste -sd' ')" \
    "dnsroute: asked on 127.0.0.1, every address"
e2e_assert_eq "10.1.0.50 10.2.0.50 192.168.9.9" "$(q a 10.1.0.1 5355 multi A)" \
    "dnsroute without localise-queries: every address"

e2e_stop dr
e2e_stop drp
