#!/usr/bin/env bash
# test_spoof.sh - issue 3, anti-spoofing: replies with a wrong ID, a wrong question or from the
# wrong source port never reach the client (it gets the real answer from the other server, or
# SERVFAIL when only spoofed replies come); every upstream query uses a random source port
# (>= 900 distinct ports in every 1,000 consecutive queries, sequential and under full dnsperf
# load; dnsmasq: 984) and random IDs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
command -v dnsperf >/dev/null || e2e_skip "dnsperf not found"

cat >"$E2E_TMP/up.scenario" <<'EOF2'
@a  wid.test   A     a 6.6.6.6 wrongid
@b  wid.test   A     a 1.2.3.4 delay=200
@a  wq.test    A     a 6.6.6.6 wrongq
@b  wq.test    A     a 1.2.3.5 delay=200
@a  fp.test    A     a 6.6.6.6 fromport
@b  fp.test    A     a 1.2.3.6 delay=200
    swid.test  A     a 6.6.6.6 wrongid
    swq.test   A     a 6.6.6.6 wrongq
    sfp.test   A     a 6.6.6.6 fromport
    *          A     a 10.0.0.1
    *          AAAA  aaaa fd00::1
EOF2
e2e_start_fake a "$E2E_TMP/up.scenario" 127.0.0.2#53@a
e2e_start_fake b "$E2E_TMP/up.scenario" 127.0.0.3#53@b
e2e_start_fake c "$E2E_TMP/up.scenario" 127.0.0.4#53@c
DRA=(--pid-file= --user=root)
printf '%s\n' no-resolv no-hosts cache-size=0 all-servers server=127.0.0.2 server=127.0.0.3 \
    >"$E2E_TMP/two.conf"
e2e_start_dnsroute two 5353 "$E2E_TMP/two.conf" "${DRA[@]}"
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.4 dns-forward-max=1000 \
    >"$E2E_TMP/one.conf"
e2e_start_dnsroute one 5354 "$E2E_TMP/one.conf" "${DRA[@]}"
TWO=127.0.0.1#5353 ONE=127.0.0.1#5354

# --- forged replies from a arrive first (b answers 200 ms later); the client gets b's answer.
e2e_assert_eq 1.2.3.4 "$(e2e_short $TWO wid.test)" "wrong-ID reply ignored, real answer used"
e2e_assert_eq 1.2.3.5 "$(e2e_short $TWO wq.test)" "wrong-question reply ignored"
e2e_assert_eq 1.2.3.6 "$(e2e_short $TWO fp.test)" "reply from the wrong port ignored"
e2e_assert_eq 3 "$(e2e_qlog_count a 'qname=(wid|wq|fp)\.test\. .*act=a')" \
    "a was asked each time (its forged reply comes 200 ms before b's)"
# --- only forged replies: SERVFAIL on timeout (in parallel, one budget).
pids=()
for n in swid swq sfp; do
    (e2e_answer $ONE $n.test A +time=9 >"$E2E_TMP/$n.out") &
    pids+=($!)
done
wait "${pids[@]}"
for n in swid swq sfp; do
    r=$(cat "$E2E_TMP/$n.out")
    e2e_assert_match '^rcode SERVFAIL$' "$r" "$n.test: only forged replies -> SERVFAIL"
    e2e_assert_no_match '6\.6\.6\.6' "$r" "$n.test: forged address never delivered"
done

# --- an off-path forger who knows the port, ID and question, but not the server's address:
# a hand-made upstream on 127.0.0.7 first has 127.0.0.8 send the forged answer to the daemon's
# source port, then answers for real 200 ms later.
cat >"$E2E_TMP/forger.py" <<'PYEOF'
import socket, struct, time
real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
real.bind(("127.0.0.7", 53))
forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
forger.bind(("127.0.0.8", 53))
real.settimeout(20)
def answer(q, addr):
    off = 12
    while q[off]:
        off += 1 + q[off]
    question = q[12:off + 5]
    hdr = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
    return hdr + question + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(addr)
for _ in range(2):
    q, src = real.recvfrom(4096)
    print("query from", src, "id", struct.unpack("!H", q[:2])[0], flush=True)
    forger.sendto(answer(q, [6, 6, 6, 6]), src)
    time.sleep(0.2)
    real.sendto(answer(q, [1, 2, 3, 7]), src)
PYEOF
e2e_add_addr 127.0.0.7/32 2>/dev/null || true
e2e_spawn forger python3 "$E2E_TMP/forger.py"
e2e_wait_listen udp 127.0.0.7 53 forger
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.7 >"$E2E_TMP/three.conf"
e2e_start_dnsroute three 5355 "$E2E_TMP/three.conf" "${DRA[@]}"
e2e_assert_eq 1.2.3.7 "$(e2e_short 127.0.0.1#5355 offpath.test)" \
    "answer from the wrong address (right port, ID, question) ignored; real answer used"
