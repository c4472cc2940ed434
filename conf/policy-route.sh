#!/usr/bin/env bash
# policy-route.sh - the kernel side of dnsroute's policy routing: traffic to the addresses dnsroute
# puts into the sets leaves through another uplink (the china-list case: everything goes through
# the VPN, the addresses of china-list names go straight out through the ISP).
#
#     policy-route.sh [OPTIONS] up|down|status
#
# up (idempotent: run it again after a change, nothing is added twice):
#   1. the sets: an nftables table "inet NAME" with sets SET4/SET6 (--firewall nft), or ipsets
#      SET4/SET6 (--firewall iptables);
#   2. the mark: packets to an address in the sets get fwmark MARK, in prerouting (forwarded
#      traffic from the LAN) and in output (this host's own traffic, re-routed after marking);
#   3. the route: table TABLE gets "default via GATEWAY dev UPLINK", and "ip rule fwmark MARK
#      lookup TABLE" sends the marked packets there (IPv4 and, unless --no-ipv6, IPv6);
#   4. the NAT: marked packets leaving UPLINK are masqueraded (pitfall 1: this host's own packets
#      chose their source address, the VPN's, before they were marked and re-routed);
#   5. rp_filter=2 (loose) on UPLINK (pitfall 2: the strict check drops the replies, because the
#      route back to their source goes through the VPN, not through the interface they arrive on).
# Each step that changes something appends its undo to the state file; down runs those undo
# lines in reverse order and removes the file, so it removes exactly what up added.
# status shows what is in place; exit 0 when everything is, 3 when not.
set -euo pipefail

usage()
{
    cat <<EOF
usage: ${0##*/} [OPTIONS] up|down|status

  -i, --uplink DEV        the interface the marked traffic leaves by (required for up)
  -g, --gateway ADDR      IPv4 gateway on DEV (none: "default dev DEV", for point-to-point links)
  -G, --gateway6 ADDR     IPv6 gateway on DEV (none: "default dev DEV")
      --no-ipv6           IPv4 only: no IPv6 set, mark, route, rule or NAT
  -s, --set4 NAME         IPv4 set (default china4)
  -S, --set6 NAME         IPv6 set (default china6)
  -f, --firewall KIND     nft: nftables table "inet NAME" holding the sets and the rules
                          iptables: ipsets, iptables/ip6tables chains named NAME and NAME_nat
                          (default nft)
  -m, --mark MARK         fwmark bit(s) for the routed traffic (default 0x1; only these bits are
                          set and tested, other users of the mark keep theirs)
  -t, --table NUM         routing table number (default 100)
  -p, --priority NUM      priority of the ip rule (default 100: before wg-quick's and main's)
  -n, --name NAME         nftables table / iptables chain name (default dnsroute_pr)
      --set-timeout SEC   default timeout of the sets' elements (default 3600; dnsroute gives
                          each address its own, from the answer's TTL)
      --state-dir DIR     where the undo list lives (default /run/dnsroute-policy-route)
  -h, --help

Every option also comes from the environment (for a systemd EnvironmentFile): PR_UPLINK,
PR_GATEWAY, PR_GATEWAY6, PR_IPV6=0, PR_SET4, PR_SET6, PR_FIREWALL, PR_MARK, PR_TABLE,
PR_PRIORITY, PR_NAME, PR_SET_TIMEOUT, PR_STATE_DIR.

Example: ${0##*/} -i eth0 -g 192.168.1.1 -G fe80::1 up
EOF
}

UPLINK=${PR_UPLINK:-}
GW4=${PR_GATEWAY:-}
GW6=${PR_GATEWAY6:-}
IPV6=${PR_IPV6:-1}
SET4=${PR_SET4:-china4}
SET6=${PR_SET6:-china6}
FW=${PR_FIREWALL:-nft}
MARK=${PR_MARK:-0x1}
TABLE=${PR_TABLE:-100}
PRIO=${PR_PRIORITY:-100}
NAME=${PR_NAME:-dnsroute_pr}
TIMEOUT=${PR_SET_TIMEOUT:-3600}
STATE_DIR=${PR_STATE_DIR:-/run/dnsroute-policy-route}

die() { echo "${0##*/}: $*" >&2; exit 2; }

ACTION=
while (($#)); do
    case $1 in
    -i | --uplink) UPLINK=${2:?}; shift ;;
    -g | --gateway) GW4=${2:?}; shift ;;
    -G | --gateway6) GW6=${2:?}; shift ;;
    --no-ipv6) IPV6=0 ;;
    -s | --set4) SET4=${2:?}; shift ;;
    -S | --set6) SET6=${2:?}; shift ;;
    -f | --firewall) FW=${2:?}; shift ;;
    -m | --mark) MARK=${2:?}; shift ;;
    -t | --table) TABLE=${2:?}; shift ;;
    -p | --priority) PRIO=${2:?}; shift ;;
    -n | --name) NAME=${2:?}; shift ;;
    --set-timeout) TIMEOUT=${2:?}; shift ;;
    --state-dir) STATE_DIR=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    up | down | status) ACTION=$1 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift
