"""certwrapd side by side with stunnel, hitch and HAProxy (issue 6), run by `make bench`.

Each proxy in turn sits in front of the same plaintext echo backend
(tests/backend/testbackend --echo) with an equivalent configuration: TLS 1.3
only, one RSA-2048 certificate (made here with openssl: a CA and a leaf),
one process or thread doing the work. stunnel and certwrapd run the very same
stunnel.conf. The proxy is pinned to one core (BENCH_PROXY_CPU, default 0),
the load generator and the backend to the other (BENCH_CLIENT_CPU, default 1).

For every proxy, repetition and mode, on a freshly started proxy and backend
(so that what one mode leaves behind does not weigh on the next), the load
generator (build/.../bench/loadgen) measures:
  idle       BENCH_IDLE_CONNS connections held open after a handshake and one
             echo: the proxy's memory per connection (VmRSS of its process tree)
  handshake  full TLS 1.3 handshakes per second, BENCH_CONCURRENCY in flight
             (connect, handshake, 64-byte echo, close)
  resume     the same with session tickets (how many really resumed is counted)
  bulk       MB/s echoed through BENCH_BULK_CONNS long-lived connections, 16 KiB writes
Then it prints the medians, certwrapd's ratio to the best of the other three,
and each handshake rate as a fraction of the crypto ceiling measured with
`openssl speed` on the proxy's core (one RSA-2048 sign and one X25519 per full
handshake). A figure where the generator's core was the bottleneck (client
core >= 95% busy while the proxy's core was under 90%) is marked as a lower
bound instead of being reported as the proxy's.

Settings (environment):
  BENCH_QUICK=1              1 repetition, 2 s per mode, 500 idle connections
  BENCH_ONLY=a,b             only these of certwrapd, stunnel, hitch, haproxy
  BENCH_REPS (3), BENCH_DURATION (10 s), BENCH_IDLE_CONNS (9000),
  BENCH_CONCURRENCY (16), BENCH_BULK_CONNS (4), BENCH_SPEED_SECONDS (2)
  BENCH_PROXY_CPU (0), BENCH_CLIENT_CPU (1)
  BENCH_OUT                  directory for results and logs (BUILD/bench-out)
Every process started here is stopped by its PID. The exit status is 1 if any
connection failed (each is counted by kind in the results) or a proxy could
not be run, else 0.
"""

import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("BUILD") or "build/default")
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
LOADGEN = BUILD / "bench" / "loadgen"
CERTWRAPD = BUILD / "certwrapd"
TESTBACKEND = BUILD / "tests" / "backend" / "testbackend"

PROXIES = ("certwrapd", "stunnel", "hitch", "haproxy")
ANCHORS = ("stunnel", "hitch", "haproxy")
MODES = ("idle", "handshake", "resume", "bulk")

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.05
PORT_RANGE = (20000, 32000)        # below the ephemeral range: no self-connects
CLIENT_BUSY = 0.95                 # generator + backend: their core is saturated
PROXY_BUSY = 0.90                  # the proxy's core is not


def env_num(name, default, kind=int):
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        number = kind(value)
    except ValueError:
        sys.exit(f"bench: {name}={value!r}: expected a number")
    if number <= 0:
        sys.exit(f"bench: {name}={value!r}: must be more than 0")
    return number


