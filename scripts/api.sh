#!/usr/bin/env bash
# api.sh - the API documents (api/*.yaml): `api.sh lint [FILE...]` checks
# them with the ruleset in redocly.yaml; `api.sh render` writes each as one
# static HTML page, build/api/NAME.html, the file `federizer as` serves at
# /docs when docs_file names it (docs/operations.md). Both use the
# @redocly/cli of the root package-lock.json (scripts/bootstrap.sh
# installs it).
set -uo pipefail
cd "$(dirname "$0")/.."

# No telemetry and no update check: builds and tests stay offline.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
redocly=node_modules/.bin/redocly

# Runs redocly, showing its output without the boxed Node.js notices.
run() {
	local out rc
	out=$("$redocly" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '[║╔╚]' | grep -v '^$'
	return $rc
}

case "${1:-}" in
lint)
	shift
	[ $# -gt 0 ] || set -- api/*.yaml
	run lint --format=stylish "$@"
	;;
render)
	mkdir -p build/api || exit 1
	for doc in api/*.yaml; do
		out="build/api/$(basename "$doc" .yaml).html"
		rm -f "$out"
		# --inlineBundle: the page carries its own script and loads
		# nothing from a CDN (the /docs CSP allows nothing else).
		run build-docs "$doc" --inlineBundle -o "$out" >/dev/null || {
			run build-docs "$doc" --inlineBundle -o "$out"
			exit 1
		}
	done
	;;
*)
	echo "usage: scripts/api.sh lint [api/NAME.yaml...] | render" >&2
	exit 2
	;;
esac
