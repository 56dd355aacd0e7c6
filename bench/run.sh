#!/bin/sh
# `make bench`: certwrapd side by side with stunnel, hitch and HAProxy.
# The work is in bench/run.py (python3 from Debian, standard library only);
# this wrapper only finds it and the build. Settings come from the
# environment, see bench/run.py: BENCH_QUICK=1, BENCH_ONLY=certwrapd,stunnel,
# BENCH_REPS, BENCH_DURATION, BENCH_IDLE_CONNS, BENCH_CONCURRENCY ...
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
export BUILD
exec "$PYTHON" bench/run.py "$@"
