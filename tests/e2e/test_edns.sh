#!/usr/bin/env bash
# test_edns.sh - issue 3, EDNS and truncation as dnsmasq 2.92+ does it: every query goes upstream
# with an OPT of size edns-packet-max carrying the client's DO bit and EDNS options; the OPT is
# stripped from the reply when the client sent none; a reply larger than the client's UDP size
# (clamped to [512, edns-packet-max], 512 without EDNS) gets TC; an upstream TC reaches the
# client and dig's TCP retry gets the full answer. Also the c-ares 1.18.1 traps end to end: a
# FORMERR without OPT does not switch EDNS off or corrupt later queries, and ~1000-byte UDP
# answers arrive intact before and after it. A TCP answer within 11 bytes of 65,535 (no room left
# for the OPT an EDNS client asked for) is relayed without the OPT instead of SERVFAIL; every
# SERVFAIL the daemon makes up counts in SIGUSR1's servfail.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

cat >"$E2E_TMP/up.scenario" <<'EOF2'
old.test    A  formerr when=edns
old.test    A  a 192.0.2.75
tcx.test    A  tc
tcx.test    A  a 5.5.5.5
b25.test    A  big=25
b40.test    A  big=40
b64.test    A  big=64
b100.test   A  big=100 notrunc
abcdefghijkl.test AAAA big=2339 edns=none
sf.test     A  drop
*           A  a 10.0.0.2
EOF2
# -x: the query log carries each query's hex dump (to see the EDNS options).
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53 -- -x
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.2 >"$E2E_TMP/d.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/d.conf" --pid-file= --user=root
DR=127.0.0.1#5353
qlog() { grep -E -- "$1" "$(e2e_qlog up)" | tail -n1; }

# --- OPT to upstream
e2e_dig $DR noedns.test A +noedns >/dev/null
e2e_assert_match 'edns=1232 do=0' "$(qlog 'qname=noedns\.test\.')" \
    "client without EDNS: upstream still gets OPT 1232 (edns-packet-max)"
r=$(e2e_answer $DR noedns.test A +noedns)
e2e_assert_no_match '^edns' "$r" "client without EDNS gets no OPT back"
e2e_assert_match '^an noedns\.test\. IN A 10\.0\.0\.2$' "$r" "and the answer"
e2e_dig $DR do.test A +dnssec +bufsize=4000 >/dev/null
e2e_assert_match 'edns=1232 do=1' "$(qlog 'qname=do\.test\.')" \
    "client DO bit reaches upstream; size is edns-packet-max, not the client's 4000"
e2e_assert_match '^edns udp=1232 do=1$' "$(e2e_answer $DR do.test A +dnssec)" \
    "client with EDNS gets OPT 1232 with DO"
e2e_dig $DR opt.test A +ednsopt=65001:c0ffee >/dev/null
e2e_assert_match 'hex=.*fde90003c0ffee' "$(qlog 'qname=opt\.test\.')" \
    "client EDNS option (65001=c0ffee) forwarded upstream"

# --- truncation towards the client
hdr() { e2e_answer $DR "$@" | grep -E '^(flags|rcode)' | xargs; }
nan() { e2e_answer $DR "$@" | grep -c '^an ' || true; }
e2e_assert_match 'flags .*tc' "$(hdr b40.test A +noedns +ignore)" \
    "~670-byte answer, client without EDNS (512): TC"
e2e_assert_eq 0 "$(nan b40.test A +noedns +ignore)" "the TC reply carries no records"
e2e_assert_eq 40 "$(nan b40.test A +bufsize=1232)" "same answer fits 1232: 40 records"
e2e_assert_match 'flags .*tc' "$(hdr b40.test A +bufsize=600 +ignore)" \
    "client size 600 respected: TC"
e2e_assert_no_match 'tc' "$(hdr b25.test A +bufsize=100)" \
    "~440-byte answer, client size 100: clamped up to 512, no TC"
e2e_assert_eq 25 "$(nan b25.test A +bufsize=100)" "25 records"
e2e_assert_match 'flags .*tc' "$(hdr b100.test A +bufsize=4096 +ignore)" \
    "~1650-byte answer, client size 4096: clamped down to 1232, TC"
