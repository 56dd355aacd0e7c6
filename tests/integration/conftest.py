"""The harness every certwrap integration test uses.

Paths: the build directory comes from CERTWRAP_BUILD (default build/default,
relative to the repository root, two levels above this file); the programs are
<build>/certwrapd, <build>/certwrapctl and <build>/tests/backend/testbackend.

Fixtures and helpers (see each docstring):
  pki                 session: a test PKI made with the openssl CLI (class Pki)
  backend             a running testbackend (SMTP, IMAP, POP3, echo) with a spool
  backend_factory     start more backends, with other services or credentials
  certwrapd           factory: certwrapd(config_text) starts a daemon (class Certwrapd)
  free_port()         a loopback port that was free a moment ago
  config_text(), service()   build stunnel-style configuration text
  run_check(text)     certwrapd -t on a config: (status, stdout, stderr)
  run_ctl(*args)      certwrapctl: (status, stdout, stderr)
  ctl_call(path, verb, *fields)   one request on certwrapd's control socket (CtlResponse)
  ctl_exchange(path, data)        raw bytes in, raw bytes out, for protocol tests
  ctl_dir             a short directory every user may enter, for control sockets
  wait_for(), wait_port()    poll with a deadline; never sleep for a guess
  rss_kib(pid)        resident memory, for tests that memory stays flat
  echo(tls, data)     one round trip through an echo service
  LineClient          line-oriented protocol talk over a plain or TLS socket

Every process a test starts is stopped by its PID (SIGTERM, a bounded wait,
then SIGKILL of that PID only) and must exit 0 with no sanitizer report,
unless the test said otherwise. Under `make asan` (CERTWRAP_BUILD ending in
asan) the daemon and the backend run with ASAN_OPTIONS and UBSAN_OPTIONS set.

Readiness of certwrapd is its log line `ready: services=N pid=P` (notice level,
written once every listener is bound); the harness polls its log file for it,
and fails at once, with the log, if the process exits first. A reload is
SIGHUP followed by a new `reload: done` or `reload: failed` line.
"""

import datetime
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import ssl
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("CERTWRAP_BUILD") or "build/default")
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
CERTWRAPD = BUILD / "certwrapd"
CERTWRAPCTL = BUILD / "certwrapctl"
TESTBACKEND = BUILD / "tests" / "backend" / "testbackend"

SANITIZED = BUILD.name.endswith("asan")
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
} if SANITIZED else {}
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0              # longer than certwrapd's 10 s SIGTERM drain
RELOAD_TIMEOUT_S = 10.0
CHECK_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.02

READY_RE = re.compile(r"ready: services=(\d+) pid=(\d+)")
RELOAD_RE = re.compile(r"reload: (done|failed)")

# The message every empty testbackend mailbox starts with: the same bytes as
# mailbox_known_message in tests/backend/backend_mailbox.c, file 00000001.eml.
KNOWN_MESSAGE_NAME = "00000001.eml"
KNOWN_MESSAGE_ID = "<certwrap-test-message-1@example.test>"
KNOWN_MESSAGE_SUBJECT = "certwrap test message"
KNOWN_MESSAGE = (
    b"From: Certwrap Sender <sender@example.test>\r\n"
    b"To: Test User <test@example.test>\r\n"
    b"Subject: certwrap test message\r\n"
    b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
    b"Message-ID: <certwrap-test-message-1@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"This is the known message of the certwrap test backend.\r\n"
    b"Tests compare it byte for byte after it has travelled through certwrapd.\r\n"
    b"\r\n"
    b".A line that starts with a dot, to exercise dot-stuffing.\r\n"
    b".\r\n"
    b"..Two dots, then a line with only a dot above.\r\n"
    b"The end.\r\n"
)
BACKEND_USER = "test"
BACKEND_PASS = "secret"


# --- small helpers ----------------------------------------------------------------


def wait_for(predicate, timeout, what, interval=POLL_INTERVAL_S):
    """Polls predicate() until it returns something true, and returns that.

    Raises TimeoutError naming `what` once `timeout` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def free_port(host="127.0.0.1"):
    """A TCP port on host that was free when asked (bind port 0, read, close)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=READY_TIMEOUT_S):
    """Polls until a TCP connection to host:port succeeds."""

    def connects():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False

    wait_for(connects, timeout, f"{host}:{port} to accept connections")


def format_addr(host, port):
    """host:port, or [v6]:port."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def echo(tls, data=b"ping"):
    """Sends data on a connection to an echo service and returns what comes
    back, once as many bytes have come; asserts the connection stays open."""
    tls.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = tls.recv(65536)
        assert chunk, "connection closed during echo"
        got += chunk
    return got


def rss_kib(pid):
    """A process's resident set size in KiB (VmRSS), for memory-stays-flat tests."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def sanitizer_report(text):
    """The lines of text that show a sanitizer report, joined; "" if none."""
    return "\n".join(line for line in text.splitlines()
                     if any(m in line for m in SANITIZER_MARKERS))


