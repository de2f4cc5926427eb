#!/usr/bin/env bash
# demo.sh - a small Internet on loopback: three mail domains (example.com,
# example.net, example.org), each with its Authorization Server and its
# Mailbox, found through a real DNS server (dnsmasq) and trusting a local CA.
#
#   scripts/demo.sh            start everything, self-check, run until Ctrl-C
#   scripts/demo.sh --check    start everything, self-check, stop; exit 0 or 1
#
# Settings (environment):
#   FZ_BIN                    the binary (build/src/cmd/federizer)
#   FZ_DEMO_DIR               the throwaway folder (build/demo), recreated
#   FZ_DEMO_PORT              HTTPS port of all six servers (8443)
#   FZ_DEMO_DNS_PORT          dnsmasq's port on 127.0.0.1 (5353)
#   FZ_DEMO_DELIVERY_TIMEOUT  seconds the self-check waits for bob's mail (20)
#   FZ_DEMO_REQUIRE_DELIVERY  1: a message the sending side only queued is
#                             a failure, not a note (once the MTA worker exists)
#
# Each server has a loopback address of its own (all of 127.0.0.0/8 is
# loopback on Linux), so all six can use the same port and the URLs differ
# only in the host name: https://mbx.example.com:8443/ and so on. Nothing
# needs privileges. The servers find each other through dnsmasq; curl here
# and a browser are told the addresses directly (--resolve,
# --host-resolver-rules) so that the machine's own resolver is never touched.
set -eEuo pipefail
# A command that fails stops the script (and the EXIT trap stops what it
# started); say which, since some are quiet on purpose.
trap 'printf "demo: failed at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
	sed -n '2,17s/^# \{0,1\}//p' "$0"
}

