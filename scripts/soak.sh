#!/usr/bin/env bash
# soak.sh - `make soak`: two mail domains under mixed load (send, sync
# long polls, downloads) for FZ_SOAK_SECONDS (600), the RSS and open
# file descriptors of every server sampled; fails when after the warm-up
# a server's RSS rose over 10 %, its descriptors grew, an answer was an
# error or a message was not delivered (tests/soak/soak.mjs says how).
# The binary is $FZ_BIN, else build/src/cmd/federizer.
set -euo pipefail
cd "$(dirname "$0")/.."
export FZ_BIN=${FZ_BIN:-$PWD/build/src/cmd/federizer}
exec node tests/soak/soak.mjs
