#!/usr/bin/env bash
# lmtp_dovecot.sh — end-to-end test of LMTP delivery (lmtp_deliver, a mode of the SMTP client in src/queue/queue_smtp.c) against a
# real Dovecot LMTP server (Debian dovecot-core + dovecot-lmtpd), and against a small fake
# LMTP server (inline python3) for the protocol violations Dovecot never commits.
#
# Dovecot runs in the foreground (dovecot -F) with a minimal config in a temp dir: a unix
# socket under its base_dir and a random loopback TCP port; Maildirs under TMP/mail/%d/%n;
# a passwd-file userdb that knows alice and bob only. tests/tools/smtpcdrive -L writes a
# queue file with the queue writer and delivers it with lmtp_deliver(). Checked: both
# recipients delivered, byte for byte (dot-stuffing undone by Dovecot, 8-bit body), over
# the socket and over TCP; an unknown user is PERM 5.1.1 while the others in the same
# transaction are delivered; a torn queue file is never delivered (TEMP); Dovecot stopped
# gives TEMP. Fake server: timeout, a reply dripping one octet at a time, malformed, too
# long, too many lines, code changing inside a reply, bare LF, a connection closing after
# the first of two DATA replies, per-recipient 4xx/5xx after DATA, replies without
# enhanced status codes. TAP output; every wait bounded; servers stopped by PID.
#
# Run from anywhere: BUILD=build/san bash tests/e2e/lmtp_dovecot.sh
set -u

# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
e2e_init

LD=$BUILD/tests/smtpcdrive
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}
RUN_MAX=30		# seconds: guard on any one smtpcdrive -L run
DV_PID=

[ -x "$LD" ] || bail "$LD not built (make BUILD=${BUILD#"$ROOT"/} SAN=1 tests)"
if [ ! -x "$DOVECOT" ] || [ ! -e /usr/lib/dovecot/lmtp ]; then
	echo "1..0 # SKIP Dovecot LMTP not installed (Debian dovecot-core dovecot-lmtpd; make deps)"
	exit 0
fi
command -v python3 >/dev/null || bail "python3 not found"

# --- Dovecot -------------------------------------------------------------------------------
# Mail is written as an unprivileged user: ourselves, or nobody when we are root (Dovecot
# refuses to deliver as UID 0).
if [ "$(id -u)" -eq 0 ]; then
	MUID=$(id -u nobody) MGID=$(id -g nobody)
	INTERNAL=dovecot LOGIN=dovenull
	id dovecot >/dev/null 2>&1 && id dovenull >/dev/null 2>&1 ||
		bail "users dovecot/dovenull missing (dovecot-core's postinst makes them)"
	chmod 0711 "$TMP"
else
	MUID=$(id -u) MGID=$(id -g)
	INTERNAL=$(id -un) LOGIN=$(id -un)
fi
mkdir -p "$TMP/run" "$TMP/state" "$TMP/mail" || bail "mkdir"
chown "$MUID:$MGID" "$TMP/mail" 2>/dev/null
SOCK=$TMP/run/lmtp
cat >"$TMP/users" <<EOF
alice@example.org::$MUID:$MGID::$TMP/mail::
bob@example.org::$MUID:$MGID::$TMP/mail::
EOF

write_conf() {
	cat >"$TMP/dovecot.conf" <<EOF
base_dir = $TMP/run
state_dir = $TMP/state
log_path = $TMP/dovecot.log
info_log_path = $TMP/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:$TMP/mail/%d/%n
first_valid_uid = $MUID
default_internal_user = $INTERNAL
default_login_user = $LOGIN
passdb {
  driver = passwd-file
  args = $TMP/users
}
userdb {
  driver = passwd-file
  args = $TMP/users
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = $PORT
  }
}
EOF
}