done
[[ -n "$ACTION" ]] || { usage >&2; exit 2; }
[[ "$FW" == nft || "$FW" == iptables ]] || die "--firewall must be nft or iptables, not '$FW'"
[[ "$NAME" =~ ^[A-Za-z][A-Za-z0-9_]{0,23}$ ]] || die "bad --name '$NAME'"
[[ "$TABLE" =~ ^[0-9]+$ && "$PRIO" =~ ^[0-9]+$ && "$TIMEOUT" =~ ^[0-9]+$ ]] ||
    die "--table, --priority and --set-timeout take numbers"
MARK=$(printf '0x%x' "$MARK" 2>/dev/null) || die "bad --mark"
((MARK != 0)) || die "--mark must not be 0"
STATE="$STATE_DIR/$NAME.undo"
FAMILIES=(4)
[[ "$IPV6" == 0 ]] || FAMILIES+=(6)

# ---- the undo list -------------------------------------------------------------------------

# undo WORD...: remember how to take back the step just done (one line, run by down in reverse).
undo()
{
    mkdir -p "$STATE_DIR"
    echo "$*" >>"$STATE"
}

# run_undo LINE: one undo line; only the commands this script writes are accepted.
run_undo()
{
    local -a w
    read -ra w <<<"$1"
    case ${w[0]:-} in
    sysctl) { echo "${w[2]}" >"${w[1]}"; } 2>/dev/null || echo "${0##*/}: failed: $1" >&2 ;;
    ip | nft | iptables | ip6tables | ipset) "${w[@]}" || echo "${0##*/}: failed: $1" >&2 ;;
    *) echo "${0##*/}: ignoring unknown undo line: $1" >&2 ;;
    esac
}

# ---- up --------------------------------------------------------------------------------------

# The nftables table: sets, mark chains and NAT chain. Rules are flushed and re-added in one
# transaction, so a second "up" changes nothing and a changed option replaces the old rules.
nft_up()
{
    nft list table inet "$NAME" >/dev/null 2>&1 || undo nft delete table inet "$NAME"
    local f rules="" m="meta mark set meta mark or $MARK"
    rules+="table inet $NAME {"$'\n'
    rules+="  set $SET4 { type ipv4_addr; flags timeout; timeout ${TIMEOUT}s; }"$'\n'
    [[ "$IPV6" == 0 ]] ||
        rules+="  set $SET6 { type ipv6_addr; flags timeout; timeout ${TIMEOUT}s; }"$'\n'
    rules+="  chain prerouting { type filter hook prerouting priority mangle; policy accept; }"$'\n'
    rules+="  chain output { type route hook output priority mangle; policy accept; }"$'\n'
    rules+="  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }"$'\n'
    rules+="}"$'\n'
    for f in prerouting output postrouting; do
        rules+="flush chain inet $NAME $f"$'\n'
    done
    for f in prerouting output; do
        rules+="add rule inet $NAME $f ip daddr @$SET4 $m"$'\n'
        [[ "$IPV6" == 0 ]] || rules+="add rule inet $NAME $f ip6 daddr @$SET6 $m"$'\n'
    done
    if [[ "$IPV6" == 0 ]]; then
        rules+="add rule inet $NAME postrouting meta nfproto ipv4 oifname \"$UPLINK\""
    else
        rules+="add rule inet $NAME postrouting oifname \"$UPLINK\""
    fi
    rules+=" meta mark and $MARK == $MARK masquerade"$'\n'
    nft -f - <<<"$rules"
}

