#!/usr/bin/env pwsh
<#
.SYNOPSIS
  IocpHybrid's one build script: native core (CMake), managed projects (MSBuild), tests, demo.

.DESCRIPTION
  ./build.sh <command> (Linux) or build.cmd <command> (Windows) run this script through the
  PowerShell dotnet tool pinned in dotnet-tools.json, so a machine needs only the .NET SDK.

  Commands:
    build      native core for Linux (io_uring + epoll) and Windows (mingw-w64), then the .NET
               solution; -NoWine: Linux only, needing neither Wine nor mingw-w64
    test       every test: native tests on io_uring, epoll and IOCP under Wine, the binding check,
               managed tests on Linux (io_uring, and epoll in a process where a seccomp filter
               refuses io_uring) and as a win-x64 executable under Wine, C programs built
               against installed trees (CMake package, pkg-config; mingw under Wine), the README's
               C# snippet compiled as pasted, a minute of the stress tool per Linux backend, and the benchmark
               harness as a smoke pass on Linux (bench --quick) and under Wine (bench --wine): every
               case must produce figures, no speed is asserted; prints 'N passed, M failed[, K skipped]'
               last and fails if anything failed
    demo       builds, then copies a 256 MiB file through the port (C# and C) and verifies it; 200 echo
               clients against an in-process, the C and the C# echo server; the sample web app
               (Kestrel on the transport) under an HttpClient load, every response verified
    generate   regenerates the C# binding from native/include/iocphybrid.h (libclang)
    bench      benchmarks (Release, pinned with taskset): TCP echo, files, the port, allocations, HTTP (wrk),
               instruction counts; options --quick, --seconds N, --filter TEXT, --reps N; writes artifacts/bench/;
               --wine: the smoke pass on IOCP, the contenders' win-x64 builds under Wine
    fuzz       the libFuzzer harness of tests/fuzz (clang): --minutes N (default 10) per backend,
               --backend io_uring|epoll (default both); test runs it 30 s per backend
    stress     the stress and soak run (docs/stress.md): --minutes N (default 1), --backend
               io_uring|epoll|iocp|default (iocp: the win-x64 build under Wine), --seed S; mixed
               file, pipe, TCP and UDP load, every byte verified; fails on loss, leak or growth
    pack       the NuGet package: artifacts/packages/IocpHybrid.<version>.nupkg and .snupkg, with the
               native library for linux-x64, linux-arm64 (cross-built) and win-x64 (mingw-w64)
    clean      removes artifacts/ and the projects' bin/ and obj/

  On Linux, the missing Debian packages of the parts a command runs (cmake, gcc, liburing-dev;
  mingw-w64 and wine unless -NoWine; libclang for generate and test; pkg-config for test) are
  installed with apt-get when running as root; otherwise the exact apt-get line is printed and
  the script stops. README.md lists which part needs which package.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'demo', 'generate', 'clean', 'bench', 'pack', 'fuzz', 'stress')]
    [string] $Command = 'build',

    # Skip everything that needs Wine (Windows backend tests, managed tests under Wine).
    [switch] $NoWine,

    # test: skip the benchmark smoke pass.
    [switch] $NoBench,

    # Arguments passed on to the demo.
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]] $Rest = @()
)

$ErrorActionPreference = 'Stop'
$PSNativeCommandUseErrorActionPreference = $true
Set-StrictMode -Version 3.0

$Root = $PSScriptRoot
$Artifacts = Join-Path $Root 'artifacts'
$Results = Join-Path $Artifacts 'test-results'
$OnLinux = $IsLinux
$Wine64 = '/usr/lib/wine/wine64'
$WinePrefix = Join-Path $Artifacts 'wine'
$Configuration = 'Release'
$TestProject = Join-Path $Root 'tests/IocpHybrid.Tests/IocpHybrid.Tests.csproj'
$GeneratorProject = Join-Path $Root 'managed/IocpHybrid.Generator/IocpHybrid.Generator.csproj'
$GeneratorRsp = Join-Path $Root 'managed/IocpHybrid.Generator/iocphybrid.rsp'
$DemoProject = Join-Path $Root 'managed/IocpHybrid.Demo/IocpHybrid.Demo.csproj'
$EchoServerProject = Join-Path $Root 'managed/samples/EchoServer/EchoServer.csproj'
$WebAppProject = Join-Path $Root 'managed/samples/WebApp/WebApp.csproj'

$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'

function Write-Step([string] $Text) { Write-Host "==> $Text" -ForegroundColor Cyan }

# ---------------------------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------------------------

function Test-DebianPackageFile([string] $Path) { Test-Path -LiteralPath $Path }

function Install-Prerequisites([bool] $NeedWine) {
    if (-not $OnLinux) {
        foreach ($tool in 'cmake', 'ninja', 'cl') {
            if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) {
                throw "'$tool' not found: run from a Visual Studio Developer PowerShell (Build Tools with the C++ workload and CMake)."
            }
        }
        return
    }
    $missing = [System.Collections.Generic.List[string]]::new()
    if (-not (Get-Command cmake -ErrorAction SilentlyContinue)) { $missing.Add('cmake') }
    if (-not (Get-Command gcc -ErrorAction SilentlyContinue)) { $missing.Add('gcc'); $missing.Add('libc6-dev') }
    if (-not (Get-Command make -ErrorAction SilentlyContinue)) { $missing.Add('make') }
    if (-not (Test-DebianPackageFile '/usr/include/liburing.h') -or
        -not (Get-ChildItem -Path '/usr/lib' -Recurse -Filter 'liburing.a' -ErrorAction SilentlyContinue | Select-Object -First 1)) {
        $missing.Add('liburing-dev')
    }
    # The binding generator (generate, and the binding check of test) runs libclang; building and
    # using the library do not.
    $needClang = $Command -in 'test', 'generate'
    if ($needClang -and -not (Get-ChildItem -Path '/usr/lib' -Recurse -Filter 'libclang*.so.1' -ErrorAction SilentlyContinue | Select-Object -First 1)) {
        $missing.Add('libclang1-14')
    }
    # The generator parses with clang's own stddef.h/stdint.h (libclang-common-14-dev).
    if ($needClang -and -not (Get-ChildItem -Path '/usr/lib/llvm-14/lib/clang' -Recurse -Filter 'stddef.h' -ErrorAction SilentlyContinue | Select-Object -First 1)) {
        $missing.Add('libclang-common-14-dev')
    }
    if ($Command -in 'test', 'fuzz' -and (-not (Get-Command clang -ErrorAction SilentlyContinue) -or -not (Get-ChildItem -Path '/usr/lib/llvm-14/lib/clang' -Recurse -Filter 'libclang_rt.fuzzer-x86_64.a' -ErrorAction SilentlyContinue | Select-Object -First 1))) { $missing.AddRange([string[]] @('clang', 'libclang-rt-14-dev')) } # fuzz (scripts/Fuzz.ps1)
    # test: the pkg-config consumer test.
    if ($Command -eq 'test' -and -not (Get-Command pkg-config -ErrorAction SilentlyContinue)) { $missing.Add('pkg-config') }
    # test: the clang build (preset linux-x64-clang, the warnings check) needs clang, which the fuzz line above installs.
    if ($NeedWine) {
        if (-not (Get-Command x86_64-w64-mingw32-gcc -ErrorAction SilentlyContinue)) { $missing.Add('gcc-mingw-w64-x86-64') }
        if (-not (Test-Path $Wine64)) { $missing.Add('wine64'); $missing.Add('wine') }
    }
    if ($missing.Count -eq 0) { return }
    $line = "apt-get install -y --no-install-recommends $($missing -join ' ')"
    if ((& id -u) -ne '0') {
        throw "Missing Debian packages. Run as root: apt-get update && $line"
    }
    Write-Step "Installing Debian packages: $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & apt-get update -q | Out-Null
    & apt-get install -y -q --no-install-recommends @missing | Out-Null
}

