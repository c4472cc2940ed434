#!/usr/bin/env bash
# test_policy_route.sh - the whole policy-routing setup, end to end, in network namespaces:
# dnsroute with conf/policy-routing.conf plus conf/policy-route.sh on a client host with two
# uplinks. China-list traffic must leave through "isp" with the isp-side source address and get
# its replies; the rest through "vpn"; each of the two pitfalls is shown by undoing its fix; IPv4
# and IPv6; nftables and iptables variants; down restores rules, routes, sets and sysctls exactly.
#
# Topology (all inside the test's private namespace; the routers and the "internet" are nested
# `unshare -n` namespaces held by a sleeping process, joined with nsenter):
#
#   client (test ns)                 rvpn                        net ("internet")
#     vpn0 10.8.0.2  fd08::2  ---- c0 10.8.0.1 / i0 192.0.2.1 ---- v0 192.0.2.2     lo: 203.0.113.10
#          default route                                                                  2001:db8:cc::10
#     isp0 10.9.0.2  fd09::2  ---- c0 10.9.0.1 / i0 192.0.2.5 ---- i0 192.0.2.6         198.51.100.20
#     lo: dnsroute :53, fake upstreams    risp                                          2001:db8:ff::20
#     lan0 192.168.50.1 fd50::1 ---- lan: e0 192.168.50.2 fd50::2 (a LAN host: forwarded traffic)
#
# The routers do not NAT, so the far server sees the client's own source address; it answers
# every TCP connection and UDP datagram with that address (pr_echo.py). Counters in each router's
# forward hook show which way a packet went and whether the reply was forwarded back.
# e2e-timeout: 900
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_nft
e2e_require_ipset
command -v python3 >/dev/null || e2e_skip "python3 not found"
command -v nsenter >/dev/null || e2e_skip "nsenter not found"
[[ "$E2E_HAVE_IPV6" == 1 ]] || e2e_skip "IPv6 unavailable"

SCRIPT="$DNSROUTE_SOURCE_DIR/conf/policy-route.sh"
DRCONF="$DNSROUTE_SOURCE_DIR/conf/policy-routing.conf"
ECHO="$E2E_LIB_DIR/pr_echo.py"
PORT=7007
CN4=203.0.113.10 CN6=2001:db8:cc::10 FOREIGN4=198.51.100.20 FOREIGN6=2001:db8:ff::20
STATE_DIR="$E2E_TMP/state"
PR=(bash "$SCRIPT" --uplink isp0 --gateway 10.9.0.1 --gateway6 fd09::1 --state-dir "$STATE_DIR")

# ---- topology --------------------------------------------------------------------------------

# link A_DEV B_NS B_DEV: a veth pair from this namespace's A_DEV to B_DEV in B_NS.
link() { ip link add "$1" type veth peer name "$3" netns "${E2E_NS[$2]}"; ip link set "$1" up; e2e_on "$2" ip link set "$3" up; }
# addr NS DEV ADDR...: addresses without duplicate address detection.
addr()
{
    local n=$1 d=$2 a
    shift 2
    for a; do
        if [[ $a == *:* ]]; then e2e_on "$n" ip addr add "$a" dev "$d" nodad; else e2e_on "$n" ip addr add "$a" dev "$d"; fi
    done
}

