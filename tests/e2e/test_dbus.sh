#!/usr/bin/env bash
# test_dbus.sh - enable-dbus: dnsmasq's D-Bus interface on a private bus (dbus_lib.sh).
# SetServersEx / SetDomainServers / SetServers route queries exactly as server= lines (failover
# included) and survive SIGHUP; bad input gets dnsmasq's errors and changes nothing; ClearCache
# empties the cache; GetVersion, GetMetrics and GetServerMetrics answer with real counters
# (checked against the fake upstreams' query logs); a name owned elsewhere is queued for, a
# forbidden one is exit 5 with dnsmasq's message. test_dbus_nm.sh has the rest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
. "$(dirname "$0")/dbus_lib.sh"

conf=$E2E_TMP/d.conf
printf '%s\n' no-resolv no-hosts server=/conf.test/127.0.0.4 enable-dbus >"$conf"
e2e_start_dnsroute dr 5353 "$conf" --user=root --pid-file=
DR=127.0.0.1#5353
wait_name $NAME
e2e_assert_match 'DBus support enabled: connected to system bus' "$(cat "$E2E_TMP/dr.err")" \
    "start-up line as dnsmasq's"

# ---- GetVersion, Introspect ----
e2e_assert_eq "s \"$DR_VERSION\"" "$(bus_call $NAME GetVersion)" "GetVersion answers the version"
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

# Failover among D-Bus servers, as among server= lines: 127.0.0.9 does not answer (port
# unreachable), so its group's queries end at the next server.
e2e_assert_eq "" "$(bus_call $NAME SetServersEx aas 3 2 127.0.0.9 fo.test 2 127.0.0.3 fo.test \
    1 127.0.0.2)" "SetServersEx with a dead first server"
wait_answer 192.0.2.2 $DR www.fo.test "a dead D-Bus server fails over to the next one"
e2e_assert_eq "" "$(bus_call $NAME SetServersEx aas 2 2 127.0.0.3 example.com 1 127.0.0.2)" \
    "back to the first servers"
wait_answer 192.0.2.2 $DR www.example.com "example.com routed to its D-Bus upstream again"

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
rc=0
"$DNSROUTE_BIN" -k -C "$E2E_TMP/m.conf" --port=5355 --listen-address=127.0.0.1 --log-facility=- \
    --user=root --pid-file= --enable-dbus=test.dnsroute.forbidden >"$E2E_TMP/forbid.out" 2>&1 ||
    rc=$?
e2e_assert_eq 5 "$rc" "a name the bus forbids: exit 5 as dnsmasq"
e2e_assert_match 'DBus error: Connection ":1\.[0-9]+" is not allowed to own the service "test.dnsroute.forbidden"' \
    "$(cat "$E2E_TMP/forbid.out")" "dnsmasq's DBus error message"
e2e_stop dr

e2e_stop bus
