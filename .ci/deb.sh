#!/usr/bin/env bash
# deb.sh - the Debian package, built and checked as a packager would: dpkg-buildpackage -b from a
# copy of the tracked files, lintian with no errors, then installed with dpkg -i into a throwaway
# root (an overlay over / in a private mount namespace: nothing on this machine changes), where
# `dnsroute --test` runs from the installed paths, every path the units name must exist, and
# dpkg --purge must remove it all again. Needs root (CI runs as root). Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "deb: building dnsroute $version"
mkdir "$tmp/dnsroute-$version"
# Tracked files plus new ones not ignored (a developer's uncommitted work builds too).
git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -x -C "$tmp/dnsroute-$version"
(cd "$tmp/dnsroute-$version" && dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1) || {
    tail -50 "$tmp/build.log"
    echo "deb: dpkg-buildpackage failed" >&2
    exit 1
}
deb=$(ls "$tmp"/dnsroute_"$version"_*.deb)
echo "deb: $(basename "$deb"), $(stat -c %s "$deb") bytes"

echo "deb: lintian"
lintian --fail-on error "$tmp"/dnsroute_"$version"_*.changes

echo "deb: dpkg -i into an overlay root"
export DEB="$deb" ROOT="$tmp/root" OVL="$tmp/ovl"
mkdir "$ROOT" "$OVL"
unshare -m --propagation private bash -euo pipefail -c '
    mount -t tmpfs tmpfs "$OVL"
    mkdir "$OVL/upper" "$OVL/work"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$OVL/upper,workdir=$OVL/work" "$ROOT"
    mount -t proc proc "$ROOT/proc"
    mount --rbind /dev "$ROOT/dev"
    mount -t tmpfs tmpfs "$ROOT/run"
    mount -t tmpfs tmpfs "$ROOT/tmp"
    cp "$DEB" "$ROOT/tmp/"
    in_root() { chroot "$ROOT" "$@"; }
    [[ ! -e "$ROOT/usr/sbin/dnsroute" ]] || { echo "deb: dnsroute already in the root" >&2; exit 1; }
    in_root dpkg -i "/tmp/$(basename "$DEB")"
    out=$(in_root /usr/sbin/dnsroute --test -C /etc/dnsroute.conf 2>&1)
    [[ "$out" == "dnsroute: syntax check OK." ]] || { echo "deb: --test said: $out" >&2; exit 1; }
    echo "deb: installed /usr/sbin/dnsroute --test -C /etc/dnsroute.conf: $out"
    in_root /usr/sbin/dnsroute --version | head -1
    in_root man -w dnsroute
    in_root /usr/sbin/dnsroute-policy-route --help >/dev/null
    for unit in dnsroute.service dnsroute-policy-route@.service; do
        f=$ROOT/lib/systemd/system/$unit
        [[ -f "$f" ]] || { echo "deb: $unit not installed" >&2; exit 1; }
        # Every program and file a unit names must be installed where it says.
        grep -E "^(ExecStart|ExecStartPre|ExecStop|ExecReload)=" "$f" | sed -E "s/^[^=]*=[-+!@]*//; s/ .*//" |
            while read -r p; do
                [[ -x "$ROOT$p" ]] || { echo "deb: $unit runs $p, which is not installed" >&2; exit 1; }
                echo "deb: $unit runs $p: installed"
            done
        grep -E "^Exec[A-Za-z]*=.* -C |^EnvironmentFile=" "$f" |
            sed -E "s/^EnvironmentFile=-?//; s/^Exec.* -C ([^ ]+).*/\\1/" |
            while read -r p; do
                [[ -f "$ROOT$p" ]] || { echo "deb: $unit reads $p, which is not installed" >&2; exit 1; }
                echo "deb: $unit reads $p: installed"
            done
    done
    in_root dpkg --purge dnsroute
    for p in /usr/sbin/dnsroute /etc/dnsroute.conf /lib/systemd/system/dnsroute.service \
        /usr/share/man/man8/dnsroute.8.gz /etc/default/dnsroute-policy-route; do
        [[ ! -e "$ROOT$p" ]] || { echo "deb: $p left after dpkg --purge" >&2; exit 1; }
    done
    echo "deb: dpkg --purge removed every file"
'
echo "deb: OK"
