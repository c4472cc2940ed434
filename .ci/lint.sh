#!/usr/bin/env bash
# lint.sh - what the repository declares, enforced: clang-format (.clang-format) over every tracked
# C file, a second compiler (clang, -Werror), clang-tidy (.clang-tidy) over src/ with 0 warnings,
# and shellcheck over every tracked shell script. Run from anywhere; exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

mapfile -t cfiles < <(git ls-files '*.c' '*.h')
echo "lint: clang-format on ${#cfiles[@]} files"
clang-format --dry-run -Werror "${cfiles[@]}" || fail=1

mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
echo "lint: shellcheck on ${#scripts[@]} scripts"
shellcheck -x -S warning "${scripts[@]}" || fail=1

echo "lint: clang -Werror build"
cmake --preset clang >/dev/null
cmake --build --preset clang

mapfile -t srcs < <(git ls-files 'src/*.c')
echo "lint: clang-tidy on ${#srcs[@]} files"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Each finding is a "file:line:col: warning: ..." line; any such line fails.
printf '%s\n' "${srcs[@]}" | xargs -P 2 -n 4 clang-tidy -p build/clang --quiet --use-color=false \
    >"$out" 2>/dev/null || true
if grep -E ': (warning|error): ' "$out"; then
    echo "lint: clang-tidy reported the findings above" >&2
    fail=1
fi
exit "$fail"
