#!/usr/bin/env bash
# Runs every test (unit, TestKit simulations, real-data learning, cluster processes) and ends with one
# "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
# The dashboard test drives a real headless Chromium (Debian package), so the tests need it installed.
scripts/setup.sh chromium || exit 1
dotnet build -c Release Distributed.sln -v quiet -nologo || exit 1
log=$(mktemp)
dotnet test Distributed.sln -c Release --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$passed" -gt 0 ] || { echo "no test ran" >&2; exit 1; }
exit "$status"
