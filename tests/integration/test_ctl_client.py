"""certwrapctl talking to certwrapd over the control socket (-s), against a
fake daemon: a small unix-socket server in this test that records each
request and answers a canned CWCTL/1 frame. It proves what the client
sends (fields, PEM content instead of paths, passphrases from files), how it
shows any response (tables, unknown fields, --json), its exit statuses, and
which of the store or the daemon a verb goes to. The executor behind a real
daemon is the one --store runs (tests/unit/test_ctlstore.c); the daemon
itself is tested with certwrapd.
"""
import json
import os
import socket
import subprocess
import threading

import pytest

from conftest import CERTWRAPCTL, _env, run_ctl
from certstore_util import Store, openssl

TIMEOUT_S = 10


def encode(fields):
    """A CWCTL/1 frame for [(name, value)], values str or bytes."""
    body = b""
    for name, value in fields:
        v = value.encode() if isinstance(value, str) else value
        body += name.encode() + b" " + str(len(v)).encode() + b"\n" + v + b"\n"
    return b"CWCTL/1 " + str(len(body)).encode() + b"\n" + body


def decode(frame):
    """[(name, value bytes)] of a whole frame."""
    header, _, body = frame.partition(b"\n")
    assert header.startswith(b"CWCTL/1 ")
    assert int(header.split()[1]) == len(body)
    fields, off = [], 0
    while off < len(body):
        sp = body.index(b" ", off)
        nl = body.index(b"\n", sp)
        n = int(body[sp + 1:nl])
        fields.append((body[off:sp].decode(), body[nl + 1:nl + 1 + n]))
        off = nl + 1 + n + 1
    return fields


def read_frame(conn):
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    header, _, rest = data.partition(b"\n")
    want = int(header.split()[1])
    while len(rest) < want:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return header + b"\n" + rest


class FakeDaemon:
    """Answers each connection's request with answer(fields) -> bytes."""

    def __init__(self, path, answer):
        self.path = str(path)
        self.answer = answer
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(TIMEOUT_S)
                frame = read_frame(conn)
                if frame is None:
                    continue
                fields = decode(frame)
                self.requests.append(fields)
                conn.sendall(self.answer(fields))

    def request(self, i=-1):
        """The i-th request as a dict of name -> list of str values."""
        out = {}
        for name, value in self.requests[i]:
            out.setdefault(name, []).append(value.decode(errors="replace"))
        return out

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=TIMEOUT_S)
        self.sock.close()


@pytest.fixture
def daemon(tmp_path):
    """fake = daemon(answer): a fake certwrapd at tmp_path/ctl.sock."""
    started = []

    def start(answer):
        d = FakeDaemon(tmp_path / "ctl.sock", answer)
        started.append(d)
        return d
    yield start
    for d in started:
        d.stop()


def canned(*fields):
    frame = encode(fields)
    return lambda request: frame


def ctl(d, *args):
    return run_ctl("-s", d.path, *args)


CHANGE = [("record", "change"), ("event", "issue"), ("name", "mail"), ("version", "1"),
          ("previous", "0"), ("serial", "0A1B"), ("not_after", "2031-01-01T00:00:00Z"),
          ("days_left", "365"), ("dir", "/var/lib/certwrap/certs/mail/1"),
          ("file.key", "/var/lib/certwrap/certs/mail/1/key.pem"),
          ("file.cert", "/var/lib/certwrap/certs/mail/1/cert.pem"),
          ("file.chain", "/var/lib/certwrap/certs/mail/1/chain.pem"),
          ("file.fullchain", "/var/lib/certwrap/certs/mail/1/fullchain.pem"), ("-", "")]


# --- what the client sends ---------------------------------------------------------------------