class Settings:
    def __init__(self):
        self.quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        self.reps = env_num("BENCH_REPS", 1 if self.quick else 3)
        self.duration = env_num("BENCH_DURATION", 2.0 if self.quick else 10.0, float)
        self.idle_conns = env_num("BENCH_IDLE_CONNS", 500 if self.quick else 9000)
        self.concurrency = env_num("BENCH_CONCURRENCY", 16)
        self.bulk_conns = env_num("BENCH_BULK_CONNS", 4)
        self.speed_seconds = env_num("BENCH_SPEED_SECONDS", 1 if self.quick else 2)
        ncpu = os.cpu_count() or 1
        self.proxy_cpu = os.environ.get("BENCH_PROXY_CPU") or "0"
        self.client_cpu = os.environ.get("BENCH_CLIENT_CPU") or ("1" if ncpu > 1 else "0")
        only = os.environ.get("BENCH_ONLY", "")
        self.proxies = [p.strip() for p in only.split(",") if p.strip()] or list(PROXIES)
        unknown = [p for p in self.proxies if p not in PROXIES]
        if unknown:
            sys.exit(f"bench: BENCH_ONLY: unknown proxy {', '.join(unknown)} "
                     f"(known: {', '.join(PROXIES)})")
        self.out = Path(os.environ.get("BENCH_OUT") or BUILD / "bench-out")

    def describe(self):
        return (f"reps={self.reps} duration={self.duration:g}s idle_conns={self.idle_conns} "
                f"concurrency={self.concurrency} bulk_conns={self.bulk_conns} "
                f"proxy_cpu={self.proxy_cpu} client_cpu={self.client_cpu} "
                f"proxies={','.join(self.proxies)}")


# --- processes -------------------------------------------------------------------------


def raise_nofile():
    """Soft descriptor limit to the hard one, here and so in every child."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def descendants(pid):
    """The PIDs of pid's children, grandchildren ... (read from /proc)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in found]
        found += kids
        frontier = kids
    return found


class Proc:
    """A child pinned to a CPU with taskset (which execs: same PID), output in
    a log file, stopped by its PID (and its descendants by theirs)."""

    def __init__(self, name, argv, log_path, cpu):
        self.name = name
        self.log_path = Path(log_path)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["taskset", "-c", cpu, *map(str, argv)],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def running(self):
        return self.proc.poll() is None

    def log_tail(self, lines=20):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self):
        """SIGTERM, a bounded wait, then SIGKILL; the same for any descendant
        left behind (hitch's worker). The exit status."""
        kids = descendants(self.pid) if self.running() else []
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)
        for kid in kids:
            stop_pid(kid)
        return self.proc.returncode


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_pid(pid):
    """A process that is not our child: SIGTERM, poll, SIGKILL."""
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(POLL_S)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(POLL_S)


