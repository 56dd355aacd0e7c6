"""certwrapctl's verbs for outside CAs, revocation, monitoring and exports,
offline (--store): csr, import, sign, revoke, crl, check, export,
export-ca, ca import; what each prints and writes, and every refusal with
its message, its exit status and nothing written. What openssl makes of
the results is in test_certstore_interop.py.
"""
import json
import os
import re
import stat
import subprocess

import pytest

from certstore_util import Store, openssl, outside_ca


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    s.ok("ca", "init")
    return s


# --- csr and import --------------------------------------------------------------------------


def test_csr_and_import(store, tmp_path):
    sign, d = outside_ca(tmp_path)
    csr = tmp_path / "ext.csr"
    out = store.ok("csr", "ext", "--dns", "ext.example.com", "www.example.com", "--subject",
                   "/O=Example/CN=ext.example.com", "--out", csr)
    req = store.path / "certs" / "ext" / "request"
    assert out.splitlines() == [
        "ext: a new key and request for CN=ext.example.com, O=Example",
        f"  request  {csr}: send it to your CA",
        f"  key      {req}/key.pem: stays in the store",
        "then: certwrapctl import ext --cert CERT.pem --chain INTERMEDIATES.pem"]
    assert (req / "key.pem").stat().st_mode & 0o777 == 0o600
    assert csr.read_text() == (req / "csr.pem").read_text()
    # not replaced by accident
    err = store.fails("csr", "ext", "--dns", "ext.example.com")
    assert "is waiting for its certificate" in err and "--replace" in err
    cert = sign(csr, tmp_path / "ext.pem", ["ext.example.com", "www.example.com"])
    # seed 003: the intermediate bundle forgotten
    err = store.fails("import", "ext", "--cert", cert)
    assert err == f"certwrapctl: {cert}: incomplete chain: the issuer of CN=ext.example.com, " \
                  f"O=Example (CN=Outside Intermediate CA, O=Outside) is neither in {cert} " \
                  f"nor a trusted root: append that intermediate CA certificate to {cert} " \
                  "after the leaf (certwrapctl import: --chain FILE gives the intermediates, " \
                  "--ca-file FILE a root to trust)\n"
    assert not (store.path / "certs" / "ext" / "1").exists()
    out = store.ok("import", "ext", "--cert", cert, "--chain", d / "inter.pem", "--ca-file",
                   d / "root.pem")
    assert out.startswith("ext: imported: version 1 is current, serial ")
    assert not req.exists()
    [entry] = store.list()
    assert entry["issuer"] == "CN=Outside Intermediate CA, O=Outside"
    assert entry["status"] == "valid"
    assert store.meta("ext")["origin"] == "import"
    assert store.fails("renew", "ext").startswith(
        "certwrapctl: ext: version 1 came from an outside CA (certwrapctl import): renew it "
        "there")
    out = store.ok("renew", "--all")
    assert re.fullmatch(r"ext: from an outside CA \(CN=Outside Intermediate CA, O=Outside\): "
                        r"renew it there and import it, by \d{4}-\d\d-\d\d \(\d+ days left\)\n",
                        out)


def test_csr_to_stdout(store):
    status, out, err = store.ctl("csr", "a", "--dns", "a.example.com")
    assert status == 0
    assert out.startswith("-----BEGIN CERTIFICATE REQUEST-----\n")
    assert err.startswith("a: a new key and request for CN=a.example.com\n")


