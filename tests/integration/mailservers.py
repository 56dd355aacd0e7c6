"""Real mail servers as certwrapd's backends: Dovecot (IMAP, POP3) and Postfix (SMTP).

Both come from Debian (dovecot-imapd, dovecot-pop3d, postfix; .ci/deps installs
them and keeps their system instances from starting). A test never uses the
system configuration, the default ports or the system spool: each server runs
from a configuration written into a fresh directory under /tmp, listens on free
loopback ports, logs to a file there and is stopped by its PID.

Fixtures (module scope, so each test module starts each server once; import
them into the test module by name):
  dovecot    class Dovecot: IMAP and POP3, each on a plain listener and on one
             that expects a PROXY header (v1 or v2, Dovecot detects which),
             user TEST_USER / TEST_PASS whose INBOX holds KNOWN_MESSAGE
  postfix    class Postfix: SMTP on a plain listener and on one that expects a
             PROXY header (smtpd_upstream_proxy_protocol = haproxy: v1 and,
             since Postfix 3.5, v2), every address @MAIL_DOMAIN delivered to
             one Maildir

Clients that connect from CLIENT_ADDR (127.0.0.2, another loopback address
on Linux) make the difference visible between the address of the real client
and that of certwrapd (127.0.0.1): SourcedIMAP4(_SSL), SourcedPOP3(_SSL), and
smtplib's own source_address.

Why root: Postfix's master must start as root (it binds, then runs its
daemons as the mail_owner `postfix`, and its queue must be root-owned), and
Dovecot runs the mail user's processes as uid/gid MAIL_UID (nobody), which
only root can switch to. The directory is mode 0755 so that those users can
reach their files.
"""

import imaplib
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (KNOWN_MESSAGE, READY_TIMEOUT_S, ManagedProcess, config_text, format_addr,
                      free_port, service, wait_for)

CLIENT_ADDR = "127.0.0.2"          # the real client, as a PROXY header should name it
CERTWRAPD_ADDR = "127.0.0.1"       # where certwrapd connects to a backend from
TEST_USER = "cwtest"
TEST_PASS = "cw-secret-1"
MAIL_DOMAIN = "certwrap.test"
MAIL_UID = MAIL_GID = 65534        # nobody / nogroup: Dovecot refuses root as the mail user

DOVECOT = "/usr/sbin/dovecot"
POSTFIX = "/usr/sbin/postfix"
POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"

SERVER_START_TIMEOUT_S = 20.0
DELIVERY_TIMEOUT_S = 30.0          # Postfix: accepted by smtpd to written in the Maildir
LOG_TIMEOUT_S = 10.0
GROUP_EXIT_TIMEOUT_S = 10.0

# Lines that mean a server is unwell, whatever the test saw.
DOVECOT_TROUBLE_RE = re.compile(r"^.*\b(Error|Fatal|Panic):.*$", re.M)
POSTFIX_TROUBLE_RE = re.compile(r"^.*\b(fatal|panic|error):.*$", re.M)


def _require(path, package):
    assert Path(path).exists(), f"{path} is missing: install {package} (`make deps`)"
    assert os.geteuid() == 0, \
        f"{package}: the mail-server tests run only as root (see tests/integration/mailservers.py)"


def _server_dir(prefix):
    """A fresh directory under /tmp that every user may enter (mode 0755)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    d.chmod(0o755)
    return d


def _group_members(pgid):
    """PIDs of the live (not zombie) processes in process group pgid."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()   # after "pid (comm) "
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


def _listening_ports():
    """The TCP ports some IPv4 socket listens on (state 0A in /proc/net/tcp)."""
    ports = set()
    with open("/proc/net/tcp") as f:
        next(f)                                          # the header
        for line in f:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":
                ports.add(int(local.rpartition(":")[2], 16))
    return ports


