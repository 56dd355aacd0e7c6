"""Client mode (client = yes): plaintext in, TLS out to the upstream.

The upstreams are real TLS servers on loopback: certwrapd's own server mode
(a second service of the same daemon), `openssl s_server -rev` (a TLS server
that answers each line reversed), and small Python ssl servers where the
test must see what the upstream saw (the SNI name, a client certificate) or
speak SMTP, IMAP or POP3 with STARTTLS. Every process and thread a test
starts is stopped by it, with bounded waits.
"""
import imaplib
import poplib
import smtplib
import socket
import ssl
import threading

import pytest

from conftest import (LineClient, ManagedProcess, config_text, ctl_call, free_port,
                      service, wait_for)

IO_TIMEOUT_S = 10


# --- upstreams --------------------------------------------------------------------


@pytest.fixture
def s_server(tmp_path):
    """Factory: s_server(cert, key, chain=None) starts `openssl s_server -rev`
    on a loopback port and returns the port; stopped by PID at teardown."""
    started = []

    def start(cert, key, chain=None, extra=()):
        port = free_port()
        argv = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", cert,
                "-key", key, "-rev", "-quiet", *extra]
        if chain is not None:
            argv += ["-cert_chain", chain]
        p = ManagedProcess(argv, tmp_path / f"s_server{len(started)}.log", "openssl s_server")
        started.append(p)
        p.start()
        wait_for(lambda: _port_open(port), IO_TIMEOUT_S, f"s_server on port {port}")
        return port

    yield start
    for p in started:
        p.stop()


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class PyUpstream:
    """A Python TLS server on a loopback port, one thread, serving up to
    `limit` connections with handler(sock) each; what it saw goes to .seen."""

    def __init__(self, pki, handler, verify_client=False, limit=4):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(pki.fullchain), str(pki.leaf_key))
        if verify_client:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(str(pki.root))
        self.seen = {"sni": [], "peer": [], "lines": [], "connections": 0}
        self.ctx.sni_callback = lambda obj, name, ctx: self.seen["sni"].append(name)
        self.handler = handler
        self.limit = limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def tls(self, sock):
        """Wraps an accepted socket (or a plaintext one after STARTTLS)."""
        tls = self.ctx.wrap_socket(sock, server_side=True)
        cert = tls.getpeercert()
        if cert:
            self.seen["peer"].append(dict(x[0] for x in cert["subject"]))
        return tls

    def _serve(self):
        served = 0
        while served < self.limit and not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            served += 1
            self.seen["connections"] += 1
            sock.settimeout(IO_TIMEOUT_S)
            try:
                self.handler(self, sock)
            except (OSError, ssl.SSLError) as e:
                self.seen["lines"].append(f"error: {e}")
            finally:
                sock.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(IO_TIMEOUT_S)
        self.listener.close()


def tls_echo(up, sock):
    """TLS from the first byte, then one line echoed in upper case."""
    tls = up.tls(sock)
    f = tls.makefile("rb")
    line = f.readline()
    up.seen["lines"].append(line)
    tls.sendall(line.upper())
    f.close()
    tls.close()


@pytest.fixture
def py_upstream(pki):
    started = []

    def start(handler, **kwargs):
        up = PyUpstream(pki, handler, **kwargs)
        started.append(up)
        return up

    yield start
    for up in started:
        up.stop()


# --- helpers ------------------------------------------------------------------------


def client_service(accept, connect, **options):
    """A client-mode service: no cert unless given."""
    return service(accept, connect, client=True, **options)


def plain_exchange(port, data=b"hello certwrap\n"):
    """Sends one line in plaintext and returns everything until the close."""
    with LineClient.connect("127.0.0.1", port, timeout=IO_TIMEOUT_S) as c:
        c.send(data)
        return c.readline()


def wait_closed_by_daemon(port):
    """Connects, sends a line, and returns what came back before the close."""
    with LineClient.connect("127.0.0.1", port, timeout=IO_TIMEOUT_S) as c:
        c.send(b"hello\n")
        return c.read_all()


# --- against certwrapd's own server mode -------------------------------------------------


