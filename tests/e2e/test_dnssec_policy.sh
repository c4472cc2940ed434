#!/usr/bin/env bash
# test_dnssec_policy.sh - issue 10, DNSSEC policy: dnsroute does not validate, so `dnssec` (file or
# command line, also under --test) refuses to start with a message naming the alternative, exit 1;
# `proxy-dnssec` passes the upstream's AD bit on (fresh and cached answers), without it AD is
# cleared - compared with dnsmasq 2.90 on the same configuration and the same upstream.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

# --- dnssec is refused, loudly, in every way it can be given
printf '%s\n' no-resolv no-hosts server=127.0.0.2 dnssec >"$E2E_TMP/v.conf"
want='DNSSEC validation is not supported by dnsroute; use a validating upstream server and proxy-dnssec instead'
for mode in --test -k; do
    rc=0
    out=$("$DNSROUTE_BIN" $mode -C "$E2E_TMP/v.conf" --port=5399 --pid-file= 2>&1 | sed "/^$/d") || rc=$?
    e2e_assert_eq 1 "$rc" "dnssec in a file ($mode): exit 1"
    e2e_assert_eq "dnsroute: dnssec: $want at line 4 of $E2E_TMP/v.conf" "$out" \
        "dnssec in a file ($mode): the message names the option, the alternative, file and line"
done
rc=0
out=$("$DNSROUTE_BIN" --test -C /dev/null --dnssec 2>&1) || rc=$?
e2e_assert_eq 1 "$rc" "--dnssec on the command line: exit 1"
e2e_assert_match "^dnsroute: bad command line options: dnssec: $want\$" "$out" \
    "--dnssec on the command line: the message"
printf '%s\n' no-resolv server=127.0.0.2 proxy-dnssec 'dnssec-check-unsigned=no' >"$E2E_TMP/p.conf"
rc=0
"$DNSROUTE_BIN" --test -C "$E2E_TMP/p.conf" >/dev/null 2>&1 || rc=$?
e2e_assert_eq 0 "$rc" "proxy-dnssec alone is accepted"

# --- the AD bit: passed on only with proxy-dnssec
cat >"$E2E_TMP/up.scenario" <<'EOF2'
signed.test   A  a 192.0.2.1 ad
plain.test    A  a 192.0.2.2
EOF2
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts server=127.0.0.2 >"$E2E_TMP/off.conf"
printf '%s\n' no-resolv no-hosts server=127.0.0.2 proxy-dnssec >"$E2E_TMP/on.conf"
e2e_start_dnsroute r_off 5353 "$E2E_TMP/off.conf" --pid-file= --user=root
e2e_start_dnsroute r_on 5354 "$E2E_TMP/on.conf" --pid-file= --user=root
flags() { e2e_answer "$1" "$2" A "${@:3}" | grep '^flags' || true; }
for pass in fresh cached; do
    e2e_assert_no_match ' ad' "$(flags 127.0.0.1#5353 signed.test +dnssec)" \
        "without proxy-dnssec: AD cleared ($pass)"
    e2e_assert_match ' ad' "$(flags 127.0.0.1#5354 signed.test +dnssec)" \
        "with proxy-dnssec: the upstream's AD passes ($pass)"
    e2e_assert_no_match ' ad' "$(flags 127.0.0.1#5354 plain.test +dnssec)" \
        "with proxy-dnssec: no AD where the upstream set none ($pass)"
done
if [[ -x "$DNSMASQ" ]]; then
    e2e_start_dnsmasq d_off 5363 "$E2E_TMP/off.conf"
    e2e_start_dnsmasq d_on 5364 "$E2E_TMP/on.conf"
    for pass in fresh cached; do
        for n in signed.test plain.test; do
            e2e_assert_eq "$(flags 127.0.0.1#5363 $n +dnssec)" "$(flags 127.0.0.1#5353 $n +dnssec)" \
                "$n without proxy-dnssec: flags as dnsmasq 2.90 ($pass)"
            e2e_assert_eq "$(flags 127.0.0.1#5364 $n +dnssec)" "$(flags 127.0.0.1#5354 $n +dnssec)" \
                "$n with proxy-dnssec: flags as dnsmasq 2.90 ($pass)"
        done
    done
fi
