#!/usr/bin/env python3
"""weakmta — a deliberately weak relay MTA, the target mxaudit must rate "poor".

ONLY for tests on loopback. It reproduces the 2010 Windows SMTP service's DNS
(CVE-2010-1689, CVE-2010-1690) in a small relay:

  SMTP  a server on --addr/--port that accepts mail for any domain from 127.0.0.0/8
        (everybody else gets 554), reads DATA to its end and queues the message.
  DNS   a stub resolver of its own, talking to --dns ADDR:PORT from ONE fixed source
        port (picked once at start), with SEQUENTIAL transaction IDs (a random start,
        +1 per query), or with --pid-ids one constant ID derived from the process ID. It
        believes the first reply whose ID matches: no check of the source address, the
        source port, the question, QR or TC. MX answers are read whatever their owner
        name, and A records in the additional section are used as the MX host's address
        (glue) without asking. Datagrams left over from an earlier lookup are discarded
        before each query (a new lookup starts a new read), so a late true answer never
        answers the next question.
  relay one worker delivers queued messages in order: MX of the recipient's domain (the
        domain itself when there is none), then the host's A record, then SMTP to that
        address on --delivery-port. A lookup that fails (NXDOMAIN, SERVFAIL, timeout)
        drops the message: no bounce, no retry.

Bounds: at most 32 SMTP sessions, 1000-octet lines, 1 MiB messages, 1000 queued
messages, 2 s per DNS attempt (2 attempts), 10 s SMTP timeouts, --max-seconds in all;
SIGTERM or SIGINT stop it. --log FILE gets one line per lookup and per delivery.
"""

import argparse
import os
import queue
import random
import select
import signal
import smtplib
import socket
import struct
import sys
import threading
import time

T_A = 1
T_MX = 15
MAX_SESSIONS = 32
MAX_LINE = 1000
MAX_MSG = 1 << 20
MAX_QUEUE = 1000
DNS_TIMEOUT = 2.0
DNS_ATTEMPTS = 2

stop = threading.Event()
logf = None
log_lock = threading.Lock()


def log(msg):
    if logf is None:
        return
    with log_lock:
        logf.write("%.3f %s\n" % (time.time(), msg))
        logf.flush()


# --- DNS ---------------------------------------------------------------------------------

def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError("bad label")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def read_name(pkt, off):
    """RFC 1035 §4.1.4 name with compression; returns (name, offset after it)."""
    labels = []
    end = None
    hops = 0
    while True:
        if off >= len(pkt):
            raise ValueError("name runs off the end")
        n = pkt[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(pkt) or hops > 32:
                raise ValueError("bad pointer")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | pkt[off + 1]
            hops += 1
            continue
        if n & 0xC0:
            raise ValueError("bad label type")
        off += 1
        if n == 0:
            break
        labels.append(pkt[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels).lower(), (end if end is not None else off)


def parse_reply(pkt):
    """Header, then every record: (id, rcode, [(section, owner, type, rdata, rdoff)])."""
    if len(pkt) < 12:
        raise ValueError("short")
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", pkt[:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(pkt, off)
        off += 4
    recs = []
    for i in range(an + ns + ar):
        owner, off = read_name(pkt, off)
        if off + 10 > len(pkt):
            raise ValueError("record runs off the end")
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", pkt[off:off + 10])
        off += 10
        section = "an" if i < an else ("ns" if i < an + ns else "ar")
        recs.append((section, owner, rtype, pkt[off:off + rdlen], off))
        off += rdlen
    return rid, flags & 0xF, recs


class WeakResolver:
    def __init__(self, server, pid_ids):
        host, port = server.rsplit(":", 1)
        self.server = (host, int(port))
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))   # the one port
        self.pid_ids = pid_ids
        self.next_id = random.randrange(0x10000)
        self.pid_id = (os.getpid() * 40503) & 0xFFFF

    def new_id(self):
        if self.pid_ids:
            return self.pid_id
        qid = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFF
        return qid

    def drain(self):
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recvfrom(65535)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        self.sock.setblocking(True)

    def query(self, name, qtype):
        """(rcode, records) or None on timeout. The weakness is here."""
        for _ in range(DNS_ATTEMPTS):
            self.drain()
            qid = self.new_id()
            pkt = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
                struct.pack("!HH", qtype, 1)
            self.sock.sendto(pkt, self.server)
            log("query id=%d port=%d %s %d" % (qid, self.sock.getsockname()[1], name, qtype))
            deadline = time.monotonic() + DNS_TIMEOUT
            while not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([self.sock], [], [], min(left, 0.2))
                if not r:
                    continue
                try:
                    data, _peer = self.sock.recvfrom(65535)   # from anybody: not checked
                except OSError:
                    continue
                try:
                    rid, rcode, recs = parse_reply(data)
                except ValueError:
                    continue
                if rid != qid:
                    continue            # the ONLY check
                return rcode, recs, data
        return None


