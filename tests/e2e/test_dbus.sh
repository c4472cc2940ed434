#!/usr/bin/env bash
# test_dbus.sh - enable-dbus: dnsmasq's D-Bus interface on a private bus (a dbus-daemon started
# here with tests/e2e/conf/dbus-bus.conf, DBUS_SYSTEM_BUS_ADDRESS pointed at it; never the
# system bus). SetServersEx / SetDomainServers / SetServers route queries exactly as server=
# lines, survive SIGHUP, refuse bad input with dnsmasq's errors; ClearCache empties the cache;
# GetVersion, GetMetrics and GetServerMetrics answer with real counters; the same calls against
# dnsmasq 2.90 give the same answers; a name owned elsewhere or forbidden behaves as in dnsmasq;
# NetworkManager's dns=dnsmasq command line (with --conf-file=/dev/null) works.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
command -v dbus-daemon >/dev/null || e2e_skip "dbus-daemon not found (package dbus-daemon)"
command -v busctl >/dev/null || e2e_skip "busctl not found (package systemd)"
command -v dbus-send >/dev/null || e2e_skip "dbus-send not found (package dbus-bin)"

# ---- the private bus ----
e2e_render "$E2E_CONF/dbus-bus.conf" "$E2E_TMP/bus.conf" DNSROUTE_SOURCE_DIR="$DNSROUTE_SOURCE_DIR"
e2e_spawn bus dbus-daemon --config-file="$E2E_TMP/bus.conf" --nofork --nopidfile
for _ in $(seq 1 100); do
    [[ -S "$E2E_TMP/bus.sock" ]] && break
    e2e_alive bus || e2e_fail "dbus-daemon did not start"
    sleep 0.05
done
[[ -S "$E2E_TMP/bus.sock" ]] || e2e_fail "dbus-daemon socket missing after 5 s"
BUS=unix:path=$E2E_TMP/bus.sock
export DBUS_SYSTEM_BUS_ADDRESS=$BUS
OBJ=/uk/org/thekelleys/dnsmasq

# bus_call NAME METHOD [SIGNATURE ARGS...]: busctl call on NAME's object; prints the reply (or
# "ERR: <message>") and never fails the script.
bus_call()
{
    local name=$1 method=$2
    shift 2
    busctl --address="$BUS" call "$name" "$OBJ" "$name" "$method" "$@" 2>&1 |
        sed 's/^Call failed: /ERR: /' || true
}

# wait_name NAME: waits until NAME has an owner on the bus.
wait_name()
{
    for _ in $(seq 1 100); do
        busctl --address="$BUS" status "$1" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    e2e_fail "nobody owns $1 on the bus after 5 s"
}

# wait_answer EXPECTED SERVER NAME WHAT: a SetServers* reply may precede the workers' adoption
# of the new generation by a loop turn: wait (max 5 s) for the answer, then assert it.
wait_answer()
{
    local got=
    for _ in $(seq 1 50); do
        got=$(e2e_short "$2" "$3")
        [[ "$got" == "$1" ]] && break
        sleep 0.1
    done
    e2e_assert_eq "$1" "$got" "$4"
}

# ---- upstreams: a, b, c answer every name with their own address ----
cat >"$E2E_TMP/up.scenario" <<'SCN'
@a default a 192.0.2.1
@b default a 192.0.2.2
@c default a 192.0.2.3
SCN
e2e_start_fake a "$E2E_TMP/up.scenario" 127.0.0.2#53@a
e2e_start_fake b "$E2E_TMP/up.scenario" 127.0.0.3#53@b
e2e_start_fake c "$E2E_TMP/up.scenario" 127.0.0.4#53@c

conf=$E2E_TMP/d.conf
printf '%s\n' no-resolv no-hosts server=/conf.test/127.0.0.4 enable-dbus >"$conf"
e2e_start_dnsroute dr 5353 "$conf" --user=root --pid-file=
DR=127.0.0.1#5353
NAME=uk.org.thekelleys.dnsmasq
wait_name $NAME
e2e_assert_match 'DBus support enabled: connected to system bus' "$(cat "$E2E_TMP/dr.err")" \
    "start-up line as dnsmasq's"

