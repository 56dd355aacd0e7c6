"""tests/backend/testbackend, in plaintext, with the real clients.

Every integration test talks to certwrapd's backends through this server, so
here it is proven on its own: smtplib, imaplib, poplib and curl deliver and
read real messages, compared byte for byte with the spool; wrong credentials
are refused; echo moves 8 MiB each way at once; 200 clients are served
concurrently; a too-long line is answered with an error and a close.
"""

import hashlib
import imaplib
import poplib
import random
import smtplib
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (BACKEND_PASS, BACKEND_USER, KNOWN_MESSAGE, KNOWN_MESSAGE_NAME, SANITIZED,
                      LineClient, rss_kib)

HOST = "127.0.0.1"
TIMEOUT_S = 10
CURL_TIMEOUT_S = 15
STALL_S = 1.0          # a blocked send this long: the peer has stopped reading

# A message exercising what SMTP must carry intact: leading dots (dot-stuffing
# on the wire), a line with only a dot, 8-bit bytes, an empty last-but-one line.
NEW_MESSAGE = (
    b"From: Sender <sender@example.test>\r\n"
    b"To: Test User <test@example.test>\r\n"
    b"Subject: delivered by a test\r\n"
    b"Message-ID: <delivered-1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"First line.\r\n"
    b".leading dot\r\n"
    b".\r\n"
    b"..two dots\r\n"
    b"caf\xc3\xa9 \xe2\x82\xac\r\n"
    b"\r\n"
    b"Last line.\r\n"
)


def smtp_deliver(backend, message=NEW_MESSAGE, rcpts=("test@example.test",)):
    """Delivers with smtplib; returns the spool file name the server reported."""
    with smtplib.SMTP(HOST, backend.smtp_port, timeout=TIMEOUT_S) as s:
        s.ehlo("client.example.test")
        assert s.mail("sender@example.test", ["BODY=8BITMIME", f"SIZE={len(message)}"])[0] == 250
        for rcpt in rcpts:
            assert s.rcpt(rcpt)[0] == 250
        code, reply = s.data(message)
    assert code == 250, reply
    name = reply.decode().rsplit(" ", 1)[1]
    assert name.endswith(".eml"), reply
    return name


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", str(CURL_TIMEOUT_S), *args],
                       capture_output=True, timeout=CURL_TIMEOUT_S + 5)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


# --- start-up and the spool ------------------------------------------------------


def test_ready_line_names_every_listener_and_the_spool_holds_the_known_message(backend):
    assert set(backend.addrs) == {"smtp", "imap", "pop3", "echo"}
    ports = [backend.port(svc) for svc in backend.addrs]
    assert all(0 < p < 65536 for p in ports) and len(set(ports)) == 4
    assert backend.messages() == [(KNOWN_MESSAGE_NAME, KNOWN_MESSAGE)]
    assert backend.ready_file.read_text().startswith("ready smtp=127.0.0.1:")
    assert backend.log().startswith("ready smtp=")         # stdout gets the line too


def test_existing_spool_is_kept_and_deliveries_sort_after_it(backend_factory, tmp_path):
    inbox = tmp_path / "backend0" / "spool" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "00000007.eml").write_bytes(b"Subject: mine\r\n\r\nbody\r\n")
    b = backend_factory()
    name = smtp_deliver(b)
    assert [n for n, _ in b.messages()] == ["00000007.eml", name]
    assert name > "00000007.eml"


def test_sigterm_stops_it_with_status_0(backend_factory):
    b = backend_factory(services=("smtp", "echo"))
    with LineClient.connect(HOST, b.smtp_port) as c:      # an open session does not hold it up
        c.expect("220 ")
        assert b.stop() == 0
    assert not b.killed


# --- SMTP ------------------------------------------------------------------------------


