#!/usr/bin/env bash
# tests/e2e/admin.sh — the admin interfaces of issue 6 end to end: sendmail(8), mailq,
# newaliases, mxctl(8), and logs that pflogsumm reads.
#
#   arguments  bad options and bad commands give a usage line and 64 (EX_USAGE); the old
#              sendmail flags programs pass (-oi -oem -odi -v -m -L -Am -h -O -X ...) are
#              accepted and ignored
#   offline    what sendmail writes into the maildrop, read back with tests/tools/dropcheck
#              (queue_file_read): -t recipients from To/Cc/Bcc (display names, comments,
#              groups, duplicates, command-line recipients added), Bcc removed, an mbox
#              "From " line dropped, Date/From/Message-ID/Received added (RFC 5322 §3.6)
#              and kept when present, LF → CRLF, -i and the lone dot, -f -F -N -R -V,
#              8BITMIME and SMTPUTF8 set from the content, unqualified addresses, the
#              limits (998-octet lines, bare CR, NUL, max_message_size, max_recipients:
#              65 and nothing left behind), no maildrop (73), a non-root caller (its uid,
#              mode 0644), -bs transcripts (pipelined, dot-unstuffed, LF-only, errors),
#              newaliases on a good and a bad aliases file, mailq with mxd down (69)
#   live       mxd running: a program piping to `sendmail -t -i` gets its message
#              delivered to a Maildir and to a remote smtp-sink MX; -bs delivered;
#              mxctl queue/-j/-p/show/status on messages kept deferred by a sink that
#              answers 450 (smtp-sink -r CONNECT); hold, release, delete, flush of real
#              queued messages; permission denied (77) for another user; sendmail while
#              mxd is stopped, then started: delivered; newaliases makes mxd reload
#   pflogsumm  a short session logged to a file (log = FILE): pflogsumm --syslog-name=mxd
#              counts what was received, delivered, deferred and bounced
#
# Runs in a private network namespace when it can. TAP; every wait bounded; every server
# stopped by PID; sanitizer reports from sendmail and mxctl fail the test.
# Run: BUILD=build/san bash tests/e2e/admin.sh
set -u

# shellcheck source=tests/e2e/deliver_lib.sh
. "$(dirname "$0")/deliver_lib.sh"
e2e_netns "$0" "$@"
deliver_init

SENDMAIL=$BUILD/sendmail
MXCTL=$BUILD/mxctl
DROPCHECK=$BUILD/tests/dropcheck
for t in "$SENDMAIL" "$MXCTL" "$DROPCHECK"; do
	[ -x "$t" ] || bail "$t is not built (make BUILD=${BUILD#"$ROOT"/} SAN=1 tests)"
done
WAIT=20			# seconds: bound on any one expected delivery or log line
SENDER=sender@example.test
D=adm.test
ERRS=$TMP/errs		# stderr of every sendmail and mxctl run, checked for sanitizer reports
mkdir -p "$ERRS" "$TMP/bin"
chmod 755 "$TMP/bin"
ln -s "$SENDMAIL" "$TMP/bin/mailq"
ln -s "$SENDMAIL" "$TMP/bin/newaliases"
RUNS=0

# run OUTFILE CMD...: runs CMD (stdin as given), stdout to OUTFILE, stderr kept; sets RC
# and ERR (the stderr file).
run() {
	local out=$1
	shift
	RUNS=$((RUNS + 1))
	ERR=$ERRS/$RUNS
	timeout 60 "$@" >"$out" 2>"$ERR"
	RC=$?
}
# rc_is WANT DESC: RC is WANT; shows stderr otherwise
rc_is() {
	is "$RC" "$1" "$2" || sed 's/^/#   stderr: /' "$ERR" | head -5
}

# --- arguments ----------------------------------------------------------------------------
OFF=$TMP/off
mkdir -p "$OFF/spool/maildrop"
chmod 755 "$OFF" "$OFF/spool"
chmod 1733 "$OFF/spool/maildrop"
cat >"$OFF/mxd.conf" <<EOF
hostname = off.mx.test
spool = $OFF/spool
resolver = 127.0.0.1:1
max_message_size = 20000
max_recipients = 8
aliases = $OFF/aliases
EOF
chmod 644 "$OFF/mxd.conf"
DROPS=$OFF/spool/maildrop

