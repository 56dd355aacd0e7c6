"""The relay: half-close, backpressure, timeouts, backend failover, descriptor exhaustion.

Each case runs a real certwrapd in front of the test backend's echo service
(or no backend at all) and checks what a client sees and what the daemon logs.
"""
import os
import socket
import ssl
import threading
import time

from conftest import (SANITIZED, SANITIZER_ENV, config_text, echo, free_port, rss_kib, service,
                      wait_for)

SMALL_TIMEOUT_S = 1


def _start(pki, certwrapd, connect, nofile=None, env=None, **options):
    port = free_port()
    svc = service(port, connect, cert=pki.fullchain, key=pki.leaf_key, CAfile=pki.root,
                  **options)
    return certwrapd(config_text({"echo": svc}), nofile=nofile, env=env), port


def _tls(pki, port, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return pki.client_context().wrap_socket(sock, server_hostname="localhost")


class BioClient:
    """A TLS client over memory BIOs, so a test decides exactly when
    close_notify goes out and can keep reading afterwards (a half-close)."""

    def __init__(self, ctx, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")
        self._until_done(self.obj.do_handshake)

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def _until_done(self, op):
        while True:
            try:
                result = op()
                self._flush()
                return result
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()

    def send(self, data):
        self._until_done(lambda: self.obj.write(data))

    def send_close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass                          # the peer's close_notify has not come yet
        self._flush()

    def read_to_close_notify(self):
        """Everything the peer sends until its close_notify. (Python returns b""
        for a close_notify that comes before ours, and raises SSLZeroReturnError
        for one that answers ours; a TCP EOF without it raises SSLEOFError.)"""
        chunks = []
        while True:
            try:
                chunk = self._until_done(lambda: self.obj.read(65536))
            except ssl.SSLZeroReturnError:
                return b"".join(chunks)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_client_half_close_reaches_the_backend_and_the_reply_still_arrives(pki, backend,
                                                                          certwrapd):
    daemon, port = _start(pki, certwrapd, backend.addr("echo"))
    payload = os.urandom(300 * 1024)
    client = BioClient(pki.client_context(), port)
    client.send(payload)
    # close_notify now: certwrapd must pass it on as a TCP half-close, the echo
    # backend then finishes its reply and closes, and certwrapd must deliver the
    # whole reply before its own close_notify
    client.send_close_notify()
    assert client.read_to_close_notify() == payload
    client.sock.close()
    daemon.wait_log(r"echo: conn .* in=307200 out=307200 .*end=client-close")


def test_backend_close_is_passed_on_as_close_notify(pki, backend, certwrapd):
    port = free_port()
    svc = service(port, backend.addr("smtp"), cert=pki.fullchain, key=pki.leaf_key,
                  CAfile=pki.root)
    daemon = certwrapd(config_text({"smtps": svc}))
    client = BioClient(pki.client_context(), port)
    client.send(b"QUIT\r\n")
    reply = client.read_to_close_notify()     # SSLZeroReturnError: a clean close_notify
    assert reply.startswith(b"220 ") and b"\r\n221 " in reply
    client.sock.close()
    daemon.wait_log(r"smtps: conn .*end=backend-close")


def test_slow_consumer_memory_stays_flat(pki, backend, certwrapd):
    """A client that writes without reading: the echo's replies back up through
    certwrapd; it must stop reading instead of buffering, so its memory stays
    flat while the client pushes as much as the sockets will take."""
    # ASan's quarantine keeps every freed buffer by design, so RSS would track
    # throughput; without it, RSS shows what the daemon itself holds on to.
    env = {"ASAN_OPTIONS": SANITIZER_ENV["ASAN_OPTIONS"] + ":quarantine_size_mb=0"} \
        if SANITIZED else None
    daemon, port = _start(pki, certwrapd, backend.addr("echo"), env=env)
    tls = _tls(pki, port)
    tls.sendall(b"warm up\n")
    before = rss_kib(daemon.pid)
    tls.setblocking(False)
    chunk = os.urandom(16 * 1024)
    pushed, deadline, stalled_since = 0, time.monotonic() + 20, None
    while time.monotonic() < deadline and pushed < 256 * 1024 * 1024:
        try:
            pushed += tls.send(chunk)
            stalled_since = None
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            # blocked: wait a little to see whether it stays blocked
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 1.0:
                break
            time.sleep(0.01)
    after = rss_kib(daemon.pid)
    assert stalled_since is not None, f"client never blocked after pushing {pushed} bytes"
    # the kernel's socket buffers hold a few MiB; the daemon itself two 16 KiB buffers
    assert pushed < 64 * 1024 * 1024, pushed
    assert after - before < 4096, f"daemon grew {after - before} KiB while {pushed} bytes were pushed"
    tls.close()


def test_idle_timeout_closes_a_silent_connection(pki, backend, certwrapd):
    daemon, port = _start(pki, certwrapd, backend.addr("echo"), TIMEOUTidle=SMALL_TIMEOUT_S)
    tls = _tls(pki, port)
    tls.sendall(b"ping")
    assert tls.recv(4) == b"ping"
    tls.settimeout(10)
    assert tls.recv(1) == b""             # closed by the daemon, cleanly
    daemon.wait_log(r"echo: conn .*end=idle-timeout")


def test_handshake_timeout_closes_a_client_that_never_speaks(pki, backend, certwrapd):
    daemon, port = _start(pki, certwrapd, backend.addr("echo"), TIMEOUTbusy=SMALL_TIMEOUT_S)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        assert raw.recv(1) == b""
    daemon.wait_log(r"echo: conn client=\S+ tls=- cipher=- backend=- .*end=handshake-timeout")


def test_backend_down_client_is_closed_and_the_reason_logged(pki, certwrapd, backend):
    dead = free_port()
    daemon, port = _start(pki, certwrapd, f"127.0.0.1:{dead}")
    tls = _tls(pki, port)                 # the handshake succeeds
    assert tls.recv(1) == b""             # then a clean close: no backend
    daemon.wait_log(rf"echo: backend 127\.0\.0\.1:{dead}: Connection refused; "
                    r"no backend left to try")
    daemon.wait_log(r"echo: conn .*end=backend-unreachable "
                    rf'reason="127\.0\.0\.1:{dead}: Connection refused"')
    # and the daemon keeps serving
    tls2 = _tls(pki, port)
    assert tls2.recv(1) == b""
    assert daemon.running()


def test_failover_to_the_second_connect(pki, backend, certwrapd):
    dead = free_port()
    daemon, port = _start(pki, certwrapd, [f"127.0.0.1:{dead}", backend.addr("echo")])
    tls = _tls(pki, port)
    tls.sendall(b"hello")
    assert tls.recv(5) == b"hello"
    tls.close()
    daemon.wait_log(rf"warning: echo: backend 127\.0\.0\.1:{dead}: Connection refused; "
                    rf"trying {backend.addr('echo')}")


def test_connect_timeout_then_failover(pki, backend, certwrapd):
    """A backend that never completes the TCP handshake (a listener whose
    accept queue is full, so the kernel drops SYNs) costs TIMEOUTconnect, then
    the next `connect` serves."""
    black = socket.socket()
    black.bind(("127.0.0.1", 0))
    black.listen(0)
    fillers = []
    for _ in range(4):                    # fill the accept queue; later SYNs are dropped
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(black.getsockname())
        fillers.append(s)
    try:
        hole = f"127.0.0.1:{black.getsockname()[1]}"
        daemon, port = _start(pki, certwrapd, [hole, backend.addr("echo")],
                              TIMEOUTconnect=SMALL_TIMEOUT_S)
        tls = _tls(pki, port, timeout=15)
        tls.sendall(b"late")
        assert tls.recv(4) == b"late"
        tls.close()
        daemon.wait_log(rf"echo: backend {hole}: no answer within TIMEOUTconnect = 1s; "
                        rf"trying {backend.addr('echo')}")
    finally:
        for s in fillers:
            s.close()
        black.close()


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors_pauses_accepting_without_spinning(pki, backend, certwrapd):
    """With its descriptors used up, certwrapd must not spin on a listener that
    stays readable; once connections close, waiting clients are served."""
    daemon, port = _start(pki, certwrapd, backend.addr("echo"), nofile=48)
    held = []
    try:
        for _ in range(60):               # more than 48 descriptors' worth of clients
            held.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        daemon.wait_log(r"accept paused for 0\.5s on 127\.0\.0\.1:\d+: Too many open files")
        cpu_before = _cpu_seconds(daemon.pid)
        time.sleep(2)                     # measuring CPU use over a fixed window
        used = _cpu_seconds(daemon.pid) - cpu_before
        assert used < 0.5, f"certwrapd used {used:.2f}s of CPU in 2s while out of descriptors"
    finally:
        for s in held:
            s.close()
    # descriptors are free again: a new client is served
    def served():
        try:
            tls = _tls(pki, port, timeout=5)
            tls.sendall(b"ok")
            got = tls.recv(2)
            tls.close()
            return got == b"ok"
        except OSError:
            return False
    wait_for(served, 15, "a client served after descriptors were freed")


def _open_descriptor_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return tuple(int(x) for x in line.split()[3:5])
    raise AssertionError("no Max open files line")


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one_and_logged(pki, backend,
                                                                         certwrapd):
    daemon, port = _start(pki, certwrapd, backend.addr("echo"), nofile=(256, 4096))
    assert _open_descriptor_limit(daemon.pid) == (4096, 4096)
    daemon.wait_log(r"notice: limits: 4096 descriptors \(raised from the soft limit\): room "
                    rf"for about {(4096 - 64) // 2} connections \(two descriptors each\)")
    # a limit already at its ceiling is only reported
    daemon.stop()
    daemon, port = _start(pki, certwrapd, backend.addr("echo"), nofile=1024)
    daemon.wait_log(r"notice: limits: 1024 descriptors: room for about 480 connections")


# --- connection limits ----------------------------------------------------------------------


class _Waiting(threading.Thread):
    """A client whose TLS handshake (and echo) runs in a thread: it waits in
    the listen queue while the service is at its limit."""

    def __init__(self, pki, port):
        super().__init__(daemon=True)
        self.pki, self.port, self.tls, self.error = pki, port, None, None
        self.start()

    def run(self):
        try:
            self.tls = _tls(self.pki, self.port, timeout=30)
            echo(self.tls)
        except (OSError, ssl.SSLError) as e:
            self.error = e


def test_max_connections_pauses_accepting_and_loses_no_waiting_client(pki, backend, certwrapd):
    """maxConnections = 2: a third client is neither refused nor served while
    two are open (it waits in the listen queue, the daemon idle, not
    spinning); when one closes, it is served."""
    daemon, port = _start(pki, certwrapd, backend.addr("echo"), maxConnections="2")
    held = [_tls(pki, port) for _ in range(2)]
    for tls in held:
        assert echo(tls) == b"ping"
    waiting = _Waiting(pki, port)
    daemon.wait_log(r"notice: echo: maxConnections reached \(2 open\): accepting on "
                    r"127\.0\.0\.1:\d+ paused until a connection closes")
    cpu_before = _cpu_seconds(daemon.pid)
    waiting.join(1.0)
    assert waiting.is_alive() and waiting.tls is None, "served beyond maxConnections"
    assert _cpu_seconds(daemon.pid) - cpu_before < 0.3, "spinning at the limit"
    held.pop().close()
    waiting.join(10)
    assert not waiting.is_alive() and waiting.error is None, waiting.error
    daemon.wait_log(r"info: echo: below its connection limit again")
    waiting.tls.close()
    for tls in held:
        tls.close()
    assert "refused" not in daemon.log()


def test_max_connections_total_counts_every_service(pki, backend, certwrapd):
    ports = {name: free_port() for name in ("a", "b")}
    services = {name: service(port, backend.addr("echo"), cert=pki.fullchain,
                              key=pki.leaf_key, CAfile=pki.root)
                for name, port in ports.items()}
    daemon = certwrapd(config_text(services, {"maxConnectionsTotal": "2"}))
    held = [_tls(pki, ports["a"]), _tls(pki, ports["b"])]
    for tls in held:
        assert echo(tls) == b"ping"
    waiting = _Waiting(pki, ports["a"])
    daemon.wait_log(r"notice: \w: maxConnectionsTotal reached \(2 open\)")
    waiting.join(1.0)
    assert waiting.is_alive() and waiting.tls is None, "served beyond maxConnectionsTotal"
    held[1].close()                   # a connection of the other service frees a place
    waiting.join(10)
    assert not waiting.is_alive() and waiting.error is None, waiting.error
    waiting.tls.close()
    held[0].close()
