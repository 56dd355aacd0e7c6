"""STARTTLS in certwrapd: `protocol = smtp | imap | pop3` on a server service.

The client speaks plaintext first; certwrapd relays the real daemon's greeting
and capabilities with the upgrade added, answers STARTTLS / STLS itself, does
the handshake, and relays the rest with the backend's own TLS capabilities
removed. The backend runs with --advertise-tls (it lists STARTTLS, STLS and
LOGINDISABLED as a daemon with TLS of its own would), so every test also shows
those never reach the client, and with --verbose, so its log shows every
command it received.

Real clients first (smtplib, imaplib, poplib, openssl s_client, curl), then
the security properties over raw sockets: pipelined plaintext after STARTTLS
is dropped, nothing the backend said before TLS is answered inside it,
credentials are refused before TLS (unless requireTLS = no), lines and the
dialogue are bounded, and a backend that cannot be reached gets the
protocol's temporary failure.
"""
import base64
import imaplib
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (BACKEND_PASS, BACKEND_USER, KNOWN_MESSAGE, READY_TIMEOUT_S, LineClient,
                      ManagedProcess, config_text, free_port, run_check, service, wait_for)

STUNNEL = "/usr/bin/stunnel4"

PROTOCOLS = ("smtp", "imap", "pop3")
LONG_LINE = b"A" * 5000 + b"\r\n"          # longer than STARTTLS_LINE_MAX (4096)


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def tls_backend(backend_factory):
    """A testbackend that advertises TLS of its own and traces what it receives."""
    return backend_factory(extra_args=("--verbose", "--advertise-tls"))


def starttls_services(pki, backend, require_tls=None, prefix="", **options):
    """{name: service} with smtp, imap and pop3 STARTTLS services in front of backend."""
    return {f"{prefix}{proto}": service(free_port(), backend.addr(proto), cert=pki.fullchain,
                                        key=pki.leaf_key, CAfile=pki.root, protocol=proto,
                                        requireTLS=require_tls, **options)
            for proto in PROTOCOLS}


def port_of(svc):
    return int(svc["accept"].rpartition(":")[2])


@pytest.fixture
def mail(pki, tls_backend, certwrapd):
    """certwrapd with smtp, imap, pop3 (requireTLS default) and open_smtp,
    open_imap, open_pop3 (requireTLS = no); returns (daemon, {name: port})."""
    services = starttls_services(pki, tls_backend)
    services.update(starttls_services(pki, tls_backend, require_tls=False, prefix="open_"))
    daemon = certwrapd(config_text(services))
    return daemon, {name: port_of(svc) for name, svc in services.items()}


def received(backend):
    """The command lines the backend traced ("C: ..."), in order."""
    return re.findall(r"C: (.*)", backend.log())


def wait_received(backend, line):
    """Waits until the backend traced the command line `line`; returns all of them."""
    return wait_for(lambda: (lambda got: got if line in got else None)(received(backend)),
                    READY_TIMEOUT_S, f"the backend to receive {line!r}")


def tls_wrap(pki, client):
    """Starts TLS on a LineClient's socket (after the upgrade reply); a new LineClient."""
    tls = pki.client_context().wrap_socket(client.sock, server_hostname="localhost")
    return LineClient(tls)