# A Wine prefix that reports Windows 10 and makes crashes fail instead of exiting 0.
function Initialize-WinePrefix {
    $env:WINEPREFIX = $WinePrefix
    $env:WINEDEBUG = '-all'
    $marker = Join-Path $WinePrefix '.iocphybrid-ready'
    if (Test-Path $marker) { return }
    Write-Step "Creating the Wine prefix $WinePrefix"
    New-Item -ItemType Directory -Force -Path $WinePrefix | Out-Null
    & $Wine64 wineboot -i 2>&1 | Out-Null
    & $Wine64 reg add 'HKCU\Software\Wine' /v Version /d win10 /f 2>&1 | Out-Null
    & $Wine64 reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Debugger /d no-such-debugger.exe /f 2>&1 | Out-Null
    & $Wine64 reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' /v Auto /d 1 /f 2>&1 | Out-Null
    & $Wine64 wineboot -s 2>&1 | Out-Null   # let wineserver flush the registry
    Set-Content -Path $marker -Value 'ok'
}

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

function Build-Native([string] $Preset) {
    Write-Step "Native build ($Preset)"
    & cmake --preset $Preset | Out-Null
    & cmake --build --preset $Preset -j ([Environment]::ProcessorCount)
}

function Build-All([bool] $WithWindows) {
    if ($OnLinux) {
        Build-Native 'linux-x64'
        if ($WithWindows) { Build-Native 'win-x64' }
    } else {
        Build-Native 'win-x64-msvc'
    }
    Write-Step 'dotnet build IocpHybrid.sln'
    & dotnet build (Join-Path $Root 'IocpHybrid.sln') -c $Configuration --nologo -v:q
}

# ---------------------------------------------------------------------------------------------
# Tests and their counting
# ---------------------------------------------------------------------------------------------

# Each suite adds one record; the summary line adds them up.
$script:Suites = [System.Collections.Generic.List[object]]::new()

function Add-Suite([string] $Name, [int] $Passed, [int] $Failed, [int] $Skipped, [string] $Note = '') {
    $script:Suites.Add([pscustomobject]@{ Name = $Name; Passed = $Passed; Failed = $Failed; Skipped = $Skipped; Note = $Note })
}

# CTest's JUnit file: <testcase ... status="run|fail|disabled|notrun"> with <failure>/<skipped>.
function Read-JUnit([string] $Name, [string] $Path) {
    if (-not (Test-Path $Path)) { Add-Suite $Name 0 1 0 'no result file'; return }
    [xml] $xml = Get-Content -Raw $Path
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($case in $xml.SelectNodes('//testcase')) {
        if ($case.SelectSingleNode('failure') -or $case.SelectSingleNode('error')) { $failed++ }
        elseif ($case.SelectSingleNode('skipped')) { $skipped++ }
        else { $passed++ }
    }
    if ($passed + $failed + $skipped -eq 0) { $failed = 1 }   # a suite that ran nothing failed
    Add-Suite $Name $passed $failed $skipped
}

# xunit.v3's XML (-result-xml): <assembly total= passed= failed= skipped= errors=>.
function Read-XunitXml([string] $Name, [string] $Path, [int] $ExitCode) {
    if (-not (Test-Path $Path)) { Add-Suite $Name 0 1 0 "no result file (exit code $ExitCode)"; return }
    [xml] $xml = Get-Content -Raw $Path
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($assembly in $xml.SelectNodes('//assembly')) {
        $passed += [int] $assembly.passed
        $failed += [int] $assembly.failed + [int] $assembly.errors
        $skipped += [int] $assembly.skipped + [int] ($assembly.GetAttribute('not-run') -as [int])
    }
    if ($passed + $failed + $skipped -eq 0) { $failed = 1 }
    if ($ExitCode -ne 0 -and $failed -eq 0) { $failed = 1; Add-Suite $Name $passed $failed $skipped "runner exit code $ExitCode"; return }
    Add-Suite $Name $passed $failed $skipped
}

function Invoke-Native-Tests([string] $Preset, [string] $Label, [hashtable] $Environment = @{}) {
    Write-Step "Native tests: $Label"
    $junit = Join-Path $Results ("native-$Label.xml" -replace '[^A-Za-z0-9_.-]', '_')
    Remove-Item -Force -ErrorAction SilentlyContinue $junit
    & cmake --preset $Preset | Out-Null
    & cmake --build --preset $Preset -j ([Environment]::ProcessorCount)
    $PSNativeCommandUseErrorActionPreference = $false
    foreach ($name in $Environment.Keys) { Set-Item "env:$name" $Environment[$name] }
    try {
        & ctest --preset $Preset -j 2 --output-junit $junit
    } finally {
        foreach ($name in $Environment.Keys) { Remove-Item "env:$name" -ErrorAction SilentlyContinue }
    }
    Read-JUnit "native $Label" $junit
}

function Invoke-Binding-Check {
    Write-Step 'Generated binding is up to date (generator --check)'
    $PSNativeCommandUseErrorActionPreference = $false
    & dotnet run --project $GeneratorProject -c $Configuration -- "@$GeneratorRsp" --check
    if ($LASTEXITCODE -eq 0) { Add-Suite 'binding check' 1 0 0 } else { Add-Suite 'binding check' 0 1 0 'regenerating changes files: run ./build.sh generate' }
}

# The managed tests on the host: Linux (io_uring) or, on a Windows host, IOCP. $Wrapper: a command
# the test executable runs under (no_io_uring); $Environment: variables set for the run only.
function Invoke-Managed-Tests-Host([string] $Label, [string] $Wrapper = '', [hashtable] $Environment = @{}) {
    Write-Step "Managed tests: $Label"
    $xml = Join-Path $Results ("managed-$Label.xml" -replace '[^A-Za-z0-9_.-]', '_')
    Remove-Item -Force -ErrorAction SilentlyContinue $xml
    & dotnet build $TestProject -c $Configuration --nologo -v:q
    $exe = Join-Path $Root "tests/IocpHybrid.Tests/bin/$Configuration/net10.0/IocpHybrid.Tests$(if ($OnLinux) { '' } else { '.exe' })"
    $PSNativeCommandUseErrorActionPreference = $false
    foreach ($name in $Environment.Keys) { Set-Item "env:$name" $Environment[$name] }
    try {
        if ($Wrapper) {
            & $Wrapper $exe -result-xml $xml -noColor -noLogo
        } else {
            & $exe -result-xml $xml -noColor -noLogo
        }
    } finally {
        foreach ($name in $Environment.Keys) { Remove-Item "env:$name" -ErrorAction SilentlyContinue }
    }
    Read-XunitXml "managed $Label" $xml $LASTEXITCODE
}

# What a port reports where io_uring_setup fails with EPERM: the sysctl's refusal if
# kernel.io_uring_disabled is set, else a seccomp filter's (CompletionPortBackendReason names).
function Get-ExpectedRefusalReason {
    $sysctl = '/proc/sys/kernel/io_uring_disabled'
    if ((Test-Path $sysctl) -and [int](Get-Content -Raw $sysctl).Trim() -gt 0) { return 'IoUringDisabled' }
    return 'IoUringBlocked'
}

