"""SNI: one accept, several certificates and backends, chosen by the client's
server name (sni = PRIMARY[:PATTERN] secondary sections, as in stunnel).

The primary [imaps] serves default.example.test and is the default; its
secondaries serve mail, imap and pop.example.test exactly, *.example.test as
a one-label wildcard, and [names] the DNS names of its own certificate. Each
section has its own echo backend, so a test sees both which certificate a
real client was shown and which backend got its bytes.
"""
import re
import socket
import ssl
import subprocess

import pytest

from certstore_util import Store
from conftest import config_text, ctl_call, free_port, run_check, run_ctl, service, wait_for
from proxyproto_backend import ProxyBackend

SECTIONS = {                       # section: (sni, SANs of its certificate)
    "imaps": (None, ["DNS:default.example.test"]),
    "mail": ("imaps:mail.example.test", ["DNS:mail.example.test"]),
    "imap": ("imaps:IMAP.example.test", ["DNS:imap.example.test"]),
    "pop": ("imaps:pop.example.test", ["DNS:pop.example.test"]),
    "wild": ("imaps:*.example.test", ["DNS:*.example.test"]),
    "names": ("imaps", ["DNS:smtp.example.test", "DNS:*.other.test"]),
    "alt": ("imaps", ["DNS:alt.example.test"]),
}
NO_CONNECT = {"alt"}               # one more certificate of [imaps]: its backend too


@pytest.fixture
def echo_backends():
    started = {}
    yield started
    for b in started.values():
        b.stop()


@pytest.fixture
def sni(pki, certwrapd, echo_backends, ctl_dir):
    """certwrapd with SECTIONS; returns (daemon, port, control socket)."""
    port = free_port()
    services = {}
    for name, (pattern, sans) in SECTIONS.items():
        echo_backends[name] = ProxyBackend("none")
        pki.san_leaf(f"sni_{name}", sans)
        svc = service(port, echo_backends[name].addr, cert=getattr(pki, f"sni_{name}_fullchain"),
                      key=getattr(pki, f"sni_{name}_key"), CAfile=pki.root)
        if pattern is not None:
            del svc["accept"]
            svc["sni"] = pattern
        if name in NO_CONNECT:
            del svc["connect"]
        services[name] = svc
    sock = ctl_dir / "certwrapd.sock"
    daemon = certwrapd(config_text(services, {"control": sock}))
    return daemon, port, sock


def handshake(pki, port, server_name, payload=b"ping"):
    """A TLS connection sending server_name (None: no SNI); returns the
    certificate's subjectAltName DNS names and its serial, after an echo."""
    ctx = pki.client_context()
    ctx.check_hostname = False          # the name is what we test, not a given
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            cert = tls.getpeercert()
            tls.sendall(payload)
            assert tls.recv(len(payload)) == payload
    return [v for k, v in cert["subjectAltName"] if k == "DNS"], cert["serialNumber"]


def served_by(echo_backends, payload):
    """The sections whose backend got payload."""
    return [n for n, b in echo_backends.items() if payload in b.first_bytes]


CASES = [                          # server name sent, section whose certificate serves it
    ("mail.example.test", "mail"),
    ("alt.example.test", "alt"),         # a certificate without a backend of its own
    ("imap.example.test", "imap"),
    ("pop.example.test", "pop"),
    ("other.example.test", "wild"),      # the wildcard pattern
    ("smtp.example.test", "names"),      # a certificate's exact name beats the wildcard
    ("x.other.test", "names"),           # a certificate's wildcard name
    ("default.example.test", "imaps"),   # the primary's own exact name beats the wildcard
    ("a.b.example.test", "imaps"),       # a wildcard is one label: the default
    ("example.test", "imaps"),
    ("unknown.test", "imaps"),
    (None, "imaps"),                     # no SNI: the default
]


@pytest.mark.parametrize("server_name,section", CASES)
def test_server_name_chooses_certificate_and_backend(pki, sni, echo_backends, server_name,
                                                     section):
    daemon, port, _ = sni
    payload = f"to {server_name}".encode()
    names, _ = handshake(pki, port, server_name, payload)
    assert names == [s.partition(":")[2] for s in SECTIONS[section][1]]
    relay = "imaps" if section in NO_CONNECT else section
    wait_for(lambda: served_by(echo_backends, payload), 10, "the echo")
    assert served_by(echo_backends, payload) == [relay]
    daemon.wait_log(rf"{relay}: conn client=127\.0\.0\.1:\d+ tls=TLSv1\.3 .*"
                    rf"backend={re.escape(echo_backends[relay].addr)} ")


def test_server_name_matches_in_any_case_with_openssl_s_client(pki, sni):
    """openssl s_client sends the name as given; the match ignores case."""
    _, port, _ = sni
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                        "-servername", "POP.Example.TEST", "-CAfile", str(pki.root),
                        "-verify_return_error", "-brief"],
                       input="", capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "Verification: OK" in r.stderr
    assert re.search(r"Peer certificate: CN\s*=\s*pop\.example\.test", r.stderr), r.stderr


def test_status_shows_each_certificate(pki, sni, echo_backends):
    _, port, sock = sni
    r = ctl_call(sock, "status")
    assert r.status == "ok"
    for name, (pattern, sans) in SECTIONS.items():
        rec = r.record("service", name)
        assert rec["sans"] == ", ".join(sans)
        assert rec["accept"] == f"127.0.0.1:{port}"
        relay = "imaps" if name in NO_CONNECT else name
        assert rec["connect"] == echo_backends[relay].addr
        assert rec.get("sni") == pattern          # as written, for secondaries only


