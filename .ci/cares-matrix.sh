#!/usr/bin/env bash
# cares-matrix.sh - dnsroute against every c-ares its users have, besides Debian 12's 1.18.1 (the
# system one, tested by the main run): each c-ares release tarball (c-ares-VERSION.tar.gz) in the
# directory CARES_TARBALLS (.ci/run sets it to CI's copy) is built into a private prefix inside the build
# tree (shared libraries), dnsroute is built against it with -Werror (so deprecation warnings
# fail), and the unit tests plus the forwarding and sets e2e tests run against it (rpath to the
# private prefix; the script checks the binaries really load that c-ares).
#
#   CARES_TARBALLS=/path/to/tarballs .ci/cares-matrix.sh
# Without tarballs it says so and exits 0. Built c-ares prefixes are reused on the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
dir=${CARES_TARBALLS:-}
out=$src/build/cares-matrix
tests='^(e2e_test_(routing|failover|edns|tcp|spoof|forged_answers|race|ipset_diff|slow_answer|send_error))$'

shopt -s nullglob
tarballs=("$dir"/c-ares-*.tar.gz)
if [[ -z $dir ]] || ((${#tarballs[@]} == 0)); then
    echo "cares-matrix: no c-ares tarballs in '$dir': skipped (only the system c-ares was tested)"
    exit 0
fi

# build_cares VERSION TARBALL: c-ares into $out/VERSION (kept between runs).
build_cares()
{
    local v=$1 tgz=$2 pre=$out/$1
    [[ -f $pre/.done ]] && return 0
    rm -rf "$pre" "$out/src-$v" "$out/obj-$v"
    mkdir -p "$out/src-$v"
    tar -xzf "$tgz" -C "$out/src-$v" --strip-components=1
    cmake -S "$out/src-$v" -B "$out/obj-$v" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$pre" -DCMAKE_INSTALL_LIBDIR=lib -DCARES_SHARED=ON \
        -DCARES_STATIC=OFF -DCARES_BUILD_TESTS=OFF -DCARES_BUILD_TOOLS=OFF >/dev/null
    cmake --build "$out/obj-$v" -j2 >/dev/null 2>&1
    cmake --install "$out/obj-$v" >/dev/null
    rm -rf "$out/src-$v" "$out/obj-$v"
    touch "$pre/.done"
}

mapfile -t unit_targets < <(cd "$src/tests/unit" && ls test_*.c | sed 's/\.c$//')
failed=()
for tgz in "${tarballs[@]}"; do
    v=$(basename "$tgz" .tar.gz)
    v=${v#c-ares-}
    start=$SECONDS
    echo "=== c-ares $v"
    build_cares "$v" "$tgz"
    bld=$out/dnsroute-$v
    export PKG_CONFIG_PATH=$out/$v/lib/pkgconfig
    got=$(pkg-config --modversion libcares)
    [[ $got == "$v" ]] || { echo "cares-matrix: pkg-config finds c-ares $got, not $v" >&2; exit 1; }
    cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSROUTE_WERROR=ON >/dev/null
    cmake --build "$bld" -j2 --target dnsroute fake_upstream race_client "${unit_targets[@]}" \
        >/dev/null
    # The whole ldd output first: `ldd | grep -q` under pipefail fails at random when grep exits at
    # the match while the loader is still writing its next line (SIGPIPE, status 141).
    libs=$(ldd "$bld/dnsroute")
    if [[ $libs != *"$out/$v/lib/libcares"* ]]; then
        echo "cares-matrix: $bld/dnsroute does not load c-ares from $out/$v" >&2
        exit 1
    fi
    if ! ctest --test-dir "$bld" -j2 --output-on-failure -L unit; then
        failed+=("$v unit")
    fi
    if ! ctest --test-dir "$bld" -j2 --output-on-failure -R "$tests"; then
        failed+=("$v e2e")
    fi
    echo "=== c-ares $v: $((SECONDS - start)) s"
done
if ((${#failed[@]} > 0)); then
    echo "cares-matrix: failed: ${failed[*]}" >&2
    exit 1
fi
echo "cares-matrix: ${#tarballs[@]} c-ares versions passed"
