#!/usr/bin/env python3
"""smtpfake — a scripted SMTP or LMTP server for the client's tests (python3 stdlib only).

smtp-sink answers every recipient alike and speaks no STARTTLS; this server answers what it
is told, per command and per recipient, can speak STARTTLS with a test certificate (for the
DANE checks), can speak LMTP (RFC 2033) with one reply per recipient after the ".", and can
misbehave in the ways a hostile MX would.

  smtpfake.py (--port P [--addr A] | --unix PATH) [--ready FILE] [--log FILE] [options]

  --unix PATH          listen on a unix stream socket at PATH instead of TCP
  --lmtp               LMTP: LHLO gets the capabilities (--ehlo), EHLO and HELO get
                       "500 5.5.1 use LHLO"; after the "." one reply per recipient whose
                       RCPT got a 2xx, in order (RFC 2033 §4.2), each from --dotrcpt or --dot
  --dotrcpt PAT=REPLY  LMTP: the reply after "." for a recipient whose RCPT contained PAT
                       (repeatable; first match wins)

  --greeting TEXT      the greeting reply (default "220 fake.test ESMTP"); "\\r\\n" inside
                       separates lines of a multi-line reply
  --caps LIST          EHLO keywords, comma-separated (default
                       "PIPELINING,SIZE 10000000,8BITMIME,SMTPUTF8,DSN,ENHANCEDSTATUSCODES");
                       STARTTLS is added when --cert is given (not after the handshake)
  --ehlo REPLY         reply to EHLO (LHLO with --lmtp) instead of the capabilities
  --helo REPLY         reply to HELO (default "250 fake.test")
  --mail REPLY         reply to MAIL (default "250 2.1.0 Ok")
  --rcpt PAT=REPLY     reply to RCPT whose address contains PAT (repeatable; first match
                       wins; default "250 2.1.5 Ok")
  --data REPLY         reply to DATA (default "354 go ahead")
  --dot REPLY          reply to the final "." (default "250 2.0.0 Ok: queued")
  --starttls REPLY     reply to STARTTLS (default "220 2.0.0 go ahead")
  --cert F --key F     serve STARTTLS with this certificate chain (PEM, leaf first)
  --mode MODE          a misbehaviour, one of:
      drip        the greeting one octet per 0.3 s
      longline    a 600-octet line in the EHLO reply
      manylines   an EHLO reply of 101 lines
      endless     EHLO answered by continuation lines that never end (one per 10 ms)
      nocrlf      octets without any line end after EHLO, never stopping
      garbage     a greeting that is not a reply
      codechange  the EHLO reply changes its code on its second line
      early       an extra reply after the EHLO reply, before any command
      closedata   close the connection halfway through the message body
      nodotreply  read the message, never answer the "."
      tlsjunk     after "220" to STARTTLS, send plaintext instead of a handshake and close
      inject      "220" to STARTTLS and a forged "250" in the same write
      silentmail  never answer MAIL
      closeidle   close the connection 0.3 s after answering the "." (test reuse)
      unsolicited send a line 0.3 s after answering the "." (test reuse)

The log (--log) has one line per event: "CONNECT n", "C: line" for a command that waited
for our previous reply, "C+ line" for one that had already arrived with the one before it
(pipelined), "TLS: version cipher", "B: line" for each body line as received (still
dot-stuffed), "END" when the message ended, "EOF". --ready FILE is written once listening.
The server exits after 60 s without a connection.
"""

import argparse
import socket
import ssl
import sys
import threading
import time

DEFAULT_CAPS = "PIPELINING,SIZE 10000000,8BITMIME,SMTPUTF8,DSN,ENHANCEDSTATUSCODES"


class Conn:
    """A socket (plain, then maybe TLS) with a line buffer that knows what was pipelined."""

    def __init__(self, sock, log, n):
        self.sock = sock
        self.buf = b""
        self.log = log
        self.n = n

    def send(self, data):
        self.sock.sendall(data)

    def reply(self, text):
        lines = text.split("\r\n")
        out = b""
        for i, l in enumerate(lines):
            last = i == len(lines) - 1
            if len(l) > 3 and l[3] in " -":
                l = l[:3] + ("-" if not last else " ") + l[4:]
            elif not last:
                l = l[:3] + "-" + l[3:]
            out += l.encode() + b"\r\n"
        self.send(out)

    def readline(self):
        """Returns (line without CRLF, pipelined) or (None, False) at EOF."""
        pipelined = b"\n" in self.buf
        while b"\n" not in self.buf:
            try:
                d = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                d = b""
            if not d:
                return None, False
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r"), pipelined


def first_match(pairs, text, default):
    """The reply of the first (PAT, REPLY) whose PAT is in text, else default."""
    for pat, r in pairs:
        if pat in text:
            return r
    return default


