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


# --- the openssl ca directory of seed 002, taken over ------------------------------------------

# The guide's openssl.cnf (seed 002), with today's key size and digest in
# place of its 1024 bits and MD5, which modern OpenSSL rightly refuses.
SEED_CNF = """#
# OpenSSL configuration file.
#
# Establish working directory.

dir                = .

[ ca ]
default_ca         = CA_default

[ CA_default ]
serial             = $dir/serial
database           = $dir/index.txt
new_certs_dir      = $dir/newcerts
certificate        = $dir/cacert.pem
private_key        = $dir/private/cakey.pem
default_days       = 365
default_md         = sha256
preserve           = no
email_in_dn        = no
nameopt            = default_ca
certopt            = default_ca
policy             = policy_match

[ policy_match ]
countryName        = match
stateOrProvinceName = match
organizationName   = match
organizationalUnitName = optional
commonName         = supplied
emailAddress       = optional

[ req ]
default_bits       = 2048                # Size of keys
default_keyfile    = key.pem             # name of generated keys
default_md         = sha256              # message digest algorithm
string_mask        = nombstr             # permitted characters
distinguished_name = req_distinguished_name
req_extensions     = v3_req

[ req_distinguished_name ]
0.organizationName      = Organization Name (company)
organizationalUnitName  = Organizational Unit Name (department, division)
emailAddress             = Email Address
emailAddress_max         = 40
localityName             = Locality Name (city, district)
stateOrProvinceName     = State or Province Name (full name)
countryName              = Country Name (2 letter code)
countryName_min         = 2
countryName_max         = 2
commonName               = Common Name (hostname, IP, or your name)
commonName_max          = 64

0.organizationName_default = The Sample Company
localityName_default      = Metropolis
stateOrProvinceName_default = New York
countryName_default       = US

[ v3_ca ]
basicConstraints          = CA:TRUE
subjectKeyIdentifier      = hash
authorityKeyIdentifier    = keyid:always,issuer:always

[ v3_req ]
basicConstraints          = CA:FALSE
subjectKeyIdentifier      = hash
"""

SAMPLE_DN = "/O=The Sample Company/L=Metropolis/ST=New York/C=US"


def seed_ca(tmp_path):
    """The guide's one-time set-up and one certificate signed, its own commands."""
    ca = tmp_path / "CA"
    (ca / "newcerts").mkdir(parents=True)
    (ca / "private").mkdir()
    (ca / "serial").write_text("01\n")
    (ca / "index.txt").write_text("")
    (ca / "openssl.cnf").write_text(SEED_CNF)
    openssl("req", "-new", "-x509", "-extensions", "v3_ca", "-keyout", "private/cakey.pem",
            "-out", "cacert.pem", "-days", "3650", "-config", "./openssl.cnf", "-passout",
            "pass:demo", "-subj", f"{SAMPLE_DN}/CN=Sample Root CA", cwd=ca)
    openssl("req", "-new", "-nodes", "-out", "req.pem", "-config", "./openssl.cnf", "-subj",
            f"{SAMPLE_DN}/OU=Mail Server/CN=mail.sample.com", cwd=ca)
    openssl("ca", "-batch", "-out", "cert.pem", "-config", "./openssl.cnf", "-passin",
            "pass:demo", "-infiles", "req.pem", cwd=ca)
    return ca


