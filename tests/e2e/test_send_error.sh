#!/usr/bin/env bash
# test_send_error.sh - a query whose datagram cannot be sent fails alone: the other queries in
# flight to the same server are left alone. An nftables rule in the namespace drops (sendto:
# EPERM) the one query for 0123456.blocked.test to the first server while 16 others wait for
# that server's answer (it never answers them). The blocked query goes at once to the second
# server (strict-order); the 16 go there only after the try timeout (1 s), never earlier.
# c-ares 1.34 takes a send error from the socket functions for a broken connection and ends or
# re-sends every query in flight on the channel (all of them, with the port pool); dnsroute
# reports the write as done and fails that one attempt itself (src/upstream_chan.c). Run
# against every c-ares version by .ci/cares-matrix.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_nft
command -v dig >/dev/null || e2e_skip "dig not found"

printf '%s\n' '*.hold.test A drop' '* A a 192.0.2.1' >"$E2E_TMP/up.scenario"
printf '%s\n' '* A a 192.0.2.7' >"$E2E_TMP/up2.scenario"
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
e2e_start_fake up2 "$E2E_TMP/up2.scenario" 127.0.0.3#53
printf '%s\n' no-resolv no-hosts cache-size=0 strict-order server=127.0.0.2 server=127.0.0.3 \
    >"$E2E_TMP/c.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/c.conf" --pid-file= --user=root --workers=1
DR=127.0.0.1#5353
e2e_assert_eq 192.0.2.1 "$(e2e_short $DR warm.test)" "the first server answers"

# Drops UDP queries to the first server whose name starts with the label "0123456" (UDP header
# 8 bytes + DNS header 12 bytes = bit 160: length byte 7, then the digits).
nft add table inet e2e_send
nft add chain inet e2e_send out '{ type filter hook output priority 0; }'
nft add rule inet e2e_send out ip daddr 127.0.0.2 udp dport 53 @th,160,64 0x0730313233343536 \
    counter drop

n=16
pids=()
for i in $(seq 1 $n); do
    e2e_short $DR "q$i.hold.test" A +time=4 >"$E2E_TMP/hold$i.out" &
    pids+=($!)
done
e2e_wait_qlog up $n 'qname=q[0-9]+\.hold\.test\.'
e2e_assert_eq 192.0.2.7 "$(e2e_short $DR 0123456.blocked.test)" \
    "a query that cannot be sent to the first server is answered by the second"
for p in "${pids[@]}"; do wait "$p"; done

dropped=$(nft list chain inet e2e_send out | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
e2e_assert_ge 1 "$dropped" "the rule dropped the blocked query's datagram"
e2e_assert_eq 0 "$(e2e_qlog_count up 'qname=0123456\.blocked\.test\.')" \
    "the first server never got the blocked query"
late=0
for i in $(seq 1 $n); do
    e2e_assert_eq 192.0.2.7 "$(cat "$E2E_TMP/hold$i.out")" "q$i answered by the second server"
    e2e_assert_eq 1 "$(e2e_qlog_count up "qname=q$i\.hold\.test\.")" "q$i sent once to the first"
    t1=$(e2e_qlog_field up ts "qname=q$i\.hold\.test\.")
    t2=$(e2e_qlog_field up2 ts "qname=q$i\.hold\.test\.")
    [[ -n $t2 ]] || e2e_fail "q$i never reached the second server"
    # Sent on only after the try timeout (1 s), not when the blocked query's send failed (before
    # the fix: within ~150 ms). t1 is when the first fake read the query, which on a loaded
    # machine can be well after the daemon sent it (and the timer runs from the send, on the
    # loop's cached time): half the timeout keeps the two cases apart without betting on the
    # scheduler.
    if awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b - a < 0.5) }'; then
        e2e_log "q$i: first server at $t1, second at $t2"
        late=$((late + 1))
    fi
done
e2e_assert_eq 0 "$late" "no query in flight failed over before its try timeout"
e2e_stop dr