sm() {	# sm ARGS...: sendmail with the offline config, stdin as given
	run "$TMP/sm.out" "$SENDMAIL" -C "$OFF/mxd.conf" "$@"
}
usage_case() {	# usage_case DESC CMD...: exits 64 with a usage line
	local desc=$1
	shift
	run "$TMP/u.out" "$@" </dev/null
	if [ "$RC" = 64 ] && grep -q '^usage: ' "$ERR"; then
		pass "$desc: usage and 64"
	else
		fail "$desc: usage and 64 (got $RC)"
		sed 's/^/#   /' "$ERR" | head -3
	fi
}
usage_case "sendmail -Z" "$SENDMAIL" -C "$OFF/mxd.conf" -Z u@example.test
usage_case "sendmail without recipients" "$SENDMAIL" -C "$OFF/mxd.conf"
usage_case "sendmail -B 9BIT" "$SENDMAIL" -C "$OFF/mxd.conf" -B 9BIT u@example.test
usage_case "sendmail -N sometimes" "$SENDMAIL" -C "$OFF/mxd.conf" -N sometimes u@example.test
usage_case "sendmail -R all" "$SENDMAIL" -C "$OFF/mxd.conf" -R all u@example.test
usage_case "sendmail -V with a space" "$SENDMAIL" -C "$OFF/mxd.conf" -V 'a b' u@example.test
usage_case "sendmail -f without its value" "$SENDMAIL" -C "$OFF/mxd.conf" -f
usage_case "sendmail -f with a bad address" "$SENDMAIL" -C "$OFF/mxd.conf" -f 'a b@c' u@example.test
usage_case "sendmail -bd (not supported)" "$SENDMAIL" -C "$OFF/mxd.conf" -bd
usage_case "sendmail -bs with recipients" "$SENDMAIL" -C "$OFF/mxd.conf" -bs u@example.test
usage_case "mxctl without a command" "$MXCTL" -c "$OFF/mxd.conf"
usage_case "mxctl frob" "$MXCTL" -c "$OFF/mxd.conf" frob
usage_case "mxctl show without an ID" "$MXCTL" -c "$OFF/mxd.conf" show
usage_case "mxctl show with a bad ID" "$MXCTL" -c "$OFF/mxd.conf" show 0123
usage_case "mxctl hold with an upper-case ID" "$MXCTL" -c "$OFF/mxd.conf" hold 0123456789ABCDEF
usage_case "mxctl queue with an argument" "$MXCTL" -c "$OFF/mxd.conf" queue x
usage_case "mxctl -Z" "$MXCTL" -Z queue
run "$TMP/u.out" "$SENDMAIL" -C "$OFF/nonexistent.conf" u@example.test </dev/null
rc_is 78 "sendmail -C with a missing file: 78 (EX_CONFIG)"

# --- offline: what sendmail writes ------------------------------------------------------------
drop_files() { find "$DROPS" -maxdepth 1 -type f | sort; }
drop_clear() { find "$DROPS" -maxdepth 1 -type f -delete; }
# one_drop DESC: exactly one file in the maildrop; its name in DROP, envelope in ENV (file),
# message in MSG (file, CRLF kept)
one_drop() {
	local files n
	ENV=$TMP/env
	MSG=$TMP/msg
	files=$(drop_files)
	n=$(printf '%s' "$files" | grep -c .)
	DROP=$files
	if [ "$n" != 1 ]; then
		fail "$1: one file in the maildrop (found $n)"
		DROP=/nonexistent
		: >"$TMP/env"
		: >"$TMP/msg"
		return 1
	fi
	"$DROPCHECK" "$DROP" >"$TMP/dc.out" 2>"$TMP/dc.err"
	ok $? "$1: the maildrop file reads back OK" || sed 's/^/#   /' "$TMP/dc.err"
	sed '/^$/q' "$TMP/dc.out" | sed '$d' >"$TMP/env"
	sed '1,/^$/d' "$TMP/dc.out" >"$TMP/msg"
	ENV=$TMP/env
	MSG=$TMP/msg
}
rcpts() { sed -n 's/^rcpt <\([^>]*\)>.*/\1/p' "$ENV" | tr '\n' ' '; }
hdr() {	# hdr NAME: the first header field NAME of MSG, without CR
	sed '/^\r$/q' "$MSG" | tr -d '\r' | grep -i -m1 "^$1:"
}

drop_clear
cat >"$TMP/t1.txt" <<'EOF'
From someone@old.example Sat Jan  1 00:00:00 2000
To: Bob <bob@example.org>, "Doe, J." <jd@example.net>,
	carol@example.com (Carol C.)
Cc: undisclosed-recipients:;, team: x@example.net, Y <y@example.net>;
Bcc: secret@example.com
Subject: sendmail -t
X-Folded: one
 two

body line 1
.leading dot stays
EOF
sm -t -i -f "$SENDER" -F 'Test User' -N success,delay -R hdrs -V env-42 -- bob@example.org \
    extra@example.com <"$TMP/t1.txt"
rc_is 0 "sendmail -t -i: 0"
one_drop "sendmail -t"
is "$(rcpts)" "bob@example.org extra@example.com jd@example.net carol@example.com x@example.net y@example.net secret@example.com " \
    "-t: command-line recipients first, then To/Cc/Bcc; groups, comments, names, duplicates"
