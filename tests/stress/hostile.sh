#!/usr/bin/env bash
# hostile.sh - the daemon as an attacker, a broken upstream and odd names meet it, each part
# printing its figures (not part of ctest: long, and figures rather than a verdict). It fails only
# when the daemon dies, stops answering, or a check that must always hold does not.
#   1. junk: random datagrams at the UDP port, then valid queries (answered, counted dropped)
#   2. TCP floods: idle and slowloris connections, held and reopened at once ("+"), against
#      sequential valid TCP queries: the share answered per flood
#   3. names at the limits: 253-character names, 63-byte labels, 127 one-byte labels, escapes
#   4. monster upstream answers: 4,000 records over TCP, 65,527 bytes without OPT, CNAME chains
#      of 16, garbage: rcodes and sizes, RSS before and after
#   5. forged answers: tests/e2e/test_forged_answers.sh with HOSTILE_FORGED (4,000) queries, in
#      its own namespace: answers forged with the right ID and question, sent from the upstream's
#      address to every other open source port of the daemon; accepted forgeries must be 0
#
#   tests/stress/hostile.sh        (DNSROUTE_BIN, FAKE_UPSTREAM: default build/release)
set -euo pipefail
: "${DNSROUTE_BIN:=$(cd "$(dirname "$0")/../.." && pwd)/build/release/dnsroute}"
: "${FAKE_UPSTREAM:=$(cd "$(dirname "$0")/../.." && pwd)/build/release/tests/e2e/fake_upstream}"
export DNSROUTE_BIN FAKE_UPSTREAM
: "${E2E_TIMEOUT:=1200}"
export E2E_TIMEOUT
. "$(dirname "$0")/../e2e/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
PY="python3 $E2E_LIB_DIR/e2e_dns.py"
DR=127.0.0.1#5353
chain=""
for i in $(seq 1 15); do chain+="c$i.chain.test CNAME cname c$((i + 1)).chain.test"$'\n'; done
cat >"$E2E_TMP/up.scenario" <<SCN
huge.test          A     big=4000
abcdefghijkl.test  AAAA  big=2339 edns=none
garbage.test       A     garbage=300
c16.chain.test     A     a 192.0.2.16
${chain}*                  A     a 10.0.0.2
*                  AAAA  aaaa 2001:db8::2
SCN
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts server=127.0.0.2 >"$E2E_TMP/d.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/d.conf" --pid-file= --user=root --workers=2
pid=$(e2e_pid dr)
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
alive_and_answering()
{
    e2e_alive dr || e2e_fail "the daemon died ($1)"
    e2e_assert_eq 10.0.0.2 "$(e2e_short $DR "after-$1.test")" "still answering after $1"
}
echo "== hostile runs: $(date -u '+%F %T UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs, dnsroute $(git -C "$DNSROUTE_SOURCE_DIR" rev-parse --short HEAD 2>/dev/null)"
echo "RSS at start: $(rss) KiB"

# ---- 1. junk datagrams
n=${HOSTILE_JUNK:-20000}
t0=$EPOCHREALTIME
python3 - "$n" <<'PY'
import os, random, socket, sys
random.seed(13)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    size = random.choice([0, 1, 11, 12, 13, 17, 40, 100, 512, 1232, 1500, 4096])
    data = os.urandom(size)
    if size >= 12 and i % 3 == 0:  # header-like: QDCOUNT 1, QR clear, so the parser goes deeper
        data = data[:2] + b"\x01\x00\x00\x01" + data[6:]
    try:
        s.sendto(data, ("127.0.0.1", 5353))
    except OSError:
        pass
PY
echo "1. junk: $n random datagrams in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
alive_and_answering junk
kill -USR1 "$pid"
e2e_wait_log dr 'reloads [0-9]+'
echo "   $(grep -E 'queries received' "$E2E_TMP/dr.err" | tail -n1 | sed 's/^.*queries received/queries received/')"

