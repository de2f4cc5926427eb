#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets with clang and run them.
#   fuzz.sh build          build into build-fuzz
#   fuzz.sh smoke          run every target FZ_FUZZ_SECONDS (default 30) s
#   fuzz.sh run NAME [S] [DIR]
#                          run one target S seconds (default 600),
#                          keeping what it finds in DIR when given
#   fuzz.sh merge NAME DIR fold inputs found in DIR into the committed
#                          corpus, keeping only those that add edges
# Seeds live in tests/fuzz/corpus/NAME; new inputs found go to a scratch
# copy so a smoke run never dirties the work tree. A dictionary is
# tests/fuzz/NAME.dict, or json.dict for the targets that read JSON.
# Every directory under tests/fuzz/corpus is a target: fuzz_NAME is
# built by tests/fuzz/meson.build (fuzz_targets, or net_fuzz_targets for
# the readers that live in src/net).
# FZ_FUZZ_BUILD names the build directory (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
bdir=${FZ_FUZZ_BUILD:-build-fuzz}
json_targets=" jcs jwk jwt chain jws placeholder_json "

dict_args() { # name
	if [ -f "tests/fuzz/$1.dict" ]; then
		echo "-dict=tests/fuzz/$1.dict"
	elif [[ $json_targets == *" $1 "* ]]; then
		echo "-dict=tests/fuzz/json.dict"
	fi
}

build() {
	if [ ! -d "$bdir" ]; then
		CC=clang meson setup "$bdir" -Dfuzz=true \
			-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	fi
	ninja -C "$bdir" >/dev/null
}

run_one() { # name seconds [dir to keep the inputs in]
	local name=$1 secs=$2 keep=${3:-} work
	work=${keep:-$(mktemp -d)}
	mkdir -p "$work"
	cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
	echo "fuzz $name: ${secs}s"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$bdir/tests/fuzz/fuzz_$name" -max_total_time="$secs" $(dict_args "$name") \
		-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$bdir/crash-$name-" "$work" 2>&1 |
		grep -E '^(stat::number_of_executed_units|stat::peak_rss|#[0-9]+ +DONE|==[0-9]+==ERROR|SUMMARY)' || true
	local rc=${PIPESTATUS[0]}
	[ -n "$keep" ] || rm -rf "$work"
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
	run_one "$2" "${3:-600}" "${4:-}"
	;;
merge)
	build
	# the fewest inputs that keep every edge: hit counts are not kept
	"$bdir/tests/fuzz/fuzz_$2" -set_cover_merge=1 -use_counters=0 \
		-max_len=65536 -timeout=10 "tests/fuzz/corpus/$2" "$3"
	;;
*) echo "usage: fuzz.sh build|smoke|run NAME [SECONDS [DIR]]|merge NAME DIR" >&2; exit 2 ;;
esac
