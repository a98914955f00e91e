# Dot-sourced by build.ps1 (uses its $Artifacts, Write-Step): the valgrind that section 6 of the
# benchmarks (instruction counts, managed/benchmarks/IocpHybrid.Benchmarks.Harness/Cases.Instructions.cs)
# and the memcheck pass of the native tests (scripts/Memcheck.ps1) need.

# Section 6 (instruction counts) runs the C benchmarks under valgrind --tool=callgrind, the memcheck
# pass the native tests under --tool=memcheck. The core's ring threads wait in
# io_uring_enter(GETEVENTS); valgrind runs one thread at a time and releases its lock only around
# syscalls marked "may block". Debian 12's valgrind 3.19 does not mark io_uring_enter
# so (upstream does since 3.22: PRE(sys_io_uring_enter) sets SfMayBlock), and the first wait starves
# every other thread forever. So: valgrind >= 3.22 from the system when there is one, otherwise
# Debian's own valgrind source package with that one line added, built once into artifacts/tools.
$ValgrindDir = Join-Path $Artifacts 'tools/valgrind'

function Get-ValgrindVersion([string] $Exe) {
    $PSNativeCommandUseErrorActionPreference = $false
    $v = (& $Exe --tool=callgrind --version 2>$null) -join ''
    if ($v -match '(\d+)\.(\d+)') { return [version]::new([int] $Matches[1], [int] $Matches[2]) }
    return [version]::new(0, 0)
}

# deb-src stanzas for the release this machine runs, derived from its own apt sources (the same
# archives and keys; nothing else is contacted). Returns deb822 text, empty when none found.
function Get-DebSrcSources([string] $Codename) {
    $stanzas = [System.Collections.Generic.List[string]]::new()
    $files = @(Get-ChildItem -Path '/etc/apt/sources.list.d' -File -ErrorAction SilentlyContinue |
        Where-Object { $_.Name -like '*.sources' -or $_.Name -like '*.list' } | ForEach-Object FullName)
    if (Test-Path '/etc/apt/sources.list') { $files += '/etc/apt/sources.list' }
    foreach ($file in $files) {
        $text = Get-Content -Raw -LiteralPath $file
        if ($file -like '*.sources') {
            foreach ($block in ($text -split "(?:\r?\n){2,}")) {
                $fields = @{}
                foreach ($line in ($block -split "\r?\n")) {
                    if ($line -match '^([A-Za-z-]+):\s*(.*)$') { $fields[$Matches[1]] = $Matches[2].Trim() }
                }
                if (-not $fields['Types'] -or -not $fields['URIs'] -or -not $fields['Suites']) { continue }
                if ($fields['Enabled'] -eq 'no') { continue }
                if (($fields['Types'] -split '\s+') -notcontains 'deb') { continue }
                if (($fields['Suites'] -split '\s+') -notcontains $Codename) { continue }
                $signed = if ($fields['Signed-By']) { "`nSigned-By: $($fields['Signed-By'])" } else { '' }
                $stanzas.Add("Types: deb-src`nURIs: $($fields['URIs'])`nSuites: $Codename`nComponents: main$signed")
            }
        } else {
            foreach ($line in ($text -split "\r?\n")) {
                if ($line -match '^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s') {
                    $options, $uri, $suite = $Matches[1], $Matches[2], $Matches[3]
                    if ($suite -ne $Codename) { continue }
                    $signed = if ($options -match 'signed-by=([^\s\]]+)') { "`nSigned-By: $($Matches[1])" } else { '' }
                    $stanzas.Add("Types: deb-src`nURIs: $uri`nSuites: $Codename`nComponents: main$signed")
                }
            }
        }
    }
    return ($stanzas | Select-Object -Unique) -join "`n`n"
}

# The tools the project runs; the build below compiles these and nothing else.
$ValgrindTools = @('callgrind', 'memcheck')

