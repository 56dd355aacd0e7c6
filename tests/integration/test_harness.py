"""conftest.py itself: the PKI it makes, the configs it writes, and the
Certwrapd process handling (driven here by a stand-in daemon that speaks the
agreed log lines, so the harness is proven before and apart from certwrapd)."""

import re
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

import conftest
from conftest import Certwrapd, Pki, config_text, free_port, run_check, service

# Behaves as certwrapd does towards the harness: `-f CONFIG` or `-t CONFIG`;
# logs `ready: services=N pid=P`; SIGHUP logs `reload: done ...` or, if the
# config then says "reload-fails", `reload: failed ...`; SIGTERM exits with
# the status a "fake-exit-status: N" line asks for. "fail-start" exits 1 at
# once; "fake-asan" prints a sanitizer report line; "bad-option" fails -t.
FAKE_DAEMON = r'''
import os, re, signal, sys
mode, path = sys.argv[1], sys.argv[2]
text = open(path).read()
def marker(word):
    return word in open(path).read()
if mode == "-t":
    if "bad-option" in text:
        print(f"{os.path.basename(path)}:2: verifyPeeer: unknown option", file=sys.stderr)
        sys.exit(1)
    print("configuration ok")
    sys.exit(0)
if marker("fail-start"):
    print(f"error: {path}:1: accept: address in use", file=sys.stderr)
    sys.exit(1)
def on_hup(*_):
    if marker("reload-fails"):
        print("error: reload: failed, keeping the running configuration", flush=True)
    else:
        print("notice: reload: done services=1 warnings=0", flush=True)
def on_term(*_):
    if marker("fake-asan"):
        print("==1==ERROR: AddressSanitizer: heap-use-after-free", file=sys.stderr, flush=True)
    m = re.search(r"fake-exit-status: (\d+)", open(path).read())
    sys.exit(int(m.group(1)) if m else 0)
signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, on_term)
print("notice: starting", flush=True)
print(f"notice: ready: services=1 pid={os.getpid()}", flush=True)
while True:
    signal.pause()
'''


@pytest.fixture
def fake_certwrapd(tmp_path, monkeypatch):
    path = tmp_path / "fake-certwrapd"
    path.write_text(f"#!{sys.executable}\n{FAKE_DAEMON}")
    path.chmod(0o755)
    monkeypatch.setattr(conftest, "CERTWRAPD", path)
    return path


def minimal_config(*markers):
    text = config_text({"echo": service(free_port(), "127.0.0.1:7")})
    return text + "".join(f"# {m}\n" for m in markers)


# --- Certwrapd, run_check ------------------------------------------------------------


def test_start_ready_reload_stop(fake_certwrapd, tmp_path):
    d = Certwrapd(tmp_path / "d", minimal_config()).start()
    try:
        assert d.ready_services == 1 and d.running()
        assert d.reload() == "done"
        d.write_config(minimal_config("reload-fails"))
        assert d.reload() == "failed"
        d.write_config(minimal_config())
        assert d.reload() == "done"
        assert d.log().count("reload: done") == 2       # each reload waited for its own line
    finally:
        assert d.stop() == 0
    assert d.problems() == ""


def test_start_fails_fast_with_the_log_when_the_daemon_exits(fake_certwrapd, tmp_path):
    started = time.monotonic()
    d = Certwrapd(tmp_path / "d", minimal_config("fail-start"))
    with pytest.raises(AssertionError, match=r"(?s)exited with status 1.*address in use"):
        d.start()
    assert time.monotonic() - started < conftest.READY_TIMEOUT_S / 2


def test_teardown_checks_report_status_and_sanitizer_lines(fake_certwrapd, tmp_path):
    d = Certwrapd(tmp_path / "d", minimal_config("fake-exit-status: 3", "fake-asan")).start()
    problems = d.problems()
    assert "exited with status 3, expected 0" in problems
    assert "ERROR: AddressSanitizer: heap-use-after-free" in problems
    problems = d.problems(expect_status=3)
    assert "sanitizer report" in problems and "exited with status" not in problems


def test_run_check_returns_status_and_output(fake_certwrapd):
    assert run_check(minimal_config()) == (0, "configuration ok\n", "")
    status, out, err = run_check(minimal_config("bad-option"))
    assert (status, out) == (1, "")
    assert err == "certwrapd.conf:2: verifyPeeer: unknown option\n"


def test_config_text_writes_stunnel_style_sections(tmp_path):
    text = config_text({
        "imaps": service(993, ["127.0.0.1:143", "[::1]:143"], cert=tmp_path / "c.pem",
                         verifyPeer=False, CAfile=None),
        "echo": {"accept": "[::1]:7000", "connect": 7},
    }, {"debug": "debug", "pid": ""})
    assert text == (
        "# written by tests/integration/conftest.py\n"
        "foreground = yes\nsyslog = no\ndebug = debug\npid = \n"
        "\n[imaps]\naccept = 127.0.0.1:993\n"
        "connect = 127.0.0.1:143\nconnect = [::1]:143\n"
        f"cert = {tmp_path / 'c.pem'}\nverifyPeer = no\n"
        "\n[echo]\naccept = [::1]:7000\nconnect = 7\n")


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


