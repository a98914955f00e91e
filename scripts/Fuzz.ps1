# Dot-sourced by build.ps1 (uses its $Root, $Artifacts, Write-Step, Add-Suite): the libFuzzer runs
# of tests/fuzz (docs/fuzzing.md). `./build.sh test` runs a bounded pass per Linux backend (the
# checked-in corpus replayed first, then new inputs for $FuzzCiSeconds); `./build.sh fuzz` runs
# longer ones: --minutes N (default 10) per backend, --backend io_uring|epoll (default both).

$FuzzPreset = 'linux-x64-fuzz'
$FuzzHarness = 'fuzz_api'
$FuzzCiSeconds = 30
$script:FuzzersBuilt = $false

# Builds the harness (clang, ASan + UBSan, coverage) once per build.ps1 run.
function Build-Fuzzers {
    if ($script:FuzzersBuilt) { return }
    Write-Step "Native build (${FuzzPreset}: libFuzzer harnesses)"
    & cmake --preset $FuzzPreset | Out-Null
    & cmake --build --preset $FuzzPreset -j ([Math]::Min(2, [Environment]::ProcessorCount))
    $script:FuzzersBuilt = $true
}

# One run on one backend: the checked-in corpus first (libFuzzer runs every file of it before it
# mutates anything; a crash there fails the run at once), then new inputs for $Seconds. New
# inputs and crash reproducers go to artifacts/fuzz/<backend>/, never into the checked-in corpus.
# $Work: the folder of that run (a CI run starts from an empty one: the checked-in corpus alone,
# as from a clean clone; ./build.sh fuzz keeps growing its own across runs).
# Returns what the run printed: Passed, Executions, PerSecond, Coverage, Features, Corpus, Log.
function Invoke-FuzzRun([string] $Backend, [int] $Seconds, [string] $Work) {
    $exe = Join-Path $Artifacts "native/$FuzzPreset/$FuzzHarness"
    $work = Join-Path $Artifacts "fuzz/$Work"
    $grown = Join-Path $work 'corpus'
    New-Item -ItemType Directory -Force -Path $grown | Out-Null
    $log = Join-Path $work 'fuzz.log'
    $seeds = Join-Path $Root "tests/fuzz/corpus/$FuzzHarness"
    Write-Step "Fuzzing $FuzzHarness on $Backend for $Seconds s (log: $log)"
    $env:IOCPH_BACKEND = $Backend
    $env:ASAN_OPTIONS = 'detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1'
    $env:UBSAN_OPTIONS = 'halt_on_error=1:print_stacktrace=1'
    $PSNativeCommandUseErrorActionPreference = $false
    try {
        # nice: the machine's other work keeps its share; -timeout: an input that hangs (a lost
        # completion the harness waits for) is a crash of its own.
        & nice -n 10 $exe "-max_total_time=$Seconds" -max_len=1024 -timeout=60 -rss_limit_mb=4096 `
            -print_final_stats=1 "-artifact_prefix=$work/" $grown $seeds *> $log
        $code = $LASTEXITCODE
    } finally {
        Remove-Item env:IOCPH_BACKEND, env:ASAN_OPTIONS, env:UBSAN_OPTIONS -ErrorAction SilentlyContinue
    }
    $text = Get-Content -Raw $log
    $stat = { param($name) if ($text -match "stat::${name}:\s+(\d+)") { [long] $Matches[1] } else { 0 } }
    $cov = [regex]::Matches($text, '(?m)^#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)')
    $last = if ($cov.Count -gt 0) { $cov[$cov.Count - 1] } else { $null }
    $result = [pscustomobject]@{
        Passed     = $code -eq 0 -and $text -match 'stat::number_of_executed_units'
        Executions = & $stat 'number_of_executed_units'
        PerSecond  = & $stat 'average_exec_per_sec'
        Coverage   = if ($last) { [int] $last.Groups[1].Value } else { 0 }
        Features   = if ($last) { [int] $last.Groups[2].Value } else { 0 }
        Corpus     = if ($last) { [int] $last.Groups[3].Value } else { 0 }
        Log        = $log
    }
    if (-not $result.Passed) {
        # What broke, and the input that shows it.
        $text -split "`n" | Where-Object { $_ -match 'CONTRACT BROKEN|ERROR: |SUMMARY: |Test unit written' } |
            Select-Object -First 8 | ForEach-Object { Write-Host "  $_" }
    }
    Write-Host ("  {0}: {1} executions ({2}/s), cov {3}, ft {4}, corpus {5}, exit code {6}" -f
        $Backend, $result.Executions, $result.PerSecond, $result.Coverage, $result.Features, $result.Corpus, $code)
    return $result
}

# The CI rows: one per Linux backend, passed = the run ended with no crash and no broken contract.
function Invoke-FuzzSuites {
    try { Build-Fuzzers } catch { Add-Suite 'fuzz (build)' 0 1 0 "$($_.Exception.Message)"; return }
    foreach ($backend in 'io_uring', 'epoll') {
        Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Artifacts "fuzz/ci-$backend")
        $r = Invoke-FuzzRun $backend $FuzzCiSeconds "ci-$backend"
        $note = "$($r.Executions) executions in $FuzzCiSeconds s, cov $($r.Coverage), ft $($r.Features)"
        if ($r.Passed) { Add-Suite "fuzz ($backend)" 1 0 0 $note }
        else { Add-Suite "fuzz ($backend)" 0 1 0 "$note; see $($r.Log)" }
    }
}

# ./build.sh fuzz [--minutes N] [--backend io_uring|epoll]
function Invoke-FuzzCommand([string[]] $Arguments) {
    $minutes = 10
    $backends = @('io_uring', 'epoll')
    for ($i = 0; $i -lt $Arguments.Count; $i++) {
        switch ($Arguments[$i]) {
            '--minutes' { $minutes = [double] $Arguments[++$i] }
            '--backend' { $backends = @($Arguments[++$i]) }
            default { throw "fuzz: unknown argument '$($Arguments[$i])' (--minutes N, --backend io_uring|epoll)" }
        }
    }
    foreach ($b in $backends) {
        if ($b -notin 'io_uring', 'epoll') { throw "fuzz: --backend is io_uring or epoll, not '$b'" }
    }
    Build-Fuzzers
    $failed = 0
    foreach ($b in $backends) {
        $r = Invoke-FuzzRun $b ([int] ($minutes * 60)) $b
        if (-not $r.Passed) { $failed++ }
    }
    if ($failed -gt 0) { throw "fuzz: $failed run(s) found a crash or a broken contract (artifacts/fuzz/<backend>/crash-*)" }
}
