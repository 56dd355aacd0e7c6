"""Managed certificates: certname, autoIssue, the store watch and renewal.

Each case runs a real certwrapd whose service serves a name from a store
(`certstore`, `certname`), and changes the store behind the daemon's back
the way an operator or another program would: `certwrapctl --store`, or by
hand. What the daemon serves is read from new handshakes; how fast it notices
a change is measured and printed.
"""
import os
import re
import shutil
import socket
import ssl
import time

import pytest

from certstore_util import Store, openssl, outside_ca
from conftest import config_text, echo, free_port, run_check, service, wait_for

HOSTNAMES = "localhost 127.0.0.1"
WATCH_S = 3.0                      # the daemon notices a change within about a second


def _serial(cert):
    return openssl("x509", "-in", cert, "-noout", "-serial").strip().partition("=")[2]


class Managed:
    """A store and certwrapd services serving names from it."""

    def __init__(self, backend, certwrapd, store_dir):
        self.backend, self.start_daemon = backend, certwrapd
        self.store = Store(store_dir)
        self.ports = {}
        self.daemon = None

    @property
    def root(self):
        return self.store.path / "ca" / "root.pem"

    def init(self, **names):
        """A CA, then each name issued for the DNS names and IPs given."""
        self.store.ok("ca", "init")
        for name, hosts in names.items():
            args = []
            for h in hosts:
                args += ["--ip" if re.fullmatch(r"[\d.]+|.*:.*", h) else "--dns", h]
            self.store.ok("issue", name, *args)
        return self

    def config(self, services=None, **globals_):
        """services: {service: options} (default: echo serving mail, hostname set)."""
        services = services if services is not None else {"echo": {}}
        built = {}
        for name, options in services.items():
            port = self.ports.setdefault(name, free_port())
            options = {"certname": "mail", "hostname": HOSTNAMES, **options}
            built[name] = service(port, self.backend.addr("echo"), **options)
        return config_text(built, {"certstore": self.store.path, **globals_})

    def start(self, services=None, **kw):
        self.daemon = self.start_daemon(self.config(services), **kw)
        return self.daemon

    def connect(self, name="echo", host="localhost", cafile=None):
        ctx = ssl.create_default_context(cafile=str(cafile or self.root))
        sock = socket.create_connection(("127.0.0.1", self.ports[name]), timeout=10)
        return ctx.wrap_socket(sock, server_hostname=host)

    def served_serial(self, name="echo", cafile=None):
        with self.connect(name, cafile=cafile) as tls:
            return tls.getpeercert()["serialNumber"]

    def serial(self, name="mail", version=None):
        return _serial(self.store.version_dir(name, version) / "cert.pem")

    def wait_served(self, serial, name="echo", timeout=WATCH_S):
        """Polls new handshakes until they show serial; the seconds it took."""
        start = time.monotonic()
        wait_for(lambda: self.served_serial(name) == serial, timeout,
                 f"[{name}] to serve serial {serial}")
        return time.monotonic() - start


@pytest.fixture
def managed(backend, certwrapd, tmp_path):
    return Managed(backend, certwrapd, tmp_path / "store")


def _report(capsys, text):
    with capsys.disabled():
        print(f"\n  {text}")


# --- a fresh install ---------------------------------------------------------------------


def test_a_fresh_install_serves_tls_with_no_certificate_work(managed, tmp_path):
    store = managed.store.path
    text = managed.config({"echo": {"autoIssue": True}})

    status, out, err = run_check(text)
    assert status == 0, err
    assert f"certstore {store}: no CA yet; one would be created for autoIssue" in out
    assert re.search(r"\[echo\] mail would be issued by the store's CA \(autoIssue\)", out), out
    assert not store.exists(), "certwrapd -t created the store"

    daemon = managed.start_daemon(text)
    created = daemon.wait_log(rf"warning: \S+certwrapd\.conf:\d+: certstore: created a new CA "
                              rf"in {re.escape(str(store))} for autoIssue; give clients "
                              rf"{re.escape(str(store))}/ca/root\.pem to trust")
    issued = daemon.wait_log(r"warning: \S+certwrapd\.conf:\d+: autoIssue: issued mail "
                             r"\(serial ([0-9A-F]+)\) for \[echo\] from the store's CA")
    assert created.start() < issued.start()
    serial = issued.group(1)

    # clients that trust the new root reach it by name and by address
    for host in ("localhost", "127.0.0.1"):
        with managed.connect(host=host) as tls:
            assert tls.getpeercert()["serialNumber"] == serial
            assert echo(tls) == b"ping"
    (mail,) = managed.store.list()
    assert (mail["name"], mail["version"], mail["serial"], mail["status"]) == \
        ("mail", 1, serial, "valid")
    assert mail["sans"] == ["DNS:localhost", "IP:127.0.0.1"]

    # the next start serves what is there: nothing is issued twice
    assert daemon.stop() == 0
    again = managed.start_daemon(text)
    assert managed.served_serial() == serial
    assert "autoIssue" not in again.log() and "created a new CA" not in again.log()
    assert len(managed.store.list()) == 1


