#!/usr/bin/env python3
"""smtpclient — a raw-socket SMTP client for mxd's end-to-end tests (python3 stdlib only).

smtplib hides exactly what the attack tests need to control: how bytes are split into
packets, commands sent before a reply, bare CR/LF, TLS started with bytes still in flight.
This client sends what it is told, byte for byte, and reads replies strictly.

Two uses:

  smtpclient.py session [-b ADDR] [-t SEC] [--cafile F] HOST PORT STEP...
      runs a scripted session and prints a transcript ("C: ..." sent, "S: ..." received,
      "T: ..." TLS facts). Exit 0 when every expectation held, 1 (with the reason on stderr
      and as the transcript's last line) when one did not, 2 on usage errors.
      Steps:
        greet[=EXP]     read the greeting; EXP defaults to 220
        send=BYTES      one write (one packet on loopback); escapes \\r \\n \\t \\xNN \\\\
        sendfile=PATH   one write of a file's bytes
        reply[=EXP]     read one complete reply (multi-line replies whole); with EXP, its
                        first line (with "-" read as " ") must start with EXP, e.g. 250,
                        "554 5.7.1"
        noreply=EXP     read one reply which must NOT start with EXP
        tls[=NAME]      TLS handshake now (SNI NAME); bytes already received and not read
                        as a reply count as a failure (the server sent plaintext after 220)
        quiet=SEC       nothing may arrive for SEC seconds (an EOF is fine)
        eof[=SEC]       the server must close within SEC (default -t) without sending more
        sleep=SEC       pause
      -b binds the client socket (e.g. 127.0.0.2, outside relay_networks); -t bounds every
      wait (default 5 s).

  smtpclient.py maildir FILE --return-path ADDR --delivered-to ADDR
                [--received REGEX]... [--body PATH]
      checks a delivered Maildir file byte by byte: "Return-Path: <ADDR>", "Delivered-To:
      ADDR", then a Received: field (folded lines unfolded) matching every REGEX, then
      exactly the bytes of PATH. Prints what differs; exit 0 or 1.

As a module: Client(host, port, bind=None, timeout=5) with send(), reply(), starttls(),
quiet(), expect_eof() and a transcript list, for tests written in Python.
"""

import argparse
import codecs
import os
import re
import select
import socket
import ssl
import sys
import time


class SMTPClientError(Exception):
    pass


def unescape(s):
    """Argument text to bytes: \\r \\n \\t \\xNN \\\\ are escapes; other octets stay as given
    (so UTF-8 arguments arrive as UTF-8)."""
    b = os.fsencode(s)
    return codecs.escape_decode(b)[0]


def show(b, cap=None):
    """Bytes as one printable line for the transcript; past cap octets, a count instead."""
    b = bytes(b)
    if cap is not None and len(b) > cap:
        return repr(b[:cap - 40])[2:-1] + "...[%d octets in all]..." % len(b) + repr(b[-30:])[2:-1]
    return repr(b)[2:-1]


