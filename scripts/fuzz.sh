#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets with clang and run them.
#   fuzz.sh build          build into build-fuzz
#   fuzz.sh smoke          run every target FZ_FUZZ_SECONDS (default 30) s
#   fuzz.sh run NAME [S]   run one target S seconds (default 600)
# Seeds live in tests/fuzz/corpus/NAME; new inputs found go to a scratch
# copy so a smoke run never dirties the work tree.
set -euo pipefail
cd "$(dirname "$0")/.."

build() {
	if [ ! -d build-fuzz ]; then
		CC=clang meson setup build-fuzz -Dfuzz=true \
			-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	fi
	ninja -C build-fuzz >/dev/null
}

run_one() { # name seconds
	local name=$1 secs=$2 work
	work=$(mktemp -d)
	cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
	echo "fuzz $name: ${secs}s"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"build-fuzz/tests/fuzz/fuzz_$name" -max_total_time="$secs" \
		-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="build-fuzz/crash-$name-" "$work" 2>&1 |
		grep -E '^(stat::number_of_executed_units|stat::peak_rss|#[0-9]+ +DONE|==[0-9]+==ERROR|SUMMARY)' || true
	local rc=${PIPESTATUS[0]}
	rm -rf "$work"
	return "$rc"
}

case "${1:-smoke}" in
build) build ;;
smoke)
	build
	rc=0
	for dir in tests/fuzz/corpus/*/; do
		[ -d "$dir" ] || continue
		run_one "$(basename "$dir")" "${FZ_FUZZ_SECONDS:-30}" || rc=1
	done
	exit $rc
	;;
run)
	build
	run_one "$2" "${3:-600}"
	;;
*) echo "usage: fuzz.sh build|smoke|run NAME [SECONDS]" >&2; exit 2 ;;
esac
