"""Real mail servers behind certwrapd's PROXY header and its server-side STARTTLS.

Needs `proxyProtocol = v1 | v2` (the header certwrapd sends the backend first)
and `protocol = smtp | imap | pop3` (the plaintext dialogue, then TLS, done
by certwrapd). Dovecot and Postfix each listen twice: plain, and expecting
the PROXY header (Dovecot: `haproxy = yes`, v1 and v2; Postfix:
`smtpd_upstream_proxy_protocol = haproxy`, v1 and, since 3.5, v2).

The clients connect from CLIENT_ADDR (127.0.0.2) and certwrapd reaches the
servers from 127.0.0.1: with the header each server's log must name the real
client, 127.0.0.2; without it, certwrapd.
"""
import smtplib

import pytest

from conftest import KNOWN_MESSAGE
from mailservers import (CERTWRAPD_ADDR, CLIENT_ADDR, MAIL_DOMAIN, TEST_PASS, TEST_USER,
                         SourcedIMAP4, SourcedIMAP4_SSL, SourcedPOP3, SourcedPOP3_SSL,
                         assert_certwrapd_saw, assert_delivered_intact, dovecot,  # noqa: F401
                         mail_message, postfix, wrap)  # noqa: F401


def _backend(server, protocol, proxy):
    """The listener to connect to and the address the server must log: its
    PROXY listener and the real client with a header, else the plain one and
    certwrapd."""
    if proxy:
        return server.addr(f"{protocol}_proxy"), CLIENT_ADDR
    return server.addr(protocol), CERTWRAPD_ADDR


def _send(smtp, tag):
    message_id, message = mail_message(tag)
    refused = smtp.sendmail("client@client.example", [f"{TEST_USER}@{MAIL_DOMAIN}"], message)
    assert refused == {}
    return message_id, message


def _fetch_known_message(imap):
    assert imap.login(TEST_USER, TEST_PASS)[0] == "OK"
    assert imap.select("INBOX", readonly=True) == ("OK", [b"1"])
    typ, data = imap.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == KNOWN_MESSAGE


def _retrieve_known_message(pop):
    try:
        pop.user(TEST_USER)
        pop.pass_(TEST_PASS)
        assert pop.stat() == (1, len(KNOWN_MESSAGE))
        _, lines, _ = pop.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == KNOWN_MESSAGE
    finally:
        pop.quit()


# --- (a) implicit TLS with the PROXY header ------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_imaps_with_proxy_header_dovecot_logs_the_real_client(pki, certwrapd, dovecot,
                                                               version):
    target, rip = _backend(dovecot, "imap", proxy=True)
    daemon, port = wrap(certwrapd, pki, "imaps", target, proxyProtocol=version)
    mark = dovecot.mark()
    with SourcedIMAP4_SSL("127.0.0.1", port, ssl_context=pki.client_context()) as imap:
        _fetch_known_message(imap)
    dovecot.wait_login("imap", mark, rip=rip)
    assert_certwrapd_saw(daemon, "imaps", CLIENT_ADDR)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_pop3s_with_proxy_header_dovecot_logs_the_real_client(pki, certwrapd, dovecot,
                                                               version):
    target, rip = _backend(dovecot, "pop3", proxy=True)
    daemon, port = wrap(certwrapd, pki, "pop3s", target, proxyProtocol=version)
    mark = dovecot.mark()
    _retrieve_known_message(SourcedPOP3_SSL("127.0.0.1", port, context=pki.client_context()))
    dovecot.wait_login("pop3", mark, rip=rip)
    assert_certwrapd_saw(daemon, "pop3s", CLIENT_ADDR)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_smtps_with_proxy_header_postfix_logs_the_real_client(pki, certwrapd, postfix,
                                                              version):
    target, client = _backend(postfix, "smtp", proxy=True)
    daemon, port = wrap(certwrapd, pki, "smtps", target, proxyProtocol=version)
    mark = postfix.mark()
    with smtplib.SMTP_SSL("127.0.0.1", port, context=pki.client_context(),
                          source_address=(CLIENT_ADDR, 0), timeout=10) as smtp:
        assert smtp.ehlo("client.example")[0] == 250
        message_id, message = _send(smtp, f"smtps-proxy-{version}")
    assert_delivered_intact(postfix.wait_delivery(message_id), message)
    postfix.wait_client(mark, client)
    assert_certwrapd_saw(daemon, "smtps", CLIENT_ADDR)


