#!/usr/bin/env bash
# smtpc.sh — end-to-end test of the outbound SMTP client (src/queue/queue_smtp.c, with the
# reply parser smtp_reply.c and the TLS client tls_client.c), driven by tests/tools/smtpcdrive.
#
# Against Postfix's smtp-sink (with its fault flags): delivery byte for byte (dot-stuffing,
# a 1 MB message, 8BITMIME), connection reuse, lock-step without PIPELINING, 4xx and 5xx
# per RCPT, a 421 after MAIL, a disconnect after DATA, a 5xx greeting, EHLO refused (HELO
# fallback) and deferred. Against tests/fakes/smtpfake.py: PIPELINING seen on the wire,
# per-recipient 4xx/5xx in one transaction, MAIL/DATA/"." refusals, no SMTPUTF8, the SIZE
# limit, no 8BITMIME, DSN parameters xtext-encoded, hostile servers (a greeting dripping
# octets, lines over 512 octets, 101-line and never-ending replies, octets without a line
# end, garbage, a code changing inside a reply, unsolicited replies, silence, a close
# halfway through DATA, no reply to "."), reuse refused after the server closed or spoke;
# STARTTLS opportunistic and its fallback, DANE-EE 3 1 1 and DANE-TA 2 0 1 with test
# certificates (matching, wrong hash, wrong name, usages 0/1 only, STARTTLS missing or
# refused, plaintext injected after 220). LMTP, the client's other mode, through
# lmtp_deliver() (tests/tools/smtpcdrive -L) against smtpfake.py --lmtp on a unix socket and
# on TCP: LHLO, one reply per recipient after "." (RFC 2033 §4.2), no STARTTLS, HELO or DSN
# parameters, SMTPUTF8 only for non-ASCII addresses, a refused session TEMP, a 354 with no
# recipient accepted, a 421 among the replies, bad or missing targets. (Dovecot:
# lmtp_dovecot.sh.) Every run of a client is under the sanitizers of $BUILD; their reports
# fail the last test. TAP; every wait bounded; servers by PID.
#
# Run from anywhere: BUILD=build/san bash tests/e2e/smtpc.sh
set -u

# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
e2e_init

DRIVE=$BUILD/tests/smtpcdrive
FAKE=$ROOT/tests/fakes/smtpfake.py
SINK=${SINK:-/usr/sbin/smtp-sink}
RUN_MAX=30		# seconds: guard on any one smtpcdrive run
SAN_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer'

[ -x "$DRIVE" ] || bail "$DRIVE not built (make BUILD=${BUILD#"$ROOT"/} SAN=1 tests)"
command -v python3 >/dev/null || bail "python3 not found"
command -v openssl >/dev/null || bail "openssl not found"
chmod 711 "$TMP"
export PYTHONDONTWRITEBYTECODE=1

# --- helpers -------------------------------------------------------------------------------
OUT=
RC=
ELAPSED=
# drive ARGS... < message: runs smtpcdrive, sets OUT (its lines), RC and ELAPSED (ms).
drive() {
	local t0
	t0=$(date +%s%N)
	OUT=$(timeout -k 2 "$RUN_MAX" "$DRIVE" "$@" 2>"$TMP/drive.err")
	RC=$?
	ELAPSED=$((($(date +%s%N) - t0) / 1000000))
	cat "$TMP/drive.err" >>"$TMP/all.err"
	[ -s "$TMP/drive.err" ] && sed 's/^/#   stderr: /' "$TMP/drive.err" | head -20
	return 0
}
# field KEY N: the Nth tab-separated field of the first line whose first field is KEY
field() {
	printf '%s\n' "$OUT" | awk -F'\t' -v r="$1" -v n="$2" '$1 == r { print $n; exit }'
}
# field2 KEY N: the same from the second such line (the second send with -r)
field2() {
	printf '%s\n' "$OUT" | awk -F'\t' -v r="$1" -v n="$2" '$1 == r && ++k == 2 { print $n; exit }'
}
show() { printf '%s\n' "$OUT" | sed 's/^/#   /'; }

FPORT=
FLOG=
FPID=
FN=0
# fake ARGS...: starts smtpfake.py on a fresh port with a fresh log (FPORT, FLOG, FPID).
fake() {
	FN=$((FN + 1))
	FPORT=$(free_port) || bail "no free port"
	FLOG=$TMP/fake.$FN.log
	rm -f "$TMP/ready"
	spawn python3 "$FAKE" --port "$FPORT" --ready "$TMP/ready" --log "$FLOG" "$@"
	FPID=$SPAWNED_PID
	wait_file "$TMP/ready" 10 || bail "smtpfake did not start ($*)"
}
fake_stop() { stop_pid "$FPID" 3; }
# run_fake DRIVE ARGS... < message: one fake with the arguments in the array FA, one drive
# to the recipients in the array RCPTS, the fake stopped.
FA=()
run_fake() {
	fake "${FA[@]}"
	drive "$@" "127.0.0.1:$FPORT" "${RCPTS[@]}"
	sleep 0.1
	fake_stop
}
logged() { grep -qF -- "$1" "$FLOG"; }