def test_import_with_a_key(store, tmp_path):
    sign, d = outside_ca(tmp_path)
    key, csr = tmp_path / "k.pem", tmp_path / "r.csr"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-subj", "/CN=b.example.com", "-out", csr)
    cert = sign(csr, tmp_path / "b.pem", ["b.example.com"])
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(cert.read_text() + (d / "inter.pem").read_text() +
                      (d / "root.pem").read_text())
    assert store.fails("import", "b", "--cert", bundle) == \
        f"certwrapctl: b: {bundle} fits neither the key of b's waiting request nor that of its " \
        "current version: give the key with --key FILE (the one the request was made with)\n"
    key.chmod(0o644)
    log = tmp_path / "hook.log"
    (store.path / "certstore.conf").write_text(f'[hooks]\ncommand = echo "$CERTWRAP_EVENT $1 '
                                               f'$2" >> {log}\n')
    out = store.ok("import", "b", "--cert", bundle, "--key", key)
    assert re.search(r"\nhook for b@1: exit 0 \(\d+\.\d s\)\n$", out)
    assert log.read_text() == "import b 1\n"
    # the root came with it: kept, not sent
    v = store.version_dir("b")
    assert (v / "chain.pem").read_text() == (d / "inter.pem").read_text()
    assert (v / "root.pem").read_text() == (d / "root.pem").read_text()
    assert (v / "key.pem").stat().st_mode & 0o777 == 0o600


# --- sign --------------------------------------------------------------------------------------


def test_sign(store, tmp_path):
    key, csr, out = tmp_path / "k.pem", tmp_path / "r.csr", tmp_path / "cert.pem"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-subj", "/CN=www.example.org", "-addext",
            "subjectAltName=DNS:www.example.org,DNS:example.org", "-out", csr)
    text = store.ok("sign", "--csr", csr, "--days", "30", "--out", out)
    serial = text.split("serial ")[1].split(" ")[0]
    assert text.splitlines()[1:] == [
        f"  certificate  {out}",
        f"  recorded     {store.path}/ca/newcerts/{serial}.pem"]
    assert out.stat().st_mode & 0o777 == 0o644
    assert "DNS:www.example.org, DNS:example.org" in openssl("x509", "-in", out, "-noout",
                                                             "-ext", "subjectAltName")
    assert store.index()[-1].serial == serial
    # to stdout, with the chain of an intermediate CA
    i = Store(tmp_path / "istore")
    i.ok("ca", "init", "--intermediate")
    status, pem, err = i.ctl("sign", "--csr", csr, "--fullchain")
    assert status == 0 and pem.count("BEGIN CERTIFICATE") == 2
    assert "(above) (with the intermediate after it)" in err


@pytest.mark.parametrize("args,message", [
    (["-newkey", "rsa:1024", "-subj", "/CN=old.example.org"], "the request's key (RSA 1024 "
     "bits) is too weak (at least 2048 bits for RSA): make a new key (RSA 2048 bits or more, or "
     "EC P-256) and a new request"),
    (["-newkey", "rsa:2048", "-md5", "-subj", "/CN=old.example.org"], "the request is signed "
     "with MD5 (md5WithRSAEncryption), which is refused: make it again with SHA-256 (openssl "
     "req -new -sha256, or default_md = sha256 in openssl.cnf)"),
    (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/O=Example"],
     "the request has no commonName, which certstore.conf [policy] says must be supplied"),
])
def test_sign_refused(store, tmp_path, args, message):
    csr = tmp_path / "r.csr"
    r = openssl("req", "-new", "-nodes", "-keyout", tmp_path / "k.pem", *args, "-out", csr,
                check=False)
    if r.returncode != 0:
        pytest.skip(f"this openssl will not make such a request: {r.stderr.strip()}")
    index = store.index()
    assert store.fails("sign", "--csr", csr, "--out", tmp_path / "c.pem") == \
        f"certwrapctl: {csr}: {message}\n"
    assert store.index() == index and not (tmp_path / "c.pem").exists()