def test_chained_through_server_mode(pki, certwrapd, backend):
    """A plaintext client -> [plain] client mode -> [tls] server mode -> echo backend."""
    tls_port, plain_port = free_port(), free_port()
    d = certwrapd(config_text({
        "tls": service(tls_port, backend.addr("echo"), cert=pki.fullchain, key=pki.leaf_key,
                      CAfile=pki.root),
        "plain": client_service(plain_port, f"127.0.0.1:{tls_port}", verifyChain=True,
                                CAfile=pki.root, checkHost="localhost"),
    }))
    with LineClient.connect("127.0.0.1", plain_port, timeout=IO_TIMEOUT_S) as c:
        for i in range(3):
            c.send(f"line {i}\r\n")
            assert c.readline() == f"line {i}\r\n".encode()
    m = d.wait_log(r"plain: conn client=\S+ tls=(TLSv1\.3) cipher=\S+ "
                   rf"backend=127\.0\.0\.1:{tls_port} in=24 out=24 .*end=client-close")
    assert m
    d.wait_log(rf"tls: conn client=127\.0\.0\.1:\d+ tls=TLSv1\.3 .* in=24 out=24")


# --- against openssl s_server ---------------------------------------------------------------


def test_verified_upstream_passes(pki, certwrapd, s_server):
    upstream = s_server(pki.leaf, pki.leaf_key, chain=pki.intermediate)
    port = free_port()
    certwrapd(config_text({"out": client_service(
        port, f"127.0.0.1:{upstream}", verifyChain=True, CAfile=pki.root,
        checkHost="localhost")}))
    assert plain_exchange(port, b"abc\n") == b"cba\n"


@pytest.mark.parametrize("case", ["wrong_host", "untrusted_ca", "system_store", "peer_unlisted"])
def test_unverified_upstream_is_refused(pki, certwrapd, s_server, ctl_dir, case):
    """The connection is closed; the log names the reason and the upstream;
    stats count a handshake failure with that reason."""
    cert, key, chain = pki.leaf, pki.leaf_key, pki.intermediate
    options = {"verifyChain": True, "CAfile": pki.root}
    if case == "wrong_host":
        options["checkHost"] = "mail.example.org"
        reason = "hostname mismatch"
    elif case == "untrusted_ca":
        cert, key, chain = pki.other_leaf, pki.other_leaf_key, None
        reason = "unable to get local issuer certificate"
    elif case == "system_store":
        del options["CAfile"]
        reason = "unable to get local issuer certificate"
    else:
        options = {"verifyPeer": True, "CAfile": pki.leaf2}
        reason = "certificate not trusted"
    upstream = s_server(cert, key, chain=chain)
    port = free_port()
    control = ctl_dir / "c.sock"
    d = certwrapd(config_text({"out": client_service(port, f"127.0.0.1:{upstream}",
                                                     **options)},
                              {"control": control}))
    assert wait_closed_by_daemon(port) == b""
    d.wait_log(rf"warning: out: upstream 127\.0\.0\.1:{upstream}: TLS handshake failed: "
               rf"upstream certificate verify failed: {reason}")
    d.wait_log(rf"out: conn client=\S+ tls=- cipher=- backend=127\.0\.0\.1:{upstream} .*"
               rf"end=handshake-failed reason=\"upstream certificate verify failed: {reason}\"")
    stats = ctl_call(control, "stats")
    assert stats.record("service", "out")["handshake_failures"] == "1"
    failure = stats.of_kind("failure")
    assert [f["reason"] for f in failure] == [f"upstream certificate verify failed: {reason}"]


def test_verify_peer_accepts_the_listed_certificate(pki, certwrapd, s_server):
    """stunnel's verifyPeer: the upstream's own certificate in CAfile is enough."""
    upstream = s_server(pki.leaf, pki.leaf_key)
    port = free_port()
    certwrapd(config_text({"out": client_service(port, f"127.0.0.1:{upstream}",
                                                 verifyPeer=True, CAfile=pki.leaf)}))
    assert plain_exchange(port, b"peer\n") == b"reep\n"


def test_no_verification_is_a_warning_not_a_check(pki, certwrapd, s_server):
    """stunnel's default: without verifyChain/verifyPeer any certificate
    passes, and the start says the upstream is not verified."""
    upstream = s_server(pki.other_leaf, pki.other_leaf_key)
    port = free_port()
    d = certwrapd(config_text({"out": client_service(port, f"127.0.0.1:{upstream}")}))
    assert "upstream's certificate is not verified" in d.log()
    assert plain_exchange(port, b"xyz\n") == b"zyx\n"


