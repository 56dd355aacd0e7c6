"""workers = N (issue 6): connections spread over the workers by how busy
each is, limits counted across them, SIGUSR2 and shutdown reaching every one.

Which worker holds a connection is read from the daemon's own SIGUSR2
listing (worker=N on each line), matched to the client's port.
"""
import os
import re
import signal
import socket
import ssl
import threading

from conftest import (config_text, ctl_call, echo, free_port, run_check, run_ctl, service,
                      wait_for)

LISTING_RE = re.compile(
    r"connections: echo client=127\.0\.0\.1:(\d+) state=(\S+) .* worker=(\d+)")


def _start(pki, backend, certwrapd, workers, cpus=None, **globals_):
    port = free_port()
    svc = service(port, backend.addr("echo"), cert=pki.fullchain, key=pki.leaf_key,
                  CAfile=pki.root)
    options = {"workers": workers} if workers is not None else {}
    options.update(globals_)
    return certwrapd(config_text({"echo": svc}, options), cpus=cpus), port


def _tls(pki, port, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return pki.client_context().wrap_socket(sock, server_hostname="localhost")


def _workers_of(daemon, clients):
    """{client port: worker index} for clients, from one SIGUSR2 listing."""
    start = daemon.log_size()
    ports = {tls.getsockname()[1] for tls in clients}
    daemon.send_signal(signal.SIGUSR2)

    def listed():
        text = daemon.log_path.read_bytes()[start:].decode()
        found = {int(m.group(1)): int(m.group(3)) for m in LISTING_RE.finditer(text)}
        return found if ports <= found.keys() else None
    found = wait_for(listed, 10, "the SIGUSR2 listing of every client")
    return {port: found[port] for port in ports}


def _wait_closed(daemon, clients):
    """Until the daemon has logged the close of each client (counted, then)."""
    for tls in clients:
        port = tls.getsockname()[1]
        tls.close()
        daemon.wait_log(rf"echo: conn client=127\.0\.0\.1:{port} .*end=client-close")


def test_connections_go_to_the_least_busy_worker(pki, backend, certwrapd):
    """Six clients on three workers: two each. When the two of one worker
    close, the next two clients both go to it."""
    daemon, port = _start(pki, backend, certwrapd, 3)
    daemon.wait_log(r"notice: workers: 3 \(workers =\)")
    clients = [_tls(pki, port) for _ in range(6)]
    for tls in clients:
        assert echo(tls) == b"ping"
    where = _workers_of(daemon, clients)
    counts = [list(where.values()).count(w) for w in range(3)]
    assert counts == [2, 2, 2], where
    daemon.wait_log(r"connections: 6 open on 3 workers")

    emptied = [tls for tls in clients if where[tls.getsockname()[1]] == 1]
    _wait_closed(daemon, emptied)
    fresh = [_tls(pki, port) for _ in range(2)]
    for tls in fresh:
        assert echo(tls, b"pong") == b"pong"
    assert set(_workers_of(daemon, fresh).values()) == {1}
    for tls in clients + fresh:
        tls.close()


def test_status_counts_each_workers_connections(pki, backend, certwrapd, ctl_dir):
    sock = ctl_dir / "ctl.sock"
    daemon, port = _start(pki, backend, certwrapd, 3, control=sock)
    clients = [_tls(pki, port) for _ in range(4)]
    for tls in clients:
        assert echo(tls) == b"ping"
    r = ctl_call(sock, "status")
    assert r.message.startswith("1 service, 4 connections open,"), r.message
    workers = [(w["worker"], w["connections"]) for w in r.of_kind("worker")]
    assert workers == [("0", "2"), ("1", "1"), ("2", "1")], workers
    status, out, err = run_ctl("-s", sock, "status")
    assert status == 0, err
    assert re.search(r"^WORKER +CONNECTIONS\n0 +2\n1 +1\n2 +1\n", out, re.M), out
    for tls in clients:
        tls.close()


def test_workers_default_to_the_cpus_the_daemon_may_use(pki, backend, certwrapd):
    daemon, _ = _start(pki, backend, certwrapd, None, cpus={0})
    daemon.wait_log(r"notice: workers: 1 \(one per CPU this process may use\)")
    mine = min(len(os.sched_getaffinity(0)), 64)
    daemon, _ = _start(pki, backend, certwrapd, "auto")
    daemon.wait_log(rf"notice: workers: {mine} \(one per CPU this process may use\)")


def test_max_connections_total_counts_every_worker(pki, backend, certwrapd):
    """maxConnectionsTotal = 3 over three workers: a fourth client waits in
    the listen queue; the close of a connection on a worker thread (not the
    main loop's) wakes the acceptor, and the fourth is served."""
    daemon, port = _start(pki, backend, certwrapd, 3, maxConnectionsTotal="3")
    held = [_tls(pki, port) for _ in range(3)]
    for tls in held:
        assert echo(tls) == b"ping"
    where = _workers_of(daemon, held)
    assert sorted(where.values()) == [0, 1, 2]

    result = {}

    def waiting_client():
        try:
            result["tls"] = _tls(pki, port, timeout=30)
            result["echo"] = echo(result["tls"])
        except (OSError, ssl.SSLError) as e:
            result["error"] = e
    waiter = threading.Thread(target=waiting_client, daemon=True)
    waiter.start()
    daemon.wait_log(r"notice: echo: maxConnectionsTotal reached \(3 open\)")
    waiter.join(1.0)
    assert waiter.is_alive() and "tls" not in result, "served beyond maxConnectionsTotal"
    on_thread = next(tls for tls in held if where[tls.getsockname()[1]] == 2)
    held.remove(on_thread)
    on_thread.close()
    waiter.join(10)
    assert not waiter.is_alive() and result.get("echo") == b"ping", result
    result["tls"].close()
    for tls in held:
        tls.close()


def test_sigterm_drains_every_worker(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, 2)
    clients = [_tls(pki, port) for _ in range(2)]
    for tls in clients:
        assert echo(tls) == b"ping"
    assert sorted(_workers_of(daemon, clients).values()) == [0, 1]
    daemon.send_signal(signal.SIGTERM)
    daemon.wait_log(r"shutdown: SIGTERM; draining 2 connections")
    # both still relay, the thread's too, until their clients close
    for tls in clients:
        assert echo(tls, b"during drain") == b"during drain"
    clients[0].close()
    daemon.wait_log(r"echo: conn .*end=client-close")
    assert daemon.running()
    clients[1].close()
    daemon.proc.wait(8)
    assert daemon.proc.returncode == 0
    daemon.wait_log(r"shutdown: all connections closed")


def test_drain_deadline_closes_connections_on_every_worker(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, 3)
    clients = [_tls(pki, port) for _ in range(3)]
    for tls in clients:
        assert echo(tls) == b"ping"
    assert sorted(_workers_of(daemon, clients).values()) == [0, 1, 2]
    daemon.send_signal(signal.SIGTERM)
    daemon.proc.wait(14)                  # the drain lasts 10 s
    assert daemon.proc.returncode == 0
    daemon.wait_log(r"shutdown: closing 3 connections still open after 10s")
    assert len(re.findall(r"echo: conn .*end=shutdown", daemon.log())) == 3
    for tls in clients:
        tls.settimeout(5)
        assert tls.recv(1) == b""         # closed, with close_notify
        tls.close()


def test_reload_keeps_the_workers_and_says_a_change_needs_a_restart(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, 2)
    tls = _tls(pki, port)
    assert echo(tls) == b"ping"
    text = daemon.config_path.read_text().replace("workers = 2", "workers = 3")
    assert "workers = 3" in text
    daemon.write_config(text)
    start = daemon.log_size()
    daemon.send_signal(signal.SIGHUP)
    daemon.wait_log(r"warning: .*certwrapd\.conf: workers: changes take effect at the next "
                    r"restart", start=start)
    daemon.wait_log(r"reload: done", start=start)
    assert echo(tls, b"after reload") == b"after reload"
    tls.close()
    later = [_tls(pki, port) for _ in range(4)]
    assert set(_workers_of(daemon, later).values()) <= {0, 1}
    for c in later:
        c.close()


def _check(pki, workers):
    svc = service(free_port(), "127.0.0.1:1", cert=pki.fullchain, key=pki.leaf_key,
                  CAfile=pki.root)
    return run_check(config_text({"echo": svc}, {"workers": workers}))


def test_workers_option_is_checked(pki):
    for bad in ("0", "65", "two", "-1", ""):
        status, out, err = _check(pki, bad)
        assert status == 1, (bad, out, err)
        assert re.search(r"certwrapd\.conf:\d+: workers: expected a number of threads 1-64, "
                         r"or auto for one per CPU", err), (bad, err)
    for good in ("1", "64", "auto"):
        status, out, err = _check(pki, good)
        assert status == 0, (good, out, err)
