#!/usr/bin/env bash
# test_listen_select.sh - issue 10, who may ask: except-interface= alone (every interface but
# those) and a trailing '*' in interface= (eth* style wildcard) select the same interfaces as
# dnsmasq 2.90 on the same configuration. This namespace runs both servers; "lan" sits on lan0's
# subnet, "wan" on wan0's; each asks the server's address on its own link.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

on() { e2e_on "$@"; }
# No duplicate address detection on the new links: a tentative fe80:: address cannot be bound
# yet, and dnsroute binds every address of the selected interfaces at start.
sysctl -qw net.ipv6.conf.default.accept_dad=0
e2e_mkns lan; e2e_mkns wan
ip link add lan0 type veth peer name e0 netns "${E2E_NS[lan]}"
ip link add wan0 type veth peer name e0 netns "${E2E_NS[wan]}"
ip link set lan0 up; ip link set wan0 up
on lan ip link set e0 up; on wan ip link set e0 up
ip addr add 10.1.0.1/24 dev lan0; on lan ip addr add 10.1.0.2/24 dev e0
ip addr add 10.5.0.1/24 dev wan0; on wan ip addr add 10.5.0.2/24 dev e0

printf '%s\n' '* A a 192.0.2.1' >"$E2E_TMP/up.scenario"
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53


# secs WANT: how long e2e_ask waits when WANT is expected (1 s for "none", 3 s for an answer).
secs() { if [[ $1 == none ]]; then echo 1; else echo 3; fi; }
# check NAME LINE: runs both servers on "no-resolv no-hosts server=127.0.0.2 LINE" and compares
# what the lan and wan clients and this host get.
port=5353
check()
{
    local name=$1 line=$2 conf="$E2E_TMP/$1.conf" who p
    printf '%s\n' no-resolv no-hosts server=127.0.0.2 "$line" >"$conf"
    e2e_spawn "dr_$name" "$DNSROUTE_BIN" -k -C "$conf" --port=$port --user=root --pid-file= \
        --log-facility=- --workers=1
    e2e_spawn "dm_$name" "$DNSMASQ" -d -C "$conf" --port=$((port + 1)) --pid-file= --log-facility=-
    e2e_wait_listen udp 127.0.0.1 $port
    e2e_wait_listen udp 0.0.0.0 $((port + 1))
    for p in $port $((port + 1)); do
        who=dnsroute; [[ $p != "$port" ]] && who=dnsmasq
        e2e_assert_eq "$3" "$(e2e_ask lan 10.1.0.1 $p "$(secs "$3")")" "$name/$who: the lan client"
        e2e_assert_eq "$4" "$(e2e_ask wan 10.5.0.1 $p "$(secs "$4")")" "$name/$who: the wan client"
        e2e_assert_eq 192.0.2.1 "$(e2e_short 127.0.0.1#$p test.example A)" "$name/$who: this host"
    done
    e2e_stop "dr_$name"
    e2e_stop "dm_$name"
    port=$((port + 2))
}
check except except-interface=wan0 192.0.2.1 none
check except_wild 'except-interface=wa*' 192.0.2.1 none
check wild 'interface=la*' 192.0.2.1 none
check both 'interface=*' 192.0.2.1 192.0.2.1