class MailServer(ManagedProcess):
    """A mail server's master process, started in its own session so that it
    and every daemon it forks form one process group named by its PID.

    server_log: the file the server itself logs to. mark() gives an offset in
    it; wait_server_log(pattern, start) polls from there."""

    expect_status = 0
    TROUBLE_RE = None

    def __init__(self, argv, workdir, name, server_log):
        super().__init__(argv, workdir / f"{name}.out", name)
        self.workdir = workdir
        self.server_log = server_log

    def start(self):
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ports(self, ports, timeout=SERVER_START_TIMEOUT_S):
        """Polls until every port is listening; fails at once, with the logs,
        if the server exits first. It reads /proc/net/tcp rather than
        connecting, so that no probe shows up in the server's log as a
        client (the log lines of a test's own connection are what it checks)."""
        def listening():
            if not self.running():
                raise AssertionError(f"{self.name} exited with status {self.returncode} "
                                     f"while starting:\n{self.logs()}")
            return set(ports) <= _listening_ports()

        wait_for(listening, timeout, f"{self.name} to listen on {sorted(ports)}")

    def server_text(self):
        try:
            return self.server_log.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def logs(self):
        return (f"--- {self.log_path} ---\n{self.log()}\n"
                f"--- {self.server_log} ---\n{self.server_text()}")

    def mark(self):
        """The current length of the server's log: a start for wait_server_log()."""
        try:
            return self.server_log.stat().st_size
        except FileNotFoundError:
            return 0

    def wait_server_log(self, pattern, start=0, timeout=LOG_TIMEOUT_S):
        """Polls the server's log from byte offset start for a regex; returns
        the match. Fails with the log if it does not come in time."""
        regex = re.compile(pattern)

        def found():
            text = self.server_log.read_bytes()[start:].decode("utf-8", "replace") \
                if self.server_log.exists() else ""
            return regex.search(text)

        try:
            return wait_for(found, timeout, f"/{pattern}/ in {self.server_log}")
        except TimeoutError as e:
            raise AssertionError(f"{e}; since the test began:\n"
                                 f"{self.server_text()[start:] if start else self.server_text()}"
                                 ) from None

    def stop(self, timeout=GROUP_EXIT_TIMEOUT_S):
        """Stops the master by its PID, then waits for the daemons of its
        group to end; any that outlive it get SIGKILL, each by its PID."""
        status = super().stop(timeout)
        if self.proc is None:
            return status
        pgid = self.proc.pid
        try:
            wait_for(lambda: not _group_members(pgid), timeout, f"{self.name}'s daemons to exit")
        except TimeoutError:
            self.killed = True
            for pid in _group_members(pgid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return status

    def problems(self, expect_status=None):
        if self.proc is None:
            return ""                    # never started: the test failed already
        found = super().problems(self.expect_status if expect_status is None else expect_status)
        trouble = [m.group(0) for m in self.TROUBLE_RE.finditer(self.server_text())]
        if trouble:
            found += f"\n{self.name} logged errors:\n" + "\n".join(trouble)
        return found.strip()


# --- Dovecot ---------------------------------------------------------------------------

DOVECOT_CONF = """\
# written by tests/integration/mailservers.py: a Dovecot of its own in {d}
instance_name = certwrap-test-{port_imap}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
# certwrapd does TLS; the link to it is loopback plaintext
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# who may send a PROXY header (the haproxy listeners below)
haproxy_trusted_networks = 127.0.0.0/8
mail_location = maildir:{d}/Maildir
pop3_uidl_format = %g

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home
}}

service imap-login {{
  inet_listener imap {{
    port = {port_imap}
  }}
  inet_listener imap_proxy {{
    port = {port_imap_proxy}
    haproxy = yes
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port_pop3}
  }}
  inet_listener pop3_proxy {{
    port = {port_pop3_proxy}
    haproxy = yes
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""

# Dovecot's maildir file name for the known message: its size (S=), already seen (flag S)
KNOWN_MESSAGE_FILE = f"1704067200.M1P1.certwrap,S={len(KNOWN_MESSAGE)}:2,S"


class Dovecot(MailServer):
    """`dovecot -F -c DIR/dovecot.conf`. Ports: imap, imap_proxy, pop3,
    pop3_proxy (the _proxy ones require a PROXY header). Its INBOX holds
    KNOWN_MESSAGE only; tests read it and leave it there."""

    TROUBLE_RE = DOVECOT_TROUBLE_RE

    def __init__(self, workdir):
        _require(DOVECOT, "dovecot-imapd and dovecot-pop3d")
        self.ports = {name: free_port() for name in ("imap", "imap_proxy", "pop3", "pop3_proxy")}
        conf = workdir / "dovecot.conf"
        conf.write_text(DOVECOT_CONF.format(d=workdir, uid=MAIL_UID, gid=MAIL_GID,
                                            **{f"port_{k}": v for k, v in self.ports.items()}))
        (workdir / "users").write_text(f"{TEST_USER}:{{PLAIN}}{TEST_PASS}::::::\n")
        for sub in ("Maildir/cur", "Maildir/new", "Maildir/tmp", "home"):
            (workdir / sub).mkdir(parents=True)
        (workdir / "Maildir" / "cur" / KNOWN_MESSAGE_FILE).write_bytes(KNOWN_MESSAGE)
        for path in [workdir / "Maildir", workdir / "home", *(workdir / "Maildir").rglob("*")]:
            os.chown(path, MAIL_UID, MAIL_GID)
        super().__init__([DOVECOT, "-F", "-c", conf], workdir, "dovecot", workdir / "dovecot.log")

    def start(self):
        super().start()
        self.wait_ports(self.ports.values())
        return self

    def addr(self, listener):
        """host:port of a listener, as certwrapd's `connect` wants it."""
        return format_addr("127.0.0.1", self.ports[listener])

    def wait_login(self, protocol, start, rip):
        """Waits for the login line of TEST_USER over protocol (imap or pop3)
        logged after offset start; asserts it names rip as the remote address
        and returns it."""
        m = self.wait_server_log(rf"{protocol}-login: Info: Login: user=<{TEST_USER}>, "
                                 rf"method=\S+, rip=(\S+), lip=\S+, .*", start)
        assert m.group(1) == rip, \
            f"Dovecot logged rip={m.group(1)}, expected {rip}: {m.group(0)}"
        return m.group(0)


@pytest.fixture(scope="module")
def dovecot():
    """A running Dovecot of its own (class Dovecot), shared by the module's tests;
    stopped by PID at the end, and must have logged no error."""
    workdir = _server_dir("cwdovecot-")
    server = Dovecot(workdir)
    try:
        yield server.start()
    finally:
        problems = server.problems()
        if not problems:
            shutil.rmtree(workdir, ignore_errors=True)
    assert not problems, problems


# --- Postfix ---------------------------------------------------------------------------

POSTFIX_MAIN_CF = """\
# written by tests/integration/mailservers.py: a Postfix of its own in {d}
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
# postlogd writes here (the `postlog` service in master.cf), not syslog
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
myhostname = mail.{domain}
mydomain = {domain}
myorigin = {domain}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# no DNS: the log names the client as unknown[ADDRESS]
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
# every address @{domain} goes to one Maildir, written as uid {uid}
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {d}/vmail
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
"""

# Every daemon with chroot n: the queue directory is a temporary one with no
# etc/ or lib/ in it to chroot into.
POSTFIX_MASTER_CF = """\
# written by tests/integration/mailservers.py
# service type  private unpriv chroot wakeup maxproc command
127.0.0.1:{port_smtp} inet n - n - - smtpd
127.0.0.1:{port_smtp_proxy} inet n - n - - smtpd -o smtpd_upstream_proxy_protocol=haproxy
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class Postfix(MailServer):
    """Postfix's master in the foreground (`master -c DIR/conf -d`), after
    `postfix -c DIR/conf check` has made its queue. Ports: smtp, smtp_proxy
    (requires a PROXY header). Mail to anyone @MAIL_DOMAIN lands in
    DIR/vmail/Maildir/new. On SIGTERM the master signals its process group
    and then dies of the same signal: exit status -15."""

    TROUBLE_RE = POSTFIX_TROUBLE_RE
    expect_status = -signal.SIGTERM

    def __init__(self, workdir):
        _require(POSTFIX, "postfix")
        self.ports = {name: free_port() for name in ("smtp", "smtp_proxy")}
        self.conf = workdir / "conf"
        self.conf.mkdir()
        self.conf.joinpath("main.cf").write_text(POSTFIX_MAIN_CF.format(
            d=workdir, domain=MAIL_DOMAIN, uid=MAIL_UID, gid=MAIL_GID))
        self.conf.joinpath("master.cf").write_text(POSTFIX_MASTER_CF.format(
            **{f"port_{k}": v for k, v in self.ports.items()}))
        (workdir / "queue").mkdir()            # root's; `postfix check` fills it
        (workdir / "data").mkdir()
        shutil.chown(workdir / "data", "postfix", "postfix")
        self.maildir = workdir / "vmail" / "Maildir"
        (workdir / "vmail").mkdir()
        os.chown(workdir / "vmail", MAIL_UID, MAIL_GID)
        super().__init__([POSTFIX_MASTER, "-c", self.conf, "-d"], workdir, "postfix",
                         workdir / "maillog")

    def start(self):
        # `postfix check` creates the queue directories with their owners and modes
        r = subprocess.run([POSTFIX, "-c", str(self.conf), "check"], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and not r.stderr.strip(), \
            f"postfix -c {self.conf} check: status {r.returncode}\n{r.stdout}{r.stderr}" \
            f"\n{self.logs()}"
        super().start()
        self.wait_ports(self.ports.values())
        self.wait_server_log(r"postfix/master\[\d+\]: daemon started", timeout=LOG_TIMEOUT_S)
        return self

    def addr(self, listener):
        """host:port of a listener, as certwrapd's `connect` wants it."""
        return format_addr("127.0.0.1", self.ports[listener])

    def wait_delivery(self, message_id, timeout=DELIVERY_TIMEOUT_S):
        """Polls the Maildir's new/ for the message with this Message-ID;
        returns its bytes (as Postfix wrote them: LF line ends, its own
        Return-Path, Delivered-To and Received on top)."""
        needle = f"Message-ID: {message_id}".encode()

        def delivered():
            for path in sorted((self.maildir / "new").glob("*")) \
                    if (self.maildir / "new").exists() else []:
                data = path.read_bytes()
                if needle in data:
                    return data
            return None

        try:
            return wait_for(delivered, timeout, f"{message_id} in {self.maildir}/new")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.logs()}") from None

    def wait_client(self, start, client):
        """Waits for smtpd's `connect from` line logged after offset start;
        asserts it names client and returns it."""
        m = self.wait_server_log(r"postfix/smtpd\[\d+\]: connect from \S*\[([^\]]+)\]", start)
        assert m.group(1) == client, \
            f"Postfix logged a connection from {m.group(1)}, expected {client}: {m.group(0)}"
        return m.group(0)