class LineClient:
    """Line-oriented talk over a connected socket (plain or TLS), for protocol
    tests: send() bytes, readline() one CRLF line, expect() a reply prefix."""

    def __init__(self, sock, timeout=READY_TIMEOUT_S):
        sock.settimeout(timeout)
        self.sock = sock
        self.file = sock.makefile("rb")

    @classmethod
    def connect(cls, host, port, timeout=READY_TIMEOUT_S):
        return cls(socket.create_connection((host, port), timeout=timeout), timeout)

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def readline(self):
        """One line with its CRLF; b"" at EOF."""
        return self.file.readline()

    def expect(self, prefix):
        """Reads one line and asserts it starts with prefix; returns it."""
        line = self.readline()
        want = prefix if isinstance(prefix, bytes) else prefix.encode()
        assert line.startswith(want), f"expected {want!r}..., got {line!r}"
        return line

    def read_until(self, prefix):
        """Reads lines until one starts with prefix; returns all of them."""
        want = prefix if isinstance(prefix, bytes) else prefix.encode()
        lines = []
        while True:
            line = self.readline()
            assert line, f"EOF before a line starting with {want!r}; got {lines!r}"
            lines.append(line)
            if line.startswith(want):
                return lines

    def read_all(self):
        """Everything until the peer closes."""
        chunks = []
        while True:
            chunk = self.file.read1(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def close(self):
        self.file.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _env():
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    return env


class ManagedProcess:
    """A child process with its output in a log file, stopped by its PID."""

    def __init__(self, argv, log_path, name):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.name = name
        self.proc = None
        self.killed = False          # it needed SIGKILL to stop
        self.nofile = None           # RLIMIT_NOFILE for the child: N, or (soft, hard)
        self.cpus = None             # CPUs the child may run on (sched_setaffinity)
        self.env = {}                # added to the environment of the child

    def _limits(self):
        if self.nofile is not None:
            limits = self.nofile if isinstance(self.nofile, tuple) else (self.nofile,) * 2
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
        if self.cpus is not None:
            os.sched_setaffinity(0, self.cpus)

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         env={**_env(), **self.env},
                                         preexec_fn=self._limits)
        return self

    @property
    def pid(self):
        return self.proc.pid

    @property
    def returncode(self):
        return self.proc.poll() if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        """Sends sig to this process (by PID), if it still runs."""
        if self.running():
            self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, wait up to timeout, then SIGKILL this PID. The exit status
        (negative: killed by that signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode

    def log(self):
        """Everything the process wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self):
        """The current length of the log in bytes: a start offset for wait_log()."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def wait_log(self, pattern, timeout=READY_TIMEOUT_S, start=0):
        """Polls the log (from byte offset start) for a regex; returns the match.

        Fails at once, with the log, if the process exits first.
        """
        regex = re.compile(pattern)

        def found():
            data = self.log_path.read_bytes()[start:].decode("utf-8", "replace")
            match = regex.search(data)
            if match:
                return match
            if not self.running():
                raise AssertionError(
                    f"{self.name} exited with status {self.returncode} before logging "
                    f"/{pattern}/; its log:\n{self.log()}")
            return None

        return wait_for(found, timeout, f"/{pattern}/ in {self.log_path}")

    def problems(self, expect_status=0):
        """Stops the process; what is wrong with how it ended, as text ("" if nothing)."""
        status = self.stop()
        found = []
        if self.killed:
            found.append(f"{self.name} did not stop on SIGTERM within {STOP_TIMEOUT_S:g}s")
        if expect_status is not None and status != expect_status:
            found.append(f"{self.name} exited with status {status}, expected {expect_status}")
        report = sanitizer_report(self.log())
        if report:
            found.append(f"{self.name} logged a sanitizer report:\n{report}")
        if found:
            found.append(f"--- {self.log_path} ---\n{self.log()}")
        return "\n".join(found)


# --- the test backend -----------------------------------------------------------


class Backend(ManagedProcess):
    """A running testbackend. Attributes: addrs (service -> [(host, port)] in
    command-line order), spool, inbox (Path); smtp_port, imap_port, pop3_port,
    echo_port (its first listener of that kind), host."""

    SERVICES = ("smtp", "imap", "pop3", "echo")
    KNOWN_MESSAGE = KNOWN_MESSAGE

    def __init__(self, workdir, services=SERVICES, host="127.0.0.1", user=None,
                 password=None, spool=True, extra_args=()):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.host = host
        self.ready_file = workdir / "backend.ready"
        self.spool = workdir / "spool" if spool else None
        self.inbox = self.spool / "inbox" if spool else None
        argv = [TESTBACKEND]
        for svc in services:
            argv += [f"--{svc}", format_addr(host, 0)]
        if self.spool:
            argv += ["--spool", self.spool]
        if user is not None:
            argv += ["--user", user]
        if password is not None:
            argv += ["--pass", password]
        argv += ["--ready-file", self.ready_file, *extra_args]
        super().__init__(argv, workdir / "backend.log", "testbackend")
        self.addrs = {}
        self.expect_status = 0

    def start(self, timeout=READY_TIMEOUT_S):
        assert TESTBACKEND.exists(), f"{TESTBACKEND} is missing: run make first"
        super().start()

        def ready():
            if self.ready_file.exists():
                return self.ready_file.read_text()
            if not self.running():
                raise AssertionError(f"testbackend exited with status {self.returncode} "
                                     f"before it was ready; its log:\n{self.log()}")
            return None

        self._parse_ready(wait_for(ready, timeout, f"{self.ready_file}"))
        return self

    def _parse_ready(self, line):
        words = line.split()
        assert words and words[0] == "ready", f"bad ready line: {line!r}"
        for word in words[1:]:
            svc, _, addr = word.partition("=")
            host, _, port = addr.rpartition(":")
            self.addrs.setdefault(svc, []).append((host.strip("[]"), int(port)))

    def port(self, service):
        return self.addrs[service][0][1]

    def addr(self, service):
        """host:port of the first listener of a service, as a config wants it."""
        return format_addr(*self.addrs[service][0])

    smtp_port = property(lambda self: self.port("smtp"))
    imap_port = property(lambda self: self.port("imap"))
    pop3_port = property(lambda self: self.port("pop3"))
    echo_port = property(lambda self: self.port("echo"))

    def messages(self):
        """The spool's messages as [(file name, bytes)], in mailbox order."""
        return [(p.name, p.read_bytes()) for p in sorted(self.inbox.glob("*.eml"))]

    def wait_messages(self, count, timeout=READY_TIMEOUT_S):
        """Polls until the spool holds at least count messages; returns them."""
        def enough():
            found = self.messages()
            return found if len(found) >= count else None

        return wait_for(enough, timeout, f"{count} messages in {self.inbox}")


@pytest.fixture
def backend_factory(tmp_path):
    """Starts backends: backend_factory(services=..., user=..., password=..., ...).

    Each is stopped at teardown and must exit 0 without a sanitizer report.
    """
    started = []

    def start(**kwargs):
        b = Backend(tmp_path / f"backend{len(started)}", **kwargs)
        started.append(b)
        try:
            return b.start()
        except BaseException:
            b.expect_status = None       # the test fails already; do not report it twice
            raise

    yield start
    problems = [p for p in (b.problems(b.expect_status) for b in started) if p]
    assert not problems, "\n".join(problems)


@pytest.fixture
def backend(backend_factory):
    """A testbackend with SMTP, IMAP, POP3 and echo on 127.0.0.1 and its own spool."""
    return backend_factory()


# --- the test PKI ---------------------------------------------------------------

_OPENSSL_CNF = """\
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused

[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# `openssl ca`, only for the leaves with dates in the past or the future
[ ca ]
default_ca = ca_intermediate
[ ca_intermediate ]
database = ca-index.txt
new_certs_dir = ca-newcerts
serial = ca-serial
default_md = sha256
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied

# a server leaf that is also a CA: refused by certwrapd (Pki.extra_leaf)
[ v3_ca_leaf ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

# `openssl ca -name ca_root`, only for the root's CRL (Pki.crl)
[ ca_root ]
database = ca-root-index.txt
crlnumber = ca-root-crlnumber
default_md = sha256
"""


class Pki:
    """A test PKI in one directory, made with the openssl CLI.

    Chain: root (self-signed CA) -> intermediate (CA, pathlen 0) -> leaves.
    Every server leaf has SAN DNS:localhost, IP:127.0.0.1, IP:::1 and EKU
    serverAuth; keys are EC P-256 unless named rsa or weak; all SHA-256 unless
    named sha1. Each leaf variant X has X (the leaf alone), X_key and
    X_fullchain (leaf + intermediate) attributes, all Paths. See FILES.
    More are made on first use: extra_leaf() (a client certificate, a leaf
    that expires soon or is a CA, one of other_root) and crl().
    """

    FILES = {
        "root": "root.pem: the root CA, self-signed (trust anchor for clients)",
        "root_key": "root.key",
        "intermediate": "intermediate.pem: CA signed by root",
        "intermediate_key": "intermediate.key",
        "leaf": "leaf.pem: localhost server leaf signed by intermediate, serial 1001",
        "leaf_key": "leaf.key",
        "fullchain": "fullchain.pem: leaf + intermediate",
        "combined": "combined.pem: leaf.key + leaf + intermediate",
        "leaf_only": "leaf_only.pem: the leaf alone (incomplete chain)",
        "chain_with_root": "chain_with_root.pem: leaf + intermediate + root",
        "shuffled": "shuffled.pem: intermediate + leaf (the leaf is not first)",
        "out_of_order": "out_of_order.pem: leaf + root + intermediate",
        "wrong_key": "wrong.key: a key that matches no certificate",
        "expired": "expired.pem: leaf valid 2020-01-01 to 2021-01-01 (openssl ca), serial 3000",
        "not_yet_valid": "not_yet_valid.pem: leaf valid 2099-01-01 to 2100-01-01, serial 3001",
        "weak": "weak.pem: leaf with an RSA 1024 key, serial 1003",
        "sha1": "sha1.pem: leaf signed with ecdsa-with-SHA1, serial 1004",
        "leaf2": "leaf2.pem: a second localhost leaf, CN certwrap second leaf, serial 1002",
        "leaf_rsa": "leaf_rsa.pem: localhost leaf with an RSA 2048 key, serial 1005",
        "client": "client.pem: client certificate (EKU clientAuth) signed by intermediate",
        "other_root": "other_root.pem: a second, independent root CA",
        "other_root_key": "other_root.key",
        "other_leaf": "other_leaf.pem: localhost leaf signed directly by other_root",
        "other_leaf_key": "other_leaf.key",
    }
    LEAF_VARIANTS = ("expired", "not_yet_valid", "weak", "sha1", "leaf2", "leaf_rsa", "client")

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cnf = self.dir / "pki.cnf"
        self.cnf.write_text(_OPENSSL_CNF)
        self._make_cas()
        self._make_leaf_files()
        self._make_variants()
        self._make_other_ca()

    # -- plumbing

    def _openssl(self, *args):
        argv = ["openssl", *[str(a) for a in args]]
        try:
            return subprocess.run(argv, cwd=self.dir, check=True, capture_output=True,
                                  text=True, timeout=60).stdout
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{e.stderr}") from None

    def _key(self, name, kind="ec"):
        path = self.dir / name
        if kind == "ec":
            self._openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                          "-out", path)
        else:
            bits = {"rsa": 2048, "rsa1024": 1024}[kind]
            self._openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
                          "-out", path)
        path.chmod(0o600)
        return path

    def _csr(self, key, subject):
        csr = key.with_suffix(".csr")
        self._openssl("req", "-new", "-config", self.cnf, "-key", key, "-subj", subject,
                      "-out", csr)
        return csr

    def _sign(self, csr, out, ca, ca_key, ext, serial, days=365, md="sha256"):
        path = self.dir / out
        self._openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                      "-set_serial", f"0x{serial}", "-days", days, f"-{md}",
                      "-extfile", self.cnf, "-extensions", ext, "-out", path)
        return path

    def _sign_dated(self, csr, out, start, end, ext="v3_leaf"):
        """Signs with the intermediate through `openssl ca`, the one OpenSSL 3.0
        command that sets arbitrary notBefore/notAfter dates (start None: now)."""
        path = self.dir / out
        dates = ["-startdate", start] if start else []
        self._openssl("ca", "-batch", "-config", self.cnf, "-cert", self.intermediate,
                      "-keyfile", self.intermediate_key, "-in", csr, "-out", path,
                      *dates, "-enddate", end, "-extensions", ext, "-notext")
        return path

    def _cat(self, out, *parts):
        path = self.dir / out
        path.write_bytes(b"".join(Path(p).read_bytes() for p in parts))
        return path

    def _leaf(self, name, subject, serial, kind="ec", md="sha256", ext="v3_leaf"):
        """X.pem, X.key and X_fullchain.pem for a leaf signed by the intermediate."""
        key = self._key(f"{name}.key", kind)
        cert = self._sign(self._csr(key, subject), f"{name}.pem", self.intermediate,
                          self.intermediate_key, ext, serial, md=md)
        self._set(name, cert, key)
        return cert

    def _set(self, name, cert, key):
        setattr(self, name, cert)
        setattr(self, f"{name}_key", key)
        setattr(self, f"{name}_fullchain", self._cat(f"{name}_fullchain.pem", cert,
                                                     self.intermediate))

    # -- the files

    def _make_cas(self):
        self.root_key = self._key("root.key")
        self.root = self.dir / "root.pem"
        self._openssl("req", "-x509", "-new", "-config", self.cnf, "-key", self.root_key,
                      "-subj", "/O=certwrap tests/CN=certwrap test root CA", "-set_serial", "1",
                      "-days", "3650", "-sha256", "-extensions", "v3_root", "-out", self.root)
        self.intermediate_key = self._key("intermediate.key")
        csr = self._csr(self.intermediate_key, "/O=certwrap tests/CN=certwrap test intermediate CA")
        self.intermediate = self._sign(csr, "intermediate.pem", self.root, self.root_key,
                                       "v3_intermediate", 2, days=3650)

    def _make_leaf_files(self):
        self._leaf("leaf", "/CN=localhost", 1001)
        self.fullchain = self._cat("fullchain.pem", self.leaf, self.intermediate)
        self.combined = self._cat("combined.pem", self.leaf_key, self.leaf, self.intermediate)
        self.combined.chmod(0o600)
        self.leaf_only = self._cat("leaf_only.pem", self.leaf)
        self.chain_with_root = self._cat("chain_with_root.pem", self.leaf, self.intermediate,
                                         self.root)
        self.shuffled = self._cat("shuffled.pem", self.intermediate, self.leaf)
        self.out_of_order = self._cat("out_of_order.pem", self.leaf, self.root, self.intermediate)
        self.wrong_key = self._key("wrong.key")

    def _make_variants(self):
        self._leaf("leaf2", "/CN=certwrap second leaf", 1002)
        self._leaf("weak", "/CN=localhost", 1003, kind="rsa1024")
        self._leaf("sha1", "/CN=localhost", 1004, md="sha1")
        self._leaf("leaf_rsa", "/CN=localhost", 1005, kind="rsa")
        self._leaf("client", "/CN=certwrap test client", 1006, ext="v3_client")
        (self.dir / "ca-newcerts").mkdir(exist_ok=True)
        (self.dir / "ca-index.txt").write_text("")
        (self.dir / "ca-serial").write_text("3000\n")
        for name, start, end in (("expired", "20200101000000Z", "20210101000000Z"),
                                 ("not_yet_valid", "20990101000000Z", "21000101000000Z")):
            key = self._key(f"{name}.key")
            self._set(name, self._sign_dated(self._csr(key, "/CN=localhost"), f"{name}.pem",
                                             start, end), key)

    def _make_other_ca(self):
        self.other_root_key = self._key("other_root.key")
        self.other_root = self.dir / "other_root.pem"
        self._openssl("req", "-x509", "-new", "-config", self.cnf, "-key", self.other_root_key,
                      "-subj", "/O=certwrap tests/CN=certwrap other root CA", "-set_serial", "1",
                      "-days", "3650", "-sha256", "-extensions", "v3_root", "-out",
                      self.other_root)
        self.other_leaf_key = self._key("other_leaf.key")
        self.other_leaf = self._sign(self._csr(self.other_leaf_key, "/CN=localhost"),
                                     "other_leaf.pem", self.other_root, self.other_root_key,
                                     "v3_leaf", 2001)

    # -- made on first use, for the tests that need them

    def extra_leaf(self, name, subject="/CN=localhost", ext="v3_leaf", days=365,
                   other_root=False, expired=False):
        """name.pem, name.key and name_fullchain.pem (with the intermediate), made
        once per session: a leaf signed by the intermediate through `openssl ca`
        and its database, valid from now for `days` (a float: a fraction of a day
        counts) or, if expired, from 2020-01-01 to 2021-01-01; or with
        other_root=True, a leaf signed directly by other_root (name_fullchain.pem
        is then the leaf alone). ext is a section of pki.cnf: v3_leaf, v3_client
        or v3_ca_leaf. Returns the Path of name.pem."""
        if hasattr(self, name):
            return getattr(self, name)
        key = self._key(f"{name}.key")
        csr = self._csr(key, subject)
        if other_root:
            self._other_serial = getattr(self, "_other_serial", 2100) + 1
            cert = self._sign(csr, f"{name}.pem", self.other_root, self.other_root_key, ext,
                              self._other_serial)
            setattr(self, name, cert)
            setattr(self, f"{name}_key", key)
            setattr(self, f"{name}_fullchain", cert)
            return cert
        end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
        start, end = (("20200101000000Z", "20210101000000Z") if expired
                      else (None, end.strftime("%Y%m%d%H%M%SZ")))
        cert = self._sign_dated(csr, f"{name}.pem", start, end, ext)
        self._set(name, cert, key)
        return cert

    def san_leaf(self, name, sans, subject=None):
        """name.pem, name.key and name_fullchain.pem: a server leaf signed by the
        intermediate whose subjectAltName is exactly `sans` (["DNS:mail.example.test",
        "DNS:*.example.test"]), subject /CN= its first name unless given; made once
        per session, serials from 4001. Returns the Path of name.pem."""
        if hasattr(self, name):
            return getattr(self, name)
        ext = self.dir / f"{name}.ext"
        ext.write_text("[ v3_san ]\nbasicConstraints = critical, CA:FALSE\n"
                       "keyUsage = critical, digitalSignature, keyEncipherment\n"
                       "extendedKeyUsage = serverAuth\n"
                       f"subjectAltName = {', '.join(sans)}\n"
                       "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")
        self._san_serial = getattr(self, "_san_serial", 4000) + 1
        key = self._key(f"{name}.key")
        csr = self._csr(key, subject or f"/CN={sans[0].split(':', 1)[1]}")
        cert = self.dir / f"{name}.pem"
        self._openssl("x509", "-req", "-in", csr, "-CA", self.intermediate, "-CAkey",
                      self.intermediate_key, "-set_serial", f"0x{self._san_serial}", "-days",
                      365, "-sha256", "-extfile", ext, "-extensions", "v3_san", "-out", cert)
        self._set(name, cert, key)
        return cert

    def crl(self, *revoked):
        """A CRLfile revoking the given certificates (each made by extra_leaf):
        the intermediate's CRL, then the root's empty one, since checking
        revocation checks every certificate of the chain. Made once per set."""
        path = self.dir / ("crl-" + "-".join(Path(c).stem for c in revoked) + ".pem")
        if path.exists():
            return path
        ca = ["ca", "-config", self.cnf, "-crldays", "30"]
        for cert in revoked:
            # index.txt: status, expiry, revocation date, serial, file, subject
            entry = re.search(rf"^([VRE])\t\S*\t\S*\t{self.serial(cert)}\t",
                              (self.dir / "ca-index.txt").read_text(), re.M)
            if entry is None:
                raise ValueError(f"{cert} was not made by extra_leaf")
            if entry.group(1) != "R":
                self._openssl(*ca, "-cert", self.intermediate, "-keyfile",
                              self.intermediate_key, "-revoke", cert)
        self._openssl(*ca, "-cert", self.intermediate, "-keyfile", self.intermediate_key,
                      "-gencrl", "-out", self.dir / "crl-intermediate.pem")
        (self.dir / "ca-root-index.txt").touch()
        if not (self.dir / "ca-root-crlnumber").exists():
            (self.dir / "ca-root-crlnumber").write_text("1000\n")
        self._openssl(*ca, "-name", "ca_root", "-cert", self.root, "-keyfile", self.root_key,
                      "-gencrl", "-out", self.dir / "crl-root.pem")
        return self._cat(path.name, self.dir / "crl-intermediate.pem", self.dir / "crl-root.pem")

    # -- questions about certificates

    def _x509(self, cert, *opts):
        return self._openssl("x509", "-in", cert, "-noout", *opts).strip()

    def serial(self, cert):
        """The serial number of a PEM file's first certificate, in openssl's hex: "1001"."""
        return self._x509(cert, "-serial").partition("=")[2]

    def fingerprint(self, cert, digest="sha256"):
        """Its fingerprint as openssl prints it: "AB:CD:..." (upper case, colons)."""
        return self._x509(cert, "-fingerprint", f"-{digest}").partition("=")[2]

    def subject(self, cert):
        """Its subject, one line as openssl prints it: "CN = localhost"."""
        return self._x509(cert, "-subject", "-nameopt", "oneline").partition("=")[2].strip()

    def dates(self, cert):
        """(notBefore, notAfter) as openssl prints them."""
        lines = self._x509(cert, "-dates").splitlines()
        return tuple(line.partition("=")[2] for line in lines)

    @staticmethod
    def certs_in(path):
        """The PEM certificate blocks of a file, as text, in file order."""
        return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?",
                          Path(path).read_text(), re.S)

    def client_context(self, cafile=None):
        """An ssl.SSLContext for clients trusting root.pem (or cafile), checking
        the host name."""
        return ssl.create_default_context(cafile=str(cafile or self.root))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The session's test PKI (class Pki): root, intermediate, leaves and broken variants."""
    return Pki(tmp_path_factory.mktemp("pki"))