def test_sign_policy_match(tmp_path):
    s = Store(tmp_path / "policy")
    s.ok("ca", "init", "--subject", "/C=US/ST=New York/O=The Sample Company/CN=Sample CA")
    conf = s.path / "certstore.conf"
    conf.write_text(conf.read_text().replace("countryName = optional", "countryName = match")
                    .replace("organizationName = optional", "organizationName = match"))
    csr = tmp_path / "r.csr"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", tmp_path / "k.pem", "-subj", "/C=US/O=Other Company/CN=mail.sample.com",
            "-out", csr)
    assert s.fails("sign", "--csr", csr) == \
        f"certwrapctl: {csr}: organizationName is \"Other Company\" in the request but \"The " \
        "Sample Company\" in the CA certificate, and certstore.conf [policy] says match: make " \
        "the request again with the CA's value\n"
    assert s.fails("sign", "--csr", tmp_path / "none.csr") == \
        f"certwrapctl: {tmp_path}/none.csr: cannot open: No such file or directory\n"


# --- revoke and crl --------------------------------------------------------------------------


def test_revoke_and_crl(store, tmp_path):
    store.ok("issue", "mail", "--dns", "mail.example.com")
    serial = store.meta("mail")["serial"]
    out = store.ok("revoke", "mail", "--reason", "keyCompromise")
    lines = out.splitlines()
    assert lines[0] == f"revoked: serial {serial} (/CN=mail.example.com), keyCompromise"
    assert re.fullmatch(r"crl: made number 01, 1 revoked, next update \d{4}-\d\d-\d\d \(made "
                        r"again from \d{4}-\d\d-\d\d\)", lines[1])
    assert lines[2] == f"  file  {store.path}/ca/crl.pem"
    [entry] = store.index()
    assert entry.status == "R" and entry.revoked.endswith(",keyCompromise")
    assert store.list()[0]["status"] == "revoked"
    assert store.fails("revoke", serial.lower()) == \
        f"certwrapctl: serial {serial} (/CN=mail.example.com) is already revoked " \
        f"({entry.revoked})\n"
    assert store.fails("revoke", "0ABC") == "certwrapctl: serial 0ABC is not in the index: " \
        "this store's CA did not issue it (certwrapctl list shows the serials of the names)\n"
    assert store.fails("revoke", "mail", "--reason", "bored").startswith(
        'certwrapctl: revocation reason "bored" is not one of unspecified, keyCompromise')
    out = store.ok("crl", "--if-due")
    assert out.startswith("crl: not due: number 01, 1 revoked")
    copy = tmp_path / "copy.crl"
    out = store.ok("crl", "--out", copy)
    assert out.startswith("crl: made number 02, 1 revoked")
    assert out.endswith(f"  copy  {copy}\n")
    assert copy.read_text() == (store.path / "ca" / "crl.pem").read_text()
    doc = json.loads(store.ok("crl", "--json"))
    assert doc["records"][0]["crl_number"] == "03"


def test_revoke_with_an_encrypted_key(tmp_path):
    s = Store(tmp_path / "enc")
    good = tmp_path / "pass"
    good.write_text("s3cret\n")
    s.ok("ca", "init", "--passphrase-file", good)
    s.ok("issue", "mail", "--dns", "mail.example.com", "--passphrase-file", good)
    key = s.path / "ca" / "private" / "cakey.pem"
    assert s.fails("revoke", "mail") == f"certwrapctl: {key}: the CA key is encrypted: give " \
        "its passphrase (certwrapctl: --passphrase-file FILE or --passphrase-prompt)\n"
    assert s.index()[0].status == "V"
    s.ok("revoke", "mail", "--passphrase-file", good)
    assert s.index()[0].status == "R"


# --- check ---------------------------------------------------------------------------------------


