#!/usr/bin/env bash
# test_reload_load.sh - SIGHUP with the full china list (111k server= lines; a generated list of
# the same size when $DNSROUTE_CHINA_LIST is unset): (1) the cache survives a reload
# for names whose upstreams did not change (the fakes' query logs show no new query), while a
# name whose route changed is fetched again from its new upstream; (2) dnsperf at a fixed rate
# against two workers while the configuration is reloaded several times: 0 queries lost, every
# answer NOERROR (no SERVFAIL, no REFUSED), and the answers keep their upstreams; SIGUSR1 sent
# while the workers adopt the new rules is safe.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
E2E_TIMEOUT=${E2E_TIMEOUT:-85} e2e_enter_netns "$@"
e2e_require_dnsroute
command -v dnsperf >/dev/null || e2e_skip "dnsperf not found"

cat >"$E2E_TMP/up.scenario" <<'SCN'
@china  *  A     a 1.1.1.1 ttl=3600
@china  *  AAAA  aaaa 2400:da00::1 ttl=3600
@def    *  A     a 2.2.2.2 ttl=3600
@def    *  AAAA  aaaa 2001:db8::2 ttl=3600
@alt    slow.move.test  A  a 3.3.3.4 ttl=3600 delay=1500
@alt    *  A     a 3.3.3.3 ttl=3600
@alt    *  AAAA  aaaa 2001:db8::3 ttl=3600
SCN
e2e_start_fake china "$E2E_TMP/up.scenario" 114.114.114.114#53@china
e2e_start_fake def "$E2E_TMP/up.scenario" 127.0.0.2#53@def
e2e_start_fake alt "$E2E_TMP/up.scenario" 127.0.0.3#53@alt

cl="$DNSROUTE_CHINA_LIST/accelerated-domains.china.conf"
if [[ ! -r "$cl" ]]; then
    cl=$E2E_TMP/china-gen.conf
    awk 'BEGIN { for (i = 0; i < 111000; i++) printf "server=/d%d.cn-gen.test/114.114.114.114\n", i }' >"$cl"
    e2e_log "china list not found: using a generated list of 111000 lines"
fi
china_lines=$(grep -c '^server=' "$cl")
cn1=$(awk -F/ '/^server=/ && ++n == 1000 { print $2 }' "$cl")
cn2=$(awk -F/ '/^server=/ && ++n == 90000 { print $2 }' "$cl")

conf=$E2E_TMP/d.conf
write_conf() # ROUTE_OF_MOVE_TEST
{
    printf '%s\n' no-resolv no-hosts cache-size=10000 "conf-file=$cl" \
        server=/stay.test/127.0.0.3 "server=/move.test/$1" server=127.0.0.2 >"$conf"
}
write_conf 127.0.0.3
e2e_start_dnsroute dr 5353 "$conf" --user=root --pid-file= --workers=2
DR=127.0.0.1#5353
reloads() { grep -c 'configuration reloaded' "$E2E_TMP/dr.err" || true; }
wait_reloads() # N: bounded wait until N reloads were logged (the log comes after the build)
{
    local i
    for ((i = 0; i < 300; i++)); do (($(reloads) >= $1)) && return 0; sleep 0.05; done
    e2e_fail "fewer than $1 reloads logged after 15 s"
}

# ---- (1) the cache across a reload
names=(www.stay.test www.move.test "www.$cn1" "www.$cn2" www.example.org)
expect=(3.3.3.3 3.3.3.3 1.1.1.1 1.1.1.1 2.2.2.2)
for i in "${!names[@]}"; do
    e2e_assert_eq "${expect[i]}" "$(e2e_short $DR "${names[i]}")" "${names[i]} before the reload"
done
asked() { e2e_qlog_count "$1" "qname=${2//./\\.}\\. "; }
e2e_assert_eq 1 "$(asked alt www.stay.test)" "stay.test asked once"
e2e_assert_eq 1 "$(asked china "www.$cn1")" "china-list name asked once"
# A query in flight across the reload (its upstream answers after 1.5 s) finishes under the
# rules it started with: answered by its old upstream, not dropped or SERVFAIL.
e2e_dig $DR slow.move.test A +time=5 >"$E2E_TMP/slow.out" &
slow=$!
e2e_wait_qlog alt 1 'qname=slow\.move\.test\. '
write_conf 127.0.0.2 # move.test now goes to the default server; nothing else changes
e2e_signal dr HUP
wait_reloads 1
wait $slow
e2e_assert_match 'slow\.move\.test\.\s+[0-9]+\s+IN\s+A\s+3\.3\.3\.4' "$(cat "$E2E_TMP/slow.out")" \
    "a query in flight during the reload is answered under its old rules (old upstream)"
e2e_assert_eq 0 "$(asked def slow.move.test)" "the new upstream never saw it"
e2e_assert_match "configuration reloaded: $((china_lines + 3)) domains, 3 servers, loaded in [0-9]+ ms" \
    "$(cat "$E2E_TMP/dr.err")" "the whole china list was re-read"
# Both workers adopt the new rules; ask several times (fresh sockets reach both workers).
for _ in 1 2 3 4 5 6; do
    for i in 0 2 3 4; do
        [[ "$(e2e_short $DR "${names[i]}")" == "${expect[i]}" ]] || e2e_fail "${names[i]} changed"
    done