def test_issue_request_and_change(daemon, tmp_path):
    d = daemon(canned(("status", "ok"), ("message", "mail: issued"),
                      ("warning", "mail: valid until 2031-01-01 only"), *CHANGE))
    pass_file = tmp_path / "pass"
    pass_file.write_text("s3cret\n")
    status, out, err = ctl(d, "issue", "mail", "--dns", "mail.example.com", "imap.example.com",
                           "--ip", "192.0.2.1", "--days", "90", "--key-type", "rsa:3072",
                           "--client", "--passphrase-file", pass_file)
    assert status == 0, err
    assert d.request() == {"verb": ["issue"], "name": ["mail"],
                           "dns": ["mail.example.com", "imap.example.com"],
                           "ip": ["192.0.2.1"], "client": ["yes"], "days": ["90"],
                           "key_type": ["rsa:3072"], "passphrase": ["s3cret"]}
    assert [name for name, _ in d.requests[-1]][0] == "verb"
    # the same words as --store gives
    assert out == "mail: issued: version 1 is current, serial 0A1B, expires 2031-01-01 " \
                  "(365 days)\n" \
                  "  key        /var/lib/certwrap/certs/mail/1/key.pem\n" \
                  "  cert       /var/lib/certwrap/certs/mail/1/cert.pem\n" \
                  "  chain      /var/lib/certwrap/certs/mail/1/chain.pem\n" \
                  "  fullchain  /var/lib/certwrap/certs/mail/1/fullchain.pem\n"
    assert err == "certwrapctl: warning: mail: valid until 2031-01-01 only\n"


def test_usage_errors_send_nothing(daemon):
    d = daemon(canned(("status", "ok"), ("message", "")))
    status, out, err = ctl(d, "issue", "mail")
    assert status == 2
    assert err.splitlines()[0] == "certwrapctl: issue: give at least one --dns HOST or --ip ADDR"
    status, _, _ = ctl(d, "renew", "--before", "3y", "--all")
    assert status == 2
    assert d.requests == []


def test_renew_all_through_the_daemon(daemon):
    d = daemon(canned(("status", "error"), ("message", "renew --all: 1 of 3 failed (see above)"),
                      *[(n, v.replace("issue", "renew")) for n, v in CHANGE],
                      ("record", "not-due"), ("name", "imap"),
                      ("due_at", "2030-06-01T00:00:00Z"), ("-", ""),
                      ("record", "failed"), ("name", "pop"), ("error", "pop: damaged"), ("-", "")))
    status, out, err = ctl(d, "renew", "--all", "--before", "2w")
    assert status == 1
    assert d.request() == {"verb": ["renew"], "all": ["yes"], "before": ["1209600"]}
    assert out.startswith("mail: renewed: version 1 is current, serial 0A1B, ")
    assert out.endswith("imap: not due until 2030-06-01\n")
    assert err == "certwrapctl: pop: damaged\n" \
                  "certwrapctl: renew --all: 1 of 3 failed (see above)\n"


def test_swap_sends_the_files_content(daemon, tmp_path):
    d = daemon(canned(("status", "ok"), ("message", "imaps: now serving mail@3")))
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    status, out, err = ctl(d, "swap", "imaps", "--cert", cert, "--key", key)
    assert status == 0, err
    assert out == "imaps: now serving mail@3\n"
    req = d.request()
    assert req["cert"] == [cert.read_text()] and req["key"] == [key.read_text()]
    assert req["cert_name"] == [str(cert)] and req["service"] == ["imaps"]
    status, _, _ = ctl(d, "swap", "imaps", "mail@3")
    assert status == 0
    assert d.request() == {"verb": ["swap"], "service": ["imaps"], "name": ["mail"],
                           "version": ["3"]}
    status, _, err = ctl(d, "swap", "imaps", "mail@x")
    assert status == 2 and 'certwrapctl: swap: "mail@x": expected NAME or NAME@VERSION' in err
    status, _, err = ctl(d, "swap", "imaps", "--cert", cert)
    assert status == 2 and "certwrapctl: swap: --cert needs --key FILE" in err


# --- how any response is shown ------------------------------------------------------------------

STATUS = [("status", "ok"), ("message", "certwrapd 0.1.0, pid 4242, up 3 days"),
          ("pid", "4242"),
          ("record", "service"), ("service", "imaps"), ("accept", "0.0.0.0:993"),
          ("connections", "12"), ("cert", "mail@3"), ("days_left", "80"), ("-", ""),
          ("record", "service"), ("service", "smtps"), ("accept", "[::]:465"),
          ("connections", "0"), ("cert", "mail@3"), ("days_left", "80"), ("-", ""),
          ("record", "listener"), ("address", "0.0.0.0:993"), ("future_field", "shown"),
          ("san", "DNS:a"), ("san", "DNS:b"), ("-", "")]


