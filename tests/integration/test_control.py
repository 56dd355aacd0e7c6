"""The control socket: status, stats, reload and swap, who may talk, and bad input.

Each case starts a real certwrapd with a store (certstore, certname) and a
control socket, and talks to the socket with conftest's ctl_call, a client
written from ctl/ctlproto.h alone. What a swap promises is checked from the
outside: the serial a new client is shown right after the reply, an
established session that keeps working, and nothing changed after a refusal.
"""
import calendar
import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import time

import pytest

from certstore_util import Store, openssl, outside_ca
from conftest import (CtlResponse, config_text, ctl_call, ctl_exchange, ctl_frame, ctl_parse,
                      echo, free_port, run_check, run_ctl, service, wait_for)

HOSTNAMES = "localhost 127.0.0.1"
# The store every case starts from: mail and mail2 cover HOSTNAMES, other does not.
STORE_NAMES = {
    "mail": ("--dns", "localhost", "--ip", "127.0.0.1"),
    "mail2": ("--dns", "localhost", "--ip", "127.0.0.1"),
    "other": ("--dns", "other.example"),
}
WATCH_S = 3.0                      # the daemon notices a store change within about a second
NOBODY_UID = 65534


@pytest.fixture(scope="module")
def store_template(tmp_path_factory):
    """A store with a CA and STORE_NAMES, made once; each case copies it."""
    store = Store(tmp_path_factory.mktemp("template") / "store")
    store.ok("ca", "init")
    for name, args in STORE_NAMES.items():
        store.ok("issue", name, *args)
    return store


@pytest.fixture
def store(store_template, tmp_path):
    """This case's own copy of the template store."""
    shutil.copytree(store_template.path, tmp_path / "store", symlinks=True)
    return Store(tmp_path / "store")


class Setup:
    """A certwrapd with a store and a control socket, and what talks to it."""

    def __init__(self, pki, backend, certwrapd, store, ctl_dir):
        self.pki, self.backend, self.start_daemon = pki, backend, certwrapd
        self.store, self.sock = store, ctl_dir / "certwrapd.sock"
        self.ports = {}
        self.daemon = None
        # trusts the store's root and the test PKI's, so both kinds are checked
        self.ctx = ssl.create_default_context(cafile=str(store.path / "ca" / "root.pem"))
        self.ctx.load_verify_locations(cafile=str(pki.root))

    def config(self, services=None, **globals_):
        """Config text: services {name: options} (default: echo serving mail),
        each in front of the echo backend with hostname and CAfile set."""
        services = services if services is not None else {"echo": {"certname": "mail"}}
        built = {}
        for name, options in services.items():
            port = self.ports.setdefault(name, free_port())
            built[name] = service(port, self.backend.addr("echo"), hostname=HOSTNAMES,
                                  CAfile=self.pki.root, **options)
        return config_text(built, {"certstore": self.store.path, "control": self.sock,
                                   **globals_})

    def start(self, services=None, **globals_):
        self.daemon = self.start_daemon(self.config(services, **globals_))
        return self.daemon

    def call(self, verb, *fields, **kw):
        return ctl_call(self.sock, verb, *fields, **kw)

    def ok(self, verb, *fields):
        r = self.call(verb, *fields)
        assert r.status == "ok", f"{verb}: {r.message}"
        return r

    def status(self, name="echo"):
        return self.ok("status").record("service", name)

    def stats(self, name="echo"):
        return self.ok("stats").record("service", name)

    def connect(self, name="echo", host="localhost"):
        sock = socket.create_connection(("127.0.0.1", self.ports[name]), timeout=10)
        return self.ctx.wrap_socket(sock, server_hostname=host)

    def served_serial(self, name="echo"):
        """The serial a new client is shown, as openssl prints it."""
        with self.connect(name) as tls:
            return tls.getpeercert()["serialNumber"]


@pytest.fixture
def setup(pki, backend, certwrapd, store, ctl_dir):
    return Setup(pki, backend, certwrapd, store, ctl_dir)


def _serial(cert):
    return openssl("x509", "-in", cert, "-noout", "-serial").strip().partition("=")[2]


def _store_serial(store, name, version=None):
    return _serial(store.version_dir(name, version) / "cert.pem")


def _pem(path):
    return path.read_text()


LOG_LINE_RE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [a-z]+: \S")


def _logged_error(daemon, verb, message, start=0):
    """Waits for the daemon's log of an error reply: one line per line of its
    message, each a whole log line with the peer and the verb."""
    for line in message.split("\n"):
        daemon.wait_log(rf"(?m)^\S+ \S+ warning: control: uid=0 pid=\d+ verb={re.escape(verb)} "
                        rf"error: {re.escape(line)}$", start=start)
    bad = [line for line in daemon.log().splitlines() if not LOG_LINE_RE.match(line)]
    assert not bad, f"log lines that are not whole: {bad}"


