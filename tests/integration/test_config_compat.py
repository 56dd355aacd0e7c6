"""The configuration: stunnel compatibility, `certwrapd -t`, certificate checks at
load, and the daemon options (foreground, pid, debug, output, syslog, setuid, setgid).

A Debian stunnel user's file, with every option issue 2 lists, must start
unchanged under certwrapd and serve; the same file runs under the real stunnel
(Debian's stunnel4) to show it is one. Every refused configuration must say
FILE:LINE: option: what is wrong, both from `certwrapd -t` and from the daemon,
which then exits 1 without listening. Warnings name the file and line too, and
the service still works.
"""
import datetime
import imaplib
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import (BACKEND_PASS, BACKEND_USER, CERTWRAPD, CHECK_TIMEOUT_S, KNOWN_MESSAGE,
                      READY_RE, READY_TIMEOUT_S, SANITIZED, SANITIZER_ENV, STOP_TIMEOUT_S,
                      Certwrapd, ManagedProcess, _env, config_text, free_port,
                      sanitizer_report, service, wait_for)

STUNNEL = "/usr/bin/stunnel4"
NOBODY_UID = 65534                  # Debian's nobody and nogroup
NOGROUP_GID = 65534

CONN_RE = (r"{svc}: conn client={client} tls={tls} cipher={cipher} backend={backend} "
           r"in=\d+ out=\d+ time=[\d.]+s end=\S+")


# --- helpers -------------------------------------------------------------------------


def line_of(text, prefix, after=None):
    """The 1-based number of the first line of text starting with prefix (after
    the line `after`, a section header, if given)."""
    lines = text.splitlines()
    start = lines.index(after) if after else 0
    for i in range(start, len(lines)):
        if lines[i].startswith(prefix):
            return i + 1
    raise AssertionError(f"no line starting with {prefix!r} in:\n{text}")


def run_t(conf):
    """certwrapd -t CONF: (status, stdout, stderr)."""
    r = subprocess.run([str(CERTWRAPD), "-t", str(conf)], capture_output=True, text=True,
                       timeout=CHECK_TIMEOUT_S, env=_env(), stdin=subprocess.DEVNULL)
    assert not sanitizer_report(r.stdout + r.stderr), r.stderr
    return r.returncode, r.stdout, r.stderr