def smtp_reply(client):
    """The lines of one SMTP reply."""
    lines = [client.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(client.readline())
    assert all(re.match(rb"\d{3}[- ]", line) for line in lines), lines
    return lines


def pop3_multiline(client):
    """A multi-line POP3 response: the status line, then the lines up to "."."""
    lines = [client.expect(b"+OK")]
    while lines[-1] != b".\r\n":
        lines.append(client.readline())
        assert lines[-1], f"EOF inside a multi-line response: {lines!r}"
    return lines


# --- real clients ------------------------------------------------------------------


def test_smtplib_starttls_delivers_a_message_intact(pki, tls_backend, mail):
    daemon, ports = mail
    body = (b"From: a@example.test\r\nTo: b@example.test\r\nSubject: starttls\r\n"
            b"Message-ID: <starttls-1@example.test>\r\n\r\nover STARTTLS\r\n.dot line\r\n")
    with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as smtp:
        smtp.ehlo("client.example.test")
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth"), "AUTH is offered before TLS"
        assert smtp.esmtp_features["starttls"] == ""
        code, _ = smtp.starttls(context=pki.client_context())
        assert code == 220
        smtp.ehlo("client.example.test")          # RFC 3207: EHLO again after TLS
        assert not smtp.has_extn("starttls"), "the backend's STARTTLS leaked after TLS"
        assert smtp.has_extn("auth") and smtp.has_extn("pipelining")
        smtp.login(BACKEND_USER, BACKEND_PASS)
        before = len(tls_backend.messages())
        smtp.sendmail("a@example.test", ["b@example.test"], body)
    assert tls_backend.wait_messages(before + 1)[-1][1] == body
    daemon.wait_log(r"smtp: conn client=127\.0\.0\.1:\d+ tls=TLSv1\.3 cipher=\S+ "
                    r"backend=127\.0\.0\.1:\d+ in=\d+ out=\d+ time=[\d.]+s end=\S+")
    # the backend saw two EHLOs and never a STARTTLS
    got = received(tls_backend)
    assert [c for c in got if c.upper().startswith("EHLO")] == ["ehlo client.example.test"] * 2
    assert not any(c.upper().startswith("STARTTLS") for c in got), got


def test_imaplib_starttls_logs_in_and_fetches_the_known_message(pki, tls_backend, mail):
    _, ports = mail
    imap = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=10)
    try:
        caps = imap.capabilities
        assert "STARTTLS" in caps and "LOGINDISABLED" in caps, caps
        assert not any(c.startswith("AUTH=") for c in caps), caps
        typ, _ = imap.starttls(ssl_context=pki.client_context())
        assert typ == "OK"
        caps = imap.capabilities                     # imaplib asked CAPABILITY again
        assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
        assert "AUTH=PLAIN" in caps and "IMAP4REV1" in caps, caps
        imap.login(BACKEND_USER, BACKEND_PASS)
        imap.select("INBOX")
        typ, data = imap.fetch("1", "(RFC822)")
        assert typ == "OK" and data[0][1] == KNOWN_MESSAGE
    finally:
        imap.logout()
    assert not any(" STARTTLS" in c.upper() for c in received(tls_backend))


def test_poplib_stls_logs_in_and_retrieves_the_known_message(pki, tls_backend, mail):
    _, ports = mail
    pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
    try:
        caps = pop.capa()
        assert "STLS" in caps and "USER" not in caps and "SASL" not in caps, caps
        pop.stls(context=pki.client_context())
        caps = pop.capa()                            # RFC 2595: CAPA again after STLS
        assert "STLS" not in caps, caps
        assert "USER" in caps and caps["SASL"] == ["PLAIN"], caps
        pop.user(BACKEND_USER)
        pop.pass_(BACKEND_PASS)
        _, lines, _ = pop.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == KNOWN_MESSAGE
    finally:
        pop.quit()
    assert "STLS" not in received(tls_backend)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_openssl_s_client_starttls_verifies_the_chain(pki, mail, proto):
    _, ports = mail
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{ports[proto]}",
                        "-starttls", proto, "-verify_return_error", "-CAfile", str(pki.root),
                        "-verify_hostname", "localhost", "-servername", "localhost"],
                       input=b"", capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "Verify return code: 0 (ok)" in out


@pytest.mark.parametrize("scheme,url_path", [("imap", "/INBOX;UID=1"), ("pop3", "/1")])
def test_curl_ssl_reqd_fetches_the_known_message(pki, mail, scheme, url_path):
    _, ports = mail
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", str(pki.root),
                        "-u", f"{BACKEND_USER}:{BACKEND_PASS}",
                        f"{scheme}://localhost:{ports[scheme]}{url_path}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace(b"\r\n", b"\n") == KNOWN_MESSAGE.replace(b"\r\n", b"\n")


