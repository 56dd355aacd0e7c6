"""A strict PROXY protocol backend for the tests (HAProxy's proxy-protocol.txt).

ProxyBackend listens on loopback, requires every connection to start with
exactly the header version it was told (v1 or v2, TCP over IPv4 or IPv6, no
TLVs: certwrapd sends none), records the addresses the header carries, and
then echoes what follows. Anything malformed is recorded in `errors` and the
connection closed without a byte of echo, so a test that expects an echo
fails on it. One thread, one connection at a time, every wait bounded.
"""
import ipaddress
import re
import socket
import struct
import threading

V2_SIGNATURE = b"\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A"
V1_MAX = 107                        # the spec's longest v1 line, CRLF included
V1_RE = re.compile(rb"PROXY (TCP4|TCP6) (\S+) (\S+) (0|[1-9][0-9]{0,4}) (0|[1-9][0-9]{0,4})\r\n")
IO_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 64


class Malformed(Exception):
    pass


def _address(text, family):
    """A v1 address: the canonical text of an address of that family."""
    try:
        ip = ipaddress.ip_address(text.decode("ascii"))
    except ValueError as e:
        raise Malformed(f"bad address {text!r}") from e
    if ip.version != (4 if family == b"TCP4" else 6) or str(ip).encode() != text:
        raise Malformed(f"{text!r} is not a canonical {family.decode()} address")
    return str(ip)


def _port(text):
    port = int(text)
    if port > 65535:
        raise Malformed(f"port {port} out of range")
    return port


class ProxyBackend:
    def __init__(self, version, host="127.0.0.1"):
        assert version in ("v1", "v2", "none")
        self.version = version
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = f"[{host}]:{self.port}" if family == socket.AF_INET6 else f"{host}:{self.port}"
        self.seen = []                  # (src_ip, src_port, dst_ip, dst_port) per connection
        self.first_bytes = []           # what followed the header, first read
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(IO_TIMEOUT_S + 5)
        self.sock.close()

    def _run(self):
        served = 0
        while not self._stop.is_set() and served < MAX_CONNECTIONS:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            served += 1
            with conn:
                conn.settimeout(IO_TIMEOUT_S)
                try:
                    self._serve(conn)
                except (Malformed, OSError) as e:
                    self.errors.append(str(e))

    def _recv_exact(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise Malformed(f"EOF after {len(data)} of {n} header bytes")
            data += chunk
        return data

    def _read_v1(self, conn):
        line = b""
        while not line.endswith(b"\r\n"):
            if len(line) >= V1_MAX:
                raise Malformed(f"no CRLF in the first {V1_MAX} bytes: {line!r}")
            byte = conn.recv(1)
            if not byte:
                raise Malformed(f"EOF inside the v1 header: {line!r}")
            line += byte
        m = V1_RE.fullmatch(line)
        if m is None:
            raise Malformed(f"not a v1 TCP4/TCP6 header: {line!r}")
        fam = m.group(1)
        return (_address(m.group(2), fam), _port(m.group(4)),
                _address(m.group(3), fam), _port(m.group(5)))

    def _read_v2(self, conn):
        head = self._recv_exact(conn, 16)
        if head[:12] != V2_SIGNATURE:
            raise Malformed(f"no v2 signature: {head!r}")
        ver_cmd, fam, length = head[12], head[13], struct.unpack("!H", head[14:16])[0]
        if ver_cmd != 0x21:
            raise Malformed(f"version/command 0x{ver_cmd:02x}, expected 0x21 (v2 PROXY)")
        if (fam, length) not in ((0x11, 12), (0x21, 36)):
            raise Malformed(f"family 0x{fam:02x} with length {length}: expected TCP4 (0x11, "
                            "12) or TCP6 (0x21, 36)")
        body = self._recv_exact(conn, length)
        n = 4 if fam == 0x11 else 16
        src = str(ipaddress.ip_address(body[:n]))
        dst = str(ipaddress.ip_address(body[n:2 * n]))
        sport, dport = struct.unpack("!HH", body[2 * n:])
        return (src, sport, dst, dport)

    def _serve(self, conn):
        if self.version == "v1":
            self.seen.append(self._read_v1(conn))
        elif self.version == "v2":
            self.seen.append(self._read_v2(conn))
        first = True
        while True:
            data = conn.recv(4096)
            if first:
                self.first_bytes.append(data)
                first = False
            if not data:
                return
            conn.sendall(data)