# ---- 2. TCP floods against valid TCP queries (a new connection each)
for flood in "slowloris 20" "slowloris+ 20" "slowloris+ 200" "idle 2000" "idle+ 2000"; do
    set -- $flood
    name=f_${1%+}_$2_$([[ $1 == *+ ]] && echo r || echo h)
    e2e_spawn "$name" $PY flood 127.0.0.1 5353 "$1" "$2" 900
    e2e_wait_log "$name" flooding 30
    sleep 1 # the flood settles into the slots: an attack phase, not a readiness wait
    out=$($PY tcpqueries 127.0.0.1 5353 200 2)
    e2e_kill "$name" || true
    echo "2. TCP, $2 $1 connections$([[ $1 == *+ ]] && echo ' (reopened when closed)'): $out; flood: $(tail -n1 "$E2E_TMP/$name.err")"
done
kill -USR1 "$pid"
for ((i = 0; i < 100; i++)); do (($(grep -c 'TCP connections closed' "$E2E_TMP/dr.err") >= 2)) && break; sleep 0.05; done
echo "   $(grep 'TCP connections closed' "$E2E_TMP/dr.err" | tail -n1 | sed 's/^.*TCP/TCP/')"
alive_and_answering "TCP floods"

# ---- 3. names at the limits (answers from the fake's catch-all rule)
label63=$(printf 'a%.0s' $(seq 1 63))
long253="$label63.$label63.$label63.$(printf 'b%.0s' $(seq 1 61))"
labels127=$(printf 'x.%.0s' $(seq 1 126))x
for q in "$long253" "$label63.test" "$labels127" 'we\"ird\\.name.test' 'sp\032ace.test' "UPPER.Case.TEST"; do
    printf '3. name of %3d characters (%3d labels): %s\n' "${#q}" "$(tr -cd . <<<"$q" | wc -c)" \
        "$(e2e_rcode $DR "$q" A)"
done
tooLong="$long253.c" # 255 characters: over the limit, refused by the client library itself
echo "3. (a name of ${#tooLong} characters cannot be sent: dig refuses it)"
alive_and_answering names

# ---- 4. monster upstream answers
r0=$(rss)
out=$(e2e_kdig $DR huge.test A +tcp +timeout=8)
echo "4. 4,000 A records (~64 KB) over TCP: $(grep -o 'status: [A-Z]*' <<<"$out"), $(grep -c '^[^;].*IN[[:space:]]*A' <<<"$out") records"
echo "4. same over UDP (bufsize 1232): $(e2e_dig $DR huge.test A +bufsize=1232 +ignore | grep -o 'flags: [a-z ]*;' | head -n1)"
out=$(e2e_kdig $DR abcdefghijkl.test AAAA +tcp +bufsize=1232 +timeout=8)
echo "4. 65,527 bytes without OPT for an EDNS client: $(grep -o 'status: [A-Z]*' <<<"$out"), $(grep -c '^[^;].*IN[[:space:]]*AAAA' <<<"$out") records, OPT $(grep -q 'EDNS PSEUDOSECTION' <<<"$out" && echo present || echo absent)"
echo "4. CNAME chain of 16: $(e2e_rcode $DR c1.chain.test A), answer $(e2e_short $DR c1.chain.test A | tail -n1)"
echo "4. 300 bytes of garbage: $(e2e_rcode $DR garbage.test A)"
for i in $(seq 1 20); do e2e_kdig $DR huge.test A +tcp +timeout=8 >/dev/null; done
echo "4. RSS before the monsters $r0 KiB, after 22 monster answers $(rss) KiB"
alive_and_answering monsters
e2e_stop dr

# ---- 5. forged answers (the e2e test at scale, in a namespace of its own)
n=${HOSTILE_FORGED:-4000}
rc=0
out=$(env -u E2E_IN_NETNS -u E2E_NETNS_MODE FORGED_QUERIES="$n" \
    bash "$E2E_LIB_DIR/test_forged_answers.sh" 2>&1) || rc=$?
grep -E '^# (client|upstream)' <<<"$out" | sed 's/^# /5. /'
((rc == 0)) || { printf '%s\n' "$out" >&2; e2e_fail "forged answers: the test failed (rc $rc)"; }
accepted=$(grep '^# client' <<<"$out" | grep -o 'forged=[0-9]*' | awk -F= '{s += $2} END {print s + 0}')
echo "5. forged answers accepted: $accepted (queries: $n, and 20 retried from a second socket)"