# --- configurations -----------------------------------------------------------------

DEFAULT_GLOBALS = {"foreground": "yes", "syslog": "no", "debug": "info"}


def _config_value(value):
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _config_lines(options):
    lines = []
    for key, value in options.items():
        if value is None:
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            lines.append(f"{key} = {_config_value(v)}")
    return lines


def config_text(services, globals_=None, defaults=True):
    """Stunnel-style configuration text.

    services: {name: {option: value}}, in order; globals_: {option: value}
    added to (or, with defaults=False, instead of) DEFAULT_GLOBALS. A value
    that is a list or tuple gives one line per item (repeated `connect`); None
    omits the option; True/False become yes/no; Paths become strings.
    """
    options = dict(DEFAULT_GLOBALS) if defaults else {}
    options.update(globals_ or {})
    lines = ["# written by tests/integration/conftest.py", *_config_lines(options)]
    for name, svc in services.items():
        lines += ["", f"[{name}]", *_config_lines(svc)]
    return "\n".join(lines) + "\n"


def service(accept, connect, cert=None, key=None, **options):
    """A service's options: accept (port, or host:port) and connect (one target or a
    list), cert and key, then any other option by its config name."""
    if isinstance(accept, int):
        accept = format_addr("127.0.0.1", accept)
    svc = {"accept": accept, "connect": connect, "cert": cert, "key": key}
    svc.update(options)
    return svc


