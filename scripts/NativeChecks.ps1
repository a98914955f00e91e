# Dot-sourced by build.ps1 (uses its Invoke-Native-Tests, Invoke-OneTestSuite, Add-Suite and
# scripts/Valgrind.ps1's Get-PatchedValgrind): the native checks of issue 17 that need more than a
# preset, each one suite row of ./build.sh test. docs/native-checks.md describes them.

# The native tests under valgrind memcheck (preset linux-x64-memcheck: every test runs under
# tests/tools/memcheck.sh; any memcheck error or leak fails that test with exit code 99).
# $Environment: as Invoke-Native-Tests' (IOCPH_BACKEND=epoll for the epoll pass).
function Invoke-Memcheck-Tests([string] $Label, [hashtable] $Environment = @{}) {
    $suite = "native $Label"
    try {
        $valgrind = Get-PatchedValgrind
    } catch {
        $why = "$($_.Exception.Message)" -replace '\s+', ' '
        Write-Host "  $suite not run: $why"
        Add-Suite $suite 0 1 0 'no valgrind that handles io_uring_enter (see the log)'
        return
    }
    $started = [System.Diagnostics.Stopwatch]::StartNew()
    Invoke-Native-Tests 'linux-x64-memcheck' $Label ($Environment + @{ IOCPH_VALGRIND = $valgrind })
    Write-Host "  $suite took $([int] $started.Elapsed.TotalSeconds) s"
}

# The core, the examples, the benchmarks' C programs and the tests built with clang, warnings as
# errors as with gcc (preset linux-x64-clang). Passes when the preset configures and builds.
function Invoke-Clang-Build {
    Invoke-OneTestSuite 'build (clang, -Werror)' {
        & cmake --preset linux-x64-clang --log-level=WARNING
        & cmake --build --preset linux-x64-clang -j ([Environment]::ProcessorCount)
    }
}