for r in rvpn risp net lan; do e2e_mkns $r; done
# a LAN host behind the client (its traffic is forwarded: the prerouting mark)
link lan0 lan e0
ip addr add 192.168.50.1/24 dev lan0; ip addr add fd50::1/64 dev lan0 nodad
addr lan e0 192.168.50.2/24 fd50::2/64
e2e_on lan ip route add default via 192.168.50.1; e2e_on lan ip -6 route add default via fd50::1
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# client <-> routers (created here, one end moved into the router)
link vpn0 rvpn c0
link isp0 risp c0
ip addr add 10.8.0.2/24 dev vpn0; ip addr add fd08::2/64 dev vpn0 nodad
ip addr add 10.9.0.2/24 dev isp0; ip addr add fd09::2/64 dev isp0 nodad
ip route add default via 10.8.0.1 dev vpn0
ip -6 route add default via fd08::1 dev vpn0
addr rvpn c0 10.8.0.1/24 fd08::1/64
addr risp c0 10.9.0.1/24 fd09::1/64
# routers <-> internet (veth made in the router, other end moved into net)
e2e_on rvpn ip link add i0 type veth peer name v0 netns "${E2E_NS[net]}"
e2e_on risp ip link add i0 type veth peer name i0 netns "${E2E_NS[net]}"
e2e_on rvpn ip link set i0 up; e2e_on risp ip link set i0 up; e2e_on net ip link set v0 up; e2e_on net ip link set i0 up
addr rvpn i0 192.0.2.1/30 2001:db8:8::1/64
addr risp i0 192.0.2.5/30 2001:db8:9::1/64
addr net v0 192.0.2.2/30 2001:db8:8::2/64
addr net i0 192.0.2.6/30 2001:db8:9::2/64
e2e_on rvpn ip route add default via 192.0.2.2; e2e_on rvpn ip -6 route add default via 2001:db8:8::2
e2e_on risp ip route add default via 192.0.2.6; e2e_on risp ip -6 route add default via 2001:db8:9::2
for r in rvpn risp; do
    e2e_on $r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done
addr net lo $CN4/32 $FOREIGN4/32 $CN6/128 $FOREIGN6/128
e2e_on net ip route add 10.8.0.0/24 via 192.0.2.1; e2e_on net ip -6 route add fd08::/64 via 2001:db8:8::1
e2e_on net ip route add 10.9.0.0/24 via 192.0.2.5; e2e_on net ip -6 route add fd09::/64 via 2001:db8:9::1

# Counters in each router's forward hook: "up" = client to server, "down" = server to client;
# for TCP only the SYN and the SYN-ACK (a connection's teardown may still be in flight when the
# next exchange starts).
for r in rvpn risp; do
    e2e_on $r nft -f - <<EOF
