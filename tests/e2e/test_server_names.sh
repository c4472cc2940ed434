#!/usr/bin/env bash
# test_server_names.sh - server= host names and "%interface" scopes are looked up by the daemon,
# not by the configuration loader: at start-up with dnsmasq's messages and exit codes for a name
# that does not resolve (compared with dnsmasq on the same lines), and on SIGHUP on libuv's
# thread pool, never on the event loop: while a reload waits for a resolver that never answers,
# queries are still answered; the reload then fails with "Cannot resolve server name" and the
# running rules stay; SIGTERM during such a reload exits 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

# The daemons see the test's own /etc/hosts and /etc/resolv.conf (e2e_bind_etc). The resolver is
# 127.0.0.9 (a fake upstream that never answers, started below) with an 8 s timeout: the window in
# which the checks below must get their answers (two queries of at most 3 s each).
printf '%s\n' '127.0.0.1 localhost' '127.0.0.3 up3.test' >"$E2E_TMP/etc-hosts"
printf '%s\n' 'nameserver 127.0.0.9' 'options timeout:8 attempts:1' >"$E2E_TMP/resolv.conf"
DNSMASQ_REAL=${DNSMASQ:-/usr/sbin/dnsmasq}
e2e_bind_etc "$E2E_TMP/etc-hosts:/etc/hosts" "$E2E_TMP/resolv.conf:/etc/resolv.conf"

# ---- start-up: the same message and exit code as dnsmasq (nothing listens on 127.0.0.9 yet)
check_line()
{
    local line=$1 want=$2 rc=0 out
    printf '%s\n' no-resolv no-hosts "$line" >"$E2E_TMP/bad.conf"
    out=$("$DNSROUTE_BIN" --test -C "$E2E_TMP/bad.conf" 2>&1) || rc=$?
    e2e_assert_eq "1 dnsroute: $want at line 3 of $E2E_TMP/bad.conf" "$rc $(grep -v '^$' <<<"$out")" \
        "--test on '$line'"
    if [[ -x "$DNSMASQ_REAL" ]]; then
        local drc=0 dout
        dout=$("$DNSMASQ" --test -C "$E2E_TMP/bad.conf" 2>&1) || drc=$?
        e2e_assert_eq "$drc ${dout/dnsmasq: /dnsroute: }" "$rc $out" "dnsmasq says the same on '$line'"
    fi
}
check_line server=/a.test/nosuch.invalid 'Cannot resolve server name'
check_line server=nosuch.invalid#5353 'Cannot resolve server name'
check_line server=/x.test/1.2.3.x 'Cannot resolve server name'
check_line server=fe80::1%nosuchif0 'bad interface name'
[[ -x "$DNSMASQ_REAL" ]] || e2e_skip_part "dnsmasq comparison: $DNSMASQ_REAL not found"
rc=0
"$DNSROUTE_BIN" -k -C "$E2E_TMP/bad.conf" --port=5353 --log-facility=- --pid-file= \
    >"$E2E_TMP/start.out" 2>&1 || rc=$?
e2e_assert_eq 1 "$rc" "the daemon does not start on an unresolvable line (exit 1)"
e2e_assert_match 'bad interface name at line 3' "$(cat "$E2E_TMP/start.out")" "and says why"

# ---- a name from /etc/hosts and an interface scope resolve at start-up
cat >"$E2E_TMP/up.scenario" <<'EOF'
* A a 192.0.2.3
* * nodata
EOF
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.3#53
printf '* * drop\n' >"$E2E_TMP/silent.scenario"
e2e_start_fake silent "$E2E_TMP/silent.scenario" 127.0.0.9#53
conf=$E2E_TMP/d.conf
printf '%s\n' no-resolv no-hosts cache-size=0 server=/up.test/up3.test server=/v6.test/fe80::1%lo \
    address=/local.test/198.51.100.1 >"$conf"
e2e_start_dnsroute dr 5353 "$conf" --user=root --pid-file=
DR=127.0.0.1#5353
e2e_assert_eq 192.0.2.3 "$(e2e_short $DR www.up.test)" "server=/up.test/up3.test: 127.0.0.3 from /etc/hosts"
e2e_assert_match '127\.0\.0\.3' "$("$DNSROUTE_BIN" -C "$conf" --explain=www.up.test 2>&1)" \
    "--explain shows the looked-up address"

# ---- SIGHUP: the lookup waits 8 s for the silent resolver, on the thread pool
printf '%s\n' no-resolv no-hosts cache-size=0 server=/up.test/up3.test \
    server=/slow.test/nosuch.invalid. address=/local.test/198.51.100.2 >"$conf"
e2e_signal dr HUP
e2e_wait_qlog silent 1
e2e_assert_eq 192.0.2.3 "$(e2e_short $DR www.up.test A +time=3)" "answered while the reload looks a name up"
e2e_assert_eq 198.51.100.1 "$(e2e_short $DR local.test A +time=3)" "with the running rules"
e2e_assert_no_match 'reload failed|configuration reloaded' "$(cat "$E2E_TMP/dr.err")" \
    "the reload was still looking the name up meanwhile"
e2e_wait_log dr 'reload failed' 30
e2e_assert_match 'reload failed, keeping the running configuration: dnsroute: Cannot resolve server name at line 5 of ' \
    "$(cat "$E2E_TMP/dr.err")" "the reload fails with dnsmasq's reason, file and line"
e2e_assert_eq 198.51.100.1 "$(e2e_short $DR local.test)" "the running rules stay"

# A good reload still works after it, and SIGTERM during a lookup exits cleanly.
printf '%s\n' no-resolv no-hosts cache-size=0 server=/up.test/up3.test \
    address=/local.test/198.51.100.2 >"$conf"
e2e_signal dr HUP
e2e_wait_log dr 'configuration reloaded' 15
e2e_assert_eq 198.51.100.2 "$(e2e_short $DR local.test)" "a good reload applies"
printf '%s\n' no-resolv no-hosts server=/slow.test/nosuch.invalid. >"$conf"
n=$(e2e_qlog_count silent)
e2e_signal dr HUP
e2e_wait_qlog silent $((n + 1))
e2e_stop dr