grep -q '^from <sender@example.test>$' "$ENV"
ok $? "-f sets the envelope sender"
is "$(grep -c 'notify=10$' "$ENV")" 7 "-N success,delay on every recipient"
grep -q '^ret HDRS$' "$ENV" && grep -q '^envid env-42$' "$ENV"
ok $? "-R hdrs and -V envid are in the envelope"
grep -q '^body NONE$' "$ENV" && grep -q '^smtputf8 no$' "$ENV"
ok $? "ASCII message: no BODY, no SMTPUTF8"
grep -qi '^bcc:' "$MSG"
ok $((!$?)) "Bcc: removed from the message"
grep -q 'old.example' "$MSG"
ok $((!$?)) "the mbox From line is dropped"
[ "$(grep -c $'\r$' "$MSG")" = "$(wc -l <"$MSG")" ] && [ "$(wc -l <"$MSG")" -gt 10 ]
ok $? "every line ends in CRLF"
hdr Received | grep -q "^Received: by off.mx.test (mxd sendmail, from userid $(id -u));"
ok $? "Received: names the host and uid" || hdr Received | sed 's/^/#   /'
head -1 "$MSG" | grep -q '^Received: '
ok $? "Received: is the first field"
hdr Date | grep -Eq '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}$'
ok $? "Date: added in RFC 5322 form" || hdr Date | sed 's/^/#   /'
is "$(hdr From)" "From: Test User <sender@example.test>" "From: added with -F and -f"
hdr Message-ID | grep -Eq '^Message-ID: <[0-9]{14}\.[0-9a-f]{16}@off\.mx\.test>$'
ok $? "Message-ID: added"
tr -d '\r' <"$MSG" | grep -q '^X-Folded: one$' && tr -d '\r' <"$MSG" | grep -q '^ two$'
ok $? "folded fields kept as they were"
tr -d '\r' <"$MSG" | grep -q '^\.leading dot stays$'
ok $? "-i: a leading dot is data"
grep -q '^size [0-9]' "$ENV" && [ "$(stat -c %a "$DROP")" = 644 ]
ok $? "file mode 0644"

drop_clear
sm u@example.test < <(printf 'Subject: dots\n\nbefore\n.\nafter\n')
rc_is 0 "without -i: 0"
one_drop "lone dot"
tr -d '\r' <"$MSG" | grep -q '^before$' && ! grep -q after "$MSG"
ok $? "without -i a lone dot ends the message"
drop_clear
sm -oi u@example.test < <(printf 'Subject: dots\n\nbefore\n.\nafter\n')
one_drop "-oi"
grep -q after "$MSG"
ok $? "-oi: the lone dot is data"

drop_clear
sm u@example.test < <(printf 'From: Me <me@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nb\n')
one_drop "complete header"
is "$(hdr From)/$(hdr Date)/$(hdr Message-ID)" \
    "From: Me <me@example.org>/Date: Mon, 1 Jan 2024 00:00:00 +0000/Message-ID: <x@y>" \
    "present From, Date and Message-ID are kept, not doubled"
is "$(grep -ci '^from:' "$MSG")" 1 "one From: field"
grep -q '^from <root@off.mx.test>$' "$ENV" || [ "$(id -u)" != 0 ]
ok $? "default sender: user@hostname"

drop_clear
sm root < <(printf 'no header here\nsecond\n')
one_drop "body only"
is "$(rcpts)" "root@off.mx.test " "an unqualified recipient gets @hostname"
tr -d '\r' <"$MSG" | sed -n '/^$/{n;p;q}' | grep -qx 'no header here'
ok $? "an empty line is inserted before a body that starts without one"

drop_clear
sm u@example.test < <(printf 'Subject: caf\xc3\xa9\n\n8-bit \xe2\x82\xac\n')
one_drop "8-bit"
grep -q '^body 8BITMIME$' "$ENV"
ok $? "8-bit octets: BODY=8BITMIME"
drop_clear
sm -B7BIT u@example.test < <(printf 'Subject: x\n\nascii\n')
one_drop "-B7BIT"
grep -q '^body 7BIT$' "$ENV"
ok $? "-B7BIT"
drop_clear
sm -B 8BITMIME $'j\xc3\xb6rg@example.test' < <(printf 'Subject: x\n\nascii\n')
one_drop "UTF-8 recipient"
grep -q '^smtputf8 yes$' "$ENV"
ok $? "a UTF-8 address: SMTPUTF8"

