"""certwrapd (implicit TLS) in front of real mail servers: Dovecot and Postfix.

The clients are Python's imaplib, poplib and smtplib, trusting the test
root CA alone; they connect from CLIENT_ADDR (127.0.0.2), and certwrapd
connects to the server from 127.0.0.1, so each server's log names
certwrapd, not the client: without a PROXY header that is all a backend can
know (test_mailservers_proxy.py has the same tests with the header).
"""
import smtplib

from conftest import KNOWN_MESSAGE
from mailservers import (CERTWRAPD_ADDR, CLIENT_ADDR, MAIL_DOMAIN, TEST_PASS, TEST_USER,
                         SourcedIMAP4_SSL, SourcedPOP3_SSL, assert_certwrapd_saw,
                         assert_delivered_intact, dovecot, mail_message, postfix,  # noqa: F401
                         wrap)


def test_imaps_to_dovecot_fetches_the_known_message(pki, certwrapd, dovecot):
    daemon, port = wrap(certwrapd, pki, "imaps", dovecot.addr("imap"))
    mark = dovecot.mark()
    with SourcedIMAP4_SSL("127.0.0.1", port, ssl_context=pki.client_context()) as imap:
        assert imap.login(TEST_USER, TEST_PASS)[0] == "OK"
        typ, data = imap.select("INBOX", readonly=True)
        assert (typ, data) == ("OK", [b"1"])
        typ, data = imap.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        assert data[0][1] == KNOWN_MESSAGE
    dovecot.wait_login("imap", mark, rip=CERTWRAPD_ADDR)
    assert_certwrapd_saw(daemon, "imaps", CLIENT_ADDR)


def test_pop3s_to_dovecot_retrieves_the_known_message(pki, certwrapd, dovecot):
    daemon, port = wrap(certwrapd, pki, "pop3s", dovecot.addr("pop3"))
    mark = dovecot.mark()
    pop = SourcedPOP3_SSL("127.0.0.1", port, context=pki.client_context())
    try:
        pop.user(TEST_USER)
        pop.pass_(TEST_PASS)
        count, size = pop.stat()
        assert (count, size) == (1, len(KNOWN_MESSAGE))
        _, lines, _ = pop.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == KNOWN_MESSAGE
    finally:
        pop.quit()              # no DELE: the message stays for the other tests
    dovecot.wait_login("pop3", mark, rip=CERTWRAPD_ADDR)
    assert_certwrapd_saw(daemon, "pop3s", CLIENT_ADDR)


def test_smtps_to_postfix_delivers_to_the_maildir(pki, certwrapd, postfix):
    daemon, port = wrap(certwrapd, pki, "smtps", postfix.addr("smtp"))
    mark = postfix.mark()
    message_id, message = mail_message("smtps")
    with smtplib.SMTP_SSL("127.0.0.1", port, context=pki.client_context(),
                          source_address=(CLIENT_ADDR, 0), timeout=10) as smtp:
        code, _ = smtp.ehlo("client.example")
        assert code == 250
        assert smtp.has_extn("pipelining") and smtp.has_extn("8bitmime")
        refused = smtp.sendmail("client@client.example", [f"{TEST_USER}@{MAIL_DOMAIN}"],
                                message)
        assert refused == {}
    assert_delivered_intact(postfix.wait_delivery(message_id), message)
    postfix.wait_client(mark, CERTWRAPD_ADDR)
    assert_certwrapd_saw(daemon, "smtps", CLIENT_ADDR)