def test_curl_ssl_reqd_sends_over_smtp(pki, tls_backend, mail, tmp_path):
    _, ports = mail
    body = (b"From: curl@example.com\r\nTo: bob@example.com\r\nSubject: curl starttls\r\n"
            b"Message-ID: <curl-starttls@example.com>\r\n\r\nsent by curl\r\n")
    f = tmp_path / "mail.eml"
    f.write_bytes(body)
    before = len(tls_backend.messages())
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", str(pki.root),
                        "-u", f"{BACKEND_USER}:{BACKEND_PASS}",
                        f"smtp://localhost:{ports['smtp']}", "--mail-from", "curl@example.com",
                        "--mail-rcpt", "bob@example.com", "-T", str(f)],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert tls_backend.wait_messages(before + 1)[-1][1] == body


# --- what is relayed and what is answered, raw ---------------------------------------


def test_smtp_ehlo_reply_gets_starttls_last_and_loses_auth(mail):
    _, ports = mail
    with LineClient.connect("127.0.0.1", ports["smtp"]) as c:
        greeting = smtp_reply(c)
        assert greeting[0].startswith(b"220 ") and b"testbackend" in greeting[0]
        c.send(b"EHLO raw.example.test\r\n")
        reply = smtp_reply(c)
        assert b"greets raw.example.test" in reply[0]
        assert reply[-1] == b"250 STARTTLS\r\n"
        assert [l for l in reply if b"STARTTLS" in l] == [b"250 STARTTLS\r\n"]
        assert not any(b"AUTH" in l for l in reply), reply
        assert b"250-PIPELINING\r\n" in reply and b"250-ENHANCEDSTATUSCODES\r\n" in reply
        c.send(b"STARTTLS now\r\n")
        assert smtp_reply(c) == [b"501 5.5.4 Syntax: STARTTLS\r\n"]
        c.send(b"QUIT\r\n")
        assert smtp_reply(c)[0].startswith(b"221 ")


def test_imap_greeting_and_capability_are_rewritten(mail):
    _, ports = mail
    with LineClient.connect("127.0.0.1", ports["imap"]) as c:
        assert c.readline() == (b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] "
                                b"testbackend ready\r\n")
        c.send(b"a1 CAPABILITY\r\n")
        assert c.readline() == b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n"
        c.expect(b"a1 OK")
        c.send(b"a2 STARTTLS extra\r\n")
        c.expect(b"a2 BAD")
        c.send(b"a3 LOGOUT\r\n")
        c.expect(b"* BYE")
        c.expect(b"a3 OK")


# --- security: pipelined plaintext after STARTTLS ----------------------------------------

PIPELINE = {
    # protocol: (before STARTTLS, STARTTLS + injected, upgrade reply, injected as the
    #            backend would trace it, after TLS, its reply's first line)
    "smtp": (b"EHLO a.example\r\n", b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example>\r\n",
             b"220 ", "RSET", b"EHLO after.example\r\n", b"250-"),
    "imap": (b"", b"t1 STARTTLS\r\nt2 LOGIN test secret\r\n", b"t1 OK",
             "t2 LOGIN test secret", b"t3 CAPABILITY\r\n", b"* CAPABILITY"),
    "pop3": (b"", b"STLS\r\nUSER test\r\n", b"+OK Begin", "USER test", b"CAPA\r\n",
             b"+OK Capability"),
}


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_plaintext_pipelined_after_starttls_is_never_relayed(pki, tls_backend, mail, proto):
    daemon, ports = mail
    before, upgrade, ok, injected, after, after_reply = PIPELINE[proto]
    with LineClient.connect("127.0.0.1", ports[proto]) as c:
        c.readline()                                     # greeting
        if before:
            c.send(before)
            smtp_reply(c)
        c.send(upgrade)                                  # one write: STARTTLS + more
        c.expect(ok)
        with tls_wrap(pki, c) as t:
            t.send(after)
            first = t.readline()
        # the injected command's answer never comes inside TLS: this is the
        # reply to the command sent after the handshake
        assert first.startswith(after_reply), first
        assert b"STARTTLS" not in first and b"LOGINDISABLED" not in first
    got = wait_received(tls_backend, after.decode().strip())
    assert injected not in got, got
    pipelined = len(upgrade.split(b"\n", 1)[1])
    daemon.wait_log(rf"{proto}: conn client=127\.0\.0\.1:\d+: plaintext dropped at STARTTLS: "
                    rf"client={pipelined} bytes")