@pytest.fixture(scope="module")
def postfix():
    """A running Postfix of its own (class Postfix), shared by the module's tests;
    stopped by PID at the end, and must have logged no error."""
    workdir = _server_dir("cwpostfix-")
    server = Postfix(workdir)
    try:
        yield server.start()
    finally:
        problems = server.problems()
        if not problems:
            shutil.rmtree(workdir, ignore_errors=True)
    assert not problems, problems


def mail_message(tag):
    """(Message-ID, bytes) of a small message to TEST_USER@MAIL_DOMAIN with a
    dot-stuffing line, unique per tag."""
    message_id = f"<{tag}.{os.getpid()}.{time.monotonic_ns()}@client.example>"
    body = (f"From: Certwrap Client <client@client.example>\r\n"
            f"To: <{TEST_USER}@{MAIL_DOMAIN}>\r\n"
            f"Subject: certwrap to Postfix ({tag})\r\n"
            f"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
            f"Message-ID: {message_id}\r\n"
            f"\r\n"
            f"Sent through certwrapd to a real Postfix.\r\n"
            f".A line that starts with a dot.\r\n"
            f"The end.\r\n").encode()
    return message_id, body


def assert_delivered_intact(delivered, sent):
    """Postfix stores the message with LF line ends, under headers of its own:
    what was sent must be its end, byte for byte otherwise."""
    want = sent.replace(b"\r\n", b"\n")
    assert delivered.endswith(want), f"delivered:\n{delivered!r}\nsent:\n{want!r}"