e2e_assert_eq 100 "$(e2e_short $DR b100.test A +bufsize=4096 | wc -l)" \
    "dig retries over TCP and gets all 100 records"
e2e_assert_ge 1 "$(e2e_qlog_count up 'proto=tcp .*qname=b100\.test\.')" "the retry went upstream over TCP"

# --- upstream TC passed through
e2e_assert_match 'flags .*tc' "$(hdr tcx.test A +ignore)" "upstream TC reaches the client"
e2e_assert_eq 5.5.5.5 "$(e2e_short $DR tcx.test A)" "dig's TCP retry gets the answer"
e2e_assert_ge 1 "$(e2e_qlog_count up 'proto=tcp .*qname=tcx\.test\.')" "TCP retry forwarded over TCP"

# --- c-ares traps: ~1000-byte UDP answers intact; FORMERR without OPT changes nothing after it.
big_ok()
{
    local out n
    out=$(e2e_dig $DR "$1" A +bufsize=1232 +notcp +ignore)
    n=$(e2e_norm <<<"$out" | grep -c '^an .* IN A 10\.0\.' || true)
    [[ "$n" == 64 ]] && ! grep -q 'flags:.* tc' <<<"$out" && grep -q 'MSG SIZE  rcvd: 1[0-9][0-9][0-9]' <<<"$out"
}
big_ok b64.test || e2e_fail "a ~1000-byte UDP answer did not arrive intact"
e2e_ok "~1000-byte UDP answer (64 records, >1000 bytes) intact over UDP"
f=$(e2e_rcode $DR old.test A)
e2e_log "old.test (FORMERR without OPT to an EDNS query) -> $f"
[[ "$f" == FORMERR || "$f" == NOERROR ]] || e2e_fail "old.test answered $f"
e2e_ok "FORMERR-without-OPT upstream: client got $f"
for i in 1 2 3; do
    e2e_rcode $DR old.test A >/dev/null
    big_ok b64.test || e2e_fail "~1000-byte answer damaged after FORMERR number $i"
    e2e_assert_eq 10.0.0.2 "$(e2e_short $DR "after$i.test")" "small query after FORMERR $i"
done
e2e_ok "large answers intact after repeated FORMERRs"
e2e_assert_eq 0 "$(e2e_qlog_count up 'qname=(after[0-9]|b64)\.test\. .*edns=none')" \
    "EDNS never switched off for later queries (c-ares fallback trap)"
# c-ares' EDNS fallback also cuts 11 bytes off the query: every query to upstream still parses.
e2e_assert_eq 0 "$(e2e_qlog_count up 'bad=')" "no malformed query ever reached upstream"
e2e_assert_eq 5.5.5.5 "$(e2e_short $DR tcx.test A)" "TC + TCP retry still works after FORMERRs"

# --- 12 + 23 + 2339 * 28 = 65,527 bytes without OPT from upstream (over TCP after its TC): an EDNS
# client over TCP gets it whole, without an OPT (adding one would pass 65,535).
out=$(e2e_kdig $DR abcdefghijkl.test AAAA +tcp +bufsize=1232 +timeout=5)
e2e_assert_match 'status: NOERROR' "$out" "65,527-byte TCP answer for an EDNS client: NOERROR (was SERVFAIL)"
e2e_assert_eq 2339 "$(grep -c '^[^;].*IN[[:space:]]*AAAA' <<<"$out")" "all 2,339 records relayed"
e2e_assert_no_match 'EDNS PSEUDOSECTION|OPT PSEUDOSECTION' "$out" "without the OPT that no longer fits"
# --- servfail counts every SERVFAIL answered: here one upstream timeout.
e2e_assert_eq SERVFAIL "$(e2e_rcode $DR sf.test A +time=8)" "silent upstream: SERVFAIL"
e2e_signal dr USR1
for ((i = 0; i < 100; i++)); do grep -q 'servfail' "$E2E_TMP/dr.err" && break; sleep 0.05; done
e2e_assert_match 'servfail 1, ' "$(cat "$E2E_TMP/dr.err")" "SIGUSR1: the SERVFAIL counted"
e2e_stop dr