# ---- GetVersion, Introspect ----
version=$("$DNSROUTE_BIN" --version | head -n1 | grep -Eo '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1)
e2e_assert_eq "s \"$version\"" "$(bus_call $NAME GetVersion)" "GetVersion answers the version"
intro=$(busctl --address="$BUS" introspect $NAME $OBJ 2>&1 || true)
for m in SetServers SetServersEx SetDomainServers ClearCache GetVersion GetMetrics \
    GetServerMetrics DhcpLeaseAdded; do
    e2e_assert_match "^\\.$m " "$intro" "introspection lists $m"
done

# ---- SetServersEx: a domain upstream and a default one ----
e2e_assert_eq REFUSED "$(e2e_rcode $DR www.example.com)" "no default server before D-Bus"
e2e_assert_eq "" "$(bus_call $NAME SetServersEx aas 2 2 127.0.0.3 example.com 1 127.0.0.2)" \
    "SetServersEx accepted"
wait_answer 192.0.2.2 $DR www.example.com "example.com routed to its D-Bus upstream"
e2e_assert_eq 192.0.2.1 "$(e2e_short $DR other.test)" "other names to the D-Bus default"
e2e_assert_eq 192.0.2.3 "$(e2e_short $DR x.conf.test)" "server= lines of the file still apply"
e2e_assert_match 'setting upstream servers from DBus' "$(cat "$E2E_TMP/dr.err")" "logged"

# The D-Bus servers survive SIGHUP (dnsmasq's SERV_FROM_DBUS), merged with the file's.
printf '%s\n' no-resolv no-hosts server=/conf.test/127.0.0.4 server=/file.test/127.0.0.4 \
    enable-dbus >"$conf"
e2e_signal dr HUP
wait_answer 192.0.2.3 $DR www.file.test "reloaded file rule applies"
e2e_assert_eq 192.0.2.2 "$(e2e_short $DR www.example.com)" "D-Bus domain server kept by SIGHUP"
e2e_assert_eq 192.0.2.1 "$(e2e_short $DR more.test)" "D-Bus default server kept by SIGHUP"

# ---- bad input: dnsmasq's errors, nothing changes ----
e2e_assert_eq "ERR: Expected array of string arrays" "$(bus_call $NAME SetServersEx as 1 x)" \
    "wrong signature refused"
e2e_assert_eq "ERR: Invalid IP address '127.0.0.9#99999': bad port" \
    "$(bus_call $NAME SetServersEx aas 1 1 '127.0.0.9#99999')" "bad port refused"
e2e_assert_eq "ERR: Empty IP address" "$(bus_call $NAME SetServersEx aas 1 1 '')" \
    "empty address refused"
e2e_assert_eq "ERR: No domain terminator 'x.test'" "$(bus_call $NAME SetDomainServers as 1 /x.test)" \
    "SetDomainServers without terminator refused"
e2e_assert_eq 192.0.2.2 "$(e2e_short $DR www.example.com)" "a refused call changes nothing"
e2e_assert_match "Method \"Bogus\" .* doesn't exist" "$(bus_call $NAME Bogus)" \
    "unknown method: UnknownMethod error"
e2e_alive dr || e2e_fail "dnsroute died on bad D-Bus input"

# ---- SetDomainServers with dbus-send (server= syntax, a local-only domain) ----
dbus-send --bus="$BUS" --print-reply --dest=$NAME $OBJ $NAME.SetDomainServers \
    "array:string:/example.com/127.0.0.2,/local.test/,127.0.0.3" >"$E2E_TMP/send.out" 2>&1 ||
    e2e_fail "dbus-send SetDomainServers failed: $(cat "$E2E_TMP/send.out")"
wait_answer 192.0.2.1 $DR www.example.com "SetDomainServers replaces the D-Bus servers"
e2e_assert_eq 192.0.2.2 "$(e2e_short $DR another.test)" "new D-Bus default"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR www.local.test)" "/local.test/ is local-only"