def _wait_served(setup, serial, name="echo", timeout=WATCH_S):
    """Polls new handshakes until they show serial; returns the seconds it took."""
    start = time.monotonic()
    wait_for(lambda: setup.served_serial(name) == serial, timeout,
             f"[{name}] to serve serial {serial}")
    return time.monotonic() - start


# --- status ---------------------------------------------------------------------------


def test_status_describes_each_service_and_the_certificate_it_serves(setup, pki, store):
    files = {"cert": pki.fullchain, "key": pki.leaf_key}
    setup.start({"echo": {"certname": "mail"}, "files": files})
    r = setup.ok("status")
    assert re.fullmatch(r"2 services, 0 connections open, config \S+/certwrapd\.conf",
                        r.message), r.message
    assert [rec["service"] for rec in r.of_kind("service")] == ["echo", "files"]
    assert [n for n, _ in r.fields] == ["status", "message"]

    with setup.connect() as tls:
        client_serial = tls.getpeercert()["serialNumber"]
        echo(tls)
        echo_svc = setup.status()
        stored = store.version_dir("mail")
        assert echo_svc == {
            "kind": "service", "service": "echo",
            "accept": f"127.0.0.1:{setup.ports['echo']}",
            "connect": setup.backend.addr("echo"),
            "connections": "1",
            "cert": "store mail@1", "follows": "mail", "swapped": "no",
            "subject": "CN=localhost",
            "serial": _serial(stored / "cert.pem"),
            "sans": "DNS:localhost, IP:127.0.0.1",
            "not_after": echo_svc["not_after"], "days_left": echo_svc["days_left"],
        }
        assert client_serial == echo_svc["serial"]

    files = setup.status("files")
    assert (files["cert"], files["follows"], files["swapped"]) == \
        (f"file {pki.fullchain}", "-", "no")
    assert files["serial"] == _serial(pki.leaf) == setup.served_serial("files")
    assert files["sans"] == "DNS:localhost, IP:127.0.0.1, IP:::1"
    assert files["connections"] == "0"

    # not-after and days-left agree with openssl and the clock
    for rec, cert in ((echo_svc, stored / "cert.pem"), (files, pki.leaf)):
        end = openssl("x509", "-in", cert, "-noout", "-enddate").strip().partition("=")[2]
        not_after = calendar.timegm(time.strptime(rec["not_after"], "%Y-%m-%dT%H:%M:%SZ"))
        assert time.strftime("%b %e %H:%M:%S %Y GMT", time.gmtime(not_after)) == end
        # whole days, truncated, a moment ago
        days = (not_after - time.time()) / 86400
        assert -1 < int(rec["days_left"]) - days < 0.001, (rec, days)


# --- stats ----------------------------------------------------------------------------