e2e_assert_eq 1.2.3.7 "$(e2e_kdig 127.0.0.1#5355 offpath2.test A +notcp +short)" "again"
e2e_assert_match 'query from' "$(cat "$E2E_TMP/forger.err")" "the forger really saw the queries"
e2e_stop three

# --- source ports and IDs of upstream queries
# ports_per_1000 NAME FIRST_LINE: the smallest number of distinct source ports among every 1,000
# consecutive queries (a sliding window) from line FIRST_LINE.
ports_per_1000()
{
    tail -n +"$2" "$(e2e_qlog "$1")" | tr ' ' '\n' | sed -n 's/^sport=//p' |
        awk '{ p[NR] = $1; if (!c[$1]++) d++
               if (NR > 1000 && !--c[p[NR - 1000]]) d--
               if (NR >= 1000 && (m == "" || d < m)) m = d }
             END { print (m == "" ? 0 : m) }'
}
# ids_stats NAME FIRST_LINE: the smallest number of distinct IDs among the blocks of 1,000
# consecutive queries, and the share of consecutive IDs (id+1) in per mille.
ids_stats()
{
    tail -n +"$2" "$(e2e_qlog "$1")" | tr ' ' '\n' | sed -n 's/^id=//p' |
        awk '{ b = int((NR - 1) / 1000); if (!s[b, $1]++) d[b]++; n[b]++
               if (NR > 1 && $1 == p + 1) seq++; p = $1 }
             END { m = 99999; for (k in d) if (n[k] == 1000 && d[k] < m) m = d[k];
                   printf "%d %d\n", m, seq * 1000 / NR }'
}
e2e_gen_queryfile "$E2E_TMP/q1000" 1000 light.test
start=$(($(e2e_qlog_count c) + 1))
# -q 1: one query outstanding at a time, i.e. a sequential client.
dnsperf -s 127.0.0.1 -p 5354 -d "$E2E_TMP/q1000" -n 1 -q 1 -t 2 >"$E2E_TMP/perf1.out" 2>&1 ||
    e2e_fail "dnsperf (sequential) failed: $(tail -n 5 "$E2E_TMP/perf1.out")"
n=$(( $(e2e_qlog_count c) - start + 1 ))
e2e_assert_ge 1000 "$n" "sequential: 1,000 upstream queries"
p=$(ports_per_1000 c "$start")
e2e_log "sequential: $p distinct source ports per 1,000 upstream queries"
e2e_assert_ge 900 "$p" "sequential: >= 900 distinct source ports in every 1,000 queries ($p)"
read -r idd idseq < <(ids_stats c "$start")
e2e_assert_ge 950 "$idd" "sequential: distinct IDs per 1,000 queries ($idd)"
(( idseq <= 5 )) || e2e_fail "sequential: $idseq per mille of IDs are previous+1"
e2e_ok "sequential: IDs not sequential ($idseq per mille are previous+1)"

e2e_gen_queryfile "$E2E_TMP/qload" 20000 load.test
start=$(($(e2e_qlog_count c) + 1))
# Full load: as fast as the daemon answers, 4 clients with 200 queries outstanding each.
dnsperf -s 127.0.0.1 -p 5354 -d "$E2E_TMP/qload" -l 5 -c 4 -q 200 -t 2 >"$E2E_TMP/perf2.out" 2>&1 ||
    e2e_fail "dnsperf (load) failed: $(tail -n 5 "$E2E_TMP/perf2.out")"
e2e_log "$(grep -E 'Queries (sent|completed|lost)|Queries per second' "$E2E_TMP/perf2.out" | xargs)"
n=$(( $(e2e_qlog_count c) - start + 1 ))
e2e_assert_ge 3000 "$n" "load: >= 3,000 upstream queries in 5 s ($n)"
p=$(ports_per_1000 c "$start")
e2e_log "load: >= $p distinct source ports in every 1,000 of $n upstream queries"
e2e_assert_ge 900 "$p" "load: >= 900 distinct source ports in every 1,000 queries ($p)"
read -r idd idseq < <(ids_stats c "$start")
e2e_assert_ge 950 "$idd" "load: distinct IDs per 1,000 queries ($idd)"
(( idseq <= 5 )) || e2e_fail "load: $idseq per mille of IDs are previous+1"
e2e_ok "load: IDs not sequential ($idseq per mille are previous+1)"
e2e_assert_eq 10.0.0.1 "$(e2e_short $ONE after.test)" "daemon still answers after the load"
e2e_stop one
e2e_stop two