# --- security: nothing the backend said before TLS is answered inside it -----------------


class FakeBackend:
    """A scripted plaintext backend on loopback for one connection: replies(line)
    gives the bytes to send for each line received (None: close). It records
    the lines; stop() closes it and joins its thread."""

    def __init__(self, greeting, replies):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(READY_TIMEOUT_S)
        self.port = self.sock.getsockname()[1]
        self.greeting, self.replies, self.lines = greeting, replies, []
        self.conn = None
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(READY_TIMEOUT_S)
            self.conn = conn
            self.connected.set()
            conn.sendall(self.greeting)
            f = conn.makefile("rb")
            for _ in range(100):
                try:
                    line = f.readline()
                except OSError:
                    return
                if not line:
                    return
                self.lines.append(line)
                out = self.replies(line)
                if out is None:
                    return
                conn.sendall(out)

    def send_now(self, data):
        """Sends data to certwrapd unasked, from the test's thread; returns once
        the kernel has it (on loopback: in certwrapd's receive buffer)."""
        assert self.connected.wait(READY_TIMEOUT_S)
        self.conn.sendall(data)

    def stop(self):
        self.sock.close()
        self.thread.join(READY_TIMEOUT_S)
        assert not self.thread.is_alive()


def smtp_fake(line):
    if line.upper().startswith(b"EHLO FIRST"):
        # the reply, then a reply nobody asked for
        return b"250-fake.example\r\n250 PIPELINING\r\n250 2.0.0 injected\r\n"
    if line.upper().startswith(b"EHLO"):
        # STARTTLS last: the line before it must become the last one
        return b"250-fake.example second\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
    return None


def imap_fake(line):
    tag, _, cmd = line.strip().partition(b" ")
    if cmd.upper() == b"CAPABILITY":
        return (b"* CAPABILITY IMAP4rev1 STARTTLS\r\n" + tag + b" OK done\r\n"
                b"x9 OK [CAPABILITY IMAP4rev1 INJECTED] injected\r\n")
    return None


def pop3_fake(line):
    if line.strip().upper() == b"CAPA":
        return b"+OK\r\nSTLS\r\nTOP\r\n.\r\n+OK injected\r\n"
    return None