AUTOISSUE_NO_HOSTNAME = (r"certwrapd\.conf:\d+: autoIssue: \[echo\] has no hostname = \.\.\. "
                         r"to issue mail for; add the names clients connect to")
# (case, services, what -t says, what the start says)
CHECK_REFUSALS = [
    # another service's certname, which nothing would issue
    ("certname-without-autoissue", {"echo": {"autoIssue": True}, "imap": {"certname": "imap"}},
     r"certwrapd\.conf:\d+: certname: imap: no such certificate in \S+/store, which has no CA "
     r"yet \(autoIssue = yes would issue it\)",
     r"certwrapd\.conf:\d+: certname: imap: no such certificate in \S+/store \(certwrapctl "
     r"list shows the names\)"),
    # autoIssue with no names to issue for
    ("autoissue-without-hostname", {"echo": {"autoIssue": True, "hostname": None}},
     AUTOISSUE_NO_HOSTNAME, AUTOISSUE_NO_HOSTNAME),
]


@pytest.mark.parametrize("services,check_message,start_message",
                         [c[1:] for c in CHECK_REFUSALS], ids=[c[0] for c in CHECK_REFUSALS])
def test_check_mode_refuses_what_a_fresh_start_would_refuse(managed, services, check_message,
                                                            start_message):
    """certwrapd -t, before the store exists, says no where the start would."""
    text = managed.config(services)
    status, out, err = run_check(text)
    assert status == 1 and re.search(check_message, err), (out, err)
    assert not managed.store.path.exists(), "certwrapd -t created the store"
    daemon = managed.start_daemon(text, wait_ready=False, expect_status=1)
    daemon.proc.wait(20)
    assert re.search(start_message, daemon.log()), daemon.log()


# --- certname ------------------------------------------------------------------------------


def test_certname_serves_the_current_version(managed):
    managed.init(mail=["localhost", "127.0.0.1"])
    managed.store.ok("renew", "mail")
    managed.store.ok("renew", "mail")
    managed.store.ok("rollback", "mail")
    assert managed.store.current("mail") == 2
    daemon = managed.start()
    served = managed.served_serial()
    assert served == managed.serial("mail", 2)
    assert served not in (managed.serial("mail", 1), managed.serial("mail", 3))
    daemon.wait_log(r"\[echo\] .* \(store mail@2\)")


def test_a_certname_that_does_not_cover_hostname_is_refused(managed):
    managed.init(mail=["other.example"])
    text = managed.config({"echo": {"hostname": "localhost"}})
    line = text.splitlines().index("hostname = localhost") + 1
    message = (rf"certwrapd\.conf:{line}: hostname: CN=other\.example \(store mail@1\) does "
               r"not cover localhost, which clients of \[echo\] connect to; it is for "
               r"DNS:other\.example")
    status, out, err = run_check(text)
    assert status == 1 and re.search(message, err), err
    daemon = managed.start_daemon(text, wait_ready=False, expect_status=1)
    daemon.proc.wait(20)
    assert re.search(message, daemon.log()), daemon.log()


# --- the store watch -----------------------------------------------------------------------


def test_a_change_of_current_is_served_without_telling_the_daemon(managed, capsys):
    managed.init(mail=["localhost", "127.0.0.1"])
    daemon = managed.start()
    first = managed.serial("mail", 1)
    assert managed.served_serial() == first
    open_session = managed.connect()

    managed.store.ok("renew", "mail")
    renewed = managed.serial("mail", 2)
    took = managed.wait_served(renewed)
    daemon.wait_log(rf"echo: certificate store mail@2 \(serial {renewed}, expires in \d+ "
                    r"days\) now served, was store mail@1: the store's current version changed")
    managed.store.ok("rollback", "mail")
    took_back = managed.wait_served(first)
    _report(capsys, f"renew behind the daemon's back: served after {took:.2f}s; "
                    f"rollback: after {took_back:.2f}s")

    # the session from before both changes is undisturbed
    assert echo(open_session, b"still here") == b"still here"
    open_session.close()


def test_the_poll_sees_what_inotify_cannot_a_store_replaced_whole(managed, capsys):
    """The watched directories are those of the store the daemon started with;
    a store restored in their place (moved aside, a copy moved in) is seen by
    the one-second poll alone."""
    managed.init(mail=["localhost", "127.0.0.1"])
    managed.start()
    path = managed.store.path
    restored = Store(path.with_name("restored"))
    shutil.copytree(path, restored.path, symlinks=True)
    restored.ok("renew", "mail")
    path.rename(path.with_name("old"))
    restored.path.rename(path)
    took = managed.wait_served(managed.serial("mail", 2))
    # and later changes in the new directories as well
    managed.store.ok("renew", "mail")
    took_next = managed.wait_served(managed.serial("mail", 3))
    _report(capsys, f"store replaced whole: served after {took:.2f}s, "
                    f"then a renew after {took_next:.2f}s (poll only)")


