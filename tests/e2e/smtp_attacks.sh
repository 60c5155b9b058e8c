#!/usr/bin/env bash
# tests/e2e/smtp_attacks.sh — the SMTP attacks issue 3 names, each against a running mxd with
# a raw client (tests/fakes/smtpclient.py) that controls every byte and packet:
#   - SMTP smuggling (CVE-2023-51764/5/6): "\n.\r\n", "\r.\r", "\n.\n", "\r\n.\n" and
#     "\n.\r" inside DATA do not end it; the message is refused after the real end and the
#     smuggled transaction never runs; a control with a real end shows what would happen;
#   - STARTTLS command injection (CVE-2011-0411): bytes sent with STARTTLS are discarded;
#   - relaying from outside relay_networks (the client bound to 127.0.0.2), source routes,
#     address literals, look-alike domains;
#   - early talkers (greet_pause) and improper pipelining (RFC 2920);
#   - path tricks that aim at the file system ("../", leading dot, NUL).
. "$(dirname "$0")/smtp_lib.sh"
smtp_init

mxd_conf attacks
mxd_start

# --- SMTP smuggling ------------------------------------------------------------------------------
# The attacker's payload: a message whose "end" is one of the non-standard sequences, then a
# second transaction. A server that takes the fake end as the end would run the smuggled
# MAIL/RCPT/DATA. mxd must keep reading until the real CRLF.CRLF and then refuse the whole
# message (bare CR/LF), answering exactly once.
n=0
for fake in '\n.\r\n' '\r.\r' '\n.\n' '\r\n.\n' '\n.\r' '\r.\r\n'; do
	n=$((n + 1))
	session "smuggling $n ($fake): data goes on past the fake end; one 5xx after the real end" \
	    greet send='EHLO smuggler.test\r\n' reply=250 \
	    send='MAIL FROM:<attacker@example.org>\r\n' reply=250 \
	    send="RCPT TO:<target$n@example.test>\r\n" reply=250 send='DATA\r\n' reply=354 \
	    send="From: attacker@example.org\\r\\nSubject: smuggle $n\\r\\n\\r\\nhello$fake""MAIL FROM:<admin@example.test>\\r\\nRCPT TO:<victim$n@example.test>\\r\\nDATA\\r\\n" \
	    quiet=0.5 \
	    send="From: admin@example.test\\r\\nSubject: smuggled $n\\r\\n\\r\\nsmuggled\\r\\n.\\r\\n" \
	    reply='554 5.6.0' quiet=0.5 send='NOOP\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221 eof
done
n=$((n + 1))
session "smuggling $n: the whole attack in one packet -> one 554 5.6.0, nothing else" \
    greet send='EHLO smuggler.test\r\n' reply=250 \
    send='MAIL FROM:<attacker@example.org>\r\n' reply=250 \
    send="RCPT TO:<target$n@example.test>\r\n" reply=250 send='DATA\r\n' reply=354 \
    send="Subject: one packet\\r\\n\\r\\nhello\\n.\\r\\nMAIL FROM:<admin@example.test>\\r\\nRCPT TO:<victim$n@example.test>\\r\\nDATA\\r\\nsmuggled\\r\\n.\\r\\n" \
    reply='554 5.6.0' quiet=0.5 send='QUIT\r\n' reply=221 eof
# Control: the same stream with a real CRLF.CRLF does carry two transactions, so the checks
# below would see a smuggled message if one got through.
session "control: with a real end the second transaction runs (the test can see one)" \
    greet send='EHLO smuggler.test\r\n' reply=250 \
    send='MAIL FROM:<attacker@example.org>\r\n' reply=250 \
    send='RCPT TO:<ctltarget@example.test>\r\n' reply=250 send='DATA\r\n' reply=354 \
    send='Subject: control\r\n\r\nhello\r\n.\r\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<ctlvictim@example.test>\r\nDATA\r\n' \
    reply='250 2.0.0' reply='250 2.1.0' reply='250 2.1.5' reply=354 \
    send='Subject: control 2\r\n\r\nsmuggled\r\n.\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221