def test_check(store):
    status, out, err = store.ctl("check")
    assert (status, err) == (0, "")
    assert out == "CERTWRAP OK - no certificates yet; CA fine | certificates=0 critical=0 " \
                  "warning=0\n"
    store.ok("issue", "mail", "--dns", "mail.example.com", "--days", "20")
    store.ok("issue", "imap", "--dns", "imap.example.com", "--days", "5")
    status, out, _ = store.ctl("check", "--warn", "30d", "--crit", "7d")
    assert status == 2
    # (days left drop by one a second after the issue)
    assert re.fullmatch(r"CERTWRAP CRITICAL - imap: expires \d{4}-\d\d-\d\d \(in [45] days\); "
                        r"mail: expires \d{4}-\d\d-\d\d \(in (19|20) days\) \| certificates=2 "
                        r"critical=1 warning=1\n", out)
    status, out, _ = store.ctl("check", "--warn", "3d", "--crit", "1d")
    assert status == 0 and re.match(r"CERTWRAP OK - 2 certificates, CA and CRL fine; next "
                                    r"to expire: imap in [45] days", out)
    status, out, _ = store.ctl("check", "--warn", "25d", "--crit", "2d")
    assert status == 1 and out.startswith("CERTWRAP WARNING - imap: expires")
    key = store.version_dir("mail") / "key.pem"
    key.chmod(0o640)
    status, out, _ = store.ctl("check", "--warn", "1d", "--crit", "1d")
    assert status == 2
    assert f"mail: {key}: the private key may be read by its group (mode 0640)" in out
    status, out, _ = store.ctl("check", "--warn", "1d", "--crit", "1d", "--json")
    doc = json.loads(out)
    assert status == 2 and doc["exit"] == 2 and doc["state"] == "CRITICAL"
    assert doc["records"][0]["what"] == "mail"


def test_check_unknown(tmp_path):
    """Nagios: what keeps check from judging is UNKNOWN (3)."""
    s = Store(tmp_path / "missing")
    status, out, err = s.ctl("check")
    assert status == 3
    assert out == f"CERTWRAP UNKNOWN - {s.path}: no such directory: make a store there with " \
                  f"certwrapctl --store {s.path} ca init\n"
    status, _, err = s.ctl("check", "--warn", "soon")
    assert status == 3 and "--warn: expected a duration" in err
    status, _, err = s.ctl("check", "--warn", "1d", "--crit", "2d")
    assert status == 3


# --- export and export-ca --------------------------------------------------------------------------

DAEMONS = {
    "postfix": [("postfix.pem", 0o600, ("key", "cert", "chain"))],
    "dovecot": [("fullchain.pem", 0o644, ("cert", "chain")), ("key.pem", 0o600, ("key",))],
    "exim": [("fullchain.pem", 0o644, ("cert", "chain")), ("key.pem", 0o600, ("key",))],
    "courier": [("courier.pem", 0o600, ("key", "cert", "chain"))],
    "stunnel": [("stunnel.pem", 0o600, ("cert", "chain", "key"))],
}


@pytest.fixture
def istore(tmp_path):
    s = Store(tmp_path / "istore")
    s.ok("ca", "init", "--intermediate")
    s.ok("issue", "mail", "--dns", "mail.example.com")
    s.ok("issue", "rsa", "--dns", "rsa.example.com", "--key-type", "rsa:2048")
    return s


@pytest.mark.parametrize("daemon", sorted(DAEMONS))
def test_export_for(istore, tmp_path, daemon):
    out_dir = tmp_path / daemon
    out = istore.ok("export", "mail", "--for", daemon, "--out", out_dir)
    v = istore.version_dir("mail")
    for name, mode, parts in DAEMONS[daemon]:
        f = out_dir / name
        assert f"wrote {f} (mode {mode:04o})" in out
        assert stat.S_IMODE(f.stat().st_mode) == mode
        assert f.read_text() == "".join((v / f"{p}.pem").read_text() for p in parts)
    assert sorted(os.listdir(out_dir)) == sorted(n for n, _, _ in DAEMONS[daemon])


def test_export_qmail(istore, tmp_path):
    err = istore.fails("export", "mail", "--for", "qmail", "--out", tmp_path / "q")
    assert err == "certwrapctl: mail@1: qmail loads RSA keys only, and this key is EC P-256: " \
                  "make an RSA one for qmail (certwrapctl renew mail --key-type rsa:2048, or " \
                  "issue another name with it)\n"
    assert not (tmp_path / "q").exists()
    out = istore.ok("export", "rsa", "--for", "qmail", "--out", tmp_path / "q")
    f = tmp_path / "q" / "servercert.pem"
    assert stat.S_IMODE(f.stat().st_mode) == 0o400
    assert f.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert "owned by the qmail user (--owner qmaild)" in out