function Invoke-Managed-Tests-Wine {
    Write-Step 'Managed tests under Wine (win-x64, IOCP)'
    $xml = Join-Path $Results 'managed-wine.xml'
    Remove-Item -Force -ErrorAction SilentlyContinue $xml
    $publish = Join-Path $Artifacts 'publish/tests-win-x64'
    & dotnet publish $TestProject -c $Configuration -r win-x64 --self-contained -o $publish --nologo -v:q
    $PSNativeCommandUseErrorActionPreference = $false
    # W^X is off for this executable (tests/IocpHybrid.Tests/IocpHybrid.Tests.csproj, README: Windows).
    # Wine sees the Linux file system as drive Z:.
    & $Wine64 (Join-Path $publish 'IocpHybrid.Tests.exe') -result-xml ('Z:' + $xml.Replace('/', '\')) -noColor -noLogo
    Read-XunitXml 'managed wine (iocp)' $xml $LASTEXITCODE
}

# The benchmark harness as a smoke pass (issue 5): every case must run and produce figures; no
# speed is asserted. Each case counts as one test: passed when every contender that could run here
# produced figures, skipped when none could (a tool missing), failed otherwise.
# Run on Linux (the io_uring backend), again with IOCPH_BACKEND=epoll (every library contender on the
# epoll backend) and with --wine (the IOCP backend: the win-x64 builds under Wine).
function Invoke-Bench-Smoke([string] $Label, [string[]] $BenchArgs, [string] $OutDir, [hashtable] $Environment = @{}) {
    Write-Step "Benchmarks, smoke pass (./build.sh bench $($BenchArgs -join ' '))"
    $json = Join-Path $OutDir 'results.json'
    Remove-Item -Force -ErrorAction SilentlyContinue $json
    $script:BenchExitCode = -1
    foreach ($name in $Environment.Keys) { Set-Item "env:$name" $Environment[$name] }
    try {
        Invoke-Bench ($BenchArgs + @('--output-dir', $OutDir)) | Out-Host
    } finally {
        foreach ($name in $Environment.Keys) { Remove-Item "env:$name" -ErrorAction SilentlyContinue }
    }
    if (-not (Test-Path $json)) { Add-Suite $Label 0 1 0 "no results.json (harness exit code $script:BenchExitCode)"; return }
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($case in (Get-Content -Raw $json | ConvertFrom-Json).cases) {
        $ran = @($case.Contenders | Where-Object { -not $_.Skipped })
        $broken = @($ran | Where-Object { $_.Error -or $_.Runs.Count -eq 0 })
        if ($ran.Count -eq 0) { $skipped++ }
        elseif ($broken.Count -gt 0) {
            $failed++
            foreach ($c in $broken) { Write-Host "  bench case '$($case.Section) $($case.Name)': $($c.Name) produced no figures: $($c.Error)" }
        }
        else { $passed++ }
    }
    if ($passed + $failed + $skipped -eq 0) { $failed = 1 }
    Add-Suite $Label $passed $failed $skipped
}

function Invoke-AllTests([bool] $WithWine) {
    New-Item -ItemType Directory -Force -Path $Results | Out-Null
    Install-Prerequisites $WithWine
    if (-not $OnLinux) {
        # A Windows host: the real IOCP backend, no Wine.
        Invoke-Native-Tests 'win-x64-msvc' 'iocp'
        Invoke-Binding-Check
        Invoke-Managed-Tests-Host 'windows (iocp)'
    } else {
        if ($WithWine) { Initialize-WindowsBuild }
        Invoke-Native-Tests 'linux-x64' 'io_uring'
        # The same tests with every io_uring feature fallback forced (as on an older kernel).
        Invoke-Native-Tests 'linux-x64' 'io_uring compat' @{ IOCPH_IO_URING_COMPAT = '1' }
        # The same tests on the epoll backend, forced by name.
        Invoke-Native-Tests 'linux-x64' 'epoll' @{ IOCPH_BACKEND = 'epoll' }
        # The same tests under AddressSanitizer + UndefinedBehaviorSanitizer, then ThreadSanitizer,
        # on both backends (the sanitizer options: the presets' test environment, CMakePresets.json).
        Invoke-Native-Tests 'linux-x64-asan' 'asan+ubsan (io_uring)'
        Invoke-Native-Tests 'linux-x64-asan' 'asan+ubsan (epoll)' @{ IOCPH_BACKEND = 'epoll' }
        Invoke-Native-Tests 'linux-x64-tsan' 'tsan (io_uring)'
        Invoke-Native-Tests 'linux-x64-tsan' 'tsan (epoll)' @{ IOCPH_BACKEND = 'epoll' }
        # Under valgrind memcheck on both backends, and the clang build (scripts/NativeChecks.ps1).
        Invoke-Memcheck-Tests 'valgrind memcheck (io_uring)'
        Invoke-Memcheck-Tests 'valgrind memcheck (epoll)' @{ IOCPH_BACKEND = 'epoll' }
        Invoke-Clang-Build
        Invoke-FuzzSuites # libFuzzer, 30 s per backend (scripts/Fuzz.ps1)
        if ($WithWine) { Invoke-Native-Tests 'win-x64' 'iocp (wine)' }
        Invoke-Binding-Check
        Invoke-Managed-Tests-Host 'linux (io_uring)'
        # The same tests where io_uring is refused, as in a container: under a seccomp filter
        # (tests/tools/no_io_uring) the default port must fall back to epoll and say why.
        $noUring = Join-Path $Artifacts 'native/linux-x64/no_io_uring'
        Invoke-Managed-Tests-Host 'linux (epoll, io_uring refused)' $noUring @{
            IOCPH_TEST_EXPECT_BACKEND = 'epoll'; IOCPH_TEST_EXPECT_REASON = (Get-ExpectedRefusalReason) }
        if ($WithWine) { Invoke-Managed-Tests-Wine }
        # The stress tool (docs/stress.md): a minute of mixed load per Linux backend, every byte verified.
        Invoke-Stress-Suite 'stress 1 min (io_uring)' '1' 'io_uring'
        Invoke-Stress-Suite 'stress 1 min (epoll)' '1' 'epoll'
        # ./build.sh demo as a user runs it, smaller: a 16 MiB copy, 20 echo clients, 2,000 web requests.
        Invoke-OneTestSuite 'demo (quick)' {
            Invoke-Demo @((Join-Path $Artifacts 'demo-quick/source.bin'), '--size-mib', '16') @('--echo-clients', '20', '--echo-rounds', '1', '--web-requests', '2000')
        }
        # C users (an installed tree via CMake and pkg-config) and the README's C# snippet.
        Invoke-Consumer-Tests $WithWine
        # The NuGet package: packed, its contents checked, and used by a C# project through a local feed.
        if ($WithWine) { Invoke-Package-Tests $WithWine }
        if (-not $NoBench) {
            Invoke-Bench-Smoke 'bench --quick' @('--quick') (Join-Path $Artifacts 'bench')
            Invoke-Bench-Smoke 'bench --quick (epoll)' @('--quick') (Join-Path $Artifacts 'bench-epoll') @{ IOCPH_BACKEND = 'epoll' }
            if ($WithWine) { Invoke-Bench-Smoke 'bench --wine' @('--wine') (Join-Path $Artifacts 'bench-wine') }
        }
    }

    Write-Host ''
    Write-Host 'Test suites:'
    foreach ($s in $script:Suites) {
        $note = if ($s.Note) { "  ($($s.Note))" } else { '' }
        Write-Host ("  {0,-40} {1,5} passed {2,4} failed {3,4} skipped{4}" -f $s.Name, $s.Passed, $s.Failed, $s.Skipped, $note)
    }
    $p = ($script:Suites | Measure-Object -Property Passed -Sum).Sum
    $f = ($script:Suites | Measure-Object -Property Failed -Sum).Sum
    $k = ($script:Suites | Measure-Object -Property Skipped -Sum).Sum
    $summary = "$p passed, $f failed"
    if ($k -gt 0) { $summary += ", $k skipped" }
    Write-Host $summary
    if ($f -gt 0) { exit 1 }
}

# ---------------------------------------------------------------------------------------------
# Consumer tests (issue 18): the installed library as an outside project uses it; the README's C# snippet
# ---------------------------------------------------------------------------------------------

# Runs $Body as one suite of one test: passed when it finished, failed when a command in it
# failed (a native command's non-zero exit code throws here) or it threw.
function Invoke-OneTestSuite([string] $Name, [scriptblock] $Body) {
    Write-Step $Name
    $PSNativeCommandUseErrorActionPreference = $true
    try {
        & $Body | Out-Host
        Add-Suite $Name 1 0 0
    } catch {
        $message = "$($_.Exception.Message)" -replace '\s+', ' '
        Write-Host "  $Name failed: $message"
        if ($message.Length -gt 100) { $message = $message.Substring(0, 100) + '...' }
        Add-Suite $Name 0 1 0 $message
    }
}

# `cmake --install` of a preset's build into a fresh artifacts/install/<preset>, as a C user would.
function Install-NativeTree([string] $Preset) {
    $prefix = Join-Path $Artifacts "install/$Preset"
    & cmake --preset $Preset --log-level=WARNING | Out-Host
    & cmake --build --preset $Preset -j ([Environment]::ProcessorCount) --target iocphybrid | Out-Host
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $prefix
    & cmake --install (Join-Path $Artifacts "native/$Preset") --prefix $prefix | Out-Host
    return $prefix
}

# tests/consumers/cmake configured afresh against an installed tree (find_package(IocpHybrid
# CONFIG)), built, and its program run: on Linux directly, for mingw under Wine.
function Invoke-CMakeConsumer([string] $Preset, [string[]] $ConfigureArgs, [string[]] $Runner) {
    $prefix = Install-NativeTree $Preset
    $build = Join-Path $Artifacts "consumers/cmake-$Preset"
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $build
    & cmake -S (Join-Path $Root 'tests/consumers/cmake') -B $build --log-level=WARNING `
        "-DCMAKE_PREFIX_PATH=$prefix" -DCMAKE_BUILD_TYPE=Release @ConfigureArgs
    & cmake --build $build
    $exe = Join-Path $build "consumer$(if ($Preset -like 'win-*') { '.exe' } else { '' })"
    Push-Location $build   # the program writes its temporary file into the current folder
    try {
        if ($Runner.Count -gt 0) { & $Runner[0] @($Runner | Select-Object -Skip 1) $exe } else { & $exe }
    } finally { Pop-Location }
}

# The same program built with the compiler and `pkg-config --cflags --libs iocphybrid` alone.
function Invoke-PkgConfigConsumer {
    $prefix = Install-NativeTree 'linux-x64'
    $build = Join-Path $Artifacts 'consumers/pkg-config-linux-x64'
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $build
    New-Item -ItemType Directory -Force -Path $build | Out-Null
    $saved = $env:PKG_CONFIG_PATH
    $env:PKG_CONFIG_PATH = Join-Path $prefix 'lib/pkgconfig'
    try {
        $flags = @((& pkg-config --cflags --libs iocphybrid) -split '\s+' | Where-Object { $_ })
        $libdir = & pkg-config --variable=libdir iocphybrid
    } finally { $env:PKG_CONFIG_PATH = $saved }
    Write-Host "pkg-config: $($flags -join ' ')"
    $exe = Join-Path $build 'consumer'
    & cc -std=c11 -Wall -Wextra -Werror -o $exe (Join-Path $Root 'tests/consumers/consumer.c') @flags "-Wl,-rpath,$libdir"
    Push-Location $build
    try { & $exe } finally { Pop-Location }
}

# Each ```csharp block of README.md must compile as pasted: it becomes the Program.cs of a
# throwaway console project under artifacts/ (no implicit usings) that references
# managed/IocpHybrid. Compiled, not run (it shows a cancellation that throws). One test per block.
function Invoke-ReadmeSnippets {
    Write-Step 'README C# snippets compile as pasted'
    $name = 'readme snippet'
    $blocks = [regex]::Matches((Get-Content -Raw (Join-Path $Root 'README.md')), '(?ms)^```csharp\r?\n(.*?)^```')
    if ($blocks.Count -eq 0) { Add-Suite $name 0 1 0 'README.md has no ```csharp block'; return }
    $library = Join-Path $Root 'managed/IocpHybrid/IocpHybrid.csproj'
    $transport = Join-Path $Root 'managed/IocpHybrid.AspNetCore/IocpHybrid.AspNetCore.csproj'
    $passed = 0; $failed = 0
    for ($i = 0; $i -lt $blocks.Count; $i++) {
        $dir = Join-Path $Artifacts "readme-snippet/snippet$($i + 1)"
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        Set-Content -Path (Join-Path $dir 'Program.cs') -Value $blocks[$i].Groups[1].Value -NoNewline
        Set-Content -Path (Join-Path $dir 'ReadmeSnippet.csproj') -Value @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <ImplicitUsings>disable</ImplicitUsings>
    <IocphNoNative>true</IocphNoNative>
  </PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="$library" />
    <ProjectReference Include="$transport" />
    <FrameworkReference Include="Microsoft.AspNetCore.App" />
  </ItemGroup>
</Project>
"@
        $PSNativeCommandUseErrorActionPreference = $false
        & dotnet build (Join-Path $dir 'ReadmeSnippet.csproj') -c $Configuration --nologo -v:q | Out-Host
        if ($LASTEXITCODE -eq 0) { $passed++ } else { $failed++; Write-Host "  README.md csharp block $($i + 1) does not compile" }
    }
    Add-Suite $name $passed $failed 0
}

function Invoke-Consumer-Tests([bool] $WithWine) {
    Invoke-OneTestSuite 'consumer cmake (linux)' { Invoke-CMakeConsumer 'linux-x64' @() @() }
    Invoke-OneTestSuite 'consumer pkg-config (linux)' { Invoke-PkgConfigConsumer }
    if ($WithWine) {
        Invoke-OneTestSuite 'consumer cmake (mingw, wine)' {
            # Through cmake/wine-run.sh, as CTest runs the mingw tests (it retries a wine64 that failed to start).
            Invoke-CMakeConsumer 'win-x64' @("-DCMAKE_TOOLCHAIN_FILE=$(Join-Path $Root 'cmake/mingw-w64-x86_64.cmake')") @((Join-Path $Root 'cmake/wine-run.sh'), $Wine64)
        }
    }
    Invoke-ReadmeSnippets
}

# Starts a server (an echo server or the sample web app; each prints "listening on <endpoint>" first),
# runs the demo with $DemoArguments and the endpoint against it, then stops it the way a service is
# stopped (SIGTERM) and checks it exited cleanly.
# Not SIGINT: a script started as a background job of a non-interactive shell passes SIGINT on as
# ignored, .NET keeps that disposition, and the C# server would never see it (issue 17, item 13).
function Invoke-ServerDemo([string[]] $ServerCommand, [string] $Demo, [string[]] $DemoArguments) {
    $info = [System.Diagnostics.ProcessStartInfo]::new($ServerCommand[0])
    foreach ($a in $ServerCommand[1..($ServerCommand.Length - 1)]) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true
    $server = [System.Diagnostics.Process]::Start($info)
    try {
        $read = $server.StandardOutput.ReadLineAsync()
        if (-not $read.Wait(30000) -or $read.Result -notmatch '^listening on (\S+)') {
            throw "the server $($ServerCommand[0]) did not report 'listening on ...' within 30 s"
        }
        $endpoint = $Matches[1].Trim()
        Write-Host "server: $($read.Result)"
        & $Demo @DemoArguments $endpoint
        if ($LASTEXITCODE -ne 0) { throw "the demo against $($ServerCommand[0]) exited with code $LASTEXITCODE" }
    } finally {
        if (-not $server.HasExited) {
            if ($OnLinux) { & kill -TERM $server.Id } else { $server.Kill() }
            if (-not $server.WaitForExit(15000)) { $server.Kill(); throw 'the server did not stop within 15 s of SIGTERM' }
        }
    }
    if ($OnLinux -and $server.ExitCode -ne 0) { throw "the server exited with code $($server.ExitCode)" }
}

# The whole demo: the file copy (C# with $CopyArguments, then C), the echo clients and the web load
# (Invoke-ServerDemos with $LoadArguments). Throws when a part fails.
function Invoke-Demo([string[]] $CopyArguments, [string[]] $LoadArguments) {
    $preset = if ($OnLinux) { 'linux-x64' } else { 'win-x64-msvc' }
    $exe = if ($OnLinux) { '' } else { '.exe' }
    Build-Native $preset
    Write-Step 'Demo (C#): copy a file through the port and verify it; echo clients against an in-process server'
    & dotnet build $DemoProject -c $Configuration --nologo -v:q
    $demo = Join-Path $Root "managed/IocpHybrid.Demo/bin/$Configuration/net10.0/IocpHybrid.Demo$exe"
    & $demo @CopyArguments @LoadArguments
    if ($LASTEXITCODE -ne 0) { throw "the demo exited with code $LASTEXITCODE" }
    $source = if ($CopyArguments.Count -gt 0 -and -not $CopyArguments[0].StartsWith('-')) { $CopyArguments[0] } else { Join-Path $Artifacts 'demo/source.bin' }
    $example = Join-Path $Artifacts "native/$preset/copy_file$exe"
    if ((Test-Path $example) -and (Test-Path $source)) {
        Write-Step 'Demo (C): the same copy with the C API alone'
        & $example $source "$source.copy-c"
        if ($LASTEXITCODE -ne 0) { throw "the C copy exited with code $LASTEXITCODE" }
        Remove-Item -Force "$source.copy-c"
    }
    Invoke-ServerDemos $preset $demo $LoadArguments
}

# The demo's parts after the file copy: the echo clients against the C and the C# echo servers, then
# the sample web app (Kestrel on the IocpHybrid transport) under an HttpClient load. $LoadArguments
# go to each demo run (the CI's quick pass makes the loads smaller).
function Invoke-ServerDemos([string] $Preset, [string] $Demo, [string[]] $LoadArguments) {
    $exe = if ($OnLinux) { '' } else { '.exe' }
    Write-Step 'Demo: the same echo clients against the C echo server (native/examples/echo_server.c)'
    Invoke-ServerDemo @((Join-Path $Artifacts "native/$Preset/echo_server$exe"), '0') $Demo (@('--skip-copy') + $LoadArguments + @('--echo-server'))
    Write-Step 'Demo: the same echo clients against the C# echo server (managed/samples/EchoServer)'
    & dotnet build $EchoServerProject -c $Configuration --nologo -v:q
    Invoke-ServerDemo @((Join-Path $Root "managed/samples/EchoServer/bin/$Configuration/net10.0/EchoServer$exe"), '0') $Demo (@('--skip-copy') + $LoadArguments + @('--echo-server'))
    Write-Step 'Demo: the sample web app (managed/samples/WebApp: Kestrel on the IocpHybrid transport) under an HttpClient load'
    & dotnet build $WebAppProject -c $Configuration --nologo -v:q
    Invoke-ServerDemo @((Join-Path $Root "managed/samples/WebApp/bin/$Configuration/net10.0/WebApp$exe"), '--urls', 'http://127.0.0.1:0') $Demo (@('--skip-copy', '--skip-echo') + $LoadArguments + @('--web-server'))
}

# ---------------------------------------------------------------------------------------------
# Benchmarks (issue 5): the harness in managed/benchmarks/IocpHybrid.Benchmarks.Harness
# ---------------------------------------------------------------------------------------------

. (Join-Path $Root 'scripts/Valgrind.ps1') # Get-PatchedValgrind (section 6, the memcheck pass)
. (Join-Path $Root 'scripts/NativeChecks.ps1') # Invoke-Memcheck-Tests, Invoke-Clang-Build (test)
. (Join-Path $Root 'scripts/Fuzz.ps1') # Invoke-FuzzSuites (test), Invoke-FuzzCommand (fuzz)
. (Join-Path $Root 'scripts/Stress.ps1') # Invoke-StressCommand, Invoke-Stress-Suite (issue 17)

# --wine: what the smoke pass on the IOCP backend needs besides the harness: the Wine prefix, the
# native core for both systems (the echo load generator runs on Linux) and the contenders published
# self-contained for win-x64.
function Initialize-Bench-Wine {
    Initialize-WindowsBuild
    Build-Native 'linux-x64'
    Build-Native 'win-x64'
    $publish = Join-Path $Artifacts 'publish/bench-win-x64'
    foreach ($project in 'managed/benchmarks/IocpHybrid.Benchmarks.Files/IocpHybrid.Benchmarks.Files.csproj',
                         'managed/benchmarks/IocpHybrid.Benchmarks.Micro/IocpHybrid.Benchmarks.Micro.csproj',
                         'managed/benchmarks/IocpHybrid.Benchmarks.BclEchoServer/IocpHybrid.Benchmarks.BclEchoServer.csproj',
                         'managed/samples/EchoServer/EchoServer.csproj') {
        Write-Step "dotnet publish $(Split-Path -Leaf $project) (Release, win-x64, self-contained)"
        & dotnet publish (Join-Path $Root $project) -c Release -r win-x64 --self-contained -o $publish --nologo -v:q
    }
}

# What the Linux run needs besides the harness: fio and valgrind where they apply, the native core
# and the C programs, and the C# contenders in Release.
function Initialize-Bench-Linux([string[]] $HarnessArgs) {
    # Optional tools: fio (the io_uring reference) and wrk (the HTTP load, section 7); the contenders
    # that need one are skipped when it is absent.
    $tools = @('fio', 'wrk') | Where-Object { -not (Get-Command $_ -ErrorAction SilentlyContinue) }
    if ($tools) {
        if ((& id -u) -eq '0') {
            Write-Step "Installing Debian packages: $($tools -join ' ')"
            $env:DEBIAN_FRONTEND = 'noninteractive'
            & apt-get update -q | Out-Null
            & apt-get install -y -q --no-install-recommends @tools | Out-Null
        } else {
            Write-Host "Optional, not installed (their contenders are skipped): apt-get install -y $($tools -join ' ')"
        }
    }
    # Section 6 needs a valgrind that survives io_uring waits; build it only when section 6 runs.
    # The harness names the case "6. Instruction counts instructions per operation (callgrind)".
    $filter = $null
    for ($i = 0; $i -lt $HarnessArgs.Count - 1; $i++) { if ($HarnessArgs[$i] -eq '--filter') { $filter = $HarnessArgs[$i + 1] } }
    Remove-Item env:IOCPH_VALGRIND, env:IOCPH_VALGRIND_UNAVAILABLE -ErrorAction SilentlyContinue
    if (-not $filter -or '6. Instruction counts instructions per operation (callgrind)'.Contains($filter, [StringComparison]::OrdinalIgnoreCase)) {
        try {
            $env:IOCPH_VALGRIND = Get-PatchedValgrind
        } catch {
            $env:IOCPH_VALGRIND_UNAVAILABLE = "$($_.Exception.Message)"
            Write-Host "instruction counts will be skipped: $($env:IOCPH_VALGRIND_UNAVAILABLE)"
        }
    }
    Build-Native 'linux-x64'
    $benchDir = Join-Path $Root 'managed/benchmarks'
    foreach ($name in 'IocpHybrid.Benchmarks.Files', 'IocpHybrid.Benchmarks.Micro', 'IocpHybrid.Benchmarks.Idle', 'IocpHybrid.Benchmarks.BclEchoServer') {
        Write-Step "dotnet build $name (Release)"
        & dotnet build (Join-Path $benchDir "$name/$name.csproj") -c Release --nologo -v:q
    }
    # The TCP echo case also runs the C# echo server sample on IocpHybrid: in Release, like the rest.
    Write-Step 'dotnet build EchoServer (Release)'
    & dotnet build (Join-Path $Root 'managed/samples/EchoServer/EchoServer.csproj') -c Release --nologo -v:q
    # The HTTP case (section 7) serves the sample web app on both Kestrel transports.
    Write-Step 'dotnet build WebApp (Release)'
    & dotnet build $WebAppProject -c Release --nologo -v:q
}

# Builds what the benchmarks need and runs the harness with $HarnessArgs; its exit code goes to
# $script:BenchExitCode (the function's output is the build's and the harness's console output).
# --wine: the smoke pass on the IOCP backend, the contenders' win-x64 builds under Wine.
function Invoke-Bench([string[]] $HarnessArgs) {
    if (-not $OnLinux) { throw 'bench: the harness runs on Linux (Wine proves the API, not Windows speed).' }
    $wine = $HarnessArgs -contains '--wine'
    Install-Prerequisites $wine
    if ($wine) { Initialize-Bench-Wine } else { Initialize-Bench-Linux $HarnessArgs }
    $harnessDir = Join-Path $Root 'managed/benchmarks/IocpHybrid.Benchmarks.Harness'
    Write-Step 'dotnet build IocpHybrid.Benchmarks.Harness (Release)'
    & dotnet build (Join-Path $harnessDir 'IocpHybrid.Benchmarks.Harness.csproj') -c Release --nologo -v:q
    $PSNativeCommandUseErrorActionPreference = $false
    & (Join-Path $harnessDir 'bin/Release/net10.0/IocpHybrid.Benchmarks.Harness') --root $Root @HarnessArgs
    $script:BenchExitCode = $LASTEXITCODE
}

# ---------------------------------------------------------------------------------------------
# The NuGet package (issue 18): ./build.sh pack, its contents check, the C# consumer of the package
# ---------------------------------------------------------------------------------------------

# The Windows SDK build tools (rc.exe compiles the DLL's version resource, cmake/VersionResource.cmake)
# come from NuGet; pinned here, restored into artifacts/tools/sdk-buildtools by a throwaway project.
$WindowsSdkBuildToolsVersion = '10.0.28000.2957'
$PackagesDir = Join-Path $Artifacts 'packages'

# The project's one version: the IOCPH_VERSION_* lines of the public header (CMake and MSBuild read them too).
function Get-IocphVersion {
    $header = Get-Content -Raw (Join-Path $Root 'native/include/iocphybrid.h')
    $parts = foreach ($p in 'MAJOR', 'MINOR', 'PATCH') {
        if ($header -notmatch "#define IOCPH_VERSION_$p (\d+)") { throw "native/include/iocphybrid.h has no IOCPH_VERSION_$p" }
        $Matches[1]
    }
    return $parts -join '.'
}

function Restore-WindowsSdkBuildTools {
    $dir = Join-Path $Artifacts 'tools/sdk-buildtools'
    $rc = Get-ChildItem -Path (Join-Path $dir "packages/microsoft.windows.sdk.buildtools/$WindowsSdkBuildToolsVersion/bin") -Recurse -Filter 'rc.exe' -ErrorAction SilentlyContinue |
        Where-Object { $_.Directory.Name -eq 'x64' } | Select-Object -First 1
    if ($rc) { return }
    Write-Step "Restoring Microsoft.Windows.SDK.BuildTools $WindowsSdkBuildToolsVersion (rc.exe for the DLL's version resource)"
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    Set-Content -Path (Join-Path $dir 'restore.csproj') -Value @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <RestorePackagesPath>`$(MSBuildThisFileDirectory)packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Microsoft.Windows.SDK.BuildTools" Version="$WindowsSdkBuildToolsVersion" ExcludeAssets="all" />
  </ItemGroup>
</Project>
"@
    & dotnet restore (Join-Path $dir 'restore.csproj') --nologo -v:q | Out-Host
}

# What the Windows (mingw-w64) build needs besides the compiler: rc.exe and a Wine prefix to run it.
function Initialize-WindowsBuild {
    Restore-WindowsSdkBuildTools
    Initialize-WinePrefix
}

# The arm64 cross build: Debian's cross compiler and the arm64 liburing (multiarch); qemu-user for
# the smoke run of 'package contents'.
function Install-Arm64Prerequisites {
    $missing = [System.Collections.Generic.List[string]]::new()
    if (-not (Get-Command aarch64-linux-gnu-gcc -ErrorAction SilentlyContinue)) { $missing.Add('gcc-aarch64-linux-gnu'); $missing.Add('libc6-dev-arm64-cross') }
    if (-not (Test-Path '/usr/lib/aarch64-linux-gnu/liburing.a')) { $missing.Add('liburing-dev:arm64') }
    if (-not (Get-Command qemu-aarch64-static -ErrorAction SilentlyContinue)) { $missing.Add('qemu-user-static') }
    if ($missing.Count -eq 0) { return }
    $line = "dpkg --add-architecture arm64 && apt-get update && apt-get install -y --no-install-recommends $($missing -join ' ')"
    if ((& id -u) -ne '0') { throw "Missing Debian packages for the arm64 build. Run as root: $line" }
    Write-Step "Installing Debian packages: $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & dpkg --add-architecture arm64
    & apt-get update -q | Out-Null
    & apt-get install -y -q --no-install-recommends @missing | Out-Null
}

# ./build.sh pack: the three native libraries, then the package (deterministic, SourceLink) into
# artifacts/packages. Returns the .nupkg's path.
function Invoke-Pack {
    Install-Prerequisites $true
    Install-Arm64Prerequisites
    Initialize-WindowsBuild
    foreach ($preset in 'linux-x64', 'linux-arm64', 'win-x64') {
        Write-Step "Native library ($preset)"
        & cmake --preset $preset --log-level=WARNING | Out-Host
        & cmake --build --preset $preset -j ([Environment]::ProcessorCount) --target iocphybrid | Out-Host
    }
    $version = Get-IocphVersion
    Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $PackagesDir "IocpHybrid.$version.nupkg"), (Join-Path $PackagesDir "IocpHybrid.$version.snupkg")
    Write-Step "dotnet pack IocpHybrid $version -> $PackagesDir"
    # Rebuilt, not incremental: an assembly already built without ContinuousIntegrationBuild (its
    # paths not mapped to /_/) would otherwise be packed as it is, and the build would not be deterministic.
    $project = Join-Path $Root 'managed/IocpHybrid/IocpHybrid.csproj'
    $ci = @('-c', $Configuration, '--nologo', '-v:q', '-p:IocphPackNatives=true', '-p:ContinuousIntegrationBuild=true')
    & dotnet build $project --no-incremental @ci | Out-Host
    & dotnet pack $project --no-build -o $PackagesDir @ci | Out-Host
    $nupkg = Join-Path $PackagesDir "IocpHybrid.$version.nupkg"
    if (-not (Test-Path $nupkg)) { throw "dotnet pack wrote no $nupkg" }
    # The Kestrel transport ships next to it, depending on the same version.
    Write-Step "dotnet pack IocpHybrid.AspNetCore $version -> $PackagesDir"
    Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $PackagesDir "IocpHybrid.AspNetCore.$version.nupkg"), (Join-Path $PackagesDir "IocpHybrid.AspNetCore.$version.snupkg")
    $aspnet = Join-Path $Root 'managed/IocpHybrid.AspNetCore/IocpHybrid.AspNetCore.csproj'
    & dotnet build $aspnet --no-incremental @ci | Out-Host
    & dotnet pack $aspnet --no-build -o $PackagesDir @ci | Out-Host
    if (-not (Test-Path (Join-Path $PackagesDir "IocpHybrid.AspNetCore.$version.nupkg"))) { throw "dotnet pack wrote no IocpHybrid.AspNetCore.$version.nupkg" }
    return $nupkg
}

# 'package contents': one test per check. The files the package must hold; each .so needs nothing
# beyond the C library (readelf -d NEEDED); the DLL imports only Windows system DLLs (objdump -p);
# the version stamps match the header; the arm64 .so loads and answers under qemu-user.
function Test-PackageContents([string] $Nupkg) {
    Write-Step "Package contents: $Nupkg"
    $name = 'package contents'
    $check = {
        param([string] $What, [scriptblock] $Test)
        try {
            $why = & $Test
            if ($why) { throw $why }
            Write-Host "  ok    $What"
            $script:pcPassed++
        } catch {
            Write-Host "  FAIL  $What`: $($_.Exception.Message)"
            $script:pcFailed++
        }
    }
    $script:pcPassed = 0; $script:pcFailed = 0; $script:pcSkipped = 0
    $version = Get-IocphVersion
    $dir = Join-Path $Artifacts 'package-contents'
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $dir
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    [System.IO.Compression.ZipFile]::ExtractToDirectory($Nupkg, $dir)
    $expected = 'lib/net10.0/IocpHybrid.dll', 'lib/net10.0/IocpHybrid.xml', 'README.md', 'LICENSE', 'IocpHybrid.nuspec',
                'runtimes/linux-x64/native/libiocphybrid.so', 'runtimes/linux-arm64/native/libiocphybrid.so',
                'runtimes/win-x64/native/libiocphybrid.dll'
    foreach ($file in $expected) {
        & $check "holds $file" { if (-not (Test-Path (Join-Path $dir $file))) { 'missing' } }
    }
    & $check "IocpHybrid.AspNetCore ${version}: the transport assembly and its docs, on IocpHybrid $version and ASP.NET Core" {
        $aspnet = Join-Path (Split-Path $Nupkg) "IocpHybrid.AspNetCore.$version.nupkg"
        if (-not (Test-Path $aspnet)) { return "no $aspnet" }
        $zip = [System.IO.Compression.ZipFile]::OpenRead($aspnet)
        try {
            foreach ($file in 'lib/net10.0/IocpHybrid.AspNetCore.dll', 'lib/net10.0/IocpHybrid.AspNetCore.xml') {
                if (-not ($zip.Entries | Where-Object FullName -eq $file)) { return "missing $file" }
            }
            $reader = [IO.StreamReader]::new(($zip.Entries | Where-Object FullName -eq 'IocpHybrid.AspNetCore.nuspec').Open())
            [xml] $nuspec = $reader.ReadToEnd()
            $reader.Dispose()
            $m = $nuspec.package.metadata
            $dependency = @($m.dependencies.group.dependency | Where-Object id -eq 'IocpHybrid')
            if ($dependency.Count -ne 1 -or $dependency[0].version -ne $version) { return "no dependency on IocpHybrid $version" }
            if (-not ($m.frameworkReferences.group.frameworkReference | Where-Object name -eq 'Microsoft.AspNetCore.App')) { return 'no framework reference to Microsoft.AspNetCore.App' }
        } finally { $zip.Dispose() }
    }
    $snupkg = [IO.Path]::ChangeExtension($Nupkg, '.snupkg')
    & $check 'symbols package holds lib/net10.0/IocpHybrid.pdb' {
        if (-not (Test-Path $snupkg)) { return "no $snupkg" }
        $zip = [System.IO.Compression.ZipFile]::OpenRead($snupkg)
        try { if (-not ($zip.Entries | Where-Object FullName -eq 'lib/net10.0/IocpHybrid.pdb')) { 'no PDB' } } finally { $zip.Dispose() }
    }
    & $check "nuspec: version $version (the header's), readme, license, repository commit" {
        [xml] $nuspec = Get-Content -Raw (Join-Path $dir 'IocpHybrid.nuspec')
        $m = $nuspec.package.metadata
        if ($m.version -ne $version) { return "version $($m.version)" }
        if ($m.readme -ne 'README.md') { return 'no readme' }
        if (-not $m.license) { return 'no license' }
        if (-not $m.repository -or -not $m.repository.commit) { return 'no repository commit (SourceLink)' }
    }
    & $check 'IocpHybrid.dll: assembly version is the header version' {
        $an = [System.Reflection.AssemblyName]::GetAssemblyName((Join-Path $dir 'lib/net10.0/IocpHybrid.dll'))
        if ("$($an.Version.Major).$($an.Version.Minor).$($an.Version.Build)" -ne $version) { "assembly version $($an.Version)" }
    }
    & $check 'IocpHybrid.dll built deterministically (ContinuousIntegrationBuild: source paths mapped to /_/)' {
        $text = [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes((Join-Path $dir 'lib/net10.0/IocpHybrid.dll')))
        if ($text.Contains($Root.TrimEnd('/') + '/')) { return "holds the build path $Root" }
        if (-not $text.Contains('/_/managed/IocpHybrid/')) { 'no mapped /_/ path' }
    }
    $allowedSo = '^(libc\.so\.6|libpthread\.so\.0|libdl\.so\.2|libm\.so\.6|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'
    foreach ($rid in 'linux-x64', 'linux-arm64') {
        $so = Join-Path $dir "runtimes/$rid/native/libiocphybrid.so"
        & $check "$rid .so needs only libc (readelf -d NEEDED)" {
            $needed = @(& readelf -d $so | Select-String 'NEEDED' | ForEach-Object { if ($_ -match '\[(.+)\]') { $Matches[1] } })
            Write-Host "        NEEDED: $($needed -join ', ')"
            $bad = @($needed | Where-Object { $_ -notmatch $allowedSo })
            if ($needed.Count -eq 0) { return 'no NEEDED entries read' }
            if ($bad.Count -gt 0) { return "needs $($bad -join ', ')" }
        }
        & $check "$rid .so machine and version string '@(#) IocpHybrid $version'" {
            $machine = (& readelf -h $so | Select-String 'Machine:').ToString()
            $want = if ($rid -eq 'linux-x64') { 'X86-64' } else { 'AArch64' }
            if ($machine -notmatch $want) { return "machine: $machine" }
            $bytes = [IO.File]::ReadAllBytes($so)
            $text = [Text.Encoding]::Latin1.GetString($bytes)
            if (-not $text.Contains("@(#) IocpHybrid $version`0")) { 'no version string' }
        }
    }
    $dll = Join-Path $dir 'runtimes/win-x64/native/libiocphybrid.dll'
    & $check 'win-x64 DLL imports only Windows system DLLs (objdump -p)' {
        $imports = @(& x86_64-w64-mingw32-objdump -p $dll | Select-String 'DLL Name:' | ForEach-Object { ($_ -split 'DLL Name:')[1].Trim() })
        Write-Host "        imports: $($imports -join ', ')"
        $system = '^(kernel32|ws2_32|mswsock|msvcrt|ucrtbase|advapi32|ntdll|api-ms-win-.*)\.dll$'
        $bad = @($imports | Where-Object { $_ -notmatch $system })
        if ($imports.Count -eq 0) { return 'no imports read' }
        if ($bad.Count -gt 0) { return "imports $($bad -join ', ')" }
    }
    & $check 'win-x64 DLL has a version resource (.rsrc) and no link time stamp (deterministic)' {
        if (-not (& x86_64-w64-mingw32-objdump -h $dll | Select-String '\.rsrc')) { return 'no .rsrc section' }
        $stamp = & x86_64-w64-mingw32-objdump -p $dll | Select-String '^Time/Date stamp\s+(\S+)'
        if (-not $stamp -or [Convert]::ToUInt32($stamp.Matches[0].Groups[1].Value, 16) -ne 0) { "PE time stamp: $stamp" }
    }
    # Under qemu-user: a single-threaded arm64 program loads the packed .so and calls into it (a port
    # would start threads, which hang in this machine's qemu-user 7.2: cmake/aarch64-linux-gnu.cmake).
    if ((Get-Command qemu-aarch64-static -ErrorAction SilentlyContinue) -and (Get-Command aarch64-linux-gnu-gcc -ErrorAction SilentlyContinue)) {
        & $check 'linux-arm64 .so loads and answers under qemu-user (iocph_version, iocph_status_message)' {
            $exe = Join-Path $dir 'arm64-smoke'
            $src = Join-Path $dir 'arm64-smoke.c'
            Set-Content -Path $src -Value @'
#include <stdio.h>
#include <string.h>
#include "iocphybrid.h"
int main(void)
{
    printf("arm64: iocph_version() = 0x%06x, IOCPH_E_CANCELED: %s\n", (unsigned)iocph_version(), iocph_status_message(IOCPH_E_CANCELED));
    return iocph_version() == IOCPH_VERSION && strcmp(iocph_backend_name(IOCPH_BACKEND_EPOLL), "epoll") == 0 ? 0 : 1;
}
'@
            $lib = Join-Path $dir 'runtimes/linux-arm64/native'
            & aarch64-linux-gnu-gcc -std=c11 -Wall -Werror -I (Join-Path $Root 'native/include') -o $exe $src -L $lib -liocphybrid "-Wl,-rpath,$lib"
            $out = & qemu-aarch64-static -L /usr/aarch64-linux-gnu $exe
            Write-Host "        $out"
            if ($LASTEXITCODE -ne 0) { "exit code $LASTEXITCODE" }
        }
    } else {
        Write-Host '  skip  linux-arm64 under qemu-user (qemu-user-static or gcc-aarch64-linux-gnu missing)'
        $script:pcSkipped++
    }
    Add-Suite $name $script:pcPassed $script:pcFailed $script:pcSkipped
}

# tests/consumers/dotnet: a C# project outside the solution that restores the package from the local
# folder feed (artifacts/packages) into a cache of its own, without a ProjectReference. $Mode: 'linux'
# (dotnet build, run), 'wine' (published self-contained for win-x64, run under Wine), 'aot' (published
# with NativeAOT for linux-x64, run).
function Invoke-DotnetConsumer([string] $Mode) {
    $project = Join-Path $Root 'tests/consumers/dotnet/Consumer.csproj'
    $version = Get-IocphVersion
    $nupkg = Join-Path $PackagesDir "IocpHybrid.$version.nupkg"
    if (-not (Test-Path $nupkg)) { throw "no $nupkg (./build.sh pack)" }
    # The consumer's own cache: IocpHybrid removed first, so the restore must take the package just packed.
    $cache = Join-Path $Artifacts 'consumers/dotnet-packages'
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $cache 'iocphybrid')
    $out = Join-Path $Artifacts "consumers/dotnet-$Mode"
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $out, (Join-Path $Root 'tests/consumers/dotnet/obj'), (Join-Path $Root 'tests/consumers/dotnet/bin')
    $common = @('-c', 'Release', '-o', $out, '--nologo', '-v:q', "-p:IocpHybridVersion=$version")
    switch ($Mode) {
        'linux' { & dotnet build $project @common }
        'wine'  { & dotnet publish $project -r win-x64 --self-contained @common }
        'aot'   { & dotnet publish $project -r linux-x64 -p:PublishAot=true @common }
    }
    # The package restored is the very file in artifacts/packages (not a cached or foreign one).
    $restored = Join-Path $cache "iocphybrid/$version/iocphybrid.$version.nupkg.sha512"
    if (-not (Test-Path $restored)) { throw "IocpHybrid $version was not restored into $cache" }
    $sha = [Convert]::ToBase64String([System.Security.Cryptography.SHA512]::HashData([IO.File]::ReadAllBytes($nupkg)))
    if ((Get-Content -Raw $restored).Trim() -ne $sha) { throw "the IocpHybrid $version restored is not $nupkg" }
    Write-Host "restored IocpHybrid $version = $nupkg (SHA-512 equal)"
    switch ($Mode) {
        'linux' { & (Join-Path $out 'Consumer') }
        'wine'  { & (Join-Path $Root 'cmake/wine-run.sh') $Wine64 (Join-Path $out 'Consumer.exe') }
        'aot'   {
            if (Test-Path (Join-Path $out 'Consumer.dll')) { throw 'the NativeAOT publish holds Consumer.dll: not a native executable' }
            & (Join-Path $out 'Consumer')
        }
    }
}

