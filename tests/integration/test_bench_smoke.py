"""The benchmark's load generator (bench/loadgen.c), run briefly against a real
certwrapd in front of the test backend's echo service, so that it cannot rot:
every mode completes with zero failures and a sane JSON result, and a failure
is counted by its kind rather than lost.
"""
import json
import os
import subprocess

import pytest

from conftest import (BUILD, SANITIZER_ENV, config_text, free_port, sanitizer_report,
                      service)

LOADGEN = BUILD / "bench" / "loadgen"
RUN_TIMEOUT_S = 60
FAILURE_KINDS = {"connect_refused", "connect_error", "timeout", "handshake", "short_echo",
                 "echo_mismatch", "reset", "closed", "tls", "local"}


@pytest.fixture
def proxied(pki, backend_factory, certwrapd):
    """(port, certwrapd, backend): certwrapd in front of an echo backend."""
    backend = backend_factory(services=("echo",), spool=False)
    port = free_port()
    svc = service(port, backend.addr("echo"), cert=pki.fullchain, key=pki.leaf_key,
                  CAfile=pki.root, sslVersionMin="TLSv1.3")
    return port, certwrapd(config_text({"echo": svc})), backend


def loadgen(port, mode, *args, expect_status=0):
    """Runs the load generator; its JSON result (stdout's one line)."""
    assert LOADGEN.exists(), f"{LOADGEN} is missing: run make first"
    r = subprocess.run([str(LOADGEN), "--connect", f"127.0.0.1:{port}", "--mode", mode,
                        *map(str, args)], capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S, env={**os.environ, **SANITIZER_ENV},
                       stdin=subprocess.DEVNULL)
    assert not sanitizer_report(r.stderr), r.stderr
    assert r.returncode == expect_status, f"loadgen exited {r.returncode}:\n{r.stderr}"
    lines = r.stdout.splitlines()
    assert len(lines) == 1, f"expected one JSON line, got {r.stdout!r}"
    result = json.loads(lines[0])
    assert result["tool"] == "loadgen" and result["mode"] == mode
    assert set(result["failures"]) == FAILURE_KINDS | {"total"}
    assert result["failures"]["total"] == sum(result["failures"][k] for k in FAILURE_KINDS)
    assert f"loadgen: {mode} 127.0.0.1:{port}" in r.stderr      # the line for people
    return result


def assert_clean(result):
    assert result["failures"]["total"] == 0, result["failure_reasons"]
    assert result["failure_reasons"] == {} and result["failure_reasons_other"] == 0
    assert result["completed"] > 0
    assert result["started"] == result["completed"] + result["unfinished"]


def test_full_handshakes_complete_without_failure(proxied):
    port, daemon, backend = proxied
    result = loadgen(port, "handshake", "--duration", 1, "--concurrency", 4,
                     "--proxy-pid", daemon.pid, "--backend-pid", backend.pid)
    assert_clean(result)
    assert result["resumed"] == 0                  # no ticket was offered
    assert result["rate_per_s"] > 0
    assert result["cpu"]["proxy"] is not None and result["cpu"]["proxy"] >= 0
    assert result["cpu"]["backend"] is not None and result["memory"] is None


def test_resumed_handshakes_use_tickets(proxied):
    port, daemon, _backend = proxied
    result = loadgen(port, "resume", "--count", 10, "--concurrency", 2, "--duration", 20)
    assert_clean(result)
    assert result["completed"] == 10 and result["unfinished"] == 0
    # certwrapd issues TLS 1.3 tickets and they resume; not `== 10`: about one
    # resumption in a thousand falls back to a full handshake (a counted
    # outcome, not a failure; seen with certwrapd only, under investigation)
    assert 1 <= result["resumed"] <= result["completed"]


def test_bulk_echoes_every_byte(proxied):
    port, _daemon, _backend = proxied
    result = loadgen(port, "bulk", "--duration", 1, "--concurrency", 2)
    assert_clean(result)
    assert result["completed"] == 2
    assert result["bytes_rx"] > 0 and result["bytes_rx"] <= result["bytes_tx"]
    assert result["mb_per_s"] > 0


def test_idle_connections_are_held_and_measured(proxied):
    port, daemon, _backend = proxied
    result = loadgen(port, "idle", "--conns", 20, "--concurrency", 4,
                     "--proxy-pid", daemon.pid)
    assert_clean(result)
    memory = result["memory"]
    assert result["completed"] == 20 and memory["conns"] == 20
    assert memory["rss_before_kib"] > 0 and memory["rss_after_kib"] > 0
    assert memory["kib_per_conn"] is not None and memory["pss_kib_per_conn"] is not None
    assert daemon.running()


def test_a_refused_connection_is_counted_not_dropped():
    port = free_port()                             # nothing listens there
    result = loadgen(port, "handshake", "--count", 3, "--concurrency", 1, "--duration", 10,
                     expect_status=1)
    assert result["started"] == 3 and result["completed"] == 0
    assert result["failures"]["total"] == 3
    assert result["failures"]["connect_refused"] >= 1
