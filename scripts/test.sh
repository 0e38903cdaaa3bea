#!/usr/bin/env bash
# Runs every test: installs what the tests need, builds, runs each test project, and
# ends with one line "Tests: N passed, M failed, K skipped" summed over all projects.
# Exits non-zero when anything failed (or when no test ran).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh || exit 1

results=$root/artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

echo "== build" >&2
if ! dotnet build OstreeContainer.sln -c Release -warnaserror --nologo -v quiet; then
    echo "Tests: 0 passed, 1 failed, 0 skipped"
    exit 1
fi

echo "== test" >&2
dotnet test --solution OstreeContainer.sln -c Release --no-build \
    --report-xunit-trx --results-directory "$results" --timeout 30m
rc=$?

passed=0 failed=0 skipped=0 files=0
for trx in "$results"/*.trx; do
    [ -e "$trx" ] || continue
    files=$((files + 1))
    # -a: a test's captured output may hold bytes that make grep call the file binary.
    counters=$(grep -a -o '<Counters [^>]*>' "$trx" | head -n 1)
    get() { local v; v=$(printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"); echo "${v:-0}"; }
    if [ -z "$counters" ]; then
        echo "test.sh: no counters in $trx" >&2
        failed=$((failed + 1))
        continue
    fi
    passed=$((passed + $(get passed)))
    failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
    skipped=$((skipped + $(get notExecuted)))
done
# Test projects end in Tests.csproj; tests/TestSupport is a library and writes no results.
projects=$(grep -c 'Tests.csproj"' OstreeContainer.sln)
if [ "$files" -lt "$projects" ] && [ "$failed" -eq 0 ]; then
    echo "test.sh: only $files of $projects test projects reported results" >&2
    failed=$((failed + projects - files))
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "test.sh: dotnet test exited with $rc" >&2
    failed=1
fi
echo "Tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
