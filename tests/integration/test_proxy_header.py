"""proxyProtocol = v1 | v2: the client's real address reaches the backend.

A strict PROXY backend (proxyproto_backend.py) sits behind certwrapd; real
TLS clients connect over IPv4 and IPv6, and the backend must read exactly
one well-formed header naming the client's own address and ephemeral port
(as the client's socket reports it) and the address it connected to, before
any relayed byte.
"""
import socket
import ssl

import pytest

from conftest import config_text, free_port, service, wait_for
from proxyproto_backend import ProxyBackend


@pytest.fixture
def proxy_backend():
    started = []

    def start(version, host="127.0.0.1"):
        b = ProxyBackend(version, host)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()


def tls_echo(pki, host, port, payload):
    """Connects, sends payload, reads it back; returns the client's own (ip, port)."""
    ctx = pki.client_context()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_connection((host, port), timeout=10) as raw:
        assert raw.family == family
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            me = tls.getsockname()[:2]
            tls.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = tls.recv(len(payload) - len(got))
                assert chunk, f"EOF after {got!r}"
                got += chunk
            assert got == payload
    return me


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_backend_reads_the_clients_real_address(pki, certwrapd, proxy_backend, version, host):
    backend = proxy_backend(version)
    port = free_port(host)
    accept = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    daemon = certwrapd(config_text({"imaps": service(
        accept, backend.addr, cert=pki.fullchain, key=pki.leaf_key, CAfile=pki.root,
        proxyProtocol=version)}))
    clients = [tls_echo(pki, host, port, f"hello {i}\r\n".encode()) for i in range(2)]
    wait_for(lambda: len(backend.seen) == 2 or backend.errors, 10, "two PROXY headers")
    assert backend.errors == []
    assert backend.seen == [(ip, cport, host, port) for ip, cport in clients]
    # the header came first, then the client's own bytes, untouched
    assert backend.first_bytes[0] == b"hello 0\r\n"
    # in= counts the client's bytes only, not our header
    daemon.wait_log(r"imaps: conn client=\S+ tls=TLSv1\.3 .* in=9 out=9 ")


def test_no_proxy_protocol_sends_no_header(pki, certwrapd, proxy_backend):
    backend = proxy_backend("none")
    port = free_port()
    certwrapd(config_text({"imaps": service(port, backend.addr, cert=pki.fullchain,
                                            key=pki.leaf_key, CAfile=pki.root)}))
    tls_echo(pki, "127.0.0.1", port, b"PROXY no header here\r\n")
    wait_for(lambda: backend.first_bytes, 10, "the backend's first read")
    assert backend.first_bytes[0] == b"PROXY no header here\r\n"


def test_global_proxy_protocol_applies_and_none_cancels_it(pki, certwrapd, proxy_backend):
    with_header, without = proxy_backend("v2"), proxy_backend("none")
    ports = free_port(), free_port()
    certwrapd(config_text({
        "on": service(ports[0], with_header.addr, cert=pki.fullchain, key=pki.leaf_key,
                      CAfile=pki.root),
        "off": service(ports[1], without.addr, cert=pki.fullchain, key=pki.leaf_key,
                       CAfile=pki.root, proxyProtocol="none"),
    }, globals_={"proxyProtocol": "v2"}))
    me = tls_echo(pki, "127.0.0.1", ports[0], b"one")
    tls_echo(pki, "127.0.0.1", ports[1], b"two")
    wait_for(lambda: with_header.seen and without.first_bytes, 10, "both backends")
    assert with_header.seen == [(me[0], me[1], "127.0.0.1", ports[0])]
    assert without.first_bytes == [b"two"]
    assert with_header.errors == [] and without.errors == []
