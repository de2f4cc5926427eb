#!/usr/bin/env bash
# postfix.sh - the anchor of the delivery benchmark: a private Postfix
# instance (its own config_directory and queue_directory, loopback ports
# only, never the system MTA) between smtp-source and smtp-sink. COUNT
# messages of SIZE bytes, CONCURRENCY sessions at a time, from
# alice@example.com to bob@example.net; timed from the first connection
# until smtp-sink has accepted every message from Postfix and the queue
# is empty. Postfix keeps its default fsync of every queue file.
#
#   bench/postfix.sh [COUNT] [CONCURRENCY] [SIZE]
# prints postfix_msgs_per_s=<n>. Needs root (Postfix drops to its user).
set -euo pipefail

count=${1:-10000}
conc=${2:-32}
size=${3:-1024}
name=${NAME:-postfix_msgs_per_s}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

dir=$(mktemp -d -t fz-bench-postfix-XXXXXX)
chmod 755 "$dir"
sink_pid=
cleanup() {
	postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
	[ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
[ -z "${KEEP:-}" ] || trap - EXIT

smtpd_port=$(free_port)
sink_port=$(free_port)
mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
chown postfix "$dir/data"
cat >"$dir/etc/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.com
mydomain = example.com
myorigin = example.com
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relay_domains = example.net
relayhost = [127.0.0.1]:$sink_port
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtp_tls_security_level = none
smtpd_tls_security_level = none
EOT
cat >"$dir/etc/master.cf" <<EOT
127.0.0.1:$smtpd_port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOT
script -qec "postfix -c $dir/etc check" /dev/null >"$dir/check.log" || { cat "$dir/check.log" >&2; exit 1; }
script -qec "postfix -c $dir/etc start" /dev/null >"$dir/start.log" || { cat "$dir/start.log" >&2; exit 1; }

smtp-sink -u postfix "127.0.0.1:$sink_port" 256 &
sink_pid=$!

# Postfix answers once its smtpd listens.
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$smtpd_port") 2>/dev/null && break
	sleep 0.1
done

queued() { find "$dir/queue/incoming" "$dir/queue/active" "$dir/queue/deferred" "$dir/queue/maildrop" -type f 2>/dev/null | wc -l; }
sent() { grep -c 'status=sent' "$dir/maillog" 2>/dev/null || true; }

t0=$(date +%s.%N)
smtp-source -d -s "$conc" -m "$count" -l "$size" -f alice@example.com -t bob@example.net \
	"127.0.0.1:$smtpd_port"
while [ "$(queued)" -gt 0 ] || [ "$(sent)" -lt "$count" ]; do
	if [ "$(find "$dir/queue/deferred" -type f | wc -l)" -gt 0 ]; then
		echo "postfix: messages deferred:" >&2
		tail -5 "$dir/maillog" >&2
		exit 1
	fi
	sleep 0.05
done
t1=$(date +%s.%N)
n=$(sent)
python3 - "$t0" "$t1" "$n" "$count" "$conc" "$name" <<'PY'
import sys
t0, t1, n, count, conc, name = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
print(f"postfix: {count} messages, {conc} sessions: {n} delivered to smtp-sink in {t1 - t0:.2f} s")
print(f"{name}={n / (t1 - t0):.1f}")
PY
