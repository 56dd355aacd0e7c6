"""Implicit TLS (IMAPS, POP3S, SMTPS, any TCP) through certwrapd, with real clients.

Each test starts a real certwrapd in front of the plaintext test backend and
drives it with clients nobody here wrote: Python's imaplib, poplib, smtplib and
ssl, curl, and openssl s_client. Certificates come from the session's test PKI;
clients trust the root alone, so the daemon must send the intermediate.
"""
import asyncio
import hashlib
import imaplib
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import threading

import pytest

from conftest import (BACKEND_PASS, BACKEND_USER, KNOWN_MESSAGE, config_text, free_port,
                      service)


@pytest.fixture
def mail(pki, backend, certwrapd):
    """certwrapd with imaps, pop3s, smtps and echo services in front of the backend."""
    ports = {name: free_port() for name in ("imaps", "pop3s", "smtps", "echo")}
    targets = {"imaps": backend.addr("imap"), "pop3s": backend.addr("pop3"),
               "smtps": backend.addr("smtp"), "echo": backend.addr("echo")}
    # CAfile names the private root, so the daemon can check the chain is complete
    services = {name: service(ports[name], targets[name], cert=pki.fullchain,
                              key=pki.leaf_key, CAfile=pki.root)
                for name in ports}
    daemon = certwrapd(config_text(services))
    return daemon, ports


def test_imaps_fetches_the_known_message_intact(pki, mail):
    daemon, ports = mail
    with imaplib.IMAP4_SSL("localhost", ports["imaps"], ssl_context=pki.client_context()) as imap:
        imap.login(BACKEND_USER, BACKEND_PASS)
        typ, data = imap.select("INBOX")
        assert typ == "OK"
        typ, data = imap.fetch("1", "(RFC822)")
        assert typ == "OK"
        assert data[0][1] == KNOWN_MESSAGE
    line = daemon.wait_log(r"imaps: conn client=127\.0\.0\.1:\d+ tls=TLSv1\.3 cipher=\S+ "
                           r"backend=127\.0\.0\.1:\d+ in=\d+ out=\d+ time=[\d.]+s end=\S+")
    assert line


def test_pop3s_retrieves_the_known_message(pki, mail):
    _, ports = mail
    pop = poplib.POP3_SSL("localhost", ports["pop3s"], context=pki.client_context())
    try:
        pop.user(BACKEND_USER)
        pop.pass_(BACKEND_PASS)
        _, lines, _ = pop.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == KNOWN_MESSAGE
    finally:
        pop.quit()


def test_smtps_message_arrives_intact_and_is_readable_over_imaps(pki, backend, mail):
    _, ports = mail
    body = ("From: alice@example.com\r\nTo: bob@example.com\r\nSubject: through certwrapd\r\n"
            "Message-ID: <smtps-1@example.com>\r\n\r\nline one\r\n.leading dot\r\nlast\r\n")
    before = len(backend.messages())
    with smtplib.SMTP_SSL("localhost", ports["smtps"], context=pki.client_context()) as smtp:
        smtp.ehlo("client.example.com")
        smtp.sendmail("alice@example.com", ["bob@example.com"], body.encode())
    msgs = backend.wait_messages(before + 1)
    assert msgs[-1][1] == body.encode()
    with imaplib.IMAP4_SSL("localhost", ports["imaps"], ssl_context=pki.client_context()) as imap:
        imap.login(BACKEND_USER, BACKEND_PASS)
        imap.select("INBOX")
        _, data = imap.fetch(str(before + 1), "(RFC822)")
        assert data[0][1] == body.encode()


@pytest.mark.parametrize("scheme,svc,url_path", [
    ("imaps", "imaps", "/INBOX;UID=1"),
    ("pop3s", "pop3s", "/1"),
])
def test_curl_fetches_over_tls(pki, mail, scheme, svc, url_path):
    _, ports = mail
    r = subprocess.run(["curl", "-sS", "--cacert", str(pki.root),
                        "-u", f"{BACKEND_USER}:{BACKEND_PASS}",
                        f"{scheme}://localhost:{ports[svc]}{url_path}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.replace(b"\r\n", b"\n") == KNOWN_MESSAGE.replace(b"\r\n", b"\n")


def test_curl_sends_over_smtps(pki, backend, mail, tmp_path):
    _, ports = mail
    body = (b"From: curl@example.com\r\nTo: bob@example.com\r\nSubject: curl\r\n"
            b"Message-ID: <curl-1@example.com>\r\n\r\nsent by curl\r\n")
    f = tmp_path / "mail.eml"
    f.write_bytes(body)
    before = len(backend.messages())
    r = subprocess.run(["curl", "-sS", "--cacert", str(pki.root),
                        f"smtps://localhost:{ports['smtps']}", "--mail-from", "curl@example.com",
                        "--mail-rcpt", "bob@example.com", "-T", str(f)],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert backend.wait_messages(before + 1)[-1][1] == body


def test_presented_chain_verifies_against_the_root_alone(pki, mail):
    _, ports = mail
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{ports['imaps']}",
                        "-servername", "localhost", "-verify_return_error", "-showcerts",
                        "-CAfile", str(pki.root), "-verify_hostname", "localhost"],
                       input=b"", capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "Verify return code: 0 (ok)" in out
    # leaf and intermediate are sent, the root is not
    sent = re.findall(r"^ ?(\d) s:(.*)$", out, re.M)
    assert [depth for depth, _ in sent] == ["0", "1"], out
    assert pki.subject(pki.intermediate).split("CN = ")[-1] in sent[1][1]


async def _echo_roundtrip_async(ctx, port, payload):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                   server_hostname="localhost")
    got = hashlib.sha256()
    received = 0

    async def read_echo():
        nonlocal received
        while received < len(payload):
            chunk = await reader.read(1 << 16)
            if not chunk:
                break
            got.update(chunk)
            received += len(chunk)

    task = asyncio.create_task(read_echo())
    view = memoryview(payload)
    for off in range(0, len(payload), 1 << 16):
        writer.write(view[off:off + (1 << 16)])
        await writer.drain()
    await asyncio.wait_for(task, 120)
    writer.close()
    return hashlib.sha256(payload).hexdigest(), got.hexdigest(), received


def _echo_roundtrip(ctx, port, payload):
    """Sends payload and reads the echo at the same time, from one thread (an
    ssl.SSLSocket must not be read and written from two threads at once);
    returns (sha256 sent, sha256 received, bytes received)."""
    return asyncio.run(_echo_roundtrip_async(ctx, port, payload))


def test_64_mib_each_way_arrives_with_the_same_sha256(pki, mail):
    _, ports = mail
    payload = os.urandom(64 * 1024 * 1024)
    sent, received, n = _echo_roundtrip(pki.client_context(), ports["echo"], payload)
    assert n == len(payload)
    assert received == sent


def test_200_concurrent_clients_all_succeed(pki, mail):
    _, ports = mail
    ctx = pki.client_context()
    barrier = threading.Barrier(200, timeout=60)
    results = []
    lock = threading.Lock()

    def client(i):
        try:
            tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", ports["echo"]), timeout=60),
                                  server_hostname="localhost")
            barrier.wait()              # all 200 are connected at once
            msg = f"client {i} ".encode() * 50
            tls.sendall(msg)
            buf = b""
            while len(buf) < len(msg):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                buf += chunk
            tls.close()
            ok = buf == msg
        except Exception as e:          # recorded, asserted below
            ok = repr(e)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 200
    failures = [r for r in results if r is not True]
    assert not failures, failures[:5]
