#!/usr/bin/env bash
# bench_ports.sh - upstream source-port spread under load (the DNSpooq mitigation): 20,000
# distinct names through dnsroute (cache off) as fast as dnsperf sends them (-q 200), the fake
# upstream logs each query's source port; prints the distinct ports overall and the minimum and
# mean over every window of 1,000 consecutive upstream queries (requirement: >= 500).
#
#   bench/bench_ports.sh
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"
printf '%s\n' '* A a 10.0.0.1' '* AAAA aaaa fd00::1' >"$E2E_TMP/s"
e2e_start_fake up "$E2E_TMP/s" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.2 >"$E2E_TMP/c"
e2e_start_dnsroute dnsroute 5300 "$E2E_TMP/c" --pid-file= --user=root
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "p%d.example A\n", i }' >"$E2E_TMP/q"
dnsperf -s 127.0.0.1 -p 5300 -d "$E2E_TMP/q" -n 1 -c 4 -q 200 -t 2 | grep -E "Queries (sent|completed)|per second"
sleep 0.5
n=$(e2e_qlog_count up 'qname=p')
d=$(e2e_qlog_field up sport 'qname=p' | sort -u | wc -l)
echo "upstream queries $n, distinct source ports $d: $((d * 1000 / n)) per 1000"
e2e_qlog_field up sport 'qname=p' | awk '{ p[NR] = $1 } END {
    min = 1e9; sum = 0; n = 0
    for (s = 1; s + 999 <= NR; s += 100) {
        delete seen; d = 0
        for (i = s; i < s + 1000; i++) if (!(p[i] in seen)) { seen[p[i]] = 1; d++ }
        if (d < min) min = d; sum += d; n++
    }
    printf "windows of 1000 consecutive upstream queries: min %d, mean %.1f distinct ports (%d windows)\n", min, sum / n, n
    print min > "/dev/stderr" }' 2>"$E2E_TMP/min"
e2e_assert_ge 500 "$(cat "$E2E_TMP/min")" "every 1,000 upstream queries use at least 500 source ports"
