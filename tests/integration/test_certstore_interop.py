"""The store and what it issues, read by tools nobody here wrote: the openssl
CLI (verify, x509 -text, req -verify, pkey, ca -status, and `openssl ca`
signing into the store's own ca/), and Python's ssl module doing real TLS
handshakes with the issued certificates.
"""
import ssl

import pytest

from certstore_util import Store, check_consistent, openssl

# ca init's arguments, and the signature the CA's key makes: SHA-256, SHA-384
# for P-384 (as the CA/Browser Forum pairs them), EdDSA for Ed25519
CA_SETUPS = {
    "root-ec": (["--key-type", "ec:P-256"], "ecdsa-with-SHA256"),
    "root-rsa": (["--key-type", "rsa:2048"], "sha256WithRSAEncryption"),
    "root-ed25519": (["--key-type", "ed25519"], "ED25519"),
    "intermediate-p384": (["--key-type", "ec:P-384", "--intermediate"], "ecdsa-with-SHA384"),
    "intermediate-rsa": (["--key-type", "rsa:2048", "--intermediate", "--subject",
                          "/C=FR/O=Example/CN=Example Root CA"], "sha256WithRSAEncryption"),
}

LEAF_KEY_TYPES = ["ec:P-256", "rsa:2048", "ed25519"]


@pytest.fixture(scope="module", params=sorted(CA_SETUPS))
def ca_store(request, tmp_path_factory):
    """One store per CA setup, shared by the tests of this module."""
    args, s_sigalg = CA_SETUPS[request.param]
    s = Store(tmp_path_factory.mktemp("interop") / request.param)
    s.ok("ca", "init", *args)
    s.intermediate = "--intermediate" in args
    s.sigalg = s_sigalg
    return s


def issued(store, key_type, client=False):
    """A name issued for key_type in store (once per store and key type)."""
    name = f"leaf-{key_type.replace(':', '-')}" + ("-client" if client else "")
    if not store.name_dir(name).exists():
        store.ok("issue", name, "--dns", "mail.example.com", "imap.example.com", "--ip",
                 "127.0.0.1", "--ip", "::1", "--key-type", key_type,
                 *(["--client"] if client else []))
    return store.version_dir(name)


@pytest.mark.parametrize("key_type", LEAF_KEY_TYPES)
def test_openssl_verify(ca_store, key_type):
    d = issued(ca_store, key_type)
    root = ca_store.path / "ca" / "root.pem"
    untrusted = ["-untrusted", d / "chain.pem"] if ca_store.intermediate else []
    out = openssl("verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", root,
                  *untrusted, d / "cert.pem")
    assert out == f"{d / 'cert.pem'}: OK\n"
    # the chain file is leaf-first without the root: the intermediate, or nothing
    chain = (d / "chain.pem").read_text()
    assert chain == ((ca_store.path / "ca" / "cacert.pem").read_text()
                     if ca_store.intermediate else "")
    assert (d / "fullchain.pem").read_text() == (d / "cert.pem").read_text() + chain


@pytest.mark.parametrize("key_type", LEAF_KEY_TYPES)
def test_openssl_sees_the_profile(ca_store, key_type):
    d = issued(ca_store, key_type)
    text = openssl("x509", "-in", d / "cert.pem", "-noout", "-text")
    assert "X509v3 Basic Constraints: critical\n                CA:FALSE\n" in text
    usage = "Digital Signature, Key Encipherment" if key_type.startswith("rsa") else \
        "Digital Signature"
    assert f"X509v3 Key Usage: critical\n                {usage}\n" in text
    assert "X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n" in text
    assert "X509v3 Subject Key Identifier: \n" in text
    assert "X509v3 Authority Key Identifier: \n" in text
    assert "DNS:mail.example.com, DNS:imap.example.com, IP Address:127.0.0.1, " \
           "IP Address:0:0:0:0:0:0:0:1\n" in text
    # the default policy: CN only (countryName and organizationName are optional)
    assert "Subject: CN = mail.example.com\n" in text
    assert f"Signature Algorithm: {ca_store.sigalg}\n" in text
    ski = openssl("x509", "-in", ca_store.path / "ca" / "cacert.pem", "-noout", "-ext",
                  "subjectKeyIdentifier").splitlines()[1].strip()
    aki = openssl("x509", "-in", d / "cert.pem", "-noout", "-ext",
                  "authorityKeyIdentifier").splitlines()[1].strip()
    assert aki == ski


def test_openssl_reads_the_files(ca_store):
    d = issued(ca_store, "ec:P-256")
    assert openssl("req", "-in", d / "csr.pem", "-noout", "-verify", "-subject",
                   check=False).stdout == "subject=CN = mail.example.com\n"
    # the key is the certificate's: same public key
    assert openssl("pkey", "-in", d / "key.pem", "-pubout") == \
        openssl("x509", "-in", d / "cert.pem", "-noout", "-pubkey")


