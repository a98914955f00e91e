#!/usr/bin/env bash
# Entry point on Linux: runs build.ps1 with the PowerShell dotnet tool (dotnet-tools.json), so
# the machine needs only the .NET SDK. Usage: ./build.sh [build|test|demo|generate|pack|bench|stress|clean] [args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet tool restore >/dev/null
exec dotnet tool run pwsh -- -NoLogo -NoProfile -NonInteractive -File ./build.ps1 "$@"
