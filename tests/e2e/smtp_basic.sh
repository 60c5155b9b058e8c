#!/usr/bin/env bash
# tests/e2e/smtp_basic.sh — mxd receives mail from real clients and delivers it to Maildir
# (issue 3): swaks, Python's smtplib, a raw pipelining client; every delivered file checked
# byte by byte (Return-Path, Delivered-To, Received: with the client and the queue ID, the
# body with CRLF turned into LF); the basic verbs and their enhanced status codes; 8-bit and
# UTF-8 (SMTPUTF8, BODY=8BITMIME); BDAT/CHUNKING; 60 concurrent sessions, each message
# delivered exactly once; the hop count (more than 50 Received: fields: 554 5.4.6). All on loopback, mxd on random ports, everything under TMP.
. "$(dirname "$0")/smtp_lib.sh"
smtp_init

mxd_conf basic
mxd_start
USERNEW=$(md_dir example.test user)

# --- swaks, plain ------------------------------------------------------------------------------
printf '%s\n' 'From: Sender <sender@example.org>' 'To: User <user@example.test>' \
    'Subject: swaks plain delivery' 'Message-Id: <swaks-1@client.test>' '' \
    'First line of the body.' '	a tab-indented line with trailing spaces   ' '' \
    '.a line that starts with a dot' '..two dots' 'last line' >"$TMP/swaks.exp"
# swaks ends what it sends with CRLF.CRLF itself: a file ending in a newline would gain an
# empty line. Send the text without the last newline; expect it back with one.
head -c -1 "$TMP/swaks.exp" >"$TMP/swaks.txt"
swaks --server "127.0.0.1:$M_PORT" --helo client.test --from sender@example.org \
    --to user@example.test --data "@$TMP/swaks.txt" --timeout 10 >"$TMP/swaks.out" 2>&1
ok $? "swaks: plain delivery to user@example.test succeeds" || sed 's/^/#   /' "$TMP/swaks.out"
grep -Eq '^ *<- +250 2\.0\.0 .*queued as [0-9a-f]{16}' "$TMP/swaks.out"
ok $? "swaks: the DATA reply is 250 2.0.0 with 'queued as ID'" ||
    grep '<-' "$TMP/swaks.out" | sed 's/^/#   /'
QID=$(qid_of "$TMP/swaks.out")
md_wait "$USERNEW" 1 10
ok $? "swaks: the message appears in example.test/user/new/ within 10 s"
F=$(md_grep "$USERNEW" 'swaks-1@client.test' | head -n 1)
python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path sender@example.org \
    --delivered-to user@example.test \
    --received "^Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\) by basic\\.mx\\.test \\(mxd\\) with ESMTP id $QID for <user@example\\.test>; [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}\$" \
    --body "$TMP/swaks.exp" >"$TMP/md.out" 2>&1
ok $? "swaks: Maildir file is Return-Path, Delivered-To, Received (client, queue ID), body byte-exact" ||
    sed 's/^/#   /' "$TMP/md.out"
grep -q "$QID: from=<sender@example.org>, size=[0-9]" "$M_LOG"
ok $? "log: one line for the accepted message (id, from, size)"
grep -q "$QID: to=<user@example.test>, relay=local, delay=[0-9.]*, dsn=2\.[0-9.]*, status=sent" "$M_LOG"
ok $? "log: one line for the delivery (id, to, dsn, status)" || mxd_log_tail 10
grep -q "connect from 127\.0\.0\.1" "$M_LOG"
ok $? "log: one line per connection"
queue_settle 10
[ ! -e "$M_SPOOL/queue/$QID" ]
ok $? "the delivered message left the queue"

# --- smtplib ----------------------------------------------------------------------------------
pyok "smtplib: EHLO, MAIL, RCPT, DATA -> 250 queued as ID" <<'EOF'
import os, smtplib
s = smtplib.SMTP("127.0.0.1", int(os.environ["M_PORT"]), local_hostname="py.client.test", timeout=10)
code, _ = s.ehlo()
assert code == 250, code
for ext in ("pipelining", "size", "8bitmime", "smtputf8", "chunking", "dsn", "enhancedstatuscodes", "starttls"):
    assert s.has_extn(ext), "EHLO does not offer " + ext
