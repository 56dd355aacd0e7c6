"""TLS options of a service, with stunnel's meaning: client certificates
(verifyChain, verifyPeer, requireCert, CAfile, CRLfile), protocol versions
(sslVersionMin, sslVersionMax), ciphers, ciphersuites and curves.

Each case starts a real certwrapd in front of the echo backend, connects with
Python's ssl or `openssl s_client`, and checks both what the client gets and
the daemon's per-connection log line.
"""
import re
import socket
import ssl
import subprocess

import pytest

from conftest import config_text, free_port, service

PAYLOAD = b"ping through certwrapd\n"
CLIENT_RE = r"127\.0\.0\.1:\d+"


def _start(pki, backend, certwrapd, **options):
    """certwrapd with one echo service; options override the defaults
    (cert = fullchain, key, CAfile = root)."""
    port = free_port()
    svc = service(port, backend.addr("echo"), cert=pki.fullchain, key=pki.leaf_key,
                  CAfile=pki.root)
    svc.update(options)
    return certwrapd(config_text({"echo": svc})), port


def _ctx(pki, who=None, **settings):
    """A client context trusting the test root; who names a PKI certificate to
    present (its _fullchain and _key); settings are SSLContext attributes."""
    ctx = pki.client_context()
    if who:
        ctx.load_cert_chain(str(getattr(pki, f"{who}_fullchain")), str(getattr(pki, f"{who}_key")))
    for attr, value in settings.items():
        setattr(ctx, attr, value)
    return ctx


def _echo(ctx, port):
    """(echo, TLS version, cipher) through the daemon; raises when refused."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(PAYLOAD)
            got = b""
            while len(got) < len(PAYLOAD):
                chunk = tls.recv(4096)
                if not chunk:
                    break
                got += chunk
            return got, tls.version(), tls.cipher()[0]


def _works(ctx, port):
    got, version, cipher = _echo(ctx, port)
    assert got == PAYLOAD
    return version, cipher


def _refused(ctx, port):
    """The error a refused client sees. With TLSv1.3 the client's side of the
    handshake ends before the server has judged its certificate, so the
    refusal shows at the first read. The client reads before it writes, as
    mail clients do (the server speaks first): data the daemon never read
    would make its close a TCP reset, which may overtake the TLS alert."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                got = tls.recv(1)
    except (ssl.SSLError, OSError) as e:
        return str(e)
    assert got == b"", f"a client that should be refused got data: {got!r}"
    return "closed without data"


def _conn_line(daemon, end, reason=None, tls=r"\S+", cipher=r"\S+"):
    """Waits for the daemon's line for one connection; returns the match."""
    pattern = (rf"echo: conn client={CLIENT_RE} tls={tls} cipher={cipher} backend=\S+ "
               rf"in=\d+ out=\d+ time=[\d.]+s end={end}")
    if reason is not None:
        pattern += rf' reason="{reason}"'
    return daemon.wait_log(pattern)


def _ok_line(daemon, tls=r"TLSv1\.3", cipher=r"\S+"):
    return daemon.wait_log(rf"echo: conn client={CLIENT_RE} tls={tls} cipher={cipher} "
                           rf"backend=127\.0\.0\.1:\d+ in={len(PAYLOAD)} out={len(PAYLOAD)} "
                           r"time=[\d.]+s end=client-close")


# --- client certificates ----------------------------------------------------------------


@pytest.fixture
def other_client(pki):
    """A client certificate from another CA (other_root), and its key."""
    return pki.extra_leaf("other_client", "/CN=client of another CA", ext="v3_client",
                          other_root=True)


def test_verify_chain_refuses_a_client_without_a_certificate(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, verifyChain="yes")
    err = _refused(_ctx(pki), port)
    assert "certificate required" in err, err
    _conn_line(daemon, "handshake-failed", "peer did not return a certificate", tls="-",
               cipher="-")


def test_verify_chain_accepts_a_client_certificate_of_the_ca(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, verifyChain="yes")
    _works(_ctx(pki, "client"), port)
    _ok_line(daemon)