# ---- SetServers (UINT32 in network order, as dnsmasq reads it) ----
# 127.0.0.4 = 0x7f000004; dnsmasq takes s_addr = ntohl(value).
e2e_assert_eq "" "$(bus_call $NAME SetServers uus 2130706436 2130706435 u.test)" "SetServers"
wait_answer 192.0.2.2 $DR www.u.test "SetServers domain server"
e2e_assert_eq 192.0.2.3 "$(e2e_short $DR elsewhere.test)" "SetServers default server"

# ---- ClearCache: a cached answer is fetched again ----
before=$(e2e_qlog_count c 'qname=cached[.]test')
e2e_short $DR cached.test >/dev/null
e2e_short $DR cached.test >/dev/null
e2e_assert_eq $((before + 1)) "$(e2e_qlog_count c 'qname=cached[.]test')" "second query from cache"
e2e_assert_eq "" "$(bus_call $NAME ClearCache)" "ClearCache"
e2e_short $DR cached.test >/dev/null
e2e_assert_eq $((before + 2)) "$(e2e_qlog_count c 'qname=cached[.]test')" \
    "after ClearCache the answer is fetched again"

# ---- metrics ----
# Counters of the current generation (the last SetServers): the fake upstream's own log counts.
sm=$(bus_call $NAME GetServerMetrics)
sent_c=$(grep -Eo '"address" "127.0.0.4" "port" "53" "queries" "[0-9]+"' <<<"$sm" |
    grep -Eo '[0-9]+"$' | tr -d '"')
e2e_assert_match '^aa\{ss\} 2 7 "address" "127.0.0.4" "port" "53" "queries"' "$sm" \
    "GetServerMetrics: one dictionary per server, dnsmasq's keys"
e2e_assert_ge 2 "${sent_c:-0}" "GetServerMetrics counts queries sent to 127.0.0.4"
e2e_short $DR metric1.test >/dev/null
sm=$(bus_call $NAME GetServerMetrics)
sent_c2=$(grep -Eo '"address" "127.0.0.4" "port" "53" "queries" "[0-9]+"' <<<"$sm" |
    grep -Eo '[0-9]+"$' | tr -d '"')
e2e_assert_eq $((sent_c + 1)) "$sent_c2" "one more query, one more in GetServerMetrics"
m=$(bus_call $NAME GetMetrics)
total=$(($(e2e_qlog_count a) + $(e2e_qlog_count b) + $(e2e_qlog_count c)))
e2e_assert_match "^a\\{su\\} 26 \"dns_cache_inserted\" [0-9]+ .*\"dns_queries_forwarded\" $total " \
    "$m" "GetMetrics: dns_queries_forwarded = queries the upstreams received ($total)"
e2e_assert_eq "" "$(bus_call $NAME ClearMetrics)" "ClearMetrics"
e2e_assert_match '"dns_queries_forwarded" 0 ' "$(bus_call $NAME GetMetrics)" \
    "ClearMetrics zeroes the counters"

# Without clear-on-reload, setting the same servers again keeps the cached answers.
e2e_assert_eq "" "$(bus_call $NAME SetServers uus 2130706436 2130706435 u.test)" "same servers"
e2e_short $DR cached.test >/dev/null
e2e_assert_eq $((before + 2)) "$(e2e_qlog_count c 'qname=cached[.]test')" \
    "new servers over D-Bus keep the cache without clear-on-reload"

# ---- the name: owned elsewhere (queued, as dnsmasq), forbidden (exit 5, dnsmasq's text) ----
e2e_start_dnsroute dr2 5354 "$conf" --user=root --pid-file=
e2e_assert_match 'DBus name uk.org.thekelleys.dnsmasq is owned by another connection' \
    "$(cat "$E2E_TMP/dr2.err")" "a second instance queues for the name"
e2e_stop dr2
printf '%s\n' no-resolv no-hosts server=/conf.test/127.0.0.4 >"$E2E_TMP/m.conf"
rc=0
"$DNSROUTE_BIN" -k -C "$E2E_TMP/m.conf" --port=5355 --listen-address=127.0.0.1 --log-facility=- \
    --user=root --pid-file= --enable-dbus=test.dnsroute.forbidden >"$E2E_TMP/forbid.out" 2>&1 ||
    rc=$?
