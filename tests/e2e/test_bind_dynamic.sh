#!/usr/bin/env bash
# test_bind_dynamic.sh - bind-dynamic against dnsmasq 2.90 on the same configuration: listeners
# bound per address follow the interfaces through rtnetlink. Topology (namespaces joined by veth
# pairs): this namespace runs the servers; "client" sits behind lan0 and lan1, "other" behind
# wan0, which except-interface= excludes. Checked for both: an address added to lan0 after start is
# served; lan1 deleted and re-created (same name, same address) is served again; an address added
# to wan0 is not, nor a query for lan0's address arriving on wan0. Plain bind-interfaces (both)
# does not pick up the address added later, but an IPv6 address still tentative (duplicate
# address detection) at start is bound once usable.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

on() { e2e_on "$@"; }
e2e_mkns client
e2e_mkns other
veth() # veth LOCAL PEER_NS PEER_NAME LOCAL_ADDR PEER_ADDR
{
    ip link add "$1" type veth peer name "$3" netns "${E2E_NS[$2]}"
    ip link set "$1" up
    on "$2" ip link set "$3" up
    ip addr add "$4/24" dev "$1"
    on "$2" ip addr add "$5/24" dev "$3"
}
veth lan0 client e0 10.1.0.1 10.1.0.2
veth lan1 client e1 10.5.0.1 10.5.0.2
veth wan0 other e0 10.9.0.1 10.9.0.2

V6=0
if ((E2E_HAVE_IPV6)); then
    # Five DAD probes two seconds apart: fd01::1 stays tentative for about ten seconds, long
    # enough for the servers to start on a loaded machine (checked below).
    sysctl -qw net.ipv6.conf.lan0.dad_transmits=5 &&
        sysctl -qw net.ipv6.neigh.lan0.retrans_time_ms=2000 && V6=1
    on client ip -6 addr add fd01::2/64 dev e0 nodad
    ip -6 addr add fd01::1/64 dev lan0
fi
((V6)) || e2e_skip_part "IPv6 (DAD) unavailable in the namespace: the tentative address checks"

printf '%s\n' '* A a 192.0.2.1' >"$E2E_TMP/up.scenario"
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
base=(no-resolv no-hosts server=127.0.0.2 except-interface=wan0)
printf '%s\n' "${base[@]}" bind-dynamic >"$E2E_TMP/dyn.conf"
printf '%s\n' "${base[@]}" bind-interfaces >"$E2E_TMP/bi.conf"
e2e_spawn dr "$DNSROUTE_BIN" -k -C "$E2E_TMP/dyn.conf" --port=5353 --user=root --pid-file= \
    --log-facility=- --workers=2
e2e_spawn dm "$DNSMASQ" -d -C "$E2E_TMP/dyn.conf" --port=5354 --pid-file= --log-facility=-
e2e_spawn dri "$DNSROUTE_BIN" -k -C "$E2E_TMP/bi.conf" --port=5355 --user=root --pid-file= \
    --log-facility=- --workers=1
e2e_spawn dmi "$DNSMASQ" -d -C "$E2E_TMP/bi.conf" --port=5356 --pid-file= --log-facility=-
for p in 5353 5354 5355 5356; do e2e_wait_listen udp 10.1.0.1 $p; done
if ((V6)) && [[ $(ip -6 addr show dev lan0 tentative) != *fd01::1* ]]; then
    V6=0
    e2e_skip_part "fd01::1 finished DAD before the servers started: the tentative checks"
fi

who() { case $1 in 5353 | 5355) echo dnsroute ;; *) echo dnsmasq ;; esac; }
# wait_answer NS SERVER PORT: asks until answered (10 s at most); prints the last answer.
wait_answer()
{
    local got i
    for ((i = 0; i < 100; i++)); do
        got=$(e2e_ask "$@" 1)
        [[ "$got" != none ]] && break
        sleep 0.1
    done
    echo "$got"
}

for p in 5353 5354 5355 5356; do
    e2e_assert_eq 192.0.2.1 "$(e2e_ask client 10.1.0.1 $p)" "$(who $p) $p: lan0 served"
    e2e_assert_eq none "$(e2e_ask other 10.9.0.1 $p 1)" "$(who $p) $p: wan0 (except-interface) not"
done
if ((V6)); then
    for p in 5353 5354 5355 5356; do
        e2e_assert_eq 192.0.2.1 "$(wait_answer client fd01::1 $p)" \
            "$(who $p) $p: fd01::1, tentative at start, served once usable"
    done
