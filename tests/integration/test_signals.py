"""Signals: SIGHUP reloads without refusing anyone, SIGTERM drains, SIGUSR1/2.

A reload builds the whole new configuration before it replaces the running one:
new handshakes get the new certificate, connections already open keep theirs,
listeners whose address did not change stay open, and a configuration that
fails leaves the running one serving.
"""
import shutil
import signal
import socket
import ssl
import threading
import time

from conftest import config_text, echo, free_port, service, wait_for


def _echo_service(pki, backend, port, cert=None, key=None, **options):
    return service(port, backend.addr("echo"), cert=cert or pki.fullchain,
                   key=key or pki.leaf_key, CAfile=pki.root, **options)


def _connect(pki, port, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return pki.client_context().wrap_socket(sock, server_hostname="localhost")


def _serial_of(tls):
    """The serial of the certificate the server presented, as openssl prints it."""
    return format(_decode_serial(tls.getpeercert()), "X")


def _decode_serial(cert):
    return int(cert["serialNumber"], 16)


def test_reload_with_a_new_certificate_keeps_open_sessions(pki, backend, certwrapd, tmp_path):
    port = free_port()
    cert, key = tmp_path / "serving.pem", tmp_path / "serving.key"
    shutil.copy(pki.fullchain, cert)
    shutil.copy(pki.leaf_key, key)
    daemon = certwrapd(config_text({"echo": _echo_service(pki, backend, port, cert, key)}))

    old = _connect(pki, port)
    assert _serial_of(old) == pki.serial(pki.leaf)
    assert echo(old) == b"ping"

    # the operator installs a renewed certificate in the same files
    shutil.copy(pki.leaf2_fullchain, cert.with_suffix(".new"))
    cert.with_suffix(".new").replace(cert)
    shutil.copy(pki.leaf2_key, key.with_suffix(".new"))
    key.with_suffix(".new").replace(key)
    assert daemon.reload() == "done"

    new = _connect(pki, port)
    assert _serial_of(new) == pki.serial(pki.leaf2)
    # the session opened before the reload is undisturbed, with its old certificate
    assert echo(old, b"still here") == b"still here"
    assert _serial_of(old) == pki.serial(pki.leaf)
    assert echo(new) == b"ping"
    old.close()
    new.close()


def test_reload_of_an_edited_config_switches_certificate(pki, backend, certwrapd):
    port = free_port()
    daemon = certwrapd(config_text({"echo": _echo_service(pki, backend, port)}))
    daemon.write_config(config_text({"echo": _echo_service(
        pki, backend, port, cert=pki.leaf2_fullchain, key=pki.leaf2_key)}))
    assert daemon.reload() == "done"
    tls = _connect(pki, port)
    assert _serial_of(tls) == pki.serial(pki.leaf2)
    tls.close()


def test_failed_reload_keeps_the_running_config(pki, backend, certwrapd):
    port = free_port()
    good = config_text({"echo": _echo_service(pki, backend, port)})
    daemon = certwrapd(good)

    # a typo: the new config is refused as a whole, with FILE:LINE
    daemon.write_config(good.replace("[echo]", "[echo]\nverifyPeeer = yes"))
    start = daemon.log_size()
    assert daemon.reload() == "failed"
    daemon.wait_log(r"error: reload: \S+certwrapd\.conf:\d+: verifyPeeer: unknown option "
                    r"\(did you mean verifyPeer\?\)", start=start)
    daemon.wait_log(r"reload: failed, keeping the running configuration \(1 error above\)",
                    start=start)
    tls = _connect(pki, port)
    assert _serial_of(tls) == pki.serial(pki.leaf) and echo(tls) == b"ping"
    tls.close()

    # an expired certificate is refused too, and the old one keeps serving
    daemon.write_config(config_text({"echo": _echo_service(
        pki, backend, port, cert=pki.expired_fullchain, key=pki.expired_key)}))
    start = daemon.log_size()
    assert daemon.reload() == "failed"
    daemon.wait_log(r"reload: \S+:\d+: cert: .*expired", start=start)
    tls = _connect(pki, port)
    assert _serial_of(tls) == pki.serial(pki.leaf)
    tls.close()


def test_no_connection_is_refused_during_reloads(pki, backend, certwrapd):
    """A client connects in a loop while the daemon reloads ten times,
    alternating two certificates: every handshake succeeds."""
    port = free_port()
    configs = [config_text({"echo": _echo_service(pki, backend, port)}),
               config_text({"echo": _echo_service(pki, backend, port, cert=pki.leaf2_fullchain,
                                                  key=pki.leaf2_key)})]
    daemon = certwrapd(configs[0])
    stop = threading.Event()
    results = {"ok": 0, "failed": []}
    seen = set()

    def hammer():
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                tls = _connect(pki, port, timeout=10)
                seen.add(_serial_of(tls))
                echo(tls, b"x")
                tls.close()
                results["ok"] += 1
            except (OSError, ssl.SSLError) as e:
                results["failed"].append(repr(e))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(10):
            before = results["ok"]
            daemon.write_config(configs[(i + 1) % 2])
            assert daemon.reload() == "done"
            wait_for(lambda: results["ok"] > before + 4, 20, "handshakes after a reload")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not results["failed"], results["failed"][:5]
    assert results["ok"] > 40
    assert seen == {pki.serial(pki.leaf), pki.serial(pki.leaf2)}


def test_reload_adds_and_removes_listeners(pki, backend, certwrapd):
    port1, port2 = free_port(), free_port()
    daemon = certwrapd(config_text({"one": _echo_service(pki, backend, port1)}))
    daemon.write_config(config_text({"one": _echo_service(pki, backend, port1),
                                     "two": _echo_service(pki, backend, port2)}))
    assert daemon.reload() == "done"
    for port in (port1, port2):
        tls = _connect(pki, port)
        assert echo(tls) == b"ping"
        tls.close()

    daemon.write_config(config_text({"two": _echo_service(pki, backend, port2)}))
    assert daemon.reload() == "done"
    daemon.wait_log(rf"listener 127\.0\.0\.1:{port1} closed \(no longer in the config\)")
    try:
        socket.create_connection(("127.0.0.1", port1), timeout=5).close()
        raise AssertionError(f"port {port1} still accepts after its service was removed")
    except ConnectionRefusedError:
        pass
    tls = _connect(pki, port2)
    assert echo(tls) == b"ping"
    tls.close()


def test_sigterm_stops_accepting_and_lets_open_connections_finish(pki, backend, certwrapd):
    port = free_port()
    daemon = certwrapd(config_text({"echo": _echo_service(pki, backend, port)}))
    tls = _connect(pki, port)
    assert echo(tls) == b"ping"

    daemon.send_signal(signal.SIGTERM)
    daemon.wait_log(r"shutdown: SIGTERM; draining 1 connection for up to 10s")

    def refused():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return False
        except ConnectionRefusedError:
            return True
    wait_for(refused, 10, "new connections to be refused after SIGTERM")
    # the open connection still works during the drain
    assert echo(tls, b"during drain") == b"during drain"
    tls.close()
    # the last connection closing ends the daemon, well before the deadline
    daemon.proc.wait(8)
    assert daemon.proc.returncode == 0
    daemon.wait_log(r"shutdown: all connections closed")
    daemon.wait_log(r"shutdown: done")


def test_sigterm_drain_deadline_closes_the_rest(pki, backend, certwrapd):
    port = free_port()
    daemon = certwrapd(config_text({"echo": _echo_service(pki, backend, port)}))
    tls = _connect(pki, port)
    assert echo(tls) == b"ping"
    daemon.send_signal(signal.SIGTERM)
    daemon.proc.wait(14)                  # the drain lasts 10 s
    assert daemon.proc.returncode == 0
    daemon.wait_log(r"shutdown: closing 1 connection still open after 10s")
    daemon.wait_log(r"echo: conn .*end=shutdown")
    tls.settimeout(5)
    assert tls.recv(1) == b""             # closed, with close_notify
    tls.close()


def test_sigusr1_reopens_the_log_file_and_sigusr2_lists_connections(pki, backend, certwrapd,
                                                                    tmp_path):
    port = free_port()
    logfile = tmp_path / "certwrapd.out"
    daemon = certwrapd(config_text({"echo": _echo_service(pki, backend, port)},
                                   globals_={"output": logfile}))
    wait_for(lambda: logfile.exists() and "ready:" in logfile.read_text(), 10, "log file")
    rotated = tmp_path / "certwrapd.out.1"
    logfile.rename(rotated)               # what logrotate does
    daemon.send_signal(signal.SIGUSR1)
    wait_for(lambda: logfile.exists() and "log file reopened" in logfile.read_text(), 10,
             "the log file to be reopened")

    tls = _connect(pki, port)
    assert echo(tls) == b"ping"
    daemon.send_signal(signal.SIGUSR2)
    wait_for(lambda: "connections: echo client=127.0.0.1:" in logfile.read_text(), 10,
             "SIGUSR2's connection list")
    assert "state=relay" in logfile.read_text()
    tls.close()
    assert "ready:" in rotated.read_text()