def pick_port():
    """A free loopback port below the ephemeral range."""
    for _ in range(500):
        port = random.randint(*PORT_RANGE)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def wait_listening(proc, port):
    def accepts():
        if not proc.running():
            raise RuntimeError(f"{proc.name} exited with status {proc.proc.returncode} "
                               f"before it listened; its log:\n{proc.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    wait_for(accepts, READY_TIMEOUT_S, f"{proc.name} on port {port}")


# --- certificates and configurations ------------------------------------------------------


def openssl(workdir, *args):
    r = subprocess.run(["openssl", *map(str, args)], cwd=workdir, capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed:\n{r.stderr}")
    return r.stdout


def make_pki(d):
    """ca.pem, leaf.pem (CN and SAN localhost, RSA 2048, signed by ca.pem),
    leaf.key, combined.pem (leaf, key: HAProxy and hitch)."""
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-subj", "/CN=certwrap bench CA", "-days", "365",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out",
            "leaf.csr", "-subj", "/CN=localhost")
    (d / "leaf.ext").write_text("basicConstraints = CA:FALSE\n"
                                "keyUsage = critical, digitalSignature, keyEncipherment\n"
                                "extendedKeyUsage = serverAuth\n"
                                "subjectAltName = DNS:localhost, IP:127.0.0.1\n")
    openssl(d, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", "2", "-days", "365", "-sha256", "-extfile", "leaf.ext",
            "-out", "leaf.pem")
    (d / "combined.pem").write_bytes((d / "leaf.pem").read_bytes() +
                                     (d / "leaf.key").read_bytes())
    for key in ("ca.key", "leaf.key", "combined.pem"):
        (d / key).chmod(0o600)


def stunnel_conf(d, port, backend_port):
    """The one configuration that stunnel and certwrapd both run. CAfile only
    names the leaf's issuer (certwrapd checks the chain); no peer is verified."""
    return (f"; written by bench/run.py: run unchanged by stunnel and by certwrapd\n"
            f"foreground = yes\nsyslog = no\ndebug = warning\npid =\n\n"
            f"[bench]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{backend_port}\n"
            f"cert = {d}/leaf.pem\nkey = {d}/leaf.key\nCAfile = {d}/ca.pem\n"
            f"sslVersionMin = TLSv1.3\n")


def hitch_user():
    """hitch refuses to run its workers as root: the user the Debian package
    made for it (or nobody), when we are root."""
    if os.geteuid() != 0:
        return ""
    import pwd
    for name in ("_hitch", "hitch", "nobody"):
        try:
            pwd.getpwnam(name)
            return f"user = \"{name}\"\n"
        except KeyError:
            continue
    return ""


def hitch_conf(d, port, backend_port):
    return (f"# written by bench/run.py\n{hitch_user()}"
            f"frontend = \"[127.0.0.1]:{port}\"\nbackend = \"[127.0.0.1]:{backend_port}\"\n"
            f"pem-file = \"{d}/combined.pem\"\nworkers = 1\ndaemon = off\n"
            f"write-proxy-v1 = off\nwrite-proxy-v2 = off\ntls-protos = TLSv1.3\n"
            f"log-level = 1\n")


def haproxy_conf(d, port, backend_port, maxconn):
    return (f"# written by bench/run.py\n"
            f"global\n    nbthread 1\n    maxconn {maxconn}\n\n"
            f"defaults\n    mode tcp\n    timeout connect 10s\n"
            f"    timeout client 10m\n    timeout server 10m\n\n"
            f"frontend bench\n    bind 127.0.0.1:{port} ssl crt {d}/combined.pem "
            f"ssl-min-ver TLSv1.3\n    default_backend echo\n\n"
            f"backend echo\n    server echo 127.0.0.1:{backend_port}\n")


def find_program(*names):
    for name in names:
        path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}")
                                           if os.access(p, os.X_OK)), None)
        if path:
            return path
    return None


def proxy_argv(name, d, port, backend_port, settings):
    """The command line of one proxy, writing its configuration first."""
    if name in ("certwrapd", "stunnel"):
        conf = d / "stunnel.conf"
        conf.write_text(stunnel_conf(d, port, backend_port))
        return [CERTWRAPD if name == "certwrapd" else find_program("stunnel4", "stunnel"),
                conf]
    if name == "hitch":
        conf = d / "hitch.conf"
        conf.write_text(hitch_conf(d, port, backend_port))
        return [find_program("hitch"), f"--config={conf}"]
    conf = d / "haproxy.cfg"
    conf.write_text(haproxy_conf(d, port, backend_port, settings.idle_conns + 200))
    return [find_program("haproxy"), "-db", "-f", conf]


# --- openssl speed: the crypto ceiling -------------------------------------------------------


def openssl_speed(settings, d):
    """Per second on the proxy's core: rsa2048 signs, ecdsap256 signs, X25519
    derives, AES-128-GCM MB/s (16 KiB blocks)."""
    secs = str(settings.speed_seconds)
    pin = ["taskset", "-c", settings.proxy_cpu, "openssl", "speed", "-seconds", secs]
    out = subprocess.run([*pin, "rsa2048", "ecdsap256", "ecdhx25519"], capture_output=True,
                         text=True, timeout=300).stdout
    aes = subprocess.run([*pin, "-evp", "aes-128-gcm"], capture_output=True, text=True,
                         timeout=300).stdout
    (d / "openssl-speed.txt").write_text(out + aes)

    def grab(pattern, text):
        m = re.search(pattern, text, re.M)
        return float(m.group(1)) if m else None

    found = {
        "rsa2048_sign_per_s": grab(r"^rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)", out),
        "ecdsap256_sign_per_s": grab(r"256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)",
                                     out),
        "x25519_per_s": grab(r"ecdh \(X25519\)\s+\S+s\s+([\d.]+)", out),
    }
    m = re.search(r"^AES-128-GCM\s+(.*)$", aes, re.M | re.I)
    found["aes128gcm_mb_per_s"] = (float(m.group(1).split()[-1].rstrip("k")) / 1000
                                   if m else None)
    rsa, x25519 = found["rsa2048_sign_per_s"], found["x25519_per_s"]
    found["full_handshake_ceiling_per_s"] = (1 / (1 / rsa + 1 / x25519)
                                             if rsa and x25519 else None)
    found["resumed_handshake_ceiling_per_s"] = x25519
    return found