start_dovecot() {
	write_conf
	spawn "$DOVECOT" -F -c "$TMP/dovecot.conf" >"$TMP/dovecot.out" 2>&1
	DV_PID=$SPAWNED_PID
	if wait_port 127.0.0.1 "$PORT" 10; then
		for _ in $(seq 1 50); do
			[ -S "$SOCK" ] && return 0
			sleep 0.1
		done
	fi
	stop_pid "$DV_PID" 5
	DV_PID=
	return 1
}

started=no
for try in 1 2 3; do
	PORT=$(free_port) || continue
	if start_dovecot; then
		started=yes
		break
	fi
	diag "Dovecot did not start on port $PORT (try $try):"
	sed 's/^/#   /' "$TMP/dovecot.out" "$TMP/dovecot.log" 2>/dev/null | tail -20
done
[ $started = yes ] || bail "could not start Dovecot"
diag "Dovecot pid $DV_PID on $SOCK and 127.0.0.1:$PORT"

# --- helpers -------------------------------------------------------------------------------
OUT=
RC=
# deliver ARGS... < message: runs smtpcdrive -L, sets OUT (its lines) and RC.
deliver() {
	OUT=$(timeout -k 2 "$RUN_MAX" "$LD" -L "$@" 2>"$TMP/ld.err")
	RC=$?
	[ -s "$TMP/ld.err" ] && sed 's/^/#   stderr: /' "$TMP/ld.err"
	return 0
}
# field RCPT N: the Nth tab-separated field of RCPT's line in OUT (2 status, 3 dsn, 4 text)
field() {
	printf '%s\n' "$OUT" | awk -F'\t' -v r="$1" -v n="$2" '$1 == r { print $n; exit }'
}
maildir_count() {	# maildir_count USER: files in its new/
	find "$TMP/mail/example.org/$1/new" -type f 2>/dev/null | wc -l
}
newest() {		# newest USER: path of the newest file in its new/
	find "$TMP/mail/example.org/$1/new" -type f -printf '%T@ %p\n' 2>/dev/null |
	    sort -n | tail -1 | cut -d' ' -f2-
}
# strip FILE: the message as Dovecot stored it, from our first header on (Dovecot adds
# Return-Path and Received above it).
strip() {
	sed -n '/^Subject: /,$p' "$1"
}

# --- Dovecot: delivery ---------------------------------------------------------------------
MSG=$TMP/msg1
printf 'Subject: e2e one\nFrom: <sender@example.com>\n\nhello\n.dot line\n..two dots\n.\nbye\n' \
    >"$MSG"
deliver -f sender@example.com "unix:$SOCK" alice@example.org bob@example.org <"$MSG"
is "$RC" 0 "unix socket: session completed"
is "$(field alice@example.org 2) $(field alice@example.org 3)" "ok 2.0.0" "alice: ok 2.0.0"
is "$(field bob@example.org 2) $(field bob@example.org 3)" "ok 2.0.0" "bob: ok 2.0.0"
diag "$(field alice@example.org 4)"
is "$(maildir_count alice) $(maildir_count bob)" "1 1" "one file in each new/"
A=$(newest alice)
B=$(newest bob)
if [ -n "$A" ] && [ -n "$B" ]; then
	is "$(strip "$A" | od -An -c)" "$(od -An -c <"$MSG")" \
	    "alice's file holds the message exactly (dots unstuffed, LF)"
	is "$(strip "$B" | od -An -c)" "$(od -An -c <"$MSG")" "bob's file too"
	is "$(head -1 "$A")" "Return-Path: <sender@example.com>" "Return-Path from MAIL FROM"
else
	fail "alice's file holds the message exactly"
	fail "bob's file too"
	fail "Return-Path from MAIL FROM"
fi

# TCP, null sender, 8-bit body with BODY=8BITMIME.
MSG2=$TMP/msg2
printf 'Subject: e2e h\xc3\xa9llo\n\nd\xc3\xa9j\xc3\xa0 vu\n' >"$MSG2"
deliver -8 -f '' "127.0.0.1:$PORT" alice@example.org <"$MSG2"
is "$RC $(field alice@example.org 2)" "0 ok" "TCP, null sender, 8BITMIME: ok"
is "$(maildir_count alice)" 2 "alice has two messages"
A=$(newest alice)
is "$(strip "$A" | od -An -tx1)" "$(od -An -tx1 <"$MSG2")" "8-bit body byte for byte"
is "$(head -1 "$A")" "Return-Path: <>" "Return-Path: <> for the null sender"