def resolve_mx(res, domain):
    """The address to deliver to for domain, or (None, why)."""
    r = res.query(domain, T_MX)
    if r is None:
        return None, "MX timeout"
    rcode, recs, pkt = r
    if rcode != 0:
        return None, "MX rcode %d" % rcode
    best = None
    for section, _owner, rtype, rdata, rdoff in recs:
        if section == "an" and rtype == T_MX and len(rdata) >= 3:
            pref = struct.unpack("!H", rdata[:2])[0]
            try:
                host, _ = read_name(pkt, rdoff + 2)
            except ValueError:
                continue
            if best is None or pref < best[0]:
                best = (pref, host)
    host = best[1] if best else domain
    # Glue: an A record for the host anywhere in the reply is believed.
    for section, owner, rtype, rdata, _ in recs:
        if rtype == T_A and owner == host and len(rdata) == 4:
            return socket.inet_ntoa(rdata), "%s (glue)" % host
    r = res.query(host, T_A)
    if r is None:
        return None, "A timeout for %s" % host
    rcode, recs, _ = r
    if rcode != 0:
        return None, "A rcode %d for %s" % (rcode, host)
    for _section, _owner, rtype, rdata, _ in recs:
        if rtype == T_A and len(rdata) == 4:
            return socket.inet_ntoa(rdata), host
    return None, "no A for %s" % host


def deliver_worker(res, q, port):
    while not stop.is_set():
        try:
            sender, rcpts, data = q.get(timeout=0.2)
        except queue.Empty:
            continue
        by_domain = {}
        for r in rcpts:
            by_domain.setdefault(r.rsplit("@", 1)[-1].lower(), []).append(r)
        for domain, rs in by_domain.items():
            addr, why = resolve_mx(res, domain)
            if addr is None:
                log("drop %s: %s" % (",".join(rs), why))
                continue
            try:
                s = smtplib.SMTP(addr, port, local_hostname="weakmta.test", timeout=10)
                s.sendmail(sender, rs, data)
                s.quit()
                log("sent %s via %s[%s]" % (",".join(rs), why, addr))
            except (OSError, smtplib.SMTPException) as e:
                log("failed %s via %s[%s]: %s" % (",".join(rs), why, addr, e))


# --- SMTP server ---------------------------------------------------------------------------

class Session(threading.Thread):
    def __init__(self, conn, peer, q, active):
        super().__init__(daemon=True)
        self.conn, self.peer, self.q, self.active = conn, peer, q, active
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise ValueError("line too long")
            data = self.conn.recv(4096)
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def send(self, text):
        self.conn.sendall(text.encode() + b"\r\n")

    def run(self):
        try:
            self.conn.settimeout(30)
            self.session()
        except (OSError, EOFError, ValueError):
            pass
        finally:
            self.conn.close()
            self.active.release()

    def session(self):
        if not self.peer[0].startswith("127."):
            self.send("554 5.7.1 Relaying only for 127.0.0.0/8")
            return
        self.send("220 weakmta.test ESMTP")
        sender, rcpts = None, []
        while not stop.is_set():
            line = self.readline().decode("ascii", "replace")
            verb = line[:4].upper()
            if verb in ("HELO", "EHLO"):
                sender, rcpts = None, []
                self.send("250 weakmta.test")
            elif verb == "MAIL" and ":" in line:
                sender = line.split(":", 1)[1].strip().split()[0].strip("<>")
                rcpts = []
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT" and ":" in line and sender is not None:
                rcpt = line.split(":", 1)[1].strip().split()[0].strip("<>")
                if "@" not in rcpt:
                    self.send("550 5.1.1 No local users here")
                    continue
                rcpts.append(rcpt)
                self.send("250 2.1.5 Ok")
            elif verb == "DATA" and rcpts:
                self.send("354 Go ahead")
                lines, size = [], 0
                while True:
                    ln = self.readline()
                    if ln == b".":
                        break
                    if ln.startswith(b"."):
                        ln = ln[1:]
                    size += len(ln) + 2
                    if size <= MAX_MSG:
                        lines.append(ln)
                if size > MAX_MSG:
                    self.send("552 5.3.4 Too big")
                else:
                    try:
                        self.q.put_nowait((sender, rcpts, b"\r\n".join(lines) + b"\r\n"))
                        self.send("250 2.0.0 Ok: queued")
                    except queue.Full:
                        self.send("452 4.3.1 Queue full")
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.1 Not implemented")


def main():
    global logf
    ap = argparse.ArgumentParser(description="a deliberately weak relay MTA (tests only)")
    ap.add_argument("--addr", default="127.0.0.1", help="SMTP listen address")
    ap.add_argument("--port", type=int, required=True, help="SMTP listen port")
    ap.add_argument("--dns", required=True, help="DNS server ADDR:PORT")
    ap.add_argument("--delivery-port", type=int, required=True,
                    help="TCP port of the MX hosts it delivers to")
    ap.add_argument("--pid-ids", action="store_true",
                    help="one constant, process-derived DNS ID instead of sequential IDs")
    ap.add_argument("--log", help="one line per lookup and delivery")
    ap.add_argument("--max-seconds", type=float, default=300.0)
    args = ap.parse_args()
    if args.log:
        logf = open(args.log, "a")

    def on_term(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    res = WeakResolver(args.dns, args.pid_ids)
    log("resolver port %d, %s IDs" % (res.sock.getsockname()[1],
                                      "pid-derived" if args.pid_ids else "sequential"))
    q = queue.Queue(MAX_QUEUE)
    threading.Thread(target=deliver_worker, args=(res, q, args.delivery_port),
                     daemon=True).start()
    fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.addr, args.port))
    srv.listen(64)
    active = threading.BoundedSemaphore(MAX_SESSIONS)
    end = time.monotonic() + args.max_seconds
    while not stop.is_set() and time.monotonic() < end:
        try:
            r, _, _ = select.select([srv], [], [], 0.2)
        except InterruptedError:
            continue
        if not r:
            continue
        try:
            conn, peer = srv.accept()
        except OSError:
            continue
        if not active.acquire(blocking=False):
            conn.close()
            continue
        Session(conn, peer, q, active).start()
    stop.set()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