FAKES = {
    # protocol: (greeting, replies, dialogue before STARTTLS, STARTTLS, after TLS)
    "smtp": (b"220 fake.example ESMTP\r\n", smtp_fake, b"EHLO first\r\n", b"STARTTLS\r\n",
             b"EHLO second\r\n"),
    "imap": (b"* OK fake ready\r\n", imap_fake, b"c1 CAPABILITY\r\n", b"c2 STARTTLS\r\n",
             b"c3 CAPABILITY\r\n"),
    "pop3": (b"+OK fake\r\n", pop3_fake, b"CAPA\r\n", b"STLS\r\n", b"CAPA\r\n"),
}


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_backend_bytes_sent_unasked_before_tls_never_arrive_inside_it(pki, certwrapd, proto):
    greeting, replies, dialogue, upgrade, after = FAKES[proto]
    fake = FakeBackend(greeting, replies)
    port = free_port()
    daemon = certwrapd(config_text({proto: service(port, f"127.0.0.1:{fake.port}",
                                                   cert=pki.fullchain, key=pki.leaf_key, CAfile=pki.root,
                                                   protocol=proto)}))
    try:
        with LineClient.connect("127.0.0.1", port) as c:
            c.readline()
            c.send(dialogue)
            if proto == "smtp":
                pre = smtp_reply(c)
                assert pre[-1] == b"250 STARTTLS\r\n", pre
            elif proto == "imap":
                pre = c.read_until(b"c1 ")
            else:
                pre = pop3_multiline(c)
            assert not any(b"injected" in line for line in pre), pre
            c.send(upgrade)
            upgrade_reply = c.readline()
            assert b"injected" not in upgrade_reply
            assert upgrade_reply.startswith((b"220 ", b"c2 OK", b"+OK Begin")), upgrade_reply
            with tls_wrap(pki, c) as t:
                t.send(after)
                first, second = t.readline(), t.readline()
        assert b"injected" not in first and b"INJECTED" not in first, first
        if proto == "smtp":
            assert first == b"250-fake.example second\r\n", first      # STARTTLS removed:
            assert second == b"250 8BITMIME\r\n", second              # the last is still last
        elif proto == "imap":
            assert first == b"* CAPABILITY IMAP4rev1\r\n", first
            assert second == b"c3 OK done\r\n", second
        else:
            assert first == b"+OK\r\n", first
            assert second == b"TOP\r\n", second                        # STLS removed
    finally:
        fake.stop()
    assert daemon.log().count("injected") == 0


def test_backend_bytes_sent_during_the_handshake_are_dropped(pki, certwrapd):
    """Unasked bytes that reach certwrapd after its 220 and before the TLS
    session is up are not the answer to the first command inside TLS."""
    fake = FakeBackend(b"220 fake.example ESMTP\r\n", smtp_fake)
    port = free_port()
    daemon = certwrapd(config_text({"smtp": service(port, f"127.0.0.1:{fake.port}",
                                                    cert=pki.fullchain, key=pki.leaf_key,
                                                    CAfile=pki.root, protocol="smtp")}))
    try:
        with LineClient.connect("127.0.0.1", port) as c:
            smtp_reply(c)
            c.send(b"STARTTLS\r\n")
            assert smtp_reply(c) == [b"220 2.0.0 Ready to start TLS\r\n"]
            fake.send_now(b"250 2.0.0 injected during the handshake\r\n")
            with tls_wrap(pki, c) as t:
                t.send(b"EHLO second\r\n")
                assert smtp_reply(t) == [b"250-fake.example second\r\n", b"250 8BITMIME\r\n"]
    finally:
        fake.stop()
    daemon.wait_log(r"smtp: conn client=127\.0\.0\.1:\d+: plaintext dropped at STARTTLS: "
                    r"client=0 bytes \(pipelined after STARTTLS\) backend=41 bytes")


# --- security: credentials before TLS --------------------------------------------------


def test_smtp_requiretls_refuses_auth_and_mail_before_tls(tls_backend, mail):
    _, ports = mail
    with LineClient.connect("127.0.0.1", ports["smtp"]) as c:
        smtp_reply(c)
        c.send(b"EHLO x.example\r\n")
        smtp_reply(c)
        plain = base64.b64encode(f"\0{BACKEND_USER}\0{BACKEND_PASS}".encode())
        for cmd in (b"AUTH PLAIN " + plain, b"MAIL FROM:<a@example.test>",
                    b"RCPT TO:<b@example.test>", b"DATA", b"VRFY test"):
            c.send(cmd + b"\r\n")
            assert smtp_reply(c) == [b"530 5.7.0 Must issue a STARTTLS command first\r\n"], cmd
        c.send(b"NOOP\r\n")
        assert smtp_reply(c)[0].startswith(b"250 ")
    got = wait_received(tls_backend, "NOOP")
    assert not any(c.split()[0].upper() in ("AUTH", "MAIL", "RCPT", "DATA", "VRFY")
                   for c in got), got