# An unknown user: PERM, and the others in the same transaction still delivered.
deliver -f s@example.com "unix:$SOCK" nobody@example.org bob@example.org <"$MSG"
is "$RC" 0 "mixed recipients: session completed"
is "$(field nobody@example.org 2) $(field nobody@example.org 3)" "perm 5.1.1" \
    "unknown user: perm 5.1.1 from Dovecot's reply"
is "$(field bob@example.org 2)" ok "bob still delivered"
is "$(maildir_count bob)" 2 "bob has two messages"
ok "$([ -e "$TMP/mail/example.org/nobody" ]; echo $((!$?)))" "no maildir for the unknown user"

# A message of 1 MB with many dot lines and a last line without a line end.
python3 - "$TMP/big" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: e2e big\n\n")
    for i in range(20000):
        f.write((b"." if i % 3 == 0 else b"") + b"line %06d " % i + b"x" * 40 + b"\n")
    f.write(b".no newline at the end")
EOF
deliver -f s@example.com "unix:$SOCK" bob@example.org <"$TMP/big"
is "$RC $(field bob@example.org 2)" "0 ok" "1 MB message: ok"
B=$(newest bob)
# Dovecot adds the missing final line end; compare with it added.
{ cat "$TMP/big"; echo; } >"$TMP/big.want"
cmp -s <(strip "$B") "$TMP/big.want"
ok $? "1 MB message stored exactly (6,667 dot-stuffed lines)"

# A torn queue file (one octet cut off its END) is never delivered.
before=$(maildir_count alice)
deliver -x 1 -f s@example.com "unix:$SOCK" alice@example.org <"$MSG"
is "$RC $(field alice@example.org 2) $(field alice@example.org 3)" "75 temp 4.3.0" \
    "torn queue file: temp 4.3.0"
sleep 0.3
is "$(maildir_count alice)" "$before" "torn queue file: nothing delivered"
grep -q 'unfinished DATA' "$TMP/dovecot.log"
ok $? "Dovecot saw the DATA aborted"
is "$(grep -c 'saved mail to INBOX' "$TMP/dovecot.log")" 5 "Dovecot saved exactly 5 messages"

# mxd itself delivering by LMTP (lmtp = unix:SOCKET): SMTP in, Dovecot's Maildir out.
MXD=$BUILD/mxd
if [ -x "$MXD" ]; then
	MPORT=$(free_port)
	muser=$(id -un)
	[ "$(id -u)" -eq 0 ] && muser=nobody
	mkdir -p "$TMP/mxd" && chmod 0711 "$TMP/mxd"
	cat >"$TMP/mxd/mxd.conf" <<EOF
hostname = mx.example.org
listen = 127.0.0.1:$MPORT
spool = $TMP/mxd/spool
mailbox_root = $TMP/mxd/mail
lmtp = unix:$SOCK
local_domains = example.org
relay_networks = 127.0.0.1/32
user = $muser
resolver = 127.0.0.1:1
log = stderr
EOF
	spawn "$MXD" -c "$TMP/mxd/mxd.conf" 2>"$TMP/mxd/log"
	MXD_PID=$SPAWNED_PID
	wait_port 127.0.0.1 "$MPORT" 10 || bail "mxd did not start: $(tail -3 "$TMP/mxd/log")"
	a0=$(maildir_count alice)
	b0=$(maildir_count bob)
	python3 - "$MPORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.sendmail("sender@example.com", ["alice@example.org", "bob@example.org"],
           b"Subject: via mxd\r\nX-Via: mxd-lmtp\r\n\r\nhello over LMTP\r\n")