assert not s.has_extn("auth"), "AUTH offered on the MX port"
assert s.mail("py@example.org")[0] == 250
assert s.rcpt("user2@example.test")[0] == 250
# A str message: smtplib turns its bare LFs into CRLF (bytes are sent as they are).
code, resp = s.data("Subject: smtplib plain\r\nMessage-Id: <py-1@client.test>\r\n\r\nHello from smtplib.\r\nBare LF here\nbecomes CRLF in smtplib.\r\n")
assert code == 250 and b"queued as" in resp, (code, resp)
print(resp.decode().split()[-1])
s.quit()
EOF
QID2=$(printf '%s\n' "$PYOUT" | tail -n 1)
md_wait "$(md_dir example.test user2)" 1 10
printf 'Subject: smtplib plain\nMessage-Id: <py-1@client.test>\n\nHello from smtplib.\nBare LF here\nbecomes CRLF in smtplib.\n' >"$TMP/py1.txt"
F=$(md_grep "$(md_dir example.test user2)" 'py-1@client.test' | head -n 1)
python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path py@example.org \
    --delivered-to user2@example.test \
    --received "^Received: from py\\.client\\.test \\(\\[127\\.0\\.0\\.1\\]\\) by basic\\.mx\\.test \\(mxd\\) with ESMTP id $QID2 for <user2@example\\.test>;" \
    --body "$TMP/py1.txt" >"$TMP/md.out" 2>&1
ok $? "smtplib: delivered byte-exact with Received: naming py.client.test and $QID2" ||
    sed 's/^/#   /' "$TMP/md.out"