def test_imap_requiretls_refuses_login_and_authenticate_before_tls(tls_backend, mail):
    _, ports = mail
    with LineClient.connect("127.0.0.1", ports["imap"]) as c:
        c.readline()
        c.send(b"a1 LOGIN test secret\r\n")
        assert c.readline() == (b"a1 NO [PRIVACYREQUIRED] TLS is required: use STARTTLS "
                                b"first\r\n")
        c.send(b"a2 AUTHENTICATE PLAIN\r\n")
        c.expect(b"a2 NO [PRIVACYREQUIRED]")
        c.send(b"a3 LOGIN {4+}\r\ntest {6+}\r\nsecret\r\n")     # literals, dropped with it
        c.expect(b"a3 NO [PRIVACYREQUIRED]")
        c.send(b"a4 SELECT INBOX\r\n")
        c.expect(b"a4 BAD")
        c.send(b"a5 NOOP\r\n")
        c.expect(b"a5 OK")
    got = wait_received(tls_backend, "a5 NOOP")
    assert got[-1] == "a5 NOOP" and not any(c.startswith(("a1", "a2", "a3", "a4", "test",
                                                          "secret")) for c in got), got


def test_pop3_requiretls_refuses_user_pass_auth_apop_before_tls(tls_backend, mail):
    _, ports = mail
    with LineClient.connect("127.0.0.1", ports["pop3"]) as c:
        c.readline()
        for cmd in (b"USER test", b"PASS secret", b"AUTH PLAIN", b"APOP test abc"):
            c.send(cmd + b"\r\n")
            assert c.readline() == b"-ERR Use STLS first: no login before TLS\r\n", cmd
        c.send(b"CAPA\r\n")
        pop3_multiline(c)
    got = wait_received(tls_backend, "CAPA")
    assert got == ["CAPA"], got


def test_requiretls_no_relays_credentials_in_plaintext(tls_backend, mail):
    _, ports = mail
    with smtplib.SMTP("127.0.0.1", ports["open_smtp"], timeout=10) as smtp:
        smtp.ehlo("plain.example")
        assert smtp.has_extn("auth") and smtp.has_extn("starttls")
        smtp.login(BACKEND_USER, BACKEND_PASS)       # in plaintext: the operator's choice
        smtp.ehlo("plain.example")
        assert not smtp.has_extn("starttls"), "STARTTLS offered where it is not done"
    imap = imaplib.IMAP4("127.0.0.1", ports["open_imap"], timeout=10)
    try:
        assert "STARTTLS" in imap.capabilities and "LOGINDISABLED" not in imap.capabilities
        assert "AUTH=PLAIN" in imap.capabilities
        imap.login(BACKEND_USER, BACKEND_PASS)
        imap.select("INBOX")
        assert imap.fetch("1", "(RFC822)")[1][0][1] == KNOWN_MESSAGE
    finally:
        imap.logout()
    pop = poplib.POP3("127.0.0.1", ports["open_pop3"], timeout=10)
    try:
        caps = pop.capa()
        assert "STLS" in caps and "USER" in caps, caps
        pop.user(BACKEND_USER)
        pop.pass_(BACKEND_PASS)
        assert b"\r\n".join(pop.retr(1)[1]) + b"\r\n" == KNOWN_MESSAGE
        assert "STLS" not in pop.capa()
    finally:
        pop.quit()


# --- bounds: line length, dialogue time -------------------------------------------------

LINE_TOO_LONG = {"smtp": b"500 5.5.2 Line too long\r\n", "imap": b"* BYE Line too long\r\n",
                 "pop3": b"-ERR Line too long\r\n"}


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_overlong_line_before_tls_gets_the_error_and_a_close(tls_backend, mail, proto):
    daemon, ports = mail
    with LineClient.connect("127.0.0.1", ports[proto]) as c:
        c.readline()
        c.send(LONG_LINE)
        assert c.read_all() == LINE_TOO_LONG[proto]
    daemon.wait_log(rf'{proto}: conn .* end=client-error reason="client line too long '
                    r'before STARTTLS"')
    assert not any("AAAA" in line for line in received(tls_backend))


