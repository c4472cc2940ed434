#!/bin/sh
# Installs every Debian package dnsroute builds, tests and benchmarks with (third_party/packages.txt);
# with --cross also those of the cross presets (third_party/packages-cross.txt), enabling the
# foreign architectures they name first. Idempotent: apt-get install skips what is already there.
# Needs root (or sudo).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
lists="$here/packages.txt"
[ "${1:-}" = "--cross" ] && lists="$lists $here/packages-cross.txt"
# shellcheck disable=SC2086
pkgs=$(cat $lists | grep -v '^#' | awk 'NF {print $1}')
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
update=""
for arch in $(printf '%s\n' $pkgs | sed -n 's/^[^:]*:\([a-z0-9]*\)$/\1/p' | sort -u); do
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        $SUDO dpkg --add-architecture "$arch"
        update=1
    fi
done
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ] || [ -n "$update" ]; then
    $SUDO apt-get update -q
fi
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
# The smartdns package starts a service on install where an init system runs; the bench starts its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet smartdns 2>/dev/null; then
    $SUDO systemctl disable --now smartdns >/dev/null 2>&1 || true
fi
echo "install-deps: all packages present"