def test_verify_chain_refuses_a_client_certificate_of_another_ca(pki, backend, certwrapd,
                                                                other_client):
    daemon, port = _start(pki, backend, certwrapd, verifyChain="yes")
    err = _refused(_ctx(pki, "other_client"), port)
    assert "unknown ca" in err, err
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: unable to get local issuer certificate",
               tls="-", cipher="-")


def test_verify_chain_refuses_a_client_that_omits_the_intermediate(pki, backend, certwrapd):
    """CAfile holds the root only: the intermediate must come from the client."""
    daemon, port = _start(pki, backend, certwrapd, verifyChain="yes")
    ctx = pki.client_context()
    ctx.load_cert_chain(str(pki.client), str(pki.client_key))
    _refused(ctx, port)
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: unable to get local issuer certificate")


@pytest.fixture
def client2(pki):
    """A second client certificate from the same intermediate as pki.client."""
    return pki.extra_leaf("client2", "/CN=certwrap second client", ext="v3_client")


def _verify_peer_service(pki, backend, certwrapd, **extra):
    # CAfile holds exactly the client's certificate, so it cannot also be the
    # trust anchor of the server's own chain: the server file carries its root
    # (which the daemon does not send, with a warning)
    return _start(pki, backend, certwrapd, cert=pki.chain_with_root, CAfile=pki.client,
                  verifyPeer="yes", **extra)


def test_verify_peer_accepts_exactly_the_certificate_in_cafile(pki, backend, certwrapd,
                                                              client2):
    daemon, port = _verify_peer_service(pki, backend, certwrapd)
    _works(_ctx(pki, "client"), port)
    _ok_line(daemon)
    # same CA, different certificate
    _refused(_ctx(pki, "client2"), port)
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: certificate not trusted")
    _refused(_ctx(pki), port)
    _conn_line(daemon, "handshake-failed", "peer did not return a certificate")


def test_verify_peer_refuses_a_listed_certificate_that_expired(pki, backend, certwrapd):
    """verifyPeer alone overlooks only a chain that does not reach a CA
    (stunnel's meaning): an expired listed certificate is still refused."""
    old = pki.extra_leaf("client_expired", "/CN=expired client", ext="v3_client",
                         expired=True)
    daemon, port = _start(pki, backend, certwrapd, cert=pki.chain_with_root, CAfile=old,
                          verifyPeer="yes")
    err = _refused(_ctx(pki, "client_expired"), port)
    assert "certificate expired" in err, err
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: certificate has expired")


def test_verify_peer_accepts_the_listed_certificate_sent_alone(pki, backend, certwrapd):
    """verifyPeer trusts the listed certificate itself: no chain needed."""
    daemon, port = _verify_peer_service(pki, backend, certwrapd)
    ctx = pki.client_context()
    ctx.load_cert_chain(str(pki.client), str(pki.client_key))
    _works(ctx, port)
    _ok_line(daemon)


def test_verify_chain_and_peer_together_need_both(pki, backend, certwrapd, client2):
    """stunnel's verify = 3: a listed certificate, and its chain up to a CA."""
    both = pki.dir / "client-and-root.pem"
    both.write_bytes(pki.client.read_bytes() + pki.root.read_bytes())
    daemon, port = _start(pki, backend, certwrapd, CAfile=both, verifyChain="yes",
                          verifyPeer="yes")
    _works(_ctx(pki, "client"), port)
    _refused(_ctx(pki, "client2"), port)
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: certificate not trusted")


def test_require_cert_alone_accepts_any_certificate_and_refuses_none(pki, backend, certwrapd,
                                                                    other_client):
    daemon, port = _start(pki, backend, certwrapd, requireCert="yes")
    _works(_ctx(pki, "client"), port)
    _works(_ctx(pki, "other_client"), port)        # a CA nobody here trusts
    err = _refused(_ctx(pki), port)
    assert "certificate required" in err, err
    _conn_line(daemon, "handshake-failed", "peer did not return a certificate")
    assert len(re.findall(r"echo: conn .*end=client-close", daemon.log())) == 2