md_wait "$(md_dir example.test ctlvictim)" 1 10 && md_wait "$(md_dir example.test ctltarget)" 1 10
ok $? "control: both control messages delivered"
queue_settle 10
found=
for i in $(seq 1 "$n"); do
	for who in target victim; do
		c=$(md_count "$(md_dir example.test "$who$i")")
		[ "$c" = 0 ] || found="$found $who$i:$c"
	done
done
is "${found:-none}" none "smuggling: no message delivered to any target or victim mailbox"
is "$(queue_ids | wc -l)" 0 "smuggling: nothing left in the queue either"
grep -c 'message refused: Bare' "$M_LOG" | grep -qx "$n"
ok $? "log: each of the $n refused messages is logged" || grep 'refused' "$M_LOG" | sed 's/^/#   /'

# --- STARTTLS command injection (CVE-2011-0411) ------------------------------------------------------
session "STARTTLS injection: RSET sent with STARTTLS is not answered after TLS" \
    greet send='EHLO injector.test\r\n' reply=250 send='STARTTLS\r\nRSET\r\n' reply='220 2.0.0' \
    tls quiet=1 send='EHLO injector.test\r\n' reply="250 $M_HOST" send='QUIT\r\n' reply=221
session "STARTTLS injection: an injected MAIL/RCPT is not executed; the TLS session starts afresh" \
    greet send='EHLO injector.test\r\n' reply=250 \
    send='STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<injected@example.test>\r\n' \
    reply='220 2.0.0' tls quiet=1 \
    send='MAIL FROM:<x@example.org>\r\n' reply='503 5.5.1' \
    send='EHLO injector.test\r\n' reply=250 send='RCPT TO:<injected@example.test>\r\n' reply='503 5.5.1' \
    send='DATA\r\n' reply='503 5.5.1' send='QUIT\r\n' reply=221
# The same with openssl s_client: it sends EHLO and STARTTLS itself; the server's first reply
# over TLS must be the answer to our EHLO, not to anything left over.
# One command per write: EHLO and QUIT in one packet would be improper pipelining (RFC 2920).
{ printf 'EHLO sclient.test\r\n'; sleep 0.5; printf 'QUIT\r\n'; sleep 1; } | timeout 15 openssl s_client -starttls smtp \
    -connect "127.0.0.1:$M_PORT" -name sclient.test -quiet >"$TMP/sclient.out" 2>/dev/null
head -n 1 "$TMP/sclient.out" | grep -q "^250-$M_HOST" && tail -n 1 "$TMP/sclient.out" | grep -q '^221 '
ok $? "openssl s_client -starttls smtp: first reply over TLS answers the EHLO" ||
    sed 's/^/#   /' "$TMP/sclient.out"

# --- relaying ------------------------------------------------------------------------------------------
# BDAT then DATA in one transaction (found in review: DATA after "BDAT 0" used a scanner
# that was never set up — a crash, or the body run as commands).
session "BDAT 0 then DATA: 503 5.5.1, the session goes on" greet=220 \
    send='EHLO x.test\r\n' reply=250 send='MAIL FROM:<a@x.test>\r\n' reply=250 \
    send='RCPT TO:<bd@example.test>\r\n' reply=250 send='BDAT 0\r\n' reply=250 \
    send='DATA\r\n' reply='503 5.5.1' send='NOOP\r\n' reply=250 send='QUIT\r\n' reply=221
ok_run "smtpd is still running after BDAT 0 + DATA" mxd_alive
# A client that starts TLS and then says nothing must not spin smtpd (found in review).
python3 - "$M_PORT" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
f = s.makefile("rb")
f.readline()
s.sendall(b"EHLO idle.test\r\n")
while f.readline()[3:4] == b"-":
    pass