def run_daemon_refused(conf):
    """certwrapd -f CONF for a configuration it must refuse: (status, output).
    It must exit on its own, before any listener is open."""
    r = subprocess.run([str(CERTWRAPD), "-f", str(conf)], capture_output=True, text=True,
                       timeout=READY_TIMEOUT_S, env=_env(), stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert not sanitizer_report(out), out
    return r.returncode, out


def refuses_connections(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def client_ctx(pki, cert=None, key=None, **limits):
    """A client context trusting the test root, with a client certificate if
    given; limits: maximum_version / minimum_version (ssl.TLSVersion)."""
    ctx = pki.client_context()
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    for attr, value in limits.items():
        setattr(ctx, attr, value)
    return ctx


def echo_once(ctx, port, host="127.0.0.1", payload=b"ping through certwrapd\n"):
    """Sends payload over TLS to an echo service and returns (what came back,
    the TLS version, the cipher name). Raises ssl.SSLError or OSError when refused."""
    with socket.create_connection((host, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = tls.recv(4096)
                if not chunk:
                    break
                got += chunk
            return got, tls.version(), tls.cipher()[0]


def refusal(ctx, port, host="127.0.0.1"):
    """What a refused client sees (the error text); fails if the echo arrives."""
    try:
        got, _, _ = echo_once(ctx, port, host)
    except (ssl.SSLError, OSError) as e:
        return str(e)
    assert got == b"", f"a client that should be refused got its echo: {got!r}"
    return "closed without data"


def nobody_dir(prefix):
    """A fresh directory in /tmp that nobody:nogroup owns, so a daemon that has
    become nobody can still create and remove files there (pytest's own temp
    directories are 0700 root and not even searchable for it)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chown(d, NOBODY_UID, NOGROUP_GID)
    d.chmod(0o755)
    return d


def ids_of(pid):
    """(uids, gids, groups) of a process, from /proc/PID/status."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return ([int(x) for x in fields["Uid"]], [int(x) for x in fields["Gid"]],
            [int(x) for x in fields["Groups"]])


@pytest.fixture
def processes():
    """Processes a test starts itself (ManagedProcess), stopped by PID at teardown,
    which must exit with their expect_status and log no sanitizer report."""
    started = []
    yield started
    problems = [p for p in (m.problems(getattr(m, "expect_status", 0)) for m in started) if p]
    assert not problems, "\n".join(problems)


# --- a Debian user's stunnel.conf --------------------------------------------------


def debian_stunnel_conf(pki, backend, rundir, ports, dead_port):
    """The file a Debian stunnel4 user has in /etc/stunnel/, using every option
    of issue 2, on loopback ports. Global service options are every service's
    defaults; [imaps] overrides some of them."""
    return f"""\
; /etc/stunnel/mail.conf: TLS in front of the local mail daemons
; (stunnel4 on Debian: one file per instance, started by the init script)

foreground = yes
pid = {rundir}/daemon.pid
debug = info
output = {rundir}/daemon.log
syslog = no
setuid = nobody
setgid = nogroup

; defaults for every service
cert = {pki.fullchain}
key = {pki.leaf_key}
CAfile = {pki.root}
sslVersionMin = TLSv1.2
ciphersuites = TLS_AES_256_GCM_SHA384
TIMEOUTidle = 600

[imaps]
accept = 127.0.0.1:{ports['imaps']}
; the first backend is down: failover to the second
connect = 127.0.0.1:{dead_port}
connect = {backend.addr('imap')}
ciphersuites = TLS_AES_128_GCM_SHA256
curves = P-256:X25519
TIMEOUTbusy = 30
TIMEOUTconnect = 5
TIMEOUTclose = 5

[pop3s]
accept = ::1:{ports['pop3s']}
connect = {backend.addr('pop3')}

[smtps]
accept = {ports['smtps']}
connect = {backend.addr('smtp')}
sslVersionMax = TLSv1.2
ciphers = ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305

; client certificates from our CA, checked against a CRL
[certs]
accept = 127.0.0.1:{ports['certs']}
connect = {backend.addr('echo')}
CAfile =
CApath = {rundir}/ca.d
CRLfile = {pki.crl(pki.client_revoked)}
verifyChain = yes
requireCert = yes

; exactly one client certificate
[peer]
accept = 127.0.0.1:{ports['peer']}
connect = {backend.addr('echo')}
cert = {pki.chain_with_root}
CAfile = {pki.client}
verifyPeer = yes
"""


@pytest.fixture
def debian_setup(pki, backend):
    """(config text, rundir, ports) for debian_stunnel_conf, with a hashed CA
    directory in rundir (OpenSSL reads CApath when a client connects, after
    the daemon has become nobody, so it must be readable by nobody)."""
    pki.extra_leaf("client_revoked", "/CN=revoked client", ext="v3_client")
    pki.extra_leaf("client2", "/CN=certwrap second client", ext="v3_client")
    rundir = nobody_dir("certwrap-compat-")
    cadir = rundir / "ca.d"
    cadir.mkdir()
    shutil.copy(pki.root, cadir / "root.pem")
    subprocess.run(["openssl", "rehash", str(cadir)], check=True, capture_output=True)
    ports = {name: free_port() for name in ("imaps", "pop3s", "smtps", "certs", "peer")}
    ports["pop3s"] = free_port("::1")
    text = debian_stunnel_conf(pki, backend, rundir, ports, free_port())
    yield text, rundir, ports
    shutil.rmtree(rundir, ignore_errors=True)


def exercise_debian_services(pki, backend, ports):
    """Drives every service of debian_stunnel_conf with real clients; the same
    for certwrapd and stunnel."""
    ctx = pki.client_context()
    # imaps: failover past the dead backend; its own ciphersuites
    with imaplib.IMAP4_SSL("localhost", ports["imaps"], ssl_context=ctx) as imap:
        assert imap.sock.version() == "TLSv1.3"
        assert imap.sock.cipher()[0] == "TLS_AES_128_GCM_SHA256"
        imap.login(BACKEND_USER, BACKEND_PASS)
        imap.select("INBOX")
        assert imap.fetch("1", "(RFC822)")[1][0][1] == KNOWN_MESSAGE
    # pop3s on ::1 (stunnel's HOST:PORT split at the last colon); global ciphersuites
    pop = poplib.POP3_SSL("::1", ports["pop3s"], context=ctx)
    try:
        assert pop.sock.cipher()[0] == "TLS_AES_256_GCM_SHA384"
        pop.user(BACKEND_USER)
        pop.pass_(BACKEND_PASS)
        assert b"\r\n".join(pop.retr(1)[1]) + b"\r\n" == KNOWN_MESSAGE
    finally:
        pop.quit()
    # smtps on a bare port (all IPv4 addresses); TLSv1.2 with its own ciphers
    before = len(backend.messages())
    body = b"Subject: compat\r\nMessage-ID: <compat@example.test>\r\n\r\nthrough the file\r\n"
    with smtplib.SMTP_SSL("localhost", ports["smtps"], context=ctx) as smtp:
        assert smtp.sock.version() == "TLSv1.2"
        assert smtp.sock.cipher()[0] in ("ECDHE-ECDSA-AES256-GCM-SHA384",
                                         "ECDHE-ECDSA-CHACHA20-POLY1305")
        smtp.sendmail("a@example.test", ["b@example.test"], body)
    assert backend.wait_messages(before + 1)[-1][1] == body
    # certs: a client certificate of our CA passes; a revoked one and none do not
    good = client_ctx(pki, pki.client_fullchain, pki.client_key)
    assert echo_once(good, ports["certs"])[0] == b"ping through certwrapd\n"
    revoked = client_ctx(pki, pki.client_revoked_fullchain, pki.client_revoked_key)
    refusal(revoked, ports["certs"])
    refusal(ctx, ports["certs"])
    # peer: exactly pki.client
    assert echo_once(good, ports["peer"])[0] == b"ping through certwrapd\n"
    refusal(client_ctx(pki, pki.client2_fullchain, pki.client2_key), ports["peer"])


def test_debian_stunnel_conf_runs_unchanged_under_certwrapd(pki, backend, debian_setup,
                                                           processes, tmp_path):
    text, rundir, ports = debian_setup
    daemon = Certwrapd(tmp_path / "certwrapd", text)
    daemon.argv.remove("-f")               # the file alone says foreground = yes
    processes.append(daemon)
    daemon.start()
    assert daemon.ready_services == 5

    uids, gids, groups = ids_of(daemon.pid)
    assert uids == [NOBODY_UID] * 4, uids
    assert gids == [NOGROUP_GID] * 4, gids
    assert groups == [], groups            # supplementary groups cleared (root's are gone)
    assert (rundir / "daemon.pid").read_text() == f"{daemon.pid}\n"

    exercise_debian_services(pki, backend, ports)

    tls13 = r"TLSv1\.3"
    for svc, client, tls, cipher, target in (
            ("imaps", r"127\.0\.0\.1:\d+", tls13, "TLS_AES_128_GCM_SHA256",
             re.escape(backend.addr("imap"))),
            ("pop3s", r"\[::1\]:\d+", tls13, "TLS_AES_256_GCM_SHA384",
             re.escape(backend.addr("pop3"))),
            ("smtps", r"127\.0\.0\.1:\d+", r"TLSv1\.2", r"ECDHE-ECDSA-\S+",
             re.escape(backend.addr("smtp"))),
            ("certs", r"127\.0\.0\.1:\d+", tls13, r"\S+", re.escape(backend.addr("echo"))),
            ("peer", r"127\.0\.0\.1:\d+", tls13, r"\S+", re.escape(backend.addr("echo")))):
        daemon.wait_log(CONN_RE.format(svc=svc, client=client, tls=tls, cipher=cipher,
                                       backend=target))
    daemon.wait_log(r"warning: imaps: backend 127\.0\.0\.1:\d+: Connection refused; trying")
    daemon.wait_log(r'certs: conn .*end=handshake-failed reason="client certificate '
                    r'verify failed: certificate revoked"')
    daemon.wait_log(r'certs: conn .*end=handshake-failed reason="peer did not return '
                    r'a certificate"')
    daemon.wait_log(r'peer: conn .*end=handshake-failed reason="client certificate '
                    r'verify failed: certificate not trusted"')
    # output = FILE has the same lines as stderr
    output = (rundir / "daemon.log").read_text()
    assert re.search(READY_RE.pattern, output) and "certs: conn" in output

    assert daemon.stop() == 0
    assert not (rundir / "daemon.pid").exists(), "the pid file outlived the daemon"


def test_the_same_file_runs_under_stunnel(pki, backend, debian_setup, processes, tmp_path):
    """The file of the test above is a real stunnel configuration."""
    text, rundir, ports = debian_setup
    conf = tmp_path / "stunnel.conf"
    conf.write_text(text)
    st = ManagedProcess([STUNNEL, conf], tmp_path / "stunnel.out", "stunnel")
    processes.append(st)
    st.start()
    st.wait_log(r"Accepting new connections")
    pid = int((rundir / "daemon.pid").read_text())
    assert pid == st.pid
    assert ids_of(st.pid)[0] == [NOBODY_UID] * 4

    exercise_debian_services(pki, backend, ports)

    st.wait_log(r"Rejected by CERT at depth=0: CN=revoked client")
    st.wait_log(r"Rejected by CERT at depth=0: CN=certwrap second client")
    assert st.stop() == 0
    assert not (rundir / "daemon.pid").exists()
    assert "Service [imaps] accepted connection" in (rundir / "daemon.log").read_text()


def test_bracketed_ipv6_accept_is_a_certwrapd_extension(pki, backend, certwrapd):
    """stunnel splits HOST:PORT at the last colon and has no [v6]:port form;
    certwrapd also takes it, as issue 2 asks."""
    port = free_port("::1")
    daemon = certwrapd(config_text({"echo6": service(f"[::1]:{port}", backend.addr("echo"),
                                                     cert=pki.fullchain, key=pki.leaf_key,
                                                     CAfile=pki.root)}))
    got, _, _ = echo_once(pki.client_context(), port, host="::1")
    assert got == b"ping through certwrapd\n"
    daemon.wait_log(rf"echo6: listening on \[::1\]:{port}")
    daemon.wait_log(r"echo6: conn client=\[::1\]:\d+ tls=TLSv1\.3 ")


# --- certwrapd -t ----------------------------------------------------------------------


def test_check_prints_one_line_per_service_and_exits_0(pki, backend, tmp_path):
    dead = free_port()
    p1, p2 = free_port(), free_port("::1")
    text = config_text({
        "imaps": service(p1, [f"127.0.0.1:{dead}", backend.addr("imap")], cert=pki.fullchain,
                         key=pki.leaf_key, CAfile=pki.root),
        "pop3s": service(f"[::1]:{p2}", backend.addr("pop3"), cert=pki.combined,
                         CAfile=pki.root),
    })
    conf = tmp_path / "certwrapd.conf"
    conf.write_text(text)
    status, out, err = run_t(conf)
    assert status == 0, err
    assert err == ""
    _, not_after = pki.dates(pki.leaf)
    expires = datetime.datetime.strptime(not_after, "%b %d %H:%M:%S %Y %Z").strftime("%Y-%m-%d")
    chain = re.escape("leaf CN=localhost, issued by CN=certwrap test intermediate CA, "
                      "O=certwrap tests, chain 1 (root CN=certwrap test root CA, "
                      f"O=certwrap tests not sent), expires {expires} (") + \
        r"\d+ days\) \(file \S+\.pem\)"
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert re.fullmatch(rf"{re.escape(str(conf))}: \[imaps\] accept 127\.0\.0\.1:{p1}, "
                        rf"connect 127\.0\.0\.1:{dead} {re.escape(backend.addr('imap'))}, "
                        + chain, lines[0]), lines[0]
    assert re.fullmatch(rf"{re.escape(str(conf))}: \[pop3s\] accept \[::1\]:{p2}, "
                        rf"connect {re.escape(backend.addr('pop3'))}, " + chain,
                        lines[1]), lines[1]
    assert lines[2] == f"{conf}: configuration OK: 2 services, 0 warnings"
    # nothing was bound
    assert refuses_connections(p1)


def _self_signed(tmp_path):
    """A self-signed localhost certificate and key (its own root: valid
    without CAfile)."""
    key, cert = tmp_path / "self.key", tmp_path / "self.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=localhost", "-days", "30", "-addext",
                    "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return cert, key


# Each case: (id, service options over a good service, the expected error line
# as a regex with {conf} and {line} filled in, the option whose line it names).
# {P.name} is a file of the PKI, {T} the test's temp directory.
REFUSED = [
    ("unknown-option", {"verifyPeeer": "yes"},
     "{conf}:{line}: verifyPeeer: unknown option (did you mean verifyPeer?)", "verifyPeeer"),
    ("bad-boolean", {"verifyPeer": "maybe"},
     '{conf}:{line}: verifyPeer: expected yes or no, got "maybe"', "verifyPeer"),
    ("bad-timeout", {"TIMEOUTidle": "10m"},
     '{conf}:{line}: TIMEOUTidle: expected whole seconds 0-31536000, got "10m"', "TIMEOUTidle"),
    ("bad-version", {"sslVersionMin": "SSLv3"},
     "{conf}:{line}: sslVersionMin: SSLv3 is not supported: OpenSSL 3 has no SSLv3; "
     "use TLSv1.2 or later", "sslVersionMin"),
    ("missing-cert", {"cert": "{T}/missing.pem"},
     "{conf}:{line}: cert: {T}/missing.pem: cannot open: No such file or directory", "cert"),
    ("missing-key", {"key": "{T}/missing.key"},
     "{conf}:{line}: key: {T}/missing.key: cannot open: No such file or directory", "key"),
    ("missing-cafile", {"CAfile": "{T}/missing-ca.pem"},
     "{conf}:{line}: CAfile: {T}/missing-ca.pem: cannot read the CA file: "
     "No such file or directory", "CAfile"),
    ("missing-capath", {"CApath": "{T}/missing.d"},
     "{conf}:{line}: CApath: {T}/missing.d: cannot use the CA directory: "
     "No such file or directory", "CApath"),
    ("missing-crlfile", {"CRLfile": "{T}/missing-crl.pem"},
     "{conf}:{line}: CRLfile: {T}/missing-crl.pem: no CRL could be loaded (.*); expected "
     'PEM "X509 CRL" blocks', "CRLfile"),
    ("wrong-key", {"key": "{P.wrong_key}"},
     "{conf}:{line}: key: {P.wrong_key}: the private key does not match certificate "
     "CN=localhost in {P.fullchain} (key: EC P-256; certificate: EC P-256): use the key the "
     "certificate request was made with, or have the certificate reissued for this key", "key"),
    ("expired", {"cert": "{P.expired_fullchain}", "key": "{P.expired_key}"},
     r"{conf}:{line}: cert: {P.expired_fullchain}: certificate CN=localhost expired "
     r"2021-01-01 00:00 UTC \(\d+ days ago\): renew it and install the new certificate", "cert"),
    ("not-yet-valid", {"cert": "{P.not_yet_valid_fullchain}", "key": "{P.not_yet_valid_key}"},
     r"{conf}:{line}: cert: {P.not_yet_valid_fullchain}: certificate CN=localhost is not valid "
     r"before 2099-01-01 00:00 UTC \(in \d+ days\): check the system clock, or wait until then",
     "cert"),
    ("incomplete-chain", {"cert": "{P.leaf_only}"},
     "{conf}:{line}: cert: {P.leaf_only}: incomplete chain: the issuer of CN=localhost "
     "(CN=certwrap test intermediate CA, O=certwrap tests) is neither in {P.leaf_only} nor a "
     "trusted root: append that intermediate CA certificate to {P.leaf_only} after the leaf",
     "cert"),
    # stunnel's combined file (key, leaf; here no intermediate) and no key line
    ("combined-file-incomplete", {"cert": "{T}/combined-leaf-only.pem", "key": None},
     "{conf}:{line}: cert: {T}/combined-leaf-only.pem: incomplete chain: the issuer of "
     "CN=localhost (CN=certwrap test intermediate CA, O=certwrap tests) is neither in "
     "{T}/combined-leaf-only.pem nor a trusted root: append that intermediate CA certificate "
     "to {T}/combined-leaf-only.pem after the leaf", "cert"),
    ("rsa-1024", {"cert": "{P.weak_fullchain}", "key": "{P.weak_key}"},
     "{conf}:{line}: cert: {P.weak_fullchain}: certificate CN=localhost has a 1024-bit RSA "
     "key, too weak (at least 2048 bits): make a new key (RSA 2048 bits or more, or EC P-256) "
     "and have the certificate reissued for it", "cert"),
    ("sha1", {"cert": "{P.sha1_fullchain}", "key": "{P.sha1_key}"},
     "{conf}:{line}: cert: {P.sha1_fullchain}: certificate CN=localhost is signed with SHA-1 "
     "(ecdsa-with-SHA1), which clients refuse: have your CA reissue it with SHA-256", "cert"),
    ("ca-leaf", {"cert": "{P.ca_leaf_fullchain}", "key": "{P.ca_leaf_key}"},
     "{conf}:{line}: cert: {P.ca_leaf_fullchain}: certificate CN=localhost is a CA certificate "
     "(basicConstraints CA:TRUE), not a server certificate, and clients such as Thunderbird "
     "refuse it: issue a server certificate with this CA and use that", "cert"),
    # the root in the file completes the chain, so CAfile is not needed for it
    ("verifychain-without-cafile", {"cert": "{P.chain_with_root}", "CAfile": None,
                                    "verifyChain": "yes"},
     r"{conf}:{line}: verifyChain: needs CAfile or CApath with the certificates to trust "
     r"\(the CA that issues client certificates\)", "verifyChain"),
    ("verifypeer-without-cafile", {"cert": "{P.chain_with_root}", "CAfile": None,
                                   "verifyPeer": "yes"},
     r"{conf}:{line}: verifyPeer: needs CAfile or CApath with the certificates to trust "
     r"\(the CA that issues client certificates, or the client certificates themselves\)",
     "verifyPeer"),
    ("unknown-ciphersuite", {"ciphersuites": "TLS_AES_128_GCM_SHA257"},
     r'{conf}:{line}: ciphersuites: "TLS_AES_128_GCM_SHA257" is not a TLSv1\.3 ciphersuite '
     r"this OpenSSL knows \(.*TLS_AES_128_GCM_SHA256.*\)", "ciphersuites"),
    # one unknown name among known ones must not be dropped silently either
    ("unknown-ciphersuite-in-list", {"ciphersuites": "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM"},
     r'{conf}:{line}: ciphersuites: "TLS_AES_128_GCM" is not a TLSv1\.3 ciphersuite this '
     r"OpenSSL knows \(.*\)", "ciphersuites"),
    ("unknown-curve", {"curves": "P-384:X25520"},
     r'{conf}:{line}: curves: "P-384:X25520" names a curve this OpenSSL does not know '
     r"\(for example X25519:P-256:P-384\)", "curves"),
    ("no-usable-cipher", {"ciphers": "NO-SUCH-CIPHER"},
     r'{conf}:{line}: ciphers: no usable cipher in "NO-SUCH-CIPHER" \(see `openssl ciphers '
     r'-v`\)', "ciphers"),
]

def _fill(template, pki, tmp_path, regex):
    """Fills {P.name} and {T}; the filled-in paths are escaped when the
    template is a regex."""
    def sub(m):
        value = str(tmp_path) if m.group(0) == "{T}" else str(getattr(pki, m.group(1)))
        return re.escape(value) if regex else value
    return re.sub(r"\{P\.(\w+)\}|\{T\}", sub, template)


def _refused_config(case, pki, tmp_path, port):
    name, options, expected, option = case
    if name == "ca-leaf":
        pki.extra_leaf("ca_leaf", ext="v3_ca_leaf")
    if name == "combined-file-incomplete":
        (tmp_path / "combined-leaf-only.pem").write_bytes(pki.leaf_key.read_bytes() +
                                                          pki.leaf.read_bytes())
    svc = service(port, "127.0.0.1:9", cert=pki.fullchain, key=pki.leaf_key, CAfile=pki.root)
    for k, v in options.items():
        svc[k] = _fill(v, pki, tmp_path, regex=False) if isinstance(v, str) else v
    text = config_text({"svc": svc})
    conf = tmp_path / "certwrapd.conf"
    conf.write_text(text)
    line = line_of(text, f"{option} =", after="[svc]")
    # messages in plain words (no regex metacharacters) are compared literally
    is_regex = "\\" in expected or ".*" in expected
    want = _fill(expected, pki, tmp_path, regex=is_regex).replace("{conf}", re.escape(str(conf))
                                                                 if is_regex else str(conf))
    want = want.replace("{line}", str(line))
    return conf, want, is_regex


def _assert_has_line(output, want, is_regex):
    lines = output.splitlines()
    if is_regex:
        assert any(re.fullmatch(want, l) for l in lines), f"no line /{want}/ in:\n{output}"
    else:
        assert want in lines, f"no line {want!r} in:\n{output}"


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_check_refuses_with_file_line_option_message(case, pki, tmp_path):
    conf, want, is_regex = _refused_config(case, pki, tmp_path, free_port())
    status, out, err = run_t(conf)
    assert status == 1, f"certwrapd -t accepted it:\n{out}{err}"
    _assert_has_line(err, want, is_regex)
    assert err.splitlines()[-1] == f"{conf}: configuration refused: 1 error", err
    assert "configuration OK" not in out


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_daemon_refuses_to_start_with_the_same_message(case, pki, tmp_path):
    port = free_port()
    conf, want, is_regex = _refused_config(case, pki, tmp_path, port)
    status, out = run_daemon_refused(conf)
    assert status == 1, f"certwrapd started (or crashed) with status {status}:\n{out}"
    # the message may carry the log's time and level in front
    lines = [re.sub(r"^\S+ \S+ error: ", "", l) for l in out.splitlines()]
    _assert_has_line("\n".join(lines), want, is_regex)
    assert lines[-1] == "certwrapd: not started (1 error)", out
    assert "ready:" not in out
    assert refuses_connections(port)


def test_all_errors_of_a_file_are_reported_at_once(pki, tmp_path):
    text = config_text({
        "a": service(free_port(), "127.0.0.1:9", cert=pki.fullchain, key=pki.wrong_key,
                     CAfile=pki.root, verifyPeeer="yes"),
        "b": service(free_port(), "127.0.0.1:9", cert=pki.expired_fullchain,
                     key=pki.expired_key, CAfile=pki.root),
    })
    conf = tmp_path / "certwrapd.conf"
    conf.write_text(text)
    status, _, err = run_t(conf)
    assert status == 1
    # a syntax error stops before certificates are read: the parser reports
    # every syntax error, then the run stops
    assert err.splitlines() == [
        f"{conf}:{line_of(text, 'verifyPeeer =')}: verifyPeeer: unknown option "
        "(did you mean verifyPeer?)",
        f"{conf}: configuration refused: 1 error"]
    # with the syntax fixed, both certificate errors come together
    conf.write_text(text.replace("verifyPeeer = yes\n", ""))
    status, _, err = run_t(conf)
    text = conf.read_text()
    assert status == 1
    lines = err.splitlines()
    assert lines[0].startswith(f"{conf}:{line_of(text, 'key =', after='[a]')}: key: "
                               f"{pki.wrong_key}: the private key does not match")
    assert lines[1].startswith(f"{conf}:{line_of(text, 'cert =', after='[b]')}: cert: "
                               f"{pki.expired_fullchain}: certificate CN=localhost expired")
    assert lines[2] == f"{conf}: configuration refused: 2 errors"


# --- warnings that still start ------------------------------------------------------------


def _showcerts(pki, port):
    """The subjects the server sends, in order, as `openssl s_client -showcerts`
    prints them; the chain must verify against the root alone."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                        "-servername", "localhost", "-verify_return_error", "-showcerts",
                        "-CAfile", str(pki.root), "-verify_hostname", "localhost"],
                       input=b"", capture_output=True, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode() + out
    assert "Verify return code: 0 (ok)" in out
    return [s.strip() for _, s in re.findall(r"^ ?(\d+) s:(.*)$", out, re.M)]


SENT_CHAIN = ["CN = localhost", "O = certwrap tests, CN = certwrap test intermediate CA"]


def _expiring_soon(pki):
    pki.extra_leaf("expiring", days=10)
    return pki.expiring_fullchain, pki.expiring_key


# (id, cert, key, the warning after "cert: <cert>: ")
WARNED = [
    ("shuffled", lambda p: (p.shuffled, p.leaf_key),
     r"the leaf CN=localhost is certificate 2 of 2; it is sent first anyway \(put it first "
     r"in the file\)"),
    ("chain-with-root", lambda p: (p.chain_with_root, p.leaf_key),
     r"root CA CN=certwrap test root CA, O=certwrap tests is not sent \(clients use their own "
     r"copy; sending it only adds bytes\): you may remove it from the file"),
    ("out-of-order", lambda p: (p.out_of_order, p.leaf_key),
     r"root CA CN=certwrap test root CA, O=certwrap tests is not sent \(clients use their own "
     r"copy; sending it only adds bytes\): you may remove it from the file"),
    ("expiring-in-10-days", _expiring_soon,
     r"certificate CN=localhost expires \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in (9|10) days\): "
     r"renew it soon"),
]


@pytest.mark.parametrize("case", WARNED, ids=[c[0] for c in WARNED])
def test_warning_names_file_and_line_and_the_service_works(case, pki, backend, certwrapd):
    _, files, warning = case
    cert, key = files(pki)
    port = free_port()
    text = config_text({"echo": service(port, backend.addr("echo"), cert=cert, key=key,
                                        CAfile=pki.root)})
    daemon = certwrapd(text)
    line = line_of(text, "cert =")
    daemon.wait_log(rf"warning: {re.escape(str(daemon.config_path))}:{line}: cert: "
                    rf"{re.escape(str(cert))}: {warning}")
    assert echo_once(pki.client_context(), port)[0] == b"ping through certwrapd\n"
    # whatever the file held, the leaf goes first, then the intermediate, never the root
    assert _showcerts(pki, port) == SENT_CHAIN
    # and -t shows the same warning, and exits 0
    status, out, err = run_t(daemon.config_path)
    assert status == 0, err
    assert re.search(rf"^warning: {re.escape(str(daemon.config_path))}:{line}: cert: "
                     rf"{re.escape(str(cert))}: {warning}$", err, re.M), err
    assert out.splitlines()[-1].endswith("configuration OK: 1 service, 1 warning")


# --- daemon options ------------------------------------------------------------------------


def test_foreground_no_daemonizes_once_serving_with_pid_file_and_output(pki, backend,
                                                                        tmp_path):
    """Without -f and with foreground = no, `certwrapd CONFIG` returns 0 only
    once the daemon serves; the pid file names the daemon, the output file
    gets its log, and the daemon is stopped by that PID."""
    port = free_port()
    pid_file, output = tmp_path / "certwrapd.pid", tmp_path / "certwrapd.log"
    text = config_text({"echo": service(port, backend.addr("echo"), cert=pki.fullchain,
                                        key=pki.leaf_key, CAfile=pki.root)},
                       {"foreground": "no", "pid": pid_file, "output": output})
    conf = tmp_path / "certwrapd.conf"
    conf.write_text(text)
    env = _env()
    if SANITIZED:
        # the daemon's stderr is /dev/null once it serves: reports go to files
        for var in SANITIZER_ENV:
            env[var] += f":log_path={tmp_path}/sanitizer"
    r = subprocess.run([str(CERTWRAPD), str(conf)], capture_output=True, text=True,
                       timeout=READY_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    pid = int(pid_file.read_text())
    try:
        # serving already: no waiting for the port
        assert echo_once(pki.client_context(), port)[0] == b"ping through certwrapd\n"
        log = output.read_text()
        assert f"ready: services=1 pid={pid}" in log
        assert r.stdout + r.stderr == "", "a daemon in the background writes to its log only"
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
        assert int(stat[1]) != os.getpid(), "not in the background: still our child"
        assert int(stat[3]) == pid, "not the leader of its own session (setsid)"
    finally:
        os.kill(pid, signal.SIGTERM)

    def gone():
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True

    wait_for(gone, STOP_TIMEOUT_S, f"daemon {pid} to exit after SIGTERM")
    log = output.read_text()
    assert "shutdown: done" in log
    assert not pid_file.exists()
    assert not sanitizer_report(log), log
    reports = [f.read_text() for f in tmp_path.glob("sanitizer*")]
    assert not reports, "\n".join(reports)
    assert re.search(r"echo: conn client=127\.0\.0\.1:\d+ tls=TLSv1\.3 ", log)


def test_foreground_no_reports_a_start_failure_with_status_1(pki, tmp_path):
    """The parent waits for the child's verdict: a listener that cannot be
    bound is an error on the terminal and exit status 1, not a 0 and a dead daemon."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        text = config_text({"echo": service(port, "127.0.0.1:9", cert=pki.fullchain,
                                            key=pki.leaf_key, CAfile=pki.root)},
                           {"foreground": "no"})
        conf = tmp_path / "certwrapd.conf"
        conf.write_text(text)
        r = subprocess.run([str(CERTWRAPD), str(conf)], capture_output=True, text=True,
                           timeout=READY_TIMEOUT_S, env=_env(), stdin=subprocess.DEVNULL)
    finally:
        busy.close()
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(rf"{re.escape(str(conf))}:{line_of(text, 'accept =')}: accept: "
                     rf"cannot listen on 127\.0\.0\.1:{port}: Address already in use", r.stderr), r.stderr