# Refusals: an exit code, a reason, and nothing left in the maildrop (not even a .tmp).
refuse() {	# refuse DESC WANT-RC ERE ARGS... (stdin: the message)
	local desc=$1 want=$2 re=$3 left
	shift 3
	drop_clear
	sm "$@"
	left=$(find "$DROPS" -mindepth 1 | grep -c .)
	if [ "$RC" = "$want" ] && grep -Eq -- "$re" "$ERR" && [ "$left" = 0 ]; then
		pass "$desc: $want"
	else
		fail "$desc: $want (got $RC, $left files left)"
		sed 's/^/#   /' "$ERR" | head -3
	fi
}
line998=$(printf 'x%.0s' $(seq 998))
sm u@example.test < <(printf 'Subject: long\n\n%s\n' "$line998")
rc_is 0 "a 998-octet line is accepted"
refuse "a 999-octet line" 65 'line 3 is longer than 998' u@example.test < <(printf 'Subject: long\n\n%sx\n' "$line998")
refuse "a bare CR" 65 'CR' u@example.test < <(printf 'Subject: cr\n\na\rb\n')
refuse "a NUL" 65 'NUL' u@example.test < <(printf 'Subject: nul\n\na\0b\n')
refuse "over max_message_size" 65 'max_message_size' u@example.test < <(head -c 30000 /dev/zero | tr '\0' 'a' | fold -w 70)
refuse "-t and no recipient field" 65 'no recipients' -t < <(printf 'Subject: none\n\nx\n')
refuse "more than max_recipients" 65 'too many recipients' -t < <(printf 'To: a@x.test, b@x.test, c@x.test, d@x.test, e@x.test, f@x.test\nCc: g@x.test, h@x.test, i@x.test\n\nx\n')
refuse "-t: a name without an address" 65 'no address' -t < <(printf 'To: John Doe\n\nx\n')
refuse "-t: unbalanced <" 65 'unterminated' -t < <(printf 'To: <a@x.test\n\nx\n')
drop_clear
sed "s|^spool = .*|spool = $TMP/nospool|" "$OFF/mxd.conf" >"$TMP/nospool.conf"
run "$TMP/u.out" "$SENDMAIL" -C "$TMP/nospool.conf" u@example.test < <(printf 'Subject: x\n\nx\n')
rc_is 73 "no maildrop directory: 73 (EX_CANTCREAT)"
grep -q 'mxd creates it' "$ERR"
ok $? "... and it says why"
run "$TMP/u.out" env MXD_CONF="$OFF/mxd.conf" "$SENDMAIL" u@example.test <<<'Subject: env'
rc_is 0 "\$MXD_CONF names the config"
drop_clear

# Another user: the file is theirs, and the Received: field says so.
OTHER=
if [ "$(id -u)" = 0 ]; then
	for u in nobody daemon; do
		[ "$u" != "$MXD_USER" ] && getent passwd "$u" >/dev/null && { OTHER=$u; break; }
	done
fi
if [ -n "$OTHER" ] && command -v runuser >/dev/null; then
	ouid=$(id -u "$OTHER")
	run "$TMP/u.out" runuser -u "$OTHER" -- "$SENDMAIL" -C "$OFF/mxd.conf" u@example.test < <(printf 'Subject: from %s\n\nx\n' "$OTHER")
	rc_is 0 "sendmail as $OTHER: 0"
	one_drop "as $OTHER"
	is "$(stat -c '%u %a' "$DROP")" "$ouid 644" "the file belongs to $OTHER, mode 0644"
	hdr Received | grep -q "from userid $ouid)"
	ok $? "Received: names uid $ouid"
	grep -q "^from <$OTHER@off.mx.test>\$" "$ENV"
	ok $? "default sender $OTHER@off.mx.test"
	drop_clear
else
	skip "sendmail as another user" "not root, or no other user"
fi

# -bs: a pipelined session, the dot-stuffed line unstuffed, NOTIFY kept.
sm -bs < <(printf 'EHLO client.test\r\nMAIL FROM:<%s> BODY=8BITMIME\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE\r\nDATA\r\nSubject: bs\r\n\r\n..stuffed\r\nline\r\n.\r\nQUIT\r\n' "$SENDER")
rc_is 0 "-bs: 0 after QUIT"
tr -d '\r' <"$TMP/sm.out" >"$TMP/bs.txt"
is "$(grep -o '^[0-9][0-9][0-9][ -]' "$TMP/bs.txt" | tr -d ' \n')" \
    "220250-250-250-250-250-250-250250250250354250221" "-bs: the replies of a pipelined session"
grep -q '^250-PIPELINING$' "$TMP/bs.txt" && grep -q '^250-DSN$' "$TMP/bs.txt" &&
    grep -q '^250-SIZE 20000$' "$TMP/bs.txt"
ok $? "-bs: EHLO offers PIPELINING, DSN, SIZE from the config"
grep -Eq '^250 2\.0\.0 Ok: in the maildrop as [0-9a-f]{16}$' "$TMP/bs.txt"
ok $? "-bs: 250 after DATA names the maildrop file" || sed 's/^/#   /' "$TMP/bs.txt"
one_drop "-bs"
is "$(rcpts)" "a@example.test b@example.test " "-bs: both recipients"
grep -q '^rcpt <b@example.test> notify=6$' "$ENV" && grep -q '^body 8BITMIME$' "$ENV"
ok $? "-bs: NOTIFY and BODY kept"
tr -d '\r' <"$MSG" | grep -qx '\.stuffed'
ok $? "-bs: dot-stuffing removed"
hdr Message-ID >/dev/null && hdr Date >/dev/null
ok $? "-bs: missing Date and Message-ID added"
drop_clear
sm -bs < <(printf 'HELO lf.test\nMAIL FROM:<>\nRCPT TO:<c@example.test>\nDATA\nSubject: lf\n\nbody\n.\nQUIT\n')
tr -d '\r' <"$TMP/sm.out" | grep -Eq '^250 2\.0\.0 Ok: in the maildrop'
ok $? "-bs with LF-only lines works" || sed 's/^/#   /' "$TMP/sm.out"
one_drop "-bs LF"
grep -q '^from <>$' "$ENV"
ok $? "-bs: MAIL FROM:<> is the null sender"
drop_clear
sm -bs < <(printf 'RCPT TO:<a@example.test>\r\nMAIL FROM:<a@b.test>\r\nEHLO x\r\nDATA\r\nBDAT 10 LAST\r\nFOO\r\nQUIT\r\n')
tr -d '\r' <"$TMP/sm.out" | grep -o '^[0-9]*' | tr '\n' ' ' >"$TMP/bs.codes"
is "$(cat "$TMP/bs.codes")" "220 503 503 250 250 250 250 250 250 250 503 502 500 221 " \
    "-bs: commands out of order and unknown ones get 5xx"