# ipsets plus our own chains in the mangle and nat tables, hooked in by one jump each.
iptables_up()
{
    local f ipt set family chain hook
    for f in "${FAMILIES[@]}"; do
        if [[ $f == 4 ]]; then ipt=iptables set=$SET4 family=inet; else ipt=ip6tables set=$SET6 family=inet6; fi
        if ! ipset list -n "$set" >/dev/null 2>&1; then
            ipset create "$set" hash:ip family "$family" timeout "$TIMEOUT"
            undo ipset destroy "$set"
        fi
        for chain in "mangle $NAME" "nat ${NAME}_nat"; do
            set -- $chain
            if ! "$ipt" -t "$1" -nL "$2" >/dev/null 2>&1; then
                "$ipt" -t "$1" -N "$2"
                undo "$ipt" -t "$1" -X "$2"
                undo "$ipt" -t "$1" -F "$2"
            fi
            "$ipt" -t "$1" -F "$2"
        done
        "$ipt" -t mangle -A "$NAME" -m set --match-set "$set" dst -j MARK --or-mark "$MARK"
        "$ipt" -t nat -A "${NAME}_nat" -o "$UPLINK" -m mark --mark "$MARK/$MARK" -j MASQUERADE
        for hook in "mangle PREROUTING $NAME" "mangle OUTPUT $NAME" "nat POSTROUTING ${NAME}_nat"; do
            set -- $hook
            if ! "$ipt" -t "$1" -C "$2" -j "$3" 2>/dev/null; then
                "$ipt" -t "$1" -I "$2" -j "$3"
                undo "$ipt" -t "$1" -D "$2" -j "$3"
            fi
        done
    done
}

# The routing table's default route via the uplink, and the rule sending marked packets there.
route_up()
{
    local f gw route
    for f in "${FAMILIES[@]}"; do
        if [[ $f == 4 ]]; then gw=$GW4; else gw=$GW6; fi
        route=(default ${gw:+via "$gw"} dev "$UPLINK" table "$TABLE")
        if [[ -z "$(ip -$f route show table "$TABLE" exact default 2>/dev/null)" ]]; then
            ip -$f route add "${route[@]}"
            undo ip -$f route del "${route[@]}"
        elif grep -qxF "ip -$f route del ${route[*]}" "$STATE" 2>/dev/null; then
            ip -$f route replace "${route[@]}"          # ours: follow a changed gateway
        else
            die "table $TABLE already has an IPv$f default route not made by ${0##*/}: " \
                "$(ip -$f route show table "$TABLE" exact default)"
        fi
        if [[ -z "$(ip -N -$f rule show pref "$PRIO" fwmark "$MARK/$MARK" table "$TABLE")" ]]; then
            ip -$f rule add pref "$PRIO" fwmark "$MARK/$MARK" table "$TABLE"
            undo ip -$f rule del pref "$PRIO" fwmark "$MARK/$MARK" table "$TABLE"
        fi
    done
}

