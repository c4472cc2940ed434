#!/usr/bin/env bash
# test_slow_answer.sh - an answer that comes a moment later than usual is taken, not lost to a
# re-send: after 30 quick answers from a one-server group (a latency of ~1 ms), an answer delayed
# 600 ms - within the try timeout (1 s) - reaches the client from the first and only query sent.
# c-ares 1.26+ keeps per-server latency figures and times an attempt out after 5x the average,
# at least 250 ms; dnsroute hides every answer's rcode from c-ares so that it never learns them
# and keeps the configured timeout (src/upstream_chan.c). Over UDP and TCP. Run against every
# c-ares version by .ci/cares-matrix.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

cat >"$E2E_TMP/up.scenario" <<'EOF2'
*.slow.test   A  a 192.0.2.6 delay=600
*.slow.test   AAAA  aaaa 2001:db8::6 delay=600
*             A  a 192.0.2.1
EOF2
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.2 >"$E2E_TMP/c.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/c.conf" --pid-file= --user=root --workers=1
DR=127.0.0.1#5353

for i in $(seq 1 30); do
    [[ "$(e2e_short $DR "q$i.fast.test")" == 192.0.2.1 ]] || e2e_fail "no quick answer for q$i"
done
e2e_assert_eq 192.0.2.6 "$(e2e_short $DR one.slow.test A +time=3)" "a 600 ms answer over UDP"
e2e_assert_eq 1 "$(e2e_qlog_count up 'qname=one\.slow\.test\.')" \
    "sent upstream once: no attempt timed out before the try timeout"
for i in $(seq 31 40); do e2e_short $DR "q$i.fast.test" +tcp >/dev/null; done
e2e_assert_eq 2001:db8::6 "$(e2e_short $DR two.slow.test AAAA +tcp +time=3)" \
    "a 600 ms answer to a TCP client"
e2e_assert_eq 1 "$(e2e_qlog_count up 'qname=two\.slow\.test\.')" "sent upstream once"
e2e_stop dr