def run_check(text, timeout=CHECK_TIMEOUT_S):
    """Runs `certwrapd -t` on a configuration written to a fresh certwrapd.conf;
    returns (exit status, stdout, stderr). Asserts no sanitizer report."""
    assert CERTWRAPD.exists(), f"{CERTWRAPD} is missing: run make first"
    with tempfile.TemporaryDirectory(prefix="certwrap-check-") as d:
        path = Path(d) / "certwrapd.conf"
        path.write_text(text)
        r = subprocess.run([str(CERTWRAPD), "-t", str(path)], capture_output=True, text=True,
                           timeout=timeout, env=_env(), stdin=subprocess.DEVNULL)
    report = sanitizer_report(r.stdout + r.stderr)
    assert not report, f"certwrapd -t: sanitizer report:\n{r.stderr}"
    return r.returncode, r.stdout, r.stderr


def run_ctl(*args, timeout=CHECK_TIMEOUT_S):
    """Runs certwrapctl with args; returns (exit status, stdout, stderr).
    Asserts no sanitizer report."""
    assert CERTWRAPCTL.exists(), f"{CERTWRAPCTL} is missing: run make first"
    r = subprocess.run([str(CERTWRAPCTL), *[str(a) for a in args]], capture_output=True,
                       text=True, timeout=timeout, env=_env(), stdin=subprocess.DEVNULL)
    report = sanitizer_report(r.stdout + r.stderr)
    assert not report, f"certwrapctl: sanitizer report:\n{r.stderr}"
    return r.returncode, r.stdout, r.stderr


