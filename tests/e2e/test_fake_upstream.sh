#!/usr/bin/env bash
# test_fake_upstream.sh - every action and modifier of fake_upstream's scenario format, checked
# directly with dig/kdig (no forwarder in between), plus its query log, reload and shutdown.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"

sc="$E2E_TMP/fake.scenario"
cp "$E2E_CONF/fake.scenario" "$sc"
listen=(127.0.0.2#53)
[[ $E2E_HAVE_IPV6 == 1 ]] && listen+=("fd00::53#53@v6")
e2e_start_fake up "$sc" "${listen[@]}" -- -x
F=127.0.0.2
ans() { e2e_answer $F "$@"; }

# Addresses, TTL, types.
e2e_assert_eq "192.0.2.1
192.0.2.2
192.0.2.3" "$(e2e_short $F multi.test)" "a with a list and an extra token"
e2e_assert_eq "42" "$(e2e_dig $F multi.test A +noall +answer | awk '{print $2}' | sort -u)" "ttl="
e2e_assert_eq "2001:db8::1
2001:db8::2" "$(e2e_short $F multi.test AAAA)" "aaaa"
e2e_assert_match '^ns onlya\.test\. IN SOA' "$(ans onlya.test AAAA)" "type * + a: AAAA is NODATA"
e2e_assert_eq "192.0.2.10" "$(e2e_short $F x.y.wild.test)" "*.suffix matches below the suffix"
e2e_assert_eq "NXDOMAIN" "$(e2e_rcode $F wild.test)" "*.suffix does not match the suffix"
e2e_assert_eq "NXDOMAIN" "$(e2e_rcode $F unknown.example)" "no rule: NXDOMAIN fallback"

# CNAME chains.
e2e_assert_eq "c.test. CNAME c2.test.
c2.test. CNAME c3.test.
c3.test. A 192.0.2.33" "$(e2e_dig $F c.test A +noall +answer | awk '{print $1, $4, $5}')" \
    "cname chain resolved inside the fake"
cnx=$(ans cnx.test)
e2e_assert_match '^rcode NXDOMAIN$' "$cnx" "cname to an NXDOMAIN name"
e2e_assert_match '^an cnx\.test\. IN CNAME gone\.test\.$' "$cnx" "  keeps the CNAME"
e2e_assert_match '^ns gone\.test\. IN SOA .* 5$' "$cnx" "  and the target's SOA"
e2e_assert_eq "SERVFAIL" "$(e2e_rcode $F loop1.test)" "cname loop ends as SERVFAIL"

# Negative answers and rcodes.
e2e_assert_match '^ns test\. IN SOA ns\.fake-upstream\.test\. hostmaster\.fake-upstream\.test\. 1 3600 600 86400 17$' \
    "$(ans nx.test)" "nxdomain: SOA zone= and min="
e2e_assert_match '^rcode NOERROR$' "$(ans nodata.test)" "nodata rcode"
e2e_assert_eq "SERVFAIL" "$(e2e_rcode $F sf.test)" "servfail"
e2e_assert_eq "REFUSED" "$(e2e_rcode $F ref.test)" "refused"
e2e_assert_eq "NOTIMP" "$(e2e_rcode $F ni.test)" "notimp"
e2e_assert_eq "NOTAUTH" "$(e2e_rcode $F rc.test)" "rcode=9"
fe=$(ans fe.test)
e2e_assert_match '^rcode FORMERR$' "$fe" "formerr"
e2e_assert_no_match '^edns' "$fe" "formerr carries no OPT"

# Timing: delay and drop.
t0=$(date +%s%N)
e2e_assert_eq "192.0.2.50" "$(e2e_short $F slow.test)" "delay= still answers"
ms=$((($(date +%s%N) - t0) / 1000000))
e2e_assert_ge 400 "$ms" "delay=400 waits (${ms} ms)"
e2e_assert_eq "TIMEOUT" "$(e2e_rcode $F drop.test A +time=1)" "drop"

# Truncation.
e2e_assert_match '^flags .*tc' "$(ans tc.test A +ignore)" "tc over UDP"
e2e_assert_no_match '^an' "$(ans tc.test A +ignore)" "tc over UDP has no answer"
e2e_assert_eq "192.0.2.60" "$(e2e_short $F tc.test A +tcp)" "tc: full answer over TCP"
e2e_assert_match '^flags .*tc' "$(ans baretc.test A +ignore)" "bare tc rule over UDP"
e2e_assert_eq "192.0.2.61" "$(e2e_short $F baretc.test A +tcp)" "bare tc: TCP takes the next rule"
e2e_assert_match '^flags .*tc' "$(ans big.test A +ignore +bufsize=1232)" "big=100 > 1232: TC"
e2e_assert_match '^flags .*tc' "$(ans big.test A +ignore +noedns)" "big=100 > 512: TC"
e2e_assert_eq 100 "$(e2e_short $F big.test A +ignore +bufsize=4096 | wc -l)" "big fits in 4096"
e2e_assert_eq 100 "$(e2e_short $F big.test A +tcp | wc -l)" "big over TCP"
e2e_assert_eq 100 "$(e2e_short $F bigfull.test A +ignore +noedns | wc -l)" "notrunc"
e2e_assert_match '^flags .*tc' "$(ans tckeep.test A +ignore)" "tckeep over UDP: TC"
e2e_assert_match '^an tckeep\.test\. IN A 192\.0\.2\.62$' "$(ans tckeep.test A +ignore)" \
    "tckeep over UDP keeps the records"
e2e_assert_no_match '^flags .*tc' "$(ans tckeep.test A +tcp)" "tckeep over TCP: no TC"
e2e_assert_no_match '^an' "$(ans bigkeep.test A +ignore +noedns)" "tckeep: too big is still emptied"
e2e_assert_match '^rcode NXDOMAIN$' "$(ans setrc.test A)" "setrcode=3: NXDOMAIN"
e2e_assert_match '^an setrc\.test\. IN A 192\.0\.2\.63$' "$(ans setrc.test A)" "setrcode keeps the records"

# Broken replies.
e2e_assert_match 'ID mismatch' "$(e2e_dig $F wid.test A +time=1)" "wrongid"
e2e_assert_match 'Question section mismatch: got wrong-question\.invalid' \
    "$(e2e_dig $F wq.test A +time=1)" "wrongq"
e2e_assert_match '^;Wc\.TEST\.' "$(e2e_dig $F wC.test A +noall +question)" "wrongcase flips case"
e2e_assert_match '^64 bytes' "$(e2e_dig $F gb.test A +time=1)" "garbage: 64 bytes"
e2e_assert_eq "TIMEOUT" "$(e2e_rcode $F fp.test A +time=1)" "fromport: a connected client ignores it"
if command -v python3 >/dev/null; then
    sport=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
q = bytes.fromhex("abcd01000001000000000000") + b"\x02fp\x04test\x00\x00\x01\x00\x01"
s.sendto(q, ("127.0.0.2", 53)); data, src = s.recvfrom(4096)
print(src[1] if data[:2] == q[:2] else "bad-id")')
    e2e_assert_ne 53 "$sport" "fromport: reply comes from port $sport"
else
    e2e_skip_part "python3 not found: the fromport check"
fi

e2e_assert_match 'connection reset|connection closed|no (data|reply)|end of file|failed' \
    "$(e2e_kdig $F closetcp.test A +tcp)" "close: TCP connection closed without reply"
e2e_assert_eq "TIMEOUT" "$(e2e_rcode $F closetcp.test A +time=1)" "close over UDP: no reply"

# Conditions: times=, when=, proto=.
e2e_assert_eq "SERVFAIL" "$(e2e_rcode $F once.test)" "times=1: first query"
e2e_assert_eq "192.0.2.74" "$(e2e_short $F once.test)" "times=1: then the next rule"
e2e_assert_eq "FORMERR" "$(e2e_rcode $F old.test)" "when=edns: EDNS query gets FORMERR"
e2e_assert_eq "192.0.2.75" "$(e2e_short $F old.test A +noedns)" "when=edns: plain query answered"
e2e_assert_eq "192.0.2.77" "$(e2e_short $F tcponly.test)" "proto=tcp rule skipped over UDP"
e2e_assert_eq "192.0.2.76" "$(e2e_short $F tcponly.test A +tcp)" "proto=tcp rule used over TCP"

# Header and EDNS echo.
e2e_assert_match '^edns udp=4096 do=1$' "$(ans multi.test A +dnssec)" "OPT 4096 with DO echoed"
e2e_assert_no_match '^edns' "$(ans multi.test A +noedns)" "no OPT without EDNS in the query"
e2e_assert_no_match '^edns' "$(ans noopt.test A)" "edns=none"
e2e_assert_eq "flags aa qr rd" "$(ans flags.test | grep '^flags')" "aa and nora"
e2e_assert_eq "flags qr ra" "$(ans multi.test A +nordflag | grep '^flags')" "RD copied (clear)"
e2e_assert_match '^;MuLtI\.TeSt\.' "$(e2e_dig $F MuLtI.TeSt A +noall +question)" \
    "question echoed with its case"

# TCP pipelining: two queries on one connection, answered in order.
kd=$(kdig @127.0.0.2 +tcp +keepopen +retry=0 +timeout=2 multi.test A c3.test A 2>&1)
e2e_assert_match '192\.0\.2\.1' "$kd" "pipelined query 1"
e2e_assert_match '192\.0\.2\.33' "$kd" "pipelined query 2"
tcp_ports=$(e2e_qlog_field up sport 'proto=tcp .*qname=(multi|c3)\.test\. qtype=A' | tail -n2 |
    sort -u | wc -l)
e2e_assert_eq 1 "$tcp_ports" "both came over one TCP connection"

# Per-listener rules: the @v6 default only applies to the IPv6 listener.
if [[ $E2E_HAVE_IPV6 == 1 ]]; then
    e2e_assert_eq "2001:db8::53" "$(e2e_short fd00::53 anything.test AAAA)" "@tag default (IPv6)"
    e2e_assert_eq "NXDOMAIN" "$(e2e_rcode $F anything.test AAAA)" "other listener: fallback"
else
    e2e_skip_part "IPv6 unavailable in the namespace: the IPv6 listener checks"
fi

# Query log: one line per query with source, ID, qname as received, EDNS, hex.
e2e_dig $F LoG.test A +dnssec +bufsize=1400 >/dev/null
line=$(grep 'qname=LoG\.test\.' "$(e2e_qlog up)")
e2e_assert_match '^ts=[0-9.]+ lis=127\.0\.0\.2#53 proto=udp src=127\.0\.0\.1 sport=[0-9]+ len=[0-9]+ id=[0-9]+ qname=LoG\.test\. qtype=A qclass=1 rd=1 cd=0 edns=1400 do=1 ver=0 act=nxdomain\(fallback\) line=0 hex=[0-9a-f]+$' \
    "$line" "query log line format"

# Malformed input costs nothing: short packet, QR set, bad question.
printf 'abcde' >/dev/udp/127.0.0.2/53
printf '\x12\x34\x81\x00\x00\x01\x00\x00\x00\x00\x00\x00' >/dev/udp/127.0.0.2/53
printf '\x12\x35\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f' >/dev/udp/127.0.0.2/53
e2e_wait_qlog up 1 'bad=formerr'
e2e_assert_eq 1 "$(e2e_qlog_count up 'bad=short')" "short packet logged"
e2e_assert_eq 1 "$(e2e_qlog_count up 'bad=qr-set')" "response packet logged, not answered"
e2e_assert_eq "192.0.2.1" "$(e2e_short $F multi.test | head -n1)" "still serving"

# SIGHUP re-reads the scenario; a broken one is refused and the old rules stay.
sed -i 's/192\.0\.2\.80/192.0.2.81/' "$sc"
e2e_signal up HUP
for _ in $(seq 50); do
    [[ "$(e2e_short $F reload.test)" == 192.0.2.81 ]] && break
    sleep 0.05
done
e2e_assert_eq "192.0.2.81" "$(e2e_short $F reload.test)" "SIGHUP reload"
echo "bad.test A nosuchaction" >>"$sc"
e2e_signal up HUP
e2e_wait_log up 'unknown action'
e2e_assert_eq "192.0.2.81" "$(e2e_short $F reload.test)" "bad reload keeps the old scenario"
e2e_assert_match 'fake\.scenario:[0-9]+: unknown action .nosuchaction.' "$(cat "$E2E_TMP/up.err")" \
    "bad reload reports file:line"

# A bad scenario at startup is a precise error and exit status 2.
printf 'x.test A a 1.2.3.4\nx.test A a 999.1.1.1\n' >"$E2E_TMP/bad.scenario"
rc=0
err=$("$FAKE_UPSTREAM" -l 127.0.0.3#53 -s "$E2E_TMP/bad.scenario" 2>&1) || rc=$?
e2e_assert_eq 2 "$rc" "bad scenario: exit 2"
e2e_assert_match 'bad\.scenario:2: a needs a list of IPv4 addresses' "$err" "bad scenario: file:line"

# SIGTERM: clean exit, pidfile removed.
e2e_stop up
[[ ! -e "$E2E_TMP/up.pid" ]] || e2e_fail "pidfile left behind"
e2e_ok "pidfile removed"
