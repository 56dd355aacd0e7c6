#!/bin/sh
# make demo: certwrapd in front of the bundled test mail server, managing its
# own certificates: it starts on a fresh store, creates a CA and issues its
# localhost certificate itself (autoIssue), with nothing prepared by hand.
#
# It starts the plaintext test backend (SMTP, IMAP, POP3, echo), writes a
# stunnel-style config, checks it with `certwrapd -t`, starts certwrapd,
# proves the result with curl and openssl s_client, then issues a second
# certificate and swaps it in with certwrapctl while a client stays
# connected, and prints how to connect. On a terminal it keeps running until
# Ctrl-C; otherwise it stops after the checks (exit status 0 only if they
# passed).
#
# Ports: IMAPS 10993, POP3S 10995, SMTPS 10465, submission (STARTTLS) 10587,
# echo 10443 (DEMO_PORT_BASE=N moves them to N+993, N+995, N+465, N+587, N+443).
set -eu

BUILD=${BUILD:-build/default}
BASE=${DEMO_PORT_BASE:-10000}
CERTWRAPD=$BUILD/certwrapd
CERTWRAPCTL=$BUILD/certwrapctl
BACKEND=$BUILD/tests/backend/testbackend
PYTHON=${PYTHON:-/usr/bin/python3}
dir=$(mktemp -d /tmp/certwrap-demo.XXXXXX)
CTL="$CERTWRAPCTL -s $dir/certwrapd.sock"
ROOT=$dir/store/ca/root.pem
pids=""

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
indent() { sed 's/^/    /'; }

stop_all() {
	for pid in $pids; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null || true
	done
	pids=""
}
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

# Polls for a line in a file, up to 10 seconds.
wait_for_line() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			say "demo: timed out waiting for \"$2\" in $1:"
			cat "$1" 2>/dev/null || true
			exit 1
		fi
		sleep 0.05
	done
}