# --- the daemon -----------------------------------------------------------------------


class Certwrapd(ManagedProcess):
    """One certwrapd -f CONFIG in its own directory; stdout and stderr go to
    certwrapd.log there. Attributes: config_path, log_path, pid, expect_status
    (checked at teardown; None: any), ready_services (N of the ready line)."""

    def __init__(self, workdir, text, args=(), expect_status=0, nofile=None, env=None,
                 cpus=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "certwrapd.conf"
        self.write_config(text)
        super().__init__([CERTWRAPD, "-f", self.config_path, *args],
                         self.workdir / "certwrapd.log", "certwrapd")
        self.expect_status = expect_status
        self.ready_services = None
        self.nofile = nofile
        self.cpus = cpus
        self.env = dict(env or {})

    def write_config(self, text):
        """Replaces the configuration file atomically (for reload tests)."""
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config_path)

    def start(self, wait_ready=True, timeout=READY_TIMEOUT_S):
        assert CERTWRAPD.exists(), f"{CERTWRAPD} is missing: run make first"
        super().start()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """Polls the log for `ready: services=N pid=P`; fails fast if the daemon exits."""
        match = self.wait_log(READY_RE.pattern, timeout)
        self.ready_services = int(match.group(1))
        assert int(match.group(2)) == self.pid, \
            f"ready line names pid {match.group(2)}, the daemon is {self.pid}"
        return self.ready_services

    def reload(self, timeout=RELOAD_TIMEOUT_S):
        """SIGHUP, then waits for a new `reload: done` or `reload: failed` line;
        returns "done" or "failed"."""
        start = self.log_size()
        self.send_signal(signal.SIGHUP)
        return self.wait_log(RELOAD_RE.pattern, timeout, start=start).group(1)

    def sanitizer_report(self):
        return sanitizer_report(self.log())