def _connections_logged(daemon):
    """Asks the daemon (SIGUSR2, logged at notice) until it reports no open
    connection, so every connection's end has been logged, if at all."""
    def idle():
        mark = daemon.log_size()
        daemon.send_signal(signal.SIGUSR2)
        m = daemon.wait_log(r"connections: (\d+) open", start=mark)
        return m.group(1) == "0"

    wait_for(idle, READY_TIMEOUT_S, "certwrapd to report no open connection")


@pytest.mark.parametrize("level,shown", [("notice", False), ("info", True), ("5", False),
                                         ("daemon.info", True)])
def test_debug_level_decides_the_per_connection_line(level, shown, pki, backend, certwrapd):
    port = free_port()
    daemon = certwrapd(config_text({"echo": service(port, backend.addr("echo"),
                                                    cert=pki.fullchain, key=pki.leaf_key,
                                                    CAfile=pki.root)}, {"debug": level}))
    assert echo_once(pki.client_context(), port)[0] == b"ping through certwrapd\n"
    _connections_logged(daemon)
    log = daemon.log()
    assert ("echo: conn client=" in log) == shown, log
    assert ("info: echo: listening on" in log) == shown, log
    assert "notice: ready:" in log


def test_output_file_receives_the_log_lines(pki, backend, certwrapd, tmp_path):
    port = free_port()
    output = tmp_path / "out" / "certwrapd.log"
    output.parent.mkdir()
    output.write_text("an older line stays\n")
    daemon = certwrapd(config_text({"echo": service(port, backend.addr("echo"),
                                                    cert=pki.fullchain, key=pki.leaf_key,
                                                    CAfile=pki.root)},
                                   {"output": output, "foreground": "quiet"}),
                       wait_ready=False)
    # foreground = quiet: the log goes to the output file only
    wait_for(lambda: re.search(rf"notice: ready: services=1 pid={daemon.pid}",
                               output.read_text()), READY_TIMEOUT_S, f"ready in {output}")
    assert echo_once(pki.client_context(), port)[0] == b"ping through certwrapd\n"
    wait_for(lambda: re.search(r"info: echo: conn client=127\.0\.0\.1:\d+ tls=TLSv1\.3 ",
                               output.read_text()), READY_TIMEOUT_S, f"conn line in {output}")
    assert output.read_text().startswith("an older line stays\n")   # appended, not truncated
    # foreground = quiet: nothing on stderr
    assert daemon.log() == "", daemon.log()