def test_without_verification_no_certificate_is_asked_for(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd)
    _works(_ctx(pki), port)
    _works(_ctx(pki, "client"), port)
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                        "-CAfile", str(pki.root), "-verify_return_error"],
                       input=b"", capture_output=True, timeout=30)
    assert b"No client certificate CA names sent" in r.stdout, r.stdout.decode()


def test_verification_sends_the_cafile_names_to_clients(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, verifyChain="yes")
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                        "-CAfile", str(pki.root), "-cert", str(pki.client), "-key",
                        str(pki.client_key), "-cert_chain", str(pki.intermediate)],
                       input=b"", capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert re.search(r"Acceptable client certificate CA names\n.*CN = certwrap test root CA",
                     out), out


@pytest.fixture
def revoked(pki):
    """A client certificate of the intermediate, revoked, and the CRLfile for it."""
    cert = pki.extra_leaf("client_revoked", "/CN=revoked client", ext="v3_client")
    return cert, pki.crl(cert)


def test_crlfile_refuses_a_revoked_client_and_accepts_another(pki, backend, certwrapd,
                                                             revoked):
    _, crl = revoked
    daemon, port = _start(pki, backend, certwrapd, verifyChain="yes", CRLfile=crl)
    err = _refused(_ctx(pki, "client_revoked"), port)
    assert "certificate revoked" in err, err
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: certificate revoked")
    _works(_ctx(pki, "client"), port)
    _ok_line(daemon)


def test_crlfile_applies_to_verify_peer_too(pki, backend, certwrapd, revoked):
    """A listed certificate that is revoked is refused, as in stunnel."""
    cert, crl = revoked
    daemon, port = _start(pki, backend, certwrapd, cert=pki.chain_with_root, CAfile=cert,
                          CRLfile=crl, verifyPeer="yes")
    err = _refused(_ctx(pki, "client_revoked"), port)
    assert "certificate revoked" in err, err
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: certificate revoked")


def test_crlfile_without_the_roots_crl_refuses_every_client(pki, backend, certwrapd, revoked,
                                                           tmp_path):
    """As in stunnel, CRLfile checks every certificate of the chain, so a file
    without the root's CRL cannot vouch for the intermediate."""
    _, crl = revoked
    only_intermediate = tmp_path / "crl-intermediate-only.pem"
    crls = re.findall(r"-----BEGIN X509 CRL-----.*?-----END X509 CRL-----\n", crl.read_text(),
                      re.S)
    assert len(crls) == 2
    only_intermediate.write_text(crls[0])
    daemon, port = _start(pki, backend, certwrapd, verifyChain="yes", CRLfile=only_intermediate)
    _refused(_ctx(pki, "client"), port)
    _conn_line(daemon, "handshake-failed",
               "client certificate verify failed: unable to get certificate CRL")


# --- protocol versions ---------------------------------------------------------------------


def test_ssl_version_max_tls12(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, sslVersionMax="TLSv1.2")
    version, cipher = _works(_ctx(pki), port)
    assert version == "TLSv1.2"
    _ok_line(daemon, tls=r"TLSv1\.2", cipher=re.escape(cipher))
    # a client that insists on TLSv1.3 gets nothing
    _refused(_ctx(pki, minimum_version=ssl.TLSVersion.TLSv1_3), port)
    _conn_line(daemon, "handshake-failed", "unsupported protocol", tls="-", cipher="-")


def test_ssl_version_min_tls13(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, sslVersionMin="TLSv1.3")
    err = _refused(_ctx(pki, maximum_version=ssl.TLSVersion.TLSv1_2), port)
    assert "protocol version" in err, err
    _conn_line(daemon, "handshake-failed", "unsupported protocol", tls="-", cipher="-")
    version, cipher = _works(_ctx(pki), port)
    assert version == "TLSv1.3"
    _ok_line(daemon, tls=r"TLSv1\.3", cipher=re.escape(cipher))


