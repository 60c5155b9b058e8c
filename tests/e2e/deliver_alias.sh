#!/usr/bin/env bash
# tests/e2e/deliver_alias.sh — aliases whose targets are remote are forwarded: the local
# agent writes the message, "Delivered-To: ALIAS" on top, into the maildrop; pickup
# commits it as a new message and the outbound path delivers it to the relayhost, an
# smtp-sink on 127.0.1.1. Checked from what the sink received, the mailboxes and the log:
#
#   remote-only alias: the original sender, the target as recipient, ORCPT the alias,
#   Delivered-To on top, the message intact; the original leaves the queue; the log ties
#   the original's line (forwarded as maildrop/NAME) to the new message pickup made of it;
#   mixed alias: a Maildir copy and one forwarded copy for both remote targets; the null
#   sender stays <>; duplicates: four case variants of RCPT fwd@ in one transaction are one
#   recipient (the first one's NOTIFY and ORCPT) and one copy; three aliases sharing a remote
#   target in one message forward it once (local's per-job filter); nested aliases and NOTIFY=SUCCESS,FAILURE (an alias to one address is
#   transparent: NOTIFY passed on; one to several: the copies ask FAILURE and the sender
#   gets our "expanded" success DSN); a real loop (the forwarded copy sent back to the alias)
#   refused 5.4.6 with a DSN; the maildrop unwritable: deferred, nothing left in tmp/,
#   forwarded once it is writable again; max_recipients 1 and a message just under
#   max_message_size still forward (pickup exempts the agent's files); mxd killed -9 after the
#   drop file was renamed and before the queue manager recorded the result (made
#   deterministic with SIGSTOP, see below): after the restart the target has it twice,
#   never not at all.
#
# Runs in a private network namespace when it can. TAP; every wait bounded; every server
# stopped by PID. Run: BUILD=build/san bash tests/e2e/deliver_alias.sh
set -u

# shellcheck source=tests/e2e/deliver_lib.sh
. "$(dirname "$0")/deliver_lib.sh"
e2e_netns "$0" "$@"
deliver_init

WAIT=20			# seconds: bound on any one expected delivery or log line
SENDER=sender@example.test
BOUNCES=

sink_start one 127.0.1.1
cat >"$TMP/aliases" <<'EOF'
# deliver_alias.sh
fwd:        admin@remote.test
mixed:      mixed, copy@remote.test, other@remote.test
postmaster: root
root:       boss@remote.test
multi:      m1@remote.test, m2@remote.test
team:       t1@remote.test, t2@remote.test
partial:    partial, a..b@remote.test
share1:     shared@remote.test
share2:     shared@REMOTE.test, s2@remote.test
share3:     shared@remote.test
EOF
chmod 644 "$TMP/aliases"

alias_conf() {	# alias_conf NAME ["key = value"]...: relayhost = the sink, the aliases file
	local name=$1
	shift
	mxd_conf "$name" "relayhost = [127.0.1.1]:$SINKPORT" "allow_loopback_mx = yes" \
	    "retry_min = 1s" "retry_max = 2s" "smtp_timeout = 5" "queue_lifetime = 10m" \
	    "aliases = $TMP/aliases" "$@"
}