def serve(c, a, log):
    send, reply = c.send, c.reply
    mode = a.mode
    if mode == "drip":
        for b in (a.greeting + "\r\n").encode():
            send(bytes([b]))
            time.sleep(0.3)
        return
    if mode == "garbage":
        send(b"hello there, this is not SMTP\r\n")
        time.sleep(5)
        return
    reply(a.greeting)
    tls = False
    rcpts = 0
    accepted = []
    while True:
        line, piped = c.readline()
        if line is None:
            log("EOF")
            return
        text = line.decode("utf-8", "replace")
        log(("C+ " if piped else "C: ") + text)
        verb = text.split(" ", 1)[0].upper()
        if a.lmtp and verb in ("EHLO", "HELO"):
            reply("500 5.5.1 use LHLO")
            continue
        if verb == "LHLO" and a.lmtp:
            verb = "EHLO"
        if verb == "EHLO":
            if mode == "longline":
                send(b"250-fake.test\r\n250-" + b"x" * 600 + b"\r\n250 8BITMIME\r\n")
                continue
            if mode == "manylines":
                send(b"250-fake.test\r\n" + b"250-X\r\n" * 99 + b"250 Y\r\n")
                continue
            if mode == "codechange":
                send(b"250-fake.test\r\n251 PIPELINING\r\n")
                continue
            if mode == "endless":
                try:
                    for _ in range(100000):
                        send(b"250-still going\r\n")
                        time.sleep(0.01)
                except OSError:
                    pass
                return
            if mode == "nocrlf":
                try:
                    for _ in range(100000):
                        send(b"250 no line end " * 4)
                        time.sleep(0.01)
                except OSError:
                    pass
                return
            if a.ehlo:
                reply(a.ehlo)
                continue
            caps = [k for k in a.caps.split(",") if k]
            if a.cert and not tls:
                caps.append("STARTTLS")
            reply("\r\n".join(["250 fake.test"] + ["250 " + k for k in caps]))
            if mode == "early":
                send(b"250 2.0.0 nobody asked\r\n")
        elif verb == "HELO":
            reply(a.helo)
        elif verb == "STARTTLS":
            if mode == "inject":
                send(b"220 2.0.0 go ahead\r\n250 2.0.0 forged\r\n")
            else:
                reply(a.starttls)
            if not a.starttls.startswith("220"):
                continue
            if mode == "tlsjunk":
                send(b"this is not a TLS handshake\r\n")
                time.sleep(0.2)
                return
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(a.cert, a.key)
            try:
                c.sock = ctx.wrap_socket(c.sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log("TLS: failed %s" % e)
                return
            c.buf = b""
            tls = True
            log("TLS: %s %s" % (c.sock.version(), c.sock.cipher()[0]))
        elif verb == "MAIL":
            rcpts = 0
            accepted = []
            if mode == "silentmail":
                time.sleep(30)
                return
            reply(a.mail)
        elif verb == "RCPT":
            rcpts += 1
            r = first_match(a.rcpt, text, "250 2.1.5 Ok")
            reply(r)
            if r.startswith("2"):
                accepted.append(text)
        elif verb == "DATA":
            reply(a.data)
            if not a.data.startswith("354"):
                continue
            n = 0
            while True:
                bl, _ = c.readline()
                if bl is None:
                    log("EOF")
                    return
                if bl == b".":
                    log("END")
                    break
                log("B: " + bl.decode("utf-8", "replace"))
                n += 1
                if mode == "closedata" and n >= 3:
                    log("CLOSE")
                    c.sock.close()
                    return
            if mode == "nodotreply":
                time.sleep(30)
                return
            if a.lmtp:
                # One write: the replies arrive as a server that answers at once sends them.
                out = [first_match(a.dotrcpt, rc, a.dot) for rc in accepted]
                if out:
                    send(b"".join(x.encode() + b"\r\n" for x in out))
            else:
                reply(a.dot)
            if mode == "closeidle":
                time.sleep(0.3)
                log("CLOSE")
                return
            if mode == "unsolicited":
                time.sleep(0.3)
                send(b"250 2.0.0 surprise\r\n")
        elif verb == "RSET":
            reply("250 2.0.0 Ok")
        elif verb == "QUIT":
            reply("221 2.0.0 Bye")
            log("QUIT")
            return
        elif verb == "NOOP":
            reply("250 2.0.0 Ok")
        else:
            reply("502 5.5.2 Error: command not recognized")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    p.add_argument("--unix")
    p.add_argument("--lmtp", action="store_true")
    p.add_argument("--dotrcpt", action="append", default=[])
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--ready")
    p.add_argument("--log")
    p.add_argument("--greeting", default="220 fake.test ESMTP")
    p.add_argument("--caps", default=DEFAULT_CAPS)
    p.add_argument("--ehlo")
    p.add_argument("--helo", default="250 fake.test")
    p.add_argument("--mail", default="250 2.1.0 Ok")
    p.add_argument("--rcpt", action="append", default=[])
    p.add_argument("--data", default="354 go ahead")
    p.add_argument("--dot", default="250 2.0.0 Ok: queued")
    p.add_argument("--starttls", default="220 2.0.0 go ahead")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--mode", default="")
    a = p.parse_args()
    a.greeting = a.greeting.replace("\\r\\n", "\r\n")
    a.rcpt = [tuple(r.split("=", 1)) for r in a.rcpt]
    a.dotrcpt = [tuple(r.split("=", 1)) for r in a.dotrcpt]
    if (a.port is None) == (a.unix is None):
        p.error("one of --port and --unix")

    lock = threading.Lock()
    logf = open(a.log, "a", buffering=1) if a.log else None

    def logger(n):
        def log(s):
            if logf:
                with lock:
                    logf.write("%s\n" % s)
        return log

    if a.unix:
        s = socket.socket(socket.AF_UNIX)
        s.bind(a.unix)
    else:
        s = socket.socket(socket.AF_INET6 if ":" in a.addr else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.addr, a.port))
    s.listen(16)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    s.settimeout(60)
    n = 0
    while True:
        try:
            sock, _ = s.accept()
        except socket.timeout:
            break
        n += 1
        log = logger(n)
        log("CONNECT %d" % n)

        def run(sock=sock, log=log, n=n):
            c = Conn(sock, log, n)
            try:
                serve(c, a, log)
            except (OSError, ssl.SSLError) as e:
                log("ERROR %s" % e)
            finally:
                try:
                    c.sock.close()
                except OSError:
                    pass

        threading.Thread(target=run, daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