# --- (b) SMTP STARTTLS by certwrapd in front of Postfix -----------------------------------


@pytest.mark.parametrize("proxy", [None, "v1"])
def test_smtp_starttls_to_postfix_delivers_and_shows_postfix_extensions(pki, certwrapd,
                                                                        postfix, proxy):
    target, client = _backend(postfix, "smtp", proxy)
    daemon, port = wrap(certwrapd, pki, "smtp", target, protocol="smtp", proxyProtocol=proxy)
    mark = postfix.mark()
    with smtplib.SMTP("127.0.0.1", port, source_address=(CLIENT_ADDR, 0),
                      timeout=10) as smtp:
        assert smtp.ehlo("client.example")[0] == 250
        assert smtp.has_extn("starttls"), f"no STARTTLS offered: {smtp.esmtp_features}"
        assert smtp.starttls(context=pki.client_context())[0] == 220
        assert smtp.ehlo("client.example")[0] == 250
        features = smtp.esmtp_features
        # Postfix's own extensions, through the tunnel; STARTTLS is done and gone
        for extension in ("pipelining", "size", "8bitmime", "enhancedstatuscodes"):
            assert extension in features, f"{extension} missing after TLS: {features}"
        assert "starttls" not in features, f"STARTTLS offered again after TLS: {features}"
        message_id, message = _send(smtp, f"starttls-{proxy}")
    assert_delivered_intact(postfix.wait_delivery(message_id), message)
    postfix.wait_client(mark, client)
    assert_certwrapd_saw(daemon, "smtp", CLIENT_ADDR)


# --- (c) IMAP and POP3 STARTTLS by certwrapd in front of Dovecot --------------------------


@pytest.mark.parametrize("proxy", [None, "v2"])
def test_imap_starttls_to_dovecot_fetches_the_known_message(pki, certwrapd, dovecot, proxy):
    target, rip = _backend(dovecot, "imap", proxy)
    daemon, port = wrap(certwrapd, pki, "imap", target, protocol="imap", proxyProtocol=proxy)
    mark = dovecot.mark()
    with SourcedIMAP4("127.0.0.1", port) as imap:
        assert "STARTTLS" in imap.capabilities, f"no STARTTLS offered: {imap.capabilities}"
        assert imap.starttls(ssl_context=pki.client_context())[0] == "OK"
        # imaplib asked for the capabilities again, over TLS
        assert "STARTTLS" not in imap.capabilities, \
            f"STARTTLS offered again after TLS: {imap.capabilities}"
        _fetch_known_message(imap)
    dovecot.wait_login("imap", mark, rip=rip)
    assert_certwrapd_saw(daemon, "imap", CLIENT_ADDR)


@pytest.mark.parametrize("proxy", [None, "v2"])
def test_pop3_stls_to_dovecot_retrieves_the_known_message(pki, certwrapd, dovecot, proxy):
    target, rip = _backend(dovecot, "pop3", proxy)
    daemon, port = wrap(certwrapd, pki, "pop3", target, protocol="pop3", proxyProtocol=proxy)
    mark = dovecot.mark()
    pop = SourcedPOP3("127.0.0.1", port)
    assert pop.stls(context=pki.client_context()).startswith(b"+OK")
    assert "STLS" not in pop.capa(), f"STLS offered again after TLS: {pop.capa()}"
    _retrieve_known_message(pop)
    dovecot.wait_login("pop3", mark, rip=rip)
    assert_certwrapd_saw(daemon, "pop3", CLIENT_ADDR)
