#!/usr/bin/env bash
# test_badpackets.sh - issue 3, bad packets: garbage, short and QR-set packets are dropped or get
# FORMERR (never an answer from upstream, never a reply to a QR-set packet), other opcodes get
# NOTIMP, malformed names cost one query; the daemon survives all of it, UDP and TCP, and a
# burst of random datagrams, with no sanitizer report.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
PY="python3 $E2E_LIB_DIR/e2e_dns.py"

printf '%s\n' '* A a 10.0.0.1' >"$E2E_TMP/up.scenario"
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.2 >"$E2E_TMP/d.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/d.conf" --pid-file= --user=root
DR=127.0.0.1#5353
raw() { $PY raw "$1" 127.0.0.1 5353 "$2"; }

Q='03777777047465737400'          # www.test.
H='04d2 0100 0001 0000 0000 0000' # id 1234, RD, one question
good="${H// /}${Q}00010001"
e2e_assert_match '^rcode=0 flags=0x8180 id=1234' "$(raw udp "$good")" "a well-formed raw query works"

drop_or_formerr()
{
    local what=$1 proto=$2 hex=$3 r
    r=$(raw "$proto" "$hex")
    [[ "$r" == none || "$r" =~ ^rcode=1\  ]] || e2e_fail "$what ($proto): got [$r]"
    e2e_ok "$what ($proto): ${r%% flags*}"
}
for proto in udp tcp; do
    drop_or_formerr "5-byte packet" $proto 0102030405
    drop_or_formerr "header only, no question" $proto 04d201000000000000000000
    drop_or_formerr "garbage" $proto 04d2017f5a3c99e1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6
    drop_or_formerr "truncated question" $proto "${H// /}0377777704746573"
    drop_or_formerr "label longer than the packet" $proto "${H// /}3f777777047465737400"
    drop_or_formerr "compression pointer loop" $proto "${H// /}c00c00010001"
    drop_or_formerr "two questions" $proto "04d201000002000000000000${Q}00010001${Q}00010001"
    # A packet with QR set is a response: never answered (no reflection loops).
    e2e_assert_eq none "$(raw $proto "04d281000001000000000000${Q}00010001")" \
        "QR-set packet not answered ($proto)"
    # Opcodes other than QUERY (2 = STATUS, 4 = NOTIFY, 5 = UPDATE): NOTIMP.
    for op in 1 2 4 5; do
        flags=$(printf '%04x' $(((op << 11) | 0x0100)))
        e2e_assert_match '^rcode=4 ' "$(raw $proto "04d2${flags}000100000000000000${Q}00010001")" \
            "opcode $op -> NOTIMP ($proto)"
    done
done
e2e_assert_eq 0 "$(e2e_qlog_count up 'bad=')" "no bad packet was passed upstream"
e2e_assert_eq 1 "$(e2e_qlog_count up 'qname=www\.test\. ')" "only the well-formed www.test went upstream (no NOTIMP one)"

# A burst of 500 random datagrams (some with a valid-looking header), then normal service.
python3 - <<'PYEOF'
import os, random, socket
random.seed(7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(500):
    n = random.choice([0, 1, 11, 12, 13, 30, 100, 512, 1500])
    b = bytearray(os.urandom(n))
    if n >= 12 and i % 2:
        b[2] &= 0x7f; b[4] = 0; b[5] = 1     # query, one question, random rest
    s.sendto(bytes(b), ("127.0.0.1", 5353))
PYEOF
e2e_assert_eq 10.0.0.1 "$(e2e_short $DR after.test)" "daemon answers after 500 random datagrams"
e2e_assert_match 'IN[[:space:]]+A[[:space:]]+10\.0\.0\.1' \
    "$(e2e_kdig $DR after2.test A +tcp +noall +answer)" "and over TCP"
e2e_check_sanitizer dr
e2e_stop dr