def test_ssl_version_sets_both_bounds(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, sslVersion="TLSv1.2")
    assert _works(_ctx(pki), port)[0] == "TLSv1.2"
    _refused(_ctx(pki, minimum_version=ssl.TLSVersion.TLSv1_3), port)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_default_minimum_refuses_tls11(pki, backend, certwrapd):
    """sslVersionMin defaults to `all`, which with OpenSSL 3 means TLSv1.2."""
    daemon, port = _start(pki, backend, certwrapd)
    ctx = _ctx(pki)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    _refused(ctx, port)
    _conn_line(daemon, "handshake-failed", "unsupported protocol", tls="-", cipher="-")


# --- ciphers, ciphersuites, curves ---------------------------------------------------------


def test_ciphersuites_decide_the_tls13_cipher(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, ciphersuites="TLS_AES_128_GCM_SHA256")
    version, cipher = _works(_ctx(pki), port)
    assert (version, cipher) == ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    _ok_line(daemon, cipher="TLS_AES_128_GCM_SHA256")


def test_the_client_chooses_among_the_allowed_ciphersuites(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd,
                          ciphersuites="TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384")
    # as in stunnel, the client's preference wins within the server's list:
    # Python's client prefers AES-256-GCM, listed second here
    assert _works(_ctx(pki), port)[1] == "TLS_AES_256_GCM_SHA384"
    _ok_line(daemon, cipher="TLS_AES_256_GCM_SHA384")


def test_a_client_without_a_common_ciphersuite_is_refused(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, ciphersuites="TLS_AES_128_GCM_SHA256")
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile",
                        str(pki.root), "-ciphersuites", "TLS_AES_256_GCM_SHA384"],
                       input=b"", capture_output=True, timeout=30)
    assert r.returncode != 0
    _conn_line(daemon, "handshake-failed", "no shared cipher", tls="-", cipher="-")


TLS12_CIPHERS = ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305")


def test_ciphers_decide_the_tls12_cipher(pki, backend, certwrapd):
    daemon, port = _start(pki, backend, certwrapd, sslVersionMax="TLSv1.2",
                          ciphers=":".join(TLS12_CIPHERS))
    version, cipher = _works(_ctx(pki), port)
    assert version == "TLSv1.2"
    assert cipher in TLS12_CIPHERS
    _ok_line(daemon, tls=r"TLSv1\.2", cipher=re.escape(cipher))
    # a client offering only a cipher outside the list is refused
    ctx = _ctx(pki)
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    _refused(ctx, port)
    _conn_line(daemon, "handshake-failed", "no shared cipher", tls="-", cipher="-")


def _s_client_groups(pki, port, groups):
    """openssl s_client offering only `groups`: (exit status, output)."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                        "-servername", "localhost", "-CAfile", str(pki.root),
                        "-verify_return_error", "-groups", groups],
                       input=PAYLOAD, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


# In TLSv1.2 the client's groups also limit the curve of the server's ECDSA
# key (P-256 here), so that client offers P-256 too: the key exchange still
# has to use P-384, the one group the server allows.
@pytest.mark.parametrize("version,refused,allowed,reason", [
    ("TLSv1.3", "X25519", "P-384", "no suitable key share"),
    ("TLSv1.2", "X25519:P-256", "P-384:P-256", "no shared cipher"),
])
def test_curves_limit_the_key_exchange_groups(version, refused, allowed, reason, pki, backend,
                                              certwrapd):
    daemon, port = _start(pki, backend, certwrapd, curves="P-384", sslVersionMax=version)
    status, out = _s_client_groups(pki, port, refused)
    assert status != 0, out
    _conn_line(daemon, "handshake-failed", reason, tls="-", cipher="-")
    status, out = _s_client_groups(pki, port, allowed)
    assert status == 0, out
    assert re.search(r"(Server|Peer) Temp Key: ECDH, (P-384|secp384r1), 384 bits", out), out
    _conn_line(daemon, "client-close", tls=re.escape(version))
