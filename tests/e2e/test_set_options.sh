#!/usr/bin/env bash
# test_set_options.sh - dnsroute's two set behaviours beyond dnsmasq and their off switches:
# element timeouts derived from the answer's TTL (clamped by --set-timeout=MIN,MAX; off: the
# set's default timeout, as dnsmasq), and re-adding addresses served from the cache (off with
# --no-set-refresh, as dnsmasq).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_ipset

cat >"$E2E_TMP/up.scenario" <<'SCN'
short.test  A  a 192.0.2.1 ttl=30
long.test   A  a 192.0.2.2 ttl=100000
mid.test    A  a 192.0.2.3 ttl=1000
SCN
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
e2e_ipset_create tdef hash:ip timeout 7777
e2e_ipset_create tclamp hash:ip timeout 7777
e2e_ipset_create toff hash:ip timeout 7777
timeout_of() { ipset list "$1" | awk -v a="$2" '$1 == a {print $3}'; }
conf() { printf '%s\n' no-resolv no-hosts server=127.0.0.2 "ipset=/test/$1" >"$E2E_TMP/$1.conf"; }
conf tdef; conf tclamp; conf toff

e2e_start_dnsroute ddef 5353 "$E2E_TMP/tdef.conf" --user=root --pid-file=
e2e_start_dnsroute dclamp 5354 "$E2E_TMP/tclamp.conf" --user=root --pid-file= --set-timeout=60,600
e2e_start_dnsroute doff 5355 "$E2E_TMP/toff.conf" --user=root --pid-file= --set-timeout=off
queried_at=$SECONDS
for port in 5353 5354 5355; do
    for n in short long mid; do e2e_short 127.0.0.1#$port $n.test >/dev/null; done
done
# A timeout has lost at most the seconds since the first query (many on a loaded machine; +1 for
# the rounding of SECONDS): each check allows that much, measured, not guessed.
lost() { echo $((SECONDS - queried_at + 1)); }

t=$(timeout_of tdef 192.0.2.1); [ "$t" -ge $((300 - $(lost))) ] && [ "$t" -le 300 ] || e2e_fail "ttl 30 -> $t"
e2e_ok "default: a 30 s TTL gives the 300 s floor ($t)"
t=$(timeout_of tdef 192.0.2.3); [ "$t" -ge $((1000 - $(lost))) ] && [ "$t" -le 1000 ] || e2e_fail "ttl 1000 -> $t"
e2e_ok "default: a 1000 s TTL gives 1000 s ($t)"
t=$(timeout_of tdef 192.0.2.2); [ "$t" -ge $((86400 - $(lost))) ] && [ "$t" -le 86400 ] || e2e_fail "-> $t"
e2e_ok "default: a 100000 s TTL gives the one-day cap ($t)"
t=$(timeout_of tclamp 192.0.2.1); [ "$t" -ge $((60 - $(lost))) ] && [ "$t" -le 60 ] || e2e_fail "clamp -> $t"
e2e_ok "--set-timeout=60,600: a 30 s TTL gives 60 s ($t)"
t=$(timeout_of tclamp 192.0.2.2); [ "$t" -ge $((600 - $(lost))) ] && [ "$t" -le 600 ] || e2e_fail "clamp -> $t"
e2e_ok "--set-timeout=60,600: a long TTL gives 600 s ($t)"
for a in 192.0.2.1 192.0.2.2 192.0.2.3; do
    t=$(timeout_of toff $a); [ "$t" -ge $((7777 - $(lost))) ] && [ "$t" -le 7777 ] || e2e_fail "off $a -> $t"
done
e2e_ok "--set-timeout=off: the set's own timeout (7777 s) for every element"

# Cache-hit refresh: flush the sets, ask again (answers now come from the cache).
ipset flush tdef
ipset flush toff
e2e_short 127.0.0.1#5353 mid.test >/dev/null
e2e_ipset_has tdef 192.0.2.3 || e2e_fail "a cached answer did not refill the flushed set"
e2e_ok "default: a cached answer adds its address again"
e2e_stop doff
e2e_start_dnsroute doff2 5356 "$E2E_TMP/toff.conf" --user=root --pid-file= --no-set-refresh
e2e_short 127.0.0.1#5356 mid.test >/dev/null
e2e_ipset_has toff 192.0.2.3 || e2e_fail "first (upstream) answer not added"
ipset flush toff
e2e_short 127.0.0.1#5356 mid.test >/dev/null
# mid.test reached upstream once per daemon (4); the repeats were answered from the caches.
e2e_assert_eq 4 "$(e2e_qlog_count up 'qname=mid\.test')" "the second query came from the cache"
if e2e_ipset_has toff 192.0.2.3; then e2e_fail "--no-set-refresh: cached answer re-added"; fi
e2e_ok "--no-set-refresh: a cached answer does not touch the set (dnsmasq's behaviour)"
e2e_stop ddef
e2e_stop dclamp
e2e_stop doff2