# --- one proxy, one repetition ---------------------------------------------------------------


def run_loadgen(settings, mode, port, proxy, backend, label, d):
    argv = [LOADGEN, "--connect", f"127.0.0.1:{port}", "--mode", mode,
            "--proxy-pid", proxy.pid, "--backend-pid", backend.pid, "--label", label,
            "--duration", settings.duration, "--timeout", 10]
    if mode == "idle":
        argv += ["--conns", settings.idle_conns, "--concurrency", settings.concurrency]
    elif mode == "bulk":
        argv += ["--concurrency", settings.bulk_conns]
    else:
        argv += ["--concurrency", settings.concurrency]
    bound = settings.duration + 660     # loadgen's own limits, plus a margin
    r = subprocess.run(["taskset", "-c", settings.client_cpu, *map(str, argv)],
                       capture_output=True, text=True, timeout=bound)
    with open(d / "loadgen.log", "a") as log:
        log.write(f"$ {' '.join(map(str, argv))}\n{r.stdout}{r.stderr}\n")
    sys.stderr.write(r.stderr)
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode not in (0, 1) or not lines:
        raise RuntimeError(f"loadgen {mode} against {label} exited {r.returncode}:\n{r.stderr}")
    return json.loads(lines[-1])


def start_backend(settings, d):
    ready = d / "backend.ready"
    ready.unlink(missing_ok=True)
    backend = Proc("testbackend", [TESTBACKEND, "--echo", "127.0.0.1:0", "--ready-file", ready],
                   d / "backend.log", settings.client_cpu)

    def port():
        if not backend.running():
            raise RuntimeError(f"testbackend exited: {backend.log_tail()}")
        return ready.exists() and int(ready.read_text().split("echo=")[1].rsplit(":", 1)[1])

    return backend, wait_for(port, READY_TIMEOUT_S, "the echo backend")


def run_mode(settings, name, mode, rund, d):
    """One mode against a freshly started proxy and backend: what one mode
    leaves behind (thousands of idle connections' threads or fragmented heap)
    must not weigh on the next one's figure."""
    backend, backend_port = start_backend(settings, rund)
    proxy = None
    try:
        port = pick_port()
        proxy = Proc(name, proxy_argv(name, d, port, backend_port, settings),
                     rund / f"{name}-{mode}.log", settings.proxy_cpu)
        wait_listening(proxy, port)
        result = run_loadgen(settings, mode, port, proxy, backend, f"{name}#{rund.name}", rund)
        if not proxy.running():
            raise RuntimeError(f"{name} died during {mode}: {proxy.log_tail()}")
        return result
    finally:
        if proxy is not None:
            proxy.stop()
        backend.stop()


def run_one(settings, name, rep, d):
    """Every mode, each against a fresh proxy; {mode: loadgen JSON}."""
    rund = d / f"{name}-{rep}"
    rund.mkdir(parents=True, exist_ok=True)
    return {mode: run_mode(settings, name, mode, rund, d) for mode in MODES}


# --- the table -------------------------------------------------------------------------------