port_free() {
	[ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

failed=0
check() {
	desc=$1
	shift
	if out=$("$@" 2>&1); then
		say "ok    $desc"
	else
		say "FAIL  $desc"
		printf '%s\n' "$out" | indent
		failed=1
	fi
}

step "test backend (plaintext SMTP, IMAP, POP3, echo)"
"$BACKEND" --smtp 127.0.0.1:0 --imap 127.0.0.1:0 --pop3 127.0.0.1:0 --echo 127.0.0.1:0 \
	--spool "$dir/spool" --ready-file "$dir/backend.ready" > "$dir/backend.log" 2>&1 &
pids="$pids $!"
wait_for_line "$dir/backend.ready" '^ready'
ready=$(cat "$dir/backend.ready")
addr_of() { printf '%s\n' "$ready" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
say "$ready"

IMAPS=$((BASE + 993)) POP3S=$((BASE + 995)) SMTPS=$((BASE + 465)) ECHO=$((BASE + 443))
SUBMISSION=$((BASE + 587))
for p in $IMAPS $POP3S $SMTPS $SUBMISSION $ECHO; do
	port_free "$p" || { say "demo: port $p is in use; run with DEMO_PORT_BASE=20000 (say)"; exit 1; }
done

step "certwrapd.conf (stunnel's format, plus certwrap's certificate options)"
cat > "$dir/certwrapd.conf" <<EOF
; written by make demo
foreground = yes
syslog = no
debug = info
; the certificate store; certwrapd creates its CA on first start
certstore = $dir/store
; certwrapctl talks to the running daemon here
control = $dir/certwrapd.sock

; service options here are defaults for every service: serve the store's
; certificate "mail", issued on first use for these names, renewed before
; it expires, and swapped in whenever the store's current version changes
certname = mail
autoIssue = yes
hostname = localhost 127.0.0.1

[imaps]
accept = 127.0.0.1:$IMAPS
connect = $(addr_of imap)

[pop3s]
accept = 127.0.0.1:$POP3S
connect = $(addr_of pop3)

[smtps]
accept = 127.0.0.1:$SMTPS
connect = $(addr_of smtp)

; STARTTLS: the client starts in plaintext; certwrapd relays the real
; server's greeting and EHLO, adds STARTTLS, and does the TLS itself
[submission]
accept = 127.0.0.1:$SUBMISSION
connect = $(addr_of smtp)
protocol = smtp

[echo]
accept = 127.0.0.1:$ECHO
connect = $(addr_of echo)
EOF
indent < "$dir/certwrapd.conf"

step "certwrapd -t (checks the config; the store does not exist yet)"
"$CERTWRAPD" -t "$dir/certwrapd.conf"

step "certwrapd"
"$CERTWRAPD" -f "$dir/certwrapd.conf" > "$dir/certwrapd.log" 2>&1 &
pids="$! $pids"
wait_for_line "$dir/certwrapd.log" 'ready: services='
grep -E 'certstore: created|autoIssue: issued|ready:' "$dir/certwrapd.log" | indent
say "clients trust the store's root: $ROOT"

step "self-check with clients nobody here wrote"
check "curl imaps:// fetches the test message" sh -c \
	"curl -sS --cacert '$ROOT' -u test:secret 'imaps://localhost:$IMAPS/INBOX;UID=1' | grep -q 'certwrap test message'"
check "curl pop3s:// retrieves it" sh -c \
	"curl -sS --cacert '$ROOT' -u test:secret 'pop3s://localhost:$POP3S/1' | grep -q 'certwrap test message'"
printf 'From: demo@localhost\r\nTo: test@localhost\r\nSubject: hello through certwrap\r\n\r\nIt works.\r\n' > "$dir/mail.eml"
check "curl smtps:// sends a message" curl -sS --cacert "$ROOT" \
	"smtps://localhost:$SMTPS" --mail-from demo@localhost --mail-rcpt test@localhost -T "$dir/mail.eml"
check "curl smtp:// --ssl-reqd sends one by STARTTLS" curl -sS --cacert "$ROOT" --ssl-reqd \
	"smtp://localhost:$SUBMISSION" --mail-from demo@localhost --mail-rcpt test@localhost \
	-T "$dir/mail.eml"
check "openssl s_client -starttls smtp sees the upgrade and verifies" sh -c \
	"openssl s_client -connect 127.0.0.1:$SUBMISSION -starttls smtp -servername localhost \
	 -verify_return_error -CAfile '$ROOT' </dev/null 2>/dev/null | grep -q 'Verify return code: 0 (ok)'"
check "openssl s_client verifies the chain against the store's root" sh -c \
	"openssl s_client -connect 127.0.0.1:$IMAPS -servername localhost -verify_return_error \
	 -CAfile '$ROOT' </dev/null 2>/dev/null | grep -q 'Verify return code: 0 (ok)'"

step "a certificate swap while a client stays connected"
# the held client: an echo session opened before the swap, used after it
cat > "$dir/held.py" <<EOF
import os, socket, ssl, time
ctx = ssl.create_default_context(cafile="$ROOT")
tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", $ECHO)), server_hostname="localhost")
serial = format(int(tls.getpeercert()["serialNumber"], 16), "X")
print("held client: connected, certificate serial", serial, flush=True)
deadline = time.monotonic() + 30
while not os.path.exists("$dir/swapped") and time.monotonic() < deadline:
    time.sleep(0.05)
tls.sendall(b"still here after the swap\n")
print("held client: echo says", repr(tls.recv(100).decode()), "on the same session", flush=True)
EOF
"$PYTHON" "$dir/held.py" > "$dir/held.log" 2>&1 &
held=$!
wait_for_line "$dir/held.log" 'connected'
indent < "$dir/held.log"
say "    \$ certwrapctl issue mail-next --dns localhost --ip 127.0.0.1"
$CTL issue mail-next --dns localhost --ip 127.0.0.1 2>&1 | head -1 | indent
say "    \$ certwrapctl swap echo mail-next"
check "swap [echo] to mail-next" $CTL swap echo mail-next
: > "$dir/swapped"
wait "$held" || failed=1
sed -n 2p "$dir/held.log" | indent
new=$(openssl s_client -connect 127.0.0.1:$ECHO -servername localhost </dev/null 2>/dev/null |
	openssl x509 -noout -serial | cut -d= -f2)
say "    a new connection gets serial $new"
say "    \$ certwrapctl status"
$CTL status | indent

step "connection log (one line per connection)"
wait_for_line "$dir/certwrapd.log" 'smtps: conn '
grep ': conn ' "$dir/certwrapd.log" | indent

step "try it yourself"
cat <<EOF
    curl --cacert $ROOT -u test:secret 'imaps://localhost:$IMAPS/INBOX;UID=1'
    curl --cacert $ROOT -u test:secret pop3s://localhost:$POP3S/1
    openssl s_client -connect localhost:$IMAPS -CAfile $ROOT -verify_return_error
        (then type: a login test secret, a select INBOX, a fetch 1 rfc822, a logout)
    openssl s_client -connect localhost:$SUBMISSION -starttls smtp -CAfile $ROOT -crlf
        (STARTTLS; then type: EHLO me, and see the server's own extensions)
    openssl s_client -connect localhost:$ECHO -CAfile $ROOT -quiet   (echo)

    $CTL status             what each service serves
    $CTL list               the store's certificates
    $CTL renew mail         a new version; certwrapd swaps it in by itself
    $CTL swap imaps mail-next

    log:          tail -f $dir/certwrapd.log
    reload:       kill -HUP $(echo $pids | cut -d' ' -f1)   (after editing $dir/certwrapd.conf)
EOF

if [ $failed -ne 0 ]; then
	say "demo: a self-check failed (see above)"
	exit 1
fi
if [ -t 0 ]; then
	say ""
	say "certwrapd is running; press Ctrl-C to stop it."
	while :; do sleep 3600; done
fi
say ""
say "demo: all checks passed; stopping (run on a terminal to keep it running)"