def _refused_handshake(port):
    """A TLS 1.3 client offering only a ciphersuite the service does not allow."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3",
                        "-ciphersuites", "TLS_AES_256_GCM_SHA384"],
                       input=b"", capture_output=True, timeout=30)
    assert r.returncode != 0, r.stdout


def test_stats_count_connections_handshakes_failures_and_bytes(setup):
    daemon = setup.start({"echo": {"certname": "mail",
                                   "ciphersuites": "TLS_AES_128_GCM_SHA256"}})
    payloads = [b"a" * 1, b"b" * 1000, b"c" * 70000]
    for data in payloads:
        with setup.connect() as tls:
            assert echo(tls, data) == data
    _refused_handshake(setup.ports["echo"])
    total = sum(map(len, payloads))
    want = {"kind": "service", "service": "echo", "connections": "4", "active": "0",
            "handshakes": "3", "handshake_failures": "1", "backend_failures": "0",
            "bytes_in": str(total), "bytes_out": str(total)}
    # counted when each connection ends: wait for the last one
    wait_for(lambda: setup.stats() == want, 10, f"stats {want}")
    failures = setup.ok("stats").of_kind("failure")
    assert len(failures) == 1 and failures[0]["service"] == "echo", failures
    assert "no shared cipher" in failures[0]["reason"] and failures[0]["count"] == "1"

    # a reload keeps the counters, and counts on with them
    assert daemon.reload() == "done"
    assert setup.stats() == want
    assert setup.ok("stats").of_kind("failure") == failures
    with setup.connect() as tls:
        echo(tls, b"x")
    want.update({"connections": "5", "handshakes": "4", "bytes_in": str(total + 1),
                 "bytes_out": str(total + 1)})
    wait_for(lambda: setup.stats() == want, 10, f"stats {want} after the reload")


# --- reload ---------------------------------------------------------------------------


def test_reload_over_the_socket(setup, pki):
    files = {"cert": pki.fullchain, "key": pki.leaf_key}
    daemon = setup.start({"echo": files})
    assert setup.served_serial() == _serial(pki.leaf)

    daemon.write_config(setup.config({"echo": {"cert": pki.leaf2_fullchain,
                                               "key": pki.leaf2_key}}))
    r = setup.call("reload")
    assert (r.status, r.message) == ("ok", "reloaded")
    # the reply comes once the new configuration serves
    assert setup.served_serial() == _serial(pki.leaf2)
    assert setup.status()["cert"] == f"file {pki.leaf2_fullchain}"

    good = daemon.config_path.read_text()
    daemon.write_config(good.replace("[echo]", "[echo]\nverifyPeeer = yes"))
    r = setup.call("reload")
    assert r.status == "error"
    assert re.fullmatch(r"reload failed, the running configuration keeps serving:\n"
                        r"\S+/certwrapd\.conf:\d+: verifyPeeer: unknown option "
                        r"\(did you mean verifyPeer\?\)", r.message), r.message
    line = good.splitlines().index("[echo]") + 2
    assert f"certwrapd.conf:{line}: verifyPeeer" in r.message
    daemon.wait_log(r"reload: failed, keeping the running configuration")
    _logged_error(daemon, "reload", r.message)
    assert setup.served_serial() == _serial(pki.leaf2)


@pytest.mark.parametrize("change", ["moved", "removed"])
def test_a_reload_over_the_socket_that_moves_the_socket_still_answers(setup, change):
    daemon = setup.start()
    new_sock = setup.sock.with_name("moved.sock")
    daemon.write_config(setup.config(control=new_sock if change == "moved" else None))
    r = setup.call("reload")
    assert (r.status, r.message) == ("ok", "reloaded")
    daemon.wait_log(r"reload: done")
    assert not setup.sock.exists()
    if change == "moved":
        assert ctl_call(new_sock, "status").status == "ok"
    assert setup.served_serial() == _store_serial(setup.store, "mail")


# --- swap -----------------------------------------------------------------------------


def test_swap_to_a_store_name_is_atomic_and_spares_open_sessions(setup, store):
    setup.start()
    serials = {n: _store_serial(store, n) for n in ("mail", "mail2")}
    old = setup.connect()
    assert old.getpeercert()["serialNumber"] == serials["mail"]
    assert echo(old) == b"ping"

    # every handshake after each reply shows the new certificate, never the previous one
    for i, name in enumerate(["mail2", "mail"] * 5):
        r = setup.call("swap", ("service", "echo"), ("name", name))
        assert (r.status, r.message) == \
            ("ok", f"[echo] now serves store {name}@1 (serial {serials[name]})"), (i, r)
        assert setup.served_serial() == serials[name], f"swap {i} to {name}"
    setup.ok("swap", ("service", "echo"), ("name", "mail2"))
    st = setup.status()
    assert (st["cert"], st["follows"], st["swapped"], st["serial"]) == \
        ("store mail2@1", "mail2", "yes", serials["mail2"])

    # the session from before the swaps goes on with its own certificate
    assert echo(old, b"still here") == b"still here"
    assert old.getpeercert()["serialNumber"] == serials["mail"]
    assert st["connections"] == "1"
    old.close()


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_a_swap_costs_no_client_its_resumption(setup, store, version):
    """The ticket keys are the process's, not the TLS context's: a session made
    before a swap resumes after it (no full handshake for every client that
    reconnects), while every full handshake after the reply gets the new
    certificate."""
    setup.start()
    ctx = ssl.create_default_context(cafile=str(store.path / "ca" / "root.pem"))
    ctx.maximum_version = getattr(ssl.TLSVersion, version)

    def connect(session=None):
        sock = socket.create_connection(("127.0.0.1", setup.ports["echo"]), timeout=10)
        tls = ctx.wrap_socket(sock, server_hostname="localhost", session=session)
        echo(tls)                    # TLS 1.3 tickets arrive after the handshake
        return tls

    with connect() as first:
        session = first.session
        assert first.getpeercert()["serialNumber"] == _store_serial(store, "mail")
    with connect(session) as again:
        assert again.session_reused, "no resumption even without a swap"
    setup.ok("swap", ("service", "echo"), ("name", "mail2"))
    with connect(session) as after:
        assert after.session_reused, "the swap cost the client its session"
    with connect() as full:
        assert not full.session_reused
        assert full.getpeercert()["serialNumber"] == _store_serial(store, "mail2")


def test_a_resumed_connection_gets_a_fresh_ticket(setup, store, tmp_path):
    """A client that keeps only its newest ticket (as load balancers' health
    checks and most libraries do) must keep resuming: each resumed TLS 1.3
    connection is given a new ticket, read here by openssl s_client."""
    setup.start()
    root = store.path / "ca" / "root.pem"

    def s_client(*args):
        p = subprocess.Popen(["openssl", "s_client", "-connect",
                              f"127.0.0.1:{setup.ports['echo']}", "-servername", "localhost",
                              "-CAfile", root, "-tls1_3", *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        p.stdin.write(b"ping\n")
        p.stdin.flush()
        time.sleep(0.5)               # the ticket follows the handshake: let it arrive
        out, _ = p.communicate(timeout=30)
        return out.decode(errors="replace")

    out = s_client("-sess_out", tmp_path / "s0")
    assert "New, TLSv1.3" in out, out
    for i in range(1, 4):
        out = s_client("-sess_in", tmp_path / f"s{i - 1}", "-sess_out", tmp_path / f"s{i}")
        assert "Reused, TLSv1.3" in out, (i, out)
        assert (tmp_path / f"s{i}").exists(), f"resumption {i} brought no new ticket"


TICKET_KEY_LIFETIME_S = 2


def test_ticket_keys_rotate_and_the_previous_one_still_decrypts(setup, store):
    """ticketKeyLifetime = 2: a ticket resumes after one rotation (sealed with
    what is now the previous key) and not after two (that key is gone)."""
    daemon = setup.start(ticketKeyLifetime=str(TICKET_KEY_LIFETIME_S))
    ctx = ssl.create_default_context(cafile=str(store.path / "ca" / "root.pem"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3

    def connect(session=None):
        sock = socket.create_connection(("127.0.0.1", setup.ports["echo"]), timeout=10)
        tls = ctx.wrap_socket(sock, server_hostname="localhost", session=session)
        echo(tls)
        return tls

    with connect() as first:
        session = first.session
    rotations = len(re.findall(r"tickets: new session ticket key", daemon.log()))
    wait_for(lambda: len(re.findall(r"tickets: new session ticket key", daemon.log())) ==
             rotations + 1, 3 * TICKET_KEY_LIFETIME_S, "one rotation")
    with connect(session) as after_one:
        assert after_one.session_reused, "the previous key no longer decrypts"
    wait_for(lambda: len(re.findall(r"tickets: new session ticket key", daemon.log())) >=
             rotations + 2, 3 * TICKET_KEY_LIFETIME_S, "a second rotation")
    with connect(session) as after_two:
        assert not after_two.session_reused, "a key two rotations old still decrypts"


def test_swap_to_a_version_is_pinned(setup, store):
    # a second service that follows mail shows when the daemon has seen a change
    setup.start({"echo": {"certname": "mail"}, "watch": {"certname": "mail"}})
    store.ok("renew", "mail")
    _wait_served(setup, _store_serial(store, "mail", 2))

    r = setup.ok("swap", ("service", "echo"), ("name", "mail"), ("version", "1"))
    assert r.message == f"[echo] now serves store mail@1 (serial {_store_serial(store, 'mail', 1)})"
    assert setup.served_serial() == _store_serial(store, "mail", 1)
    st = setup.status()
    assert (st["cert"], st["follows"], st["swapped"]) == ("store mail@1", "-", "yes")

    # a renewal moves the follower, not the pinned service
    store.ok("renew", "mail")
    _wait_served(setup, _store_serial(store, "mail", 3), name="watch")
    assert setup.status("watch")["cert"] == "store mail@3"
    assert setup.status()["cert"] == "store mail@1"
    assert setup.served_serial() == _store_serial(store, "mail", 1)


def test_swap_to_pem_sent_in_the_request(setup, pki):
    setup.start()
    r = setup.ok("swap", ("service", "echo"), ("cert", _pem(pki.leaf2)),
                 ("chain", _pem(pki.intermediate)), ("key", _pem(pki.leaf2_key)),
                 ("label", "leaf2.pem"))
    assert r.message == f"[echo] now serves swap leaf2.pem (serial {_serial(pki.leaf2)})"
    assert setup.served_serial() == _serial(pki.leaf2)
    st = setup.status()
    assert (st["cert"], st["follows"], st["swapped"], st["subject"]) == \
        ("swap leaf2.pem", "-", "yes", "CN=certwrap second leaf")

    # the chain may come in the cert field; without a label the daemon names it
    r = setup.ok("swap", ("service", "echo"), ("cert", _pem(pki.leaf_rsa_fullchain)),
                 ("key", _pem(pki.leaf_rsa_key)))
    assert r.message == (f"[echo] now serves swap certificate sent by certwrapctl "
                         f"(serial {_serial(pki.leaf_rsa)})")
    assert setup.served_serial() == _serial(pki.leaf_rsa)


def _pem_fields(pki, cert, key):
    return [("cert", _pem(getattr(pki, cert))), ("key", _pem(getattr(pki, key)))]


REFUSED = "swap of \\[echo\\] refused, still serving store mail@1:\n"
CONF = r"\S+/certwrapd\.conf"
# (case, request fields after the verb, the whole message as a regex)
SWAP_REFUSALS = [
    ("name-not-covering-hostname", lambda pki: [("service", "echo"), ("name", "other")],
     REFUSED + CONF + r":\d+: hostname: CN=other\.example \(store other@1\) does not cover "
     r"localhost, which clients of \[echo\] connect to; it is for DNS:other\.example\n"
     + CONF + r":\d+: hostname: .* does not cover 127\.0\.0\.1, .*"),
    ("expired-pem", lambda pki: [("service", "echo")] +
     _pem_fields(pki, "expired_fullchain", "expired_key"),
     REFUSED + r"certificate sent by certwrapctl: certificate CN=localhost expired "
     r"2021-01-01 00:00 UTC \(\d+ days ago\): renew it and install the new certificate"),
    ("key-does-not-match", lambda pki: [("service", "echo")] +
     _pem_fields(pki, "leaf2_fullchain", "leaf_key"),
     REFUSED + r"certificate sent by certwrapctl: the private key does not match "
     r"certificate CN=certwrap second leaf .*"),
    ("unknown-service", lambda pki: [("service", "nope"), ("name", "mail2")],
     r'swap: no service "nope" \(certwrapctl status lists them\)'),
    ("no-service", lambda pki: [("name", "mail2")],
     r'swap: no service "" \(certwrapctl status lists them\)'),
    # the name is the request's, not the config's: no FILE:LINE of the config's certname
    ("unknown-name", lambda pki: [("service", "echo"), ("name", "ghost")],
     REFUSED + r"ghost: no such certificate in \S+/store \(certwrapctl list shows the "
     r"names\)"),
    ("unknown-version", lambda pki: [("service", "echo"), ("name", "mail"), ("version", "7")],
     REFUSED + r"mail: there is no version 7 \(certwrapctl show mail lists them\)"),
    ("bad-version", lambda pki: [("service", "echo"), ("name", "mail"), ("version", "x")],
     r'swap: bad version "x"'),
    ("neither-name-nor-cert", lambda pki: [("service", "echo")],
     r"swap: give a store name \(NAME or NAME@VERSION\), or --cert FILE --key FILE"),
    ("cert-without-key", lambda pki: [("service", "echo"), ("cert", _pem(pki.leaf2))],
     r"swap: --cert needs --key \(the private key\)"),
]


@pytest.mark.parametrize("fields,message", [c[1:] for c in SWAP_REFUSALS],
                         ids=[c[0] for c in SWAP_REFUSALS])
def test_swap_refusals_say_why_and_change_nothing(setup, pki, store, fields, message):
    daemon = setup.start()
    before = setup.status()
    r = setup.call("swap", *fields(pki))
    assert r.status == "error"
    assert re.fullmatch(message, r.message, re.S), r.message
    assert setup.status() == before
    assert setup.served_serial() == _store_serial(store, "mail")
    _logged_error(daemon, "swap", r.message)
    assert "swap: now serving" not in daemon.log()


@pytest.mark.parametrize("kind", ["name", "version", "pem"])
def test_a_swap_survives_a_reload(setup, pki, store, kind):
    daemon = setup.start()
    request = {"name": [("name", "mail2")],
               "version": [("name", "mail2"), ("version", "1")],
               "pem": _pem_fields(pki, "leaf2_fullchain", "leaf2_key")}[kind]
    setup.ok("swap", ("service", "echo"), *request)
    swapped = setup.status()
    assert swapped["swapped"] == "yes"
    serial = swapped["serial"]

    # (the count of open connections aside: the last check's may not be closed yet)
    def certificate(record):
        return {k: v for k, v in record.items() if k != "connections"}

    for _ in range(2):
        assert daemon.reload() == "done"
        assert certificate(setup.status()) == certificate(swapped)
        assert setup.served_serial() == serial
    # and a reload over the socket too
    setup.ok("reload")
    assert certificate(setup.status()) == certificate(swapped)


def test_a_swap_ends_when_the_config_changes_the_certificate(setup, pki):
    daemon = setup.start()
    setup.ok("swap", ("service", "echo"), ("name", "mail2"))
    daemon.write_config(setup.config({"echo": {"cert": pki.fullchain, "key": pki.leaf_key}}))
    start = daemon.log_size()
    assert daemon.reload() == "done"
    daemon.wait_log(r"warning: reload: \[echo\]: its certificate settings changed: the swap to "
                    r"store mail2@1 ends", start=start)
    st = setup.status()
    assert (st["cert"], st["follows"], st["swapped"]) == (f"file {pki.fullchain}", "-", "no")
    assert setup.served_serial() == _serial(pki.leaf)


def test_a_service_configured_with_files_swaps_to_a_store_name(setup, pki, store):
    setup.start({"echo": {"cert": pki.fullchain, "key": pki.leaf_key}})
    r = setup.call("swap", ("service", "echo"), ("name", "ghost"))
    assert (r.status, r.message) == ("error", "swap of [echo] refused, still serving file "
                                     f"{pki.fullchain}:\nghost: no such certificate in "
                                     f"{store.path} (certwrapctl list shows the names)")
    setup.ok("swap", ("service", "echo"), ("name", "mail2"))
    st = setup.status()
    assert (st["cert"], st["follows"], st["swapped"]) == ("store mail2@1", "mail2", "yes")
    store.ok("renew", "mail2")
    _wait_served(setup, _store_serial(store, "mail2", 2))


def test_a_swap_to_a_name_needs_a_store(setup, pki):
    setup.start({"echo": {"cert": pki.fullchain, "key": pki.leaf_key}}, certstore=None)
    r = setup.call("swap", ("service", "echo"), ("name", "mail2"))
    assert (r.status, r.message) == ("error", "swap of [echo] refused, still serving file "
                                     f"{pki.fullchain}:\n[echo]: no certstore = DIR in the "
                                     "configuration to take mail2 from")
    # PEM needs none
    setup.ok("swap", ("service", "echo"), *_pem_fields(pki, "leaf2_fullchain", "leaf2_key"))
    assert setup.served_serial() == _serial(pki.leaf2)


def test_a_swap_to_a_name_follows_its_renewal(setup, store, capsys):
    daemon = setup.start()
    setup.ok("swap", ("service", "echo"), ("name", "mail2"))
    store.ok("renew", "mail2")
    took = _wait_served(setup, _store_serial(store, "mail2", 2))
    with capsys.disabled():
        print(f"\n  swap to mail2, then renew mail2 behind the daemon's back: served after "
              f"{took:.2f}s")
    st = setup.status()
    assert (st["cert"], st["follows"], st["swapped"]) == ("store mail2@2", "mail2", "yes")
    daemon.wait_log(r"echo: certificate store mail2@2 \(serial [0-9A-F]+, expires in \d+ days\) "
                    r"now served, was store mail2@1: the store's current version changed")
    # the name the config gave is no longer followed
    store.ok("renew", "mail")
    store.ok("renew", "mail2")
    _wait_served(setup, _store_serial(store, "mail2", 3))
    assert setup.status()["cert"] == "store mail2@3"


# --- who may talk ----------------------------------------------------------------------


def test_a_peer_that_is_not_allowed_is_refused_by_its_credentials(setup):
    daemon = setup.start(controlMode="0666")
    st = os.stat(setup.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666

    r = setup.call("status", user="nobody")
    assert r.status == "error"
    assert r.message == ("permission denied: only root, certwrapd's user and members of its "
                         "controlGroup may use this socket")
    assert r.records == []
    daemon.wait_log(rf"warning: control: refused uid={NOBODY_UID} pid=\d+: only root, the "
                    r"daemon's user and members of controlGroup may use the control socket")
    assert setup.ok("status").message.startswith("1 service")


def test_the_socket_file_mode_keeps_others_out(setup):
    daemon = setup.start(controlMode="0600")
    assert stat.S_IMODE(os.stat(setup.sock).st_mode) == 0o600
    with pytest.raises(OSError, match="PermissionError"):
        setup.call("status", user="nobody")
    assert "refused uid" not in daemon.log()


def test_members_of_control_group_are_served(setup):
    daemon = setup.start(controlMode="0660", controlGroup="nogroup")
    st = os.stat(setup.sock)
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o660, NOBODY_UID)
    r = setup.call("status", user="nobody")
    assert r.status == "ok" and r.record("service", "echo")["cert"] == "store mail@1"
    daemon.wait_log(rf"notice: control: uid={NOBODY_UID} pid=\d+ verb=status ok")

    # a reload without controlGroup: the file keeps its group, the credentials check does not
    daemon.write_config(setup.config(controlMode="0660"))
    assert daemon.reload() == "done"
    r = setup.call("status", user="nobody")
    assert (r.status, r.message.split(":")[0]) == ("error", "permission denied")
    # and one with a narrower mode changes the file in place
    daemon.write_config(setup.config(controlMode="0600"))
    assert daemon.reload() == "done"
    assert stat.S_IMODE(os.stat(setup.sock).st_mode) == 0o600
    with pytest.raises(OSError, match="PermissionError"):
        setup.call("status", user="nobody")


def test_a_stale_socket_of_a_killed_daemon_is_replaced(setup):
    first = setup.start()
    first.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    first.expect_status = -signal.SIGKILL
    assert stat.S_ISSOCK(os.lstat(setup.sock).st_mode), "the killed daemon left no socket"

    second = setup.start_daemon(setup.config())
    assert setup.ok("status").message.endswith(str(second.config_path))
    second.wait_log(r"control: listening on " + re.escape(str(setup.sock)))


def test_a_second_daemon_on_the_same_socket_refuses_to_start(setup):
    first = setup.start()
    setup.ports = {"echo": free_port()}               # its own listening port
    second = setup.start_daemon(setup.config(), wait_ready=False, expect_status=1)
    second.proc.wait(10)
    assert re.search(rf"control: {re.escape(str(setup.sock))}: another certwrapd already "
                     r"answers on it", second.log()), second.log()
    assert "certwrapd: not started (1 error)" in second.log()
    # the first one still answers there, its socket file untouched
    assert setup.ok("status").message.endswith(str(first.config_path))
    assert first.running()


# (case, config globals given a socket path, the error for -t and for the start)
CONTROL_CONFIG_ERRORS = [
    ("unknown-group", lambda sock: {"control": sock, "controlGroup": "nosuchgroup"},
     r"certwrapd\.conf:\d+: controlGroup: no group \"nosuchgroup\" on this system"),
    ("no-directory", lambda sock: {"control": sock.parent / "missing" / sock.name},
     r"certwrapd\.conf:\d+: control: \S+/missing/certwrapd\.sock: No such file or directory "
     r"\(create the directory first\)"),
]


@pytest.mark.parametrize("globals_,message", [c[1:] for c in CONTROL_CONFIG_ERRORS],
                         ids=[c[0] for c in CONTROL_CONFIG_ERRORS])
def test_check_mode_refuses_a_control_socket_the_start_would_refuse(setup, globals_, message):
    text = setup.config(**globals_(setup.sock))
    status, out, err = run_check(text)
    assert status == 1 and re.search(message, err), (out, err)
    daemon = setup.start_daemon(text, wait_ready=False, expect_status=1)
    daemon.proc.wait(20)
    assert re.search(message, daemon.log()), daemon.log()


# --- bad input ---------------------------------------------------------------------------

# (case, bytes sent, the error message as a regex)
PROTOCOL_ERRORS = [
    ("garbage", b"GET / HTTP/1.0\r\n\r\n",
     r'not a certwrap control message \(expected "CWCTL/1"\)'),
    ("version-2", ctl_frame([("verb", "status")], version=2),
     r"unsupported protocol version 2 \(this side speaks 1\): use the certwrapctl of the "
     r"same release as certwrapd"),
    ("oversized", b"CWCTL/1 99999999\n",
     r"control message larger than 4194304 bytes, or a malformed header"),
    ("bad-field-name", b"CWCTL/1 14\nVerb 6\nstatus\n",
     r'field "Verb": invalid name or too many fields'),
    ("no-field-name", b"CWCTL/1 10\n 6\nstatus\n", r"malformed field name at byte 0"),
    ("truncated-value", b"CWCTL/1 15\nverb 60\nstatus\n",
     r'field "verb": bad length or truncated value'),
    ("unknown-verb", ctl_frame([("verb", "frobnicate")]),
     r'unknown verb "frobnicate" \(this certwrapd answers: status, stats, reload, swap, '
     r'issue, sign, import, renew, revoke, crl, rollback, list, show, check, csr, export, export-ca\)'),
    ("no-verb", ctl_frame([("service", "echo")]), r"the request names no verb"),
    ("empty-frame", b"CWCTL/1 0\n", r"the request names no verb"),
]


def test_protocol_errors_get_a_reason_and_the_daemon_keeps_serving(setup):
    daemon = setup.start()
    for case, data, message in PROTOCOL_ERRORS:
        start = daemon.log_size()
        r = CtlResponse(ctl_parse(ctl_exchange(setup.sock, data)))
        assert r.status == "error", case
        assert re.fullmatch(message, r.message), (case, r.message)
        _logged_error(daemon, "-" if case != "unknown-verb" else "frobnicate", r.message,
                      start=start)
        assert setup.ok("status").record("service", "echo")["cert"] == "store mail@1", case

    # a request cut short by the client's close is dropped without an answer
    assert ctl_exchange(setup.sock, ctl_frame([("verb", "status")])[:-3],
                        half_close=True) == b""
    assert setup.served_serial() == _store_serial(setup.store, "mail")
    assert setup.ok("status").message.startswith("1 service")


def test_a_client_that_never_finishes_its_request_is_timed_out_alone(setup):
    """Clients that connect and say nothing, or stop halfway, do not hold up
    others; each is closed once CONTROL_TIMEOUT_S (10 s) has passed."""
    daemon = setup.start()
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    halfway = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for s in (silent, halfway):
        s.settimeout(20)
        s.connect(str(setup.sock))
    halfway.sendall(ctl_frame([("verb", "status")])[:-5])
    started = time.monotonic()
    # meanwhile everyone else is served, well before the two time out
    for _ in range(5):
        assert setup.ok("status").message.startswith("1 service")
    assert time.monotonic() - started < 8

    for s in (silent, halfway):
        assert s.recv(100) == b"", "a timed-out client got an answer"
        s.close()
    took = time.monotonic() - started
    assert 9 < took < 20, took
    timeouts = re.findall(r"warning: control: uid=0 pid=\d+: no complete request within 10s; "
                          r"closed", daemon.log())
    assert len(timeouts) == 2, daemon.log()
    assert setup.ok("status").message.startswith("1 service")


# --- the store's verbs, carried out by the daemon ----------------------------------------


def test_every_store_verb_through_the_daemon_with_certwrapctl(setup, store, tmp_path):
    """certwrapctl -s sends each store verb to the real daemon, which carries
    it out on its own store: the changes are seen by `certwrapctl --store`
    and served by the daemon, and the files the caller names never reach the
    daemon as paths (their contents travel in the request)."""
    setup.start()

    def online(*args, status=0):
        got, out, err = run_ctl("-s", setup.sock, *args)
        assert got == status, f"certwrapctl -s {' '.join(map(str, args))}: exit {got}\n{out}{err}"
        return out + err

    # issue, list, show
    assert "new: issued: version 1 is current" in online("issue", "new", "--dns", "new.example")
    listed = json.loads(online("list", "--json"))
    assert "new" in [r.get("name") for r in listed]
    assert store.versions("new") == [1]
    assert "DNS:new.example" in online("show", "new")
    # renew and rollback of the name the daemon serves: served within the watch
    old = setup.served_serial()
    online("renew", "mail")
    assert store.versions("mail") == [1, 2]
    wait_for(lambda: setup.served_serial() != old, WATCH_S, "the renewal to be served")
    online("rollback", "mail")
    wait_for(lambda: setup.served_serial() == old, WATCH_S, "the rollback to be served")
    # sign a request made with openssl; the file never leaves the caller
    key, csr = tmp_path / "k.pem", tmp_path / "r.csr"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-subj", "/CN=signed.example", "-out", csr)
    signed = tmp_path / "signed.pem"
    online("sign", "--csr", csr, "--out", signed)
    root = store.path / "ca" / "root.pem"
    assert openssl("verify", "-CAfile", root, signed) == f"{signed}: OK\n"
    serial = _serial(signed)
    # csr and import of an outside CA's answer
    (tmp_path / "ext").mkdir()
    sign, d = outside_ca(tmp_path / "ext")
    ext_csr = tmp_path / "ext.csr"
    online("csr", "ext", "--dns", "ext.example", "--out", ext_csr)
    ext_cert = sign(ext_csr, tmp_path / "ext.pem", ["ext.example"])
    assert "incomplete chain" in online("import", "ext", "--cert", ext_cert, status=1)
    online("import", "ext", "--cert", ext_cert, "--chain", d / "inter.pem", "--ca-file",
           d / "root.pem")
    assert store.versions("ext") == [1]
    # revoke, crl: the index and the CRL say so, as openssl reads them
    online("revoke", serial, "--reason", "keyCompromise")
    crl = tmp_path / "crl.pem"
    online("crl", "--out", crl)
    assert f"Serial Number: {serial}" in openssl("crl", "-in", crl, "-noout", "-text")
    status, out, _ = run_ctl("-s", setup.sock, "check", "--warn", "30d", "--crit", "7d")
    assert status == 0 and out.startswith("CERTWRAP OK"), out
    # export, written by certwrapctl where it was asked
    online("export", "new", "--for", "dovecot", "--out", tmp_path / "dovecot")
    assert (tmp_path / "dovecot" / "fullchain.pem").read_text().startswith("-----BEGIN")
    # the offline view agrees
    names = [r["name"] for r in json.loads(store.ok("list", "--json"))]
    assert {"mail", "new", "ext"} <= set(names)
