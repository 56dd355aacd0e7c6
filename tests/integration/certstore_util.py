"""Helpers for the certstore tests (test_certstore_*.py).

  Store(path)         a store directory driven by certwrapctl --store path
  openssl(*args)      the openssl CLI; returns its stdout, raises with stderr
  parse_index(text)   openssl ca's index.txt as a list of IndexEntry, strictly
  check_consistent(store)
                      what must hold after any crash: every current resolves to a
                      complete version that validates, the index parses with no
                      serial twice, and every version's serial is in the index
"""
import json
import os
import re
import subprocess
from collections import namedtuple
from pathlib import Path

from conftest import CERTWRAPCTL, _env, run_ctl

VERSION_FILES = ("key.pem", "cert.pem", "chain.pem", "fullchain.pem", "csr.pem", "meta")
IndexEntry = namedtuple("IndexEntry", "status expiry revoked serial file subject")
SERIAL_RE = re.compile(r"^[0-9A-F]{2,40}$")
TIME_RE = re.compile(r"^(\d{12}|\d{14})Z$")


def openssl(*args, cwd=None, check=True):
    """Runs the openssl CLI; returns stdout (raises with stderr on failure when check)."""
    r = subprocess.run(["openssl", *[str(a) for a in args]], cwd=cwd, capture_output=True,
                       text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed:\n{r.stderr}")
    return r.stdout if check else r


def parse_index(text):
    """index.txt as openssl writes it: six tab-separated fields per line."""
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split("\t")
        assert len(fields) == 6, f"index.txt:{n}: {len(fields)} fields: {line!r}"
        e = IndexEntry(*fields)
        assert e.status in ("V", "R", "E"), f"index.txt:{n}: status {e.status!r}"
        assert TIME_RE.match(e.expiry), f"index.txt:{n}: expiry {e.expiry!r}"
        assert SERIAL_RE.match(e.serial) and len(e.serial) % 2 == 0, f"index.txt:{n}: {e.serial}"
        assert e.file == "unknown" and e.subject.startswith("/"), f"index.txt:{n}: {line!r}"
        entries.append(e)
    return entries


class Store:
    """A certificate store in a directory, driven by certwrapctl."""

    def __init__(self, path):
        self.path = Path(path)

    def argv(self, *args):
        return [str(CERTWRAPCTL), "--store", str(self.path), *[str(a) for a in args]]

    def ctl(self, *args, timeout=60):
        """(status, stdout, stderr) of certwrapctl --store PATH args."""
        return run_ctl("--store", self.path, *args, timeout=timeout)

    def ok(self, *args, timeout=60):
        """stdout of a certwrapctl run that must succeed."""
        status, out, err = self.ctl(*args, timeout=timeout)
        assert status == 0, f"certwrapctl {' '.join(map(str, args))}: exit {status}\n{err}"
        return out

    def fails(self, *args, status=1):
        """stderr of a run that must fail with that status and print nothing on stdout."""
        got, out, err = self.ctl(*args)
        assert got == status, f"exit {got}, expected {status}\nstdout: {out}\nstderr: {err}"
        return err

    def popen(self, *args):
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                env=_env())

    def list(self):
        return json.loads(self.ok("list", "--json"))

    def index(self):
        return parse_index((self.path / "ca" / "index.txt").read_text())

    def name_dir(self, name):
        return self.path / "certs" / name

    def current(self, name):
        return int(os.readlink(self.name_dir(name) / "current"))

    def versions(self, name):
        return sorted(int(p.name) for p in self.name_dir(name).iterdir() if p.name.isdigit())

    def version_dir(self, name, version=None):
        return self.name_dir(name) / str(version if version is not None else self.current(name))

    def meta(self, name, version=None):
        """A version's meta file as a dict; dns and ip as lists."""
        meta = {"dns": [], "ip": []}
        for line in (self.version_dir(name, version) / "meta").read_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.partition(" ")
                if key in ("dns", "ip"):
                    meta[key].append(value)
                else:
                    meta[key] = value
        return meta

    def names(self):
        d = self.path / "certs"
        return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.exists() \
            else []

    def leftovers(self):
        """Entries a killed writer left under a temporary name."""
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob(".tmp-*"))


def check_consistent(store):
    """The invariants a crash at any instant must keep. Returns the serials
    of every version, by (name, version)."""
    index = store.index()
    by_serial = {}
    for e in index:
        assert e.serial not in by_serial, f"serial {e.serial} twice in the index"
        by_serial[e.serial] = e
    serials = {}
    for name in store.names():
        if not (store.name_dir(name) / "current").is_symlink():
            assert not store.versions(name), f"{name}: versions but no current"
            continue
        current = store.current(name)
        assert current in store.versions(name), f"{name}: current -> missing {current}"
        for v in store.versions(name):
            d = store.version_dir(name, v)
            missing = [f for f in VERSION_FILES if not (d / f).is_file()]
            assert not missing, f"{name}@{v}: incomplete version, missing {missing}"
            assert (d / "key.pem").stat().st_mode & 0o077 == 0, f"{name}@{v}: key mode"
            serial = store.meta(name, v)["serial"]
            assert serial in by_serial, f"{name}@{v}: serial {serial} not in the index"
            assert serial not in serials.values(), f"{name}@{v}: serial {serial} reused"
            serials[(name, v)] = serial
    for entry in store.list():
        assert entry["status"] == "valid", f"{entry['name']}: {entry['status']}: " \
                                           f"{entry['problem']}"
        assert entry["serial"] == serials[(entry["name"], entry["version"])]
    return serials


def outside_ca(tmp_path):
    """An outside CA made with openssl: root -> intermediate. Returns a
    function that signs a CSR file for DNS names (days), and the paths."""
    d = tmp_path / "outside"
    d.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", d / "root.key", "-out", d / "root.pem", "-subj",
            "/O=Outside/CN=Outside Root CA", "-days", "3650", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", *ec, "-keyout", d / "inter.key", "-out", d / "inter.csr", "-subj",
            "/O=Outside/CN=Outside Intermediate CA")
    (d / "ca.ext").write_text("basicConstraints=critical,CA:TRUE,pathlen:0\n"
                              "keyUsage=critical,keyCertSign,cRLSign\n")
    openssl("x509", "-req", "-in", d / "inter.csr", "-CA", d / "root.pem", "-CAkey",
            d / "root.key", "-CAcreateserial", "-out", d / "inter.pem", "-days", "1825",
            "-extfile", d / "ca.ext")

    def sign(csr, out, dns, days=90):
        ext = d / "leaf.ext"
        ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                       "extendedKeyUsage=serverAuth\nsubjectAltName=" +
                       ",".join(f"DNS:{n}" for n in dns) + "\n")
        openssl("x509", "-req", "-in", csr, "-CA", d / "inter.pem", "-CAkey", d / "inter.key",
                "-CAcreateserial", "-out", out, "-days", str(days), "-extfile", ext)
        return out
    return sign, d