e2e_assert_eq 5 "$rc" "a name the bus forbids: exit 5 as dnsmasq"
e2e_assert_match 'DBus error: Connection ":1\.[0-9]+" is not allowed to own the service "test.dnsroute.forbidden"' \
    "$(cat "$E2E_TMP/forbid.out")" "dnsmasq's DBus error message"
e2e_stop dr

# ---- the same calls against dnsmasq 2.90: same routing ----
if [[ -x "$DNSMASQ" ]] && "$DNSMASQ" --version | grep -q ' DBus '; then
    e2e_start_dnsroute dr3 5356 "$E2E_TMP/m.conf" --user=root --pid-file= \
        --enable-dbus=test.dnsroute.other
    e2e_start_dnsmasq dm 5357 "$E2E_TMP/m.conf" --enable-dbus=org.freedesktop.NetworkManager.dnsmasq
    wait_name test.dnsroute.other
    wait_name org.freedesktop.NetworkManager.dnsmasq
    for n in test.dnsroute.other org.freedesktop.NetworkManager.dnsmasq; do
        r=$(bus_call $n SetServersEx aas 3 3 127.0.0.3 example.com '*.wild.test' 2 0.0.0.0 local.test \
            1 127.0.0.2)
        e2e_assert_eq "" "$r" "SetServersEx on $n"
    done
    wait_answer 192.0.2.2 127.0.0.1#5356 www.example.com "dnsroute took the servers"
    printf '%s\n' www.example.com example.com a.b.wild.test wild.test www.local.test \
        local.test x.conf.test other.test nodots >"$E2E_TMP/q.txt"
    diffs=0
    e2e_diff_servers 127.0.0.1#5356 127.0.0.1#5357 "$E2E_TMP/q.txt" || diffs=$?
    e2e_assert_eq 0 "$diffs" "same answers as dnsmasq 2.90 after the same SetServersEx"
    e2e_stop dm
    e2e_stop dr3
else
    e2e_log "dnsmasq with DBus not available: differential part skipped"
fi

# ---- NetworkManager's dns=dnsmasq command line, verbatim but for paths and port ----
mkdir -p "$E2E_TMP/dnsmasq.d"
e2e_spawn nm "$DNSROUTE_BIN" --no-resolv --keep-in-foreground --no-hosts --bind-interfaces \
    --pid-file="$E2E_TMP/nm.pid" --listen-address=127.0.0.1 --cache-size=400 --clear-on-reload \
    --conf-file=/dev/null --proxy-dnssec --enable-dbus=org.freedesktop.NetworkManager.dnsmasq \
    --conf-dir="$E2E_TMP/dnsmasq.d" --port=5358 --log-facility=- --user=root
e2e_wait_listen udp 127.0.0.1 5358 nm
wait_name org.freedesktop.NetworkManager.dnsmasq
e2e_assert_eq "" "$(bus_call org.freedesktop.NetworkManager.dnsmasq SetServersEx aas 1 1 127.0.0.2)" \
    "NetworkManager's call"
wait_answer 192.0.2.1 127.0.0.1#5358 nm.example "NetworkManager's command line forwards"
before=$(e2e_qlog_count a 'qname=nm[.]example')
e2e_short 127.0.0.1#5358 nm.example >/dev/null
e2e_assert_eq "$before" "$(e2e_qlog_count a 'qname=nm[.]example')" "answer cached"
e2e_assert_eq "" "$(bus_call org.freedesktop.NetworkManager.dnsmasq SetServersEx aas 1 1 127.0.0.2)" \
    "NetworkManager sets the same servers again"
e2e_short 127.0.0.1#5358 nm.example >/dev/null
e2e_assert_eq $((before + 1)) "$(e2e_qlog_count a 'qname=nm[.]example')" \
    "clear-on-reload: new D-Bus servers empty the cache (dnsmasq)"
e2e_assert_no_match 'ignoring option (enable-dbus|clear-on-reload|conf-file)' \
    "$(cat "$E2E_TMP/nm.err")" "NetworkManager's options are implemented"
e2e_stop nm
e2e_stop bus
