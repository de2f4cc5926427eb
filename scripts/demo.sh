#!/usr/bin/env bash
# demo.sh - the whole system on loopback. Until the servers exist (the
# [Federation] issue brings DNS, CA and three domains), it shows what is built.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/src/cmd/federizer
"$bin" version
"$bin" help
echo
echo "The servers (as, mbx) and the three-domain demo are not built yet;"
echo "see README.md, 'What works today'."