@pytest.fixture
def certwrapd(tmp_path):
    """Factory: certwrapd(config_text, wait_ready=True, expect_status=0, args=(),
    nofile=None, env=None, cpus=None) starts a daemon (nofile: its descriptor
    limit; env: added to its environment; cpus: the CPUs it may run on) and
    returns its Certwrapd. At teardown every daemon is stopped by PID and must
    have exited with its expect_status (0 unless the test changed it) and
    logged no sanitizer report."""
    started = []

    def start(text, wait_ready=True, expect_status=0, args=(), nofile=None, env=None,
              cpus=None):
        d = Certwrapd(tmp_path / f"certwrapd{len(started)}", text, args=args,
                      expect_status=expect_status, nofile=nofile, env=env, cpus=cpus)
        started.append(d)
        try:
            return d.start(wait_ready=wait_ready)
        except BaseException:
            d.expect_status = None       # the test fails already; do not report it twice
            raise

    yield start
    problems = [p for p in (d.problems(d.expect_status) for d in started) if p]
    assert not problems, "\n".join(problems)


# --- the control socket ------------------------------------------------------------------
#
# A client of ctl/ctlproto.h written from the header alone, so that the tests check the
# daemon against the contract rather than against certwrapctl's own encoder: a frame is
# "CWCTL/<version> <body length>\n" then fields "<name> <value length>\n<value>\n"; a
# field named "-" ends a record.