# --- clients that connect from CLIENT_ADDR ----------------------------------------------
#
# imaplib and poplib create their socket in _create_socket(); their SSL classes
# call the base class's by name and wrap what it returns, so each class here
# makes the connection itself.


def _connect_from(host, port, timeout, source=CLIENT_ADDR):
    """A TCP connection to host:port from address source; no timeout given
    (None or socket's default) means READY_TIMEOUT_S, never an endless wait."""
    if not isinstance(timeout, (int, float)):
        timeout = READY_TIMEOUT_S
    return socket.create_connection((host, port), timeout, source_address=(source, 0))


class SourcedIMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 whose connection comes from CLIENT_ADDR."""

    def _create_socket(self, timeout):
        return _connect_from(self.host, self.port, timeout)


class SourcedIMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib.IMAP4_SSL whose connection comes from CLIENT_ADDR."""

    def _create_socket(self, timeout):
        return self.ssl_context.wrap_socket(_connect_from(self.host, self.port, timeout),
                                            server_hostname=self.host)


class SourcedPOP3(poplib.POP3):
    """poplib.POP3 whose connection comes from CLIENT_ADDR."""

    def _create_socket(self, timeout):
        return _connect_from(self.host, self.port, timeout)


class SourcedPOP3_SSL(poplib.POP3_SSL):
    """poplib.POP3_SSL whose connection comes from CLIENT_ADDR."""

    def _create_socket(self, timeout):
        return self.context.wrap_socket(_connect_from(self.host, self.port, timeout),
                                        server_hostname=self.host)


# --- certwrapd in front of them -----------------------------------------------------------


def wrap(certwrapd, pki, name, target, **options):
    """Starts a certwrapd with one service `name` on a free port in front of
    target (host:port), with the test PKI's localhost certificate and any
    other service options by their config names; returns (daemon, port)."""
    port = free_port()
    svc = service(port, target, cert=pki.fullchain, key=pki.leaf_key, CAfile=pki.root,
                  **options)
    return certwrapd(config_text({name: svc})), port


def assert_certwrapd_saw(daemon, name, client=CLIENT_ADDR):
    """certwrapd's connection line for service name names the client's address."""
    daemon.wait_log(rf"{name}: conn client={re.escape(client)}:\d+ ")