MSG=$TMP/msg
printf 'Subject: e2e\nFrom: <sender@example.com>\n\nhello\n.dot line\n..two dots\n.\nbye\n' >"$MSG"

# --- certificates ---------------------------------------------------------------------------
C=$TMP/tls
mkdir -p "$C"
mkcert() {	# mkcert NAME CN [openssl req args...]: self-signed P-256
	local n=$1 cn=$2
	shift 2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	    -subj "/CN=$cn" -keyout "$C/$n.key" -out "$C/$n.pem" "$@" >/dev/null 2>&1
}
mkcert ee mx.test -addext subjectAltName=DNS:mx.test || bail "openssl: self-signed cert"
mkcert ca Test-CA -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign || bail "openssl: CA cert"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=mx.test \
    -keyout "$C/leaf.key" -out "$C/leaf.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=DNS:mx.test\n' >"$C/ext" &&
    openssl x509 -req -in "$C/leaf.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
	-days 2 -extfile "$C/ext" -out "$C/leaf.pem" >/dev/null 2>&1 || bail "openssl: leaf cert"
cat "$C/leaf.pem" "$C/ca.pem" >"$C/chain.pem"
# RFC 6698 §2.1: 3 1 1 is SHA-256 of the SubjectPublicKeyInfo, 2 0 1 of the whole CA cert.
EE311=$(openssl x509 -in "$C/ee.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
    sha256sum | cut -d' ' -f1)