CTL_VERSION = 1
CTL_RECORD_END = "-"
CTL_TIMEOUT_S = 15.0               # longer than the daemon's CONTROL_TIMEOUT_S (10 s)
CTL_HEADER_RE = re.compile(rb"CWCTL/(\d+) (\d+)\n")


def ctl_frame(fields, version=CTL_VERSION):
    """The frame for (name, value) pairs; a value is str or bytes, sent as it is."""
    body = b""
    for name, value in fields:
        value = value.encode() if isinstance(value, str) else bytes(value)
        body += f"{name} {len(value)}\n".encode() + value + b"\n"
    return f"CWCTL/{version} {len(body)}\n".encode() + body


def ctl_parse(frame):
    """The (name, value) pairs of one whole frame, values as text. Raises
    ValueError on anything the header does not allow, bytes after the frame
    included."""
    m = CTL_HEADER_RE.match(frame)
    if m is None:
        raise ValueError(f"no CWCTL header: {frame[:64]!r}")
    if int(m.group(1)) != CTL_VERSION:
        raise ValueError(f"version {m.group(1).decode()}, expected {CTL_VERSION}")
    body = frame[m.end():]
    if len(body) != int(m.group(2)):
        raise ValueError(f"body of {len(body)} bytes, the header says {m.group(2).decode()}")
    fields, off = [], 0
    while off < len(body):
        nl = body.index(b"\n", off)
        name, _, length = body[off:nl].decode().partition(" ")
        if not re.fullmatch(r"-|[a-z0-9_.-]{1,32}", name) or not length.isdigit():
            raise ValueError(f"bad field header {body[off:nl]!r}")
        start, end = nl + 1, nl + 1 + int(length)
        if body[end:end + 1] != b"\n":
            raise ValueError(f"field {name}: value not followed by a newline")
        fields.append((name, body[start:end].decode("utf-8", "replace")))
        off = end + 1
    return fields


