#!/bin/sh
# Makes the seeds of fuzz_pem in tests/fuzz/corpus/pem/ with the openssl
# command line: valid certificates, chains, keys in every accepted form,
# combined files, and the broken inputs operators produce. EC keys keep the
# fuzzer fast; one RSA chain keeps RSA covered. Run from the top directory;
# the seeds are committed, so this only documents how they were made.
set -eu
out=tests/fuzz/corpus/pem
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
cd "$tmp"

ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec root.key; ec inter.key; ec leaf.key
openssl req -x509 -new -key root.key -subj "/O=Example/CN=Test Root CA" -days 3650 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out root.pem
openssl req -x509 -new -key inter.key -subj "/O=Example/CN=Test Intermediate CA" -days 3650 \
	-CA root.pem -CAkey root.key -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign -out inter.pem
openssl req -x509 -new -key leaf.key -subj "/O=Example/CN=mail.example.com" -days 3650 \
	-CA inter.pem -CAkey inter.key -addext basicConstraints=CA:FALSE \
	-addext subjectAltName=DNS:mail.example.com -addext extendedKeyUsage=serverAuth -out leaf.pem
openssl req -x509 -new -key leaf.key -subj "/O=Example/CN=mail.example.com" -days 3650 \
	-out self.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
openssl req -x509 -new -key rsa.key -subj "/CN=imap.example.com" -days 3650 -CA inter.pem \
	-CAkey inter.key -addext basicConstraints=CA:FALSE -out rsa_leaf.pem

cp leaf.pem "$OLDPWD/$out/cert.pem"
cat leaf.pem inter.pem root.pem > "$OLDPWD/$out/chain.pem"
cat inter.pem root.pem leaf.pem > "$OLDPWD/$out/chain_shuffled.pem"
cp leaf.key "$OLDPWD/$out/key.pem"
cat leaf.key leaf.pem inter.pem root.pem > "$OLDPWD/$out/combined.pem"
cat leaf.pem leaf.key inter.pem > "$OLDPWD/$out/combined_incomplete.pem"
cat rsa.key root.pem rsa_leaf.pem inter.pem > "$OLDPWD/$out/combined_rsa.pem"
{ cat self.pem leaf.key; printf -- '-----BEGIN DH PARAMETERS-----\nMAYCAQICAQI=\n-----END DH PARAMETERS-----\n'; } \
	> "$OLDPWD/$out/courier_selfsigned.pem"
openssl pkey -in rsa.key -traditional -out "$OLDPWD/$out/key_rsa_traditional.pem"
openssl ecparam -name prime256v1 -genkey -out "$OLDPWD/$out/key_ec_with_params.pem"
openssl pkey -in leaf.key -aes256 -passout pass:fuzz -out "$OLDPWD/$out/key_encrypted.pem"
openssl pkey -in leaf.key -traditional -aes256 -passout pass:fuzz \
	-out "$OLDPWD/$out/key_legacy_encrypted.pem"
openssl genpkey -algorithm ED25519 -out "$OLDPWD/$out/key_ed25519.pem"
openssl x509 -in inter.pem -trustout -addtrust serverAuth -out "$OLDPWD/$out/trusted.pem"
sed 's/$/\r/' leaf.pem > "$OLDPWD/$out/crlf.pem"
sed '3s/^./!/' leaf.pem > "$OLDPWD/$out/broken_base64.pem"
head -c 300 leaf.pem > "$OLDPWD/$out/truncated.pem"
head -c 500 "$OLDPWD/$out/combined.pem" > "$OLDPWD/$out/truncated_combined.pem"
openssl x509 -in leaf.pem -outform DER -out "$OLDPWD/$out/cert.der"
printf 'not a certificate\n' > "$OLDPWD/$out/text.txt"
