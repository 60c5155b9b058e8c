#!/usr/bin/env bash
# tests/e2e/smtp_limits.sh — mxd's limits and timeouts, each with its defined reply
# (RFC 5321 §4.5.3): over-long command lines (500 5.5.6, the session goes on), over-long text
# lines, SIZE and message size (552 5.3.4, by the SIZE parameter, after DATA, after BDAT),
# recipients per message (452 4.5.3; a repeated recipient is 250 and counted once), sessions per client address (421 4.7.0), a slow client
# (cmd_timeout and data_timeout: 421 4.4.2 in bounded time); and `mxd -t` on good and
# broken configurations (exit 0, or 78 with "FILE:LINE: reason").
. "$(dirname "$0")/smtp_lib.sh"
smtp_init

# --- mxd -t ----------------------------------------------------------------------------------------
mxd_conf check
"$MXD" -t -c "$M_CONF" >"$TMP/t.out" 2>&1
ok $? "mxd -t: a good configuration exits 0" || sed 's/^/#   /' "$TMP/t.out"
conf_case() {	# conf_case DESC LINE-NUMBER-OR-EMPTY TEXT: mxd -t must exit 78 with FILE:LINE:
	local desc=$1 line=$2 f=$TMP/bad.$RANDOM.conf rc
	printf '%b' "$3" >"$f"
	"$MXD" -t -c "$f" >"$TMP/t.out" 2>"$TMP/t.err"
	rc=$?
	is "$rc" 78 "mxd -t: $desc -> exit 78"
	if [ -n "$line" ]; then
		grep -Eq "^$f:$line: .+" "$TMP/t.err"
		ok $? "mxd -t: $desc -> '$f:$line: reason' on stderr" || sed 's/^/#   /' "$TMP/t.err"
	else
		grep -Eq "^$f(:[0-9]+)?: .+" "$TMP/t.err"
		ok $? "mxd -t: $desc -> '$f: reason' on stderr" || sed 's/^/#   /' "$TMP/t.err"
	fi
}
conf_case "unknown key" 3 "# comment\nhostname = a.test\nno_such_key = 1\n"
conf_case "bad size value" 2 "hostname = a.test\nmax_message_size = lots\n"
conf_case "bad listen address" 1 "listen = 127.0.0.1:99999\n"
conf_case "duplicate non-repeatable key" 2 "spool = /tmp/a\nspool = /tmp/b\n"
conf_case "bad duration" 1 "cmd_timeout = 5x\n"
conf_case "line without '='" 2 "hostname = a.test\njust some words\n"
conf_case "submission without users" "" "listen = 127.0.0.1:2525\nsubmission = 127.0.0.1:2587\ntls_cert = $TLS_CERT\ntls_key = $TLS_KEY\n"
"$MXD" -t -c "$TMP/does-not-exist.conf" >/dev/null 2>"$TMP/t.err"
is "$?" 78 "mxd -t: a missing file -> exit 78"

# --- a daemon with small limits -------------------------------------------------------------------
mxd_conf limits 'max_message_size = 10000' 'max_recipients = 3' 'max_per_client = 4' \
    'cmd_timeout = 2' 'data_timeout = 2'
mxd_start

X600=$(printf 'x%.0s' $(seq 600))
X5000=$(head -c 5000 /dev/zero | tr '\0' x)
python3 -c 'import sys; sys.stdout.write("NOOP " + "y" * 20000 + "\r\n")' >"$TMP/long20k"
session "command line of 607 octets (> 512) -> 500 5.5.6, the session goes on" \
    greet send='EHLO long.test\r\n' reply=250 send="NOOP $X600\\r\\n" reply='500 5.5.6' \
    send='NOOP\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221
session "command line of 5030 octets (> 4096) -> 500 5.5.6, the session goes on" \
    greet send='EHLO long.test\r\n' reply=250 send="MAIL FROM:<a@example.org> X=$X5000\\r\\n" \
    reply='500 5.5.6' send='MAIL FROM:<a@example.org>\r\n' reply='250 2.1.0' \
    send='QUIT\r\n' reply=221
session "command line of 20007 octets (more than the input buffer) -> one 500 5.5.6" \
    greet send='EHLO long.test\r\n' reply=250 sendfile="$TMP/long20k" reply='500 5.5.6' \
    quiet=0.3 send='NOOP\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221
L65=$(printf 'l%.0s' $(seq 65))
session "local part of 65 octets and a 256-octet domain label set are refused (5xx)" \
    greet send='EHLO long.test\r\n' reply=250 send="MAIL FROM:<$L65@example.org>\\r\\n" reply=5 \
    send="MAIL FROM:<a@$(printf 'a%.0s' $(seq 64)).example.org>\\r\\n" reply=5 \
    send='NOOP\r\n' reply=250 send='QUIT\r\n' reply=221