def _frame_length(data):
    """The length of the whole frame at the start of data, or None while unknown."""
    m = CTL_HEADER_RE.match(data)
    return m.end() + int(m.group(2)) if m else None


class CtlResponse:
    """A decoded response: status ("ok" or "error"), message (or None),
    fields (the (name, value) pairs outside records, status and message
    first), records (a dict per record, its "kind" the value of its first
    field, `record`), all (every pair as sent)."""

    def __init__(self, pairs):
        self.all = pairs
        self.fields, self.records = [], []
        group = []
        for i, (name, value) in enumerate(pairs):
            if i < 2 and name in ("status", "message") and not group:
                self.fields.append((name, value))
            elif name == CTL_RECORD_END:
                assert group, f"an empty record in {pairs!r}"
                assert group[0][0] == "record", f"a record without its kind first: {group!r}"
                record = {"kind": group[0][1]}
                for n, v in group[1:]:
                    assert n not in record, f"field {n} twice in one record: {group!r}"
                    record[n] = v
                self.records.append(record)
                group = []
            else:
                group.append((name, value))
        self.fields += group             # after the last record
        top = dict(self.fields)
        self.status = top.get("status")
        self.message = top.get("message")

    def of_kind(self, kind):
        return [r for r in self.records if r["kind"] == kind]

    def record(self, kind, name):
        """The one record of kind that names service or certificate name."""
        found = [r for r in self.of_kind(kind) if r.get("service", r.get("name")) == name]
        assert len(found) == 1, f"{len(found)} {kind} records for {name}: {self.records!r}"
        return found[0]

    def __repr__(self):
        return f"CtlResponse({self.all!r})"


# Run as another user: connects, sends stdin, copies the reply to stdout; a
# send the daemon cut short (it refuses before reading) is not an error.
_CTL_RELAY = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(float(sys.argv[2]))
s.connect(sys.argv[1])
try:
    s.sendall(sys.stdin.buffer.read())
except OSError:
    pass
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
"""


def _ctl_exchange_as(socket_path, data, user, timeout):
    import pwd
    pw = pwd.getpwnam(user)
    r = subprocess.run([sys.executable, "-c", _CTL_RELAY, str(socket_path), str(timeout)],
                       input=data, capture_output=True, timeout=timeout + 5,
                       user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        raise OSError(f"client as {user}: {err[-1] if err else f'exit {r.returncode}'}")
    return r.stdout


def ctl_exchange(socket_path, data, user=None, timeout=CTL_TIMEOUT_S, half_close=False):
    """Sends data on a new connection to the control socket and returns what
    comes back: one whole frame, or whatever arrived before the daemon closed.
    user: run the client as that user (uid and primary group, no other groups).
    half_close: shut down the sending side after data."""
    if user is not None:
        return _ctl_exchange_as(socket_path, data, user, timeout)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(socket_path))
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass                          # it answered and closed before reading it all
        got = b""
        while _frame_length(got) is None or len(got) < _frame_length(got):
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:  # closed with our bytes unread: the reply came first
                break
            if not chunk:
                break
            got += chunk
        return got


def ctl_call(socket_path, verb, *fields, user=None, timeout=CTL_TIMEOUT_S):
    """One request, `verb` (None: a request without one) and then (name, value)
    pairs, on certwrapd's control socket; returns its CtlResponse. Asserts the
    response is one well-formed frame."""
    request = ([("verb", verb)] if verb is not None else []) + list(fields)
    reply = ctl_exchange(socket_path, ctl_frame(request), user=user, timeout=timeout)
    assert reply, f"{verb}: the daemon closed the connection without a response"
    return CtlResponse(ctl_parse(reply))


@pytest.fixture
def ctl_dir():
    """A fresh directory under /tmp with a short path (a socket path has at most
    107 bytes) that every user may enter (mode 0755), so that tests can also
    connect as another user; removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix="cwctl-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)
