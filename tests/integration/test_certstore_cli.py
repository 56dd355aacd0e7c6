"""certwrapctl's offline verbs on a real store: ca init, issue, renew,
rollback, list, show, hooks, passphrases, and every refusal with its exact
message and exit status (0 done, 1 failed, 2 usage).

Each test gets a fresh store (an EC root CA made by `ca init`, tens of
milliseconds); what the certificates say is checked with the openssl CLI in
test_certstore_interop.py.
"""
import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

from conftest import CERTWRAPCTL, _env, run_ctl
from certstore_util import Store, check_consistent, openssl

PROMPT_TIMEOUT_S = 20


@pytest.fixture
def store(tmp_path):
    """A store with a root CA (ec:P-256, the defaults)."""
    s = Store(tmp_path / "store")
    s.ok("ca", "init")
    return s


@pytest.fixture
def istore(tmp_path):
    """A store whose intermediate CA signs."""
    s = Store(tmp_path / "istore")
    s.ok("ca", "init", "--subject", "/O=Example/CN=Example Root CA", "--intermediate")
    return s


def usage_line(verb):
    status, out, _ = run_ctl(*verb.split(), "--help")
    assert status == 0
    return out.splitlines()[0]


# --- usage errors: exit 2, the verb's synopsis --------------------------------------------------

USAGE_CASES = [
    # (argv, first line of stderr, second line: "verb" for its synopsis, or "general")
    (["isue"], 'certwrapctl: unknown verb "isue" (did you mean issue?)', "general"),
    (["frobnicate"], 'certwrapctl: unknown verb "frobnicate" (certwrapctl --help lists them)',
     "general"),
    (["ca"], "certwrapctl: ca needs a word: ca init or ca import", "general"),
    (["ca", "export", "x"], "certwrapctl: ca export: unknown (ca init or ca import)",
     "general"),
    (["--bogus", "list"], "certwrapctl: unknown option --bogus before the verb (see "
     "certwrapctl --help)", "general"),
    # store.ctl gives --store: with -s as well, the two contradict each other
    (["-s", "/run/certwrap.sock", "list"], "certwrapctl: give --store DIR (the store itself) "
     "or -s SOCKET (certwrapd), not both", "general"),
    (["status"], "certwrapctl: status: asks the running certwrapd: give -s SOCKET (or nothing, "
     "for /run/certwrap/certwrapd.sock), not --store", "status"),
    (["--store"], "certwrapctl: --store needs a directory", "general"),
    (["issue"], "certwrapctl: issue: missing NAME", "issue"),
    (["issue", "x"], "certwrapctl: issue: give at least one --dns HOST or --ip ADDR", "issue"),
    (["issue", "x", "--dsn", "a"], "certwrapctl: issue: unknown option --dsn (did you mean "
     "--dns?)", "issue"),
    (["issue", "x", "--dns"], "certwrapctl: issue: --dns needs a value (HOST)", "issue"),
    (["issue", "x", "--dns="], "certwrapctl: issue: --dns needs a non-empty HOST", "issue"),
    (["issue", "x", "y", "--dns", "a"], 'certwrapctl: issue: unexpected argument "y"', "issue"),
    (["issue", "x", "--dns", "a", "--days", "0"], 'certwrapctl: issue: --days: expected a '
     'number of days from 1 to 36500, got "0"', "issue"),
    (["issue", "x", "--dns", "a", "--days", "3", "--days", "4"],
     "certwrapctl: issue: --days given twice", "issue"),
    (["issue", "x", "--dns", "a", "--key-type", "dsa"], 'certwrapctl: issue: --key-type: key '
     'type "dsa" is not one of rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ed25519',
     "issue"),
    (["issue", "x", "--client=yes", "--dns", "a"], "certwrapctl: issue: --client takes no "
     "value", "issue"),
    (["issue", "x", "--dns", "a", "--passphrase-file", "f", "--passphrase-prompt"],
     "certwrapctl: issue: give --passphrase-file or --passphrase-prompt, not both", "issue"),
    (["renew"], "certwrapctl: renew: give either a NAME or --all", "renew"),
    (["renew", "x", "--all"], "certwrapctl: renew: give either a NAME or --all", "renew"),
    (["renew", "x", "--before", "3y"], 'certwrapctl: renew: --before: expected a duration '
     'such as 30d, 12h or 2w, got "3y"', "renew"),
    (["rollback"], "certwrapctl: rollback: missing NAME", "rollback"),
    (["list", "extra"], 'certwrapctl: list: unexpected argument "extra"', "list"),
    (["show", "x", "--version", "0"], 'certwrapctl: show: --version: expected a version '
     'number, got "0"', "show"),
    (["ca", "init", "--intermediate-subject", "/CN=x"], "certwrapctl: ca init: "
     "--intermediate-subject needs --intermediate", "ca init"),
    (["ca", "import"], "certwrapctl: ca import: missing DIR", "ca import"),
    (["csr", "x"], "certwrapctl: csr: give at least one --dns HOST or --ip ADDR", "csr"),
    (["import", "x"], "certwrapctl: import: give the certificate with --cert FILE", "import"),
    (["sign"], "certwrapctl: sign: give the request with --csr FILE", "sign"),
    (["sign", "--csr", "r.csr", "--days", "0"], 'certwrapctl: sign: --days: expected a number '
     'of days from 1 to 36500, got "0"', "sign"),
    (["revoke"], "certwrapctl: revoke: missing NAME or SERIAL", "revoke"),
    (["crl", "now"], 'certwrapctl: crl: unexpected argument "now"', "crl"),
    (["export", "x", "--for", "postfix"], "certwrapctl: export: give the directory to write to "
     "with --out DIR", "export"),
    (["export-ca", "--hashed", "a", "--out", "b"], "certwrapctl: export-ca: give --hashed DIR "
     "(a hashed CA directory) or --out DIR (root.pem and chain.pem)", "export-ca"),
]