T1001=$(printf 't%.0s' $(seq 1001))
session "a text line of 1001 octets in DATA -> 5xx after the end, nothing queued" \
    greet send='EHLO long.test\r\n' reply=250 send='MAIL FROM:<a@example.org>\r\n' reply=250 \
    send='RCPT TO:<longline@example.test>\r\n' reply=250 send='DATA\r\n' reply=354 \
    send="Subject: long line\\r\\n\\r\\n$T1001\\r\\n.\\r\\n" reply=5 send='NOOP\r\n' reply=250 \
    send='QUIT\r\n' reply=221

# --- message size (RFC 1870) -----------------------------------------------------------------------
session "EHLO advertises SIZE 10000" greet send='EHLO size.test\r\n' reply=250 send='QUIT\r\n' reply=221
grep -q '^S: 250-SIZE 10000$' "$LAST"
ok $? "SIZE 10000 in the EHLO reply" || sed 's/^/#   /' "$LAST"
python3 -c 'import sys; sys.stdout.write("Subject: big\r\n\r\n" + ("z" * 99 + "\r\n") * 120 + ".\r\n")' >"$TMP/big"
session "SIZE=20000 over max_message_size -> 552 5.3.4; SIZE=5000 -> 250" \
    greet send='EHLO size.test\r\n' reply=250 \
    send='MAIL FROM:<big@example.org> SIZE=20000\r\n' reply='552 5.3.4' \
    send='MAIL FROM:<big@example.org> SIZE=5000\r\n' reply='250 2.1.0' \
    send='RSET\r\n' reply=250 send='QUIT\r\n' reply=221
session "a 12 KB body without SIZE -> 552 5.3.4 after the data; the session goes on" \
    greet send='EHLO size.test\r\n' reply=250 send='MAIL FROM:<big@example.org>\r\n' reply=250 \
    send='RCPT TO:<big@example.test>\r\n' reply=250 send='DATA\r\n' reply=354 \
    sendfile="$TMP/big" reply='552 5.3.4' send='NOOP\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221
python3 -c 'import sys; sys.stdout.write("BDAT 12000 LAST\r\n" + "b" * 12000)' >"$TMP/bigbdat"
session "BDAT of 12000 octets -> read, then 552 5.3.4; the session goes on" \
    greet send='EHLO size.test\r\n' reply=250 send='MAIL FROM:<big@example.org>\r\n' reply=250 \
    send='RCPT TO:<big@example.test>\r\n' reply=250 sendfile="$TMP/bigbdat" reply='552 5.3.4' \
    send='NOOP\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221
python3 -c 'import sys; sys.stdout.write("Subject: fits\r\n\r\n" + ("f" * 99 + "\r\n") * 90 + ".\r\n")' >"$TMP/fits"
session "a 9 KB body fits -> 250" \
    greet send='EHLO size.test\r\n' reply=250 send='MAIL FROM:<fits@example.org> SIZE=9200\r\n' reply=250 \
    send='RCPT TO:<fits@example.test>\r\n' reply=250 send='DATA\r\n' reply=354 \
    sendfile="$TMP/fits" reply='250 2.0.0' send='QUIT\r\n' reply=221
md_wait "$(md_dir example.test fits)" 1 10
ok $? "the message under the limit is delivered"
is "$(md_count "$(md_dir example.test big)")$(md_count "$(md_dir example.test longline)")" 00 \
    "nothing over a limit was delivered"

# --- recipients --------------------------------------------------------------------------------------
session "max_recipients = 3: the 4th RCPT -> 452 4.5.3" \
    greet send='EHLO rcpt.test\r\n' reply=250 send='MAIL FROM:<r@example.org>\r\n' reply=250 \
    send='RCPT TO:<r1@example.test>\r\nRCPT TO:<r2@example.test>\r\nRCPT TO:<r3@example.test>\r\nRCPT TO:<r4@example.test>\r\n' \
    reply=250 reply=250 reply=250 reply='452 4.5.3' send='RSET\r\n' reply=250 send='QUIT\r\n' reply=221