def test_tcp_failure_fails_over_but_verify_failure_does_not(pki, certwrapd, s_server):
    good = s_server(pki.leaf, pki.leaf_key, chain=pki.intermediate)
    bad = s_server(pki.other_leaf, pki.other_leaf_key)
    dead = free_port()
    port, port2 = free_port(), free_port()
    d = certwrapd(config_text({
        "tcp": client_service(port, [f"127.0.0.1:{dead}", f"127.0.0.1:{good}"],
                              verifyChain=True, CAfile=pki.root, checkHost="localhost"),
        "tls": client_service(port2, [f"127.0.0.1:{bad}", f"127.0.0.1:{good}"],
                              verifyChain=True, CAfile=pki.root, checkHost="localhost"),
    }))
    assert plain_exchange(port, b"over\n") == b"revo\n"
    assert wait_closed_by_daemon(port2) == b""
    d.wait_log(rf"tls: conn client=\S+ tls=- cipher=- backend=127\.0\.0\.1:{bad} .*"
               r"end=handshake-failed")
    assert f"trying 127.0.0.1:{good}" in d.log()                 # the TCP failover
    assert not any(f"backend 127.0.0.1:{bad}" in line and "trying" in line
                   for line in d.log().splitlines())


# --- SNI and client certificates, seen by a Python upstream ------------------------------------


@pytest.mark.parametrize("connect_host, sni, want", [
    ("localhost", None, "localhost"),
    ("127.0.0.1", None, None),
    ("127.0.0.1", "mail.example.org", "mail.example.org"),
])
def test_sni_sent(pki, certwrapd, py_upstream, connect_host, sni, want):
    up = py_upstream(tls_echo)
    port = free_port()
    certwrapd(config_text({"out": client_service(
        port, f"{connect_host}:{up.port}", verifyChain=True, CAfile=pki.root,
        checkHost="localhost", sni=sni)}))
    assert plain_exchange(port, b"sni\n") == b"SNI\n"
    assert up.seen["sni"] == [want]


def test_client_certificate_is_sent(pki, certwrapd, py_upstream):
    up = py_upstream(tls_echo, verify_client=True)
    port = free_port()
    certwrapd(config_text({"out": client_service(
        port, f"127.0.0.1:{up.port}", verifyChain=True, CAfile=pki.root,
        checkHost="localhost", cert=pki.client_fullchain, key=pki.client_key)}))
    assert plain_exchange(port, b"cert\n") == b"CERT\n"
    assert up.seen["peer"] == [{"commonName": "certwrap test client"}]


# --- STARTTLS towards the upstream, for legacy mail clients ------------------------------------

USER, PASSWORD = "legacy", "secret"


def _lines(sock):
    return sock.makefile("rb")


def smtp_upstream(up, sock):
    """SMTP: STARTTLS offered in plaintext; AUTH and mail only after TLS."""
    f = _lines(sock)
    sock.sendall(b"220 upstream.test ESMTP ready\r\n")
    assert f.readline().startswith(b"EHLO ")
    sock.sendall(b"250-upstream.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
    assert f.readline() == b"STARTTLS\r\n"
    sock.sendall(b"220 2.0.0 go ahead\r\n")
    tls = up.tls(sock)
    f = _lines(tls)
    while True:
        line = f.readline()
        if not line:
            return
        up.seen["lines"].append(line)
        cmd = line.split(b" ")[0].strip().upper()
        if cmd == b"EHLO":
            tls.sendall(b"250-upstream.test\r\n250 AUTH PLAIN\r\n")
        elif cmd == b"AUTH":
            tls.sendall(b"235 2.7.0 ok\r\n")
        elif cmd in (b"MAIL", b"RCPT"):
            tls.sendall(b"250 ok\r\n")
        elif cmd == b"DATA":
            tls.sendall(b"354 go\r\n")
            body = b""
            while (l := f.readline()) not in (b".\r\n", b""):
                body += l
            up.seen["lines"].append(b"BODY:" + body)
            tls.sendall(b"250 queued over TLS\r\n")
        elif cmd == b"QUIT":
            tls.sendall(b"221 bye\r\n")
            # until the other side closes: closing with its close_notify unread
            # would reset the connection, and the summary line say so
            while f.readline():
                pass
            return
        else:
            tls.sendall(b"502 no\r\n")


def imap_upstream(up, sock):
    f = _lines(sock)
    sock.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] upstream ready\r\n")
    line = f.readline()
    tag = line.split(b" ")[0]
    assert line.split(b" ")[1].strip().upper() == b"STARTTLS"
    sock.sendall(tag + b" OK begin TLS\r\n")
    tls = up.tls(sock)
    f = _lines(tls)
    while True:
        line = f.readline()
        if not line:
            return
        up.seen["lines"].append(line)
        tag, cmd = line.split(b" ")[0], line.split(b" ")[1].strip().upper()
        if cmd == b"CAPABILITY":
            tls.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGIN":
            tls.sendall(tag + b" OK logged in over TLS\r\n")
        elif cmd == b"LOGOUT":
            tls.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            return
        else:
            tls.sendall(tag + b" BAD no\r\n")