try:
    s.sendmail("sender@example.com", ["nobody-here@example.org"], b"Subject: x\r\n\r\nx\r\n")
except smtplib.SMTPException:
    pass
s.quit()
EOF
	ok $? "mxd accepted the messages"
	for _ in $(seq 1 100); do
		[ "$(maildir_count alice)" -gt "$a0" ] && [ "$(maildir_count bob)" -gt "$b0" ] && break
		sleep 0.1
	done
	is "$(maildir_count alice) $(maildir_count bob)" "$((a0 + 1)) $((b0 + 1))" \
	    "mxd delivered one copy to each recipient through Dovecot LMTP"
	grep -q 'X-Via: mxd-lmtp' "$(newest alice)"
	ok $? "the copy in alice's Maildir is mxd's message"
	grep -q 'by mx.example.org (mxd) with ESMTP' "$(newest bob)"
	ok $? "with mxd's Received: header"
	for _ in $(seq 1 100); do
		grep -q 'nobody-here@example.org.*status=bounced' "$TMP/mxd/log" && break
		sleep 0.1
	done
	grep -Eq 'to=<nobody-here@example.org>, relay=lmtp, (delay=[0-9.]+, )?dsn=5.1.1, status=bounced' "$TMP/mxd/log"
	ok $? "a user Dovecot does not know is a permanent failure (5.1.1), logged as bounced"
	stop_pid "$MXD_PID" 10
else
	skip "mxd through Dovecot LMTP" "$MXD not built"
fi

# Dovecot stopped: TEMP, over both transports.
stop_pid "$DV_PID" 10
DV_PID=
deliver -s 3 -f s@example.com "unix:$SOCK" alice@example.org bob@example.org <"$MSG"
is "$RC $(field alice@example.org 2) $(field bob@example.org 2)" "75 temp temp" \
    "Dovecot stopped (unix): temp for both"
is "$(field alice@example.org 3)" 4.4.1 "dsn 4.4.1"
deliver -s 3 -f s@example.com "127.0.0.1:$PORT" alice@example.org <"$MSG"
is "$RC $(field alice@example.org 2) $(field alice@example.org 3)" "75 temp 4.4.1" \
    "Dovecot stopped (TCP): temp 4.4.1"

