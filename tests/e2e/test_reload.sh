#!/usr/bin/env bash
# test_reload.sh - SIGHUP re-reads the whole configuration (server=, address=, ipset= ... not
# only servers-file as dnsmasq does) and hands it to every worker; a broken configuration is
# refused with the error logged and the old rules kept; SIGUSR1 logs statistics; SIGTERM exits 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

cat >"$E2E_TMP/up.scenario" <<'SCN'
@a default a 192.0.2.1
@b default a 192.0.2.2
SCN
e2e_start_fake a "$E2E_TMP/up.scenario" 127.0.0.2#53@a
e2e_start_fake b "$E2E_TMP/up.scenario" 127.0.0.3#53@b
conf=$E2E_TMP/d.conf
printf '%s\n' no-resolv no-hosts cache-size=0 server=/route.test/127.0.0.2 server=127.0.0.3 \
    address=/local.test/198.51.100.1 >"$conf"
e2e_start_dnsroute dr 5353 "$conf" --user=root --pid-file= --workers=2
DR=127.0.0.1#5353

e2e_assert_eq 192.0.2.1 "$(e2e_short $DR www.route.test)" "route.test goes to upstream a"
e2e_assert_eq 198.51.100.1 "$(e2e_short $DR local.test)" "address= answer before reload"

# New rules: route.test now goes to b, local.test gets another address, new.test is routed.
printf '%s\n' no-resolv no-hosts cache-size=0 server=/route.test/127.0.0.3 server=127.0.0.2 \
    address=/local.test/198.51.100.2 address=/new.test/198.51.100.3 >"$conf"
e2e_signal dr HUP
ok=0
for _ in $(seq 1 50); do
    # Both workers must have the new rules: ask several times from fresh sockets.
    all=1
    for _ in 1 2 3 4 5 6; do
        [ "$(e2e_short $DR www.route.test)" = 192.0.2.2 ] || all=0
    done
    if [ "$all" = 1 ]; then ok=1; break; fi
    sleep 0.1
done
e2e_assert_eq 1 "$ok" "after SIGHUP route.test goes to upstream b on every worker"
e2e_assert_eq 198.51.100.2 "$(e2e_short $DR local.test)" "address= changed by the reload"
e2e_assert_eq 198.51.100.3 "$(e2e_short $DR new.test)" "a new address= line applies"
e2e_assert_match 'configuration reloaded' "$(cat "$E2E_TMP/dr.err")" "reload logged"

# A broken configuration is refused; the running rules stay.
printf '%s\n' no-resolv server=/route.test/127.0.0.2 bogus-option=1 >"$conf"
e2e_signal dr HUP
e2e_wait_log dr 'reload failed'
e2e_assert_match 'reload failed, keeping the running configuration: .*bad option at line 3' \
    "$(cat "$E2E_TMP/dr.err")" "broken reload logged with file and line"
for _ in 1 2 3 4; do
    e2e_assert_eq 192.0.2.2 "$(e2e_short $DR www.route.test)" "old rules kept after a broken reload"
done
e2e_alive dr || e2e_fail "daemon died on a broken reload"

e2e_signal dr USR1
e2e_wait_log dr 'reloads [0-9]+, failed'
e2e_assert_match 'queries forwarded [0-9]+, queries answered locally [0-9]+' \
    "$(cat "$E2E_TMP/dr.err")" "SIGUSR1 statistics"
e2e_assert_match 'reloads 2, failed 1; last failure: dnsroute: bad option at line 3 of ' \
    "$(cat "$E2E_TMP/dr.err")" "SIGUSR1: reloads and failures counted, with the last failure's reason"
e2e_assert_match 'server 127.0.0.3#53: queries sent [1-9]' "$(cat "$E2E_TMP/dr.err")" \
    "per-server statistics"
e2e_stop dr
