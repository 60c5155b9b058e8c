#!/usr/bin/env python3
"""dnsforge — a hostile DNS server for mxd's resolver tests.

It serves one zone (--zone) over UDP and TCP on --addr/--port. For every UDP query it
first sends a set of forged replies, each perfect except for exactly one defect, and only
then the true answer; the resolver under test must drop every forgery and use only the
true answer. The forgery kinds (one function each, below):

  a  right ID, sent from the wrong source address (--alt-addr, same port number)
  b  right ID, sent from the right address but another source port
  c  wrong ID (id ^ random nonzero)
  d  right ID, another question (poison.ZONE, or a random name when that was asked)
  e  right ID, the question in another letter case (defeats a resolver without 0x20)
  f  QR=0 (not a response)
  g  cookie defect (--cookies only, when the query carried a client cookie): if the
     query carried our server cookie the forgery omits it, else it echoes a wrong
     client cookie

Forgeries carry the attacker's address (--evil-addr). Every answer, true or forged,
also carries additional-section A records for poison.ZONE and www.victim.test pointing
at the attacker: a resolver must never use them. A direct query for poison.ZONE gets the
true address, so a test can tell whether the additional records were ever cached.

TCP (RFC 1035 §4.2.2, two-octet length prefix) is answered truthfully, with the same
poisoned additional section. --tc-names answers UDP queries for names whose first label
starts with "tc" with TC=1 so the resolver must retry over TCP. --cookies makes it an
RFC 7873 server: it echoes the client cookie with a 16-byte server cookie derived from
the client cookie and client address with a secret. --badcookie require (with --cookies)
answers BADCOOKIE (RFC 7873 §5.2.3, with a valid server cookie) to every UDP query that
lacks a valid server cookie; --badcookie always answers BADCOOKIE to every UDP query for
names whose first label starts with "bc", valid cookie or not (TCP is always answered:
RFC 7873 §5.3 sends a client that meets a second BADCOOKIE there); --badcookie bare does
the same with no COOKIE option at all (a plain server error, not a cookie signal). --honest sends no forgeries and no
poisoned records. --kinds picks a subset of forgeries (e.g. "cdf"); --shuffle sends
them in a random order per query (a resolver that gives up UDP at the first mismatch then
still meets every kind first, some of the time).

--mx makes it serve mail routing for every domain in the zone (mxd's delivery tests):
the true answer to "N MX" is "N MX 10 mx.N" and the forgeries name "attacker.N" instead;
"mx.N A" is --true-addr (forged: --evil-addr) and "attacker.N A" is --evil-addr in every
answer, true or forged (the attacker's host really is the attacker's). MX answers also
carry an additional-section A record "mx.N A --evil-addr" (glue poisoning). AAAA answers
follow --true-addr6/--evil-addr6 the same way; "none" for either means no AAAA (NODATA for
a true answer, a forged NXDOMAIN for a forgery). Without --mx nothing changes: MX and other
types get NODATA (forgeries: NXDOMAIN).

Counters go to --stats FILE as JSON every second and on SIGTERM; --log FILE gets one line
per UDP query: "id sport qname-as-received qtype". Malformed queries are counted and
ignored. Everything is bounded: the process exits after --max-seconds, TCP connections
are capped in number, size and idle time. Only for loopback use in tests.
"""

import argparse
import hashlib
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

QR = 0x8000
OPMASK = 0x7800
AA = 0x0400
TC = 0x0200
RD = 0x0100
RA = 0x0080

T_A = 1
T_MX = 15
T_AAAA = 28
T_OPT = 41
C_IN = 1
OPT_COOKIE = 10
RCODE_NXDOMAIN = 3
RCODE_REFUSED = 5
RCODE_BADCOOKIE = 23  # RFC 7873 §8: header 7, OPT extended rcode 1
EDNS_SIZE = 1232
TTL = 300

TCP_MAX_CONNS = 256
TCP_IDLE_SECONDS = 10.0
TCP_MAX_BUFFER = 4 * 65537
UDP_BATCH = 64

KINDS = "abcdefg"

