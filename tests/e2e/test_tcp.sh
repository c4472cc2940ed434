#!/usr/bin/env bash
# test_tcp.sh - issue 3, TCP: a TCP query goes upstream over TCP; pipelined queries on one
# connection are answered concurrently (a slow one does not hold back the others); an idle
# connection is closed after the idle timeout (10 s); a half-sent message after its 3 s deadline;
# max-tcp-connections caps open connections, and at the cap the least recently active connection
# without queries in flight is closed to make room for the new one; a stuck TCP client (half a
# message sent) delays neither UDP nor other TCP clients. (Floods: test_tcp_flood.sh.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
PY="python3 $E2E_LIB_DIR/e2e_dns.py"

cat >"$E2E_TMP/up.scenario" <<'EOF2'
slow.test   A  a 10.0.0.1 delay=600
*.slow.test A  a 10.0.0.3 delay=600
dropt.test  A  drop
closet.test A  close
evict.test  A  a 10.0.0.4 delay=4000
*           A  a 10.0.0.2
EOF2
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.2 max-tcp-connections=8 \
    >"$E2E_TMP/d.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/d.conf" --pid-file= --user=root
DR=127.0.0.1#5353

# An idle connection, started first and measured at the end (the timeout is 10 s).
e2e_spawn idle $PY idle 127.0.0.1 5353 15

# TCP in -> TCP out.
e2e_assert_match 'IN[[:space:]]+A[[:space:]]+10\.0\.0\.2' \
    "$(e2e_kdig $DR tcp1.test A +tcp +noall +answer)" "TCP query answered"
e2e_assert_eq 1 "$(e2e_qlog_count up 'proto=tcp .*qname=tcp1\.test\.')" "upstream got it over TCP"
e2e_assert_eq 0 "$(e2e_qlog_count up 'proto=udp .*qname=tcp1\.test\.')" "and not over UDP"
e2e_assert_match 'IN[[:space:]]+A[[:space:]]+10\.0\.0\.2' \
    "$(e2e_kdig $DR udp1.test A +notcp +noall +answer)" "UDP query answered"
e2e_assert_eq 1 "$(e2e_qlog_count up 'proto=udp .*qname=udp1\.test\.')" "upstream got UDP over UDP"

# Pipelining: 7 queries in one write on one connection; the three slow ones (600 ms each)
# come last, and together take about 600 ms, not 1800: answered out of order, concurrently.
out=$($PY pipeline 127.0.0.1 5353 slow.test p1.test p2.test p3.test p4.test s1.slow.test \
    s2.slow.test 2>"$E2E_TMP/pipe.err")
ms=$(sed -n 's/^elapsed_ms //p' "$E2E_TMP/pipe.err")
e2e_log "pipeline replies (arrival order):"$'\n'"$out"
e2e_assert_eq 7 "$(grep -c ' 0 1 ' <<<"$out")" "7 pipelined answers, NOERROR, 1 record each"
e2e_assert_eq "0x1000 0x1001 0x1002 0x1003 0x1004 0x1005 0x1006" \
    "$(awk '{print $1}' <<<"$out" | sort | xargs)" "every client ID came back once"
e2e_assert_eq "0x1000 0x1005 0x1006" "$(tail -n3 <<<"$out" | awk '{print $1}' | sort | xargs)" \
    "slow answers last: answered out of order"
e2e_assert_eq "0x1001 0 1 p1.test." "$(grep p1 <<<"$out")" "IDs matched to their questions"
(( ms < 1500 )) || e2e_fail "pipelined queries took $ms ms (serialised: >= 1800)"
e2e_ok "three slow pipelined queries answered concurrently ($ms ms, 600 ms each)"
e2e_assert_ge 7 "$(e2e_qlog_count up 'proto=tcp .*qname=(slow|p[1-4]|s[12]\.slow)\.test\.')" \
    "pipelined queries went upstream over TCP"
