#!/bin/sh
# make demo: certwrapd in front of the bundled test mail server, with freshly
# generated certificates (a root CA, an intermediate CA and a localhost leaf).
#
# It starts the plaintext test backend (SMTP, IMAP, POP3, echo), writes a
# stunnel-style config, checks it with `certwrapd -t`, starts certwrapd,
# proves the result with curl and openssl s_client, and prints how to connect.
# On a terminal it keeps running until Ctrl-C; otherwise it stops after the
# checks (exit status 0 only if they passed).
#
# Ports: IMAPS 10993, POP3S 10995, SMTPS 10465, echo 10443 (DEMO_PORT_BASE=N
# moves them to N+993, N+995, N+465, N+443).
set -eu

BUILD=${BUILD:-build/default}
BASE=${DEMO_PORT_BASE:-10000}
CERTWRAPD=$BUILD/certwrapd
BACKEND=$BUILD/tests/backend/testbackend
dir=$(mktemp -d /tmp/certwrap-demo.XXXXXX)
pids=""

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }

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

make_pki() {
	cd "$dir"
	cat > pki.cnf <<'EOF'
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	ossl() { openssl "$@" 2>/dev/null; }
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
		-out root.pem -days 3650 -subj "/O=certwrap demo/CN=certwrap demo root CA" \
		-extensions ca_ext -config pki.cnf -sha256
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key \
		-out inter.csr -subj "/O=certwrap demo/CN=certwrap demo intermediate CA"
	ossl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1825 \
		-extfile pki.cnf -extensions ca_ext -sha256 -out inter.pem
	ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
		-out leaf.csr -subj "/CN=localhost"
	ossl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -days 90 \
		-extfile pki.cnf -extensions leaf_ext -sha256 -out leaf.pem
	cat leaf.pem inter.pem > fullchain.pem
	chmod 600 root.key inter.key leaf.key
	rm -f inter.csr leaf.csr ./*.srl
	cd - >/dev/null
}

step "certificates (in $dir)"
make_pki
say "root CA:      $dir/root.pem   (clients trust this one)"
say "server chain: $dir/fullchain.pem (localhost leaf + intermediate), key $dir/leaf.key"

step "test backend (plaintext SMTP, IMAP, POP3, echo)"
"$BACKEND" --smtp 127.0.0.1:0 --imap 127.0.0.1:0 --pop3 127.0.0.1:0 --echo 127.0.0.1:0 \
	--spool "$dir/spool" --ready-file "$dir/backend.ready" > "$dir/backend.log" 2>&1 &
pids="$pids $!"
wait_for_line "$dir/backend.ready" '^ready'
ready=$(cat "$dir/backend.ready")
addr_of() { printf '%s\n' "$ready" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
say "$ready"

IMAPS=$((BASE + 993)) POP3S=$((BASE + 995)) SMTPS=$((BASE + 465)) ECHO=$((BASE + 443))
for p in $IMAPS $POP3S $SMTPS $ECHO; do
	port_free "$p" || { say "demo: port $p is in use; run with DEMO_PORT_BASE=20000 (say)"; exit 1; }
done

step "certwrapd.conf (stunnel's format)"
cat > "$dir/certwrapd.conf" <<EOF
; written by make demo
foreground = yes
syslog = no
debug = info
; service options here are defaults for every service
cert = $dir/fullchain.pem
key = $dir/leaf.key
; the private root, so certwrapd can check the chain is complete
CAfile = $dir/root.pem

[imaps]
accept = 127.0.0.1:$IMAPS
connect = $(addr_of imap)

[pop3s]
accept = 127.0.0.1:$POP3S
connect = $(addr_of pop3)

[smtps]
accept = 127.0.0.1:$SMTPS
connect = $(addr_of smtp)

[echo]
accept = 127.0.0.1:$ECHO
connect = $(addr_of echo)
EOF
sed 's/^/    /' "$dir/certwrapd.conf"

step "certwrapd -t (checks the config and every certificate)"
"$CERTWRAPD" -t "$dir/certwrapd.conf"

step "certwrapd"
"$CERTWRAPD" -f "$dir/certwrapd.conf" > "$dir/certwrapd.log" 2>&1 &
pids="$! $pids"
wait_for_line "$dir/certwrapd.log" 'ready: services='
grep 'ready:' "$dir/certwrapd.log"

step "self-check with clients nobody here wrote"
failed=0
check() {
	desc=$1
	shift
	if out=$("$@" 2>&1); then
		say "ok    $desc"
	else
		say "FAIL  $desc"
		printf '%s\n' "$out" | sed 's/^/      /'
		failed=1
	fi
}
check "curl imaps:// fetches the test message" sh -c \
	"curl -sS --cacert '$dir/root.pem' -u test:secret 'imaps://localhost:$IMAPS/INBOX;UID=1' | grep -q 'certwrap test message'"
check "curl pop3s:// retrieves it" sh -c \
	"curl -sS --cacert '$dir/root.pem' -u test:secret 'pop3s://localhost:$POP3S/1' | grep -q 'certwrap test message'"
printf 'From: demo@localhost\r\nTo: test@localhost\r\nSubject: hello through certwrap\r\n\r\nIt works.\r\n' > "$dir/mail.eml"
check "curl smtps:// sends a message" curl -sS --cacert "$dir/root.pem" \
	"smtps://localhost:$SMTPS" --mail-from demo@localhost --mail-rcpt test@localhost -T "$dir/mail.eml"
check "openssl s_client verifies the chain against the root alone" sh -c \
	"openssl s_client -connect 127.0.0.1:$IMAPS -servername localhost -verify_return_error \
	 -CAfile '$dir/root.pem' </dev/null 2>/dev/null | grep -q 'Verify return code: 0 (ok)'"

step "connection log (one line per connection)"
wait_for_line "$dir/certwrapd.log" 'smtps: conn '
grep ': conn ' "$dir/certwrapd.log" | sed 's/^/    /'

step "try it yourself"
cat <<EOF
    curl --cacert $dir/root.pem -u test:secret 'imaps://localhost:$IMAPS/INBOX;UID=1'
    curl --cacert $dir/root.pem -u test:secret pop3s://localhost:$POP3S/1
    openssl s_client -connect localhost:$IMAPS -CAfile $dir/root.pem -verify_return_error
        (then type: a login test secret, a select INBOX, a fetch 1 rfc822, a logout)
    openssl s_client -connect localhost:$ECHO -CAfile $dir/root.pem -quiet   (echo)
    python3 -c "import imaplib,ssl; m=imaplib.IMAP4_SSL('localhost',$IMAPS,ssl_context=ssl.create_default_context(cafile='$dir/root.pem')); m.login('test','secret'); m.select(); print(m.fetch('1','(RFC822)')[1][0][1].decode())"

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
