#!/usr/bin/env bash
# test_tcp_flood.sh - TCP clients are served while an attacker holds connections (issue 13): 20
# slowloris connections (a query one byte per 0.5 s, each reopened as soon as the server closes
# it) and 2,000 idle connections (opened at once and held). With dnsmasq's policy (the idle timer restarted by every byte, and
# at max-tcp-connections the *new* connection closed) such floods lock every TCP client out; here
# the idle timer restarts only on whole messages, a message must arrive within 3 s of its first
# byte, and at the cap the least recently active idle or half-sent connection makes room. At least
# 95 % of the valid queries (a new connection each) must be answered under each flood. dnsmasq
# 2.90's figures under the same floods are printed for comparison, not asserted. (An attacker that
# also reopens 2,000 idle connections at once makes it a contest of connection rates:
# tests/stress/hostile.sh measures that.)
# e2e-timeout: 150
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
PY="python3 $E2E_LIB_DIR/e2e_dns.py"
QUERIES=${E2E_FLOOD_QUERIES:-200}

cat >"$E2E_TMP/up.scenario" <<'SCN'
*  A  a 10.0.0.2
SCN
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts server=127.0.0.2 >"$E2E_TMP/d.conf" # max-tcp-connections: 20

# flood_run NAME PORT MODE N [QUERIES TIMEOUT_S]: starts the flood, waits until it holds its
# connections, runs the valid queries, stops the flood; prints "answered K of N" and the flood's
# figures.
flood_run()
{
    local name=$1 port=$2 mode=$3 n=$4 queries=${5:-$QUERIES} timeout=${6:-2} i
    e2e_spawn "$name" $PY flood 127.0.0.1 "$port" "$mode" "$n" 600
    for ((i = 0; i < 200; i++)); do grep -q flooding "$E2E_TMP/$name.err" && break; sleep 0.05; done
    grep -q flooding "$E2E_TMP/$name.err" || e2e_fail "$name did not start"
    sleep 1 # the flood settles into the server's slots (not a readiness wait: an attack phase)
    $PY tcpqueries 127.0.0.1 "$port" "$queries" "$timeout"
    e2e_kill "$name" || true
    tail -n 1 "$E2E_TMP/$name.err"
}

answered() { sed -n 's/^answered \([0-9]*\) of .*/\1/p' <<<"$1"; }
need=$((QUERIES * 95 / 100))

e2e_start_dnsroute dr 5353 "$E2E_TMP/d.conf" --pid-file= --user=root
for flood in "slowloris+ 20" "idle 2000"; do
    set -- $flood
    out=$(flood_run "f_${1%+}_$2" 5353 "$1" "$2")
    e2e_log "dnsroute, $2 $1 connections: $(xargs <<<"$out")"
    e2e_assert_ge "$need" "$(answered "$out")" "$2 $1 connections: >= 95 % of $QUERIES TCP queries answered"
done
e2e_assert_match 'IN[[:space:]]+A[[:space:]]+10\.0\.0\.2' \
    "$(e2e_kdig 127.0.0.1#5353 after.flood.test A +tcp +noall +answer)" "TCP served after the floods"
e2e_stop dr

if [[ -x "$DNSMASQ" ]]; then
    e2e_start_dnsmasq dm 5354 "$E2E_TMP/d.conf"
    for flood in "slowloris+ 20" "idle 2000"; do
        set -- $flood
        out=$(flood_run "dm_${1%+}_$2" 5354 "$1" "$2" 10 1) # locked out: 1 s per query
        e2e_log "dnsmasq 2.90 (for comparison), $2 $1 connections: $(xargs <<<"$out")"
    done
fi
