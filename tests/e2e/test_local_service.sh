#!/usr/bin/env bash
# test_local_service.sh - issue 10, who may ask: --local-service answers only clients on a directly
# connected subnet, like dnsmasq 2.90 on the same configuration. Topology (namespaces joined by
# veth pairs): this namespace runs both servers (wildcard listeners, no listen option); "client"
# sits on lan0's subnet; "far" is two hops away behind "router". An address added to lan0 after
# start serves a client on the new subnet at once; once removed, that client is refused again.
# local-service=host answers only this host; an interface= line turns local-service off (dnsmasq:
# it is a default for unconfigured installations).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

on() { e2e_on "$@"; }
e2e_mkns client; e2e_mkns router; e2e_mkns far
ip link add lan0 type veth peer name e0 netns "${E2E_NS[client]}"
ip link add r0 type veth peer name e0 netns "${E2E_NS[router]}"
on router ip link add e1 type veth peer name e0 netns "${E2E_NS[far]}"
ip link set lan0 up; ip link set r0 up
on client ip link set e0 up; on router ip link set e0 up; on router ip link set e1 up
on far ip link set e0 up
ip addr add 10.1.0.1/24 dev lan0; on client ip addr add 10.1.0.2/24 dev e0
ip addr add 10.2.0.1/24 dev r0; on router ip addr add 10.2.0.2/24 dev e0
on router ip addr add 10.3.0.1/24 dev e1; on far ip addr add 10.3.0.2/24 dev e0
on client ip route add default via 10.1.0.1
on far ip route add default via 10.3.0.1
on router ip route add default via 10.2.0.1
on router sysctl -qw net.ipv4.ip_forward=1
ip route add 10.3.0.0/24 via 10.2.0.2

printf '%s\n' 'far.example A a 192.0.2.9' '* A a 192.0.2.1' >"$E2E_TMP/up.scenario"
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts server=127.0.0.2 local-service >"$E2E_TMP/ls.conf"
# Wildcard listeners: no listen-address, as OpenWrt and Pi-hole run it.
e2e_spawn dr "$DNSROUTE_BIN" -k -C "$E2E_TMP/ls.conf" --port=5353 --user=root --pid-file= \
    --log-facility=- --workers=1
e2e_spawn dm "$DNSMASQ" -d -C "$E2E_TMP/ls.conf" --port=5354 --pid-file= --log-facility=-
for p in 5353 5354; do e2e_wait_listen udp 0.0.0.0 $p; done

for p in 5353 5354; do
    who=dnsroute; [[ $p == 5354 ]] && who=dnsmasq
    e2e_assert_eq 192.0.2.1 "$(e2e_ask client 10.1.0.1 $p)" "$who: a client on a connected subnet is answered"
    e2e_assert_eq none "$(e2e_ask far 10.2.0.1 $p 1)" "$who: a client two hops away is not"
    e2e_assert_eq 192.0.2.1 "$(e2e_short 127.0.0.1#$p test.example A)" "$who: this host is answered"
done
e2e_assert_match 'ignoring query from non-local network 10\.3\.0\.2 \(logged only once\)' \
    "$(cat "$E2E_TMP/dr.err")" "dnsroute logs the refusal as dnsmasq does"

# A subnet that appears after start: served at once (dnsmasq re-reads interfaces per query).
ip addr add 10.4.0.1/24 dev lan0
on client ip addr add 10.4.0.2/24 dev e0
# wait_for WANT: asks from the client's 10.4.0.2 until the answer is WANT (5 s at most).
wait_for()
{
    local got i
    for ((i = 0; i < 50; i++)); do
        got=$(on client dig @10.4.0.1 -p 5353 -b 10.4.0.2 +tries=1 +time=1 +short test.example A |
            grep -v '^;;' || true)
        [[ "$got" == "$1" ]] && break
        sleep 0.1
    done
    echo "$got"
}
ok=$(wait_for 192.0.2.1)
e2e_assert_eq 192.0.2.1 "$ok" "an address added after start: its subnet is served"
ip addr del 10.4.0.1/24 dev lan0
ip addr add 10.4.0.1/32 dev lan0 # still reachable, but 10.4.0.2 is no longer on a local subnet
on client ip route add 10.4.0.1/32 dev e0 2>/dev/null || true
gone=$(wait_for "")
e2e_assert_eq "" "$gone" "its subnet removed: that client is refused again"
e2e_stop dr
e2e_stop dm

# local-service=host: only this host. An interface= line turns local-service off.
printf '%s\n' no-resolv no-hosts server=127.0.0.2 local-service=host >"$E2E_TMP/host.conf"
e2e_spawn drh "$DNSROUTE_BIN" -k -C "$E2E_TMP/host.conf" --port=5355 --user=root --pid-file= \
    --log-facility=- --workers=1
e2e_wait_listen udp 0.0.0.0 5355
e2e_assert_eq 192.0.2.1 "$(e2e_short 127.0.0.1#5355 test.example A)" "host: this host is answered"
e2e_assert_eq none "$(e2e_ask client 10.1.0.1 5355 1)" "host: a client on a connected subnet is not"
printf '%s\n' no-resolv no-hosts server=127.0.0.2 local-service interface=lan0 >"$E2E_TMP/if.conf"
e2e_spawn dri "$DNSROUTE_BIN" -k -C "$E2E_TMP/if.conf" --port=5356 --user=root --pid-file= \
    --log-facility=- --workers=1
e2e_wait_listen udp 10.1.0.1 5356
e2e_assert_eq 192.0.2.1 "$(e2e_ask far 10.1.0.1 5356)" \
    "interface= given: local-service is off, the far client is answered on lan0's address"