@pytest.mark.parametrize("argv,first,second", USAGE_CASES,
                         ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_usage_errors(store, argv, first, second):
    status, out, err = store.ctl(*argv)
    assert status == 2, err
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == first
    if second == "general":
        assert lines[1] == "usage: certwrapctl [--store DIR | -s SOCKET] VERB [ARGS...] " \
                           "(certwrapctl --help lists the verbs)"
    else:
        assert lines[1] == usage_line(second)
    assert len(lines) == 2
    # a usage error changes nothing
    assert store.names() == []


def test_help():
    status, out, err = run_ctl("--help")
    assert status == 0 and err == ""
    assert out.startswith("usage: certwrapctl [--store DIR | -s SOCKET] VERB [ARGS...]\n")
    for verb in ("ca init", "ca import DIR", "issue NAME", "csr NAME", "import NAME",
                 "sign --csr", "renew NAME", "rollback NAME", "revoke NAME", "crl", "list",
                 "show NAME", "check", "export NAME", "export-ca", "status", "stats",
                 "swap SERVICE", "reload"):
        assert f"\n  {verb}" in out
    status, out, _ = run_ctl("issue", "--help")
    assert status == 0
    assert out.startswith("usage: certwrapctl [--store DIR | -s SOCKET] issue NAME --dns "
                          "HOST... ")
    assert run_ctl("ca", "init", "--help")[1].startswith("usage: certwrapctl [--store DIR] ca "
                                                         "init ")
    assert run_ctl("status", "--help")[1].startswith("usage: certwrapctl [-s SOCKET] status ")
    status, out, err = run_ctl()
    assert status == 2 and out == "" and err.startswith("usage: certwrapctl")
    assert run_ctl("--version")[1] == "certwrapctl 0.1.0\n"


# --- finding the store -------------------------------------------------------------------------


def test_store_from_environment(store, tmp_path):
    # no certwrapd socket there, so the verb runs on the store
    env = dict(_env(), CERTWRAP_STORE=str(store.path),
               CERTWRAP_SOCKET=str(tmp_path / "no-such.sock"))
    r = subprocess.run([str(CERTWRAPCTL), "list"], capture_output=True, text=True, env=env,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert "no certificates yet" in r.stdout
    # --store wins over the environment
    env["CERTWRAP_STORE"] = str(tmp_path / "elsewhere")
    r = subprocess.run([str(CERTWRAPCTL), "--store", str(store.path), "list"],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr


def test_not_a_store(tmp_path):
    missing = tmp_path / "missing"
    s = Store(missing)
    assert s.fails("list") == f"certwrapctl: {missing}: no such directory: make a store there " \
                              f"with certwrapctl --store {missing} ca init\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert Store(empty).fails("issue", "a", "--dns", "a.example") == \
        f"certwrapctl: {empty}: not a certificate store (no ca/cacert.pem): make one with " \
        f"certwrapctl --store {empty} ca init\n"


def test_bad_store_config(store):
    (store.path / "certstore.conf").write_text("[defaults]\nkeytype = rsa\n")
    assert store.fails("list") == f"certwrapctl: {store.path}/certstore.conf:2: keytype: " \
                                  "unknown option in [defaults] (did you mean key_type?)\n"


# --- ca init --------------------------------------------------------------------------------------


def test_ca_init(tmp_path):
    s = Store(tmp_path / "new")
    out = s.ok("ca", "init", "--subject", "/O=Example/CN=Example Mail CA", "--days", "100")
    lines = out.splitlines()
    assert lines[0] == f"{s.path}: new CA"
    assert re.fullmatch(r"  root          CN=Example Mail CA, O=Example, EC P-256, expires "
                        r"\d{4}-\d\d-\d\d \((99|100) days\)", lines[1])
    assert lines[2] == f"  trust anchor  {s.path}/ca/root.pem: give it to the clients"
    assert (s.path / "ca" / "private" / "cakey.pem").stat().st_mode & 0o777 == 0o600
    assert (s.path / "ca" / "private").stat().st_mode & 0o777 == 0o700
    assert (s.path / "ca" / "index.txt").read_text() == ""
    assert "key_type = ec:P-256" in (s.path / "certstore.conf").read_text()
    # once only
    err = s.fails("ca", "init")
    assert err == f"certwrapctl: {s.path}: already has a CA ({s.path}/ca/cacert.pem): nothing " \
                  "was changed; to start over, move the directory away first\n"


def test_ca_init_intermediate(tmp_path):
    s = Store(tmp_path / "inter")
    out = s.ok("ca", "init", "--intermediate", "--key-type", "ec:P-384")
    assert "  root          CN=certwrap Root CA, EC P-384, expires" in out
    assert "  intermediate  CN=certwrap Intermediate CA, EC P-384, expires" in out
    chain = (s.path / "ca" / "chain.pem").read_text()
    assert chain == (s.path / "ca" / "cacert.pem").read_text()
    assert (s.path / "ca" / "private" / "rootkey.pem").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("args,message", [
    (["--subject", "CN=x"], 'CA subject "CN=x": expected /TYPE=value/..., as openssl req '
     '-subj, e.g. /O=Example/CN=Example Mail CA'),
    (["--subject", "/FOO=x"], 'CA subject "/FOO=x": unknown attribute type "FOO" (use C, ST, '
     'L, O, OU, CN or emailAddress)'),
    (["--intermediate", "--subject", "/CN=A", "--intermediate-subject", "/CN=A"],
     "the intermediate CA's subject is the root's: give them different names"),
])
def test_ca_init_refused(tmp_path, args, message):
    s = Store(tmp_path / "refused")
    assert s.fails("ca", "init", *args) == f"certwrapctl: {message}\n"
    assert not (s.path / "ca").exists()


# --- issue --------------------------------------------------------------------------------------------


def test_issue(store):
    out = store.ok("issue", "mail", "--dns", "mail.example.com", "imap.example.com", "--ip",
                   "192.0.2.1", "--dns", "pop.example.com")
    serial = store.meta("mail")["serial"]
    d = store.version_dir("mail", 1)
    assert out.splitlines() == [
        f"mail: issued: version 1 is current, serial {serial}, expires "
        f"{out.split('expires ')[1].split(' ')[0]} (365 days)",
        f"  key        {d}/key.pem",
        f"  cert       {d}/cert.pem",
        f"  chain      {d}/chain.pem",
        f"  fullchain  {d}/fullchain.pem",
    ]
    assert store.current("mail") == 1
    assert store.meta("mail")["dns"] == ["mail.example.com", "imap.example.com",
                                         "pop.example.com"]
    assert store.meta("mail")["ip"] == ["192.0.2.1"]
    assert (d / "key.pem").stat().st_mode & 0o777 == 0o600
    assert [e.serial for e in store.index()] == [serial]
    assert (store.path / "ca" / "newcerts" / f"{serial}.pem").read_text() == \
        (d / "cert.pem").read_text()


def test_issue_options(store):
    store.ok("issue", "relay", "--ip", "192.0.2.7", "--days", "10", "--key-type", "rsa:2048",
             "--client")
    m = store.meta("relay")
    assert (m["days"], m["key_type"], m["client"]) == ("10", "rsa:2048", "yes")
    text = openssl("x509", "-in", store.version_dir("relay") / "cert.pem", "-noout", "-text")
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    assert "Public-Key: (2048 bit)" in text


@pytest.mark.parametrize("args,message", [
    (["../etc", "--dns", "a.example"], '"../etc" is not a valid certificate name: use letters, '
     "digits, '.', '-' and '_' (at most 64, starting with a letter or digit)"),
    (["x", "--dns", "a_b.example"], 'DNS name "a_b.example" is not valid: use letters, digits, '
     "'-' and '.' only"),
    (["x", "--dns", "192.0.2.1"], 'DNS name "192.0.2.1" is not valid: an IP address: give it '
     "with --ip"),
    (["x", "--ip", "192.0.2.256"], 'IP address "192.0.2.256" is not valid: write an IPv4 '
     "address (192.0.2.1) or an IPv6 address (2001:db8::1), without a prefix length or zone"),
])
def test_issue_refused(store, args, message):
    assert store.fails("issue", *args) == f"certwrapctl: {message}\n"
    assert store.index() == []
    assert store.names() == []


def test_issue_existing_name(store):
    store.ok("issue", "mail", "--dns", "mail.example.com")
    assert store.fails("issue", "mail", "--dns", "other.example.com") == \
        "certwrapctl: mail: already exists (version 1 is current): renew it with certwrapctl " \
        "renew mail, or choose another name\n"
    assert len(store.index()) == 1


@pytest.mark.parametrize("key_type,describe", [
    ("rsa:2048", "RSA 2048 bits"), ("rsa:3072", "RSA 3072 bits"), ("rsa:4096", "RSA 4096 bits"),
    ("ec:P-256", "EC P-256"), ("ec:P-384", "EC P-384"), ("ed25519", "Ed25519"),
])
def test_key_types(store, key_type, describe):
    store.ok("issue", "k", "--dns", "k.example.com", "--key-type", key_type)
    [entry] = store.list()
    assert entry["key"] == describe
    assert entry["status"] == "valid"


# --- renew and rollback -----------------------------------------------------------------------------


def test_renew(store):
    store.ok("issue", "mail", "--dns", "mail.example.com", "--days", "90")
    out = store.ok("renew", "mail")
    assert out.startswith("mail: renewed: version 2 is current (was 1), serial ")
    assert "(90 days)" in out.splitlines()[0]
    v1, v2 = store.version_dir("mail", 1), store.version_dir("mail", 2)
    assert (v1 / "key.pem").read_text() != (v2 / "key.pem").read_text()
    assert store.meta("mail", 2)["dns"] == ["mail.example.com"]
    store.ok("renew", "mail", "--reuse-key", "--days", "30")
    assert (store.version_dir("mail", 3) / "key.pem").read_text() == (v2 / "key.pem").read_text()
    assert store.meta("mail", 3)["days"] == "30"
    assert store.versions("mail") == [1, 2, 3]
    check_consistent(store)


def test_renew_when_due(store):
    store.ok("issue", "a", "--dns", "a.example.com", "--days", "365")
    store.ok("issue", "b", "--dns", "b.example.com", "--days", "20")
    # a NAME with --before renews only when due
    out = store.ok("renew", "a", "--before", "30d")
    assert re.fullmatch(r"a: not due until \d{4}-\d\d-\d\d\n", out)
    assert store.current("a") == 1
    out = store.ok("renew", "--all", "--before", "30d")
    assert re.match(r"a: not due until \d{4}-\d\d-\d\d\nb: renewed: version 2 is current "
                    r"\(was 1\)", out)
    assert (store.current("a"), store.current("b")) == (1, 2)
    # by the default rule (a third of the lifetime left) nothing is due
    out = store.ok("renew", "--all")
    assert [line.split(":")[0] for line in out.splitlines()] == ["a", "b"]
    assert all("not due until" in line for line in out.splitlines())


def test_renew_refused(store):
    assert store.fails("renew", "nosuch") == f"certwrapctl: nosuch: no such certificate in " \
                                             f"{store.path} (certwrapctl list shows the names)\n"
    store.ok("issue", "e", "--dns", "e.example.com", "--key-type", "ed25519")
    assert store.fails("renew", "e", "--reuse-key", "--key-type", "rsa:2048") == \
        "certwrapctl: e: reusing the key keeps its type (ed25519), which is not rsa:2048: " \
        "renew without reusing the key to change it\n"


def test_renew_all_reports_failures(store):
    store.ok("issue", "a", "--dns", "a.example.com")
    store.ok("issue", "b", "--dns", "b.example.com")
    (store.version_dir("a") / "meta").write_text("garbage\n")     # damaged by hand
    status, out, err = store.ctl("renew", "--all", "--before", "400d")
    assert status == 1
    assert "b: renewed: version 2 is current (was 1)" in out
    assert err.splitlines()[-1] == "certwrapctl: renew --all: 1 of 2 failed (see above)"
    assert store.current("b") == 2 and store.current("a") == 1


def test_rollback(store):
    store.ok("issue", "mail", "--dns", "mail.example.com")
    assert store.fails("rollback", "mail") == "certwrapctl: mail: version 1 is its first: " \
                                              "there is nothing to roll back to\n"
    store.ok("renew", "mail")
    serial1 = store.meta("mail", 1)["serial"]
    out = store.ok("rollback", "mail")
    assert out.startswith(f"mail: rolled back: version 1 is current (was 2), serial {serial1}, ")
    assert store.current("mail") == 1
    store.ok("renew", "mail")
    assert store.current("mail") == 3


def test_rollback_refuses_an_invalid_version(store):
    store.ok("issue", "mail", "--dns", "mail.example.com")
    store.ok("renew", "mail")
    key = store.version_dir("mail", 1) / "key.pem"
    key.chmod(0o644)
    assert store.fails("rollback", "mail") == f"certwrapctl: cannot roll back mail to version " \
        f"1: {key}: the private key may be read by every user (mode 0644): chmod 600 {key}\n"
    assert store.current("mail") == 2


# --- list and show ----------------------------------------------------------------------------------


def test_list(istore):
    assert istore.ok("list") == f"{istore.path}: no certificates yet (certwrapctl issue NAME " \
                                "--dns HOST)\n"
    assert istore.list() == []
    istore.ok("issue", "mail", "--dns", "mail.example.com", "--ip", "192.0.2.1")
    istore.ok("issue", "imap", "--dns", "imap.example.com")
    lines = istore.ok("list").splitlines()
    assert re.fullmatch(r"NAME  VERSION  SERIAL +NOT AFTER   DAYS  STATUS  ISSUER +SANS",
                        lines[0])
    assert re.fullmatch(r"imap  1        [0-9A-F]{32}  \d{4}-\d\d-\d\d  36[45]   valid   "
                        r"CN=Example Intermediate CA, O=Example  DNS:imap.example.com", lines[1])
    assert lines[2].startswith("mail  1 ")
    assert lines[2].endswith("  DNS:mail.example.com, IP:192.0.2.1")
    entries = istore.list()
    assert [e["name"] for e in entries] == ["imap", "mail"]
    mail = entries[1]
    assert mail["sans"] == ["DNS:mail.example.com", "IP:192.0.2.1"]
    assert mail["serial"] == istore.meta("mail")["serial"]
    assert mail["status"] == "valid" and mail["problem"] is None
    assert mail["issuer"] == "CN=Example Intermediate CA, O=Example"
    assert mail["chain"][0]["subject"] == "CN=Example Intermediate CA, O=Example"
    assert mail["days_left"] in (364, 365) and mail["version"] == 1 and mail["current"]


def test_list_shows_problems(store):
    store.ok("issue", "mail", "--dns", "mail.example.com")
    key = store.version_dir("mail") / "key.pem"
    key.chmod(0o640)
    status, out, err = store.ctl("list")
    assert status == 0, err
    assert "  invalid  " in out
    [entry] = store.list()
    assert entry["status"] == "invalid"
    assert entry["problem"] == f"{key}: the private key may be read by its group (mode 0640): " \
                               f"chmod 600 {key}"


def test_show_matches_openssl(istore):
    istore.ok("issue", "mail", "--dns", "mail.example.com", "--ip", "2001:db8::1", "--client")
    cert = istore.version_dir("mail") / "cert.pem"
    out = istore.ok("show", "mail")
    ref = openssl("x509", "-in", cert, "-noout", "-subject", "-issuer", "-dates",
                  "-fingerprint", "-sha256", "-serial")
    for line in ref.splitlines():
        assert f"\n{line}\n" in out, f"{line!r} not in show's output:\n{out}"
    assert out.startswith("name=mail\nversion=1 (current, 1 version)\n")
    assert "\nSANs=DNS:mail.example.com, IP:2001:db8::1\n" in out
    assert "\nusage=serverAuth, clientAuth\n" in out
    assert re.search(r"\nstatus=valid \(36[45] days left, renewal due \d{4}-\d\d-\d\d\)\n", out)
    assert "\nchain:\n  0 s:CN=mail.example.com\n    i:CN=Example Intermediate CA, O=Example\n" \
           "  1 s:CN=Example Intermediate CA, O=Example\n    i:CN=Example Root CA, O=Example\n" \
           in out
    assert f"\n  csr        {istore.version_dir('mail')}/csr.pem\n" in out


def test_show_versions_and_json(store):
    store.ok("issue", "mail", "--dns", "mail.example.com")
    store.ok("renew", "mail")
    out = store.ok("show", "mail", "--version", "1")
    assert out.startswith("name=mail\nversion=1 (not current, 2 versions)\n")
    shown = json.loads(store.ok("show", "mail", "--json"))
    assert shown["version"] == 2 and shown["versions"] == 2 and shown["current"]
    assert shown["serial"] == store.meta("mail", 2)["serial"]
    assert store.fails("show", "mail", "--version", "9") == \
        "certwrapctl: mail: there is no version 9 (certwrapctl show mail lists them)\n"
    assert store.fails("show", "nosuch") == f"certwrapctl: nosuch: no such certificate in " \
                                            f"{store.path} (certwrapctl list shows the names)\n"


# --- hooks ----------------------------------------------------------------------------------------------


def set_hook(store, command, timeout=None):
    text = f"[hooks]\ncommand = {command}\n"
    if timeout is not None:
        text += f"timeout = {timeout}\n"
    (store.path / "certstore.conf").write_text(text)


def test_hook_runs_after_every_change(store, tmp_path):
    log = tmp_path / "hook.log"
    set_hook(store, f'echo "$CERTWRAP_EVENT $1 $2 $CERTWRAP_PREVIOUS_VERSION $CERTWRAP_CERT" '
                    f'>> {log}; echo reloaded')
    out = store.ok("issue", "mail", "--dns", "mail.example.com")
    assert re.search(r"\nhook for mail@1: exit 0 \(\d+\.\d s\)\nreloaded\n$", out)
    store.ok("renew", "mail")
    store.ok("rollback", "mail")
    d = store.name_dir("mail")
    assert log.read_text().splitlines() == [
        f"issue mail 1 0 {d}/1/cert.pem",
        f"renew mail 2 1 {d}/2/cert.pem",
        f"rollback mail 1 2 {d}/1/cert.pem",
    ]


def test_hook_failure_is_loud(store):
    set_hook(store, "echo 'dovecot: reload failed' >&2; exit 4")
    status, out, err = store.ctl("issue", "mail", "--dns", "mail.example.com")
    assert status == 1
    assert out.startswith("mail: issued: version 1 is current")
    lines = err.splitlines()
    assert re.fullmatch(r"certwrapctl: hook for mail@1 FAILED: exited with status 4 \(\d+\.\d "
                        r"s\)", lines[0])
    assert lines[1] == "dovecot: reload failed"
    assert lines[2] == "certwrapctl: hook for mail@1 failed: `echo 'dovecot: reload failed' " \
                       ">&2; exit 4` exited with status 4: dovecot: reload failed: version 1 " \
                       "is current anyway; fix the hook and run it again"
    # the change itself stands
    assert store.current("mail") == 1


def test_hook_timeout(store):
    set_hook(store, "sleep 30", timeout=1)
    start = time.monotonic()
    status, _, err = store.ctl("issue", "mail", "--dns", "mail.example.com")
    assert status == 1
    assert time.monotonic() - start < 15
    assert "`sleep 30` did not finish within 1 s and was killed" in err


# --- passphrases ------------------------------------------------------------------------------------------


def test_passphrase_file(tmp_path):
    s = Store(tmp_path / "enc")
    good, bad, empty = tmp_path / "good", tmp_path / "bad", tmp_path / "empty"
    good.write_text("correct horse battery staple\n")
    bad.write_text("wrong\n")
    empty.write_text("\n")
    assert "(keys encrypted)" in s.ok("ca", "init", "--passphrase-file", good)
    key = s.path / "ca" / "private" / "cakey.pem"
    assert key.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert s.fails("issue", "a", "--dns", "a.example") == f"certwrapctl: {key}: the CA key is " \
        "encrypted: give its passphrase (certwrapctl: --passphrase-file FILE or " \
        "--passphrase-prompt)\n"
    assert s.fails("issue", "a", "--dns", "a.example", "--passphrase-file", bad) == \
        f"certwrapctl: {key}: cannot decrypt the private key: wrong passphrase, or the key is " \
        "damaged\n"
    assert s.fails("issue", "a", "--dns", "a.example", "--passphrase-file", empty) == \
        f"certwrapctl: {empty}: the passphrase is empty\n"
    assert s.fails("issue", "a", "--dns", "a.example", "--passphrase-file",
                   tmp_path / "none") == f"certwrapctl: {tmp_path}/none: cannot open the " \
                                         "passphrase file: No such file or directory\n"
    s.ok("issue", "a", "--dns", "a.example", "--passphrase-file", good)
    s.ok("renew", "a", "--passphrase-file", good)
    assert s.index()[1].serial == s.meta("a", 2)["serial"]
    # the passphrase never shows up on the command line: it is in no argv above


def test_passphrase_prompt_needs_a_terminal(tmp_path):
    s = Store(tmp_path / "notty")
    r = subprocess.run(s.argv("ca", "init", "--passphrase-prompt"), capture_output=True,
                       text=True, env=_env(), stdin=subprocess.DEVNULL, start_new_session=True,
                       timeout=30)
    assert r.returncode == 1
    assert r.stderr == "certwrapctl: --passphrase-prompt: no terminal to ask on (/dev/tty: " \
                       "No such device or address): use --passphrase-file FILE\n"
    assert not (s.path / "ca").exists()


def run_on_terminal(argv, answers):
    """Runs argv with a pseudo-terminal as its controlling terminal, typing
    each answer after its prompt. Returns (exit status, everything shown)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, _env())
    shown, pending = b"", list(answers)
    deadline = time.monotonic() + PROMPT_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:             # the child closed the terminal: it exited
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(b":"):
                os.write(fd, pending.pop(0).encode() + b"\n")
                shown += b"<answered>"
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)          # our child, by its PID
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_passphrase_prompt(tmp_path):
    s = Store(tmp_path / "tty")
    status, shown = run_on_terminal(s.argv("ca", "init", "--passphrase-prompt"),
                                    ["s3cret phrase", "s3cret phrase"])
    assert status == 0, shown
    assert "CA key passphrase: <answered>" in shown
    assert "CA key passphrase again: <answered>" in shown
    assert "s3cret" not in shown.replace("<answered>", "")   # not echoed
    status, shown = run_on_terminal(s.argv("issue", "a", "--dns", "a.example",
                                           "--passphrase-prompt"), ["s3cret phrase"])
    assert status == 0, shown
    assert "a: issued: version 1 is current" in shown


def test_passphrase_prompt_mismatch(tmp_path):
    s = Store(tmp_path / "tty2")
    status, shown = run_on_terminal(s.argv("ca", "init", "--passphrase-prompt"),
                                    ["one phrase", "another phrase"])
    assert status == 1
    assert "certwrapctl: --passphrase-prompt: the two passphrases differ: nothing was changed" \
        in shown
    assert not (s.path / "ca").exists()