TIMEOUT_REPLY = {"smtp": b"421 4.4.2 ", "imap": b"* BYE Timeout", "pop3": b"-ERR Timeout"}
KEEPALIVE = {"smtp": (b"NOOP\r\n", b"250 "), "imap": (b"k NOOP\r\n", b"k OK"),
             "pop3": (b"CAPA\r\n", b".")}


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_a_dialogue_longer_than_timeoutbusy_is_closed(pki, backend, certwrapd, proto):
    """Busy or not: the dialogue before STARTTLS has TIMEOUTbusy in all."""
    port = free_port()
    daemon = certwrapd(config_text({proto: service(port, backend.addr(proto), cert=pki.fullchain,
                                                   key=pki.leaf_key, CAfile=pki.root, protocol=proto,
                                                   TIMEOUTbusy=1)}))
    command, answer = KEEPALIVE[proto]
    last = b""
    with LineClient.connect("127.0.0.1", port, timeout=15) as c:
        c.readline()
        # keep the dialogue busy until certwrapd ends it (bounded: 15 s)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.02)                         # a slow client, not a flood
            try:
                c.send(command)
            except OSError:
                break
            line = c.readline()
            while line and not line.startswith(answer) and not line.startswith(
                    TIMEOUT_REPLY[proto]):
                line = c.readline()
            last = line
            if not line or line.startswith(TIMEOUT_REPLY[proto]):
                break
    assert last.startswith(TIMEOUT_REPLY[proto]), last
    daemon.wait_log(rf'{proto}: conn .* end=dialogue-timeout reason="no STARTTLS within '
                    r'TIMEOUTbusy = 1s"')


# --- backend trouble -------------------------------------------------------------------

UNAVAILABLE = {"smtp": b"421 4.3.0 Mail service temporarily unavailable, try again later\r\n",
               "imap": b"* BYE [UNAVAILABLE] Mail service temporarily unavailable, "
                       b"try again later\r\n",
               "pop3": b"-ERR [SYS/TEMP] Mail service temporarily unavailable, "
                       b"try again later\r\n"}


def test_unreachable_backend_gets_the_protocols_temporary_failure(pki, tls_backend, certwrapd):
    dead = free_port()
    services = {f"down_{p}": service(free_port(), [f"127.0.0.1:{dead}"], cert=pki.fullchain,
                                     key=pki.leaf_key, CAfile=pki.root, protocol=p) for p in PROTOCOLS}
    services.update(starttls_services(pki, tls_backend))
    daemon = certwrapd(config_text(services))
    for proto in PROTOCOLS:
        with LineClient.connect("127.0.0.1", port_of(services[f"down_{proto}"])) as c:
            assert c.read_all() == UNAVAILABLE[proto]
        daemon.wait_log(rf"down_{proto}: conn .* backend=- .* end=backend-unreachable")
    # and the daemon serves the next client
    with smtplib.SMTP("127.0.0.1", port_of(services["smtp"]), timeout=10) as smtp:
        smtp.starttls(context=pki.client_context())
        assert smtp.noop()[0] == 250


