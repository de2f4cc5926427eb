#!/usr/bin/env bash
# bootstrap.sh - install what Federizer needs to build, test and run its
# demo on Debian 12: the Debian packages that are missing, then the npm
# packages of the lock file. Idempotent and quiet when nothing is missing,
# so every make target can call it.
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

missing=()
for p in "${debian_packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
# Node.js may come from Debian or from elsewhere; only its absence matters.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

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
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
		--no-install-recommends "${missing[@]}"
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
