#!/usr/bin/env bash
# bench.sh - `make bench` (issue #8): our servers beside the anchors they
# must be measured against, on this machine, in one run. Each benchmark
# runs the anchor (A) and Federizer (B) back to back, A B A B, for
# FZ_BENCH_PAIRS pairs (3), since this machine's speed drifts from minute
# to minute; every figure is printed, a ratio is the median of the pairs'
# ratios, and the run ends with one `name=value` line per figure and ratio.
#
#   scripts/bench.sh            the full run (20-30 minutes): release build
#                               in build-bench, plot in docs/img/
#   scripts/bench.sh --smoke    seconds-long runs of every benchmark with
#                               tiny counts and no pairs, for `make check`:
#                               fails when one of them is broken
#
# Installs its anchors first (scripts/bootstrap.sh bench: Postfix, nginx,
# wrk, gnuplot; their system services are not started). Postfix runs as a
# private instance and needs root, like the package install.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
[ "${1:-}" = --smoke ] && smoke=1

scripts/bootstrap.sh bench

if [ "$smoke" = 1 ]; then
	# the smoke proves the benchmarks work, not how fast: any build will do
	: "${FZ_BIN:=$PWD/build/src/cmd/federizer}"
	[ -x "$FZ_BIN" ] || { meson setup build >/dev/null 2>&1 || true; ninja -C build src/cmd/federizer bench/exchange_load >/dev/null; }
	pairs=1
	# a delivery that never arrives fails the smoke in a minute
	export FZ_BENCH_TIMEOUT=${FZ_BENCH_TIMEOUT:-60}
	out_dir=$(mktemp -d)
	trap 'rm -rf "$out_dir"' EXIT
else
	[ -d build-bench ] || meson setup build-bench --buildtype=release >/dev/null
	# the server and the exchange load generator: the figures need no tests
	ninja -C build-bench src/cmd/federizer bench/exchange_load >/dev/null
	: "${FZ_BIN:=$PWD/build-bench/src/cmd/federizer}"
	pairs=${FZ_BENCH_PAIRS:-3}
	out_dir=build-bench/bench
	mkdir -p "$out_dir"
fi
export FZ_BIN

# Sizes of the full run (the issue's) and of the smoke.
if [ "$smoke" = 1 ]; then
	delivery_count=20 pull_size=$((8 << 20)) sync_seconds=1 exchange_seconds=1
	crypto_seconds=1 scale_levels="1 4" scale_count=8 mem_queued=20 mem_conns=20
else
	delivery_count=${FZ_BENCH_DELIVERY_COUNT:-10000} pull_size=$((1 << 30)) sync_seconds=10
	exchange_seconds=10 crypto_seconds=3 scale_levels="1 4 16 64"
	scale_count=${FZ_BENCH_SCALE_COUNT:-1000} mem_queued=2000 mem_conns=1000
fi

log="$out_dir/bench.log"
: >"$log"
failures=()
declare -A values # name -> the values of the pairs, space-separated

# Runs one benchmark: its output shown and logged, every name=value line
# kept. A benchmark that fails is named in the failures and the run goes on.
run() { # label command...
	local label=$1 out rc line
	shift
	echo "-- $label"
	out=$(mktemp)
	set +e
	"$@" 2>&1 | tee "$out" | grep -v '^federizer ' | sed 's/^/   /'
	rc=${PIPESTATUS[0]}
	set -e
	cat "$out" >>"$log"
	if [ "$rc" -ne 0 ]; then
		failures+=("$label (exit $rc)")
		grep '^federizer ' "$out" | tail -20 | sed 's/^/   /' || true
	fi
	while IFS= read -r line; do
		values[${line%%=*}]+="${line#*=} "
	done < <(grep -E '^[a-z_0-9]+=-?[0-9.]+$' "$out")
	rm -f "$out"
}

