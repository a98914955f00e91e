#!/usr/bin/env bash
# Checks that building for Linux needs neither Wine nor mingw-w64 (nor libclang, nor apt):
# runs `./build.sh build -NoWine` in a checkout (default: this one; best a fresh copy, so that
# nothing is already built) inside a private mount namespace in which Wine, mingw-w64 and
# libclang are hidden and every wine*, x86_64-w64-mingw32-* and apt command is replaced by a
# stub that records its call and fails. The machine itself is not changed: the mounts exist only
# in the namespace. Needs root (unshare -m). Exit 0: the build passed and called none of them.
#   scripts/check-build-without-wine.sh [checkout]
set -euo pipefail
if [ "${1:-}" != "--inside" ]; then
    checkout="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    printf '#!/bin/sh\necho "denied: $0 $*" >> %s/denied.log\necho "denied: $0 (hidden by %s)" >&2\nexit 99\n' \
        "$work" "$(basename "$0")" > "$work/deny.sh"
    chmod +x "$work/deny.sh"
    rc=0
    unshare -m --propagation private "$0" --inside "$checkout" "$work" || rc=$?
    if [ -s "$work/denied.log" ]; then
        echo "the build called hidden tools:"; cat "$work/denied.log"; exit 1
    fi
    [ "$rc" -eq 0 ] && echo "./build.sh build -NoWine passed without Wine, mingw-w64, libclang or apt"
    exit "$rc"
fi
checkout="$2"; work="$3"
for f in /usr/bin/wine* /usr/bin/x86_64-w64-mingw32-* /usr/bin/apt-get /usr/bin/apt; do
    if [ -e "$f" ]; then mount --bind "$work/deny.sh" "$f"; fi
done
for f in /usr/lib/x86_64-linux-gnu/libclang*.so*; do
    if [ -e "$f" ]; then mount --bind /dev/null "$f"; fi
done
for d in /usr/lib/wine /usr/lib/x86_64-linux-gnu/wine /usr/lib/gcc/x86_64-w64-mingw32 \
         /usr/x86_64-w64-mingw32 /usr/lib/llvm-*; do
    if [ -d "$d" ]; then mount -t tmpfs none "$d"; fi
done
# MSBuild must not hand the native build to a node started outside this namespace.
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false
cd "$checkout"
./build.sh build -NoWine