def test_smtplib_delivers_a_message_intact_into_the_spool(backend):
    with smtplib.SMTP(HOST, backend.smtp_port, timeout=TIMEOUT_S) as s:
        code, banner = s.ehlo("client.example.test")
        assert code == 250
        for ext in ("pipelining", "8bitmime", "size", "auth", "enhancedstatuscodes"):
            assert s.has_extn(ext), ext
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        assert int(s.esmtp_features["size"]) >= 10 * 1024 * 1024
        refused = s.sendmail("sender@example.test", ["a@example.test", "b@example.test"],
                             NEW_MESSAGE, mail_options=["BODY=8BITMIME"])
        assert refused == {}
    messages = backend.messages()
    assert len(messages) == 2
    assert messages[0] == (KNOWN_MESSAGE_NAME, KNOWN_MESSAGE)
    assert messages[1][1] == NEW_MESSAGE
    assert sorted(p.name for p in backend.inbox.iterdir()) == [n for n, _ in messages]  # no temp file


def test_smtp_auth_plain_and_login_and_a_wrong_password(backend):
    with smtplib.SMTP(HOST, backend.smtp_port, timeout=TIMEOUT_S) as s:
        s.ehlo()
        assert s.login(BACKEND_USER, BACKEND_PASS)[0] == 235          # PLAIN, initial response
    with smtplib.SMTP(HOST, backend.smtp_port, timeout=TIMEOUT_S) as s:
        s.ehlo()
        s.user, s.password = BACKEND_USER, BACKEND_PASS
        assert s.auth("LOGIN", s.auth_login, initial_response_ok=False)[0] == 235
        assert s.docmd("AUTH", "PLAIN")[0] == 503                     # already authenticated
    with smtplib.SMTP(HOST, backend.smtp_port, timeout=TIMEOUT_S) as s:
        s.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(BACKEND_USER, "not-the-password")
        assert e.value.smtp_code == 535


SMTP_DIALOGUES = [
    # (name, [(command, expected reply code)])
    ("mail before helo", [("MAIL FROM:<a@b>", 503)]),
    ("rcpt before mail", [("EHLO x", 250), ("RCPT TO:<a@b>", 503)]),
    ("data before rcpt", [("HELO x", 250), ("MAIL FROM:<a@b>", 250), ("DATA", 554)]),
    ("nested mail", [("HELO x", 250), ("MAIL FROM:<a@b>", 250), ("MAIL FROM:<c@d>", 503)]),
    ("bad path", [("HELO x", 250), ("MAIL FROM:a@b", 501)]),
    ("too big", [("EHLO x", 250), ("MAIL FROM:<a@b> SIZE=999999999", 552)]),
    ("rset ends a transaction", [("HELO x", 250), ("MAIL FROM:<a@b>", 250), ("RSET", 250),
                                 ("RCPT TO:<a@b>", 503)]),
    ("unknown command", [("EHLO x", 250), ("FROB", 500), ("NOOP", 250), ("VRFY x", 252)]),
    ("auth before ehlo", [("AUTH PLAIN", 503)]),
    ("unknown mechanism", [("EHLO x", 250), ("AUTH CRAM-MD5", 504)]),
    ("cancelled auth", [("EHLO x", 250), ("AUTH LOGIN", 334), ("*", 501)]),
    ("bad base64", [("EHLO x", 250), ("AUTH PLAIN !!!!", 501)]),
]


def smtp_reply_codes(c, n):
    """Reads n replies (multiline ones whole); returns their codes."""
    codes = []
    for _ in range(n):
        while True:
            line = c.readline()
            assert len(line) >= 4, f"short reply line {line!r} after {codes}"
            if line[3:4] == b" ":
                codes.append(int(line[:3]))
                break
    return codes


@pytest.mark.parametrize("name,dialogue", SMTP_DIALOGUES, ids=[d[0] for d in SMTP_DIALOGUES])
def test_smtp_sequence_and_syntax_errors(backend, name, dialogue):
    with LineClient.connect(HOST, backend.smtp_port) as c:
        c.expect("220 ")
        for command, want in dialogue:
            c.send(command + "\r\n")
            assert smtp_reply_codes(c, 1) == [want], command