class Client:
    def __init__(self, host, port, bind=None, timeout=5.0, out=None):
        self.timeout = timeout
        self.transcript = []
        self.out = out
        self.buf = b""
        self.eof = False
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_STREAM)
        if bind:
            self.sock.bind((bind, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tls = False

    def log(self, line):
        self.transcript.append(line)
        if self.out is not None:
            print(line, file=self.out, flush=True)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.log("C: " + show(data, 240))
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Reads more bytes into buf. False on EOF; raises on timeout."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise SMTPClientError("timeout waiting for the server")
        # An SSL socket may hold decrypted bytes select() cannot see.
        if not (self.tls and self.sock.pending()):
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                raise SMTPClientError("timeout waiting for the server")
        try:
            self.sock.settimeout(max(left, 0.01))
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            chunk = b""
        except socket.timeout:
            raise SMTPClientError("timeout waiting for the server")
        except ssl.SSLWantReadError:
            return True
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _line(self, deadline):
        while b"\n" not in self.buf:
            if not self._fill(deadline):
                if self.buf:
                    raise SMTPClientError("connection closed inside a line: " + show(self.buf))
                raise SMTPClientError("connection closed by the server")
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        if not line.endswith(b"\r\n"):
            raise SMTPClientError("reply line without CRLF: " + show(line))
        return line[:-2]

    def reply(self, timeout=None):
        """One complete reply: (code, [lines as str])."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        lines = []
        while True:
            raw = self._line(deadline)
            s = raw.decode("utf-8", "replace")
            self.log("S: " + s)
            if len(s) < 3 or not s[:3].isdigit() or (len(s) > 3 and s[3] not in " -"):
                raise SMTPClientError("malformed reply line: " + show(raw))
            if lines and s[:3] != lines[0][:3]:
                raise SMTPClientError("reply code changed inside a multi-line reply")
            lines.append(s)
            if len(s) == 3 or s[3] == " ":
                return int(s[:3]), lines

    def starttls(self, server_name=None, cafile=None):
        if self.buf:
            raise SMTPClientError("plaintext bytes after the 220, before TLS: " + show(self.buf))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if cafile:
            ctx.load_verify_locations(cafile)
            ctx.check_hostname = server_name is not None
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_name)
        self.tls = True
        self.log("T: %s %s" % (self.sock.version(), self.sock.cipher()[0]))

    def quiet(self, seconds):
        """Nothing may arrive for seconds (EOF is fine)."""
        deadline = time.monotonic() + seconds
        if self.buf:
            raise SMTPClientError("unexpected bytes: " + show(self.buf))
        while time.monotonic() < deadline:
            try:
                if not self._fill(deadline):
                    return
            except SMTPClientError:
                return
            if self.buf:
                data, self.buf = self.buf, b""
                self.log("S: " + show(data))
                raise SMTPClientError("the server answered when it must not: " + show(data))

    def expect_eof(self, seconds=None):
        deadline = time.monotonic() + (seconds if seconds is not None else self.timeout)
        while True:
            if self.buf:
                data, self.buf = self.buf, b""
                self.log("S: " + show(data))
                raise SMTPClientError("bytes before the expected close: " + show(data))
            if not self._fill(deadline):
                self.log("S: <EOF>")
                return


def matches(code_lines, exp):
    first = code_lines[1][0]
    norm = first[:3] + " " + first[4:] if len(first) > 3 else first
    return norm.startswith(exp)


def run_session(args):
    out = sys.stdout
    try:
        c = Client(args.host, args.port, bind=args.bind, timeout=args.timeout, out=out)
    except OSError as e:
        print("E: connect: %s" % e, file=out)
        print("smtpclient: connect: %s" % e, file=sys.stderr)
        return 1
    step = ""
    try:
        for n, step in enumerate(args.steps, 1):
            name, _, val = step.partition("=")
            if name in ("greet", "reply", "noreply"):
                exp = val if val else ("220" if name == "greet" else "")
                r = c.reply()
                if name == "noreply":
                    if matches(r, exp):
                        raise SMTPClientError("reply must not start with %r" % exp)
                elif exp and not matches(r, exp):
                    raise SMTPClientError("expected a reply starting with %r" % exp)
            elif name == "send":
                c.send(unescape(val))
            elif name == "sendfile":
                with open(val, "rb") as f:
                    c.send(f.read())
            elif name == "tls":
                c.starttls(server_name=val or None, cafile=args.cafile)
            elif name == "quiet":
                c.quiet(float(val))
            elif name == "eof":
                c.expect_eof(float(val) if val else None)
            elif name == "sleep":
                time.sleep(float(val))
            else:
                print("smtpclient: unknown step %r" % step, file=sys.stderr)
                return 2
    except (SMTPClientError, OSError, ssl.SSLError) as e:
        msg = "step %d (%s): %s" % (n, step[:60], e)
        print("E: " + msg, file=out)
        print("smtpclient: " + msg, file=sys.stderr)
        return 1
    finally:
        c.close()
    return 0


def run_maildir(args):
    try:
        with open(args.file, "rb") as f:
            data = f.read()
    except OSError as e:
        print("maildir: no delivered file to check (%s)" % e)
        return 1
    bad = []
    lines = data.split(b"\n")
    want = [b"Return-Path: <" + os.fsencode(args.return_path) + b">",
            b"Delivered-To: " + os.fsencode(args.delivered_to)]
    for i, w in enumerate(want):
        got = lines[i] if i < len(lines) else b""
        if got != w:
            bad.append("line %d: got %s, expected %s" % (i + 1, show(got), show(w)))
    rest = b"\n".join(lines[2:])
    m = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*", rest)
    if not m:
        bad.append("no Received: field after Delivered-To: " + show(rest[:120]))
        body = rest
    else:
        received = m.group(0)
        body = rest[m.end():]
        if b"\r" in received:
            bad.append("CR in the Received: field")
        unfolded = re.sub(rb"\n[ \t]+", b" ", received).decode("utf-8", "replace").strip()
        for rx in args.received or []:
            if not re.search(rx, unfolded):
                bad.append("Received: does not match /%s/: %s" % (rx, unfolded))
    if args.body:
        with open(args.body, "rb") as f:
            wbody = f.read()
        if body != wbody:
            i = 0
            while i < min(len(body), len(wbody)) and body[i] == wbody[i]:
                i += 1
            bad.append("body differs at octet %d (got %d octets, expected %d): got %s, "
                       "expected %s" % (i, len(body), len(wbody), show(body[max(0, i - 20):i + 40]),
                                        show(wbody[max(0, i - 20):i + 40])))
    for b in bad:
        print("maildir: %s: %s" % (args.file, b))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description="raw SMTP client for tests")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("session")
    s.add_argument("-b", "--bind")
    s.add_argument("-t", "--timeout", type=float, default=5.0)
    s.add_argument("--cafile")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("steps", nargs="+")
    m = sub.add_parser("maildir")
    m.add_argument("file")
    m.add_argument("--return-path", required=True)
    m.add_argument("--delivered-to", required=True)
    m.add_argument("--received", action="append")
    m.add_argument("--body")
    args = ap.parse_args()
    if args.cmd == "session":
        return run_session(args)
    return run_maildir(args)


if __name__ == "__main__":
    sys.exit(main())
