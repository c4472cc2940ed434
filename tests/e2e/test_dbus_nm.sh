#!/usr/bin/env bash
# test_dbus_nm.sh - enable-dbus, continued (dbus_lib.sh): the same SetServersEx against dnsmasq
# 2.90 gives the same answers; a bus that is not there at start-up, or goes away and comes back,
# is connected to when it appears (dnsmasq polls every 250 ms); NetworkManager's dns=dnsmasq
# command line (with --conf-file=/dev/null and clear-on-reload) works.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
. "$(dirname "$0")/dbus_lib.sh"

# ---- the same calls against dnsmasq 2.90: same routing ----
if [[ -x "$DNSMASQ" ]] && [[ $("$DNSMASQ" --version) == *" DBus "* ]]; then
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

# ---- a bus that comes later, and goes away and comes back (dnsmasq polls every 250 ms) ----
sed "s|$E2E_TMP/bus.sock|$E2E_TMP/late.sock|" "$E2E_TMP/bus.conf" >"$E2E_TMP/late.conf"
LATE=unix:path=$E2E_TMP/late.sock
DBUS_SYSTEM_BUS_ADDRESS=$LATE e2e_start_dnsroute dr4 5359 "$E2E_TMP/m.conf" --user=root \
    --pid-file= --enable-dbus
e2e_assert_match 'DBus support enabled: bus connection pending' "$(cat "$E2E_TMP/dr4.err")" \
    "no bus at start: connection pending"
for round in 1 2; do
    e2e_spawn "late$round" dbus-daemon --config-file="$E2E_TMP/late.conf" --nofork --nopidfile
    got=
    for _ in $(seq 1 100); do
        got=$(busctl --address="$LATE" call $NAME $OBJ $NAME GetVersion 2>/dev/null || true)
        [[ -n "$got" ]] && break
        sleep 0.05
    done
    e2e_assert_eq "s \"$DR_VERSION\"" "$got" "bus started (round $round): dnsroute connects and answers"
    e2e_stop "late$round"
    rm -f "$E2E_TMP/late.sock"
done
e2e_assert_match 'connected to system DBus' "$(cat "$E2E_TMP/dr4.err")" "connection logged"
e2e_assert_match 'lost the connection to the system bus' "$(cat "$E2E_TMP/dr4.err")" \
    "a lost bus is logged and re-established"
e2e_stop dr4

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
