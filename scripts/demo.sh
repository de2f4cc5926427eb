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
#   DEMO_DIR                  the state (.demo/ at the top of the repository;
#                             FZ_DEMO_DIR is read too), kept between runs
#   FZ_DEMO_PORT              first of the six servers' HTTPS ports (8443):
#                             the Mailboxes get it, +1, +2, the ASes +3..+5
#   FZ_DEMO_DNS_PORT          dnsmasq's port on 127.0.0.1 (5353)
#   FZ_DEMO_DELIVERY_TIMEOUT  seconds the self-check waits for bob's mail (20)
#
# Every server listens on 127.0.0.1 on a port of its own, and the ports are
# only in DNS (SRV records). The host names are under .localhost
# (mbx.example.com.localhost, ...): dnsmasq gives them 127.0.0.1 for the
# servers, and a browser on this machine resolves any *.localhost name to
# loopback by itself, so nothing needs privileges or /etc/hosts. curl here
# is told the addresses (--resolve), so the machine's resolver is never
# asked. The state (CA, keys, databases, mail) is kept: a second run finds
# the mail of the first.
set -eEuo pipefail
# A command that fails stops the script (and the EXIT trap stops what it
# started); say which, since some are quiet on purpose.
trap 'printf "demo: failed at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0"
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
dir=${DEMO_DIR:-${FZ_DEMO_DIR:-$root/.demo}}
[[ $dir == /* ]] || dir=$PWD/$dir
port=${FZ_DEMO_PORT:-8443}
dns_port=${FZ_DEMO_DNS_PORT:-5353}
delivery_timeout=${FZ_DEMO_DELIVERY_TIMEOUT:-20}
webmail=$root/web/dist

domains=(example.com example.net example.org)
# A server's host name is <as|mbx>.<domain>.localhost; its port, a fixed
# offset from FZ_DEMO_PORT, so that the webmails come first.
hosts=(mbx.example.com mbx.example.net mbx.example.org as.example.com
	as.example.net as.example.org)
declare -A port_of=()
for ((i = 0; i < ${#hosts[@]}; i++)); do port_of[${hosts[$i]}]=$((port + i)); done
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

# A server's DNS name and URL, from its short name (mbx.example.com).
fqdn() { printf '%s.localhost' "$1"; }
url_of() { printf 'https://%s:%s/' "$(fqdn "$1")" "${port_of[$1]}"; }
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

# The folder is made on the first run and kept: the next run reuses its
# CA, keys, databases and mail. A folder that is not the demo's (no
# marker, not empty) is refused: DEMO_DIR may point anywhere.
prepare_dir() {
	if [ -d "$dir" ] && [ ! -e "$dir/.federizer-demo" ] &&
		[ -n "$(ls -A "$dir")" ]; then
		die "$dir exists and is not a demo folder; choose another DEMO_DIR"
	fi
	local d fresh=kept
	[ -e "$dir/.federizer-demo" ] || fresh=new
	mkdir -p "$dir/logs" "$dir/tmp"
	: >"$dir/.federizer-demo"
	for d in "${domains[@]}"; do mkdir -p "$dir/$d"; done
	say "demo folder $dir ($fresh)"
}

# ---------------------------------------------------------------- PKI

# A P-256 CA (ten years) and one certificate per server (one year), each
# made only when missing, expiring within a week, or not valid for its
# name under the CA (a CA made anew, a renamed host).
make_pki() {
	local h made=()
	if [ ! -s "$ca" ] || [ ! -s "$dir/ca.key" ] || ! openssl x509 -in "$ca" -noout -checkend 604800 >/dev/null; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$dir/ca.key" -out "$ca" -days 3650 \
			-subj '/CN=Federizer demo CA' \
			-addext 'basicConstraints=critical,CA:TRUE' \
			-addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
		chmod 600 "$dir/ca.key"
		made+=(CA)
	fi
	for h in "${hosts[@]}"; do
		cert_ok "$h" && continue
		issue_cert "$h"
		made+=("$(fqdn "$h")")
	done
	if [ ${#made[@]} = 0 ]; then
		step pki "CA $ca and the six certificates kept"
	else
		step pki "CA $ca; made: ${made[*]}"
	fi
}

cert_of() { printf '%s/%s/%s' "$dir" "${1#*.}" "${1%%.*}"; } # host -> path without .crt/.key

cert_ok() { # host
	local base
	base=$(cert_of "$1")
	[ -s "$base.crt" ] && [ -s "$base.key" ] &&
		openssl x509 -in "$base.crt" -noout -checkend 604800 >/dev/null &&
		openssl verify -CAfile "$ca" -verify_hostname "$(fqdn "$1")" \
			-purpose sslserver "$base.crt" >/dev/null 2>&1
}

issue_cert() { # host -> <dir>/<domain>/<as|mbx>.{crt,key}
	local base name
	base=$(cert_of "$1")
	name=$(fqdn "$1")
	printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
		"$name" >"$base.ext"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$base.key" 2>/dev/null
	chmod 600 "$base.key"
	openssl req -new -key "$base.key" -subj "/CN=$name" -out "$base.csr" 2>/dev/null
	openssl x509 -req -in "$base.csr" -CA "$ca" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 365 -extfile "$base.ext" -out "$base.crt" 2>/dev/null
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
# is NXDOMAIN): the SRV records of each domain, whose targets are the
# servers' names under .localhost, and their A records (127.0.0.1). It
# asks nobody else (--no-resolv --no-hosts). Its options
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
			echo "local=/$d.localhost/"
			echo "srv-host=_federizer._as._tcp.$d,$(fqdn "as.$d"),${port_of[as.$d]},10,5"
			echo "srv-host=_federizer._rs._tcp.$d,$(fqdn "mbx.$d"),${port_of[mbx.$d]},10,5"
		done
		for h in "${hosts[@]}"; do echo "host-record=$(fqdn "$h"),127.0.0.1"; done
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

# curl that trusts only the demo CA and reaches the demo's names on
# loopback without asking the machine's resolver.
fz_curl() {
	local h resolve=()
	for h in "${hosts[@]}"; do resolve+=(--resolve "$(fqdn "$h"):${port_of[$h]}:127.0.0.1"); done
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

# as.yaml and mbx.yaml of domain d (written on every run: ports and
# paths may have changed), its users and clients at its AS (kept, and
# made only when missing or registered differently).
configure_domain() {
	local d=$1 as mbx base=$dir/$1 u made=()
	as=$(url_of "as.$d")
	mbx=$(url_of "mbx.$d")
	{
		echo "issuer: $as"
		echo "listen: 127.0.0.1:${port_of[as.$d]}"
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
		echo "listen: 127.0.0.1:${port_of[mbx.$d]}"
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

	local have_users have_clients
	have_users=$(admin_out "$d" user list | cut -f1)
	for u in "${users[@]}"; do
		[ "${u#*@}" = "$d" ] || continue
		if ! grep -qxF "$u" <<<"$have_users"; then
			printf '%s\n' "${password[$u]}" | admin "$d" user add "$u"
			made+=("$u")
		fi
		# bob may auto-forward (to bobby, say): the AS decides (SPEC §9)
		if [ "$u" = bob@example.net ]; then
			admin "$d" user policy "$u" --forwarding allow
		fi
	done
	have_clients=$(admin_out "$d" client list)
	client_as webmail "$have_clients" "redirect-uri=${mbx}oauth/callback" "audience=$mbx" ||
		{ register_webmail "$d" "$mbx" "$have_clients"; made+=(webmail); }
	# The MTA beside the mailbox: a confidential client (private_key_jwt)
	# whose key only the MBX holds; the AS gets the public JWKS. A key
	# made now is a new registration.
	local new_key=no
	if [ ! -s "$base/mta.pem" ]; then
		"$bin" tool keygen --alg ES256 --out "$base/mta.pem" >/dev/null
		new_key=yes
	fi
	if [ $new_key = yes ] || ! client_as "mta.$d" "$have_clients" "sibling-of=$mbx"; then
		register_mta "$d" "$mbx" "$have_clients"
		made+=("mta.$d")
	fi
	if [ ${#made[@]} = 0 ]; then
		step "$d" "users, webmail and mta.$d kept at $as"
	else
		step "$d" "registered at $as: ${made[*]}"
	fi
}

# client_as ID LIST FIELD...: the line of ID in LIST ('admin client list')
# has each FIELD.
client_as() {
	local id=$1 line f
	line=$(grep "^$id	" <<<"$2") || return 1
	shift 2
	for f in "$@"; do
		[[ "	$line	" == *"	$f	"* ]] || return 1
	done
}

register_webmail() { # domain mbx-url client-list
	grep -q '^webmail	' <<<"$3" && admin "$1" client remove webmail
	admin "$1" client add webmail --public --first-party \
		--redirect-uri "${2}oauth/callback" --audience "$2"
}

register_mta() { # domain mbx-url client-list
	local base=$dir/$1
	grep -q "^mta\.$1	" <<<"$3" && admin "$1" client remove "mta.$1"
	"$bin" tool jwks "$base/mta.pem" >"$base/mta-jwks.json"
	admin "$1" client add "mta.$1" --confidential \
		--jwks-file "$base/mta-jwks.json" --sibling-of "$2"
}

admin() { # domain args...
	admin_out "$@" >/dev/null
}

admin_out() { # domain args...: the admin command's output
	local d=$1
	shift
	"$bin" admin -c "$dir/$d/as.yaml" "$@"
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
# The first (full) sync also shows what earlier runs left in the mailbox.
sign_in_users() {
	local u sync n
	for u in "${users[@]}"; do
		token[$u]=$(sign_in "$u") || { say "sign-in of $u failed"; return 1; }
		sync=$(api_ok 200 "$u" GET /api/v1/sync) || return 1
		n=$(json 'd.changed.length + (d.more ? "+" : "")' <<<"$sync")
		step sign-in "$u: PKCE login at $(fqdn "as.${u#*@}"), $n messages at $(fqdn "mbx.${u#*@}")"
		if [ "$u" = bob@example.net ]; then show_kept "$sync"; fi
	done
}

# The self-check messages of earlier runs in bob's inbox (the last three),
# with their texts: the mail that survived the restart.
show_kept() { # bob's full sync
	local kept line
	# shellcheck disable=SC2016 # JavaScript, not shell
	kept=$(json 'd.changed.filter((m) => m.folder === "inbox").map((m) => {
		const h = m.document.envelope.flatMap((x) => x.headers ?? []);
		const get = (k) => h.find((x) => x[k] !== undefined)?.[k];
		if (get("Subject") !== "Hello from the demo") return null;
		const part = m.document.body?.parts?.[0]?.headers ?? [];
		const cid = String(part.find((x) => x["Content-ID"])?.["Content-ID"] ?? "");
		return get("Message-ID") + " " + (d.inline[cid.slice(1, -1)]?.text ?? "(text not inline)");
	}).filter(Boolean).slice(-3).join("\n")' <<<"$1") || return 0
	while IFS= read -r line; do
		if [ -n "$line" ]; then step kept "$line"; fi
	done <<<"$kept"
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

	status=$(api_ok 200 "$alice" GET "/api/v1/messages/$id/status") || return 1
	state=$(json 'd.domains.find((x) => x.domain === "example.net").state' <<<"$status")
	reason=$(json 'd.domains.find((x) => x.domain === "example.net").reason ?? ""' <<<"$status")
	say "bob did not receive $mid within ${delivery_timeout}s; example.net: $state${reason:+ ($reason)}"
	return 1
}

self_check() {
	say "self-check:"
	check_discovery && check_webmail && sign_in_users && check_send
}

# ---------------------------------------------------------------- banner

# Each domain's webmail, its user, and its AS: printed in both modes.
urls() {
	local d u
	say ""
	say "Federizer demo: three domains on loopback"
	for d in "${domains[@]}"; do
		for u in "${users[@]}"; do [ "${u#*@}" = "$d" ] && break; done
		printf '  webmail  %-40s %s / %s\n' "$(url_of "mbx.$d")" "$u" "${password[$u]}"
	done
	for d in "${domains[@]}"; do
		printf '  AS       %s\n' "$(url_of "as.$d")"
	done
}

# How to open them, for a person at this machine.
banner() {
	local h pins='' names=''
	for h in "${hosts[@]}"; do
		pins+="${pins:+,}$(spki_hash "$(cert_of "$h").crt")"
		names+="${names:+ }$(fqdn "$h")"
	done
	cat <<-EOF
		  forward  bob may auto-forward (Settings in his webmail), e.g. to bobby@example.org
		  DNS      dnsmasq at 127.0.0.1:$dns_port (SRV _federizer._as._tcp / _federizer._rs._tcp)
		  CA       $ca
		  state    $dir (kept between runs; logs in $dir/logs/)

		Open the webmail in chromium (its own profile; it resolves *.localhost to
		loopback by itself, and the flag accepts exactly these six certificates):
		  chromium --user-data-dir='$dir/chromium' \\
		    --ignore-certificate-errors-spki-list='$pins' \\
		    $(url_of mbx.example.com) $(url_of mbx.example.net)
		Other browsers: import $ca as an authority; if one does not resolve
		*.localhost itself, add to /etc/hosts: 127.0.0.1 $names

	EOF
}

# ---------------------------------------------------------------- main

preflight
prepare_dir
make_pki
start_dns
for d in "${domains[@]}"; do configure_domain "$d"; done
start_servers

ok=0
if self_check; then ok=1; else say "self-check FAILED (the logs are in $dir/logs)"; fi
urls
if [ "$mode" = run ]; then banner; fi
if [ $ok = 1 ]; then
	if [ $federation = yes ]; then
		say "federation ready"
	else
		say "demo ready: every server answers; mail between domains is not delivered yet"
	fi
fi

if [ "$mode" = check ]; then
	if [ $ok = 1 ]; then say "demo check passed"; exit 0; fi
	say "demo check failed"
	exit 1
fi

if [ $ok = 0 ]; then say "The servers keep running so that you can look."; fi
say "Press Ctrl-C to stop everything."
# Until a signal (the traps stop everything) or a server dies on its own.
rc=0
wait -n "${pids[@]}" || rc=$?
for p in "${pids[@]}"; do
	alive "$p" || { say "${name[$p]} stopped on its own (exit $rc)"; show_log "${name[$p]}"; }
done
exit 1
