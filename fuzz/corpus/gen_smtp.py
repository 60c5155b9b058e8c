#!/usr/bin/env python3
"""gen_smtp.py - writes seed inputs for fuzz_smtp_data, fuzz_smtp_path and fuzz_smtp_cmd into
fuzz/corpus/smtp_data/, smtp_path/ and smtp_cmd/.

Seeds are named seed-NAME so they sort apart from files libFuzzer found (named by their
SHA-1; for smtp_cmd, "packed-..." files are fuzzer finds joined into CRLF-separated
sessions so that fewer than 100 files reach every branch). No network. Run from anywhere:
    python3 fuzz/corpus/gen_smtp.py
Existing seed files with the same names are overwritten; other files are left alone.

Input formats (see the targets' header comments):
  smtp_data: one control octet (bit 7: use a small size limit, bits 0-5 pick it), then the
             octets that follow the 354 reply;
  smtp_path: one flag octet (bit 0 allow_null, bit 1 utf8_ok, bit 2 postmaster), then the
             path text;
  smtp_cmd:  one flag octet (bit 0 utf8_ok), then command lines separated by CRLF.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(sub, name, data):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


DATA = {
    "empty": b".\r\n",
    "simple": b"From: a@b\r\nSubject: hi\r\n\r\nbody\r\n.\r\n",
    "stuffed": b"..\r\n.x\r\n...\r\n.\r\n",
    "pipelined": b"a\r\n.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\n",
    "smuggle-lf-crlf": b"a\r\n\n.\r\nMAIL FROM:<e@x>\r\n.\r\n",
    "smuggle-cr-cr": b"a\r.\rMAIL FROM:<e@x>\r\n.\r\n",
    "smuggle-lf-lf": b"a\n.\nMAIL FROM:<e@x>\r\n.\r\n",
    "smuggle-crlf-lf": b"a\r\n.\nMAIL FROM:<e@x>\r\n.\r\n",
    "smuggle-crlf-cr": b"a\r\n.\rMAIL\r\n.\r\n",
    "bare-cr-crlf": b"a\r\r\n.\r\n",
    "eightbit": "Subject: caf\u00e9\r\n\r\n\u00fcber\r\n.\r\n".encode(),
    "long-ok": b"x" * 998 + b"\r\n.\r\n",
    "long-bad": b"x" * 999 + b"\r\n.\r\n",
    "long-stuffed": b"." + b"y" * 998 + b"\r\n.\r\n",
    "nul": b"a\x00b\r\n.\r\n",
    "open": b"abc\r\n.\r",
}


def data_seeds():
    for name, body in DATA.items():
        write("smtp_data", name, b"\x00" + body)
    # With a small limit (control 0x80 | k: limit k*37+1 octets).
    write("smtp_data", "limit-1", b"\x80" + b"\r\n.\r\n")
    write("smtp_data", "limit-38", b"\x81" + b"a" * 36 + b"\r\n.\r\n")
    write("smtp_data", "limit-38-over", b"\x81" + b"a" * 37 + b"\r\n.\r\n")
    # Found by the fuzzer: "\n.\r\n" right at the start once crashed the reference model.
    write("smtp_data", "lf-dot-at-start", b"\x0d\n.\r\n")


NUL, UTF, PM = 1, 2, 4
PATHS = {
    "plain": (0, b"<user@example.org>"),
    "null": (NUL, b"<>"),
    "null-params": (NUL, b"<> SIZE=100"),
    "quoted": (0, b'<"a b\\"c"@example.org>'),
    "quoted-specials": (0, b'<"(x);|&$`<>@"@x>'),
    "route": (0, b"<@r1.example,@r2.example:u@x.example>"),
    "ipv4": (0, b"<u@[192.0.2.1]>"),
    "ipv6": (0, b"<u@[IPv6:2001:db8::1]>"),
    "ipv6-mapped": (0, b"<u@[IPv6:::ffff:192.0.2.1]>"),
    "general-literal": (0, b"<u@[x-tag:stuff]>"),
    "postmaster": (PM, b"<Postmaster>"),
    "utf8": (UTF, "<j\u00f6s\u00e9@ex\u00e4mple.org>".encode()),
    "utf8-cjk": (UTF, "<\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a>".encode()),
    "utf8-denied": (0, "<j\u00f6s\u00e9@example.org>".encode()),
    "overlong": (UTF, b"<\xc0\xaf@x>"),
    "surrogate": (UTF, b"<\xed\xa0\x80@x>"),
    "c1": (UTF, b"<\xc2\x85@x>"),
    "long-local": (0, b"<" + b"l" * 65 + b"@x>"),
    "long-path": (0, b"<l@" + b".".join([b"a" * 63] * 3) + b"." + b"a" * 60 + b">"),
    "bad-label": (0, b"<a@-b.c>"),
    "mixed-case": (0, b"<Mixed.Case@EXAMPLE.Org>"),
    "needs-quote": (0, b'<".a..b."@x>'),
}


def path_seeds():
    for name, (flags, text) in PATHS.items():
        write("smtp_path", name, bytes([flags]) + text)


CMDS = {
    "helo": b"HELO example.org",
    "ehlo": b"EHLO mx.example.org",
    "ehlo-v4": b"EHLO [192.0.2.1]",
    "ehlo-v6": b"ehlo [IPv6:2001:db8::1]",
    "ehlo-bad": b"EHLO bad_name.",
    "mail": b"MAIL FROM:<a@example.org>",
    "mail-space": b"mail from: <A@Example.ORG>",
    "mail-null": b"MAIL FROM:<> SIZE=0",
    "mail-all": b"MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=q+2B1 AUTH=<>",
    "mail-auth": b"MAIL FROM:<a@b> AUTH=user+40example.org",
    "mail-size-big": b"MAIL FROM:<a@b> SIZE=99999999999999999999",
    "mail-utf8": "MAIL FROM:<j\u00f6s\u00e9@ex\u00e4mple.org> SMTPUTF8".encode(),
    "mail-unknown": b"MAIL FROM:<a@b> XFOO=1",
    "mail-dup": b"MAIL FROM:<a@b> SIZE=1 size=2",
    "mail-route": b"MAIL FROM:<@r1,@r2:\"q \\\"x\"@[IPv6:::1]>",
    "rcpt": b"RCPT TO:<user@example.org>",
    "rcpt-pm": b"RCPT TO:<Postmaster>",
    "rcpt-dsn": b"RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;a+2Bb@c",
    "rcpt-never": b"RCPT TO:<a@b> NOTIFY=NEVER ORCPT=utf-8;j+C3+B6@x",
    "data": b"DATA",
    "rset": b"RSET ",
    "quit": b"QUIT",
    "starttls": b"STARTTLS",
    "noop": b"NOOP hello",
    "vrfy": b"VRFY postmaster",
    "expn": b"EXPN staff",
    "help": b"HELP",
    "bdat": b"BDAT 4096",
    "bdat-last": b"BDAT 0 LAST",
    "auth": b"AUTH PLAIN AHVzZXIAcGFzcw==",
    "auth-login": b"auth login",
    "auth-eq": b"AUTH PLAIN =",
    "nul": b"HELO x\x00y",
    "smuggle": b"RSET\nMAIL FROM:<e@x>",
}


def cmd_seeds():
    for name, line in CMDS.items():
        write("smtp_cmd", name, b"\x00" + line)
    write("smtp_cmd", "rcpt-utf8", b"\x01" + "RCPT TO:<\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a>".encode())
    write("smtp_cmd", "long", b"\x00" + b"NOOP " + b"x" * 4089)
    # A whole session: lines split at CRLF, SMTPUTF8 on MAIL carries over to RCPT.
    write("smtp_cmd", "session", b"\x00" + b"\r\n".join([
        b"EHLO client.example", b"MAIL FROM:<a@b> SMTPUTF8 BODY=8BITMIME",
        "RCPT TO:<\u00fc@b> NOTIFY=SUCCESS".encode(), b"RCPT TO:<postmaster>", b"DATA",
        b"RSET", b"MAIL FROM:<a@b>", "RCPT TO:<\u00fc@b>".encode(), b"BDAT 10 LAST",
        b"AUTH PLAIN =", b"QUIT"]))
    write("smtp_cmd", "bare-cr-lf", b"\x00" + b"RSET\nMAIL FROM:<e@x>\r\nNOOP\rx\r\n\r\n")


if __name__ == "__main__":
    data_seeds()
    path_seeds()
    cmd_seeds()