def pop3_upstream(up, sock):
    f = _lines(sock)
    sock.sendall(b"+OK upstream POP3 ready\r\n")
    assert f.readline() == b"STLS\r\n"
    sock.sendall(b"+OK begin TLS\r\n")
    tls = up.tls(sock)
    f = _lines(tls)
    while True:
        line = f.readline()
        if not line:
            return
        up.seen["lines"].append(line)
        cmd = line.split(b" ")[0].strip().upper()
        if cmd in (b"USER", b"PASS"):
            tls.sendall(b"+OK\r\n")
        elif cmd == b"STAT":
            tls.sendall(b"+OK 2 320\r\n")
        elif cmd == b"QUIT":
            tls.sendall(b"+OK bye\r\n")
            return
        else:
            tls.sendall(b"-ERR no\r\n")


def _starttls_daemon(pki, certwrapd, up, protocol):
    port = free_port()
    d = certwrapd(config_text({"mail": client_service(
        port, f"127.0.0.1:{up.port}", protocol=protocol, verifyChain=True, CAfile=pki.root,
        checkHost="localhost")}))
    return d, port


def test_smtp_legacy_client_reaches_tls_only_upstream(pki, certwrapd, py_upstream):
    up = py_upstream(smtp_upstream)
    d, port = _starttls_daemon(pki, certwrapd, up, "smtp")
    with smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT_S) as s:
        code, banner = s.ehlo()
        assert code == 250
        assert s.has_extn("auth") and not s.has_extn("starttls")   # the list after TLS
        s.login(USER, PASSWORD)
        s.sendmail("a@example.test", ["b@example.test"], b"Subject: hi\r\n\r\nover TLS\r\n")
    assert b"BODY:Subject: hi\r\n\r\nover TLS\r\n" in up.seen["lines"]
    assert up.seen["lines"][0].upper().startswith(b"EHLO ")
    d.wait_log(r"mail: conn client=\S+ tls=TLSv1\.3 .*end=(client|backend)-close", timeout=30)


def test_smtp_greeting_is_relayed(pki, certwrapd, py_upstream):
    up = py_upstream(smtp_upstream)
    d, port = _starttls_daemon(pki, certwrapd, up, "smtp")
    with LineClient.connect("127.0.0.1", port, timeout=IO_TIMEOUT_S) as c:
        assert c.readline() == b"220 upstream.test ESMTP ready\r\n"
        c.send(b"QUIT\r\n")
        assert c.readline() == b"221 bye\r\n"


def test_imap_legacy_client_reaches_tls_only_upstream(pki, certwrapd, py_upstream):
    up = py_upstream(imap_upstream)
    d, port = _starttls_daemon(pki, certwrapd, up, "imap")
    with LineClient.connect("127.0.0.1", port, timeout=IO_TIMEOUT_S) as c:
        # the capabilities before TLS are not passed on: the client asks again
        assert c.readline() == b"* OK upstream ready\r\n"
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=IO_TIMEOUT_S)
    assert "STARTTLS" not in imap.capabilities and "AUTH=PLAIN" in imap.capabilities
    typ, data = imap.login(USER, PASSWORD)
    assert typ == "OK" and b"over TLS" in data[0]
    imap.logout()
    assert any(line.split(b" ")[1] == b"LOGIN" for line in up.seen["lines"]
               if not line.startswith(b"error"))


def test_pop3_legacy_client_reaches_tls_only_upstream(pki, certwrapd, py_upstream):
    up = py_upstream(pop3_upstream)
    d, port = _starttls_daemon(pki, certwrapd, up, "pop3")
    pop = poplib.POP3("127.0.0.1", port, timeout=IO_TIMEOUT_S)
    assert pop.getwelcome() == b"+OK upstream POP3 ready"
    pop.user(USER)
    pop.pass_(PASSWORD)
    assert pop.stat() == (2, 320)
    pop.quit()
    assert up.seen["lines"][:2] == [b"USER legacy\r\n", b"PASS secret\r\n"]


def smtp_without_starttls(up, sock):
    f = _lines(sock)
    sock.sendall(b"220 old.test ESMTP\r\n")
    f.readline()
    sock.sendall(b"250-old.test\r\n250 PIPELINING\r\n")
    f.readline()


