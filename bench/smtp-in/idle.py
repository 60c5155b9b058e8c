#!/usr/bin/env python3
"""bench/smtp-in/idle.py — holds N idle SMTP sessions open, for the memory measurement.

usage: idle.py HOST PORT N [TIMEOUT]

Opens N TCP connections to HOST:PORT one after the other, reading each one's 220 greeting
before opening the next (so a server with a short listen backlog is not overrun), then
prints "ready K" (K = sessions that got a 220) and holds them idle until a line or EOF
arrives on stdin, or TIMEOUT seconds (default 120) pass. Then it closes them all (without
QUIT: the server sees the client go away) and prints "closed K".

Bounded everywhere: each connect and greeting has a 5 s limit, the whole open phase at
most TIMEOUT seconds, and the holding phase at most TIMEOUT seconds. Loopback only: the
caller passes 127.0.0.1. Exit 0 when all N sessions were open, 1 otherwise.
"""
import select
import socket
import sys
import time


def greeting(sock, deadline):
    """Reads until the end of a (possibly multi-line) 220 reply. True when it was one."""
    data = b""
    while time.monotonic() < deadline and len(data) < 4096:
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            return False
        chunk = sock.recv(4096)
        if not chunk:
            return False
        data += chunk
        for line in data.split(b"\r\n"):
            if len(line) >= 4 and line[3:4] == b" ":
                return line.startswith(b"220 ")
    return False


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    limit = float(sys.argv[4]) if len(sys.argv) == 5 else 120.0
    socks = []
    end = time.monotonic() + limit
    for _ in range(n):
        if time.monotonic() >= end:
            break
        try:
            s = socket.create_connection((host, port), timeout=5)
        except OSError as e:
            print("connect failed after %d: %s" % (len(socks), e), file=sys.stderr)
            break
        if not greeting(s, min(end, time.monotonic() + 5)):
            print("no 220 greeting after %d sessions" % len(socks), file=sys.stderr)
            s.close()
            break
        socks.append(s)
    print("ready %d" % len(socks), flush=True)
    select.select([sys.stdin], [], [], limit)
    for s in socks:
        s.close()
    print("closed %d" % len(socks), flush=True)
    return 0 if len(socks) == n else 1


if __name__ == "__main__":
    sys.exit(main())