def test_smtp_pipelined_transaction_in_one_write(backend):
    body = b"Subject: pipelined\r\n\r\n.dot\r\nend\r\n"
    stuffed = body.replace(b"\r\n.", b"\r\n..")
    script = (b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n" +
              stuffed + b".\r\nRSET\r\nQUIT\r\n")
    with LineClient.connect(HOST, backend.smtp_port) as c:
        c.expect("220 ")
        c.send(script)
        assert smtp_reply_codes(c, 8) == [250, 250, 250, 250, 354, 250, 250, 221]
        assert c.readline() == b""                      # closed after QUIT
    assert backend.messages()[-1][1] == body


def test_smtp_message_over_the_size_limit_is_refused_and_the_session_goes_on(backend):
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (11 * 1024)   # 11 MiB > SIZE
    with LineClient.connect(HOST, backend.smtp_port, timeout=30) as c:
        c.expect("220 ")
        c.send(b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
        assert smtp_reply_codes(c, 4) == [250, 250, 250, 354]
        c.send(big + b".\r\n")
        assert smtp_reply_codes(c, 1) == [552]
        c.send(b"MAIL FROM:<a@b>\r\n")                     # the transaction was reset
        assert smtp_reply_codes(c, 1) == [250]
    assert len(backend.messages()) == 1


# --- IMAP ----------------------------------------------------------------------------------


def test_imaplib_fetches_the_known_and_a_delivered_message_byte_for_byte(backend):
    smtp_deliver(backend)
    m = imaplib.IMAP4(HOST, backend.imap_port, timeout=TIMEOUT_S)
    try:
        assert "AUTH=PLAIN" in m.capabilities and "IMAP4REV1" in m.capabilities
        assert m.login(BACKEND_USER, BACKEND_PASS)[0] == "OK"
        typ, data = m.select("INBOX")
        assert (typ, data) == ("OK", [b"2"])
        assert m.untagged_responses.get("UIDVALIDITY") and m.untagged_responses.get("UIDNEXT")
        typ, data = m.fetch("1", "(RFC822)")
        assert typ == "OK" and data[0][1] == KNOWN_MESSAGE
        assert data[0][0] == b"1 (RFC822 {%d}" % len(KNOWN_MESSAGE)
        typ, data = m.uid("FETCH", "2", "(RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == NEW_MESSAGE
        assert data[0][0] == b"2 (UID 2 RFC822.SIZE %d BODY[] {%d}" % ((len(NEW_MESSAGE),) * 2)
        assert m.search(None, "ALL") == ("OK", [b"1 2"])
        assert m.uid("SEARCH", "ALL") == ("OK", [b"1 2"])
        assert m.search(None, "UNSEEN") == ("OK", [b"2"])     # RFC822 set \Seen on 1, PEEK not
        assert m.close()[0] == "OK"
    finally:
        m.logout()


def test_imaplib_authenticate_plain(backend):
    m = imaplib.IMAP4(HOST, backend.imap_port, timeout=TIMEOUT_S)
    try:
        typ, _ = m.authenticate("PLAIN", lambda _: b"\0" + BACKEND_USER.encode() + b"\0" +
                                BACKEND_PASS.encode())
        assert typ == "OK" and m.state == "AUTH"
    finally:
        m.logout()


@pytest.mark.parametrize("how", ["login", "authenticate"])
def test_imap_wrong_password_is_refused(backend, how):
    m = imaplib.IMAP4(HOST, backend.imap_port, timeout=TIMEOUT_S)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            if how == "login":
                m.login(BACKEND_USER, "wrong")
            else:
                m.authenticate("PLAIN", lambda _: b"\0test\0wrong")
        assert m.state == "NONAUTH"
    finally:
        m.logout()


def test_imap_login_with_literals(backend):
    with LineClient.connect(HOST, backend.imap_port) as c:
        c.expect("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] testbackend ready")
        c.send(b"a1 LOGIN {4}\r\n")
        c.expect("+ ")
        c.send(b"test {6}\r\n")
        c.expect("+ ")
        c.send(b"secret\r\n")
        c.expect("a1 OK ")
        c.send(b'a2 SELECT "INBOX"\r\n')
        lines = c.read_until("a2 ")
        assert lines[-1].startswith(b"a2 OK [READ-WRITE]")
        assert b"* 1 EXISTS\r\n" in lines and b"* 0 RECENT\r\n" in lines
        assert any(line.startswith(b"* OK [UIDVALIDITY ") for line in lines)
        assert b"* OK [UIDNEXT 2] Predicted next UID\r\n" in lines


def imap_session(backend):
    c = LineClient.connect(HOST, backend.imap_port)
    c.expect("* OK ")
    c.send(b"L LOGIN test secret\r\n")
    c.expect("L OK ")
    return c


FETCH_HEADER = KNOWN_MESSAGE[:KNOWN_MESSAGE.index(b"\r\n\r\n") + 4]
FETCH_TEXT = KNOWN_MESSAGE[len(FETCH_HEADER):]
IMAP_FETCHES = [
    # (command after SELECT, expected reply bytes up to and including the tagged OK)
    (b"f FETCH 1 (UID FLAGS RFC822.SIZE)",
     b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE %d)\r\nf OK FETCH completed\r\n" % len(KNOWN_MESSAGE)),
    (b"f FETCH 1 BODY.PEEK[HEADER]",
     b"* 1 FETCH (BODY[HEADER] {%d}\r\n%s)\r\nf OK FETCH completed\r\n"
     % (len(FETCH_HEADER), FETCH_HEADER)),
    (b"f FETCH 1 (BODY[TEXT])",
     b"* 1 FETCH (BODY[TEXT] {%d}\r\n%s FLAGS (\\Seen))\r\nf OK FETCH completed\r\n"
     % (len(FETCH_TEXT), FETCH_TEXT)),
    (b"f UID FETCH 1:* BODY.PEEK[]<0.6>",
     b"* 1 FETCH (UID 1 BODY[]<0> {6}\r\nFrom: )\r\nf OK UID FETCH completed\r\n"),
    (b"f UID FETCH 99 FLAGS", b"f OK UID FETCH completed\r\n"),
    (b"f FETCH 2 FLAGS", b"f BAD Invalid message sequence number\r\n"),
    (b"f FETCH 1 ENVELOPE", b"f BAD Syntax error in FETCH arguments\r\n"),
    (b"f SEARCH FROB", b"f BAD Unsupported or malformed SEARCH criteria\r\n"),
    (b"f FROB", b"f BAD Unknown command\r\n"),
    (b"f LOGIN a b", b"f BAD Command not valid in this state\r\n"),
    (b"f SELECT Other", b"f NO [NONEXISTENT] Mailbox does not exist\r\n"),
    (b'f LIST "" "*"', b'* LIST (\\HasNoChildren) "/" INBOX\r\nf OK LIST completed\r\n'),
]


@pytest.mark.parametrize("command,reply", IMAP_FETCHES, ids=[f[0].decode() for f in IMAP_FETCHES])
def test_imap_fetch_items_and_errors(backend, command, reply):
    with imap_session(backend) as c:
        c.send(b"s SELECT INBOX\r\n")
        c.read_until("s OK")
        c.send(command + b"\r\n")
        assert b"".join(c.read_until("f ")) == reply


def test_imap_examine_is_read_only_and_nothing_becomes_seen(backend):
    with imap_session(backend) as c:
        c.send(b"e EXAMINE INBOX\r\n")
        assert c.read_until("e ")[-1].startswith(b"e OK [READ-ONLY] EXAMINE completed")
        c.send(b"f FETCH 1 (RFC822.SIZE BODY[])\r\nf2 FETCH 1 FLAGS\r\n")
        c.read_until("f OK")
        assert c.read_until("f2 OK")[0] == b"* 1 FETCH (FLAGS ())\r\n"
        c.send(b"s SELECT INBOX\r\nf3 FETCH 1 RFC822\r\nf4 FETCH 1 FLAGS\r\n")
        c.read_until("f3 OK")
        assert c.read_until("f4 OK")[0] == b"* 1 FETCH (FLAGS (\\Seen))\r\n"


def test_imap_commands_before_login_are_refused(backend):
    with LineClient.connect(HOST, backend.imap_port) as c:
        c.expect("* OK ")
        c.send(b"a SELECT INBOX\r\nb FETCH 1 RFC822\r\n\r\nc CAPABILITY\r\n")
        c.expect("a BAD ")
        c.expect("b BAD ")
        c.expect("* BAD ")
        c.expect("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
        c.expect("c OK ")


def test_imap_noop_reports_messages_delivered_meanwhile(backend):
    with imap_session(backend) as c:
        c.send(b"s SELECT INBOX\r\n")
        assert b"* 1 EXISTS\r\n" in c.read_until("s OK")
        smtp_deliver(backend)
        c.send(b"n NOOP\r\n")
        assert c.read_until("n OK") == [b"* 2 EXISTS\r\n", b"n OK NOOP completed\r\n"]
        c.send(b"u UID FETCH 2 RFC822.SIZE\r\n")
        c.expect(b"* 2 FETCH (UID 2 RFC822.SIZE %d)" % len(NEW_MESSAGE))


# --- POP3 -----------------------------------------------------------------------------------


def test_poplib_retrieves_lists_and_deletes(backend):
    smtp_deliver(backend)
    p = poplib.POP3(HOST, backend.pop3_port, timeout=TIMEOUT_S)
    try:
        assert p.getwelcome() == b"+OK testbackend ready"
        capa = p.capa()
        assert {"USER", "UIDL", "TOP", "SASL"} <= set(capa) and capa["SASL"] == ["PLAIN"]
        p.user(BACKEND_USER)
        p.pass_(BACKEND_PASS)
        assert p.stat() == (2, len(KNOWN_MESSAGE) + len(NEW_MESSAGE))
        resp, lines, octets = p.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == KNOWN_MESSAGE
        assert octets >= len(KNOWN_MESSAGE)
        resp, lines, _ = p.retr(2)
        assert b"\r\n".join(lines) + b"\r\n" == NEW_MESSAGE
        assert p.list()[1] == [b"1 %d" % len(KNOWN_MESSAGE), b"2 %d" % len(NEW_MESSAGE)]
        names = [n for n, _ in backend.messages()]
        assert p.uidl()[1] == [b"1 " + names[0].encode(), b"2 " + names[1].encode()]
        resp, lines, _ = p.top(1, 1)
        assert b"\r\n".join(lines) + b"\r\n" == FETCH_HEADER + FETCH_TEXT.split(b"\r\n")[0] + b"\r\n"
        p.dele(2)
        with pytest.raises(poplib.error_proto):
            p.retr(2)
        assert p.stat()[0] == 1
        p.quit()                                         # UPDATE: the file goes
    except BaseException:
        p.close()
        raise
    assert backend.messages() == [(KNOWN_MESSAGE_NAME, KNOWN_MESSAGE)]


def test_pop3_rset_undeletes(backend):
    p = poplib.POP3(HOST, backend.pop3_port, timeout=TIMEOUT_S)
    p.user(BACKEND_USER)
    p.pass_(BACKEND_PASS)
    p.dele(1)
    p.rset()
    p.quit()
    assert len(backend.messages()) == 1


def test_pop3_wrong_password_and_sequence_errors(backend):
    p = poplib.POP3(HOST, backend.pop3_port, timeout=TIMEOUT_S)
    try:
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            p.user(BACKEND_USER)
            p.pass_("wrong")
        with pytest.raises(poplib.error_proto, match="not valid in this state"):
            p.stat()
        with pytest.raises(poplib.error_proto, match="USER first"):
            p.pass_(BACKEND_PASS)
        with pytest.raises(poplib.error_proto, match="Unknown command"):
            p._shortcmd("APOP test 0123456789abcdef0123456789abcdef")
    finally:
        p.quit()


# --- curl ------------------------------------------------------------------------------------


def test_curl_imap_and_pop3_fetch_the_known_message(backend):
    rc, out, err = curl(f"imap://{HOST}:{backend.imap_port}/INBOX;UID=1", "-u", "test:secret")
    assert rc == 0, err
    assert out == KNOWN_MESSAGE
    rc, out, err = curl(f"pop3://{HOST}:{backend.pop3_port}/1", "-u", "test:secret")
    assert rc == 0, err
    assert out == KNOWN_MESSAGE


def test_curl_smtp_upload_lands_in_the_spool_and_is_read_back(backend, tmp_path):
    upload = tmp_path / "upload.eml"
    upload.write_bytes(NEW_MESSAGE)
    rc, _, err = curl(f"smtp://{HOST}:{backend.smtp_port}", "--mail-from", "sender@example.test",
                      "--mail-rcpt", "test@example.test", "-T", str(upload))
    assert rc == 0, err
    assert backend.messages()[-1][1] == NEW_MESSAGE
    rc, out, err = curl(f"imap://{HOST}:{backend.imap_port}/INBOX;UID=2", "-u", "test:secret")
    assert rc == 0 and out == NEW_MESSAGE, err
    rc, out, err = curl(f"pop3://{HOST}:{backend.pop3_port}/2", "-u", "test:secret")
    assert rc == 0 and out == NEW_MESSAGE, err
    rc, out, err = curl(f"smtp://{HOST}:{backend.smtp_port}", "-u", "test:secret",
                        "--mail-from", "a@example.test", "--mail-rcpt", "b@example.test",
                        "-T", str(upload))
    assert rc == 0, err                                  # with AUTH this time
    assert len(backend.messages()) == 3


CURL_LOGIN_DENIED = 67


@pytest.mark.parametrize("scheme", ["imap", "pop3", "smtp"])
def test_curl_wrong_password_is_refused(backend, tmp_path, scheme):
    url = {"imap": f"imap://{HOST}:{backend.imap_port}/INBOX;UID=1",
           "pop3": f"pop3://{HOST}:{backend.pop3_port}/1",
           "smtp": f"smtp://{HOST}:{backend.smtp_port}"}[scheme]
    extra = []
    if scheme == "smtp":
        (tmp_path / "m.eml").write_bytes(NEW_MESSAGE)
        extra = ["--mail-from", "a@b.test", "--mail-rcpt", "c@d.test", "-T", str(tmp_path / "m.eml")]
    rc, out, err = curl(url, "-u", "test:wrong", *extra)
    assert rc == CURL_LOGIN_DENIED, (rc, err)
    assert out == b""
    assert len(backend.messages()) == 1


# --- credentials, memory mailbox, IPv6 ----------------------------------------------------


def test_custom_credentials_replace_the_default_ones(backend_factory):
    b = backend_factory(services=("imap",), user="alice", password="pass word")
    m = imaplib.IMAP4(HOST, b.imap_port, timeout=TIMEOUT_S)
    try:
        with pytest.raises(imaplib.IMAP4.error):
            m.login(BACKEND_USER, BACKEND_PASS)
        assert m.login("alice", "pass word")[0] == "OK"
    finally:
        m.logout()


def test_in_memory_mailbox_without_a_spool(backend_factory):
    b = backend_factory(spool=False)
    smtp_deliver(b)
    p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT_S)
    p.user(BACKEND_USER)
    p.pass_(BACKEND_PASS)
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == KNOWN_MESSAGE
    assert b"\r\n".join(p.retr(2)[1]) + b"\r\n" == NEW_MESSAGE
    p.dele(1)
    p.quit()
    p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT_S)
    p.user(BACKEND_USER)
    p.pass_(BACKEND_PASS)
    assert p.stat() == (1, len(NEW_MESSAGE))
    p.quit()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_and_several_listeners_of_one_kind(backend_factory):
    b = backend_factory(services=("echo",), host="::1",
                        extra_args=["--echo", "127.0.0.1:0", "--smtp", "[::1]:0"])
    assert [h for h, _ in b.addrs["echo"]] == ["::1", "127.0.0.1"]
    assert b.addr("smtp").startswith("[::1]:")
    for host, port in b.addrs["echo"]:
        with socket.create_connection((host, port), timeout=TIMEOUT_S) as s:
            s.sendall(b"ping")
            assert s.recv(4) == b"ping"


# --- echo ------------------------------------------------------------------------------------


def test_echo_moves_8_mib_each_way_concurrently(backend):
    size = 8 * 1024 * 1024
    data = random.Random(1).randbytes(size)
    received = hashlib.sha256()
    count = [0]

    def receive(sock):
        while count[0] < size:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received.update(chunk)
            count[0] += len(chunk)

    with socket.create_connection((HOST, backend.echo_port), timeout=30) as s:
        reader = threading.Thread(target=receive, args=(s,))
        reader.start()
        s.sendall(data)                   # the reader drains at the same time: no deadlock
        s.shutdown(socket.SHUT_WR)
        reader.join(60)
        assert not reader.is_alive(), "echo stalled"
        assert count[0] == size
        assert received.hexdigest() == hashlib.sha256(data).hexdigest()
        assert s.recv(1) == b""           # our EOF was passed on once all was sent


def test_echo_half_close_sends_what_is_pending_then_eof(backend):
    with socket.create_connection((HOST, backend.echo_port), timeout=TIMEOUT_S) as s:
        s.sendall(b"x" * 100000)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        assert got == b"x" * 100000


def test_echo_stops_reading_from_a_client_that_does_not_read(backend):
    """Backpressure: while the client never reads, the server stops taking data
    once its bounded queue and the socket buffers are full; its memory stays flat."""
    rss_before = rss_kib(backend.pid)
    sent, chunk = 0, b"y" * 65536
    with socket.create_connection((HOST, backend.echo_port), timeout=TIMEOUT_S) as s:
        # A send that makes no progress for STALL_S means the server stopped reading.
        s.settimeout(STALL_S)
        try:
            for _ in range(4096):                   # 256 MiB at most: a bounded loop
                sent += s.send(chunk)
        except socket.timeout:
            pass
        else:
            pytest.fail("the echo server took 256 MiB from a client that never reads")
        rss_after = rss_kib(backend.pid)
    assert sent < 64 * 1024 * 1024
    if not SANITIZED:
        assert rss_after - rss_before < 8 * 1024, (rss_before, rss_after)


# --- limits and load -------------------------------------------------------------------------


@pytest.mark.parametrize("service,greeting,error", [
    ("smtp", "220 ", b"500 5.5.6 Line too long\r\n"),
    ("imap", "* OK ", b"* BYE Line too long\r\n"),
    ("pop3", "+OK ", b"-ERR Line too long\r\n"),
])
def test_too_long_line_gets_an_error_and_a_close(backend, service, greeting, error):
    with LineClient.connect(HOST, backend.port(service)) as c:
        c.expect(greeting)
        c.send(b"A" * 100000 + b"\r\n")
        assert c.read_all() == error
    with LineClient.connect(HOST, backend.port(service)) as c:    # and it still serves
        c.expect(greeting)


def one_client(backend, i, barrier):
    """A short session on one of the four services; all clients hold their
    connection open at the barrier so they are served concurrently."""
    service = ("smtp", "imap", "pop3", "echo")[i % 4]
    with LineClient.connect(HOST, backend.port(service), timeout=30) as c:
        if service != "echo":
            c.readline()
        barrier.wait(30)
        if service == "smtp":
            c.send(b"EHLO c%d\r\nQUIT\r\n" % i)
            lines = c.read_until("221 ")
            return lines[0].startswith(b"250-")
        if service == "imap":
            c.send(b"a LOGIN test secret\r\nb SELECT INBOX\r\nc FETCH 1 RFC822.SIZE\r\nd LOGOUT\r\n")
            lines = c.read_until("d OK")
            return b"* 1 FETCH (RFC822.SIZE %d)\r\n" % len(KNOWN_MESSAGE) in lines
        if service == "pop3":
            c.send(b"USER test\r\nPASS secret\r\nSTAT\r\nQUIT\r\n")
            lines = [c.readline() for _ in range(4)]
            return lines[2] == b"+OK 1 %d\r\n" % len(KNOWN_MESSAGE)
        payload = b"%d " % i * 1000
        c.send(payload)
        c.sock.shutdown(socket.SHUT_WR)
        return c.read_all() == payload


def test_200_concurrent_clients_all_succeed(backend):
    n = 200
    barrier = threading.Barrier(n)
    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(lambda i: one_client(backend, i, barrier), range(n), timeout=60))
    assert results == [True] * n
