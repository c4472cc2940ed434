#!/usr/bin/env bash
# test_set_late.sh - sets that do not exist yet, or disappear (issue 4): while an ipset or an
# nftables set is missing, answers are unaffected and the problem is logged once, not per packet;
# once the set is created (after start-up, or again after being destroyed, or re-created with a
# usable type after a wrong one) the daemon re-probes it (every 5 s) and fills it within 10 s,
# without a restart or a reload.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_ipset
e2e_require_nft

# One name per address, so each check looks for an address no earlier query could have added.
N=400
for ((i = 1; i <= N; i++)); do
    echo "n$i.late.test A a 198.51.$((100 + i / 200)).$((i % 200 + 1))"
done >"$E2E_TMP/up.scenario"
addr_of() { echo "198.51.$((100 + $1 / 200)).$(($1 % 200 + 1))"; }

e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts server=127.0.0.2 \
    'ipset=/late.test/late4' 'nftset=/late.test/4#inet#tlate#late4n' >"$E2E_TMP/dr.conf"
e2e_start_dnsroute dr 5353 "$E2E_TMP/dr.conf" --pid-file= --user=root
DR=127.0.0.1#5353
next=1

# ask NAME_INDEX: one query; fails unless the right address comes back.
ask()
{
    local got
    got=$(e2e_short $DR "n$1.late.test")
    [[ "$got" == "$(addr_of "$1")" ]] || e2e_fail "n$1.late.test answered [$got] with a set missing"
}

# log_lines SET: lines of the daemon's log that name SET (no log-queries here, so only set news).
log_lines() { grep -c -- "$1" "$E2E_TMP/dr.err" || true; }

# 1. Both sets missing at start-up: every answer is still right, and each set is logged once.
for ((k = 0; k < 30; k++)); do ask $((next++)); done
e2e_ok "30 answers correct while both sets are missing"
e2e_assert_eq 1 "$(log_lines 'ipset late4:')" "missing ipset logged once, not per packet"
e2e_assert_eq 1 "$(log_lines 'nftset .*late4n')" "missing nftset logged once, not per packet"
e2e_assert_match 'late4.*(does not exist|not found|No such|missing)' "$(grep late4 "$E2E_TMP/dr.err")" \
    "the log says why"

# wait_filled KIND: creates nothing; queries a fresh name every 0.25 s until its address shows up
# in the set of KIND (ipset or nft), for at most 10 s after the set was created. Prints the delay.
wait_filled()
{
    local kind=$1 t0=$2 i a
    while :; do
        i=$((next++))
        ((i <= N)) || e2e_fail "scenario names exhausted"
        ask "$i"
        a=$(addr_of "$i")
        if [[ $kind == ipset ]] && e2e_ipset_has late4 "$a"; then break; fi
        if [[ $kind == nft ]] && e2e_nftset_has inet tlate late4n "$a"; then break; fi
        (($(date +%s%N) - t0 < 10500000000)) || e2e_fail "$kind set still not filled 10 s after creation"
        sleep 0.25
    done
    echo $((($(date +%s%N) - t0) / 1000000))
}

# 2. Create the sets now: filled within 10 s, no restart (same pid).
pid=$(e2e_pid dr)
e2e_ipset_create late4 hash:ip
t0=$(date +%s%N)
ms=$(wait_filled ipset "$t0")
e2e_ok "ipset created after start-up is filled after $ms ms"
e2e_nftset_create inet tlate late4n ipv4_addr
t0=$(date +%s%N)
ms=$(wait_filled nft "$t0")
e2e_ok "nftset created after start-up is filled after $ms ms"
e2e_assert_eq "$pid" "$(e2e_pid dr)" "same daemon process"
e2e_alive dr || e2e_fail "daemon died"
ask $((next++))
a=$(addr_of $((next - 1)))
e2e_ipset_has late4 "$a" || e2e_fail "$a not in late4 right after its answer"
e2e_nftset_has inet tlate late4n "$a" || e2e_fail "$a not in late4n right after its answer"
e2e_ok "both sets ready: the answer's address is in both when the answer arrives"

# 3. Destroy both while running: answers still right, a bounded number of log lines for 30
# queries (the failed add, then silence until re-created), then filled again once re-created.
ipset destroy late4
nft delete table inet tlate
before4=$(log_lines 'ipset late4:')
beforen=$(log_lines 'nftset .*late4n')
for ((k = 0; k < 30; k++)); do ask $((next++)); done
e2e_ok "30 answers correct after both sets were destroyed"
l4=$(($(log_lines 'ipset late4:') - before4))
ln=$(($(log_lines 'nftset .*late4n') - beforen))
((l4 >= 1 && l4 <= 2)) || e2e_fail "destroyed ipset: $l4 log lines for 30 queries, want 1..2"
e2e_ok "destroyed ipset logged $l4 time(s) for 30 queries"
((ln >= 1 && ln <= 2)) || e2e_fail "destroyed nftset: $ln log lines for 30 queries, want 1..2"
e2e_ok "destroyed nftset logged $ln time(s) for 30 queries"

# 4. Re-created with types that cannot hold addresses: noticed at the next re-probe, logged once,
# answers unaffected; then replaced by usable sets: filled within 10 s.
e2e_ipset_create late4 hash:ip,port
e2e_nftset_create inet tlate late4n inet_service
for ((k = 0; k < 110; k++)); do
    grep -q 'ipset late4: .*cannot hold' "$E2E_TMP/dr.err" &&
        grep -q 'nftset .*late4n: .*cannot hold' "$E2E_TMP/dr.err" && break
    sleep 0.1
done
e2e_assert_match 'ipset late4: hash:ip,port cannot hold plain addresses' "$(cat "$E2E_TMP/dr.err")" \
    "unusable ipset type noticed by the re-probe"
e2e_assert_match 'nftset .*late4n: .*cannot hold plain addresses' "$(cat "$E2E_TMP/dr.err")" \
    "unusable nftset key type noticed by the re-probe"
for ((k = 0; k < 20; k++)); do ask $((next++)); done
e2e_ok "20 answers correct while the sets have unusable types"
e2e_assert_eq 1 "$(grep -c 'ipset late4: .*cannot hold' "$E2E_TMP/dr.err")" "unusable ipset logged once"
e2e_assert_eq 1 "$(grep -c 'nftset .*late4n: .*cannot hold' "$E2E_TMP/dr.err")" \
    "unusable nftset logged once"
ipset destroy late4
nft delete table inet tlate
e2e_ipset_create late4 hash:ip
e2e_nftset_create inet tlate late4n ipv4_addr
t0=$(date +%s%N)
ms=$(wait_filled ipset "$t0")
e2e_ok "re-created ipset filled again after $ms ms"
ms=$(wait_filled nft "$t0")
e2e_ok "re-created nftset filled again after $ms ms"

e2e_check_sanitizer dr
e2e_stop dr