median() { # numbers...
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The median of the pairs' ratios b/a (b and a: names of figures).
ratio() { # name a b
	local -a av bv rs=()
	read -ra av <<<"${values[$2]:-}"
	read -ra bv <<<"${values[$3]:-}"
	local i n=${#av[@]}
	[ "${#bv[@]}" -lt "$n" ] && n=${#bv[@]}
	for ((i = 0; i < n; i++)); do
		rs+=("$(awk -v a="${av[i]}" -v b="${bv[i]}" 'BEGIN { if (a > 0) printf "%.3f", b / a }')")
	done
	if [ "${#rs[@]}" -gt 0 ]; then values[$1]="${rs[*]} "; fi
}

started=$(date +%s)
echo "== bench: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)," \
	"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   binary $FZ_BIN, $pairs pair(s) A B of each benchmark"

echo "== 1. delivery: $delivery_count messages of 1 KiB, 32 at a time"
for ((p = 1; p <= pairs; p++)); do
	run "postfix, pair $p" bench/postfix.sh "$delivery_count" 32 1024
	run "federizer, pair $p" node bench/delivery.mjs --count "$delivery_count" --concurrency 32
done

echo "== 2. large pull: $((pull_size >> 20)) MiB over HTTPS, hashed, stored durably"
for ((p = 1; p <= pairs; p++)); do
	run "nginx + curl | sha256sum, pair $p" node bench/pull.mjs --anchor --size "$pull_size"
	run "MBX1 -> MBX2, pair $p" node bench/pull.mjs --size "$pull_size"
done
rm -f "$(node -p "require('os').tmpdir()")/fz-bench-pull-$pull_size.bin"

echo "== 3. sync poll: wrk 2 threads, 64 connections, HTTPS, $sync_seconds s"
for ((p = 1; p <= pairs; p++)); do
	run "nginx, 200-byte JSON, pair $p" node bench/sync.mjs --anchor --seconds "$sync_seconds"
	run "GET /api/v1/sync?since=<current>, pair $p" node bench/sync.mjs --seconds "$sync_seconds"
done

echo "== 4. token exchange: 16 keep-alive connections from a C client, DPoP and private_key_jwt"
for ((p = 1; p <= pairs; p++)); do
	run "openssl speed ecdsap256, pair $p" bench/crypto-bound.sh "$crypto_seconds"
	run "access token -> assertion, pair $p" env SECONDS="$exchange_seconds" WORKERS=2 node bench/exchange.mjs
done

echo "== 5. scaling: delivery of $scale_count messages at $scale_levels concurrent senders"
for ((p = 1; p <= pairs; p++)); do
	for c in $scale_levels; do
		run "postfix, $c sender(s), pair $p" env NAME="postfix_msgs_per_s_c$c" \
			bench/postfix.sh "$scale_count" "$c" 1024
		run "federizer, $c sender(s), pair $p" node bench/delivery.mjs --count "$scale_count" \
			--concurrency "$c" --name "delivery_msgs_per_s_c$c"
	done
done
run "memory per queued message and idle connection" \
	node bench/memory.mjs --queued "$mem_queued" --conns "$mem_conns"

ratio delivery_vs_postfix postfix_msgs_per_s delivery_msgs_per_s
ratio pull_vs_nginx nginx_mb_per_s pull_mb_per_s
ratio sync_vs_nginx nginx_rps sync_rps
ratio exchange_vs_crypto_bound crypto_bound_per_s exchange_per_s

# The plot: throughput by concurrent senders, medians of the pairs.
dat="$out_dir/scaling.dat"
: >"$dat"
for c in $scale_levels; do
	# shellcheck disable=SC2086
	f=$(median ${values[delivery_msgs_per_s_c$c]:-0})
	# shellcheck disable=SC2086
	a=$(median ${values[postfix_msgs_per_s_c$c]:-0})
	echo "$c $f $a" >>"$dat"
done
png="$out_dir/bench-scaling.png"
[ "$smoke" = 1 ] || png=docs/img/bench-scaling.png
mkdir -p "$(dirname "$png")"
if ! gnuplot -e "dat='$dat'; png='$png'" bench/scaling.gp; then
	failures+=("the scaling plot")
fi

echo
echo "== figures (median of the pairs; ratios: median of the pairs' ratios)"
names=(
	postfix_msgs_per_s delivery_msgs_per_s delivery_vs_postfix
	nginx_mb_per_s pull_mb_per_s pull_vs_nginx pull_peak_rss_mib
	nginx_rps sync_rps sync_vs_nginx
	ecdsa_sign_per_s ecdsa_verify_per_s crypto_bound_per_s exchange_per_s exchange_vs_crypto_bound
	exchange_as_capacity_per_s exchange_as_cpu_ms exchange_generator_cpu_ms
)
for c in $scale_levels; do names+=("postfix_msgs_per_s_c$c" "delivery_msgs_per_s_c$c"); done
names+=(mem_per_queued_msg_kib mem_per_idle_conn_kib)
summary="$out_dir/figures.txt"
: >"$summary"
for n in "${names[@]}"; do
	if [ -z "${values[$n]:-}" ]; then
		failures+=("no figure $n")
		continue
	fi
	# shellcheck disable=SC2086
	printf '%s=%s\t(pairs: %s)\n' "$n" "$(median ${values[$n]})" "${values[$n]% }" >>"$summary"
done
column -t -s $'\t' "$summary"
echo "bench: $(($(date +%s) - started)) s, load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# The ratio lines the issue asks for, last.
for n in delivery_vs_postfix pull_vs_nginx pull_peak_rss_mib sync_vs_nginx exchange_vs_crypto_bound; do
	# shellcheck disable=SC2086
	[ -z "${values[$n]:-}" ] || echo "$n=$(median ${values[$n]})"
done

if [ ${#failures[@]} -gt 0 ]; then
	for f in "${failures[@]}"; do echo "FAILED: $f" >&2; done
	exit 1
fi
