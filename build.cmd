@echo off
rem Entry point on Windows: runs build.ps1 with the PowerShell dotnet tool (dotnet-tools.json).
rem Usage: build.cmd [build^|test^|demo^|generate^|clean] [args]
pushd "%~dp0"
dotnet tool restore >nul || (popd & exit /b 1)
dotnet tool run pwsh -- -NoLogo -NoProfile -NonInteractive -File "%~dp0build.ps1" %*
set RC=%ERRORLEVEL%
popd
exit /b %RC%
