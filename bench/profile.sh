#!/usr/bin/env bash
# profile.sh - where a benchmark's time goes, per server process: runs a
# benchmark, waits WAIT seconds for its load to start (9 by default: on
# a loaded machine both domains take that long), then samples every
# `federizer` process it started (perf, cpu-clock, DWARF call
# graphs) for SECONDS seconds and prints each process's top symbols,
# self time and with callees. Not part of `make bench`; needs perf.
#
#   bench/profile.sh [-w WAIT] [-s SECONDS] [-o DIR] -- node bench/delivery.mjs --count 3000
set -euo pipefail
cd "$(dirname "$0")/.."

wait_s=9 secs=10 out=
while [ $# -gt 0 ]; do
	case $1 in
	-w) wait_s=$2; shift 2 ;;
	-s) secs=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"
: "${FZ_BIN:=$PWD/build-bench/src/cmd/federizer}"
export FZ_BIN

"$@" >"$out/bench.out" 2>&1 &
bench=$!
sleep "$wait_s"
pids=()
for p in $(pgrep -f "^$FZ_BIN (as|mbx) -c "); do
	# only the servers of this benchmark: descendants of its process
	[ "$(ps -o ppid= -p "$p" | tr -d ' ')" = "$bench" ] || continue
	pids+=("$p")
done
[ ${#pids[@]} -gt 0 ] || { echo "profile: no federizer process of the benchmark" >&2; exit 1; }
recs=()
for p in "${pids[@]}"; do
	role=$(ps -o args= -p "$p" | sed -E 's#.* (as|mbx) -c .*/([^/]+)/[^/]+\.yaml$#\1-\2#')
	perf record -q -e cpu-clock -F 499 --call-graph dwarf,8192 -p "$p" -o "$out/$role.data" \
		-- sleep "$secs" >/dev/null 2>&1 &
	recs+=($!)
done
wait "${recs[@]}" || true
wait "$bench" || echo "profile: the benchmark failed" >&2
grep -E '^[a-z_0-9]+=' "$out/bench.out" || true
for f in "$out"/*.data; do
	# (head closing the pipe is no failure)
	echo "== $(basename "$f" .data): $(perf report -i "$f" --stdio 2>/dev/null |
		sed -n 's/^# Samples: \([0-9.]*K*\).*/\1/p' | head -1) samples at 499 Hz"
	perf report -i "$f" --no-children -g none --sort dso,sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -15 || true
	echo "   -- with callees (named functions):"
	perf report -i "$f" --children -g none --sort sym --stdio 2>/dev/null |
		grep -E '^ +[0-9].*\] [a-zA-Z_]' | grep -vE 'start_thread|clone3' | head -25 || true
done
echo "profile: perf data in $out"
