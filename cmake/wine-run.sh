#!/usr/bin/env bash
# CTest's emulator for the mingw-built tests: runs one test program under wine64.
#
# Why not wine64 itself: once in a CI run (the first ctest after a new prefix), a test ended in
# 6 ms with a non-zero exit code and no output at all, and passed in 28 reruns since (8 of them
# within whole -j 2 suites).
# No Windows program gets that far in 6 ms: wine64 itself failed to start it. Such a start
# failure (non-zero, nothing printed, under a second) is retried once and reported; anything else,
# a failing test that printed something or ran longer, counts as it is.
set -u
wine64="$1"; shift
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
run() {
    local start=$SECONDS
    "$wine64" "$@" >"$out" 2>&1
    rc=$?
    elapsed=$((SECONDS - start))
}
run "$@"
if [ "$rc" -ne 0 ] && [ ! -s "$out" ] && [ "$elapsed" -lt 1 ]; then
    echo "wine-run: wine64 exited $rc at once with no output (a start failure): running it again" >&2
    run "$@"
fi
cat "$out"
exit "$rc"
