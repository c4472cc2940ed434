#!/usr/bin/env bash
# test_install.sh - `DESTDIR=... cmake --install --strip` (a packager's staged install) puts
# everything where the installed systemd units say it is: the stripped binary in sbin, the
# policy-routing script, the manual page (rendered by man with warnings on: none allowed), the
# default configuration and the units, whose ExecStart=/-C/EnvironmentFile= paths are rewritten
# for the configured CMAKE_INSTALL_PREFIX (/usr/local by default, /usr for packages).
# Usage: test_install.sh BUILD_DIR (ctest passes it).
set -euo pipefail
build=${1:?usage: test_install.sh BUILD_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
checks=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }

dest=$tmp/dest
configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
DESTDIR=$dest cmake --install "$build" --strip >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "cmake --install failed"; }
ok "DESTDIR=... cmake --install --strip (prefix $configured)"
prefix=$dest$configured
etc=$prefix/etc
[[ "$configured" == /usr ]] && etc=$dest/etc

bin=$prefix/sbin/dnsroute
[[ -x "$bin" ]] || fail "no $bin"
sections=$(readelf -S "$bin") # whole output first: `| grep -q` under pipefail can SIGPIPE readelf
if grep -qE '\.debug_|\.symtab' <<<"$sections"; then
    fail "$bin is not stripped"
fi
ok "sbin/dnsroute installed, stripped"
[[ "$("$bin" --version | head -1)" == "dnsroute version "* ]] || fail "installed binary does not run"
ok "the installed binary runs (--version)"
[[ -x "$prefix/sbin/dnsroute-policy-route" ]] || fail "no sbin/dnsroute-policy-route"
"$prefix/sbin/dnsroute-policy-route" --help >/dev/null || fail "dnsroute-policy-route --help failed"
ok "sbin/dnsroute-policy-route installed and runs"

for page in dnsroute.8 dnsroute-policy-route.8; do
    man=$prefix/share/man/man8/$page
    [[ -f "$man" ]] || fail "no $man"
    if command -v man >/dev/null; then
        warnings=$(MANWIDTH=80 man --warnings -l "$man" 2>&1 >/dev/null)
        [[ -z "$warnings" ]] || fail "man reports for $page: $warnings"
        ok "share/man/man8/$page renders without warnings"
    else
        ok "share/man/man8/$page installed (man not found: rendering not checked)"
    fi
done

conf=$etc/dnsroute.conf
[[ -f "$conf" ]] || fail "no $conf"
out=$("$bin" --test -C "$conf" 2>&1)
[[ "$out" == "dnsroute: syntax check OK." ]] || fail "--test on the installed configuration: $out"
ok "etc/dnsroute.conf installed and passes --test"
[[ -f "$etc/default/dnsroute-policy-route" ]] || fail "no etc/default/dnsroute-policy-route"
ok "etc/default/dnsroute-policy-route installed"

units=$prefix/lib/systemd/system
[[ "$configured" == /usr ]] && units=$dest/lib/systemd/system
for unit in dnsroute.service dnsroute-policy-route@.service; do
    [[ -f "$units/$unit" ]] || fail "no $units/$unit"
    # Every program a unit runs (but /bin/kill) and every file it reads is the installed one.
    while read -r p; do
        [[ "$p" == /bin/kill ]] && continue
        [[ "$p" == "$configured/sbin/"* && -x "$dest$p" ]] || fail "$unit runs $p, not installed"
    done < <(grep -E '^Exec[A-Za-z]*=' "$units/$unit" | sed -E 's/^[^=]*=[-+!@]*//; s/ .*//')
    while read -r p; do
        [[ -f "$dest$p" ]] || fail "$unit reads $p, not installed"
    done < <(grep -E '^Exec[A-Za-z]*=.* -C |^EnvironmentFile=' "$units/$unit" |
        sed -E 's/^EnvironmentFile=-?//; s/^Exec.* -C ([^ ]+).*/\1/')
    ok "$unit: every path it names is installed"
done
echo "$checks passed, 0 failed"