pyok "smtplib: HELO (no ESMTP) is accepted; Received: says 'with SMTP'" <<'EOF'
import os, smtplib
s = smtplib.SMTP("127.0.0.1", int(os.environ["M_PORT"]), local_hostname="helo.client.test", timeout=10)
code, resp = s.helo()
assert code == 250, (code, resp)
code, resp = s.docmd("MAIL FROM:<h@example.org> SIZE=100")
assert code == 555 and resp.startswith(b"5.5.4"), ("ESMTP parameter after HELO", code, resp)
assert s.mail("h@example.org")[0] == 250
assert s.rcpt("helo@example.test")[0] == 250
code, resp = s.data(b"Subject: helo\r\n\r\nhelo body\r\n")
assert code == 250, (code, resp)
s.quit()
EOF
md_wait "$(md_dir example.test helo)" 1 10
grep -q 'by basic\.mx\.test (mxd) with SMTP id' "$(md_dir example.test helo)"/* 2>/dev/null
ok $? "HELO session: delivered, Received: says 'with SMTP'"

pyok "smtplib: several RCPTs, one refused; the others get the message" <<'EOF'
import os, smtplib
s = smtplib.SMTP("127.0.0.1", int(os.environ["M_PORT"]), local_hostname="multi.client.test", timeout=10)
refused = s.sendmail("multi@example.org", ["r1@example.test", "r2@example.test", "bad@@example.test", "R3@Example.TEST"],
                     b"Subject: several recipients\r\nMessage-Id: <multi@client.test>\r\n\r\nto three\r\n")
assert list(refused) == ["bad@@example.test"], refused
code, resp = refused["bad@@example.test"]
assert 500 <= code < 600 and resp[:2] == b"5.", (code, resp)
s.quit()
EOF
md_wait "$(md_dir example.test r1)" 1 10 && md_wait "$(md_dir example.test r2)" 1 10 &&
    md_wait "$(md_dir example.test r3)" 1 10
ok $? "several RCPTs: r1, r2 and R3@Example.TEST (lower-cased mailbox) each got it"
F=$(md_grep "$(md_dir example.test r3)" 'multi@client.test' | head -n 1)
head -n 2 "${F:-/dev/null}" | tail -n 1 | grep -qx 'Delivered-To: R3@example.test'
ok $? "Delivered-To keeps the local part's case, domain lower-cased" ||
    head -n 3 "${F:-/dev/null}" | sed 's/^/#   /'

# --- raw pipelining (RFC 2920) ------------------------------------------------------------------
session "pipelining: MAIL, 4 RCPTs and DATA in one packet get 6 replies in order" \
    greet send='EHLO pipe.client.test\r\n' reply=250 \
    send='MAIL FROM:<pipe@example.org>\r\nRCPT TO:<p1@example.test>\r\nRCPT TO:<p2@example.test>\r\nRCPT TO:<"bad>\r\nRCPT TO:<p3@example.test>\r\nDATA\r\n' \
    reply='250 2.1.0' reply='250 2.1.5' reply='250 2.1.5' reply=5 reply='250 2.1.5' reply=354 \
    send='Subject: pipelined\r\nMessage-Id: <pipe@client.test>\r\n\r\n..dot-stuffed\r\n.\r\nQUIT\r\n' \
    reply='250 2.0.0' reply=221 eof
md_wait "$(md_dir example.test p3)" 1 10
F=$(md_grep "$(md_dir example.test p3)" 'pipe@client.test' | head -n 1)
printf 'Subject: pipelined\nMessage-Id: <pipe@client.test>\n\n.dot-stuffed\n' >"$TMP/pipe.txt"
python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path pipe@example.org \
    --delivered-to p3@example.test --received "with ESMTP id [0-9a-f]{16};" \
    --body "$TMP/pipe.txt" >"$TMP/md.out" 2>&1
ok $? "pipelining: delivered, dot-stuffing removed" || sed 's/^/#   /' "$TMP/md.out"

# --- verbs and enhanced status codes ------------------------------------------------------------
session "verbs: NOOP, RSET, VRFY 252, EXPN 502, HELP 214, unknown 500, sequence errors 503" \
    greet send='MAIL FROM:<a@example.org>\r\n' reply='503 5.5.1' \
    send='EHLO verbs.client.test\r\n' reply=250 \
    send='NOOP\r\n' reply='250 2.0.0' send='RCPT TO:<user@example.test>\r\n' reply='503 5.5.1' \
    send='DATA\r\n' reply='503 5.5.1' send='VRFY user\r\n' reply='252 2.' \
    send='EXPN staff\r\n' reply='502 5.' send='HELP\r\n' reply='214 2.' \
    send='FROB\r\n' reply='500 5.5.2' send='MAIL FROM:<a@example.org>\r\n' reply='250 2.1.0' \
    send='MAIL FROM:<b@example.org>\r\n' reply='503 5.5.1' send='DATA\r\n' reply=5 \
    send='RSET\r\n' reply='250 2.0.0' send='RCPT TO:<user@example.test>\r\n' reply='503 5.5.1' \
    send='mail from:<>\r\n' reply='250 2.1.0' send='rcpt to:<user@example.test>\r\n' reply='250 2.1.5' \
    send='RSET\r\n' reply=250 send='QUIT\r\n' reply='221 2.0.0' eof
# RFC 2034: every reply but the greeting and the EHLO reply carries an enhanced status code.
bad=$(grep '^S: [0-9]' "$LAST" | sed 's/^S: //' | grep -v '^220 ' | grep -v '^250-\|^250 ENHANCEDSTATUSCODES' |
    grep -Ev '^[2-5][0-9][0-9][ -][245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)')
is "$bad" "" "every reply after EHLO carries an enhanced status code (RFC 2034)"

# --- 8-bit and UTF-8 ---------------------------------------------------------------------------
session "SMTPUTF8: MAIL FROM:<ü@example.test> SMTPUTF8 and RCPT TO:<ü@example.test> accepted" \
    greet send='EHLO utf8.client.test\r\n' reply=250 \
    send='MAIL FROM:<ü@example.test> SMTPUTF8 BODY=8BITMIME\r\n' reply='250 2.1.0' \
    send='RCPT TO:<jürgen@example.test>\r\n' reply='250 2.1.5' send='DATA\r\n' reply=354 \
    send='Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nMessage-Id: <utf8@client.test>\r\n\r\nGrüße, ça va? 日本語\r\n\xe9\xff latin-1 octets\r\n.\r\n' \
    reply='250 2.0.0' send='QUIT\r\n' reply=221
QIDU=$(qid_of "$LAST")
md_wait "$(md_dir example.test jürgen)" 1 10
F=$(md_grep "$(md_dir example.test jürgen)" 'utf8@client.test' | head -n 1)
printf 'Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\nMessage-Id: <utf8@client.test>\n\nGrüße, ça va? 日本語\n\xe9\xff latin-1 octets\n' >"$TMP/utf8.txt"
python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path ü@example.test \
    --delivered-to jürgen@example.test --received "with UTF8SMTP id $QIDU for <jürgen@example\\.test>;" \
    --body "$TMP/utf8.txt" >"$TMP/md.out" 2>&1
ok $? "SMTPUTF8 + 8BITMIME: delivered to example.test/jürgen/ byte-exact, 'with UTF8SMTP'" ||
    sed 's/^/#   /' "$TMP/md.out"
session "UTF-8 address without SMTPUTF8 is refused (MAIL and RCPT)" \
    greet send='EHLO utf8.client.test\r\n' reply=250 \
    send='MAIL FROM:<ü@example.test>\r\n' reply=5 \
    send='MAIL FROM:<plain@example.org>\r\n' reply='250 2.1.0' \
    send='RCPT TO:<jürgen@example.test>\r\n' reply=5 send='QUIT\r\n' reply=221
session "SMTPUTF8 after HELO (no ESMTP) is refused" \
    greet send='HELO utf8.client.test\r\n' reply=250 \
    send='MAIL FROM:<ü@example.test> SMTPUTF8\r\n' reply=5 send='QUIT\r\n' reply=221
session "BODY=8BITMIME with 8-bit content (no SMTPUTF8)" \
    greet send='EHLO eight.client.test\r\n' reply=250 \
    send='MAIL FROM:<eight@example.org> BODY=8BITMIME\r\n' reply='250 2.1.0' \
    send='RCPT TO:<eight@example.test>\r\n' reply=250 send='DATA\r\n' reply=354 \
    send='Subject: 8bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\x80\x81\xa0\xfe\xff caf\xe9\r\n\xc3\xa9t\xc3\xa9\r\n.\r\n' \
    reply='250 2.0.0' send='QUIT\r\n' reply=221
md_wait "$(md_dir example.test eight)" 1 10
F=$(ls "$(md_dir example.test eight)"/* 2>/dev/null | head -n 1)
printf 'Subject: 8bit\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n\x80\x81\xa0\xfe\xff caf\xe9\n\xc3\xa9t\xc3\xa9\n' >"$TMP/8bit.txt"
python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path eight@example.org \
    --delivered-to eight@example.test --received "with ESMTP id" \
    --body "$TMP/8bit.txt" >"$TMP/md.out" 2>&1
ok $? "8BITMIME: every 8-bit octet delivered byte-exact" || sed 's/^/#   /' "$TMP/md.out"

# --- BDAT / CHUNKING (RFC 3030) ------------------------------------------------------------------
C1='Subject: chunked\r\nMessage-Id: <bdat@client.test>\r\n\r\nfirst chunk\r\n'
C2='.not stuffed\r\n.\r\n8-bit \xfe\xff end\r\n'
L1=$(printf '%b' "$C1" | wc -c)
L2=$(printf '%b' "$C2" | wc -c)
session "BDAT: two chunks, the second LAST -> 250 per chunk, queued" \
    greet send='EHLO bdat.client.test\r\n' reply=250 \
    send='MAIL FROM:<bdat@example.org> BODY=8BITMIME\r\n' reply='250 2.1.0' \
    send='RCPT TO:<bdat@example.test>\r\n' reply=250 \
    send="BDAT $L1\\r\\n$C1" reply='250 2.0.0' \
    send="BDAT $L2 LAST\\r\\n$C2" reply='250 2.0.0 Ok: queued as' \
    send='QUIT\r\n' reply=221
md_wait "$(md_dir example.test bdat)" 1 10
F=$(ls "$(md_dir example.test bdat)"/* 2>/dev/null | head -n 1)
printf 'Subject: chunked\nMessage-Id: <bdat@client.test>\n\nfirst chunk\n.not stuffed\n.\n8-bit \xfe\xff end\n' >"$TMP/bdat.txt"
python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path bdat@example.org \
    --delivered-to bdat@example.test --received "with ESMTP id" \
    --body "$TMP/bdat.txt" >"$TMP/md.out" 2>&1
ok $? "BDAT: delivered byte-exact, no dot-unstuffing, a lone '.' line kept" ||
    sed 's/^/#   /' "$TMP/md.out"
session "BDAT without MAIL is refused after its chunk is read; the session goes on" \
    greet send='EHLO bdat.client.test\r\n' reply=250 \
    send='BDAT 5 LAST\r\nHELLO' reply='503 5.5.1' send='NOOP\r\n' reply='250 2.0.0' \
    send='QUIT\r\n' reply=221
session "DATA after BDAT in the same transaction is refused" \
    greet send='EHLO bdat.client.test\r\n' reply=250 \
    send='MAIL FROM:<bdat@example.org>\r\n' reply=250 send='RCPT TO:<bdat2@example.test>\r\n' reply=250 \
    send='BDAT 4\r\nabc\n' reply=250 send='DATA\r\n' reply='503 5.5.1' \
    send='RSET\r\n' reply=250 send='QUIT\r\n' reply=221

# --- many concurrent sessions --------------------------------------------------------------------
MANY=$(md_dir example.test many)
for i in $(seq 1 10); do
	swaks --server "127.0.0.1:$M_PORT" --helo "swaks$i.client.test" --from "s$i@example.org" \
	    --to many@example.test --header "Subject: concurrent swaks $i" \
	    --header "Message-Id: <concurrent-swaks-$i@client.test>" --timeout 20 \
	    >"$TMP/swaks.$i.out" 2>&1 &
	echo $! >>"$TMP/swaks.pids"
done
pyok "50 concurrent smtplib sessions, all 250" <<'EOF'
import os, smtplib, threading
port = int(os.environ["M_PORT"])
errors, ids = [], []
lock = threading.Lock()
start = threading.Barrier(50)
def one(i):
    try:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="c%d.client.test" % i, timeout=30)
        start.wait(timeout=30)
        s.ehlo()
        s.mail("c%d@example.org" % i)
        s.rcpt("many@example.test")
        code, resp = s.data(("Subject: concurrent %d\r\nMessage-Id: <concurrent-%d@client.test>\r\n\r\nbody %d\r\n" % (i, i, i)).encode())
        s.quit()
        with lock:
            if code != 250:
                errors.append((i, code, resp))
            else:
                ids.append(resp.split()[-1])
    except Exception as e:
        with lock:
            errors.append((i, repr(e)))
ts = [threading.Thread(target=one, args=(i,)) for i in range(50)]
for t in ts: t.start()
for t in ts: t.join(60)
assert not errors, errors[:5]
assert len(ids) == 50 and len(set(ids)) == 50, ("queue IDs not unique", len(ids), len(set(ids)))
EOF
swaks_ok=0
for p in $(cat "$TMP/swaks.pids"); do wait "$p" && swaks_ok=$((swaks_ok + 1)); done
is "$swaks_ok" 10 "10 concurrent swaks sessions succeeded"
md_wait "$MANY" 60 30
is "$(md_count "$MANY")" 60 "60 messages in example.test/many/new/"
dups=$( (for i in $(seq 0 49); do md_grep "$MANY" "<concurrent-$i@client.test>" | wc -l; done
	for i in $(seq 1 10); do md_grep "$MANY" "<concurrent-swaks-$i@client.test>" | wc -l; done) |
	sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
is "$dups" "60×1 " "each concurrent message delivered exactly once"
queue_settle 10
ok $? "the queue is empty once everything is delivered" || queue_ids | sed 's/^/#   left: /'
sleep 0.5
is "$(md_count "$MANY")" 60 "no late duplicate delivery"

# --- hop count (RFC 5321 §6.3): more than 50 Received: fields is a mail loop -------------------
# Fields are counted in the header section only, folded or not, any case; ours is not counted.
pyok "hops: 51 Received: fields -> 554 5.4.6 at the end of DATA; 50 (and more in the body) -> 250" <<'EOF'
import os, smtplib
def msg(n, tag):
    h = ""
    for i in range(n):
        name = ("Received", "RECEIVED", "received")[i % 3]
        if i % 2:
            h += "%s: from hop%d.example.org\r\n\tby relay%d.example.org; Thu, 1 Jan 2026 00:00:%02d +0000\r\n" % (name, i, i, i % 60)
        else:
            h += "%s: from hop%d.example.org by relay%d.example.org; Thu, 1 Jan 2026 00:00:%02d +0000\r\n" % (name, i, i, i % 60)
    body = "".join("Received: in the body %d, not a header field\r\n" % i for i in range(10))
    return (h + "Subject: hops %d\r\nMessage-Id: <%s@client.test>\r\n\r\n%s" % (n, tag, body)).encode()
s = smtplib.SMTP("127.0.0.1", int(os.environ["M_PORT"]), local_hostname="hops.client.test", timeout=10)
s.ehlo()
for n, tag, want in ((51, "hops51", 554), (50, "hops50", 250)):
    assert s.mail("hops@example.org")[0] == 250, "MAIL after a %s" % tag
    assert s.rcpt("hops@example.test")[0] == 250
    code, resp = s.data(msg(n, tag))
    assert code == want, (n, code, resp)
    if want == 554:
        assert resp.startswith(b"5.4.6 "), (n, code, resp)
s.quit()
EOF
pyok "hops via BDAT: 51 Received: fields -> 554 5.4.6 at BDAT LAST; 50, split across chunks -> 250" <<'EOF'
import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["M_PORT"])), timeout=10)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline()
        assert l, "connection closed"
        lines.append(l)
        if l[3:4] != b"-":
            return lines[-1].decode().strip()
def cmd(c, want):
    s.sendall(c)
    r = reply()
    assert r.startswith(want), (c[:40], r, want)
    return r
reply()
cmd(b"EHLO bdat-hops.client.test\r\n", "250")
for n, tag, want in ((51, "hops51b", "554 5.4.6 "), (50, "hops50b", "250 2.0.0 ")):
    m = "".join("Received: from h%d.example.org by r%d.example.org; Thu, 1 Jan 2026 00:00:00 +0000\r\n" % (i, i) for i in range(n))
    m = (m + "Subject: bdat hops %d\r\nMessage-Id: <%s@client.test>\r\n\r\nbody\r\n" % (n, tag)).encode()
    cmd(b"MAIL FROM:<hops@example.org>\r\n", "250")
    cmd(b"RCPT TO:<hopsb@example.test>\r\n", "250")
    cut = m.index(b"Received:", len(m) // 2) + 4	# a chunk ends inside a field name
    cmd(b"BDAT %d\r\n" % cut + m[:cut], "250")
    cmd(b"BDAT %d LAST\r\n" % (len(m) - cut) + m[cut:], want)
cmd(b"QUIT\r\n", "221")
EOF
md_wait "$(md_dir example.test hops)" 1 10 && md_wait "$(md_dir example.test hopsb)" 1 10
sleep 0.5
is "$(md_count "$(md_dir example.test hops)")/$(md_count "$(md_dir example.test hopsb)")" 1/1 \
    "hops: only the 50-hop messages were delivered (DATA and BDAT)"
[ -n "$(md_grep "$(md_dir example.test hops)" '<hops50@client.test>')" ] &&
    [ -n "$(md_grep "$(md_dir example.test hopsb)" '<hops50b@client.test>')" ]
ok $? "hops: the delivered ones are hops50 and hops50b"
grep -Eq 'message refused: 51 Received: fields' "$M_LOG"
ok $? "hops: the refusal is logged"

mxd_stop
done_testing
