#!/usr/bin/env bash
# crypto-bound.sh - the anchor of the token-exchange benchmark: how many
# exchanges a second this machine's ECDSA P-256 could do if nothing but
# their signatures cost anything. An exchange verifies three signatures
# (the client's private_key_jwt assertion, the DPoP proof, the user's
# access token) and makes one (the assertion). `openssl speed` measures
# sign/s and verify/s with one process per core; then
#   bound = 1 / (3 / verify_per_s + 1 / sign_per_s)
#
#   bench/crypto-bound.sh [SECONDS]
# prints ecdsa_sign_per_s, ecdsa_verify_per_s and crypto_bound_per_s.
set -euo pipefail
secs=${1:-3}
out=$(openssl speed -seconds "$secs" -multi "$(nproc)" ecdsap256 2>/dev/null)
# the summed table: " 256 bits ecdsa (nistp256)   0.0000s   0.0000s  <sign/s> <verify/s>"
line=$(printf '%s\n' "$out" | grep -E 'ecdsa \(nistp256\)' | tail -1)
read -r sign verify < <(printf '%s\n' "$line" | awk '{print $(NF-1), $NF}')
if [ -z "${sign:-}" ] || [ -z "${verify:-}" ]; then
	printf '%s\n' "$out" >&2
	echo "crypto-bound: cannot read openssl speed's output" >&2
	exit 1
fi
echo "openssl speed ecdsap256, $(nproc) processes, $secs s: $sign sign/s, $verify verify/s"
python3 - "$sign" "$verify" <<'PY'
import sys
s, v = float(sys.argv[1]), float(sys.argv[2])
print(f"ecdsa_sign_per_s={s:.1f}")
print(f"ecdsa_verify_per_s={v:.1f}")
print(f"crypto_bound_per_s={1 / (3 / v + 1 / s):.1f}")
PY