TA201=$(openssl x509 -in "$C/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)
[ ${#EE311} -eq 64 ] && [ ${#TA201} -eq 64 ] || bail "could not hash the test certificates"
WRONG=$(printf '%s' "$EE311" | tr '0-9a-f' '1-9a-f0')

# === smtp-sink ===============================================================================
if [ -x "$SINK" ]; then
	SINKDIR=$TMP/sink
	mkdir -p "$SINKDIR" && chmod 777 "$SINKDIR"
	SINK_USER=()
	[ "$(id -u)" -eq 0 ] && SINK_USER=(-u nobody)
	SPORT=
	SPID=
	# sink ARGS...: smtp-sink with the given fault flags, dumping messages into SINKDIR/d.
	sink() {
		SPORT=$(free_port) || bail "no free port"
		rm -rf "$SINKDIR/d"
		mkdir -p "$SINKDIR/d" && chmod 777 "$SINKDIR/d"
		spawn "$SINK" "${SINK_USER[@]}" -h sink.test -d "$SINKDIR/d/%M." "$@" \
		    "127.0.0.1:$SPORT" 16
		SPID=$SPAWNED_PID
		wait_port 127.0.0.1 "$SPORT" 5 || bail "smtp-sink did not start ($*)"
	}
	dumps() { find "$SINKDIR/d" -type f 2>/dev/null | sort; }
	# body FILE: a dump without smtp-sink's own headers (up to its 3-line Received:) and
	# without the empty line it appends.
	body() { sed '1,/^Received: /d' "$1" | sed '1,2d' | sed '$d'; }

	sink
	drive -n sink.test 127.0.0.1:"$SPORT" a@x.test b@x.test <"$MSG"
	is "$RC $(field a@x.test 2) $(field a@x.test 3) $(field b@x.test 2)" "0 ok 2.0.0 ok" \
	    "smtp-sink: two recipients delivered (ok 2.0.0)" || show
	is "$(field tls 2) $(field tls 3)" "none sink.test[127.0.0.1]:$SPORT" \
	    "tls state none, peer HOST[IP]:PORT"
	case $(field a@x.test 4) in
	"host said: 250 2.0.0 Ok"*"(in reply to end of DATA command)") pass "result text quotes the reply" ;;
	*) fail "result text quotes the reply"; show ;;
	esac
	sleep 0.3
	D=$(dumps | head -1)
	if [ -n "$D" ]; then
		is "$(body "$D" | od -An -c)" "$(od -An -c <"$MSG")" \
		    "the message arrives exactly (dot-stuffing undone by the server)"
		grep -q '^X-Rcpt-Args: <a@x.test>' "$D" && grep -q '^X-Rcpt-Args: <b@x.test>' "$D"
		ok $? "both recipients in one transaction"
	else
		fail "the message arrives exactly"
		fail "both recipients in one transaction"
	fi

	# 8-bit body with BODY=8BITMIME, connection reuse, a 1 MB body ending without a line end.
	rm -f "$SINKDIR/d"/*
	python3 - "$TMP/big" <<'EOF'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big \xc3\xa9t\xc3\xa9\n\n")
    for i in range(20000):
        f.write((b"." if i % 3 == 0 else b"") + b"line %06d " % i + b"x" * 40 + b"\n")
    f.write(b".no newline at the end")
EOF
	drive -8 -r -n sink.test 127.0.0.1:"$SPORT" a@x.test <"$TMP/big"
	is "$RC $(field a@x.test 2) $(field usable 2) $(field2 a@x.test 2)" "0 ok yes ok" \
	    "1 MB 8-bit message sent twice over one connection (reuse)" || show
	sleep 0.3
	is "$(dumps | wc -l)" 2 "smtp-sink got two messages"
	D=$(dumps | head -1)
	grep -q '^X-Mail-Args: <sender@example.com> BODY=8BITMIME' "$D" 2>/dev/null
	ok $? "MAIL FROM carries BODY=8BITMIME" || grep '^X-Mail-Args' "$D" | sed 's/^/#   /'
	{ cat "$TMP/big"; echo; } >"$TMP/big.want"
	cmp -s <(body "$D") "$TMP/big.want"
	ok $? "1 MB message stored exactly (6,667 dot-stuffed lines, line end added at the end)"
	stop_pid "$SPID" 3

	sink -p
	drive -n sink.test 127.0.0.1:"$SPORT" a@x.test b@x.test <"$MSG"
	is "$RC $(field a@x.test 2) $(field b@x.test 2)" "0 ok ok" \
	    "smtp-sink -p (no PIPELINING): lock-step delivery" || show
	stop_pid "$SPID" 3

	sink -r RCPT
	drive 127.0.0.1:"$SPORT" a@x.test b@x.test <"$MSG"
	is "$RC $(field a@x.test 2) $(field a@x.test 3) $(field b@x.test 2)" "0 temp 4.3.0 temp" \
	    "smtp-sink -r RCPT: 450 4.3.0 per recipient is temp" || show
	is "$(dumps | wc -l)" 0 "nothing delivered"
	stop_pid "$SPID" 3

	sink -f RCPT
	drive 127.0.0.1:"$SPORT" a@x.test <"$MSG"
	is "$RC $(field a@x.test 2) $(field a@x.test 3)" "0 perm 5.3.0" \
	    "smtp-sink -f RCPT: 5xx per recipient is perm" || show
	case $(field a@x.test 4) in
	*"(in reply to RCPT TO command)") pass "perm text says: in reply to RCPT TO" ;;
	*) fail "perm text says: in reply to RCPT TO"; show ;;
	esac
	stop_pid "$SPID" 3

	sink -Q MAIL
	drive -r 127.0.0.1:"$SPORT" a@x.test <"$MSG"
	is "$RC $(field a@x.test 2) $(field a@x.test 3) $(field send 3)" "75 temp 4.0.0 -1" \
	    "smtp-sink -Q MAIL: 421 is temp and ends the session" || show
	is "$(field usable 2) $(field2 send 3)" "no -1" "no reuse after a 421"
	stop_pid "$SPID" 3

	sink -q DATA
	drive 127.0.0.1:"$SPORT" a@x.test <"$MSG"
	is "$RC $(field a@x.test 2) $(field a@x.test 3)" "75 temp 4.4.2" \
	    "smtp-sink -q DATA (disconnect): temp 4.4.2" || show
	stop_pid "$SPID" 3

	sink -f CONNECT
	drive 127.0.0.1:"$SPORT" a@x.test <"$MSG"
	is "$RC $(field open 2) $(field open 3)" "75 perm 5.3.0" "smtp-sink -f CONNECT: 5xx greeting is perm" ||
	    show
	case $(field open 4) in
	"host said: 5"*"(in reply to the greeting)") pass "open failure text names the greeting" ;;
	*) fail "open failure text names the greeting"; show ;;
	esac
	stop_pid "$SPID" 3

	sink -f EHLO
	drive -8 127.0.0.1:"$SPORT" a@x.test <"$MSG"
	is "$RC $(field a@x.test 2)" "0 ok" "smtp-sink -f EHLO: HELO fallback delivers" || show
	sleep 0.3
	D=$(dumps | head -1)
	grep -q '^X-Client-Proto: SMTP' "$D" 2>/dev/null && grep -q '^X-Mail-Args: <sender@example.com>$' "$D"
	ok $? "plain SMTP after HELO: no ESMTP parameters on MAIL"
	stop_pid "$SPID" 3

	sink -r EHLO
	drive 127.0.0.1:"$SPORT" a@x.test <"$MSG"
	is "$RC $(field open 2) $(field open 3)" "75 temp 4.3.0" "smtp-sink -r EHLO: 4xx to EHLO is temp" ||
	    show
	stop_pid "$SPID" 3
else
	skip "smtp-sink tests" "$SINK not installed (Debian postfix; make deps)"
fi

# === smtpfake: replies per command ===========================================================
RCPTS=(a@x.test bad@x.test busy@x.test c@x.test)
FA=(--rcpt 'bad@=550 5.1.1 <bad@x.test>: user unknown' --rcpt 'busy@=450 4.2.1 busy')
run_fake <"$MSG"
is "$RC" 0 "fake: mixed recipients, session completed" || show
is "$(field a@x.test 2)/$(field bad@x.test 2)/$(field busy@x.test 2)/$(field c@x.test 2)" \
    "ok/perm/temp/ok" "one RCPT 5xx, one 4xx, two delivered"
is "$(field bad@x.test 3) $(field busy@x.test 3)" "5.1.1 4.2.1" "dsn from the enhanced codes"
is "$(field bad@x.test 4)" \
    "host said: 550 5.1.1 <bad@x.test>: user unknown (in reply to RCPT TO command)" \
    "perm text: host said: ... (in reply to RCPT TO command)"
logged "C+ DATA" && logged "C+ RCPT TO:<c@x.test>"
ok $? "PIPELINING: MAIL, RCPTs and DATA arrived in one write" || sed 's/^/#   /' "$FLOG"
logged "B: ..dot line" && logged "B: ...two dots" && grep -qx 'B: \.\.' "$FLOG"
ok $? "body dot-stuffed on the wire (RFC 5321 §4.5.2)"
logged "SIZE=" && logged "QUIT"
ok $? "SIZE= sent when offered; QUIT at the end"

RCPTS=(a@x.test b@x.test)
FA=(--caps '8BITMIME')
run_fake <"$MSG"
is "$RC $(field a@x.test 2) $(field b@x.test 2)" "0 ok ok" "no PIPELINING: lock-step works"
! grep -q '^C+ ' "$FLOG"
ok $? "no PIPELINING: every command waited for its reply" || sed 's/^/#   /' "$FLOG"

RCPTS=(a@x.test)
FA=(--caps 'PIPELINING')
run_fake -8 <"$MSG"
is "$RC $(field a@x.test 2)" "0 ok" "8BITMIME message to a server without 8BITMIME: sent"
logged "C: MAIL FROM:<sender@example.com>" && ! logged "BODY="
ok $? "... without BODY= (RFC 6152 not offered)" || sed 's/^/#   /' "$FLOG"

RCPTS=(a@x.test b@x.test)
FA=(--caps 'PIPELINING,DSN')
run_fake -N SUCCESS,DELAY -O 'rfc822;Orig+1=x@y.test' -R HDRS \
    -E 'id 1+2' <"$MSG"
is "$RC $(field a@x.test 2)" "0 ok" "DSN offered: delivered"
logged "C: MAIL FROM:<sender@example.com> RET=HDRS ENVID=id+201+2B2" &&
    logged "RCPT TO:<a@x.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Orig+2B1+3Dx@y.test"
ok $? "RET, ENVID, NOTIFY and ORCPT sent, xtext-encoded (RFC 3461)" || sed 's/^/#   /' "$FLOG"
FA=(--caps 'PIPELINING')
run_fake -N NEVER -R FULL <"$MSG"
! logged "NOTIFY" && ! logged "RET="
ok $? "no DSN offered: no DSN parameters" || sed 's/^/#   /' "$FLOG"

RCPTS=(a@x.test b@x.test)
FA=(--mail '553 5.7.1 sender refused')
run_fake <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3) $(field b@x.test 2)/$(field b@x.test 3)" \
    "0 perm/5.7.1 perm/5.7.1" "MAIL refused: every recipient gets its reply"
case $(field a@x.test 4) in
*"(in reply to MAIL FROM command)") pass "... in reply to MAIL FROM" ;;
*) fail "... in reply to MAIL FROM"; show ;;
esac
! logged "B: "
ok $? "MAIL refused: no body sent"
FA=(--data '554 5.5.1 no valid recipients')
run_fake <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3)" "0 perm/5.5.1" "DATA refused: perm for all"
logged "C: RSET"
ok $? "the open transaction closed with RSET" || sed 's/^/#   /' "$FLOG"
FA=(--dot '452 4.3.1 insufficient storage')
run_fake -r <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3) $(field usable 2) $(field2 a@x.test 2)" \
    "0 temp/4.3.1 yes temp" "'.' refused with 452: temp for all, session reusable"
RCPTS=(bad@x.test bad2@x.test)
FA=(--rcpt 'bad=550 5.1.1 unknown')
run_fake -r <"$MSG"
is "$RC $(field bad@x.test 2) $(field bad2@x.test 2) $(field usable 2)" "0 perm perm yes" \
    "every RCPT refused (pipelined): perm, DATA refused, session reusable"
! logged "B: " && logged "END"
ok $? "... DATA got 354 anyway: a lone '.', no body (RFC 2920 §3.1)" || sed 's/^/#   /' "$FLOG"
FA=(--rcpt 'bad=550 5.1.1 unknown' --data '554 5.5.1 no valid recipients')
run_fake -r <"$MSG"
is "$RC $(field bad@x.test 2)/$(field bad@x.test 3) $(field usable 2)" "0 perm/5.1.1 yes" \
    "every RCPT refused, DATA refused: the RCPT replies count, session reusable"
! logged "B: " && [ "$(grep -c '^C: RSET' "$FLOG")" = 2 ]
ok $? "... RSET after each open transaction" || sed 's/^/#   /' "$FLOG"
RCPTS=(a@x.test)
FA=(--rcpt 'a@=421 4.3.2 shutting down')
run_fake <"$MSG"
is "$RC $(field a@x.test 2) $(field a@x.test 3)" "75 temp 4.3.2" "421 to RCPT: temp, session ends"

# SMTPUTF8, SIZE.
RCPTS=(a@x.test)
FA=(--caps 'PIPELINING,8BITMIME')
run_fake -u <"$MSG"
is "$RC $(field a@x.test 2) $(field a@x.test 3)" "0 perm 5.6.7" \
    "SMTPUTF8 message, server without SMTPUTF8: perm 5.6.7 (RFC 6531 §3.4)"
! logged "MAIL"
ok $? "... and no MAIL was sent"
RCPTS=($'j\xc3\xbcrgen@x.test' a@x.test)
FA=(--caps 'PIPELINING,8BITMIME')
run_fake <"$MSG"
is "$RC $(field a@x.test 2) $(field a@x.test 3)" "0 perm 5.6.7" \
    "UTF-8 recipient, server without SMTPUTF8: perm 5.6.7 for all"
FA=()
run_fake <"$MSG"
is "$RC $(field a@x.test 2)" "0 ok" "UTF-8 recipient, server with SMTPUTF8: delivered"
logged "SMTPUTF8" && logged $'RCPT TO:<j\xc3\xbcrgen@x.test>'
ok $? "... MAIL FROM with SMTPUTF8" || sed 's/^/#   /' "$FLOG"
RCPTS=(a@x.test)
FA=(--caps 'PIPELINING,SIZE 50')
run_fake <"$MSG"
is "$RC $(field a@x.test 2) $(field a@x.test 3)" "0 perm 5.3.4" \
    "message larger than the server's SIZE: perm 5.3.4"
! logged "MAIL"
ok $? "... refused before MAIL"

# Greeting and EHLO.
FA=(--greeting '554 5.7.1 go away')
run_fake <"$MSG"
is "$RC $(field open 2) $(field open 3)" "75 perm 5.7.1" "5xx greeting: perm with its code"
is "$(field open 4)" "host said: 554 5.7.1 go away (in reply to the greeting)" \
    "... text: host said: ... (in reply to the greeting)"
FA=(--greeting '421 4.3.2 busy')
run_fake <"$MSG"
is "$(field open 2) $(field open 3) $(field open 4)" \
    "temp 4.3.2 host said: 421 4.3.2 busy (in reply to the greeting)" "421 greeting: temp"
FA=(--ehlo '502 5.5.2 what' --helo '250 fake.test')
run_fake <"$MSG"
is "$RC $(field a@x.test 2)" "0 ok" "EHLO 502: HELO fallback delivers"
logged "C: HELO client.test" && ! grep -q '^C+' "$FLOG"
ok $? "... HELO sent, lock-step (no PIPELINING without EHLO)" || sed 's/^/#   /' "$FLOG"
FA=(--ehlo '502 5.5.2 what' --helo '550 5.7.1 no')
run_fake <"$MSG"
is "$(field open 2) $(field open 3)" "perm 5.7.1" "EHLO and HELO refused: perm"

# Connection refused.
NOPORT=$(free_port)
drive 127.0.0.1:"$NOPORT" a@x.test <"$MSG"
is "$RC $(field open 2) $(field open 3) $(field open 4)" \
    "75 temp 4.4.1 connect to 127.0.0.1:$NOPORT: Connection refused" "connection refused: temp 4.4.1"

# === smtpfake: hostile servers ===============================================================
hostile() {	# hostile MODE WANT_DSN DESC [DRIVE ARGS...]: -s 2, the result bounded in time
	local mode=$1 want=$2 desc=$3 got
	shift 3
	FA=(--mode "$mode")
	run_fake -s 2 "$@" <"$MSG"
	got=$(field open 3)
	[ -n "$got" ] || got=$(field a@x.test 3)
	is "$got" "$want" "$desc" || show
	cmp_ok "$ELAPSED" -lt 8000 "... within the bounds (${ELAPSED} ms)"
}
RCPTS=(a@x.test)
hostile drip 4.4.2 "greeting dripping one octet per 0.3 s: timeout 4.4.2 (whole reply bounded)"
hostile longline 4.5.0 "EHLO reply line over 512 octets: 4.5.0"
hostile manylines 4.5.0 "EHLO reply of 101 lines: 4.5.0"
hostile endless 4.5.0 "EHLO reply that never ends: 4.5.0 at line 101"
hostile nocrlf 4.5.0 "octets without a line end: 4.5.0 at 512"
hostile garbage 4.5.0 "greeting that is not a reply: 4.5.0"
hostile codechange 4.5.0 "code changing inside a reply: 4.5.0"
hostile early 4.5.0 "a reply nobody asked for (pipelined replies shifted or seen before MAIL): 4.5.0"
hostile silentmail 4.4.2 "no reply to MAIL: timeout 4.4.2"
hostile closedata 4.4.2 "connection closed halfway through the body: 4.4.2"
is "$(field send 3)" "-1" "... and the session is not reusable"
hostile nodotreply 4.4.2 "no reply to the final '.': timeout 4.4.2"
FA=(--mode 'closeidle')
run_fake -r -w 700 <"$MSG"
is "$(field a@x.test 2) $(field usable 2) $(field2 a@x.test 2)/$(field2 a@x.test 3)" \
    "ok no temp/4.4.2" "server closed while idle: not usable, second send temp 4.4.2"
FA=(--mode 'unsolicited')
run_fake -r -w 700 <"$MSG"
is "$(field a@x.test 2) $(field usable 2) $(field2 a@x.test 3)" "ok no 4.5.0" \
    "server spoke while idle: not usable (4.5.0)"
fake
drive -x 1 127.0.0.1:"$FPORT" a@x.test <"$MSG"
fake_stop
is "$RC $(field a@x.test 2) $(field a@x.test 3)" "75 temp 4.3.0" "torn queue file: temp 4.3.0"
! logged "END"
ok $? "... the DATA was never ended with '.'" || sed 's/^/#   /' "$FLOG"

# === STARTTLS and DANE ======================================================================
EE=(--cert "$C/ee.pem" --key "$C/ee.key")
TA=(--cert "$C/chain.pem" --key "$C/leaf.key")
RCPTS=(a@x.test)
FA=("${EE[@]}")
run_fake -T may -n mx.test <"$MSG"
is "$RC $(field tls 2) $(field a@x.test 2)" "0 opportunistic ok" "STARTTLS opportunistic: delivered"
grep -q '^TLS: TLSv1.3' "$FLOG" && [ "$(grep -c 'EHLO client.test' "$FLOG")" = 2 ]
ok $? "... TLS 1.3 on the wire, EHLO again after the handshake" || sed 's/^/#   /' "$FLOG"
FA=("${EE[@]}")
run_fake -T none <"$MSG"
is "$(field tls 2)" "none" "-T none: no STARTTLS even when offered"
! logged "STARTTLS"
ok $? "... STARTTLS never sent"
FA=("${EE[@]}")
run_fake -T dane -n mx.test -t "3:1:1:$EE311" -r <"$MSG"
is "$RC $(field tls 2) $(field a@x.test 2) $(field2 a@x.test 2)" "0 dane ok ok" \
    "DANE-EE 3 1 1 matching: tls=dane, delivered (twice over one session)"
FA=("${EE[@]}")
run_fake -T dane -n other.test -t "3:1:1:$EE311" <"$MSG"
is "$(field tls 2) $(field a@x.test 2)" "dane ok" "DANE-EE: no name checks (RFC 7672 §3.2.2)"
FA=("${EE[@]}")
run_fake -T dane -n mx.test -t "3:1:1:$WRONG" <"$MSG"
is "$RC $(field open 2) $(field open 3)" "75 temp 4.7.5" "DANE-EE wrong hash: temp 4.7.5"
! logged "MAIL"
ok $? "... nothing sent after the failed authentication"
FA=("${EE[@]}")
run_fake -T dane -n mx.test -t "3:1:1:$WRONG" -t "3:1:1:$EE311" <"$MSG"
is "$(field tls 2) $(field a@x.test 2)" "dane ok" "DANE: one matching record of two is enough"
FA=("${TA[@]}")
run_fake -T dane -n mx.test -t "2:0:1:$TA201" <"$MSG"
is "$RC $(field tls 2) $(field a@x.test 2)" "0 dane ok" "DANE-TA 2 0 1 with the test CA: tls=dane"
FA=("${TA[@]}")
run_fake -T dane -n other.test -t "2:0:1:$TA201" <"$MSG"
is "$(field open 2) $(field open 3)" "temp 4.7.5" "DANE-TA with a name the certificate lacks: 4.7.5"
FA=("${EE[@]}")
run_fake -T dane -n mx.test -t "2:0:1:$TA201" <"$MSG"
is "$(field open 3)" "4.7.5" "DANE-TA record, certificate from elsewhere: 4.7.5"
FA=("${EE[@]}")
run_fake -T dane -n mx.test -t "1:1:1:$EE311" -t "0:0:1:$TA201" <"$MSG"
is "$RC $(field tls 2) $(field a@x.test 2)" "0 opportunistic ok" \
    "DANE with only usages 0/1: encrypted, unauthenticated (RFC 7672 §2.2)"
logged "TLS: "
ok $? "... over TLS"
FA=()
run_fake -T dane -n mx.test -t "3:1:1:$EE311" <"$MSG"
is "$(field open 2) $(field open 3)" "temp 4.7.5" "DANE, STARTTLS not offered: temp 4.7.5"
FA=("${EE[@]}" --starttls '454 4.7.0 TLS not available')
run_fake -T dane -n mx.test -t "3:1:1:$EE311" <"$MSG"
is "$(field open 3)" "4.7.5" "DANE, STARTTLS refused: 4.7.5"
FA=("${EE[@]}" --starttls '454 4.7.0 TLS not available')
run_fake -T may -n mx.test <"$MSG"
is "$RC $(field tls 2) $(field a@x.test 2)" "0 none ok" "MAY, STARTTLS refused: delivered in clear"
FA=("${EE[@]}" --mode 'tlsjunk')
run_fake -T may -n mx.test <"$MSG"
is "$RC $(field tls 2) $(field a@x.test 2)" "0 none ok" \
    "MAY, handshake fails: delivered after one reconnect in clear"
logged "CONNECT 2" && ! logged "CONNECT 3" && [ "$(grep -c '^C: STARTTLS' "$FLOG")" = 1 ]
ok $? "... exactly one more connection, without STARTTLS" || sed 's/^/#   /' "$FLOG"
FA=("${EE[@]}" --mode 'tlsjunk')
run_fake -T dane -n mx.test -t "3:1:1:$EE311" <"$MSG"
is "$(field open 2) $(field open 3)" "temp 4.7.5" "DANE, handshake fails: 4.7.5, never plaintext"
! logged "CONNECT 2"
ok $? "... and no second connection"
FA=("${EE[@]}" --mode 'inject')
run_fake -T dane -n mx.test -t "3:1:1:$EE311" <"$MSG"
is "$(field open 3)" "4.7.5" "plaintext injected after '220' to STARTTLS: refused (4.7.5)"
FA=("${EE[@]}" --mode 'inject')
run_fake -T may -n mx.test <"$MSG"
is "$(field tls 2) $(field a@x.test 2)" "none ok" \
    "... with MAY: the injected reply is never read, fallback in clear"
logged "CONNECT 2" && ! sed -n '/^CONNECT 1$/,/^CONNECT 2$/p' "$FLOG" | grep -q 'MAIL'
ok $? "... no MAIL on the injected connection" || sed 's/^/#   /' "$FLOG"
FA=("${EE[@]}" --mode 'closeidle')
run_fake -T dane -n mx.test -t "3:1:1:$EE311" -r -w 700 <"$MSG"
is "$(field a@x.test 2) $(field usable 2)" "ok no" "TLS session closed while idle: not usable"

# === LMTP: lmtp_deliver(), the client in its LMTP mode =======================================
LSOCK=$TMP/lmtp.sock
# run_lmtp ARGS... < message: smtpfake --lmtp with FA on the unix socket LSOCK,
# smtpcdrive -L ARGS to unix:LSOCK for RCPTS, the fake stopped.
run_lmtp() {
	FN=$((FN + 1))
	FLOG=$TMP/fake.$FN.log
	rm -f "$TMP/ready" "$LSOCK"
	spawn python3 "$FAKE" --unix "$LSOCK" --lmtp --ready "$TMP/ready" --log "$FLOG" "${FA[@]}"
	FPID=$SPAWNED_PID
	wait_file "$TMP/ready" 10 || bail "smtpfake --lmtp did not start"
	drive -L -f sender@example.com "$@" "unix:$LSOCK" "${RCPTS[@]}"
	sleep 0.1
	fake_stop
}
RCPTS=(a@x.test full@x.test gone@x.test c@x.test)
FA=("${EE[@]}" --rcpt 'c@=550 5.1.1 unknown' --dotrcpt 'full@=452 4.2.2 mailbox full'
    --dotrcpt 'gone@=554 5.2.1 disabled')
run_lmtp -E env1 <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3) $(field full@x.test 2)/$(field full@x.test 3)" \
    "0 ok/2.0.0 temp/4.2.2" "LMTP on a unix socket: one reply per accepted recipient after '.'" ||
    show
is "$(field gone@x.test 2)/$(field gone@x.test 3) $(field c@x.test 2)/$(field c@x.test 3)" \
    "perm/5.2.1 perm/5.1.1" "... in RCPT order, the refused RCPT skipped (RFC 2033 §4.2)"
is "$(field full@x.test 4)" \
    "host said: 452 4.2.2 mailbox full (in reply to end of DATA command)" "... the text quotes it"
logged "C: LHLO localhost" && logged "C+ DATA" && logged "B: ..dot line" && logged "QUIT"
ok $? "LHLO, MAIL/RCPT/DATA pipelined, body dot-stuffed, QUIT" || sed 's/^/#   /' "$FLOG"
! logged "STARTTLS" && ! logged "EHLO" && ! logged "ENVID=" && ! logged "NOTIFY="
ok $? "no STARTTLS nor DSN parameters though both offered, no EHLO" || sed 's/^/#   /' "$FLOG"

RCPTS=(a@x.test)
FA=(--caps 'PIPELINING,8BITMIME')
run_lmtp -u <"$MSG"
is "$RC $(field a@x.test 2)" "0 ok" \
    "LMTP: SMTPUTF8 message with an ASCII envelope, no SMTPUTF8 offered: delivered as it is"
logged "C: MAIL FROM:<sender@example.com>" && ! logged "SMTPUTF8"
ok $? "... MAIL FROM without SMTPUTF8" || sed 's/^/#   /' "$FLOG"
RCPTS=($'j\xc3\xbcrgen@x.test' a@x.test)
run_lmtp <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3)" "0 perm/5.6.7" \
    "LMTP: a UTF-8 recipient still needs SMTPUTF8: perm 5.6.7 for all"

RCPTS=(a@x.test b@x.test)
FA=(--ehlo '500 5.5.1 go away')
run_lmtp <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3) $(field b@x.test 2)" "75 temp/4.5.1 temp" \
    "LHLO refused with 500: temp for all (class moved to 4), the mail stays queued"
! logged "HELO " && ! logged "EHLO" && ! logged "MAIL"
ok $? "... no HELO or EHLO fallback" || sed 's/^/#   /' "$FLOG"
FA=(--greeting '554 5.7.1 no service')
run_lmtp <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3)" "75 temp/4.7.1" "LMTP: 554 greeting is temp"

RCPTS=(bad@x.test)
FA=(--rcpt 'bad=550 5.1.1 unknown')
run_lmtp <"$MSG"
is "$RC $(field bad@x.test 2)/$(field bad@x.test 3)" "75 perm/5.1.1" \
    "LMTP: 354 with no recipient accepted: the RCPT reply stands, the session fails"
! logged "END" && ! logged "B: "
ok $? "... no body and no '.' sent (RFC 2033 §4.2: DATA MUST fail then)" || sed 's/^/#   /' "$FLOG"

RCPTS=(a@x.test b@x.test c@x.test)
FA=(--dotrcpt 'b@=421 4.3.2 shutting down')
run_lmtp <"$MSG"
is "$RC $(field a@x.test 2) $(field b@x.test 2)/$(field b@x.test 3) $(field c@x.test 2)/$(field c@x.test 3)" \
    "75 ok temp/4.3.2 temp/4.3.2" "LMTP: 421 as the second reply after '.': it and the rest temp"
! logged "QUIT"
ok $? "... no QUIT after the 421"

RCPTS=(a@x.test b@x.test)
FA=(--mode nodotreply)
run_lmtp -s 2 <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3) $(field b@x.test 2)" "75 temp/4.4.2 temp" \
    "LMTP: no reply after '.': temp 4.4.2 for all"
cmp_ok "$ELAPSED" -lt 8000 "... after the 2 s timeout (${ELAPSED} ms)"

FA=(--lmtp)
fake "${FA[@]}"
drive -L "127.0.0.1:$FPORT" a@x.test <"$MSG"
fake_stop
is "$RC $(field a@x.test 2)" "0 ok" "LMTP over TCP (ADDR:PORT): delivered"
logged "C: LHLO localhost"
ok $? "... with LHLO"
drive -L nonsense a@x.test <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3)" "75 temp/4.3.5" "LMTP: malformed target: temp 4.3.5"
drive -L "unix:$TMP/no-such-socket" a@x.test <"$MSG"
is "$RC $(field a@x.test 2)/$(field a@x.test 3)" "75 temp/4.4.1" "LMTP: no socket: temp 4.4.1"
case $(field a@x.test 4) in
"connect to unix:$TMP/no-such-socket: "*) pass "... the text names the socket" ;;
*) fail "... the text names the socket"; show ;;
esac

# --- sanitizers ------------------------------------------------------------------------------
if grep -Eq "$SAN_RE" "$TMP/all.err" 2>/dev/null; then
	fail "no sanitizer report from any smtpcdrive run"
	grep -E -A12 "$SAN_RE" "$TMP/all.err" | head -60 | sed 's/^/#   /'
else
	pass "no sanitizer report from any smtpcdrive run"
fi
done_testing