mode=run
case "${1:-}" in
'') ;;
--check) mode=check ;;
-h | --help) usage; exit 0 ;;
*) usage >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FZ_BIN:-$root/build/src/cmd/federizer}
[[ $bin == /* ]] || bin=$PWD/$bin
dir=${FZ_DEMO_DIR:-$root/build/demo}
[[ $dir == /* ]] || dir=$PWD/$dir
port=${FZ_DEMO_PORT:-8443}
dns_port=${FZ_DEMO_DNS_PORT:-5353}
delivery_timeout=${FZ_DEMO_DELIVERY_TIMEOUT:-20}
require_delivery=${FZ_DEMO_REQUIRE_DELIVERY:-0}
webmail=$root/web/dist

domains=(example.com example.net example.org)
# The six servers' addresses: 127.0.0.<domain><server>.
declare -A addr=(
	[as.example.com]=127.0.0.11 [mbx.example.com]=127.0.0.12
	[as.example.net]=127.0.0.21 [mbx.example.net]=127.0.0.22
	[as.example.org]=127.0.0.31 [mbx.example.org]=127.0.0.32
)
hosts=(as.example.com mbx.example.com as.example.net mbx.example.net
	as.example.org mbx.example.org)
users=(alice@example.com bob@example.net bobby@example.org)
declare -A password=(
	[alice@example.com]=alice-demo [bob@example.net]=bob-demo
	[bobby@example.org]=bobby-demo
)

ca=$dir/ca.pem
pids=()          # every process started, stopped by the EXIT trap
declare -A name  # pid -> what it is, for messages
declare -A token # user -> access token from their webmail sign-in
federation=no    # yes once alice's message reached bob's mailbox

say() { printf '%s\n' "$*"; }
step() { printf '  %-16s %s\n' "$1" "$2"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

url_of() { printf 'https://%s:%s/' "$1" "$port"; }
# YAML single-quoted scalar: paths may hold anything.
yq() { printf "'%s'" "${1//\'/\'\'}"; }

# ---------------------------------------------------------------- checks

preflight() {
	[ -x "$bin" ] || die "$bin is not built (run 'make' or set FZ_BIN)"
	dnsmasq=$(PATH=$PATH:/usr/sbin:/sbin command -v dnsmasq) ||
		die "dnsmasq is missing (scripts/bootstrap.sh installs dnsmasq-base)"
	local tool
	for tool in openssl curl node setsid; do
		command -v "$tool" >/dev/null || die "$tool is missing (scripts/bootstrap.sh installs it)"
	done
	if [ ! -f "$webmail/index.html" ]; then
		say "note: $webmail is not built, so the mailboxes serve no webmail"
		say "      ('make demo' builds it; or: cd web && npm run build)"
		webmail=
	fi
}

# The folder is deleted and made again on every run. A folder that is not
# the demo's (no marker, not empty) is never deleted: FZ_DEMO_DIR may point
# anywhere.
prepare_dir() {
	if [ -d "$dir" ] && [ ! -e "$dir/.federizer-demo" ] &&
		[ -n "$(ls -A "$dir")" ]; then
		die "$dir exists and is not a demo folder; choose another FZ_DEMO_DIR"
	fi
	rm -rf "$dir"
	mkdir -p "$dir/logs" "$dir/tmp"
	: >"$dir/.federizer-demo"
	for d in "${domains[@]}"; do mkdir -p "$dir/$d"; done
}

# ---------------------------------------------------------------- PKI

# A P-256 CA and one certificate per server, valid 30 days: the folder is
# remade on each run, so they never need renewing.
make_pki() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/ca.key" -out "$ca" -days 30 \
		-subj '/CN=Federizer demo CA' \
		-addext 'basicConstraints=critical,CA:TRUE' \
		-addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
	chmod 600 "$dir/ca.key"
	local h
	for h in "${hosts[@]}"; do issue_cert "$h"; done
	step pki "CA $ca and certificates for ${hosts[*]}"
}

issue_cert() { # host -> <dir>/<domain>/<as|mbx>.{crt,key}
	local host=$1 base=$dir/${1#*.}/${1%%.*}
	printf 'subjectAltName=DNS:%s,IP:%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
		"$host" "${addr[$host]}" >"$base.ext"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$base.key" 2>/dev/null
	chmod 600 "$base.key"
	openssl req -new -key "$base.key" -subj "/CN=$host" -out "$base.csr" 2>/dev/null
	openssl x509 -req -in "$base.csr" -CA "$ca" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 30 -extfile "$base.ext" -out "$base.crt" 2>/dev/null
	rm -f "$base.csr" "$base.ext"
}

# base64 of the SHA-256 of a certificate's public key: what chromium's
# --ignore-certificate-errors-spki-list pins.
spki_hash() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | openssl base64 -A
}

# ---------------------------------------------------------------- processes

# start NAME LOG CMD...: runs CMD in the background, its output in LOG.
# setsid puts it in a session of its own, so that a Ctrl-C in the terminal
# reaches only this script, which then stops each process with exactly
# one SIGTERM (a second signal in mid-shutdown would kill it hard). The
# child is no process-group leader, so setsid execs in place: $! is the
# server itself.
start() {
	local what=$1 log=$2
	shift 2
	setsid "$@" >"$log" 2>&1 </dev/null &
	pids+=("$!")
	name[$!]=$what
}

alive() { kill -0 "$1" 2>/dev/null; }

pid_of() { # name -> pid
	local p
	for p in "${pids[@]}"; do
		[ "${name[$p]}" = "$1" ] && { printf '%s\n' "$p"; return 0; }
	done
	return 1
}

# SIGTERM to everything started, SIGKILL to what is still there after 10
# seconds; then every child is reaped, so none outlives the script.
# shellcheck disable=SC2317 # called by the EXIT trap
stop_all() {
	local p rc unclean=()
	[ ${#pids[@]} -gt 0 ] || return 0
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	local i
	for ((i = 0; i < 100; i++)); do
		local left=0
		for p in "${pids[@]}"; do alive "$p" && left=1; done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do
		alive "$p" && { kill -KILL "$p" 2>/dev/null || true; }
		rc=0
		wait "$p" 2>/dev/null || rc=$?
		[ "$rc" = 0 ] || unclean+=("${name[$p]} ($rc)")
	done
	if [ ${#unclean[@]} -gt 0 ]; then
		say "stopped; not cleanly: ${unclean[*]} (logs in $dir/logs)"
	else
		say "stopped all ${#pids[@]} processes"
	fi
	pids=()
}

# shellcheck disable=SC2317 # the EXIT trap
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() { # name
	say "--- last lines of $dir/logs/$1.log"
	tail -n 20 "$dir/logs/$1.log" >&2 || true
}

# ---------------------------------------------------------------- DNS

# dnsmasq answers only for the demo's zones (--local: anything else in them
# is NXDOMAIN) and asks nobody else (--no-resolv --no-hosts). Its options
# are a file in the folder, so the process line names the folder.
start_dns() {
	local conf=$dir/dnsmasq.conf d h
	{
		printf '%s\n' keep-in-foreground no-resolv no-hosts no-poll \
			bind-interfaces listen-address=127.0.0.1 "port=$dns_port" \
			pid-file= log-queries log-facility=- local-ttl=60
		# as root, dnsmasq would switch to "nobody", which a container
		# may not allow
		if [ "$(id -u)" = 0 ]; then echo user=root; fi
		for d in "${domains[@]}"; do
			echo "local=/$d/"
			echo "srv-host=_federizer._as._tcp.$d,as.$d,$port,10,5"
			echo "srv-host=_federizer._rs._tcp.$d,mbx.$d,$port,10,5"
		done
		for h in "${hosts[@]}"; do echo "host-record=$h,${addr[$h]}"; done
	} >"$conf"
	start dnsmasq "$dir/logs/dnsmasq.log" "$dnsmasq" --conf-file="$conf"
	local i
	for ((i = 0; i < 50; i++)); do
		alive "$(pid_of dnsmasq)" || { show_log dnsmasq; die "dnsmasq did not start (is 127.0.0.1:$dns_port taken? set FZ_DEMO_DNS_PORT)"; }
		resolve_srv >/dev/null 2>&1 && { step dns "dnsmasq on 127.0.0.1:$dns_port"; return 0; }
		sleep 0.1
	done
	show_log dnsmasq
	die "dnsmasq does not answer on 127.0.0.1:$dns_port"
}

# Discovery as a peer does it (SPEC §5), asked of dnsmasq with node's
# resolver (dig is not installed): for each domain and service, the SRV
# record of the highest priority, then its target's A record. One line
# each: "<domain> <as|rs> <target> <port> <address>".
resolve_srv() {
	node - "127.0.0.1:$dns_port" "${domains[@]}" <<-'JS'
		const { Resolver } = require('node:dns').promises;
		const [server, ...domains] = process.argv.slice(2);
		const r = new Resolver({ timeout: 500, tries: 2 });
		r.setServers([server]);
		(async () => {
		  for (const d of domains) {
		    for (const svc of ['as', 'rs']) {
		      const srv = (await r.resolveSrv(`_federizer._${svc}._tcp.${d}`))
		        .sort((a, b) => a.priority - b.priority)[0];
		      const [a] = await r.resolve4(srv.name);
		      console.log(d, svc, srv.name, srv.port, a);
		    }
		  }
		})().catch((e) => { console.error(e.message); process.exit(1); });
	JS
}

# ---------------------------------------------------------------- HTTPS

# curl that trusts only the demo CA and reaches the demo's names at their
# loopback addresses.
fz_curl() {
	local h resolve=()
	for h in "${hosts[@]}"; do resolve+=(--resolve "$h:$port:${addr[$h]}"); done
	curl --silent --show-error --cacert "$ca" "${resolve[@]}" --max-time 30 "$@"
}

# json EXPR: the JavaScript expression EXPR over the JSON document on
# stdin, bound to d, with the environment as e; a string is printed as it
# is, anything else as JSON; undefined fails.
json() {
	# shellcheck disable=SC2016 # JavaScript, not shell
	node -e '
		let s = "";
		process.stdin.on("data", (c) => { s += c; }).on("end", () => {
		  const d = JSON.parse(s);
		  const v = (0, eval)(`(d, e) => (${process.argv[1]})`)(d, process.env);
		  if (v === undefined) process.exit(1);
		  process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
		});' "$1"
}

wait_ready() { # server-name url
	local what=$1 url=$2 i code pid
	pid=$(pid_of "$what")
	for ((i = 0; i < 150; i++)); do
		alive "$pid" || { show_log "$what"; die "$what exited at start"; }
		code=$(fz_curl -o /dev/null -w '%{http_code}' "$url" 2>/dev/null) || true
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	show_log "$what"
	die "$what does not answer $url"
}

# ---------------------------------------------------------------- domains

# as.yaml and mbx.yaml of domain d, its users and clients at its AS.
configure_domain() {
	local d=$1 as mbx base=$dir/$1 u
	as=$(url_of "as.$d")
	mbx=$(url_of "mbx.$d")
	{
		echo "issuer: $as"
		echo "listen: ${addr[as.$d]}:$port"
		echo "tls: {cert: $(yq "$base/as.crt"), key: $(yq "$base/as.key")}"
		echo "database: $(yq "$base/as.db")"
		echo "keys: {dir: $(yq "$base/keys")}"
		echo "domains: [$d]"
		echo "ca_file: $(yq "$ca")"
		echo "dns_server: 127.0.0.1:$dns_port"
		if [ -f "$root/build/api/as.html" ]; then
			echo "docs_file: $(yq "$root/build/api/as.html")"
		fi
		echo "limits: {threads: 2}"
	} >"$base/as.yaml"
	{
		echo "base_url: $mbx"
		echo "listen: ${addr[mbx.$d]}:$port"
		echo "tls: {cert: $(yq "$base/mbx.crt"), key: $(yq "$base/mbx.key")}"
		echo "database: $(yq "$base/mbx.db")"
		echo "blobs: $(yq "$base/blobs")"
		echo "domains: [$d]"
		echo "authorization_server: $as"
		echo "mta: {client_id: mta.$d, key: $(yq "$base/mta.pem"), dpop_key: $(yq "$base/mta-dpop.pem")}"
		if [ -n "$webmail" ]; then echo "webmail: $(yq "$webmail")"; fi
		echo "ca_file: $(yq "$ca")"
		echo "dns_server: 127.0.0.1:$dns_port"
		echo "limits: {threads: 8}"
	} >"$base/mbx.yaml"

	for u in "${users[@]}"; do
		[ "${u#*@}" = "$d" ] || continue
		printf '%s\n' "${password[$u]}" | admin "$d" user add "$u"
		# bob may auto-forward (to bobby, say): the AS decides (SPEC §9)
		if [ "$u" = bob@example.net ]; then
			admin "$d" user policy "$u" --forwarding allow
		fi
	done
	admin "$d" client add webmail --public --first-party \
		--redirect-uri "${mbx}oauth/callback" --audience "$mbx"
	# The MTA beside the mailbox: a confidential client (private_key_jwt)
	# whose key only the MBX holds; the AS gets the public JWKS.
	"$bin" tool keygen --alg ES256 --out "$base/mta.pem" >/dev/null
	"$bin" tool jwks "$base/mta.pem" >"$base/mta-jwks.json"
	admin "$d" client add "mta.$d" --confidential \
		--jwks-file "$base/mta-jwks.json" --sibling-of "$mbx"
	step "$d" "users, webmail and mta.$d registered at $as"
}

admin() { # domain args...
	local d=$1
	shift
	"$bin" admin -c "$dir/$d/as.yaml" "$@" >/dev/null
}

start_servers() {
	local d
	for d in "${domains[@]}"; do
		start "as.$d" "$dir/logs/as.$d.log" "$bin" as -c "$dir/$d/as.yaml"
	done
	for d in "${domains[@]}"; do
		wait_ready "as.$d" "$(url_of "as.$d").well-known/oauth-authorization-server"
		step "as.$d" "$(url_of "as.$d") (pid $(pid_of "as.$d"))"
	done
	for d in "${domains[@]}"; do
		start "mbx.$d" "$dir/logs/mbx.$d.log" "$bin" mbx -c "$dir/$d/mbx.yaml"
	done
	for d in "${domains[@]}"; do
		wait_ready "mbx.$d" "$(url_of "mbx.$d").well-known/oauth-protected-resource"
		step "mbx.$d" "$(url_of "mbx.$d") (pid $(pid_of "mbx.$d"))"
	done
}

# ---------------------------------------------------------------- sign-in

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# The value of the hidden input NAME in the HTML on stdin, unescaped.
form_value() {
	sed -n "s/.*name=\"$1\" value=\"\\([^\"]*\\)\".*/\\1/p" | head -n 1 |
		sed 's/&quot;/"/g; s/&#39;/'"'"'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
}

# What the webmail does (SPEC §6): /authorize with PKCE S256, the login
# form posted with its CSRF token and the session cookie, the code taken
# from the redirect to <MBX>/oauth/callback and redeemed at /token. Prints
# the access token.
sign_in() { # user
	local user=$1 d=${1#*@} as mbx jar verifier challenge state page csrf authz loc code
	as=$(url_of "as.$d")
	mbx=$(url_of "mbx.$d")
	jar=$(mktemp -p "$dir/tmp" cookies.XXXXXX)
	verifier=$(openssl rand 32 | b64url)
	challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | b64url)
	state=$(openssl rand -hex 16)
	page=$(fz_curl -c "$jar" -b "$jar" -G "${as}authorize" \
		--data-urlencode response_type=code --data-urlencode client_id=webmail \
		--data-urlencode "redirect_uri=${mbx}oauth/callback" \
		--data-urlencode scope=internet_mail --data-urlencode "state=$state" \
		--data-urlencode "code_challenge=$challenge" \
		--data-urlencode code_challenge_method=S256) || return 1
	csrf=$(form_value csrf_token <<<"$page")
	authz=$(form_value authz <<<"$page")
	[ -n "$csrf" ] || { say "no login form at ${as}authorize" >&2; return 1; }
	loc=$(fz_curl -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "${as}login" \
		--data-urlencode "csrf_token=$csrf" --data-urlencode "authz=$authz" \
		--data-urlencode "username=$user" \
		--data-urlencode "password=${password[$user]}") || return 1
	[ -n "$loc" ] || { say "the login of $user was refused" >&2; return 1; }
	loc=$(fz_curl -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$loc") || return 1
	rm -f "$jar"
	[[ $loc == "${mbx}oauth/callback?"* && $loc == *"state=$state"* ]] ||
		{ say "unexpected redirect: $loc" >&2; return 1; }
	code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
	fz_curl "${as}token" --data-urlencode grant_type=authorization_code \
		--data-urlencode "code=$code" --data-urlencode client_id=webmail \
		--data-urlencode "redirect_uri=${mbx}oauth/callback" \
		--data-urlencode "code_verifier=$verifier" | json 'd.access_token'
}

api() { # user method path [curl args...]: prints the body, then the status
	local user=$1 method=$2 path=$3 d=${1#*@}
	shift 3
	fz_curl -X "$method" -H "Authorization: Bearer ${token[$user]}" \
		-w '\n%{http_code}' "$@" "$(url_of "mbx.$d")${path#/}"
}

# api_ok STATUS user method path [args]: the body when the status matches.
api_ok() {
	local want=$1 out status
	shift
	out=$(api "$@") || return 1
	status=${out##*$'\n'}
	out=${out%$'\n'*}
	if [ "$status" != "$want" ]; then
		say "$2 $3: $status, not $want: $out" >&2
		return 1
	fi
	printf '%s' "$out"
}

# Each user signs in once, as in their webmail: a mailbox exists only once
# its user has called the MBX, and mail to a user without one bounces.
sign_in_users() {
	local u
	for u in "${users[@]}"; do
		token[$u]=$(sign_in "$u") || { say "sign-in of $u failed"; return 1; }
		api_ok 200 "$u" GET /api/v1/sync >/dev/null || return 1
		step sign-in "$u: PKCE login at as.${u#*@}, mailbox opened at mbx.${u#*@}"
	done
}

# ---------------------------------------------------------------- self-check

# Discovery from DNS alone: each domain's SRV records lead, through the A
# records, to metadata whose issuer and resource are the URL DNS named,
# and the mailbox names its own domain's AS and MTA client (SPEC §5).
check_discovery() {
	local lines d svc target p a url meta
	lines=$(resolve_srv) || { say "SRV lookup failed"; return 1; }
	declare -A found=()
	while read -r d svc target p a; do
		url="https://$target:$p/"
		if [ "$svc" = as ]; then
			meta=$(curl --silent --show-error --cacert "$ca" --resolve "$target:$p:$a" \
				"${url}.well-known/oauth-authorization-server") || return 1
			[ "$(json d.issuer <<<"$meta")" = "$url" ] || { say "$url: wrong issuer"; return 1; }
		else
			meta=$(curl --silent --show-error --cacert "$ca" --resolve "$target:$p:$a" \
				"${url}.well-known/oauth-protected-resource") || return 1
			[ "$(json d.resource <<<"$meta")" = "$url" ] || { say "$url: wrong resource"; return 1; }
			[ "$(json 'd.authorization_servers[0]' <<<"$meta")" = "${found[$d]}" ] ||
				{ say "$url names another AS than DNS does"; return 1; }
			[ "$(json d.federizer_mta_client_id <<<"$meta")" = "mta.$d" ] ||
				{ say "$url: wrong MTA client"; return 1; }
			step discovery "$d: AS ${found[$d]} and MBX $url ($a), metadata agree"
		fi
		found[$d]=$url
	done <<<"$lines"
	[ ${#found[@]} = ${#domains[@]} ] || { say "not every domain was discovered"; return 1; }
}

check_webmail() {
	local d ct
	[ -n "$webmail" ] || { step webmail "not built: skipped"; return 0; }
	for d in "${domains[@]}"; do
		ct=$(fz_curl -o /dev/null -w '%{http_code} %{content_type}' "$(url_of "mbx.$d")")
		[[ $ct == "200 text/html"* ]] || { say "webmail at mbx.$d: $ct"; return 1; }
	done
	step webmail "served by the three mailboxes"
}

# alice@example.com writes to bob@example.net through the APP API, as the
# webmail does: the text uploaded as a resource, a draft naming it, send.
# Then bob's sync must show the message with its text: the example.net
# mailbox received the placeholder and pulled the bytes from example.com.
check_send() {
	local alice=alice@example.com bob=bob@example.net text up digest size doc draft id out status mid state sync got i reason
	text="Hello Bob, this is the Federizer demo's self-check, sent $(date -u '+%F %T') UTC."
	up=$(printf '%s' "$text" | api_ok 201 "$alice" POST /api/v1/resources \
		-H 'Content-Type: text/plain; charset=UTF-8' --data-binary @-) || return 1
	digest=$(json d.digest <<<"$up")
	size=$(json d.size <<<"$up")
	doc=$(printf '{"envelope":[{"headers":[{"From":"Alice <%s>"},{"To":"Bob <%s>"},{"Subject":"Hello from the demo"},{"Content-Type":"multipart/mixed"}]}],"body":{"parts":[{"headers":[{"Content-Disposition":"inline"},{"Content-ID":"<%s>"},{"Content-Type":["message/external-body; access-type=\\"x-content-addressed-uri\\"; hash-algorithm=\\"sha256\\"; size=\\"%s\\"","text/plain; charset=UTF-8"]}]}]}}' \
		"$alice" "$bob" "$digest" "$size")
	draft=$(api_ok 201 "$alice" POST /api/v1/messages -H 'Content-Type: application/json' \
		--data-binary "$doc") || return 1
	id=$(json d.id <<<"$draft")
	mid=$(json 'd.document.envelope[0].headers.find((h) => h["Message-ID"])["Message-ID"]' <<<"$draft")
	step send "draft $mid from $alice to $bob, body $digest"
	state=$(api_ok 200 "$bob" GET /api/v1/sync | json d.state) || return 1

	out=$(api "$alice" POST "/api/v1/messages/$id/send") || return 1
	status=${out##*$'\n'}
	case $status in
	202) step send "202: $(json 'd.recipients.map((r) => r.address + " " + r.state).join(", ")' <<<"${out%$'\n'*}")" ;;
	501)
		step send "501: sending between domains is not there yet; nothing more to check"
		return 0 ;;
	*) say "send answered $status: ${out%$'\n'*}"; return 1 ;;
	esac

	# bob's long poll: each call returns at the next change or after 5 s
	for ((i = 0; i < (delivery_timeout + 4) / 5; i++)); do
		sync=$(api_ok 200 "$bob" GET "/api/v1/sync?since=$state&wait=5") || return 1
		state=$(json d.state <<<"$sync")
		if MID=$mid json 'd.changed.some((m) =>
			JSON.stringify(m.document.envelope).includes(JSON.stringify(e.MID))) || undefined' \
			<<<"$sync" >/dev/null; then
			# its text: inline in the sync, else downloaded as bob
			got=$(DIGEST=$digest json 'd.inline[e.DIGEST]?.text' <<<"$sync") ||
				got=$(api_ok 200 "$bob" GET "/api/v1/resources/$digest") || return 1
			if [ "$got" != "$text" ]; then
				say "bob's copy of $mid has another text: $got"
				return 1
			fi
			step receive "bob's sync at mbx.example.net shows $mid with its text, pulled from mbx.example.com"
			status=$(api_ok 200 "$alice" GET "/api/v1/messages/$id/status" |
				json 'd.domains.map((x) => x.domain + " " + x.state).join(", ")') || return 1
			step status "alice's status: $status"
			federation=yes
			return 0
		fi
	done

	# Not there: tell a sending side that never tried (no MTA worker yet)
	# from one that tried and failed.
	status=$(api_ok 200 "$alice" GET "/api/v1/messages/$id/status") || return 1
	state=$(json 'd.domains.find((x) => x.domain === "example.net").state' <<<"$status")
	reason=$(json 'd.domains.find((x) => x.domain === "example.net").reason ?? ""' <<<"$status")
	if [ "$state" = queued ] && [ -z "$reason" ] && [ "$require_delivery" != 1 ]; then
		step receive "not delivered in ${delivery_timeout}s: the transfer to example.net is still queued and"
		step "" "was never tried, so the MTA worker (cross-domain delivery) is not there yet"
		return 0
	fi
	say "bob did not receive $mid within ${delivery_timeout}s; example.net: $state${reason:+ ($reason)}"
	return 1
}

self_check() {
	say "self-check:"
	check_discovery && check_webmail && sign_in_users && check_send
}

# ---------------------------------------------------------------- banner

banner() {
	local d u rules='' pins='' h
	for h in "${hosts[@]}"; do
		rules+="${rules:+, }MAP $h ${addr[$h]}"
		pins+="${pins:+,}$(spki_hash "$dir/${h#*.}/${h%%.*}.crt")"
	done
	cat <<-EOF

		Federizer demo: three domains on loopback
		  webmail  https://mbx.example.com:$port/   (AS https://as.example.com:$port/)
		           https://mbx.example.net:$port/   (AS https://as.example.net:$port/)
		           https://mbx.example.org:$port/   (AS https://as.example.org:$port/)
		  users    $(for u in "${users[@]}"; do printf '%s / %s   ' "$u" "${password[$u]}"; done)
		           bob may auto-forward (Settings in his webmail), e.g. to bobby@example.org
		  DNS      dnsmasq at 127.0.0.1:$dns_port (SRV _federizer._as._tcp / _federizer._rs._tcp)
		  CA       $ca
		  logs     $dir/logs/

		Open the webmail in chromium (its own profile; the flags map the names to
		the loopback addresses and accept exactly these six certificates):
		  chromium --user-data-dir='$dir/chromium' \\
		    --host-resolver-rules='$rules' \\
		    --ignore-certificate-errors-spki-list='$pins' \\
		    https://mbx.example.com:$port/ https://mbx.example.net:$port/
		Other browsers: import $ca as an authority and put the six names in /etc/hosts
		($(for h in "${hosts[@]}"; do printf '%s %s  ' "${addr[$h]}" "$h"; done)).

	EOF
}

# ---------------------------------------------------------------- main

preflight
prepare_dir
say "demo folder $dir (made anew)"
make_pki
start_dns
for d in "${domains[@]}"; do configure_domain "$d"; done
start_servers

if self_check; then
	ok=1
	if [ $federation = yes ]; then
		say "federation ready"
	else
		say "demo ready: every server answers; mail between domains is not delivered yet"
	fi
else
	ok=0
	say "self-check FAILED (the logs are in $dir/logs)"
fi

if [ "$mode" = check ]; then
	if [ $ok = 1 ]; then say "demo check passed"; exit 0; fi
	say "demo check failed"
	exit 1
fi

banner
if [ $ok = 0 ]; then say "The servers keep running so that you can look."; fi
say "Press Ctrl-C to stop everything."
# Until a signal (the traps stop everything) or a server dies on its own.
rc=0
wait -n "${pids[@]}" || rc=$?
for p in "${pids[@]}"; do
	alive "$p" || { say "${name[$p]} stopped on its own (exit $rc)"; show_log "${name[$p]}"; }
done
exit 1
