"""Why certwrapd has one acceptor and not SO_REUSEPORT (proxy/acceptor.h).

How the kernel spreads connections over two SO_REUSEPORT listeners on one
port, and whether it follows load: round 1 opens 200 connections; the ones
that landed on listener A all close (A is now idle, B holds its ~100);
round 2 opens 200 more. A load-aware acceptor would put round 2 mostly on A
(least busy); the reuseport hash cannot see load.

Run: /usr/bin/python3 bench/reuseport_spread.py (loopback only, a few seconds).
"""
import socket, selectors

def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port)); s.listen(1024); s.setblocking(False)
    return s

probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
ls = [listener(port), listener(port)]
held = {0: [], 1: []}
clients = []
def round_(n):
    got = [0, 0]
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port)); clients.append(c)
        sel = selectors.DefaultSelector()
        for i, l in enumerate(ls): sel.register(l, selectors.EVENT_READ, i)
        for key, _ in sel.select(2):
            i = key.data
            try:
                a, _ = ls[i].accept(); held[i].append(a); got[i] += 1
            except BlockingIOError:
                pass
        sel.close()
    return got
r1 = round_(200)
for a in held[0]: a.close()
held[0] = []
r2 = round_(200)
print(f"round 1 (both idle): A {r1[0]}, B {r1[1]}; A's closed; round 2: A {r2[0]}, B {r2[1]}; "
      f"held now: A {len(held[0])}, B {len(held[1])}")