def generator_bound(result):
    cpu = result.get("cpu") or {}
    client = (cpu.get("loadgen") or 0) + (cpu.get("backend") or 0)
    proxy = cpu.get("proxy")
    return proxy is not None and client >= CLIENT_BUSY and proxy < PROXY_BUSY


METRICS = (
    # key, label, mode, how to get it from a loadgen result, higher is better
    ("handshake", "full handshakes/s", "handshake", lambda r: r["rate_per_s"], True),
    ("handshake_cpu", "  proxy core busy %", "handshake",
     lambda r: 100.0 * r["cpu"]["proxy"] if r["cpu"].get("proxy") is not None else None, None),
    ("resume", "resumed handshakes/s", "resume", lambda r: r["rate_per_s"], True),
    ("resumed_pct", "  of which resumed %", "resume",
     lambda r: 100.0 * r["resumed"] / r["completed"] if r["completed"] else 0.0, True),
    ("bulk", "bulk MB/s (echoed)", "bulk", lambda r: r["mb_per_s"], True),
    ("idle", "idle KiB/conn (RSS)", "idle",
     lambda r: (r.get("memory") or {}).get("kib_per_conn"), False),
)


def medians(runs):
    """{proxy: {metric: (median, bound)}}: bound says the generator limited a run."""
    table = {}
    for name, reps in runs.items():
        row = {}
        for key, _label, mode, get, higher in METRICS:
            values = [get(rep[mode]) for rep in reps if get(rep[mode]) is not None]
            bound = (any(generator_bound(rep[mode]) for rep in reps) and mode != "idle" and
                     higher is not None)
            row[key] = (statistics.median(values) if values else None, bound)
        table[name] = row
    return table


def fmt(value, bound=False):
    if value is None:
        return "-"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return f">={text}!" if bound else text


def print_table(settings, table, speed, failures):
    names = [p for p in PROXIES if p in table]
    width = 22
    ceiling = speed.get("full_handshake_ceiling_per_s")
    lines = [f"{'metric':<{width}}" + "".join(f"{n:>12}" for n in names) +
             f"{'best anchor':>14}{'certwrapd/best':>16}"]
    for key, label, _mode, _get, higher in METRICS:
        row = f"{label:<{width}}" + "".join(f"{fmt(*table[n][key]):>12}" for n in names)
        anchors = [(table[n][key][0], n) for n in ANCHORS
                   if n in table and table[n][key][0] is not None]
        ours = table.get("certwrapd", {}).get(key, (None,))[0]
        if anchors and higher is not None and key != "resumed_pct":
            best = max(anchors) if higher else min(anchors)
            ratio = f"{ours / best[0]:.2f}" if ours is not None and best[0] else "-"
            row += f"{best[1]:>14}{ratio:>16}"
        lines.append(row)
        if key == "handshake" and ceiling:
            lines.append(f"{'  % of crypto ceiling':<{width}}" + "".join(
                f"{fmt(100 * table[n]['handshake'][0] / ceiling) + '%':>12}"
                if table[n]["handshake"][0] is not None else f"{'-':>12}" for n in names))
    lines.append(f"{'failures (all modes)':<{width}}" +
                 "".join(f"{failures[n]:>12}" for n in names))
    print("\n".join(lines))
    print(f"(medians of {settings.reps} run(s); idle at {settings.idle_conns} connections, "
          f"lower is better, ratio < 1 means certwrapd uses less; other rows higher is better;"
          f"\n proxy core busy: its CPU time over wall time during the handshakes, well under "
          f"100% means something else, such as other load on the machine, held it back)")
    if any(v[1] for n in names for v in table[n].values()):
        print("! the load generator's core was the bottleneck (it and the backend >= "
              f"{CLIENT_BUSY:.0%} busy, the proxy under {PROXY_BUSY:.0%}): the proxy can do "
              "at least this much; the figure is not its limit")