function Invoke-Package-Tests([bool] $WithWine) {
    $script:PackedNupkg = $null
    Invoke-OneTestSuite 'pack' { $script:PackedNupkg = Invoke-Pack | Select-Object -Last 1 }
    if (-not $script:PackedNupkg) { return }
    Test-PackageContents $script:PackedNupkg
    Invoke-OneTestSuite 'consumer dotnet (linux)' { Invoke-DotnetConsumer 'linux' }
    if ($WithWine) { Invoke-OneTestSuite 'consumer dotnet (win-x64, wine)' { Invoke-DotnetConsumer 'wine' } }
    Invoke-OneTestSuite 'consumer dotnet (NativeAOT)' { Invoke-DotnetConsumer 'aot' }
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

Push-Location $Root
try {
    switch ($Command) {
        'build' {
            Install-Prerequisites (-not $NoWine)
            if ($OnLinux -and -not $NoWine) { Initialize-WindowsBuild }
            Build-All (-not $NoWine)
        }
        'test' {
            Invoke-AllTests (-not $NoWine)
        }
        'generate' {
            Install-Prerequisites $false
            Write-Step 'Regenerating the C# binding'
            & dotnet run --project $GeneratorProject -c $Configuration -- "@$GeneratorRsp"
        }
        'demo' {
            Install-Prerequisites $false
            Invoke-Demo $Rest @()
        }
        'bench' {
            Invoke-Bench $Rest | Out-Host
            if ($script:BenchExitCode -ne 0) { exit $script:BenchExitCode }
        }
        'fuzz' {
            Install-Prerequisites $false
            Invoke-FuzzCommand $Rest
        }
        'stress' {
            Invoke-StressCommand $Rest
        }
        'pack' {
            if (-not $OnLinux) { throw 'pack: the three native libraries are built on Linux (mingw-w64 for win-x64, a cross gcc for arm64).' }
            $nupkg = Invoke-Pack | Select-Object -Last 1
            Write-Host "package: $nupkg"
        }
        'clean' {
            Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $Artifacts
            Get-ChildItem -Path (Join-Path $Root 'managed'), (Join-Path $Root 'tests') -Directory -Recurse -Include bin, obj |
                Remove-Item -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
} finally {
    Pop-Location
}
