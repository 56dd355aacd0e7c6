"""Crash safety and concurrent writers.

Crash: CRASH_RUNS runs of `issue` and `renew`, each killed with SIGKILL (by
its PID) at a random instant drawn from a fixed seed over the time a run
takes; after every one the store must hold: every current resolves to a
complete version that validates, the index parses with no serial twice and
only ever grows, every version's serial is in it. At the end the next writer
has swept every leftover and every current verifies with openssl.

Concurrency: CONCURRENT_ISSUES `issue` runs started at once all succeed with
distinct serials; parallel `renew`s of one name make one version each;
parallel `issue`s of one name let exactly one win; a writer waits while
another holds the lock, readers do not.
"""
import fcntl
import random
import statistics
import subprocess
import time

import pytest

from certstore_util import Store, check_consistent, openssl

CRASH_RUNS = 200
CRASH_SEED = 20261123
BASE_NAMES = 4
MAX_NAMES = 16                  # bounds the work of checking the store after each run
CONCURRENT_ISSUES = 20
CONCURRENT_RENEWS = 10
RUN_TIMEOUT_S = 120
LOCK_HELD_S = 1.0               # how long a blocked writer is watched still waiting


def run_time(store):
    """The median duration of a renew on this machine and build, in seconds."""
    times = []
    for _ in range(3):
        start = time.monotonic()
        store.ok("renew", "base0")
        times.append(time.monotonic() - start)
    return statistics.median(times)


def kill_at(store, args, delay):
    """Runs certwrapctl args and kills it (SIGKILL, its PID) after delay
    seconds unless it finished first. Returns True when it was killed."""
    p = store.popen(*args)
    try:
        out, err = p.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return True
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{err}"
    return False


def test_kill_9_at_random_instants(tmp_path, capsys):
    rng = random.Random(CRASH_SEED)
    s = Store(tmp_path / "crash")
    s.ok("ca", "init", "--intermediate")
    for i in range(BASE_NAMES):
        s.ok("issue", f"base{i}", "--dns", f"base{i}.example.com")
    duration = run_time(s)
    killed, index_before = 0, [e.serial for e in s.index()]
    for run in range(CRASH_RUNS):
        names = [n for n in s.names() if (s.name_dir(n) / "current").is_symlink()]
        if len(names) < MAX_NAMES and rng.random() < 0.5:
            args = ["issue", f"n{run}", "--dns", f"n{run}.example.com", "--ip", "192.0.2.1"]
        else:
            args = ["renew", rng.choice(names)]
            if rng.random() < 0.3:
                args.append("--reuse-key")
        killed += kill_at(s, args, rng.uniform(0, 1.2 * duration))
        check_consistent(s)
        index = [e.serial for e in s.index()]
        assert index[:len(index_before)] == index_before, f"run {run}: the index lost entries"
        index_before = index
    # most runs were cut short, some were not: both ends of the distribution
    # (a quarter at least: the split moves with the machine's load after run_time measured it)
    assert killed >= CRASH_RUNS // 4, f"only {killed} of {CRASH_RUNS} runs were killed"
    assert killed < CRASH_RUNS, "no run finished: the delays are too short to test anything"
    # the next writer sweeps whatever the killed ones left half-written
    s.ok("issue", "final", "--dns", "final.example.com")
    assert s.leftovers() == []
    serials = check_consistent(s)
    assert len(set(serials.values())) == len(serials)
    root, chain = s.path / "ca" / "root.pem", s.path / "ca" / "chain.pem"
    for name in s.names():
        cert = s.version_dir(name) / "cert.pem"
        assert openssl("verify", "-CAfile", root, "-untrusted", chain, cert) == f"{cert}: OK\n"
    with capsys.disabled():
        print(f"\n  kill -9: {killed} of {CRASH_RUNS} issue/renew runs killed at random instants "
              f"(a run takes {duration:.3f}s); {len(serials)} certificates, every serial "
              f"distinct, the store consistent after each")


def test_parallel_issues(tmp_path):
    s = Store(tmp_path / "parallel")
    s.ok("ca", "init")
    procs = [s.popen("issue", f"p{i}", "--dns", f"p{i}.example.com")
             for i in range(CONCURRENT_ISSUES)]
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=RUN_TIMEOUT_S)
        assert p.returncode == 0, f"issue p{i}: exit {p.returncode}\n{err}"
    index = s.index()
    assert len(index) == CONCURRENT_ISSUES
    assert len({e.serial for e in index}) == CONCURRENT_ISSUES
    serials = check_consistent(s)
    assert sorted(serials.values()) == sorted(e.serial for e in index)
    assert sorted(n for n, _ in serials) == sorted(f"p{i}" for i in range(CONCURRENT_ISSUES))
    assert len(list((s.path / "ca" / "newcerts").iterdir())) == CONCURRENT_ISSUES


def test_parallel_renews_of_one_name(tmp_path):
    s = Store(tmp_path / "renews")
    s.ok("ca", "init")
    s.ok("issue", "mail", "--dns", "mail.example.com")
    procs = [s.popen("renew", "mail") for _ in range(CONCURRENT_RENEWS)]
    for p in procs:
        out, err = p.communicate(timeout=RUN_TIMEOUT_S)
        assert p.returncode == 0, err
    # one version each, and current is the last one made
    assert s.versions("mail") == list(range(1, CONCURRENT_RENEWS + 2))
    assert s.current("mail") == CONCURRENT_RENEWS + 1
    previous = sorted(int(s.meta("mail", v)["previous"]) for v in range(2, CONCURRENT_RENEWS + 2))
    assert previous == list(range(1, CONCURRENT_RENEWS + 1))
    check_consistent(s)


def test_parallel_issues_of_one_name(tmp_path):
    s = Store(tmp_path / "race")
    s.ok("ca", "init")
    procs = [s.popen("issue", "mail", "--dns", "mail.example.com") for _ in range(5)]
    results = [(p.communicate(timeout=RUN_TIMEOUT_S), p.returncode) for p in procs]
    winners = [r for r in results if r[1] == 0]
    losers = [r for r in results if r[1] != 0]
    assert len(winners) == 1
    for (out, err), status in losers:
        assert status == 1
        assert err == "certwrapctl: mail: already exists (version 1 is current): renew it " \
                      "with certwrapctl renew mail, or choose another name\n"
    assert s.versions("mail") == [1] and len(s.index()) == 1
    check_consistent(s)


def test_writers_wait_for_the_lock_readers_do_not(tmp_path):
    """A writer holding DIR/.lock (as certwrapd will) makes issue wait, not
    fail or go ahead; list and show read without the lock."""
    s = Store(tmp_path / "locked")
    s.ok("ca", "init")
    s.ok("issue", "mail", "--dns", "mail.example.com")
    with open(s.path / ".lock", "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = s.popen("issue", "imap", "--dns", "imap.example.com")
        with pytest.raises(subprocess.TimeoutExpired):
            p.wait(timeout=LOCK_HELD_S)          # still waiting for the lock
        assert [e["name"] for e in s.list()] == ["mail"]
        s.ok("show", "mail")
        fcntl.flock(lock, fcntl.LOCK_UN)
        out, err = p.communicate(timeout=RUN_TIMEOUT_S)
    assert p.returncode == 0, err
    assert out.startswith("imap: issued: version 1 is current")
    check_consistent(s)