def print_speed(speed):
    def num(key):
        v = speed.get(key)
        return f"{v:.0f}" if v else "?"

    print(f"openssl speed on the proxy's core: RSA-2048 sign {num('rsa2048_sign_per_s')}/s, "
          f"ECDSA P-256 sign {num('ecdsap256_sign_per_s')}/s, X25519 {num('x25519_per_s')}/s, "
          f"AES-128-GCM {num('aes128gcm_mb_per_s')} MB/s")
    print(f"ceiling: {num('full_handshake_ceiling_per_s')} full TLS 1.3 handshakes/s "
          f"(one RSA-2048 sign + one X25519 each), "
          f"{num('resumed_handshake_ceiling_per_s')} resumed (one X25519)")


def count_failures(runs):
    totals, reasons = {}, {}
    for name, reps in runs.items():
        totals[name] = sum(rep[m]["failures"]["total"] for rep in reps for m in MODES)
        for rep in reps:
            for mode in MODES:
                for text, n in rep[mode]["failure_reasons"].items():
                    key = f"{name} {mode}: {text}"
                    reasons[key] = reasons.get(key, 0) + n
                if rep[mode]["failure_reasons_other"]:
                    key = f"{name} {mode}: other reasons"
                    reasons[key] = reasons.get(key, 0) + rep[mode]["failure_reasons_other"]
    return totals, reasons


# --- main ---------------------------------------------------------------------------------------


def check_tools(settings):
    missing = [str(p) for p in (LOADGEN, TESTBACKEND) if not p.exists()]
    need = {"certwrapd": [CERTWRAPD], "stunnel": ["stunnel4|stunnel"], "hitch": ["hitch"],
            "haproxy": ["haproxy"]}
    for name in settings.proxies:
        for prog in need[name]:
            if isinstance(prog, Path):
                if not prog.exists():
                    missing.append(str(prog))
            elif not find_program(*prog.split("|")):
                missing.append(prog)
    for tool in ("taskset", "openssl"):
        if not shutil.which(tool):
            missing.append(tool)
    if missing:
        sys.exit(f"bench: missing: {', '.join(missing)} (run `make deps` and `make`)")


def main():
    settings = Settings()
    check_tools(settings)
    hard = raise_nofile()
    if hard < settings.idle_conns * 2 + 100:
        print(f"bench: warning: descriptor limit {hard} is below what "
              f"{settings.idle_conns} idle connections need in a proxy (2 each)")
    out = settings.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    make_pki(out)
    print(f"bench: {settings.describe()}; logs and results in {out}", flush=True)
    speed = openssl_speed(settings, out)
    print_speed(speed)
    runs, errors = {name: [] for name in settings.proxies}, []
    for rep in range(1, settings.reps + 1):
        for name in settings.proxies:
            print(f"bench: {name}, run {rep} of {settings.reps}", flush=True)
            try:
                runs[name].append(run_one(settings, name, rep, out))
            except (RuntimeError, TimeoutError, subprocess.TimeoutExpired) as e:
                errors.append(f"{name} run {rep}: {e}")
                print(f"bench: {name} run {rep} FAILED: {e}", flush=True)
    runs = {n: r for n, r in runs.items() if r}
    table = medians(runs)
    failures, reasons = count_failures(runs)
    print()
    print_speed(speed)
    if runs:
        print_table(settings, table, speed, failures)
    for text, n in sorted(reasons.items()):
        print(f"failure: {text} x{n}")
    for e in errors:
        print(f"error: {e}")
    result = {"settings": vars(settings) | {"out": str(out)}, "openssl_speed": speed,
              "runs": runs, "medians": {n: {k: v[0] for k, v in row.items()}
                                        for n, row in table.items()},
              "generator_bound": {n: [k for k, v in row.items() if v[1]]
                                  for n, row in table.items()},
              "failures": failures, "errors": errors}
    (out / "results.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"bench: results in {out / 'results.json'}")
    return 1 if errors or any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