done
e2e_assert_eq 1 "$(asked alt www.stay.test)" "stay.test: answered from the cache after the reload"
e2e_assert_eq 1 "$(asked china "www.$cn1")" "china-list name $cn1: from the cache after the reload"
e2e_assert_eq 1 "$(asked china "www.$cn2")" "china-list name $cn2: from the cache after the reload"
e2e_assert_eq 1 "$(asked def www.example.org)" "default-route name: from the cache after the reload"
ok=0
for _ in $(seq 1 20); do
    # Until the second worker has adopted the rules, its answer may still be the old one.
    if [[ "$(e2e_short $DR www.move.test)" == 2.2.2.2 ]]; then ok=1; break; fi
    sleep 0.1
done
e2e_assert_eq 1 "$ok" "move.test (route changed): answered by its new upstream"
e2e_assert_eq 1 "$(asked def www.move.test)" "move.test fetched from the new upstream once"
e2e_assert_eq 1 "$(asked alt www.move.test)" "and not again from the old one"
for _ in 1 2 3 4 5 6; do
    [[ "$(e2e_short $DR www.move.test)" == 2.2.2.2 ]] || e2e_fail "move.test answer flipped back"
done
e2e_assert_le() { (($2 <= $1)) || e2e_fail "$3: expected at most $1, got $2"; e2e_ok "$3"; }
e2e_assert_le 2 "$(asked def www.move.test)" "the new answer is cached (one fetch per worker at most)"

# ---- (2) reloads under load: dnsperf at a fixed rate, four SIGHUPs during the run
# Names under china-list domains (to 114.114.114.114) and under example.org (default), unique
# per query, so they are forwarded (cache misses) while the rules are swapped.
awk -F/ -v n=16000 '/^server=/ { d[m++] = $2 } END {
        for (i = 0; i < n; i++) {
            dom = (i % 3 == 2) ? "example.org" : d[(i * 7919) % m]
            printf "p%d.%s %s\n", i, dom, (i % 4 == 3) ? "AAAA" : "A" } }' "$cl" >"$E2E_TMP/perf.q"
before=$(reloads)
# dnsperf runs until it is interrupted once the four reloads are done (a fixed -l raced the HUP
# loop: at load 13 three HUPs took longer than a 9 s run). Interrupted, it counts the queries in
# flight at that moment neither completed nor lost: at most its -q window.
dnsperf -s 127.0.0.1 -p 5353 -d "$E2E_TMP/perf.q" -l 300 -Q 1500 -t 5 -c 4 -q 100 \
    >"$E2E_TMP/perf.out" 2>&1 &
perf=$!
t0=$SECONDS
for hups in 1 2 3 4; do
    sleep 1.5
    kill -0 $perf 2>/dev/null || e2e_fail "dnsperf ended early: $(cat "$E2E_TMP/perf.out")"
    write_conf 127.0.0.$((2 + (hups - 1) % 2))
    e2e_signal dr HUP
    # Statistics while the workers adopt the new rules: read across threads (sanitizer-checked
    # at e2e_stop).
    for _ in 1 2 3 4 5; do sleep 0.08; e2e_signal dr USR1; done
done
wait_reloads $((before + hups))
while ((SECONDS - t0 < 8)); do sleep 0.2; done # a few seconds of load after the last swap too
kill -INT $perf
wait $perf || e2e_fail "dnsperf failed: $(cat "$E2E_TMP/perf.out")"
out=$(cat "$E2E_TMP/perf.out")
e2e_log "dnsperf: $(grep -E 'Queries (sent|completed|lost)|Response codes|Latency|Queries per second' <<<"$out" | xargs)"
e2e_assert_eq 4 "$(($(reloads) - before))" "four reloads while dnsperf ran"
sent=$(awk '/Queries sent:/ {print $3}' <<<"$out")
completed=$(awk '/Queries completed:/ {print $3}' <<<"$out")
e2e_assert_ge 5000 "$sent" "dnsperf sent thousands of queries during the reloads"
e2e_assert_match 'Queries lost: +0 ' "$out" "0 queries lost during the reloads"
e2e_assert_le 100 "$((sent - completed))" "every query completed but those in flight at the interrupt"
e2e_assert_match 'Response codes: +NOERROR [0-9]+ \(100\.00%\)$' "$out" \
    "every answer NOERROR: no SERVFAIL or REFUSED during the reloads"
# A reload is built on worker 0's thread: that worker's answers may wait for one load of the
# list, never longer (issue 5: "must not stall answers for more than the load time"). The daemon
# logs each load's duration; the machine is shared, so the bound has a margin.
max_ms=$(sed -n 's/.*Latency.*max \([0-9.]*\)).*/\1/p' <<<"$out" | awk '{print int($1 * 1000)}')
load_ms=$(sed -n 's/.*configuration reloaded: .*, loaded in \([0-9]*\) ms$/\1/p' "$E2E_TMP/dr.err" |
    sort -n | tail -n1)
e2e_log "largest latency during the reloads: ${max_ms} ms; longest load of the configuration: ${load_ms} ms"
e2e_assert_le $((2 * load_ms + 300)) "$max_ms" "no answer waited much longer than one load (2x + 300 ms margin)"
# The china-list queries kept their upstream through every swap.
e2e_assert_eq 0 "$(grep -E 'qname=p[0-9]+\.' "$(e2e_qlog def)" | grep -vc 'example\.org' || true)" \
    "no china-list query reached the default server"
e2e_assert_eq 0 "$(grep -E 'qname=p[0-9]+\.' "$(e2e_qlog china)" | grep -c 'example\.org' || true)" \
    "no default-route query reached the china server"
e2e_assert_eq 1.1.1.1 "$(e2e_short $DR "www.$cn2")" "answers after the reloads"
e2e_alive dr || e2e_fail "daemon died"
e2e_stop dr