fi

# ---- a query for lan0's address arriving on wan0: bind-dynamic checks the arrival interface
# (dnsmasq receive_query's iface_check), bind-interfaces only the address (IPv4).
on other ip route add 10.1.0.1/32 dev e0
for p in 5353 5354; do
    e2e_assert_eq none "$(e2e_ask other 10.1.0.1 $p 1)" "$(who $p) bind-dynamic: arrived on wan0, dropped"
done
for p in 5355 5356; do
    e2e_assert_eq 192.0.2.1 "$(e2e_ask other 10.1.0.1 $p)" \
        "$(who $p) bind-interfaces: arrived on wan0, answered (bound address only)"
done
on other ip route del 10.1.0.1/32 dev e0

# ---- an address added after start: bind-dynamic serves it, bind-interfaces does not
# dnsmasq with bind-interfaces binds every usable address again on each turn of its loop while
# any listener still waits for duplicate address detection (dnsmasq.c: is_dad_listeners ->
# create_bound_listeners), so an address added then would be bound too (a link-local address
# still tentative did that once). Wait until no address here is tentative, then wake both
# bind-interfaces servers once so that they have seen it.
for ((i = 0; i < 300; i++)); do
    [[ -z $(ip -6 addr show tentative 2>/dev/null) ]] && break
    sleep 0.1
done
[[ -z $(ip -6 addr show tentative 2>/dev/null) ]] ||
    e2e_fail "addresses still tentative after 30 s: $(ip -6 -br addr show tentative)"
for p in 5355 5356; do e2e_ask client 10.1.0.1 $p >/dev/null; done
# One on the excluded wan0 first: once the lan0 address (added after it) is served, the table
# the servers read held both, so the wan0 check below cannot pass early.
ip addr add 10.9.1.1/24 dev wan0
on other ip addr add 10.9.1.2/24 dev e0
ip addr add 10.1.1.1/24 dev lan0
on client ip addr add 10.1.1.2/24 dev e0
for p in 5353 5354; do
    e2e_assert_eq 192.0.2.1 "$(wait_answer client 10.1.1.1 $p)" \
        "$(who $p) bind-dynamic: an address added after start is served"
    e2e_assert_eq none "$(e2e_ask other 10.9.1.1 $p 1)" \
        "$(who $p) bind-dynamic: an address added to the excluded wan0 is not"
done
# The bind-dynamic servers saw the change; the bind-interfaces ones ignore it.
for p in 5355 5356; do
    e2e_assert_eq none "$(e2e_ask client 10.1.1.1 $p 1)" \
        "$(who $p) bind-interfaces: the address added after start is not served"
done

# ---- lan1 goes away and comes back with the same name and address
ip link del lan1
for p in 5353 5354; do
    e2e_assert_eq none "$(e2e_ask client 10.5.0.1 $p 1)" "$(who $p): lan1 deleted, not served"
done
veth lan1 client e1 10.5.0.1 10.5.0.2
for p in 5353 5354; do
    e2e_assert_eq 192.0.2.1 "$(wait_answer client 10.5.0.1 $p)" \
        "$(who $p) bind-dynamic: lan1 re-created is served again"
done
# Sockets read whole before grep: `ss | grep -q` under pipefail fails when grep exits early.
bound=$(ss -Hlnu "sport = :5353" | awk '{print $4}')
grep -q '^10\.5\.0\.1:5353$' <<<"$bound" ||
    e2e_fail "dnsroute does not listen on 10.5.0.1 any more"
if grep -q '^10\.9\.' <<<"$bound"; then
    e2e_fail "dnsroute listens on an address of the excluded wan0"
fi
e2e_ok "dnsroute's sockets: lan1's address bound again, none on wan0"

# ---- the address removed: its listener is closed (dnsmasq release_listener)
ip addr del 10.1.1.1/24 dev lan0
closed=0
for ((i = 0; i < 100; i++)); do
    bound=$(ss -Hlnu "sport = :5353" | awk '{print $4}')
    grep -q '^10\.1\.1\.1:' <<<"$bound" || { closed=1; break; }
    sleep 0.1
done
e2e_assert_eq 1 "$closed" "dnsroute: the listener of a removed address is closed"

for n in dr dm dri dmi; do e2e_alive $n || e2e_fail "$n died"; done
e2e_ok "every server still runs"
e2e_stop dr
e2e_stop dri
