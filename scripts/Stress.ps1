# Dot-sourced by build.ps1 (uses its $Root, $Artifacts, $Configuration, $Wine64, Write-Step, Add-Suite,
# Initialize-WindowsBuild): ./build.sh stress and the stress rows of ./build.sh test (issue 17).
# The tool itself is managed/IocpHybrid.Stress; docs/stress.md describes what it does and checks.

$StressProject = Join-Path $Root 'managed/IocpHybrid.Stress/IocpHybrid.Stress.csproj'
$StressDir = Join-Path $Artifacts 'stress'

# ./build.sh stress [--minutes N] [--backend io_uring|epoll|iocp|default] [--seed S] [--sample-seconds X]
# --backend iocp (or --wine) runs the win-x64 build under Wine on a Linux host.
function Invoke-StressCommand([string[]] $Arguments) {
    $minutes = '1'; $backend = 'default'; $pass = [System.Collections.Generic.List[string]]::new()
    for ($i = 0; $i -lt $Arguments.Count; $i++) {
        switch ($Arguments[$i]) {
            '--minutes' { $minutes = $Arguments[++$i] }
            '--backend' { $backend = $Arguments[++$i] }
            '--wine' { $backend = 'iocp' }
            default { $pass.Add($Arguments[$i]) }
        }
    }
    if ($backend -notin 'default', 'io_uring', 'epoll', 'iocp') { throw "stress: unknown backend '$backend' (io_uring, epoll, iocp, default)" }
    $result = Invoke-Stress $minutes $backend $pass.ToArray() (Join-Path $StressDir "stress-$backend.log")
    if (-not $result.Passed) { exit 1 }
}

# Builds the tool and runs it for $Minutes on $Backend, its output shown and kept in $Log. Returns
# Passed and the tool's last line (STRESS PASSED|FAILED backend=... ops=... bytes=...).
function Invoke-Stress([string] $Minutes, [string] $Backend, [string[]] $Extra, [string] $Log) {
    New-Item -ItemType Directory -Force -Path $StressDir | Out-Null
    $toolArgs = @('--minutes', $Minutes) + $Extra
    $onWine = $Backend -eq 'iocp' -and $IsLinux
    if ($onWine) {
        Initialize-WindowsBuild
        $publish = Join-Path $Artifacts 'publish/stress-win-x64'
        Write-Step 'dotnet publish IocpHybrid.Stress (Release, win-x64, self-contained)'
        & dotnet publish $StressProject -c $Configuration -r win-x64 --self-contained -o $publish --nologo -v:q | Out-Host
        $command = @($Wine64, (Join-Path $publish 'IocpHybrid.Stress.exe'))
    } else {
        Write-Step 'dotnet build IocpHybrid.Stress'
        & dotnet build $StressProject -c $Configuration --nologo -v:q | Out-Host
        $exe = Join-Path $Root "managed/IocpHybrid.Stress/bin/$Configuration/net10.0/IocpHybrid.Stress$(if ($IsLinux) { '' } else { '.exe' })"
        $command = @($exe)
    }

    Write-Step "Stress: $Minutes min on $Backend$(if ($onWine) { ' (Wine)' })"
    $PSNativeCommandUseErrorActionPreference = $false
    $saved = $env:IOCPH_BACKEND
    if ($Backend -ne 'default' -and -not $onWine) { $env:IOCPH_BACKEND = $Backend } else { Remove-Item env:IOCPH_BACKEND -ErrorAction SilentlyContinue }
    try {
        $exeArgs = @($command | Select-Object -Skip 1) + $toolArgs
        & $command[0] @exeArgs 2>&1 | ForEach-Object { "$_" } | Tee-Object -FilePath $Log | Out-Host
        $exitCode = $LASTEXITCODE
    } finally {
        if ($null -eq $saved) { Remove-Item env:IOCPH_BACKEND -ErrorAction SilentlyContinue } else { $env:IOCPH_BACKEND = $saved }
    }
    $line = @(Get-Content $Log | Where-Object { $_ -like 'STRESS *' } | Select-Object -Last 1)
    $summary = if ($line.Count -gt 0) { $line[0] } else { "no result line (exit code $exitCode)" }
    return [pscustomobject]@{ Passed = ($exitCode -eq 0 -and $summary -like 'STRESS PASSED*'); Line = $summary; ExitCode = $exitCode }
}

# One row of ./build.sh test: passed or failed, with the operations and bytes verified as its note.
function Invoke-Stress-Suite([string] $Label, [string] $Minutes, [string] $Backend) {
    $log = Join-Path $StressDir (($Label -replace '[^A-Za-z0-9_.-]', '_') + '.log')
    $result = Invoke-Stress $Minutes $Backend @() $log
    $note = if ($result.Line -match 'ops=(\d+) items=(\d+) bytes=(\d+)') {
        '{0:N0} ops, {1:N0} MiB verified' -f [long] $Matches[1], ([long] $Matches[3] / 1MB)
    } else { $result.Line }
    if (-not $result.Passed) { $note = "$note; see $log" }
    Add-Suite $Label ([int] $result.Passed) ([int] (-not $result.Passed)) 0 $note
}