def test_swap_of_one_secondary_leaves_the_others(pki, sni, echo_backends):
    _, port, sock = sni
    before = {n: handshake(pki, port, f"{n}.example.test")[1] for n in ("mail", "imap", "pop")}
    new = pki.san_leaf("sni_pop_new", ["DNS:pop.example.test"])
    rc, out, err = run_ctl("-s", sock, "swap", "pop", "--cert", new, "--key",
                           pki.sni_pop_new_key, "--chain", pki.intermediate)
    assert rc == 0, err
    names, serial = handshake(pki, port, "pop.example.test")
    assert names == ["pop.example.test"] and serial != before["pop"]
    assert serial == subprocess.run(["openssl", "x509", "-in", str(new), "-noout", "-serial"],
                                    capture_output=True, text=True, check=True
                                    ).stdout.strip().partition("=")[2]
    for n in ("mail", "imap"):
        assert handshake(pki, port, f"{n}.example.test")[1] == before[n]
    assert handshake(pki, port, None)[0] == ["default.example.test"]


# --- certificates from the store ------------------------------------------------------


def test_a_renewed_certname_is_served_for_its_names_only(certwrapd, echo_backends, tmp_path):
    store = Store(tmp_path / "store")
    store.ok("ca", "init")
    for name in ("default", "imap", "pop"):
        store.ok("issue", name, "--dns", f"{name}.example.test")
    port = free_port()
    services = {}
    for name in ("default", "imap", "pop"):
        echo_backends[name] = ProxyBackend("none")
        svc = service(port, echo_backends[name].addr, certname=name,
                      hostname=f"{name}.example.test")
        if name != "default":
            del svc["accept"]
            svc["sni"] = f"default:{name}.example.test"
        services[name] = svc
    certwrapd(config_text(services, {"certstore": store.path}))
    ctx = ssl.create_default_context(cafile=str(store.path / "ca" / "root.pem"))

    def serial(name):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=f"{name}.example.test") as tls:
                return tls.getpeercert()["serialNumber"]

    before = {n: serial(n) for n in ("default", "imap", "pop")}
    assert len(set(before.values())) == 3
    store.ok("renew", "pop")
    wait_for(lambda: serial("pop") != before["pop"], 10, "the renewed pop certificate")
    assert serial("imap") == before["imap"] and serial("default") == before["default"]


# --- refusals, as certwrapd -t reports them ------------------------------------------


@pytest.mark.parametrize("secondary,want", [
    ({"sni": "nosuch:mail.example.test"},
     r":\d+: sni: no service \[nosuch\] in this file"),
    ({"sni": "imaps:*.example.test", "accept": "127.0.0.1:1"},
     r":\d+: accept: \[second\] is a secondary of \[imaps\] .* remove this line"),
    ({"sni": "imaps:bad_name.test"},
     r":\d+: sni: \"bad_name\.test\": only letters, digits"),
])
def test_refused_configurations(pki, secondary, want):
    primary = service(free_port(), "127.0.0.1:1", cert=pki.fullchain, key=pki.leaf_key,
                      CAfile=pki.root)
    second = {"connect": "127.0.0.1:2", "cert": pki.fullchain, "key": pki.leaf_key,
              "CAfile": pki.root, **secondary}
    rc, out, err = run_check(config_text({"imaps": primary, "second": second}))
    assert rc != 0
    assert re.search(r"certwrapd\.conf" + want, err), err


def test_a_certificate_that_misses_its_pattern_is_a_warning(pki):
    primary = service(free_port(), "127.0.0.1:1", cert=pki.fullchain, key=pki.leaf_key,
                      CAfile=pki.root)
    second = {"sni": "imaps:mail.example.test", "connect": "127.0.0.1:2",
              "cert": pki.fullchain, "key": pki.leaf_key, "CAfile": pki.root}
    rc, out, err = run_check(config_text({"imaps": primary, "second": second}))
    assert rc == 0, err
    assert re.search(r"warning: \S+certwrapd\.conf:\d+: sni: the certificate of \[second\] "
                     r"\(DNS:localhost, IP:127\.0\.0\.1, IP:::1\) does not cover "
                     r"mail\.example\.test", out + err), out + err


def test_reload_adds_a_secondary(pki, certwrapd, echo_backends):
    port = free_port()
    echo_backends["imaps"], echo_backends["mail"] = ProxyBackend("none"), ProxyBackend("none")
    for name, san in (("sni_imaps", "DNS:default.example.test"),
                      ("sni_mail", "DNS:mail.example.test")):
        pki.san_leaf(name, [san])

    def section(name, **options):
        return service(port, echo_backends[name].addr, cert=getattr(pki, f"sni_{name}_fullchain"),
                       key=getattr(pki, f"sni_{name}_key"), CAfile=pki.root, **options)

    primary = section("imaps")
    daemon = certwrapd(config_text({"imaps": primary}))
    assert handshake(pki, port, "mail.example.test")[0] == ["default.example.test"]
    mail = section("mail", sni="imaps:mail.example.test")
    del mail["accept"]
    daemon.write_config(config_text({"imaps": primary, "mail": mail}))
    assert daemon.reload() == "done"
    assert handshake(pki, port, "mail.example.test", b"after")[0] == ["mail.example.test"]
    assert served_by(echo_backends, b"after") == ["mail"]