def test_output_file_that_cannot_be_opened_is_refused(pki, tmp_path):
    text = config_text({"echo": service(free_port(), "127.0.0.1:9", cert=pki.fullchain,
                                        key=pki.leaf_key, CAfile=pki.root)},
                       {"output": tmp_path / "no-such-dir" / "certwrapd.log"})
    conf = tmp_path / "certwrapd.conf"
    conf.write_text(text)
    status, out = run_daemon_refused(conf)
    assert status == 1
    assert (f"{conf}:{line_of(text, 'output =')}: output: {tmp_path}/no-such-dir/certwrapd.log: "
            "cannot open log file: No such file or directory") in out.splitlines(), out


@pytest.mark.parametrize("syslog", [False, True])
def test_syslog_no_never_talks_to_syslog(syslog, pki, backend, processes, tmp_path):
    """The daemon's connect(2) calls, traced: syslog = yes connects to /dev/log
    (which need not exist here), syslog = no never does."""
    strace = shutil.which("strace")
    assert strace, "strace is missing (make deps installs it)"
    port = free_port()
    text = config_text({"echo": service(port, backend.addr("echo"), cert=pki.fullchain,
                                        key=pki.leaf_key, CAfile=pki.root)},
                       {"syslog": syslog})
    trace = tmp_path / "connect.trace"
    daemon = Certwrapd(tmp_path / "d", text)
    daemon.argv = [strace, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), *daemon.argv]
    if SANITIZED:
        # LeakSanitizer stops the process with ptrace, which strace holds
        daemon.env = {"ASAN_OPTIONS": SANITIZER_ENV["ASAN_OPTIONS"] + ":detect_leaks=0"}
    daemon.expect_status = 0                 # strace exits with the daemon's status
    processes.append(daemon)
    ManagedProcess.start(daemon)
    pid = int(daemon.wait_log(READY_RE.pattern).group(2))
    assert echo_once(pki.client_context(), port)[0] == b"ping through certwrapd\n"
    daemon.wait_log(r"echo: conn client=")
    os.kill(pid, signal.SIGTERM)             # the daemon by its PID; strace follows it out
    daemon.proc.wait(STOP_TIMEOUT_S)
    assert daemon.returncode == 0, daemon.log()
    calls = trace.read_text()
    assert re.search(r"connect\(\d+, \{sa_family=AF_INET, sin_port=htons\(\d+\)", calls), calls
    assert ('sun_path="/dev/log"' in calls) == syslog, calls