def test_export_sendmail_and_owner(istore, tmp_path):
    d = tmp_path / "sm"
    out = istore.ok("export", "mail", "--for", "sendmail", "--out", d, "--owner", "nobody",
                    "--group", "nogroup")
    assert sorted(p.name for p in d.iterdir()) == ["ca.pem", "cacerts", "cert.pem", "key.pem"]
    [hashed] = list((d / "cacerts").iterdir())
    assert re.fullmatch(r"[0-9a-f]{8}\.0", hashed.name)
    assert hashed.read_text() == (istore.path / "ca" / "root.pem").read_text()
    assert (d / "key.pem").stat().st_uid == 65534
    assert f"confCACERT_PATH {d}/cacerts" in out
    # again: the same certificate keeps its hashed name
    out = istore.ok("export", "mail", "--for", "sendmail", "--out", d)
    assert f"kept  {hashed} (mode 0644)" in out
    assert len(list((d / "cacerts").iterdir())) == 1


@pytest.mark.parametrize("args,message", [
    (["--for", "outlook", "--out", "x"], 'export: "outlook" is not a daemon or format '
     "certwrapctl exports for: use postfix, dovecot, exim, courier, qmail, sendmail or stunnel, "
     "or separate, fullchain, combined or pkcs12"),
    (["--for", "pkcs12", "--out", "x"], "export: --for pkcs12: pkcs12 is a format: give "
     "--format pkcs12"),
    (["--format", "postfix", "--out", "x"], "export: --format postfix: postfix is a daemon: give "
     "--for postfix"),
    (["--for", "postfix"], "export: give the directory to write to with --out DIR"),
    (["--out", "x"], "export: give --for DAEMON or --format FORMAT"),
])
def test_export_usage(istore, args, message):
    assert istore.fails("export", "mail", *args, status=2).splitlines()[0] == \
        f"certwrapctl: {message}"


def test_export_refusals_write_nothing(istore, tmp_path):
    d = tmp_path / "none"
    assert istore.fails("export", "mail", "--for", "postfix", "--out", d, "--owner",
                        "no-such-user") == "certwrapctl: --owner no-such-user: no such user\n"
    assert not d.exists()
    assert istore.fails("export", "nosuch", "--for", "postfix", "--out", d).startswith(
        "certwrapctl: cannot export nosuch: nosuch: no such certificate")
    assert not d.exists()
    # an invalid version is not exported
    (istore.version_dir("mail") / "key.pem").chmod(0o644)
    assert "the private key may be read by every user" in \
        istore.fails("export", "mail", "--for", "postfix", "--out", d)
    assert not d.exists()


def test_export_formats(istore, tmp_path):
    istore.ok("export", "mail", "--format", "separate", "--out", tmp_path / "s")
    assert sorted(os.listdir(tmp_path / "s")) == ["cert.pem", "chain.pem", "key.pem"]
    istore.ok("export", "mail", "--format", "combined", "--out", tmp_path / "c")
    assert stat.S_IMODE((tmp_path / "c" / "combined.pem").stat().st_mode) == 0o600
    pw = tmp_path / "pw"
    pw.write_text("export me\n")
    istore.ok("export", "mail", "--format", "pkcs12", "--out", tmp_path / "p",
              "--passphrase-file", pw)
    info = openssl("pkcs12", "-in", tmp_path / "p" / "mail.p12", "-passin", "pass:export me",
                   "-nodes")
    assert "BEGIN PRIVATE KEY" in info and info.count("BEGIN CERTIFICATE") == 2