table inet t {
    counter up_tcp {}
    counter up_udp {}
    counter down_tcp {}
    counter down_udp {}
    chain watch {
        type filter hook forward priority 0; policy accept;
        iifname "c0" tcp dport $PORT tcp flags & (syn | ack) == syn counter name up_tcp
        iifname "c0" udp dport $PORT counter name up_udp
        oifname "c0" tcp sport $PORT tcp flags & (syn | ack) == syn | ack counter name down_tcp
        oifname "c0" udp sport $PORT counter name down_udp
    }
}
EOF
done
# cnt ROUTER COUNTER: packets so far.
cnt() { e2e_on "$1" nft list counter inet t "$2" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# nsenter execs python3: the recorded pid is the server's own, so the cleanup ends it (a shell
# function here would leave the server running after the test).
e2e_spawn srv nsenter -t "${E2E_NS[net]}" -n python3 "$ECHO" serve $PORT $CN4 $FOREIGN4 $CN6 $FOREIGN6
for ((i = 0; i < 100; i++)); do grep -q ready "$E2E_TMP/srv.err" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$E2E_TMP/srv.err" || e2e_fail "echo server did not start"

# Sanity: without policy routing everything goes through the VPN, with the VPN address (IPv6
# needs a moment for the routers' link-local addresses and neighbour discovery).
for ((i = 0; i < 20; i++)); do
    [[ "$(python3 "$ECHO" ask udp $CN4 $PORT 0.5)" == 10.8.0.2 &&
       "$(python3 "$ECHO" ask udp $CN6 $PORT 0.5)" == fd08::2 ]] && break
    sleep 0.2
done
[[ "$(python3 "$ECHO" ask tcp $CN4 $PORT)" == 10.8.0.2 ]] || e2e_fail "topology: $CN4 not reachable via vpn"
[[ "$(python3 "$ECHO" ask tcp $CN6 $PORT)" == fd08::2 ]] || e2e_fail "topology: $CN6 not reachable via vpn"
e2e_ok "topology: both servers reachable, default route through vpn"

# ---- helpers -----------------------------------------------------------------------------------

# Called by e2e_fail: what decides which way a packet went (conntrack entries with their marks,
# the client's rules, routes and ruleset, the sets, each router's counters) and what the far
# server saw.
e2e_on_fail()
{
    local r
    echo "-- conntrack -L (client)"
    if command -v conntrack >/dev/null; then conntrack -L 2>&1; else echo "conntrack(8) not installed"; fi
    echo "-- ip rule / ip -6 rule"; ip -4 rule; ip -6 rule
    echo "-- routes (all tables)"; ip -4 route show table all; ip -6 route show table all
    echo "-- nft list ruleset (client)"; nft list ruleset 2>&1
    echo "-- iptables-save / ip6tables-save (client)"; iptables-save 2>&1; ip6tables-save 2>&1
    echo "-- ipset list (client)"; ipset list 2>&1
    for r in rvpn risp; do
        echo "-- $r counters"; e2e_on $r nft list table inet t 2>&1 | grep -E 'counter|packets'
    done
    echo "-- the far server's log"; tail -n 20 "$E2E_TMP/srv.err" 2>&1
}

XCHG=0
FROM=()     # where exchange runs its client: () = the client host, (e2e_on lan) = the LAN host
# exchange PROTO ADDR WANT_REPLY OUT_ROUTER BACK_ROUTER WHAT: one exchange from the client; the
# reply must be WANT_REPLY (the address the far server saw, or TIMEOUT); the request must have
# been forwarded by OUT_ROUTER only, and the reply (when one was sent) by BACK_ROUTER.
exchange()
{
    local proto=$1 dst=$2 want=$3 out=$4 back=$5 what=$6 r got
    declare -A b=()
    for r in rvpn risp; do b[$r.up]=$(cnt $r up_$proto); b[$r.down]=$(cnt $r down_$proto); done
    XCHG=$((XCHG + 1))      # a fresh source port each time: never an old conntrack entry
    got=$("${FROM[@]}" python3 "$ECHO" ask "$proto" "$dst" $PORT 1.5 $((20000 + XCHG)) || true)
    e2e_assert_eq "$want" "$got" "$what: $proto to $dst: server saw / reply"
    local other=rvpn
    [[ $out == rvpn ]] && other=risp
    e2e_assert_ge $((b[$out.up] + 1)) "$(cnt $out up_$proto)" "$what: request forwarded by $out"
    e2e_assert_eq "${b[$other.up]}" "$(cnt $other up_$proto)" "$what: nothing forwarded by $other"
    e2e_assert_ge $((b[$back.down] + 1)) "$(cnt $back down_$proto)" "$what: reply forwarded back by $back"
}

# snapshot: everything up/down may touch, in a comparable form.
snapshot()
{
    ip -4 rule; ip -6 rule
    ip -4 route show table all; ip -6 route show table all
    nft list ruleset 2>/dev/null | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'
    iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
    ip6tables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
    ipset list -n
    local f
    for f in /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/ipv4/conf/*/src_valid_mark; do
        echo "$f $(<"$f")"
    done
}

rpf_drops() { awk '/^TcpExt:/ { if (!h) { split($0, k); h = 1 } else { split($0, v); for (i in k) if (k[i] == "IPReversePathFilter") print v[i] } }' /proc/net/netstat; }

# ---- DNS: the shipped configuration, china list on 114.114.114.114/223.5.5.5 -------------------

e2e_add_addr 223.5.5.5/32
cat >"$E2E_TMP/up.scenario" <<EOF
www.baidu.com    A     a $CN4
www.baidu.com    AAAA  aaaa $CN6
www.example.org  A     a $FOREIGN4
www.example.org  AAAA  aaaa $FOREIGN6
EOF
e2e_start_fake up "$E2E_TMP/up.scenario" 114.114.114.114#53 223.5.5.5#53 127.0.0.1#5353
# The shipped file as it is (e2e_start_dnsroute gives the listen address), and the nft variant:
# its nftset= line instead of the ipset= line.
sed -e '/^listen-address=/d' "$DRCONF" >"$E2E_TMP/ipset.conf"
sed -e 's/^ipset=/#ipset=/' -e 's/^#nftset=/nftset=/' "$E2E_TMP/ipset.conf" >"$E2E_TMP/nft.conf"
grep -q '^nftset=/baidu.com/.*inet#dnsroute_pr#china4' "$E2E_TMP/nft.conf" ||
    e2e_fail "conf/policy-routing.conf: no nftset= line for the script's table"

# ---- one variant -------------------------------------------------------------------------------

run_variant()
{
    local fw=$1 conf=$2 before after n
    e2e_log "==== variant: $fw"
    before=$(snapshot)
    "${PR[@]}" --firewall "$fw" up >/dev/null
    n=$(wc -l <"$STATE_DIR/dnsroute_pr.undo")
    local mid
    mid=$(snapshot)
    "${PR[@]}" --firewall "$fw" up >/dev/null
    e2e_assert_eq "$mid" "$(snapshot)" "$fw: a second up changes nothing"
    e2e_assert_eq "$n" "$(wc -l <"$STATE_DIR/dnsroute_pr.undo")" "$fw: a second up records nothing more"
    "${PR[@]}" --firewall "$fw" status >"$E2E_TMP/status" || e2e_fail "$fw: status after up: $(cat "$E2E_TMP/status")"
    e2e_ok "$fw: status reports everything in place"

    e2e_start_dnsroute "dr_$fw" 53 "$conf" --pid-file= --user=root
    if [[ $fw == nft ]]; then
        has() { e2e_nftset_has inet dnsroute_pr "$@"; }
    else
        has() { e2e_ipset_has "$@"; }
    fi
    has china4 $CN4 && e2e_fail "$CN4 in china4 before any query"
    e2e_assert_eq "$CN4" "$(e2e_short 127.0.0.1#53 www.baidu.com A)" "$fw: china name A"
    e2e_assert_eq "$CN6" "$(e2e_short 127.0.0.1#53 www.baidu.com AAAA)" "$fw: china name AAAA"
    e2e_assert_eq "$FOREIGN4" "$(e2e_short 127.0.0.1#53 www.example.org A)" "$fw: other name A"
    e2e_assert_eq "$FOREIGN6" "$(e2e_short 127.0.0.1#53 www.example.org AAAA)" "$fw: other name AAAA"
    has china4 $CN4 || e2e_fail "$fw: $CN4 not in china4"
    has china6 $CN6 || e2e_fail "$fw: $CN6 not in china6"
    e2e_ok "$fw: china answers are in china4/china6"
    has china4 $FOREIGN4 && e2e_fail "$fw: $FOREIGN4 in china4"
    has china6 $FOREIGN6 && e2e_fail "$fw: $FOREIGN6 in china6"
    e2e_ok "$fw: other answers are not"

    local p
    for p in tcp udp; do
        exchange $p $CN4 10.9.0.2 risp risp "$fw: china v4"
        exchange $p $CN6 fd09::2 risp risp "$fw: china v6"
        exchange $p $FOREIGN4 10.8.0.2 rvpn rvpn "$fw: other v4"
        exchange $p $FOREIGN6 fd08::2 rvpn rvpn "$fw: other v6"
    done

    # Forwarded traffic from the LAN host: marked in prerouting, masqueraded on isp0.
    FROM=(e2e_on lan)
    for p in tcp udp; do
        exchange $p $CN4 10.9.0.2 risp risp "$fw: LAN host, china v4"
        exchange $p $CN6 fd09::2 risp risp "$fw: LAN host, china v6"
    done
    FROM=()

    # Pitfall 1: without the NAT rule the packet still leaves by isp, but with the VPN's source
    # address (chosen by the first route lookup, before the mark): the far server sees 10.8.0.2
    # and answers it through the VPN - on a real ISP link it would be dropped as spoofed.
    if [[ $fw == nft ]]; then
        nft flush chain inet dnsroute_pr postrouting
    else
        iptables -t nat -F dnsroute_pr_nat; ip6tables -t nat -F dnsroute_pr_nat
    fi
    "${PR[@]}" --firewall "$fw" status >/dev/null && e2e_fail "$fw: status did not notice the missing NAT"
    for p in tcp udp; do
        exchange $p $CN4 10.8.0.2 risp rvpn "$fw: pitfall 1 (no NAT) v4"
        exchange $p $CN6 fd08::2 risp rvpn "$fw: pitfall 1 (no NAT) v6"
    done
    "${PR[@]}" --firewall "$fw" up >/dev/null          # idempotent up repairs it
    "${PR[@]}" --firewall "$fw" status >/dev/null || e2e_fail "$fw: up did not repair the NAT"
    e2e_assert_eq "$n" "$(wc -l <"$STATE_DIR/dnsroute_pr.undo")" "$fw: the repair recorded nothing more"
    exchange udp $CN4 10.9.0.2 risp risp "$fw: NAT back after up"

    # Pitfall 2: strict reverse-path filter on isp0. The reply is forwarded back by risp but
    # dropped on arrival: the route back to $CN4 goes through vpn0, not isp0.
    local d0
    d0=$(rpf_drops)
    echo 1 >/proc/sys/net/ipv4/conf/isp0/rp_filter
    exchange udp $CN4 TIMEOUT risp risp "$fw: pitfall 2 (rp_filter=1)"
    exchange tcp $CN4 TIMEOUT risp risp "$fw: pitfall 2 (rp_filter=1)"
    FROM=(e2e_on lan)
    exchange udp $CN4 TIMEOUT risp risp "$fw: pitfall 2 (rp_filter=1), LAN host"
    FROM=()
    e2e_assert_ge $((d0 + 3)) "$(rpf_drops)" "$fw: pitfall 2: IPReversePathFilter drops counted"
    echo 2 >/proc/sys/net/ipv4/conf/isp0/rp_filter
    exchange tcp $CN4 10.9.0.2 risp risp "$fw: rp_filter=2 again"

    e2e_stop "dr_$fw"
    "${PR[@]}" --firewall "$fw" down >/dev/null
    "${PR[@]}" --firewall "$fw" status >/dev/null && e2e_fail "$fw: status says up after down"
    after=$(snapshot)
    if [[ "$before" != "$after" ]]; then
        diff <(echo "$before") <(echo "$after") >&2 || true
        e2e_fail "$fw: down did not restore the state before up"
    fi
    e2e_ok "$fw: down restores rules, routes, ruleset, sets and sysctls exactly"
    [[ ! -e "$STATE_DIR/dnsroute_pr.undo" ]] || e2e_fail "$fw: undo list left behind"
    "${PR[@]}" --firewall "$fw" down >/dev/null
    e2e_assert_eq "$before" "$(snapshot)" "$fw: a second down changes nothing"
    exchange udp $CN4 10.8.0.2 rvpn rvpn "$fw: after down, china traffic through vpn again"
}

# The host's own state the script must leave alone: a strict rp_filter default on every
# interface, an unrelated rule and route, and (iptables) a host firewall already in place.
echo 1 >/proc/sys/net/ipv4/conf/all/rp_filter
echo 1 >/proc/sys/net/ipv4/conf/isp0/rp_filter
ip rule add pref 200 to 192.0.2.128/25 lookup main
ip route add 192.0.2.200/32 via 10.9.0.1 table 101

run_variant nft "$E2E_TMP/nft.conf"
for ipt in iptables ip6tables; do
    $ipt -t mangle -A PREROUTING -i lo -j RETURN
    $ipt -t mangle -A OUTPUT -o lo -j RETURN
    $ipt -t nat -A POSTROUTING -o lo -j RETURN
done
run_variant iptables "$E2E_TMP/ipset.conf"
e2e_stop up