def test_pid_file_in_a_directory_nobody_cannot_write(pki, backend, certwrapd, tmp_path):
    """certwrapd writes its pid file before it becomes nobody, so it can create
    it in a root-only directory, but cannot remove it at exit: it says so and
    still exits 0. (stunnel creates it after setuid and refuses to start.)"""
    rootonly = tmp_path / "run"
    rootonly.mkdir(mode=0o700)
    pid_file = rootonly / "certwrapd.pid"
    port = free_port()
    daemon = certwrapd(config_text({"echo": service(port, backend.addr("echo"),
                                                    cert=pki.fullchain, key=pki.leaf_key,
                                                    CAfile=pki.root)},
                                   {"pid": pid_file, "setuid": "nobody", "setgid": "nogroup"}))
    assert pid_file.read_text() == f"{daemon.pid}\n"
    assert ids_of(daemon.pid)[0] == [NOBODY_UID] * 4
    assert echo_once(pki.client_context(), port)[0] == b"ping through certwrapd\n"
    assert daemon.stop() == 0
    assert pid_file.exists()
    assert re.search(rf"warning: pid: cannot remove {re.escape(str(pid_file))}: "
                     r"Permission denied", daemon.log()), daemon.log()


def test_unknown_setuid_user_is_refused_by_check_and_daemon(pki, tmp_path):
    text = config_text({"echo": service(free_port(), "127.0.0.1:9", cert=pki.fullchain,
                                        key=pki.leaf_key, CAfile=pki.root)},
                       {"setuid": "no-such-user-certwrap", "setgid": "no-such-group-certwrap"})
    conf = tmp_path / "certwrapd.conf"
    conf.write_text(text)
    group_error = (f"{conf}:{line_of(text, 'setgid =')}: setgid: no group "
                   '"no-such-group-certwrap" on this system')
    user_error = (f"{conf}:{line_of(text, 'setuid =')}: setuid: no user "
                  '"no-such-user-certwrap" on this system')
    status, out, err = run_t(conf)
    assert status == 1, out + err
    assert err.splitlines() == [group_error, user_error,
                                f"{conf}: configuration refused: 2 errors"], err
    status, out = run_daemon_refused(conf)
    assert status == 1, out
    assert group_error in out and user_error in out