def minimal_ca_cnf(store, tmp_path):
    """The smallest openssl.cnf pointing `openssl ca` at the store's ca/."""
    ca = store.path / "ca"
    cnf = tmp_path / "ca.cnf"
    cnf.write_text(f"""[ ca ]
default_ca = store
[ store ]
dir = {ca}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
default_crl_days = 30
certificate = $dir/cacert.pem
private_key = $dir/private/cakey.pem
default_md = sha256
default_days = 30
policy = policy_any
copy_extensions = copy
x509_extensions = leaf
[ policy_any ]
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
""")
    return cnf


def test_openssl_ca_status_reads_our_index(ca_store, tmp_path):
    issued(ca_store, "ec:P-256")
    cnf = minimal_ca_cnf(ca_store, tmp_path)
    for entry in ca_store.index():
        r = openssl("ca", "-config", cnf, "-status", entry.serial, check=False)
        assert f"{entry.serial}=Valid (V)" in r.stdout + r.stderr
    r = openssl("ca", "-config", cnf, "-status", "0123", check=False)
    assert "Serial 0123 not present in db." in r.stdout + r.stderr


def test_openssl_ca_signs_into_the_store(tmp_path):
    """`openssl ca` and certwrapctl take turns on one store: each reads what
    the other wrote, serials never repeat, and renewals may repeat a subject."""
    s = Store(tmp_path / "shared")
    s.ok("ca", "init")
    s.ok("issue", "mail", "--dns", "mail.example.com")
    cnf = minimal_ca_cnf(s, tmp_path)
    key, csr, out = tmp_path / "k.pem", tmp_path / "r.csr", tmp_path / "c.pem"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    for n in range(2):          # the same subject twice: index.txt.attr allows it
        openssl("req", "-new", "-config", cnf, "-key", key, "-subj", "/CN=mail.example.com",
                "-out", csr)
        openssl("ca", "-batch", "-config", cnf, "-in", csr, "-out", out, "-notext")
    index = s.index()
    assert len(index) == 3 and len({e.serial for e in index}) == 3
    # openssl took the serial file's value: ours + 1, then + 1 again
    ours = int(s.meta("mail")["serial"], 16)
    assert int(index[1].serial, 16) == ours + 1 and int(index[2].serial, 16) == ours + 2
    s.ok("renew", "mail")
    s.ok("issue", "imap", "--dns", "imap.example.com")
    assert len({e.serial for e in s.index()}) == 5
    check_consistent(s)


def test_openssl_ca_revokes_in_the_store(tmp_path):
    """openssl ca -revoke and -gencrl work on the store; certwrapctl sees the
    revocation and keeps the R line when it rewrites the index."""
    s = Store(tmp_path / "revoke")
    s.ok("ca", "init", "--intermediate")
    s.ok("issue", "mail", "--dns", "mail.example.com")
    cnf = minimal_ca_cnf(s, tmp_path)
    serial = s.meta("mail")["serial"]
    openssl("ca", "-config", cnf, "-revoke", s.version_dir("mail") / "cert.pem",
            "-crl_reason", "keyCompromise")
    crl = tmp_path / "crl.pem"
    openssl("ca", "-config", cnf, "-gencrl", "-out", crl)
    assert f"Serial Number: {serial}" in openssl("crl", "-in", crl, "-noout", "-text")
    assert (s.path / "ca" / "crlnumber").read_text() == "02\n"
    [entry] = s.list()
    assert entry["status"] == "revoked"
    s.ok("renew", "mail")
    index = s.index()
    assert index[0].status == "R" and index[0].serial == serial
    assert index[0].revoked.endswith(",keyCompromise")
    assert index[1].status == "V" and index[1].serial == s.meta("mail", 2)["serial"]
    assert [e["status"] for e in s.list()] == ["valid"]


# --- real TLS handshakes -----------------------------------------------------------------------


def handshake(server_ctx, client_ctx, server_hostname):
    """A TLS handshake between two ssl contexts in memory; returns the
    client's view of the server certificate."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, obj in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    obj.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return client.getpeercert()
    raise AssertionError("handshake did not finish")


@pytest.mark.parametrize("hostname", ["mail.example.com", "imap.example.com", "127.0.0.1", "::1"])
def test_tls_handshake(ca_store, hostname):
    d = issued(ca_store, "ec:P-256")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(d / "fullchain.pem", d / "key.pem")
    client = ssl.create_default_context(cafile=str(ca_store.path / "ca" / "root.pem"))
    peer = handshake(server, client, hostname)
    assert dict(x[0] for x in peer["subject"])["commonName"] == "mail.example.com"


def test_tls_client_certificate(ca_store):
    """A certificate issued with --client authenticates a client too."""
    d = issued(ca_store, "ec:P-256")
    c = issued(ca_store, "ec:P-256", client=True)
    root = str(ca_store.path / "ca" / "root.pem")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(d / "fullchain.pem", d / "key.pem")
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(root)
    client = ssl.create_default_context(cafile=root)
    client.load_cert_chain(c / "fullchain.pem", c / "key.pem")
    handshake(server, client, "mail.example.com")


def test_tls_refuses_a_wrong_name(ca_store):
    d = issued(ca_store, "ec:P-256")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(d / "fullchain.pem", d / "key.pem")
    client = ssl.create_default_context(cafile=str(ca_store.path / "ca" / "root.pem"))
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(server, client, "smtp.example.com")
