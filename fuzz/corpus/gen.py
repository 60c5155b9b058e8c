#!/usr/bin/env python3
"""gen.py - writes seed inputs for fuzz_dns_msg into fuzz/corpus/dns_msg/.

Seeds are real-looking responses built here with name compression (an encoder independent
of src/dns), plus the malformed shapes the parser must refuse: pointer loops, forward
pointers, truncations, bad counts, OPT and cookie errors. No network. Run from anywhere:
    python3 fuzz/corpus/gen.py
Existing files with the same names are overwritten; other files are left alone.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dns_msg")

T = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
     "AAAA": 28, "OPT": 41, "DS": 43, "TLSA": 52, "CAA": 257}


def labels(name):
    """'www.mx.test.' -> [b'www', b'mx', b'test'] (no escapes needed here)."""
    name = name.rstrip(".")
    return [] if name == "" else [p.encode() for p in name.split(".")]


class Msg:
    """A message builder that compresses names the way a typical server does."""

    def __init__(self, id_, flags, compress=True):
        self.id = id_
        self.flags = flags
        self.counts = [0, 0, 0, 0]
        self.body = bytearray()
        self.compress = compress
        self.seen = {}

    def name(self, name, buf=None, base=None):
        buf = self.body if buf is None else buf
        base = 12 + len(self.body) if base is None else base
        labs = labels(name)
        out = bytearray()
        for i in range(len(labs)):
            key = b".".join(labs[i:]).lower()
            if self.compress and key in self.seen:
                out += struct.pack(">H", 0xC000 | self.seen[key])
                buf += out
                return
            off = base + len(out)
            if off < 0x3FFF:
                self.seen.setdefault(key, off)
            out += bytes([len(labs[i])]) + labs[i]
        out += b"\0"
        buf += out

    def question(self, name, qtype, qclass=1):
        self.name(name)
        self.body += struct.pack(">HH", T.get(qtype, qtype) if isinstance(qtype, str) else qtype, qclass)
        self.counts[0] += 1

    def rr(self, sect, owner, rtype, ttl, rdata, rclass=1):
        """rdata: bytes, or a function(base) -> bytes writing names with compression."""
        self.name(owner)
        t = T[rtype] if isinstance(rtype, str) else rtype
        self.body += struct.pack(">HHI", t, rclass, ttl)
        lenpos = len(self.body)
        self.body += b"\0\0"
        if callable(rdata):
            rdata(self)
        else:
            self.body += rdata
        struct.pack_into(">H", self.body, lenpos, len(self.body) - lenpos - 2)
        self.counts[1 + sect] += 1

    def opt(self, udp=1232, ttl=0x8000, options=b""):
        self.body += b"\0" + struct.pack(">HHIH", 41, udp, ttl, len(options)) + options
        self.counts[3] += 1

    def wire(self):
        return struct.pack(">HHHHHH", self.id, self.flags, *self.counts) + bytes(self.body)


def a(s):
    return bytes(int(x) for x in s.split("."))


def aaaa(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def nm(name):
    return lambda m: m.name(name)


def mx(pref, name):
    def f(m):
        m.body += struct.pack(">H", pref)
        m.name(name)
    return f


def soa(mname, rname, *nums):
    def f(m):
        m.name(mname)
        m.name(rname)
        m.body += struct.pack(">5I", *nums)
    return f


def txt(*strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


def cookie(client, server=b""):
    data = client + server
    return struct.pack(">HH", 10, len(data)) + data


CC = bytes.fromhex("0102030405060708")
SC = bytes.fromhex("1112131415161718191a1b1c1d1e1f20")


def seeds():
    s = {}
    m = Msg(0x1267, 0x81A0)
    m.question("mx.test.", "MX")
    m.rr(0, "mx.test.", "MX", 300, mx(10, "mx1.mx.test."))
    m.rr(0, "mx.test.", "MX", 300, mx(20, "mx2.mx.test."))
    m.rr(1, "mx.test.", "NS", 3600, nm("ns1.mx.test."))
    m.rr(2, "mx1.mx.test.", "A", 300, a("192.0.2.10"))
    m.rr(2, "mx1.mx.test.", "AAAA", 300, aaaa("2001:db8::10"))
    m.rr(2, "mx2.mx.test.", "A", 300, a("192.0.2.20"))
    m.opt(options=cookie(CC, SC))
    s["mx_full"] = m.wire()

    m = Msg(0x1267, 0x81A0, compress=False)
    m.question("mx.test.", "MX")
    m.rr(0, "mx.test.", "MX", 300, mx(10, "mx1.mx.test."))
    s["mx_uncompressed"] = m.wire()

    m = Msg(0x0042, 0x8183)
    m.question("nope.mx.test.", "A")
    m.rr(1, "mx.test.", "SOA", 300, soa("ns1.mx.test.", "hostmaster.mx.test.",
                                        2024010101, 7200, 3600, 1209600, 300))
    m.opt(ttl=0)
    s["nxdomain_soa"] = m.wire()

    m = Msg(0x0043, 0x8180)
    m.question("www.mx.test.", "A")
    m.rr(0, "www.mx.test.", "CNAME", 60, nm("web.mx.test."))
    m.rr(0, "web.mx.test.", "CNAME", 60, nm("cdn.example."))
    m.rr(0, "cdn.example.", "A", 20, a("198.51.100.7"))
    s["cname_chain"] = m.wire()

    m = Msg(0x0044, 0x8180)
    m.question("_25._tcp.mx1.mx.test.", "TLSA")
    m.rr(0, "_25._tcp.mx1.mx.test.", "TLSA", 300, bytes([3, 1, 1]) + bytes(range(32)))
    m.rr(0, "_25._tcp.mx1.mx.test.", "TLSA", 300, bytes([2, 0, 0]))
    s["tlsa"] = m.wire()

    m = Msg(0x0045, 0x8180)
    m.question("mx.test.", "TXT")
    m.rr(0, "mx.test.", "TXT", 300, txt(b"v=spf1 -all"))
    m.rr(0, "mx.test.", "TXT", 300, txt(b"a\"b\\c", b"", b"\x00\xff\x7f"))
    s["txt"] = m.wire()

    m = Msg(0x0046, 0x8180)
    m.question("10.2.0.192.in-addr.arpa.", "PTR")
    m.rr(0, "10.2.0.192.in-addr.arpa.", "PTR", 300, nm("mx1.mx.test."))
    s["ptr"] = m.wire()

    m = Msg(0x0047, 0x8180)
    m.question("mx.test.", "MX")
    m.rr(0, "mx.test.", "MX", 300, mx(0, "."))
    s["null_mx"] = m.wire()

    m = Msg(0x0048, 0x8180)
    m.question("mx.test.", 257)
    m.rr(0, "mx.test.", "CAA", 300, b"\x00\x05issueca.test")
    m.rr(0, "mx.test.", "DS", 300, bytes.fromhex("30390802abcd"))
    m.rr(0, "mx.test.", 999, 300, b"")
    s["unknown_types"] = m.wire()

    m = Msg(0x0049, 0x8180)
    m.question("version.bind.", "TXT", 3)
    m.rr(0, "version.bind.", "TXT", 0, txt(b"mxd"), rclass=3)
    m.rr(0, "version.bind.", "A", 0, b"\x01\x02", rclass=3)
    s["chaos"] = m.wire()

    m = Msg(0x004A, 0x8182)
    m.question("mx.test.", "AAAA")
    m.opt(ttl=0x01008000, options=struct.pack(">HH", 12, 4) + b"\0\0\0\0" + cookie(CC))
    s["opt_ext_rcode"] = m.wire()

    m = Msg(0x004B, 0x0100)
    m.question("Mx.TeSt.", "MX")
    m.opt(options=cookie(CC))
    s["query_cookie"] = m.wire()

    m = Msg(0x004C, 0x8380)
    m.question("mx.test.", "MX")
    s["truncated_tc"] = m.wire()

    # Many records sharing one compressed owner: the uncompressed copy is much larger.
    m = Msg(0x004D, 0x8180)
    long = ".".join(["l" * 63] * 3) + ".xx."
    m.question(long, "A")
    for i in range(40):
        m.rr(0, long, "A", 300, a("192.0.2.%d" % i))
    s["many_long"] = m.wire()

    # Pointer chains (legal, several hops).
    m = Msg(0x004E, 0x8180)
    m.question("a.b.c.d.e.f.test.", "A")
    m.rr(0, "b.c.d.e.f.test.", "CNAME", 1, nm("x.c.d.e.f.test."))
    m.rr(0, "y.x.c.d.e.f.test.", "CNAME", 1, nm("z.y.x.c.d.e.f.test."))
    s["pointer_chain"] = m.wire()

    # Malformed shapes.
    hdr = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 0, 0, 0)
    q = b"\x02mx\x04test\x00\x00\x0f\x00\x01"
    s["bad_short_header"] = b"\x12\x34\x81\x80\x00\x00"
    s["bad_qdcount2"] = struct.pack(">HHHHHH", 1, 0x8180, 2, 0, 0, 0) + q + q
    s["bad_ptr_self"] = hdr + b"\xc0\x0c\x00\x01\x00\x01"
    s["bad_ptr_forward"] = hdr + b"\xc0\x0e\x00\x00\x01\x00\x01"
    s["bad_ptr_past_end"] = hdr + b"\xc0\xff\x00\x01\x00\x01"
    s["bad_ptr_mutual"] = (struct.pack(">HHHHHH", 1, 0x8180, 1, 1, 0, 0) +
                           b"\xc0\x12\x00\x0f\x00\x01" + b"\xc0\x0c\x00\x01\x00\x01" +
                           struct.pack(">IH", 300, 4) + a("192.0.2.1"))
    s["bad_ptr_own_labels"] = hdr + b"\x01a\xc0\x0c\x00\x01\x00\x01"
    s["bad_label64"] = hdr + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"
    s["bad_name256"] = hdr + (b"\x3f" + b"a" * 63) * 3 + b"\x3e" + b"a" * 62 + b"\x00\x00\x01\x00\x01"
    an1 = struct.pack(">HHHHHH", 0x1234, 0x8180, 0, 1, 0, 0) + b"\x02mx\x04test\x00"
    s["bad_a5"] = an1 + struct.pack(">HHIH", 1, 1, 300, 5) + b"\xc0\x00\x02\x01\x00"
    s["bad_mx_short_name"] = an1 + struct.pack(">HHIH", 15, 1, 300, 6) + b"\x00\x0a\x01a\x00\xff"
    s["bad_ancount"] = struct.pack(">HHHHHH", 0x1234, 0x8180, 0, 3, 0, 0) + \
        b"\x02mx\x04test\x00" + struct.pack(">HHIH", 1, 1, 300, 4) + a("192.0.2.1")
    s["bad_trailing"] = an1 + struct.pack(">HHIH", 1, 1, 300, 4) + a("192.0.2.1") + b"\x00"
    ar = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 0, 0, 2) + q
    opt = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)
    s["bad_two_opt"] = ar + opt + opt
    ar1 = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 0, 0, 1) + q
    s["bad_opt_owner"] = ar1 + b"\x01a\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)
    for n in (0, 7, 9, 15, 41):
        o = struct.pack(">HH", 10, n) + bytes(n)
        s["bad_cookie_%d" % n] = ar1 + b"\x00" + struct.pack(">HHIH", 41, 1232, 0, len(o)) + o
    s["bad_txt"] = an1 + struct.pack(">HHIH", 16, 1, 300, 3) + b"\x03ab"
    s["bad_soa_short"] = an1 + struct.pack(">HHIH", 6, 1, 300, 6) + b"\x00\x00\x00\x00\x00\x01"
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds()), OUT))


if __name__ == "__main__":
    main()