MX_LABEL = b"mx"            # --mx: the true MX host of domain N is mx.N
ATTACKER_LABEL = b"attacker"  # and the forgeries name attacker.N
QTYPE_NAMES = {T_A: "A", T_MX: "MX", T_AAAA: "AAAA", 52: "TLSA", 16: "TXT", 5: "CNAME"}

rng = random.SystemRandom()


def addr6(text):
    """An IPv6 address in wire form, or None for "none"."""
    return None if text == "none" else socket.inet_pton(socket.AF_INET6, text)


class Malformed(Exception):
    """A query we cannot parse: it is ignored."""


class Query:
    """A parsed query. qname_wire is the question name exactly as received."""

    def __init__(self):
        self.id = 0
        self.flags = 0
        self.labels = []          # list of bytes, as received (case preserved)
        self.qname_wire = b""
        self.qtype = 0
        self.qclass = 0
        self.edns = False
        self.do_bit = False
        self.ccookie = None       # 8 bytes or None
        self.scookie = None       # bytes or None

    def lower_labels(self):
        return [lab.lower() for lab in self.labels]


def name_wire(labels):
    out = b""
    for lab in labels:
        out += bytes([len(lab)]) + lab
    return out + b"\x00"


def name_text(labels):
    """Presentation form with a trailing dot; odd octets as \\DDD."""
    parts = []
    for lab in labels:
        s = ""
        for c in lab:
            ch = chr(c)
            if ch.isascii() and (ch.isalnum() or ch in "-_"):
                s += ch
            else:
                s += "\\%03d" % c
        parts.append(s)
    return ".".join(parts) + "."


def labels_from_text(text):
    return [lab.encode("ascii") for lab in text.strip(".").split(".") if lab]


def parse_query(pkt):
    """RFC 1035 §4.1: header, one question (no compression in a query), then an
    optional OPT record (RFC 6891) whose COOKIE option (RFC 7873 §4) we read."""
    if len(pkt) < 12:
        raise Malformed("short")
    q = Query()
    q.id, q.flags, qd, an, ns, ar = struct.unpack("!HHHHHH", pkt[:12])
    if q.flags & QR or q.flags & OPMASK or qd != 1 or an != 0 or ns != 0:
        raise Malformed("not a standard query")
    off = 12
    start = off
    total = 0
    while True:
        if off >= len(pkt):
            raise Malformed("name runs off the end")
        n = pkt[off]
        if n & 0xC0:
            raise Malformed("pointer or bad label type in a query")
        off += 1
        if n == 0:
            break
        if off + n > len(pkt):
            raise Malformed("label runs off the end")
        q.labels.append(pkt[off:off + n])
        off += n
        total += n + 1
        if total > 254:
            raise Malformed("name too long")
    q.qname_wire = pkt[start:off]
    if off + 4 > len(pkt):
        raise Malformed("no qtype")
    q.qtype, q.qclass = struct.unpack("!HH", pkt[off:off + 4])
    off += 4
    for _ in range(ar):
        if off + 11 > len(pkt) or pkt[off] != 0:
            raise Malformed("bad additional record")
        rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", pkt[off + 1:off + 11])
        off += 11
        if off + rdlen > len(pkt):
            raise Malformed("rdata runs off the end")
        rdata = pkt[off:off + rdlen]
        off += rdlen
        if rtype != T_OPT or q.edns:
            raise Malformed("unexpected additional record")
        q.edns = True
        q.do_bit = bool(ttl & 0x8000)
        parse_options(q, rdata)
    if off != len(pkt):
        raise Malformed("trailing bytes")
    return q


def parse_options(q, rdata):
    off = 0
    while off < len(rdata):
        if off + 4 > len(rdata):
            raise Malformed("option header runs off the end")
        code, olen = struct.unpack("!HH", rdata[off:off + 4])
        off += 4
        if off + olen > len(rdata):
            raise Malformed("option runs off the end")
        val = rdata[off:off + olen]
        off += olen
        if code == OPT_COOKIE:
            # RFC 7873 §4: 8 octets of client cookie, then 8..32 of server cookie.
            if olen != 8 and not 16 <= olen <= 40:
                raise Malformed("bad cookie length")
            q.ccookie = val[:8]
            q.scookie = val[8:] if olen > 8 else None