s.sendall(b"STARTTLS\r\n")
f.readline()
time.sleep(3)
EOF
IDLE=$!
sleep 0.5
spid=$(pgrep -P "$M_PID" | while read -r p; do
	grep -q 'smtpd' "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | head -1)
[ -n "$spid" ] || spid=$(pgrep -P "$M_PID" | tail -1)
t0=$(awk '{print $14 + $15}' "/proc/$spid/stat")
sleep 2
t1=$(awk '{print $14 + $15}' "/proc/$spid/stat")
wait "$IDLE"
cmp_ok $((t1 - t0)) -lt 50 "an idle TLS handshake does not spin smtpd ($((t1 - t0)) ticks in 2 s)"
session "relay from 127.0.0.2 (outside relay_networks) to a non-local domain -> 554 5.7.1" \
    -b 127.0.0.2 greet send='EHLO outside.test\r\n' reply=250 \
    send='MAIL FROM:<spammer@example.org>\r\n' reply=250 \
    send='RCPT TO:<victim@remote.example>\r\n' reply='554 5.7.1' \
    send='RCPT TO:<victim@example.test.remote.example>\r\n' reply='554 5.7.1' \
    send='RCPT TO:<victim@test>\r\n' reply='554 5.7.1' \
    send='RCPT TO:<@example.test:victim@remote.example>\r\n' reply='554 5.7.1' \
    send='RCPT TO:<victim@[127.0.0.1]>\r\n' reply='554 5.7.1' \
    send='RCPT TO:<relayed@EXAMPLE.Test>\r\n' reply='250 2.1.5' \
    send='DATA\r\n' reply=354 send='Subject: from outside\r\n\r\nlocal is fine\r\n.\r\n' reply=250 \
    send='QUIT\r\n' reply=221
md_wait "$(md_dir example.test relayed)" 1 10
ok $? "from 127.0.0.2 a local recipient still gets the message"
grep -q 'NOQUEUE: reject: RCPT from unknown\[127.0.0.2\]: 554 5.7.1 <victim@remote.example>: Relay access denied; from=<.*> to=<victim@remote.example>' "$M_LOG"
ok $? "log: the refused relay attempt is logged"
session "relay from 127.0.0.1 (in relay_networks) -> 250; the message stays queued" \
    greet send='EHLO inside.test\r\n' reply=250 send='MAIL FROM:<app@example.test>\r\n' reply=250 \
    send='RCPT TO:<friend@remote.example>\r\n' reply='250 2.1.5' send='DATA\r\n' reply=354 \
    send='Subject: relay\r\n\r\nout\r\n.\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221
RQ=$(qid_of "$LAST")
sleep 0.5
[ -n "$RQ" ] && [ -f "$M_SPOOL/queue/$RQ" ]
ok $? "the relayed message is in spool/queue/ (its MX cannot be resolved here)"
log_wait "$RQ: to=<friend@remote\.example>, relay=none, .*status=deferred" 10
ok $? "log: the relayed message is deferred (4.4.3), never bounced, while DNS fails"

# --- improper pipelining (RFC 2920 §3.1) --------------------------------------------------------------
session "EHLO and MAIL in one packet, before the EHLO reply -> 554 5.5.0 and disconnect" \
    greet send='EHLO hasty.test\r\nMAIL FROM:<hasty@example.org>\r\n' reply='554 5.5.0' eof
session "HELO (no PIPELINING offered), then MAIL+RCPT in one packet -> 554 5.5.0" \
    greet send='HELO hasty.test\r\n' reply=250 \
    send='MAIL FROM:<hasty@example.org>\r\nRCPT TO:<user@example.test>\r\n' reply='554 5.5.0' eof
session "DATA and message text in one packet, before the 354 -> 554 5.5.0" \
    greet send='EHLO hasty.test\r\n' reply=250 \
    send='MAIL FROM:<hasty@example.org>\r\nRCPT TO:<hasty@example.test>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n' \
    reply='250 2.1.0' reply='250 2.1.5' reply='554 5.5.0' eof
session "valid pipelining (RSET, MAIL, RCPT, NOOP last) is answered in order" \
    greet send='EHLO patient.test\r\n' reply=250 \
    send='RSET\r\nMAIL FROM:<p@example.org>\r\nRCPT TO:<p@example.test>\r\nNOOP\r\n' \
    reply='250 2.0.0' reply='250 2.1.0' reply='250 2.1.5' reply='250 2.0.0' send='QUIT\r\n' reply=221

# --- paths aimed at the file system, NUL and other junk ------------------------------------------------
session "recipients with '/', '..' and a leading dot are accepted or refused, never followed" \
    greet send='EHLO paths.test\r\n' reply=250 send='MAIL FROM:<p@example.org>\r\n' reply=250 \
    send='RCPT TO:<../../escape@example.test>\r\n' reply \
    send='RCPT TO:<.hidden@example.test>\r\n' reply \
    send='RCPT TO:<"../x"@example.test>\r\n' reply \
    send='RCPT TO:<sane@example.test>\r\n' reply=250 send='DATA\r\n' reply=354 \
    send='Subject: paths\r\n\r\nx\r\n.\r\n' reply=250 send='QUIT\r\n' reply=221
md_wait "$(md_dir example.test sane)" 1 10
# The accepted "../x" recipient bounces: its DSN goes to p@example.org, which stays queued too.
log_wait "sender non-delivery notification: [0-9a-f]{16}" 10
BQ=$(sed -n 's/.*sender non-delivery notification: \([0-9a-f]\{16\}\).*/\1/p' "$M_LOG" | tail -1)
queue_settle 10 "$RQ" "$BQ"
ok $? "the queue settles (only the relayed message and the bounce to p@example.org stay)" ||
	queue_ids | sed 's/^/#   left: /'
grep '^S: 5' "$LAST" | sed 's/^S: /# refused: /'
if grep -q '^C: RCPT TO:<"../x"@example.test>' "$LAST" && grep -A1 '^C: RCPT TO:<"../x"' "$LAST" | grep -q '^S: 250'; then
	grep -q 'to=<"../x"@example.test>, relay=local, delay=[0-9.]*, dsn=5\.[0-9.]*, status=bounced' "$M_LOG"
	ok $? "the accepted \"../x\" recipient bounces (5.x.x) at delivery" || grep '\.\./x' "$M_LOG" | sed 's/^/#   /'
fi
esc=$(find "$M_DIR" "$TMP" -maxdepth 3 \( -name 'escape*' -o -name '.hidden' -o -name 'x' \) 2>/dev/null)
is "$esc" "" "no mailbox created outside mailbox_root or as a hidden/dot directory"
is "$(find "$M_MAIL/example.test" -mindepth 1 -maxdepth 1 -name '.*' | wc -l)" 0 \
    "no dot-named mailbox under example.test/"
session "NUL, bare CR in commands and 8-bit junk get 5xx; the session goes on" \
    greet send='EHLO junk.test\r\n' reply=250 \
    send='MAIL FROM:<a\x00b@example.org>\r\n' reply=5 \
    send='MAIL FROM:<a@example.org>\rRCPT TO:<x@example.test>\r\n' reply=5 \
    send='\xff\xfe\r\n' reply=5 send='NOOP\r\n' reply='250 2.0.0' send='QUIT\r\n' reply=221
mxd_stop

# --- early talkers (greet_pause) ---------------------------------------------------------------------
mxd_conf early 'greet_pause = 1'
mxd_start
t0=$(date +%s%N)
session "early talker: EHLO before the greeting -> 554 and disconnect" \
    -t 5 send='EHLO early.test\r\n' reply='554 5.5.0' eof
t1=$(date +%s%N)
cmp_ok $(((t1 - t0) / 1000000)) -lt 3000 "early talker is dropped within 3 s"
grep -q 'talked before the greeting' "$M_LOG"
ok $? "log: the early talker is logged"
t0=$(date +%s%N)
session "a patient client gets the 220 after the pause and is served" -t 5 \
    greet=220 send='EHLO patient.test\r\n' reply=250 send='QUIT\r\n' reply=221
t1=$(date +%s%N)
cmp_ok $(((t1 - t0) / 1000000)) -ge 900 "the greeting waited greet_pause (1 s)"
session "submission port has no greet pause" -p "$M_SUB" -t 0.8 greet=220 send='QUIT\r\n' reply=221
mxd_stop
done_testing