def test_seed_ca_directory_imports_and_keeps_signing(tmp_path):
    ca = seed_ca(tmp_path)
    assert (ca / "serial").read_text() == "02\n"
    pw = tmp_path / "demo"
    pw.write_text("demo\n")
    s = Store(tmp_path / "store")
    out = s.ok("ca", "import", ca, "--passphrase-file", pw)
    assert "  serials       go on from 02, in sequence, as openssl ca numbers them" in out
    assert "  policy        6 lines from its openssl.cnf" in out
    # what the guide's CA signed still verifies with the store's root
    root = s.path / "ca" / "root.pem"
    assert openssl("verify", "-CAfile", root, ca / "cert.pem") == f"{ca / 'cert.pem'}: OK\n"
    # certwrapctl issues 02, signs 03
    s.ok("issue", "imap", "--dns", "imap.sample.com", "--passphrase-file", pw)
    assert s.meta("imap")["serial"] == "02"
    req = tmp_path / "pop.csr"
    openssl("req", "-new", "-nodes", "-keyout", tmp_path / "pop.key", "-out", req, "-config",
            ca / "openssl.cnf", "-subj", f"{SAMPLE_DN}/CN=pop.sample.com")
    signed = tmp_path / "pop.pem"
    assert "signed: serial 03 for " in s.ok("sign", "--csr", req, "--out", signed,
                                            "--passphrase-file", pw)
    # and openssl ca, pointed at the store with the guide's config, goes on with 04
    cnf = tmp_path / "store.cnf"
    cnf.write_text(SEED_CNF.replace("dir                = .", f"dir = {s.path / 'ca'}"))
    openssl("req", "-new", "-nodes", "-keyout", tmp_path / "smtp.key", "-out",
            tmp_path / "smtp.csr", "-config", cnf, "-subj", f"{SAMPLE_DN}/CN=smtp.sample.com")
    openssl("ca", "-batch", "-config", cnf, "-passin", "pass:demo", "-out",
            tmp_path / "smtp.pem", "-infiles", tmp_path / "smtp.csr")
    assert [e.serial for e in s.index()] == ["01", "02", "03", "04"]
    for cert in (s.version_dir("imap") / "cert.pem", signed, tmp_path / "smtp.pem"):
        assert openssl("verify", "-purpose", "sslserver", "-CAfile", root, cert) == \
            f"{cert}: OK\n"
    for serial in ("01", "02", "03", "04"):
        r = openssl("ca", "-config", cnf, "-status", serial, check=False)
        assert f"{serial}=Valid (V)" in r.stdout + r.stderr
    # the policy came along: the CA's O, ST and C are in what issue makes
    assert openssl("x509", "-in", s.version_dir("imap") / "cert.pem", "-noout",
                   "-subject") == "subject=O = The Sample Company, ST = New York, C = US, " \
                                  "CN = imap.sample.com\n"
    # the key stays encrypted with the guide's passphrase
    assert "ENCRYPTED" in (s.path / "ca" / "private" / "cakey.pem").read_text()
    check_consistent_index(s)


def check_consistent_index(store):
    """Every serial once, each with its newcerts/ file."""
    serials = [e.serial for e in store.index()]
    assert len(set(serials)) == len(serials)
    for serial in serials:
        assert (store.path / "ca" / "newcerts" / f"{serial}.pem").is_file()


# --- revocation: openssl crl -verify and openssl ca -status agree ---------------------------------


def test_revocation_agrees_with_openssl(tmp_path):
    s = Store(tmp_path / "rv")
    s.ok("ca", "init", "--intermediate")
    s.ok("issue", "gone", "--dns", "gone.example.com")
    s.ok("issue", "kept", "--dns", "kept.example.com")
    gone = s.meta("gone")["serial"]
    s.ok("revoke", "gone", "--reason", "keyCompromise")
    ca = s.path / "ca"
    crl = ca / "crl.pem"
    r = openssl("crl", "-in", crl, "-CAfile", ca / "cacert.pem", "-noout", "-verify",
                check=False)
    assert r.returncode == 0 and "verify OK" in r.stdout + r.stderr
    text = openssl("crl", "-in", crl, "-noout", "-text")
    assert f"Serial Number: {gone}" in text and "Key Compromise" in text
    assert "X509v3 CRL Number: \n                1\n" in text
    cnf = minimal_ca_cnf(s, tmp_path)
    for serial, word in ((gone, "Revoked (R)"), (s.meta("kept")["serial"], "Valid (V)")):
        r = openssl("ca", "-config", cnf, "-status", serial, check=False)
        assert f"{serial}={word}" in r.stdout + r.stderr
    # a client that checks the CRL refuses the revoked one only
    for name, ok in (("gone", False), ("kept", True)):
        d = s.version_dir(name)
        r = openssl("verify", "-crl_check", "-CRLfile", crl, "-CAfile", ca / "root.pem",
                    "-untrusted", d / "chain.pem", d / "cert.pem", check=False)
        assert (r.returncode == 0) == ok, r.stdout + r.stderr
        if not ok:
            assert "certificate revoked" in r.stdout + r.stderr
    # openssl ca -gencrl on the same store goes on with the next number
    openssl("ca", "-config", cnf, "-gencrl", "-out", tmp_path / "o.crl")
    assert "X509v3 CRL Number: \n                2\n" in openssl("crl", "-in", tmp_path / "o.crl",
                                                                 "-noout", "-text")
    assert "crl: made number 03" in s.ok("crl")


# --- what sign, csr and export make, in openssl's and Python's hands ------------------------------


