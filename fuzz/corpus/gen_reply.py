#!/usr/bin/env python3
"""gen_reply.py - writes seed inputs for fuzz_smtp_reply into fuzz/corpus/smtp_reply/.

Input format (see fuzz/fuzz_smtp_reply.c): server output as the client reads it, lines
separated by CRLF; a completed or refused reply is followed by the next one. Seeds are
named seed-NAME so they sort apart from files libFuzzer found. No network. Run from
anywhere:
    python3 fuzz/corpus/gen_reply.py
Existing seed files with the same names are overwritten; other files are left alone.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "smtp_reply")

EHLO = (b"250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
        b"250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
        b"250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n")

SEEDS = {
    "greeting": b"220 mx.example.org ESMTP Postfix\r\n",
    "ehlo": EHLO,
    "session": b"220 mx ESMTP\r\n" + EHLO + b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
               b"354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as 4XyZ\r\n"
               b"221 2.0.0 Bye\r\n",
    "rcpt-mixed": b"250 2.1.5 Ok\r\n450 4.2.1 <a@b>: try later\r\n"
                  b"550 5.1.1 <c@d>: Recipient address rejected: User unknown\r\n",
    "multiline-enh": b"550-5.7.1 Service unavailable; client [192.0.2.1] blocked\r\n"
                     b"550-5.7.1 using zen.example; see https://example/lookup\r\n"
                     b"550 5.7.1 bye\r\n",
    "no-text": b"250\r\n250 \r\n250-\r\n250\r\n",
    "greeting-421": b"421 4.3.2 Service shutting down\r\n",
    "greeting-554": b"554 5.7.1 no service for you\r\n",
    "enh-edge": b"452 4.999.999 x\r\n550 4.1.1 wrong class\r\n354 3.0.0 no\r\n"
                b"550 5.1.1x\r\n550 5.1.\r\n250 2.0.0\r\n",
    "code-change": b"250-a\r\n251 b\r\n250 ok\r\n",
    "bad-codes": b"150 x\r\n650 x\r\n260 x\r\n25\r\n2a0 x\r\n250x\r\n",
    "control": b"250 a\x01b\r\n250 a\x7f\r\n250 a\tb\r\n250 \x1b[31mred\r\n",
    "nul": b"250 a\x00b\r\n250 ok\r\n",
    "bare-lf": b"250-a\n250 b\r\n250 c\rd\r\n",
    "utf8": "250 caf\u00e9 d\u00e9j\u00e0 vu\r\n".encode(),
    "long-510": b"250 " + b"x" * 506 + b"\r\n",
    "long-511": b"250 " + b"x" * 507 + b"\r\n250 ok\r\n",
    "lines-100": b"250-x\r\n" * 99 + b"250 y\r\n",
    "lines-101": b"250-x\r\n" * 100 + b"250 y\r\n",
    "text-cut": (b"250-" + b"y" * 506 + b"\r\n") * 5 + b"250 " + b"z" * 506 + b"\r\n",
    "after-end": b"250 a\r\n250 b\r\n",
    "unterminated": b"250-a\r\n250-b",
}


def main():
    os.makedirs(DIR, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(DIR, "seed-" + name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), DIR))


if __name__ == "__main__":
    main()
