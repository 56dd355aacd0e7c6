#!/bin/sh
# Makes the seeds of fuzz_csr in tests/fuzz/corpus/csr/ with the openssl
# command line: requests as openssl req makes them (EC, RSA, with and without
# subjectAltNames, the old NEW CERTIFICATE REQUEST label), DER, and broken
# ones. Run from the top directory; the seeds are committed, so this only
# documents how they were made.
set -eu
out=tests/fuzz/corpus/csr
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
cd "$tmp"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
openssl req -new -key ec.key -subj "/C=US/O=Example/CN=mail.example.com" \
	-addext subjectAltName=DNS:mail.example.com,IP:192.0.2.1 -out san.csr
openssl req -new -key ec.key -subj "/CN=plain.example.com" -out plain.csr
openssl req -new -key ec.key -subj "/CN=plain.example.com" -outform DER -out plain.der
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key 2>/dev/null
openssl req -new -key rsa.key -md5 -subj "/CN=old.example.com" -out md5.csr 2>/dev/null || true
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' plain.csr > old_label.csr
head -c 200 san.csr > truncated.csr
cat plain.csr san.csr > two.csr
cd - >/dev/null
cp "$tmp"/*.csr "$tmp"/plain.der "$out"/