def test_csr_and_sign_with_openssl(tmp_path):
    s = Store(tmp_path / "st")
    s.ok("ca", "init", "--intermediate")
    csr = tmp_path / "r.csr"
    s.ok("csr", "ext", "--dns", "ext.example.com", "--ip", "192.0.2.9", "--out", csr)
    r = openssl("req", "-in", csr, "-noout", "-verify", "-subject", check=False)
    assert r.stdout == "subject=CN = ext.example.com\n" and "verify OK" in r.stderr
    assert "DNS:ext.example.com, IP Address:192.0.2.9" in openssl("req", "-in", csr, "-noout",
                                                                  "-text")
    # the store signs its own request too, as it would anyone's
    cert = tmp_path / "c.pem"
    s.ok("sign", "--csr", csr, "--out", cert, "--fullchain")
    assert openssl("verify", "-purpose", "sslserver", "-CAfile", s.path / "ca" / "root.pem",
                   "-untrusted", cert, cert) == f"{cert}: OK\n"


@pytest.mark.parametrize("daemon,cert,key", [
    ("postfix", "postfix.pem", "postfix.pem"),
    ("dovecot", "fullchain.pem", "key.pem"),
    ("courier", "courier.pem", "courier.pem"),
    ("stunnel", "stunnel.pem", "stunnel.pem"),
    ("sendmail", "cert.pem", "key.pem"),
])
def test_exports_serve_tls(tmp_path, daemon, cert, key):
    """Each daemon's files, loaded as that daemon's TLS library would, give a
    handshake that a client trusting only the store's root accepts."""
    s = Store(tmp_path / "st")
    s.ok("ca", "init", "--intermediate")
    s.ok("issue", "mail", "--dns", "mail.example.com")
    d = tmp_path / daemon
    s.ok("export", "mail", "--for", daemon, "--out", d)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(d / cert, d / key)
    client = ssl.create_default_context(cafile=str(s.path / "ca" / "root.pem"))
    peer = handshake(server, client, "mail.example.com")
    assert dict(x[0] for x in peer["subject"])["commonName"] == "mail.example.com"


def test_export_qmail_and_hashed_dir_with_openssl(tmp_path):
    s = Store(tmp_path / "st")
    s.ok("ca", "init", "--intermediate", "--key-type", "rsa:2048")
    s.ok("issue", "mail", "--dns", "mail.example.com", "--key-type", "rsa:2048")
    s.ok("export", "mail", "--for", "qmail", "--out", tmp_path / "q")
    pem = tmp_path / "q" / "servercert.pem"
    assert openssl("pkey", "-in", pem, "-pubout") == openssl("x509", "-in", pem, "-noout",
                                                             "-pubkey")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pem)
    handshake(server, ssl.create_default_context(cafile=str(s.path / "ca" / "root.pem")),
              "mail.example.com")
    # sendmail's CACERT_PATH: openssl finds the root and the intermediate by hash
    s.ok("export-ca", "--hashed", tmp_path / "h")
    cert = s.version_dir("mail") / "cert.pem"
    assert openssl("verify", "-CApath", tmp_path / "h", cert) == f"{cert}: OK\n"
    r = openssl("rehash", "-n", "-v", tmp_path / "h", check=False)
    assert r.returncode == 0


def test_outside_import_serves_tls(tmp_path):
    """A certificate from a CA made here with openssl, with its chain:
    imported, then served with the outside root as the client's anchor."""
    s = Store(tmp_path / "st")
    s.ok("ca", "init")
    o = tmp_path / "o"
    o.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", o / "root.key", "-out", o / "root.pem", "-subj",
            "/CN=Other Root", "-days", "100", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-x509", *ec, "-keyout", o / "int.key", "-out", o / "int.pem", "-subj",
            "/CN=Other Intermediate", "-days", "90", "-CA", o / "root.pem", "-CAkey",
            o / "root.key", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    csr = tmp_path / "m.csr"
    s.ok("csr", "mail", "--dns", "mail.example.com", "--out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", o / "int.pem", "-CAkey", o / "int.key",
            "-CAcreateserial", "-out", o / "mail.pem", "-days", "30", "-copy_extensions",
            "copy")
    assert "(CN=Other Intermediate) is neither in" in s.fails("import", "mail", "--cert",
                                                               o / "mail.pem")
    s.ok("import", "mail", "--cert", o / "mail.pem", "--chain", o / "int.pem", "--ca-file",
         o / "root.pem")
    d = s.version_dir("mail")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(d / "fullchain.pem", d / "key.pem")
    handshake(server, ssl.create_default_context(cafile=str(o / "root.pem")), "mail.example.com")