def test_implicit_tls_mail_services_say_try_again_later_inside_tls(pki, certwrapd):
    """protocol = smtps | imaps | pop3s: TLS from the first byte, and when no
    backend answers, the protocol's temporary failure inside TLS, as the
    real clients read it, instead of a bare close."""
    dead = free_port()
    services = {p: service(free_port(), [f"127.0.0.1:{dead}"], cert=pki.fullchain,
                           key=pki.leaf_key, CAfile=pki.root, protocol=p + "s")
                for p in PROTOCOLS}
    daemon = certwrapd(config_text(services))
    ctx = pki.client_context()
    with pytest.raises(smtplib.SMTPConnectError) as smtp_error:
        smtplib.SMTP_SSL("127.0.0.1", port_of(services["smtp"]), context=ctx, timeout=10)
    assert smtp_error.value.smtp_code == 421, smtp_error.value
    with pytest.raises(imaplib.IMAP4.error) as imap_error:
        imaplib.IMAP4_SSL("127.0.0.1", port_of(services["imap"]), ssl_context=ctx, timeout=10)
    assert "temporarily unavailable" in str(imap_error.value), imap_error.value
    with pytest.raises(poplib.error_proto) as pop_error:
        poplib.POP3_SSL("127.0.0.1", port_of(services["pop3"]), context=ctx, timeout=10)
    assert str(pop_error.value).startswith("b'-ERR [SYS/TEMP] Mail service temporarily"), \
        pop_error.value
    # the bytes themselves, inside TLS
    for proto in PROTOCOLS:
        with socket.create_connection(("127.0.0.1", port_of(services[proto])), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as tls:
                got = b""
                while chunk := tls.recv(4096):
                    got += chunk
        assert got == UNAVAILABLE[proto], (proto, got)
        daemon.wait_log(rf"{proto}: conn .* tls=TLSv1\.3 .* backend=- .* "
                        rf"end=backend-unreachable")


# --- stunnel compatibility ----------------------------------------------------------------


def stunnel_smtp_conf(pki, backend, port):
    """A stunnel.conf with a STARTTLS service, as written for stunnel."""
    return f"""\
; stunnel.conf: STARTTLS in front of the local MTA
foreground = yes
syslog = no
debug = info
pid =
cert = {pki.fullchain}
key = {pki.leaf_key}
CAfile = {pki.root}

[smtp-starttls]
accept = 127.0.0.1:{port}
connect = {backend.addr('smtp')}
protocol = smtp
"""


def smtp_after_starttls(pki, port):
    """(greeting, EHLO keywords before TLS, EHLO keywords after TLS) through port."""
    with LineClient.connect("127.0.0.1", port) as c:
        greeting = smtp_reply(c)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo("c.example")
        before = set(smtp.esmtp_features)
        smtp.starttls(context=pki.client_context())
        smtp.ehlo("c.example")
        after = set(smtp.esmtp_features)
        assert smtp.login(BACKEND_USER, BACKEND_PASS)[0] == 235
    return greeting, before, after


def test_stunnel_conf_with_protocol_smtp_starts_unchanged(pki, tls_backend, certwrapd):
    port = free_port()
    text = stunnel_smtp_conf(pki, tls_backend, port)
    status, out, err = run_check(text)
    assert status == 0, err
    certwrapd(text)
    greeting, before, after = smtp_after_starttls(pki, port)
    # the real daemon's greeting; the backend's own STARTTLS never shows
    assert greeting[0].endswith(b" ESMTP testbackend\r\n") and b"stunnel" not in greeting[0]
    assert "starttls" in before and "auth" not in before, before
    assert "starttls" not in after and "auth" in after, after


def test_the_same_file_under_stunnel_leaks_the_backends_starttls(pki, tls_backend, tmp_path):
    """What certwrapd does better: stunnel rewrites the banner and relays the
    backend's own STARTTLS after TLS, where the backend cannot do it."""
    port = free_port()
    conf = tmp_path / "stunnel.conf"
    conf.write_text(stunnel_smtp_conf(pki, tls_backend, port))
    st = ManagedProcess([STUNNEL, conf], tmp_path / "stunnel.out", "stunnel")
    st.start()
    try:
        st.wait_log(r"Accepting new connections")
        greeting, before, after = smtp_after_starttls(pki, port)
    finally:
        problems = st.problems()
    assert not problems, problems
    assert b"stunnel for ESMTP" in greeting[0], greeting       # its banner, not the daemon's
    assert "starttls" in after, after