# --- the PKI ----------------------------------------------------------------------------------


def openssl(*args):
    r = subprocess.run(["openssl", *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout + r.stderr


def verify(pki, cert, anchor=None, untrusted=None):
    args = ["verify", "-CAfile", anchor or pki.root]
    if untrusted is not None:
        args += ["-untrusted", untrusted]
    return openssl(*args, cert)


def pubkey(path, is_cert):
    cmd = ["x509", "-pubkey", "-noout", "-in", path] if is_cert else ["pkey", "-pubout", "-in", path]
    return openssl(*cmd)[1]


def test_pki_good_chain_verifies_and_keys_match(pki):
    assert verify(pki, pki.leaf, untrusted=pki.intermediate) == (0, f"{pki.leaf}: OK\n")
    assert verify(pki, pki.leaf)[0] != 0                        # the intermediate is needed
    assert verify(pki, pki.other_leaf, anchor=pki.other_root)[0] == 0
    assert "unable to get local issuer" in verify(pki, pki.other_leaf)[1]
    for name in ("leaf", "leaf2", "weak", "sha1", "leaf_rsa", "expired", "client"):
        assert pubkey(getattr(pki, name), True) == pubkey(getattr(pki, f"{name}_key"), False), name
    assert pubkey(pki.wrong_key, False) != pubkey(pki.leaf, True)
    san = openssl("x509", "-noout", "-ext", "subjectAltName", "-in", pki.leaf)[1]
    assert "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" in san


def test_pki_broken_variants_are_broken_as_named(pki):
    assert "certificate has expired" in verify(pki, pki.expired, untrusted=pki.intermediate)[1]
    assert pki.dates(pki.expired) == ("Jan  1 00:00:00 2020 GMT", "Jan  1 00:00:00 2021 GMT")
    assert "not yet valid" in verify(pki, pki.not_yet_valid, untrusted=pki.intermediate)[1]
    text = openssl("x509", "-noout", "-text", "-in", pki.weak)[1]
    assert "Public-Key: (1024 bit)" in text
    text = openssl("x509", "-noout", "-text", "-in", pki.sha1)[1]
    assert "Signature Algorithm: ecdsa-with-SHA1" in text
    assert "Public-Key: (2048 bit)" in openssl("x509", "-noout", "-text", "-in", pki.leaf_rsa)[1]


def test_pki_bundles_hold_what_their_names_say(pki):
    leaf, inter, root = (Pki.certs_in(p)[0] for p in (pki.leaf, pki.intermediate, pki.root))
    assert Pki.certs_in(pki.fullchain) == [leaf, inter]
    assert Pki.certs_in(pki.leaf_only) == [leaf]
    assert Pki.certs_in(pki.chain_with_root) == [leaf, inter, root]
    assert Pki.certs_in(pki.shuffled) == [inter, leaf]
    assert Pki.certs_in(pki.out_of_order) == [leaf, root, inter]
    combined = pki.combined.read_text()
    assert combined.startswith("-----BEGIN PRIVATE KEY-----")
    assert Pki.certs_in(pki.combined) == [leaf, inter]
    assert Pki.certs_in(pki.leaf2_fullchain)[1] == inter
    assert (pki.leaf_key.stat().st_mode & 0o077) == 0


def test_pki_serial_fingerprint_subject_helpers(pki):
    assert [pki.serial(p) for p in (pki.leaf, pki.leaf2, pki.expired, pki.not_yet_valid)] == \
        ["1001", "1002", "3000", "3001"]
    fp = pki.fingerprint(pki.leaf)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fp)
    assert fp != pki.fingerprint(pki.leaf2)
    assert pki.fingerprint(pki.fullchain) == fp                   # first certificate of a file
    assert pki.subject(pki.leaf) == "CN = localhost"
    assert pki.subject(pki.leaf2) == "CN = certwrap second leaf"


def test_pki_serves_a_real_tls_handshake(pki):
    """Python's TLS client accepts fullchain.pem + leaf.key for localhost,
    trusting only root.pem: the files are what a TLS server needs."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki.fullchain, pki.leaf_key)
    listener = socket.create_server(("127.0.0.1", 0))
    result = {}

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            result["got"] = tls.recv(5)
            tls.sendall(b"world")

    t = threading.Thread(target=serve)
    t.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw:
            with pki.client_context().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"hello")
                assert tls.recv(5) == b"world"
                assert tls.getpeercert()["serialNumber"] == pki.serial(pki.leaf)
    finally:
        t.join(10)
        listener.close()
    assert result["got"] == b"hello"
