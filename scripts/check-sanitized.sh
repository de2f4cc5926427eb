#!/usr/bin/env bash
# check-sanitized.sh - the system tests against a `federizer` built with
# ASan+UBSan: any memory error, undefined behaviour or leak makes the
# server exit non-zero with the report on its stderr, and the test
# harness (tests/system/lib/federizer.mjs) fails the test that ran it.
#
#   scripts/check-sanitized.sh                    # every tests/system file
#   scripts/check-sanitized.sh tests/system/mbx-send.test.mjs
#   scripts/check-sanitized.sh --valgrind [files] # `make check-valgrind`
#
# The build directory is build-asan, the one check.sh's unit stage
# already configures the same way (FZ_SAN_BUILD picks another). With
# --valgrind: a plain build in build-valgrind (FZ_VG_BUILD), every
# `federizer` process under memcheck (FZ_VALGRIND=1: the harness adds
# --leak-check=full --errors-for-leak-kinds=definite
# --error-exitcode=99), where any error or definitely lost block fails.
# Prints one tally line, "check-sanitized: N passed, M failed in S s".
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --valgrind ]; then
	shift
	dir=${FZ_VG_BUILD:-build-valgrind}
	setup=()
	export FZ_VALGRIND=1
	# memcheck takes a core per server: test files one at a time, or on
	# a machine with more cores the slowdown would multiply
	conc=(--test-concurrency=1)
else
	dir=${FZ_SAN_BUILD:-build-asan}
	setup=(-Db_sanitize=address,undefined -Db_lundef=false)
	conc=()
fi
if [ ! -d "$dir" ]; then
	meson setup "$dir" "${setup[@]}" >/dev/null ||
		{ echo "check-sanitized: setup of $dir failed"; exit 1; }
fi
if ! ninja -C "$dir" src/cmd/federizer >/dev/null; then
	ninja -C "$dir" src/cmd/federizer | tail -40
	echo "check-sanitized: 0 passed, 1 failed (build)"
	exit 1
fi

# A finding ends the process with a report on stderr and a non-zero
# exit; leaks are looked for when a server exits (SIGTERM, or an admin
# command returns). UBSan cannot recover: the build passes
# -fno-sanitize-recover=all (meson.build).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-print_suppressions=0}
export FZ_BIN="$PWD/$dir/src/cmd/federizer"

[ $# -gt 0 ] || set -- tests/system/
out=$(mktemp)
node --test --test-reporter=tap "${conc[@]}" "$@" 2>&1 | tee "$out" |
	grep -E '^(not ok|# (pass|fail))' || true
# The failures and the reports the harness saw, their first lines.
grep -E -A16 '^ *not ok' "$out" | head -120
grep -E -A8 'ERROR: [A-Za-z]*Sanitizer|runtime error:|^# ==[0-9]+== [A-Z]' "$out" | head -80
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -1)
rm -f "$out"
echo "check-sanitized: ${p:-0} passed, ${f:-1} failed in ${SECONDS} s"
[ "${f:-1}" = 0 ]