def _tree(d):
    """Every file under d: relative name -> (mode, bytes)."""
    return {str(f.relative_to(d)): (stat.S_IMODE(f.stat().st_mode), f.read_bytes())
            for f in sorted(d.rglob("*")) if f.is_file()}


def test_exports_are_kept_in_the_version_directory(istore, tmp_path):
    v = istore.version_dir("mail")
    assert not (v / "export").exists()
    for fmt in ("postfix", "sendmail"):
        out = istore.ok("export", "mail", "--for", fmt, "--out", tmp_path / fmt)
        kept = v / "export" / fmt
        assert f"the store keeps a copy in {kept}\n" in out
        # the same files, modes and bytes as written for the daemon
        assert _tree(kept) == _tree(tmp_path / fmt)
    assert sorted(os.listdir(v / "export")) == ["postfix", "sendmail"]
    # written once: exporting again neither changes nor adds anything
    before = {p: p.stat().st_mtime_ns for p in (v / "export").rglob("*")}
    istore.ok("export", "mail", "--for", "postfix", "--out", tmp_path / "again")
    assert {p: p.stat().st_mtime_ns for p in (v / "export").rglob("*")} == before
    assert _tree(tmp_path / "again") == _tree(v / "export" / "postfix")
    # a renewal's exports go to its own version; the old version's stay for a rollback
    istore.ok("renew", "mail")
    v2 = istore.version_dir("mail")
    assert v2 != v and not (v2 / "export").exists()
    istore.ok("export", "mail", "--for", "postfix", "--out", tmp_path / "v2")
    assert _tree(v2 / "export" / "postfix") == _tree(tmp_path / "v2")
    assert _tree(v / "export" / "postfix") != _tree(v2 / "export" / "postfix")
    status, out, _ = istore.ctl("check")
    assert status == 0, out


def test_a_kept_pkcs12_is_the_same_file_and_keeps_its_passphrase(istore, tmp_path):
    pw, other = tmp_path / "pw", tmp_path / "other"
    pw.write_text("export me\n")
    other.write_text("something else\n")
    for d in ("p1", "p2"):
        istore.ok("export", "mail", "--format", "pkcs12", "--out", tmp_path / d,
                  "--passphrase-file", pw)
    # its salt is random, yet a second export is byte for byte the first
    assert (tmp_path / "p1" / "mail.p12").read_bytes() == \
        (tmp_path / "p2" / "mail.p12").read_bytes() == \
        (istore.version_dir("mail") / "export" / "pkcs12" / "mail.p12").read_bytes()
    err = istore.fails("export", "mail", "--format", "pkcs12", "--out", tmp_path / "p3",
                       "--passphrase-file", other)
    assert "pkcs12/mail.p12 was exported before with another passphrase: give the same " \
           "passphrase" in err, err
    assert not (tmp_path / "p3").exists()


def test_export_ca(istore, tmp_path):
    out = istore.ok("export-ca", "--hashed", tmp_path / "h")
    names = sorted(os.listdir(tmp_path / "h"))
    assert len(names) == 2 and all(re.fullmatch(r"[0-9a-f]{8}\.0", n) for n in names)
    assert f"confCACERT_PATH {tmp_path}/h" in out
    istore.ok("export-ca", "--out", tmp_path / "o")
    assert sorted(os.listdir(tmp_path / "o")) == ["chain.pem", "root.pem"]
    assert istore.fails("export-ca", status=2).startswith("certwrapctl: export-ca: give "
                                                          "--hashed DIR")


# --- ca import ---------------------------------------------------------------------------------------


def test_ca_import_refusals(tmp_path):
    src = tmp_path / "CA"
    (src / "private").mkdir(parents=True)
    s = Store(tmp_path / "store")
    assert s.fails("ca", "import", src) == f"certwrapctl: {src}/cacert.pem: cannot open: No " \
                                           "such file or directory\n"
    assert not s.path.exists() or not (s.path / "ca").exists()
    assert s.fails("ca", "import", status=2).startswith("certwrapctl: ca import: missing DIR")