# fwd_check FILE RCPT TAG FROM: FILE (a sink dump) is the message send_mail sent to RCPT with
# TAG, forwarded: MAIL FROM:<FROM>, "Delivered-To: RCPT" first, then our Received: line,
# then the message exactly as the client sent it. Prints each problem; 0 when none.
fwd_check() {
	python3 - "$@" <<'EOF'
import sys
path, rcpt, tag, sender = sys.argv[1:5]
lines = open(path, "rb").read().decode("utf-8", "replace").split("\n")
bad = []
if "X-Mail-Args: <%s>" % sender not in lines:
    bad.append("no X-Mail-Args: <%s> (%r)" % (sender, [l for l in lines if l.startswith("X-Mail")]))
# The sink's own fields, then its Received: (3 lines), then what mxd sent.
i = 0
while i < len(lines) and lines[i].startswith("X-"):
    i += 1
if not lines[i].startswith("Received: ") or "(smtp-sink)" not in lines[i + 1]:
    bad.append("no smtp-sink Received: at line %d: %r" % (i, lines[i:i + 2]))
sent = lines[i + 3:]
if sent[:1] != ["Delivered-To: %s" % rcpt]:
    bad.append("first line %r, not Delivered-To: %s" % (sent[:1], rcpt))
if len(sent) < 2 or not sent[1].startswith("Received: from client.deliver.test"):
    bad.append("our Received: does not follow: %r" % sent[1:2])
orig = ("From: <%s>\nTo: <%s>\nSubject: delivery test %s\nMessage-Id: <%s@deliver.test>\n"
        "X-Test-Tag: %s\n\nThis is test message %s.\nend-of-test-message %s\n"
        % (sender or "mailer-daemon@deliver.test", rcpt, tag, tag, tag, tag, tag))
if not "\n".join(sent).rstrip("\n").endswith(orig.rstrip("\n")):
    bad.append("the message is not intact:\n" + "\n".join(sent[-12:]))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

send() {	# send VAR FROM TAG RCPTS...: send_mail, queue ID into VAR
	local var=$1 out
	shift
	out=$(send_mail "$@" 2>"$TMP/send.err")
	ok $? "mxd queues $2 (from <$1>)" || sed 's/^/#   /' "$TMP/send.err"
	printf -v "$var" "%s" "$out"
}
sink_file() {	# sink_file TAG: the sink's (first) complete message with TAG
	sink_done one "$1" | head -n 1
}
drop_of() {	# drop_of QID TARGET: the maildrop NAME the local agent logged for TARGET
	grep -E "$1: to=<$(re_esc "$2")>, orig_to=<[^>]*>, relay=local, .*status=sent \\(forwarded as maildrop/" \
	    "$M_LOG" | sed -E 's/.*forwarded as maildrop\/([0-9a-f]{16}).*/\1/' | head -n 1
}
picked_as() {	# picked_as NAME: the queue ID pickup gave maildrop/NAME
	sed -nE "s/.*mxd\\/pickup: ([0-9a-f]{16}): uid=[0-9]+ from=<[^>]*> \\(maildrop\\/$1\\)\$/\\1/p" \
	    "$M_LOG" | head -n 1
}
spool_empty() {	# spool_empty DIR...: the spool's DIRs hold no file, dot files included
	local d
	for d in "$@"; do
		[ -z "$(ls -A "$M_SPOOL/$d" 2>/dev/null)" ] || return 1
	done
}

alias_conf main
"$MXD" -t -c "$M_CONF" >"$TMP/t.out" 2>&1 || { sed 's/^/#   /' "$TMP/t.out"; bail "mxd -t rejects the config"; }
mxd_start
BOUNCES=$(md_dir example.test sender)

# --- a remote-only alias -----------------------------------------------------------------------
send Q_FWD "$SENDER" fwd1 fwd@example.test
sink_wait one 1 $WAIT fwd1
ok $? "remote-only: the remote target received it" || log_show "fwd@|admin@"
F=$(sink_file fwd1)
out=$(fwd_check "${F:-/nonexistent}" fwd@example.test fwd1 "$SENDER")
ok $? "remote-only: original sender, Delivered-To: fwd@example.test on top, the message intact" ||
    printf '%s\n' "$out" | sed 's/^/#   /'
is "$(grep '^X-Rcpt-Args:' "${F:-/nonexistent}")" "X-Rcpt-Args: <admin@remote.test> ORCPT=rfc822;fwd@example.test" \
    "remote-only: RCPT TO the target, ORCPT the alias (RFC 3461 §4.2)"
log_wait "^.*$Q_FWD: to=<admin@remote\\.test>, orig_to=<fwd@example\\.test>, relay=local, delay=[0-9.]+, dsn=2\\.0\\.0, status=sent \\(forwarded as maildrop/[0-9a-f]{16}\\)\$" 5
ok $? "remote-only: logged to=<target>, orig_to=<alias>, relay=local, status=sent (forwarded as maildrop/NAME)" ||
    log_show "$Q_FWD"
log_wait "^.*$Q_FWD: to=<fwd@example\\.test>, relay=local, .*dsn=2\\.0\\.0, status=sent \\(forwarded to admin@remote\\.test as maildrop/[0-9a-f]{16}\\)\$" 5
ok $? "remote-only: and the recipient as forwarded to the target" || log_show "$Q_FWD"
NAME=$(drop_of "$Q_FWD" admin@remote.test)
NEW=$(picked_as "$NAME")
[[ $NEW =~ ^[0-9a-f]{16}$ ]]
ok $? "remote-only: pickup logs the new message with the drop name (maildrop/$NAME -> $NEW)" ||
    log_show "pickup"
log_wait "^.*mxd/smtp: $NEW: to=<admin@remote\\.test>, $(relay_re 127.0.1.1 127.0.1.1),.*status=sent" 5
ok $? "remote-only: the new message $NEW logged as sent to the relayhost" || log_show "$NEW"
log_wait "$Q_FWD: removed" 5
ok $? "remote-only: the original $Q_FWD is removed"
queue_settle $WAIT
ok $? "remote-only: the queue is empty"
spool_empty maildrop tmp corrupt
ok $? "remote-only: nothing left in maildrop/, tmp/, corrupt/"
is "$(md_count "$(md_dir example.test fwd)")" 0 "remote-only: no local copy"

# --- a mixed alias ---------------------------------------------------------------------------
send Q_MIX "$SENDER" mixed mixed@example.test
md_wait "$(md_dir example.test mixed)" 1 $WAIT
f=$(md_grep "$(md_dir example.test mixed)" 'end-of-test-message mixed')
grep -q '^Delivered-To: mixed@example.test$' "${f:-/nonexistent}"
ok $? "mixed: the local target has its Maildir copy"
sink_wait one 1 $WAIT mixed
ok $? "mixed: the remote targets received it"
F=$(sink_file mixed)
is "$(grep -c '^X-Rcpt-Args:' "${F:-/nonexistent}")/$(sink_count one mixed)" 2/1 \
    "mixed: one forwarded copy for both remote targets"
out=$(fwd_check "${F:-/nonexistent}" mixed@example.test mixed "$SENDER")
ok $? "mixed: Delivered-To: mixed@example.test, the message intact" || printf '%s\n' "$out" | sed 's/^/#   /'
log_wait "^.*$Q_MIX: to=<mixed@example\\.test>, relay=local, .*status=sent \\(delivered to 1 local and forwarded to 2 remote alias targets as maildrop/[0-9a-f]{16}\\)\$" 5
ok $? "mixed: logged as delivered to 1 local and forwarded to 2 remote targets" || log_show "$Q_MIX"

# --- the null sender ---------------------------------------------------------------------------
send Q_NULL "" null fwd@example.test
sink_wait one 1 $WAIT null
F=$(sink_file null)
out=$(fwd_check "${F:-/nonexistent}" fwd@example.test null "")
ok $? "null sender: forwarded with MAIL FROM:<>" || printf '%s\n' "$out" | sed 's/^/#   /'

# --- duplicate recipients: smtpd's filter ----------------------------------------------------------
# fwd@, FWD@, fwd@ and Fwd@EXAMPLE.test in one transaction: the last three get 250 and are
# not added, so one recipient is queued (with the first one's NOTIFY and ORCPT) and one copy
# forwarded.
timeout 60 python3 - "$M_PORT" "$SENDER" <<'EOF' >"$TMP/dups.out" 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.deliver.test", timeout=30)
s.ehlo()
s.mail(sys.argv[2])
for i, (rcpt, args) in enumerate((
        ("fwd@example.test", ["NOTIFY=FAILURE", "ORCPT=rfc822;first@example.test"]),
        ("FWD@example.test", ["NOTIFY=NEVER", "ORCPT=rfc822;second@example.test"]),
        ("fwd@example.test", []),
        ("Fwd@EXAMPLE.test", ["NOTIFY=SUCCESS"]))):
    code, resp = s.rcpt(rcpt, args)
    assert code == 250, (rcpt, code, resp)
    assert (b"duplicate" in resp) == (i > 0), (rcpt, resp)
code, resp = s.data(b"Subject: dups\r\nX-Test-Tag: dups\r\n\r\nbody\r\nend-of-test-message dups\r\n")
assert code == 250, (code, resp)
print(resp.decode().split("queued as ")[1].split()[0])
s.quit()
EOF
ok $? "duplicates: 4 case variants of RCPT fwd@example.test: 250 each, the last 3 as duplicates" ||
    sed 's/^/#   /' "$TMP/dups.out"
Q_DUPS=$(tail -n 1 "$TMP/dups.out")
log_wait "^.*$Q_DUPS: from=<$(re_esc "$SENDER")>, size=[0-9]+, nrcpt=1 " 5
ok $? "duplicates: queued with nrcpt=1" || log_show "$Q_DUPS"
log_wait "^.*$Q_DUPS: to=<fwd@example\\.test>, relay=local, .*status=sent" $WAIT
ok $? "duplicates: the one recipient is forwarded" || log_show "$Q_DUPS"
queue_settle $WAIT
ok $? "duplicates: the queue is empty"
is "$(sink_count one dups)" 1 "duplicates: one copy at the remote target"
F=$(sink_file dups)
is "$(grep '^X-Rcpt-Args:' "${F:-/nonexistent}")" \
    "X-Rcpt-Args: <admin@remote.test> NOTIFY=FAILURE ORCPT=rfc822;first@example.test" \
    "duplicates: the copy has the first RCPT's NOTIFY and ORCPT"

# --- duplicate targets: local's per-job filter ------------------------------------------------------
# share1, share2 and share3 all forward to shared@remote.test (share2 spells the domain in
# capitals); in one message they are one delivery job: shared@ gets share1's copy only,
# s2@ one of its own from share2.
send Q_SHARE "$SENDER" shared share1@example.test,share2@example.test,share3@example.test
log_wait "^.*$Q_SHARE: to=<share3@example\\.test>, relay=local, .*status=sent" $WAIT
ok $? "shared target: all three recipients done" || log_show "$Q_SHARE"
queue_settle $WAIT
ok $? "shared target: the queue is empty"
is "$(sink_count one shared)" 2 "shared target: two copies at the sink (shared@ and s2@)"
args=$(for f in $(sink_done one shared); do sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$f"; done | sort | tr '\n' ' ')
is "$args" "s2@remote.test shared@remote.test " "shared target: each remote target received it once"
NAME=$(drop_of "$Q_SHARE" shared@remote.test)
[[ $NAME =~ ^[0-9a-f]{16}$ ]]
ok $? "shared target: share1 forwarded it as maildrop/$NAME" || log_show "$Q_SHARE"
for a in share2 share3; do
	log_wait "^.*$Q_SHARE: to=<shared@remote\\.test>, orig_to=<$a@example\\.test>, relay=local, .*dsn=2\\.0\\.0, status=sent \\(duplicate of the copy forwarded as maildrop/$NAME\\)\$" 5
	ok $? "shared target: $a's target logged sent, duplicate of maildrop/$NAME" || log_show "$Q_SHARE"
done
log_wait "^.*$Q_SHARE: to=<share2@example\\.test>, relay=local, .*status=sent \\(forwarded to 2 remote targets as maildrop/[0-9a-f]{16}, 1 in maildrop/$NAME\\)\$" 5
ok $? "shared target: share2 logged as forwarded to 2 targets, 1 in share1's copy" || log_show "$Q_SHARE"
log_wait "^.*$Q_SHARE: to=<share3@example\\.test>, relay=local, .*status=sent \\(forwarded to shared@remote\\.test as maildrop/$NAME\\)\$" 5
ok $? "shared target: share3 logged as forwarded in share1's copy" || log_show "$Q_SHARE"

# --- nested aliases, NOTIFY (RFC 3461 §5.2.7.3, RFC 3464 §2.3.3) --------------------------------
# postmaster -> root -> boss@remote.test: an alias to one address is transparent (the copy
# keeps NOTIFY=SUCCESS,FAILURE; the next MTA reports). team -> two remote targets: the copy
# asks FAILURE only and we answer SUCCESS ourselves with "Action: expanded".
timeout 60 python3 - "$M_PORT" "$SENDER" <<'EOF' >"$TMP/notify.out" 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.deliver.test", timeout=30)
s.ehlo()
s.mail(sys.argv[2])
for rcpt in ("postmaster@example.test", "team@example.test"):
    code, resp = s.rcpt(rcpt, ["NOTIFY=SUCCESS,FAILURE"])
    assert code == 250, (rcpt, code, resp)
code, resp = s.data(b"Subject: notify\r\nX-Test-Tag: notify\r\n\r\nbody\r\nend-of-test-message notify\r\n")
assert code == 250, (code, resp)
s.quit()
EOF
ok $? "nested: mxd queues a message to postmaster and team with NOTIFY=SUCCESS,FAILURE" ||
    sed 's/^/#   /' "$TMP/notify.out"
sink_wait one 2 $WAIT notify
ok $? "nested: postmaster -> root -> boss@remote.test and team's two targets received it"
args=$(for f in $(sink_done one notify); do grep '^X-Rcpt-Args:' "$f"; done | sort | tr '\n' '|')
is "$args" "X-Rcpt-Args: <boss@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;postmaster@example.test|X-Rcpt-Args: <t1@remote.test> NOTIFY=FAILURE ORCPT=rfc822;team@example.test|X-Rcpt-Args: <t2@remote.test> NOTIFY=FAILURE ORCPT=rfc822;team@example.test|" \
    "nested: one target keeps NOTIFY (transparent); two targets ask FAILURE only"
# shellcheck disable=SC2046 # one file name a word
grep -q '^Delivered-To: postmaster@example.test$' $(sink_done one notify) /dev/null
ok $? "nested: Delivered-To names the recipient, not the intermediate alias"
dsn_wait "$BOUNCES" "team@example.test" $WAIT >/dev/null
f=$(md_grep "$BOUNCES" "team@example.test")
python3 - "${f:-/nonexistent}" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read().replace("\r\n", "\n")
blocks = [b for b in text.split("\n\n") if "Final-Recipient:" in b]
assert len(blocks) == 1, blocks
assert re.search(r"^Final-Recipient: rfc822; ?team@example\.test$", blocks[0], re.M), blocks[0]
assert "Action: expanded" in blocks[0], blocks[0]
EOF
ok $? "nested: one success DSN from us, for team only: Action: expanded" || log_show "notification"

# --- a target that fails for good beside one that takes it: its own DSN (RFC 3464) --------------
send Q_PART "$SENDER" partial partial@example.test
md_wait "$(md_dir example.test partial)" 1 $WAIT
ok $? "partial: the local target has it"
log_wait "^.*$Q_PART: to=<a\\.\\.b@remote\\.test>, orig_to=<partial@example\\.test>, relay=local, .*dsn=5\\.1\\.3, status=bounced" $WAIT
ok $? "partial: the unusable target is logged bounced 5.1.3" || log_show "$Q_PART"
log_wait "^.*$Q_PART: sender non-delivery notification for 1 target\\(s\\) of <partial@example\\.test>: maildrop/[0-9a-f]{16}\$" $WAIT
ok $? "partial: the local agent sends a notification for it" || log_show "$Q_PART"
f=$(dsn_wait "$BOUNCES" "a..b@remote.test" $WAIT)
python3 - "${f:-/nonexistent}" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read().replace("\r\n", "\n")
blocks = [b for b in text.split("\n\n") if "Final-Recipient:" in b]
assert len(blocks) == 1, blocks
b = blocks[0]
assert re.search(r"^Final-Recipient: rfc822; ?a\.\.b@remote\.test$", b, re.M), b
assert re.search(r"^Original-Recipient: rfc822; ?partial@example\.test$", b, re.M), b
assert re.search(r"^Action: failed$", b, re.M) and re.search(r"^Status: 5\.1\.3$", b, re.M), b
assert "end-of-test-message partial" in text or "X-Test-Tag: partial" in text, "no original"
EOF
ok $? "partial: the sender gets Action failed, 5.1.3, for a..b@remote.test, ORCPT partial@" ||
    sed 's/^/#   /' "${f:-/dev/null}" | head -40

# --- a real loop: the forwarded copy comes back ------------------------------------------------
# The remote side forwards to fwd@example.test again: send the sink's copy of fwd1 (without the
# sink's own fields and Received: line) back to the alias.
F=$(sink_file fwd1)
timeout 60 python3 - "$M_PORT" "$SENDER" "${F:-/nonexistent}" <<'EOF' >"$TMP/loop.out" 2>&1
import smtplib, sys
lines = open(sys.argv[3], "rb").read().split(b"\n")
i = 0
while lines[i].startswith(b"X-"):
    i += 1
msg = b"\r\n".join(lines[i + 3:])
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="remote.test", timeout=30)
s.ehlo()
code, resp = s.mail(sys.argv[2])
code, resp = s.rcpt("fwd@example.test")
assert code == 250, (code, resp)
code, resp = s.data(msg)
assert code == 250, (code, resp)
print(resp.decode().split("queued as ")[1].split()[0])
s.quit()
EOF
ok $? "loop: the forwarded copy is accepted again for fwd@example.test" || sed 's/^/#   /' "$TMP/loop.out"
Q_LOOP=$(tail -n 1 "$TMP/loop.out")
log_wait "^.*$Q_LOOP: to=<fwd@example\\.test>, relay=local, .*dsn=5\\.4\\.6, status=bounced \\(mail forwarding loop for fwd@example\\.test\\)\$" $WAIT
ok $? "loop: refused, dsn=5.4.6, status=bounced (mail forwarding loop for fwd@example.test)" ||
    log_show "$Q_LOOP"
f=$(dsn_wait "$BOUNCES" "fwd@example.test" $WAIT)
out=$(dsn_check "${f:-/nonexistent}" fwd@example.test '5\.4\.6' 'mail forwarding loop' fwd1)
ok $? "loop: the sender gets a DSN: Action failed, Status 5.4.6, the returned message" ||
    printf '%s\n' "$out" | sed 's/^/#   /'
sleep 1
is "$(sink_count one fwd1)" 1 "loop: the target did not get it a second time"

# --- the maildrop cannot be written: deferred, then forwarded ---------------------------------------
chmod 0 "$M_SPOOL/maildrop"
send Q_RO "$SENDER" ro fwd@example.test
log_wait "^.*$Q_RO: to=<fwd@example\\.test>, relay=local, .*dsn=4\\.[0-9]\\.[0-9], status=deferred \\(cannot forward: .*\\)\$" $WAIT
ok $? "maildrop not writable: deferred (cannot forward: ...)" || log_show "$Q_RO"
spool_empty tmp
ok $? "maildrop not writable: nothing left in tmp/"
chmod 1733 "$M_SPOOL/maildrop"
sink_wait one 1 $WAIT ro
ok $? "maildrop writable again: forwarded at the next attempt"
queue_settle $WAIT
ok $? "maildrop writable again: the queue is empty"
sleep 2.5		# longer than retry_max
is "$(sink_count one ro)" 1 "maildrop writable again: received once"
mxd_stop

# --- max_recipients 1, max_message_size --------------------------------------------------------
alias_conf small "max_recipients = 1" "max_message_size = 4000"
mxd_start
BOUNCES=$(md_dir example.test sender)
send Q_MULTI "$SENDER" multi multi@example.test
sink_wait one 1 $WAIT multi
ok $? "max_recipients 1: the targets received it"
is "$(sink_rcpts one | grep -c '^m[12]@remote\.test$')/$(sink_count one multi)" 2/1 \
    "max_recipients 1: one copy for both targets (pickup exempts the agent's own files)"
log_wait "^.*$Q_MULTI: to=<multi@example\\.test>, relay=local, .*status=sent \\(forwarded to 2 remote targets as maildrop/[0-9a-f]{16}\\)\$" 5
ok $? "max_recipients 1: logged as forwarded in one drop file" || log_show "$Q_MULTI"
# A message 10 octets under max_message_size, whose copy passes it with its Delivered-To line:
# the probe measures what smtpd adds (its Received:), then the message is sized to fit.
timeout 60 python3 - "$M_PORT" "$SENDER" "$M_LOG" <<'EOF' >"$TMP/big.out" 2>&1
import re, smtplib, sys, time
port, sender, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def send(tag, pad):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.deliver.test", timeout=30)
    s.ehlo()
    s.mail(sender)
    code, resp = s.rcpt("fwd@example.test")
    assert code == 250, (code, resp)
    fill = ("x" * 68 + "\r\n") * (pad // 70) + "x" * (pad % 70)
    body = ("Subject: %s\r\nX-Test-Tag: %s\r\n\r\n%s\r\nend-of-test-message %s\r\n"
            % (tag, tag, fill, tag)).encode()
    code, resp = s.data(body)
    assert code == 250, (code, resp)
    s.quit()
    qid = resp.decode().split("queued as ")[1].split()[0]
    for _ in range(100):
        m = re.search(r"%s: from=<[^>]*>, size=(\d+)" % qid, open(log).read())
        if m:
            return qid, len(body), int(m.group(1))
        time.sleep(0.1)
    sys.exit("no size logged for " + qid)
_, blen, size = send("probe", 100)
qid, blen, size = send("large", 100 + 3990 - size)
print(qid, size)
EOF
ok $? "max_message_size 4000: a message of 3990 octets is accepted" || sed 's/^/#   /' "$TMP/big.out"
read -r Q_BIG big_size <"$TMP/big.out"
sink_wait one 1 $WAIT large
ok $? "max_message_size: the copy ($big_size octets + Delivered-To) is forwarded, not bounced" ||
    log_show "$Q_BIG"
spool_empty maildrop tmp corrupt
ok $? "max_message_size: nothing in maildrop/, tmp/, corrupt/"
mxd_stop

# --- mxd killed -9 after the drop, before the result is recorded ------------------------------------
# Made deterministic: the local agent is stopped (SIGSTOP) before the message arrives, so its
# job waits in its socket; then the queue manager is stopped, so neither pickup nor the
# result can run; the local agent continues and writes the drop file; once maildrop/NAME
# exists, every process gets SIGKILL. The original is still in queue/ without a result: the
# restart forwards it again, and pickup takes the first drop file too.
alias_conf crash
MXD_PGID=
crash_start() {	# mxd in its own process group (as mxd_crash.sh), log appended
	setsid "$MXD" -c "$M_CONF" >>"$M_LOG" 2>&1 &
	MXD_PGID=$!
	E2E_PIDS="$E2E_PIDS $MXD_PGID"
	wait_port 127.0.0.1 "$M_PORT" 10 || bail "mxd did not start: $(tail -5 "$M_LOG")"
	for _ in $(seq 50); do grep -q 'started (smtpd' "$M_LOG" && break; sleep 0.1; done
}
crash_kill() {	# SIGKILL to every process at once (stopped ones too); until none is alive
	kill -9 -- "-$MXD_PGID" 2>/dev/null
	wait "$MXD_PGID" 2>/dev/null
	for _ in $(seq 100); do
		ps -e -o pgid=,stat= | awk -v g="$MXD_PGID" '$1 == g && $2 !~ /^Z/' | grep -q . || break
		sleep 0.05
	done
	E2E_PIDS=$(echo "$E2E_PIDS" | tr ' ' '\n' | grep -vx "$MXD_PGID" | tr '\n' ' ')
}
job_waiting() {	# job_waiting PID: a message waits in a socket of PID (its Recv-Q)
	ss -xp 2>/dev/null | awk -v p="pid=$1," 'index($0, p) && $3 > 0 { f = 1 } END { exit !f }'
}
crash_start
started=$(grep -E 'started \(smtpd' "$M_LOG" | tail -n 1)
QMGR=$(sed -E 's/.*queue ([0-9]+).*/\1/' <<<"$started")
LOCAL=$(sed -E 's/.*local ([0-9]+).*/\1/' <<<"$started")
kill -STOP "$LOCAL"
send Q_CRASH "$SENDER" crash fwd@example.test
waited=1
if command -v ss >/dev/null; then
	for _ in $(seq 100); do job_waiting "$LOCAL" && { waited=0; break; }; sleep 0.1; done
else
	sleep 2		# no ss(8): the dispatch follows the commit within microseconds
	waited=0
fi
ok $waited "crash: the job waits for the stopped local agent"
kill -STOP "$QMGR"
kill -CONT "$LOCAL"
for _ in $(seq 100); do
	[ -n "$(find "$M_SPOOL/maildrop" -maxdepth 1 -type f -name '[0-9a-f]*')" ] && break
	sleep 0.1
done
DROP=$(find "$M_SPOOL/maildrop" -maxdepth 1 -type f -name '[0-9a-f]*' -printf '%f\n')
[[ $DROP =~ ^[0-9a-f]{16}$ ]]
ok $? "crash: the local agent wrote maildrop/$DROP"
crash_kill
ok "$([ -e "$M_SPOOL/queue/$Q_CRASH" ] && [ ! -e "$M_SPOOL/queue/$Q_CRASH.st" ]; echo $?)" \
    "crash: killed with the original $Q_CRASH in queue/ and no result recorded"
is "$(sink_count one crash)" 0 "crash: nothing was sent before the kill"
mxd_start
sink_wait one 2 $WAIT crash
ok $? "crash: after the restart the target received it (at least once)"
queue_settle $WAIT
ok $? "crash: the queue is empty"
spool_empty maildrop tmp corrupt
ok $? "crash: nothing left in maildrop/, tmp/, corrupt/"
sleep 2.5
is "$(sink_count one crash)" 2 "crash: twice, as the order of fsync, rename and report allows (never lost)"
grep -q "(maildrop/$DROP)\$" "$M_LOG"
ok $? "crash: pickup took the drop file written before the kill"
mxd_stop

done_testing
