#!/bin/sh
# memcheck.sh - runs one native test under valgrind memcheck: the test launcher of the
# linux-x64-memcheck preset (IOCPH_TEST_LAUNCHER, tests/native/CMakeLists.txt).
#
#   memcheck.sh test-executable [args...]
#
# IOCPH_VALGRIND: the valgrind to run (build.ps1 passes Get-PatchedValgrind's, a valgrind that
# marks io_uring_enter may-block: Debian 12's 3.19 starves every other thread while one waits in it;
# see scripts/Valgrind.ps1). Unset: valgrind from PATH.
#
# Any memcheck error, or any definite, indirect or possible leak, makes the test fail with exit code
# 99 (a test's own failure keeps its code, 77 still means skipped). Children are followed (the
# backend fallback test re-runs itself under tests/tools/no_io_uring). IOCPH_TEST_SLOWDOWN tells the
# tests they run slowly (tests/native/test_util.h: watchdogs and the waits that fail a test last
# 10 times longer), IOCPH_TEST_VALGRIND that valgrind runs them (a test that interposes calloc skips).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${IOCPH_TEST_SLOWDOWN:=10}"
IOCPH_TEST_VALGRIND=1
export IOCPH_TEST_SLOWDOWN IOCPH_TEST_VALGRIND
exec "${IOCPH_VALGRIND:-valgrind}" --tool=memcheck --quiet \
    --error-exitcode=99 --exit-on-first-error=no \
    --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --track-origins=yes --trace-children=yes --child-silent-after-fork=no \
    --fair-sched=yes \
    --suppressions="$here/../native/memcheck.supp" \
    "$@"