class Forge:
    def __init__(self, args):
        self.args = args
        self.zone = [lab.lower() for lab in labels_from_text(args.zone)]
        self.true_a = socket.inet_pton(socket.AF_INET, args.true_addr)
        self.evil_a = socket.inet_pton(socket.AF_INET, args.evil_addr)
        self.true_aaaa = addr6(args.true_addr6)
        self.evil_aaaa = addr6(args.evil_addr6)
        self.poison = labels_from_text("poison." + args.zone)
        self.victim = labels_from_text("www.victim.test")
        self.secret = os.urandom(16)
        self.kinds = "" if args.honest else args.kinds
        self.stats = {
            "queries": {"udp": 0, "tcp": 0},
            "malformed": 0,
            "refused": 0,
            "forged": {k: 0 for k in KINDS},
            "forged_detail": {"g_missing_server_cookie": 0, "g_wrong_client_cookie": 0},
            "forged_total": 0,
            "answers": {"udp": 0, "tcp": 0},
            "tc": 0,
            "badcookie": 0,
            "cookies": {"none": 0, "client_only": 0, "valid": 0, "invalid": 0},
            "tcp_conns": 0,
            "tcp_conns_refused": 0,
            "send_errors": 0,
            "qtypes": {},
        }
        fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
        self.udp = socket.socket(fam, socket.SOCK_DGRAM)
        self.udp.bind((args.addr, args.port))
        self.udp.setblocking(False)
        # a: the attacker's socket on another address, same port number.
        self.alt = socket.socket(fam, socket.SOCK_DGRAM)
        self.alt.bind((args.alt_addr, args.port))
        # b: the right address, another port.
        self.other_port = socket.socket(fam, socket.SOCK_DGRAM)
        self.other_port.bind((args.addr, 0))
        self.tcp = socket.socket(fam, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((args.addr, args.port))
        self.tcp.listen(128)
        self.tcp.setblocking(False)
        self.conns = {}           # socket -> [inbuf, last activity]
        self.log = open(args.log, "w", buffering=1) if args.log else None
        self.client_ip = args.addr      # of the query being answered

    # --- names and answers -------------------------------------------------------

    def in_zone(self, lower):
        n = len(self.zone)
        return len(lower) >= n and lower[len(lower) - n:] == self.zone

    def cookie_for(self, ccookie, client_ip):
        """RFC 7873 §7.1-ish: a keyed hash of client cookie and client address."""
        h = hashlib.blake2b(key=self.secret, digest_size=16)
        h.update(ccookie)
        h.update(socket.inet_pton(socket.AF_INET6 if ":" in client_ip else socket.AF_INET,
                                  client_ip))
        return h.digest()

    def is_attacker_host(self, lower):
        """--mx: attacker.N names the attacker's own host."""
        return (self.args.mx and len(lower) > len(self.zone) and self.in_zone(lower)
                and lower[0] == ATTACKER_LABEL)

    def rdata_for(self, q, evil):
        qtype = q.qtype
        lower = q.lower_labels()
        if self.is_attacker_host(lower):
            evil = True
        if qtype == T_MX and self.args.mx:
            # RFC 1035 §3.3.9: PREFERENCE, EXCHANGE (not compressed here).
            target = name_wire([ATTACKER_LABEL if evil else MX_LABEL] + lower)
            if len(target) > 255:
                return None
            return struct.pack("!H", 10) + target
        if qtype == T_A:
            return self.evil_a if evil else self.true_a
        if qtype == T_AAAA:
            return self.evil_aaaa if evil else self.true_aaaa
        return None

    def message(self, q, *, msg_id=None, flags=None, qname_wire=None, evil=False,
                tc=False, rcode=0, cookie=None, poison=True):
        """Builds a reply to q. Every field defaults to the true answer; the forgery
        functions override exactly one. cookie: None (echo what a cookie server
        would), b"" (no COOKIE option) or the raw option value to send."""
        if msg_id is None:
            msg_id = q.id
        if flags is None:
            flags = QR | AA | RA | (q.flags & RD)
            if tc:
                flags |= TC
        if qname_wire is None:
            qname_wire = q.qname_wire
            if self.args.lowercase:
                # A server that does not preserve the case of the question (no 0x20).
                qname_wire = name_wire(q.lower_labels())
            elif self.args.upcase:
                # One that upper-cases it: differs even from what we send without 0x20.
                qname_wire = name_wire([l.upper() for l in q.lower_labels()])
        answers = []
        if not tc and rcode == 0:
            rdata = self.rdata_for(q, evil)
            if rdata is not None:
                answers.append(b"\xc0\x0c" + struct.pack("!HHIH", q.qtype, C_IN, TTL,
                                                         len(rdata)) + rdata)
            elif evil:
                rcode = RCODE_NXDOMAIN  # a forged denial for types we do not serve
        additional = []
        if poison and not self.args.honest and not tc:
            owners = [self.poison, self.victim]
            if self.args.mx and q.qtype == T_MX and len(q.labels) < 120:
                owners.append([MX_LABEL] + q.lower_labels())
            for owner in owners:
                additional.append(name_wire(owner) + struct.pack("!HHIH", T_A, C_IN, TTL, 4)
                                  + self.evil_a)
        if q.edns:
            opts = b""
            if cookie is None and self.args.cookies and q.ccookie is not None:
                cookie = q.ccookie + self.cookie_for(q.ccookie, self.client_ip)
            if cookie:
                opts = struct.pack("!HH", OPT_COOKIE, len(cookie)) + cookie
            # RFC 6891 §6.1.3: the OPT's TTL carries the upper 8 bits of a 12-bit rcode.
            ttl = (0x8000 if q.do_bit else 0) | (rcode >> 4) << 24
            additional.append(b"\x00" + struct.pack("!HHIH", T_OPT, EDNS_SIZE, ttl, len(opts))
                              + opts)
        hdr = struct.pack("!HHHHHH", msg_id, flags | (rcode & 0xF), 1, len(answers), 0,
                          len(additional))
        return (hdr + qname_wire + struct.pack("!HH", q.qtype, q.qclass) + b"".join(answers)
                + b"".join(additional))

    # --- the forgeries: one defect each --------------------------------------------

    def forge_a_wrong_address(self, q, peer):
        self.send(self.alt, self.message(q, evil=True), peer)

    def forge_b_wrong_port(self, q, peer):
        self.send(self.other_port, self.message(q, evil=True), peer)

    def forge_c_wrong_id(self, q, peer):
        wrong = q.id ^ rng.randrange(1, 0x10000)
        self.send(self.udp, self.message(q, msg_id=wrong, evil=True), peer)

    def forge_d_other_question(self, q, peer):
        other = self.poison
        if [lab.lower() for lab in other] == q.lower_labels():
            other = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(16))]
            other += self.zone
        self.send(self.udp, self.message(q, qname_wire=name_wire(other), evil=True), peer)

    def forge_e_other_case(self, q, peer):
        # Length octets are below 64, so every ASCII letter in the wire is in a label.
        wire = bytearray(q.qname_wire)
        letters = [i for i, c in enumerate(wire) if chr(c).isascii() and chr(c).isalpha()]
        if not letters:
            return False
        for i in rng.sample(letters, rng.randint(1, min(3, len(letters)))):
            wire[i] ^= 0x20
        self.send(self.udp, self.message(q, qname_wire=bytes(wire), evil=True), peer)
        return True

    def forge_f_not_response(self, q, peer):
        flags = AA | RA | (q.flags & RD)
        self.send(self.udp, self.message(q, flags=flags, evil=True), peer)

    def forge_g_cookie(self, q, peer):
        if not self.args.cookies or not q.edns or q.ccookie is None:
            return False
        if q.scookie is not None:
            # The resolver has our cookie: a reply without it must be dropped.
            self.stats["forged_detail"]["g_missing_server_cookie"] += 1
            cookie = q.ccookie
        else:
            wrong = bytearray(q.ccookie)
            wrong[rng.randrange(8)] ^= rng.randrange(1, 256)
            self.stats["forged_detail"]["g_wrong_client_cookie"] += 1
            cookie = bytes(wrong) + self.cookie_for(q.ccookie, self.client_ip)
        self.send(self.udp, self.message(q, cookie=cookie, evil=True), peer)
        return True

    # --- transports ----------------------------------------------------------------

    def send(self, sock, data, peer):
        try:
            sock.sendto(data, peer)
        except OSError:
            self.stats["send_errors"] += 1

    def note_cookie(self, q, client_ip):
        c = self.stats["cookies"]
        if q.ccookie is None:
            c["none"] += 1
        elif q.scookie is None:
            c["client_only"] += 1
        elif q.scookie == self.cookie_for(q.ccookie, client_ip):
            c["valid"] += 1
        else:
            # RFC 7873 §5.2.3: treat as client-only and hand out a fresh cookie.
            c["invalid"] += 1

    def count_qtype(self, q):
        name = QTYPE_NAMES.get(q.qtype, str(q.qtype))
        self.stats["qtypes"][name] = self.stats["qtypes"].get(name, 0) + 1

    def handle_udp(self, pkt, peer):
        try:
            q = parse_query(pkt)
        except Malformed:
            self.stats["malformed"] += 1
            return
        self.stats["queries"]["udp"] += 1
        self.count_qtype(q)
        self.client_ip = peer[0]
        if self.log:
            self.log.write("%d %d %s %d\n" % (q.id, peer[1], name_text(q.labels), q.qtype))
        self.note_cookie(q, peer[0])
        lower = q.lower_labels()
        if q.qclass != C_IN or not self.in_zone(lower):
            self.stats["refused"] += 1
            self.send(self.udp, self.message(q, rcode=RCODE_REFUSED, poison=False), peer)
            return
        forgeries = {
            "a": self.forge_a_wrong_address,
            "b": self.forge_b_wrong_port,
            "c": self.forge_c_wrong_id,
            "d": self.forge_d_other_question,
            "e": self.forge_e_other_case,
            "f": self.forge_f_not_response,
            "g": self.forge_g_cookie,
        }
        order = list(self.kinds)
        if self.args.shuffle:
            rng.shuffle(order)
        for k in order:
            if forgeries[k](q, peer) is not False:
                self.stats["forged"][k] += 1
                self.stats["forged_total"] += 1
        if self.badcookie(q, lower):
            self.stats["badcookie"] += 1
            cookie = b"" if self.args.badcookie == "bare" else None
            self.send(self.udp, self.message(q, rcode=RCODE_BADCOOKIE, poison=False,
                                             cookie=cookie), peer)
            return
        tc = self.args.tc_names and lower[0].startswith(b"tc")
        self.send(self.udp, self.message(q, tc=tc), peer)
        if tc:
            self.stats["tc"] += 1
        else:
            self.stats["answers"]["udp"] += 1

    def badcookie(self, q, lower):
        """Whether this UDP query gets BADCOOKIE instead of an answer (--badcookie)."""
        if self.args.badcookie in ("always", "bare"):
            return lower[0].startswith(b"bc")
        if self.args.badcookie == "require" and q.edns and q.ccookie is not None:
            return q.scookie != self.cookie_for(q.ccookie, self.client_ip)
        return False

    def answer_tcp(self, sock, pkt):
        try:
            q = parse_query(pkt)
        except Malformed:
            self.stats["malformed"] += 1
            return False
        self.stats["queries"]["tcp"] += 1
        self.count_qtype(q)
        try:
            self.client_ip = sock.getpeername()[0]
        except OSError:
            return False
        self.note_cookie(q, self.client_ip)
        if q.qclass != C_IN or not self.in_zone(q.lower_labels()):
            self.stats["refused"] += 1
            out = self.message(q, rcode=RCODE_REFUSED, poison=False)
        else:
            out = self.message(q)
            self.stats["answers"]["tcp"] += 1
        try:
            sock.settimeout(2.0)
            sock.sendall(struct.pack("!H", len(out)) + out)
            sock.setblocking(False)
        except OSError:
            self.stats["send_errors"] += 1
            return False
        return True

    def accept_tcp(self):
        try:
            sock, _ = self.tcp.accept()
        except OSError:
            return
        if len(self.conns) >= TCP_MAX_CONNS:
            self.stats["tcp_conns_refused"] += 1
            sock.close()
            return
        sock.setblocking(False)
        self.stats["tcp_conns"] += 1
        self.conns[sock] = [b"", time.monotonic()]

    def read_tcp(self, sock):
        state = self.conns[sock]
        try:
            data = sock.recv(65537)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close_tcp(sock)
            return
        state[0] += data
        state[1] = time.monotonic()
        buf = state[0]
        while len(buf) >= 2:
            n = struct.unpack("!H", buf[:2])[0]
            if len(buf) < 2 + n:
                break
            if not self.answer_tcp(sock, buf[2:2 + n]):
                self.close_tcp(sock)
                return
            buf = buf[2 + n:]
        if len(buf) > TCP_MAX_BUFFER:
            self.close_tcp(sock)
            return
        state[0] = buf

    def close_tcp(self, sock):
        self.conns.pop(sock, None)
        sock.close()

    # --- main loop ---------------------------------------------------------------------

    def write_stats(self):
        if not self.args.stats:
            return
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats, f, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.args.stats)

    def run(self, stop):
        end = time.monotonic() + self.args.max_seconds
        next_stats = 0.0
        while not stop and time.monotonic() < end:
            now = time.monotonic()
            if now >= next_stats:
                self.write_stats()
                next_stats = now + 1.0
            for sock in [s for s, st in self.conns.items() if now - st[1] > TCP_IDLE_SECONDS]:
                self.close_tcp(sock)
            socks = [self.udp, self.tcp] + list(self.conns)
            try:
                readable, _, _ = select.select(socks, [], [], 0.2)
            except InterruptedError:
                continue
            for sock in readable:
                if sock is self.udp:
                    for _ in range(UDP_BATCH):
                        try:
                            pkt, peer = self.udp.recvfrom(65535)
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            break
                        self.handle_udp(pkt, peer)
                elif sock is self.tcp:
                    self.accept_tcp()
                elif sock in self.conns:
                    self.read_tcp(sock)
        self.write_stats()


