#!/usr/bin/env bash
# check.sh - every test Federizer has, in order of cost: unit tests plain,
# unit tests under ASan+UBSan, the fuzz smoke, the webmail's checks, the
# API documents' lint, the system tests (which also check every response
# against the API documents), the webmail in chromium against a real AS
# and MBX (needs web/dist, built by the webmail stage), the smoke of the
# benchmarks (scripts/bench.sh --smoke). Runs every
# stage even after a failure, then prints one tally line and fails if any
# test failed.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
stage_failed=()

tally_meson() { # build-dir stage-name
	local log="$1/meson-logs/testlog.json" ok bad
	# cmocka cases, not programs: each passing case prints "[       OK ]".
	ok=$(grep -o '\[       OK \]' "$log" 2>/dev/null | wc -l)
	bad=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log" 2>/dev/null || true)
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${bad:-0}))
}

run_unit() { # build-dir stage-name [meson setup args...]
	local dir=$1 name=$2
	shift 2
	echo "== $name"
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >/dev/null || { stage_failed+=("$name: setup"); failed=$((failed + 1)); return; }
	fi
	if ! ninja -C "$dir" >/dev/null; then
		ninja -C "$dir" | tail -40
		stage_failed+=("$name: build")
		failed=$((failed + 1))
		return
	fi
	meson test -C "$dir" --suite unit --print-errorlogs -q || stage_failed+=("$name")
	tally_meson "$dir"
}

run_unit build "unit tests"
run_unit build-asan "unit tests (ASan+UBSan)" -Db_sanitize=address,undefined -Db_lundef=false

echo "== fuzz smoke (${FZ_FUZZ_SECONDS:-30} s per target)"
if scripts/fuzz.sh smoke; then
	n=$(ls tests/fuzz/corpus 2>/dev/null | wc -l)
	passed=$((passed + n))
else
	stage_failed+=("fuzz smoke")
	failed=$((failed + 1))
fi

echo "== webmail (lint, types, unit tests, build)"
if [ -f web/package-lock.json ]; then
	out=$(mktemp)
	(cd web && npm run --silent lint && npm run --silent typecheck &&
		npx vitest run --reporter=dot) >"$out" 2>&1
	rc=$?
	grep -E '(Tests|Test Files) ' "$out" | sed 's/\x1b\[[0-9;]*m//g'
	p=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | sed -n 's/^ *Tests  *\([0-9][0-9]*\) passed.*$/\1/p; s/^ *Tests  *.*| *\([0-9][0-9]*\) passed.*$/\1/p' | tail -1)
	f=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | sed -n 's/^ *Tests  *\([0-9][0-9]*\) failed.*$/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	if [ "$rc" -ne 0 ]; then
		tail -40 "$out"
		failed=$((failed + ${f:-1}))
		stage_failed+=("webmail lint/typecheck/tests")
	fi
	if ! (cd web && npm run --silent build) >"$out" 2>&1; then
		tail -40 "$out"
		failed=$((failed + 1))
		stage_failed+=("webmail build")
	fi
	rm -f "$out"
fi

# The OpenAPI documents: lint (ruleset redocly.yaml) counts one pass per
# document; the rendered pages (build/api/) prove they build, ~1 s.
echo "== API documents (lint, render)"
for doc in api/*.yaml; do
	if scripts/api.sh lint "$doc" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		scripts/api.sh lint "$doc" | tail -40
		failed=$((failed + 1))
		stage_failed+=("API lint: $doc")
	fi
done
if ! scripts/api.sh render; then
	failed=$((failed + 1))
	stage_failed+=("API render")
fi

if ls tests/system/*.test.mjs >/dev/null 2>&1; then
	echo "== system tests"
	out=$(mktemp)
	FZ_BIN="$PWD/build/src/cmd/federizer" node --test --test-reporter=tap \
		tests/system/ 2>&1 | tee "$out" | grep -E '^(not ok|# (pass|fail))' || true
	p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
	[ "${f:-1}" = 0 ] || stage_failed+=("system tests")
	rm -f "$out"
fi

# The system tests again against the ASan+UBSan federizer of build-asan
# (the unit stage configured it): a leak, a memory error or undefined
# behaviour in any server fails the test that started it.
echo "== system tests (ASan+UBSan)"
out=$(mktemp)
scripts/check-sanitized.sh >"$out" 2>&1
grep -E '^(not ok|check-sanitized:)' "$out"
p=$(sed -n 's/^check-sanitized: \([0-9]*\) passed.*$/\1/p' "$out")
f=$(sed -n 's/^check-sanitized: .* passed, \([0-9]*\) failed.*$/\1/p' "$out")
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-1}))
if [ "${f:-1}" != 0 ]; then
	tail -60 "$out"
	stage_failed+=("system tests (ASan+UBSan)")
fi
rm -f "$out"

if ls tests/browser/*.test.mjs >/dev/null 2>&1; then
	echo "== browser tests (the webmail in chromium, real AS and MBX)"
	out=$(mktemp)
	FZ_BIN="$PWD/build/src/cmd/federizer" FZ_WEB_DIST="$PWD/web/dist" \
		node --test --test-reporter=tap tests/browser/ 2>&1 |
		tee "$out" | grep -E '^(not ok|# (pass|fail|skip))' || true
	p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
	if [ "${f:-1}" != 0 ]; then
		grep -E -A12 '^ *not ok' "$out" | head -60
		stage_failed+=("browser tests")
	fi
	rm -f "$out"
fi

# Every benchmark of `make bench` once, with tiny counts and its anchor
# (bench/, ~1 minute): a benchmark that rots fails here, not in the
# 20-minute run. Each run (anchor or ours) counts one test.
echo "== bench smoke (every benchmark, tiny counts)"
out=$(mktemp)
FZ_BIN="$PWD/build/src/cmd/federizer" scripts/bench.sh --smoke >"$out" 2>&1
rc=$?
p=$(grep -c '^-- ' "$out")
ran_bad=$(grep -c '^FAILED: .*(exit [0-9]*)$' "$out")
f=$(grep -c '^FAILED: ' "$out")
grep -E '^[a-z_]+_vs_[a-z_]+=[0-9.]+$|^FAILED: ' "$out"
if [ "$rc" -ne 0 ]; then
	tail -40 "$out"
	[ "${f:-0}" -gt 0 ] || f=1
	stage_failed+=("bench smoke")
fi
passed=$((passed + ${p:-0} - ${ran_bad:-0}))
failed=$((failed + ${f:-0}))
rm -f "$out"

echo
for s in "${stage_failed[@]}"; do echo "FAILED: $s"; done
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#stage_failed[@]} -eq 0 ]