# --- fake server: what Dovecot never does --------------------------------------------------
cat >"$TMP/fake.py" <<'EOF'
# A scripted LMTP server: one behaviour per MODE, one thread per connection.
import socket, sys, threading, time
mode, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def session(c):
    f = c.makefile("rb")
    send = c.sendall
    try:
        if mode == "drip":
            for b in b"220 a greeting sent one octet at a time\r\n":
                send(bytes([b])); time.sleep(0.5)
            return
        send({"badlf": b"220 fake\n", "garbage": b"hello there\r\n"}.get(mode, b"220 fake\r\n"))
        if not f.readline():
            return
        if mode == "timeout":
            time.sleep(20); return
        if mode == "longline":
            send(b"250 " + b"x" * 600 + b"\r\n")
        elif mode == "manylines":
            send(b"250-x\r\n" * 100 + b"250 y\r\n")
        elif mode == "codechange":
            send(b"250-fake\r\n251 8BITMIME\r\n")
        elif mode == "early":
            send(b"250 fake\r\n250 an extra reply\r\n")
        else:
            send(b"250-fake\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
        n = 0
        while True:
            l = f.readline()
            if not l:
                return
            cmd = l[:4].upper()
            if cmd == b"MAIL":
                send(b"250 2.1.0 ok\r\n")
            elif cmd == b"RCPT":
                n += 1
                if mode == "noenh" and n == 2:
                    send(b"450 busy, try later\r\n")
                else:
                    send(b"250 2.1.5 ok\r\n")
            elif cmd == b"DATA":
                send(b"354 go ahead\r\n")
                while l not in (b".\r\n", b""):
                    l = f.readline()
                if mode == "shortdata":
                    send(b"250 2.0.0 first saved\r\n"); c.shutdown(socket.SHUT_RDWR); return
                if mode == "mixed":
                    send(b"452 4.2.2 mailbox full\r\n554 5.2.2 over quota for good\r\n"
                         b"250 2.0.0 saved\r\n")
                else:
                    for _ in range(n if mode != "noenh" else n - 1):
                        send(b"250 saved\r\n" if mode == "noenh" else b"250 2.0.0 saved\r\n")
            elif cmd == b"QUIT":
                send(b"221 2.0.0 bye\r\n"); return
            else:
                send(b"500 5.5.1 what\r\n")
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
open(ready, "w").write("ready\n")
s.settimeout(60)
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    threading.Thread(target=session, args=(c,), daemon=True).start()
EOF

# fake MODE ARGS...: runs smtpcdrive -L against a fresh fake in MODE; sets OUT, RC, ELAPSED.
fake() {
	local mode=$1 fport t0
	shift
	fport=$(free_port) || bail "no free port"
	rm -f "$TMP/ready"
	spawn python3 "$TMP/fake.py" "$mode" "$fport" "$TMP/ready"
	wait_file "$TMP/ready" 10 || bail "fake server ($mode) did not start"
	t0=$(date +%s%N)
	deliver -s 2 -f s@example.com "127.0.0.1:$fport" "$@" <"$MSG"
	ELAPSED=$((($(date +%s%N) - t0) / 1000000))
	stop_pid "$SPAWNED_PID" 3
}

fake timeout a@x
is "$RC $(field a@x 2) $(field a@x 3)" "75 temp 4.4.2" "no reply to LHLO: temp 4.4.2"
cmp_ok "$ELAPSED" -lt 6000 "after the 2 s timeout (${ELAPSED} ms)"
fake drip a@x
is "$RC $(field a@x 2) $(field a@x 3)" "75 temp 4.4.2" \
    "greeting dripping one octet per 0.5 s: temp 4.4.2"
cmp_ok "$ELAPSED" -lt 6000 "the whole reply is bounded by one timeout (${ELAPSED} ms)"
fake garbage a@x
is "$(field a@x 2) $(field a@x 3)" "temp 4.5.0" "a greeting that is not a reply: temp 4.5.0"
fake badlf a@x
is "$(field a@x 2) $(field a@x 3)" "temp 4.5.0" "reply ending in a bare LF: temp 4.5.0"
fake longline a@x
is "$(field a@x 2) $(field a@x 3)" "temp 4.5.0" "reply line over 512 octets: temp 4.5.0"
fake manylines a@x
is "$(field a@x 2) $(field a@x 3)" "temp 4.5.0" "reply of 101 lines: temp 4.5.0"
fake codechange a@x
is "$(field a@x 2) $(field a@x 3)" "temp 4.5.0" "code changing inside a reply: temp 4.5.0"
fake early a@x
is "$(field a@x 2) $(field a@x 3)" "temp 4.5.0" "a reply nobody asked for: temp 4.5.0"
fake shortdata a@x b@x
is "$RC $(field a@x 2) $(field b@x 2) $(field b@x 3)" "75 ok temp 4.4.2" \
    "server closes after the first DATA reply: first ok, second temp"
fake mixed a@x b@x c@x
is "$RC $(field a@x 2)/$(field a@x 3) $(field b@x 2)/$(field b@x 3) $(field c@x 2)/$(field c@x 3)" \
    "0 temp/4.2.2 perm/5.2.2 ok/2.0.0" "one DATA reply per recipient (RFC 2033 §4.2), in order"
fake noenh a@x b@x
is "$RC $(field a@x 2)/$(field a@x 3) $(field b@x 2)/$(field b@x 3)" "0 ok/2.0.0 temp/4.0.0" \
    "no enhanced codes: derived from the reply code"
case $(field b@x 4) in
*"450 busy, try later"*) pass "reply text kept for the log" ;;
*) fail "reply text kept for the log"; diag "$OUT" ;;
esac

done_testing