# 150 pipelined queries in one write: more than the per-connection in-flight limit (64), so the
# daemon must pause reading and resume; every query is answered exactly once.
names=$(seq -f 'm%g.test' 1 150)
# shellcheck disable=SC2086
out=$($PY pipeline 127.0.0.1 5353 $names)
e2e_assert_eq 150 "$(grep -c ' 0 1 m[0-9]*\.test\.$' <<<"$out")" "150 pipelined queries, 150 answers"
e2e_assert_eq 150 "$(awk '{print $1}' <<<"$out" | sort -u | wc -l)" "150 distinct IDs back"
bad=$(while read -r id _ _ qn; do
    n=${qn#m}; n=${n%.test.}
    (( id - 0x1000 + 1 == n )) || echo "$id $qn"
done <<<"$out")
e2e_assert_eq "" "$bad" "each reply's ID matches its question"
# kdig +keepopen: several queries, one connection.
kd=$(kdig @127.0.0.1 -p 5353 +tcp +keepopen +retry=0 +timeout=2 k1.test A k2.test A k3.test A 2>&1)
e2e_assert_eq 3 "$(grep -c 'status: NOERROR' <<<"$kd")" "kdig +keepopen: 3 answers"

# A stuck client: connects, sends half a message and holds the connection.
e2e_spawn half $PY half 127.0.0.1 5353 8
for ((i = 0; i < 50; i++)); do grep -q 'sent half' "$E2E_TMP/half.err" && break; sleep 0.05; done
grep -q 'sent half' "$E2E_TMP/half.err" || e2e_fail "stuck client did not connect"
worst=0
for i in 1 2 3 4 5; do
    t0=$(date +%s%N)
    a=$(e2e_short $DR "u$i.stuck.test")
    ms=$((($(date +%s%N) - t0) / 1000000))
    [[ "$a" == 10.0.0.2 ]] || e2e_fail "UDP query $i during a stuck TCP client: [$a]"
    (( ms > worst )) && worst=$ms
done
# A UDP answer blocked behind the stuck client would wait for its 3 s message deadline; a loaded
# machine alone can take a second.
(( worst < 2500 )) || e2e_fail "UDP answers delayed by a stuck TCP client: worst $worst ms"
e2e_ok "UDP unaffected by a stuck TCP client (worst of 5: $worst ms)"
e2e_assert_match 'IN[[:space:]]+A[[:space:]]+10\.0\.0\.2' \
    "$(e2e_kdig $DR t.stuck.test A +tcp +noall +answer)" "other TCP clients still served"
e2e_assert_eq 0 "$(e2e_qlog_count up 'qname=stuck\.test\.')" "the half message was never forwarded"

# An upstream that never answers over TCP: SERVFAIL within the 5 s budget.
t0=$(date +%s%N)
r=$(e2e_kdig $DR dropt.test A +tcp +timeout=9 | grep -o 'status: [A-Z]*')
ms=$((($(date +%s%N) - t0) / 1000000))
e2e_assert_eq "status: SERVFAIL" "$r" "TCP query, silent upstream -> SERVFAIL"
(( ms <= 6500 )) || e2e_fail "TCP timeout SERVFAIL after $ms ms, budget 5 s"
e2e_ok "TCP timeout SERVFAIL after $ms ms"

# An upstream that closes the TCP connection without answering: SERVFAIL, not a hang.
t0=$(date +%s%N)
r=$(e2e_kdig $DR closet.test A +tcp +timeout=9 | grep -o 'status: [A-Z]*')
ms=$((($(date +%s%N) - t0) / 1000000))
e2e_assert_eq "status: SERVFAIL" "$r" "upstream closes the TCP connection -> SERVFAIL"
(( ms <= 6500 )) || e2e_fail "SERVFAIL after $ms ms"
e2e_ok "closed upstream connection: SERVFAIL after $ms ms"

# The stuck client's half message: the connection was closed ~3 s after its first byte.
for ((i = 0; i < 160; i++)); do grep -q '^closed\|^open' "$E2E_TMP/half.err" && break; sleep 0.1; done
half=$(sed -n 's/^closed //p' "$E2E_TMP/half.err")
[[ "$half" =~ ^[0-9.]+$ ]] || e2e_fail "half-sent message: connection not closed: [$(cat "$E2E_TMP/half.err")]"
awk -v t="$half" 'BEGIN { exit !(t >= 2.5 && t <= 5) }' ||
    e2e_fail "half-sent message: connection closed after $half s, expected ~3 s"
e2e_ok "half-sent message: connection closed after $half s (message deadline 3 s)"

# The idle connection: closed by the daemon after ~10 s.
for ((i = 0; i < 160; i++)); do [[ -s "$E2E_TMP/idle.err" ]] && break; sleep 0.1; done
idle=$(cat "$E2E_TMP/idle.err")
[[ "$idle" =~ ^[0-9.]+$ ]] || e2e_fail "idle connection not closed by the server: [$idle]"
awk -v t="$idle" 'BEGIN { exit !(t >= 9 && t <= 12.5) }' ||
    e2e_fail "idle connection closed after $idle s, expected ~10 s"
e2e_ok "idle TCP connection closed after $idle s"
e2e_kill half || true
e2e_stop dr

# max-tcp-connections=2: a third simultaneous connection makes the longest idle one close (dnsmasq
# would close the new one: idle connections would lock every client out); later ones work.
printf '%s\n' no-resolv no-hosts server=127.0.0.2 max-tcp-connections=2 >"$E2E_TMP/cap.conf"
e2e_start_dnsroute cap 5354 "$E2E_TMP/cap.conf" --pid-file= --user=root
st=$($PY conns 127.0.0.1 5354 3 0 1)
e2e_assert_eq "closed open open" "$(xargs <<<"$st")" \
    "max-tcp-connections=2: the third connection evicts the longest idle one"
st=$($PY conns 127.0.0.1 5354 2 0)
e2e_assert_eq "open open" "$(xargs <<<"$st")" "slots freed once the clients left"
# A connection with a query in flight is never evicted: the idle newcomer before it is. The query
# and the newcomers leave one process back to back, and the upstream holds the query 4 s (within
# the 5 s budget), so the newcomers arrive while it is in flight however slow the machine is.
st=$($PY busycap 127.0.0.1 5354 evict.test 2)
e2e_assert_eq "closed open 0x1000 0 1 evict.test." "$(xargs <<<"$st")" \
    "at the cap the busy connection is kept (and answered), the longest idle newcomer closed"
e2e_assert_match 'IN[[:space:]]+A[[:space:]]+10\.0\.0\.2' \
    "$(e2e_kdig 127.0.0.1#5354 after.test A +tcp +noall +answer)" "TCP query after the cap test"
e2e_stop cap