def test_upstream_without_starttls_is_refused(pki, certwrapd, py_upstream):
    """The legacy client hears 421; the log says why, with the upstream."""
    up = py_upstream(smtp_without_starttls)
    d, port = _starttls_daemon(pki, certwrapd, up, "smtp")
    with pytest.raises(smtplib.SMTPConnectError) as e:
        smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT_S)
    assert e.value.smtp_code == 421
    d.wait_log(rf"warning: mail: upstream 127\.0\.0\.1:{up.port}: STARTTLS: upstream does "
               r"not offer STARTTLS in its EHLO reply")
    d.wait_log(r"end=handshake-failed reason=\"upstream STARTTLS: upstream does not offer")


def test_starttls_then_bad_certificate_is_refused(pki, certwrapd, py_upstream):
    up = py_upstream(pop3_upstream)
    port = free_port()
    d = certwrapd(config_text({"mail": client_service(
        port, f"127.0.0.1:{up.port}", protocol="pop3", verifyChain=True, CAfile=pki.root,
        checkHost="imap.example.org")}))
    with LineClient.connect("127.0.0.1", port, timeout=IO_TIMEOUT_S) as c:
        assert c.read_all() == b"-ERR [SYS/TEMP] Mail service temporarily unavailable, try again later\r\n"
    d.wait_log(r"TLS handshake failed: upstream certificate verify failed: hostname mismatch")


# --- certwrapd -t ----------------------------------------------------------------------------


def test_check_needs_no_server_certificate(pki):
    from conftest import run_check
    status, out, err = run_check(config_text({"out": client_service(
        free_port(), "localhost:993", verifyChain=True, CAfile=pki.root,
        checkHost="mail.example.org")}))
    assert status == 0, err
    assert "client mode, upstream verified (chain, CAfile" in out + err


def silent_upstream(up, sock):
    """Accepts and says nothing, until certwrapd gives up and closes."""
    up.seen["lines"].append(sock.recv(1))


def test_silent_upstream_is_given_up_after_timeout_busy(pki, certwrapd, py_upstream):
    up = py_upstream(silent_upstream)
    port = free_port()
    d = certwrapd(config_text({"mail": client_service(
        port, f"127.0.0.1:{up.port}", protocol="imap", TIMEOUTbusy=1)}))
    with LineClient.connect("127.0.0.1", port, timeout=IO_TIMEOUT_S) as c:
        assert c.read_all() == b"* BYE [UNAVAILABLE] Mail service temporarily unavailable, try again later\r\n"
    d.wait_log(rf"warning: mail: upstream 127\.0\.0\.1:{up.port}: no TLS within "
               r"TIMEOUTbusy = 1s \(STARTTLS\)")
    d.wait_log(r"end=handshake-timeout")
    wait_for(lambda: up.seen["lines"] == [b""], IO_TIMEOUT_S, "the upstream to see the close")


def test_status_and_swap_of_a_client_service(pki, certwrapd, s_server, ctl_dir):
    upstream = s_server(pki.leaf, pki.leaf_key, chain=pki.intermediate)
    port, port2 = free_port(), free_port()
    control = ctl_dir / "c.sock"
    certwrapd(config_text({
        "out": client_service(port, f"127.0.0.1:{upstream}", verifyChain=True,
                              CAfile=pki.root, checkHost="localhost"),
        "outcert": client_service(port2, f"127.0.0.1:{upstream}", verifyChain=True,
                                  CAfile=pki.root, checkHost="localhost",
                                  cert=pki.client_fullchain, key=pki.client_key),
    }, {"control": control}))
    status = ctl_call(control, "status")
    out = status.record("service", "out")
    assert out["cert"] == "client, no certificate" and "not_after" not in out
    outcert = status.record("service", "outcert")
    assert outcert["cert"] == f"client certificate file {pki.client_fullchain}"
    assert outcert["subject"] == "CN=certwrap test client"
    swap = ctl_call(control, "swap", ("service", "out"), ("name", "mail"))
    assert swap.status == "error"
    assert "client-mode service (client = yes) and serves no certificate" in swap.message


def test_reload_changes_the_upstream_checks(pki, certwrapd, s_server):
    upstream = s_server(pki.leaf, pki.leaf_key, chain=pki.intermediate)
    port = free_port()

    def text(check_host):
        return config_text({"out": client_service(port, f"127.0.0.1:{upstream}",
                                                  verifyChain=True, CAfile=pki.root,
                                                  checkHost=check_host)})

    d = certwrapd(text("mail.example.org"))
    assert wait_closed_by_daemon(port) == b""
    d.write_config(text("localhost"))
    assert d.reload() == "done"
    assert plain_exchange(port, b"again\n") == b"niaga\n"
