#!/usr/bin/env bash
# bootstrap.sh - install what Federizer needs to build, test and run its
# demo on Debian 12: the Debian packages that are missing, then the npm
# packages of the lock file. Idempotent and quiet when nothing is missing,
# so every make target can call it. `bootstrap.sh bench` also installs the
# anchors of the benchmarks (Postfix, nginx, wrk, gnuplot) without letting
# Debian start their system services: the benchmarks run private instances.
set -euo pipefail

cd "$(dirname "$0")/.."

debian_packages=(
	build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
	libssl-dev libcjose-dev libjansson-dev libyaml-dev
	libmicrohttpd-dev libcurl4-openssl-dev libc-ares-dev
	libsqlite3-dev libargon2-dev libcmocka-dev
	dnsmasq-base openssl ca-certificates curl
	chromium fonts-dejavu-core
)
bench_packages=(postfix nginx wrk gnuplot-nox)
group=${1:-}
if [ "$group" = bench ]; then
	debian_packages+=("${bench_packages[@]}")
fi

missing=()
for p in "${debian_packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
# Node.js may come from Debian or from elsewhere; only its absence matters.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# The anchors' packages start system daemons on install (Postfix would
# become the system MTA on port 25): a policy-rc.d forbids every start for
# the time of the install, and a preseed keeps Postfix's debconf quiet.
bench_install() {
	local policy=/usr/sbin/policy-rc.d had_policy=0
	[ -e "$policy" ] && had_policy=1
	if [ "$had_policy" = 0 ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod 755 "$policy"
	fi
	printf 'postfix postfix/main_mailer_type select No configuration\n' |
		"${sudo[@]}" debconf-set-selections
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
		--no-install-recommends "$@" || { [ "$had_policy" = 1 ] || "${sudo[@]}" rm -f "$policy"; return 1; }
	[ "$had_policy" = 1 ] || "${sudo[@]}" rm -f "$policy"
	# Stopped in case a service manager started them anyway.
	"${sudo[@]}" postfix stop >/dev/null 2>&1 || true
	"${sudo[@]}" nginx -s stop >/dev/null 2>&1 || true
}

if [ ${#missing[@]} -gt 0 ]; then
	echo "bootstrap: installing Debian packages: ${missing[*]}"
	if [ "$(id -u)" -eq 0 ]; then
		sudo=()
	elif command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	fi
	"${sudo[@]}" apt-get update -qq
	if [ "$group" = bench ]; then
		bench_install "${missing[@]}"
	else
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
			--no-install-recommends "${missing[@]}"
	fi
fi

# npm ci only when the lock file changed since the last install.
npm_ci() {
	local dir=$1
	[ -f "$dir/package-lock.json" ] || return 0
	if [ -f "$dir/node_modules/.package-lock.json" ] &&
		[ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
		return 0
	fi
	echo "bootstrap: npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}
npm_ci .
npm_ci web