session "max_recipients = 3: a repeated RCPT (any case) -> 250 as a duplicate, counted once" \
    greet send='EHLO rcpt.test\r\n' reply=250 send='MAIL FROM:<r@example.org>\r\n' reply=250 \
    send='RCPT TO:<dup@example.test>\r\nRCPT TO:<DUP@example.test>\r\nRCPT TO:<Dup@EXAMPLE.TEST>\r\nRCPT TO:<"dup"@example.test>\r\nRCPT TO:<dup2@example.test>\r\nRCPT TO:<dup3@example.test>\r\nRCPT TO:<dup4@example.test>\r\n' \
    reply='250 2.1.5 Ok' reply='250 2.1.5 Ok (duplicate recipient)' \
    reply='250 2.1.5 Ok (duplicate recipient)' reply='250 2.1.5 Ok (duplicate recipient)' \
    reply=250 reply=250 reply='452 4.5.3' send='DATA\r\n' reply=354 \
    send='Subject: dup\r\nMessage-Id: <dup@client.test>\r\n\r\nbody\r\n.\r\n' reply='250 2.0.0' \
    send='QUIT\r\n' reply=221
QID=$(qid_of "$LAST")
md_wait "$(md_dir example.test dup3)" 1 10
log_wait "$QID: from=<r@example.org>, size=[0-9]+, nrcpt=3 " 5
ok $? "duplicates: queued with nrcpt=3" || mxd_log_tail 5
sleep 0.5
is "$(md_count "$(md_dir example.test dup)")/$(md_count "$(md_dir example.test dup2)")/$(md_count "$(md_dir example.test dup3)")/$(md_count "$(md_dir example.test dup4)")" \
    1/1/1/0 "duplicates: one copy each for dup, dup2, dup3; none for dup4"

# --- sessions per client ---------------------------------------------------------------------------
pyok "max_per_client = 4: a 5th session from 127.0.0.1 gets 421 4.7.0; 127.0.0.2 is not affected" <<'EOF'
import os, time
from smtpclient import Client
port = int(os.environ["M_PORT"])
held = []
for i in range(4):
    c = Client("127.0.0.1", port)
    code, lines = c.reply()
    assert code == 220, lines
    held.append(c)
c = Client("127.0.0.1", port)
code, lines = c.reply()
assert code == 421 and lines[0].startswith("421 4.7.0"), lines
c.expect_eof()
other = Client("127.0.0.1", port, bind="127.0.0.2")
code, lines = other.reply()
assert code == 220, ("127.0.0.2 refused", lines)
other.send("QUIT\r\n"); other.reply()
for h in held:
    h.send("QUIT\r\n"); h.reply(); h.close()
for _ in range(50):                      # the server sees the QUITs: a new session is welcome
    c = Client("127.0.0.1", port)
    code, lines = c.reply()
    c.close()
    if code == 220:
        break
    time.sleep(0.1)
assert code == 220, lines
EOF

# --- timeouts (RFC 5321 §4.5.3.2) ----------------------------------------------------------------------
t0=$(date +%s%N)
session "slow client: silent after the greeting -> 421 4.4.2 (cmd_timeout = 2)" -t 6 \
    greet send='EHLO slow.test\r\n' reply=250 reply='421 4.4.2' eof=2
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
cmp_ok "$ms" -ge 1800 "the command timeout waited about 2 s ($ms ms)"
cmp_ok "$ms" -lt 5000 "and hung up well within 5 s"
t0=$(date +%s%N)
session "slow client: stalls inside DATA -> 421 4.4.2 (data_timeout = 2)" -t 6 \
    greet send='EHLO slow.test\r\n' reply=250 send='MAIL FROM:<slow@example.org>\r\n' reply=250 \
    send='RCPT TO:<slow@example.test>\r\n' reply=250 send='DATA\r\n' reply=354 \
    send='Subject: slow\r\n\r\nhalf a mess' reply='421 4.4.2' eof=2
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
cmp_ok "$ms" -lt 5000 "DATA timeout within 5 s ($ms ms)"
pyok "a client trickling one byte every 0.5 s gets 421 4.4.2 about cmd_timeout after it began" <<'EOF'
import os, select, time
from smtpclient import Client
c = Client("127.0.0.1", int(os.environ["M_PORT"]), timeout=10)
c.reply()
t0 = time.monotonic()
got = None
for ch in "NOOP trickle":
    try:
        c.sock.send(ch.encode())
    except OSError:
        break
    r, _, _ = select.select([c.sock], [], [], 0.5)
    if r:
        got = time.monotonic() - t0
        break
code, lines = c.reply(timeout=5) if got is not None else (None, ["no reply while trickling"])
print("reply after %s s: %s" % (None if got is None else round(got, 2), lines))
assert code == 421 and lines[0].startswith("421 4.4.2"), lines
assert got < 4.0, "the trickle extended the command timeout (%.2f s)" % got
EOF
sleep 0.5
is "$(md_count "$(md_dir example.test slow)")" 0 "the interrupted message was not delivered"
is "$(ls "$M_SPOOL/tmp" | wc -l)" 0 "spool/tmp holds no leftover of the interrupted message"
mxd_stop
done_testing
