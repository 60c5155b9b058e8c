#!/usr/bin/env python3
"""loadclient.py — sends numbered messages to an SMTP server from several threads and
records, per message, whether the server acknowledged it with 250 after DATA.

Used by the crash test: the server is killed and restarted while this runs, so
connection errors are expected; a message counts as acknowledged only if its final
reply was 250. Every message carries "X-Token: N" and ends with the line "END-N" so a
reader can tell a whole message from a torn one. Bounded: N messages, each socket
operation times out, and the whole run stops after --max-seconds.

Output: one line per message, "N acked" or "N failed REASON", to --out.
"""
import argparse
import socket
import threading
import time


def reply(f):
    """Reads one (possibly multi-line) reply; returns its code."""
    while True:
        line = f.readline(1024)
        if not line:
            raise ConnectionError("closed")
        if len(line) < 4:
            raise ConnectionError("short reply")
        if line[3:4] != b"-":
            return int(line[:3])


def send_one(addr, port, n, rcpt, size):
    s = socket.create_connection((addr, port), timeout=10)
    try:
        f = s.makefile("rb")
        if reply(f) != 220:
            return "greeting"
        s.sendall(b"EHLO load.test\r\n")
        if reply(f) != 250:
            return "ehlo"
        s.sendall(b"MAIL FROM:<load@load.test>\r\n")
        if reply(f) != 250:
            return "mail"
        s.sendall(b"RCPT TO:<%s>\r\n" % rcpt.encode())
        if reply(f) != 250:
            return "rcpt"
        s.sendall(b"DATA\r\n")
        if reply(f) != 354:
            return "data"
        body = [b"Subject: load %d" % n, b"X-Token: %d" % n, b""]
        line = b"x" * 70
        while sum(len(x) + 2 for x in body) < size:
            body.append(line)
        body.append(b"END-%d" % n)
        s.sendall(b"\r\n".join(body) + b"\r\n.\r\n")
        code = reply(f)
        if code != 250:
            return "final %d" % code
        try:
            s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        return None
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=10)
    ap.add_argument("--rcpt", default="crash@example.test")
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()

    lock = threading.Lock()
    results = {}
    nxt = [0]
    stop = time.monotonic() + args.max_seconds

    def worker():
        while time.monotonic() < stop:
            with lock:
                n = nxt[0]
                if n >= args.n:
                    return
                nxt[0] += 1
            try:
                err = send_one(args.addr, args.port, n, args.rcpt, args.size)
            except (OSError, ConnectionError, ValueError) as e:
                err = type(e).__name__
                time.sleep(0.02)  # the server may be restarting
            with lock:
                results[n] = err

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(args.out, "w") as out:
        for n in sorted(results):
            if results[n] is None:
                out.write("%d acked\n" % n)
            else:
                out.write("%d failed %s\n" % (n, results[n].replace(" ", "_")))


if __name__ == "__main__":
    main()