def _point_current_at(store, name, version):
    """What an operator does by hand: a new symlink renamed over `current`."""
    d = store.name_dir(name)
    tmp = d / ".tmp-current-by-hand"
    os.symlink(str(version), tmp)
    os.rename(tmp, d / "current")


def _break_a_copy(store, name, version, other):
    """certs/NAME/VERSION: a copy of the current version whose cert.pem is
    another name's certificate (the key no longer matches it)."""
    src = store.version_dir(name)
    dst = store.name_dir(name) / str(version)
    shutil.copytree(src, dst)
    shutil.copy(store.version_dir(other) / "cert.pem", dst / "cert.pem")
    return dst


def test_a_broken_current_is_refused_once_and_the_previous_keeps_serving(managed):
    managed.init(mail=["localhost", "127.0.0.1"], mail2=["localhost", "127.0.0.1"],
                 other=["other.example"])
    # a second service that follows mail2 shows when the watch has looked again
    daemon = managed.start({"echo": {}, "watch": {"certname": "mail2"}})
    first = managed.serial("mail", 1)

    _break_a_copy(managed.store, "mail", 99, "other")
    _point_current_at(managed.store, "mail", 99)
    refused = daemon.wait_log(r"(error|warning): echo: mail@99 refused, still serving store "
                              r"mail@1: (.*)", timeout=WATCH_S)
    assert re.search(r"does not match|cert\.pem", refused.group(2)), refused.group(0)
    assert managed.served_serial() == first

    # the watch looks again (twice, for mail2's renewals) but does not retry mail@99
    for version in (2, 3):
        managed.store.ok("renew", "mail2")
        managed.wait_served(managed.serial("mail2", version), name="watch")
    assert len(re.findall(r"mail@99 refused", daemon.log())) == 1, daemon.log()
    assert managed.served_serial() == first

    # a good renewal is picked up again
    managed.store.ok("renew", "mail")
    assert managed.store.current("mail") == 100
    managed.wait_served(managed.serial("mail", 100))


def test_at_start_an_invalid_current_gives_way_to_a_valid_older_version(managed):
    managed.init(mail=["localhost", "127.0.0.1"], other=["other.example"])
    _break_a_copy(managed.store, "mail", 2, "other")
    _point_current_at(managed.store, "mail", 2)
    text = managed.config()
    fallback = (r"certwrapd\.conf:\d+: certname: mail@2 is not valid; serving mail@1 instead "
                r"until it is renewed or fixed")
    why = r"certwrapd\.conf:\d+: certname: mail@2: cert\.pem and chain\.pem are not the "
    # -t says which version would serve, and why the current one would not
    status, out, err = run_check(text)
    assert status == 0 and re.search(r"\(store mail@1\)", out), (out, err)
    assert re.search("warning: .*" + fallback, err) and re.search("warning: .*" + why, err), err
    daemon = managed.start_daemon(text)
    daemon.wait_log("warning: .*" + fallback)
    daemon.wait_log("warning: .*" + why)
    assert managed.served_serial() == managed.serial("mail", 1)


# --- renewal -------------------------------------------------------------------------------


def test_the_daemon_renews_what_is_due_and_serves_it(managed):
    """A certificate of 2 days with renewBefore = 3d is due at once: the daemon
    renews it, serves the new version, and does not renew that one again
    although it is due as well (its lifetime is shorter than renewBefore)."""
    managed.store.ok("ca", "init")
    managed.store.ok("issue", "mail", "--dns", "localhost", "--ip", "127.0.0.1",
                     "--days", "2")
    first = managed.serial("mail", 1)
    daemon = managed.start({"echo": {"renewBefore": "3d"}})
    done = daemon.wait_log(r"notice: renew: mail@2 issued \(serial ([0-9A-F]+)\), was version 1")
    managed.wait_served(done.group(1))
    assert managed.served_serial() != first
    # logged where the renewer decides not to renew it
    daemon.wait_log(r"error: renew: mail@2 is due as soon as it is issued")
    assert managed.store.versions("mail") == [1, 2], daemon.log()
    assert managed.served_serial() == done.group(1)


SHORT_LIFETIME = "1m"              # the shortest certificate the store makes
SHORT_RENEW_BEFORE = "45s"         # due about 10 s after each issue
RENEWALS = 2                       # seen served, one after the other
RENEWAL_DEADLINE_S = 90