def test_status_for_people(daemon):
    d = daemon(canned(*STATUS))
    status, out, err = ctl(d, "status")
    assert status == 0, err
    assert d.request() == {"verb": ["status"]}
    assert out == "certwrapd 0.1.0, pid 4242, up 3 days\n" \
                  "pid: 4242\n" \
                  "\n" \
                  "SERVICE  ACCEPT       CONNECTIONS  CERT    DAYS LEFT\n" \
                  "imaps    0.0.0.0:993  12           mail@3  80\n" \
                  "smtps    [::]:465     0            mail@3  80\n" \
                  "\n" \
                  "address       0.0.0.0:993\n" \
                  "future_field  shown\n" \
                  "san           DNS:a\n" \
                  "san           DNS:b\n"


def test_status_for_scripts(daemon):
    d = daemon(canned(*STATUS))
    status, out, err = ctl(d, "status", "--json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["status"] == "ok" and doc["pid"] == 4242 and doc["warnings"] == []
    assert doc["records"][0] == {"record": "service", "service": "imaps",
                                 "accept": "0.0.0.0:993", "connections": 12, "cert": "mail@3",
                                 "days_left": 80}
    assert doc["records"][2]["san"] == ["DNS:a", "DNS:b"]
    assert doc["records"][2]["future_field"] == "shown"


def test_stats_and_reload(daemon):
    d = daemon(lambda req: encode([("status", "ok"), ("message", "reload: done")]
                                  if req[0][1] == b"reload" else
                                  [("status", "ok"), ("message", ""),
                                   ("service", "imaps"), ("handshakes", "7"), ("-", "")]))
    status, out, _ = ctl(d, "reload")
    assert (status, out) == (0, "reload: done\n")
    # records without `record` fields are understood too
    status, out, _ = ctl(d, "stats", "imaps")
    assert status == 0
    assert d.request() == {"verb": ["stats"], "service": ["imaps"]}
    assert out == "service     imaps\nhandshakes  7\n"


def test_error_response(daemon):
    d = daemon(canned(("status", "error"), ("message", "imaps: no such service")))
    status, out, err = ctl(d, "swap", "imaps", "mail")
    assert (status, out) == (1, "")
    assert err == "certwrapctl: imaps: no such service\n"


def certificate_record(store, name):
    """The certificate record the executor sends for name, rebuilt from what
    --store shows (show --json) and openssl, for a fake daemon to replay."""
    j = json.loads(store.ok("show", name, "--json"))
    d = store.version_dir(name)
    subject = openssl("x509", "-in", d / "cert.pem", "-noout", "-subject").strip()
    issuer = openssl("x509", "-in", d / "cert.pem", "-noout", "-issuer").strip()
    rec = [("record", "certificate"), ("name", j["name"]), ("version", str(j["version"])),
           ("current", "yes" if j["current"] else "no"), ("versions", str(j["versions"])),
           ("serial", j["serial"]), ("subject", j["subject"]), ("issuer", j["issuer"]),
           ("subject_openssl", subject.removeprefix("subject=")),
           ("issuer_openssl", issuer.removeprefix("issuer=")),
           ("not_before", j["not_before"]), ("not_after", j["not_after"]),
           ("days_left", str(j["days_left"])), ("renew_at", j["renew_at"]),
           ("fingerprint_sha256", j["fingerprint_sha256"]), ("key", j["key"])]
    rec += [("san", san) for san in j["sans"]]
    rec += [("client", "yes" if j["client"] else "no"), ("status", j["status"])]
    for c in j["chain"]:
        rec += [("chain.subject", c["subject"]), ("chain.issuer", c["issuer"]),
                ("chain.not_after", c["not_after"])]
    rec += [("dir", str(d))] + [(f"file.{f}", str(d / f"{f}.pem"))
                                for f in ("key", "cert", "chain", "fullchain", "csr")]
    return rec + [("-", "")]


def test_list_and_show_through_the_daemon(daemon, tmp_path):
    """The records of a real store, replayed by the fake daemon: the output
    is the same as --store gives."""
    s = Store(tmp_path / "store")
    s.ok("ca", "init", "--intermediate")
    s.ok("issue", "mail", "--dns", "mail.example.com", "--ip", "192.0.2.1", "--client")
    s.ok("issue", "imap", "--dns", "imap.example.com")
    verbs = ("list", "list --json", "show mail", "show mail --json")
    # days left drop from 365 to 364 one second after the issue: take the
    # records and the offline output again until both saw the same
    for _ in range(3):
        records = {name: certificate_record(s, name) for name in ("imap", "mail")}
        offline = {verb: s.ok(*verb.split()) for verb in verbs}
        if records == {name: certificate_record(s, name) for name in ("imap", "mail")}:
            break
    head = [("status", "ok"), ("message", "2 certificates")]
    d = daemon(lambda req: encode(head + (records["imap"] + records["mail"]
                                          if req[0][1] == b"list" else records["mail"])))
    for verb in verbs:
        status, out, err = ctl(d, *verb.split())
        assert status == 0, err
        assert out == offline[verb], verb


# --- files and Nagios codes through the daemon ---------------------------------------------------


def test_export_through_the_daemon(daemon, tmp_path):
    d = daemon(canned(("status", "ok"), ("message", "mail: 2 files for dovecot"),
                      ("hint", "dovecot: ssl_cert = <DIR/fullchain.pem, ssl_key = <DIR/key.pem"),
                      ("record", "file"), ("name", "fullchain.pem"), ("mode", "0644"),
                      ("hashed", "no"), ("data", "CERT\n"), ("-", ""),
                      ("record", "file"), ("name", "key.pem"), ("mode", "0600"),
                      ("hashed", "no"), ("data", "KEY\n"), ("-", "")))
    out_dir = tmp_path / "out"
    status, out, err = ctl(d, "export", "mail", "--for", "dovecot", "--out", out_dir)
    assert status == 0, err
    assert d.request() == {"verb": ["export"], "name": ["mail"], "format": ["dovecot"]}
    assert (out_dir / "key.pem").read_text() == "KEY\n"
    assert (out_dir / "key.pem").stat().st_mode & 0o777 == 0o600
    assert (out_dir / "fullchain.pem").stat().st_mode & 0o777 == 0o644
    assert out.splitlines() == [f"wrote {out_dir}/fullchain.pem (mode 0644)",
                                f"wrote {out_dir}/key.pem (mode 0600)",
                                f"dovecot: ssl_cert = <{out_dir}/fullchain.pem, ssl_key = "
                                f"<{out_dir}/key.pem"]
    assert [p.name for p in out_dir.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("name,mode,message", [
    ("../evil.pem", "0644", 'the response names a file "../evil.pem" outside {dir}: not '
     "written"),
    ("/etc/evil.pem", "0644", 'the response names a file "/etc/evil.pem" outside {dir}: not '
     "written"),
    ("key.pem", "0666", "the response gives key.pem mode 0666: not written"),
])
def test_hostile_file_records_write_nothing(daemon, tmp_path, name, mode, message):
    d = daemon(canned(("status", "ok"), ("message", ""),
                      ("record", "file"), ("name", "good.pem"), ("mode", "0644"),
                      ("hashed", "no"), ("data", "GOOD\n"), ("-", ""),
                      ("record", "file"), ("name", name), ("mode", mode), ("hashed", "no"),
                      ("data", "EVIL\n"), ("-", "")))
    out_dir = tmp_path / "out"
    status, out, err = ctl(d, "export", "mail", "--format", "separate", "--out", out_dir)
    assert status == 1
    assert err == "certwrapctl: " + message.format(dir=out_dir) + "\n"
    assert not out_dir.exists() and not (tmp_path / "evil.pem").exists()


def test_sign_sends_the_request_itself(daemon, tmp_path):
    d = daemon(canned(("status", "ok"), ("message", "signed"),
                      ("record", "signed"), ("serial", "0B"), ("subject", "CN=x.example"),
                      ("not_after", "2031-01-01T00:00:00Z"), ("days_left", "30"),
                      ("file.newcert", "/var/lib/certwrap/ca/newcerts/0B.pem"),
                      ("cert", "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n"),
                      ("chain", ""), ("-", "")))
    csr = tmp_path / "r.csr"
    csr.write_text("-----BEGIN CERTIFICATE REQUEST-----\nR\n-----END CERTIFICATE REQUEST-----\n")
    status, out, err = ctl(d, "sign", "--csr", csr, "--out", tmp_path / "c.pem")
    assert status == 0, err
    assert d.request() == {"verb": ["sign"], "csr": [csr.read_text()], "csr_name": [str(csr)]}
    assert (tmp_path / "c.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert out.startswith("signed: serial 0B for CN=x.example, expires 2031-01-01 (30 days)\n")


def test_check_through_the_daemon(daemon):
    d = daemon(lambda req: encode([("status", "ok"), ("message", "CERTWRAP WARNING - mail: "
                                   "expires 2031-01-01 (in 20 days) | certificates=1 "
                                   "critical=0 warning=1"), ("exit", "1"), ("state", "WARNING"),
                                   ("record", "problem"), ("what", "mail"),
                                   ("state", "WARNING"), ("problem", "expires"), ("-", "")]))
    status, out, _ = ctl(d, "check", "--warn", "2w", "--crit", "3d")
    assert status == 1
    assert out.startswith("CERTWRAP WARNING - mail: expires 2031-01-01")
    assert d.request() == {"verb": ["check"], "warn": ["1209600"], "crit": ["259200"]}


def test_check_unknown_through_the_daemon(daemon, tmp_path):
    d = daemon(canned(("status", "error"), ("message", "the store is locked")))
    status, out, _ = ctl(d, "check")
    assert (status, out) == (3, "CERTWRAP UNKNOWN - the store is locked\n")
    status, out, _ = run_ctl("-s", tmp_path / "nobody.sock", "check")
    assert status == 3
    assert out.startswith(f"CERTWRAP UNKNOWN - {tmp_path}/nobody.sock: no such socket")


# --- where a verb goes ------------------------------------------------------------------------------


def env_with(**kw):
    env = _env()
    env.pop("CERTWRAP_SOCKET", None)
    env.pop("CERTWRAP_STORE", None)
    env.update({k: str(v) for k, v in kw.items()})
    return env


def run_env(env, *args):
    r = subprocess.run([str(CERTWRAPCTL), *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


def test_default_target(daemon, tmp_path):
    s = Store(tmp_path / "store")
    s.ok("ca", "init")
    d = daemon(canned(("status", "ok"), ("message", "from the daemon")))
    # the default socket exists: the store verb goes to certwrapd
    status, out, _ = run_env(env_with(CERTWRAP_SOCKET=d.path, CERTWRAP_STORE=s.path), "list")
    assert (status, out) == (0, "from the daemon\n")
    # --store wins over the socket
    status, out, _ = run_env(env_with(CERTWRAP_SOCKET=d.path), "--store", s.path, "list")
    assert status == 0 and "no certificates yet" in out
    # no socket there: the store
    status, out, _ = run_env(env_with(CERTWRAP_SOCKET=tmp_path / "none.sock",
                                      CERTWRAP_STORE=s.path), "list")
    assert status == 0 and "no certificates yet" in out
    # daemon verbs always ask the socket
    status, _, err = run_env(env_with(CERTWRAP_SOCKET=tmp_path / "none.sock"), "status")
    assert status == 1
    assert err == f"certwrapctl: {tmp_path}/none.sock: no such socket: is certwrapd running " \
                  f"with control = {tmp_path}/none.sock? (or give the socket with -s)\n"
    # ca init works on a directory, never through the daemon
    status, _, err = run_ctl("-s", d.path, "ca", "init")
    assert status == 2
    assert err.splitlines()[0] == "certwrapctl: ca init: works on a store directory itself: " \
                                  "give --store DIR, not -s"


def test_bad_responses(daemon, tmp_path):
    d = daemon(lambda req: b"HTTP/1.0 400 Bad Request\r\n\r\n")
    status, _, err = ctl(d, "status")
    assert status == 1
    assert err == "certwrapctl: bad response from certwrapd: not a certwrap control message " \
                  "(expected \"CWCTL/1\")\n"


def test_no_status_in_response(daemon):
    d = daemon(canned(("message", "hello")))
    status, _, err = ctl(d, "status")
    assert status == 1
    assert err == "certwrapctl: the response has no status, or out of memory\n"