is "$(drop_files | grep -c .)" 0 "-bs: nothing submitted"

# newaliases and mailq by their names (argv[0]); mxd is not running here.
printf 'postmaster: root\nal: u3, u4\n' >"$OFF/aliases"
run "$TMP/na.out" "$TMP/bin/newaliases" -C "$OFF/mxd.conf"
rc_is 0 "newaliases on a good file: 0"
grep -q ': OK$' "$TMP/na.out" && grep -q 'not running' "$TMP/na.out"
ok $? "newaliases: OK, and mxd is not running" || sed 's/^/#   /' "$TMP/na.out"
printf 'postmaster: root\nbroken line\n' >"$OFF/aliases"
run "$TMP/na.out" "$SENDMAIL" -C "$OFF/mxd.conf" -bi
rc_is 65 "sendmail -bi on a bad file: 65"
grep -q "$OFF/aliases:2: " "$ERR"
ok $? "the error is FILE:LINE: reason" || sed 's/^/#   /' "$ERR"
run "$TMP/mq.out" "$TMP/bin/mailq" -C "$OFF/mxd.conf"
rc_is 69 "mailq with mxd down: 69 (EX_UNAVAILABLE)"
grep -q 'not running' "$ERR"
ok $? "... saying mxd is not running"

# --- live: mxd running ----------------------------------------------------------------------
zone_file "$TMP/nsd/$D.zone" "$D" <<'EOF'
mx1	IN A 127.0.70.1
mx2	IN A 127.0.71.1
mx3	IN A 127.0.72.1
mx4	IN A 127.0.73.1
remote	IN MX 10 mx1
held	IN MX 10 mx2
bounce	IN MX 10 mx3
defer	IN MX 10 mx4
EOF
nsd_start 127.0.70.53 "$D=$TMP/nsd/$D.zone" || bail "could not start NSD"
sink_start one 127.0.70.1
sink_start held 127.0.71.1 -r CONNECT		# 450 at the greeting: kept deferred
printf 'al: u3\n' >"$TMP/aliases"
chmod 644 "$TMP/aliases"
# A minute before any retry: only flush and release make a deferred message go now.
deliver_conf main "retry_min = 1m" "retry_max = 1h" "aliases = $TMP/aliases"
chmod 644 "$M_CONF"
"$MXD" -t -c "$M_CONF" >"$TMP/t.out" 2>&1 || { sed 's/^/#   /' "$TMP/t.out"; bail "mxd -t rejects the config"; }
mxd_start
C=$M_CONF