# Loose reverse-path filter on the uplink. The kernel uses max(conf/all, conf/UPLINK), and 2 is
# the highest value, so setting it on the uplink alone is enough, whatever conf/all says.
rp_filter_up()
{
    local p=/proc/sys/net/ipv4/conf/$UPLINK/rp_filter old
    old=$(<"$p")
    if [[ "$old" != 2 ]]; then
        echo 2 >"$p"
        undo sysctl "$p" "$old"
    fi
}

do_up()
{
    [[ -n "$UPLINK" ]] || die "--uplink is required"
    ip link show dev "$UPLINK" >/dev/null 2>&1 || die "no interface '$UPLINK'"
    # The mark first, NAT in the same step: traffic is never routed by the mark without NAT.
    if [[ "$FW" == nft ]]; then nft_up; else iptables_up; fi
    route_up
    rp_filter_up
    local sets=$SET4
    [[ "$IPV6" == 0 ]] || sets+=" $SET6"
    echo "${0##*/}: up: traffic to $sets is marked $MARK and leaves by $UPLINK (table $TABLE)"
}

# ---- down and status -------------------------------------------------------------------------

do_down()
{
    if [[ ! -f "$STATE" ]]; then
        echo "${0##*/}: down: nothing to do ($STATE does not exist)"
        return 0
    fi
    local -a lines
    mapfile -t lines <"$STATE"
    local i
    for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
        run_undo "${lines[i]}"
    done
    rm -f "$STATE"
    echo "${0##*/}: down: ${#lines[@]} changes undone"
}

do_status()
{
    local f ok=0
    check() # WHAT TEXT: prints the item, counts missing ones
    {
        if [[ -n "$2" ]]; then printf '%-10s %s\n' "$1" "$2"; else printf '%-10s MISSING\n' "$1"; ok=3; fi
    }
    if [[ "$FW" == nft ]]; then
        local t
        t=$(nft list table inet "$NAME" 2>/dev/null || true)
        check "mark" "$(grep -E 'daddr @.* meta mark set' <<<"$t" | sed 's/^[[:space:]]*//' | sort -u | paste -sd ';' -)"
        check "nat" "$(grep -E 'masquerade' <<<"$t" | sed 's/^[[:space:]]*//')"
        for f in "${FAMILIES[@]}"; do
            local s=$SET4; [[ $f == 4 ]] || s=$SET6
            check "set $s" "$(grep -q "set $s {" <<<"$t" && nft list set inet "$NAME" "$s" |
                awk '/elements/ {n = gsub(/,/, ",") + 1} END {print n + 0 " elements"}')"
        done
    else
        for f in "${FAMILIES[@]}"; do
            local ipt=iptables s=$SET4; [[ $f == 4 ]] || { ipt=ip6tables; s=$SET6; }
            check "$ipt mark" "$("$ipt" -t mangle -S "$NAME" 2>/dev/null | grep -e '-j MARK' || true)"
            check "$ipt nat" "$("$ipt" -t nat -S "${NAME}_nat" 2>/dev/null | grep -e '-j MASQUERADE' || true)"
            check "set $s" "$(ipset list -t "$s" 2>/dev/null | sed -n 's/^Number of entries: \(.*\)/\1 elements/p')"
        done
    fi
    for f in "${FAMILIES[@]}"; do
        check "rule -$f" "$(ip -N -$f rule show pref "$PRIO" fwmark "$MARK/$MARK" table "$TABLE")"
        check "route -$f" "$(ip -$f route show table "$TABLE" exact default 2>/dev/null)"
    done
    if [[ -n "$UPLINK" ]]; then
        local rp
        rp=$(cat "/proc/sys/net/ipv4/conf/$UPLINK/rp_filter" 2>/dev/null || true)
        check "rp_filter" "$([[ "$rp" == 2 ]] && echo "$UPLINK: 2 (loose)")"
    fi
    return $ok
}

case $ACTION in
up) do_up ;;
down) do_down ;;
status) do_status ;;
esac