# Returns the valgrind to use for callgrind and memcheck, or throws with the reason it can't be had.
function Get-PatchedValgrind {
    $marker = Join-Path $ValgrindDir '.iocphybrid-ready'
    # A tree built before the memcheck pass has callgrind only, and no headers: build it again.
    # (valgrind.h, memcheck.h: the memcheck preset's io_uring annotations, native/src/linux/uring_valgrind.h.)
    $toolsPresent = @($ValgrindTools | Where-Object { Test-Path (Join-Path $ValgrindDir "libexec/valgrind/$_-amd64-linux") }).Count -eq $ValgrindTools.Count
    $headersPresent = Test-Path (Join-Path $ValgrindDir 'include/valgrind/valgrind.h')
    if ((Test-Path $marker) -and $toolsPresent -and $headersPresent) { return (Join-Path $ValgrindDir 'bin/valgrind') }
    $system = Get-Command valgrind -ErrorAction SilentlyContinue
    if ($system -and (Get-ValgrindVersion $system.Source) -ge [version]'3.22') { return $system.Source }
    if ((& id -u) -ne '0') {
        throw "needs valgrind >= 3.22 or Debian's valgrind rebuilt with io_uring_enter marked may-block: run ./build.sh bench or test once as root to build it into $ValgrindDir"
    }
    $codename = (Get-Content '/etc/os-release' | Where-Object { $_ -match '^VERSION_CODENAME=' }) -replace '^VERSION_CODENAME=', '' -replace '"', ''
    if (-not $codename) { throw 'no VERSION_CODENAME in /etc/os-release: cannot find the Debian source package of valgrind' }
    $sources = Get-DebSrcSources $codename
    if (-not $sources) { throw "no apt source for '$codename' in /etc/apt/sources.list.d or /etc/apt/sources.list to fetch valgrind's source package from" }

    $started = [System.Diagnostics.Stopwatch]::StartNew()
    Write-Step "Building valgrind for the instruction counts and the memcheck pass (once; Debian's valgrind source for $codename + io_uring_enter may-block) into $ValgrindDir"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    $need = @()
    if (-not (Get-Command dpkg-source -ErrorAction SilentlyContinue)) { $need += 'dpkg-dev' }
    if (-not (Get-Command perl -ErrorAction SilentlyContinue)) { $need += 'perl' }
    if ($need.Count -gt 0) {
        & apt-get update -q | Out-Null
        & apt-get install -y -q --no-install-recommends @need | Out-Null
    }

    # A private apt state (sources, lists, cache) so the machine's own configuration is untouched.
    $tools = Join-Path $Artifacts 'tools'
    $apt = Join-Path $tools 'apt'
    $work = Join-Path $tools 'valgrind-src'
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $apt, $work, $ValgrindDir
    foreach ($d in "$apt/sources.list.d", "$apt/lists/partial", "$apt/cache/archives/partial", $work) { New-Item -ItemType Directory -Force -Path $d | Out-Null }
    Set-Content -Path "$apt/sources.list.d/deb-src.sources" -Value $sources
    $aptOptions = @('-o', 'Dir::Etc::SourceList=/dev/null', '-o', "Dir::Etc::SourceParts=$apt/sources.list.d",
        '-o', "Dir::State::Lists=$apt/lists", '-o', "Dir::Cache=$apt/cache", '-o', 'APT::Sandbox::User=root')
    $log = Join-Path $tools 'valgrind-build.log'
    & apt-get @aptOptions update -q *> $log
    Push-Location $work
    try {
        & apt-get @aptOptions source -q valgrind *>> $log
        $src = Get-ChildItem -Directory -Filter 'valgrind-*' | Select-Object -First 1
        if (-not $src) { throw "apt-get source valgrind produced no source tree (see $log)" }

        # The fix: upstream valgrind marks io_uring_enter SfMayBlock (its PRE wrapper's first line).
        $wrapper = Join-Path $src.FullName 'coregrind/m_syswrap/syswrap-linux.c'
        $code = Get-Content -Raw -LiteralPath $wrapper
        $pre = [regex]::Match($code, 'PRE\(sys_io_uring_enter\)\r?\n\{\r?\n')
        if (-not $pre.Success) { throw "PRE(sys_io_uring_enter) not found in $wrapper" }
        $body = $code.Substring($pre.Index, [Math]::Min(400, $code.Length - $pre.Index))
        if ($body -notmatch 'SfMayBlock') {
            $code = $code.Insert($pre.Index + $pre.Length, "   *flags |= SfMayBlock;`n")
            Set-Content -NoNewline -LiteralPath $wrapper -Value $code
        }

        # Only what the two tools need: VEX, the core, callgrind, memcheck (and its preloaded
        # malloc replacement), default.supp, and the client request headers (maintainer mode is
        # off, so Debian's patches to configure.ac and Makefile.am do not trigger autotools).
        Push-Location $src.FullName
        try {
            $j = [Environment]::ProcessorCount
            & ./configure "--prefix=$ValgrindDir" --enable-only64bit --without-mpicc *>> $log
            & make -j $j include/vgversion.h default.supp *>> $log
            foreach ($sub in @('VEX', 'coregrind') + $ValgrindTools) { & make -j $j -C $sub *>> $log }
            foreach ($sub in @('coregrind') + $ValgrindTools) { & make -C $sub install *>> $log }
            & make install-vglibDATA *>> $log
            & make -C include install *>> $log   # valgrind.h, memcheck.h (client requests)
        } finally {
            Pop-Location
        }
        $version = (& (Join-Path $ValgrindDir 'bin/valgrind') --tool=callgrind --version) -join ''
        Set-Content -Path $marker -Value "$version from Debian source $($src.Name) ($codename) + io_uring_enter SfMayBlock; built in $([int] $started.Elapsed.TotalSeconds) s"
    } finally {
        Pop-Location
    }
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $work, $apt
    Write-Host "valgrind built in $([int] $started.Elapsed.TotalSeconds) s (log: $log)"
    return (Join-Path $ValgrindDir 'bin/valgrind')
}