ctl() { run "$TMP/ctl.out" "$MXCTL" -c "$C" "$@"; }
jq_py() {	# jq_py FILE PYTHON-EXPR: evaluates EXPR with j = the parsed JSON file
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# qid_for RCPT: the queue ID of the (first) message for RCPT, from mxctl -j queue
qid_for() {
	"$MXCTL" -c "$C" -j queue 2>/dev/null | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if any(r["address"] == sys.argv[1] for r in m["recipients"]):
        print(m["id"]); break' "$1"
}
wait_gone() {	# wait_gone ID [SECONDS]: until mxctl show ID says no such message
	local i
	for ((i = 0; i < ${2:-$WAIT} * 10; i++)); do
		"$MXCTL" -c "$C" show "$1" >/dev/null 2>&1
		[ $? = 66 ] && return 0
		sleep 0.1
	done
	return 1
}
state_of() { "$MXCTL" -c "$C" -j show "$1" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'; }

# A program pipes a message to sendmail -t -i; mxd picks it up and delivers it.
cat >"$TMP/prog.sh" <<EOF
#!/bin/sh
printf 'To: User One <u1@example.test>\nBcc: u2@example.test\nSubject: from a program\n\nhello from cron\nend-of-test-message prog1\n' |
    "$SENDMAIL" -C "$C" -t -i -f "$SENDER"
EOF
chmod 755 "$TMP/prog.sh"
run "$TMP/p.out" "$TMP/prog.sh"
rc_is 0 "a program pipes to sendmail -t -i: 0"
md_wait "$(md_dir example.test u1)" 1 "$WAIT"
ok $? "delivered to u1's Maildir" || mxd_log_tail 10
md_wait "$(md_dir example.test u2)" 1 "$WAIT"
ok $? "and to the Bcc recipient u2"
f=$(md_grep "$(md_dir example.test u1)" 'end-of-test-message prog1')
grep -q '^Received: by main.mx.test (mxd sendmail, from userid' "${f:-/nonexistent}" &&
    grep -q '^Message-ID: <' "$f" && ! grep -qi '^bcc:' "$f"
ok $? "the delivered message has Received:, Message-ID:, no Bcc:"
log_wait 'uid=[0-9]+ from=<sender@example\.test>' "$WAIT"
ok $? "mxd logs the pickup with the uid" || mxd_log_tail 10
is "$(find "$M_SPOOL/maildrop" -maxdepth 1 -type f | grep -c .)" 0 "the maildrop is empty again"

run "$TMP/p.out" "$SENDMAIL" -C "$C" -f "$SENDER" r1@remote.$D < <(printf 'Subject: remote\n\nto a remote MX\nend-of-test-message rem1\n')
rc_is 0 "sendmail to a remote recipient: 0"
sink_wait one 1 "$WAIT" rem1
ok $? "delivered to the remote MX (smtp-sink)" || log_show 'r1@'
log_wait "$(rcpt_re r1@remote.$D sent)" "$WAIT"
ok $? "logged status=sent"

run "$TMP/bs.out" "$SENDMAIL" -C "$C" -bs < <(printf 'EHLO bs.test\r\nMAIL FROM:<%s>\r\nRCPT TO:<u5@example.test>\r\nDATA\r\nSubject: bs live\r\n\r\nend-of-test-message bs1\r\n.\r\nQUIT\r\n' "$SENDER")
rc_is 0 "-bs session: 0"
md_wait "$(md_dir example.test u5)" 1 "$WAIT"
ok $? "-bs message delivered"

# mxctl on real queued messages, kept deferred by the 450 sink.
for i in 1 2 3; do
	run "$TMP/p.out" "$SENDMAIL" -C "$C" -f "$SENDER" "h$i@held.$D" < <(printf 'Subject: held %s\n\nend-of-test-message held%s\n' "$i" "$i")
done
for i in 1 2 3; do
	log_wait "$(rcpt_re "h$i@held.$D" deferred)" "$WAIT"
	ok $? "h$i@held.$D deferred by the 450 greeting" || log_show "h$i@"
done
Q1=$(qid_for "h1@held.$D")
Q2=$(qid_for "h2@held.$D")
Q3=$(qid_for "h3@held.$D")
[[ $Q1 =~ ^[0-9a-f]{16}$ && $Q2 =~ ^[0-9a-f]{16}$ && $Q3 =~ ^[0-9a-f]{16}$ ]]
ok $? "mxctl -j queue gives the IDs ($Q1 $Q2 $Q3)"

ctl queue
rc_is 0 "mxctl queue: 0"
grep -q "^$Q1  deferred " "$TMP/ctl.out" && grep -q "^    pending    h1@held.$D  (4\.[0-9.]* .*450" "$TMP/ctl.out"
ok $? "mxctl queue: ID, state, recipient and its last error" || sed 's/^/#   /' "$TMP/ctl.out" | head
grep -Eq '^-- [0-9]+ messages?, [0-9]+ bytes$' "$TMP/ctl.out"
ok $? "mxctl queue: summary line"
ctl -j queue
python3 - "$TMP/ctl.out" "$Q1" "h1@held.$D" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
m = [x for x in j if x["id"] == sys.argv[2]][0]
assert set(m) >= {"id", "size", "arrival", "age", "state", "from", "attempts", "next", "recipients"}, m
assert m["state"] == "deferred" and m["from"] == "sender@example.test" and m["attempts"] >= 1, m
assert isinstance(m["size"], int) and m["size"] > 0 and isinstance(m["next"], int), m
r = m["recipients"][0]
assert r["address"] == sys.argv[3] and r["state"] == "pending" and r["dsn"].startswith("4."), r
EOF
ok $? "mxctl -j queue parses: fields, state, attempts, last error"
run "$TMP/mq.out" "$TMP/bin/mailq" -C "$C"
rc_is 0 "mailq: 0"
head -1 "$TMP/mq.out" | grep -q '^----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------$' &&
    grep -Eq "^$Q1 +[0-9]+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} sender@example.test\$" "$TMP/mq.out" &&
    grep -Eq "^ {47}h1@held\.$D\$" "$TMP/mq.out" && grep -Eq '^ *\(.*450.*\)$' "$TMP/mq.out" &&
    grep -Eq '^-- [0-9]+ Kbytes in [0-9]+ Requests\.$' "$TMP/mq.out"
ok $? "mailq prints Postfix's layout" || sed 's/^/#   /' "$TMP/mq.out" | head
run "$TMP/bp.out" "$SENDMAIL" -C "$C" -bp
cmp -s "$TMP/mq.out" "$TMP/bp.out"
ok $? "sendmail -bp prints the same"
ctl show "$Q1"
rc_is 0 "mxctl show: 0"
grep -q "^recipient  <h1@held.$D> pending" "$TMP/ctl.out" && grep -q '^Subject: held 1$' "$TMP/ctl.out"
ok $? "mxctl show: recipient and header lines" || sed 's/^/#   /' "$TMP/ctl.out" | head -20
ctl -j show "$Q1"
jq_py "$TMP/ctl.out" '"Subject: held 1" in j["headers"] and j["id"] == "'"$Q1"'"' | grep -qx True
ok $? "mxctl -j show parses, with the headers"
ctl show 0000000000000000
rc_is 66 "mxctl show of an unknown ID: 66 (EX_NOINPUT)"
ctl -j status
jq_py "$TMP/ctl.out" 'all(isinstance(j[k], int) for k in ("messages", "active", "deferred", "held", "oldest_age", "delivered_1h", "deferred_1h", "bounced_1h", "received_1h")) and j["deferred"] >= 3 and j["received_1h"] >= 6' | grep -qx True
ok $? "mxctl -j status: every counter, 3 deferred" || sed 's/^/#   /' "$TMP/ctl.out"
ctl status
grep -Eq '^deferred +[0-9]+$' "$TMP/ctl.out"
ok $? "mxctl status: text"

if [ -n "$OTHER" ]; then
	run "$TMP/o.out" runuser -u "$OTHER" -- "$MXCTL" -c "$C" hold "$Q1"
	rc_is 77 "mxctl hold as $OTHER: 77 (EX_NOPERM)"
	run "$TMP/o.out" runuser -u "$OTHER" -- "$MXCTL" -c "$C" queue
	rc_is 0 "mxctl queue as $OTHER: allowed"
	run "$TMP/o.out" runuser -u "$OTHER" -- "$MXCTL" -c "$C" -j hold "$Q1"
	jq_py "$TMP/o.out" 'j["ok"] is False and "permission" in j["error"]' | grep -qx True
	ok $? "mxctl -j: the error as JSON"
else
	skip "permission denied for another user" "not root, or no other user"
fi

ctl hold "$Q1"
rc_is 0 "mxctl hold: 0"
is "$(state_of "$Q1")" held "the message is held"
run "$TMP/mq.out" "$TMP/bin/mailq" -C "$C"
grep -q "^$Q1! " "$TMP/mq.out"
ok $? "mailq marks it with !"
ctl delete "$Q2"
rc_is 0 "mxctl delete: 0"
wait_gone "$Q2"
ok $? "the deleted message leaves the queue"
[ ! -e "$M_SPOOL/queue/$Q2" ]
ok $? "... and its file"

# The MX comes back: flush sends the deferred message now (a retry would be a minute away),
# the held one stays until released.
sink_stop held
sink_start back 127.0.71.1
ctl flush
rc_is 0 "mxctl flush: 0"
grep -Eq '^1 message scheduled' "$TMP/ctl.out"
ok $? "mxctl flush: one deferred message (the held one is not)" || sed 's/^/#   /' "$TMP/ctl.out"
sink_wait back 1 "$WAIT" held3
ok $? "the flushed message is delivered at once"
sleep 2
is "$(sink_count back held1)" 0 "the held message is not delivered"
is "$(state_of "$Q1")" held "... and still held"
ctl release "$Q1"
rc_is 0 "mxctl release: 0"
sink_wait back 1 "$WAIT" held1
ok $? "the released message is delivered"
is "$(sink_count back held2)" 0 "the deleted message never is"
ctl flush 0000000000000000
rc_is 66 "mxctl flush of an unknown ID: 66"

# newaliases makes the running mxd reload its aliases.
run "$TMP/p.out" "$SENDMAIL" -C "$C" al@example.test < <(printf 'Subject: alias\n\nend-of-test-message al1\n')
md_wait "$(md_dir example.test u3)" 1 "$WAIT"
ok $? "alias al goes to u3"
printf 'al: u4\n' >"$TMP/aliases"
run "$TMP/na.out" "$TMP/bin/newaliases" -C "$C"
rc_is 0 "newaliases with mxd running: 0"
grep -q 'SIGHUP sent' "$TMP/na.out"
ok $? "newaliases signals mxd" || sed 's/^/#   /' "$TMP/na.out"
log_wait 'SIGHUP' "$WAIT"
ok $? "mxd logs the SIGHUP"
sleep 1
run "$TMP/p.out" "$SENDMAIL" -C "$C" al@example.test < <(printf 'Subject: alias\n\nend-of-test-message al2\n')
md_wait "$(md_dir example.test u4)" 1 "$WAIT"
ok $? "after the reload al goes to u4"

# mxd stopped: sendmail still takes the message; mxd delivers it when it starts.
mxd_stop
ctl queue
rc_is 69 "mxctl with mxd stopped: 69 (EX_UNAVAILABLE)"
run "$TMP/p.out" "$SENDMAIL" -C "$C" -t -i -f "$SENDER" < <(printf 'To: u6@example.test\nSubject: while down\n\nend-of-test-message down1\n')
rc_is 0 "sendmail while mxd is stopped: 0"
is "$(find "$M_SPOOL/maildrop" -maxdepth 1 -type f | grep -c .)" 1 "the message waits in the maildrop"
mxd_start
md_wait "$(md_dir example.test u6)" 1 "$WAIT"
ok $? "delivered once mxd is started again"
mxd_stop

# A drop file of mxd's own user is the local agent's forward, already reported as
# forwarded and checked when it was written: a max_message_size lowered since must not
# throw it away. Anyone else's file is held to the limit in force (moved to corrupt/).
if [ "$(id -u)" = 0 ] && [ -n "${MXD_USER:-}" ] && command -v runuser >/dev/null; then
	big=$(printf 'Subject: big\n\n'; for i in $(seq 60); do printf 'line %02d of a message bigger than the lowered limit\n' "$i"; done)
	run "$TMP/p.out" runuser -u "$MXD_USER" -- "$SENDMAIL" -C "$C" u7@example.test \
	    < <(printf '%s\nend-of-test-message own\n' "$big")
	rc_is 0 "a drop file written as mxd's user ($MXD_USER)"
	run "$TMP/p.out" "$SENDMAIL" -C "$C" u8@example.test < <(printf '%s\nend-of-test-message root\n' "$big")
	rc_is 0 "a drop file written as root"
	cp "$C" "$TMP/conf.saved"
	grep -v '^max_message_size' "$TMP/conf.saved" >"$C"
	echo 'max_message_size = 1000' >>"$C"
	mxd_start
	md_wait "$(md_dir example.test u7)" 1 "$WAIT"
	ok $? "mxd's own drop file is taken although it is over the lowered max_message_size"
	log_wait "maildrop/[0-9a-f]{16}: larger than max_message_size; moved to corrupt/" "$WAIT"
	ok $? "root's drop file over the limit is moved to corrupt/" || mxd_log_tail 10
	mxd_stop
	cp "$TMP/conf.saved" "$C"
else
	skip "drop files of mxd's own user and of root" "not root, or no runuser"
fi

# --- pflogsumm: the log file of a short session ----------------------------------------------
sink_start bounce 127.0.72.1 -f RCPT -B '550 5.1.1 no such user here'
sink_start defer 127.0.73.1 -r CONNECT
deliver_conf plog "log = $TMP/plog/maillog" "retry_min = 1m" "retry_max = 1h"
"$MXD" -c "$M_CONF" >"$M_DIR/stderr" 2>&1 &
M_PID=$!
E2E_PIDS="$E2E_PIDS $M_PID"
wait_port 127.0.0.1 "$M_PORT" 10 || { sed 's/^/#   /' "$M_DIR/stderr"; bail "mxd (plog) did not start"; }
M_LOG=$M_DIR/maillog
log_wait 'started' 10
send_mail "$SENDER" pl-local u@example.test >/dev/null
send_mail "$SENDER" pl-remote r2@remote.$D >/dev/null
send_mail "$SENDER" pl-bounce x@bounce.$D >/dev/null
send_mail "$SENDER" pl-defer d@defer.$D >/dev/null
run "$TMP/p.out" "$SENDMAIL" -C "$M_CONF" -f "$SENDER" v@example.test < <(printf 'Subject: picked up\n\nx\n')
# 5 received; sent: u, r2, v and the bounce to the sender; 1 deferred; 1 bounced.
log_wait 'status=sent' "$WAIT" 4
ok $? "plog: four deliveries logged (one of them the bounce)" || mxd_log_tail 20
log_wait 'status=deferred' "$WAIT" 1 && log_wait 'status=bounced' "$WAIT" 1
ok $? "plog: a deferral and a bounce logged"
mxd_stop
if command -v pflogsumm >/dev/null; then
	pflogsumm --syslog-name=mxd "$M_LOG" >"$TMP/pfl.out" 2>"$TMP/pfl.err"
	ok $? "pflogsumm reads the log"
	count() { awk -v w="$1" '$2 == w && $1 ~ /^[0-9]+$/ { print $1; exit }' "$TMP/pfl.out"; }
	got="received=$(count received) delivered=$(count delivered) deferred=$(count deferred) bounced=$(count bounced)"
	is "$got" "received=5 delivered=4 deferred=1 bounced=1" "pflogsumm counts the session right" || {
		sed -n '1,20p' "$TMP/pfl.out" | sed 's/^/#   pflogsumm: /'
		head -5 "$M_LOG" | sed 's/^/#   log: /'
	}
else
	fail "pflogsumm is installed (scripts/deps installs it)"
fi

# --- sanitizers -------------------------------------------------------------------------------
if grep -lEq "$SMTP_SAN_RE" "$ERRS"/* 2>/dev/null; then
	fail "no sanitizer report from sendmail or mxctl"
	grep -E -A8 "$SMTP_SAN_RE" "$ERRS"/* | head -40 | sed 's/^/#   /'
else
	pass "no sanitizer report from sendmail or mxctl ($RUNS runs)"
fi
done_testing