def test_a_short_lived_certificate_is_renewed_and_swapped_while_clients_connect(managed,
                                                                                 capsys):
    """A one-minute certificate with renewBefore = 45s: the daemon renews it by
    itself, again and again, and serves each new version, while a client keeps
    making full handshakes (each verified against the root, host name
    checked, one echo) without a single failure, and never sees an expired
    certificate."""
    managed.store.ok("ca", "init")
    managed.store.ok("issue", "mail", "--dns", "localhost", "--ip", "127.0.0.1",
                     "--lifetime", SHORT_LIFETIME)
    daemon = managed.start({"echo": {"renewBefore": SHORT_RENEW_BEFORE}})
    seen, failures, handshakes = [], [], 0
    start = time.monotonic()
    while time.monotonic() - start < RENEWAL_DEADLINE_S:
        try:
            with managed.connect() as tls:
                cert = tls.getpeercert()
                assert echo(tls) == b"ping"
            handshakes += 1
            expires = ssl.cert_time_to_seconds(cert["notAfter"])
            assert expires > time.time() - 1, f"an expired certificate was served: {cert}"
            if not seen or seen[-1] != cert["serialNumber"]:
                seen.append(cert["serialNumber"])
        except (OSError, ssl.SSLError) as e:
            failures.append(repr(e))
        if len(seen) > RENEWALS:
            break
        time.sleep(0.05)
    assert failures == [], failures[:5]
    assert len(seen) > RENEWALS, f"served only {seen} in {RENEWAL_DEADLINE_S}s:\n{daemon.log()}"
    # each served serial is the store's version of that number, in order, made by the daemon
    versions = managed.store.versions("mail")
    assert versions[:RENEWALS + 1] == list(range(1, RENEWALS + 2)), versions
    assert seen == [managed.serial("mail", v) for v in range(1, RENEWALS + 2)]
    for v in range(2, RENEWALS + 2):
        daemon.wait_log(rf"notice: renew: mail@{v} issued \(serial {seen[v - 1]}\), "
                        rf"was version {v - 1}")
    lifetime = [openssl("x509", "-in", managed.store.version_dir("mail", v) / "cert.pem",
                        "-noout", "-startdate", "-enddate") for v in (1, RENEWALS + 1)]
    _report(capsys, f"short-lived renewal: {handshakes} handshakes, 0 failures, versions "
                    f"1..{RENEWALS + 1} served in {time.monotonic() - start:.1f}s "
                    f"({lifetime[-1].strip().replace(chr(10), ', ')})")


# --- certificates of an outside CA ----------------------------------------------------------


def _import_outside(managed, tmp_path, name, days):
    sign, d = outside_ca(tmp_path / name)
    csr = tmp_path / f"{name}.csr"
    managed.store.ok("csr", name, "--dns", "localhost", "--out", csr)
    cert = sign(csr, tmp_path / f"{name}.pem", ["localhost"], days=days)
    managed.store.ok("import", name, "--cert", cert, "--chain", d / "inter.pem",
                     "--ca-file", d / "root.pem")
    return _serial(cert)


def test_an_outside_certificate_near_expiry_is_served_and_reported_louder_as_it_nears(
        managed, tmp_path):
    """The daemon cannot renew what an outside CA signed: it serves it, and
    logs a warning inside 30 days, an error inside 7, naming what to do; the
    store's check reports the same. A distant expiry is not mentioned."""
    for d in ("soon", "later", "far"):
        (tmp_path / d).mkdir()
    managed.store.ok("ca", "init")
    serials = {name: _import_outside(managed, tmp_path, name, days)
               for name, days in (("soon", 5), ("later", 20), ("far", 200))}
    services = {name: {"certname": name, "hostname": "localhost"} for name in serials}
    daemon = managed.start(services)
    issuer = "CN=Outside Intermediate CA, O=Outside"
    for name, level, days in (("soon", "error", "[45]"), ("later", "warning", "(19|20)")):
        daemon.wait_log(rf"{level}: renew: {name} \(serial {serials[name]}, issued by "
                        rf"{issuer}\) expires in {days} days: it is not from this store's CA, "
                        rf"so certwrapd cannot renew it; import its successor "
                        rf"\(certwrapctl import {name} \.\.\.\)")
        assert managed.served_serial(name, tmp_path / name / "outside" / "root.pem") == \
            serials[name]
    assert managed.served_serial("far", tmp_path / "far" / "outside" / "root.pem") == \
        serials["far"]
    assert "renew: far" not in daemon.log()
    assert managed.store.versions("soon") == [1], "an outside certificate was renewed"
    status, out, _ = managed.store.ctl("check", "--warn", "30d", "--crit", "7d")
    assert status == 2 and out.startswith("CERTWRAP CRITICAL"), out
    assert "soon" in out and "later" in out and "far" not in out.partition("|")[0], out