def main():
    ap = argparse.ArgumentParser(description="forging DNS server for resolver tests")
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--alt-addr", default="127.0.0.2",
                    help="attacker address forgery a is sent from (same port)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--zone", default="forge.test")
    ap.add_argument("--true-addr", default="192.0.2.1")
    ap.add_argument("--evil-addr", default="198.51.100.66")
    ap.add_argument("--true-addr6", default="2001:db8::1", help='"none": no AAAA')
    ap.add_argument("--evil-addr6", default="2001:db8:bad::66", help='"none": no AAAA')
    ap.add_argument("--mx", action="store_true",
                    help="MX mode: N MX 10 mx.N, forgeries name attacker.N")
    ap.add_argument("--kinds", default=KINDS, help="forgeries to send (subset of abcdefg)")
    ap.add_argument("--shuffle", action="store_true", help="forgeries in random order")
    ap.add_argument("--cookies", action="store_true", help="act as an RFC 7873 server")
    ap.add_argument("--tc-names", action="store_true", help="TC=1 over UDP for tc* names")
    ap.add_argument("--badcookie", choices=["require", "always", "bare"],
                    help="BADCOOKIE over UDP: without a valid server cookie, or for bc* "
                    "names (bare: with no COOKIE option)")
    ap.add_argument("--honest", action="store_true", help="no forgeries, no poison")
    ap.add_argument("--upcase", action="store_true",
                    help="echo the question in upper case")
    ap.add_argument("--lowercase", action="store_true",
                    help="echo the question in lower case, as servers without 0x20 do")
    ap.add_argument("--stats", help="JSON counters, rewritten every second and at exit")
    ap.add_argument("--log", help="one line per UDP query: id sport qname qtype")
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args()
    if any(k not in KINDS for k in args.kinds):
        ap.error("--kinds takes letters from " + KINDS)

    forge = Forge(args)
    stop = []

    def on_term(_signum, _frame):
        stop.append(True)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    forge.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
