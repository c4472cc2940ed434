#!/usr/bin/env bash
# test_conf_dir.sh - a conf-dir that cannot be read to its end is an error, never an empty
# directory: dnsmasq's message for an unreadable conf-dir ("cannot access directory DIR: REASON",
# exit 3), from --test and at start-up. The failing directory is a FUSE file system whose READDIR
# answers EIO or EOVERFLOW (what readdir() gives a 32-bit build without 64-bit inode numbers);
# fuse_baddir mounts it in a private mount namespace and runs the command there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute
: "${FUSE_BADDIR:=$DNSROUTE_SOURCE_DIR/build/tests/e2e/fuse_baddir}"
[[ -x "$FUSE_BADDIR" ]] || e2e_fail "fuse_baddir not built: $FUSE_BADDIR"
[[ -c /dev/fuse ]] || e2e_skip "no /dev/fuse here"

# A readable conf-dir first: its files are read (the baseline the failures are measured against).
mkdir "$E2E_TMP/good" "$E2E_TMP/bad"
printf '%s\n' server=/a.test/127.0.0.2 >"$E2E_TMP/good/a.conf"
printf '%s\n' no-resolv no-hosts "conf-dir=$E2E_TMP/good,*.conf" >"$E2E_TMP/good.conf"
out=$("$DNSROUTE_BIN" --test -C "$E2E_TMP/good.conf" 2>&1)
e2e_assert_eq "dnsroute: syntax check OK." "$out" "a readable conf-dir passes --test"
out=$("$DNSROUTE_BIN" -C "$E2E_TMP/good.conf" --explain=www.a.test 2>&1)
e2e_assert_match '127\.0\.0\.2' "$out" "and its rules are loaded"

# The mount works at all? (77 from fuse_baddir: FUSE cannot be mounted in this namespace.)
rc=0
"$FUSE_BADDIR" "$E2E_TMP/bad" 5 -- true 2>"$E2E_TMP/fuse.err" || rc=$?
[[ $rc != 77 ]] || e2e_skip "cannot mount FUSE here: $(cat "$E2E_TMP/fuse.err")"
e2e_assert_eq 0 "$rc" "fuse_baddir mounts and runs a command"
rc=0
"$FUSE_BADDIR" "$E2E_TMP/bad" 5 -- stat -c %F "$E2E_TMP/bad" >"$E2E_TMP/stat.out" 2>&1 || rc=$?
e2e_assert_eq "0 directory" "$rc $(cat "$E2E_TMP/stat.out")" "the failing directory is a directory"

for err in EIO EOVERFLOW; do
    num=$(python3 -c "import errno; print(errno.$err)")
    for spec in "$E2E_TMP/bad" "$E2E_TMP/bad,*.conf" "$E2E_TMP/bad,.bak"; do
        printf '%s\n' no-resolv no-hosts server=127.0.0.3 "conf-dir=$spec" >"$E2E_TMP/bad.conf"
        rc=0
        "$FUSE_BADDIR" "$E2E_TMP/bad" "$num" -- "$DNSROUTE_BIN" --test -C "$E2E_TMP/bad.conf" \
            >"$E2E_TMP/test.out" 2>&1 || rc=$?
        e2e_assert_eq 3 "$rc" "$err, conf-dir=$spec: --test exits 3"
        e2e_assert_eq "dnsroute: cannot access directory $E2E_TMP/bad: $(e2e_strerror "$err")" \
            "$(grep -v "^$" "$E2E_TMP/test.out")" "$err, conf-dir=$spec: dnsmasq's message for the directory"
    done
done

# At start-up (not only --test): the daemon refuses to start, with the same message and exit code.
printf '%s\n' no-resolv no-hosts server=127.0.0.3 "conf-dir=$E2E_TMP/bad" >"$E2E_TMP/bad.conf"
rc=0
"$FUSE_BADDIR" "$E2E_TMP/bad" 5 -- "$DNSROUTE_BIN" -k -C "$E2E_TMP/bad.conf" --port=5353 \
    --listen-address=127.0.0.1 --log-facility=- --pid-file= >"$E2E_TMP/start.out" 2>&1 || rc=$?
e2e_assert_eq 3 "$rc" "the daemon does not start on an unreadable conf-dir (exit 3)"
e2e_assert_match "cannot access directory $E2E_TMP/bad: $(e2e_strerror EIO)" \
    "$(cat "$E2E_TMP/start.out")" "and says why"

# dnsmasq 2.90 does not check readdir() and reads such a directory as empty: shown, not asserted.
if [[ -x "$DNSMASQ" ]]; then
    rc=0
    dm=$("$FUSE_BADDIR" "$E2E_TMP/bad" 5 -- "$DNSMASQ" --test -C "$E2E_TMP/bad.conf" 2>&1) || rc=$?
    e2e_log "dnsmasq 2.90 on the same directory: exit $rc: $dm"
fi
