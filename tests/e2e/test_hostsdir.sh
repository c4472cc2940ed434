#!/usr/bin/env bash
# test_hostsdir.sh - issue 9, hostsdir=: the files of a watched directory are hosts files, and a
# file written, moved in or deleted there takes effect within a second or two without SIGHUP
# (inotify), as in dnsmasq 2.90. A Pi-hole-like configuration (a blocklist through addn-hosts, the
# "Local DNS records" in a hostsdir, domain= and expand-hosts): real dnsmasq 2.90 gets the same
# configuration and watches the same directory; after every change both must answer the same
# queries identically (rcode, flags, records; TTLs masked).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
e2e_require_dnsmasq

e2e_start_fake_catchall up 127.0.0.2#53

mkdir "$E2E_TMP/custom" "$E2E_TMP/dhcp"
cat >"$E2E_TMP/gravity.list" <<'EOF2'
0.0.0.0 ads.example.com
0.0.0.0 tracker.example.net
:: tracker.example.net
EOF2
printf '192.168.1.10 nas\n192.168.1.11 printer printer.home\n' >"$E2E_TMP/custom/custom.list"
printf '192.168.1.12 skipped\n' >"$E2E_TMP/custom/.hidden"
printf 'fd00::20 tv\n192.168.1.20 tv\n' >"$E2E_TMP/dhcp/static"

conf="$E2E_TMP/pihole.conf"
cat >"$conf" <<EOF2
no-resolv
no-hosts
server=127.0.0.2
cache-size=0
domain-needed
bogus-priv
domain=lan
local=/lan/
expand-hosts
addn-hosts=$E2E_TMP/gravity.list
hostsdir=$E2E_TMP/custom
hostsdir=$E2E_TMP/dhcp
EOF2
e2e_start_dnsroute dr 5353 "$conf" --pid-file= --user=root
e2e_start_dnsmasq dm 5354 "$conf"
DR=127.0.0.1#5353 DM=127.0.0.1#5354

cat >"$E2E_TMP/queries" <<'EOF2'
nas A
nas.lan A
nas AAAA
printer.lan A
printer.home A
printer.home.lan A
skipped.lan A
tv A
tv AAAA
tv.lan AAAA
ads.example.com A
tracker.example.net AAAA
new.lan A
new2.lan A
moved.lan A
www.example.com A
unknown.lan A
lan SOA
10.1.168.192.in-addr.arpa PTR
20.1.168.192.in-addr.arpa PTR
30.1.168.192.in-addr.arpa PTR
31.1.168.192.in-addr.arpa PTR
0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa PTR
EOF2

# compare WHAT: both daemons answer every query alike.
compare()
{
    local n=0
    e2e_diff_servers $DR $DM "$E2E_TMP/queries" || n=$?
    e2e_assert_eq 0 "$n" "$1: $(grep -c . "$E2E_TMP/queries") queries answered like dnsmasq 2.90"
}

# wait_short SERVER NAME EXPECTED WHAT: lib.sh's wait, its message naming the server.
wait_short() { e2e_wait_short "$1" "$2" "$3" "$4 ($1, without SIGHUP)"; }

compare "at start"
e2e_assert_eq 192.168.1.10 "$(e2e_short $DR nas.lan)" "a hostsdir file is read at start"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR skipped.lan)" "dotfiles of a hostsdir are skipped"
e2e_assert_match 'read .*/custom/custom.list - 5 names' "$(cat "$E2E_TMP/dr.err")" \
    "dnsmasq's read line for a hostsdir file"

for _ in 1 2 3; do e2e_short $DR www.example.com >/dev/null; done

# sent_upstream: dnsroute's count of queries sent to 127.0.0.2 (its SIGUSR1 statistics line).
sent_upstream()
{
    local before
    before=$(grep -c 'server 127.0.0.2#53: queries sent' "$E2E_TMP/dr.err" || true)
    e2e_signal dr USR1
    for ((i = 0; i < 100; i++)); do
        (($(grep -c 'server 127.0.0.2#53: queries sent' "$E2E_TMP/dr.err" || true) > before)) && break
        sleep 0.05
    done
    grep 'server 127.0.0.2#53: queries sent' "$E2E_TMP/dr.err" | tail -n1 |
        sed 's/.*queries sent \([0-9]*\),.*/\1/'
}
sent_before=$(sent_upstream)
e2e_assert_ge 4 "$sent_before" "forwarded queries are counted"

# A new file written in place (IN_CLOSE_WRITE).
printf '192.168.1.30 new\n' >"$E2E_TMP/custom/new.list"
wait_short $DR new.lan 192.168.1.30 "a new file is served"
wait_short $DM new.lan 192.168.1.30 "a new file is served"
compare "after a new file"
# A hosts rebuild is not a reload: the workers keep their upstream channels, their server
# selection and their counters.
e2e_assert_ge $((sent_before + 1)) "$(sent_upstream)" "upstream counters carry on over a rebuild"

# A file moved in (IN_MOVED_TO): editors and Pi-hole write a temporary file and rename it.
printf '192.168.1.31 moved\n' >"$E2E_TMP/moved.tmp"
mv "$E2E_TMP/moved.tmp" "$E2E_TMP/dhcp/moved"
wait_short $DR moved.lan 192.168.1.31 "a file moved in is served"
wait_short $DM moved.lan 192.168.1.31 "a file moved in is served"
compare "after a file moved in"

# A changed file: its old names go, its new ones come.
printf '192.168.1.32 new2\n' >"$E2E_TMP/custom/new.list"
wait_short $DR new2.lan 192.168.1.32 "a changed file's new name is served"
wait_short $DM new2.lan 192.168.1.32 "a changed file's new name is served"
wait_short $DR new.lan "" "a changed file's old name is gone"
compare "after a changed file"
e2e_assert_match 'inotify: flushed 2 names read from .*/custom/new.list' \
    "$(cat "$E2E_TMP/dr.err")" "dnsmasq's flush line"

# A deleted file: its names go.
rm "$E2E_TMP/custom/new.list"
wait_short $DR new2.lan "" "a deleted file's names are gone"
wait_short $DM new2.lan "" "a deleted file's names are gone"
compare "after a deleted file"

# An editor backup written in the directory changes nothing.
printf '192.168.1.33 backup\n' >"$E2E_TMP/custom/custom.list~"
e2e_assert_eq NXDOMAIN "$(e2e_rcode $DR backup.lan)" "an editor backup is not read"

# SIGHUP still re-reads everything (addn-hosts too).
printf '0.0.0.0 more.example.com\n' >>"$E2E_TMP/gravity.list"
e2e_signal dr HUP
e2e_signal dm HUP
wait_short $DR more.example.com 0.0.0.0 "SIGHUP re-reads addn-hosts"
e2e_assert_eq 192.168.1.10 "$(e2e_short $DR nas.lan)" "and the hostsdir files"
printf '192.168.1.34 afterhup\n' >"$E2E_TMP/custom/late"
wait_short $DR afterhup.lan 192.168.1.34 "the directory is still watched after SIGHUP"
e2e_stop dr
e2e_stop dm
